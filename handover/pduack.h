/* handover/pduack.h: PDU acknowledgement on HI2/HI3 (ack_mode "pdu-ack"), as a pure state
 * machine: no I/O, no clock, no locks, no allocation. The caller (deliver.c on the mediator,
 * the collector's session on the LEA side) decodes what it reads with med_decode_tri, feeds it
 * here, and writes what the machine tells it to. docs/pdu-ack.md has the protocol, the
 * assumptions made where the standard's text was not at hand, and the wiring.
 *
 * TS 102 232-1 TRIPayload: optionRequest [9] { requestedOptions [0] SEQUENCE OF Option },
 * optionResponse [10] { acceptedOptions [0], declinedOptions [1] }, optionComplete [11] NULL,
 * pDUAcknowledgementRequest [12] NULL, pDUAcknowledgementResponse [13] NULL;
 * Option ::= CHOICE { pDUAcknowledgement [0] NULL, ... }.
 *
 * Protocol (one TLS connection; the mediator is the client):
 *   mediator                                   LEA (collector)
 *   optionRequest {pDUAcknowledgement} seq a  ->
 *                                             <- optionResponse seq a {accepted | declined}
 *   optionComplete seq a+1                    ->   (after any optionResponse: options in force)
 *   records ..., pDUAcknowledgementRequest b  ->
 *   records ..., pDUAcknowledgementRequest c  ->   (several may be outstanding)
 *                                             <- pDUAcknowledgementResponse seq b, then c
 * A response confirms every record written before its request on this connection (the LEA
 * answers only once those are stored). TRI sequence numbers: one counter per connection from 0,
 * +1 per TRI PDU the mediator sends (optionRequest, optionComplete, pDUAcknowledgementRequest,
 * keep-alive); a response carries its request's number; responses come in request order.
 *
 * Calling convention: every function that may ask for a PDU to be sent fills a struct
 * ho_pa_tx; when tx.tri != MED_TRI_NONE the caller encodes it (ho_pa_encode) and writes it on
 * the connection before any further record. A negative return means "drop this connection"
 * (reason in the note), except HO_PA_E_STATE, which is a caller error (the call was not allowed
 * in the current state; nothing changed). */
#ifndef LAWTAP_HO_PDUACK_H
#define LAWTAP_HO_PDUACK_H

#include <stddef.h>
#include <stdint.h>

#include "mediation/codec/pspdu.h"
#include "spool.h"

/* Return codes (negative). */
#define HO_PA_E_PROTO (-1)    /* the peer broke the protocol (unexpected PDU, wrong seq...) */
#define HO_PA_E_TIMEOUT (-2)  /* a response did not come within the timeout */
#define HO_PA_E_DECLINED (-3) /* strict mediator: the LEA declined pDUAcknowledgement */
#define HO_PA_E_STATE (-4)    /* caller error: not allowed now (nothing changed) */

/* pDUAcknowledgementRequests outstanding at most (the configured limit is 1..this). */
#define HO_PA_OUT_MAX 64
#define HO_PA_OUT_DEFAULT 8
/* After a fallback, new connections use keepalive mode without asking for this long. */
#define HO_PA_RENEGOTIATE_DEFAULT_MS (3600 * 1000)
/* Connections lost while negotiating, in a row, that count as a failed negotiation. */
#define HO_PA_NEG_DROPS 2
#define HO_PA_NOTE_MAX 200

/* One TRI PDU to send. Its PSHeader is the caller's template (ho_pa_encode) with sequence
 * number seq. */
struct ho_pa_tx {
	int tri;      /* enum med_tri: MED_TRI_NONE (nothing to send), MED_TRI_OPTION_REQUEST,
	               * MED_TRI_OPTION_RESPONSE, MED_TRI_OPTION_COMPLETE, MED_TRI_PDU_ACK_REQUEST,
	               * MED_TRI_PDU_ACK_RESPONSE, MED_TRI_KEEPALIVE, MED_TRI_KEEPALIVE_RESP */
	uint32_t seq; /* PSHeader sequenceNumber */
	/* LEA side: every record received before the PDU being answered must be stored (the
	 * collector: col_store_flush) before this answer is written. */
	int flush_first;
	struct med_option_list req;      /* optionRequest: requestedOptions */
	struct med_option_list acc, dec; /* optionResponse: accepted / declined */
};

/* Encodes tx with tmpl's PSHeader fields and sequence number tx->seq (the mediator: the
 * keep-alive header, placeholder LIID, CIN 0, the LEA's country codes; the LEA: the header of
 * the PDU it answers, with its own time stamp). Bytes written or a negative MED_E_*
 * (MED_E_ARG for tx->tri MED_TRI_NONE or any kind not listed in struct ho_pa_tx). */
long ho_pa_encode(const struct ho_pa_tx *tx, const struct med_header *tmpl, uint8_t *out,
                  size_t cap);

/* ================================ mediator side ================================ */

