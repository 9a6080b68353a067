/*
 * The fact store: what the collectors said, per object, for exactly the
 * states and series the rules declare. Bounded (a cap per object kind,
 * drops counted) and forgetful: a source's complete snapshot (its ok health
 * record) drops the objects and series of that source it did not repeat.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/internal.h"
#include "wire/names_apiserver.h"
#include "wire/names_host.h"

const char *const eviction_signals[EV_COUNT] = {"memory.available",  "nodefs.available",
					       "nodefs.inodesFree", "imagefs.available",
					       "imagefs.inodesFree", "pid.available"};

/* Objects per kind: one node per analyzer in practice; pods and containers
 * of the busiest nodes many times over. */
static const size_t obj_cap[OBJ_KINDS] = {0, 64, 100000, 200000, 100000};

/* ---- small helpers ---- */

void str_copy(char *dst, size_t n, struct nro_str s)
{
	size_t l = s.len < n - 1 ? s.len : n - 1;
	if (l)
		memcpy(dst, s.p, l);
	dst[l] = '\0';
}

int attr_get(const struct nro_attr *a, uint16_t n, const char *key, char *out, size_t outlen)
{
	for (uint16_t i = 0; i < n; i++)
		if (nro_str_eq(a[i].key, key)) {
			str_copy(out, outlen, a[i].value);
			return 1;
		}
	out[0] = '\0';
	return 0;
}

double *counter_of(struct nro_hmap *m, const char *name)
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

void free_values(struct nro_hmap *m)
{
	struct nro_hmap_iter it;
	struct nro_hmap_ent *e;
	nro_hmap_iter_init(&it, m);
	while ((e = nro_hmap_next(&it)))
		free(e->value);
	nro_hmap_free(m);
}

void fmt_bytes(char *out, size_t n, double b)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	int u = 0;
	double v = b;
	while (fabs(v) >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0 || fabs(v) >= 100)
		snprintf(out, n, "%.0f %s", v, unit[u]);
	else
		snprintf(out, n, "%.1f %s", v, unit[u]);
}

void fmt_secs(char *out, size_t n, double s)
{
	long long t = (long long)(s < 0 ? 0 : s);
	if (t >= 86400)
		snprintf(out, n, "%lldd %lldh", t / 86400, t % 86400 / 3600);
	else if (t >= 3600)
		snprintf(out, n, "%lldh %lldm", t / 3600, t % 3600 / 60);
	else if (t >= 60)
		snprintf(out, n, "%lldm %llds", t / 60, t % 60);
	else
		snprintf(out, n, "%llds", t);
}

/* ---- the store ---- */

void facts_init(struct fact_store *fs)
{
	memset(fs, 0, sizeof *fs);
	for (int k = 0; k < OBJ_KINDS; k++)
		nro_hmap_init(&fs->objs[k]);
	nro_hmap_init(&fs->sources);
	nro_hmap_init(&fs->pod_uids);
	nro_hmap_init(&fs->series);
}

static void fact_free(struct fact *f)
{
	if (f)
		free(f->w);
	free(f);
}

static void facts_clear(struct nro_hmap *m)
{
	struct nro_hmap_iter it;
	struct nro_hmap_ent *e;
	nro_hmap_iter_init(&it, m);
	while ((e = nro_hmap_next(&it)))
		fact_free(e->value);
	nro_hmap_free(m);
}

static void obj_free(struct fobj *o)
{
	facts_clear(&o->facts);
	free_values(&o->hstates);
	if (o->kind == NRO_OBJ_NODE) {
		free_values(&o->u.node.events_total);
		free_values(&o->u.node.errors_total);
	}
	free(o);
}

void facts_free(struct fact_store *fs)
{
	for (int k = 0; k < OBJ_KINDS; k++) {
		struct nro_hmap_iter it;
		struct nro_hmap_ent *e;
		nro_hmap_iter_init(&it, &fs->objs[k]);
		while ((e = nro_hmap_next(&it)))
			obj_free(e->value);
		nro_hmap_free(&fs->objs[k]);
	}
	free_values(&fs->sources);
	free_values(&fs->pod_uids);
	nro_hmap_free(&fs->series); /* values are the rules' const definitions */
}

void facts_declare(struct fact_store *fs, const struct series_def *sd)
{
	const struct series_def *old = nro_hmap_get(&fs->series, sd->name);
	if (!old || old->counter < sd->counter) /* a trend needs more than a gauge */
		nro_hmap_put(&fs->series, sd->name, (void *)sd);
}

struct source *facts_source(struct fact_store *fs, struct nro_str name, const char *node,
			    int64_t now)
{
	char key[STR_SRC];
	str_copy(key, sizeof key, name);
	struct source *s = nro_hmap_get(&fs->sources, key);
	if (s) {
		s->last_heard = now;
		return s;
	}
	if (fs->sources.n >= SOURCES_MAX) {
		fs->dropped_sources++;
		return NULL;
	}
	s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	snprintf(s->name, sizeof s->name, "%s", key);
	snprintf(s->node, sizeof s->node, "%s", node);
	s->first_seen = s->last_heard = now;
	s->gen = 1;
	if (nro_hmap_put(&fs->sources, key, s) != 0) {
		free(s);
		return NULL;
	}
	return s;
}

