/* lawtap-collector: the LEA end of HI2/HI3 (see docs/internals.md), or an offline decoder.
 *   lawtap-collector --hi2 HOST:PORT --hi3 HOST:PORT --ca FILE --cert FILE --key FILE --out DIR
 *                    [--keylog FILE] [--no-pdu-ack] [--sync] [-v]
 *   lawtap-collector --decode FILE.ber [--json] */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "collector.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#define FLUSH_MS 200
#define SUMMARY_MS 2000

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static void usage(FILE *f)
{
	fputs("usage: lawtap-collector --hi2 HOST:PORT --hi3 HOST:PORT --ca FILE --cert FILE "
	      "--key FILE --out DIR [--keylog FILE] [--no-pdu-ack] [--sync] [-v]\n"
	      "       lawtap-collector --decode FILE.ber [--json]\n",
	      f);
}

/* The log goes to stderr and to DIR/collector.log: stderr is a pipe read by this thread. */
struct tee {
	int rd, err_fd, file_fd;
	pthread_t th;
	int on;
};

static void *tee_main(void *arg)
{
	struct tee *t = arg;
	char buf[4096];
	for (;;) {
		ssize_t n = read(t->rd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (write(t->err_fd, buf, (size_t)n) < 0) {
			/* stderr gone: keep the file */
		}
		if (t->file_fd >= 0 && write(t->file_fd, buf, (size_t)n) < 0) {
			close(t->file_fd);
			t->file_fd = -1;
		}
	}
	return NULL;
}

static void tee_start(struct tee *t, const char *dir)
{
	char path[4200];
	int p[2];
	memset(t, 0, sizeof *t);
	snprintf(path, sizeof path, "%s/collector.log", dir);
	t->file_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (t->file_fd < 0) {
		lt_warn("cannot open %s: %s; logging to stderr only", path, strerror(errno));
		return;
	}
	t->err_fd = dup(STDERR_FILENO);
	if (t->err_fd < 0 || pipe(p) != 0) {
		close(t->file_fd);
		return;
	}
	t->rd = p[0];
	fflush(stderr);
	dup2(p[1], STDERR_FILENO);
	close(p[1]);
	if (pthread_create(&t->th, NULL, tee_main, t) != 0) {
		dup2(t->err_fd, STDERR_FILENO);
		close(t->rd);
		close(t->file_fd);
		return;
	}
	t->on = 1;
}

static void tee_stop(struct tee *t)
{
	if (!t->on)
		return;
	fflush(stderr);
	dup2(t->err_fd, STDERR_FILENO); /* closes the pipe's last write end: the thread sees EOF */
	pthread_join(t->th, NULL);
	close(t->rd);
	close(t->err_fd);
	if (t->file_fd >= 0)
		close(t->file_fd);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static int run(const char *hi2, const char *hi3, const struct lt_tls_conf *tls, const char *out,
               int sync)
{
	char err[512];
	umask(027); /* intercepted content: owner and group only */
	struct col_store *store = col_store_open(out, err, sizeof err);
	if (!store)
		lt_fatal("output directory %s: %s", out, err);
	col_store_set_sync(store, sync);
	struct tee tee;
	tee_start(&tee, out);

	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old); /* worker threads inherit the mask */
	struct col_server *srv = col_server_start(hi2, hi3, tls, store, err, sizeof err);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!srv) {
		lt_err("%s", err);
		col_store_close(store);
		tee_stop(&tee);
		return 1;
	}
	lt_info("collector ready, writing to %s", out);
	col_store_write_summary(store);

	int64_t last_flush = lt_now_ms(), last_sum = last_flush;
	while (!g_stop) {
		sleep_ms(50);
		int64_t now = lt_now_ms();
		if (now - last_flush >= FLUSH_MS) {
			if (col_store_flush(store) != 0)
				lt_err("flushing the outputs in %s failed", out);
			last_flush = now;
		}
		if (now - last_sum >= SUMMARY_MS) {
			col_store_write_summary(store);
			last_sum = now;
		}
	}
	lt_info("stopping: finishing connections");
	col_server_stop(srv);
	struct col_counters c;
	col_store_counters(store, &c);
	col_store_close(store); /* flushes and rewrites summary.txt */
	lt_info("stopped: hi2_records=%llu hi3_records=%llu keepalives=%llu pdu_acks=%llu "
	        "decode_errors=%llu syncs=%llu",
	        (unsigned long long)c.hi2_records, (unsigned long long)c.hi3_records,
	        (unsigned long long)c.keepalives, (unsigned long long)c.pdu_acks,
	        (unsigned long long)c.decode_errors, (unsigned long long)c.syncs);
	tee_stop(&tee);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"hi2", required_argument, NULL, '2'},    {"hi3", required_argument, NULL, '3'},
	    {"ca", required_argument, NULL, 'a'},     {"cert", required_argument, NULL, 'c'},
	    {"key", required_argument, NULL, 'k'},    {"out", required_argument, NULL, 'o'},
	    {"keylog", required_argument, NULL, 'l'}, {"decode", required_argument, NULL, 'd'},
	    {"json", no_argument, NULL, 'j'},         {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},         {"no-pdu-ack", no_argument, NULL, 'P'},
	    {"sync", no_argument, NULL, 'S'},         {NULL, 0, NULL, 0}};
	const char *hi2 = NULL, *hi3 = NULL, *out = NULL, *decode = NULL;
	struct lt_tls_conf tls = {0};
	int json = 0, verbose = 0, sync = 0, c;
	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case '2':
			hi2 = optarg;
			break;
		case '3':
			hi3 = optarg;
			break;
		case 'a':
			tls.ca = optarg;
			break;
		case 'c':
			tls.cert = optarg;
			break;
		case 'k':
			tls.key = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'l':
			tls.keylog = optarg;
			break;
		case 'd':
			decode = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'P': /* decline TS 102 232-1 PDU acknowledgement (tests of the fallback) */
			col_server_set_pdu_ack(0);
			break;
		case 'S': /* fdatasync hi2.ber/hi3.ber before every confirmation */
			sync = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	lt_log_init("lawtap-collector", verbose ? LT_LOG_DEBUG : LT_LOG_INFO);
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (decode)
		return col_decode_file(decode, json);
	if (!hi2 || !hi3 || !tls.ca || !tls.cert || !tls.key || !out) {
		fputs(
		    "lawtap-collector: --hi2, --hi3, --ca, --cert, --key and --out are required\n",
		    stderr);
		usage(stderr);
		return 2;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	return run(hi2, hi3, &tls, out, sync);
}
