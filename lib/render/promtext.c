/*
 * promtext.h: the series table and its exposition. Ownership: the table
 * owns every family and series it holds (one allocation each) and frees
 * them on sweep, delete and nro_promtab_free.
 */
#include "render/promtext.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/hmap.h"
#include "wire/record.h"

/* ---- names -------------------------------------------------------------- */

static int name_char(char c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

int nro_prom_valid_name(const char *s, size_t len)
{
	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!name_char(s[i], i == 0))
			return 0;
	return 1;
}

/* Appends s to out as '_'-joined alphanumeric runs (':' kept). */
static int add_tokens(char *out, size_t outlen, size_t *n, const char *s, size_t len)
{
	int gap = *n > 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!name_char(c, 0)) {
			gap = *n > 0;
			continue;
		}
		if (c == '_') {
			gap = *n > 0;
			continue;
		}
		if (*n + 3 >= outlen)
			return -1;
		if (gap && out[*n - 1] != '_')
			out[(*n)++] = '_';
		gap = 0;
		out[(*n)++] = c;
	}
	out[*n] = '\0';
	return 0;
}

static int ends_with_token(const char *s, size_t n, const char *tok)
{
	size_t t = strlen(tok);
	return n > t && s[n - t - 1] == '_' && memcmp(s + n - t, tok, t) == 0;
}

static int add_suffix(char *out, size_t outlen, size_t *n, const char *tok)
{
	if (!*tok || ends_with_token(out, *n, tok))
		return 0;
	return add_tokens(out, outlen, n, tok, strlen(tok));
}

/* The OpenTelemetry Collector's unit words (UCUM case-sensitive codes). */
static const char *unit_word(const char *u, size_t n, int per)
{
	static const struct {
		const char *ucum, *word, *per_word;
	} map[] = {
		{"d", "days", "day"},       {"h", "hours", "hour"},      {"min", "minutes", "minute"},
		{"s", "seconds", "second"}, {"ms", "milliseconds", NULL}, {"us", "microseconds", NULL},
		{"ns", "nanoseconds", NULL}, {"By", "bytes", NULL},     {"KiBy", "kibibytes", NULL},
		{"MiBy", "mebibytes", NULL}, {"GiBy", "gibibytes", NULL}, {"TiBy", "tebibytes", NULL},
		{"KBy", "kilobytes", NULL}, {"MBy", "megabytes", NULL}, {"GBy", "gigabytes", NULL},
		{"TBy", "terabytes", NULL}, {"m", "meters", "meter"},   {"V", "volts", NULL},
		{"A", "amperes", NULL},     {"J", "joules", NULL},      {"W", "watts", NULL},
		{"g", "grams", NULL},       {"Cel", "celsius", NULL},   {"Hz", "hertz", NULL},
		{"%", "percent", NULL},     {"w", NULL, "week"},        {"mo", NULL, "month"},
		{"y", NULL, "year"},
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strlen(map[i].ucum) == n && memcmp(map[i].ucum, u, n) == 0) {
			const char *w = per ? map[i].per_word : map[i].word;
			return w ? w : map[i].word;
		}
	return NULL;
}

/* Appends the suffix for one unit part ("By", "s", "{cores}" = nothing). */
static int add_unit_part(char *out, size_t outlen, size_t *n, const char *u, size_t len, int per)
{
	if (len == 0 || memchr(u, '{', len))
		return 0;
	const char *w = unit_word(u, len, per);
	char tmp[64];
	if (!w) {
		size_t tn = 0;
		if (add_tokens(tmp, sizeof tmp, &tn, u, len) != 0)
			return -1;
		w = tmp;
	}
	if (!per)
		return add_suffix(out, outlen, n, w);
	char both[96];
	snprintf(both, sizeof both, "per_%s", w);
	return add_suffix(out, outlen, n, both);
}

/* A gauge ending in _count, _sum or _bucket reads as part of a histogram
 * (promtool lints it): its unit annotation ("{processes}") or "value" is
 * added as a suffix. */
