/*
 * Streaming Prometheus text-format parser (see prom.h for the grammar).
 *
 * Bytes are appended to one line buffer until a '\n' arrives; the complete
 * line is then parsed in place: names and label values are NUL-terminated
 * and unescaped inside the buffer, so a sample costs no allocation. The
 * buffer grows by doubling up to line_max and never beyond; a longer line is
 * counted as malformed and its remaining bytes are dropped up to the next
 * newline.
 */
#include "parse/prom.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "wire/record.h"

#define LINE_FIRST 4096u
#define LINE_MIN 64u

void nro_prom_init(struct nro_prom *p, size_t line_max, nro_prom_fn fn, void *ctx)
{
	memset(p, 0, sizeof *p);
	p->line_max = line_max ? line_max : NRO_PROM_LINE_MAX;
	if (p->line_max < LINE_MIN)
		p->line_max = LINE_MIN;
	p->fn = fn;
	p->ctx = ctx;
	nro_prom_reset(p);
}

void nro_prom_free(struct nro_prom *p)
{
	free(p->line);
	p->line = NULL;
	p->line_cap = 0;
	p->len = 0;
}

void nro_prom_reset(struct nro_prom *p)
{
	p->lines = p->samples = p->malformed = p->filtered = 0;
	p->bad_why = NULL;
	p->bad_line = 0;
	p->eof = 0;
	p->error = NULL;
	p->len = 0;
	p->skipping = 0;
	p->failed = 0;
	p->fam_len = 0;
	p->family[0] = '\0';
	p->fam_type = NRO_MT_UNTYPED;
	p->fam_keep = -1;
}

void nro_prom_set_filter(struct nro_prom *p, const struct nro_prom_filter *f)
{
	p->filter = f;
	p->fam_keep = -1;
}

/* ---- character classes and small readers ------------------------------ */

static int blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Character classes: CH_LABEL [a-zA-Z0-9_], CH_NAME adds ':', CH_FIRST
 * [a-zA-Z_] (label names start so), CH_DIGIT [0-9]. */
enum { CH_LABEL = 1, CH_NAME = 2, CH_FIRST = 4, CH_DIGIT = 8 };
#define R3(c) [c] = CH_LABEL | CH_NAME | CH_FIRST
#define D(c) [c] = CH_LABEL | CH_NAME | CH_DIGIT
static const unsigned char ch[256] = {
	D('0'), D('1'), D('2'), D('3'), D('4'), D('5'), D('6'), D('7'), D('8'), D('9'),
	R3('a'), R3('b'), R3('c'), R3('d'), R3('e'), R3('f'), R3('g'), R3('h'), R3('i'),
	R3('j'), R3('k'), R3('l'), R3('m'), R3('n'), R3('o'), R3('p'), R3('q'), R3('r'),
	R3('s'), R3('t'), R3('u'), R3('v'), R3('w'), R3('x'), R3('y'), R3('z'),
	R3('A'), R3('B'), R3('C'), R3('D'), R3('E'), R3('F'), R3('G'), R3('H'), R3('I'),
	R3('J'), R3('K'), R3('L'), R3('M'), R3('N'), R3('O'), R3('P'), R3('Q'), R3('R'),
	R3('S'), R3('T'), R3('U'), R3('V'), R3('W'), R3('X'), R3('Y'), R3('Z'),
	R3('_'), [':'] = CH_NAME,
};
#undef R3
#undef D

static int alpha_(char c)
{
	return ch[(unsigned char)c] & CH_FIRST;
}

static int digit(char c)
{
	return ch[(unsigned char)c] & CH_DIGIT;
}

static int xdigit(char c)
{
	return digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int name_start(char c)
{
	return alpha_(c) || c == ':';
}

static int name_char(char c)
{
	return ch[(unsigned char)c] & CH_NAME;
}

static int label_char(char c)
{
	return ch[(unsigned char)c] & CH_LABEL;
}

/* SWAR: any byte of x is zero / has its high bit set. */
#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull
#define HASZERO(x) (((x) - ONES) & ~(x) & HIGHS)

/* The first '"', '\\' or NUL in s[0..end), or end; *hi becomes nonzero if
 * a byte before it has bit 7 set (a label value that is all ASCII needs no
 * UTF-8 check). It may also become nonzero for a high byte in the block
 * just after it: utf8_ok() then runs for nothing, and still decides. */
static inline char *find_quote_or_backslash(char *s, const char *end, unsigned *hi)
{
#ifdef __SSE2__
	const __m128i q = _mm_set1_epi8('"'), b = _mm_set1_epi8('\\'), z = _mm_setzero_si128();
	while (end - s >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)s);
		unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(
			_mm_or_si128(_mm_cmpeq_epi8(x, q), _mm_cmpeq_epi8(x, b)), _mm_cmpeq_epi8(x, z)));
		unsigned h = (unsigned)_mm_movemask_epi8(x);
		if (m) {
			unsigned k = (unsigned)__builtin_ctz(m);
			*hi |= h;
			return s + k;
		}
		*hi |= h;
		s += 16;
	}
