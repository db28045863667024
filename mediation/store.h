/* mediation/store.h: provisioning: the SQLite store (source of truth for LEAs, warrants,
 * targets, IAPs and the audit trail), request-body validation (JSON), the hash-chained audit
 * trail and the REST server. docs/rest-api.md is the contract of the REST side; docs/internals.md
 * ("Provisioning store") describes the schema and the seeding from the config file. */
#ifndef LAWTAP_MED_STORE_H
#define LAWTAP_MED_STORE_H

#include "mediation.h"

#include <stddef.h>
#include <stdint.h>

#define MED_WLEAS_MAX 16       /* LEAs per warrant */
#define MED_FILTER_MAX 1024    /* BPF expression, octets */
#define MED_WHO_MAX 256        /* an admin certificate subject */
#define MED_PIN_HEX 64         /* SHA-256 in hex */
#define MED_BODY_MAX (1 << 20) /* REST request body */
/* An LEA's resend_window (window ack mode, docs/delivery.md): default and bounds, as in the
 * config file. */
#define MED_RESEND_WINDOW_DEFAULT 1000
#define MED_RESEND_WINDOW_MAX 100000

/* Stored warrant states (docs/rest-api.md). */
enum med_ws { MED_WS_PENDING = 0, MED_WS_ACTIVE, MED_WS_SUSPENDED, MED_WS_ENDED };
const char *med_ws_name(int s);
int med_ws_parse(const char *s); /* -1 when unknown */

/* An LEA as provisioned. */
struct med_lea {
	struct ho_lea_conf ho;
	char tls_ca[MED_PATH_MAX];         /* "" = the mediator's CA and the lea role */
	char pin[MED_PIN_HEX + 1];         /* "" = none */
	char operator_id[HO_OPID_MAX + 1]; /* "" = the mediator's */
};

/* A warrant as provisioned. c.lea is unused (LEAs are named in leas). */
struct med_wdef {
	struct med_warrant_conf c; /* liid, country, target_name, mode, start, end, targets */
	char deliv_country[3];
	size_t nleas;
	char leas[MED_WLEAS_MAX][HO_LEA_ID_MAX + 1];
	char filter[MED_FILTER_MAX + 1]; /* "" = none */
	int state;                       /* enum med_ws */
	char created_by[MED_WHO_MAX];
	int64_t created_at;
	uint32_t cin; /* 0 until the mediator allocated one */
};
void med_wdef_clear(struct med_wdef *w); /* frees c.targets; accepts a zeroed struct */
/* Deep copy (targets duplicated). 0 or -1 (ENOMEM). */
int med_wdef_copy(struct med_wdef *dst, const struct med_wdef *src);

/* ---- JSON validation (json_val.c): request bodies are untrusted. ---- */
struct med_jerr {
	int status; /* HTTP status: 400, 404, 409 */
	char msg[256];
	char field[64];
};
/* A body (bytes) to a JSON object. 0 or -1 (e filled). The caller json_decref()s *out. */
struct json_t;
int med_json_parse_body(const void *buf, size_t len, struct json_t **out, struct med_jerr *e);
/* An LEA body: patch == 0: a whole LEA (out cleared first, defaults applied); patch != 0: only
 * the members present change out (id may not change). Unknown members refused. 0 or -1. */
int med_json_lea(const struct json_t *j, int patch, struct med_lea *out, struct med_jerr *e);
/* A warrant body, the same way; known LEAs are checked by the caller (store). state may only
 * be "active" or "suspended" in a patch; state/xid/cin/created_* are refused on create. */
int med_json_warrant(const struct json_t *j, int patch, struct med_wdef *out, struct med_jerr *e);
/* Checks what is independent of the store: targets (no overlap), filter compiles (DLT_RAW),
 * end after start, 1..MED_WLEAS_MAX LEAs. 0 or -1. */
int med_wdef_check(const struct med_wdef *w, struct med_jerr *e);
/* JSON views (new references). */
struct json_t *med_json_from_lea(const struct med_lea *l);
struct json_t *med_json_from_wdef(const struct med_wdef *w);
/* "2026-11-27T06:00:00Z" or null for open ends. */
void med_fmt_utc(int64_t t, char *buf, size_t len);

/* ---- The store (store.c). One connection, serialized by the store's own lock. ---- */
struct med_store;
#define MED_STORE_VERSION 4
/* Opens (creates) the database, migrates the schema to MED_STORE_VERSION, WAL and
 * synchronous=FULL. NULL with the reason in err. */