/* An object's identity, as the key of its kind's map. */
struct ident {
	uint8_t kind;
	char node[STR_NODE], ns[STR_NS], pod[STR_POD], uid[STR_UID], container[STR_CTR];
	char name[STR_POD];
};

static void ident_key(const struct ident *id, char *key, size_t n)
{
	if (id->kind == NRO_OBJ_NODE)
		snprintf(key, n, "%s", id->name);
	else
		snprintf(key, n, "%s/%s/%s/%s/%s", id->ns, id->pod, id->uid, id->container, id->name);
}

static struct fobj *obj_get(struct fact_store *fs, const struct ident *id)
{
	char key[900];
	ident_key(id, key, sizeof key);
	struct nro_hmap *m = &fs->objs[id->kind];
	struct fobj *o = nro_hmap_get(m, key);
	if (o)
		return o;
	if (m->n >= obj_cap[id->kind]) {
		fs->dropped[id->kind]++;
		return NULL;
	}
	o = calloc(1, sizeof *o);
	if (!o)
		return NULL;
	o->kind = id->kind;
	memcpy(o->node, id->node, sizeof o->node);
	memcpy(o->ns, id->ns, sizeof o->ns);
	memcpy(o->pod, id->pod, sizeof o->pod);
	memcpy(o->uid, id->uid, sizeof o->uid);
	memcpy(o->container, id->container, sizeof o->container);
	memcpy(o->name, id->name, sizeof o->name);
	nro_hmap_init(&o->facts);
	nro_hmap_init(&o->hstates);
	if (o->kind == NRO_OBJ_NODE) {
		struct node_facts *n = &o->u.node;
		n->healthz = n->syncloop_check = n->syncloop = -1;
		nro_hmap_init(&n->events_total);
		nro_hmap_init(&n->errors_total);
	} else {
		o->u.pod.ready = -1; /* pod_facts and ctr_facts alike */
		o->u.ctr.ready = -1;
	}
	if (nro_hmap_put(m, key, o) != 0) {
		obj_free(o);
		return NULL;
	}
	return o;
}

struct fobj *facts_node(struct fact_store *fs, const char *name)
{
	struct ident id = {.kind = NRO_OBJ_NODE};
	snprintf(id.name, sizeof id.name, "%s", name);
	snprintf(id.node, sizeof id.node, "%s", name);
	return obj_get(fs, &id);
}

/* The uid of a pod known by name, for series that do not carry one. */
static void uid_fill(struct fact_store *fs, struct ident *id)
{
	if (id->uid[0] || !id->pod[0])
		return;
	char key[STR_NS + STR_POD + 2];
	snprintf(key, sizeof key, "%s/%s", id->ns, id->pod);
	const char *uid = nro_hmap_get(&fs->pod_uids, key);
	if (uid)
		snprintf(id->uid, sizeof id->uid, "%s", uid);
}

static void uid_learn(struct fact_store *fs, const struct ident *id)
{
	if (!id->uid[0] || !id->pod[0])
		return;
	char key[STR_NS + STR_POD + 2];
	snprintf(key, sizeof key, "%s/%s", id->ns, id->pod);
	char *old = nro_hmap_get(&fs->pod_uids, key);
	if (old && strcmp(old, id->uid) == 0)
		return;
	if (!old && fs->pod_uids.n >= obj_cap[NRO_OBJ_POD])
		return;
	char *uid = strdup(id->uid);
	if (!uid || nro_hmap_put(&fs->pod_uids, key, uid) != 0) {
		free(uid);
		return;
	}
	free(old);
}

static void uid_forget(struct fact_store *fs, const struct fobj *o)
{
	char key[STR_NS + STR_POD + 2];
	snprintf(key, sizeof key, "%s/%s", o->ns, o->pod);
	char *uid = nro_hmap_get(&fs->pod_uids, key);
	if (uid && strcmp(uid, o->uid) == 0)
		free(nro_hmap_del(&fs->pod_uids, key));
}

/* ---- states ---- */

static void set_threshold(struct node_facts *n, const char *signal, const struct nro_state *s)
{
	char src[16];
	for (int i = 0; i < EV_COUNT; i++)
		if (strcmp(signal, eviction_signals[i]) == 0) {
			struct threshold *t = &n->ev[i];
			t->set = 1;
			t->pct = s->value.len > 0 && s->value.p[s->value.len - 1] == '%';
			t->v = s->num;
			str_copy(t->text, sizeof t->text, s->value);
			attr_get(s->attrs, s->nattrs, NRO_A_SOURCE, src, sizeof src);
			t->from_config = strcmp(src, "default") != 0;
		}
}

/* configz publishes the whole configuration every poll: what one poll does
 * not repeat is gone (a removed threshold falls back to the defaults). */
