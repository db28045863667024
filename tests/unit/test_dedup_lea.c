/* Unit tests for the per-LEA de-duplication marks (mediation/dedup.c, mediation/records.c,
 * docs/delivery.md): a record goes into one spool per LEA of its warrant, and one of those
 * writes can fail while another succeeds. The IAP then resends the record (the connection is
 * dropped unacknowledged); the resend must reach the LEA whose write failed, exactly once and
 * with that LEA's next number, and must not reach the other LEA a second time.
 *
 * A real mediator context (store, spools, handovers never started) with fsync "always", two
 * LEAs (leaA, leaB), a warrant of both (LIID-AB, provisioned) and a warrant of leaA alone
 * (LIID-A, from the config). The spool write of one LEA is made to fail for real, on the
 * spool's own write path: LIID-A's records first make leaA's HI3 segment file larger than
 * leaB's; then the process's file size limit (RLIMIT_FSIZE, soft) is set to the size of
 * leaA's segment, with SIGXFSZ ignored, so the kernel refuses leaA's next write with EFBIG
 * (the spool cuts the file back and ho_enqueue says HO_E_IO) while leaB's segment, smaller by
 * more than a record, still takes one. With fsync "always" every record is written (and
 * synced) when it is spooled, so the failure shows at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "handover/spool.h"
#include "lib/timeutil.h"
#include "lib/tls.h"
#include "lib/x2x3.h"
#include "mediation/codec/pspdu.h"
#include "mediation/med_int.h"
#include "med_fixture.h"

#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/lawtap-test-dedup-lea-XXXXXX";
static char state_dir[256];
static struct med_config cfg;
static struct med_ctx *m;
static struct med_warrant *wa, *wab; /* LIID-A (leaA), LIID-AB (leaA, leaB) */
static uint8_t scratch[MED_PSPDU_MAX], pkt[1500];
static int64_t now_s;
static struct med_run run;

static struct med_warrant *warrant(const char *liid)
{
	for (size_t i = 0; i < m->nw; i++)
		if (strcmp(m->w[i]->conf->liid, liid) == 0)
			return m->w[i];
	return NULL;
}

static int setup(void **state)
{
	(void)state;
	if (med_fixture_new("test_dedup_lea", dir, "  fsync: always\n",
	                    "leas:\n"
	                    "  - { id: leaA, country: DE, hi2: 127.0.0.1:9, hi3: 127.0.0.1:9 }\n"
	                    "  - { id: leaB, country: FR, hi2: 127.0.0.1:9, hi3: 127.0.0.1:9 }\n"
	                    "warrants:\n"
	                    "  - liid: LIID-A\n"
	                    "    country: NL\n"
	                    "    lea: leaA\n"
	                    "    mode: full\n"
	                    "    start: 2020-01-01T00:00:00Z\n"
	                    "    end: 2099-01-01T00:00:00Z\n"
	                    "    targets: [10.0.0.1]\n",
	                    &cfg, &m) != 0)
		return -1;
	snprintf(state_dir, sizeof state_dir, "%s/state", dir);
	/* LIID-AB: LIID-A's definition towards both LEAs */
	struct med_wdef d;
	memset(&d, 0, sizeof d);
	if (m->nw != 1 || med_wdef_copy(&d, &m->w[0]->def) != 0)
		return -1;
	snprintf(d.c.liid, sizeof d.c.liid, "LIID-AB");
	d.c.liid_len = strlen(d.c.liid);
	d.nleas = 2;
	snprintf(d.leas[0], sizeof d.leas[0], "leaA");
	snprintf(d.leas[1], sizeof d.leas[1], "leaB");
	d.cin = 0;
	struct med_jerr e;
	memset(&e, 0, sizeof e);
	int rc = med_prov_warrant_add(m, "test", &d, &e);
	med_wdef_clear(&d);
	if (rc != 0) {
		fprintf(stderr, "test_dedup_lea: warrant: %d %s (%s)\n", e.status, e.msg, e.field);
		return -1;
	}
	uint32_t ns;
	lt_wallclock(&now_s, &ns);
	med_warrants_tick(m, now_s);
	wa = warrant("LIID-A");
	wab = warrant("LIID-AB");
	if (!wa || !wab || wab->nlea != 2 || wa->state != MED_W_ACTIVE ||
	    wab->state != MED_W_ACTIVE)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	med_free(m);
	med_config_clear(&cfg);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* One X3 record of warrant w (an IPv4 packet of 60 bytes from the target), IAP iap1, run
 * epoch 1, IAP sequence number seq. */
static struct lt_x2x3_pdu x3(const struct med_warrant *w, uint32_t seq)
{
	memset(pkt, 0, 60);
	pkt[0] = 0x45;
	pkt[3] = 60;
	memcpy(pkt + 12, (uint8_t[]){10, 0, 0, 1}, 4);
	memcpy(pkt + 16, (uint8_t[]){192, 0, 2, (uint8_t)seq}, 4);
	struct lt_x2x3_pdu p;
	memset(&p, 0, sizeof p);
	p.type = LT_X3;
	p.format = LT_PF_IPV4;
	p.direction = LT_DIR_FROM_TARGET;
	memcpy(p.xid, w->xid, 16);
	p.correlation = w->cin;
	p.has_seq = 1;
	p.seq = seq;
	p.has_ts = 1;
	p.ts_sec = (uint32_t)now_s;
	p.has_epoch = 1;
	p.epoch = 1;
	p.payload = pkt;
	p.payload_len = 60;
	return p;
}

static int record_in(const struct med_warrant *w, uint32_t seq)
{
	struct lt_x2x3_pdu p = x3(w, seq);
	return med_record_in(m, &p, "iap1", scratch, sizeof scratch, &run);
}

/* The one segment file of a spool (<state_dir>/spool/<lea>/<hi>): its path, and its size. */
static long long seg_file(const char *lea, const char *hi, char *path, size_t len)
{
	char d[512];
	snprintf(d, sizeof d, "%s/spool/%s/%s", state_dir, lea, hi);
	DIR *dp = opendir(d);
	if (!dp)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(dp))) {
		size_t l = strlen(de->d_name);
		if (l > 4 && strcmp(de->d_name + l - 4, ".seg") == 0) {
			snprintf(path, len, "%s/%s", d, de->d_name);
			n++;
		}
	}
	closedir(dp);
	struct stat st;
	if (n != 1 || stat(path, &st) != 0)
		return -1;
	return (long long)st.st_size;
}

