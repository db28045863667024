/* Unit tests for mediation/config.c (and the XID / CIN helpers of mediation/warrants.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mediation/mediation.h"

static const char good[] =
    "mediator:\n"
    "  x2x3_listen: 127.0.0.1:9000\n"
    "  tasking_listen: 127.0.0.1:9001\n"
    "  operator_id: lawtap-op\n"
    "  network_element_id: med1\n"
    "  state_dir: state\n"
    "  drain_timeout: 30\n"
    "  tls: { ca: ca.pem, cert: mediator.pem, key: /abs/mediator.key }\n"
    "leas:\n"
    "  - id: lea1\n"
    "    country: NL\n"
    "    hi2: 127.0.0.1:9102\n"
    "    hi3: 127.0.0.1:9103\n"
    "    timestamp: both\n"
    "    keepalive_idle: 300\n"
    "    keepalive_timeout: 30\n"
    "    keepalive_liid: \"-\"\n"
    "    reconnect_max: 30\n"
    "  - id: lea2\n"
    "    country: DE\n"
    "    hi2: \"[::1]:9202\"\n"
    "    hi3: localhost:9203\n"
    "    tls_ca: lea2-ca.pem\n"
    "    tls_pin_sha256: 00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF\n"
    "warrants:\n"
    "  - liid: LIID-0001\n"
    "    country: NL\n"
    "    lea: lea1\n"
    "    target_name: alice\n"
    "    targets: [10.0.0.1, 2001:db8::/64]\n"
    "    mode: full\n"
    "    start: 2026-01-01T00:00:00Z\n"
    "    end: 2027-01-01T00:00:00Z\n"
    "  - liid: PEN-7\n"
    "    country: DE\n"
    "    lea: lea2\n"
    "    targets: [192.0.2.0/24]\n"
    "    mode: iri-only\n";

/* A bad config is the good one with one substring replaced; the message must name the key
 * path and the reason. */
struct bad_case {
	const char *find, *repl;
	const char *want_path, *want_reason;
};

