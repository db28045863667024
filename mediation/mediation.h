/* mediation/mediation.h: lawtap-mediator's core (config, warrants and tasks, IAP side, record
 * building). Delivery to the LEAs lives in handover/ (handover.h).
 *
 * Data path: IAP --X2/X3 (mTLS)--> iapserver --records--> numbered PS-PDU --> ho_enqueue().
 * Tasking: IAP --HELLO--> tasking_server --snapshot (TASKS/TASK/COMMIT)--> IAP --ACK-->. */
#ifndef LAWTAP_MEDIATION_H
#define LAWTAP_MEDIATION_H

#include "handover/handover.h"
#include "lib/tasking.h"
#include "mediation/codec/pspdu.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MED_PATH_MAX 1024
#define MED_TARGET_NAME_MAX 255

/* One warrant (until provisioning lands: from the config file). */
struct med_warrant_conf {
	char liid[MED_LIID_MAX + 1]; /* 1..25 octets, visible ASCII (logged, written to CSVs) */
	size_t liid_len;
	char country[3];                           /* authorizationCountryCode */
	size_t lea;                                /* index into med_config.leas */
	char target_name[MED_TARGET_NAME_MAX + 1]; /* IPIRI targetUsername */
	int mode;                                  /* LT_TASK_FULL / LT_TASK_IRI_ONLY */
	int64_t start, end; /* UTC seconds; INT64_MIN / INT64_MAX when open */
	size_t ntargets;
	struct lt_target *targets; /* malloc'd */
};

struct med_config {
	char file[MED_PATH_MAX]; /* the config's name, for messages */
	char x2x3_listen[HO_ADDR_MAX];
	char tasking_listen[HO_ADDR_MAX];
	char operator_id[MED_OPID_MAX + 1];
	char ne_id[MED_OPID_MAX + 1]; /* "" = absent */
	char state_dir[MED_PATH_MAX];
	char store[MED_PATH_MAX];      /* provisioning store; "" = <state_dir>/lawtap.db */
	char rest_listen[HO_ADDR_MAX]; /* REST API host:port; "" = off */
	int drain_timeout;             /* seconds */
	/* delivery (docs/delivery.md) */
	uint64_t spool_max_bytes;     /* per handover spool */
	uint64_t spool_segment_bytes; /* hidden: segment size (tests) */
	int fsync;                    /* enum ho_fsync: batch (default), always, none */
	uint32_t cin_roll_at;         /* hidden: sequence number that moves to a new CIN */
	char tls_ca[MED_PATH_MAX], tls_cert[MED_PATH_MAX], tls_key[MED_PATH_MAX];
	size_t nleas;
	struct ho_lea_conf *leas; /* malloc'd */
	/* per leas[i] (malloc'd, parallel): the LEA's own CA file and certificate pin (64 hex),
	 * "" = none; seeded into the store with the LEA (docs/rest-api.md, LEA "tls") */
	struct med_lea_tls {
		char ca[MED_PATH_MAX];
		char pin[65];
	} * lea_tls;
	size_t nwarrants;
	struct med_warrant_conf *warrants; /* malloc'd */
};

/* Loads and validates the mediator config (docs/internals.md, "lawtap-mediator"). Unknown keys
 * are refused and every value is checked. Relative paths (tls files, state_dir) are taken
 * relative to the directory of the config file. Returns 0, or -1 with one message in err of the
 * form "<file>:<line>: <key path>: <problem>". On failure cfg is left cleared. */
int med_config_load_file(const char *path, struct med_config *cfg, char *err, size_t errlen);
/* The same over a memory buffer; name stands for the file in messages (and for relative paths). */
int med_config_load_mem(const char *name, const void *buf, size_t len, struct med_config *cfg,
                        char *err, size_t errlen);
void med_config_clear(struct med_config *cfg); /* accepts a zeroed struct */

/* The task id of a warrant: SHA-256 of "lawtap-xid:<cc>:<liid>" shaped as a UUID (version 8,
 * RFC 9562 variant), so it is stable across restarts and the same on every mediator. */
void med_xid_for(const char *cc, const char *liid, size_t liid_len, uint8_t xid[16]);

/* CIN allocation: reserves n consecutive CINs from the counter in <state_dir>/cin (written to a
 * temporary file, fsync'd and renamed before any of them is used, so a restart never reuses a
 * CIN). *first gets the first one (CINs start at 1; 0 is the keep-alive CIN). 0 or -1. */
int med_cin_reserve(const char *state_dir, uint32_t n, uint32_t *first, char *err, size_t errlen);

struct med_ctx;

/* Builds the mediator from a loaded config (borrowed: must outlive the ctx): TLS contexts, CINs,
 * warrants and tasks, handovers. Nothing listens yet. NULL with the reason in err; *bad_config
 * (may be NULL) is set to 1 when the reason lies in the config (an unusable TLS file). */
