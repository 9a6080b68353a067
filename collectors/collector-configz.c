/*
 * collector-configz: polls the kubelet's /configz (its running
 * configuration, served on the authenticated port 10250 only) and publishes
 * it as Node states:
 *
 *   kubelet.eviction.hard.<signal>, kubelet.eviction.soft.<signal>
 *       value as written ("100Mi", "10%"); num the bytes (or count) of a
 *       quantity, or the percentage; attrs source=config|default,
 *       unit=By|1|%, grace_period (soft), minimum_reclaim.
 *   kubelet.config.<field>[.<field>...]
 *       every scalar of the configuration (arrays of scalars joined with
 *       ","); num: the number, 1/0 for booleans, seconds for durations
 *       ("5m0s" -> 300), bytes/cores for quantities (systemReserved,
 *       kubeReserved, containerLogMaxSize), the element count for arrays.
 *
 * The kubelet's rule for hard eviction thresholds: its defaults
 * (memory.available<100Mi, nodefs.available<10%, nodefs.inodesFree<5%,
 * imagefs.available<15%, imagefs.inodesFree<5%) apply only when evictionHard
 * is not set; setting any one threshold clears the other defaults. When
 * /configz answers 404 (the read-only port) or 403, the collector says so
 * once and publishes those defaults with source=default, so the analyzer
 * can still use them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/collector.h"
#include "wire/names.h"
#include "parse/json.h"
#include "base/log.h"
#include "base/quantity.h"

#define TARGET "/configz"
#define BODY_MAX (4u << 20)   /* a /configz is a few KiB */
#define LEAVES_MAX 2000       /* config states per poll */
#define DEPTH_MAX 8
#define VALUE_MAX 1024

static const char *const default_hard[][2] = {
	{"memory.available", "100Mi"}, {"nodefs.available", "10%"},
	{"nodefs.inodesFree", "5%"},   {"imagefs.available", "15%"},
	{"imagefs.inodesFree", "5%"},
};

/* ---- numbers ------------------------------------------------------------ */

/* A Go time.Duration string ("5m0s", "1h30m", "100ms", "1.5s", "0") in
 * seconds. 0/-1. */
