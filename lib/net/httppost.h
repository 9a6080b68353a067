/*
 * POSTing request bodies on libcurl (sink-otel's OTLP/HTTP transport): one
 * easy handle, kept alive across requests; optional gzip of the body
 * (zlib); extra headers whose values are never logged; the response's
 * status, Retry-After and first bytes of its body.
 */
#ifndef NRO_HTTPPOST_H
#define NRO_HTTPPOST_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

struct nro_http_cfg {
	const char *ca_file;              /* NULL = system CAs */
	const char *cert_file, *key_file; /* client certificate (mTLS) */
	int64_t timeout_ms;               /* whole request; 0 = none */
};

/* Outcome of one POST. */
struct nro_http_res {
	long status;            /* 0 = no response (transport error) */
	int64_t retry_after_ms; /* the Retry-After header; -1 = none */
	char message[256];      /* the transport error or "HTTP <status>", one line */
	struct nro_buf body;    /* the response body, capped at 64 KiB (nro_http_post_new initializes it) */
};

struct nro_http_post;

/* A client (copies cfg's strings); NULL with a reason in err. */
struct nro_http_post *nro_http_post_new(const struct nro_http_cfg *cfg, char *err, size_t errlen);
/* Frees p and wipes its headers from memory; NULL is fine. */
void nro_http_post_free(struct nro_http_post *p);
/* Replaces the extra headers with lines "Name: value" (n of them); 0 or -1. */
int nro_http_post_headers(struct nro_http_post *p, const char *const *lines, size_t n);
/* POSTs body to url as content_type, gzip-compressed when gzip is set.
 * Returns 0 when a response arrived (any status), -1 on a transport
 * error; res is filled either way (res->body is p's: valid until the next call). */
int nro_http_post(struct nro_http_post *p, const char *url, const char *content_type,
		  const void *body, size_t len, int gzip, struct nro_http_res **res);

/* Retry-After: delay-seconds or an HTTP-date, as milliseconds from now (0 for
 * a date past); -1 if malformed. */
int64_t nro_retry_after_ms(const char *value, size_t len);

#endif
