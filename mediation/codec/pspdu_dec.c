/* mediation/codec/pspdu_dec.c: PS-PDU decoding into lawtap's plain record (asn1c BER decoder,
 * then a checked copy of each field). The asn1c structure is always freed. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "lib/wire.h"
#include "pspdu_int.h"

/* TS 102 232-3 object ids are RELATIVE-OIDs 5.3.<version>.<last>; any version decodes (OpenLI
 * sends version 10). Arcs are base-128 (X.690 8.20). */
static int roid_ok(const RELATIVE_OID_t *ro, unsigned last)
{
	struct lt_wire_rd r = lt_wire_rd_init(ro->buf, ro->size > 0 ? (size_t)ro->size : 0);
	uint32_t arcs[4];
	int n = 0;
	while (lt_wire_avail(&r) > 0) {
		uint32_t v = 0;
		uint8_t b;
		do {
			b = lt_wire_u8(&r);
			if (v > (UINT32_MAX >> 7))
				return 0;
			v = (v << 7) | (b & 0x7f);
		} while ((b & 0x80) && !lt_wire_rd_err(&r));
		if (lt_wire_rd_err(&r) || (b & 0x80) || n == 4)
			return 0;
		arcs[n++] = v;
	}
	return n == 4 && arcs[0] == 5 && arcs[1] == 3 && arcs[3] == last;
}

/* IPv4 subnet mask -> prefix length; -1 when the ones are not contiguous. */
static int mask_prefix(const uint8_t m[4])
{
	uint32_t v = ((uint32_t)m[0] << 24) | ((uint32_t)m[1] << 16) | ((uint32_t)m[2] << 8) | m[3];
	int n = 0;
	while (n < 32 && (v & (0x80000000u >> n)))
		n++;
	return n == 32 || (v << n) == 0 ? n : -1;
}

static int read_ipaddr(const IPAddress_t *a, struct med_iri_event *ev)
{
	int v6 = a->iP_type == IPAddress__iP_type_iPV6;
	if (a->iP_type != IPAddress__iP_type_iPV4 && !v6)
		return -1;
	size_t want = v6 ? 16 : 4;
	if (a->iP_value.present == IP_value_PR_iPBinaryAddress) {
		const OCTET_STRING_t *b = &a->iP_value.choice.iPBinaryAddress;
		if (med_os_len(b) != want)
			return -1;
		memcpy(ev->target_ip, b->buf, want);
	} else if (a->iP_value.present == IP_value_PR_iPTextAddress) {
		/* Text form (other producers): the address, optionally "/prefix". */
		const IA5String_t *t = &a->iP_value.choice.iPTextAddress;
		char txt[64];
		if (med_os_len(t) >= sizeof txt)
			return -1;
		if (med_os_len(t))
			memcpy(txt, t->buf, med_os_len(t));
		txt[med_os_len(t)] = '\0';
		char *slash = strchr(txt, '/');
		if (slash) {
			char *end;
			long p = strtol(slash + 1, &end, 10);
			if (end == slash + 1 || *end || p < 0 || p > (v6 ? 128 : 32))
				return -1;
			ev->target_prefix = (int)p;
			*slash = '\0';
		}
		if (inet_pton(v6 ? AF_INET6 : AF_INET, txt, ev->target_ip) != 1)
			return -1;
	} else {
		return -1;
	}
	if (v6 && a->iPv6PrefixLength) {
		if (*a->iPv6PrefixLength < 1 || *a->iPv6PrefixLength > 128)
			return -1;
		ev->target_prefix = (int)*a->iPv6PrefixLength;
	} else if (!v6 && a->iPv4SubnetMask) {
		if (a->iPv4SubnetMask->size != 4 ||
		    (ev->target_prefix = mask_prefix(a->iPv4SubnetMask->buf)) < 0)
			return -1;
	}
	ev->has_target_ip = 1;
	ev->target_ipver = v6 ? 6 : 4;
	return 0;
}

