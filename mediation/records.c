/* mediation/records.c: X2/X3 PDUs -> numbered PS-PDUs on the warrant's LEA handover.
 * X3 (IP packet) -> IPCC on HI3 (TS 102 232-3), X2 (header facts) -> IPIRIOnly iRI-Report on
 * HI2. Records for unknown XIDs, inactive warrants, or X3 for an iri-only warrant are dropped
 * and counted, never delivered. */
#include "med_int.h"

#include "lib/log.h"
#include "lib/timeutil.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "handover/spool.h"
#include "mediation/codec/pspdu_fast.h"

#define DROP_LOG_EVERY_MS 10000

static const char *const drop_names[MED_DROP_N] = {
    "unknown_xid", "inactive", "x3_iri_only", "unsupported", "encode", "queue",
};

void med_drop(struct med_ctx *m, enum med_drop why, const char *fmt, ...)
{
	atomic_fetch_add(&m->drops[why], 1);
	struct med_ratelimit *rl = &m->rl[why];
	int64_t now = lt_now_ms();
	pthread_mutex_lock(&rl->mu);
	int log = rl->last_ms == 0 || now - rl->last_ms >= DROP_LOG_EVERY_MS;
	uint64_t suppressed = rl->suppressed;
	if (log) {
		rl->last_ms = now;
		rl->suppressed = 0;
	} else {
		rl->suppressed++;
	}
	pthread_mutex_unlock(&rl->mu);
	if (!log)
		return;
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (suppressed)
		lt_warn("%s (and %" PRIu64 " more %s drops since the last report)", msg, suppressed,
		        drop_names[why]);
	else
		lt_warn("%s", msg);
}

/* TS 103 221-2 payloadDirection -> TS 102 232-1 PayloadDirection (standards.md table). */
static int map_dir(uint16_t d)
{
	switch (d) {
	case LT_DIR_TO_TARGET:
		return MED_DIR_TO_TARGET;
	case LT_DIR_FROM_TARGET:
		return MED_DIR_FROM_TARGET;
	case LT_DIR_MULTIPLE:
		return MED_DIR_COMBINED;
	case LT_DIR_NA:
		return MED_DIR_NA;
	default:
		return MED_DIR_INDETERMINATE;
	}
}

/* X2 attributes 10-16 -> header facts. 0 or -1 when the addresses are missing. */
static int x2_facts(const struct lt_x2x3_pdu *p, struct med_header_facts *f)
{
	memset(f, 0, sizeof *f);
	if (p->has_src_v4 && p->has_dst_v4) {
		f->ip_version = 4;
		memcpy(f->src, p->src, 4);
		memcpy(f->dst, p->dst, 4);
	} else if (p->has_src_v6 && p->has_dst_v6) {
		f->ip_version = 6;
		memcpy(f->src, p->src, 16);
		memcpy(f->dst, p->dst, 16);
	} else {
		return -1;
	}
	f->proto = p->has_proto ? p->proto : 0;
	f->sport = p->has_sport ? p->sport : 0;
	f->dport = p->has_dport ? p->dport : 0;
	return 0;
}

/* With w->mu held: 1 when one of the warrant's spools is at spool_max_bytes. */
static int spool_full_locked(struct med_warrant *w, int hi)
{
	for (size_t k = 0; k < w->nlea; k++)
		if (ho_room_wait(w->lea[k].link[hi], 0) != 0)
			return 1;
	return 0;
}

