/* The collector's fast decoder for the record shapes that make up nearly all of its traffic:
 * a CC PS-PDU carrying one IPCC iPPackets payload, and the keep-alive / keep-alive response
 * TRI PDUs. A bounded walk over the bytes, no allocation, no asn1c.
 *
 * It accepts only a strict subset of what med_decode accepts: the DER layout lawtap's encoders
 * (med_encode_cc, med_cc_template_encode, med_encode_keepalive) produce, i.e.
 *
 * 30 L  PS-PDU
 *   A1 L  pSHeader
 *     80 07 04 00 02 02 05 01 <v>         li-psDomainId 0.4.0.2.2.5.1.v (v < 128)
 *     81 L <LIID 1..25>
 *     [82 02 <PrintableString>]           authorizationCountryCode
 *     A3 L  communicationIdentifier
 *       A0 L { 80 L <operator 1..16> [81 L <network element 1..16>] }
 *       [81 L <CIN>] [82 02 <PrintableString>]
 *     84 L <sequenceNumber>
 *     [85 L <GeneralizedTime "YYYYMMDDhhmmss[.f{1,6}]Z">]
 *     [86 L <interceptionPointID, PrintableString 1..8>]
 *     [A7 L { 80 L <seconds> 81 L <microSeconds 0..999999> }]
 *     [88 01 <timeStampQualifier 0..3>]
 *   A2 L  payload, one of
 *     A1 L { 30 L { [80 01 <direction 0..4>] A2 L { A2 L { 80 04 05 03 <v> 02
 *                                                         A1 L { 80 L <packet> } } } } }
 *     A2 04 A2 02 83 00   (keep-alive)   |   A2 04 A2 02 84 00   (keep-alive response)
 *
 * with every length in its minimal definite form, every INTEGER minimal and non-negative, each
 * element exactly filling its parent. Anything else (other payloads, extensions, BER length
 * forms, values outside these ranges) is "not recognised" and left to med_decode, so a record
 * is never refused or decoded differently because of this file. What it fills in is exactly
 * what med_decode fills in for the same bytes (tests/unit/test_collector_fastdec.c and
 * tests/fuzz/fuzz_collector_fastdec.c compare the two).
 *
 * Cost (docs/performance.md, issue 5): the record is cleared with the C library's memset and
 * short strings are copied with fixed-size moves (the compiler's inline rep stos / rep movs
 * cost more than the parse), and a connection's cache of the PSHeader prefix
 * (col_fastdec_cached) skips re-decoding the bytes that repeat in every record of a stream. */
#include <stddef.h>
#include <string.h>

#include "collector.h"

struct rd {
	const uint8_t *p, *end;
};

/* One TLV with the given identifier octet and a minimal definite length (at most 3 length
 * octets: 16 MiB, above any PS-PDU) that fits in r. Sets *v to the contents and moves r past
 * them. 0 or -1. */
static inline int tlv(struct rd *r, uint8_t tag, struct rd *v)
{
	const uint8_t *p = r->p;
	size_t avail = (size_t)(r->end - p);
	if (avail < 2 || p[0] != tag)
		return -1;
	size_t len, hl;
	uint8_t l0 = p[1];
	if (l0 < 0x80) {
		len = l0;
		hl = 2;
	} else if (l0 == 0x81) {
		if (avail < 3 || p[2] < 0x80)
			return -1;
		len = p[2];
		hl = 3;
	} else if (l0 == 0x82) {
		if (avail < 4 || p[2] == 0)
			return -1;
		len = ((size_t)p[2] << 8) | p[3];
		hl = 4;
	} else if (l0 == 0x83) {
		if (avail < 5 || p[2] == 0)
			return -1;
		len = ((size_t)p[2] << 16) | ((size_t)p[3] << 8) | p[4];
		hl = 5;
	} else {
		return -1;
	}
	if (len > avail - hl)
		return -1;
	v->p = p + hl;
	v->end = v->p + len;
	r->p = v->end;
	return 0;
}

static inline int peek(const struct rd *r, uint8_t tag)
{
	return r->p < r->end && r->p[0] == tag;
}

static inline int done(const struct rd *r)
{
	return r->p == r->end;
}

static inline size_t rlen(const struct rd *r)
{
	return (size_t)(r->end - r->p);
}