static int unreserve(char *out, size_t outlen, size_t *n, const char *unit, size_t unit_len)
{
	if (!ends_with_token(out, *n, "count") && !ends_with_token(out, *n, "sum") &&
	    !ends_with_token(out, *n, "bucket"))
		return 0;
	const char *open = memchr(unit, '{', unit_len);
	const char *close = open ? memchr(open, '}', unit_len - (size_t)(open - unit)) : NULL;
	if (open && close && close > open + 1)
		return add_tokens(out, outlen, n, open + 1, (size_t)(close - open - 1));
	return add_suffix(out, outlen, n, "value");
}

int nro_prom_otel_name(const char *name, size_t len, const char *unit, size_t unit_len,
		       uint8_t type, char *out, size_t outlen)
{
	size_t n = 0;
	if (outlen < 2)
		return -1;
	out[0] = '\0';
	if (len && name[0] >= '0' && name[0] <= '9')
		out[n++] = '_', out[n] = '\0';
	if (add_tokens(out, outlen, &n, name, len) != 0 || n == 0)
		return -1;
	const char *slash = memchr(unit, '/', unit_len);
	size_t main_len = slash ? (size_t)(slash - unit) : unit_len;
	if (main_len == 1 && unit[0] == '1') {
		if (type == NRO_MT_GAUGE && add_suffix(out, outlen, &n, "ratio") != 0)
			return -1;
	} else if (add_unit_part(out, outlen, &n, unit, main_len, 0) != 0) {
		return -1;
	}
	if (slash && add_unit_part(out, outlen, &n, slash + 1, unit_len - main_len - 1, 1) != 0)
		return -1;
	if (type == NRO_MT_COUNTER)
		return add_suffix(out, outlen, &n, "total");
	return unreserve(out, outlen, &n, unit, unit_len);
}

int nro_prom_label_name(const char *key, size_t len, char *out, size_t outlen)
{
	size_t n = 0;
	if (len == 0)
		return -1;
	int prefix = (key[0] >= '0' && key[0] <= '9') || (len >= 2 && key[0] == '_' && key[1] == '_');
	if (prefix) {
		if (outlen < 5)
			return -1;
		memcpy(out, "key_", 4);
		n = 4;
	}
	if (n + len + 1 > outlen)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = key[i];
		out[n++] = (name_char(c, 0) && c != ':') ? c : '_';
	}
	out[n] = '\0';
	return 0;
}

static int has_suffix(const char *s, size_t len, const char *suf)
{
	size_t n = strlen(suf);
	return len > n && memcmp(s + len - n, suf, n) == 0;
}

size_t nro_prom_family_len(const char *sample, size_t len, uint8_t type)
{
	if (type == NRO_MT_HISTOGRAM && has_suffix(sample, len, "_bucket"))
		return len - 7;
	if (type == NRO_MT_HISTOGRAM || type == NRO_MT_SUMMARY) {
		if (has_suffix(sample, len, "_count"))
			return len - 6;
		if (has_suffix(sample, len, "_sum"))
			return len - 4;
	}
	return len;
}

/* ---- values and escaping ----------------------------------------------- */

