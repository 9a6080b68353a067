/*
 * Node rules: readiness and pressure (memory, disk, PIDs, CPU), and the
 * network as the kubelet's collectors see it.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rules/internal.h"
#include "wire/names_host.h"

#define MIN_MS 60000
#define MiB (1024.0 * 1024.0)

/* The eviction threshold in effect for a signal: what /configz published,
 * else the kubelet's defaults (setting any one in the config clears the
 * other defaults, as the kubelet does). 0 when none applies. */
static int eviction_threshold(const struct node_facts *n, int signal, struct threshold *t)
{
	static const struct threshold defaults[EV_COUNT] = {
		[EV_MEM] = {1, 0, 100.0 * MiB, "100Mi", 0},
		[EV_NODEFS] = {1, 1, 10, "10%", 0},
		[EV_NODEFS_INODES] = {1, 1, 5, "5%", 0},
		[EV_IMAGEFS] = {1, 1, 15, "15%", 0},
		[EV_IMAGEFS_INODES] = {1, 1, 5, "5%", 0},
	};
	*t = n->have_config ? n->ev[signal] : defaults[signal];
	return t->set;
}

static double threshold_of(const struct threshold *t, double capacity)
{
	return t->pct ? t->v / 100.0 * capacity : t->v;
}

static const char *tier_source(const struct threshold *t)
{
	return t->from_config ? "configz" : "kubelet default";
}

/* ---- NodeNotReady ---- */

static int pleg_stale(const struct eval *e, double *age)
{
	const struct fact *f = fact_get(e->obj, NRO_M_PLEG_LAST_SEEN, NULL);
	/* how long the kubelet's "PLEG last seen" has not moved, on our clock:
	 * immune to clock skew between the node and us */
	*age = f ? (double)(e->now - f->t_changed) / 1000.0 : 0;
	return f && *age > e->p->threshold;
}

static void eval_not_ready(struct eval *e)
{
	const struct node_facts *n = &e->obj->u.node;
	double age;
	int pleg_bad = pleg_stale(e, &age);
	if (n->healthz < 0 && n->syncloop < 0 && n->syncloop_check < 0 &&
	    !fact_get(e->obj, NRO_M_PLEG_LAST_SEEN, NULL))
		return;
	struct verdict v = verdict_for(e);
	v.source = "collector-healthz";
	v.breach = n->healthz == 0 || n->syncloop == 0 || n->syncloop_check == 0 || pleg_bad;
	v.has_value = v.has_threshold = pleg_bad;
	v.value = round(age);
	v.threshold = e->p->threshold;
	const char *why = n->healthz_reason[0] ? n->healthz_reason : n->syncloop_reason;
	if (pleg_bad)
		snprintf(v.message, sizeof v.message,
			 "node %s not ready: the kubelet's PLEG has not relisted for %.0fs (over %gs)",
			 e->obj->name, age, e->p->threshold);
	else
		snprintf(v.message, sizeof v.message, "node %s not ready: kubelet health failing%s%s",
			 e->obj->name, why[0] ? ": " : "", why);
	snprintf(v.resolved, sizeof v.resolved, "node %s ready again: kubelet health checks pass",
		 e->obj->name);
	rule_report(e, &v);
}

/* ---- NodeMemoryPressure ---- */

static void eval_memory(struct eval *e)
{
	double avail, ws;
	if (!fact_value(e->obj, NRO_M_NODE_MEM_AVAILABLE, &avail) ||
	    !fact_value(e->obj, NRO_M_NODE_MEM_WORKING_SET, &ws)) {
		host_memory_pressure(e); /* rules_host.c: the host's own figures */
		return;
	}
	double cap = avail + ws, pct = cap > 0 ? ws / cap * 100.0 : 0;
	struct threshold t;
	double evict = eviction_threshold(&e->obj->u.node, EV_MEM, &t) ? threshold_of(&t, cap) : -1;
	char a[32], th[32];
	fmt_bytes(a, sizeof a, avail);
	fmt_bytes(th, sizeof th, evict);
	struct verdict v = verdict_for(e);
	v.has_value = v.has_threshold = 1;
	if (evict >= 0 && avail < evict) {
		v.breach = 1;
		v.severity = NRO_SEV_CRITICAL;
		v.value = avail;
		v.threshold = evict;
		snprintf(v.message, sizeof v.message,
			 "node %s memory.available %s is below the eviction threshold %s (%s): the "
			 "kubelet evicts pods; find the biggest working sets",
			 e->obj->name, a, th, tier_source(&t));
	} else {
		v.breach = pct > e->p->threshold;
		v.value = tenth(pct);
		v.threshold = e->p->threshold;
		snprintf(v.message, sizeof v.message,
			 "node %s memory use %.1f%% is above %g%% (memory.available %s)", e->obj->name,
			 pct, e->p->threshold, a);
	}
	snprintf(v.resolved, sizeof v.resolved,
		 "node %s memory.available %s, back above %s; use %.1f%% (below %g%%)",
		 e->obj->name, a, evict >= 0 ? th : "its threshold", pct, e->p->threshold);
	rule_report(e, &v);
}