static int parse_go_duration(const char *s, size_t n, double *out)
{
	size_t i = 0;
	int neg = 0;
	if (i < n && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	if (i == n)
		return -1;
	if (n - i == 1 && s[i] == '0') {
		*out = 0;
		return 0;
	}
	double total = 0;
	while (i < n) {
		/* number: digits [. digits] */
		char num[64];
		size_t k = 0;
		int digits = 0;
		while (i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) {
			if (k + 1 >= sizeof num)
				return -1;
			if (s[i] != '.')
				digits = 1;
			num[k++] = s[i++];
		}
		num[k] = '\0';
		if (!digits || memchr(num, '.', k) != strrchr(num, '.'))
			return -1;
		double mult;
		if (i + 1 < n && s[i] == 'n' && s[i + 1] == 's')
			mult = 1e-9, i += 2;
		else if (i + 1 < n && s[i] == 'u' && s[i + 1] == 's')
			mult = 1e-6, i += 2;
		else if (i + 2 < n && (unsigned char)s[i] == 0xc2 && (unsigned char)s[i + 1] == 0xb5 &&
			 s[i + 2] == 's')
			mult = 1e-6, i += 3; /* µs, U+00B5 */
		else if (i + 2 < n && (unsigned char)s[i] == 0xce && (unsigned char)s[i + 1] == 0xbc &&
			 s[i + 2] == 's')
			mult = 1e-6, i += 3; /* μs, U+03BC */
		else if (i + 1 < n && s[i] == 'm' && s[i + 1] == 's')
			mult = 1e-3, i += 2;
		else if (i < n && s[i] == 's')
			mult = 1, i += 1;
		else if (i < n && s[i] == 'm')
			mult = 60, i += 1;
		else if (i < n && s[i] == 'h')
			mult = 3600, i += 1;
		else
			return -1;
		char *end;
		errno = 0;
		double v = strtod(num, &end);
		if (end != num + k || errno)
			return -1;
		total += v * mult;
	}
	*out = neg ? -total : total;
	return 0;
}

/* A quantity as the kubelet reads it, plus "K" for 1000 (seen in hand
 * written configs). 0/-1. */
static int parse_quantity(const char *s, size_t n, double *out)
{
	if (nro_quantity_parse(s, n, out) == 0)
		return 0;
	if (n > 1 && s[n - 1] == 'K' && nro_quantity_parse(s, n - 1, out) == 0) {
		*out *= 1000;
		return 0;
	}
	return -1;
}

/* "10%" -> 10. 0/-1. */
static int parse_percent(const char *s, size_t n, double *out)
{
	if (n < 2 || n > 64 || s[n - 1] != '%')
		return -1;
	char num[64];
	memcpy(num, s, n - 1);
	num[n - 1] = '\0';
	if (!((num[0] >= '0' && num[0] <= '9') || num[0] == '.'))
		return -1;
	char *end;
	errno = 0;
	double v = strtod(num, &end);
	if (*end || errno || v < 0 || v > 100)
		return -1;
	*out = v;
	return 0;
}

/* ---- states ------------------------------------------------------------- */

static struct nro_object node_obj(struct nro_collector *c)
{
	struct nro_object o = {NRO_OBJ_NODE, {"", 0}, {"", 0}, {"", 0}, nro_s(c->node)};
	return o;
}

static int emit(struct nro_collector *c, const char *key, const char *value, double num,
		const struct nro_attr *attrs, uint16_t nattrs)
{
	struct nro_state s = {node_obj(c), nro_s(key), nro_s(value), num, 0, nattrs,
			      (struct nro_attr *)attrs};
	return nro_emit_state(c, &s);
}

static const char *signal_unit(const char *signal)
{
	size_t n = strlen(signal);
	if (n > 10 && strcmp(signal + n - 10, ".available") == 0)
		return strcmp(signal, "pid.available") == 0 ? "1" : "By";
	if (n > 11 && strcmp(signal + n - 11, ".inodesFree") == 0)
		return "1";
	return "";
}

/* Publishes kubelet.eviction.<kind>.<signal>. */
static void emit_threshold(struct nro_collector *c, const char *kind, const char *signal,
			   const char *value, const char *source, const char *grace,
			   const char *reclaim)
{
	char key[300];
	snprintf(key, sizeof key, NRO_K_EVICTION "%s.%s", kind, signal);
	double num = 0;
	const char *unit = signal_unit(signal);
	size_t n = strlen(value);
	if (parse_percent(value, n, &num) == 0)
		unit = "%";
	else if (parse_quantity(value, n, &num) != 0) {
		nro_debug("%s: '%s' is neither a quantity nor a percentage", key, value);
		num = 0;
		unit = "";
	}
	struct nro_attr attrs[4];
	uint16_t na = 0;
	attrs[na++] = (struct nro_attr){nro_s("source"), nro_s(source)};
	if (*unit)
		attrs[na++] = (struct nro_attr){nro_s("unit"), nro_s(unit)};
	if (grace && *grace)
		attrs[na++] = (struct nro_attr){nro_s("grace_period"), nro_s(grace)};
	if (reclaim && *reclaim)
		attrs[na++] = (struct nro_attr){nro_s("minimum_reclaim"), nro_s(reclaim)};
	emit(c, key, value, num, attrs, na);
}

static void emit_default_thresholds(struct nro_collector *c)
{
	for (size_t i = 0; i < sizeof default_hard / sizeof default_hard[0]; i++)
		emit_threshold(c, "hard", default_hard[i][0], default_hard[i][1], "default", NULL,
			       NULL);
}

/* The string value of key in object obj (decoded), or "" when absent. */
static void str_in(const struct nro_json *j, int obj, const char *key, char *out, size_t outlen)
{
	out[0] = '\0';
	if (obj < 0)
		return;
	int v = nro_json_key(j, obj, key);
	if (v >= 0 && nro_json_str(j, v, out, outlen) < 0)
		out[0] = '\0';
}

/* Publishes the thresholds of object map (evictionHard or evictionSoft).
 * Returns how many. */
static int emit_thresholds(struct nro_collector *c, const struct nro_json *j, int map,
			   const char *kind, int grace_obj, int reclaim_obj)
{
	int n = 0;
	if (map < 0 || j->tok[map].type != JSMN_OBJECT)
		return 0;
	for (int k = nro_json_first(j, map); k >= 0; k = nro_json_next(j, map, k)) {
		char signal[128], value[128], grace[64], reclaim[64];
		if (nro_json_str(j, k, signal, sizeof signal) <= 0 ||
		    nro_json_str(j, k + 1, value, sizeof value) < 0) {
			nro_debug("evictionH%s: skipping an entry that is not a string", kind + 1);
			continue;
		}
		str_in(j, grace_obj, signal, grace, sizeof grace);
		str_in(j, reclaim_obj, signal, reclaim, sizeof reclaim);
		emit_threshold(c, kind, signal, value, "config", grace, reclaim);
		n++;
	}
	return n;
}

/* ---- the configuration, generically ------------------------------------- */

struct walk {
	struct nro_collector *c;
	const struct nro_json *j;
	unsigned leaves;
	int saw_read_only_port;
};

static int is_quantity_field(const char *name)
{
	static const char *const q[] = {"systemReserved", "kubeReserved", "limits",
					"containerLogMaxSize"};
	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
		if (strcmp(name, q[i]) == 0)
			return 1;
	return 0;
}

static int skip_top(const char *name)
{
	/* published as kubelet.eviction.* */
	return strcmp(name, "evictionHard") == 0 || strcmp(name, "evictionSoft") == 0 ||
	       strcmp(name, "evictionSoftGracePeriod") == 0 ||
	       strcmp(name, "evictionMinimumReclaim") == 0;
}

/* Value text and num of scalar token t. 0, or -1 to skip it. */
static int scalar(const struct nro_json *j, int t, int quantity, char *out, size_t outlen,
		  double *num)
{
	const jsmntok_t *tk = &j->tok[t];
	*num = 0;
	if (tk->type == JSMN_STRING) {
		int n = nro_json_str(j, t, out, outlen);
		if (n < 0)
			return -1;
		double v;
		if (quantity ? parse_quantity(out, (size_t)n, &v) == 0
			     : parse_go_duration(out, (size_t)n, &v) == 0)
			*num = v;
		return 0;
	}
	if (tk->type != JSMN_PRIMITIVE || nro_json_is_null(j, t))
		return -1;
	size_t n = (size_t)(tk->end - tk->start);
	if (n >= outlen)
		return -1;
	memcpy(out, j->js + tk->start, n);
	out[n] = '\0';
	int b;
	double v;
	if (nro_json_bool(j, t, &b) == 0)
		*num = b;
	else if (nro_json_f64(j, t, &v) == 0)
		*num = v;
	return 0;
}

static void leaf(struct walk *w, const char *key, const char *value, double num)
{
	if (w->leaves >= LEAVES_MAX) {
		if (w->leaves++ == LEAVES_MAX)
			nro_warn("/configz: more than %d fields; the rest are not published",
				 LEAVES_MAX);
		return;
	}
	w->leaves++;
	struct nro_attr a = {nro_s("source"), nro_s("config")};
	emit(w->c, key, value, num, &a, 1);
}

static void walk(struct walk *w, int t, char *key, size_t klen, int depth, int quantity)
{
	const struct nro_json *j = w->j;
	const jsmntok_t *tk = &j->tok[t];
	char value[VALUE_MAX];
	double num;
	if (depth > DEPTH_MAX)
		return;
	if (tk->type == JSMN_OBJECT) {
		for (int k = nro_json_first(j, t); k >= 0; k = nro_json_next(j, t, k)) {
			char name[128];
			if (nro_json_str(j, k, name, sizeof name) <= 0)
				continue;
			if (depth == 0 && skip_top(name))
				continue;
			if (depth == 0 && strcmp(name, "readOnlyPort") == 0)
				w->saw_read_only_port = 1;
			int n = snprintf(key + klen, 256 - klen, ".%s", name);
			if (n < 0 || (size_t)n >= 256 - klen)
				continue;
			walk(w, k + 1, key, klen + (size_t)n, depth + 1,
			     quantity || is_quantity_field(name));
			key[klen] = '\0';
		}
		return;
	}
	if (tk->type == JSMN_ARRAY) {
		/* scalars joined with ",", or else each element by index */
		int all_scalar = 1, count = 0;
		for (int e = nro_json_first(j, t); e >= 0; e = nro_json_next(j, t, e)) {
			count++;
			if (j->tok[e].type == JSMN_OBJECT || j->tok[e].type == JSMN_ARRAY)
				all_scalar = 0;
		}
		if (all_scalar) {
			size_t o = 0;
			value[0] = '\0';
			for (int e = nro_json_first(j, t); e >= 0; e = nro_json_next(j, t, e)) {
				char one[VALUE_MAX];
				double ignored;
				if (scalar(j, e, quantity, one, sizeof one, &ignored) != 0)
					continue;
				int n = snprintf(value + o, sizeof value - o, "%s%s", o ? "," : "", one);
				if (n < 0 || (size_t)n >= sizeof value - o)
					break;
				o += (size_t)n;
			}
			if (count > 0)
				leaf(w, key, value, count);
			return;
		}
		int i = 0;
		for (int e = nro_json_first(j, t); e >= 0; e = nro_json_next(j, t, e), i++) {
			int n = snprintf(key + klen, 256 - klen, ".%d", i);
			if (n < 0 || (size_t)n >= 256 - klen)
				break;
			walk(w, e, key, klen + (size_t)n, depth + 1, quantity);
			key[klen] = '\0';
		}
		return;
	}
	if (scalar(j, t, quantity, value, sizeof value, &num) == 0)
		leaf(w, key, value, num);
}

/* ---- poll --------------------------------------------------------------- */

struct ctx {
	struct nro_buf body;
	struct nro_json j;
	long fallback_said; /* the HTTP status last reported as a fallback, or 0 */
};

static int poll(struct nro_collector *c, void *arg, struct nro_fetch *res)
{
	struct ctx *x = arg;
	nro_buf_reset(&x->body);
	if (nro_kubelet_get_buf(c->kubelet, TARGET, &x->body, res) != 0) {
		if (res->http_status != 404 && res->http_status != 403)
			return -1;
		char why[200];
		if (res->http_status == 404)
			snprintf(why, sizeof why,
				 "/configz is not served by this kubelet (404; kubelets serve it on "
				 "the authenticated port, never on the read-only one)");
		else
			snprintf(why, sizeof why,
				 "/configz is forbidden (403: the credentials lack RBAC 'get' on "
				 "nodes/proxy, or nodes/configz)");
		snprintf(c->degraded_msg, sizeof c->degraded_msg,
			 "%s; the analyzer falls back to the kubelet's default eviction thresholds",
			 why);
		if (x->fallback_said != res->http_status) {
			nro_warn("%s", c->degraded_msg);
			x->fallback_said = res->http_status;
		}
		c->degraded = 1;
		c->degraded_quiet = 1;
		emit_default_thresholds(c);
		return 0;
	}
	x->fallback_said = 0;
	const char *why;
	if (nro_json_parse(&x->j, x->body.p, x->body.len, &why) != 0) {
		res->err = NRO_ERR_PARSE;
		snprintf(res->message, sizeof res->message, "GET %s: invalid body: %s", TARGET, why);
		return -1;
	}
	int root = 0;
	int cfg = nro_json_key(&x->j, root, "kubeletconfig");
	if (cfg < 0 && x->j.tok[root].type == JSMN_OBJECT &&
	    (nro_json_key(&x->j, root, "kind") >= 0 || nro_json_key(&x->j, root, "evictionHard") >= 0))
		cfg = root; /* a bare KubeletConfiguration */
	if (cfg < 0 || x->j.tok[cfg].type != JSMN_OBJECT) {
		res->err = NRO_ERR_PARSE;
		snprintf(res->message, sizeof res->message,
			 "GET %s: no \"kubeletconfig\" object in the body", TARGET);
		return -1;
	}
	int hard = nro_json_key(&x->j, cfg, "evictionHard");
	int soft = nro_json_key(&x->j, cfg, "evictionSoft");
	int grace = nro_json_key(&x->j, cfg, "evictionSoftGracePeriod");
	int reclaim = nro_json_key(&x->j, cfg, "evictionMinimumReclaim");
	/* evictionHard set (any one signal): exactly those thresholds apply */
	if (hard >= 0 && x->j.tok[hard].type == JSMN_OBJECT && x->j.tok[hard].size > 0)
		emit_thresholds(c, &x->j, hard, "hard", -1, reclaim);
	else
		emit_default_thresholds(c);
	emit_thresholds(c, &x->j, soft, "soft", grace, reclaim);

	struct walk w = {c, &x->j, 0, 0};
	char key[256] = NRO_K_CONFIG;
	walk(&w, cfg, key, strlen(key), 0, 0);
	if (!w.saw_read_only_port) {
		/* omitted when 0: the read-only port is off */
		struct nro_attr a = {nro_s("source"), nro_s("default")};
		emit(c, "kubelet.config.readOnlyPort", "0", 0, &a, 1);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct nro_collector c;
	static struct ctx x;
	nro_collector_init(
		&c, "collector-configz",
		"Poll the kubelet's /configz (RBAC: get on nodes/proxy, or nodes/configz with\n"
		"KubeletFineGrainedAuthz; served on the authenticated port 10250 only) and\n"
		"publish its running configuration as Node states:\n"
		"  kubelet.eviction.hard.<signal>, kubelet.eviction.soft.<signal>: value as\n"
		"    written (\"100Mi\", \"10%\"), num in bytes (or a count) for a quantity or\n"
		"    the percentage, attrs source=config|default, unit=By|1|%, grace_period,\n"
		"    minimum_reclaim. Setting any hard threshold clears the kubelet's other\n"
		"    defaults (memory.available<100Mi, nodefs.available<10%,\n"
		"    nodefs.inodesFree<5%, imagefs.available<15%, imagefs.inodesFree<5%),\n"
		"    which apply when evictionHard is not set (source=default).\n"
		"  kubelet.config.<field>: every scalar field (nested ones dotted), e.g.\n"
		"    maxPods, podPidsLimit, syncFrequency, evictionPressureTransitionPeriod,\n"
		"    readOnlyPort, cgroupDriver, systemReserved.memory; num = the number,\n"
		"    1/0 for booleans, seconds for durations, bytes or cores for quantities.\n"
		"On 404 (the read-only port) or 403 it says so once and publishes the\n"
		"default eviction thresholds (source=default), health degraded.\n"
		"Default interval 5m.",
		TARGET, 300000, NULL, argc, argv);
	nro_buf_init(&x.body, BODY_MAX);
	nro_json_init(&x.j, 0);
	int rc = nro_collector_run(&c, poll, &x);
	nro_json_free(&x.j);
	nro_buf_free(&x.body);
	return rc;
}
