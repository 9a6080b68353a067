/*
 * Table-driven rule tests: each row is a sequence of timed records, written
 * one a line, and the exact events the rules must emit, in order.
 *
 * A record line is one of
 *   m SOURCE METRIC VALUE [key=value ...]        a metric sample
 *   s SOURCE KIND NS/POD[/CTR] KEY VALUE NUM [key=value ...]
 *                                                a state (KIND pod|container|node|
 *                                                service; node and service by name;
 *                                                a last word @-N: logged N s ago)
 *   h SOURCE                                     the end of a good poll
 *   f SOURCE                                     a failed poll
 *   e SOURCE CODE                                an error (connect, timeout, ...)
 * and an event "Type state severity object[ detail]" where object is the
 * node's name, ns/pod or ns/pod/container, or ns/pod/volume.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rules/rules.h"
#include "base/testing.h"
#include "wire/names.h"

#define T0 1000000000LL

struct step {
	int t;            /* seconds after the row's start */
	const char *recs; /* record lines */
};

struct row {
	const char *name;
	const char *set;  /* comma-separated --set values, or NULL */
	struct step steps[16];
	const char *want; /* event lines */
};

static char got[4096];
static char last_message[512];
static struct nro_enc saved; /* the events of a run, as the ring keeps them */
static int saving;

static void on_event(void *ctx, const char *node, const struct nro_event *ev)
{
	(void)ctx;
	char obj[600], detail[96] = "";
	if (ev->object.kind == NRO_OBJ_NODE || ev->object.kind == NRO_OBJ_SERVICE)
		snprintf(obj, sizeof obj, "%.*s", ev->object.name.len, ev->object.name.p);
	else
		snprintf(obj, sizeof obj, "%.*s/%.*s%s%.*s%s%.*s", ev->object.namespace_.len,
			 ev->object.namespace_.p, ev->object.pod.len, ev->object.pod.p,
			 ev->object.container.len ? "/" : "", ev->object.container.len,
			 ev->object.container.p, ev->object.kind == NRO_OBJ_VOLUME ? "/" : "",
			 ev->object.kind == NRO_OBJ_VOLUME ? ev->object.name.len : 0,
			 ev->object.name.p);
	for (uint16_t i = 0; i < ev->nattrs; i++) {
		struct nro_str k = ev->attrs[i].key;
		if (nro_str_eq(k, NRO_A_NODE) || nro_str_eq(k, NRO_A_POD_UID) ||
		    nro_str_eq(k, "nro.source") || nro_str_eq(k, "nro.flapping"))
			continue;
		snprintf(detail, sizeof detail, " %.*s=%.*s", k.len, k.p, ev->attrs[i].value.len,
			 ev->attrs[i].value.p);
	}
	size_t off = strlen(got);
	snprintf(got + off, sizeof got - off, "%.*s %s %s %s%s\n", ev->type.len, ev->type.p,
		 nro_event_state_name(ev->state), nro_severity_name(ev->severity), obj, detail);
	snprintf(last_message, sizeof last_message, "%.*s", ev->message.len, ev->message.p);
	if (saving)
		nro_enc_event(&saved, ev);
	(void)node;
}

/* ---- a record line into a record ---- */

#define WORDS 24

/* Splits line (copied into buf) at spaces; returns the word count. */
static int split(const char *line, size_t len, char *buf, size_t buflen, char **w)
{
	int n = 0;
	size_t k = len < buflen - 1 ? len : buflen - 1;
	memcpy(buf, line, k);
	buf[k] = '\0';
	char *p = buf;
	while (*p && n < WORDS) {
		while (*p == ' ')
			*p++ = '\0';
		if (!*p)
			break;
		w[n++] = p;
		while (*p && *p != ' ')
			p++;
	}
	return n;
}

/* key=value words into attrs (pointing into the words). */
static uint16_t attrs_of(char **w, int n, struct nro_attr *a)
{
	uint16_t na = 0;
	for (int i = 0; i < n && na < 16; i++) {
		char *eq = strchr(w[i], '=');
		if (!eq)
			continue;
		*eq = '\0';
		a[na].key = nro_s(w[i]);
		a[na++].value = nro_s(eq + 1);
	}
	return na;
}

static struct nro_enc enc;

static void send(struct nro_rules *r, int64_t now)
{
	size_t len = nro_enc_finish(&enc);
	struct nro_msg m;
	const char *why;
	if (nro_decode(&m, enc.buf, len, &why) != 0) {
		fprintf(stderr, "test built a bad record: %s (%zu bytes)\n", why, len);
		abort();
	}
	nro_rules_feed(r, &m, now);
}

static int object_kind(const char *s)
{
	return strcmp(s, "pod") == 0		? NRO_OBJ_POD
	       : strcmp(s, "container") == 0 ? NRO_OBJ_CONTAINER
	       : strcmp(s, "service") == 0   ? NRO_OBJ_SERVICE
					     : NRO_OBJ_NODE;
}

static void state_record(struct nro_rules *r, char **w, int n, int64_t now)
{
	struct nro_attr a[16];
	char *parts[3] = {w[3], "", ""};
	for (int i = 1; i < 3; i++) {
		char *slash = strchr(parts[i - 1], '/');
		if (!slash)
			break;
		*slash = '\0';
		parts[i] = slash + 1;
	}
	int kind = object_kind(w[2]);
	int named = kind == NRO_OBJ_NODE || kind == NRO_OBJ_SERVICE; /* by name, not ns/pod */
	struct nro_state s = {{(uint8_t)kind, nro_s(named ? "" : parts[0]),
			       nro_s(named ? "" : parts[1]), nro_s(parts[2]),
			       nro_s(named ? parts[0] : "")},
			      nro_s(w[4]), nro_s(strcmp(w[5], "-") == 0 ? "" : w[5]), strtod(w[6], NULL),
			      0, attrs_of(w + 7, n - 7, a), a};
	if (n > 7 && w[n - 1][0] == '@') /* "@-600": logged 600 s before now */
		s.since_ms = now + (int64_t)(strtod(w[n - 1] + 1, NULL) * 1000);
	nro_enc_begin(&enc, NRO_KIND_STATE, 1, now, w[1], "n1");
	nro_enc_state(&enc, &s);
	send(r, now);
}

static void record(struct nro_rules *r, const char *line, size_t len, int64_t now)
{
	char buf[1024], *w[WORDS];
	int n = split(line, len, buf, sizeof buf, w);
	if (n < 2)
		return;
	struct nro_attr a[16];
	if (w[0][0] == 'm' && n >= 4) {
		struct nro_metric m = {nro_s(w[2]), nro_s(""), NRO_MT_GAUGE, strtod(w[3], NULL), 0,
				       attrs_of(w + 4, n - 4, a), a};
		if (strcmp(w[3], "+Inf") == 0)
			m.value = INFINITY;
		nro_enc_begin(&enc, NRO_KIND_METRIC, 1, now, w[1], "n1");
		nro_enc_metric(&enc, &m);
	} else if (w[0][0] == 's' && n >= 7) {
		state_record(r, w, n, now);
		return;
	} else if (w[0][0] == 'h' || w[0][0] == 'f') {
		struct nro_health h = {w[0][0] == 'h' ? NRO_HEALTH_OK : NRO_HEALTH_FAILED, 200, 15000,
				       10, 100, nro_s("/"), nro_s(w[0][0] == 'h' ? "" : "failed")};
		nro_enc_begin(&enc, NRO_KIND_HEALTH, 1, now, w[1], "n1");
		nro_enc_health(&enc, &h);
	} else if (w[0][0] == 'e' && n >= 3) {
		struct nro_error x = {strcmp(w[2], "connect") == 0 ? NRO_ERR_CONNECT : NRO_ERR_HTTP, 0,
				      nro_s("/"), nro_s(w[2])};
		nro_enc_begin(&enc, NRO_KIND_ERROR, 1, now, w[1], "n1");
		nro_enc_error(&enc, &x);
	} else {
		fprintf(stderr, "bad record line: %.*s\n", (int)len, line);
		abort();
	}
	send(r, now);
}

static struct nro_rules *fresh(const char *set)
{
	got[0] = '\0';
	struct nro_rules *r = nro_rules_new(on_event, NULL);
	char err[256], kv[256];
	/* CollectorDown would fire on the fake clock's jumps: not under test here */
	nro_rules_set(r, "CollectorDown.enabled=false", err, sizeof err);
	for (const char *p = set; p && *p;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		snprintf(kv, sizeof kv, "%.*s", (int)l, p);
		if (nro_rules_set(r, kv, err, sizeof err) != 0) {
			fprintf(stderr, "row sets %s: %s\n", kv, err);
			abort();
		}
		p = c ? c + 1 : NULL;
	}
	return r;
}

