/* iap/filter.c: per-task BPF filters (iap/filter.h). Compiled with pcap_open_dead(DLT_RAW) and
 * run with pcap_offline_filter on the IP packet, so one program serves every capture link type
 * (the link layer is already stripped by iap_link_decode). The mediator validated the same
 * expression the same way before it tasked it. */
#include "filter.h"

#include "lib/log.h"

#include <pcap/pcap.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_MAX 64

struct entry {
	char *expr;
	struct bpf_program prog;
	int ok;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct entry cache[CACHE_MAX];
static size_t ncache;

static void clear_locked(void)
{
	for (size_t i = 0; i < ncache; i++) {
		if (cache[i].ok)
			pcap_freecode(&cache[i].prog);
		free(cache[i].expr);
	}
	ncache = 0;
}

static struct entry *lookup_locked(const char *expr)
{
	for (size_t i = 0; i < ncache; i++)
		if (strcmp(cache[i].expr, expr) == 0)
			return &cache[i];
	if (ncache == CACHE_MAX)
		clear_locked(); /* more distinct filters than tasks usually carry: start over */
	struct entry *e = &cache[ncache];
	memset(e, 0, sizeof *e);
	e->expr = strdup(expr);
	if (!e->expr)
		return NULL;
	pcap_t *p = pcap_open_dead(DLT_RAW, 262144);
	if (p && pcap_compile(p, &e->prog, expr, 1, PCAP_NETMASK_UNKNOWN) == 0)
		e->ok = 1;
	else
		lt_err("task filter \"%.80s\" does not compile (%s): the task delivers nothing",
		       expr, p ? pcap_geterr(p) : "pcap_open_dead failed");
	if (p)
		pcap_close(p);
	ncache++;
	return e;
}

int iap_filter_pass(const char *expr, const uint8_t *pkt, size_t len)
{
	struct pcap_pkthdr h;
	memset(&h, 0, sizeof h);
	h.caplen = h.len = (bpf_u_int32)len;
	pthread_mutex_lock(&mu);
	struct entry *e = lookup_locked(expr);
	int pass = e && e->ok && pcap_offline_filter(&e->prog, &h, pkt) != 0;
	pthread_mutex_unlock(&mu);
	return pass;
}

void iap_filter_cleanup(void)
{
	pthread_mutex_lock(&mu);
	clear_locked();
	pthread_mutex_unlock(&mu);
}
