#!/usr/bin/env python3
"""Checks Kubernetes manifests offline.

  k8s_check.py schema SCHEMA_DIR FILE...   every document validates against
      its kind's strict JSON Schema (unknown fields are errors); a kind with
      no schema there (a CRD's, e.g. ServiceMonitor) needs apiVersion, kind,
      metadata.name and spec.
  k8s_check.py security FILE...   the DaemonSet and ClusterRoles keep the
      least privileges docs/operations.md promises.
Prints one line per problem and exits 1 if there was any.
"""
import json
import os
import sys

import jsonschema
import yaml

problems = []


def bad(where, msg):
    problems.append(f"{where}: {msg}")


def documents(paths):
    for p in paths:
        with open(p) as f:
            for i, doc in enumerate(yaml.safe_load_all(f)):
                if doc is not None:
                    yield f"{p}#{i}", doc


def schema_name(doc):
    group, _, version = doc["apiVersion"].rpartition("/")
    parts = [doc["kind"].lower()]
    if group:
        parts.append(group.split(".")[0])
    parts.append(version)
    return "-".join(parts) + ".json"


def check_schema(schema_dir, paths):
    for where, doc in documents(paths):
        if not isinstance(doc, dict) or "kind" not in doc or "apiVersion" not in doc:
            bad(where, "not a Kubernetes object (no kind/apiVersion)")
            continue
        path = os.path.join(schema_dir, schema_name(doc))
        if not os.path.exists(path):
            for k in ("metadata", "spec"):
                if k not in doc:
                    bad(where, f"{doc['kind']}: no {k}")
            if not doc.get("metadata", {}).get("name"):
                bad(where, f"{doc['kind']}: no metadata.name")
            continue
        with open(path) as f:
            schema = json.load(f)
        v = jsonschema.Draft7Validator(schema)
        for e in sorted(v.iter_errors(doc), key=lambda e: list(e.path)):
            loc = "/".join(str(x) for x in e.path)
            bad(where, f"{doc['kind']} {loc}: {e.message}")


KMSG_CAPS = {"SYSLOG"}
HOST_PATHS = {"/proc", "/sys", "/run/dbus/system_bus_socket",
              "/run/containerd/containerd.sock", "/dev/kmsg"}
KUBELET_SUBRESOURCES = {"nodes/stats", "nodes/metrics", "nodes/healthz",
                        "nodes/pods", "nodes/configz"}


def env_of(c):
    return {e["name"]: e for e in c.get("env", [])}


def check_container(where, c, host_volumes):
    name = c["name"]
    sc = c.get("securityContext", {})
    is_kmsg = c.get("command", [""])[0].endswith("/collector-kmsg")
    if sc.get("privileged", False):
        bad(where, f"{name}: privileged")
    if sc.get("readOnlyRootFilesystem") is not True:
        bad(where, f"{name}: root filesystem not read-only")
    caps = sc.get("capabilities", {})
    if "ALL" not in caps.get("drop", []):
        bad(where, f"{name}: does not drop ALL capabilities")
    added = set(caps.get("add", []))
    allowed = KMSG_CAPS if is_kmsg else set()
    if not added <= allowed:
        bad(where, f"{name}: adds capabilities {sorted(added - allowed)}")
    if sc.get("allowPrivilegeEscalation", True) and not is_kmsg:
        bad(where, f"{name}: allowPrivilegeEscalation not false")
    if sc.get("runAsUser") == 0 or sc.get("runAsNonRoot") is False:
        bad(where, f"{name}: runs as root")
    for m in c.get("volumeMounts", []):
        if m["name"] in host_volumes and m.get("readOnly") is not True:
            bad(where, f"{name}: host mount {m['mountPath']} is writable")
    if "limits" not in c.get("resources", {}) or "memory" not in c["resources"]["limits"]:
        bad(where, f"{name}: no memory limit")
    if "NRO_INSECURE_SKIP_VERIFY" in env_of(c):
        bad(where, f"{name}: TLS verification off")


