/* OTLP requests from records: the mapping is described in otlp.h. */
#include "render/otlp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "otlp.pb-c.h"

#include "base/arena.h"
#include "base/hmap.h"
#include "parse/json.h"
#include "render/pbjson.h"

#define GROUP_OVERHEAD 512   /* bytes a new resource + scope may add to a request */
#define ITEM_OVERHEAD 10     /* tag and length of one item inside its scope */
/* Upper bounds of packed sizes (strings under 64 KiB: 3-byte lengths), so a
 * request's size is known without protobuf-c walking every item twice */
#define METRIC_MAX 20        /* a Metric's fields and data wrapper, names aside */
#define POINT_MAX 31         /* a NumberDataPoint's fields, attributes aside */
#define HPOINT_MAX 48        /* a HistogramDataPoint's fields, buckets and attributes aside */
#define BUCKET_MAX 16        /* one bound and one count */
#define ATTR_MAX 16          /* one string KeyValue, key and value aside */
#define POINT_BUDGET 512     /* bytes per data point assumed when capping a Metric */
#define HIST_LOOKBACK 256    /* open histogram points searched for a series' next line */

/* One Metric or LogRecord waiting for a request. */
struct item {
	const char *node, *source;
	ProtobufCMessage *msg;
	size_t points, cap; /* data points (1 for a log record), their array's room */
	size_t size;        /* upper bound of its packed size, ITEM_OVERHEAD included */
};

struct queue {
	struct item *v;
	size_t head, n, cap; /* items [head, n) wait */
	size_t bytes;        /* sum of their sizes */
};

/* A histogram point being assembled from its _bucket, _sum and _count lines. */
struct hist {
	const char *name; /* its Metric's */
	size_t item;      /* its Metric's place in the queue (items move when it grows) */
	Otlp__HistogramDataPoint *dp;
	double *le, *cum;
	size_t nb, cap;
	double count;
	int have_count;
	struct series *series;
};

/* What a counter series looked like last: for its start time. */
struct series {
	int64_t start_ms;
	int64_t seen_ms; /* the last point's time: series gone an hour are forgotten */
	double last;
};

#define SERIES_IDLE_MS (60 * 60 * 1000)
#define SERIES_SWEEP_MS (10 * 60 * 1000)

struct nro_otlp {
	char *version;
	size_t max_request, max_memory, max_series, max_points;
	struct nro_arena arena;   /* every item's memory */
	struct nro_arena scratch; /* one request's envelope */
	struct queue q[2];
	struct nro_hmap series;
	int64_t swept_ms;         /* record time of the last sweep of idle series */
	struct nro_buf key;       /* series key scratch */
	/* during one nro_otlp_add */
	const char *node, *source;
	int64_t ts_ms;
	size_t first_item;        /* items of this message start here */
	struct hist **hist;
	size_t nhist, histcap;
};

struct nro_otlp *nro_otlp_new(const char *service_version, size_t max_request,
			      size_t max_memory, size_t max_series)
{
	struct nro_otlp *o = calloc(1, sizeof *o);
	if (!o)
		return NULL;
	o->version = strdup(service_version ? service_version : "");
	if (!o->version) {
		free(o);
		return NULL;
	}
	o->max_request = max_request;
	o->max_memory = max_memory;
	o->max_series = max_series;
	o->max_points = max_request / POINT_BUDGET ? max_request / POINT_BUDGET : 1;
	nro_arena_init(&o->arena, max_memory);
	nro_arena_init(&o->scratch, max_memory);
	nro_hmap_init(&o->series);
	nro_buf_init(&o->key, 1u << 20);
	return o;
}

void nro_otlp_free(struct nro_otlp *o)
{
	if (!o)
		return;
	struct nro_hmap_iter it;
	struct nro_hmap_ent *e;
	nro_hmap_iter_init(&it, &o->series);
	while ((e = nro_hmap_next(&it)))
		free(e->value);
	nro_hmap_free(&o->series);
	nro_arena_free(&o->arena);
	nro_arena_free(&o->scratch);
	nro_buf_free(&o->key);
	free(o->q[0].v);
	free(o->q[1].v);
	free(o->hist);
	free(o->version);
	free(o);
}

size_t nro_otlp_items(const struct nro_otlp *o, enum nro_otlp_signal sig)
{
	return o->q[sig].n - o->q[sig].head;
}

size_t nro_otlp_bytes(const struct nro_otlp *o, enum nro_otlp_signal sig)
{
	return o->q[sig].bytes;
}

size_t nro_otlp_memory(const struct nro_otlp *o)
{
	return o->arena.used;
}

/* ---- building blocks, all in the arena --------------------------------- */

static char *dup_str(struct nro_otlp *o, struct nro_str s)
{
	return nro_arena_strndup(&o->arena, s.p ? s.p : "", s.p ? s.len : 0);
}

/* key = an AnyValue of the given case, its value for the caller to set. */
static Otlp__KeyValue *kv_new(struct nro_arena *a, const char *key, Otlp__AnyValue__ValueCase c)
{
	Otlp__KeyValue *kv = nro_arena_alloc(a, sizeof *kv);
	Otlp__AnyValue *v = nro_arena_alloc(a, sizeof *v);
	if (!kv || !v)
		return NULL;
	otlp__key_value__init(kv);
	otlp__any_value__init(v);
	kv->key = (char *)key;
	kv->value = v;
	v->value_case = c;
	return kv;
}

