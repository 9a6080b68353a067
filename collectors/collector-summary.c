/*
 * collector-summary: polls the kubelet's /stats/summary and publishes the
 * node's, its system containers', every pod's, container's and volume's
 * CPU, memory, filesystem, network, rlimit, swap and PSI figures as metrics
 * named as the OpenTelemetry kubeletstats receiver names them
 * (docs/records-vocabulary.md).
 *
 * Field sets grow by Kubernetes version (swap 1.28, containerFs 1.29, PSI
 * 1.34, ...): a missing field is simply not published, never an error.
 * Each stats block's own "time" is the samples' timestamp.
 *
 * Every stats block is walked once, its keys matched against a small table
 * (no repeated key lookups); the body buffer and the token array are kept
 * across polls.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/collector.h"
#include "run/jsoncollect.h"
#include "base/log.h"

#define TARGET "/stats/summary"
#define NAME_LEN 256
#define ATTRS_N 10
#define FIELDS_MAX 8 /* fields in one table (without its NULL end) */

enum { G = NRO_MT_GAUGE, C = NRO_MT_COUNTER };

/* One JSON field of a stats block and the metric it becomes. */
struct field {
	const char *key;
	const char *name; /* appended to the level's prefix, e.g. "k8s.node." */
	const char *unit;
	double div; /* value = raw / div (a division rounds exactly once) */
	uint8_t type;
};

static const struct field cpu_f[] = {
	{"usageNanoCores", "cpu.usage", "{cores}", 1e9, G},
	{"usageCoreNanoSeconds", "cpu.time", "s", 1e9, C},
	{NULL, NULL, NULL, 0, 0},
};
static const struct field mem_f[] = {
	{"availableBytes", "memory.available", "By", 1, G},
	{"usageBytes", "memory.usage", "By", 1, G},
	{"workingSetBytes", "memory.working_set", "By", 1, G},
	{"rssBytes", "memory.rss", "By", 1, G},
	{"pageFaults", "memory.page_faults", "1", 1, C},
	{"majorPageFaults", "memory.major_page_faults", "1", 1, C},
	{NULL, NULL, NULL, 0, 0},
};
static const struct field io_f[] = {
	{NULL, NULL, NULL, 0, 0}, /* PSI only */
};
static const struct field swap_f[] = {
	{"swapAvailableBytes", "swap.available", "By", 1, G},
	{"swapUsageBytes", "swap.usage", "By", 1, G},
	{NULL, NULL, NULL, 0, 0},
};
#define FS_FIELDS(p)                                               \
	{"availableBytes", p "available", "By", 1, G},             \
	{"capacityBytes", p "capacity", "By", 1, G},               \
	{"usedBytes", p "usage", "By", 1, G},                      \
	{"inodesFree", p "inodes.free", "{inodes}", 1, G},         \
	{"inodes", p "inodes", "{inodes}", 1, G},                  \
	{"inodesUsed", p "inodes.used", "{inodes}", 1, G},         \
	{NULL, NULL, NULL, 0, 0}
static const struct field nodefs_f[] = {FS_FIELDS("filesystem.")};
static const struct field imagefs_f[] = {FS_FIELDS("imagefs.")};
static const struct field containerfs_f[] = {FS_FIELDS("containerfs.")};
static const struct field volume_f[] = {FS_FIELDS("")};
static const struct field rlimit_f[] = {
	{"maxpid", "rlimit.maxpid", "{processes}", 1, G},
	{"curproc", "rlimit.curproc", "{processes}", 1, G},
	{NULL, NULL, NULL, 0, 0},
};
static const struct field ephemeral_f[] = {
	{"usedBytes", "filesystem.usage", "By", 1, G},
	{"availableBytes", "ephemeral_storage.available", "By", 1, G},
	{"capacityBytes", "ephemeral_storage.capacity", "By", 1, G},
	{"inodesUsed", "ephemeral_storage.inodes.used", "{inodes}", 1, G},
	{NULL, NULL, NULL, 0, 0},
};
static const struct field process_f[] = {
	{"process_count", "process.count", "{processes}", 1, G},
	{NULL, NULL, NULL, 0, 0},
};
static const struct field rootfs_f[] = {
	{"availableBytes", "filesystem.available", "By", 1, G},
	{"capacityBytes", "filesystem.capacity", "By", 1, G},
	{"usedBytes", "filesystem.usage", "By", 1, G},
	{NULL, NULL, NULL, 0, 0},
};
static const struct field logs_f[] = {
	{"usedBytes", "logs.usage", "By", 1, G},
	{NULL, NULL, NULL, 0, 0},
};
static const struct field psi_f[] = {
	{"avg10", "avg10", "%", 1, G},
	{"avg60", "avg60", "%", 1, G},
	{"avg300", "avg300", "%", 1, G},
	{"total", "total", "s", 1e6, C}, /* microseconds stalled */
	{NULL, NULL, NULL, 0, 0},
};

