/*
 * A streaming parser for the Prometheus text exposition format 0.0.4 (an
 * OpenMetrics "# EOF" line ends the body). Feed it the body in chunks of
 * any size, split anywhere (as libcurl's write callback delivers them); it
 * calls back once per sample line. Memory is constant: the parser keeps one
 * line buffer of at most line_max bytes, whatever the body's size.
 *
 *   struct nro_prom p;
 *   nro_prom_init(&p, 0, on_sample, ctx);
 *   ... nro_prom_feed(&p, data, len) for every chunk ...
 *   nro_prom_finish(&p);            (a last line without '\n')
 *   nro_prom_reset(&p) for the next body, nro_prom_free(&p) at the end.
 *
 * Syntax accepted, per line (leading and trailing blanks and a '\r' before
 * the '\n' are ignored):
 *   - blank lines and "# ..." comments: skipped;
 *   - "# HELP name text": starts family name (untyped unless a TYPE follows);
 *   - "# TYPE name counter|gauge|histogram|summary|untyped" ("unknown" is
 *     read as untyped): starts family name with that type;
 *   - "# EOF": the end; anything after it is ignored;
 *   - samples: name[{label="value",...}] value [timestamp]
 *     name [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]*,
 *     values with the escapes \\ \" \n (valid UTF-8, no NUL), "{}" and a
 *     trailing comma allowed, a duplicate label name is malformed, at most
 *     NRO_PROM_LABELS_MAX labels; the value as Go's strconv.ParseFloat
 *     reads it (decimal or hex floats, NaN, Inf, +Inf, -Inf, infinity, in
 *     any case; out of range is malformed); the timestamp an integer (ms).
 * A sample of the current family's type: its name is the family name, or
 * for a histogram the family + _bucket (which must carry a float "le"),
 * _sum or _count; for a summary the family (with a float "quantile"), _sum
 * or _count; for a counter also family + _total (OpenMetrics naming). Any
 * other sample is untyped and its own family; it does not end the current
 * family (the text format keeps a family's lines together).
 *
 * A malformed line (bad syntax, or longer than line_max - 1 bytes) is
 * counted, remembered (reason and line number) and skipped; the next line
 * parses normally. Malformed lines are never fatal.
 *
 * Numbers are read with strtod(): the tools never call setlocale(), so the
 * decimal point is '.'.
 */
#ifndef NRO_PROM_H
#define NRO_PROM_H

#include <stddef.h>
#include <stdint.h>

#define NRO_PROM_LINE_MAX (64u << 10) /* default line buffer cap, bytes */
#define NRO_PROM_LABELS_MAX 64        /* labels per sample */
#define NRO_PROM_NAME_MAX 256         /* bytes of a family name kept from HELP/TYPE */

struct nro_prom_label {
	const char *name, *value;
};

/* One sample. Every string is NUL-terminated and valid only during the
 * callback (it points into the parser's line buffer). */
struct nro_prom_sample {
	const char *family; /* from # TYPE/HELP, else the series name */
	const char *name;   /* the series as written, e.g. foo_bucket */
	int type;           /* enum nro_metric_type (lib/wire/record.h) */
	double value;       /* any double: NaN and +-Inf included */
	int has_ts;
	int64_t ts_ms;      /* when has_ts */
	uint64_t line;      /* 1-based line number in the body */
	unsigned nlabels;
	struct nro_prom_label labels[NRO_PROM_LABELS_MAX];
};

/* Called once per sample; return 0 to go on, -1 to abort the parse. */
typedef int (*nro_prom_fn)(void *ctx, const struct nro_prom_sample *s);

struct nro_prom_filter;

struct nro_prom {
	/* counters for the current body (read them, do not write) */
	uint64_t lines;     /* lines seen, including blank and comment lines */
	uint64_t samples;   /* samples delivered to the callback */
	uint64_t malformed; /* lines skipped as malformed */
	uint64_t filtered;  /* sample lines skipped by the filter (not checked) */
	const char *bad_why; /* last malformed line: static reason, or NULL */
	uint64_t bad_line;   /* its 1-based line number */
	int eof;             /* saw "# EOF" */
	const char *error;   /* why feed/finish returned -1: "aborted", "out of memory" */
	size_t line_cap;     /* bytes allocated for the line buffer: <= line_max */
	size_t line_max;     /* hard cap on line_cap */