/* Contents of a minimal non-negative INTEGER of at most maxlen octets. */
static int uint_val(const struct rd *v, size_t maxlen, uint64_t *out)
{
	size_t n = rlen(v);
	if (n < 1 || n > maxlen || (v->p[0] & 0x80) || (n > 1 && v->p[0] == 0 && v->p[1] < 0x80))
		return -1;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++)
		x = (x << 8) | v->p[i];
	*out = x;
	return 0;
}

/* PrintableString characters (X.680 41.4), as med_printable: letters, digits, " '()+,-./:=?". */
static const uint8_t printable_chr[256] = {
    [' '] = 1, ['\''] = 1, ['('] = 1, [')'] = 1, ['+'] = 1, [','] = 1, ['-'] = 1, ['.'] = 1,
    ['/'] = 1, [':'] = 1,  ['='] = 1, ['?'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1,
    ['4'] = 1, ['5'] = 1,  ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['A'] = 1, ['B'] = 1,
    ['C'] = 1, ['D'] = 1,  ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1,
    ['K'] = 1, ['L'] = 1,  ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1,  ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1,  ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
    ['i'] = 1, ['j'] = 1,  ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
    ['q'] = 1, ['r'] = 1,  ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
};

static int printable(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!printable_chr[s[i]])
			return 0;
	return 1;
}

/* Copies n (0..32) bytes with fixed-size moves (two overlapping ones when n is not a power of
 * two): a memcpy of a variable but small length is otherwise inlined as a rep-prefixed move,
 * whose start-up costs more than the copy (perf annotate showed it at 12% of this file). */
static inline void copy_small(void *dst, const uint8_t *s, size_t n)
{
	uint8_t *d = dst;
	if (n >= 16) {
		memcpy(d, s, 16);
		memcpy(d + n - 16, s + n - 16, 16);
	} else if (n >= 8) {
		memcpy(d, s, 8);
		memcpy(d + n - 8, s + n - 8, 8);
	} else if (n >= 4) {
		memcpy(d, s, 4);
		memcpy(d + n - 4, s + n - 4, 4);
	} else if (n > 0) {
		d[0] = s[0];
		d[n / 2] = s[n / 2];
		d[n - 1] = s[n - 1];
	}
}

/* An OCTET STRING / PrintableString of min..max (at most 32) octets into dst, which is zeroed
 * (so the string is NUL-terminated and the rest of the array stays zero, as med_decode leaves
 * it). */
static int str_into(char *dst, const struct rd *v, size_t min, size_t max, int need_printable)
{
	size_t n = rlen(v);
	if (n < min || n > max || (need_printable && !printable(v->p, n)))
		return -1;
	copy_small(dst, v->p, n);
	return 0;
}

/* Days from 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil), the same
 * arithmetic as the codec's GeneralizedTime parser. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int dig(const uint8_t *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* "YYYYMMDDhhmmss[.f{1,6}]Z" only (what lawtap and DER produce); anything else -1. */
static int gt_val(const struct rd *v, int64_t *sec, uint32_t *usec)
{
	const uint8_t *s = v->p;
	size_t n = rlen(v);
	if (n < 15 || n > 22 || s[n - 1] != 'Z')
		return -1;
	int y = dig(s, 4), mo = dig(s + 4, 2), d = dig(s + 6, 2), h = dig(s + 8, 2);
	int mi = dig(s + 10, 2), se = dig(s + 12, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
	    se < 0 || se > 60)
		return -1;
	uint32_t frac = 0;
	if (n > 15) {
		size_t nd = n - 16; /* digits between '.' and 'Z' */
		if (s[14] != '.' || nd < 1 || nd > 6)
			return -1;
		uint32_t scale = 100000;
		for (size_t i = 0; i < nd; i++) {
			uint8_t c = s[15 + i];
			if (c < '0' || c > '9')
				return -1;
			frac += (uint32_t)(c - '0') * scale;
			scale /= 10;
		}
	}
	int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	if (t < 0)
		return -1;
	*sec = t;
	*usec = frac;
	return 0;
}

/* 5.3.<v>.<last> as four one-octet arcs. */
static int roid4(const struct rd *v, uint8_t last)
{
	return rlen(v) == 4 && v->p[0] == 5 && v->p[1] == 3 && v->p[2] < 0x80 && v->p[3] == last
	           ? 0
	           : -1;
}