/* NULL when val is (a failed copy). */
static Otlp__KeyValue *kv_str(struct nro_arena *a, const char *key, const char *val)
{
	Otlp__KeyValue *kv = val ? kv_new(a, key, OTLP__ANY_VALUE__VALUE_STRING_VALUE) : NULL;
	if (kv)
		kv->value->string_value = (char *)val;
	return kv;
}

static Otlp__KeyValue *kv_double(struct nro_arena *a, const char *key, double val)
{
	Otlp__KeyValue *kv = kv_new(a, key, OTLP__ANY_VALUE__VALUE_DOUBLE_VALUE);
	if (kv)
		kv->value->double_value = val;
	return kv;
}

static Otlp__KeyValue *kv_int(struct nro_arena *a, const char *key, int64_t val)
{
	Otlp__KeyValue *kv = kv_new(a, key, OTLP__ANY_VALUE__VALUE_INT_VALUE);
	if (kv)
		kv->value->int_value = val;
	return kv;
}

/* Appends a record's attributes to v[*k...] as KeyValues (skip: a key left
 * out, e.g. "le"); v has room. */
static int append_attrs(struct nro_otlp *o, Otlp__KeyValue **v, size_t *k,
			const struct nro_attr *a, uint16_t n, const char *skip)
{
	for (uint16_t i = 0; i < n; i++) {
		if (skip && nro_str_eq(a[i].key, skip))
			continue;
		char *key = dup_str(o, a[i].key), *val = dup_str(o, a[i].value);
		if (!key || !val || !(v[*k] = kv_str(&o->arena, key, val)))
			return -1;
		(*k)++;
	}
	return 0;
}

static Otlp__KeyValue **attrs_new(struct nro_otlp *o, const struct nro_attr *a, uint16_t n,
				  const char *skip, size_t *out_n)
{
	Otlp__KeyValue **v = nro_arena_alloc(&o->arena, (n + 1u) * sizeof *v);
	*out_n = 0;
	return v && append_attrs(o, v, out_n, a, n, skip) == 0 ? v : NULL;
}

static struct item *item_push(struct nro_otlp *o, enum nro_otlp_signal sig, ProtobufCMessage *msg)
{
	struct queue *q = &o->q[sig];
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 256;
		if (cap * sizeof *q->v > o->max_memory)
			return NULL;
		struct item *v = realloc(q->v, cap * sizeof *v);
		if (!v)
			return NULL;
		q->v = v;
		q->cap = cap;
	}
	struct item *it = &q->v[q->n++];
	*it = (struct item){.node = o->node, .source = o->source, .msg = msg};
	return it;
}

static uint64_t ns(int64_t ms)
{
	return ms > 0 ? (uint64_t)ms * 1000000u : 0;
}

/* ---- start times of cumulative series ---------------------------------- */

/* node, source, name and attributes (but skip) as one key in o->key. */
static int series_key(struct nro_otlp *o, struct nro_str name, const struct nro_attr *a,
		      uint16_t n, const char *skip)
{
	struct nro_buf *k = &o->key;
	nro_buf_reset(k);
	int rc = nro_buf_adds(k, o->node) | nro_buf_add(k, "\x1f", 1) | nro_buf_adds(k, o->source) |
		 nro_buf_add(k, "\x1f", 1) | nro_buf_add(k, name.p, name.len);
	for (uint16_t i = 0; i < n && rc == 0; i++) {
		if (skip && nro_str_eq(a[i].key, skip))
			continue;
		rc |= nro_buf_add(k, "\x1f", 1) | nro_buf_add(k, a[i].key.p, a[i].key.len) |
		      nro_buf_add(k, "=", 1) | nro_buf_add(k, a[i].value.p, a[i].value.len);
	}
	return rc || memchr(k->p, 0, k->len) ? -1 : 0;
}

/* The series in o->key: created (first seen at ts_ms) if new; NULL when
 * the table is full or memory ran out. */
static struct series *series_get(struct nro_otlp *o, int64_t ts_ms)
{
	struct series *s = nro_hmap_get(&o->series, o->key.p);
	if (s || o->series.n >= o->max_series)
		return s;
	s = malloc(sizeof *s);
	if (!s || nro_hmap_put(&o->series, o->key.p, s) != 0) {
		free(s);
		return NULL;
	}
	s->start_ms = ts_ms;
	s->last = -INFINITY;
	return s;
}

/* The start time of a cumulative point: when its series was first seen, or
 * just before this point after a reset (the value went down); without a
 * series (table full) the point starts its own. */
static int64_t series_start(struct series *s, int64_t ts_ms, double value)
{
	if (!s)
		return ts_ms;
	if (value < s->last)
		s->start_ms = ts_ms - 1;
	s->last = value;
	s->seen_ms = ts_ms;
	return s->start_ms < ts_ms ? s->start_ms : ts_ms;
}

static struct series *series_of(struct nro_otlp *o, struct nro_str name, const struct nro_metric *e,
				const char *skip, int64_t ts_ms)
{
	if (series_key(o, name, e->attrs, e->nattrs, skip) != 0)
		return NULL;
	return series_get(o, ts_ms);
}

/* ---- metrics ----------------------------------------------------------- */

/* The Metric of this message that takes the next point of (name, unit,
 * kind): the last one if it matches and has room, else a new one. */
