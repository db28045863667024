/* Unit tests for iap/targets.c (exact addresses, prefixes, v4/v6, many tasks, 10,000 targets,
 * direction rules, windows, sequence numbers) and the snapshot parser of tasking_client.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "iap/iap.h"
#include "lib/x2x3.h"

#define OPEN_START INT64_MIN
#define OPEN_END INT64_MAX

static void set_task(struct lt_task *t, unsigned id, int mode, int64_t start, int64_t end,
                     const char *targets)
{
	memset(t, 0, sizeof *t);
	t->xid[0] = 0x40;
	t->xid[14] = (uint8_t)(id >> 8);
	t->xid[15] = (uint8_t)id;
	t->cin = id;
	t->mode = mode;
	t->start = start;
	t->end = end;
	char *copy = strdup(targets);
	size_t n = 1;
	for (const char *p = targets; *p; p++)
		n += *p == ',';
	t->targets = calloc(n, sizeof *t->targets);
	char *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char err[128];
		if (lt_target_parse(tok, &t->targets[t->ntargets], err, sizeof err) != 0)
			fail_msg("%s: %s", tok, err);
		t->ntargets++;
	}
	free(copy);
}

static struct iap_targets *build(struct lt_task *tasks, size_t n)
{
	char err[256] = "";
	struct iap_targets *t = iap_targets_new_take(tasks, n, err, sizeof err);
	if (!t)
		fail_msg("build: %s", err);
	return t;
}

static void addr(const char *s, int *fam, uint8_t *out)
{
	memset(out, 0, 16);
	*fam = strchr(s, ':') ? 6 : 4;
	assert_int_equal(inet_pton(*fam == 4 ? AF_INET : AF_INET6, s, out), 1);
}

/* Matches src -> dst at when; returns the count and fills out. */
static size_t match(struct iap_targets *t, const char *src, const char *dst, int64_t when,
                    struct iap_match *out)
{
	uint8_t s[16], d[16];
	int f1, f2;
	addr(src, &f1, s);
	addr(dst, &f2, d);
	assert_int_equal(f1, f2);
	return iap_targets_match(t, f1, s, d, when, out);
}

/* Direction task i got in out[0..n), or -1 when it did not match. */
static int dir_of(const struct iap_match *out, size_t n, uint32_t task)
{
	int found = -1;
	for (size_t i = 0; i < n; i++) {
		if (out[i].task == task) {
			assert_int_equal(found, -1); /* at most once per task */
			found = out[i].direction;
		}
	}
	return found;
}

static void test_exact(void **state)
{
	struct lt_task *tk = calloc(1, sizeof *tk);
	struct iap_match m[4];
	set_task(&tk[0], 1, LT_TASK_FULL, OPEN_START, OPEN_END, "10.0.0.1,2001:db8::5");
	struct iap_targets *t = build(tk, 1);
	assert_int_equal(match(t, "10.0.0.1", "192.0.2.9", 0, m), 1);
	assert_int_equal(m[0].direction, LT_DIR_FROM_TARGET);
	assert_int_equal(match(t, "192.0.2.9", "10.0.0.1", 0, m), 1);
	assert_int_equal(m[0].direction, LT_DIR_TO_TARGET);
	assert_int_equal(match(t, "10.0.0.1", "10.0.0.1", 0, m), 1); /* both ends: once, to */
	assert_int_equal(m[0].direction, LT_DIR_TO_TARGET);
	assert_int_equal(match(t, "10.0.0.2", "10.0.0.3", 0, m), 0);
	assert_int_equal(match(t, "2001:db8::5", "2001:db8::6", 0, m), 1);
	assert_int_equal(m[0].direction, LT_DIR_FROM_TARGET);
	assert_int_equal(match(t, "2001:db8::6", "2001:db8::7", 0, m), 0);
	/* An IPv6 address whose first 4 bytes equal the IPv4 target does not match it. */
	assert_int_equal(match(t, "a00:1::", "::1", 0, m), 0);
	assert_int_equal(iap_targets_nlengths(t, 4), 1);
	assert_int_equal(iap_targets_nlengths(t, 6), 1);
	iap_targets_free(t);
}

