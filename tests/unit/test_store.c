/* Unit tests for mediation/store.c (schema, migrations, CRUD, constraints) and the request
 * validation of mediation/json_val.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "mediation/store.h"

static char dir[256];

static void path_in(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static int setup(void **state)
{
	snprintf(dir, sizeof dir, "/tmp/lawtap-test-store-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void lea_fill(struct med_lea *l, const char *id)
{
	memset(l, 0, sizeof *l);
	snprintf(l->ho.id, sizeof l->ho.id, "%s", id);
	memcpy(l->ho.country, "NL", 3);
	snprintf(l->ho.addr[0], sizeof l->ho.addr[0], "127.0.0.1:9102");
	snprintf(l->ho.addr[1], sizeof l->ho.addr[1], "127.0.0.1:9103");
	l->ho.ts_form = MED_TS_BOTH;
	l->ho.keepalive_idle = 300;
	l->ho.keepalive_timeout = 30;
	l->ho.reconnect_max = 30;
	l->ho.ka_liid[0] = '-';
	l->ho.ka_liid_len = 1;
}

static void warrant_fill(struct med_wdef *w, const char *cc, const char *liid, const char *lea)
{
	char why[128];
	memset(w, 0, sizeof *w);
	snprintf(w->c.liid, sizeof w->c.liid, "%s", liid);
	w->c.liid_len = strlen(liid);
	memcpy(w->c.country, cc, 3);
	memcpy(w->deliv_country, cc, 3);
	w->c.mode = LT_TASK_FULL;
	w->c.start = INT64_MIN;
	w->c.end = INT64_MAX;
	snprintf(w->c.target_name, sizeof w->c.target_name, "alice");
	w->c.targets = calloc(2, sizeof *w->c.targets);
	assert_int_equal(lt_target_parse("10.0.0.1", &w->c.targets[0], why, sizeof why), 0);
	assert_int_equal(lt_target_parse("2001:db8::/64", &w->c.targets[1], why, sizeof why), 0);
	w->c.ntargets = 2;
	w->nleas = 1;
	snprintf(w->leas[0], sizeof w->leas[0], "%s", lea);
	w->state = MED_WS_ACTIVE;
	snprintf(w->created_by, sizeof w->created_by, "CN=admin");
	w->created_at = 1795760000;
	w->cin = 7;
}

static int user_version(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void exec_sql(const char *path, const char *sql, int want_ok)
{
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	if (want_ok)
		assert_int_equal(rc, SQLITE_OK);
	else
		assert_int_not_equal(rc, SQLITE_OK);
}

static void test_migrate_old_version(void **state)
{
	char path[300], err[256];
	path_in(path, sizeof path, "old.db");
	struct med_store *s = med_store_open(path, err, sizeof err);
	assert_non_null(s);
	struct med_lea l;
	lea_fill(&l, "lea1");
	assert_int_equal(med_store_lea_insert(s, &l), 0);
	med_store_close(s);
	assert_int_equal(user_version(path), MED_STORE_VERSION);
	/* Make it a version 1 file (what the first release wrote), with data in it. */
	exec_sql(
	    path,
	    "DROP INDEX warrant_leas_lea; ALTER TABLE iaps DROP COLUMN peer; "
	    "ALTER TABLE leas DROP COLUMN ack_mode; ALTER TABLE leas DROP COLUMN resend_window; "
	    "ALTER TABLE leas DROP COLUMN pdu_ack_strict; PRAGMA user_version=1;",
	    1);
	assert_int_equal(user_version(path), 1);
	s = med_store_open(path, err, sizeof err);
	assert_non_null(s);
	med_store_close(s);
	assert_int_equal(user_version(path), MED_STORE_VERSION);
	exec_sql(path, "SELECT peer FROM iaps", 1); /* the column version 2 added */
	s = med_store_open(path, err, sizeof err);
	struct med_lea got;
	assert_int_equal(med_store_lea_get(s, "lea1", &got), 0); /* data kept */
	assert_int_equal(got.ho.ts_form, MED_TS_BOTH);
	med_store_close(s);
	/* A file from a newer mediator is refused, not touched. */
	exec_sql(path, "PRAGMA user_version=99;", 1);
	assert_null(med_store_open(path, err, sizeof err));
	assert_non_null(strstr(err, "newer"));
	assert_int_equal(user_version(path), 99);
}

