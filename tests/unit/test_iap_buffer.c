/* Unit tests for iap/buffer.c (memory store, disk overflow, order, bounds, batches taken without
 * a copy, corrupt files, the record parser) and iap/resume.c (sequence map, state file round trip
 * and refusals). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iap/iap.h"
#include "lib/x2x3.h"

static char tmpdir[256];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/test_iap_buffer.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	(void)state;
	DIR *d = opendir(tmpdir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			char p[512];
			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(tmpdir);
	return 0;
}

/* A batch of n X3 PDUs of one XID, sequence numbers seq0.., payload of plen bytes. */
static size_t make_batch(uint8_t *out, size_t cap, uint32_t seq0, int n, size_t plen)
{
	uint8_t payload[2048];
	memset(payload, 0x45, sizeof payload);
	size_t used = 0;
	for (int i = 0; i < n; i++) {
		struct lt_x2x3_pdu p;
		memset(&p, 0, sizeof p);
		p.type = LT_X3;
		p.format = LT_PF_IPV4;
		p.direction = LT_DIR_TO_TARGET;
		p.xid[0] = 0x42;
		p.xid[6] = 0x40;
		p.xid[8] = 0x80;
		p.has_seq = 1;
		p.seq = seq0 + (uint32_t)i;
		p.has_epoch = 1;
		p.epoch = 77;
		p.payload = payload;
		p.payload_len = (uint32_t)plen;
		long w = lt_x2x3_encode(&p, out + used, cap - used);
		assert_true(w > 0);
		used += (size_t)w;
	}
	return used;
}

/* First sequence number in a batch. */
static uint32_t first_seq(const struct iap_seg *s)
{
	struct lt_x2x3_pdu p;
	size_t plen = 0;
	assert_int_equal(lt_x2x3_frame(s->data, s->len, &plen), 0);
	assert_int_equal(lt_x2x3_parse(s->data, plen, &p, NULL), 0);
	return p.seq;
}

static void test_memory_only(void **state)
{
	(void)state;
	char err[256];
	struct iap_buf_conf c = {.mem_max = 64 * 1024, .dir = NULL, .disk_max = 0};
	struct iap_buf *b = iap_buf_new(&c, err, sizeof err);
	assert_non_null(b);
	assert_true(iap_buf_empty(b));
	assert_null(iap_buf_head(b));
	uint8_t batch[16384];
	int pushed = 0;
	for (uint32_t i = 0; i < 100; i++) {
		size_t n = make_batch(batch, sizeof batch, i * 10, 10, 500);
		int rc = iap_buf_push(b, batch, n, i + 1, i + 1);
		if (rc == IAP_BUF_E_FULL) {
			assert_false(iap_buf_room(b, n));
			break;
		}
		assert_int_equal(rc, 0);
		pushed++;
	}
	assert_true(pushed > 3 && pushed < 100); /* bounded by mem_max */
	struct iap_buf_usage u;
	iap_buf_usage(b, &u);
	assert_true(u.mem_bytes <= c.mem_max);
	assert_int_equal(u.mem_batches, (size_t)pushed);
	/* Sent in order; a reconnect makes all of them unsent again. */
	struct iap_seg *s = iap_buf_next_unsent(b);
	assert_int_equal(first_seq(s), 0);
	iap_buf_mark_sent(b, s, 1, 0);
	s = iap_buf_next_unsent(b);
	assert_int_equal(first_seq(s), 10);
	iap_buf_mark_sent(b, s, 2, 0);
	iap_buf_unsend_all(b);
	s = iap_buf_next_unsent(b);
	assert_int_equal(first_seq(s), 0);
	assert_int_equal(s->tries, 0);
	for (int i = 0; i < pushed; i++) {
		s = iap_buf_head(b);
		assert_non_null(s);
		assert_int_equal(first_seq(s), (uint32_t)i * 10);
		assert_int_equal(s->first_pkt, (uint64_t)i + 1);
		iap_buf_pop(b);
	}
	assert_true(iap_buf_empty(b));
	/* An empty store takes a batch bigger than mem_max (progress is always possible). */
	static uint8_t big[100 * 1024];
	size_t n = make_batch(big, sizeof big, 0, 60, 1500);
	assert_true(n > c.mem_max);
	assert_int_equal(iap_buf_push(b, big, n, 1, 1), 0);
	assert_int_equal(iap_buf_push(b, batch, 100, 2, 2), IAP_BUF_E_FULL);
	assert_int_equal(iap_buf_push(b, batch, 0, 2, 2), IAP_BUF_E_BAD);
	iap_buf_free(b);
	iap_buf_free(NULL);
}

