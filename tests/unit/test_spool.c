/* Unit tests for handover/spool.c (segments, CRC, cursor, replay, torn tails, deletion, lock)
 * and the spool side of handover.c (back-pressure alarm, replay after a restart). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "handover/ho_int.h"
#include "handover/spool.h"
#include "lib/crc32c.h"

static char dir[256];

static void rm_rf(const char *path)
{
	DIR *d = opendir(path);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			char p[1024];
			snprintf(p, sizeof p, "%s/%s", path, e->d_name);
			rm_rf(p);
		}
		closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/lawtap-test-spool-XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rm_rf(dir);
	return 0;
}

/* Record i: a recognisable payload of 1..300 bytes. */
static size_t rec(uint32_t i, uint8_t *out)
{
	size_t len = 1 + (i * 37u) % 300u;
	for (size_t j = 0; j < len; j++)
		out[j] = (uint8_t)(i + j);
	if (len >= 4)
		memcpy(out, &i, 4);
	return len;
}

static struct ho_spool_key key(uint32_t i)
{
	struct ho_spool_key k;
	memset(&k, 0, sizeof k);
	k.has = (i % 5) != 0;
	if (k.has) {
		snprintf(k.iap, sizeof k.iap, "iap%u", i % 3);
		k.epoch = 1000 + i % 2;
		memset(k.xid, (int)(i % 7), 16);
		k.seq = i;
	}
	return k;
}

static struct ho_spool *open_sp(uint64_t seg, void (*fn)(void *, const struct ho_spool_key *),
                                void *arg)
{
	char err[512] = "";
	char sdir[300];
	snprintf(sdir, sizeof sdir, "%s/sp", dir);
	struct ho_spool_conf c = {sdir, seg, HO_FSYNC_BATCH, "test"};
	struct ho_spool *sp = ho_spool_open(&c, fn, arg, err, sizeof err);
	if (!sp)
		fprintf(stderr, "open: %s\n", err);
	return sp;
}

struct keyseen {
	uint64_t n, with_key;
	uint32_t max_seq;
};

static void count_keys(void *arg, const struct ho_spool_key *k)
{
	struct keyseen *ks = arg;
	ks->n++;
	if (k->has) {
		ks->with_key++;
		if (k->seq > ks->max_seq)
			ks->max_seq = k->seq;
	}
}

/* Reads everything from pos and checks it is records first..first+n-1 in order. */
static void read_all(struct ho_spool *sp, struct ho_spool_pos *pos, uint32_t first, uint32_t n)
{
	static uint8_t batch[64 * 1024];
	uint8_t want[400];
	uint32_t i = first;
	for (;;) {
		uint64_t nrec = 0;
		size_t got = ho_spool_read(sp, pos, batch, sizeof batch, 100, &nrec);
		if (got == 0)
			break;
		assert_true(nrec > 0 && nrec <= 100);
		size_t off = 0;
		for (uint64_t r = 0; r < nrec; r++, i++) {
			size_t len = rec(i, want);
			assert_true(off + len <= got);
			assert_memory_equal(batch + off, want, len);
			off += len;
		}
		assert_int_equal(off, got);
	}
	assert_int_equal(i, first + n);
}

static void test_crc32c(void **state)
{
	(void)state;
	assert_int_equal(ho_crc32c(0, "123456789", 9), 0xe3069283u);
	assert_int_equal(ho_crc32c(ho_crc32c(0, "1234", 4), "56789", 5), 0xe3069283u);
	assert_int_equal(ho_crc32c(0, "", 0), 0);
	assert_int_equal(lt_crc32c_sw(0, "123456789", 9), 0xe3069283u);
	/* the instruction path (when the CPU has it) equals the table at every length, alignment
	 * and split */
	static uint8_t b[1100];
	uint32_t x = 12345;
	for (size_t i = 0; i < sizeof b; i++) {
		x = x * 1103515245u + 12345u;
		b[i] = (uint8_t)(x >> 16);
	}
	for (size_t off = 0; off < 9; off++)
		for (size_t len = 0; len + off <= sizeof b; len += len < 80 ? 1 : 37) {
			uint32_t want = lt_crc32c_sw(0, b + off, len);
			assert_int_equal(lt_crc32c(0, b + off, len), want);
			size_t cut = len / 3;
			assert_int_equal(
			    lt_crc32c(lt_crc32c(0, b + off, cut), b + off + cut, len - cut), want);
		}
	fprintf(stderr, "crc32c: %s\n", lt_crc32c_hw() ? "SSE4.2 instruction" : "table");
}

