#include "render/otlp.h"

#include <math.h>
#include <string.h>

#include "otlp.pb-c.h"

#include "base/testing.h"

/* Encodes one message of metrics or events and decodes it again. */
struct msgbuf {
	struct nro_enc enc;
	struct nro_msg msg;
};

static void begin(struct msgbuf *b, uint8_t kind, uint64_t seq, int64_t ts)
{
	nro_enc_init(&b->enc, 0);
	nro_enc_begin(&b->enc, kind, seq, ts, "collector-test", "n1");
}

static struct nro_msg *finish(struct msgbuf *b)
{
	const char *why;
	size_t len = nro_enc_finish(&b->enc);
	if (len == 0 || nro_decode(&b->msg, b->enc.buf, len, &why) != 0)
		return NULL;
	return &b->msg;
}

static void metric(struct msgbuf *b, const char *name, uint8_t type, double v, const char *le)
{
	struct nro_attr a[2] = {{nro_s("job"), nro_s("kubelet")}, {nro_s("le"), nro_s(le ? le : "")}};
	struct nro_metric m = {.name = nro_s(name), .type = type, .value = v, .attrs = a,
			       .nattrs = le ? 2 : 1};
	CHECK(nro_enc_metric(&b->enc, &m) == 0);
}

/* The one request of sig waiting in o, decoded with protobuf-c. */
static Otlp__ExportMetricsServiceRequest *metrics_request(struct nro_otlp *o, struct nro_buf *out)
{
	size_t items, points;
	if (nro_otlp_encode(o, NRO_OTLP_METRICS, 0, out, &items, &points) != 0)
		return NULL;
	nro_otlp_consume(o, NRO_OTLP_METRICS, items);
	return otlp__export_metrics_service_request__unpack(NULL, out->len, (const uint8_t *)out->p);
}

static Otlp__Metric *only_metric(Otlp__ExportMetricsServiceRequest *r, size_t i)
{
	if (!r || r->n_resource_metrics != 1 || r->resource_metrics[0]->n_scope_metrics != 1)
		return NULL;
	Otlp__ScopeMetrics *s = r->resource_metrics[0]->scope_metrics[0];
	return i < s->n_metrics ? s->metrics[i] : NULL;
}

TEST(prometheus_histogram_becomes_one_point)
{
	struct nro_otlp *o = nro_otlp_new("9.9", 1 << 20, 16 << 20, 100);
	struct msgbuf b;
	begin(&b, NRO_KIND_METRIC, 1, 5000);
	/* buckets out of order, as no exposition should but one might */
	metric(&b, "rpc_seconds_bucket", NRO_MT_HISTOGRAM, 5, "0.5");
	metric(&b, "rpc_seconds_bucket", NRO_MT_HISTOGRAM, 2, "0.1");
	metric(&b, "rpc_seconds_bucket", NRO_MT_HISTOGRAM, 7, "+Inf");
	metric(&b, "rpc_seconds_sum", NRO_MT_HISTOGRAM, 3.5, NULL);
	metric(&b, "rpc_seconds_count", NRO_MT_HISTOGRAM, 7, NULL);
	CHECK(nro_otlp_add(o, finish(&b), 0) == 0);
	struct nro_buf out;
	nro_buf_init(&out, 1 << 20);
	Otlp__ExportMetricsServiceRequest *r = metrics_request(o, &out);
	Otlp__Metric *m = only_metric(r, 0);
	CHECK(m && strcmp(m->name, "rpc_seconds") == 0 && m->data_case == OTLP__METRIC__DATA_HISTOGRAM);
	CHECK(only_metric(r, 1) == NULL);
	if (m && m->data_case == OTLP__METRIC__DATA_HISTOGRAM && m->histogram->n_data_points == 1) {
		Otlp__HistogramDataPoint *p = m->histogram->data_points[0];
		CHECK(p->n_explicit_bounds == 2 && p->explicit_bounds[0] == 0.1 && p->explicit_bounds[1] == 0.5);
		CHECK(p->n_bucket_counts == 3 && p->bucket_counts[0] == 2 && p->bucket_counts[1] == 3 &&
		      p->bucket_counts[2] == 2);
		CHECK(p->count == 7 && p->sum == 3.5);
		CHECK(p->time_unix_nano == 5000000000ull && p->start_time_unix_nano == 5000000000ull);
		CHECK(p->n_attributes == 1 && strcmp(p->attributes[0]->key, "job") == 0); /* no le */
	}
	CHECK(m && m->histogram->aggregation_temporality ==
			   OTLP__AGGREGATION_TEMPORALITY__AGGREGATION_TEMPORALITY_CUMULATIVE);
	Otlp__KeyValue **ra = r ? r->resource_metrics[0]->resource->attributes : NULL;
	CHECK(ra && strcmp(ra[0]->key, "k8s.node.name") == 0 && strcmp(ra[0]->value->string_value, "n1") == 0);
	CHECK(ra && strcmp(ra[3]->key, "service.version") == 0 && strcmp(ra[3]->value->string_value, "9.9") == 0);
	CHECK(r && strcmp(r->resource_metrics[0]->scope_metrics[0]->scope->name, "collector-test") == 0);
	otlp__export_metrics_service_request__free_unpacked(r, NULL);
	nro_enc_free(&b.enc);
	nro_buf_free(&out);
	nro_otlp_free(o);
}