static struct item *metric_for(struct nro_otlp *o, const char *name, size_t name_len,
			       struct nro_str unit, Otlp__Metric__DataCase kind)
{
	struct queue *q = &o->q[NRO_OTLP_METRICS];
	if (q->n > o->first_item) {
		struct item *it = &q->v[q->n - 1];
		Otlp__Metric *m = (Otlp__Metric *)it->msg;
		if (m->data_case == kind && it->points < o->max_points &&
		    strlen(m->name) == name_len && memcmp(m->name, name, name_len) == 0 &&
		    strlen(m->unit) == unit.len && memcmp(m->unit, unit.p, unit.len) == 0)
			return it;
	}
	Otlp__Metric *m = nro_arena_alloc(&o->arena, sizeof *m);
	if (!m)
		return NULL;
	otlp__metric__init(m);
	m->name = nro_arena_strndup(&o->arena, name, name_len);
	m->unit = dup_str(o, unit);
	m->data_case = kind;
	if (kind == OTLP__METRIC__DATA_GAUGE) {
		m->gauge = nro_arena_alloc(&o->arena, sizeof *m->gauge);
		if (m->gauge)
			otlp__gauge__init(m->gauge);
	} else if (kind == OTLP__METRIC__DATA_SUM) {
		m->sum = nro_arena_alloc(&o->arena, sizeof *m->sum);
		if (m->sum) {
			otlp__sum__init(m->sum);
			m->sum->aggregation_temporality =
				OTLP__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
			m->sum->is_monotonic = 1;
		}
	} else {
		m->histogram = nro_arena_alloc(&o->arena, sizeof *m->histogram);
		if (m->histogram) {
			otlp__histogram__init(m->histogram);
			m->histogram->aggregation_temporality =
				OTLP__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE;
		}
	}
	if (!m->name || !m->unit || !m->gauge) /* gauge, sum, histogram share the union */
		return NULL;
	struct item *it = item_push(o, NRO_OTLP_METRICS, &m->base);
	if (it)
		it->size = ITEM_OVERHEAD + METRIC_MAX + name_len + unit.len;
	return it;
}

static size_t attrs_bound(const struct nro_attr *a, uint16_t n)
{
	size_t size = 0;
	for (uint16_t i = 0; i < n; i++)
		size += ATTR_MAX + a[i].key.len + a[i].value.len;
	return size;
}

/* Appends p to the item's data point array (void **), growing it in the arena. */
static int point_push(struct nro_otlp *o, struct item *it, void ***arr, size_t *n, void *p)
{
	if (*n == it->cap) {
		size_t cap = it->cap ? it->cap * 2 : 4;
		void **v = nro_arena_alloc(&o->arena, cap * sizeof *v);
		if (!v)
			return -1;
		if (*n)
			memcpy(v, *arr, *n * sizeof *v);
		*arr = v;
		it->cap = cap;
	}
	(*arr)[(*n)++] = p;
	it->points = *n;
	return 0;
}

static int add_number(struct nro_otlp *o, const struct nro_metric *e, int64_t ts_ms,
		      Otlp__Metric__DataCase kind)
{
	struct item *it = metric_for(o, e->name.p, e->name.len, e->unit, kind);
	Otlp__NumberDataPoint *dp = nro_arena_alloc(&o->arena, sizeof *dp);
	if (!it || !dp)
		return -1;
	otlp__number_data_point__init(dp);
	dp->attributes = attrs_new(o, e->attrs, e->nattrs, NULL, &dp->n_attributes);
	if (!dp->attributes)
		return -1;
	dp->time_unix_nano = ns(ts_ms);
	dp->value_case = OTLP__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
	dp->as_double = e->value;
	it->size += POINT_MAX + attrs_bound(e->attrs, e->nattrs);
	Otlp__Metric *m = (Otlp__Metric *)it->msg;
	if (kind == OTLP__METRIC__DATA_SUM) {
		struct series *se = series_of(o, e->name, e, NULL, ts_ms);
		dp->start_time_unix_nano = ns(series_start(se, ts_ms, e->value));
		return point_push(o, it, (void ***)&m->sum->data_points, &m->sum->n_data_points, dp);
	}
	return point_push(o, it, (void ***)&m->gauge->data_points, &m->gauge->n_data_points, dp);
}

static int ends_with(struct nro_str s, const char *sfx, size_t *base_len)
{
	size_t n = strlen(sfx);
	if (s.len <= n || memcmp(s.p + s.len - n, sfx, n) != 0)
		return 0;
	*base_len = s.len - n;
	return 1;
}

static const struct nro_str *find_attr(const struct nro_metric *e, const char *key)
{
	for (uint16_t i = 0; i < e->nattrs; i++)
		if (nro_str_eq(e->attrs[i].key, key))
			return &e->attrs[i].value;
	return NULL;
}

/* The point's attributes equal e's, le aside. */
static int same_series(const Otlp__HistogramDataPoint *dp, const struct nro_metric *e)
{
	size_t k = 0;
	for (uint16_t i = 0; i < e->nattrs; i++) {
		if (nro_str_eq(e->attrs[i].key, "le"))
			continue;
		if (k >= dp->n_attributes || !nro_str_eq(e->attrs[i].key, dp->attributes[k]->key) ||
		    !nro_str_eq(e->attrs[i].value, dp->attributes[k]->value->string_value))
			return 0;
		k++;
	}
	return k == dp->n_attributes;
}

static struct hist *hist_find(struct nro_otlp *o, const char *name, size_t len,
			      const struct nro_metric *e)
{
	size_t stop = o->nhist > HIST_LOOKBACK ? o->nhist - HIST_LOOKBACK : 0;
	for (size_t i = o->nhist; i-- > stop;) {
		struct hist *h = o->hist[i];
		if (strlen(h->name) == len && memcmp(h->name, name, len) == 0 && same_series(h->dp, e))
			return h;
	}
	return NULL;
}

