#include "run/jsoncollect.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

void nro_jsoncollect_init(struct nro_jsoncollect *jc, struct nro_collector *c, const char *path)
{
	jc->c = c;
	jc->path = path;
	uint64_t cap = c->t.kubelet.max_body ? c->t.kubelet.max_body : NRO_BODY_MAX_DEFAULT;
	if (cap > SIZE_MAX - 1)
		cap = SIZE_MAX - 1;
	nro_buf_init(&jc->body, (size_t)cap);
	nro_buf_init(&jc->scratch, (size_t)cap);
	nro_json_init(&jc->json, 0);
	c->after_poll = nro_jsoncollect_shrink;
	c->after_poll_ctx = jc;
}

void nro_jsoncollect_free(struct nro_jsoncollect *jc)
{
	nro_buf_free(&jc->body);
	nro_buf_free(&jc->scratch);
	nro_json_free(&jc->json);
}

/* Buffers kept between polls stay small: a node that once had a huge body
 * (10,000 pods) gives its memory back instead of holding the peak. */
#define KEEP_BODY_BYTES (8u << 20)
#define KEEP_TOKENS (512u << 10)

static void release_if_big(struct nro_jsoncollect *jc)
{
	if (jc->body.cap > KEEP_BODY_BYTES) {
		size_t max = jc->body.max;
		nro_buf_free(&jc->body);
		nro_buf_init(&jc->body, max);
	}
	if (jc->scratch.cap > KEEP_BODY_BYTES) {
		size_t max = jc->scratch.max;
		nro_buf_free(&jc->scratch);
		nro_buf_init(&jc->scratch, max);
	}
	if (jc->json.cap > KEEP_TOKENS) {
		nro_json_free(&jc->json);
		nro_json_init(&jc->json, 0);
	}
}

/* Storage kept between polls follows what the polls need: once a poll used
 * less than a quarter of a buffer (the node shrank: pods deleted), the
 * buffer goes and the next poll grows one to its own size. Buffers grow by
 * doubling, so a steady body never trips this. */
#define KEEP_MIN_BYTES (256u << 10)
#define KEEP_MIN_TOKENS (16u << 10)

void nro_jsoncollect_shrink(void *ctx)
{
	struct nro_jsoncollect *jc = ctx;
	if (jc->body.cap > KEEP_MIN_BYTES && jc->body.cap / 4 > jc->body.len) {
		size_t max = jc->body.max;
		nro_buf_free(&jc->body);
		nro_buf_init(&jc->body, max);
	}
	if (jc->scratch.cap > KEEP_MIN_BYTES) { /* only the longest strings need it */
		size_t max = jc->scratch.max;
		nro_buf_free(&jc->scratch);
		nro_buf_init(&jc->scratch, max);
	}
	if (jc->json.cap > KEEP_MIN_TOKENS && jc->json.cap / 4 > jc->json.ntok) {
		nro_json_free(&jc->json);
		nro_json_init(&jc->json, 0);
	}
}

/* Real kubelet bodies spend at least 8 bytes a token (/pods about 12):
 * allow that many tokens for a body under --max-body, so the token cap
 * never refuses a body the body cap admitted, while a dense pathological
 * body ("[1,1,1,...]") still stops at one token per 8 bytes. */
static unsigned token_cap(size_t body_len)
{
	size_t n = body_len / 8;
	if (n < NRO_JSON_TOKENS_MAX)
		return NRO_JSON_TOKENS_MAX;
	return n > UINT32_MAX / 2 ? UINT32_MAX / 2 : (unsigned)n;
}

