/*
 * collector-pods: polls the kubelet's /pods (the pods bound to this node, as
 * the kubelet sees them) and publishes, per docs/records-vocabulary.md:
 *
 *   states  pod.phase, pod.ready; per container (init containers with
 *           init=true) container.state, container.ready, container.restarts,
 *           container.last_termination
 *   metrics k8s.pod.phase, k8s.container.restarts, k8s.container.ready,
 *           k8s.container.{cpu,memory,ephemeral_storage}_{request,limit}
 *
 * All states of a poll go out before its metrics (one record kind at a time
 * keeps batches large). A pod or container whose names are unusable is
 * skipped and counted; the poll is then degraded, never failed. A body that
 * is not JSON, or not a PodList, fails the poll with a parse error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "run/collector.h"
#include "run/jsoncollect.h"
#include "wire/names.h"
#include "wire/names_host.h"
#include "base/quantity.h"

#define TARGET "/pods"
#define NAME_LEN 256 /* names are at most 253 bytes (DNS subdomain) */
#define REASON_LEN 256
#define MESSAGE_LEN 1024
#define ATTRS_N 12
#define CONTAINER_ID_LEN 160 /* "containerd://" and 64 hex digits */

struct pods {
	struct nro_jsoncollect jc;
};

struct pod {
	int item, spec, status;
	char ns[NAME_LEN], name[NAME_LEN], uid[NAME_LEN], node[NAME_LEN];
};

struct attrs {
	struct nro_attr a[ATTRS_N];
	uint16_t n;
};

static void at(struct attrs *a, const char *k, const char *v)
{
	if (v && *v && a->n < ATTRS_N) {
		a->a[a->n].key = nro_s(k);
		a->a[a->n].value = nro_s(v);
		a->n++;
	}
}

/* The time in key of obj as Unix ms, or 0 when absent or unusable. */
static int64_t time_of(const struct nro_json *j, int obj, const char *key)
{
	int64_t ms;
	int v = nro_json_key(j, obj, key);
	if (v < 0 || nro_json_time_ms(j, v, &ms) != 0 || ms < 0)
		return 0;
	return ms;
}

/* Reads a pod's identity; -1 when it has no usable namespace and name. */
static int pod_read(struct pods *x, int item, struct pod *p)
{
	const struct nro_json *j = &x->jc.json;
	memset(p, 0, sizeof *p);
	p->item = item;
	if (j->tok[item].type != JSMN_OBJECT)
		return -1;
	int meta = nro_json_key(j, item, "metadata");
	p->spec = nro_json_key(j, item, "spec");
	p->status = nro_json_key(j, item, "status");
	if (nro_json_str(j, nro_json_key(j, meta, "name"), p->name, sizeof p->name) <= 0 ||
	    nro_json_str(j, nro_json_key(j, meta, "namespace"), p->ns, sizeof p->ns) <= 0)
		return -1;
	if (nro_json_str(j, nro_json_key(j, meta, "uid"), p->uid, sizeof p->uid) < 0)
		p->uid[0] = '\0';
	/* the pod's node; --node names this node in every record */
	if (x->jc.c->node_from_flag ||
	    nro_json_str(j, nro_json_key(j, p->spec, "nodeName"), p->node, sizeof p->node) <= 0)
		snprintf(p->node, sizeof p->node, "%s", x->jc.c->node);
	return 0;
}

static struct nro_object pod_object(const struct pod *p)
{
	struct nro_object o = {NRO_OBJ_POD, nro_s(p->ns), nro_s(p->name), {"", 0}, {"", 0}};
	return o;
}

static struct nro_object container_object(const struct pod *p, const char *container)
{
	struct nro_object o = {NRO_OBJ_CONTAINER, nro_s(p->ns), nro_s(p->name), nro_s(container),
			       {"", 0}};
	return o;
}

static void state(struct nro_collector *c, struct nro_object o, const char *key,
		  const char *value, double num, int64_t since, const struct attrs *a)
{
	struct nro_state s = {o, nro_s(key), nro_s(value), num, since, a->n,
			      (struct nro_attr *)a->a};
	nro_emit_state(c, &s);
}

static double phase_num(const char *phase)
{
	static const char *const phases[] = {"Pending", "Running", "Succeeded", "Failed"};
	for (int i = 0; i < 4; i++)
		if (strcmp(phase, phases[i]) == 0)
			return i + 1;
	return 5; /* Unknown, or a phase this program does not know */
}

/* ---- states --------------------------------------------------------------- */

