/* The collector's output directory: hi2.ber/hi3.ber (exact bytes, arrival order), cc.pcap,
 * iri.csv, summary.txt. One mutex serialises every writer and the sequence tracker. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector.h"
#include "lib/log.h"

/* Output buffering: records are written to the kernel in blocks of OUT_BUF bytes (and at every
 * flush), not a write per few records (glibc's default buffer is st_blksize, 4 KiB). hi2.ber,
 * hi3.ber and cc.pcap are appended to a buffer of ours by memcpy (their FILEs are unbuffered
 * and only see whole blocks); iri.csv is written through stdio with a buffer of that size. */
#define OUT_BUF (1u << 20)

struct obuf {
	FILE *f; /* unbuffered */
	uint8_t *b;
	size_t n;
};

struct col_store {
	pthread_mutex_t mu;
	char dir[4096];
	FILE *pcap, *csv, *ber2, *ber3;
	struct obuf ob2, ob3, obp; /* in front of ber2, ber3, pcap */
	char *csvbuf;              /* csv's stdio buffer (freed after fclose) */
	struct col_seqtrack *seq;
	struct col_counters cnt;
};

static int mkdirs(const char *dir, char *err, size_t errlen)
{
	char p[4096];
	if (snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	for (char *c = p + 1;; c++) {
		if (*c != '/' && *c != '\0')
			continue;
		char save = *c;
		*c = '\0';
		if (mkdir(p, 0750) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create %s: %s", p, strerror(errno));
			return -1;
		}
		*c = save;
		if (save == '\0')
			break;
	}
	return 0;
}

static void path_of(const struct col_store *s, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", s->dir, name);
}

/* Replays an existing hi2.ber/hi3.ber into the tracker, so records stored by an earlier run
 * count as received. A damaged tail (a crash mid-write) is cut off so appends stay framable. */
static int restore(struct col_store *s, const char *name, char *err, size_t errlen)
{
	char path[4200];
	path_of(s, name, path, sizeof path);
	FILE *f = fopen(path, "rb");
	if (!f)
		return errno == ENOENT
		           ? 0
		           : (snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1);
	struct col_stream *st = col_stream_new();
	if (!st) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	uint64_t good = 0, n_rec = 0;
	int bad = 0, eof = 0;
	while (!bad && !(eof && col_stream_pending(st) == 0)) {
		size_t room;
		uint8_t *p = col_stream_space(st, &room);
		if (!eof && room) {
			size_t n = fread(p, 1, room, f);
			col_stream_commit(st, n);
			eof = n == 0;
		}
		const uint8_t *rec;
		size_t rl;
		uint64_t off;
		int rc;
		while ((rc = col_stream_next(st, &rec, &rl, &off)) == 0) {
			struct med_record r;
			char why[128];
			int fast = 0;
			if (col_decode(rec, rl, &r, &fast, why, sizeof why) != 0) {
				bad = 1;
				col_record_release(&r, fast);
				break;
			}
			if (r.kind == MED_REC_CC || r.kind == MED_REC_IRI) {
				int hi = r.kind == MED_REC_CC ? COL_HI3 : COL_HI2;
				if (col_seqtrack_add(s->seq, r.hdr.liid, r.hdr.liid_len,
				                     r.hdr.has_cin ? r.hdr.cin : 0, hi,
				                     r.hdr.seq) == COL_SEQ_NEW) {
					if (hi == COL_HI3)
						s->cnt.hi3_records++;
					else
						s->cnt.hi2_records++;
				}
			}
			col_record_release(&r, fast);
			good = off + rl;
			n_rec++;
		}
		if (rc == MED_E_BER || (eof && col_stream_pending(st) > 0))
			bad = 1;
	}
	col_stream_free(st);
	fclose(f);
	if (bad) {
		lt_warn("%s: damaged after offset %llu, cutting it there", path,
		        (unsigned long long)good);
		if (truncate(path, (off_t)good) != 0) {
			snprintf(err, errlen, "%s: cannot truncate: %s", path, strerror(errno));
			return -1;
		}
	}
	if (n_rec)
		lt_info("%s: %llu records from an earlier run", path, (unsigned long long)n_rec);
	return 0;
}

/* Opens name for appending; when empty, hdr writes the header; when not, check validates it.
 * ob: the file gets our buffer ob in front (else it is the stdio-buffered iri.csv). */
static FILE *open_out(struct col_store *s, const char *name, struct obuf *ob, int (*hdr)(FILE *),
                      int (*check)(FILE *), char *err, size_t errlen)
{
	char path[4200];
	struct stat sb;
	path_of(s, name, path, sizeof path);
	FILE *f = fopen(path, "a+b");
	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	/* Before any I/O on f (C11 7.21.5.6). glibc ignores the size without a buffer. */
	if (ob ? setvbuf(f, NULL, _IONBF, 0) != 0
	       : (!(s->csvbuf = malloc(OUT_BUF)) || setvbuf(f, s->csvbuf, _IOFBF, OUT_BUF) != 0)) {
		snprintf(err, errlen, "%s: cannot set up its output buffer", path);
		fclose(f);
		return NULL;
	}
	if (ob && !ob->b && !(ob->b = malloc(OUT_BUF))) {
		snprintf(err, errlen, "%s: out of memory", path);
		fclose(f);
		return NULL;
	}
	if (fstat(fileno(f), &sb) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		fclose(f);
		return NULL;
	}
	if (sb.st_size == 0 && hdr && (hdr(f) != 0 || fflush(f) != 0)) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		fclose(f);
		return NULL;
	}
	if (sb.st_size > 0 && check && check(f) != 0) {
		snprintf(err, errlen, "%s exists and is not a LINKTYPE_RAW microsecond pcap", path);
		fclose(f);
		return NULL;
	}
	if (ob) {
		ob->f = f;
		ob->n = 0;
	}
	return f;
}