static void test_prefixes(void **state)
{
	struct lt_task *tk = calloc(5, sizeof *tk);
	struct iap_match m[8];
	set_task(&tk[0], 1, LT_TASK_FULL, OPEN_START, OPEN_END, "10.1.0.0/16");
	set_task(&tk[1], 2, LT_TASK_IRI_ONLY, OPEN_START, OPEN_END, "10.1.2.0/24,10.1.2.3");
	set_task(&tk[2], 3, LT_TASK_FULL, OPEN_START, OPEN_END, "2001:db8::/64");
	set_task(&tk[3], 4, LT_TASK_FULL, OPEN_START, OPEN_END, "2001:db8:0:0:8000::/65");
	set_task(&tk[4], 5, LT_TASK_FULL, OPEN_START, OPEN_END, "172.16.0.0/12,0.0.0.0/0");
	struct iap_targets *t = build(tk, 5);
	size_t n = match(t, "10.1.2.3", "8.8.8.8", 0, m);
	assert_int_equal(n, 3);
	assert_int_equal(dir_of(m, n, 0), LT_DIR_FROM_TARGET);
	assert_int_equal(dir_of(m, n, 1), LT_DIR_FROM_TARGET); /* /24 and /32: once */
	assert_int_equal(dir_of(m, n, 4), LT_DIR_TO_TARGET);   /* /0 matches 8.8.8.8 first */
	n = match(t, "10.1.3.3", "10.2.0.1", 0, m);
	assert_int_equal(n, 2);
	assert_int_equal(dir_of(m, n, 0), LT_DIR_FROM_TARGET);
	assert_int_equal(dir_of(m, n, 1), -1);
	n = match(t, "2001:db8::1", "2001:db8::8000:0:0:1", 0, m);
	assert_int_equal(n, 2);
	assert_int_equal(dir_of(m, n, 2), LT_DIR_TO_TARGET);
	assert_int_equal(dir_of(m, n, 3), LT_DIR_TO_TARGET);
	n = match(t, "2001:db8::1", "2001:db9::1", 0, m);
	assert_int_equal(n, 1);
	assert_int_equal(dir_of(m, n, 2), LT_DIR_FROM_TARGET);
	assert_int_equal(match(t, "2001:db9::1", "::1", 0, m), 0);
	assert_int_equal(iap_targets_nlengths(t, 4), 5); /* 32, 24, 16, 12, 0 */
	assert_int_equal(iap_targets_nlengths(t, 6), 2);
	iap_targets_free(t);
}

static void test_directions_many_tasks(void **state)
{
	enum { N = 50 };
	struct lt_task *tk = calloc(N + 2, sizeof *tk);
	struct iap_match m[N + 2];
	for (unsigned i = 0; i < N; i++)
		set_task(&tk[i], i, LT_TASK_FULL, OPEN_START, OPEN_END, "10.0.0.1,10.0.0.0/8");
	set_task(&tk[N], 100, LT_TASK_FULL, OPEN_START, OPEN_END, "192.0.2.1");
	set_task(&tk[N + 1], 101, LT_TASK_IRI_ONLY, OPEN_START, OPEN_END, "192.0.2.2");
	struct iap_targets *t = build(tk, N + 2);
	size_t n = match(t, "10.0.0.1", "192.0.2.1", 0, m);
	assert_int_equal(n, N + 1);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(dir_of(m, n, i), LT_DIR_FROM_TARGET);
	assert_int_equal(dir_of(m, n, N), LT_DIR_TO_TARGET);
	/* Source of one task, destination of another. */
	n = match(t, "192.0.2.1", "192.0.2.2", 0, m);
	assert_int_equal(n, 2);
	assert_int_equal(dir_of(m, n, N), LT_DIR_FROM_TARGET);
	assert_int_equal(dir_of(m, n, N + 1), LT_DIR_TO_TARGET);
	/* Many packets: the per-packet marks reset correctly. */
	for (int i = 0; i < 1000; i++)
		assert_int_equal(match(t, "10.9.9.9", "10.0.0.1", 0, m), N);
	iap_targets_free(t);
}