int med_cin_roll_locked(struct med_ctx *m, struct med_warrant *w, uint8_t *scratch, size_t cap)
{
	uint32_t at = m->cfg->cin_roll_at ? m->cfg->cin_roll_at : MED_CIN_ROLL_DEFAULT;
	int due = 0;
	for (size_t k = 0; k < w->nlea; k++)
		due |= w->lea[k].seq[HO_HI2] >= at || w->lea[k].seq[HO_HI3] >= at;
	if (!due)
		return 0;
	uint32_t cin;
	char why[256];
	if (med_cin_reserve(m->cfg->state_dir, 1, &cin, why, sizeof why) != 0) {
		med_drop(m, MED_DROP_ENCODE,
		         "warrant %s: cannot move to a new CIN before the "
		         "sequence number wraps: %s",
		         w->conf->liid, why);
		return -1;
	}
	lt_info("warrant %s: sequence number reached %" PRIu32 ", communication moves from cin "
	        "%" PRIu32 " to cin %" PRIu32,
	        w->conf->liid, at, w->cin, cin);
	w->cin = cin;
	for (size_t k = 0; k < w->nlea; k++)
		w->lea[k].seq[HO_HI2] = w->lea[k].seq[HO_HI3] = 0;
	atomic_fetch_add(&m->cin_rolls, 1);
	/* the new CIN's record stream opens with its IRI, as at the start of interception */
	return med_emit_event_locked(m, w, 1, scratch, cap);
}

/* The state of the run in progress in this thread (the caller keeps struct med_run; a thread
 * has one run at a time). It is only used while the run holds w->mu, which every writer of the
 * warrant's fields and of the de-duplication marks of its XID holds too (med_int.h), so what it
 * caches stays true for the run:
 * - the de-duplication marks of (IAP id, run epoch, XID), one per LEA slot of the warrant:
 *   read once per run (med_dedup_marks, one lock), raised here per record spooled for the LEA
 *   and written back (med_dedup_note_lea) when the run ends, before w->mu is released; the
 *   same decisions as med_dedup_seen_lea/med_dedup_note_lea per record and LEA, without their
 *   lock and search per record;
 * - the PSHeader of each of the warrant's LEAs and its CC template, built once per run (again
 *   when the CIN or the time stamp qualifier changes); per record only the sequence number and
 *   the time stamp are set;
 * - the records and duplicates counted, added to the mediator's counters when the run ends. */
struct run_state {
	struct med_ctx *m;
	const struct med_run *run; /* the run the state belongs to; NULL: none */
	struct med_warrant *w;
	int hi;
	struct ho_spool_key key; /* iap and xid fixed for the run; has, epoch, seq per record */
	int dd_loaded;
	uint64_t dd_epoch;
	size_t dd_n;       /* LEA slots whose marks are loaded (w->nlea) */
	uint32_t dd_found; /* bit k: slot k has a mark, dd_max[k] */
	uint32_t dd_dirty; /* bit k: slot k's mark was raised, to be written back */
	uint32_t dd_max[MED_WLEAS_MAX];
	/* slot k's LEA id (in its med_lea_rt, which is kept until med_free) */
	const char *dd_lea[MED_WLEAS_MAX];
	int hdr_ok, qual;
	uint32_t hdr_cin;
	size_t hdr_nlea;
	struct med_header h[MED_WLEAS_MAX];
	int tpl_rc[MED_WLEAS_MAX]; /* HI3: med_cc_template_sync's result per LEA */
	uint64_t records, dups;
};
static _Thread_local struct run_state rs;
_Static_assert(MED_WLEAS_MAX <= 32, "one bit per LEA slot in a uint32_t");
/* One CC template per LEA slot of the warrant of the run: rebuilt in place (no allocation)
 * when a run of another warrant or CIN starts, otherwise kept. Byte-identical to med_encode_cc
 * (tests/unit/test_codec_fast.c). */
static _Thread_local struct med_cc_template cc_tpl[MED_WLEAS_MAX];

/* Writes the raised marks back (those of epoch s->dd_epoch). */
static void rs_write_back(struct run_state *s)
{
	struct ho_spool_key k = s->key;
	k.has = 1;
	k.epoch = s->dd_epoch;
	for (size_t i = 0; i < s->dd_n; i++)
		if (s->dd_dirty >> i & 1) {
			k.seq = s->dd_max[i];
			med_dedup_note_lea(s->m->dedup, &k, s->dd_lea[i]);
		}
	s->dd_dirty = 0;
}

