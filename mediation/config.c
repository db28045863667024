/* mediation/config.c: the mediator's YAML config (docs/internals.md, "lawtap-mediator").
 * Every key is known, every value is checked; a message names file, line, key path, problem. */
#include "mediation.h"
#include "store.h"

#include "lib/conf.h"
#include "lib/net.h"
#include "lib/timeutil.h"

#include "handover/spool.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const top_keys[] = {"mediator", "leas", "warrants", NULL};
static const char *const med_keys[] = {
    "x2x3_listen", "tasking_listen", "operator_id", "network_element_id", "state_dir",
    "drain_timeout", "tls", "store", "rest_listen",
    /* delivery (docs/delivery.md); spool_segment_bytes and cin_roll_at are for tests */
    "spool_max_bytes", "spool_segment_bytes", "fsync", "cin_roll_at", NULL};
static const char *const tls_keys[] = {"ca", "cert", "key", NULL};
static const char *const lea_keys[] = {"id",
                                       "country",
                                       "hi2",
                                       "hi3",
                                       "timestamp",
                                       "keepalive_idle",
                                       "keepalive_timeout",
                                       "keepalive_liid",
                                       "reconnect_max",
                                       "ack_mode",
                                       "resend_window",
                                       "pdu_ack_strict",
                                       "tls_ca",
                                       "tls_pin_sha256",
                                       NULL};
static const char *const warrant_keys[] = {"liid", "country", "lea", "target_name", "targets",
                                           "mode", "start",   "end", NULL};

