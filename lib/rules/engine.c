/*
 * The engine: one alert per (rule, object, sub), driven by the table
 *
 *     inactive -> pending -> firing -> resolving -> inactive
 *
 * with `for` before firing, `resolve_after` before resolving, and flapping
 * held rather than echoed. Time is passed in; nothing here reads a clock.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/internal.h"

int rules_find(const struct nro_rules *r, const char *type, size_t len)
{
	for (int i = 0; i < r->nrules; i++)
		if (strlen(r->defs[i]->type) == len && strncmp(type, r->defs[i]->type, len) == 0)
			return i;
	return -1;
}

/* Two pods may share a namespace and name for a while (a replacement
 * starting before the old one is gone): the pod UID tells them apart. */
void alert_key(char *key, size_t n, int rule, const char *node, const char *ns, const char *pod,
	       const char *uid, const char *container, const char *name, const char *sub)
{
	snprintf(key, n, "%d|%s|%s|%s|%s|%s|%s|%s", rule, node, ns, pod, uid, container, name, sub);
}

/* ---- telling subscribers ---- */

/* What subscribers are told about a in state ev_state: ev points into
 * attrs (5) and msg, which the caller keeps while ev is used. */
struct told {
	struct nro_event ev;
	struct nro_attr attrs[5];
	char msg[512];
};

static void event_of(const struct nro_rules *r, const struct alert *a, int ev_state, int64_t now,
		     const char *why, struct told *t)
{
	uint16_t na = 0;
	t->attrs[na].key = nro_s(NRO_A_NODE);
	t->attrs[na++].value = nro_s(a->node);
	if (a->uid[0]) {
		t->attrs[na].key = nro_s(NRO_A_POD_UID);
		t->attrs[na++].value = nro_s(a->uid);
	}
	if (a->source[0]) {
		t->attrs[na].key = nro_s("nro.source");
		t->attrs[na++].value = nro_s(a->source);
	}
	if (a->flapping) {
		t->attrs[na].key = nro_s("nro.flapping");
		t->attrs[na++].value = nro_s("true");
	}
	if (a->detail_key[0] && a->sub[0]) {
		t->attrs[na].key = nro_s(a->detail_key);
		t->attrs[na++].value = nro_s(a->sub);
	}
	const char *text = a->message;
	if (ev_state == NRO_EV_RESOLVED && a->resolved[0])
		text = a->resolved;
	snprintf(t->msg, sizeof t->msg, "%s%s%s", text,
		 ev_state == NRO_EV_RESOLVED && !a->resolved[0] && !why ? " (cleared)" : "",
		 why ? why : "");
	t->ev = (struct nro_event){
		nro_s(r->defs[a->rule]->type),
		(uint8_t)a->severity,
		(uint8_t)ev_state,
		(uint8_t)((a->has_value ? NRO_EVF_VALUE : 0) | (a->has_threshold ? NRO_EVF_THRESHOLD : 0)),
		{a->okind, nro_s(a->ns), nro_s(a->pod), nro_s(a->container), nro_s(a->name)},
		a->has_value && isfinite(a->value) ? a->value : 0,
		a->has_threshold && isfinite(a->threshold) ? a->threshold : 0,
		a->since, /* when the incident began, resolved too: "(lasted 1m45s)" */
		nro_s(t->msg),
		na,
		t->attrs,
	};
	if (t->ev.since_ms <= 0)
		t->ev.since_ms = now;
}

static void emit(struct nro_rules *r, struct alert *a, int ev_state, int64_t now, const char *why)
{
	struct told t;
	if (r->muted) {
		a->emitted = ev_state;
		return;
	}
	event_of(r, a, ev_state, now, why, &t);
	a->emitted = ev_state;
	if (ev_state == NRO_EV_FIRING) {
		struct fobj *n = facts_node(&r->fs, a->node);
		double *c = n ? counter_of(&n->u.node.events_total, r->defs[a->rule]->type) : NULL;
		if (c)
			(*c)++;
	}
	r->on_event(r->ctx, a->node, &t.ev);
}

