/* Names and text forms shared by the writers, the summary and the offline decoder. */
#include <arpa/inet.h>
#include <stdio.h>
#include <time.h>

#include "collector.h"

void col_fmt_time(char *buf, size_t len, int64_t sec, uint32_t usec)
{
	struct tm tm;
	time_t t = (time_t)sec;
	if (len == 0)
		return;
	buf[0] = '\0';
	if ((int64_t)t != sec || usec > 999999 || !gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 ||
	    tm.tm_year + 1900 < 0)
		return;
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)usec);
}

void col_fmt_addr(char *buf, size_t len, int version, const uint8_t *addr)
{
	char tmp[INET6_ADDRSTRLEN];
	if (len == 0)
		return;
	buf[0] = '\0';
	if (version == 4 && inet_ntop(AF_INET, addr, tmp, sizeof tmp))
		snprintf(buf, len, "%s", tmp);
	else if (version == 6 && inet_ntop(AF_INET6, addr, tmp, sizeof tmp))
		snprintf(buf, len, "%s", tmp);
}

void col_fmt_liid(char *buf, size_t len, const uint8_t *liid, size_t liid_len)
{
	size_t o = 0;
	if (len == 0)
		return;
	for (size_t i = 0; i < liid_len; i++) {
		uint8_t c = liid[i];
		char tmp[5];
		size_t n;
		if (c == '\\') {
			tmp[0] = tmp[1] = '\\';
			n = 2;
		} else if (c > 0x20 && c < 0x7f) {
			tmp[0] = (char)c;
			n = 1;
		} else {
			snprintf(tmp, sizeof tmp, "\\x%02x", c);
			n = 4;
		}
		if (o + n >= len)
			break;
		for (size_t k = 0; k < n; k++)
			buf[o++] = tmp[k];
	}
	buf[o] = '\0';
}

const char *col_kind_name(int kind)
{
	switch (kind) {
	case MED_REC_CC:
		return "cc";
	case MED_REC_IRI:
		return "iri";
	case MED_REC_KEEPALIVE:
		return "keepalive";
	case MED_REC_KEEPALIVE_RESP:
		return "keepaliveResponse";
	default:
		return "other";
	}
}

const char *col_dir_name(int dir)
{
	static const char *const names[] = {"fromTarget", "toTarget", "indeterminate", "combined",
	                                    "notapplicable"};
	if (dir >= 0 && dir < (int)(sizeof names / sizeof names[0]))
		return names[dir];
	return "";
}

const char *col_iri_type_name(int type)
{
	static const char *const names[] = {"", "begin", "end", "continue", "report"};
	if (type >= 0 && type < (int)(sizeof names / sizeof names[0]))
		return names[type];
	return "";
}

/* TS 102 232-3 IPIRIContents.accessEventType. */
const char *col_event_name(int event)
{
	static const char *const names[] = {"accessAttempt", "accessAccept",
	                                    "accessReject",  "accessFailed",
	                                    "sessionStart",  "sessionEnd",
	                                    "interimUpdate", "startOfInterceptionWithSessionActive",
	                                    "accessEnd",     "endOfInterceptionWithSessionActive",
	                                    "unknown"};
	if (event >= 0 && event < (int)(sizeof names / sizeof names[0]))
		return names[event];
	return NULL;
}

void col_json_str(FILE *f, const uint8_t *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		uint8_t c = s[i];
		if (c == '"' || c == '\\') {
			fputc('\\', f);
			fputc(c, f);
		} else if (c == '\n') {
			fputs("\\n", f);
		} else if (c == '\r') {
			fputs("\\r", f);
		} else if (c == '\t') {
			fputs("\\t", f);
		} else if (c < 0x20 || c >= 0x7f) {
			fprintf(f, "\\u%04x", c);
		} else {
			fputc(c, f);
		}
	}
	fputc('"', f);
}