static size_t count_files(void)
{
	size_t n = 0;
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL)
		n += strstr(e->d_name, ".buf") != NULL;
	if (d)
		closedir(d);
	return n;
}

static void test_disk_overflow_order(void **state)
{
	(void)state;
	char err[256];
	/* a file left by an earlier run is removed */
	char stale[512];
	snprintf(stale, sizeof stale, "%s/iap-0000000042.buf", tmpdir);
	FILE *f = fopen(stale, "w");
	assert_non_null(f);
	fputs("junk", f);
	fclose(f);
	struct iap_buf_conf c = {.mem_max = 100 * 1024, .dir = tmpdir, .disk_max = 12u << 20};
	struct iap_buf *b = iap_buf_new(&c, err, sizeof err);
	assert_non_null(b);
	assert_int_equal(count_files(), 0);
	static uint8_t batch[70000];
	const int total = 400; /* ~ 10 MiB: memory, then two disk files */
	int pushed = 0;
	for (int i = 0; i < total; i++) {
		size_t n = make_batch(batch, sizeof batch, (uint32_t)i * 20, 20, 1200);
		int rc = iap_buf_push(b, batch, n, (uint64_t)i + 1, (uint64_t)i + 1);
		if (rc != 0)
			break;
		pushed++;
	}
	struct iap_buf_usage u;
	iap_buf_usage(b, &u);
	assert_true(u.disk_batches > 0);
	assert_true(u.mem_bytes <= c.mem_max);
	assert_true(count_files() >= 1);
	/* Disk bound: 12 MiB of ~24.7 KiB records is about 500, the memory part a few more. */
	assert_int_equal(pushed, total);
	/* Popping reads back in order, memory never over its bound. */
	for (int i = 0; i < pushed; i++) {
		struct iap_seg *s = iap_buf_head(b);
		assert_non_null(s);
		assert_int_equal(first_seq(s), (uint32_t)i * 20);
		assert_int_equal(s->first_pkt, (uint64_t)i + 1);
		iap_buf_usage(b, &u);
		assert_true(u.mem_bytes <= c.mem_max);
		iap_buf_pop(b);
	}
	assert_true(iap_buf_empty(b));
	assert_int_equal(count_files(), 0); /* read-back files are removed */
	iap_buf_usage(b, &u);
	assert_int_equal(u.lost_batches, 0);
	iap_buf_free(b);
}

/* iap_buf_push_take: a batch built in place in a malloc'ed segment goes to memory without a
 * copy (the store takes the segment itself: *sp becomes NULL, the same pointer comes out of
 * iap_buf_head), to disk as a copy (the caller keeps *sp), and in order with iap_buf_push. */
static void test_push_take(void **state)
{
	(void)state;
	char err[256];
	struct iap_buf_conf c = {.mem_max = 100 * 1024, .dir = tmpdir, .disk_max = 4u << 20};
	struct iap_buf *b = iap_buf_new(&c, err, sizeof err);
	assert_non_null(b);
	const size_t cap = 70000;
	struct iap_seg *taken[40] = {0}; /* the segments the store took (memory) */
	int nmem = 0, ndisk = 0, i;
	for (i = 0; i < 40; i++) {
		struct iap_seg *s = malloc(sizeof *s + cap);
		assert_non_null(s);
		memset(s, 0xee, sizeof *s); /* the header is the store's to fill in */
		size_t n = make_batch(s->data, cap, (uint32_t)i * 20, 20, 1200);
		struct iap_seg *sp = s;
		int rc = i % 3 == 2
		             ? iap_buf_push(b, s->data, n, (uint64_t)i + 1, (uint64_t)i + 1)
		             : iap_buf_push_take(b, &sp, n, (uint64_t)i + 1, (uint64_t)i + 1);
		assert_int_equal(rc, 0);
		if (i % 3 != 2 && !sp) {
			taken[i] = s;
			nmem++;
		} else {
			assert_true(i % 3 == 2 || sp == s); /* went to disk: still the caller's */
			ndisk += sp != NULL;
			free(s);
		}
	}
	assert_true(nmem >= 2 && ndisk > 0); /* both ways were taken */
	struct iap_buf_usage u;
	iap_buf_usage(b, &u);
	assert_true(u.mem_bytes <= c.mem_max);
	for (i = 0; i < 40; i++) {
		struct iap_seg *s = iap_buf_head(b);
		assert_non_null(s);
		if (taken[i])
			assert_ptr_equal(s, taken[i]); /* taken, not copied */
		assert_int_equal(first_seq(s), (uint32_t)i * 20);
		assert_int_equal(s->first_pkt, (uint64_t)i + 1);
		assert_int_equal(s->last_pkt, (uint64_t)i + 1);
		assert_int_equal(s->sent, 0);
		assert_int_equal(s->tries, 0);
		iap_buf_pop(b);
	}
	assert_true(iap_buf_empty(b));
	struct iap_seg *s = malloc(sizeof *s + 16);
	struct iap_seg *sp = s;
	assert_int_equal(iap_buf_push_take(b, &sp, 0, 1, 1), IAP_BUF_E_BAD);
	assert_ptr_equal(sp, s);
	free(s);
	iap_buf_free(b);
	assert_int_equal(count_files(), 0);
}

