/* Unit tests for iap/targets.c (exact addresses, prefixes, v4/v6, many tasks, 10,000 targets,
 * direction rules, windows, sequence numbers, random tables checked against a brute-force
 * reference through both builds of the trie walk and through iap_targets_lookup +
 * iap_targets_match_lookup, the bench's 10,000-target mix) and the snapshot parser of
 * tasking_client.c. */
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

/* ---- randomized comparison with a brute-force reference ---- */
static uint64_t rng_state = 0x853c49e6748fea9bULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

/* 1 when addr lies in target g (same family, first g->prefix bits equal). */
static int covers(const struct lt_target *g, int family, const uint8_t *a)
{
	if (g->family != family)
		return 0;
	for (int i = 0; i < g->prefix; i++) {
		int bit = 7 - i % 8;
		if (((g->addr[i / 8] >> bit) & 1) != ((a[i / 8] >> bit) & 1))
			return 0;
	}
	return 1;
}

/* An address near one of the bases: a base with a few random bits flipped past a random depth. */
static void near_addr(const uint8_t bases[][16], size_t nb, int family, uint8_t *out)
{
	int bits = family == 4 ? 32 : 128;
	memset(out, 0, 16);
	memcpy(out, bases[rnd() % nb], family == 4 ? 4 : 16);
	int flips = (int)(rnd() % 3);
	for (int f = 0; f < flips; f++) {
		int pos = (int)(rnd() % (uint64_t)bits);
		out[pos / 8] ^= (uint8_t)(1u << (7 - pos % 8));
	}
}

static void random_round(int family, size_t ntasks, size_t per, int windows)
{
	enum { NB = 6 };
	uint8_t bases[NB][16];
	int bits = family == 4 ? 32 : 128;
	for (size_t i = 0; i < NB; i++) {
		memset(bases[i], 0, 16);
		for (int k = 0; k < (family == 4 ? 4 : 16); k++)
			bases[i][k] = (uint8_t)rnd();
		if (i > 0 && rnd() % 2) /* bases sharing a long common prefix */
			memcpy(bases[i], bases[i - 1], (size_t)(rnd() % (family == 4 ? 4 : 16)));
	}
	struct lt_task *tk = calloc(ntasks, sizeof *tk);
	for (size_t i = 0; i < ntasks; i++) {
		struct lt_task *t = &tk[i];
		t->xid[0] = 0x40;
		t->xid[13] = (uint8_t)family;
		t->xid[14] = (uint8_t)(i >> 8);
		t->xid[15] = (uint8_t)i;
		t->mode = LT_TASK_FULL;
		t->start = windows && rnd() % 3 == 0 ? (int64_t)(rnd() % 10) : OPEN_START;
		t->end = windows && rnd() % 3 == 0 ? (int64_t)(10 + rnd() % 10) : OPEN_END;
		t->ntargets = 1 + rnd() % per;
		t->targets = calloc(t->ntargets, sizeof *t->targets);
		for (size_t j = 0; j < t->ntargets; j++) {
			struct lt_target *g = &t->targets[j];
			/* Mostly the family under test, sometimes the other one. */
			g->family = rnd() % 8 ? family : 10 - family;
			int gb = g->family == 4 ? 32 : 128;
			uint8_t a[16];
			near_addr(bases, NB, g->family == family ? family : g->family, a);
			uint64_t r = rnd() % 10;
			g->prefix = r < 3   ? gb
			            : r < 8 ? (int)(rnd() % (uint64_t)(gb + 1))
			                    : (int)(gb - rnd() % 9);
			if (rnd() % 50 == 0)
				g->prefix = 0;
			memset(g->addr, 0, 16);
			for (int k = 0; k < g->prefix; k++)
				if ((a[k / 8] >> (7 - k % 8)) & 1)
					g->addr[k / 8] |= (uint8_t)(1u << (7 - k % 8));
		}
	}
	/* Keep a copy of the targets for the reference (the table takes the tasks). */
	struct lt_task *ref = calloc(ntasks, sizeof *ref);
	for (size_t i = 0; i < ntasks; i++) {
		ref[i] = tk[i];
		ref[i].targets = malloc(tk[i].ntargets * sizeof *tk[i].targets);
		memcpy(ref[i].targets, tk[i].targets, tk[i].ntargets * sizeof *tk[i].targets);
	}
	struct iap_targets *t = build(tk, ntasks);
	struct iap_match *m = calloc(ntasks, sizeof *m);
	for (int probe = 0; probe < (ntasks > 100 ? 600 : 3000); probe++) {
		uint8_t s[16], d[16];
		near_addr(bases, NB, family, s);
		near_addr(bases, NB, family, d);
		if (rnd() % 4 == 0) /* and some far away */
			for (int k = 0; k < bits / 8; k++)
				s[k] = (uint8_t)rnd();
		int64_t when = (int64_t)(rnd() % 25);
		/* Both builds of the trie walk (POPCNT when the CPU has it, and the portable one),
		 * and the pre-check's lookup reused for the match, give the reference's answer. */
		(void)iap_targets_use_popcnt(t, probe % 2);
		size_t n;
		if (probe % 3 == 0) {
			struct iap_lookup l;
			int hit = iap_targets_lookup(t, family, s, d, &l);
			n = iap_targets_match_lookup(t, &l, when, m);
			assert_true(hit || n == 0);
		} else {
			n = iap_targets_match(t, family, s, d, when, m);
		}
		size_t want = 0;
		int any = 0;
		for (size_t i = 0; i < ntasks; i++) {
			int to = 0, from = 0;
			for (size_t j = 0; j < ref[i].ntargets; j++) {
				to |= covers(&ref[i].targets[j], family, d);
				from |= covers(&ref[i].targets[j], family, s);
			}
			any |= to | from;
			int on = when >= ref[i].start && when < ref[i].end;
			int exp = !on || !(to || from) ? -1
			          : to                 ? LT_DIR_TO_TARGET
			                               : LT_DIR_FROM_TARGET;
			if (exp != -1)
				want++;
			assert_int_equal(dir_of(m, n, (uint32_t)i), exp);
		}
		assert_int_equal(n, want);
		assert_int_equal(iap_targets_any(t, family, s, d), any);
	}
	free(m);
	iap_targets_free(t);
	for (size_t i = 0; i < ntasks; i++)
		free(ref[i].targets);
	free(ref);
}

