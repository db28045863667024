/* Unit tests for lib/tasking.c: targets and TASK lines (round trips, every refusal). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/tasking.h"

#define XID "12345678-9abc-4def-8123-456789abcdef"

static void target_ok(const char *in, int family, int prefix, const char *out)
{
	struct lt_target t;
	char err[128] = "", buf[64];
	if (lt_target_parse(in, &t, err, sizeof err) != 0)
		fail_msg("%s: %s", in, err);
	assert_int_equal(t.family, family);
	assert_int_equal(t.prefix, prefix);
	lt_target_format(&t, buf, sizeof buf);
	assert_string_equal(buf, out);
}

static void target_bad(const char *in, const char *msg)
{
	struct lt_target t;
	char err[128] = "";
	memset(&t, 0x5a, sizeof t);
	if (lt_target_parse(in, &t, err, sizeof err) != -1)
		fail_msg("accepted %s", in ? in : "(null)");
	assert_non_null(strstr(err, msg));
	assert_int_equal(t.family, 0x5a5a5a5a); /* untouched */
}

static void test_targets(void **state)
{
	target_ok("10.0.0.1", 4, 32, "10.0.0.1");
	target_ok("10.0.0.1/32", 4, 32, "10.0.0.1");
	target_ok("10.1.0.0/16", 4, 16, "10.1.0.0/16");
	target_ok("10.1.128.0/17", 4, 17, "10.1.128.0/17");
	target_ok("0.0.0.0/0", 4, 0, "0.0.0.0/0");
	target_ok("2001:db8::1", 6, 128, "2001:db8::1");
	target_ok("2001:DB8::/64", 6, 64, "2001:db8::/64");
	target_ok("2001:db8:0:0:0:0:0:0/32", 6, 32, "2001:db8::/32");
	target_ok("::/0", 6, 0, "::/0");
	target_ok("::ffff:10.0.0.1", 6, 128, "::ffff:10.0.0.1");
	target_ok("2001:db8::8000:0/97", 6, 97, "2001:db8::8000:0/97");
	target_ok("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128", 6, 128,
	          "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");

	struct lt_target t;
	char err[64];
	assert_int_equal(lt_target_parse("10.1.2.0/24", &t, err, sizeof err), 0);
	assert_memory_equal(t.addr, "\x0a\x01\x02\x00", 4);

	target_bad("", "empty target");
	target_bad(NULL, "empty target");
	target_bad("123456789012345678901234567890123456789012345678901", "too long");
	target_bad("10.0.0.1/33", "bad prefix length");
	target_bad("10.0.0.1/", "bad prefix length");
	target_bad("10.0.0.0/08", "bad prefix length");
	target_bad("10.0.0.0/+8", "bad prefix length");
	target_bad("10.0.0.0/-8", "bad prefix length");
	target_bad("10.0.0.0/8/8", "bad prefix length");
	target_bad("10.0.0.0/ 8", "bad prefix length");
	target_bad("2001:db8::/129", "bad prefix length");
	target_bad("10.1.2.0/16", "host bits set beyond /16");
	target_bad("10.0.0.1/31", "host bits");
	target_bad("0.0.0.1/0", "host bits");
	target_bad("2001:db8::1/64", "host bits");
	target_bad("2001:db8::8000:0/96", "host bits");
	target_bad("256.0.0.1", "bad IPv4 address");
	target_bad("1.2.3", "bad IPv4 address");
	target_bad("1.2.3.4.5", "bad IPv4 address");
	target_bad(" 1.2.3.4", "bad IPv4 address");
	target_bad("1.2.3.4 ", "bad IPv4 address");
	target_bad("host.example", "bad IPv4 address");
	target_bad("/8", "bad IPv4 address");
	target_bad("2001:db8:::1", "bad IPv6 address");
	target_bad("fe80::1%eth0", "bad IPv6 address");
	target_bad("1.2.3.4:80", "bad IPv6 address");

	/* format into a short buffer truncates safely */
	char small[5];
	assert_int_equal(lt_target_parse("10.1.0.0/16", &t, err, sizeof err), 0);
	lt_target_format(&t, small, sizeof small);
	assert_string_equal(small, "10.1");
	lt_target_format(&t, NULL, 0);
	/* err may be NULL */
	assert_int_equal(lt_target_parse("x", &t, NULL, 0), -1);
}