static void pod_states(struct pods *x, const struct pod *p)
{
	struct nro_collector *c = x->jc.c;
	const struct nro_json *j = &x->jc.json;
	char phase[64], reason[REASON_LEN], message[MESSAGE_LEN], qos[64];
	if (nro_jc_key_str(&x->jc, p->status, "phase", phase, sizeof phase) <= 0)
		snprintf(phase, sizeof phase, "Unknown");
	nro_jc_key_str(&x->jc, p->status, "reason", reason, sizeof reason);
	nro_jc_key_str(&x->jc, p->status, "message", message, sizeof message);
	nro_jc_key_str(&x->jc, p->status, "qosClass", qos, sizeof qos);
	struct attrs a = {.n = 0};
	at(&a, "k8s.pod.uid", p->uid);
	at(&a, "k8s.node.name", p->node);
	at(&a, "qos", qos);
	at(&a, "reason", reason);
	at(&a, "message", message);
	state(c, pod_object(p), NRO_K_POD_PHASE, phase, phase_num(phase),
	      time_of(j, p->status, "startTime"), &a);

	/* the Ready condition; a pod without one (not yet scheduled or
	 * initialized) is Unknown */
	int conds = nro_json_key(j, p->status, "conditions");
	const char *ready = "Unknown";
	char status[16] = "";
	int64_t since = 0;
	reason[0] = '\0';
	if (conds >= 0 && j->tok[conds].type == JSMN_ARRAY)
		for (int k = nro_json_first(j, conds); k >= 0; k = nro_json_next(j, conds, k)) {
			if (!nro_json_eq(j, nro_json_key(j, k, "type"), "Ready"))
				continue;
			nro_jc_key_str(&x->jc, k, "status", status, sizeof status);
			if (strcmp(status, "True") == 0 || strcmp(status, "False") == 0)
				ready = status;
			nro_jc_key_str(&x->jc, k, "reason", reason, sizeof reason);
			since = time_of(j, k, "lastTransitionTime");
			break;
		}
	a.n = 0;
	at(&a, "k8s.pod.uid", p->uid);
	at(&a, "reason", reason);
	state(c, pod_object(p), NRO_K_POD_READY, ready, strcmp(ready, "True") == 0, since, &a);
}

/* One container status (of containerStatuses or initContainerStatuses). */
static void container_states(struct pods *x, const struct pod *p, int cs, int init)
{
	struct nro_collector *c = x->jc.c;
	const struct nro_json *j = &x->jc.json;
	char name[NAME_LEN], reason[REASON_LEN], message[MESSAGE_LEN];
	if (nro_json_str(j, nro_json_key(j, cs, "name"), name, sizeof name) <= 0) {
		nro_jsoncollect_skip(&x->jc, "pod %s/%s: a container status without a usable name", p->ns, p->name);
		return;
	}
	struct nro_object o = container_object(p, name);
	struct attrs a = {.n = 0};

	/* current state: exactly one of running, waiting, terminated */
	int st = nro_json_key(j, cs, "state");
	if (st >= 0 && j->tok[st].type == JSMN_OBJECT) {
		for (int k = nro_json_first(j, st); k >= 0; k = nro_json_next(j, st, k)) {
			int v = k + 1;
			const char *what = nro_json_eq(j, k, "running")      ? "running"
					   : nro_json_eq(j, k, "waiting")    ? "waiting"
					   : nro_json_eq(j, k, "terminated") ? "terminated"
									     : NULL;
			if (!what || j->tok[v].type != JSMN_OBJECT)
				continue;
			double num = 0;
			int64_t since = 0;
			int64_t code;
			if (what[0] == 'r') {
				since = time_of(j, v, "startedAt");
			} else if (what[0] == 't') {
				since = time_of(j, v, "finishedAt");
				if (nro_json_i64(j, nro_json_key(j, v, "exitCode"), &code) == 0)
					num = (double)code;
			}
			nro_jc_key_str(&x->jc, v, "reason", reason, sizeof reason);
			nro_jc_key_str(&x->jc, v, "message", message, sizeof message);
			a.n = 0;
			at(&a, "k8s.pod.uid", p->uid);
			at(&a, "reason", reason);
			at(&a, "message", message);
			at(&a, "init", init ? "true" : NULL);
			state(c, o, NRO_K_CTR_STATE, what, num, since, &a);
			break;
		}
	}

	/* the runtime's ID ("containerd://<id>"): how a kernel OOM kill's
	 * memory cgroup names the container */
	char id[CONTAINER_ID_LEN];
	nro_jc_key_str(&x->jc, cs, "containerID", id, sizeof id);
	a.n = 0;
	at(&a, "k8s.pod.uid", p->uid);
	at(&a, "init", init ? "true" : NULL);
	at(&a, NRO_HA_CONTAINER_ID, id);
	int ready;
	if (nro_json_bool(j, nro_json_key(j, cs, "ready"), &ready) == 0)
		state(c, o, NRO_K_CTR_READY, ready ? "true" : "false", ready, 0, &a);
	int64_t restarts;
	if (nro_json_i64(j, nro_json_key(j, cs, "restartCount"), &restarts) == 0 && restarts >= 0)
		state(c, o, NRO_K_CTR_RESTARTS, "", (double)restarts, 0, &a);

	int last = nro_json_path(j, cs, "lastState.terminated");
	if (last >= 0 && j->tok[last].type == JSMN_OBJECT) {
		int64_t code = 0;
		nro_json_i64(j, nro_json_key(j, last, "exitCode"), &code);
		nro_jc_key_str(&x->jc, last, "reason", reason, sizeof reason);
		nro_jc_key_str(&x->jc, last, "message", message, sizeof message);
		at(&a, "message", message);
		state(c, o, NRO_K_CTR_LAST_TERM, reason, (double)code,
		      time_of(j, last, "finishedAt"), &a);
	}
}

