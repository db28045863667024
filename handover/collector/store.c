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
/* LAWTAP_COLLECTOR_OUT_BUF=BYTES (64..OUT_BUF) makes the blocks smaller: for tests only
 * (tests/integration/fault_collector_kill.sh), so that the four files are flushed at
 * independent moments all the time and a kill -9 finds them out of step (with the default
 * size that takes a high rate, or luck). */
static size_t out_buf_size(void)
{
	const char *v = getenv("LAWTAP_COLLECTOR_OUT_BUF");
	char *end;
	unsigned long n = v && *v ? strtoul(v, &end, 10) : 0;
	if (!v || !*v || *end || n < 64 || n > OUT_BUF) {
		if (v && *v)
			lt_warn("LAWTAP_COLLECTOR_OUT_BUF=%s ignored (64..%u)", v, OUT_BUF);
		return OUT_BUF;
	}
	return n;
}

struct obuf {
	FILE *f; /* unbuffered */
	uint8_t *b;
	size_t n, cap;
};

struct col_store {
	pthread_mutex_t mu;
	char dir[4096];
	FILE *pcap, *csv, *ber2, *ber3;
	struct obuf ob2, ob3, obp; /* in front of ber2, ber3, pcap */
	char *csvbuf;              /* csv's stdio buffer (freed after fclose) */
	size_t bufsize;            /* OUT_BUF unless a test asked for less */
	struct col_seqtrack *seq;
	struct col_counters cnt;
	int sync;   /* --sync: hi2.ber/hi3.ber fdatasync'd before every confirmation */
	int failed; /* an output write or sync failed: nothing is confirmed any more */
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

/* Crash safety (kill -9): hi2.ber/hi3.ber are the source of truth. cc.pcap holds exactly one
 * packet record per CC record of hi3.ber, iri.csv one row (after its header) per IRI record of
 * hi2.ber, in the same order; live, the four go through separate buffers flushed independently,
 * so after a crash a derived file may be behind or ahead of its BER file, or end in a partial
 * record. On open the derived file is counted (a partial tail cut), then restore() appends the
 * records it misses, decoded from the BER file's tail by the live writers (identical bytes), and
 * a derived file that is ahead is cut back to the BER file's count. Streaming, bounded memory. */
struct derived {
	int kind; /* MED_REC_CC or MED_REC_IRI: the records of the BER file it mirrors */
	char path[4200];
	uint64_t have;  /* complete records in the file (after its header) */
	uint64_t seen;  /* records of kind met in the BER file so far */
	uint64_t added; /* appended from the BER file */
	FILE *app;      /* the file opened for appending, on the first missing record */
};

/* Counts the complete packet records of a pcap file, at most limit of them: *count, and *end,
 * the offset just after the last one counted (0 when the 24-byte file header is incomplete or
 * the file missing: then it is rewritten). A record header that cannot be ours (caplen over the
 * snap length or caplen != len) ends the count like a partial tail. -1 when the file is not ours
 * or unreadable (reason in err). */
static int scan_pcap(const char *path, uint64_t limit, uint64_t *count, uint64_t *end, char *err,
                     size_t errlen)
{
	*count = *end = 0;
	FILE *f = fopen(path, "rb");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct stat sb;
	uint32_t h[6];
	int rc = 0;
	if (fstat(fileno(f), &sb) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = -1;
	} else if (fread(h, sizeof h[0], 6, f) == 6) {
		if (h[0] != 0xa1b2c3d4u || h[5] != COL_PCAP_LINKTYPE_RAW) {
			snprintf(err, errlen,
			         "%s exists and is not a LINKTYPE_RAW microsecond pcap", path);
			rc = -1;
		} else {
			uint64_t off = sizeof h, size = (uint64_t)sb.st_size;
			*end = off;
			while (*count < limit) {
				uint32_t rh[4];
				if (fread(rh, sizeof rh, 1, f) != 1 || rh[2] > COL_PCAP_SNAPLEN ||
				    rh[2] != rh[3] || off + sizeof rh + rh[2] > size ||
				    fseeko(f, (off_t)rh[2], SEEK_CUR) != 0)
					break;
				off += sizeof rh + rh[2];
				*end = off;
				++*count;
			}
		}
	}
	fclose(f);
	return rc;
}

/* Counts the complete rows of iri.csv after its header line, at most limit: *count and *end
 * (the offset after the last row counted, or after the header; 0 when there is no complete
 * header line or no file). A row ends at a line feed outside a quoted field (RFC 4180: quoted
 * fields may hold line feeds; "" inside one toggles twice). */
static int scan_csv(const char *path, uint64_t limit, uint64_t *count, uint64_t *end, char *err,
                    size_t errlen)
{
	*count = *end = 0;
	FILE *f = fopen(path, "rb");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char buf[65536];
	uint64_t off = 0;
	int quoted = 0, header = 1;
	size_t n;
	while ((header || *count < limit) && (n = fread(buf, 1, sizeof buf, f)) > 0) {
		for (size_t i = 0; i < n && (header || *count < limit); i++) {
			if (buf[i] == '"') {
				quoted = !quoted;
			} else if (buf[i] == '\n' && !quoted) {
				*end = off + i + 1;
				if (header)
					header = 0;
				else
					++*count;
			}
		}
		off += n;
	}
	int rc = ferror(f) ? (snprintf(err, errlen, "%s: read error", path), -1) : 0;
	fclose(f);
	return rc;
}

static int scan_derived(const struct derived *d, uint64_t limit, uint64_t *count, uint64_t *end,
                        char *err, size_t errlen)
{
	return d->kind == MED_REC_CC ? scan_pcap(d->path, limit, count, end, err, errlen)
	                             : scan_csv(d->path, limit, count, end, err, errlen);
}

/* Counts d's records and cuts a partial tail; a file without a complete header is rewritten
 * with just the header. */
static int derived_prepare(struct col_store *s, struct derived *d, const char *name, int kind,
                           char *err, size_t errlen)
{
	memset(d, 0, sizeof *d);
	d->kind = kind;
	path_of(s, name, d->path, sizeof d->path);
	uint64_t end;
	if (scan_derived(d, UINT64_MAX, &d->have, &end, err, errlen) != 0)
		return -1;
	struct stat sb;
	if (stat(d->path, &sb) != 0) {
		if (errno == ENOENT)
			return 0; /* open_out creates it with its header */
		snprintf(err, errlen, "%s: %s", d->path, strerror(errno));
		return -1;
	}
	if ((uint64_t)sb.st_size == end)
		return 0;
	if (end == 0) {
		lt_warn("%s: no complete header (%lld bytes), writing it again", d->path,
		        (long long)sb.st_size);
	} else {
		lt_warn("%s: %llu complete records, cutting the %llu bytes after them (partial "
		        "record)",
		        d->path, (unsigned long long)d->have,
		        (unsigned long long)((uint64_t)sb.st_size - end));
	}
	if (truncate(d->path, (off_t)end) != 0) {
		snprintf(err, errlen, "%s: cannot truncate: %s", d->path, strerror(errno));
		return -1;
	}
	return 0;
}

/* A record of d's kind met in the BER file: written to d when d does not hold it yet. */
static int derived_add(struct derived *d, const struct med_record *r, char *err, size_t errlen)
{
	if (d->seen++ < d->have)
		return 0;
	if (!d->app) {
		struct stat sb;
		int empty = stat(d->path, &sb) != 0 || sb.st_size == 0;
		if (!(d->app = fopen(d->path, "ab"))) {
			snprintf(err, errlen, "cannot open %s: %s", d->path, strerror(errno));
			return -1;
		}
		if (empty &&
		    (d->kind == MED_REC_CC ? col_pcap_header(d->app) : col_csv_header(d->app)) != 0)
			goto fail;
	}
	if ((d->kind == MED_REC_CC
	         ? col_pcap_write(d->app, r->hdr.ts_sec, r->hdr.ts_usec, r->pkt, r->pkt_len)
	         : col_csv_iri(d->app, r)) != 0)
		goto fail;
	d->added++;
	return 0;
fail:
	snprintf(err, errlen, "cannot write %s (record %llu of its BER file)", d->path,
	         (unsigned long long)d->seen);
	return -1;
}

/* After the BER file was read: closes the appends, cuts records the BER file does not hold,
 * logs what was done. */
static int derived_finish(struct derived *d, const char *ber, char *err, size_t errlen)
{
	if (d->app) {
		int bad = fclose(d->app) != 0;
		d->app = NULL;
		if (bad) {
			snprintf(err, errlen, "cannot write %s: %s", d->path, strerror(errno));
			return -1;
		}
	}
	if (d->added)
		lt_warn("%s: held %llu records, %s holds %llu: appended the %llu missing ones from "
		        "it",
		        d->path, (unsigned long long)d->have, ber, (unsigned long long)d->seen,
		        (unsigned long long)d->added);
	if (d->have <= d->seen)
		return 0;
	uint64_t n, end;
	if (scan_derived(d, d->seen, &n, &end, err, errlen) != 0)
		return -1;
	if (n != d->seen || end == 0) {
		snprintf(err, errlen, "%s: changed while being reconciled", d->path);
		return -1;
	}
	lt_warn("%s: held %llu records, %s holds %llu: cutting the %llu it does not hold", d->path,
	        (unsigned long long)d->have, ber, (unsigned long long)d->seen,
	        (unsigned long long)(d->have - d->seen));
	if (truncate(d->path, (off_t)end) != 0) {
		snprintf(err, errlen, "%s: cannot truncate: %s", d->path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Replays an existing hi2.ber/hi3.ber into the tracker, so records stored by an earlier run
 * count as received. A damaged tail (a crash mid-write) is cut off so appends stay framable.
 * d (may be NULL): the derived file to reconcile with it (derived_add per record). */
static int restore(struct col_store *s, const char *name, struct derived *d, char *err,
                   size_t errlen)
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
	struct col_fastdec_cache fdc;
	memset(&fdc, 0, sizeof fdc);
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
			if (col_decode_cached(rec, rl, &r, &fast, why, sizeof why, &fdc) != 0) {
				bad = 1;
				col_record_release(&r, fast);
				break;
			}
			if (d && r.kind == d->kind && derived_add(d, &r, err, errlen) != 0) {
				col_record_release(&r, fast);
				col_stream_free(st);
				fclose(f);
				return -1;
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
	       : (!(s->csvbuf = malloc(s->bufsize)) ||
	          setvbuf(f, s->csvbuf, _IOFBF, s->bufsize) != 0)) {
		snprintf(err, errlen, "%s: cannot set up its output buffer", path);
		fclose(f);
		return NULL;
	}
	if (ob && !ob->b && !(ob->b = malloc(s->bufsize))) {
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
		ob->cap = s->bufsize;
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
	s->bufsize = out_buf_size();
	s->seq = col_seqtrack_new();
	if (!s->seq) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	struct derived dp, dc;
	if (mkdirs(dir, err, errlen) != 0 ||
	    derived_prepare(s, &dp, "cc.pcap", MED_REC_CC, err, errlen) != 0 ||
	    derived_prepare(s, &dc, "iri.csv", MED_REC_IRI, err, errlen) != 0)
		goto fail;
	int rc = restore(s, "hi2.ber", &dc, err, errlen);
	if (rc == 0)
		rc = restore(s, "hi3.ber", &dp, err, errlen);
	if (rc != 0) {
		if (dc.app)
			fclose(dc.app);
		if (dp.app)
			fclose(dp.app);
		goto fail;
	}
	if (derived_finish(&dc, "hi2.ber", err, errlen) != 0 ||
	    derived_finish(&dp, "hi3.ber", err, errlen) != 0)
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
	if (n > o->cap - o->n) {
		if (ob_flush(o) != 0)
			return COL_E_IO;
		if (n >= o->cap)
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

void col_store_set_sync(struct col_store *s, int on)
{
	pthread_mutex_lock(&s->mu);
	s->sync = on;
	pthread_mutex_unlock(&s->mu);
}

/* Once an output failed, no later success may confirm what came before it: a write that failed
 * lost buffered bytes whose sequence numbers count as received, and after a failed fdatasync
 * the kernel may have dropped the pages' errors (a later fdatasync succeeds without writing
 * them). So nothing is confirmed any more; the mediator keeps every unconfirmed record in its
 * spool, and a restart of the collector re-reads hi2.ber/hi3.ber and takes the resends. */
static int commit_failed(struct col_store *s, const char *what)
{
	if (!s->failed)
		lt_err(
		    "ALARM %s in %s: %s; no more keep-alives or PDU acknowledgements are answered "
		    "(the mediator keeps the records): restart the collector once the disk is "
		    "fixed",
		    what, s->dir, strerror(errno));
	s->failed = 1;
	return COL_E_IO;
}

int col_store_commit_locked(struct col_store *s)
{
	if (s->failed)
		return COL_E_IO;
	if (col_store_flush_locked(s) != 0)
		return commit_failed(s, "writing the outputs failed");
	if (!s->sync)
		return 0;
	/* the BER files are the source of truth (cc.pcap and iri.csv are rebuilt from them at
	 * start): once they are durable, so is everything confirmed */
	FILE *fs[] = {s->ber2, s->ber3};
	for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++)
		if (fs[i] && fdatasync(fileno(fs[i])) != 0)
			return commit_failed(s, i ? "fdatasync of hi3.ber failed"
			                          : "fdatasync of hi2.ber failed");
	s->cnt.syncs++;
	return 0;
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
