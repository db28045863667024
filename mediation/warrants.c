/* mediation/warrants.c: warrants at run time, one task per warrant. XIDs are derived from
 * (country, LIID); CINs come from a counter persisted in state_dir; a warrant moves
 * pending -> active (begin event) -> ended (end event, task withdrawn) along its window. */
#include "store_int.h"

#include "lib/log.h"
#include "lib/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void med_xid_for(const char *cc, const char *liid, size_t liid_len, uint8_t xid[16])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) &&
	         EVP_DigestUpdate(c, "lawtap-xid:", 11) && EVP_DigestUpdate(c, cc, strlen(cc)) &&
	         EVP_DigestUpdate(c, ":", 1) && EVP_DigestUpdate(c, liid, liid_len) &&
	         EVP_DigestFinal_ex(c, md, &mdlen);
	EVP_MD_CTX_free(c);
	if (!ok || mdlen < 16)
		memset(md, 0, 16); /* cannot happen with a working libcrypto */
	memcpy(xid, md, 16);
	xid[6] = (uint8_t)((xid[6] & 0x0f) | 0x80); /* version 8: custom (RFC 9562) */
	xid[8] = (uint8_t)((xid[8] & 0x3f) | 0x80); /* RFC 9562 variant */
}

static int read_counter(const char *path, uint64_t *last, char *err, size_t errlen)
{
	*last = 0;
	FILE *f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char line[32] = "";
	int ok = fgets(line, sizeof line, f) != NULL;
	fclose(f);
	char *end = NULL;
	errno = 0;
	unsigned long long v = ok ? strtoull(line, &end, 10) : 0;
	if (!ok || errno || end == line || (*end != '\n' && *end != '\0') || v > UINT32_MAX) {
		/* Refuse to guess: a wrong guess would reuse CINs. */
		snprintf(err, errlen, "%s: corrupt CIN counter (fix or remove it by hand)", path);
		return -1;
	}
	*last = v;
	return 0;
}