int nro_jsoncollect_fetch(struct nro_jsoncollect *jc, struct nro_fetch *res)
{
	jc->skipped = 0;
	jc->first_skip[0] = '\0';
	release_if_big(jc); /* what a refused body left behind */
	if (nro_kubelet_get_buf(jc->c->kubelet, jc->path, &jc->body, res) != 0) {
		release_if_big(jc);
		return -1;
	}
	const char *why = NULL;
	jc->json.max = token_cap(jc->body.len);
	if (nro_json_parse(&jc->json, jc->body.p ? jc->body.p : "", jc->body.len, &why) != 0) {
		res->err = NRO_ERR_PARSE;
		snprintf(res->message, sizeof res->message,
			 "GET %s: invalid JSON (%s) in a %zu-byte body", jc->path,
			 why ? why : "?", jc->body.len);
		release_if_big(jc);
		return -1;
	}
	return 0;
}

/* Length of the longest prefix of s[0..n) that ends on a UTF-8 boundary. */
static size_t utf8_cut(const char *s, size_t n)
{
	size_t i = n;
	/* step back over continuation bytes to the lead byte of the last char */
	while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80 && n - i < 3)
		i--;
	if (i == 0)
		return n;
	unsigned char lead = (unsigned char)s[i - 1];
	size_t want = lead < 0x80 ? 1 : (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 :
		      (lead & 0xF8) == 0xF0 ? 4 : 1;
	size_t have = n - (i - 1);
	return have >= want ? n : i - 1;
}

int nro_jc_str(struct nro_jsoncollect *jc, int i, char *out, size_t outlen)
{
	const struct nro_json *j = &jc->json;
	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (i < 0 || (unsigned)i >= j->ntok || j->tok[i].type != JSMN_STRING)
		return -1;
	size_t raw = (size_t)(j->tok[i].end - j->tok[i].start);
	if (raw < outlen) /* decoding never lengthens a string */
		return nro_json_str(j, i, out, outlen);
	nro_buf_reset(&jc->scratch);
	if (raw + 1 > jc->scratch.cap) {
		/* grow once to the raw length (decoded text is never longer) */
		if (nro_buf_add(&jc->scratch, j->js + j->tok[i].start, raw) != 0)
			return -1;
		nro_buf_reset(&jc->scratch);
	}
	int n = nro_json_str(j, i, jc->scratch.p, jc->scratch.cap);
	if (n < 0)
		return -1;
	size_t take = (size_t)n < outlen - 1 ? (size_t)n : outlen - 1;
	take = utf8_cut(jc->scratch.p, take);
	memcpy(out, jc->scratch.p, take);
	out[take] = '\0';
	return (int)take;
}

int nro_jc_key_str(struct nro_jsoncollect *jc, int obj, const char *key, char *out,
		   size_t outlen)
{
	int v = nro_json_key(&jc->json, obj, key);
	if (v < 0) {
		if (outlen)
			out[0] = '\0';
		return -1;
	}
	return nro_jc_str(jc, v, out, outlen);
}

int nro_jc_num(const struct nro_json *j, int i, double *out)
{
	uint64_t u;
	if (nro_json_u64(j, i, &u) == 0) {
		*out = (double)u;
		return 0;
	}
	return nro_json_f64(j, i, out);
}

int nro_jc_key_is(const struct nro_json *j, int k, const char *s, size_t n)
{
	return (size_t)(j->tok[k].end - j->tok[k].start) == n &&
	       memcmp(j->js + j->tok[k].start, s, n) == 0;
}

int nro_jsoncollect_refuse(struct nro_fetch *res, const char *target, const char *why)
{
	res->err = NRO_ERR_PARSE;
	snprintf(res->message, sizeof res->message, "GET %s: %s", target, why);
	return -1;
}

void nro_jsoncollect_skip(struct nro_jsoncollect *jc, const char *fmt, ...)
{
	if (jc->skipped++ == 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(jc->first_skip, sizeof jc->first_skip, fmt, ap);
		va_end(ap);
	}
}

void nro_jsoncollect_report(struct nro_jsoncollect *jc)
{
	release_if_big(jc);
	if (!jc->skipped)
		return;
	jc->c->degraded = 1;
	snprintf(jc->c->degraded_msg, sizeof jc->c->degraded_msg, "%s: %u %s skipped (first: %s)",
		 jc->path, jc->skipped, jc->skipped == 1 ? "entry" : "entries", jc->first_skip);
}
