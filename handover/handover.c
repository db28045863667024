/* handover/handover.c: the set of handovers (two per LEA), shutdown drain and statistics. */
#include "ho_int.h"

#include "lib/log.h"
#include "lib/timeutil.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ho_ctx *ho_new(SSL_CTX *ssl_ctx, const struct ho_site *site, const struct ho_lea_conf *leas,
                      size_t nleas, char *err, size_t errlen)
{
	struct ho_ctx *ho = calloc(1, sizeof *ho);
	if (!ho || (nleas && !(ho->leas = calloc(nleas, sizeof *leas))) ||
	    (nleas && !(ho->links = calloc(2 * nleas, sizeof *ho->links)))) {
		snprintf(err, errlen, "out of memory");
		if (ho) {
			free(ho->leas);
			free(ho);
		}
		return NULL;
	}
	ho->ssl_ctx = ssl_ctx;
	ho->site = *site;
	ho->nleas = nleas;
	if (nleas)
		memcpy(ho->leas, leas, nleas * sizeof *leas);
	pthread_mutex_init(&ho->mu, NULL);
	pthread_cond_init(&ho->done_cv, NULL);
	for (size_t i = 0; i < 2 * nleas; i++) {
		struct ho_link *l = &ho->links[i];
		l->ho = ho;
		l->lea = &ho->leas[i / 2];
		l->hi = (int)(i % 2);
		snprintf(l->name, sizeof l->name, "lea %s hi%d", l->lea->id,
		         l->hi == HO_HI2 ? 2 : 3);
		l->q.max = site->queue_max;
		pthread_mutex_init(&l->mu, NULL);
		pthread_cond_init(&l->cv, NULL);
	}
	return ho;
}

int ho_start(struct ho_ctx *ho, char *err, size_t errlen)
{
	for (size_t i = 0; i < 2 * ho->nleas; i++) {
		struct ho_link *l = &ho->links[i];
		int rc = pthread_create(&l->thr, NULL, ho_link_main, l);
		if (rc != 0) {
			snprintf(err, errlen, "%s: cannot start the delivery thread: %s", l->name,
			         strerror(rc));
			return -1;
		}
		l->thr_started = 1;
	}
	return 0;
}

struct ho_link *ho_link_get(struct ho_ctx *ho, size_t lea, int hi)
{
	if (!ho || lea >= ho->nleas || (hi != HO_HI2 && hi != HO_HI3))
		return NULL;
	return &ho->links[2 * lea + (size_t)hi];
}

const struct ho_lea_conf *ho_link_lea(const struct ho_link *l)
{
	return l->lea;
}

int ho_enqueue(struct ho_link *l, const uint8_t *pdu, size_t len)
{
	static _Atomic int64_t last_full_log; /* rate limit shared by all links */
	pthread_mutex_lock(&l->mu);
	if (l->stopping) {
		pthread_mutex_unlock(&l->mu);
		return HO_E_STOPPED;
	}
	int rc = ho_queue_push(&l->q, pdu, len);
	if (rc != 0)
		l->dropped++;
	else
		pthread_cond_signal(&l->cv);
	uint64_t dropped = l->dropped;
	pthread_mutex_unlock(&l->mu);
	if (rc != 0) {
		int64_t now = lt_now_ms();
		if (dropped == 1 || now - last_full_log >= 10000) {
			last_full_log = now;
			lt_err("%s: queue full, records dropped (%" PRIu64 " so far)", l->name,
			       dropped);
		}
	}
	return rc;
}

static int all_done(struct ho_ctx *ho)
{
	for (size_t i = 0; i < 2 * ho->nleas; i++) {
		struct ho_link *l = &ho->links[i];
		pthread_mutex_lock(&l->mu);
		int d = l->done || !l->thr_started;
		pthread_mutex_unlock(&l->mu);
		if (!d)
			return 0;
	}
	return 1;
}

static void wait_done(struct ho_ctx *ho, int64_t until, const volatile sig_atomic_t *cancel)
{
	pthread_mutex_lock(&ho->mu);
	while (!all_done(ho) && lt_now_ms() < until && !(cancel && *cancel)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&ho->done_cv, &ho->mu, &ts);
	}
	pthread_mutex_unlock(&ho->mu);
}