static off_t seg_size(uint64_t first)
{
	char p[800];
	snprintf(p, sizeof p, "%s/sp/%020llu.seg", dir, (unsigned long long)first);
	struct stat st;
	return stat(p, &st) == 0 ? st.st_size : -1;
}

/* The in-memory tail: appends reach the file in blocks (at a flush, a sync, a full block, or
 * when a reader reaches them); ho_spool_read_ex without flush hands out only what is in the
 * file; a reader that fell behind the tail reads the file; a confirmed position is saved at
 * close even when the cursor file was not rewritten at the confirmation. */
static void test_tail_blocks_and_file_reads(void **state)
{
	(void)state;
	uint8_t buf[400];
	static uint8_t batch[256 * 1024];
	struct ho_spool *sp = open_sp(0, NULL, NULL);
	assert_non_null(sp);
	uint64_t bytes = 0;
	for (uint32_t i = 0; i < 10; i++) {
		struct ho_spool_key k = key(i);
		size_t len = rec(i, buf);
		assert_int_equal(ho_spool_append(sp, &k, buf, len), 0);
		bytes += HO_SPOOL_HDR + len;
	}
	/* in memory only: not in the file, not handed out without a flush */
	assert_int_equal(seg_size(0), 0);
	assert_true(ho_spool_unwritten(sp) == bytes);
	assert_true(ho_spool_written_end(sp).rec == 0 && ho_spool_end(sp).rec == 10);
	struct ho_spool_pos pos = ho_spool_cursor(sp);
	uint64_t nrec = 9;
	assert_int_equal(ho_spool_read_ex(sp, &pos, batch, sizeof batch, 100, &nrec, 0), 0);
	assert_true(nrec == 0 && pos.rec == 0);
	/* a flush writes them in one piece */
	assert_int_equal(ho_spool_flush(sp), 0);
	assert_true(seg_size(0) == (off_t)bytes && ho_spool_unwritten(sp) == 0);
	assert_true(ho_spool_written_end(sp).rec == 10);
	read_all(sp, &pos, 0, 10);
	/* ho_spool_read writes what it reaches */
	for (uint32_t i = 10; i < 20; i++) {
		struct ho_spool_key k = key(i);
		assert_int_equal(ho_spool_append(sp, &k, buf, rec(i, buf)), 0);
	}
	assert_true(ho_spool_unwritten(sp) > 0);
	read_all(sp, &pos, 10, 10);
	assert_true(ho_spool_unwritten(sp) == 0 && ho_spool_written_end(sp).rec == 20);
	/* far more than the tail holds (1 MiB): the blocks reach the file as they fill, and the
	 * reader, far behind, reads them back from the file */
	uint32_t n = 20;
	while (ho_spool_bytes(sp) < 3 * 1024 * 1024) {
		struct ho_spool_key k = key(n);
		assert_int_equal(ho_spool_append(sp, &k, buf, rec(n, buf)), 0);
		n++;
	}
	assert_true(ho_spool_unwritten(sp) < 256 * 1024);
	assert_true((uint64_t)seg_size(0) + ho_spool_unwritten(sp) == ho_spool_bytes(sp));
	struct ho_spool_pos behind = pos;
	read_all(sp, &behind, 20, n - 20);
	assert_true(ho_spool_unwritten(sp) == 0);
	/* a reader exactly at the written end reads nothing more without a flush */
	struct ho_spool_key k = key(n);
	assert_int_equal(ho_spool_append(sp, &k, buf, rec(n, buf)), 0);
	assert_int_equal(ho_spool_read_ex(sp, &behind, batch, sizeof batch, 100, &nrec, 0), 0);
	assert_true(ho_spool_read_ex(sp, &behind, batch, sizeof batch, 100, &nrec, 1) > 0);
	assert_true(nrec == 1 && behind.rec == (uint64_t)n + 1);
	/* two confirmations in a row (the second is kept in memory), then close: saved */
	struct ho_spool_pos c = ho_spool_cursor(sp);
	(void)ho_spool_read(sp, &c, batch, sizeof batch, 5, &nrec);
	assert_int_equal(ho_spool_confirm(sp, &c), 0);
	(void)ho_spool_read(sp, &c, batch, sizeof batch, 5, &nrec);
	assert_int_equal(ho_spool_confirm(sp, &c), 0);
	assert_true(ho_spool_cursor(sp).rec == 10);
	ho_spool_close(sp);
	sp = open_sp(0, NULL, NULL);
	assert_non_null(sp);
	assert_true(ho_spool_cursor(sp).rec == 10 && ho_spool_end(sp).rec == (uint64_t)n + 1);
	pos = ho_spool_cursor(sp);
	read_all(sp, &pos, 10, n + 1 - 10);
	ho_spool_close(sp);
}

