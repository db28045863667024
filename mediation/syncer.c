/* mediation/syncer.c: the group commit of fsync "batch" off the IAP connection threads.
 *
 * An IAP connection thread that owes keep-alive acks asks for a sync (med_sync_request) and
 * goes on reading and spooling while one thread writes the spools' tails, takes a duplicate
 * descriptor of each spool written since its last sync (under the handover locks, briefly)
 * and runs the fdatasyncs outside every lock; the acks go out once the pass that covers the
 * request has ended (med_sync_poll). So the disk's latency overlaps the next records' work
 * instead of stopping the connection, and the delivery threads are not held up by a sync.
 * Requests are numbered; one pass covers every request made before it started. A failed pass
 * fails its requests and every later one (the connections drop unacknowledged, the IAPs keep
 * their data; an ALARM line asks for a restart: docs/delivery.md). */
#include "med_int.h"

#include "handover/spool.h"
#include "lib/log.h"
#include "lib/timeutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* One pass: every LEA's spools written and their descriptors collected under the locks, then
 * synced outside them. 0 or -1 (logged). */
static int pass(struct med_ctx *m)
{
	int rc = 0;
	size_t n = 0, cap = 0;
	int *fds = NULL;
	pthread_rwlock_rdlock(&m->wl);
	pthread_mutex_lock(&m->ho_mu);
	for (size_t i = 0; i < m->nleas; i++)
		if (!m->leas[i]->removed && m->leas[i]->ho)
			cap += ho_sync_max(m->leas[i]->ho);
	fds = cap ? malloc(cap * sizeof *fds) : NULL;
	if (cap && !fds)
		cap = 0; /* ho_sync_collect then syncs in place */
	for (size_t i = 0; i < m->nleas; i++)
		if (!m->leas[i]->removed && m->leas[i]->ho &&
		    ho_sync_collect(m->leas[i]->ho, fds, cap, &n) != 0)
			rc = -1;
	pthread_mutex_unlock(&m->ho_mu);
	pthread_rwlock_unlock(&m->wl);
	for (size_t i = 0; i < n; i++) {
		if (fdatasync(fds[i]) != 0) {
			lt_err("spool: fdatasync failed: %s (the IAPs' records since the last sync "
			       "are not acknowledged; they resend them)",
			       strerror(errno));
			rc = -1;
		}
		close(fds[i]);
	}
	free(fds);
	return rc;
}

/* With sy_mu held: every sync request, pending or later, fails for good. After a failed
 * fdatasync the kernel may report the next one as a success without having written the
 * failed pages, so no later pass may vouch for what was written before it. */
static void fail_locked(struct med_ctx *m)
{
	if (m->sy_bad != UINT64_MAX)
		lt_err("ALARM spool fdatasync failed: the mediator acknowledges no more X2/X3 (the "
		       "IAPs keep and resend their data); restart it once the disk is fixed");
	m->sy_bad = UINT64_MAX;
}

static void *syncer_main(void *arg)
{
	struct med_ctx *m = arg;
	pthread_mutex_lock(&m->sy_mu);
	for (;;) {
		while (m->sy_req == m->sy_done && !m->sy_stop)
			pthread_cond_wait(&m->sy_cv, &m->sy_mu);
		if (m->sy_req == m->sy_done)
			break; /* stopping, nothing asked */
		uint64_t target = m->sy_req;
		pthread_mutex_unlock(&m->sy_mu);
		int rc = pass(m);
		pthread_mutex_lock(&m->sy_mu);
		m->sy_done = target;
		if (rc != 0)
			fail_locked(m);
		pthread_cond_broadcast(&m->sy_done_cv);
	}
	pthread_mutex_unlock(&m->sy_mu);
	return NULL;
}

int med_syncer_start(struct med_ctx *m)
{
	if (m->cfg->fsync != HO_FSYNC_BATCH)
		return 0; /* "always" syncs on append, "none" never: nothing to wait for */
	if (pthread_mutex_init(&m->sy_mu, NULL) != 0)
		return -1;
	pthread_cond_init(&m->sy_cv, NULL);
	pthread_cond_init(&m->sy_done_cv, NULL);
	m->sy_req = m->sy_done = m->sy_bad = 0;
	m->sy_stop = 0;
	m->sy_inited = 1;
	if (pthread_create(&m->sy_thr, NULL, syncer_main, m) != 0)
		return -1;
	m->sy_started = 1;
	return 0;
}

void med_syncer_stop(struct med_ctx *m)
{
	if (!m->sy_inited)
		return;
	if (m->sy_started) {
		pthread_mutex_lock(&m->sy_mu);
		m->sy_stop = 1;
		pthread_cond_broadcast(&m->sy_cv);
		pthread_mutex_unlock(&m->sy_mu);
		pthread_join(m->sy_thr, NULL);
		m->sy_started = 0;
	}
	pthread_mutex_lock(&m->sy_mu);
	pthread_cond_broadcast(&m->sy_done_cv); /* nobody waits on a stopped syncer */
	pthread_mutex_unlock(&m->sy_mu);
}

void med_sync_fail(struct med_ctx *m)
{
	if (!m->sy_inited)
		return;
	pthread_mutex_lock(&m->sy_mu);
	fail_locked(m);
	pthread_cond_broadcast(&m->sy_done_cv);
	pthread_mutex_unlock(&m->sy_mu);
}

uint64_t med_sync_request(struct med_ctx *m)
{
	if (!m->sy_inited)
		return 0;
	pthread_mutex_lock(&m->sy_mu);
	uint64_t g = 0;
	if (m->sy_started && !m->sy_stop) {
		g = ++m->sy_req;
		pthread_cond_signal(&m->sy_cv);
	}
	pthread_mutex_unlock(&m->sy_mu);
	return g;
}

int med_sync_poll(struct med_ctx *m, uint64_t gen, int wait_ms)
{
	struct timespec until;
	lt_abstime_ms(&until, wait_ms);
	pthread_mutex_lock(&m->sy_mu);
	while (m->sy_done < gen && wait_ms > 0 && m->sy_started &&
	       pthread_cond_timedwait(&m->sy_done_cv, &m->sy_mu, &until) == 0)
		;
	int r = m->sy_done < gen ? (m->sy_started ? 0 : -1) : gen <= m->sy_bad ? -1 : 1;
	pthread_mutex_unlock(&m->sy_mu);
	return r;
}
