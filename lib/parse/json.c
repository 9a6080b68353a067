/*
 * JSON helpers over jsmn. jsmn's implementation is compiled here, exactly
 * once: <jsmn.h> is included WITHOUT JSMN_HEADER before json.h (whose own
 * include of <jsmn.h> is then a no-op behind jsmn's include guard).
 *
 * jsmn (non-strict) tokenizes but does not validate: it ignores commas,
 * accepts bare words and several roots. nro_json_parse() therefore walks the
 * tokens once more (linear: every byte between tokens is looked at once) and
 * checks separators, keys, literals and numbers. Brackets need no second
 * look: jsmn (with parent links) already matched every one of them.
 *
 * Tokens are in text order, so "the end of a subtree" is the first token
 * whose start is past the container's end. The parse writes that index for
 * every container into a table kept after the tokens (same allocation), so
 * nro_json_skip() is a lookup instead of a walk over the subtree.
 */
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include "parse/json.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TOKENS_FIRST 64u

void nro_json_init(struct nro_json *j, unsigned max)
{
	j->js = NULL;
	j->len = 0;
	j->tok = NULL;
	j->ntok = j->cap = 0;
	j->max = max ? max : NRO_JSON_TOKENS_MAX;
}

void nro_json_free(struct nro_json *j)
{
	free(j->tok);
	j->tok = NULL;
	j->ntok = j->cap = 0;
	j->js = NULL;
	j->len = 0;
}

/* Byte classes for the gaps between tokens: bit 1 blank, bit 2 a closing
 * bracket (both skippable before a separator), else the separator itself. */
enum { C_WS = 1, C_CLOSE = 2, C_COMMA = 4, C_COLON = 8, C_BAD = 16 };
static const unsigned char cls[256] = {
	[' '] = C_WS, ['\t'] = C_WS, ['\n'] = C_WS, ['\r'] = C_WS,
	['}'] = C_CLOSE, [']'] = C_CLOSE, [','] = C_COMMA, [':'] = C_COLON,
};

/* js[from..to) is: (blank | closing bracket)* [sep] blank*, with sep
 * required when sep != 0. jsmn has already matched every bracket. */
static inline int gap_ok(const char *js, int from, int to, unsigned char sep)
{
	const unsigned char *s = (const unsigned char *)js + from, *e = (const unsigned char *)js + to;
	if (from > to)
		return 0;
	while (s < e && (cls[*s] & (C_WS | C_CLOSE)))
		s++;
	if (sep) {
		if (s == e || cls[*s] != sep)
			return 0;
		s++;
	}
	while (s < e && cls[*s] == C_WS)
		s++;
	return s == e;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 8259 number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int number_ok(const char *s, size_t n)
{
	size_t i = 0;
	if (i < n && s[i] == '-')
		i++;
	if (i >= n || !is_digit(s[i]))
		return 0;
	if (s[i] == '0')
		i++;
	else
		while (i < n && is_digit(s[i]))
			i++;
	if (i < n && s[i] == '.') {
		i++;
		if (i >= n || !is_digit(s[i]))
			return 0;
		while (i < n && is_digit(s[i]))
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || !is_digit(s[i]))
			return 0;
		while (i < n && is_digit(s[i]))
			i++;
	}
	return i == n;
}

static int literal_ok(const char *s, size_t n)
{
	if (n == 4 && (memcmp(s, "true", 4) == 0 || memcmp(s, "null", 4) == 0))
		return 1;
	if (n == 5 && memcmp(s, "false", 5) == 0)
		return 1;
	return number_ok(s, n);
}

static int is_container(const jsmntok_t *t)
{
	return t->type == JSMN_OBJECT || t->type == JSMN_ARRAY;
}

/* The structural check described at the top of the file: in token (= text)
 * order, the gap before each token must hold the separator its place asks
 * for, keys must be strings with one value, primitives valid literals. */