size_t nro_rules_firing(const struct nro_rules *r, nro_rules_event_fn fn, void *ctx, int64_t now)
{
	struct nro_hmap_iter it;
	struct nro_hmap_ent *e;
	size_t n = 0;
	nro_hmap_iter_init(&it, &r->alerts);
	while ((e = nro_hmap_next(&it))) {
		const struct alert *a = e->value;
		if (a->emitted != NRO_EV_FIRING)
			continue;
		struct told t;
		event_of(r, a, NRO_EV_FIRING, now, NULL, &t);
		t.ev.flags |= NRO_EVF_ACTIVE;
		fn(ctx, a->node, &t.ev);
		n++;
	}
	return n;
}

/* Records a state change for flapping detection; returns 1 when the change
 * may be announced, 0 when the alert is (now) flapping and it is held. */
static int announce(struct nro_rules *r, struct alert *a, int64_t now)
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
	if (a->nchanges < r->flap_changes)
		return 1;
	a->flapping = 1;
	char why[160];
	snprintf(why, sizeof why,
		 " (flapping: %d state changes within %llds; held firing until it settles)",
		 a->nchanges, (long long)(r->flap_window_ms / 1000));
	emit(r, a, NRO_EV_FIRING, now, why);
	return 0;
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

/* ---- the state machine ---- */

enum alert_input { IN_BREACH, IN_CLEAR, IN_TICK, IN_COUNT };
typedef void (*action_fn)(struct nro_rules *r, struct alert *a, int64_t now);

static void act_none(struct nro_rules *r, struct alert *a, int64_t now)
{
	(void)r, (void)a, (void)now;
}

