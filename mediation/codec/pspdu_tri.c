/* mediation/codec/pspdu_tri.c: TRI PDUs of TS 102 232-1 beyond the keep-alive: the option
 * negotiation (optionRequest [9], optionResponse [10], optionComplete [11]) and PDU
 * acknowledgement (pDUAcknowledgementRequest [12], pDUAcknowledgementResponse [13]), all
 * extension alternatives of TRIPayload. Option ::= CHOICE { pDUAcknowledgement [0] NULL, ... }.
 * Encoders build the asn1c structure on the stack (no allocation) and DER-encode it; the
 * decoder reads any PS-PDU and reports its TRI alternative with the option lists.
 * docs/pdu-ack.md describes how lawtap uses them. */
#include <string.h>

#include "pspdu_int.h"

int med_option_has(const struct med_option_list *list, int opt)
{
	if (!list)
		return 0;
	for (size_t i = 0; i < list->n && i < MED_OPT_MAX; i++)
		if (list->opt[i] == opt)
			return 1;
	return 0;
}

/* Common start of a TRI PDU: the header (CIN optional, as on keep-alives) and the payload
 * choice. 0 or MED_E_ARG. */
static int tri_start(PS_PDU_t *pdu, struct med_enc_hdr *s, const struct med_header *h,
                     TRIPayload_PR which)
{
	memset(pdu, 0, sizeof *pdu);
	memset(s, 0, sizeof *s);
	int rc = med_hdr_fill(pdu, s, h, 0);
	if (rc)
		return rc;
	pdu->payload.present = Payload_PR_tRIPayload;
	pdu->payload.choice.tRIPayload.present = which;
	return 0;
}

long med_encode_tri(const struct med_header *h, int tri, uint8_t *out, size_t cap)
{
	PS_PDU_t pdu;
	struct med_enc_hdr s;
	TRIPayload_PR which;

	switch (tri) {
	case MED_TRI_KEEPALIVE:
		which = TRIPayload_PR_keep_alive;
		break;
	case MED_TRI_KEEPALIVE_RESP:
		which = TRIPayload_PR_keep_aliveResponse;
		break;
	case MED_TRI_OPTION_COMPLETE:
		which = TRIPayload_PR_optionComplete;
		break;
	case MED_TRI_PDU_ACK_REQUEST:
		which = TRIPayload_PR_pDUAcknowledgementRequest;
		break;
	case MED_TRI_PDU_ACK_RESPONSE:
		which = TRIPayload_PR_pDUAcknowledgementResponse;
		break;
	default:
		return MED_E_ARG;
	}
	if (!out)
		return MED_E_ARG;
	int rc = tri_start(&pdu, &s, h, which);
	if (rc)
		return rc;
	return med_der_out(&pdu, out, cap);
}

/* Storage for one SEQUENCE OF Option on the encoder's stack. */
struct opt_store {
	Option_t opt[MED_OPT_MAX];
	Option_t *ptr[MED_OPT_MAX];
};

/* Points the asn1c list (A_SEQUENCE_OF(struct Option)) at st, filled from l. 0 or MED_E_ARG. */
#define OPT_LIST_FILL(asnlist, st, l)                                                              \
	opt_fill(&(asnlist).array, &(asnlist).count, &(asnlist).size, st, l)
static int opt_fill(Option_t ***array, int *count, int *size, struct opt_store *st,
                    const struct med_option_list *l)
{
	if (!l || l->n > MED_OPT_MAX || l->unknown != 0)
		return MED_E_ARG;
	memset(st, 0, sizeof *st);
	for (size_t i = 0; i < l->n; i++) {
		if (l->opt[i] != MED_OPT_PDU_ACK)
			return MED_E_ARG;
		st->opt[i].present = Option_PR_pDUAcknowledgement;
		st->ptr[i] = &st->opt[i];
	}
	/* The array lives on the caller's stack: no asn_sequence_add, nothing to free. */
	*array = l->n ? st->ptr : NULL;
	*count = *size = (int)l->n;
	return 0;
}

long med_encode_option_request(const struct med_header *h, const struct med_option_list *req,
                               uint8_t *out, size_t cap)
{
	PS_PDU_t pdu;
	struct med_enc_hdr s;
	struct opt_store st;

	if (!out)
		return MED_E_ARG;
	int rc = tri_start(&pdu, &s, h, TRIPayload_PR_optionRequest);
	if (rc)
		return rc;
	OptionRequest_t *r = &pdu.payload.choice.tRIPayload.choice.optionRequest;
	rc = OPT_LIST_FILL(r->requestedOptions.list, &st, req);
	if (rc)
		return rc;
	return med_der_out(&pdu, out, cap);
}

