/* ctl/ctl.h: lawtap-ctl, the operator's command-line client of the mediator's provisioning REST
 * API (docs/rest-api.md). The library part (lawtap_ctlcore) holds everything but main(): the
 * config file, the command-line to JSON building, the tables, the HTTPS client. Each piece is
 * usable on its own so tests/unit/test_ctl.c can drive it without a server.
 *
 * Exit codes of the program: 0 ok, 1 the server refused (HTTP status >= 400) or an audit
 * verification failed, 2 usage error, unreadable config, or a connection/TLS failure. */
#ifndef LAWTAP_CTL_H
#define LAWTAP_CTL_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#define CTL_EXIT_OK 0
#define CTL_EXIT_REFUSED 1
#define CTL_EXIT_USAGE 2

#define CTL_PATH_MAX 1024
#define CTL_DEFAULT_CONFIG "/etc/lawtap/ctl.conf"
#define CTL_CONFIG_ENV "LAWTAP_CTL_CONFIG"

/* Where the API is and who we are: url (https://host:port, no path), the CA that signed the
 * mediator's certificate, the admin certificate and its key. "" = not set. */
struct ctl_conf {
	char url[CTL_PATH_MAX];
	char ca[CTL_PATH_MAX];
	char cert[CTL_PATH_MAX];
	char key[CTL_PATH_MAX];
	long timeout; /* seconds for a whole request, 0 = default (30) */
};

/* Reads a config file of "key = value" lines (keys url, ca, cert, key, timeout; '#' starts a
 * comment line; blank lines allowed; unknown keys and repeated keys refused). Relative paths are
 * taken relative to the file's directory. Members already set in c are overwritten. 0, or -1
 * with "FILE:LINE: problem" (or "FILE: reason") in err. */
int ctl_conf_load(const char *path, struct ctl_conf *c, char *err, size_t errlen);
/* Checks a complete config: url is https:// with a host, cert and key are set. 0 or -1. */
int ctl_conf_check(const struct ctl_conf *c, char *err, size_t errlen);

/* ---- command line -> JSON bodies (ctl/build.c) ----
 * argv holds the options after the verb (no program name); positional arguments are refused.
 * Options take "--name value" or "--name=value". Each returns a new JSON object (caller
 * json_decref's) or NULL with the reason in err (a usage error). */
json_t *ctl_build_lea(int argc, char **argv, int modify, char *err, size_t errlen);
json_t *ctl_build_warrant_add(int argc, char **argv, time_t now, char *err, size_t errlen);

/* warrant modify: a PATCH body, and the target edits that need the current target set. The
 * results in *add and *remove (new arrays of strings, or NULL when none) are applied to the
 * warrant's current targets with ctl_targets_edit() before sending. */
json_t *ctl_build_warrant_modify(int argc, char **argv, time_t now, json_t **add, json_t **remove,
                                 char *err, size_t errlen);
/* New array: current minus remove plus add (in order, no duplicate). Removing a target that is
 * not in the set or adding one already there is an error (NULL, reason in err). Targets are
 * compared in their canonical form (lt_target_format: "10.0.0.1/32" is "10.0.0.1"). */
json_t *ctl_targets_edit(const json_t *current, const json_t *add, const json_t *remove, char *err,
                         size_t errlen);

/* "now", "+30s", "+5m", "+2h", "+1d" -> "YYYY-MM-DDTHH:MM:SSZ" relative to now; anything else
 * is returned as is (the server checks ISO 8601). 0 or -1 on a malformed relative form. */
int ctl_time_arg(const char *in, time_t now, char *out, size_t outlen);

/* "NL/LIID-1" -> the API path "/api/v1/warrants/NL/LIID-1" with the LIID percent-encoded
 * (RFC 3986 unreserved characters kept). 0 or -1 (no '/', empty part). */
int ctl_warrant_path(const char *ref, char *out, size_t outlen);

/* ---- tables (ctl/table.c): human-readable output of server answers ---- */
void ctl_print_leas(FILE *f, const json_t *answer);     /* {"leas": [...]} */
void ctl_print_warrants(FILE *f, const json_t *answer); /* {"warrants": [...]} */
void ctl_print_iaps(FILE *f, const json_t *answer);     /* {"iaps": [...]} */
void ctl_print_status(FILE *f, const json_t *answer);   /* GET /status */
void ctl_print_audit(FILE *f, const json_t *answer);    /* {"entries": [...]} */
void ctl_print_object(FILE *f, const json_t *obj);      /* one LEA or warrant: "key: value" */
/* Prints the verification answer; returns 0 when ok is true, -1 otherwise. */
int ctl_print_verify(FILE *f, const json_t *answer);
/* One cell: strings as is, numbers, true/false as yes/no, null as "-", arrays joined by ",",
 * objects compact JSON. Writes at most len-1 bytes. */
void ctl_cell(const json_t *v, char *buf, size_t len);

/* Error text of a refused request: "<status>: <error> (field <field>)" from the server's JSON
 * error, or "<status>: <first line of body>" when it is not one. */
void ctl_error_text(long status, const char *body, char *out, size_t outlen);

/* ---- HTTPS (ctl/http.c) ---- */
struct ctl_resp {
	long status; /* HTTP status; 0 when no answer */
	char *body;  /* malloc'd, NUL-terminated (may be empty) */
	size_t len;
};
/* One request: method (GET/POST/PATCH/DELETE), path ("/api/v1/..."), body (JSON text or NULL).
 * 0 with r filled (any HTTP status), or -1 when no HTTP answer came (connection, TLS, timeout):
 * err gets "URL: reason". ctl_resp_clear() frees the body in both cases. */
int ctl_http(const struct ctl_conf *c, const char *method, const char *path, const char *body,
             struct ctl_resp *r, char *err, size_t errlen);
void ctl_resp_clear(struct ctl_resp *r);

/* The whole program after the program name: returns the exit code. Output on out, messages
 * on errf. */
int ctl_main(int argc, char **argv, FILE *out, FILE *errf);

#endif
