/* mediation/med_int.h: internals shared by the mediation files (not part of the public API). */
#ifndef LAWTAP_MED_INT_H
#define LAWTAP_MED_INT_H

#include "mediation.h"
#include "store.h"

#include "lib/x2x3.h"

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>

/* Warrant states along its window (start/end apply to the time of interception); suspended
 * by the operator (task withdrawn, records dropped). */
enum med_wstate { MED_W_PENDING = 0, MED_W_ACTIVE = 1, MED_W_ENDED = 2, MED_W_SUSPENDED = 3 };

/* Seconds a warrant stays active after its end (records intercepted before the end and still
 * in flight are delivered; later ones are dropped by their time of interception). */
#define MED_END_GRACE_S 1

/* An LEA at run time: its provisioned settings and its own handovers (HI2, HI3). */
struct med_lea_rt {
	struct med_lea def;
	struct ho_ctx *ho;
	int removed; /* deleted or replaced: drained, kept until med_free (stale links) */
};

/* One of a warrant's LEAs: its handovers and its own record numbering. */
struct med_wlea {
	struct med_lea_rt *lea;
	struct ho_link *link[2]; /* HO_HI2, HO_HI3 */
	uint32_t seq[2];         /* next sequence number per (LEA, LIID, CIN, HI2|HI3) */
};

/* The target set (and filter) in force from a time of interception on. */
struct med_tgen {
	struct lt_target *t; /* malloc'd */
	size_t n;
	void *prog; /* struct bpf_program * (DLT_RAW) or NULL */
};

/* One warrant at run time: its task (XID, CIN) and its record numbering. Never freed before
 * med_free (records may hold a pointer); ended warrants stay. */
struct med_warrant {
	const struct med_warrant_conf *conf; /* = &def.c */
	struct med_wdef def;                 /* as provisioned (under mu) */
	uint8_t xid[16];
	char xid_str[37];
	uint32_t cin;
	pthread_mutex_t mu; /* state, numbering, def; held across numbering and enqueue */
	int state;          /* enum med_wstate */
	size_t nlea;
	struct med_wlea lea[MED_WLEAS_MAX];
	struct med_tgen cur, prev; /* cur for times >= since, prev before (a change in flight) */
	int64_t since;             /* ns since 1970 */
};

/* Why records are dropped (counted, log rate-limited). */
enum med_drop {
	MED_DROP_UNKNOWN_XID,
	MED_DROP_INACTIVE,
	MED_DROP_X3_IRI_ONLY,
	MED_DROP_UNSUPPORTED, /* payload format or missing header facts */
	MED_DROP_ENCODE,
	MED_DROP_QUEUE, /* handover queue full or stopping */
	MED_DROP_N
};

struct med_ratelimit {
	pthread_mutex_t mu;
	int64_t last_ms;
	uint64_t suppressed;
};

struct med_ctx {
	const struct med_config *cfg;
	SSL_CTX *srv_ctx, *cli_ctx;
	struct med_store *store;
	struct med_rest *rest;
	char audit_head[MED_PATH_MAX + 16];
	int live_locks;           /* wl, prov_mu, iap_mu initialised */
	uint64_t changed_version; /* (task_mu) the version the last change made, and when */
	int64_t changed_ms;       /* (monotonic): ack latency counts from the change */
	pthread_rwlock_t wl;      /* the arrays below (not the warrants themselves) */
	size_t nleas, leacap;
	struct med_lea_rt **leas; /* also removed ones (drained) */
	size_t nw, wcap;
	struct med_warrant **w;      /* creation order */
	struct med_warrant **by_xid; /* sorted by XID for lookups */
	pthread_mutex_t prov_mu;     /* one provisioning act at a time (REST, timer) */
	/* Guards each LEA's ->ho pointer: readers under wl (rdlock) that touch a handover take
	 * it, and med_lea_rt_retire detaches the handover under it before freeing it, since
	 * retire itself runs under the rdlock too (innermost lock; nothing is taken under it
	 * but the handover's own). */
	pthread_mutex_t ho_mu;
	pthread_mutex_t iap_mu;
	size_t niaps;
	struct med_iap_stat {
		char id[MED_IPID_MAX + 1];
		char peer[64];
		int connected;
		uint64_t task_version, acked_version;
		double ack_ms;
		int64_t sent_ms;
		int x2x3_known, x2x3_conns; /* X2/X3 connections (med_iap_x2x3) */
	} iaps[64];

