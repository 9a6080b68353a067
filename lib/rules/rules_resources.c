/*
 * Container resources against their limits: CPU throttling, memory near
 * the limit, ephemeral storage, and volumes (and the node's filesystem)
 * filling up.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rules/internal.h"

#define MIN_MS 60000
#define HOUR_MS (60 * MIN_MS)
#define UNLIMITED 9.0e18 /* cgroup v1 reports "no limit" as about 2^63 */


/* Bytes used against a limit (> 0), in a percentage and in words. */
struct usage {
	double pct;
	char used[32], limit[32];
};

/* The verdict of used against limit for e (collector-summary's data), with
 * the figures for its messages in *u. */
static struct verdict usage_verdict(const struct eval *e, double used, double limit,
				    struct usage *u)
{
	u->pct = used / limit * 100.0;
	fmt_bytes(u->used, sizeof u->used, used);
	fmt_bytes(u->limit, sizeof u->limit, limit);
	return verdict_percent(e, "collector-summary", u->pct);
}

/* ---- ContainerCPUThrottled ---- */

static void eval_throttled(struct eval *e)
{
	double thr, per, limit;
	const struct fact *ft = fact_get(e->obj, NRO_M_CFS_THROTTLED, NULL),
			  *fp = fact_get(e->obj, NRO_M_CFS_PERIODS, NULL);
	if (!ft || !fp)
		return; /* no CFS quota: nothing to judge */
	int known = fact_increase(ft, 5 * MIN_MS, e->now, &thr) &&
		    fact_increase(fp, 5 * MIN_MS, e->now, &per) && per > 0;
	double pct = known ? thr / per * 100.0 : 0;
	char who[400], lim[48] = "no CPU limit known";
	ctr_words(e->obj, who, sizeof who);
	if (fact_value(e->obj, NRO_M_CTR_CPU_LIMIT, &limit))
		snprintf(lim, sizeof lim, "CPU limit %g cores", limit);
	struct verdict v = verdict_percent(e, "collector-cadvisor", pct);
	v.unknown = !known; /* one sample yet, or no periods ran in the window */
	snprintf(v.message, sizeof v.message,
		 "%s is CPU-throttled in %.1f%% of its CFS periods over 5m (above %g%%, %s): "
		 "raise or remove its CPU limit",
		 who, pct, e->p->threshold, lim);
	snprintf(v.resolved, sizeof v.resolved, "%s throttled in %.1f%% of its periods, below %g%%",
		 who, pct, e->p->threshold);
	rule_report(e, &v);
}

/* ---- ContainerMemoryNearLimit ---- */

static int memory_limit(const struct fobj *o, double *limit)
{
	if (fact_value(o, NRO_M_CTR_MEM_LIMIT, limit) && *limit > 0)
		return 1;
	return fact_value(o, NRO_M_SPEC_MEM_LIMIT, limit) && *limit > 0 && *limit < UNLIMITED;
}

static void eval_memory_near_limit(struct eval *e)
{
	double ws, limit;
	if (!fact_value(e->obj, NRO_M_CTR_MEM_WORKING_SET, &ws) || !memory_limit(e->obj, &limit))
		return;
	char who[400];
	ctr_words(e->obj, who, sizeof who);
	struct usage u;
	struct verdict v = usage_verdict(e, ws, limit, &u);
	snprintf(v.message, sizeof v.message,
		 "%s working set %s is %.1f%% of its memory limit %s (above %g%%): it will be "
		 "OOM-killed at the limit",
		 who, u.used, u.pct, u.limit, e->p->threshold);
	snprintf(v.resolved, sizeof v.resolved, "%s working set %s, %.1f%% of its limit %s", who,
		 u.used, u.pct, u.limit);
	rule_report(e, &v);
}

/* ---- EphemeralStoragePressure ---- */

static int same_pod(const struct fobj *c, const struct fobj *p)
{
	return strcmp(c->ns, p->ns) == 0 && strcmp(c->pod, p->pod) == 0 &&
	       strcmp(c->uid, p->uid) == 0;
}

/* One container against its own ephemeral-storage limit (rootfs + logs). */
static void container_storage(struct eval *e, struct fobj *c, double limit)
{
	double rootfs = 0, logs = 0;
	int have = fact_value(c, NRO_M_CTR_ROOTFS_USAGE, &rootfs);
	have |= fact_value(c, NRO_M_CTR_LOGS_USAGE, &logs);
	if (!have)
		return;
	struct eval ce = *e;
	ce.obj = c;
	char who[400];
	ctr_words(c, who, sizeof who);
	struct usage u;
	struct verdict v = usage_verdict(&ce, rootfs + logs, limit, &u);
	snprintf(v.message, sizeof v.message,
		 "%s uses %s of ephemeral storage (rootfs + logs), %.1f%% of its limit %s: the "
		 "kubelet evicts the pod at the limit",
		 who, u.used, u.pct, u.limit);
	snprintf(v.resolved, sizeof v.resolved, "%s uses %s of ephemeral storage, %.1f%% of %s", who,
		 u.used, u.pct, u.limit);
	rule_report(&ce, &v);
}

