/*
 * kubelet-replay: serves recorded kubelet responses over HTTP(S), on
 * libmicrohttpd (one thread per connection, so delays simply block).
 * The demo's embedded kubelet and the tests' canned-reply server.
 * The file format is described in SUMMARY below and docs/kubelet-replay.md.
 */
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/file.h"
#include "base/log.h"
#include "net/authz.h"
#include "net/httpd.h"
#include "net/replay.h"
#include "run/serve.h"
#include "run/tool.h"

#define PROG "kubelet-replay"
#define NAME_MAX_ 240                 /* mapped file name, before the extension */
#define BODY_FILE_MAX (1024ull << 20) /* a fixture file is read whole: 1 GiB cap */
#define REPEAT_TOTAL_MAX (1ull << 40) /* a synthetic body is at most 1 TiB */
#define DENY_MAX 32

static const char SUMMARY[] =
	"Serves recorded kubelet responses over HTTP(S). Prints its base URL as the\n"
	"first line on stdout (--listen port 0, the default, picks a free port).\n"
	"\n"
	"Files: a request path (and query) maps to a file name: the leading '/' is\n"
	"dropped, '/' and '?' become '_', then NAME.json, NAME.txt and NAME are tried\n"
	"(/stats/summary -> stats_summary.json, /healthz?verbose -> healthz_verbose.txt).\n"
	"/healthz, /healthz/* and /healthz?verbose answer \"ok\" unless a file says\n"
	"otherwise; any other unknown path is 404 \"404 page not found\".\n"
	"\n"
	"Faults, per file, in sidecar files next to it (FILE = e.g. stats_summary.json):\n"
	"  FILE.status    HTTP status to answer with (100-599), body = FILE\n"
	"  FILE.delay     wait this long before answering (500ms, 3s, ...), or\n"
	"                 \"forever\": hold the connection until shutdown\n"
	"  FILE.truncate  send only this many body bytes, announcing the full\n"
	"                 Content-Length, then drop the connection\n"
	"  FILE.repeat    send FILE's content N times as one body (huge bodies)\n"
	"  FILE.chunked   (any content) send the body chunked, without Content-Length,\n"
	"                 as the kubelet does for large bodies\n"
	"\n"
	"Scenarios: --scenario DIR holds step-000/, step-001/, ... A path is looked\n"
	"up in the current step, then earlier steps down to step-000, then DIR/base/,\n"
	"then --dir. The step advances every --step-every D (stopping at the last,\n"
	"or wrapping with --loop), and on POST /replay/step or GET /replay/step?next;\n"
	"GET /replay/step answers the current step number. /replay/* needs no auth.\n"
	"\n"
	"Auth: with --token (or --token-file), a request needs \"Authorization: Bearer\n"
	"TOKEN\" else 401 \"Unauthorized\"; a --deny-token is answered 403 in the kubelet's\n"
	"words. With --client-ca (HTTPS only) a client certificate signed by that CA\n"
	"authenticates; without one the token decides (or 401 when there is none).";

struct cfg {
	const char *dir, *scenario, *listen;
	const char *tls_cert, *tls_key, *client_ca;
	const char *token_arg, *token_file;
	int64_t step_every_ms;
	int loop;
	const char *deny[DENY_MAX];
	size_t ndeny;
};

static struct {
	struct cfg c;
	char *token; /* accepted bearer token, or NULL */
	size_t token_len;
	struct nro_replay r; /* the scenario's steps (none with --dir alone) */
	char *base_dir;
	int auth_required;
} g;

/* ---- small helpers ------------------------------------------------------ */