static void config_state(struct node_facts *n, struct source *src, const char *key,
			 const struct nro_state *s)
{
	if (n->config_src != src || n->config_gen != src->gen) {
		memset(n->ev, 0, sizeof n->ev);
		n->have_config = 0;
		n->max_pods = 0;
		n->transition_s = 0;
		n->config_src = src;
		n->config_gen = src->gen;
	}
	if (strncmp(key, NRO_K_EVICTION_HARD, strlen(NRO_K_EVICTION_HARD)) == 0) {
		n->have_config = 1;
		set_threshold(n, key + strlen(NRO_K_EVICTION_HARD), s);
	} else if (strcmp(key, NRO_K_CONFIG_MAX_PODS) == 0 && s->num > 0) {
		n->max_pods = s->num;
	} else if (strcmp(key, NRO_K_CONFIG_EVICTION_TRANSITION) == 0 && s->num > 0) {
		n->transition_s = s->num;
	}
}

static void node_state(struct fobj *o, struct source *src, const struct nro_state *s)
{
	struct node_facts *n = &o->u.node;
	char key[128], reason[256];
	str_copy(key, sizeof key, s->key);
	int ok = nro_str_eq(s->value, "ok");
	attr_get(s->attrs, s->nattrs, NRO_A_REASON, reason, sizeof reason);
	if (strcmp(key, NRO_K_HEALTHZ) == 0) {
		n->healthz = ok;
		snprintf(n->healthz_reason, sizeof n->healthz_reason, "%s", ok ? "" : reason);
	} else if (strcmp(key, NRO_K_HEALTHZ_SYNCLOOP) == 0) {
		n->syncloop_check = ok;
		if (!ok)
			snprintf(n->syncloop_reason, sizeof n->syncloop_reason, "%s", reason);
	} else if (strcmp(key, NRO_K_SYNCLOOP) == 0) {
		n->syncloop = ok;
		snprintf(n->syncloop_reason, sizeof n->syncloop_reason, "%s", ok ? "" : reason);
	} else if (strncmp(key, NRO_K_EVICTION_HARD, strlen(NRO_K_EVICTION_HARD)) == 0 ||
		   strcmp(key, NRO_K_CONFIG_MAX_PODS) == 0 ||
		   strcmp(key, NRO_K_CONFIG_EVICTION_TRANSITION) == 0) {
		config_state(n, src, key, s);
	}
}

static void ident_of_state(struct ident *id, const char *node, const struct nro_state *s)
{
	memset(id, 0, sizeof *id);
	id->kind = s->object.kind;
	snprintf(id->node, sizeof id->node, "%s", node);
	str_copy(id->ns, sizeof id->ns, s->object.namespace_);
	str_copy(id->pod, sizeof id->pod, s->object.pod);
	if (id->kind == NRO_OBJ_CONTAINER)
		str_copy(id->container, sizeof id->container, s->object.container);
	attr_get(s->attrs, s->nattrs, NRO_A_POD_UID, id->uid, sizeof id->uid);
}

/* The object a pod or container state is about, marked seen in this poll;
 * the first state of a new poll forgets what the last one said. */
static struct fobj *stateful_obj(struct nro_rules *r, struct source *src, const char *node,
				 const struct nro_state *s)
{
	struct ident id;
	ident_of_state(&id, node, s);
	struct fobj *o = obj_get(&r->fs, &id);
	if (!o)
		return NULL;
	uid_learn(&r->fs, &id);
	if (o->state_src != src || o->state_gen != src->gen) {
		struct ctr_facts *c = &o->u.ctr;
		if (o->kind == NRO_OBJ_CONTAINER) {
			c->last_term[0] = '\0';
			c->last_term_at = 0;
			c->restarts_increased = 0;
		}
		o->state_src = src;
		o->state_gen = src->gen;
	}
	o->has_state = 1;
	snprintf(o->node, sizeof o->node, "%s", node);
	return o;
}

static void pod_state(struct fobj *o, const struct nro_state *s)
{
	struct pod_facts *p = &o->u.pod;
	if (nro_str_eq(s->key, NRO_K_POD_PHASE)) {
		str_copy(p->phase, sizeof p->phase, s->value);
		attr_get(s->attrs, s->nattrs, NRO_A_REASON, p->reason, sizeof p->reason);
	} else if (nro_str_eq(s->key, NRO_K_POD_READY)) {
		p->ready = nro_str_eq(s->value, "True") ? 1 : 0;
	}
}

static void ctr_state(struct fobj *o, const struct nro_state *s)
{
	struct ctr_facts *c = &o->u.ctr;
	char init[8];
	if (attr_get(s->attrs, s->nattrs, NRO_A_INIT, init, sizeof init))
		c->init = strcmp(init, "true") == 0;
	if (nro_str_eq(s->key, NRO_K_CTR_STATE)) {
		str_copy(c->state, sizeof c->state, s->value);
		attr_get(s->attrs, s->nattrs, NRO_A_REASON, c->reason, sizeof c->reason);
		if (nro_str_eq(s->value, "terminated"))
			c->exit_code = s->num;
	} else if (nro_str_eq(s->key, NRO_K_CTR_READY)) {
		c->ready = nro_str_eq(s->value, "true");
		char id[sizeof c->id + 16];
		if (attr_get(s->attrs, s->nattrs, NRO_HA_CONTAINER_ID, id, sizeof id)) {
			const char *sep = strstr(id, "://"); /* "containerd://<id>" */
			snprintf(c->id, sizeof c->id, "%s", sep ? sep + 3 : id);
		}
	} else if (nro_str_eq(s->key, NRO_K_CTR_RESTARTS)) {
		if (!c->have_restarts || s->num < c->restarts_judged)
			c->restarts_judged = s->num; /* first seen, or the count went back */
		c->restarts = s->num;
		c->have_restarts = 1;
		c->restarts_increased = c->restarts > c->restarts_judged;
	} else if (nro_str_eq(s->key, NRO_K_CTR_LAST_TERM)) {
		str_copy(c->last_term, sizeof c->last_term, s->value);
		c->last_term_at = s->since_ms;
		c->exit_code = s->num;
	}
}

