/* Fuzz target: the collector's output directory after a crash is untrusted on start. The input
 * becomes hi3.ber, hi2.ber, cc.pcap and iri.csv (an 8-byte prefix gives their lengths, u16
 * big-endian each; 0 = the file is absent); col_store_open reconciles them (counts the derived
 * files' records, cuts partial tails, appends what the BER files hold that they miss, decoded
 * by the live writers, or cuts what they hold beyond) and may refuse with a reason. Whatever it
 * made of the files, a second open must take them as they are. */
#include "handover/collector/collector.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static void cleanup(void)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char p[400];
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
}

static void at_exit(void)
{
	cleanup();
	rmdir(dir);
}

static void put(const char *name, const uint8_t *d, size_t n)
{
	char p[128];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		abort();
	if (n && write(fd, d, n) != (ssize_t)n)
		abort();
	close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0]) {
		snprintf(dir, sizeof dir, "/tmp/lawtap-fuzz-colstore-XXXXXX");
		if (!mkdtemp(dir))
			abort();
		atexit(at_exit);
	}
	if (size < 8)
		return 0;
	static const char *const names[4] = {"hi3.ber", "hi2.ber", "cc.pcap", "iri.csv"};
	cleanup();
	size_t off = 8;
	for (int i = 0; i < 4; i++) {
		size_t n = (size_t)data[2 * i] << 8 | data[2 * i + 1];
		if (n > size - off)
			n = size - off;
		if (n)
			put(names[i], data + off, n);
		off += n;
	}
	char err[512];
	struct col_store *s = col_store_open(dir, err, sizeof err);
	if (!s)
		return 0; /* refused, with a reason: e.g. a cc.pcap that is not ours */
	col_store_close(s);
	s = col_store_open(dir, err, sizeof err);
	if (!s) {
		fprintf(stderr, "fuzz_collector_store: second open refused: %s\n", err);
		abort();
	}
	col_store_close(s);
	return 0;
}