static const struct bad_case bad_cases[] = {
    {"  operator_id: lawtap-op\n", "  operator_id: lawtap-op\n  colour: blue\n", "mediator.colour",
     "unknown key"},
    {"leas:\n", "extra: 1\nleas:\n", "extra", "unknown key"},
    {"    reconnect_max: 30\n", "    reconnect_max: 30\n    hi4: x\n", "leas[0].hi4",
     "unknown key"},
    {"    mode: iri-only\n", "    mode: iri-only\n    lea_id: lea2\n", "warrants[1].lea_id",
     "unknown key"},
    {"tls: { ca: ca.pem,", "tls: { crl: x, ca: ca.pem,", "mediator.tls.crl", "unknown key"},
    {"  x2x3_listen: 127.0.0.1:9000\n", "", "mediator.x2x3_listen", "missing"},
    {"127.0.0.1:9000", "127.0.0.1", "mediator.x2x3_listen", "host:port"},
    {"127.0.0.1:9001", "127.0.0.1:99999", "mediator.tasking_listen", "host:port"},
    {"127.0.0.1:9103", "127.0.0.1:0", "leas[0].hi3", "host:port"},
    {"\"[::1]:9202\"", "nowhere", "leas[1].hi2", "host:port"},
    {"operator_id: lawtap-op", "operator_id: a-very-long-operator-id", "mediator.operator_id",
     "1..16"},
    {"network_element_id: med1", "network_element_id: 01234567890123456",
     "mediator.network_element_id", "1..16"},
    {"drain_timeout: 30", "drain_timeout: 0", "mediator.drain_timeout", "integer in 1..3600"},
    {"drain_timeout: 30", "drain_timeout: soon", "mediator.drain_timeout", "integer"},
    {"  tls: { ca: ca.pem, cert: mediator.pem, key: /abs/mediator.key }\n", "", "mediator.tls",
     "missing"},
    {", key: /abs/mediator.key", "", "mediator.tls.key", "missing"},
    {"  state_dir: state\n", "", "mediator.state_dir", "missing"},
    {"    country: NL\n    hi2", "    country: nl\n    hi2", "leas[0].country",
     "2 uppercase letters"},
    {"    country: DE\n    hi2", "    country: DEU\n    hi2", "leas[1].country",
     "2 uppercase letters"},
    {"timestamp: both", "timestamp: nanoseconds", "leas[0].timestamp",
     "microseconds, generalized or both"},
    {"keepalive_idle: 300", "keepalive_idle: -1", "leas[0].keepalive_idle", "integer"},
    {"keepalive_timeout: 30", "keepalive_timeout: 0", "leas[0].keepalive_timeout",
     "integer in 1..3600"},
    {"reconnect_max: 30", "reconnect_max: 100000", "leas[0].reconnect_max", "integer in 1..3600"},
    {"keepalive_liid: \"-\"", "keepalive_liid: \"abcdefghijklmnopqrstuvwxyz\"",
     "leas[0].keepalive_liid", "1..25"},
    {"  - id: lea2\n", "  - id: lea1\n", "leas[1].id", "duplicate LEA id"},
    {"  - id: lea2\n", "  - id: \"lea 2\"\n", "leas[1].id", "expected 1..32"},
    {"liid: LIID-0001", "liid: LIID-0001-0123456789-ABCDEF", "warrants[0].liid", "1..25"},
    {"liid: LIID-0001", "liid: \"LIID 1\"", "warrants[0].liid", "visible ASCII"},
    {"liid: PEN-7", "liid: LIID-0001", "warrants[1].liid", "duplicate LIID"},
    {"    lea: lea2\n", "    lea: lea9\n", "warrants[1].lea", "no LEA with id"},
    {"    lea: lea2\n", "", "warrants[1].lea", "missing"},
    {"country: NL\n    lea", "country: N1\n    lea", "warrants[0].country", "2 uppercase letters"},
    {"mode: full", "mode: everything", "warrants[0].mode", "full or iri-only"},
    {"    mode: iri-only\n", "", "warrants[1].mode", "missing"},
    {"targets: [10.0.0.1, 2001:db8::/64]", "targets: [10.0.0.1, 2001:db8::1/64]",
     "warrants[0].targets[1]", ""},
    {"targets: [10.0.0.1, 2001:db8::/64]", "targets: [10.0.0.300]", "warrants[0].targets[0]", ""},
    {"targets: [10.0.0.1, 2001:db8::/64]", "targets: []", "warrants[0].targets", "1..10000"},
    {"targets: [10.0.0.1, 2001:db8::/64]", "targets: 10.0.0.1", "warrants[0].targets",
     "expected a list"},
    {"    targets: [192.0.2.0/24]\n", "", "warrants[1].targets", "missing"},
    {"start: 2026-01-01T00:00:00Z", "start: 2026-13-01T00:00:00Z", "warrants[0].start", "UTC time"},
    {"start: 2026-01-01T00:00:00Z", "start: yesterday", "warrants[0].start", "UTC time"},
    {"start: 2026-01-01T00:00:00Z", "start: 1969-12-31T23:59:59Z", "warrants[0].start", "UTC time"},
    {"end: 2027-01-01T00:00:00Z", "end: 2025-01-01T00:00:00Z", "warrants[0].end", "after start"},
    {"end: 2027-01-01T00:00:00Z", "end: 2026-01-01T00:00:00Z", "warrants[0].end", "after start"},
    {"target_name: alice", "target_name: \"a\\tb\"", "warrants[0].target_name", "printable"},
    {"tls_pin_sha256: 00", "tls_pin_sha256: 0", "leas[1].tls_pin_sha256", "64 hex digits"},
    {"tls_pin_sha256: 00", "tls_pin_sha256: 0g", "leas[1].tls_pin_sha256", "64 hex digits"},
    {"    tls_ca: lea2-ca.pem\n", "    tls_ca: [a]\n", "leas[1].tls_ca", ""},
    /* the checks shared with the REST bodies (med_targets_check, med_valid_target_name,
     * med_lea_ints, med_parse_ack_mode): the seed accepts what the API accepts */
    {"targets: [10.0.0.1, 2001:db8::/64]", "targets: [10.0.0.0/24, 10.0.0.7]",
     "warrants[0].targets", "target 10.0.0.7 overlaps target 10.0.0.0/24"},
    {"targets: [10.0.0.1, 2001:db8::/64]", "targets: [2001:db8::1, 2001:db8::/64]",
     "warrants[0].targets", "overlaps"},
    {"target_name: alice", "target_name: \"\"", "warrants[0].target_name", "empty value"},
    {"reconnect_max: 30", "reconnect_max: 30\n    resend_window: 0", "leas[0].resend_window",
     "integer in 1..100000"},
    {"reconnect_max: 30", "reconnect_max: 30\n    pdu_ack_strict: 2", "leas[0].pdu_ack_strict",
     "integer in 0..1"},
    {"reconnect_max: 30", "reconnect_max: 30\n    ack_mode: Window", "leas[0].ack_mode",
     "expected keepalive, window or pdu-ack"},
};

