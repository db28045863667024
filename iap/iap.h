/* iap/iap.h: lawtap-iap's parts (capture, link layers, target matching, tasking client,
 * X2/X3 uplink). The program in main.c glues them together; tests use them directly.
 *
 * Ownership: a function whose name ends in _take takes ownership of the object passed in, also
 * when it fails. Every _new has a _free that accepts NULL. Functions return 0 or a negative code;
 * constructors return NULL and write the reason into err. */
#ifndef LAWTAP_IAP_H
#define LAWTAP_IAP_H

#include "lib/tasking.h"

#include <openssl/ssl.h>
#include <pcap/pcap.h>
#include <stddef.h>
#include <stdint.h>

/* ---- statistics (one line on stdout at exit, see docs/internals.md) ---- */
struct iap_stats {
	uint64_t packets_read;   /* frames delivered by libpcap */
	uint64_t matched;        /* IP packets that matched at least one active task */
	uint64_t x2_sent;        /* X2 PDUs queued for the link */
	uint64_t x3_sent;        /* X3 PDUs queued for the link */
	uint64_t keepalives;     /* keep-alives sent */
	uint64_t bytes_sent;     /* bytes written to the X2/X3 link */
	uint64_t skipped_non_ip; /* frames with no (well-formed) IPv4/IPv6 packet */
	uint64_t truncated;      /* IP packets cut by the snap length, or too short to decode */
	uint64_t dropped;        /* -i: packets not processed because the buffer was full */
	uint64_t reconnects;     /* X2/X3 or tasking connections made again after a loss */
	uint64_t resent;         /* batches sent again after a reconnect */
	uint64_t confirmed;      /* batches the mediator confirmed (keep-alive ack) */
	uint64_t input_ns;       /* -r: wall time of the read loop, from reading the first packet
	                          * to the end of the file (not the connection set-up before it
	                          * nor the wait for the last ack after it); 0 with -i */
	uint64_t input_cpu_ns;   /* -r: CPU time (user + system, all threads) of that loop */
};

/* Formats "packets_read=N matched=N ... truncated=N dropped=N reconnects=N resent=N
 * confirmed=N input_ns=N input_cpu_ns=N" (no newline) into buf. */
void iap_stats_format(const struct iap_stats *s, char *buf, size_t len);

/* ---- link layers (link.c): pure functions, no allocation ---- */
#define IAP_LINK_OK 0
#define IAP_LINK_NOT_IP (-1)      /* not an IPv4/IPv6 frame, or a malformed IP header */
#define IAP_LINK_SHORT (-2)       /* the capture ends before the IP header is complete */
#define IAP_LINK_UNSUPPORTED (-3) /* link type not handled */
#define IAP_VLAN_MAX_DEPTH 16     /* stacked 802.1Q/802.1ad tags accepted per frame */

struct iap_ip {
	size_t off; /* offset of the IP header in the frame */
	size_t len; /* IP packet length: min(IP's own total length, bytes captured) */
	int family; /* 4 or 6 */
	int cut;    /* 1 when the capture holds less than the IP total length */
};

/* 1 when iap_link_decode handles the libpcap link type (DLT_* value), else 0. */
int iap_link_supported(int linktype);
/* Finds the IP packet in a captured frame of caplen bytes of the given link type (DLT_* as
 * pcap_datalink reports it: EN10MB with any stack of 0x8100/0x88a8/0x9100 tags up to
 * IAP_VLAN_MAX_DEPTH, LINUX_SLL 113, LINUX_SLL2 276, RAW 12/14/101, IPV4 228, IPV6 229, NULL 0
 * (family word in either byte order), LOOP 108). The IP header is checked (version, IPv4 IHL and
 * total length); link padding after the IP total length is excluded. Returns IAP_LINK_OK with
 * *out filled, or one of the negative IAP_LINK_* codes. Never reads outside frame[0..caplen). */
int iap_link_decode(int linktype, const uint8_t *frame, size_t caplen, struct iap_ip *out);

