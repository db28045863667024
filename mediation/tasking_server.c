/* mediation/tasking_server.c: the tasking side (lib/tasking.h, docs/tasking.md). The IAP says
 * "HELLO 1 <iap-id>" (the id must equal its certificate CN); the mediator sends the snapshot
 * of tasks (TASKS v n, n TASK lines, COMMIT v), the IAP answers "ACK v". A later change (a
 * window ending) is a new snapshot with a higher version. */
#include "med_int.h"

#include "lib/log.h"
#include "lib/net.h"
#include "lib/timeutil.h"
#include "lib/tls.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define POLL_MS 50 /* how soon a new task version goes out */
#define HELLO_TIMEOUT_MS 10000
#define ACK_WARN_MS 30000
#define IAP_LINE_MAX 256 /* HELLO and ACK lines are short; anything longer is refused */

struct lreader {
	char buf[IAP_LINE_MAX * 2];
	size_t len;
};

/* 1: a line (without '\n') in line; 0: timeout; -1: closed or error; -2: line too long. */
static int read_line(SSL *ssl, struct lreader *r, char *line, size_t cap, int timeout_ms, char *why,
                     size_t whylen)
{
	for (int pass = 0; pass < 2; pass++) {
		char *nl = memchr(r->buf, '\n', r->len);
		if (nl) {
			size_t n = (size_t)(nl - r->buf);
			if (n >= cap)
				return -2;
			memcpy(line, r->buf, n);
			line[n] = '\0';
			if (n && line[n - 1] == '\r')
				line[n - 1] = '\0';
			memmove(r->buf, nl + 1, r->len - n - 1);
			r->len -= n + 1;
			return 1;
		}
		if (r->len >= IAP_LINE_MAX)
			return -2;
		if (pass == 1)
			break;
		long got = lt_tls_read(ssl, r->buf + r->len, sizeof r->buf - r->len, timeout_ms,
		                       why, whylen);
		if (got < 0)
			return -1;
		if (got == 0)
			return 0;
		r->len += (size_t)got;
	}
	return 0;
}

static void send_error(SSL *ssl, const char *text)
{
	char line[160];
	int n = snprintf(line, sizeof line, "ERROR %s\n", text);
	(void)lt_tls_write_all(ssl, line, (size_t)n);
}

static int send_snapshot(struct med_ctx *m, SSL *ssl, const char *id, uint64_t *version)
{
	char *snap = med_tasks_snapshot(m, version);
	if (!snap) {
		lt_err("iap %s tasking: out of memory building the task snapshot", id);
		return -1;
	}
	size_t ntasks = 0;
	for (const char *p = snap; (p = strstr(p, "\nTASK ")) != NULL; p++)
		ntasks++;
	int rc = lt_tls_write_all(ssl, snap, strlen(snap));
	free(snap);
	if (rc != 0) {
		lt_warn("iap %s tasking: link lost while sending tasks version %" PRIu64, id,
		        *version);
		return -1;
	}
	lt_info("iap %s tasking: sent tasks version %" PRIu64 " (%zu tasks)", id, *version, ntasks);
	return 0;
}

/* "HELLO 1 <id>": 0 when it names this IAP, -1 otherwise (error sent and logged). */
static int check_hello(SSL *ssl, const char *id, const char *line)
{
	char word[8], ver[8], hid[IAP_LINE_MAX];
	char extra;
	if (sscanf(line, "%7s %7s %255s %c", word, ver, hid, &extra) != 3 ||
	    strcmp(word, "HELLO") != 0) {
		lt_warn("iap %s tasking: expected HELLO, closing", id);
		send_error(ssl, "expected HELLO 1 <iap-id>");
		return -1;
	}
	if (strcmp(ver, "1") != 0) {
		lt_warn("iap %s tasking: unsupported protocol version in HELLO, closing", id);
		send_error(ssl, "unsupported protocol version");
		return -1;
	}
	if (strcmp(hid, id) != 0) {
		lt_warn("iap %s tasking: HELLO names another IAP id than the certificate CN, "
		        "closing",
		        id);
		send_error(ssl, "iap id does not match the certificate");
		return -1;
	}
	return 0;
}

