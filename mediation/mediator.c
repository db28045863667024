/* mediation/mediator.c: assembling the mediator: TLS contexts, handovers, warrants, listeners,
 * window timer; orderly stop (intake first, then the handover drain) and statistics. */
#include "med_int.h"

#include "lib/log.h"
#include "lib/net.h"
#include "lib/timeutil.h"
#include "lib/tls.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#define INTAKE_STOP_WAIT_MS 15000

struct med_ctx *med_new(const struct med_config *cfg, int *bad_config, char *err, size_t errlen)
{
	if (bad_config)
		*bad_config = 0;
	struct med_ctx *m = calloc(1, sizeof *m);
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	m->cfg = cfg;
	m->x2x3_fd = m->tasking_fd = -1;
	pthread_mutex_init(&m->task_mu, NULL);
	pthread_cond_init(&m->task_cv, NULL);
	pthread_mutex_init(&m->conn_mu, NULL);
	pthread_cond_init(&m->conn_cv, NULL);
	for (int i = 0; i < MED_DROP_N; i++)
		pthread_mutex_init(&m->rl[i].mu, NULL);
	/* Versions grow across restarts too: start from the wall clock in milliseconds, so a
	 * restart lands above the last version unless more than 1000 changes a second were
	 * made (seconds were not enough: prov_restart saw a version go down). */
	int64_t now;
	uint32_t ns;
	lt_wallclock(&now, &ns);
	m->task_version = now > 0 ? (uint64_t)now * 1000 + ns / 1000000 : 1;

	struct lt_tls_conf tc = {cfg->tls_ca, cfg->tls_cert, cfg->tls_key, NULL};
	char why[256];
	m->srv_ctx = lt_tls_ctx_new(&tc, 1, why, sizeof why);
	if (m->srv_ctx)
		m->cli_ctx = lt_tls_ctx_new(&tc, 0, why, sizeof why);
	if (!m->srv_ctx || !m->cli_ctx) {
		snprintf(err, errlen, "%s: mediator.tls: %s", cfg->file, why);
		if (bad_config)
			*bad_config = 1;
		goto fail;
	}
	/* De-duplication marks (<state_dir>/dedup), completed by every spool as it opens. */
	m->dedup = med_dedup_new(cfg->state_dir);
	if (!m->dedup) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* LEAs (each with its own handovers) and warrants come from the store. */
	if (med_live_init(m, err, errlen) != 0)
		goto fail;
	return m;
fail:
	med_free(m);
	return NULL;
}

static int open_listener(const char *what, const char *hostport, int *fd, char *err, size_t errlen)
{
	char why[256];
	*fd = lt_tcp_listen(hostport, why, sizeof why);
	if (*fd < 0) {
		snprintf(err, errlen, "mediator.%s_listen %s: %s", what, hostport, why);
		return -1;
	}
	lt_info("listening for %s on %s (port %d)", what, hostport, lt_tcp_local_port(*fd));
	return 0;
}

int med_start(struct med_ctx *m, char *err, size_t errlen)
{
	/* Bind first: a port in use stops the start before anything is queued. */
	if (open_listener("x2x3", m->cfg->x2x3_listen, &m->x2x3_fd, err, errlen) != 0 ||
	    open_listener("tasking", m->cfg->tasking_listen, &m->tasking_fd, err, errlen) != 0)
		return -1;
	if (med_live_start(m, err, errlen) != 0)
		return -1;
	/* Begin events for the windows open now, before any record can arrive. */
	int64_t now;
	uint32_t ns;
	lt_wallclock(&now, &ns);
	med_warrants_tick(m, now);
	if (med_syncer_start(m) != 0) {
		snprintf(err, errlen, "cannot start the spool sync thread");
		return -1;
	}
	if (pthread_create(&m->timer_thr, NULL, med_timer_main, m) != 0) {
		snprintf(err, errlen, "cannot start the window timer thread");
		return -1;
	}
	m->timer_started = 1;
	if (pthread_create(&m->tasking_thr, NULL, med_tasking_listener, m) != 0) {
		snprintf(err, errlen, "cannot start the tasking listener thread");
		return -1;
	}
	m->tasking_started = 1;
	if (pthread_create(&m->x2x3_thr, NULL, med_x2x3_listener, m) != 0) {
		snprintf(err, errlen, "cannot start the x2x3 listener thread");
		return -1;
	}
	m->x2x3_started = 1;
	if (m->cfg->rest_listen[0]) {
		m->rest = med_rest_start(m, m->cfg->rest_listen, err, errlen);
		if (!m->rest)
			return -1;
	}
	return 0;
}

