/*
 * collector-apiserver: the API server's view of this node (its pods, its
 * Node object and its Lease), for the divergence rules. Lists once, then
 * follows watches streamed through libcurl's write callback, one watch
 * event a line (capped); on 410 Expired it lists again, on a dropped stream
 * it resumes from the last resourceVersion. Every poll publishes the whole
 * view as states (lib/wire/names_apiserver.h), so the analyzer sees the
 * same snapshots collector-pods sends: nothing duplicated, nothing
 * left over.
 *
 * One poll = a Lease get, then the pods watch and the Node watch at once
 * (libcurl's multi interface, in this one thread) for 4/5 of the interval
 * (the poll fits its slot of the drift-free schedule): a change reaches the
 * analyzer within about the interval.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/hmap.h"
#include "base/log.h"
#include "net/kubelet.h"
#include "parse/json.h"
#include "run/collector.h"
#include "wire/names.h"
#include "wire/names_apiserver.h"

#define PROG "collector-apiserver"
#define LINE_MAX_ (4u << 20)  /* one watch event */
#define LIST_MAX (1u << 30)   /* a list body, streamed one item at a time */
#define REST_MAX (1u << 20)   /* a list without its items (kind, metadata) */
#define CTRS_MAX 32
#define SA_CA "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
#define CONDS_MAX 16

struct actr {
	char name[64], state[16], reason[64];
	double restarts;
};

/* A pod as kept: its containers allocated with it (10,000 pods of one or
 * two containers take a few MB, not CTRS_MAX slots each). */
struct apod {
	char ns[64], name[256], uid[64], phase[16];
	char kuid[64]; /* the UID the kubelet knows it by: a mirror pod's static pod's */
	unsigned nc;
	struct actr c[];
};


struct acond {
	char type[48], status[16];
	int64_t since;
};

enum { W_PODS, W_NODE, W_COUNT };

struct api;

/* One watch as it streams: its own client (the watches run at once), its
 * line and its parser. */
struct watch {
	struct api *a;
	int w;
	struct nro_kubelet *k;
	struct nro_buf line;
	int overlong, gone;
	struct nro_json j;
};

struct api {
	struct nro_collector *c;
	struct nro_kubelet *k;
	const char *url, *token_file, *ca_file;
	int allow_insecure_token;
	int insecure;
	struct nro_hmap pods; /* uid -> struct apod */
	struct acond cond[CONDS_MAX];
	unsigned ncond;
	int64_t renew_ms; /* the Lease's renewTime; 0 = none */
	char rv[W_COUNT][32];
	int need_list;
	struct watch ws[W_COUNT];
	/* the list being read (w), its items one at a time in line */
	int w;
	struct nro_buf line;
	struct nro_json j;
	/* the list being read: items split out of the body as they stream */
	struct nro_buf rest;
	int depth, in_str, esc, in_items, too_big;
	unsigned items;
};

/* ---- decoding ------------------------------------------------------------ */

static void jstr(const struct nro_json *j, int i, char *out, size_t n)
{
	if (i < 0 || nro_json_str(j, i, out, n) < 0)
		out[0] = '\0';
}

static void ctr_take(const struct nro_json *j, int cs, struct actr *a)
{
	jstr(j, nro_json_key(j, cs, "name"), a->name, sizeof a->name);
	double rc = 0;
	nro_json_f64(j, nro_json_key(j, cs, "restartCount"), &rc);
	a->restarts = rc;
	int st = nro_json_key(j, cs, "state");
	a->state[0] = a->reason[0] = '\0';
	int k = st >= 0 ? nro_json_first(j, st) : -1;
	if (k >= 0) {
		jstr(j, k, a->state, sizeof a->state);
		jstr(j, nro_json_key(j, k + 1, "reason"), a->reason, sizeof a->reason);
	}
}