/* Whole documents for errors of shape. */
#define MIN_MEDIATOR                                                                               \
	"mediator:\n  x2x3_listen: 127.0.0.1:0\n  tasking_listen: 127.0.0.1:0\n"                   \
	"  operator_id: op\n  state_dir: /tmp/s\n  tls: {ca: a, cert: b, key: c}\n"
static const struct bad_case bad_docs[] = {
    {"mediator: 1\n", NULL, "mediator", "expected a mapping"},
    {MIN_MEDIATOR "leas: lea1\n", NULL, "leas", "expected a list"},
    {MIN_MEDIATOR "warrants: {a: 1}\n", NULL, "warrants", "expected a list"},
    {MIN_MEDIATOR "leas:\n  - 5\n", NULL, "leas[0]", "expected a mapping"},
    {MIN_MEDIATOR "warrants:\n  - [1]\n", NULL, "warrants[0]", "expected a mapping"},
    {"leas: []\n", NULL, "mediator", "missing"},
};

static void check_refused(size_t i, const char *text, const struct bad_case *c)
{
	struct med_config cfg;
	char err[512] = "";
	int rc =
	    med_config_load_mem("/etc/lawtap/m.yaml", text, strlen(text), &cfg, err, sizeof err);
	if (rc != -1)
		fail_msg("case %zu (%s): accepted", i, c->want_path);
	char want[128];
	snprintf(want, sizeof want, ": %s: ", c->want_path);
	if (!strstr(err, "/etc/lawtap/m.yaml:") || !strstr(err, want) ||
	    !strstr(err, c->want_reason))
		fail_msg("case %zu: message \"%s\" lacks the file, \"%s\" or \"%s\"", i, err,
		         c->want_path, c->want_reason);
	assert_int_equal(cfg.nleas, 0);
	assert_null(cfg.warrants);
}

static char *replace(const char *find, const char *repl)
{
	const char *at = strstr(good, find);
	if (!at)
		return NULL;
	size_t pre = (size_t)(at - good), flen = strlen(find), rlen = strlen(repl);
	char *out = malloc(sizeof good + rlen);
	memcpy(out, good, pre);
	memcpy(out + pre, repl, rlen);
	strcpy(out + pre + rlen, at + flen);
	return out;
}

static void test_bad_configs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		const struct bad_case *c = &bad_cases[i];
		char *text = replace(c->find, c->repl);
		if (!text)
			fail_msg("case %zu: \"%s\" not in the good config", i, c->find);
		check_refused(i, text, c);
		free(text);
	}
	for (size_t i = 0; i < sizeof bad_docs / sizeof bad_docs[0]; i++)
		check_refused(100 + i, bad_docs[i].find, &bad_docs[i]);
}

