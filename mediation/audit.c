/* mediation/audit.c: the tamper-evident audit trail. Each row of table audit carries the hash of
 * the row before it (prev) and its own hash = SHA-256 over a canonical serialization of every
 * field, prev included. The newest (seq, hash) is also appended to a head file outside the
 * database (one line per entry, fsync'd), so removing the newest rows is caught as well:
 * an edited row fails its own hash, a removed or reordered row breaks the numbering or the
 * link of the next one, a removed newest row leaves the head file pointing past the end. */
#include "store.h"

#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

static void feed(EVP_MD_CTX *c, const char *s)
{
	char len[24];
	size_t n = s ? strlen(s) : 0;
	int k = snprintf(len, sizeof len, "%zu:", n);
	EVP_DigestUpdate(c, len, (size_t)k);
	if (n)
		EVP_DigestUpdate(c, s, n);
	EVP_DigestUpdate(c, "\n", 1);
}

void med_audit_hash(int64_t seq, const char *time, const char *who, const char *action,
                    const char *object, const char *result, const char *detail,
                    const char *prev_hex, char out_hex[65])
{
	char sq[24];
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	snprintf(sq, sizeof sq, "%" PRId64, seq);
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (c && EVP_DigestInit_ex(c, EVP_sha256(), NULL)) {
		EVP_DigestUpdate(c, "lawtap-audit-v1\n", 16);
		feed(c, sq);
		feed(c, time);
		feed(c, who);
		feed(c, action);
		feed(c, object);
		feed(c, result);
		feed(c, detail);
		feed(c, prev_hex);
		EVP_DigestFinal_ex(c, md, &mdlen);
	}
	EVP_MD_CTX_free(c);
	if (mdlen != 32)
		memset(md, 0, 32);
	for (int i = 0; i < 32; i++)
		snprintf(out_hex + 2 * i, 3, "%02x", md[i]);
}