static int str_prefix(struct nro_str s, const char *prefix)
{
	size_t n = strlen(prefix);
	return s.len >= n && memcmp(s.p, prefix, n) == 0;
}

/* ---- the API server's view (collector-apiserver) ---- */

int is_api_state(const struct nro_state *s)
{
	char src[16];
	return str_prefix(s->key, "api.") ||
	       (attr_get(s->attrs, s->nattrs, NRO_A_SOURCE, src, sizeof src) &&
		strcmp(src, NRO_SOURCE_APISERVER) == 0);
}

/* A pod or container as the API lists it: its own view on the object the
 * kubelet's states describe (same namespace, name and UID), which it never
 * owns; nor does it teach the UID (the kubelet's name the kubelet's series). */
static void api_state(struct nro_rules *r, struct source *src, const char *node,
		      const struct nro_state *s)
{
	struct ident id;
	ident_of_state(&id, node, s);
	struct fobj *o = obj_get(&r->fs, &id);
	if (!o)
		return;
	struct api_view *a = &o->api;
	a->src = src;
	a->gen = src->gen;
	a->listed = 1;
	if (nro_str_eq(s->key, NRO_K_API_POD_PHASE)) {
		str_copy(a->phase, sizeof a->phase, s->value);
	} else if (nro_str_eq(s->key, NRO_K_API_CTR_STATE)) {
		str_copy(a->state, sizeof a->state, s->value);
		attr_get(s->attrs, s->nattrs, NRO_A_REASON, a->reason, sizeof a->reason);
	} else if (nro_str_eq(s->key, NRO_K_API_CTR_RESTARTS)) {
		a->restarts = s->num;
		a->have_restarts = 1;
	}
}

/* ---- host and service states ---- */

/* Host and service states, and the API's view of the node (its conditions
 * and Lease: conditions of their own, beside the kubelet's node facts). */
static int is_host_state(const struct nro_state *s)
{
	return s->object.kind == NRO_OBJ_SERVICE ||
	       (s->object.kind == NRO_OBJ_NODE &&
		(str_prefix(s->key, "host.") || str_prefix(s->key, "cri.") ||
		 str_prefix(s->key, "api.")));
}

/* What tells apart states of one key on a node: the mount or the device
 * (host.filesystem.mode, host.net.link), the container an OOM kill hit, the
 * device or task of another kernel problem. */
static void hstate_subject(const struct nro_state *s, int occurrence, char *out, size_t n)
{
	static const char *const keys[] = {NRO_HA_MOUNTPOINT, NRO_HA_DEVICE, NRO_HA_CONTAINER_ID};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		if (attr_get(s->attrs, s->nattrs, keys[i], out, n) && out[0])
			return;
	if (occurrence)
		str_copy(out, n, s->value);
	else
		out[0] = '\0';
}

/* Room for one more: at the cap, the oldest kernel problem makes way. */
static int hstate_room(struct fact_store *fs, struct fobj *n)
{
	struct nro_hmap_iter it;
	struct nro_hmap_ent *e, *oldest = NULL;
	if (n->hstates.n < HSTATES_PER_NODE)
		return 1;
	nro_hmap_iter_init(&it, &n->hstates);
	while ((e = nro_hmap_next(&it))) {
		const struct hstate *h = e->value;
		if (h->occurrence &&
		    (!oldest || h->t_last < ((const struct hstate *)oldest->value)->t_last))
			oldest = e;
	}
	fs->dropped_facts++;
	if (!oldest)
		return 0;
	free(nro_hmap_del(&n->hstates, oldest->key));
	return 1;
}

static struct hstate *hstate_slot(struct fact_store *fs, struct fobj *n, const char *key)
{
	struct hstate *h = nro_hmap_get(&n->hstates, key);
	if (h || !hstate_room(fs, n))
		return h;
	h = calloc(1, sizeof *h);
	if (h && nro_hmap_put(&n->hstates, key, h) != 0) {
		free(h);
		return NULL;
	}
	return h;
}