static void run_step(struct nro_rules *r, const struct step *s)
{
	int64_t now = T0 + (int64_t)s->t * 1000;
	nro_rules_tick(r, now);
	for (const char *p = s->recs; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);
		record(r, p, l, now);
		p = nl ? nl + 1 : NULL;
	}
}

static int run_row(const struct row *row)
{
	struct nro_rules *r = fresh(row->set);
	for (int i = 0; i < 16 && row->steps[i].recs; i++)
		run_step(r, &row->steps[i]);
	nro_rules_free(r);
	if (strcmp(got, row->want) == 0)
		return 1;
	fprintf(stderr, "row '%s':\n  want:\n%s  got:\n%s", row->name, row->want, got);
	return 0;
}

/* ---- the rows ---- */

#define CADV(periods, throttled)                                                         \
	"m collector-cadvisor container_cpu_cfs_periods_total " #periods                   \
	" namespace=ns pod=p container=c\n"                                                \
	"m collector-cadvisor container_cpu_cfs_throttled_periods_total " #throttled       \
	" namespace=ns pod=p container=c\n"                                                \
	"h collector-cadvisor"
#define THROTTLE_SET "ContainerCPUThrottled.for=60s,ContainerCPUThrottled.resolve_after=60s"

#define CTR_ATTRS "k8s.namespace.name=ns k8s.pod.name=p k8s.pod.uid=u1 k8s.container.name=c"
#define POD_ATTRS "k8s.namespace.name=ns k8s.pod.name=p k8s.pod.uid=u1"
#define MEM(ws, limit)                                                                   \
	"m collector-pods k8s.container.memory_limit " #limit " " CTR_ATTRS "\n"           \
	"h collector-pods\n"                                                               \
	"m collector-summary container.memory.working_set " #ws " " CTR_ATTRS "\n"         \
	"h collector-summary"
#define MEM_SET "ContainerMemoryNearLimit.for=30s,ContainerMemoryNearLimit.resolve_after=30s"

#define EPH(used, limit)                                                                 \
	"m collector-pods k8s.container.ephemeral_storage_limit " #limit " " CTR_ATTRS "\n" \
	"h collector-pods\n"                                                               \
	"m collector-summary k8s.pod.filesystem.usage " #used " " POD_ATTRS "\n"           \
	"h collector-summary"
#define EPH_SET "EphemeralStoragePressure.for=30s,EphemeralStoragePressure.resolve_after=30s"

#define VOL(avail)                                                                       \
	"m collector-summary k8s.volume.available " #avail " " POD_ATTRS                   \
	" k8s.volume.name=data k8s.persistentvolumeclaim.name=claim\n"                     \
	"m collector-summary k8s.volume.capacity 100 " POD_ATTRS                           \
	" k8s.volume.name=data k8s.persistentvolumeclaim.name=claim\n"                     \
	"h collector-summary"
#define VOL_SET "VolumeFillingUp.for=30s,VolumeFillingUp.resolve_after=30s"
#define NODEFS(avail)                                                                    \
	"m collector-summary k8s.node.filesystem.available " #avail "e9\n"                 \
	"m collector-summary k8s.node.filesystem.capacity 100e9\n"                         \
	"h collector-summary"

#define PROBE(type, failed)                                                              \
	"m collector-probes prober_probe_total " #failed                                   \
	" namespace=ns pod=p container=c probe_type=" #type " result=failed\n"             \
	"h collector-probes"
#define PROBES(liveness, readiness)                                                     \
	"m collector-probes prober_probe_total " #liveness                                 \
	" namespace=ns pod=p container=c probe_type=Liveness result=failed\n"               \
	"m collector-probes prober_probe_total " #readiness                                \
	" namespace=ns pod=p container=c probe_type=Readiness result=failed\n"              \
	"h collector-probes"
#define PROBE_SET "ProbeFailing.for=20s,ProbeFailing.resolve_after=20s"

static const struct row resources_rows[] = {
	{"throttled: fires only after for, resolves only after resolve_after", THROTTLE_SET,
	 {{0, CADV(1000, 0)}, {15, CADV(1100, 50)}, {30, CADV(1200, 100)}, {60, CADV(1250, 120)},
	  {75, CADV(1300, 150)}, {90, CADV(2300, 150)}, {120, CADV(2400, 150)},
	  {150, CADV(2500, 150)}},
	 "ContainerCPUThrottled firing warning ns/p/c\n"
	 "ContainerCPUThrottled resolved warning ns/p/c\n"},
	{"throttled: a one-poll blip fires nothing", THROTTLE_SET,
	 {{0, CADV(1000, 0)}, {15, CADV(1100, 50)}, {30, CADV(2100, 50)}, {90, CADV(2200, 50)}},
	 ""},
	{"throttled: a counter reset fires nothing", "ContainerCPUThrottled.for=0s",
	 {{0, CADV(100000, 50000)}, {15, CADV(100, 10)}, {30, CADV(200, 11)}}, ""},
	{"throttled: missing data never fires", "ContainerCPUThrottled.for=0s",
	 {{0, "m collector-cadvisor container_cpu_cfs_throttled_periods_total 5 namespace=ns "
	      "pod=p container=c\nh collector-cadvisor"},
	  {15, "m collector-cadvisor container_cpu_cfs_throttled_periods_total 90 namespace=ns "
	       "pod=p container=c\nh collector-cadvisor"}},
	 ""},
	{"throttled: a forgotten container resolves its alert", "ContainerCPUThrottled.for=0s",
	 {{0, CADV(1000, 0)}, {15, CADV(1100, 50)}, {30, "h collector-cadvisor"}},
	 "ContainerCPUThrottled firing warning ns/p/c\n"
	 "ContainerCPUThrottled resolved warning ns/p/c\n"},

	{"memory near limit: fires after for, resolves after resolve_after", MEM_SET,
	 {{0, MEM(95, 100)}, {15, MEM(96, 100)}, {30, MEM(96, 100)}, {45, MEM(50, 100)},
	  {60, MEM(50, 100)}, {75, MEM(50, 100)}},
	 "ContainerMemoryNearLimit firing warning ns/p/c\n"
	 "ContainerMemoryNearLimit resolved warning ns/p/c\n"},
	{"memory near limit: a blip fires nothing", MEM_SET,
	 {{0, MEM(95, 100)}, {15, MEM(50, 100)}, {30, MEM(50, 100)}, {60, MEM(50, 100)}}, ""},
	{"memory near limit: no limit, nothing to judge", "ContainerMemoryNearLimit.for=0s",
	 {{0, "m collector-summary container.memory.working_set 99 " CTR_ATTRS
	      "\nh collector-summary"}},
	 ""},
	{"memory near limit: cadvisor's limit, and a forgotten container",
	 "ContainerMemoryNearLimit.for=0s",
	 {{0, "m collector-summary container.memory.working_set 95 " CTR_ATTRS
	      "\nh collector-summary\n"
	      "m collector-cadvisor container_spec_memory_limit_bytes 100 namespace=ns pod=p "
	      "container=c\nh collector-cadvisor"},
	  {15, "h collector-summary\nh collector-cadvisor"}},
	 "ContainerMemoryNearLimit firing warning ns/p/c\n"
	 "ContainerMemoryNearLimit resolved warning ns/p/c\n"},

	{"ephemeral storage: pod above 90% of its limit", EPH_SET,
	 {{0, EPH(95, 100)}, {15, EPH(95, 100)}, {30, EPH(95, 100)}, {45, EPH(10, 100)},
	  {75, EPH(10, 100)}},
	 "EphemeralStoragePressure firing warning ns/p\n"
	 "EphemeralStoragePressure resolved warning ns/p\n"},
	{"ephemeral storage: a container's rootfs and logs above its own limit",
	 "EphemeralStoragePressure.for=0s",
	 {{0, "m collector-pods k8s.container.ephemeral_storage_limit 100 " CTR_ATTRS
	      "\nh collector-pods\n"
	      "m collector-summary container.filesystem.usage 60 " CTR_ATTRS "\n"
	      "m collector-summary container.logs.usage 35 " CTR_ATTRS "\n"
	      "m collector-summary k8s.pod.filesystem.usage 20 " POD_ATTRS
	      "\nh collector-summary"}},
	 "EphemeralStoragePressure firing warning ns/p/c\n"},
	{"ephemeral storage: a blip fires nothing, no limit never fires", EPH_SET,
	 {{0, EPH(95, 100)}, {15, EPH(10, 100)},
	  {60, "m collector-summary k8s.pod.filesystem.usage 1e12 " POD_ATTRS
	       "\nh collector-pods\nh collector-summary"}},
	 ""},

	{"volume: below 10% free warns after for, resolves after resolve_after", VOL_SET,
	 {{0, VOL(8)}, {15, VOL(8)}, {30, VOL(8)}, {45, VOL(50)}, {60, VOL(50)}, {75, VOL(50)}},
	 "VolumeFillingUp firing warning ns/p/data\n"
	 "VolumeFillingUp resolved warning ns/p/data\n"},
	{"volume: below 3% free is critical; a forgotten volume resolves", "VolumeFillingUp.for=0s",
	 {{0, VOL(2)}, {15, "h collector-summary"}},
	 "VolumeFillingUp firing critical ns/p/data\n"
	 "VolumeFillingUp resolved critical ns/p/data\n"},
	{"volume: a blip fires nothing; not a claim, never judged", VOL_SET,
	 {{0, VOL(8)}, {15, VOL(50)},
	  {60, "m collector-summary k8s.volume.available 1 " POD_ATTRS
	       " k8s.volume.name=scratch\nm collector-summary k8s.volume.capacity 100 " POD_ATTRS
	       " k8s.volume.name=scratch\nh collector-summary"},
	  {120, "h collector-summary"}},
	 ""},
	{"node filesystem predicted full within 4 hours", "VolumeFillingUp.for=0s",
	 {{0, NODEFS(30)}, {600, NODEFS(28)}, {1200, NODEFS(26)}, {1800, NODEFS(24)},
	  {2400, NODEFS(90)}, {3000, NODEFS(90)}, {3600, NODEFS(90)}},
	 "VolumeFillingUp firing warning n1 filesystem=nodefs\n"
	 "VolumeFillingUp resolved warning n1 filesystem=nodefs\n"},
	{NULL, NULL, {{0, NULL}}, NULL},
};