/* ---- NodeDiskPressure ---- */

struct fs_view {
	const char *dev;
	double avail, cap, ifree, inodes;
	int ev_bytes, ev_inodes;
};

static int fs_view(const struct fobj *n, int image, struct fs_view *f)
{
	f->dev = image ? "imagefs" : "nodefs";
	f->ev_bytes = image ? EV_IMAGEFS : EV_NODEFS;
	f->ev_inodes = image ? EV_IMAGEFS_INODES : EV_NODEFS_INODES;
	f->ifree = f->inodes = 0;
	fact_value(n, image ? NRO_M_NODE_IMAGEFS_INODES_FREE : NRO_M_NODE_FS_INODES_FREE, &f->ifree);
	fact_value(n, image ? NRO_M_NODE_IMAGEFS_INODES : NRO_M_NODE_FS_INODES, &f->inodes);
	int a = fact_value(n, image ? NRO_M_NODE_IMAGEFS_AVAILABLE : NRO_M_NODE_FS_AVAILABLE,
			   &f->avail);
	int c = fact_value(n, image ? NRO_M_NODE_IMAGEFS_CAPACITY : NRO_M_NODE_FS_CAPACITY, &f->cap);
	return a && c && f->cap > 0;
}

/* One filesystem against the eviction thresholds (critical) and the use
 * threshold (warning); returns 1 when it breaches. */
static int disk_check(struct eval *e, const struct fs_view *f, struct verdict *v)
{
	const struct node_facts *n = &e->obj->u.node;
	struct threshold tb, ti;
	double pct = (f->cap - f->avail) / f->cap * 100.0;
	char a[32], th[32];
	fmt_bytes(a, sizeof a, f->avail);
	if (eviction_threshold(n, f->ev_bytes, &tb) && f->avail < threshold_of(&tb, f->cap)) {
		v->value = f->avail;
		v->threshold = threshold_of(&tb, f->cap);
		fmt_bytes(th, sizeof th, v->threshold);
		snprintf(v->message, sizeof v->message,
			 "node %s %s available %s is below the eviction threshold %s (%s, %s): the "
			 "kubelet garbage-collects images and evicts pods",
			 e->obj->name, f->dev, a, th, tb.text, tier_source(&tb));
		v->severity = NRO_SEV_CRITICAL;
		return 1;
	}
	if (eviction_threshold(n, f->ev_inodes, &ti) && f->inodes > 0 &&
	    f->ifree < threshold_of(&ti, f->inodes)) {
		v->value = f->ifree;
		v->threshold = threshold_of(&ti, f->inodes);
		snprintf(v->message, sizeof v->message,
			 "node %s %s inodes free %.0f are below the eviction threshold %.0f (%s)",
			 e->obj->name, f->dev, v->value, v->threshold, tier_source(&ti));
		v->severity = NRO_SEV_CRITICAL;
		return 1;
	}
	if (pct <= e->p->threshold)
		return 0;
	v->value = tenth(pct);
	snprintf(v->message, sizeof v->message, "node %s %s use %.1f%% is above %g%% (%s free)",
		 e->obj->name, f->dev, pct, e->p->threshold, a);
	return 1;
}

static void eval_disk(struct eval *e)
{
	struct fs_view fs[2];
	int have[2] = {fs_view(e->obj, 0, &fs[0]), fs_view(e->obj, 1, &fs[1])};
	if (!have[0] && !have[1])
		return;
	struct verdict v = verdict_for(e), w;
	v.has_value = v.has_threshold = 1;
	v.threshold = e->p->threshold;
	size_t off = 0;
	for (int i = 0; i < 2; i++) {
		if (!have[i])
			continue;
		w = v;
		if (disk_check(e, &fs[i], &w) && (!v.breach || w.severity > v.severity))
			v = w, v.breach = 1;
		char a[32];
		fmt_bytes(a, sizeof a, fs[i].avail);
		int n = snprintf(v.resolved + off, sizeof v.resolved - off, "%s%s %s available (%.1f%% used)",
				 off ? ", " : "", fs[i].dev, a,
				 (fs[i].cap - fs[i].avail) / fs[i].cap * 100.0);
		off += n > 0 && (size_t)n < sizeof v.resolved - off ? (size_t)n : 0;
	}
	char tail[sizeof v.resolved];
	snprintf(tail, sizeof tail, "node %s disk back to normal: %s", e->obj->name, v.resolved);
	snprintf(v.resolved, sizeof v.resolved, "%s", tail);
	if (!v.breach)
		snprintf(v.message, sizeof v.message, "node %s disk use is below %g%%", e->obj->name,
			 v.threshold);
	rule_report(e, &v);
}