enum ho_pa_mode {
	HO_PA_DOWN = 0,        /* no connection (before ho_pa_med_connected, after _dropped) */
	HO_PA_NEGOTIATING = 1, /* optionRequest written: write no records, wait for the answer */
	HO_PA_ACTIVE = 2,      /* pdu-ack in force: records, then pDUAcknowledgementRequests */
	HO_PA_KEEPALIVE = 3,   /* fallback: this connection runs as ack_mode keepalive */
	HO_PA_FAILED = 4       /* a call returned an error: drop the connection */
};

struct ho_pa_med_conf {
	int64_t timeout_ms; /* TIME3 (keepalive_timeout): longest wait for any response; 0 = 30 s */
	int max_outstanding;    /* 1..HO_PA_OUT_MAX; 0 = HO_PA_OUT_DEFAULT */
	int strict;             /* 1: no fallback (decline or no answer fails the connection) */
	int64_t renegotiate_ms; /* fallback memory; 0 = HO_PA_RENEGOTIATE_DEFAULT_MS */
};

/* What the mediator does after a call. */
struct ho_pa_med_ev {
	struct ho_pa_tx tx;        /* write this now (tx.tri == MED_TRI_NONE: nothing) */
	int confirm;               /* 1: every record before pos is confirmed by the LEA: */
	struct ho_spool_pos pos;   /*    ho_link_confirm_locked(l, &pos) (advances the cursor) */
	int mode_changed;          /* the mode changed (ho_pa_med_mode tells the new one) */
	char note[HO_PA_NOTE_MAX]; /* "" or a line to log: with an error return the reason the
	                            * link is dropped (warning); otherwise a mode change, a
	                            * fallback and why, a tolerated late answer (info) */
};

struct ho_pa_out {
	uint32_t seq;
	struct ho_spool_pos pos;
	int64_t deadline;
};

/* Per handover; the fields are private (read them through the functions below). */
struct ho_pa_med {
	struct ho_pa_med_conf conf;
	/* kept across connections */
	int64_t skip_until; /* no negotiation before this time (fallback memory) */
	int neg_drops;      /* connections lost while negotiating, in a row */
	char skip_why[96];
	/* per connection */
	int mode;
	uint32_t next_seq; /* next TRI sequence number */
	uint32_t opt_seq;  /* the optionRequest's */
	int64_t opt_deadline;
	int late_ok; /* fallback after a timeout: one late optionResponse is ignored */
	struct ho_pa_out out[HO_PA_OUT_MAX]; /* outstanding requests, a ring, oldest first */
	size_t out_head, out_n;
	struct ho_spool_pos last_pos; /* the newest request's position (monotone check) */
	int ka_out;                   /* a keep-alive waits for its response */
	struct ho_pa_out ka;
};

/* Once per handover. conf is copied; out-of-range values are replaced by the defaults. */
void ho_pa_med_init(struct ho_pa_med *m, const struct ho_pa_med_conf *conf);

/* A connection to the LEA is up. Usually asks to write an optionRequest {pDUAcknowledgement}
 * (mode NEGOTIATING, records held back until the answer); within the fallback memory it goes
 * straight to KEEPALIVE with a note. Returns 0. */
int ho_pa_med_connected(struct ho_pa_med *m, int64_t now, struct ho_pa_med_ev *ev);

/* The connection is gone (any reason). Counts a loss during negotiation (HO_PA_NEG_DROPS in a
 * row start the fallback memory); mode DOWN; outstanding requests are forgotten, and with them
 * nothing is confirmed: the caller resends from the spool's cursor, as in every mode. */
void ho_pa_med_dropped(struct ho_pa_med *m, int64_t now);

int ho_pa_med_mode(const struct ho_pa_med *m); /* enum ho_pa_mode */

/* 1 when ho_pa_med_request may be called now (ACTIVE and fewer than max_outstanding). */
int ho_pa_med_can_request(const struct ho_pa_med *m);
size_t ho_pa_med_outstanding(const struct ho_pa_med *m); /* requests awaiting responses */
/* The position the newest pDUAcknowledgementRequest of this connection covers ({0,0,0} before
 * the first): records from there to l->sent are written but not yet asked about. */
struct ho_spool_pos ho_pa_med_requested(const struct ho_pa_med *m);
int ho_pa_med_keepalive_out(const struct ho_pa_med *m); /* 1: a keep-alive awaits its answer */

/* ACTIVE: the caller has written every record before *written (the spool position of the
 * next record to write, l->sent) and wants them confirmed: ev->tx is a
 * pDUAcknowledgementRequest; its response will confirm *written. HO_PA_E_STATE when not
 * ACTIVE, max_outstanding requests wait, or *written is before the previous request's. */
int ho_pa_med_request(struct ho_pa_med *m, int64_t now, const struct ho_spool_pos *written,
                      struct ho_pa_med_ev *ev);

/* ACTIVE or KEEPALIVE, no keep-alive outstanding: ev->tx is a keep-alive (idle TIME1, or in
 * KEEPALIVE mode the confirming keep-alive after a batch). Its response confirms *written in
 * KEEPALIVE mode; in ACTIVE mode it only shows the link is alive (a LEMF may answer a
 * keep-alive on receipt, before storing). HO_PA_E_STATE otherwise. */