	/* Tasks: the snapshot version changes when a warrant's window ends. */
	pthread_mutex_t task_mu;
	pthread_cond_t task_cv;
	uint64_t task_version;

	atomic_int stopping; /* intake stops: listeners, connections, timer */
	int x2x3_fd, tasking_fd;
	pthread_t x2x3_thr, tasking_thr, timer_thr;
	int x2x3_started, tasking_started, timer_started;
	pthread_mutex_t conn_mu; /* counts connection threads (detached) */
	pthread_cond_t conn_cv;
	int nconns;

	atomic_uint_fast64_t drops[MED_DROP_N];
	atomic_uint_fast64_t records_in[2]; /* X2, X3 records queued */
	atomic_uint_fast64_t cin_remapped, bad_conns;
	atomic_uint_fast64_t duplicates; /* X2/X3 records already spooled (resends), dropped */
	atomic_uint_fast64_t cin_rolls;  /* communications moved to a new CIN before seq wrap */
	struct med_ratelimit rl[MED_DROP_N];
	struct med_dedup *dedup;

	/* The group commit thread (syncer.c, fsync "batch"): requests numbered sy_req, passes
	 * done up to sy_done, the last failed pass covered everything up to sy_bad. */
	pthread_mutex_t sy_mu;
	pthread_cond_t sy_cv, sy_done_cv;
	uint64_t sy_req, sy_done, sy_bad;
	int sy_stop, sy_inited, sy_started;
	pthread_t sy_thr;
};

/* dedup.c: (IAP id, run epoch, XID, LEA, seq) de-duplication (docs/delivery.md). A mark is
 * per LEA (the LEA id), or for every LEA of the XID (lea NULL or ""): the marks of an older
 * dedup file and of spools opened without an LEA id. A record is spooled for an LEA already
 * when its seq is not above the higher of the two marks. */
struct med_dedup;
struct ho_spool_key;
struct med_dedup *med_dedup_new(const char *state_dir); /* loads <state_dir>/dedup */
void med_dedup_free(struct med_dedup *d);
/* 1 when a record with this key was spooled for LEA lea already (lea NULL: for every LEA).
 * Callers serialise per XID (w->mu). */
int med_dedup_seen_lea(struct med_dedup *d, const struct ho_spool_key *k, const char *lea);
int med_dedup_seen(struct med_dedup *d, const struct ho_spool_key *k); /* lea NULL */
/* Raises the mark of k's (IAP id, epoch, XID) for LEA lea (NULL: every LEA) to k->seq. */
void med_dedup_note_lea(struct med_dedup *d, const struct ho_spool_key *k, const char *lea);
void med_dedup_note(struct med_dedup *d, const struct ho_spool_key *k); /* lea NULL */
/* The mark of k's (IAP id, epoch, XID) for LEA lea, the one for every LEA included: 1 and *max,
 * or 0 (*max 0). med_dedup_mark (mediation.h) is lea NULL. */
int med_dedup_mark_lea(struct med_dedup *d, const struct ho_spool_key *k, const char *lea,
                       uint32_t *max);
/* med_dedup_mark_lea for n (at most 32) LEAs under one lock: bit i of the result set when
 * leas[i] has a mark, in max[i]. For records.c's per-run cache. */
uint32_t med_dedup_marks(struct med_dedup *d, const struct ho_spool_key *k, const char *const *leas,
                         size_t n, uint32_t *max);
void med_dedup_key_fn(void *arg, const struct ho_spool_key *k); /* spool open callback (d) */
void med_dedup_save(void *arg);                                 /* before segment deletion */
/* Fills the delivery settings of a handover site (spool directory and bounds, fsync policy,
 * de-duplication hooks; creates m->dedup on first use). Call before every ho_new. The site is
 * for the handovers of LEA lea alone: the keys found in their spools at open raise that LEA's
 * marks (lea NULL: the marks for every LEA, which would make a resend after a restart skip an
 * LEA that missed the record). */
