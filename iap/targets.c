/* iap/targets.c: the task table of one snapshot and constant-time target matching.
 *
 * Every (family, prefix, address) target of the snapshot is a "group" holding the tasks that
 * name it. A packet address matches the union of the tasks of every group covering it (any
 * prefix length, not only the longest). That union is precomputed: a leaf-pushed multibit trie
 * per family maps each address range to an interned "set" of tasks whose targets cover all of
 * it. The trie reads the first 16 bits of the address from a direct table (65,536 entries),
 * then 8 bits per level from compressed nodes (a 256-bit run bitmap and popcount ranks into an
 * entry array), so a lookup costs one table read for an address under no target longer than
 * /16 and one more read per 8 bits only while the address still shares a longer target's
 * prefix. The cost depends neither on the number of targets nor on the number of prefix
 * lengths in use. Memory: the two direct tables (256 KiB each, touched only where targets
 * are) plus at most one node (about 60 bytes) per target per 8 bits beyond /16. */
#include "iap.h"

#include "lib/x2x3.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROOT_BITS 16
#define ROOT_SIZE (1u << ROOT_BITS)
#define CHILD 0x80000000u /* trie entry: a node index, else a set id (0 = no task) */

struct cnode {
	uint64_t bits[4]; /* bit v: slot v starts a run of equal entries (bit 0 always set) */
	uint16_t pre[4];  /* runs before word w */
	uint32_t base;    /* first entry of the node in ent */
};

struct trie {
	uint32_t *root; /* ROOT_SIZE entries */
	int alen;       /* 4 or 16 */
};

struct run {
	uint32_t first, count;
};

struct iap_targets {
	struct lt_task *tasks;
	size_t ntasks;
	uint32_t *seq;
	struct trie v4, v6;
	struct cnode *nodes;
	size_t nnodes, capnodes;
	uint32_t *ent;
	size_t nent, capent;
	struct run *sets; /* set id -> run in stasks (set 0: empty) */
	size_t nsets, capsets;
	uint32_t *stasks;
	size_t nstasks, capstasks;
	uint32_t *set_slots; /* interning hash: set id + 1, 0 = empty */
	size_t set_mask;
	size_t nlen4, nlen6; /* distinct prefix lengths in use (informational) */
	uint32_t *mark;      /* per task: epoch of the last packet that matched it */
	uint32_t epoch;
	uint64_t seed;
	uint32_t *xid_slots; /* XID hash: task index + 1, 0 = empty */
	size_t xid_mask;
	int popcnt; /* the CPU has POPCNT: lookups use lookup_pair_popcnt */
};

/* A distinct target: family, prefix, masked address, and the tasks naming it. */
struct group {
	uint8_t family, prefix;
	uint8_t key[16];
	uint32_t first, count; /* run in gtasks */
};

struct entry {
	uint8_t family, prefix;
	uint8_t key[16];
	uint32_t task;
};

struct builder {
	struct iap_targets *t;
	const struct group *g;
	const uint32_t *gtasks;
	uint32_t *tmp; /* merge scratch: ntasks entries */
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
	int c = memcmp(x->key, y->key, 16);
	if (c)
		return c;
	if (x->prefix != y->prefix)
		return x->prefix < y->prefix ? -1 : 1;
	return x->task < y->task ? -1 : x->task > y->task;
}

static size_t pow2_at_least(size_t n)
{
	size_t c = 8;
	while (c < n)
		c *= 2;
	return c;
}

/* Grows *p (element size sz) to hold at least need elements. 0 or -1. */
static int grow(void **p, size_t *cap, size_t need, size_t sz)
{
	if (need <= *cap)
		return 0;
	size_t c = *cap ? *cap : 64;
	while (c < need)
		c *= 2;
	void *n = realloc(*p, c * sz);
	if (!n)
		return -1;
	*p = n;
	*cap = c;
	return 0;
}

/* ---- interned task sets ---- */
static uint64_t set_hash(const uint32_t *v, size_t n)
{
	uint64_t h = 0x6a09e667f3bcc908ULL ^ n;
	for (size_t i = 0; i < n; i++)
		h = mix(h ^ v[i]) + 0x9e3779b97f4a7c15ULL;
	return h;
}