int nro_prom_add_value(struct nro_buf *b, double v)
{
	char tmp[40];
	if (isnan(v))
		return nro_buf_adds(b, "NaN");
	if (isinf(v))
		return nro_buf_adds(b, v > 0 ? "+Inf" : "-Inf");
	if (v == floor(v) && fabs(v) < 1e15) {
		snprintf(tmp, sizeof tmp, "%.0f", v);
		return nro_buf_adds(b, strcmp(tmp, "-0") == 0 ? "0" : tmp);
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof tmp, "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	return nro_buf_adds(b, tmp);
}

/* Appends s with backslash, newline and (when quote) '"' escaped. */
static int add_escaped(struct nro_buf *b, const char *s, size_t len, int quote)
{
	int rc = 0;
	size_t i = 0;
	while (i < len && rc == 0) {
		size_t run = i;
		while (run < len && s[run] != '\\' && s[run] != '\n' && !(quote && s[run] == '"'))
			run++;
		rc = nro_buf_add(b, s + i, run - i);
		if (run < len && rc == 0)
			rc = nro_buf_adds(b, s[run] == '\\' ? "\\\\" : s[run] == '\n' ? "\\n" : "\\\"");
		i = run + 1;
	}
	return rc;
}

int nro_prom_add_label_value(struct nro_buf *b, const char *s, size_t len)
{
	return add_escaped(b, s, len, 1);
}

/* ---- the table ---------------------------------------------------------- */

struct family {
	uint8_t type;
	size_t nseries;
	char *help;
	char name[]; /* NUL-terminated */
};

struct series {
	struct family *fam;
	double value;
	double le;          /* the le or quantile label as a number; 0 without one */
	int64_t ts_ms;      /* last refresh */
	uint64_t hash;
	uint32_t generation;
	uint16_t source;
	uint8_t rank;       /* 0 plain/bucket/quantile, 1 _count, 2 _sum: a histogram's order */
	uint16_t name_len;  /* sample name, before '{' */
	uint16_t lab_end;   /* end of the labels without le/quantile */
	uint16_t key_len;
	char key[];         /* sample{labels}: exactly what the exposition prints */
};

struct nro_promtab {
	size_t max;
	struct nro_hmap fams;   /* name -> struct family */
	struct series **order;  /* every series; sorted when `sorted` */
	size_t n, cap;
	int sorted;
	struct series **slots;  /* open addressing on hash; rebuilt after removals */
	size_t nslots;
	struct nro_buf kb;      /* the key being built */
};

struct nro_promtab *nro_promtab_new(size_t max_series)
{
	struct nro_promtab *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->max = max_series ? max_series : 1;
	nro_hmap_init(&t->fams);
	nro_buf_init(&t->kb, NRO_PROM_KEY_MAX);
	t->sorted = 1;
	return t;
}

static void free_family(struct family *f)
{
	free(f->help);
	free(f);
}

void nro_promtab_free(struct nro_promtab *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->order[i]);
	struct nro_hmap_iter it;
	struct nro_hmap_ent *e;
	nro_hmap_iter_init(&it, &t->fams);
	while ((e = nro_hmap_next(&it)))
		free_family(e->value);
	nro_hmap_free(&t->fams);
	free(t->order);
	free(t->slots);
	nro_buf_free(&t->kb);
	free(t);
}

size_t nro_promtab_count(const struct nro_promtab *t)
{
	return t->n;
}

/* The slot holding key, or the empty slot where it would go. */
static struct series **find_slot(const struct nro_promtab *t, const char *key, size_t len,
				 uint64_t h)
{
	size_t mask = t->nslots - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct series *s = t->slots[i];
		if (!s || (s->hash == h && s->key_len == len && memcmp(s->key, key, len) == 0))
			return &t->slots[i];
	}
}

/* Rebuilds the index for t->n series in at least 2n slots. 0 or -1. */
static int reindex(struct nro_promtab *t, size_t want)
{
	size_t ns = 64;
	while (ns < want * 2)
		ns *= 2;
	struct series **slots = calloc(ns, sizeof *slots);
	if (!slots)
		return -1;
	free(t->slots);
	t->slots = slots;
	t->nslots = ns;
	for (size_t i = 0; i < t->n; i++)
		*find_slot(t, t->order[i]->key, t->order[i]->key_len, t->order[i]->hash) = t->order[i];
	return 0;
}

static int is_bound_label(const struct nro_prom_label *l)
{
	return (l->name_len == 2 && memcmp(l->name, "le", 2) == 0) ||
	       (l->name_len == 8 && memcmp(l->name, "quantile", 8) == 0);
}

/* Label order: by name, le and quantile last (so a histogram's label sets
 * group together and the bound compares as a number). */
