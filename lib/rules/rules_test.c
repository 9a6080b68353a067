#include "rules/rules.h"

#include <stdlib.h>
#include <string.h>

#include "base/testing.h"
#include "rules/internal.h" /* ALERTS_MAX, SOURCE_STALE_MS */

/* Events the rules emitted, as "Type state severity object" lines. */
static char got[64][256];
static int64_t got_since[64];
static int ngot;

static void on_event(void *ctx, const char *node, const struct nro_event *ev)
{
	(void)ctx;
	if (ngot < 64)
		got_since[ngot] = ev->since_ms;
	if (ngot < 64)
		snprintf(got[ngot++], sizeof got[0], "%.*s %s %s %s %.*s/%.*s/%.*s%.*s", ev->type.len,
			 ev->type.p, nro_event_state_name(ev->state), nro_severity_name(ev->severity),
			 node, ev->object.namespace_.len, ev->object.namespace_.p, ev->object.pod.len,
			 ev->object.pod.p, ev->object.container.len, ev->object.container.p,
			 ev->object.name.len, ev->object.name.p);
}

static int has(const char *prefix)
{
	int n = 0;
	for (int i = 0; i < ngot; i++)
		if (strncmp(got[i], prefix, strlen(prefix)) == 0)
			n++;
	return n;
}

static void dump(void)
{
	for (int i = 0; i < ngot; i++)
		fprintf(stderr, "  event: %s\n", got[i]);
}

static struct nro_enc enc;
static int priming; /* feed() primes (nro_rules_prime) instead */

static void feed(struct nro_rules *r, int64_t now)
{
	size_t len = nro_enc_finish(&enc);
	struct nro_msg m;
	const char *why;
	if (nro_decode(&m, enc.buf, len, &why) != 0) {
		fprintf(stderr, "test built a bad record: %s\n", why);
		abort();
	}
	if (priming)
		nro_rules_prime(r, &m, now + 60000);
	else
		nro_rules_feed(r, &m, now);
}

/* One /pods snapshot with container c of ns/p in the given state. */
static void pods_snapshot(struct nro_rules *r, int64_t now, const char *state, const char *reason,
			  double restarts, const char *last_term)
{
	struct nro_attr a[2] = {{nro_s("reason"), nro_s(reason)}, {nro_s("init"), nro_s("false")}};
	nro_enc_begin(&enc, NRO_KIND_STATE, 1, now, "collector-pods", "n1");
	struct nro_state s = {{NRO_OBJ_POD, nro_s("ns"), nro_s("p"), {"", 0}, {"", 0}},
			      nro_s("pod.phase"), nro_s("Running"), 2, 0, 0, NULL};
	nro_enc_state(&enc, &s);
	s.key = nro_s("pod.ready");
	s.value = nro_s("True");
	nro_enc_state(&enc, &s);
	s.object.kind = NRO_OBJ_CONTAINER;
	s.object.container = nro_s("c");
	s.key = nro_s("container.state");
	s.value = nro_s(state);
	s.nattrs = 2;
	s.attrs = a;
	nro_enc_state(&enc, &s);
	s.key = nro_s("container.restarts");
	s.value = nro_s("");
	s.num = restarts;
	s.nattrs = 0;
	nro_enc_state(&enc, &s);
	if (last_term) {
		s.key = nro_s("container.last_termination");
		s.value = nro_s(last_term);
		s.num = 137;
		s.since_ms = 1000;
		nro_enc_state(&enc, &s);
	}
	feed(r, now);
	nro_enc_begin(&enc, NRO_KIND_HEALTH, 2, now, "collector-pods", "n1");
	struct nro_health h = {NRO_HEALTH_OK, 200, 15000, 10, 100, nro_s("/pods"), nro_s("")};
	nro_enc_health(&enc, &h);
	feed(r, now);
}

static void empty_pods_snapshot(struct nro_rules *r, int64_t now)
{
	nro_enc_begin(&enc, NRO_KIND_HEALTH, 3, now, "collector-pods", "n1");
	struct nro_health h = {NRO_HEALTH_OK, 200, 15000, 10, 100, nro_s("/pods"), nro_s("")};
	nro_enc_health(&enc, &h);
	feed(r, now);
}

