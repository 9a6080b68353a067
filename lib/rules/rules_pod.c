/*
 * Pod and container lifecycle: crash loops, OOM kills, restarts, containers
 * that cannot start, pods not ready or evicted, probes failing.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "render/render.h"
#include "rules/internal.h"

#define MIN_MS 60000

/* Waiting reasons that mean a container cannot start (ContainerWaiting). */
static const char *const stuck_reasons[] = {
	"ImagePullBackOff",	"ErrImagePull",	      "CreateContainerConfigError",
	"CreateContainerError", "InvalidImageName",   "RunContainerError",
	"ErrImageNeverPull",	"PreCreateHookError", "PostStartHookError",
	"ContainerCannotRun",	NULL,
};

static int is_stuck_reason(const char *reason)
{
	for (int i = 0; stuck_reasons[i]; i++)
		if (strcmp(reason, stuck_reasons[i]) == 0)
			return 1;
	return 0;
}

static int waiting(const struct ctr_facts *c)
{
	return strcmp(c->state, "waiting") == 0;
}

/* The container e judges, once its state is known (else NULL): its facts,
 * its name in words into who, and a verdict with the rule's defaults. */
static const struct ctr_facts *ctr_judged(const struct eval *e, char *who, size_t n,
					  struct verdict *v)
{
	if (!e->obj->has_state)
		return NULL;
	ctr_words(e->obj, who, n);
	*v = verdict_for(e);
	return &e->obj->u.ctr;
}

static void eval_crash_loop(struct eval *e)
{
	char who[400];
	struct verdict v;
	const struct ctr_facts *c = ctr_judged(e, who, sizeof who, &v);
	if (!c)
		return;
	v.breach = waiting(c) && strcmp(c->reason, "CrashLoopBackOff") == 0 &&
		   c->restarts >= e->p->threshold;
	v.has_value = c->have_restarts;
	v.value = c->restarts;
	v.has_threshold = e->p->threshold > 0;
	v.threshold = e->p->threshold;
	snprintf(v.message, sizeof v.message,
		 "%s is crash-looping (%.0f restarts%s%s): read its previous logs (kubectl logs -p)",
		 who, c->restarts, c->last_term[0] ? ", last exit: " : "", c->last_term);
	snprintf(v.resolved, sizeof v.resolved, "%s is no longer crash-looping (now %s)", who,
		 c->state[0] ? c->state : "unknown");
	rule_report(e, &v);
}

static void eval_oom(struct eval *e)
{
	char who[400], when[48] = "";
	struct verdict v;
	const struct ctr_facts *c = ctr_judged(e, who, sizeof who, &v);
	if (!c)
		return;
	if (c->last_term_at > 0) {
		char ts[40];
		nro_fmt_ts(ts, sizeof ts, c->last_term_at);
		snprintf(when, sizeof when, " at %s", ts);
	}
	v.breach = strcmp(c->last_term, "OOMKilled") == 0 ||
		   (strcmp(c->state, "terminated") == 0 && strcmp(c->reason, "OOMKilled") == 0);
	snprintf(v.message, sizeof v.message,
		 "%s was OOM-killed%s (exit code %.0f): raise its memory limit or find the leak", who,
		 when, c->exit_code);
	snprintf(v.resolved, sizeof v.resolved, "%s: its last termination is no longer an OOM kill",
		 who);
	rule_report(e, &v);
}

static void eval_restarted(struct eval *e)
{
	char who[400];
	struct verdict v;
	const struct ctr_facts *c = ctr_judged(e, who, sizeof who, &v);
	if (!c)
		return;
	v.breach = c->restarts_increased;
	v.has_value = c->have_restarts;
	v.value = c->restarts;
	snprintf(v.message, sizeof v.message, "%s restarted (%.0f restarts%s%s)", who, c->restarts,
		 c->last_term[0] ? ", last exit: " : "", c->last_term);
	snprintf(v.resolved, sizeof v.resolved, "%s has not restarted since (%.0f restarts)", who,
		 c->restarts);
	rule_report(e, &v);
	e->obj->u.ctr.restarts_judged = c->restarts;
	e->obj->u.ctr.restarts_increased = 0;
}

static void eval_waiting(struct eval *e)
{
	char who[400];
	struct verdict v;
	const struct ctr_facts *c = ctr_judged(e, who, sizeof who, &v);
	if (!c)
		return;
	v.breach = waiting(c) && is_stuck_reason(c->reason);
	snprintf(v.message, sizeof v.message,
		 "%s cannot start: waiting with %s (check the image name, pull secret and config "
		 "it references)",
		 who, c->reason[0] ? c->reason : "an unknown reason");
	snprintf(v.resolved, sizeof v.resolved, "%s is no longer stuck (now %s%s%s)", who,
		 c->state[0] ? c->state : "unknown", c->reason[0] ? ": " : "", c->reason);
	rule_report(e, &v);
}