static int read_ipiri(const IPIRI_t *ipiri, struct med_iri_event *ev, char *err, size_t errlen)
{
	const IPIRIContents_t *c = &ipiri->iPIRIContents;
	if (!roid_ok(&ipiri->iPIRIObjId, 1)) {
		med_err(err, errlen, "iPIRIObjId is not 5.3.x.1");
		return MED_E_DECODE;
	}
	if (c->accessEventType < 0 || c->accessEventType > 255 || c->internetAccessType < 0 ||
	    c->internetAccessType > 255 || c->iPVersion < 0 || c->iPVersion > 255) {
		med_err(err, errlen, "IPIRIContents enumeration out of range");
		return MED_E_DECODE;
	}
	ev->event = (int)c->accessEventType;
	ev->access_type = (int)c->internetAccessType;
	ev->ip_version = (int)c->iPVersion;
	if (med_os_len(&c->targetUsername) >= sizeof ev->username) {
		med_err(err, errlen, "targetUsername longer than %zu octets",
		        sizeof ev->username - 1);
		return MED_E_DECODE;
	}
	if (med_os_len(&c->targetUsername))
		memcpy(ev->username, c->targetUsername.buf, med_os_len(&c->targetUsername));
	ev->username[med_os_len(&c->targetUsername)] = '\0';
	if (c->targetIPAddress && read_ipaddr(c->targetIPAddress, ev) != 0) {
		med_err(err, errlen, "targetIPAddress is not a valid IPv4/IPv6 address");
		return MED_E_DECODE;
	}
	return 0;
}

static uint16_t port(const OCTET_STRING_t *os)
{
	return os && os->size == 2 ? (uint16_t)((os->buf[0] << 8) | os->buf[1]) : 0;
}

static int read_ipirionly(const IPIRIOnly_t *io, struct med_header_facts *f, char *err,
                          size_t errlen)
{
	const OCTET_STRING_t *proto = NULL;
	if (!roid_ok(&io->iPIRIOnlyObjId, 3)) {
		med_err(err, errlen, "iPIRIOnlyObjId is not 5.3.x.3");
		return MED_E_DECODE;
	}
	f->proto = -1;
	if (io->iPInformation.present == IPInformation_PR_iPv4Information) {
		const IPv4Information_t *v4 = &io->iPInformation.choice.iPv4Information;
		if (v4->source.size != 4 || v4->destination.size != 4)
			goto bad;
		f->ip_version = 4;
		memcpy(f->src, v4->source.buf, 4);
		memcpy(f->dst, v4->destination.buf, 4);
		proto = v4->protocol;
	} else if (io->iPInformation.present == IPInformation_PR_iPv6Information) {
		const IPv6Information_t *v6 = &io->iPInformation.choice.iPv6Information;
		if (v6->source.size != 16 || v6->destination.size != 16)
			goto bad;
		f->ip_version = 6;
		memcpy(f->src, v6->source.buf, 16);
		memcpy(f->dst, v6->destination.buf, 16);
		proto = v6->nextHeader;
	} else {
		goto bad;
	}
	if (proto && proto->size == 1)
		f->proto = proto->buf[0];
	const ProtocolInformation_t *pi = &io->protocolInformation;
	if (pi->present == ProtocolInformation_PR_tCPInformation) {
		f->sport = port(pi->choice.tCPInformation.sourcePort);
		f->dport = port(pi->choice.tCPInformation.destinationPort);
		if (f->proto < 0)
			f->proto = 6;
	} else if (pi->present == ProtocolInformation_PR_uDPInformation) {
		f->sport = port(pi->choice.uDPInformation.sourcePort);
		f->dport = port(pi->choice.uDPInformation.destinationPort);
		if (f->proto < 0)
			f->proto = 17;
	}
	if (f->proto < 0)
		f->proto = 0;
	return 0;
bad:
	med_err(err, errlen, "IPIRIOnly iPInformation without IPv4/IPv6 addresses");
	return MED_E_DECODE;
}

static int read_dir(const PayloadDirection_t *pd)
{
	if (!pd)
		return MED_DIR_NONE;
	/* Values beyond notapplicable(4) are future extensions: report them as absent. */
	return *pd >= 0 && *pd <= MED_DIR_NA ? (int)*pd : MED_DIR_NONE;
}

