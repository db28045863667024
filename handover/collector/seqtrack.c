/* Sequence tracking per (LIID, CIN, HI): duplicates and gaps in O(streams + holes) memory.
 * TS 102 232-1: sequence numbers run per LIID and CIN, per handover, from 0, +1 per record. */
#include <stdlib.h>
#include <string.h>

#include "collector.h"

struct range {
	uint64_t lo, hi; /* inclusive */
};

struct stream {
	uint8_t liid[MED_LIID_MAX];
	size_t liid_len;
	uint32_t cin;
	int hi;
	uint64_t next;     /* every number below it was received */
	struct range *rng; /* received ranges above next: sorted, disjoint, not adjacent */
	size_t nrng, caprng;
	uint64_t received, dups;
	uint32_t first, last;
};

struct col_seqtrack {
	struct stream **slot; /* open addressing, power-of-two size */
	size_t cap, count;
	struct stream *last; /* the stream of the previous add: records come in runs */
};

static uint64_t key_hash(const uint8_t *liid, size_t len, uint32_t cin, int hi)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ liid[i]) * 1099511628211ull;
	for (int i = 0; i < 4; i++)
		h = (h ^ ((cin >> (8 * i)) & 0xff)) * 1099511628211ull;
	h = (h ^ (uint64_t)hi) * 1099511628211ull;
	return h ^ (h >> 29);
}

static int key_eq(const struct stream *s, const uint8_t *liid, size_t len, uint32_t cin, int hi)
{
	return s->liid_len == len && s->cin == cin && s->hi == hi &&
	       memcmp(s->liid, liid, len) == 0;
}

struct col_seqtrack *col_seqtrack_new(void)
{
	struct col_seqtrack *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->cap = 64;
	t->slot = calloc(t->cap, sizeof *t->slot);
	if (!t->slot) {
		free(t);
		return NULL;
	}
	return t;
}

void col_seqtrack_free(struct col_seqtrack *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->cap; i++) {
		if (t->slot[i]) {
			free(t->slot[i]->rng);
			free(t->slot[i]);
		}
	}
	free(t->slot);
	free(t);
}

static size_t find_slot(struct stream **slot, size_t cap, const uint8_t *liid, size_t len,
                        uint32_t cin, int hi)
{
	size_t i = (size_t)key_hash(liid, len, cin, hi) & (cap - 1);
	while (slot[i] && !key_eq(slot[i], liid, len, cin, hi))
		i = (i + 1) & (cap - 1);
	return i;
}

static int grow(struct col_seqtrack *t)
{
	size_t ncap = t->cap * 2;
	struct stream **ns = calloc(ncap, sizeof *ns);
	if (!ns)
		return COL_E_NOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		struct stream *s = t->slot[i];
		if (s)
			ns[find_slot(ns, ncap, s->liid, s->liid_len, s->cin, s->hi)] = s;
	}
	free(t->slot);
	t->slot = ns;
	t->cap = ncap;
	return 0;
}

static struct stream *lookup(const struct col_seqtrack *t, const uint8_t *liid, size_t len,
                             uint32_t cin, int hi)
{
	return t->slot[find_slot(t->slot, t->cap, liid, len, cin, hi)];
}

/* Index of the first range with lo > v. */
static size_t upper(const struct stream *s, uint64_t v)
{
	size_t a = 0, b = s->nrng;
	while (a < b) {
		size_t m = a + (b - a) / 2;
		if (s->rng[m].lo > v)
			b = m;
		else
			a = m + 1;
	}
	return a;
}