static struct hist *hist_new(struct nro_otlp *o, const char *name, size_t len,
			     const struct nro_metric *e, int64_t ts_ms)
{
	struct nro_str none = {"", 0};
	struct item *it = metric_for(o, name, len, e->unit.len ? e->unit : none,
				     OTLP__METRIC__DATA_HISTOGRAM);
	struct nro_str base = {name, (uint16_t)len};
	struct series *se = series_of(o, base, e, "le", ts_ms);
	struct hist *h = nro_arena_alloc(&o->arena, sizeof *h);
	Otlp__HistogramDataPoint *dp = nro_arena_alloc(&o->arena, sizeof *dp);
	if (!it || !h || !dp)
		return NULL;
	if (o->nhist == o->histcap) {
		size_t cap = o->histcap ? o->histcap * 2 : 64;
		struct hist **v = realloc(o->hist, cap * sizeof *v);
		if (!v)
			return NULL;
		o->hist = v;
		o->histcap = cap;
	}
	otlp__histogram_data_point__init(dp);
	dp->attributes = attrs_new(o, e->attrs, e->nattrs, "le", &dp->n_attributes);
	dp->time_unix_nano = ns(ts_ms);
	Otlp__Histogram *hg = ((Otlp__Metric *)it->msg)->histogram;
	if (!dp->attributes ||
	    point_push(o, it, (void ***)&hg->data_points, &hg->n_data_points, dp) != 0)
		return NULL;
	h->name = ((Otlp__Metric *)it->msg)->name;
	h->item = (size_t)(it - o->q[NRO_OTLP_METRICS].v);
	it->size += HPOINT_MAX + attrs_bound(e->attrs, e->nattrs);
	h->dp = dp;
	h->series = se;
	o->hist[o->nhist++] = h;
	return h;
}

static int hist_bucket(struct nro_otlp *o, struct hist *h, double le, double cum)
{
	if (h->nb == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		double *l = nro_arena_alloc(&o->arena, cap * sizeof *l);
		double *c = nro_arena_alloc(&o->arena, cap * sizeof *c);
		if (!l || !c)
			return -1;
		if (h->nb) {
			memcpy(l, h->le, h->nb * sizeof *l);
			memcpy(c, h->cum, h->nb * sizeof *c);
		}
		h->le = l;
		h->cum = c;
		h->cap = cap;
	}
	h->le[h->nb] = le;
	h->cum[h->nb++] = cum;
	o->q[NRO_OTLP_METRICS].v[h->item].size += BUCKET_MAX;
	return 0;
}

static int parse_le(const struct nro_str *s, double *out)
{
	char tmp[64];
	if (!s || !s->len || s->len >= sizeof tmp)
		return -1;
	memcpy(tmp, s->p, s->len);
	tmp[s->len] = '\0';
	char *end;
	*out = strtod(tmp, &end);
	return *end || isnan(*out) ? -1 : 0;
}

/* One line of a Prometheus-text histogram: 1 taken, 0 not one (export it
 * as it is), -1 out of memory. */
static int add_hist_line(struct nro_otlp *o, const struct nro_metric *e, int64_t ts_ms)
{
	size_t len;
	double le = 0;
	int part; /* 0 bucket, 1 sum, 2 count */
	if (ends_with(e->name, "_bucket", &len) && parse_le(find_attr(e, "le"), &le) == 0)
		part = 0;
	else if (ends_with(e->name, "_sum", &len))
		part = 1;
	else if (ends_with(e->name, "_count", &len))
		part = 2;
	else
		return 0;
	if (part > 0 && find_attr(e, "le"))
		return 0;
	struct hist *h = hist_find(o, e->name.p, len, e);
	if (!h && !(h = hist_new(o, e->name.p, len, e, ts_ms)))
		return -1;
	if (part == 0)
		return hist_bucket(o, h, le, e->value) == 0 ? 1 : -1;
	if (part == 1)
		h->dp->sum = e->value;
	else
		h->count = e->value, h->have_count = 1;
	return 1;
}

static uint64_t count_of(double v)
{
	return v > 0 && isfinite(v) ? (v < 1.8e19 ? (uint64_t)v : UINT64_MAX) : 0;
}

/* Cumulative "le" buckets to OTLP's explicit bounds and per-bucket counts. */
static int hist_finish(struct nro_otlp *o, struct hist *h)
{
	for (size_t i = 1; i < h->nb; i++) /* usually sorted already */
		for (size_t j = i; j > 0 && h->le[j - 1] > h->le[j]; j--) {
			double l = h->le[j], c = h->cum[j];
			h->le[j] = h->le[j - 1], h->cum[j] = h->cum[j - 1];
			h->le[j - 1] = l, h->cum[j - 1] = c;
		}
	size_t nb = h->nb && isinf(h->le[h->nb - 1]) ? h->nb - 1 : h->nb;
	double total = h->have_count ? h->count : h->nb ? h->cum[h->nb - 1] : 0;
	Otlp__HistogramDataPoint *dp = h->dp;
	dp->explicit_bounds = nro_arena_alloc(&o->arena, (nb + 1) * sizeof(double));
	dp->bucket_counts = nro_arena_alloc(&o->arena, (nb + 1) * sizeof(uint64_t));
	if (!dp->explicit_bounds || !dp->bucket_counts)
		return -1;
	uint64_t prev = 0;
	for (size_t i = 0; i < nb; i++) {
		uint64_t c = count_of(h->cum[i]);
		dp->explicit_bounds[i] = h->le[i];
		dp->bucket_counts[i] = c > prev ? c - prev : 0;
		prev = c > prev ? c : prev;
	}
	uint64_t all = count_of(total);
	dp->bucket_counts[nb] = all > prev ? all - prev : 0;
	dp->n_explicit_bounds = nb;
	dp->n_bucket_counts = nb + 1;
	dp->count = all;
	int64_t ts_ms = (int64_t)(dp->time_unix_nano / 1000000u);
	dp->start_time_unix_nano = ns(series_start(h->series, ts_ms, total));
	return 0;
}