/* ---- NodePIDPressure ---- */

static void eval_pids(struct eval *e)
{
	double maxpid, cur;
	if (!fact_value(e->obj, NRO_M_NODE_MAXPID, &maxpid) ||
	    !fact_value(e->obj, NRO_M_NODE_CURPROC, &cur) || maxpid <= 0) {
		host_pid_pressure(e); /* rules_host.c */
		return;
	}
	double pct = cur / maxpid * 100.0;
	struct threshold t;
	struct verdict v = verdict_for(e);
	v.has_value = v.has_threshold = 1;
	if (eviction_threshold(&e->obj->u.node, EV_PID, &t) &&
	    maxpid - cur < threshold_of(&t, maxpid)) {
		v.breach = 1;
		v.severity = NRO_SEV_CRITICAL;
		v.value = maxpid - cur;
		v.threshold = threshold_of(&t, maxpid);
		snprintf(v.message, sizeof v.message,
			 "node %s has %.0f PIDs left, below pid.available %.0f (%s): look for a pod "
			 "forking without bound",
			 e->obj->name, v.value, v.threshold, tier_source(&t));
	} else {
		v.breach = pct > e->p->threshold;
		v.value = tenth(pct);
		v.threshold = e->p->threshold;
		snprintf(v.message, sizeof v.message, "node %s uses %.1f%% of its %.0f PIDs (above %g%%)",
			 e->obj->name, pct, maxpid, e->p->threshold);
	}
	snprintf(v.resolved, sizeof v.resolved, "node %s uses %.0f of %.0f PIDs (%.1f%%), back below %g%%",
		 e->obj->name, cur, maxpid, pct, e->p->threshold);
	rule_report(e, &v);
}

/* ---- NodeCPUPressure ---- */

static void eval_cpu(struct eval *e)
{
	double used, cores;
	if (!fact_value(e->obj, NRO_M_NODE_CPU_USAGE, &used)) {
		host_cpu_pressure(e); /* rules_host.c */
		return;
	}
	if (!fact_value(e->obj, NRO_M_MACHINE_CPU_CORES, &cores))
		cores = (double)sysconf(_SC_NPROCESSORS_ONLN);
	if (cores <= 0)
		return;
	double pct = used / cores * 100.0;
	struct verdict v = verdict_percent(e, NULL, pct);
	snprintf(v.message, sizeof v.message, "node %s CPU use %.1f%% of %.0f cores is above %g%%",
		 e->obj->name, pct, cores, e->p->threshold);
	snprintf(v.resolved, sizeof v.resolved, "node %s CPU use %.1f%% of %.0f cores, back below %g%%",
		 e->obj->name, pct, cores, e->p->threshold);
	rule_report(e, &v);
}

/* ---- NodeNetworkIssue ---- */

/* Collectors that talk to the kubelet over the network (host collectors
 * read /proc, /dev/kmsg or D-Bus). */
static int kubelet_collector(const struct source *s)
{
	static const char *const host[] = {"collector-node", "collector-kmsg", "collector-systemd",
					   "collector-runtime", "collector-apiserver"};
	if (strncmp(s->name, "collector-", 10) != 0)
		return 0;
	for (size_t i = 0; i < sizeof host / sizeof host[0]; i++)
		if (strcmp(s->name, host[i]) == 0)
			return 0;
	return 1;
}