/* Maps a decoded PDU's payload into out. */
static int read_payload(Payload_t *p, struct med_record *out, char *err, size_t errlen)
{
	switch (p->present) {
	case Payload_PR_cCPayloadSequence: {
		if (p->choice.cCPayloadSequence.list.count != 1) {
			med_err(err, errlen, "cCPayloadSequence holds %d payloads (lawtap reads 1)",
			        p->choice.cCPayloadSequence.list.count);
			return MED_E_DECODE;
		}
		CCPayload_t *cc = p->choice.cCPayloadSequence.list.array[0];
		out->dir = read_dir(cc->payloadDirection);
		if (cc->cCContents.present != CCContents_PR_iPCC) {
			out->kind = MED_REC_OTHER;
			return 0;
		}
		IPCC_t *ipcc = &cc->cCContents.choice.iPCC;
		if (!roid_ok(&ipcc->iPCCObjId, 2)) {
			med_err(err, errlen, "iPCCObjId is not 5.3.x.2");
			return MED_E_DECODE;
		}
		if (ipcc->iPCCContents.present != IPCCContents_PR_iPPackets) {
			out->kind = MED_REC_OTHER;
			return 0;
		}
		/* Take the packet buffer from asn1c (malloc'd by it) instead of copying it. */
		OCTET_STRING_t *os = &ipcc->iPCCContents.choice.iPPackets;
		out->kind = MED_REC_CC;
		out->pkt = os->buf;
		out->pkt_len = med_os_len(os);
		os->buf = NULL;
		os->size = 0;
		return 0;
	}
	case Payload_PR_iRIPayloadSequence: {
		if (p->choice.iRIPayloadSequence.list.count != 1) {
			med_err(err, errlen,
			        "iRIPayloadSequence holds %d payloads (lawtap reads 1)",
			        p->choice.iRIPayloadSequence.list.count);
			return MED_E_DECODE;
		}
		IRIPayload_t *iri = p->choice.iRIPayloadSequence.list.array[0];
		out->dir = read_dir(iri->payloadDirection);
		out->iri_type = iri->iRIType && *iri->iRIType >= MED_IRI_BEGIN &&
		                        *iri->iRIType <= MED_IRI_REPORT
		                    ? (int)*iri->iRIType
		                    : 0;
		out->kind = MED_REC_IRI;
		if (iri->iRIContents.present == IRIContents_PR_iPIRI) {
			out->iri_content = 1;
			return read_ipiri(&iri->iRIContents.choice.iPIRI, &out->ev, err, errlen);
		}
		if (iri->iRIContents.present == IRIContents_PR_iPIRIOnly) {
			out->iri_content = 2;
			return read_ipirionly(&iri->iRIContents.choice.iPIRIOnly, &out->facts, err,
			                      errlen);
		}
		out->kind = MED_REC_OTHER;
		return 0;
	}
	case Payload_PR_tRIPayload:
		if (p->choice.tRIPayload.present == TRIPayload_PR_keep_alive)
			out->kind = MED_REC_KEEPALIVE;
		else if (p->choice.tRIPayload.present == TRIPayload_PR_keep_aliveResponse)
			out->kind = MED_REC_KEEPALIVE_RESP;
		else
			out->kind = MED_REC_OTHER;
		return 0;
	default: /* an extension alternative outside lawtap's profile */
		out->kind = MED_REC_OTHER;
		return 0;
	}
}

int med_pdu_decode(const uint8_t *buf, size_t len, PS_PDU_t **pdu, char *err, size_t errlen)
{
	*pdu = NULL;
	if (!buf || len == 0) {
		med_err(err, errlen, "empty input");
		return MED_E_DECODE;
	}
	int rc = med_ber_check(buf, len, err, errlen);
	if (rc != 0)
		return rc;
	asn_dec_rval_t dr = ber_decode(NULL, &asn_DEF_PS_PDU, (void **)pdu, buf, len);
	if (dr.code != RC_OK) {
		med_err(err, errlen, "%s at byte %zu",
		        dr.code == RC_WMORE ? "truncated PS-PDU" : "malformed PS-PDU",
		        (size_t)dr.consumed);
		return MED_E_DECODE;
	}
	if ((size_t)dr.consumed != len) {
		med_err(err, errlen, "%zu bytes after the PS-PDU", len - (size_t)dr.consumed);
		return MED_E_DECODE;
	}
	return 0;
}

int med_decode(const uint8_t *buf, size_t len, struct med_record *out, char *err, size_t errlen)
{
	PS_PDU_t *pdu = NULL;

	if (!out)
		return MED_E_DECODE;
	memset(out, 0, sizeof *out);
	out->dir = MED_DIR_NONE;
	out->hdr.ts_qual = MED_TSQ_NONE;
	int rc = med_pdu_decode(buf, len, &pdu, err, errlen);
	/* No asn_check_constraints here: it refuses CHOICEs holding an unknown extension
	 * alternative, which lawtap reports as MED_REC_OTHER. Every field copied out is checked
	 * against its range below instead. */
	if (rc == 0)
		rc = med_hdr_read(&pdu->pSHeader, &out->hdr, err, errlen);
	if (rc == 0)
		rc = read_payload(&pdu->payload, out, err, errlen);
	/* Also after a failed decode: asn1c leaves a partial structure behind. */
	ASN_STRUCT_FREE(asn_DEF_PS_PDU, pdu);
	return rc;
}

void med_record_clear(struct med_record *r)
{
	if (!r)
		return;
	free(r->pkt);
	memset(r, 0, sizeof *r);
	r->dir = MED_DIR_NONE;
	r->hdr.ts_qual = MED_TSQ_NONE;
}
