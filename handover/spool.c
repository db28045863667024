/* handover/spool.c: the on-disk spool of one handover (segment files + cursor), spool.h.
 * The model is Fluent Bit's chunkio: append-only files of CRC-protected records, replayed
 * after a restart from a durable cursor; a torn tail is cut off. */
#include "spool.h"

#include "lib/log.h"
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

struct seg {
	uint64_t first; /* record number of its first record (also its name) */
	uint64_t nrec;
	uint64_t bytes; /* valid bytes */
	int fd;
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
	int dirty; /* appended since the last sync */
	int lock_fd;
	int io_err_logged;
};

/* ---- CRC32C (Castagnoli, reflected 0x82f63b78), byte-wise table ---- */
static uint32_t crc_table[256];
static int crc_ready;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[i] = c;
	}
	__atomic_store_n(&crc_ready, 1, __ATOMIC_RELEASE);
}

uint32_t ho_crc32c(uint32_t crc, const void *buf, size_t len)
{
	if (!__atomic_load_n(&crc_ready, __ATOMIC_ACQUIRE))
		crc_init(); /* idempotent: racing initialisers write the same table */
	const uint8_t *p = buf;
	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ---- record format ---- */
void ho_spool_rec_header(uint8_t hdr[HO_SPOOL_HDR], const struct ho_spool_key *k,
                         const uint8_t *pdu, size_t len)
{
	struct lt_wire_wr w = lt_wire_wr_init(hdr, HO_SPOOL_HDR);
	size_t idlen = k && k->has ? strnlen(k->iap, HO_SPOOL_ID_MAX) : 0;
	uint8_t id[HO_SPOOL_ID_MAX] = {0};
	if (idlen)
		memcpy(id, k->iap, idlen);
	lt_wire_put_u32(&w, HO_SPOOL_MAGIC);
	lt_wire_put_u32(&w, (uint32_t)len);
	lt_wire_put_u32(&w, 0); /* CRC, below */
	lt_wire_put_u8(&w, k && k->has ? 1 : 0);
	lt_wire_put_u8(&w, (uint8_t)idlen);
	lt_wire_put_u16(&w, 0);
	lt_wire_put(&w, id, sizeof id);
	lt_wire_put_u64(&w, k && k->has ? k->epoch : 0);
	static const uint8_t zero[16];
	lt_wire_put(&w, k && k->has ? k->xid : zero, 16);
	lt_wire_put_u32(&w, k && k->has ? k->seq : 0);
	lt_wire_put_u32(&w, 0);
	uint32_t crc = ho_crc32c(0, hdr + 12, HO_SPOOL_HDR - 12);
	crc = ho_crc32c(crc, pdu, len);
	struct lt_wire_wr c = lt_wire_wr_init(hdr + 8, 4);
	lt_wire_put_u32(&c, crc);
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
	if ((flags & ~1u) || res1 || res2 || idlen > HO_SPOOL_ID_MAX || (!(flags & 1) && idlen)) {
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

/* ---- helpers ---- */
static void seg_path(const struct ho_spool *sp, uint64_t first, char *out, size_t len)
{
	snprintf(out, len, "%s/%020" PRIu64 ".seg", sp->dir, first);
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
	sp->segs[sp->nsegs++] = (struct seg){first, 0, 0, fd};
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
			if (rc > 0)
				why = "partial record at the end";
			break;
		}
		if (fn)
			fn(arg, &k);
		s->nrec++;
		pos += rl;
		off += rl;
	}
	s->bytes = off;
	if (off < size) {
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

static int write_cursor(struct ho_spool *sp, const struct ho_spool_pos *c)
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
	int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		lt_err("%s: spool: cannot create %s: %s", sp->name, path, strerror(errno));
		return -1;
	}
	if (add_seg(sp, first, fd) != 0) {
		close(fd);
		return -1;
	}
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
		int fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
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

void ho_spool_close(struct ho_spool *sp)
{
	if (!sp)
		return;
	/* A successor may reopen the directory and acknowledge to the IAPs on its own sync:
	 * what was appended here must be durable first. */
	if (sp->nsegs)
		(void)ho_spool_sync(sp);
	for (size_t i = 0; i < sp->nsegs; i++)
		if (sp->segs[i].fd >= 0)
			close(sp->segs[i].fd);
	free(sp->segs);
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

int ho_spool_append(struct ho_spool *sp, const struct ho_spool_key *k, const uint8_t *pdu,
                    size_t len)
{
	if (len == 0 || len > HO_SPOOL_REC_MAX)
		return -1;
	struct seg *s = &sp->segs[sp->nsegs - 1];
	if (s->bytes > 0 && s->bytes + HO_SPOOL_HDR + len > sp->seg_bytes) {
		/* roll: the full segment is made durable before the next one starts */
		if (sp->fsync != HO_FSYNC_NONE && fdatasync(s->fd) != 0) {
			io_err(sp, "fdatasync");
			return -1;
		}
		if (open_new_seg(sp, s->first + s->nrec) != 0)
			return -1;
		s = &sp->segs[sp->nsegs - 1];
	}
	uint8_t hdr[HO_SPOOL_HDR];
	ho_spool_rec_header(hdr, k, pdu, len);
	struct iovec iov[2] = {{hdr, sizeof hdr}, {(void *)(uintptr_t)pdu, len}};
	ssize_t n = writev(s->fd, iov, 2);
	if (n != (ssize_t)(sizeof hdr + len)) {
		if (n >= 0)
			errno = ENOSPC;
		io_err(sp, "write");
		if (ftruncate(s->fd, (off_t)s->bytes) != 0)
			io_err(sp, "truncate after a failed write");
		return -1;
	}
	if (sp->fsync == HO_FSYNC_ALWAYS && fdatasync(s->fd) != 0) {
		io_err(sp, "fdatasync");
		return -1;
	}
	s->bytes += (uint64_t)n;
	s->nrec++;
	sp->total += (uint64_t)n;
	sp->dirty = sp->fsync == HO_FSYNC_BATCH;
	sp->io_err_logged = 0;
	return 0;
}

int ho_spool_sync(struct ho_spool *sp)
{
	if (!sp->dirty)
		return 0;
	if (fdatasync(sp->segs[sp->nsegs - 1].fd) != 0) {
		io_err(sp, "fdatasync");
		return -1;
	}
	sp->dirty = 0;
	return 0;
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

size_t ho_spool_read(struct ho_spool *sp, struct ho_spool_pos *pos, uint8_t *out, size_t cap,
                     uint64_t max_recs, uint64_t *nrec)
{
	size_t n = 0, idx;
	*nrec = 0;
	struct seg *s = normalize(sp, pos, &idx);
	while (*nrec < max_recs && pos->off < s->bytes) {
		uint8_t h[HO_SPOOL_HDR];
		if (pread(s->fd, h, sizeof h, (off_t)pos->off) != (ssize_t)sizeof h) {
			io_err(sp, "read");
			break;
		}
		struct lt_wire_rd r = lt_wire_rd_init(h, sizeof h);
		uint32_t magic = lt_wire_u32(&r), len = lt_wire_u32(&r);
		if (magic != HO_SPOOL_MAGIC || len == 0 || len > HO_SPOOL_REC_MAX ||
		    pos->off + HO_SPOOL_HDR + len > s->bytes) {
			/* written by us and checked at open: only outside tampering gets here */
			errno = EINVAL;
			io_err(sp, "record header changed under us");
			break;
		}
		if (n + len > cap)
			break;
		if (pread(s->fd, out + n, len, (off_t)(pos->off + HO_SPOOL_HDR)) != (ssize_t)len) {
			io_err(sp, "read");
			break;
		}
		n += len;
		pos->off += HO_SPOOL_HDR + len;
		pos->rec++;
		(*nrec)++;
		if (pos->off >= s->bytes && idx + 1 < sp->nsegs)
			s = normalize(sp, pos, &idx);
	}
	return n;
}

int ho_spool_confirm(struct ho_spool *sp, const struct ho_spool_pos *pos)
{
	if (pos->rec < sp->cursor.rec)
		return 0;
	struct ho_spool_pos p = *pos;
	size_t idx;
	normalize(sp, &p, &idx);
	if (p.seg == sp->cursor.seg && p.off == sp->cursor.off)
		return 0;
	if (write_cursor(sp, &p) != 0) {
		io_err(sp, "cannot write the cursor");
		return -1;
	}
	sp->cursor = p;
	/* segments wholly before the cursor's segment are done */
	size_t drop = idx;
	for (size_t i = 0; i < drop; i++) {
		char path[1300];
		seg_path(sp, sp->segs[i].first, path, sizeof path);
		close(sp->segs[i].fd);
		if (unlink(path) != 0)
			lt_warn("%s: spool: cannot delete %s: %s", sp->name, path, strerror(errno));
		sp->total -= sp->segs[i].bytes;
	}
	if (drop) {
		memmove(sp->segs, sp->segs + drop, (sp->nsegs - drop) * sizeof *sp->segs);
		sp->nsegs -= drop;
	}
	return 0;
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
