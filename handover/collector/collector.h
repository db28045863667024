/* handover/collector/collector.h: lawtap-collector, the LEA's receive side of HI2/HI3.
 *
 * Parts (one file each):
 *   seqtrack.c  sequence tracking per (LIID, CIN, HI): duplicates and gaps
 *   format.c    names and text forms (time, addresses, JSON strings, LIIDs for logs)
 *   writers.c   cc.pcap, iri.csv records (plain stdio, the caller owns the FILE)
 *   stream.c    framing: a bounded buffer that cuts a byte stream into whole PS-PDUs
 *   fastdec.c   the fast decoder for CC (IPCC iPPackets) and keep-alive PDUs; else asn1c
 *   store.c     the output directory: routing by kind, de-duplication, counters, summary
 *   session.c   one HI2/HI3 connection: frame, decode, answer keep-alives, store (the store's
 *               lock taken once per batch of records)
 *   listener.c  the two TLS listeners and their connection threads (non-blocking sockets,
 *               OpenSSL read-ahead, reads of many TLS records at once)
 *   decode_cli.c  `lawtap-collector --decode FILE.ber [--json]`
 * Errors: 0 or a negative COL_E_*; constructors return NULL with a reason. */
#ifndef LAWTAP_COLLECTOR_H
#define LAWTAP_COLLECTOR_H

#include "handover/pduack.h"
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/tls.h"
#include "mediation/codec/pspdu.h"

#define COL_E_ARG (-1)   /* bad argument */
#define COL_E_NOMEM (-2) /* allocation failed */
#define COL_E_IO (-3)    /* a write to an output file failed */

/* HI numbers used as keys: sequence numbers run per handover (TS 102 232-1 5.2.5 / 6). */
#define COL_HI2 2 /* IRI */
#define COL_HI3 3 /* CC */

/* ---- seqtrack.c: per (LIID, CIN, HI) the lowest sequence number not yet received (all below
 * it were) plus a sorted set of received ranges above it. Memory is O(streams + holes), not
 * O(records). Gaps are the numbers from 0 to the highest received that have not arrived
 * (numbering starts at 0, TS 102 232-1); a gap that fills later is no longer counted. */
enum { COL_SEQ_NEW = 0, COL_SEQ_DUP = 1 };

struct col_seqtrack;

struct col_seq_stats {
	const uint8_t *liid;
	size_t liid_len;
	uint32_t cin;
	int hi;              /* COL_HI2 or COL_HI3 */
	uint64_t records;    /* distinct sequence numbers received */
	uint32_t first_seq;  /* lowest received */
	uint32_t last_seq;   /* highest received */
	uint64_t gaps;       /* numbers in [0, last_seq] still missing */
	uint64_t duplicates; /* records whose number was already received */
};

struct col_seqtrack *col_seqtrack_new(void);
void col_seqtrack_free(struct col_seqtrack *t);
/* Records seq for a stream (liid_len 1..MED_LIID_MAX). Returns COL_SEQ_NEW, COL_SEQ_DUP, or
 * COL_E_ARG / COL_E_NOMEM (nothing recorded). Not thread-safe: the caller locks. */
int col_seqtrack_add(struct col_seqtrack *t, const uint8_t *liid, size_t liid_len, uint32_t cin,
                     int hi, uint32_t seq);
/* Statistics of one stream; 0, or -1 when the stream is unknown. */
int col_seqtrack_get(const struct col_seqtrack *t, const uint8_t *liid, size_t liid_len,
                     uint32_t cin, int hi, struct col_seq_stats *out);
size_t col_seqtrack_count(const struct col_seqtrack *t);
/* Calls fn for every stream in (LIID, CIN, HI) order; stops at fn's first non-zero return,
 * which is returned. COL_E_NOMEM if sorting could not allocate. */
int col_seqtrack_foreach(const struct col_seqtrack *t,
                         int (*fn)(const struct col_seq_stats *st, void *arg), void *arg);
void col_seqtrack_totals(const struct col_seqtrack *t, uint64_t *gaps, uint64_t *duplicates);