static void each_status(struct pods *x, const struct pod *p, const char *key, int init)
{
	const struct nro_json *j = &x->jc.json;
	int arr = nro_json_key(j, p->status, key);
	if (arr < 0 || j->tok[arr].type != JSMN_ARRAY)
		return;
	for (int k = nro_json_first(j, arr); k >= 0; k = nro_json_next(j, arr, k)) {
		if (j->tok[k].type != JSMN_OBJECT) {
			nro_jsoncollect_skip(&x->jc, "pod %s/%s: a %s entry that is not an object", p->ns, p->name, key);
			continue;
		}
		container_states(x, p, k, init);
	}
}

/* ---- metrics -------------------------------------------------------------- */

static void metric(struct nro_collector *c, const char *name, const char *unit, double v,
		   const struct attrs *a)
{
	struct nro_metric m = {nro_s(name), nro_s(unit), NRO_MT_GAUGE, v, 0, a->n,
			       (struct nro_attr *)a->a};
	nro_emit_metric(c, &m);
}

static void pod_attrs(struct attrs *a, const struct pod *p)
{
	a->n = 0;
	at(a, "k8s.namespace.name", p->ns);
	at(a, "k8s.pod.name", p->name);
	at(a, "k8s.pod.uid", p->uid);
	at(a, "k8s.node.name", p->node);
}

/* requests or limits (obj) of one container: cpu, memory, ephemeral-storage. */
static void resources(struct pods *x, const struct pod *p, const char *container, int obj,
		      const char *what, const struct attrs *a)
{
	static const struct {
		const char *key, *metric, *unit;
	} res[] = {
		{"cpu", "k8s.container.cpu_", "{cores}"},
		{"memory", "k8s.container.memory_", "By"},
		{"ephemeral-storage", "k8s.container.ephemeral_storage_", "By"},
	};
	const struct nro_json *j = &x->jc.json;
	if (obj < 0 || j->tok[obj].type != JSMN_OBJECT)
		return;
	for (int k = nro_json_first(j, obj); k >= 0; k = nro_json_next(j, obj, k))
		for (size_t r = 0; r < sizeof res / sizeof res[0]; r++) {
			if (!nro_json_eq(j, k, res[r].key))
				continue;
			char q[64];
			double v;
			int n = nro_json_str(j, k + 1, q, sizeof q);
			if (n <= 0 || nro_quantity_parse(q, (size_t)n, &v) != 0) {
				nro_jsoncollect_skip(&x->jc, "pod %s/%s container %s: %s.%s is not a quantity", p->ns,
					p->name, container, what, res[r].key);
				break;
			}
			char name[64];
			snprintf(name, sizeof name, "%s%s", res[r].metric, what);
			metric(x->jc.c, name, res[r].unit, v, a);
			break;
		}
}

static void spec_resources(struct pods *x, const struct pod *p, const char *key, int init)
{
	const struct nro_json *j = &x->jc.json;
	int arr = nro_json_key(j, p->spec, key);
	if (arr < 0 || j->tok[arr].type != JSMN_ARRAY)
		return;
	for (int k = nro_json_first(j, arr); k >= 0; k = nro_json_next(j, arr, k)) {
		char name[NAME_LEN];
		if (nro_json_str(j, nro_json_key(j, k, "name"), name, sizeof name) <= 0)
			continue; /* counted with the container's status, if any */
		int r = nro_json_key(j, k, "resources");
		if (r < 0)
			continue;
		struct attrs a;
		pod_attrs(&a, p);
		at(&a, "k8s.container.name", name);
		at(&a, "init", init ? "true" : NULL);
		resources(x, p, name, nro_json_key(j, r, "requests"), "request", &a);
		resources(x, p, name, nro_json_key(j, r, "limits"), "limit", &a);
	}
}

