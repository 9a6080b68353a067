#!/bin/sh
# Builds the demo's scripted incident, deploy/demo/crashloop-oom/, from the
# recorded Kubernetes 1.34 fixtures (../shared/fixtures/kubelet/v1.34):
#   step-000  a healthy node
#   step-001  scraper/e2e-deployment-...-mrr5s crash-loops after an OOM kill,
#             and node memory.available falls to 50Mi (under the kubelet's
#             default eviction threshold, 100Mi)
#   step-002  memory recovers; the pod keeps crash-looping
# The output is committed, so the demo needs no ../shared; rerun this after
# changing it: sh deploy/demo/make-scenario.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=${1:-$here/../../../shared/fixtures/kubelet}
out=$here/crashloop-oom
pod=e2e-deployment-6fb786454b-mrr5s
rm -rf "$out"
mkdir -p "$out/base" "$out/step-000" "$out/step-001" "$out/step-002"
cp "$src/healthz/healthz_verbose.txt" "$out/base/"
cp "$src/v1.34/pods.json" "$src/v1.34/stats_summary.json" "$out/base/"
: >"$out/step-000/.keep"

jq -c --arg pod "$pod" '
  (.items[] | select(.metadata.name == $pod) | .status) |= (
    .conditions |= map(if .type == "Ready" or .type == "ContainersReady"
                       then .status = "False" | .reason = "ContainersNotReady" else . end)
    | .containerStatuses |= map(
        .ready = false | .started = false | .restartCount = 3
        | .state = {waiting: {reason: "CrashLoopBackOff",
            message: "back-off 40s restarting failed container=compute-pi-digits"}}
        | .lastState = {terminated: {exitCode: 137, reason: "OOMKilled",
            startedAt: "2026-01-13T18:39:30Z", finishedAt: "2026-01-13T18:39:58Z",
            containerID: .containerID}}))' \
  "$src/v1.34/pods.json" >"$out/step-001/pods.json"

# memory.available 50Mi: the working set takes the rest of the capacity
jq -c '.node.memory |= (.workingSetBytes = (.availableBytes + .workingSetBytes - 52428800)
                     | .availableBytes = 52428800)' \
  "$src/v1.34/stats_summary.json" >"$out/step-001/stats_summary.json"
cp "$src/v1.34/stats_summary.json" "$out/step-002/"
echo "wrote $out"
