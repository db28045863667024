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
#include <time.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_MS 5000
#define BATCH_PACKETS 1024         /* -r: poll the links after this many packets (or a batch) */
#define FILE_BUFFER_MEM (8u << 20) /* -r: default --buffer-mem (the file is the buffer) */
#define RECONNECT_BASE_MS 100      /* capped full-jitter backoff between connection attempts */
#define RECONNECT_CAP_MS 5000
#define RESUME_SAVE_MS 500   /* --resume: state written at most this often (and at exit) */
#define DROP_LOG_MS 10000    /* -i: buffer-full drops are logged at most this often */
#define FINISH_LIVE_MS 10000 /* -i: at SIGTERM, wait this long for confirmations */

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

struct opts {
	const char *file, *iface, *mediator, *tasking, *ca, *cert, *key, *user, *keylog, *stats;
	const char *buffer_dir, *resume;
	uint64_t buffer_mem, buffer_max;
	int buffer_mem_set, snaplen, verbose, pace, keep_times;
	double speed;
};

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: lawtap-iap (-r FILE | -i IFACE) --mediator HOST:PORT --tasking "
	        "HOST:PORT\n"
	        "                  --ca FILE --cert FILE --key FILE [--user NAME] [--snaplen N]\n"
	        "                  [--keylog FILE] [--stats FILE] [--buffer-mem BYTES]\n"
	        "                  [--buffer-dir DIR] [--buffer-max BYTES] [--resume STATE]\n"
	        "                  [--pace [--speed X] [--keep-times]] [-v]\n"
	        "  BYTES may end in k, M or G (binary). Defaults: --buffer-mem 64M (8M with -r),\n"
	        "  --buffer-max 1G.\n");
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

/* "64M", "1G", "1048576": a byte count with an optional binary suffix. 0 or -1. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -1;
	unsigned shift = 0;
	if (*end == 'k' || *end == 'K')
		shift = 10;
	else if (*end == 'm' || *end == 'M')
		shift = 20;
	else if (*end == 'g' || *end == 'G')
		shift = 30;
	else if (*end)
		return -1;
	if (shift && end[1])
		return -1;
	if (v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

static void parse_args(int argc, char **argv, struct opts *o)
{
	enum {
		O_MED = 256,
		O_TASK,
		O_CA,
		O_CERT,
		O_KEY,
		O_USER,
		O_SNAP,
		O_KEYLOG,
		O_STATS,
		O_BMEM,
		O_BDIR,
		O_BMAX,
		O_RESUME,
		O_PACE,
		O_SPEED,
		O_KEEPT
	};
	static const struct option lo[] = {{"mediator", required_argument, NULL, O_MED},
	                                   {"tasking", required_argument, NULL, O_TASK},
	                                   {"ca", required_argument, NULL, O_CA},
	                                   {"cert", required_argument, NULL, O_CERT},
	                                   {"key", required_argument, NULL, O_KEY},
	                                   {"user", required_argument, NULL, O_USER},
	                                   {"snaplen", required_argument, NULL, O_SNAP},
	                                   {"keylog", required_argument, NULL, O_KEYLOG},
	                                   {"stats", required_argument, NULL, O_STATS},
	                                   {"buffer-mem", required_argument, NULL, O_BMEM},
	                                   {"buffer-dir", required_argument, NULL, O_BDIR},
	                                   {"buffer-max", required_argument, NULL, O_BMAX},
	                                   {"resume", required_argument, NULL, O_RESUME},
	                                   {"pace", no_argument, NULL, O_PACE},
	                                   {"speed", required_argument, NULL, O_SPEED},
	                                   {"keep-times", no_argument, NULL, O_KEEPT},
	                                   {"verbose", no_argument, NULL, 'v'},
	                                   {"help", no_argument, NULL, 'h'},
	                                   {NULL, 0, NULL, 0}};
	memset(o, 0, sizeof *o);
	o->user = "nobody";
	o->snaplen = 262144;
	o->buffer_mem = 64u << 20;
	o->buffer_max = 1u << 30;
	o->speed = 1.0;
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
		case O_BMEM:
			if (parse_size(optarg, &o->buffer_mem) != 0 || o->buffer_mem < (1u << 20))
				usage_error("--buffer-mem %s: expected a size of at least 1M",
				            optarg);
			o->buffer_mem_set = 1;
			break;
		case O_BMAX:
			if (parse_size(optarg, &o->buffer_max) != 0 || o->buffer_max < (1u << 20))
				usage_error("--buffer-max %s: expected a size of at least 1M",
				            optarg);
			break;
		case O_BDIR:
			o->buffer_dir = optarg;
			break;
		case O_RESUME:
			if (strchr(optarg, '\n'))
				usage_error("--resume: the path must not hold a newline");
			o->resume = optarg;
			break;
		case O_PACE:
			o->pace = 1;
			break;
		case O_KEEPT:
			o->keep_times = 1;
			break;
		case O_SPEED: {
			char *end;
			errno = 0;
			double v = strtod(optarg, &end);
			if (errno || *end || end == optarg || !(v >= 0.001 && v <= 1000000))
				usage_error("--speed %s: expected a factor 0.001..1000000", optarg);
			o->speed = v;
			break;
		}
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
	if (o->resume && !o->file)
		usage_error("--resume needs -r FILE");
	if (o->pace && !o->file)
		usage_error("--pace needs -r FILE");
	if ((o->keep_times || o->speed != 1.0) && !o->pace)
		usage_error("--speed and --keep-times go with --pace");
	if (o->file && strchr(o->file, '\n'))
		usage_error("-r: the path must not hold a newline");
	/* -r: the file waits (back-pressure), so reading far ahead of the mediator buys nothing
	 * and only costs memory: twice the in-flight bound is held by default. */
	if (o->file && !o->buffer_mem_set)
		o->buffer_mem = FILE_BUFFER_MEM;
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