/* The pod's limit is the sum of its containers' limits, as the kubelet's
 * eviction manager counts it; each container is judged on its own too. */
static double pod_storage_limit(struct eval *e)
{
	struct nro_hmap_iter it;
	struct nro_hmap_ent *ent;
	double sum = 0, l;
	nro_hmap_iter_init(&it, &e->r->fs.objs[NRO_OBJ_CONTAINER]);
	while ((ent = nro_hmap_next(&it))) {
		struct fobj *c = ent->value;
		if (!same_pod(c, e->obj) || !fact_value(c, NRO_M_CTR_EPHEMERAL_LIMIT, &l) || l <= 0)
			continue;
		sum += l;
		container_storage(e, c, l);
	}
	return sum;
}

static void eval_ephemeral(struct eval *e)
{
	double limit = pod_storage_limit(e), used;
	if (limit <= 0 || !fact_value(e->obj, NRO_M_POD_FS_USAGE, &used))
		return;
	struct usage u;
	struct verdict v = usage_verdict(e, used, limit, &u);
	snprintf(v.message, sizeof v.message,
		 "pod %s/%s uses %s of ephemeral storage, %.1f%% of its limit %s (above %g%%): the "
		 "kubelet evicts it at the limit; look for logs or scratch files in the container",
		 e->obj->ns, e->obj->pod, u.used, u.pct, u.limit, e->p->threshold);
	snprintf(v.resolved, sizeof v.resolved, "pod %s/%s uses %s of ephemeral storage, %.1f%% of %s",
		 e->obj->ns, e->obj->pod, u.used, u.pct, u.limit);
	rule_report(e, &v);
}

/* ---- VolumeFillingUp ---- */

static void volume_check(struct eval *e, struct fobj *vol)
{
	double avail, cap;
	if (!vol->u.vol.pvc[0] || !fact_value(vol, NRO_M_VOL_AVAILABLE, &avail) ||
	    !fact_value(vol, NRO_M_VOL_CAPACITY, &cap) || cap <= 0)
		return; /* only claims: emptyDir and projected volumes are the pod's own */
	struct eval ve = *e;
	ve.obj = vol;
	double free_pct = avail / cap * 100.0;
	char a[32];
	fmt_bytes(a, sizeof a, avail);
	struct verdict v = verdict_for(&ve);
	v.source = "collector-summary";
	v.breach = free_pct < e->p->threshold;
	v.severity = free_pct < e->p->critical ? NRO_SEV_CRITICAL : e->p->severity;
	v.has_value = v.has_threshold = 1;
	v.value = tenth(free_pct);
	v.threshold = v.severity == NRO_SEV_CRITICAL ? e->p->critical : e->p->threshold;
	snprintf(v.message, sizeof v.message,
		 "PVC %s/%s (volume %s of pod %s) has %.1f%% free (%s, below %g%%): expand the claim "
		 "or clean it up",
		 vol->ns, vol->u.vol.pvc, vol->name, vol->pod, free_pct, a, v.threshold);
	snprintf(v.resolved, sizeof v.resolved, "PVC %s/%s has %.1f%% free (%s), above %g%%", vol->ns,
		 vol->u.vol.pvc, free_pct, a, e->p->threshold);
	rule_report(&ve, &v);
}

/* The node filesystem's trend (least squares over the last samples, the
 * mixin's predict_linear) reaching 0 within 4 hours, while under 40% free. */
static void nodefs_trend(struct eval *e)
{
	const struct fact *f = fact_get(e->obj, NRO_M_NODE_FS_AVAILABLE, NULL);
	double cap, at4h;
	if (!f || !fact_value(e->obj, NRO_M_NODE_FS_CAPACITY, &cap) || cap <= 0 ||
	    !fact_predict(f, e->now + 4 * HOUR_MS, &at4h))
		return;
	double free_pct = f->last / cap * 100.0;
	char a[32];
	fmt_bytes(a, sizeof a, f->last);
	struct verdict v = verdict_for(e);
	v.source = "collector-summary";
	v.sub = "nodefs";
	v.detail_key = "filesystem";
	v.breach = at4h <= 0 && free_pct < 40;
	v.has_value = 1;
	v.value = tenth(free_pct);
	snprintf(v.message, sizeof v.message,
		 "node %s nodefs (%s free, %.1f%%) is filling up: at its recent rate it is full "
		 "within 4 hours; find what writes (logs, images, emptyDirs)",
		 e->obj->name, a, free_pct);
	snprintf(v.resolved, sizeof v.resolved, "node %s nodefs %s free (%.1f%%), no longer filling "
		 "fast",
		 e->obj->name, a, free_pct);
	rule_report(e, &v);
}

