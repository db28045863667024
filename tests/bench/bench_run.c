/* tests/bench/bench_run.c: runs one program and reports what it cost (scripts/bench).
 *
 *   bench_run STATS_FILE COMMAND [ARGS...]
 *
 * Starts COMMAND, forwards SIGTERM and SIGINT to it, waits for it with wait4 and writes
 * "wall_ns=W cpu_ns=C user_ns=U sys_ns=S maxrss_kb=K status=X" to STATS_FILE (maxrss: the
 * kernel's peak resident set, as /proc/PID/status VmHWM). Exits with the command's status
 * (128 + signal when it was killed). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t child;

static void forward(int sig)
{
	if (child > 0)
		kill((pid_t)child, sig);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc < 3 || !strcmp(argv[1], "--help")) {
		fprintf(stderr, "usage: bench_run STATS_FILE COMMAND [ARGS...]\n");
		return argc >= 2 && !strcmp(argv[1], "--help") ? 0 : 2;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = forward;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	uint64_t t0 = now_ns();
	pid_t pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		execvp(argv[2], argv + 2);
		fprintf(stderr, "bench_run: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	child = pid;
	int st = 0;
	struct rusage ru;
	while (wait4(pid, &st, 0, &ru) < 0)
		if (errno != EINTR)
			return 2;
	uint64_t wall = now_ns() - t0;
	uint64_t u =
	    (uint64_t)ru.ru_utime.tv_sec * 1000000000u + (uint64_t)ru.ru_utime.tv_usec * 1000u;
	uint64_t s =
	    (uint64_t)ru.ru_stime.tv_sec * 1000000000u + (uint64_t)ru.ru_stime.tv_usec * 1000u;
	int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	FILE *f = fopen(argv[1], "w");
	if (f) {
		fprintf(
		    f,
		    "wall_ns=%llu cpu_ns=%llu user_ns=%llu sys_ns=%llu maxrss_kb=%ld status=%d\n",
		    (unsigned long long)wall, (unsigned long long)(u + s), (unsigned long long)u,
		    (unsigned long long)s, ru.ru_maxrss, rc);
		fclose(f);
	}
	return rc;
}