struct run;
static int connect_both(struct run *r, SSL **ts, SSL **us);

/* A link to the mediator that comes back: capped full-jitter backoff between attempts. */
struct relink {
	int attempt;
	int64_t next_ms;
	int ever; /* connected at least once */
};

static void relink_failed(struct relink *l, int64_t now)
{
	l->next_ms = now + lt_backoff_ms(l->attempt, RECONNECT_BASE_MS, RECONNECT_CAP_MS);
	if (l->attempt < 30)
		l->attempt++;
}

struct run {
	struct opts o;
	pcap_t *pcap;
	struct iap_pcapfile *pf; /* -r with a classic pcap file: the zero-copy reader */
	SSL_CTX *tls;
	char iap_id[64];
	struct iap_tasking *tasking;
	struct iap_uplink *uplink;
	struct relink tlink, ulink;
	struct iap_dial tdial, udial; /* reconnect attempts under way (non-blocking) */
	struct iap_ctx ctx;
	struct iap_stats stats;
	struct iap_resume res;
	int64_t res_saved_ms;
	uint64_t res_saved_pkts;
	int res_dirty;
	int64_t drop_log_ms;
	uint64_t drops_logged;
	int failed;
};

/* --resume: writes the state when due (or when force). */
static void save_resume(struct run *r, int force)
{
	if (!r->o.resume || !r->uplink)
		return;
	int64_t now = lt_now_ms();
	if (!force && now - r->res_saved_ms < RESUME_SAVE_MS)
		return;
	uint64_t pkts = iap_uplink_confirmed_pkts(r->uplink);
	if (pkts < r->res.packets)
		pkts = r->res.packets; /* never moves back (packets skipped on resume) */
	if (!force && pkts == r->res_saved_pkts && !r->res_dirty)
		return;
	r->res.packets = pkts;
	char err[512];
	if (iap_resume_save(r->o.resume, &r->res, err, sizeof err) != 0)
		lt_err("%s", err);
	r->res_saved_ms = now;
	r->res_saved_pkts = pkts;
	r->res_dirty = 0;
}

static void on_confirm(void *arg, const struct iap_seg *s)
{
	struct run *r = arg;
	if (r->o.resume) {
		iap_seqmap_note_pdus(&r->res.seq, s->data, s->len);
		r->res_dirty = 1;
	}
}