#else
	while (end - s >= 8) {
		uint64_t x;
		memcpy(&x, s, 8);
		uint64_t q = x ^ (ONES * '"'), b = x ^ (ONES * '\\');
		if (HASZERO(q) | HASZERO(b) | HASZERO(x))
			break;
		*hi |= (x & HIGHS) != 0;
		s += 8;
	}
#endif
	while (s < end && *s != '"' && *s != '\\' && *s) {
		*hi |= (unsigned char)*s & 0x80u;
		s++;
	}
	return s;
}

/* Just past the run of s[0..end) in [a-zA-Z0-9_] (with ':' too when colon):
 * a metric name (colon) or a label name. */
static inline const char *scan_name(const char *s, const char *end, int colon)
{
#ifdef __SSE2__
	const __m128i c20 = _mm_set1_epi8(0x20), la = _mm_set1_epi8('a' - 1),
		      lz = _mm_set1_epi8('z' + 1), d0 = _mm_set1_epi8('0' - 1),
		      d9 = _mm_set1_epi8('9' + 1), us = _mm_set1_epi8('_'),
		      co = _mm_set1_epi8(colon ? ':' : '_');
	while (end - s >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)s);
		__m128i l = _mm_or_si128(x, c20); /* A-Z -> a-z; bytes >= 0x80 stay negative */
		__m128i ok = _mm_and_si128(_mm_cmpgt_epi8(l, la), _mm_cmplt_epi8(l, lz));
		ok = _mm_or_si128(ok, _mm_and_si128(_mm_cmpgt_epi8(x, d0), _mm_cmplt_epi8(x, d9)));
		ok = _mm_or_si128(ok, _mm_or_si128(_mm_cmpeq_epi8(x, us), _mm_cmpeq_epi8(x, co)));
		unsigned m = ~(unsigned)_mm_movemask_epi8(ok) & 0xFFFFu;
		if (m)
			return s + __builtin_ctz(m);
		s += 16;
	}
#endif
	if (colon)
		while (s < end && name_char(*s))
			s++;
	else
		while (s < end && label_char(*s))
			s++;
	return s;
}

static char *skip_blanks(char *s, const char *end)
{
	while (s < end && blank(*s))
		s++;
	return s;
}

/* s[0..n) equals the lower-case word w, ignoring ASCII case. */
static int ieq(const char *s, size_t n, const char *w)
{
	size_t k = 0;
	for (; k < n && w[k]; k++) {
		char c = s[k];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != w[k])
			return 0;
	}
	return k == n && w[k] == '\0';
}

/* Plain integers of up to 15 digits are exact in a double: no strtod.
 * 0 with *out, or -1 for anything else. */
static inline int small_int(const char *s, size_t n, double *out)
{
	uint64_t v = 0;
	size_t k = 0;
	if (n > 15)
		return -1;
	while (k < n && digit(s[k]))
		v = v * 10 + (uint64_t)(s[k++] - '0');
	if (k != n)
		return -1;
	*out = (double)v;
	return 0;
}

#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
/* Folds the digits at s[*k..n) into *m, counting significant ones in *sig
 * (over 19: -1) and every digit in *digits; *dexp goes down by one per digit
 * when frac. */
static inline int fold_digits(const char *s, size_t n, size_t *k, uint64_t *m, int *sig,
			      size_t *digits, int *dexp, int frac)
{
	for (; *k < n && digit(s[*k]); (*k)++, (*digits)++, *dexp -= frac)
		if (*m || s[*k] != '0') {
			if (++*sig > 19)
				return -1;
			*m = *m * 10 + (uint64_t)(s[*k] - '0');
		}
	return 0;
}

/* An exponent "e[+-]ddd" at s[*k..n) added to *dexp; -1 if malformed or huge. */
static inline int fold_exponent(const char *s, size_t n, size_t *k, int *dexp)
{
	if (*k >= n || (s[*k] != 'e' && s[*k] != 'E'))
		return 0;
	int eneg = 0, ev = 0;
	(*k)++;
	if (*k < n && (s[*k] == '+' || s[*k] == '-'))
		eneg = s[(*k)++] == '-';
	size_t e0 = *k;
	for (; *k < n && digit(s[*k]); (*k)++) {
		if (ev > 1000)
			return -1;
		ev = ev * 10 + (s[*k] - '0');
	}
	if (*k == e0)
		return -1;
	*dexp += eneg ? -ev : ev;
	return 0;
}

/* Decimals with at most 19 significant digits and a power of ten up to 22
 * either way: m and 10^k are exact doubles, so one multiplication or
 * division rounds once, correctly, as strtod() does (Clinger). 0 with
 * *out, or -1: take the slow path. */
