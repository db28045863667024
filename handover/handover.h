/* handover/handover.h: HI2/HI3 delivery from the mediator to the LEAs (TS 102 232-1 clause 6).
 *
 * One delivery thread per LEA and handover (HI2, HI3). Each is fed from an on-disk spool
 * (handover/spool.h, docs/delivery.md) under <spool_dir>/<lea>/<hi2|hi3>/; only a batch buffer
 * is in memory, however long the LEA is away. The thread connects out over mutual TLS (the peer
 * must hold the LEA role), writes the records in batches and confirms them per the LEA's
 * ack_mode: "keepalive" (a keep-alive after each batch of traffic; its response confirms
 * everything before it) or "window" (idle keep-alives only; a written record counts as
 * confirmed once resend_window newer records were written) or "pdu-ack" (TS 102 232-1 PDU
 * acknowledgement negotiated per connection, docs/pdu-ack.md; keepalive mode as fallback when
 * the LEA declines). Confirmed records advance the
 * spool's durable cursor; after a reconnect or a restart the unconfirmed records are resent
 * first, in order (the LEA drops duplicates by LIID, CIN and sequence number). */
#ifndef LAWTAP_HANDOVER_H
#define LAWTAP_HANDOVER_H

#include <openssl/ssl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HO_LEA_ID_MAX 32
#define HO_ADDR_MAX 256
#define HO_LIID_MAX 25
#define HO_OPID_MAX 16

/* Handover index. */
enum ho_hi { HO_HI2 = 0, HO_HI3 = 1 };

/* Error codes (negative). */
#define HO_E_FULL (-1)    /* the spool is at spool_max_bytes (see ho_room_wait) */
#define HO_E_STOPPED (-2) /* the handover is shutting down and takes no new records */
#define HO_E_IO (-3)      /* the spool could not write the record (logged): not taken */

/* How the LEA confirms what it received (per LEA, docs/delivery.md). */
enum ho_ack_mode { HO_ACK_KEEPALIVE = 0, HO_ACK_WINDOW = 1, HO_ACK_PDU = 2 };

/* One LEA's delivery settings (from the mediator config "leas" section). */
struct ho_lea_conf {
	char id[HO_LEA_ID_MAX + 1];
	char country[3];              /* delivery country code, also on keep-alives */
	char addr[2][HO_ADDR_MAX];    /* host:port of HI2 and HI3 */
	int ts_form;                  /* enum med_ts_form (codec/pspdu.h) */
	int keepalive_idle;           /* TIME1, seconds; 0 disables idle keep-alives */
	int keepalive_timeout;        /* TIME3, seconds */
	int reconnect_max;            /* backoff cap, seconds */
	uint8_t ka_liid[HO_LIID_MAX]; /* placeholder LIID for keep-alives */
	size_t ka_liid_len;
	int ack_mode;       /* enum ho_ack_mode */
	int resend_window;  /* window mode: records resent after a reconnect */
	int pdu_ack_strict; /* pdu-ack mode: no fallback to keepalive mode (docs/pdu-ack.md) */
	/* A collector that is not lawtap (the LEA has its own CA or a pinned certificate): the
	 * handover's SSL_CTX carries that trust (lt_tls_ctx_new_client_ca) and no lawtap role is
	 * required of the peer. */
	int peer_no_role;
	int has_pin;     /* the peer's leaf certificate must have SHA-256 pin (DER) */
	uint8_t pin[32]; /* checked after every handshake (lt_tls_check_pin) */
};

/* The de-duplication key stored with each spooled record (spool.h has the full type). */
struct ho_spool_key;
typedef void (*ho_key_fn)(void *arg, const struct ho_spool_key *k);

/* Settings shared by every handover of the mediator. */
struct ho_site {
	char operator_id[HO_OPID_MAX + 1]; /* PSHeader operatorIdentifier */
	char ne_id[HO_OPID_MAX + 1];       /* networkElementIdentifier, "" = absent */
	char spool_dir[1100];              /* <state_dir>/spool */
	uint64_t spool_max_bytes;          /* per handover spool (0 = 1 GiB) */
	uint64_t spool_segment_bytes;      /* segment file size (0 = 64 MiB) */
	int fsync;                         /* enum ho_fsync (spool.h): batch, always, none */
	ho_key_fn key_fn;                  /* called for each record's key found at open */
	void *key_arg;
	void (*before_delete)(void *arg); /* called before spool segments are deleted */
};

struct ho_ctx;
struct ho_link;

/* Builds the handovers (no threads yet) and opens their spools under site->spool_dir, replaying
 * what an earlier run left (site->key_fn sees the key of every spooled record). ssl_ctx is a TLS
 * client context (lt_tls_ctx_new with server == 0, or lt_tls_ctx_new_client_ca for an LEA whose
collector is not lawtap); ho_new takes a reference of its own (released by ho_free). leas is
 * copied. NULL with reason in err. */
struct ho_ctx *ho_new(SSL_CTX *ssl_ctx, const struct ho_site *site, const struct ho_lea_conf *leas,
                      size_t nleas, char *err, size_t errlen);
