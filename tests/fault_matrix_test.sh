#!/bin/bash
# The fault matrix (tests/fault_matrix.tsv): every row of the table is one
# test_<row> here, and a row without its test fails the suite. Processes are
# killed under a private s6-svscan during a scripted incident against
# kubelet-replay; kubelet faults come from kubelet-replay's sidecar files and
# a small Python server (broken chunked framing); the run directory and a
# full tmpfs are checked against the real tools.
. "$(dirname "$0")/lib.sh"

TABLE=$TOP/tests/fault_matrix.tsv
SCENARIO=$TOP/deploy/demo/crashloop-oom

oneTimeSetUp() {
	nro_tmpdir
	printf 'good\n' >"$TMP/tok-good"
	printf 'wrong\n' >"$TMP/tok-wrong"
}
oneTimeTearDown() { [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"; }

tearDown() {
	[ -n "${SCAN:-}" ] && { s6-svscanctl -t "$SCAN" 2>/dev/null; wait "$SCAN_PID" 2>/dev/null; }
	SCAN=""
	[ -n "${REPLAY_PID:-}" ] && { kill "$REPLAY_PID" 2>/dev/null; wait "$REPLAY_PID" 2>/dev/null; }
	REPLAY_PID=""
	rm -rf "$TMP/run" "$TMP/svc" "$TMP/log" "$TMP/fx"
}

# Every row of the table has its test; the tests are made from the table.
rows() { grep -v '^#' "$TABLE" | cut -f1 | grep .; }
for r in $(rows); do
	eval "test_$r() { row_$r; }"
done

# shunit2 finds only the functions written out in this file: the table's
# are added here
suite() {
	suite_addTest test_every_row_has_a_test
	for r in $(rows); do suite_addTest "test_$r"; done
}

test_every_row_has_a_test() {
	for r in $(rows); do
		[ "$(type -t "row_$r")" = function ] || fail "row $r of fault_matrix.tsv has no row_$r"
	done
	assertTrue "the table has rows" "[ $(rows | wc -l) -ge 10 ]"
}

# ---- kill -9 under s6 during an incident ------------------------------------

SERVICES="analyzer collector-healthz collector-pods collector-summary sink-stdout"

start_pipeline() {
	SCAN=$TMP/svc
	mkdir -p "$SCAN/.env" "$TMP/log"
	for s in $SERVICES; do cp -R "$TOP/svc/$s" "$SCAN/$s"; done
	rm -rf "$SCAN/sink-stdout/log"
	echo "$BIN" >"$SCAN/.env/NRO_BIN"
	echo "$TMP/run" >"$SCAN/.env/NRO_RUN_DIR"
	echo "$TMP/log" >"$SCAN/.env/NRO_LOG_DIR"
	echo "$REPLAY_URL" >"$SCAN/.env/NRO_KUBELET_URL"
	echo 1s >"$SCAN/.env/NRO_INTERVAL"
	echo json >"$SCAN/.env/NRO_FORMAT"
	echo "NodeMemoryPressure.resolve_after=2s" >"$SCAN/.env/NRO_SET"
	s6-svscan "$SCAN" >"$TMP/events.out" 2>&1 &
	SCAN_PID=$!
	wait_path "$SCAN/sink-stdout/supervise/status"
	for s in $SERVICES; do
		svwait_up "$SCAN/$s" || fail "$s did not become ready"
	done
}

step() { curl -fsS -X POST "$REPLAY_URL/replay/step" >/dev/null; }

event_lines() {
	jq -r 'select(.kind=="event") |
		"\(.type) \(.state) \(.object.namespace // "")/\(.object.pod // "")/\(.object.container // "")\(.object.name // "")"' "$1" | sort
}

INCIDENT_EVENTS='ContainerOOMKilled firing scraper/e2e-deployment-6fb786454b-mrr5s/compute-pi-digits
ContainerRestarted firing scraper/e2e-deployment-6fb786454b-mrr5s/compute-pi-digits
NodeMemoryPressure firing //datagen-1-34
NodeMemoryPressure resolved //datagen-1-34
PodCrashLooping firing scraper/e2e-container-creating/alpine
PodCrashLooping firing scraper/e2e-deployment-6fb786454b-mrr5s/compute-pi-digits'

# kill -9 of $1 while the incident is firing; s6 must bring it back (a new
# pid, ready again: s6-svwait, bounded, never a sleep-and-hope)
kill_and_await() {
	before=$(s6-svstat -p "$SCAN/$1")
	s6-svc -k "$SCAN/$1"
	# down first (the kill took), then up and ready again
	s6-svwait -d -t 10000 "$SCAN/$1" 2>/dev/null
	s6-svwait -U -t 10000 "$SCAN/$1"
	assertTrue "$1 was not back up and ready within 10s" $?
	after=$(s6-svstat -p "$SCAN/$1")
	assertNotEquals "$1 was not restarted (same pid)" "$before" "$after"
}

incident_with_kill() {
	start_replay --scenario "$SCENARIO" || return
	start_pipeline
	wait_for_lines "$TMP/events.out" '"type":"PodCrashLooping"' 30 || return
	step # OOM kill, crash loop, memory under the eviction threshold
	wait_for_lines "$TMP/events.out" '"type":"NodeMemoryPressure".*"state":"firing"' 30 || return
	kill_and_await "$1"
	wait_for_lines "$TMP/events.out" '"type":"ContainerRestarted"' 30 || return
	step # memory recovers
	wait_for_lines "$TMP/events.out" '"type":"NodeMemoryPressure".*"state":"resolved"' 30 || return
	# a few more polls of the restarted process: nothing else may arrive
	wait_polls 3
	grep '^{' "$TMP/events.out" >"$TMP/events.json"
	event_lines "$TMP/events.json" >"$TMP/got"
	echo "$INCIDENT_EVENTS" >"$TMP/want"
	diff "$TMP/want" "$TMP/got" >"$TMP/diff"
	_rc=$?
	assertEquals "kill -9 $1: events differ (want -, got +): $(cat "$TMP/diff")" 0 "$_rc"
	jq -r .seq "$TMP/events.json" >"$TMP/seqs"
	sort -n -c "$TMP/seqs" 2>/dev/null
	_rc=$?
	assertEquals "kill -9 $1: seqs out of order: $(tr '\n' ' ' <"$TMP/seqs")" 0 "$_rc"
	assertNotContains "kill -9 $1: the sink reported a loss" "$(cat "$TMP/events.out")" \
		'"lost"'
}

# Waits (bounded) until the ring holds about $1 more polls of the three
# collectors: events late by a poll would show by then.
wait_polls() {
	head0=$(ring_head)
	i=0
	while [ $i -lt 200 ]; do
		[ "$(ring_head)" -ge $((head0 + $1 * 3)) ] && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}
ring_head() {
	h=$(python3 "$TOP/tests/ring_read.py" --info "$TMP/run/ring" 2>/dev/null | awk '{print $8}')
	echo "${h:-0}"
}

row_kill9_collector_pods() { incident_with_kill collector-pods; }
row_kill9_collector_summary() { incident_with_kill collector-summary; }
row_kill9_collector_healthz() { incident_with_kill collector-healthz; }
row_kill9_analyzer() { incident_with_kill analyzer; }
row_kill9_sink_stdout() { incident_with_kill sink-stdout; }

# The analyzer restarted between two polls of collector-pods (pipes on one
# ring, so no timing decides which poll it saw): the restart count that rose
# across its restart is a restart (ContainerRestarted), judged against the
# last poll the ring holds; the crash loop it had announced is not repeated.
row_analyzer_restart_between_polls() {
	start_replay --scenario "$SCENARIO" || return
	mkdir -m 0700 -p "$TMP/run"
	for p in 1 2; do
		[ $p = 2 ] && step
		"$BIN/collector-pods" --once -o - --kubelet "$REPLAY_URL" 2>"$TMP/c$p.err" |
			"$BIN/analyzer" -i - -o - --ring "$TMP/run/ring" 2>"$TMP/a$p.err" |
			"$BIN/sink-stdout" -i - --format json >"$TMP/poll$p.json"
	done
	event_lines "$TMP/poll1.json" >"$TMP/got1"
	assertEquals "first run" "PodCrashLooping firing scraper/e2e-container-creating/alpine" "$(cat "$TMP/got1")"
	event_lines "$TMP/poll2.json" >"$TMP/got"
	printf '%s\n' \
		"ContainerOOMKilled firing scraper/e2e-deployment-6fb786454b-mrr5s/compute-pi-digits" \
		"ContainerRestarted firing scraper/e2e-deployment-6fb786454b-mrr5s/compute-pi-digits" \
		"PodCrashLooping firing scraper/e2e-deployment-6fb786454b-mrr5s/compute-pi-digits" >"$TMP/want"
	diff "$TMP/want" "$TMP/got" >"$TMP/diff"
	_rc=$?
	assertEquals "after the restart (want -, got +): $(cat "$TMP/diff"; cat "$TMP/a2.err")" 0 "$_rc"
}

# ---- the kubelet misbehaving ------------------------------------------------

# One kubelet-replay over a copy of the v1.34 /pods with sidecar $1=$2.
faulty_kubelet() {
	mkdir -p "$TMP/fx"
	cp "$FIXTURES/v1.34/pods.json" "$TMP/fx/"
	[ -n "${1:-}" ] && printf '%s\n' "$2" >"$TMP/fx/pods.json.$1"
	start_replay --dir "$TMP/fx" --token good
}

# One poll of collector-pods: sets RC; its stderr in $TMP/c.err.
poll_once() {
	"$BIN/collector-pods" --once -o - --node n1 --timeout 2s --kubelet "$REPLAY_URL" \
		--token-file "$TMP/tok-good" "$@" >"$TMP/c.out" 2>"$TMP/c.err"
	RC=$?
}

row_kubelet_slow() {
	faulty_kubelet delay 300ms || return
	poll_once
	assertEquals "slow kubelet: $(cat "$TMP/c.err")" 0 "$RC"
	assertTrue "no records written" "[ -s $TMP/c.out ]"
}

row_kubelet_hang() {
	faulty_kubelet delay forever || return
	poll_once
	assertEquals 111 "$RC"
	assertContains "$(cat "$TMP/c.err")" "timed out (--timeout)"
}

row_kubelet_reset() {
	faulty_kubelet truncate 2000 || return
	poll_once
	assertEquals 111 "$RC"
	assertContains "$(cat "$TMP/c.err")" "body truncated after 2000 bytes"
}

row_kubelet_500() {
	faulty_kubelet status 500 || return
	poll_once
	assertEquals 111 "$RC"
	assertContains "$(cat "$TMP/c.err")" "500 Internal Server Error"
}

row_kubelet_401() {
	faulty_kubelet || return
	poll_once --token-file "$TMP/tok-wrong"
	assertEquals 100 "$RC"
	assertContains "$(cat "$TMP/c.err")" "rejected the credentials"
}

row_kubelet_garbage() {
	mkdir -p "$TMP/fx"
	printf '{"items": [ garbage' >"$TMP/fx/pods.json"
	start_replay --dir "$TMP/fx" --token good || return
	poll_once
	assertEquals 102 "$RC"
	assertContains "$(cat "$TMP/c.err")" "invalid JSON"
}

row_kubelet_bad_chunked() {
	python3 "$TOP/tests/bad_chunked.py" >"$TMP/bc.url" 2>"$TMP/bc.err" &
	REPLAY_PID=$!
	REPLAY_URL=$(wait_first_line "$TMP/bc.url") || fail "bad_chunked.py did not start"
	"$BIN/collector-pods" --once -o - --node n1 --kubelet "$REPLAY_URL" >/dev/null 2>"$TMP/c.err"
	assertNotEquals "a broken body is not a success" 0 $?
	assertContains "$(cat "$TMP/c.err")" "malformed chunked body"
	assertNotContains "$(cat "$TMP/c.err")" "unreachable"
}

row_token_over_http() {
	faulty_kubelet || return
	NRO_ALLOW_INSECURE_TOKEN= poll_once
	assertEquals 100 "$RC"
	assertContains "$(cat "$TMP/c.err")" "refusing to send the bearer token over http://"
	assertNotContains "the token is never printed" "$(cat "$TMP/c.err")" good
	NRO_ALLOW_INSECURE_TOKEN= poll_once --allow-insecure-token
	assertEquals "with --allow-insecure-token: $(cat "$TMP/c.err")" 0 "$RC"
}

# ---- the run directory ------------------------------------------------------

# The analyzer on run directory $1: sets RC, stderr in $TMP/a.err.
analyzer_on() {
	NRO_RUN_DIR=$1 timeout 10 "$BIN/analyzer" </dev/null >/dev/null 2>"$TMP/a.err"
	RC=$?
}

row_run_dir_writable() {
	mkdir -m 0777 "$TMP/run" && chmod 0777 "$TMP/run"
	analyzer_on "$TMP/run"
	assertEquals 100 "$RC"
	assertContains "$(cat "$TMP/a.err")" "writable by group or others (mode 0777)"
	assertFalse "no socket made there" "[ -e $TMP/run/records.ipc ]"
}

row_run_dir_foreign() {
	[ "$(id -u)" = 0 ] || startSkipping
	mkdir -m 0700 "$TMP/run" && chown 65534 "$TMP/run"
	analyzer_on "$TMP/run"
	assertEquals 100 "$RC"
	assertContains "$(cat "$TMP/a.err")" "is owned by uid 65534"
}

row_run_dir_symlink() {
	mkdir -m 0700 "$TMP/real"
	ln -s "$TMP/real" "$TMP/run"
	analyzer_on "$TMP/run"
	assertEquals 100 "$RC"
	assertContains "$(cat "$TMP/a.err")" "is a symbolic link"
	rm -rf "$TMP/real"
}

row_run_dir_sockets() {
	(umask 0 && exec "$BIN/analyzer" </dev/null >/dev/null 2>"$TMP/a.err") &
	apid=$!
	wait_path "$TMP/run/events.ipc"
	wait_path "$TMP/run/records.ipc"
	modes=$(stat -c '%A %n' "$TMP/run/records.ipc" "$TMP/run/events.ipc" | sed "s|$TMP/run/||")
	kill "$apid"
	wait "$apid"
	assertEquals "srw------- records.ipc
srw------- events.ipc" "$modes"
	assertEquals "run dir made private" 700 "$(stat -c %a "$TMP/run")"
}

# ---- the ring's tmpfs full ---------------------------------------------------

row_tmpfs_full() {
	unshare -m sh -c "mount -t tmpfs -o size=1m tmpfs '$TMP' 2>/dev/null" 2>/dev/null ||
		startSkipping
	mkdir -p "$TMP/mnt"
	out=$(unshare -m sh -c '
		mount -t tmpfs -o size=2m,mode=0700 tmpfs "$1" || exit 99
		mkdir -m 0700 "$1/run"
		NRO_RUN_DIR="$1/run" "$2" --ring-size 8388608 </dev/null >/dev/null 2>"$1/err"
		echo "rc=$?"
		cat "$1/err"' sh "$TMP/mnt" "$BIN/analyzer")
	assertContains "$out" "rc=111"
	assertContains "$out" "no room for a ring"
	assertNotContains "$out" "Bus error"
}

# ---- the clock stepping back -------------------------------------------------

row_clock_back() {
	start_replay --dir "$FIXTURES/gke-crashloop" || return
	"$BIN/collector-pods" --kubelet "$REPLAY_URL" --once -o - >"$TMP/a.bin" 2>/dev/null
	"$BIN/collector-pods" --kubelet "$REPLAY_URL" --once -o - >"$TMP/b.bin" 2>/dev/null
	# the second poll's records stamped an hour before the first's
	python3 "$TOP/tests/restamp.py" -3600000 <"$TMP/b.bin" >"$TMP/b-old.bin" ||
		fail "restamp.py"
	cmp -s "$TMP/b.bin" "$TMP/b-old.bin" && fail "restamp.py changed nothing"
	cat "$TMP/a.bin" "$TMP/b-old.bin" "$TMP/a.bin" |
		"$BIN/analyzer" -i - -o - 2>"$TMP/a.err" | "$BIN/sink-stdout" -i - >"$TMP/clock.out"
	_rc=$?
	assertEquals "pipeline exit: $(cat "$TMP/a.err")" 0 "$_rc"
	event_lines "$TMP/clock.out" >"$TMP/got"
	printf '%s\n' \
		"ContainerOOMKilled firing kube-system/fluentd-gcp-v2.0.10-9q9t4/fluentd-gcp" \
		"PodCrashLooping firing kube-system/fluentd-gcp-v2.0.10-9q9t4/prometheus-to-sd-exporter" \
		>"$TMP/want"
	diff "$TMP/want" "$TMP/got" >"$TMP/diff"
	_rc=$?
	assertEquals "clock back: events differ: $(cat "$TMP/diff")" 0 "$_rc"
}

. shunit2
