#!/bin/bash
# collector-pods against kubelet-replay: every pods.json fixture (every
# version, gke-*), decoded with nro-dump and checked against an independent
# reading of the same file with jq (pods, phases, containers, restarts,
# CrashLoopBackOff, OOMKilled, exit codes, readiness, requests/limits, node
# name); a synthetic PodList for Evicted pods, init containers, quantity
# forms and skipped entries; faults (garbage, truncated JSON, truncated
# transfer, HTTP 500, timeout, cap, not a PodList, unreachable).
# Runs the plain build and, when built, the ASan+UBSan build.
#
#   bash tests/collectors_pods_test.sh
#   NRO_BIN=build/san/bin bash tests/collectors_pods_test.sh

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/jsoncollect_lib.sh"

oneTimeSetUp() {
	nro_tmpdir
	FILES=$(ls "$FIXTURES"/*/pods.json 2>/dev/null)
}
oneTimeTearDown() { jc_stop_replay; rm -rf "$TMP"; }
tearDown() { jc_stop_replay; }

# The jq side: a quantity as a number, by its own (simpler) rules.
JQ_Q='def q: if test("m$") then (.[:-1] | tonumber) / 1000
	elif test("Ki$") then (.[:-2] | tonumber) * 1024
	elif test("Mi$") then (.[:-2] | tonumber) * 1048576
	elif test("Gi$") then (.[:-2] | tonumber) * 1073741824
	elif test("k$") then (.[:-1] | tonumber) * 1000
	elif test("M$") then (.[:-1] | tonumber) * 1000000
	elif test("G$") then (.[:-1] | tonumber) * 1000000000
	else tonumber end;'

# Every container status with its pod: "ns/pod/container<TAB>init<TAB>json".
JQ_CS='.items[] | . as $p | ((.status.containerStatuses // [])[] | [., false]),
	((.status.initContainerStatuses // [])[] | [., true]) |
	{p: $p, c: .[0], init: .[1]} | .id = "\(.p.metadata.namespace)/\(.p.metadata.name)/\(.c.name)"'

check_fixture() { # B FILE
	b=$1
	f=$2
	what="$(flavour "$b") $(basename "$(dirname "$f")")"
	collect "$b" collector-pods
	assertEquals "$what: exit status ($(head -c 300 "$ERR"))" 0 "$RC"
	assertEquals "$what: health" ok "$(health_status)"
	assertEquals "$what: health bytes" "$(stat -c %s "$f")" "$(jl 'select(.kind=="health") | .bytes')"
	assertEquals "$what: node name from spec.nodeName" \
		"$(jq -r '[.items[].spec.nodeName // empty][0]' "$f")" \
		"$(jl '.node' | sort -u)"
	assertEquals "$what: pods" "$(jq '.items | length' "$f")" \
		"$(jl 'select(.key=="pod.phase") | 1' | wc -l)"
	assertEquals "$what: each pod's phase" \
		"$(jq -r '.items[] | "\(.metadata.namespace)/\(.metadata.name) \(.status.phase) \(.metadata.uid)"' "$f" | sort)" \
		"$(jl 'select(.key=="pod.phase") | "\(.object.namespace)/\(.object.pod) \(.value) \(.attrs["k8s.pod.uid"])"' | sort)"
	assertEquals "$what: phase numbers" \
		"$(jq -r '.items[] | {"Pending":1,"Running":2,"Succeeded":3,"Failed":4}[.status.phase] // 5' "$f" | sort | uniq -c)" \
		"$(jl 'select(.name=="k8s.pod.phase") | .value' | sort | uniq -c)"
	assertEquals "$what: qos classes" \
		"$(jq -r '.items[] | .status.qosClass // "-"' "$f" | sort | uniq -c)" \
		"$(jl 'select(.key=="pod.phase") | .attrs.qos // "-"' | sort | uniq -c)"
	assertEquals "$what: ready pods" \
		"$(jq '[.items[].status.conditions // [] | .[] | select(.type=="Ready" and .status=="True")] | length' "$f")" \
		"$(jl 'select(.key=="pod.ready" and .value=="True") | 1' | wc -l)"
	assertEquals "$what: containers (incl. init)" \
		"$(jq "[$JQ_CS] | length" "$f")" \
		"$(jl 'select(.key=="container.restarts") | 1' | wc -l)"
	assertEquals "$what: restart counts summed" \
		"$(jq "[$JQ_CS | .c.restartCount] | add // 0" "$f")" \
		"$(jq -s '[.[] | select(.key=="container.restarts") | .num] | add // 0' "$OUT")"
	assertEquals "$what: restart metrics per container" \
		"$(jq -r "$JQ_CS | \"\(.id) \(.c.restartCount) \(.init)\"" "$f" | sort)" \
		"$(jl 'select(.name=="k8s.container.restarts") | "\(.attrs["k8s.namespace.name"])/\(.attrs["k8s.pod.name"])/\(.attrs["k8s.container.name"]) \(.value) \(.attrs.init == "true")"' | sort)"
	assertEquals "$what: ready containers" \
		"$(jq -r "$JQ_CS | \"\(.id) \(.c.ready)\"" "$f" | sort)" \
		"$(jl 'select(.key=="container.ready") | "\(.object.namespace)/\(.object.pod)/\(.object.container) \(.value)"' | sort)"
	assertEquals "$what: current states and reasons" \
		"$(jq -r "$JQ_CS | .c.state | to_entries[0] | \"\(.key) \(.value.reason // \"-\")\"" "$f" | sort | uniq -c)" \
		"$(jl 'select(.key=="container.state") | "\(.value) \(.attrs.reason // "-")"' | sort | uniq -c)"
	assertEquals "$what: CrashLoopBackOff containers" \
		"$(jq -r "$JQ_CS | select(.c.state.waiting.reason==\"CrashLoopBackOff\") | .id" "$f" | sort)" \
		"$(jl 'select(.key=="container.state" and .value=="waiting" and .attrs.reason=="CrashLoopBackOff") | "\(.object.namespace)/\(.object.pod)/\(.object.container)"' | sort)"
	assertEquals "$what: terminated containers, exit codes, finish times" \
		"$(jq -r "$JQ_CS | select(.c.state.terminated) | \"\(.id) \(.c.state.terminated.exitCode) \(.c.state.terminated.finishedAt)\"" "$f" | sort)" \
		"$(jl 'select(.key=="container.state" and .value=="terminated") | "\(.object.namespace)/\(.object.pod)/\(.object.container) \(.num) \(.since | sub("\\.000Z$"; "Z"))"' | sort)"
	assertEquals "$what: last terminations" \
		"$(jq -r "$JQ_CS | select(.c.lastState.terminated) | \"\(.id) \(.c.lastState.terminated.reason) \(.c.lastState.terminated.exitCode) \(.c.lastState.terminated.finishedAt)\"" "$f" | sort)" \
		"$(jl 'select(.key=="container.last_termination") | "\(.object.namespace)/\(.object.pod)/\(.object.container) \(.value) \(.num) \(.since | sub("\\.000Z$"; "Z"))"' | sort)"
	assertEquals "$what: OOMKilled last terminations" \
		"$(jq -r "$JQ_CS | select(.c.lastState.terminated.reason==\"OOMKilled\") | .id" "$f" | sort)" \
		"$(jl 'select(.key=="container.last_termination" and .value=="OOMKilled") | "\(.object.namespace)/\(.object.pod)/\(.object.container)"' | sort)"
	assertEquals "$what: requests and limits" \
		"$(jq -r "$JQ_Q .items[] | . as \$p | (.spec.containers // [])[], (.spec.initContainers // [])[] |
			. as \$c | (.resources.requests // {} | to_entries[] | [\"request\", .]),
				    (.resources.limits // {} | to_entries[] | [\"limit\", .]) |
			select(.[1].key == \"cpu\" or .[1].key == \"memory\" or .[1].key == \"ephemeral-storage\") |
			\"\(\$p.metadata.namespace)/\(\$p.metadata.name)/\(\$c.name) k8s.container.\(.[1].key | sub(\"-\"; \"_\"))_\(.[0]) \(.[1].value | q)\"" "$f" | sort)" \
		"$(jl 'select(.kind=="metric" and (.name | test("_(request|limit)$"))) | "\(.attrs["k8s.namespace.name"])/\(.attrs["k8s.pod.name"])/\(.attrs["k8s.container.name"]) \(.name) \(.value)"' | sort)"
	order=$(jl 'select(.kind=="state" or .kind=="metric") | .kind' | uniq | tr '\n' ' ')
	assertEquals "$what: every state before every metric" "state metric " "$order"
}

test_every_fixture_every_build() {
	[ -n "$FILES" ] || { fail "no pods.json under $FIXTURES"; return; }
	n=0
	for f in $FILES; do
		jc_replay "$(dirname "$f")" || return
		for b in $BINS; do
			check_fixture "$b" "$f"
		done
		jc_stop_replay
		n=$((n + 1))
	done
	assertTrue "at least the 9 versions and 2 gke fixtures ($n)" "[ $n -ge 11 ]"
}

# Read off gke-crashloop/pods.json by hand, not through jq.
test_crashloop_fixture_by_hand() {
	jc_replay "$FIXTURES/gke-crashloop" || return
	collect "$BIN" collector-pods
	assertEquals "node" gke-haissam-default-pool-be5066f1-wnvn "$(jl '.node' | sort -u)"
	assertEquals "crash looping container" \
		"kube-system/fluentd-gcp-v2.0.10-9q9t4/prometheus-to-sd-exporter waiting CrashLoopBackOff" \
		"$(jl 'select(.key=="container.state" and .attrs.reason=="CrashLoopBackOff") | "\(.object.namespace)/\(.object.pod)/\(.object.container) \(.value) \(.attrs.reason)"')"
	assertEquals "OOMKilled last termination" \
		"fluentd-gcp OOMKilled 2 2018-02-13T16:05:48.000Z 1" \
		"$(jl 'select(.key=="container.last_termination") | "\(.object.container) \(.value) \(.num) \(.since)"') $(jl 'select(.key=="container.restarts" and .object.container=="fluentd-gcp" and .num > 0) | .num')"
	assertEquals "the pending pod without container statuses" "Pending 1 Unknown" \
		"$(jl 'select(.object.pod=="kube-proxy-gke-haissam-default-pool-be5066f1-wnvn" and (.key=="pod.phase" or .key=="pod.ready")) | "\(.value) \(.num)"' | tr '\n' ' ' | cut -d' ' -f1,2,3)"
	assertEquals "its request from spec" "0.1" \
		"$(jl 'select(.name=="k8s.container.cpu_request" and .attrs["k8s.container.name"]=="kube-proxy") | .value')"
	collect "$BIN" collector-pods --node n-flag
	assertEquals "--node wins over spec.nodeName" "n-flag" "$(jl '.node' | sort -u)"
	assertEquals "--node in the attributes too" "n-flag" \
		"$(jl '(.attrs["k8s.node.name"] // empty)' | sort -u)"
}

# A PodList of our own: Evicted, init containers, quantity forms, odd entries.
write_synthetic() {
	long=$(head -c 3000 /dev/zero | tr '\0' x)
	cat >"$FX/pods.json" <<EOF
{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[
 {"metadata":{"name":"evicted-1","namespace":"ns1","uid":"u-1"},
  "spec":{"containers":[{"name":"app","resources":{"requests":{"cpu":"0.5","memory":"1e3","ephemeral-storage":"2Gi"},
     "limits":{"cpu":"2k","memory":"129M","nvidia.com/gpu":"1"}}}]},
  "status":{"phase":"Failed","reason":"Evicted","message":"The node was low on resource: memory.","startTime":"2026-01-02T03:04:05Z",
   "qosClass":"Burstable","containerStatuses":[{"name":"app","ready":false,"restartCount":0,
     "state":{"terminated":{"exitCode":137,"reason":"OOMKilled","startedAt":"2026-01-02T03:04:06Z","finishedAt":"2026-01-02T03:05:00.250Z"}}}]}},
 {"metadata":{"name":"with-init","namespace":"ns1","uid":"u-2"},
  "spec":{"nodeName":"syn-node","initContainers":[{"name":"setup","resources":{"limits":{"memory":"1.5Gi","cpu":"1"}}}],
     "containers":[{"name":"main","resources":{"requests":{"cpu":"12 apples","memory":"1G"}}}]},
  "status":{"phase":"Pending","conditions":[{"type":"Ready","status":"False","reason":"ContainersNotReady","lastTransitionTime":"2026-01-02T03:04:05Z"}],
   "initContainerStatuses":[{"name":"setup","ready":false,"restartCount":4,
     "state":{"waiting":{"reason":"CrashLoopBackOff","message":"back-off \u00e9 \"quoted\"\nsecond line"}},
     "lastState":{"terminated":{"exitCode":1,"reason":"Error","finishedAt":"2026-01-02T03:06:00Z"}}}],
   "containerStatuses":[{"name":"main","ready":false,"restartCount":0,"state":{"waiting":{"reason":"PodInitializing","message":"$long"}}}]}},
 {"metadata":{"namespace":"ns1"},"spec":{},"status":{"phase":"Running"}},
 {"metadata":{"name":"ok","namespace":"ns2","uid":"u-3"},"spec":{"nodeName":"syn-node"},
  "status":{"phase":"Running","conditions":[{"type":"Ready","status":"True","lastTransitionTime":"2026-01-02T03:04:05Z"}],
   "containerStatuses":[{"name":"c","ready":true,"restartCount":2,"state":{"running":{"startedAt":"2026-01-02T03:04:05Z"}},"lastState":{}}]}}
]}
EOF
}

test_synthetic_pod_list() {
	fx synthetic
	write_synthetic
	jc_replay "$FX" || return
	for b in $BINS; do
		w=$(flavour "$b")
		collect "$b" collector-pods
		assertEquals "$w: exit status" 0 "$RC"
		assertEquals "$w: node from the first pod that has one" syn-node "$(jl '.node' | sort -u)"
		assertEquals "$w: degraded by the skipped pod and quantity" degraded "$(health_status)"
		assertContains "$w: health message" "$(jl 'select(.kind=="health") | .message')" \
			"2 entries skipped (first: a pod without a usable metadata.namespace and name)"
		assertEquals "$w: evicted" "Failed 4 Evicted The node was low on resource: memory. Burstable 2026-01-02T03:04:05.000Z" \
			"$(jl 'select(.key=="pod.phase" and .object.pod=="evicted-1") | "\(.value) \(.num) \(.attrs.reason) \(.attrs.message) \(.attrs.qos) \(.since)"')"
		assertEquals "$w: terminated OOMKilled now" "terminated 137 OOMKilled 2026-01-02T03:05:00.250Z" \
			"$(jl 'select(.key=="container.state" and .object.pod=="evicted-1") | "\(.value) \(.num) \(.attrs.reason) \(.since)"')"
		assertEquals "$w: quantities" \
			"k8s.container.cpu_limit 2000 {cores}
k8s.container.cpu_request 0.5 {cores}
k8s.container.ephemeral_storage_request 2147483648 By
k8s.container.memory_limit 129000000 By
k8s.container.memory_request 1000 By" \
			"$(jl 'select(.kind=="metric" and .attrs["k8s.pod.name"]=="evicted-1" and (.name | test("_(request|limit)$"))) | "\(.name) \(.value) \(.unit)"' | sort)"
		assertEquals "$w: init container limits, bad request skipped, good one kept" \
			"main k8s.container.memory_request 1000000000 -
setup k8s.container.cpu_limit 1 true
setup k8s.container.memory_limit 1610612736 true" \
			"$(jl 'select(.kind=="metric" and .attrs["k8s.pod.name"]=="with-init" and (.name | test("_(request|limit)$"))) | "\(.attrs["k8s.container.name"]) \(.name) \(.value) \(.attrs.init // "-")"' | sort)"
		assertEquals "$w: init container state" "waiting CrashLoopBackOff true" \
			"$(jl 'select(.key=="container.state" and .object.container=="setup") | "\(.value) \(.attrs.reason) \(.attrs.init)"')"
		assertEquals "$w: escapes decoded" "back-off é \"quoted\"
second line" "$(jl 'select(.key=="container.state" and .object.container=="setup") | .attrs.message')"
		assertEquals "$w: long message cut to 1023 bytes" 1023 \
			"$(jl 'select(.key=="container.state" and .object.container=="main") | .attrs.message | length')"
		assertEquals "$w: init restarts and last termination" "4 true / Error 1 2026-01-02T03:06:00.000Z true" \
			"$(jl 'select(.key=="container.restarts" and .object.container=="setup") | "\(.num) \(.attrs.init)"') / $(jl 'select(.key=="container.last_termination") | "\(.value) \(.num) \(.since) \(.attrs.init)"')"
		assertEquals "$w: readiness" "evicted-1 Unknown 0
ok True 1
with-init False 0" \
			"$(jl 'select(.key=="pod.ready") | "\(.object.pod) \(.value) \(.num)"' | sort)"
		assertEquals "$w: pods published" 3 "$(jl 'select(.name=="k8s.pod.phase") | 1' | wc -l)"
	done
}

# ---- faults -----------------------------------------------------------------

test_faults() {
	src="$FIXTURES/v1.34/pods.json"
	fx garbage
	printf 'this is not JSON at all\n' >"$FX/pods.json"
	fx cut
	head -c 5000 "$src" >"$FX/pods.json"
	fx notlist
	printf '[1, 2, 3]' >"$FX/pods.json"
	fx noitems
	printf '{"kind":"Status","message":"x"}' >"$FX/pods.json"
	fx xfer
	cp "$src" "$FX/pods.json"
	echo 3000 >"$FX/pods.json.truncate"
	fx e500
	printf '{"kind":"Status","status":"Failure","message":"internal error"}' >"$FX/pods.json"
	echo 500 >"$FX/pods.json.status"
	fx slow
	cp "$src" "$FX/pods.json"
	echo 10s >"$FX/pods.json.delay"
	fx big
	cp "$src" "$FX/pods.json"
	fx empty
	printf '{"kind":"PodList","apiVersion":"v1","metadata":{},"items":null}' >"$FX/pods.json"
	for b in $BINS; do
		w=$(flavour "$b")
		jc_replay "$TMP/fx/garbage" || return
		collect "$b" collector-pods
		assert_failed parse 102 200 "$w garbage"
		assertContains "$w garbage: message" "$(jl 'select(.kind=="error") | .message')" \
			"GET /pods: invalid JSON (invalid JSON) in a 24-byte body"
		jc_stop_replay

		jc_replay "$TMP/fx/cut" || return
		collect "$b" collector-pods
		assert_failed parse 102 200 "$w truncated JSON"
		assertContains "$w truncated JSON: message" "$(jl 'select(.kind=="error") | .message')" \
			"invalid JSON (truncated) in a 5000-byte body"
		jc_stop_replay

		jc_replay "$TMP/fx/notlist" || return
		collect "$b" collector-pods
		assert_failed parse 102 200 "$w not an object"
		assertContains "$w not an object: message" "$(jl 'select(.kind=="error") | .message')" "not a PodList"
		jc_stop_replay

		jc_replay "$TMP/fx/noitems" || return
		collect "$b" collector-pods
		assert_failed parse 102 200 "$w no items"
		jc_stop_replay

		jc_replay "$TMP/fx/xfer" || return
		collect "$b" collector-pods
		assert_failed truncated 111 200 "$w transfer cut short"
		jc_stop_replay

		jc_replay "$TMP/fx/e500" || return
		collect "$b" collector-pods
		assert_failed http 111 500 "$w HTTP 500"
		assertContains "$w 500: message" "$(jl 'select(.kind=="error") | .message')" "internal error"
		jc_stop_replay

		jc_replay "$TMP/fx/slow" || return
		collect "$b" collector-pods --timeout 300ms
		assert_failed timeout 111 0 "$w timeout"
		jc_stop_replay

		jc_replay "$TMP/fx/big" || return
		collect "$b" collector-pods --max-body 64K
		assert_failed too_large 100 200 "$w past --max-body"
		assertContains "$w cap: message" "$(jl 'select(.kind=="error") | .message')" "cap (--max-body)"
		NRO_MAX_BODY=1M collect "$b" collector-pods
		assertEquals "$w under NRO_MAX_BODY=1M" ok "$(health_status)"
		jc_stop_replay

		jc_replay "$TMP/fx/empty" || return
		collect "$b" collector-pods --node n0
		assertEquals "$w items null: exit" 0 "$RC"
		assertEquals "$w items null: health" ok "$(health_status)"
		assertEquals "$w items null: nothing else" "health" "$(jl '.kind' | tr '\n' ' ' | sed 's/ $//')"
		jc_stop_replay

		URL=http://127.0.0.1:1
		collect "$b" collector-pods
		assert_failed connect 111 0 "$w unreachable"
	done
}

test_bad_max_body_is_usage_error() {
	"$BIN/collector-pods" --max-body 12X --once -o - >/dev/null 2>"$TMP/err"
	assertEquals 100 $?
	assertContains "$(cat "$TMP/err")" "--max-body"
}

# A huge body: past the default 64 MiB cap, sent chunked (no Content-Length).
test_default_cap() {
	fx huge
	cp "$FIXTURES/v1.34/pods.json" "$FX/pods.json"
	echo 540 >"$FX/pods.json.repeat" # 540 x 126556 bytes = 65 MiB
	echo yes >"$FX/pods.json.chunked"
	jc_replay "$FX" || return
	collect "$BIN" collector-pods
	assert_failed too_large 100 200 "65 MiB body"
	assertContains "$(jl 'select(.kind=="error") | .message')" "body larger than 64 MiB cap"
}

# Valid JSON of the wrong types everywhere: never a crash (ASan/UBSan too).
test_wrong_types_never_crash() {
	chaos_check collector-pods "$FIXTURES/v1.34/pods.json"
}

. shunit2
