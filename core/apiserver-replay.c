/*
 * apiserver-replay: a stand-in for the Kubernetes API server, for tests
 * and the demo. From scenario steps it serves one node's view as the real
 * API server does: list and watch of pods (fieldSelector=spec.nodeName=N)
 * and of the Node (fieldSelector=metadata.name=N), and a get of the node's
 * Lease in kube-node-lease. Watches stream one JSON event a line, chunked,
 * with BOOKMARK events, 410 Expired, a connection cut mid-line and an
 * unreachable server as scenario faults. See docs/apiserver-replay.md.
 */
#include <errno.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/log.h"
#include "net/httpd.h"
#include "net/replay.h"
#include "parse/json.h"
#include "run/serve.h"
#include "run/tool.h"

#define PROG "apiserver-replay"
#define FILE_MAX (256u << 20)  /* a step file is read whole */
#define STREAM_MAX (64u << 20) /* pending bytes of one watch */
#define WAIT_TICK_MS 20
#define JSONT "application/json"

static const char SUMMARY[] =
	"A stand-in for the Kubernetes API server: serves one node's pods, Node and\n"
	"Lease from scenario steps, with list and watch as the real API server\n"
	"answers them. Prints its base URL as the first line on stdout.\n"
	"\n"
	"  GET /api/v1/pods?fieldSelector=spec.nodeName=NODE[&watch=1&resourceVersion=RV\n"
	"      &allowWatchBookmarks=true&timeoutSeconds=S]\n"
	"  GET /api/v1/nodes?fieldSelector=metadata.name=NODE[&watch=1...]\n"
	"  GET /apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/NODE\n"
	"\n"
	"--scenario DIR holds step-000/, step-001/, ...; each may hold pods.json (a\n"
	"v1.PodList: the kubelet's /pods captures are one), node.json (a v1.Node)\n"
	"and lease.json (a v1.Lease); a missing file keeps the previous step's.\n"
	"Step N is resourceVersion N+1; a watch streams the changes between steps\n"
	"(ADDED, MODIFIED, DELETED; a BOOKMARK on a step without change when asked).\n"
	"Faults, as files in a step: \"gone\" (a watch or list from an older\n"
	"resourceVersion is answered 410 Expired), \"cut\" (a watch delivering this step\n"
	"sends half a line and drops the connection, once), \"down\" (every API request\n"
	"is dropped unanswered while this step lasts).\n"
	"The step advances every --step-every D, and on POST /replay/step or\n"
	"GET /replay/step?next (GET /replay/step answers the current step).\n"
	"\n"
	"Auth: with --token-file F a request needs \"Authorization: Bearer TOKEN\"\n"
	"with F's content, re-read on every request (rotation), else 401.";

/* One object of one step, minified to a single line. rv_at..rv_end is the
 * metadata.resourceVersion value's text (replaced when served); when the
 * object has none, rv_at = rv_end is where "resourceVersion" is inserted. */
struct obj {
	char uid[128];
	char *text;
	size_t len, rv_at, rv_end;
	int rv_insert, rv_comma; /* insert the key; follow it with a comma */
};

struct objset {
	struct obj *v;
	size_t n;
};

enum { R_PODS, R_NODE, R_LEASE, R_COUNT };
static const char *const res_file[R_COUNT] = {"pods.json", "node.json", "lease.json"};
static const char *const res_kind[R_COUNT] = {"Pod", "Node", "Lease"};

struct step {
	struct objset set[R_COUNT]; /* borrowed from an earlier step when not given */
	int own[R_COUNT];
	int gone, cut, down;
	atomic_int cut_done; /* a cut happens once: the resumed watch receives the step whole */
};

struct cfg {
	const char *scenario, *listen, *node, *token_file, *tls_cert, *tls_key;
	int64_t step_every_ms;
};

static struct {
	struct cfg c;
	struct nro_replay r; /* the step directories and the current step */
	struct step *steps;  /* one a step directory */
} g;

