/* tests/tools/ltproxy.c: a small TCP proxy that cuts its connections, for fault tests.
 *
 *   ltproxy LISTEN_PORT TARGET_HOST:PORT [--cut-every-bytes N | --cut-every-ms N]
 *           [--control FILE] [--rst | --fin] [--stall-after-bytes N] [--rcvbuf N]
 *
 * Listens on 127.0.0.1:LISTEN_PORT, connects each client to TARGET and forwards bytes both ways
 * (one poll loop, bounded buffers). Cuts every connection at once after N bytes forwarded since
 * the last cut (both directions, all connections), or every N ms while connections exist; a cut
 * alternates RST (SO_LINGER 0) and FIN unless --rst or --fin. --control FILE is read every
 * 100 ms: "cut" cuts now (the file is then removed); "hold" cuts and closes every new client
 * until the file says "pass"; "calm" stops the automatic cuts (for a clean end of a test).
 * --stall-after-bytes N: once N bytes went from the clients to the target, the proxy stops
 * reading from the clients (a peer that takes no data: their writes back up) until the control
 * file says "pass"; the other direction keeps flowing. --rcvbuf N sets SO_RCVBUF of each
 * accepted client socket (a small one makes a stall felt at once). Every
 * cut is logged on stderr; at SIGTERM/SIGINT prints "cuts=N connections=N bytes=N" on stdout and
 * exits 0. Exit 2 on usage error. */
#include "lib/net.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PAIRS 64
#define BUF 65536

struct dirbuf {
	uint8_t b[BUF];
	size_t len;
};

struct pair {
	int fd[2];          /* 0 client, 1 target */
	struct dirbuf d[2]; /* d[i]: bytes read from fd[i], to be written to fd[1 - i] */
};

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static struct pair *pairs[MAX_PAIRS];
static uint64_t total_bytes, since_cut, ncuts, nconns;
static int mode_rst = -1;              /* -1 alternate, 1 RST, 0 FIN */
static uint64_t stall_after, up_bytes; /* --stall-after-bytes; bytes client -> target */
static int stalled;

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int fd, int rst)
{
	if (fd < 0)
		return;
	if (rst) {
		struct linger l = {.l_onoff = 1, .l_linger = 0};
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
	} else {
		shutdown(fd, SHUT_RDWR);
	}
	close(fd);
}

static void drop_pair(int i, int rst)
{
	close_fd(pairs[i]->fd[0], rst);
	close_fd(pairs[i]->fd[1], rst);
	free(pairs[i]);
	pairs[i] = NULL;
}

static int npairs(void)
{
	int n = 0;
	for (int i = 0; i < MAX_PAIRS; i++)
		n += pairs[i] != NULL;
	return n;
}

static void cut_all(const char *why)
{
	int rst = mode_rst >= 0 ? mode_rst : (int)(ncuts % 2 == 0);
	int n = npairs();
	for (int i = 0; i < MAX_PAIRS; i++)
		if (pairs[i])
			drop_pair(i, rst);
	ncuts++;
	fprintf(stderr,
	        "ltproxy: cut %" PRIu64 ": %d connection(s) by %s (%s, %" PRIu64
	        " bytes since the last cut)\n",
	        ncuts, n, rst ? "RST" : "FIN", why, since_cut);
	since_cut = 0;
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int calm;

/* Reads "cut", "hold", "pass" or "calm" from the control file. */
static void check_control(const char *path, int *hold)
{
	char b[16] = "";
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	size_t n = fread(b, 1, sizeof b - 1, f);
	fclose(f);
	b[n] = '\0';
	if (strncmp(b, "cut", 3) == 0) {
		unlink(path);
		cut_all("control: cut");
	} else if (strncmp(b, "hold", 4) == 0 && !*hold) {
		*hold = 1;
		cut_all("control: hold");
	} else if (strncmp(b, "calm", 4) == 0 && !calm) {
		calm = 1;
		*hold = 0;
		fprintf(stderr, "ltproxy: control: calm (no more automatic cuts)\n");
	} else if (strncmp(b, "pass", 4) == 0 && (*hold || stalled)) {
		*hold = 0;
		stalled = 0;
		stall_after = 0;
		fprintf(stderr, "ltproxy: control: pass\n");
	}
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v == 0)
		return -1;
	*out = v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: ltproxy LISTEN_PORT TARGET_HOST:PORT [--cut-every-bytes N | "
	                "--cut-every-ms N] [--control FILE] [--rst | --fin] "
	                "[--stall-after-bytes N] [--rcvbuf N]\n");
	exit(2);
}

