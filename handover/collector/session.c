/* One HI2/HI3 connection's receive path: frame, decode, answer keep-alives, store. The socket
 * stays outside (listener.c), so the fuzz target drives exactly this code. */
#include <string.h>

#include "collector.h"
#include "lib/log.h"
#include "lib/timeutil.h"

/* The store's lock is taken once for a run of records (one drain call) rather than per record,
 * and given up before a keep-alive response is sent and when the drain ends. */
static void batch_begin(struct col_session *cs)
{
	if (cs->store && !cs->locked) {
		col_store_lock(cs->store);
		cs->locked = 1;
	}
}

static void batch_end(struct col_session *cs)
{
	if (cs->locked) {
		col_store_unlock(cs->store);
		cs->locked = 0;
	}
}

/* TS 102 232-1 / standards.md: the answer carries the request's sequence number, LIID, country
 * codes and operator id; the time is ours. */
static int answer_keepalive(struct col_session *cs, const struct med_record *r)
{
	uint8_t out[512];
	struct med_header h = r->hdr;
	uint32_t ns;
	lt_wallclock(&h.ts_sec, &ns);
	h.ts_usec = ns / 1000;
	if (h.ts_form != MED_TS_MICRO && h.ts_form != MED_TS_GENERALIZED &&
	    h.ts_form != MED_TS_BOTH)
		h.ts_form = MED_TS_MICRO;
	h.ts_qual = MED_TSQ_NONE;
	long n = med_encode_keepalive(&h, 1, out, sizeof out);
	if (n <= 0) {
		lt_err("%s: cannot encode the keep-alive response to seq %u (error %ld)", cs->name,
		       r->hdr.seq, n);
		return -1;
	}
	if (!cs->reply) {
		batch_end(cs);
		return 0;
	}
	/* The answer tells the mediator everything before it arrived: hand it to the kernel first,
	 * so a confirmed record is in the files even if this process dies right after. The outputs
	 * are buffered between keep-alives (no write per record), so this is where they go out. */
	if (cs->store) {
		batch_begin(cs);
		int frc = col_store_commit_locked(cs->store);
		batch_end(cs);
		if (frc != 0) {
			lt_err("%s: outputs cannot be flushed; not answering the keep-alive",
			       cs->name);
			return -1;
		}
	}
	/* Not under the store's lock: a slow link must not stall the other handover. */
	if (cs->reply(cs->reply_arg, out, (size_t)n) != 0) {
		lt_warn("%s: sending the keep-alive response failed", cs->name);
		return -1;
	}
	return 0;
}

/* A TRI PDU other than a keep-alive (docs/pdu-ack.md, LEA side): the option negotiation and
 * pDUAcknowledgementRequests go through the state machine; its answer is sent like a
 * keep-alive response (outputs flushed first when it confirms records). 0 or -1 (drop). */
static int handle_tri(struct col_session *cs, const uint8_t *rec, size_t len, uint64_t off)
{
	struct med_tri_pdu t;
	char why[160] = "", note[HO_PA_NOTE_MAX] = "";
	if (med_decode_tri(rec, len, &t, why, sizeof why) != 0) {
		lt_err("%s: offset %llu: TRI PDU does not decode: %s; dropping the connection",
		       cs->name, (unsigned long long)off, why[0] ? why : "invalid");
		return -1;
	}
	if (t.tri == MED_TRI_NONE) {
		if (cs->store) {
			batch_begin(cs);
			col_store_count_locked(cs->store, COL_COUNT_OTHER);
		}
		lt_info("%s: record of an unsupported kind at offset %llu ignored", cs->name,
		        (unsigned long long)off);
		return 0;
	}
	struct ho_pa_tx tx;
	int rc = ho_pa_col_on_tri(&cs->pa, &t, &tx, note, sizeof note);
	if (rc < 0) {
		lt_warn("%s: %s; dropping the connection", cs->name,
		        note[0] ? note : "PDU acknowledgement protocol error");
		return -1;
	}
	if (note[0])
		lt_info("%s: %s", cs->name, note);
	if (tx.tri == MED_TRI_NONE)
		return 0;
	if (tx.tri == MED_TRI_PDU_ACK_RESPONSE) {
		cs->pdu_acks++;
		if (cs->store) {
			batch_begin(cs);
			col_store_count_locked(cs->store, COL_COUNT_PDU_ACK);
		}
	}
	uint8_t out[512];
	struct med_header h = t.hdr;
	uint32_t ns;
	lt_wallclock(&h.ts_sec, &ns);
	h.ts_usec = ns / 1000;
	if (h.ts_form != MED_TS_MICRO && h.ts_form != MED_TS_GENERALIZED &&
	    h.ts_form != MED_TS_BOTH)
		h.ts_form = MED_TS_MICRO;
	h.ts_qual = MED_TSQ_NONE;
	long n = ho_pa_encode(&tx, &h, out, sizeof out);
	if (n <= 0) {
		lt_err("%s: cannot encode the %s to seq %u (error %ld)", cs->name,
		       ho_pa_tri_name(tx.tri), t.hdr.seq, n);
		return -1;
	}
	if (!cs->reply) {
		batch_end(cs);
		return 0;
	}
	if (tx.flush_first && cs->store) {
		batch_begin(cs);
		int frc = col_store_commit_locked(cs->store);
		batch_end(cs);
		if (frc != 0) {
			lt_err("%s: outputs cannot be flushed; not answering the %s", cs->name,
			       ho_pa_tri_name(t.tri));
			return -1;
		}
	}
	batch_end(cs); /* not under the store's lock: a slow link must not stall the other HI */
	if (cs->reply(cs->reply_arg, out, (size_t)n) != 0) {
		lt_warn("%s: sending the %s failed", cs->name, ho_pa_tri_name(tx.tri));
		return -1;
	}
	return 0;
}

