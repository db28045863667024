/* iap/resume.c: the state file of `lawtap-iap -r FILE --resume STATE`.
 *
 * Text, one fact a line, written atomically (temporary file, fsync, rename, fsync of the
 * directory) so a kill -9 at any moment leaves the old or the new state, never a mix:
 *   lawtap-iap-resume 1
 *   file <path of the capture>
 *   size <bytes>  / ino <inode> / mtime_ns <ns>       identity of the capture
 *   packets <N>                                       packets 1..N: every PDU confirmed
 *   epoch <run epoch>
 *   seq <xid> <next sequence number>                  one per XID seen
 *   end
 * Read back as untrusted input: bounded line length and count, strict numbers. */
#include "iap.h"

#include "lib/x2x3.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "lawtap-iap-resume 1"
#define LINE_MAX_LEN 4200
#define SEQ_MAX 1000000

int iap_seqmap_note(struct iap_seqmap *m, const uint8_t xid[16], uint32_t next)
{
	for (size_t i = 0; i < m->n; i++)
		if (memcmp(m->e[i].xid, xid, 16) == 0) {
			if ((int32_t)(next - m->e[i].next) > 0)
				m->e[i].next = next;
			return 0;
		}
	if (m->n == m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 8;
		struct iap_seqent *ne = realloc(m->e, ncap * sizeof *ne);
		if (!ne)
			return -1;
		m->e = ne;
		m->cap = ncap;
	}
	memcpy(m->e[m->n].xid, xid, 16);
	m->e[m->n].next = next;
	m->n++;
	return 0;
}

int64_t iap_seqmap_get(const struct iap_seqmap *m, const uint8_t xid[16])
{
	for (size_t i = 0; i < m->n; i++)
		if (memcmp(m->e[i].xid, xid, 16) == 0)
			return m->e[i].next;
	return -1;
}

void iap_seqmap_clear(struct iap_seqmap *m)
{
	free(m->e);
	memset(m, 0, sizeof *m);
}

void iap_seqmap_note_pdus(struct iap_seqmap *m, const uint8_t *data, size_t len)
{
	size_t off = 0;
	while (off < len) {
		size_t plen = 0;
		struct lt_x2x3_pdu p;
		if (lt_x2x3_frame(data + off, len - off, &plen) != 0 || plen == 0 ||
		    plen > len - off)
			return;
		if (lt_x2x3_parse(data + off, plen, &p, NULL) == 0 && p.has_seq &&
		    (p.type == LT_X2 || p.type == LT_X3))
			(void)iap_seqmap_note(m, p.xid, p.seq + 1);
		off += plen;
	}
}

int iap_resume_identity(const char *file, struct iap_resume *st, char *err, size_t errlen)
{
	struct stat sb;
	if (stat(file, &sb) != 0) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return -1;
	}
	st->size = (uint64_t)sb.st_size;
	st->ino = (uint64_t)sb.st_ino;
	st->mtime_ns = (uint64_t)sb.st_mtim.tv_sec * 1000000000u + (uint64_t)sb.st_mtim.tv_nsec;
	return 0;
}

/* Strict decimal u64 filling the whole string. 0 or -1. */
static int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int load_line(struct iap_resume *st, char *line, int *seen)
{
	char *sp = strchr(line, ' ');
	if (!sp)
		return strcmp(line, "end") == 0 ? 1 : -1;
	*sp = '\0';
	const char *k = line, *v = sp + 1;
	uint64_t n;
	if (strcmp(k, "file") == 0) {
		if (strlen(v) >= sizeof st->file)
			return -1;
		strcpy(st->file, v);
		*seen |= 1;
		return 0;
	}
	if (strcmp(k, "seq") == 0) {
		char xs[37];
		uint8_t xid[16];
		const char *sp2 = strchr(v, ' ');
		if (!sp2 || sp2 - v != 36 || st->seq.n >= SEQ_MAX)
			return -1;
		memcpy(xs, v, 36);
		xs[36] = '\0';
		if (lt_uuid_parse(xs, xid) != 0 || parse_u64(sp2 + 1, &n) != 0 || n > UINT32_MAX)
			return -1;
		return iap_seqmap_note(&st->seq, xid, (uint32_t)n);
	}
	if (parse_u64(v, &n) != 0)
		return -1;
	if (strcmp(k, "size") == 0)
		st->size = n, *seen |= 2;
	else if (strcmp(k, "ino") == 0)
		st->ino = n, *seen |= 4;
	else if (strcmp(k, "mtime_ns") == 0)
		st->mtime_ns = n, *seen |= 8;
	else if (strcmp(k, "packets") == 0)
		st->packets = n, *seen |= 16;
	else if (strcmp(k, "epoch") == 0)
		st->epoch = n, *seen |= 32;
	else
		return -1;
	return 0;
}

int iap_resume_load(const char *path, struct iap_resume *st, char *err, size_t errlen)
{
	memset(st, 0, sizeof *st);
	FILE *f = fopen(path, "r");
	if (!f) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errlen, "resume state %s: %s", path, strerror(errno));
		return -1;
	}
	char line[LINE_MAX_LEN + 2];
	unsigned lineno = 0;
	int seen = 0, done = 0, bad = 0;
	while (!done && fgets(line, sizeof line, f)) {
		lineno++;
		size_t n = strlen(line);
		if (n == 0 || line[n - 1] != '\n' || memchr(line, '\0', n) != NULL) {
			bad = 1;
			break;
		}
		line[n - 1] = '\0';
		int rc =
		    lineno == 1 ? (strcmp(line, MAGIC) == 0 ? 0 : -1) : load_line(st, line, &seen);
		if (rc < 0) {
			bad = 1;
			break;
		}
		done = rc == 1;
	}
	fclose(f);
	if (bad || !done || seen != 63) {
		snprintf(err, errlen, "resume state %s: not a valid state file (%s at line %u)",
		         path, bad ? "bad line" : "incomplete", lineno);
		iap_seqmap_clear(&st->seq);
		return -1;
	}
	return 0;
}

int iap_resume_save(const char *path, const struct iap_resume *st, char *err, size_t errlen)
{
	char tmp[4200], dir[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		snprintf(err, errlen, "resume state %s: %s", tmp, strerror(errno));
		return -1;
	}
	fprintf(f,
	        MAGIC "\nfile %s\nsize %" PRIu64 "\nino %" PRIu64 "\nmtime_ns %" PRIu64
	              "\npackets %" PRIu64 "\nepoch %" PRIu64 "\n",
	        st->file, st->size, st->ino, st->mtime_ns, st->packets, st->epoch);
	for (size_t i = 0; i < st->seq.n; i++) {
		char xs[37];
		lt_uuid_format(st->seq.e[i].xid, xs);
		fprintf(f, "seq %s %" PRIu32 "\n", xs, st->seq.e[i].next);
	}
	fprintf(f, "end\n");
	int ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
	if (fclose(f) != 0)
		ok = 0;
	if (!ok || rename(tmp, path) != 0) {
		snprintf(err, errlen, "resume state %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		strcpy(dir, ".");
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}