/* The PSHeader fields before sequenceNumber, in struct med_header's order: what a prefix of
 * the PSHeader's contents decodes to (liid .. cin). */
#define PREFIX_FIELDS offsetof(struct med_header, seq)

/* The PSHeader up to (not including) sequenceNumber: li-psDomainId, lIID,
 * authorizationCountryCode, communicationIdentifier. These bytes decode the same wherever they
 * occur (each element is bounded inside them and nothing after them is looked at), so when a
 * record's PSHeader starts with the bytes of the cache's, its fields are taken from the cache. */
static int header_prefix(struct rd *r, struct med_header *h, struct col_fastdec_cache *cache)
{
	static const uint8_t domain[6] = {4, 0, 2, 2, 5, 1};
	struct rd v, ci, ni;
	uint64_t x;
	const uint8_t *start = r->p;
	if (cache && cache->pre_len && cache->pre_len < rlen(r) &&
	    memcmp(r->p, cache->pre, cache->pre_len) == 0) {
		memcpy(h, &cache->hdr, PREFIX_FIELDS);
		r->p += cache->pre_len;
		cache->hits++;
		return 0;
	}
	if (tlv(r, 0x80, &v) || rlen(&v) != 7 || memcmp(v.p, domain, 6) != 0 || v.p[6] >= 0x80)
		return -1;
	if (tlv(r, 0x81, &v) || rlen(&v) < 1 || rlen(&v) > MED_LIID_MAX)
		return -1;
	copy_small(h->liid, v.p, rlen(&v));
	h->liid_len = rlen(&v);
	if (peek(r, 0x82) && (tlv(r, 0x82, &v) || str_into(h->auth_cc, &v, 2, 2, 1)))
		return -1;
	if (tlv(r, 0xA3, &ci) || tlv(&ci, 0xA0, &ni) || tlv(&ni, 0x80, &v) ||
	    str_into(h->operator_id, &v, 1, MED_OPID_MAX, 0))
		return -1;
	if (peek(&ni, 0x81) && (tlv(&ni, 0x81, &v) || str_into(h->ne_id, &v, 1, MED_OPID_MAX, 0)))
		return -1;
	if (!done(&ni))
		return -1;
	if (peek(&ci, 0x81)) {
		if (tlv(&ci, 0x81, &v) || uint_val(&v, 5, &x) || x > UINT32_MAX)
			return -1;
		h->has_cin = 1;
		h->cin = (uint32_t)x;
	}
	if (peek(&ci, 0x82) && (tlv(&ci, 0x82, &v) || str_into(h->deliv_cc, &v, 2, 2, 1)))
		return -1;
	if (!done(&ci))
		return -1;
	size_t n = (size_t)(r->p - start);
	if (cache && n <= sizeof cache->pre) {
		memcpy(cache->pre, start, n);
		cache->pre_len = n;
		memcpy(&cache->hdr, h, PREFIX_FIELDS);
	}
	return 0;
}

static int header(struct rd *r, struct med_header *h, struct col_fastdec_cache *cache)
{
	struct rd v;
	uint64_t x;
	if (header_prefix(r, h, cache))
		return -1;
	if (tlv(r, 0x84, &v) || uint_val(&v, 5, &x) || x > UINT32_MAX)
		return -1;
	h->seq = (uint32_t)x;
	if (peek(r, 0x85)) {
		if (tlv(r, 0x85, &v) || gt_val(&v, &h->ts_sec, &h->ts_usec))
			return -1;
		h->ts_form |= MED_TS_GENERALIZED;
	}
	if (peek(r, 0x86) && (tlv(r, 0x86, &v) || str_into(h->ipid, &v, 1, MED_IPID_MAX, 1)))
		return -1;
	if (peek(r, 0xA7)) {
		struct rd us, s, u;
		uint64_t sec, usec;
		/* seconds: at most 5 octets (past year 9999), far inside asn1c's long. */
		if (tlv(r, 0xA7, &us) || tlv(&us, 0x80, &s) || uint_val(&s, 5, &sec) ||
		    tlv(&us, 0x81, &u) || uint_val(&u, 3, &usec) || usec > 999999 || !done(&us))
			return -1;
		h->ts_sec = (int64_t)sec;
		h->ts_usec = (uint32_t)usec;
		h->ts_form |= MED_TS_MICRO;
	}
	if (peek(r, 0x88)) {
		if (tlv(r, 0x88, &v) || rlen(&v) != 1 || v.p[0] > 3)
			return -1;
		h->ts_qual = v.p[0];
	}
	return done(r) ? 0 : -1;
}