static void memory(struct nro_rules *r, int64_t now, double avail, double ws)
{
	nro_enc_begin(&enc, NRO_KIND_METRIC, 1, now, "collector-summary", "n1");
	struct nro_attr a[1] = {{nro_s("k8s.node.name"), nro_s("n1")}};
	struct nro_metric m = {nro_s("k8s.node.memory.available"), nro_s("By"), NRO_MT_GAUGE, avail,
			       0, 1, a};
	nro_enc_metric(&enc, &m);
	m.name = nro_s("k8s.node.memory.working_set");
	m.value = ws;
	nro_enc_metric(&enc, &m);
	feed(r, now);
	nro_enc_begin(&enc, NRO_KIND_HEALTH, 2, now, "collector-summary", "n1");
	struct nro_health h = {NRO_HEALTH_OK, 200, 15000, 10, 100, nro_s("/stats/summary"),
			       nro_s("")};
	nro_enc_health(&enc, &h);
	feed(r, now);
}

static struct nro_rules *fresh(void)
{
	ngot = 0;
	struct nro_rules *r = nro_rules_new(on_event, NULL);
	char err[128];
	/* CollectorDown would fire on the fake clock's jumps: not under test here */
	nro_rules_set(r, "CollectorDown.enabled=false", err, sizeof err);
	return r;
}

#define MiB (1024.0 * 1024.0)

TEST(crash_loop_fires_once_and_resolves_after_hysteresis)
{
	struct nro_rules *r = fresh();
	int64_t t = 1000000;
	pods_snapshot(r, t, "running", "", 0, NULL);
	CHECK(ngot == 0);
	pods_snapshot(r, t += 15000, "waiting", "CrashLoopBackOff", 3, "OOMKilled");
	CHECK(has("PodCrashLooping firing warning n1 ns/p/c") == 1);
	CHECK(has("ContainerOOMKilled firing warning n1 ns/p/c") == 1);
	CHECK(has("ContainerRestarted firing info") == 1);
	/* holding: nothing new */
	pods_snapshot(r, t += 15000, "waiting", "CrashLoopBackOff", 3, "OOMKilled");
	CHECK(ngot == 3);
	/* running again: crash loop resolves only after resolve_after (60s) */
	pods_snapshot(r, t += 15000, "running", "", 3, "Completed");
	CHECK(has("PodCrashLooping resolved") == 0);
	CHECK(has("ContainerOOMKilled resolved") == 1); /* resolve_after 0 */
	nro_rules_tick(r, t += 30000);
	CHECK(has("PodCrashLooping resolved") == 0);
	nro_rules_tick(r, t += 31000);
	CHECK(has("PodCrashLooping resolved warning n1 ns/p/c") == 1);
	/* and the restart pulse resolves 5 minutes after the last increase */
	nro_rules_tick(r, t += 300000);
	CHECK(has("ContainerRestarted resolved") == 1);
	if (testing_failed_now)
		dump();
	nro_rules_free(r);
}

TEST(back_to_breach_while_resolving_is_silent)
{
	struct nro_rules *r = fresh();
	int64_t t = 1000000;
	pods_snapshot(r, t, "waiting", "CrashLoopBackOff", 5, NULL);
	pods_snapshot(r, t += 15000, "running", "", 5, NULL);
	pods_snapshot(r, t += 15000, "waiting", "CrashLoopBackOff", 5, NULL);
	nro_rules_tick(r, t += 120000);
	CHECK(has("PodCrashLooping firing") == 1);
	CHECK(has("PodCrashLooping resolved") == 0);
	nro_rules_free(r);
}

TEST(for_duration_delays_firing_and_a_short_breach_never_fires)
{
	struct nro_rules *r = fresh();
	int64_t t = 1000000;
	/* ContainerWaiting has for=2m */
	pods_snapshot(r, t, "waiting", "ImagePullBackOff", 0, NULL);
	nro_rules_tick(r, t += 60000);
	CHECK(has("ContainerWaiting") == 0);
	pods_snapshot(r, t += 1000, "running", "", 0, NULL); /* cleared while pending */
	nro_rules_tick(r, t += 120000);
	CHECK(has("ContainerWaiting") == 0);
	pods_snapshot(r, t += 1000, "waiting", "ErrImagePull", 0, NULL);
	nro_rules_tick(r, t += 119000);
	CHECK(has("ContainerWaiting") == 0);
	nro_rules_tick(r, t += 2000);
	CHECK(has("ContainerWaiting firing warning n1 ns/p/c") == 1);
	nro_rules_free(r);
}

