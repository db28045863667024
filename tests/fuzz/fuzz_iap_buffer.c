/* Fuzz target for what lawtap-iap reads back from disk: the records of its buffer files
 * (iap_buf_rec_parse, as iap/buffer.c applies it to each record in turn) and the --resume state
 * file (iap_resume_load). The first byte picks the reader: even = buffer records, odd = state
 * file (the rest is written to a temporary file and loaded). */
#include "iap/iap.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void records(const uint8_t *data, size_t size)
{
	size_t off = 0;
	while (off < size) {
		struct iap_buf_rec r;
		size_t used = 0;
		if (iap_buf_rec_parse(data + off, size - off, &r, &used) != 0)
			break;
		if (used < IAP_BUF_REC_HDR || used > size - off ||
		    r.len + IAP_BUF_REC_HDR != used || r.first_pkt > r.last_pkt)
			abort();
		/* what the uplink does with a confirmed batch */
		struct iap_seqmap m = {0};
		iap_seqmap_note_pdus(&m, r.data, r.len);
		iap_seqmap_clear(&m);
		off += used;
	}
}

static void state_file(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/fuzz_iap_state.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return;
	size_t off = 0;
	while (off < size) {
		ssize_t w = write(fd, data + off, size - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(fd);
	struct iap_resume st;
	char err[512];
	if (iap_resume_load(path, &st, err, sizeof err) == 0)
		iap_seqmap_clear(&st.seq);
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		state_file(data + 1, size - 1);
	else
		records(data + 1, size - 1);
	return 0;
}
