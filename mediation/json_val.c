/* mediation/json_val.c: REST request bodies (untrusted) -> LEA / warrant structs, and back.
 * Every member is type- and range-checked; unknown members are refused; each refusal names the
 * member (docs/rest-api.md, "Errors"). Nothing here touches the store. */
#include "store.h"

#include "lib/net.h"
#include "lib/timeutil.h"
#include "lib/x2x3.h"

#include <jansson.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const ws_names[] = {"pending", "active", "suspended", "ended"};

const char *med_ws_name(int s)
{
	return s >= 0 && s <= MED_WS_ENDED ? ws_names[s] : "unknown";
}

int med_ws_parse(const char *s)
{
	for (int i = 0; i <= MED_WS_ENDED; i++)
		if (s && strcmp(s, ws_names[i]) == 0)
			return i;
	return -1;
}

void med_wdef_clear(struct med_wdef *w)
{
	if (!w)
		return;
	free(w->c.targets);
	memset(w, 0, sizeof *w);
}

int med_wdef_copy(struct med_wdef *dst, const struct med_wdef *src)
{
	*dst = *src;
	dst->c.targets = NULL;
	if (src->c.ntargets) {
		dst->c.targets = malloc(src->c.ntargets * sizeof *src->c.targets);
		if (!dst->c.targets) {
			dst->c.ntargets = 0;
			return -1;
		}
		memcpy(dst->c.targets, src->c.targets, src->c.ntargets * sizeof *src->c.targets);
	}
	return 0;
}

__attribute__((format(printf, 4, 5))) static int jerr(struct med_jerr *e, int status,
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

void med_fmt_utc(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "?");
}

int med_json_parse_body(const void *buf, size_t len, json_t **out, struct med_jerr *e)
{
	json_error_t je;
	*out = NULL;
	if (len > MED_BODY_MAX)
		return jerr(e, 413, NULL, "body larger than %d bytes", MED_BODY_MAX);
	if (len == 0)
		return jerr(e, 400, NULL, "empty body: a JSON object is expected");
	json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return jerr(e, 400, NULL, "malformed JSON at line %d column %d: %s", je.line,
		            je.column, je.text);
	if (!json_is_object(j)) {
		json_decref(j);
		return jerr(e, 400, NULL, "a JSON object is expected");
	}
	*out = j;
	return 0;
}

static int check_keys(const json_t *j, const char *const *allowed, struct med_jerr *e)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)j, k, v)
	{
		int ok = 0;
		for (size_t i = 0; allowed[i]; i++)
			ok |= strcmp(k, allowed[i]) == 0;
		if (!ok)
			return jerr(e, 400, k, "unknown member \"%.40s\"", k);
	}
	return 0;
}

/* A string member: 1 absent, 0 present (in *out), -1 wrong type. null counts as absent when
 * nullable (and *out = NULL). */
