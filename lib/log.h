/* lib/log.h: logging for every lawtap program.
 * Lines go to stderr: "2026-11-27T05:40:01.123Z lawtap-mediator[1234] error: lea lea1 hi3: ...".
 * Never log intercepted content. Name the object an error is about. */
#ifndef LAWTAP_LOG_H
#define LAWTAP_LOG_H

enum lt_log_level { LT_LOG_ERR = 0, LT_LOG_WARN = 1, LT_LOG_INFO = 2, LT_LOG_DEBUG = 3 };

/* Sets the program name shown in each line and the most verbose level printed. */
void lt_log_init(const char *prog, int level);
void lt_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* For broken start-up invariants only (bad command line, unusable config): logs and exits 1. */
_Noreturn void lt_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define lt_err(...) lt_log(LT_LOG_ERR, __VA_ARGS__)
#define lt_warn(...) lt_log(LT_LOG_WARN, __VA_ARGS__)
#define lt_info(...) lt_log(LT_LOG_INFO, __VA_ARGS__)
#define lt_debug(...) lt_log(LT_LOG_DEBUG, __VA_ARGS__)

#endif