/* The pod at token o into p, its containers into c (CTRS_MAX of them). */
static void pod_take(const struct nro_json *j, int o, struct apod *p, struct actr *c)
{
	int md = nro_json_key(j, o, "metadata");
	jstr(j, nro_json_key(j, md, "namespace"), p->ns, sizeof p->ns);
	jstr(j, nro_json_key(j, md, "name"), p->name, sizeof p->name);
	jstr(j, nro_json_key(j, md, "uid"), p->uid, sizeof p->uid);
	/* a static pod's mirror: the kubelet lists the static pod under the
	 * config hash the mirror carries, not under the mirror's own UID */
	int ann = nro_json_key(j, md, "annotations");
	jstr(j, ann >= 0 ? nro_json_key(j, ann, "kubernetes.io/config.mirror") : -1, p->kuid,
	     sizeof p->kuid);
	if (!p->kuid[0])
		memcpy(p->kuid, p->uid, sizeof p->kuid);
	jstr(j, nro_json_path(j, o, "status.phase"), p->phase, sizeof p->phase);
	int arr = nro_json_path(j, o, "status.containerStatuses");
	p->nc = 0;
	for (int cs = arr >= 0 ? nro_json_first(j, arr) : -1; cs >= 0 && p->nc < CTRS_MAX;
	     cs = nro_json_next(j, arr, cs))
		ctr_take(j, cs, &c[p->nc++]);
}

static void pods_clear(struct api *a)
{
	struct nro_hmap_iter it;
	struct nro_hmap_ent *e;
	nro_hmap_iter_init(&it, &a->pods);
	while ((e = nro_hmap_next(&it)))
		free(nro_hmap_del(&a->pods, e->key));
}

/* ADDED/MODIFIED (put) or DELETED of the pod at token o. */
static void pod_apply(struct api *a, const struct nro_json *j, int o, int del)
{
	static struct apod tmp;
	static struct actr ctrs[CTRS_MAX];
	pod_take(j, o, &tmp, ctrs);
	if (!tmp.uid[0])
		return;
	if (del) {
		free(nro_hmap_del(&a->pods, tmp.uid));
		return;
	}
	struct apod *old = nro_hmap_get(&a->pods, tmp.uid);
	struct apod *p = malloc(sizeof *p + tmp.nc * sizeof p->c[0]);
	if (!p)
		return;
	memcpy(p, &tmp, sizeof *p);
	memcpy(p->c, ctrs, tmp.nc * sizeof p->c[0]);
	if (nro_hmap_put(&a->pods, p->uid, p) != 0) {
		free(p);
		return;
	}
	free(old);
}

static void node_apply(struct api *a, const struct nro_json *j, int o)
{
	int arr = nro_json_path(j, o, "status.conditions");
	a->ncond = 0;
	for (int c = arr >= 0 ? nro_json_first(j, arr) : -1; c >= 0 && a->ncond < CONDS_MAX;
	     c = nro_json_next(j, arr, c)) {
		struct acond *k = &a->cond[a->ncond++];
		jstr(j, nro_json_key(j, c, "type"), k->type, sizeof k->type);
		jstr(j, nro_json_key(j, c, "status"), k->status, sizeof k->status);
		k->since = 0;
		nro_json_time_ms(j, nro_json_key(j, c, "lastTransitionTime"), &k->since);
	}
}

static void rv_take(struct api *a, int w, const struct nro_json *j, int o)
{
	int rv = nro_json_path(j, o, "metadata.resourceVersion");
	char s[32];
	jstr(j, rv, s, sizeof s);
	if (s[0])
		memcpy(a->rv[w], s, sizeof s);
}

/* One watch event line. */
static void event_take(struct watch *x, const char *s, size_t n)
{
	const char *why;
	struct nro_json *j = &x->j;
	if (n == 0)
		return;
	if (nro_json_parse(j, s, n, &why) != 0) {
		nro_warn("watch: a line that is not JSON (%s), skipped", why);
		return;
	}
	int o = nro_json_key(j, 0, "object");
	int type = nro_json_key(j, 0, "type");
	if (o < 0 || type < 0)
		return;
	if (nro_json_eq(j, type, "ERROR")) {
		int64_t code = 0;
		nro_json_i64(j, nro_json_key(j, o, "code"), &code);
		x->gone = code == 410;
		return;
	}
	rv_take(x->a, x->w, j, o);
	if (nro_json_eq(j, type, "BOOKMARK"))
		return;
	int del = nro_json_eq(j, type, "DELETED");
	if (x->w == W_PODS)
		pod_apply(x->a, j, o, del);
	else if (!del)
		node_apply(x->a, j, o);
}