struct med_store *med_store_open(const char *path, char *err, size_t errlen);
void med_store_close(struct med_store *s); /* accepts NULL */
struct sqlite3 *med_store_db(struct med_store *s);
void med_store_lock(struct med_store *s);
void med_store_unlock(struct med_store *s);
/* Within the lock: */
int med_store_begin(struct med_store *s);
int med_store_commit(struct med_store *s);
void med_store_rollback(struct med_store *s);
/* 1 when there is no LEA and no warrant, 0 otherwise, -1 on error. */
int med_store_empty(struct med_store *s);
/* Errors: MED_SE_NOTFOUND, MED_SE_CONFLICT, MED_SE_DB (logged). */
#define MED_SE_NOTFOUND (-2)
#define MED_SE_CONFLICT (-3)
#define MED_SE_DB (-1)
int med_store_lea_insert(struct med_store *s, const struct med_lea *l);
int med_store_lea_update(struct med_store *s, const struct med_lea *l);
int med_store_lea_delete(struct med_store *s, const char *id); /* CONFLICT when still used */
int med_store_lea_get(struct med_store *s, const char *id, struct med_lea *out);
/* All LEAs (malloc'd array, id order). 0 or -1. */
int med_store_lea_list(struct med_store *s, struct med_lea **out, size_t *n);
int med_store_warrant_insert(struct med_store *s, const struct med_wdef *w);
int med_store_warrant_update(struct med_store *s, const struct med_wdef *w);
/* Only the state and the CIN of a warrant (the run-time moves: window timer, a new run). */
int med_store_warrant_set(struct med_store *s, const char *cc, const char *liid, int state,
                          uint32_t cin);
int med_store_warrant_get(struct med_store *s, const char *cc, const char *liid,
                          struct med_wdef *out);
/* All warrants (creation order), each to be cleared with med_wdef_clear; free(*out). */
int med_store_warrant_list(struct med_store *s, struct med_wdef **out, size_t *n);
void med_store_warrant_list_free(struct med_wdef *w, size_t n);
/* An IAP was seen / acknowledged a version. */
int med_store_iap_seen(struct med_store *s, const char *id, uint64_t acked, int64_t now);

/* ---- The audit trail (audit.c): hash-chained rows of table audit, head anchored in an
 * append-only file (one line "seq hash\n" per entry, fsync'd). ---- */
/* Appends one entry (store lock held, inside or outside a transaction; the head file line is
 * written once the row is committed by the caller via med_audit_anchor). detail_json may be
 * NULL ("{}"). Returns the new seq (>0) or -1. */
int64_t med_audit_append(struct med_store *s, const char *who, const char *action,
                         const char *object, const char *result, const char *detail_json,
                         char hash_hex[65]);
/* Appends "seq hash" to the head file and fsyncs it. 0 or -1. */
int med_audit_anchor(const char *head_path, int64_t seq, const char *hash_hex);
struct med_audit_report {
	int ok;
	int64_t entries;
	int64_t bad_seq; /* the entry named, 0 when none */
	char error[256];
};
/* Verifies the chain in db (and against head_path unless NULL). 0 when the check ran (the
 * result is in r), -1 when it could not run (r->error). */
int med_audit_verify_db(struct sqlite3 *db, const char *head_path, struct med_audit_report *r);
/* Offline: opens db_path read-only. */
int med_audit_verify_file(const char *db_path, const char *head_path, struct med_audit_report *r);
/* The canonical serialization hashed for one entry (exposed for tests). */
void med_audit_hash(int64_t seq, const char *time, const char *who, const char *action,
                    const char *object, const char *result, const char *detail,
                    const char *prev_hex, char out_hex[65]);

/* ---- The REST server (rest.c): its own thread and event_base. ---- */
struct med_ctx;
struct med_rest;
/* Binds listen (host:port) and starts the thread. NULL with the reason in err. */
struct med_rest *med_rest_start(struct med_ctx *m, const char *listen, char *err, size_t errlen);
void med_rest_stop(struct med_rest *r); /* accepts NULL; joins the thread */
int med_rest_port(const struct med_rest *r);

/* Makes room for element n of the array *arr of *cap elements of elem bytes (doubling, from
 * 16): 0, or -1 when out of memory (the array is unchanged). */
int med_grow(void **arr, size_t *cap, size_t n, size_t elem);

#endif