static void test_ten_thousand_targets(void **state)
{
	enum { TASKS = 100, PER = 100 };
	struct lt_task *tk = calloc(TASKS, sizeof *tk);
	struct iap_match m[TASKS];
	char *buf = malloc(PER * 20);
	for (unsigned i = 0; i < TASKS; i++) {
		size_t o = 0;
		for (unsigned j = 0; j < PER; j++)
			o += (size_t)sprintf(buf + o, "%s10.%u.%u.%u", j ? "," : "",
			                     (i * PER + j) >> 16, ((i * PER + j) >> 8) & 255,
			                     (i * PER + j) & 255);
		set_task(&tk[i], i, LT_TASK_FULL, OPEN_START, OPEN_END, buf);
	}
	free(buf);
	struct iap_targets *t = build(tk, TASKS);
	assert_int_equal(iap_targets_nlengths(t, 4), 1); /* one probe per address */
	for (unsigned k = 0; k < TASKS * PER; k++) {
		char a[32];
		snprintf(a, sizeof a, "10.%u.%u.%u", k >> 16, (k >> 8) & 255, k & 255);
		size_t n = match(t, "192.0.2.1", a, 0, m);
		assert_int_equal(n, 1);
		assert_int_equal(m[0].task, k / PER);
		assert_int_equal(m[0].direction, LT_DIR_TO_TARGET);
	}
	assert_int_equal(match(t, "192.0.2.1", "10.0.39.16", 0, m), 0); /* 10000 is not a target */
	iap_targets_free(t);
}

static void test_windows(void **state)
{
	struct lt_task *tk = calloc(3, sizeof *tk);
	struct iap_match m[3];
	set_task(&tk[0], 1, LT_TASK_FULL, 100, 200, "10.0.0.1");
	set_task(&tk[1], 2, LT_TASK_FULL, OPEN_START, 150, "10.0.0.1");
	set_task(&tk[2], 3, LT_TASK_FULL, 150, OPEN_END, "10.0.0.1");
	struct iap_targets *t = build(tk, 3);
	size_t n = match(t, "10.0.0.1", "1.1.1.1", 99, m);
	assert_int_equal(n, 1);
	assert_int_equal(m[0].task, 1);
	n = match(t, "10.0.0.1", "1.1.1.1", 100, m);
	assert_int_equal(n, 2);
	n = match(t, "10.0.0.1", "1.1.1.1", 150, m);
	assert_int_equal(n, 2);
	assert_int_equal(dir_of(m, n, 1), -1); /* end is exclusive */
	n = match(t, "10.0.0.1", "1.1.1.1", 199, m);
	assert_int_equal(n, 2);
	n = match(t, "10.0.0.1", "1.1.1.1", 200, m);
	assert_int_equal(n, 1);
	assert_int_equal(m[0].task, 2);
	iap_targets_free(t);
}