static int get_str(const json_t *j, const char *key, int nullable, const char **out,
                   struct med_jerr *e)
{
	json_t *v = json_object_get(j, key);
	if (!v)
		return 1;
	if (nullable && json_is_null(v)) {
		*out = NULL;
		return 0;
	}
	if (!json_is_string(v))
		return jerr(e, 400, key, "%s must be a string", key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return jerr(e, 400, key, "%s contains a NUL character", key);
	*out = json_string_value(v);
	return 0;
}

static int check_country(const char *s, const char *field, char out[3], struct med_jerr *e)
{
	if (!med_valid_country(s))
		return jerr(e, 400, field,
		            "%s must be an ISO 3166 alpha-2 code (two uppercase letters), got "
		            "\"%.20s\"",
		            field, s);
	memcpy(out, s, 3);
	return 0;
}

static int check_lea_id(const char *s, const char *field, char *out, struct med_jerr *e)
{
	if (!med_valid_lea_id(s))
		return jerr(e, 400, field, "%s must be 1..%d characters of A-Z a-z 0-9 . _ -",
		            field, HO_LEA_ID_MAX);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int check_hostport(const char *s, const char *field, char *out, struct med_jerr *e)
{
	if (!med_valid_hostport(s, 0))
		return jerr(e, 400, field, "%s must be host:port, got \"%.60s\"", field, s);
	snprintf(out, HO_ADDR_MAX, "%s", s);
	return 0;
}

static int get_int(const json_t *j, const char *key, int64_t min, int64_t max, int *out,
                   struct med_jerr *e)
{
	json_t *v = json_object_get(j, key);
	if (!v)
		return 1;
	if (!json_is_integer(v))
		return jerr(e, 400, key, "%s must be an integer", key);
	json_int_t x = json_integer_value(v);
	if (x < min || x > max)
		return jerr(e, 400, key, "%s must be %lld..%lld, got %lld", key, (long long)min,
		            (long long)max, (long long)x);
	*out = (int)x;
	return 0;
}

static const char *const lea_keys[] = {"id",
                                       "country",
                                       "hi2",
                                       "hi3",
                                       "timestamp",
                                       "keepalive_idle",
                                       "keepalive_timeout",
                                       "keepalive_liid",
                                       "reconnect_max",
                                       "operator_id",
                                       "tls",
                                       "ack_mode",
                                       "resend_window",
                                       "pdu_ack_strict",
                                       NULL};
static const char *const tls_keys[] = {"ca", "pin_sha256", NULL};

int med_json_lea(const json_t *j, int patch, struct med_lea *out, struct med_jerr *e)
{
	const char *s;
	int rc;
	if (check_keys(j, lea_keys, e) != 0)
		return -1;
	if (!patch) {
		memset(out, 0, sizeof *out);
		med_lea_defaults(&out->ho);
	}
	rc = get_str(j, "id", 0, &s, e);
	if (rc < 0)
		return -1;
	if (rc == 1 && !patch)
		return jerr(e, 400, "id", "id is required");
	if (rc == 0) {
		char id[HO_LEA_ID_MAX + 1];
		if (check_lea_id(s, "id", id, e) != 0)
			return -1;
		if (patch && strcmp(id, out->ho.id) != 0)
			return jerr(e, 400, "id", "id cannot be changed");
		memcpy(out->ho.id, id, sizeof id);
	}
	static const char *const req[] = {"country", "hi2", "hi3"};
	for (int i = 0; i < 3; i++) {
		rc = get_str(j, req[i], 0, &s, e);
		if (rc < 0)
			return -1;
		if (rc == 1) {
			if (!patch)
				return jerr(e, 400, req[i], "%s is required", req[i]);
			continue;
		}
		if (i == 0 ? check_country(s, "country", out->ho.country, e)
		           : check_hostport(s, req[i], out->ho.addr[i == 1 ? HO_HI2 : HO_HI3], e))
			return -1;
	}
	rc = get_str(j, "timestamp", 0, &s, e);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		int tsf = med_parse_ts_form(s);
		if (tsf < 0)
			return jerr(e, 400, "timestamp",
			            "timestamp must be microseconds, generalized or both");
		out->ho.ts_form = tsf;
	}
	for (const struct med_lea_int *li = med_lea_ints; li->key; li++)
		if (get_int(j, li->key, li->min, li->max,
		            (int *)(void *)((char *)&out->ho + li->off), e) < 0)
			return -1;
	rc = get_str(j, "ack_mode", 0, &s, e);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		int am = med_parse_ack_mode(s);
		if (am < 0)
			return jerr(e, 400, "ack_mode",
			            "ack_mode must be keepalive, window or pdu-ack, got \"%.40s\"",
			            s);
		out->ho.ack_mode = am;
	}
	rc = get_str(j, "keepalive_liid", 0, &s, e);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		if (med_check_ident(s, HO_LIID_MAX) != 0)
			return jerr(e, 400, "keepalive_liid",
			            "keepalive_liid must be 1..%d visible ASCII octets",
			            HO_LIID_MAX);
		out->ho.ka_liid_len = strlen(s);
		memcpy(out->ho.ka_liid, s, out->ho.ka_liid_len);
	}
	rc = get_str(j, "operator_id", 1, &s, e);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		if (!s) {
			out->operator_id[0] = '\0';
		} else {
			if (med_check_ident(s, HO_OPID_MAX) != 0)
				return jerr(e, 400, "operator_id",
				            "operator_id must be 1..%d visible ASCII octets",
				            HO_OPID_MAX);
			memcpy(out->operator_id, s, strlen(s) + 1);
		}
	}
	json_t *tls = json_object_get(j, "tls");
	if (tls && !json_is_null(tls)) {
		if (!json_is_object(tls))
			return jerr(e, 400, "tls", "tls must be an object");
		if (check_keys(tls, tls_keys, e) != 0)
			return -1;
		rc = get_str(tls, "ca", 1, &s, e);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			if (s && (!*s || strlen(s) >= sizeof out->tls_ca || !med_str_text(s)))
				return jerr(e, 400, "tls.ca",
				            "tls.ca must be a file path (printable, < %d octets)",
				            MED_PATH_MAX);
			snprintf(out->tls_ca, sizeof out->tls_ca, "%s", s ? s : "");
		}
		rc = get_str(tls, "pin_sha256", 1, &s, e);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			if (s && !med_valid_pin_hex(s))
				return jerr(e, 400, "tls.pin_sha256",
				            "tls.pin_sha256 must be 64 hex digits (SHA-256)");
			snprintf(out->pin, sizeof out->pin, "%s", s ? s : "");
		}
	} else if (tls && !patch) {
		out->tls_ca[0] = out->pin[0] = '\0';
	}
	return 0;
}