static int pcap_check(FILE *f)
{
	uint32_t h[6];
	if (fseek(f, 0, SEEK_SET) != 0 || fread(h, sizeof h[0], 6, f) != 6)
		return -1;
	fseek(f, 0, SEEK_END);
	return h[0] == 0xa1b2c3d4u && h[5] == COL_PCAP_LINKTYPE_RAW ? 0 : -1;
}

struct col_store *col_store_open(const char *dir, char *err, size_t errlen)
{
	struct col_store *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->mu, NULL);
	snprintf(s->dir, sizeof s->dir, "%s", dir);
	s->seq = col_seqtrack_new();
	if (!s->seq) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (mkdirs(dir, err, errlen) != 0 || restore(s, "hi2.ber", err, errlen) != 0 ||
	    restore(s, "hi3.ber", err, errlen) != 0)
		goto fail;
	if (!(s->ber2 = open_out(s, "hi2.ber", &s->ob2, NULL, NULL, err, errlen)) ||
	    !(s->ber3 = open_out(s, "hi3.ber", &s->ob3, NULL, NULL, err, errlen)) ||
	    !(s->pcap =
	          open_out(s, "cc.pcap", &s->obp, col_pcap_header, pcap_check, err, errlen)) ||
	    !(s->csv = open_out(s, "iri.csv", NULL, col_csv_header, NULL, err, errlen)))
		goto fail;
	return s;
fail:
	col_store_close(s);
	return NULL;
}

/* Hands the buffered bytes to the kernel. 0 or COL_E_IO (the bytes are dropped then: the
 * record they belong to is never confirmed, the link is dropped and the mediator resends). */
static int ob_flush(struct obuf *o)
{
	if (!o->f || o->n == 0)
		return 0;
	size_t n = o->n;
	o->n = 0;
	return fwrite(o->b, 1, n, o->f) == n ? 0 : COL_E_IO;
}

static int ob_put(struct obuf *o, const void *p, size_t n)
{
	if (n > OUT_BUF - o->n) {
		if (ob_flush(o) != 0)
			return COL_E_IO;
		if (n >= OUT_BUF)
			return fwrite(p, 1, n, o->f) == n ? 0 : COL_E_IO;
	}
	memcpy(o->b + o->n, p, n);
	o->n += n;
	return 0;
}

void col_store_lock(struct col_store *s)
{
	pthread_mutex_lock(&s->mu);
}

void col_store_unlock(struct col_store *s)
{
	pthread_mutex_unlock(&s->mu);
}