int med_cin_reserve(const char *state_dir, uint32_t n, uint32_t *first, char *err, size_t errlen)
{
	char path[MED_PATH_MAX + 16], tmp[MED_PATH_MAX + 16];
	if (mkdir(state_dir, 0700) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "state_dir %s: %s", state_dir, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof path, "%s/cin", state_dir);
	snprintf(tmp, sizeof tmp, "%s/cin.tmp", state_dir);
	uint64_t last;
	if (read_counter(path, &last, err, errlen) != 0)
		return -1;
	if (last + n > UINT32_MAX) {
		snprintf(err, errlen, "%s: CIN space exhausted", path);
		return -1;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	char line[32];
	int len = snprintf(line, sizeof line, "%" PRIu64 "\n", last + n);
	if (write(fd, line, (size_t)len) != len || fsync(fd) != 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	int dfd = open(state_dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0 || fsync(dfd) != 0) {
		snprintf(err, errlen, "state_dir %s: fsync: %s", state_dir, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	close(dfd);
	*first = (uint32_t)last + 1;
	return 0;
}

/* The run-time warrants are built from the store (store_live.c); this file keeps the lookup,
 * the window timer and the task snapshot. */
void med_warrants_free(struct med_ctx *m)
{
	for (size_t i = 0; m->w && i < m->nw; i++) {
		struct med_warrant *w = m->w[i];
		pthread_mutex_destroy(&w->mu);
		med_tgen_clear(&w->cur);
		med_tgen_clear(&w->prev);
		med_wdef_clear(&w->def);
		free(w);
	}
	free(m->w);
	free(m->by_xid);
	m->w = NULL;
	m->by_xid = NULL;
	m->nw = m->wcap = 0;
}

struct med_warrant *med_warrant_find(struct med_ctx *m, const uint8_t xid[16])
{
	struct med_warrant *found = NULL;
	pthread_rwlock_rdlock(&m->wl);
	size_t lo = 0, hi = m->nw;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(m->by_xid[mid]->xid, xid, 16);
		if (c == 0) {
			found = m->by_xid[mid];
			break;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	pthread_rwlock_unlock(&m->wl);
	return found;
}

int med_warrant_activate_locked(struct med_ctx *m, struct med_warrant *w, int64_t now,
                                uint8_t *scratch, size_t cap)
{
	if (w->state == MED_W_PENDING && now >= w->conf->start && now < w->conf->end) {
		/* Both modes open their record stream with a begin event: the LIID/CIN stream
		 * has a BEGIN ... END bracket whether it carries CC or only header reports. */
		(void)med_emit_event_locked(m, w, 1, scratch, cap);
		w->state = MED_W_ACTIVE;
		lt_info("warrant %s: interception started (cin %" PRIu32 ")", w->conf->liid,
		        w->cin);
	}
	return w->state;
}

void med_warrants_tick(struct med_ctx *m, int64_t now)
{
	static uint8_t scratch[8192]; /* only the timer (or start-up) thread ticks */
	int withdrawn = 0;
	pthread_mutex_lock(&m->prov_mu);
	pthread_rwlock_rdlock(&m->wl);
	for (size_t i = 0; i < m->nw; i++) {
		struct med_warrant *w = m->w[i];
		pthread_mutex_lock(&w->mu);
		int was = w->state;
		med_warrant_activate_locked(m, w, now, scratch, sizeof scratch);
		/* The window closes for records at end (their time of interception); the
		 * warrant ends MED_END_GRACE_S later, so records intercepted just before the end
		 * and still in flight are delivered before the end event. */
		if (w->state != MED_W_ENDED && w->conf->end != INT64_MAX &&
		    now >= w->conf->end + MED_END_GRACE_S) {
			if (w->state == MED_W_ACTIVE)
				(void)med_emit_event_locked(m, w, 0, scratch, sizeof scratch);
			w->state = MED_W_ENDED;
			withdrawn++;
			lt_info("warrant %s: window ended, interception stopped, task withdrawn",
			        w->conf->liid);
		}
		/* Also a start made by a record's arrival (records.c): the store follows. */
		int changed = was != w->state || w->def.state != med_ws_of(w->state);
		pthread_mutex_unlock(&w->mu);
		if (changed)
			med_live_state_changed(m, w);
	}
	pthread_rwlock_unlock(&m->wl);
	pthread_mutex_unlock(&m->prov_mu);
	if (withdrawn)
		med_tasks_changed(m);
}

static int match_gen(const struct med_tgen *g, int family, const uint8_t *a)
{
	for (size_t i = 0; i < g->n; i++) {
		const struct lt_target *t = &g->t[i];
		if (t->family != family)
			continue;
		int bytes = t->prefix / 8, bits = t->prefix % 8;
		if (memcmp(t->addr, a, (size_t)bytes) != 0)
			continue;
		if (bits && ((t->addr[bytes] ^ a[bytes]) & (uint8_t)(0xff << (8 - bits))))
			continue;
		return 1;
	}
	return 0;
}

int med_warrant_admit_locked(struct med_warrant *w, const struct lt_x2x3_pdu *p, int64_t ts_sec)
{
	if (w->state != MED_W_ACTIVE || ts_sec < w->conf->start || ts_sec >= w->conf->end)
		return 0;
	/* since is in ns: a change splits even one second exactly. */
	int64_t t_ns = p->has_ts && p->ts_nsec < 1000000000u
	                   ? (int64_t)p->ts_sec * 1000000000 + (int64_t)p->ts_nsec
	                   : ts_sec * 1000000000;
	const struct med_tgen *g = t_ns >= w->since || !w->prev.t ? &w->cur : &w->prev;
	int family = 0;
	const uint8_t *src = NULL, *dst = NULL;
	if (p->type == LT_X3 && p->format == LT_PF_IPV4 && p->payload_len >= 20) {
		family = 4;
		src = p->payload + 12;
		dst = p->payload + 16;
	} else if (p->type == LT_X3 && p->format == LT_PF_IPV6 && p->payload_len >= 40) {
		family = 6;
		src = p->payload + 8;
		dst = p->payload + 24;
	} else if (p->type != LT_X3 && p->has_src_v4 && p->has_dst_v4) {
		family = 4;
		src = p->src;
		dst = p->dst;
	} else if (p->type != LT_X3 && p->has_src_v6 && p->has_dst_v6) {
		family = 6;
		src = p->src;
		dst = p->dst;
	}
	/* The set in force at the packet's time: a packet the IAP matched under a set that was
	 * already replaced (the change not yet acknowledged) is not delivered. */
	if (!family || (!match_gen(g, family, src) && !match_gen(g, family, dst)))
		return 0;
	if (p->type == LT_X3 && g->prog && !med_filter_match(g->prog, p->payload, p->payload_len))
		return 0;
	return 1;
}

char *med_tasks_snapshot(struct med_ctx *m, uint64_t *version)
{
	pthread_mutex_lock(&m->task_mu);
	uint64_t v = m->task_version;
	pthread_mutex_unlock(&m->task_mu);
	size_t len = 0, n = 0;
	char *out = NULL;
	pthread_rwlock_rdlock(&m->wl);
	char **lines = calloc(m->nw ? m->nw : 1, sizeof *lines);
	if (!lines)
		goto oom;
	for (size_t i = 0; i < m->nw; i++) {
		struct med_warrant *w = m->w[i];
		pthread_mutex_lock(&w->mu);
		int live = w->state == MED_W_PENDING || w->state == MED_W_ACTIVE;
		if (live) {
			struct lt_task t;
			memset(&t, 0, sizeof t);
			memcpy(t.xid, w->xid, 16);
			t.cin = w->cin;
			t.mode = w->conf->mode;
			t.start = w->conf->start;
			t.end = w->conf->end;
			t.ntargets = w->conf->ntargets;
			t.targets = w->conf->targets; /* borrowed: only read */
			t.filter = w->def.filter[0] ? w->def.filter : NULL;
			lines[n] = lt_task_format_line(&t);
		}
		pthread_mutex_unlock(&w->mu);
		if (!live)
			continue;
		if (!lines[n])
			goto oom;
		len += strlen(lines[n]);
		n++;
	}
	pthread_rwlock_unlock(&m->wl);
	size_t cap = len + 128;
	out = malloc(cap);
	if (!out)
		goto oom_unlocked;
	size_t pos = (size_t)snprintf(out, cap, "TASKS %" PRIu64 " %zu\n", v, n);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(lines[i]);
		memcpy(out + pos, lines[i], l);
		pos += l;
		free(lines[i]);
	}
	snprintf(out + pos, cap - pos, "COMMIT %" PRIu64 "\n", v);
	free(lines);
	*version = v;
	return out;
oom:
	pthread_rwlock_unlock(&m->wl);
oom_unlocked:
	for (size_t i = 0; lines && i < n; i++)
		free(lines[i]);
	free(lines);
	free(out);
	return NULL;
}

void *med_timer_main(void *arg)
{
	struct med_ctx *m = arg;
	int64_t last_status = 0;
	while (!atomic_load(&m->stopping)) {
		int64_t now;
		uint32_t ns;
		lt_wallclock(&now, &ns);
		med_warrants_tick(m, now);
		if (lt_now_ms() - last_status >= 1000) { /* <state_dir>/status, docs/delivery.md */
			med_write_status(m);
			last_status = lt_now_ms();
		}
		/* 100 ms between ticks, in steps so a stop is seen within 10 ms */
		for (int i = 0; i < 10 && !atomic_load(&m->stopping); i++)
			usleep(10 * 1000);
	}
	return NULL;
}