static int label_before(const struct nro_prom_label *a, const struct nro_prom_label *b)
{
	int ba = is_bound_label(a), bb = is_bound_label(b);
	if (ba != bb)
		return bb;
	size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
	int c = memcmp(a->name, b->name, n);
	return c < 0 || (c == 0 && a->name_len < b->name_len);
}

static int same_name(const struct nro_prom_label *a, const struct nro_prom_label *b)
{
	return a->name_len == b->name_len && memcmp(a->name, b->name, a->name_len) == 0;
}

/* Sorts the non-empty labels of s into out (first of a repeated name kept).
 * Returns how many, or -1 if there are too many. */
static int sort_labels(const struct nro_prom_sample *s, const struct nro_prom_label **out)
{
	int n = 0;
	for (size_t i = 0; i < s->nlabels; i++) {
		const struct nro_prom_label *l = &s->labels[i];
		int dup = 0;
		if (!l->value_len)
			continue;
		for (int k = 0; k < n && !dup; k++)
			dup = same_name(out[k], l);
		if (dup)
			continue;
		if (n >= NRO_PROM_LABELS_MAX)
			return -1;
		int at = n++;
		while (at > 0 && label_before(l, out[at - 1])) {
			out[at] = out[at - 1];
			at--;
		}
		out[at] = l;
	}
	return n;
}

struct key_info {
	size_t name_len, lab_end;
	double le;
};

/* Renders sample{labels} into t->kb. 0 or -1. */
static int build_key(struct nro_promtab *t, const struct nro_prom_sample *s, struct key_info *ki)
{
	const struct nro_prom_label *ls[NRO_PROM_LABELS_MAX];
	int n = sort_labels(s, ls);
	struct nro_buf *b = &t->kb;
	nro_buf_reset(b);
	if (n < 0 || nro_buf_adds(b, s->sample) != 0)
		return -1;
	ki->name_len = b->len;
	ki->lab_end = b->len;
	ki->le = 0;
	int rc = n ? nro_buf_add(b, "{", 1) : 0;
	for (int i = 0; i < n && rc == 0; i++) {
		if (is_bound_label(ls[i])) {
			char num[64];
			snprintf(num, sizeof num, "%.*s", (int)(ls[i]->value_len < 63 ? ls[i]->value_len : 63),
				 ls[i]->value);
			ki->le = strtod(num, NULL);
		}
		rc = (i ? nro_buf_add(b, ",", 1) : 0) | nro_buf_add(b, ls[i]->name, ls[i]->name_len) |
		     nro_buf_add(b, "=\"", 2) | nro_prom_add_label_value(b, ls[i]->value, ls[i]->value_len) |
		     nro_buf_add(b, "\"", 1);
		if (!is_bound_label(ls[i]))
			ki->lab_end = b->len;
	}
	if (n && rc == 0)
		rc = nro_buf_add(b, "}", 1);
	return rc || b->len > UINT16_MAX ? -1 : 0;
}

static struct family *get_family(struct nro_promtab *t, const struct nro_prom_sample *s)
{
	struct family *f = nro_hmap_get(&t->fams, s->family);
	if (f)
		return f;
	if (t->fams.n >= t->max)
		return NULL;
	size_t n = strlen(s->family);
	f = calloc(1, sizeof *f + n + 1);
	if (!f)
		return NULL;
	memcpy(f->name, s->family, n + 1);
	f->type = s->type <= NRO_MT_MAX ? s->type : NRO_MT_UNTYPED;
	f->help = strdup(s->help && *s->help ? s->help : s->family);
	if (!f->help || nro_hmap_put(&t->fams, f->name, f) != 0) {
		free_family(f);
		return NULL;
	}
	return f;
}

static uint8_t suffix_rank(const struct family *f, size_t name_len)
{
	size_t fl = strlen(f->name);
	if (name_len == fl + 6)
		return 1; /* _count */
	if (name_len == fl + 4)
		return 2; /* _sum */
	return 0;
}

