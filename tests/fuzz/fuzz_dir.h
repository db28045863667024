/* tests/fuzz/fuzz_dir.h: a scratch directory for fuzz targets whose input becomes files
 * (fuzz_spool.c, fuzz_collector_store.c). One per process, created on first use, emptied before
 * each input (every file in it, whatever the code under test left there), removed at exit. */
#ifndef LAWTAP_FUZZ_DIR_H
#define LAWTAP_FUZZ_DIR_H

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_dir[64];

static void fuzz_dir_clean(void)
{
	DIR *d = opendir(fuzz_dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char p[400];
		snprintf(p, sizeof p, "%s/%s", fuzz_dir, e->d_name);
		unlink(p);
	}
	closedir(d);
}

static void fuzz_dir_remove(void)
{
	fuzz_dir_clean();
	rmdir(fuzz_dir);
}

/* Creates the directory (/tmp/lawtap-fuzz-<tag>-XXXXXX) on the first call, then empties it. */
static void fuzz_dir_fresh(const char *tag)
{
	if (!fuzz_dir[0]) {
		snprintf(fuzz_dir, sizeof fuzz_dir, "/tmp/lawtap-fuzz-%s-XXXXXX", tag);
		if (!mkdtemp(fuzz_dir))
			abort();
		atexit(fuzz_dir_remove);
	}
	fuzz_dir_clean();
}

/* Writes n bytes as file name in the directory. */
static void fuzz_dir_put(const char *name, const uint8_t *d, size_t n)
{
	char p[128];
	snprintf(p, sizeof p, "%s/%s", fuzz_dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		abort();
	if (n && write(fd, d, n) != (ssize_t)n)
		abort();
	close(fd);
}

#endif
