/* Unit tests for lib/conf.c: YAML tree, paths, lines, limits, refusals, typed getters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/conf.h"

static const char doc[] = "mediator:\n"                              /* 1 */
                          "  x2x3_listen: 127.0.0.1:9000\n"          /* 2 */
                          "  drain_timeout: 30\n"                    /* 3 */
                          "  tls: { ca: ca.pem, cert: m.pem }\n"     /* 4 */
                          "leas:\n"                                  /* 5 */
                          "  - id: lea1\n"                           /* 6 */
                          "    hi3: 127.0.0.1\n"                     /* 7 */
                          "    keepalive_idle: -5\n"                 /* 8 */
                          "    empty:\n"                             /* 9 */
                          "  - id: \"lea 2\"\n"                      /* 10 */
                          "    hi4: x\n"                             /* 11 */
                          "warrants:\n"                              /* 12 */
                          "  - targets: [10.0.0.1, 2001:db8::/64]\n" /* 13 */
                          "    nested: [[a, b], {k: v}]\n";          /* 14 */

static struct lt_conf_node *load(const char *text)
{
	char err[256];
	struct lt_conf_node *r = lt_conf_load_mem("t.yaml", text, strlen(text), err, sizeof err);
	if (!r)
		fail_msg("load: %s", err);
	return r;
}

static void load_bad(const char *text, size_t len, const char *want)
{
	char err[256] = "";
	struct lt_conf_node *r = lt_conf_load_mem("t.yaml", text, len, err, sizeof err);
	if (r) {
		lt_conf_free(r);
		fail_msg("accepted: %s", text);
	}
	if (!strstr(err, want))
		fail_msg("got \"%s\", want \"%s\"", err, want);
}

#define LOAD_BAD(text, want) load_bad(text, sizeof(text) - 1, want)

static void test_tree(void **state)
{
	struct lt_conf_node *root = load(doc);
	assert_int_equal(lt_conf_kind(root), LT_CONF_MAP);
	assert_string_equal(lt_conf_path(root), "");
	assert_string_equal(lt_conf_doc_name(root), "t.yaml");
	assert_int_equal(lt_conf_len(root), 3);
	assert_string_equal(lt_conf_key_at(root, 0), "mediator");
	assert_string_equal(lt_conf_key_at(root, 2), "warrants");
	assert_null(lt_conf_key_at(root, 3));
	assert_null(lt_conf_value_at(root, 3));
	assert_null(lt_conf_at(root, 0)); /* not a sequence */

	const struct lt_conf_node *m = lt_conf_get(root, "mediator");
	assert_ptr_equal(m, lt_conf_value_at(root, 0));
	const struct lt_conf_node *l = lt_conf_get(m, "x2x3_listen");
	assert_string_equal(lt_conf_str(l), "127.0.0.1:9000");
	assert_string_equal(lt_conf_path(l), "mediator.x2x3_listen");
	assert_int_equal(lt_conf_line(l), 2);
	assert_string_equal(lt_conf_doc_name(l), "t.yaml");
	assert_int_equal(lt_conf_len(l), 0);
	assert_null(lt_conf_get(l, "x"));
	const struct lt_conf_node *tls = lt_conf_get(m, "tls");
	assert_int_equal(lt_conf_kind(tls), LT_CONF_MAP);
	assert_string_equal(lt_conf_path(lt_conf_get(tls, "cert")), "mediator.tls.cert");
	assert_int_equal(lt_conf_line(lt_conf_get(tls, "cert")), 4);
	assert_null(lt_conf_str(tls));

	const struct lt_conf_node *leas = lt_conf_get(root, "leas");
	assert_int_equal(lt_conf_kind(leas), LT_CONF_SEQ);
	assert_int_equal(lt_conf_len(leas), 2);
	assert_null(lt_conf_at(leas, 2));
	assert_null(lt_conf_key_at(leas, 0));
	const struct lt_conf_node *l0 = lt_conf_at(leas, 0);
	assert_string_equal(lt_conf_path(l0), "leas[0]");
	assert_string_equal(lt_conf_path(lt_conf_get(l0, "hi3")), "leas[0].hi3");
	assert_int_equal(lt_conf_line(lt_conf_get(l0, "hi3")), 7);
	assert_string_equal(lt_conf_str(lt_conf_get(l0, "empty")), "");
	assert_string_equal(lt_conf_str(lt_conf_get(lt_conf_at(leas, 1), "id")), "lea 2");

	const struct lt_conf_node *w = lt_conf_at(lt_conf_get(root, "warrants"), 0);
	const struct lt_conf_node *tg = lt_conf_get(w, "targets");
	assert_int_equal(lt_conf_len(tg), 2);
	assert_string_equal(lt_conf_str(lt_conf_at(tg, 1)), "2001:db8::/64");
	assert_string_equal(lt_conf_path(lt_conf_at(tg, 1)), "warrants[0].targets[1]");
	const struct lt_conf_node *ne = lt_conf_get(w, "nested");
	assert_string_equal(lt_conf_path(lt_conf_at(lt_conf_at(ne, 0), 1)),
	                    "warrants[0].nested[0][1]");
	assert_string_equal(lt_conf_path(lt_conf_get(lt_conf_at(ne, 1), "k")),
	                    "warrants[0].nested[1].k");
	assert_int_equal(lt_conf_line(lt_conf_at(ne, 1)), 14);

	/* NULL-tolerant accessors */
	assert_null(lt_conf_get(NULL, "x"));
	assert_null(lt_conf_get(root, NULL));
	assert_int_equal(lt_conf_len(NULL), 0);
	assert_null(lt_conf_str(NULL));
	assert_string_equal(lt_conf_path(NULL), "");
	assert_int_equal(lt_conf_line(NULL), 0);
	lt_conf_free(root);
	lt_conf_free(NULL);
}