static void act_check_fire(struct nro_rules *r, struct alert *a, int64_t now)
{
	if (now - a->since < r->params[a->rule].for_ms)
		return;
	a->state = S_FIRING;
	if (announce(r, a, now))
		emit(r, a, NRO_EV_FIRING, now, NULL);
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
	if (now - a->clear_since < r->params[a->rule].resolve_ms)
		return;
	a->state = S_INACTIVE;
	if (announce(r, a, now))
		emit(r, a, NRO_EV_RESOLVED, now, NULL);
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

/* An inactive alert that is not settling from flapping is forgotten. */
static int alert_idle(const struct nro_rules *r, const struct alert *a, int64_t now)
{
	return a->state == S_INACTIVE && !a->flapping &&
	       (a->nchanges == 0 || now - a->last_change >= r->flap_window_ms);
}

/* ---- verdicts ---- */

static const char *first_fact_source(const struct fobj *o)
{
	struct nro_hmap_iter it;
	struct nro_hmap_ent *e;
	nro_hmap_iter_init(&it, &o->facts);
	while ((e = nro_hmap_next(&it))) {
		const struct fact *f = e->value;
		if (f->src)
			return f->src->name;
	}
	return NULL;
}

struct verdict verdict_for(const struct eval *e)
{
	struct verdict v;
	memset(&v, 0, sizeof v);
	v.severity = e->p->severity;
	v.source = e->def->source;
	if (e->obj && e->obj->state_src)
		v.source = e->obj->state_src->name;
	else if (e->obj && e->obj->kind != NRO_OBJ_NODE && first_fact_source(e->obj))
		v.source = first_fact_source(e->obj);
	return v;
}

struct verdict verdict_percent(const struct eval *e, const char *source, double pct)
{
	struct verdict v = verdict_for(e);
	if (source)
		v.source = source;
	v.breach = pct > e->p->threshold;
	v.has_value = v.has_threshold = 1;
	v.value = tenth(pct);
	v.threshold = e->p->threshold;
	return v;
}

struct verdict verdict_increase(const struct eval *e, const struct fact *f, const char *sub,
				const char *detail_key, double *added)
{
	struct verdict v = verdict_for(e);
	v.source = f->src ? f->src->name : e->def->source;
	v.sub = sub;
	v.detail_key = detail_key;
	v.unknown = !fact_last_increase(f, added);
	v.breach = *added > e->p->threshold;
	v.has_value = v.has_threshold = 1;
	v.value = *added;
	v.threshold = e->p->threshold;
	return v;
}

double tenth(double v)
{
	return round(v * 10) / 10;
}

void ctr_words(const struct fobj *o, char *out, size_t n)
{
	snprintf(out, n, "container %s in pod %s/%s", o->container, o->ns, o->pod);
}

static void about_copy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

static struct alert *alert_new(struct nro_rules *r, const struct eval *e, const char *key,
			       const struct verdict *v)
{
	if (r->alerts.n >= ALERTS_MAX) {
		r->dropped_alerts++;
		return NULL;
	}
	struct alert *a = calloc(1, sizeof *a);
	if (!a || nro_hmap_put(&r->alerts, key, a) != 0) {
		free(a);
		return NULL;
	}
	a->rule = e->rule;
	a->emitted = -1;
	const struct fobj *o = e->obj;
	a->okind = o ? o->kind : NRO_OBJ_SERVICE;
	snprintf(a->node, sizeof a->node, "%s", o ? o->node : e->src->node);
	if (v->about.kind) {
		a->okind = v->about.kind;
		about_copy(a->ns, sizeof a->ns, v->about.ns);
		about_copy(a->pod, sizeof a->pod, v->about.pod);
		about_copy(a->uid, sizeof a->uid, v->about.uid);
		about_copy(a->container, sizeof a->container, v->about.container);
		about_copy(a->name, sizeof a->name, v->about.name);
	} else if (o) {
		memcpy(a->ns, o->ns, sizeof a->ns);
		memcpy(a->pod, o->pod, sizeof a->pod);
		memcpy(a->uid, o->uid, sizeof a->uid);
		memcpy(a->container, o->container, sizeof a->container);
		memcpy(a->name, o->name, sizeof a->name);
	} else {
		snprintf(a->name, sizeof a->name, "%s", e->src->name);
	}
	snprintf(a->sub, sizeof a->sub, "%s", v->sub ? v->sub : "");
	snprintf(a->detail_key, sizeof a->detail_key, "%s", v->detail_key ? v->detail_key : "");
	return a;
}

/* The alert's numbers and words follow what it observes; a clear keeps the
 * severity and message of the breach it ends and states the current value. */
static void alert_update(struct alert *a, const struct verdict *v)
{
	int breaching = v->breach || a->state == S_INACTIVE || a->state == S_PENDING;
	if (breaching) {
		a->severity = v->severity;
		a->has_threshold = v->has_threshold;
		a->threshold = v->threshold;
		snprintf(a->message, sizeof a->message, "%s", v->message);
	}
	a->has_value = v->has_value;
	a->value = v->value;
	snprintf(a->resolved, sizeof a->resolved, "%s", v->resolved);
}

void rule_report(struct eval *e, struct verdict *v)
{
	struct nro_rules *r = e->r;
	const struct fobj *o = e->obj;
	char key[1100];
	const char *sub = v->sub ? v->sub : "";
	if (v->about.kind) /* as restore.c builds it from the event */
		alert_key(key, sizeof key, e->rule, o ? o->node : e->src->node,
			  v->about.ns ? v->about.ns : "", v->about.pod ? v->about.pod : "",
			  v->about.uid ? v->about.uid : "",
			  v->about.container ? v->about.container : "",
			  v->about.name ? v->about.name : "", sub);
	else if (o)
		alert_key(key, sizeof key, e->rule, o->node, o->ns, o->pod, o->uid, o->container,
			  o->name, sub);
	else
		alert_key(key, sizeof key, e->rule, e->src->node, "", "", "", "", e->src->name, "");
	struct alert *a = nro_hmap_get(&r->alerts, key);
	if (a && v->unknown) {
		a->gen = r->eval_gen; /* still there, not judged */
		return;
	}
	if (!a && (!v->breach || v->unknown))
		return;
	if (!a && !(a = alert_new(r, e, key, v)))
		return;
	a->gen = r->eval_gen;
	snprintf(a->source, sizeof a->source, "%s", v->source ? v->source : "");
	alert_update(a, v);
	actions[a->state][v->breach ? IN_BREACH : IN_CLEAR](r, a, e->now);
	settle_flapping(r, a, e->now);
	if (a->state == S_INACTIVE && !a->flapping && a->nchanges == 0) {
		nro_hmap_del(&r->alerts, key);
		free(a);
	}
}

/* ---- evaluation ---- */

static void eval_rule(struct nro_rules *r, int i, int64_t now)
{
	const struct rule_def *d = r->defs[i];
	struct eval e = {r, i, d, &r->params[i], NULL, NULL, now};
	struct nro_hmap_iter it;
	struct nro_hmap_ent *ent;
	if (!r->params[i].enabled || !d->eval)
		return;
	if (d->okind == NRO_OBJ_SERVICE) {
		nro_hmap_iter_init(&it, &r->fs.sources);
		while ((ent = nro_hmap_next(&it))) {
			e.src = ent->value;
			d->eval(&e);
		}
		return;
	}
	for (int k = 0; k < 2; k++) {
		uint8_t kind = k ? d->okind2 : d->okind;
		if (!kind || kind >= OBJ_KINDS)
			continue;
		nro_hmap_iter_init(&it, &r->fs.objs[kind]);
		while ((ent = nro_hmap_next(&it))) {
			e.obj = ent->value;
			d->eval(&e);
		}
	}
}

static void object_words(const struct alert *a, char *out, size_t n)
{
	switch (a->okind) {
	case NRO_OBJ_CONTAINER:
		snprintf(out, n, "container %s in pod %s/%s", a->container, a->ns, a->pod);
		break;
	case NRO_OBJ_POD:
		snprintf(out, n, "pod %s/%s", a->ns, a->pod);
		break;
	case NRO_OBJ_VOLUME:
		snprintf(out, n, "volume %s of pod %s/%s", a->name, a->ns, a->pod);
		break;
	default:
		snprintf(out, n, "%s", a->name);
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
		struct source *s = nro_hmap_get(&r->fs.sources, a->source);
		if (!s || s->snapshots == 0)
			continue;
		if (a->emitted == NRO_EV_FIRING) {
			char what[400];
			object_words(a, what, sizeof what);
			snprintf(a->resolved, sizeof a->resolved, "%s is no longer reported by %s",
				 what, a->source);
			a->has_value = 0;
			emit(r, a, NRO_EV_RESOLVED, now, " (gone)");
		}
		nro_hmap_del(&r->alerts, e->key);
		free(a);
	}
}

void nro_rules_evaluate(struct nro_rules *r, int64_t now)
{
	r->eval_gen++;
	for (int i = 0; i < r->nrules; i++)
		eval_rule(r, i, now);
	sweep_alerts(r, now);
}

void nro_rules_tick(struct nro_rules *r, int64_t now)
{
	struct nro_hmap_iter it;
	struct nro_hmap_ent *e;
	facts_sweep_silent(&r->fs, now);
	for (int i = 0; i < r->nrules; i++) /* CollectorDown is a matter of time passing */
		if (r->defs[i]->okind == NRO_OBJ_SERVICE)
			eval_rule(r, i, now);
	nro_hmap_iter_init(&it, &r->alerts);
	while ((e = nro_hmap_next(&it))) {
		struct alert *a = e->value;
		actions[a->state][IN_TICK](r, a, now);
		settle_flapping(r, a, now);
		if (alert_idle(r, a, now)) {
			nro_hmap_del(&r->alerts, e->key);
			free(a);
		}
	}
}

/* ---- life cycle ---- */

struct nro_rules *nro_rules_new(nro_rules_event_fn on_event, void *ctx)
{
	struct nro_rules *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->nrules = (int)catalog_list(r->defs, RULES_MAX);
	facts_init(&r->fs);
	for (int i = 0; i < r->nrules; i++) {
		const struct rule_def *d = r->defs[i];
		r->params[i] = (struct rule_params){d->for_ms, d->resolve_ms, d->threshold,
						    d->critical, d->severity, 1, 0};
		for (const struct series_def *s = d->series; s && s->name; s++)
			facts_declare(&r->fs, s);
	}
	r->on_event = on_event;
	r->ctx = ctx;
	r->flap_window_ms = 600000;
	r->flap_changes = 6;
	nro_hmap_init(&r->alerts);
	return r;
}

void nro_rules_free(struct nro_rules *r)
{
	if (!r)
		return;
	facts_free(&r->fs);
	free_values(&r->alerts);
	free(r);
}

void nro_rules_feed(struct nro_rules *r, struct nro_msg *m, int64_t now)
{
	if (nro_str_eq(m->hdr.source, "analyzer"))
		return; /* our own output fed back: nothing to learn */
	facts_take(r, m, now);
	/* a pushed change (a unit that failed) is judged now, not at the next poll */
	if (m->hdr.kind == NRO_KIND_HEALTH || r->fs.pushed)
		nro_rules_evaluate(r, now);
	r->fs.pushed = 0;
}

void nro_rules_prime(struct nro_rules *r, struct nro_msg *m, int64_t now)
{
	/* errors are only counted (node_runtime_errors_total): not again */
	if (nro_str_eq(m->hdr.source, "analyzer") || m->hdr.kind == NRO_KIND_EVENT ||
	    m->hdr.kind == NRO_KIND_ERROR)
		return;
	int64_t at = m->hdr.ts_ms > 0 && m->hdr.ts_ms < now ? m->hdr.ts_ms : now;
	facts_take(r, m, at);
	r->fs.pushed = 0;
}

/* The previous run's records end where it died: the time until now is the
 * analyzer's own absence, not its collectors'. Every primed source's clock
 * moves on by it, so a collector is judged quiet (CollectorDown) for the
 * time it was quiet while someone listened, not for the restart. */
static void shift_sources(struct nro_rules *r, int64_t now)
{
	struct nro_hmap_iter it;
	struct nro_hmap_ent *e;
	int64_t newest = 0;
	nro_hmap_iter_init(&it, &r->fs.sources);
	while ((e = nro_hmap_next(&it))) {
		const struct source *src = e->value;
		if (src->last_heard > newest)
			newest = src->last_heard;
	}
	int64_t gap = newest > 0 && newest < now ? now - newest : 0;
	nro_hmap_iter_init(&it, &r->fs.sources);
	while (gap && (e = nro_hmap_next(&it))) {
		struct source *src = e->value;
		src->first_seen += gap;
		src->last_heard += gap;
		if (src->last_ok)
			src->last_ok += gap;
	}
}

void nro_rules_primed(struct nro_rules *r, int64_t now)
{
	shift_sources(r, now);
	r->muted = 1;
	nro_rules_evaluate(r, now);
	r->muted = 0;
	free_values(&r->alerts);
	nro_hmap_init(&r->alerts);
}

void nro_rules_count_error(struct nro_rules *r, const char *node, const char *error_type)
{
	struct fobj *n = facts_node(&r->fs, node);
	double *c = n ? counter_of(&n->u.node.errors_total, error_type) : NULL;
	if (c)
		(*c)++;
}

void nro_rules_sizes(const struct nro_rules *r, size_t *pods, size_t *containers, size_t *alerts)
{
	*pods = r->fs.objs[NRO_OBJ_POD].n;
	*containers = r->fs.objs[NRO_OBJ_CONTAINER].n;
	*alerts = r->alerts.n;
}