void med_stop_intake(struct med_ctx *m)
{
	atomic_store(&m->stopping, 1);
	/* wakes the accept loops now rather than at their next poll timeout */
	if (m->x2x3_fd >= 0)
		(void)shutdown(m->x2x3_fd, SHUT_RD);
	if (m->tasking_fd >= 0)
		(void)shutdown(m->tasking_fd, SHUT_RD);
	med_rest_stop(m->rest);
	m->rest = NULL;
	if (m->x2x3_started)
		pthread_join(m->x2x3_thr, NULL);
	if (m->tasking_started)
		pthread_join(m->tasking_thr, NULL);
	if (m->timer_started)
		pthread_join(m->timer_thr, NULL);
	m->x2x3_started = m->tasking_started = m->timer_started = 0;
	if (m->x2x3_fd >= 0)
		close(m->x2x3_fd);
	if (m->tasking_fd >= 0)
		close(m->tasking_fd);
	m->x2x3_fd = m->tasking_fd = -1;
	/* Connection threads notice the flag within one read poll; a handshake in progress
	 * within its timeout. */
	int64_t until = lt_now_ms() + INTAKE_STOP_WAIT_MS;
	pthread_mutex_lock(&m->conn_mu);
	while (m->nconns > 0 && lt_now_ms() < until) {
		struct timespec ts;
		lt_abstime_ms(&ts, 100);
		pthread_cond_timedwait(&m->conn_cv, &m->conn_mu, &ts);
	}
	int left = m->nconns;
	pthread_mutex_unlock(&m->conn_mu);
	if (left)
		lt_warn("%d IAP connections still closing at shutdown", left);
	med_syncer_stop(m);
}

int med_drain(struct med_ctx *m, const volatile sig_atomic_t *cancel)
{
	/* One deadline for all the LEAs' handovers. */
	int64_t until = lt_now_ms() + (int64_t)m->cfg->drain_timeout * 1000;
	int rc = 0;
	for (size_t i = 0; i < m->nleas; i++) {
		if (m->leas[i]->removed)
			continue; /* drained when it was removed or replaced */
		int64_t left = until - lt_now_ms();
		if (ho_drain(m->leas[i]->ho, left > 0 ? left : 0, cancel) != 0)
			rc = -1;
	}
	return rc;
}

void med_print_stats(struct med_ctx *m, FILE *out)
{
	for (size_t i = 0; i < m->nleas; i++)
		if (!m->leas[i]->removed)
			ho_print_stats(m->leas[i]->ho, out);
	fprintf(out,
	        "mediator x2_records=%" PRIu64 " x3_records=%" PRIu64
	        " dropped_unknown_xid=%" PRIu64 " dropped_inactive=%" PRIu64
	        " dropped_x3_iri_only=%" PRIu64 " dropped_unsupported=%" PRIu64
	        " dropped_encode=%" PRIu64 " dropped_queue=%" PRIu64 " cin_remapped=%" PRIu64
	        " refused_connections=%" PRIu64 " duplicates=%" PRIu64 " cin_rolls=%" PRIu64 "\n",
	        (uint64_t)atomic_load(&m->records_in[HO_HI2]),
	        (uint64_t)atomic_load(&m->records_in[HO_HI3]),
	        (uint64_t)atomic_load(&m->drops[MED_DROP_UNKNOWN_XID]),
	        (uint64_t)atomic_load(&m->drops[MED_DROP_INACTIVE]),
	        (uint64_t)atomic_load(&m->drops[MED_DROP_X3_IRI_ONLY]),
	        (uint64_t)atomic_load(&m->drops[MED_DROP_UNSUPPORTED]),
	        (uint64_t)atomic_load(&m->drops[MED_DROP_ENCODE]),
	        (uint64_t)atomic_load(&m->drops[MED_DROP_QUEUE]),
	        (uint64_t)atomic_load(&m->cin_remapped), (uint64_t)atomic_load(&m->bad_conns),
	        (uint64_t)atomic_load(&m->duplicates), (uint64_t)atomic_load(&m->cin_rolls));
	fflush(out);
}

void med_write_status(struct med_ctx *m)
{
	char path[MED_PATH_MAX + 16], tmp[MED_PATH_MAX + 24];
	snprintf(path, sizeof path, "%s/status", m->cfg->state_dir);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return;
	pthread_rwlock_rdlock(&m->wl);
	med_print_stats(m, f);
	pthread_rwlock_unlock(&m->wl);
	int bad = ferror(f);
	if (fclose(f) != 0 || bad || rename(tmp, path) != 0)
		(void)unlink(tmp);
}

void med_free(struct med_ctx *m)
{
	if (!m)
		return;
	if (m->x2x3_started || m->tasking_started || m->timer_started)
		med_stop_intake(m);
	med_syncer_stop(m); /* a start that failed half-way */
	if (m->x2x3_fd >= 0)
		close(m->x2x3_fd);
	if (m->tasking_fd >= 0)
		close(m->tasking_fd);
	pthread_mutex_lock(&m->conn_mu);
	int conns = m->nconns;
	pthread_mutex_unlock(&m->conn_mu);
	if (conns)
		return; /* a connection thread still uses m: leave it to process exit */
	med_live_free(m);
	med_dedup_free(m->dedup);
	lt_tls_ctx_free(m->srv_ctx);
	lt_tls_ctx_free(m->cli_ctx);
	for (int i = 0; i < MED_DROP_N; i++)
		pthread_mutex_destroy(&m->rl[i].mu);
	pthread_mutex_destroy(&m->task_mu);
	pthread_cond_destroy(&m->task_cv);
	pthread_mutex_destroy(&m->conn_mu);
	pthread_cond_destroy(&m->conn_cv);
	if (m->sy_inited) {
		pthread_mutex_destroy(&m->sy_mu);
		pthread_cond_destroy(&m->sy_cv);
		pthread_cond_destroy(&m->sy_done_cv);
	}
	free(m);
}
