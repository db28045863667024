/* handover/handover.c: the set of handovers (two per LEA), shutdown drain and statistics. */
#include "ho_int.h"

#include "lib/log.h"
#include "lib/timeutil.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int open_spools(struct ho_ctx *ho, char *err, size_t errlen)
{
	for (size_t i = 0; i < 2 * ho->nleas; i++) {
		struct ho_link *l = &ho->links[i];
		char dir[1200], why[1600];
		snprintf(dir, sizeof dir, "%s/%s/%s", ho->site.spool_dir, l->lea->id,
		         l->hi == HO_HI2 ? "hi2" : "hi3");
		struct ho_spool_conf c = {dir, ho->site.spool_segment_bytes, ho->site.fsync,
		                          l->name};
		l->sp = ho_spool_open(&c, (ho_spool_key_fn)ho->site.key_fn, ho->site.key_arg, why,
		                      sizeof why);
		if (!l->sp) {
			snprintf(err, errlen, "%s: spool: %s", l->name, why);
			return -1;
		}
		l->sent = ho_spool_cursor(l->sp);
		struct ho_spool_pos end = ho_spool_end(l->sp);
		l->rec_base = end.rec;
		l->sent_max = l->sent.rec;
		uint64_t pending = end.rec - l->sent.rec;
		if (pending)
			lt_info("%s: spool %s holds %" PRIu64 " unconfirmed records (%" PRIu64
			        " bytes on disk) from an earlier run: sent first",
			        l->name, dir, pending, ho_spool_bytes(l->sp));
		if (l->lea->ack_mode == HO_ACK_WINDOW) {
			l->ring_cap =
			    (size_t)(l->lea->resend_window > 0 ? l->lea->resend_window
			                                       : HO_RESEND_WINDOW_DEFAULT) +
			    1;
			l->ring = calloc(l->ring_cap, sizeof *l->ring);
			if (!l->ring) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
		}
	}
	return 0;
}

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
	if (ssl_ctx)
		SSL_CTX_up_ref(ssl_ctx); /* released by ho_free */
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
		l->max_bytes = site->spool_max_bytes ? site->spool_max_bytes : HO_SPOOL_DEFAULT_MAX;
		pthread_mutex_init(&l->mu, NULL);
		pthread_cond_init(&l->cv, NULL);
		struct ho_pa_med_conf pc = {
		    .timeout_ms = (int64_t)l->lea->keepalive_timeout * 1000,
		    .strict = l->lea->pdu_ack_strict,
		};
		ho_pa_med_init(&l->pa, &pc);
	}
	if (open_spools(ho, err, errlen) != 0) {
		ho_free(ho);
		return NULL;
	}
	return ho;
}