static int validate(const struct nro_json *j)
{
	const jsmntok_t *tok = j->tok;
	int pos = 0; /* just past the previous token's own text */
	for (int k = 0; k < (int)j->ntok; k++) {
		const jsmntok_t *t = &tok[k];
		int p = t->parent;
		/* the separator before k, by its parent's type and whether k is
		 * the first child: C_BAD where no child may be */
		static const unsigned char sep_for[5][2] = {
			[JSMN_UNDEFINED] = { C_BAD, C_BAD }, [JSMN_OBJECT] = { C_COMMA, 0 },
			[JSMN_ARRAY] = { C_COMMA, 0 },      [JSMN_STRING] = { C_COLON, C_COLON },
			[JSMN_PRIMITIVE] = { C_BAD, C_BAD },
		};
		unsigned char sep;
		int in_obj;
		if (p < 0) {
			if (k != 0)
				return 0; /* a second root */
			sep = 0;
			in_obj = 0;
		} else {
			unsigned pt = (unsigned)tok[p].type;
			if (p >= k || pt > JSMN_PRIMITIVE)
				return 0;
			sep = sep_for[pt][k == p + 1];
			if (sep == C_BAD)
				return 0;
			in_obj = pt == JSMN_OBJECT;
			/* inside its container: jsmn closes an object at a key
			 * without a value ({"t"}) yet hangs what follows the
			 * brace on it ({"t"}:"v") */
			int c = pt == JSMN_STRING ? tok[p].parent : p;
			if (c < 0 || t->start < tok[c].start || t->end > tok[c].end)
				return 0;
		}
		switch (t->type) {
		case JSMN_OBJECT:
		case JSMN_ARRAY:
			if (in_obj || !gap_ok(j->js, pos, t->start, sep))
				return 0;
			pos = t->start + 1;
			break;
		case JSMN_STRING:
			if (t->size != in_obj || !gap_ok(j->js, pos, t->start - 1, sep))
				return 0;
			pos = t->end + 1;
			break;
		case JSMN_PRIMITIVE:
			if (in_obj || t->size != 0 || !gap_ok(j->js, pos, t->start, sep) ||
			    !literal_ok(j->js + t->start, (size_t)(t->end - t->start)))
				return 0;
			pos = t->end;
			break;
		default:
			return 0;
		}
	}
	return j->ntok > 0 && gap_ok(j->js, pos, (int)j->len, 0);
}

/* Grows j's token array (j keeps owning it, also on failure). 0/-1. */
static int grow(struct nro_json *j, size_t hint)
{
	size_t cap = j->cap ? (size_t)j->cap * 2 : hint;
	if (cap < TOKENS_FIRST)
		cap = TOKENS_FIRST;
	if (cap > j->max)
		cap = j->max;
	if (cap <= j->cap)
		return -1;
	jsmntok_t *t = realloc(j->tok, cap * (sizeof *t + sizeof(int)));
	if (!t)
		return -1;
	if (j->cap) /* the skip table follows the tokens: move it along */
		memmove(t + cap, t + j->cap, (size_t)j->cap * sizeof(int));
	j->tok = t;
	j->cap = (unsigned)cap;
	return 0;
}

/* The skip table: the token array is allocated with one int per token after
 * its cap tokens; after a successful parse, entry i of a container holds the
 * index of the first token past its subtree (what nro_json_skip() returns).
 * Only json.c allocates j->tok, so the space is always there. */
static int *skip_table(const struct nro_json *j)
{
	return (int *)(void *)(j->tok + j->cap);
}

/* Fills the skip table from the tokens' text positions, as the search over
 * token starts would answer (brackets nest, so one stack suffices). */
static void fill_skip_table(struct nro_json *j, int *stack)
{
	int *after = skip_table(j), depth = 0, n = (int)j->ntok;
	for (int k = 0; k < n; k++) {
		while (depth > 0 && j->tok[k].start >= j->tok[stack[depth - 1]].end)
			after[stack[--depth]] = k;
		if (is_container(&j->tok[k]))
			stack[depth++] = k;
	}
	while (depth > 0)
		after[stack[--depth]] = n;
}

/* jsmn tokenizes (the project does not hand-write a JSON tokenizer), then
 * validate() checks what jsmn lets through. Says why a body is refused. */
static int jsmn_tokens(struct nro_json *j, const char **why)
{
	const char *js = j->js;
	size_t len = j->len;
	jsmn_parser ps;
	j->ntok = 0;
	jsmn_init(&ps);
	for (;;) {
		int r = jsmn_parse(&ps, js, len, j->tok, j->cap);
		if (r >= 0)
			break;
		if (r == JSMN_ERROR_NOMEM) {
			if (j->cap >= j->max) {
				*why = "too many tokens";
				return -1;
			}
			if (grow(j, 0) < 0) {
				*why = "out of memory";
				return -1;
			}
			continue; /* jsmn resumes where it stopped */
		}
		if (r == JSMN_ERROR_PART && !memchr(js, '\0', len))
			*why = "truncated";
		else
			*why = "invalid JSON";
		return -1;
	}
	j->ntok = ps.toknext;
	if (ps.pos < len) { /* jsmn stops at a NUL byte */
		j->ntok = 0;
		*why = "invalid JSON";
		return -1;
	}
	if (j->ntok == 0) {
		*why = "empty";
		return -1;
	}
	if (!validate(j)) {
		j->ntok = 0;
		*why = "invalid JSON";
		return -1;
	}
	int *stack = malloc((size_t)j->ntok * sizeof *stack);
	if (!stack) {
		j->ntok = 0;
		*why = "out of memory";
		return -1;
	}
	fill_skip_table(j, stack);
	free(stack);
	return 0;
}