static void kubelet_unreachable(struct eval *e)
{
	struct nro_hmap_iter it;
	struct nro_hmap_ent *ent;
	int total = 0, failing = 0;
	nro_hmap_iter_init(&it, &e->r->fs.sources);
	while ((ent = nro_hmap_next(&it))) {
		const struct source *s = ent->value;
		if (strcmp(s->node, e->obj->name) != 0 || !kubelet_collector(s))
			continue;
		total++;
		failing += s->connect_failing && s->last_status == NRO_HEALTH_FAILED;
	}
	if (!total)
		return;
	struct verdict v = verdict_for(e);
	v.sub = "kubelet-unreachable";
	v.detail_key = "cause";
	v.source = "analyzer";
	v.breach = failing == total;
	v.has_value = 1;
	v.value = failing;
	snprintf(v.message, sizeof v.message,
		 "node %s: the kubelet is unreachable from every collector (%d of %d fail to "
		 "connect): check the kubelet, the node's network and firewall",
		 e->obj->name, failing, total);
	snprintf(v.resolved, sizeof v.resolved, "node %s: the kubelet is reachable again", e->obj->name);
	rule_report(e, &v);
}

struct if_errors {
	struct eval *e;
	char ifs[16][64];
	double added[16];
	int known[16];
	int n;
};

static void if_take(void *ctx, const struct fact *f)
{
	struct if_errors *x = ctx;
	char ifname[64];
	double inc;
	fact_dim(f, 0, ifname, sizeof ifname);
	int known = fact_last_increase(f, &inc);
	int i = 0;
	while (i < x->n && strcmp(x->ifs[i], ifname) != 0)
		i++;
	if (i == x->n) {
		if (x->n == 16)
			return;
		snprintf(x->ifs[x->n], sizeof x->ifs[0], "%s", ifname);
		x->known[x->n] = 1;
		x->added[x->n++] = 0;
	}
	x->added[i] += inc;
	x->known[i] &= known;
}

/* Per interface, the increases of the given counters since the last poll:
 * the kubelet's errors, or (without them) the host's errors and drops. */
static void interface_errors(struct eval *e, const char *const *series, const char *source,
			     const char *what)
{
	struct if_errors x = {.e = e};
	for (; *series; series++)
		fact_each(e->obj, *series, if_take, &x);
	for (int i = 0; i < x.n; i++) {
		struct verdict v = verdict_for(e);
		v.source = source;
		v.sub = x.ifs[i];
		v.detail_key = "interface";
		v.unknown = !x.known[i];
		v.breach = x.added[i] > e->p->threshold;
		v.has_value = v.has_threshold = 1;
		v.value = x.added[i];
		v.threshold = e->p->threshold;
		snprintf(v.message, sizeof v.message,
			 "node %s interface %s: %.0f new receive/transmit %s since the last poll: "
			 "check the NIC, cable or driver (ethtool -S)",
			 e->obj->name, x.ifs[i], x.added[i], what);
		snprintf(v.resolved, sizeof v.resolved, "node %s interface %s: no new errors",
			 e->obj->name, x.ifs[i]);
		rule_report(e, &v);
	}
}

static void eval_network(struct eval *e)
{
	static const char *const kubelet[] = {NRO_M_NODE_NET_ERRORS, NULL};
	static const char *const host[] = {NRO_HM_NET_ERRORS, NRO_HM_NET_DROPPED, NULL};
	kubelet_unreachable(e);
	if (fact_each(e->obj, NRO_M_NODE_NET_ERRORS, NULL, NULL))
		interface_errors(e, kubelet, "collector-summary", "errors");
	else
		interface_errors(e, host, "collector-node", "errors or drops");
	host_link_down(e);        /* rules_host.c */
	runtime_network_issue(e); /* rules_systemd.c */
}

static const struct series_def memory_series[] = {
	{NRO_M_NODE_MEM_AVAILABLE, NULL, 0}, {NRO_M_NODE_MEM_WORKING_SET, NULL, 0},
	{NRO_HM_MEM_UTILIZATION, NULL, 0},   {NRO_HM_MEM_USAGE, "state", 0},
	{NRO_HM_MEM_LIMIT, NULL, 0},	     {NULL, NULL, 0}};
static const struct series_def disk_series[] = {
	{NRO_M_NODE_FS_AVAILABLE, NULL, 0},	  {NRO_M_NODE_FS_CAPACITY, NULL, 0},
	{NRO_M_NODE_FS_INODES_FREE, NULL, 0},	  {NRO_M_NODE_FS_INODES, NULL, 0},
	{NRO_M_NODE_IMAGEFS_AVAILABLE, NULL, 0},  {NRO_M_NODE_IMAGEFS_CAPACITY, NULL, 0},
	{NRO_M_NODE_IMAGEFS_INODES_FREE, NULL, 0}, {NRO_M_NODE_IMAGEFS_INODES, NULL, 0},
	{NULL, NULL, 0}};
