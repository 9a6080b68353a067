#!/bin/bash
# The divergence events end to end: kubelet-replay serves the kubelet's view
# and apiserver-replay the API server's, both from scenario steps built from
# the real v1.34 capture, through collector-pods, collector-healthz,
# collector-summary and collector-apiserver -> analyzer -> sink-stdout under
# a private s6-svscan (plain, then the ASan+UBSan build when it is built):
#   step 0  both views agree                       -> no divergence event
#   step 1  an orphan pod (the kubelet's only), an unadmitted one (the
#           API's only), coredns restarted by the kubelet's count only,
#           the Lease 5 minutes old while /healthz passes, and the API's
#           MemoryPressure=True against the kubelet's 14 GiB available
#                                                  -> exactly those 5 fire
#   step 2  the views converge                     -> exactly those 5 resolve
# The grace periods are shortened with --set (KubeletAPIDivergence.for=3s,
# NodeConditionMismatch.threshold=3); the Lease keeps the default 40 s.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apiserver_lib.sh"

NODE=$API_NODE
COLLECTORS="collector-pods collector-healthz collector-summary collector-apiserver"
TYPES='KubeletAPIDivergence|NodeStatusStale|NodeConditionMismatch'
ORPHAN=orphan-7d4b9
UNADMITTED=unadmitted-5c2f1
SET="KubeletAPIDivergence.for=3s,NodeConditionMismatch.threshold=3,CollectorDown.enabled=false"