void med_delivery_site_lea(struct med_ctx *m, struct ho_site *site, const char *lea);
/* Group commit: makes every spooled record durable per the fsync policy (before a keep-alive
 * of an IAP is acknowledged). 0 or -1 (logged). */
int med_spool_sync(struct med_ctx *m);
/* The group commit thread (syncer.c): started by med_start when fsync is "batch", stopped
 * once the IAP connections have ended. med_sync_request returns the number of a sync to wait
 * for, 0 when there is no syncer (then sync in place: med_spool_sync). med_sync_poll waits up
 * to wait_ms for it: 1 synced, 0 not yet, -1 failed (logged) or the syncer stopped. */
int med_syncer_start(struct med_ctx *m);
void med_syncer_stop(struct med_ctx *m);
uint64_t med_sync_request(struct med_ctx *m);
/* A spool sync outside the syncer failed (an LEA's handovers being retired): every sync
 * request, pending or later, fails from now on, as after a failed pass (ALARM logged). */
void med_sync_fail(struct med_ctx *m);
int med_sync_poll(struct med_ctx *m, uint64_t gen, int wait_ms);

/* warrants.c */
void med_warrants_free(struct med_ctx *m);
void med_tgen_clear(struct med_tgen *g);
/* 1 when the IP packet passes the compiled filter prog (DLT_RAW). */
int med_filter_match(void *prog, const uint8_t *pkt, size_t len);
struct med_warrant *med_warrant_find(struct med_ctx *m, const uint8_t xid[16]);
/* Moves warrants along their windows at wall-clock second now: emits begin/end events, and
 * bumps the task version when a task is withdrawn. */
void med_warrants_tick(struct med_ctx *m, int64_t now);
/* With w->mu held: makes a pending warrant whose window has begun active (emits its begin
 * event). Returns w->state. */
int med_warrant_activate_locked(struct med_ctx *m, struct med_warrant *w, int64_t now,
                                uint8_t *scratch, size_t cap);
/* The current task snapshot as TASKS/TASK/COMMIT lines in a malloc'd string; *version gets
 * its version. NULL on ENOMEM. */
char *med_tasks_snapshot(struct med_ctx *m, uint64_t *version);
void *med_timer_main(void *arg);

/* events.c: IPIRI start/end of interception (with w->mu held). 0 or -1 (counted). */
int med_emit_event_locked(struct med_ctx *m, struct med_warrant *w, int begin, uint8_t *scratch,
                          size_t cap);
/* Fills the PSHeader common part for a warrant's record on hi towards its k-th LEA (the caller
 * advances w->lea[k].seq[hi] once the record is encoded). */
void med_fill_header_locked(struct med_ctx *m, struct med_warrant *w, size_t k, int hi,
                            struct med_header *h);
/* With w->mu held: 1 when a record of time of interception ts_sec may be delivered: the warrant
 * is active, ts in its window, and the packet's addresses match the target set in force at ts
 * (and, for X3, its filter). 0 otherwise. */
int med_warrant_admit_locked(struct med_warrant *w, const struct lt_x2x3_pdu *p, int64_t ts_sec);

/* store_live.c: the store behind the run-time state. */
/* Opens the store, seeds an empty one from the config, builds LEA handovers and warrants. */
int med_live_init(struct med_ctx *m, char *err, size_t errlen);
int med_live_start(struct med_ctx *m, char *err, size_t errlen); /* starts the handovers */
void med_live_free(struct med_ctx *m);
/* Bumps the task version: every tasking connection sends the new snapshot. */
void med_tasks_changed(struct med_ctx *m);
/* The window timer moved a warrant (state to the store). */
void med_live_state_changed(struct med_ctx *m, struct med_warrant *w);
struct med_lea_rt *med_live_lea_find(struct med_ctx *m, const char *id); /* wl held */
/* Provisioning acts (REST thread). Each runs in one store transaction with its audit entry;
 * on refusal nothing changes and e says why. who: the admin certificate subject. */
int med_prov_lea_add(struct med_ctx *m, const char *who, const struct med_lea *l,
                     struct med_jerr *e);
int med_prov_lea_modify(struct med_ctx *m, const char *who, const char *id,
                        const struct json_t *patch, struct med_lea *out, struct med_jerr *e);