struct attrs {
	struct nro_attr a[ATTRS_N];
	uint16_t n;
};

enum { PSI_NONE, PSI_NODE, PSI_ALL };

/* The newest entry of one container name in a pod's list (superseded()). */
struct latest {
	int name, tok; /* name token, -1 = free slot; the entry's token */
	int64_t r[2];
};

struct summary {
	struct nro_jsoncollect jc;
	const char *psi_opt; /* --psi */
	int psi;             /* PSI_* */
	struct latest *latest; /* open-addressing table, reused between pods */
	size_t latest_cap;
};

static void at(struct attrs *a, const char *k, const char *v)
{
	if (v && *v && a->n < ATTRS_N) {
		a->a[a->n].key = nro_s(k);
		a->a[a->n].value = nro_s(v);
		a->n++;
	}
}

static void metric(struct nro_collector *c, const char *prefix, const char *mid,
		   const struct field *f, double raw, int64_t ts, const struct attrs *a)
{
	/* name = prefix + mid + f->name, without printf (this runs per sample) */
	char name[160];
	size_t lp = strlen(prefix), lm = strlen(mid), lf = strlen(f->name);
	if (lp + lm + lf >= sizeof name)
		return;
	memcpy(name, prefix, lp);
	memcpy(name + lp, mid, lm);
	memcpy(name + lp + lm, f->name, lf);
	struct nro_str ns = {name, (uint16_t)(lp + lm + lf)};
	struct nro_metric m = {ns, nro_s(f->unit), f->type, raw / f->div, ts, a->n,
			       (struct nro_attr *)a->a};
	nro_emit_metric(c, &m);
}

static int64_t time_ms(const struct nro_json *j, int v)
{
	int64_t ms;
	if (nro_json_time_ms(j, v, &ms) != 0 || ms < 0)
		return 0;
	return ms;
}

/* time_ms() of a stats block's "time": blocks of one sample share it, so
 * the last string (its raw text, which alone decides the result) and its
 * value are remembered. */
static struct {
	char raw[48];
	size_t n;
	int64_t ms;
} last_time;

static int64_t block_time_ms(const struct nro_json *j, int v)
{
	if (v < 0 || (unsigned)v >= j->ntok || j->tok[v].type != JSMN_STRING)
		return time_ms(j, v);
	const char *raw = j->js + j->tok[v].start;
	size_t n = (size_t)(j->tok[v].end - j->tok[v].start);
	if (n == last_time.n && n && memcmp(raw, last_time.raw, n) == 0)
		return last_time.ms;
	int64_t ms = time_ms(j, v);
	if (n < sizeof last_time.raw) {
		memcpy(last_time.raw, raw, n);
		last_time.n = n;
		last_time.ms = ms;
	}
	return ms;
}

/* The fields of one object i found in table f: their value tokens, in
 * table order (-1 when absent); "time" into *ts when ts is given. */
