/* lib/tasking.c: targets and TASK lines of lawtap's tasking protocol (lib/tasking.h).
 * Strict: one space between fields, no extra fields, canonical decimal numbers. */
#include "tasking.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "x2x3.h"

#define TARGET_TEXT_MAX 50 /* "ffff:...:255.255.255.255/128" is 49 characters */

__attribute__((format(printf, 3, 4))) static int seterr(char *err, size_t errlen, const char *fmt,
                                                        ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Parses a canonical unsigned decimal of [s, s+n) (no sign, no leading zero, at most 19
 * digits) not above max. 0 or -1. */
static int parse_udec(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 19 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0'); /* 19 digits cannot overflow u64 */
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int lt_target_parse(const char *s, struct lt_target *t, char *err, size_t errlen)
{
	char buf[TARGET_TEXT_MAX + 1];
	struct lt_target r;
	size_t n = s ? strnlen(s, TARGET_TEXT_MAX + 1) : 0;

	memset(&r, 0, sizeof r);
	if (n == 0)
		return seterr(err, errlen, "empty target");
	if (n > TARGET_TEXT_MAX)
		return seterr(err, errlen, "target too long");
	memcpy(buf, s, n);
	buf[n] = '\0';

	char *slash = strchr(buf, '/');
	r.family = strchr(buf, ':') ? 6 : 4;
	int maxp = r.family == 6 ? 128 : 32;
	r.prefix = maxp;
	if (slash) {
		uint64_t p;
		*slash = '\0';
		if (parse_udec(slash + 1, strlen(slash + 1), (uint64_t)maxp, &p) != 0)
			return seterr(err, errlen, "bad prefix length in target \"%.*s\" (0..%d)",
			              (int)n, s, maxp);
		r.prefix = (int)p;
	}
	if (inet_pton(r.family == 6 ? AF_INET6 : AF_INET, buf, r.addr) != 1)
		return seterr(err, errlen, "bad IPv%d address in target \"%.*s\"", r.family, (int)n,
		              s);
	/* Host bits beyond the prefix must be zero: "10.1.2.0/16" is a typo, not a network. */
	int nbytes = maxp / 8;
	for (int i = 0; i < nbytes; i++) {
		int bit0 = i * 8;
		uint8_t mask = bit0 >= r.prefix       ? 0xff
		               : bit0 + 8 <= r.prefix ? 0x00
		                                      : (uint8_t)(0xffu >> (r.prefix - bit0));
		if (r.addr[i] & mask)
			return seterr(err, errlen, "target \"%.*s\" has host bits set beyond /%d",
			              (int)n, s, r.prefix);
	}
	*t = r;
	return 0;
}

void lt_target_format(const struct lt_target *t, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	int v6 = t->family == 6;
	if (!buf || !len)
		return;
	if (!inet_ntop(v6 ? AF_INET6 : AF_INET, t->addr, a, sizeof a)) {
		snprintf(buf, len, "?");
		return;
	}
	if (t->prefix == (v6 ? 128 : 32))
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s/%d", a, t->prefix);
}

void lt_task_clear(struct lt_task *t)
{
	if (!t)
		return;
	free(t->targets);
	free(t->filter);
	memset(t, 0, sizeof *t);
}

/* Splits off the next field of *p (ended by a single ' ' or the end); NULL when there is none
 * or it is empty. */
static const char *next_field(const char **p, size_t *n)
{
	const char *s = *p;
	if (!s || !*s)
		return NULL;
	const char *sp = strchr(s, ' ');
	*n = sp ? (size_t)(sp - s) : strlen(s);
	*p = sp ? sp + 1 : NULL;
	if (sp && !sp[1])
		*p = ""; /* trailing space: an empty last field */
	return *n ? s : NULL;
}

static int parse_time(const char *s, size_t n, int64_t open, int64_t *out)
{
	uint64_t v;
	if (n == 1 && s[0] == '-') {
		*out = open;
		return 0;
	}
	if (parse_udec(s, n, (uint64_t)INT64_MAX - 1, &v) != 0)
		return -1;
	*out = (int64_t)v;
	return 0;
}

int lt_task_parse_line(const char *line, struct lt_task *t, char *err, size_t errlen)
{
	static const char *const names[] = {"TASK",  "xid", "cin",    "mode",
	                                    "start", "end", "targets"};
	const char *f[7];
	size_t fl[7];
	const char *p = line;
	struct lt_task r;
	uint64_t v;

	memset(t, 0, sizeof *t);
	memset(&r, 0, sizeof r);
	if (!line)
		return seterr(err, errlen, "no line");
	size_t len = strnlen(line, LT_TASK_LINE_MAX + 1);
	if (len > LT_TASK_LINE_MAX)
		return seterr(err, errlen, "TASK line longer than %d bytes", LT_TASK_LINE_MAX);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c < 0x21 && c != ' ')
			return seterr(err, errlen, "control character in TASK line");
		if (c > 0x7e)
			return seterr(err, errlen, "non-ASCII byte in TASK line");
	}
	for (int i = 0; i < 7; i++) {
		f[i] = next_field(&p, &fl[i]);
		if (!f[i])
			return seterr(err, errlen, "TASK line: missing or empty field %s",
			              names[i]);
	}
	const char *ff = NULL;
	size_t ffl = 0;
	if (p) {
		ff = next_field(&p, &ffl);
		if (!ff || p || ffl < 7 || memcmp(ff, "filter=", 7) != 0)
			return seterr(err, errlen, "TASK line: extra fields after the targets");
		ff += 7;
		ffl -= 7;
		if (ffl == 0 || ffl % 2 || ffl / 2 > LT_TASK_FILTER_MAX)
			return seterr(
			    err, errlen,
			    "TASK line: bad filter (even number of hex digits, at most %d "
			    "octets)",
			    LT_TASK_FILTER_MAX);
	}
	if (fl[0] != 4 || memcmp(f[0], "TASK", 4) != 0)
		return seterr(err, errlen, "not a TASK line");

	char xid[37];
	if (fl[1] != 36)
		return seterr(err, errlen, "TASK line: bad xid (expected a UUID)");
	memcpy(xid, f[1], 36);
	xid[36] = '\0';
	if (lt_uuid_parse(xid, r.xid) != 0)
		return seterr(err, errlen, "TASK line: bad xid \"%s\" (expected a UUID)", xid);
	if (parse_udec(f[2], fl[2], UINT32_MAX, &v) != 0)
		return seterr(err, errlen, "TASK line: bad cin \"%.*s\" (0..4294967295)",
		              (int)(fl[2] > 20 ? 20 : fl[2]), f[2]);
	r.cin = (uint32_t)v;
	if (fl[3] == 4 && memcmp(f[3], "full", 4) == 0)
		r.mode = LT_TASK_FULL;
	else if (fl[3] == 8 && memcmp(f[3], "iri-only", 8) == 0)
		r.mode = LT_TASK_IRI_ONLY;
	else
		return seterr(err, errlen, "TASK line: bad mode (full or iri-only)");
	if (parse_time(f[4], fl[4], INT64_MIN, &r.start) != 0)
		return seterr(err, errlen, "TASK line: bad start (seconds since 1970 or -)");
	if (parse_time(f[5], fl[5], INT64_MAX, &r.end) != 0)
		return seterr(err, errlen, "TASK line: bad end (seconds since 1970 or -)");
	if (r.start > r.end)
		return seterr(err, errlen, "TASK line: start is after end");

	/* Targets: count first (bounded), then parse each. */
	size_t count = 1;
	for (size_t i = 0; i < fl[6]; i++)
		count += f[6][i] == ',';
	if (count > LT_TASK_MAX_TARGETS_PER_TASK)
		return seterr(err, errlen, "TASK line: more than %d targets",
		              LT_TASK_MAX_TARGETS_PER_TASK);
	r.targets = calloc(count, sizeof *r.targets);
	if (!r.targets)
		return seterr(err, errlen, "out of memory");
	const char *s = f[6];
	const char *end = f[6] + fl[6];
	for (size_t i = 0; i < count; i++) {
		const char *c = memchr(s, ',', (size_t)(end - s));
		size_t n = c ? (size_t)(c - s) : (size_t)(end - s);
		char tb[TARGET_TEXT_MAX + 1];
		char why[128];
		if (n == 0 || n > TARGET_TEXT_MAX) {
			free(r.targets);
			return seterr(err, errlen, "TASK line: target %zu is %s", i + 1,
			              n ? "too long" : "empty");
		}
		memcpy(tb, s, n);
		tb[n] = '\0';
		if (lt_target_parse(tb, &r.targets[i], why, sizeof why) != 0) {
			free(r.targets);
			return seterr(err, errlen, "TASK line: %s", why);
		}
		s = c ? c + 1 : end;
	}
	r.ntargets = count;
	if (ff) {
		r.filter = malloc(ffl / 2 + 1);
		if (!r.filter) {
			free(r.targets);
			return seterr(err, errlen, "out of memory");
		}
		for (size_t i = 0; i < ffl / 2; i++) {
			int hv = 0;
			for (int k = 0; k < 2; k++) {
				char c = ff[2 * i + (size_t)k];
				int d = c >= '0' && c <= '9'   ? c - '0'
				        : c >= 'a' && c <= 'f' ? c - 'a' + 10
				        : c >= 'A' && c <= 'F' ? c - 'A' + 10
				                               : -1;
				hv = hv * 16 + d;
				if (d < 0)
					hv = -1000;
			}
			if (hv < 0x20 || hv > 0x7e) {
				free(r.targets);
				free(r.filter);
				return seterr(err, errlen,
				              "TASK line: bad filter (hex of printable ASCII)");
			}
			r.filter[i] = (char)hv;
		}
		r.filter[ffl / 2] = '\0';
	}
	*t = r;
	return 0;
}

