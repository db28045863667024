/* lawtap-iap: captures (-r FILE | -i IFACE), matches the traffic against the tasks the mediator
 * sends on the tasking link, and sends X2/X3 PDUs to the mediator. Command line and statistics:
 * docs/internals.md. Exit codes: 0 done, 1 runtime failure, 2 usage or unusable input. */
#include "iap.h"

#include "lib/log.h"
#include "lib/net.h"
#include "lib/timeutil.h"
#include "lib/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_MS 10000
#define BATCH_PACKETS 256 /* -r: poll the links after this many packets */

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

struct opts {
	const char *file, *iface, *mediator, *tasking, *ca, *cert, *key, *user, *keylog, *stats;
	int snaplen, verbose;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: lawtap-iap (-r FILE | -i IFACE) --mediator HOST:PORT --tasking "
	        "HOST:PORT\n"
	        "                  --ca FILE --cert FILE --key FILE [--user NAME] [--snaplen N]\n"
	        "                  [--keylog FILE] [--stats FILE] [-v]\n");
}

__attribute__((format(printf, 1, 2))) static _Noreturn void usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "lawtap-iap: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	usage(stderr);
	exit(2);
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	enum { O_MED = 256, O_TASK, O_CA, O_CERT, O_KEY, O_USER, O_SNAP, O_KEYLOG, O_STATS };
	static const struct option lo[] = {{"mediator", required_argument, NULL, O_MED},
	                                   {"tasking", required_argument, NULL, O_TASK},
	                                   {"ca", required_argument, NULL, O_CA},
	                                   {"cert", required_argument, NULL, O_CERT},
	                                   {"key", required_argument, NULL, O_KEY},
	                                   {"user", required_argument, NULL, O_USER},
	                                   {"snaplen", required_argument, NULL, O_SNAP},
	                                   {"keylog", required_argument, NULL, O_KEYLOG},
	                                   {"stats", required_argument, NULL, O_STATS},
	                                   {"verbose", no_argument, NULL, 'v'},
	                                   {"help", no_argument, NULL, 'h'},
	                                   {NULL, 0, NULL, 0}};
	memset(o, 0, sizeof *o);
	o->user = "nobody";
	o->snaplen = 262144;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":r:i:vh", lo, NULL)) != -1) {
		switch (c) {
		case 'r':
			o->file = optarg;
			break;
		case 'i':
			o->iface = optarg;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case O_MED:
			o->mediator = optarg;
			break;
		case O_TASK:
			o->tasking = optarg;
			break;
		case O_CA:
			o->ca = optarg;
			break;
		case O_CERT:
			o->cert = optarg;
			break;
		case O_KEY:
			o->key = optarg;
			break;
		case O_USER:
			o->user = optarg;
			break;
		case O_KEYLOG:
			o->keylog = optarg;
			break;
		case O_STATS:
			o->stats = optarg;
			break;
		case O_SNAP: {
			char *end;
			errno = 0;
			long v = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 64 || v > 262144)
				usage_error("--snaplen %s: expected a number 64..262144", optarg);
			o->snaplen = (int)v;
			break;
		}
		case ':':
			usage_error("option %s needs an argument", argv[optind - 1]);
			break;
		default:
			usage_error("unknown option %s", argv[optind - 1]);
			break;
		}
	}
	if (optind < argc)
		usage_error("unexpected argument %s", argv[optind]);
	if (!!o->file == !!o->iface)
		usage_error("give exactly one of -r FILE or -i IFACE");
	const char *req[][2] = {{"--mediator", o->mediator},
	                        {"--tasking", o->tasking},
	                        {"--ca", o->ca},
	                        {"--cert", o->cert},
	                        {"--key", o->key}};
	for (size_t i = 0; i < sizeof req / sizeof req[0]; i++)
		if (!req[i][1])
			usage_error("missing %s", req[i][0]);
	char host[256], err[256];
	uint16_t port;
	if (lt_parse_hostport(o->mediator, host, sizeof host, &port, 0, err, sizeof err) != 0)
		usage_error("--mediator: %s", err);
	if (lt_parse_hostport(o->tasking, host, sizeof host, &port, 0, err, sizeof err) != 0)
		usage_error("--tasking: %s", err);
}

