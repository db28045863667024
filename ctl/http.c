/* ctl/http.c: one HTTPS request to the mediator's REST API with libcurl (OpenSSL backend),
 * mutual TLS: the admin certificate is presented, the mediator's certificate is checked
 * against the configured CA and its name against the URL's host. HTTPS only. */
#include "ctl.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#define CTL_BODY_MAX (64u << 20) /* an answer larger than this is refused */

struct sink {
	char *buf;
	size_t len, cap;
	int overflow;
};

static size_t on_data(char *p, size_t size, size_t n, void *u)
{
	struct sink *s = u;
	size_t add = size * n;
	if (s->len + add + 1 > CTL_BODY_MAX) {
		s->overflow = 1;
		return 0; /* makes curl fail the transfer */
	}
	if (s->len + add + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + add + 1)
			cap *= 2;
		char *nb = realloc(s->buf, cap);
		if (!nb)
			return 0;
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, p, add);
	s->len += add;
	s->buf[s->len] = 0;
	return add;
}

/* The mediator refuses a certificate from another CA, one not made for clients, or none during
 * the handshake; the client then only sees the connection end, which curl reports in many ways.
 * (A certificate of its CA with another role gets 403 with the reason instead.) */
static const char *tls_hint(CURLcode cc)
{
	switch (cc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
		return " (TLS handshake or connection refused: the mediator accepts only an admin "
		       "certificate of its CA)";
	case CURLE_PEER_FAILED_VERIFICATION:
		return " (the mediator's certificate does not verify against the configured ca)";
	case CURLE_SSL_CERTPROBLEM:
		return " (cannot use the client certificate/key: check cert and key)";
	case CURLE_SSL_CACERT_BADFILE:
		return " (cannot read the ca file)";
	default:
		return "";
	}
}

void ctl_resp_clear(struct ctl_resp *r)
{
	if (!r)
		return;
	free(r->body);
	memset(r, 0, sizeof *r);
}

int ctl_http(const struct ctl_conf *c, const char *method, const char *path, const char *body,
             struct ctl_resp *r, char *err, size_t errlen)
{
	char url[CTL_PATH_MAX * 2], cerr[CURL_ERROR_SIZE] = "";
	struct sink s = {0};
	struct curl_slist *hdr = NULL;
	int rc = -1;
	memset(r, 0, sizeof *r);
	size_t ul = strlen(c->url);
	while (ul && c->url[ul - 1] == '/')
		ul--;
	snprintf(url, sizeof url, "%.*s%s", (int)ul, c->url, path);

	CURL *h = curl_easy_init();
	if (!h) {
		snprintf(err, errlen, "%s: cannot initialise libcurl", url);
		return -1;
	}
	hdr = curl_slist_append(hdr, "Accept: application/json");
	if (body)
		hdr = curl_slist_append(hdr, "Content-Type: application/json");
	hdr = curl_slist_append(hdr, "Expect:"); /* no 100-continue round trip */
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, c->timeout > 0 ? c->timeout : 30L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca[0])
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca);
	curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert);
	curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
	curl_easy_setopt(h, CURLOPT_SSLKEY, c->key);
	curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	} else if (!strcmp(method, "POST")) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
	}

	CURLcode cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		if (s.overflow)
			snprintf(err, errlen, "%s: answer larger than %u bytes", url, CTL_BODY_MAX);
		else
			snprintf(err, errlen, "%s: %s%s", url,
			         cerr[0] ? cerr : curl_easy_strerror(cc), tls_hint(cc));
		free(s.buf);
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	r->body = s.buf ? s.buf : calloc(1, 1);
	r->len = s.len;
	if (!r->body) {
		snprintf(err, errlen, "%s: out of memory", url);
		goto out;
	}
	rc = 0;
out:
	curl_slist_free_all(hdr);
	curl_easy_cleanup(h);
	return rc;
}