/* "<file>:<line>: <path>[.key]: <problem>". */
__attribute__((format(printf, 5, 6))) static int kerr(const struct lt_conf_node *map,
                                                      const char *key, char *err, size_t errlen,
                                                      const char *fmt, ...)
{
	char problem[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(problem, sizeof problem, fmt, ap);
	va_end(ap);
	const struct lt_conf_node *v = key ? lt_conf_get(map, key) : NULL;
	const char *pp = lt_conf_path(map);
	if (key)
		snprintf(err, errlen, "%s:%d: %s%s%s: %s", lt_conf_doc_name(map),
		         lt_conf_line(v ? v : map), pp, *pp ? "." : "", key, problem);
	else
		snprintf(err, errlen, "%s:%d: %s: %s", lt_conf_doc_name(map), lt_conf_line(map),
		         *pp ? pp : "(root)", problem);
	return -1;
}

/* A member that must be a mapping or a sequence. 0, 1 when absent and optional, -1. */
static int get_node(const struct lt_conf_node *map, const char *key, enum lt_conf_kind kind,
                    int req, const struct lt_conf_node **out, char *err, size_t errlen)
{
	const struct lt_conf_node *n = lt_conf_get(map, key);
	if (!n) {
		if (req)
			return kerr(map, key, err, errlen, "missing");
		return 1;
	}
	if (lt_conf_kind(n) != kind)
		return kerr(map, key, err, errlen, "expected a %s",
		            kind == LT_CONF_MAP ? "mapping" : "list");
	*out = n;
	return 0;
}

static int get_hostport(const struct lt_conf_node *map, const char *key, int allow_zero, char *out,
                        size_t outlen, char *err, size_t errlen)
{
	const char *s;
	if (lt_conf_req_str(map, key, &s, err, errlen) != 0)
		return -1;
	if (strlen(s) >= outlen || !med_valid_hostport(s, allow_zero))
		return kerr(map, key, err, errlen, "expected host:port, got \"%.60s\"", s);
	snprintf(out, outlen, "%s", s);
	return 0;
}

static int get_country(const struct lt_conf_node *map, const char *key, char out[3], char *err,
                       size_t errlen)
{
	const char *s;
	if (lt_conf_req_str(map, key, &s, err, errlen) != 0)
		return -1;
	if (!med_valid_country(s))
		return kerr(map, key, err, errlen,
		            "expected a country code of 2 uppercase letters, got \"%.20s\"", s);
	memcpy(out, s, 3);
	return 0;
}

/* Octet strings of 1..max visible ASCII characters (LIIDs, ids): they appear in logs and in the
 * collector's file names and CSVs, so control characters and spaces are refused. */
static int get_ident(const struct lt_conf_node *map, const char *key, int req, size_t max,
                     const char *what, char *out, size_t outlen, char *err, size_t errlen)
{
	const char *s;
	int rc = req ? lt_conf_req_str(map, key, &s, err, errlen)
	             : lt_conf_opt_str(map, key, &s, err, errlen);
	if (rc != 0)
		return rc;
	size_t n = strlen(s);
	int bad = med_check_ident(s, max < outlen ? max : outlen - 1);
	if (bad == MED_IDENT_LENGTH)
		return kerr(map, key, err, errlen, "%s must be 1..%zu octets, got %zu", what, max,
		            n);
	if (bad == MED_IDENT_CHARS)
		return kerr(map, key, err, errlen,
		            "%s must be visible ASCII characters (no spaces or control characters)",
		            what);
	memcpy(out, s, n + 1);
	return 0;
}

static int get_path(const struct lt_conf_node *map, const char *key, const char *base, char *out,
                    size_t outlen, char *err, size_t errlen)
{
	const char *s;
	if (lt_conf_req_str(map, key, &s, err, errlen) != 0)
		return -1;
	if (!med_str_text(s))
		return kerr(map, key, err, errlen, "path contains control characters");
	int n;
	if (s[0] == '/' || base[0] == '\0')
		n = snprintf(out, outlen, "%s", s);
	else
		n = snprintf(out, outlen, "%s/%s", base, s);
	if (n < 0 || (size_t)n >= outlen)
		return kerr(map, key, err, errlen, "path too long");
	return 0;
}

static int get_int(const struct lt_conf_node *map, const char *key, int64_t min, int64_t max,
                   int def, int *out, char *err, size_t errlen)
{
	int64_t v = def;
	if (lt_conf_opt_int(map, key, min, max, &v, err, errlen) < 0)
		return -1;
	*out = (int)v;
	return 0;
}

static int load_mediator(const struct lt_conf_node *root, const char *base, struct med_config *cfg,
                         char *err, size_t errlen)
{
	const struct lt_conf_node *m = NULL, *tls = NULL;
	if (get_node(root, "mediator", LT_CONF_MAP, 1, &m, err, errlen) != 0)
		return -1;
	if (lt_conf_check_keys(m, med_keys, err, errlen) != 0)
		return -1;
	if (get_hostport(m, "x2x3_listen", 1, cfg->x2x3_listen, sizeof cfg->x2x3_listen, err,
	                 errlen) != 0 ||
	    get_hostport(m, "tasking_listen", 1, cfg->tasking_listen, sizeof cfg->tasking_listen,
	                 err, errlen) != 0)
		return -1;
	if (get_ident(m, "operator_id", 1, MED_OPID_MAX, "operator id", cfg->operator_id,
	              sizeof cfg->operator_id, err, errlen) != 0)
		return -1;
	if (get_ident(m, "network_element_id", 0, MED_OPID_MAX, "network element id", cfg->ne_id,
	              sizeof cfg->ne_id, err, errlen) < 0)
		return -1;
	if (get_path(m, "state_dir", base, cfg->state_dir, sizeof cfg->state_dir, err, errlen) != 0)
		return -1;
	if (get_int(m, "drain_timeout", 1, 3600, 30, &cfg->drain_timeout, err, errlen) != 0)
		return -1;
	/* Delivery (docs/delivery.md). */
	int64_t v = (int64_t)1 << 30;
	if (lt_conf_opt_int(m, "spool_max_bytes", 1 << 20, (int64_t)1 << 50, &v, err, errlen) < 0)
		return -1;
	cfg->spool_max_bytes = (uint64_t)v;
	v = (int64_t)64 << 20;
	if (lt_conf_opt_int(m, "spool_segment_bytes", 64 << 10, (int64_t)1 << 32, &v, err, errlen) <
	    0)
		return -1;
	cfg->spool_segment_bytes = (uint64_t)v;
	if (!lt_conf_get(m, "spool_segment_bytes") &&
	    cfg->spool_segment_bytes > cfg->spool_max_bytes / 4)
		cfg->spool_segment_bytes = cfg->spool_max_bytes / 4; /* a small spool: 4 segments */
	if (cfg->spool_segment_bytes > cfg->spool_max_bytes)
		return kerr(m, "spool_segment_bytes", err, errlen,
		            "larger than spool_max_bytes (%" PRIu64 ")", cfg->spool_max_bytes);
	v = 0;
	if (lt_conf_opt_int(m, "cin_roll_at", 2, 0xffffff00, &v, err, errlen) < 0)
		return -1;
	cfg->cin_roll_at = (uint32_t)v;
	const char *fs = "batch";
	if (lt_conf_opt_str(m, "fsync", &fs, err, errlen) < 0)
		return -1;
	if (strcmp(fs, "batch") == 0)
		cfg->fsync = HO_FSYNC_BATCH;
	else if (strcmp(fs, "always") == 0)
		cfg->fsync = HO_FSYNC_ALWAYS;
	else if (strcmp(fs, "none") == 0)
		cfg->fsync = HO_FSYNC_NONE;
	else
		return kerr(m, "fsync", err, errlen,
		            "expected batch, always or none, got \"%.40s\"", fs);
	if (lt_conf_get(m, "store") &&
	    get_path(m, "store", base, cfg->store, sizeof cfg->store, err, errlen) != 0)
		return -1;
	if (lt_conf_get(m, "rest_listen") &&
	    get_hostport(m, "rest_listen", 1, cfg->rest_listen, sizeof cfg->rest_listen, err,
	                 errlen) != 0)
		return -1;
	if (get_node(m, "tls", LT_CONF_MAP, 1, &tls, err, errlen) != 0 ||
	    lt_conf_check_keys(tls, tls_keys, err, errlen) != 0 ||
	    get_path(tls, "ca", base, cfg->tls_ca, sizeof cfg->tls_ca, err, errlen) != 0 ||
	    get_path(tls, "cert", base, cfg->tls_cert, sizeof cfg->tls_cert, err, errlen) != 0 ||
	    get_path(tls, "key", base, cfg->tls_key, sizeof cfg->tls_key, err, errlen) != 0)
		return -1;
	return 0;
}

/* An LEA whose collector is not lawtap: tls_ca (its own CA file) and/or tls_pin_sha256 (hex
 * SHA-256 of its certificate, DER). */
static int load_lea_tls(const struct lt_conf_node *n, const char *base, struct med_lea_tls *t,
                        char *err, size_t errlen)
{
	const char *s;
	int rc = lt_conf_opt_str(n, "tls_ca", &s, err, errlen);
	if (rc < 0 ||
	    (rc == 0 && get_path(n, "tls_ca", base, t->ca, sizeof t->ca, err, errlen) != 0))
		return -1;
	rc = lt_conf_opt_str(n, "tls_pin_sha256", &s, err, errlen);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		if (!med_valid_pin_hex(s))
			return kerr(n, "tls_pin_sha256", err, errlen,
			            "expected 64 hex digits (SHA-256 of the certificate)");
		memcpy(t->pin, s, sizeof t->pin);
	}
	return 0;
}

