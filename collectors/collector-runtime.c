/*
 * collector-runtime: the container runtime's own view of its health, over
 * its CRI gRPC socket: runtime.v1.RuntimeService/Version and /Status every
 * interval. Publishes (lib/wire/names_services.h, object Node):
 *   cri.reachable            true | false (attr error: connect, timeout, protocol, grpc)
 *   cri.runtime              runtime_name (attrs version, api_version)
 *   cri.condition.<Type>     true | false (attrs reason, message), RuntimeReady
 *                            and NetworkReady always (missing = false)
 *   cri.call.duration        seconds per call (metric, attr rpc.method)
 * An unreachable, slow or garbled runtime is a failed poll (error record)
 * as well as cri.reachable = false, so a rule sees it either way.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "net/cri.pb-c.h"
#include "net/grpc.h"
#include "run/collector.h"
#include "wire/names_services.h"

#define SERVICE "runtime.v1.RuntimeService"
#define ANSWER_MAX (1u << 20)
#define CONDITIONS_MAX 16
#define TYPE_MAX 64

/* crictl's search order when no endpoint is given */
static const char *const default_endpoints[] = {
	"unix:///run/containerd/containerd.sock",
	"unix:///run/crio/crio.sock",
	"unix:///var/run/cri-dockerd.sock",
};
#define NDEFAULTS (sizeof default_endpoints / sizeof default_endpoints[0])

struct runtime {
	const char *endpoint_opt; /* --runtime-endpoint; NULL = search */
	int64_t timeout_ms;
	struct nro_grpc *g;       /* client for endpoint */
	char endpoint[256];       /* the unix:// URL in use */
	struct nro_buf answer;
	double took_s[2];         /* Version, Status; < 0 = not called */
};

/* "unix:///run/x.sock" or "/run/x.sock" to a path; NULL if neither. */
static const char *endpoint_path(const char *ep)
{
	if (strncmp(ep, "unix://", 7) == 0)
		ep += 7;
	return ep[0] == '/' ? ep : NULL;
}

/* Picks the endpoint for this poll: the flag, else the first default whose
 * socket exists (crictl tries them in order); NULL if there is none. */
static const char *choose_endpoint(const struct runtime *r)
{
	if (r->endpoint_opt)
		return r->endpoint_opt;
	for (size_t i = 0; i < NDEFAULTS; i++) {
		struct stat st;
		if (stat(endpoint_path(default_endpoints[i]), &st) == 0 && S_ISSOCK(st.st_mode))
			return default_endpoints[i];
	}
	return NULL;
}

/* Fills g as a failed connect when no default socket exists. */
static void no_runtime(struct runtime *r, struct nro_grpc_result *g)
{
	memset(g, 0, sizeof *g);
	g->fail = NRO_GRPC_CONNECT;
	g->err = NRO_ERR_CONNECT;
	g->grpc_status = -1;
	snprintf(r->endpoint, sizeof r->endpoint, "%s", default_endpoints[0]);
	snprintf(g->message, sizeof g->message,
		 "no CRI socket found (tried %s, %s, %s); set --runtime-endpoint",
		 endpoint_path(default_endpoints[0]), endpoint_path(default_endpoints[1]),
		 endpoint_path(default_endpoints[2]));
}

static int connect_endpoint(struct runtime *r, const char *ep, struct nro_fetch *res)
{
	if (r->g && strcmp(ep, r->endpoint) == 0)
		return 0;
	nro_grpc_free(r->g);
	r->g = NULL;
	snprintf(r->endpoint, sizeof r->endpoint, "%s", ep);
	char err[256];
	if (!(r->g = nro_grpc_new(endpoint_path(ep), err, sizeof err))) {
		res->err = NRO_ERR_OTHER;
		snprintf(res->message, sizeof res->message, "%s: %s", ep, err);
		return -1;
	}
	return 0;
}

static struct nro_object node_object(struct nro_collector *c)
{
	struct nro_object o = {NRO_OBJ_NODE, {"", 0}, {"", 0}, {"", 0}, nro_s(c->node)};
	return o;
}

static void emit_bool(struct nro_collector *c, const char *key, int yes, struct nro_attr *attrs,
		      uint16_t nattrs)
{
	struct nro_state s = {node_object(c), nro_s(key), nro_s(yes ? "true" : "false"),
			      yes ? 1 : 0, 0, nattrs, attrs};
	nro_emit_state(c, &s);
}

static const char *fail_name(int fail)
{
	switch (fail) {
	case NRO_GRPC_CONNECT: return "connect";
	case NRO_GRPC_TIMEOUT: return "timeout";
	case NRO_GRPC_STATUS: return "grpc";
	default: return "protocol";
	}
}