/* The sync split for the mediator's sync thread: ho_spool_sync_fd writes the tail and hands
 * out a descriptor of the newest segment only when something was written since the last one;
 * with fsync "none" never. */
static void test_sync_fd(void **state)
{
	(void)state;
	uint8_t buf[400];
	struct ho_spool *sp = open_sp(16 * 1024, NULL, NULL);
	assert_non_null(sp);
	assert_int_equal(ho_spool_sync_fd(sp), -1); /* nothing written */
	for (uint32_t i = 0; i < 3; i++) {
		struct ho_spool_key k = key(i);
		assert_int_equal(ho_spool_append(sp, &k, buf, rec(i, buf)), 0);
	}
	assert_true(ho_spool_unwritten(sp) > 0);
	int fd = ho_spool_sync_fd(sp);
	assert_true(fd >= 0);
	assert_true(ho_spool_unwritten(sp) == 0); /* the tail is in the file */
	struct stat a, b;
	char seg[600];
	snprintf(seg, sizeof seg, "%s/sp/%020llu.seg", dir, 0ull);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(stat(seg, &b), 0);
	assert_true(a.st_ino == b.st_ino); /* the newest segment */
	assert_int_equal(fdatasync(fd), 0);
	close(fd);
	assert_int_equal(ho_spool_sync_fd(sp), -1); /* clean now */
	struct ho_spool_key k = key(3);
	assert_int_equal(ho_spool_append(sp, &k, buf, rec(3, buf)), 0);
	fd = ho_spool_sync_fd(sp);
	assert_true(fd >= 0);
	close(fd);
	ho_spool_close(sp);

	char err[512] = "", sdir[300];
	snprintf(sdir, sizeof sdir, "%s/sp2", dir);
	struct ho_spool_conf c = {sdir, 0, HO_FSYNC_NONE, "test"};
	sp = ho_spool_open(&c, NULL, NULL, err, sizeof err);
	assert_non_null(sp);
	assert_int_equal(ho_spool_append(sp, &k, buf, rec(3, buf)), 0);
	assert_int_equal(ho_spool_sync_fd(sp), -1);
	assert_true(ho_spool_unwritten(sp) == 0); /* written all the same */
	ho_spool_close(sp);
}