TEST(set_overrides_parameters)
{
	struct nro_rules *r = fresh();
	char err[128];
	CHECK(nro_rules_set(r, "ContainerWaiting.for=0s", err, sizeof err) == 0);
	CHECK(nro_rules_set(r, "ContainerWaiting.severity=critical", err, sizeof err) == 0);
	CHECK(nro_rules_set(r, "PodCrashLooping.enabled=false", err, sizeof err) == 0);
	CHECK(nro_rules_set(r, "NodeMemoryPressure.threshold=90", err, sizeof err) == 0);
	CHECK(nro_rules_set(r, "Nope.for=1s", err, sizeof err) == -1 && strstr(err, "Nope"));
	CHECK(nro_rules_set(r, "ContainerWaiting.for=soon", err, sizeof err) == -1);
	CHECK(nro_rules_set(r, "ContainerWaiting.color=red", err, sizeof err) == -1);
	CHECK(nro_rules_set(r, "ContainerWaiting.severity=huge", err, sizeof err) == -1);
	CHECK(nro_rules_set(r, "no-dot", err, sizeof err) == -1);
	pods_snapshot(r, 1000000, "waiting", "ImagePullBackOff", 0, NULL);
	CHECK(has("ContainerWaiting firing critical") == 1);
	pods_snapshot(r, 1015000, "waiting", "CrashLoopBackOff", 2, NULL);
	CHECK(has("PodCrashLooping") == 0);
	/* 88% memory use: above the default 85, below the 90 set here */
	memory(r, 1020000, 12 * MiB * 100, 88 * MiB * 100);
	CHECK(has("NodeMemoryPressure") == 0);
	nro_rules_free(r);
}

TEST(memory_pressure_tiers_and_default_eviction_threshold)
{
	struct nro_rules *r = fresh();
	int64_t t = 1000000;
	memory(r, t, 8000 * MiB, 8000 * MiB); /* 50% */
	CHECK(ngot == 0);
	memory(r, t += 15000, 50 * MiB, 16000 * MiB); /* under 100Mi: critical */
	CHECK(has("NodeMemoryPressure firing critical n1 //n1") == 1);
	memory(r, t += 15000, 8000 * MiB, 8000 * MiB);
	CHECK(has("NodeMemoryPressure resolved") == 0); /* resolve_after 30s */
	memory(r, t += 15000, 8000 * MiB, 8000 * MiB);
	memory(r, t += 16000, 8000 * MiB, 8000 * MiB);
	CHECK(has("NodeMemoryPressure resolved critical n1 //n1") == 1);
	CHECK(ngot == 2);
	if (testing_failed_now)
		dump();
	nro_rules_free(r);
}

TEST(configured_eviction_threshold_replaces_defaults)
{
	struct nro_rules *r = fresh();
	nro_enc_begin(&enc, NRO_KIND_STATE, 1, 1000, "collector-configz", "n1");
	struct nro_state s = {{NRO_OBJ_NODE, {"", 0}, {"", 0}, {"", 0}, nro_s("n1")},
			      nro_s("kubelet.eviction.hard.memory.available"), nro_s("1Gi"),
			      1024 * MiB, 0, 0, NULL};
	nro_enc_state(&enc, &s);
	feed(r, 1000);
	memory(r, 2000, 500 * MiB, 100 * MiB); /* 500Mi < 1Gi, usage only 17% */
	CHECK(has("NodeMemoryPressure firing critical") == 1);
	nro_rules_free(r);
}

TEST(flapping_is_reported_not_echoed)
{
	struct nro_rules *r = fresh();
	char err[64];
	nro_rules_set(r, "PodCrashLooping.resolve_after=0s", err, sizeof err);
	nro_rules_set(r, "ContainerRestarted.enabled=false", err, sizeof err);
	int64_t t = 1000000;
	for (int i = 0; i < 10; i++) {
		pods_snapshot(r, t += 10000, "waiting", "CrashLoopBackOff", 1, NULL);
		pods_snapshot(r, t += 10000, "running", "", 1, NULL);
	}
	/* 6 changes make it flapping: 3 firing + 2 resolved announced, then one
	 * firing with the flapping note, then silence */
	int fired = has("PodCrashLooping firing"), resolved = has("PodCrashLooping resolved");
	CHECK(fired == 4);
	CHECK(resolved == 2);
	/* calm for the flap window (10m): it settles and says its real state */
	nro_rules_tick(r, t += 601000);
	CHECK(has("PodCrashLooping resolved") == 3);
	if (testing_failed_now)
		dump();
	nro_rules_free(r);
}

