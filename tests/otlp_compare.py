#!/usr/bin/env python3
"""Compares what an OTLP receiver decoded (tests/otlp_receiver.js output)
with nro-dump's JSON lines of the same records, field by field.

    otlp_compare.py metrics|logs RECEIVED.jsonl DUMP.jsonl [VERSION]

metrics: every sample line of the dump (gauges, counters, each _bucket,
_sum and _count line of a histogram) is rebuilt from the OTLP points
(histogram buckets re-accumulated into Prometheus' cumulative "le" form)
and must match exactly once: name, value, unit, attributes, timestamp,
node, source (the scope), the OTLP type its record type maps to, and the
resource. logs: every event of the dump must be one log record (by nro.seq
and nro.entry, its place in the message) with the same type, severity,
state, object, message, numbers and time.
Prints what differs and exits 1; prints "ok: N ..." and exits 0 otherwise.
"""
import json
import math
import sys
from collections import Counter

SEVERITY = {"info": (9, "INFO"), "warning": (13, "WARN"), "critical": (17, "ERROR")}


def any_value(v):
    for k in ("stringValue", "doubleValue", "boolValue"):
        if k in v:
            return v[k]
    if "intValue" in v:
        return int(v["intValue"])
    return None


def attrs(kvs):
    return {kv["key"]: any_value(kv.get("value", {})) for kv in kvs or []}


def ms(nanos):
    return int(nanos or 0) // 1000000


def ts_ms(rfc3339):
    from datetime import datetime, timezone
    d = datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return int(round(d.timestamp() * 1000))


def num(v):
    """A value as a comparable key: NaN and infinities as strings."""
    if v is None or v == "NaN" or (isinstance(v, float) and math.isnan(v)):
        return "NaN"
    if v in ("+Inf", "Infinity"):
        return "+Inf"
    if v in ("-Inf", "-Infinity"):
        return "-Inf"
    return repr(float(v))


def le_key(v):
    return "+Inf" if v in ("+Inf", "Infinity") or v == math.inf else repr(float(v))


def check_resource(res, version, errors):
    a = attrs(res.get("attributes"))
    node = a.get("k8s.node.name")
    want = {"k8s.node.name": node, "host.name": node, "service.name": "node-runtime-observer"}
    for k, v in want.items():
        if a.get(k) != v or v is None:
            errors.append(f"resource {k} = {a.get(k)!r}, want {v!r}")
    if version and a.get("service.version") != version:
        errors.append(f"resource service.version = {a.get('service.version')!r}, want {version!r}")
    return node


def sample(node, source, name, value, unit, at, kind, a):
    return json.dumps([node, source, name, num(value), unit or "", at, kind,
                       sorted((k, str(v)) for k, v in a.items())])


def otlp_points(m, node, source, errors):
    """Yields sample keys rebuilt from one OTLP Metric."""
    name, unit = m["name"], m.get("unit", "")
    if "gauge" in m:
        for p in m["gauge"].get("dataPoints", []):
            yield sample(node, source, name, p.get("asDouble"), unit, ms(p["timeUnixNano"]), "gauge", attrs(p.get("attributes")))
    elif "sum" in m:
        s = m["sum"]
        if s.get("aggregationTemporality") != 2 or not s.get("isMonotonic"):
            errors.append(f"{name}: sum not cumulative monotonic: {s.get('aggregationTemporality')} {s.get('isMonotonic')}")
        for p in s.get("dataPoints", []):
            if not p.get("startTimeUnixNano") or int(p["startTimeUnixNano"]) > int(p["timeUnixNano"]):
                errors.append(f"{name}: start time {p.get('startTimeUnixNano')} not set or after {p['timeUnixNano']}")
            yield sample(node, source, name, p.get("asDouble"), unit, ms(p["timeUnixNano"]), "sum", attrs(p.get("attributes")))
    elif "histogram" in m:
        h = m["histogram"]
        if h.get("aggregationTemporality") != 2:
            errors.append(f"{name}: histogram not cumulative")
        for p in h.get("dataPoints", []):
            a, at = attrs(p.get("attributes")), ms(p["timeUnixNano"])
            bounds, counts = p.get("explicitBounds", []), [int(c) for c in p.get("bucketCounts", [])]
            if len(counts) != len(bounds) + 1:
                errors.append(f"{name}: {len(counts)} bucket counts for {len(bounds)} bounds")
                continue
            cum = 0
            for b, c in zip(bounds + [math.inf], counts):
                cum += c
                yield sample(node, source, name + "_bucket", cum, unit, at, "histogram", dict(a, le=le_key(b)))
            if int(p.get("count", 0)) != cum:
                errors.append(f"{name}: count {p.get('count')} != sum of buckets {cum}")
            yield sample(node, source, name + "_sum", p.get("sum", 0), unit, at, "histogram", a)
            yield sample(node, source, name + "_count", int(p.get("count", 0)), unit, at, "histogram", a)
    else:
        errors.append(f"{name}: no gauge, sum or histogram")


