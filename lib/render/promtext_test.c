#include "render/promtext.h"

#include <math.h>
#include <string.h>

#include "base/testing.h"
#include "wire/record.h"

static const char *otel(const char *name, const char *unit, uint8_t type)
{
	static char out[NRO_PROM_NAME_MAX];
	if (nro_prom_otel_name(name, strlen(name), unit, strlen(unit), type, out, sizeof out) != 0)
		return "(refused)";
	return out;
}

TEST(otel_names_as_the_collector_exporter_names_them)
{
	CHECK_STR(otel("k8s.node.memory.available", "By", NRO_MT_GAUGE), "k8s_node_memory_available_bytes");
	CHECK_STR(otel("k8s.node.cpu.time", "s", NRO_MT_COUNTER), "k8s_node_cpu_time_seconds_total");
	CHECK_STR(otel("k8s.node.cpu.usage", "{cores}", NRO_MT_GAUGE), "k8s_node_cpu_usage");
	CHECK_STR(otel("container.memory.working_set", "By", NRO_MT_GAUGE),
		  "container_memory_working_set_bytes");
	CHECK_STR(otel("k8s.node.memory.page_faults", "1", NRO_MT_COUNTER),
		  "k8s_node_memory_page_faults_total");
	CHECK_STR(otel("k8s.pod.cpu.utilization", "1", NRO_MT_GAUGE), "k8s_pod_cpu_utilization_ratio");
	CHECK_STR(otel("k8s.node.network.io", "By/s", NRO_MT_GAUGE),
		  "k8s_node_network_io_bytes_per_second");
	CHECK_STR(otel("k8s.node.psi.cpu.some.avg10", "%", NRO_MT_GAUGE),
		  "k8s_node_psi_cpu_some_avg10_percent");
	CHECK_STR(otel("k8s.node.psi.cpu.some.total", "s", NRO_MT_COUNTER),
		  "k8s_node_psi_cpu_some_total_seconds_total");
	CHECK_STR(otel("disk..io__bytes", "By", NRO_MT_GAUGE), "disk_io_bytes");
	CHECK_STR(otel("requests.total", "", NRO_MT_COUNTER), "requests_total");
	CHECK_STR(otel("2xx.responses", "", NRO_MT_GAUGE), "_2xx_responses");
	CHECK_STR(otel("uptime", "min", NRO_MT_GAUGE), "uptime_minutes");
	CHECK_STR(otel("...", "By", NRO_MT_GAUGE), "(refused)");
	CHECK_STR(otel("k8s.pod.process.count", "{processes}", NRO_MT_GAUGE),
		  "k8s_pod_process_count_processes");
	CHECK_STR(otel("queue.sum", "", NRO_MT_GAUGE), "queue_sum_value");
	CHECK_STR(otel("requests.count", "", NRO_MT_COUNTER), "requests_count_total");
}

TEST(label_names)
{
	char out[64];
	CHECK(nro_prom_label_name("k8s.pod.name", 12, out, sizeof out) == 0);
	CHECK_STR(out, "k8s_pod_name");
	CHECK(nro_prom_label_name("0day", 4, out, sizeof out) == 0);
	CHECK_STR(out, "key_0day");
	CHECK(nro_prom_label_name("__name__", 8, out, sizeof out) == 0);
	CHECK_STR(out, "key___name__");
	CHECK(nro_prom_label_name("a:b", 3, out, sizeof out) == 0);
	CHECK_STR(out, "a_b");
	CHECK(nro_prom_label_name("", 0, out, sizeof out) == -1);
	CHECK(nro_prom_label_name("abcdef", 6, out, 4) == -1);
}

TEST(family_of_a_sample)
{
	CHECK(nro_prom_family_len("a_bucket", 8, NRO_MT_HISTOGRAM) == 1);
	CHECK(nro_prom_family_len("a_count", 7, NRO_MT_SUMMARY) == 1);
	CHECK(nro_prom_family_len("a_sum", 5, NRO_MT_HISTOGRAM) == 1);
	CHECK(nro_prom_family_len("a_count", 7, NRO_MT_GAUGE) == 7);
	CHECK(nro_prom_family_len("a_bucket", 8, NRO_MT_SUMMARY) == 8);
}

static const char *value(double v)
{
	static char s[64];
	struct nro_buf b;
	nro_buf_init(&b, 64);
	nro_prom_add_value(&b, v);
	snprintf(s, sizeof s, "%s", b.p ? b.p : "");
	nro_buf_free(&b);
	return s;
}

TEST(values)
{
	CHECK_STR(value(1), "1");
	CHECK_STR(value(-0.0), "0");
	CHECK_STR(value(0.1), "0.1");
	CHECK_STR(value(15850561536), "15850561536");
	CHECK_STR(value(1e300), "1e+300");
	CHECK_STR(value(NAN), "NaN");
	CHECK_STR(value(INFINITY), "+Inf");
	CHECK_STR(value(-INFINITY), "-Inf");
	CHECK(strtod(value(0.1 + 0.2), NULL) == 0.1 + 0.2);
}