#define RESTARTS(n) "s collector-pods container ns/p/c container.restarts - " #n " " CTR_ATTRS "\n"
static const struct row pod_rows[] = {
	/* collector-pods killed after a poll's new restart count but before its
	 * end: the restarted collector repeats that count, the rise still fires */
	{"restarted: a rise sent just before a kill is reported once the count is repeated",
	 "ContainerRestarted.resolve_after=20s",
	 {{0, RESTARTS(3) "h collector-pods"}, {10, RESTARTS(4)},
	  {12, RESTARTS(4) "h collector-pods"}, {27, RESTARTS(4) "h collector-pods"},
	  {42, RESTARTS(4) "h collector-pods"}, {57, RESTARTS(4) "h collector-pods"}},
	 "ContainerRestarted firing info ns/p/c\n"
	 "ContainerRestarted resolved info ns/p/c\n"},
	{"restarted: a repeated count is not a restart; a lower one (recreated) re-bases",
	 "ContainerRestarted.resolve_after=20s",
	 {{0, RESTARTS(3) "h collector-pods"}, {10, RESTARTS(3) "h collector-pods"},
	  {20, RESTARTS(0) "h collector-pods"}, {30, RESTARTS(0) "h collector-pods"}},
	 ""},
	{"probe: failures rising over consecutive polls fire after for", PROBE_SET,
	 {{0, PROBE(Liveness, 5)}, {10, PROBE(Liveness, 6)}, {20, PROBE(Liveness, 7)},
	  {30, PROBE(Liveness, 8)}, {40, PROBE(Liveness, 8)}, {50, PROBE(Liveness, 8)},
	  {60, PROBE(Liveness, 8)}},
	 "ProbeFailing firing warning ns/p/c probe_type=Liveness\n"
	 "ProbeFailing resolved warning ns/p/c probe_type=Liveness\n"},
	{"probe: a one-poll blip fires nothing", PROBE_SET,
	 {{0, PROBE(Readiness, 5)}, {10, PROBE(Readiness, 6)}, {20, PROBE(Readiness, 6)},
	  {40, PROBE(Readiness, 6)}},
	 ""},
	{"probe: a counter reset (restarted kubelet) fires nothing", "ProbeFailing.for=0s",
	 {{0, PROBE(Startup, 500)}, {10, PROBE(Startup, 2)}, {20, PROBE(Startup, 2)}}, ""},
	{"probe: successes never fire; a forgotten container resolves", "ProbeFailing.for=0s",
	 {{0, "m collector-probes prober_probe_total 5 namespace=ns pod=p container=c "
	      "probe_type=Liveness result=successful\nh collector-probes"},
	  {10, "m collector-probes prober_probe_total 9 namespace=ns pod=p container=c "
	       "probe_type=Liveness result=successful\nh collector-probes"},
	  {20, PROBE(Startup, 1)}, {30, PROBE(Startup, 3)}, {40, "h collector-probes"}},
	 "ProbeFailing firing warning ns/p/c probe_type=Startup\n"
	 "ProbeFailing resolved warning ns/p/c probe_type=Startup\n"},
	{NULL, NULL, {{0, NULL}}, NULL},
};

#define RUNNING(n) "s collector-pods pod ns/p" #n " pod.phase Running 2 k8s.pod.uid=u" #n "\n"
#define MAXPODS(n) "s collector-configz node n1 kubelet.config.maxPods " #n " " #n "\nh collector-configz\n"
#define BUCKETS(b1, b10, b30, inf)                                                       \
	"m collector-metrics kubelet_pleg_relist_duration_seconds_bucket " #b1 " le=1\n"   \
	"m collector-metrics kubelet_pleg_relist_duration_seconds_bucket " #b10 " le=10\n" \
	"m collector-metrics kubelet_pleg_relist_duration_seconds_bucket " #b30 " le=30\n" \
	"m collector-metrics kubelet_pleg_relist_duration_seconds_bucket " #inf " le=+Inf\n" \
	"h collector-metrics"
#define PLEG_SET "KubeletPLEGLatencyHigh.for=30s,KubeletPLEGLatencyHigh.resolve_after=30s"
#define TTL(which, secs)                                                                 \
	"m collector-metrics kubelet_certificate_manager_" #which "_ttl_seconds " #secs    \
	"\nh collector-metrics"
#define EVICT(n)                                                                         \
	"m collector-metrics kubelet_evictions " #n " eviction_signal=memory.available\n"  \
	"h collector-metrics"
#define RTERR(n)                                                                         \
	"m collector-metrics kubelet_runtime_operations_errors_total " #n                  \
	" operation_type=create_container\nh collector-metrics"
#define RTERR_SET "KubeletRuntimeErrors.for=20s,KubeletRuntimeErrors.resolve_after=20s"

static const struct row kubelet_rows[] = {
	{"too many pods: above 95% of maxPods from configz", "KubeletTooManyPods.for=30s,"
							     "KubeletTooManyPods.resolve_after=0s",
	 {{0, MAXPODS(2) RUNNING(1) RUNNING(2) "h collector-pods"},
	  {15, RUNNING(1) RUNNING(2) "h collector-pods"},
	  {30, RUNNING(1) RUNNING(2) "h collector-pods"},
	  {45, RUNNING(1) "h collector-pods"}},
	 "KubeletTooManyPods firing warning n1\n"
	 "KubeletTooManyPods resolved warning n1\n"},
	{"too many pods: a blip fires nothing; the default maxPods is 110",
	 "KubeletTooManyPods.for=30s",
	 {{0, MAXPODS(2) RUNNING(1) RUNNING(2) "h collector-pods"},
	  {15, RUNNING(1) "h collector-pods"},
	  {30, "s collector-configz node n1 kubelet.config.cgroupDriver systemd 0\n"
	       "h collector-configz\n" RUNNING(1) RUNNING(2) "h collector-pods"},
	  {90, RUNNING(1) RUNNING(2) "h collector-pods"}},
	 ""},
	{"PLEG p99 from bucket deltas above 10s", PLEG_SET,
	 {{0, BUCKETS(100, 100, 100, 100)}, {15, BUCKETS(100, 101, 150, 150)},
	  {30, BUCKETS(100, 102, 200, 200)}, {45, BUCKETS(100, 103, 250, 250)},
	  {400, BUCKETS(1100, 1103, 1250, 1250)}, {415, BUCKETS(2100, 2103, 2250, 2250)},
	  {430, BUCKETS(3100, 3103, 3250, 3250)}},
	 "KubeletPLEGLatencyHigh firing warning n1\n"
	 "KubeletPLEGLatencyHigh resolved warning n1\n"},
	/* the 5m window holds a burst for 5m: a `for` longer than that filters it */
	{"PLEG: a burst leaves the 5m window before a 6m `for`", "KubeletPLEGLatencyHigh.for=6m",
	 {{0, BUCKETS(100, 100, 100, 100)}, {15, BUCKETS(100, 101, 150, 150)},
	  {100, BUCKETS(1100, 1101, 1150, 1150)}, {200, BUCKETS(2100, 2101, 2150, 2150)},
	  {300, BUCKETS(3100, 3101, 3150, 3150)}, {330, BUCKETS(4100, 4101, 4150, 4150)},
	  {400, BUCKETS(5100, 5101, 5150, 5150)}},
	 ""},
	{"PLEG: a reset and no observations fire nothing", "KubeletPLEGLatencyHigh.for=0s",
	 {{0, BUCKETS(9000, 9000, 9000, 9000)}, {15, BUCKETS(5, 5, 5, 5)},
	  {30, BUCKETS(5, 5, 5, 5)}, {45, BUCKETS(5, 5, 5, 5)}},
	 ""},
	{"certificates: 3 days warns, 12 hours is critical, +Inf says nothing",
	 "KubeletCertificateExpiring.resolve_after=0s",
	 {{0, TTL(client, 259200)}, {15, TTL(server, 43200)}, {30, TTL(client, +Inf)},
	  {45, TTL(server, 2592000)}},
	 "KubeletCertificateExpiring firing warning n1 certificate=client\n"
	 "KubeletCertificateExpiring firing critical n1 certificate=server\n"
	 "KubeletCertificateExpiring resolved warning n1 certificate=client\n"
	 "KubeletCertificateExpiring resolved critical n1 certificate=server\n"},
	{"evictions: an increase fires (naming the signal), quiet resolves",
	 "KubeletEvictions.resolve_after=30s",
	 {{0, EVICT(3)}, {15, EVICT(3)}, {30, EVICT(4)}, {45, EVICT(4)}, {60, EVICT(4)},
	  {75, EVICT(4)}},
	 "KubeletEvictions firing warning n1 eviction_signal=memory.available\n"
	 "KubeletEvictions resolved warning n1 eviction_signal=memory.available\n"},
	{"evictions: a reset and the first sample fire nothing", NULL,
	 {{0, EVICT(30)}, {15, EVICT(0)}, {30, EVICT(0)}}, ""},
	{"runtime errors: rising over consecutive polls", RTERR_SET,
	 {{0, RTERR(1)}, {10, RTERR(2)}, {20, RTERR(3)}, {30, RTERR(4)}, {40, RTERR(4)},
	  {50, RTERR(4)}, {60, RTERR(4)}},
	 "KubeletRuntimeErrors firing warning n1 operation_type=create_container\n"
	 "KubeletRuntimeErrors resolved warning n1 operation_type=create_container\n"},
	{"runtime errors: a blip and a reset fire nothing", RTERR_SET,
	 {{0, RTERR(1)}, {10, RTERR(2)}, {20, RTERR(2)}, {30, RTERR(0)}, {40, RTERR(0)},
	  {50, RTERR(0)}},
	 ""},
	{NULL, NULL, {{0, NULL}}, NULL},
};

