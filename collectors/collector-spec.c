/*
 * collector-spec: the machine's shape. Polls the kubelet's /spec (cAdvisor's
 * MachineInfo, kubelets before 1.21) and publishes it under cAdvisor's metric
 * names: machine_cpu_cores, machine_memory_bytes, and the rest where
 * present. /spec was removed in Kubernetes 1.21: on 404 the same numbers are
 * read from /metrics/cadvisor (streamed, stopping once they are all seen)
 * and carry the attribute derived_from="/metrics/cadvisor".
 */
#include <stdio.h>
#include <string.h>

#include "run/collector.h"
#include "parse/json.h"
#include "base/log.h"
#include "run/promcollect.h"

#define TARGET "/spec"
#define FALLBACK "/metrics/cadvisor"
#define BODY_MAX (8u << 20) /* MachineInfo of a large machine is ~100s of KiB */

struct ctx {
	struct nro_buf body;
	struct nro_json j;
	struct nro_promcollect pc; /* for the /metrics/cadvisor fallback */
	long said;                 /* last /spec status logged as a fallback, or 0 */
	/* fallback state, per poll */
	unsigned seen;             /* bit per wanted family */
	int info_done;
};

static struct nro_object node_obj(struct nro_collector *c)
{
	struct nro_object o = {NRO_OBJ_NODE, {"", 0}, {"", 0}, {"", 0}, nro_s(c->node)};
	return o;
}

/* ---- /spec -------------------------------------------------------------- */

static int num_at(const struct nro_json *j, int obj, const char *key, double *out)
{
	int v = obj >= 0 ? nro_json_key(j, obj, key) : -1;
	return v >= 0 && nro_json_f64(j, v, out) == 0 ? 0 : -1;
}

static void gauge_from(struct nro_collector *c, const struct nro_json *j, int root,
		       const char *key, const char *name, int positive_only)
{
	double v;
	if (num_at(j, root, key, &v) == 0 && (!positive_only || v > 0))
		nro_emit_gauge(c, name, "", v, NULL);
}

static void spec_info(struct nro_collector *c, const struct nro_json *j, int root)
{
	static const char *const keys[] = {"machine_id",     "system_uuid",   "boot_id",
					   "cloud_provider", "instance_type", "instance_id"};
	char vals[6][256];
	struct nro_attr attrs[6];
	uint16_t n = 0;
	for (size_t i = 0; i < 6; i++) {
		int v = nro_json_key(j, root, keys[i]);
		if (v < 0 || nro_json_str(j, v, vals[i], sizeof vals[i]) <= 0)
			continue;
		if (strcmp(vals[i], "Unknown") == 0 || strcmp(vals[i], "None") == 0 ||
		    strcmp(vals[i], "unknown") == 0)
			continue;
		attrs[n].key = nro_s(keys[i]);
		attrs[n].value = nro_s(vals[i]);
		n++;
	}
	char machine_id[256] = "";
	int v = nro_json_key(j, root, "machine_id");
	if (v >= 0 && nro_json_str(j, v, machine_id, sizeof machine_id) < 0)
		machine_id[0] = '\0';
	double cores = 0;
	num_at(j, root, "num_cores", &cores);
	struct nro_state s = {node_obj(c), nro_s("machine.info"), nro_s(machine_id), cores, 0, n,
			      attrs};
	nro_emit_state(c, &s);
}