/* libcurl's bytes, split into lines; a line past the cap is dropped whole
 * and forces a new list (a state was missed). */
static int on_watch_bytes(void *ctx, const char *data, size_t len)
{
	struct watch *x = ctx;
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl ? (size_t)(nl - data) : len;
		if (!x->overlong && nro_buf_add(&x->line, data, n) != 0) {
			x->overlong = 1;
			x->a->need_list = 1;
			nro_warn("watch: an event longer than %u bytes, listing again", LINE_MAX_);
		}
		if (nl) {
			if (!x->overlong)
				event_take(x, x->line.p, x->line.len);
			nro_buf_reset(&x->line);
			x->overlong = 0;
			n++;
		}
		data += n;
		len -= n;
	}
	return 0;
}

/* ---- lists, one item at a time --------------------------------------------- */

/* A list is {"kind":..,"metadata":{"resourceVersion":..},"items":[{..},..]}:
 * each item is parsed and applied as soon as its last byte arrives, so the
 * memory a list takes is one item's (and its tokens), not the body's: a
 * 10,000-pod PodList is some 50 MB. The rest (without the items) is kept
 * for its resourceVersion. */
static void list_reset(struct api *a)
{
	a->depth = a->in_str = a->esc = a->in_items = a->too_big = 0;
	a->items = 0;
	nro_buf_reset(&a->line);
	nro_buf_reset(&a->rest);
}

static int ends_with_items_key(const struct nro_buf *b)
{
	size_t n = b->len;
	while (n && (b->p[n - 1] == ' ' || b->p[n - 1] == '\n' || b->p[n - 1] == '\t' ||
		     b->p[n - 1] == '\r'))
		n--;
	if (n && b->p[n - 1] == ':')
		n--;
	while (n && (b->p[n - 1] == ' ' || b->p[n - 1] == '\n' || b->p[n - 1] == '\t' ||
		     b->p[n - 1] == '\r'))
		n--;
	return n >= 7 && memcmp(b->p + n - 7, "\"items\"", 7) == 0;
}

static void item_take(struct api *a)
{
	const char *why;
	if (nro_json_parse(&a->j, a->line.p, a->line.len, &why) != 0) {
		nro_warn("list: an item that is not JSON (%s), skipped", why);
		return;
	}
	if (a->w == W_PODS)
		pod_apply(a, &a->j, 0, 0);
	else
		node_apply(a, &a->j, 0);
	a->items++;
}

static int on_list_bytes(void *ctx, const char *data, size_t len)
{
	struct api *a = ctx;
	for (size_t i = 0; i < len && !a->too_big; i++) {
		char c = data[i];
		int before = a->depth;
		if (a->in_str) {
			if (a->esc)
				a->esc = 0;
			else if (c == '\\')
				a->esc = 1;
			else if (c == '"')
				a->in_str = 0;
		} else if (c == '"') {
			a->in_str = 1;
		} else if (c == '{' || c == '[') {
			if (c == '[' && before == 1 && !a->in_items && ends_with_items_key(&a->rest))
				a->in_items = 1;
			a->depth++;
		} else if (c == '}' || c == ']') {
			a->depth--;
		}
		if (a->in_items && (before >= 3 || (before == 2 && c == '{'))) {
			if (nro_buf_add(&a->line, &c, 1) != 0)
				a->too_big = 1;
			else if (before == 3 && a->depth == 2) { /* its closing brace */
				item_take(a);
				nro_buf_reset(&a->line);
			}
			continue;
		}
		if (a->in_items && before == 2 && c != ']')
			continue; /* commas and blanks between items */
		if (a->in_items && before == 2) /* the end of the items */
			a->in_items = 0;
		if (nro_buf_add(&a->rest, &c, 1) != 0)
			a->too_big = 1;
	}
	return a->too_big ? -1 : 0;
}

/* ---- requests -------------------------------------------------------------- */