/* Adds v (> s->next, not yet received) to the range set. */
static int add_range(struct stream *s, uint64_t v)
{
	size_t i = upper(s, v);
	int join_prev = i > 0 && s->rng[i - 1].hi + 1 == v;
	int join_next = i < s->nrng && s->rng[i].lo == v + 1;
	if (join_prev && join_next) {
		s->rng[i - 1].hi = s->rng[i].hi;
		memmove(&s->rng[i], &s->rng[i + 1], (s->nrng - i - 1) * sizeof *s->rng);
		s->nrng--;
		return 0;
	}
	if (join_prev) {
		s->rng[i - 1].hi = v;
		return 0;
	}
	if (join_next) {
		s->rng[i].lo = v;
		return 0;
	}
	if (s->nrng == s->caprng) {
		size_t nc = s->caprng ? s->caprng * 2 : 4;
		struct range *nr = realloc(s->rng, nc * sizeof *nr);
		if (!nr)
			return COL_E_NOMEM;
		s->rng = nr;
		s->caprng = nc;
	}
	memmove(&s->rng[i + 1], &s->rng[i], (s->nrng - i) * sizeof *s->rng);
	s->rng[i].lo = s->rng[i].hi = v;
	s->nrng++;
	return 0;
}

/* The stream of (liid, cin, hi), created when new; NULL when out of memory. */
static struct stream *stream_of(struct col_seqtrack *t, const uint8_t *liid, size_t liid_len,
                                uint32_t cin, int hi, uint32_t seq)
{
	size_t i = find_slot(t->slot, t->cap, liid, liid_len, cin, hi);
	struct stream *s = t->slot[i];
	if (s)
		return s;
	if ((t->count + 1) * 2 > t->cap) {
		if (grow(t) != 0)
			return NULL;
		i = find_slot(t->slot, t->cap, liid, liid_len, cin, hi);
	}
	s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	memcpy(s->liid, liid, liid_len);
	s->liid_len = liid_len;
	s->cin = cin;
	s->hi = hi;
	s->first = s->last = seq;
	t->slot[i] = s;
	t->count++;
	return s;
}

int col_seqtrack_add(struct col_seqtrack *t, const uint8_t *liid, size_t liid_len, uint32_t cin,
                     int hi, uint32_t seq)
{
	if (!t || !liid || liid_len == 0 || liid_len > MED_LIID_MAX)
		return COL_E_ARG;
	/* Streams are never freed or moved before col_seqtrack_free (grow moves the slot array,
	 * not the streams), so the previous one can be kept by pointer: no hashing for a run of
	 * records of one stream. */
	struct stream *s = t->last;
	if (!s || !key_eq(s, liid, liid_len, cin, hi)) {
		if (!(s = stream_of(t, liid, liid_len, cin, hi, seq)))
			return COL_E_NOMEM;
		t->last = s;
	}
	uint64_t v = seq;
	if (v == s->next && s->nrng == 0) { /* the common case: the next number, no holes */
		s->next++;
		s->received++;
		if (seq < s->first)
			s->first = seq;
		if (seq > s->last)
			s->last = seq;
		return COL_SEQ_NEW;
	}
	if (v < s->next) {
		s->dups++;
		return COL_SEQ_DUP;
	}
	size_t u = upper(s, v);
	if (u > 0 && s->rng[u - 1].hi >= v) {
		s->dups++;
		return COL_SEQ_DUP;
	}
	if (v == s->next) {
		s->next++;
		if (s->nrng > 0 && s->rng[0].lo == s->next) {
			s->next = s->rng[0].hi + 1;
			memmove(&s->rng[0], &s->rng[1], (s->nrng - 1) * sizeof *s->rng);
			s->nrng--;
		}
	} else if (add_range(s, v) != 0) {
		return COL_E_NOMEM;
	}
	s->received++;
	if (seq < s->first)
		s->first = seq;
	if (seq > s->last)
		s->last = seq;
	return COL_SEQ_NEW;
}

static void stats_of(const struct stream *s, struct col_seq_stats *o)
{
	o->liid = s->liid;
	o->liid_len = s->liid_len;
	o->cin = s->cin;
	o->hi = s->hi;
	o->records = s->received;
	o->first_seq = s->first;
	o->last_seq = s->last;
	o->gaps = s->received ? (uint64_t)s->last + 1 - s->received : 0;
	o->duplicates = s->dups;
}

