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
};

/* Formats "packets_read=N matched=N ... truncated=N" (no newline) into buf. */
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
 * A table built from one task snapshot. Lookup cost is independent of the number of targets:
 * one hash probe per prefix length in use, per address (at most 33 for IPv4, 129 for IPv6). */
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
/* Number of distinct (family, prefix length) hash tables in use: the probe bound per address. */
size_t iap_targets_nlengths(const struct iap_targets *t, int family);
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

/* ---- X2/X3 uplink (uplink.c) ---- */
#define IAP_BATCH_BYTES 65536       /* one SSL_write per batch of at most this much */
#define IAP_FLUSH_IDLE_MS 50        /* -i: flush a partial batch after this much quiet */
#define IAP_KEEPALIVE_IDLE_MS 10000 /* keep-alive after this long without sending */
#define IAP_KEEPALIVE_WAIT_MS 10000 /* its ack must come within this */

struct iap_uplink;

/* Takes ssl (connected to a peer of the mediator role). iap_id is 1..8 characters. */
struct iap_uplink *iap_uplink_new_take(SSL *ssl, const char *iap_id, struct iap_stats *stats,
                                       char *err, size_t errlen);
void iap_uplink_free(struct iap_uplink *u);
int iap_uplink_fd(const struct iap_uplink *u);
/* Queues an X3 PDU (format 5/6 from family) with the IP packet as payload. -1: link failed. */
int iap_uplink_x3(struct iap_uplink *u, const struct lt_task *task, uint32_t seq, int direction,
                  int family, uint32_t ts_sec, uint32_t ts_nsec, const uint8_t *ip, size_t len);
/* Queues an X2 PDU (format 4, no payload) carrying the header facts. -1: link failed. */
int iap_uplink_x2(struct iap_uplink *u, const struct lt_task *task, uint32_t seq, int direction,
                  uint32_t ts_sec, uint32_t ts_nsec, const struct iap_pkt_facts *f);
/* Writes the pending batch (one SSL_write). 0 or -1 (link failed). */
int iap_uplink_flush(struct iap_uplink *u);
/* Housekeeping at monotonic time now_ms: flushes a batch idle for IAP_FLUSH_IDLE_MS when
 * flush_idle, reads keep-alive acks, sends a keep-alive after IAP_KEEPALIVE_IDLE_MS without
 * traffic, fails the link when an ack is overdue. 0 or -1 (link failed, logged). */
int iap_uplink_tick(struct iap_uplink *u, int64_t now_ms, int flush_idle);
/* Milliseconds until iap_uplink_tick has work to do (for a poll timeout), at most max_ms. */
int iap_uplink_next_ms(const struct iap_uplink *u, int64_t now_ms, int max_ms);
/* Flushes, sends a keep-alive and waits up to timeout_ms for its ack: everything sent before it
 * is then queued at the mediator. 0, or -1 (logged). */
int iap_uplink_finish(struct iap_uplink *u, int timeout_ms);

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

/* ---- capture (capture.c) ---- */
/* Opens a pcap/pcapng file with nanosecond time stamps. NULL on failure, err names the file and
 * libpcap's reason, or the unsupported link type (name and number). */
pcap_t *iap_capture_open_file(const char *path, char *err, size_t errlen);
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
};

/* Replaces the table (the old one is freed after its sequence counters are carried over).
 * 0 or -1 (ENOMEM). */
int iap_ctx_set_targets_take(struct iap_ctx *c, struct iap_targets *t);
/* Handles one captured frame: decodes, matches, queues X2/X3. 0, or -1 when the uplink failed. */
int iap_process_frame(struct iap_ctx *c, const struct pcap_pkthdr *h, const uint8_t *frame);
void iap_ctx_clear(struct iap_ctx *c);

/* The subject CN of the context's own certificate (the IAP id: 1..8 PrintableString
 * characters). 0 or -1 with err. */
int iap_own_id(SSL_CTX *ctx, char *buf, size_t len, char *err, size_t errlen);

#endif
