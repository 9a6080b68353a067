#include "rules/rules.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/hmap.h"
#include "render/render.h"
#include "base/durations.h"

/* ---- rule table ------------------------------------------------------ */

enum rule_id {
	R_NODE_NOT_READY,
	R_KUBELET_UNHEALTHY,
	R_SYNCLOOP_UNHEALTHY,
	R_MEMORY_PRESSURE,
	R_DISK_PRESSURE,
	R_PID_PRESSURE,
	R_CPU_PRESSURE,
	R_CRASH_LOOPING,
	R_OOM_KILLED,
	R_RESTARTED,
	R_WAITING,
	R_POD_NOT_READY,
	R_POD_EVICTED,
	R_COLLECTOR_DOWN,
	R_COUNT
};

struct rule {
	const char *type;
	int severity;
	int64_t for_ms, resolve_ms;
	double threshold;
	int enabled;
	const char *threshold_help;
};

static const struct rule default_rules[R_COUNT] = {
	[R_NODE_NOT_READY] = {"NodeNotReady", NRO_SEV_CRITICAL, 0, 0, 180, 1,
			      "PLEG relist age in seconds"},
	[R_KUBELET_UNHEALTHY] = {"KubeletUnhealthy", NRO_SEV_WARNING, 0, 0, 0, 1, "unused"},
	[R_SYNCLOOP_UNHEALTHY] = {"KubeletSyncLoopUnhealthy", NRO_SEV_WARNING, 0, 0, 0, 1,
				  "unused"},
	[R_MEMORY_PRESSURE] = {"NodeMemoryPressure", NRO_SEV_WARNING, 0, 30000, 85, 1,
			       "memory use percent (warning tier)"},
	[R_DISK_PRESSURE] = {"NodeDiskPressure", NRO_SEV_WARNING, 0, 30000, 90, 1,
			     "disk use percent (warning tier)"},
	[R_PID_PRESSURE] = {"NodePIDPressure", NRO_SEV_WARNING, 0, 30000, 90, 1,
			    "percent of maxpid in use (warning tier)"},
	[R_CPU_PRESSURE] = {"NodeCPUPressure", NRO_SEV_WARNING, 60000, 60000, 80, 1,
			    "CPU use percent"},
	[R_CRASH_LOOPING] = {"PodCrashLooping", NRO_SEV_WARNING, 0, 60000, 0, 1,
			     "minimum restart count"},
	[R_OOM_KILLED] = {"ContainerOOMKilled", NRO_SEV_WARNING, 0, 0, 0, 1, "unused"},
	[R_RESTARTED] = {"ContainerRestarted", NRO_SEV_INFO, 0, 300000, 0, 1, "unused"},
	[R_WAITING] = {"ContainerWaiting", NRO_SEV_WARNING, 120000, 0, 0, 1, "unused"},
	[R_POD_NOT_READY] = {"PodNotReady", NRO_SEV_WARNING, 300000, 0, 0, 1, "unused"},
	[R_POD_EVICTED] = {"PodEvicted", NRO_SEV_WARNING, 0, 0, 0, 1, "unused"},
	[R_COLLECTOR_DOWN] = {"CollectorDown", NRO_SEV_CRITICAL, 0, 0, 3, 1,
			      "poll intervals without a successful poll"},
};

/* Waiting reasons that mean a container cannot start (ContainerWaiting). */
static const char *const stuck_reasons[] = {
	"ImagePullBackOff",	 "ErrImagePull",	     "CreateContainerConfigError",
	"CreateContainerError",	 "InvalidImageName",	     "RunContainerError",
	"ErrImageNeverPull",	 "PreCreateHookError",	     "PostStartHookError",
	"ContainerCannotRun",	 NULL,
};

/* ---- facts ------------------------------------------------------------ */

struct threshold {
	int set, pct;
	double v;
};

enum { EV_MEM, EV_NODEFS, EV_NODEFS_INODES, EV_IMAGEFS, EV_IMAGEFS_INODES, EV_PID, EV_COUNT };
static const char *const ev_signals[EV_COUNT] = {"memory.available",	"nodefs.available",
						 "nodefs.inodesFree",	"imagefs.available",
						 "imagefs.inodesFree", "pid.available"};

struct node {
	char name[256];
	int have_mem, have_fs, have_imagefs, have_pid, have_cpu, have_cores, have_pleg;
	double mem_avail, mem_ws;
	double fs_avail, fs_cap, fs_ifree, fs_inodes;
	double img_avail, img_cap, img_ifree, img_inodes;
	double maxpid, curproc, cpu_used, cores, pleg_last_seen;
	int healthz, syncloop_check, syncloop; /* -1 unknown, 0 failed, 1 ok */
	char healthz_reason[256], syncloop_reason[256];
	int have_config;
	struct threshold ev[EV_COUNT];
	struct nro_hmap events_total, errors_total; /* name -> (double *) */
};

struct pod {
	char ns[64], name[256], uid[64], node[256], source[64];
	char phase[16], reason[64];
	int ready;
	uint64_t seen_gen;
};

struct ctr {
	char ns[64], pod[256], uid[64], name[64], node[256], source[64];
	char state[16], reason[64], last_term[64];
	int ready, init, have_restarts, restarts_increased;
	double restarts, exit_code;
	int64_t last_term_at;
	uint64_t seen_gen;
};

struct source {
	char name[64], node[256];
	int64_t first_seen, last_ok;
	uint32_t interval_ms;
	uint64_t gen, snapshots;
	int last_status;
	char last_error[256];
};

enum alert_state { S_INACTIVE, S_PENDING, S_FIRING, S_RESOLVING, S_COUNT };
enum alert_input { IN_BREACH, IN_CLEAR, IN_TICK, IN_COUNT };

#define FLAP_MAX 16

struct alert {
	int rule;
	enum alert_state state;
	int emitted;  /* what subscribers were last told: -1 nothing, else NRO_EV_* */
	int flapping;
	int64_t since, clear_since, last_change;
	int64_t changes[FLAP_MAX];
	int nchanges;
	uint64_t gen;
	int severity, has_value, has_threshold;
	double value, threshold;
	uint8_t okind;
	char node[256], ns[64], pod[256], uid[64], container[64], name[256];
	char source[64];
	char message[384];
};

struct nro_rules {
	struct rule rules[R_COUNT];
	nro_rules_event_fn on_event;
	void *ctx;
	struct nro_hmap nodes, pods, ctrs, sources, alerts;
	uint64_t eval_gen;
	int64_t flap_window_ms;
	int flap_changes;
};

/* ---- small helpers ------------------------------------------------------ */

static void cpy(char *dst, size_t n, struct nro_str s)
{
	size_t l = s.len < n - 1 ? s.len : n - 1;
	if (l)
		memcpy(dst, s.p, l);
	dst[l] = '\0';
}

static int attr(const struct nro_attr *a, uint16_t n, const char *key, char *out, size_t outlen)
{
	for (uint16_t i = 0; i < n; i++)
		if (nro_str_eq(a[i].key, key)) {
			cpy(out, outlen, a[i].value);
			return 1;
		}
	out[0] = '\0';
	return 0;
}