static int add_metric(struct nro_otlp *o, const struct nro_metric *e)
{
	int64_t ts_ms = e->ts_ms ? e->ts_ms : o->ts_ms;
	size_t len;
	switch (e->type) {
	case NRO_MT_HISTOGRAM: {
		int rc = add_hist_line(o, e, ts_ms);
		if (rc != 0)
			return rc > 0 ? 0 : -1;
		return add_number(o, e, ts_ms, OTLP__METRIC__DATA_GAUGE);
	}
	case NRO_MT_SUMMARY:
		if (ends_with(e->name, "_sum", &len) || ends_with(e->name, "_count", &len))
			return add_number(o, e, ts_ms, OTLP__METRIC__DATA_SUM);
		return add_number(o, e, ts_ms, OTLP__METRIC__DATA_GAUGE);
	case NRO_MT_COUNTER:
		return add_number(o, e, ts_ms, OTLP__METRIC__DATA_SUM);
	default:
		return add_number(o, e, ts_ms, OTLP__METRIC__DATA_GAUGE);
	}
}

/* ---- events as log records --------------------------------------------- */

static const struct {
	Otlp__SeverityNumber number;
	const char *text;
} severities[] = {
	[NRO_SEV_INFO] = {OTLP__SEVERITY_NUMBER__SEVERITY_NUMBER_INFO, "INFO"},
	[NRO_SEV_WARNING] = {OTLP__SEVERITY_NUMBER__SEVERITY_NUMBER_WARN, "WARN"},
	[NRO_SEV_CRITICAL] = {OTLP__SEVERITY_NUMBER__SEVERITY_NUMBER_ERROR, "ERROR"},
};

/* Appends key=s when s is not empty. */
static int add_obj_attr(struct nro_otlp *o, Otlp__LogRecord *r, const char *key, struct nro_str s)
{
	if (!s.len)
		return 0;
	char *v = dup_str(o, s);
	Otlp__KeyValue *kv = v ? kv_str(&o->arena, key, v) : NULL;
	if (!kv)
		return -1;
	r->attributes[r->n_attributes++] = kv;
	return 0;
}

static int add_object_attrs(struct nro_otlp *o, Otlp__LogRecord *r, const struct nro_object *ob)
{
	const char *name_key = ob->kind == NRO_OBJ_NODE     ? "k8s.node.name"
			       : ob->kind == NRO_OBJ_VOLUME ? "k8s.volume.name"
							    : "nro.object.name";
	struct nro_str kind = nro_s(nro_object_kind_name(ob->kind));
	if (ob->kind == NRO_OBJ_NONE)
		kind.len = 0;
	int rc = add_obj_attr(o, r, "nro.object.kind", kind) |
		 add_obj_attr(o, r, "k8s.namespace.name", ob->namespace_) |
		 add_obj_attr(o, r, "k8s.pod.name", ob->pod) |
		 add_obj_attr(o, r, "k8s.container.name", ob->container) |
		 add_obj_attr(o, r, name_key, ob->name);
	/* every record says which node, even when the object is a pod */
	if (rc == 0 && ob->kind != NRO_OBJ_NODE)
		rc = add_obj_attr(o, r, "k8s.node.name", nro_s(o->node));
	return rc;
}

static int push_kv(Otlp__LogRecord *r, Otlp__KeyValue *kv)
{
	if (!kv)
		return -1;
	r->attributes[r->n_attributes++] = kv;
	return 0;
}

/* With nro.seq (the message's) and nro.entry (its place in the message),
 * nro.epoch makes a unique id: what a receiver dedupes by. */
static int add_event_numbers(struct nro_otlp *o, Otlp__LogRecord *r, const struct nro_event *v,
			     uint64_t seq, uint32_t entry, uint64_t epoch)
{
	struct nro_arena *a = &o->arena;
	int rc = push_kv(r, kv_str(a, "event.name", r->event_name)) |
		 push_kv(r, kv_str(a, "nro.state", (char *)nro_event_state_name(v->state))) |
		 push_kv(r, kv_int(a, "nro.seq", seq > INT64_MAX ? INT64_MAX : (int64_t)seq)) |
		 push_kv(r, kv_int(a, "nro.entry", entry));
	if (epoch) {
		static const char digits[] = "0123456789abcdef";
		char *hex = nro_arena_alloc(a, 17);
		for (int i = 0; hex && i < 16; i++)
			hex[i] = digits[(epoch >> (60 - 4 * i)) & 0xf];
		rc |= push_kv(r, kv_str(a, "nro.epoch", hex));
	}
	if (v->flags & NRO_EVF_VALUE)
		rc |= push_kv(r, kv_double(a, "nro.value", v->value));
	if (v->flags & NRO_EVF_THRESHOLD)
		rc |= push_kv(r, kv_double(a, "nro.threshold", v->threshold));
	if (v->since_ms)
		rc |= push_kv(r, kv_int(a, "nro.since", v->since_ms));
	return rc;
}