static void status_metrics(struct pods *x, const struct pod *p, const char *key, int init)
{
	const struct nro_json *j = &x->jc.json;
	int arr = nro_json_key(j, p->status, key);
	if (arr < 0 || j->tok[arr].type != JSMN_ARRAY)
		return;
	for (int k = nro_json_first(j, arr); k >= 0; k = nro_json_next(j, arr, k)) {
		char name[NAME_LEN];
		if (nro_json_str(j, nro_json_key(j, k, "name"), name, sizeof name) <= 0)
			continue;
		struct attrs a;
		pod_attrs(&a, p);
		at(&a, "k8s.container.name", name);
		at(&a, "init", init ? "true" : NULL);
		int64_t restarts;
		int ready;
		if (nro_json_i64(j, nro_json_key(j, k, "restartCount"), &restarts) == 0 && restarts >= 0)
			metric(x->jc.c, "k8s.container.restarts", "{restart}", (double)restarts, &a);
		if (nro_json_bool(j, nro_json_key(j, k, "ready"), &ready) == 0)
			metric(x->jc.c, "k8s.container.ready", "1", ready, &a);
	}
}

static void pod_metrics(struct pods *x, const struct pod *p)
{
	char phase[64];
	if (nro_jc_key_str(&x->jc, p->status, "phase", phase, sizeof phase) <= 0)
		snprintf(phase, sizeof phase, "Unknown");
	struct attrs a;
	pod_attrs(&a, p);
	metric(x->jc.c, "k8s.pod.phase", "", phase_num(phase), &a);
	status_metrics(x, p, "initContainerStatuses", 1);
	status_metrics(x, p, "containerStatuses", 0);
	spec_resources(x, p, "initContainers", 1);
	spec_resources(x, p, "containers", 0);
}

/* ---- poll ----------------------------------------------------------------- */

static int poll(struct nro_collector *c, void *ctx, struct nro_fetch *res)
{
	struct pods *x = ctx;
	if (nro_jsoncollect_fetch(&x->jc, res) != 0)
		return -1;
	const struct nro_json *j = &x->jc.json;
	if (j->tok[0].type != JSMN_OBJECT)
		return nro_jsoncollect_refuse(res, TARGET, "not a PodList: the body is not a JSON object");
	int items = nro_json_key(j, 0, "items");
	if (items < 0) {
		if (!nro_json_eq(j, nro_json_key(j, 0, "kind"), "PodList"))
			return nro_jsoncollect_refuse(res, TARGET, "not a PodList: no \"items\"");
	} else if (nro_json_is_null(j, items)) {
		items = -1; /* a kubelet with no pods may say "items": null */
	} else if (j->tok[items].type != JSMN_ARRAY) {
		return nro_jsoncollect_refuse(res, TARGET, "not a PodList: \"items\" is not an array");
	}

	/* the node name, from the first pod bound to a node */
	if (items >= 0)
		for (int k = nro_json_first(j, items); k >= 0; k = nro_json_next(j, items, k)) {
			int n = nro_json_path(j, k, "spec.nodeName");
			char node[NAME_LEN];
			int len = nro_json_str(j, n, node, sizeof node);
			if (len > 0) {
				nro_collector_set_node(c, node, (size_t)len);
				break;
			}
		}

	struct pod p;
	/* every state first, then every metric: one record kind at a time */
	if (items >= 0)
		for (int k = nro_json_first(j, items); k >= 0; k = nro_json_next(j, items, k)) {
			if (pod_read(x, k, &p) != 0) {
				nro_jsoncollect_skip(&x->jc, "a pod without a usable metadata.namespace and name");
				continue;
			}
			pod_states(x, &p);
			each_status(x, &p, "initContainerStatuses", 1);
			each_status(x, &p, "containerStatuses", 0);
		}
	if (items >= 0)
		for (int k = nro_json_first(j, items); k >= 0; k = nro_json_next(j, items, k))
			if (pod_read(x, k, &p) == 0)
				pod_metrics(x, &p);

	nro_jsoncollect_report(&x->jc);
	return 0;
}

int main(int argc, char **argv)
{
	struct nro_collector c;
	struct pods x;
	memset(&x, 0, sizeof x);
	const struct nro_optdef opts[] = {
		NRO_JSONCOLLECT_OPTS(&c),
		{NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
	};
	nro_collector_init(&c, "collector-pods",
			   "Poll the kubelet's /pods and publish pod phase and readiness, container\n"
			   "states (waiting/terminated reasons, exit codes), restarts, the last\n"
			   "termination, and requests/limits (docs/records-vocabulary.md).\n"
			   "The node name comes from spec.nodeName unless --node is given.",
			   TARGET, 15000, opts, argc, argv);
	nro_jsoncollect_init(&x.jc, &c, TARGET);
	c.learns_node = 1; /* the others wait for the name it learns */
	int r = nro_collector_run(&c, poll, &x);
	nro_jsoncollect_free(&x.jc);
	return r;
}
