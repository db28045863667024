/* tests/bench/bench_clock.h: the clocks the bench programs time themselves with. */
#ifndef LAWTAP_BENCH_CLOCK_H
#define LAWTAP_BENCH_CLOCK_H

#include <stdint.h>
#include <sys/resource.h>
#include <time.h>

/* Monotonic wall clock, ns. */
static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* User + system CPU time of the whole process (every thread), ns. */
static inline uint64_t bench_cpu_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000u +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000u;
}

#endif