/* Ethernet II carrying IPv4 with a well-formed header (the bulk of most captures), decoded
 * inline: for such a frame exactly what iap_link_decode returns (the same checks: version 4,
 * IHL >= 20 bytes, 20 bytes captured, total length >= IHL). 1 with *ip set, or 0 when the frame
 * is anything else (then iap_link_decode decides). tests/unit/test_iap_link.c compares both. */
static inline int iap_link_fast_ether_v4(int linktype, const uint8_t *f, size_t caplen,
                                         struct iap_ip *ip)
{
	if (linktype != 1 /* DLT_EN10MB */ || caplen < 14 + 20 || f[12] != 0x08 || f[13] != 0x00)
		return 0;
	unsigned v = f[14], ihl = (v & 0x0fu) * 4;
	size_t total = (size_t)f[16] << 8 | f[17], avail = caplen - 14;
	if ((v >> 4) != 4 || ihl < 20 || total < ihl)
		return 0;
	ip->off = 14;
	ip->family = 4;
	ip->cut = total > avail;
	ip->len = ip->cut ? avail : total;
	return 1;
}

/* Header facts of an IP packet (for matching and X2). */
struct iap_pkt_facts {
	int family;               /* 4 or 6 */
	uint8_t src[16], dst[16]; /* v4 in the first 4 bytes, rest zero */
	uint8_t proto;            /* IPv4 protocol / IPv6 last next-header reached */
	int has_ports;            /* TCP or UDP with the ports captured (first fragment only) */
	uint16_t sport, dport;
};

/* Reads the header facts of an IP packet of len bytes (as located by iap_link_decode).
 * 0, or IAP_LINK_SHORT when the addresses are not all there, IAP_LINK_NOT_IP when malformed. */
int iap_ip_facts(const uint8_t *ip, size_t len, struct iap_pkt_facts *f);

/* ---- target matching (targets.c) ----
 * A table built from one task snapshot. Lookup cost is independent of the number of targets and
 * of the prefix lengths in use: per address, one read of a 65,536-entry direct table (first 16
 * bits), then one compressed-node read per further 8 bits only while the address shares the
 * prefix of a longer target (a leaf-pushed multibit trie whose leaves name a precomputed set of
 * tasks). */
struct iap_targets;

struct iap_match {
	uint32_t task;      /* index into the table's tasks */
	uint16_t direction; /* LT_DIR_TO_TARGET (dst matched) or LT_DIR_FROM_TARGET */
};

/* Builds a table from tasks[0..ntasks) and takes ownership of the array and each task's targets
 * (freed by iap_targets_free, or here on failure). tasks may be NULL when ntasks is 0.
 * Duplicate XIDs are refused. NULL on failure with the reason in err. */
struct iap_targets *iap_targets_new_take(struct lt_task *tasks, size_t ntasks, char *err,
                                         size_t errlen);
void iap_targets_free(struct iap_targets *t);
size_t iap_targets_ntasks(const struct iap_targets *t);
const struct lt_task *iap_targets_task(const struct iap_targets *t, size_t i);
/* Number of distinct prefix lengths in use for a family (informational: the lookup cost does not
 * depend on it). */
size_t iap_targets_nlengths(const struct iap_targets *t, int family);
/* Bytes held by the lookup structure (direct tables, nodes, task sets). */
size_t iap_targets_memory(const struct iap_targets *t);
/* 1 when src or dst is covered by some target of any task (ignoring windows), else 0: the
 * per-packet pre-check that lets a non-matching packet skip everything else. */
int iap_targets_any(const struct iap_targets *t, int family, const uint8_t *src,
                    const uint8_t *dst);
/* The same pre-check keeping what it looked up, so a covered packet is matched without looking
 * its addresses up again (iap_targets_match_lookup): the task sets covering each end. */
struct iap_lookup {
	uint32_t dst_set, src_set; /* 0: no target covers that end */
};
int iap_targets_lookup(const struct iap_targets *t, int family, const uint8_t *src,
                       const uint8_t *dst, struct iap_lookup *out);
/* iap_targets_match for a packet whose addresses iap_targets_lookup looked up in t (and no
 * other table): the same entries in the same order. */
