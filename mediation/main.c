/* lawtap-mediator: takes X2/X3 from IAPs, pushes tasks to them, delivers HI2/HI3 to LEAs.
 *   lawtap-mediator -c mediator.yaml [-v]
 * Exit: 0 after an orderly stop with everything confirmed, 1 when something could not be
 * confirmed within drain_timeout (or a start-up failure), 2 on a bad command line or config
 * (including TLS files that cannot be used). */
#include "mediation/mediation.h"
#include "mediation/store.h"

#include "lib/log.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got_signal;
static volatile sig_atomic_t drain_cancel; /* a second signal: stop draining now */

static void on_signal(int sig)
{
	if (got_signal)
		drain_cancel = 1;
	else
		got_signal = sig;
}

static void usage(void)
{
	fprintf(stderr, "usage: lawtap-mediator -c mediator.yaml [-v]\n"
	                "       lawtap-mediator --audit-verify STORE.db [AUDIT.head]\n");
}

/* Offline check of the audit trail of a store file; the head file defaults to audit.head
 * beside it. Exit 0 when intact, 1 when not (the entry named), 2 when it cannot be read. */
static int audit_verify(const char *db, const char *head)
{
	char hp[4096];
	if (!head) {
		const char *sl = strrchr(db, '/');
		snprintf(hp, sizeof hp, "%.*saudit.head", sl ? (int)(sl - db + 1) : 0, db);
		head = hp;
	}
	struct med_audit_report r;
	if (med_audit_verify_file(db, head, &r) != 0) {
		fprintf(stderr, "audit verify: %s\n", r.error);
		return 2;
	}
	if (r.ok) {
		printf("audit ok: %" PRId64 " entries\n", r.entries);
		return 0;
	}
	printf("audit FAILED: %s\n", r.error);
	return 1;
}

int main(int argc, char **argv)
{
	const char *conf_path = NULL;
	int level = LT_LOG_INFO;
	int opt;
	if (argc >= 3 && argc <= 4 && strcmp(argv[1], "--audit-verify") == 0)
		return audit_verify(argv[2], argc == 4 ? argv[3] : NULL);
	while ((opt = getopt(argc, argv, "c:vh")) != -1) {
		switch (opt) {
		case 'c':
			conf_path = optarg;
			break;
		case 'v':
			level = LT_LOG_DEBUG;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (!conf_path || optind != argc) {
		usage();
		return 2;
	}
	lt_log_init("lawtap-mediator", level);

	static struct med_config cfg;
	char err[512];
	if (med_config_load_file(conf_path, &cfg, err, sizeof err) != 0) {
		lt_err("%s", err);
		return 2;
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* Worker threads inherit a mask without SIGTERM/SIGINT: only main takes them, and
	 * sigsuspend() closes the check-then-wait race. */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, &old);

	int bad_config = 0;
	struct med_ctx *m = med_new(&cfg, &bad_config, err, sizeof err);
	if (!m) {
		lt_err("%s", err);
		med_config_clear(&cfg);
		return bad_config ? 2 : 1;
	}
	if (med_start(m, err, sizeof err) != 0) {
		lt_err("%s", err);
		med_free(m);
		med_config_clear(&cfg);
		return 1;
	}
	lt_info("running: LEAs and warrants from the store (config seeds: %zu LEAs, %zu warrants)",
	        cfg.nleas, cfg.nwarrants);
	while (!got_signal)
		sigsuspend(&old);
	lt_info("signal %d: stopping intake, draining the handovers (at most %d s; "
	        "a second signal gives up)",
	        (int)got_signal, cfg.drain_timeout);
	/* From here a second signal cuts the drain short (main is the only thread that takes
	 * them: the others were started with them blocked). */
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	med_stop_intake(m);
	int rc = med_drain(m, &drain_cancel);
	med_print_stats(m, stdout);
	if (rc != 0)
		lt_err("stopped with records the LEAs did not confirm (see above)");
	else
		lt_info("stopped: everything delivered and confirmed");
	/* cfg (static) is left for the process exit: med_free keeps the ctx alive when a
	 * connection thread is still unwinding, and such a thread may still read the config. */
	med_free(m);
	return rc != 0 ? 1 : 0;
}