static int add_deny(void *dst, const char *value, char *err, size_t errlen)
{
	struct cfg *c = dst;
	const char *p = value;
	while (*p) {
		size_t n = strcspn(p, ",");
		if (n > 0) {
			if (c->ndeny >= DENY_MAX) {
				snprintf(err, errlen, "at most %d deny tokens", DENY_MAX);
				return -1;
			}
			char *s = strndup(p, n);
			if (!s) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			c->deny[c->ndeny++] = s;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}


static int is_regular(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- scenario ----------------------------------------------------------- */

static char *path_join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);
	if (!p)
		nro_die(NRO_EXIT_TEMP, "out of memory");
	snprintf(p, n, "%s/%s", a, b);
	return p;
}

/* The scenario's steps into g.r, and its base/ directory when there is one. */
static void scenario_load(const char *dir)
{
	char err[4200];
	if (nro_replay_load(&g.r, dir, err, sizeof err) != 0)
		nro_die(NRO_EXIT_USAGE, "--scenario %s", err);
	g.r.loop = g.c.loop;
	char *base = path_join(dir, "base");
	if (is_dir(base))
		g.base_dir = base;
	else
		free(base);
}

/* ---- request handling --------------------------------------------------- */

struct found {
	char path[4096];
	const char *ext;
};

/* Looks name up in the layers; fills f and returns 1 when found. */
static int lookup(const char *name, struct found *f)
{
	static const char *exts[] = {".json", ".txt", ""};
	const char *layers[NRO_REPLAY_STEPS_MAX + 2];
	size_t n = 0;
	if (g.r.nsteps) {
		for (unsigned s = nro_replay_current(&g.r) + 1; s-- > 0;)
			layers[n++] = g.r.step_dirs[s];
		if (g.base_dir)
			layers[n++] = g.base_dir;
	}
	if (g.c.dir)
		layers[n++] = g.c.dir;
	for (size_t l = 0; l < n; l++)
		for (size_t e = 0; e < sizeof exts / sizeof exts[0]; e++) {
			int w = snprintf(f->path, sizeof f->path, "%s/%s%s", layers[l], name, exts[e]);
			if (w < 0 || (size_t)w >= sizeof f->path)
				continue;
			if (is_regular(f->path)) {
				f->ext = exts[e];
				return 1;
			}
		}
	return 0;
}

/* Reads sidecar FILE.kind into out (trimmed). 1 found, 0 absent. */
static int sidecar(const char *file, const char *kind, char *out, size_t outlen)
{
	char p[4200];
	snprintf(p, sizeof p, "%s.%s", file, kind);
	char *b;
	size_t len;
	if (nro_file_read(p, 256, &b, &len) != 0)
		return 0;
	snprintf(out, outlen, "%s", b);
	free(b);
	nro_replay_trim(out);
	return 1;
}

struct body {
	char *data;
	size_t len;
	uint64_t total;    /* len * repeat */
	uint64_t truncate; /* UINT64_MAX = none */
	int chunked;
};

static ssize_t body_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct body *b = cls;
	if (pos >= b->truncate)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (pos >= b->total)
		return MHD_CONTENT_READER_END_OF_STREAM;
	uint64_t end = b->total < b->truncate ? b->total : b->truncate;
	uint64_t want = end - pos;
	if (want > max)
		want = max;
	size_t done = 0;
	while (done < want) {
		size_t off = (size_t)((pos + done) % b->len);
		size_t n = b->len - off;
		if (n > want - done)
			n = (size_t)(want - done);
		memcpy(buf + done, b->data + off, n);
		done += n;
	}
	return (ssize_t)done;
}

static void body_free(void *cls)
{
	struct body *b = cls;
	free(b->data);
	free(b);
}

#define TEXT "text/plain; charset=utf-8"

static const char *content_type(const char *name, const char *ext, const char *data, size_t len)
{
	if (strcmp(ext, ".json") == 0)
		return "application/json";
	if (strcmp(ext, ".txt") == 0)
		return strncmp(name, "metrics", 7) == 0 ? "text/plain; version=0.0.4; charset=utf-8"
						       : TEXT;
	size_t i = 0;
	while (i < len && (data[i] == ' ' || data[i] == '\n' || data[i] == '\t' || data[i] == '\r'))
		i++;
	if (i < len && (data[i] == '{' || data[i] == '['))
		return "application/json";
	return TEXT;
}

struct qbuf {
	char s[2048];
	size_t len;
	int overflow;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	(void)kind;
	struct qbuf *q = cls;
	int n = snprintf(q->s + q->len, sizeof q->s - q->len, "%s%s%s%s", q->len ? "&" : "", key,
			 value ? "=" : "", value ? value : "");
	if (n < 0 || (size_t)n >= sizeof q->s - q->len) {
		q->overflow = 1;
		return MHD_NO;
	}
	q->len += (size_t)n;
	return MHD_YES;
}

/* Maps path + query to a file name; returns 0, or -1 when unusable. */
static int map_name(const char *url, const char *query, char *out, size_t outlen)
{
	while (*url == '/')
		url++;
	int n = snprintf(out, outlen, "%s%s%s", url, *query ? "?" : "", query);
	if (n <= 0 || (size_t)n >= outlen || n > NAME_MAX_)
		return -1;
	for (char *p = out; *p; p++)
		if (*p == '/' || *p == '?')
			*p = '_';
	if (out[0] == '.' || out[0] == '\0')
		return -1;
	return 0;
}


static const char *short_subresource(const char *url)
{
	const char *s = nro_kubelet_subresource(url);
	return s + strlen("nodes/");
}

