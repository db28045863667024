/* Framing of a PS-PDU byte stream (TS 102 232-1: records back to back, each delimited by the
 * outer SEQUENCE's definite length) through one bounded buffer of MED_PSPDU_MAX bytes. */
#include <stdlib.h>
#include <string.h>

#include "collector.h"

struct col_stream {
	uint8_t *buf;
	size_t head;   /* first byte not yet framed */
	size_t len;    /* bytes in buf */
	uint64_t base; /* stream offset of buf[0] */
};

struct col_stream *col_stream_new(void)
{
	struct col_stream *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->buf = malloc(MED_PSPDU_MAX);
	if (!s->buf) {
		free(s);
		return NULL;
	}
	return s;
}

void col_stream_free(struct col_stream *s)
{
	if (!s)
		return;
	free(s->buf);
	free(s);
}

uint8_t *col_stream_space(struct col_stream *s, size_t *room)
{
	if (s->head > 0) {
		memmove(s->buf, s->buf + s->head, s->len - s->head);
		s->len -= s->head;
		s->base += s->head;
		s->head = 0;
	}
	*room = MED_PSPDU_MAX - s->len;
	return s->buf + s->len;
}

void col_stream_commit(struct col_stream *s, size_t n)
{
	if (n > MED_PSPDU_MAX - s->len)
		n = MED_PSPDU_MAX - s->len;
	s->len += n;
}

size_t col_stream_feed(struct col_stream *s, const uint8_t *data, size_t n)
{
	size_t room;
	uint8_t *p = col_stream_space(s, &room);
	if (n > room)
		n = room;
	if (n)
		memcpy(p, data, n);
	s->len += n;
	return n;
}

int col_stream_next(struct col_stream *s, const uint8_t **rec, size_t *rec_len, uint64_t *off)
{
	size_t avail = s->len - s->head, n = 0;
	*off = s->base + s->head;
	if (avail == 0)
		return MED_E_SHORT;
	int rc = med_frame(s->buf + s->head, avail, MED_PSPDU_MAX, &n);
	if (rc == MED_E_SHORT && avail == MED_PSPDU_MAX)
		return MED_E_BER; /* cannot be: a whole buffer without a record end */
	if (rc != 0)
		return rc == MED_E_SHORT ? MED_E_SHORT : MED_E_BER;
	if (n == 0 || n > avail)
		return MED_E_BER;
	*rec = s->buf + s->head;
	*rec_len = n;
	s->head += n;
	return 0;
}

size_t col_stream_pending(const struct col_stream *s)
{
	return s->len - s->head;
}

uint64_t col_stream_offset(const struct col_stream *s)
{
	return s->base + s->head;
}
