/* mediation/store_live.c: the store behind the running mediator. At start the store is opened
 * (an empty one is seeded once from the config's leas/warrants), every LEA gets its own
 * handovers and every warrant its run-time state. A provisioning act changes the store in one
 * transaction together with its audit entry, then the run-time state, then the IAPs' tasks.
 *
 * Target (or LEA) changes of an active warrant: the current CIN is closed with an
 * end-of-interception event and a new CIN is opened with a start-of-interception event that
 * carries the new target set; records are admitted against the target set in force at their
 * time of interception (the set before the change for earlier packets), so an IAP that has not
 * acknowledged the change yet cannot leak a removed target's packets. */
#include "store_int.h"

#include "lib/log.h"
#include "lib/timeutil.h"
#include "lib/tls.h"
#include "lib/x2x3.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void med_tgen_clear(struct med_tgen *g)
{
	free(g->t);
	if (g->prog) {
		pcap_freecode(g->prog);
		free(g->prog);
	}
	memset(g, 0, sizeof *g);
}

int med_filter_match(void *prog, const uint8_t *pkt, size_t len)
{
	struct pcap_pkthdr h;
	memset(&h, 0, sizeof h);
	h.caplen = h.len = (bpf_u_int32)len;
	return pcap_offline_filter(prog, &h, pkt) != 0;
}