size_t iap_targets_match_lookup(struct iap_targets *t, const struct iap_lookup *l, int64_t when_sec,
                                struct iap_match *out);
/* Lookups use the POPCNT build of the trie walk when the CPU has it (chosen when the table is
 * built), else the portable one. on = 0 selects the portable one, on = 1 the POPCNT one if the
 * CPU has it (tests check both). Returns 1 when the POPCNT one is in use. */
int iap_targets_use_popcnt(struct iap_targets *t, int on);
/* Matches a packet (family 4 or 6, addresses as in iap_pkt_facts) at time of interception
 * when_sec against the tasks whose window [start, end) holds it. Writes one entry per matched
 * task into out (room for iap_targets_ntasks() entries; no particular order) and returns their
 * number. A task matching the destination gets LT_DIR_TO_TARGET, else LT_DIR_FROM_TARGET (a
 * packet between two targets of one task is reported once, as to target).
 * Not thread-safe (uses per-table scratch). */
size_t iap_targets_match(struct iap_targets *t, int family, const uint8_t *src, const uint8_t *dst,
                         int64_t when_sec, struct iap_match *out);
/* The next X2/X3 sequence number of task i (per XID, from 0), post-incremented. */
uint32_t iap_targets_next_seq(struct iap_targets *t, size_t i);
/* Carries the sequence counters of tasks that keep their XID from old into t (old may be NULL). */
void iap_targets_inherit(struct iap_targets *t, const struct iap_targets *old);
/* Index of the task with this XID, or -1 (t may be NULL). */
long iap_targets_find(const struct iap_targets *t, const uint8_t xid[16]);
/* Sets the next sequence number of task i (resume). */
void iap_targets_set_seq(struct iap_targets *t, size_t i, uint32_t seq);

/* ---- tasking snapshots (tasking_client.c) ---- */
struct iap_snapshot; /* a snapshot being received: TASKS v n, n x TASK, COMMIT v */

struct iap_snapshot *iap_snapshot_new(void);
void iap_snapshot_free(struct iap_snapshot *s);
/* Feeds one line (without '\n'). Returns 0 when more lines are expected, 1 when the line was a
 * COMMIT that completes a snapshot (then iap_snapshot_build), or -1 with the reason (naming the
 * line) in err; an ERROR line from the mediator is also -1. */
int iap_snapshot_feed(struct iap_snapshot *s, const char *line, char *err, size_t errlen);
/* Builds the table of a completed snapshot (resets s for the next one). *version gets its
 * version. NULL with the reason in err. */
struct iap_targets *iap_snapshot_build(struct iap_snapshot *s, uint64_t *version, char *err,
                                       size_t errlen);

/* The tasking link: HELLO on creation, then snapshots in, ACKs out. */
struct iap_tasking;

/* Takes ssl (connected to a peer of the mediator role), sends "HELLO 1 <iap_id>". */
struct iap_tasking *iap_tasking_new_take(SSL *ssl, const char *iap_id, char *err, size_t errlen);
void iap_tasking_free(struct iap_tasking *t);
int iap_tasking_fd(const struct iap_tasking *t);
/* Reads what the link has (waiting up to timeout_ms for the first bytes; 0 = just poll).
 * Returns 1 with a new table in *out and its version in *version when a snapshot completed
 * (the caller swaps it in, then calls iap_tasking_ack), 0 when nothing completed, -1 when the
 * link failed or sent a bad line (logged, naming the line). Lines after a completed snapshot
 * stay buffered for the next call. */
int iap_tasking_poll(struct iap_tasking *t, int timeout_ms, struct iap_targets **out,
                     uint64_t *version);
int iap_tasking_ack(struct iap_tasking *t, uint64_t version);

/* ---- store of unconfirmed batches (buffer.c) ----
 * Batches of X2/X3 PDUs wait here until the mediator confirmed them: in memory up to mem_max
 * bytes, then in append-only files in dir (records with length and CRC-32C) up to disk_max bytes,
 * read back in order as memory frees up. Order is always kept. */
