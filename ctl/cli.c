/* ctl/cli.c: lawtap-ctl's commands: parses the command line, loads the config, sends the
 * request(s) of docs/rest-api.md and prints the answer (a table, or the server's JSON). */
#include "ctl.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: lawtap-ctl [--config FILE] [--url URL] [--ca FILE] [--cert FILE] [--key FILE]\n"
    "                  [--timeout SECONDS] [--json] OBJECT VERB [ARGS]\n"
    "\n"
    "  lea add --id ID --country CC --hi2 HOST:PORT --hi3 HOST:PORT [--timestamp T]\n"
    "          [--keepalive-idle N] [--keepalive-timeout N] [--keepalive-liid S]\n"
    "          [--operator-id S] [--tls-ca FILE | --tls-pin SHA256HEX]\n"
    "          [--ack-mode keepalive|window|pdu-ack] [--resend-window N]\n"
    "          [--pdu-ack-strict 0|1]\n"
    "  lea list | lea show ID | lea remove ID\n"
    "  lea modify ID [the options of add, except --id] [--no-operator-id]\n"
    "  warrant add --liid LIID --country CC --lea ID [--lea ID]... --target A [--target A]...\n"
    "          --mode full|iri-only [--target-name NAME] [--start TIME] [--end TIME]\n"
    "          [--filter BPF] [--delivery-country CC]\n"
    "  warrant list [--state pending|active|suspended|ended] | warrant show CC/LIID\n"
    "  warrant modify CC/LIID [--target A]... (replaces the set) | [--add-target A]...\n"
    "          [--remove-target A]... | [--lea ID]... | [--start TIME] | [--end TIME | --no-end]\n"
    "          | [--filter BPF | --no-filter] | [--target-name NAME] | [--suspend | --resume]\n"
    "  warrant end CC/LIID\n"
    "  iap list | status | audit list | audit verify\n"
    "\n"
    "TIME is ISO 8601 UTC (2026-11-27T06:00:00Z), now, or +N[s|m|h|d] from now.\n"
    "Config: --config FILE, else $LAWTAP_CTL_CONFIG, else /etc/lawtap/ctl.conf (if present):\n"
    "'key = value' lines with keys url, ca, cert, key, timeout; flags override it.\n"
    "Exit status: 0 ok, 1 refused by the server (or audit verification failed),\n"
    "2 usage, config or connection error.\n";

struct run {
	FILE *out, *err;
	struct ctl_conf conf;
	int json;
};

