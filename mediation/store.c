/* mediation/store.c: the provisioning store (SQLite): LEAs, warrants with their LEAs and
 * targets, IAPs, the audit trail. One file, schema version in PRAGMA user_version, migrated
 * forward on open; WAL with synchronous=FULL so a committed change survives a power cut.
 * The database is untrusted input too: every value read back is checked and bounded. */
#include "store.h"

#include "lib/log.h"
#include "lib/x2x3.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct med_store {
	sqlite3 *db;
	pthread_mutex_t mu;
	char path[MED_PATH_MAX];
};

/* Migration n brings the schema from version n - 1 to n. */
static const char *const migrations[] = {
    /* 1: the initial schema */
    "CREATE TABLE leas("
    " id TEXT PRIMARY KEY CHECK(length(id) BETWEEN 1 AND 32),"
    " country TEXT NOT NULL CHECK(length(country) = 2),"
    " hi2 TEXT NOT NULL, hi3 TEXT NOT NULL,"
    " timestamp TEXT NOT NULL CHECK(timestamp IN ('microseconds', 'generalized', 'both')),"
    " keepalive_idle INTEGER NOT NULL, keepalive_timeout INTEGER NOT NULL,"
    " reconnect_max INTEGER NOT NULL, keepalive_liid TEXT NOT NULL,"
    " operator_id TEXT, tls_ca TEXT, tls_pin TEXT);"
    "CREATE TABLE warrants("
    " id INTEGER PRIMARY KEY,"
    " liid TEXT NOT NULL CHECK(length(liid) BETWEEN 1 AND 25),"
    " country TEXT NOT NULL CHECK(length(country) = 2),"
    " delivery_country TEXT NOT NULL CHECK(length(delivery_country) = 2),"
    " mode TEXT NOT NULL CHECK(mode IN ('full', 'iri-only')),"
    " start INTEGER, \"end\" INTEGER, filter TEXT,"
    " state TEXT NOT NULL CHECK(state IN ('pending', 'active', 'suspended', 'ended')),"
    " target_name TEXT NOT NULL, created_by TEXT NOT NULL, created_at INTEGER NOT NULL,"
    " xid TEXT NOT NULL, cin INTEGER NOT NULL DEFAULT 0,"
    " UNIQUE(country, liid));"
    "CREATE TABLE warrant_leas("
    " warrant INTEGER NOT NULL REFERENCES warrants(id) ON DELETE CASCADE,"
    " lea TEXT NOT NULL REFERENCES leas(id), pos INTEGER NOT NULL,"
    " PRIMARY KEY(warrant, lea));"
    "CREATE TABLE targets("
    " warrant INTEGER NOT NULL REFERENCES warrants(id) ON DELETE CASCADE,"
    " pos INTEGER NOT NULL,"
    " kind TEXT NOT NULL CHECK(kind IN ('ip', 'prefix', 'username')),"
    " value TEXT NOT NULL, PRIMARY KEY(warrant, pos));"
    "CREATE TABLE iaps(id TEXT PRIMARY KEY, last_seen INTEGER, acked_version INTEGER);"
    "CREATE TABLE audit(seq INTEGER PRIMARY KEY, time TEXT NOT NULL, who TEXT NOT NULL,"
    " action TEXT NOT NULL, object TEXT NOT NULL, result TEXT NOT NULL,"
    " detail TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL);",
    /* 2: where an IAP connected from, and the lookup of a LEA's warrants */
    "ALTER TABLE iaps ADD COLUMN peer TEXT;"
    "CREATE INDEX warrant_leas_lea ON warrant_leas(lea);",
    /* 3: how an LEA confirms what it received (docs/delivery.md); existing LEAs get the
     * config defaults (keepalive, 1000) */
    "ALTER TABLE leas ADD COLUMN ack_mode TEXT NOT NULL DEFAULT 'keepalive'"
    " CHECK(ack_mode IN ('keepalive', 'window'));"
    "ALTER TABLE leas ADD COLUMN resend_window INTEGER NOT NULL DEFAULT 1000"
    " CHECK(resend_window BETWEEN 1 AND 100000);",
    /* 4: ack_mode pdu-ack (docs/pdu-ack.md) and pdu_ack_strict. SQLite cannot change a
     * column's CHECK, so the table is rebuilt (foreign keys are off during migrations, see
     * med_store_open, and checked before the commit). */
    "CREATE TABLE leas_v4("
    " id TEXT PRIMARY KEY CHECK(length(id) BETWEEN 1 AND 32),"
    " country TEXT NOT NULL CHECK(length(country) = 2),"
    " hi2 TEXT NOT NULL, hi3 TEXT NOT NULL,"
    " timestamp TEXT NOT NULL CHECK(timestamp IN ('microseconds', 'generalized', 'both')),"
    " keepalive_idle INTEGER NOT NULL, keepalive_timeout INTEGER NOT NULL,"
    " reconnect_max INTEGER NOT NULL, keepalive_liid TEXT NOT NULL,"
    " operator_id TEXT, tls_ca TEXT, tls_pin TEXT,"
    " ack_mode TEXT NOT NULL DEFAULT 'keepalive'"
    " CHECK(ack_mode IN ('keepalive', 'window', 'pdu-ack')),"
    " resend_window INTEGER NOT NULL DEFAULT 1000 CHECK(resend_window BETWEEN 1 AND 100000),"
    " pdu_ack_strict INTEGER NOT NULL DEFAULT 0 CHECK(pdu_ack_strict IN (0, 1)));"
    "INSERT INTO leas_v4(id, country, hi2, hi3, timestamp, keepalive_idle, keepalive_timeout,"
    " reconnect_max, keepalive_liid, operator_id, tls_ca, tls_pin, ack_mode, resend_window)"
    " SELECT id, country, hi2, hi3, timestamp, keepalive_idle, keepalive_timeout,"
    " reconnect_max, keepalive_liid, operator_id, tls_ca, tls_pin, ack_mode, resend_window"
    " FROM leas;"
    "DROP TABLE leas;"
    "ALTER TABLE leas_v4 RENAME TO leas;",
};
#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