static inline int fast_decimal(const char *s, size_t n, double *out)
{
	static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
				     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
				     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
	size_t k = 0, digits = 0;
	int fneg = 0, sig = 0, dexp = 0;
	uint64_t m = 0;
	if (s[0] == '+' || s[0] == '-') {
		fneg = s[0] == '-';
		k = 1;
	}
	if (fold_digits(s, n, &k, &m, &sig, &digits, &dexp, 0) != 0)
		return -1;
	if (k < n && s[k] == '.') {
		k++;
		if (fold_digits(s, n, &k, &m, &sig, &digits, &dexp, 1) != 0)
			return -1;
	}
	if (digits == 0 || fold_exponent(s, n, &k, &dexp) != 0)
		return -1;
	if (k != n || m > (1ull << 53) || dexp < -22 || dexp > 22)
		return -1;
	double v = (double)m;
	v = dexp < 0 ? v / p10[-dexp] : v * p10[dexp];
	*out = fneg ? -v : v;
	return 0;
}
#else
static inline int fast_decimal(const char *s, size_t n, double *out)
{
	(void)s, (void)n, (void)out;
	return -1;
}
#endif

/* Inf, +Inf, -Inf, Infinity, NaN in any case (not -NaN). 0 with *out, or -1. */
static int special_float(const char *s, size_t n, double *out)
{
	size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
	if (ieq(s + i, n - i, "inf") || ieq(s + i, n - i, "infinity")) {
		*out = s[0] == '-' ? -INFINITY : INFINITY;
		return 0;
	}
	if (i == 0 && ieq(s, n, "nan")) {
		*out = NAN;
		return 0;
	}
	return -1;
}

/* The grammar of Go's floats, checked before strtod, which also takes
 * "nan(...)", blanks and more: decimal or hex mantissa, optional exponent
 * (required for hex). 1 if s[0..n) follows it. */
static int float_grammar(const char *s, size_t n)
{
	size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0, m = 0;
	if (n - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
		i += 2;
		while (i < n && xdigit(s[i]))
			i++, m++;
		if (i < n && s[i] == '.')
			for (i++; i < n && xdigit(s[i]); i++)
				m++;
		if (m == 0 || i >= n || (s[i] != 'p' && s[i] != 'P'))
			return 0;
	} else {
		while (i < n && digit(s[i]))
			i++, m++;
		if (i < n && s[i] == '.')
			for (i++; i < n && digit(s[i]); i++)
				m++;
		if (m == 0 || (i < n && s[i] != 'e' && s[i] != 'E'))
			return 0;
	}
	if (i == n)
		return 1;
	i++; /* the exponent */
	if (i < n && (s[i] == '+' || s[i] == '-'))
		i++;
	if (i >= n || !digit(s[i]))
		return 0;
	while (i < n && digit(s[i]))
		i++;
	return i == n;
}

/* A float as Go's strconv.ParseFloat(s, 64) reads it; s[n] must be NUL.
 * The common cases (small integers, short decimals) without strtod. 0/-1. */
static int parse_float(const char *s, size_t n, double *out)
{
	if (n == 0)
		return -1;
	if (small_int(s, n, out) == 0 || fast_decimal(s, n, out) == 0 ||
	    special_float(s, n, out) == 0)
		return 0;
	if (!float_grammar(s, n))
		return -1;
	char *e;
	errno = 0;
	double v = strtod(s, &e);
	if (e != s + n || (errno == ERANGE && isinf(v)))
		return -1;
	*out = v;
	return 0;
}

/* An int64 in decimal with an optional sign. 0/-1. */
static int parse_i64(const char *s, size_t n, int64_t *out)
{
	size_t i = 0;
	int neg = 0;
	uint64_t v = 0, lim = (uint64_t)INT64_MAX;
	if (n > 0 && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		lim += (uint64_t)neg;
		i = 1;
	}
	if (i >= n)
		return -1;
	for (size_t i0 = i; i < n; i++) {
		if (!digit(s[i]))
			return -1;
		unsigned d = (unsigned)(s[i] - '0');
		if (i - i0 >= 18 && v > (lim - d) / 10) /* 18 digits cannot overflow */
			return -1;
		v = v * 10 + d;
	}
	if (neg)
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	else
		*out = (int64_t)v;
	return 0;
}

