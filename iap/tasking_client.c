/* iap/tasking_client.c: the IAP end of lawtap's tasking protocol (lib/tasking.h).
 * Lines are read into a bounded buffer (LT_TASK_LINE_MAX); a snapshot is collected whole and only
 * then built into a new table, so a bad snapshot never half-applies. */
#include "iap.h"

#include "lib/log.h"
#include "lib/tls.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum snap_state { SNAP_IDLE, SNAP_TASKS, SNAP_COMMIT, SNAP_DONE };

struct iap_snapshot {
	enum snap_state state;
	uint64_t version, applied; /* applied: version of the last completed snapshot */
	int have_applied;
	size_t expected, got;
	struct lt_task *tasks;
};

struct iap_snapshot *iap_snapshot_new(void)
{
	return calloc(1, sizeof(struct iap_snapshot));
}

static void snap_reset(struct iap_snapshot *s)
{
	for (size_t i = 0; i < s->got; i++)
		lt_task_clear(&s->tasks[i]);
	free(s->tasks);
	s->tasks = NULL;
	s->got = s->expected = 0;
	s->state = SNAP_IDLE;
}

void iap_snapshot_free(struct iap_snapshot *s)
{
	if (!s)
		return;
	snap_reset(s);
	free(s);
}

/* Strict unsigned decimal word: digits only, no sign, no overflow past max. Advances *p past
 * the word and one following space (if any). 0 or -1. */
static int take_u64(const char **p, uint64_t max, uint64_t *out)
{
	const char *s = *p;
	uint64_t v = 0;
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (*s == ' ')
		s++;
	else if (*s != '\0')
		return -1;
	*p = s;
	*out = v;
	return 0;
}

static int starts(const char *line, const char *word)
{
	size_t n = strlen(word);
	return strncmp(line, word, n) == 0 && line[n] == ' ';
}

static int bad(char *err, size_t errlen, const char *line, const char *why)
{
	snprintf(err, errlen, "tasking line \"%.80s%s\": %s", line, strlen(line) > 80 ? "..." : "",
	         why);
	return -1;
}

int iap_snapshot_feed(struct iap_snapshot *s, const char *line, char *err, size_t errlen)
{
	char why[256];
	if (starts(line, "ERROR")) {
		snprintf(err, errlen, "tasking: mediator reported an error: %.200s", line + 6);
		return -1;
	}
	switch (s->state) {
	case SNAP_IDLE: {
		const char *p = line + 6;
		uint64_t v, n;
		if (!starts(line, "TASKS"))
			return bad(err, errlen, line, "expected TASKS <version> <count>");
		if (take_u64(&p, UINT64_MAX, &v) || take_u64(&p, LT_TASK_MAX_TASKS, &n) || *p)
			return bad(err, errlen, line, "expected TASKS <version> <count>");
		if (s->have_applied && v <= s->applied)
			return bad(err, errlen, line, "version not above the one already applied");
		s->tasks = calloc(n ? n : 1, sizeof *s->tasks);
		if (!s->tasks)
			return bad(err, errlen, line, "out of memory");
		s->version = v;
		s->expected = n;
		s->got = 0;
		s->state = n ? SNAP_TASKS : SNAP_COMMIT;
		return 0;
	}
	case SNAP_TASKS:
		if (!starts(line, "TASK"))
			return bad(err, errlen, line, "expected TASK");
		if (lt_task_parse_line(line, &s->tasks[s->got], why, sizeof why) != 0)
			return bad(err, errlen, line, why);
		if (++s->got == s->expected)
			s->state = SNAP_COMMIT;
		return 0;
	case SNAP_COMMIT: {
		const char *p = line + 7;
		uint64_t v;
		if (!starts(line, "COMMIT") || take_u64(&p, UINT64_MAX, &v) || *p)
			return bad(err, errlen, line, "expected COMMIT <version>");
		if (v != s->version)
			return bad(err, errlen, line, "COMMIT version differs from TASKS");
		s->state = SNAP_DONE;
		return 1;
	}
	case SNAP_DONE:
	default:
		return bad(err, errlen, line, "snapshot not yet built");
	}
}

struct iap_targets *iap_snapshot_build(struct iap_snapshot *s, uint64_t *version, char *err,
                                       size_t errlen)
{
	if (s->state != SNAP_DONE) {
		snprintf(err, errlen, "no complete snapshot");
		return NULL;
	}
	struct lt_task *tasks = s->tasks;
	size_t n = s->got;
	s->tasks = NULL;
	s->got = 0;
	s->state = SNAP_IDLE;
	struct iap_targets *t = iap_targets_new_take(tasks, n, err, errlen);
	if (t) {
		s->applied = s->version;
		s->have_applied = 1;
		*version = s->version;
	}
	return t;
}

