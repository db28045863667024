/* iap/process.c: one captured frame -> link layer -> match -> X2/X3 per matched task. */
#include "iap.h"
#include "filter.h"

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
	/* Sequence numbers run per XID across snapshots; an XID new to this run continues from
	 * the resume state, so resent PDUs keep their keys. */
	iap_targets_inherit(t, c->targets);
	if (c->seed)
		for (size_t i = 0; i < n; i++) {
			const struct lt_task *task = iap_targets_task(t, i);
			int64_t next = iap_seqmap_get(c->seed, task->xid);
			if (next >= 0 && iap_targets_find(c->targets, task->xid) < 0)
				iap_targets_set_seq(t, i, (uint32_t)next);
		}
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

int64_t iap_frame_ns(const struct iap_ctx *c, const struct pcap_pkthdr *h)
{
	int64_t frac = (int64_t)h->ts.tv_usec * (c->ts_nano ? 1 : 1000);
	if (frac > 999999999)
		frac = 999999999;
	return (int64_t)h->ts.tv_sec * 1000000000 + frac;
}

static int process(struct iap_ctx *c, const struct pcap_pkthdr *h, const uint8_t *frame,
                   const struct iap_ip *ip, const struct iap_lookup *l);

int iap_process_frame(struct iap_ctx *c, const struct pcap_pkthdr *h, const uint8_t *frame)
{
	struct iap_ip ip;
	c->pkt++;
	c->stats->packets_read++;
	if (!iap_link_fast_ether_v4(c->linktype, frame, h->caplen, &ip)) {
		int rc = iap_link_decode(c->linktype, frame, h->caplen, &ip);
		if (rc != IAP_LINK_OK) {
			if (rc == IAP_LINK_SHORT)
				c->stats->truncated++;
			else
				c->stats->skipped_non_ip++;
			iap_uplink_skip_packet(c->uplink, c->pkt);
			return 0;
		}
	}
	if (ip.cut)
		c->stats->truncated++;
	if (c->rebase && !c->rebase_set && c->targets) {
		/* --pace: the first IP packet's time becomes the start time (see process). */
		c->base_pkt_ns = iap_frame_ns(c, h);
		c->rebase_set = 1;
	}
	/* iap_link_decode checked that the whole fixed IP header is there (IPv4: 20 bytes, IPv6:
	 * 40), so the addresses can be looked up before anything else is read: a packet no target
	 * covers costs the link decode and two trie lookups. A covered one is matched from the
	 * same lookups. */
	const uint8_t *iph = frame + ip.off;
	struct iap_lookup l;
	if (!c->targets ||
	    !iap_targets_lookup(c->targets, ip.family, ip.family == 4 ? iph + 12 : iph + 8,
	                        ip.family == 4 ? iph + 16 : iph + 24, &l)) {
		iap_uplink_skip_packet(c->uplink, c->pkt);
		return 0;
	}
	iap_uplink_begin_packet(c->uplink, c->pkt);
	int rc = process(c, h, frame, &ip, &l);
	iap_uplink_end_packet(c->uplink);
	return rc;
}

/* A packet some target covers: time, match, and the X2/X3 PDUs. The header facts (ports,
 * protocol) are read only for an X2 PDU; X3 needs the family and the packet, known already. */
static int process(struct iap_ctx *c, const struct pcap_pkthdr *h, const uint8_t *frame,
                   const struct iap_ip *ipp, const struct iap_lookup *l)
{
	struct iap_ip ip = *ipp;
	struct iap_pkt_facts f;
	int have_facts = 0;
	const uint8_t *iph = frame + ip.off;
	int rc;
	/* Time of interception: the capture's stamp (ns or µs as the handle delivers). */
	int64_t ns = iap_frame_ns(c, h);
	if (c->rebase) {
		/* --pace: the first packet's time becomes the start time (TS 103 221-2 attribute
		 * 9 then carries the rebased time, and task windows apply to it). */
		ns = c->base_wall_ns + (int64_t)((double)(ns - c->base_pkt_ns) / c->speed);
	}
	int64_t sec = ns / 1000000000;
	uint32_t nsec = (uint32_t)(ns % 1000000000);
	size_t n = iap_targets_match_lookup(c->targets, l, sec, c->scratch);
	if (n)
		c->stats->matched++;
	for (size_t i = 0; i < n; i++) {
		const struct lt_task *task = iap_targets_task(c->targets, c->scratch[i].task);
		if (task->filter && !iap_filter_pass(task->filter, iph, ip.len))
			continue; /* the task's filter narrows the match (iap/filter.h) */
		if (task->mode == LT_TASK_IRI_ONLY && !have_facts) {
			if (iap_ip_facts(iph, ip.len, &f) != IAP_LINK_OK) {
				/* not reached: iap_link_decode checked the fixed header */
				c->stats->skipped_non_ip++;
				return 0;
			}
			have_facts = 1;
		}
		uint32_t seq = iap_targets_next_seq(c->targets, c->scratch[i].task);
		int dir = c->scratch[i].direction;
		if (task->mode == LT_TASK_IRI_ONLY)
			rc = iap_uplink_x2(c->uplink, task, seq, dir, (uint32_t)sec, nsec, &f);
		else
			rc = iap_uplink_x3(c->uplink, task, seq, dir, ip.family, (uint32_t)sec,
			                   nsec, iph, ip.len);
		if (rc != 0)
			return -1;
	}
	return 0;
}
