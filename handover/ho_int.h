/* handover/ho_int.h: internals shared by the handover files (not part of the public API). */
#ifndef LAWTAP_HO_INT_H
#define LAWTAP_HO_INT_H

#include "handover.h"
#include "pduack.h"
#include "spool.h"

#include "mediation/codec/pspdu.h"

#include <pthread.h>
#include <stdint.h>

/* Bytes written per SSL_write at most (several TLS records; whole PS-PDUs). Larger than the
 * largest PS-PDU so that one always fits. */
#define HO_BATCH_MAX (256 * 1024)
_Static_assert(HO_BATCH_MAX >= MED_PSPDU_MAX + 1024, "a PS-PDU must fit a batch");
/* Records appended but not yet written to the spool file are written by the delivery thread
 * itself once they waited this long (normally the appender writes them: a full tail chunk, or
 * the group commit before an IAP keep-alive is acknowledged). */
#define HO_FLUSH_MS 10
/* Send a confirming keep-alive once this many written bytes wait for confirmation, or after
 * HO_CONFIRM_MS without new records (keepalive ack mode). */
#define HO_CONFIRM_BYTES (1024 * 1024)
#define HO_CONFIRM_MS 200
#define HO_SPOOL_DEFAULT_MAX ((uint64_t)1024 * 1024 * 1024)
/* A full spool takes records again once below this share of spool_max_bytes (hysteresis). */
#define HO_SPOOL_RESUME_PCT 90
#define HO_RESEND_WINDOW_DEFAULT 1000

struct ho_link {
	struct ho_ctx *ho;
	const struct ho_lea_conf *lea;
	int hi;        /* HO_HI2 / HO_HI3 */
	char name[64]; /* "lea lea1 hi3", for logs */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ho_spool *sp;
	struct ho_spool_pos sent; /* next record to write on the current connection */
	uint64_t rec_in;          /* records appended this run */
	uint64_t rec_conf;        /* records confirmed this run */
	uint64_t sent_max;        /* highest record number written + 1 (delivered) */
	uint64_t rec_base;        /* spool end at open: records before it are from a past run */
	/* window ack mode: positions after each written batch, oldest first (a ring) */
	struct ho_spool_pos *ring;
	size_t ring_cap, ring_head, ring_n;
	uint64_t max_bytes;
	int full;    /* spool at its bound: back-pressure episode in progress */
	int up;      /* connected */
	int waiting; /* the delivery thread waits on cv for records: wake it when some are readable
	              */
	uint64_t full_events, spool_errors;
	int stopping; /* drain requested: no new records, confirm and finish */
	int abort;    /* drain timed out: give up now */
	int done;     /* the thread finished (drained or aborted) */
	int thr_started;
	pthread_t thr;
	/* statistics (under mu) */
	uint64_t dropped, keepalives, reconnects;
	uint64_t pdu_ack_requests, pdu_ack_responses; /* ack_mode pdu-ack (handover.h) */
	int pa_mode; /* ho_pa_med_mode(&pa) as last published by the delivery thread (under mu,
	              * for the statistics; written only by that thread) */
	/* ack_mode pdu-ack: the negotiation and acknowledgement state (delivery thread only) */
	struct ho_pa_med pa;
};

struct ho_ctx {
	SSL_CTX *ssl_ctx;
	struct ho_site site;
	size_t nleas;
	struct ho_lea_conf *leas;
	struct ho_link *links; /* 2 * nleas: [2 * lea + hi] */
	pthread_mutex_t mu;    /* guards done_cv waits */
	pthread_cond_t done_cv;
};

/* handover.c: records waiting (appended, not confirmed); with l->mu held. */
uint64_t ho_link_pending(const struct ho_link *l);
/* With l->mu held: everything before pos is confirmed by the LEA. The lock is released while
 * the cursor file is written and synced (ho_spool_confirm_begin), then taken again. */
void ho_link_confirm_locked(struct ho_link *l, const struct ho_spool_pos *pos);

/* deliver.c: the delivery thread of one handover. */
void *ho_link_main(void *arg);

/* keepalive.c: the PSHeader of the mediator's TRI PDUs (keep-alives, and in ack_mode pdu-ack
 * the option negotiation and pDUAcknowledgementRequests): placeholder LIID, the LEA's country
 * codes, CIN 0, the current time; the sequence number is left 0 for the caller. */
void ho_tri_header(const struct ho_link *l, struct med_header *h);
/* keepalive.c: builds a keep-alive PS-PDU (TS 102 232-1: tRIPayload keep-alive, placeholder
 * LIID, CIN 0, the connection's own sequence number). Bytes or a negative MED_E_*. */
long ho_ka_build(const struct ho_link *l, uint32_t seq, uint8_t *out, size_t cap);
/* Checks one whole PS-PDU received from the LEA: 0 when it is a keep-aliveResponse with
 * sequence number want (and a keep-alive is outstanding), -1 otherwise with the reason. */
int ho_ka_check(const uint8_t *buf, size_t len, int outstanding, uint32_t want, char *why,
                size_t whylen);

#endif