/* ---- loading ------------------------------------------------------------ */

/* Drops whitespace outside strings, in place (a watch event is one line). */
static size_t minify(char *s, size_t n)
{
	size_t o = 0;
	int in_str = 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (in_str) {
			if (ch == '\\' && i + 1 < n) {
				s[o++] = ch;
				ch = s[++i];
			} else if (ch == '"') {
				in_str = 0;
			}
		} else if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t') {
			continue;
		} else if (ch == '"') {
			in_str = 1;
		}
		s[o++] = ch;
	}
	return o;
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n, sz);
	if (!p)
		nro_die(NRO_EXIT_TEMP, "out of memory");
	return p;
}

/* Copies the object at token i of j into o, noting its resourceVersion. */
static int obj_take(const struct nro_json *j, int i, struct obj *o)
{
	const jsmntok_t *t = &j->tok[i];
	if (t->type != JSMN_OBJECT)
		return -1;
	int md = nro_json_key(j, i, "metadata");
	if (md < 0 || j->tok[md].type != JSMN_OBJECT)
		return -1;
	if (nro_json_str(j, nro_json_key(j, md, "uid"), o->uid, sizeof o->uid) < 0)
		nro_json_str(j, nro_json_key(j, md, "name"), o->uid, sizeof o->uid);
	int rv = nro_json_key(j, md, "resourceVersion");
	if (rv >= 0 && j->tok[rv].type == JSMN_STRING) {
		o->rv_at = (size_t)(j->tok[rv].start - t->start);
		o->rv_end = (size_t)(j->tok[rv].end - t->start);
	} else {
		o->rv_insert = 1;
		o->rv_comma = j->tok[md].size > 0;
		o->rv_at = o->rv_end = (size_t)(j->tok[md].start + 1 - t->start);
	}
	o->len = (size_t)(t->end - t->start);
	o->text = malloc(o->len + 1);
	if (!o->text)
		nro_die(NRO_EXIT_TEMP, "out of memory");
	memcpy(o->text, j->js + t->start, o->len);
	o->text[o->len] = '\0';
	return 0;
}

/* A PodList's items, or one object (Node, Lease), into set. */
static void set_load(const char *path, int list, struct objset *set)
{
	char *s;
	size_t n;
	if (nro_file_read(path, FILE_MAX, &s, &n) != 0)
		nro_die(NRO_EXIT_USAGE, "%s: %s", path, strerror(errno));
	n = minify(s, n);
	struct nro_json j;
	const char *why = NULL;
	nro_json_init(&j, 64u << 20); /* 10,000-pod lists (bench/apiserver_10k.sh) */
	if (nro_json_parse(&j, s, n, &why) != 0)
		nro_die(NRO_EXIT_USAGE, "%s: %s", path, why);
	int items = list ? nro_json_key(&j, 0, "items") : 0;
	if (list && (items < 0 || j.tok[items].type != JSMN_ARRAY))
		nro_die(NRO_EXIT_USAGE, "%s: not a list (no items array)", path);
	set->n = list ? (size_t)j.tok[items].size : 1;
	set->v = xcalloc(set->n ? set->n : 1, sizeof *set->v);
	size_t k = 0;
	if (!list && obj_take(&j, 0, &set->v[k++]) != 0)
		nro_die(NRO_EXIT_USAGE, "%s: not an object with metadata", path);
	for (int c = list ? nro_json_first(&j, items) : -1; c >= 0; c = nro_json_next(&j, items, c))
		if (obj_take(&j, c, &set->v[k]) == 0)
			k++;
	set->n = k;
	nro_json_free(&j);
	free(s);
}

static int exists(const char *dir, const char *name)
{
	char p[4096];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s", dir, name);
	return stat(p, &st) == 0;
}