int64_t med_audit_append(struct med_store *s, const char *who, const char *action,
                         const char *object, const char *result, const char *detail_json,
                         char hash_hex[65])
{
	sqlite3 *db = med_store_db(s);
	sqlite3_stmt *st = NULL;
	int64_t seq = 1;
	char prev[65] = GENESIS;
	if (!detail_json)
		detail_json = "{}";
	if (sqlite3_prepare_v2(db, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", -1, &st,
	                       NULL) != SQLITE_OK)
		goto dberr;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *h = sqlite3_column_text(st, 1);
		seq = sqlite3_column_int64(st, 0) + 1;
		if (!h || strlen((const char *)h) != 64) {
			sqlite3_finalize(st);
			lt_err("audit: the newest entry has no valid hash: not appending");
			return -1;
		}
		memcpy(prev, h, 65);
	} else if (rc != SQLITE_DONE) {
		goto dberr;
	}
	sqlite3_finalize(st);
	st = NULL;

	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	char tb[32], when[64];
	time_t t = ts.tv_sec;
	gmtime_r(&t, &tm);
	strftime(tb, sizeof tb, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when, sizeof when, "%s.%03ldZ", tb, ts.tv_nsec / 1000000);
	med_audit_hash(seq, when, who, action, object, result, detail_json, prev, hash_hex);
	if (sqlite3_prepare_v2(db,
	                       "INSERT INTO audit(seq, time, who, action, object, result, detail, "
	                       "prev, hash) VALUES(?,?,?,?,?,?,?,?,?)",
	                       -1, &st, NULL) != SQLITE_OK)
		goto dberr;
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_text(st, 2, when, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, who, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, action, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, object, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, result, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 7, detail_json, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 8, prev, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 9, hash_hex, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto dberr;
	sqlite3_finalize(st);
	return seq;
dberr:
	lt_err("audit: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return -1;
}

int med_audit_anchor(const char *head_path, int64_t seq, const char *hash_hex)
{
	char line[128];
	int n = snprintf(line, sizeof line, "%" PRId64 " %s\n", seq, hash_hex);
	int fd = open(head_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		lt_err("audit head %s: %s", head_path, strerror(errno));
		return -1;
	}
	int rc = write(fd, line, (size_t)n) == n && fsync(fd) == 0 ? 0 : -1;
	if (rc)
		lt_err("audit head %s: %s", head_path, strerror(errno));
	close(fd);
	return rc;
}

static int fail(struct med_audit_report *r, int64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct med_audit_report *r, int64_t seq, const char *fmt, ...)
{
	va_list ap;
	r->ok = 0;
	r->bad_seq = seq;
	va_start(ap, fmt);
	vsnprintf(r->error, sizeof r->error, fmt, ap);
	va_end(ap);
	return 0;
}

static const char *txt(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? (const char *)t : "";
}

/* Head file: checks each "seq hash" line against the hashes seen. hashes[k] is entry k+1's. */
static int check_head(const char *head_path, char (*hashes)[65], int64_t n,
                      struct med_audit_report *r)
{
	FILE *f = fopen(head_path, "r");
	if (!f) {
		if (errno == ENOENT && n == 0)
			return 0;
		return fail(r, n, "audit head file %s: %s (entries: %" PRId64 ")", head_path,
		            strerror(errno), n);
	}
	char line[256];
	int64_t last = 0, lineno = 0;
	while (fgets(line, sizeof line, f)) {
		int64_t seq;
		char h[65], extra;
		lineno++;
		if (sscanf(line, "%" SCNd64 " %64s %c", &seq, h, &extra) != 2 || strlen(h) != 64 ||
		    seq < 1) {
			fclose(f);
			return fail(r, 0, "audit head file %s line %" PRId64 " is malformed",
			            head_path, lineno);
		}
		if (seq > n) {
			fclose(f);
			return fail(r, seq,
			            "entry %" PRId64 ": removed (the head file records it; the "
			            "database ends at entry %" PRId64 ")",
			            seq, n);
		}
		if (strcmp(hashes[seq - 1], h) != 0) {
			fclose(f);
			return fail(r, seq,
			            "entry %" PRId64 ": hash differs from the one anchored in the "
			            "head file",
			            seq);
		}
		last = seq;
	}
	fclose(f);
	(void)last;
	return 0;
}

int med_audit_verify_db(sqlite3 *db, const char *head_path, struct med_audit_report *r)
{
	memset(r, 0, sizeof *r);
	r->ok = 1;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db,
	                       "SELECT seq, time, who, action, object, result, detail, prev, hash "
	                       "FROM audit ORDER BY seq",
	                       -1, &st, NULL) != SQLITE_OK) {
		snprintf(r->error, sizeof r->error, "cannot read the audit table: %s",
		         sqlite3_errmsg(db));
		r->ok = 0;
		return -1;
	}
	char prev[65] = GENESIS;
	int64_t expect = 1;
	size_t cap = 0;
	char(*hashes)[65] = NULL;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t seq = sqlite3_column_int64(st, 0);
		const char *h = txt(st, 8), *p = txt(st, 7);
		char want[65];
		if (seq != expect) {
			fail(r, expect,
			     seq > expect ? "entry %" PRId64 ": removed (the next entry is %" PRId64
			                    ")"
			                  : "entry %" PRId64 ": out of order (found %" PRId64 ")",
			     expect, seq);
			goto out;
		}
		med_audit_hash(seq, txt(st, 1), txt(st, 2), txt(st, 3), txt(st, 4), txt(st, 5),
		               txt(st, 6), p, want);
		if (strcmp(want, h) != 0) {
			fail(r, seq, "entry %" PRId64 ": hash does not match its contents (edited)",
			     seq);
			goto out;
		}
		if (strcmp(prev, p) != 0) {
			fail(r, seq,
			     "entry %" PRId64 ": does not follow entry %" PRId64
			     " (previous-hash link broken: entries removed, replaced or reordered)",
			     seq, seq - 1);
			goto out;
		}
		if ((size_t)seq > cap) {
			cap = cap ? cap * 2 : 64;
			char(*nh)[65] = realloc(hashes, cap * sizeof *hashes);
			if (!nh) {
				fail(r, 0, "out of memory");
				goto out;
			}
			hashes = nh;
		}
		memcpy(hashes[seq - 1], h, 65);
		memcpy(prev, h, 65);
		expect++;
		r->entries++;
	}
	if (rc != SQLITE_DONE) {
		fail(r, 0, "cannot read the audit table: %s", sqlite3_errmsg(db));
		goto out;
	}
	if (head_path)
		check_head(head_path, hashes, r->entries, r);
out:
	sqlite3_finalize(st);
	free(hashes);
	return 0;
}

int med_audit_verify_file(const char *db_path, const char *head_path, struct med_audit_report *r)
{
	sqlite3 *db = NULL;
	memset(r, 0, sizeof *r);
	if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(r->error, sizeof r->error, "%s: %s", db_path,
		         db ? sqlite3_errmsg(db) : "cannot open");
		sqlite3_close(db);
		return -1;
	}
	int rc = med_audit_verify_db(db, head_path, r);
	sqlite3_close(db);
	return rc;
}