#define NETERR(rx)                                                                       \
	"m collector-summary k8s.node.network.errors " #rx " interface=eth0 direction=receive\n" \
	"m collector-summary k8s.node.network.errors 0 interface=eth0 direction=transmit\n" \
	"h collector-summary"
#define NET_SET "NodeNetworkIssue.for=20s,NodeNetworkIssue.resolve_after=20s"

static const struct row node_rows[] = {
	{"network: interface errors rising over consecutive polls", NET_SET,
	 {{0, NETERR(0)}, {10, NETERR(5)}, {20, NETERR(9)}, {30, NETERR(12)}, {40, NETERR(12)},
	  {50, NETERR(12)}, {60, NETERR(12)}},
	 "NodeNetworkIssue firing warning n1 interface=eth0\n"
	 "NodeNetworkIssue resolved warning n1 interface=eth0\n"},
	{"network: a blip and a counter reset fire nothing", NET_SET,
	 {{0, NETERR(0)}, {10, NETERR(5)}, {20, NETERR(5)}, {30, NETERR(0)}, {40, NETERR(0)},
	  {50, NETERR(0)}},
	 ""},
	{"network: every kubelet collector failing to connect", NET_SET,
	 {{0, "h collector-pods\nh collector-metrics"},
	  {10, "e collector-pods connect\nf collector-pods\ne collector-metrics connect\n"
	       "f collector-metrics"},
	  {20, "e collector-pods connect\nf collector-pods\ne collector-metrics connect\n"
	       "f collector-metrics"},
	  {30, "e collector-pods connect\nf collector-pods\ne collector-metrics connect\n"
	       "f collector-metrics"},
	  {40, "h collector-pods\nh collector-metrics"}, {60, "h collector-pods"}},
	 "NodeNetworkIssue firing warning n1 cause=kubelet-unreachable\n"
	 "NodeNetworkIssue resolved warning n1 cause=kubelet-unreachable\n"},
	{"network: one collector of two failing is not the network", "NodeNetworkIssue.for=0s",
	 {{0, "h collector-pods\nh collector-metrics"},
	  {10, "e collector-pods connect\nf collector-pods\nh collector-metrics"}},
	 ""},
	{"memory: a threshold removed from the config falls back to the default (not sticky)",
	 "NodeMemoryPressure.resolve_after=0s",
	 {{0, "s collector-configz node n1 kubelet.eviction.hard.memory.available 1Gi "
	      "1073741824 source=config\nh collector-configz\n"
	      "m collector-summary k8s.node.memory.available 524288000\n"
	      "m collector-summary k8s.node.memory.working_set 524288000\nh collector-summary"},
	  {15, "s collector-configz node n1 kubelet.config.maxPods 110 110\nh collector-configz\n"
	       "m collector-summary k8s.node.memory.available 524288000\n"
	       "m collector-summary k8s.node.memory.working_set 524288000\nh collector-summary"}},
	 "NodeMemoryPressure firing critical n1\n"
	 "NodeMemoryPressure resolved critical n1\n"},
	{NULL, NULL, {{0, NULL}}, NULL},
};

/* ---- host rules (collector-kmsg, collector-node) ---- */

#define CTR_LISTED                                                                       \
	"s collector-pods container ns/p/c container.ready true 1 k8s.pod.uid=u1 "         \
	"container.id=containerd://abc\nh collector-pods\n"
#define OOM(task, pid)                                                                   \
	"s collector-kmsg node n1 host.kernel.oom_kill " #task " " #pid " pid=" #pid       \
	" task=" #task " k8s.pod.uid=u1 container.id=abc constraint=CONSTRAINT_MEMCG\n"    \
	"h collector-kmsg"
#define KMSG_QUIET "h collector-kmsg"
#define KSTATE(key, value) "s collector-kmsg node n1 host.kernel." #key " " value " 0\nh collector-kmsg"
#define FSMODE(mode, num)                                                                \
	"s collector-node node n1 host.filesystem.mode " #mode " " #num                    \
	" mountpoint=/ device=/dev/sda1 type=ext4\nh collector-node"
#define CONNTRACK(count)                                                                 \
	"m collector-node system.conntrack.count " #count "\n"                             \
	"m collector-node system.conntrack.max 100\nh collector-node"
#define CLOCK(v) "s collector-node node n1 host.clock " #v " 0 offset_s=0 max_error_s=16\nh collector-node"
#define BOOT(id, up) "s collector-node node n1 host.boot " #id " " #up "\nh collector-node"