static int load_lea(const struct lt_conf_node *n, struct ho_lea_conf *lea, char *err, size_t errlen)
{
	if (lt_conf_kind(n) != LT_CONF_MAP)
		return kerr(n, NULL, err, errlen, "expected a mapping");
	if (lt_conf_check_keys(n, lea_keys, err, errlen) != 0)
		return -1;
	const char *id;
	if (lt_conf_req_str(n, "id", &id, err, errlen) != 0)
		return -1;
	size_t idlen = strlen(id);
	if (!med_valid_lea_id(id))
		return kerr(n, "id", err, errlen,
		            "expected 1..%d characters of A-Z a-z 0-9 . _ -, got \"%.40s\"",
		            HO_LEA_ID_MAX, id);
	med_lea_defaults(lea);
	memcpy(lea->id, id, idlen + 1);
	if (get_country(n, "country", lea->country, err, errlen) != 0 ||
	    get_hostport(n, "hi2", 0, lea->addr[HO_HI2], sizeof lea->addr[0], err, errlen) != 0 ||
	    get_hostport(n, "hi3", 0, lea->addr[HO_HI3], sizeof lea->addr[0], err, errlen) != 0)
		return -1;
	const char *ts = "microseconds";
	if (lt_conf_opt_str(n, "timestamp", &ts, err, errlen) < 0)
		return -1;
	if ((lea->ts_form = med_parse_ts_form(ts)) < 0)
		return kerr(n, "timestamp", err, errlen,
		            "expected microseconds, generalized or both, got \"%.40s\"", ts);
	for (const struct med_lea_int *li = med_lea_ints; li->key; li++) {
		int *v = (int *)(void *)((char *)lea + li->off);
		if (get_int(n, li->key, li->min, li->max, li->def, v, err, errlen) != 0)
			return -1;
	}
	const char *am = "keepalive";
	if (lt_conf_opt_str(n, "ack_mode", &am, err, errlen) < 0)
		return -1;
	lea->ack_mode = med_parse_ack_mode(am);
	if (lea->ack_mode < 0)
		return kerr(n, "ack_mode", err, errlen,
		            "expected keepalive, window or pdu-ack, got \"%.40s\"", am);
	char liid[MED_LIID_MAX + 1] = "-";
	if (get_ident(n, "keepalive_liid", 0, MED_LIID_MAX, "LIID", liid, sizeof liid, err,
	              errlen) < 0)
		return -1;
	lea->ka_liid_len = strlen(liid);
	memcpy(lea->ka_liid, liid, lea->ka_liid_len);
	return 0;
}