static void step_load(unsigned i, const char *dir)
{
	struct step *s = &g.steps[i];
	for (int r = 0; r < R_COUNT; r++) {
		char p[4096];
		snprintf(p, sizeof p, "%s/%s", dir, res_file[r]);
		if (exists(dir, res_file[r])) {
			set_load(p, r == R_PODS, &s->set[r]);
			s->own[r] = 1;
		} else if (i > 0) {
			s->set[r] = g.steps[i - 1].set[r];
		}
	}
	s->gone = exists(dir, "gone");
	s->cut = exists(dir, "cut");
	s->down = exists(dir, "down");
}

static void scenario_load(const char *dir)
{
	char err[4200];
	if (nro_replay_load(&g.r, dir, err, sizeof err) != 0)
		nro_die(NRO_EXIT_USAGE, "--scenario %s", err);
	g.steps = xcalloc(g.r.nsteps, sizeof *g.steps);
	for (unsigned i = 0; i < g.r.nsteps; i++)
		step_load(i, g.r.step_dirs[i]);
}

static void scenario_free(void)
{
	for (unsigned i = 0; i < g.r.nsteps; i++)
		for (int r = 0; r < R_COUNT; r++) {
			if (!g.steps[i].own[r])
				continue;
			for (size_t k = 0; k < g.steps[i].set[r].n; k++)
				free(g.steps[i].set[r].v[k].text);
			free(g.steps[i].set[r].v);
		}
	free(g.steps);
	nro_replay_free(&g.r);
}

/* ---- rendering ---------------------------------------------------------- */

/* o with its resourceVersion set to rv. */
static int obj_put(struct nro_buf *b, const struct obj *o, unsigned rv)
{
	char v[48];
	if (o->rv_insert)
		snprintf(v, sizeof v, "\"resourceVersion\":\"%u\"%s", rv, o->rv_comma ? "," : "");
	else
		snprintf(v, sizeof v, "\"%u\"", rv);
	size_t end = o->rv_insert ? o->rv_end : o->rv_end + 1;
	size_t at = o->rv_insert ? o->rv_at : o->rv_at - 1;
	return nro_buf_add(b, o->text, at) | nro_buf_adds(b, v) |
	       nro_buf_add(b, o->text + end, o->len - end);
}

static int event_put(struct nro_buf *b, const char *type, const struct obj *o, unsigned rv)
{
	int rc = nro_buf_adds(b, "{\"type\":\"") | nro_buf_adds(b, type) |
		 nro_buf_adds(b, "\",\"object\":") | obj_put(b, o, rv);
	return rc | nro_buf_adds(b, "}\n");
}

static const struct obj *find_uid(const struct objset *s, const char *uid)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].uid, uid) == 0)
			return &s->v[i];
	return NULL;
}

static int same(const struct obj *a, const struct obj *b)
{
	return a->len == b->len && memcmp(a->text, b->text, a->len) == 0;
}

/* The events that take a watcher from set a to set b at rv; how many. */
static int diff_put(struct nro_buf *b, const struct objset *from, const struct objset *to,
		    unsigned rv)
{
	int n = 0;
	for (size_t i = 0; i < to->n; i++) {
		const struct obj *old = from ? find_uid(from, to->v[i].uid) : NULL;
		if (!old || !same(old, &to->v[i])) {
			event_put(b, old ? "MODIFIED" : "ADDED", &to->v[i], rv);
			n++;
		}
	}
	for (size_t i = 0; from && i < from->n; i++)
		if (!find_uid(to, from->v[i].uid)) {
			event_put(b, "DELETED", &from->v[i], rv);
			n++;
		}
	return n;
}

static void bookmark_put(struct nro_buf *b, int r, unsigned rv)
{
	char s[200];
	snprintf(s, sizeof s,
		 "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"%s\",\"apiVersion\":\"v1\","
		 "\"metadata\":{\"resourceVersion\":\"%u\"}}}\n",
		 res_kind[r], rv);
	nro_buf_adds(b, s);
}

