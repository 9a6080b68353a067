/*
 * Alerts rebuilt from the events the analyzer published before a restart
 * (read back from the ring), so what is firing is not announced twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/internal.h"

/* The alert an event is about, made if new; NULL on OOM. */
static struct alert *restored_alert(struct nro_rules *r, const char *key, int rule)
{
	struct alert *a = nro_hmap_get(&r->alerts, key);
	if (a)
		return a;
	a = calloc(1, sizeof *a);
	if (!a || nro_hmap_put(&r->alerts, key, a) != 0) {
		free(a);
		return NULL;
	}
	a->rule = rule;
	return a;
}

static void restore_object(struct alert *a, const struct nro_header *h, const struct nro_event *ev)
{
	if (!attr_get(ev->attrs, ev->nattrs, NRO_A_NODE, a->node, sizeof a->node))
		str_copy(a->node, sizeof a->node, h->node);
	str_copy(a->ns, sizeof a->ns, ev->object.namespace_);
	str_copy(a->pod, sizeof a->pod, ev->object.pod);
	attr_get(ev->attrs, ev->nattrs, NRO_A_POD_UID, a->uid, sizeof a->uid);
	str_copy(a->container, sizeof a->container, ev->object.container);
	str_copy(a->name, sizeof a->name, ev->object.name);
	a->okind = ev->object.kind;
}

/* Which attribute names an alert's sub (the probe type, the operation). */
static void restore_sub(struct alert *a, const struct nro_event *ev)
{
	static const char *const std[] = {NRO_A_NODE, NRO_A_POD_UID, "nro.source", "nro.flapping"};
	for (uint16_t i = 0; i < ev->nattrs; i++) {
		int known = 0;
		for (size_t k = 0; k < sizeof std / sizeof std[0]; k++)
			known |= nro_str_eq(ev->attrs[i].key, std[k]);
		if (known)
			continue;
		str_copy(a->detail_key, sizeof a->detail_key, ev->attrs[i].key);
		str_copy(a->sub, sizeof a->sub, ev->attrs[i].value);
		return;
	}
}

void nro_rules_restore(struct nro_rules *r, const struct nro_header *h, const struct nro_event *ev)
{
	int rule = rules_find(r, ev->type.p, ev->type.len);
	if (rule < 0)
		return;
	struct alert tmp;
	memset(&tmp, 0, sizeof tmp);
	restore_object(&tmp, h, ev);
	restore_sub(&tmp, ev);
	char key[1100];
	alert_key(key, sizeof key, rule, tmp.node, tmp.ns, tmp.pod, tmp.uid, tmp.container, tmp.name,
		  tmp.sub);
	if (ev->state == NRO_EV_RESOLVED) {
		free(nro_hmap_del(&r->alerts, key));
		return;
	}
	struct alert *a = restored_alert(r, key, rule);
	if (!a)
		return;
	*a = tmp;
	a->rule = rule;
	a->state = S_FIRING;
	a->emitted = NRO_EV_FIRING;
	a->since = ev->since_ms;
	a->severity = ev->severity;
	a->has_value = (ev->flags & NRO_EVF_VALUE) != 0;
	a->has_threshold = (ev->flags & NRO_EVF_THRESHOLD) != 0;
	a->value = ev->value;
	a->threshold = ev->threshold;
	attr_get(ev->attrs, ev->nattrs, "nro.source", a->source, sizeof a->source);
	str_copy(a->message, sizeof a->message, ev->message);
	char flap[8];
	a->flapping = attr_get(ev->attrs, ev->nattrs, "nro.flapping", flap, sizeof flap);
	if (a->flapping) {
		a->last_change = ev->since_ms;
		char *note = strstr(a->message, " (flapping:"); /* not to be repeated */
		if (note)
			*note = '\0';
	}
}