static void match(const struct nro_json *j, int i, const struct field *f, int *vals, int64_t *ts,
		  int *psi)
{
	size_t nf = 0;
	while (nf < FIELDS_MAX && f[nf].key)
		nf++;
	for (size_t k = 0; k < nf; k++)
		vals[k] = -1;
	if (psi)
		*psi = -1;
	for (int k = nro_json_first(j, i); k >= 0; k = nro_json_next(j, i, k)) {
		const char *key = j->js + j->tok[k].start;
		size_t kl = (size_t)(j->tok[k].end - j->tok[k].start);
		if (ts && kl == 4 && memcmp(key, "time", 4) == 0) {
			*ts = block_time_ms(j, k + 1);
			continue;
		}
		if (psi && kl == 3 && memcmp(key, "psi", 3) == 0) {
			*psi = k + 1;
			continue;
		}
		for (size_t n = 0; n < nf; n++)
			if (f[n].key[0] == key[0] && strncmp(f[n].key, key, kl) == 0 &&
			    f[n].key[kl] == '\0') {
				vals[n] = k + 1;
				break;
			}
	}
}

/* Pressure stall information: {"some": {avg10, avg60, avg300, total}, "full": ...}
 * as <prefix><resource>.pressure.<some|full>.<field>. */
static void psi(struct summary *x, int obj, const char *prefix, const char *resource,
		int64_t ts, const struct attrs *a)
{
	const struct nro_json *j = &x->jc.json;
	if (j->tok[obj].type != JSMN_OBJECT)
		return;
	for (int k = nro_json_first(j, obj); k >= 0; k = nro_json_next(j, obj, k)) {
		const char *kind = nro_jc_key_is(j, k, "some", 4) ? "some" :
				   nro_jc_key_is(j, k, "full", 4) ? "full" : NULL;
		if (!kind || j->tok[k + 1].type != JSMN_OBJECT)
			continue;
		char mid[64]; /* resource + ".pressure." + kind + ".", without printf */
		size_t lr = strlen(resource);
		if (lr > sizeof mid - sizeof ".pressure.some.")
			continue;
		memcpy(mid, resource, lr);
		memcpy(mid + lr, ".pressure.", 10);
		memcpy(mid + lr + 10, kind, 4);
		memcpy(mid + lr + 14, ".", 2);
		int vals[FIELDS_MAX];
		match(j, k + 1, psi_f, vals, NULL, NULL);
		for (size_t n = 0; n < FIELDS_MAX && psi_f[n].key; n++) {
			double v;
			if (vals[n] >= 0 && nro_jc_num(j, vals[n], &v) == 0)
				metric(x->jc.c, prefix, mid, &psi_f[n], v, ts, a);
		}
	}
}

/* One stats block (obj, may be -1): every field of f it has, plus its PSI
 * under the name psi_res when given. */
static void block(struct summary *x, int obj, const char *prefix, const struct field *f,
		  const char *psi_res, const struct attrs *a)
{
	const struct nro_json *j = &x->jc.json;
	if (obj < 0 || j->tok[obj].type != JSMN_OBJECT)
		return;
	int vals[FIELDS_MAX], p = -1;
	int64_t ts = 0;
	match(j, obj, f, vals, &ts, psi_res ? &p : NULL);
	for (size_t n = 0; n < FIELDS_MAX && f[n].key; n++) {
		double v;
		if (vals[n] < 0 || nro_json_is_null(j, vals[n]))
			continue;
		if (nro_jc_num(j, vals[n], &v) != 0) {
			nro_jsoncollect_skip(&x->jc, "%s", f[n].key);
			continue;
		}
		metric(x->jc.c, prefix, "", &f[n], v, ts, a);
	}
	if (p >= 0)
		psi(x, p, prefix, psi_res, ts, a);
}

/* A network block: with all_ifs every interface of "interfaces" (else the
 * default one); without, the default interface only (the block's own name
 * and counters), as the kubeletstats receiver does for pods. */