static void test_task_roundtrip(void **state)
{
	static const char *const lines[] = {
	    "TASK " XID " 0 full - - 10.0.0.1",
	    "TASK " XID " 4294967295 iri-only 0 9223372036854775806 10.0.0.0/8,2001:db8::/64",
	    "TASK " XID " 17 full 1767225600 1798761600 192.0.2.1,192.0.2.2,2001:db8::1",
	    "TASK " XID " 1 iri-only 5 5 ::/0",
	};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		struct lt_task t;
		char err[160];
		if (lt_task_parse_line(lines[i], &t, err, sizeof err) != 0)
			fail_msg("%s: %s", lines[i], err);
		char *s = lt_task_format_line(&t);
		assert_non_null(s);
		size_t n = strlen(s);
		assert_int_equal(s[n - 1], '\n');
		s[n - 1] = '\0';
		assert_string_equal(s, lines[i]);
		free(s);
		lt_task_clear(&t);
		assert_null(t.targets);
	}
	struct lt_task t;
	char err[160];
	assert_int_equal(lt_task_parse_line("TASK " XID " 42 iri-only - 100 10.1.0.0/16,::1", &t,
	                                    err, sizeof err),
	                 0);
	assert_int_equal(t.cin, 42);
	assert_int_equal(t.mode, LT_TASK_IRI_ONLY);
	assert_true(t.start == INT64_MIN);
	assert_true(t.end == 100);
	assert_int_equal(t.ntargets, 2);
	assert_int_equal(t.targets[0].prefix, 16);
	assert_int_equal(t.targets[1].family, 6);
	assert_int_equal(t.xid[0], 0x12);
	lt_task_clear(&t);
	lt_task_clear(NULL);
}

static void task_bad(const char *line, const char *msg)
{
	struct lt_task t;
	char err[200] = "";
	memset(&t, 0x5a, sizeof t);
	if (lt_task_parse_line(line, &t, err, sizeof err) != -1)
		fail_msg("accepted \"%s\"", line);
	if (!strstr(err, msg))
		fail_msg("\"%s\": got \"%s\", want \"%s\"", line, err, msg);
	assert_null(t.targets);
	assert_int_equal(t.ntargets, 0);
}