static void test_good_config(void **state)
{
	(void)state;
	struct med_config cfg;
	char err[512] = "";
	int rc =
	    med_config_load_mem("/etc/lawtap/m.yaml", good, strlen(good), &cfg, err, sizeof err);
	if (rc != 0)
		fail_msg("good config refused: %s", err);
	assert_string_equal(cfg.x2x3_listen, "127.0.0.1:9000");
	assert_string_equal(cfg.operator_id, "lawtap-op");
	assert_string_equal(cfg.ne_id, "med1");
	assert_string_equal(cfg.state_dir, "/etc/lawtap/state");
	assert_string_equal(cfg.tls_ca, "/etc/lawtap/ca.pem");
	assert_string_equal(cfg.tls_key, "/abs/mediator.key");
	assert_int_equal(cfg.drain_timeout, 30);
	assert_int_equal(cfg.nleas, 2);
	assert_string_equal(cfg.leas[0].id, "lea1");
	assert_int_equal(cfg.leas[0].ts_form, MED_TS_BOTH);
	assert_int_equal(cfg.leas[0].ka_liid_len, 1);
	assert_memory_equal(cfg.leas[0].ka_liid, "-", 1);
	/* defaults */
	assert_int_equal(cfg.leas[1].ts_form, MED_TS_MICRO);
	assert_int_equal(cfg.leas[1].keepalive_idle, 300);
	assert_int_equal(cfg.leas[1].keepalive_timeout, 30);
	assert_int_equal(cfg.leas[1].reconnect_max, 30);
	assert_string_equal(cfg.leas[1].addr[HO_HI2], "[::1]:9202");
	assert_string_equal(cfg.lea_tls[0].ca, "");
	assert_string_equal(cfg.lea_tls[0].pin, "");
	assert_string_equal(cfg.lea_tls[1].ca, "/etc/lawtap/lea2-ca.pem");
	assert_string_equal(cfg.lea_tls[1].pin,
	                    "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF");
	assert_int_equal(cfg.nwarrants, 2);
	assert_string_equal(cfg.warrants[0].liid, "LIID-0001");
	assert_int_equal(cfg.warrants[0].lea, 0);
	assert_int_equal(cfg.warrants[0].mode, LT_TASK_FULL);
	assert_int_equal(cfg.warrants[0].ntargets, 2);
	assert_int_equal(cfg.warrants[0].targets[1].family, 6);
	assert_int_equal(cfg.warrants[0].targets[1].prefix, 64);
	assert_true(cfg.warrants[0].start == 1767225600);
	assert_true(cfg.warrants[0].end == 1798761600);
	assert_string_equal(cfg.warrants[1].target_name, "unknownuser");
	assert_int_equal(cfg.warrants[1].lea, 1);
	assert_int_equal(cfg.warrants[1].mode, LT_TASK_IRI_ONLY);
	assert_true(cfg.warrants[1].start == INT64_MIN);
	assert_true(cfg.warrants[1].end == INT64_MAX);
	med_config_clear(&cfg);
}

static void test_example_config(void **state)
{
	(void)state;
	const char *src = getenv("LAWTAP_SOURCE_DIR");
	if (!src)
		skip();
	char path[1024];
	snprintf(path, sizeof path, "%s/mediation/mediator.example.yaml", src);
	struct med_config cfg;
	char err[512] = "";
	if (med_config_load_file(path, &cfg, err, sizeof err) != 0)
		fail_msg("example config refused: %s", err);
	assert_int_equal(cfg.nwarrants, 1);
	med_config_clear(&cfg);
}

