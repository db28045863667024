/* Unit tests for handover/keepalive.c (internals: handover/ho_int.h); the spool and the
 * handover's use of it are in test_spool.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "handover/ho_int.h"
#include "handover/spool.h"
#include "mediation/codec/pspdu.h"
#include "mediation/med_int.h"

#include <unistd.h>

/* A keep-alive PS-PDU with sequence number seq: a real, framable record of a few dozen bytes. */
static size_t make_record(uint32_t seq, int response, uint8_t *out, size_t cap)
{
	struct med_header h;
	memset(&h, 0, sizeof h);
	memcpy(h.liid, "L1", 2);
	h.liid_len = 2;
	strcpy(h.operator_id, "op");
	h.has_cin = 1;
	h.cin = 7;
	h.seq = seq;
	h.ts_sec = 1795000000;
	h.ts_form = MED_TS_MICRO;
	h.ts_qual = MED_TSQ_NONE;
	long n = med_encode_keepalive(&h, response, out, cap);
	assert_true(n > 0);
	return (size_t)n;
}

static void test_ka_check(void **state)
{
	(void)state;
	uint8_t rec[256];
	char why[256];
	size_t n = make_record(5, 1, rec, sizeof rec);
	assert_int_equal(ho_ka_check(rec, n, 1, 5, why, sizeof why), 0);
	assert_int_equal(ho_ka_check(rec, n, 1, 6, why, sizeof why), -1);
	assert_non_null(strstr(why, "seq 5, expected 6"));
	assert_int_equal(ho_ka_check(rec, n, 0, 5, why, sizeof why), -1);
	assert_non_null(strstr(why, "without a keep-alive outstanding"));
	n = make_record(5, 0, rec, sizeof rec); /* a keep-alive, not a response */
	assert_int_equal(ho_ka_check(rec, n, 1, 5, why, sizeof why), -1);
	assert_non_null(strstr(why, "unexpected data"));
}

/* mediation/dedup.c: one high-water mark per (IAP id, run epoch, XID); saved and reloaded. */
static void test_dedup(void **state)
{
	(void)state;
	char dir[] = "/tmp/lawtap-test-dedup-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct med_dedup *d = med_dedup_new(dir);
	assert_non_null(d);
	struct ho_spool_key k;
	memset(&k, 0, sizeof k);
	k.has = 1;
	snprintf(k.iap, sizeof k.iap, "iap1");
	k.epoch = 42;
	memset(k.xid, 1, 16);
	k.seq = 10;
	assert_int_equal(med_dedup_seen(d, &k), 0);
	med_dedup_note(d, &k);
	assert_int_equal(med_dedup_seen(d, &k), 1);
	k.seq = 3;
	assert_int_equal(med_dedup_seen(d, &k), 1); /* a resend of an older one */
	k.seq = 11;
	assert_int_equal(med_dedup_seen(d, &k), 0);
	k.seq = 10;
	k.epoch = 43; /* another run of the IAP numbers from 0 again */
	assert_int_equal(med_dedup_seen(d, &k), 0);
	k.epoch = 42;
	snprintf(k.iap, sizeof k.iap, "iap2");
	assert_int_equal(med_dedup_seen(d, &k), 0);
	k.has = 0; /* records without a key are never duplicates */
	assert_int_equal(med_dedup_seen(d, &k), 0);
	/* saved before segment deletion, reloaded at start */
	med_dedup_save(d);
	med_dedup_free(d);
	d = med_dedup_new(dir);
	k.has = 1;
	snprintf(k.iap, sizeof k.iap, "iap1");
	k.seq = 10;
	assert_int_equal(med_dedup_seen(d, &k), 1);
	k.seq = 11;
	assert_int_equal(med_dedup_seen(d, &k), 0);
	/* the spool's key callback raises the marks */
	med_dedup_key_fn(d, &k);
	assert_int_equal(med_dedup_seen(d, &k), 1);
	med_dedup_free(d);
	/* a corrupt file is ignored */
	char path[64];
	snprintf(path, sizeof path, "%s/dedup", dir);
	FILE *f = fopen(path, "r+");
	assert_non_null(f);
	fputc('X', f);
	fclose(f);
	d = med_dedup_new(dir);
	assert_int_equal(med_dedup_seen(d, &k), 0);
	med_dedup_free(d);
	unlink(path);
	rmdir(dir);
}

