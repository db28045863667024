/* tests/bench/bench_tls.c: the raw TLS loopback baseline of scripts/bench.
 *
 *   bench_tls --pki DIR [--bytes N] [--write 16384]
 *
 * Two processes over 127.0.0.1 with lawtap's own TLS helper (lib/tls.h, so the same OpenSSL
 * context settings, protocol version and cipher as the pipeline's links): the client (the
 * IAP certificate) writes N bytes (default 512 MiB) in writes of 16 KiB; the server (the
 * mediator certificate) reads them into a 64 KiB buffer. Prints
 * "bytes=N wall_ns=W cpu_ns=C rss_kb_server=S rss_kb_client=K proto=... cipher=...": wall from
 * the end of the handshake to the last byte read; cpu both processes. Exit 0, 2 on error. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_clock.h"
#include "lib/tls.h"

static uint64_t tv_ns(struct timeval a, struct timeval b)
{
	return (uint64_t)(a.tv_sec + b.tv_sec) * 1000000000u +
	       (uint64_t)(a.tv_usec + b.tv_usec) * 1000u;
}

static SSL_CTX *ctx_for(const char *pki, const char *who, int server)
{
	char ca[512], cert[512], key[512], err[256] = "";
	snprintf(ca, sizeof ca, "%s/ca.pem", pki);
	snprintf(cert, sizeof cert, "%s/%s.pem", pki, who);
	snprintf(key, sizeof key, "%s/%s.key", pki, who);
	struct lt_tls_conf c = {.ca = ca, .cert = cert, .key = key, .keylog = NULL};
	SSL_CTX *ctx = lt_tls_ctx_new(&c, server, err, sizeof err);
	if (!ctx)
		fprintf(stderr, "bench_tls: %s: %s\n", who, err);
	return ctx;
}

static int client(const char *pki, uint16_t port, uint64_t total, size_t wsz)
{
	SSL_CTX *ctx = ctx_for(pki, "iap", 0);
	if (!ctx)
		return 2;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		perror("bench_tls: connect");
		return 2;
	}
	char why[256] = "";
	SSL *ssl = lt_tls_connect(ctx, fd, LT_ROLE_MEDIATOR, 10000, why, sizeof why);
	if (!ssl) {
		fprintf(stderr, "bench_tls: client handshake: %s\n", why);
		return 2;
	}
	uint8_t *buf = malloc(wsz);
	if (!buf)
		return 2;
	for (size_t i = 0; i < wsz; i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	for (uint64_t sent = 0; sent < total;) {
		size_t n = total - sent < wsz ? (size_t)(total - sent) : wsz;
		if (lt_tls_write_all(ssl, buf, n) != 0) {
			fprintf(stderr, "bench_tls: write failed\n");
			return 2;
		}
		sent += n;
	}
	/* Wait for the server's one-byte "got it all" before closing. */
	uint8_t ok;
	if (lt_tls_read(ssl, &ok, 1, 60000, why, sizeof why) != 1)
		return 2;
	lt_tls_close(ssl);
	lt_tls_ctx_free(ctx);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	const char *pki = NULL;
	uint64_t total = 512ull << 20;
	size_t wsz = 16384;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help")) {
			fprintf(stderr, "usage: bench_tls --pki DIR [--bytes N] [--write 16384]\n");
			return 0;
		} else if (!strcmp(argv[i], "--pki") && i + 1 < argc)
			pki = argv[++i];
		else if (!strcmp(argv[i], "--bytes") && i + 1 < argc)
			total = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--write") && i + 1 < argc)
			wsz = (size_t)strtoul(argv[++i], NULL, 0);
		else {
			fprintf(stderr, "usage: bench_tls --pki DIR [--bytes N] [--write 16384]\n");
			return 2;
		}
	}
	if (!pki || wsz < 1 || total < 1)
		return 2;
	SSL_CTX *ctx = ctx_for(pki, "mediator", 1);
	if (!ctx)
		return 2;
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof a;
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 1) != 0 ||
	    getsockname(ls, (struct sockaddr *)&a, &al) != 0) {
		perror("bench_tls: listen");
		return 2;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		close(ls);
		_exit(client(pki, ntohs(a.sin_port), total, wsz));
	}
	int fd = accept(ls, NULL, NULL);
	char why[256] = "";
	SSL *ssl = fd >= 0 ? lt_tls_accept(ctx, fd, LT_ROLE_IAP, 10000, why, sizeof why) : NULL;
	if (!ssl) {
		fprintf(stderr, "bench_tls: server handshake: %s\n", why);
		kill(pid, SIGTERM);
		return 2;
	}
	struct rusage r0;
	getrusage(RUSAGE_SELF, &r0);
	uint64_t t0 = bench_now_ns(), got = 0;
	static uint8_t buf[65536];
	while (got < total) {
		long n = lt_tls_read(ssl, buf, sizeof buf, 60000, why, sizeof why);
		if (n <= 0) {
			fprintf(stderr, "bench_tls: read: %s\n", n == 0 ? "timeout" : why);
			return 2;
		}
		got += (uint64_t)n;
	}
	uint64_t wall = bench_now_ns() - t0;
	uint8_t ok = 1;
	lt_tls_write_all(ssl, &ok, 1);
	char proto[32], cipher[64];
	snprintf(proto, sizeof proto, "%s", SSL_get_version(ssl));
	snprintf(cipher, sizeof cipher, "%s", SSL_get_cipher_name(ssl));
	struct rusage rs, rc;
	getrusage(RUSAGE_SELF, &rs);
	int st = 0;
	if (wait4(pid, &st, 0, &rc) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "bench_tls: client failed\n");
		return 2;
	}
	lt_tls_close(ssl);
	/* Server CPU from the end of its handshake; the client's whole life (its handshake is a
	 * few hundred µs of a run of seconds). */
	uint64_t cpu = tv_ns(rs.ru_utime, rs.ru_stime) - tv_ns(r0.ru_utime, r0.ru_stime) +
	               tv_ns(rc.ru_utime, rc.ru_stime);
	printf("bytes=%llu wall_ns=%llu cpu_ns=%llu rss_kb_server=%ld rss_kb_client=%ld proto=%s "
	       "cipher=%s write=%zu\n",
	       (unsigned long long)got, (unsigned long long)wall, (unsigned long long)cpu,
	       rs.ru_maxrss, rc.ru_maxrss, proto, cipher, wsz);
	lt_tls_ctx_free(ctx);
	return 0;
}