static int get_time(const struct lt_conf_node *n, const char *key, int64_t def, int64_t *out,
                    char *err, size_t errlen)
{
	const char *s;
	int rc = lt_conf_opt_str(n, key, &s, err, errlen);
	if (rc < 0)
		return -1;
	*out = def;
	if (rc == 1)
		return 0;
	rc = med_parse_time(s, out);
	if (rc == -1)
		return kerr(n, key, err, errlen,
		            "expected a UTC time like 2026-01-01T00:00:00Z, got \"%.40s\"", s);
	if (rc != 0)
		return kerr(n, key, err, errlen, "times before 1970 are not supported");
	return 0;
}

static int load_targets(const struct lt_conf_node *n, struct med_warrant_conf *w, char *err,
                        size_t errlen)
{
	const struct lt_conf_node *seq = NULL;
	if (get_node(n, "targets", LT_CONF_SEQ, 1, &seq, err, errlen) != 0)
		return -1;
	size_t cnt = lt_conf_len(seq);
	if (cnt < 1 || cnt > LT_TASK_MAX_TARGETS_PER_TASK)
		return kerr(n, "targets", err, errlen, "expected 1..%d addresses or prefixes",
		            LT_TASK_MAX_TARGETS_PER_TASK);
	w->targets = calloc(cnt, sizeof *w->targets);
	if (!w->targets)
		return kerr(n, "targets", err, errlen, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		const struct lt_conf_node *e = lt_conf_at(seq, i);
		const char *s = lt_conf_str(e);
		char why[160];
		if (!s)
			return kerr(e, NULL, err, errlen, "expected an address or prefix");
		if (lt_target_parse(s, &w->targets[i], why, sizeof why) != 0)
			return kerr(e, NULL, err, errlen, "%s", why);
		w->ntargets++;
	}
	char why[160];
	if (med_targets_check(w->targets, w->ntargets, why, sizeof why) != 0)
		return kerr(n, "targets", err, errlen, "%s", why);
	return 0;
}

static int load_warrant(const struct lt_conf_node *n, const struct med_config *cfg,
                        struct med_warrant_conf *w, char *err, size_t errlen)
{
	if (lt_conf_kind(n) != LT_CONF_MAP)
		return kerr(n, NULL, err, errlen, "expected a mapping");
	if (lt_conf_check_keys(n, warrant_keys, err, errlen) != 0)
		return -1;
	if (get_ident(n, "liid", 1, MED_LIID_MAX, "LIID", w->liid, sizeof w->liid, err, errlen) !=
	    0)
		return -1;
	w->liid_len = strlen(w->liid);
	if (get_country(n, "country", w->country, err, errlen) != 0)
		return -1;
	const char *lea;
	if (lt_conf_req_str(n, "lea", &lea, err, errlen) != 0)
		return -1;
	size_t i = 0;
	while (i < cfg->nleas && strcmp(cfg->leas[i].id, lea) != 0)
		i++;
	if (i == cfg->nleas)
		return kerr(n, "lea", err, errlen, "no LEA with id \"%.40s\" in leas", lea);
	w->lea = i;
	const char *name = "unknownuser";
	if (lt_conf_opt_str(n, "target_name", &name, err, errlen) < 0)
		return -1;
	if (!med_valid_target_name(name))
		return kerr(n, "target_name", err, errlen, "expected 1..%d printable characters",
		            MED_TARGET_NAME_MAX);
	snprintf(w->target_name, sizeof w->target_name, "%s", name);
	/* No default: a pen-register warrant taken for a full one would deliver content. */
	const char *mode;
	if (lt_conf_req_str(n, "mode", &mode, err, errlen) != 0)
		return -1;
	if ((w->mode = med_parse_mode(mode)) < 0)
		return kerr(n, "mode", err, errlen, "expected full or iri-only, got \"%.40s\"",
		            mode);
	if (get_time(n, "start", INT64_MIN, &w->start, err, errlen) != 0 ||
	    get_time(n, "end", INT64_MAX, &w->end, err, errlen) != 0)
		return -1;
	if (w->end <= w->start)
		return kerr(n, "end", err, errlen, "must be after start");
	return load_targets(n, w, err, errlen);
}

