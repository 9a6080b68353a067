#include "net/grpc.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/record.h"

struct nro_grpc {
	CURL *h;
	char *socket_path;
	char curl_err[CURL_ERROR_SIZE];
};

/* Per-call state the curl callbacks fill. */
struct call {
	struct nro_buf *body;
	int too_large;
	int grpc_status;
	char grpc_message[256];
	char content_type[64];
};

static const char *const code_names[] = {
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED",
};

const char *nro_grpc_code_name(int code)
{
	if (code < 0 || (size_t)code >= sizeof code_names / sizeof code_names[0])
		return "UNKNOWN_CODE";
	return code_names[code];
}

int nro_grpc_frame(uint8_t out[NRO_GRPC_FRAME], size_t len)
{
	if (len > UINT32_MAX)
		return -1;
	out[0] = 0; /* not compressed */
	out[1] = (uint8_t)(len >> 24);
	out[2] = (uint8_t)(len >> 16);
	out[3] = (uint8_t)(len >> 8);
	out[4] = (uint8_t)len;
	return 0;
}

int nro_grpc_unframe(const uint8_t *buf, size_t len, const uint8_t **msg, size_t *msglen,
		     char *err, size_t errlen)
{
	if (len < NRO_GRPC_FRAME) {
		snprintf(err, errlen, "response of %zu bytes is shorter than a gRPC frame header", len);
		return -1;
	}
	if (buf[0] != 0) {
		snprintf(err, errlen, "response message has compressed flag %u (none was asked for)",
			 buf[0]);
		return -1;
	}
	size_t n = (size_t)buf[1] << 24 | (size_t)buf[2] << 16 | (size_t)buf[3] << 8 | buf[4];
	if (n != len - NRO_GRPC_FRAME) {
		snprintf(err, errlen, "gRPC frame announces %zu bytes, the response carries %zu", n,
			 len - NRO_GRPC_FRAME);
		return -1;
	}
	*msg = buf + NRO_GRPC_FRAME;
	*msglen = n;
	return 0;
}

int nro_grpc_parse_status(const char *s, size_t len)
{
	if (len == 0 || len > 9)
		return -1;
	int v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

void nro_grpc_decode_message(const char *s, size_t len, char *out, size_t outlen)
{
	if (outlen == 0)
		return;
	out[0] = '\0';
	int n = 0;
	/* libcurl's percent-decoding keeps a malformed escape as it is */
	char *d = curl_easy_unescape(NULL, s, len > INT32_MAX ? INT32_MAX : (int)len, &n);
	if (!d)
		return;
	size_t o = 0;
	for (int i = 0; i < n && o + 1 < outlen; i++)
		out[o++] = d[i] == '\n' || d[i] == '\r' || d[i] == '\0' ? ' ' : d[i]; /* one line */
	out[o] = '\0';
	curl_free(d);
}

/* ---- the call ------------------------------------------------------------ */

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
	struct call *x = ud;
	if (nro_buf_add(x->body, data, size * n) != 0) {
		x->too_large = 1;
		return 0;
	}
	return size * n;
}

static int header_is(const char *line, size_t len, const char *name, const char **val,
		     size_t *vlen)
{
	size_t nl = strlen(name);
	if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return 0;
	const char *v = line + nl + 1;
	size_t l = len - nl - 1;
	while (l && (*v == ' ' || *v == '\t')) {
		v++;
		l--;
	}
	while (l && (v[l - 1] == '\r' || v[l - 1] == '\n' || v[l - 1] == ' '))
		l--;
	*val = v;
	*vlen = l;
	return 1;
}

/* Headers and trailers both arrive here (libcurl passes HTTP/2 trailers on). */
static size_t on_header(char *line, size_t size, size_t n, void *ud)
{
	struct call *x = ud;
	size_t len = size * n;
	const char *v;
	size_t vl;
	if (header_is(line, len, "grpc-status", &v, &vl)) {
		int st = nro_grpc_parse_status(v, vl);
		x->grpc_status = st < 0 ? -2 : st; /* -2: present but not a number */
	} else if (header_is(line, len, "grpc-message", &v, &vl)) {
		nro_grpc_decode_message(v, vl, x->grpc_message, sizeof x->grpc_message);
	} else if (header_is(line, len, "content-type", &v, &vl)) {
		snprintf(x->content_type, sizeof x->content_type, "%.*s", (int)vl, v);
	}
	return len;
}