/* Well-formed UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF). */
static int utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (n - i >= 8) { /* ASCII runs, 8 bytes at a time */
		uint64_t x;
		memcpy(&x, s + i, 8);
		if (x & HIGHS)
			break;
		i += 8;
	}
	while (i < n) {
		unsigned c = s[i];
		size_t k;
		unsigned cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xC2 && c <= 0xDF) {
			k = 1, cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			k = 2, cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			k = 3, cp = c & 0x07;
		} else {
			return 0;
		}
		if (n - i - 1 < k)
			return 0;
		for (size_t t = 1; t <= k; t++) {
			if ((s[i + t] & 0xC0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + t] & 0x3Fu);
		}
		if ((k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
		    (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
			return 0;
		i += k + 1;
	}
	return 1;
}

/* ---- lines ------------------------------------------------------------- */

static int bad(struct nro_prom *p, const char *why)
{
	p->malformed++;
	p->bad_why = why;
	p->bad_line = p->lines;
	return 0;
}

static int family_keep(const struct nro_prom *p, const char *family)
{
	return !p->filter || nro_prom_filter_match(p->filter, family);
}

/* "# ..." with s just past the '#'. */
static int comment(struct nro_prom *p, char *s, char *end)
{
	s = skip_blanks(s, end);
	char *w = s;
	while (s < end && !blank(*s))
		s++;
	size_t wn = (size_t)(s - w);
	int help = wn == 4 && memcmp(w, "HELP", 4) == 0;
	int type = wn == 4 && memcmp(w, "TYPE", 4) == 0;
	if (wn == 3 && memcmp(w, "EOF", 3) == 0 && skip_blanks(s, end) == end) {
		p->eof = 1;
		return 0;
	}
	if (!help && !type)
		return 0; /* a plain comment */
	s = skip_blanks(s, end);
	if (s == end)
		return 0; /* "# HELP" alone: a plain comment, as in Go's parser */
	char *name = s;
	if (!name_start(*s))
		return bad(p, "invalid metric name in HELP/TYPE");
	while (s < end && name_char(*s))
		s++;
	size_t nlen = (size_t)(s - name);
	if (s < end && !blank(*s))
		return bad(p, "invalid metric name in HELP/TYPE");
	if (nlen >= sizeof p->family)
		return bad(p, "family name too long");
	s = skip_blanks(s, end);
	int t = NRO_MT_UNTYPED;
	if (help) {
		for (; s < end; s++) /* the docstring: only \\ and \n escapes */
			if (*s == '\\' && (++s == end || (*s != '\\' && *s != 'n')))
				return bad(p, "invalid escape in HELP");
	} else {
		char *tw = s;
		while (s < end && !blank(*s))
			s++;
		size_t tn = (size_t)(s - tw);
		if (skip_blanks(s, end) != end)
			return bad(p, "unexpected text after TYPE");
#define IS(word) (tn == sizeof word - 1 && memcmp(tw, word, tn) == 0)
		if (IS("counter"))
			t = NRO_MT_COUNTER;
		else if (IS("gauge"))
			t = NRO_MT_GAUGE;
		else if (IS("histogram"))
			t = NRO_MT_HISTOGRAM;
		else if (IS("summary"))
			t = NRO_MT_SUMMARY;
		else if (IS("untyped") || IS("unknown"))
			t = NRO_MT_UNTYPED;
		else
			return bad(p, "unknown metric type");
#undef IS
	}
	if (nlen != p->fam_len || memcmp(name, p->family, nlen) != 0) {
		memcpy(p->family, name, nlen);
		p->family[nlen] = '\0';
		p->fam_len = nlen;
		p->fam_type = NRO_MT_UNTYPED;
		p->fam_keep = -1;
	}
	if (type)
		p->fam_type = t;
	return 0;
}

enum { SFX_NONE, SFX_BUCKET, SFX_SUM, SFX_COUNT, SFX_TOTAL };

/* Whether name[0..n) belongs to the current family; *sfx says how. */
static int in_family(const struct nro_prom *p, const char *name, size_t n, int *sfx)
{
	size_t f = p->fam_len;
	*sfx = SFX_NONE;
	if (f == 0 || n < f || memcmp(name, p->family, f) != 0)
		return 0;
	const char *x = name + f;
	size_t xn = n - f;
#define SUFFIX(word) (xn == sizeof word - 1 && memcmp(x, word, xn) == 0)
	if (xn == 0)
		return 1;
	if (p->fam_type == NRO_MT_HISTOGRAM || p->fam_type == NRO_MT_SUMMARY) {
		if (p->fam_type == NRO_MT_HISTOGRAM && SUFFIX("_bucket"))
			*sfx = SFX_BUCKET;
		else if (SUFFIX("_sum"))
			*sfx = SFX_SUM;
		else if (SUFFIX("_count"))
			*sfx = SFX_COUNT;
	} else if (p->fam_type == NRO_MT_COUNTER && SUFFIX("_total")) {
		*sfx = SFX_TOTAL;
	}
#undef SUFFIX
	return *sfx != SFX_NONE;
}

static const char *label_value(const struct nro_prom_sample *s, const char *name)
{
	for (unsigned i = 0; i < s->nlabels; i++)
		if (strcmp(s->labels[i].name, name) == 0)
			return s->labels[i].value;
	return NULL;
}

/* The lengths of the label names and values of the sample being passed to
 * the callback, for lib/run/promcollect.c, which publishes every label and would
 * otherwise measure each string again. Not part of prom.h: promcollect.c
 * declares nro_prom_label_lengths() itself. Set only while the callback
 * runs (s is NULL otherwise), per thread. */
static _Thread_local struct {
	const struct nro_prom_sample *s;
	uint32_t name[NRO_PROM_LABELS_MAX], value[NRO_PROM_LABELS_MAX];
} label_len;

int nro_prom_label_lengths(const struct nro_prom_sample *s, const uint32_t **name,
			   const uint32_t **value);
int nro_prom_label_lengths(const struct nro_prom_sample *s, const uint32_t **name,
			   const uint32_t **value)
{
	if (!s || label_len.s != s)
		return 0;
	*name = label_len.name;
	*value = label_len.value;
	return 1;
}

/* {a="b",...} with s just past the '{'; *sp is left past the '}'. The line
 * is NUL-terminated at end, so the expected character is tested first and
 * blanks are skipped only when there are some. */
/* A label name and its '=' at *sp: the name's end in *lend, *sp past the
 * '=' and the opening quote. 0/-1 (said). */
static inline int label_name(struct nro_prom *p, char **sp, char *end, char **lend)
{
	char *s = *sp;
	if (s >= end || !alpha_(*s))
		return bad(p, "invalid label name"), -1;
	s = (char *)scan_name(s + 1, end, 0);
	*lend = s;
	if (*s != '=') {
		s = skip_blanks(s, end);
		if (s >= end || *s != '=')
			return bad(p, "expected '=' after label name"), -1;
	}
	s++;
	if (*s != '"') {
		s = skip_blanks(s, end);
		if (s >= end || *s != '"')
			return bad(p, "expected '\"' to open label value"), -1;
	}
	*sp = s + 1;
	return 0;
}

/* A quoted label value at *sp (past its opening quote), unescaped in place:
 * it ends at *vend; *sp goes past the closing quote, *hi says whether a
 * byte was over 0x7f. 0/-1 (said). */
static inline int quoted_value(struct nro_prom *p, char **sp, char *end, char **vend, unsigned *hi)
{
	char *s = *sp, *o = s;
	for (;;) {
		char *q = find_quote_or_backslash(s, end, hi);
		if (q >= end)
			return bad(p, "unterminated label value"), -1;
		if (o != s)
			memmove(o, s, (size_t)(q - s));
		o += q - s;
		s = q + 1;
		if (*q == '"')
			break;
		if (*q == '\0')
			return bad(p, "NUL byte in label value"), -1;
		if (s >= end) /* a backslash: one of \\ \" \n */
			return bad(p, "unterminated label value"), -1;
		char c = *s++;
		if (c == 'n')
			c = '\n';
		else if (c != '\\' && c != '"')
			return bad(p, "invalid escape in label value"), -1;
		*o++ = c;
	}
	*vend = o;
	*sp = s;
	return 0;
}

/* Names seen so far in a label set, for the duplicate check: a bit per
 * (length, first byte), and each name's length capped at 255. */
struct label_seen {
	uint64_t bits;
	unsigned char len[NRO_PROM_LABELS_MAX];
};

/* Stores name ln[0..ll) = val[0..vl) as the next label. 0/-1 (said). */
static inline int add_label(struct nro_prom *p, struct label_seen *seen, char *ln, size_t ll,
			    char *val, size_t vl)
{
	struct nro_prom_sample *smp = &p->sample;
	if (smp->nlabels == NRO_PROM_LABELS_MAX)
		return bad(p, "too many labels"), -1;
	unsigned char l8 = ll > 255 ? 255 : (unsigned char)ll;
	unsigned bit = ((unsigned)l8 * 7u + (unsigned char)ln[0]) & 63u;
	if (seen->bits >> bit & 1) /* maybe a duplicate: compare */
		for (unsigned i = 0; i < smp->nlabels; i++)
			if (seen->len[i] == l8 && smp->labels[i].name[0] == ln[0] &&
			    strcmp(smp->labels[i].name, ln) == 0)
				return bad(p, "duplicate label name"), -1;
	seen->bits |= 1ull << bit;
	seen->len[smp->nlabels] = l8;
	smp->labels[smp->nlabels].name = ln;
	smp->labels[smp->nlabels].value = val;
	label_len.name[smp->nlabels] = (uint32_t)ll;
	label_len.value[smp->nlabels] = (uint32_t)vl;
	smp->nlabels++;
	return 0;
}

/* The label set after '{' at *sp, up to and past its '}'. 0/-1 (said). */
static int labels(struct nro_prom *p, char **sp, char *end)
{
	struct label_seen seen;
	seen.bits = 0;
	char *s = *sp;
	for (;;) {
		if (blank(*s))
			s = skip_blanks(s, end);
		if (s < end && *s == '}') {
			s++;
			break;
		}
		char *ln = s, *lend, *val, *vend;
		unsigned hi = 0;
		if (label_name(p, &s, end, &lend) != 0)
			return -1;
		val = s;
		if (quoted_value(p, &s, end, &vend, &hi) != 0)
			return -1;
		*lend = '\0'; /* both are behind s now */
		*vend = '\0';
		if (hi && !utf8_ok((const unsigned char *)val, (size_t)(vend - val)))
			return bad(p, "label value is not UTF-8"), -1;
		if (add_label(p, &seen, ln, (size_t)(lend - ln), val, (size_t)(vend - val)) != 0)
			return -1;
		if (blank(*s))
			s = skip_blanks(s, end);
		if (s < end && *s == ',') {
			s++;
			continue;
		}
		if (s < end && *s == '}') {
			s++;
			break;
		}
		return bad(p, "expected ',' or '}' after label value"), -1;
	}
	*sp = s;
	return 0;
}

static int sample_tail(struct nro_prom *p, char *name, char *s, char *end, char next, int sfx);

static int sample(struct nro_prom *p, char *s, char *end)
{
	struct nro_prom_sample *smp = &p->sample;
	char *name = s;
	if (!name_start(*s))
		return bad(p, "invalid metric name");
	s = (char *)scan_name(s + 1, end, 1);
	size_t nlen = (size_t)(s - name);
	char next = s < end ? *s : '\0';
	if (next != '{' && !blank(next))
		return bad(p, next ? "invalid metric name" : "missing value");
	*s++ = '\0';
	int sfx, keep;
	if (in_family(p, name, nlen, &sfx)) {
		smp->family = p->family;
		smp->type = p->fam_type;
		if (p->fam_keep < 0)
			p->fam_keep = family_keep(p, p->family);
		keep = p->fam_keep;
	} else {
		smp->family = name;
		smp->type = NRO_MT_UNTYPED;
		keep = family_keep(p, name);
	}
	if (!keep) {
		p->filtered++;
		return 0;
	}
	return sample_tail(p, name, s, end, next, sfx);
}

/* The rest of a sample line that passed the filter: name (NUL-terminated)
 * is followed by next ('{' or a blank) and s points just past it; the
 * family and type are set. */
/* The decimal digits at t (at most 18; *end is NUL) as a timestamp; the
 * first eight at once where the byte order allows. Past them in *te. */
static inline uint64_t ts_digits(const char *t, const char *end, const char **te)
{
	const char *q = t;
	uint64_t ts = 0;
	unsigned d;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (end - q >= 8) { /* 8 digits at once (millisecond timestamps have 13) */
		uint64_t x;
		memcpy(&x, q, 8);
		if ((x & 0xF0F0F0F0F0F0F0F0ull) == 0x3030303030303030ull &&
		    ((x + 0x0606060606060606ull) & 0xF0F0F0F0F0F0F0F0ull) == 0x3030303030303030ull) {
			x -= 0x3030303030303030ull;
			x = x * 10 + (x >> 8);
			x = ((x & 0x000000FF000000FFull) * 0x000F424000000064ull +
			     ((x >> 16) & 0x000000FF000000FFull) * 0x0000271000000001ull) >>
			    32;
			ts = x & 0xFFFFFFFFull;
			q += 8;
		}
	}
#else
	(void)end;
#endif
	while ((d = (unsigned)(unsigned char)*q - '0') < 10 && q - t < 18) {
		ts = ts * 10 + d; /* 18 digits cannot overflow */
		q++;
	}
	*te = q;
	return ts;
}

/* The optional timestamp at t, up to the end of the line. 0/-1 (said). */
static inline int sample_ts(struct nro_prom *p, char *t, char *end)
{
	struct nro_prom_sample *smp = &p->sample;
	const char *q;
	uint64_t ts = ts_digits(t, end, &q);
	char *te = t + (q - t);
	if (te > t && (te == end || blank(*te))) {
		smp->ts_ms = (int64_t)ts; /* what parse_i64() reads from these digits */
	} else {
		while (te < end && !blank(*te))
			te++;
		if (parse_i64(t, (size_t)(te - t), &smp->ts_ms) < 0)
			return bad(p, "invalid timestamp"), -1;
	}
	if (skip_blanks(te, end) != end)
		return bad(p, "unexpected text after timestamp"), -1;
	smp->has_ts = 1;
	return 0;
}

/* A histogram bucket needs its le, a summary quantile its quantile. 0/-1 (said). */
static inline int sample_family_labels(struct nro_prom *p, int sfx)
{
	struct nro_prom_sample *smp = &p->sample;
	const char *want = NULL, *why = NULL;
	if (smp->type == NRO_MT_HISTOGRAM && sfx == SFX_BUCKET)
		want = "le", why = "histogram bucket without a valid le label";
	else if (smp->type == NRO_MT_SUMMARY && sfx == SFX_NONE)
		want = "quantile", why = "summary quantile without a valid quantile label";
	if (!want)
		return 0;
	const char *v = label_value(smp, want);
	double d;
	if (!v || parse_float(v, strlen(v), &d) < 0)
		return bad(p, why), -1;
	return 0;
}

/* Hands the finished sample to the caller's function. 0, or -1 if it aborted. */
static inline int sample_deliver(struct nro_prom *p)
{
	int r = 0;
	if (p->fn) {
		label_len.s = &p->sample;
		r = p->fn(p->ctx, &p->sample);
		label_len.s = NULL;
	}
	if (r < 0) {
		p->failed = 1;
		p->error = "aborted";
		return -1;
	}
	p->samples++;
	return 0;
}

static int sample_tail(struct nro_prom *p, char *name, char *s, char *end, char next, int sfx)
{
	struct nro_prom_sample *smp = &p->sample;
	smp->name = name;
	smp->nlabels = 0;
	smp->has_ts = 0;
	smp->ts_ms = 0;
	smp->line = p->lines;
	if (blank(next)) {
		s = skip_blanks(s, end);
		if (s < end && *s == '{') {
			next = '{';
			s++;
		}
	}
	if (next == '{') {
		if (labels(p, &s, end) < 0)
			return 0;
		s = skip_blanks(s, end);
	}
	if (s >= end)
		return bad(p, "missing value");
	char *v = s;
	while (s < end && !blank(*s))
		s++;
	size_t vn = (size_t)(s - v);
	char *t = skip_blanks(s, end);
	*s = '\0';
	if (parse_float(v, vn, &smp->value) < 0)
		return bad(p, "invalid value");
	if (t < end && sample_ts(p, t, end) < 0)
		return 0;
	if (sample_family_labels(p, sfx) < 0)
		return 0;
	return sample_deliver(p);
}

/* Parses the complete line s[0..n); s[n] is writable. */
static int line(struct nro_prom *p, char *s, size_t n)
{
	char *end = s + n;
	while (end > s && (blank(end[-1]) || end[-1] == '\r'))
		end--;
	*end = '\0';
	s = skip_blanks(s, end);
	if (s == end)
		return 0;
	if (*s == '#')
		return comment(p, s + 1, end);
	return sample(p, s, end);
}

/* Makes room for need bytes in the line buffer (need <= line_max); p owns
 * the buffer, also when growing it fails (then p is failed). */
static int reserve(struct nro_prom *p, size_t need)
{
	if (need <= p->line_cap)
		return 0;
	size_t cap = p->line_cap ? p->line_cap : LINE_FIRST;
	while (cap < need)
		cap *= 2;
	if (cap > p->line_max)
		cap = p->line_max;
	char *q = realloc(p->line, cap);
	if (!q) {
		p->failed = 1;
		p->error = "out of memory";
		return -1;
	}
	p->line = q;
	p->line_cap = cap;
	return 0;
}

/* A whole line data[0..n) (no '\n', n < line_max) where it lies: blank
 * lines and sample lines whose family the filter refuses are counted
 * without copying them; a sample line is read up to its name here (the
 * same checks as sample()) and then copied into the line buffer for the
 * rest; anything else (comments, malformed names) takes line(). */
static int line_direct(struct nro_prom *p, const char *data, size_t n)
{
	struct nro_prom_sample *smp = &p->sample;
	const char *s = data, *end = data + n;
	while (end > s && (blank(end[-1]) || end[-1] == '\r'))
		end--;
	while (s < end && blank(*s))
		s++;
	if (s == end)
		return 0;
	if (name_start(*s)) {
		const char *ne = scan_name(s + 1, end, 1);
		size_t nlen = (size_t)(ne - s);
		char next = ne < end ? *ne : '\0';
		int sfx, keep = -1, fam = 0;
		if (next == '{' || blank(next)) {
			if (in_family(p, s, nlen, &sfx)) {
				if (p->fam_keep < 0)
					p->fam_keep = family_keep(p, p->family);
				keep = p->fam_keep;
				fam = 1;
			} else if (nlen < NRO_PROM_NAME_MAX) {
				char name[NRO_PROM_NAME_MAX];
				memcpy(name, s, nlen);
				name[nlen] = '\0';
				keep = family_keep(p, name);
			}
		}
		if (keep == 0) {
			p->filtered++;
			return 0;
		}
		if (keep > 0) {
			if (reserve(p, n + 1) < 0)
				return -1;
			memcpy(p->line, data, n);
			char *b = p->line, *bend = b + (end - data), *bname = b + (s - data),
			     *bs = b + (ne - data);
			*bend = '\0';
			*bs++ = '\0';
			smp->family = fam ? p->family : bname;
			smp->type = fam ? p->fam_type : NRO_MT_UNTYPED;
			return sample_tail(p, bname, bs, bend, next, sfx);
		}
	}
	if (reserve(p, n + 1) < 0)
		return -1;
	memcpy(p->line, data, n);
	return line(p, p->line, n);
}

int nro_prom_feed(struct nro_prom *p, const char *data, size_t len)
{
	if (p->failed)
		return -1;
	while (len > 0 && !p->eof) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl ? (size_t)(nl - data) : len;
		if (p->skipping) {
			if (!nl)
				return 0;
			p->skipping = 0; /* the line was counted when it overflowed */
		} else if (n >= p->line_max - p->len) { /* the line plus its NUL */
			p->lines++;
			bad(p, "line too long");
			p->len = 0;
			if (!nl) {
				p->skipping = 1;
				return 0;
			}
		} else if (nl && p->len == 0) { /* a whole line in this piece */
			p->lines++;
			if (line_direct(p, data, n) < 0)
				return -1;
		} else {
			if (reserve(p, p->len + n + 1) < 0)
				return -1;
			memcpy(p->line + p->len, data, n);
			p->len += n;
			if (nl) {
				p->lines++;
				size_t ln = p->len;
				p->len = 0;
				if (line(p, p->line, ln) < 0)
					return -1;
			}
		}
		if (!nl)
			return 0;
		data = nl + 1;
		len -= n + 1;
	}
	return 0;
}