static void hstate_take(struct fact_store *fs, struct fobj *n, struct source *src,
			const struct nro_state *s, int64_t now)
{
	char key[64], object[128], subject[128], hkey[400];
	str_copy(key, sizeof key, s->key);
	int occurrence = strncmp(key, NRO_HK_KERNEL_PREFIX, strlen(NRO_HK_KERNEL_PREFIX)) == 0;
	object[0] = '\0';
	if (s->object.kind == NRO_OBJ_SERVICE)
		str_copy(object, sizeof object, s->object.name);
	hstate_subject(s, occurrence, subject, sizeof subject);
	snprintf(hkey, sizeof hkey, "%s|%s|%s", key, object, subject);
	struct hstate *h = hstate_slot(fs, n, hkey);
	if (!h)
		return;
	if (h->count == 0)
		h->t_first = now;
	char value[sizeof h->value];
	str_copy(value, sizeof value, s->value);
	if (h->count > 0 && strcmp(value, h->value) != 0)
		h->changes++;
	snprintf(h->key, sizeof h->key, "%s", key);
	snprintf(h->object, sizeof h->object, "%s", object);
	snprintf(h->value, sizeof h->value, "%s", value);
	h->prev_num = h->count > 0 ? h->num : s->num;
	h->num = s->num;
	h->since = s->since_ms;
	h->t_last = now;
	h->count++;
	h->occurrence = occurrence;
	h->src = src;
	h->gen = src->gen;
	h->nattrs = 0;
	for (uint16_t i = 0; i < s->nattrs && h->nattrs < HSTATE_ATTRS; i++, h->nattrs++) {
		str_copy(h->attrs[h->nattrs].k, sizeof h->attrs[0].k, s->attrs[i].key);
		str_copy(h->attrs[h->nattrs].v, sizeof h->attrs[0].v, s->attrs[i].value);
	}
}

/* A snapshot from s forgets the conditions it did not repeat; kernel
 * problems stay until a day after the last one. */
static void hstates_forget(struct fobj *n, const struct source *s)
{
	struct nro_hmap_iter it;
	struct nro_hmap_ent *e;
	nro_hmap_iter_init(&it, &n->hstates);
	while ((e = nro_hmap_next(&it))) {
		struct hstate *h = e->value;
		int stale = h->occurrence ? h->src == s && s->last_ok - h->t_last > HSTATE_KEEP_MS
					  : h->src == s && h->gen != s->gen;
		if (stale)
			free(nro_hmap_del(&n->hstates, e->key));
	}
}

uint64_t hstate_news(struct hstate *h, int changes)
{
	uint64_t now = changes ? h->changes : h->count;
	uint64_t news = now > h->judged ? now - h->judged : 0;
	h->judged = now;
	h->judged_once = 1;
	return news;
}

const char *hstate_attr(const struct hstate *h, const char *key)
{
	for (int i = 0; i < h->nattrs; i++)
		if (strcmp(h->attrs[i].k, key) == 0)
			return h->attrs[i].v;
	return "";
}

int hstate_each(struct fobj *o, const char *prefix, hstate_fn fn, void *ctx)
{
	struct nro_hmap_iter it;
	struct nro_hmap_ent *e;
	int n = 0;
	nro_hmap_iter_init(&it, &o->hstates);
	while ((e = nro_hmap_next(&it))) {
		struct hstate *h = e->value;
		if (strncmp(h->key, prefix, strlen(prefix)) != 0)
			continue;
		fn(ctx, h);
		n++;
	}
	return n;
}

int facts_find_container(struct fact_store *fs, const char *uid, const char *ctr_id,
			 const struct fobj **pod, const struct fobj **ctr)
{
	struct nro_hmap_iter it;
	struct nro_hmap_ent *e;
	*pod = *ctr = NULL;
	if (!uid[0])
		return 0;
	nro_hmap_iter_init(&it, &fs->objs[NRO_OBJ_CONTAINER]);
	while ((e = nro_hmap_next(&it))) {
		const struct fobj *c = e->value;
		if (!c->has_state || strcmp(c->uid, uid) != 0)
			continue; /* the API's view alone is not the kubelet listing it */
		*pod = c;
		if (ctr_id[0] && strcmp(c->u.ctr.id, ctr_id) == 0) {
			*ctr = c;
			return 1;
		}
	}
	return *pod != NULL;
}

static void take_state(struct nro_rules *r, struct source *src, const char *node,
		       const struct nro_state *s, int64_t now)
{
	if (is_host_state(s)) {
		struct fobj *n = facts_node(&r->fs, node);
		if (n)
			hstate_take(&r->fs, n, src, s, now);
		r->fs.pushed |= s->object.kind == NRO_OBJ_SERVICE;
		return;
	}
	if (s->object.kind == NRO_OBJ_NODE) {
		struct fobj *n = facts_node(&r->fs, node);
		if (n)
			node_state(n, src, s);
		return;
	}
	if (s->object.kind != NRO_OBJ_POD && s->object.kind != NRO_OBJ_CONTAINER)
		return;
	if (is_api_state(s)) {
		api_state(r, src, node, s);
		return;
	}
	struct fobj *o = stateful_obj(r, src, node, s);
	if (!o)
		return;
	if (o->kind == NRO_OBJ_POD)
		pod_state(o, s);
	else
		ctr_state(o, s);
}

/* ---- metrics ---- */