static void tasking_lost(struct run *r)
{
	iap_tasking_free(r->tasking);
	r->tasking = NULL;
	lt_warn("tasking link lost: tasks held, reconnecting");
	relink_failed(&r->tlink, lt_now_ms());
}

/* Polls the tasking link (waiting up to timeout_ms) and applies a completed snapshot.
 * 1 applied, 0 nothing new, -1 the link failed (it is dropped and reconnected later). */
static int poll_tasking(struct run *r, int timeout_ms)
{
	struct iap_targets *t = NULL;
	uint64_t version = 0;
	if (!r->tasking)
		return 0;
	int rc = iap_tasking_poll(r->tasking, timeout_ms, &t, &version);
	if (rc < 0)
		tasking_lost(r);
	if (rc <= 0)
		return rc;
	size_t ntasks = iap_targets_ntasks(t);
	if (iap_ctx_set_targets_take(&r->ctx, t) != 0) {
		lt_err("tasking: out of memory applying snapshot %llu",
		       (unsigned long long)version);
		tasking_lost(r);
		return -1;
	}
	lt_info("tasking: snapshot %llu applied (%zu tasks)", (unsigned long long)version, ntasks);
	if (iap_tasking_ack(r->tasking, version) != 0) {
		tasking_lost(r);
		return -1;
	}
	return 1;
}

/* Makes the links that are down again when their backoff has passed. An attempt never
 * blocks: it starts, then advances a step per call as its socket allows (iap/dial.c), so a
 * live capture keeps being read while the mediator is away. */
static void reconnect(struct run *r)
{
	char err[512];
	if (r->tasking && iap_uplink_connected(r->uplink))
		return; /* both links up (the common case): no clock read */
	int64_t now = lt_now_ms();
	SSL *ssl;
	if (!r->tasking) {
		if (!iap_dial_active(&r->tdial) && now >= r->tlink.next_ms &&
		    iap_dial_start(&r->tdial, now) != 0)
			relink_failed(&r->tlink, now);
		int rc = iap_dial_active(&r->tdial) ? iap_dial_step(&r->tdial, now, &ssl) : 0;
		if (rc == 1 &&
		    (r->tasking = iap_tasking_new_take(ssl, r->iap_id, err, sizeof err))) {
			lt_info("tasking link %s: connected again", r->o.tasking);
			r->tlink.attempt = 0;
			r->stats.reconnects++;
		} else if (rc != 0) {
			if (rc == 1)
				lt_err("tasking link %s: %s", r->o.tasking, err);
			relink_failed(&r->tlink, lt_now_ms());
		}
	}
	now = lt_now_ms();
	if (!iap_uplink_connected(r->uplink)) {
		if (!iap_dial_active(&r->udial) && now >= r->ulink.next_ms &&
		    iap_dial_start(&r->udial, now) != 0)
			relink_failed(&r->ulink, now);
		int rc = iap_dial_active(&r->udial) ? iap_dial_step(&r->udial, now, &ssl) : 0;
		if (rc == 1 && iap_uplink_attach_take(r->uplink, ssl) == 0) {
			struct iap_buf_usage bu;
			iap_uplink_usage(r->uplink, &bu);
			lt_info("mediator link %s: connected again, resending %zu batch(es) first",
			        r->o.mediator, bu.mem_batches + bu.disk_batches);
			r->ulink.attempt = 0;
			r->stats.reconnects++;
		} else if (rc != 0) {
			relink_failed(&r->ulink, lt_now_ms());
		}
	}
}

/* One round of link work: reconnects, waits up to timeout_ms for the links (and extra_fd, the
 * live capture, when >= 0), reads tasks and acks, sends held batches, saves the resume state.
 * Link failures are handled here (reconnect later); never fails. */