/* The records of LIID liid in an LEA's HI3 spool, in file order: the IAP sequence number kept
 * with each (its de-duplication key) and the PSHeader sequence number. Returns the count. */
static size_t spooled(const char *lea, const char *liid, uint32_t *iap_seq, uint32_t *ps_seq,
                      size_t cap)
{
	char path[1024];
	long long size = seg_file(lea, "hi3", path, sizeof path);
	assert_true(size >= 0);
	uint8_t *buf = malloc((size_t)size + 1);
	assert_non_null(buf);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	size_t n = 0, off = 0, reclen;
	struct ho_spool_key k;
	const char *why;
	while (ho_spool_rec_check(buf + off, (size_t)size - off, &reclen, &k, &why) == 0) {
		struct med_record rec;
		char err[128];
		int rc = med_decode(buf + off + HO_SPOOL_HDR, reclen - HO_SPOOL_HDR, &rec, err,
		                    sizeof err);
		int mine = rc == 0 && rec.kind == MED_REC_CC && rec.hdr.liid_len == strlen(liid) &&
		           memcmp(rec.hdr.liid, liid, rec.hdr.liid_len) == 0;
		uint32_t seq = rec.hdr.seq;
		med_record_clear(&rec);
		assert_int_equal(rc, 0);
		if (mine) {
			assert_true(n < cap);
			assert_int_equal(k.has, 1);
			iap_seq[n] = k.seq;
			ps_seq[n] = seq;
			n++;
		}
		off += reclen;
	}
	assert_int_equal(off, (size_t)size); /* every byte of the file is a whole record */
	free(buf);
	return n;
}

static int seen(const struct med_warrant *w, uint32_t seq, const char *lea)
{
	struct ho_spool_key k;
	memset(&k, 0, sizeof k);
	k.has = 1;
	strcpy(k.iap, "iap1");
	k.epoch = 1;
	memcpy(k.xid, w->xid, 16);
	k.seq = seq;
	return med_dedup_seen_lea(m->dedup, &k, lea);
}

/* leaA's spool write of LIID-AB's record 1 fails, leaB's succeeds; the IAP's resend of it goes
 * to leaA alone, with leaA's next number; both LEAs end with records 0, 1, 2 numbered 0, 1, 2.
 * (Before the marks were per LEA, the resend was dropped as a duplicate for both: leaA never
 * got record 1 and numbered record 2 as 1.) */
