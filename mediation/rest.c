/* mediation/rest.c: the provisioning REST API (docs/rest-api.md) on libevent's evhttp over
 * OpenSSL bufferevents, in its own thread with its own event_base. Mutual TLS: the mediator's
 * server context requires a client certificate from its CA; each request then checks the admin
 * role (lt_tls_check_role) and takes the certificate subject as the audit's "who". */
#include "med_int.h"

#include "lib/log.h"
#include "lib/net.h"
#include "lib/timeutil.h"
#include "lib/tls.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>
#include <inttypes.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct med_rest {
	struct med_ctx *m;
	struct event_base *base;
	struct evhttp *http;
	struct event *tick;
	pthread_t thr;
	int fd, port;
	atomic_int stop;
};

/* ---- handshake refusals ----
 * evhttp runs the TLS handshake inside its bufferevent and drops a failed connection without a
 * word. Like the X2/X3 and tasking listeners, the REST server logs every refused client with its
 * address and the reason: a per-connection OpenSSL info callback sees the fatal alert the
 * mediator sends (no certificate, unknown CA, expired, wrong purpose, ...), one the client sends
 * (it does not trust the mediator), and the end of a handshake whose certificate verified but
 * does not hold the admin role (every request on such a connection is then refused with 403). One
 * line per connection: a flag in the SSL's ex_data. */
static int rest_logged_idx = -1;
static pthread_once_t rest_idx_once = PTHREAD_ONCE_INIT;

static void rest_idx_init(void)
{
	rest_logged_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static void rest_refused(SSL *ssl, const char *why)
{
	static int logged_mark;
	if (rest_logged_idx >= 0) {
		if (SSL_get_ex_data(ssl, rest_logged_idx))
			return;
		SSL_set_ex_data(ssl, rest_logged_idx, &logged_mark);
	}
	char addr[80];
	int fd = SSL_get_fd(ssl);
	if (fd >= 0)
		lt_peer_addr(fd, addr, sizeof addr);
	else
		snprintf(addr, sizeof addr, "?");
	lt_warn("rest: refused connection from %s: %s", addr, why);
}

/* The reason of a handshake the mediator aborted with a fatal alert. */
static void refusal_reason(SSL *ssl, int alert, char *why, size_t len)
{
	long vr = SSL_get_verify_result(ssl);
	unsigned long e = ERR_peek_last_error(); /* not consumed: libevent reads the queue */
	char es[200] = "";
	if (e)
		ERR_error_string_n(e, es, sizeof es);
	if (vr != X509_V_OK)
		snprintf(why, len, "TLS handshake failed: certificate verify failed: %s (alert %s)",
		         X509_verify_cert_error_string(vr), SSL_alert_desc_string_long(alert));
	else if ((alert & 0xff) == 116 /* certificate_required, unnamed by OpenSSL 3.0 */ ||
	         strstr(es, "peer did not return a certificate"))
		snprintf(why, len, "TLS handshake failed: peer presented no certificate");
	else
		snprintf(why, len, "TLS handshake failed: alert %s%s%s",
		         SSL_alert_desc_string_long(alert), es[0] ? ": " : "", es);
}

static void rest_info_cb(const SSL *cssl, int where, int ret)
{
	SSL *ssl = (SSL *)(uintptr_t)cssl; /* OpenSSL hands a const pointer to a mutable SSL */
	char why[400];
	if ((where & SSL_CB_ALERT) && SSL_in_init(ssl) && (ret >> 8) == SSL3_AL_FATAL) {
		if (where & SSL_CB_WRITE) {
			refusal_reason(ssl, ret, why, sizeof why);
		} else {
			snprintf(
			    why, sizeof why,
			    "TLS handshake failed: the client aborted it with alert %s (does it "
			    "trust the mediator's certificate?)",
			    SSL_alert_desc_string_long(ret));
		}
		rest_refused(ssl, why);
	} else if (where & SSL_CB_HANDSHAKE_DONE) {
		char role[256];
		if (lt_tls_check_role(ssl, LT_ROLE_ADMIN, role, sizeof role) != 0) {
			char subj[MED_WHO_MAX] = "";
			if (lt_tls_peer_subject(ssl, subj, sizeof subj) != 0)
				snprintf(subj, sizeof subj, "?");
			snprintf(why, sizeof why,
			         "client certificate \"%.120s\" is not an admin one: %.200s "
			         "(every request refused with 403)",
			         subj, role);
			rest_refused(ssl, why);
		}
	}
}

static struct bufferevent *bevcb(struct event_base *base, void *arg)
{
	struct med_rest *r = arg;
	SSL *ssl = SSL_new(r->m->srv_ctx);
	if (!ssl)
		return NULL;
	pthread_once(&rest_idx_once, rest_idx_init);
	SSL_set_info_callback(ssl, rest_info_cb);
	return bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
	                                      BEV_OPT_CLOSE_ON_FREE);
}