static int cc_payload(struct rd *pay, struct med_record *out)
{
	struct rd seq, ccp, v, ccc, ipcc, cont;
	if (tlv(pay, 0xA1, &seq) || !done(pay) || tlv(&seq, 0x30, &ccp) || !done(&seq))
		return -1;
	if (peek(&ccp, 0x80)) {
		if (tlv(&ccp, 0x80, &v) || rlen(&v) != 1 || v.p[0] > MED_DIR_NA)
			return -1;
		out->dir = v.p[0];
	}
	if (tlv(&ccp, 0xA2, &ccc) || !done(&ccp) || tlv(&ccc, 0xA2, &ipcc) || !done(&ccc))
		return -1;
	if (tlv(&ipcc, 0x80, &v) || roid4(&v, 2) || tlv(&ipcc, 0xA1, &cont) || !done(&ipcc))
		return -1;
	if (tlv(&cont, 0x80, &v) || !done(&cont) || rlen(&v) == 0)
		return -1;
	out->kind = MED_REC_CC;
	out->pkt = (uint8_t *)(uintptr_t)v.p;
	out->pkt_len = rlen(&v);
	return 0;
}

/* The C library's memset, called (never inlined): for the 512-byte record the compiler's
 * inline form is a rep stos, about three times slower here than the library's vector stores. */
static void *(*const volatile zero_fn)(void *, int, size_t) = memset;

static void clear(struct med_record *out)
{
	zero_fn(out, 0, sizeof *out);
	out->dir = MED_DIR_NONE;
	out->hdr.ts_qual = MED_TSQ_NONE;
}

int col_fastdec_cached(const uint8_t *buf, size_t len, struct med_record *out,
                       struct col_fastdec_cache *cache)
{
	struct rd all = {buf, buf + len}, pdu, hdr, pay;
	clear(out);
	if (!buf || tlv(&all, 0x30, &pdu) || !done(&all) || tlv(&pdu, 0xA1, &hdr) ||
	    header(&hdr, &out->hdr, cache) || tlv(&pdu, 0xA2, &pay) || !done(&pdu))
		goto no;
	/* payload [2] { tRIPayload [2] { keep-alive [3] NULL | keep-aliveResponse [4] NULL } } */
	if (rlen(&pay) == 4 && pay.p[0] == 0xA2 && pay.p[1] == 2 &&
	    (pay.p[2] == 0x83 || pay.p[2] == 0x84) && pay.p[3] == 0) {
		out->kind = pay.p[2] == 0x83 ? MED_REC_KEEPALIVE : MED_REC_KEEPALIVE_RESP;
		return 1;
	}
	if (cc_payload(&pay, out) == 0)
		return 1;
no:
	clear(out);
	return 0;
}

int col_fastdec(const uint8_t *buf, size_t len, struct med_record *out)
{
	return col_fastdec_cached(buf, len, out, NULL);
}

int col_decode_cached(const uint8_t *buf, size_t len, struct med_record *out, int *fast, char *err,
                      size_t errlen, struct col_fastdec_cache *cache)
{
	if (buf && col_fastdec_cached(buf, len, out, cache)) {
		*fast = 1;
		return 0;
	}
	*fast = 0;
	return med_decode(buf, len, out, err, errlen);
}

int col_decode(const uint8_t *buf, size_t len, struct med_record *out, int *fast, char *err,
               size_t errlen)
{
	return col_decode_cached(buf, len, out, fast, err, errlen, NULL);
}

void col_record_release(struct med_record *r, int fast)
{
	if (!r)
		return;
	if (fast) {
		/* Nothing was allocated; pkt points into the caller's bytes. */
		r->pkt = NULL;
		r->pkt_len = 0;
		return;
	}
	med_record_clear(r);
}
