/* Unit tests for mediation/audit.c: the hash chain and its head file. Each kind of tampering
 * (an edited entry, a removed middle entry, the removed newest entry, reordered entries) is
 * caught and the entry named. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "mediation/store.h"

static char dir[256], db[300], head[300];

/* A store with 5 audit entries, each anchored in the head file. */
static int setup(void **state)
{
	char err[256], hash[65];
	snprintf(dir, sizeof dir, "/tmp/lawtap-test-audit-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(db, sizeof db, "%s/lawtap.db", dir);
	snprintf(head, sizeof head, "%s/audit.head", dir);
	struct med_store *s = med_store_open(db, err, sizeof err);
	if (!s)
		return -1;
	for (int i = 1; i <= 5; i++) {
		char obj[32];
		snprintf(obj, sizeof obj, "NL/LIID-%d", i);
		int64_t seq = med_audit_append(s, "CN=admin,O=lawtap", "warrant.add", obj,
		                               i == 3 ? "refused: liid must be 1..25 octets" : "ok",
		                               "{\"targets\":[\"10.0.0.1\"]}", hash);
		if (seq != i || med_audit_anchor(head, seq, hash) != 0)
			return -1;
	}
	med_store_close(s);
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void sql(const char *q)
{
	sqlite3 *d;
	assert_int_equal(sqlite3_open(db, &d), SQLITE_OK);
	char *msg = NULL;
	int rc = sqlite3_exec(d, q, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fail_msg("%s: %s", q, msg ? msg : "?");
	sqlite3_close(d);
}

static void expect_bad(int64_t seq, const char *words)
{
	struct med_audit_report r;
	assert_int_equal(med_audit_verify_file(db, head, &r), 0);
	assert_int_equal(r.ok, 0);
	if (r.bad_seq != seq || !strstr(r.error, words))
		fail_msg("expected entry %lld (%s), got entry %lld: %s", (long long)seq, words,
		         (long long)r.bad_seq, r.error);
	char name[32];
	snprintf(name, sizeof name, "entry %lld", (long long)seq);
	assert_non_null(strstr(r.error, name));
}

static void test_intact(void **state)
{
	struct med_audit_report r;
	assert_int_equal(med_audit_verify_file(db, head, &r), 0);
	assert_int_equal(r.ok, 1);
	assert_int_equal(r.entries, 5);
	/* The hash covers every field: one octet changes it. */
	char a[65], b[65];
	med_audit_hash(1, "t", "w", "a", "o", "r", "{}", "00", a);
	med_audit_hash(1, "t", "w", "a", "o", "r", "{ }", "00", b);
	assert_string_not_equal(a, b);
	/* Field boundaries are part of it: moving a character between fields changes it. */
	med_audit_hash(1, "t", "wa", "", "o", "r", "{}", "00", b);
	assert_string_not_equal(a, b);
}

static void test_update(void **state)
{
	sql("UPDATE audit SET who = 'CN=someone-else' WHERE seq = 3");
	expect_bad(3, "does not match its contents");
}

static void test_update_rehashed(void **state)
{
	/* An editor who recomputes the entry's own hash breaks the next link. */
	char h[65];
	sqlite3 *d;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(db, &d), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(d,
	                                    "SELECT time, who, action, object, result, detail, "
	                                    "prev FROM audit WHERE seq = 2",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	const char *c[7];
	for (int i = 0; i < 7; i++)
		c[i] = (const char *)sqlite3_column_text(st, i);
	med_audit_hash(2, c[0], c[1], c[2], "NL/OTHER", c[4], c[5], c[6], h);
	sqlite3_finalize(st);
	char q[256];
	snprintf(q, sizeof q, "UPDATE audit SET object = 'NL/OTHER', hash = '%s' WHERE seq = 2", h);
	assert_int_equal(sqlite3_exec(d, q, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(d);
	expect_bad(3, "does not follow entry 2");
}

static void test_delete_middle(void **state)
{
	sql("DELETE FROM audit WHERE seq = 3");
	expect_bad(3, "removed");
}

static void test_delete_newest(void **state)
{
	sql("DELETE FROM audit WHERE seq = 5");
	expect_bad(5, "removed");
}

static void test_delete_two_newest(void **state)
{
	sql("DELETE FROM audit WHERE seq >= 4");
	expect_bad(4, "removed");
}

static void test_reorder(void **state)
{
	/* Swap entries 2 and 4 (rows keep their seq, contents move). */
	sql("UPDATE audit SET seq = 100 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 4; "
	    "UPDATE audit SET seq = 4 WHERE seq = 100;");
	expect_bad(2, "does not match");
}

static void test_head_missing(void **state)
{
	assert_int_equal(unlink(head), 0);
	struct med_audit_report r;
	assert_int_equal(med_audit_verify_file(db, head, &r), 0);
	assert_int_equal(r.ok, 0);
	assert_non_null(strstr(r.error, "head file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_intact, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_update, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_update_rehashed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete_middle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete_newest, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete_two_newest, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reorder, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_head_missing, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
