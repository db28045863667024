/* Unit tests for ctl/ (lawtap-ctl): command line -> JSON bodies, time and path forms, target
 * edits, tables, error texts, the config file, usage errors of the whole program. No server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl/ctl.h"

#define NOW ((time_t)1795759200) /* 2026-11-27T06:00:00Z */

/* Compares a JSON value with the expected JSON text (member order ignored). */
static void json_eq(const json_t *got, const char *want)
{
	json_error_t je;
	json_t *w = json_loads(want, 0, &je);
	if (!w)
		fail_msg("bad expected JSON %s: %s", want, je.text);
	if (!json_equal((json_t *)got, w)) {
		char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
		char *e = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS);
		print_error("got  %s\nwant %s\n", g ? g : "(null)", e ? e : "(null)");
		free(g);
		free(e);
		json_decref(w);
		fail();
	}
	json_decref(w);
}

#define ARGS(...) ((char *[]){__VA_ARGS__, NULL})

static void test_lea_add(void **state)
{
	char err[256] = "";
	char **a = ARGS("--id", "lea1", "--country", "NL", "--hi2", "127.0.0.1:9102",
	                "--hi3=h:9103", "--timestamp", "both", "--keepalive-idle", "300",
	                "--keepalive-timeout", "30", "--tls-ca", "/etc/lawtap/lea1-ca.pem");
	json_t *j = ctl_build_lea(15, a, 0, err, sizeof err);
	if (!j)
		fail_msg("%s", err);
	json_eq(j,
	        "{\"id\":\"lea1\",\"country\":\"NL\",\"hi2\":\"127.0.0.1:9102\",\"hi3\":\"h:9103\","
	        "\"timestamp\":\"both\",\"keepalive_idle\":300,\"keepalive_timeout\":30,"
	        "\"tls\":{\"ca\":\"/etc/lawtap/lea1-ca.pem\"}}");
	json_decref(j);
}

static void lea_bad(int modify, int argc, char **argv, const char *msg)
{
	char err[256] = "";
	json_t *j = ctl_build_lea(argc, argv, modify, err, sizeof err);
	if (j) {
		json_decref(j);
		fail_msg("accepted (expected '%s')", msg);
	}
	if (!strstr(err, msg))
		fail_msg("error '%s' lacks '%s'", err, msg);
}

static void test_lea_refusals(void **state)
{
	lea_bad(0, 4, ARGS("--id", "x", "--country", "NL"), "needs --hi2");
	lea_bad(0, 1, ARGS("--bogus"), "unknown option --bogus");
	lea_bad(0, 1, ARGS("--id"), "--id needs a value");
	lea_bad(0, 2, ARGS("--keepalive-idle", "5s"), "whole number");
	lea_bad(0, 4, ARGS("--id", "a", "--id", "b"), "twice");
	lea_bad(0, 4, ARGS("--tls-ca", "a", "--tls-ca", "b"), "twice");
	lea_bad(0, 1, ARGS("stray"), "unexpected argument 'stray'");
	lea_bad(1, 0, ARGS(NULL), "nothing to change");
	lea_bad(1, 2, ARGS("--id", "x"), "cannot change");
	lea_bad(1, 3, ARGS("--operator-id", "x", "--no-operator-id"), "twice");
}

static void test_lea_modify(void **state)
{
	char err[256] = "";
	json_t *j = ctl_build_lea(3, ARGS("--hi3", "10.1.1.1:9103", "--no-operator-id"), 1, err,
	                          sizeof err);
	if (!j)
		fail_msg("%s", err);
	json_eq(j, "{\"hi3\":\"10.1.1.1:9103\",\"operator_id\":null}");
	json_decref(j);
}