/* Writes the run's pending marks back and adds its counts: with the run's w->mu still held. */
static void rs_flush(struct run_state *s)
{
	if (s->m && s->dd_dirty)
		rs_write_back(s);
	if (s->m && s->records)
		atomic_fetch_add(&s->m->records_in[s->hi], s->records);
	if (s->m && s->dups)
		atomic_fetch_add(&s->m->duplicates, s->dups);
	s->dd_dirty = s->dd_loaded = 0;
	s->records = s->dups = 0;
	s->hdr_ok = 0;
	s->run = NULL;
	s->w = NULL;
}

/* This thread's state for a run of w's records on hi from IAP iap_id (w->mu held). */
static struct run_state *rs_start(struct med_ctx *m, const struct med_run *run,
                                  struct med_warrant *w, int hi, const char *iap_id)
{
	struct run_state *s = &rs;
	rs_flush(s);
	s->m = m;
	s->run = run;
	s->w = w;
	s->hi = hi;
	memset(&s->key, 0, sizeof s->key);
	size_t idlen = strnlen(iap_id, HO_SPOOL_ID_MAX);
	memcpy(s->key.iap, iap_id, idlen);
	memcpy(s->key.xid, w->xid, 16);
	return s;
}

/* The LEA slots of w that have s->key (has, epoch and seq set) spooled already: bit k for
 * w->lea[k] (med_dedup_seen_lea's answer per LEA). */
static uint32_t rs_have(struct run_state *s, const struct med_warrant *w)
{
	const struct ho_spool_key *k = &s->key;
	if (!k->has || !s->m->dedup)
		return 0;
	if (!s->dd_loaded || s->dd_epoch != k->epoch || s->dd_n != w->nlea) {
		if (s->dd_dirty) /* another epoch within the run: the last one's marks first */
			rs_write_back(s);
		s->dd_n = w->nlea;
		for (size_t i = 0; i < s->dd_n; i++)
			s->dd_lea[i] = w->lea[i].lea->def.ho.id;
		s->dd_found = med_dedup_marks(s->m->dedup, k, s->dd_lea, s->dd_n, s->dd_max);
		s->dd_epoch = k->epoch;
		s->dd_loaded = 1;
	}
	uint32_t have = 0;
	for (size_t i = 0; i < s->dd_n; i++)
		if ((s->dd_found >> i & 1) && k->seq <= s->dd_max[i])
			have |= 1u << i;
	return have;
}

/* s->key was spooled for LEA slot i (after rs_have said it had not): its mark goes up
 * (med_dedup_note_lea's effect). */
static void rs_note(struct run_state *s, size_t i)
{
	const struct ho_spool_key *k = &s->key;
	if (!k->has || !s->m->dedup || i >= s->dd_n)
		return;
	if (!(s->dd_found >> i & 1) || k->seq > s->dd_max[i]) {
		s->dd_found |= 1u << i;
		s->dd_max[i] = k->seq;
		s->dd_dirty |= 1u << i;
	}
}

/* The fixed part of the headers of w's records on hi towards each of its LEAs (and for HI3 the
 * CC templates), with time stamp qualifier qual and interceptionPointID iap_id. */
static void rs_headers(struct run_state *s, struct med_ctx *m, struct med_warrant *w, int hi,
                       int qual, const char *iap_id)
{
	size_t ipl = strnlen(iap_id, MED_IPID_MAX);
	for (size_t k = 0; k < w->nlea; k++) {
		struct med_header *h = &s->h[k];
		med_fill_header_locked(m, w, k, hi, h);
		h->ts_qual = qual;
		memcpy(h->ipid, iap_id, ipl);
		h->ipid[ipl] = '\0';
		if (hi == HO_HI3)
			s->tpl_rc[k] = med_cc_template_sync(&cc_tpl[k], h);
	}
	s->hdr_ok = 1;
	s->qual = qual;
	s->hdr_cin = w->cin;
	s->hdr_nlea = w->nlea;
}

/* Ends the run: its state written back, the warrant unlocked. */
static void run_release(struct med_run *run)
{
	struct med_warrant *w = run->w;
	if (!w)
		return;
	if (rs.run == run)
		rs_flush(&rs);
	run->w = NULL;
	run->n = 0;
	pthread_mutex_unlock(&w->mu);
}