int med_tgen_build(struct med_tgen *g, const struct med_wdef *d)
{
	memset(g, 0, sizeof *g);
	g->t = malloc(d->c.ntargets * sizeof *g->t);
	if (!g->t)
		return -1;
	memcpy(g->t, d->c.targets, d->c.ntargets * sizeof *g->t);
	g->n = d->c.ntargets;
	if (d->filter[0]) {
		pcap_t *p = pcap_open_dead(DLT_RAW, 65535);
		g->prog = calloc(1, sizeof(struct bpf_program));
		if (!p || !g->prog ||
		    pcap_compile(p, g->prog, d->filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
			if (p)
				pcap_close(p);
			free(g->prog);
			g->prog = NULL;
			med_tgen_clear(g);
			return -1;
		}
		pcap_close(p);
	}
	return 0;
}

void med_tasks_changed(struct med_ctx *m)
{
	pthread_mutex_lock(&m->task_mu);
	m->task_version++;
	m->changed_version = m->task_version;
	m->changed_ms = lt_now_ms();
	pthread_cond_broadcast(&m->task_cv);
	pthread_mutex_unlock(&m->task_mu);
}

int med_ws_of(int rt)
{
	switch (rt) {
	case MED_W_ACTIVE:
		return MED_WS_ACTIVE;
	case MED_W_ENDED:
		return MED_WS_ENDED;
	case MED_W_SUSPENDED:
		return MED_WS_SUSPENDED;
	default:
		return MED_WS_PENDING;
	}
}

void med_live_state_changed(struct med_ctx *m, struct med_warrant *w)
{
	char cc[3], liid[MED_LIID_MAX + 1];
	pthread_mutex_lock(&w->mu);
	w->def.state = med_ws_of(w->state);
	int state = w->def.state;
	uint32_t cin = w->cin;
	memcpy(cc, w->def.c.country, sizeof cc);
	memcpy(liid, w->def.c.liid, sizeof liid);
	pthread_mutex_unlock(&w->mu);
	med_store_lock(m->store);
	if (med_store_warrant_set(m->store, cc, liid, state, cin) != 0)
		lt_err("warrant %s: cannot record state %s in the store", liid, med_ws_name(state));
	med_store_unlock(m->store);
}

struct med_lea_rt *med_live_lea_find(struct med_ctx *m, const char *id)
{
	for (size_t i = 0; i < m->nleas; i++)
		if (!m->leas[i]->removed && strcmp(m->leas[i]->def.ho.id, id) == 0)
			return m->leas[i];
	return NULL;
}

/* The TLS client context of an LEA's handovers, and its handover settings in hc: the mediator's
 * context (peer must hold the lea role), or for a collector that is not lawtap (docs/rest-api.md,
 * "tls") one of its own: chain to the LEA's CA with serverAuth EKU and no role check, or the
 * pinned certificate as the only trust. With both a CA and a pin, both apply: the context
 * verifies the chain against the LEA's CA (not a pinned context) and the handover checks the
 * pin after every handshake (hc->has_pin, handover/deliver.c). NULL with the reason in err. */
static SSL_CTX *med_lea_tls_ctx(struct med_ctx *m, const struct med_lea *def,
                                struct ho_lea_conf *hc, char *err, size_t errlen)
{
	*hc = def->ho;
	hc->peer_no_role = hc->has_pin = 0;
	if (!def->tls_ca[0] && !def->pin[0])
		return m->cli_ctx;
	if (def->pin[0] && lt_tls_parse_pin(def->pin, hc->pin) != 0) {
		snprintf(err, errlen, "lea %s: tls.pin_sha256 is not 64 hex digits", def->ho.id);
		return NULL;
	}
	hc->has_pin = def->pin[0] != '\0';
	hc->peer_no_role = 1;
	struct lt_tls_conf tc = {m->cfg->tls_ca, m->cfg->tls_cert, m->cfg->tls_key, NULL};
	char why[400];
	/* A pinned context verifies nothing but the pin: only when there is no CA to verify. */
	int pin_only = hc->has_pin && !def->tls_ca[0];
	SSL_CTX *ctx = lt_tls_ctx_new_client_ca(&tc, def->tls_ca[0] ? def->tls_ca : NULL, pin_only,
	                                        why, sizeof why);
	if (!ctx)
		snprintf(err, errlen, "lea %s: tls: %s", def->ho.id, why);
	else
		lt_info("lea %s: collector trust: %s%s%s", def->ho.id,
		        def->tls_ca[0] ? "chain to the LEA's CA " : "",
		        def->tls_ca[0] ? def->tls_ca : "",
		        hc->has_pin ? (def->tls_ca[0] ? " and the certificate pin"
		                                      : "the certificate pin only")
		                    : "");
	return ctx;
}

struct med_lea_rt *med_lea_rt_new(struct med_ctx *m, const struct med_lea *def, int start,
                                  char *err, size_t errlen)
{
	struct med_lea_rt *rt = calloc(1, sizeof *rt);
	if (!rt) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	rt->def = *def;
	struct ho_site site;
	memset(&site, 0, sizeof site);
	snprintf(site.operator_id, sizeof site.operator_id, "%s",
	         def->operator_id[0] ? def->operator_id : m->cfg->operator_id);
	snprintf(site.ne_id, sizeof site.ne_id, "%s", m->cfg->ne_id);
	/* spool, fsync policy, per-LEA de-duplication (docs/delivery.md) */
	med_delivery_site_lea(m, &site, def->ho.id);
	struct ho_lea_conf hc;
	SSL_CTX *ctx = med_lea_tls_ctx(m, def, &hc, err, errlen);
	rt->ho = ctx ? ho_new(ctx, &site, &hc, 1, err, errlen) : NULL;
	if (ctx != m->cli_ctx)
		lt_tls_ctx_free(ctx); /* ho_new holds its own reference */
	if (!rt->ho || (start && ho_start(rt->ho, err, errlen) != 0)) {
		if (rt->ho && start)
			(void)ho_drain(rt->ho, 0, NULL);
		ho_free(rt->ho);
		free(rt);
		return NULL;
	}
	return rt;
}

/* Stops an LEA's handovers and frees them (its spool directory may be reopened by a
 * successor). Nobody may hold a link of it: callers unbind it from every warrant first, or
 * hold the mutex of every warrant that uses it. The rt itself stays in m->leas (removed). */
void med_lea_rt_retire(struct med_ctx *m, struct med_lea_rt *rt)
{
	/* Durable first: records in its spools' memory tails may be covered by an IAP's pending
	 * ack, and the group commit skips a retired LEA. No record can come in meanwhile (the
	 * callers hold the warrants), and a group commit pass running now waits on the link
	 * locks until this sync is done. A failure fails every ack from now on (syncer.c). */
	if (rt->ho && ho_sync(rt->ho) != 0)
		med_sync_fail(m);
	/* Detach first: the spool group commit and /status walk the LEAs under the same rdlock
	 * the callers hold, so the handover must be out of their sight before it is freed. */
	pthread_mutex_lock(&m->ho_mu);
	struct ho_ctx *ho = rt->ho;
	rt->ho = NULL;
	rt->removed = 1;
	pthread_mutex_unlock(&m->ho_mu);
	if (!ho)
		return;
	if (ho_drain(ho, MED_LEA_DRAIN_MS, NULL) != 0)
		lt_warn("lea %s: handovers stopped with unconfirmed records", rt->def.ho.id);
	ho_free(ho);
}

int med_lea_publish(struct med_ctx *m, struct med_lea_rt *rt)
{
	pthread_rwlock_wrlock(&m->wl);
	int rc = med_grow((void **)&m->leas, &m->leacap, m->nleas, sizeof *m->leas);
	if (rc == 0)
		m->leas[m->nleas++] = rt;
	pthread_rwlock_unlock(&m->wl);
	return rc;
}

/* Points w's LEA slots at the LEAs named in w->def (wl held, w->mu held or w unpublished). */
int med_bind_leas(struct med_ctx *m, struct med_warrant *w)
{
	w->nlea = 0;
	for (size_t i = 0; i < w->def.nleas; i++) {
		struct med_lea_rt *rt = med_live_lea_find(m, w->def.leas[i]);
		if (!rt)
			continue; /* removed since (ended warrant) */
		struct med_wlea *l = &w->lea[w->nlea++];
		memset(l, 0, sizeof *l);
		l->lea = rt;
		l->link[HO_HI2] = ho_link_get(rt->ho, 0, HO_HI2);
		l->link[HO_HI3] = ho_link_get(rt->ho, 0, HO_HI3);
	}
	return 0;
}

struct med_warrant *med_warrant_rt_new(struct med_ctx *m, const struct med_wdef *d, int64_t now)
{
	struct med_warrant *w = calloc(1, sizeof *w);
	if (!w || med_wdef_copy(&w->def, d) != 0 || med_tgen_build(&w->cur, d) != 0) {
		if (w)
			med_wdef_clear(&w->def);
		free(w);
		return NULL;
	}
	w->conf = &w->def.c;
	med_xid_for(d->c.country, d->c.liid, d->c.liid_len, w->xid);
	lt_uuid_format(w->xid, w->xid_str);
	w->cin = d->cin;
	w->since = INT64_MIN;
	pthread_mutex_init(&w->mu, NULL);
	w->state = d->state == MED_WS_ENDED || now >= d->c.end ? MED_W_ENDED
	           : d->state == MED_WS_SUSPENDED              ? MED_W_SUSPENDED
	                                                       : MED_W_PENDING;
	return w;
}

static int cmp_xid(const void *a, const void *b)
{
	const struct med_warrant *const *x = a, *const *y = b;
	return memcmp((*x)->xid, (*y)->xid, 16);
}

/* wl write-held. */
int med_warrant_publish_locked(struct med_ctx *m, struct med_warrant *w)
{
	size_t cap = m->wcap;
	if (med_grow((void **)&m->w, &cap, m->nw, sizeof *m->w) != 0)
		return -1;
	size_t cap2 = m->wcap;
	if (med_grow((void **)&m->by_xid, &cap2, m->nw, sizeof *m->by_xid) != 0)
		return -1;
	if (cap != cap2)
		return -1; /* cannot happen: both grow in step */
	m->wcap = cap;
	m->w[m->nw] = w;
	m->by_xid[m->nw] = w;
	m->nw++;
	qsort(m->by_xid, m->nw, sizeof *m->by_xid, cmp_xid);
	return 0;
}

struct med_warrant *med_warrant_rt_find(struct med_ctx *m, const char *cc, const char *liid)
{
	uint8_t xid[16];
	med_xid_for(cc, liid, strlen(liid), xid);
	return med_warrant_find(m, xid);
}

/* ---- start-up ---- */
static int seed(struct med_ctx *m, char *err, size_t errlen)
{
	const struct med_config *cfg = m->cfg;
	struct med_store *s = m->store;
	int64_t now;
	uint32_t ns;
	lt_wallclock(&now, &ns);
	char who[MED_WHO_MAX];
	snprintf(who, sizeof who, "config %.200s", cfg->file);
	if (med_store_begin(s) != 0) {
		snprintf(err, errlen, "store: cannot seed from %s", cfg->file);
		return -1;
	}
	for (size_t i = 0; i < cfg->nleas; i++) {
		struct med_lea l;
		memset(&l, 0, sizeof l);
		l.ho = cfg->leas[i];
		if (cfg->lea_tls) { /* the YAML tls_ca / tls_pin_sha256 */
			snprintf(l.tls_ca, sizeof l.tls_ca, "%s", cfg->lea_tls[i].ca);
			snprintf(l.pin, sizeof l.pin, "%s", cfg->lea_tls[i].pin);
		}
		if (med_store_lea_insert(s, &l) != 0)
			goto fail;
	}
	for (size_t i = 0; i < cfg->nwarrants; i++) {
		const struct med_warrant_conf *c = &cfg->warrants[i];
		struct med_wdef d;
		memset(&d, 0, sizeof d);
		d.c = *c;
		d.nleas = 1;
		snprintf(d.leas[0], sizeof d.leas[0], "%s", cfg->leas[c->lea].id);
		memcpy(d.deliv_country, cfg->leas[c->lea].country, 3);
		d.state = now >= c->end ? MED_WS_ENDED : MED_WS_PENDING;
		snprintf(d.created_by, sizeof d.created_by, "%s", who);
		d.created_at = now;
		int rc = med_store_warrant_insert(s, &d); /* d.c.targets borrowed */
		if (rc != 0)
			goto fail;
	}
	char detail[128], hash[65];
	snprintf(detail, sizeof detail, "{\"leas\": %zu, \"warrants\": %zu}", cfg->nleas,
	         cfg->nwarrants);
	int64_t seq = med_audit_append(s, who, "store.seed", cfg->file, "ok", detail, hash);
	if (seq < 0 || med_store_commit(s) != 0)
		goto fail;
	(void)med_audit_anchor(m->audit_head, seq, hash);
	lt_info("store: seeded from %s (%zu LEAs, %zu warrants); from now on the store is the "
	        "source of truth and these config sections are ignored",
	        cfg->file, cfg->nleas, cfg->nwarrants);
	return 0;
fail:
	med_store_rollback(s);
	snprintf(err, errlen, "store: cannot seed from %s (see the log)", cfg->file);
	return -1;
}

int med_live_init(struct med_ctx *m, char *err, size_t errlen)
{
	const struct med_config *cfg = m->cfg;
	char path[MED_PATH_MAX + 16];
	pthread_rwlock_init(&m->wl, NULL);
	pthread_mutex_init(&m->prov_mu, NULL);
	pthread_mutex_init(&m->iap_mu, NULL);
	pthread_mutex_init(&m->ho_mu, NULL);
	m->live_locks = 1;
	if (mkdir(cfg->state_dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "state_dir %s: %s", cfg->state_dir, strerror(errno));
		return -1;
	}
	if (cfg->store[0])
		snprintf(path, sizeof path, "%s", cfg->store);
	else
		snprintf(path, sizeof path, "%s/lawtap.db", cfg->state_dir);
	snprintf(m->audit_head, sizeof m->audit_head, "%s/audit.head", cfg->state_dir);
	m->store = med_store_open(path, err, errlen);
	if (!m->store)
		return -1;
	int empty = med_store_empty(m->store);
	if (empty < 0) {
		snprintf(err, errlen, "store %s: unreadable", path);
		return -1;
	}
	if (empty && (cfg->nleas || cfg->nwarrants)) {
		if (seed(m, err, errlen) != 0)
			return -1;
	} else if (cfg->nleas || cfg->nwarrants) {
		lt_info("store %s holds the provisioning: the leas/warrants sections of %s are "
		        "ignored",
		        path, cfg->file);
	}

	struct med_lea *leas = NULL;
	size_t nleas = 0;
	if (med_store_lea_list(m->store, &leas, &nleas) != 0) {
		snprintf(err, errlen, "store %s: cannot read the LEAs", path);
		return -1;
	}
	for (size_t i = 0; i < nleas; i++) {
		struct med_lea_rt *rt = med_lea_rt_new(m, &leas[i], 0, err, errlen);
		if (!rt || med_lea_publish(m, rt) != 0) {
			free(leas);
			return -1;
		}
	}
	free(leas);

	struct med_wdef *ws = NULL;
	size_t nws = 0;
	if (med_store_warrant_list(m->store, &ws, &nws) != 0) {
		snprintf(err, errlen, "store %s: cannot read the warrants", path);
		return -1;
	}
	int64_t now;
	uint32_t ns;
	lt_wallclock(&now, &ns);
	uint32_t live = 0, cin = 0;
	for (size_t i = 0; i < nws; i++)
		live += ws[i].state != MED_WS_ENDED;
	if (live && med_cin_reserve(cfg->state_dir, live, &cin, err, errlen) != 0) {
		med_store_warrant_list_free(ws, nws);
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < nws && rc == 0; i++) {
		if (ws[i].state != MED_WS_ENDED)
			ws[i].cin = cin++;
		struct med_warrant *w = med_warrant_rt_new(m, &ws[i], now);
		if (!w) {
			snprintf(err, errlen, "warrant %s: out of memory or bad filter",
			         ws[i].c.liid);
			rc = -1;
			break;
		}
		pthread_rwlock_wrlock(&m->wl);
		med_bind_leas(m, w);
		if (med_warrant_publish_locked(m, w) != 0) {
			snprintf(err, errlen, "out of memory");
			rc = -1;
		}
		pthread_rwlock_unlock(&m->wl);
		if (rc) {
			med_wdef_clear(&w->def);
			med_tgen_clear(&w->cur);
			free(w);
			break;
		}
		med_store_lock(m->store);
		/* the CIN of this run */
		(void)med_store_warrant_set(m->store, ws[i].c.country, ws[i].c.liid, ws[i].state,
		                            ws[i].cin);
		med_store_unlock(m->store);
		lt_info("warrant %s (%s): %zu LEA(s)%s%s, %s, xid %s, cin %" PRIu32 "%s",
		        w->conf->liid, w->conf->country, w->nlea, w->nlea ? " first " : "",
		        w->nlea ? w->lea[0].lea->def.ho.id : "",
		        w->conf->mode == LT_TASK_FULL ? "full" : "iri-only", w->xid_str, w->cin,
		        w->state == MED_W_ENDED ? ", ended: not tasked" : "");
	}
	med_store_warrant_list_free(ws, nws);
	return rc;
}

int med_live_start(struct med_ctx *m, char *err, size_t errlen)
{
	for (size_t i = 0; i < m->nleas; i++)
		if (ho_start(m->leas[i]->ho, err, errlen) != 0)
			return -1;
	return 0;
}

void med_live_free(struct med_ctx *m)
{
	med_warrants_free(m);
	for (size_t i = 0; m->leas && i < m->nleas; i++) {
		ho_free(m->leas[i]->ho);
		free(m->leas[i]);
	}
	free(m->leas);
	m->leas = NULL;
	m->nleas = 0;
	med_store_close(m->store);
	m->store = NULL;
	if (m->live_locks) {
		pthread_rwlock_destroy(&m->wl);
		pthread_mutex_destroy(&m->prov_mu);
		pthread_mutex_destroy(&m->iap_mu);
		pthread_mutex_destroy(&m->ho_mu);
		m->live_locks = 0;
	}
}

void med_iap_update(struct med_ctx *m, const char *id, const char *peer, int connected,
                    uint64_t sent, uint64_t acked, double ack_ms)
{
	int persist = 0;
	if (ack_ms >= 0) {
		/* The acknowledgement of the version a provisioning act made: count from the act
		 * (the snapshot went out within one tasking poll of it). */
		pthread_mutex_lock(&m->task_mu);
		if (acked == m->changed_version && acked == sent) {
			double since = (double)(lt_now_ms() - m->changed_ms);
			if (since > ack_ms && since - ack_ms < 1000) /* not a later (re)connect */
				ack_ms = since;
		}
		pthread_mutex_unlock(&m->task_mu);
	}
	pthread_mutex_lock(&m->iap_mu);
	struct med_iap_stat *st = NULL;
	for (size_t i = 0; i < m->niaps; i++)
		if (strcmp(m->iaps[i].id, id) == 0)
			st = &m->iaps[i];
	if (!st && connected && m->niaps < sizeof m->iaps / sizeof m->iaps[0]) {
		st = &m->iaps[m->niaps++];
		memset(st, 0, sizeof *st);
		snprintf(st->id, sizeof st->id, "%s", id);
		st->ack_ms = -1;
	}
	if (st) {
		if (!connected) {
			st->connected = 0;
		} else {
			st->connected = 1;
			if (peer)
				snprintf(st->peer, sizeof st->peer, "%s", peer);
			st->task_version = sent;
			st->acked_version = acked;
			if (ack_ms >= 0) {
				st->ack_ms = ack_ms;
				persist = 1;
			}
		}
	}
	pthread_mutex_unlock(&m->iap_mu);
	if (persist && m->store) {
		int64_t now;
		uint32_t ns;
		lt_wallclock(&now, &ns);
		med_store_lock(m->store);
		(void)med_store_iap_seen(m->store, id, acked, now);
		med_store_unlock(m->store);
	}
}

void med_iap_x2x3(struct med_ctx *m, const char *id, int up)
{
	pthread_mutex_lock(&m->iap_mu);
	struct med_iap_stat *st = NULL;
	for (size_t i = 0; i < m->niaps; i++)
		if (strcmp(m->iaps[i].id, id) == 0)
			st = &m->iaps[i];
	if (!st && up && m->niaps < sizeof m->iaps / sizeof m->iaps[0]) {
		st = &m->iaps[m->niaps++];
		memset(st, 0, sizeof *st);
		snprintf(st->id, sizeof st->id, "%s", id);
		st->ack_ms = -1;
	}
	if (st) {
		st->x2x3_known = 1;
		st->x2x3_conns += up ? 1 : (st->x2x3_conns > 0 ? -1 : 0);
	}
	pthread_mutex_unlock(&m->iap_mu);
}