static int set_rehash(struct iap_targets *t, size_t cap)
{
	uint32_t *s = calloc(cap, sizeof *s);
	if (!s)
		return -1;
	for (size_t id = 0; id < t->nsets; id++) {
		const struct run *r = &t->sets[id];
		size_t k = (size_t)set_hash(t->stasks + r->first, r->count) & (cap - 1);
		while (s[k])
			k = (k + 1) & (cap - 1);
		s[k] = (uint32_t)id + 1;
	}
	free(t->set_slots);
	t->set_slots = s;
	t->set_mask = cap - 1;
	return 0;
}

/* The id of the set v[0..n) (sorted, distinct), added when new. -1 on ENOMEM. */
static long set_intern(struct iap_targets *t, const uint32_t *v, size_t n)
{
	if ((t->nsets + 1) * 2 > t->set_mask + 1 && set_rehash(t, (t->set_mask + 1) * 2) != 0)
		return -1;
	size_t k = (size_t)set_hash(v, n) & t->set_mask;
	while (t->set_slots[k]) {
		const struct run *r = &t->sets[t->set_slots[k] - 1];
		if (r->count == n &&
		    (n == 0 || memcmp(t->stasks + r->first, v, n * sizeof *v) == 0))
			return (long)t->set_slots[k] - 1;
		k = (k + 1) & t->set_mask;
	}
	if (t->nsets >= CHILD ||
	    grow((void **)&t->sets, &t->capsets, t->nsets + 1, sizeof *t->sets) != 0 ||
	    grow((void **)&t->stasks, &t->capstasks, t->nstasks + n, sizeof *t->stasks) != 0)
		return -1;
	if (n)
		memcpy(t->stasks + t->nstasks, v, n * sizeof *v);
	t->sets[t->nsets] = (struct run){(uint32_t)t->nstasks, (uint32_t)n};
	t->nstasks += n;
	t->set_slots[k] = (uint32_t)t->nsets + 1;
	return (long)t->nsets++;
}

/* Set id of set a plus the tasks of group g. -1 on ENOMEM. */
static long set_union(struct builder *b, uint32_t a, const struct group *g)
{
	struct iap_targets *t = b->t;
	const uint32_t *x = t->stasks + t->sets[a].first, *y = b->gtasks + g->first;
	size_t nx = t->sets[a].count, ny = g->count, i = 0, j = 0, n = 0;
	while (i < nx || j < ny) {
		uint32_t v;
		if (j == ny || (i < nx && x[i] < y[j]))
			v = x[i++];
		else if (i == nx || y[j] < x[i])
			v = y[j++];
		else {
			v = x[i++];
			j++;
		}
		b->tmp[n++] = v;
	}
	return set_intern(t, b->tmp, n);
}

/* ---- the trie ---- */
/* The 8 bits of key at bit offset off (a multiple of 8). */
static unsigned key_byte(const uint8_t *key, int off)
{
	return key[off / 8];
}

/* Adds the tasks of group g to the slots of arr (a node of 2^stride slots at bit offset off)
 * that it covers (g->prefix <= off + stride). 0 or -1. */
static int cover(struct builder *b, uint32_t *arr, int off, int stride, const struct group *g)
{
	unsigned v = 0;
	for (int i = off; i < off + stride; i++)
		v = (v << 1) | ((g->key[i / 8] >> (7 - i % 8)) & 1u);
	unsigned span = 1u << (off + stride - g->prefix);
	v &= ~(span - 1);
	uint32_t last_in = UINT32_MAX, last_out = 0;
	for (unsigned s = v; s < v + span; s++) {
		if (arr[s] != last_in) {
			long id = set_union(b, arr[s], g);
			if (id < 0)
				return -1;
			last_in = arr[s];
			last_out = (uint32_t)id;
		}
		arr[s] = last_out;
	}
	return 0;
}

static int build_node(struct builder *b, uint32_t *arr, int off, int stride, int maxbits,
                      uint32_t inherit, size_t gfrom, size_t gto);

/* Compresses a node's 256 slots into a new cnode. Its index, or -1. */
static long compress(struct iap_targets *t, const uint32_t *arr)
{
	if (t->nnodes >= CHILD ||
	    grow((void **)&t->nodes, &t->capnodes, t->nnodes + 1, sizeof *t->nodes) != 0 ||
	    grow((void **)&t->ent, &t->capent, t->nent + 256, sizeof *t->ent) != 0)
		return -1;
	struct cnode *n = &t->nodes[t->nnodes];
	memset(n, 0, sizeof *n);
	n->base = (uint32_t)t->nent;
	unsigned runs = 0;
	for (unsigned v = 0; v < 256; v++) {
		if (v % 64 == 0)
			n->pre[v / 64] = (uint16_t)runs;
		if (v == 0 || arr[v] != arr[v - 1]) {
			n->bits[v / 64] |= 1ULL << (v % 64);
			t->ent[t->nent++] = arr[v];
			runs++;
		}
	}
	return (long)t->nnodes++;
}