static const struct series_def pid_series[] = {
	{NRO_M_NODE_MAXPID, NULL, 0}, {NRO_M_NODE_CURPROC, NULL, 0}, {NRO_HM_THREADS, NULL, 0},
	{NRO_HM_PID_MAX, NULL, 0},    {NRO_HM_THREADS_MAX, NULL, 0}, {NULL, NULL, 0}};
static const struct series_def cpu_series[] = {
	{NRO_M_NODE_CPU_USAGE, NULL, 0}, {NRO_M_MACHINE_CPU_CORES, NULL, 0},
	{NRO_HM_CPU_UTILIZATION, "state", 0}, {NULL, NULL, 0}};
static const struct series_def pleg_series[] = {{NRO_M_PLEG_LAST_SEEN, NULL, 0}, {NULL, NULL, 0}};
static const struct series_def net_series[] = {
	{NRO_M_NODE_NET_ERRORS, "interface,direction", SERIES_COUNTER},
	{NRO_HM_NET_ERRORS, "device,direction", SERIES_COUNTER},
	{NRO_HM_NET_DROPPED, "device,direction", SERIES_COUNTER},
	{NULL, NULL, 0}};
static const char *const health_states[] = {NRO_K_HEALTHZ, NRO_K_HEALTHZ_SYNCLOOP, NRO_K_SYNCLOOP,
					    NULL};
static const char *const eviction_states[] = {NRO_K_EVICTION_HARD "*", NULL};

const struct rule_def rules_node[] = {
	{.type = "NodeNotReady", .okind = NRO_OBJ_NODE, .severity = NRO_SEV_CRITICAL,
	 .threshold = 180, .min = 1, .max = 86400,
	 .threshold_help = "seconds the PLEG's last relist may stand still",
	 .condition = "Ready", .inverted = 1, .source = "collector-healthz",
	 .series = pleg_series, .states = health_states, .eval = eval_not_ready},
	{.type = "NodeMemoryPressure", .okind = NRO_OBJ_NODE, .severity = NRO_SEV_WARNING,
	 .resolve_ms = 30000, .threshold = 85, .min = 0, .max = 100,
	 .threshold_help = "memory use percent, warning tier",
	 .tiers = "critical when memory.available is below the kubelet's eviction threshold "
		  "(/configz evictionHard, else the kubelet's default 100Mi)",
	 .condition = "MemoryPressure", .source = "collector-summary", .series = memory_series,
	 .states = eviction_states, .eval = eval_memory},
	{.type = "NodeDiskPressure", .okind = NRO_OBJ_NODE, .severity = NRO_SEV_WARNING,
	 .resolve_ms = 30000, .threshold = 90, .min = 0, .max = 100,
	 .threshold_help = "nodefs/imagefs use percent, warning tier",
	 .tiers = "critical when nodefs/imagefs available or inodes free are below the eviction "
		  "thresholds (/configz, else the defaults nodefs.available<10%, "
		  "nodefs.inodesFree<5%, imagefs.available<15%, imagefs.inodesFree<5%)",
	 .condition = "DiskPressure", .source = "collector-summary", .series = disk_series,
	 .states = eviction_states, .eval = eval_disk},
	{.type = "NodePIDPressure", .okind = NRO_OBJ_NODE, .severity = NRO_SEV_WARNING,
	 .resolve_ms = 30000, .threshold = 90, .min = 0, .max = 100,
	 .threshold_help = "percent of maxpid in use, warning tier",
	 .tiers = "critical when maxpid - curproc is below pid.available (/configz; no default)",
	 .condition = "PIDPressure", .source = "collector-summary", .series = pid_series,
	 .states = eviction_states, .eval = eval_pids},
	{.type = "NodeCPUPressure", .okind = NRO_OBJ_NODE, .severity = NRO_SEV_WARNING,
	 .for_ms = MIN_MS, .resolve_ms = MIN_MS, .threshold = 80, .min = 0, .max = 100,
	 .threshold_help = "CPU use percent of the node's cores", .source = "collector-summary",
	 .series = cpu_series, .eval = eval_cpu},
	{.type = "NodeNetworkIssue", .okind = NRO_OBJ_NODE, .severity = NRO_SEV_WARNING,
	 .for_ms = 2 * MIN_MS, .resolve_ms = 2 * MIN_MS, .threshold = 0, .min = 0, .max = 1e6,
	 .threshold_help = "interface errors a poll may add",
	 .tiers = "also fires when every kubelet collector fails to connect (after `for`)",
	 .source = "collector-summary", .series = net_series, .eval = eval_network},
	{NULL},
};
