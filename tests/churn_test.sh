#!/bin/bash
# Churn: 10,055 pods created and deleted over one run (a kubelet-replay
# scenario of 10 steps of 1,000 + step new pods each, then none), through
# collector-pods and the analyzer over real nng sockets. What the analyzer
# keeps (node_runtime_tracked_objects, from nro_rules_sizes) must follow the
# pod list up and come back to the baseline: counted, not timed. RSS
# figures: bench/churn.sh.
. "$(dirname "$0")/lib.sh"

STEPS=10
PER_STEP=1000

oneTimeSetUp() {
	nro_tmpdir
	python3 "$TOP/tests/churn_pods.py" "$FIXTURES/v1.34/pods.json" "$TMP/churn" "$STEPS" \
		"$PER_STEP"
}
oneTimeTearDown() { [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"; }

tearDown() {
	for p in ${PIDS:-}; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	PIDS=""
	[ -n "${REPLAY_PID:-}" ] && { kill "$REPLAY_PID" 2>/dev/null; wait "$REPLAY_PID" 2>/dev/null; }
	REPLAY_PID=""
}

# The last published size of table $1 (pods, containers, alerts).
tracked() {
	grep '"node_runtime_tracked_objects"' "$TMP/metrics.out" | grep "\"table\":\"$1\"" |
		tail -n 1 | jq -r .value
}

# Waits (bounded, 60s) until table $1 holds $2 entries.
wait_tracked() {
	i=0
	while [ $i -lt 1200 ]; do
		[ "$(tracked "$1")" = "$2" ] && return 0
		sleep 0.05
		i=$((i + 1))
	done
	echo "table $1: $(tracked "$1"), never $2" >&2
	return 1
}

step() { curl -fsS -X POST "$REPLAY_URL/replay/step" >/dev/null; }

test_ten_thousand_pods_come_and_go() {
	start_replay --scenario "$TMP/churn" || return
	export NRO_RUN_DIR=$TMP/run NRO_KUBELET_URL=$REPLAY_URL NRO_NODE_NAME=n1
	"$BIN/sink-stdout" --metrics -f json >"$TMP/metrics.out" 2>"$TMP/sink.err" &
	PIDS="$!"
	"$BIN/collector-pods" --interval 200ms 2>"$TMP/c.err" &
	PIDS="$PIDS $!"
	"$BIN/analyzer" --metrics-interval 200ms 2>"$TMP/a.err" &
	PIDS="$PIDS $!"
	unset NRO_RUN_DIR NRO_KUBELET_URL NRO_NODE_NAME
	wait_tracked pods 0 || fail "no baseline: $(tail -2 "$TMP/a.err")"
	base_alerts=$(tracked alerts)
	s=1
	while [ $s -le $STEPS ]; do
		step
		# all of this step's pods and containers kept, the last step's gone
		wait_tracked pods $((PER_STEP + s)) || fail "step $s: pods"
		wait_tracked containers $((PER_STEP + s)) || fail "step $s: containers"
		s=$((s + 1))
	done
	step # none left
	wait_tracked pods 0
	assertTrue "pods back to the baseline" $?
	wait_tracked containers 0
	assertTrue "containers back to the baseline" $?
	assertEquals "alerts back to the baseline" "$base_alerts" "$(tracked alerts)"
	assertNotContains "nothing dropped" "$(cat "$TMP/metrics.out")" fact_store_full
	for p in $PIDS; do kill -0 "$p" 2>/dev/null || fail "a process died"; done
}

. shunit2