static double *counter(struct nro_hmap *m, const char *name)
{
	double *c = nro_hmap_get(m, name);
	if (!c) {
		c = calloc(1, sizeof *c);
		if (!c || nro_hmap_put(m, name, c) != 0) {
			free(c);
			return NULL;
		}
	}
	return c;
}

static struct node *node_get(struct nro_rules *r, const char *name)
{
	struct node *n = nro_hmap_get(&r->nodes, name);
	if (n)
		return n;
	if (r->nodes.n >= 64) /* one node per analyzer in practice: a hard bound */
		return NULL;
	n = calloc(1, sizeof *n);
	if (!n)
		return NULL;
	snprintf(n->name, sizeof n->name, "%s", name);
	n->healthz = n->syncloop_check = n->syncloop = -1;
	nro_hmap_init(&n->events_total);
	nro_hmap_init(&n->errors_total);
	if (nro_hmap_put(&r->nodes, name, n) != 0) {
		free(n);
		return NULL;
	}
	return n;
}

static void free_all(struct nro_hmap *m)
{
	struct nro_hmap_iter it;
	struct nro_hmap_ent *e;
	nro_hmap_iter_init(&it, m);
	while ((e = nro_hmap_next(&it)))
		free(e->value);
	nro_hmap_free(m);
}

struct nro_rules *nro_rules_new(nro_rules_event_fn on_event, void *ctx)
{
	struct nro_rules *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	memcpy(r->rules, default_rules, sizeof r->rules);
	r->on_event = on_event;
	r->ctx = ctx;
	r->flap_window_ms = 600000;
	r->flap_changes = 6;
	nro_hmap_init(&r->nodes);
	nro_hmap_init(&r->pods);
	nro_hmap_init(&r->ctrs);
	nro_hmap_init(&r->sources);
	nro_hmap_init(&r->alerts);
	return r;
}

void nro_rules_free(struct nro_rules *r)
{
	if (!r)
		return;
	struct nro_hmap_iter it;
	struct nro_hmap_ent *e;
	nro_hmap_iter_init(&it, &r->nodes);
	while ((e = nro_hmap_next(&it))) {
		struct node *n = e->value;
		free_all(&n->events_total);
		free_all(&n->errors_total);
		free(n);
	}
	nro_hmap_free(&r->nodes);
	free_all(&r->pods);
	free_all(&r->ctrs);
	free_all(&r->sources);
	free_all(&r->alerts);
	free(r);
}

/* ---- parameters --------------------------------------------------------- */

int nro_rules_set(struct nro_rules *r, const char *kv, char *err, size_t errlen)
{
	const char *dot = strchr(kv, '.'), *eq = strchr(kv, '=');
	if (!dot || !eq || eq < dot) {
		snprintf(err, errlen, "want <EventType>.<key>=<value>");
		return -1;
	}
	size_t tl = (size_t)(dot - kv);
	char key[32];
	size_t kl = (size_t)(eq - dot - 1);
	if (kl >= sizeof key) {
		snprintf(err, errlen, "unknown key");
		return -1;
	}
	memcpy(key, dot + 1, kl);
	key[kl] = '\0';
	const char *val = eq + 1;
	if (tl == 4 && strncmp(kv, "flap", 4) == 0) {
		int64_t d;
		uint64_t u;
		if (strcmp(key, "window") == 0 && nro_parse_duration(val, &d) == 0 && d > 0) {
			r->flap_window_ms = d;
			return 0;
		}
		if (strcmp(key, "changes") == 0 && nro_parse_u64(val, &u) == 0 && u >= 2 &&
		    u <= FLAP_MAX) {
			r->flap_changes = (int)u;
			return 0;
		}
		snprintf(err, errlen, "flap.window takes a duration, flap.changes 2..%d", FLAP_MAX);
		return -1;
	}
	struct rule *ru = NULL;
	for (int i = 0; i < R_COUNT; i++)
		if (strlen(r->rules[i].type) == tl && strncmp(kv, r->rules[i].type, tl) == 0)
			ru = &r->rules[i];
	if (!ru) {
		snprintf(err, errlen, "unknown event type '%.*s'", (int)tl, kv);
		return -1;
	}
	if (strcmp(key, "for") == 0 || strcmp(key, "resolve_after") == 0) {
		int64_t d;
		if (nro_parse_duration(val, &d) != 0) {
			snprintf(err, errlen, "%s takes a duration (0s, 30s, 5m)", key);
			return -1;
		}
		*(key[0] == 'f' ? &ru->for_ms : &ru->resolve_ms) = d;
	} else if (strcmp(key, "threshold") == 0) {
		char *end;
		double d = strtod(val, &end);
		if (!*val || *end || !isfinite(d)) {
			snprintf(err, errlen, "threshold takes a number");
			return -1;
		}
		ru->threshold = d;
	} else if (strcmp(key, "severity") == 0) {
		int s = nro_severity_parse(val);
		if (s < 0) {
			snprintf(err, errlen, "severity is info, warning or critical");
			return -1;
		}
		ru->severity = s;
	} else if (strcmp(key, "enabled") == 0) {
		if (strcmp(val, "true") == 0 || strcmp(val, "1") == 0)
			ru->enabled = 1;
		else if (strcmp(val, "false") == 0 || strcmp(val, "0") == 0)
			ru->enabled = 0;
		else {
			snprintf(err, errlen, "enabled is true or false");
			return -1;
		}
	} else {
		snprintf(err, errlen, "unknown key '%s' (for, resolve_after, threshold, severity, enabled)",
			 key);
		return -1;
	}
	return 0;
}

void nro_rules_describe(const struct nro_rules *r, char *out, size_t outlen)
{
	size_t off = 0;
	out[0] = '\0';
	for (int i = 0; i < R_COUNT && off < outlen; i++) {
		const struct rule *ru = &r->rules[i];
		int n = snprintf(out + off, outlen - off,
				 "  %-26s for=%llds resolve_after=%llds threshold=%g (%s) severity=%s enabled=%s\n",
				 ru->type, (long long)(ru->for_ms / 1000),
				 (long long)(ru->resolve_ms / 1000), ru->threshold, ru->threshold_help,
				 nro_severity_name((uint8_t)ru->severity), ru->enabled ? "true" : "false");
		if (n < 0)
			break;
		off += (size_t)n;
	}
}

/* ---- the state machine ----------------------------------------------- */

