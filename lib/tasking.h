/* lib/tasking.h: lawtap's tasking protocol (mediator -> IAP), carrying the concepts of
 * ETSI TS 103 221-1 X1 (XID, targets, delivery type, CIN, validity window, version).
 * Text lines over its own mutual-TLS connection that the IAP opens to the mediator; every line
 * ends in '\n' and is at most LT_TASK_LINE_MAX bytes. Full grammar in docs/tasking.md.
 *
 *   IAP -> mediator:  HELLO 1 <iap-id>
 *                     ACK <version>
 *   mediator -> IAP:  TASKS <version> <count>          snapshot header (replaces all tasks)
 *                     TASK <xid> <cin> <full|iri-only> <start|-> <end|-> <target>[,<target>...]
 *                          [filter=<hex of the BPF expression>]    (optional 8th field)
 *                     COMMIT <version>
 *                     ERROR <text>                      (then the mediator closes)
 * <start>/<end> are seconds since 1970 UTC or "-" (open); a target is an IPv4/IPv6 address or
 * prefix ("10.0.0.1", "10.1.0.0/16", "2001:db8::/64"). */
#ifndef LAWTAP_TASKING_H
#define LAWTAP_TASKING_H

#include <stddef.h>
#include <stdint.h>

#define LT_TASK_PROTO_VERSION 1
#define LT_TASK_LINE_MAX (512 * 1024) /* room for 10,000 IPv6 prefixes */
#define LT_TASK_MAX_TASKS 100000
#define LT_TASK_MAX_TARGETS_PER_TASK 10000

enum lt_task_mode { LT_TASK_FULL = 1, LT_TASK_IRI_ONLY = 2 };

struct lt_target {
	int family;       /* 4 or 6 */
	uint8_t addr[16]; /* network byte order; v4 in the first 4 bytes; host bits zero */
	int prefix;       /* 0..32 or 0..128 */
};

struct lt_task {
	uint8_t xid[16];
	uint32_t cin;
	int mode;           /* enum lt_task_mode */
	int64_t start, end; /* seconds since 1970, INT64_MIN / INT64_MAX when open */
	size_t ntargets;
	struct lt_target *targets; /* malloc'd */
	char *filter; /* BPF expression narrowing the matched packets, NULL = none; malloc'd by
	               * lt_task_parse_line (lt_task_format_line only reads it) */
};
#define LT_TASK_FILTER_MAX 1024 /* octets of a filter expression */

/* Parses "10.0.0.1", "10.1.0.0/16", "2001:db8::1", "2001:db8::/64". Host bits beyond the prefix
 * must be zero. 0 or -1 with the reason in err. */
int lt_target_parse(const char *s, struct lt_target *t, char *err, size_t errlen);
/* Formats a target ("10.1.0.0/16"; a full-length prefix prints as a bare address). */
void lt_target_format(const struct lt_target *t, char *buf, size_t len);

/* Parses one TASK line (without the trailing '\n') into t (targets malloc'd). 0 or -1 with the
 * reason in err; on error t is zeroed (nothing to free). Strict: fields separated by exactly
 * one space, 7 fields or 8 with "filter=<hex>" (1..LT_TASK_FILTER_MAX printable octets, lower or
 * upper case hex), printable ASCII only, canonical decimals (no sign or leading zero), cin <=
 * 4294967295, start <= end, 1..LT_TASK_MAX_TARGETS_PER_TASK targets. */
int lt_task_parse_line(const char *line, struct lt_task *t, char *err, size_t errlen);
/* Formats one TASK line with trailing '\n' into a malloc'd string. NULL on ENOMEM, on an
 * invalid task (no targets, bad mode, start > end, negative times) or when the line would exceed
 * LT_TASK_LINE_MAX (lt_task_parse_line would refuse it). */
char *lt_task_format_line(const struct lt_task *t);
void lt_task_clear(struct lt_task *t); /* frees targets; accepts a zeroed task */

#endif