/* Counters of a collector run (or of an offline decode). */
struct col_counters {
	uint64_t hi2_records; /* IRI records written (duplicates excluded) */
	uint64_t hi3_records; /* CC records written */
	uint64_t keepalives;  /* keep-alives received (and answered, live) */
	uint64_t pdu_acks;    /* pDUAcknowledgementRequests answered (docs/pdu-ack.md) */
	uint64_t syncs;       /* --sync: confirmations preceded by an fdatasync of the BER files */
	uint64_t decode_errors;
	uint64_t other;      /* decoded records of other kinds (not written) */
	uint64_t wrong_port; /* CC on HI2 or IRI on HI3 (written by kind) */
};

/* Writes the summary (internals.md): one line per stream, then the total line. 0 or COL_E_IO. */
int col_summary_write(FILE *f, const struct col_seqtrack *t, const struct col_counters *c);

/* ---- format.c ---- */
#define COL_TIME_LEN 32 /* "2026-11-27T05:40:01.123456Z" + NUL, with room */
#define COL_ADDR_LEN 48
/* ISO 8601 UTC with microseconds; "" when the time cannot be represented. */
void col_fmt_time(char *buf, size_t len, int64_t sec, uint32_t usec);
/* Textual IPv4 (version 4, 4 bytes) or IPv6 (16 bytes) address; "" for another version. */
void col_fmt_addr(char *buf, size_t len, int version, const uint8_t *addr);
/* LIID for logs and summary: printable ASCII as is, other bytes as \xNN, '\' as \\. */
void col_fmt_liid(char *buf, size_t len, const uint8_t *liid, size_t liid_len);
const char *col_kind_name(int kind);     /* "cc", "iri", "keepalive", ... */
const char *col_dir_name(int dir);       /* "toTarget", ..., "" for MED_DIR_NONE */
const char *col_iri_type_name(int type); /* "begin", "end", "continue", "report", "" */
const char *col_event_name(int event);   /* accessEventType name, NULL when unknown */
/* Writes a JSON string literal (with quotes): ", \ and control characters escaped, bytes
 * >= 0x80 as \u00NN (so any byte string gives valid JSON). */
void col_json_str(FILE *f, const uint8_t *s, size_t len);

/* ---- writers.c: classic pcap, LINKTYPE_RAW (101), microsecond magic, snaplen 262144 ---- */
#define COL_PCAP_LINKTYPE_RAW 101
#define COL_PCAP_SNAPLEN 262144
int col_pcap_header(FILE *f);
/* One packet record; caplen = len = pkt_len (at most COL_PCAP_SNAPLEN, else COL_E_ARG);
 * the time is clamped to the 32-bit pcap range. 0 or COL_E_IO. */
int col_pcap_write(FILE *f, int64_t sec, uint32_t usec, const uint8_t *pkt, size_t pkt_len);
/* The 16-byte record header col_pcap_write writes before the packet (same clamping). 0, or
 * COL_E_ARG when pkt_len is over COL_PCAP_SNAPLEN. */
int col_pcap_rec_header(uint8_t out[16], int64_t sec, uint32_t usec, size_t pkt_len);
/* The CSV header line "liid,cin,seq,time,iri_type,event,username,src,dst,sport,dport,proto". */
int col_csv_header(FILE *f);
/* One CSV field (RFC 4180): quoted when it holds , " CR LF or starts/ends with a space;
 * quotes doubled. A field starting with = + - @ TAB or CR (a spreadsheet formula: CSV
 * injection) is quoted with a ' put in front of it. */
int col_csv_field(FILE *f, const char *s, size_t len);
/* One IRI record as a CSV line. IPIRI events: event = accessEventType name, username, src =
 * targetIPAddress when present. IPIRIOnly reports: event "headerReport", src/dst addresses,
 * ports for TCP/UDP, proto = IP protocol number. 0 or COL_E_IO. */
int col_csv_iri(FILE *f, const struct med_record *r);

/* ---- fastdec.c: the fast path for the common record shapes ---- */
/* Decodes buf[0..len) when it is a CC PS-PDU with one IPCC iPPackets payload or a keep-alive
 * (response) in the DER layout lawtap's encoders produce (fastdec.c lists it): returns 1 with
 * *out filled exactly as med_decode would fill it, except that out->pkt points into buf (not
 * malloc'd: never pass it to free or to med_record_clear). Returns 0 for anything else (out
 * zeroed as med_decode starts it): the caller then decodes with med_decode, which accepts or
 * refuses. No allocation, reads only buf[0..len). */
