/* iap/buffer.c: the IAP's store of X2/X3 batches not yet confirmed by the mediator.
 *
 * Batches (whole packets' PDUs, see uplink.c) live in memory up to mem_max bytes; past that they
 * are appended to files in dir (up to disk_max bytes pending) and read back, in order, as memory
 * frees up. A batch leaves the store only when the mediator has acknowledged a keep-alive sent
 * after it (iap_buf_pop). Order is kept: once a batch went to disk, later ones follow it there
 * until the disk part has drained back into memory.
 *
 * Disk record (big-endian): magic "LTB1", data length u32, first packet u64, last packet u64,
 * CRC-32C u32 over the 24 header bytes before it and the data, then the data (X2/X3 PDUs back
 * to back). Files are read back as untrusted input (iap_buf_rec_parse: magic, bounds, CRC, and
 * PDU framing); a bad record is logged, counted as lost, and the rest of its file skipped. Files
 * are named iap-<n>.buf, at most IAP_BUF_FILE_MAX bytes each, and removed when read back. */
#include "iap.h"
#include "lib/crc32c.h"

#include "lib/log.h"
#include "lib/wire.h"
#include "lib/x2x3.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REC_MAGIC 0x4c544231u /* "LTB1" */
#define SEG_OVERHEAD ((uint64_t)sizeof(struct iap_seg) + 16)

struct iap_buf {
	uint64_t mem_max, disk_max;
	char *dir;
	struct iap_seg *head, *tail, *unsent;
	uint64_t mem_used;
	size_t nmem;
	/* disk part: files rfile..wfile, reading rfile at roff, appending wfile at woff */
	uint64_t disk_pending; /* bytes of records written and not yet read back */
	size_t ndisk;          /* records on disk not yet read back */
	uint64_t rfile, wfile;
	uint64_t roff, woff;
	int rfd, wfd;
	uint64_t lost;
};

/* ---- CRC-32C (Castagnoli): lib/crc32c.h ---- */
uint32_t iap_crc32c(const uint8_t *p, size_t n)
{
	return lt_crc32c(0, p, n);
}

static uint32_t rec_crc(const uint8_t *hdr24, const uint8_t *data, size_t len)
{
	return lt_crc32c(lt_crc32c(0, hdr24, 24), data, len);
}

void iap_buf_rec_header(uint8_t hdr[IAP_BUF_REC_HDR], const uint8_t *data, size_t len,
                        uint64_t first_pkt, uint64_t last_pkt)
{
	struct lt_wire_wr w = lt_wire_wr_init(hdr, IAP_BUF_REC_HDR);
	lt_wire_put_u32(&w, REC_MAGIC);
	lt_wire_put_u32(&w, (uint32_t)len);
	lt_wire_put_u64(&w, first_pkt);
	lt_wire_put_u64(&w, last_pkt);
	lt_wire_put_u32(&w, rec_crc(hdr, data, len));
}

/* Header fields only (no CRC check): 0, IAP_BUF_E_SHORT or IAP_BUF_E_BAD. */
static int rec_header(const uint8_t *buf, size_t len, uint32_t *dlen, uint64_t *first,
                      uint64_t *last, uint32_t *crc)
{
	struct lt_wire_rd r = lt_wire_rd_init(buf, len);
	uint32_t magic = lt_wire_u32(&r);
	*dlen = lt_wire_u32(&r);
	*first = lt_wire_u64(&r);
	*last = lt_wire_u64(&r);
	*crc = lt_wire_u32(&r);
	if (lt_wire_rd_err(&r))
		return IAP_BUF_E_SHORT;
	if (magic != REC_MAGIC || *dlen == 0 || *dlen > IAP_BUF_SEG_MAX || *first > *last)
		return IAP_BUF_E_BAD;
	return 0;
}