static void test_getters(void **state)
{
	struct lt_conf_node *root = load(doc);
	char err[256];
	const char *s = "untouched";
	int64_t v = 77;
	const struct lt_conf_node *m = lt_conf_get(root, "mediator");
	const struct lt_conf_node *l0 = lt_conf_at(lt_conf_get(root, "leas"), 0);
	const struct lt_conf_node *l1 = lt_conf_at(lt_conf_get(root, "leas"), 1);

	assert_int_equal(lt_conf_req_str(m, "x2x3_listen", &s, err, sizeof err), 0);
	assert_string_equal(s, "127.0.0.1:9000");
	assert_int_equal(lt_conf_req_str(l0, "hi2", &s, err, sizeof err), -1);
	assert_string_equal(err, "t.yaml:6: leas[0].hi2: missing");
	assert_int_equal(lt_conf_req_str(root, "nope", &s, err, sizeof err), -1);
	assert_string_equal(err, "t.yaml:1: nope: missing");
	assert_int_equal(lt_conf_req_str(m, "tls", &s, err, sizeof err), -1);
	assert_string_equal(err, "t.yaml:4: mediator.tls: expected a string, got a mapping");
	assert_int_equal(lt_conf_req_str(root, "leas", &s, err, sizeof err), -1);
	assert_string_equal(err, "t.yaml:6: leas: expected a string, got a sequence");
	assert_int_equal(lt_conf_req_str(l0, "empty", &s, err, sizeof err), -1);
	assert_string_equal(err, "t.yaml:9: leas[0].empty: empty value");
	assert_int_equal(lt_conf_req_str(lt_conf_get(m, "x2x3_listen"), "a", &s, err, sizeof err),
	                 -1);
	assert_string_equal(err, "t.yaml:2: mediator.x2x3_listen: expected a mapping");
	assert_int_equal(lt_conf_req_str(lt_conf_get(root, "leas"), "a", &s, err, sizeof err), -1);

	s = "untouched";
	assert_int_equal(lt_conf_opt_str(l0, "hi2", &s, err, sizeof err), 1);
	assert_string_equal(s, "untouched");
	assert_int_equal(lt_conf_opt_str(l0, "hi3", &s, err, sizeof err), 0);
	assert_string_equal(s, "127.0.0.1");
	assert_int_equal(lt_conf_opt_str(l0, "empty", &s, err, sizeof err), -1);

	assert_int_equal(lt_conf_opt_int(m, "drain_timeout", 0, 3600, &v, err, sizeof err), 0);
	assert_int_equal(v, 30);
	assert_int_equal(lt_conf_opt_int(m, "drain_timeout", 0, 29, &v, err, sizeof err), -1);
	assert_string_equal(err,
	                    "t.yaml:3: mediator.drain_timeout: expected an integer in 0..29, got "
	                    "\"30\"");
	assert_int_equal(lt_conf_opt_int(m, "drain_timeout", 31, 40, &v, err, sizeof err), -1);
	assert_int_equal(lt_conf_opt_int(m, "absent", 0, 10, &v, err, sizeof err), 1);
	assert_int_equal(lt_conf_opt_int(l0, "keepalive_idle", -5, 0, &v, err, sizeof err), 0);
	assert_int_equal(v, -5);
	assert_int_equal(lt_conf_opt_int(l0, "keepalive_idle", -4, 0, &v, err, sizeof err), -1);
	assert_int_equal(lt_conf_opt_int(m, "x2x3_listen", 0, 10, &v, err, sizeof err), -1);
	assert_int_equal(lt_conf_opt_int(m, "tls", 0, 10, &v, err, sizeof err), -1);
	assert_int_equal(lt_conf_opt_int(l0, "empty", 0, 10, &v, err, sizeof err), -1);

	static const char *const bad_ints[] = {"+1",
	                                       "01",
	                                       "-0",
	                                       "0x10",
	                                       "1e3",
	                                       " 1",
	                                       "1 ",
	                                       "1.0",
	                                       "--1",
	                                       "-",
	                                       "9223372036854775808",
	                                       "99999999999999999999"};
	for (size_t i = 0; i < sizeof bad_ints / sizeof bad_ints[0]; i++) {
		char text[64];
		snprintf(text, sizeof text, "n: '%s'\n", bad_ints[i]);
		struct lt_conf_node *r = load(text);
		if (lt_conf_opt_int(r, "n", INT64_MIN, INT64_MAX, &v, err, sizeof err) != -1)
			fail_msg("accepted %s", bad_ints[i]);
		lt_conf_free(r);
	}
	struct lt_conf_node *r = load("a: 9223372036854775807\nb: -9223372036854775808\nc: 0\n");
	assert_int_equal(lt_conf_opt_int(r, "a", INT64_MIN, INT64_MAX, &v, err, sizeof err), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(lt_conf_opt_int(r, "b", INT64_MIN, INT64_MAX, &v, err, sizeof err), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(lt_conf_opt_int(r, "c", 0, 0, &v, err, sizeof err), 0);
	assert_true(v == 0);
	lt_conf_free(r);

	static const char *const allowed[] = {"id", "hi3", "keepalive_idle", "empty", NULL};
	assert_int_equal(lt_conf_check_keys(l0, allowed, err, sizeof err), 0);
	assert_int_equal(lt_conf_check_keys(l1, allowed, err, sizeof err), -1);
	assert_string_equal(err, "t.yaml:11: leas[1].hi4: unknown key");
	static const char *const none[] = {NULL};
	assert_int_equal(lt_conf_check_keys(root, none, err, sizeof err), -1);
	assert_string_equal(err, "t.yaml:1: mediator: unknown key");
	assert_int_equal(lt_conf_check_keys(lt_conf_get(root, "leas"), allowed, err, sizeof err),
	                 -1);
	assert_string_equal(err, "t.yaml:6: leas: expected a mapping");
	assert_int_equal(lt_conf_check_keys(NULL, allowed, err, sizeof err), -1);
	/* err may be NULL */
	assert_int_equal(lt_conf_req_str(l0, "hi2", &s, NULL, 0), -1);
	lt_conf_free(root);
}

static void test_refusals(void **state)
{
	LOAD_BAD("a: &x 1\nb: *x\n", "t.yaml:1: a: anchors and aliases are not supported");
	LOAD_BAD("a: 1\nb: *x\n", "t.yaml:2:"); /* undefined alias: libyaml or us */
	LOAD_BAD("a: !!str 1\n", "t.yaml:1: a: explicit tags are not supported");
	LOAD_BAD("a: !custom {x: 1}\n", "explicit tags are not supported");
	LOAD_BAD("a: 1\n---\nb: 2\n", "t.yaml:2: (root): more than one YAML document");
	LOAD_BAD("a: 1\na: 2\n", "t.yaml:2: a: duplicate key");
	LOAD_BAD("l:\n  - {x: 1, x: 2}\n", "t.yaml:2: l[0].x: duplicate key");
	LOAD_BAD("? [a]\n: 1\n", "t.yaml:1: (key): a key must be a plain scalar");
	LOAD_BAD("? {a: 1}\n: 1\n", "a key must be a plain scalar");
	LOAD_BAD("", "t.yaml:1: (root): empty configuration");
	LOAD_BAD("# only a comment\n", "empty configuration");
	LOAD_BAD("a: [1, 2\n", "t.yaml:2:");
	LOAD_BAD("a: b: c\n", "t.yaml:1:");
	LOAD_BAD("a: \"x\\0y\"\n", "t.yaml:1: a: NUL character in a scalar");
	LOAD_BAD("a: 1\0b: 2\n", "t.yaml:1:");
	LOAD_BAD("a: \xff\xfe\n", "t.yaml:");
	LOAD_BAD("\t- a\n", "t.yaml:");

	/* no name */
	char err[128];
	assert_null(lt_conf_load_mem(NULL, "", 0, err, sizeof err));
	assert_string_equal(err, "(memory):1: (root): empty configuration");
	assert_null(lt_conf_load_mem("x", NULL, 0, NULL, 0));
}

static void test_limits(void **state)
{
	char err[256];
	/* depth: 32 nested containers accepted, 33 refused */
	char d[256];
	for (int depth = 31; depth <= 33; depth++) {
		memset(d, '[', (size_t)depth);
		memset(d + depth, ']', (size_t)depth);
		d[2 * depth] = '\0';
		struct lt_conf_node *r = lt_conf_load_mem("d", d, strlen(d), err, sizeof err);
		if (depth <= LT_CONF_MAX_DEPTH) {
			assert_non_null(r);
		} else {
			assert_null(r);
			assert_non_null(strstr(err, "nesting too deep"));
		}
		lt_conf_free(r);
	}
	/* block style nesting */
	char blk[4096];
	size_t o = 0;
	for (int i = 0; i < 33; i++)
		o += (size_t)snprintf(blk + o, sizeof blk - o, "%*sk%d:\n", 2 * i, "", i);
	o += (size_t)snprintf(blk + o, sizeof blk - o, "%*sleaf: 1\n", 66, "");
	assert_null(lt_conf_load_mem("b", blk, o, err, sizeof err));
	assert_non_null(strstr(err, "nesting too deep"));
	assert_non_null(strstr(err, "k0.k1.k2"));

	/* size */
	size_t big = LT_CONF_MAX_BYTES + 1;
	char *b = malloc(big);
	assert_non_null(b);
	memset(b, ' ', big);
	b[0] = 'a';
	b[1] = ':';
	assert_null(lt_conf_load_mem("big", b, big, err, sizeof err));
	assert_string_equal(err, "big: larger than 1048576 bytes");
	/* node count: a flow sequence of LT_CONF_MAX_NODES scalars + the root is one too many */
	size_t n = 0;
	b[n++] = '[';
	for (int i = 0; i < LT_CONF_MAX_NODES; i++) {
		b[n++] = '1';
		b[n++] = ',';
	}
	b[n - 1] = ']';
	assert_null(lt_conf_load_mem("many", b, n, err, sizeof err));
	assert_non_null(strstr(err, "too many nodes"));
	/* exactly LT_CONF_MAX_NODES nodes */
	n -= 2;
	b[n - 1] = ']';
	struct lt_conf_node *r = lt_conf_load_mem("many", b, n, err, sizeof err);
	assert_non_null(r);
	assert_int_equal(lt_conf_len(r), LT_CONF_MAX_NODES - 1);
	lt_conf_free(r);
	free(b);
}

static void test_file(void **state)
{
	char path[] = "/tmp/lawtap_test_conf_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char text[] = "a:\n  b: [x, y]\n";
	assert_int_equal(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
	close(fd);
	char err[256];
	struct lt_conf_node *r = lt_conf_load_file(path, err, sizeof err);
	assert_non_null(r);
	assert_string_equal(lt_conf_doc_name(lt_conf_at(lt_conf_get(lt_conf_get(r, "a"), "b"), 1)),
	                    path);
	lt_conf_free(r);
	/* file errors carry the file name */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "a:\n  - 1\n  b: 2\n", 16), 16);
	close(fd);
	assert_null(lt_conf_load_file(path, err, sizeof err));
	assert_int_equal(strncmp(err, path, strlen(path)), 0);
	unlink(path);
	assert_null(lt_conf_load_file(path, err, sizeof err));
	assert_non_null(strstr(err, "No such file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tree),     cmocka_unit_test(test_getters),
	    cmocka_unit_test(test_refusals), cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