static const struct row host_rows[] = {
	{"oom: a kill in a listed container names it; resolves after resolve_after",
	 "KernelOOMKill.resolve_after=60s",
	 {{0, CTR_LISTED OOM(stress, 42)}, {15, CTR_LISTED KMSG_QUIET},
	  {30, CTR_LISTED KMSG_QUIET}, {60, CTR_LISTED KMSG_QUIET}, {90, CTR_LISTED KMSG_QUIET}},
	 "KernelOOMKill firing warning ns/p/c\n"
	 "KernelOOMKill resolved warning ns/p/c\n"},
	{"oom: another kill while firing keeps it; one after the resolution fires again",
	 "KernelOOMKill.resolve_after=60s",
	 {{0, CTR_LISTED OOM(stress, 42)}, {30, CTR_LISTED OOM(stress, 43)},
	  {45, CTR_LISTED KMSG_QUIET}, {100, CTR_LISTED KMSG_QUIET},
	  {110, CTR_LISTED KMSG_QUIET}, {120, CTR_LISTED OOM(stress, 44)}},
	 "KernelOOMKill firing warning ns/p/c\n"
	 "KernelOOMKill resolved warning ns/p/c\n"
	 "KernelOOMKill firing warning ns/p/c\n"},
	{"oom: its pod listed after the kill is waited for, then named",
	 "KernelOOMKill.resolve_after=0s",
	 {{0, OOM(stress, 42)}, {15, KMSG_QUIET}, {30, CTR_LISTED KMSG_QUIET}},
	 "KernelOOMKill firing warning ns/p/c\n"
	 "KernelOOMKill resolved warning ns/p/c\n"},
	{"oom: a pod never listed is reported after 2 minutes, naming the process",
	 "KernelOOMKill.resolve_after=0s",
	 {{0, OOM(stress, 42)}, {60, KMSG_QUIET}, {119, KMSG_QUIET}, {121, KMSG_QUIET},
	  {130, KMSG_QUIET}},
	 "KernelOOMKill firing warning n1 task=stress\n"
	 "KernelOOMKill resolved warning n1 task=stress\n"},
	{"oom: a system daemon's kill names the process",
	 "KernelOOMKill.resolve_after=0s",
	 {{0, "s collector-kmsg node n1 host.kernel.oom_kill java 7 pid=7 task=java "
	      "constraint=CONSTRAINT_NONE\nh collector-kmsg"},
	  {15, KMSG_QUIET}},
	 "KernelOOMKill firing warning n1 task=java\n"
	 "KernelOOMKill resolved warning n1 task=java\n"},
	{"kernel: a problem logged before resolve_after (and 5m) is history",
	 "DiskIOErrors.resolve_after=0s",
	 {{0, "s collector-kmsg node n1 host.kernel.io_error sdb 0 @-400\nh collector-kmsg"},
	  {10, "s collector-kmsg node n1 host.kernel.io_error sdc 0 @-200\nh collector-kmsg"},
	  {20, KMSG_QUIET}},
	 "DiskIOErrors firing critical n1 device=sdc\n"
	 "DiskIOErrors resolved critical n1 device=sdc\n"},
	{"kernel: no problem states, nothing fires", NULL,
	 {{0, "m collector-kmsg nro.kmsg.lines 5\n" KMSG_QUIET}, {15, KMSG_QUIET},
	  {30, "s collector-kmsg node n1 host.kernel.log_gap lost 3\n" KMSG_QUIET}},
	 ""},
	{"hung task, soft lockup: one alert per task; resolve after resolve_after",
	 "KernelTaskHung.resolve_after=30s,KernelSoftLockup.resolve_after=30s",
	 {{0, KSTATE(task_hung, "jbd2/sda1-8")}, {10, KSTATE(soft_lockup, "kworker/3:1")},
	  {20, KMSG_QUIET}, {40, KMSG_QUIET}, {50, KMSG_QUIET}},
	 "KernelTaskHung firing warning n1 task=jbd2/sda1-8\n"
	 "KernelSoftLockup firing critical n1 task=kworker/3:1\n"
	 "KernelTaskHung resolved warning n1 task=jbd2/sda1-8\n"
	 "KernelSoftLockup resolved critical n1 task=kworker/3:1\n"},
	{"I/O and filesystem errors: per device",
	 "DiskIOErrors.resolve_after=0s,FilesystemErrors.resolve_after=0s",
	 {{0, KSTATE(io_error, "sdb")}, {10, KSTATE(fs_error, "sda1")}, {20, KMSG_QUIET}},
	 "DiskIOErrors firing critical n1 device=sdb\n"
	 "FilesystemErrors firing critical n1 device=sda1\n"
	 "DiskIOErrors resolved critical n1 device=sdb\n"
	 "FilesystemErrors resolved critical n1 device=sda1\n"},
	{"read-only: the kernel's remount, and a mount read ro until it reads rw",
	 "FilesystemReadOnly.resolve_after=0s",
	 {{0, KSTATE(fs_readonly, "sda1")}, {10, FSMODE(ro, 1)}, {20, FSMODE(ro, 1)},
	  {30, FSMODE(rw, 0)}},
	 "FilesystemReadOnly firing critical n1 device=sda1\n"
	 "FilesystemReadOnly resolved critical n1 device=sda1\n"
	 "FilesystemReadOnly firing critical n1 mountpoint=/\n"
	 "FilesystemReadOnly resolved critical n1 mountpoint=/\n"},
	{"read-only: a mount no longer reported resolves; rw never fires",
	 "FilesystemReadOnly.resolve_after=0s",
	 {{0, FSMODE(ro, 1)}, {10, "h collector-node"}, {20, FSMODE(rw, 0)}},
	 "FilesystemReadOnly firing critical n1 mountpoint=/\n"
	 "FilesystemReadOnly resolved critical n1 mountpoint=/\n"},
	{"conntrack: above 90% of max, and the kernel's table full",
	 "ConntrackTableFull.resolve_after=0s",
	 {{0, CONNTRACK(50)}, {10, CONNTRACK(95)}, {20, CONNTRACK(50)},
	  {30, KSTATE(conntrack_full, "nf_conntrack")}, {40, KMSG_QUIET}},
	 "ConntrackTableFull firing warning n1 cause=usage\n"
	 "ConntrackTableFull resolved warning n1 cause=usage\n"
	 "ConntrackTableFull firing warning n1 table=nf_conntrack\n"
	 "ConntrackTableFull resolved warning n1 table=nf_conntrack\n"},
	{"conntrack: no max, nothing to judge", NULL,
	 {{0, "m collector-node system.conntrack.count 95\nh collector-node"}}, ""},
	{"clock: unsynchronised for `for` fires, synchronised resolves",
	 "ClockNotSynchronized.for=30s",
	 {{0, CLOCK(unsynchronized)}, {15, CLOCK(unsynchronized)}, {30, CLOCK(unsynchronized)},
	  {45, CLOCK(synchronized)}},
	 "ClockNotSynchronized firing warning n1\n"
	 "ClockNotSynchronized resolved warning n1\n"},
	{"clock: a blip fires nothing", "ClockNotSynchronized.for=30s",
	 {{0, CLOCK(unsynchronized)}, {15, CLOCK(synchronized)}, {60, CLOCK(synchronized)}}, ""},
	{"reboot: a new boot id fires (info), resolves after resolve_after",
	 "NodeRebooted.resolve_after=30s",
	 {{0, BOOT(b1, 86400)}, {15, BOOT(b1, 86415)}, {30, BOOT(b2, 20)}, {45, BOOT(b2, 35)},
	  {60, BOOT(b2, 50)}, {75, BOOT(b2, 65)}},
	 "NodeRebooted firing info n1\n"
	 "NodeRebooted resolved info n1\n"},
	{"reboot: first seen just after boot fires; long up never does",
	 "NodeRebooted.resolve_after=0s",
	 {{0, BOOT(b1, 30)}, {15, BOOT(b1, 45)}, {30, "h collector-node"}, {45, BOOT(b9, 99999)}},
	 "NodeRebooted firing info n1\n"
	 "NodeRebooted resolved info n1\n"},
	{NULL, NULL, {{0, NULL}}, NULL},
};

#define HOSTCPU(idle)                                                                    \
	"m collector-node system.cpu.utilization " #idle " state=idle\n"                   \
	"m collector-node system.cpu.utilization 0.05 state=wait\n"                         \
	"m collector-node system.cpu.utilization 0.1 state=user\nh collector-node"
#define LINK(state, num) "s collector-node node n1 host.net.link " #state " " #num " device=eth0 carrier=" #num "\nh collector-node"
#define HOSTNET(rx, drops)                                                               \
	"m collector-node system.network.errors " #rx " device=eth0 direction=receive\n"   \
	"m collector-node system.network.dropped " #drops " device=eth0 direction=receive\n" \
	"h collector-node"
#define HOST_NODE_SET                                                                    \
	"NodeCPUPressure.for=0s,NodeCPUPressure.resolve_after=0s,"                          \
	"NodeMemoryPressure.resolve_after=0s,NodePIDPressure.resolve_after=0s"