#define IAP_BUF_REC_HDR 28          /* disk record header: magic, len, first, last, CRC */
#define IAP_BUF_SEG_MAX (16u << 20) /* largest batch accepted (also when read back) */
#define IAP_BUF_FILE_MAX (8u << 20) /* a buffer file is closed after this many bytes */
#define IAP_BUF_E_FULL (-10)        /* neither memory nor disk has room */
#define IAP_BUF_E_IO (-11)          /* disk write failed (logged); nothing was stored */
#define IAP_BUF_E_SHORT (-12)       /* record parse: more bytes needed */
#define IAP_BUF_E_BAD (-13)         /* record parse: not a valid record */

struct iap_seg {
	struct iap_seg *next;
	uint64_t first_pkt, last_pkt; /* packet indexes (1-based) whose PDUs it holds */
	uint32_t ka;                  /* keep-alive sequence number sent after it */
	int sent;                     /* sent on the current connection */
	unsigned tries;               /* times sent */
	int64_t sent_ms;
	size_t len;
	uint8_t data[]; /* X2/X3 PDUs back to back */
};

struct iap_buf_conf {
	uint64_t mem_max;  /* bytes of batches held in memory */
	const char *dir;   /* disk overflow directory, NULL = none */
	uint64_t disk_max; /* bytes of records pending on disk */
};

struct iap_buf_usage {
	uint64_t mem_bytes, disk_bytes, lost_batches;
	size_t mem_batches, disk_batches;
};

/* dir is created (0700) when missing; iap-*.buf files left there by an earlier run are
 * removed (logged). NULL with the reason in err. */
struct iap_buf *iap_buf_new(const struct iap_buf_conf *c, char *err, size_t errlen);
void iap_buf_free(struct iap_buf *b);
/* 1 when a batch of len bytes would be stored now (memory or disk), else 0. */
int iap_buf_room(const struct iap_buf *b, size_t len);
/* Stores a copy of a batch. 0, IAP_BUF_E_FULL, IAP_BUF_E_IO (disk failed, nothing stored) or
 * IAP_BUF_E_BAD (len 0 or above IAP_BUF_SEG_MAX). */
int iap_buf_push(struct iap_buf *b, const uint8_t *data, size_t len, uint64_t first_pkt,
                 uint64_t last_pkt);
/* As iap_buf_push for a batch built in place in (*sp)->data (a struct iap_seg allocated with
 * malloc, room for len bytes or more): when it goes to memory the store takes *sp itself, no
 * copy (its header is filled in, *sp becomes NULL, free() releases it later); when it goes to
 * disk, or on failure, *sp stays the caller's. Memory is counted by len, as for iap_buf_push. */
int iap_buf_push_take(struct iap_buf *b, struct iap_seg **sp, size_t len, uint64_t first_pkt,
                      uint64_t last_pkt);
/* The oldest batch (reading from disk when memory is empty), or NULL when none. */
struct iap_seg *iap_buf_head(struct iap_buf *b);
/* The oldest batch in memory, without reading from disk (NULL: none in memory; batches on disk
 * were not sent on this connection). */
const struct iap_seg *iap_buf_peek(const struct iap_buf *b);
/* The oldest batch not sent on the current connection (reading from disk as memory allows). */
struct iap_seg *iap_buf_next_unsent(struct iap_buf *b);
void iap_buf_mark_sent(struct iap_buf *b, struct iap_seg *s, uint32_t ka, int64_t now_ms);
/* Releases the oldest batch (confirmed). */
void iap_buf_pop(struct iap_buf *b);
/* After a reconnect: every held batch is to be sent again, oldest first. */
void iap_buf_unsend_all(struct iap_buf *b);
int iap_buf_empty(const struct iap_buf *b);
/* 1 when a held batch was not sent on the current connection yet (in memory or on disk). */
int iap_buf_has_unsent(const struct iap_buf *b);
void iap_buf_usage(const struct iap_buf *b, struct iap_buf_usage *u);

/* A disk record in plain form (data points into the parsed buffer). */
struct iap_buf_rec {
	const uint8_t *data;
	size_t len;
	uint64_t first_pkt, last_pkt;
};
/* Writes the record header for data[0..len). */
void iap_buf_rec_header(uint8_t hdr[IAP_BUF_REC_HDR], const uint8_t *data, size_t len,
                        uint64_t first_pkt, uint64_t last_pkt);
