/*
 * Divergence: the kubelet's view of the node (collector-pods,
 * collector-healthz, the analyzer's pressure rules) against the API
 * server's (collector-apiserver's api.* states). Each side's view is kept
 * apart in the fact store (facts.c: struct api_view on pods and containers,
 * the api.* node states as host states); these rules judge only while both
 * sides' collectors are delivering (a source whose last poll failed vouches
 * for nothing: its alerts keep their state).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rules/internal.h"
#include "wire/names_apiserver.h"

#define SEC_MS 1000
#define MIN_MS 60000
#define KUBELET_PODS "collector-pods"
#define KUBELET_HEALTH "collector-healthz"
#define APISERVER "collector-apiserver"

/* A source of node's that completed a poll and whose last one succeeded. */
static int live(const struct eval *e, const char *name, const char *node)
{
	const struct source *s = nro_hmap_get(&e->r->fs.sources, name);
	return s && s->snapshots > 0 && s->last_status != NRO_HEALTH_FAILED &&
	       strcmp(s->node, node) == 0;
}

/* ---- KubeletAPIDivergence ---- */

static int terminal(const char *phase)
{
	return strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0;
}

/* Whether the alert for (e's object, sub) waits out its `for`. */
static int pending(const struct eval *e, const char *sub)
{
	const struct fobj *o = e->obj;
	char key[1100];
	alert_key(key, sizeof key, e->rule, o->node, o->ns, o->pod, o->uid, o->container, o->name,
		  sub);
	const struct alert *a = nro_hmap_get(&e->r->alerts, key);
	return a && a->state == S_PENDING;
}

/* Unknown (a side's collector failing): a firing alert keeps its state, a
 * pending one starts over once both sides deliver again. */
static void judge(struct eval *e, struct verdict *v)
{
	if (v->unknown && pending(e, v->sub))
		v->unknown = v->breach = 0;
	rule_report(e, v);
}

static void report(struct eval *e, const char *sub, const char *source, int unknown, int breach,
		   const char *message, const char *resolved)
{
	struct verdict v = verdict_for(e);
	v.sub = sub;
	v.detail_key = "divergence";
	v.source = source;
	v.unknown = unknown;
	v.breach = breach;
	snprintf(v.message, sizeof v.message, "%s", message);
	snprintf(v.resolved, sizeof v.resolved, "%s", resolved);
	judge(e, &v);
}

static void pod_divergence(struct eval *e, int unknown)
{
	const struct fobj *o = e->obj;
	int kubelet = o->has_state, api = o->api.listed;
	char msg[384], ok[384];
	snprintf(ok, sizeof ok, "pod %s/%s: the kubelet and the API server agree (%s)", o->ns, o->pod,
		 kubelet && api ? "both list it" : "neither lists it");
	snprintf(msg, sizeof msg,
		 "pod %s/%s is orphaned: the kubelet runs it (phase %s) but the API server does not "
		 "list it on this node: a pod the API deleted that the kubelet did not stop, or a "
		 "kubelet cut off from its watch",
		 o->ns, o->pod, o->u.pod.phase[0] ? o->u.pod.phase : "unknown");
	report(e, "orphan", KUBELET_PODS, unknown, kubelet && !api, msg, ok);
	snprintf(msg, sizeof msg,
		 "pod %s/%s is not admitted: the API server binds it to this node (phase %s) but the "
		 "kubelet does not list it: check the kubelet's log for its admission and its API "
		 "watch",
		 o->ns, o->pod, o->api.phase[0] ? o->api.phase : "unknown");
	report(e, "unadmitted", APISERVER, unknown, api && !kubelet && !terminal(o->api.phase), msg,
	       ok);
}