static void test_one_lea_write_fails(void **state)
{
	(void)state;
	for (uint32_t i = 0; i < 20; i++) /* leaA's HI3 segment grows, leaB's does not */
		assert_int_equal(record_in(wa, i), 0);
	med_run_end(&run);
	uint64_t d0 = atomic_load(&m->duplicates);
	assert_int_equal(record_in(wab, 0), 0);
	med_run_end(&run);
	char pa[1024], pb[1024];
	long long sa = seg_file("leaA", "hi3", pa, sizeof pa);
	long long sb = seg_file("leaB", "hi3", pb, sizeof pb);
	/* leaB's next record (a header and a PS-PDU of well under 1 KiB) stays under the limit */
	assert_true(sb > 0 && sa > sb + 1024);

	struct rlimit old, lim;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	assert_true(old.rlim_max == RLIM_INFINITY || old.rlim_max >= (rlim_t)sa);
	lim = old;
	lim.rlim_cur = (rlim_t)sa;
	void (*oldsig)(int) = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	int rc = record_in(wab, 1);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);
	assert_int_equal(rc, -1); /* not durable everywhere: the connection is dropped */
	assert_null(run.w);       /* the run is ended */
	assert_int_equal(seg_file("leaA", "hi3", pa, sizeof pa), sa); /* cut back */
	assert_int_equal(wab->lea[0].seq[HO_HI3], 1);                 /* leaA: no number used */
	assert_int_equal(wab->lea[1].seq[HO_HI3], 2);
	assert_int_equal(seen(wab, 1, "leaA"), 0);
	assert_int_equal(seen(wab, 1, "leaB"), 1);

	/* The IAP reconnects and resends from record 0 (its last acknowledged one was before). */
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(record_in(wab, i), 0);
	med_run_end(&run);
	uint32_t iap[32], ps[32];
	for (int round = 0; round < 2; round++) {
		for (int l = 0; l < 2; l++) {
			size_t n = spooled(l ? "leaB" : "leaA", "LIID-AB", iap, ps, 32);
			assert_int_equal(n, 3);
			for (uint32_t i = 0; i < 3; i++) {
				assert_int_equal(iap[i], i); /* each record once, in order */
				assert_int_equal(ps[i], i);  /* contiguous numbering per LEA */
			}
		}
		assert_int_equal(wab->lea[0].seq[HO_HI3], 3);
		assert_int_equal(wab->lea[1].seq[HO_HI3], 3);
		/* record 0 was a duplicate for both; in round 1 all three */
		assert_int_equal(atomic_load(&m->duplicates) - d0, round ? 4 : 1);
		if (round == 0) { /* once more, as after a second reconnect */
			for (uint32_t i = 0; i < 3; i++)
				assert_int_equal(record_in(wab, i), 0);
			med_run_end(&run);
		}
	}
	/* LIID-A's records are untouched by all this */
	assert_int_equal(spooled("leaA", "LIID-A", iap, ps, 32), 20);
	for (uint32_t i = 0; i < 20; i++)
		assert_true(iap[i] == i && ps[i] == i);

	/* Record 3 fails for leaA again and is left without a resend (for the rebuild test). */
	struct rlimit lim2 = old;
	lim2.rlim_cur = (rlim_t)seg_file("leaA", "hi3", pa, sizeof pa);
	oldsig = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim2), 0);
	rc = record_in(wab, 3);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, oldsig);
	assert_int_equal(rc, -1);
	assert_int_equal(seen(wab, 3, "leaA"), 0);
	assert_int_equal(seen(wab, 3, "leaB"), 1);
}

/* At start the marks are rebuilt from the keys kept in the spools, per LEA: the spools of a
 * site made by med_delivery_site_lea raise that LEA's marks only. The handovers are opened as
 * the mediator opens them (ho_new on the spool directories left by the test above, after the
 * mediator closed them). */