/* Parses one record at the start of buf (untrusted): magic, 0 < len <= IAP_BUF_SEG_MAX,
 * first <= last, CRC-32C, and data made of whole X2/X3 PDUs (lt_x2x3_frame). 0 with *out and
 * *used (record size) set, IAP_BUF_E_SHORT or IAP_BUF_E_BAD. Never reads outside buf[0..len). */
int iap_buf_rec_parse(const uint8_t *buf, size_t len, struct iap_buf_rec *out, size_t *used);
uint32_t iap_crc32c(const uint8_t *p, size_t n);

/* ---- X2/X3 uplink (uplink.c) ----
 * Survives its connections: PDUs are encoded into an open batch; a batch is closed after a
 * packet once it holds IAP_BATCH_BYTES (or after IAP_FLUSH_IDLE_MS of quiet) and moves to the
 * store (buffer.c). Batches are sent back to back and a keep-alive follows every
 * IAP_KEEPALIVE_BYTES of them, and the last batch sent within IAP_KEEPALIVE_LAG_MS (at once when
 * the input paused or ended, or half the in-flight bound is used); the mediator's ack of that
 * keep-alive (same sequence number) confirms every batch sent before it, which is then
 * released. After a reconnect every held batch is sent again, in order, before newer ones. */
#define IAP_BATCH_BYTES 65536            /* a batch is closed once it holds this much */
#define IAP_FLUSH_IDLE_MS 50             /* a partial batch is closed after this much quiet */
#define IAP_KEEPALIVE_IDLE_MS 10000      /* keep-alive after this long without sending */
#define IAP_KEEPALIVE_WAIT_MS 10000      /* its ack must come within this */
#define IAP_BATCH_ACK_MS 30000           /* the oldest sent batch's ack must come within this */
#define IAP_INFLIGHT_MAX (4u << 20)      /* sent and unconfirmed bytes on one connection */
#define IAP_KEEPALIVE_BYTES (512u << 10) /* a keep-alive after this many bytes of batches */
#define IAP_KEEPALIVE_LAG_MS 20          /* and at the latest this long after a batch was sent */

struct iap_uplink;

struct iap_uplink_conf {
	struct iap_buf_conf buf;
	uint64_t epoch; /* the run epoch sent in attribute 65280 of every PDU */
};

/* Called for each batch the mediator confirmed, oldest first, before it is released. */
typedef void (*iap_confirm_fn)(void *arg, const struct iap_seg *s);

/* iap_id is 1..8 characters. No connection yet. NULL with the reason in err. */
struct iap_uplink *iap_uplink_new(const char *iap_id, const struct iap_uplink_conf *c,
                                  struct iap_stats *stats, char *err, size_t errlen);
void iap_uplink_free(struct iap_uplink *u);
void iap_uplink_on_confirm(struct iap_uplink *u, iap_confirm_fn fn, void *arg);
/* Takes ssl (connected to a peer of the mediator role) as the current connection; every held
 * batch will be sent again first. 0, or -1 (ssl closed). */
int iap_uplink_attach_take(struct iap_uplink *u, SSL *ssl);
/* Drops the current connection (held batches stay). */
void iap_uplink_detach(struct iap_uplink *u);
int iap_uplink_connected(const struct iap_uplink *u);
int iap_uplink_fd(const struct iap_uplink *u); /* -1 when not connected */
/* 1 when a write waits for room in the socket (poll it for POLLOUT too): the mediator reads
 * slowly or not at all, and the capture goes on meanwhile. */
