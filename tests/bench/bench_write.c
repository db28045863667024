/* tests/bench/bench_write.c: the raw file-write baselines of scripts/bench.
 *
 *   bench_write --file PATH --bytes N [--write W] [--sync-every S] [--overwrite]
 *
 * Writes N bytes (default write size W = 256 KiB) into PATH and prints
 * "bytes=N wall_ns=W cpu_ns=C" (CPU: user + system time of this process). The two ways the
 * pipeline writes, at their cheapest:
 * - the mediator's spool (`--overwrite --sync-every S`): a segment file that already exists
 *   (a reused one) overwritten from offset 0, fdatasync every S bytes and at the end;
 * - the collector's output files (no option): appended to a new file, no fdatasync.
 * With --overwrite the file is first filled and made durable outside the timed part. The file
 * is removed at the end. Exit 0, 2 on error. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_clock.h"

/* Writes total bytes of buf (w bytes per call) from offset 0; fdatasync every sync_every
 * bytes (0: never) and at the end when sync_every > 0. 0 or -1 (errno set). */
static int fill(int fd, const uint8_t *buf, size_t w, uint64_t total, uint64_t sync_every)
{
	uint64_t off = 0, since = 0;
	while (off < total) {
		size_t n = total - off < w ? (size_t)(total - off) : w;
		ssize_t r = pwrite(fd, buf, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = ENOSPC;
			return -1;
		}
		off += (uint64_t)r;
		since += (uint64_t)r;
		if (sync_every && since >= sync_every) {
			if (fdatasync(fd) != 0)
				return -1;
			since = 0;
		}
	}
	return sync_every && fdatasync(fd) != 0 ? -1 : 0;
}

static int usage(int rc)
{
	fprintf(stderr, "usage: bench_write --file PATH --bytes N [--write W] [--sync-every S] "
	                "[--overwrite]\n");
	return rc;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	unsigned long long total = 0, w = 256 * 1024, sync_every = 0;
	int overwrite = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--file") && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "--bytes") && i + 1 < argc)
			total = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--write") && i + 1 < argc)
			w = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--sync-every") && i + 1 < argc)
			sync_every = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--overwrite"))
			overwrite = 1;
		else if (!strcmp(argv[i], "--help"))
			return usage(0);
		else
			return usage(2);
	}
	if (!path || total == 0 || w == 0 || w > (1u << 30))
		return usage(2);
	uint8_t *buf = malloc((size_t)w);
	if (!buf) {
		fprintf(stderr, "bench_write: out of memory\n");
		return 2;
	}
	for (size_t i = 0; i < (size_t)w; i++)
		buf[i] = (uint8_t)(i * 131u + 7u);
	(void)unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "bench_write: %s: %s\n", path, strerror(errno));
		free(buf);
		return 2;
	}
	if (overwrite && fill(fd, buf, (size_t)w, total, total) != 0) {
		fprintf(stderr, "bench_write: %s: preparing the file: %s\n", path, strerror(errno));
		close(fd);
		(void)unlink(path);
		free(buf);
		return 2;
	}
	uint64_t w0 = bench_now_ns(), c0 = bench_cpu_ns();
	int rc = fill(fd, buf, (size_t)w, total, sync_every);
	uint64_t wall = bench_now_ns() - w0, cpu = bench_cpu_ns() - c0;
	int saved = errno;
	close(fd);
	(void)unlink(path);
	free(buf);
	if (rc != 0) {
		fprintf(stderr, "bench_write: %s: %s\n", path, strerror(saved));
		return 2;
	}
	printf("bytes=%llu wall_ns=%llu cpu_ns=%llu\n", total, (unsigned long long)wall,
	       (unsigned long long)cpu);
	return 0;
}
