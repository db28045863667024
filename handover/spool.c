/* handover/spool.c: the on-disk spool of one handover (segment files + cursor), spool.h.
 * The model is Fluent Bit's chunkio: append-only files of CRC-protected records, replayed
 * after a restart from a durable cursor; a torn tail is cut off. */
#include "spool.h"

#include "lib/crc32c.h"
#include "lib/log.h"
#include "lib/timeutil.h"
#include "lib/wire.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define SEG_DEFAULT ((uint64_t)64 * 1024 * 1024)
#define SCAN_BUF (256 * 1024)
#define CURSOR_LEN 36            /* magic u32, seg u64, off u64, rec u64, reserved u32, crc u32 */
#define CURSOR_MAGIC 0x4c544331u /* "LTC1" */
#define CURSOR_SAVE_MS 500
#define FREE_MAX 2  /* confirmed segment files kept for reuse ("free-<n>", spool.h) */
#define END_MARK 64 /* zero bytes written after the data of a recycled segment file */
static const uint8_t end_mark[END_MARK];

struct seg {
	uint64_t first;   /* record number of its first record (also its name) */
	uint64_t nrec;    /* records appended (in the file or in the tail below) */
	uint64_t bytes;   /* valid bytes appended */
	uint64_t written; /* bytes in the file (= bytes except in the newest segment) */
	uint64_t wrec;    /* records in the file (= nrec except in the newest segment) */
	int fd;
	int legacy;   /* holds untagged records (spool.h): deleted, not recycled */
	int recycled; /* a reused file: bytes of its earlier use follow what was written */
};

/* The in-memory tail: the newest records as they are (and will be) in the segment file, in
 * TAIL_CHUNKS chunks of TAIL_CHUNK bytes, oldest first in a ring. Appends go into the newest
 * chunk and are written to the file in one write() when the chunk is full, at a sync, or when
 * a reader reaches them; only the newest chunk holds bytes not yet in the file. Readers take
 * records from here while they keep up and from the file (in READ_BUF blocks) when they fell
 * behind the tail. Chunks are allocated when first used. */
#define TAIL_CHUNKS 4
#define TAIL_CHUNK (256 * 1024) /* > HO_SPOOL_HDR + HO_SPOOL_REC_MAX: a record always fits */
#define READ_BUF (256 * 1024)
struct chunk {
	uint8_t *buf;
	uint64_t seg; /* the segment it belongs to */
	uint64_t off; /* file offset of buf[0] in it */
	size_t len;   /* bytes of whole records */
};

struct ho_spool {
	char dir[1200];
	char name[64];
	uint64_t seg_bytes;
	int fsync;
	struct seg *segs;
	size_t nsegs, capsegs;
	struct ho_spool_pos cursor;
	uint64_t total;
	uint64_t cut;
	int dirty; /* written since the last fdatasync (fsync batch) */
	/* an fdatasync of this spool failed: the kernel may have dropped the failed pages' error,
	 * so no later sync may vouch for them; every sync fails from then on (spool.h) */
	int sync_failed;
	int lock_fd;
	int io_err_logged;
	int64_t cursor_ms;  /* when the cursor file was last written (monotonic) */
	int cursor_unsaved; /* the cursor moved since */
	struct chunk tail[TAIL_CHUNKS];
	size_t tail_first, tail_n; /* ring: oldest chunk, number in use */
	uint8_t *rd;               /* file read block: rd_len bytes of segment rd_seg at rd_off */
	uint64_t rd_seg, rd_off;
	size_t rd_len;
	uint64_t freeid[FREE_MAX]; /* recycled files "free-<n>" ready for the next segment */
	size_t nfree;
	uint64_t next_free;
};

/* ---- CRC32C (Castagnoli): lib/crc32c.c (SSE4.2 instruction when the CPU has it) ---- */
uint32_t ho_crc32c(uint32_t crc, const void *buf, size_t len)
{
	return lt_crc32c(crc, buf, len);
}

/* ---- record format ---- */
static inline void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Layout in spool.h; direct stores (per record). */
void ho_spool_rec_header(uint8_t hdr[HO_SPOOL_HDR], const struct ho_spool_key *k,
                         const uint8_t *pdu, size_t len, uint64_t seg)
{
	int has = k && k->has;
	size_t idlen = has ? strnlen(k->iap, HO_SPOOL_ID_MAX) : 0;
	memset(hdr, 0, HO_SPOOL_HDR);
	be32(hdr, HO_SPOOL_MAGIC);
	be32(hdr + 4, (uint32_t)len);
	seg &= HO_SPOOL_TAG_MASK;
	hdr[12] = 2;
	hdr[14] = (uint8_t)(seg >> 40);
	hdr[15] = (uint8_t)(seg >> 32);
	be32(hdr + 60, (uint32_t)seg);
	if (has) {
		hdr[12] |= 1;
		hdr[13] = (uint8_t)idlen;
		memcpy(hdr + 16, k->iap, idlen);
		be32(hdr + 32, (uint32_t)(k->epoch >> 32));
		be32(hdr + 36, (uint32_t)k->epoch);
		memcpy(hdr + 40, k->xid, 16);
		be32(hdr + 56, k->seq);
	}
	if (pdu == hdr + HO_SPOOL_HDR) /* the record image in one piece (the spool's tail) */
		be32(hdr + 8, ho_crc32c(0, hdr + 12, HO_SPOOL_HDR - 12 + len));
	else
		be32(hdr + 8, ho_crc32c(ho_crc32c(0, hdr + 12, HO_SPOOL_HDR - 12), pdu, len));
}

