/* The HI2 and HI3 TLS listeners: one accept thread per port, one thread per connection. The
 * mediator is the TLS client and must present a certificate of the mediator role. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include "lib/log.h"
#include "lib/net.h"
#include "lib/timeutil.h"

#define MAX_CONNS 64
#define POLL_MS 200        /* how often blocked threads look at the stop flag */
#define HANDSHAKE_MS 10000 /* a client that does not finish the handshake in time is dropped */
#define STOP_READ_MS 2000  /* after stop: keep reading what is in flight for at most this */
#define REPLY_MS 10000 /* a keep-alive response that cannot be sent in this time fails the link */

struct listener {
	struct col_server *srv;
	int fd, hi;
	pthread_t th;
	int started;
};

struct col_server {
	SSL_CTX *ctx;
	struct col_store *store;
	atomic_int stop;
	struct listener l[2];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int active;
	int fds[MAX_CONNS]; /* sockets of live connections, -1 = free */
};

struct conn {
	struct col_server *srv;
	int fd, hi, slot;
};

/* A connection's TLS link. After the handshake its socket stays non-blocking and OpenSSL reads
 * ahead: one recv brings in many TLS records, and a read takes every record that is already
 * there (up to the free space of the stream), so one drain sees a batch of PS-PDUs instead of
 * one TLS record's worth. */
/* New connections accept PDU acknowledgement (col_server_set_pdu_ack). */
static atomic_int g_pdu_ack = 1;

struct link {
	SSL *ssl;
	int fd;
	int failed; /* the link failed after bytes were returned: report it on the next read */
	char why[160];
};

/* Reads into buf[room]: bytes read (> 0), 0 when nothing came within timeout_ms, -1 when the
 * link is closed or failed (reason in lk->why). */
static long link_read(struct link *lk, uint8_t *buf, size_t room, int timeout_ms)
{
	if (lk->failed)
		return -1;
	size_t got = 0;
	int64_t deadline = lt_now_ms() + timeout_ms;
	ERR_clear_error(); /* SSL_get_error needs an empty queue */
	while (got < room) {
		size_t want = room - got > INT_MAX ? INT_MAX : room - got;
		/* The error queue is empty here: every failure below clears it. */
		int n = SSL_read(lk->ssl, buf + got, (int)want);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		int e = SSL_get_error(lk->ssl, n);
		int saved = errno;
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			ERR_clear_error();
			if (got)
				break;
			int64_t left = deadline - lt_now_ms();
			if (left <= 0)
				return 0;
			struct pollfd p = {.fd = lk->fd,
			                   .events = e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN};
			int pr = poll(&p, 1, (int)left);
			if (pr == 0)
				return 0;
			if (pr < 0 && errno != EINTR) {
				snprintf(lk->why, sizeof lk->why, "poll: %s", strerror(errno));
				lk->failed = 1;
				return -1;
			}
			continue;
		}
		if (e == SSL_ERROR_ZERO_RETURN) {
			snprintf(lk->why, sizeof lk->why, "peer closed the connection");
		} else if (e == SSL_ERROR_SYSCALL) {
			snprintf(lk->why, sizeof lk->why, "connection lost: %s",
			         saved ? strerror(saved) : "unexpected EOF");
		} else {
			char b[120];
			ERR_error_string_n(ERR_peek_last_error(), b, sizeof b);
			snprintf(lk->why, sizeof lk->why, "TLS error: %s", b);
		}
		ERR_clear_error();
		lk->failed = 1;
		if (got)
			break; /* hand over what came before the end first */
		return -1;
	}
	return (long)got;
}

/* Writes all of buf (a keep-alive response) on the non-blocking socket, waiting for room for
 * at most REPLY_MS. 0 or -1. */
static int link_write(void *arg, const uint8_t *buf, size_t len)
{
	struct link *lk = arg;
	int64_t deadline = lt_now_ms() + REPLY_MS;
	while (len > 0) {
		int chunk = len > INT_MAX ? INT_MAX : (int)len;
		ERR_clear_error();
		int n = SSL_write(lk->ssl, buf, chunk);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		int e = SSL_get_error(lk->ssl, n);
		ERR_clear_error();
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return -1;
		int64_t left = deadline - lt_now_ms();
		if (left <= 0)
			return -1;
		struct pollfd p = {.fd = lk->fd,
		                   .events = e == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN};
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			return -1;
	}
	return 0;
}

