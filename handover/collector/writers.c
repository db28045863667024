/* Output records: classic pcap (host byte order, as libpcap writes it) and the IRI CSV. */
#include <string.h>

#include "collector.h"

static int put32(FILE *f, uint32_t v)
{
	return fwrite(&v, sizeof v, 1, f) == 1 ? 0 : COL_E_IO;
}

static int put16(FILE *f, uint16_t v)
{
	return fwrite(&v, sizeof v, 1, f) == 1 ? 0 : COL_E_IO;
}

int col_pcap_header(FILE *f)
{
	int rc = put32(f, 0xa1b2c3d4u); /* microsecond time stamps */
	rc |= put16(f, 2);
	rc |= put16(f, 4);
	rc |= put32(f, 0); /* thiszone */
	rc |= put32(f, 0); /* sigfigs */
	rc |= put32(f, COL_PCAP_SNAPLEN);
	rc |= put32(f, COL_PCAP_LINKTYPE_RAW);
	return rc ? COL_E_IO : 0;
}

int col_pcap_rec_header(uint8_t out[16], int64_t sec, uint32_t usec, size_t pkt_len)
{
	if (pkt_len > COL_PCAP_SNAPLEN)
		return COL_E_ARG;
	if (sec < 0)
		sec = 0;
	if (sec > (int64_t)UINT32_MAX)
		sec = UINT32_MAX;
	if (usec > 999999)
		usec = 999999;
	/* host byte order, as put32 writes the file header */
	uint32_t rh[4] = {(uint32_t)sec, usec, (uint32_t)pkt_len, (uint32_t)pkt_len};
	memcpy(out, rh, sizeof rh);
	return 0;
}

int col_pcap_write(FILE *f, int64_t sec, uint32_t usec, const uint8_t *pkt, size_t pkt_len)
{
	uint8_t rh[16];
	if ((pkt_len && !pkt) || col_pcap_rec_header(rh, sec, usec, pkt_len) != 0)
		return COL_E_ARG;
	if (fwrite(rh, sizeof rh, 1, f) != 1)
		return COL_E_IO;
	if (pkt_len && fwrite(pkt, 1, pkt_len, f) != pkt_len)
		return COL_E_IO;
	return 0;
}

int col_csv_header(FILE *f)
{
	return fputs("liid,cin,seq,time,iri_type,event,username,src,dst,sport,dport,proto\n", f) < 0
	           ? COL_E_IO
	           : 0;
}

int col_csv_field(FILE *f, const char *s, size_t len)
{
	/* A field a spreadsheet would take for a formula (= + - @ tab CR first: CSV injection)
	 * is written as text: quoted, with a ' in front. The exact bytes are in hi2.ber. */
	int formula = len > 0 && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' ||
	                          s[0] == '\t' || s[0] == '\r');
	int quote = formula || (len > 0 && (s[0] == ' ' || s[len - 1] == ' '));
	for (size_t i = 0; i < len && !quote; i++)
		quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
	if (!quote)
		return len && fwrite(s, 1, len, f) != len ? COL_E_IO : 0;
	if (fputc('"', f) == EOF || (formula && fputc('\'', f) == EOF))
		return COL_E_IO;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' && fputc('"', f) == EOF)
			return COL_E_IO;
		if (fputc((unsigned char)s[i], f) == EOF)
			return COL_E_IO;
	}
	return fputc('"', f) == EOF ? COL_E_IO : 0;
}

static int field_str(FILE *f, const char *s, int last)
{
	int rc = col_csv_field(f, s, strlen(s));
	if (fputc(last ? '\n' : ',', f) == EOF)
		rc = COL_E_IO;
	return rc;
}

int col_csv_iri(FILE *f, const struct med_record *r)
{
	const struct med_header *h = &r->hdr;
	char cin[16] = "", seq[16], tm[COL_TIME_LEN], src[COL_ADDR_LEN] = "",
	     dst[COL_ADDR_LEN] = "";
	char sport[8] = "", dport[8] = "", proto[8] = "", user[sizeof r->ev.username];
	const char *event = "";
	int rc = col_csv_field(f, (const char *)h->liid, h->liid_len);
	if (fputc(',', f) == EOF)
		rc = COL_E_IO;
	if (h->has_cin)
		snprintf(cin, sizeof cin, "%u", h->cin);
	snprintf(seq, sizeof seq, "%u", h->seq);
	col_fmt_time(tm, sizeof tm, h->ts_sec, h->ts_usec);
	user[0] = '\0';
	if (r->iri_content == 1) {
		event = col_event_name(r->ev.event);
		if (!event)
			event = "";
		memcpy(user, r->ev.username, sizeof user);
		user[sizeof user - 1] = '\0';
		if (r->ev.has_target_ip)
			col_fmt_addr(src, sizeof src, r->ev.target_ipver, r->ev.target_ip);
	} else if (r->iri_content == 2) {
		const struct med_header_facts *x = &r->facts;
		event = "headerReport";
		col_fmt_addr(src, sizeof src, x->ip_version, x->src);
		col_fmt_addr(dst, sizeof dst, x->ip_version, x->dst);
		if (x->proto == 6 || x->proto == 17) {
			snprintf(sport, sizeof sport, "%u", x->sport);
			snprintf(dport, sizeof dport, "%u", x->dport);
		}
		if (x->proto >= 0 && x->proto <= 255)
			snprintf(proto, sizeof proto, "%d", x->proto);
	}
	rc |= field_str(f, cin, 0);
	rc |= field_str(f, seq, 0);
	rc |= field_str(f, tm, 0);
	rc |= field_str(f, col_iri_type_name(r->iri_type), 0);
	rc |= field_str(f, event, 0);
	rc |= field_str(f, user, 0);
	rc |= field_str(f, src, 0);
	rc |= field_str(f, dst, 0);
	rc |= field_str(f, sport, 0);
	rc |= field_str(f, dport, 0);
	rc |= field_str(f, proto, 1);
	return rc ? COL_E_IO : 0;
}
