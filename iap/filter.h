/* iap/filter.h: a task's optional BPF filter (TASK field filter=, lib/tasking.h), applied to the
 * IP packet after the target match: it only narrows what a task delivers, never widens it. */
#ifndef LAWTAP_IAP_FILTER_H
#define LAWTAP_IAP_FILTER_H

#include <stddef.h>
#include <stdint.h>

/* 1 when the IP packet (len bytes from its IP header) passes expr, compiled for raw IP
 * (DLT_RAW) once and cached by its text. An expression that does not compile passes nothing
 * (logged once). Thread-safe. */
int iap_filter_pass(const char *expr, const uint8_t *pkt, size_t len);
/* Frees the cache (at exit). */
void iap_filter_cleanup(void);

#endif