#define L(n, v) {n, v, sizeof n - 1, sizeof v - 1}

static int put(struct nro_promtab *t, const char *fam, const char *sample, uint8_t type,
	       const struct nro_prom_label *ls, size_t n, double v, int64_t ts)
{
	struct nro_prom_sample s = {fam, sample, "help \\ text\nline", type, ls, n, v, ts, 1, 7};
	return nro_promtab_set(t, &s);
}

static char *render(struct nro_promtab *t, int om)
{
	static char out[8192];
	struct nro_buf b;
	nro_buf_init(&b, sizeof out - 1);
	int rc = nro_promtab_render(t, &b, om);
	snprintf(out, sizeof out, "%s", rc != 0 ? "(render failed)" : b.p ? b.p : "");
	nro_buf_free(&b);
	return out;
}

/* a histogram, a counter and a gauge, inserted in the order given */
static void fill(struct nro_promtab *t, int reversed)
{
	const struct nro_prom_label b1[] = {L("le", "10"), L("code", "200")};
	const struct nro_prom_label b2[] = {L("code", "200"), L("le", "2.5")};
	const struct nro_prom_label b3[] = {L("le", "+Inf"), L("code", "200")};
	const struct nro_prom_label c[] = {L("code", "200")};
	const struct nro_prom_label g[] = {L("pod", "a\"b\\c\nd"), L("ns", "x"), L("empty", "")};
	for (int i = 0; i < 6; i++) {
		switch (reversed ? 5 - i : i) {
		case 0: put(t, "req_seconds", "req_seconds_bucket", NRO_MT_HISTOGRAM, b1, 2, 3, 0); break;
		case 1: put(t, "req_seconds", "req_seconds_sum", NRO_MT_HISTOGRAM, c, 1, 1.5, 0); break;
		case 2: put(t, "req_seconds", "req_seconds_bucket", NRO_MT_HISTOGRAM, b2, 2, 2, 0); break;
		case 3: put(t, "req_seconds", "req_seconds_count", NRO_MT_HISTOGRAM, c, 1, 3, 0); break;
		case 4: put(t, "req_seconds", "req_seconds_bucket", NRO_MT_HISTOGRAM, b3, 2, 3, 0);
			put(t, "hits_total", "hits_total", NRO_MT_COUNTER, c, 1, 7, 0); break;
		default: put(t, "a_gauge", "a_gauge", NRO_MT_GAUGE, g, 3, 0.25, 0); break;
		}
	}
}

static const char TEXT_WANT[] =
	"# HELP a_gauge help \\\\ text\\nline\n"
	"# TYPE a_gauge gauge\n"
	"a_gauge{ns=\"x\",pod=\"a\\\"b\\\\c\\nd\"} 0.25\n"
	"# HELP hits_total help \\\\ text\\nline\n"
	"# TYPE hits_total counter\n"
	"hits_total{code=\"200\"} 7\n"
	"# HELP req_seconds help \\\\ text\\nline\n"
	"# TYPE req_seconds histogram\n"
	"req_seconds_bucket{code=\"200\",le=\"2.5\"} 2\n"
	"req_seconds_bucket{code=\"200\",le=\"10\"} 3\n"
	"req_seconds_bucket{code=\"200\",le=\"+Inf\"} 3\n"
	"req_seconds_count{code=\"200\"} 3\n"
	"req_seconds_sum{code=\"200\"} 1.5\n";

TEST(text_grouped_sorted_escaped_whatever_the_insert_order)
{
	struct nro_promtab *a = nro_promtab_new(100), *b = nro_promtab_new(100);
	fill(a, 0);
	fill(b, 1);
	CHECK(nro_promtab_count(a) == 7);
	CHECK_STR(render(a, 0), TEXT_WANT);
	CHECK_STR(render(b, 0), TEXT_WANT);
	nro_promtab_free(a);
	nro_promtab_free(b);
}

TEST(openmetrics_names_counters_without_total)
{
	struct nro_promtab *t = nro_promtab_new(100);
	fill(t, 0);
	const struct nro_prom_label none[] = {L("x", "")};
	put(t, "evictions", "evictions", NRO_MT_COUNTER, none, 1, 1, 0);
	put(t, "odd", "odd", NRO_MT_UNTYPED, none, 1, 1, 0);
	const char *om = render(t, 1);
	CHECK(strstr(om, "# EOF") == NULL); /* the caller's, after its last table */
	CHECK(strstr(om, "# TYPE hits counter\nhits_total{code=\"200\"} 7\n") != NULL);
	CHECK(strstr(om, "# HELP hits help \\\\ text\\nline\n") != NULL);
	CHECK(strstr(om, "# TYPE evictions unknown\nevictions 1\n") != NULL);
	CHECK(strstr(om, "# TYPE odd unknown\n") != NULL);
	nro_promtab_free(t);
}