/* A --deny-token: 403 in the kubelet's words. */
static int is_denied(const char *tok, size_t tl)
{
	for (size_t i = 0; i < g.c.ndeny; i++)
		if (nro_replay_token_eq(tok, tl, g.c.deny[i], strlen(g.c.deny[i])))
			return 1;
	return 0;
}

static int forbid(struct MHD_Connection *c, const char *url, enum MHD_Result *ret)
{
	char msg[256];
	snprintf(msg, sizeof msg,
		 "Forbidden (user=system:serviceaccount:replay:denied, verb=get, "
		 "resource=nodes, subresource(s)=[%s])\n",
		 short_subresource(url));
	*ret = nro_httpd_reply(c, MHD_HTTP_FORBIDDEN, TEXT, msg);
	return 403;
}

static int unauthorized(struct MHD_Connection *c, enum MHD_Result *ret)
{
	*ret = nro_httpd_reply(c, MHD_HTTP_UNAUTHORIZED, TEXT, "Unauthorized\n");
	return 401;
}

/* The bearer token decides: 0 allowed, else the status queued into *ret. */
static int authorize_token(struct MHD_Connection *c, const char *url, enum MHD_Result *ret,
			   char *who, size_t wholen)
{
	const char *tok = nro_replay_bearer(c);
	if (!tok)
		return g.auth_required ? unauthorized(c, ret) : 0;
	size_t tl = strlen(tok);
	if (is_denied(tok, tl)) {
		snprintf(who, wholen, "denied-token");
		return forbid(c, url, ret);
	}
	if (g.token && nro_replay_token_eq(tok, tl, g.token, g.token_len)) {
		snprintf(who, wholen, "token");
		return 0;
	}
	if (!g.auth_required)
		return 0;
	snprintf(who, wholen, "bad-token");
	return unauthorized(c, ret);
}

/* 0 = allowed; otherwise the status already queued into *ret. A verified
 * client certificate wins; otherwise the token decides. */
static int authorize(struct MHD_Connection *c, const char *url, enum MHD_Result *ret,
		     char *who, size_t wholen)
{
	snprintf(who, wholen, "anonymous");
	if (g.c.client_ca) {
		char cn[256];
		int v = nro_httpd_client_cert(c, cn, sizeof cn);
		if (v == 1) {
			snprintf(who, wholen, "cert:%s", cn);
			return 0;
		}
		if (v < 0)
			snprintf(who, wholen, "untrusted-cert");
	}
	return authorize_token(c, url, ret, who, wholen);
}

/* How a fixture is answered, from its sidecar files. */
struct plan {
	unsigned status;
	uint64_t truncate, repeat;
	int64_t delay_ms;
	int forever, chunked;
};

/* Fills p from FILE.status, .delay, .truncate, .repeat, .chunked. Returns
 * NULL, or the sidecar with a bad value (its text in v). */
static const char *read_plan(const char *file, struct plan *p, char *v, size_t vlen)
{
	*p = (struct plan){.status = MHD_HTTP_OK, .truncate = UINT64_MAX, .repeat = 1};
	uint64_t s;
	if (sidecar(file, "status", v, vlen)) {
		if (nro_parse_u64(v, &s) != 0 || s < 100 || s > 599)
			return "status";
		p->status = (unsigned)s;
	}
	if (sidecar(file, "delay", v, vlen)) {
		if (strcmp(v, "forever") == 0)
			p->forever = 1;
		else if (nro_parse_duration(v, &p->delay_ms) != 0)
			return "delay";
	}
	if (sidecar(file, "truncate", v, vlen) && nro_parse_u64(v, &p->truncate) != 0)
		return "truncate";
	if (sidecar(file, "repeat", v, vlen) && (nro_parse_u64(v, &p->repeat) != 0 || p->repeat == 0))
		return "repeat";
	if (sidecar(file, "chunked", v, vlen))
		p->chunked = 1;
	return NULL;
}

/* Waits out the plan's delay. 0, or -1 when the request is to be dropped:
 * a held request ends without an answer at shutdown or when its client leaves. */
static int hold(struct MHD_Connection *c, const struct plan *p)
{
	int64_t waited = 0;
	while (p->forever || waited < p->delay_ms) {
		if (atomic_load(&g.r.stopping) || nro_httpd_peer_gone(c))
			return -1;
		int64_t step = p->forever ? 50 : p->delay_ms - waited < 50 ? p->delay_ms - waited : 50;
		sleep_ms(step);
		waited += step;
	}
	return atomic_load(&g.r.stopping) ? -1 : 0;
}