/* TCP + TLS to a peer that must hold the mediator role. */
static SSL *connect_mediator(SSL_CTX *ctx, const char *hostport, const char *what)
{
	char why[256];
	int fd = lt_tcp_connect(hostport, CONNECT_TIMEOUT_MS, why, sizeof why);
	if (fd < 0) {
		lt_err("%s link %s: %s", what, hostport, why);
		return NULL;
	}
	SSL *ssl = lt_tls_connect(ctx, fd, LT_ROLE_MEDIATOR, CONNECT_TIMEOUT_MS, why, sizeof why);
	if (!ssl) {
		lt_err("%s link %s: %s", what, hostport, why);
		close(fd);
	}
	return ssl;
}

struct run {
	struct opts o;
	pcap_t *pcap;
	struct iap_tasking *tasking;
	struct iap_uplink *uplink;
	struct iap_ctx ctx;
	struct iap_stats stats;
	int failed;
};

/* Polls the tasking link (waiting up to timeout_ms) and applies a completed snapshot.
 * 1 applied, 0 nothing new, -1 failed. */
static int poll_tasking(struct run *r, int timeout_ms)
{
	struct iap_targets *t = NULL;
	uint64_t version = 0;
	int rc = iap_tasking_poll(r->tasking, timeout_ms, &t, &version);
	if (rc <= 0)
		return rc;
	size_t ntasks = iap_targets_ntasks(t);
	if (iap_ctx_set_targets_take(&r->ctx, t) != 0) {
		lt_err("tasking: out of memory applying snapshot %llu",
		       (unsigned long long)version);
		return -1;
	}
	lt_info("tasking: snapshot %llu applied (%zu tasks)", (unsigned long long)version, ntasks);
	return iap_tasking_ack(r->tasking, version) == 0 ? 1 : -1;
}

static int wait_first_snapshot(struct run *r)
{
	while (!stop_flag) {
		int64_t now = lt_now_ms();
		int rc = poll_tasking(r, iap_uplink_next_ms(r->uplink, now, 1000));
		if (rc != 0)
			return rc > 0 ? 0 : -1;
		if (iap_uplink_tick(r->uplink, lt_now_ms(), 1) != 0)
			return -1;
	}
	return -1;
}

static int run_file(struct run *r)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t n = 0;
	for (;;) {
		if (stop_flag) {
			lt_err("%s: interrupted after packet %llu", r->o.file,
			       (unsigned long long)n);
			return -1;
		}
		int rc = pcap_next_ex(r->pcap, &h, &data);
		if (rc == PCAP_ERROR_BREAK)
			return 0;
		if (rc != 1) {
			/* Flush what was read before the cut, then report it. */
			char msg[PCAP_ERRBUF_SIZE + 256];
			snprintf(msg, sizeof msg, "%s: packet %llu: %s", r->o.file,
			         (unsigned long long)n + 1, pcap_geterr(r->pcap));
			if (iap_uplink_finish(r->uplink, IAP_KEEPALIVE_WAIT_MS) == 0)
				lt_err("%s (everything before it was sent)", msg);
			else
				lt_err("%s", msg);
			return -2;
		}
		n++;
		if (iap_process_frame(&r->ctx, h, data) != 0)
			return -1;
		if (n % BATCH_PACKETS == 0) {
			if (poll_tasking(r, 0) < 0 ||
			    iap_uplink_tick(r->uplink, lt_now_ms(), 0) != 0)
				return -1;
		}
	}
}

static void on_frame(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	struct run *r = (struct run *)user;
	if (iap_process_frame(&r->ctx, h, data) != 0) {
		r->failed = 1;
		pcap_breakloop(r->pcap);
	}
}

/* -i: one poll loop over the capture, the tasking link and the uplink. Link loss ends the
 * program (reconnect with backoff and loss-free resend are a later issue). */
static int run_live(struct run *r)
{
	struct pollfd pfd[3] = {{.fd = pcap_get_selectable_fd(r->pcap), .events = POLLIN},
	                        {.fd = iap_tasking_fd(r->tasking), .events = POLLIN},
	                        {.fd = iap_uplink_fd(r->uplink), .events = POLLIN}};
	while (!stop_flag) {
		int timeout = iap_uplink_next_ms(r->uplink, lt_now_ms(), 1000);
		if (poll(pfd, 3, timeout) < 0 && errno != EINTR) {
			lt_err("poll: %s", strerror(errno));
			return -1;
		}
		/* Bounded, so that a busy interface still leaves room for the links. */
		int got, rounds = 0;
		do {
			got = pcap_dispatch(r->pcap, 1024, on_frame, (u_char *)r);
		} while (got > 0 && !r->failed && !stop_flag && ++rounds < 8);
		if (r->failed)
			return -1;
		if (got == PCAP_ERROR) {
			lt_err("interface %s: %s", r->o.iface, pcap_geterr(r->pcap));
			return -1;
		}
		if (poll_tasking(r, 0) < 0 || iap_uplink_tick(r->uplink, lt_now_ms(), 1) != 0)
			return -1;
	}
	return 0;
}