int ho_spool_rec_check(const uint8_t *buf, size_t avail, size_t *reclen, struct ho_spool_key *k,
                       const char **why)
{
	struct lt_wire_rd r = lt_wire_rd_init(buf, avail);
	*why = NULL;
	if (avail < HO_SPOOL_HDR)
		return 1;
	uint32_t magic = lt_wire_u32(&r);
	uint32_t len = lt_wire_u32(&r);
	uint32_t crc = lt_wire_u32(&r);
	uint8_t flags = lt_wire_u8(&r);
	uint8_t idlen = lt_wire_u8(&r);
	uint16_t res1 = lt_wire_u16(&r);
	uint8_t id[HO_SPOOL_ID_MAX];
	lt_wire_read(&r, id, sizeof id);
	uint64_t epoch = lt_wire_u64(&r);
	uint8_t xid[16];
	lt_wire_read(&r, xid, sizeof xid);
	uint32_t seq = lt_wire_u32(&r);
	uint32_t res2 = lt_wire_u32(&r);
	if (lt_wire_rd_err(&r))
		return 1;
	if (magic != HO_SPOOL_MAGIC) {
		*why = "bad record magic";
		return -1;
	}
	if (len == 0 || len > HO_SPOOL_REC_MAX) {
		*why = "record length out of bounds";
		return -1;
	}
	if ((flags & ~3u) || (!(flags & 2) && (res1 || res2)) || idlen > HO_SPOOL_ID_MAX ||
	    (!(flags & 1) && idlen)) {
		*why = "bad record header fields";
		return -1;
	}
	if (avail - HO_SPOOL_HDR < len)
		return 1;
	uint32_t c = ho_crc32c(0, buf + 12, HO_SPOOL_HDR - 12);
	c = ho_crc32c(c, buf + HO_SPOOL_HDR, len);
	if (c != crc) {
		*why = "record CRC mismatch";
		return -1;
	}
	if (k) {
		memset(k, 0, sizeof *k);
		k->has = flags & 1;
		memcpy(k->iap, id, idlen);
		k->iap[idlen] = '\0';
		k->epoch = epoch;
		memcpy(k->xid, xid, 16);
		k->seq = seq;
	}
	*reclen = HO_SPOOL_HDR + (size_t)len;
	return 0;
}

int ho_spool_rec_tag(const uint8_t hdr[HO_SPOOL_HDR], uint64_t *tag)
{
	if (!(hdr[12] & 2))
		return 0;
	*tag = (uint64_t)hdr[14] << 40 | (uint64_t)hdr[15] << 32 | (uint64_t)hdr[60] << 24 |
	       (uint64_t)hdr[61] << 16 | (uint64_t)hdr[62] << 8 | hdr[63];
	return 1;
}

/* ---- helpers ---- */
static void seg_path(const struct ho_spool *sp, uint64_t first, char *out, size_t len)
{
	snprintf(out, len, "%s/%020" PRIu64 ".seg", sp->dir, first);
}

static void free_path(const struct ho_spool *sp, uint64_t id, char *out, size_t len)
{
	snprintf(out, len, "%s/free-%" PRIu64, sp->dir, id);
}