/* Answers with the fixture's content as the plan says. */
static enum MHD_Result serve_file(struct MHD_Connection *c, const char *name,
				  const struct found *f, const struct plan *p)
{
	struct body *b = calloc(1, sizeof *b);
	if (!b)
		return MHD_NO;
	if (nro_file_read(f->path, BODY_FILE_MAX, &b->data, &b->len) != 0) {
		nro_warn("%s: %s", f->path, strerror(errno));
		free(b);
		return nro_httpd_reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, TEXT,
				       "kubelet-replay: cannot read the fixture\n");
	}
	uint64_t repeat = b->len == 0 ? 1 : p->repeat;
	if (b->len && repeat > REPEAT_TOTAL_MAX / b->len)
		repeat = REPEAT_TOTAL_MAX / b->len;
	b->total = (uint64_t)b->len * repeat;
	b->truncate = p->truncate < b->total ? p->truncate : UINT64_MAX;
	b->chunked = p->chunked;
	struct MHD_Response *r = MHD_create_response_from_callback(
		p->chunked ? MHD_SIZE_UNKNOWN : b->total, 64 * 1024, body_reader, b, body_free);
	if (!r) {
		body_free(b);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				content_type(name, f->ext, b->data, b->len));
	enum MHD_Result ret = MHD_queue_response(c, p->status, r);
	MHD_destroy_response(r);
	return ret;
}

/* No fixture for the request: /healthz and below answer ok, the rest 404. */
static enum MHD_Result not_found(struct MHD_Connection *c, const char *method, const char *url,
				 const struct qbuf *q)
{
	int hz = !q->overflow && (strcmp(url, "/healthz") == 0 || strncmp(url, "/healthz/", 9) == 0);
	nro_debug("%s %s%s%s -> %d (step %u)", method, url, q->len ? "?" : "", q->s,
		  hz ? 200 : 404, nro_replay_current(&g.r));
	if (hz)
		return nro_httpd_reply(c, MHD_HTTP_OK, TEXT, "ok");
	return nro_httpd_reply(c, MHD_HTTP_NOT_FOUND, TEXT, "404 page not found\n");
}

/* A GET or HEAD of a kubelet path, once authorized. */
static enum MHD_Result serve_path(struct MHD_Connection *c, const char *url, const char *method,
				  const char *who)
{
	struct qbuf q = {.len = 0};
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &q);
	char name[NAME_MAX_ + 16];
	struct found f;
	if (q.overflow || map_name(url, q.s, name, sizeof name) != 0 || !lookup(name, &f))
		return not_found(c, method, url, &q);
	char v[256];
	struct plan p;
	const char *bad = read_plan(f.path, &p, v, sizeof v);
	if (bad) {
		nro_warn("%s.%s: bad value '%s'", f.path, bad, v);
		return nro_httpd_reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, TEXT,
				       "kubelet-replay: bad sidecar file\n");
	}
	nro_debug("%s %s%s%s -> %u %s (step %u, %s)%s", method, url, q.len ? "?" : "", q.s, p.status,
		  f.path, nro_replay_current(&g.r), who, p.forever ? " delay forever" : "");
	if (hold(c, &p) != 0) {
		nro_debug("%s %s: dropped while delayed", method, url);
		return MHD_NO;
	}
	return serve_file(c, name, &f, &p);
}

static int method_is(const char *method, const char *a, const char *b, const char *c3)
{
	return strcmp(method, a) == 0 || strcmp(method, b) == 0 || (c3 && strcmp(method, c3) == 0);
}

static enum MHD_Result on_request(void *ctx, struct MHD_Connection *c, const char *url,
				  const char *method)
{
	(void)ctx;
	if (strcmp(url, "/replay/step") == 0) {
		if (!method_is(method, "GET", "POST", "HEAD"))
			return nro_httpd_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, TEXT, "405 method not allowed\n");
		nro_debug("%s %s", method, url);
		return nro_replay_step_reply(&g.r, c, method);
	}
	if (!method_is(method, "GET", "HEAD", NULL)) {
		nro_debug("%s %s -> 405", method, url);
		return nro_httpd_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, TEXT, "405 method not allowed\n");
	}
	enum MHD_Result ret = MHD_NO;
	char who[300];
	int a = authorize(c, url, &ret, who, sizeof who);
	if (a) {
		nro_debug("%s %s -> %d (%s)", method, url, a, who);
		return ret;
	}
	return serve_path(c, url, method, who);
}

/* ---- setup -------------------------------------------------------------- */

