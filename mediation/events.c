/* mediation/events.c: IRI events the mediator makes itself (TS 102 232-3 IPIRI):
 * startOfInterceptionWithSessionActive (iRI-Begin) when a warrant's window opens and
 * endOfInterceptionWithSessionActive (iRI-End) when it closes; not when the mediator merely
 * stops. They carry timeStampQualifier timeOfMediation. iri-only (pen register) warrants get
 * them too: their HI2 record stream for the LIID/CIN opens with BEGIN, carries the header
 * REPORTs, and closes with END, like a full warrant's IRI stream. */
#include "med_int.h"

#include "lib/log.h"
#include "lib/timeutil.h"

#include <stdio.h>
#include <string.h>

void med_fill_header_locked(struct med_ctx *m, struct med_warrant *w, int hi, struct med_header *h)
{
	const struct ho_lea_conf *lea = ho_link_lea(w->link[hi]);
	memset(h, 0, sizeof *h);
	memcpy(h->liid, w->conf->liid, w->conf->liid_len);
	h->liid_len = w->conf->liid_len;
	memcpy(h->auth_cc, w->conf->country, 3);
	memcpy(h->deliv_cc, lea->country, 3);
	snprintf(h->operator_id, sizeof h->operator_id, "%s", m->cfg->operator_id);
	snprintf(h->ne_id, sizeof h->ne_id, "%s", m->cfg->ne_id);
	h->has_cin = 1;
	h->cin = w->cin;
	h->seq = w->seq[hi]; /* the caller advances seq[hi] once the record is encoded */
	h->ts_form = lea->ts_form;
	h->ts_qual = MED_TSQ_NONE;
}

static void fill_event(const struct med_warrant *w, int begin, struct med_iri_event *ev)
{
	memset(ev, 0, sizeof *ev);
	ev->event = begin ? MED_EV_START_OF_INTERCEPTION_SESSION_ACTIVE
	                  : MED_EV_END_OF_INTERCEPTION_SESSION_ACTIVE;
	snprintf(ev->username, sizeof ev->username, "%s", w->conf->target_name);
	ev->access_type = 0; /* undefined: a tap on addresses knows no access technology */
	int v4 = 0, v6 = 0;
	for (size_t i = 0; i < w->conf->ntargets; i++) {
		if (w->conf->targets[i].family == 4)
			v4 = 1;
		else
			v6 = 1;
	}
	ev->ip_version = v4 && v6 ? 3 : v6 ? 2 : 1;
	if (w->conf->ntargets == 1) {
		const struct lt_target *t = &w->conf->targets[0];
		ev->has_target_ip = 1;
		ev->target_ipver = t->family;
		memcpy(ev->target_ip, t->addr, t->family == 4 ? 4 : 16);
		/* IPv6 in binary form carries iPv6PrefixLength; IPv4 a mask only for a prefix. */
		if (t->family == 6)
			ev->target_prefix = t->prefix >= 1 ? t->prefix : 0;
		else
			ev->target_prefix = t->prefix >= 1 && t->prefix < 32 ? t->prefix : 0;
	}
}

int med_emit_event_locked(struct med_ctx *m, struct med_warrant *w, int begin, uint8_t *scratch,
                          size_t cap)
{
	struct med_header h;
	struct med_iri_event ev;
	med_fill_header_locked(m, w, HO_HI2, &h);
	int64_t sec;
	uint32_t nsec;
	lt_wallclock(&sec, &nsec);
	h.ts_sec = sec;
	h.ts_usec = nsec / 1000;
	h.ts_qual = MED_TSQ_MEDIATION;
	fill_event(w, begin, &ev);
	long n = med_encode_iri_event(&h, begin ? MED_IRI_BEGIN : MED_IRI_END, &ev, scratch, cap);
	if (n < 0) {
		med_drop(m, MED_DROP_ENCODE, "warrant %s: cannot encode the %s event (code %ld)",
		         w->conf->liid, begin ? "begin" : "end", n);
		return -1;
	}
	w->seq[HO_HI2]++;
	int rc = ho_enqueue(w->link[HO_HI2], scratch, (size_t)n);
	if (rc != 0) {
		atomic_fetch_add(&m->drops[MED_DROP_QUEUE], 1);
		return -1;
	}
	return 0;
}