static void path_of(struct api *a, int w, char *out, size_t n, const char *extra)
{
	const char *node = a->c->node;
	if (w == W_PODS)
		snprintf(out, n, "/api/v1/pods?fieldSelector=spec.nodeName=%s%s", node, extra);
	else
		snprintf(out, n, "/api/v1/nodes?fieldSelector=metadata.name=%s%s", node, extra);
}

static int list_one(struct api *a, int w, struct nro_fetch *res)
{
	char path[600];
	path_of(a, w, path, sizeof path, "");
	a->w = w;
	list_reset(a);
	if (w == W_PODS)
		pods_clear(a);
	else
		a->ncond = 0;
	int rc = nro_kubelet_get(a->k, path, on_list_bytes, a, res);
	const char *why = NULL;
	if (a->too_big) {
		snprintf(res->message, sizeof res->message,
			 "GET %s: an item over %u bytes, or the list's metadata over %u", path,
			 LINE_MAX_, REST_MAX);
		res->err = NRO_ERR_PARSE;
		rc = -1;
	} else if (rc == 0 && (a->depth != 0 || a->in_str ||
			       nro_json_parse(&a->j, a->rest.p, a->rest.len, &why) != 0)) {
		snprintf(res->message, sizeof res->message, "GET %s: invalid JSON (%s)", path,
			 why ? why : "truncated");
		res->err = NRO_ERR_PARSE;
		rc = -1;
	}
	if (rc == 0) {
		rv_take(a, w, &a->j, 0);
		nro_info("list: %s at resourceVersion %s, %u items", w == W_PODS ? "pods" : "nodes",
			 a->rv[w], a->items);
	}
	nro_buf_reset(&a->line);
	nro_buf_free(&a->rest);
	nro_buf_init(&a->rest, REST_MAX);
	return rc;
}

static int lease_get(struct api *a, struct nro_fetch *res)
{
	char path[600];
	snprintf(path, sizeof path,
		 "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/%s", a->c->node);
	struct nro_buf b;
	nro_buf_init(&b, 1u << 20);
	int rc = nro_kubelet_get_buf(a->k, path, &b, res);
	const char *why;
	if (rc == 0 && nro_json_parse(&a->j, b.p, b.len, &why) == 0)
		nro_json_time_ms(&a->j, nro_json_path(&a->j, 0, "spec.renewTime"), &a->renew_ms);
	nro_buf_free(&b);
	return rc;
}

/* Follows both watches at once for window_ms. A drop keeps the
 * resourceVersion (the next watch resumes there); 410 asks for a new list. */
static void watch_all(struct api *a, int64_t window_ms)
{
	char path[W_COUNT][700];
	struct nro_get g[W_COUNT];
	for (int w = 0; w < W_COUNT; w++) {
		char extra[128];
		snprintf(extra, sizeof extra,
			 "&watch=1&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%" PRId64,
			 a->rv[w], window_ms / 1000 > 0 ? window_ms / 1000 : 1);
		path_of(a, w, path[w], sizeof path[w], extra);
		struct watch *x = &a->ws[w];
		x->gone = x->overlong = 0;
		nro_buf_reset(&x->line);
		g[w] = (struct nro_get){.k = x->k, .path = path[w], .fn = on_watch_bytes, .ctx = x};
	}
	nro_kubelet_get_each(g, W_COUNT);
	for (int w = 0; w < W_COUNT; w++) {
		if (a->ws[w].gone || g[w].res.http_status == 410) {
			nro_info("watch: resourceVersion %s expired (410), listing again", a->rv[w]);
			a->need_list = 1;
		} else if (g[w].rc != 0) {
			nro_info("watch: %s; resuming from resourceVersion %s", g[w].res.message,
				 a->rv[w]);
		}
	}
}

/* ---- publishing ---------------------------------------------------------- */