static int grow_order(struct nro_promtab *t)
{
	if (t->n < t->cap)
		return 0;
	size_t nc = t->cap ? t->cap * 2 : 256;
	struct series **o = realloc(t->order, nc * sizeof *o);
	if (!o)
		return -1;
	t->order = o;
	t->cap = nc;
	return 0;
}

static struct series *new_series(struct nro_promtab *t, struct family *f, uint64_t h,
				 const struct key_info *ki)
{
	struct series *s = calloc(1, sizeof *s + t->kb.len + 1);
	if (!s)
		return NULL;
	s->fam = f;
	s->hash = h;
	s->le = ki->le;
	s->name_len = (uint16_t)ki->name_len;
	s->lab_end = (uint16_t)ki->lab_end;
	s->key_len = (uint16_t)t->kb.len;
	s->rank = suffix_rank(f, ki->name_len);
	memcpy(s->key, t->kb.p, t->kb.len);
	return s;
}

/* Adds the series whose key is in t->kb. NRO_PT_* code. */
static int add_series(struct nro_promtab *t, const struct nro_prom_sample *in, uint64_t h,
		      const struct key_info *ki, struct series **out)
{
	if (t->n >= t->max)
		return NRO_PT_FULL;
	struct family *f = get_family(t, in);
	if (!f)
		return t->fams.n >= t->max ? NRO_PT_FULL : NRO_PT_INVALID;
	if (grow_order(t) != 0 || ((t->n + 1) * 2 > t->nslots && reindex(t, t->n + 1) != 0))
		return NRO_PT_INVALID;
	struct series *s = new_series(t, f, h, ki);
	if (!s)
		return NRO_PT_INVALID;
	*find_slot(t, s->key, s->key_len, h) = s;
	t->order[t->n++] = s;
	f->nseries++;
	t->sorted = 0;
	*out = s;
	return NRO_PT_ADDED;
}

int nro_promtab_set(struct nro_promtab *t, const struct nro_prom_sample *in)
{
	struct key_info ki;
	if (build_key(t, in, &ki) != 0)
		return NRO_PT_INVALID;
	uint64_t h = nro_hash(t->kb.p, t->kb.len);
	struct series *s = t->nslots ? *find_slot(t, t->kb.p, t->kb.len, h) : NULL;
	int rc = NRO_PT_UPDATED;
	if (!s && (rc = add_series(t, in, h, &ki, &s)) < 0)
		return rc;
	s->value = in->value;
	s->ts_ms = in->ts_ms;
	s->source = in->source;
	s->generation = in->generation;
	return rc;
}

/* Drops the series `gone` says, keeping the order; reindexes. */
static size_t remove_where(struct nro_promtab *t, int (*gone)(const struct series *, const void *),
			   const void *arg)
{
	size_t w = 0, removed = 0;
	for (size_t i = 0; i < t->n; i++) {
		struct series *s = t->order[i];
		if (gone(s, arg)) {
			s->fam->nseries--;
			free(s);
			removed++;
		} else {
			t->order[w++] = s;
		}
	}
	t->n = w;
	if (removed && reindex(t, t->n) != 0) {
		/* out of memory: the old index has dangling entries, so clear it */
		memset(t->slots, 0, t->nslots * sizeof *t->slots);
		for (size_t i = 0; i < t->n; i++)
			*find_slot(t, t->order[i]->key, t->order[i]->key_len, t->order[i]->hash) =
				t->order[i];
	}
	return removed;
}

struct age_arg {
	int64_t now;
	const int64_t *max_age;
	size_t n;
};

static int expired(const struct series *s, const void *arg)
{
	const struct age_arg *a = arg;
	if (s->source >= a->n || a->max_age[s->source] <= 0)
		return 0;
	return a->now - s->ts_ms >= a->max_age[s->source];
}

size_t nro_promtab_sweep(struct nro_promtab *t, int64_t now_ms, const int64_t *max_age_ms,
			 size_t nsources)
{
	struct age_arg a = {now_ms, max_age_ms, nsources};
	return remove_where(t, expired, &a);
}