char *lt_task_format_line(const struct lt_task *t)
{
	char xid[37], st[24], en[24];
	if (!t || t->ntargets == 0 || t->ntargets > LT_TASK_MAX_TARGETS_PER_TASK || !t->targets ||
	    (t->mode != LT_TASK_FULL && t->mode != LT_TASK_IRI_ONLY) || t->start > t->end ||
	    (t->start != INT64_MIN && (t->start < 0 || t->start == INT64_MAX)) ||
	    (t->end != INT64_MAX && t->end < 0))
		return NULL;
	lt_uuid_format(t->xid, xid);
	if (t->start == INT64_MIN)
		snprintf(st, sizeof st, "-");
	else
		snprintf(st, sizeof st, "%lld", (long long)t->start);
	if (t->end == INT64_MAX)
		snprintf(en, sizeof en, "-");
	else
		snprintf(en, sizeof en, "%lld", (long long)t->end);

	size_t flen = t->filter ? strlen(t->filter) : 0;
	if (flen > LT_TASK_FILTER_MAX)
		return NULL;
	for (size_t i = 0; i < flen; i++)
		if (t->filter[i] < 0x20 || t->filter[i] > 0x7e)
			return NULL;
	size_t cap = 128 + t->ntargets * (TARGET_TEXT_MAX + 1) + (flen ? 8 + 2 * flen : 0);
	char *out = malloc(cap);
	if (!out)
		return NULL;
	int n = snprintf(out, cap, "TASK %s %lu %s %s %s ", xid, (unsigned long)t->cin,
	                 t->mode == LT_TASK_FULL ? "full" : "iri-only", st, en);
	size_t pos = (size_t)n;
	for (size_t i = 0; i < t->ntargets; i++) {
		char tb[TARGET_TEXT_MAX + 1];
		lt_target_format(&t->targets[i], tb, sizeof tb);
		pos += (size_t)snprintf(out + pos, cap - pos, "%s%s", i ? "," : "", tb);
	}
	if (flen) {
		pos += (size_t)snprintf(out + pos, cap - pos, " filter=");
		for (size_t i = 0; i < flen; i++)
			pos += (size_t)snprintf(out + pos, cap - pos, "%02x",
			                        (unsigned char)t->filter[i]);
	}
	/* The receiver refuses lines above LT_TASK_LINE_MAX (without '\n'). */
	if (pos > LT_TASK_LINE_MAX) {
		free(out);
		return NULL;
	}
	out[pos++] = '\n';
	out[pos] = '\0';
	return out;
}
