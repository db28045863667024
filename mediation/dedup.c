/* mediation/dedup.c: de-duplication of X2/X3 records at the mediator (docs/delivery.md).
 *
 * Key: (IAP id, IAP run epoch, XID, LEA, IAP sequence number). An IAP numbers the PDUs of one
 * XID from 0 within a run and resends unacknowledged ones in order, so the state is one
 * high-water mark per (IAP id, epoch, XID, LEA): a record whose sequence number is not above
 * it was spooled for that LEA already. The LEA is part of the key because a record goes into
 * one spool per LEA of the warrant and one of those writes can fail while another succeeds:
 * the IAP's resend must then reach the LEA that misses the record, and only that one.
 * A mark with no LEA (index 0, "every LEA") holds for all LEAs of the XID: the marks of an
 * older mediator's dedup file (format LTD1), and keys found in a spool opened without an LEA
 * id (med_delivery_site_lea with lea NULL). The marks are rebuilt at start from the keys stored
 * with the spooled records (each spool belongs to one LEA: med_delivery_site_lea), and saved to
 * <state_dir>/dedup (atomically, fsync'd) before spool segments are deleted, so a deleted
 * segment never takes marks with it. At most MED_DEDUP_MAX marks are kept; beyond, the least
 * recently used one is forgotten (logged once). */
#include "med_int.h"

#include "handover/spool.h"
#include "lib/log.h"
#include "lib/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MED_DEDUP_MAX 65536
#define DEDUP_MAGIC1 0x4c544431u /* "LTD1": (IAP id, epoch, XID) marks, before LEAs */
#define DEDUP_MAGIC 0x4c544432u  /* "LTD2": (IAP id, epoch, XID, LEA) marks */
#define ENTRY_LEN1 (1 + 16 + 8 + 16 + 4)
#define ENTRY_LEN (1 + 16 + 1 + HO_LEA_ID_MAX + 8 + 16 + 4)

/* An LEA id the marks name (interned: a mark holds its index). It is also the key_arg of the
 * LEA's spools (med_delivery_site_lea), so it lives as long as the dedup state. */
struct dd_lea {
	struct med_dedup *d;
	uint32_t ix; /* 1..: d->lea[ix - 1] */
	char id[HO_LEA_ID_MAX + 1];
};

struct dd_entry {
	char iap[HO_SPOOL_ID_MAX + 1];
	uint32_t lea; /* index of the LEA id, 0: every LEA of the XID */
	uint64_t epoch;
	uint8_t xid[16];
	uint32_t max;
	uint64_t used; /* LRU clock */
};

struct med_dedup {
	pthread_mutex_t mu;
	struct dd_entry *e; /* sorted by (iap, epoch, xid, lea) */
	size_t n, cap;
	struct dd_lea **lea; /* interned LEA ids */
	size_t nlea, leacap;
	uint64_t clock;
	int evict_logged;
	char path[MED_PATH_MAX + 16];
};

static int cmp_key(const char *iap, uint64_t epoch, const uint8_t *xid, uint32_t lea,
                   const struct dd_entry *e)
{
	int c = strcmp(iap, e->iap);
	if (c)
		return c;
	if (epoch != e->epoch)
		return epoch < e->epoch ? -1 : 1;
	c = memcmp(xid, e->xid, 16);
	if (c)
		return c;
	return lea == e->lea ? 0 : lea < e->lea ? -1 : 1;
}