int ho_drain(struct ho_ctx *ho, int64_t timeout_ms, const volatile sig_atomic_t *cancel)
{
	int64_t until = lt_now_ms() + timeout_ms;
	for (size_t i = 0; i < 2 * ho->nleas; i++) {
		struct ho_link *l = &ho->links[i];
		pthread_mutex_lock(&l->mu);
		l->stopping = 1;
		pthread_cond_broadcast(&l->cv);
		pthread_mutex_unlock(&l->mu);
	}
	wait_done(ho, until, cancel);
	int canceled = cancel && *cancel;
	int rc = 0;
	for (size_t i = 0; i < 2 * ho->nleas; i++) {
		struct ho_link *l = &ho->links[i];
		pthread_mutex_lock(&l->mu);
		uint64_t unconf = l->q.rec_end - l->q.rec_conf;
		l->abort = 1;
		pthread_cond_broadcast(&l->cv);
		pthread_mutex_unlock(&l->mu);
		if (unconf) {
			if (canceled)
				lt_err("%s: %" PRIu64 " records not confirmed by the LEA (drain "
				       "cut short by a second signal)",
				       l->name, unconf);
			else
				lt_err("%s: %" PRIu64 " records not confirmed by the LEA within "
				       "drain_timeout (%" PRId64 " s)",
				       l->name, unconf, timeout_ms / 1000);
			rc = -1;
		}
	}
	/* Threads blocked in a connect or a write notice the abort within their I/O timeouts;
	 * give them a moment, then join the ones that finished (the process exits anyway). */
	wait_done(ho, lt_now_ms() + 2000, NULL);
	for (size_t i = 0; i < 2 * ho->nleas; i++) {
		struct ho_link *l = &ho->links[i];
		pthread_mutex_lock(&l->mu);
		int d = l->done;
		pthread_mutex_unlock(&l->mu);
		if (l->thr_started && d) {
			pthread_join(l->thr, NULL);
			l->thr_started = 0;
		}
	}
	return rc;
}

void ho_print_stats(struct ho_ctx *ho, FILE *out)
{
	for (size_t i = 0; i < 2 * ho->nleas; i++) {
		struct ho_link *l = &ho->links[i];
		pthread_mutex_lock(&l->mu);
		fprintf(out,
		        "lea=%s hi=%d queued=%" PRIu64 " delivered=%" PRIu64 " confirmed=%" PRIu64
		        " unconfirmed=%" PRIu64 " dropped=%" PRIu64 " keepalives=%" PRIu64
		        " reconnects=%" PRIu64 "\n",
		        l->lea->id, l->hi == HO_HI2 ? 2 : 3, l->q.rec_end, l->q.rec_sent_max,
		        l->q.rec_conf, l->q.rec_end - l->q.rec_conf, l->dropped, l->keepalives,
		        l->reconnects);
		pthread_mutex_unlock(&l->mu);
	}
	fflush(out);
}

void ho_free(struct ho_ctx *ho)
{
	if (!ho)
		return;
	int running = 0;
	for (size_t i = 0; i < 2 * ho->nleas; i++) {
		struct ho_link *l = &ho->links[i];
		pthread_mutex_lock(&l->mu);
		l->abort = 1;
		pthread_cond_broadcast(&l->cv);
		pthread_mutex_unlock(&l->mu);
	}
	wait_done(ho, lt_now_ms() + 2000, NULL);
	for (size_t i = 0; i < 2 * ho->nleas; i++) {
		struct ho_link *l = &ho->links[i];
		if (!l->thr_started)
			continue;
		pthread_mutex_lock(&l->mu);
		int d = l->done;
		pthread_mutex_unlock(&l->mu);
		if (d) {
			pthread_join(l->thr, NULL);
			l->thr_started = 0;
		} else {
			running = 1;
		}
	}
	if (running)
		return; /* a thread still blocked in I/O owns its link: leave it to process exit */
	for (size_t i = 0; i < 2 * ho->nleas; i++) {
		ho_queue_free(&ho->links[i].q);
		pthread_mutex_destroy(&ho->links[i].mu);
		pthread_cond_destroy(&ho->links[i].cv);
	}
	pthread_mutex_destroy(&ho->mu);
	pthread_cond_destroy(&ho->done_cv);
	free(ho->links);
	free(ho->leas);
	free(ho);
}