static void service(struct run *r, int timeout_ms, int extra_fd)
{
	reconnect(r);
	int64_t now = lt_now_ms();
	int t = iap_uplink_next_ms(r->uplink, now, timeout_ms);
	if (!r->tasking && r->tlink.next_ms - now < t)
		t = (int)(r->tlink.next_ms - now);
	if (!iap_uplink_connected(r->uplink) && r->ulink.next_ms - now < t)
		t = (int)(r->ulink.next_ms - now);
	struct pollfd pfd[5];
	nfds_t n = 0;
	if (extra_fd >= 0)
		pfd[n++] = (struct pollfd){.fd = extra_fd, .events = POLLIN};
	if (r->tasking)
		pfd[n++] = (struct pollfd){.fd = iap_tasking_fd(r->tasking), .events = POLLIN};
	if (iap_uplink_connected(r->uplink))
		pfd[n++] = (struct pollfd){
		    .fd = iap_uplink_fd(r->uplink),
		    .events = POLLIN | (iap_uplink_want_write(r->uplink) ? POLLOUT : 0)};
	/* Attempts under way: woken by their sockets, and at their deadlines at the latest. */
	struct iap_dial *dials[2] = {&r->tdial, &r->udial};
	for (int i = 0; i < 2; i++)
		if (iap_dial_pollfd(dials[i], &pfd[n])) {
			n++;
			if (dials[i]->deadline_ms - now < t)
				t = (int)(dials[i]->deadline_ms - now);
		}
	if (t < 0)
		t = 0;
	if (t > 0 && poll(pfd, n, t) < 0 && errno != EINTR)
		lt_err("poll: %s", strerror(errno));
	if (iap_dial_active(&r->tdial) || iap_dial_active(&r->udial))
		reconnect(r);
	(void)poll_tasking(r, 0);
	int was_up = iap_uplink_connected(r->uplink);
	if (iap_uplink_tick(r->uplink, lt_now_ms(), 1) != 0 && was_up)
		relink_failed(&r->ulink, lt_now_ms());
	save_resume(r, 0);
}

static int wait_first_snapshot(struct run *r)
{
	while (!stop_flag && !r->ctx.targets)
		service(r, 1000, -1);
	return r->ctx.targets ? 0 : -1;
}

/* Closes the open batch and waits until the mediator confirmed everything, then for the ack of
 * one last keep-alive. deadline_ms < 0: no bound (only a signal stops it). 0 or -1. */
static int finish(struct run *r, int64_t deadline_ms)
{
	int probed = 0;
	for (;;) {
		/* -r (no deadline) stops at a signal; -i is here because of one, bounded. */
		if ((deadline_ms < 0 && stop_flag) ||
		    (deadline_ms >= 0 && lt_now_ms() >= deadline_ms))
			break;
		if (iap_uplink_idle(r->uplink)) {
			if (probed && iap_uplink_probe_acked(r->uplink))
				return 0;
			/* The keep-alive that followed the last batch was answered: it is the
			 * last keep-alive, no probe needed. */
			if (!probed && iap_uplink_all_acked(r->uplink))
				return 0;
			if (!probed && iap_uplink_connected(r->uplink)) {
				probed = iap_uplink_probe(r->uplink) == 0;
				if (!probed)
					relink_failed(&r->ulink, lt_now_ms());
			} else if (probed && !iap_uplink_connected(r->uplink)) {
				probed = 0; /* lost before its ack: again on the next link */
			}
		} else {
			(void)iap_uplink_flush(r->uplink);
		}
		service(r, 100, -1);
	}
	struct iap_buf_usage bu;
	iap_uplink_usage(r->uplink, &bu);
	lt_err("mediator link: %zu batch(es) not confirmed at exit%s",
	       bu.mem_batches + bu.disk_batches,
	       r->o.resume ? " (the resume state covers them)" : "");
	return -1;
}

/* -r: the next packet of the file (iap_pcapfile_next or pcap_next_ex, same results). */
static int next_packet(struct run *r, struct pcap_pkthdr **h, const u_char **data)
{
	return r->pf ? iap_pcapfile_next(r->pf, h, data) : pcap_next_ex(r->pcap, h, data);
}

static const char *read_error(struct run *r)
{
	return r->pf ? iap_pcapfile_geterr(r->pf) : pcap_geterr(r->pcap);
}