static void test_disk_full(void **state)
{
	(void)state;
	char err[256];
	struct iap_buf_conf c = {.mem_max = 64 * 1024, .dir = tmpdir, .disk_max = 1u << 20};
	struct iap_buf *b = iap_buf_new(&c, err, sizeof err);
	assert_non_null(b);
	static uint8_t batch[70000];
	size_t n = make_batch(batch, sizeof batch, 0, 20, 1200);
	int pushed = 0, rc;
	while ((rc = iap_buf_push(b, batch, n, 1, 1)) == 0)
		pushed++;
	assert_int_equal(rc, IAP_BUF_E_FULL);
	assert_false(iap_buf_room(b, n));
	struct iap_buf_usage u;
	iap_buf_usage(b, &u);
	assert_true(u.disk_bytes <= c.disk_max);
	assert_true(u.disk_batches > 30);
	/* Freeing memory makes room again (disk records move up). */
	iap_buf_pop(b);
	iap_buf_pop(b);
	assert_true(iap_buf_room(b, n));
	iap_buf_free(b);
	assert_int_equal(count_files(), 0);
}

static void test_disk_corrupt(void **state)
{
	(void)state;
	char err[256];
	struct iap_buf_conf c = {.mem_max = 64 * 1024, .dir = tmpdir, .disk_max = 8u << 20};
	struct iap_buf *b = iap_buf_new(&c, err, sizeof err);
	assert_non_null(b);
	static uint8_t batch[70000];
	for (int i = 0; i < 20; i++) {
		size_t n = make_batch(batch, sizeof batch, (uint32_t)i * 20, 20, 1200);
		assert_int_equal(iap_buf_push(b, batch, n, (uint64_t)i + 1, (uint64_t)i + 1), 0);
	}
	struct iap_buf_usage u;
	iap_buf_usage(b, &u);
	size_t inmem = u.mem_batches;
	assert_true(u.disk_batches > 2);
	/* Flip a byte in the middle of the disk file's second record. */
	char path[512];
	snprintf(path, sizeof path, "%s/iap-0000000000.buf", tmpdir);
	FILE *f = fopen(path, "r+b");
	assert_non_null(f);
	fseek(f, 30000, SEEK_SET);
	int ch = fgetc(f);
	fseek(f, 30000, SEEK_SET);
	fputc(ch ^ 0x55, f);
	fclose(f);
	int got = 0;
	while (iap_buf_head(b)) {
		iap_buf_pop(b);
		got++;
	}
	iap_buf_usage(b, &u);
	assert_true(u.lost_batches > 0);
	assert_true((size_t)got >= inmem + 1 && got < 20);
	assert_int_equal((size_t)got + u.lost_batches, 20);
	iap_buf_free(b);
}

