/*
 * The process skeleton of the replay servers (kubelet-replay,
 * apiserver-replay): listen on net/httpd.h, print the base URL, signal
 * readiness, advance the scenario (net/replay.h) on a timer until SIGTERM,
 * then stop. A runtime: it exits on a failure to start.
 */
#ifndef NRO_SERVE_H
#define NRO_SERVE_H

#include <stdint.h>

#include "net/httpd.h"
#include "net/replay.h"
#include "run/tool.h"

/* The option rows (run/tool.h) of a replay server's listener: --listen,
 * --tls-cert and --tls-key, from the variables ENV_LISTEN, ENV_TLS_CERT and
 * ENV_TLS_KEY (ENV a string literal such as "NRO_REPLAY"), into the const
 * char * variables listen, cert and key. */
#define NRO_SERVE_OPTS(ENV, listen, cert, key)                                            \
	{"listen", 0, ENV "_LISTEN", NRO_OPT_STR, &(listen), NULL, "HOST:PORT",            \
	 "address to listen on (default 127.0.0.1:0, a free port)"},                       \
	{"tls-cert", 0, ENV "_TLS_CERT", NRO_OPT_STR, &(cert), NULL, "F",                  \
	 "serve HTTPS with this certificate (PEM)"},                                       \
	{"tls-key", 0, ENV "_TLS_KEY", NRO_OPT_STR, &(key), NULL, "F", "the certificate's key (PEM)"}

/* Starts hc's listener; the caller stops it with nro_httpd_stop. Exits 100
 * on a bad address or PEM file, 111 when it cannot listen. */
struct nro_httpd *nro_serve_start(const struct nro_httpd_cfg *hc);

/* Blocks the signals (run/signals.h: the listener's threads inherit the
 * mask), starts hc's listener, prints its base URL as the first line on
 * stdout, signals readiness, advances r every every_ms (0: never) until
 * SIGTERM, then sets r->stopping and stops the listener, waiting for its
 * threads. r stays the caller's. Exits as nro_serve_start does. */
void nro_serve_replay(struct nro_tool *t, const struct nro_httpd_cfg *hc, struct nro_replay *r,
		      int64_t every_ms);

#endif