int nro_prom_finish(struct nro_prom *p)
{
	if (p->failed)
		return -1;
	if (p->skipping) {
		p->skipping = 0;
	} else if (p->len > 0 && !p->eof) {
		size_t ln = p->len;
		p->lines++;
		p->len = 0;
		if (line(p, p->line, ln) < 0)
			return -1;
	}
	p->len = 0;
	return 0;
}

/* ---- label names ------------------------------------------------------- */

const char *nro_prom_normalize_label(const char *name)
{
	if (strcmp(name, "container_name") == 0)
		return "container";
	if (strcmp(name, "pod_name") == 0)
		return "pod";
	return name;
}

int nro_prom_label_dropped(const struct nro_prom_sample *s, unsigned i)
{
	if (i >= s->nlabels)
		return 0;
	const char *n = s->labels[i].name, *repl = nro_prom_normalize_label(n);
	return repl != n && label_value(s, repl) != NULL;
}

/* ---- family filter ----------------------------------------------------- */

void nro_prom_filter_init(struct nro_prom_filter *f)
{
	memset(f, 0, sizeof *f);
}

void nro_prom_filter_free(struct nro_prom_filter *f)
{
	for (int w = 0; w < 2; w++) {
		for (unsigned i = 0; i < f->n[w]; i++)
			free(f->pat[w][i].s);
		free(f->pat[w]);
	}
	nro_prom_filter_init(f);
}

