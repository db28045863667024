/* handover/spool.h: the on-disk spool of one handover (LEA x HI2|HI3), docs/delivery.md.
 *
 * A directory of append-only segment files "<first record number, 20 digits>.seg" and a
 * cursor file "cursor" (the confirmed position, replaced atomically: tmp + fsync + rename).
 * Each record: a 64-byte header then the PS-PDU bytes.
 *
 *   off  0 u32 magic 0x4c545331 ("LTS1")      off 16 iap id[16] (NUL-padded)
 *   off  4 u32 payload length (1..HO_SPOOL_REC_MAX)  off 32 u64 IAP run epoch
 *   off  8 u32 CRC32C of bytes 12..end         off 40 XID[16]
 *   off 12 u8 flags (bit 0: dedup key present, off 56 u32 IAP sequence number
 *             bit 1: segment tag present)
 *   off 13 u8 iap id length (0..16)            off 60 u32 segment tag, low 32 bits
 *   off 14 u16 segment tag, high 16 bits
 * All integers big-endian. The segment tag (flags bit 1) is the low 48 bits of the first record
 * number of the segment the record was written into: segment files are recycled (a confirmed
 * segment file is renamed to "free-<n>" and later overwritten from offset 0 as a new segment,
 * which spares the file system allocating and freeing its pages), so bytes after a recycled
 * segment's last record may be whole, valid records of the file's earlier use; their tag tells
 * them apart and ends the segment there. Records without bit 1 (written before tags existed)
 * have the tag fields zero; such segments are deleted, never recycled.
 * Files are untrusted on reading: every header is checked (magic, length bounds, reserved
 * fields, id length) and the CRC verified before a record is used; the first bad record ends
 * the segment (a crash leaves at most a partial last record, which is cut off on open and
 * logged).
 *
 * Not thread-safe: the handover serialises calls with its link mutex. */
#ifndef LAWTAP_HO_SPOOL_H
#define LAWTAP_HO_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#define HO_SPOOL_HDR 64
#define HO_SPOOL_MAGIC 0x4c545331u
#define HO_SPOOL_REC_MAX (80 * 1024) /* > MED_PSPDU_MAX: a PS-PDU always fits */
#define HO_SPOOL_ID_MAX 16

enum ho_fsync { HO_FSYNC_BATCH = 0, HO_FSYNC_ALWAYS = 1, HO_FSYNC_NONE = 2 };

/* The de-duplication key kept with a record (has = 0 for records the mediator made itself). */
struct ho_spool_key {
	int has;
	char iap[HO_SPOOL_ID_MAX + 1];
	uint64_t epoch;
	uint8_t xid[16];
	uint32_t seq;
};

/* A position: segment (its first record number), byte offset in it, record number. */
struct ho_spool_pos {
	uint64_t seg, off, rec;
};

struct ho_spool_conf {
	const char *dir;    /* created if missing (with parents up to state_dir) */
	uint64_t seg_bytes; /* a segment is closed once it holds this much (0: 64 MiB) */
	int fsync;          /* enum ho_fsync */
	const char *name;   /* for logs ("lea lea1 hi3") */
};

typedef void (*ho_spool_key_fn)(void *arg, const struct ho_spool_key *k);

struct ho_spool;

/* Opens (or creates) a spool: scans every segment (CRC-checked), cuts a partial or corrupt tail
 * off (logged, naming the file and offset), reads the cursor (a missing or invalid cursor means
 * "from the oldest record": a resend, never a loss) and calls key_fn (may be NULL) for the key
 * of every record found, so the caller can rebuild its de-duplication state. NULL + err. */
struct ho_spool *ho_spool_open(const struct ho_spool_conf *c, ho_spool_key_fn key_fn, void *arg,
                               char *err, size_t errlen);
void ho_spool_close(struct ho_spool *sp);

/* Appends one record. It goes into the in-memory tail (the newest records, up to 1 MiB) and
 * reaches the file with the records around it in one write(): when the tail's chunk (256 KiB)
 * is full, at ho_spool_flush/ho_spool_sync, or when a reader reaches it. With fsync "always"
 * it is written and fdatasync'd before the call returns. 0 or -1 (logged; the record is not
 * taken; with "always" nothing of it stays in the file). */
int ho_spool_append(struct ho_spool *sp, const struct ho_spool_key *k, const uint8_t *pdu,
                    size_t len);
/* Writes every appended record to the file (the page cache: a process crash keeps it). 0 or -1
 * (logged; the records stay in memory and the next flush tries again). */
int ho_spool_flush(struct ho_spool *sp);
/* ho_spool_flush, then makes every record durable (fdatasync) unless fsync is "none".
 * 0 or -1 (logged). Once an fdatasync of the spool failed (here, at a segment roll or under
 * fsync "always"), it and ho_spool_sync_fd fail for good: the kernel may report a later sync
 * as a success without having written the failed pages. */