/* Which object a sample is about: OpenTelemetry attributes (summary, pods)
 * or the kubelet's Prometheus labels (cadvisor, probes). 0 to ignore it. */
static int ident_of_metric(struct ident *id, const char *hdr_node, const struct nro_metric *m)
{
	const struct nro_attr *a = m->attrs;
	uint16_t n = m->nattrs;
	memset(id, 0, sizeof *id);
	if (!attr_get(a, n, NRO_A_NODE, id->node, sizeof id->node))
		snprintf(id->node, sizeof id->node, "%s", hdr_node);
	if (attr_get(a, n, NRO_A_POD, id->pod, sizeof id->pod)) {
		attr_get(a, n, NRO_A_NAMESPACE, id->ns, sizeof id->ns);
		attr_get(a, n, NRO_A_POD_UID, id->uid, sizeof id->uid);
		if (attr_get(a, n, NRO_A_VOLUME, id->name, sizeof id->name))
			id->kind = NRO_OBJ_VOLUME;
		else if (attr_get(a, n, NRO_A_CONTAINER, id->container, sizeof id->container))
			id->kind = NRO_OBJ_CONTAINER;
		else
			id->kind = NRO_OBJ_POD;
		return 1;
	}
	if (attr_get(a, n, NRO_L_POD, id->pod, sizeof id->pod) && id->pod[0]) {
		/* cadvisor's pod-level cgroups (no container) and pause
		 * containers say nothing the rules read */
		if (!attr_get(a, n, NRO_L_CONTAINER, id->container, sizeof id->container) ||
		    !id->container[0] || strcmp(id->container, "POD") == 0)
			return 0;
		attr_get(a, n, NRO_L_NAMESPACE, id->ns, sizeof id->ns);
		attr_get(a, n, NRO_L_POD_UID, id->uid, sizeof id->uid);
		id->kind = NRO_OBJ_CONTAINER;
		return 1;
	}
	id->kind = NRO_OBJ_NODE;
	snprintf(id->name, sizeof id->name, "%s", id->node);
	return 1;
}

/* "v1|v2" from the labels sd->dims names, in order. */
static void dims_of(const struct series_def *sd, const struct nro_metric *m, char *out, size_t n)
{
	size_t off = 0;
	out[0] = '\0';
	const char *d = sd->dims;
	while (d && *d) {
		const char *comma = strchr(d, ',');
		size_t len = comma ? (size_t)(comma - d) : strlen(d);
		char label[64], val[64];
		snprintf(label, sizeof label, "%.*s", (int)len, d);
		attr_get(m->attrs, m->nattrs, label, val, sizeof val);
		int w = snprintf(out + off, n - off, "%s%s", off ? "|" : "", val);
		if (w < 0 || (size_t)w >= n - off)
			break;
		off += (size_t)w;
		d = comma ? comma + 1 : NULL;
	}
}

static void window_push(struct window *w, int64_t t, double v, double inc)
{
	if (!w)
		return;
	w->t[w->head] = t;
	w->v[w->head] = v;
	w->d[w->head] = inc;
	w->head = (w->head + 1) % FACT_WINDOW;
	if (w->len < FACT_WINDOW)
		w->len++;
}

/* A new sample: a counter that went down was reset (a restarted process),
 * which is an increase of 0, never a negative one. */
static void fact_add(struct fact *f, double v, int64_t t, struct source *src)
{
	double inc = NAN; /* the first sample has no increase */
	if (f->n > 0) {
		f->prev = f->last;
		f->t_prev = f->t_last;
		inc = f->def->counter == SERIES_COUNTER ? (v > f->last ? v - f->last : 0) : v - f->last;
	}
	if (f->n == 0 || v != f->last)
		f->t_changed = t;
	f->last = v;
	f->t_last = t;
	if (f->n < 1000000)
		f->n++;
	f->src = src;
	f->gen = src->gen;
	window_push(f->w, t, v, inc);
}

static struct fact *fact_slot(struct fact_store *fs, struct fobj *o, const struct series_def *sd,
			      const char *dims)
{
	char key[256];
	snprintf(key, sizeof key, "%s|%s", sd->name, dims);
	struct fact *f = nro_hmap_get(&o->facts, key);
	if (f)
		return f;
	if (o->facts.n >= FACTS_PER_OBJECT) {
		fs->dropped_facts++;
		return NULL;
	}
	f = calloc(1, sizeof *f);
	if (!f)
		return NULL;
	f->def = sd;
	snprintf(f->dims, sizeof f->dims, "%s", dims);
	if ((sd->counter != SERIES_GAUGE && !(f->w = calloc(1, sizeof *f->w))) ||
	    nro_hmap_put(&o->facts, key, f) != 0) {
		fact_free(f);
		return NULL;
	}
	return f;
}