static void test_warrant_add(void **state)
{
	char err[256] = "";
	char **a = ARGS("--liid", "LIID-1", "--country", "NL", "--lea", "lea1", "--lea", "lea2",
	                "--target", "10.0.0.1", "--target", "2001:db8::/64", "--mode", "full",
	                "--target-name", "alice", "--start", "now", "--end", "+1h", "--filter",
	                "port 6667", "--delivery-country", "BE");
	json_t *j = ctl_build_warrant_add(24, a, NOW, err, sizeof err);
	if (!j)
		fail_msg("%s", err);
	json_eq(j, "{\"liid\":\"LIID-1\",\"country\":\"NL\",\"leas\":[\"lea1\",\"lea2\"],"
	           "\"targets\":[\"10.0.0.1\",\"2001:db8::/64\"],\"mode\":\"full\","
	           "\"target_name\":\"alice\",\"start\":\"2026-11-27T06:00:00Z\","
	           "\"end\":\"2026-11-27T07:00:00Z\",\"filter\":\"port 6667\","
	           "\"delivery_country\":\"BE\"}");
	json_decref(j);

	/* no target, no mode: the server refuses those with its own message */
	j = ctl_build_warrant_add(4, ARGS("--liid", "L", "--country", "NL"), NOW, err, sizeof err);
	assert_non_null(j);
	json_eq(j, "{\"liid\":\"L\",\"country\":\"NL\"}");
	json_decref(j);

	assert_null(ctl_build_warrant_add(2, ARGS("--country", "NL"), NOW, err, sizeof err));
	assert_non_null(strstr(err, "needs --liid"));
	assert_null(ctl_build_warrant_add(6, ARGS("--liid", "L", "--country", "NL", "--end", "+3x"),
	                                  NOW, err, sizeof err));
	assert_non_null(strstr(err, "--end"));
	assert_null(ctl_build_warrant_add(
	    6, ARGS("--liid", "L", "--country", "NL", "--add-target", "10.0.0.1"), NOW, err,
	    sizeof err));
	assert_non_null(strstr(err, "unknown option --add-target"));
}

static void test_warrant_modify(void **state)
{
	char err[256] = "";
	json_t *add, *rem;
	json_t *j = ctl_build_warrant_modify(6,
	                                     ARGS("--add-target", "10.0.0.2", "--remove-target",
	                                          "10.0.0.1", "--end", "2026-12-01T00:00:00Z"),
	                                     NOW, &add, &rem, err, sizeof err);
	if (!j)
		fail_msg("%s", err);
	json_eq(j, "{\"end\":\"2026-12-01T00:00:00Z\"}");
	json_eq(add, "[\"10.0.0.2\"]");
	json_eq(rem, "[\"10.0.0.1\"]");
	json_t *cur = json_loads("[\"10.0.0.1\",\"10.0.0.3\"]", 0, NULL);
	json_t *t = ctl_targets_edit(cur, add, rem, err, sizeof err);
	if (!t)
		fail_msg("%s", err);
	json_eq(t, "[\"10.0.0.3\",\"10.0.0.2\"]");
	json_decref(t);
	/* removing what is not there, adding what is */
	assert_null(ctl_targets_edit(cur, NULL, add, err, sizeof err));
	assert_non_null(strstr(err, "10.0.0.2 is not in"));
	assert_null(ctl_targets_edit(cur, rem, NULL, err, sizeof err));
	assert_non_null(strstr(err, "10.0.0.1 is already in"));
	/* compared in canonical form */
	json_t *r32 = json_loads("[\"10.0.0.3/32\"]", 0, NULL);
	t = ctl_targets_edit(cur, NULL, r32, err, sizeof err);
	if (!t)
		fail_msg("%s", err);
	json_eq(t, "[\"10.0.0.1\"]");
	json_decref(t);
	assert_null(ctl_targets_edit(cur, r32, NULL, err, sizeof err));
	assert_non_null(strstr(err, "already in"));
	json_decref(r32);
	/* removing every target gives the empty set: the server must refuse it */
	t = ctl_targets_edit(cur, NULL, cur, err, sizeof err);
	assert_non_null(t);
	assert_int_equal(json_array_size(t), 0);
	json_decref(t);
	json_decref(cur);
	json_decref(j);
	json_decref(add);
	json_decref(rem);

	j = ctl_build_warrant_modify(4, ARGS("--target", "10.0.0.9", "--target", "10.0.0.8"), NOW,
	                             &add, &rem, err, sizeof err);
	assert_non_null(j);
	assert_null(add);
	assert_null(rem);
	json_eq(j, "{\"targets\":[\"10.0.0.9\",\"10.0.0.8\"]}");
	json_decref(j);

	j = ctl_build_warrant_modify(3, ARGS("--suspend", "--filter", "port 6667"), NOW, &add, &rem,
	                             err, sizeof err);
	assert_non_null(j);
	json_eq(j, "{\"state\":\"suspended\",\"filter\":\"port 6667\"}");
	json_decref(j);
	j = ctl_build_warrant_modify(2, ARGS("--resume", "--no-filter"), NOW, &add, &rem, err,
	                             sizeof err);
	assert_non_null(j);
	json_eq(j, "{\"state\":\"active\",\"filter\":null}");
	json_decref(j);

	assert_null(ctl_build_warrant_modify(2, ARGS("--suspend", "--resume"), NOW, &add, &rem, err,
	                                     sizeof err));
	assert_null(
	    ctl_build_warrant_modify(4, ARGS("--target", "10.0.0.1", "--add-target", "10.0.0.2"),
	                             NOW, &add, &rem, err, sizeof err));
	assert_non_null(strstr(err, "replaces the whole set"));
	assert_null(add);
	assert_null(rem);
	assert_null(ctl_build_warrant_modify(0, ARGS(NULL), NOW, &add, &rem, err, sizeof err));
	assert_non_null(strstr(err, "nothing to change"));
	assert_null(
	    ctl_build_warrant_modify(1, ARGS("--suspend=1"), NOW, &add, &rem, err, sizeof err));
	assert_non_null(strstr(err, "takes no value"));
}