static int add_event(struct nro_otlp *o, const struct nro_event *v, uint64_t seq, uint32_t entry,
		     uint64_t epoch)
{
	Otlp__LogRecord *r = nro_arena_alloc(&o->arena, sizeof *r);
	Otlp__AnyValue *body = nro_arena_alloc(&o->arena, sizeof *body);
	if (!r || !body)
		return -1;
	otlp__log_record__init(r);
	otlp__any_value__init(body);
	r->time_unix_nano = r->observed_time_unix_nano = ns(o->ts_ms);
	unsigned sev = v->severity <= NRO_SEV_MAX ? v->severity : NRO_SEV_INFO;
	r->severity_number = severities[sev].number;
	r->severity_text = (char *)severities[sev].text;
	body->value_case = OTLP__ANY_VALUE__VALUE_STRING_VALUE;
	body->string_value = dup_str(o, v->message);
	r->body = body;
	r->event_name = dup_str(o, v->type);
	/* ours (the object: 6 at most, the numbers: 8), then the event's own */
	r->attributes = nro_arena_alloc(&o->arena, (14u + v->nattrs) * sizeof *r->attributes);
	if (!body->string_value || !r->event_name || !r->attributes ||
	    add_object_attrs(o, r, &v->object) != 0 || add_event_numbers(o, r, v, seq, entry, epoch) != 0 ||
	    append_attrs(o, r->attributes, &r->n_attributes, v->attrs, v->nattrs, NULL) != 0)
		return -1;
	struct item *it = item_push(o, NRO_OTLP_LOGS, &r->base);
	if (!it)
		return -1;
	it->points = 1;
	it->size = protobuf_c_message_get_packed_size(&r->base) + ITEM_OVERHEAD; /* few: exact */
	return 0;
}

/* ---- adding a message -------------------------------------------------- */

static int add_entries(struct nro_otlp *o, struct nro_msg *m, uint64_t epoch)
{
	union nro_entry e;
	for (uint32_t i = 0; nro_next(m, &e); i++) {
		int rc = m->hdr.kind == NRO_KIND_METRIC ? add_metric(o, &e.metric)
			 : m->hdr.kind == NRO_KIND_EVENT ? add_event(o, &e.event, m->hdr.seq, i, epoch)
							  : 0;
		if (rc != 0)
			return -1;
	}
	for (size_t i = 0; i < o->nhist; i++)
		if (hist_finish(o, o->hist[i]) != 0)
			return -1;
	return 0;
}

static void count_bytes(struct queue *q, size_t from)
{
	for (size_t i = from; i < q->n; i++)
		q->bytes += q->v[i].size;
}

/* Forgets series not seen for SERIES_IDLE_MS (pods come and go): the table
 * holds what the node has now, not all it ever had. */
static void sweep_series(struct nro_otlp *o, int64_t now_ms)
{
	if (now_ms - o->swept_ms < SERIES_SWEEP_MS)
		return;
	o->swept_ms = now_ms;
	struct nro_hmap_iter it;
	struct nro_hmap_ent *e;
	nro_hmap_iter_init(&it, &o->series);
	while ((e = nro_hmap_next(&it))) {
		struct series *se = e->value;
		if (now_ms - se->seen_ms > SERIES_IDLE_MS)
			free(nro_hmap_del(&o->series, e->key));
	}
}

int nro_otlp_add(struct nro_otlp *o, struct nro_msg *m, uint64_t epoch)
{
	if (m->hdr.kind != NRO_KIND_METRIC && m->hdr.kind != NRO_KIND_EVENT)
		return 0;
	enum nro_otlp_signal sig = m->hdr.kind == NRO_KIND_METRIC ? NRO_OTLP_METRICS : NRO_OTLP_LOGS;
	struct queue *q = &o->q[sig];
	size_t before = q->n;
	o->node = dup_str(o, m->hdr.node);
	o->source = dup_str(o, m->hdr.source);
	o->ts_ms = m->hdr.ts_ms;
	o->first_item = before;
	o->nhist = 0;
	sweep_series(o, m->hdr.ts_ms);
	if (!o->node || !o->source || add_entries(o, m, epoch) != 0 ||
	    o->arena.used > o->max_memory) {
		q->n = before; /* nothing of m kept; its arena bytes wait for the reset */
		return -1;
	}
	count_bytes(q, before);
	return 0;
}

/* ---- requests ---------------------------------------------------------- */

#define SCOPES_MAX 256 /* distinct (node, source) pairs in one request */

/* Which items a request carries, grouped by resource (node) and scope (source). */
struct layout {
	size_t k;                         /* items taken */
	size_t nres, nscope;
	const char *res_node[SCOPES_MAX];
	size_t res_nscope[SCOPES_MAX];
	size_t scope_res[SCOPES_MAX];
	const char *scope_src[SCOPES_MAX];
	size_t scope_first[SCOPES_MAX], scope_n[SCOPES_MAX];
	ProtobufCMessage **msgs;          /* k items, grouped by scope */
	size_t points;
};

