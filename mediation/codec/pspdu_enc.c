/* mediation/codec/pspdu_enc.c: PS-PDU encoders (TS 102 232-1 payloads carrying TS 102 232-3
 * IP access contents). Each encoder builds the asn1c structure on its stack, pointing at the
 * caller's bytes, and DER-encodes it (DER = the canonical definite-length BER lawtap sends). */
#include <string.h>

#include "pspdu_int.h"

static int dir_ok(int dir)
{
	return dir == MED_DIR_NONE || (dir >= MED_DIR_FROM_TARGET && dir <= MED_DIR_NA);
}

long med_encode_cc(const struct med_header *h, int dir, const uint8_t *pkt, size_t pkt_len,
                   uint8_t *out, size_t cap)
{
	PS_PDU_t pdu;
	struct med_enc_hdr s;
	CCPayload_t ccp;
	CCPayload_t *list[1] = {&ccp};
	long pd = dir;

	/* TS 102 232-3 IPCC iPPackets: one IP packet, from its header on (no link layer). */
	if (!out || !pkt || pkt_len == 0 || pkt_len > 65535 || !dir_ok(dir) ||
	    ((pkt[0] >> 4) != 4 && (pkt[0] >> 4) != 6))
		return MED_E_ARG;
	memset(&pdu, 0, sizeof pdu);
	memset(&s, 0, sizeof s);
	memset(&ccp, 0, sizeof ccp);
	int rc = med_hdr_fill(&pdu, &s, h, 1);
	if (rc)
		return rc;
	/* TS 102 232-1 6.2.3: one CCPayload per PDU here (no aggregation). The list array lives
	 * on this stack: no asn_sequence_add, nothing to free. */
	pdu.payload.present = Payload_PR_cCPayloadSequence;
	pdu.payload.choice.cCPayloadSequence.list.array = list;
	pdu.payload.choice.cCPayloadSequence.list.count = 1;
	pdu.payload.choice.cCPayloadSequence.list.size = 1;
	if (dir != MED_DIR_NONE)
		ccp.payloadDirection = &pd;
	ccp.cCContents.present = CCContents_PR_iPCC;
	IPCC_t *ipcc = &ccp.cCContents.choice.iPCC;
	ipcc->iPCCObjId.buf = med_unconst(med_roid_ipcc);
	ipcc->iPCCObjId.size = (int)sizeof med_roid_ipcc;
	ipcc->iPCCContents.present = IPCCContents_PR_iPPackets;
	ipcc->iPCCContents.choice.iPPackets.buf = med_unconst(pkt);
	ipcc->iPCCContents.choice.iPPackets.size = (int)pkt_len;
	return med_der_out(&pdu, out, cap);
}

/* Prefix length -> IPv4 subnet mask octets (TS 102 232-1 IPAddress iPv4SubnetMask). */
static void v4_mask(int prefix, uint8_t m[4])
{
	uint32_t v = prefix ? 0xffffffffu << (32 - prefix) : 0;
	m[0] = (uint8_t)(v >> 24);
	m[1] = (uint8_t)(v >> 16);
	m[2] = (uint8_t)(v >> 8);
	m[3] = (uint8_t)v;
}