static void reply_json(struct evhttp_request *req, int code, json_t *j)
{
	struct evbuffer *b = evbuffer_new();
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (b && s) {
		evbuffer_add(b, s, strlen(s));
		evbuffer_add(b, "\n", 1);
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	                  "application/json");
	static const char *const reasons[][2] = {{"200", "OK"},
	                                         {"201", "Created"},
	                                         {"204", "No Content"},
	                                         {"400", "Bad Request"},
	                                         {"403", "Forbidden"},
	                                         {"404", "Not Found"},
	                                         {"405", "Method Not Allowed"},
	                                         {"409", "Conflict"},
	                                         {"413", "Payload Too Large"},
	                                         {"500", "Internal Server Error"}};
	const char *reason = "Error";
	char cs[8];
	snprintf(cs, sizeof cs, "%d", code);
	for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
		if (strcmp(reasons[i][0], cs) == 0)
			reason = reasons[i][1];
	evhttp_send_reply(req, code, reason, code == 204 ? NULL : b);
	free(s);
	if (b)
		evbuffer_free(b);
	json_decref(j);
}

static void reply_err(struct evhttp_request *req, const struct med_jerr *e)
{
	json_t *j = json_pack("{s:s}", "error", e->msg);
	if (j && e->field[0])
		json_object_set_new(j, "field", json_string(e->field));
	reply_json(req, e->status ? e->status : 500, j);
}

static void reply_msg(struct evhttp_request *req, int code, const char *msg)
{
	struct med_jerr e = {.status = code};
	snprintf(e.msg, sizeof e.msg, "%.200s", msg);
	reply_err(req, &e);
}

/* ---- views ---- */
static json_t *iaps_json(struct med_ctx *m)
{
	json_t *a = json_array();
	pthread_mutex_lock(&m->iap_mu);
	for (size_t i = 0; i < m->niaps; i++) {
		const struct med_iap_stat *s = &m->iaps[i];
		json_t *o =
		    json_pack("{s:s, s:b, s:s, s:I, s:I}", "id", s->id, "connected", s->connected,
		              "peer", s->peer, "task_version", (json_int_t)s->task_version,
		              "acked_version", (json_int_t)s->acked_version);
		json_object_set_new(o, "ack_latency_ms",
		                    s->ack_ms >= 0 ? json_real(s->ack_ms) : json_null());
		json_object_set_new(o, "x2x3_connected",
		                    s->x2x3_known ? json_boolean(s->x2x3_conns > 0) : json_null());
		json_object_set_new(
		    o, "in_sync",
		    json_boolean(s->connected && s->acked_version == s->task_version));
		json_array_append_new(a, o);
	}
	pthread_mutex_unlock(&m->iap_mu);
	/* IAPs known from earlier runs (the store) that have not connected in this one. */
	med_store_lock(m->store);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(med_store_db(m->store),
	                       "SELECT id, last_seen, acked_version FROM iaps ORDER BY id", -1, &st,
	                       NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *id = (const char *)sqlite3_column_text(st, 0);
			if (!id || strlen(id) > MED_IPID_MAX)
				continue;
			int seen = 0;
			size_t n = json_array_size(a);
			for (size_t i = 0; i < n && !seen; i++)
				seen = strcmp(json_string_value(
				                  json_object_get(json_array_get(a, i), "id")),
				              id) == 0;
			if (seen)
				continue;
			char ls[32];
			med_fmt_utc(sqlite3_column_int64(st, 1), ls, sizeof ls);
			json_array_append_new(
			    a, json_pack("{s:s, s:b, s:n, s:I, s:I, s:n, s:n, s:b, s:s}", "id", id,
			                 "connected", 0, "peer", "task_version", (json_int_t)0,
			                 "acked_version", (json_int_t)sqlite3_column_int64(st, 2),
			                 "ack_latency_ms", "x2x3_connected", "in_sync", 0,
			                 "last_seen", ls));
		}
	}
	sqlite3_finalize(st);
	med_store_unlock(m->store);
	return a;
}