static void test_seq_and_inherit(void **state)
{
	struct lt_task *tk = calloc(2, sizeof *tk);
	char err[256];
	set_task(&tk[0], 1, LT_TASK_FULL, OPEN_START, OPEN_END, "10.0.0.1");
	set_task(&tk[1], 2, LT_TASK_FULL, OPEN_START, OPEN_END, "10.0.0.2");
	struct iap_targets *old = build(tk, 2);
	assert_int_equal(iap_targets_next_seq(old, 0), 0);
	assert_int_equal(iap_targets_next_seq(old, 0), 1);
	assert_int_equal(iap_targets_next_seq(old, 1), 0);
	tk = calloc(2, sizeof *tk);
	set_task(&tk[0], 3, LT_TASK_FULL, OPEN_START, OPEN_END, "10.0.0.3");
	set_task(&tk[1], 1, LT_TASK_FULL, OPEN_START, OPEN_END, "10.0.0.9");
	struct iap_targets *t = build(tk, 2);
	iap_targets_inherit(t, old);
	assert_int_equal(iap_targets_next_seq(t, 0), 0); /* new XID */
	assert_int_equal(iap_targets_next_seq(t, 1), 2); /* XID 1 continues */
	iap_targets_free(old);
	iap_targets_free(t);
	/* Duplicate XIDs are refused; an empty table matches nothing. */
	tk = calloc(2, sizeof *tk);
	set_task(&tk[0], 7, LT_TASK_FULL, OPEN_START, OPEN_END, "10.0.0.1");
	set_task(&tk[1], 7, LT_TASK_FULL, OPEN_START, OPEN_END, "10.0.0.2");
	assert_null(iap_targets_new_take(tk, 2, err, sizeof err));
	assert_non_null(strstr(err, "twice"));
	t = build(NULL, 0);
	struct iap_match m[1];
	assert_int_equal(match(t, "10.0.0.1", "10.0.0.2", 0, m), 0);
	iap_targets_free(t);
}

static void test_snapshot(void **state)
{
	char err[512];
	uint64_t v = 0;
	struct iap_snapshot *s = iap_snapshot_new();
	assert_int_equal(iap_snapshot_feed(s, "TASKS 5 2", err, sizeof err), 0);
	assert_int_equal(iap_snapshot_feed(s,
	                                   "TASK 12345678-9abc-4def-8123-456789abcdef 9 full - - "
	                                   "10.0.0.1",
	                                   err, sizeof err),
	                 0);
	assert_int_equal(iap_snapshot_feed(s,
	                                   "TASK 22345678-9abc-4def-8123-456789abcdef 10 iri-only "
	                                   "100 200 10.1.0.0/16,2001:db8::/64",
	                                   err, sizeof err),
	                 0);
	assert_int_equal(iap_snapshot_feed(s, "COMMIT 5", err, sizeof err), 1);
	struct iap_targets *t = iap_snapshot_build(s, &v, err, sizeof err);
	assert_non_null(t);
	assert_int_equal(v, 5);
	assert_int_equal(iap_targets_ntasks(t), 2);
	assert_int_equal(iap_targets_task(t, 1)->mode, LT_TASK_IRI_ONLY);
	iap_targets_free(t);
	/* Refusals, each naming the line. */
	assert_int_equal(iap_snapshot_feed(s, "TASKS 5 0", err, sizeof err), -1);
	assert_non_null(strstr(err, "TASKS 5 0")); /* not above the applied version */
	assert_int_equal(iap_snapshot_feed(s, "TASKS 6 x", err, sizeof err), -1);
	assert_int_equal(iap_snapshot_feed(s, "TASKS 6 999999999", err, sizeof err), -1);
	assert_int_equal(iap_snapshot_feed(s, "HELLO 1 x", err, sizeof err), -1);
	assert_int_equal(iap_snapshot_feed(s, "ERROR go away", err, sizeof err), -1);
	assert_non_null(strstr(err, "go away"));
	assert_int_equal(iap_snapshot_feed(s, "TASKS 6 1", err, sizeof err), 0);
	assert_int_equal(iap_snapshot_feed(s, "TASK nonsense", err, sizeof err), -1);
	assert_non_null(strstr(err, "TASK nonsense"));
	iap_snapshot_free(s);
	s = iap_snapshot_new();
	assert_int_equal(iap_snapshot_feed(s, "TASKS 7 0", err, sizeof err), 0);
	assert_int_equal(iap_snapshot_feed(s, "COMMIT 8", err, sizeof err), -1);
	iap_snapshot_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exact),
	    cmocka_unit_test(test_prefixes),
	    cmocka_unit_test(test_directions_many_tasks),
	    cmocka_unit_test(test_ten_thousand_targets),
	    cmocka_unit_test(test_windows),
	    cmocka_unit_test(test_seq_and_inherit),
	    cmocka_unit_test(test_snapshot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