oneTimeSetUp() { nro_tmpdir; build_scenarios "$TMP/kubelet" "$TMP/api"; }
oneTimeTearDown() { [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"; }

tearDown() {
	scan_down
	api_stop
}

# ---- the two views, from the capture ----

iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# lease RENEWTIME: the Lease as renewed then
lease() { jq --arg t "$1" '.spec.renewTime = $t' "$API_DATA/lease.json"; }

build_scenarios() {
	k=$1 a=$2 pods=$FIXTURES/v1.34/pods.json
	mkdir -p "$k/step-000" "$k/step-001" "$k/step-002" "$a/step-000" "$a/step-001" "$a/step-002"
	# the orphan: kindnet's twin under another name and UID; the unadmitted
	# pod: bound here, Pending, no container has a status yet
	jq --arg n "$ORPHAN" '.items[] | select(.metadata.name == "kindnet-zqk2n")
		| .metadata.name = $n | .metadata.uid = "0f1e2d3c-0000-4000-8000-00000000a001"' \
		"$pods" >"$TMP/orphan.json"
	jq --arg n "$UNADMITTED" '.items[] | select(.metadata.name == "e2e-statefulset-1")
		| .metadata.name = $n | .metadata.uid = "0f1e2d3c-0000-4000-8000-00000000a002"
		| .status = {phase: "Pending", qosClass: "BestEffort"}' "$pods" >"$TMP/unadmitted.json"
	restarted='(.items[] | select(.metadata.name | startswith("coredns")) | .status.containerStatuses[0].restartCount) = 1'
	with() { jq --slurpfile p "$1" '.items += $p' "$2"; }

	# the kubelet: as captured, then the orphan and coredns's restart, then the
	# unadmitted pod admitted too
	jq . "$pods" >"$k/step-000/pods.json"
	cp "$FIXTURES/v1.34/stats_summary.json" "$k/step-000/"
	with "$TMP/orphan.json" "$pods" | jq "$restarted" >"$k/step-001/pods.json"
	with "$TMP/unadmitted.json" "$k/step-001/pods.json" >"$k/step-002/pods.json"

	# the API server: as captured with a Lease just renewed (renewTime an
	# hour ahead: its age stays 0 for the whole run); then the unadmitted
	# pod, a Lease five minutes old and MemoryPressure=True; then both pods,
	# coredns's restart, a fresh Lease and no pressure
	now=$(date +%s)
	jq . "$pods" >"$a/step-000/pods.json"
	cp "$API_DATA/node.json" "$a/step-000/"
	lease "$(iso $((now + 3600)))" >"$a/step-000/lease.json"
	with "$TMP/unadmitted.json" "$pods" >"$a/step-001/pods.json"
	jq '(.status.conditions[] | select(.type == "MemoryPressure") | .status) = "True"' \
		"$API_DATA/node.json" >"$a/step-001/node.json"
	lease "$(iso $((now - 300)))" >"$a/step-001/lease.json"
	with "$TMP/orphan.json" "$a/step-001/pods.json" | jq "$restarted" >"$a/step-002/pods.json"
	cp "$API_DATA/node.json" "$a/step-002/"
	lease "$(iso $((now + 3600)))" >"$a/step-002/lease.json"
}

# ---- the pipeline ----

start_pipeline() { # BIN
	SCAN=$TMP/svc
	rm -rf "$SCAN" "$TMP/run" "$TMP/log"
	mkdir -p "$SCAN/.env" "$TMP/log"
	for s in analyzer sink-stdout $COLLECTORS; do cp -R "$TOP/svc/$s" "$SCAN/$s"; done
	rm -rf "$SCAN/sink-stdout/log" "$SCAN/collector-apiserver/down"
	echo "$1" >"$SCAN/.env/NRO_BIN"
	echo "$TMP/run" >"$SCAN/.env/NRO_RUN_DIR"
	echo "$TMP/log" >"$SCAN/.env/NRO_LOG_DIR"
	echo "$REPLAY_URL" >"$SCAN/.env/NRO_KUBELET_URL"
	echo "$NODE" >"$SCAN/.env/NRO_NODE_NAME"
	echo 1s >"$SCAN/.env/NRO_INTERVAL"
	echo json >"$SCAN/.env/NRO_FORMAT"
	echo 8388608 >"$SCAN/.env/NRO_RING_SIZE"
	echo "$SET" >"$SCAN/.env/NRO_SET"
	mkdir -p "$SCAN/collector-apiserver/env"
	echo 3s >"$SCAN/collector-apiserver/env/NRO_INTERVAL" # its least: 2/5 of it per watch
	echo "$API_URL" >"$SCAN/collector-apiserver/env/NRO_APISERVER_URL"
	echo "$TMP/token" >"$SCAN/collector-apiserver/env/NRO_APISERVER_TOKEN_FILE"
	echo 1 >"$SCAN/collector-apiserver/env/NRO_ALLOW_INSECURE_TOKEN"
	# shellcheck disable=SC2086
	scan_up "$TMP/events.out" analyzer sink-stdout $COLLECTORS
}

# Waits until every collector has polled ${1:-2} times more than now.
# shellcheck disable=SC2086
wait_polls() { wait_ring_polls "${1:-2}" $COLLECTORS; }

# The divergence events sink-stdout wrote: "Type state object detail".
events() {
	grep '^{' "$TMP/events.out" | jq -r --arg t "^($TYPES)\$" 'select(.kind=="event" and (.type|test($t))) |
		"\(.type) \(.state) \(.object.namespace // "")/\(.object.pod // "")/\(.object.container // "")\(.object.name // "") \(.attrs.divergence // .attrs.cause // .attrs.condition // "")"' | sort
}

step_both() {
	curl -fsS -X POST "$REPLAY_URL/replay/step" >/dev/null
	api_step >/dev/null
}

FIRING="KubeletAPIDivergence firing kube-system/coredns-66bc5c9577-d98t2/coredns restarts
KubeletAPIDivergence firing kube-system/$ORPHAN/ orphan
KubeletAPIDivergence firing scraper/$UNADMITTED/ unadmitted
NodeConditionMismatch firing //$NODE MemoryPressure
NodeStatusStale firing //$NODE lease"

divergences() { # BIN
	start_replay --scenario "$TMP/kubelet" || return
	api_start "$TMP/api" || return
	start_pipeline "$1"
	wait_polls || return
	assertEquals "agreeing views: no divergence event" "" "$(events)"

	step_both # the incident
	wait_for_lines "$TMP/events.out" "\"type\":\"($TYPES)\".*\"state\":\"firing\"" 40 5 || return
	assertEquals "each divergence fires" "$FIRING" "$(events)" # once: the end says

	step_both # the views converge
	wait_for_lines "$TMP/events.out" "\"type\":\"($TYPES)\".*\"state\":\"resolved\"" 40 5 || return
	wait_polls 1 || return # a poll of each after the last resolution: nothing more
	assertEquals "each resolves once, nothing else arrives" \
		"$( (echo "$FIRING"; echo "$FIRING" | sed 's/ firing / resolved /') | sort)" "$(events)"

	msgs=$(grep '^{' "$TMP/events.out" | jq -r 'select(.kind=="event" and .state=="firing") | .message')
	assertContains "the orphan names the sides" "$msgs" \
		"pod kube-system/$ORPHAN is orphaned: the kubelet runs it (phase Running) but the API server does not list it"
	assertContains "the restarts name both counts" "$msgs" \
		"the kubelet counts 1 restarts, the API server 0"
	assertContains "the Lease's age" "$msgs" "its Lease in kube-node-lease was last renewed "
	assertContains "the pressure names the API's claim" "$msgs" \
		"the API server says MemoryPressure=True but the kubelet's own figures show no eviction-level pressure"
	# the grace periods held: the mismatch fired after 3 s of disagreement,
	# the stale Lease with its age over 40 s
	assertEquals "mismatch held its grace" true "$(grep '^{' "$TMP/events.out" |
		jq -s '[.[] | select(.type=="NodeConditionMismatch" and .state=="firing")][0] | .value >= 3 and .threshold == 3')"
	assertEquals "lease past 40 s" true "$(grep '^{' "$TMP/events.out" |
		jq -s '[.[] | select(.type=="NodeStatusStale" and .state=="firing")][0] | .value > .threshold and .threshold == 40')"
	san=$(grep -hE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TMP/events.out" "$TMP"/log/*/current 2>/dev/null | head -3)
	assertEquals "no sanitizer report" "" "$san"
}

assertContains() { # MSG HAYSTACK NEEDLE
	case "$2" in
	*"$3"*) ;;
	*) fail "$1: '$3' not in the messages" ;;
	esac
}

test_divergences_fire_and_resolve() { divergences "$BIN"; }

test_divergences_fire_and_resolve_san() {
	[ -x "$TOP/build/san/bin/analyzer" ] || { startSkipping; return; }
	divergences "$TOP/build/san/bin"
}

. shunit2