static void ctr_divergence(struct eval *e, int unknown)
{
	const struct fobj *o = e->obj;
	const struct ctr_facts *c = &o->u.ctr;
	const struct api_view *a = &o->api;
	int both = o->has_state && o->api.listed;
	char who[400], msg[384], ok[384];
	snprintf(who, sizeof who, "container %s in pod %s/%s", o->container, o->ns, o->pod);
	int state = both && c->state[0] && a->state[0] && strcmp(c->state, a->state) != 0;
	snprintf(msg, sizeof msg,
		 "%s: the kubelet says %s%s%s, the API server says %s%s%s: the kubelet's status "
		 "updates are not reaching the API",
		 who, c->state, c->reason[0] ? " " : "", c->reason, a->state, a->reason[0] ? " " : "",
		 a->reason);
	snprintf(ok, sizeof ok, "%s: the kubelet and the API server agree (%s)", who,
		 c->state[0] ? c->state : "not listed by both");
	report(e, "state", KUBELET_PODS, unknown, state, msg, ok);
	int restarts = both && c->have_restarts && a->have_restarts && c->restarts != a->restarts;
	snprintf(msg, sizeof msg,
		 "%s: the kubelet counts %.0f restarts, the API server %.0f: the kubelet's status "
		 "updates are not reaching the API",
		 who, c->restarts, a->restarts);
	snprintf(ok, sizeof ok, "%s: the kubelet and the API server agree (%.0f restarts)", who,
		 c->restarts);
	report(e, "restarts", KUBELET_PODS, unknown, restarts, msg, ok);
}

static void eval_api_divergence(struct eval *e)
{
	int unknown = !live(e, KUBELET_PODS, e->obj->node) || !live(e, APISERVER, e->obj->node);
	if (e->obj->kind == NRO_OBJ_POD)
		pod_divergence(e, unknown);
	else
		ctr_divergence(e, unknown);
}

/* ---- node states of the API (hstates on the node) ---- */

static struct hstate *api_hstate(struct fobj *n, const char *key)
{
	char k[128];
	snprintf(k, sizeof k, "%s||", key);
	return nro_hmap_get(&n->hstates, k);
}

/* How long (ms) disagree has held, by h's timer. */
static int64_t held(struct hstate *h, int disagree, int64_t now)
{
	if (!disagree) {
		h->mark = 0;
		return -1;
	}
	if (!h->mark)
		h->mark = now;
	return now - h->mark;
}

/* The alert rule judges about node n itself, if any. */
static const struct alert *node_alert(const struct eval *e, const char *rule)
{
	const struct fobj *n = e->obj;
	int i = rules_find(e->r, rule, strlen(rule));
	if (i < 0)
		return NULL;
	char key[1100];
	alert_key(key, sizeof key, i, n->node, "", "", "", "", n->name, "");
	return nro_hmap_get(&e->r->alerts, key);
}

/* ---- NodeStatusStale ---- */

/* A condition the CRI runtime reports false (collector-runtime): the
 * kubelet then reports the node not Ready itself. */
static int runtime_says_not_ready(struct fobj *n)
{
	static const char *const conds[] = {"cri.condition.RuntimeReady",
					    "cri.condition.NetworkReady"};
	for (size_t i = 0; i < sizeof conds / sizeof conds[0]; i++) {
		const struct hstate *h = api_hstate(n, conds[i]);
		if (h && strcmp(h->value, "false") == 0)
			return 1;
	}
	return 0;
}

static void lease_stale(struct eval *e, int unknown)
{
	struct fobj *n = e->obj;
	struct hstate *h = api_hstate(n, NRO_K_API_LEASE_AGE);
	if (!h)
		return;
	double age = h->num + (double)(e->now - h->t_last) / 1000.0;
	struct verdict v = verdict_for(e);
	v.sub = "lease";
	v.detail_key = "cause";
	v.source = APISERVER;
	v.unknown = unknown;
	v.breach = n->u.node.healthz == 1 && age > e->p->threshold;
	v.has_value = v.has_threshold = 1;
	v.value = round(age);
	v.threshold = e->p->threshold;
	char a[32];
	fmt_secs(a, sizeof a, age);
	snprintf(v.message, sizeof v.message,
		 "node %s: the kubelet is healthy by its /healthz but its Lease in kube-node-lease "
		 "was last renewed %s ago (over %gs): the node controller will mark the node "
		 "NotReady; check the kubelet's connection to the API server",
		 n->name, a, e->p->threshold);
	snprintf(v.resolved, sizeof v.resolved, "node %s: its Lease was renewed %s ago", n->name, a);
	judge(e, &v);
}