static void emit(struct nro_collector *c, uint8_t kind, const struct apod *p, const char *ctr,
		 const char *key, const char *value, double num, int64_t since, const char *reason)
{
	struct nro_attr at[3] = {{nro_s(NRO_A_SOURCE), nro_s(NRO_SOURCE_APISERVER)},
				 {nro_s(NRO_A_POD_UID), nro_s(p ? p->kuid : "")},
				 {nro_s(NRO_A_REASON), nro_s(reason ? reason : "")}};
	uint16_t na = 1;
	if (p)
		at[na++] = at[1];
	if (reason && reason[0])
		at[na++] = at[2];
	struct nro_state s = {
		.object = {.kind = kind, .namespace_ = nro_s(p ? p->ns : ""),
			   .pod = nro_s(p ? p->name : ""), .container = nro_s(ctr ? ctr : ""),
			   .name = nro_s(p ? "" : c->node)},
		.key = nro_s(key), .value = nro_s(value), .num = num, .since_ms = since,
		.nattrs = na, .attrs = at,
	};
	nro_emit_state(c, &s);
}

static void publish(struct api *a)
{
	struct nro_collector *c = a->c;
	struct nro_hmap_iter it;
	struct nro_hmap_ent *e;
	nro_hmap_iter_init(&it, &a->pods);
	while ((e = nro_hmap_next(&it))) {
		const struct apod *p = e->value;
		emit(c, NRO_OBJ_POD, p, NULL, NRO_K_API_POD_PHASE, p->phase, 0, 0, NULL);
		for (unsigned i = 0; i < p->nc; i++) {
			const struct actr *k = &p->c[i];
			emit(c, NRO_OBJ_CONTAINER, p, k->name, NRO_K_API_CTR_STATE, k->state, 0, 0,
			     k->reason);
			emit(c, NRO_OBJ_CONTAINER, p, k->name, NRO_K_API_CTR_RESTARTS, "", k->restarts, 0,
			     NULL);
		}
	}
	for (unsigned i = 0; i < a->ncond; i++) {
		char key[96];
		snprintf(key, sizeof key, "%s%s", NRO_K_API_NODE_COND, a->cond[i].type);
		emit(c, NRO_OBJ_NODE, NULL, NULL, key, a->cond[i].status, 0, a->cond[i].since, NULL);
	}
	if (a->renew_ms > 0) {
		double age = (double)(nro_wall_ms() - a->renew_ms) / 1000.0;
		emit(c, NRO_OBJ_NODE, NULL, NULL, NRO_K_API_LEASE_AGE, "", age > 0 ? age : 0,
		     a->renew_ms, NULL);
	}
}

/* One poll: list when needed, get the Lease, follow both watches for 4/5
 * of the interval (--once: list and publish only). */
static int poll(struct nro_collector *c, void *ctx, struct nro_fetch *res)
{
	struct api *a = ctx;
	if (a->need_list) {
		if (list_one(a, W_PODS, res) != 0 || list_one(a, W_NODE, res) != 0)
			return -1;
		a->need_list = 0;
	}
	if (lease_get(a, res) != 0 && res->http_status != 404)
		return -1;
	if (!c->t.once && !a->need_list)
		watch_all(a, c->t.interval_ms * 4 / 5);
	publish(a);
	memset(res, 0, sizeof *res);
	res->http_status = 200;
	return 0;
}

/* ---- setup --------------------------------------------------------------- */

/* In-cluster defaults: the service's address, the service account's token and CA. */
static void in_cluster(struct api *a, char *url, size_t n)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	if (!a->url) {
		if (!host || !*host)
			nro_die(NRO_EXIT_USAGE, "--apiserver is required outside a cluster "
						"(KUBERNETES_SERVICE_HOST is unset)");
		int v6 = strchr(host, ':') != NULL;
		snprintf(url, n, "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "",
			 port && *port ? port : "443");
		a->url = url;
		if (!a->token_file)
			a->token_file = NRO_SA_TOKEN;
		if (!a->ca_file)
			a->ca_file = SA_CA;
	}
}

static const char SUMMARY[] =
	"Follow the API server's view of this node and publish it as states: each\n"
	"pod's phase (api.pod.phase), each container's state and restart count\n"
	"(api.container.state, api.container.restarts), the Node's conditions\n"
	"(api.node.condition.<type>) and the age of its Lease (api.lease.age), all\n"
	"with source=apiserver, for the divergence rules. A list, then watches\n"
	"(pods: fieldSelector=spec.nodeName=NODE, the Node: metadata.name=NODE)\n"
	"resumed from the last resourceVersion, listed again on 410 Expired.\n"
	"In a cluster (KUBERNETES_SERVICE_HOST set) it uses the service address, the\n"
	"service account's token (re-read when it rotates) and CA by default.\n"
	"--node is required (the downward API's spec.nodeName in a DaemonSet).\n"
	"RBAC: get, list, watch on pods and nodes; get on leases in kube-node-lease.";

