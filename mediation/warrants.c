/* mediation/warrants.c: warrants at run time, one task per warrant. XIDs are derived from
 * (country, LIID); CINs come from a counter persisted in state_dir; a warrant moves
 * pending -> active (begin event) -> ended (end event, task withdrawn) along its window. */
#include "med_int.h"

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

static int cmp_xid(const void *a, const void *b)
{
	const struct med_warrant *const *x = a, *const *y = b;
	return memcmp((*x)->xid, (*y)->xid, 16);
}

int med_warrants_init(struct med_ctx *m, char *err, size_t errlen)
{
	const struct med_config *cfg = m->cfg;
	m->nw = cfg->nwarrants;
	if (m->nw == 0)
		return 0;
	m->w = calloc(m->nw, sizeof *m->w);
	m->by_xid = calloc(m->nw, sizeof *m->by_xid);
	if (!m->w || !m->by_xid) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	uint32_t cin;
	if (med_cin_reserve(cfg->state_dir, (uint32_t)m->nw, &cin, err, errlen) != 0)
		return -1;
	int64_t now;
	uint32_t ns;
	lt_wallclock(&now, &ns);
	for (size_t i = 0; i < m->nw; i++) {
		struct med_warrant *w = &m->w[i];
		w->conf = &cfg->warrants[i];
		med_xid_for(w->conf->country, w->conf->liid, w->conf->liid_len, w->xid);
		lt_uuid_format(w->xid, w->xid_str);
		w->cin = cin + (uint32_t)i;
		w->link[HO_HI2] = ho_link_get(m->ho, w->conf->lea, HO_HI2);
		w->link[HO_HI3] = ho_link_get(m->ho, w->conf->lea, HO_HI3);
		pthread_mutex_init(&w->mu, NULL);
		w->state = now >= w->conf->end ? MED_W_ENDED : MED_W_PENDING;
		m->by_xid[i] = w;
		lt_info("warrant %s (%s): lea %s, %s, xid %s, cin %" PRIu32 "%s", w->conf->liid,
		        w->conf->country, cfg->leas[w->conf->lea].id,
		        w->conf->mode == LT_TASK_FULL ? "full" : "iri-only", w->xid_str, w->cin,
		        w->state == MED_W_ENDED ? ", window already over: not tasked" : "");
	}
	qsort(m->by_xid, m->nw, sizeof *m->by_xid, cmp_xid);
	return 0;
}

void med_warrants_free(struct med_ctx *m)
{
	for (size_t i = 0; m->w && i < m->nw; i++)
		pthread_mutex_destroy(&m->w[i].mu);
	free(m->w);
	free(m->by_xid);
	m->w = NULL;
	m->by_xid = NULL;
}

struct med_warrant *med_warrant_find(struct med_ctx *m, const uint8_t xid[16])
{
	size_t lo = 0, hi = m->nw;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(m->by_xid[mid]->xid, xid, 16);
		if (c == 0)
			return m->by_xid[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
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
	for (size_t i = 0; i < m->nw; i++) {
		struct med_warrant *w = &m->w[i];
		pthread_mutex_lock(&w->mu);
		med_warrant_activate_locked(m, w, now, scratch, sizeof scratch);
		if (w->state != MED_W_ENDED && now >= w->conf->end) {
			if (w->state == MED_W_ACTIVE)
				(void)med_emit_event_locked(m, w, 0, scratch, sizeof scratch);
			w->state = MED_W_ENDED;
			withdrawn++;
			lt_info("warrant %s: window ended, interception stopped, task withdrawn",
			        w->conf->liid);
		}
		pthread_mutex_unlock(&w->mu);
	}
	if (withdrawn) {
		pthread_mutex_lock(&m->task_mu);
		m->task_version++;
		pthread_cond_broadcast(&m->task_cv);
		pthread_mutex_unlock(&m->task_mu);
	}
}

char *med_tasks_snapshot(struct med_ctx *m, uint64_t *version)
{
	pthread_mutex_lock(&m->task_mu);
	uint64_t v = m->task_version;
	pthread_mutex_unlock(&m->task_mu);
	size_t cap = 128, len = 0, n = 0;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	out[0] = '\0';
	/* The header is written last (it needs the count): leave room at the front. */
	char **lines = calloc(m->nw ? m->nw : 1, sizeof *lines);
	if (!lines) {
		free(out);
		return NULL;
	}
	for (size_t i = 0; i < m->nw; i++) {
		struct med_warrant *w = &m->w[i];
		pthread_mutex_lock(&w->mu);
		int live = w->state != MED_W_ENDED;
		pthread_mutex_unlock(&w->mu);
		if (!live)
			continue;
		struct lt_task t;
		memset(&t, 0, sizeof t);
		memcpy(t.xid, w->xid, 16);
		t.cin = w->cin;
		t.mode = w->conf->mode;
		t.start = w->conf->start;
		t.end = w->conf->end;
		t.ntargets = w->conf->ntargets;
		t.targets = w->conf->targets; /* borrowed, lt_task_format_line only reads */
		lines[n] = lt_task_format_line(&t);
		if (!lines[n])
			goto oom;
		len += strlen(lines[n]);
		n++;
	}
	cap = len + 128;
	char *o2 = realloc(out, cap);
	if (!o2)
		goto oom;
	out = o2;
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
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	free(out);
	return NULL;
}

void *med_timer_main(void *arg)
{
	struct med_ctx *m = arg;
	while (!atomic_load(&m->stopping)) {
		int64_t now;
		uint32_t ns;
		lt_wallclock(&now, &ns);
		med_warrants_tick(m, now);
		usleep(200 * 1000);
	}
	return NULL;
}