int col_seqtrack_get(const struct col_seqtrack *t, const uint8_t *liid, size_t liid_len,
                     uint32_t cin, int hi, struct col_seq_stats *out)
{
	if (!t || !liid || liid_len == 0 || liid_len > MED_LIID_MAX)
		return -1;
	const struct stream *s = lookup(t, liid, liid_len, cin, hi);
	if (!s)
		return -1;
	stats_of(s, out);
	return 0;
}

size_t col_seqtrack_count(const struct col_seqtrack *t)
{
	return t ? t->count : 0;
}

static int cmp_stream(const void *a, const void *b)
{
	const struct stream *x = *(const struct stream *const *)a;
	const struct stream *y = *(const struct stream *const *)b;
	size_t n = x->liid_len < y->liid_len ? x->liid_len : y->liid_len;
	int c = memcmp(x->liid, y->liid, n);
	if (c != 0)
		return c;
	if (x->liid_len != y->liid_len)
		return x->liid_len < y->liid_len ? -1 : 1;
	if (x->cin != y->cin)
		return x->cin < y->cin ? -1 : 1;
	return (x->hi > y->hi) - (x->hi < y->hi);
}

int col_seqtrack_foreach(const struct col_seqtrack *t,
                         int (*fn)(const struct col_seq_stats *st, void *arg), void *arg)
{
	if (!t || t->count == 0)
		return 0;
	struct stream **v = malloc(t->count * sizeof *v);
	if (!v)
		return COL_E_NOMEM;
	size_t n = 0;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slot[i])
			v[n++] = t->slot[i];
	qsort(v, n, sizeof *v, cmp_stream);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct col_seq_stats st;
		stats_of(v[i], &st);
		rc = fn(&st, arg);
	}
	free(v);
	return rc;
}

void col_seqtrack_totals(const struct col_seqtrack *t, uint64_t *gaps, uint64_t *duplicates)
{
	uint64_t g = 0, d = 0;
	for (size_t i = 0; t && i < t->cap; i++) {
		if (t->slot[i]) {
			struct col_seq_stats st;
			stats_of(t->slot[i], &st);
			g += st.gaps;
			d += st.duplicates;
		}
	}
	if (gaps)
		*gaps = g;
	if (duplicates)
		*duplicates = d;
}

static int summary_line(const struct col_seq_stats *st, void *arg)
{
	FILE *f = arg;
	char liid[4 * MED_LIID_MAX + 1];
	col_fmt_liid(liid, sizeof liid, st->liid, st->liid_len);
	if (fprintf(f,
	            "liid=%s cin=%u hi=%d records=%llu first_seq=%u last_seq=%u gaps=%llu "
	            "duplicates=%llu\n",
	            liid, st->cin, st->hi, (unsigned long long)st->records, st->first_seq,
	            st->last_seq, (unsigned long long)st->gaps,
	            (unsigned long long)st->duplicates) < 0)
		return COL_E_IO;
	return 0;
}

int col_summary_write(FILE *f, const struct col_seqtrack *t, const struct col_counters *c)
{
	int rc = col_seqtrack_foreach(t, summary_line, f);
	if (rc != 0)
		return rc;
	uint64_t gaps, dups;
	col_seqtrack_totals(t, &gaps, &dups);
	if (fprintf(f,
	            "total hi2_records=%llu hi3_records=%llu keepalives=%llu gaps=%llu "
	            "duplicates=%llu decode_errors=%llu",
	            (unsigned long long)c->hi2_records, (unsigned long long)c->hi3_records,
	            (unsigned long long)c->keepalives, (unsigned long long)gaps,
	            (unsigned long long)dups, (unsigned long long)c->decode_errors) < 0)
		return COL_E_IO;
	/* only when PDU acknowledgement was used (the line stays as before otherwise) */
	if (c->pdu_acks && fprintf(f, " pdu_acks=%llu", (unsigned long long)c->pdu_acks) < 0)
		return COL_E_IO;
	if (c->syncs && fprintf(f, " syncs=%llu", (unsigned long long)c->syncs) < 0)
		return COL_E_IO; /* only with --sync */
	if (fputc('\n', f) == EOF)
		return COL_E_IO;
	return 0;
}