/* Each handover of one LEA (handover.h, ho_get_stats). */
static void add_handovers(json_t *a, struct ho_ctx *ho)
{
	size_t n = ho_count(ho);
	for (size_t i = 0; i < n; i++) {
		struct ho_stats st;
		if (ho_get_stats(ho, i, &st) != 0)
			continue;
		json_array_append_new(
		    a, json_pack(
		           "{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:I, s:I, "
		           "s:s}",
		           "lea", st.lea, "hi", st.hi == 2 ? "hi2" : "hi3", "state",
		           st.up ? "up" : "down", "queued", (json_int_t)st.queued, "delivered",
		           (json_int_t)st.delivered, "confirmed", (json_int_t)st.confirmed,
		           "unconfirmed", (json_int_t)st.unconfirmed, "keepalives",
		           (json_int_t)st.keepalives, "reconnects", (json_int_t)st.reconnects,
		           "spool_bytes", (json_int_t)st.spool_bytes, "spool_max_bytes",
		           (json_int_t)st.spool_max_bytes, "spool_full", st.spool_full,
		           "pdu_ack_requests", (json_int_t)st.pdu_ack_requests, "pdu_ack_responses",
		           (json_int_t)st.pdu_ack_responses, "ack", st.ack ? st.ack : "keepalive"));
	}
}

static json_t *status_json(struct med_ctx *m)
{
	json_t *ho = json_array();
	size_t nleas = 0;
	int counts[4] = {0, 0, 0, 0};
	pthread_rwlock_rdlock(&m->wl);
	pthread_mutex_lock(&m->ho_mu);
	for (size_t i = 0; i < m->nleas; i++)
		if (!m->leas[i]->removed && m->leas[i]->ho) {
			add_handovers(ho, m->leas[i]->ho);
			nleas++;
		}
	pthread_mutex_unlock(&m->ho_mu);
	for (size_t i = 0; i < m->nw; i++) {
		pthread_mutex_lock(&m->w[i]->mu);
		int st = m->w[i]->state;
		pthread_mutex_unlock(&m->w[i]->mu);
		if (st >= 0 && st < 4)
			counts[st]++;
	}
	pthread_rwlock_unlock(&m->wl);
	pthread_mutex_lock(&m->task_mu);
	uint64_t tv = m->task_version;
	pthread_mutex_unlock(&m->task_mu);
	json_t *med = json_pack(
	    "{s:s, s:I, s:i, s:{s:i, s:i, s:i, s:i}, s:{s:I, s:I}, s:{s:I, s:I, s:I, s:I, s:I, "
	    "s:I}}",
	    "operator_id", m->cfg->operator_id, "task_version", (json_int_t)tv, "leas", (int)nleas,
	    "warrants", "pending", counts[MED_W_PENDING], "active", counts[MED_W_ACTIVE],
	    "suspended", counts[MED_W_SUSPENDED], "ended", counts[MED_W_ENDED], "records", "x2",
	    (json_int_t)atomic_load(&m->records_in[HO_HI2]), "x3",
	    (json_int_t)atomic_load(&m->records_in[HO_HI3]), "dropped", "unknown_xid",
	    (json_int_t)atomic_load(&m->drops[MED_DROP_UNKNOWN_XID]), "inactive",
	    (json_int_t)atomic_load(&m->drops[MED_DROP_INACTIVE]), "x3_iri_only",
	    (json_int_t)atomic_load(&m->drops[MED_DROP_X3_IRI_ONLY]), "unsupported",
	    (json_int_t)atomic_load(&m->drops[MED_DROP_UNSUPPORTED]), "encode",
	    (json_int_t)atomic_load(&m->drops[MED_DROP_ENCODE]), "queue",
	    (json_int_t)atomic_load(&m->drops[MED_DROP_QUEUE]));
	return json_pack("{s:o, s:o, s:o}", "mediator", med, "handovers", ho, "iaps", iaps_json(m));
}