/* Fills arr (2^stride slots for the bits [off, off + stride) under one node prefix) from the
 * groups g[gfrom..gto) (sorted by key, all under that prefix; those with prefix <= off belong to
 * an ancestor and are skipped, except /0 at the root): every slot starts with the inherited set,
 * groups ending within the node are added to the slots they cover, and a slot with longer groups
 * under it becomes a child node. 0 or -1 (ENOMEM). */
static int build_node(struct builder *b, uint32_t *arr, int off, int stride, int maxbits,
                      uint32_t inherit, size_t gfrom, size_t gto)
{
	size_t nslots = (size_t)1 << stride;
	for (size_t s = 0; s < nslots; s++)
		arr[s] = inherit;
	for (size_t i = gfrom; i < gto; i++) {
		const struct group *g = &b->g[i];
		if ((g->prefix > off || off == 0) && g->prefix <= off + stride &&
		    cover(b, arr, off, stride, g))
			return -1;
	}
	for (size_t i = gfrom; i < gto;) {
		const struct group *g = &b->g[i];
		if (g->prefix <= off + stride) {
			i++;
			continue;
		}
		/* Groups sharing this slot are contiguous in key order. */
		unsigned slot = stride == ROOT_BITS ? (unsigned)(g->key[0] << 8 | g->key[1])
		                                    : key_byte(g->key, off);
		size_t j = i + 1;
		while (j < gto &&
		       (stride == ROOT_BITS ? (unsigned)(b->g[j].key[0] << 8 | b->g[j].key[1])
		                            : key_byte(b->g[j].key, off)) == slot)
			j++;
		uint32_t child[256];
		if (off + stride + 8 > maxbits)
			return -1; /* cannot happen: prefix <= maxbits */
		if (build_node(b, child, off + stride, 8, maxbits, arr[slot], i, j) != 0)
			return -1;
		long ni = compress(b->t, child);
		if (ni < 0)
			return -1;
		arr[slot] = CHILD | (uint32_t)ni;
		i = j;
	}
	return 0;
}

/* The set id (or 0) covering address a. Inlined into the two lookup variants below: the rank
 * of a slot in a node is a 64-bit popcount, which the baseline x86-64 (no POPCNT) compiles to
 * a libgcc call; the variant built for POPCNT is chosen once per table when the CPU has it. */
static inline __attribute__((always_inline)) uint32_t
trie_lookup(const struct iap_targets *t, const struct trie *tr, const uint8_t *a)
{
	uint32_t e = tr->root[(unsigned)a[0] << 8 | a[1]];
	const uint8_t *p = a + 2;
	while (e & CHILD) {
		const struct cnode *n = &t->nodes[e & ~CHILD];
		unsigned v = *p++;
		unsigned w = v >> 6;
		uint64_t below = n->bits[w] & (~0ULL >> (63 - (v & 63)));
		e = t->ent[n->base + n->pre[w] + (unsigned)__builtin_popcountll(below) - 1];
	}
	return e;
}