TEST(histogram_lines_apart_still_meet)
{
	/* the queue of items grows (and moves) between a series' lines */
	struct nro_otlp *o = nro_otlp_new("1", 1 << 20, 16 << 20, 100);
	struct msgbuf b;
	begin(&b, NRO_KIND_METRIC, 1, 1000);
	metric(&b, "h_bucket", NRO_MT_HISTOGRAM, 1, "1");
	char name[32];
	for (int i = 0; i < 600; i++) {
		snprintf(name, sizeof name, "g_%d", i);
		metric(&b, name, NRO_MT_GAUGE, i, NULL);
	}
	metric(&b, "h_bucket", NRO_MT_HISTOGRAM, 4, "+Inf");
	metric(&b, "h_count", NRO_MT_HISTOGRAM, 4, NULL);
	CHECK(nro_otlp_add(o, finish(&b), 0) == 0);
	CHECK(nro_otlp_items(o, NRO_OTLP_METRICS) == 601);
	struct nro_buf out;
	nro_buf_init(&out, 1 << 20);
	Otlp__ExportMetricsServiceRequest *r = metrics_request(o, &out);
	Otlp__Metric *m = only_metric(r, 0);
	CHECK(m && m->data_case == OTLP__METRIC__DATA_HISTOGRAM && m->histogram->n_data_points == 1);
	if (m && m->data_case == OTLP__METRIC__DATA_HISTOGRAM) {
		Otlp__HistogramDataPoint *p = m->histogram->data_points[0];
		CHECK(p->count == 4 && p->n_bucket_counts == 2 && p->bucket_counts[0] == 1 &&
		      p->bucket_counts[1] == 3);
	}
	otlp__export_metrics_service_request__free_unpacked(r, NULL);
	nro_enc_free(&b.enc);
	nro_buf_free(&out);
	nro_otlp_free(o);
}

/* Start time of one counter sample of value v at ts. */
static uint64_t counter_start(struct nro_otlp *o, int64_t ts, double v)
{
	struct msgbuf b;
	begin(&b, NRO_KIND_METRIC, 1, ts);
	metric(&b, "requests_total", NRO_MT_COUNTER, v, NULL);
	CHECK(nro_otlp_add(o, finish(&b), 0) == 0);
	struct nro_buf out;
	nro_buf_init(&out, 1 << 20);
	Otlp__ExportMetricsServiceRequest *r = metrics_request(o, &out);
	Otlp__Metric *m = only_metric(r, 0);
	uint64_t start = 0;
	if (m && m->data_case == OTLP__METRIC__DATA_SUM && m->sum->is_monotonic)
		start = m->sum->data_points[0]->start_time_unix_nano;
	otlp__export_metrics_service_request__free_unpacked(r, NULL);
	nro_enc_free(&b.enc);
	nro_buf_free(&out);
	return start;
}

TEST(counter_start_time_is_first_seen_and_moves_on_reset)
{
	struct nro_otlp *o = nro_otlp_new("1", 1 << 20, 16 << 20, 100);
	CHECK(counter_start(o, 1000, 5) == 1000000000ull);
	CHECK(counter_start(o, 2000, 7) == 1000000000ull);
	CHECK(counter_start(o, 3000, 1) == 2999000000ull); /* went down: a restart */
	CHECK(counter_start(o, 4000, 2) == 2999000000ull);
	/* two hours later the series was forgotten: it starts again */
	CHECK(counter_start(o, 4000 + 7200000, 3) == (4000 + 7200000) * 1000000ull);
	nro_otlp_free(o);
}