/* fsync "always": each record is in the file (and synced) when the append returns. */
static void test_fsync_always_writes_through(void **state)
{
	(void)state;
	uint8_t buf[400];
	char err[512] = "", sdir[300];
	snprintf(sdir, sizeof sdir, "%s/sp", dir);
	struct ho_spool_conf c = {sdir, 0, HO_FSYNC_ALWAYS, "test"};
	struct ho_spool *sp = ho_spool_open(&c, NULL, NULL, err, sizeof err);
	assert_non_null(sp);
	off_t want = 0;
	for (uint32_t i = 0; i < 5; i++) {
		struct ho_spool_key k = key(i);
		size_t len = rec(i, buf);
		assert_int_equal(ho_spool_append(sp, &k, buf, len), 0);
		want += (off_t)(HO_SPOOL_HDR + len);
		assert_true(seg_size(0) == want && ho_spool_unwritten(sp) == 0);
	}
	struct ho_spool_pos pos = ho_spool_cursor(sp);
	read_all(sp, &pos, 0, 5);
	ho_spool_close(sp);
}

static void test_roundtrip_replay_delete(void **state)
{
	(void)state;
	uint8_t buf[400];
	struct ho_spool *sp = open_sp(16 * 1024, NULL, NULL);
	assert_non_null(sp);
	for (uint32_t i = 0; i < 2000; i++) {
		struct ho_spool_key k = key(i);
		assert_int_equal(ho_spool_append(sp, &k, buf, rec(i, buf)), 0);
	}
	assert_int_equal(ho_spool_sync(sp), 0);
	struct ho_spool_pos pos = ho_spool_cursor(sp);
	assert_true(pos.rec == 0);
	assert_true(ho_spool_end(sp).rec == 2000);
	read_all(sp, &pos, 0, 2000);
	/* confirm the first 1500 (read again up to there) */
	struct ho_spool_pos c = ho_spool_cursor(sp);
	uint64_t nrec = 0;
	static uint8_t batch[1024 * 1024];
	uint64_t before = ho_spool_bytes(sp);
	(void)ho_spool_read(sp, &c, batch, sizeof batch, 1500, &nrec);
	assert_true(nrec == 1500 && c.rec == 1500);
	assert_true(ho_spool_would_delete(sp, &c) > 0);
	assert_int_equal(ho_spool_confirm(sp, &c), 0);
	assert_true(ho_spool_bytes(sp) < before); /* whole segments before the cursor deleted */
	assert_true(ho_spool_cursor(sp).rec == 1500);
	ho_spool_close(sp);

	/* restart: the cursor holds, the rest is replayed in order, keys are reported */
	struct keyseen ks = {0, 0, 0};
	sp = open_sp(16 * 1024, count_keys, &ks);
	assert_non_null(sp);
	assert_true(ho_spool_cursor(sp).rec == 1500);
	assert_true(ho_spool_end(sp).rec == 2000);
	assert_true(ks.n >= 500 && ks.n < 2000); /* the current segments only */
	assert_int_equal(ks.max_seq, 1999);
	pos = ho_spool_cursor(sp);
	read_all(sp, &pos, 1500, 500);
	/* new records continue the numbering */
	struct ho_spool_key k = key(2000);
	assert_int_equal(ho_spool_append(sp, &k, buf, rec(2000, buf)), 0);
	read_all(sp, &pos, 2000, 1);
	assert_int_equal(ho_spool_confirm(sp, &pos), 0);
	assert_true(ho_spool_cursor(sp).rec == 2001);
	ho_spool_close(sp);
	sp = open_sp(16 * 1024, NULL, NULL);
	assert_true(ho_spool_cursor(sp).rec == 2001);
	pos = ho_spool_cursor(sp);
	read_all(sp, &pos, 2001, 0);
	ho_spool_close(sp);
}

/* The newest segment file of the spool. */
static void last_seg(char *out, size_t len)
{
	char sdir[300];
	snprintf(sdir, sizeof sdir, "%s/sp", dir);
	DIR *d = opendir(sdir);
	assert_non_null(d);
	char best[256] = "";
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strstr(e->d_name, ".seg") && strcmp(e->d_name, best) > 0)
			snprintf(best, sizeof best, "%s", e->d_name);
	closedir(d);
	snprintf(out, len, "%s/%s", sdir, best);
}