/* Index of the key, or of where it would go (*found 0). */
static size_t find(const struct med_dedup *d, const char *iap, uint64_t epoch, const uint8_t *xid,
                   uint32_t lea, int *found)
{
	size_t lo = 0, hi = d->n;
	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_key(iap, epoch, xid, lea, &d->e[mid]);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* With d->mu held: the interned LEA id; with add, a new id is interned. NULL when it is not
 * (or out of memory, or longer than an LEA id). */
static struct dd_lea *lea_get(struct med_dedup *d, const char *id, int add)
{
	for (size_t i = 0; i < d->nlea; i++)
		if (strcmp(d->lea[i]->id, id) == 0)
			return d->lea[i];
	if (!add || strlen(id) > HO_LEA_ID_MAX)
		return NULL;
	if (d->nlea == d->leacap) {
		size_t nc = d->leacap ? d->leacap * 2 : 8;
		struct dd_lea **nl = realloc(d->lea, nc * sizeof *nl);
		if (!nl)
			return NULL;
		d->lea = nl;
		d->leacap = nc;
	}
	struct dd_lea *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->d = d;
	l->ix = (uint32_t)d->nlea + 1;
	snprintf(l->id, sizeof l->id, "%s", id);
	d->lea[d->nlea++] = l;
	return l;
}

/* The index of an LEA id for the marks: 0 (every LEA) for NULL or "", UINT32_MAX when it is
 * not interned (no mark names it). */
static uint32_t lea_ix(struct med_dedup *d, const char *id, int add)
{
	if (!id || !*id)
		return 0;
	struct dd_lea *l = lea_get(d, id, add);
	return l ? l->ix : UINT32_MAX;
}

/* With d->mu held: raises the mark of the key to seq (inserting it). */
static void note_locked(struct med_dedup *d, const char *iap, uint64_t epoch, const uint8_t *xid,
                        uint32_t lea, uint32_t seq)
{
	int found;
	size_t i = find(d, iap, epoch, xid, lea, &found);
	if (found) {
		if (seq > d->e[i].max)
			d->e[i].max = seq;
		d->e[i].used = ++d->clock;
		return;
	}
	if (d->n >= MED_DEDUP_MAX) {
		size_t old = 0;
		for (size_t j = 1; j < d->n; j++)
			if (d->e[j].used < d->e[old].used)
				old = j;
		if (!d->evict_logged)
			lt_warn(
			    "dedup: more than %d (IAP, run, XID, LEA) marks: the least recently "
			    "used are forgotten",
			    MED_DEDUP_MAX);
		d->evict_logged = 1;
		memmove(&d->e[old], &d->e[old + 1], (d->n - old - 1) * sizeof *d->e);
		d->n--;
		i = find(d, iap, epoch, xid, lea, &found);
	}
	if (d->n == d->cap) {
		size_t nc = d->cap ? d->cap * 2 : 64;
		struct dd_entry *ne = realloc(d->e, nc * sizeof *ne);
		if (!ne)
			return; /* a lost mark only lets a resend through as a new record */
		d->e = ne;
		d->cap = nc;
	}
	memmove(&d->e[i + 1], &d->e[i], (d->n - i) * sizeof *d->e);
	struct dd_entry *e = &d->e[i];
	memset(e, 0, sizeof *e);
	snprintf(e->iap, sizeof e->iap, "%s", iap);
	e->lea = lea;
	e->epoch = epoch;
	memcpy(e->xid, xid, 16);
	e->max = seq;
	e->used = ++d->clock;
	d->n++;
}

/* With d->mu held: the mark of k's (IAP id, epoch, XID) for LEA index lea, the mark for every
 * LEA included: 1 and *max, or 0. */
static int mark_locked(const struct med_dedup *d, const struct ho_spool_key *k, uint32_t lea,
                       uint32_t *max)
{
	int found, any = 0;
	*max = 0;
	size_t i = find(d, k->iap, k->epoch, k->xid, 0, &found);
	if (found) {
		any = 1;
		*max = d->e[i].max;
	}
	if (lea == 0 || lea == UINT32_MAX)
		return any;
	/* the LEA's own mark follows the one for every LEA (sorted by LEA index) */
	i = find(d, k->iap, k->epoch, k->xid, lea, &found);
	if (found) {
		if (!any || d->e[i].max > *max)
			*max = d->e[i].max;
		any = 1;
	}
	return any;
}

int med_dedup_seen_lea(struct med_dedup *d, const struct ho_spool_key *k, const char *lea)
{
	if (!d || !k->has)
		return 0;
	pthread_mutex_lock(&d->mu);
	uint32_t max;
	int seen = mark_locked(d, k, lea_ix(d, lea, 0), &max) && k->seq <= max;
	pthread_mutex_unlock(&d->mu);
	return seen;
}

int med_dedup_seen(struct med_dedup *d, const struct ho_spool_key *k)
{
	return med_dedup_seen_lea(d, k, NULL);
}

int med_dedup_mark_lea(struct med_dedup *d, const struct ho_spool_key *k, const char *lea,
                       uint32_t *max)
{
	*max = 0;
	if (!d)
		return 0;
	pthread_mutex_lock(&d->mu);
	int found = mark_locked(d, k, lea_ix(d, lea, 0), max);
	pthread_mutex_unlock(&d->mu);
	return found;
}

int med_dedup_mark(struct med_dedup *d, const struct ho_spool_key *k, uint32_t *max)
{
	return med_dedup_mark_lea(d, k, NULL, max);
}

uint32_t med_dedup_marks(struct med_dedup *d, const struct ho_spool_key *k, const char *const *leas,
                         size_t n, uint32_t *max)
{
	uint32_t found = 0;
	for (size_t i = 0; i < n; i++)
		max[i] = 0;
	if (!d)
		return 0;
	pthread_mutex_lock(&d->mu);
	for (size_t i = 0; i < n && i < 32; i++)
		if (mark_locked(d, k, lea_ix(d, leas[i], 0), &max[i]))
			found |= 1u << i;
	pthread_mutex_unlock(&d->mu);
	return found;
}

void med_dedup_note_lea(struct med_dedup *d, const struct ho_spool_key *k, const char *lea)
{
	if (!d || !k->has)
		return;
	pthread_mutex_lock(&d->mu);
	uint32_t ix = lea_ix(d, lea, 1);
	/* out of memory for a new LEA id: the mark is lost, which only lets a resend through
	 * as a new record (never a mark for every LEA, which could hide one from another) */
	if (ix != UINT32_MAX)
		note_locked(d, k->iap, k->epoch, k->xid, ix, k->seq);
	pthread_mutex_unlock(&d->mu);
}

void med_dedup_note(struct med_dedup *d, const struct ho_spool_key *k)
{
	med_dedup_note_lea(d, k, NULL);
}

/* The spool's key callback at open, for a spool of no named LEA: the mark for every LEA. */
void med_dedup_key_fn(void *arg, const struct ho_spool_key *k)
{
	med_dedup_note(arg, k);
}

/* The same for the spools of one LEA (arg: its struct dd_lea). */
static void lea_key_fn(void *arg, const struct ho_spool_key *k)
{
	struct dd_lea *l = arg;
	if (!k->has)
		return;
	pthread_mutex_lock(&l->d->mu);
	note_locked(l->d, k->iap, k->epoch, k->xid, l->ix, k->seq);
	pthread_mutex_unlock(&l->d->mu);
}

static void lea_save(void *arg)
{
	struct dd_lea *l = arg;
	med_dedup_save(l->d);
}

/* Reads n entries of the file's format (LTD1: no LEA, the mark for every LEA). 0 or -1. */
static int load_entries(struct med_dedup *d, struct lt_wire_rd *r, uint32_t n, int v1)
{
	for (uint32_t i = 0; i < n; i++) {
		uint8_t idlen = lt_wire_u8(r);
		char id[HO_SPOOL_ID_MAX + 1] = "";
		lt_wire_read(r, id, HO_SPOOL_ID_MAX);
		uint8_t lealen = 0;
		char lea[HO_LEA_ID_MAX + 1] = "";
		if (!v1) {
			lealen = lt_wire_u8(r);
			lt_wire_read(r, lea, HO_LEA_ID_MAX);
		}
		uint64_t epoch = lt_wire_u64(r);
		uint8_t xid[16];
		lt_wire_read(r, xid, 16);
		uint32_t max = lt_wire_u32(r);
		if (idlen > HO_SPOOL_ID_MAX || lealen > HO_LEA_ID_MAX || lt_wire_rd_err(r))
			return -1;
		id[idlen] = '\0';
		lea[lealen] = '\0';
		if (strlen(lea) != lealen)
			return -1;
		uint32_t ix = lea_ix(d, lea, 1);
		if (ix != UINT32_MAX)
			note_locked(d, id, epoch, xid, ix, max);
	}
	return 0;
}

static void load(struct med_dedup *d)
{
	int fd = open(d->path, O_RDONLY);
	if (fd < 0) {
		if (errno != ENOENT)
			lt_warn("dedup: %s: %s (rebuilt from the spool alone)", d->path,
			        strerror(errno));
		return;
	}
	struct stat st;
	size_t len = 0;
	uint8_t *buf = NULL;
	if (fstat(fd, &st) == 0 && st.st_size >= 12 &&
	    (uint64_t)st.st_size <= 12 + (uint64_t)MED_DEDUP_MAX * ENTRY_LEN) {
		len = (size_t)st.st_size;
		buf = malloc(len);
		if (buf && read(fd, buf, len) != (ssize_t)len) {
			free(buf);
			buf = NULL;
		}
	}
	close(fd);
	struct lt_wire_rd r = lt_wire_rd_init(buf, buf ? len : 0);
	uint32_t magic = lt_wire_u32(&r), n = lt_wire_u32(&r);
	int v1 = magic == DEDUP_MAGIC1;
	uint64_t elen = v1 ? ENTRY_LEN1 : ENTRY_LEN;
	int ok = buf && !lt_wire_rd_err(&r) && (magic == DEDUP_MAGIC || v1) && n <= MED_DEDUP_MAX &&
	         (uint64_t)n * elen + 12 == len &&
	         ho_crc32c(0, buf, len - 4) ==
	             ((uint32_t)buf[len - 4] << 24 | (uint32_t)buf[len - 3] << 16 |
	              (uint32_t)buf[len - 2] << 8 | buf[len - 1]);
	if (ok) {
		pthread_mutex_lock(&d->mu);
		ok = load_entries(d, &r, n, v1) == 0;
		if (!ok)
			d->n = 0; /* none of a corrupt file's marks */
		pthread_mutex_unlock(&d->mu);
	}
	if (!ok)
		lt_warn("dedup: %s is corrupt, ignored (rebuilt from the spool alone)", d->path);
	else if (v1 && n)
		lt_info("dedup: %s is of the format before per-LEA marks: its %" PRIu32
		        " marks hold for every LEA of their XID (rewritten in the new format on "
		        "the next save)",
		        d->path, n);
	free(buf);
}

void med_dedup_save(void *arg)
{
	struct med_dedup *d = arg;
	if (!d)
		return;
	pthread_mutex_lock(&d->mu);
	size_t len = 12 + d->n * ENTRY_LEN;
	uint8_t *buf = malloc(len);
	if (!buf) {
		pthread_mutex_unlock(&d->mu);
		lt_err("dedup: out of memory saving %s", d->path);
		return;
	}
	struct lt_wire_wr w = lt_wire_wr_init(buf, len);
	lt_wire_put_u32(&w, DEDUP_MAGIC);
	lt_wire_put_u32(&w, (uint32_t)d->n);
	for (size_t i = 0; i < d->n; i++) {
		const struct dd_entry *e = &d->e[i];
		uint8_t id[HO_SPOOL_ID_MAX] = {0}, lea[HO_LEA_ID_MAX] = {0};
		size_t idlen = strnlen(e->iap, HO_SPOOL_ID_MAX), lealen = 0;
		memcpy(id, e->iap, idlen);
		if (e->lea) {
			const char *s = d->lea[e->lea - 1]->id;
			lealen = strnlen(s, HO_LEA_ID_MAX);
			memcpy(lea, s, lealen);
		}
		lt_wire_put_u8(&w, (uint8_t)idlen);
		lt_wire_put(&w, id, sizeof id);
		lt_wire_put_u8(&w, (uint8_t)lealen);
		lt_wire_put(&w, lea, sizeof lea);
		lt_wire_put_u64(&w, e->epoch);
		lt_wire_put(&w, e->xid, 16);
		lt_wire_put_u32(&w, e->max);
	}
	pthread_mutex_unlock(&d->mu);
	lt_wire_put_u32(&w, ho_crc32c(0, buf, len - 4));
	char tmp[sizeof d->path + 8];
	snprintf(tmp, sizeof tmp, "%s.tmp", d->path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int ok = fd >= 0 && write(fd, buf, len) == (ssize_t)len && fsync(fd) == 0;
	if (fd >= 0)
		close(fd);
	if (!ok || rename(tmp, d->path) != 0)
		lt_err("dedup: cannot save %s: %s", d->path, strerror(errno));
	free(buf);
}

void med_delivery_site_lea(struct med_ctx *m, struct ho_site *site, const char *lea)
{
	const struct med_config *c = m->cfg;
	snprintf(site->spool_dir, sizeof site->spool_dir, "%s/spool", c->state_dir);
	site->spool_max_bytes = c->spool_max_bytes;
	site->spool_segment_bytes = c->spool_segment_bytes;
	site->fsync = c->fsync;
	if (!m->dedup)
		m->dedup = med_dedup_new(c->state_dir);
	site->key_fn = med_dedup_key_fn;
	site->key_arg = m->dedup;
	site->before_delete = med_dedup_save;
	if (!m->dedup || !lea || !*lea)
		return;
	pthread_mutex_lock(&m->dedup->mu);
	struct dd_lea *l = lea_get(m->dedup, lea, 1);
	pthread_mutex_unlock(&m->dedup->mu);
	if (!l) {
		/* the spool's keys then raise the marks for every LEA: a resend after a restart
		 * may miss an LEA whose write had failed, logged as the risk it is */
		lt_err("dedup: out of memory for lea %s: its spooled keys count for every LEA",
		       lea);
		return;
	}
	site->key_fn = lea_key_fn;
	site->key_arg = l;
	site->before_delete = lea_save;
}

int med_spool_sync(struct med_ctx *m)
{
	/* Every policy: the spools keep appended records in memory until a block is full, so
	 * they are written here first ("always": already written and synced on append; "none":
	 * written, never synced; "batch": written and fdatasync'd). */
	int rc = 0;
	pthread_rwlock_rdlock(&m->wl);
	pthread_mutex_lock(&m->ho_mu);
	for (size_t i = 0; i < m->nleas; i++)
		if (!m->leas[i]->removed && m->leas[i]->ho && ho_sync(m->leas[i]->ho) != 0)
			rc = -1;
	pthread_mutex_unlock(&m->ho_mu);
	pthread_rwlock_unlock(&m->wl);
	return rc;
}

struct med_dedup *med_dedup_new(const char *state_dir)
{
	struct med_dedup *d = calloc(1, sizeof *d);
	if (!d)
		return NULL;
	pthread_mutex_init(&d->mu, NULL);
	snprintf(d->path, sizeof d->path, "%s/dedup", state_dir);
	load(d);
	return d;
}

void med_dedup_free(struct med_dedup *d)
{
	if (!d)
		return;
	pthread_mutex_destroy(&d->mu);
	for (size_t i = 0; i < d->nlea; i++)
		free(d->lea[i]);
	free(d->lea);
	free(d->e);
	free(d);
}