static int handle(struct col_session *cs, const uint8_t *rec, size_t len, uint64_t off,
                  struct med_record *r)
{
	char liid[4 * MED_LIID_MAX + 1];
	if (cs->tap)
		cs->tap(cs->tap_arg, rec, len, r);
	switch (r->kind) {
	case MED_REC_KEEPALIVE:
		cs->keepalives++;
		if (cs->store) {
			batch_begin(cs);
			col_store_count_locked(cs->store, COL_COUNT_KEEPALIVE);
		}
		lt_debug("%s: keep-alive seq %u", cs->name, r->hdr.seq);
		return answer_keepalive(cs, r);
	case MED_REC_CC:
	case MED_REC_IRI: {
		int khi = r->kind == MED_REC_CC ? COL_HI3 : COL_HI2;
		cs->records++;
		if (khi != cs->hi) {
			col_fmt_liid(liid, sizeof liid, r->hdr.liid, r->hdr.liid_len);
			lt_log(
			    cs->warned_port++ ? LT_LOG_DEBUG : LT_LOG_WARN,
			    "%s: %s record (liid %s seq %u) at offset %llu on the wrong handover; "
			    "stored with hi%d",
			    cs->name, col_kind_name(r->kind), liid, r->hdr.seq,
			    (unsigned long long)off, khi);
		}
		if (!cs->store)
			return 0;
		batch_begin(cs);
		int rc = col_store_record_locked(cs->store, cs->hi, cs->name, rec, len, r);
		if (rc == COL_SEQ_DUP) {
			col_fmt_liid(liid, sizeof liid, r->hdr.liid, r->hdr.liid_len);
			lt_debug("%s: duplicate %s liid %s cin %u seq %u dropped", cs->name,
			         col_kind_name(r->kind), liid, r->hdr.cin, r->hdr.seq);
		}
		/* A record that cannot be stored must not be confirmed: drop the link, the
		 * mediator keeps it spooled. */
		if (rc < 0)
			return -1;
		if (cs->pa.state == HO_PA_COL_RESPONDED) {
			char note[HO_PA_NOTE_MAX] = "";
			ho_pa_col_on_record(&cs->pa, note, sizeof note);
			if (note[0])
				lt_info("%s: %s", cs->name, note);
		}
		return 0;
	}
	case MED_REC_KEEPALIVE_RESP:
		lt_info("%s: unexpected keep-alive response (seq %u) ignored", cs->name,
		        r->hdr.seq);
		return 0;
	default:
		return handle_tri(cs, rec, len, off);
	}
}

static int drain(struct col_session *cs)
{
	for (;;) {
		const uint8_t *rec = NULL;
		size_t len = 0;
		uint64_t off = 0;
		int rc = col_stream_next(cs->stream, &rec, &len, &off);
		if (rc == MED_E_SHORT)
			return 0;
		if (rc != 0) {
			lt_err(
			    "%s: offset %llu: not the start of a PS-PDU (bad BER tag or length); "
			    "dropping the connection",
			    cs->name, (unsigned long long)off);
			if (cs->store) {
				batch_begin(cs);
				col_store_count_locked(cs->store, COL_COUNT_DECODE_ERROR);
			}
			return -1;
		}
		/* The common shapes (CC, keep-alives) take the fast path; anything else, and
		 * anything it does not recognise, goes through asn1c (med_decode). */
		struct med_record r;
		char why[160];
		int fast = 0;
		why[0] = '\0'; /* not "= \"\"": that zero-fills the array for every record */
		if (col_decode_cached(rec, len, &r, &fast, why, sizeof why, &cs->fdc) != 0) {
			col_record_release(&r, fast);
			lt_err("%s: offset %llu: record of %zu bytes does not decode: %s; dropping "
			       "the connection",
			       cs->name, (unsigned long long)off, len, why[0] ? why : "invalid");
			if (cs->store) {
				batch_begin(cs);
				col_store_count_locked(cs->store, COL_COUNT_DECODE_ERROR);
			}
			return -1;
		}
		rc = handle(cs, rec, len, off, &r);
		col_record_release(&r, fast);
		if (rc != 0)
			return -1;
	}
}

int col_session_drain(struct col_session *cs)
{
	int rc = drain(cs);
	batch_end(cs);
	return rc;
}