static const struct row host_node_rows[] = {
	{"host figures: CPU, memory and PIDs without the kubelet's", HOST_NODE_SET,
	 {{0, HOSTCPU(0.05)}, {10, HOSTCPU(0.85)},
	  {20, "m collector-node system.memory.utilization 0.9\nh collector-node"},
	  {30, "m collector-node system.memory.utilization 0.5\nh collector-node"},
	  {40, "m collector-node system.memory.usage 90 state=used\n"
	       "m collector-node system.memory.limit 100\nh collector-node"},
	  {50, "m collector-node system.memory.usage 10 state=used\n"
	       "m collector-node system.memory.limit 100\nh collector-node"},
	  {60, "m collector-node system.linux.threads.count 950\n"
	       "m collector-node system.linux.pid.max 32768\n"
	       "m collector-node system.linux.threads.max 1000\nh collector-node"},
	  {70, "m collector-node system.linux.threads.count 100\n"
	       "m collector-node system.linux.pid.max 32768\n"
	       "m collector-node system.linux.threads.max 1000\nh collector-node"}},
	 "NodeCPUPressure firing warning n1\n"
	 "NodeCPUPressure resolved warning n1\n"
	 "NodeMemoryPressure firing warning n1\n"
	 "NodeMemoryPressure resolved warning n1\n"
	 "NodeMemoryPressure firing warning n1\n"
	 "NodeMemoryPressure resolved warning n1\n"
	 "NodePIDPressure firing warning n1\n"
	 "NodePIDPressure resolved warning n1\n"},
	{"host figures: the kubelet's win when both are there", HOST_NODE_SET,
	 {{0, "m collector-summary k8s.node.cpu.usage 0.1\nm collector-spec machine_cpu_cores 4\n"
	      "h collector-summary\nh collector-spec\n" HOSTCPU(0.01)},
	  {10, "m collector-summary k8s.node.cpu.usage 0.1\nh collector-summary\n" HOSTCPU(0.01)}},
	 ""},
	{"links: an interface that was up going down; first seen down says nothing",
	 "NodeNetworkIssue.for=0s,NodeNetworkIssue.resolve_after=0s",
	 {{0, LINK(up, 1)}, {10, LINK(down, 0)}, {20, LINK(up, 1)},
	  {30, "s collector-node node n1 host.net.link down 0 device=eth1 carrier=0\n"
	       "h collector-node"}},
	 "NodeNetworkIssue firing warning n1 interface=eth0\n"
	 "NodeNetworkIssue resolved warning n1 interface=eth0\n"},
	{"host errors and drops rising, without the kubelet's figures", NET_SET,
	 {{0, HOSTNET(0, 0)}, {10, HOSTNET(1, 0)}, {20, HOSTNET(1, 4)}, {30, HOSTNET(2, 5)},
	  {40, HOSTNET(2, 5)}, {50, HOSTNET(2, 5)}, {60, HOSTNET(2, 5)}},
	 "NodeNetworkIssue firing warning n1 interface=eth0\n"
	 "NodeNetworkIssue resolved warning n1 interface=eth0\n"},
	{NULL, NULL, {{0, NULL}}, NULL},
};

/* ---- service rules (collector-systemd, collector-runtime) ---- */

/* a pushed unit state (no health record), and a resync (with one) */
#define UNIT(active, sub, restarts)                                                      \
	"s collector-systemd service kubelet.service systemd.unit " #active " " #restarts   \
	" sub_state=" #sub " result=exit-code healthy=false\n"
#define RESYNC(active, sub, restarts) UNIT(active, sub, restarts) "h collector-systemd"
#define CRI(reachable, ready, network)                                                   \
	"s collector-runtime node n1 cri.reachable " #reachable " 1\n"                      \
	"s collector-runtime node n1 cri.condition.RuntimeReady " #ready " 1\n"             \
	"s collector-runtime node n1 cri.condition.NetworkReady " #network                  \
	" 1 reason=NetworkPluginNotReady message=cni\nh collector-runtime"
#define CRI_DOWN                                                                         \
	"s collector-runtime node n1 cri.reachable false 0 error=timeout message=deadline\n" \
	"f collector-runtime"

static const struct row service_rows[] = {
	{"unit: failed for `for` (pushed) fires about the unit, active resolves",
	 "SystemdServiceFailed.resolve_after=0s",
	 {{0, RESYNC(active, running, 0)}, {10, UNIT(failed, failed, 0)},
	  {25, RESYNC(failed, failed, 0)}, {40, "h collector-pods"}, {45, UNIT(active, running, 0)}},
	 "SystemdServiceFailed firing warning kubelet.service\n"
	 "SystemdServiceFailed resolved warning kubelet.service\n"},
	{"unit: a blip (failed, back within `for`) fires nothing", NULL,
	 {{0, RESYNC(active, running, 0)}, {10, UNIT(failed, failed, 0)},
	  {20, UNIT(active, running, 0)}, {60, RESYNC(active, running, 0)}},
	 ""},
	{"unit: NRestarts rising is restarting; steady resolves",
	 "SystemdServiceFailed.for=0s,SystemdServiceFailed.resolve_after=0s",
	 {{0, RESYNC(active, running, 3)}, {10, UNIT(active, running, 4)},
	  {70, RESYNC(active, running, 4)}},
	 "SystemdServiceFailed firing warning kubelet.service\n"
	 "SystemdServiceFailed resolved warning kubelet.service\n"},
	{"unit: one no longer watched resolves",
	 "SystemdServiceFailed.for=0s,SystemdServiceFailed.resolve_after=0s",
	 {{0, RESYNC(failed, failed, 0)}, {60, "h collector-systemd"}},
	 "SystemdServiceFailed firing warning kubelet.service\n"
	 "SystemdServiceFailed resolved warning kubelet.service\n"},
	{"runtime: RuntimeReady false for `for`, resolves after resolve_after", NULL,
	 {{0, CRI(true, false, true)}, {15, CRI(true, false, true)}, {30, CRI(true, false, true)},
	  {45, CRI(true, true, true)}, {60, CRI(true, true, true)}, {75, CRI(true, true, true)}},
	 "ContainerRuntimeUnhealthy firing critical n1\n"
	 "ContainerRuntimeUnhealthy resolved critical n1\n"},
	{"runtime: the socket timing out; a blip fires nothing",
	 "ContainerRuntimeUnhealthy.resolve_after=0s",
	 {{0, CRI(true, true, true)}, {10, CRI_DOWN}, {20, CRI(true, true, true)},
	  {30, CRI_DOWN}, {40, CRI_DOWN}, {70, CRI_DOWN}, {80, CRI(true, true, true)}},
	 "ContainerRuntimeUnhealthy firing critical n1\n"
	 "ContainerRuntimeUnhealthy resolved critical n1\n"},
	{"runtime: NetworkReady false is a NodeNetworkIssue naming the cause",
	 "NodeNetworkIssue.for=0s,NodeNetworkIssue.resolve_after=0s",
	 {{0, CRI(true, true, false)}, {10, CRI(true, true, true)}},
	 "NodeNetworkIssue firing warning n1 cause=runtime-network\n"
	 "NodeNetworkIssue resolved warning n1 cause=runtime-network\n"},
	{"runtime: nothing heard, nothing judged", "ContainerRuntimeUnhealthy.for=0s",
	 {{0, "h collector-runtime"}, {10, "f collector-runtime"}}, ""},
	{NULL, NULL, {{0, NULL}}, NULL},
};

/* ---- divergence: the kubelet's view against the API server's ---- */

#define KPOD(n, phase) "s collector-pods pod ns/p" #n " pod.phase " #phase " 2 k8s.pod.uid=u" #n "\n"
#define KCTR(n, state, restarts)                                                        \
	"s collector-pods container ns/p" #n "/c container.state " #state " 0 k8s.pod.uid=u" #n "\n" \
	"s collector-pods container ns/p" #n "/c container.restarts - " #restarts " k8s.pod.uid=u" #n "\n"
#define APOD(n, phase)                                                                   \
	"s collector-apiserver pod ns/p" #n " api.pod.phase " #phase " 0 k8s.pod.uid=u" #n  \
	" source=apiserver\n"
#define ACTR(n, state, restarts)                                                        \
	"s collector-apiserver container ns/p" #n "/c api.container.state " #state " 0 k8s.pod.uid=u" #n \
	" source=apiserver\n"                                                              \
	"s collector-apiserver container ns/p" #n "/c api.container.restarts - " #restarts  \
	" k8s.pod.uid=u" #n " source=apiserver\n"
#define KUBELET(x) x "h collector-pods\n"
#define API(x) x "h collector-apiserver"
#define AGREE KUBELET(KPOD(1, Running) KCTR(1, running, 3)) API(APOD(1, Running) ACTR(1, running, 3))
#define DIV_SET "KubeletAPIDivergence.for=30s"

#define HEALTHZ(v) "s collector-healthz node n1 kubelet.healthz " #v " 0\nh collector-healthz\n"
#define LEASE(age, ready)                                                                \
	"s collector-apiserver node n1 api.lease.age - " #age " source=apiserver\n"        \
	"s collector-apiserver node n1 api.node.condition.Ready " #ready " 0 source=apiserver\n" \
	"h collector-apiserver"
#define MEMFIG(avail)                                                                    \
	"m collector-summary k8s.node.memory.available " #avail "\n"                       \
	"m collector-summary k8s.node.memory.working_set 1e9\nh collector-summary\n"
#define APIMEM(v)                                                                        \
	"s collector-apiserver node n1 api.node.condition.MemoryPressure " #v              \
	" 0 source=apiserver\nh collector-apiserver"