/* TEST ONLY --keylog with -i: the secrets are appended after dropping root, so the file is
 * made now and handed to the user that will write it. */
static void keylog_for_user(const char *path, const char *user)
{
	struct passwd *pw = getpwnam(user);
	if (geteuid() != 0 || !pw)
		return;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || fchown(fd, pw->pw_uid, pw->pw_gid) != 0)
		lt_warn("keylog %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static int setup(struct run *r, FILE **statsf)
{
	char err[512], iap_id[64];
	struct opts *o = &r->o;
	if (o->stats && !(*statsf = fopen(o->stats, "w"))) {
		lt_err("stats file %s: %s", o->stats, strerror(errno));
		return 2;
	}
	r->pcap = o->file ? iap_capture_open_file(o->file, err, sizeof err)
	                  : iap_capture_open_live(o->iface, o->snaplen, err, sizeof err);
	if (!r->pcap) {
		lt_err("%s", err);
		return 2;
	}
	r->ctx.linktype = pcap_datalink(r->pcap);
	r->ctx.ts_nano = pcap_get_tstamp_precision(r->pcap) == PCAP_TSTAMP_PRECISION_NANO;
	r->ctx.stats = &r->stats;
	/* Certificates and keys are loaded before dropping root (they may be root-only). */
	struct lt_tls_conf tc = {.ca = o->ca, .cert = o->cert, .key = o->key, .keylog = o->keylog};
	SSL_CTX *tls = lt_tls_ctx_new(&tc, 0, err, sizeof err);
	if (!tls) {
		lt_err("TLS: %s", err);
		return 1;
	}
	if (o->keylog && o->iface)
		keylog_for_user(o->keylog, o->user);
	if (iap_own_id(tls, iap_id, sizeof iap_id, err, sizeof err) != 0 ||
	    (o->iface && iap_drop_privileges(o->user, err, sizeof err) != 0)) {
		lt_err("%s", err);
		lt_tls_ctx_free(tls);
		return 1;
	}
	SSL *ts = connect_mediator(tls, o->tasking, "tasking");
	if (ts && !(r->tasking = iap_tasking_new_take(ts, iap_id, err, sizeof err)))
		lt_err("tasking link %s: %s", o->tasking, err);
	SSL *us = r->tasking ? connect_mediator(tls, o->mediator, "mediator") : NULL;
	if (us && !(r->uplink = iap_uplink_new_take(us, iap_id, &r->stats, err, sizeof err)))
		lt_err("mediator link %s: %s", o->mediator, err);
	lt_tls_ctx_free(tls); /* the SSL objects keep their own references */
	if (!r->uplink)
		return 1;
	r->ctx.uplink = r->uplink;
	lt_info("iap %s: connected to mediator %s (tasking %s)", iap_id, o->mediator, o->tasking);
	return 0;
}

int main(int argc, char **argv)
{
	struct run r;
	FILE *statsf = NULL;
	memset(&r, 0, sizeof r);
	parse_args(argc, argv, &r.o);
	lt_log_init("lawtap-iap", r.o.verbose ? LT_LOG_DEBUG : LT_LOG_INFO);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal; /* no SA_RESTART: poll returns EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	int code = setup(&r, &statsf);
	if (code == 0 && wait_first_snapshot(&r) != 0)
		code = 1;
	if (code == 0) {
		int rc = r.o.file ? run_file(&r) : run_live(&r);
		if (rc == -2)
			code = 1; /* read error: already finished and reported */
		else if (rc != 0)
			code = 1;
		else if (iap_uplink_finish(r.uplink, IAP_KEEPALIVE_WAIT_MS) != 0)
			code = 1;
	}
	if (r.uplink) {
		char line[512];
		iap_stats_format(&r.stats, line, sizeof line);
		printf("%s\n", line);
		fflush(stdout);
		if (statsf)
			fprintf(statsf, "%s\n", line);
	}
	if (statsf && fclose(statsf) != 0) {
		lt_err("stats file %s: %s", r.o.stats, strerror(errno));
		code = code ? code : 1;
	}
	iap_uplink_free(r.uplink);
	iap_tasking_free(r.tasking);
	iap_ctx_clear(&r.ctx);
	if (r.pcap)
		pcap_close(r.pcap);
	return code;
}