long med_encode_option_response(const struct med_header *h, const struct med_option_list *acc,
                                const struct med_option_list *dec, uint8_t *out, size_t cap)
{
	PS_PDU_t pdu;
	struct med_enc_hdr s;
	struct opt_store sa, sd;

	if (!out)
		return MED_E_ARG;
	int rc = tri_start(&pdu, &s, h, TRIPayload_PR_optionResponse);
	if (rc)
		return rc;
	OptionResponse_t *r = &pdu.payload.choice.tRIPayload.choice.optionResponse;
	rc = OPT_LIST_FILL(r->acceptedOptions.list, &sa, acc);
	if (rc == 0)
		rc = OPT_LIST_FILL(r->declinedOptions.list, &sd, dec);
	if (rc)
		return rc;
	return med_der_out(&pdu, out, cap);
}

/* Copies a decoded SEQUENCE OF Option into l. 0 or MED_E_DECODE. */
static int opt_read(Option_t *const *array, int count, struct med_option_list *l, const char *what,
                    char *err, size_t errlen)
{
	memset(l, 0, sizeof *l);
	if (count < 0 || count > MED_OPT_MAX) {
		med_err(err, errlen, "%s holds %d options (at most %d accepted)", what, count,
		        MED_OPT_MAX);
		return MED_E_DECODE;
	}
	for (int i = 0; i < count; i++) {
		const Option_t *o = array[i];
		if (o && o->present == Option_PR_pDUAcknowledgement)
			l->opt[l->n++] = MED_OPT_PDU_ACK;
		else
			l->unknown++; /* an extension alternative: asn1c skipped its contents */
	}
	return 0;
}

static int tri_kind(TRIPayload_PR p)
{
	switch (p) {
	case TRIPayload_PR_testPDU:
		return MED_TRI_TEST;
	case TRIPayload_PR_paddingPDU:
		return MED_TRI_PADDING;
	case TRIPayload_PR_keep_alive:
		return MED_TRI_KEEPALIVE;
	case TRIPayload_PR_keep_aliveResponse:
		return MED_TRI_KEEPALIVE_RESP;
	case TRIPayload_PR_firstSegmentFlag:
		return MED_TRI_FIRST_SEGMENT;
	case TRIPayload_PR_lastSegmentFlag:
		return MED_TRI_LAST_SEGMENT;
	case TRIPayload_PR_cINReset:
		return MED_TRI_CIN_RESET;
	case TRIPayload_PR_optionRequest:
		return MED_TRI_OPTION_REQUEST;
	case TRIPayload_PR_optionResponse:
		return MED_TRI_OPTION_RESPONSE;
	case TRIPayload_PR_optionComplete:
		return MED_TRI_OPTION_COMPLETE;
	case TRIPayload_PR_pDUAcknowledgementRequest:
		return MED_TRI_PDU_ACK_REQUEST;
	case TRIPayload_PR_pDUAcknowledgementResponse:
		return MED_TRI_PDU_ACK_RESPONSE;
	default: /* NOTHING: an extension alternative asn1c skipped */
		return MED_TRI_OTHER;
	}
}

int med_decode_tri(const uint8_t *buf, size_t len, struct med_tri_pdu *out, char *err,
                   size_t errlen)
{
	PS_PDU_t *pdu = NULL;

	if (!out)
		return MED_E_DECODE;
	memset(out, 0, sizeof *out);
	out->tri = MED_TRI_NONE;
	out->hdr.ts_qual = MED_TSQ_NONE;
	int rc = med_pdu_decode(buf, len, &pdu, err, errlen);
	if (rc == 0)
		rc = med_hdr_read(&pdu->pSHeader, &out->hdr, err, errlen);
	if (rc == 0 && pdu->payload.present == Payload_PR_tRIPayload) {
		TRIPayload_t *t = &pdu->payload.choice.tRIPayload;
		out->tri = tri_kind(t->present);
		if (out->tri == MED_TRI_OPTION_REQUEST) {
			OptionRequest_t *r = &t->choice.optionRequest;
			rc =
			    opt_read(r->requestedOptions.list.array, r->requestedOptions.list.count,
			             &out->requested, "requestedOptions", err, errlen);
		} else if (out->tri == MED_TRI_OPTION_RESPONSE) {
			OptionResponse_t *r = &t->choice.optionResponse;
			rc = opt_read(r->acceptedOptions.list.array, r->acceptedOptions.list.count,
			              &out->accepted, "acceptedOptions", err, errlen);
			if (rc == 0)
				rc = opt_read(r->declinedOptions.list.array,
				              r->declinedOptions.list.count, &out->declined,
				              "declinedOptions", err, errlen);
		}
	}
	ASN_STRUCT_FREE(asn_DEF_PS_PDU, pdu);
	if (rc != 0) { /* nothing half-filled goes back */
		memset(out, 0, sizeof *out);
		out->tri = MED_TRI_NONE;
		out->hdr.ts_qual = MED_TSQ_NONE;
	}
	return rc;
}