static void network(struct summary *x, int obj, const char *prefix, int all_ifs,
		    const struct attrs *base)
{
	static const struct field net_f[] = {
		{"rxBytes", "network.io", "By", 1, C},
		{"txBytes", "network.io", "By", 1, C},
		{"rxErrors", "network.errors", "{errors}", 1, C},
		{"txErrors", "network.errors", "{errors}", 1, C},
		{"name", "", "", 0, 0},
		{"interfaces", "", "", 0, 0},
		{NULL, NULL, NULL, 0, 0},
	};
	const struct nro_json *j = &x->jc.json;
	if (obj < 0 || j->tok[obj].type != JSMN_OBJECT)
		return;
	int top[FIELDS_MAX];
	int64_t ts = 0;
	match(j, obj, net_f, top, &ts, NULL);
	int ifs = top[5];
	int have_ifs = ifs >= 0 && j->tok[ifs].type == JSMN_ARRAY && j->tok[ifs].size > 0 &&
		       (all_ifs || top[4] < 0);
	for (int k = have_ifs ? nro_json_first(j, ifs) : obj; k >= 0;
	     k = have_ifs ? nro_json_next(j, ifs, k) : -1) {
		int vals[FIELDS_MAX];
		if (j->tok[k].type != JSMN_OBJECT)
			continue;
		if (k == obj)
			memcpy(vals, top, sizeof vals);
		else
			match(j, k, net_f, vals, NULL, NULL);
		char ifname[NAME_LEN];
		if (vals[4] < 0 || nro_json_str(j, vals[4], ifname, sizeof ifname) <= 0)
			continue; /* an interface without a name says nothing */
		struct attrs a = *base;
		at(&a, "interface", ifname);
		uint16_t n0 = a.n;
		for (int n = 0; n < 4; n++) {
			double v;
			if (vals[n] < 0 || nro_jc_num(j, vals[n], &v) != 0)
				continue;
			a.n = n0;
			at(&a, "direction", (n & 1) ? "transmit" : "receive");
			metric(x->jc.c, prefix, "", &net_f[n], v, ts, &a);
		}
	}
}

static int key_of(const struct nro_json *j, int obj, const char *key)
{
	return nro_json_key(j, obj, key);
}

/* The values of the keys names[0..n) of object obj, each what key_of()
 * returns for it (the first match, -1 when missing), in one walk over obj
 * instead of one per name. The names are plain (no escapes); a key that is
 * spelled with escapes and might decode to one of them sends every name
 * through key_of(). */
static void keys_of(const struct nro_json *j, int obj, const char *const *names, size_t n,
		    int *out)
{
	for (size_t k = 0; k < n; k++)
		out[k] = -1;
	if (obj < 0 || (unsigned)obj >= j->ntok || j->tok[obj].type != JSMN_OBJECT)
		return;
	for (int c = nro_json_first(j, obj); c >= 0; c = nro_json_next(j, obj, c)) {
		const char *raw = j->js + j->tok[c].start;
		size_t kl = (size_t)(j->tok[c].end - j->tok[c].start);
		if (kl && raw[0] == '\\')
			goto slow;
		for (size_t k = 0; k < n; k++) {
			if (names[k][0] != raw[0])
				continue; /* decoding keeps a first byte that is no backslash */
			if (strncmp(names[k], raw, kl) == 0 && names[k][kl] == '\0') {
				if (out[k] < 0)
					out[k] = c + 1;
			} else if (memchr(raw, '\\', kl)) {
				goto slow;
			}
		}
	}
	return;
slow:
	for (size_t k = 0; k < n; k++)
		out[k] = key_of(j, obj, names[k]);
}

/* The PSI resource name when --psi covers this level, else NULL. */
static const char *psi_at(const struct summary *x, int node_level, const char *resource)
{
	return x->psi == PSI_ALL || (x->psi == PSI_NODE && node_level) ? resource : NULL;
}