static void ready_stale(struct eval *e, int unknown)
{
	struct fobj *n = e->obj;
	struct hstate *h = api_hstate(n, NRO_K_API_NODE_COND "Ready");
	if (!h)
		return;
	int healthz = n->u.node.healthz, api_ready = strcmp(h->value, "True") == 0;
	/* the kubelet's own evidence of readiness: /healthz passes, NodeNotReady
	 * (PLEG) does not fire, the runtime reports ready */
	const struct alert *nr = node_alert(e, "NodeNotReady");
	int ready = healthz == 1 && !(nr && nr->emitted == NRO_EV_FIRING) && !runtime_says_not_ready(n);
	int disagree = (ready && !api_ready) || (healthz == 0 && api_ready);
	int64_t ms = unknown ? -1 : held(h, disagree, e->now);
	struct verdict v = verdict_for(e);
	v.sub = "ready";
	v.detail_key = "cause";
	v.source = APISERVER;
	v.unknown = unknown;
	v.breach = ms >= 0 && ms >= (int64_t)(e->p->threshold * SEC_MS);
	v.has_value = v.has_threshold = 1;
	v.value = ms > 0 ? round((double)ms / 1000.0) : 0;
	v.threshold = e->p->threshold;
	snprintf(v.message, sizeof v.message,
		 "node %s: the API server says Ready=%s but the kubelet's /healthz %s%s (for %.0fs, "
		 "over %gs): the node status the API holds is stale",
		 n->name, h->value, healthz == 1 ? "passes" : "fails",
		 healthz == 1 ? " and its runtime reports ready" : "", v.value, e->p->threshold);
	snprintf(v.resolved, sizeof v.resolved,
		 "node %s: the API server's Ready=%s agrees with the kubelet's /healthz", n->name,
		 h->value);
	judge(e, &v);
}

static void eval_status_stale(struct eval *e)
{
	if (e->obj->u.node.healthz < 0)
		return; /* the kubelet's health unknown: nothing to compare */
	int unknown = !live(e, APISERVER, e->obj->name) || !live(e, KUBELET_HEALTH, e->obj->name);
	lease_stale(e, unknown);
	ready_stale(e, unknown);
}

/* ---- NodeConditionMismatch ---- */

struct pressure {
	const char *cond, *rule, *what;
	const char *series[2]; /* the kubelet's figures the rule needs, both */
};

static const struct pressure pressures[] = {
	{"MemoryPressure", "NodeMemoryPressure", "memory",
	 {NRO_M_NODE_MEM_AVAILABLE, NRO_M_NODE_MEM_WORKING_SET}},
	{"DiskPressure", "NodeDiskPressure", "disk",
	 {NRO_M_NODE_FS_AVAILABLE, NRO_M_NODE_FS_CAPACITY}},
	{"PIDPressure", "NodePIDPressure", "PID", {NRO_M_NODE_MAXPID, NRO_M_NODE_CURPROC}},
};

/* Whether the analyzer says node is under the kubelet's own pressure: the
 * rule's alert announced firing at its critical (eviction threshold) tier. */
static int analyzer_pressure(const struct eval *e, const char *rule)
{
	const struct alert *a = node_alert(e, rule);
	return a && a->emitted == NRO_EV_FIRING && a->severity == NRO_SEV_CRITICAL;
}