int med_prov_lea_remove(struct med_ctx *m, const char *who, const char *id, struct med_jerr *e);
int med_prov_warrant_add(struct med_ctx *m, const char *who, struct med_wdef *w,
                         struct med_jerr *e);
int med_prov_warrant_modify(struct med_ctx *m, const char *who, const char *cc, const char *liid,
                            const struct json_t *patch, struct med_wdef *out, struct med_jerr *e);
int med_prov_warrant_end(struct med_ctx *m, const char *who, const char *cc, const char *liid,
                         struct med_wdef *out, struct med_jerr *e);
/* Audits a refused act. */
void med_prov_refused(struct med_ctx *m, const char *who, const char *action, const char *object,
                      const struct med_jerr *e);
/* tasking_server.c: per-IAP tasking state (for /iaps and /status). */
void med_iap_update(struct med_ctx *m, const char *id, const char *peer, int connected,
                    uint64_t sent, uint64_t acked, double ack_ms);
/* iapserver.c hook: an X2/X3 connection of IAP id opened (up = 1) or closed (up = 0). Shown
 * as x2x3_connected in /api/v1/iaps once called. */
void med_iap_x2x3(struct med_ctx *m, const char *id, int up);

/* records.c: a communication moves to a new CIN when a sequence number reaches this (config
 * cin_roll_at, hidden, for tests): well before 2^32, room left for the events. */
#define MED_CIN_ROLL_DEFAULT 0xffffff00u
/* With w->mu held: moves the warrant's communication to a new CIN (numbering from 0, a begin
 * event on it) once a sequence number reaches cfg->cin_roll_at. 0 or -1 (logged). */
int med_cin_roll_locked(struct med_ctx *m, struct med_warrant *w, uint8_t *scratch, size_t cap);
/* mediator.c: writes <state_dir>/status (the statistics lines, replaced atomically). */
void med_write_status(struct med_ctx *m);

/* records.c: a run of records of one XID and handover from one connection: the warrant stays
 * locked (w->mu) from one record to the next, so the lookup, the lock and the spool room check
 * are paid once per run. At most MED_RUN_MAX records; the caller ends a run (med_run_end)
 * before anything that may wait or take other locks (reading, acknowledging). */
#define MED_RUN_MAX 256
struct med_run {
	struct med_warrant *w; /* locked by the run, or NULL */
	uint8_t xid[16];
	int hi;
	unsigned n;
};
void med_run_end(struct med_run *run); /* accepts NULL and an ended run */
/* records.c: one parsed X2/X3 PDU (type X2 or X3) from IAP iap_id. scratch holds one encoded
 * PS-PDU (MED_PSPDU_MAX). run (may be NULL: one record alone) carries the warrant lock to the
 * next record. Problems with the record are counted, not fatal. Returns 0, or -1 when the
 * record could not be made durable (spool write error, or intake stopping while the spool is
 * full): the connection must be dropped without acknowledging, so the IAP resends (the run
 * is ended then). */
int med_record_in(struct med_ctx *m, const struct lt_x2x3_pdu *p, const char *iap_id,
                  uint8_t *scratch, size_t cap, struct med_run *run);
/* Counts a drop and logs it (rate-limited, one line per reason per 10 s). */
void med_drop(struct med_ctx *m, enum med_drop why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* iapserver.c / tasking_server.c: listener threads. */
void *med_x2x3_listener(void *arg);
void *med_tasking_listener(void *arg);
/* Shared by both: peer address text, IAP id check, connection accounting. */
/* Runs the TLS handshake (IAP role) and reads the IAP id from the certificate CN. Returns the
 * SSL or NULL (refusal logged with the reason and the peer address; fd closed). */
SSL *med_accept_iap(struct med_ctx *m, int fd, const char *what, char *iap_id, size_t idlen);
void med_conn_begin(struct med_ctx *m);
/* A connection thread's argument (malloc'd by the listener, freed by the thread). */
struct med_conn_arg {
	struct med_ctx *m;
	int fd;
};
/* tasking_server.c: the thread of one tasking connection. */
void *med_tasking_conn(void *arg);
void med_conn_end(struct med_ctx *m);

#endif