TEST(updates_in_place_and_caps_new_series)
{
	struct nro_promtab *t = nro_promtab_new(2);
	const struct nro_prom_label a[] = {L("k", "a")}, b[] = {L("k", "b")}, c[] = {L("k", "c")};
	CHECK(put(t, "m", "m", NRO_MT_GAUGE, a, 1, 1, 0) == NRO_PT_ADDED);
	CHECK(put(t, "m", "m", NRO_MT_GAUGE, a, 1, 2, 0) == NRO_PT_UPDATED);
	CHECK(put(t, "m", "m", NRO_MT_GAUGE, b, 1, 3, 0) == NRO_PT_ADDED);
	CHECK(put(t, "m", "m", NRO_MT_GAUGE, c, 1, 4, 0) == NRO_PT_FULL);
	CHECK(put(t, "m", "m", NRO_MT_GAUGE, b, 1, 5, 0) == NRO_PT_UPDATED);
	CHECK(nro_promtab_count(t) == 2);
	CHECK(strstr(render(t, 0), "m{k=\"a\"} 2\nm{k=\"b\"} 5\n") != NULL);
	nro_promtab_free(t);
}

TEST(sweeps_by_time_by_generation_and_deletes_one)
{
	struct nro_promtab *t = nro_promtab_new(100);
	const struct nro_prom_label a[] = {L("k", "a")}, b[] = {L("k", "b")}, c[] = {L("k", "c")};
	const int64_t age[] = {0, 0, 0, 500, 0}; /* source 3: 500 ms; 4: never */
	struct nro_prom_sample s = {"m", "m", "h", NRO_MT_GAUGE, a, 1, 1, 500, 3, 1};
	nro_promtab_set(t, &s);
	s.labels = b, s.ts_ms = 4500, s.generation = 2;
	nro_promtab_set(t, &s);
	s.labels = c, s.ts_ms = 0, s.source = 4;
	nro_promtab_set(t, &s);
	CHECK(nro_promtab_sweep(t, 999, age, 5) == 0);
	CHECK(nro_promtab_sweep(t, 1000, age, 5) == 1);
	CHECK(nro_promtab_count(t) == 2);
	CHECK(strstr(render(t, 0), "k=\"a\"") == NULL);
	CHECK(nro_promtab_sweep_source(t, 3, 2) == 0);
	CHECK(nro_promtab_sweep_source(t, 3, 3) == 1);
	CHECK(nro_promtab_sweep(t, INT64_MAX / 2, age, 5) == 0); /* max age 0: never */
	CHECK(nro_promtab_sweep(t, INT64_MAX / 2, age, 4) == 0); /* past nsources: never */
	s.labels = c;
	CHECK(nro_promtab_del(t, &s) == 1);
	CHECK(nro_promtab_del(t, &s) == 0);
	CHECK(nro_promtab_count(t) == 0);
	CHECK_STR(render(t, 0), "");
	/* the family is still known; a new series of it comes back */
	CHECK(nro_promtab_set(t, &s) == NRO_PT_ADDED);
	nro_promtab_free(t);
}

TEST(many_series_stay_findable_across_sweeps)
{
	struct nro_promtab *t = nro_promtab_new(100000);
	char v[32];
	struct nro_prom_label l = {"i", v, 1, 0};
	struct nro_prom_sample s = {"m", "m", "h", NRO_MT_GAUGE, &l, 1, 0, 0, 1, 1};
	const int64_t age[] = {0, 10};
	for (int i = 0; i < 20000; i++) {
		l.value_len = (size_t)snprintf(v, sizeof v, "%d", i);
		s.ts_ms = i % 2 ? 0 : 100;
		CHECK(nro_promtab_set(t, &s) == NRO_PT_ADDED);
	}
	CHECK(nro_promtab_sweep(t, 10, age, 2) == 10000);
	int again = 0;
	for (int i = 0; i < 20000; i++) {
		l.value_len = (size_t)snprintf(v, sizeof v, "%d", i);
		again += nro_promtab_set(t, &s) == NRO_PT_UPDATED;
	}
	CHECK(again == 10000);
	CHECK(nro_promtab_count(t) == 20000);
	nro_promtab_free(t);
}

TEST(render_stops_at_the_cap)
{
	struct nro_promtab *t = nro_promtab_new(100);
	fill(t, 0);
	struct nro_buf b;
	nro_buf_init(&b, 100);
	CHECK(nro_promtab_render(t, &b, 0) == -1);
	nro_buf_free(&b);
	nro_promtab_free(t);
}

int main(void)
{
	RUN(otel_names_as_the_collector_exporter_names_them);
	RUN(label_names);
	RUN(family_of_a_sample);
	RUN(values);
	RUN(text_grouped_sorted_escaped_whatever_the_insert_order);
	RUN(openmetrics_names_counters_without_total);
	RUN(updates_in_place_and_caps_new_series);
	RUN(sweeps_by_time_by_generation_and_deletes_one);
	RUN(many_series_stay_findable_across_sweeps);
	RUN(render_stops_at_the_cap);
	return testing_done();
}
