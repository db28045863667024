/* iap/targets.c: the task table of one snapshot and constant-time target matching.
 *
 * One open-addressing hash table per (family, prefix length) in use; an exact address is a
 * full-length prefix. Each slot maps a masked address to a run of task indices. A lookup masks
 * the packet's address once per length in use and probes that table: the cost depends on the
 * number of distinct prefix lengths (at most 33 + 129), never on the number of targets. */
#include "iap.h"

#include "lib/x2x3.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct slot {
	uint8_t key[16];
	uint32_t first, count; /* run in tasklist */
	uint8_t used;
};

struct ht {
	struct slot *slots;
	size_t mask; /* capacity - 1 (capacity a power of two, at least twice the keys) */
};

struct iap_targets {
	struct lt_task *tasks;
	size_t ntasks;
	uint32_t *seq;
	uint32_t *tasklist;
	struct ht v4[33], v6[129];
	uint8_t len4[33], len6[129]; /* prefix lengths in use, longest first */
	size_t nlen4, nlen6;
	uint32_t *mark; /* per task: epoch of the last packet that matched it */
	uint32_t epoch;
	uint64_t seed;
	uint32_t *xid_slots; /* XID hash: task index + 1, 0 = empty */
	size_t xid_mask;
};

struct entry {
	uint8_t family, prefix;
	uint8_t key[16];
	uint32_t task;
};

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint64_t hash_key(uint64_t seed, const uint8_t *k, size_t n)
{
	uint64_t h = seed;
	for (size_t i = 0; i < n; i += 8) {
		uint64_t w = 0;
		memcpy(&w, k + i, n - i < 8 ? n - i : 8);
		h = mix(h ^ w) + 0x9e3779b97f4a7c15ULL;
	}
	return mix(h ^ n);
}

static void mask_addr(const uint8_t *a, size_t alen, int prefix, uint8_t *out)
{
	memset(out, 0, 16);
	size_t full = (size_t)prefix / 8;
	memcpy(out, a, full < alen ? full : alen);
	if (prefix % 8 && full < alen)
		out[full] = (uint8_t)(a[full] & (0xff00 >> (prefix % 8)));
}

static int entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->prefix != y->prefix)
		return x->prefix > y->prefix ? -1 : 1; /* longest first */
	int c = memcmp(x->key, y->key, 16);
	if (c)
		return c;
	return x->task < y->task ? -1 : x->task > y->task;
}

static size_t pow2_at_least(size_t n)
{
	size_t c = 8;
	while (c < n)
		c *= 2;
	return c;
}

static const struct slot *ht_find(const struct iap_targets *t, const struct ht *h,
                                  const uint8_t *key, size_t klen)
{
	size_t i = (size_t)hash_key(t->seed, key, klen) & h->mask;
	for (;;) {
		const struct slot *s = &h->slots[i];
		if (!s->used)
			return NULL;
		if (memcmp(s->key, key, klen) == 0)
			return s;
		i = (i + 1) & h->mask;
	}
}

/* Builds the hash table for entries e[0..n) (one family and prefix, sorted). */
static int ht_build(struct iap_targets *t, struct ht *h, const struct entry *e, size_t n,
                    size_t *tl)
{
	size_t klen = e[0].family == 4 ? 4 : 16, keys = 0;
	for (size_t i = 0; i < n; i++)
		if (i == 0 || memcmp(e[i].key, e[i - 1].key, 16) != 0)
			keys++;
	size_t cap = pow2_at_least(keys * 2);
	h->slots = calloc(cap, sizeof *h->slots);
	if (!h->slots)
		return -1;
	h->mask = cap - 1;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && memcmp(e[j].key, e[i].key, 16) == 0)
			j++;
		size_t k = (size_t)hash_key(t->seed, e[i].key, klen) & h->mask;
		while (h->slots[k].used)
			k = (k + 1) & h->mask;
		struct slot *s = &h->slots[k];
		s->used = 1;
		memcpy(s->key, e[i].key, 16);
		s->first = (uint32_t)*tl;
		s->count = (uint32_t)(j - i);
		for (size_t m = i; m < j; m++)
			t->tasklist[(*tl)++] = e[m].task;
		i = j;
	}
	return 0;
}

