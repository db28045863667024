/* ctl/build.c: lawtap-ctl's command line -> the JSON bodies of docs/rest-api.md. No I/O: every
 * function is a pure transformation, so the unit test can check them member by member. Values
 * are checked only as far as the JSON type needs (a number must be a number); what a value
 * means (a country code, a LIID length) is for the server to judge, so its message is the one
 * the operator sees. */
#include "ctl.h"
#include "lib/tasking.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum okind {
	O_STR,  /* string member */
	O_INT,  /* integer member */
	O_LIST, /* repeatable: array of strings */
	O_TIME, /* string member, relative forms ("+5m", "now") resolved */
	O_NULL, /* flag: member set to null */
	O_SETS, /* flag: member set to the fixed string in .fixed */
	O_ADD,  /* repeatable, collected apart (warrant modify --add-target) */
	O_DEL,  /* repeatable, collected apart (warrant modify --remove-target) */
};

struct ospec {
	const char *name; /* without the leading "--" */
	enum okind kind;
	const char *key; /* JSON member; "a.b" is member b of object a */
	const char *fixed;
};

static const struct ospec lea_opts[] = {
    {"id", O_STR, "id", NULL},
    {"country", O_STR, "country", NULL},
    {"hi2", O_STR, "hi2", NULL},
    {"hi3", O_STR, "hi3", NULL},
    {"timestamp", O_STR, "timestamp", NULL},
    {"keepalive-idle", O_INT, "keepalive_idle", NULL},
    {"keepalive-timeout", O_INT, "keepalive_timeout", NULL},
    {"keepalive-liid", O_STR, "keepalive_liid", NULL},
    {"operator-id", O_STR, "operator_id", NULL},
    {"no-operator-id", O_NULL, "operator_id", NULL},
    {"tls-ca", O_STR, "tls.ca", NULL},
    {"tls-pin", O_STR, "tls.pin_sha256", NULL},
    {"ack-mode", O_STR, "ack_mode", NULL},
    {"resend-window", O_INT, "resend_window", NULL},
    {"pdu-ack-strict", O_INT, "pdu_ack_strict", NULL},
    {NULL, O_STR, NULL, NULL},
};

static const struct ospec warrant_add_opts[] = {
    {"liid", O_STR, "liid", NULL},
    {"country", O_STR, "country", NULL},
    {"delivery-country", O_STR, "delivery_country", NULL},
    {"lea", O_LIST, "leas", NULL},
    {"target", O_LIST, "targets", NULL},
    {"target-name", O_STR, "target_name", NULL},
    {"mode", O_STR, "mode", NULL},
    {"start", O_TIME, "start", NULL},
    {"end", O_TIME, "end", NULL},
    {"filter", O_STR, "filter", NULL},
    {NULL, O_STR, NULL, NULL},
};