static void release(struct conn *c)
{
	struct col_server *srv = c->srv;
	pthread_mutex_lock(&srv->mu);
	srv->fds[c->slot] = -1;
	srv->active--;
	pthread_cond_broadcast(&srv->cv);
	pthread_mutex_unlock(&srv->mu);
}

static void receive(struct col_server *srv, struct col_session *cs, struct link *lk)
{
	int64_t stop_at = 0;
	for (;;) {
		size_t room;
		uint8_t *p = col_stream_space(cs->stream, &room);
		long n = link_read(lk, p, room, POLL_MS);
		if (n > 0) {
			col_stream_commit(cs->stream, (size_t)n);
			if (col_session_drain(cs) != 0)
				return;
		} else if (n < 0) {
			if (col_stream_pending(cs->stream) > 0)
				lt_warn("%s: closed in the middle of a record at offset %llu (%zu "
				        "bytes "
				        "discarded)",
				        cs->name, (unsigned long long)col_stream_offset(cs->stream),
				        col_stream_pending(cs->stream));
			lt_info("%s: closed (%s) after %llu records, %llu keep-alives", cs->name,
			        lk->why[0] ? lk->why : "EOF", (unsigned long long)cs->records,
			        (unsigned long long)cs->keepalives);
			return;
		}
		if (!atomic_load(&srv->stop))
			continue;
		/* Stopping: take what is in flight until the link is idle, for a bounded time. */
		if (!stop_at)
			stop_at = lt_now_ms() + STOP_READ_MS;
		if (n == 0 || lt_now_ms() >= stop_at) {
			lt_info("%s: closing at shutdown after %llu records, %llu keep-alives",
			        cs->name, (unsigned long long)cs->records,
			        (unsigned long long)cs->keepalives);
			return;
		}
	}
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	struct col_server *srv = c->srv;
	struct col_session cs;
	char peer[80], why[256] = "";
	memset(&cs, 0, sizeof cs);
	lt_peer_addr(c->fd, peer, sizeof peer);
	snprintf(cs.name, sizeof cs.name, "hi%d %s", c->hi, peer);
	SSL *ssl = lt_tls_accept(srv->ctx, c->fd, LT_ROLE_MEDIATOR, HANDSHAKE_MS, why, sizeof why);
	if (!ssl) {
		lt_warn("%s: connection refused: %s", cs.name,
		        why[0] ? why : "TLS handshake failed");
		release(c);
		close(c->fd);
		free(c);
		return NULL;
	}
	char subj[256] = "";
	lt_tls_peer_subject(ssl, subj, sizeof subj);
	lt_info("%s: mediator connected (%s)", cs.name, subj);
	struct link lk = {.ssl = ssl, .fd = c->fd};
	int fl = fcntl(c->fd, F_GETFL);
	SSL_set_read_ahead(ssl, 1);
	cs.stream = col_stream_new();
	cs.store = srv->store;
	cs.hi = c->hi;
	cs.reply = link_write;
	cs.reply_arg = &lk;
	struct ho_pa_col_conf pc = {.accept = atomic_load(&g_pdu_ack)};
	ho_pa_col_init(&cs.pa, &pc);
	if (!cs.stream)
		lt_err("%s: out of memory", cs.name);
	else if (fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) != 0)
		lt_err("%s: cannot make the socket non-blocking: %s", cs.name, strerror(errno));
	else
		receive(srv, &cs, &lk);
	col_stream_free(cs.stream);
	/* Free the TLS session before release(): col_server_stop returns once no connection is
	 * active, and the process may exit right after (LeakSanitizer saw half-freed SSL objects
	 * when this came after). The socket stays open until its slot is released, so the stop
	 * path never shuts down a descriptor number already reused. */
	SSL_shutdown(ssl);
	SSL_free(ssl);
	release(c);
	close(c->fd);
	free(c);
	return NULL;
}