TEST(requests_stay_under_the_cap_and_carry_everything)
{
	struct nro_otlp *o = nro_otlp_new("1", 4096, 16 << 20, 1000);
	struct msgbuf b;
	begin(&b, NRO_KIND_METRIC, 1, 1000);
	char name[32];
	for (int i = 0; i < 300; i++) {
		snprintf(name, sizeof name, "gauge_%d", i);
		metric(&b, name, NRO_MT_GAUGE, i, NULL);
	}
	CHECK(nro_otlp_add(o, finish(&b), 0) == 0);
	CHECK(nro_otlp_items(o, NRO_OTLP_METRICS) == 300);
	struct nro_buf out;
	nro_buf_init(&out, 1 << 20);
	size_t total = 0, requests = 0, items, points;
	while (nro_otlp_encode(o, NRO_OTLP_METRICS, 0, &out, &items, &points) == 0) {
		CHECK(out.len <= 4096 && items > 0);
		total += points;
		requests++;
		nro_otlp_consume(o, NRO_OTLP_METRICS, items);
	}
	CHECK(total == 300 && requests > 3);
	CHECK(nro_otlp_bytes(o, NRO_OTLP_METRICS) == 0);
	nro_enc_free(&b.enc);
	nro_buf_free(&out);
	nro_otlp_free(o);
}

TEST(memory_cap_keeps_nothing_of_the_message)
{
	struct nro_otlp *o = nro_otlp_new("1", 1 << 20, 100 << 10, 1000);
	struct msgbuf b;
	begin(&b, NRO_KIND_METRIC, 1, 1000);
	for (int i = 0; i < 5000; i++)
		metric(&b, "a_rather_long_metric_name_to_fill_memory", NRO_MT_GAUGE, i, NULL);
	CHECK(nro_otlp_add(o, finish(&b), 0) == -1);
	CHECK(nro_otlp_items(o, NRO_OTLP_METRICS) == 0);
	nro_enc_free(&b.enc);
	nro_otlp_free(o);
}

TEST(events_become_log_records)
{
	struct nro_otlp *o = nro_otlp_new("1", 1 << 20, 16 << 20, 10);
	struct msgbuf b;
	begin(&b, NRO_KIND_EVENT, 42, 7000);
	struct nro_event v = {.type = nro_s("PodCrashLooping"), .severity = NRO_SEV_CRITICAL,
			      .flags = NRO_EVF_VALUE, .value = 5, .message = nro_s("it loops"),
			      .object = {.kind = NRO_OBJ_CONTAINER, .namespace_ = nro_s("ns"),
					 .pod = nro_s("p"), .container = nro_s("c")}};
	CHECK(nro_enc_event(&b.enc, &v) == 0);
	CHECK(nro_otlp_add(o, finish(&b), 0xabcull) == 0);
	struct nro_buf out;
	nro_buf_init(&out, 1 << 20);
	size_t items, points;
	CHECK(nro_otlp_encode(o, NRO_OTLP_LOGS, 0, &out, &items, &points) == 0 && items == 1);
	Otlp__ExportLogsServiceRequest *r =
		otlp__export_logs_service_request__unpack(NULL, out.len, (const uint8_t *)out.p);
	CHECK(r && r->n_resource_logs == 1);
	Otlp__LogRecord *l = r ? r->resource_logs[0]->scope_logs[0]->log_records[0] : NULL;
	CHECK(l && l->severity_number == 17 && strcmp(l->severity_text, "ERROR") == 0);
	CHECK(l && strcmp(l->event_name, "PodCrashLooping") == 0 && strcmp(l->body->string_value, "it loops") == 0);
	CHECK(l && l->time_unix_nano == 7000000000ull && l->observed_time_unix_nano == 7000000000ull);
	int seen = 0;
	for (size_t i = 0; l && i < l->n_attributes; i++) {
		Otlp__KeyValue *kv = l->attributes[i];
		if (strcmp(kv->key, "k8s.container.name") == 0)
			seen += strcmp(kv->value->string_value, "c") == 0;
		if (strcmp(kv->key, "nro.seq") == 0)
			seen += kv->value->int_value == 42;
		if (strcmp(kv->key, "nro.epoch") == 0)
			seen += strcmp(kv->value->string_value, "0000000000000abc") == 0;
		if (strcmp(kv->key, "nro.value") == 0)
			seen += kv->value->double_value == 5;
		if (strcmp(kv->key, "nro.threshold") == 0)
			seen = -100; /* not flagged: not sent */
	}
	CHECK(seen == 4);
	otlp__export_logs_service_request__free_unpacked(r, NULL);
	/* JSON: int64 as strings, enums as numbers, NaN spelled out */
	CHECK(nro_otlp_encode(o, NRO_OTLP_LOGS, 1, &out, &items, &points) == 0);
	CHECK(strstr(out.p, "\"timeUnixNano\":\"7000000000\"") != NULL);
	CHECK(strstr(out.p, "\"severityNumber\":17") != NULL);
	CHECK(strstr(out.p, "\"intValue\":\"42\"") != NULL);
	nro_otlp_consume(o, NRO_OTLP_LOGS, items);
	nro_enc_free(&b.enc);
	nro_buf_free(&out);
	nro_otlp_free(o);
}