static void condition_mismatch(struct eval *e, const struct pressure *p, int unknown,
			       double grace_s)
{
	struct fobj *n = e->obj;
	char key[96];
	snprintf(key, sizeof key, "%s%s", NRO_K_API_NODE_COND, p->cond);
	struct hstate *h = api_hstate(n, key);
	if (!h || !fact_get(n, p->series[0], NULL) || !fact_get(n, p->series[1], NULL))
		return; /* either side silent: nothing to compare */
	int ours = analyzer_pressure(e, p->rule), api = strcmp(h->value, "True") == 0;
	int64_t ms = unknown ? -1 : held(h, ours != api, e->now);
	struct verdict v = verdict_for(e);
	v.sub = p->cond;
	v.detail_key = "condition";
	v.source = APISERVER;
	v.unknown = unknown;
	v.breach = ms >= 0 && ms >= (int64_t)(grace_s * SEC_MS);
	v.has_value = v.has_threshold = 1;
	v.value = ms > 0 ? round((double)ms / 1000.0) : 0;
	v.threshold = grace_s;
	snprintf(v.message, sizeof v.message,
		 "node %s: the API server says %s=%s but the kubelet's own figures show %s "
		 "(%s %s) for %.0fs, beyond the %gs transition period",
		 n->name, p->cond, h->value, ours ? "eviction-level pressure" : "no eviction-level pressure",
		 p->rule, ours ? "firing critical" : "not critical", v.value, grace_s);
	snprintf(v.resolved, sizeof v.resolved,
		 "node %s: the API server's %s=%s agrees with the kubelet's %s figures", n->name,
		 p->cond, h->value, p->what);
	judge(e, &v);
}

static void eval_condition_mismatch(struct eval *e)
{
	const struct node_facts *nf = &e->obj->u.node;
	/* the kubelet holds a pressure condition for evictionPressureTransitionPeriod
	 * after the signal clears: a flag wins, then /configz, then the 5m default */
	double grace = (e->p->set & SET_THRESHOLD) || nf->transition_s <= 0 ? e->p->threshold
									 : nf->transition_s;
	int unknown = !live(e, APISERVER, e->obj->name);
	for (size_t i = 0; i < sizeof pressures / sizeof pressures[0]; i++)
		condition_mismatch(e, &pressures[i], unknown, grace);
}

static const char *const pod_states[] = {NRO_K_POD_PHASE, NRO_K_CTR_STATE, NRO_K_CTR_RESTARTS,
					 NRO_K_API_POD_PHASE, NRO_K_API_CTR_STATE,
					 NRO_K_API_CTR_RESTARTS, NULL};
static const char *const stale_states[] = {NRO_K_HEALTHZ, NRO_K_API_LEASE_AGE,
					   NRO_K_API_NODE_COND "Ready", "cri.condition.*", NULL};
static const char *const cond_states[] = {NRO_K_API_NODE_COND "*",
					  NRO_K_CONFIG_EVICTION_TRANSITION, NULL};
static const struct series_def cond_series[] = {
	{NRO_M_NODE_MEM_AVAILABLE, NULL, 0}, {NRO_M_NODE_MEM_WORKING_SET, NULL, 0},
	{NRO_M_NODE_FS_AVAILABLE, NULL, 0},  {NRO_M_NODE_FS_CAPACITY, NULL, 0},
	{NRO_M_NODE_MAXPID, NULL, 0},	     {NRO_M_NODE_CURPROC, NULL, 0},
	{NULL, NULL, 0}};

const struct rule_def rules_divergence[] = {
	{.type = "KubeletAPIDivergence", .okind = NRO_OBJ_POD, .okind2 = NRO_OBJ_CONTAINER,
	 .severity = NRO_SEV_WARNING, .for_ms = MIN_MS,
	 .source = "collector-pods, collector-apiserver", .states = pod_states,
	 .eval = eval_api_divergence},
	{.type = "NodeStatusStale", .okind = NRO_OBJ_NODE, .severity = NRO_SEV_WARNING,
	 .threshold = 40, .min = 1, .max = 86400,
	 .threshold_help = "seconds the Lease may go unrenewed, and the API's Ready may disagree "
			   "with /healthz",
	 .source = "collector-apiserver, collector-healthz", .states = stale_states,
	 .eval = eval_status_stale},
	{.type = "NodeConditionMismatch", .okind = NRO_OBJ_NODE, .severity = NRO_SEV_WARNING,
	 .threshold = 300, .min = 0, .max = 86400,
	 .threshold_help = "seconds the pressure conditions may disagree (default: /configz "
			   "evictionPressureTransitionPeriod, else 300)",
	 .source = "collector-apiserver, collector-summary", .series = cond_series,
	 .states = cond_states, .eval = eval_condition_mismatch},
	{NULL},
};
