/* tests/unit/test_targets_check.c: med_targets_check (mediation/config.c), the overlap check of
 * a warrant's targets shared by the config file and the REST API. It sorts the targets and
 * compares neighbours; these tests hold it against the plain pairwise check on seeded random
 * lists (nested and disjoint prefixes of both families), and check the 10,000-target bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mediation/mediation.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* A target with host bits zero (lib/tasking.h), from a small address space so that random
 * lists overlap often. */
static void make_target(struct lt_target *t, int family)
{
	memset(t, 0, sizeof *t);
	t->family = family;
	int bits = family == 4 ? 32 : 128;
	int nbytes = bits / 8;
	t->addr[0] = family == 4 ? 10 : 0x20;
	t->addr[1] = (uint8_t)(rnd() % 3);
	t->addr[nbytes - 1] = (uint8_t)(rnd() % 4);
	t->addr[nbytes - 2] = (uint8_t)(rnd() % 2);
	static const int v4[] = {8, 16, 24, 30, 32}, v6[] = {16, 64, 112, 120, 128};
	t->prefix = family == 4 ? v4[rnd() % 5] : v6[rnd() % 5];
	for (int b = t->prefix; b < bits; b++)
		t->addr[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
}

static int overlap_ref(const struct lt_target *a, const struct lt_target *b)
{
	if (a->family != b->family)
		return 0;
	int p = a->prefix < b->prefix ? a->prefix : b->prefix;
	for (int bit = 0; bit < p; bit++) {
		int x = (a->addr[bit / 8] >> (7 - bit % 8)) & 1;
		int y = (b->addr[bit / 8] >> (7 - bit % 8)) & 1;
		if (x != y)
			return 0;
	}
	return 1;
}

static int any_overlap_ref(const struct lt_target *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < i; k++)
			if (overlap_ref(&t[i], &t[k]))
				return 1;
	return 0;
}

static void test_random_lists(void **state)
{
	(void)state;
	struct lt_target t[12];
	char why[256];
	int with = 0, without = 0;
	for (int round = 0; round < 20000; round++) {
		size_t n = 1 + rnd() % 12;
		for (size_t i = 0; i < n; i++)
			make_target(&t[i], rnd() % 2 ? 4 : 6);
		int ref = any_overlap_ref(t, n);
		why[0] = '\0';
		int rc = med_targets_check(t, n, why, sizeof why);
		assert_int_equal(rc, ref ? -1 : 0);
		if (ref) {
			with++;
			assert_non_null(strstr(why, " overlaps target "));
		} else {
			without++;
		}
	}
	/* both outcomes were exercised many times */
	assert_true(with > 1000 && without > 1000);
}

/* The message names the later target first, as the pairwise check did. */
static void test_message(void **state)
{
	(void)state;
	struct lt_target t[3];
	memset(t, 0, sizeof t);
	t[0].family = t[1].family = t[2].family = 4;
	t[0].addr[0] = 192, t[0].addr[1] = 0, t[0].addr[2] = 2, t[0].prefix = 24;
	t[1].addr[0] = 198, t[1].addr[1] = 51, t[1].addr[2] = 100, t[1].addr[3] = 7,
	t[1].prefix = 32;
	t[2].addr[0] = 192, t[2].addr[1] = 0, t[2].addr[2] = 2, t[2].addr[3] = 9, t[2].prefix = 32;
	char why[256];
	assert_int_equal(med_targets_check(t, 3, why, sizeof why), -1);
	assert_string_equal(why, "target 192.0.2.9 overlaps target 192.0.2.0/24");
	/* the same target twice overlaps itself */
	t[2] = t[1];
	assert_int_equal(med_targets_check(t, 3, why, sizeof why), -1);
	assert_string_equal(why, "target 198.51.100.7 overlaps target 198.51.100.7");
}

/* 10,000 disjoint targets (the tasking limit) pass; one more is refused; an overlap hidden
 * among them is found. */
static void test_bound(void **state)
{
	(void)state;
	size_t n = MED_TARGETS_CHECK_MAX;
	assert_int_equal(n, 10000);
	struct lt_target *t = calloc(n + 1, sizeof *t);
	assert_non_null(t);
	for (size_t i = 0; i < n + 1; i++) {
		t[i].family = i % 2 ? 6 : 4;
		if (t[i].family == 4) {
			t[i].addr[0] = 10;
			t[i].addr[1] = (uint8_t)(i >> 8);
			t[i].addr[2] = (uint8_t)i;
			t[i].prefix = 24;
		} else {
			t[i].addr[0] = 0x20;
			t[i].addr[1] = 0x01;
			t[i].addr[6] = (uint8_t)(i >> 8);
			t[i].addr[7] = (uint8_t)i;
			t[i].prefix = 64;
		}
	}
	char why[256];
	assert_int_equal(med_targets_check(t, n, why, sizeof why), 0);
	assert_int_equal(med_targets_check(t, n + 1, why, sizeof why), -1);
	assert_string_equal(why, "at most 10000 targets per warrant");
	/* the last one becomes 10.0.78.16, inside target 78 (10.0.78.0/24) */
	t[n - 1].family = 4;
	memset(t[n - 1].addr, 0, sizeof t[n - 1].addr);
	t[n - 1].addr[0] = 10, t[n - 1].addr[1] = 0, t[n - 1].addr[2] = 78, t[n - 1].addr[3] = 16;
	t[n - 1].prefix = 32;
	assert_int_equal(med_targets_check(t, n, why, sizeof why), -1);
	assert_string_equal(why, "target 10.0.78.16 overlaps target 10.0.78.0/24");
	free(t);
}

int main(void)
{
	const char *seed = getenv("LAWTAP_SEED");
	if (seed && *seed)
		rng_state = strtoull(seed, NULL, 0) | 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_lists),
	    cmocka_unit_test(test_message),
	    cmocka_unit_test(test_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