TEST(pods_that_disappear_are_forgotten_and_resolved)
{
	struct nro_rules *r = fresh();
	size_t pods, ctrs, alerts;
	pods_snapshot(r, 1000000, "waiting", "CrashLoopBackOff", 4, NULL);
	nro_rules_sizes(r, &pods, &ctrs, &alerts);
	CHECK(pods == 1 && ctrs == 1 && alerts >= 1);
	empty_pods_snapshot(r, 1015000);
	nro_rules_sizes(r, &pods, &ctrs, &alerts);
	CHECK(pods == 0 && ctrs == 0);
	CHECK(has("PodCrashLooping resolved") == 1);
	nro_rules_tick(r, 1015000 + 700000);
	nro_rules_sizes(r, &pods, &ctrs, &alerts);
	CHECK(alerts == 0);
	nro_rules_free(r);
}

TEST(churn_keeps_memory_bounded)
{
	struct nro_rules *r = fresh();
	char name[32];
	int64_t t = 1000000;
	for (int round = 0; round < 50; round++) {
		nro_enc_begin(&enc, NRO_KIND_STATE, 1, t, "collector-pods", "n1");
		for (int i = 0; i < 20; i++) {
			snprintf(name, sizeof name, "pod-%d-%d", round, i);
			struct nro_state s = {{NRO_OBJ_CONTAINER, nro_s("ns"), nro_s(name), nro_s("c"),
					       {"", 0}},
					      nro_s("container.state"), nro_s("running"), 0, 0, 0, NULL};
			nro_enc_state(&enc, &s);
		}
		feed(r, t);
		empty_pods_snapshot(r, t); /* ends the snapshot that listed them */
		t += 15000;
		empty_pods_snapshot(r, t); /* the next one no longer does */
	}
	size_t pods, ctrs, alerts;
	nro_rules_sizes(r, &pods, &ctrs, &alerts);
	CHECK(ctrs == 0);
	nro_rules_free(r);
}

TEST(restored_firing_alert_is_not_announced_again)
{
	struct nro_rules *r = fresh();
	struct nro_attr a[2] = {{nro_s("k8s.node.name"), nro_s("n1")},
				{nro_s("nro.source"), nro_s("collector-pods")}};
	struct nro_event ev = {nro_s("PodCrashLooping"), NRO_SEV_WARNING, NRO_EV_FIRING, 0,
			       {NRO_OBJ_CONTAINER, nro_s("ns"), nro_s("p"), nro_s("c"), {"", 0}},
			       0, 0, 900000, nro_s("restored"), 2, a};
	struct nro_header h = {NRO_KIND_EVENT, 1, 1, 7, 900000, nro_s("analyzer"), nro_s("n1")};
	nro_rules_restore(r, &h, &ev);
	pods_snapshot(r, 1000000, "waiting", "CrashLoopBackOff", 4, NULL);
	CHECK(has("PodCrashLooping") == 0);
	pods_snapshot(r, 1015000, "running", "", 4, NULL);
	nro_rules_tick(r, 1100000);
	CHECK(has("PodCrashLooping resolved") == 1);
	nro_rules_free(r);
}

/* A restarted analyzer primed with the polls its ring holds judges the next
 * poll against them (a restart count that rose while it was down is a
 * restart) and announces nothing of what it was primed with. */
TEST(primed_facts_are_a_baseline_not_news)
{
	struct nro_rules *r = fresh();
	priming = 1;
	pods_snapshot(r, 1000000, "waiting", "CrashLoopBackOff", 2, "OOMKilled");
	pods_snapshot(r, 1015000, "waiting", "CrashLoopBackOff", 2, "OOMKilled");
	priming = 0;
	nro_rules_primed(r, 1030000);
	CHECK(ngot == 0);
	size_t pods, ctrs, alerts;
	nro_rules_sizes(r, &pods, &ctrs, &alerts);
	CHECK(pods == 1 && ctrs == 1 && alerts == 0); /* the facts stay, no alert */
	pods_snapshot(r, 1030000, "waiting", "CrashLoopBackOff", 3, "OOMKilled");
	CHECK(has("ContainerRestarted firing") == 1);
	/* nothing restored them: the conditions that hold are announced now */
	CHECK(has("PodCrashLooping firing") == 1 && has("ContainerOOMKilled firing") == 1);
	nro_rules_free(r);

	/* the same count after the restart: no restart */
	r = fresh();
	priming = 1;
	pods_snapshot(r, 1000000, "running", "", 3, NULL);
	priming = 0;
	nro_rules_primed(r, 1020000);
	pods_snapshot(r, 1030000, "running", "", 3, NULL);
	CHECK(has("ContainerRestarted") == 0);
	if (ngot)
		dump();
	nro_rules_free(r);
}

