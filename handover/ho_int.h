/* handover/ho_int.h: internals shared by the handover files (not part of the public API). */
#ifndef LAWTAP_HO_INT_H
#define LAWTAP_HO_INT_H

#include "handover.h"

#include "mediation/codec/pspdu.h"

#include <pthread.h>
#include <stdint.h>

/* Bytes written per SSL_write at most (several TLS records; whole PS-PDUs). Larger than the
 * largest PS-PDU so that one always fits. */
#define HO_BATCH_MAX (MED_PSPDU_MAX + 16 * 1024)
/* Send a confirming keep-alive once this many sent bytes wait for confirmation. */
#define HO_CONFIRM_BYTES (1024 * 1024)
#define HO_QUEUE_DEFAULT_MAX ((size_t)256 * 1024 * 1024)

/* The in-memory queue of one handover. buf[head, len) holds the bytes from the oldest
 * unconfirmed record on: [head, sent) written but not yet confirmed, [sent, len) not yet written.
 * Confirmed bytes are dropped by moving head; the buffer is compacted only when head passes half
 * of it, so confirming is amortised O(1) even behind a large backlog. Absolute counters let a
 * keep-alive remember "everything before here" across compactions. */
struct ho_queue {
	uint8_t *buf;
	size_t cap, head, sent, len, max;
	uint64_t conf_abs;     /* absolute stream offset of buf[head] */
	uint64_t rec_end;      /* records ever enqueued */
	uint64_t rec_sent;     /* records written on the current connection's pass */
	uint64_t rec_conf;     /* records confirmed */
	uint64_t rec_sent_max; /* records written at least once (delivered) */
};

/* Appends a record. 0 or HO_E_FULL (max bytes waiting, or no memory). */
int ho_queue_push(struct ho_queue *q, const uint8_t *pdu, size_t len);
/* Copies whole records from the unsent part into out (at most cap bytes) and marks them sent.
 * Returns the byte count (0 = nothing waiting, or the next record is larger than cap). */
size_t ho_queue_take(struct ho_queue *q, uint8_t *out, size_t cap);
/* Everything up to absolute offset abs (records up to rec) is confirmed: drop it. */
void ho_queue_confirm(struct ho_queue *q, uint64_t abs, uint64_t rec);
/* After a reconnect: everything unconfirmed is to be written again. */
void ho_queue_rewind(struct ho_queue *q);
void ho_queue_free(struct ho_queue *q);

/* Bytes written and not yet confirmed. */
static inline size_t ho_queue_unconfirmed(const struct ho_queue *q)
{
	return q->sent - q->head;
}
/* Absolute stream offset just after the last written byte (what a keep-alive now confirms). */
static inline uint64_t ho_queue_sent_abs(const struct ho_queue *q)
{
	return q->conf_abs + (q->sent - q->head);
}
static inline int ho_queue_has_unsent(const struct ho_queue *q)
{
	return q->sent < q->len;
}
/* Nothing waiting: every record confirmed. */
static inline int ho_queue_empty(const struct ho_queue *q)
{
	return q->head == q->len;
}

struct ho_link {
	struct ho_ctx *ho;
	const struct ho_lea_conf *lea;
	int hi;        /* HO_HI2 / HO_HI3 */
	char name[64]; /* "lea lea1 hi3", for logs */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ho_queue q;
	int stopping; /* drain requested: no new records, confirm and finish */
	int abort;    /* drain timed out: give up now */
	int done;     /* the thread finished (drained or aborted) */
	int thr_started;
	pthread_t thr;
	/* statistics (under mu) */
	uint64_t dropped, keepalives, reconnects;
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

/* deliver.c: the delivery thread of one handover. */
void *ho_link_main(void *arg);

/* keepalive.c: builds a keep-alive PS-PDU (TS 102 232-1: tRIPayload keep-alive, placeholder
 * LIID, CIN 0, the connection's own sequence number). Bytes or a negative MED_E_*. */
long ho_ka_build(const struct ho_link *l, uint32_t seq, uint8_t *out, size_t cap);
/* Checks one whole PS-PDU received from the LEA: 0 when it is a keep-aliveResponse with
 * sequence number want (and a keep-alive is outstanding), -1 otherwise with the reason. */
int ho_ka_check(const uint8_t *buf, size_t len, int outstanding, uint32_t want, char *why,
                size_t whylen);

#endif
