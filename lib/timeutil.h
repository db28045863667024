/* lib/timeutil.h: clocks. */
#ifndef LAWTAP_TIMEUTIL_H
#define LAWTAP_TIMEUTIL_H

#include <stdint.h>

/* Monotonic milliseconds, for timeouts and backoff. */
int64_t lt_now_ms(void);
/* The CLOCK_REALTIME time ms milliseconds from now, for pthread_cond_timedwait. */
struct timespec;
void lt_abstime_ms(struct timespec *ts, int64_t ms);
/* Wall clock as seconds + nanoseconds since 1970 (UTC). */
void lt_wallclock(int64_t *sec, uint32_t *nsec);
/* Parses an ISO 8601 UTC time "2026-11-27T05:40:00Z" to seconds since 1970. 0 or -1. */
int lt_parse_utc(const char *s, int64_t *out);
/* Full-jitter capped exponential backoff: random in [0, min(cap, base * 2^attempt)] ms. */
int64_t lt_backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms);

#endif