TEST(restored_alert_waits_for_its_source)
{
	struct nro_rules *r = fresh();
	struct nro_attr a[2] = {{nro_s("k8s.node.name"), nro_s("n1")},
				{nro_s("nro.source"), nro_s("collector-pods")}};
	struct nro_event ev = {nro_s("PodCrashLooping"), NRO_SEV_WARNING, NRO_EV_FIRING, 0,
			       {NRO_OBJ_CONTAINER, nro_s("ns"), nro_s("gone"), nro_s("c"), {"", 0}},
			       0, 0, 900000, nro_s("restored"), 2, a};
	struct nro_header h = {NRO_KIND_EVENT, 1, 1, 7, 900000, nro_s("analyzer"), nro_s("n1")};
	nro_rules_restore(r, &h, &ev);
	/* a summary snapshot arrives first: the pod alert must survive it */
	memory(r, 1000000, 8000 * MiB, 8000 * MiB);
	CHECK(has("PodCrashLooping") == 0);
	/* the first pods snapshot does not list the pod: now it is resolved */
	empty_pods_snapshot(r, 1001000);
	CHECK(has("PodCrashLooping resolved warning n1 ns/gone/c") == 1);
	nro_rules_free(r);
}

TEST(collector_down_fires_and_resolves)
{
	ngot = 0;
	struct nro_rules *r = nro_rules_new(on_event, NULL);
	int64_t t = 1000000;
	memory(r, t, 8000 * MiB, 8000 * MiB); /* summary polls every 15s */
	nro_rules_tick(r, t += 44000);
	CHECK(has("CollectorDown") == 0);
	nro_rules_tick(r, t += 2000);
	CHECK(has("CollectorDown firing critical n1 //collector-summary") == 1);
	memory(r, t += 1000, 8000 * MiB, 8000 * MiB);
	CHECK(has("CollectorDown resolved") == 1);
	nro_rules_free(r);
}

TEST(healthz_failing_check)
{
	struct nro_rules *r = fresh();
	struct nro_attr a[1] = {{nro_s("reason"), nro_s("reason withheld")}};
	nro_enc_begin(&enc, NRO_KIND_STATE, 1, 1000, "collector-healthz", "n1");
	struct nro_state s = {{NRO_OBJ_NODE, {"", 0}, {"", 0}, {"", 0}, nro_s("n1")},
			      nro_s("kubelet.healthz"), nro_s("failed"), 0, 0, 1, a};
	nro_enc_state(&enc, &s);
	s.key = nro_s("kubelet.healthz.syncloop");
	nro_enc_state(&enc, &s);
	s.key = nro_s("kubelet.healthz.ping");
	s.value = nro_s("ok");
	s.nattrs = 0;
	nro_enc_state(&enc, &s);
	feed(r, 1000);
	nro_enc_begin(&enc, NRO_KIND_HEALTH, 2, 1000, "collector-healthz", "n1");
	struct nro_health h = {NRO_HEALTH_OK, 500, 10000, 10, 100, nro_s("/healthz"), nro_s("")};
	nro_enc_health(&enc, &h);
	feed(r, 1000);
	CHECK(has("KubeletUnhealthy firing") == 1);
	CHECK(has("KubeletSyncLoopUnhealthy firing") == 1);
	CHECK(has("NodeNotReady firing critical") == 1);
	nro_rules_free(r);
}

/* A summary poll with arbitrary node metrics: name, value pairs. */
static void node_metrics(struct nro_rules *r, int64_t now, const char **names, const double *vals,
			 int n)
{
	nro_enc_begin(&enc, NRO_KIND_METRIC, 1, now, "collector-summary", "n1");
	for (int i = 0; i < n; i++) {
		struct nro_metric m = {nro_s(names[i]), nro_s(""), NRO_MT_GAUGE, vals[i], 0, 0, NULL};
		nro_enc_metric(&enc, &m);
	}
	feed(r, now);
	nro_enc_begin(&enc, NRO_KIND_HEALTH, 2, now, "collector-summary", "n1");
	struct nro_health h = {NRO_HEALTH_OK, 200, 15000, 10, 100, nro_s("/stats/summary"),
			       nro_s("")};
	nro_enc_health(&enc, &h);
	feed(r, now);
}