static void status_put(struct nro_buf *b, unsigned code, const char *reason, const char *msg)
{
	char s[600];
	snprintf(s, sizeof s,
		 "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
		 "\"message\":\"%s\",\"reason\":\"%s\",\"code\":%u}",
		 msg, reason, code);
	nro_buf_adds(b, s);
}

/* Queues r (JSON) with status on c and drops the caller's reference. */
static enum MHD_Result queue_json(struct MHD_Connection *c, unsigned status,
				  struct MHD_Response *r)
{
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, JSONT);
	/* every answer closes its connection: each list and watch of a client
	 * starts on a fresh one (a reconnect is exercised every time) */
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_buf(struct MHD_Connection *c, unsigned status, struct nro_buf *b)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(b->len, b->p, MHD_RESPMEM_MUST_COPY);
	nro_buf_free(b);
	return r ? queue_json(c, status, r) : MHD_NO;
}

static enum MHD_Result reply_status(struct MHD_Connection *c, unsigned code, const char *reason,
				    const char *msg)
{
	struct nro_buf b;
	nro_buf_init(&b, 4096);
	status_put(&b, code, reason, msg);
	return reply_buf(c, code, &b);
}

/* ---- requests ----------------------------------------------------------- */

struct query {
	int watch, bookmarks, have_rv;
	unsigned rv;
	int64_t timeout_ms;
	char selector[512];
};

static const char *arg(struct MHD_Connection *c, const char *key)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