static size_t scope_of(struct layout *L, const struct item *it, int add)
{
	for (size_t s = 0; s < L->nscope; s++)
		if (strcmp(L->scope_src[s], it->source) == 0 &&
		    strcmp(L->res_node[L->scope_res[s]], it->node) == 0)
			return s;
	if (!add || L->nscope == SCOPES_MAX)
		return SIZE_MAX;
	size_t r = 0;
	while (r < L->nres && strcmp(L->res_node[r], it->node) != 0)
		r++;
	if (r == L->nres)
		L->res_node[L->nres++] = it->node;
	L->res_nscope[r]++;
	L->scope_res[L->nscope] = r;
	L->scope_src[L->nscope] = it->source;
	return L->nscope++;
}

/* Pass 1: the oldest items that fit in max_request (at least one). */
static void layout_take(struct nro_otlp *o, const struct queue *q, struct layout *L)
{
	size_t total = 0;
	for (size_t i = q->head; i < q->n; i++) {
		const struct item *it = &q->v[i];
		size_t s = scope_of(L, it, 0), add = it->size;
		if (s == SIZE_MAX)
			add += GROUP_OVERHEAD;
		if (L->k && (total + add > o->max_request || (s == SIZE_MAX && L->nscope == SCOPES_MAX)))
			break;
		s = scope_of(L, it, 1);
		L->scope_n[s]++;
		L->points += it->points;
		total += add;
		L->k++;
	}
}

/* Pass 2: items in scope order. */
static int layout_fill(struct nro_otlp *o, const struct queue *q, struct layout *L)
{
	L->msgs = nro_arena_alloc(&o->scratch, L->k * sizeof *L->msgs);
	size_t *next = nro_arena_alloc(&o->scratch, L->nscope * sizeof *next);
	if (!L->msgs || !next)
		return -1;
	for (size_t s = 0, at = 0; s < L->nscope; s++) {
		L->scope_first[s] = next[s] = at;
		at += L->scope_n[s];
	}
	for (size_t i = 0; i < L->k; i++) {
		const struct item *it = &q->v[q->head + i];
		L->msgs[next[scope_of(L, it, 0)]++] = it->msg;
	}
	return 0;
}

static Otlp__Resource *resource_new(struct nro_otlp *o, const char *node)
{
	struct nro_arena *a = &o->scratch;
	Otlp__Resource *r = nro_arena_alloc(a, sizeof *r);
	Otlp__KeyValue **kv = nro_arena_alloc(a, 4 * sizeof *kv);
	if (!r || !kv)
		return NULL;
	otlp__resource__init(r);
	kv[0] = kv_str(a, "k8s.node.name", node);
	kv[1] = kv_str(a, "host.name", node);
	kv[2] = kv_str(a, "service.name", "node-runtime-observer");
	kv[3] = kv_str(a, "service.version", o->version);
	r->attributes = kv;
	r->n_attributes = 4;
	return kv[0] && kv[1] && kv[2] && kv[3] ? r : NULL;
}

static Otlp__InstrumentationScope *scope_new(struct nro_otlp *o, const char *source)
{
	Otlp__InstrumentationScope *s = nro_arena_alloc(&o->scratch, sizeof *s);
	if (s) {
		otlp__instrumentation_scope__init(s);
		s->name = (char *)source;
		s->version = o->version;
	}
	return s;
}

/* A message of type d in the scratch arena, initialized. */
static ProtobufCMessage *msg_new(struct nro_otlp *o, const ProtobufCMessageDescriptor *d)
{
	ProtobufCMessage *m = nro_arena_alloc(&o->scratch, d->sizeof_message);
	if (m)
		protobuf_c_message_init(d, m);
	return m;
}

/* Field id of m (a message, or a repeated message with n elements). */
static const ProtobufCFieldDescriptor *field(const ProtobufCMessage *m, unsigned id)
{
	return protobuf_c_message_descriptor_get_field(m->descriptor, id);
}

static void set_msg(ProtobufCMessage *m, unsigned id, void *value)
{
	*(void **)((char *)m + field(m, id)->offset) = value;
}

static void set_repeated(ProtobufCMessage *m, unsigned id, void *arr, size_t n)
{
	const ProtobufCFieldDescriptor *f = field(m, id);
	*(void **)((char *)m + f->offset) = arr;
	*(size_t *)((char *)m + f->quantifier_offset) = n;
}

/*
 * The envelope of both requests, which share their shape and field numbers:
 * Export*ServiceRequest{1: repeated Resource*}, Resource*{1: Resource,
 * 2: repeated Scope*}, Scope*{1: InstrumentationScope, 2: repeated items}.
 * Built by reflection over the request's descriptor, so one function serves
 * metrics and logs.
 */
static ProtobufCMessage *request_new(struct nro_otlp *o, const ProtobufCMessageDescriptor *rd,
				     const struct layout *L)
{
	ProtobufCMessage *req = msg_new(o, rd);
	ProtobufCMessage **res = nro_arena_alloc(&o->scratch, L->nres * sizeof *res);
	size_t *nscopes = nro_arena_alloc(&o->scratch, L->nres * sizeof *nscopes);
	if (!req || !res || !nscopes)
		return NULL;
	const ProtobufCMessageDescriptor *resd = field(req, 1)->descriptor;
	for (size_t r = 0; r < L->nres; r++) {
		void **scopes = nro_arena_alloc(&o->scratch, L->res_nscope[r] * sizeof *scopes);
		Otlp__Resource *rattr = resource_new(o, L->res_node[r]);
		if (!(res[r] = msg_new(o, resd)) || !scopes || !rattr)
			return NULL;
		set_msg(res[r], 1, rattr);
		set_repeated(res[r], 2, scopes, 0);
	}
	const ProtobufCMessageDescriptor *sd = field(res[0], 2)->descriptor;
	for (size_t s = 0; s < L->nscope; s++) {
		size_t r = L->scope_res[s];
		ProtobufCMessage *sc = msg_new(o, sd);
		Otlp__InstrumentationScope *scope = scope_new(o, L->scope_src[s]);
		if (!sc || !scope)
			return NULL;
		set_msg(sc, 1, scope);
		set_repeated(sc, 2, L->msgs + L->scope_first[s], L->scope_n[s]);
		void **scopes = *(void ***)((char *)res[r] + field(res[r], 2)->offset);
		scopes[nscopes[r]++] = sc;
		set_repeated(res[r], 2, scopes, nscopes[r]);
	}
	set_repeated(req, 1, res, L->nres);
	return req;
}