static void take_metric(struct nro_rules *r, struct source *src, const char *node,
			const struct nro_metric *m, int64_t now)
{
	char name[128];
	str_copy(name, sizeof name, m->name);
	const struct series_def *sd = nro_hmap_get(&r->fs.series, name);
	if (!sd || !isfinite(m->value))
		return; /* not read by any rule; +Inf TTLs and NaN say nothing */
	struct ident id;
	if (!ident_of_metric(&id, node, m))
		return;
	uid_fill(&r->fs, &id);
	uid_learn(&r->fs, &id);
	struct fobj *o = obj_get(&r->fs, &id);
	if (!o)
		return;
	if (o->kind == NRO_OBJ_VOLUME && !o->u.vol.pvc[0])
		attr_get(m->attrs, m->nattrs, NRO_A_PVC, o->u.vol.pvc, sizeof o->u.vol.pvc);
	char dims[128];
	dims_of(sd, m, dims, sizeof dims);
	struct fact *f = fact_slot(&r->fs, o, sd, dims);
	if (f)
		fact_add(f, m->value, now, src); /* our clock: replays repeat old timestamps */
}

/* ---- the end of a poll ---- */

static int obj_forget(struct fobj *o, const struct source *s)
{
	struct nro_hmap_iter it;
	struct nro_hmap_ent *e;
	nro_hmap_iter_init(&it, &o->facts);
	while ((e = nro_hmap_next(&it))) {
		struct fact *f = e->value;
		if (f->src == s && f->gen != s->gen)
			fact_free(nro_hmap_del(&o->facts, e->key));
	}
	if (o->kind == NRO_OBJ_NODE) {
		struct node_facts *n = &o->u.node;
		hstates_forget(o, s);
		if (n->config_src == s && n->config_gen != s->gen) {
			memset(n->ev, 0, sizeof n->ev);
			n->have_config = 0;
			n->max_pods = 0;
			n->transition_s = 0;
		}
		return 0; /* nodes stay */
	}
	if (o->state_src == s && o->state_gen != s->gen) {
		o->has_state = 0;
		o->state_src = NULL;
	}
	if (o->api.src == s && o->api.gen != s->gen) {
		o->api.listed = 0;
		o->api.src = NULL;
	}
	return !o->has_state && !o->api.listed && o->facts.n == 0;
}

/* A complete snapshot from s: forgets what it no longer lists. */
static void snapshot_done(struct fact_store *fs, struct source *s)
{
	for (int k = 1; k < OBJ_KINDS; k++) {
		struct nro_hmap_iter it;
		struct nro_hmap_ent *e;
		nro_hmap_iter_init(&it, &fs->objs[k]);
		while ((e = nro_hmap_next(&it))) {
			struct fobj *o = e->value;
			if (!obj_forget(o, s))
				continue;
			if (o->kind == NRO_OBJ_POD)
				uid_forget(fs, o);
			nro_hmap_del(&fs->objs[k], e->key);
			obj_free(o);
		}
	}
	s->gen++;
	s->snapshots++;
}

void facts_sweep_silent(struct fact_store *fs, int64_t now)
{
	struct nro_hmap_iter it;
	struct nro_hmap_ent *e;
	nro_hmap_iter_init(&it, &fs->sources);
	while ((e = nro_hmap_next(&it))) {
		struct source *s = e->value;
		int64_t quiet = now - s->last_heard;
		if (quiet < SOURCE_STALE_MS || quiet < 10 * (int64_t)s->interval_ms)
			continue;
		s->last_heard = now; /* once per silent spell: a later one sweeps again */
		s->gen++; /* nothing it sent is current: all of it is forgotten */
		snapshot_done(fs, s);
	}
}

static void take_health(struct fact_store *fs, struct source *s, const struct nro_health *h,
			int64_t now)
{
	s->interval_ms = h->interval_ms;
	s->last_status = h->status;
	if (h->status == NRO_HEALTH_FAILED) {
		str_copy(s->last_error, sizeof s->last_error, h->message);
		return;
	}
	s->last_ok = now;
	s->last_error[0] = '\0';
	s->connect_failing = 0;
	snapshot_done(fs, s);
}

static void take_error(struct nro_rules *r, struct source *s, const char *node,
		       const struct nro_error *x)
{
	nro_rules_count_error(r, node, nro_error_name(x->code));
	if (x->code == NRO_ERR_CONNECT || x->code == NRO_ERR_TIMEOUT)
		s->connect_failing = 1;
}

void facts_take(struct nro_rules *r, struct nro_msg *m, int64_t now)
{
	char node[STR_NODE];
	str_copy(node, sizeof node, m->hdr.node);
	struct source *src = facts_source(&r->fs, m->hdr.source, node, now);
	if (!src)
		return;
	snprintf(src->node, sizeof src->node, "%s", node);
	facts_node(&r->fs, node); /* every object's node is judged too */
	union nro_entry x;
	while (nro_next(m, &x)) {
		switch (m->hdr.kind) {
		case NRO_KIND_METRIC:
			take_metric(r, src, node, &x.metric, now);
			break;
		case NRO_KIND_STATE:
			take_state(r, src, node, &x.state, now);
			break;
		case NRO_KIND_ERROR:
			take_error(r, src, node, &x.error);
			break;
		case NRO_KIND_HEALTH:
			take_health(&r->fs, src, &x.health, now);
			break;
		default:
			break;
		}
	}
}

/* ---- reading ---- */