static void emit(struct nro_rules *r, struct alert *a, int ev_state, int64_t now, const char *why)
{
	struct nro_attr attrs[4];
	uint16_t na = 0;
	attrs[na].key = nro_s("k8s.node.name");
	attrs[na++].value = nro_s(a->node);
	if (a->uid[0]) {
		attrs[na].key = nro_s("k8s.pod.uid");
		attrs[na++].value = nro_s(a->uid);
	}
	if (a->source[0]) {
		attrs[na].key = nro_s("nro.source");
		attrs[na++].value = nro_s(a->source);
	}
	if (a->flapping) {
		attrs[na].key = nro_s("nro.flapping");
		attrs[na++].value = nro_s("true");
	}
	char msg[512];
	snprintf(msg, sizeof msg, "%s%s%s", ev_state == NRO_EV_RESOLVED ? "cleared: " : "",
		 a->message, why ? why : "");
	struct nro_event ev = {
		nro_s(r->rules[a->rule].type),
		(uint8_t)a->severity,
		(uint8_t)ev_state,
		(uint8_t)((a->has_value ? NRO_EVF_VALUE : 0) | (a->has_threshold ? NRO_EVF_THRESHOLD : 0)),
		{a->okind, nro_s(a->ns), nro_s(a->pod), nro_s(a->container), nro_s(a->name)},
		a->has_value && isfinite(a->value) ? a->value : 0,
		a->has_threshold && isfinite(a->threshold) ? a->threshold : 0,
		ev_state == NRO_EV_FIRING ? a->since : now,
		nro_s(msg),
		na,
		attrs,
	};
	if (ev.since_ms <= 0)
		ev.since_ms = now;
	a->emitted = ev_state;
	if (ev_state == NRO_EV_FIRING) {
		struct node *n = node_get(r, a->node);
		double *c = n ? counter(&n->events_total, r->rules[a->rule].type) : NULL;
		if (c)
			(*c)++;
	}
	r->on_event(r->ctx, a->node, &ev);
}

/* Records a state change for flapping detection; returns 1 when the change
 * may be announced, 0 when the alert is (now) flapping and it is held. */
static int announce(struct nro_rules *r, struct alert *a, int ev_state, int64_t now)
{
	int k = 0;
	for (int i = 0; i < a->nchanges; i++)
		if (now - a->changes[i] < r->flap_window_ms)
			a->changes[k++] = a->changes[i];
	a->nchanges = k;
	if (a->nchanges < FLAP_MAX)
		a->changes[a->nchanges++] = now;
	a->last_change = now;
	if (a->flapping)
		return 0;
	if (a->nchanges >= r->flap_changes) {
		a->flapping = 1;
		char why[160];
		snprintf(why, sizeof why,
			 " (flapping: %d state changes within %llds; held firing until it settles)",
			 a->nchanges, (long long)(r->flap_window_ms / 1000));
		emit(r, a, NRO_EV_FIRING, now, why);
		return 0;
	}
	(void)ev_state;
	return 1;
}

static void do_fire(struct nro_rules *r, struct alert *a, int64_t now)
{
	a->state = S_FIRING;
	if (announce(r, a, NRO_EV_FIRING, now))
		emit(r, a, NRO_EV_FIRING, now, NULL);
}

static void do_resolve(struct nro_rules *r, struct alert *a, int64_t now)
{
	a->state = S_INACTIVE;
	if (announce(r, a, NRO_EV_RESOLVED, now))
		emit(r, a, NRO_EV_RESOLVED, now, NULL);
}

typedef void (*action_fn)(struct nro_rules *r, struct alert *a, int64_t now);

static void act_none(struct nro_rules *r, struct alert *a, int64_t now)
{
	(void)r, (void)a, (void)now;
}

static void act_check_fire(struct nro_rules *r, struct alert *a, int64_t now)
{
	if (now - a->since >= r->rules[a->rule].for_ms)
		do_fire(r, a, now);
}

static void act_start_pending(struct nro_rules *r, struct alert *a, int64_t now)
{
	a->state = S_PENDING;
	a->since = now;
	act_check_fire(r, a, now);
}

static void act_cancel(struct nro_rules *r, struct alert *a, int64_t now)
{
	(void)r, (void)now;
	a->state = S_INACTIVE;
}

static void act_check_resolve(struct nro_rules *r, struct alert *a, int64_t now)
{
	if (now - a->clear_since >= r->rules[a->rule].resolve_ms)
		do_resolve(r, a, now);
}

static void act_start_resolving(struct nro_rules *r, struct alert *a, int64_t now)
{
	a->state = S_RESOLVING;
	a->clear_since = now;
	act_check_resolve(r, a, now);
}

static void act_back_to_firing(struct nro_rules *r, struct alert *a, int64_t now)
{
	(void)r, (void)now;
	a->state = S_FIRING; /* the clear did not last: nothing was announced */
}

/* actions[state][input]: the whole lifecycle of an alert in one table */
static const action_fn actions[S_COUNT][IN_COUNT] = {
	[S_INACTIVE] = {act_start_pending, act_none, act_none},
	[S_PENDING] = {act_check_fire, act_cancel, act_check_fire},
	[S_FIRING] = {act_none, act_start_resolving, act_none},
	[S_RESOLVING] = {act_back_to_firing, act_check_resolve, act_check_resolve},
};

/* Two pods may share a namespace and name for a while (a replacement
 * starting before the old one is gone): the pod UID tells them apart. */
static void alert_key(char *key, size_t n, int rule, const char *node, const char *ns,
		      const char *pod, const char *uid, const char *container, const char *name)
{
	snprintf(key, n, "%d|%s|%s|%s|%s|%s|%s", rule, node, ns, pod, uid, container, name);
}

/* Where a flapping alert has settled, tells subscribers its real state. */
static void settle_flapping(struct nro_rules *r, struct alert *a, int64_t now)
{
	if (!a->flapping || now - a->last_change < r->flap_window_ms)
		return;
	a->flapping = 0;
	a->nchanges = 0;
	int real = (a->state == S_FIRING || a->state == S_RESOLVING) ? NRO_EV_FIRING : NRO_EV_RESOLVED;
	if (real != a->emitted)
		emit(r, a, real, now, " (settled after flapping)");
}

/* One observation of a rule's condition on an object. */
struct obs {
	int rule;
	const char *node, *ns, *pod, *uid, *container, *name, *source;
	uint8_t okind;
	int breach, severity, has_value, has_threshold;
	double value, threshold;
	const char *message;
};

static void observe(struct nro_rules *r, const struct obs *o, int64_t now)
{
	if (!r->rules[o->rule].enabled)
		return;
	char key[1024];
	alert_key(key, sizeof key, o->rule, o->node, o->ns ? o->ns : "", o->pod ? o->pod : "",
		  o->uid ? o->uid : "", o->container ? o->container : "", o->name ? o->name : "");
	struct alert *a = nro_hmap_get(&r->alerts, key);
	if (!a) {
		if (!o->breach)
			return;
		a = calloc(1, sizeof *a);
		if (!a || nro_hmap_put(&r->alerts, key, a) != 0) {
			free(a);
			return;
		}
		a->rule = o->rule;
		a->emitted = -1;
		a->okind = o->okind;
		snprintf(a->node, sizeof a->node, "%s", o->node);
		snprintf(a->ns, sizeof a->ns, "%s", o->ns ? o->ns : "");
		snprintf(a->pod, sizeof a->pod, "%s", o->pod ? o->pod : "");
		snprintf(a->uid, sizeof a->uid, "%s", o->uid ? o->uid : "");
		snprintf(a->container, sizeof a->container, "%s", o->container ? o->container : "");
		snprintf(a->name, sizeof a->name, "%s", o->name ? o->name : "");
	}
	a->gen = r->eval_gen;
	snprintf(a->source, sizeof a->source, "%s", o->source ? o->source : "");
	/* a resolved announcement keeps the values of the breach it ends */
	if (o->breach || a->state == S_INACTIVE || a->state == S_PENDING) {
		a->severity = o->breach ? o->severity : a->severity;
		a->has_value = o->has_value;
		a->has_threshold = o->has_threshold;
		a->value = o->value;
		a->threshold = o->threshold;
		snprintf(a->message, sizeof a->message, "%s", o->message);
	}
	actions[a->state][o->breach ? IN_BREACH : IN_CLEAR](r, a, now);
	settle_flapping(r, a, now);
	if (a->state == S_INACTIVE && !a->flapping && a->nchanges == 0) {
		nro_hmap_del(&r->alerts, key);
		free(a);
	}
}