static void test_time_and_path(void **state)
{
	char buf[64];
	assert_int_equal(ctl_time_arg("now", NOW, buf, sizeof buf), 0);
	assert_string_equal(buf, "2026-11-27T06:00:00Z");
	assert_int_equal(ctl_time_arg("+90", NOW, buf, sizeof buf), 0);
	assert_string_equal(buf, "2026-11-27T06:01:30Z");
	assert_int_equal(ctl_time_arg("+5m", NOW, buf, sizeof buf), 0);
	assert_string_equal(buf, "2026-11-27T06:05:00Z");
	assert_int_equal(ctl_time_arg("+2d", NOW, buf, sizeof buf), 0);
	assert_string_equal(buf, "2026-11-29T06:00:00Z");
	assert_int_equal(ctl_time_arg("2027-01-01T00:00:00Z", NOW, buf, sizeof buf), 0);
	assert_string_equal(buf, "2027-01-01T00:00:00Z");
	assert_int_equal(ctl_time_arg("+", NOW, buf, sizeof buf), -1);
	assert_int_equal(ctl_time_arg("+-1", NOW, buf, sizeof buf), -1);
	assert_int_equal(ctl_time_arg("+1y", NOW, buf, sizeof buf), -1);

	char p[256];
	assert_int_equal(ctl_warrant_path("NL/LIID-0001", p, sizeof p), 0);
	assert_string_equal(p, "/api/v1/warrants/NL/LIID-0001");
	assert_int_equal(ctl_warrant_path("NL/a b/c?%", p, sizeof p), 0);
	assert_string_equal(p, "/api/v1/warrants/NL/a%20b%2Fc%3F%25");
	assert_int_equal(ctl_warrant_path("NL", p, sizeof p), -1);
	assert_int_equal(ctl_warrant_path("/LIID", p, sizeof p), -1);
	assert_int_equal(ctl_warrant_path("NL/", p, sizeof p), -1);
	assert_int_equal(ctl_warrant_path("N?/x", p, sizeof p), -1);
}

/* Runs fn over the JSON text and returns what it printed (malloc'd). */
static char *printed(void (*fn)(FILE *, const json_t *), const char *text)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	fn(f, j);
	fclose(f);
	json_decref(j);
	return buf;
}