TEST(json_spells_nan)
{
	struct nro_otlp *o = nro_otlp_new("1", 1 << 20, 16 << 20, 10);
	struct msgbuf b;
	begin(&b, NRO_KIND_METRIC, 1, 1000);
	metric(&b, "q", NRO_MT_GAUGE, NAN, NULL);
	metric(&b, "q", NRO_MT_GAUGE, -INFINITY, NULL);
	CHECK(nro_otlp_add(o, finish(&b), 0) == 0);
	struct nro_buf out;
	nro_buf_init(&out, 1 << 20);
	size_t items, points;
	CHECK(nro_otlp_encode(o, NRO_OTLP_METRICS, 1, &out, &items, &points) == 0 && points == 2);
	CHECK(strstr(out.p, "\"asDouble\":\"NaN\"") && strstr(out.p, "\"asDouble\":\"-Infinity\""));
	nro_enc_free(&b.enc);
	nro_buf_free(&out);
	nro_otlp_free(o);
}

TEST(partial_success_is_read)
{
	Otlp__ExportMetricsPartialSuccess ps = OTLP__EXPORT_METRICS_PARTIAL_SUCCESS__INIT;
	Otlp__ExportMetricsServiceResponse resp = OTLP__EXPORT_METRICS_SERVICE_RESPONSE__INIT;
	ps.rejected_data_points = 3;
	ps.error_message = "bad points";
	resp.partial_success = &ps;
	uint8_t buf[128];
	size_t n = otlp__export_metrics_service_response__pack(&resp, buf);
	int64_t rej = -1;
	char msg[64];
	CHECK(nro_otlp_partial(NRO_OTLP_METRICS, 0, buf, n, &rej, msg, sizeof msg) == 0);
	CHECK(rej == 3 && strcmp(msg, "bad points") == 0);
	const char *js = "{\"partialSuccess\":{\"rejectedLogRecords\":\"2\",\"errorMessage\":\"x\"}}";
	CHECK(nro_otlp_partial(NRO_OTLP_LOGS, 1, js, strlen(js), &rej, msg, sizeof msg) == 0);
	CHECK(rej == 2 && strcmp(msg, "x") == 0);
	CHECK(nro_otlp_partial(NRO_OTLP_LOGS, 1, "{}", 2, &rej, msg, sizeof msg) == 0 && rej == 0);
	CHECK(nro_otlp_partial(NRO_OTLP_LOGS, 0, "", 0, &rej, msg, sizeof msg) == 0 && rej == 0);
	CHECK(nro_otlp_partial(NRO_OTLP_LOGS, 0, "\xff\xff\xff", 3, &rej, msg, sizeof msg) == -1);
	CHECK(nro_otlp_partial(NRO_OTLP_LOGS, 1, "{", 1, &rej, msg, sizeof msg) == -1);
}

int main(void)
{
	RUN(prometheus_histogram_becomes_one_point);
	RUN(histogram_lines_apart_still_meet);
	RUN(counter_start_time_is_first_seen_and_moves_on_reset);
	RUN(requests_stay_under_the_cap_and_carry_everything);
	RUN(memory_cap_keeps_nothing_of_the_message);
	RUN(events_become_log_records);
	RUN(json_spells_nan);
	RUN(partial_success_is_read);
	return testing_done();
}