def field_ref(env, name):
    return env.get(name, {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")


def check_kubelet_env(where, c):
    env = env_of(c)
    if "NRO_KUBELET_URL" not in env:
        return
    if field_ref(env, "HOST_IP") != "status.hostIP" or "$(HOST_IP)" not in env["NRO_KUBELET_URL"]["value"]:
        bad(where, f"{c['name']}: kubelet not reached at status.hostIP")
    if field_ref(env, "NODE_NAME") != "spec.nodeName" or env.get("NRO_TLS_SERVER_NAME", {}).get("value") != "$(NODE_NAME)":
        bad(where, f"{c['name']}: certificate not checked for spec.nodeName")


def check_daemonset(where, ds):
    pod = ds["spec"]["template"]["spec"]
    for k in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(k):
            bad(where, f"{k} on")
    psc = pod.get("securityContext", {})
    if psc.get("runAsNonRoot") is not True or psc.get("runAsUser", 0) == 0:
        bad(where, "pod not runAsNonRoot with a non-zero runAsUser")
    if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        bad(where, "seccompProfile not RuntimeDefault")
    if {"operator": "Exists"} not in pod.get("tolerations", []):
        bad(where, "does not tolerate every taint")
    if pod.get("automountServiceAccountToken") is not False:
        bad(where, "default token automounted (the projected volume carries it)")
    host = {}
    for v in pod.get("volumes", []):
        if "hostPath" in v:
            host[v["name"]] = v["hostPath"]["path"]
            if v["hostPath"]["path"] not in HOST_PATHS:
                bad(where, f"host path {v['hostPath']['path']} not among the documented ones")
        if v["name"] == "run" and v.get("emptyDir", {}).get("medium") != "Memory":
            bad(where, "run directory not on an emptyDir in memory")
        if "projected" in v:
            srcs = v["projected"]["sources"]
            if not any("serviceAccountToken" in s for s in srcs):
                bad(where, "projected volume without the token")
    if "run" not in {v["name"] for v in pod.get("volumes", [])}:
        bad(where, "no run volume")
    for c in pod["containers"] + pod.get("initContainers", []):
        check_container(where, c, host)
        check_kubelet_env(where, c)


# collector-apiserver's optional roles (rbac-apiserver.yaml): this node's
# pods and Node read (list + watch), its Lease got; nothing more
APISERVER_RULES = {
    "ClusterRole": ({""}, {"pods", "nodes"}, {"get", "list", "watch"}),
    "Role": ({"coordination.k8s.io"}, {"leases"}, {"get"}),
}


def check_apiserver_role(where, role):
    groups, resources, verbs = APISERVER_RULES[role["kind"]]
    if role["kind"] == "Role" and role["metadata"].get("namespace") != "kube-node-lease":
        bad(where, "the Lease role outside kube-node-lease")
    for r in role.get("rules", []):
        if not set(r.get("apiGroups", [])) <= groups or not set(r.get("resources", [])) <= resources \
                or not set(r.get("verbs", [])) <= verbs:
            bad(where, f"apiserver role holds {r}")


def check_clusterrole(where, cr):
    if cr["metadata"]["name"].endswith("-apiserver"):
        check_apiserver_role(where, cr)
        return
    for r in cr.get("rules", []):
        if set(r.get("verbs", [])) != {"get"}:
            bad(where, f"verbs {r.get('verbs')}: only get")
        res = set(r.get("resources", []))
        if cr["metadata"]["name"].endswith("nodes-proxy"):
            if res != {"nodes/proxy"}:
                bad(where, f"fallback role holds {sorted(res)}")
        elif not res <= KUBELET_SUBRESOURCES:
            bad(where, f"resources beyond the kubelet subresources: {sorted(res - KUBELET_SUBRESOURCES)}")


def check_security(paths):
    seen = set()
    for where, doc in documents(paths):
        kind = doc.get("kind")
        seen.add(kind)
        if kind == "DaemonSet":
            check_daemonset(where, doc)
        elif kind == "ClusterRole":
            check_clusterrole(where, doc)
        elif kind == "Role":
            if doc["metadata"]["name"].endswith("-apiserver"):
                check_apiserver_role(where, doc)
            else:
                bad(where, "an unexpected Role")
    if "DaemonSet" not in seen:
        bad(",".join(paths), "no DaemonSet")


def main(argv):
    if len(argv) >= 3 and argv[1] == "schema":
        check_schema(argv[2], argv[3:])
    elif len(argv) >= 2 and argv[1] == "security":
        check_security(argv[2:])
    else:
        print(__doc__, file=sys.stderr)
        return 100
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