static void node_stats(struct summary *x, int node, const struct attrs *a)
{
	const struct nro_json *j = &x->jc.json;
	const char *P = "k8s.node.";
	static const char *const nk[] = {"cpu", "memory", "io", "network", "fs",
					 "runtime", "rlimit", "swap", "systemContainers"};
	int v[9], rv[2];
	keys_of(j, node, nk, 9, v);
	block(x, v[0], P, cpu_f, psi_at(x, 1, "cpu"), a);
	block(x, v[1], P, mem_f, psi_at(x, 1, "memory"), a);
	block(x, v[2], P, io_f, psi_at(x, 1, "io"), a);
	network(x, v[3], P, 1, a);
	block(x, v[4], P, nodefs_f, NULL, a);
	static const char *const rk[] = {"imageFs", "containerFs"};
	keys_of(j, v[5], rk, 2, rv);
	block(x, rv[0], P, imagefs_f, NULL, a);
	block(x, rv[1], P, containerfs_f, NULL, a);
	block(x, v[6], P, rlimit_f, NULL, a);
	block(x, v[7], P, swap_f, NULL, a);

	int sys = v[8];
	if (sys < 0 || j->tok[sys].type != JSMN_ARRAY)
		return;
	static const char *const sk[] = {"name", "cpu", "memory", "io", "swap"};
	for (int k = nro_json_first(j, sys); k >= 0; k = nro_json_next(j, sys, k)) {
		char name[NAME_LEN];
		int sv[5];
		keys_of(j, k, sk, 5, sv);
		if (nro_json_str(j, sv[0], name, sizeof name) <= 0) {
			nro_jsoncollect_skip(&x->jc, "%s", "a system container without a name");
			continue;
		}
		struct attrs sa = *a;
		at(&sa, "k8s.system_container.name", name);
		const char *S = "k8s.node.system_container.";
		block(x, sv[1], S, cpu_f, psi_at(x, 1, "cpu"), &sa);
		block(x, sv[2], S, mem_f, psi_at(x, 1, "memory"), &sa);
		block(x, sv[3], S, io_f, psi_at(x, 1, "io"), &sa);
		block(x, sv[4], S, swap_f, NULL, &sa);
	}
}

static void container_stats(struct summary *x, int ctr, const struct attrs *pa)
{
	const struct nro_json *j = &x->jc.json;
	char name[NAME_LEN];
	static const char *const ck[] = {"name", "cpu", "memory", "io", "rootfs", "logs", "swap"};
	int v[7];
	keys_of(j, ctr, ck, 7, v);
	if (j->tok[ctr].type != JSMN_OBJECT || nro_json_str(j, v[0], name, sizeof name) <= 0) {
		nro_jsoncollect_skip(&x->jc, "%s", "a container without a name");
		return;
	}
	struct attrs a = *pa;
	at(&a, "k8s.container.name", name);
	const char *P = "container.";
	block(x, v[1], P, cpu_f, psi_at(x, 0, "cpu"), &a);
	block(x, v[2], P, mem_f, psi_at(x, 0, "memory"), &a);
	block(x, v[3], P, io_f, psi_at(x, 0, "io"), &a);
	block(x, v[4], P, rootfs_f, NULL, &a);
	block(x, v[5], P, logs_f, NULL, &a);
	block(x, v[6], P, swap_f, NULL, &a);
}

static void volume_stats(struct summary *x, int vol, const struct attrs *pa)
{
	const struct nro_json *j = &x->jc.json;
	char name[NAME_LEN], pvc[NAME_LEN];
	if (j->tok[vol].type != JSMN_OBJECT ||
	    nro_json_str(j, key_of(j, vol, "name"), name, sizeof name) <= 0) {
		nro_jsoncollect_skip(&x->jc, "%s", "a volume without a name");
		return;
	}
	struct attrs a = *pa;
	at(&a, "k8s.volume.name", name);
	if (nro_json_str(j, nro_json_path(j, vol, "pvcRef.name"), pvc, sizeof pvc) > 0)
		at(&a, "k8s.persistentvolumeclaim.name", pvc);
	block(x, vol, "k8s.volume.", volume_f, NULL, &a);
}

/* How recent a container entry is: its startTime, then its CPU (or
 * memory) sample time. */
static void recency(const struct nro_json *j, int ctr, int64_t r[2])
{
	r[0] = time_ms(j, key_of(j, ctr, "startTime"));
	int t = nro_json_path(j, ctr, "cpu.time");
	if (t < 0)
		t = nro_json_path(j, ctr, "memory.time");
	r[1] = time_ms(j, t);
}

/* Some kubelets (1.15 with docker) list a container more than once in a
 * pod, one entry per cAdvisor sample: publish only the most recent entry of
 * a name (the last one on a tie), so a series never has two values. One
 * pass fills a hash table of the newest entry per name, so a hostile list
 * of thousands of same-named entries stays linear. */