int ho_pa_med_keepalive(struct ho_pa_med *m, int64_t now, const struct ho_spool_pos *written,
                        struct ho_pa_med_ev *ev);

/* One decoded PDU from the LEA (med_decode_tri; p->tri MED_TRI_NONE for a CC/IRI record).
 *  NEGOTIATING + optionResponse with the optionRequest's seq: ev->tx = optionComplete; then
 *    accepted pDUAcknowledgement -> ACTIVE; declined or not mentioned -> KEEPALIVE (note;
 *    fallback memory) or, strict, HO_PA_E_DECLINED. Listed as both accepted and declined, or
 *    an unrequested option accepted: HO_PA_E_PROTO.
 *  ACTIVE + pDUAcknowledgementResponse with the oldest outstanding request's seq: ev->confirm
 *    with that request's position. Any other seq (out of order, unknown): HO_PA_E_PROTO.
 *  keep-aliveResponse with the outstanding keep-alive's seq: in KEEPALIVE mode ev->confirm.
 *  KEEPALIVE after a negotiation timeout: the first optionResponse is ignored (note).
 *  Anything else (records, other TRI kinds, responses without a request): HO_PA_E_PROTO.
 * After an error the mode is FAILED. */
int ho_pa_med_on_pdu(struct ho_pa_med *m, const struct med_tri_pdu *p, int64_t now,
                     struct ho_pa_med_ev *ev);

/* Timeouts, called whenever the caller wakes up (at the latest at ho_pa_med_deadline):
 * NEGOTIATING past the optionRequest's deadline -> KEEPALIVE (note; fallback memory; no
 * optionComplete is sent) or, strict, HO_PA_E_TIMEOUT; a pDUAcknowledgementRequest or
 * keep-alive past its deadline -> HO_PA_E_TIMEOUT. 0 otherwise. */
int ho_pa_med_tick(struct ho_pa_med *m, int64_t now, struct ho_pa_med_ev *ev);

/* The earliest response deadline (ms, the caller's clock), INT64_MAX when none. */
int64_t ho_pa_med_deadline(const struct ho_pa_med *m);

/* ================================ LEA side ================================ */

enum ho_pa_col_state {
	HO_PA_COL_INIT = 0,      /* nothing negotiated on this connection */
	HO_PA_COL_RESPONDED = 1, /* optionResponse sent, waiting for optionComplete */
	HO_PA_COL_ACTIVE = 2,    /* pdu-ack in force: answer pDUAcknowledgementRequests */
	HO_PA_COL_OFF = 3        /* negotiated without pdu-ack (declined, or given up) */
};

struct ho_pa_col_conf {
	int accept; /* 1: accept pDUAcknowledgement when it is requested */
};

/* Per connection; the fields are private. */
struct ho_pa_col {
	struct ho_pa_col_conf conf;
	int state;
	int accepted; /* the optionResponse accepted pDUAcknowledgement */
};

/* At each new connection. */
void ho_pa_col_init(struct ho_pa_col *c, const struct ho_pa_col_conf *conf);
int ho_pa_col_state(const struct ho_pa_col *c); /* enum ho_pa_col_state */

/* A CC/IRI record arrived (call it after storing it). A record between optionResponse and
 * optionComplete means the mediator gave up the negotiation (its timeout): state OFF, note. */
void ho_pa_col_on_record(struct ho_pa_col *c, char *note, size_t notelen);

/* One decoded TRI PDU from the mediator (med_decode_tri, p->tri != MED_TRI_NONE). 0 with
 * *tx the answer to write (tx->tri MED_TRI_NONE: none) and maybe a note, or a negative code
 * with the reason in note (drop the connection):
 *  optionRequest, nothing negotiated yet: tx = optionResponse, same seq, pDUAcknowledgement
 *    accepted (conf.accept) or declined when requested; unknown options are not echoed (note).
 *  optionComplete after our optionResponse: ACTIVE when we accepted, else OFF.
 *  pDUAcknowledgementRequest in ACTIVE: tx = pDUAcknowledgementResponse, same seq,
 *    flush_first (store every record before it first).
 *  keep-alive (any state): tx = keep-aliveResponse, same seq, flush_first.
 *  a keep-aliveResponse, testPDU, padding, segment flags, cINReset or an alternative outside
 *    the profile: ignored (note).
 *  otherwise (a second optionRequest, optionComplete without our response,
 *    pDUAcknowledgementRequest before ACTIVE, optionResponse/pDUAcknowledgementResponse from
 *    a mediator): HO_PA_E_PROTO. MED_TRI_NONE: HO_PA_E_STATE (records go to _on_record). */
int ho_pa_col_on_tri(struct ho_pa_col *c, const struct med_tri_pdu *p, struct ho_pa_tx *tx,
                     char *note, size_t notelen);

/* Names for logs: "optionRequest", "pDUAcknowledgementResponse", "a CC/IRI record", ... */
const char *ho_pa_tri_name(int tri);
const char *ho_pa_mode_name(int mode);

#endif