/* Starts the delivery threads. 0 or -1 (reason in err). */
int ho_start(struct ho_ctx *ho, char *err, size_t errlen);
/* The handover of LEA number lea (index into the leas given to ho_new), hi = HO_HI2/HO_HI3. */
struct ho_link *ho_link_get(struct ho_ctx *ho, size_t lea, int hi);
/* The LEA settings of a handover (for the record builder: ts_form, country). */
const struct ho_lea_conf *ho_link_lea(const struct ho_link *l);

/* Appends one encoded PS-PDU to the handover's spool, with its de-duplication key k (NULL for
 * records the mediator makes itself). Records are delivered in the order they are appended,
 * so a caller that numbers records must append under the same lock it numbers them with.
 * The spool's size bound is not checked here (see ho_room_wait): a record is never refused
 * for space. 0, HO_E_STOPPED or HO_E_IO. Thread-safe. */
int ho_enqueue(struct ho_link *l, const uint8_t *pdu, size_t len, const struct ho_spool_key *k);
/* Back-pressure: waits up to ms for the spool to be below spool_max_bytes. 0 when there is
 * room, HO_E_FULL otherwise. The first refusal of an episode logs the alarm and counts it;
 * the end of the episode is logged too. */
int ho_room_wait(struct ho_link *l, int ms);
/* Writes every appended record to its spool file (records are appended into memory and written
 * in large blocks) and makes it durable per the fsync policy (group commit: one fdatasync per
 * dirty spool). Needed before an acknowledgement under every policy. 0 or -1 (logged).
 * Thread-safe. */
int ho_sync(struct ho_ctx *ho);
/* ho_sync in two halves for a sync outside the links' locks: writes every spool's appended
 * records to its file and adds to fds[*n] (up to cap) a descriptor to fdatasync and close for
 * each spool written since its last sync (ho_spool_sync_fd). 0 or -1 (an error, logged; or
 * more than cap descriptors: the rest are synced here). Thread-safe. */
int ho_sync_collect(struct ho_ctx *ho, int *fds, size_t cap, size_t *n);
/* The number of descriptors ho_sync_collect may add at most. */
size_t ho_sync_max(const struct ho_ctx *ho);

/* Shutdown: no new records are taken; every handover that carried traffic writes what is
 * queued and has it confirmed by the LEA per its ack_mode (a keep-alive's answer, or a
 * pDUAcknowledgementResponse under pdu-ack). Waits at most timeout_ms.
 * Returns 0 when everything was confirmed, -1 otherwise (each unconfirmed handover logged,
 * naming the LEA, the HI and the number of unconfirmed records). Threads are joined.
 * cancel (may be NULL) is polled: once it is non-zero the drain gives up early (an operator's
 * second SIGTERM), with the same reporting. */
int ho_drain(struct ho_ctx *ho, int64_t timeout_ms, const volatile sig_atomic_t *cancel);

/* Statistics of one handover (i = 2 * lea + hi), for status pages. 0, or -1 when i is out of
 * range. */
struct ho_stats {
	char lea[HO_LEA_ID_MAX + 1];
	int hi; /* 2 or 3 */
	int up; /* connected to the LEA */
	uint64_t queued, delivered, confirmed, unconfirmed, keepalives, reconnects;
	uint64_t spool_bytes, spool_max_bytes, spool_full_events, spool_errors;
	int spool_full; /* back-pressure episode in progress (the alarm) */
	/* ack_mode pdu-ack (docs/pdu-ack.md), this run: pDUAcknowledgementRequests written and
	 * pDUAcknowledgementResponses received (each confirmed its request's records). Requests
	 * outstanding when a connection is lost are never answered. 0 in the other modes. */
	uint64_t pdu_ack_requests, pdu_ack_responses;
	/* How the link confirms now: "keepalive" or "window" (the LEA's ack_mode); for ack_mode
	 * pdu-ack the mode of the current connection: "pdu-ack" (in force), "keepalive" (the
	 * fallback), "negotiating" (optionRequest out, no records written) or "down" (no
	 * connection). A static string. */
	const char *ack;
};
int ho_get_stats(struct ho_ctx *ho, size_t i, struct ho_stats *st);
size_t ho_count(const struct ho_ctx *ho); /* number of handovers (2 per LEA) */

/* Writes per-LEA, per-HI statistics, one line each:
 * "lea=lea1 hi=3 queued=N delivered=N confirmed=N unconfirmed=N dropped=N keepalives=N
 *  reconnects=N spool_bytes=N spool_full=0|1 spool_full_events=N spool_errors=N
 *  pdu_ack_requests=N pdu_ack_responses=N ack=MODE" (struct ho_stats: ack).
 * queued/delivered/confirmed count this run; unconfirmed includes records replayed from the
 * spool of an earlier run. */
void ho_print_stats(struct ho_ctx *ho, FILE *out);

/* Stops the threads (if still running) and frees. Accepts NULL. */
void ho_free(struct ho_ctx *ho);

#endif
