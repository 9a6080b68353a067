#!/usr/bin/env python3
"""Writes a kubelet-replay scenario of pod churn: step-000 lists no pod,
steps 1..STEPS each list PER_STEP + step pods never seen before (the
previous step's are gone; the count tells the steps apart), the last step
none again. Every pod is a trimmed copy of
the first pod of a real /pods capture (argv[1]), renamed.
usage: churn_pods.py PODS_JSON OUT_DIR STEPS PER_STEP"""
import copy
import json
import os
import sys


def trimmed(pod):
    m, st = pod["metadata"], pod.get("status", {})
    return {"metadata": {"name": m["name"], "namespace": m["namespace"], "uid": m["uid"]},
            "spec": {"nodeName": pod["spec"].get("nodeName", ""),
                     "containers": [{"name": c["name"], "image": c.get("image", "")}
                                    for c in pod["spec"]["containers"][:1]]},
            "status": {"phase": "Running",
                       "conditions": st.get("conditions", []),
                       "containerStatuses": st.get("containerStatuses", [])[:1]}}


def write(out, step, items):
    d = os.path.join(out, "step-%03d" % step)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "pods.json"), "w") as f:
        json.dump({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items}, f)


def main():
    src, out, steps, per = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    template = trimmed(json.load(open(src))["items"][0])
    write(out, 0, [])
    for s in range(1, steps + 1):
        items = []
        for i in range(per + s):
            p = copy.deepcopy(template)
            p["metadata"]["name"] = "churn-%d-%d" % (s, i)
            p["metadata"]["uid"] = "00000000-0000-0000-%04d-%012d" % (s, i)
            items.append(p)
        write(out, s, items)
    write(out, steps + 1, [])


if __name__ == "__main__":
    main()