int ho_spool_sync(struct ho_spool *sp);
/* The first half of a sync that runs outside the caller's lock (the mediator's group commit,
 * mediation/syncer.c): flushes the tail, then, when something was written since the last
 * sync, returns a duplicate of the newest segment's descriptor for the caller to fdatasync
 * and close (earlier segments were synced when they filled) and counts the spool clean; -1
 * when there is nothing to sync (or fsync is "none"), -2 on an error (logged). */
int ho_spool_sync_fd(struct ho_spool *sp);
/* Bytes appended but not written to the file yet. */
uint64_t ho_spool_unwritten(const struct ho_spool *sp);
/* The end of what is in the file (ho_spool_end once nothing is unwritten). */
struct ho_spool_pos ho_spool_written_end(const struct ho_spool *sp);

/* Copies the PS-PDU bytes of whole records from *pos on into out (at most cap bytes, at most
 * max_recs records) and advances *pos. Records are taken from the in-memory tail while the
 * reader keeps up, else from the file (large reads). Only records in the file are handed out
 * (a crash keeps them): ho_spool_read first writes the unwritten ones when it reaches them,
 * ho_spool_read_ex only when flush != 0 (0: stops at ho_spool_written_end). Returns the byte
 * count (0: nothing more, or a read error, logged), *nrec the record count. */
size_t ho_spool_read(struct ho_spool *sp, struct ho_spool_pos *pos, uint8_t *out, size_t cap,
                     uint64_t max_recs, uint64_t *nrec);
size_t ho_spool_read_ex(struct ho_spool *sp, struct ho_spool_pos *pos, uint8_t *out, size_t cap,
                        uint64_t max_recs, uint64_t *nrec, int flush);
/* Everything before pos is confirmed: persists the cursor and deletes the segments wholly
 * before it. 0 or -1 (logged; the old cursor stays, so records are resent, not lost). */
int ho_spool_confirm(struct ho_spool *sp, const struct ho_spool_pos *pos);
/* ho_spool_confirm in three steps, so that its slow part (the cursor file written and synced,
 * and whatever must be durable before segments go) runs outside the caller's lock:
 * ho_spool_confirm_begin (locked) returns 0 when the confirmation is taken in memory and
 * nothing more is to be done (or nothing moved), 1 when the cursor file must be written:
 * then ho_spool_cursor_save(sp, st) without the lock (it reads only the spool's directory
 * and policy; one confirmation at a time per spool), and ho_spool_confirm_finish(sp, st,
 * saved) with the lock again: it moves the cursor and deletes or keeps for reuse the
 * st->drop segments before it (0), or logs that the cursor could not be written (-1,
 * nothing moved). */
struct ho_spool_step {
	struct ho_spool_pos pos;
	size_t drop; /* segments done once the cursor is saved */
	int64_t now;
};
int ho_spool_confirm_begin(struct ho_spool *sp, const struct ho_spool_pos *pos,
                           struct ho_spool_step *st);
int ho_spool_cursor_save(const struct ho_spool *sp, const struct ho_spool_step *st);
int ho_spool_confirm_finish(struct ho_spool *sp, const struct ho_spool_step *st, int saved);

/* How many segment files ho_spool_confirm(sp, pos) would delete. */
size_t ho_spool_would_delete(struct ho_spool *sp, const struct ho_spool_pos *pos);
struct ho_spool_pos ho_spool_cursor(const struct ho_spool *sp);
struct ho_spool_pos ho_spool_end(const struct ho_spool *sp);
uint64_t ho_spool_bytes(const struct ho_spool *sp); /* bytes of all segment files */
uint64_t ho_spool_cut(const struct ho_spool *sp);   /* bytes cut off at open (crash tails) */

/* CRC32C (Castagnoli), lib/crc32c.h (SSE4.2 when available, else a table); crc = 0 to start. */
uint32_t ho_crc32c(uint32_t crc, const void *buf, size_t len);

/* Checks one record image at buf (avail bytes): 0 and *reclen (header + payload) when it is a
 * whole valid record (key decoded into k, payload at buf + HO_SPOOL_HDR), 1 when more bytes
 * are needed, -1 when it is invalid (*why says why). Bounded: reads only buf[0, avail). */
int ho_spool_rec_check(const uint8_t *buf, size_t avail, size_t *reclen, struct ho_spool_key *k,
                       const char **why);
/* Encodes a record header for payload pdu/len into hdr, tagged with segment seg (the first
 * record number of the segment it is written into). */
void ho_spool_rec_header(uint8_t hdr[HO_SPOOL_HDR], const struct ho_spool_key *k,
                         const uint8_t *pdu, size_t len, uint64_t seg);
/* The segment tag of a record header that ho_spool_rec_check accepted: 1 and *tag (48 bits)
 * when it carries one, 0 for an untagged (older) record. */
int ho_spool_rec_tag(const uint8_t hdr[HO_SPOOL_HDR], uint64_t *tag);
#define HO_SPOOL_TAG_MASK ((uint64_t)0xffffffffffffu)

#endif
