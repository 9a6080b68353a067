/*
 * The kubelet HTTP(S) client on libcurl. One handle per collector, reused
 * across polls so the TLS connection is kept alive.
 *
 * The bearer token is read from token_file, re-read whenever the file
 * changes (projected service-account tokens rotate about hourly), handed to
 * libcurl as CURLOPT_XOAUTH2_BEARER, and never logged or put in an error.
 */
#ifndef NRO_KUBELET_H
#define NRO_KUBELET_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "net/authz.h"

#define NRO_SA_TOKEN "/var/run/secrets/kubernetes.io/serviceaccount/token"
#define NRO_BODY_MAX_DEFAULT (64u << 20)

struct nro_kubelet_cfg {
	const char *url;        /* base URL, e.g. https://127.0.0.1:10250 */
	const char *token_file; /* NULL = none */
	const char *ca_file;    /* NULL = system CAs */
	const char *cert_file, *key_file; /* client certificate auth */
	int insecure;           /* skip server certificate verification */
	int allow_insecure_token; /* send the token over http:// (refused otherwise) */
	const char *tls_server_name; /* NULL = the URL's host; else the name the
					certificate must carry (the URL's address is dialled) */
	int64_t connect_timeout_ms, timeout_ms;
	uint64_t max_body;      /* cap on a response body; 0 = NRO_BODY_MAX_DEFAULT */
};

/* Outcome of one request. */
struct nro_fetch {
	long http_status;      /* 0 = no response */
	uint64_t bytes;        /* body bytes received */
	uint32_t duration_us;
	uint16_t err;          /* enum nro_error_code; meaningful when the call failed */
	int config_error;      /* retrying cannot help: a wrong CA, a server without TLS, an
				  unreadable token (401/403, 404 and --max-body are by err) */
	char message[512];     /* one line, for logs and error records */
	char error_body[4096]; /* first bytes of a non-2xx body, NUL-terminated */
};

/* Receives body bytes of a 2xx response as they arrive. Return 0 to go on,
 * -1 to abort the transfer (the fetch then fails with NRO_ERR_PARSE and the
 * callback's own message, if it wrote one into res->message). */
typedef int (*nro_body_fn)(void *ctx, const char *data, size_t len);

struct nro_kubelet;

/* Creates a client; copies every string in cfg. The CA, certificate and
 * key files and an explicit token file must be readable now. Returns NULL
 * with a reason in err (naming the flag and the file) on failure (nothing
 * to free then): every such failure is a configuration mistake. */
struct nro_kubelet *nro_kubelet_new(const struct nro_kubelet_cfg *cfg, char *err, size_t errlen);
/* Frees k and wipes the token from memory; NULL is fine. */
void nro_kubelet_free(struct nro_kubelet *k);

/* GET base+path, streaming a 2xx body into fn. Returns 0 on a 2xx response
 * fully received, -1 otherwise with res filled. res is always filled. */
int nro_kubelet_get(struct nro_kubelet *k, const char *path, nro_body_fn fn, void *ctx,
		    struct nro_fetch *res);
/* One of the GETs nro_kubelet_get_each runs at once: each on its own
 * client (a client carries one transfer at a time). */
struct nro_get {
	struct nro_kubelet *k;
	const char *path;
	nro_body_fn fn;
	void *ctx;
	struct nro_fetch res; /* filled as nro_kubelet_get fills it */
	int rc;               /* 0 or -1, as nro_kubelet_get returns */
};
/* Runs the n GETs concurrently in this thread (libcurl's multi interface)
 * until every one has ended, each streaming its 2xx body into its own fn;
 * fills each's res and rc. Returns how many failed. */
size_t nro_kubelet_get_each(struct nro_get *g, size_t n);
/* Same, collecting the body into out (reset first; its cap is min(out->max,
 * max_body)). The caller owns out. */
int nro_kubelet_get_buf(struct nro_kubelet *k, const char *path, struct nro_buf *out,
			struct nro_fetch *res);

#endif