static void test_tables(void **state)
{
	char *s = printed(ctl_print_warrants,
	                  "{\"warrants\":[{\"liid\":\"LIID-0001\",\"country\":\"NL\","
	                  "\"leas\":[\"lea1\",\"lea2\"],\"targets\":[\"10.0.0.1\"],\"mode\":"
	                  "\"full\",\"start\":\"2026-11-27T06:00:00Z\",\"end\":null,"
	                  "\"filter\":null,\"state\":\"active\"},"
	                  "{\"liid\":\"L2\",\"country\":\"BE\",\"leas\":[],\"targets\":[],"
	                  "\"mode\":\"iri-only\",\"state\":\"pending\"}]}");
	assert_string_equal(s, "WARRANT       STATE    MODE      LEAS       TARGETS   START        "
	                       "         END  FILTER\n"
	                       "NL/LIID-0001  active   full      lea1,lea2  10.0.0.1  "
	                       "2026-11-27T06:00:00Z  -    -\n"
	                       "BE/L2         pending  iri-only  -          -         -         "
	                       "            -    -\n");
	free(s);

	/* a long target set is cut */
	s = printed(ctl_print_warrants,
	            "{\"warrants\":[{\"liid\":\"L\",\"country\":\"NL\",\"targets\":["
	            "\"10.0.0.1\",\"10.0.0.2\",\"10.0.0.3\",\"10.0.0.4\",\"10.0.0.5\","
	            "\"10.0.0.6\",\"10.0.0.7\"]}]}");
	assert_non_null(strstr(s, "10.0.0.1,10.0.0.2,10.0.0.3,10.0.0.4,10.0.0.5 +2 more"));
	free(s);

	s = printed(ctl_print_leas, "{\"leas\":[]}");
	assert_string_equal(s, "(none)\n");
	free(s);

	s = printed(ctl_print_leas,
	            "{\"leas\":[{\"id\":\"lea1\",\"country\":\"NL\",\"hi2\":\"127.0.0.1:9102\","
	            "\"hi3\":\"127.0.0.1:9103\",\"timestamp\":\"microseconds\","
	            "\"keepalive_idle\":300,\"keepalive_timeout\":30,"
	            "\"tls\":{\"ca\":null,\"pin_sha256\":null},\"ack_mode\":\"keepalive\","
	            "\"resend_window\":1000},"
	            "{\"id\":\"lea2\",\"country\":\"BE\",\"hi2\":\"127.0.0.1:9202\","
	            "\"hi3\":\"127.0.0.1:9203\",\"timestamp\":\"both\","
	            "\"keepalive_idle\":60,\"keepalive_timeout\":10,"
	            "\"tls\":{\"ca\":null,\"pin_sha256\":null},\"ack_mode\":\"window\","
	            "\"resend_window\":64}]}");
	assert_string_equal(s, "ID    COUNTRY  HI2             HI3             TIMESTAMP     "
	                       "KEEPALIVE  ACK        TLS\n"
	                       "lea1  NL       127.0.0.1:9102  127.0.0.1:9103  microseconds  "
	                       "300/30     keepalive  role\n"
	                       "lea2  BE       127.0.0.1:9202  127.0.0.1:9203  both          "
	                       "60/10      window/64  role\n");
	free(s);

	/* the TLS column: a CA, a pin, or both (both apply) */
	s = printed(
	    ctl_print_leas,
	    "{\"leas\":[{\"id\":\"a\",\"tls\":{\"ca\":\"/c.pem\",\"pin_sha256\":null}},"
	    "{\"id\":\"b\",\"tls\":{\"ca\":null,\"pin_sha256\":\"00112233445566778899\"}},"
	    "{\"id\":\"c\",\"tls\":{\"ca\":\"/c.pem\",\"pin_sha256\":\"00112233445566778899\"}}"
	    "]}");
	assert_non_null(strstr(s, "\na  "));
	assert_non_null(strstr(s, "ca /c.pem\n"));
	assert_non_null(strstr(s, "pin 001122334455...\n"));
	assert_non_null(strstr(s, "ca /c.pem + pin 001122334455...\n"));
	free(s);

	/* IAP table: known columns first, then whatever else the server sends */
	s = printed(ctl_print_iaps,
	            "{\"iaps\":[{\"zz\":1,\"acked_version\":1795760000001,\"id\":\"iap1\","
	            "\"connected\":true,\"task_version\":1795760000001,"
	            "\"ack_latency_ms\":3.25}]}");
	assert_string_equal(s,
	                    "ID    CONNECTED  TASK VERSION   ACKED VERSION  ACK LATENCY MS  ZZ\n"
	                    "iap1  yes        1795760000001  1795760000001  3.2             1\n");
	free(s);

	s = printed(ctl_print_audit,
	            "{\"entries\":[{\"seq\":1,\"time\":\"T\",\"who\":\"CN=admin\","
	            "\"action\":\"lea.add\",\"object\":\"lea1\",\"result\":\"ok\"}]}");
	assert_string_equal(s, "SEQ  TIME  WHO       ACTION   OBJECT  RESULT\n"
	                       "1    T     CN=admin  lea.add  lea1    ok\n");
	free(s);

	s = printed(ctl_print_object, "{\"id\":\"lea1\",\"keepalive_idle\":300,"
	                              "\"tls\":{\"ca\":\"/x.pem\"}}");
	assert_string_equal(s, "id:             lea1\n"
	                       "keepalive_idle: 300\n"
	                       "tls.ca:         /x.pem\n");
	free(s);

	s = printed(ctl_print_status,
	            "{\"mediator\":{\"uptime\":5},\"handovers\":[{\"lea\":\"lea1\","
	            "\"hi\":\"hi3\",\"state\":\"up\",\"queued\":0}],\"iaps\":[]}");
	assert_string_equal(s, "mediator:\n  uptime: 5\n\nhandovers:\n"
	                       "LEA   HI   STATE  QUEUED\nlea1  hi3  up     0\n\niaps:\n(none)\n");
	free(s);
}