int ho_start(struct ho_ctx *ho, char *err, size_t errlen)
{
	for (size_t i = 0; i < 2 * ho->nleas; i++) {
		struct ho_link *l = &ho->links[i];
		if (!l->sp) {
			snprintf(err, errlen, "%s: spool not open", l->name);
			return -1;
		}
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

uint64_t ho_link_pending(const struct ho_link *l)
{
	return l->sp ? ho_spool_end(l->sp).rec - ho_spool_cursor(l->sp).rec : 0;
}

void ho_link_confirm_locked(struct ho_link *l, const struct ho_spool_pos *pos)
{
	uint64_t before = ho_spool_cursor(l->sp).rec;
	if (pos->rec <= before)
		return;
	struct ho_spool_step st;
	struct ho_spool *sp = l->sp;
	int r = ho_spool_confirm_begin(sp, pos, &st);
	if (r > 0) {
		/* The durable part (fsyncs) without the link's lock, so the records coming in are
		 * not held up: segments are about to go, so first the caller's de-duplication
		 * state that must not need them, then the cursor file. Only this link's delivery
		 * thread confirms, one confirmation at a time. */
		pthread_mutex_unlock(&l->mu);
		if (st.drop && l->ho->site.before_delete)
			l->ho->site.before_delete(l->ho->site.key_arg);
		int saved = ho_spool_cursor_save(sp, &st) == 0;
		pthread_mutex_lock(&l->mu);
		r = ho_spool_confirm_finish(sp, &st, saved);
	}
	if (r != 0) {
		l->spool_errors++;
		return;
	}
	l->rec_conf += ho_spool_cursor(l->sp).rec - before;
	pthread_cond_broadcast(&l->cv); /* room may be back: wake ho_room_wait */
}

int ho_enqueue(struct ho_link *l, const uint8_t *pdu, size_t len, const struct ho_spool_key *k)
{
	pthread_mutex_lock(&l->mu);
	if (l->stopping || !l->sp) {
		pthread_mutex_unlock(&l->mu);
		return HO_E_STOPPED;
	}
	int rc = ho_spool_append(l->sp, k, pdu, len);
	if (rc != 0) {
		l->spool_errors++;
		rc = HO_E_IO;
	} else {
		l->rec_in++;
		/* The delivery thread is woken per batch, not per record: when it waits and records
		 * it may send (in the file) are there. */
		if (l->waiting && ho_spool_written_end(l->sp).rec != l->sent.rec)
			pthread_cond_broadcast(&l->cv); /* cv is shared with ho_room_wait */
	}
	pthread_mutex_unlock(&l->mu);
	return rc;
}

int ho_room_wait(struct ho_link *l, int ms)
{
	int64_t until = ms > 0 ? lt_now_ms() + ms : 0; /* ms <= 0: per record, no clock */
	pthread_mutex_lock(&l->mu);
	for (;;) {
		uint64_t used = l->sp ? ho_spool_bytes(l->sp) : 0;
		if (l->full && used * 100 <= l->max_bytes * HO_SPOOL_RESUME_PCT) {
			l->full = 0;
			lt_warn("%s: spool back below %d%% of spool_max_bytes (%" PRIu64
			        " bytes): taking X2/X3 from the IAPs again",
			        l->name, HO_SPOOL_RESUME_PCT, used);
		} else if (!l->full && used >= l->max_bytes) {
			l->full = 1;
			l->full_events++;
			lt_err("%s: ALARM spool full (%" PRIu64 " bytes, spool_max_bytes %" PRIu64
			       "): the LEA is not confirming; back-pressure: no more X2/X3 is "
			       "read or acknowledged until it does (the IAPs keep their data)",
			       l->name, used, l->max_bytes);
		}
		if (!l->full || l->stopping || ms <= 0 || lt_now_ms() >= until)
			break;
		struct timespec ts;
		lt_abstime_ms(&ts, 50);
		pthread_cond_timedwait(&l->cv, &l->mu, &ts);
	}
	int rc = l->full ? HO_E_FULL : 0;
	pthread_mutex_unlock(&l->mu);
	return rc;
}

int ho_sync(struct ho_ctx *ho)
{
	int rc = 0;
	for (size_t i = 0; i < 2 * ho->nleas; i++) {
		struct ho_link *l = &ho->links[i];
		pthread_mutex_lock(&l->mu);
		if (l->sp && ho_spool_sync(l->sp) != 0) {
			l->spool_errors++;
			rc = -1;
		}
		if (l->sp && l->waiting && ho_spool_written_end(l->sp).rec != l->sent.rec)
			pthread_cond_broadcast(&l->cv);
		pthread_mutex_unlock(&l->mu);
	}
	return rc;
}

int ho_sync_collect(struct ho_ctx *ho, int *fds, size_t cap, size_t *n)
{
	int rc = 0;
	for (size_t i = 0; i < 2 * ho->nleas; i++) {
		struct ho_link *l = &ho->links[i];
		pthread_mutex_lock(&l->mu);
		if (l->sp) {
			int fd = *n < cap ? ho_spool_sync_fd(l->sp) : ho_spool_sync(l->sp) - 1;
			if (fd == -2) {
				l->spool_errors++;
				rc = -1;
			} else if (fd >= 0) {
				fds[(*n)++] = fd;
			}
			if (l->waiting && ho_spool_written_end(l->sp).rec != l->sent.rec)
				pthread_cond_broadcast(&l->cv);
		}
		pthread_mutex_unlock(&l->mu);
	}
	return rc;
}

size_t ho_sync_max(const struct ho_ctx *ho)
{
	return 2 * ho->nleas;
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
		lt_abstime_ms(&ts, 100);
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
		uint64_t unconf = ho_link_pending(l);
		l->abort = 1;
		pthread_cond_broadcast(&l->cv);
		pthread_mutex_unlock(&l->mu);
		if (unconf) {
			if (canceled)
				lt_err("%s: %" PRIu64 " records not confirmed by the LEA (drain "
				       "cut short by a second signal; kept in the spool)",
				       l->name, unconf);
			else
				lt_err("%s: %" PRIu64 " records not confirmed by the LEA within "
				       "drain_timeout (%" PRId64
				       " s; kept in the spool, sent after "
				       "the next start)",
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

size_t ho_count(const struct ho_ctx *ho)
{
	return ho ? 2 * ho->nleas : 0;
}

/* With l->mu held: how the link confirms now (struct ho_stats: ack). */
static const char *ack_name(const struct ho_link *l)
{
	if (l->lea->ack_mode == HO_ACK_WINDOW)
		return "window";
	if (l->lea->ack_mode != HO_ACK_PDU)
		return "keepalive";
	switch (l->pa_mode) {
	case HO_PA_NEGOTIATING:
		return "negotiating";
	case HO_PA_ACTIVE:
		return "pdu-ack";
	case HO_PA_KEEPALIVE:
		return "keepalive";
	default:
		return "down"; /* no connection (or one being dropped) */
	}
}

int ho_get_stats(struct ho_ctx *ho, size_t i, struct ho_stats *st)
{
	if (!ho || i >= 2 * ho->nleas)
		return -1;
	struct ho_link *l = &ho->links[i];
	memset(st, 0, sizeof *st);
	pthread_mutex_lock(&l->mu);
	snprintf(st->lea, sizeof st->lea, "%s", l->lea->id);
	st->hi = l->hi == HO_HI2 ? 2 : 3;
	st->up = l->up;
	st->queued = l->rec_in;
	st->delivered = l->sent_max > l->rec_base ? l->sent_max - l->rec_base : 0;
	st->confirmed = l->rec_conf;
	st->unconfirmed = ho_link_pending(l);
	st->keepalives = l->keepalives;
	st->reconnects = l->reconnects;
	st->spool_bytes = l->sp ? ho_spool_bytes(l->sp) : 0;
	st->spool_max_bytes = l->max_bytes;
	st->spool_full = l->full;
	st->spool_full_events = l->full_events;
	st->spool_errors = l->spool_errors;
	st->pdu_ack_requests = l->pdu_ack_requests;
	st->pdu_ack_responses = l->pdu_ack_responses;
	st->ack = ack_name(l);
	pthread_mutex_unlock(&l->mu);
	return 0;
}

void ho_print_stats(struct ho_ctx *ho, FILE *out)
{
	for (size_t i = 0; i < 2 * ho->nleas; i++) {
		struct ho_link *l = &ho->links[i];
		pthread_mutex_lock(&l->mu);
		fprintf(out,
		        "lea=%s hi=%d queued=%" PRIu64 " delivered=%" PRIu64 " confirmed=%" PRIu64
		        " unconfirmed=%" PRIu64 " dropped=%" PRIu64 " keepalives=%" PRIu64
		        " reconnects=%" PRIu64 " spool_bytes=%" PRIu64 " spool_full=%d"
		        " spool_full_events=%" PRIu64 " spool_errors=%" PRIu64
		        " pdu_ack_requests=%" PRIu64 " pdu_ack_responses=%" PRIu64 " ack=%s\n",
		        l->lea->id, l->hi == HO_HI2 ? 2 : 3, l->rec_in,
		        l->sent_max > l->rec_base ? l->sent_max - l->rec_base : 0, l->rec_conf,
		        ho_link_pending(l), l->dropped, l->keepalives, l->reconnects,
		        l->sp ? ho_spool_bytes(l->sp) : 0, l->full, l->full_events, l->spool_errors,
		        l->pdu_ack_requests, l->pdu_ack_responses, ack_name(l));
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
		ho_spool_close(ho->links[i].sp);
		free(ho->links[i].ring);
		pthread_mutex_destroy(&ho->links[i].mu);
		pthread_cond_destroy(&ho->links[i].cv);
	}
	pthread_mutex_destroy(&ho->mu);
	pthread_cond_destroy(&ho->done_cv);
	free(ho->links);
	free(ho->leas);
	SSL_CTX_free(ho->ssl_ctx);
	free(ho);
}
