/*
 * The runtime of the JSON collectors (collector-pods, collector-summary):
 * one body buffer and one jsmn token array kept across polls (reset, and
 * freed after a poll when they grew past 8 MiB / 512K tokens, so a huge
 * body's peak is given back, or when that poll used under a quarter of
 * them: nro_jsoncollect_shrink, the collector's after_poll), a token cap that follows the body
 * (one token per 8 bytes, at least NRO_JSON_TOKENS_MAX), a --max-body cap applied through the kubelet client
 * configuration, a fetch that turns a bad body into a failed poll with
 * NRO_ERR_PARSE and a one-line reason, and string helpers that cap instead
 * of failing.
 *
 *   struct nro_collector c;
 *   struct nro_jsoncollect jc;
 *   const struct nro_optdef opts[] = {NRO_JSONCOLLECT_OPTS(&c), {0}};
 *   nro_collector_init(&c, ..., "/pods", 15000, opts, argc, argv);
 *   nro_jsoncollect_init(&jc, &c, "/pods");
 *   ... poll: if (nro_jsoncollect_fetch(&jc, res) != 0) return -1; walk jc.json ...
 *   r = nro_collector_run(&c, poll, &jc);
 *   nro_jsoncollect_free(&jc);
 */
#ifndef NRO_JSONCOLLECT_H
#define NRO_JSONCOLLECT_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "run/collector.h"
#include "parse/json.h"

struct nro_jsoncollect {
	struct nro_collector *c;
	const char *path;
	struct nro_buf body;    /* owned; storage reused across polls */
	struct nro_json json;   /* owned; token array reused across polls */
	struct nro_buf scratch; /* owned; decoding strings longer than a caller's buffer */
	unsigned skipped;       /* entries of this poll that could not be read */
	char first_skip[200];   /* what the first of them was */
};

/* After a poll (set as c->after_poll by nro_jsoncollect_init): frees the
 * body, token and scratch storage that poll used less than a quarter of. */
void nro_jsoncollect_shrink(void *ctx);

/* --max-body SIZE (NRO_MAX_BODY): bytes, or K/M/G (powers of 1024, as
 * nro-fetch takes it); writes the kubelet client's cap in c's options. */
#define NRO_JSONCOLLECT_OPTS(c)                                                            \
	{"max-body", 0, "NRO_MAX_BODY", NRO_OPT_FUNC, &(c)->t.kubelet.max_body,              \
	 nro_opt_size, "SIZE", "refuse a body larger than SIZE (bytes, or K/M/G; default 64M)"}

/* Sets jc up for c (after nro_collector_init). Allocates nothing yet. */
void nro_jsoncollect_init(struct nro_jsoncollect *jc, struct nro_collector *c, const char *path);
/* Frees the buffers and tokens; jc may be initialized again. */
void nro_jsoncollect_free(struct nro_jsoncollect *jc);

/* Fetches jc->path and parses it into jc->json (token 0 is the root).
 * Returns 0, or -1 with res filled: the kubelet client's error, or
 * NRO_ERR_PARSE with "GET PATH: invalid JSON (reason) in an N-byte body". */
int nro_jsoncollect_fetch(struct nro_jsoncollect *jc, struct nro_fetch *res);

/* Decodes string token i into out[0..outlen), NUL-terminated, cutting a
 * value that does not fit at a UTF-8 character boundary instead of failing.
 * Returns the length written, or -1 (out = "") when i is not a well-formed
 * string. */
int nro_jc_str(struct nro_jsoncollect *jc, int i, char *out, size_t outlen);
/* Same for the value of key in object obj; -1 (out = "") when missing. */
int nro_jc_key_str(struct nro_jsoncollect *jc, int obj, const char *key, char *out,
		   size_t outlen);
/* A JSON number as a double: exact integers take the fast path. 0 or -1. */
int nro_jc_num(const struct nro_json *j, int i, double *out);
/* Matches key token k (raw text, no escapes) against s[0..n). */
int nro_jc_key_is(const struct nro_json *j, int k, const char *s, size_t n);

/* Counts an entry the poll could not read (the poll goes on); the first
 * one's description is kept for the report. */
void nro_jsoncollect_skip(struct nro_jsoncollect *jc, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* At the end of a poll: marks it degraded ("N entries skipped (first: ...)")
 * if anything was skipped, and releases buffers that grew too big to keep.
 * Nothing parsed may be used after it. */
void nro_jsoncollect_report(struct nro_jsoncollect *jc);

/* Fails a poll whose body parsed but is not what TARGET serves: fills res
 * (parse error, "GET TARGET: why") and returns -1 for the poll to return. */
int nro_jsoncollect_refuse(struct nro_fetch *res, const char *target, const char *why);

#endif
