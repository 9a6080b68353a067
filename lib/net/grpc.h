/*
 * A gRPC unary call over a unix socket on libcurl: HTTP/2 with prior
 * knowledge (CURLOPT_UNIX_SOCKET_PATH), one length-prefixed message each
 * way (gRPC's 5-byte framing: a compressed flag and a big-endian length),
 * the outcome read from the grpc-status / grpc-message trailers (or the
 * headers of a trailers-only answer). No compression, no TLS: enough for
 * a CRI runtime's socket, which needs only connect permission.
 *
 * The framing and trailer helpers are pure and exported for the tests.
 */
#ifndef NRO_GRPC_H
#define NRO_GRPC_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define NRO_GRPC_FRAME 5                 /* flag byte + 4-byte length */
#define NRO_GRPC_RESPONSE_MAX (4u << 20) /* gRPC's default receive limit */

/* Why a call failed: the class a collector reports. */
enum nro_grpc_fail {
	NRO_GRPC_OK = 0,
	NRO_GRPC_CONNECT,  /* socket missing, refused, reset */
	NRO_GRPC_TIMEOUT,  /* no complete answer within the timeout */
	NRO_GRPC_PROTOCOL, /* not HTTP/2 gRPC: bad framing, content type, HTTP status */
	NRO_GRPC_STATUS,   /* the server answered with a grpc-status other than 0 */
};

struct nro_grpc_result {
	int fail;             /* enum nro_grpc_fail */
	uint16_t err;         /* enum nro_error_code for an error record */
	long http_status;     /* 0 = no response */
	int grpc_status;      /* -1 = none received */
	char grpc_message[256]; /* percent-decoded */
	uint32_t duration_us;
	char message[512];    /* one line saying what failed */
};

struct nro_grpc;

/* Creates a client for the unix socket at path (copied). Returns NULL with
 * a reason in err on failure. Each call opens its own connection. */
struct nro_grpc *nro_grpc_new(const char *socket_path, char *err, size_t errlen);
/* Frees g; NULL is fine. */
void nro_grpc_free(struct nro_grpc *g);

/* Calls method ("/package.Service/Method") with the serialized request
 * req[0..reqlen) and waits at most timeout_ms. On success returns 0 with the
 * response message (unframed) in resp, which is reset first and owned by the
 * caller. Returns -1 otherwise; res is always filled. */
int nro_grpc_unary(struct nro_grpc *g, const char *method, const uint8_t *req, size_t reqlen,
		   int64_t timeout_ms, struct nro_buf *resp, struct nro_grpc_result *res);

/* ---- pure helpers ---- */

/* Writes the 5-byte prefix of an uncompressed message of len bytes. Returns
 * 0, or -1 if len does not fit in 32 bits. */
int nro_grpc_frame(uint8_t out[NRO_GRPC_FRAME], size_t len);
/* Checks that buf[0..len) is exactly one uncompressed message and points
 * *msg, *msglen at it. Returns 0, or -1 with a reason in err. */
int nro_grpc_unframe(const uint8_t *buf, size_t len, const uint8_t **msg, size_t *msglen,
		     char *err, size_t errlen);
/* Parses a grpc-status value ("0".."16", any decimal up to 9 digits).
 * Returns the code, or -1 if it is not one. */
int nro_grpc_parse_status(const char *s, size_t len);
/* Percent-decodes a grpc-message value into out (NUL-terminated, cut to
 * outlen); a malformed escape is kept as it is. */
void nro_grpc_decode_message(const char *s, size_t len, char *out, size_t outlen);
/* The canonical name of a status code ("UNAVAILABLE"), "UNKNOWN_CODE" if none. */
const char *nro_grpc_code_name(int code);

#endif