/* Adds the pattern s[0..n) to list w (f owns the copy). 0/-1. */
static int add_pattern(struct nro_prom_filter *f, int w, const char *s, size_t n, const char **why)
{
	if (n == 3 && memcmp(s, "all", 3) == 0) {
		f->all[w] = 1;
		return 0;
	}
	int prefix = s[n - 1] == '*';
	size_t m = n - (size_t)prefix;
	for (size_t k = 0; k < m; k++) {
		if (k == 0 ? !name_start(s[k]) : !name_char(s[k])) {
			*why = "invalid family pattern";
			return -1;
		}
	}
	if (f->n[w] == NRO_PROM_FILTER_MAX) {
		*why = "too many patterns";
		return -1;
	}
	if (f->n[w] == f->cap[w]) {
		unsigned cap = f->cap[w] ? f->cap[w] * 2 : 8;
		if (cap > NRO_PROM_FILTER_MAX)
			cap = NRO_PROM_FILTER_MAX;
		struct nro_prom_pattern *v = realloc(f->pat[w], cap * sizeof *v);
		if (!v) {
			*why = "out of memory";
			return -1;
		}
		f->pat[w] = v;
		f->cap[w] = cap;
	}
	char *c = malloc(m + 1);
	if (!c) {
		*why = "out of memory";
		return -1;
	}
	memcpy(c, s, m);
	c[m] = '\0';
	f->pat[w][f->n[w]++] = (struct nro_prom_pattern){ .s = c, .len = m, .prefix = prefix };
	return 0;
}