/* Version 2 (before ack_mode/resend_window): the LEAs and warrants are kept and the LEAs get
 * the config defaults (keepalive, 1000). */
static void test_migrate_v2_ack(void **state)
{
	char path[300], err[256];
	path_in(path, sizeof path, "v2.db");
	struct med_store *s = med_store_open(path, err, sizeof err);
	assert_non_null(s);
	struct med_lea l, got;
	lea_fill(&l, "lea1");
	l.ho.ack_mode = HO_ACK_WINDOW;
	l.ho.resend_window = 77;
	assert_int_equal(med_store_lea_insert(s, &l), 0);
	lea_fill(&l, "lea2");
	assert_int_equal(med_store_lea_insert(s, &l), 0);
	struct med_wdef w;
	warrant_fill(&w, "NL", "W-1", "lea1");
	assert_int_equal(med_store_warrant_insert(s, &w), 0);
	med_wdef_clear(&w);
	med_store_close(s);
	exec_sql(
	    path,
	    "ALTER TABLE leas DROP COLUMN ack_mode; ALTER TABLE leas DROP COLUMN resend_window; "
	    "ALTER TABLE leas DROP COLUMN pdu_ack_strict; PRAGMA user_version=2;",
	    1);
	assert_int_equal(user_version(path), 2);
	s = med_store_open(path, err, sizeof err);
	assert_non_null(s);
	med_store_close(s);
	assert_int_equal(user_version(path), MED_STORE_VERSION);
	assert_int_equal(MED_STORE_VERSION, 4);
	s = med_store_open(path, err, sizeof err);
	assert_non_null(s);
	struct med_lea *list;
	size_t n;
	assert_int_equal(med_store_lea_list(s, &list, &n), 0);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(list[i].ho.ack_mode, HO_ACK_KEEPALIVE);
		assert_int_equal(list[i].ho.resend_window, MED_RESEND_WINDOW_DEFAULT);
		assert_int_equal(list[i].ho.ts_form, MED_TS_BOTH);
	}
	free(list);
	assert_int_equal(med_store_warrant_get(s, "NL", "W-1", &w), 0);
	assert_string_equal(w.leas[0], "lea1");
	med_wdef_clear(&w);
	/* and the new columns work after the migration */
	assert_int_equal(med_store_lea_get(s, "lea1", &got), 0);
	got.ho.ack_mode = HO_ACK_WINDOW;
	got.ho.resend_window = 4096;
	assert_int_equal(med_store_lea_update(s, &got), 0);
	assert_int_equal(med_store_lea_get(s, "lea1", &got), 0);
	assert_int_equal(got.ho.ack_mode, HO_ACK_WINDOW);
	assert_int_equal(got.ho.resend_window, 4096);
	med_store_close(s);
	/* a row with an ack mode the store does not know is refused by the schema */
	exec_sql(path, "UPDATE leas SET ack_mode='sometimes' WHERE id='lea2'", 0);
	exec_sql(path, "UPDATE leas SET pdu_ack_strict=2 WHERE id='lea2'", 0);
}

/* Version 3 -> 4: the leas table is rebuilt (its ack_mode CHECK takes pdu-ack, and
 * pdu_ack_strict is added); rows, settings and the warrants referring to the LEAs are kept. */