TEST(disk_pressure_eviction_and_percent)
{
	struct nro_rules *r = fresh();
	const char *fs[] = {"k8s.node.filesystem.available", "k8s.node.filesystem.capacity",
			    "k8s.node.filesystem.inodes.free", "k8s.node.filesystem.inodes"};
	double ok[] = {50e9, 100e9, 1e6, 2e6};
	node_metrics(r, 1000000, fs, ok, 4);
	CHECK(ngot == 0);
	double warn[] = {11e9, 100e9, 1e6, 2e6}; /* 89% used: below 90 */
	node_metrics(r, 1015000, fs, warn, 4);
	CHECK(ngot == 0);
	double full[] = {9e9, 100e9, 1e6, 2e6}; /* under nodefs.available<10% */
	node_metrics(r, 1030000, fs, full, 4);
	CHECK(has("NodeDiskPressure firing critical") == 1);
	nro_rules_free(r);
	r = fresh();
	double inodes[] = {50e9, 100e9, 50e3, 2e6}; /* 2.5% inodes free < 5% */
	node_metrics(r, 1000000, fs, inodes, 4);
	CHECK(has("NodeDiskPressure firing critical") == 1);
	nro_rules_free(r);
	r = fresh();
	double pct[] = {10.5e9, 100e9, 1e6, 2e6}; /* 89.5% */
	char err[64];
	nro_rules_set(r, "NodeDiskPressure.threshold=85", err, sizeof err);
	node_metrics(r, 1000000, fs, pct, 4);
	CHECK(has("NodeDiskPressure firing warning") == 1);
	nro_rules_free(r);
}

TEST(pid_and_cpu_pressure)
{
	struct nro_rules *r = fresh();
	const char *pid[] = {"k8s.node.rlimit.maxpid", "k8s.node.rlimit.curproc"};
	double low[] = {4194304, 1000}, high[] = {1000, 950};
	node_metrics(r, 1000000, pid, low, 2);
	CHECK(ngot == 0);
	node_metrics(r, 1015000, pid, high, 2);
	CHECK(has("NodePIDPressure firing warning") == 1);
	/* CPU: 4 cores, 3.6 used = 90% for longer than for=1m */
	const char *cpu[] = {"machine_cpu_cores", "k8s.node.cpu.usage"};
	double busy[] = {4, 3.6};
	node_metrics(r, 1030000, cpu, busy, 2);
	CHECK(has("NodeCPUPressure") == 0);
	node_metrics(r, 1060000, cpu, busy, 2);
	CHECK(has("NodeCPUPressure") == 0);
	node_metrics(r, 1091000, cpu, busy, 2);
	CHECK(has("NodeCPUPressure firing warning") == 1);
	nro_rules_free(r);
}

static void pod_phase(struct nro_rules *r, int64_t now, const char *phase, const char *reason,
		      const char *ready)
{
	struct nro_attr a[1] = {{nro_s("reason"), nro_s(reason)}};
	nro_enc_begin(&enc, NRO_KIND_STATE, 1, now, "collector-pods", "n1");
	struct nro_state s = {{NRO_OBJ_POD, nro_s("ns"), nro_s("p"), {"", 0}, {"", 0}},
			      nro_s("pod.phase"), nro_s(phase), 4, 0, 1, a};
	nro_enc_state(&enc, &s);
	s.key = nro_s("pod.ready");
	s.value = nro_s(ready);
	s.nattrs = 0;
	nro_enc_state(&enc, &s);
	feed(r, now);
	empty_pods_snapshot(r, now);
}

TEST(pod_evicted_and_not_ready)
{
	struct nro_rules *r = fresh();
	pod_phase(r, 1000000, "Failed", "Evicted", "False");
	CHECK(has("PodEvicted firing warning n1 ns/p/") == 1);
	nro_rules_free(r);
	r = fresh();
	pod_phase(r, 1000000, "Running", "", "False");
	pod_phase(r, 1200000, "Running", "", "False");
	CHECK(has("PodNotReady") == 0); /* grace period 5m */
	pod_phase(r, 1301000, "Running", "", "False");
	CHECK(has("PodNotReady firing warning n1 ns/p/") == 1);
	pod_phase(r, 1315000, "Running", "", "True");
	CHECK(has("PodNotReady resolved") == 1);
	nro_rules_free(r);
}

static int nmetrics;
static char metric_seen[4096];

static void on_metric(void *ctx, const char *node, const struct nro_metric *m)
{
	(void)ctx, (void)node;
	nmetrics++;
	size_t used = strlen(metric_seen);
	snprintf(metric_seen + used, sizeof metric_seen - used, "%.*s=%g;", m->name.len, m->name.p,
		 m->value);
}