static void serve(struct med_ctx *m, SSL *ssl, const char *id, const char *peer)
{
	struct lreader r = {.len = 0};
	char line[IAP_LINE_MAX], why[256] = "";
	int64_t t0 = lt_now_ms();
	int rc;
	while ((rc = read_line(ssl, &r, line, sizeof line, POLL_MS, why, sizeof why)) == 0) {
		if (atomic_load(&m->stopping))
			return;
		if (lt_now_ms() - t0 > HELLO_TIMEOUT_MS) {
			lt_warn("iap %s tasking: no HELLO within %d s, closing", id,
			        HELLO_TIMEOUT_MS / 1000);
			return;
		}
	}
	if (rc != 1) {
		lt_warn("iap %s tasking: %s before HELLO", id,
		        rc == -2 ? "line too long" : "connection closed");
		return;
	}
	if (check_hello(ssl, id, line) != 0)
		return;
	uint64_t sent = 0, acked = 0;
	int64_t sent_at = lt_now_ms();
	int warned = 0;
	med_iap_update(m, id, peer, 1, 0, 0, -1);
	if (send_snapshot(m, ssl, id, &sent) != 0)
		return;
	med_iap_update(m, id, NULL, 1, sent, 0, -1);
	while (!atomic_load(&m->stopping)) {
		why[0] = '\0';
		rc = read_line(ssl, &r, line, sizeof line, POLL_MS, why, sizeof why);
		if (rc == -1) {
			lt_info("iap %s tasking: closed: %s", id, why[0] ? why : "closed by peer");
			return;
		}
		if (rc == -2) {
			lt_warn("iap %s tasking: line too long, closing", id);
			send_error(ssl, "line too long");
			return;
		}
		if (rc == 1) {
			uint64_t v;
			char extra;
			if (sscanf(line, "ACK %" SCNu64 " %c", &v, &extra) != 1) {
				lt_warn("iap %s tasking: unexpected line (expected ACK), closing",
				        id);
				send_error(ssl, "expected ACK <version>");
				return;
			}
			if (v != sent)
				lt_warn("iap %s tasking: ACK %" PRIu64
				        " does not match version %" PRIu64 " sent",
				        id, v, sent);
			else
				lt_info("iap %s tasking: ACK %" PRIu64 " after %" PRId64 " ms", id,
				        v, lt_now_ms() - sent_at);
			acked = v;
			med_iap_update(m, id, NULL, 1, sent, acked,
			               v == sent ? (double)(lt_now_ms() - sent_at) : -1);
		}
		if (acked != sent && !warned && lt_now_ms() - sent_at > ACK_WARN_MS) {
			lt_warn("iap %s tasking: no ACK for tasks version %" PRIu64 " after %d s",
			        id, sent, ACK_WARN_MS / 1000);
			warned = 1;
		}
		pthread_mutex_lock(&m->task_mu);
		uint64_t cur = m->task_version;
		pthread_mutex_unlock(&m->task_mu);
		if (cur != sent) {
			sent_at = lt_now_ms();
			warned = 0;
			if (send_snapshot(m, ssl, id, &sent) != 0)
				return;
			med_iap_update(m, id, NULL, 1, sent, acked, -1);
		}
	}
}

void *med_tasking_conn(void *arg)
{
	struct med_conn_arg *a = arg;
	struct med_ctx *m = a->m;
	int fd = a->fd;
	free(a);
	char id[MED_IPID_MAX + 1], peer[64];
	lt_peer_addr(fd, peer, sizeof peer);
	SSL *ssl = med_accept_iap(m, fd, "tasking", id, sizeof id);
	if (ssl) {
		serve(m, ssl, id, peer);
		med_iap_update(m, id, NULL, 0, 0, 0, -1);
		lt_tls_close(ssl);
	}
	med_conn_end(m);
	return NULL;
}
