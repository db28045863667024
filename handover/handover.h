/* handover/handover.h: HI2/HI3 delivery from the mediator to the LEAs (TS 102 232-1 clause 6).
 *
 * One delivery thread per LEA and handover (HI2, HI3). Each keeps an in-memory queue of encoded
 * PS-PDUs (the disk spool is a later step), connects out over mutual TLS (the peer must hold the
 * LEA role), writes the records in batches, sends keep-alives after keepalive_idle seconds of
 * idleness and checks each keep-aliveResponse (same sequence number, within keepalive_timeout).
 * A record stays queued until a keep-alive answered after it confirms it; after a reconnect the
 * unconfirmed records are resent in order (the LEA drops duplicates by sequence number). */
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
#define HO_E_FULL (-1)    /* the queue is at its byte limit: the record was dropped (counted) */
#define HO_E_STOPPED (-2) /* the handover is shutting down and takes no new records */

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
};

/* Settings shared by every handover of the mediator. */
struct ho_site {
	char operator_id[HO_OPID_MAX + 1]; /* PSHeader operatorIdentifier */
	char ne_id[HO_OPID_MAX + 1];       /* networkElementIdentifier, "" = absent */
	size_t queue_max;                  /* byte limit per handover queue (0 = default 256 MiB) */
};

struct ho_ctx;
struct ho_link;

/* Builds the handovers (no threads yet). ssl_ctx is a TLS client context (lt_tls_ctx_new with
 * server == 0), borrowed: it must outlive the ho_ctx. leas is copied. NULL with reason in err. */
struct ho_ctx *ho_new(SSL_CTX *ssl_ctx, const struct ho_site *site, const struct ho_lea_conf *leas,
                      size_t nleas, char *err, size_t errlen);
/* Starts the delivery threads. 0 or -1 (reason in err). */
int ho_start(struct ho_ctx *ho, char *err, size_t errlen);
/* The handover of LEA number lea (index into the leas given to ho_new), hi = HO_HI2/HO_HI3. */
struct ho_link *ho_link_get(struct ho_ctx *ho, size_t lea, int hi);
/* The LEA settings of a handover (for the record builder: ts_form, country). */
const struct ho_lea_conf *ho_link_lea(const struct ho_link *l);

/* Appends one encoded PS-PDU (copied) to the handover's queue. Records are delivered in the
 * order they are enqueued, so a caller that numbers records must enqueue under the same lock
 * it numbers them with. 0, HO_E_FULL or HO_E_STOPPED. Thread-safe. */
int ho_enqueue(struct ho_link *l, const uint8_t *pdu, size_t len);

/* Shutdown: no new records are taken; every handover that carried traffic writes what is
 * queued and confirms it with a keep-alive answered by the LEA. Waits at most timeout_ms.
 * Returns 0 when everything was confirmed, -1 otherwise (each unconfirmed handover logged,
 * naming the LEA, the HI and the number of unconfirmed records). Threads are joined.
 * cancel (may be NULL) is polled: once it is non-zero the drain gives up early (an operator's
 * second SIGTERM), with the same reporting. */
int ho_drain(struct ho_ctx *ho, int64_t timeout_ms, const volatile sig_atomic_t *cancel);

/* Writes per-LEA, per-HI statistics, one line each:
 * "lea=lea1 hi=3 queued=N delivered=N confirmed=N unconfirmed=N dropped=N keepalives=N
 *  reconnects=N". */
void ho_print_stats(struct ho_ctx *ho, FILE *out);

/* Stops the threads (if still running) and frees. Accepts NULL. */
void ho_free(struct ho_ctx *ho);

#endif
