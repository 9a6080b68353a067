/*
 * JSON helpers over jsmn (built with JSMN_PARENT_LINKS). The token array
 * grows as needed up to a cap; lookups walk tokens, never the text.
 */
#ifndef NRO_JSON_H
#define NRO_JSON_H

#include <stddef.h>
#include <stdint.h>

/* jsmn's implementation is compiled once, in json.c (which includes
 * <jsmn.h> without JSMN_HEADER before this header); everyone else gets the
 * declarations only. Every user must see the same jsmntok_t layout. */
#ifndef JSMN_PARENT_LINKS
#define JSMN_PARENT_LINKS
#endif
#ifndef JSMN_HEADER
#define JSMN_HEADER
#endif
#include <jsmn.h>
_Static_assert(sizeof(jsmntok_t) == 5 * sizeof(int),
	       "jsmn.h was included without JSMN_PARENT_LINKS before json.h");

#define NRO_JSON_TOKENS_MAX (4u << 20) /* tokens, not bytes */

struct nro_json {
	const char *js; /* borrowed: the caller keeps the text alive */
	size_t len;
	jsmntok_t *tok; /* owned */
	unsigned ntok, cap, max;
};

/* Initializes j; max tokens (0 = NRO_JSON_TOKENS_MAX). Allocates nothing. */
void nro_json_init(struct nro_json *j, unsigned max);
/* Frees the token array; j may be parsed into again after nro_json_init. */
void nro_json_free(struct nro_json *j);
/* Parses js[0..len) (RFC 8259: one value, commas/colons/literals/numbers
 * checked; string contents are checked when decoded); keeps the token array
 * for reuse across calls. Returns 0, or -1 with a static reason ("truncated",
 * "invalid JSON", "too many tokens", "out of memory", "empty", "too large"
 * (len > INT_MAX)). Allocates: j owns the token array on every path; js is
 * borrowed, not copied, and must outlive every lookup on j. */
int nro_json_parse(struct nro_json *j, const char *js, size_t len, const char **why);

/* Index of the token after the whole subtree at i (its next sibling); for
 * a key, after its value. O(log subtree size): a search over token starts. */
int nro_json_skip(const struct nro_json *j, int i);
/* Value of key in object i, or -1 (also when i is not an object). */
int nro_json_key(const struct nro_json *j, int i, const char *key);
/* Dotted path from i: "node.memory.availableBytes"; numeric parts index
 * arrays ("items.0.name"). -1 when any step is missing. */
int nro_json_path(const struct nro_json *j, int i, const char *path);
/* Child n of array i (0-based), or -1. */
int nro_json_index(const struct nro_json *j, int i, int n);
/* Iterate an array's elements or an object's values:
 *   for (int c = nro_json_first(j, arr); c >= 0; c = nro_json_next(j, arr, c))
 * For objects, c is the key token; its value is c + 1. */
int nro_json_first(const struct nro_json *j, int i);
int nro_json_next(const struct nro_json *j, int parent, int c);

int nro_json_is_null(const struct nro_json *j, int i);
/* Token i equals the string s (raw text compare; escapes are not decoded).
 * nro_json_key() and nro_json_path() do decode keys that hold escapes. */
int nro_json_eq(const struct nro_json *j, int i, const char *s);
/* Exact integers: whole token, no fraction or exponent, range-checked. 0/-1. */
int nro_json_i64(const struct nro_json *j, int i, int64_t *out);
int nro_json_u64(const struct nro_json *j, int i, uint64_t *out);
/* A JSON number as a double (finite; strtod on a bounded copy, numbers
 * over 127 characters refused). 0/-1. */
int nro_json_f64(const struct nro_json *j, int i, double *out);
int nro_json_bool(const struct nro_json *j, int i, int *out);
/* Decodes the string token i (escapes, \uXXXX incl. surrogate pairs ->
 * UTF-8) into out[0..outlen), NUL-terminated. Returns its length, or -1 if
 * not a string, malformed (raw control character, bad escape, lone
 * surrogate, \u0000 which a C string cannot hold), or too long. Other raw
 * bytes are copied as they are. out is the caller's; nothing is kept. */
int nro_json_str(const struct nro_json *j, int i, char *out, size_t outlen);
/* RFC 3339 timestamp string ("2026-11-25T21:00:00Z", fractions and offsets)
 * as Unix milliseconds (fraction truncated to ms; 'T'/'t'/' ' and 'Z'/'z'
 * accepted; seconds may be 60). Years 0000-9999; no locale or libc time
 * functions involved. 0/-1. */
int nro_json_time_ms(const struct nro_json *j, int i, int64_t *out);
int nro_parse_rfc3339_ms(const char *s, size_t len, int64_t *out);

#endif