/* n crash-looping containers from source src, in batches of 500 per record. */
static void crashloop_flood(struct nro_rules *r, int64_t now, const char *src, int n)
{
	char name[32];
	struct nro_attr a[1] = {{nro_s("reason"), nro_s("CrashLoopBackOff")}};
	for (int i = 0; i < n;) {
		nro_enc_begin(&enc, NRO_KIND_STATE, 1, now, src, "n1");
		for (int k = 0; k < 500 && i < n; k++, i++) {
			snprintf(name, sizeof name, "pod-%d", i);
			struct nro_state st = {{NRO_OBJ_CONTAINER, nro_s("ns"), nro_s(name), {"", 0},
						nro_s("c")},
					       nro_s("container.state"), nro_s("waiting"), 0, 0, 1, a};
			nro_enc_state(&enc, &st);
			st.key = nro_s("container.restarts");
			st.value = nro_s("");
			st.num = 5;
			st.nattrs = 0;
			nro_enc_state(&enc, &st);
		}
		feed(r, now);
	}
}

static double dropped_alerts_metric;
static void on_drop_metric(void *ctx, const char *node, const struct nro_metric *m)
{
	(void)ctx;
	(void)node;
	for (uint16_t i = 0; i < m->nattrs; i++)
		if (m->attrs[i].value.len == 14 && !memcmp(m->attrs[i].value.p, "alerts_dropped", 14))
			dropped_alerts_metric = m->value;
}

TEST(crashloop_flood_is_capped_and_counted)
{
	struct nro_rules *r = fresh();
	char err[128];
	nro_rules_set(r, "PodCrashLooping.for=0s", err, sizeof err);
	int64_t t = 1000000;
	crashloop_flood(r, t, "collector-pods", 50000);
	empty_pods_snapshot(r, t); /* the poll is complete: judge it */
	nro_rules_evaluate(r, t);
	size_t pods, ctrs, alerts;
	nro_rules_sizes(r, &pods, &ctrs, &alerts);
	CHECK(ctrs == 50000);
	CHECK(alerts == ALERTS_MAX);
	dropped_alerts_metric = 0;
	nro_rules_derived(r, on_drop_metric, NULL, t);
	CHECK(dropped_alerts_metric >= 50000 - ALERTS_MAX); /* each refusal counted */
	/* the next poll lists none of them: everything goes */
	empty_pods_snapshot(r, t + 15000);
	nro_rules_evaluate(r, t + 15000);
	nro_rules_tick(r, t + 15000 + 700000);
	nro_rules_sizes(r, &pods, &ctrs, &alerts);
	CHECK(ctrs == 0 && alerts == 0);
	nro_rules_free(r);
}

TEST(objects_of_a_source_without_health_records_are_swept)
{
	struct nro_rules *r = fresh();
	int64_t t = 1000000;
	crashloop_flood(r, t, "collector-mute", 1000); /* states, never a health record */
	size_t pods, ctrs, alerts;
	nro_rules_sizes(r, &pods, &ctrs, &alerts);
	CHECK(ctrs == 1000);
	nro_rules_tick(r, t + SOURCE_STALE_MS - 1000);
	nro_rules_sizes(r, &pods, &ctrs, &alerts);
	CHECK(ctrs == 1000); /* not yet */
	nro_rules_tick(r, t + SOURCE_STALE_MS + 1000);
	nro_rules_sizes(r, &pods, &ctrs, &alerts);
	CHECK(ctrs == 0);
	nro_rules_free(r);
}

TEST(derived_metrics)
{
	struct nro_rules *r = fresh();
	memory(r, 1000000, 50 * MiB, 150 * MiB); /* 75% used, under 100Mi: pressure */
	nmetrics = 0;
	metric_seen[0] = '\0';
	nro_rules_derived(r, on_metric, NULL, 1000000);
	CHECK(strstr(metric_seen, "node_runtime_memory_usage_percent=75;") != NULL);
	CHECK(strstr(metric_seen, "node_runtime_condition=1;") != NULL);
	CHECK(strstr(metric_seen, "node_runtime_events_total=1;") != NULL);
	CHECK(strstr(metric_seen, "node_runtime_service_healthy=1;") != NULL);
	CHECK(nmetrics >= 10);
	if (testing_failed_now)
		fprintf(stderr, "%s\n", metric_seen);
	nro_rules_free(r);
}

/* node_runtime_service_healthy{service=<unit>} from collector-systemd's
 * states: 1 when the unit is active/running, 0 otherwise. */
static char units_seen[512];