/* ---- rules over facts ----------------------------------------------- */

static double threshold_bytes(const struct threshold *t, double capacity)
{
	return t->pct ? t->v / 100.0 * capacity : t->v;
}

static void eval_node(struct nro_rules *r, struct node *n, int64_t now)
{
	char msg[384];
	struct obs o = {.node = n->name, .name = n->name, .okind = NRO_OBJ_NODE};

	if (n->healthz >= 0 || n->syncloop >= 0 || n->syncloop_check >= 0 || n->have_pleg) {
		double pleg_age = n->have_pleg ? (double)now / 1000.0 - n->pleg_last_seen : 0;
		int pleg_bad = n->have_pleg && pleg_age > r->rules[R_NODE_NOT_READY].threshold;
		o.rule = R_NODE_NOT_READY;
		o.source = "collector-healthz";
		o.breach = n->healthz == 0 || n->syncloop == 0 || n->syncloop_check == 0 || pleg_bad;
		o.severity = r->rules[o.rule].severity;
		o.has_value = pleg_bad;
		o.value = pleg_age;
		o.has_threshold = pleg_bad;
		o.threshold = r->rules[R_NODE_NOT_READY].threshold;
		if (pleg_bad)
			snprintf(msg, sizeof msg, "node %s not ready: PLEG last relist %.0fs ago", n->name,
				 pleg_age);
		else {
			const char *why = n->healthz_reason[0] ? n->healthz_reason : n->syncloop_reason;
			snprintf(msg, sizeof msg, "node %s not ready: kubelet health failing%s%s",
				 n->name, why[0] ? ": " : "", why);
		}
		o.message = msg;
		observe(r, &o, now);
	}
	o.has_value = o.has_threshold = 0;
	if (n->healthz >= 0) {
		o.rule = R_KUBELET_UNHEALTHY;
		o.source = "collector-healthz";
		o.breach = n->healthz == 0;
		o.severity = r->rules[o.rule].severity;
		snprintf(msg, sizeof msg, "kubelet /healthz failing: %s",
			 n->healthz_reason[0] ? n->healthz_reason : "unhealthy");
		o.message = msg;
		observe(r, &o, now);
	}
	if (n->syncloop >= 0 || n->syncloop_check >= 0) {
		o.rule = R_SYNCLOOP_UNHEALTHY;
		o.source = n->syncloop >= 0 ? "collector-syncloop" : "collector-healthz";
		o.breach = n->syncloop == 0 || n->syncloop_check == 0;
		o.severity = r->rules[o.rule].severity;
		snprintf(msg, sizeof msg, "kubelet sync loop unhealthy: %s",
			 n->syncloop_reason[0] ? n->syncloop_reason : "syncloop check failing");
		o.message = msg;
		observe(r, &o, now);
	}

	/* eviction thresholds: the kubelet's config, else its defaults */
	struct threshold ev[EV_COUNT];
	if (n->have_config) {
		memcpy(ev, n->ev, sizeof ev);
	} else {
		memset(ev, 0, sizeof ev);
		ev[EV_MEM] = (struct threshold){1, 0, 100.0 * 1024 * 1024};
		ev[EV_NODEFS] = (struct threshold){1, 1, 10};
		ev[EV_NODEFS_INODES] = (struct threshold){1, 1, 5};
		ev[EV_IMAGEFS] = (struct threshold){1, 1, 15};
		ev[EV_IMAGEFS_INODES] = (struct threshold){1, 1, 5};
	}

	o.source = "collector-summary";
	if (n->have_mem) {
		double cap = n->mem_avail + n->mem_ws;
		double pct = cap > 0 ? n->mem_ws / cap * 100.0 : 0;
		double evict = ev[EV_MEM].set ? threshold_bytes(&ev[EV_MEM], cap) : -1;
		o.rule = R_MEMORY_PRESSURE;
		o.has_value = o.has_threshold = 1;
		if (evict >= 0 && n->mem_avail < evict) {
			o.breach = 1;
			o.severity = NRO_SEV_CRITICAL;
			o.value = n->mem_avail;
			o.threshold = evict;
			snprintf(msg, sizeof msg,
				 "node %s memory.available %.0f MiB is below the eviction threshold %.0f MiB",
				 n->name, n->mem_avail / 1048576.0, evict / 1048576.0);
		} else {
			o.breach = pct > r->rules[o.rule].threshold;
			o.severity = r->rules[o.rule].severity;
			o.value = round(pct * 10) / 10;
			o.threshold = r->rules[o.rule].threshold;
			snprintf(msg, sizeof msg, "node %s memory use %.1f%% is above %g%%", n->name, pct,
				 o.threshold);
		}
		o.message = msg;
		observe(r, &o, now);
	}
	if (n->have_fs || n->have_imagefs) {
		struct {
			int have;
			const char *dev;
			double avail, cap, ifree, inodes;
			int ev_bytes, ev_inodes;
		} fs[2] = {{n->have_fs, "nodefs", n->fs_avail, n->fs_cap, n->fs_ifree, n->fs_inodes,
			    EV_NODEFS, EV_NODEFS_INODES},
			   {n->have_imagefs, "imagefs", n->img_avail, n->img_cap, n->img_ifree,
			    n->img_inodes, EV_IMAGEFS, EV_IMAGEFS_INODES}};
		o.rule = R_DISK_PRESSURE;
		o.breach = 0;
		o.has_value = o.has_threshold = 1;
		o.severity = r->rules[o.rule].severity;
		o.value = 0;
		o.threshold = r->rules[o.rule].threshold;
		snprintf(msg, sizeof msg, "node %s disk use is below %g%%", n->name, o.threshold);
		for (int i = 0; i < 2 && !(o.breach && o.severity == NRO_SEV_CRITICAL); i++) {
			if (!fs[i].have || fs[i].cap <= 0)
				continue;
			const struct threshold *tb = &ev[fs[i].ev_bytes], *ti = &ev[fs[i].ev_inodes];
			double pct = (fs[i].cap - fs[i].avail) / fs[i].cap * 100.0;
			if (tb->set && fs[i].avail < threshold_bytes(tb, fs[i].cap)) {
				o.breach = 1;
				o.severity = NRO_SEV_CRITICAL;
				o.value = fs[i].avail;
				o.threshold = threshold_bytes(tb, fs[i].cap);
				snprintf(msg, sizeof msg,
					 "node %s %s available %.0f MiB is below the eviction threshold %.0f MiB",
					 n->name, fs[i].dev, o.value / 1048576.0, o.threshold / 1048576.0);
			} else if (ti->set && fs[i].inodes > 0 &&
				   fs[i].ifree < threshold_bytes(ti, fs[i].inodes)) {
				o.breach = 1;
				o.severity = NRO_SEV_CRITICAL;
				o.value = fs[i].ifree;
				o.threshold = threshold_bytes(ti, fs[i].inodes);
				snprintf(msg, sizeof msg,
					 "node %s %s inodes free %.0f are below the eviction threshold %.0f",
					 n->name, fs[i].dev, o.value, o.threshold);
			} else if (!o.breach && pct > r->rules[o.rule].threshold) {
				o.breach = 1;
				o.value = round(pct * 10) / 10;
				snprintf(msg, sizeof msg, "node %s %s use %.1f%% is above %g%%", n->name,
					 fs[i].dev, pct, o.threshold);
			}
		}
		o.message = msg;
		observe(r, &o, now);
	}
	if (n->have_pid && n->maxpid > 0) {
		double pct = n->curproc / n->maxpid * 100.0;
		o.rule = R_PID_PRESSURE;
		o.has_value = o.has_threshold = 1;
		if (ev[EV_PID].set &&
		    n->maxpid - n->curproc < threshold_bytes(&ev[EV_PID], n->maxpid)) {
			o.breach = 1;
			o.severity = NRO_SEV_CRITICAL;
			o.value = n->maxpid - n->curproc;
			o.threshold = threshold_bytes(&ev[EV_PID], n->maxpid);
			snprintf(msg, sizeof msg, "node %s has %.0f PIDs left, below pid.available %.0f",
				 n->name, o.value, o.threshold);
		} else {
			o.breach = pct > r->rules[o.rule].threshold;
			o.severity = r->rules[o.rule].severity;
			o.value = round(pct * 10) / 10;
			o.threshold = r->rules[o.rule].threshold;
			snprintf(msg, sizeof msg, "node %s uses %.1f%% of its %.0f PIDs (above %g%%)",
				 n->name, pct, n->maxpid, o.threshold);
		}
		o.message = msg;
		observe(r, &o, now);
	}
	if (n->have_cpu) {
		double cores = n->have_cores ? n->cores : (double)sysconf(_SC_NPROCESSORS_ONLN);
		if (cores > 0) {
			double pct = n->cpu_used / cores * 100.0;
			o.rule = R_CPU_PRESSURE;
			o.has_value = o.has_threshold = 1;
			o.breach = pct > r->rules[o.rule].threshold;
			o.severity = r->rules[o.rule].severity;
			o.value = round(pct * 10) / 10;
			o.threshold = r->rules[o.rule].threshold;
			snprintf(msg, sizeof msg, "node %s CPU use %.1f%% of %.0f cores is above %g%%",
				 n->name, pct, cores, o.threshold);
			o.message = msg;
			observe(r, &o, now);
		}
	}
}