/* A failed call: cri.reachable = false, and the poll fails with its reason. */
static int unreachable(struct nro_collector *c, struct runtime *r, const struct nro_grpc_result *g,
		       struct nro_fetch *res)
{
	char code[16];
	snprintf(code, sizeof code, "%d", g->grpc_status);
	struct nro_attr a[4] = {
		{nro_s(NRO_CRI_ATTR_ENDPOINT), nro_s(r->endpoint)},
		{nro_s(NRO_CRI_ATTR_ERROR), nro_s(fail_name(g->fail))},
		{nro_s(NRO_CRI_ATTR_MESSAGE), nro_s(g->message)},
		{nro_s(NRO_CRI_ATTR_GRPC_STATUS), nro_s(code)},
	};
	emit_bool(c, NRO_CRI_REACHABLE, 0, a, g->fail == NRO_GRPC_STATUS ? 4 : 3);
	res->err = g->err;
	res->http_status = g->http_status;
	snprintf(res->message, sizeof res->message, "%s: %s", r->endpoint, g->message);
	return -1;
}

/* One call: serializes req, unpacks the answer as desc. NULL on failure
 * (g says why). The caller frees the answer with protobuf_c_message_free_unpacked. */
static ProtobufCMessage *call(struct runtime *r, const char *method, const ProtobufCMessage *req,
			      const ProtobufCMessageDescriptor *desc, double *took_s,
			      struct nro_grpc_result *g)
{
	uint8_t out[256];
	size_t n = protobuf_c_message_get_packed_size(req);
	if (n > sizeof out) {
		memset(g, 0, sizeof *g);
		g->fail = NRO_GRPC_PROTOCOL;
		snprintf(g->message, sizeof g->message, "%s: request too large", method);
		return NULL;
	}
	protobuf_c_message_pack(req, out);
	char path[96];
	snprintf(path, sizeof path, "/" SERVICE "/%s", method);
	int rc = nro_grpc_unary(r->g, path, out, n, r->timeout_ms, &r->answer, g);
	*took_s = g->duration_us / 1e6;
	if (rc != 0)
		return NULL;
	ProtobufCMessage *m =
		protobuf_c_message_unpack(desc, NULL, r->answer.len, (const uint8_t *)r->answer.p);
	if (!m) {
		g->fail = NRO_GRPC_PROTOCOL;
		g->err = NRO_ERR_PARSE;
		snprintf(g->message, sizeof g->message, "%s: answer of %zu bytes is not a %s", path,
			 r->answer.len, desc->name);
	}
	return m;
}

static void emit_condition(struct nro_collector *c, const char *type, int status,
			   const char *reason, const char *message)
{
	char key[sizeof NRO_CRI_CONDITION_PREFIX + TYPE_MAX];
	snprintf(key, sizeof key, NRO_CRI_CONDITION_PREFIX "%s", type);
	struct nro_attr a[2];
	uint16_t n = 0;
	if (reason && *reason)
		a[n++] = (struct nro_attr){nro_s(NRO_CRI_ATTR_REASON), nro_s(reason)};
	if (message && *message)
		a[n++] = (struct nro_attr){nro_s(NRO_CRI_ATTR_MESSAGE), nro_s(message)};
	emit_bool(c, key, status, a, n);
}

/* A condition type becomes part of a key: a CamelCase word, as the CRI has them. */
static int type_ok(const char *t)
{
	size_t n = t ? strlen(t) : 0;
	if (n == 0 || n > TYPE_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
		      (t[i] >= '0' && t[i] <= '9') || t[i] == '_' || t[i] == '-' || t[i] == '.'))
			return 0;
	return 1;
}

static int has_condition(const Runtime__V1__RuntimeStatus *st, const char *type)
{
	for (size_t i = 0; st && i < st->n_conditions; i++)
		if (st->conditions[i]->type && strcmp(st->conditions[i]->type, type) == 0)
			return 1;
	return 0;
}

/* Every condition the runtime gave, plus the two the kubelet needs when missing. */
static void emit_conditions(struct nro_collector *c, const Runtime__V1__StatusResponse *s)
{
	const Runtime__V1__RuntimeStatus *st = s->status;
	size_t n = st ? st->n_conditions : 0;
	if (n > CONDITIONS_MAX) {
		c->degraded = 1;
		snprintf(c->degraded_msg, sizeof c->degraded_msg,
			 "Status: %zu conditions, only the first %d published", n, CONDITIONS_MAX);
		n = CONDITIONS_MAX;
	}
	unsigned bad = 0;
	for (size_t i = 0; i < n; i++) {
		const Runtime__V1__RuntimeCondition *k = st->conditions[i];
		if (type_ok(k->type))
			emit_condition(c, k->type, k->status, k->reason, k->message);
		else
			bad++;
	}
	if (bad && !c->degraded) {
		c->degraded = 1;
		snprintf(c->degraded_msg, sizeof c->degraded_msg,
			 "Status: %u conditions without a usable type skipped", bad);
	}
	const char *needed[] = {"RuntimeReady", "NetworkReady"};
	for (size_t i = 0; i < 2; i++)
		if (!has_condition(st, needed[i]))
			emit_condition(c, needed[i], 0, NRO_CRI_REASON_MISSING,
				       "the runtime's Status has no such condition");
}