static json_t *audit_json(struct med_ctx *m)
{
	json_t *a = json_array();
	med_store_lock(m->store);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(med_store_db(m->store),
	                       "SELECT seq, time, who, action, object, result, detail, prev, hash "
	                       "FROM audit ORDER BY seq",
	                       -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *c[9];
			for (int i = 1; i < 9; i++) {
				c[i] = (const char *)sqlite3_column_text(st, i);
				if (!c[i])
					c[i] = "";
			}
			json_t *d = json_loads(c[6], 0, NULL);
			json_array_append_new(
			    a, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s}", "seq",
			                 (json_int_t)sqlite3_column_int64(st, 0), "time", c[1],
			                 "who", c[2], "action", c[3], "object", c[4], "result",
			                 c[5], "detail", d ? d : json_string(c[6]), "prev", c[7],
			                 "hash", c[8]));
		}
	}
	sqlite3_finalize(st);
	med_store_unlock(m->store);
	return json_pack("{s:o}", "entries", a);
}

/* ---- routing ---- */
#define SEG_MAX 8
struct route {
	int nseg;
	char *seg[SEG_MAX]; /* percent-decoded */
};

static void route_free(struct route *rt)
{
	for (int i = 0; i < rt->nseg; i++)
		free(rt->seg[i]);
}

/* Splits "/api/v1/x/y" into decoded segments. -1 on a bad path. */
static int route_parse(const char *path, struct route *rt)
{
	memset(rt, 0, sizeof *rt);
	if (!path || path[0] != '/' || strlen(path) > 512)
		return -1;
	const char *p = path + 1;
	while (*p) {
		const char *sl = strchr(p, '/');
		size_t n = sl ? (size_t)(sl - p) : strlen(p);
		if (rt->nseg == SEG_MAX || n == 0)
			return -1;
		char raw[520];
		memcpy(raw, p, n);
		raw[n] = '\0';
		size_t dl = 0;
		char *d = evhttp_uridecode(raw, 0, &dl);
		if (!d || dl != strlen(d)) {
			free(d);
			return -1;
		}
		rt->seg[rt->nseg++] = d;
		p += n;
		if (*p == '/')
			p++;
	}
	return 0;
}

static int body_json(struct evhttp_request *req, json_t **out, struct med_jerr *e)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	if (len > MED_BODY_MAX) {
		e->status = 413;
		snprintf(e->msg, sizeof e->msg, "body larger than %d bytes", MED_BODY_MAX);
		e->field[0] = '\0';
		return -1;
	}
	const unsigned char *b = len ? evbuffer_pullup(in, (ev_ssize_t)len) : NULL;
	return med_json_parse_body(b, len, out, e);
}

static const char *method_name(enum evhttp_cmd_type t)
{
	switch (t) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	default:
		return "other";
	}
}