static int is_stuck_reason(const char *reason)
{
	for (int i = 0; stuck_reasons[i]; i++)
		if (strcmp(reason, stuck_reasons[i]) == 0)
			return 1;
	return 0;
}

static void eval_ctr(struct nro_rules *r, struct ctr *c, int64_t now)
{
	char msg[384];
	struct obs o = {.node = c->node, .ns = c->ns, .pod = c->pod, .uid = c->uid, .container = c->name,
			.okind = NRO_OBJ_CONTAINER, .source = c->source};
	int waiting = strcmp(c->state, "waiting") == 0;

	o.rule = R_CRASH_LOOPING;
	o.breach = waiting && strcmp(c->reason, "CrashLoopBackOff") == 0 &&
		   c->restarts >= r->rules[o.rule].threshold;
	o.severity = r->rules[o.rule].severity;
	o.has_value = c->have_restarts;
	o.value = c->restarts;
	o.has_threshold = r->rules[o.rule].threshold > 0;
	o.threshold = r->rules[o.rule].threshold;
	snprintf(msg, sizeof msg, "container %s in pod %s/%s is crash-looping (%.0f restarts)",
		 c->name, c->ns, c->pod, c->restarts);
	o.message = msg;
	observe(r, &o, now);

	o.rule = R_OOM_KILLED;
	o.breach = strcmp(c->last_term, "OOMKilled") == 0 ||
		   (strcmp(c->state, "terminated") == 0 && strcmp(c->reason, "OOMKilled") == 0);
	o.severity = r->rules[o.rule].severity;
	o.has_value = 0;
	o.has_threshold = 0;
	char when[40] = "";
	if (c->last_term_at > 0) {
		char ts[40];
		nro_fmt_ts(ts, sizeof ts, c->last_term_at);
		snprintf(when, sizeof when, " at %s", ts);
	}
	snprintf(msg, sizeof msg, "container %s in pod %s/%s was OOM-killed%s (exit code %.0f)",
		 c->name, c->ns, c->pod, when, c->exit_code);
	o.message = msg;
	observe(r, &o, now);

	o.rule = R_RESTARTED;
	o.breach = c->restarts_increased;
	o.severity = r->rules[o.rule].severity;
	o.has_value = c->have_restarts;
	o.value = c->restarts;
	snprintf(msg, sizeof msg, "container %s in pod %s/%s restarted (%.0f restarts%s%s)", c->name,
		 c->ns, c->pod, c->restarts, c->last_term[0] ? ", last: " : "", c->last_term);
	o.message = msg;
	observe(r, &o, now);

	o.rule = R_WAITING;
	o.breach = waiting && is_stuck_reason(c->reason);
	o.severity = r->rules[o.rule].severity;
	o.has_value = 0;
	snprintf(msg, sizeof msg, "container %s in pod %s/%s is waiting: %s", c->name, c->ns, c->pod,
		 c->reason[0] ? c->reason : "unknown reason");
	o.message = msg;
	observe(r, &o, now);
}

static void eval_pod(struct nro_rules *r, struct pod *p, int64_t now)
{
	char msg[384];
	struct obs o = {.node = p->node, .ns = p->ns, .pod = p->name, .uid = p->uid, .okind = NRO_OBJ_POD,
			.source = p->source};
	o.rule = R_POD_NOT_READY;
	o.breach = strcmp(p->phase, "Running") == 0 && p->ready == 0;
	o.severity = r->rules[o.rule].severity;
	snprintf(msg, sizeof msg, "pod %s/%s is running but not Ready", p->ns, p->name);
	o.message = msg;
	observe(r, &o, now);

	o.rule = R_POD_EVICTED;
	o.breach = strcmp(p->phase, "Failed") == 0 && strcmp(p->reason, "Evicted") == 0;
	o.severity = r->rules[o.rule].severity;
	snprintf(msg, sizeof msg, "pod %s/%s was evicted", p->ns, p->name);
	o.message = msg;
	observe(r, &o, now);
}