static int build_xids(struct iap_targets *t, char *err, size_t errlen)
{
	size_t cap = pow2_at_least(t->ntasks * 2);
	t->xid_slots = calloc(cap, sizeof *t->xid_slots);
	if (!t->xid_slots) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	t->xid_mask = cap - 1;
	for (size_t i = 0; i < t->ntasks; i++) {
		size_t k = (size_t)hash_key(t->seed, t->tasks[i].xid, 16) & t->xid_mask;
		while (t->xid_slots[k]) {
			if (memcmp(t->tasks[t->xid_slots[k] - 1].xid, t->tasks[i].xid, 16) == 0) {
				char u[37];
				lt_uuid_format(t->tasks[i].xid, u);
				snprintf(err, errlen, "task %s appears twice in the snapshot", u);
				return -1;
			}
			k = (k + 1) & t->xid_mask;
		}
		t->xid_slots[k] = (uint32_t)i + 1;
	}
	return 0;
}

static long find_xid(const struct iap_targets *t, const uint8_t *xid)
{
	size_t k = (size_t)hash_key(t->seed, xid, 16) & t->xid_mask;
	while (t->xid_slots[k]) {
		if (memcmp(t->tasks[t->xid_slots[k] - 1].xid, xid, 16) == 0)
			return (long)t->xid_slots[k] - 1;
		k = (k + 1) & t->xid_mask;
	}
	return -1;
}