static int exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* PRAGMA foreign_key_check: 0 when no row breaks a foreign key, -1 otherwise (reason). */
static int fk_check(sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
		return -1;
	}
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(err, errlen, "a row of table %s breaks a foreign key",
		         (const char *)sqlite3_column_text(st, 0));
	else if (rc != SQLITE_DONE)
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int user_version(sqlite3 *db, int *v)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : -1;
	*v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc;
}

struct med_store *med_store_open(const char *path, char *err, size_t errlen)
{
	struct med_store *s = calloc(1, sizeof *s);
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(s->path, sizeof s->path, "%s", path);
	pthread_mutex_init(&s->mu, NULL);
	char why[256];
	int v = 0;
	if (sqlite3_open_v2(path, &s->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
	                    NULL) != SQLITE_OK) {
		snprintf(err, errlen, "store %s: %s", path,
		         s->db ? sqlite3_errmsg(s->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if (exec(s->db,
	         "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
	         "PRAGMA foreign_keys=ON;",
	         why, sizeof why) != 0 ||
	    user_version(s->db, &v) != 0) {
		snprintf(err, errlen, "store %s: %s", path, why);
		goto fail;
	}
	if (v < 0 || v > NMIGRATIONS) {
		snprintf(err, errlen,
		         "store %s: schema version %d is newer than this mediator knows (%d)", path,
		         v, NMIGRATIONS);
		goto fail;
	}
	/* Foreign keys off while migrating (a migration may rebuild a referenced table, which
	 * SQLite allows only so); each migration checks them before it commits. */
	if (v < NMIGRATIONS && exec(s->db, "PRAGMA foreign_keys=OFF;", why, sizeof why) != 0) {
		snprintf(err, errlen, "store %s: %s", path, why);
		goto fail;
	}
	for (int n = v + 1; n <= NMIGRATIONS; n++) {
		char sql[64];
		snprintf(sql, sizeof sql, "PRAGMA user_version=%d;", n);
		if (exec(s->db, "BEGIN IMMEDIATE;", why, sizeof why) != 0 ||
		    exec(s->db, migrations[n - 1], why, sizeof why) != 0 ||
		    fk_check(s->db, why, sizeof why) != 0 ||
		    exec(s->db, sql, why, sizeof why) != 0 ||
		    exec(s->db, "COMMIT;", why, sizeof why) != 0) {
			(void)exec(s->db, "ROLLBACK;", NULL, 0);
			snprintf(err, errlen, "store %s: migration to schema version %d: %s", path,
			         n, why);
			goto fail;
		}
		lt_info("store %s: schema migrated to version %d", path, n);
	}
	if (exec(s->db, "PRAGMA foreign_keys=ON;", why, sizeof why) != 0) {
		snprintf(err, errlen, "store %s: %s", path, why);
		goto fail;
	}
	return s;
fail:
	med_store_close(s);
	return NULL;
}

void med_store_close(struct med_store *s)
{
	if (!s)
		return;
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

sqlite3 *med_store_db(struct med_store *s)
{
	return s->db;
}

void med_store_lock(struct med_store *s)
{
	pthread_mutex_lock(&s->mu);
}

void med_store_unlock(struct med_store *s)
{
	pthread_mutex_unlock(&s->mu);
}

static int dberr(struct med_store *s, const char *what)
{
	lt_err("store %s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
	return MED_SE_DB;
}

int med_store_begin(struct med_store *s)
{
	return sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK
	           ? 0
	           : dberr(s, "begin");
}

int med_store_commit(struct med_store *s)
{
	return sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK ? 0
	                                                                    : dberr(s, "commit");
}

void med_store_rollback(struct med_store *s)
{
	(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static sqlite3_stmt *prep(struct med_store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		dberr(s, "prepare");
		return NULL;
	}
	return st;
}

int med_store_empty(struct med_store *s)
{
	sqlite3_stmt *st = prep(s, "SELECT (SELECT count(*) FROM leas) + "
	                           "(SELECT count(*) FROM warrants)");
	if (!st)
		return -1;
	int rc = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) == 0 : -1;
	sqlite3_finalize(st);
	return rc;
}

/* A text column copied into out (cap bytes); -1 when NULL and not nullable, too long or with a
 * control character. */
static int col_text(sqlite3_stmt *st, int i, int nullable, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	int n = sqlite3_column_bytes(st, i);
	if (!t) {
		out[0] = '\0';
		return nullable ? 0 : -1;
	}
	if (n < 0 || (size_t)n >= cap)
		return -1;
	for (int k = 0; k < n; k++)
		if (t[k] < 0x20 || t[k] == 0x7f)
			return -1;
	memcpy(out, t, (size_t)n);
	out[n] = '\0';
	return 0;
}

static int bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

static int bind_opt(sqlite3_stmt *st, int i, const char *v)
{
	return v && *v ? bind_text(st, i, v) : sqlite3_bind_null(st, i);
}

/* ---- LEAs ---- */
#define LEA_COLS                                                                                   \
	"id, country, hi2, hi3, timestamp, keepalive_idle, keepalive_timeout, reconnect_max, "     \
	"keepalive_liid, operator_id, tls_ca, tls_pin, ack_mode, resend_window, pdu_ack_strict"

static const char *ts_name(int f)
{
	return f == MED_TS_GENERALIZED ? "generalized" : f == MED_TS_BOTH ? "both" : "microseconds";
}

static int lea_bind(sqlite3_stmt *st, const struct med_lea *l)
{
	char liid[HO_LIID_MAX + 1];
	memcpy(liid, l->ho.ka_liid, l->ho.ka_liid_len);
	liid[l->ho.ka_liid_len] = '\0';
	return bind_text(st, 1, l->ho.id) | bind_text(st, 2, l->ho.country) |
	       bind_text(st, 3, l->ho.addr[HO_HI2]) | bind_text(st, 4, l->ho.addr[HO_HI3]) |
	       bind_text(st, 5, ts_name(l->ho.ts_form)) |
	       sqlite3_bind_int(st, 6, l->ho.keepalive_idle) |
	       sqlite3_bind_int(st, 7, l->ho.keepalive_timeout) |
	       sqlite3_bind_int(st, 8, l->ho.reconnect_max) | bind_text(st, 9, liid) |
	       bind_opt(st, 10, l->operator_id) | bind_opt(st, 11, l->tls_ca) |
	       bind_opt(st, 12, l->pin) | bind_text(st, 13, med_ack_mode_name(l->ho.ack_mode)) |
	       sqlite3_bind_int(st, 14,
	                        l->ho.resend_window > 0
	                            ? l->ho.resend_window
	                            : MED_RESEND_WINDOW_DEFAULT) | /* 0: unset */
	       sqlite3_bind_int(st, 15, l->ho.pdu_ack_strict ? 1 : 0);
}

static int lea_row(sqlite3_stmt *st, struct med_lea *l)
{
	char liid[64], ts[16], am[16];
	memset(l, 0, sizeof *l);
	if (col_text(st, 0, 0, l->ho.id, sizeof l->ho.id) ||
	    col_text(st, 1, 0, l->ho.country, sizeof l->ho.country) ||
	    col_text(st, 2, 0, l->ho.addr[HO_HI2], sizeof l->ho.addr[0]) ||
	    col_text(st, 3, 0, l->ho.addr[HO_HI3], sizeof l->ho.addr[0]) ||
	    col_text(st, 4, 0, ts, sizeof ts) || col_text(st, 8, 0, liid, HO_LIID_MAX + 1) ||
	    col_text(st, 9, 1, l->operator_id, sizeof l->operator_id) ||
	    col_text(st, 10, 1, l->tls_ca, sizeof l->tls_ca) ||
	    col_text(st, 11, 1, l->pin, sizeof l->pin) || col_text(st, 12, 0, am, sizeof am) ||
	    !liid[0])
		return -1;
	l->ho.ack_mode = med_parse_ack_mode(am);
	if (l->ho.ack_mode < 0)
		return -1;
	l->ho.pdu_ack_strict = sqlite3_column_int(st, 14) != 0;
	l->ho.resend_window = sqlite3_column_int(st, 13);
	if (l->ho.resend_window < 1 || l->ho.resend_window > MED_RESEND_WINDOW_MAX)
		return -1;
	l->ho.ts_form = strcmp(ts, "microseconds") == 0  ? MED_TS_MICRO
	                : strcmp(ts, "generalized") == 0 ? MED_TS_GENERALIZED
	                : strcmp(ts, "both") == 0        ? MED_TS_BOTH
	                                                 : 0;
	l->ho.keepalive_idle = sqlite3_column_int(st, 5);
	l->ho.keepalive_timeout = sqlite3_column_int(st, 6);
	l->ho.reconnect_max = sqlite3_column_int(st, 7);
	if (!l->ho.ts_form || l->ho.keepalive_idle < 0 || l->ho.keepalive_idle > 86400 ||
	    l->ho.keepalive_timeout < 1 || l->ho.keepalive_timeout > 3600 ||
	    l->ho.reconnect_max < 1 || l->ho.reconnect_max > 3600)
		return -1;
	l->ho.ka_liid_len = strlen(liid);
	memcpy(l->ho.ka_liid, liid, l->ho.ka_liid_len);
	return 0;
}

static int step_done(struct med_store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	int ext = sqlite3_extended_errcode(s->db);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc == SQLITE_CONSTRAINT &&
	    (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY ||
	     ext == SQLITE_CONSTRAINT_FOREIGNKEY))
		return MED_SE_CONFLICT;
	return dberr(s, what);
}

int med_store_lea_insert(struct med_store *s, const struct med_lea *l)
{
	sqlite3_stmt *st =
	    prep(s, "INSERT INTO leas(" LEA_COLS ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
	if (!st)
		return MED_SE_DB;
	if (lea_bind(st, l) != SQLITE_OK) {
		sqlite3_finalize(st);
		return dberr(s, "lea insert");
	}
	return step_done(s, st, "lea insert");
}

int med_store_lea_update(struct med_store *s, const struct med_lea *l)
{
	sqlite3_stmt *st = prep(s, "UPDATE leas SET country=?2, hi2=?3, hi3=?4, timestamp=?5, "
	                           "keepalive_idle=?6, keepalive_timeout=?7, reconnect_max=?8, "
	                           "keepalive_liid=?9, operator_id=?10, tls_ca=?11, tls_pin=?12, "
	                           "ack_mode=?13, resend_window=?14, pdu_ack_strict=?15 "
	                           "WHERE id=?1");
	if (!st)
		return MED_SE_DB;
	if (lea_bind(st, l) != SQLITE_OK) {
		sqlite3_finalize(st);
		return dberr(s, "lea update");
	}
	int rc = step_done(s, st, "lea update");
	if (rc == 0 && sqlite3_changes(s->db) == 0)
		return MED_SE_NOTFOUND;
	return rc;
}

int med_store_lea_delete(struct med_store *s, const char *id)
{
	sqlite3_stmt *st = prep(s, "SELECT count(*) FROM warrant_leas wl JOIN warrants w ON "
	                           "w.id = wl.warrant WHERE wl.lea = ? AND w.state != 'ended'");
	if (!st)
		return MED_SE_DB;
	bind_text(st, 1, id);
	int used = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	if (used < 0)
		return dberr(s, "lea delete");
	if (used > 0)
		return MED_SE_CONFLICT;
	/* Ended warrants keep their history; the LEA row goes, their link rows with it. */
	st = prep(s, "DELETE FROM warrant_leas WHERE lea = ?");
	if (!st)
		return MED_SE_DB;
	bind_text(st, 1, id);
	int rc = step_done(s, st, "lea delete");
	if (rc)
		return rc;
	st = prep(s, "DELETE FROM leas WHERE id = ?");
	if (!st)
		return MED_SE_DB;
	bind_text(st, 1, id);
	rc = step_done(s, st, "lea delete");
	if (rc == 0 && sqlite3_changes(s->db) == 0)
		return MED_SE_NOTFOUND;
	return rc;
}

int med_store_lea_get(struct med_store *s, const char *id, struct med_lea *out)
{
	sqlite3_stmt *st = prep(s, "SELECT " LEA_COLS " FROM leas WHERE id = ?");
	if (!st)
		return MED_SE_DB;
	bind_text(st, 1, id);
	int rc = sqlite3_step(st);
	int r = rc == SQLITE_ROW    ? (lea_row(st, out) == 0 ? 0 : MED_SE_DB)
	        : rc == SQLITE_DONE ? MED_SE_NOTFOUND
	                            : MED_SE_DB;
	if (r == MED_SE_DB)
		lt_err("store %s: lea %s: unreadable or invalid row", s->path, id);
	sqlite3_finalize(st);
	return r;
}

int med_grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return 0;
	size_t nc = *cap ? *cap * 2 : 16;
	void *p = realloc(*arr, nc * elem);
	if (!p)
		return -1;
	*arr = p;
	*cap = nc;
	return 0;
}

int med_store_lea_list(struct med_store *s, struct med_lea **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = prep(s, "SELECT " LEA_COLS " FROM leas ORDER BY id");
	if (!st)
		return MED_SE_DB;
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (med_grow((void **)out, &cap, *n, sizeof **out) != 0)
			goto fail;
		if (lea_row(st, &(*out)[*n]) != 0) {
			lt_err("store %s: an invalid LEA row", s->path);
			goto fail;
		}
		(*n)++;
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	return 0;
fail:
	sqlite3_finalize(st);
	free(*out);
	*out = NULL;
	*n = 0;
	return MED_SE_DB;
}

/* ---- warrants ---- */
static int64_t warrant_rowid(struct med_store *s, const char *cc, const char *liid)
{
	sqlite3_stmt *st = prep(s, "SELECT id FROM warrants WHERE country = ? AND liid = ?");
	if (!st)
		return MED_SE_DB;
	bind_text(st, 1, cc);
	bind_text(st, 2, liid);
	int rc = sqlite3_step(st);
	int64_t id = rc == SQLITE_ROW    ? sqlite3_column_int64(st, 0)
	             : rc == SQLITE_DONE ? MED_SE_NOTFOUND
	                                 : MED_SE_DB;
	sqlite3_finalize(st);
	return id;
}

static int warrant_children(struct med_store *s, int64_t id, const struct med_wdef *w)
{
	sqlite3_stmt *st = prep(s, "DELETE FROM warrant_leas WHERE warrant = ?");
	if (!st)
		return MED_SE_DB;
	sqlite3_bind_int64(st, 1, id);
	int rc = step_done(s, st, "warrant leas");
	if (rc)
		return rc;
	st = prep(s, "DELETE FROM targets WHERE warrant = ?");
	if (!st)
		return MED_SE_DB;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = step_done(s, st, "warrant targets")) != 0)
		return rc;
	for (size_t i = 0; i < w->nleas; i++) {
		st = prep(s, "INSERT INTO warrant_leas(warrant, lea, pos) VALUES(?, ?, ?)");
		if (!st)
			return MED_SE_DB;
		sqlite3_bind_int64(st, 1, id);
		bind_text(st, 2, w->leas[i]);
		sqlite3_bind_int(st, 3, (int)i);
		rc = step_done(s, st, "warrant lea");
		if (rc == MED_SE_CONFLICT)
			return MED_SE_NOTFOUND; /* foreign key: no such LEA */
		if (rc)
			return rc;
	}
	for (size_t i = 0; i < w->c.ntargets; i++) {
		char b[64];
		const struct lt_target *t = &w->c.targets[i];
		lt_target_format(t, b, sizeof b);
		st = prep(s, "INSERT INTO targets(warrant, pos, kind, value) VALUES(?, ?, ?, ?)");
		if (!st)
			return MED_SE_DB;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int(st, 2, (int)i);
		bind_text(st, 3, t->prefix == (t->family == 4 ? 32 : 128) ? "ip" : "prefix");
		bind_text(st, 4, b);
		if ((rc = step_done(s, st, "warrant target")) != 0)
			return rc;
	}
	return 0;
}

static int bind_time(sqlite3_stmt *st, int i, int64_t t)
{
	return t == INT64_MIN || t == INT64_MAX ? sqlite3_bind_null(st, i)
	                                        : sqlite3_bind_int64(st, i, t);
}

int med_store_warrant_insert(struct med_store *s, const struct med_wdef *w)
{
	char xs[37];
	uint8_t xid[16];
	med_xid_for(w->c.country, w->c.liid, w->c.liid_len, xid);
	lt_uuid_format(xid, xs);
	sqlite3_stmt *st = prep(s, "INSERT INTO warrants(liid, country, delivery_country, mode, "
	                           "start, \"end\", filter, state, target_name, created_by, "
	                           "created_at, xid, cin) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)");
	if (!st)
		return MED_SE_DB;
	bind_text(st, 1, w->c.liid);
	bind_text(st, 2, w->c.country);
	bind_text(st, 3, w->deliv_country);
	bind_text(st, 4, w->c.mode == LT_TASK_FULL ? "full" : "iri-only");
	bind_time(st, 5, w->c.start);
	bind_time(st, 6, w->c.end);
	bind_opt(st, 7, w->filter);
	bind_text(st, 8, med_ws_name(w->state));
	bind_text(st, 9, w->c.target_name);
	bind_text(st, 10, w->created_by);
	sqlite3_bind_int64(st, 11, w->created_at);
	bind_text(st, 12, xs);
	sqlite3_bind_int64(st, 13, w->cin);
	int rc = step_done(s, st, "warrant insert");
	if (rc)
		return rc;
	return warrant_children(s, sqlite3_last_insert_rowid(s->db), w);
}

int med_store_warrant_update(struct med_store *s, const struct med_wdef *w)
{
	int64_t id = warrant_rowid(s, w->c.country, w->c.liid);
	if (id < 0)
		return (int)id;
	sqlite3_stmt *st = prep(s, "UPDATE warrants SET \"end\"=?, filter=?, state=?, "
	                           "target_name=?, cin=? WHERE id=?");
	if (!st)
		return MED_SE_DB;
	bind_time(st, 1, w->c.end);
	bind_opt(st, 2, w->filter);
	bind_text(st, 3, med_ws_name(w->state));
	bind_text(st, 4, w->c.target_name);
	sqlite3_bind_int64(st, 5, w->cin);
	sqlite3_bind_int64(st, 6, id);
	int rc = step_done(s, st, "warrant update");
	if (rc)
		return rc;
	return warrant_children(s, id, w);
}

int med_store_warrant_set(struct med_store *s, const char *cc, const char *liid, int state,
                          uint32_t cin)
{
	sqlite3_stmt *st = prep(s, "UPDATE warrants SET state=?, cin=? WHERE country=? AND liid=?");
	if (!st)
		return MED_SE_DB;
	bind_text(st, 1, med_ws_name(state));
	sqlite3_bind_int64(st, 2, cin);
	bind_text(st, 3, cc);
	bind_text(st, 4, liid);
	int rc = step_done(s, st, "warrant state");
	if (rc == 0 && sqlite3_changes(s->db) == 0)
		return MED_SE_NOTFOUND;
	return rc;
}

#define W_COLS                                                                                     \
	"id, liid, country, delivery_country, mode, start, \"end\", filter, state, target_name, "  \
	"created_by, created_at, cin"

static int warrant_row(struct med_store *s, sqlite3_stmt *st, struct med_wdef *w)
{
	char mode[16], state[16];
	memset(w, 0, sizeof *w);
	int64_t id = sqlite3_column_int64(st, 0);
	if (col_text(st, 1, 0, w->c.liid, sizeof w->c.liid) ||
	    col_text(st, 2, 0, w->c.country, sizeof w->c.country) ||
	    col_text(st, 3, 0, w->deliv_country, sizeof w->deliv_country) ||
	    col_text(st, 4, 0, mode, sizeof mode) ||
	    col_text(st, 7, 1, w->filter, sizeof w->filter) ||
	    col_text(st, 8, 0, state, sizeof state) ||
	    col_text(st, 9, 0, w->c.target_name, sizeof w->c.target_name) ||
	    col_text(st, 10, 0, w->created_by, sizeof w->created_by))
		return -1;
	w->c.liid_len = strlen(w->c.liid);
	w->c.mode = strcmp(mode, "full") == 0       ? LT_TASK_FULL
	            : strcmp(mode, "iri-only") == 0 ? LT_TASK_IRI_ONLY
	                                            : 0;
	w->state = med_ws_parse(state);
	w->c.start =
	    sqlite3_column_type(st, 5) == SQLITE_NULL ? INT64_MIN : sqlite3_column_int64(st, 5);
	w->c.end =
	    sqlite3_column_type(st, 6) == SQLITE_NULL ? INT64_MAX : sqlite3_column_int64(st, 6);
	w->created_at = sqlite3_column_int64(st, 11);
	int64_t cin = sqlite3_column_int64(st, 12);
	if (!w->c.mode || w->state < 0 || w->c.liid_len < 1 || strlen(w->c.country) != 2 ||
	    cin < 0 || cin > UINT32_MAX || w->c.end <= w->c.start)
		return -1;
	w->cin = (uint32_t)cin;

	sqlite3_stmt *q = prep(s, "SELECT lea FROM warrant_leas WHERE warrant = ? ORDER BY pos");
	if (!q)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW && w->nleas < MED_WLEAS_MAX)
		if (col_text(q, 0, 0, w->leas[w->nleas], sizeof w->leas[0]) == 0)
			w->nleas++;
	sqlite3_finalize(q);
	q = prep(s, "SELECT count(*) FROM targets WHERE warrant = ?");
	if (!q)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	int64_t nt = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : -1;
	sqlite3_finalize(q);
	if (nt < 1 || nt > LT_TASK_MAX_TARGETS_PER_TASK)
		return -1;
	w->c.targets = calloc((size_t)nt, sizeof *w->c.targets);
	if (!w->c.targets)
		return -1;
	q = prep(s, "SELECT kind, value FROM targets WHERE warrant = ? ORDER BY pos");
	if (!q)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW && w->c.ntargets < (size_t)nt) {
		char kind[16], val[64], why[128];
		if (col_text(q, 0, 0, kind, sizeof kind) || col_text(q, 1, 0, val, sizeof val))
			break;
		if (strcmp(kind, "username") == 0)
			continue; /* admitted by the schema, bound by RADIUS later */
		if (lt_target_parse(val, &w->c.targets[w->c.ntargets], why, sizeof why) != 0)
			break;
		w->c.ntargets++;
	}
	sqlite3_finalize(q);
	return w->c.ntargets >= 1 ? 0 : -1;
}

