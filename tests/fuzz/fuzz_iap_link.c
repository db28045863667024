/* Fuzz target for iap/link.c: the first byte chooses the link type (index into the supported
 * types, plus one unsupported), the rest is the captured frame. A decoded packet must lie inside
 * the frame, and its header facts are read too. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iap/iap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int types[] = {0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 9};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int lt = types[data[0] % (sizeof types / sizeof types[0])];
	size_t len = size - 1;
	/* An exact copy so that ASan sees any read past the frame. */
	uint8_t *frame = malloc(len ? len : 1);
	if (!frame)
		return 0;
	if (len)
		memcpy(frame, data + 1, len);
	struct iap_ip ip;
	if (iap_link_decode(lt, frame, len, &ip) == IAP_LINK_OK) {
		if (ip.off > len || ip.len > len - ip.off || (ip.family != 4 && ip.family != 6))
			abort();
		struct iap_pkt_facts f;
		if (iap_ip_facts(frame + ip.off, ip.len, &f) == 0 && f.family != ip.family)
			abort();
	}
	free(frame);
	return 0;
}