int iap_uplink_want_write(const struct iap_uplink *u);
/* Packet index (1-based, counted from the start of the input) of the PDUs that follow. */
void iap_uplink_begin_packet(struct iap_uplink *u, uint64_t pkt);
/* A packet that yields no PDU: begin and end in one (nothing to close). */
void iap_uplink_skip_packet(struct iap_uplink *u, uint64_t pkt);
/* Ends the packet: closes the batch when it reached IAP_BATCH_BYTES and the store has room. */
void iap_uplink_end_packet(struct iap_uplink *u);
/* Batches closed into the store so far (a change means one is ready to be sent). */
uint64_t iap_uplink_batches(const struct iap_uplink *u);
/* 1 when another packet may be processed (the open batch is not waiting for room). */
int iap_uplink_room(struct iap_uplink *u);
/* Queues an X3 PDU (format 5/6 from family) with the IP packet as payload. 0, -1 (no memory). */
int iap_uplink_x3(struct iap_uplink *u, const struct lt_task *task, uint32_t seq, int direction,
                  int family, uint32_t ts_sec, uint32_t ts_nsec, const uint8_t *ip, size_t len);
/* The fields of an X3 PDU as lawtap-iap sends it: attributes 7 (ipid), 8, 9 and 65280. */
struct iap_x3_fields {
	uint8_t xid[16];
	uint64_t correlation;  /* the CIN */
	int direction, family; /* family 4 or 6: payload format 5 or 6 */
	char ipid[9];          /* 1..8 characters, NUL-terminated */
	uint32_t seq, ts_sec, ts_nsec;
	uint64_t epoch;
};
/* Encodes that X3 PDU with the IP packet ip[0..len) as payload into out: byte for byte what
 * lt_x2x3_encode writes for the same PDU. Bytes written, or LT_X2X3_E_SPACE, _TOOBIG, _BADHDR. */
long iap_x3_encode_fast(const struct iap_x3_fields *x, const uint8_t *ip, size_t len, uint8_t *out,
                        size_t cap);
/* Queues an X2 PDU (format 4, no payload) carrying the header facts. 0, -1 (no memory). */
int iap_uplink_x2(struct iap_uplink *u, const struct lt_task *task, uint32_t seq, int direction,
                  uint32_t ts_sec, uint32_t ts_nsec, const struct iap_pkt_facts *f);
/* Closes the open batch into the store. 0, or IAP_BUF_E_FULL / _IO (it stays open). */
int iap_uplink_flush(struct iap_uplink *u);
/* Housekeeping at monotonic time now_ms: closes a batch idle for IAP_FLUSH_IDLE_MS when
 * flush_idle, and when connected sends held batches (within IAP_INFLIGHT_MAX), reads acks,
 * sends an idle keep-alive after IAP_KEEPALIVE_IDLE_MS, fails the connection when an ack is
 * overdue. 0, or -1 when the connection failed (logged, detached; batches kept). */
int iap_uplink_tick(struct iap_uplink *u, int64_t now_ms, int flush_idle);
/* Milliseconds until iap_uplink_tick has work to do (for a poll timeout), at most max_ms. */
int iap_uplink_next_ms(const struct iap_uplink *u, int64_t now_ms, int max_ms);
/* 1 when nothing is held: the open batch is empty and every batch was confirmed. */
int iap_uplink_idle(struct iap_uplink *u);
/* Sends a keep-alive not tied to a batch (when connected); iap_uplink_probe_acked tells when
 * its ack came. 0 or -1 (connection failed, detached). */
int iap_uplink_probe(struct iap_uplink *u);
int iap_uplink_probe_acked(const struct iap_uplink *u);
/* 1 when, on the current connection, a keep-alive was sent after every batch and PDU and the
 * newest keep-alive sent was acknowledged (then a probe would add nothing). */
int iap_uplink_all_acked(const struct iap_uplink *u);
/* Packets up to which every PDU was confirmed (0 = none): all packets <= it are safe. */
uint64_t iap_uplink_confirmed_pkts(struct iap_uplink *u);
void iap_uplink_usage(const struct iap_uplink *u, struct iap_buf_usage *out);