struct nro_grpc *nro_grpc_new(const char *socket_path, char *err, size_t errlen)
{
	if (!socket_path || !*socket_path) {
		snprintf(err, errlen, "empty socket path");
		return NULL;
	}
	struct nro_grpc *g = calloc(1, sizeof *g);
	if (!g || !(g->socket_path = strdup(socket_path))) {
		free(g);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* libcurl counts its inits: each client takes one and gives it back */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(g->h = curl_easy_init())) {
		snprintf(err, errlen, "cannot initialize libcurl");
		free(g->socket_path);
		free(g);
		return NULL;
	}
	curl_easy_setopt(g->h, CURLOPT_UNIX_SOCKET_PATH, g->socket_path);
	curl_easy_setopt(g->h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
	curl_easy_setopt(g->h, CURLOPT_ERRORBUFFER, g->curl_err);
	curl_easy_setopt(g->h, CURLOPT_NOSIGNAL, 1L);
	/* libcurl 7.88 sends nothing on an HTTP/2 connection it re-uses over a
	 * unix socket (the call then fails with a framing error): one connection
	 * per call, which costs a local connect() */
	curl_easy_setopt(g->h, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(g->h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(g->h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(g->h, CURLOPT_USERAGENT, "node-runtime-observer grpc-c");
	return g;
}

void nro_grpc_free(struct nro_grpc *g)
{
	if (!g)
		return;
	curl_easy_cleanup(g->h);
	curl_global_cleanup();
	free(g->socket_path);
	free(g);
}

static void fail(struct nro_grpc_result *res, int why, uint16_t err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void fail(struct nro_grpc_result *res, int why, uint16_t err, const char *fmt, ...)
{
	res->fail = why;
	res->err = err;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof res->message, fmt, ap);
	va_end(ap);
	for (char *p = res->message; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

/* Sorts a libcurl failure into connect, timeout or protocol. */
static void transport_failed(struct nro_grpc *g, CURLcode c, const char *method,
			     struct nro_grpc_result *res)
{
	const char *ce = g->curl_err[0] ? g->curl_err : curl_easy_strerror(c);
	long os_errno = 0;
	curl_easy_getinfo(g->h, CURLINFO_OS_ERRNO, &os_errno);
	switch (c) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR: /* reset while sending */
		/* the socket's own errno says more than curl's "localhost port 80" */
		fail(res, NRO_GRPC_CONNECT, NRO_ERR_CONNECT, "%s: cannot connect to %s: %s", method,
		     g->socket_path, os_errno ? strerror((int)os_errno) : ce);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		fail(res, NRO_GRPC_TIMEOUT, NRO_ERR_TIMEOUT, "%s: no answer within the timeout: %s",
		     method, ce);
		break;
	default: /* it answered, but not in HTTP/2 (CURLE_GOT_NOTHING, CURLE_HTTP2, ...) */
		fail(res, NRO_GRPC_PROTOCOL, NRO_ERR_PARSE, "%s: not a gRPC answer: %s", method, ce);
		break;
	}
}

/* Reads the outcome of a completed HTTP exchange: status, type, trailers, frame. */
static int check_answer(const char *method, const struct call *x, struct nro_buf *resp,
			struct nro_grpc_result *res)
{
	res->grpc_status = x->grpc_status < 0 ? -1 : x->grpc_status;
	snprintf(res->grpc_message, sizeof res->grpc_message, "%s", x->grpc_message);
	if (res->http_status != 200) {
		fail(res, NRO_GRPC_PROTOCOL, NRO_ERR_HTTP, "%s: HTTP status %ld, not a gRPC answer",
		     method, res->http_status);
		return -1;
	}
	if (strncasecmp(x->content_type, "application/grpc", 16) != 0) {
		fail(res, NRO_GRPC_PROTOCOL, NRO_ERR_PARSE, "%s: content-type \"%s\", not application/grpc",
		     method, x->content_type);
		return -1;
	}
	if (x->grpc_status == -1 || x->grpc_status == -2) {
		fail(res, NRO_GRPC_PROTOCOL, NRO_ERR_PARSE, "%s: %s grpc-status trailer", method,
		     x->grpc_status == -1 ? "no" : "a malformed");
		return -1;
	}
	if (x->grpc_status != 0) {
		fail(res, NRO_GRPC_STATUS, NRO_ERR_OTHER, "%s: grpc-status %d %s%s%s", method,
		     x->grpc_status, nro_grpc_code_name(x->grpc_status), x->grpc_message[0] ? ": " : "",
		     x->grpc_message);
		return -1;
	}
	const uint8_t *msg;
	size_t msglen;
	char why[160];
	if (nro_grpc_unframe((const uint8_t *)resp->p, resp->len, &msg, &msglen, why, sizeof why) != 0) {
		fail(res, NRO_GRPC_PROTOCOL, NRO_ERR_PARSE, "%s: %s", method, why);
		return -1;
	}
	memmove(resp->p, msg, msglen);
	resp->len = msglen;
	return 0;
}

/* The request's headers, or NULL when out of memory. The server learns the
 * deadline too and gives up when we do (grpc-timeout: at most 8 digits). */
static struct curl_slist *request_headers(int64_t timeout_ms)
{
	char deadline[64];
	if (timeout_ms <= 99999999)
		snprintf(deadline, sizeof deadline, "grpc-timeout: %lldm", (long long)timeout_ms);
	else
		snprintf(deadline, sizeof deadline, "grpc-timeout: %lldS",
			 (long long)(timeout_ms / 1000 > 99999999 ? 99999999 : timeout_ms / 1000));
	const char *lines[] = {"content-type: application/grpc", "te: trailers", deadline};
	struct curl_slist *hdrs = NULL, *l;
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		if (!(l = curl_slist_append(hdrs, lines[i]))) {
			curl_slist_free_all(hdrs);
			return NULL;
		}
		hdrs = l;
	}
	return hdrs;
}

int nro_grpc_unary(struct nro_grpc *g, const char *method, const uint8_t *req, size_t reqlen,
		   int64_t timeout_ms, struct nro_buf *resp, struct nro_grpc_result *res)
{
	memset(res, 0, sizeof *res);
	res->grpc_status = -1;
	nro_buf_reset(resp);
	uint8_t *framed = malloc(reqlen + NRO_GRPC_FRAME);
	if (!framed || nro_grpc_frame(framed, reqlen) != 0) {
		free(framed);
		fail(res, NRO_GRPC_PROTOCOL, NRO_ERR_OTHER, "%s: request too large or out of memory", method);
		return -1;
	}
	if (reqlen)
		memcpy(framed + NRO_GRPC_FRAME, req, reqlen);

	char url[512];
	snprintf(url, sizeof url, "http://localhost%s", method);
	struct curl_slist *hdrs = request_headers(timeout_ms);
	if (!hdrs) {
		free(framed);
		fail(res, NRO_GRPC_PROTOCOL, NRO_ERR_OTHER, "%s: out of memory", method);
		return -1;
	}

	struct call x = {.body = resp, .grpc_status = -1};
	CURL *h = g->h;
	g->curl_err[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)framed);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(reqlen + NRO_GRPC_FRAME));
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
	CURLcode c = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->http_status);
	curl_off_t us = 0;
	curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &us);
	res->duration_us = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	/* nothing on the stack stays referenced by the handle */
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, NULL);
	curl_slist_free_all(hdrs);
	free(framed);

	if (c == CURLE_WRITE_ERROR && x.too_large) {
		fail(res, NRO_GRPC_PROTOCOL, NRO_ERR_TOO_LARGE, "%s: response larger than %zu bytes",
		     method, resp->max);
		return -1;
	}
	if (c != CURLE_OK) {
		transport_failed(g, c, method, res);
		return -1;
	}
	return check_answer(method, &x, resp, res);
}
