/* mediation/codec/pspdu_frame.c: framing of PS-PDUs sent back to back (TS 102 232-1: on
 * TCP/TLS the outer SEQUENCE's definite length delimits each record). */
#include "lib/wire.h"
#include "pspdu.h"

int med_frame(const uint8_t *buf, size_t len, size_t max, size_t *rec_len)
{
	struct lt_wire_rd r = lt_wire_rd_init(buf, len);
	if (max == 0)
		max = MED_PSPDU_MAX;
	if (!rec_len)
		return MED_E_BER;
	if (lt_wire_avail(&r) < 1)
		return MED_E_SHORT;
	/* X.690 8.9: PS-PDU is a SEQUENCE, universal 16 constructed. */
	if (lt_wire_u8(&r) != 0x30)
		return MED_E_BER;
	if (lt_wire_avail(&r) < 1)
		return MED_E_SHORT;
	uint8_t l0 = lt_wire_u8(&r);
	size_t clen;
	if (l0 < 0x80) {
		clen = l0;
	} else if (l0 == 0x80 || l0 == 0xff) {
		/* Indefinite (X.690 8.1.3.6) cannot be framed by receivers; 0xff is reserved. */
		return MED_E_BER;
	} else {
		/* Long form, any number of octets (non-minimal forms are valid BER, 8.1.3.5). */
		size_t n = l0 & 0x7f;
		uint64_t v = 0;
		for (size_t i = 0; i < n; i++) {
			if (lt_wire_avail(&r) < 1) {
				/* Incomplete: refuse already if the octets seen force it past max
				 * (the value at least v * 256^(octets left)). */
				for (size_t k = i; k < n && v <= max; k++)
					v <<= 8;
				return v > max ? MED_E_BER : MED_E_SHORT;
			}
			v = (v << 8) | lt_wire_u8(&r);
			if (v > max) /* v never shrinks: refuse as soon as it is too big */
				return MED_E_BER;
		}
		clen = (size_t)v;
	}
	size_t hlen = lt_wire_rd_pos(&r);
	if (clen > max || hlen + clen > max)
		return MED_E_BER;
	if (len < hlen + clen)
		return MED_E_SHORT;
	*rec_len = hlen + clen;
	return 0;
}