static void on_unit_metric(void *ctx, const char *node, const struct nro_metric *m)
{
	(void)ctx, (void)node;
	if (!nro_str_eq(m->name, "node_runtime_service_healthy"))
		return;
	for (uint16_t i = 0; i < m->nattrs; i++)
		if (nro_str_eq(m->attrs[i].key, "service")) {
			size_t off = strlen(units_seen);
			snprintf(units_seen + off, sizeof units_seen - off, "%.*s=%g;",
				 m->attrs[i].value.len, m->attrs[i].value.p, m->value);
		}
}

static void unit_state(struct nro_rules *r, int64_t now, const char *unit, const char *active,
		       const char *healthy)
{
	struct nro_attr a[1] = {{nro_s("healthy"), nro_s(healthy)}};
	nro_enc_begin(&enc, NRO_KIND_STATE, 1, now, "collector-systemd", "n1");
	struct nro_state s = {{NRO_OBJ_SERVICE, {"", 0}, {"", 0}, {"", 0}, nro_s(unit)},
			      nro_s("systemd.unit"), nro_s(active), 0, 0, 1, a};
	nro_enc_state(&enc, &s);
	feed(r, now);
}

TEST(service_healthy_per_unit)
{
	struct nro_rules *r = fresh();
	unit_state(r, 1000000, "kubelet.service", "active", "true");
	unit_state(r, 1000000, "containerd.service", "failed", "false");
	units_seen[0] = '\0';
	nro_rules_derived(r, on_unit_metric, NULL, 1000000);
	CHECK(strstr(units_seen, "kubelet.service=1;") != NULL);
	CHECK(strstr(units_seen, "containerd.service=0;") != NULL);
	CHECK(strstr(units_seen, "collector-systemd=") != NULL); /* the collector's own */
	unit_state(r, 1001000, "kubelet.service", "activating", "false");
	units_seen[0] = '\0';
	nro_rules_derived(r, on_unit_metric, NULL, 1001000);
	CHECK(strstr(units_seen, "kubelet.service=0;") != NULL);
	if (testing_failed_now)
		fprintf(stderr, "%s\n", units_seen);
	nro_rules_free(r);
}

/* A resolved event's since is when the incident began, as its firing
 * event's: "(lasted 1m45s)", not "(lasted 0s)". */
TEST(resolved_since_is_the_firing_since)
{
	struct nro_rules *r = fresh();
	int64_t t = 1000000, began = t + 15000;
	pods_snapshot(r, t, "running", "", 0, NULL);
	pods_snapshot(r, t += 15000, "waiting", "CrashLoopBackOff", 3, NULL);
	pods_snapshot(r, t += 15000, "running", "", 3, NULL);
	nro_rules_tick(r, t += 61000);
	int fired = -1, resolved = -1;
	for (int i = 0; i < ngot; i++) {
		if (strncmp(got[i], "PodCrashLooping firing", 22) == 0)
			fired = i;
		if (strncmp(got[i], "PodCrashLooping resolved", 24) == 0)
			resolved = i;
	}
	CHECK(fired >= 0 && resolved > fired);
	if (fired >= 0 && resolved > fired) {
		CHECK(got_since[fired] == began);
		CHECK(got_since[resolved] == began);
	}
	if (testing_failed_now)
		dump();
	nro_rules_free(r);
}

int main(void)
{
	nro_enc_init(&enc, 0);
	RUN(crash_loop_fires_once_and_resolves_after_hysteresis);
	RUN(back_to_breach_while_resolving_is_silent);
	RUN(for_duration_delays_firing_and_a_short_breach_never_fires);
	RUN(set_overrides_parameters);
	RUN(memory_pressure_tiers_and_default_eviction_threshold);
	RUN(configured_eviction_threshold_replaces_defaults);
	RUN(flapping_is_reported_not_echoed);
	RUN(pods_that_disappear_are_forgotten_and_resolved);
	RUN(churn_keeps_memory_bounded);
	RUN(restored_firing_alert_is_not_announced_again);
	RUN(primed_facts_are_a_baseline_not_news);
	RUN(restored_alert_waits_for_its_source);
	RUN(collector_down_fires_and_resolves);
	RUN(healthz_failing_check);
	RUN(disk_pressure_eviction_and_percent);
	RUN(pid_and_cpu_pressure);
	RUN(pod_evicted_and_not_ready);
	RUN(crashloop_flood_is_capped_and_counted);
	RUN(objects_of_a_source_without_health_records_are_swept);
	RUN(derived_metrics);
	RUN(service_healthy_per_unit);
	RUN(resolved_since_is_the_firing_since);
	nro_enc_free(&enc);
	return testing_done();
}
