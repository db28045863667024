/* mediation/store_prov.c: the provisioning acts of the REST API (med_prov_*, med_int.h). Each
 * runs under prov_mu: the store change and its audit entry in one transaction, then the
 * run-time state (store_live.c), then the IAPs' tasks (a new snapshot version). A refused act
 * changes nothing and is audited with its reason. */
#include "store_int.h"

#include "lib/log.h"
#include "lib/timeutil.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t prov_scratch[16384]; /* events made under prov_mu */

/* ---- provisioning acts ---- */
__attribute__((format(printf, 4, 5))) static int perr(struct med_jerr *e, int status,
                                                      const char *field, const char *fmt, ...)
{
	va_list ap;
	e->status = status;
	snprintf(e->field, sizeof e->field, "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return -1;
}

/* Appends the audit entry for a successful act and commits (store lock held, transaction
 * open). 0 or -1 (rolled back). */
static int audit_commit(struct med_ctx *m, const char *who, const char *action, const char *object,
                        json_t *detail, struct med_jerr *e)
{
	char *dj = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	char hash[65];
	int64_t seq = med_audit_append(m->store, who, action, object, "ok", dj, hash);
	free(dj);
	if (seq < 0 || med_store_commit(m->store) != 0) {
		med_store_rollback(m->store);
		return perr(e, 500, NULL, "store failure (logged)");
	}
	(void)med_audit_anchor(m->audit_head, seq, hash);
	return 0;
}

void med_prov_refused(struct med_ctx *m, const char *who, const char *action, const char *object,
                      const struct med_jerr *e)
{
	json_t *d =
	    json_pack("{s:i, s:s, s:s}", "status", e->status, "error", e->msg, "field", e->field);
	char *dj = d ? json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	char hash[65], result[300];
	snprintf(result, sizeof result, "refused: %s", e->msg);
	med_store_lock(m->store);
	int64_t seq = med_audit_append(m->store, who, action, object, result, dj, hash);
	if (seq > 0)
		(void)med_audit_anchor(m->audit_head, seq, hash);
	med_store_unlock(m->store);
	free(dj);
	json_decref(d);
}

static int store_err(int rc, struct med_jerr *e, const char *what)
{
	if (rc == MED_SE_NOTFOUND)
		return perr(e, 404, NULL, "no such %s", what);
	if (rc == MED_SE_CONFLICT)
		return perr(e, 409, NULL, "%s already exists", what);
	return perr(e, 500, NULL, "store failure (logged)");
}

/* Opens the store transaction of a provisioning act: 0, or -1 with the 500 error in e. */
static int begin(struct med_ctx *m, struct med_jerr *e)
{
	if (med_store_begin(m->store) == 0)
		return 0;
	perr(e, 500, NULL, "store failure (logged)");
	return -1;
}

int med_prov_lea_add(struct med_ctx *m, const char *who, const struct med_lea *l,
                     struct med_jerr *e)
{
	char why[256];
	int rc = -1;
	pthread_mutex_lock(&m->prov_mu);
	med_store_lock(m->store);
	if (begin(m, e) != 0)
		goto out;
	int src = med_store_lea_insert(m->store, l);
	if (src != 0) {
		med_store_rollback(m->store);
		if (src == MED_SE_CONFLICT)
			perr(e, 409, "id", "an LEA with id \"%s\" exists", l->ho.id);
		else
			store_err(src, e, "LEA");
		goto out;
	}
	struct med_lea_rt *rt = med_lea_rt_new(m, l, 1, why, sizeof why);
	if (!rt) {
		med_store_rollback(m->store);
		perr(e, 500, NULL, "cannot start the handovers: %s", why);
		goto out;
	}
	json_t *d = med_json_from_lea(l);
	rc = audit_commit(m, who, "lea.add", l->ho.id, d, e);
	json_decref(d);
	if (rc != 0 || med_lea_publish(m, rt) != 0) {
		med_lea_rt_retire(m, rt);
		free(rt);
		if (rc == 0)
			perr(e, 500, NULL, "out of memory");
		rc = -1;
		goto out;
	}
	lt_info("lea %s added by %s", l->ho.id, who);
out:
	med_store_unlock(m->store);
	pthread_mutex_unlock(&m->prov_mu);
	return rc;
}

int med_prov_lea_modify(struct med_ctx *m, const char *who, const char *id, const json_t *patch,
                        struct med_lea *out, struct med_jerr *e)
{
	char why[256];
	int rc = -1;
	pthread_mutex_lock(&m->prov_mu);
	med_store_lock(m->store);
	int src = med_store_lea_get(m->store, id, out);
	if (src != 0) {
		store_err(src, e, "LEA");
		goto out;
	}
	if (med_json_lea(patch, 1, out, e) != 0)
		goto out;
	if (begin(m, e) != 0)
		goto out;
	if ((src = med_store_lea_update(m->store, out)) != 0) {
		med_store_rollback(m->store);
		store_err(src, e, "LEA");
		goto out;
	}
	json_t *d = med_json_from_lea(out);
	rc = audit_commit(m, who, "lea.modify", id, d, e);
	json_decref(d);
	if (rc != 0)
		goto out;
	/* Swap the handovers while holding every warrant that uses the LEA: the old ones drain
	 * and close their spools, the new ones reopen them with the new settings, and no record
	 * is numbered in between. */
	pthread_rwlock_rdlock(&m->wl);
	struct med_lea_rt *old = med_live_lea_find(m, id);
	for (size_t i = 0; old && i < m->nw; i++) {
		for (size_t k = 0; k < m->w[i]->nlea; k++)
			if (m->w[i]->lea[k].lea == old) {
				pthread_mutex_lock(&m->w[i]->mu);
				break;
			}
	}
	if (old)
		med_lea_rt_retire(m, old);
	struct med_lea_rt *rt = med_lea_rt_new(m, out, 1, why, sizeof why);
	if (!rt)
		lt_err("lea %s: modified in the store but its handovers did not start: %s", id,
		       why);
	for (size_t i = 0; old && i < m->nw; i++) {
		struct med_warrant *w = m->w[i];
		int held = 0;
		for (size_t k = 0; k < w->nlea; k++)
			if (w->lea[k].lea == old) {
				held = 1;
				if (rt) {
					w->lea[k].lea = rt;
					w->lea[k].link[HO_HI2] = ho_link_get(rt->ho, 0, HO_HI2);
					w->lea[k].link[HO_HI3] = ho_link_get(rt->ho, 0, HO_HI3);
				}
			}
		if (held && !rt) { /* drop the slot: nothing to deliver to */
			size_t o = 0;
			for (size_t k = 0; k < w->nlea; k++)
				if (w->lea[k].lea != old)
					w->lea[o++] = w->lea[k];
			w->nlea = o;
		}
		if (held)
			pthread_mutex_unlock(&w->mu);
	}
	pthread_rwlock_unlock(&m->wl);
	if (rt && med_lea_publish(m, rt) != 0)
		lt_err("lea %s: out of memory", id);
	lt_info("lea %s modified by %s", id, who);
out:
	med_store_unlock(m->store);
	pthread_mutex_unlock(&m->prov_mu);
	return rc;
}

int med_prov_lea_remove(struct med_ctx *m, const char *who, const char *id, struct med_jerr *e)
{
	int rc = -1;
	pthread_mutex_lock(&m->prov_mu);
	med_store_lock(m->store);
	if (begin(m, e) != 0)
		goto out;
	int src = med_store_lea_delete(m->store, id);
	if (src != 0) {
		med_store_rollback(m->store);
		if (src == MED_SE_CONFLICT)
			perr(e, 409, NULL, "LEA %s is still used by a warrant that is not ended",
			     id);
		else
			store_err(src, e, "LEA");
		goto out;
	}
	if ((rc = audit_commit(m, who, "lea.remove", id, NULL, e)) != 0)
		goto out;
	/* Only ended warrants may still name it: unbind it from them, then stop it. */
	pthread_rwlock_rdlock(&m->wl);
	struct med_lea_rt *rt = med_live_lea_find(m, id);
	for (size_t i = 0; rt && i < m->nw; i++) {
		struct med_warrant *w = m->w[i];
		pthread_mutex_lock(&w->mu);
		size_t o = 0;
		for (size_t k = 0; k < w->nlea; k++)
			if (w->lea[k].lea != rt)
				w->lea[o++] = w->lea[k];
		w->nlea = o;
		pthread_mutex_unlock(&w->mu);
	}
	if (rt)
		med_lea_rt_retire(m, rt);
	pthread_rwlock_unlock(&m->wl);
	lt_info("lea %s removed by %s", id, who);
out:
	med_store_unlock(m->store);
	pthread_mutex_unlock(&m->prov_mu);
	return rc;
}

static int check_leas(struct med_ctx *m, const struct med_wdef *w, struct med_jerr *e)
{
	pthread_rwlock_rdlock(&m->wl);
	for (size_t i = 0; i < w->nleas; i++)
		if (!med_live_lea_find(m, w->leas[i])) {
			pthread_rwlock_unlock(&m->wl);
			return perr(e, 404, "leas", "no such LEA: \"%s\"", w->leas[i]);
		}
	pthread_rwlock_unlock(&m->wl);
	return 0;
}

static void object_of(const struct med_wdef *w, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", w->c.country, w->c.liid);
}

int med_prov_warrant_add(struct med_ctx *m, const char *who, struct med_wdef *w, struct med_jerr *e)
{
	int rc = -1;
	char obj[64];
	int64_t now;
	uint32_t ns;
	lt_wallclock(&now, &ns);
	object_of(w, obj, sizeof obj);
	if (med_wdef_check(w, e) != 0 || check_leas(m, w, e) != 0)
		return -1;
	if (w->c.end <= now)
		return perr(e, 400, "end", "end is in the past");
	snprintf(w->created_by, sizeof w->created_by, "%s", who);
	w->created_at = now;
	w->state = w->c.start > now ? MED_WS_PENDING : MED_WS_ACTIVE;
	pthread_mutex_lock(&m->prov_mu);
	med_store_lock(m->store);
	struct med_wdef old;
	int src = med_store_warrant_get(m->store, w->c.country, w->c.liid, &old);
	med_wdef_clear(&old);
	if (src == 0) {
		perr(e, 409, "liid",
		     "warrant %s exists (LIIDs are unique per authorization country)", obj);
		goto out;
	}
	char why[256];
	if (med_cin_reserve(m->cfg->state_dir, 1, &w->cin, why, sizeof why) != 0) {
		lt_err("%s", why);
		perr(e, 500, NULL, "cannot allocate a CIN (logged)");
		goto out;
	}
	if (begin(m, e) != 0)
		goto out;
	if ((src = med_store_warrant_insert(m->store, w)) != 0) {
		med_store_rollback(m->store);
		if (src == MED_SE_CONFLICT)
			perr(e, 409, "liid", "warrant %s exists", obj);
		else if (src == MED_SE_NOTFOUND)
			perr(e, 404, "leas", "no such LEA");
		else
			store_err(src, e, "warrant");
		goto out;
	}
	struct med_warrant *rt = med_warrant_rt_new(m, w, now);
	if (!rt) {
		med_store_rollback(m->store);
		perr(e, 500, NULL, "out of memory");
		goto out;
	}
	json_t *d = med_json_from_wdef(w);
	rc = audit_commit(m, who, "warrant.add", obj, d, e);
	json_decref(d);
	if (rc != 0) {
		med_wdef_clear(&rt->def);
		med_tgen_clear(&rt->cur);
		free(rt);
		goto out;
	}
	rt->state = MED_W_PENDING;
	pthread_rwlock_wrlock(&m->wl);
	med_bind_leas(m, rt);
	int prc = med_warrant_publish_locked(m, rt);
	pthread_rwlock_unlock(&m->wl);
	if (prc != 0) {
		lt_err("warrant %s: out of memory publishing it (stored; active after restart)",
		       obj);
	} else {
		pthread_mutex_lock(&rt->mu);
		med_warrant_activate_locked(m, rt, now, prov_scratch, sizeof prov_scratch);
		pthread_mutex_unlock(&rt->mu);
	}
	med_tasks_changed(m);
	lt_info("warrant %s added by %s (cin %" PRIu32 ")", obj, who, w->cin);
out:
	med_store_unlock(m->store);
	pthread_mutex_unlock(&m->prov_mu);
	return rc;
}

static int same_targets(const struct med_wdef *a, const struct med_wdef *b)
{
	return a->c.ntargets == b->c.ntargets &&
	       memcmp(a->c.targets, b->c.targets, a->c.ntargets * sizeof *a->c.targets) == 0;
}

static int same_leas(const struct med_wdef *a, const struct med_wdef *b)
{
	if (a->nleas != b->nleas)
		return 0;
	for (size_t i = 0; i < a->nleas; i++)
		if (strcmp(a->leas[i], b->leas[i]) != 0)
			return 0;
	return 1;
}

int med_prov_warrant_modify(struct med_ctx *m, const char *who, const char *cc, const char *liid,
                            const json_t *patch, struct med_wdef *out, struct med_jerr *e)
{
	int rc = -1;
	char obj[64], why[256];
	struct med_wdef old;
	int64_t now;
	uint32_t ns;
	lt_wallclock(&now, &ns);
	memset(&old, 0, sizeof old);
	memset(out, 0, sizeof *out);
	snprintf(obj, sizeof obj, "%s/%s", cc, liid);
	pthread_mutex_lock(&m->prov_mu);
	med_store_lock(m->store);
	int src = med_store_warrant_get(m->store, cc, liid, &old);
	if (src != 0) {
		store_err(src, e, "warrant");
		goto out;
	}
	if (old.state == MED_WS_ENDED) {
		perr(e, 409, NULL, "warrant %s has ended", obj);
		goto out;
	}
	if (med_wdef_copy(out, &old) != 0) {
		perr(e, 500, NULL, "out of memory");
		goto out;
	}
	if (med_json_warrant(patch, 1, out, e) != 0 || med_wdef_check(out, e) != 0 ||
	    check_leas(m, out, e) != 0)
		goto out;
	int tchange = !same_targets(&old, out), lchange = !same_leas(&old, out);
	int fchange = strcmp(old.filter, out->filter) != 0;
	int suspend = old.state != MED_WS_SUSPENDED && out->state == MED_WS_SUSPENDED;
	int resume = old.state == MED_WS_SUSPENDED && out->state == MED_WS_ACTIVE;
	if (out->state == MED_WS_ACTIVE && !resume)
		out->state = old.state; /* "active" on a pending warrant leaves it pending */
	if (resume)
		out->state = out->c.start > now ? MED_WS_PENDING : MED_WS_ACTIVE;
	if ((tchange || lchange || resume) &&
	    med_cin_reserve(m->cfg->state_dir, 1, &out->cin, why, sizeof why) != 0) {
		lt_err("%s", why);
		perr(e, 500, NULL, "cannot allocate a CIN (logged)");
		goto out;
	}
	struct med_tgen ng;
	memset(&ng, 0, sizeof ng);
	if ((tchange || fchange) && med_tgen_build(&ng, out) != 0) {
		perr(e, 500, NULL, "out of memory");
		goto out;
	}
	if (med_store_begin(m->store) != 0 ||
	    (src = med_store_warrant_update(m->store, out)) != 0) {
		med_store_rollback(m->store);
		med_tgen_clear(&ng);
		perr(e, src == MED_SE_NOTFOUND ? 404 : 500, NULL, "store failure (logged)");
		goto out;
	}
	json_t *d = med_json_from_wdef(out);
	rc = audit_commit(m, who, "warrant.modify", obj, d, e);
	json_decref(d);
	if (rc != 0) {
		med_tgen_clear(&ng);
		goto out;
	}
	struct med_warrant *w = med_warrant_rt_find(m, cc, liid);
	if (!w) {
		med_tgen_clear(&ng);
		lt_err("warrant %s: stored but not running", obj);
		goto out;
	}
	pthread_rwlock_rdlock(&m->wl);
	pthread_mutex_lock(&w->mu);
	int was_active = w->state == MED_W_ACTIVE;
	if ((suspend || tchange || lchange) && was_active)
		(void)med_emit_event_locked(m, w, 0, prov_scratch, sizeof prov_scratch);
	struct lt_target *nt = NULL;
	if (tchange) {
		nt = malloc(out->c.ntargets * sizeof *nt);
		if (nt) {
			memcpy(nt, out->c.targets, out->c.ntargets * sizeof *nt);
			free(w->def.c.targets);
			w->def.c.targets = nt;
			w->def.c.ntargets = out->c.ntargets;
		}
	}
	w->def.c.end = out->c.end;
	snprintf(w->def.filter, sizeof w->def.filter, "%s", out->filter);
	snprintf(w->def.c.target_name, sizeof w->def.c.target_name, "%s", out->c.target_name);
	if (tchange || fchange) {
		med_tgen_clear(&w->prev);
		w->prev = w->cur;
		w->cur = ng;
		w->since = now * 1000000000 + (int64_t)ns;
	}
	if (lchange) {
		memcpy(w->def.leas, out->leas, sizeof out->leas);
		w->def.nleas = out->nleas;
		med_bind_leas(m, w);
	}
	if (tchange || lchange || resume) {
		w->cin = out->cin;
		w->def.cin = out->cin;
		for (size_t k = 0; k < w->nlea; k++)
			w->lea[k].seq[0] = w->lea[k].seq[1] = 0;
	}
	if (suspend) {
		w->state = MED_W_SUSPENDED;
	} else if (resume) {
		w->state = MED_W_PENDING;
		med_warrant_activate_locked(m, w, now, prov_scratch, sizeof prov_scratch);
	} else if ((tchange || lchange) && was_active) {
		w->state = MED_W_PENDING; /* reopens with BEGIN on the new CIN */
		med_warrant_activate_locked(m, w, now, prov_scratch, sizeof prov_scratch);
	}
	w->def.state = med_ws_of(w->state);
	out->state = w->def.state;
	pthread_mutex_unlock(&w->mu);
	pthread_rwlock_unlock(&m->wl);
	med_tasks_changed(m);
	lt_info("warrant %s modified by %s%s%s%s%s%s", obj, who, tchange ? " (targets)" : "",
	        lchange ? " (leas)" : "", fchange ? " (filter)" : "", suspend ? " (suspended)" : "",
	        resume ? " (resumed)" : "");
	rc = 0;
out:
	med_store_unlock(m->store);
	pthread_mutex_unlock(&m->prov_mu);
	med_wdef_clear(&old);
	return rc;
}

int med_prov_warrant_end(struct med_ctx *m, const char *who, const char *cc, const char *liid,
                         struct med_wdef *out, struct med_jerr *e)
{
	int rc = -1;
	char obj[64];
	int64_t now;
	uint32_t ns;
	lt_wallclock(&now, &ns);
	snprintf(obj, sizeof obj, "%s/%s", cc, liid);
	pthread_mutex_lock(&m->prov_mu);
	med_store_lock(m->store);
	int src = med_store_warrant_get(m->store, cc, liid, out);
	if (src != 0) {
		store_err(src, e, "warrant");
		goto out;
	}
	if (out->state == MED_WS_ENDED) {
		perr(e, 409, NULL, "warrant %s has already ended", obj);
		goto out;
	}
	out->state = MED_WS_ENDED;
	if (out->c.end > now && now > out->c.start)
		out->c.end = now; /* a warrant ended before its start keeps its window */
	if (med_store_begin(m->store) != 0 ||
	    (src = med_store_warrant_update(m->store, out)) != 0) {
		med_store_rollback(m->store);
		perr(e, 500, NULL, "store failure (logged)");
		goto out;
	}
	json_t *d = med_json_from_wdef(out);
	rc = audit_commit(m, who, "warrant.end", obj, d, e);
	json_decref(d);
	if (rc != 0)
		goto out;
	struct med_warrant *w = med_warrant_rt_find(m, cc, liid);
	if (w) {
		pthread_mutex_lock(&w->mu);
		w->def.c.end = out->c.end;
		/* An active warrant takes no record intercepted from now on; the timer ends it
		 * (end event, task withdrawn) MED_END_GRACE_S later, once what was intercepted
		 * before now has arrived. */
		if (w->state != MED_W_ACTIVE) {
			w->state = MED_W_ENDED;
			w->def.state = MED_WS_ENDED;
		}
		pthread_mutex_unlock(&w->mu);
	}
	med_tasks_changed(m);
	lt_info("warrant %s ended by %s", obj, who);
out:
	med_store_unlock(m->store);
	pthread_mutex_unlock(&m->prov_mu);
	return rc;
}
