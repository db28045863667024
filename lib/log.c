/* lib/log.c: timestamped log lines on stderr, one write per line so threads do not interleave. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "lawtap";
static int log_level = LT_LOG_INFO;

void lt_log_init(const char *prog, int level)
{
	if (prog)
		log_prog = prog;
	log_level = level;
}

__attribute__((format(printf, 2, 0))) static void log_line(int level, const char *fmt, va_list ap)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	char line[2048];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(line, sizeof line,
	                 "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%ld] %s: ", tm.tm_year + 1900,
	                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	                 ts.tv_nsec / 1000000, log_prog, (long)getpid(),
	                 names[level < 0   ? 0
	                       : level > 3 ? 3
	                                   : level]);
	if (n < 0 || (size_t)n >= sizeof line)
		n = 0;
	int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	size_t len = (size_t)n + (size_t)m;
	if (len > sizeof line - 2)
		len = sizeof line - 2;
	line[len++] = '\n';
	/* One write(2) per line: atomic enough for lines well below PIPE_BUF on pipes and files. */
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}

void lt_log(int level, const char *fmt, ...)
{
	if (level > log_level)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_line(level, fmt, ap);
	va_end(ap);
}

void lt_fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_line(LT_LOG_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}