static void leas_route(struct med_rest *r, struct evhttp_request *req, struct route *rt,
                       const char *who)
{
	struct med_ctx *m = r->m;
	enum evhttp_cmd_type meth = evhttp_request_get_command(req);
	struct med_jerr e;
	memset(&e, 0, sizeof e);
	json_t *body = NULL;
	if (rt->nseg == 3) {
		if (meth == EVHTTP_REQ_GET) {
			struct med_lea *l = NULL;
			size_t n = 0;
			med_store_lock(m->store);
			int rc = med_store_lea_list(m->store, &l, &n);
			med_store_unlock(m->store);
			if (rc != 0)
				return reply_msg(req, 500, "store failure (logged)");
			json_t *a = json_array();
			for (size_t i = 0; i < n; i++)
				json_array_append_new(a, med_json_from_lea(&l[i]));
			free(l);
			return reply_json(req, 200, json_pack("{s:o}", "leas", a));
		}
		if (meth == EVHTTP_REQ_POST) {
			struct med_lea l;
			memset(&l, 0, sizeof l);
			if (body_json(req, &body, &e) != 0 || med_json_lea(body, 0, &l, &e) != 0 ||
			    med_prov_lea_add(m, who, &l, &e) != 0) {
				json_t *id = body ? json_object_get(body, "id") : NULL;
				char obj[48] = "-";
				if (json_is_string(id))
					snprintf(obj, sizeof obj, "%.40s", json_string_value(id));
				med_prov_refused(m, who, "lea.add", obj, &e);
				json_decref(body);
				return reply_err(req, &e);
			}
			json_decref(body);
			return reply_json(req, 201, med_json_from_lea(&l));
		}
		return reply_msg(req, 405, "method not allowed on /api/v1/leas");
	}
	const char *id = rt->seg[3];
	if (meth == EVHTTP_REQ_GET) {
		struct med_lea l;
		med_store_lock(m->store);
		int rc = med_store_lea_get(m->store, id, &l);
		med_store_unlock(m->store);
		if (rc == MED_SE_NOTFOUND)
			return reply_msg(req, 404, "no such LEA");
		if (rc != 0)
			return reply_msg(req, 500, "store failure (logged)");
		return reply_json(req, 200, med_json_from_lea(&l));
	}
	if (meth == EVHTTP_REQ_PATCH) {
		struct med_lea l;
		if (body_json(req, &body, &e) != 0 ||
		    med_prov_lea_modify(m, who, id, body, &l, &e) != 0) {
			med_prov_refused(m, who, "lea.modify", id, &e);
			json_decref(body);
			return reply_err(req, &e);
		}
		json_decref(body);
		return reply_json(req, 200, med_json_from_lea(&l));
	}
	if (meth == EVHTTP_REQ_DELETE) {
		if (med_prov_lea_remove(m, who, id, &e) != 0) {
			med_prov_refused(m, who, "lea.remove", id, &e);
			return reply_err(req, &e);
		}
		return reply_json(req, 204, NULL);
	}
	reply_msg(req, 405, "method not allowed on an LEA");
}