int col_store_record_locked(struct col_store *s, int hi, const char *conn, const uint8_t *bytes,
                            size_t len, const struct med_record *r)
{
	if (r->kind != MED_REC_CC && r->kind != MED_REC_IRI)
		return COL_E_ARG;
	int khi = r->kind == MED_REC_CC ? COL_HI3 : COL_HI2;
	const struct med_header *h = &r->hdr;
	int rc =
	    col_seqtrack_add(s->seq, h->liid, h->liid_len, h->has_cin ? h->cin : 0, khi, h->seq);
	if (rc == COL_SEQ_NEW) {
		if (khi != hi)
			s->cnt.wrong_port++;
		if (khi == COL_HI3) {
			s->cnt.hi3_records++;
			uint8_t rh[16];
			if (col_pcap_rec_header(rh, h->ts_sec, h->ts_usec, r->pkt_len) != 0 ||
			    (r->pkt_len && !r->pkt))
				rc = COL_E_ARG;
			else if (ob_put(&s->ob3, bytes, len) != 0 || ob_put(&s->obp, rh, 16) != 0 ||
			         ob_put(&s->obp, r->pkt, r->pkt_len) != 0)
				rc = COL_E_IO;
		} else {
			s->cnt.hi2_records++;
			if (ob_put(&s->ob2, bytes, len) != 0 || col_csv_iri(s->csv, r) != 0)
				rc = COL_E_IO;
		}
	}
	if (rc == COL_E_IO)
		lt_err("%s: writing to %s failed: %s", conn, s->dir, strerror(errno));
	return rc;
}

int col_store_record(struct col_store *s, int hi, const char *conn, const uint8_t *bytes,
                     size_t len, const struct med_record *r)
{
	pthread_mutex_lock(&s->mu);
	int rc = col_store_record_locked(s, hi, conn, bytes, len, r);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void col_store_count_locked(struct col_store *s, int what)
{
	if (what == COL_COUNT_KEEPALIVE)
		s->cnt.keepalives++;
	else if (what == COL_COUNT_DECODE_ERROR)
		s->cnt.decode_errors++;
	else if (what == COL_COUNT_OTHER)
		s->cnt.other++;
	else if (what == COL_COUNT_PDU_ACK)
		s->cnt.pdu_acks++;
}

void col_store_count(struct col_store *s, int what)
{
	pthread_mutex_lock(&s->mu);
	col_store_count_locked(s, what);
	pthread_mutex_unlock(&s->mu);
}

void col_store_counters(struct col_store *s, struct col_counters *out)
{
	pthread_mutex_lock(&s->mu);
	*out = s->cnt;
	pthread_mutex_unlock(&s->mu);
}

int col_store_flush_locked(struct col_store *s)
{
	int rc = 0;
	struct obuf *obs[] = {&s->ob2, &s->ob3, &s->obp};
	for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++)
		if (ob_flush(obs[i]) != 0)
			rc = COL_E_IO;
	FILE *fs[] = {s->ber2, s->ber3, s->pcap, s->csv};
	for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++)
		if (fs[i] && (fflush(fs[i]) != 0 || ferror(fs[i])))
			rc = COL_E_IO;
	return rc;
}

int col_store_flush(struct col_store *s)
{
	pthread_mutex_lock(&s->mu);
	int rc = col_store_flush_locked(s);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

int col_store_write_summary(struct col_store *s)
{
	char tmp[4200], path[4200];
	path_of(s, "summary.txt.tmp", tmp, sizeof tmp);
	path_of(s, "summary.txt", path, sizeof path);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		lt_err("cannot write %s: %s", tmp, strerror(errno));
		return COL_E_IO;
	}
	pthread_mutex_lock(&s->mu);
	int rc = col_summary_write(f, s->seq, &s->cnt);
	pthread_mutex_unlock(&s->mu);
	if (fclose(f) != 0 || rc != 0 || rename(tmp, path) != 0) {
		lt_err("cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return COL_E_IO;
	}
	return 0;
}

void col_store_close(struct col_store *s)
{
	if (!s)
		return;
	if (s->seq && s->ber2 && s->ber3 && s->pcap && s->csv) {
		if (col_store_flush(s) != 0)
			lt_err("flushing the outputs in %s failed", s->dir);
		col_store_write_summary(s);
	}
	FILE *fs[] = {s->ber2, s->ber3, s->pcap, s->csv};
	for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++)
		if (fs[i] && fclose(fs[i]) != 0)
			lt_err("closing an output in %s failed: %s", s->dir, strerror(errno));
	free(s->ob2.b);
	free(s->ob3.b);
	free(s->obp.b);
	free(s->csvbuf);
	col_seqtrack_free(s->seq);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