long med_encode_iri_event(const struct med_header *h, int iri_type, const struct med_iri_event *ev,
                          uint8_t *out, size_t cap)
{
	PS_PDU_t pdu;
	struct med_enc_hdr s;
	IRIPayload_t irp;
	IRIPayload_t *list[1] = {&irp};
	IPAddress_t addr;
	OCTET_STRING_t mask_os;
	uint8_t mask[4];
	long type = iri_type, plen = 0;

	if (!out || !ev || iri_type < MED_IRI_BEGIN || iri_type > MED_IRI_REPORT)
		return MED_E_ARG;
	size_t ul = strnlen(ev->username, sizeof ev->username);
	/* TS 102 232-3 IPIRIContents: accessEventType 0..10, internetAccessType 0..9,
	 * iPVersion 1..3; targetUsername is mandatory (a placeholder when unknown). */
	if (ul == 0 || ul >= sizeof ev->username || ev->event < 0 || ev->event > 10 ||
	    ev->access_type < 0 || ev->access_type > 9 || ev->ip_version < 1 || ev->ip_version > 3)
		return MED_E_ARG;
	if (ev->has_target_ip) {
		/* TS 102 232-1 IPAddress: an IPv6 binary address carries iPv6PrefixLength
		 * (mandatory), an IPv4 one may carry iPv4SubnetMask. */
		if (ev->target_ipver == 6 ? (ev->target_prefix < 1 || ev->target_prefix > 128)
		                          : (ev->target_ipver != 4 || ev->target_prefix < 0 ||
		                             ev->target_prefix > 32))
			return MED_E_ARG;
	}
	memset(&pdu, 0, sizeof pdu);
	memset(&s, 0, sizeof s);
	memset(&irp, 0, sizeof irp);
	memset(&addr, 0, sizeof addr);
	memset(&mask_os, 0, sizeof mask_os);
	int rc = med_hdr_fill(&pdu, &s, h, 1);
	if (rc)
		return rc;
	pdu.payload.present = Payload_PR_iRIPayloadSequence;
	pdu.payload.choice.iRIPayloadSequence.list.array = list;
	pdu.payload.choice.iRIPayloadSequence.list.count = 1;
	pdu.payload.choice.iRIPayloadSequence.list.size = 1;
	/* TS 102 232-1 5.2.10 iRIType. */
	irp.iRIType = &type;
	irp.iRIContents.present = IRIContents_PR_iPIRI;
	IPIRI_t *ipiri = &irp.iRIContents.choice.iPIRI;
	ipiri->iPIRIObjId.buf = med_unconst(med_roid_ipiri);
	ipiri->iPIRIObjId.size = (int)sizeof med_roid_ipiri;
	IPIRIContents_t *c = &ipiri->iPIRIContents;
	c->accessEventType = ev->event;
	c->targetUsername.buf = med_unconst(ev->username);
	c->targetUsername.size = (int)ul;
	c->internetAccessType = ev->access_type;
	c->iPVersion = ev->ip_version;
	if (ev->has_target_ip) {
		/* TS 102 232-3 6.2.1: the first target address, binary form. */
		int v6 = ev->target_ipver == 6;
		addr.iP_type = v6 ? IPAddress__iP_type_iPV6 : IPAddress__iP_type_iPV4;
		addr.iP_value.present = IP_value_PR_iPBinaryAddress;
		addr.iP_value.choice.iPBinaryAddress.buf = med_unconst(ev->target_ip);
		addr.iP_value.choice.iPBinaryAddress.size = v6 ? 16 : 4;
		if (v6) {
			plen = ev->target_prefix;
			addr.iPv6PrefixLength = &plen;
		} else if (ev->target_prefix) {
			v4_mask(ev->target_prefix, mask);
			mask_os.buf = mask;
			mask_os.size = 4;
			addr.iPv4SubnetMask = &mask_os;
		}
		c->targetIPAddress = &addr;
	}
	return med_der_out(&pdu, out, cap);
}