int nro_json_parse(struct nro_json *j, const char *js, size_t len, const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	j->js = js;
	j->len = len;
	j->ntok = 0;
	if (len > INT_MAX) {
		*why = "too large";
		return -1;
	}
	if (!j->tok && grow(j, len / 16 < 65536 ? len / 16 : 65536) < 0) {
		*why = "out of memory";
		return -1;
	}
	return jsmn_tokens(j, why);
}

static int valid(const struct nro_json *j, int i)
{
	return i >= 0 && (unsigned)i < j->ntok;
}

int nro_json_skip(const struct nro_json *j, int i)
{
	if (!valid(j, i))
		return -1;
	const jsmntok_t *t = &j->tok[i];
	if (t->type == JSMN_STRING && t->size > 0)
		return nro_json_skip(j, i + 1); /* a key: skip its value too */
	if (!is_container(t))
		return i + 1;
	return skip_table(j)[i];
}

/* Four hex digits at *pp (end checked) into *v. 0/-1. */
static int hex4(const char **pp, const char *end, unsigned long *v)
{
	const char *p = *pp;
	if (end - p < 4)
		return -1;
	*v = 0;
	for (int d = 0; d < 4; d++) {
		char h = *p++;
		unsigned x;
		if (h >= '0' && h <= '9')
			x = (unsigned)(h - '0');
		else if (h >= 'a' && h <= 'f')
			x = (unsigned)(h - 'a' + 10);
		else if (h >= 'A' && h <= 'F')
			x = (unsigned)(h - 'A' + 10);
		else
			return -1;
		*v = *v << 4 | x;
	}
	*pp = p;
	return 0;
}

/* The code point of "\uXXXX" (just past "\u" at *pp), a surrogate pair
 * taking the "\uXXXX" that must follow. 0 with *cp, or -1: malformed, a
 * lone surrogate, or U+0000 (never in a name or value we keep). */