static void test_torn_tail_and_corruption(void **state)
{
	(void)state;
	uint8_t buf[400];
	struct ho_spool *sp = open_sp(0, NULL, NULL);
	for (uint32_t i = 0; i < 100; i++) {
		struct ho_spool_key k = key(i);
		assert_int_equal(ho_spool_append(sp, &k, buf, rec(i, buf)), 0);
	}
	ho_spool_close(sp);
	char seg[800];
	last_seg(seg, sizeof seg);
	struct stat st;
	assert_int_equal(stat(seg, &st), 0);
	/* a crash in the middle of the last record: cut it in half */
	size_t last_len = HO_SPOOL_HDR + rec(99, buf);
	assert_int_equal(truncate(seg, st.st_size - (off_t)last_len / 2), 0);
	sp = open_sp(0, NULL, NULL);
	assert_non_null(sp);
	assert_true(ho_spool_end(sp).rec == 99);
	assert_true(ho_spool_cut(sp) == last_len - last_len / 2);
	struct ho_spool_pos pos = ho_spool_cursor(sp);
	read_all(sp, &pos, 0, 99);
	/* appending after the cut continues cleanly */
	struct ho_spool_key k = key(99);
	assert_int_equal(ho_spool_append(sp, &k, buf, rec(99, buf)), 0);
	read_all(sp, &pos, 99, 1);
	ho_spool_close(sp);

	/* a flipped payload byte in record 50: the CRC stops the scan there */
	sp = open_sp(0, NULL, NULL);
	pos = ho_spool_cursor(sp);
	uint64_t nrec;
	static uint8_t batch[1024 * 1024];
	(void)ho_spool_read(sp, &pos, batch, sizeof batch, 50, &nrec);
	ho_spool_close(sp);
	int fd = open(seg, O_RDWR);
	assert_true(fd >= 0);
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, (off_t)pos.off + HO_SPOOL_HDR), 1);
	b ^= 0x55;
	assert_int_equal(pwrite(fd, &b, 1, (off_t)pos.off + HO_SPOOL_HDR), 1);
	/* and garbage after the end */
	close(fd);
	sp = open_sp(0, NULL, NULL);
	assert_true(ho_spool_end(sp).rec == 50);
	pos = ho_spool_cursor(sp);
	read_all(sp, &pos, 0, 50);
	ho_spool_close(sp);

	/* a corrupt cursor means replay from the oldest record */
	char cur[700];
	snprintf(cur, sizeof cur, "%s/sp/cursor", dir);
	sp = open_sp(0, NULL, NULL);
	pos = ho_spool_cursor(sp);
	(void)ho_spool_read(sp, &pos, batch, sizeof batch, 10, &nrec);
	assert_int_equal(ho_spool_confirm(sp, &pos), 0);
	ho_spool_close(sp);
	sp = open_sp(0, NULL, NULL);
	assert_true(ho_spool_cursor(sp).rec == 10);
	ho_spool_close(sp);
	FILE *f = fopen(cur, "r+");
	assert_non_null(f);
	fputc('X', f);
	fclose(f);
	sp = open_sp(0, NULL, NULL);
	assert_true(ho_spool_cursor(sp).rec == 0);
	ho_spool_close(sp);
}

