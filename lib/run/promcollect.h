/*
 * The runtime of the Prometheus-text collectors (collector-probes,
 * -resource, -cadvisor, -metrics; collector-spec's /metrics/cadvisor
 * fallback): fetch a path with nro_kubelet_get(), stream every chunk
 * straight into nro_prom_feed() (memory does not grow with the body), keep
 * the families the --allow/--deny filter admits, and publish each sample as
 * one metric: named as the series is written, typed from # TYPE, the labels
 * as attributes (container_name/pod_name normalized to container/pod, see
 * nro_prom_label_dropped()), the sample's own timestamp when it has one.
 *
 * Malformed lines are skipped and counted; the poll is then degraded with
 * "N malformed lines skipped (first at line L: reason)". A body where
 * malformed lines outnumber the sample lines is not Prometheus text: the poll
 * fails with a parse error.
 *
 * A whole collector:
 *
 *   int main(int argc, char **argv)
 *   {   return nro_promcollect_main(argc, argv, "collector-probes", "Poll ...",
 *                                    "/metrics/probes", "prober_probe_total,...", 10000); }
 *
 * Flags it adds: --allow FAMILY,... (NRO_ALLOW; "all" for every family;
 * replaces the default list) and --deny FAMILY,... (NRO_DENY; wins over
 * allow). Patterns: "name" exact, "prefix_*".
 */
#ifndef NRO_PROMCOLLECT_H
#define NRO_PROMCOLLECT_H

#include <stddef.h>
#include <stdint.h>

#include "run/collector.h"
#include "parse/prom.h"

struct nro_promcollect;

/* Optional per-sample hook (collector-spec): return 0 to go on, 1 to stop
 * the transfer early with success, -1 to fail the poll (set pc->why). */
typedef int (*nro_promcollect_fn)(struct nro_promcollect *pc, const struct nro_prom_sample *s);

struct nro_promcollect {
	/* filled by the option table (NRO_PROMCOLLECT_OPTS) before init */
	const char *allow, *deny;
	/* set by init; may be changed between polls */
	struct nro_collector *c;
	const char *path;          /* what is fetched, e.g. "/metrics/cadvisor" */
	const char *default_allow; /* comma list used when --allow is not given */
	nro_promcollect_fn hook;   /* NULL: publish every admitted sample */
	void *user;                /* for the hook */
	const char *why;           /* hook's reason when it returned -1 (static) */
	struct nro_prom prom;
	struct nro_prom_filter filter;
	/* counters of the last fetch (read them, do not write) */
	uint64_t emitted;   /* metrics published */
	uint64_t refused;   /* samples the record format refused */
	uint64_t first_bad_line;
	const char *first_bad_why;
	/* private */
	struct nro_fetch *res;
	int stopped;
};

/* Two option-table entries (--allow, --deny) writing into pc, e.g.
 *   struct nro_optdef opts[] = { NRO_PROMCOLLECT_OPTS(&pc), {0} }; */
#define NRO_PROMCOLLECT_OPTS(pc)                                                              \
	{"allow", 0, "NRO_ALLOW", NRO_OPT_STR, &(pc)->allow, NULL, "FAMILY,...",                  \
	 "publish only these metric families (name, prefix_*, or all); replaces the default "     \
	 "list"},                                                                                 \
	{"deny", 0, "NRO_DENY", NRO_OPT_STR, &(pc)->deny, NULL, "FAMILY,...",                     \
	 "never publish these metric families (wins over --allow)"}

/* Builds pc's filter from pc->allow (else default_allow; NULL or "" = all)
 * and pc->deny. Call after nro_collector_init() (which parsed the flags).
 * Exits 100 naming the bad pattern. pc owns what it allocates until
 * nro_promcollect_free(). */
void nro_promcollect_init(struct nro_promcollect *pc, struct nro_collector *c, const char *path,
			  const char *default_allow);
/* Frees the filter and the parser's line buffer. */
void nro_promcollect_free(struct nro_promcollect *pc);

/* Fetches path (not necessarily pc->path) through the parser: every
 * admitted sample goes to pc->hook, or is published. Returns 0, or -1 with
 * res filled (its code, HTTP status and one-line message). Marks c degraded
 * when lines were skipped. */
int nro_promcollect_fetch(struct nro_promcollect *pc, const char *path, struct nro_fetch *res);
/* The poll function of a plain Prometheus-text collector (ctx = pc). */
int nro_promcollect_poll(struct nro_collector *c, void *ctx, struct nro_fetch *res);

/* Publishes sample s as a metric, labels normalized, plus nextra extra
 * attributes. 0, or -1 when the record format refused it. */
int nro_promcollect_emit(struct nro_collector *c, const struct nro_prom_sample *s,
			 const struct nro_attr *extra, unsigned nextra);

/* Formats "summary\n\nkeeps by default: a, b, c, ..." (wrapped) into out. */
void nro_promcollect_summary(char *out, size_t outlen, const char *summary,
			     const char *default_allow);

/* The whole main of a plain Prometheus-text collector: --help shows summary
 * and the default families; runs until SIGTERM (or once). */
int nro_promcollect_main(int argc, char **argv, const char *prog, const char *summary,
			 const char *path, const char *default_allow, int64_t default_interval_ms);

#endif