int main(int argc, char **argv)
{
	static struct api a;
	struct nro_collector c;
	int64_t timeout_ms = 5000;
	const struct nro_optdef opts[] = {
		{"apiserver", 0, "NRO_APISERVER_URL", NRO_OPT_STR, &a.url, NULL, "URL",
		 "API server base URL (default: in-cluster https://$KUBERNETES_SERVICE_HOST:PORT)"},
		{"token-file", 0, "NRO_APISERVER_TOKEN_FILE", NRO_OPT_STR, &a.token_file, NULL, "F",
		 "bearer token file, re-read when it changes (in-cluster: the service account's)"},
		{"ca-file", 0, "NRO_APISERVER_CA_FILE", NRO_OPT_STR, &a.ca_file, NULL, "F",
		 "CA bundle (in-cluster: the service account's ca.crt; else system CAs)"},
		{"insecure-skip-verify", 0, "NRO_APISERVER_INSECURE", NRO_OPT_FLAG, &a.insecure, NULL,
		 NULL, "do not verify the API server's certificate"},
		{"allow-insecure-token", 0, "NRO_ALLOW_INSECURE_TOKEN", NRO_OPT_FLAG,
		 &a.allow_insecure_token, NULL, NULL,
		 "send the bearer token over an http:// URL (in cleartext; refused otherwise)"},
		{"timeout", 0, "NRO_TIMEOUT", NRO_OPT_DUR, &timeout_ms, NULL, "D",
		 "connect timeout (default 5s); the watches last 4/5 of the interval"},
		{0},
	};
	nro_collector_init_local(&c, PROG, SUMMARY, "apiserver", 10000, opts, argc, argv);
	if (!c.t.node || !c.t.node[0])
		nro_die(NRO_EXIT_USAGE, "--node is required (env NRO_NODE_NAME)");
	if (c.t.interval_ms < 3000)
		nro_die(NRO_EXIT_USAGE, "--interval must be at least 3s (the watches last 4/5 of it)");
	char url[300];
	in_cluster(&a, url, sizeof url);
	struct nro_kubelet_cfg kc = {.url = a.url, .token_file = a.token_file, .ca_file = a.ca_file,
				     .insecure = a.insecure, .connect_timeout_ms = timeout_ms,
				     .allow_insecure_token = a.allow_insecure_token,
				     .max_body = LIST_MAX};
	char err[512];
	a.k = nro_kubelet_new(&kc, err, sizeof err);
	if (!a.k)
		nro_die(NRO_EXIT_USAGE, "%s", err);
	for (int w = 0; w < W_COUNT; w++) {
		struct watch *x = &a.ws[w];
		x->a = &a;
		x->w = w;
		if (!(x->k = nro_kubelet_new(&kc, err, sizeof err)))
			nro_die(NRO_EXIT_USAGE, "%s", err);
		nro_buf_init(&x->line, LINE_MAX_);
		nro_json_init(&x->j, 0);
	}
	a.c = &c;
	a.need_list = 1;
	nro_hmap_init(&a.pods);
	nro_buf_init(&a.line, LINE_MAX_);
	nro_buf_init(&a.rest, REST_MAX);
	nro_json_init(&a.j, 0);
	nro_collector_set_node(&c, c.t.node, strlen(c.t.node));
	int rc = nro_collector_run(&c, poll, &a);
	pods_clear(&a);
	nro_hmap_free(&a.pods);
	nro_buf_free(&a.line);
	nro_buf_free(&a.rest);
	nro_json_free(&a.j);
	nro_kubelet_free(a.k);
	for (int w = 0; w < W_COUNT; w++) {
		nro_kubelet_free(a.ws[w].k);
		nro_buf_free(&a.ws[w].line);
		nro_json_free(&a.ws[w].j);
	}
	return rc;
}
