/* iap/pcapfile.c: a zero-copy reader for classic pcap files (iap.h, "capture files").
 *
 * libpcap reads a file record by record with fread: stdio copies the file into its buffer,
 * then each record header and packet again into libpcap's buffer, with a few calls per record.
 * For the common classic pcap format (version 2.4, either byte order, µs or ns time stamps)
 * this reader instead read()s the file in 1 MiB blocks and hands out pointers into the block:
 * one copy (the kernel's) and a 16-byte header parse per packet. (Mapping the file instead was
 * measured 2.5 times slower here: page-table work per window costs more than the copy.) libpcap
 * still opens the file (the header checks, link type and snapshot length are its own), and every
 * other format (pcapng, old versions, patched-header variants) is read by libpcap as before.
 * Records are untrusted input: each one is checked as libpcap checks it (sf-pcap.c
 * pcap_next_packet), with the same results and error texts; tests/unit/test_iap_pcapfile.c and the
 * differential fuzz target tests/fuzz/fuzz_iap_pcapfile.c compare the two on the same bytes. */
#include "iap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK (1u << 20)
#define REC_HDR 16
#define MAX_SNAPLEN 262144u /* libpcap's maximum for every link type lawtap-iap reads */

struct iap_pcapfile {
	int fd;
	uint64_t off; /* file offset of buf[end] */
	uint8_t *buf;
	size_t pos, end;
	int swapped, micro, eof;
	uint32_t snapshot;
	struct pcap_pkthdr hdr;
	char err[PCAP_ERRBUF_SIZE];
};

static uint32_t rd32(const uint8_t *p, int swapped)
{
	uint32_t le =
	    (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	return swapped ? __builtin_bswap32(le) : le;
}

static uint16_t rd16(const uint8_t *p, int swapped)
{
	uint16_t le = (uint16_t)(p[0] | p[1] << 8);
	return swapped ? __builtin_bswap16(le) : le;
}

struct iap_pcapfile *iap_pcapfile_open(pcap_t *p, int fd)
{
	uint8_t h[24];
	if (!p || fd < 0 || pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h)
		return NULL;
	/* This reader is written for a little-endian host (the byte order test below). */
	uint32_t magic = rd32(h, 0);
	int swapped, micro;
	if (magic == 0xa1b2c3d4u || magic == 0xa1b23c4du)
		swapped = 0;
	else if (magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u)
		swapped = 1;
	else
		return NULL; /* pcapng or a variant: libpcap reads it */
	micro = magic == 0xa1b2c3d4u || magic == 0xd4c3b2a1u;
	if (rd16(h + 4, swapped) != 2 || rd16(h + 6, swapped) != 4)
		return NULL; /* older versions have length quirks: libpcap reads them */
	if (pcap_get_tstamp_precision(p) != PCAP_TSTAMP_PRECISION_NANO || pcap_snapshot(p) <= 0 ||
	    pcap_is_swapped(p) != swapped)
		return NULL;
	struct iap_pcapfile *f = calloc(1, sizeof *f);
	if (!f || !(f->buf = malloc(BLOCK))) {
		free(f);
		return NULL;
	}
	f->fd = fd;
	f->off = 24;
	f->swapped = swapped;
	f->micro = micro;
	f->snapshot = (uint32_t)pcap_snapshot(p);
	return f;
}

void iap_pcapfile_close(struct iap_pcapfile *f)
{
	if (!f)
		return;
	free(f->buf);
	free(f);
}

const char *iap_pcapfile_geterr(const struct iap_pcapfile *f)
{
	return f->err;
}

/* Makes at least want bytes available from pos (want <= BLOCK), or as many as the file has.
 * The bytes available, or -1 on a read error (err set). */
static long fill(struct iap_pcapfile *f, size_t want)
{
	if (f->end - f->pos >= want)
		return (long)(f->end - f->pos);
	if (f->eof)
		return (long)(f->end - f->pos);
	if (f->pos > 0) {
		memmove(f->buf, f->buf + f->pos, f->end - f->pos);
		f->end -= f->pos;
		f->pos = 0;
	}
	while (f->end < want) {
		ssize_t n = pread(f->fd, f->buf + f->end, BLOCK - f->end, (off_t)f->off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(f->err, sizeof f->err, "error reading dump file: %s",
			         strerror(errno));
			return -1;
		}
		if (n == 0) {
			f->eof = 1;
			break;
		}
		f->end += (size_t)n;
		f->off += (uint64_t)n;
	}
	return (long)(f->end - f->pos);
}

int iap_pcapfile_next(struct iap_pcapfile *f, struct pcap_pkthdr **h, const u_char **data)
{
	long have = f->end - f->pos >= REC_HDR ? (long)(f->end - f->pos) : fill(f, REC_HDR);
	if (have < 0)
		return PCAP_ERROR;
	if (have == 0)
		return PCAP_ERROR_BREAK;
	if (have < REC_HDR) {
		snprintf(f->err, sizeof f->err,
		         "truncated dump file; tried to read %d header bytes, only got %ld",
		         REC_HDR, have);
		f->pos = f->end;
		return PCAP_ERROR;
	}
	const uint8_t *r = f->buf + f->pos;
	struct pcap_pkthdr *ph = &f->hdr;
	/* As libpcap 1.10.3 does (tests/unit/test_iap_pcapfile.c): the 32-bit time fields are
	 * widened signed from a file in the host's byte order and unsigned from a swapped one
	 * (only files past 2038 or damaged ones see the difference); µs are scaled up to ns. */
	uint32_t sec = rd32(r, f->swapped), frac = rd32(r + 4, f->swapped);
	if (f->swapped) {
		ph->ts.tv_sec = (time_t)sec;
		ph->ts.tv_usec = (suseconds_t)frac;
	} else {
		ph->ts.tv_sec = (int32_t)sec;
		ph->ts.tv_usec = (int32_t)frac;
	}
	if (f->micro)
		ph->ts.tv_usec *= 1000;
	uint32_t caplen = rd32(r + 8, f->swapped);
	ph->len = rd32(r + 12, f->swapped);
	if (caplen > MAX_SNAPLEN) {
		if (caplen > f->snapshot)
			snprintf(f->err, sizeof f->err,
			         "invalid packet capture length %u, bigger than snaplen of %d",
			         caplen, (int)f->snapshot);
		else
			snprintf(f->err, sizeof f->err,
			         "invalid packet capture length %u, bigger than maximum of %u",
			         caplen, MAX_SNAPLEN);
		f->pos = f->end;
		return PCAP_ERROR;
	}
	/* The whole record is read; past the snapshot length it is cut to it (as libpcap). */
	size_t need = REC_HDR + (size_t)caplen;
	if (f->end - f->pos < need) {
		have = fill(f, need);
		if (have < 0)
			return PCAP_ERROR;
		if ((size_t)have < need) {
			size_t got = (size_t)have - REC_HDR;
			uint32_t tried =
			    caplen > f->snapshot && got < f->snapshot ? f->snapshot : caplen;
			snprintf(
			    f->err, sizeof f->err,
			    "truncated dump file; tried to read %u captured bytes, only got %zu",
			    tried, got);
			f->pos = f->end;
			return PCAP_ERROR;
		}
		r = f->buf + f->pos;
	}
	ph->caplen = caplen > f->snapshot ? f->snapshot : caplen;
	*h = ph;
	*data = r + REC_HDR;
	f->pos += need;
	return 1;
}