/* Moves bytes from p->fd[i] into p->d[i] and from p->d[i] to p->fd[1-i]. -1 when closed. */
static int pump(struct pair *p, int i, short rev_in, short rev_out)
{
	struct dirbuf *d = &p->d[i];
	if (i == 0 && stalled)
		rev_in = 0;
	if ((rev_in & (POLLIN | POLLHUP | POLLERR)) && d->len < BUF) {
		ssize_t n = read(p->fd[i], d->b + d->len, BUF - d->len);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return -1;
		if (n > 0)
			d->len += (size_t)n;
	}
	if (d->len > 0 && (rev_out & POLLOUT)) {
		ssize_t n = write(p->fd[1 - i], d->b, d->len);
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
		if (n > 0) {
			memmove(d->b, d->b + n, d->len - (size_t)n);
			d->len -= (size_t)n;
			total_bytes += (uint64_t)n;
			since_cut += (uint64_t)n;
			if (i == 0) {
				up_bytes += (uint64_t)n;
				if (stall_after && !stalled && up_bytes >= stall_after) {
					stalled = 1;
					fprintf(stderr,
					        "ltproxy: stalled after %" PRIu64
					        " bytes from the clients (until \"pass\")\n",
					        up_bytes);
				}
			}
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t cut_bytes = 0, cut_ms = 0, rcvbuf = 0;
	const char *control = NULL;
	if (argc < 3)
		usage();
	const char *lport = argv[1], *target = argv[2];
	for (int i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--cut-every-bytes") && i + 1 < argc) {
			if (parse_u64(argv[++i], &cut_bytes) != 0)
				usage();
		} else if (!strcmp(argv[i], "--cut-every-ms") && i + 1 < argc) {
			if (parse_u64(argv[++i], &cut_ms) != 0)
				usage();
		} else if (!strcmp(argv[i], "--control") && i + 1 < argc) {
			control = argv[++i];
		} else if (!strcmp(argv[i], "--stall-after-bytes") && i + 1 < argc) {
			if (parse_u64(argv[++i], &stall_after) != 0)
				usage();
		} else if (!strcmp(argv[i], "--rcvbuf") && i + 1 < argc) {
			if (parse_u64(argv[++i], &rcvbuf) != 0 || rcvbuf > (1u << 30))
				usage();
		} else if (!strcmp(argv[i], "--rst")) {
			mode_rst = 1;
		} else if (!strcmp(argv[i], "--fin")) {
			mode_rst = 0;
		} else {
			usage();
		}
	}
	if (cut_bytes && cut_ms)
		usage();
	char err[256], hp[64];
	snprintf(hp, sizeof hp, "127.0.0.1:%s", lport);
	int lfd = lt_tcp_listen(hp, err, sizeof err);
	if (lfd < 0) {
		fprintf(stderr, "ltproxy: listen %s: %s\n", hp, err);
		return 2;
	}
	set_nonblock(lfd);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	fprintf(stderr, "ltproxy: listening on 127.0.0.1:%d, forwarding to %s\n",
	        lt_tcp_local_port(lfd), target);

	int hold = 0;
	int64_t last_cut = now_ms(), last_control = 0;
	struct pollfd pfd[1 + 2 * MAX_PAIRS];
	int idx[1 + 2 * MAX_PAIRS];
	while (!stop_flag) {
		int n = 0;
		pfd[n++] = (struct pollfd){.fd = lfd, .events = POLLIN};
		for (int i = 0; i < MAX_PAIRS; i++) {
			struct pair *p = pairs[i];
			if (!p)
				continue;
			for (int k = 0; k < 2; k++) {
				short ev = 0;
				if (p->d[k].len < BUF && !(k == 0 && stalled))
					ev |= POLLIN;
				if (p->d[1 - k].len > 0)
					ev |= POLLOUT;
				idx[n] = i * 2 + k;
				pfd[n++] = (struct pollfd){.fd = p->fd[k], .events = ev};
			}
		}
		if (poll(pfd, (nfds_t)n, 50) < 0 && errno != EINTR)
			break;
		int64_t t = now_ms();
		if (pfd[0].revents & POLLIN) {
			int c = accept(lfd, NULL, NULL);
			if (c >= 0) {
				int slot = -1;
				for (int i = 0; i < MAX_PAIRS && slot < 0; i++)
					if (!pairs[i])
						slot = i;
				int s = hold || slot < 0
				            ? -1
				            : lt_tcp_connect(target, 2000, err, sizeof err);
				if (s < 0) {
					fprintf(stderr, "ltproxy: client refused (%s)\n",
					        hold       ? "hold"
					        : slot < 0 ? "too many"
					                   : err);
					close_fd(c, 1);
				} else {
					struct pair *p = calloc(1, sizeof *p);
					if (!p) {
						close(c);
						close(s);
					} else {
						p->fd[0] = c;
						p->fd[1] = s;
						if (rcvbuf) {
							int rb = (int)rcvbuf;
							setsockopt(c, SOL_SOCKET, SO_RCVBUF, &rb,
							           sizeof rb);
						}
						set_nonblock(c);
						set_nonblock(s);
						pairs[slot] = p;
						nconns++;
						if (npairs() == 1 && cut_ms)
							last_cut =
							    t; /* time counts while connected */
					}
				}
			}
		}
		/* revents per (pair, fd): in from fd[k], out to fd[k] */
		short rin[2 * MAX_PAIRS] = {0}, rout[2 * MAX_PAIRS] = {0};
		for (int j = 1; j < n; j++) {
			rin[idx[j]] = pfd[j].revents;
			rout[idx[j]] = pfd[j].revents;
		}
		for (int i = 0; i < MAX_PAIRS; i++) {
			struct pair *p = pairs[i];
			if (!p)
				continue;
			/* direction k: read fd[k], write fd[1-k] */
			if (pump(p, 0, rin[i * 2], rout[i * 2 + 1]) != 0 ||
			    pump(p, 1, rin[i * 2 + 1], rout[i * 2]) != 0)
				drop_pair(i, 0);
		}
		if (!calm && cut_bytes && since_cut >= cut_bytes && npairs() > 0)
			cut_all("byte count");
		if (!calm && cut_ms && npairs() > 0 && t - last_cut >= (int64_t)cut_ms) {
			cut_all("timer");
			last_cut = t;
		}
		if (control && t - last_control >= 100) {
			check_control(control, &hold);
			last_control = t;
		}
	}
	for (int i = 0; i < MAX_PAIRS; i++)
		if (pairs[i])
			drop_pair(i, 0);
	close(lfd);
	printf("cuts=%" PRIu64 " connections=%" PRIu64 " bytes=%" PRIu64 "\n", ncuts, nconns,
	       total_bytes);
	return 0;
}