static int mkdirs(const char *path)
{
	char tmp[1300];
	snprintf(tmp, sizeof tmp, "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

static int sync_dir(const struct ho_spool *sp)
{
	if (sp->fsync == HO_FSYNC_NONE)
		return 0;
	int dfd = open(sp->dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return -1;
	int rc = fsync(dfd);
	close(dfd);
	return rc;
}

static int add_seg(struct ho_spool *sp, uint64_t first, int fd)
{
	if (sp->nsegs == sp->capsegs) {
		size_t nc = sp->capsegs ? sp->capsegs * 2 : 8;
		struct seg *ns = realloc(sp->segs, nc * sizeof *ns);
		if (!ns)
			return -1;
		sp->segs = ns;
		sp->capsegs = nc;
	}
	sp->segs[sp->nsegs++] = (struct seg){first, 0, 0, 0, 0, fd, 0, 0};
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Scans one segment: counts its valid records, reports keys, checks whether the cursor offset
 * (cur_off, or UINT64_MAX) is a record boundary. Cuts an invalid tail off (logged). */
static int scan_seg(struct ho_spool *sp, struct seg *s, uint8_t *buf, ho_spool_key_fn fn, void *arg,
                    uint64_t cur_off, int *cur_ok, char *err, size_t errlen)
{
	char path[1300];
	seg_path(sp, s->first, path, sizeof path);
	struct stat st;
	if (fstat(s->fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	uint64_t size = (uint64_t)st.st_size, off = 0;
	size_t have = 0, pos = 0;
	const char *why = NULL;
	int stale = 0; /* stopped at a record of the file's earlier use (recycled) */
	for (;;) {
		if (off == cur_off)
			*cur_ok = 1;
		if (have - pos < SCAN_BUF / 2 && off + (have - pos) < size) {
			memmove(buf, buf + pos, have - pos);
			have -= pos;
			pos = 0;
			ssize_t n = pread(s->fd, buf + have, SCAN_BUF - have, (off_t)(off + have));
			if (n < 0) {
				snprintf(err, errlen, "%s: read: %s", path, strerror(errno));
				return -1;
			}
			have += (size_t)n;
		}
		if (pos == have)
			break;
		size_t rl = 0;
		struct ho_spool_key k;
		int rc = ho_spool_rec_check(buf + pos, have - pos, &rl, &k, &why);
		if (rc != 0) {
			/* the end mark of a recycled file (flush_tail): the rest is its earlier use
			 */
			stale = have - pos >= END_MARK && !memcmp(buf + pos, end_mark, END_MARK);
			if (rc > 0)
				why = "partial record at the end";
			break;
		}
		uint64_t tag;
		if (!ho_spool_rec_tag(buf + pos, &tag)) {
			s->legacy = 1;
		} else if (tag != (s->first & HO_SPOOL_TAG_MASK)) {
			stale = 1;
			break;
		}
		if (fn)
			fn(arg, &k);
		s->nrec++;
		pos += rl;
		off += rl;
	}
	s->bytes = off;
	if (off < size && stale) {
		/* the rest of a recycled file: its earlier segment's records, not data of this one
		 */
		lt_info("%s: spool %s: end of segment at offset %" PRIu64 "; the %" PRIu64
		        " bytes after it (the earlier use of a recycled file) dropped",
		        sp->name, path, off, size - off);
		if (ftruncate(s->fd, (off_t)off) != 0) {
			snprintf(err, errlen, "%s: truncate: %s", path, strerror(errno));
			return -1;
		}
	} else if (off < size) {
		lt_warn("%s: spool %s: %s at offset %" PRIu64 ", %" PRIu64
		        " bytes cut off (a crash leaves a partial record; they are received "
		        "again from the IAP if they were never acknowledged)",
		        sp->name, path, why ? why : "invalid record", off, size - off);
		sp->cut += size - off;
		if (ftruncate(s->fd, (off_t)off) != 0) {
			snprintf(err, errlen, "%s: truncate: %s", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int read_cursor(struct ho_spool *sp, struct ho_spool_pos *c)
{
	char path[1300];
	snprintf(path, sizeof path, "%s/cursor", sp->dir);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return errno == ENOENT ? 1 : -1;
	uint8_t b[CURSOR_LEN + 1];
	ssize_t n = read(fd, b, sizeof b);
	close(fd);
	if (n != CURSOR_LEN)
		return -1;
	struct lt_wire_rd r = lt_wire_rd_init(b, CURSOR_LEN);
	uint32_t magic = lt_wire_u32(&r);
	c->seg = lt_wire_u64(&r);
	c->off = lt_wire_u64(&r);
	c->rec = lt_wire_u64(&r);
	lt_wire_skip(&r, 4);
	uint32_t crc = lt_wire_u32(&r);
	if (lt_wire_rd_err(&r) || magic != CURSOR_MAGIC || crc != ho_crc32c(0, b, CURSOR_LEN - 4))
		return -1;
	return 0;
}

static int write_cursor(const struct ho_spool *sp, const struct ho_spool_pos *c)
{
	char path[1300], tmp[1300];
	snprintf(path, sizeof path, "%s/cursor", sp->dir);
	snprintf(tmp, sizeof tmp, "%s/cursor.tmp", sp->dir);
	uint8_t b[CURSOR_LEN];
	struct lt_wire_wr w = lt_wire_wr_init(b, sizeof b);
	lt_wire_put_u32(&w, CURSOR_MAGIC);
	lt_wire_put_u64(&w, c->seg);
	lt_wire_put_u64(&w, c->off);
	lt_wire_put_u64(&w, c->rec);
	lt_wire_put_u32(&w, 0);
	lt_wire_put_u32(&w, ho_crc32c(0, b, CURSOR_LEN - 4));
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	int ok = write(fd, b, sizeof b) == (ssize_t)sizeof b &&
	         (sp->fsync == HO_FSYNC_NONE || fdatasync(fd) == 0);
	close(fd);
	if (!ok || rename(tmp, path) != 0)
		return -1;
	return sync_dir(sp);
}

static int open_new_seg(struct ho_spool *sp, uint64_t first)
{
	char path[1300];
	seg_path(sp, first, path, sizeof path);
	int fd = -1;
	while (fd < 0 && sp->nfree) { /* a recycled file: overwritten from offset 0 (spool.h) */
		char fpath[1300];
		free_path(sp, sp->freeid[--sp->nfree], fpath, sizeof fpath);
		if (rename(fpath, path) == 0)
			fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			lt_warn("%s: spool: cannot reuse %s: %s", sp->name, fpath, strerror(errno));
			(void)unlink(fpath);
		}
	}
	if (fd < 0)
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		lt_err("%s: spool: cannot create %s: %s", sp->name, path, strerror(errno));
		return -1;
	}
	if (add_seg(sp, first, fd) != 0) {
		close(fd);
		return -1;
	}
	struct stat st;
	sp->segs[sp->nsegs - 1].recycled = fstat(fd, &st) != 0 || st.st_size > 0;
	if (sync_dir(sp) != 0)
		lt_warn("%s: spool: fsync of %s failed: %s", sp->name, sp->dir, strerror(errno));
	return 0;
}

static struct seg *find_seg(struct ho_spool *sp, uint64_t first, size_t *idx)
{
	for (size_t i = 0; i < sp->nsegs; i++)
		if (sp->segs[i].first == first) {
			*idx = i;
			return &sp->segs[i];
		}
	return NULL;
}

struct ho_spool *ho_spool_open(const struct ho_spool_conf *c, ho_spool_key_fn key_fn, void *arg,
                               char *err, size_t errlen)
{
	struct ho_spool *sp = calloc(1, sizeof *sp);
	uint8_t *buf = malloc(SCAN_BUF);
	uint64_t *firsts = NULL;
	size_t nf = 0, capf = 0;
	DIR *d = NULL;
	if (!sp || !buf) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	sp->lock_fd = -1;
	snprintf(sp->dir, sizeof sp->dir, "%s", c->dir);
	snprintf(sp->name, sizeof sp->name, "%s", c->name ? c->name : c->dir);
	sp->seg_bytes = c->seg_bytes ? c->seg_bytes : SEG_DEFAULT;
	sp->fsync = c->fsync;
	if (mkdirs(sp->dir) != 0) {
		snprintf(err, errlen, "spool %s: %s", sp->dir, strerror(errno));
		goto fail;
	}
	/* One owner per spool: another handover (or mediator) on the same directory would
	 * interleave records and cursors. */
	char lpath[1300];
	snprintf(lpath, sizeof lpath, "%s/lock", sp->dir);
	sp->lock_fd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (sp->lock_fd < 0 || flock(sp->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		snprintf(err, errlen, "spool %s is in use by another handover or mediator (%s)",
		         sp->dir, strerror(errno));
		goto fail;
	}
	d = opendir(sp->dir);
	if (!d) {
		snprintf(err, errlen, "spool %s: %s", sp->dir, strerror(errno));
		goto fail;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		const char *n = e->d_name;
		if (strncmp(n, "free-", 5) == 0 && n[5] &&
		    strspn(n + 5, "0123456789") == strlen(n + 5)) {
			uint64_t id = strtoull(n + 5, NULL, 10);
			if (id >= sp->next_free)
				sp->next_free = id + 1;
			if (sp->nfree < FREE_MAX) {
				sp->freeid[sp->nfree++] = id;
			} else {
				char fpath[1300];
				free_path(sp, id, fpath, sizeof fpath);
				(void)unlink(fpath);
			}
			continue;
		}
		if (strlen(n) != 24 || strcmp(n + 20, ".seg") != 0 || strspn(n, "0123456789") != 20)
			continue;
		if (nf == capf) {
			capf = capf ? capf * 2 : 16;
			uint64_t *nfp = realloc(firsts, capf * sizeof *nfp);
			if (!nfp) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			firsts = nfp;
		}
		firsts[nf++] = strtoull(n, NULL, 10);
	}
	closedir(d);
	d = NULL;
	if (nf)
		qsort(firsts, nf, sizeof *firsts, cmp_u64);

	struct ho_spool_pos cur = {0, 0, 0};
	int crc = read_cursor(sp, &cur);
	if (crc < 0)
		lt_warn("%s: spool %s: cursor unreadable or corrupt, replaying from the oldest "
		        "record (the LEA drops what it already has)",
		        sp->name, sp->dir);
	int cur_ok = 0, cur_found = 0;
	for (size_t i = 0; i < nf; i++) {
		char path[1300];
		seg_path(sp, firsts[i], path, sizeof path);
		if (sp->nsegs &&
		    firsts[i] < sp->segs[sp->nsegs - 1].first + sp->segs[sp->nsegs - 1].nrec) {
			lt_warn("%s: spool: %s overlaps the previous segment, ignored", sp->name,
			        path);
			continue;
		}
		int fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0 || add_seg(sp, firsts[i], fd) != 0) {
			snprintf(err, errlen, "%s: %s", path,
			         fd < 0 ? strerror(errno) : "no memory");
			if (fd >= 0)
				close(fd);
			goto fail;
		}
		struct seg *s = &sp->segs[sp->nsegs - 1];
		int here = crc == 0 && cur.seg == s->first;
		int ok = 0;
		if (scan_seg(sp, s, buf, key_fn, arg, here ? cur.off : UINT64_MAX, &ok, err,
		             errlen) != 0)
			goto fail;
		if (here) {
			cur_found = 1;
			cur_ok = ok;
		}
		s->written = s->bytes;
		s->wrec = s->nrec;
		sp->total += s->bytes;
	}
	if (sp->nsegs == 0 && open_new_seg(sp, crc == 0 ? cur.rec : 0) != 0) {
		snprintf(err, errlen, "spool %s: cannot create a segment", sp->dir);
		goto fail;
	}
	/* The cursor: trusted only when it points at a record boundary of a segment we have. */
	struct seg *s0 = &sp->segs[0];
	if (crc == 0 && cur_found && cur_ok) {
		sp->cursor = cur;
	} else {
		if (crc == 0 && !(cur.seg == s0->first && cur.off == 0))
			lt_warn("%s: spool %s: cursor (segment %" PRIu64 ", offset %" PRIu64
			        ") matches no record, replaying from the oldest record",
			        sp->name, sp->dir, cur.seg, cur.off);
		sp->cursor = (struct ho_spool_pos){s0->first, 0, s0->first};
	}
	/* The record number at the cursor: counted from its segment (the file's count is not
	 * trusted; the headers up to cursor.off were all checked by the scan). */
	size_t ci = 0;
	struct seg *cs = find_seg(sp, sp->cursor.seg, &ci);
	uint64_t off = 0, n = 0;
	while (cs && off < sp->cursor.off) {
		uint8_t h[HO_SPOOL_HDR];
		if (pread(cs->fd, h, sizeof h, (off_t)off) != (ssize_t)sizeof h)
			break;
		struct lt_wire_rd r = lt_wire_rd_init(h, sizeof h);
		lt_wire_skip(&r, 4);
		off += HO_SPOOL_HDR + lt_wire_u32(&r);
		n++;
	}
	sp->cursor.rec = sp->cursor.seg + n;
	free(firsts);
	free(buf);
	return sp;
fail:
	if (d)
		closedir(d);
	free(firsts);
	free(buf);
	ho_spool_close(sp);
	return NULL;
}

static void io_err(struct ho_spool *sp, const char *what);

void ho_spool_close(struct ho_spool *sp)
{
	if (!sp)
		return;
	/* A successor may reopen the directory and acknowledge to the IAPs on its own sync:
	 * what was appended here must be in the file and durable first. */
	if (sp->nsegs)
		(void)ho_spool_sync(sp);
	if (sp->cursor_unsaved && write_cursor(sp, &sp->cursor) != 0)
		io_err(sp, "cannot write the cursor (confirmed records are sent again)");
	for (size_t i = 0; i < sp->nsegs; i++)
		if (sp->segs[i].fd >= 0)
			close(sp->segs[i].fd);
	free(sp->segs);
	for (size_t i = 0; i < TAIL_CHUNKS; i++)
		free(sp->tail[i].buf);
	free(sp->rd);
	if (sp->lock_fd >= 0)
		close(sp->lock_fd); /* releases the flock */
	free(sp);
}

static void io_err(struct ho_spool *sp, const char *what)
{
	if (!sp->io_err_logged)
		lt_err("%s: spool %s: %s: %s", sp->name, sp->dir, what, strerror(errno));
	sp->io_err_logged = 1;
}

static struct chunk *tail_newest(struct ho_spool *sp)
{
	return sp->tail_n ? &sp->tail[(sp->tail_first + sp->tail_n - 1) % TAIL_CHUNKS] : NULL;
}

/* Writes the appended bytes that are not in the file yet (all in the newest chunk) with one
 * write(). On failure the file is cut back to its whole records and the bytes stay in memory
 * for the next try. 0 or -1 (logged). */
static int flush_tail(struct ho_spool *sp)
{
	struct seg *s = &sp->segs[sp->nsegs - 1];
	if (s->written == s->bytes)
		return 0;
	struct chunk *c = tail_newest(sp);
	if (!c || c->seg != s->first || c->off > s->written || c->off + c->len != s->bytes) {
		errno = EINVAL; /* cannot happen: only the newest chunk holds unwritten bytes */
		io_err(sp, "spool tail out of step");
		return -1;
	}
	const uint8_t *p = c->buf + (s->written - c->off);
	size_t left = (size_t)(s->bytes - s->written), done = 0;
	while (done < left) {
		/* a recycled file gets an end mark after the data: a scan after a crash then tells
		 * the end of this segment from the earlier bytes that follow (scan_seg) */
		struct iovec iov[2] = {{(void *)(uintptr_t)(p + done), left - done},
		                       {(void *)(uintptr_t)end_mark, END_MARK}};
		ssize_t n = pwritev(s->fd, iov, s->recycled ? 2 : 1, (off_t)(s->written + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n > (ssize_t)(left - done))
			n = (ssize_t)(left - done);
		if (n <= 0) {
			if (n == 0)
				errno = ENOSPC;
			io_err(sp, "write");
			if (ftruncate(s->fd, (off_t)s->written) != 0)
				io_err(sp, "truncate after a failed write");
			return -1;
		}
		done += (size_t)n;
	}
	s->written = s->bytes;
	s->wrec = s->nrec;
	sp->dirty = sp->fsync == HO_FSYNC_BATCH;
	sp->io_err_logged = 0;
	return 0;
}

/* A new newest chunk for segment s at its end (the oldest chunk is reused once all are in
 * use). The caller flushed the tail first. NULL when out of memory. */
static struct chunk *tail_start(struct ho_spool *sp, const struct seg *s)
{
	struct chunk *c;
	if (sp->tail_n < TAIL_CHUNKS) {
		c = &sp->tail[(sp->tail_first + sp->tail_n) % TAIL_CHUNKS];
		if (!c->buf && !(c->buf = malloc(TAIL_CHUNK)))
			return NULL;
		sp->tail_n++;
	} else {
		c = &sp->tail[sp->tail_first];
		sp->tail_first = (sp->tail_first + 1) % TAIL_CHUNKS;
	}
	c->seg = s->first;
	c->off = s->bytes;
	c->len = 0;
	return c;
}

int ho_spool_append(struct ho_spool *sp, const struct ho_spool_key *k, const uint8_t *pdu,
                    size_t len)
{
	if (len == 0 || len > HO_SPOOL_REC_MAX)
		return -1;
	size_t rl = HO_SPOOL_HDR + len;
	struct seg *s = &sp->segs[sp->nsegs - 1];
	if (s->bytes > 0 && s->bytes + rl > sp->seg_bytes) {
		/* roll: the full segment is in the file and durable before the next one starts */
		if (flush_tail(sp) != 0)
			return -1;
		if (sp->fsync != HO_FSYNC_NONE && fdatasync(s->fd) != 0) {
			io_err(sp, "fdatasync");
			sp->sync_failed = 1;
			return -1;
		}
		sp->dirty = 0;
		if (open_new_seg(sp, s->first + s->nrec) != 0)
			return -1;
		s = &sp->segs[sp->nsegs - 1];
	}
	struct chunk *c = tail_newest(sp);
	if (!c || c->seg != s->first || c->off + c->len != s->bytes || c->len + rl > TAIL_CHUNK) {
		if (flush_tail(sp) != 0)
			return -1;
		if (!(c = tail_start(sp, s))) {
			errno = ENOMEM;
			io_err(sp, "spool tail");
			return -1;
		}
	}
	uint8_t *img = c->buf + c->len;
	memcpy(img + HO_SPOOL_HDR, pdu, len);
	ho_spool_rec_header(img, k, img + HO_SPOOL_HDR, len, s->first);
	c->len += rl;
	s->bytes += rl;
	s->nrec++;
	sp->total += rl;
	if (sp->fsync == HO_FSYNC_ALWAYS) {
		/* one record at a time, durable before the call returns */
		if (flush_tail(sp) != 0 || fdatasync(s->fd) != 0) {
			if (s->written == s->bytes) {
				io_err(sp, "fdatasync");
				sp->sync_failed = 1;
				if (ftruncate(s->fd, (off_t)(s->bytes - rl)) != 0)
					io_err(sp, "truncate after a failed fdatasync");
			}
			c->len -= rl;
			s->bytes -= rl;
			s->written = s->bytes;
			s->nrec--;
			s->wrec = s->nrec;
			sp->total -= rl;
			return -1;
		}
	} else if (c->len + HO_SPOOL_HDR + 1024 > TAIL_CHUNK) {
		(void)flush_tail(
		    sp); /* the chunk is full: into the file now (retried if it fails) */
	}
	return 0;
}

int ho_spool_flush(struct ho_spool *sp)
{
	return flush_tail(sp);
}

int ho_spool_sync(struct ho_spool *sp)
{
	if (sp->sync_failed || flush_tail(sp) != 0)
		return -1;
	if (!sp->dirty)
		return 0;
	if (fdatasync(sp->segs[sp->nsegs - 1].fd) != 0) {
		io_err(sp, "fdatasync");
		sp->sync_failed = 1;
		return -1;
	}
	sp->dirty = 0;
	return 0;
}

int ho_spool_sync_fd(struct ho_spool *sp)
{
	if (sp->sync_failed || flush_tail(sp) != 0)
		return -2;
	if (!sp->dirty || sp->fsync == HO_FSYNC_NONE)
		return -1;
	int fd = fcntl(sp->segs[sp->nsegs - 1].fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0) {
		io_err(sp, "dup for fdatasync");
		return -2;
	}
	sp->dirty = 0;
	return fd;
}

uint64_t ho_spool_unwritten(const struct ho_spool *sp)
{
	const struct seg *s = &sp->segs[sp->nsegs - 1];
	return s->bytes - s->written;
}

/* Moves pos past the end of its segment onto the next one; pos into a deleted segment (cannot
 * happen for the cursor or a reader behind it) goes to the oldest record. */
static struct seg *normalize(struct ho_spool *sp, struct ho_spool_pos *pos, size_t *idx)
{
	struct seg *s = find_seg(sp, pos->seg, idx);
	if (!s) {
		*idx = 0;
		s = &sp->segs[0];
		*pos = (struct ho_spool_pos){s->first, 0, s->first};
	}
	while (pos->off >= s->bytes && *idx + 1 < sp->nsegs) {
		(*idx)++;
		s = &sp->segs[*idx];
		*pos = (struct ho_spool_pos){s->first, 0, s->first};
	}
	return s;
}

/* The record image at pos (in segment s) from the tail, or NULL when it is not there. */
static const uint8_t *tail_find(const struct ho_spool *sp, const struct ho_spool_pos *pos)
{
	for (size_t i = sp->tail_n; i-- > 0;) {
		const struct chunk *c = &sp->tail[(sp->tail_first + i) % TAIL_CHUNKS];
		if (c->seg == pos->seg && pos->off >= c->off && pos->off < c->off + c->len)
			return c->buf + (pos->off - c->off);
	}
	return NULL;
}

/* The record image at pos from the file, through the read block (at most READ_BUF bytes per
 * pread). *len gets the payload length. NULL on a read error or a bad header (logged). */
static const uint8_t *file_find(struct ho_spool *sp, const struct seg *s,
                                const struct ho_spool_pos *pos, uint32_t *len)
{
	if (!sp->rd && !(sp->rd = malloc(READ_BUF))) {
		errno = ENOMEM;
		io_err(sp, "read");
		return NULL;
	}
	for (int pass = 0; pass < 2; pass++) {
		if (sp->rd_seg == s->first && pos->off >= sp->rd_off &&
		    pos->off + HO_SPOOL_HDR <= sp->rd_off + sp->rd_len) {
			const uint8_t *h = sp->rd + (pos->off - sp->rd_off);
			struct lt_wire_rd r = lt_wire_rd_init(h, HO_SPOOL_HDR);
			uint32_t magic = lt_wire_u32(&r);
			*len = lt_wire_u32(&r);
			if (magic != HO_SPOOL_MAGIC || *len == 0 || *len > HO_SPOOL_REC_MAX ||
			    pos->off + HO_SPOOL_HDR + *len > s->written) {
				/* written by us and checked at open: only outside tampering */
				errno = EINVAL;
				io_err(sp, "record header changed under us");
				return NULL;
			}
			if (pos->off + HO_SPOOL_HDR + *len <= sp->rd_off + sp->rd_len)
				return h;
		}
		if (pass)
			break;
		uint64_t want = s->written - pos->off;
		if (want > READ_BUF)
			want = READ_BUF;
		ssize_t n = pread(s->fd, sp->rd, (size_t)want, (off_t)pos->off);
		if (n < 0) {
			sp->rd_len = 0;
			io_err(sp, "read");
			return NULL;
		}
		sp->rd_seg = s->first;
		sp->rd_off = pos->off;
		sp->rd_len = (size_t)n;
	}
	errno = EIO;
	io_err(sp, "read (short)");
	return NULL;
}

size_t ho_spool_read_ex(struct ho_spool *sp, struct ho_spool_pos *pos, uint8_t *out, size_t cap,
                        uint64_t max_recs, uint64_t *nrec, int flush)
{
	size_t n = 0, idx;
	*nrec = 0;
	struct seg *s = normalize(sp, pos, &idx);
	while (*nrec < max_recs && pos->off < s->bytes) {
		if (pos->off >= s->written && (!flush || flush_tail(sp) != 0))
			break; /* only what is in the file is handed out (a crash keeps it) */
		uint32_t len;
		const uint8_t *img = tail_find(sp, pos);
		if (img) {
			len = (uint32_t)img[4] << 24 | (uint32_t)img[5] << 16 |
			      (uint32_t)img[6] << 8 | img[7];
		} else if (!(img = file_find(sp, s, pos, &len))) {
			break;
		}
		if (n + len > cap)
			break;
		memcpy(out + n, img + HO_SPOOL_HDR, len);
		n += len;
		pos->off += HO_SPOOL_HDR + len;
		pos->rec++;
		(*nrec)++;
		if (pos->off >= s->bytes && idx + 1 < sp->nsegs)
			s = normalize(sp, pos, &idx);
	}
	return n;
}

size_t ho_spool_read(struct ho_spool *sp, struct ho_spool_pos *pos, uint8_t *out, size_t cap,
                     uint64_t max_recs, uint64_t *nrec)
{
	return ho_spool_read_ex(sp, pos, out, cap, max_recs, nrec, 1);
}

struct ho_spool_pos ho_spool_written_end(const struct ho_spool *sp)
{
	const struct seg *s = &sp->segs[sp->nsegs - 1];
	return (struct ho_spool_pos){s->first, s->written, s->first + s->wrec};
}

int ho_spool_confirm_begin(struct ho_spool *sp, const struct ho_spool_pos *pos,
                           struct ho_spool_step *st)
{
	if (pos->rec < sp->cursor.rec)
		return 0;
	struct ho_spool_pos p = *pos;
	size_t idx;
	normalize(sp, &p, &idx);
	if (p.seg == sp->cursor.seg && p.off == sp->cursor.off)
		return 0;
	/* Segments wholly before the cursor's segment are done. The cursor file is rewritten
	 * (tmp, fsync, rename) at most every CURSOR_SAVE_MS while confirmations stream in, before
	 * segments are deleted, and at close; in between the confirmed position is kept in
	 * memory. A crash can then only resend what the LEA confirmed in the last CURSOR_SAVE_MS
	 * (the LEA drops duplicates), never lose. */
	int64_t now = lt_now_ms();
	if (idx || now - sp->cursor_ms >= CURSOR_SAVE_MS) {
		st->pos = p;
		st->drop = idx;
		st->now = now;
		return 1;
	}
	sp->cursor_unsaved = 1;
	sp->cursor = p;
	return 0;
}

int ho_spool_cursor_save(const struct ho_spool *sp, const struct ho_spool_step *st)
{
	return write_cursor(sp, &st->pos);
}

int ho_spool_confirm_finish(struct ho_spool *sp, const struct ho_spool_step *st, int saved)
{
	if (!saved) {
		io_err(sp, "cannot write the cursor");
		return -1;
	}
	sp->cursor_ms = st->now;
	sp->cursor_unsaved = 0;
	sp->cursor = st->pos;
	/* only confirmations remove segments (from the front): the first st->drop are the same */
	for (size_t i = 0; i < st->drop; i++) {
		char path[1300];
		seg_path(sp, sp->segs[i].first, path, sizeof path);
		close(sp->segs[i].fd);
		if (!sp->segs[i].legacy && sp->nfree < FREE_MAX) {
			char fpath[1300];
			free_path(sp, sp->next_free, fpath, sizeof fpath);
			if (rename(path, fpath) == 0) {
				sp->freeid[sp->nfree++] = sp->next_free++;
				sp->total -= sp->segs[i].bytes;
				continue;
			}
			lt_warn("%s: spool: cannot rename %s for reuse: %s", sp->name, path,
			        strerror(errno));
		}
		if (unlink(path) != 0)
			lt_warn("%s: spool: cannot delete %s: %s", sp->name, path, strerror(errno));
		sp->total -= sp->segs[i].bytes;
	}
	if (st->drop) {
		memmove(sp->segs, sp->segs + st->drop, (sp->nsegs - st->drop) * sizeof *sp->segs);
		sp->nsegs -= st->drop;
	}
	return 0;
}

int ho_spool_confirm(struct ho_spool *sp, const struct ho_spool_pos *pos)
{
	struct ho_spool_step st;
	int r = ho_spool_confirm_begin(sp, pos, &st);
	if (r <= 0)
		return r;
	return ho_spool_confirm_finish(sp, &st, ho_spool_cursor_save(sp, &st) == 0);
}

size_t ho_spool_would_delete(struct ho_spool *sp, const struct ho_spool_pos *pos)
{
	if (pos->rec < sp->cursor.rec)
		return 0;
	struct ho_spool_pos p = *pos;
	size_t idx;
	normalize(sp, &p, &idx);
	return idx;
}

struct ho_spool_pos ho_spool_cursor(const struct ho_spool *sp)
{
	return sp->cursor;
}

struct ho_spool_pos ho_spool_end(const struct ho_spool *sp)
{
	const struct seg *s = &sp->segs[sp->nsegs - 1];
	return (struct ho_spool_pos){s->first, s->bytes, s->first + s->nrec};
}

uint64_t ho_spool_bytes(const struct ho_spool *sp)
{
	return sp->total;
}

uint64_t ho_spool_cut(const struct ho_spool *sp)
{
	return sp->cut;
}