static const struct ospec warrant_mod_opts[] = {
    {"target", O_LIST, "targets", NULL},
    {"add-target", O_ADD, "targets", NULL},
    {"remove-target", O_DEL, "targets", NULL},
    {"lea", O_LIST, "leas", NULL},
    {"target-name", O_STR, "target_name", NULL},
    {"start", O_TIME, "start", NULL},
    {"end", O_TIME, "end", NULL},
    {"no-end", O_NULL, "end", NULL},
    {"filter", O_STR, "filter", NULL},
    {"no-filter", O_NULL, "filter", NULL},
    {"suspend", O_SETS, "state", "suspended"},
    {"resume", O_SETS, "state", "active"},
    {NULL, O_STR, NULL, NULL},
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int ctl_time_arg(const char *in, time_t now, char *out, size_t outlen)
{
	long long secs;
	if (!strcmp(in, "now")) {
		secs = 0;
	} else if (in[0] == '+') {
		char *end;
		errno = 0;
		long long v = strtoll(in + 1, &end, 10);
		if (end == in + 1 || errno || v < 0 || v > 100LL * 365 * 86400)
			return -1;
		long long mul = 1;
		if (!strcmp(end, "") || !strcmp(end, "s"))
			mul = 1;
		else if (!strcmp(end, "m"))
			mul = 60;
		else if (!strcmp(end, "h"))
			mul = 3600;
		else if (!strcmp(end, "d"))
			mul = 86400;
		else
			return -1;
		secs = v * mul;
	} else {
		if (strlen(in) >= outlen)
			return -1;
		memcpy(out, in, strlen(in) + 1);
		return 0;
	}
	time_t t = now + (time_t)secs;
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return -1;
	return 0;
}

/* Sets key ("a" or "a.b") in obj to v (stolen). */
static int set_member(json_t *obj, const char *key, json_t *v)
{
	const char *dot = strchr(key, '.');
	if (!dot)
		return json_object_set_new(obj, key, v);
	char outer[64];
	size_t n = (size_t)(dot - key);
	if (n >= sizeof outer) {
		json_decref(v);
		return -1;
	}
	memcpy(outer, key, n);
	outer[n] = 0;
	json_t *sub = json_object_get(obj, outer);
	if (!json_is_object(sub)) {
		sub = json_object();
		if (json_object_set_new(obj, outer, sub)) {
			json_decref(v);
			return -1;
		}
	}
	return json_object_set_new(sub, dot + 1, v);
}

/* The member at key ("a" or "a.b") of obj, or NULL. */
static json_t *get_member(json_t *obj, const char *key)
{
	const char *dot = strchr(key, '.');
	if (!dot)
		return json_object_get(obj, key);
	char outer[64];
	size_t n = (size_t)(dot - key);
	if (n >= sizeof outer)
		return NULL;
	memcpy(outer, key, n);
	outer[n] = 0;
	return json_object_get(json_object_get(obj, outer), dot + 1);
}

static const struct ospec *find_opt(const struct ospec *tab, const char *name, size_t n)
{
	for (; tab->name; tab++)
		if (strlen(tab->name) == n && !strncmp(tab->name, name, n))
			return tab;
	return NULL;
}

static int needs_value(enum okind k)
{
	return k != O_NULL && k != O_SETS;
}

/* Parses argv against tab into obj; O_ADD/O_DEL values go to *add / *del (created on demand).
 * A member given twice (other than lists) is refused, as is a flag and a value for the same
 * member. 0 or -1 (err). */
static int parse_opts(const struct ospec *tab, int argc, char **argv, time_t now, json_t *obj,
                      json_t **add, json_t **del, char *err, size_t errlen)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2) != 0 || !a[2]) {
			seterr(err, errlen, "unexpected argument '%s'", a);
			return -1;
		}
		const char *name = a + 2;
		const char *eq = strchr(name, '=');
		size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
		const struct ospec *o = find_opt(tab, name, nlen);
		if (!o) {
			seterr(err, errlen, "unknown option --%.*s", (int)nlen, name);
			return -1;
		}
		const char *val = NULL;
		if (needs_value(o->kind)) {
			if (eq) {
				val = eq + 1;
			} else if (i + 1 < argc) {
				val = argv[++i];
			} else {
				seterr(err, errlen, "--%s needs a value", o->name);
				return -1;
			}
		} else if (eq) {
			seterr(err, errlen, "--%s takes no value", o->name);
			return -1;
		}
		if (o->kind == O_ADD || o->kind == O_DEL) {
			json_t **arr = o->kind == O_ADD ? add : del;
			if (!arr) {
				seterr(err, errlen, "unknown option --%s", o->name);
				return -1;
			}
			if (!*arr)
				*arr = json_array();
			json_array_append_new(*arr, json_string(val));
			continue;
		}
		json_t *cur = get_member(obj, o->key);
		if (o->kind == O_LIST) {
			if (cur && !json_is_array(cur)) {
				seterr(err, errlen, "--%s given with a conflicting option",
				       o->name);
				return -1;
			}
			if (!cur) {
				cur = json_array();
				set_member(obj, o->key, cur);
			}
			json_array_append_new(cur, json_string(val));
			continue;
		}
		if (cur) {
			seterr(err, errlen, "--%s given twice or with a conflicting option",
			       o->name);
			return -1;
		}
		json_t *v;
		char tbuf[128];
		switch (o->kind) {
		case O_INT: {
			char *end;
			errno = 0;
			long long n = strtoll(val, &end, 10);
			if (!*val || *end || errno) {
				seterr(err, errlen, "--%s needs a whole number, got '%s'", o->name,
				       val);
				return -1;
			}
			v = json_integer((json_int_t)n);
			break;
		}
		case O_TIME:
			if (ctl_time_arg(val, now, tbuf, sizeof tbuf)) {
				seterr(err, errlen,
				       "--%s: '%s' is neither ISO 8601 UTC "
				       "(2026-11-27T06:00:00Z), now, nor +N[s|m|h|d]",
				       o->name, val);
				return -1;
			}
			v = json_string(tbuf);
			break;
		case O_NULL:
			v = json_null();
			break;
		case O_SETS:
			v = json_string(o->fixed);
			break;
		default:
			v = json_string(val);
			break;
		}
		if (!v) {
			seterr(err, errlen, "--%s: value is not valid UTF-8", o->name);
			return -1;
		}
		set_member(obj, o->key, v);
	}
	return 0;
}

