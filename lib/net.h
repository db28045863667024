/* lib/net.h: TCP sockets and host:port parsing. */
#ifndef LAWTAP_NET_H
#define LAWTAP_NET_H

#include <stddef.h>
#include <stdint.h>

/* Parses "127.0.0.1:9000", "[::1]:9000", "localhost:9000". Port must be 1..65535 (0 allowed
 * when allow_zero, meaning "pick one"). Returns 0 or -1 with the reason in err. */
int lt_parse_hostport(const char *s, char *host, size_t hostlen, uint16_t *port, int allow_zero,
                      char *err, size_t errlen);
/* Listening socket on host:port (SO_REUSEADDR, backlog 64). Returns fd or -1 (reason in err). */
int lt_tcp_listen(const char *hostport, char *err, size_t errlen);
/* The port a listening socket is bound to (useful with port 0), or -1. */
int lt_tcp_local_port(int fd);
/* Blocking connect with timeout. Returns a connected blocking fd (TCP_NODELAY) or -1. */
int lt_tcp_connect(const char *hostport, int timeout_ms, char *err, size_t errlen);
/* The peer of a connected socket as "1.2.3.4:5" or "[::1]:5" ("?:0" when unknown). */
void lt_peer_addr(int fd, char *buf, size_t len);
/* accept() that returns -1 with errno EAGAIN after timeout_ms without a client. */
int lt_tcp_accept(int lfd, int timeout_ms);

#endif