static void emit_version(struct nro_collector *c, struct runtime *r,
			 const Runtime__V1__VersionResponse *v)
{
	struct nro_attr a[3] = {
		{nro_s(NRO_CRI_ATTR_VERSION), nro_s(v->runtime_version)},
		{nro_s(NRO_CRI_ATTR_API_VERSION), nro_s(v->runtime_api_version)},
		{nro_s(NRO_CRI_ATTR_ENDPOINT), nro_s(r->endpoint)},
	};
	struct nro_state s = {node_object(c), nro_s(NRO_CRI_RUNTIME), nro_s(v->runtime_name), 0, 0,
			      3, a};
	nro_emit_state(c, &s);
}

static void emit_durations(struct nro_collector *c, const struct runtime *r)
{
	const char *methods[2] = {"Version", "Status"};
	for (int i = 0; i < 2; i++)
		if (r->took_s[i] >= 0)
			nro_emit_gauge(c, NRO_CRI_CALL_DURATION, "s", r->took_s[i], "rpc.service",
				       SERVICE, "rpc.method", methods[i], NULL);
}

static int poll_runtime(struct nro_collector *c, struct runtime *r, struct nro_fetch *res)
{
	struct nro_grpc_result g;
	const char *ep = choose_endpoint(r);
	if (!ep) {
		no_runtime(r, &g);
		return unreachable(c, r, &g, res);
	}
	if (connect_endpoint(r, ep, res) != 0)
		return -1;
	Runtime__V1__VersionRequest vreq = RUNTIME__V1__VERSION_REQUEST__INIT;
	vreq.version = "v1";
	ProtobufCMessage *v = call(r, "Version", &vreq.base, &runtime__v1__version_response__descriptor,
				   &r->took_s[0], &g);
	if (!v)
		return unreachable(c, r, &g, res);
	Runtime__V1__StatusRequest sreq = RUNTIME__V1__STATUS_REQUEST__INIT;
	ProtobufCMessage *s = call(r, "Status", &sreq.base, &runtime__v1__status_response__descriptor,
				   &r->took_s[1], &g);
	if (!s) {
		protobuf_c_message_free_unpacked(v, NULL);
		return unreachable(c, r, &g, res);
	}
	struct nro_attr a[1] = {{nro_s(NRO_CRI_ATTR_ENDPOINT), nro_s(r->endpoint)}};
	emit_bool(c, NRO_CRI_REACHABLE, 1, a, 1);
	emit_version(c, r, (const Runtime__V1__VersionResponse *)v);
	emit_conditions(c, (const Runtime__V1__StatusResponse *)s);
	protobuf_c_message_free_unpacked(v, NULL);
	protobuf_c_message_free_unpacked(s, NULL);
	return 0;
}

static int poll(struct nro_collector *c, void *ctx, struct nro_fetch *res)
{
	struct runtime *r = ctx;
	r->took_s[0] = r->took_s[1] = -1;
	c->target = r->endpoint; /* the health record names the socket polled */
	int rc = poll_runtime(c, r, res);
	emit_durations(c, r);
	res->bytes = r->answer.len;
	return rc;
}

int main(int argc, char **argv)
{
	static struct runtime r = {.timeout_ms = 5000};
	const struct nro_optdef opts[] = {
		{"runtime-endpoint", 'r', "NRO_RUNTIME_ENDPOINT", NRO_OPT_STR, &r.endpoint_opt, NULL,
		 "URL",
		 "the CRI socket unix:///PATH (default: as crictl, see above)"},
		{"timeout", 0, "NRO_TIMEOUT", NRO_OPT_DUR, &r.timeout_ms, NULL, "D",
		 "per-call timeout (default 5s)"},
		{0},
	};
	struct nro_collector c;
	nro_collector_init_local(&c, "collector-runtime",
				 "Ask the container runtime over its CRI socket (gRPC, RuntimeService\n"
				 "Version and Status, every --interval, default 10s) whether it is ready:\n"
				 "cri.reachable, cri.runtime, cri.condition.RuntimeReady and .NetworkReady\n"
				 "(reason, message), and the call latency cri.call.duration. An unreachable,\n"
				 "slow or garbled runtime is a failed poll and cri.reachable = false.\n"
				 "Socket: --runtime-endpoint, else the first present of (crictl's order)\n"
				 "unix:///run/containerd/containerd.sock, unix:///run/crio/crio.sock,\n"
				 "unix:///var/run/cri-dockerd.sock. Needs connect permission on it, no more.",
				 "cri", 10000, opts, argc, argv);
	if (r.endpoint_opt && !endpoint_path(r.endpoint_opt))
		nro_die(NRO_EXIT_USAGE, "--runtime-endpoint: not a unix:///PATH endpoint: %s",
			r.endpoint_opt);
	if (r.timeout_ms <= 0)
		nro_die(NRO_EXIT_USAGE, "--timeout must be above 0");
	nro_buf_init(&r.answer, ANSWER_MAX);
	int rc = nro_collector_run(&c, poll, &r);
	nro_grpc_free(r.g);
	nro_buf_free(&r.answer);
	return rc;
}