static int publish_spec(struct nro_collector *c, struct ctx *x, struct nro_fetch *res)
{
	const struct nro_json *j = &x->j;
	const char *why;
	if (nro_json_parse(&x->j, x->body.p, x->body.len, &why) != 0) {
		res->err = NRO_ERR_PARSE;
		snprintf(res->message, sizeof res->message, "GET %s: invalid body: %s", TARGET, why);
		return -1;
	}
	int root = 0;
	double cores, mem;
	if (j->tok[root].type != JSMN_OBJECT || num_at(j, root, "num_cores", &cores) != 0 ||
	    num_at(j, root, "memory_capacity", &mem) != 0) {
		res->err = NRO_ERR_PARSE;
		snprintf(res->message, sizeof res->message,
			 "GET %s: not a machine description (no num_cores or memory_capacity)",
			 TARGET);
		return -1;
	}
	nro_emit_gauge(c, "machine_cpu_cores", "", cores, NULL);
	nro_emit_gauge(c, "machine_memory_bytes", "", mem, NULL);
	gauge_from(c, j, root, "num_physical_cores", "machine_cpu_physical_cores", 1);
	gauge_from(c, j, root, "num_sockets", "machine_cpu_sockets", 1);
	gauge_from(c, j, root, "cpu_frequency_khz", "machine_cpu_frequency_khz", 1);
	gauge_from(c, j, root, "swap_capacity", "machine_swap_bytes", 0);

	/* topology: physical cores and hardware threads, when described */
	int topo = nro_json_key(j, root, "topology");
	if (topo >= 0 && j->tok[topo].type == JSMN_ARRAY && j->tok[topo].size > 0) {
		double ncores = 0, nthreads = 0;
		for (int nd = nro_json_first(j, topo); nd >= 0; nd = nro_json_next(j, topo, nd)) {
			int cs = nro_json_key(j, nd, "cores");
			if (cs < 0 || j->tok[cs].type != JSMN_ARRAY)
				continue;
			for (int co = nro_json_first(j, cs); co >= 0; co = nro_json_next(j, cs, co)) {
				ncores++;
				int th = nro_json_key(j, co, "thread_ids");
				if (th >= 0 && j->tok[th].type == JSMN_ARRAY)
					nthreads += j->tok[th].size;
			}
		}
		double phys;
		if (num_at(j, root, "num_physical_cores", &phys) != 0 && ncores > 0)
			nro_emit_gauge(c, "machine_cpu_physical_cores", "", ncores, NULL);
		if (nthreads > 0)
			nro_emit_gauge(c, "machine_cpu_threads", "", nthreads, NULL);
	}

	int fss = nro_json_key(j, root, "filesystems");
	if (fss >= 0 && j->tok[fss].type == JSMN_ARRAY) {
		for (int fs = nro_json_first(j, fss); fs >= 0; fs = nro_json_next(j, fss, fs)) {
			char dev[512] = "", type[64] = "";
			int d = nro_json_key(j, fs, "device"), t = nro_json_key(j, fs, "type");
			if (d < 0 || nro_json_str(j, d, dev, sizeof dev) <= 0)
				continue;
			if (t >= 0 && nro_json_str(j, t, type, sizeof type) < 0)
				type[0] = '\0';
			double cap, inodes;
			int has_inodes = 1, hi = nro_json_key(j, fs, "has_inodes");
			if (hi >= 0)
				nro_json_bool(j, hi, &has_inodes);
			if (num_at(j, fs, "capacity", &cap) == 0)
				nro_emit_gauge(c, "machine_filesystem_capacity_bytes", "", cap,
					       "device", dev, "type", type, NULL);
			if (has_inodes && num_at(j, fs, "inodes", &inodes) == 0)
				nro_emit_gauge(c, "machine_filesystem_inodes", "", inodes, "device",
					       dev, "type", type, NULL);
		}
	}
	spec_info(c, j, root);
	return 0;
}

/* ---- fallback: /metrics/cadvisor ------------------------------------------ */

static const char *const wanted[] = {"machine_cpu_cores", "machine_memory_bytes",
				     "machine_cpu_physical_cores", "machine_cpu_sockets",
				     "machine_swap_bytes"};
#define WANT_ALL ((1u << (sizeof wanted / sizeof wanted[0])) - 1)
#define WANT_NEEDED 3u /* cores and memory */

static const char *label(const struct nro_prom_sample *s, const char *name)
{
	for (unsigned i = 0; i < s->nlabels; i++)
		if (strcmp(s->labels[i].name, name) == 0)
			return s->labels[i].value;
	return NULL;
}