/* protobuf-c's output callback into an nro_buf, the first failure sticky. */
struct buf_sink {
	ProtobufCBuffer base;
	struct nro_buf *b;
	int failed;
};

static void buf_append(ProtobufCBuffer *pb, size_t len, const uint8_t *data)
{
	struct buf_sink *s = (struct buf_sink *)pb;
	if (!s->failed && nro_buf_add(s->b, data, len) != 0)
		s->failed = 1;
}

static int serialize(const ProtobufCMessage *req, int json, struct nro_buf *out)
{
	nro_buf_reset(out);
	if (json)
		return nro_pbjson(out, req);
	struct buf_sink s = {{buf_append}, out, 0};
	protobuf_c_message_pack_to_buffer(req, &s.base);
	return s.failed ? -1 : 0;
}

int nro_otlp_encode(struct nro_otlp *o, enum nro_otlp_signal sig, int json,
		    struct nro_buf *out, size_t *items, size_t *points)
{
	struct queue *q = &o->q[sig];
	*items = *points = 0;
	if (q->head == q->n)
		return 1;
	nro_arena_reset(&o->scratch);
	struct layout *L = nro_arena_alloc(&o->scratch, sizeof *L);
	if (!L)
		return -1;
	layout_take(o, q, L);
	if (layout_fill(o, q, L) != 0)
		return -1;
	ProtobufCMessage *req = request_new(o, sig == NRO_OTLP_METRICS
						  ? &otlp__export_metrics_service_request__descriptor
						  : &otlp__export_logs_service_request__descriptor, L);
	if (!req || serialize(req, json, out) != 0)
		return -1;
	*items = L->k;
	*points = L->points;
	return 0;
}

void nro_otlp_consume(struct nro_otlp *o, enum nro_otlp_signal sig, size_t n)
{
	struct queue *q = &o->q[sig];
	for (; n && q->head < q->n; n--)
		q->bytes -= q->v[q->head++].size;
	if (q->head == q->n)
		q->head = q->n = q->bytes = 0;
	if (!o->q[0].n && !o->q[1].n) {
		nro_arena_reset(&o->arena);
		nro_arena_reset(&o->scratch);
	}
}

/* ---- responses --------------------------------------------------------- */

static int partial_json(enum nro_otlp_signal sig, const char *body, size_t len,
			int64_t *rejected, char *msg, size_t msglen)
{
	struct nro_json j;
	const char *why;
	nro_json_init(&j, 4096);
	int rc = nro_json_parse(&j, body, len, &why);
	int ps = rc == 0 ? nro_json_key(&j, 0, "partialSuccess") : -1;
	if (ps >= 0) {
		int n = nro_json_key(&j, ps, sig == NRO_OTLP_METRICS ? "rejectedDataPoints"
								 : "rejectedLogRecords");
		char tmp[32];
		/* int64 comes as a string in OTLP/JSON; accept a number too */
		if (n >= 0 && nro_json_i64(&j, n, rejected) != 0 &&
		    (nro_json_str(&j, n, tmp, sizeof tmp) < 0 ||
		     (*rejected = strtoll(tmp, NULL, 10)) < 0))
			rc = -1;
		int m = nro_json_key(&j, ps, "errorMessage");
		if (m >= 0 && nro_json_str(&j, m, msg, msglen) < 0)
			msg[0] = '\0';
	}
	nro_json_free(&j);
	return rc;
}

static void copy_msg(char *msg, size_t msglen, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n >= msglen)
		n = msglen - 1;
	memcpy(msg, s ? s : "", n);
	msg[n] = '\0';
}

int nro_otlp_partial(enum nro_otlp_signal sig, int json, const void *body, size_t len,
		     int64_t *rejected, char *msg, size_t msglen)
{
	*rejected = 0;
	msg[0] = '\0';
	if (len == 0)
		return 0;
	if (json)
		return partial_json(sig, body, len, rejected, msg, msglen);
	if (sig == NRO_OTLP_METRICS) {
		Otlp__ExportMetricsServiceResponse *r =
			otlp__export_metrics_service_response__unpack(NULL, len, body);
		if (!r)
			return -1;
		if (r->partial_success) {
			*rejected = r->partial_success->rejected_data_points;
			copy_msg(msg, msglen, r->partial_success->error_message);
		}
		otlp__export_metrics_service_response__free_unpacked(r, NULL);
		return 0;
	}
	Otlp__ExportLogsServiceResponse *r = otlp__export_logs_service_response__unpack(NULL, len, body);
	if (!r)
		return -1;
	if (r->partial_success) {
		*rejected = r->partial_success->rejected_log_records;
		copy_msg(msg, msglen, r->partial_success->error_message);
	}
	otlp__export_logs_service_response__free_unpacked(r, NULL);
	return 0;
}