const struct fact *fact_get(const struct fobj *o, const char *series, const char *dims)
{
	char key[256];
	snprintf(key, sizeof key, "%s|%s", series, dims ? dims : "");
	return nro_hmap_get(&o->facts, key);
}

int fact_value(const struct fobj *o, const char *series, double *v)
{
	const struct fact *f = fact_get(o, series, NULL);
	*v = f ? f->last : 0;
	return f != NULL;
}

/* The i-th sample of a window, oldest first. */
static int win(const struct window *w, int i)
{
	return (w->head - w->len + i + FACT_WINDOW) % FACT_WINDOW;
}

int fact_increase(const struct fact *f, int64_t window_ms, int64_t now, double *inc)
{
	int seen = 0;
	*inc = 0;
	const struct window *w = f ? f->w : NULL;
	for (int i = 0; w && i < w->len; i++) {
		int k = win(w, i);
		if (now - w->t[k] > window_ms || isnan(w->d[k]))
			continue;
		*inc += w->d[k];
		seen++;
	}
	return seen > 0;
}

int fact_last_increase(const struct fact *f, double *inc)
{
	*inc = 0;
	if (!f || !f->w || f->n < 2 || f->w->len == 0)
		return 0;
	double d = f->w->d[win(f->w, f->w->len - 1)];
	if (isnan(d))
		return 0;
	*inc = d;
	return 1;
}

int fact_predict(const struct fact *f, int64_t at, double *v)
{
	const struct window *w = f ? f->w : NULL;
	if (!w || w->len < 3)
		return 0;
	double n = w->len, st = 0, sv = 0, stt = 0, stv = 0;
	int64_t t0 = w->t[win(w, 0)];
	for (int i = 0; i < w->len; i++) {
		int k = win(w, i);
		double t = (double)(w->t[k] - t0) / 1000.0;
		st += t;
		sv += w->v[k];
		stt += t * t;
		stv += t * w->v[k];
	}
	double den = n * stt - st * st;
	if (den <= 0)
		return 0;
	double slope = (n * stv - st * sv) / den, icept = (sv - slope * st) / n;
	*v = icept + slope * ((double)(at - t0) / 1000.0);
	return 1;
}

int fact_each(const struct fobj *o, const char *series, fact_fn fn, void *ctx)
{
	struct nro_hmap_iter it;
	struct nro_hmap_ent *e;
	int n = 0;
	nro_hmap_iter_init(&it, &o->facts);
	while ((e = nro_hmap_next(&it))) {
		const struct fact *f = e->value;
		if (strcmp(f->def->name, series) != 0)
			continue;
		if (fn)
			fn(ctx, f);
		n++;
	}
	return n;
}

void fact_dim(const struct fact *f, int i, char *out, size_t outlen)
{
	const char *p = f->dims;
	for (; i > 0 && p; i--) {
		p = strchr(p, '|');
		if (p)
			p++;
	}
	if (!p) {
		out[0] = '\0';
		return;
	}
	const char *end = strchr(p, '|');
	size_t len = end ? (size_t)(end - p) : strlen(p);
	snprintf(out, outlen, "%.*s", (int)len, p);
}

struct buckets {
	int n;
	double le[64], count[64];
	int64_t window_ms, now;
};

static void bucket_take(void *ctx, const struct fact *f)
{
	struct buckets *b = ctx;
	char le[32];
	double inc;
	fact_dim(f, 0, le, sizeof le);
	if (b->n >= 64 || !fact_increase(f, b->window_ms, b->now, &inc))
		return;
	b->le[b->n] = strcmp(le, "+Inf") == 0 ? INFINITY : strtod(le, NULL);
	b->count[b->n++] = inc;
}

static void buckets_sort(struct buckets *b)
{
	for (int i = 1; i < b->n; i++)
		for (int j = i; j > 0 && b->le[j - 1] > b->le[j]; j--) {
			double l = b->le[j], c = b->count[j];
			b->le[j] = b->le[j - 1], b->count[j] = b->count[j - 1];
			b->le[j - 1] = l, b->count[j - 1] = c;
		}
}

int fact_quantile(const struct fobj *o, const char *bucket_series, double q, int64_t window_ms,
		  int64_t now, double *v)
{
	struct buckets b = {.window_ms = window_ms, .now = now};
	fact_each(o, bucket_series, bucket_take, &b);
	buckets_sort(&b);
	if (b.n < 2 || !isinf(b.le[b.n - 1]) || b.count[b.n - 1] <= 0)
		return 0; /* no observations in the window: nothing to judge */
	double rank = q * b.count[b.n - 1];
	for (int i = 0; i < b.n; i++) {
		if (b.count[i] < rank)
			continue;
		if (isinf(b.le[i])) /* as Prometheus: the highest finite bound */
			*v = b.le[i - 1];
		else {
			double lo = i ? b.le[i - 1] : 0, clo = i ? b.count[i - 1] : 0;
			double span = b.count[i] - clo;
			*v = span > 0 ? lo + (b.le[i] - lo) * (rank - clo) / span : b.le[i];
		}
		return 1;
	}
	return 0;
}