static void eval_pod_not_ready(struct eval *e)
{
	const struct pod_facts *p = &e->obj->u.pod;
	if (!e->obj->has_state)
		return;
	struct verdict v = verdict_for(e);
	v.breach = strcmp(p->phase, "Running") == 0 && p->ready == 0;
	snprintf(v.message, sizeof v.message,
		 "pod %s/%s is running but not Ready: its readiness probe or a container is failing",
		 e->obj->ns, e->obj->pod);
	snprintf(v.resolved, sizeof v.resolved, "pod %s/%s is Ready (phase %s)", e->obj->ns,
		 e->obj->pod, p->phase);
	rule_report(e, &v);
}

static void eval_evicted(struct eval *e)
{
	const struct pod_facts *p = &e->obj->u.pod;
	if (!e->obj->has_state)
		return;
	struct verdict v = verdict_for(e);
	v.breach = strcmp(p->phase, "Failed") == 0 && strcmp(p->reason, "Evicted") == 0;
	snprintf(v.message, sizeof v.message,
		 "pod %s/%s was evicted by the kubelet: see the node's pressure events", e->obj->ns,
		 e->obj->pod);
	snprintf(v.resolved, sizeof v.resolved, "pod %s/%s is no longer listed as evicted",
		 e->obj->ns, e->obj->pod);
	rule_report(e, &v);
}

/* ---- ProbeFailing: one alert per container and probe type ---- */

struct probes {
	struct eval *e;
};

static void probe_take(void *ctx, const struct fact *f)
{
	struct eval *e = ((struct probes *)ctx)->e;
	char type[32], result[32], who[400];
	double added;
	fact_dim(f, 0, type, sizeof type);
	fact_dim(f, 1, result, sizeof result);
	if (strcmp(result, "failed") != 0)
		return;
	ctr_words(e->obj, who, sizeof who);
	struct verdict v = verdict_increase(e, f, type, "probe_type", &added);
	snprintf(v.message, sizeof v.message, "%s: %s probe failing (%.0f failures since the last "
		 "poll, %.0f in all)%s",
		 who, type, added, f->last,
		 strcmp(type, "Liveness") == 0 ? ": the kubelet will restart it" :
		 strcmp(type, "Readiness") == 0 ? ": it receives no traffic" : "");
	snprintf(v.resolved, sizeof v.resolved, "%s: %s probe passing again (%.0f failures in all)",
		 who, type, f->last);
	rule_report(e, &v);
}

static void eval_probes(struct eval *e)
{
	struct probes x = {e};
	fact_each(e->obj, NRO_M_PROBE_TOTAL, probe_take, &x);
}

static const char *const pod_states[] = {NRO_K_POD_PHASE, NRO_K_POD_READY, NULL};
static const char *const ctr_states[] = {NRO_K_CTR_STATE, NRO_K_CTR_RESTARTS, NRO_K_CTR_LAST_TERM,
					 NULL};
static const struct series_def probe_series[] = {
	{NRO_M_PROBE_TOTAL, "probe_type,result", SERIES_COUNTER}, {NULL, NULL, 0}};

const struct rule_def rules_pod[] = {
	{.type = "PodCrashLooping", .okind = NRO_OBJ_CONTAINER, .severity = NRO_SEV_WARNING,
	 .resolve_ms = MIN_MS, .threshold = 0, .min = 0, .max = 1e6,
	 .threshold_help = "minimum restart count", .source = "collector-pods",
	 .states = ctr_states, .eval = eval_crash_loop},
	{.type = "ContainerOOMKilled", .okind = NRO_OBJ_CONTAINER, .severity = NRO_SEV_WARNING,
	 .source = "collector-pods", .states = ctr_states, .eval = eval_oom},
	{.type = "ContainerRestarted", .okind = NRO_OBJ_CONTAINER, .severity = NRO_SEV_INFO,
	 .resolve_ms = 5 * MIN_MS,
	 .source = "collector-pods", .states = ctr_states, .eval = eval_restarted},
	{.type = "ContainerWaiting", .okind = NRO_OBJ_CONTAINER, .severity = NRO_SEV_WARNING,
	 .for_ms = 2 * MIN_MS,
	 .source = "collector-pods", .states = ctr_states, .eval = eval_waiting},
	{.type = "PodNotReady", .okind = NRO_OBJ_POD, .severity = NRO_SEV_WARNING,
	 .for_ms = 5 * MIN_MS,
	 .source = "collector-pods", .states = pod_states, .eval = eval_pod_not_ready},
	{.type = "PodEvicted", .okind = NRO_OBJ_POD, .severity = NRO_SEV_WARNING,
	 .source = "collector-pods", .states = pod_states, .eval = eval_evicted},
	{.type = "ProbeFailing", .okind = NRO_OBJ_CONTAINER, .severity = NRO_SEV_WARNING,
	 .for_ms = 30000, .resolve_ms = MIN_MS, .threshold = 0, .min = 0, .max = 1e6,
	 .threshold_help = "probe failures a poll may add", .source = "collector-probes",
	 .series = probe_series, .eval = eval_probes},
	{NULL},
};