static int load_leas(const struct lt_conf_node *root, const char *base, struct med_config *cfg,
                     char *err, size_t errlen)
{
	const struct lt_conf_node *seq = NULL;
	int rc = get_node(root, "leas", LT_CONF_SEQ, 0, &seq, err, errlen);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	size_t cnt = lt_conf_len(seq);
	if (cnt == 0)
		return 0;
	cfg->leas = calloc(cnt, sizeof *cfg->leas);
	cfg->lea_tls = calloc(cnt, sizeof *cfg->lea_tls);
	if (!cfg->leas || !cfg->lea_tls)
		return kerr(seq, NULL, err, errlen, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		const struct lt_conf_node *n = lt_conf_at(seq, i);
		if (load_lea(n, &cfg->leas[i], err, errlen) != 0 ||
		    load_lea_tls(n, base, &cfg->lea_tls[i], err, errlen) != 0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (strcmp(cfg->leas[j].id, cfg->leas[i].id) == 0)
				return kerr(n, "id", err, errlen,
				            "duplicate LEA id \"%s\" (also leas[%zu])",
				            cfg->leas[i].id, j);
		cfg->nleas++;
	}
	return 0;
}

static int load_warrants(const struct lt_conf_node *root, struct med_config *cfg, char *err,
                         size_t errlen)
{
	const struct lt_conf_node *seq = NULL;
	int rc = get_node(root, "warrants", LT_CONF_SEQ, 0, &seq, err, errlen);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	size_t cnt = lt_conf_len(seq);
	if (cnt == 0)
		return 0;
	if (cnt > LT_TASK_MAX_TASKS)
		return kerr(seq, NULL, err, errlen, "more than %d warrants", LT_TASK_MAX_TASKS);
	cfg->warrants = calloc(cnt, sizeof *cfg->warrants);
	if (!cfg->warrants)
		return kerr(seq, NULL, err, errlen, "out of memory");
	for (size_t i = 0; i < cnt; i++) {
		const struct lt_conf_node *n = lt_conf_at(seq, i);
		struct med_warrant_conf *w = &cfg->warrants[i];
		cfg->nwarrants++; /* counted first so clear() frees a partial target list */
		if (load_warrant(n, cfg, w, err, errlen) != 0)
			return -1;
		/* LIIDs are unique per mediator (sequence numbers run per LIID and CIN). */
		for (size_t j = 0; j < i; j++)
			if (strcmp(cfg->warrants[j].liid, w->liid) == 0)
				return kerr(n, "liid", err, errlen,
				            "duplicate LIID \"%s\" (also warrants[%zu])", w->liid,
				            j);
	}
	return 0;
}

static int load_tree(const struct lt_conf_node *root, const char *name, struct med_config *cfg,
                     char *err, size_t errlen)
{
	char base[MED_PATH_MAX] = "";
	const char *slash = strrchr(name, '/');
	if (slash) {
		size_t n = (size_t)(slash - name);
		if (n == 0)
			n = 1; /* "/x.yaml" */
		if (n >= sizeof base)
			n = sizeof base - 1;
		memcpy(base, name, n);
		base[n] = '\0';
	}
	if (lt_conf_kind(root) != LT_CONF_MAP)
		return kerr(root, NULL, err, errlen, "expected a mapping at the top");
	if (lt_conf_check_keys(root, top_keys, err, errlen) != 0 ||
	    load_mediator(root, strcmp(base, "/") == 0 ? "" : base, cfg, err, errlen) != 0 ||
	    load_leas(root, strcmp(base, "/") == 0 ? "" : base, cfg, err, errlen) != 0 ||
	    load_warrants(root, cfg, err, errlen) != 0)
		return -1;
	return 0;
}

static int finish(struct lt_conf_node *root, const char *name, struct med_config *cfg, char *err,
                  size_t errlen)
{
	if (!root)
		return -1;
	snprintf(cfg->file, sizeof cfg->file, "%s", name);
	int rc = load_tree(root, name, cfg, err, errlen);
	lt_conf_free(root);
	if (rc != 0)
		med_config_clear(cfg);
	return rc;
}

int med_config_load_file(const char *path, struct med_config *cfg, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof *cfg);
	return finish(lt_conf_load_file(path, err, errlen), path, cfg, err, errlen);
}