static const struct nro_optdef opts[] = {
	{"dir", 0, "NRO_REPLAY_DIR", NRO_OPT_STR, &g.c.dir, NULL, "DIR", "fixture directory"},
	{"scenario", 0, "NRO_REPLAY_SCENARIO", NRO_OPT_STR, &g.c.scenario, NULL, "DIR",
	 "scenario directory with step-000/, step-001/, ... (and base/)"},
	{"step-every", 0, "NRO_REPLAY_STEP_EVERY", NRO_OPT_DUR, &g.c.step_every_ms, NULL, "D",
	 "advance one scenario step every D"},
	{"loop", 0, "NRO_REPLAY_LOOP", NRO_OPT_FLAG, &g.c.loop, NULL, NULL,
	 "after the last step, go back to step-000"},
	NRO_SERVE_OPTS("NRO_REPLAY", g.c.listen, g.c.tls_cert, g.c.tls_key),
	{"client-ca", 0, "NRO_REPLAY_CLIENT_CA", NRO_OPT_STR, &g.c.client_ca, NULL, "F",
	 "accept client certificates signed by this CA"},
	{"token", 0, "NRO_REPLAY_TOKEN", NRO_OPT_STR, &g.c.token_arg, NULL, "T",
	 "accepted bearer token (prefer --token-file: argv is public)"},
	{"token-file", 0, "NRO_REPLAY_TOKEN_FILE", NRO_OPT_STR, &g.c.token_file, NULL, "F",
	 "file holding the accepted bearer token"},
	{"deny-token", 0, "NRO_REPLAY_DENY_TOKEN", NRO_OPT_FUNC, &g.c, add_deny, "T[,T]",
	 "tokens that authenticate but are forbidden (403); repeatable"},
	{NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
};

static void check_cfg(const struct cfg *c)
{
	if (!c->dir && !c->scenario)
		nro_die(NRO_EXIT_USAGE, "one of --dir or --scenario is required (see --help)");
	if (c->dir && !is_dir(c->dir))
		nro_die(NRO_EXIT_USAGE, "--dir %s: not a directory", c->dir);
	if (c->step_every_ms && !c->scenario)
		nro_die(NRO_EXIT_USAGE, "--step-every needs --scenario");
	if (!c->tls_cert != !c->tls_key)
		nro_die(NRO_EXIT_USAGE, "--tls-cert and --tls-key go together");
	if (c->client_ca && !c->tls_cert)
		nro_die(NRO_EXIT_USAGE, "--client-ca needs --tls-cert and --tls-key");
	if (c->token_arg && c->token_file)
		nro_die(NRO_EXIT_USAGE, "--token and --token-file are exclusive");
}

/* The accepted token, from --token-file or --token, into g.token. */
static void load_token(const struct cfg *c)
{
	if (c->token_file) {
		if (nro_replay_token_read(c->token_file, &g.token, &g.token_len) != 0)
			nro_die(NRO_EXIT_USAGE, "--token-file %s: %s", c->token_file,
				errno == EINVAL ? "empty" : strerror(errno));
	} else if (c->token_arg) {
		if (!c->token_arg[0])
			nro_die(NRO_EXIT_USAGE, "--token: empty");
		g.token = strdup(c->token_arg);
		if (!g.token)
			nro_die(NRO_EXIT_TEMP, "out of memory");
		g.token_len = strlen(g.token);
	}
	g.auth_required = g.token != NULL || c->client_ca != NULL;
}

static void release_all(struct nro_tool *t)
{
	nro_replay_token_free(g.token, g.token_len);
	for (size_t i = 0; i < g.c.ndeny; i++)
		free((char *)g.c.deny[i]);
	nro_replay_free(&g.r);
	free(g.base_dir);
	if (t->sigfd >= 0)
		close(t->sigfd);
}

int main(int argc, char **argv)
{
	struct nro_tool t;
	g.c.listen = "127.0.0.1:0";
	nro_tool_init(&t, PROG, SUMMARY, 0, 0, opts, argc, argv);
	check_cfg(&g.c);
	if (g.c.scenario)
		scenario_load(g.c.scenario);
	load_token(&g.c);
	/* one thread per connection: delays block their own connection */
	struct nro_httpd_cfg hc = {
		.listen = g.c.listen, .flag = "--listen", .tls_cert = g.c.tls_cert,
		.tls_key = g.c.tls_key, .client_ca = g.c.client_ca, .thread_per_connection = 1,
		.handler = on_request,
	};
	nro_serve_replay(&t, &hc, &g.r, g.c.step_every_ms);
	release_all(&t);
	return 0;
}
