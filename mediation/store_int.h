/* mediation/store_int.h: what store_live.c (run-time state behind the store) lends to
 * store_prov.c (the provisioning acts). Not part of any public API. */
#ifndef LAWTAP_MED_STORE_INT_H
#define LAWTAP_MED_STORE_INT_H

#include "med_int.h"

#define MED_LEA_DRAIN_MS 3000 /* a removed or replaced LEA's handovers drain at most this */

/* A target generation from a provisioned warrant (filter compiled for DLT_RAW). 0 or -1. */
int med_tgen_build(struct med_tgen *g, const struct med_wdef *d);
int med_ws_of(int rt_state); /* enum med_wstate -> enum med_ws */
/* An LEA's handovers (started when start != 0). NULL with the reason in err. */
struct med_lea_rt *med_lea_rt_new(struct med_ctx *m, const struct med_lea *def, int start,
                                  char *err, size_t errlen);
/* Drains and frees an LEA's handovers; the rt stays (removed). No link of it may be in use. */
void med_lea_rt_retire(struct med_ctx *m, struct med_lea_rt *rt);
int med_lea_publish(struct med_ctx *m, struct med_lea_rt *rt); /* takes wl */
/* Points w's LEA slots at the LEAs named in w->def (wl held; w->mu held or w unpublished). */
int med_bind_leas(struct med_ctx *m, struct med_warrant *w);
struct med_warrant *med_warrant_rt_new(struct med_ctx *m, const struct med_wdef *d, int64_t now);
int med_warrant_publish_locked(struct med_ctx *m, struct med_warrant *w); /* wl write-held */
struct med_warrant *med_warrant_rt_find(struct med_ctx *m, const char *cc, const char *liid);

#endif