int nro_prom_filter_add_list(struct nro_prom_filter *f, const char *list, int which,
			     const char **why)
{
	const char *dummy;
	int w = which == NRO_PROM_DENY;
	if (!why)
		why = &dummy;
	const char *s = list;
	while (*s) {
		const char *e = strchr(s, ',');
		const char *stop = e ? e : s + strlen(s);
		const char *a = s, *b = stop;
		while (a < b && blank(*a))
			a++;
		while (b > a && blank(b[-1]))
			b--;
		if (b > a && add_pattern(f, w, a, (size_t)(b - a), why) < 0)
			return -1;
		if (!e)
			break;
		s = e + 1;
	}
	return 0;
}

static int list_match(const struct nro_prom_filter *f, int w, const char *family)
{
	if (f->all[w])
		return 1;
	for (unsigned i = 0; i < f->n[w]; i++) {
		const struct nro_prom_pattern *pt = &f->pat[w][i];
		if (pt->prefix ? strncmp(family, pt->s, pt->len) == 0 : strcmp(family, pt->s) == 0)
			return 1;
	}
	return 0;
}

int nro_prom_filter_match(const struct nro_prom_filter *f, const char *family)
{
	if (list_match(f, NRO_PROM_DENY, family))
		return 0;
	if (!f->all[NRO_PROM_ALLOW] && f->n[NRO_PROM_ALLOW] == 0)
		return 1;
	return list_match(f, NRO_PROM_ALLOW, family);
}
