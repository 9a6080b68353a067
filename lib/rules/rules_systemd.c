/*
 * Service and runtime rules, judged from collector-systemd (one
 * systemd.unit state per watched unit, pushed as it changes) and
 * collector-runtime (the CRI runtime's Status): SystemdServiceFailed and
 * ContainerRuntimeUnhealthy; NodeNetworkIssue (rules_node.c) also reads the
 * runtime's NetworkReady through runtime_network_issue.
 */
#include <stdio.h>
#include <string.h>

#include "rules/internal.h"
#include "wire/names_services.h"

#define SYSTEMD "collector-systemd"
#define RUNTIME "collector-runtime"

/* ---- SystemdServiceFailed: one alert per unit, about the unit ---- */

static int unit_active(const struct hstate *h)
{
	return strcmp(h->value, "active") == 0 || strcmp(h->value, "reloading") == 0;
}

static void unit_judge(void *ctx, struct hstate *h)
{
	struct eval *e = ctx;
	const char *sub = hstate_attr(h, NRO_SYSTEMD_ATTR_SUB_STATE);
	const char *result = hstate_attr(h, NRO_SYSTEMD_ATTR_RESULT);
	const char *status = hstate_attr(h, NRO_SYSTEMD_ATTR_EXIT_STATUS);
	int restarting = h->num > h->prev_num; /* NRestarts rose since the last state */
	struct verdict v = verdict_for(e);
	v.source = SYSTEMD;
	v.about.kind = NRO_OBJ_SERVICE;
	v.about.name = h->object;
	v.breach = !unit_active(h) || restarting;
	v.has_value = 1;
	v.value = h->num;
	if (restarting)
		snprintf(v.message, sizeof v.message,
			 "unit %s is restarting: NRestarts %.0f (up %.0f), now %s/%s%s%s: "
			 "journalctl -u %s",
			 h->object, h->num, h->num - h->prev_num, h->value, sub,
			 result[0] ? ", result " : "", result, h->object);
	else
		snprintf(v.message, sizeof v.message,
			 "unit %s is %s (%s%s%s%s%s, %.0f restarts): journalctl -u %s", h->object,
			 h->value, sub[0] ? sub : "no sub-state", result[0] ? ", result " : "", result,
			 status[0] ? ", exit status " : "", status, h->num, h->object);
	snprintf(v.resolved, sizeof v.resolved, "unit %s is %s/%s again (%.0f restarts)", h->object,
		 h->value, sub, h->num);
	rule_report(e, &v);
}

static void eval_unit(struct eval *e)
{
	hstate_each(e->obj, NRO_SYSTEMD_UNIT, unit_judge, e);
}

/* ---- ContainerRuntimeUnhealthy ---- */

struct runtime_view {
	struct hstate *reachable, *ready, *network;
};

static void runtime_take(void *ctx, struct hstate *h)
{
	struct runtime_view *r = ctx;
	if (strcmp(h->key, NRO_CRI_REACHABLE) == 0)
		r->reachable = h;
	else if (strcmp(h->key, NRO_CRI_RUNTIME_READY) == 0)
		r->ready = h;
	else if (strcmp(h->key, NRO_CRI_NETWORK_READY) == 0)
		r->network = h;
}

static struct runtime_view runtime_view(struct fobj *node)
{
	struct runtime_view r = {NULL, NULL, NULL};
	hstate_each(node, "cri.", runtime_take, &r);
	return r;
}

/* "reason: message" of a CRI condition (either may be empty) */
static void cond_words(const struct hstate *h, char *out, size_t n)
{
	const char *reason = hstate_attr(h, NRO_CRI_ATTR_REASON);
	const char *msg = hstate_attr(h, NRO_CRI_ATTR_MESSAGE);
	snprintf(out, n, "%s%s%s", reason, reason[0] && msg[0] ? ": " : "", msg);
}

static int is_true(const struct hstate *h)
{
	return strcmp(h->value, "true") == 0;
}

static void eval_runtime(struct eval *e)
{
	struct runtime_view r = runtime_view(e->obj);
	if (!r.reachable && !r.ready)
		return;
	const char *endpoint = r.reachable ? hstate_attr(r.reachable, NRO_CRI_ATTR_ENDPOINT) : "";
	struct verdict v = verdict_for(e);
	v.source = RUNTIME;
	if (r.reachable && !is_true(r.reachable)) {
		v.breach = 1;
		snprintf(v.message, sizeof v.message,
			 "node %s: the container runtime at %s does not answer (%s: %s): "
			 "systemctl status containerd (or crio); crictl info",
			 e->obj->name, endpoint, hstate_attr(r.reachable, NRO_CRI_ATTR_ERROR),
			 hstate_attr(r.reachable, NRO_CRI_ATTR_MESSAGE));
	} else if (r.ready && !is_true(r.ready)) {
		char why[300];
		cond_words(r.ready, why, sizeof why);
		v.breach = 1;
		snprintf(v.message, sizeof v.message,
			 "node %s: the container runtime is not ready (RuntimeReady false: %s): "
			 "crictl info; journalctl -u containerd (or crio)",
			 e->obj->name, why);
	}
	snprintf(v.resolved, sizeof v.resolved, "node %s: the container runtime answers and is ready",
		 e->obj->name);
	rule_report(e, &v);
}

void runtime_network_issue(struct eval *e)
{
	struct runtime_view r = runtime_view(e->obj);
	if (!r.network)
		return;
	char why[300];
	cond_words(r.network, why, sizeof why);
	struct verdict v = verdict_for(e);
	v.source = RUNTIME;
	v.sub = "runtime-network";
	v.detail_key = "cause";
	v.breach = !is_true(r.network);
	snprintf(v.message, sizeof v.message,
		 "node %s: the runtime's network is not ready (NetworkReady false: %s): check "
		 "the CNI plugin's pods and /etc/cni/net.d",
		 e->obj->name, why);
	snprintf(v.resolved, sizeof v.resolved, "node %s: the runtime's network is ready",
		 e->obj->name);
	rule_report(e, &v);
}

static const char *const unit_states[] = {NRO_SYSTEMD_UNIT, NULL};
static const char *const runtime_states[] = {NRO_CRI_REACHABLE, NRO_CRI_RUNTIME_READY, NULL};

const struct rule_def rules_systemd[] = {
	{.type = "SystemdServiceFailed", .okind = NRO_OBJ_NODE, .severity = NRO_SEV_WARNING,
	 .for_ms = 30000, .resolve_ms = 60000, .source = SYSTEMD, .states = unit_states,
	 .eval = eval_unit},
	{.type = "ContainerRuntimeUnhealthy", .okind = NRO_OBJ_NODE, .severity = NRO_SEV_CRITICAL,
	 .for_ms = 30000, .resolve_ms = 30000, .source = RUNTIME, .states = runtime_states,
	 .eval = eval_runtime},
	{NULL},
};