json_t *ctl_build_lea(int argc, char **argv, int modify, char *err, size_t errlen)
{
	json_t *obj = json_object();
	if (parse_opts(lea_opts, argc, argv, 0, obj, NULL, NULL, err, errlen))
		goto fail;
	if (modify) {
		if (json_object_get(obj, "id")) {
			seterr(err, errlen, "an LEA's id cannot change (name it after 'modify')");
			goto fail;
		}
		if (json_object_size(obj) == 0) {
			seterr(err, errlen, "nothing to change");
			goto fail;
		}
	} else {
		static const char *req[] = {"id", "country", "hi2", "hi3"};
		for (size_t i = 0; i < sizeof req / sizeof *req; i++)
			if (!json_object_get(obj, req[i])) {
				seterr(err, errlen, "lea add needs --%s", req[i]);
				goto fail;
			}
	}
	return obj;
fail:
	json_decref(obj);
	return NULL;
}

json_t *ctl_build_warrant_add(int argc, char **argv, time_t now, char *err, size_t errlen)
{
	json_t *obj = json_object();
	if (parse_opts(warrant_add_opts, argc, argv, now, obj, NULL, NULL, err, errlen))
		goto fail;
	/* Only the identity is required here: everything else (no target, no LEA, no mode) is
	 * for the server to refuse with its own precise message. */
	static const char *req[] = {"liid", "country"};
	for (size_t i = 0; i < sizeof req / sizeof *req; i++)
		if (!json_object_get(obj, req[i])) {
			seterr(err, errlen, "warrant add needs --%s", req[i]);
			goto fail;
		}
	return obj;
fail:
	json_decref(obj);
	return NULL;
}

json_t *ctl_build_warrant_modify(int argc, char **argv, time_t now, json_t **add, json_t **remove,
                                 char *err, size_t errlen)
{
	json_t *obj = json_object();
	*add = *remove = NULL;
	if (parse_opts(warrant_mod_opts, argc, argv, now, obj, add, remove, err, errlen))
		goto fail;
	if ((*add || *remove) && json_object_get(obj, "targets")) {
		seterr(err, errlen,
		       "--target replaces the whole set: do not mix it with "
		       "--add-target/--remove-target");
		goto fail;
	}
	if (json_object_size(obj) == 0 && !*add && !*remove) {
		seterr(err, errlen, "nothing to change");
		goto fail;
	}
	return obj;
fail:
	json_decref(obj);
	json_decref(*add);
	json_decref(*remove);
	*add = *remove = NULL;
	return NULL;
}

/* A target in its canonical form ("10.0.0.1/32" -> "10.0.0.1", "2001:DB8::/64" ->
 * "2001:db8::/64"), as the server stores it; what does not parse stays as written. */
static void canon(const char *in, char *out, size_t len)
{
	struct lt_target t;
	char err[128];
	if (lt_target_parse(in, &t, err, sizeof err) == 0)
		lt_target_format(&t, out, len);
	else
		snprintf(out, len, "%s", in);
}

static int arr_has(const json_t *arr, const char *s)
{
	size_t i;
	const json_t *v;
	char a[128], b[128];
	canon(s, a, sizeof a);
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v))
			continue;
		canon(json_string_value(v), b, sizeof b);
		if (!strcmp(a, b))
			return 1;
	}
	return 0;
}

json_t *ctl_targets_edit(const json_t *current, const json_t *add, const json_t *remove, char *err,
                         size_t errlen)
{
	size_t i;
	const json_t *v;
	if (!json_is_array(current)) {
		seterr(err, errlen, "the server's warrant has no target list");
		return NULL;
	}
	json_array_foreach(remove, i, v)
	{
		if (!arr_has(current, json_string_value(v))) {
			seterr(err, errlen, "target %s is not in the warrant's target set",
			       json_string_value(v));
			return NULL;
		}
	}
	json_t *out = json_array();
	json_array_foreach(current, i, v)
	{
		if (!json_is_string(v)) {
			seterr(err, errlen, "the server's target list holds a non-string");
			json_decref(out);
			return NULL;
		}
		if (!arr_has(remove, json_string_value(v)))
			json_array_append_new(out, json_string(json_string_value(v)));
	}
	json_array_foreach(add, i, v)
	{
		if (arr_has(out, json_string_value(v))) {
			seterr(err, errlen, "target %s is already in the warrant's target set",
			       json_string_value(v));
			json_decref(out);
			return NULL;
		}
		json_array_append_new(out, json_string(json_string_value(v)));
	}
	return out;
}

int ctl_warrant_path(const char *ref, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *slash = strchr(ref, '/');
	if (!slash || slash == ref || !slash[1])
		return -1;
	size_t cc = (size_t)(slash - ref);
	int n = snprintf(out, outlen, "/api/v1/warrants/%.*s/", (int)cc, ref);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	/* the country too must stay one path segment */
	for (size_t i = 0; i < cc; i++)
		if (ref[i] == '%' || ref[i] == '?' || ref[i] == '#')
			return -1;
	size_t o = (size_t)n;
	for (const unsigned char *p = (const unsigned char *)slash + 1; *p; p++) {
		int keep = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		           (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
		           *p == '~';
		if (o + (keep ? 1 : 3) >= outlen)
			return -1;
		if (keep) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = 0;
	return 0;
}