static inline __attribute__((always_inline)) int lookup_pair(const struct iap_targets *t,
                                                             const struct trie *tr,
                                                             const uint8_t *src, const uint8_t *dst,
                                                             struct iap_lookup *out)
{
	out->dst_set = trie_lookup(t, tr, dst);
	out->src_set = trie_lookup(t, tr, src);
	return (out->dst_set | out->src_set) != 0;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_POPCNT_VARIANT 1
__attribute__((target("popcnt"))) static int
lookup_pair_popcnt(const struct iap_targets *t, const struct trie *tr, const uint8_t *src,
                   const uint8_t *dst, struct iap_lookup *out)
{
	return lookup_pair(t, tr, src, dst, out);
}

static int cpu_has_popcnt(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("popcnt") != 0;
}
#else
#define HAVE_POPCNT_VARIANT 0
static int cpu_has_popcnt(void)
{
	return 0;
}
#endif

static int lookup_pair_generic(const struct iap_targets *t, const struct trie *tr,
                               const uint8_t *src, const uint8_t *dst, struct iap_lookup *out)
{
	return lookup_pair(t, tr, src, dst, out);
}

/* ---- XIDs ---- */
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

/* Sorted, de-duplicated entries -> groups and their task runs. */
static int build_tables(struct iap_targets *t, char *err, size_t errlen)
{
	size_t n = 0;
	for (size_t i = 0; i < t->ntasks; i++)
		n += t->tasks[i].ntargets;
	struct entry *e = calloc(n ? n : 1, sizeof *e);
	struct group *g = calloc(n ? n : 1, sizeof *g);
	uint32_t *gtasks = calloc(n ? n : 1, sizeof *gtasks);
	uint32_t *tmp = calloc(t->ntasks ? t->ntasks : 1, sizeof *tmp);
	t->v4.root = calloc(ROOT_SIZE, sizeof *t->v4.root);
	t->v6.root = calloc(ROOT_SIZE, sizeof *t->v6.root);
	int rc = -1;
	if (!e || !g || !gtasks || !tmp || !t->v4.root || !t->v6.root || set_rehash(t, 64) != 0 ||
	    set_intern(t, NULL, 0) != 0)
		goto out;
	t->v4.alen = 4;
	t->v6.alen = 16;
	size_t m = 0;
	for (size_t i = 0; i < t->ntasks; i++) {
		for (size_t j = 0; j < t->tasks[i].ntargets; j++) {
			const struct lt_target *tg = &t->tasks[i].targets[j];
			int maxp = tg->family == 4 ? 32 : 128;
			if ((tg->family != 4 && tg->family != 6) || tg->prefix < 0 ||
			    tg->prefix > maxp)
				continue;
			e[m].family = (uint8_t)tg->family;
			e[m].prefix = (uint8_t)tg->prefix;
			mask_addr(tg->addr, tg->family == 4 ? 4 : 16, tg->prefix, e[m].key);
			e[m].task = (uint32_t)i;
			m++;
		}
	}
	qsort(e, m, sizeof *e, entry_cmp);
	size_t ng = 0, nt = 0, nfam[7] = {0};
	uint8_t seen4[33] = {0}, seen6[129] = {0};
	for (size_t i = 0; i < m; i++) {
		if (i > 0 && entry_cmp(&e[i], &e[i - 1]) == 0)
			continue; /* the same target twice in one task */
		if (ng == 0 || e[i].family != g[ng - 1].family || e[i].prefix != g[ng - 1].prefix ||
		    memcmp(e[i].key, g[ng - 1].key, 16) != 0) {
			g[ng].family = e[i].family;
			g[ng].prefix = e[i].prefix;
			memcpy(g[ng].key, e[i].key, 16);
			g[ng].first = (uint32_t)nt;
			g[ng].count = 0;
			ng++;
			nfam[e[i].family]++;
			if (e[i].family == 4)
				seen4[e[i].prefix] = 1;
			else
				seen6[e[i].prefix] = 1;
		}
		gtasks[nt++] = e[i].task; /* ascending within a group (sort order) */
		g[ng - 1].count++;
	}
	for (int i = 0; i <= 32; i++)
		t->nlen4 += seen4[i];
	for (int i = 0; i <= 128; i++)
		t->nlen6 += seen6[i];
	struct builder b = {.t = t, .g = g, .gtasks = gtasks, .tmp = tmp};
	/* Groups are sorted by family, then key: IPv4 ones first. A prefix shorter than the
	 * direct table's 16 bits covers a range of it; longer ones descend into nodes. */
	if (build_node(&b, t->v4.root, 0, ROOT_BITS, 32, 0, 0, nfam[4]) != 0 ||
	    build_node(&b, t->v6.root, 0, ROOT_BITS, 128, 0, nfam[4], ng) != 0)
		goto out;
	rc = 0;
out:
	free(e);
	free(g);
	free(gtasks);
	free(tmp);
	free(t->set_slots); /* only needed while building */
	t->set_slots = NULL;
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
	t->popcnt = cpu_has_popcnt();
	if (RAND_bytes((unsigned char *)&t->seed, sizeof t->seed) != 1)
		t->seed = 0x243f6a8885a308d3ULL ^ (uint64_t)(uintptr_t)t;
	t->seq = calloc(ntasks ? ntasks : 1, sizeof *t->seq);
	t->mark = calloc(ntasks ? ntasks : 1, sizeof *t->mark);
	if (!t->seq || !t->mark ||
	    grow((void **)&t->stasks, &t->capstasks, 64, sizeof *t->stasks) != 0 ||
	    grow((void **)&t->sets, &t->capsets, 64, sizeof *t->sets) != 0) {
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
	free(t->v4.root);
	free(t->v6.root);
	free(t->nodes);
	free(t->ent);
	free(t->sets);
	free(t->stasks);
	free(t->set_slots);
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

size_t iap_targets_memory(const struct iap_targets *t)
{
	return 2 * ROOT_SIZE * sizeof(uint32_t) + t->nnodes * sizeof *t->nodes +
	       t->nent * sizeof *t->ent + t->nsets * sizeof *t->sets +
	       t->nstasks * sizeof *t->stasks;
}

/* Appends the tasks of set whose window holds when, with direction dir. With dedupe, a task
 * marked for this packet already (by the other end's set) is left out, and every task added is
 * marked; without it (only one end's set is looked at) no mark is read or written. */
static inline __attribute__((always_inline)) size_t collect(struct iap_targets *t, uint32_t set,
                                                            int64_t when, uint16_t dir,
                                                            struct iap_match *out, size_t n,
                                                            int dedupe)
{
	const struct run *r = &t->sets[set];
	const uint32_t *v = t->stasks + r->first;
	for (uint32_t k = 0; k < r->count; k++) {
		uint32_t ti = v[k];
		const struct lt_task *task = &t->tasks[ti];
		if ((dedupe && t->mark[ti] == t->epoch) || when < task->start || when >= task->end)
			continue;
		if (dedupe)
			t->mark[ti] = t->epoch;
		out[n].task = ti;
		out[n].direction = dir;
		n++;
	}
	return n;
}

int iap_targets_lookup(const struct iap_targets *t, int family, const uint8_t *src,
                       const uint8_t *dst, struct iap_lookup *out)
{
	out->dst_set = out->src_set = 0;
	if (!t || t->ntasks == 0 || (family != 4 && family != 6))
		return 0;
	const struct trie *tr = family == 4 ? &t->v4 : &t->v6;
#if HAVE_POPCNT_VARIANT
	if (t->popcnt)
		return lookup_pair_popcnt(t, tr, src, dst, out);
#endif
	return lookup_pair_generic(t, tr, src, dst, out);
}

int iap_targets_use_popcnt(struct iap_targets *t, int on)
{
	t->popcnt = on && cpu_has_popcnt();
	return t->popcnt;
}

size_t iap_targets_match_lookup(struct iap_targets *t, const struct iap_lookup *l, int64_t when_sec,
                                struct iap_match *out)
{
	uint32_t sd = l->dst_set, ss = l->src_set;
	if (!t || (sd | ss) == 0)
		return 0; /* the common case: neither end is covered by any target */
	/* Destination first: a packet between two targets of one task is "to target". Only when
	 * both ends are covered by different sets can a task come up twice. */
	if (ss == 0 || ss == sd)
		return collect(t, sd, when_sec, LT_DIR_TO_TARGET, out, 0, 0);
	if (sd == 0)
		return collect(t, ss, when_sec, LT_DIR_FROM_TARGET, out, 0, 0);
	if (++t->epoch == 0) { /* wrapped: forget old marks */
		memset(t->mark, 0, t->ntasks * sizeof *t->mark);
		t->epoch = 1;
	}
	size_t n = collect(t, sd, when_sec, LT_DIR_TO_TARGET, out, 0, 1);
	return collect(t, ss, when_sec, LT_DIR_FROM_TARGET, out, n, 1);
}

size_t iap_targets_match(struct iap_targets *t, int family, const uint8_t *src, const uint8_t *dst,
                         int64_t when_sec, struct iap_match *out)
{
	struct iap_lookup l;
	if (!iap_targets_lookup(t, family, src, dst, &l))
		return 0;
	return iap_targets_match_lookup(t, &l, when_sec, out);
}

int iap_targets_any(const struct iap_targets *t, int family, const uint8_t *src, const uint8_t *dst)
{
	struct iap_lookup l;
	return iap_targets_lookup(t, family, src, dst, &l);
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