/* --resume: skips the packets the state says were confirmed. 0 or -1. */
static int skip_confirmed(struct run *r)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	for (uint64_t i = 0; i < r->res.packets; i++) {
		if (next_packet(r, &h, &data) != 1) {
			lt_err("%s: the resume state says %llu packets were sent, the file ends "
			       "at %llu",
			       r->o.file, (unsigned long long)r->res.packets,
			       (unsigned long long)i);
			return -1;
		}
	}
	r->ctx.pkt = r->res.packets;
	iap_uplink_begin_packet(r->uplink, r->res.packets);
	iap_uplink_end_packet(r->uplink);
	if (r->res.packets)
		lt_info("%s: resuming after packet %llu (run epoch %llu)", r->o.file,
		        (unsigned long long)r->res.packets, (unsigned long long)r->res.epoch);
	return 0;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int run_file(struct run *r)
{
	struct pcap_pkthdr *h;
	const u_char *data;
	uint64_t n = 0, batches = iap_uplink_batches(r->uplink);
	int64_t start_ms = 0, first_ns = 0;
	if (skip_confirmed(r) != 0)
		return -3;
	uint64_t t0 = clock_ns(CLOCK_MONOTONIC), c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
	for (;;) {
		if (stop_flag) {
			lt_err("%s: interrupted after packet %llu", r->o.file,
			       (unsigned long long)r->ctx.pkt);
			return -1;
		}
		int rc = next_packet(r, &h, &data);
		if (rc == PCAP_ERROR_BREAK) {
			r->stats.input_ns = clock_ns(CLOCK_MONOTONIC) - t0;
			r->stats.input_cpu_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - c0;
			lt_info("%s: end of file after packet %llu; waiting for the mediator to "
			        "confirm what is held",
			        r->o.file, (unsigned long long)r->ctx.pkt);
			return 0;
		}
		if (rc != 1) {
			/* Finish what was read before the cut, then report it. */
			char msg[PCAP_ERRBUF_SIZE + 256];
			snprintf(msg, sizeof msg, "%s: packet %llu: %s", r->o.file,
			         (unsigned long long)r->ctx.pkt + 1, read_error(r));
			if (finish(r, -1) == 0)
				lt_err("%s (everything before it was sent)", msg);
			else
				lt_err("%s", msg);
			return -2;
		}
		if (r->o.pace) {
			int64_t ns = iap_frame_ns(&r->ctx, h);
			if (n == 0) {
				int64_t sec;
				uint32_t nsec;
				lt_wallclock(&sec, &nsec);
				start_ms = lt_now_ms();
				first_ns = ns;
				r->ctx.base_wall_ns = sec * 1000000000 + nsec;
				r->ctx.base_pkt_ns = ns;
				r->ctx.rebase_set = 1;
			}
			int64_t due =
			    start_ms + (int64_t)((double)(ns - first_ns) / 1e6 / r->o.speed);
			/* Idle until the next packet is due: send what was read so far now rather
			 * than after IAP_FLUSH_IDLE_MS (time of interception ~ time sent). */
			if (lt_now_ms() < due && iap_uplink_flush(r->uplink) == 0)
				service(r, 0, -1);
			while (!stop_flag && lt_now_ms() < due)
				service(r, (int)(due - lt_now_ms()), -1);
		}
		/* Back-pressure: memory and disk full, so the file waits for confirmations. */
		while (!stop_flag && !iap_uplink_room(r->uplink))
			service(r, 100, -1);
		n++;
		if (iap_process_frame(&r->ctx, h, data) != 0)
			return -1;
		/* The links get a turn every BATCH_PACKETS packets and whenever a batch was
		 * closed (so it goes out at once); no clock or system call per packet. */
		if ((n & 63) == 0 &&
		    (n % BATCH_PACKETS == 0 || iap_uplink_batches(r->uplink) != batches)) {
			service(r, 0, -1);
			batches = iap_uplink_batches(r->uplink);
		}
	}
}