static int fail_usage(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail_usage(struct run *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(r->err, "lawtap-ctl: ");
	vfprintf(r->err, fmt, ap);
	fprintf(r->err, " (lawtap-ctl --help)\n");
	va_end(ap);
	return CTL_EXIT_USAGE;
}

/* Sends one request; on a transport failure prints it and returns CTL_EXIT_USAGE (2); on an
 * HTTP error prints the server's message and returns CTL_EXIT_REFUSED (1); else 0 and *resp
 * holds the answer (caller clears). */
static int call(struct run *r, const char *method, const char *path, const json_t *body,
                struct ctl_resp *resp)
{
	char err[1024];
	char *text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	if (body && !text) {
		fprintf(r->err, "lawtap-ctl: out of memory\n");
		return CTL_EXIT_USAGE;
	}
	int rc = ctl_http(&r->conf, method, path, text, resp, err, sizeof err);
	free(text);
	if (rc) {
		fprintf(r->err, "lawtap-ctl: %s\n", err);
		ctl_resp_clear(resp);
		return CTL_EXIT_USAGE;
	}
	if (resp->status >= 400 || resp->status < 200) {
		ctl_error_text(resp->status, resp->body, err, sizeof err);
		fprintf(r->err, "lawtap-ctl: %s\n", err);
		ctl_resp_clear(resp);
		return CTL_EXIT_REFUSED;
	}
	return 0;
}

enum show {
	SHOW_OBJECT,
	SHOW_LEAS,
	SHOW_WARRANTS,
	SHOW_IAPS,
	SHOW_STATUS,
	SHOW_AUDIT,
	SHOW_VERIFY,
	SHOW_NONE
};

/* Prints a successful answer; returns the exit code. */
static int show(struct run *r, const struct ctl_resp *resp, enum show how, const char *done)
{
	if (r->json) {
		if (resp->len) {
			fputs(resp->body, r->out);
			if (resp->body[resp->len - 1] != '\n')
				fputc('\n', r->out);
		}
		if (how == SHOW_VERIFY) {
			json_t *j = json_loads(resp->body, 0, NULL);
			int ok = json_is_true(json_object_get(j, "ok"));
			json_decref(j);
			return ok ? CTL_EXIT_OK : CTL_EXIT_REFUSED;
		}
		return CTL_EXIT_OK;
	}
	if (done)
		fprintf(r->out, "%s\n", done);
	if (how == SHOW_NONE)
		return CTL_EXIT_OK;
	json_error_t je;
	json_t *j = json_loads(resp->body, 0, &je);
	if (!json_is_object(j)) {
		fprintf(r->err, "lawtap-ctl: the server's answer is not a JSON object: %s\n",
		        j ? "wrong type" : je.text);
		json_decref(j);
		return CTL_EXIT_REFUSED;
	}
	int rc = CTL_EXIT_OK;
	switch (how) {
	case SHOW_OBJECT:
		ctl_print_object(r->out, j);
		break;
	case SHOW_LEAS:
		ctl_print_leas(r->out, j);
		break;
	case SHOW_WARRANTS:
		ctl_print_warrants(r->out, j);
		break;
	case SHOW_IAPS:
		ctl_print_iaps(r->out, j);
		break;
	case SHOW_STATUS:
		ctl_print_status(r->out, j);
		break;
	case SHOW_AUDIT:
		ctl_print_audit(r->out, j);
		break;
	case SHOW_VERIFY:
		rc = ctl_print_verify(r->out, j) ? CTL_EXIT_REFUSED : CTL_EXIT_OK;
		break;
	case SHOW_NONE:
		break;
	}
	json_decref(j);
	return rc;
}

/* One request and its display. */
static int simple(struct run *r, const char *method, const char *path, json_t *body, enum show how,
                  const char *done)
{
	struct ctl_resp resp;
	int rc = call(r, method, path, body, &resp);
	json_decref(body);
	if (rc)
		return rc;
	rc = show(r, &resp, how, done);
	ctl_resp_clear(&resp);
	return rc;
}

/* Percent-encodes one path segment (an LEA id). 0 or -1. */
static int seg(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	if (!*in)
		return -1;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		int keep = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		           (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
		           *p == '~';
		if (o + 4 >= outlen)
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

/* What a verb needs before talking to the server: its request and display. */
struct plan {
	const char *method;
	char path[CTL_PATH_MAX];
	json_t *body;
	enum show how;
	char done[256];
	/* warrant modify --add-target/--remove-target: GET path first, edit, then PATCH */
	json_t *add, *remove;
};

static int plan_lea(struct run *r, const char *verb, int argc, char **argv, struct plan *p)
{
	char err[512], id[256];
	if (!strcmp(verb, "list")) {
		if (argc)
			return fail_usage(r, "lea list takes no argument");
		p->method = "GET";
		snprintf(p->path, sizeof p->path, "/api/v1/leas");
		p->how = SHOW_LEAS;
		return 0;
	}
	if (!strcmp(verb, "add")) {
		p->body = ctl_build_lea(argc, argv, 0, err, sizeof err);
		if (!p->body)
			return fail_usage(r, "%s", err);
		p->method = "POST";
		snprintf(p->path, sizeof p->path, "/api/v1/leas");
		p->how = SHOW_OBJECT;
		snprintf(p->done, sizeof p->done, "lea %s added",
		         json_string_value(json_object_get(p->body, "id")));
		return 0;
	}
	if (strcmp(verb, "show") && strcmp(verb, "modify") && strcmp(verb, "remove"))
		return fail_usage(r, "unknown lea verb '%s' (add, list, show, modify, remove)",
		                  verb);
	if (argc < 1 || argv[0][0] == '-')
		return fail_usage(r, "lea %s needs an LEA id", verb);
	if (seg(argv[0], id, sizeof id))
		return fail_usage(r, "bad LEA id '%s'", argv[0]);
	snprintf(p->path, sizeof p->path, "/api/v1/leas/%s", id);
	if (!strcmp(verb, "show")) {
		if (argc > 1)
			return fail_usage(r, "lea show takes one LEA id");
		p->method = "GET";
		p->how = SHOW_OBJECT;
	} else if (!strcmp(verb, "remove")) {
		if (argc > 1)
			return fail_usage(r, "lea remove takes one LEA id");
		p->method = "DELETE";
		p->how = SHOW_NONE;
		snprintf(p->done, sizeof p->done, "lea %s removed", argv[0]);
	} else {
		p->body = ctl_build_lea(argc - 1, argv + 1, 1, err, sizeof err);
		if (!p->body)
			return fail_usage(r, "%s", err);
		p->method = "PATCH";
		p->how = SHOW_OBJECT;
		snprintf(p->done, sizeof p->done, "lea %s modified", argv[0]);
	}
	return 0;
}

static int plan_warrant(struct run *r, const char *verb, int argc, char **argv, struct plan *p)
{
	char err[512];
	if (!strcmp(verb, "list")) {
		p->method = "GET";
		p->how = SHOW_WARRANTS;
		snprintf(p->path, sizeof p->path, "/api/v1/warrants");
		if (argc == 0)
			return 0;
		const char *st = NULL;
		if (argc == 2 && !strcmp(argv[0], "--state"))
			st = argv[1];
		else if (argc == 1 && !strncmp(argv[0], "--state=", 8))
			st = argv[0] + 8;
		char e[64];
		if (!st || seg(st, e, sizeof e))
			return fail_usage(r, "warrant list takes only --state STATE");
		snprintf(p->path, sizeof p->path, "/api/v1/warrants?state=%s", e);
		return 0;
	}
	if (!strcmp(verb, "add")) {
		p->body = ctl_build_warrant_add(argc, argv, time(NULL), err, sizeof err);
		if (!p->body)
			return fail_usage(r, "%s", err);
		p->method = "POST";
		snprintf(p->path, sizeof p->path, "/api/v1/warrants");
		p->how = SHOW_OBJECT;
		snprintf(p->done, sizeof p->done, "warrant %s/%s added",
		         json_string_value(json_object_get(p->body, "country")),
		         json_string_value(json_object_get(p->body, "liid")));
		return 0;
	}
	if (strcmp(verb, "show") && strcmp(verb, "modify") && strcmp(verb, "end"))
		return fail_usage(r, "unknown warrant verb '%s' (add, list, show, modify, end)",
		                  verb);
	if (argc < 1 || argv[0][0] == '-')
		return fail_usage(r, "warrant %s needs COUNTRY/LIID (e.g. NL/LIID-0001)", verb);
	if (ctl_warrant_path(argv[0], p->path, sizeof p->path))
		return fail_usage(r, "'%s' is not COUNTRY/LIID (e.g. NL/LIID-0001)", argv[0]);
	if (!strcmp(verb, "show") || !strcmp(verb, "end")) {
		if (argc > 1)
			return fail_usage(r, "warrant %s takes one COUNTRY/LIID", verb);
		p->how = SHOW_OBJECT;
		if (!strcmp(verb, "show")) {
			p->method = "GET";
		} else {
			p->method = "POST";
			strncat(p->path, "/end", sizeof p->path - strlen(p->path) - 1);
			snprintf(p->done, sizeof p->done, "warrant %s ended", argv[0]);
		}
		return 0;
	}
	p->body = ctl_build_warrant_modify(argc - 1, argv + 1, time(NULL), &p->add, &p->remove, err,
	                                   sizeof err);
	if (!p->body)
		return fail_usage(r, "%s", err);
	p->method = "PATCH";
	p->how = SHOW_OBJECT;
	snprintf(p->done, sizeof p->done, "warrant %s modified", argv[0]);
	return 0;
}

static int plan_other(struct run *r, const char *obj, const char *verb, int argc, struct plan *p)
{
	p->method = "GET";
	if (!strcmp(obj, "iap")) {
		if (!verb || strcmp(verb, "list") || argc)
			return fail_usage(r, "iap takes one verb: list");
		snprintf(p->path, sizeof p->path, "/api/v1/iaps");
		p->how = SHOW_IAPS;
	} else if (!strcmp(obj, "status")) {
		if (verb)
			return fail_usage(r, "status takes no argument");
		snprintf(p->path, sizeof p->path, "/api/v1/status");
		p->how = SHOW_STATUS;
	} else if (!strcmp(obj, "audit")) {
		if (!verb || argc || (strcmp(verb, "list") && strcmp(verb, "verify")))
			return fail_usage(r, "audit takes one verb: list or verify");
		if (!strcmp(verb, "list")) {
			snprintf(p->path, sizeof p->path, "/api/v1/audit");
			p->how = SHOW_AUDIT;
		} else {
			snprintf(p->path, sizeof p->path, "/api/v1/audit/verify");
			p->how = SHOW_VERIFY;
		}
	} else {
		return fail_usage(r, "unknown object '%s' (lea, warrant, iap, status, audit)", obj);
	}
	return 0;
}

/* warrant modify with --add-target/--remove-target: reads the current set, edits it, PATCHes
 * the whole set. (Another operator's change in between would be overwritten: the audit trail
 * shows both.) */
static int modify_targets(struct run *r, struct plan *p)
{
	struct ctl_resp resp;
	char err[512];
	int rc = call(r, "GET", p->path, NULL, &resp);
	if (rc)
		return rc;
	json_t *w = json_loads(resp.body, 0, NULL);
	ctl_resp_clear(&resp);
	json_t *t =
	    ctl_targets_edit(json_object_get(w, "targets"), p->add, p->remove, err, sizeof err);
	json_decref(w);
	if (!t) {
		fprintf(r->err, "lawtap-ctl: %s\n", err);
		return CTL_EXIT_REFUSED;
	}
	json_object_set_new(p->body, "targets", t);
	return 0;
}

/* Config: --config FILE, else $LAWTAP_CTL_CONFIG, else the default file when it exists; the
 * flags (already in flags) override it. */
static int load_conf(struct run *r, const char *cfile, const struct ctl_conf *flags)
{
	char err[1024];
	const char *path = cfile;
	if (!path) {
		const char *env = getenv(CTL_CONFIG_ENV);
		if (env && *env)
			path = env;
		else if (access(CTL_DEFAULT_CONFIG, F_OK) == 0)
			path = CTL_DEFAULT_CONFIG;
	}
	memset(&r->conf, 0, sizeof r->conf);
	if (path && ctl_conf_load(path, &r->conf, err, sizeof err)) {
		fprintf(r->err, "lawtap-ctl: %s\n", err);
		return CTL_EXIT_USAGE;
	}
	if (flags->url[0])
		memcpy(r->conf.url, flags->url, sizeof r->conf.url);
	if (flags->ca[0])
		memcpy(r->conf.ca, flags->ca, sizeof r->conf.ca);
	if (flags->cert[0])
		memcpy(r->conf.cert, flags->cert, sizeof r->conf.cert);
	if (flags->key[0])
		memcpy(r->conf.key, flags->key, sizeof r->conf.key);
	if (flags->timeout)
		r->conf.timeout = flags->timeout;
	if (ctl_conf_check(&r->conf, err, sizeof err)) {
		fprintf(r->err, "lawtap-ctl: %s%s%s%s\n", err, path ? " (config " : "",
		        path ? path : "", path ? ")" : "");
		return CTL_EXIT_USAGE;
	}
	return 0;
}

/* Takes the global options out of argv (wherever they are); the rest stays in order. */
static int globals(struct run *r, int *argc, char **argv, const char **cfile,
                   struct ctl_conf *flags, int *help)
{
	int o = 0;
	for (int i = 0; i < *argc; i++) {
		const char *a = argv[i];
		static const char *const names[] = {"--config", "--url", "--ca",
		                                    "--cert",   "--key", "--timeout"};
		size_t k, n = sizeof names / sizeof *names;
		const char *val = NULL;
		for (k = 0; k < n; k++) {
			size_t l = strlen(names[k]);
			if (!strncmp(a, names[k], l) && (a[l] == 0 || a[l] == '='))
				break;
		}
		if (k < n) {
			size_t l = strlen(names[k]);
			if (a[l] == '=') {
				val = a + l + 1;
			} else if (i + 1 < *argc) {
				val = argv[++i];
			} else {
				return fail_usage(r, "%s needs a value", names[k]);
			}
			if (!*val)
				return fail_usage(r, "%s needs a value", names[k]);
			char *dst = NULL;
			switch (k) {
			case 0:
				*cfile = val;
				break;
			case 1:
				dst = flags->url;
				break;
			case 2:
				dst = flags->ca;
				break;
			case 3:
				dst = flags->cert;
				break;
			case 4:
				dst = flags->key;
				break;
			case 5: {
				char *end;
				long t = strtol(val, &end, 10);
				if (*end || t < 1 || t > 3600)
					return fail_usage(r, "--timeout needs 1..3600 seconds");
				flags->timeout = t;
				break;
			}
			}
			if (dst && snprintf(dst, CTL_PATH_MAX, "%s", val) >= CTL_PATH_MAX)
				return fail_usage(r, "%s: value too long", names[k]);
			continue;
		}
		if (!strcmp(a, "--json")) {
			r->json = 1;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			*help = 1;
			continue;
		}
		argv[o++] = argv[i];
	}
	*argc = o;
	return 0;
}

int ctl_main(int argc, char **argv, FILE *out, FILE *errf)
{
	struct run r = {.out = out, .err = errf};
	struct ctl_conf flags = {0};
	const char *cfile = NULL;
	int help = 0, rc;
	char **args = calloc((size_t)argc + 1, sizeof *args);
	if (!args)
		return CTL_EXIT_USAGE;
	memcpy(args, argv, (size_t)argc * sizeof *args);
	rc = globals(&r, &argc, args, &cfile, &flags, &help);
	if (rc)
		goto out;
	if (help) {
		fputs(usage_text, out);
		goto out;
	}
	if (argc < 1) {
		fputs(usage_text, errf);
		rc = CTL_EXIT_USAGE;
		goto out;
	}
	const char *obj = args[0];
	const char *verb = argc > 1 ? args[1] : NULL;
	struct plan p = {0};
	if (!strcmp(obj, "lea") || !strcmp(obj, "warrant")) {
		if (!verb) {
			rc = fail_usage(&r, "%s needs a verb", obj);
			goto out;
		}
		rc = !strcmp(obj, "lea") ? plan_lea(&r, verb, argc - 2, args + 2, &p)
		                         : plan_warrant(&r, verb, argc - 2, args + 2, &p);
	} else {
		rc = plan_other(&r, obj, verb, verb ? argc - 2 : 0, &p);
	}
	if (rc)
		goto done;
	rc = load_conf(&r, cfile, &flags);
	if (rc)
		goto done;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (p.add || p.remove)
		rc = modify_targets(&r, &p);
	if (!rc) {
		rc = simple(&r, p.method, p.path, p.body, p.how, p.done[0] ? p.done : NULL);
		p.body = NULL; /* taken by simple() */
	}
	curl_global_cleanup();
done:
	json_decref(p.body);
	json_decref(p.add);
	json_decref(p.remove);
out:
	free(args);
	return rc;
}