static void test_rec_check(void **state)
{
	(void)state;
	uint8_t img[HO_SPOOL_HDR + 16], pl[16];
	memset(pl, 7, sizeof pl);
	struct ho_spool_key k = key(3);
	ho_spool_rec_header(img, &k, pl, sizeof pl, 0xfedcba9876543210ull);
	memcpy(img + HO_SPOOL_HDR, pl, sizeof pl);
	size_t rl = 0;
	const char *why;
	struct ho_spool_key out;
	assert_int_equal(ho_spool_rec_check(img, sizeof img, &rl, &out, &why), 0);
	assert_int_equal(rl, sizeof img);
	assert_int_equal(out.seq, 3);
	assert_string_equal(out.iap, "iap0");
	uint64_t tag = 0;
	assert_int_equal(ho_spool_rec_tag(img, &tag), 1);
	assert_true(tag == (0xfedcba9876543210ull & HO_SPOOL_TAG_MASK));
	/* a record written before segment tags (flags bit 1 clear, tag fields zero) is still
	 * read; with the bit clear the tag fields must be zero */
	uint8_t old[sizeof img];
	memcpy(old, img, sizeof img);
	old[12] &= (uint8_t)~2u;
	memset(old + 14, 0, 2);
	memset(old + 60, 0, 4);
	uint32_t c = lt_crc32c(0, old + 12, sizeof old - 12);
	old[8] = (uint8_t)(c >> 24), old[9] = (uint8_t)(c >> 16), old[10] = (uint8_t)(c >> 8),
	old[11] = (uint8_t)c;
	assert_int_equal(ho_spool_rec_check(old, sizeof old, &rl, &out, &why), 0);
	assert_int_equal(ho_spool_rec_tag(old, &tag), 0);
	old[63] = 1;
	c = lt_crc32c(0, old + 12, sizeof old - 12);
	old[8] = (uint8_t)(c >> 24), old[9] = (uint8_t)(c >> 16), old[10] = (uint8_t)(c >> 8),
	old[11] = (uint8_t)c;
	assert_int_equal(ho_spool_rec_check(old, sizeof old, &rl, &out, &why), -1);
	assert_string_equal(why, "bad record header fields");
	for (size_t n = 0; n < sizeof img; n++)
		assert_int_equal(ho_spool_rec_check(img, n, &rl, &out, &why), 1);
	img[0] ^= 1;
	assert_int_equal(ho_spool_rec_check(img, sizeof img, &rl, &out, &why), -1);
	assert_string_equal(why, "bad record magic");
	img[0] ^= 1;
	img[4] = 0xff; /* length 0xff000010 */
	assert_int_equal(ho_spool_rec_check(img, sizeof img, &rl, &out, &why), -1);
	assert_string_equal(why, "record length out of bounds");
	img[4] = 0;
	img[13] = 17; /* id length */
	assert_int_equal(ho_spool_rec_check(img, sizeof img, &rl, &out, &why), -1);
	img[13] = 4;
	img[HO_SPOOL_HDR] ^= 1;
	assert_int_equal(ho_spool_rec_check(img, sizeof img, &rl, &out, &why), -1);
	assert_string_equal(why, "record CRC mismatch");
}

/* Entries of the spool directory: segment files, recycled files; the inode of the newest
 * segment file and its size. */
struct dirstat {
	int segs, frees;
	ino_t newest_ino;
	off_t newest_size;
	ino_t free_ino[8];
};

static struct dirstat dir_stat(void)
{
	struct dirstat ds;
	memset(&ds, 0, sizeof ds);
	char sdir[300], best[256] = "";
	snprintf(sdir, sizeof sdir, "%s/sp", dir);
	DIR *d = opendir(sdir);
	assert_non_null(d);
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char p[600];
		struct stat st;
		snprintf(p, sizeof p, "%s/%s", sdir, e->d_name);
		if (strncmp(e->d_name, "free-", 5) == 0) {
			assert_int_equal(stat(p, &st), 0);
			if (ds.frees < 8)
				ds.free_ino[ds.frees] = st.st_ino;
			ds.frees++;
		} else if (strstr(e->d_name, ".seg")) {
			ds.segs++;
			if (strcmp(e->d_name, best) > 0)
				snprintf(best, sizeof best, "%s", e->d_name);
		}
	}
	closedir(d);
	if (best[0]) {
		char p[600];
		struct stat st;
		snprintf(p, sizeof p, "%s/%s", sdir, best);
		assert_int_equal(stat(p, &st), 0);
		ds.newest_ino = st.st_ino;
		ds.newest_size = st.st_size;
	}
	return ds;
}

/* Confirmed segment files are kept (at most two) and overwritten as new segments; the bytes of
 * their earlier use after a recycled segment's last record are never taken for records: not
 * after a clean close, not after a crash (no close), and they are not counted as cut. */
