#!/bin/bash
# The whole pipeline, end to end: collectors -> analyzer (state machine,
# ring) -> sink-stdout, as a shell pipe and under a private s6-svscan, with
# processes killed mid-incident, an independent nng subscriber, and a
# kubelet that returns garbage, 500s or hangs.
. "$(dirname "$0")/lib.sh"

SCENARIO=$TOP/deploy/demo/crashloop-oom

oneTimeSetUp() { nro_tmpdir; }
oneTimeTearDown() { [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"; }

tearDown() {
	scan_down
	for p in ${PIDS:-}; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	PIDS=""
	rm -rf "$TMP/run" "$TMP/svc" "$TMP/log"
}

# Events as "TYPE STATE ns/pod/container|name" lines from sink-stdout's JSON.
event_lines() {
	jq -r 'select(.kind=="event") |
		"\(.type) \(.state) \(.object.namespace // "")/\(.object.pod // "")/\(.object.container // "")\(.object.name // "")"' "$1" | sort
}

test_shell_pipe_crashloop_fixture() {
	start_replay --dir "$FIXTURES/gke-crashloop" || return
	"$BIN/collector-pods" --kubelet "$REPLAY_URL" --once -o - 2>"$TMP/c.err" |
		"$BIN/analyzer" -i - -o - 2>"$TMP/a.err" |
		"$BIN/sink-stdout" -i - >"$TMP/pipe.out" 2>"$TMP/s.err"
	assertEquals "pipeline exit" 0 $?
	event_lines "$TMP/pipe.out" >"$TMP/got"
	cat >"$TMP/want" <<-'X'
	ContainerOOMKilled firing kube-system/fluentd-gcp-v2.0.10-9q9t4/fluentd-gcp
	PodCrashLooping firing kube-system/fluentd-gcp-v2.0.10-9q9t4/prometheus-to-sd-exporter
	X
	diff "$TMP/want" "$TMP/got" >"$TMP/diff"
	rc=$?
	assertEquals "events differ: $(cat "$TMP/diff")" 0 "$rc"
	# the text format says the same in readable lines
	"$BIN/collector-pods" --kubelet "$REPLAY_URL" --once -o - 2>/dev/null |
		"$BIN/analyzer" -i - -o - 2>/dev/null | "$BIN/sink-stdout" -i - --format text >"$TMP/text"
	assertContains "$(cat "$TMP/text")" "FIRING"
	assertContains "$(cat "$TMP/text")" "PodCrashLooping"
}

# A private s6-svscan over a copy of svc/ for the incident services.
start_pipeline() {
	SCAN=$TMP/svc
	mkdir -p "$SCAN/.env" "$TMP/log"
	for s in analyzer collector-healthz collector-pods collector-summary sink-stdout; do
		cp -R "$TOP/svc/$s" "$SCAN/$s"
	done
	rm -rf "$SCAN/sink-stdout/log"
	echo "$BIN" >"$SCAN/.env/NRO_BIN"
	echo "$TMP/run" >"$SCAN/.env/NRO_RUN_DIR"
	echo "$TMP/log" >"$SCAN/.env/NRO_LOG_DIR"
	echo "$REPLAY_URL" >"$SCAN/.env/NRO_KUBELET_URL"
	echo 1s >"$SCAN/.env/NRO_INTERVAL"
	echo json >"$SCAN/.env/NRO_FORMAT"
	echo "NodeMemoryPressure.resolve_after=2s" >"$SCAN/.env/NRO_SET"
	scan_up "$TMP/events.out" analyzer sink-stdout collector-healthz collector-pods collector-summary
}

step() { curl -fsS -X POST "$REPLAY_URL/replay/step" >/dev/null; }

BASE_EVENT='PodCrashLooping firing scraper/e2e-container-creating/alpine'
INCIDENT_EVENTS='ContainerOOMKilled firing scraper/e2e-deployment-6fb786454b-mrr5s/compute-pi-digits
ContainerRestarted firing scraper/e2e-deployment-6fb786454b-mrr5s/compute-pi-digits
NodeMemoryPressure firing //datagen-1-34
NodeMemoryPressure resolved //datagen-1-34
PodCrashLooping firing scraper/e2e-container-creating/alpine
PodCrashLooping firing scraper/e2e-deployment-6fb786454b-mrr5s/compute-pi-digits'

run_incident() { # $1: kill-9 the analyzer and the sink mid-incident
	start_replay --scenario "$SCENARIO" || return
	start_pipeline
	wait_for_lines "$TMP/events.out" '"type":"PodCrashLooping"' 30 || return
	step # step 1: OOM kill, crash loop, memory under the eviction threshold
	wait_for_lines "$TMP/events.out" '"type":"NodeMemoryPressure".*"state":"firing"' 30 || return
	if [ "$1" = kill ]; then
		s6-svc -k "$SCAN/sink-stdout"
		s6-svc -k "$SCAN/analyzer"
		svwait_up "$SCAN/analyzer" "$SCAN/sink-stdout"
		# and once more while events are coming
		wait_for_lines "$TMP/events.out" '"type":"ContainerRestarted"' 30
		s6-svc -k "$SCAN/analyzer"
		svwait_up "$SCAN/analyzer"
	fi
	wait_for_lines "$TMP/events.out" '"type":"ContainerRestarted"' 30 || return
	step # step 2: memory recovers
	wait_for_lines "$TMP/events.out" '"type":"NodeMemoryPressure".*"state":"resolved"' 30 || return
	# a few more polls (the ring's head moves on by three polls of the three
	# collectors): nothing else may arrive
	wait_polls 3
	grep '^{' "$TMP/events.out" >"$TMP/events.json"
	event_lines "$TMP/events.json" >"$TMP/got"
	echo "$INCIDENT_EVENTS" >"$TMP/want"
	diff "$TMP/want" "$TMP/got" >"$TMP/diff"
	rc=$?
	assertEquals "events differ (want -, got +): $(cat "$TMP/diff")" 0 "$rc"
	# in seq order (events of one record share its seq): nothing replayed
	jq -r .seq "$TMP/events.json" >"$TMP/seqs"
	sort -n -c "$TMP/seqs" 2>/dev/null
	rc=$?
	assertEquals "seqs out of order: $(tr '\n' ' ' <"$TMP/seqs")" 0 "$rc"
}

# Waits (bounded) until the ring holds about $1 more polls of the three
# collectors: events late by a poll would show by then.
wait_polls() {
	head0=$(ring_head)
	i=0
	while [ $i -lt 400 ]; do
		[ "$(ring_head)" -ge $((head0 + $1 * 3)) ] && return 0
		sleep 0.05
		i=$((i + 1))
	done
	fail "the ring's head stayed at $(ring_head)"
	return 1
}
ring_head() {
	h=$(python3 "$TOP/tests/ring_read.py" --info "$TMP/run/ring" 2>/dev/null | awk '{print $8}')
	echo "${h:-0}"
}

test_scripted_incident_under_s6() {
	run_incident no
}

test_kill9_analyzer_and_sink_mid_incident() {
	run_incident kill
	# the sink said nothing about lost records
	assertNotContains "$(cat "$TMP/events.out")" "lost"
}

test_nngcat_receives_events() {
	start_replay --scenario "$SCENARIO" || return
	start_pipeline
	# events and the collectors' health (a record every poll: the proof that
	# nngcat is connected before the incident starts, whatever the load)
	nngcat --sub --dial "ipc://$TMP/run/events.ipc" --subscribe E --subscribe H --quoted \
		--recv-timeout 40 >"$TMP/nngcat.out" 2>&1 &
	PIDS="$!"
	wait_for_lines "$TMP/nngcat.out" '^"HNRO' 30 || return
	wait_for_lines "$TMP/events.out" '"type":"PodCrashLooping"' 30
	step # incident
	wait_for_lines "$TMP/events.out" '"type":"NodeMemoryPressure".*"state":"firing"' 30
	step # recovery
	wait_for_lines "$TMP/nngcat.out" 'NodeMemoryPressure' 30
	rc=$?
	assertTrue "nngcat got no NodeMemoryPressure event: $(head -c 300 "$TMP/nngcat.out")" "$rc"
	# every message it got is an event or a health record (kind byte E or
	# H, magic NRO, version 2): the topics filtered out every metric
	assertEquals "" "$(grep -v '^"[EH]NRO\\x02' "$TMP/nngcat.out" | grep . | head -3)"
	assertTrue "event records among them" "grep -q '^\"ENRO' '$TMP/nngcat.out'"
}

test_faulty_kubelet_collector_down_then_recovers() {
	# step 1: pods garbage, summary 500, healthz hangs; step 2: all fine again
	sc=$TMP/faults
	mkdir -p "$sc/base" "$sc/step-000" "$sc/step-001" "$sc/step-002"
	cp "$FIXTURES/v1.34/pods.json" "$FIXTURES/v1.34/stats_summary.json" "$sc/base/"
	: >"$sc/step-000/.keep"
	printf '{"items": [ garbage' >"$sc/step-001/pods.json"
	echo 'internal error' >"$sc/step-001/stats_summary.json"
	echo 500 >"$sc/step-001/stats_summary.json.status"
	echo ok >"$sc/step-001/healthz_verbose.txt"
	echo forever >"$sc/step-001/healthz_verbose.txt.delay"
	cp "$FIXTURES/v1.34/pods.json" "$FIXTURES/v1.34/stats_summary.json" "$sc/step-002/"
	echo ok >"$sc/step-002/healthz_verbose.txt"
	start_replay --scenario "$sc" || return
	export NRO_RUN_DIR=$TMP/run NRO_KUBELET_URL=$REPLAY_URL NRO_INTERVAL=1s NRO_TIMEOUT=1s
	# sinks and collectors first: dialers retry until the analyzer listens
	"$BIN/sink-stdout" --format json >"$TMP/faults.out" 2>"$TMP/sink.err" &
	PIDS="$!"
	for c in collector-healthz collector-pods collector-summary; do
		"$BIN/$c" 2>"$TMP/$c.err" &
		PIDS="$PIDS $!"
	done
	"$BIN/analyzer" --set PodCrashLooping.enabled=false 2>"$TMP/analyzer.err" &
	PIDS="$PIDS $!"
	wait_path "$TMP/run/events.ipc"
	step
	for c in collector-healthz collector-pods collector-summary; do
		wait_for_lines "$TMP/faults.out" "\"type\":\"CollectorDown\".*\"state\":\"firing\".*\"name\":\"$c\"" 30
		assertTrue "CollectorDown did not fire for $c" $?
	done
	# each collector kept running and said what was wrong
	for p in $PIDS; do kill -0 "$p" 2>/dev/null || fail "a process died"; done
	assertContains "$(cat "$TMP/collector-pods.err")" "invalid JSON"
	assertContains "$(cat "$TMP/collector-summary.err")" "500"
	assertContains "$(cat "$TMP/collector-healthz.err")" "timed out"
	step
	for c in collector-healthz collector-pods collector-summary; do
		wait_for_lines "$TMP/faults.out" "\"type\":\"CollectorDown\".*\"state\":\"resolved\".*\"name\":\"$c\"" 30
		rc=$?
		assertTrue "CollectorDown did not resolve for $c; $c said: $(tail -3 "$TMP/$c.err" | tr '\n' '|'); analyzer said: $(tail -5 "$TMP/analyzer.err" | tr '\n' '|')" "$rc"
	done
	unset NRO_RUN_DIR NRO_KUBELET_URL NRO_INTERVAL NRO_TIMEOUT
}

. shunit2
