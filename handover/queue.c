/* handover/queue.c: the in-memory record queue of one handover (the disk spool replaces it
 * later). One contiguous buffer from the oldest unconfirmed record on; a keep-alive response
 * confirms a prefix, which is dropped by moving head (compacting only now and then). */
#include "ho_int.h"

#include <stdlib.h>
#include <string.h>

static void compact(struct ho_queue *q)
{
	if (q->head == 0)
		return;
	memmove(q->buf, q->buf + q->head, q->len - q->head);
	q->sent -= q->head;
	q->len -= q->head;
	q->head = 0;
}

int ho_queue_push(struct ho_queue *q, const uint8_t *pdu, size_t len)
{
	size_t max = q->max ? q->max : HO_QUEUE_DEFAULT_MAX;
	size_t live = q->len - q->head;
	if (len > max || live > max - len)
		return HO_E_FULL;
	if (q->cap - q->len < len)
		compact(q);
	if (q->cap - q->len < len) {
		size_t ncap = q->cap ? q->cap : 64 * 1024;
		while (ncap - q->len < len)
			ncap *= 2;
		if (ncap > max)
			ncap = max;
		uint8_t *nb = realloc(q->buf, ncap);
		if (!nb)
			return HO_E_FULL;
		q->buf = nb;
		q->cap = ncap;
	}
	memcpy(q->buf + q->len, pdu, len);
	q->len += len;
	q->rec_end++;
	return 0;
}

size_t ho_queue_take(struct ho_queue *q, uint8_t *out, size_t cap)
{
	size_t n = 0;
	while (q->sent + n < q->len) {
		size_t rec = 0;
		/* Our own records: med_frame cannot fail here; stop safely if it ever does. */
		if (med_frame(q->buf + q->sent + n, q->len - q->sent - n, MED_PSPDU_MAX + 16,
		              &rec) != 0 ||
		    rec == 0)
			break;
		if (n + rec > cap)
			break;
		n += rec;
		q->rec_sent++;
	}
	if (n) {
		memcpy(out, q->buf + q->sent, n);
		q->sent += n;
		if (q->rec_sent > q->rec_sent_max)
			q->rec_sent_max = q->rec_sent;
	}
	return n;
}

void ho_queue_confirm(struct ho_queue *q, uint64_t abs, uint64_t rec)
{
	if (abs <= q->conf_abs)
		return;
	size_t drop = (size_t)(abs - q->conf_abs);
	if (drop > q->sent - q->head)
		drop = q->sent - q->head; /* cannot confirm what this pass has not written */
	q->head += drop;
	q->conf_abs += drop;
	if (rec > q->rec_conf)
		q->rec_conf = rec;
	if (q->head == q->len) {
		q->head = q->sent = q->len = 0;
		if (q->cap > 1024 * 1024) { /* give memory back after a backlog */
			free(q->buf);
			q->buf = NULL;
			q->cap = 0;
		}
	} else if (q->head >= q->cap / 2) {
		compact(q);
	}
}

void ho_queue_rewind(struct ho_queue *q)
{
	q->sent = q->head;
	q->rec_sent = q->rec_conf;
}

void ho_queue_free(struct ho_queue *q)
{
	free(q->buf);
	memset(q, 0, sizeof *q);
}