static void test_recycle(void **state)
{
	(void)state;
	uint8_t buf[400];
	const uint64_t segb = 16 * 1024;
	struct ho_spool *sp = open_sp(segb, NULL, NULL);
	assert_non_null(sp);
	uint32_t n = 0;
	for (; n < 2000; n++) {
		struct ho_spool_key k = key(n);
		assert_int_equal(ho_spool_append(sp, &k, buf, rec(n, buf)), 0);
	}
	assert_int_equal(ho_spool_sync(sp), 0);
	struct dirstat before = dir_stat();
	assert_true(before.segs > 10 && before.frees == 0);
	struct ho_spool_pos pos = ho_spool_cursor(sp);
	read_all(sp, &pos, 0, n);
	assert_int_equal(ho_spool_confirm(sp, &pos), 0);
	struct dirstat after = dir_stat();
	assert_int_equal(after.frees, 2); /* kept for reuse, the rest deleted */
	assert_int_equal(after.segs, 1);  /* the segment being written stays */
	/* fill the current segment and start the next: it is a recycled file */
	uint64_t seg0 = ho_spool_end(sp).seg;
	while (ho_spool_end(sp).seg == seg0) {
		struct ho_spool_key k = key(n);
		assert_int_equal(ho_spool_append(sp, &k, buf, rec(n, buf)), 0);
		n++;
	}
	for (int i = 0; i < 5; i++, n++) {
		struct ho_spool_key k = key(n);
		assert_int_equal(ho_spool_append(sp, &k, buf, rec(n, buf)), 0);
	}
	assert_int_equal(ho_spool_sync(sp), 0);
	struct dirstat re = dir_stat();
	assert_int_equal(re.frees, 1);
	assert_true(re.newest_ino == after.free_ino[0] || re.newest_ino == after.free_ino[1]);
	/* the file still holds its earlier segment's records after the 5 new ones */
	assert_true((uint64_t)re.newest_size > 5 * (HO_SPOOL_HDR + 300) &&
	            (uint64_t)re.newest_size >= segb - 400);
	read_all(sp, &pos, 2000, n - 2000);
	ho_spool_close(sp);

	/* reopen (clean close): exactly the records appended, no cut */
	sp = open_sp(segb, NULL, NULL);
	assert_non_null(sp);
	assert_true(ho_spool_end(sp).rec == n);
	assert_true(ho_spool_cut(sp) == 0);
	pos = ho_spool_cursor(sp);
	read_all(sp, &pos, 2000, n - 2000);
	ho_spool_close(sp);
	/* a crash: a child process appends until a new segment starts in the last recycled file,
	 * 3 records more, syncs them, then exits without closing the spool (no cursor write, no
	 * tidying up); n is shared through a pipe */
	assert_int_equal(dir_stat().frees, 1);
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ho_spool *c = open_sp(segb, NULL, NULL);
		int ok = c != NULL;
		uint64_t s0 = ok ? ho_spool_end(c).seg : 0;
		int more = 3;
		while (ok && more > 0) {
			struct ho_spool_key k = key(n);
			ok = ho_spool_append(c, &k, buf, rec(n, buf)) == 0;
			n++;
			if (ho_spool_end(c).seg != s0)
				more--;
		}
		ok = ok && ho_spool_sync(c) == 0 && write(pfd[1], &n, sizeof n) == sizeof n;
		_exit(ok ? 0 : 1);
	}
	close(pfd[1]);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(read(pfd[0], &n, sizeof n), sizeof n);
	close(pfd[0]);
	struct dirstat crashed = dir_stat();
	assert_int_equal(crashed.frees, 0);
	assert_true((uint64_t)crashed.newest_size >= segb - 400); /* stale bytes follow */
	sp = open_sp(segb, NULL, NULL);
	assert_non_null(sp);
	assert_true(ho_spool_end(sp).rec == n);
	assert_true(ho_spool_cut(sp) == 0);
	pos = ho_spool_cursor(sp);
	read_all(sp, &pos, 2000, n - 2000);
	/* the recycled file's stale bytes were dropped at open: the segment is now exact */
	struct dirstat fin = dir_stat();
	assert_true((uint64_t)fin.newest_size < segb - 400);
	ho_spool_close(sp);
}