struct gen_arg {
	uint16_t source;
	uint32_t generation;
};

static int old_generation(const struct series *s, const void *arg)
{
	const struct gen_arg *g = arg;
	return s->source == g->source && s->generation != g->generation;
}

size_t nro_promtab_sweep_source(struct nro_promtab *t, uint16_t source, uint32_t generation)
{
	struct gen_arg g = {source, generation};
	return remove_where(t, old_generation, &g);
}

static int is_this(const struct series *s, const void *arg)
{
	return s == arg;
}

int nro_promtab_del(struct nro_promtab *t, const struct nro_prom_sample *in)
{
	struct key_info ki;
	if (!t->nslots || build_key(t, in, &ki) != 0)
		return 0;
	uint64_t h = nro_hash(t->kb.p, t->kb.len);
	struct series *s = *find_slot(t, t->kb.p, t->kb.len, h);
	return s ? (int)remove_where(t, is_this, s) : 0;
}

/* ---- rendering ---------------------------------------------------------- */

static int cmp_bytes(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	return c ? c : (an > bn) - (an < bn);
}

/* Family name; then the label set without its bound; then _bucket/plain,
 * _count, _sum; then the bound as a number. */
static int series_cmp(const void *pa, const void *pb)
{
	const struct series *a = *(struct series *const *)pa, *b = *(struct series *const *)pb;
	int c = a->fam == b->fam ? 0 : strcmp(a->fam->name, b->fam->name);
	if (c)
		return c;
	c = cmp_bytes(a->key + a->name_len, (size_t)(a->lab_end - a->name_len), b->key + b->name_len,
		      (size_t)(b->lab_end - b->name_len));
	if (c)
		return c;
	if (a->rank != b->rank)
		return a->rank - b->rank;
	if (a->le != b->le)
		return a->le < b->le ? -1 : 1;
	return cmp_bytes(a->key, a->key_len, b->key, b->key_len);
}

/* The type name to print, and the family name the OpenMetrics lines use
 * (a counter's family there is named without its _total). */
static const char *type_for(const struct family *f, int om, size_t *name_len)
{
	static const char *const text[] = {"gauge", "counter", "untyped", "histogram", "summary"};
	size_t n = strlen(f->name);
	*name_len = n;
	if (!om)
		return text[f->type];
	if (f->type == NRO_MT_COUNTER) {
		if (!has_suffix(f->name, n, "_total"))
			return "unknown"; /* OpenMetrics counters' samples must end in _total */
		*name_len = n - 6;
		return "counter";
	}
	return f->type == NRO_MT_UNTYPED ? "unknown" : text[f->type];
}

static int render_family_head(struct nro_buf *b, const struct family *f, int om)
{
	size_t n;
	const char *type = type_for(f, om, &n);
	return nro_buf_add(b, "# HELP ", 7) | nro_buf_add(b, f->name, n) | nro_buf_add(b, " ", 1) |
	       add_escaped(b, f->help, strlen(f->help), om) | nro_buf_add(b, "\n# TYPE ", 8) |
	       nro_buf_add(b, f->name, n) | nro_buf_add(b, " ", 1) | nro_buf_adds(b, type) |
	       nro_buf_add(b, "\n", 1);
}

int nro_promtab_render(struct nro_promtab *t, struct nro_buf *b, int openmetrics)
{
	if (!t->sorted && t->n)
		qsort(t->order, t->n, sizeof *t->order, series_cmp);
	t->sorted = 1;
	const struct family *cur = NULL;
	for (size_t i = 0; i < t->n; i++) {
		const struct series *s = t->order[i];
		if (s->fam != cur && render_family_head(b, s->fam, openmetrics) != 0)
			return -1;
		cur = s->fam;
		if (nro_buf_add(b, s->key, s->key_len) | nro_buf_add(b, " ", 1) |
		    nro_prom_add_value(b, s->value) | nro_buf_add(b, "\n", 1))
			return -1;
	}
	return 0;
}