static void test_task_errors(void **state)
{
	task_bad(NULL, "no line");
	task_bad("", "missing or empty field TASK");
	task_bad("TASK", "missing or empty field xid");
	task_bad("TASK " XID, "missing or empty field cin");
	task_bad("TASK " XID " 1", "missing or empty field mode");
	task_bad("TASK " XID " 1 full", "missing or empty field start");
	task_bad("TASK " XID " 1 full -", "missing or empty field end");
	task_bad("TASK " XID " 1 full - -", "missing or empty field targets");
	task_bad("TASK " XID " 1 full - - ", "missing or empty field targets");
	task_bad("TASK " XID " 1 full - - 10.0.0.1 ", "extra fields");
	task_bad("TASK " XID " 1 full - - 10.0.0.1 x", "extra fields");
	task_bad("TASK  " XID " 1 full - - 10.0.0.1", "missing or empty field xid");
	task_bad("TASK " XID "  1 full - - 10.0.0.1", "missing or empty field cin");
	task_bad(" TASK " XID " 1 full - - 10.0.0.1", "missing or empty field TASK");
	task_bad("TASK\t" XID " 1 full - - 10.0.0.1", "control character");
	task_bad("TASK " XID " 1 full - - 10.0.0.1\r", "control character");
	task_bad("TASK " XID " 1 full - - 10.0.0.1\n", "control character");
	task_bad("TASK " XID " 1 full - - 10.0.0.\xc3\xa9", "non-ASCII");
	task_bad("TASKS " XID " 1 full - - 10.0.0.1", "not a TASK line");
	task_bad("task " XID " 1 full - - 10.0.0.1", "not a TASK line");
	task_bad("TASK 12345678-9abc-4def-8123-456789abcdeg 1 full - - 10.0.0.1", "bad xid");
	task_bad("TASK 12345678-9abc-4def-8123-456789abcde 1 full - - 10.0.0.1", "bad xid");
	task_bad("TASK " XID " 01 full - - 10.0.0.1", "bad cin");
	task_bad("TASK " XID " -1 full - - 10.0.0.1", "bad cin");
	task_bad("TASK " XID " +1 full - - 10.0.0.1", "bad cin");
	task_bad("TASK " XID " 4294967296 full - - 10.0.0.1", "bad cin");
	task_bad("TASK " XID " 99999999999999999999 full - - 10.0.0.1", "bad cin");
	task_bad("TASK " XID " 1x full - - 10.0.0.1", "bad cin");
	task_bad("TASK " XID " 1 Full - - 10.0.0.1", "bad mode");
	task_bad("TASK " XID " 1 iri - - 10.0.0.1", "bad mode");
	task_bad("TASK " XID " 1 full-x - - 10.0.0.1", "bad mode");
	task_bad("TASK " XID " 1 full -- - 10.0.0.1", "bad start");
	task_bad("TASK " XID " 1 full -5 - 10.0.0.1", "bad start");
	task_bad("TASK " XID " 1 full 05 - 10.0.0.1", "bad start");
	task_bad("TASK " XID " 1 full 9223372036854775807 - 10.0.0.1", "bad start");
	task_bad("TASK " XID " 1 full - 1.5 10.0.0.1", "bad end");
	task_bad("TASK " XID " 1 full - 18446744073709551616 10.0.0.1", "bad end");
	task_bad("TASK " XID " 1 full 10 9 10.0.0.1", "start is after end");
	task_bad("TASK " XID " 1 full - - 10.0.0.1,", "target 2 is empty");
	task_bad("TASK " XID " 1 full - - ,10.0.0.1", "target 1 is empty");
	task_bad("TASK " XID " 1 full - - 10.0.0.1,,10.0.0.2", "target 2 is empty");
	task_bad("TASK " XID " 1 full - - 10.0.0.1,10.0.0.2/8", "host bits");
	task_bad("TASK " XID " 1 full - - 10.0.0.1,"
	         "123456789012345678901234567890123456789012345678901",
	         "target 2 is too long");

	/* too many targets (counted before parsing) and a line too long */
	size_t n = 64 + LT_TASK_MAX_TARGETS_PER_TASK + 1;
	char *l = malloc(LT_TASK_LINE_MAX + 2);
	assert_non_null(l);
	int k = snprintf(l, n, "TASK " XID " 1 full - - 1.0.0.0");
	memset(l + k, ',', LT_TASK_MAX_TARGETS_PER_TASK);
	l[k + LT_TASK_MAX_TARGETS_PER_TASK] = '\0';
	task_bad(l, "more than 10000 targets");
	memset(l, 'A', LT_TASK_LINE_MAX + 1);
	l[LT_TASK_LINE_MAX + 1] = '\0';
	task_bad(l, "longer than");
	free(l);
}

/* The optional 8th field: filter=<hex of a BPF expression> (lib/tasking.h). */
static void test_task_filter(void **state)
{
	struct lt_task t;
	char err[256];
	const char *line = "TASK " XID " 7 full - - 10.0.0.1 filter=706f72742036363637";
	assert_int_equal(lt_task_parse_line(line, &t, err, sizeof err), 0);
	assert_non_null(t.filter);
	assert_string_equal(t.filter, "port 6667");
	char *out = lt_task_format_line(&t);
	assert_non_null(out);
	assert_int_equal(strncmp(out, line, strlen(line)), 0);
	assert_string_equal(out + strlen(line), "\n");
	free(out);
	lt_task_clear(&t);
	/* Without the field: no filter (a line of the first version parses as before). */
	assert_int_equal(
	    lt_task_parse_line("TASK " XID " 7 full - - 10.0.0.1", &t, err, sizeof err), 0);
	assert_null(t.filter);
	lt_task_clear(&t);
	task_bad("TASK " XID " 1 full - - 10.0.0.1 filter=", "bad filter");
	task_bad("TASK " XID " 1 full - - 10.0.0.1 filter=7", "bad filter");
	task_bad("TASK " XID " 1 full - - 10.0.0.1 filter=zz", "bad filter");
	task_bad("TASK " XID " 1 full - - 10.0.0.1 filter=0a", "bad filter"); /* a newline */
	task_bad("TASK " XID " 1 full - - 10.0.0.1 filter=70 x", "extra fields");
	task_bad("TASK " XID " 1 full - - 10.0.0.1 port=70", "extra fields");
	/* A filter that is not printable ASCII is not formatted. */
	char bad[] = "port\n1";
	memset(&t, 0, sizeof t);
	struct lt_target tg;
	assert_int_equal(lt_target_parse("10.0.0.1", &tg, err, sizeof err), 0);
	t.mode = LT_TASK_FULL;
	t.start = INT64_MIN;
	t.end = INT64_MAX;
	t.ntargets = 1;
	t.targets = &tg;
	t.filter = bad;
	assert_null(lt_task_format_line(&t));
}