int med_store_warrant_get(struct med_store *s, const char *cc, const char *liid,
                          struct med_wdef *out)
{
	memset(out, 0, sizeof *out);
	sqlite3_stmt *st =
	    prep(s, "SELECT " W_COLS " FROM warrants WHERE country = ? AND liid = ?");
	if (!st)
		return MED_SE_DB;
	bind_text(st, 1, cc);
	bind_text(st, 2, liid);
	int rc = sqlite3_step(st), r;
	if (rc == SQLITE_ROW) {
		r = warrant_row(s, st, out) == 0 ? 0 : MED_SE_DB;
		if (r) {
			med_wdef_clear(out);
			lt_err("store %s: warrant %s/%s: invalid row", s->path, cc, liid);
		}
	} else {
		r = rc == SQLITE_DONE ? MED_SE_NOTFOUND : dberr(s, "warrant get");
	}
	sqlite3_finalize(st);
	return r;
}

void med_store_warrant_list_free(struct med_wdef *w, size_t n)
{
	for (size_t i = 0; w && i < n; i++)
		med_wdef_clear(&w[i]);
	free(w);
}

int med_store_warrant_list(struct med_store *s, struct med_wdef **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	sqlite3_stmt *st = prep(s, "SELECT " W_COLS " FROM warrants ORDER BY id");
	if (!st)
		return MED_SE_DB;
	size_t cap = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (med_grow((void **)out, &cap, *n, sizeof **out) != 0)
			goto fail;
		if (warrant_row(s, st, &(*out)[*n]) != 0) {
			med_wdef_clear(&(*out)[*n]);
			lt_err("store %s: an invalid warrant row", s->path);
			goto fail;
		}
		(*n)++;
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	return 0;
fail:
	sqlite3_finalize(st);
	med_store_warrant_list_free(*out, *n);
	*out = NULL;
	*n = 0;
	return MED_SE_DB;
}

int med_store_iap_seen(struct med_store *s, const char *id, uint64_t acked, int64_t now)
{
	sqlite3_stmt *st = prep(s, "INSERT INTO iaps(id, last_seen, acked_version) VALUES(?,?,?) "
	                           "ON CONFLICT(id) DO UPDATE SET last_seen=excluded.last_seen, "
	                           "acked_version=excluded.acked_version");
	if (!st)
		return MED_SE_DB;
	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)acked);
	return step_done(s, st, "iap seen");
}