static void eval_volume_filling(struct eval *e)
{
	struct nro_hmap_iter it;
	struct nro_hmap_ent *ent;
	nro_hmap_iter_init(&it, &e->r->fs.objs[NRO_OBJ_VOLUME]);
	while ((ent = nro_hmap_next(&it))) {
		struct fobj *vol = ent->value;
		if (strcmp(vol->node, e->obj->name) == 0)
			volume_check(e, vol);
	}
	nodefs_trend(e);
}

static const struct series_def throttle_series[] = {
	{NRO_M_CFS_THROTTLED, NULL, SERIES_COUNTER}, {NRO_M_CFS_PERIODS, NULL, SERIES_COUNTER},
	{NRO_M_CTR_CPU_LIMIT, NULL, 0}, {NULL, NULL, 0}};
static const struct series_def memory_series[] = {
	{NRO_M_CTR_MEM_WORKING_SET, NULL, 0}, {NRO_M_CTR_MEM_LIMIT, NULL, 0},
	{NRO_M_SPEC_MEM_LIMIT, NULL, 0}, {NULL, NULL, 0}};
static const struct series_def ephemeral_series[] = {
	{NRO_M_POD_FS_USAGE, NULL, 0}, {NRO_M_CTR_EPHEMERAL_LIMIT, NULL, 0},
	{NRO_M_CTR_ROOTFS_USAGE, NULL, 0}, {NRO_M_CTR_LOGS_USAGE, NULL, 0}, {NULL, NULL, 0}};
static const struct series_def volume_series[] = {
	{NRO_M_VOL_AVAILABLE, NULL, 0}, {NRO_M_VOL_CAPACITY, NULL, 0},
	{NRO_M_NODE_FS_AVAILABLE, NULL, SERIES_TREND}, {NRO_M_NODE_FS_CAPACITY, NULL, 0},
	{NULL, NULL, 0}};

const struct rule_def rules_resources[] = {
	{.type = "ContainerCPUThrottled", .okind = NRO_OBJ_CONTAINER, .severity = NRO_SEV_WARNING,
	 .for_ms = 5 * MIN_MS, .resolve_ms = 5 * MIN_MS, .threshold = 25, .min = 0, .max = 100,
	 .threshold_help = "percent of CFS periods throttled over 5 minutes",
	 .source = "collector-cadvisor", .series = throttle_series, .eval = eval_throttled},
	{.type = "ContainerMemoryNearLimit", .okind = NRO_OBJ_CONTAINER,
	 .severity = NRO_SEV_WARNING, .for_ms = 2 * MIN_MS, .resolve_ms = 2 * MIN_MS,
	 .threshold = 90, .min = 0, .max = 100,
	 .threshold_help = "working set, percent of the memory limit",
	 .source = "collector-summary", .series = memory_series, .eval = eval_memory_near_limit},
	{.type = "EphemeralStoragePressure", .okind = NRO_OBJ_POD, .severity = NRO_SEV_WARNING,
	 .for_ms = MIN_MS, .resolve_ms = 2 * MIN_MS, .threshold = 90, .min = 0, .max = 100,
	 .threshold_help = "ephemeral storage used, percent of the limit",
	 .tiers = "a pod against the sum of its containers' limits; a container (rootfs + logs) "
		  "against its own",
	 .source = "collector-summary", .series = ephemeral_series, .eval = eval_ephemeral},
	{.type = "VolumeFillingUp", .okind = NRO_OBJ_NODE, .severity = NRO_SEV_WARNING,
	 .for_ms = 2 * MIN_MS, .resolve_ms = 5 * MIN_MS, .threshold = 10, .min = 0, .max = 100,
	 .threshold_help = "PVC free percent, warning", .has_critical = 1, .critical = 3,
	 .critical_help = "PVC free percent, critical",
	 .tiers = "also the node's nodefs when its trend reaches 0 within 4 hours while under 40% "
		  "free",
	 .source = "collector-summary", .series = volume_series, .eval = eval_volume_filling},
	{NULL},
};