static void test_rebuild_per_lea(void **state)
{
	(void)state;
	med_run_end(&run);
	med_free(m);
	m = NULL;
	char path[600];
	snprintf(path, sizeof path, "%s/dedup", state_dir);
	assert_int_equal(access(path, F_OK), -1); /* no saved marks: the spools alone */
	struct med_ctx mm;
	memset(&mm, 0, sizeof mm);
	mm.cfg = &cfg;
	mm.dedup = med_dedup_new(state_dir);
	assert_non_null(mm.dedup);
	struct lt_tls_conf tc = {cfg.tls_ca, cfg.tls_cert, cfg.tls_key, NULL};
	char err[512];
	SSL_CTX *ctx = lt_tls_ctx_new(&tc, 0, err, sizeof err);
	assert_non_null(ctx);
	const char *ids[2] = {"leaA", "leaB"};
	for (int l = 0; l < 2; l++) {
		struct ho_site site;
		memset(&site, 0, sizeof site);
		snprintf(site.operator_id, sizeof site.operator_id, "lawtap-op");
		med_delivery_site_lea(&mm, &site, ids[l]);
		struct ho_lea_conf hc;
		memset(&hc, 0, sizeof hc);
		snprintf(hc.id, sizeof hc.id, "%s", ids[l]);
		snprintf(hc.country, sizeof hc.country, "DE");
		snprintf(hc.addr[HO_HI2], sizeof hc.addr[HO_HI2], "127.0.0.1:9");
		snprintf(hc.addr[HO_HI3], sizeof hc.addr[HO_HI3], "127.0.0.1:9");
		struct ho_ctx *ho = ho_new(ctx, &site, &hc, 1, err, sizeof err);
		assert_non_null(ho);
		ho_free(ho);
	}
	lt_tls_ctx_free(ctx);
	struct ho_spool_key k;
	memset(&k, 0, sizeof k);
	k.has = 1;
	strcpy(k.iap, "iap1");
	k.epoch = 1;
	med_xid_for("NL", "LIID-AB", 7, k.xid);
	k.seq = 2;
	assert_int_equal(med_dedup_seen_lea(mm.dedup, &k, "leaA"), 1);
	assert_int_equal(med_dedup_seen_lea(mm.dedup, &k, "leaB"), 1);
	k.seq = 3;
	assert_int_equal(med_dedup_seen_lea(mm.dedup, &k, "leaA"), 0); /* its resend goes in */
	assert_int_equal(med_dedup_seen_lea(mm.dedup, &k, "leaB"), 1);
	assert_int_equal(med_dedup_seen(mm.dedup, &k), 0); /* no mark for every LEA */
	k.seq = 4;
	assert_int_equal(med_dedup_seen_lea(mm.dedup, &k, "leaB"), 0);
	med_xid_for("NL", "LIID-A", 6, k.xid);
	k.seq = 19;
	assert_int_equal(med_dedup_seen_lea(mm.dedup, &k, "leaA"), 1);
	assert_int_equal(med_dedup_seen_lea(mm.dedup, &k, "leaB"), 0);
	med_dedup_free(mm.dedup);
}

/* Writes a dedup file of the format before per-LEA marks ("LTD1"): one mark. */
static void write_v1(const char *path, const uint8_t xid[16], uint64_t epoch, uint32_t max)
{
	uint8_t b[8 + 45 + 4], *p = b; /* magic, count, one mark, CRC */
	memset(b, 0, sizeof b);
	const uint32_t hdr[2] = {0x4c544431u, 1};
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 4; j++)
			*p++ = (uint8_t)(hdr[i] >> (24 - 8 * j));
	*p++ = 4;
	memcpy(p, "iap1", 4);
	p += 16;
	for (int j = 0; j < 8; j++)
		*p++ = (uint8_t)(epoch >> (56 - 8 * j));
	memcpy(p, xid, 16);
	p += 16;
	for (int j = 0; j < 4; j++)
		*p++ = (uint8_t)(max >> (24 - 8 * j));
	uint32_t crc = ho_crc32c(0, b, (size_t)(p - b));
	for (int j = 0; j < 4; j++)
		*p++ = (uint8_t)(crc >> (24 - 8 * j));
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b, 1, sizeof b, f), sizeof b);
	fclose(f);
}

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* An older mediator's dedup file (no LEA in its marks) is read after an upgrade: its marks
 * hold for every LEA of the XID. The next save writes the new format, read back the same; a
 * damaged new file is ignored. */