static void eval_sources(struct nro_rules *r, int64_t now)
{
	struct nro_hmap_iter it;
	struct nro_hmap_ent *e;
	nro_hmap_iter_init(&it, &r->sources);
	while ((e = nro_hmap_next(&it))) {
		struct source *s = e->value;
		char msg[384];
		int64_t interval = s->interval_ms ? s->interval_ms : 15000;
		int64_t base = s->last_ok ? s->last_ok : s->first_seen;
		double quiet = (double)(now - base) / 1000.0;
		struct obs o = {.rule = R_COLLECTOR_DOWN, .node = s->node, .name = s->name,
				.okind = NRO_OBJ_SERVICE, .source = "analyzer"};
		o.breach = now - base > (int64_t)(r->rules[o.rule].threshold * (double)interval);
		o.severity = r->rules[o.rule].severity;
		o.has_value = o.has_threshold = 1;
		o.value = round(quiet);
		o.threshold = r->rules[o.rule].threshold * (double)interval / 1000.0;
		snprintf(msg, sizeof msg, "%s: no successful poll for %.0fs%s%s", s->name, quiet,
			 s->last_error[0] ? "; last error: " : "", s->last_error);
		o.message = msg;
		observe(r, &o, now);
	}
}

/* Alerts whose object was not seen in this evaluation are about objects
 * that are gone: resolved and forgotten, once their source has delivered a
 * complete snapshot (so alerts restored from the ring are not dropped before
 * the data to judge them arrives). */
static void sweep_alerts(struct nro_rules *r, int64_t now)
{
	struct nro_hmap_iter it;
	struct nro_hmap_ent *e;
	nro_hmap_iter_init(&it, &r->alerts);
	while ((e = nro_hmap_next(&it))) {
		struct alert *a = e->value;
		if (a->gen == r->eval_gen)
			continue;
		struct source *s = nro_hmap_get(&r->sources, a->source);
		if (!s || s->snapshots == 0)
			continue;
		if (a->emitted == NRO_EV_FIRING)
			emit(r, a, NRO_EV_RESOLVED, now, " (no longer present)");
		nro_hmap_del(&r->alerts, e->key);
		free(a);
	}
}

void nro_rules_evaluate(struct nro_rules *r, int64_t now)
{
	struct nro_hmap_iter it;
	struct nro_hmap_ent *e;
	r->eval_gen++;
	nro_hmap_iter_init(&it, &r->nodes);
	while ((e = nro_hmap_next(&it)))
		eval_node(r, e->value, now);
	nro_hmap_iter_init(&it, &r->pods);
	while ((e = nro_hmap_next(&it)))
		eval_pod(r, e->value, now);
	nro_hmap_iter_init(&it, &r->ctrs);
	while ((e = nro_hmap_next(&it)))
		eval_ctr(r, e->value, now);
	eval_sources(r, now);
	sweep_alerts(r, now);
}

void nro_rules_tick(struct nro_rules *r, int64_t now)
{
	struct nro_hmap_iter it;
	struct nro_hmap_ent *e;
	eval_sources(r, now); /* CollectorDown is a matter of time passing */
	nro_hmap_iter_init(&it, &r->alerts);
	while ((e = nro_hmap_next(&it))) {
		struct alert *a = e->value;
		actions[a->state][IN_TICK](r, a, now);
		settle_flapping(r, a, now);
		if (a->state == S_INACTIVE && !a->flapping &&
		    (a->nchanges == 0 || now - a->last_change >= r->flap_window_ms)) {
			nro_hmap_del(&r->alerts, e->key);
			free(a);
		}
	}
}

/* ---- taking in records ------------------------------------------------- */