static void test_task_max(void **state)
{
	/* The most targets a line can hold below LT_TASK_LINE_MAX parse and format back. */
	struct lt_task t;
	memset(&t, 0, sizeof t);
	t.mode = LT_TASK_FULL;
	t.start = INT64_MIN;
	t.end = INT64_MAX;
	t.ntargets = 6000;
	t.targets = calloc(t.ntargets, sizeof *t.targets);
	assert_non_null(t.targets);
	for (size_t i = 0; i < t.ntargets; i++) {
		t.targets[i].family = 4;
		t.targets[i].prefix = 32;
		t.targets[i].addr[0] = 1;
		t.targets[i].addr[3] = (uint8_t)i;
	}
	char *s = lt_task_format_line(&t);
	assert_non_null(s); /* about 57500 bytes */
	s[strlen(s) - 1] = '\0';
	struct lt_task u;
	char err[128];
	assert_int_equal(lt_task_parse_line(s, &u, err, sizeof err), 0);
	assert_int_equal(u.ntargets, 6000);
	free(s);
	lt_task_clear(&u);
	/* The limit, 10,000 targets, fits in one line even as the longest IPv6 addresses */
	free(t.targets);
	t.ntargets = LT_TASK_MAX_TARGETS_PER_TASK;
	t.targets = calloc(t.ntargets + 1, sizeof *t.targets);
	assert_non_null(t.targets);
	for (size_t i = 0; i <= t.ntargets; i++) {
		t.targets[i].family = 6;
		t.targets[i].prefix = 128;
		memset(t.targets[i].addr, 0x22, 16);
		t.targets[i].addr[14] = (uint8_t)(0x10 + (i >> 8));
		t.targets[i].addr[15] = (uint8_t)(0x10 + i);
	}
	s = lt_task_format_line(&t);
	assert_non_null(s);
	s[strlen(s) - 1] = '\0';
	assert_int_equal(lt_task_parse_line(s, &u, err, sizeof err), 0);
	assert_int_equal(u.ntargets, LT_TASK_MAX_TARGETS_PER_TASK);
	free(s);
	lt_task_clear(&u);
	/* One more target than the limit: format refuses */
	t.ntargets++;
	assert_null(lt_task_format_line(&t));
	lt_task_clear(&t);
}

static void test_task_format_invalid(void **state)
{
	struct lt_target tg = {4, {10, 0, 0, 1}, 32};
	struct lt_task t;
	memset(&t, 0, sizeof t);
	t.mode = LT_TASK_FULL;
	t.start = INT64_MIN;
	t.end = INT64_MAX;
	t.ntargets = 1;
	t.targets = &tg;
	char *s = lt_task_format_line(&t);
	assert_non_null(s);
	free(s);
	struct lt_task e = t;
	e.ntargets = 0;
	assert_null(lt_task_format_line(&e));
	e = t;
	e.targets = NULL;
	assert_null(lt_task_format_line(&e));
	e = t;
	e.mode = 3;
	assert_null(lt_task_format_line(&e));
	e = t;
	e.start = 10;
	e.end = 9;
	assert_null(lt_task_format_line(&e));
	e = t;
	e.start = -1;
	assert_null(lt_task_format_line(&e));
	e = t;
	e.end = -1;
	assert_null(lt_task_format_line(&e));
	e = t;
	e.start = INT64_MAX;
	assert_null(lt_task_format_line(&e));
	e = t;
	e.ntargets = LT_TASK_MAX_TARGETS_PER_TASK + 1;
	assert_null(lt_task_format_line(&e));
	assert_null(lt_task_format_line(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_targets),     cmocka_unit_test(test_task_roundtrip),
	    cmocka_unit_test(test_task_errors), cmocka_unit_test(test_task_filter),
	    cmocka_unit_test(test_task_max),    cmocka_unit_test(test_task_format_invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
