/*
 * Derived metrics (node_runtime_*), the names users of the original design
 * know: node conditions from the rules that declare one, usage percentages,
 * collector health, and counts of events and errors.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rules/internal.h"
#include "wire/names_services.h"

struct sink {
	nro_rules_metric_fn fn;
	void *ctx;
	const char *node;
};

static void metric(const struct sink *s, const char *name, uint8_t type, double v,
		   const char *k1, const char *v1, const char *k2, const char *v2)
{
	struct nro_attr a[3] = {{nro_s("node"), nro_s(s->node)}};
	uint16_t n = 1;
	if (k1) {
		a[n].key = nro_s(k1);
		a[n++].value = nro_s(v1);
	}
	if (k2) {
		a[n].key = nro_s(k2);
		a[n++].value = nro_s(v2);
	}
	const char *unit = strstr(name, "percent") ? "%" : "1";
	struct nro_metric m = {nro_s(name), nro_s(unit), type, v, 0, n, a};
	s->fn(s->ctx, s->node, &m);
}

static int node_alert_firing(const struct nro_rules *r, int rule, const char *node)
{
	char key[1100];
	alert_key(key, sizeof key, rule, node, "", "", "", "", node, "");
	const struct alert *a = nro_hmap_get(&r->alerts, key);
	return a && (a->state == S_FIRING || a->state == S_RESOLVING);
}

static void conditions(const struct nro_rules *r, const struct sink *s)
{
	for (int i = 0; i < r->nrules; i++) {
		const struct rule_def *d = r->defs[i];
		if (!d->condition)
			continue;
		int on = node_alert_firing(r, i, s->node) != d->inverted;
		metric(s, "node_runtime_condition", NRO_MT_GAUGE, on, "condition", d->condition,
		       "status", "true");
		metric(s, "node_runtime_condition", NRO_MT_GAUGE, !on, "condition", d->condition,
		       "status", "false");
	}
}

static void usage(const struct fobj *n, const struct sink *s)
{
	double cpu, cores, avail, ws, cap, fa;
	if (fact_value(n, NRO_M_NODE_CPU_USAGE, &cpu)) {
		if (!fact_value(n, NRO_M_MACHINE_CPU_CORES, &cores))
			cores = (double)sysconf(_SC_NPROCESSORS_ONLN);
		if (cores > 0)
			metric(s, "node_runtime_cpu_usage_percent", NRO_MT_GAUGE, cpu / cores * 100.0,
			       NULL, NULL, NULL, NULL);
	}
	if (fact_value(n, NRO_M_NODE_MEM_AVAILABLE, &avail) &&
	    fact_value(n, NRO_M_NODE_MEM_WORKING_SET, &ws) && avail + ws > 0)
		metric(s, "node_runtime_memory_usage_percent", NRO_MT_GAUGE, ws / (avail + ws) * 100.0,
		       NULL, NULL, NULL, NULL);
	if (fact_value(n, NRO_M_NODE_FS_CAPACITY, &cap) && cap > 0 &&
	    fact_value(n, NRO_M_NODE_FS_AVAILABLE, &fa))
		metric(s, "node_runtime_disk_usage_percent", NRO_MT_GAUGE, (cap - fa) / cap * 100.0,
		       "device", "nodefs", NULL, NULL);
	if (fact_value(n, NRO_M_NODE_IMAGEFS_CAPACITY, &cap) && cap > 0 &&
	    fact_value(n, NRO_M_NODE_IMAGEFS_AVAILABLE, &fa))
		metric(s, "node_runtime_disk_usage_percent", NRO_MT_GAUGE, (cap - fa) / cap * 100.0,
		       "device", "imagefs", NULL, NULL);
}

/* node_runtime_service_healthy{service=<unit>}: 1 when systemd says the
 * unit is active/running (collector-systemd's healthy attribute). */
static void unit_health(void *ctx, struct hstate *h)
{
	metric(ctx, "node_runtime_service_healthy", NRO_MT_GAUGE,
	       strcmp(hstate_attr(h, NRO_SYSTEMD_ATTR_HEALTHY), "true") == 0, "service", h->object,
	       NULL, NULL);
}

static void counts(const struct nro_rules *r, const struct fobj *n, const struct sink *s)
{
	struct nro_hmap_iter it;
	struct nro_hmap_ent *c;
	nro_hmap_iter_init(&it, &r->fs.sources);
	while ((c = nro_hmap_next(&it))) {
		const struct source *src = c->value;
		if (strcmp(src->node, n->name) == 0)
			metric(s, "node_runtime_service_healthy", NRO_MT_GAUGE,
			       src->last_status != NRO_HEALTH_FAILED && src->last_ok, "service",
			       src->name, NULL, NULL);
	}
	nro_hmap_iter_init(&it, &n->u.node.events_total);
	while ((c = nro_hmap_next(&it)))
		metric(s, "node_runtime_events_total", NRO_MT_COUNTER, *(double *)c->value,
		       "event_type", c->key, NULL, NULL);
	nro_hmap_iter_init(&it, &n->u.node.errors_total);
	while ((c = nro_hmap_next(&it)))
		metric(s, "node_runtime_errors_total", NRO_MT_COUNTER, *(double *)c->value,
		       "error_type", c->key, NULL, NULL);
	if (r->dropped_alerts > 0) /* ALERTS_MAX reached */
		metric(s, "node_runtime_errors_total", NRO_MT_COUNTER, (double)r->dropped_alerts,
		       "error_type", "alerts_dropped", NULL, NULL);
	size_t tracked[3];
	nro_rules_sizes(r, &tracked[0], &tracked[1], &tracked[2]);
	static const char *const table[3] = {"pods", "containers", "alerts"};
	for (int i = 0; i < 3; i++) /* what the analyzer keeps: churn must bring it back */
		metric(s, "node_runtime_tracked_objects", NRO_MT_GAUGE, (double)tracked[i], "table",
		       table[i], NULL, NULL);
	double dropped = (double)(r->fs.dropped_facts + r->fs.dropped_sources);
	for (int k = 0; k < OBJ_KINDS; k++)
		dropped += (double)r->fs.dropped[k];
	if (dropped > 0) /* the fact store's caps were reached: counted, never silent */
		metric(s, "node_runtime_errors_total", NRO_MT_COUNTER, dropped, "error_type",
		       "fact_store_full", NULL, NULL);
}

void nro_rules_derived(struct nro_rules *r, nro_rules_metric_fn fn, void *ctx, int64_t now)
{
	(void)now;
	struct nro_hmap_iter it;
	struct nro_hmap_ent *e;
	nro_hmap_iter_init(&it, &r->fs.objs[NRO_OBJ_NODE]);
	while ((e = nro_hmap_next(&it))) {
		const struct fobj *n = e->value;
		struct sink s = {fn, ctx, n->name};
		conditions(r, &s);
		usage(n, &s);
		counts(r, n, &s);
		hstate_each((struct fobj *)n, NRO_SYSTEMD_UNIT, unit_health, &s);
	}
}
