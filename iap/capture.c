/* iap/capture.c: opening captures, dropping root, the IAP's own id, statistics text. */
#include "iap.h"

#include "lib/log.h"

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <openssl/x509.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int check_linktype(pcap_t *p, const char *what, char *err, size_t errlen)
{
	int lt = pcap_datalink(p);
	if (iap_link_supported(lt))
		return 0;
	const char *name = pcap_datalink_val_to_name(lt);
	snprintf(err, errlen, "%s: unsupported link type %s (%d)", what, name ? name : "unknown",
	         lt);
	return -1;
}

/* Files are read through a large stdio buffer (as tests/bench/bench_read.c does): libpcap's
 * fread of each record header and packet then costs a memcpy, and the kernel is entered once
 * per MiB rather than once per 4 KiB. The buffer must outlive the FILE, so it is remembered
 * with the handle and freed by iap_capture_close. */
#define FILE_BUF (1u << 20)
#define FILE_BUF_SLOTS 4

static struct {
	pcap_t *p;
	char *buf;
} file_bufs[FILE_BUF_SLOTS];

pcap_t *iap_capture_open_file(const char *path, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: cannot read capture: %s", path, strerror(errno));
		return NULL;
	}
	/* A classic pcap file is read by iap_pcapfile_next (no stdio after the header): only
	 * other formats, read by libpcap, get the large buffer. */
	uint8_t magic[4];
	int classic =
	    pread(fileno(f), magic, 4, 0) == 4 &&
	    (!memcmp(magic, "\xd4\xc3\xb2\xa1", 4) || !memcmp(magic, "\x4d\x3c\xb2\xa1", 4) ||
	     !memcmp(magic, "\xa1\xb2\xc3\xd4", 4) || !memcmp(magic, "\xa1\xb2\x3c\x4d", 4));
	int slot = -1;
	for (int i = 0; i < FILE_BUF_SLOTS && slot < 0 && !classic; i++)
		if (!file_bufs[i].p)
			slot = i;
	char *buf = slot >= 0 ? malloc(FILE_BUF) : NULL;
	if (buf && setvbuf(f, buf, _IOFBF, FILE_BUF) != 0) {
		free(buf);
		buf = NULL;
	}
	/* On failure pcap_fopen_offline does not close f. */
	pcap_t *p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, ebuf);
	if (!p) {
		snprintf(err, errlen, "%s: cannot read capture: %s", path, ebuf);
		fclose(f);
		free(buf);
		return NULL;
	}
	if (buf) {
		file_bufs[slot].p = p;
		file_bufs[slot].buf = buf;
	}
	if (check_linktype(p, path, err, errlen) != 0) {
		iap_capture_close(p);
		return NULL;
	}
	return p;
}

void iap_capture_close(pcap_t *p)
{
	if (!p)
		return;
	pcap_close(p); /* closes the FILE of a file handle */
	for (int i = 0; i < FILE_BUF_SLOTS; i++)
		if (file_bufs[i].p == p) {
			free(file_bufs[i].buf);
			file_bufs[i].p = NULL;
			file_bufs[i].buf = NULL;
		}
}

pcap_t *iap_capture_open_live(const char *iface, int snaplen, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE] = "";
	pcap_t *p = pcap_create(iface, ebuf);
	if (!p) {
		snprintf(err, errlen, "interface %s: %s", iface, ebuf);
		return NULL;
	}
	pcap_set_snaplen(p, snaplen);
	pcap_set_promisc(p, 1);
	/* Not immediate mode: libpcap then uses a TPACKET_V2 ring of snaplen-sized frames, a
	 * handful at the default snaplen, and drops bursts (seen on lo: 68 of 100). The
	 * TPACKET_V3 block ring with a 10 ms timeout packs frames tightly and costs at most
	 * 10 ms of latency. 32 MiB of ring absorbs bursts while a batch is sent. */
	pcap_set_timeout(p, 10);
	pcap_set_buffer_size(p, 32 << 20);
	/* Nanosecond stamps when the platform has them; microseconds otherwise. */
	int nano = pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO) == 0;
	int rc = pcap_activate(p);
	if (rc < 0) {
		snprintf(err, errlen, "interface %s: %s: %s", iface, pcap_statustostr(rc),
		         pcap_geterr(p));
		pcap_close(p);
		return NULL;
	}
	if (rc > 0)
		lt_warn("interface %s: %s: %s", iface, pcap_statustostr(rc), pcap_geterr(p));
	if (!nano)
		lt_info("interface %s: microsecond time stamps", iface);
	if (check_linktype(p, iface, err, errlen) != 0) {
		pcap_close(p);
		return NULL;
	}
	if (pcap_setnonblock(p, 1, ebuf) != 0) {
		snprintf(err, errlen, "interface %s: %s", iface, ebuf);
		pcap_close(p);
		return NULL;
	}
	return p;
}

int iap_drop_privileges(const char *user, char *err, size_t errlen)
{
	if (geteuid() != 0) {
		lt_warn("not running as root: keeping uid %u (--user %s not applied)",
		        (unsigned)geteuid(), user);
		return 0;
	}
	errno = 0;
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		snprintf(err, errlen, "user %s: %s", user,
		         errno ? strerror(errno) : "no such user");
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "user %s is root: refusing to run capture as root", user);
		return -1;
	}
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
		snprintf(err, errlen, "cannot drop privileges to %s: %s", user, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0 || geteuid() == 0 || getegid() != gid) {
		snprintf(err, errlen, "privileges of root still held after dropping to %s", user);
		return -1;
	}
	lt_info("dropped privileges to %s (uid %u, gid %u)", user, (unsigned)uid, (unsigned)gid);
	return 0;
}

int iap_own_id(SSL_CTX *ctx, char *buf, size_t len, char *err, size_t errlen)
{
	X509 *cert = SSL_CTX_get0_certificate(ctx);
	if (!cert) {
		snprintf(err, errlen, "no own certificate loaded");
		return -1;
	}
	int n =
	    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, (int)len);
	if (n < 1 || n > 8 || (size_t)n >= len) {
		snprintf(err, errlen, "own certificate's CN must be 1..8 characters (the IAP id)");
		return -1;
	}
	/* PrintableString (X.680 41.4): it becomes the PS-PDU interceptionPointID. */
	for (int i = 0; i < n; i++) {
		char c = buf[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      strchr(" '()+,-./:=?", c))) {
			snprintf(err, errlen,
			         "own certificate's CN \"%s\" is not a PrintableString", buf);
			return -1;
		}
	}
	return 0;
}

void iap_stats_format(const struct iap_stats *s, char *buf, size_t len)
{
	snprintf(buf, len,
	         "packets_read=%" PRIu64 " matched=%" PRIu64 " x2_sent=%" PRIu64 " x3_sent=%" PRIu64
	         " keepalives=%" PRIu64 " bytes_sent=%" PRIu64 " skipped_non_ip=%" PRIu64
	         " truncated=%" PRIu64 " dropped=%" PRIu64 " reconnects=%" PRIu64 " resent=%" PRIu64
	         " confirmed=%" PRIu64 " input_ns=%" PRIu64 " input_cpu_ns=%" PRIu64,
	         s->packets_read, s->matched, s->x2_sent, s->x3_sent, s->keepalives, s->bytes_sent,
	         s->skipped_non_ip, s->truncated, s->dropped, s->reconnects, s->resent,
	         s->confirmed, s->input_ns, s->input_cpu_ns);
}