static struct source *source_get(struct nro_rules *r, struct nro_str name, const char *node,
				 int64_t now)
{
	char key[64];
	cpy(key, sizeof key, name);
	struct source *s = nro_hmap_get(&r->sources, key);
	if (s)
		return s;
	if (r->sources.n >= 256)
		return NULL;
	s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	snprintf(s->name, sizeof s->name, "%s", key);
	snprintf(s->node, sizeof s->node, "%s", node);
	s->first_seen = now;
	s->gen = 1;
	if (nro_hmap_put(&r->sources, key, s) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

static void set_threshold(struct node *n, const char *signal, struct nro_str value, double num)
{
	for (int i = 0; i < EV_COUNT; i++)
		if (strcmp(signal, ev_signals[i]) == 0) {
			n->ev[i].set = 1;
			n->ev[i].pct = value.len > 0 && value.p[value.len - 1] == '%';
			n->ev[i].v = num;
		}
}

static void take_node_state(struct node *n, const struct nro_state *s)
{
	char key[128], reason[256];
	cpy(key, sizeof key, s->key);
	int ok = nro_str_eq(s->value, "ok");
	attr(s->attrs, s->nattrs, "reason", reason, sizeof reason);
	if (strcmp(key, "kubelet.healthz") == 0) {
		n->healthz = ok;
		snprintf(n->healthz_reason, sizeof n->healthz_reason, "%s", ok ? "" : reason);
	} else if (strcmp(key, "kubelet.healthz.syncloop") == 0) {
		n->syncloop_check = ok;
		if (!ok)
			snprintf(n->syncloop_reason, sizeof n->syncloop_reason, "%s", reason);
	} else if (strcmp(key, "kubelet.syncloop") == 0) {
		n->syncloop = ok;
		snprintf(n->syncloop_reason, sizeof n->syncloop_reason, "%s", ok ? "" : reason);
	} else if (strncmp(key, "kubelet.eviction.hard.", 22) == 0) {
		if (!n->have_config) {
			memset(n->ev, 0, sizeof n->ev);
			n->have_config = 1;
		}
		set_threshold(n, key + 22, s->value, s->num);
	}
}

static void take_pod_state(struct nro_rules *r, struct source *src, const char *node,
			   const struct nro_state *s)
{
	char key[384], ns[64], name[256], uid[64];
	cpy(ns, sizeof ns, s->object.namespace_);
	cpy(name, sizeof name, s->object.pod);
	attr(s->attrs, s->nattrs, "k8s.pod.uid", uid, sizeof uid);
	snprintf(key, sizeof key, "%s/%s/%s", ns, name, uid);
	struct pod *p = nro_hmap_get(&r->pods, key);
	if (!p) {
		if (r->pods.n >= 100000)
			return;
		p = calloc(1, sizeof *p);
		if (!p || nro_hmap_put(&r->pods, key, p) != 0) {
			free(p);
			return;
		}
		memcpy(p->ns, ns, sizeof p->ns);
		memcpy(p->name, name, sizeof p->name);
		memcpy(p->uid, uid, sizeof p->uid);
		p->ready = -1;
	}
	snprintf(p->node, sizeof p->node, "%s", node);
	snprintf(p->source, sizeof p->source, "%s", src->name);
	p->seen_gen = src->gen;
	if (nro_str_eq(s->key, "pod.phase")) {
		cpy(p->phase, sizeof p->phase, s->value);
		attr(s->attrs, s->nattrs, "reason", p->reason, sizeof p->reason);
	} else if (nro_str_eq(s->key, "pod.ready")) {
		p->ready = nro_str_eq(s->value, "True") ? 1 : 0;
	}
}

static void take_ctr_state(struct nro_rules *r, struct source *src, const char *node,
			   const struct nro_state *s)
{
	char key[480], ns[64], pod[256], name[64], uid[64];
	cpy(ns, sizeof ns, s->object.namespace_);
	cpy(pod, sizeof pod, s->object.pod);
	cpy(name, sizeof name, s->object.container);
	attr(s->attrs, s->nattrs, "k8s.pod.uid", uid, sizeof uid);
	snprintf(key, sizeof key, "%s/%s/%s/%s", ns, pod, uid, name);
	struct ctr *c = nro_hmap_get(&r->ctrs, key);
	if (!c) {
		if (r->ctrs.n >= 200000)
			return;
		c = calloc(1, sizeof *c);
		if (!c || nro_hmap_put(&r->ctrs, key, c) != 0) {
			free(c);
			return;
		}
		memcpy(c->ns, ns, sizeof c->ns);
		memcpy(c->pod, pod, sizeof c->pod);
		memcpy(c->name, name, sizeof c->name);
		memcpy(c->uid, uid, sizeof c->uid);
		c->ready = -1;
	}
	if (c->seen_gen != src->gen) {
		/* first state of this container in a new snapshot: what the
		 * snapshot does not repeat is no longer true */
		c->last_term[0] = '\0';
		c->last_term_at = 0;
		c->restarts_increased = 0;
		c->seen_gen = src->gen;
	}
	snprintf(c->node, sizeof c->node, "%s", node);
	snprintf(c->source, sizeof c->source, "%s", src->name);
	char init[8];
	if (attr(s->attrs, s->nattrs, "init", init, sizeof init))
		c->init = strcmp(init, "true") == 0;
	if (nro_str_eq(s->key, "container.state")) {
		cpy(c->state, sizeof c->state, s->value);
		attr(s->attrs, s->nattrs, "reason", c->reason, sizeof c->reason);
		if (nro_str_eq(s->value, "terminated"))
			c->exit_code = s->num;
	} else if (nro_str_eq(s->key, "container.ready")) {
		c->ready = nro_str_eq(s->value, "true");
	} else if (nro_str_eq(s->key, "container.restarts")) {
		c->restarts_increased = c->have_restarts && s->num > c->restarts;
		c->restarts = s->num;
		c->have_restarts = 1;
	} else if (nro_str_eq(s->key, "container.last_termination")) {
		cpy(c->last_term, sizeof c->last_term, s->value);
		c->last_term_at = s->since_ms;
		c->exit_code = s->num;
	}
}

static void take_metric(struct nro_rules *r, const char *hdr_node, const struct nro_metric *m)
{
	char nodename[256];
	if (!attr(m->attrs, m->nattrs, "k8s.node.name", nodename, sizeof nodename))
		snprintf(nodename, sizeof nodename, "%s", hdr_node);
	/* only node-level series matter to the rules; pod and container series
	 * carry a pod name */
	char pod[8];
	if (attr(m->attrs, m->nattrs, "k8s.pod.name", pod, sizeof pod))
		return;
	static const struct {
		const char *name;
		size_t off;
		size_t have_off;
	} map[] = {
#define F(n, f, h) {n, offsetof(struct node, f), offsetof(struct node, h)}
		F("k8s.node.memory.available", mem_avail, have_mem),
		F("k8s.node.memory.working_set", mem_ws, have_mem),
		F("k8s.node.filesystem.available", fs_avail, have_fs),
		F("k8s.node.filesystem.capacity", fs_cap, have_fs),
		F("k8s.node.filesystem.inodes.free", fs_ifree, have_fs),
		F("k8s.node.filesystem.inodes", fs_inodes, have_fs),
		F("k8s.node.imagefs.available", img_avail, have_imagefs),
		F("k8s.node.imagefs.capacity", img_cap, have_imagefs),
		F("k8s.node.imagefs.inodes.free", img_ifree, have_imagefs),
		F("k8s.node.imagefs.inodes", img_inodes, have_imagefs),
		F("k8s.node.rlimit.maxpid", maxpid, have_pid),
		F("k8s.node.rlimit.curproc", curproc, have_pid),
		F("k8s.node.cpu.usage", cpu_used, have_cpu),
		F("machine_cpu_cores", cores, have_cores),
		F("kubelet_pleg_last_seen_seconds", pleg_last_seen, have_pleg),
#undef F
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
		if (!nro_str_eq(m->name, map[i].name))
			continue;
		if (!isfinite(m->value))
			return;
		struct node *n = node_get(r, nodename);
		if (!n)
			return;
		*(double *)((char *)n + map[i].off) = m->value;
		*(int *)((char *)n + map[i].have_off) = 1;
		return;
	}
}

/* The end of a poll: a complete snapshot forgets what it no longer lists. */
static void take_health(struct nro_rules *r, struct source *s, const char *node,
			const struct nro_health *h, int64_t now)
{
	s->interval_ms = h->interval_ms;
	s->last_status = h->status;
	if (h->status == NRO_HEALTH_FAILED) {
		cpy(s->last_error, sizeof s->last_error, h->message);
		return;
	}
	s->last_ok = now;
	s->last_error[0] = '\0';
	struct nro_hmap_iter it;
	struct nro_hmap_ent *e;
	nro_hmap_iter_init(&it, &r->pods);
	while ((e = nro_hmap_next(&it))) {
		struct pod *p = e->value;
		if (strcmp(p->source, s->name) == 0 && p->seen_gen != s->gen) {
			nro_hmap_del(&r->pods, e->key);
			free(p);
		}
	}
	nro_hmap_iter_init(&it, &r->ctrs);
	while ((e = nro_hmap_next(&it))) {
		struct ctr *c = e->value;
		if (strcmp(c->source, s->name) == 0 && c->seen_gen != s->gen) {
			nro_hmap_del(&r->ctrs, e->key);
			free(c);
		}
	}
	s->gen++;
	s->snapshots++;
	(void)node;
}

void nro_rules_count_error(struct nro_rules *r, const char *node, const char *error_type)
{
	struct node *n = node_get(r, node);
	double *c = n ? counter(&n->errors_total, error_type) : NULL;
	if (c)
		(*c)++;
}

void nro_rules_feed(struct nro_rules *r, struct nro_msg *m, int64_t now)
{
	char node[256];
	cpy(node, sizeof node, m->hdr.node);
	if (nro_str_eq(m->hdr.source, "analyzer"))
		return; /* our own output fed back: nothing to learn */
	struct source *src = source_get(r, m->hdr.source, node, now);
	if (!src)
		return;
	snprintf(src->node, sizeof src->node, "%s", node);
	switch (m->hdr.kind) {
	case NRO_KIND_METRIC: {
		struct nro_metric x;
		while (nro_next_metric(m, &x))
			take_metric(r, node, &x);
		break;
	}
	case NRO_KIND_STATE: {
		struct nro_state x;
		while (nro_next_state(m, &x)) {
			if (x.object.kind == NRO_OBJ_NODE) {
				struct node *n = node_get(r, node);
				if (n)
					take_node_state(n, &x);
			} else if (x.object.kind == NRO_OBJ_POD) {
				take_pod_state(r, src, node, &x);
			} else if (x.object.kind == NRO_OBJ_CONTAINER) {
				take_ctr_state(r, src, node, &x);
			}
		}
		break;
	}
	case NRO_KIND_ERROR: {
		struct nro_error x;
		while (nro_next_error(m, &x))
			nro_rules_count_error(r, node, nro_error_name(x.code));
		break;
	}
	case NRO_KIND_HEALTH: {
		struct nro_health x;
		while (nro_next_health(m, &x))
			take_health(r, src, node, &x, now);
		nro_rules_evaluate(r, now);
		break;
	}
	default:
		break;
	}
}

void nro_rules_restore(struct nro_rules *r, const struct nro_header *h, const struct nro_event *ev)
{
	int rule = -1;
	for (int i = 0; i < R_COUNT; i++)
		if (nro_str_eq(ev->type, r->rules[i].type))
			rule = i;
	if (rule < 0)
		return;
	char node[256], ns[64], pod[256], uid[64], container[64], name[256], key[1024];
	if (!attr(ev->attrs, ev->nattrs, "k8s.node.name", node, sizeof node))
		cpy(node, sizeof node, h->node);
	cpy(ns, sizeof ns, ev->object.namespace_);
	cpy(pod, sizeof pod, ev->object.pod);
	attr(ev->attrs, ev->nattrs, "k8s.pod.uid", uid, sizeof uid);
	cpy(container, sizeof container, ev->object.container);
	cpy(name, sizeof name, ev->object.name);
	alert_key(key, sizeof key, rule, node, ns, pod, uid, container, name);
	struct alert *a = nro_hmap_get(&r->alerts, key);
	if (ev->state == NRO_EV_RESOLVED) {
		if (a) {
			nro_hmap_del(&r->alerts, key);
			free(a);
		}
		return;
	}
	if (!a) {
		a = calloc(1, sizeof *a);
		if (!a || nro_hmap_put(&r->alerts, key, a) != 0) {
			free(a);
			return;
		}
	}
	a->rule = rule;
	a->state = S_FIRING;
	a->emitted = NRO_EV_FIRING;
	a->since = ev->since_ms;
	a->severity = ev->severity;
	a->okind = ev->object.kind;
	a->has_value = (ev->flags & NRO_EVF_VALUE) != 0;
	a->has_threshold = (ev->flags & NRO_EVF_THRESHOLD) != 0;
	a->value = ev->value;
	a->threshold = ev->threshold;
	snprintf(a->node, sizeof a->node, "%s", node);
	memcpy(a->ns, ns, sizeof a->ns);
	memcpy(a->pod, pod, sizeof a->pod);
	memcpy(a->uid, uid, sizeof a->uid);
	memcpy(a->container, container, sizeof a->container);
	memcpy(a->name, name, sizeof a->name);
	attr(ev->attrs, ev->nattrs, "nro.source", a->source, sizeof a->source);
	cpy(a->message, sizeof a->message, ev->message);
	char flap[8];
	a->flapping = attr(ev->attrs, ev->nattrs, "nro.flapping", flap, sizeof flap);
	if (a->flapping) {
		a->last_change = ev->since_ms;
		/* strip the flapping note so it is not repeated */
		char *note = strstr(a->message, " (flapping:");
		if (note)
			*note = '\0';
	}
}

/* ---- derived metrics ---------------------------------------------------- */

static int alert_firing(struct nro_rules *r, int rule, const char *node)
{
	char key[1024];
	alert_key(key, sizeof key, rule, node, "", "", "", "", node);
	struct alert *a = nro_hmap_get(&r->alerts, key);
	return a && (a->state == S_FIRING || a->state == S_RESOLVING);
}

static void metric(nro_rules_metric_fn fn, void *ctx, const char *node, const char *name,
		   uint8_t type, double v, const char *k1, const char *v1, const char *k2,
		   const char *v2)
{
	struct nro_attr a[3] = {{nro_s("node"), nro_s(node)}};
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
	fn(ctx, node, &m);
}

void nro_rules_derived(struct nro_rules *r, nro_rules_metric_fn fn, void *ctx, int64_t now)
{
	(void)now;
	struct nro_hmap_iter it, it2;
	struct nro_hmap_ent *e, *c;
	nro_hmap_iter_init(&it, &r->nodes);
	while ((e = nro_hmap_next(&it))) {
		struct node *n = e->value;
		static const struct {
			const char *cond;
			int rule, inverted;
		} conds[] = {{"Ready", R_NODE_NOT_READY, 1},
			     {"MemoryPressure", R_MEMORY_PRESSURE, 0},
			     {"DiskPressure", R_DISK_PRESSURE, 0},
			     {"PIDPressure", R_PID_PRESSURE, 0}};
		for (size_t i = 0; i < sizeof conds / sizeof conds[0]; i++) {
			int on = alert_firing(r, conds[i].rule, n->name);
			if (conds[i].inverted)
				on = !on;
			metric(fn, ctx, n->name, "node_runtime_condition", NRO_MT_GAUGE, on,
			       "condition", conds[i].cond, "status", "true");
			metric(fn, ctx, n->name, "node_runtime_condition", NRO_MT_GAUGE, !on,
			       "condition", conds[i].cond, "status", "false");
		}
		if (n->have_cpu) {
			double cores = n->have_cores ? n->cores : (double)sysconf(_SC_NPROCESSORS_ONLN);
			if (cores > 0)
				metric(fn, ctx, n->name, "node_runtime_cpu_usage_percent", NRO_MT_GAUGE,
				       n->cpu_used / cores * 100.0, NULL, NULL, NULL, NULL);
		}
		if (n->have_mem && n->mem_avail + n->mem_ws > 0)
			metric(fn, ctx, n->name, "node_runtime_memory_usage_percent", NRO_MT_GAUGE,
			       n->mem_ws / (n->mem_avail + n->mem_ws) * 100.0, NULL, NULL, NULL, NULL);
		if (n->have_fs && n->fs_cap > 0)
			metric(fn, ctx, n->name, "node_runtime_disk_usage_percent", NRO_MT_GAUGE,
			       (n->fs_cap - n->fs_avail) / n->fs_cap * 100.0, "device", "nodefs", NULL,
			       NULL);
		if (n->have_imagefs && n->img_cap > 0)
			metric(fn, ctx, n->name, "node_runtime_disk_usage_percent", NRO_MT_GAUGE,
			       (n->img_cap - n->img_avail) / n->img_cap * 100.0, "device", "imagefs",
			       NULL, NULL);
		nro_hmap_iter_init(&it2, &r->sources);
		while ((c = nro_hmap_next(&it2))) {
			struct source *s = c->value;
			if (strcmp(s->node, n->name) == 0)
				metric(fn, ctx, n->name, "node_runtime_service_healthy", NRO_MT_GAUGE,
				       s->last_status != NRO_HEALTH_FAILED && s->last_ok, "service",
				       s->name, NULL, NULL);
		}
		nro_hmap_iter_init(&it2, &n->events_total);
		while ((c = nro_hmap_next(&it2)))
			metric(fn, ctx, n->name, "node_runtime_events_total", NRO_MT_COUNTER,
			       *(double *)c->value, "event_type", c->key, NULL, NULL);
		nro_hmap_iter_init(&it2, &n->errors_total);
		while ((c = nro_hmap_next(&it2)))
			metric(fn, ctx, n->name, "node_runtime_errors_total", NRO_MT_COUNTER,
			       *(double *)c->value, "error_type", c->key, NULL, NULL);
	}
}

void nro_rules_sizes(const struct nro_rules *r, size_t *pods, size_t *containers, size_t *alerts)
{
	*pods = r->pods.n;
	*containers = r->ctrs.n;
	*alerts = r->alerts.n;
}