static void on_frame(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
	struct run *r = (struct run *)user;
	if (!iap_uplink_room(r->uplink)) {
		/* -i cannot stop the network: past the buffer's bounds, packets are lost. */
		r->stats.dropped++;
		int64_t now = lt_now_ms();
		if (r->drops_logged == 0 || now - r->drop_log_ms >= DROP_LOG_MS) {
			lt_err("BUFFER FULL (memory and disk): DROPPING captured packets, %llu "
			       "dropped so far",
			       (unsigned long long)r->stats.dropped);
			r->drop_log_ms = now;
			r->drops_logged = r->stats.dropped;
		}
		return;
	}
	if (iap_process_frame(&r->ctx, h, data) != 0) {
		r->failed = 1;
		pcap_breakloop(r->pcap);
	}
}

/* -i: one poll loop over the capture, the tasking link and the uplink. */
static int run_live(struct run *r)
{
	int pfd = pcap_get_selectable_fd(r->pcap);
	while (!stop_flag) {
		service(r, 1000, pfd);
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

/* --resume: loads the state (or starts one) and checks it names this capture. 0 or 2. */
static int setup_resume(struct run *r)
{
	char err[512];
	struct iap_resume cur;
	memset(&cur, 0, sizeof cur);
	if (iap_resume_identity(r->o.file, &cur, err, sizeof err) != 0) {
		lt_err("%s", err);
		return 2;
	}
	int rc = iap_resume_load(r->o.resume, &r->res, err, sizeof err);
	if (rc < 0) {
		lt_err("%s", err);
		return 2;
	}
	if (rc == 0 &&
	    (r->res.size != cur.size || r->res.ino != cur.ino || r->res.mtime_ns != cur.mtime_ns)) {
		lt_err("resume state %s is for capture %s (size %llu), not for %s (size %llu): "
		       "remove it to start over",
		       r->o.resume, r->res.file, (unsigned long long)r->res.size, r->o.file,
		       (unsigned long long)cur.size);
		iap_seqmap_clear(&r->res.seq);
		return 2;
	}
	if (rc == 1) {
		int64_t sec;
		uint32_t nsec;
		lt_wallclock(&sec, &nsec);
		r->res.epoch = (uint64_t)sec * 1000000000u + nsec;
		r->res.size = cur.size;
		r->res.ino = cur.ino;
		r->res.mtime_ns = cur.mtime_ns;
		lt_info("resume state %s: new (run epoch %llu)", r->o.resume,
		        (unsigned long long)r->res.epoch);
	}
	snprintf(r->res.file, sizeof r->res.file, "%s", r->o.file);
	r->ctx.seed = &r->res.seq;
	return 0;
}

/* At start: the tasking and the X2/X3 connection, made side by side (each within
 * CONNECT_TIMEOUT_MS). 0 with both, or -1 when either failed (logged: "<what> link <host:port>:
 * <reason>"). */
static int connect_both(struct run *r, SSL **ts, SSL **us)
{
	struct iap_dial *d[2] = {&r->tdial, &r->udial};
	SSL **out[2] = {ts, us};
	int state[2]; /* 0 under way, 1 done, -1 failed */
	for (int i = 0; i < 2; i++)
		state[i] = iap_dial_start(d[i], lt_now_ms()) == 0 ? 0 : -1;
	while (!stop_flag && (state[0] == 0 || state[1] == 0)) {
		struct pollfd pfd[2];
		nfds_t n = 0;
		int64_t now = lt_now_ms(), t = CONNECT_TIMEOUT_MS;
		for (int i = 0; i < 2; i++)
			if (state[i] == 0 && iap_dial_pollfd(d[i], &pfd[n])) {
				n++;
				if (d[i]->deadline_ms - now < t)
					t = d[i]->deadline_ms - now;
			}
		if (n && t > 0 && poll(pfd, n, (int)t) < 0 && errno != EINTR)
			lt_err("poll: %s", strerror(errno));
		for (int i = 0; i < 2; i++)
			if (state[i] == 0)
				state[i] = iap_dial_step(d[i], lt_now_ms(), out[i]);
	}
	iap_dial_abort(&r->tdial);
	iap_dial_abort(&r->udial);
	return state[0] == 1 && state[1] == 1 ? 0 : -1;
}

static int setup(struct run *r, FILE **statsf)
{
	char err[512];
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
	if (o->file)
		r->pf = iap_pcapfile_open(r->pcap, fileno(pcap_file(r->pcap)));
	r->ctx.linktype = pcap_datalink(r->pcap);
	r->ctx.ts_nano = pcap_get_tstamp_precision(r->pcap) == PCAP_TSTAMP_PRECISION_NANO;
	r->ctx.stats = &r->stats;
	r->ctx.rebase = o->pace && !o->keep_times;
	r->ctx.speed = o->speed;
	if (o->resume) {
		int rc = setup_resume(r);
		if (rc)
			return rc;
	} else {
		int64_t sec;
		uint32_t nsec;
		lt_wallclock(&sec, &nsec);
		r->res.epoch = (uint64_t)sec * 1000000000u + nsec;
	}
	/* Certificates and keys are loaded before dropping root (they may be root-only). */
	struct lt_tls_conf tc = {.ca = o->ca, .cert = o->cert, .key = o->key, .keylog = o->keylog};
	r->tls = lt_tls_ctx_new(&tc, 0, err, sizeof err);
	if (!r->tls) {
		lt_err("TLS: %s", err);
		return 1;
	}
	if (o->keylog && o->iface)
		keylog_for_user(o->keylog, o->user);
	iap_dial_init(&r->tdial, r->tls, o->tasking, "tasking", CONNECT_TIMEOUT_MS);
	iap_dial_init(&r->udial, r->tls, o->mediator, "mediator", CONNECT_TIMEOUT_MS);
	if (iap_own_id(r->tls, r->iap_id, sizeof r->iap_id, err, sizeof err) != 0 ||
	    (o->iface && iap_drop_privileges(o->user, err, sizeof err) != 0)) {
		lt_err("%s", err);
		return 1;
	}
	struct iap_uplink_conf uc = {
	    .buf = {.mem_max = o->buffer_mem, .dir = o->buffer_dir, .disk_max = o->buffer_max},
	    .epoch = r->res.epoch};
	if (!(r->uplink = iap_uplink_new(r->iap_id, &uc, &r->stats, err, sizeof err))) {
		lt_err("mediator link: %s", err);
		return 1;
	}
	iap_uplink_on_confirm(r->uplink, on_confirm, r);
	r->ctx.uplink = r->uplink;
	/* The first connections must work (a wrong address or certificate is a setup error);
	 * after that, links that fail come back with backoff. Both are made at once. */
	SSL *ts = NULL, *us = NULL;
	if (connect_both(r, &ts, &us) != 0) {
		if (ts)
			lt_tls_close(ts);
		if (us)
			lt_tls_close(us);
		return -1; /* statistics printed, exit 1 */
	}
	if (!(r->tasking = iap_tasking_new_take(ts, r->iap_id, err, sizeof err))) {
		lt_err("tasking link %s: %s", o->tasking, err);
		lt_tls_close(us);
		return -1;
	}
	if (iap_uplink_attach_take(r->uplink, us) != 0)
		return -1;
	lt_info("iap %s: connected to mediator %s (tasking %s), run epoch %llu", r->iap_id,
	        o->mediator, o->tasking, (unsigned long long)r->res.epoch);
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
	int connected = code == 0;
	if (code < 0)
		code = 1;
	if (code == 0 && wait_first_snapshot(&r) != 0)
		code = 1;
	if (code == 0) {
		int rc = r.o.file ? run_file(&r) : run_live(&r);
		if (rc == -3)
			code = 2; /* resume state does not fit the file */
		else if (rc != 0)
			code = 1; /* -2: read error, already finished and reported */
		else if (finish(&r, r.o.file ? -1 : lt_now_ms() + FINISH_LIVE_MS) != 0)
			code = 1;
	}
	save_resume(&r, 1);
	if (r.uplink && (connected || r.stats.bytes_sent)) {
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
	iap_dial_abort(&r.tdial);
	iap_dial_abort(&r.udial);
	iap_uplink_free(r.uplink);
	iap_tasking_free(r.tasking);
	iap_ctx_clear(&r.ctx);
	iap_seqmap_clear(&r.res.seq);
	if (r.tls)
		lt_tls_ctx_free(r.tls);
	iap_pcapfile_close(r.pf);
	iap_capture_close(r.pcap);
	return code;
}
