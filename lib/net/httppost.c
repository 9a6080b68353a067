#include "net/httppost.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <zlib.h>

#define RESPONSE_MAX (64u << 10)

struct nro_http_post {
	CURL *h;
	char **lines; /* our copies of the extra headers, wiped on free */
	size_t nlines;
	struct nro_buf gz;
	struct nro_http_res res;
	char curl_err[CURL_ERROR_SIZE];
};

static void wipe_lines(struct nro_http_post *p)
{
	for (size_t i = 0; i < p->nlines; i++) {
		volatile char *c = p->lines[i];
		while (*c)
			*c++ = 0;
		free(p->lines[i]);
	}
	free(p->lines);
	p->lines = NULL;
	p->nlines = 0;
}

static int set_tls(CURL *h, const struct nro_http_cfg *cfg)
{
	int rc = 0;
	if (cfg->ca_file)
		rc |= curl_easy_setopt(h, CURLOPT_CAINFO, cfg->ca_file) != CURLE_OK;
	if (cfg->cert_file)
		rc |= curl_easy_setopt(h, CURLOPT_SSLCERT, cfg->cert_file) != CURLE_OK;
	if (cfg->key_file)
		rc |= curl_easy_setopt(h, CURLOPT_SSLKEY, cfg->key_file) != CURLE_OK;
	return rc ? -1 : 0;
}

struct nro_http_post *nro_http_post_new(const struct nro_http_cfg *cfg, char *err, size_t errlen)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "libcurl: global init failed");
		return NULL;
	}
	struct nro_http_post *p = calloc(1, sizeof *p);
	if (!p || !(p->h = curl_easy_init())) {
		free(p);
		curl_global_cleanup();
		snprintf(err, errlen, "libcurl: out of memory");
		return NULL;
	}
	CURL *h = p->h;
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, p->curl_err);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "node-runtime-observer");
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	if (cfg->timeout_ms > 0)
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
	if (set_tls(h, cfg) != 0) {
		snprintf(err, errlen, "libcurl: TLS options refused");
		nro_http_post_free(p);
		return NULL;
	}
	nro_buf_init(&p->gz, 256u << 20);
	nro_buf_init(&p->res.body, RESPONSE_MAX);
	return p;
}

void nro_http_post_free(struct nro_http_post *p)
{
	if (!p)
		return;
	wipe_lines(p);
	curl_easy_cleanup(p->h);
	nro_buf_free(&p->gz);
	nro_buf_free(&p->res.body);
	free(p);
	curl_global_cleanup();
}

int nro_http_post_headers(struct nro_http_post *p, const char *const *lines, size_t n)
{
	wipe_lines(p);
	p->lines = calloc(n + 1, sizeof *p->lines);
	if (!p->lines)
		return -1;
	for (size_t i = 0; i < n; i++) {
		p->lines[i] = strdup(lines[i]);
		if (!p->lines[i])
			return -1;
		p->nlines++;
	}
	return 0;
}

/* gzip (RFC 1952) of in[0..len) into p->gz, through a 64 KiB window; level 1:
 * telemetry compresses well at a fraction of the default level's CPU. */
static int gzip_body(struct nro_http_post *p, const void *in, size_t len)
{
	z_stream z = {0};
	unsigned char out[64u << 10];
	if (len > UINT32_MAX ||
	    deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -1;
	nro_buf_reset(&p->gz);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	int zrc = Z_OK, rc = 0;
	while (zrc == Z_OK && rc == 0) {
		z.next_out = out;
		z.avail_out = sizeof out;
		zrc = deflate(&z, Z_FINISH);
		rc = nro_buf_add(&p->gz, out, sizeof out - z.avail_out);
	}
	deflateEnd(&z);
	return rc == 0 && zrc == Z_STREAM_END ? 0 : -1;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct nro_buf *b = ctx;
	size_t len = size * n, room = b->max - b->len;
	nro_buf_add(b, data, len < room ? len : room); /* the rest is not needed */
	return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	struct nro_http_res *r = ctx;
	size_t len = size * n;
	static const char name[] = "retry-after:";
	if (len > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
		const char *v = data + sizeof name - 1;
		size_t vl = len - (sizeof name - 1);
		while (vl && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
			vl--;
		r->retry_after_ms = nro_retry_after_ms(v, vl);
	}
	return len;
}

int64_t nro_retry_after_ms(const char *value, size_t len)
{
	char tmp[64];
	if (!len || len >= sizeof tmp)
		return -1;
	memcpy(tmp, value, len);
	tmp[len] = '\0';
	if (strspn(tmp, "0123456789") == len)
		return len > 9 ? 999999999000LL : strtoll(tmp, NULL, 10) * 1000;
	time_t when = curl_getdate(tmp, NULL);
	if (when == (time_t)-1)
		return -1;
	time_t now = time(NULL);
	return when > now ? (int64_t)(when - now) * 1000 : 0;
}

/* The request's own headers: the caller's, then Content-Type and
 * Content-Encoding, in a list freed after the call. */
static struct curl_slist *request_headers(struct nro_http_post *p, const char *content_type, int gzip)
{
	char ct[128];
	snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
	struct curl_slist *l = NULL, *t;
	for (size_t i = 0; i < p->nlines; i++) {
		if (!(t = curl_slist_append(l, p->lines[i])))
			goto fail;
		l = t;
	}
	if (!(t = curl_slist_append(l, ct)))
		goto fail;
	l = t;
	if (gzip) {
		if (!(t = curl_slist_append(l, "Content-Encoding: gzip")))
			goto fail;
		l = t;
	}
	if (!(t = curl_slist_append(l, "Expect:"))) /* no 100-continue round trip */
		goto fail;
	return t;
fail:
	curl_slist_free_all(l);
	return NULL;
}

int nro_http_post(struct nro_http_post *p, const char *url, const char *content_type,
		  const void *body, size_t len, int gzip, struct nro_http_res **res)
{
	struct nro_http_res *r = &p->res;
	*res = r;
	r->status = 0;
	r->retry_after_ms = -1;
	r->message[0] = '\0';
	nro_buf_reset(&r->body);
	if (gzip) {
		if (gzip_body(p, body, len) != 0) {
			snprintf(r->message, sizeof r->message, "gzip failed (%zu bytes)", len);
			return -1;
		}
		body = p->gz.p;
		len = p->gz.len;
	}
	struct curl_slist *hl = request_headers(p, content_type, gzip);
	if (!hl) {
		snprintf(r->message, sizeof r->message, "out of memory");
		return -1;
	}
	CURL *h = p->h;
	p->curl_err[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	CURLcode cc = curl_easy_perform(h);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hl);
	if (cc != CURLE_OK) {
		snprintf(r->message, sizeof r->message, "%s", p->curl_err[0] ? p->curl_err : curl_easy_strerror(cc));
		return -1;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	snprintf(r->message, sizeof r->message, "HTTP %ld", r->status);
	return 0;
}