static void warrants_route(struct med_rest *r, struct evhttp_request *req, struct route *rt,
                           const char *who, const char *query)
{
	struct med_ctx *m = r->m;
	enum evhttp_cmd_type meth = evhttp_request_get_command(req);
	struct med_jerr e;
	memset(&e, 0, sizeof e);
	json_t *body = NULL;
	if (rt->nseg == 3) {
		if (meth == EVHTTP_REQ_GET) {
			int want = -1;
			if (query) {
				struct evkeyvalq q;
				TAILQ_INIT(&q);
				if (evhttp_parse_query_str(query, &q) == 0) {
					const char *st = evhttp_find_header(&q, "state");
					if (st && (want = med_ws_parse(st)) < 0) {
						evhttp_clear_headers(&q);
						return reply_msg(req, 400,
						                 "state must be pending, active, "
						                 "suspended or ended");
					}
				}
				evhttp_clear_headers(&q);
			}
			struct med_wdef *w = NULL;
			size_t n = 0;
			med_store_lock(m->store);
			int rc = med_store_warrant_list(m->store, &w, &n);
			med_store_unlock(m->store);
			if (rc != 0)
				return reply_msg(req, 500, "store failure (logged)");
			json_t *a = json_array();
			for (size_t i = 0; i < n; i++)
				if (want < 0 || w[i].state == want)
					json_array_append_new(a, med_json_from_wdef(&w[i]));
			med_store_warrant_list_free(w, n);
			return reply_json(req, 200, json_pack("{s:o}", "warrants", a));
		}
		if (meth == EVHTTP_REQ_POST) {
			struct med_wdef w;
			char obj[64] = "-";
			memset(&w, 0, sizeof w);
			if (body_json(req, &body, &e) != 0 ||
			    med_json_warrant(body, 0, &w, &e) != 0 ||
			    med_prov_warrant_add(m, who, &w, &e) != 0) {
				/* The object as the request named it (bounded, for the audit). */
				json_t *c = body ? json_object_get(body, "country") : NULL;
				json_t *l = body ? json_object_get(body, "liid") : NULL;
				if (json_is_string(c) || json_is_string(l))
					snprintf(obj, sizeof obj, "%.8s/%.40s",
					         json_is_string(c) ? json_string_value(c) : "?",
					         json_is_string(l) ? json_string_value(l) : "?");
				med_prov_refused(m, who, "warrant.add", obj, &e);
				json_decref(body);
				med_wdef_clear(&w);
				return reply_err(req, &e);
			}
			json_decref(body);
			json_t *j = med_json_from_wdef(&w);
			med_wdef_clear(&w);
			return reply_json(req, 201, j);
		}
		return reply_msg(req, 405, "method not allowed on /api/v1/warrants");
	}
	if (rt->nseg != 5 && !(rt->nseg == 6 && strcmp(rt->seg[5], "end") == 0))
		return reply_msg(req, 404, "no such resource");
	const char *cc = rt->seg[3], *liid = rt->seg[4];
	char obj[64];
	snprintf(obj, sizeof obj, "%.3s/%.40s", cc, liid);
	struct med_wdef w;
	memset(&w, 0, sizeof w);
	if (rt->nseg == 6) {
		if (meth != EVHTTP_REQ_POST)
			return reply_msg(req, 405, "use POST to end a warrant");
		if (med_prov_warrant_end(m, who, cc, liid, &w, &e) != 0) {
			med_prov_refused(m, who, "warrant.end", obj, &e);
			med_wdef_clear(&w);
			return reply_err(req, &e);
		}
	} else if (meth == EVHTTP_REQ_GET) {
		med_store_lock(m->store);
		int rc = med_store_warrant_get(m->store, cc, liid, &w);
		med_store_unlock(m->store);
		if (rc == MED_SE_NOTFOUND)
			return reply_msg(req, 404, "no such warrant");
		if (rc != 0)
			return reply_msg(req, 500, "store failure (logged)");
	} else if (meth == EVHTTP_REQ_PATCH) {
		if (body_json(req, &body, &e) != 0 ||
		    med_prov_warrant_modify(m, who, cc, liid, body, &w, &e) != 0) {
			med_prov_refused(m, who, "warrant.modify", obj, &e);
			json_decref(body);
			med_wdef_clear(&w);
			return reply_err(req, &e);
		}
		json_decref(body);
	} else {
		return reply_msg(req, 405, "method not allowed on a warrant");
	}
	json_t *j = med_json_from_wdef(&w);
	med_wdef_clear(&w);
	reply_json(req, 200, j);
}

static void handle(struct evhttp_request *req, void *arg)
{
	struct med_rest *r = arg;
	struct med_ctx *m = r->m;
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
	char why[256], who[MED_WHO_MAX] = "";
	char *peer = NULL;
	ev_uint16_t pport = 0;
	if (conn)
		evhttp_connection_get_peer(conn, &peer, &pport);
	if (lt_tls_check_role(ssl, LT_ROLE_ADMIN, why, sizeof why) != 0) {
		lt_warn("rest: request from %s:%u refused: %s", peer ? peer : "?", pport, why);
		char msg[200];
		snprintf(msg, sizeof msg, "client certificate refused: %.150s", why);
		return reply_msg(req, 403, msg);
	}
	if (lt_tls_peer_subject(ssl, who, sizeof who) != 0)
		snprintf(who, sizeof who, "?");
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	struct route rt;
	if (route_parse(path, &rt) != 0) {
		route_free(&rt);
		return reply_msg(req, 404, "no such resource");
	}
	enum evhttp_cmd_type meth = evhttp_request_get_command(req);
	lt_debug("rest: %s %s by %s", method_name(meth), path, who);
	if (rt.nseg < 3 || strcmp(rt.seg[0], "api") != 0 || strcmp(rt.seg[1], "v1") != 0) {
		reply_msg(req, 404, "no such resource");
	} else if (strcmp(rt.seg[2], "leas") == 0 && rt.nseg <= 4) {
		leas_route(r, req, &rt, who);
	} else if (strcmp(rt.seg[2], "warrants") == 0) {
		warrants_route(r, req, &rt, who, query);
	} else if (meth != EVHTTP_REQ_GET) {
		reply_msg(req, 405, "method not allowed");
	} else if (strcmp(rt.seg[2], "iaps") == 0 && rt.nseg == 3) {
		reply_json(req, 200, json_pack("{s:o}", "iaps", iaps_json(m)));
	} else if (strcmp(rt.seg[2], "status") == 0 && rt.nseg == 3) {
		reply_json(req, 200, status_json(m));
	} else if (strcmp(rt.seg[2], "audit") == 0 && rt.nseg == 3) {
		reply_json(req, 200, audit_json(m));
	} else if (strcmp(rt.seg[2], "audit") == 0 && rt.nseg == 4 &&
	           strcmp(rt.seg[3], "verify") == 0) {
		struct med_audit_report rep;
		med_store_lock(m->store);
		int rc = med_audit_verify_db(med_store_db(m->store), m->audit_head, &rep);
		med_store_unlock(m->store);
		if (rc != 0)
			reply_msg(req, 500, rep.error);
		else if (rep.ok)
			reply_json(
			    req, 200,
			    json_pack("{s:b, s:I}", "ok", 1, "entries", (json_int_t)rep.entries));
		else
			reply_json(req, 200,
			           json_pack("{s:b, s:I, s:I, s:s}", "ok", 0, "entries",
			                     (json_int_t)rep.entries, "entry",
			                     (json_int_t)rep.bad_seq, "error", rep.error));
	} else {
		reply_msg(req, 404, "no such resource");
	}
	route_free(&rt);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct med_rest *r = arg;
	if (atomic_load(&r->stop))
		event_base_loopbreak(r->base);
}