/* ---- the link ---- */
struct iap_tasking {
	SSL *ssl;
	struct iap_snapshot *snap;
	size_t rlen;
	char rbuf[LT_TASK_LINE_MAX + 1]; /* one maximal line plus its '\n' */
};

static int send_line(SSL *ssl, const char *line)
{
	char why[300];
	if (iap_tls_write(ssl, line, strlen(line), IAP_WRITE_TIMEOUT_MS, why, sizeof why) == 0)
		return 0;
	lt_err("tasking link: %s", why);
	return -1;
}

struct iap_tasking *iap_tasking_new_take(SSL *ssl, const char *iap_id, char *err, size_t errlen)
{
	struct iap_tasking *t = calloc(1, sizeof *t);
	char hello[64];
	if (!t || !(t->snap = iap_snapshot_new())) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	t->ssl = ssl;
	if (iap_tls_set_nonblock(ssl) != 0) {
		snprintf(err, errlen, "cannot make the socket non-blocking");
		goto fail;
	}
	snprintf(hello, sizeof hello, "HELLO %d %s\n", LT_TASK_PROTO_VERSION, iap_id);
	if (send_line(ssl, hello) != 0) {
		snprintf(err, errlen, "cannot send HELLO: link failed");
		goto fail;
	}
	return t;
fail:
	if (t)
		t->ssl = ssl;
	else
		lt_tls_close(ssl);
	iap_tasking_free(t);
	return NULL;
}

void iap_tasking_free(struct iap_tasking *t)
{
	if (!t)
		return;
	lt_tls_close(t->ssl);
	iap_snapshot_free(t->snap);
	free(t);
}

int iap_tasking_fd(const struct iap_tasking *t)
{
	return SSL_get_fd(t->ssl);
}

/* Handles the complete lines in the buffer. 1 snapshot done, 0 need more, -1 error. */
static int take_lines(struct iap_tasking *t, struct iap_targets **out, uint64_t *version)
{
	char err[512];
	char *nl;
	while ((nl = memchr(t->rbuf, '\n', t->rlen)) != NULL) {
		size_t n = (size_t)(nl - t->rbuf);
		int has_nul = memchr(t->rbuf, '\0', n) != NULL;
		*nl = '\0';
		if (n > 0 && t->rbuf[n - 1] == '\r')
			t->rbuf[n - 1] = '\0';
		int rc = has_nul ? bad(err, sizeof err, t->rbuf, "NUL byte in line")
		                 : iap_snapshot_feed(t->snap, t->rbuf, err, sizeof err);
		memmove(t->rbuf, nl + 1, t->rlen - n - 1);
		t->rlen -= n + 1;
		if (rc < 0) {
			lt_err("%s", err);
			return -1;
		}
		if (rc == 1) {
			*out = iap_snapshot_build(t->snap, version, err, sizeof err);
			if (!*out) {
				lt_err("tasking: snapshot refused: %s", err);
				return -1;
			}
			return 1;
		}
	}
	if (t->rlen == sizeof t->rbuf) {
		t->rbuf[80] = '\0';
		lt_err("tasking line \"%s...\": longer than %d bytes", t->rbuf, LT_TASK_LINE_MAX);
		return -1;
	}
	return 0;
}

int iap_tasking_poll(struct iap_tasking *t, int timeout_ms, struct iap_targets **out,
                     uint64_t *version)
{
	char why[256];
	for (;;) {
		int rc = take_lines(t, out, version);
		if (rc != 0)
			return rc;
		long n = iap_tls_read(t->ssl, t->rbuf + t->rlen, sizeof t->rbuf - t->rlen,
		                      timeout_ms, why, sizeof why);
		if (n == 0)
			return 0;
		if (n < 0) {
			lt_err("tasking link: %s", why);
			return -1;
		}
		t->rlen += (size_t)n;
		timeout_ms = 0;
	}
}

int iap_tasking_ack(struct iap_tasking *t, uint64_t version)
{
	char line[40];
	snprintf(line, sizeof line, "ACK %" PRIu64 "\n", version);
	if (send_line(t->ssl, line) != 0) {
		lt_err("tasking link: cannot send ACK %" PRIu64, version);
		return -1;
	}
	return 0;
}