static void test_random_vs_reference(void **state)
{
	const char *seed = getenv("LAWTAP_SEED");
	if (seed)
		rng_state = strtoull(seed, NULL, 0) * 0x9e3779b97f4a7c15ULL + 1;
	for (int round = 0; round < 30; round++) {
		random_round(4, 1 + rnd() % 40, 1 + rnd() % 12, round % 2);
		random_round(6, 1 + rnd() % 40, 1 + rnd() % 12, round % 2);
	}
	/* Many tasks, many targets: 300 tasks of up to 60 targets. */
	random_round(4, 300, 60, 1);
	random_round(6, 300, 60, 1);
}

/* The bench's 10,000-target list (tests/bench/bench_gen.c: /32, /24, /128, /64): every target
 * and its neighbours, and memory well within the IAP's budget. */
static void test_bench_mix_10k(void **state)
{
	enum { N = 10000 };
	struct lt_task *tk = calloc(1, sizeof *tk);
	tk->xid[0] = 0x40;
	tk->mode = LT_TASK_FULL;
	tk->start = OPEN_START;
	tk->end = OPEN_END;
	tk->targets = calloc(N, sizeof *tk->targets);
	char text[64], err[128];
	for (int i = 0; i < N; i++) {
		if (i == 0)
			snprintf(text, sizeof text, "10.0.0.1");
		else if (i % 4 == 0)
			snprintf(text, sizeof text, "10.%d.%d.%d", 1 + i / 65536, (i / 256) % 256,
			         i % 256);
		else if (i % 4 == 1)
			snprintf(text, sizeof text, "10.%d.%d.0/24", 100 + (i / 256) % 100,
			         i % 256);
		else if (i % 4 == 2)
			snprintf(text, sizeof text, "2001:db8:%x::%x", i / 4096, i % 4096 + 1);
		else
			snprintf(text, sizeof text, "2001:db8:1%03x:%x::/64", (i / 65536) % 4096,
			         i % 65536);
		if (lt_target_parse(text, &tk->targets[tk->ntargets], err, sizeof err) != 0)
			fail_msg("%s: %s", text, err);
		tk->ntargets++;
	}
	struct lt_target *copy = malloc(N * sizeof *copy);
	memcpy(copy, tk->targets, N * sizeof *copy);
	struct iap_targets *t = build(tk, 1);
	assert_int_equal(iap_targets_nlengths(t, 4), 2);
	assert_int_equal(iap_targets_nlengths(t, 6), 2);
	assert_true(iap_targets_memory(t) < (4u << 20));
	struct iap_match m[1];
	uint8_t other[16];
	int fam;
	for (int i = 0; i < N; i++) {
		const struct lt_target *g = &copy[i];
		addr(g->family == 4 ? "192.0.2.1" : "2001:db9::1", &fam, other);
		assert_int_equal(iap_targets_match(t, g->family, other, g->addr, 0, m), 1);
		assert_int_equal(m[0].direction, LT_DIR_TO_TARGET);
		assert_int_equal(iap_targets_match(t, g->family, g->addr, other, 0, m), 1);
		assert_int_equal(m[0].direction, LT_DIR_FROM_TARGET);
		/* A neighbour: inside a /24 or /64 (last byte changed); next to a /32 or /128 in
		 * a part of the address space no target covers. */
		uint8_t a[16];
		memcpy(a, g->addr, 16);
		int full = g->prefix == (g->family == 4 ? 32 : 128);
		if (!full)
			a[g->family == 4 ? 3 : 15] ^= 0x80;
		else if (g->family == 4)
			a[2] = 200;
		else
			a[12] ^= 0x40;
		assert_int_equal(iap_targets_match(t, g->family, other, a, 0, m), !full);
	}
	addr("198.18.0.1", &fam, other);
	uint8_t d[16];
	addr("192.0.2.7", &fam, d);
	assert_int_equal(iap_targets_match(t, 4, other, d, 0, m), 0);
	free(copy);
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
	    cmocka_unit_test(test_random_vs_reference),
	    cmocka_unit_test(test_bench_mix_10k),
	    cmocka_unit_test(test_snapshot),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
