#!/bin/bash
# Every event type the rules added, end to end: a scripted incident built
# from the real fixtures (../shared/fixtures) is served by kubelet-replay and
# run through every kubelet collector -> analyzer -> sink-stdout under a
# private s6-svscan. Each new event must fire once and resolve once, and
# nothing else may arrive.
#   step-000  the recorded node as it is (1.34 pods/summary/cadvisor, 1.15
#             /metrics with 1.21's certificate TTL, 1.20 probes, 1.32 configz)
#   step-001  the incident: every new rule's condition, edited into copies
#   step-002  recovery
. "$(dirname "$0")/lib.sh"

NODE=datagen-1-34
NEW_TYPES="ContainerCPUThrottled ContainerMemoryNearLimit EphemeralStoragePressure
VolumeFillingUp NodeNetworkIssue ProbeFailing KubeletTooManyPods KubeletPLEGLatencyHigh
KubeletCertificateExpiring KubeletEvictions KubeletRuntimeErrors"
COLLECTORS="collector-healthz collector-pods collector-summary collector-cadvisor
collector-metrics collector-probes collector-configz"

oneTimeSetUp() { nro_tmpdir; build_incident "$TMP/incident"; }
oneTimeTearDown() { [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"; }

tearDown() {
	scan_down
}

# ---- the incident, from the fixtures ----

HPA=e2e-hpa-5b9fd8d67d-sjdmn          # php-apache, CPU limit 500m: throttled
STS=e2e-statefulset-0                 # compute-pi-digits, memory limit 30Mi; its volume a claim
SCRAPER=e2e-scraper-586c69668b-dh6dj  # e2e-scraper: given a 1Gi ephemeral-storage limit

build_incident() {
	out=$1 k=$FIXTURES
	mkdir -p "$out/base" "$out/step-000" "$out/step-001" "$out/step-002"
	: >"$out/step-000/.keep"
	cp "$k/healthz/healthz_verbose.txt" "$k/v1.34/metrics_cadvisor.txt" \
		"$k/gke-1.20/metrics_probes.txt" "$k/config-1.32/configz.json" "$out/base/"
	jq -c --arg p "$SCRAPER" '(.items[] | select(.metadata.name == $p) | .spec.containers[0]
		.resources.limits["ephemeral-storage"]) = "1Gi"' "$k/v1.34/pods.json" >"$out/base/pods.json"
	jq -c --arg p "$STS" '(.pods[] | select(.podRef.name == $p) | .volume[0].pvcRef) =
		{name: "data-\($p)", namespace: "scraper"}' "$k/v1.34/stats_summary.json" \
		>"$out/base/stats_summary.json"
	# 1.15's /metrics (evictions, both runtime error names, PLEG buckets) and
	# 1.21's serving-certificate TTL
	{ cat "$k/gke-pre-1.16/metrics.txt"
	  grep 'kubelet_certificate_manager_server_ttl_seconds' "$k/eks-1.21/metrics.txt"; } \
		>"$out/base/metrics.txt"

	# step 1: the incident
	jq -c --arg s "$STS" --arg e "$SCRAPER" '
	  (.pods[] | select(.podRef.name == $s) | .containers[0].memory.workingSetBytes) = 29884416
	  | (.pods[] | select(.podRef.name == $s) | .volume[0].availableBytes) = 1572864
	  | (.pods[] | select(.podRef.name == $e) | .["ephemeral-storage"].usedBytes) = 1020054732
	  | .node.network.rxErrors += 100
	  | (.node.network.interfaces[] | select(.name == "eth0") | .rxErrors) += 100' \
		"$out/base/stats_summary.json" >"$out/step-001/stats_summary.json"
	cadvisor "$out/base/metrics_cadvisor.txt" 1000 600 >"$out/step-001/metrics_cadvisor.txt"
	awk '
	  /^kubelet_evictions\{/ { $2 += 1 }
	  /^kubelet_runtime_operations_errors(_total)?\{operation_type="container_status"\}/ { $2 += 3 }
	  /^kubelet_pleg_relist_duration_seconds_bucket\{le="\+Inf"\}/ { $2 += 100 }
	  /^kubelet_certificate_manager_server_ttl_seconds / { $2 = 259200 }
	  { print }' "$out/base/metrics.txt" >"$out/step-001/metrics.txt"
	awk '/^prober_probe_total\{container="calico-node".*probe_type="Liveness",result="failed"/ { $2 += 5 }
	  { print }' "$out/base/metrics_probes.txt" >"$out/step-001/metrics_probes.txt"
	jq '.kubeletconfig.maxPods = 19' "$out/base/configz.json" >"$out/step-001/configz.json"

	# step 2: recovery (counters keep what they counted)
	cadvisor "$out/base/metrics_cadvisor.txt" 1001000 600 >"$out/step-002/metrics_cadvisor.txt"
	awk '/^kubelet_pleg_relist_duration_seconds_bucket/ { $2 += 1000000 } { print }' \
		"$out/step-001/metrics.txt" | awk '/^kubelet_certificate_manager_server_ttl_seconds / {
		$2 = 2.9826981e+07 } { print }' >"$out/step-002/metrics.txt"
	cp "$out/step-001/metrics_probes.txt" "$out/step-002/"
	cp "$out/base/stats_summary.json" "$out/base/configz.json" "$out/step-002/"
}

# /metrics/cadvisor with php-apache's CFS periods and throttled periods raised
cadvisor() {
	awk -v p="$2" -v t="$3" -v pod="$HPA" '
	  index($0, "pod=\"" pod "\"") && /^container_cpu_cfs_periods_total\{container="php-apache"/ { $2 += p }
	  index($0, "pod=\"" pod "\"") && /^container_cpu_cfs_throttled_periods_total\{container="php-apache"/ { $2 += t }
	  { print }' "$1"
}

# ---- the pipeline ----

start_pipeline() {
	SCAN=$TMP/svc
	rm -rf "$SCAN" "$TMP/run" "$TMP/log"
	mkdir -p "$SCAN/.env" "$TMP/log"
	for s in analyzer sink-stdout $COLLECTORS; do cp -R "$TOP/svc/$s" "$SCAN/$s"; done
	rm -rf "$SCAN/sink-stdout/log"
	echo "$BIN" >"$SCAN/.env/NRO_BIN"
	echo "$TMP/run" >"$SCAN/.env/NRO_RUN_DIR"
	echo "$TMP/log" >"$SCAN/.env/NRO_LOG_DIR"
	echo "$REPLAY_URL" >"$SCAN/.env/NRO_KUBELET_URL"
	echo "$NODE" >"$SCAN/.env/NRO_NODE_NAME"
	echo 1s >"$SCAN/.env/NRO_INTERVAL"
	echo json >"$SCAN/.env/NRO_FORMAT"
	echo 67108864 >"$SCAN/.env/NRO_RING_SIZE" # the whole run stays countable
	set=""
	for t in $NEW_TYPES; do set="$set,$t.for=0s,$t.resolve_after=2s"; done
	echo "${set#,}" >"$SCAN/.env/NRO_SET"
	# shellcheck disable=SC2086
	scan_up "$TMP/events.out" analyzer sink-stdout $COLLECTORS
}

# Waits until every collector has polled ${1:-2} times more than now.
# shellcheck disable=SC2086
wait_polls() { wait_ring_polls "${1:-2}" $COLLECTORS; }

event_lines() {
	grep '^{' "$1" | jq -r 'select(.kind=="event") |
		"\(.type) \(.state) \(.object.namespace // "")/\(.object.pod // "")/\(.object.container // "")\(.object.name // "")"' | sort
}

count_state() { grep -c "\"state\":\"$1\"" "$TMP/events.out"; }

step() { curl -fsS -X POST "$REPLAY_URL/replay/step" >/dev/null; }

WANT="ContainerCPUThrottled firing scraper/$HPA/php-apache
ContainerCPUThrottled resolved scraper/$HPA/php-apache
ContainerMemoryNearLimit firing scraper/$STS/compute-pi-digits
ContainerMemoryNearLimit resolved scraper/$STS/compute-pi-digits
EphemeralStoragePressure firing scraper/$SCRAPER/
EphemeralStoragePressure resolved scraper/$SCRAPER/
KubeletCertificateExpiring firing //$NODE
KubeletCertificateExpiring resolved //$NODE
KubeletEvictions firing //$NODE
KubeletEvictions resolved //$NODE
KubeletPLEGLatencyHigh firing //$NODE
KubeletPLEGLatencyHigh resolved //$NODE
KubeletRuntimeErrors firing //$NODE
KubeletRuntimeErrors resolved //$NODE
KubeletTooManyPods firing //$NODE
KubeletTooManyPods resolved //$NODE
NodeNetworkIssue firing //$NODE
NodeNetworkIssue resolved //$NODE
PodCrashLooping firing scraper/e2e-container-creating/alpine
ProbeFailing firing kube-system/calico-node-9qkw7/calico-node
ProbeFailing resolved kube-system/calico-node-9qkw7/calico-node
VolumeFillingUp firing scraper/$STS/kube-api-access-h7kf4
VolumeFillingUp resolved scraper/$STS/kube-api-access-h7kf4"

test_every_new_event_fires_and_resolves_once() {
	start_replay --scenario "$TMP/incident" || return
	start_pipeline
	wait_polls || return
	step # the incident: 11 firing, the 4 rising counters resolve while it holds
	wait_for_lines "$TMP/events.out" '"state":"firing"' 30 12 || return
	wait_for_lines "$TMP/events.out" '"state":"resolved"' 30 4 || return
	wait_polls || return
	step # recovery
	wait_for_lines "$TMP/events.out" '"state":"resolved"' 30 11
	wait_polls # a few more polls: nothing else may arrive
	event_lines "$TMP/events.out" >"$TMP/got"
	echo "$WANT" >"$TMP/want"
	diff "$TMP/want" "$TMP/got" >"$TMP/diff"
	rc=$?
	assertEquals "events differ (want -, got +): $(cat "$TMP/diff")" 0 "$rc"
	# each resolved event states the value now, not the firing message again
	grep '"state":"resolved"' "$TMP/events.out" | jq -r .message >"$TMP/resolved.txt"
	assertNotContains "$(cat "$TMP/resolved.txt")" "cleared:"
	assertContains "$(cat "$TMP/resolved.txt")" "is valid for"
	assertContains "$(grep KubeletEvictions "$TMP/events.out" | head -1)" \
		"allocatableMemory.available"
	assertContains "$(grep ProbeFailing "$TMP/events.out" | head -1)" "Liveness probe failing"
}

. shunit2
