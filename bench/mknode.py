#!/usr/bin/env python3
"""Writes a synthetic N-pod kubelet (default 110) into DIR for kubelet-replay.

usage: mknode.py DIR [PODS]

Every endpoint the collectors poll is derived from real captures: the v1.34
fixtures (/pods, /stats/summary, /metrics/cadvisor) are replicated pod by pod
under new names and UIDs (replica k of pod P is P-rK, its UID a uuid5 of the
old one, its container IDs re-hashed), so the same pods, UIDs and containers
appear in every file. The endpoints v1.34 was not recorded with
(/metrics/resource, /metrics/probes, /metrics, /configz, /healthz?verbose,
/spec) come from other versions' captures: their per-pod series are taken as
a template and instantiated for each pod and container of the synthetic node.
"""
import copy
import hashlib
import json
import os
import re
import sys
import uuid

FX = os.environ.get("NRO_FIXTURES") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "fixtures", "kubelet")
BASE = "v1.34"
FOREIGN = {  # endpoint file -> capture it is derived from
    "metrics_resource.txt": "kind-1.21/metrics_resource.txt",
    "metrics_probes.txt": "gke-1.20/metrics_probes.txt",
    "metrics.txt": "eks-1.21/metrics.txt",
    "configz.json": "config-1.32/configz.json",
    "healthz_verbose.txt": "healthz/healthz_verbose.txt",
    "spec.json": "aws-spec/spec.json",
}
HEX64 = re.compile(r"[0-9a-f]{64}")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def fx(name):
    with open(os.path.join(FX, name), encoding="utf-8") as f:
        return f.read()


class Replica:
    """The renames that turn one real pod into its k-th copy."""

    def __init__(self, name, uid, k):
        self.old_name, self.old_uid = name, uid
        self.name = name if k == 0 else "%s-r%d" % (name, k)
        self.uid = uid if k == 0 else str(uuid.uuid5(uuid.UUID(uid), str(k)))
        self.k = k

    def sub(self, s):
        """Renames inside one string: exact pod name, UIDs, container IDs."""
        if self.k == 0:
            return s
        if s == self.old_name:
            return self.name
        s = s.replace(self.old_uid, self.uid)
        s = s.replace(self.old_uid.replace("-", "_"), self.uid.replace("-", "_"))
        return HEX64.sub(lambda m: hashlib.sha256(
            (m.group(0) + str(self.k)).encode()).hexdigest(), s)

    def walk(self, v):
        if isinstance(v, dict):
            return {k: self.walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [self.walk(x) for x in v]
        if isinstance(v, str):
            return self.sub(v)
        return v


def plan(items, total):
    """Replicas round-robin over the real pods until there are `total`."""
    out = []
    k = 0
    while len(out) < total:
        for it in items:
            if len(out) == total:
                break
            out.append((it, Replica(it["metadata"]["name"], it["metadata"]["uid"], k)))
        k += 1
    return out


def pods_json(pods, reps):
    pods = copy.deepcopy(pods)
    pods["items"] = [r.walk(it) for it, r in reps]
    return pods


def summary_json(summary, reps):
    by_uid = {p["podRef"]["uid"]: p for p in summary["pods"]}
    summary = copy.deepcopy(summary)
    summary["pods"] = [r.walk(by_uid[r.old_uid]) for _, r in reps if r.old_uid in by_uid]
    return summary


def prom_replicated(text, reps):
    """Each series of a real pod is repeated right after itself for every
    replica of that pod, so metric families stay contiguous."""
    by_name = {}
    for _, r in reps:
        by_name.setdefault(r.old_name, []).append(r)
    out = []
    for line in text.splitlines():
        m = re.search(r'[{,]pod="([^"]*)"', line) if not line.startswith("#") else None
        if not m or m.group(1) not in by_name:
            out.append(line)
            continue
        for r in by_name[m.group(1)]:
            out.append(LABEL.sub(lambda lm: '%s="%s"' % (lm.group(1), r.sub(lm.group(2))), line))
    return "\n".join(out) + "\n"


def containers(it):
    return [c["name"] for c in it["spec"].get("containers", [])]


def prom_templated(text, reps, node):
    """Per-pod series of a foreign capture, instantiated for our pods: the
    first pod's pod-level lines once per pod, its first container's lines once
    per container; everything else kept once."""
    lines = text.splitlines()
    first = next((m.group(1) for m in (re.search(r'[{,]pod="([^"]*)"', l) for l in lines
                                       if not l.startswith("#")) if m), None)
    out = []
    for line in lines:
        labels = dict(LABEL.findall(line)) if not line.startswith("#") else {}
        if "pod" not in labels:
            out.append(line)
            continue
        if labels["pod"] != first:
            continue  # a pod of the other cluster: replaced by ours
        ctr = labels.get("container")
        for it, r in reps:
            ns = it["metadata"]["namespace"]
            for c in (containers(it)[:1] if not ctr else containers(it)):
                new = {"pod": r.name, "namespace": ns, "pod_uid": r.uid, "container": c,
                       "node": node}
                out.append(LABEL.sub(lambda lm: '%s="%s"' % (
                    lm.group(1), new.get(lm.group(1), lm.group(2))), line))
            if ctr and not containers(it):
                continue
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) < 2:
        sys.stderr.write("usage: mknode.py DIR [PODS]\n")
        sys.exit(100)
    d = sys.argv[1]
    total = int(sys.argv[2]) if len(sys.argv) > 2 else 110
    os.makedirs(d, exist_ok=True)
    pods = json.loads(fx(BASE + "/pods.json"))
    summary = json.loads(fx(BASE + "/stats_summary.json"))
    node = summary["node"]["nodeName"]
    reps = plan(pods["items"], total)

    def write(name, text):
        with open(os.path.join(d, name), "w", encoding="utf-8") as f:
            f.write(text)

    write("pods.json", json.dumps(pods_json(pods, reps)))
    write("stats_summary.json", json.dumps(summary_json(summary, reps)))
    write("metrics_cadvisor.txt", prom_replicated(fx(BASE + "/metrics_cadvisor.txt"), reps))
    for name, src in FOREIGN.items():
        text = fx(src)
        write(name, prom_templated(text, reps, node) if name.endswith(".txt")
              and name.startswith("metrics") else text)
    print("%s: %d pods on node %s" % (d, len(reps), node))


if __name__ == "__main__":
    main()
