/* mediation/dedup.c: de-duplication of X2/X3 records at the mediator (docs/delivery.md).
 *
 * Key: (IAP id, IAP run epoch, XID, IAP sequence number). An IAP numbers the PDUs of one XID
 * from 0 within a run and resends unacknowledged ones in order, so the state is one high-water
 * mark per (IAP id, epoch, XID): a record whose sequence number is not above it was spooled
 * already. The marks are rebuilt at start from the keys stored with the spooled records, and
 * saved to <state_dir>/dedup (atomically, fsync'd) before spool segments are deleted, so a
 * deleted segment never takes marks with it. At most MED_DEDUP_MAX marks are kept; beyond, the
 * least recently used one is forgotten (logged once). */
#include "med_int.h"

#include "handover/spool.h"
#include "lib/log.h"
#include "lib/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MED_DEDUP_MAX 65536
#define DEDUP_MAGIC 0x4c544431u /* "LTD1" */
#define ENTRY_LEN (1 + 16 + 8 + 16 + 4)

struct dd_entry {
	char iap[HO_SPOOL_ID_MAX + 1];
	uint64_t epoch;
	uint8_t xid[16];
	uint32_t max;
	uint64_t used; /* LRU clock */
};

struct med_dedup {
	pthread_mutex_t mu;
	struct dd_entry *e; /* sorted by (iap, epoch, xid) */
	size_t n, cap;
	uint64_t clock;
	int evict_logged;
	char path[MED_PATH_MAX + 16];
};

static int cmp_key(const char *iap, uint64_t epoch, const uint8_t *xid, const struct dd_entry *e)
{
	int c = strcmp(iap, e->iap);
	if (c)
		return c;
	if (epoch != e->epoch)
		return epoch < e->epoch ? -1 : 1;
	return memcmp(xid, e->xid, 16);
}

/* Index of the key, or of where it would go (*found 0). */
static size_t find(const struct med_dedup *d, const char *iap, uint64_t epoch, const uint8_t *xid,
                   int *found)
{
	size_t lo = 0, hi = d->n;
	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_key(iap, epoch, xid, &d->e[mid]);
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

/* With d->mu held: raises the mark of the key to seq (inserting it). */
static void note_locked(struct med_dedup *d, const char *iap, uint64_t epoch, const uint8_t *xid,
                        uint32_t seq)
{
	int found;
	size_t i = find(d, iap, epoch, xid, &found);
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
			    "dedup: more than %d (IAP, run, XID) marks: the least recently used "
			    "are forgotten",
			    MED_DEDUP_MAX);
		d->evict_logged = 1;
		memmove(&d->e[old], &d->e[old + 1], (d->n - old - 1) * sizeof *d->e);
		d->n--;
		i = find(d, iap, epoch, xid, &found);
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
	e->epoch = epoch;
	memcpy(e->xid, xid, 16);
	e->max = seq;
	e->used = ++d->clock;
	d->n++;
}

int med_dedup_seen(struct med_dedup *d, const struct ho_spool_key *k)
{
	if (!d || !k->has)
		return 0;
	pthread_mutex_lock(&d->mu);
	int found;
	size_t i = find(d, k->iap, k->epoch, k->xid, &found);
	int seen = found && k->seq <= d->e[i].max;
	pthread_mutex_unlock(&d->mu);
	return seen;
}

int med_dedup_mark(struct med_dedup *d, const struct ho_spool_key *k, uint32_t *max)
{
	*max = 0;
	if (!d)
		return 0;
	pthread_mutex_lock(&d->mu);
	int found;
	size_t i = find(d, k->iap, k->epoch, k->xid, &found);
	if (found)
		*max = d->e[i].max;
	pthread_mutex_unlock(&d->mu);
	return found;
}

void med_dedup_note(struct med_dedup *d, const struct ho_spool_key *k)
{
	if (!d || !k->has)
		return;
	pthread_mutex_lock(&d->mu);
	note_locked(d, k->iap, k->epoch, k->xid, k->seq);
	pthread_mutex_unlock(&d->mu);
}

/* The spool's key callback at open. */
void med_dedup_key_fn(void *arg, const struct ho_spool_key *k)
{
	med_dedup_note(arg, k);
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
	int ok = buf && !lt_wire_rd_err(&r) && magic == DEDUP_MAGIC &&
	         (uint64_t)n * ENTRY_LEN + 12 == len &&
	         ho_crc32c(0, buf, len - 4) ==
	             ((uint32_t)buf[len - 4] << 24 | (uint32_t)buf[len - 3] << 16 |
	              (uint32_t)buf[len - 2] << 8 | buf[len - 1]);
	for (uint32_t i = 0; ok && i < n; i++) {
		uint8_t idlen = lt_wire_u8(&r);
		char id[HO_SPOOL_ID_MAX + 1] = "";
		lt_wire_read(&r, id, HO_SPOOL_ID_MAX);
		uint64_t epoch = lt_wire_u64(&r);
		uint8_t xid[16];
		lt_wire_read(&r, xid, 16);
		uint32_t max = lt_wire_u32(&r);
		if (idlen > HO_SPOOL_ID_MAX || lt_wire_rd_err(&r)) {
			ok = 0;
			break;
		}
		id[idlen] = '\0';
		note_locked(d, id, epoch, xid, max);
	}
	if (!ok)
		lt_warn("dedup: %s is corrupt, ignored (rebuilt from the spool alone)", d->path);
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
		uint8_t id[HO_SPOOL_ID_MAX] = {0};
		size_t idlen = strnlen(d->e[i].iap, HO_SPOOL_ID_MAX);
		memcpy(id, d->e[i].iap, idlen);
		lt_wire_put_u8(&w, (uint8_t)idlen);
		lt_wire_put(&w, id, sizeof id);
		lt_wire_put_u64(&w, d->e[i].epoch);
		lt_wire_put(&w, d->e[i].xid, 16);
		lt_wire_put_u32(&w, d->e[i].max);
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

void med_delivery_site(struct med_ctx *m, struct ho_site *site)
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
	free(d->e);
	free(d);
}