static const char *const w_keys[] = {
    "liid",       "country", "delivery_country", "leas",  "target_name", "targets", "mode",
    "start",      "end",     "filter",           "state", "xid",         "cin",     "created_by",
    "created_at", NULL};

static int get_time(const json_t *j, const char *key, int64_t open, int64_t *out,
                    struct med_jerr *e)
{
	const char *s;
	int rc = get_str(j, key, 1, &s, e);
	if (rc != 0)
		return rc;
	if (!s) {
		*out = open;
		return 0;
	}
	if (med_parse_time(s, out) != 0)
		return jerr(e, 400, key,
		            "%s must be a UTC time like 2026-11-27T06:00:00Z, got "
		            "\"%.40s\"",
		            key, s);
	return 0;
}

static int get_targets(const json_t *j, struct med_wdef *w, struct med_jerr *e)
{
	json_t *a = json_object_get(j, "targets");
	if (!json_is_array(a))
		return jerr(e, 400, "targets", "targets must be a list of addresses or prefixes");
	size_t n = json_array_size(a);
	if (n == 0)
		return jerr(e, 400, "targets", "targets is empty: at least one target is required");
	if (n > LT_TASK_MAX_TARGETS_PER_TASK)
		return jerr(e, 400, "targets", "targets must hold 1..%d addresses or prefixes",
		            LT_TASK_MAX_TARGETS_PER_TASK);
	struct lt_target *t = calloc(n, sizeof *t);
	if (!t)
		return jerr(e, 500, "targets", "out of memory");
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(a, i);
		char why[160];
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
			free(t);
			return jerr(e, 400, "targets", "targets[%zu] must be a string", i);
		}
		if (lt_target_parse(json_string_value(v), &t[i], why, sizeof why) != 0) {
			free(t);
			return jerr(e, 400, "targets", "targets[%zu]: %s", i, why);
		}
	}
	free(w->c.targets);
	w->c.targets = t;
	w->c.ntargets = n;
	return 0;
}

static int get_leas(const json_t *j, struct med_wdef *w, struct med_jerr *e)
{
	json_t *a = json_object_get(j, "leas");
	if (!json_is_array(a))
		return jerr(e, 400, "leas", "leas must be a list of LEA ids");
	size_t n = json_array_size(a);
	if (n < 1 || n > MED_WLEAS_MAX)
		return jerr(e, 400, "leas", "leas must name 1..%d LEAs", MED_WLEAS_MAX);
	char ids[MED_WLEAS_MAX][HO_LEA_ID_MAX + 1];
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(a, i);
		if (!json_is_string(v))
			return jerr(e, 400, "leas", "leas[%zu] must be a string", i);
		if (check_lea_id(json_string_value(v), "leas", ids[i], e) != 0)
			return -1;
		for (size_t k = 0; k < i; k++)
			if (strcmp(ids[k], ids[i]) == 0)
				return jerr(e, 400, "leas", "LEA \"%s\" named twice", ids[i]);
	}
	memcpy(w->leas, ids, sizeof ids);
	w->nleas = n;
	return 0;
}