static int build_tables(struct iap_targets *t, char *err, size_t errlen)
{
	size_t n = 0;
	for (size_t i = 0; i < t->ntasks; i++)
		n += t->tasks[i].ntargets;
	struct entry *e = calloc(n ? n : 1, sizeof *e);
	t->tasklist = calloc(n ? n : 1, sizeof *t->tasklist);
	if (!e || !t->tasklist) {
		free(e);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t m = 0;
	for (size_t i = 0; i < t->ntasks; i++) {
		for (size_t j = 0; j < t->tasks[i].ntargets; j++) {
			const struct lt_target *g = &t->tasks[i].targets[j];
			int maxp = g->family == 4 ? 32 : 128;
			if ((g->family != 4 && g->family != 6) || g->prefix < 0 || g->prefix > maxp)
				continue;
			e[m].family = (uint8_t)g->family;
			e[m].prefix = (uint8_t)g->prefix;
			mask_addr(g->addr, g->family == 4 ? 4 : 16, g->prefix, e[m].key);
			e[m].task = (uint32_t)i;
			m++;
		}
	}
	qsort(e, m, sizeof *e, entry_cmp);
	size_t w = 0; /* drop duplicates of the same target within one task */
	for (size_t i = 0; i < m; i++)
		if (w == 0 || entry_cmp(&e[i], &e[w - 1]) != 0)
			e[w++] = e[i];
	size_t tl = 0;
	int rc = 0;
	for (size_t i = 0; i < w && rc == 0;) {
		size_t j = i;
		while (j < w && e[j].family == e[i].family && e[j].prefix == e[i].prefix)
			j++;
		if (e[i].family == 4) {
			t->len4[t->nlen4++] = e[i].prefix;
			rc = ht_build(t, &t->v4[e[i].prefix], e + i, j - i, &tl);
		} else {
			t->len6[t->nlen6++] = e[i].prefix;
			rc = ht_build(t, &t->v6[e[i].prefix], e + i, j - i, &tl);
		}
		i = j;
	}
	free(e);
	if (rc)
		snprintf(err, errlen, "out of memory");
	return rc;
}

struct iap_targets *iap_targets_new_take(struct lt_task *tasks, size_t ntasks, char *err,
                                         size_t errlen)
{
	struct iap_targets *t = calloc(1, sizeof *t);
	if (!t) {
		for (size_t i = 0; i < ntasks; i++)
			lt_task_clear(&tasks[i]);
		free(tasks);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->tasks = tasks;
	t->ntasks = ntasks;
	if (RAND_bytes((unsigned char *)&t->seed, sizeof t->seed) != 1)
		t->seed = 0x243f6a8885a308d3ULL ^ (uint64_t)(uintptr_t)t;
	t->seq = calloc(ntasks ? ntasks : 1, sizeof *t->seq);
	t->mark = calloc(ntasks ? ntasks : 1, sizeof *t->mark);
	if (!t->seq || !t->mark) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (build_xids(t, err, errlen) || build_tables(t, err, errlen))
		goto fail;
	return t;
fail:
	iap_targets_free(t);
	return NULL;
}

void iap_targets_free(struct iap_targets *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->ntasks; i++)
		lt_task_clear(&t->tasks[i]);
	free(t->tasks);
	for (int i = 0; i <= 32; i++)
		free(t->v4[i].slots);
	for (int i = 0; i <= 128; i++)
		free(t->v6[i].slots);
	free(t->tasklist);
	free(t->seq);
	free(t->mark);
	free(t->xid_slots);
	free(t);
}

size_t iap_targets_ntasks(const struct iap_targets *t)
{
	return t ? t->ntasks : 0;
}

const struct lt_task *iap_targets_task(const struct iap_targets *t, size_t i)
{
	return i < t->ntasks ? &t->tasks[i] : NULL;
}

size_t iap_targets_nlengths(const struct iap_targets *t, int family)
{
	return family == 4 ? t->nlen4 : t->nlen6;
}

static size_t probe(struct iap_targets *t, int family, const uint8_t *addr, int64_t when,
                    uint16_t dir, struct iap_match *out, size_t n)
{
	size_t alen = family == 4 ? 4 : 16;
	size_t nlen = family == 4 ? t->nlen4 : t->nlen6;
	const uint8_t *lens = family == 4 ? t->len4 : t->len6;
	for (size_t i = 0; i < nlen; i++) {
		uint8_t key[16];
		mask_addr(addr, alen, lens[i], key);
		const struct slot *s =
		    ht_find(t, family == 4 ? &t->v4[lens[i]] : &t->v6[lens[i]], key, alen);
		if (!s)
			continue;
		for (uint32_t k = 0; k < s->count; k++) {
			uint32_t ti = t->tasklist[s->first + k];
			const struct lt_task *task = &t->tasks[ti];
			if (t->mark[ti] == t->epoch || when < task->start || when >= task->end)
				continue;
			t->mark[ti] = t->epoch;
			out[n].task = ti;
			out[n].direction = dir;
			n++;
		}
	}
	return n;
}

size_t iap_targets_match(struct iap_targets *t, int family, const uint8_t *src, const uint8_t *dst,
                         int64_t when_sec, struct iap_match *out)
{
	if (!t || t->ntasks == 0 || (family != 4 && family != 6))
		return 0;
	if (++t->epoch == 0) { /* wrapped: forget old marks */
		memset(t->mark, 0, t->ntasks * sizeof *t->mark);
		t->epoch = 1;
	}
	/* Destination first: a packet between two targets of one task is "to target". */
	size_t n = probe(t, family, dst, when_sec, LT_DIR_TO_TARGET, out, 0);
	return probe(t, family, src, when_sec, LT_DIR_FROM_TARGET, out, n);
}

uint32_t iap_targets_next_seq(struct iap_targets *t, size_t i)
{
	return t->seq[i]++;
}

void iap_targets_inherit(struct iap_targets *t, const struct iap_targets *old)
{
	if (!old || old->ntasks == 0)
		return;
	for (size_t i = 0; i < t->ntasks; i++) {
		long k = find_xid(old, t->tasks[i].xid);
		if (k >= 0)
			t->seq[i] = old->seq[k];
	}
}

long iap_targets_find(const struct iap_targets *t, const uint8_t xid[16])
{
	if (!t || t->ntasks == 0)
		return -1;
	return find_xid(t, xid);
}

void iap_targets_set_seq(struct iap_targets *t, size_t i, uint32_t seq)
{
	if (i < t->ntasks)
		t->seq[i] = seq;
}