long med_encode_iri_report(const struct med_header *h, int dir, const struct med_header_facts *f,
                           uint8_t *out, size_t cap)
{
	PS_PDU_t pdu;
	struct med_enc_hdr s;
	IRIPayload_t irp;
	IRIPayload_t *list[1] = {&irp};
	OCTET_STRING_t proto_os, sport_os, dport_os;
	uint8_t proto, sport[2], dport[2];
	long type = MED_IRI_REPORT, pd = dir;

	if (!out || !f || !dir_ok(dir) || (f->ip_version != 4 && f->ip_version != 6) ||
	    f->proto < 0 || f->proto > 255)
		return MED_E_ARG;
	memset(&pdu, 0, sizeof pdu);
	memset(&s, 0, sizeof s);
	memset(&irp, 0, sizeof irp);
	int rc = med_hdr_fill(&pdu, &s, h, 1);
	if (rc)
		return rc;
	pdu.payload.present = Payload_PR_iRIPayloadSequence;
	pdu.payload.choice.iRIPayloadSequence.list.array = list;
	pdu.payload.choice.iRIPayloadSequence.list.count = 1;
	pdu.payload.choice.iRIPayloadSequence.list.size = 1;
	irp.iRIType = &type;
	/* TS 102 232-1 IRIPayload payloadDirection [6]. */
	if (dir != MED_DIR_NONE)
		irp.payloadDirection = &pd;
	irp.iRIContents.present = IRIContents_PR_iPIRIOnly;
	IPIRIOnly_t *io = &irp.iRIContents.choice.iPIRIOnly;
	io->iPIRIOnlyObjId.buf = med_unconst(med_roid_ipirionly);
	io->iPIRIOnlyObjId.size = (int)sizeof med_roid_ipirionly;

	/* TS 102 232-3 IPIRIOnly iPInformation: addresses and the protocol number (IPv4
	 * protocol [6] / IPv6 nextHeader [3], one octet). flowLabel and payloadLength of
	 * IPv6Information are left out (their sizes in the module do not fit the fields). */
	memset(&proto_os, 0, sizeof proto_os);
	proto = (uint8_t)f->proto;
	proto_os.buf = &proto;
	proto_os.size = 1;
	if (f->ip_version == 4) {
		IPv4Information_t *v4 = &io->iPInformation.choice.iPv4Information;
		io->iPInformation.present = IPInformation_PR_iPv4Information;
		v4->protocol = &proto_os;
		v4->source.buf = med_unconst(f->src);
		v4->source.size = 4;
		v4->destination.buf = med_unconst(f->dst);
		v4->destination.size = 4;
	} else {
		IPv6Information_t *v6 = &io->iPInformation.choice.iPv6Information;
		io->iPInformation.present = IPInformation_PR_iPv6Information;
		v6->nextHeader = &proto_os;
		v6->source.buf = med_unconst(f->src);
		v6->source.size = 16;
		v6->destination.buf = med_unconst(f->dst);
		v6->destination.size = 16;
	}
	/* protocolInformation: ports for TCP and UDP, none otherwise. */
	memset(&sport_os, 0, sizeof sport_os);
	memset(&dport_os, 0, sizeof dport_os);
	sport[0] = (uint8_t)(f->sport >> 8);
	sport[1] = (uint8_t)f->sport;
	dport[0] = (uint8_t)(f->dport >> 8);
	dport[1] = (uint8_t)f->dport;
	sport_os.buf = sport;
	sport_os.size = 2;
	dport_os.buf = dport;
	dport_os.size = 2;
	if (f->proto == 6) {
		io->protocolInformation.present = ProtocolInformation_PR_tCPInformation;
		io->protocolInformation.choice.tCPInformation.sourcePort = &sport_os;
		io->protocolInformation.choice.tCPInformation.destinationPort = &dport_os;
	} else if (f->proto == 17) {
		io->protocolInformation.present = ProtocolInformation_PR_uDPInformation;
		io->protocolInformation.choice.uDPInformation.sourcePort = &sport_os;
		io->protocolInformation.choice.uDPInformation.destinationPort = &dport_os;
	} else {
		io->protocolInformation.present = ProtocolInformation_PR_none;
	}
	return med_der_out(&pdu, out, cap);
}

long med_encode_keepalive(const struct med_header *h, int response, uint8_t *out, size_t cap)
{
	PS_PDU_t pdu;
	struct med_enc_hdr s;

	if (!out)
		return MED_E_ARG;
	memset(&pdu, 0, sizeof pdu);
	memset(&s, 0, sizeof s);
	/* Keep-alives carry a placeholder LIID and CIN 0 by convention; the CIN is optional. */
	int rc = med_hdr_fill(&pdu, &s, h, 0);
	if (rc)
		return rc;
	/* TS 102 232-1 TRIPayload: keep-alive [3], keep-aliveResponse [4] (NULL). */
	pdu.payload.present = Payload_PR_tRIPayload;
	pdu.payload.choice.tRIPayload.present =
	    response ? TRIPayload_PR_keep_aliveResponse : TRIPayload_PR_keep_alive;
	return med_der_out(&pdu, out, cap);
}
