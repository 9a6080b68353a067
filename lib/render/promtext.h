/*
 * The Prometheus exposition of sink-prom: a table that keeps the last value
 * of every series, and its rendering as text format 0.0.4 or OpenMetrics
 * 1.0; plus the OpenTelemetry-to-Prometheus name conversion
 * (docs/sink-prom.md has the table).
 *
 * The table is single-threaded: one owner sets, sweeps and renders; the
 * rendered buffer is what other threads may read. Caps: at most max_series
 * series (a new series past it is refused and counted by the caller), and
 * as many families; a rendered scrape is capped by the caller's buffer.
 *
 * Output is stable: families sorted by name, each with # HELP and # TYPE;
 * series sorted by their label set (names in order, `le`/`quantile` last
 * and compared as numbers), a histogram's buckets before _count and _sum.
 */
#ifndef NRO_PROMTEXT_H
#define NRO_PROMTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define NRO_PROM_NAME_MAX 256   /* a metric or label name, converted */
#define NRO_PROM_LABELS_MAX 64  /* labels on one series */
#define NRO_PROM_KEY_MAX 16384  /* a series' name and labels, rendered */

struct nro_prom_label {
	const char *name, *value; /* name already valid; value any bytes */
	size_t name_len, value_len;
};

/* One sample to keep. family is its family's name (sample without the
 * histogram/summary suffix); type an enum nro_metric_type. */
struct nro_prom_sample {
	const char *family, *sample, *help;
	uint8_t type;
	const struct nro_prom_label *labels;
	size_t nlabels;
	double value;
	int64_t ts_ms;       /* when it was refreshed (for nro_promtab_sweep) */
	uint16_t source;     /* the caller's id of where it came from */
	uint32_t generation; /* the caller's poll generation of that source */
};

struct nro_promtab;

/* NULL when out of memory. */
struct nro_promtab *nro_promtab_new(size_t max_series);
void nro_promtab_free(struct nro_promtab *t);

enum {
	NRO_PT_UPDATED = 0,
	NRO_PT_ADDED = 1,
	NRO_PT_FULL = -1,    /* a new series past max_series: refused */
	NRO_PT_INVALID = -2, /* too many labels, too long, or out of memory */
};

/* Sets a series' value (creating the series and its family as needed); a
 * label with an empty value is absent, as in Prometheus, and a repeated
 * label name keeps its first value. Returns an NRO_PT_* code. */
int nro_promtab_set(struct nro_promtab *t, const struct nro_prom_sample *s);

/* Removes the series not refreshed for max_age_ms[their source] (a source
 * at or past nsources, or with max age 0, never expires). Returns how many. */
size_t nro_promtab_sweep(struct nro_promtab *t, int64_t now_ms, const int64_t *max_age_ms,
			 size_t nsources);
/* Removes the series of source not set in generation (a finished poll
 * that did not mention them). Returns how many. */
size_t nro_promtab_sweep_source(struct nro_promtab *t, uint16_t source, uint32_t generation);
/* Removes one series, as set with these family, sample and labels
 * (resolved alerts). Returns 1 if it was there. */
int nro_promtab_del(struct nro_promtab *t, const struct nro_prom_sample *s);

size_t nro_promtab_count(const struct nro_promtab *t);

/* Appends every family, rendered (openmetrics: OpenMetrics 1.0, whose
 * "# EOF\n" the caller appends after the last table; else text 0.0.4).
 * 0, or -1 when b's cap was reached. */
int nro_promtab_render(struct nro_promtab *t, struct nro_buf *b, int openmetrics);

/* ---- names -------------------------------------------------------------- */

/* An OpenTelemetry metric name and unit as the OpenTelemetry Collector's
 * Prometheus exporter names it: non-alphanumerics to '_' (runs collapsed,
 * ends trimmed), the unit as a suffix ("By" -> "_bytes", "s" -> "_seconds",
 * "%" -> "_percent", "By/s" -> "_bytes_per_second"; "{...}" annotations
 * dropped; "1" -> "_ratio" on gauges), and "_total" on counters; a suffix
 * already there is not repeated. One addition: a gauge that would end in
 * _count, _sum or _bucket (which promtool reads as a histogram's) is given its
 * unit annotation as a suffix ("{processes}" -> "_processes"), else
 * "_value". 0, or -1 if it does not fit. */
int nro_prom_otel_name(const char *name, size_t len, const char *unit, size_t unit_len,
		       uint8_t type, char *out, size_t outlen);

/* A label name from any attribute key: invalid characters to '_', "key_"
 * before a leading digit or "__". 0, or -1 if it does not fit or is empty. */
int nro_prom_label_name(const char *key, size_t len, char *out, size_t outlen);

/* 1 if s is a valid Prometheus metric name ([a-zA-Z_:][a-zA-Z0-9_:]*). */
int nro_prom_valid_name(const char *s, size_t len);

/* The family a sample belongs to: the sample name less _bucket, _sum,
 * _count for histograms and _sum, _count for summaries. Returns its length. */
size_t nro_prom_family_len(const char *sample, size_t len, uint8_t type);

/* Appends v as Prometheus writes floats: NaN, +Inf, -Inf, integers
 * without a fraction, others in the shortest form that reads back exactly. */
int nro_prom_add_value(struct nro_buf *b, double v);
/* Appends a label value escaped (\\, \", \n). */
int nro_prom_add_label_value(struct nro_buf *b, const char *s, size_t len);

#endif