static int dec_codepoint(const char **pp, const char *end, unsigned long *cp)
{
	const char *p = *pp;
	unsigned long hi, lo;
	if (hex4(&p, end, &hi) != 0 || (hi >= 0xDC00 && hi <= 0xDFFF))
		return -1;
	if (hi >= 0xD800 && hi <= 0xDBFF) { /* a low surrogate must follow */
		if (end - p < 2 || p[0] != '\\' || p[1] != 'u')
			return -1;
		p += 2;
		if (hex4(&p, end, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
			return -1;
		*cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
	} else {
		*cp = hi;
	}
	if (*cp == 0)
		return -1;
	*pp = p;
	return 0;
}

/* cp as UTF-8 into u; its byte count. */
static int utf8_put(unsigned long cp, char u[4])
{
	if (cp < 0x80) {
		u[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = (char)(0xC0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		u[0] = (char)(0xE0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	u[0] = (char)(0xF0 | cp >> 18);
	u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	u[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* The character a one-letter escape stands for, or -1. */
static int simple_escape(char e)
{
	switch (e) {
	case '"': return '"';
	case '\\': return '\\';
	case '/': return '/';
	case 'b': return '\b';
	case 'f': return '\f';
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	default: return -1;
	}
}

/* One decoded unit of a JSON string body at *pp (< end) into u[0..4).
 * Returns its byte count, or -1 if malformed. */
static int dec_unit(const char **pp, const char *end, char u[4])
{
	const char *p = *pp;
	unsigned char c = (unsigned char)*p++;
	if (c != '\\') {
		if (c < 0x20)
			return -1;
		u[0] = (char)c;
		*pp = p;
		return 1;
	}
	if (p >= end)
		return -1;
	char e = *p++;
	if (e == 'u') {
		unsigned long cp;
		if (dec_codepoint(&p, end, &cp) != 0)
			return -1;
		*pp = p;
		return utf8_put(cp, u);
	}
	int ch = simple_escape(e);
	if (ch < 0)
		return -1;
	u[0] = (char)ch;
	*pp = p;
	return 1;
}

/* String token k decodes to exactly key[0..klen). */
static int str_eq(const struct nro_json *j, int k, const char *key, size_t klen)
{
	const jsmntok_t *t = &j->tok[k];
	const char *p = j->js + t->start, *end = j->js + t->end;
	size_t n = (size_t)(end - p);
	/* decoding never lengthens a string and keeps a first byte that is not
	 * a backslash: most keys are told apart without looking further */
	if (n < klen || (klen && p[0] != key[0] && p[0] != '\\'))
		return 0;
	if (n == klen && memcmp(p, key, n) == 0) /* with a backslash it would decode shorter */
		return !memchr(p, '\\', n);
	if (!memchr(p, '\\', n))
		return 0;
	size_t o = 0;
	while (p < end) {
		char u[4];
		int m = dec_unit(&p, end, u);
		if (m < 0 || klen - o < (size_t)m || memcmp(key + o, u, (size_t)m) != 0)
			return 0;
		o += (size_t)m;
	}
	return o == klen;
}

static int key_n(const struct nro_json *j, int i, const char *key, size_t klen)
{
	if (!valid(j, i) || j->tok[i].type != JSMN_OBJECT)
		return -1;
	int c = i + 1;
	for (int n = 0; n < j->tok[i].size; n++) {
		if (!valid(j, c))
			return -1;
		if (str_eq(j, c, key, klen))
			return c + 1;
		c = nro_json_skip(j, c);
	}
	return -1;
}

int nro_json_key(const struct nro_json *j, int i, const char *key)
{
	return key_n(j, i, key, strlen(key));
}

int nro_json_index(const struct nro_json *j, int i, int n)
{
	if (!valid(j, i) || j->tok[i].type != JSMN_ARRAY || n < 0 || n >= j->tok[i].size)
		return -1;
	int c = i + 1;
	while (n-- > 0 && c >= 0)
		c = nro_json_skip(j, c);
	return c;
}

int nro_json_path(const struct nro_json *j, int i, const char *path)
{
	const char *p = path;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (!valid(j, i))
			return -1;
		if (j->tok[i].type == JSMN_ARRAY) {
			long idx = 0;
			if (n == 0 || n > 9)
				return -1;
			for (size_t k = 0; k < n; k++) {
				if (!is_digit(p[k]))
					return -1;
				idx = idx * 10 + (p[k] - '0');
			}
			i = nro_json_index(j, i, (int)idx);
		} else {
			i = key_n(j, i, p, n);
		}
		if (!dot)
			return i;
		p = dot + 1;
	}
}

int nro_json_first(const struct nro_json *j, int i)
{
	if (!valid(j, i) || !is_container(&j->tok[i]) || j->tok[i].size == 0)
		return -1;
	return i + 1;
}

int nro_json_next(const struct nro_json *j, int parent, int c)
{
	if (!valid(j, parent) || !valid(j, c))
		return -1;
	int n = nro_json_skip(j, c);
	if (!valid(j, n) || j->tok[n].parent != parent)
		return -1;
	return n;
}

static int prim(const struct nro_json *j, int i, const char **s, size_t *n)
{
	if (!valid(j, i) || j->tok[i].type != JSMN_PRIMITIVE)
		return -1;
	*s = j->js + j->tok[i].start;
	*n = (size_t)(j->tok[i].end - j->tok[i].start);
	return 0;
}

int nro_json_is_null(const struct nro_json *j, int i)
{
	const char *s;
	size_t n;
	return prim(j, i, &s, &n) == 0 && n == 4 && memcmp(s, "null", 4) == 0;
}

int nro_json_eq(const struct nro_json *j, int i, const char *s)
{
	if (!valid(j, i) || is_container(&j->tok[i]))
		return 0;
	size_t n = (size_t)(j->tok[i].end - j->tok[i].start);
	return strlen(s) == n && memcmp(j->js + j->tok[i].start, s, n) == 0;
}

/* Magnitude of the all-digit s[0..n) into *out if it is <= lim. 0/-1. */
static int digits_u64(const char *s, size_t n, uint64_t lim, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || (s[0] == '0' && n > 1))
		return -1;
	for (size_t k = 0; k < n; k++) {
		if (!is_digit(s[k]))
			return -1;
		unsigned d = (unsigned)(s[k] - '0');
		/* 18 digits stay below 10^18 <= every lim used: no check needed */
		if (k >= 18 && v > (lim - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int nro_json_i64(const struct nro_json *j, int i, int64_t *out)
{
	const char *s;
	size_t n;
	uint64_t v;
	if (prim(j, i, &s, &n) < 0 || n == 0)
		return -1;
	if (s[0] == '-') {
		if (digits_u64(s + 1, n - 1, (uint64_t)INT64_MAX + 1, &v) < 0)
			return -1;
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
		return 0;
	}
	if (digits_u64(s, n, INT64_MAX, &v) < 0)
		return -1;
	*out = (int64_t)v;
	return 0;
}

int nro_json_u64(const struct nro_json *j, int i, uint64_t *out)
{
	const char *s;
	size_t n;
	if (prim(j, i, &s, &n) < 0)
		return -1;
	return digits_u64(s, n, UINT64_MAX, out);
}

int nro_json_f64(const struct nro_json *j, int i, double *out)
{
	const char *s;
	size_t n;
	char tmp[128];
	if (prim(j, i, &s, &n) < 0 || n >= sizeof tmp || !number_ok(s, n))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	char *e;
	errno = 0;
	double v = strtod(tmp, &e); /* the tools never call setlocale(): "C" */
	if (e != tmp + n || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int nro_json_bool(const struct nro_json *j, int i, int *out)
{
	const char *s;
	size_t n;
	if (prim(j, i, &s, &n) < 0)
		return -1;
	if (n == 4 && memcmp(s, "true", 4) == 0)
		*out = 1;
	else if (n == 5 && memcmp(s, "false", 5) == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

int nro_json_str(const struct nro_json *j, int i, char *out, size_t outlen)
{
	if (!valid(j, i) || j->tok[i].type != JSMN_STRING || outlen == 0)
		return -1;
	const char *p = j->js + j->tok[i].start, *end = j->js + j->tok[i].end;
	size_t o = 0;
	/* a run without escapes or control characters is copied as it is */
	while (p < end && (unsigned char)*p >= 0x20 && *p != '\\' && o < outlen - 1)
		out[o++] = *p++;
	while (p < end) {
		char u[4];
		int m = dec_unit(&p, end, u);
		if (m < 0 || outlen - 1 - o < (size_t)m)
			return -1;
		memcpy(out + o, u, (size_t)m);
		o += (size_t)m;
	}
	if (o > INT_MAX)
		return -1;
	out[o] = '\0';
	return (int)o;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* n digits at s into *v. 0/-1. */
static int fixed_digits(const char *s, int n, unsigned *v)
{
	unsigned x = 0;
	for (int k = 0; k < n; k++) {
		if (!is_digit(s[k]))
			return -1;
		x = x * 10 + (unsigned)(s[k] - '0');
	}
	*v = x;
	return 0;
}

int nro_parse_rfc3339_ms(const char *s, size_t len, int64_t *out)
{
	static const unsigned char mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned y, mo, d, h, mi, sec, ms = 0, oh = 0, om = 0;
	int sign = 0;
	size_t i;
	if (len < 20 || fixed_digits(s, 4, &y) < 0 || s[4] != '-' ||
	    fixed_digits(s + 5, 2, &mo) < 0 || s[7] != '-' || fixed_digits(s + 8, 2, &d) < 0 ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || fixed_digits(s + 11, 2, &h) < 0 ||
	    s[13] != ':' || fixed_digits(s + 14, 2, &mi) < 0 || s[16] != ':' ||
	    fixed_digits(s + 17, 2, &sec) < 0)
		return -1;
	i = 19;
	if (s[i] == '.') {
		size_t f0 = ++i;
		while (i < len && is_digit(s[i])) {
			if (i - f0 < 3)
				ms = ms * 10 + (unsigned)(s[i] - '0');
			i++;
		}
		if (i == f0)
			return -1;
		for (size_t k = i - f0; k < 3; k++)
			ms *= 10;
	}
	if (i >= len)
		return -1;
	if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		sign = s[i] == '-' ? -1 : 1;
		if (len - i < 6 || fixed_digits(s + i + 1, 2, &oh) < 0 || s[i + 3] != ':' ||
		    fixed_digits(s + i + 4, 2, &om) < 0)
			return -1;
		i += 6;
	} else {
		return -1;
	}
	if (i != len)
		return -1;
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (unsigned)(mo == 2 && leap) || h > 23 ||
	    mi > 59 || sec > 60 || oh > 23 || om > 59)
		return -1;
	int64_t t = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + sec;
	t -= (int64_t)sign * ((int64_t)oh * 3600 + (int64_t)om * 60);
	*out = t * 1000 + ms;
	return 0;
}

int nro_json_time_ms(const struct nro_json *j, int i, int64_t *out)
{
	char buf[64];
	int n = nro_json_str(j, i, buf, sizeof buf);
	if (n < 0)
		return -1;
	return nro_parse_rfc3339_ms(buf, (size_t)n, out);
}
