/* iap/process.c: one captured frame -> link layer -> match -> X2/X3 per matched task. */
#include "iap.h"

#include "lib/x2x3.h"

#include <stdlib.h>

int iap_ctx_set_targets_take(struct iap_ctx *c, struct iap_targets *t)
{
	size_t n = iap_targets_ntasks(t);
	if (n > c->scratch_cap) {
		struct iap_match *m = realloc(c->scratch, n * sizeof *m);
		if (!m) {
			iap_targets_free(t);
			return -1;
		}
		c->scratch = m;
		c->scratch_cap = n;
	}
	/* Sequence numbers run per XID across snapshots. */
	iap_targets_inherit(t, c->targets);
	iap_targets_free(c->targets);
	c->targets = t;
	return 0;
}

void iap_ctx_clear(struct iap_ctx *c)
{
	iap_targets_free(c->targets);
	c->targets = NULL;
	free(c->scratch);
	c->scratch = NULL;
	c->scratch_cap = 0;
}

int iap_process_frame(struct iap_ctx *c, const struct pcap_pkthdr *h, const uint8_t *frame)
{
	struct iap_ip ip;
	struct iap_pkt_facts f;
	c->stats->packets_read++;
	int rc = iap_link_decode(c->linktype, frame, h->caplen, &ip);
	if (rc == IAP_LINK_OK)
		rc = iap_ip_facts(frame + ip.off, ip.len, &f);
	if (rc == IAP_LINK_SHORT) {
		c->stats->truncated++;
		return 0;
	}
	if (rc != IAP_LINK_OK) {
		c->stats->skipped_non_ip++;
		return 0;
	}
	if (ip.cut)
		c->stats->truncated++;
	if (!c->targets)
		return 0;
	/* Time of interception: the capture's stamp (ns or µs as the handle delivers). */
	int64_t sec = (int64_t)h->ts.tv_sec;
	uint32_t nsec = (uint32_t)h->ts.tv_usec * (c->ts_nano ? 1u : 1000u);
	if (nsec > 999999999u)
		nsec = 999999999u;
	size_t n = iap_targets_match(c->targets, f.family, f.src, f.dst, sec, c->scratch);
	if (n)
		c->stats->matched++;
	for (size_t i = 0; i < n; i++) {
		const struct lt_task *task = iap_targets_task(c->targets, c->scratch[i].task);
		uint32_t seq = iap_targets_next_seq(c->targets, c->scratch[i].task);
		int dir = c->scratch[i].direction;
		if (task->mode == LT_TASK_IRI_ONLY)
			rc = iap_uplink_x2(c->uplink, task, seq, dir, (uint32_t)sec, nsec, &f);
		else
			rc = iap_uplink_x3(c->uplink, task, seq, dir, ip.family, (uint32_t)sec,
			                   nsec, frame + ip.off, ip.len);
		if (rc != 0)
			return -1;
	}
	return 0;
}