int med_json_warrant(const json_t *j, int patch, struct med_wdef *w, struct med_jerr *e)
{
	const char *s;
	int rc;
	if (check_keys(j, w_keys, e) != 0)
		return -1;
	static const char *const set_by_mediator[] = {"xid", "cin", "created_by", "created_at"};
	for (int i = 0; i < 4; i++)
		if (json_object_get(j, set_by_mediator[i]))
			return jerr(e, 400, set_by_mediator[i], "%s is set by the mediator",
			            set_by_mediator[i]);
	if (!patch) {
		memset(w, 0, sizeof *w);
		w->c.start = INT64_MIN;
		w->c.end = INT64_MAX;
		snprintf(w->c.target_name, sizeof w->c.target_name, "unknownuser");
		if (json_object_get(j, "state"))
			return jerr(e, 400, "state", "state is set by the mediator");
	}
	/* Identity: fixed once created. */
	static const char *const ident[] = {"liid", "country", "delivery_country", "mode"};
	for (int i = 0; i < 4; i++) {
		rc = get_str(j, ident[i], 0, &s, e);
		if (rc < 0)
			return -1;
		if (rc == 0 && patch)
			return jerr(e, 400, ident[i], "%s cannot be changed", ident[i]);
		if (rc == 1) {
			if (patch || i == 2)
				continue; /* delivery_country defaults to country */
			return jerr(e, 400, ident[i], "%s is required", ident[i]);
		}
		if (i == 0) {
			size_t n = strlen(s);
			int bad = med_check_ident(s, MED_LIID_MAX);
			if (bad == MED_IDENT_LENGTH)
				return jerr(e, 400, "liid", "liid must be 1..%d octets, got %zu",
				            MED_LIID_MAX, n);
			if (bad == MED_IDENT_CHARS)
				return jerr(e, 400, "liid",
				            "liid must be visible ASCII characters (no spaces or "
				            "control characters)");
			memcpy(w->c.liid, s, n + 1);
			w->c.liid_len = n;
		} else if (i == 1) {
			if (check_country(s, "country", w->c.country, e) != 0)
				return -1;
		} else if (i == 2) {
			if (check_country(s, "delivery_country", w->deliv_country, e) != 0)
				return -1;
		} else {
			if ((w->c.mode = med_parse_mode(s)) < 0)
				return jerr(e, 400, "mode",
				            "mode must be full or iri-only, got "
				            "\"%.40s\"",
				            s);
		}
	}
	if (!patch && !w->deliv_country[0])
		memcpy(w->deliv_country, w->c.country, 3);
	if (json_object_get(j, "leas")) {
		if (get_leas(j, w, e) != 0)
			return -1;
	} else if (!patch) {
		return jerr(e, 400, "leas", "leas is required");
	}
	if (json_object_get(j, "targets")) {
		if (get_targets(j, w, e) != 0)
			return -1;
	} else if (!patch) {
		return jerr(e, 400, "targets", "targets is required (at least one)");
	}
	rc = get_str(j, "target_name", 0, &s, e);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		if (!med_valid_target_name(s))
			return jerr(e, 400, "target_name",
			            "target_name must be 1..%d printable characters",
			            MED_TARGET_NAME_MAX);
		snprintf(w->c.target_name, sizeof w->c.target_name, "%s", s);
	}
	if (patch && json_object_get(j, "start"))
		return jerr(e, 400, "start", "start cannot be changed");
	if (get_time(j, "start", INT64_MIN, &w->c.start, e) < 0 ||
	    get_time(j, "end", INT64_MAX, &w->c.end, e) < 0)
		return -1;
	rc = get_str(j, "filter", 1, &s, e);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		if (s && (strlen(s) > MED_FILTER_MAX || !med_str_text(s)))
			return jerr(e, 400, "filter",
			            "filter must be at most %d printable characters",
			            MED_FILTER_MAX);
		snprintf(w->filter, sizeof w->filter, "%s", s ? s : "");
	}
	rc = get_str(j, "state", 0, &s, e);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		int st = med_ws_parse(s);
		if (st != MED_WS_ACTIVE && st != MED_WS_SUSPENDED)
			return jerr(e, 400, "state",
			            "state may only be set to suspended or active (end a warrant "
			            "with POST .../end)");
		w->state = st;
	}
	return 0;
}