/* ---- resume state for -r (resume.c) ---- */
struct iap_seqmap {
	size_t n, cap;
	struct iap_seqent {
		uint8_t xid[16];
		uint32_t next; /* next sequence number of this XID */
	} * e;
};
/* Raises the XID's next sequence number to at least next (adds it when new). 0 or -1. */
int iap_seqmap_note(struct iap_seqmap *m, const uint8_t xid[16], uint32_t next);
/* The XID's next sequence number, or -1 when unknown. */
int64_t iap_seqmap_get(const struct iap_seqmap *m, const uint8_t xid[16]);
void iap_seqmap_clear(struct iap_seqmap *m);
/* Notes the sequence number of every X2/X3 PDU of data[0..len) (confirmed batch). */
void iap_seqmap_note_pdus(struct iap_seqmap *m, const uint8_t *data, size_t len);

struct iap_resume {
	char file[4096];              /* the capture's path as given */
	uint64_t size, ino, mtime_ns; /* its identity */
	uint64_t packets;             /* packets 1..packets were confirmed */
	uint64_t epoch;               /* run epoch */
	struct iap_seqmap seq;        /* next sequence number per XID after those packets */
};
/* Reads a state file (untrusted text, bounded). 0, 1 when it does not exist, -1 with err. */
int iap_resume_load(const char *path, struct iap_resume *st, char *err, size_t errlen);
/* Writes it atomically (temporary file, fsync, rename, fsync of the directory). 0 or -1. */
int iap_resume_save(const char *path, const struct iap_resume *st, char *err, size_t errlen);
/* Fills size/ino/mtime_ns from the file. 0 or -1 with err. */
int iap_resume_identity(const char *file, struct iap_resume *st, char *err, size_t errlen);

/* ---- TLS on a non-blocking socket (tlsio.c) ---- */
#define IAP_WRITE_TIMEOUT_MS 60000 /* a peer that takes no bytes for this long has failed */

/* Puts the SSL's socket in non-blocking mode (after the handshake). 0 or -1. */
int iap_tls_set_nonblock(SSL *ssl);
/* Reads up to len bytes, waiting at most timeout_ms (-1 forever; 0 = only what is there).
 * >0 bytes, 0 nothing yet (timeout, signal, or only TLS records without data), -1 failed with
 * the reason in why. */
long iap_tls_read(SSL *ssl, void *buf, size_t len, int timeout_ms, char *why, size_t whylen);
/* Writes all len bytes, waiting up to timeout_ms whenever the socket takes nothing. 0 or -1
 * with the reason in why. */
int iap_tls_write(SSL *ssl, const void *buf, size_t len, int timeout_ms, char *why, size_t whylen);
/* Writes as much of buf[0..len) as the socket takes now, never waiting: bytes written (0..len),
 * or -1 with the reason in why. After a short write the caller calls it again later with the
 * rest (buf + n, len - n) before writing anything else (a TLS record OpenSSL began is finished
 * from those bytes): when the socket is writable, or, when *want_read was set (TLS must read
 * first), after reading. Needs iap_tls_set_nonblock. */
long iap_tls_write_some(SSL *ssl, const void *buf, size_t len, int *want_read, char *why,
                        size_t whylen);

/* ---- connecting to the mediator without blocking (dial.c) ---- */
struct addrinfo;
struct pollfd;
struct iap_dial {
	SSL_CTX *ctx;
	const char *hostport, *what; /* "mediator" or "tasking", for log lines */
	int timeout_ms, state, fd, events;
	int64_t deadline_ms;
	struct addrinfo *res, *ai;
	SSL *ssl;
};
void iap_dial_init(struct iap_dial *d, SSL_CTX *ctx, const char *hostport, const char *what,
                   int timeout_ms);
/* Starts an attempt (resolve, non-blocking connect): 0 under way, -1 failed (logged). */
int iap_dial_start(struct iap_dial *d, int64_t now_ms);
/* Advances the attempt as far as the socket allows now, never waiting: 1 done (*out: the TLS
 * session, blocking socket, peer of the mediator role), 0 still under way, -1 failed or past
 * its deadline (logged, "<what> link <host:port>: <reason>"; the attempt is over). */
int iap_dial_step(struct iap_dial *d, int64_t now_ms, SSL **out);
/* 1 with p set to the descriptor and events the attempt waits for, 0 when none is under way. */
int iap_dial_pollfd(const struct iap_dial *d, struct pollfd *p);
int iap_dial_active(const struct iap_dial *d);
void iap_dial_abort(struct iap_dial *d);

