/*
 * An HTTP(S) listener on libmicrohttpd, shared by kubelet-replay,
 * apiserver-replay (through run/serve.h) and sink-prom: HOST:PORT parsing
 * (port 0 = a free port), TLS from PEM files, an optional client CA, and a
 * request callback that sees each request once its headers are in (a
 * request body is read and dropped).
 *
 * Threads: with thread_per_connection every connection has its own thread
 * (a handler may block, as kubelet-replay's delays do); without it one
 * internal polling thread serves every connection (handlers must not block:
 * sink-prom answers from a prepared buffer), so the listener adds exactly
 * one thread to the process.
 */
#ifndef NRO_HTTPD_H
#define NRO_HTTPD_H

#include <stddef.h>
#include <microhttpd.h>

/* Answers one request: queue a response on c (MHD_queue_response) and
 * return its result, or MHD_NO to drop the connection. Runs on one of
 * libmicrohttpd's threads. */
typedef enum MHD_Result (*nro_httpd_fn)(void *ctx, struct MHD_Connection *c, const char *url,
					const char *method);

struct nro_httpd_cfg {
	const char *listen;    /* "HOST:PORT", "[V6]:PORT" or ":PORT"; port 0 = a free port */
	const char *flag;      /* the option that gave listen, for messages ("--listen") */
	const char *tls_cert;  /* PEM file; with tls_key serves HTTPS; NULL = HTTP */
	const char *tls_key;
	const char *client_ca; /* PEM file: ask for client certificates signed by it */
	int thread_per_connection;
	unsigned timeout_s;       /* idle connection timeout; 0 = none */
	unsigned max_connections; /* 0 = libmicrohttpd's default */
	nro_httpd_fn handler;
	void *ctx;
};

struct nro_httpd;

enum {
	NRO_HTTPD_OK = 0,
	NRO_HTTPD_EUSAGE = -1, /* bad listen address or unreadable PEM file */
	NRO_HTTPD_ELISTEN = -2, /* cannot listen (address in use, no permission) */
};

/* Starts listening. Returns NRO_HTTPD_OK with *out (the caller stops it
 * with nro_httpd_stop), or an error code with a one-line reason in err
 * naming the bad value. Start it after the signal mask is set: its threads
 * inherit the mask. */
int nro_httpd_start(const struct nro_httpd_cfg *cfg, struct nro_httpd **out, char *err,
		    size_t errlen);

/* The base URL served, "http://127.0.0.1:PORT" (a wildcard address is
 * given as loopback). */
const char *nro_httpd_url(const struct nro_httpd *h);
unsigned nro_httpd_port(const struct nro_httpd *h);

/* Stops the listener (waits for its threads) and frees h (NULL is fine). */
void nro_httpd_stop(struct nro_httpd *h);

/* Queues a copy of text as the answer. */
enum MHD_Result nro_httpd_reply(struct MHD_Connection *c, unsigned status, const char *ctype,
				const char *text);

/* The client's certificate, on HTTPS with a client CA: 1 when one was
 * presented and verifies (its common name in cn), -1 when one was presented
 * but does not verify, 0 when none was. */
int nro_httpd_client_cert(struct MHD_Connection *c, char *cn, size_t cnlen);

/* The client closed its end (a blocked handler's client gave up). */
int nro_httpd_peer_gone(struct MHD_Connection *c);

#endif