static int truthy(const char *v)
{
	return v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

static void query_read(struct MHD_Connection *c, struct query *q)
{
	const char *v;
	memset(q, 0, sizeof *q);
	q->watch = truthy(arg(c, "watch"));
	q->bookmarks = truthy(arg(c, "allowWatchBookmarks"));
	if ((v = arg(c, "resourceVersion")) && *v) {
		q->have_rv = 1;
		q->rv = (unsigned)strtoul(v, NULL, 10);
	}
	q->timeout_ms = (v = arg(c, "timeoutSeconds")) ? (int64_t)strtoul(v, NULL, 10) * 1000 : 0;
	if ((v = arg(c, "fieldSelector")))
		snprintf(q->selector, sizeof q->selector, "%s", v);
}

/* The oldest resourceVersion still served at step cur (after a "gone"). */
static unsigned oldest_rv(unsigned cur)
{
	for (unsigned s = cur + 1; s-- > 0;)
		if (g.steps[s].gone)
			return s + 1;
	return 0;
}

/* The bearer token matches --token-file's content, re-read now (rotation). */
static int token_ok(struct MHD_Connection *c)
{
	if (!g.c.token_file)
		return 1;
	char *tok;
	size_t n;
	if (nro_replay_token_read(g.c.token_file, &tok, &n) != 0)
		return 0;
	const char *h = nro_replay_bearer(c);
	int ok = h && nro_replay_token_eq(h, strlen(h), tok, n);
	nro_replay_token_free(tok, n);
	return ok;
}

static enum MHD_Result serve_list(struct MHD_Connection *c, int r, unsigned cur)
{
	const char *kind = r == R_PODS ? "PodList" : "NodeList";
	char head[200];
	snprintf(head, sizeof head,
		 "{\"kind\":\"%s\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"%u\"},"
		 "\"items\":[",
		 kind, cur + 1);
	struct nro_buf b;
	nro_buf_init(&b, STREAM_MAX);
	nro_buf_adds(&b, head);
	const struct objset *s = &g.steps[cur].set[r];
	for (size_t i = 0; i < s->n; i++) {
		if (i)
			nro_buf_adds(&b, ",");
		obj_put(&b, &s->v[i], cur + 1);
	}
	nro_buf_adds(&b, "]}");
	return reply_buf(c, MHD_HTTP_OK, &b);
}

/* One watch stream: events are rendered into out a step at a time. */
struct watch {
	int r;
	struct query q;
	unsigned sent;    /* the step the watcher is at */
	int64_t deadline; /* monotonic; INT64_MAX: none */
	struct nro_buf out;
	size_t off;
	int cut_at;       /* end the stream with an error after out[0..cut) */
	size_t cut;
	struct MHD_Connection *c;
};

/* Renders the change into step s (the watcher at s - 1). */
static void watch_step(struct watch *w, unsigned s)
{
	int n = diff_put(&w->out, &g.steps[s - 1].set[w->r], &g.steps[s].set[w->r], s + 1);
	if (n == 0 && w->q.bookmarks)
		bookmark_put(&w->out, w->r, s + 1);
	if (n > 0 && g.steps[s].cut && !atomic_exchange(&g.steps[s].cut_done, 1)) {
		w->cut_at = 1;
		w->cut = w->off + (w->out.len - w->off) / 2;
	}
	w->sent = s;
}

static ssize_t watch_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct watch *w = cls;
	while (w->off >= w->out.len) {
		nro_buf_reset(&w->out);
		w->off = 0;
		unsigned cur = nro_replay_current(&g.r);
		if (atomic_load(&g.r.stopping) || g.steps[cur].down || nro_httpd_peer_gone(w->c))
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (nro_mono_ms() >= w->deadline)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (cur > w->sent) {
			watch_step(w, w->sent + 1);
			continue;
		}
		struct timespec ts = {0, WAIT_TICK_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
	size_t end = w->cut_at ? w->cut : w->out.len;
	if (w->off >= end)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	size_t n = end - w->off < max ? end - w->off : max;
	memcpy(buf, w->out.p + w->off, n);
	w->off += n;
	return (ssize_t)n;
}

static void watch_free(void *cls)
{
	struct watch *w = cls;
	nro_buf_free(&w->out);
	free(w);
}

static enum MHD_Result serve_watch(struct MHD_Connection *c, int r, const struct query *q,
				   unsigned cur)
{
	struct watch *w = xcalloc(1, sizeof *w);
	w->r = r;
	w->q = *q;
	w->c = c;
	w->deadline = q->timeout_ms ? nro_mono_ms() + q->timeout_ms : INT64_MAX;
	nro_buf_init(&w->out, STREAM_MAX);
	if (q->have_rv && q->rv > 0 && q->rv < oldest_rv(cur)) {
		/* as the API server does: 200, then an ERROR event, then the end */
		char msg[100];
		snprintf(msg, sizeof msg, "too old resource version: %u (%u)", q->rv, oldest_rv(cur));
		nro_buf_adds(&w->out, "{\"type\":\"ERROR\",\"object\":");
		status_put(&w->out, 410, "Expired", msg);
		nro_buf_adds(&w->out, "}\n");
		w->deadline = 0;
		w->sent = cur;
	} else if (!q->have_rv || q->rv == 0) {
		diff_put(&w->out, NULL, &g.steps[cur].set[r], cur + 1);
		w->sent = cur;
	} else {
		w->sent = q->rv - 1 < cur ? q->rv - 1 : cur;
	}
	struct MHD_Response *resp =
		MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, watch_read, w, watch_free);
	if (!resp) {
		watch_free(w);
		return MHD_NO;
	}
	return queue_json(c, MHD_HTTP_OK, resp);
}

/* Which resource url and the selector name; -1 when not this node's. */
static int route(const char *url, const struct query *q)
{
	char want[400];
	if (strcmp(url, "/api/v1/pods") == 0) {
		snprintf(want, sizeof want, "spec.nodeName=%s", g.c.node);
		return strcmp(q->selector, want) == 0 ? R_PODS : -2;
	}
	if (strcmp(url, "/api/v1/nodes") == 0) {
		snprintf(want, sizeof want, "metadata.name=%s", g.c.node);
		return strcmp(q->selector, want) == 0 ? R_NODE : -2;
	}
	snprintf(want, sizeof want, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/%s",
		 g.c.node);
	return strcmp(url, want) == 0 ? R_LEASE : -1;
}

static enum MHD_Result serve_api(struct MHD_Connection *c, const char *url)
{
	unsigned cur = nro_replay_current(&g.r);
	if (g.steps[cur].down)
		return MHD_NO; /* the connection is dropped unanswered */
	if (!token_ok(c))
		return reply_status(c, 401, "Unauthorized", "Unauthorized");
	struct query q;
	query_read(c, &q);
	int r = route(url, &q);
	if (r == -2)
		return reply_status(c, 400, "BadRequest", "this stand-in serves only its node's selector");
	if (r < 0)
		return reply_status(c, 404, "NotFound", "the server could not find the requested resource");
	const struct objset *s = &g.steps[cur].set[r];
	if (r == R_LEASE) {
		if (s->n == 0)
			return reply_status(c, 404, "NotFound", "leases.coordination.k8s.io not found");
		struct nro_buf b;
		nro_buf_init(&b, STREAM_MAX);
		obj_put(&b, &s->v[0], cur + 1);
		return reply_buf(c, MHD_HTTP_OK, &b);
	}
	if (q.watch)
		return serve_watch(c, r, &q, cur);
	if (q.have_rv && q.rv > 0 && q.rv < oldest_rv(cur))
		return reply_status(c, 410, "Expired", "too old resource version");
	return serve_list(c, r, cur);
}

static enum MHD_Result on_request(void *ctx, struct MHD_Connection *c, const char *url,
				  const char *method)
{
	(void)ctx;
	nro_debug("%s %s", method, url);
	if (strcmp(url, "/replay/step") == 0)
		return nro_replay_step_reply(&g.r, c, method);
	if (strcmp(method, "GET") != 0)
		return reply_status(c, 405, "MethodNotAllowed", "only GET is served");
	return serve_api(c, url);
}

/* ---- setup -------------------------------------------------------------- */

static const struct nro_optdef opts[] = {
	{"scenario", 0, "NRO_APIREPLAY_SCENARIO", NRO_OPT_STR, &g.c.scenario, NULL, "DIR",
	 "scenario directory with step-000/, step-001/, ..."},
	{"node", 0, "NRO_NODE_NAME", NRO_OPT_STR, &g.c.node, NULL, "NAME",
	 "the node whose pods, Node and Lease are served (required)"},
	{"step-every", 0, "NRO_APIREPLAY_STEP_EVERY", NRO_OPT_DUR, &g.c.step_every_ms, NULL, "D",
	 "advance one scenario step every D"},
	NRO_SERVE_OPTS("NRO_APIREPLAY", g.c.listen, g.c.tls_cert, g.c.tls_key),
	{"token-file", 0, "NRO_APIREPLAY_TOKEN_FILE", NRO_OPT_STR, &g.c.token_file, NULL, "F",
	 "file holding the accepted bearer token (re-read on every request)"},
	{NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
	struct nro_tool t;
	g.c.listen = "127.0.0.1:0";
	nro_tool_init(&t, PROG, SUMMARY, 0, 0, opts, argc, argv);
	if (!g.c.scenario)
		nro_die(NRO_EXIT_USAGE, "--scenario is required (see --help)");
	if (!g.c.node || !g.c.node[0])
		nro_die(NRO_EXIT_USAGE, "--node is required (see --help)");
	if (!g.c.tls_cert != !g.c.tls_key)
		nro_die(NRO_EXIT_USAGE, "--tls-cert and --tls-key go together");
	scenario_load(g.c.scenario);
	struct nro_httpd_cfg hc = {
		.listen = g.c.listen, .flag = "--listen", .tls_cert = g.c.tls_cert,
		.tls_key = g.c.tls_key, .thread_per_connection = 1, .handler = on_request,
	};
	nro_serve_replay(&t, &hc, &g.r, g.c.step_every_ms);
	scenario_free();
	if (t.sigfd >= 0)
		close(t.sigfd);
	return 0;
}