static void test_migrate_v3_pdu_ack(void **state)
{
	char path[300], err[256];
	path_in(path, sizeof path, "v3.db");
	struct med_store *s = med_store_open(path, err, sizeof err);
	assert_non_null(s);
	struct med_lea l, got;
	lea_fill(&l, "lea1");
	l.ho.ack_mode = HO_ACK_WINDOW;
	l.ho.resend_window = 77;
	snprintf(l.operator_id, sizeof l.operator_id, "op-x");
	assert_int_equal(med_store_lea_insert(s, &l), 0);
	lea_fill(&l, "lea2");
	assert_int_equal(med_store_lea_insert(s, &l), 0);
	struct med_wdef w;
	warrant_fill(&w, "NL", "W-1", "lea1");
	assert_int_equal(med_store_warrant_insert(s, &w), 0);
	med_wdef_clear(&w);
	med_store_close(s);
	/* Make it the version 3 table (what the previous release wrote). */
	exec_sql(path,
	         "CREATE TABLE leas_old("
	         " id TEXT PRIMARY KEY CHECK(length(id) BETWEEN 1 AND 32),"
	         " country TEXT NOT NULL CHECK(length(country) = 2),"
	         " hi2 TEXT NOT NULL, hi3 TEXT NOT NULL,"
	         " timestamp TEXT NOT NULL,"
	         " keepalive_idle INTEGER NOT NULL, keepalive_timeout INTEGER NOT NULL,"
	         " reconnect_max INTEGER NOT NULL, keepalive_liid TEXT NOT NULL,"
	         " operator_id TEXT, tls_ca TEXT, tls_pin TEXT,"
	         " ack_mode TEXT NOT NULL DEFAULT 'keepalive'"
	         " CHECK(ack_mode IN ('keepalive', 'window')),"
	         " resend_window INTEGER NOT NULL DEFAULT 1000);"
	         "INSERT INTO leas_old SELECT id, country, hi2, hi3, timestamp, keepalive_idle,"
	         " keepalive_timeout, reconnect_max, keepalive_liid, operator_id, tls_ca, tls_pin,"
	         " ack_mode, resend_window FROM leas;"
	         "DROP TABLE leas; ALTER TABLE leas_old RENAME TO leas; PRAGMA user_version=3;",
	         1);
	exec_sql(path, "UPDATE leas SET ack_mode='pdu-ack' WHERE id='lea2'", 0); /* v3 refuses */
	s = med_store_open(path, err, sizeof err);
	if (!s)
		fail_msg("%s", err);
	med_store_close(s);
	assert_int_equal(user_version(path), 4);
	s = med_store_open(path, err, sizeof err);
	assert_non_null(s);
	assert_int_equal(med_store_lea_get(s, "lea1", &got), 0);
	assert_int_equal(got.ho.ack_mode, HO_ACK_WINDOW);
	assert_int_equal(got.ho.resend_window, 77);
	assert_int_equal(got.ho.pdu_ack_strict, 0);
	assert_string_equal(got.operator_id, "op-x");
	assert_int_equal(med_store_warrant_get(s, "NL", "W-1", &w), 0);
	assert_string_equal(w.leas[0], "lea1");
	med_wdef_clear(&w);
	/* pdu-ack and strict are stored and read back */
	assert_int_equal(med_store_lea_get(s, "lea2", &got), 0);
	got.ho.ack_mode = HO_ACK_PDU;
	got.ho.pdu_ack_strict = 1;
	assert_int_equal(med_store_lea_update(s, &got), 0);
	assert_int_equal(med_store_lea_get(s, "lea2", &got), 0);
	assert_int_equal(got.ho.ack_mode, HO_ACK_PDU);
	assert_int_equal(got.ho.pdu_ack_strict, 1);
	med_store_close(s);
	/* the foreign key from warrant_leas still holds after the rebuild: an LEA in use cannot
	 * go, a warrant cannot name an unknown LEA */
	exec_sql(path, "PRAGMA foreign_keys=ON; DELETE FROM leas WHERE id='lea1'", 0);
	exec_sql(path,
	         "PRAGMA foreign_keys=ON; INSERT INTO warrant_leas(warrant, lea, pos) "
	         "SELECT id, 'nope', 5 FROM warrants",
	         0);
}