int med_wdef_check(const struct med_wdef *w, struct med_jerr *e)
{
	if (w->c.ntargets < 1)
		return jerr(e, 400, "targets", "at least one target is required");
	char why[160];
	if (med_targets_check(w->c.targets, w->c.ntargets, why, sizeof why) != 0)
		return jerr(e, 400, "targets", "%s", why);
	if (w->c.end <= w->c.start)
		return jerr(e, 400, "end", "end must be after start");
	if (w->nleas < 1)
		return jerr(e, 400, "leas", "at least one LEA is required");
	if (w->filter[0]) {
		pcap_t *p = pcap_open_dead(DLT_RAW, 65535);
		struct bpf_program prog;
		if (!p)
			return jerr(e, 500, "filter", "cannot check the filter (libpcap)");
		if (pcap_compile(p, &prog, w->filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
			jerr(e, 400, "filter", "filter does not compile: %s", pcap_geterr(p));
			pcap_close(p);
			return -1;
		}
		pcap_freecode(&prog);
		pcap_close(p);
	}
	return 0;
}

json_t *med_json_from_lea(const struct med_lea *l)
{
	static const char *const ts[] = {"microseconds", "generalized", "both"};
	char liid[HO_LIID_MAX + 1];
	memcpy(liid, l->ho.ka_liid, l->ho.ka_liid_len);
	liid[l->ho.ka_liid_len] = '\0';
	int tsf = l->ho.ts_form;
	const char *tsn = tsf == MED_TS_GENERALIZED ? ts[1] : tsf == MED_TS_BOTH ? ts[2] : ts[0];
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:s, s:s?, s:{s:s?, s:s?}, s:s, "
	                 "s:i, s:i}",
	                 "id", l->ho.id, "country", l->ho.country, "hi2", l->ho.addr[HO_HI2], "hi3",
	                 l->ho.addr[HO_HI3], "timestamp", tsn, "keepalive_idle",
	                 l->ho.keepalive_idle, "keepalive_timeout", l->ho.keepalive_timeout,
	                 "reconnect_max", l->ho.reconnect_max, "keepalive_liid", liid,
	                 "operator_id", l->operator_id[0] ? l->operator_id : NULL, "tls", "ca",
	                 l->tls_ca[0] ? l->tls_ca : NULL, "pin_sha256", l->pin[0] ? l->pin : NULL,
	                 "ack_mode", med_ack_mode_name(l->ho.ack_mode), "resend_window",
	                 l->ho.resend_window, "pdu_ack_strict", l->ho.pdu_ack_strict);
}

json_t *med_json_from_wdef(const struct med_wdef *w)
{
	char st[32], en[32], ca[32], xs[37];
	uint8_t xid[16];
	med_fmt_utc(w->c.start, st, sizeof st);
	med_fmt_utc(w->c.end, en, sizeof en);
	med_fmt_utc(w->created_at, ca, sizeof ca);
	med_xid_for(w->c.country, w->c.liid, w->c.liid_len, xid);
	lt_uuid_format(xid, xs);
	json_t *leas = json_array(), *targets = json_array();
	for (size_t i = 0; i < w->nleas; i++)
		json_array_append_new(leas, json_string(w->leas[i]));
	for (size_t i = 0; i < w->c.ntargets; i++) {
		char b[64];
		lt_target_format(&w->c.targets[i], b, sizeof b);
		json_array_append_new(targets, json_string(b));
	}
	return json_pack("{s:s, s:s, s:s, s:o, s:s, s:o, s:s, s:s?, s:s?, s:s?, s:s, s:s, s:I, "
	                 "s:s, s:s}",
	                 "liid", w->c.liid, "country", w->c.country, "delivery_country",
	                 w->deliv_country, "leas", leas, "target_name", w->c.target_name, "targets",
	                 targets, "mode", w->c.mode == LT_TASK_FULL ? "full" : "iri-only", "start",
	                 w->c.start == INT64_MIN ? NULL : st, "end",
	                 w->c.end == INT64_MAX ? NULL : en, "filter",
	                 w->filter[0] ? w->filter : NULL, "state", med_ws_name(w->state), "xid", xs,
	                 "cin", (json_int_t)w->cin, "created_by", w->created_by, "created_at", ca);
}