static int on_machine_sample(struct nro_promcollect *pc, const struct nro_prom_sample *s)
{
	struct ctx *x = pc->user;
	size_t i;
	for (i = 0; i < sizeof wanted / sizeof wanted[0]; i++)
		if (strcmp(s->name, wanted[i]) == 0)
			break;
	if (i == sizeof wanted / sizeof wanted[0])
		return 0;
	struct nro_attr d = {nro_s("derived_from"), nro_s(FALLBACK)};
	if (nro_promcollect_emit(pc->c, s, &d, 1) == 0)
		pc->emitted++;
	x->seen |= 1u << i;
	if (i == 0 && !x->info_done) {
		/* newer cAdvisors label machine_* with the machine's identity */
		static const char *const keys[] = {"machine_id", "system_uuid", "boot_id"};
		struct nro_attr attrs[4];
		uint16_t n = 0;
		for (size_t k = 0; k < 3; k++) {
			const char *v = label(s, keys[k]);
			if (v && *v)
				attrs[n++] = (struct nro_attr){nro_s(keys[k]), nro_s(v)};
		}
		attrs[n++] = d;
		const char *mid = label(s, "machine_id");
		struct nro_state st = {node_obj(pc->c), nro_s("machine.info"), nro_s(mid ? mid : ""),
				       s->value, 0, n, attrs};
		nro_emit_state(pc->c, &st);
		x->info_done = 1;
	}
	return x->seen == WANT_ALL ? 1 : 0; /* 1: all seen, stop reading */
}

static int fallback(struct nro_collector *c, struct ctx *x, struct nro_fetch *res)
{
	if (x->said != 404) {
		nro_info("%s is not served (removed in Kubernetes 1.21): reading machine_cpu_cores "
			 "and machine_memory_bytes from %s",
			 TARGET, FALLBACK);
		x->said = 404;
	}
	x->seen = 0;
	x->info_done = 0;
	x->pc.c = c;
	if (nro_promcollect_fetch(&x->pc, FALLBACK, res) != 0) {
		/* say which fetch failed: the health target is /spec */
		char m[sizeof res->message];
		snprintf(m, sizeof m, "%s is gone (404) and the fallback failed: %s", TARGET,
			 res->message);
		memcpy(res->message, m, sizeof m);
		return -1;
	}
	if ((x->seen & WANT_NEEDED) != WANT_NEEDED) {
		res->err = NRO_ERR_PARSE;
		snprintf(res->message, sizeof res->message,
			 "%s is gone (404) and %s has no %s: the machine's size is unknown", TARGET,
			 FALLBACK,
			 !(x->seen & 1u)   ? (x->seen & 2u) ? "machine_cpu_cores"
							: "machine_cpu_cores or machine_memory_bytes"
					   : "machine_memory_bytes");
		return -1;
	}
	return 0;
}

static int poll(struct nro_collector *c, void *arg, struct nro_fetch *res)
{
	struct ctx *x = arg;
	nro_buf_reset(&x->body);
	if (nro_kubelet_get_buf(c->kubelet, TARGET, &x->body, res) != 0) {
		if (res->http_status == 404)
			return fallback(c, x, res);
		return -1;
	}
	if (x->said) {
		nro_info("%s is served again", TARGET);
		x->said = 0;
	}
	return publish_spec(c, x, res);
}

int main(int argc, char **argv)
{
	static struct nro_collector c;
	static struct ctx x;
	nro_collector_init(
		&c, "collector-spec",
		"Poll the kubelet's /spec (RBAC: get on nodes/proxy; kubelets before 1.21)\n"
		"and publish the machine under cAdvisor's names: machine_cpu_cores,\n"
		"machine_memory_bytes, machine_cpu_physical_cores, machine_cpu_sockets,\n"
		"machine_cpu_threads, machine_cpu_frequency_khz, machine_swap_bytes,\n"
		"machine_filesystem_capacity_bytes{device,type}, machine_filesystem_inodes\n"
		"{device,type}, where present; and a Node state machine.info (value the\n"
		"machine id, num the cores, attrs machine_id, system_uuid, boot_id,\n"
		"cloud_provider, instance_type, instance_id).\n"
		"On 404 (Kubernetes 1.21+) it says so once and reads machine_cpu_cores,\n"
		"machine_memory_bytes (and machine_cpu_physical_cores, machine_cpu_sockets,\n"
		"machine_swap_bytes when there) from /metrics/cadvisor instead (RBAC: get on\n"
		"nodes/metrics), with attr derived_from=\"/metrics/cadvisor\".\n"
		"Default interval 5m.",
		TARGET, 300000, NULL, argc, argv);
	nro_buf_init(&x.body, BODY_MAX);
	nro_json_init(&x.j, 0);
	nro_promcollect_init(&x.pc, &c, FALLBACK, "machine_*");
	x.pc.hook = on_machine_sample;
	x.pc.user = &x;
	int rc = nro_collector_run(&c, poll, &x);
	nro_promcollect_free(&x.pc);
	nro_json_free(&x.j);
	nro_buf_free(&x.body);
	return rc;
}