def dump_kind(d):
    t = d.get("type", "gauge")
    n = d["name"]
    if t == "counter":
        return "sum"
    if t == "histogram" and (n.endswith("_bucket") or n.endswith("_sum") or n.endswith("_count")):
        return "histogram"
    if t == "summary" and (n.endswith("_sum") or n.endswith("_count")):
        return "sum"
    return "gauge"


def dump_sample(d):
    a = dict(d.get("attrs", {}))
    if dump_kind(d) == "histogram" and "le" in a:
        a["le"] = le_key(a["le"])
    return sample(d["node"], d["source"], d["name"], d["value"], d.get("unit", ""), ts_ms(d["ts"]), dump_kind(d), a)


def requests(path, route):
    out = []
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r["path"] == route and r["status"] == 200:
                out.append(r["request"])
    return out


def compare_metrics(received, dump, version):
    errors, got = [], Counter()
    for req in requests(received, "/v1/metrics"):
        for rm in req.get("resourceMetrics", []):
            node = check_resource(rm.get("resource", {}), version, errors)
            for sm in rm.get("scopeMetrics", []):
                source = sm.get("scope", {}).get("name")
                for m in sm.get("metrics", []):
                    got.update(otlp_points(m, node, source, errors))
    want = Counter(dump_sample(d) for d in dump if d["kind"] == "metric")
    for k in (want - got):
        errors.append(f"missing in OTLP: {k}")
    for k in (got - want):
        errors.append(f"extra in OTLP: {k}")
    return errors, f"{sum(want.values())} metric samples"


def object_attrs(o, node):
    a = {"k8s.node.name": node}
    kind = o.get("kind")
    if kind:
        a["nro.object.kind"] = kind
    for k, ak in (("namespace", "k8s.namespace.name"), ("pod", "k8s.pod.name"), ("container", "k8s.container.name")):
        if o.get(k):
            a[ak] = o[k]
    if o.get("name"):
        a["k8s.node.name" if kind == "Node" else "k8s.volume.name" if kind == "Volume" else "nro.object.name"] = o["name"]
    return a


def compare_logs(received, dump, version):
    errors, got = [], {}
    for req in requests(received, "/v1/logs"):
        for rl in req.get("resourceLogs", []):
            node = check_resource(rl.get("resource", {}), version, errors)
            for sl in rl.get("scopeLogs", []):
                for r in sl.get("logRecords", []):
                    a = attrs(r.get("attributes"))
                    key = (a.get("nro.seq"), a.get("nro.entry"))
                    if key in got:
                        errors.append(f"seq/entry {key} twice")
                    got[key] = (node, sl.get("scope", {}).get("name"), r, a)
    events = [d for d in dump if d["kind"] == "event"]
    entry = Counter()
    for d in events:
        key = (d["seq"], entry[d["seq"]])
        entry[d["seq"]] += 1
        if key not in got:
            errors.append(f"seq/entry {key} ({d['type']}) missing in OTLP")
            continue
        node, source, r, a = got[key]
        number, text = SEVERITY[d["severity"]]
        want = {"node": d["node"], "source": d["source"], "severityNumber": number, "severityText": text,
                "eventName": d["type"], "body": d.get("message", ""), "time": ts_ms(d["ts"]),
                "observed": ts_ms(d["ts"])}
        have = {"node": node, "source": source, "severityNumber": r.get("severityNumber"),
                "severityText": r.get("severityText"), "eventName": r.get("eventName"),
                "body": any_value(r.get("body", {})) or "", "time": ms(r.get("timeUnixNano")),
                "observed": ms(r.get("observedTimeUnixNano"))}
        wa = object_attrs(d.get("object", {}), d["node"])
        wa.update({"event.name": d["type"], "nro.state": d["state"]})
        for k, ak in (("value", "nro.value"), ("threshold", "nro.threshold")):
            if k in d:
                wa[ak] = float(d[k])
        wa.update(d.get("attrs", {}))
        for k, v in wa.items():
            want["attr " + k] = v
            have["attr " + k] = a.get(k)
        for k in want:
            if want[k] != have[k]:
                errors.append(f"seq {d['seq']}: {k} = {have[k]!r}, want {want[k]!r}")
    if len(got) != len(events):
        errors.append(f"{len(got)} log records for {len(events)} events")
    return errors, f"{len(events)} events"


def main():
    what, received, dump_path = sys.argv[1:4]
    version = sys.argv[4] if len(sys.argv) > 4 else None
    with open(dump_path) as f:
        dump = [json.loads(line) for line in f if line.strip()]
    errors, what_ok = (compare_metrics if what == "metrics" else compare_logs)(received, dump, version)
    for e in errors[:30]:
        print(e)
    if errors:
        print(f"{len(errors)} differences")
        return 1
    print(f"ok: {what_ok} match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
