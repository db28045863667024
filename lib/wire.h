/* lib/wire.h: bounds-checked big-endian reader and writer cursors with a sticky error
 * (after Knot DNS src/contrib/wire_ctx.h).
 *
 * Contract: a cursor never reads or writes outside [buf, buf + len). An access that would cross
 * the end sets the cursor's error to LT_WIRE_E_SHORT (reader) or LT_WIRE_E_SPACE (writer), does
 * not move the position, and returns zero/NULL; every later access on that cursor then fails
 * too, so a parser can read a whole structure and check lt_wire_*_err() once at the end.
 * Header-only (static inline); no allocation. */
#ifndef LAWTAP_WIRE_H
#define LAWTAP_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define LT_WIRE_E_SHORT (-1) /* reader: not enough bytes */
#define LT_WIRE_E_SPACE (-2) /* writer: not enough room */

/* ---- reader ---- */
struct lt_wire_rd {
	const uint8_t *buf;
	size_t len, pos;
	int err; /* 0 or LT_WIRE_E_SHORT, sticky */
};

static inline struct lt_wire_rd lt_wire_rd_init(const uint8_t *buf, size_t len)
{
	struct lt_wire_rd r = {buf, buf ? len : 0, 0, 0};
	return r;
}

/* Bytes left to read (0 after an error). */
static inline size_t lt_wire_avail(const struct lt_wire_rd *r)
{
	return r->err ? 0 : r->len - r->pos;
}

static inline size_t lt_wire_rd_pos(const struct lt_wire_rd *r)
{
	return r->pos;
}

static inline int lt_wire_rd_err(const struct lt_wire_rd *r)
{
	return r->err;
}

/* Returns a pointer to the next n bytes and consumes them, or NULL (error set) when fewer than
 * n remain. n == 0 returns a valid pointer (buf + pos) unless the cursor has an error. */
static inline const uint8_t *lt_wire_take(struct lt_wire_rd *r, size_t n)
{
	if (r->err || n > r->len - r->pos) {
		r->err = LT_WIRE_E_SHORT;
		return NULL;
	}
	const uint8_t *p = r->buf + r->pos;
	r->pos += n;
	return p;
}

static inline void lt_wire_skip(struct lt_wire_rd *r, size_t n)
{
	(void)lt_wire_take(r, n);
}

/* Copies n bytes into out (zero-filled on error). */
static inline void lt_wire_read(struct lt_wire_rd *r, void *out, size_t n)
{
	const uint8_t *p = lt_wire_take(r, n);
	if (p) {
		if (n)
			memcpy(out, p, n);
	} else if (n) {
		memset(out, 0, n);
	}
}

static inline uint8_t lt_wire_u8(struct lt_wire_rd *r)
{
	const uint8_t *p = lt_wire_take(r, 1);
	return p ? p[0] : 0;
}

static inline uint16_t lt_wire_u16(struct lt_wire_rd *r)
{
	const uint8_t *p = lt_wire_take(r, 2);
	return p ? (uint16_t)((p[0] << 8) | p[1]) : 0;
}

static inline uint32_t lt_wire_u32(struct lt_wire_rd *r)
{
	const uint8_t *p = lt_wire_take(r, 4);
	return p ? ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
	               (uint32_t)p[3]
	         : 0;
}

static inline uint64_t lt_wire_u64(struct lt_wire_rd *r)
{
	uint64_t hi = lt_wire_u32(r);
	uint64_t lo = lt_wire_u32(r);
	return r->err ? 0 : (hi << 32) | lo;
}

/* A reader over the next n bytes (consumed from r). On error the sub-reader has the error too. */
static inline struct lt_wire_rd lt_wire_sub(struct lt_wire_rd *r, size_t n)
{
	const uint8_t *p = lt_wire_take(r, n);
	struct lt_wire_rd s = {p, p ? n : 0, 0, p ? 0 : LT_WIRE_E_SHORT};
	return s;
}

/* ---- writer ---- */
struct lt_wire_wr {
	uint8_t *buf;
	size_t cap, pos;
	int err; /* 0 or LT_WIRE_E_SPACE, sticky */
};

static inline struct lt_wire_wr lt_wire_wr_init(uint8_t *buf, size_t cap)
{
	struct lt_wire_wr w = {buf, buf ? cap : 0, 0, 0};
	return w;
}

static inline size_t lt_wire_wr_pos(const struct lt_wire_wr *w)
{
	return w->pos;
}

static inline int lt_wire_wr_err(const struct lt_wire_wr *w)
{
	return w->err;
}

/* Reserves n bytes and returns where to write them, or NULL (error set). */
static inline uint8_t *lt_wire_reserve(struct lt_wire_wr *w, size_t n)
{
	if (w->err || n > w->cap - w->pos) {
		w->err = LT_WIRE_E_SPACE;
		return NULL;
	}
	uint8_t *p = w->buf + w->pos;
	w->pos += n;
	return p;
}

static inline void lt_wire_put(struct lt_wire_wr *w, const void *src, size_t n)
{
	uint8_t *p = lt_wire_reserve(w, n);
	if (p && n)
		memcpy(p, src, n);
}

static inline void lt_wire_put_u8(struct lt_wire_wr *w, uint8_t v)
{
	uint8_t *p = lt_wire_reserve(w, 1);
	if (p)
		p[0] = v;
}

static inline void lt_wire_put_u16(struct lt_wire_wr *w, uint16_t v)
{
	uint8_t *p = lt_wire_reserve(w, 2);
	if (p) {
		p[0] = (uint8_t)(v >> 8);
		p[1] = (uint8_t)v;
	}
}

static inline void lt_wire_put_u32(struct lt_wire_wr *w, uint32_t v)
{
	uint8_t *p = lt_wire_reserve(w, 4);
	if (p) {
		p[0] = (uint8_t)(v >> 24);
		p[1] = (uint8_t)(v >> 16);
		p[2] = (uint8_t)(v >> 8);
		p[3] = (uint8_t)v;
	}
}

static inline void lt_wire_put_u64(struct lt_wire_wr *w, uint64_t v)
{
	uint8_t *p = lt_wire_reserve(w, 8);
	if (p) {
		for (int i = 0; i < 8; i++)
			p[i] = (uint8_t)(v >> (56 - 8 * i));
	}
}

#endif