static size_t name_hash(const struct nro_json *j, int name)
{
	size_t h = 14695981039346656037ull;
	for (int i = j->tok[name].start; i < j->tok[name].end; i++)
		h = (h ^ (unsigned char)j->js[i]) * 1099511628211ull;
	return h;
}

static int same_name(const struct nro_json *j, int a, int b)
{
	int la = j->tok[a].end - j->tok[a].start, lb = j->tok[b].end - j->tok[b].start;
	return la == lb && memcmp(j->js + j->tok[a].start, j->js + j->tok[b].start, (size_t)la) == 0;
}

/* The slot of name (its own or the free one where it goes). */
static struct latest *latest_slot(struct summary *x, int name)
{
	const struct nro_json *j = &x->jc.json;
	size_t mask = x->latest_cap - 1;
	for (size_t i = name_hash(j, name) & mask;; i = (i + 1) & mask) {
		struct latest *l = &x->latest[i];
		if (l->name < 0 || same_name(j, l->name, name))
			return l;
	}
}

/* Fills x->latest for the list arr; 0, or -1 (no memory: publish all). */
static int find_latest(struct summary *x, int arr)
{
	const struct nro_json *j = &x->jc.json;
	size_t need = 4;
	while (need < 2 * (size_t)j->tok[arr].size)
		need <<= 1;
	if (need > x->latest_cap) {
		struct latest *p = realloc(x->latest, need * sizeof *p);
		if (!p)
			return -1;
		x->latest = p;
		x->latest_cap = need;
	}
	for (size_t i = 0; i < x->latest_cap; i++)
		x->latest[i].name = -1;
	for (int k = nro_json_first(j, arr); k >= 0; k = nro_json_next(j, arr, k)) {
		int name = key_of(j, k, "name");
		if (name < 0 || j->tok[name].type != JSMN_STRING)
			continue;
		int64_t r[2];
		recency(j, k, r);
		struct latest *l = latest_slot(x, name);
		if (l->name < 0 || r[0] > l->r[0] || (r[0] == l->r[0] && r[1] >= l->r[1]))
			*l = (struct latest){name, k, {r[0], r[1]}};
	}
	return 0;
}

static int superseded(struct summary *x, int ctr)
{
	const struct nro_json *j = &x->jc.json;
	int name = key_of(j, ctr, "name");
	if (name < 0 || j->tok[name].type != JSMN_STRING)
		return 0;
	return latest_slot(x, name)->tok != ctr;
}

static void pod_stats(struct summary *x, int pod)
{
	const struct nro_json *j = &x->jc.json;
	struct nro_collector *c = x->jc.c;
	char ns[NAME_LEN], name[NAME_LEN], uid[NAME_LEN];
	static const char *const pk[] = {"podRef", "cpu", "memory", "io", "network",
					 "ephemeral-storage", "swap", "process_stats",
					 "containers", "volume"};
	static const char *const rk[] = {"name", "namespace", "uid"};
	int v[10], rv[3];
	keys_of(j, pod, pk, 10, v); /* all -1 when pod is no object */
	keys_of(j, v[0], rk, 3, rv);
	if (nro_json_str(j, rv[0], name, sizeof name) <= 0 ||
	    nro_json_str(j, rv[1], ns, sizeof ns) <= 0) {
		nro_jsoncollect_skip(&x->jc, "%s", "a pod without a usable podRef");
		return;
	}
	if (nro_json_str(j, rv[2], uid, sizeof uid) < 0)
		uid[0] = '\0';
	struct attrs a = {.n = 0};
	at(&a, "k8s.node.name", c->node);
	at(&a, "k8s.namespace.name", ns);
	at(&a, "k8s.pod.name", name);
	at(&a, "k8s.pod.uid", uid);
	const char *P = "k8s.pod.";
	block(x, v[1], P, cpu_f, psi_at(x, 0, "cpu"), &a);
	block(x, v[2], P, mem_f, psi_at(x, 0, "memory"), &a);
	block(x, v[3], P, io_f, psi_at(x, 0, "io"), &a);
	network(x, v[4], P, 0, &a);
	block(x, v[5], P, ephemeral_f, NULL, &a);
	block(x, v[6], P, swap_f, NULL, &a);
	block(x, v[7], P, process_f, NULL, &a);

	int arr = v[8];
	if (arr >= 0 && j->tok[arr].type == JSMN_ARRAY) {
		int dedupe = j->tok[arr].size > 1 && find_latest(x, arr) == 0;
		for (int k = nro_json_first(j, arr); k >= 0; k = nro_json_next(j, arr, k))
			if (!dedupe || !superseded(x, k))
				container_stats(x, k, &a);
	}
	arr = v[9];
	if (arr >= 0 && j->tok[arr].type == JSMN_ARRAY)
		for (int k = nro_json_first(j, arr); k >= 0; k = nro_json_next(j, arr, k))
			volume_stats(x, k, &a);
}