int iap_buf_rec_parse(const uint8_t *buf, size_t len, struct iap_buf_rec *out, size_t *used)
{
	uint32_t dlen, crc;
	uint64_t first, last;
	int rc = rec_header(buf, len, &dlen, &first, &last, &crc);
	if (rc != 0)
		return rc;
	struct lt_wire_rd r = lt_wire_rd_init(buf, len);
	lt_wire_skip(&r, IAP_BUF_REC_HDR);
	const uint8_t *data = lt_wire_take(&r, dlen);
	if (!data)
		return IAP_BUF_E_SHORT;
	if (rec_crc(buf, data, dlen) != crc)
		return IAP_BUF_E_BAD;
	/* The data must be whole X2/X3 PDUs back to back (it is sent as it is). */
	struct lt_wire_rd d = lt_wire_rd_init(data, dlen);
	while (lt_wire_avail(&d) > 0) {
		size_t plen = 0;
		size_t left = lt_wire_avail(&d);
		const uint8_t *p = d.buf + lt_wire_rd_pos(&d);
		if (lt_x2x3_frame(p, left, &plen) != 0 || plen == 0 || plen > left)
			return IAP_BUF_E_BAD;
		lt_wire_skip(&d, plen);
	}
	out->data = data;
	out->len = dlen;
	out->first_pkt = first;
	out->last_pkt = last;
	*used = IAP_BUF_REC_HDR + (size_t)dlen;
	return 0;
}

/* ---- files ---- */
static void file_name(const struct iap_buf *b, uint64_t n, char *out, size_t len)
{
	snprintf(out, len, "%s/iap-%010" PRIu64 ".buf", b->dir, n);
}

static void unlink_file(struct iap_buf *b, uint64_t n)
{
	char path[4200];
	file_name(b, n, path, sizeof path);
	if (unlink(path) != 0 && errno != ENOENT)
		lt_warn("buffer %s: cannot remove: %s", path, strerror(errno));
}

/* Removes files a previous run left (their PDUs are not replayed: see iap/README.md). */
static int clean_dir(struct iap_buf *b, char *err, size_t errlen)
{
	if (mkdir(b->dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "--buffer-dir %s: %s", b->dir, strerror(errno));
		return -1;
	}
	DIR *d = opendir(b->dir);
	if (!d) {
		snprintf(err, errlen, "--buffer-dir %s: %s", b->dir, strerror(errno));
		return -1;
	}
	struct dirent *e;
	unsigned removed = 0;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (n < 9 || strncmp(e->d_name, "iap-", 4) != 0 ||
		    strcmp(e->d_name + n - 4, ".buf"))
			continue;
		char path[4200];
		snprintf(path, sizeof path, "%s/%s", b->dir, e->d_name);
		if (unlink(path) == 0)
			removed++;
	}
	closedir(d);
	if (removed)
		lt_warn("buffer %s: removed %u file(s) left by an earlier run", b->dir, removed);
	return 0;
}

struct iap_buf *iap_buf_new(const struct iap_buf_conf *c, char *err, size_t errlen)
{
	struct iap_buf *b = calloc(1, sizeof *b);
	if (!b) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	b->mem_max = c->mem_max;
	b->disk_max = c->dir ? c->disk_max : 0;
	b->rfd = b->wfd = -1;
	if (c->dir) {
		if (!(b->dir = strdup(c->dir))) {
			snprintf(err, errlen, "out of memory");
			free(b);
			return NULL;
		}
		if (clean_dir(b, err, errlen) != 0) {
			iap_buf_free(b);
			return NULL;
		}
	}
	return b;
}

static void disk_reset(struct iap_buf *b)
{
	if (b->rfd >= 0)
		close(b->rfd);
	if (b->wfd >= 0)
		close(b->wfd);
	b->rfd = b->wfd = -1;
	if (b->dir)
		for (uint64_t n = b->rfile; n <= b->wfile; n++)
			unlink_file(b, n);
	b->wfile++;
	b->rfile = b->wfile;
	b->roff = b->woff = 0;
	b->disk_pending = 0;
	b->ndisk = 0;
}

void iap_buf_free(struct iap_buf *b)
{
	if (!b)
		return;
	while (b->head) {
		struct iap_seg *s = b->head;
		b->head = s->next;
		free(s);
	}
	if (b->dir && (b->ndisk || b->wfd >= 0 || b->rfd >= 0))
		disk_reset(b);
	free(b->dir);
	free(b);
}

static uint64_t seg_cost(size_t len)
{
	return SEG_OVERHEAD + len;
}

static int mem_fits(const struct iap_buf *b, size_t len)
{
	return b->ndisk == 0 && (!b->head || b->mem_used + seg_cost(len) <= b->mem_max);
}

static int disk_fits(const struct iap_buf *b, size_t len)
{
	return b->dir && b->disk_pending + IAP_BUF_REC_HDR + len <= b->disk_max;
}