struct med_ctx *med_new(const struct med_config *cfg, int *bad_config, char *err, size_t errlen);
/* Starts delivery, emits the start-of-interception events due now, opens the listeners and
 * starts the window timer. 0 or -1 with the reason in err. */
int med_start(struct med_ctx *m, char *err, size_t errlen);
/* Stops taking X2/X3 and tasking connections and the window timer (joins their threads). After
 * it returns no new record is queued. */
void med_stop_intake(struct med_ctx *m);
/* Delivers and confirms everything queued, bounded by drain_timeout, or cut short once *cancel
 * (may be NULL) is non-zero. 0 or -1 (logged). */
int med_drain(struct med_ctx *m, const volatile sig_atomic_t *cancel);
/* Per-LEA handover statistics and the mediator's drop counters, on out. */
void med_print_stats(struct med_ctx *m, FILE *out);
void med_free(struct med_ctx *m); /* accepts NULL */

/* ---- Value checks shared by the YAML config (seed LEAs and warrants) and the REST bodies
 * (json_val.c), in config.c: both accept exactly the same values. Each caller words its own
 * message (the config's "<file>:<line>: <key path>: ...", the API's JSON error naming the
 * member). ---- */
/* 1 when every character of s is visible ASCII (0x21..0x7e), resp. printable text (no control
 * characters, spaces allowed). */
int med_str_visible(const char *s);
int med_str_text(const char *s);
/* 1 when s is an ISO 3166 alpha-2 country code: two uppercase letters. */
int med_valid_country(const char *s);
/* 1 when s is an LEA id: 1..HO_LEA_ID_MAX characters of A-Z a-z 0-9 . _ - */
int med_valid_lea_id(const char *s);
/* 1 when s is host:port (shorter than HO_ADDR_MAX; port 0 only when allow_zero_port). */
int med_valid_hostport(const char *s, int allow_zero_port);
/* 1 when s is a SHA-256 in hex: exactly 64 hex digits. */
int med_valid_pin_hex(const char *s);
/* 1 when s is a target name (IPIRI targetUsername): 1..MED_TARGET_NAME_MAX printable. */
int med_valid_target_name(const char *s);
/* An octet-string identifier shown in logs and file names (LIID, operator and network element
 * ids, keep-alive LIID): 0, MED_IDENT_LENGTH when not 1..max octets, MED_IDENT_CHARS when not
 * visible ASCII. */
#define MED_IDENT_LENGTH (-1)
#define MED_IDENT_CHARS (-2)
int med_check_ident(const char *s, size_t max);
/* Named values: the enum value, or -1 when unknown. */
int med_parse_ts_form(const char *s);    /* microseconds|generalized|both -> MED_TS_* */
int med_parse_mode(const char *s);       /* full|iri-only -> LT_TASK_FULL / LT_TASK_IRI_ONLY */
int med_parse_ack_mode(const char *s);   /* keepalive|window|pdu-ack -> HO_ACK_* */
const char *med_ack_mode_name(int mode); /* HO_ACK_* -> "keepalive", "window", "pdu-ack" */
/* A UTC time like 2026-01-01T00:00:00Z: 0, -1 when it does not parse, -2 before 1970. */
int med_parse_time(const char *s, int64_t *out);
/* A warrant's target list: 0, or -1 with the problem in why (more than MED_TARGETS_CHECK_MAX
 * targets, or two that overlap: "target A overlaps target B"). */
#define MED_TARGETS_CHECK_MAX LT_TASK_MAX_TARGETS_PER_TASK /* 10,000 */
int med_targets_check(const struct lt_target *t, size_t n, char *why, size_t whylen);
/* An LEA's settings before any is given: timestamp microseconds, keep-alive LIID "-", ack mode
 * keepalive and the defaults of med_lea_ints. */
void med_lea_defaults(struct ho_lea_conf *l);
/* The LEA's integer settings, their bounds and defaults (off: offset in struct ho_lea_conf). */
struct med_lea_int {
	const char *key;
	int min, max, def;
	size_t off;
};
extern const struct med_lea_int med_lea_ints[]; /* ends with key NULL */

/* dedup.c: the de-duplication mark that holds for every LEA of k's (IAP id, run epoch, XID)
 * (an older dedup file's, or a spool's opened without an LEA id): 1 and its highest sequence
 * number in *max, or 0 (*max = 0). Per-LEA marks: med_dedup_mark_lea / med_dedup_marks in
 * med_int.h. k->seq and k->has are not looked at. Callers serialise per XID (w->mu). */
struct med_dedup;
struct ho_spool_key;
int med_dedup_mark(struct med_dedup *d, const struct ho_spool_key *k, uint32_t *max);

#endif