static void test_old_file(void **state)
{
	(void)state;
	char d[] = "/tmp/lawtap-test-dedup-v1-XXXXXX", path[128];
	assert_non_null(mkdtemp(d));
	snprintf(path, sizeof path, "%s/dedup", d);
	uint8_t xid[16];
	memset(xid, 0x5a, 16);
	write_v1(path, xid, 5, 7);
	struct med_dedup *dd = med_dedup_new(d);
	assert_non_null(dd);
	struct ho_spool_key k;
	memset(&k, 0, sizeof k);
	k.has = 1;
	strcpy(k.iap, "iap1");
	k.epoch = 5;
	memcpy(k.xid, xid, 16);
	for (int round = 0; round < 2; round++) {
		k.seq = 7;
		assert_int_equal(med_dedup_seen_lea(dd, &k, "leaA"), 1);
		assert_int_equal(med_dedup_seen_lea(dd, &k, "leaB"), 1);
		assert_int_equal(med_dedup_seen_lea(dd, &k, "never-seen"), 1);
		assert_int_equal(med_dedup_seen(dd, &k), 1);
		k.seq = 8; /* leaA's mark of round 0 is above it in round 1 */
		assert_int_equal(med_dedup_seen_lea(dd, &k, "leaA"), round);
		assert_int_equal(med_dedup_seen_lea(dd, &k, "leaB"), 0);
		assert_int_equal(med_dedup_seen(dd, &k), 0);
		if (round == 0) {
			k.seq = 9; /* leaA has 8 and 9 now */
			med_dedup_note_lea(dd, &k, "leaA");
		}
		k.seq = 9;
		assert_int_equal(med_dedup_seen_lea(dd, &k, "leaA"), 1);
		assert_int_equal(med_dedup_seen_lea(dd, &k, "leaB"), 0);
		uint32_t max = 0;
		assert_int_equal(med_dedup_mark_lea(dd, &k, "leaB", &max), 1);
		assert_int_equal(max, 7);
		assert_int_equal(med_dedup_mark_lea(dd, &k, "leaA", &max), 1);
		assert_int_equal(max, 9);
		assert_int_equal(med_dedup_mark(dd, &k, &max), 1);
		assert_int_equal(max, 7);
		const char *leas[3] = {"leaB", "leaA", NULL};
		uint32_t maxs[3];
		assert_int_equal(med_dedup_marks(dd, &k, leas, 3, maxs), 7);
		assert_int_equal(maxs[0], 7);
		assert_int_equal(maxs[1], 9);
		assert_int_equal(maxs[2], 7);
		if (round == 0) { /* saved in the new format, then read back */
			med_dedup_save(dd);
			med_dedup_free(dd);
			/* magic, count, 2 x (iap id, LEA id, epoch, XID, mark), CRC */
			assert_int_equal(file_size(path), 12 + 2 * (1 + 16 + 1 + 32 + 8 + 16 + 4));
			dd = med_dedup_new(d);
			assert_non_null(dd);
		}
	}
	med_dedup_free(dd);
	/* a damaged file of the new format is ignored as a whole */
	FILE *f = fopen(path, "r+b");
	assert_non_null(f);
	assert_int_equal(fseek(f, 30, SEEK_SET), 0);
	fputc('X', f);
	fclose(f);
	dd = med_dedup_new(d);
	k.seq = 7;
	assert_int_equal(med_dedup_seen_lea(dd, &k, "leaA"), 0);
	med_dedup_free(dd);
	unlink(path);
	rmdir(d);
}

static void test_restart(void **state)
{
	(void)state;
	char err[512];
	m = med_new(&cfg, NULL, err, sizeof err);
	assert_non_null(m);
	uint32_t ns;
	lt_wallclock(&now_s, &ns);
	med_warrants_tick(m, now_s);
	wa = warrant("LIID-A");
	wab = warrant("LIID-AB");
	assert_non_null(wab);
	assert_int_equal(wab->nlea, 2);
	uint64_t d0 = atomic_load(&m->duplicates);
	for (uint32_t i = 0; i < 5; i++)
		assert_int_equal(record_in(wab, i), 0);
	med_run_end(&run);
	assert_int_equal(atomic_load(&m->duplicates) - d0, 3);
	uint32_t iap[32], ps[32];
	size_t n = spooled("leaA", "LIID-AB", iap, ps, 32);
	assert_int_equal(n, 5);
	for (uint32_t i = 0; i < 5; i++)
		assert_int_equal(iap[i], i);
	n = spooled("leaB", "LIID-AB", iap, ps, 32);
	assert_int_equal(n, 5);
	for (uint32_t i = 0; i < 5; i++)
		assert_int_equal(iap[i], i);
}

static int end_run(void **state)
{
	(void)state;
	med_run_end(&run);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_one_lea_write_fails, end_run),
	    cmocka_unit_test(test_rebuild_per_lea),
	    cmocka_unit_test(test_old_file),
	    cmocka_unit_test_teardown(test_restart, end_run),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
