/* ctl/conf.c: lawtap-ctl's config file, "key = value" lines:
 *
 *   # /etc/lawtap/ctl.conf
 *   url  = https://127.0.0.1:9443
 *   ca   = /etc/lawtap/pki/ca.pem
 *   cert = /etc/lawtap/pki/admin.pem
 *   key  = /etc/lawtap/pki/admin.key
 *   timeout = 30
 *
 * Relative paths are relative to the file's directory. Unknown and repeated keys are refused
 * so a typo never silently falls back to a default. */
#include "ctl.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_CTL 4096

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = 0;
	return s;
}

/* dst = value, made relative to dir when it is a relative path. 0 or -1 (too long). */
static int set_path(char *dst, const char *dir, const char *value)
{
	int n;
	if (value[0] == '/' || !dir[0])
		n = snprintf(dst, CTL_PATH_MAX, "%s", value);
	else
		n = snprintf(dst, CTL_PATH_MAX, "%s/%s", dir, value);
	return n < 0 || n >= CTL_PATH_MAX ? -1 : 0;
}

int ctl_conf_load(const char *path, struct ctl_conf *c, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char dir[CTL_PATH_MAX] = "";
	const char *slash = strrchr(path, '/');
	if (slash)
		snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
	char line[LINE_MAX_CTL];
	unsigned seen = 0;
	int lineno = 0, rc = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			snprintf(err, errlen, "%s:%d: line too long", path, lineno);
			rc = -1;
			break;
		}
		char *s = trim(line);
		if (!*s || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%d: expected 'key = value'", path, lineno);
			rc = -1;
			break;
		}
		*eq = 0;
		char *k = trim(s), *v = trim(eq + 1);
		size_t vl = strlen(v);
		if (vl >= 2 &&
		    ((v[0] == '"' && v[vl - 1] == '"') || (v[0] == '\'' && v[vl - 1] == '\''))) {
			v[vl - 1] = 0;
			v++;
		}
		static const char *keys[] = {"url", "ca", "cert", "key", "timeout"};
		unsigned idx;
		for (idx = 0; idx < sizeof keys / sizeof *keys; idx++)
			if (!strcmp(k, keys[idx]))
				break;
		if (idx == sizeof keys / sizeof *keys) {
			snprintf(err, errlen,
			         "%s:%d: unknown key '%s' (url, ca, cert, key, timeout)", path,
			         lineno, k);
			rc = -1;
			break;
		}
		if (seen & (1u << idx)) {
			snprintf(err, errlen, "%s:%d: '%s' given twice", path, lineno, k);
			rc = -1;
			break;
		}
		seen |= 1u << idx;
		if (!*v) {
			snprintf(err, errlen, "%s:%d: '%s' has no value", path, lineno, k);
			rc = -1;
			break;
		}
		int bad = 0;
		switch (idx) {
		case 0:
			bad = snprintf(c->url, sizeof c->url, "%s", v) >= (int)sizeof c->url;
			break;
		case 1:
			bad = set_path(c->ca, dir, v);
			break;
		case 2:
			bad = set_path(c->cert, dir, v);
			break;
		case 3:
			bad = set_path(c->key, dir, v);
			break;
		case 4: {
			char *end;
			errno = 0;
			long t = strtol(v, &end, 10);
			if (*end || errno || t < 1 || t > 3600) {
				snprintf(err, errlen, "%s:%d: timeout must be 1..3600 seconds",
				         path, lineno);
				rc = -1;
			}
			c->timeout = t;
			break;
		}
		}
		if (rc)
			break;
		if (bad) {
			snprintf(err, errlen, "%s:%d: '%s' is too long", path, lineno, k);
			rc = -1;
			break;
		}
	}
	if (!rc && ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = -1;
	}
	fclose(f);
	return rc;
}

int ctl_conf_check(const struct ctl_conf *c, char *err, size_t errlen)
{
	if (!c->url[0]) {
		snprintf(err, errlen, "no mediator URL: set url in the config file or give --url");
		return -1;
	}
	if (strncmp(c->url, "https://", 8) != 0 || !c->url[8] || c->url[8] == '/') {
		snprintf(err, errlen, "url must be https://HOST:PORT (mutual TLS only), got '%s'",
		         c->url);
		return -1;
	}
	for (const char *p = c->url + 8; *p; p++) {
		if (*p == '/' && p[1]) {
			snprintf(err, errlen, "url must not carry a path, got '%s'", c->url);
			return -1;
		}
		if (isspace((unsigned char)*p)) {
			snprintf(err, errlen, "url must not contain spaces, got '%s'", c->url);
			return -1;
		}
	}
	if (!c->cert[0] || !c->key[0]) {
		snprintf(err, errlen,
		         "no admin certificate: set cert and key in the config file or give "
		         "--cert and --key");
		return -1;
	}
	return 0;
}
