/* mediation/codec/pspdu_ber.c: a structural BER check run before asn1c sees untrusted bytes.
 * It walks the TLV tree through a bounds-checked cursor and accepts only a single, complete,
 * well-nested TLV of bounded depth: asn1c 0.9.28 loops forever on some malformed indefinite
 * length encodings (CHOICE end-of-contents handling) and recurses without limit when skipping
 * nested unknown extensions (it has no stack bound unless given a codec context whose check is
 * unreliable under ASan); neither can happen on input that passed this check. */
#include "lib/wire.h"
#include "pspdu_int.h"

/* Deep enough for every PS-PDU (lawtap's deepest path is 12) plus foreign extensions. */
#define BER_DEPTH_MAX 48

static int peek_eoc(const struct lt_wire_rd *r)
{
	return lt_wire_avail(r) >= 2 && r->buf[r->pos] == 0 && r->buf[r->pos + 1] == 0;
}

/* Checks one TLV at r (consuming it); 0 or -1 with a reason. */
static int check_tlv(struct lt_wire_rd *r, int depth, const char **why)
{
	if (depth > BER_DEPTH_MAX) {
		*why = "nested too deeply";
		return -1;
	}
	/* X.690 8.1.2: identifier octets; high tag numbers take more octets (bounded here). */
	uint8_t id = lt_wire_u8(r);
	int constructed = (id & 0x20) != 0;
	if ((id & 0x1f) == 0x1f) {
		int n = 0;
		uint8_t b;
		do {
			b = lt_wire_u8(r);
		} while ((b & 0x80) && ++n < 5 && !lt_wire_rd_err(r));
		if (b & 0x80) {
			*why = "tag number too long";
			return -1;
		}
	}
	/* X.690 8.1.3: length octets. */
	uint8_t l0 = lt_wire_u8(r);
	if (lt_wire_rd_err(r)) {
		*why = "truncated identifier or length";
		return -1;
	}
	if (id == 0) { /* end-of-contents outside an indefinite length (8.1.5) */
		*why = "misplaced end-of-contents";
		return -1;
	}
	if (l0 == 0x80) {
		if (!constructed) { /* 8.1.3.2 a: indefinite only for constructed encodings */
			*why = "indefinite length on a primitive encoding";
			return -1;
		}
		while (!peek_eoc(r)) {
			if (lt_wire_avail(r) == 0) {
				*why = "indefinite length without end-of-contents";
				return -1;
			}
			if (check_tlv(r, depth + 1, why) != 0)
				return -1;
		}
		lt_wire_skip(r, 2);
		return 0;
	}
	uint64_t len = 0;
	if (l0 < 0x80) {
		len = l0;
	} else if (l0 == 0xff || (l0 & 0x7f) > 8) {
		*why = "bad length octets";
		return -1;
	} else {
		for (int i = 0; i < (l0 & 0x7f); i++)
			len = (len << 8) | lt_wire_u8(r);
	}
	if (lt_wire_rd_err(r) || len > lt_wire_avail(r)) {
		*why = "length beyond the data";
		return -1;
	}
	if (!constructed) {
		lt_wire_skip(r, (size_t)len);
		return 0;
	}
	struct lt_wire_rd sub = lt_wire_sub(r, (size_t)len);
	while (lt_wire_avail(&sub) > 0) {
		if (check_tlv(&sub, depth + 1, why) != 0)
			return -1;
	}
	return 0;
}

int med_ber_check(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	struct lt_wire_rd r = lt_wire_rd_init(buf, len);
	const char *why = "";
	if (check_tlv(&r, 0, &why) != 0) {
		med_err(err, errlen, "malformed BER: %s", why);
		return MED_E_DECODE;
	}
	if (lt_wire_avail(&r) != 0) {
		med_err(err, errlen, "%zu bytes after the PS-PDU", lt_wire_avail(&r));
		return MED_E_DECODE;
	}
	return 0;
}