	/* private */
	nro_prom_fn fn;
	void *ctx;
	const struct nro_prom_filter *filter;
	char *line;
	size_t len;
	int skipping; /* inside an over-long line: drop bytes up to '\n' */
	int failed;   /* sticky: callback aborted or out of memory */
	int fam_type, fam_keep;
	size_t fam_len;
	char family[NRO_PROM_NAME_MAX];
	struct nro_prom_sample sample;
};

/* Initializes p: line_max caps the line buffer (0 = NRO_PROM_LINE_MAX;
 * minimum 64), fn gets every sample. Allocates nothing yet. */
void nro_prom_init(struct nro_prom *p, size_t line_max, nro_prom_fn fn, void *ctx);
/* Frees the line buffer (p owns it); p can be used again after reset. */
void nro_prom_free(struct nro_prom *p);
/* Starts a new body: zeroes the counters and the family state, keeps the
 * line buffer, the callback and the filter. */
void nro_prom_reset(struct nro_prom *p);
/* Only samples whose family f admits reach the callback (the others are
 * counted in p->filtered, without parsing their labels). f is borrowed and
 * must outlive its use by p; NULL admits everything. The decision is cached
 * per family: call this again after changing f. */
void nro_prom_set_filter(struct nro_prom *p, const struct nro_prom_filter *f);
/* Parses data[0..len), keeping an unfinished line for the next call (data
 * itself is not kept). Returns 0, or -1 once the callback aborted or memory
 * ran out (p->error says which; sticky until reset). */
int nro_prom_feed(struct nro_prom *p, const char *data, size_t len);
/* Parses a last line that had no final newline. 0/-1 as nro_prom_feed. */
int nro_prom_finish(struct nro_prom *p);

/* ---- label names --------------------------------------------------------
 * Before Kubernetes 1.16, cAdvisor labels were container_name and pod_name;
 * 1.15 carries both the old and the new names. The rule collectors apply:
 * rename container_name -> container and pod_name -> pod, except that when
 * a sample also has the new name, the old label is dropped (the new one is
 * kept as written). */

/* The name to publish label `name` under (a static string or name). */
const char *nro_prom_normalize_label(const char *name);
/* 1 if label i of s is to be dropped under the rule above, else 0. */
int nro_prom_label_dropped(const struct nro_prom_sample *s, unsigned i);

/* ---- family filter ------------------------------------------------------
 * --allow/--deny lists of family names: "name" exact, "prefix_*" any family
 * starting with prefix_, "all" every family. A family passes when no deny
 * pattern matches it and either the allow list is empty or an allow pattern
 * matches it (deny wins). */

#define NRO_PROM_FILTER_MAX 256 /* patterns per list */

enum { NRO_PROM_ALLOW = 0, NRO_PROM_DENY = 1 };

struct nro_prom_pattern {
	char *s;      /* owned */
	size_t len;   /* without a trailing '*' */
	int prefix;   /* had a trailing '*' */
};

struct nro_prom_filter {
	struct nro_prom_pattern *pat[2]; /* [NRO_PROM_ALLOW], [NRO_PROM_DENY] */
	unsigned n[2], cap[2];
	int all[2];
};

/* Initializes an empty filter (admits every family). Allocates nothing. */
void nro_prom_filter_init(struct nro_prom_filter *f);
/* Frees every pattern f owns; f is empty afterwards. */
void nro_prom_filter_free(struct nro_prom_filter *f);
/* Adds the comma-separated patterns in list (blanks around items and empty
 * items ignored; patterns are copied) to the allow or deny list (which =
 * NRO_PROM_ALLOW or NRO_PROM_DENY). Returns 0, or -1 with a static reason
 * ("invalid family pattern", "too many patterns", "out of memory"); on
 * failure the patterns before the bad one stay added. */
int nro_prom_filter_add_list(struct nro_prom_filter *f, const char *list, int which,
			     const char **why);
/* 1 if family passes f, else 0. */
int nro_prom_filter_match(const struct nro_prom_filter *f, const char *family);

#endif