static void accept_one(struct listener *l, int fd)
{
	struct col_server *srv = l->srv;
	struct conn *c = calloc(1, sizeof *c);
	int slot = -1;
	pthread_mutex_lock(&srv->mu);
	for (int i = 0; i < MAX_CONNS && c; i++) {
		if (srv->fds[i] < 0) {
			slot = i;
			srv->fds[i] = fd;
			srv->active++;
			break;
		}
	}
	pthread_mutex_unlock(&srv->mu);
	if (slot < 0) {
		char peer[80];
		lt_peer_addr(fd, peer, sizeof peer);
		lt_warn("hi%d %s: connection refused: %s", l->hi, peer,
		        c ? "too many connections" : "out of memory");
		close(fd);
		free(c);
		return;
	}
	*c = (struct conn){srv, fd, l->hi, slot};
	pthread_attr_t attr;
	pthread_t th;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&th, &attr, conn_main, c) != 0) {
		lt_err("hi%d: cannot start a connection thread", l->hi);
		release(c);
		close(fd);
		free(c);
	}
	pthread_attr_destroy(&attr);
}

static void *listen_main(void *arg)
{
	struct listener *l = arg;
	while (!atomic_load(&l->srv->stop)) {
		int fd = lt_tcp_accept(l->fd, POLL_MS);
		if (fd >= 0) {
			accept_one(l, fd);
		} else if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
			lt_err("hi%d: accept failed: %s", l->hi, strerror(errno));
			struct timespec ts = {0, 100 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

void col_server_set_pdu_ack(int accept)
{
	atomic_store(&g_pdu_ack, accept ? 1 : 0);
}

struct col_server *col_server_start(const char *hi2, const char *hi3, const struct lt_tls_conf *tls,
                                    struct col_store *store, char *err, size_t errlen)
{
	struct col_server *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	atomic_init(&s->stop, 0);
	s->store = store;
	for (int i = 0; i < MAX_CONNS; i++)
		s->fds[i] = -1;
	s->l[0].fd = s->l[1].fd = -1;
	char why[256];
	s->ctx = lt_tls_ctx_new(tls, 1, why, sizeof why);
	if (!s->ctx) {
		snprintf(err, errlen, "TLS: %s", why);
		goto fail;
	}
	const char *addr[2] = {hi2, hi3};
	for (int i = 0; i < 2; i++) {
		struct listener *l = &s->l[i];
		l->srv = s;
		l->hi = i == 0 ? COL_HI2 : COL_HI3;
		l->fd = lt_tcp_listen(addr[i], why, sizeof why);
		if (l->fd < 0) {
			snprintf(err, errlen, "hi%d %s: %s", l->hi, addr[i], why);
			goto fail;
		}
		lt_info("hi%d: listening on %s (port %d)", l->hi, addr[i],
		        lt_tcp_local_port(l->fd));
	}
	for (int i = 0; i < 2; i++) {
		if (pthread_create(&s->l[i].th, NULL, listen_main, &s->l[i]) != 0) {
			snprintf(err, errlen, "cannot start the listener threads");
			goto fail;
		}
		s->l[i].started = 1;
	}
	return s;
fail:
	col_server_stop(s);
	return NULL;
}

void col_server_stop(struct col_server *s)
{
	if (!s)
		return;
	atomic_store(&s->stop, 1);
	for (int i = 0; i < 2; i++) {
		if (s->l[i].started)
			pthread_join(s->l[i].th, NULL);
		if (s->l[i].fd >= 0)
			close(s->l[i].fd);
	}
	/* Connections notice the flag within POLL_MS (+ STOP_READ_MS when busy); a handshake in
	 * progress is cut short after a grace period. */
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += STOP_READ_MS / 1000 + 1;
	pthread_mutex_lock(&s->mu);
	while (s->active > 0 && pthread_cond_timedwait(&s->cv, &s->mu, &until) == 0)
		;
	for (int i = 0; i < MAX_CONNS && s->active > 0; i++)
		if (s->fds[i] >= 0)
			shutdown(s->fds[i], SHUT_RDWR);
	while (s->active > 0)
		pthread_cond_wait(&s->cv, &s->mu);
	pthread_mutex_unlock(&s->mu);
	lt_tls_ctx_free(s->ctx);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