static const struct row divergence_rows[] = {
	{"divergence: agreeing views fire nothing", DIV_SET,
	 {{0, AGREE}, {15, AGREE}, {30, AGREE}, {45, AGREE}, {60, AGREE}}, ""},
	{"orphan: a pod the kubelet runs and the API does not list, after for; resolves when "
	 "listed", DIV_SET,
	 {{0, KUBELET(KPOD(1, Running) KPOD(2, Running)) API(APOD(1, Running))},
	  {15, KUBELET(KPOD(1, Running) KPOD(2, Running)) API(APOD(1, Running))},
	  {30, KUBELET(KPOD(1, Running) KPOD(2, Running)) API(APOD(1, Running))},
	  {45, KUBELET(KPOD(1, Running) KPOD(2, Running)) API(APOD(1, Running) APOD(2, Running))}},
	 "KubeletAPIDivergence firing warning ns/p2 divergence=orphan\n"
	 "KubeletAPIDivergence resolved warning ns/p2 divergence=orphan\n"},
	{"unadmitted: bound in the API, not listed by the kubelet, after for; a finished pod is "
	 "not", DIV_SET,
	 {{0, KUBELET(KPOD(1, Running)) API(APOD(1, Running) APOD(2, Pending) APOD(3, Succeeded))},
	  {15, KUBELET(KPOD(1, Running)) API(APOD(1, Running) APOD(2, Pending) APOD(3, Succeeded))},
	  {30, KUBELET(KPOD(1, Running)) API(APOD(1, Running) APOD(2, Pending) APOD(3, Succeeded))},
	  {45, KUBELET(KPOD(1, Running) KPOD(2, Pending))
		   API(APOD(1, Running) APOD(2, Pending) APOD(3, Succeeded))}},
	 "KubeletAPIDivergence firing warning ns/p2 divergence=unadmitted\n"
	 "KubeletAPIDivergence resolved warning ns/p2 divergence=unadmitted\n"},
	{"restarts and state differing beyond for fire; converging resolves", DIV_SET,
	 {{0, KUBELET(KPOD(1, Running) KCTR(1, running, 4)) API(APOD(1, Running) ACTR(1, waiting, 3))},
	  {15, KUBELET(KPOD(1, Running) KCTR(1, running, 4)) API(APOD(1, Running) ACTR(1, running, 3))},
	  {30, KUBELET(KPOD(1, Running) KCTR(1, running, 4)) API(APOD(1, Running) ACTR(1, running, 3))},
	  {45, KUBELET(KPOD(1, Running) KCTR(1, running, 4)) API(APOD(1, Running) ACTR(1, running, 4))},
	  {60, KUBELET(KPOD(1, Running) KCTR(1, running, 4)) API(APOD(1, Running) ACTR(1, waiting, 4))},
	  {75, KUBELET(KPOD(1, Running) KCTR(1, running, 4)) API(APOD(1, Running) ACTR(1, waiting, 4))},
	  {90, KUBELET(KPOD(1, Running) KCTR(1, running, 4)) API(APOD(1, Running) ACTR(1, waiting, 4))},
	  {105, KUBELET(KPOD(1, Running) KCTR(1, running, 4)) API(APOD(1, Running) ACTR(1, running, 4))}},
	 "KubeletAPIDivergence firing warning ns/p1/c divergence=restarts\n"
	 "KubeletAPIDivergence resolved warning ns/p1/c divergence=restarts\n"
	 "KubeletAPIDivergence firing warning ns/p1/c divergence=state\n"
	 "KubeletAPIDivergence resolved warning ns/p1/c divergence=state\n"},
	{"a difference shorter than for fires nothing; a failed API poll judges nothing", DIV_SET,
	 {{0, AGREE}, {15, KUBELET(KPOD(1, Running) KCTR(1, running, 3)) API(APOD(1, Running) ACTR(1, running, 4))},
	  {30, AGREE}, {45, KUBELET(KPOD(1, Running) KPOD(2, Running)) "f collector-apiserver"},
	  {60, KUBELET(KPOD(1, Running) KPOD(2, Running)) "f collector-apiserver"},
	  {90, KUBELET(KPOD(1, Running) KPOD(2, Running)) "f collector-apiserver"}},
	 ""},
	{"the API's view does not drive the pod rules nor keep a pod the kubelet dropped",
	 "KubeletAPIDivergence.enabled=false,PodCrashLooping.threshold=0",
	 {{0, KUBELET(KPOD(1, Running) KCTR(1, running, 3))
		  API(APOD(1, Running) ACTR(1, waiting, 5))
	      "s collector-apiserver container ns/p1/c api.container.state waiting 0 "
	      "k8s.pod.uid=u1 reason=CrashLoopBackOff source=apiserver\nh collector-apiserver\n"
	      "s collector-pods pod ns/p2 pod.phase Failed 4 k8s.pod.uid=u2 reason=Evicted\n"
	      "h collector-pods\n" API(APOD(2, Failed))},
	  {15, KUBELET(KPOD(1, Running) KCTR(1, running, 3)) API(APOD(1, Running) ACTR(1, running, 6) APOD(2, Failed))},
	  {30, KUBELET(KPOD(1, Running) KCTR(1, running, 3)) API(APOD(1, Running) ACTR(1, running, 7) APOD(2, Failed))}},
	 "PodEvicted firing warning ns/p2\n"
	 "PodEvicted resolved warning ns/p2\n"},
	{"lease: not renewed for 40s while the kubelet is healthy; renewed resolves", NULL,
	 {{0, HEALTHZ(ok) LEASE(5, True)}, {15, HEALTHZ(ok) LEASE(20, True)},
	  {30, HEALTHZ(ok) LEASE(45, True)}, {45, HEALTHZ(ok) LEASE(3, True)}},
	 "NodeStatusStale firing warning n1 cause=lease\n"
	 "NodeStatusStale resolved warning n1 cause=lease\n"},
	{"lease: a stale lease with a failing kubelet is NodeNotReady's", NULL,
	 {{0, HEALTHZ(failed) LEASE(100, False)}, {60, HEALTHZ(failed) LEASE(160, False)}},
	 "NodeNotReady firing critical n1\n"
	 "KubeletUnhealthy firing warning n1\n"},
	{"ready: the API's Ready disagreeing with /healthz beyond the threshold",
	 "NodeStatusStale.threshold=30",
	 {{0, HEALTHZ(ok) LEASE(1, Unknown)}, {15, HEALTHZ(ok) LEASE(1, Unknown)},
	  {20, HEALTHZ(ok) LEASE(1, True)}, {25, HEALTHZ(ok) LEASE(1, Unknown)},
	  {40, HEALTHZ(ok) LEASE(1, Unknown)}, {55, HEALTHZ(ok) LEASE(1, Unknown)},
	  {70, HEALTHZ(ok) LEASE(1, True)}},
	 "NodeStatusStale firing warning n1 cause=ready\n"
	 "NodeStatusStale resolved warning n1 cause=ready\n"},
	{"ready: not Ready in the API while the runtime's network is not ready agrees",
	 "NodeStatusStale.threshold=20,NodeNetworkIssue.enabled=false",
	 {{0, "s collector-runtime node n1 cri.condition.NetworkReady false 0 reason=NetworkPluginNotReady\n"
	      "h collector-runtime\n" HEALTHZ(ok) LEASE(1, False)},
	  {15, HEALTHZ(ok) LEASE(1, False)}, {30, HEALTHZ(ok) LEASE(1, False)}},
	 ""},
	{"pressure: the API's MemoryPressure=True without eviction-level figures, beyond the grace",
	 "NodeConditionMismatch.threshold=30",
	 {{0, MEMFIG(4e9) APIMEM(True)}, {15, MEMFIG(4e9) APIMEM(True)},
	  {30, MEMFIG(4e9) APIMEM(True)}, {45, MEMFIG(4e9) APIMEM(False)},
	  {60, MEMFIG(4e9) APIMEM(False)}, {75, APIMEM(True)}},
	 "NodeConditionMismatch firing warning n1 condition=MemoryPressure\n"
	 "NodeConditionMismatch resolved warning n1 condition=MemoryPressure\n"},
	{"pressure: eviction-level figures the API does not show, after configz's transition period",
	 "NodeMemoryPressure.resolve_after=0s",
	 {{0, "s collector-configz node n1 kubelet.config.evictionPressureTransitionPeriod 20s "
	      "20 source=config\nh collector-configz\n" MEMFIG(5e7) APIMEM(False)},
	  {10, MEMFIG(5e7) APIMEM(False)}, {20, MEMFIG(5e7) APIMEM(False)},
	  {30, MEMFIG(4e9) APIMEM(False)}},
	 "NodeMemoryPressure firing critical n1\n"
	 "NodeConditionMismatch firing warning n1 condition=MemoryPressure\n"
	 "NodeMemoryPressure resolved critical n1\n"
	 "NodeConditionMismatch resolved warning n1 condition=MemoryPressure\n"},
	{NULL, NULL, {{0, NULL}}, NULL},
};

static int run_rows(const struct row *rows)
{
	int ok = 1;
	for (const struct row *row = rows; row->name; row++)
		ok &= run_row(row);
	return ok;
}

TEST(resources_table)
{
	CHECK(run_rows(resources_rows));
}

TEST(pod_table)
{
	CHECK(run_rows(pod_rows));
}

TEST(kubelet_table)
{
	CHECK(run_rows(kubelet_rows));
}

TEST(node_table)
{
	CHECK(run_rows(node_rows));
}