int med_config_load_mem(const char *name, const void *buf, size_t len, struct med_config *cfg,
                        char *err, size_t errlen)
{
	memset(cfg, 0, sizeof *cfg);
	return finish(lt_conf_load_mem(name, buf, len, err, errlen), name, cfg, err, errlen);
}

void med_config_clear(struct med_config *cfg)
{
	for (size_t i = 0; i < cfg->nwarrants; i++)
		free(cfg->warrants[i].targets);
	free(cfg->warrants);
	free(cfg->leas);
	free(cfg->lea_tls);
	memset(cfg, 0, sizeof *cfg);
}

int med_str_visible(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

int med_str_text(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return 0;
	return 1;
}

int med_valid_country(const char *s)
{
	return s && strlen(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

int med_valid_lea_id(const char *s)
{
	size_t n = strlen(s);
	int ok = n >= 1 && n <= HO_LEA_ID_MAX;
	for (const char *c = s; ok && *c; c++)
		ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		     (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.';
	return ok;
}

int med_valid_hostport(const char *s, int allow_zero_port)
{
	char host[256], why[128];
	uint16_t port;
	return strlen(s) < HO_ADDR_MAX && lt_parse_hostport(s, host, sizeof host, &port,
	                                                    allow_zero_port, why, sizeof why) == 0;
}

int med_valid_pin_hex(const char *s)
{
	int ok = strlen(s) == MED_PIN_HEX;
	for (const char *c = s; ok && *c; c++)
		ok = (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f') ||
		     (*c >= 'A' && *c <= 'F');
	return ok;
}

int med_valid_target_name(const char *s)
{
	return *s && strlen(s) <= MED_TARGET_NAME_MAX && med_str_text(s);
}

int med_check_ident(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n < 1 || n > max)
		return MED_IDENT_LENGTH;
	return med_str_visible(s) ? 0 : MED_IDENT_CHARS;
}

/* The value of a name in a table ending with name NULL, -1 when unknown. */
struct med_name {
	const char *name;
	int value;
};

static int by_name(const char *s, const struct med_name *t)
{
	for (; t->name; t++)
		if (strcmp(s, t->name) == 0)
			return t->value;
	return -1;
}

int med_parse_ts_form(const char *s)
{
	static const struct med_name t[] = {{"microseconds", MED_TS_MICRO},
	                                    {"generalized", MED_TS_GENERALIZED},
	                                    {"both", MED_TS_BOTH},
	                                    {NULL, 0}};
	return by_name(s, t);
}

int med_parse_mode(const char *s)
{
	static const struct med_name t[] = {
	    {"full", LT_TASK_FULL}, {"iri-only", LT_TASK_IRI_ONLY}, {NULL, 0}};
	return by_name(s, t);
}

int med_parse_ack_mode(const char *s)
{
	static const struct med_name t[] = {{"keepalive", HO_ACK_KEEPALIVE},
	                                    {"window", HO_ACK_WINDOW},
	                                    {"pdu-ack", HO_ACK_PDU},
	                                    {NULL, 0}};
	return by_name(s, t);
}

const char *med_ack_mode_name(int mode)
{
	return mode == HO_ACK_WINDOW ? "window" : mode == HO_ACK_PDU ? "pdu-ack" : "keepalive";
}

int med_parse_time(const char *s, int64_t *out)
{
	if (lt_parse_utc(s, out) != 0)
		return -1;
	return *out < 0 ? -2 : 0;
}

static int targets_overlap(const struct lt_target *a, const struct lt_target *b)
{
	if (a->family != b->family)
		return 0;
	int p = a->prefix < b->prefix ? a->prefix : b->prefix;
	int bytes = p / 8, bits = p % 8;
	if (memcmp(a->addr, b->addr, (size_t)bytes) != 0)
		return 0;
	if (bits) {
		uint8_t mask = (uint8_t)(0xff << (8 - bits));
		if ((a->addr[bytes] & mask) != (b->addr[bytes] & mask))
			return 0;
	}
	return 1;
}

/* A target and its place in the list, for the overlap check's sort. */
struct target_at {
	struct lt_target t;
	size_t at;
};

/* Family, network address (host bits are zero, lib/tasking.h), prefix length (shorter first),
 * then place in the list. */
static int target_order(const void *pa, const void *pb)
{
	const struct target_at *a = pa, *b = pb;
	if (a->t.family != b->t.family)
		return a->t.family < b->t.family ? -1 : 1;
	int c = memcmp(a->t.addr, b->t.addr, a->t.family == 4 ? 4 : 16);
	if (c)
		return c;
	if (a->t.prefix != b->t.prefix)
		return a->t.prefix < b->t.prefix ? -1 : 1;
	return a->at < b->at ? -1 : a->at > b->at;
}

int med_targets_check(const struct lt_target *t, size_t n, char *why, size_t whylen)
{
	if (n > MED_TARGETS_CHECK_MAX) {
		snprintf(why, whylen, "at most %d targets per warrant", MED_TARGETS_CHECK_MAX);
		return -1;
	}
	if (n < 2)
		return 0;
	/* Address blocks either nest or are disjoint, so in the order above every block that
	 * holds another is directly followed by one it holds: neighbours are enough (n log n,
	 * 10,000 targets in milliseconds). */
	struct target_at *v = malloc(n * sizeof *v);
	if (!v) {
		snprintf(why, whylen, "out of memory checking %zu targets", n);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		v[i].t = t[i];
		v[i].at = i;
	}
	qsort(v, n, sizeof *v, target_order);
	int rc = 0;
	for (size_t j = 1; j < n && rc == 0; j++) {
		const struct target_at *a = &v[j - 1], *b = &v[j];
		if (!targets_overlap(&a->t, &b->t))
			continue;
		const struct target_at *later = a->at > b->at ? a : b,
		                       *earlier = later == a ? b : a;
		char sa[64], sb[64];
		lt_target_format(&later->t, sa, sizeof sa);
		lt_target_format(&earlier->t, sb, sizeof sb);
		snprintf(why, whylen, "target %s overlaps target %s", sa, sb);
		rc = -1;
	}
	free(v);
	return rc;
}

const struct med_lea_int med_lea_ints[] = {
    {"keepalive_idle", 0, 86400, 300, offsetof(struct ho_lea_conf, keepalive_idle)},
    {"keepalive_timeout", 1, 3600, 30, offsetof(struct ho_lea_conf, keepalive_timeout)},
    {"reconnect_max", 1, 3600, 30, offsetof(struct ho_lea_conf, reconnect_max)},
    {"resend_window", 1, MED_RESEND_WINDOW_MAX, MED_RESEND_WINDOW_DEFAULT,
     offsetof(struct ho_lea_conf, resend_window)},
    /* ack_mode pdu-ack: 1 = no fallback to keep-alives (docs/pdu-ack.md) */
    {"pdu_ack_strict", 0, 1, 0, offsetof(struct ho_lea_conf, pdu_ack_strict)},
    {NULL, 0, 0, 0, 0},
};

void med_lea_defaults(struct ho_lea_conf *l)
{
	l->ts_form = MED_TS_MICRO;
	for (const struct med_lea_int *li = med_lea_ints; li->key; li++)
		*(int *)(void *)((char *)l + li->off) = li->def;
	l->ka_liid[0] = '-';
	l->ka_liid_len = 1;
	l->ack_mode = HO_ACK_KEEPALIVE;
}
