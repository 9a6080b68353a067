/*
 * Kubelet health: its /healthz checks and sync loop, how many pods it runs
 * against maxPods, PLEG latency, certificate lifetimes, evictions and
 * container runtime errors (from its own /metrics).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rules/internal.h"

#define MIN_MS 60000
#define DAY 86400.0

static void eval_unhealthy(struct eval *e)
{
	const struct node_facts *n = &e->obj->u.node;
	if (n->healthz < 0)
		return;
	struct verdict v = verdict_for(e);
	v.source = "collector-healthz";
	v.breach = n->healthz == 0;
	snprintf(v.message, sizeof v.message, "kubelet on %s: /healthz failing: %s", e->obj->name,
		 n->healthz_reason[0] ? n->healthz_reason : "unhealthy");
	snprintf(v.resolved, sizeof v.resolved, "kubelet on %s: /healthz ok", e->obj->name);
	rule_report(e, &v);
}

static void eval_syncloop(struct eval *e)
{
	const struct node_facts *n = &e->obj->u.node;
	if (n->syncloop < 0 && n->syncloop_check < 0)
		return;
	struct verdict v = verdict_for(e);
	v.source = n->syncloop >= 0 ? "collector-syncloop" : "collector-healthz";
	v.breach = n->syncloop == 0 || n->syncloop_check == 0;
	snprintf(v.message, sizeof v.message,
		 "kubelet on %s: sync loop unhealthy: %s (pods are not being reconciled)",
		 e->obj->name, n->syncloop_reason[0] ? n->syncloop_reason : "syncloop check failing");
	snprintf(v.resolved, sizeof v.resolved, "kubelet on %s: sync loop healthy", e->obj->name);
	rule_report(e, &v);
}

/* ---- KubeletTooManyPods ---- */

/* Running pods /pods lists on node; -1 when no /pods snapshot came yet. */
static int running_pods(const struct nro_rules *r, const char *node)
{
	struct nro_hmap_iter it;
	struct nro_hmap_ent *e;
	int n = 0, known = 0;
	nro_hmap_iter_init(&it, &r->fs.objs[NRO_OBJ_POD]);
	while ((e = nro_hmap_next(&it))) {
		const struct fobj *p = e->value;
		if (!p->has_state || strcmp(p->node, node) != 0)
			continue;
		known = 1;
		n += strcmp(p->u.pod.phase, "Running") == 0;
	}
	const struct source *s = nro_hmap_get(&r->fs.sources, "collector-pods");
	return known || (s && s->snapshots) ? n : -1;
}

static void eval_too_many_pods(struct eval *e)
{
	int running = running_pods(e->r, e->obj->name);
	if (running < 0)
		return;
	const struct node_facts *n = &e->obj->u.node;
	double max = n->max_pods > 0 ? n->max_pods : 110;
	double pct = running / max * 100.0;
	struct verdict v = verdict_for(e);
	v.source = "collector-pods";
	v.breach = pct > e->p->threshold;
	v.has_value = v.has_threshold = 1;
	v.value = running;
	v.threshold = floor(e->p->threshold / 100.0 * max);
	snprintf(v.message, sizeof v.message,
		 "node %s runs %d pods, %.0f%% of maxPods %.0f (%s; above %g%%): new pods will be "
		 "rejected; spread the load or raise maxPods",
		 e->obj->name, running, pct, max, n->max_pods > 0 ? "configz" : "kubelet default",
		 e->p->threshold);
	snprintf(v.resolved, sizeof v.resolved, "node %s runs %d of maxPods %.0f (%.0f%%)",
		 e->obj->name, running, max, pct);
	rule_report(e, &v);
}

/* ---- KubeletPLEGLatencyHigh ---- */