static void test_record_parse(void **state)
{
	(void)state;
	uint8_t batch[8192], rec[9000];
	size_t n = make_batch(batch, sizeof batch, 5, 3, 100);
	iap_buf_rec_header(rec, batch, n, 7, 9);
	memcpy(rec + IAP_BUF_REC_HDR, batch, n);
	struct iap_buf_rec r;
	size_t used = 0;
	assert_int_equal(iap_buf_rec_parse(rec, IAP_BUF_REC_HDR + n, &r, &used), 0);
	assert_int_equal(used, IAP_BUF_REC_HDR + n);
	assert_int_equal(r.len, n);
	assert_int_equal(r.first_pkt, 7);
	assert_int_equal(r.last_pkt, 9);
	assert_memory_equal(r.data, batch, n);
	for (size_t cut = 0; cut < IAP_BUF_REC_HDR + n; cut += 7)
		assert_int_equal(iap_buf_rec_parse(rec, cut, &r, &used), IAP_BUF_E_SHORT);
	rec[IAP_BUF_REC_HDR + 50] ^= 1; /* CRC */
	assert_int_equal(iap_buf_rec_parse(rec, IAP_BUF_REC_HDR + n, &r, &used), IAP_BUF_E_BAD);
	rec[IAP_BUF_REC_HDR + 50] ^= 1;
	rec[0] = 'X'; /* magic */
	assert_int_equal(iap_buf_rec_parse(rec, IAP_BUF_REC_HDR + n, &r, &used), IAP_BUF_E_BAD);
	/* Valid CRC but the data is not whole PDUs. */
	memset(batch, 0xff, 64);
	iap_buf_rec_header(rec, batch, 64, 1, 1);
	memcpy(rec + IAP_BUF_REC_HDR, batch, 64);
	assert_int_equal(iap_buf_rec_parse(rec, IAP_BUF_REC_HDR + 64, &r, &used), IAP_BUF_E_BAD);
	/* first > last */
	n = make_batch(batch, sizeof batch, 5, 1, 10);
	iap_buf_rec_header(rec, batch, n, 9, 7);
	memcpy(rec + IAP_BUF_REC_HDR, batch, n);
	assert_int_equal(iap_buf_rec_parse(rec, IAP_BUF_REC_HDR + n, &r, &used), IAP_BUF_E_BAD);
	/* CRC-32C check value (RFC 3720 B.4: 32 bytes of zeros) */
	uint8_t zeros[32] = {0};
	assert_int_equal(iap_crc32c(zeros, 32), 0x8a9136aau);
}

static void test_seqmap_and_resume(void **state)
{
	(void)state;
	char err[512], path[512];
	struct iap_resume st, back;
	memset(&st, 0, sizeof st);
	uint8_t batch[8192];
	size_t n = make_batch(batch, sizeof batch, 40, 5, 60);
	iap_seqmap_note_pdus(&st.seq, batch, n);
	assert_int_equal(st.seq.n, 1);
	assert_int_equal(st.seq.e[0].next, 45);
	n = make_batch(batch, sizeof batch, 10, 2, 60); /* lower: never moves back */
	iap_seqmap_note_pdus(&st.seq, batch, n);
	assert_int_equal(st.seq.e[0].next, 45);
	uint8_t other[16] = {1, 2, 3};
	assert_int_equal(iap_seqmap_get(&st.seq, other), -1);
	assert_int_equal(iap_seqmap_note(&st.seq, other, 3), 0);
	assert_int_equal(iap_seqmap_get(&st.seq, other), 3);
	snprintf(st.file, sizeof st.file, "/some/capture file.pcap");
	st.size = 123456;
	st.ino = 99;
	st.mtime_ns = 1700000000123456789ull;
	st.packets = 4242;
	st.epoch = 1790000000000000001ull;
	snprintf(path, sizeof path, "%s/state", tmpdir);
	assert_int_equal(iap_resume_load(path, &back, err, sizeof err), 1); /* missing */
	assert_int_equal(iap_resume_save(path, &st, err, sizeof err), 0);
	assert_int_equal(iap_resume_load(path, &back, err, sizeof err), 0);
	assert_string_equal(back.file, st.file);
	assert_int_equal(back.size, st.size);
	assert_int_equal(back.ino, st.ino);
	assert_int_equal(back.mtime_ns, st.mtime_ns);
	assert_int_equal(back.packets, st.packets);
	assert_int_equal(back.epoch, st.epoch);
	assert_int_equal(back.seq.n, 2);
	assert_int_equal(iap_seqmap_get(&back.seq, other), 3);
	iap_seqmap_clear(&back.seq);
	/* Refusals: a truncated file, a bad number, an unknown key. */
	const char *bad[] = {"lawtap-iap-resume 1\nfile x\nsize 1\n",
	                     "lawtap-iap-resume 1\nfile x\nsize 1\nino 1\nmtime_ns 1\npackets "
	                     "-1\nepoch 1\nend\n",
	                     "lawtap-iap-resume 1\nfile x\nsize 1\nino 1\nmtime_ns 1\npackets "
	                     "1\nepoch 1\nbogus 1\nend\n",
	                     "lawtap-iap-resume 2\nend\n", ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		FILE *f = fopen(path, "w");
		assert_non_null(f);
		fputs(bad[i], f);
		fclose(f);
		assert_int_equal(iap_resume_load(path, &back, err, sizeof err), -1);
		assert_non_null(strstr(err, "state"));
	}
	unlink(path);
	iap_seqmap_clear(&st.seq);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_memory_only),
	    cmocka_unit_test_setup_teardown(test_disk_overflow_order, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_push_take, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_disk_full, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_disk_corrupt, setup_dir, teardown_dir),
	    cmocka_unit_test(test_record_parse),
	    cmocka_unit_test_setup_teardown(test_seqmap_and_resume, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