int col_fastdec(const uint8_t *buf, size_t len, struct med_record *out);
/* The records of one connection nearly all start their PSHeader with the same bytes (domain,
 * LIID, country code, communicationIdentifier: everything before sequenceNumber). A cache keeps
 * the last such prefix and its decoded fields; a record whose PSHeader starts with the same
 * bytes takes them from it instead of decoding them again. The result is the same as without
 * the cache (the prefix bytes decode alike wherever they occur). Zero it before its first use;
 * one per connection (not thread-safe). */
#define COL_FASTDEC_PREFIX_MAX 128
struct col_fastdec_cache {
	uint8_t pre[COL_FASTDEC_PREFIX_MAX];
	size_t pre_len;        /* 0: empty */
	struct med_header hdr; /* liid .. cin decoded from pre */
	uint64_t hits;         /* records that took the prefix from the cache (tests) */
};
/* col_fastdec with a cache (NULL: none); the same answer and *out as col_fastdec. */
int col_fastdec_cached(const uint8_t *buf, size_t len, struct med_record *out,
                       struct col_fastdec_cache *cache);
/* col_fastdec, else med_decode: the same contract as med_decode, and *fast says which path
 * decoded (1: out->pkt points into buf). Release the record with col_record_release. */
int col_decode(const uint8_t *buf, size_t len, struct med_record *out, int *fast, char *err,
               size_t errlen);
/* col_decode with col_fastdec_cached's cache (NULL: none). */
int col_decode_cached(const uint8_t *buf, size_t len, struct med_record *out, int *fast, char *err,
                      size_t errlen, struct col_fastdec_cache *cache);
void col_record_release(struct med_record *r, int fast);

/* ---- stream.c: framing through a bounded buffer of MED_PSPDU_MAX bytes ---- */
struct col_stream;
struct col_stream *col_stream_new(void);
void col_stream_free(struct col_stream *s);
/* Where the next bytes go: returns the free space and its size (0 when full). */
uint8_t *col_stream_space(struct col_stream *s, size_t *room);
void col_stream_commit(struct col_stream *s, size_t n);
/* Copies up to n bytes in; returns how many were taken. */
size_t col_stream_feed(struct col_stream *s, const uint8_t *data, size_t n);
/* The next whole record: 0 with *rec and *rec_len (valid until the next space/feed call) and *off
 * (its offset in the stream); MED_E_SHORT when more bytes are needed; MED_E_BER when the bytes
 * at *off cannot start a PS-PDU (the stream is then unusable). */
int col_stream_next(struct col_stream *s, const uint8_t **rec, size_t *rec_len, uint64_t *off);
size_t col_stream_pending(const struct col_stream *s);  /* buffered bytes not yet framed */
uint64_t col_stream_offset(const struct col_stream *s); /* offset of the first of them */

/* ---- store.c: the output directory (thread-safe: one mutex around all writers) ---- */
struct col_store;
/* Creates dir if missing and opens cc.pcap, iri.csv, hi2.ber, hi3.ber for appending (headers
 * written into empty files; an existing cc.pcap must be ours: LINKTYPE_RAW, µs). Existing
 * hi2.ber/hi3.ber are read back first so that records already stored count as received
 * (de-duplication survives a restart). NULL with the reason in err. */
struct col_store *col_store_open(const char *dir, char *err, size_t errlen);
/* Stores one decoded CC or IRI record received on handover hi (COL_HI2/COL_HI3) from conn (for
 * logs): a record whose (LIID, CIN, HI by kind, seq) was already received is counted and
 * dropped; otherwise its bytes go to hi2.ber (IRI) or hi3.ber (CC) and it is written to iri.csv
 * or cc.pcap. Returns COL_SEQ_NEW, COL_SEQ_DUP, or a negative COL_E_*. */
int col_store_record(struct col_store *s, int hi, const char *conn, const uint8_t *bytes,
                     size_t len, const struct med_record *r);