static void eval_pleg_latency(struct eval *e)
{
	double p99 = 0;
	int known = fact_quantile(e->obj, NRO_M_PLEG_RELIST_BUCKET, 0.99, 5 * MIN_MS, e->now, &p99);
	if (!known && !fact_each(e->obj, NRO_M_PLEG_RELIST_BUCKET, NULL, NULL))
		return;
	struct verdict v = verdict_for(e);
	v.unknown = !known; /* buckets without new observations in the window */
	v.source = "collector-metrics";
	v.breach = p99 >= e->p->threshold; /* as the mixin: 10s is the top finite bucket */
	v.has_value = v.has_threshold = 1;
	v.value = round(p99 * 1000) / 1000;
	v.threshold = e->p->threshold;
	snprintf(v.message, sizeof v.message,
		 "kubelet on %s: PLEG relist p99 %.3gs over the last 5m reaches %gs: the container "
		 "runtime answers slowly (check its CPU, disk and container count)",
		 e->obj->name, p99, e->p->threshold);
	snprintf(v.resolved, sizeof v.resolved, "kubelet on %s: PLEG relist p99 %.3gs, back below %gs",
		 e->obj->name, p99, e->p->threshold);
	rule_report(e, &v);
}

/* ---- KubeletCertificateExpiring ---- */

static void cert_check(struct eval *e, const char *series, const char *which)
{
	const struct fact *f = fact_get(e->obj, series, NULL);
	if (!f)
		return;
	double ttl = f->last;
	char left[32];
	fmt_secs(left, sizeof left, fabs(ttl));
	struct verdict v = verdict_for(e);
	v.source = "collector-metrics";
	v.sub = which;
	v.detail_key = "certificate";
	v.breach = ttl < e->p->threshold * DAY;
	v.severity = ttl < e->p->critical * DAY ? NRO_SEV_CRITICAL : e->p->severity;
	v.has_value = v.has_threshold = 1;
	v.value = round(ttl);
	v.threshold = (v.severity == NRO_SEV_CRITICAL ? e->p->critical : e->p->threshold) * DAY;
	if (ttl < 0)
		snprintf(v.message, sizeof v.message,
			 "kubelet on %s: its %s certificate expired %s ago: renew it now", e->obj->name,
			 which, left);
	else
		snprintf(v.message, sizeof v.message,
			 "kubelet on %s: its %s certificate expires in %s (below %g days): check "
			 "certificate rotation and CSR approval",
			 e->obj->name, which, left, v.severity == NRO_SEV_CRITICAL ? e->p->critical :
										      e->p->threshold);
	snprintf(v.resolved, sizeof v.resolved, "kubelet on %s: its %s certificate is valid for %s",
		 e->obj->name, which, left);
	rule_report(e, &v);
}

static void eval_cert(struct eval *e)
{
	cert_check(e, NRO_M_CERT_CLIENT_TTL, "client");
	cert_check(e, NRO_M_CERT_SERVER_TTL, "server");
}

/* ---- KubeletEvictions and KubeletRuntimeErrors: rising counters ---- */

struct rising {
	struct eval *e;
	const char *what; /* "evictions", "runtime errors" */
	const char *detail_key;
	const char *advice;
};

static void rising_take(void *ctx, const struct fact *f)
{
	const struct rising *x = ctx;
	struct eval *e = x->e;
	char label[64];
	double added;
	fact_dim(f, 0, label, sizeof label);
	struct verdict v = verdict_increase(e, f, label, x->detail_key, &added);
	snprintf(v.message, sizeof v.message, "kubelet on %s: %.0f %s (%s %s) since the last poll, "
		 "%.0f in all: %s",
		 e->obj->name, added, x->what, x->detail_key, label, f->last, x->advice);
	snprintf(v.resolved, sizeof v.resolved, "kubelet on %s: no new %s (%s %s; %.0f in all)",
		 e->obj->name, x->what, x->detail_key, label, f->last);
	rule_report(e, &v);
}

static void eval_evictions(struct eval *e)
{
	struct rising x = {e, "evictions", "eviction_signal",
			   "the node ran short of what the signal names"};
	fact_each(e->obj, NRO_M_EVICTIONS, rising_take, &x);
}

static void eval_runtime_errors(struct eval *e)
{
	struct rising x = {e, "runtime operation errors", "operation_type",
			   "check the container runtime's log (journalctl -u containerd)"};
	/* 1.14 and 1.15 publish both names: the old one only where the new is not */
	if (!fact_each(e->obj, NRO_M_RUNTIME_ERRORS, rising_take, &x))
		fact_each(e->obj, NRO_M_RUNTIME_ERRORS_OLD, rising_take, &x);
}