static void test_lea_crud(void **state)
{
	char path[300], err[256];
	path_in(path, sizeof path, "lea.db");
	struct med_store *s = med_store_open(path, err, sizeof err);
	assert_non_null(s);
	assert_int_equal(med_store_empty(s), 1);
	struct med_lea l, got;
	lea_fill(&l, "lea1");
	snprintf(l.operator_id, sizeof l.operator_id, "op-two");
	assert_int_equal(med_store_lea_insert(s, &l), 0);
	assert_int_equal(med_store_lea_insert(s, &l), MED_SE_CONFLICT);
	assert_int_equal(med_store_empty(s), 0);
	assert_int_equal(med_store_lea_get(s, "lea1", &got), 0);
	assert_string_equal(got.operator_id, "op-two");
	assert_int_equal(got.ho.ka_liid_len, 1);
	assert_int_equal(med_store_lea_get(s, "nope", &got), MED_SE_NOTFOUND);
	l.ho.keepalive_idle = 60;
	assert_int_equal(med_store_lea_update(s, &l), 0);
	assert_int_equal(med_store_lea_get(s, "lea1", &got), 0);
	assert_int_equal(got.ho.keepalive_idle, 60);
	assert_int_equal(got.ho.ack_mode, HO_ACK_KEEPALIVE);
	assert_int_equal(got.ho.resend_window, MED_RESEND_WINDOW_DEFAULT);
	l.ho.ack_mode = HO_ACK_WINDOW;
	l.ho.resend_window = 100000;
	assert_int_equal(med_store_lea_update(s, &l), 0);
	assert_int_equal(med_store_lea_get(s, "lea1", &got), 0);
	assert_int_equal(got.ho.ack_mode, HO_ACK_WINDOW);
	assert_int_equal(got.ho.resend_window, 100000);
	struct med_lea l2;
	lea_fill(&l2, "lea2");
	assert_int_equal(med_store_lea_update(s, &l2), MED_SE_NOTFOUND);
	assert_int_equal(med_store_lea_insert(s, &l2), 0);
	struct med_lea *list;
	size_t n;
	assert_int_equal(med_store_lea_list(s, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[1].ho.id, "lea2");
	free(list);
	assert_int_equal(med_store_lea_delete(s, "lea2"), 0);
	assert_int_equal(med_store_lea_delete(s, "lea2"), MED_SE_NOTFOUND);
	med_store_close(s);
}

static void test_warrant_crud(void **state)
{
	char path[300], err[256];
	path_in(path, sizeof path, "w.db");
	struct med_store *s = med_store_open(path, err, sizeof err);
	assert_non_null(s);
	struct med_lea l;
	lea_fill(&l, "lea1");
	assert_int_equal(med_store_lea_insert(s, &l), 0);
	struct med_wdef w, got;
	warrant_fill(&w, "NL", "LIID-1", "lea1");
	snprintf(w.filter, sizeof w.filter, "port 6667");
	assert_int_equal(med_store_warrant_insert(s, &w), 0);
	/* LIID unique per authorization country, not across countries */
	assert_int_equal(med_store_warrant_insert(s, &w), MED_SE_CONFLICT);
	struct med_wdef w2;
	warrant_fill(&w2, "BE", "LIID-1", "lea1");
	assert_int_equal(med_store_warrant_insert(s, &w2), 0);
	med_wdef_clear(&w2);
	/* an unknown LEA is refused by the foreign key, nothing is left behind */
	warrant_fill(&w2, "DE", "LIID-2", "nolea");
	assert_int_equal(med_store_begin(s), 0);
	assert_int_equal(med_store_warrant_insert(s, &w2), MED_SE_NOTFOUND);
	med_store_rollback(s);
	assert_int_equal(med_store_warrant_get(s, "DE", "LIID-2", &got), MED_SE_NOTFOUND);
	med_wdef_clear(&w2);

	assert_int_equal(med_store_warrant_get(s, "NL", "LIID-1", &got), 0);
	assert_int_equal(got.c.ntargets, 2);
	assert_int_equal(got.c.targets[1].prefix, 64);
	assert_string_equal(got.filter, "port 6667");
	assert_int_equal(got.state, MED_WS_ACTIVE);
	assert_int_equal(got.c.start, INT64_MIN);
	assert_int_equal(got.c.end, INT64_MAX);
	assert_int_equal(got.cin, 7);
	assert_string_equal(got.leas[0], "lea1");
	med_wdef_clear(&got);

	/* the LEA is in use: cannot go */
	assert_int_equal(med_store_lea_delete(s, "lea1"), MED_SE_CONFLICT);
	w.c.ntargets = 1;
	w.c.end = 1800000000;
	w.state = MED_WS_ENDED;
	assert_int_equal(med_store_warrant_update(s, &w), 0);
	assert_int_equal(med_store_warrant_get(s, "NL", "LIID-1", &got), 0);
	assert_int_equal(got.c.ntargets, 1);
	assert_int_equal(got.c.end, 1800000000);
	assert_int_equal(got.state, MED_WS_ENDED);
	med_wdef_clear(&got);

	struct med_wdef *list;
	size_t n;
	assert_int_equal(med_store_warrant_list(s, &list, &n), 0);
	assert_int_equal(n, 2);
	med_store_warrant_list_free(list, n);
	w.c.ntargets = 2;
	med_wdef_clear(&w);
	med_store_close(s);
}

static void test_constraints(void **state)
{
	char path[300], err[256];
	path_in(path, sizeof path, "c.db");
	struct med_store *s = med_store_open(path, err, sizeof err);
	struct med_lea l;
	lea_fill(&l, "lea1");
	assert_int_equal(med_store_lea_insert(s, &l), 0);
	struct med_wdef w, got;
	warrant_fill(&w, "NL", "LIID-1", "lea1");
	assert_int_equal(med_store_warrant_insert(s, &w), 0);
	med_wdef_clear(&w);
	med_store_close(s);
	/* The schema refuses what the API refuses. */
	exec_sql(path, "UPDATE warrants SET liid = 'x123456789012345678901234567'", 0);
	exec_sql(path, "UPDATE warrants SET mode = 'both'", 0);
	exec_sql(path, "UPDATE warrants SET state = 'gone'", 0);
	exec_sql(path, "UPDATE leas SET country = 'NLD'", 0);
	exec_sql(path, "UPDATE targets SET kind = 'mac'", 0);
	/* A username target is admitted by the schema (bound by RADIUS later). */
	exec_sql(path,
	         "INSERT INTO targets(warrant, pos, kind, value) VALUES(1, 9, 'username', "
	         "'alice@isp')",
	         1);
	s = med_store_open(path, err, sizeof err);
	assert_int_equal(med_store_warrant_get(s, "NL", "LIID-1", &got), 0);
	assert_int_equal(got.c.ntargets, 2); /* the username is not an address target */
	med_wdef_clear(&got);
	med_store_close(s);
	/* The database is untrusted: a row that the schema lets through but that does not
	 * parse is refused when read. */
	exec_sql(path, "UPDATE targets SET value = '10.0.0.300' WHERE pos = 0", 1);
	s = med_store_open(path, err, sizeof err);
	assert_int_equal(med_store_warrant_get(s, "NL", "LIID-1", &got), MED_SE_DB);
	med_store_close(s);
}

static json_t *js(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	return j;
}

static void expect_refused(const char *body, int status, const char *field, const char *msg)
{
	struct med_wdef w;
	struct med_jerr e;
	json_t *j = js(body);
	memset(&e, 0, sizeof e);
	memset(&w, 0, sizeof w);
	int rc = med_json_warrant(j, 0, &w, &e);
	if (rc == 0)
		rc = med_wdef_check(&w, &e);
	json_decref(j);
	med_wdef_clear(&w);
	assert_int_equal(rc, -1);
	assert_int_equal(e.status, status);
	assert_string_equal(e.field, field);
	if (!strstr(e.msg, msg))
		fail_msg("message \"%s\" lacks \"%s\"", e.msg, msg);
}

static void test_validation(void **state)
{
	const char *ok = "{\"liid\": \"L1\", \"country\": \"NL\", \"leas\": [\"lea1\"], "
	                 "\"targets\": [\"10.0.0.1\", \"2001:db8::/64\"], \"mode\": \"full\", "
	                 "\"filter\": \"port 6667\"}";
	struct med_wdef w;
	struct med_jerr e;
	json_t *j = js(ok);
	assert_int_equal(med_json_warrant(j, 0, &w, &e), 0);
	assert_int_equal(med_wdef_check(&w, &e), 0);
	assert_string_equal(w.deliv_country, "NL");
	json_decref(j);
	/* a patch changes targets only */
	j = js("{\"targets\": [\"10.0.0.2\"]}");
	assert_int_equal(med_json_warrant(j, 1, &w, &e), 0);
	assert_int_equal(w.c.ntargets, 1);
	json_decref(j);
	j = js("{\"liid\": \"L2\"}");
	assert_int_equal(med_json_warrant(j, 1, &w, &e), -1);
	assert_string_equal(e.field, "liid");
	json_decref(j);
	med_wdef_clear(&w);

	expect_refused("{\"liid\": \"L12345678901234567890123456\", \"country\": \"NL\", "
	               "\"leas\": [\"a\"], \"targets\": [\"10.0.0.1\"], \"mode\": \"full\"}",
	               400, "liid", "1..25 octets, got 27");
	expect_refused("{\"liid\": \"L1\", \"country\": \"NLD\", \"leas\": [\"a\"], "
	               "\"targets\": [\"10.0.0.1\"], \"mode\": \"full\"}",
	               400, "country", "alpha-2");
	expect_refused("{\"liid\": \"L1\", \"country\": \"NL\", \"leas\": [\"a\"], "
	               "\"targets\": [], \"mode\": \"full\"}",
	               400, "targets", "at least one");
	expect_refused("{\"liid\": \"L1\", \"country\": \"NL\", \"leas\": [\"a\"], "
	               "\"targets\": [\"10.0.0.0/8\", \"10.1.2.3\"], \"mode\": \"full\"}",
	               400, "targets", "overlaps");
	expect_refused("{\"liid\": \"L1\", \"country\": \"NL\", \"leas\": [\"a\"], "
	               "\"targets\": [\"10.0.0.1\"], \"mode\": \"full\", "
	               "\"start\": \"2027-01-02T00:00:00Z\", \"end\": \"2027-01-01T00:00:00Z\"}",
	               400, "end", "after start");
	expect_refused("{\"liid\": \"L1\", \"country\": \"NL\", \"leas\": [\"a\"], "
	               "\"targets\": [\"10.0.0.1\"], \"mode\": \"full\", \"filter\": \"port x\"}",
	               400, "filter", "does not compile");
	expect_refused("{\"liid\": \"L1\", \"country\": \"NL\", \"leas\": [\"a\"], "
	               "\"targets\": [\"10.0.0.1\"], \"mode\": \"full\", \"colour\": 1}",
	               400, "colour", "unknown member");
	expect_refused("{\"liid\": \"L1\", \"country\": \"NL\", \"leas\": [\"a\"], "
	               "\"targets\": [\"10.0.0.1\"], \"mode\": \"full\", \"cin\": 5}",
	               400, "cin", "set by the mediator");

	struct med_lea l;
	j = js("{\"id\": \"lea1\", \"country\": \"NL\", \"hi2\": \"127.0.0.1:1\", "
	       "\"hi3\": \"127.0.0.1:2\", \"tls\": {\"pin_sha256\": \"zz\"}}");
	assert_int_equal(med_json_lea(j, 0, &l, &e), -1);
	assert_string_equal(e.field, "tls.pin_sha256");
	json_decref(j);
	/* ack_mode / resend_window: defaults, accepted values, refusals with the field */
	j = js("{\"id\": \"lea1\", \"country\": \"NL\", \"hi2\": \"127.0.0.1:1\", "
	       "\"hi3\": \"127.0.0.1:2\"}");
	assert_int_equal(med_json_lea(j, 0, &l, &e), 0);
	assert_int_equal(l.ho.ack_mode, HO_ACK_KEEPALIVE);
	assert_int_equal(l.ho.resend_window, MED_RESEND_WINDOW_DEFAULT);
	json_decref(j);
	j = js("{\"ack_mode\": \"window\", \"resend_window\": 8}");
	assert_int_equal(med_json_lea(j, 1, &l, &e), 0);
	assert_int_equal(l.ho.ack_mode, HO_ACK_WINDOW);
	assert_int_equal(l.ho.resend_window, 8);
	json_decref(j);
	j = med_json_from_lea(&l);
	assert_string_equal(json_string_value(json_object_get(j, "ack_mode")), "window");
	assert_int_equal(json_integer_value(json_object_get(j, "resend_window")), 8);
	json_decref(j);
	j = js("{\"ack_mode\": \"pdu-ack\", \"pdu_ack_strict\": 1}");
	assert_int_equal(med_json_lea(j, 1, &l, &e), 0);
	assert_int_equal(l.ho.ack_mode, HO_ACK_PDU);
	assert_int_equal(l.ho.pdu_ack_strict, 1);
	json_decref(j);
	j = med_json_from_lea(&l);
	assert_string_equal(json_string_value(json_object_get(j, "ack_mode")), "pdu-ack");
	assert_int_equal(json_integer_value(json_object_get(j, "pdu_ack_strict")), 1);
	json_decref(j);
	static const struct {
		const char *body, *field, *msg;
	} bad[] = {
	    {"{\"ack_mode\": \"sometimes\"}", "ack_mode", "keepalive, window or pdu-ack"},
	    {"{\"pdu_ack_strict\": 2}", "pdu_ack_strict", "0..1"},
	    {"{\"ack_mode\": 1}", "ack_mode", "string"},
	    {"{\"resend_window\": 0}", "resend_window", "1..100000"},
	    {"{\"resend_window\": 100001}", "resend_window", "1..100000"},
	    {"{\"resend_window\": \"5\"}", "resend_window", "integer"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&e, 0, sizeof e);
		j = js(bad[i].body);
		assert_int_equal(med_json_lea(j, 1, &l, &e), -1);
		json_decref(j);
		assert_int_equal(e.status, 400);
		assert_string_equal(e.field, bad[i].field);
		if (!strstr(e.msg, bad[i].msg))
			fail_msg("message \"%s\" lacks \"%s\"", e.msg, bad[i].msg);
	}
	assert_int_equal(l.ho.ack_mode, HO_ACK_PDU); /* refused patches change nothing */
	assert_int_equal(l.ho.pdu_ack_strict, 1);
	json_t *out = NULL;
	assert_int_equal(med_json_parse_body("[1]", 3, &out, &e), -1);
	assert_int_equal(e.status, 400);
	assert_int_equal(med_json_parse_body("{\"a\":1, \"a\":2}", 15, &out, &e), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_migrate_old_version, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migrate_v2_ack, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migrate_v3_pdu_ack, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lea_crud, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_warrant_crud, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_constraints, setup, teardown),
	    cmocka_unit_test(test_validation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
