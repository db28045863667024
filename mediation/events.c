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

/* snprintf(dst, size, "%s", src) without the formatting machinery (per record). */
static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void med_fill_header_locked(struct med_ctx *m, struct med_warrant *w, size_t k, int hi,
                            struct med_header *h)
{
	const struct ho_lea_conf *lea = ho_link_lea(w->lea[k].link[hi]);
	const struct med_lea *def = &w->lea[k].lea->def;
	memset(h, 0, sizeof *h);
	memcpy(h->liid, w->conf->liid, w->conf->liid_len);
	h->liid_len = w->conf->liid_len;
	memcpy(h->auth_cc, w->conf->country, 3);
	memcpy(h->deliv_cc, w->def.deliv_country[0] ? w->def.deliv_country : lea->country, 3);
	copy_str(h->operator_id, sizeof h->operator_id,
	         def->operator_id[0] ? def->operator_id : m->cfg->operator_id);
	copy_str(h->ne_id, sizeof h->ne_id, m->cfg->ne_id);
	h->has_cin = 1;
	h->cin = w->cin;
	h->seq = w->lea[k].seq[hi]; /* the caller advances seq once the record is encoded */
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
	struct med_iri_event ev;
	int64_t sec;
	uint32_t nsec;
	int rc = 0;
	lt_wallclock(&sec, &nsec);
	fill_event(w, begin, &ev);
	/* Each LEA gets its own copy, numbered in its own stream. */
	for (size_t k = 0; k < w->nlea; k++) {
		struct med_header h;
		med_fill_header_locked(m, w, k, HO_HI2, &h);
		h.ts_sec = sec;
		h.ts_usec = nsec / 1000;
		h.ts_qual = MED_TSQ_MEDIATION;
		long n = med_encode_iri_event(&h, begin ? MED_IRI_BEGIN : MED_IRI_END, &ev, scratch,
		                              cap);
		if (n < 0) {
			med_drop(m, MED_DROP_ENCODE,
			         "warrant %s: cannot encode the %s event (code %ld)", w->conf->liid,
			         begin ? "begin" : "end", n);
			rc = -1;
			continue;
		}
		w->lea[k].seq[HO_HI2]++;
		if (ho_enqueue(w->lea[k].link[HO_HI2], scratch, (size_t)n, NULL) != 0) {
			atomic_fetch_add(&m->drops[MED_DROP_QUEUE], 1);
			rc = -1;
		}
	}
	return rc;
}