static void *rest_main(void *arg)
{
	struct med_rest *r = arg;
	event_base_dispatch(r->base);
	return NULL;
}

struct med_rest *med_rest_start(struct med_ctx *m, const char *listen, char *err, size_t errlen)
{
	struct med_rest *r = calloc(1, sizeof *r);
	char why[256];
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->m = m;
	r->fd = lt_tcp_listen(listen, why, sizeof why);
	if (r->fd < 0) {
		snprintf(err, errlen, "mediator.rest_listen %s: %s", listen, why);
		free(r);
		return NULL;
	}
	r->port = lt_tcp_local_port(r->fd);
	evutil_make_socket_nonblocking(r->fd);
	r->base = event_base_new();
	r->http = r->base ? evhttp_new(r->base) : NULL;
	struct timeval tv = {0, 100 * 1000};
	r->tick = r->base ? event_new(r->base, -1, EV_PERSIST, on_tick, r) : NULL;
	if (!r->http || !r->tick || event_add(r->tick, &tv) != 0 ||
	    !evhttp_accept_socket_with_handle(r->http, r->fd)) {
		snprintf(err, errlen, "rest: cannot set up the HTTP server");
		goto fail;
	}
	r->fd = -1; /* the bound socket belongs to evhttp now */
	evhttp_set_bevcb(r->http, bevcb, r);
	evhttp_set_gencb(r->http, handle, r);
	evhttp_set_max_body_size(r->http, MED_BODY_MAX);
	evhttp_set_max_headers_size(r->http, 64 * 1024);
	evhttp_set_timeout(r->http, 30);
	evhttp_set_allowed_methods(r->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PATCH |
	                                        EVHTTP_REQ_DELETE);
	if (pthread_create(&r->thr, NULL, rest_main, r) != 0) {
		snprintf(err, errlen, "rest: cannot start the thread");
		goto fail;
	}
	lt_info("listening for rest on %s (port %d)", listen, r->port);
	return r;
fail:
	if (r->fd >= 0)
		close(r->fd);
	if (r->tick)
		event_free(r->tick);
	if (r->http)
		evhttp_free(r->http);
	if (r->base)
		event_base_free(r->base);
	free(r);
	return NULL;
}

int med_rest_port(const struct med_rest *r)
{
	return r ? r->port : -1;
}

void med_rest_stop(struct med_rest *r)
{
	if (!r)
		return;
	atomic_store(&r->stop, 1);
	pthread_join(r->thr, NULL);
	event_free(r->tick);
	evhttp_free(r->http);
	event_base_free(r->base);
	free(r);
}