void med_run_end(struct med_run *run)
{
	if (run) {
		run_release(run);
		run->n = 0;
	}
}

/* The end of one record's locked part: the run keeps the warrant locked for the next record of
 * the same XID and handover, at most MED_RUN_MAX records. */
static void run_next(struct med_run *run)
{
	if (++run->n >= MED_RUN_MAX)
		run_release(run);
}

int med_record_in(struct med_ctx *m, const struct lt_x2x3_pdu *p, const char *iap_id,
                  uint8_t *scratch, size_t cap, struct med_run *run)
{
	/* Without a run from the caller, the record is a run of its own. */
	struct med_run solo = {NULL, {0}, 0, 0};
	int single = run == NULL;
	if (single)
		run = &solo;
	int x3 = p->type == LT_X3;
	int hi = x3 ? HO_HI3 : HO_HI2;
	struct med_warrant *w;
	if (run->w && run->hi == hi && memcmp(run->xid, p->xid, 16) == 0) {
		w = run->w; /* locked, its spool room checked at the run's start */
	} else {
		med_run_end(run);
		w = med_warrant_find(m, p->xid);
	}
	if (!w) {
		char xs[37];
		lt_uuid_format(p->xid, xs);
		med_drop(m, MED_DROP_UNKNOWN_XID, "iap %s x2x3: record for unknown XID %s dropped",
		         iap_id, xs);
		return 0;
	}
	if (x3 && w->conf->mode == LT_TASK_IRI_ONLY) {
		med_drop(m, MED_DROP_X3_IRI_ONLY,
		         "iap %s x2x3: X3 for iri-only warrant %s dropped (no CC under a pen "
		         "register)",
		         iap_id, w->conf->liid);
		return 0;
	}
	struct med_header_facts facts;
	if (x3 && ((p->format != LT_PF_IPV4 && p->format != LT_PF_IPV6) || p->payload_len == 0)) {
		med_drop(m, MED_DROP_UNSUPPORTED,
		         "iap %s x2x3: X3 with payload format %u (%" PRIu32 " bytes) for %s "
		         "dropped: only IPv4/IPv6 packets",
		         iap_id, p->format, p->payload_len, w->conf->liid);
		return 0;
	}
	if (!x3 && x2_facts(p, &facts) != 0) {
		med_drop(m, MED_DROP_UNSUPPORTED,
		         "iap %s x2x3: X2 without source/destination address attributes for %s "
		         "dropped",
		         iap_id, w->conf->liid);
		return 0;
	}
	/* The wall clock only when needed (per record it is not free): a record without a time
	 * of interception, or a warrant that may start now. */
	int64_t now = 0;
	uint32_t nsec = 0;
	if (!p->has_ts)
		lt_wallclock(&now, &nsec);
	int64_t ts_sec = now;
	uint32_t ts_usec = nsec / 1000;
	int qual = MED_TSQ_MEDIATION;
	if (p->has_ts) { /* attribute 9: time of interception, µs = ns / 1000 */
		ts_sec = p->ts_sec;
		ts_usec = p->ts_nsec < 1000000000u ? p->ts_nsec / 1000 : 999999;
		qual = MED_TSQ_INTERCEPTION;
	}
	int dir = map_dir(p->direction);

	/* Back-pressure: while a spool of this warrant is full, nothing more is taken from this
	 * connection (not read, not acknowledged); the IAP keeps its data. Checked once per run
	 * of records (the bound is soft by at most one run per connection). */
	struct run_state *s = &rs;
	if (run->w != w) {
		pthread_mutex_lock(&w->mu);
		while (spool_full_locked(w, hi)) {
			pthread_mutex_unlock(&w->mu);
			if (atomic_load(&m->stopping))
				return -1;
			usleep(50 * 1000);
			pthread_mutex_lock(&w->mu);
		}
		run->w = w;
		run->hi = hi;
		run->n = 0;
		memcpy(run->xid, w->xid, 16);
		s = rs_start(m, run, w, hi, iap_id);
	} else if (s->run != run || s->w != w || s->hi != hi) {
		s = rs_start(m, run, w, hi, iap_id); /* another run came between in this thread */
	}

	/* The de-duplication key: kept with the spooled record (docs/delivery.md). */
	struct ho_spool_key *key = &s->key;
	key->has = p->has_seq;
	key->epoch = p->has_epoch ? p->epoch : 0;
	key->seq = p->seq;
	/* Per LEA: a resend after one LEA's spool write failed goes to that LEA alone. */
	uint32_t have = rs_have(s, w);
	if (have && have == (w->nlea < 32 ? (1u << w->nlea) - 1 : UINT32_MAX)) {
		s->dups++;
		run_next(run);
		if (single)
			med_run_end(run);
		return 0;
	}
	if (w->state == MED_W_PENDING && p->has_ts)
		lt_wallclock(&now, &nsec);
	int state = med_warrant_activate_locked(m, w, now, scratch, cap);
	if (state != MED_W_ACTIVE || !med_warrant_admit_locked(w, p, ts_sec)) {
		run_next(run);
		if (single)
			med_run_end(run);
		med_drop(m, MED_DROP_INACTIVE,
		         "iap %s x2x3: record for %s outside its active window dropped", iap_id,
		         w->conf->liid);
		return 0;
	}
	/* A CIN of an earlier run (IAP buffered across a mediator restart): the mediator owns
	 * the CIN, the record joins the warrant's current stream. */
	(void)med_cin_roll_locked(m, w, scratch, cap);
	if (p->correlation != w->cin)
		atomic_fetch_add(&m->cin_remapped, 1);
	if (!s->hdr_ok || s->qual != qual || s->hdr_cin != w->cin || s->hdr_nlea != w->nlea)
		rs_headers(s, m, w, hi, qual, iap_id);
	int rc = 0;
	/* Each of the warrant's LEAs gets its own copy with its own numbering, unless it has the
	 * record already (a resend). */
	for (size_t k = 0; k < w->nlea; k++) {
		if (have >> k & 1)
			continue;
		struct med_header *h = &s->h[k];
		h->seq = w->lea[k].seq[hi]; /* advanced below once the record is encoded */
		h->ts_sec = ts_sec;
		h->ts_usec = ts_usec;
		long n = !x3 ? med_encode_iri_report(h, dir, &facts, scratch, cap)
		         : s->tpl_rc[k]
		             ? s->tpl_rc[k]
		             : med_cc_template_encode(&cc_tpl[k], h->seq, ts_sec, ts_usec, dir,
		                                      p->payload, p->payload_len, scratch, cap);
		if (n < 0) {
			med_drop(m, MED_DROP_ENCODE,
			         "iap %s x2x3: cannot encode a record for %s (code %ld)", iap_id,
			         w->conf->liid, n);
			continue;
		}
		int erc = ho_enqueue(w->lea[k].link[hi], scratch, (size_t)n, key);
		if (erc == HO_E_IO || (erc != 0 && atomic_load(&m->stopping))) {
			/* (a handover refusing records because the mediator is stopping: the same,
			 * the record is not acknowledged and the IAP sends it to the next run) */
			/* not durable: the IAP must resend it (logged by the spool); neither this
			 * LEA's number nor its mark moves, so the resend gets this number here */
			rc = -1;
			continue;
		}
		w->lea[k].seq[hi]++;
		if (erc != 0)
			atomic_fetch_add(&m->drops[MED_DROP_QUEUE], 1); /* LEA removed/draining */
		else
			s->records++;
		/* handled for this LEA either way: a resend (another LEA's write failed) neither
		 * spools it twice nor counts the drop and takes a number again */
		rs_note(s, k);
	}
	if (rc != 0) { /* the connection is dropped: no run goes on */
		run_release(run);
		return rc;
	}
	run_next(run);
	if (single)
		med_run_end(run);
	return rc;
}