void col_store_count(struct col_store *s, int what); /* COL_COUNT_* */
enum { COL_COUNT_KEEPALIVE = 1, COL_COUNT_DECODE_ERROR, COL_COUNT_OTHER, COL_COUNT_PDU_ACK };
void col_store_counters(struct col_store *s, struct col_counters *out);
/* Flushes the buffers of every output to the kernel (not fsync). 0 or COL_E_IO. The outputs
 * are buffered in large blocks: nothing is written per record; the session flushes before it
 * answers a keep-alive (the answer confirms what came before it), main.c every 200 ms. */
int col_store_flush(struct col_store *s);
/* Batches: col_store_lock, then any number of the _locked calls, then col_store_unlock. The
 * unlocked forms above are the same calls wrapped in the lock. */
void col_store_lock(struct col_store *s);
void col_store_unlock(struct col_store *s);
int col_store_record_locked(struct col_store *s, int hi, const char *conn, const uint8_t *bytes,
                            size_t len, const struct med_record *r);
void col_store_count_locked(struct col_store *s, int what);
int col_store_flush_locked(struct col_store *s);
/* What must precede a confirmation to the mediator (keep-alive or pDUAcknowledgement
 * response): col_store_flush_locked, and with sync on (col_store_set_sync, --sync) an
 * fdatasync of hi2.ber and hi3.ber, so confirmed records survive a power loss of this host,
 * not only a crash of the process. 0 or COL_E_IO (logged). After one failure it fails for good
 * (an ALARM line): nothing written since may be confirmed; a restart re-reads the BER files. */
int col_store_commit_locked(struct col_store *s);
void col_store_set_sync(struct col_store *s, int on);
/* Rewrites DIR/summary.txt (written to a temporary file, then renamed). 0 or COL_E_IO. */
int col_store_write_summary(struct col_store *s);
/* Flushes, rewrites the summary, closes. Accepts NULL. */
void col_store_close(struct col_store *s);

/* ---- session.c: one connection's receive path, without the socket ---- */
struct col_session {
	struct col_stream *stream;
	struct col_store *store; /* NULL: records are decoded, passed to tap, not stored */
	int hi;                  /* COL_HI2 or COL_HI3 */
	char name[96];           /* "hi3 127.0.0.1:40000" for logs */
	/* Sends a keep-alive response; 0 or -1 (link failed). NULL: not answered. */
	int (*reply)(void *arg, const uint8_t *buf, size_t len);
	void *reply_arg;
	/* Optional: sees every decoded record (fuzzing, tests). */
	void (*tap)(void *arg, const uint8_t *bytes, size_t len, const struct med_record *r);
	void *tap_arg;
	uint64_t records, keepalives, pdu_acks;
	/* TS 102 232-1 option negotiation and PDU acknowledgement (handover/pduack.h), per
	 * connection: the caller initialises it (ho_pa_col_init; zeroed = decline). */
	struct ho_pa_col pa;
	int warned_port;              /* a wrong-handover warning was logged (then only debug) */
	struct col_fastdec_cache fdc; /* the fast decoder's PSHeader prefix (zeroed with cs) */
	int locked;                   /* holds the store's lock (inside col_session_drain only) */
};
/* Frames, decodes and handles every whole record buffered in cs->stream. Returns 0 (wants more
 * bytes) or -1 when the connection must be dropped (garbage or undecodable record: logged with
 * the offset and counted as a decode error; or the keep-alive response could not be sent). */
int col_session_drain(struct col_session *cs);

/* ---- listener.c ---- */
struct col_server;
/* Starts the HI2 and HI3 TLS listeners (clients must present a mediator certificate of tls->ca)
 * with a thread per connection. NULL with the reason in err. */
struct col_server *col_server_start(const char *hi2, const char *hi3, const struct lt_tls_conf *tls,
                                    struct col_store *store, char *err, size_t errlen);
/* Stops accepting, ends every connection (records already buffered are handled), joins. */
void col_server_stop(struct col_server *s);
/* Whether new connections accept PDU acknowledgement when the mediator asks for it (default 1;
 * lawtap-collector --no-pdu-ack sets 0: the option is declined, the mediator falls back to
 * keep-alives). Set before col_server_start. */
void col_server_set_pdu_ack(int accept);

/* ---- decode_cli.c ---- */
/* Decodes path offline to stdout (one line per record, JSON lines with json != 0), then the
 * summary. Returns the exit status: 0 if every record decoded, 1 otherwise (reason on stderr). */
int col_decode_file(const char *path, int json);

#endif