/* ---- capture (capture.c) ---- */
/* Opens a pcap/pcapng file with nanosecond time stamps, read through a 1 MiB stdio buffer.
 * NULL on failure, err names the file and libpcap's reason, or the unsupported link type (name
 * and number). Close it with iap_capture_close. */
pcap_t *iap_capture_open_file(const char *path, char *err, size_t errlen);
/* Closes a handle of iap_capture_open_file or _open_live (and frees a file's buffer). NULL ok. */
void iap_capture_close(pcap_t *p);

/* A zero-copy reader for classic pcap files (pcapfile.c): after libpcap opened and checked the
 * file as p, records are read from fd (p's own descriptor: fileno(pcap_file(p))) in 1 MiB
 * blocks and handed out as pointers into the block. Same results, checks and error texts as
 * pcap_next_ex on p. NULL when the file is not classic pcap 2.4 (pcapng, older versions): then
 * read it with pcap_next_ex. */
struct iap_pcapfile;
struct iap_pcapfile *iap_pcapfile_open(pcap_t *p, int fd);
/* As pcap_next_ex: 1 with *h and *data (valid until the next call), PCAP_ERROR_BREAK at the end
 * of the file, PCAP_ERROR with the reason in iap_pcapfile_geterr. */
int iap_pcapfile_next(struct iap_pcapfile *f, struct pcap_pkthdr **h, const u_char **data);
const char *iap_pcapfile_geterr(const struct iap_pcapfile *f);
void iap_pcapfile_close(struct iap_pcapfile *f); /* does not close fd */
void iap_pcapfile_close(struct iap_pcapfile *f); /* does not close fd */
/* Opens a live interface (needs root or CAP_NET_RAW), snap length snaplen, promiscuous,
 * nanosecond time stamps when the platform has them, non-blocking. NULL with err. */
pcap_t *iap_capture_open_live(const char *iface, int snaplen, char *err, size_t errlen);
/* Drops root to user (setgroups(0), setgid, setuid) and verifies setuid(0) now fails.
 * A no-op with a warning when not running as root. 0 or -1 with err. */
int iap_drop_privileges(const char *user, char *err, size_t errlen);

/* ---- per-packet processing (process.c) ---- */
struct iap_ctx {
	struct iap_targets *targets; /* current table (NULL before the first snapshot) */
	struct iap_uplink *uplink;
	struct iap_stats *stats;
	int linktype;
	int ts_nano;               /* pcap time stamps carry nanoseconds (else microseconds) */
	struct iap_match *scratch; /* room for targets' task count */
	size_t scratch_cap;
	uint64_t pkt; /* index of the current packet (1-based, from the start of the input) */
	/* --pace: times of interception rebased so the first packet's time is the start time
	 * (base_wall_ns), later ones base_wall_ns + (t - base_pkt_ns) / speed. */
	int rebase, rebase_set;
	double speed;
	int64_t base_wall_ns, base_pkt_ns;
	/* --resume: next sequence numbers for XIDs first seen in this run (NULL = none) */
	const struct iap_seqmap *seed;
};

/* Replaces the table (the old one is freed after its sequence counters are carried over).
 * 0 or -1 (ENOMEM). */
int iap_ctx_set_targets_take(struct iap_ctx *c, struct iap_targets *t);
/* The capture time of a frame in ns (µs stamps scaled). */
int64_t iap_frame_ns(const struct iap_ctx *c, const struct pcap_pkthdr *h);
/* Handles one captured frame: decodes, matches, queues X2/X3 (packet index c->pkt + 1, which
 * becomes c->pkt). 0, or -1 when the uplink failed (out of memory). */
int iap_process_frame(struct iap_ctx *c, const struct pcap_pkthdr *h, const uint8_t *frame);
void iap_ctx_clear(struct iap_ctx *c);

/* The subject CN of the context's own certificate (the IAP id: 1..8 PrintableString
 * characters). 0 or -1 with err. */
int iap_own_id(SSL_CTX *ctx, char *buf, size_t len, char *err, size_t errlen);

#endif