/* The value checks config.c shares with the REST bodies (json_val.c). */
static void test_shared_checks(void **state)
{
	(void)state;
	assert_true(med_valid_country("NL"));
	assert_false(med_valid_country("nl"));
	assert_false(med_valid_country("NLD"));
	assert_false(med_valid_country(""));
	assert_true(med_valid_lea_id("lea-1_a.b"));
	assert_false(med_valid_lea_id(""));
	assert_false(med_valid_lea_id("lea 1"));
	assert_false(med_valid_lea_id("012345678901234567890123456789012")); /* 33 */
	assert_true(med_valid_hostport("127.0.0.1:9102", 0));
	assert_false(med_valid_hostport("127.0.0.1:0", 0));
	assert_true(med_valid_hostport("127.0.0.1:0", 1));
	assert_false(med_valid_hostport("nohostport", 1));
	assert_true(
	    med_valid_pin_hex("00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF"));
	assert_false(
	    med_valid_pin_hex("00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEF"));
	assert_false(
	    med_valid_pin_hex("00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFg"));
	assert_int_equal(med_check_ident("LIID-1", 25), 0);
	assert_int_equal(med_check_ident("", 25), MED_IDENT_LENGTH);
	assert_int_equal(med_check_ident("abcdefghijklmnopqrstuvwxyz", 25), MED_IDENT_LENGTH);
	assert_int_equal(med_check_ident("LIID 1", 25), MED_IDENT_CHARS);
	assert_true(med_valid_target_name("alice smith"));
	assert_false(med_valid_target_name(""));
	assert_false(med_valid_target_name("a\tb"));
	assert_int_equal(med_parse_ts_form("both"), MED_TS_BOTH);
	assert_int_equal(med_parse_ts_form("seconds"), -1);
	assert_int_equal(med_parse_mode("iri-only"), LT_TASK_IRI_ONLY);
	assert_int_equal(med_parse_mode("both"), -1);
	assert_int_equal(med_parse_ack_mode("window"), HO_ACK_WINDOW);
	assert_int_equal(med_parse_ack_mode("pdu-ack"), HO_ACK_PDU);
	assert_int_equal(med_parse_ack_mode("Window"), -1);
	int64_t t = 0;
	assert_int_equal(med_parse_time("2026-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 1767225600);
	assert_int_equal(med_parse_time("tomorrow", &t), -1);
	assert_true(med_parse_time("1969-12-31T23:59:59Z", &t) < 0);
	struct lt_target tg[3];
	char why[160];
	assert_int_equal(lt_target_parse("10.0.0.0/24", &tg[0], why, sizeof why), 0);
	assert_int_equal(lt_target_parse("10.0.1.7", &tg[1], why, sizeof why), 0);
	assert_int_equal(lt_target_parse("10.0.0.9", &tg[2], why, sizeof why), 0);
	assert_int_equal(med_targets_check(tg, 2, why, sizeof why), 0);
	assert_int_equal(med_targets_check(tg, 3, why, sizeof why), -1);
	assert_string_equal(why, "target 10.0.0.9 overlaps target 10.0.0.0/24");
	struct ho_lea_conf l;
	memset(&l, 0, sizeof l);
	med_lea_defaults(&l);
	assert_int_equal(l.ts_form, MED_TS_MICRO);
	assert_int_equal(l.keepalive_idle, 300);
	assert_int_equal(l.keepalive_timeout, 30);
	assert_int_equal(l.reconnect_max, 30);
	assert_int_equal(l.resend_window, 1000);
	assert_int_equal(l.ack_mode, HO_ACK_KEEPALIVE);
	assert_int_equal(l.ka_liid_len, 1);
	assert_int_equal(l.ka_liid[0], '-');
}

static void test_xid(void **state)
{
	(void)state;
	uint8_t a[16], b[16], c[16];
	med_xid_for("NL", "LIID-0001", 9, a);
	med_xid_for("NL", "LIID-0001", 9, b);
	med_xid_for("DE", "LIID-0001", 9, c);
	assert_memory_equal(a, b, 16);
	assert_memory_not_equal(a, c, 16);
	assert_int_equal(a[6] >> 4, 8);      /* version 8 */
	assert_int_equal(a[8] & 0xc0, 0x80); /* RFC 9562 variant */
}

static void test_cin(void **state)
{
	(void)state;
	char dir[] = "/tmp/test_med_cin.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char sub[64], err[256];
	snprintf(sub, sizeof sub, "%s/state", dir);
	uint32_t first = 0;
	assert_int_equal(med_cin_reserve(sub, 3, &first, err, sizeof err), 0);
	assert_int_equal(first, 1);
	assert_int_equal(med_cin_reserve(sub, 2, &first, err, sizeof err), 0);
	assert_int_equal(first, 4); /* a restart never reuses 1..3 */
	char path[128];
	snprintf(path, sizeof path, "%s/cin", sub);
	FILE *f = fopen(path, "w");
	fputs("garbage\n", f);
	fclose(f);
	assert_int_equal(med_cin_reserve(sub, 1, &first, err, sizeof err), -1);
	assert_non_null(strstr(err, "corrupt"));
	unlink(path);
	rmdir(sub);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_config),
	    cmocka_unit_test(test_bad_configs),
	    cmocka_unit_test(test_example_config),
	    cmocka_unit_test(test_shared_checks),
	    cmocka_unit_test(test_xid),
	    cmocka_unit_test(test_cin),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