TEST(host_table)
{
	CHECK(run_rows(host_rows));
	CHECK(run_rows(host_node_rows));
}

TEST(service_table)
{
	CHECK(run_rows(service_rows));
}

TEST(divergence_table)
{
	CHECK(run_rows(divergence_rows));
}

TEST(resolved_event_states_the_current_value)
{
	static const struct row row = {
		"memory", "NodeMemoryPressure.resolve_after=0s",
		{{0, "m collector-summary k8s.node.memory.available 52428800\n"
		     "m collector-summary k8s.node.memory.working_set 1e9\nh collector-summary"},
		 {15, "m collector-summary k8s.node.memory.available 2254857830\n"
		      "m collector-summary k8s.node.memory.working_set 1e9\nh collector-summary"}},
		"NodeMemoryPressure firing critical n1\nNodeMemoryPressure resolved critical n1\n"};
	CHECK(run_row(&row));
	CHECK(strstr(last_message, "memory.available 2.1 GiB, back above 100 MiB") != NULL);
	if (!strstr(last_message, "back above"))
		fprintf(stderr, "  message: %s\n", last_message);
}

TEST(set_rejects_out_of_range_values)
{
	struct nro_rules *r = fresh(NULL);
	char err[256];
	CHECK(nro_rules_set(r, "NodeMemoryPressure.threshold=-5", err, sizeof err) == -1);
	CHECK(strstr(err, "0..100") != NULL);
	CHECK(nro_rules_set(r, "ContainerCPUThrottled.threshold=500", err, sizeof err) == -1);
	CHECK(nro_rules_set(r, "KubeletCertificateExpiring.critical=2", err, sizeof err) == 0);
	CHECK(nro_rules_set(r, "PodEvicted.threshold=1", err, sizeof err) == -1);
	CHECK(nro_rules_set(r, "NodeMemoryPressure.critical=1", err, sizeof err) == -1);
	CHECK(nro_rules_set(r, "flap.changes=1", err, sizeof err) == -1);
	CHECK(nro_rules_set(r, "flap.window=5m", err, sizeof err) == 0);
	char out[16384];
	nro_rules_describe(r, out, sizeof out);
	CHECK(strstr(out, "critical=2 source=flag") != NULL);
	CHECK(strstr(out, "flap.window=5m flap.changes=6 source=flag") != NULL);
	nro_rules_free(r);
}

/* A restarted analyzer restores what was firing from the ring: an alert per
 * probe type is not announced again, and resolves once when it clears. */
TEST(restored_sub_alerts_are_not_announced_again)
{
	static const struct row before = {
		"probes", "ProbeFailing.for=0s,ProbeFailing.resolve_after=0s",
		{{0, PROBES(5, 1)},
		 {10, PROBES(6, 2)}},
		"ProbeFailing firing warning ns/p/c probe_type=Liveness\n"
		"ProbeFailing firing warning ns/p/c probe_type=Readiness\n"};
	nro_enc_init(&saved, 0);
	nro_enc_begin(&saved, NRO_KIND_EVENT, 1, T0, "analyzer", "n1");
	saving = 1;
	CHECK(run_row(&before));
	saving = 0;
	size_t len = nro_enc_finish(&saved);
	struct nro_rules *r = fresh("ProbeFailing.for=0s,ProbeFailing.resolve_after=0s");
	struct nro_msg m;
	struct nro_event ev;
	CHECK(nro_decode(&m, saved.buf, len, NULL) == 0);
	while (nro_next_event(&m, &ev))
		nro_rules_restore(r, &m.hdr, &ev);
	static const struct step after[] = {
		{20, PROBES(6, 2)},
		{30, PROBES(7, 3)},
		{40, PROBES(7, 3)},
		{50, PROBES(7, 3)}};
	for (size_t i = 0; i < sizeof after / sizeof after[0]; i++)
		run_step(r, &after[i]);
	CHECK_STR(got, "ProbeFailing resolved warning ns/p/c probe_type=Liveness\n"
		       "ProbeFailing resolved warning ns/p/c probe_type=Readiness\n");
	nro_rules_free(r);
	nro_enc_free(&saved);
}

/* The same for alerts about another object than the one judged: a unit
 * (object Service) and the container a kernel OOM kill hit. */
TEST(restored_unit_and_oom_alerts_are_not_announced_again)
{
	static const char *const set = "SystemdServiceFailed.for=0s,SystemdServiceFailed."
				       "resolve_after=0s,KernelOOMKill.resolve_after=60s";
	static const struct row before = {
		"unit and oom", set,
		{{0, RESYNC(failed, failed, 0)}, {10, CTR_LISTED OOM(stress, 42)}},
		"SystemdServiceFailed firing warning kubelet.service\n"
		"KernelOOMKill firing warning ns/p/c\n"};
	nro_enc_init(&saved, 0);
	nro_enc_begin(&saved, NRO_KIND_EVENT, 1, T0, "analyzer", "n1");
	saving = 1;
	CHECK(run_row(&before));
	saving = 0;
	size_t len = nro_enc_finish(&saved);
	struct nro_rules *r = fresh(set);
	struct nro_msg m;
	struct nro_event ev;
	CHECK(nro_decode(&m, saved.buf, len, NULL) == 0);
	while (nro_next_event(&m, &ev))
		nro_rules_restore(r, &m.hdr, &ev);
	static const struct step after[] = {
		{20, RESYNC(failed, failed, 0) "\n" CTR_LISTED KMSG_QUIET},
		{30, RESYNC(active, running, 0) "\n" CTR_LISTED KMSG_QUIET},
		{100, RESYNC(active, running, 0) "\n" CTR_LISTED KMSG_QUIET}};
	for (size_t i = 0; i < sizeof after / sizeof after[0]; i++)
		run_step(r, &after[i]);
	/* the kill is not read again after a restart: its alert resolves (as
	 * gone) at the first complete poll, the unit's when the unit is active */
	CHECK_STR(got, "KernelOOMKill resolved warning ns/p/c\n"
		       "SystemdServiceFailed resolved warning kubelet.service\n");
	nro_rules_free(r);
	nro_enc_free(&saved);
}

/* A restarted analyzer does not announce a firing divergence again (the
 * alert and its kind come back from the ring), and resolves it once. */
TEST(restored_divergence_alerts_are_not_announced_again)
{
	static const struct row before = {
		"orphan", "KubeletAPIDivergence.for=0s",
		{{0, HEALTHZ(ok) KUBELET(KPOD(1, Running) KPOD(2, Running)) APOD(1, Running) LEASE(100, True)}},
		"KubeletAPIDivergence firing warning ns/p2 divergence=orphan\n"
		"NodeStatusStale firing warning n1 cause=lease\n"};
	nro_enc_init(&saved, 0);
	nro_enc_begin(&saved, NRO_KIND_EVENT, 1, T0, "analyzer", "n1");
	saving = 1;
	CHECK(run_row(&before));
	saving = 0;
	size_t len = nro_enc_finish(&saved);
	struct nro_rules *r = fresh("KubeletAPIDivergence.for=0s");
	struct nro_msg m;
	struct nro_event ev;
	CHECK(nro_decode(&m, saved.buf, len, NULL) == 0);
	while (nro_next_event(&m, &ev))
		nro_rules_restore(r, &m.hdr, &ev);
	static const struct step after[] = {
		{30, HEALTHZ(ok) KUBELET(KPOD(1, Running) KPOD(2, Running)) APOD(1, Running) LEASE(100, True)},
		{45, HEALTHZ(ok) KUBELET(KPOD(1, Running) KPOD(2, Running)) APOD(1, Running) LEASE(100, True)},
		{60, HEALTHZ(ok) KUBELET(KPOD(1, Running) KPOD(2, Running)) APOD(1, Running) APOD(2, Running) LEASE(1, True)}};
	for (size_t i = 0; i < sizeof after / sizeof after[0]; i++)
		run_step(r, &after[i]);
	CHECK_STR(got, "KubeletAPIDivergence resolved warning ns/p2 divergence=orphan\n"
		       "NodeStatusStale resolved warning n1 cause=lease\n");
	nro_rules_free(r);
	nro_enc_free(&saved);
}

int main(void)
{
	nro_enc_init(&enc, 0);
	RUN(resources_table);
	RUN(pod_table);
	RUN(kubelet_table);
	RUN(node_table);
	RUN(host_table);
	RUN(service_table);
	RUN(divergence_table);
	RUN(resolved_event_states_the_current_value);
	RUN(set_rejects_out_of_range_values);
	RUN(restored_sub_alerts_are_not_announced_again);
	RUN(restored_unit_and_oom_alerts_are_not_announced_again);
	RUN(restored_divergence_alerts_are_not_announced_again);
	nro_enc_free(&enc);
	return testing_done();
}