int iap_buf_room(const struct iap_buf *b, size_t len)
{
	return len <= IAP_BUF_SEG_MAX && (mem_fits(b, len) || disk_fits(b, len));
}

static void mem_append(struct iap_buf *b, struct iap_seg *s)
{
	s->next = NULL;
	if (b->tail)
		b->tail->next = s;
	else
		b->head = s;
	b->tail = s;
	if (!b->unsent)
		b->unsent = s;
	b->mem_used += seg_cost(s->len);
	b->nmem++;
}

static struct iap_seg *seg_new(const uint8_t *data, size_t len, uint64_t first, uint64_t last)
{
	struct iap_seg *s = malloc(sizeof *s + len);
	if (!s)
		return NULL;
	memset(s, 0, sizeof *s);
	s->len = len;
	s->first_pkt = first;
	s->last_pkt = last;
	memcpy(s->data, data, len);
	return s;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int disk_append(struct iap_buf *b, const uint8_t *data, size_t len, uint64_t first,
                       uint64_t last)
{
	char path[4200];
	if (b->wfd >= 0 && b->woff >= IAP_BUF_FILE_MAX) {
		close(b->wfd);
		b->wfd = -1;
		b->wfile++;
		b->woff = 0;
	}
	if (b->wfd < 0) {
		file_name(b, b->wfile, path, sizeof path);
		b->wfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (b->wfd < 0) {
			lt_err("buffer %s: %s", path, strerror(errno));
			return IAP_BUF_E_IO;
		}
		if (b->ndisk == 0) {
			b->rfile = b->wfile;
			b->roff = 0;
		}
	}
	uint8_t hdr[IAP_BUF_REC_HDR];
	iap_buf_rec_header(hdr, data, len, first, last);
	if (write_all(b->wfd, hdr, sizeof hdr) != 0 || write_all(b->wfd, data, len) != 0) {
		file_name(b, b->wfile, path, sizeof path);
		lt_err("buffer %s: write failed: %s", path, strerror(errno));
		/* Cut the partial record so the file stays readable. */
		if (ftruncate(b->wfd, (off_t)b->woff) != 0)
			lt_err("buffer %s: cannot cut a partial record: %s", path, strerror(errno));
		return IAP_BUF_E_IO;
	}
	b->woff += IAP_BUF_REC_HDR + len;
	b->disk_pending += IAP_BUF_REC_HDR + len;
	b->ndisk++;
	return 0;
}

int iap_buf_push(struct iap_buf *b, const uint8_t *data, size_t len, uint64_t first_pkt,
                 uint64_t last_pkt)
{
	if (len == 0 || len > IAP_BUF_SEG_MAX)
		return IAP_BUF_E_BAD;
	if (mem_fits(b, len)) {
		struct iap_seg *s = seg_new(data, len, first_pkt, last_pkt);
		if (!s)
			return IAP_BUF_E_IO;
		mem_append(b, s);
		return 0;
	}
	if (!disk_fits(b, len))
		return IAP_BUF_E_FULL;
	return disk_append(b, data, len, first_pkt, last_pkt);
}

int iap_buf_push_take(struct iap_buf *b, struct iap_seg **sp, size_t len, uint64_t first_pkt,
                      uint64_t last_pkt)
{
	struct iap_seg *s = *sp;
	if (len == 0 || len > IAP_BUF_SEG_MAX)
		return IAP_BUF_E_BAD;
	if (mem_fits(b, len)) {
		memset(s, 0, sizeof *s);
		s->len = len;
		s->first_pkt = first_pkt;
		s->last_pkt = last_pkt;
		mem_append(b, s);
		*sp = NULL;
		return 0;
	}
	if (!disk_fits(b, len))
		return IAP_BUF_E_FULL;
	return disk_append(b, s->data, len, first_pkt, last_pkt);
}

/* A bad record (or an unreadable file): the disk part cannot be trusted past it, and the
 * record count per file is not kept, so everything still on disk is dropped, loudly. */
static void skip_file(struct iap_buf *b, const char *path, const char *why)
{
	lt_err("buffer %s: %s at offset %" PRIu64 ": %zu batch(es) on disk are LOST", path, why,
	       b->roff, b->ndisk);
	b->lost += b->ndisk;
	disk_reset(b);
}

/* Reads the next disk record into memory when it fits. 1 loaded, 0 not now, -1 nothing. */
static int disk_load_one(struct iap_buf *b)
{
	char path[4200];
	if (b->ndisk == 0)
		return -1;
	for (;;) {
		file_name(b, b->rfile, path, sizeof path);
		if (b->rfd < 0 && (b->rfd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			skip_file(b, path, strerror(errno));
			if (b->ndisk == 0)
				return -1;
			continue;
		}
		uint8_t hdr[IAP_BUF_REC_HDR];
		ssize_t n = pread(b->rfd, hdr, sizeof hdr, (off_t)b->roff);
		if (n == 0 && b->rfile < b->wfile) { /* end of a finished file */
			close(b->rfd);
			b->rfd = -1;
			unlink_file(b, b->rfile);
			b->rfile++;
			b->roff = 0;
			continue;
		}
		uint32_t dlen, crc;
		uint64_t first, last;
		if (n != (ssize_t)sizeof hdr ||
		    rec_header(hdr, sizeof hdr, &dlen, &first, &last, &crc) != 0) {
			skip_file(b, path, "bad record header");
			if (b->ndisk == 0)
				return -1;
			continue;
		}
		if (b->head && b->mem_used + seg_cost(dlen) > b->mem_max)
			return 0;
		uint8_t *rec = malloc(IAP_BUF_REC_HDR + (size_t)dlen);
		if (!rec)
			return 0;
		n = pread(b->rfd, rec, IAP_BUF_REC_HDR + (size_t)dlen, (off_t)b->roff);
		struct iap_buf_rec r;
		size_t used = 0;
		if (n != (ssize_t)(IAP_BUF_REC_HDR + dlen) ||
		    iap_buf_rec_parse(rec, (size_t)n, &r, &used) != 0) {
			free(rec);
			skip_file(b, path, "bad record (length, CRC or PDU framing)");
			if (b->ndisk == 0)
				return -1;
			continue;
		}
		struct iap_seg *s = seg_new(r.data, r.len, r.first_pkt, r.last_pkt);
		free(rec);
		if (!s)
			return 0;
		b->roff += used;
		b->disk_pending = b->disk_pending >= used ? b->disk_pending - used : 0;
		b->ndisk--;
		mem_append(b, s);
		if (b->ndisk == 0)
			disk_reset(b); /* all read back: start afresh */
		return 1;
	}
}

static void refill(struct iap_buf *b)
{
	while (b->ndisk > 0 && disk_load_one(b) == 1)
		;
}

struct iap_seg *iap_buf_head(struct iap_buf *b)
{
	if (!b->head)
		refill(b);
	return b->head;
}

const struct iap_seg *iap_buf_peek(const struct iap_buf *b)
{
	return b->head;
}

struct iap_seg *iap_buf_next_unsent(struct iap_buf *b)
{
	if (!b->unsent)
		refill(b);
	return b->unsent;
}

void iap_buf_mark_sent(struct iap_buf *b, struct iap_seg *s, uint32_t ka, int64_t now_ms)
{
	s->sent = 1;
	s->ka = ka;
	s->sent_ms = now_ms;
	if (b->unsent == s)
		b->unsent = s->next;
}

void iap_buf_pop(struct iap_buf *b)
{
	struct iap_seg *s = b->head;
	if (!s)
		return;
	b->head = s->next;
	if (!b->head)
		b->tail = NULL;
	if (b->unsent == s)
		b->unsent = s->next;
	b->mem_used -= seg_cost(s->len);
	b->nmem--;
	free(s);
	refill(b);
}

void iap_buf_unsend_all(struct iap_buf *b)
{
	for (struct iap_seg *s = b->head; s; s = s->next)
		s->sent = 0;
	b->unsent = b->head;
}

int iap_buf_has_unsent(const struct iap_buf *b)
{
	return b->unsent != NULL || b->ndisk > 0;
}

int iap_buf_empty(const struct iap_buf *b)
{
	return !b->head && b->ndisk == 0;
}

void iap_buf_usage(const struct iap_buf *b, struct iap_buf_usage *u)
{
	u->mem_bytes = b->mem_used;
	u->mem_batches = b->nmem;
	u->disk_bytes = b->disk_pending;
	u->disk_batches = b->ndisk;
	u->lost_batches = b->lost;
}