/* mediation/config.c: the delivery keys (docs/delivery.md). */
static void test_delivery_config(void **state)
{
	(void)state;
	static const char head[] = "mediator:\n"
	                           "  x2x3_listen: 127.0.0.1:9000\n"
	                           "  tasking_listen: 127.0.0.1:9001\n"
	                           "  operator_id: op\n"
	                           "  state_dir: state\n"
	                           "  tls: { ca: ca.pem, cert: m.pem, key: m.key }\n";
	static const char lea[] = "leas:\n"
	                          "  - id: lea1\n"
	                          "    country: NL\n"
	                          "    hi2: 127.0.0.1:9102\n"
	                          "    hi3: 127.0.0.1:9103\n";
	char buf[2048], err[512];
	struct med_config cfg;
	memset(&cfg, 0, sizeof cfg);
	snprintf(buf, sizeof buf, "%s%s", head, lea);
	if (med_config_load_mem("t.yaml", buf, strlen(buf), &cfg, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_true(cfg.spool_max_bytes == (uint64_t)1 << 30);
	assert_int_equal(cfg.fsync, HO_FSYNC_BATCH);
	assert_int_equal(cfg.leas[0].ack_mode, HO_ACK_KEEPALIVE);
	assert_int_equal(cfg.leas[0].resend_window, 1000);
	med_config_clear(&cfg);
	snprintf(buf, sizeof buf,
	         "%s  spool_max_bytes: 8388608\n  fsync: always\n  cin_roll_at: 10\n%s"
	         "    ack_mode: window\n    resend_window: 50\n",
	         head, lea);
	if (med_config_load_mem("t.yaml", buf, strlen(buf), &cfg, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_true(cfg.spool_max_bytes == 8388608);
	assert_int_equal(cfg.fsync, HO_FSYNC_ALWAYS);
	assert_int_equal(cfg.cin_roll_at, 10);
	assert_int_equal(cfg.leas[0].ack_mode, HO_ACK_WINDOW);
	assert_int_equal(cfg.leas[0].resend_window, 50);
	med_config_clear(&cfg);
	snprintf(buf, sizeof buf, "%s%s    ack_mode: pdu-ack\n    pdu_ack_strict: 1\n", head, lea);
	if (med_config_load_mem("t.yaml", buf, strlen(buf), &cfg, err, sizeof err) != 0)
		fail_msg("%s", err);
	assert_int_equal(cfg.leas[0].ack_mode, HO_ACK_PDU);
	assert_int_equal(cfg.leas[0].pdu_ack_strict, 1);
	med_config_clear(&cfg);
	snprintf(buf, sizeof buf, "%s  fsync: sometimes\n%s", head, lea);
	assert_int_equal(med_config_load_mem("t.yaml", buf, strlen(buf), &cfg, err, sizeof err),
	                 -1);
	assert_non_null(strstr(err, "fsync"));
	snprintf(buf, sizeof buf, "%s  spool_max_bytes: 1000\n%s", head, lea);
	assert_int_equal(med_config_load_mem("t.yaml", buf, strlen(buf), &cfg, err, sizeof err),
	                 -1);
}

/* The value of key in a "k=v k=v" line (up to the next blank), or "" when absent. */
static const char *kv(const char *line, const char *key, char *out, size_t cap)
{
	char pat[64];
	snprintf(pat, sizeof pat, " %s=", key);
	const char *p = strstr(line, pat);
	out[0] = '\0';
	if (!p)
		return out;
	p += strlen(pat);
	size_t n = strcspn(p, " \n");
	snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
	return out;
}

/* handover.c: the statistics of each ack mode (ho_get_stats, ho_print_stats): the
 * pdu-ack counters and the link's current ack mode, for a pdu-ack LEA the machine's mode as
 * the delivery thread publishes it (l->pa_mode). No thread runs here. */
static void test_ack_stats(void **state)
{
	(void)state;
	char dir[] = "/tmp/lawtap-test-hostats-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct ho_site site;
	memset(&site, 0, sizeof site);
	snprintf(site.operator_id, sizeof site.operator_id, "op");
	snprintf(site.spool_dir, sizeof site.spool_dir, "%s", dir);
	site.fsync = HO_FSYNC_NONE;
	struct ho_lea_conf leas[3];
	memset(leas, 0, sizeof leas);
	static const int modes[3] = {HO_ACK_KEEPALIVE, HO_ACK_WINDOW, HO_ACK_PDU};
	for (int i = 0; i < 3; i++) {
		snprintf(leas[i].id, sizeof leas[i].id, "lea%d", i + 1);
		memcpy(leas[i].country, "NL", 3);
		snprintf(leas[i].addr[0], sizeof leas[i].addr[0], "127.0.0.1:1");
		snprintf(leas[i].addr[1], sizeof leas[i].addr[1], "127.0.0.1:1");
		leas[i].keepalive_timeout = 5;
		leas[i].reconnect_max = 1;
		leas[i].ack_mode = modes[i];
		leas[i].resend_window = 10;
	}
	leas[2].pdu_ack_strict = 1;
	char err[512];
	struct ho_ctx *ho = ho_new(NULL, &site, leas, 3, err, sizeof err);
	if (!ho)
		fail_msg("%s", err);
	assert_int_equal(ho_count(ho), 6);
	static const char *const want[3] = {"keepalive", "window", "down"};
	struct ho_stats st;
	for (size_t i = 0; i < 6; i++) {
		assert_int_equal(ho_get_stats(ho, i, &st), 0);
		assert_string_equal(st.ack, want[i / 2]);
		assert_true(st.pdu_ack_requests == 0 && st.pdu_ack_responses == 0);
	}
	assert_int_equal(ho_get_stats(ho, 6, &st), -1);
	/* what deliver.c publishes for a pdu-ack link: the machine's mode and its counters */
	struct ho_link *l = ho_link_get(ho, 2, HO_HI3);
	static const struct {
		int mode;
		const char *name;
	} pm[] = {{HO_PA_NEGOTIATING, "negotiating"},
	          {HO_PA_ACTIVE, "pdu-ack"},
	          {HO_PA_KEEPALIVE, "keepalive"},
	          {HO_PA_FAILED, "down"},
	          {HO_PA_DOWN, "down"}};
	for (size_t i = 0; i < sizeof pm / sizeof pm[0]; i++) {
		l->pa_mode = pm[i].mode;
		assert_int_equal(ho_get_stats(ho, 5, &st), 0);
		assert_string_equal(st.ack, pm[i].name);
	}
	l->pa_mode = HO_PA_ACTIVE;
	l->pdu_ack_requests = 7;
	l->pdu_ack_responses = 6;
	assert_int_equal(ho_get_stats(ho, 5, &st), 0);
	assert_true(st.pdu_ack_requests == 7 && st.pdu_ack_responses == 6);
	assert_int_equal(ho_get_stats(ho, 4, &st), 0); /* the other HI of that LEA */
	assert_true(st.pdu_ack_requests == 0 && st.pdu_ack_responses == 0);
	assert_string_equal(st.ack, "down");
	/* the statistics lines (status file, exit statistics) carry the same values */
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	assert_non_null(f);
	ho_print_stats(ho, f);
	fclose(f);
	char line[6][512], v[64];
	const char *p = text;
	for (int i = 0; i < 6; i++) {
		size_t n = strcspn(p, "\n");
		assert_true(p[n] == '\n' && n < sizeof line[i]);
		snprintf(line[i], sizeof line[i], "%.*s", (int)n, p);
		p += n + 1;
	}
	assert_string_equal(p, ""); /* one line per handover */
	free(text);
	for (int i = 0; i < 6; i++) {
		char lea[16], hi[4];
		snprintf(lea, sizeof lea, "lea=lea%d ", i / 2 + 1);
		snprintf(hi, sizeof hi, "%d", i % 2 ? 3 : 2);
		assert_true(strncmp(line[i], lea, strlen(lea)) == 0);
		assert_string_equal(kv(line[i], "hi", v, sizeof v), hi);
		assert_string_equal(kv(line[i], "ack", v, sizeof v),
		                    i == 5 ? "pdu-ack" : want[i / 2]);
		assert_string_equal(kv(line[i], "pdu_ack_requests", v, sizeof v),
		                    i == 5 ? "7" : "0");
		assert_string_equal(kv(line[i], "pdu_ack_responses", v, sizeof v),
		                    i == 5 ? "6" : "0");
		assert_string_equal(kv(line[i], "keepalives", v, sizeof v), "0");
		assert_string_equal(kv(line[i], "spool_errors", v, sizeof v), "0");
	}
	ho_free(ho);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ka_check),
	    cmocka_unit_test(test_dedup),
	    cmocka_unit_test(test_delivery_config),
	    cmocka_unit_test(test_ack_stats),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
