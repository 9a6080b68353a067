/*
 * OTLP encoding of records (sink-otel): metric messages become an
 * ExportMetricsServiceRequest, event messages an ExportLogsServiceRequest,
 * as protobuf (protobuf-c, from lib/render/otlp.proto) or OTLP's JSON
 * mapping (lowerCamelCase names, 64-bit integers as strings, enums as
 * numbers). The mapping (README "Sending to OpenTelemetry"):
 *
 *  - one ResourceMetrics/ResourceLogs per node: k8s.node.name, host.name,
 *    service.name=node-runtime-observer, service.version;
 *    one scope per source (the record's source: collector-summary, analyzer...);
 *  - gauge and untyped samples: Gauge; counters: cumulative monotonic Sum
 *    whose start time is when this encoder first saw the series (and a
 *    point's own time after a reset, the value going down), as the
 *    Collector's prometheus receiver does without created timestamps;
 *  - Prometheus-text histograms (X_bucket with le, X_sum, X_count of one
 *    series, in one message): one Histogram point with explicit bounds and
 *    per-bucket counts; summary lines: quantiles as Gauge, _sum/_count as
 *    cumulative Sum; consecutive samples of one name share a Metric;
 *  - events: one LogRecord each: time and observed time = the event's
 *    timestamp, severity info/warning/critical = INFO(9)/WARN(13)/ERROR(17),
 *    body = the message, event.name (attribute and field) = the type, the
 *    object (k8s.namespace.name, k8s.pod.name, k8s.container.name,
 *    k8s.node.name, k8s.volume.name, nro.object.kind, nro.object.name),
 *    nro.state, nro.value, nro.threshold, nro.since, and nro.epoch, nro.seq
 *    and nro.entry (the ring's epoch, the message's seq, the event's place
 *    in it: together a unique id to dedupe by), then the event's own
 *    attributes.
 *
 * Items (one Metric or one LogRecord) wait in the batch until a request
 * carries them: nro_otlp_encode takes the oldest ones that fit in the
 * request cap, nro_otlp_consume forgets them once delivered (or dropped).
 */
#ifndef NRO_OTLP_H
#define NRO_OTLP_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "wire/record.h"

enum nro_otlp_signal { NRO_OTLP_METRICS = 0, NRO_OTLP_LOGS = 1 };

struct nro_otlp;

/* A batch whose requests stay under max_request bytes (before compression;
 * one item larger than that goes alone) and whose memory stays under
 * max_memory; series remembered for start times: at most max_series, each
 * forgotten after an hour without a point.
 * NULL when out of memory. The caller frees it with nro_otlp_free. */
struct nro_otlp *nro_otlp_new(const char *service_version, size_t max_request,
			      size_t max_memory, size_t max_series);
void nro_otlp_free(struct nro_otlp *o);

/* Adds every entry of m (metrics or events; other kinds are ignored) to
 * the batch; epoch goes into nro.epoch (0: left out). Returns 0, or -1 when
 * memory ran out or passed max_memory: then nothing of m was kept. */
int nro_otlp_add(struct nro_otlp *o, struct nro_msg *m, uint64_t epoch);

/* Items waiting, and an upper bound of the bytes they take in a request. */
size_t nro_otlp_items(const struct nro_otlp *o, enum nro_otlp_signal sig);
size_t nro_otlp_bytes(const struct nro_otlp *o, enum nro_otlp_signal sig);
/* Memory the batch holds (the max_memory check). */
size_t nro_otlp_memory(const struct nro_otlp *o);

/* Replaces out's content with one request carrying the oldest waiting
 * items of sig that fit in max_request (at least one); *items and *points
 * (data points or log records) say how many. Returns 0, 1 when nothing
 * waits, or -1 (out of memory, or out's cap). */
int nro_otlp_encode(struct nro_otlp *o, enum nro_otlp_signal sig, int json,
		    struct nro_buf *out, size_t *items, size_t *points);
/* Forgets the n oldest waiting items of sig (a request carried them);
 * once nothing waits, the batch's memory is reused. */
void nro_otlp_consume(struct nro_otlp *o, enum nro_otlp_signal sig, size_t n);

/* Reads an Export*ServiceResponse body (protobuf or JSON) for its
 * partial_success: 0 with *rejected and msg (NUL-terminated, may be empty),
 * or -1 if it does not decode. An empty body is a full success. */
int nro_otlp_partial(enum nro_otlp_signal sig, int json, const void *body, size_t len,
		     int64_t *rejected, char *msg, size_t msglen);

#endif
