/* mediation/med_int.h: internals shared by the mediation files (not part of the public API). */
#ifndef LAWTAP_MED_INT_H
#define LAWTAP_MED_INT_H

#include "mediation.h"

#include "lib/x2x3.h"

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>

/* Warrant states along its window (start/end apply to the time of interception). */
enum med_wstate { MED_W_PENDING = 0, MED_W_ACTIVE = 1, MED_W_ENDED = 2 };

/* One warrant at run time: its task (XID, CIN) and its record numbering. */
struct med_warrant {
	const struct med_warrant_conf *conf;
	uint8_t xid[16];
	char xid_str[37];
	uint32_t cin;
	struct ho_link *link[2]; /* HO_HI2, HO_HI3 of the warrant's LEA */
	pthread_mutex_t mu;      /* state and numbering; held across numbering and enqueue */
	int state;               /* enum med_wstate */
	uint32_t seq[2];         /* next sequence number per (LIID, CIN, HI2|HI3), TS 102 232-1 */
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
	struct ho_ctx *ho;
	size_t nw;
	struct med_warrant *w;       /* config order */
	struct med_warrant **by_xid; /* sorted by XID for lookups */

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
	struct med_ratelimit rl[MED_DROP_N];
};

/* warrants.c */
int med_warrants_init(struct med_ctx *m, char *err, size_t errlen);
void med_warrants_free(struct med_ctx *m);
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
/* Fills the PSHeader common part for a warrant's record on hi (numbers it: seq[hi]++). */
void med_fill_header_locked(struct med_ctx *m, struct med_warrant *w, int hi, struct med_header *h);

/* records.c: one parsed X2/X3 PDU (type X2 or X3) from IAP iap_id. scratch holds one encoded
 * PS-PDU (MED_PSPDU_MAX). Never fails the connection: problems are counted. */
void med_record_in(struct med_ctx *m, const struct lt_x2x3_pdu *p, const char *iap_id,
                   uint8_t *scratch, size_t cap);
/* Counts a drop and logs it (rate-limited, one line per reason per 10 s). */
void med_drop(struct med_ctx *m, enum med_drop why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* iapserver.c / tasking_server.c: listener threads. */
void *med_x2x3_listener(void *arg);
void *med_tasking_listener(void *arg);
/* Shared by both: peer address text, IAP id check, connection accounting. */
void med_peer_addr(int fd, char *buf, size_t len);
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