static int poll(struct nro_collector *c, void *ctx, struct nro_fetch *res)
{
	struct summary *x = ctx;
	if (nro_jsoncollect_fetch(&x->jc, res) != 0)
		return -1;
	const struct nro_json *j = &x->jc.json;
	if (j->tok[0].type != JSMN_OBJECT)
		return nro_jsoncollect_refuse(res, TARGET, "not a stats summary: the body is not a JSON object");
	int node = key_of(j, 0, "node");
	if (node < 0 || j->tok[node].type != JSMN_OBJECT)
		return nro_jsoncollect_refuse(res, TARGET, "not a stats summary: no \"node\" object");
	int pods = key_of(j, 0, "pods");
	if (pods >= 0 && !nro_json_is_null(j, pods) && j->tok[pods].type != JSMN_ARRAY)
		return nro_jsoncollect_refuse(res, TARGET, "not a stats summary: \"pods\" is not an array");

	char name[NAME_LEN];
	int len = nro_json_str(j, key_of(j, node, "nodeName"), name, sizeof name);
	if (len > 0)
		nro_collector_set_node(c, name, (size_t)len);

	struct attrs a = {.n = 0};
	at(&a, "k8s.node.name", c->node);
	node_stats(x, node, &a);
	if (pods >= 0 && j->tok[pods].type == JSMN_ARRAY)
		for (int k = nro_json_first(j, pods); k >= 0; k = nro_json_next(j, pods, k))
			pod_stats(x, k);

	nro_jsoncollect_report(&x->jc);
	return 0;
}

int main(int argc, char **argv)
{
	struct nro_collector c;
	struct summary x;
	memset(&x, 0, sizeof x);
	const struct nro_optdef opts[] = {
		NRO_JSONCOLLECT_OPTS(&c),
		{"psi", 0, "NRO_PSI", NRO_OPT_STR, &x.psi_opt, NULL, "node|all|none",
		 "where to publish pressure stall information (PSI, 1.34+): the node and its "
		 "system containers (default), also every pod and container, or nowhere"},
		{NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
	};
	nro_collector_init(&c, "collector-summary",
			   "Poll the kubelet's /stats/summary and publish node, system container,\n"
			   "pod, container and volume CPU, memory, filesystem, network, rlimit,\n"
			   "swap and PSI metrics under the OpenTelemetry kubeletstats names\n"
			   "(docs/records-vocabulary.md). The node name comes from node.nodeName\n"
			   "unless --node is given.",
			   TARGET, 15000, opts, argc, argv);
	if (!x.psi_opt || strcmp(x.psi_opt, "node") == 0)
		x.psi = PSI_NODE;
	else if (strcmp(x.psi_opt, "all") == 0)
		x.psi = PSI_ALL;
	else if (strcmp(x.psi_opt, "none") == 0)
		x.psi = PSI_NONE;
	else
		nro_die(NRO_EXIT_USAGE, "--psi: '%s' is not node, all or none", x.psi_opt);
	nro_jsoncollect_init(&x.jc, &c, TARGET);
	c.learns_node = 1; /* the others wait for the name it learns */
	int r = nro_collector_run(&c, poll, &x);
	nro_jsoncollect_free(&x.jc);
	free(x.latest);
	return r;
}