static const char *const health_states[] = {NRO_K_HEALTHZ, NULL};
static const char *const syncloop_states[] = {NRO_K_SYNCLOOP, NRO_K_HEALTHZ_SYNCLOOP, NULL};
static const char *const max_pods_states[] = {NRO_K_POD_PHASE, NRO_K_CONFIG_MAX_PODS, NULL};
static const struct series_def pleg_series[] = {
	{NRO_M_PLEG_RELIST_BUCKET, "le", SERIES_COUNTER}, {NULL, NULL, 0}};
static const struct series_def cert_series[] = {
	{NRO_M_CERT_CLIENT_TTL, NULL, 0}, {NRO_M_CERT_SERVER_TTL, NULL, 0}, {NULL, NULL, 0}};
static const struct series_def eviction_series[] = {
	{NRO_M_EVICTIONS, "eviction_signal", SERIES_COUNTER}, {NULL, NULL, 0}};
static const struct series_def runtime_series[] = {
	{NRO_M_RUNTIME_ERRORS, "operation_type", SERIES_COUNTER},
	{NRO_M_RUNTIME_ERRORS_OLD, "operation_type", SERIES_COUNTER},
	{NULL, NULL, 0}};

const struct rule_def rules_kubelet[] = {
	{.type = "KubeletUnhealthy", .okind = NRO_OBJ_NODE, .severity = NRO_SEV_WARNING,
	 .source = "collector-healthz", .states = health_states, .eval = eval_unhealthy},
	{.type = "KubeletSyncLoopUnhealthy", .okind = NRO_OBJ_NODE, .severity = NRO_SEV_WARNING,
	 .source = "collector-syncloop",
	 .states = syncloop_states, .eval = eval_syncloop},
	{.type = "KubeletTooManyPods", .okind = NRO_OBJ_NODE, .severity = NRO_SEV_WARNING,
	 .for_ms = 5 * MIN_MS, .resolve_ms = 5 * MIN_MS, .threshold = 95, .min = 0, .max = 100,
	 .threshold_help = "running pods, percent of maxPods",
	 .tiers = "maxPods from /configz, else the kubelet's default 110",
	 .source = "collector-pods", .states = max_pods_states, .eval = eval_too_many_pods},
	{.type = "KubeletPLEGLatencyHigh", .okind = NRO_OBJ_NODE, .severity = NRO_SEV_WARNING,
	 .for_ms = 5 * MIN_MS, .resolve_ms = 5 * MIN_MS, .threshold = 10, .min = 0, .max = 3600,
	 .threshold_help = "p99 PLEG relist seconds over 5 minutes", .source = "collector-metrics",
	 .series = pleg_series, .eval = eval_pleg_latency},
	{.type = "KubeletCertificateExpiring", .okind = NRO_OBJ_NODE, .severity = NRO_SEV_WARNING,
	 .threshold = 7, .min = 0, .max = 3650, .threshold_help = "days of validity left, warning",
	 .has_critical = 1, .critical = 1, .critical_help = "days of validity left, critical",
	 .source = "collector-metrics", .series = cert_series, .eval = eval_cert},
	{.type = "KubeletEvictions", .okind = NRO_OBJ_NODE, .severity = NRO_SEV_WARNING,
	 .resolve_ms = 5 * MIN_MS, .threshold = 0, .min = 0, .max = 1e6,
	 .threshold_help = "evictions a poll may add", .source = "collector-metrics",
	 .series = eviction_series, .eval = eval_evictions},
	{.type = "KubeletRuntimeErrors", .okind = NRO_OBJ_NODE, .severity = NRO_SEV_WARNING,
	 .for_ms = MIN_MS, .resolve_ms = 2 * MIN_MS, .threshold = 0, .min = 0, .max = 1e6,
	 .threshold_help = "runtime operation errors a poll may add",
	 .source = "collector-metrics", .series = runtime_series, .eval = eval_runtime_errors},
	{NULL},
};