static void test_verify_and_errors(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_t *j = json_loads("{\"ok\":false,\"entry\":7,\"error\":\"entry 7: hash does not match "
	                       "its contents\"}",
	                       0, NULL);
	assert_int_equal(ctl_print_verify(f, j), -1);
	json_decref(j);
	j = json_loads("{\"ok\":true,\"entries\":12}", 0, NULL);
	assert_int_equal(ctl_print_verify(f, j), 0);
	json_decref(j);
	fclose(f);
	assert_string_equal(buf, "audit trail FAILED: entry 7: hash does not match its contents\n"
	                         "audit trail ok: 12 entries verified\n");
	free(buf);

	char e[256];
	ctl_error_text(400,
	               "{\"error\": \"liid must be 1..25 octets, got 31\", \"field\": \"liid\"}", e,
	               sizeof e);
	assert_string_equal(e, "400: liid must be 1..25 octets, got 31 (field liid)");
	ctl_error_text(404, "{\"error\":\"no LEA lea9\"}", e, sizeof e);
	assert_string_equal(e, "404: no LEA lea9");
	ctl_error_text(502, "<html>Bad gateway</html>\nmore", e, sizeof e);
	assert_string_equal(e, "502: <html>Bad gateway</html>");
	ctl_error_text(500, "", e, sizeof e);
	assert_string_equal(e, "500: (no error message from the server)");
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_conf(void **state)
{
	char dir[] = "/tmp/test_ctl.XXXXXX", path[512], err[512];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/ctl.conf", dir);

	write_file(path, "# lawtap-ctl\n\nurl = https://127.0.0.1:9443\nca = pki/ca.pem\n"
	                 "  cert=\"/abs/admin.pem\"  \nkey = admin.key\ntimeout = 5\n");
	struct ctl_conf c = {0};
	if (ctl_conf_load(path, &c, err, sizeof err))
		fail_msg("%s", err);
	assert_string_equal(c.url, "https://127.0.0.1:9443");
	char want[600];
	snprintf(want, sizeof want, "%s/pki/ca.pem", dir);
	assert_string_equal(c.ca, want);
	assert_string_equal(c.cert, "/abs/admin.pem");
	snprintf(want, sizeof want, "%s/admin.key", dir);
	assert_string_equal(c.key, want);
	assert_int_equal(c.timeout, 5);
	assert_int_equal(ctl_conf_check(&c, err, sizeof err), 0);

	static const struct {
		const char *text, *msg;
	} bad[] = {
	    {"url = https://x\nurl = https://y\n", ":2: 'url' given twice"},
	    {"uri = https://x\n", ":1: unknown key 'uri'"},
	    {"url\n", ":1: expected 'key = value'"},
	    {"cert =\n", ":1: 'cert' has no value"},
	    {"timeout = 0\n", "timeout must be"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct ctl_conf b = {0};
		write_file(path, bad[i].text);
		assert_int_equal(ctl_conf_load(path, &b, err, sizeof err), -1);
		if (!strstr(err, bad[i].msg))
			fail_msg("'%s': error '%s' lacks '%s'", bad[i].text, err, bad[i].msg);
	}
	unlink(path);
	rmdir(dir);
	assert_int_equal(ctl_conf_load(path, &c, err, sizeof err), -1);
	assert_non_null(strstr(err, "No such file"));

	struct ctl_conf k = {.url = "http://127.0.0.1:9443", .cert = "a", .key = "b"};
	assert_int_equal(ctl_conf_check(&k, err, sizeof err), -1);
	assert_non_null(strstr(err, "https://"));
	snprintf(k.url, sizeof k.url, "https://h:1/api");
	assert_int_equal(ctl_conf_check(&k, err, sizeof err), -1);
	snprintf(k.url, sizeof k.url, "https://h:1/");
	assert_int_equal(ctl_conf_check(&k, err, sizeof err), 0);
	k.key[0] = 0;
	assert_int_equal(ctl_conf_check(&k, err, sizeof err), -1);
	assert_non_null(strstr(err, "admin certificate"));
}

/* Runs ctl_main and returns its exit code; its stderr in *msg (malloc'd). */
static int run(int argc, char **argv, char **msg)
{
	char *ob = NULL, *eb = NULL;
	size_t ol = 0, el = 0;
	FILE *o = open_memstream(&ob, &ol), *e = open_memstream(&eb, &el);
	int rc = ctl_main(argc, argv, o, e);
	fclose(o);
	fclose(e);
	free(ob);
	*msg = eb;
	return rc;
}

static void test_main_usage(void **state)
{
	char *m;
	setenv(CTL_CONFIG_ENV, "/nonexistent/ctl.conf", 1);
	assert_int_equal(run(0, ARGS(NULL), &m), CTL_EXIT_USAGE);
	free(m);
	assert_int_equal(run(2, ARGS("frob", "list"), &m), CTL_EXIT_USAGE);
	assert_non_null(strstr(m, "unknown object 'frob'"));
	free(m);
	assert_int_equal(run(2, ARGS("warrant", "show"), &m), CTL_EXIT_USAGE);
	assert_non_null(strstr(m, "COUNTRY/LIID"));
	free(m);
	assert_int_equal(run(3, ARGS("warrant", "show", "LIID"), &m), CTL_EXIT_USAGE);
	free(m);
	assert_int_equal(run(4, ARGS("lea", "add", "--id", "x"), &m), CTL_EXIT_USAGE);
	assert_non_null(strstr(m, "needs --country"));
	free(m);
	assert_int_equal(run(3, ARGS("lea", "list", "--url"), &m), CTL_EXIT_USAGE);
	assert_non_null(strstr(m, "--url needs a value"));
	free(m);
	/* a valid command with an unreadable config: exit 2, the file named */
	assert_int_equal(run(2, ARGS("lea", "list"), &m), CTL_EXIT_USAGE);
	assert_non_null(strstr(m, "/nonexistent/ctl.conf"));
	free(m);
	/* flags alone, but plain http: refused before any connection */
	assert_int_equal(run(9,
	                     ARGS("--config", "/dev/null", "--url", "http://127.0.0.1:1", "--cert",
	                          "a", "--key", "b", "status"),
	                     &m),
	                 CTL_EXIT_USAGE);
	assert_non_null(strstr(m, "https://"));
	free(m);
	unsetenv(CTL_CONFIG_ENV);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lea_add),        cmocka_unit_test(test_lea_refusals),
	    cmocka_unit_test(test_lea_modify),     cmocka_unit_test(test_warrant_add),
	    cmocka_unit_test(test_warrant_modify), cmocka_unit_test(test_time_and_path),
	    cmocka_unit_test(test_tables),         cmocka_unit_test(test_verify_and_errors),
	    cmocka_unit_test(test_conf),           cmocka_unit_test(test_main_usage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