static void test_lock(void **state)
{
	(void)state;
	struct ho_spool *a = open_sp(0, NULL, NULL);
	assert_non_null(a);
	struct ho_spool *b = open_sp(0, NULL, NULL);
	assert_null(b); /* one owner per spool directory */
	ho_spool_close(a);
	b = open_sp(0, NULL, NULL);
	assert_non_null(b);
	ho_spool_close(b);
}

/* handover.c: records go to the spool; at spool_max_bytes ho_room_wait refuses and the alarm
 * shows in the statistics; a new ho_ctx on the same directory replays them. */
static void test_handover_spool_full(void **state)
{
	(void)state;
	struct ho_site site;
	memset(&site, 0, sizeof site);
	snprintf(site.operator_id, sizeof site.operator_id, "op");
	snprintf(site.spool_dir, sizeof site.spool_dir, "%s/ho", dir);
	site.spool_max_bytes = 64 * 1024;
	site.spool_segment_bytes = 16 * 1024;
	site.fsync = HO_FSYNC_NONE;
	struct ho_lea_conf lea;
	memset(&lea, 0, sizeof lea);
	snprintf(lea.id, sizeof lea.id, "lea1");
	memcpy(lea.country, "NL", 3);
	snprintf(lea.addr[0], sizeof lea.addr[0], "127.0.0.1:1");
	snprintf(lea.addr[1], sizeof lea.addr[1], "127.0.0.1:1");
	lea.keepalive_timeout = 5;
	lea.reconnect_max = 1;
	char err[512];
	struct ho_ctx *ho = ho_new(NULL, &site, &lea, 1, err, sizeof err);
	assert_non_null(ho);
	struct ho_link *l = ho_link_get(ho, 0, HO_HI3);
	uint8_t buf[1000];
	memset(buf, 0x30, sizeof buf);
	int n = 0;
	while (ho_room_wait(l, 0) == 0) {
		assert_int_equal(ho_enqueue(l, buf, sizeof buf, NULL), 0);
		n++;
		assert_true(n < 1000);
	}
	assert_true(n >= 60 && n <= 70);
	struct ho_stats st;
	assert_int_equal(ho_get_stats(ho, 1, &st), 0);
	assert_int_equal(st.spool_full, 1);
	assert_true(st.spool_full_events == 1);
	assert_true(st.queued == (uint64_t)n && st.unconfirmed == (uint64_t)n);
	/* still refused, same episode */
	assert_int_equal(ho_room_wait(l, 10), HO_E_FULL);
	assert_int_equal(ho_get_stats(ho, 1, &st), 0);
	assert_true(st.spool_full_events == 1);
	/* a record is never refused for space by ho_enqueue itself */
	assert_int_equal(ho_enqueue(l, buf, sizeof buf, NULL), 0);
	ho_free(ho);
	ho = ho_new(NULL, &site, &lea, 1, err, sizeof err);
	assert_non_null(ho);
	assert_int_equal(ho_get_stats(ho, 1, &st), 0);
	assert_true(st.unconfirmed == (uint64_t)n + 1 && st.queued == 0);
	/* two ho_ctx on one directory: refused */
	struct ho_ctx *ho2 = ho_new(NULL, &site, &lea, 1, err, sizeof err);
	assert_null(ho2);
	assert_non_null(strstr(err, "in use"));
	ho_free(ho);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_crc32c),
	    cmocka_unit_test_setup_teardown(test_roundtrip_replay_delete, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_torn_tail_and_corruption, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tail_blocks_and_file_reads, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fsync_always_writes_through, setup, teardown),
	    cmocka_unit_test(test_rec_check),
	    cmocka_unit_test_setup_teardown(test_recycle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_fd, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_handover_spool_full, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
