#!/bin/bash
# Sinks: sink-stdout against a stand-in analyzer (sink_test --ringpub: writes
# each record to the ring, then publishes it on events.ipc). Every event
# exactly once and in order; resume after kill -9; --from-start; a gap the
# ring no longer holds is counted; a recreated ring; text and JSON formats;
# nro-dump --ring (checked against tests/ring_read.py, a reader written from
# docs/ring.md alone). Every case runs again on the sanitizer build
# (build/san) when it exists.
. "$(dirname "$0")/lib.sh"

PLAIN_BIN=$BIN
PLAIN_TESTBIN=$TESTBIN
SAN_BIN=$TOP/build/san/bin
SAN_TESTBIN=$TOP/build/san/test

CASES=${SINK_TEST_CASES:-"every_event_once_in_order kill9_and_restart_loses_nothing from_start_replays_the_ring
new_sink_without_cursor_starts_at_head gap_bigger_than_the_ring_is_counted
recreated_ring_restarts_at_its_oldest nng_only_without_a_ring text_format colour_rules
json_fields metrics_flag pipe_input nro_dump_ring nro_dump_ring_follow bad_usage
cursor_tmp_symlink_is_not_followed"}

suite() {
	for c in $CASES; do
		suite_addTest "test_$c"
	done
	if [ "$PLAIN_BIN" != "$SAN_BIN" ] && [ -x "$SAN_BIN/sink-stdout" ] &&
		[ -x "$SAN_TESTBIN/sink_test" ] && [ -x "$SAN_BIN/nro-dump" ]; then
		for c in $CASES; do
			eval "test_${c}_san() { BIN=\$SAN_BIN; TESTBIN=\$SAN_TESTBIN; test_$c; BIN=\$PLAIN_BIN; TESTBIN=\$PLAIN_TESTBIN; }"
			suite_addTest "test_${c}_san"
		done
	else
		echo "sink_test.sh: no sanitizer build (make san): plain binaries only" >&2
	fi
}

oneTimeSetUp() {
	nro_tmpdir
	ROOT=$TMP
}

oneTimeTearDown() {
	rm -rf "$ROOT"
}

CASE=0
setUp() {
	CASE=$((CASE + 1))
	T=$ROOT/c$CASE
	mkdir -p "$T"
	export NRO_RUN_DIR=$T/run
	SINK_PID=
	PUB_PID=
}

tearDown() {
	[ -n "$SINK_PID" ] && kill -9 "$SINK_PID" 2>/dev/null
	[ -n "$PUB_PID" ] && kill -9 "$PUB_PID" 2>/dev/null
	wait 2>/dev/null
	# no sanitizer report from anything this case ran
	if grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T"/*.err >/dev/null 2>&1; then
		fail "sanitizer report: $(grep -h -E -A3 'Sanitizer|runtime error' "$T"/*.err | head -8)"
	fi
}

ringpub() {
	"$TESTBIN/sink_test" --ringpub "$@"
}

# start_sink NAME ARGS...: sink-stdout in the background, output to $T/NAME.out
start_sink() {
	name=$1
	shift
	"$BIN/sink-stdout" "$@" >>"$T/$name.out" 2>>"$T/$name.err" &
	SINK_PID=$!
}

# Stops the sink with SIGTERM; its exit status in $SINK_RC.
stop_sink() {
	kill -TERM "$SINK_PID"
	wait "$SINK_PID"
	SINK_RC=$?
	SINK_PID=
}

# Waits (bounded, 30 s) until file $1 has at least $2 lines.
wait_lines() {
	i=0
	while [ $i -lt 1200 ]; do
		[ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ] && return 0
		sleep 0.025
		i=$((i + 1))
	done
	echo "timed out waiting for $2 lines in $1 (have $(wc -l <"$1" 2>/dev/null))" >&2
	return 1
}

# Waits (bounded, 10 s) until the readiness file $1 got its newline.
wait_ready() {
	i=0
	while [ $i -lt 400 ]; do
		[ -s "$1" ] && return 0
		sleep 0.025
		i=$((i + 1))
	done
	echo "not ready: $1" >&2
	return 1
}

# Starts the sink with -d 3 and waits until it is ready.
start_sink_ready() {
	name=$1
	shift
	rm -f "$T/$name.ready"
	"$BIN/sink-stdout" -d 3 "$@" >>"$T/$name.out" 2>>"$T/$name.err" 3>"$T/$name.ready" &
	SINK_PID=$!
	wait_ready "$T/$name.ready"
}

seqs() {
	jq -r .seq "$@"
}

test_every_event_once_in_order() {
	# the sink starts first: no ring, no publisher yet
	start_sink s
	ringpub --count 300 --every-ms 1 --metrics-every 3 --ring-size 1048576 \
		--wait-peer-ms 5000 >"$T/pub.seqs" 2>"$T/pub.err"
	assertEquals "ringpub exit" 0 $?
	assertEquals 300 "$(wc -l <"$T/pub.seqs")"
	wait_lines "$T/s.out" 300
	stop_sink
	assertEquals "sink exit" 0 "$SINK_RC"
	seqs "$T/s.out" >"$T/got.seqs"
	diff "$T/pub.seqs" "$T/got.seqs" >"$T/diff"
	rc=$?
	assertEquals "seqs differ: $(head -5 "$T/diff")" 0 "$rc"
	# only events: the metrics in between were skipped
	assertEquals 0 "$(jq -r 'select(.kind != "event")' "$T/s.out" | wc -l)"
	assertNotContains "$(cat "$T/s.err")" "lost"
	# the cursor: this ring's epoch, and the last event (or the metric after it)
	c=$(awk '{print $4}' "$NRO_RUN_DIR/sink-stdout.cursor")
	assertTrue "cursor at $c" "[ '$c' = 399 ] || [ '$c' = 400 ]"
}

test_kill9_and_restart_loses_nothing() {
	start_sink s1
	ringpub --count 1500 --every-ms 2 --ring-size 1048576 --wait-peer-ms 5000 \
		>"$T/pub.seqs" 2>"$T/pub.err" &
	PUB_PID=$!
	wait_lines "$T/s1.out" 300
	kill -9 "$SINK_PID"
	wait "$SINK_PID" 2>/dev/null
	SINK_PID=
	# where the killed sink's cursor says it stopped
	cursor=$(awk '{print $4}' "$NRO_RUN_DIR/sink-stdout.cursor")
	# the publisher goes on meanwhile; the new sink resumes from the cursor
	start_sink s2
	wait "$PUB_PID"
	assertEquals "ringpub exit" 0 $?
	PUB_PID=
	n1=$(seqs "$T/s1.out" | wc -l)
	assertTrue "killed mid-stream ($n1 of 1500)" "[ $n1 -lt 1500 ]"
	cat "$T/s1.out" "$T/s2.out" | seqs >"$T/all.seqs"
	# wait until the second sink printed the rest
	last=$(tail -n1 "$T/pub.seqs")
	i=0
	while [ $i -lt 1200 ] && ! tail -n1 "$T/s2.out" 2>/dev/null | grep -q "\"seq\":$last,"; do
		sleep 0.025
		i=$((i + 1))
	done
	stop_sink
	assertEquals "sink exit" 0 "$SINK_RC"
	cat "$T/s1.out" "$T/s2.out" | seqs >"$T/all.seqs"
	# the new sink resumed right after the cursor: kill -9 repeats only what
	# was delivered after the last cursor write (lib/run/sink.h: the message
	# in flight, or up to 100 ms of a catch-up, which a loaded machine makes
	# more than one message), never anything at or before it
	first2=$(seqs "$T/s2.out" | head -n1)
	assertEquals "resumed after the cursor ($cursor)" "$((cursor + 1))" "$first2"
	# nothing lost, nothing out of order: the killed sink's seqs up to the
	# cursor, then the new sink's, are exactly what was published
	{ seqs "$T/s1.out" | awk -v c="$cursor" '$1 <= c'; seqs "$T/s2.out"; } >"$T/once.seqs"
	diff "$T/pub.seqs" "$T/once.seqs" >"$T/diff"
	rc=$?
	assertEquals "seqs differ: $(head -5 "$T/diff")" 0 "$rc"
	assertTrue "the killed sink had delivered up to its cursor" \
		"[ $(seqs "$T/s1.out" | tail -n1) -ge $cursor ]"
	assertNotContains "$(cat "$T/s2.err")" "lost"
}

test_from_start_replays_the_ring() {
	ringpub --listen none --count 50 --metrics-every 5 >"$T/pub.seqs"
	start_sink s --from-start
	wait_lines "$T/s.out" 50
	stop_sink
	assertEquals 0 "$SINK_RC"
	seqs "$T/s.out" >"$T/got.seqs"
	diff "$T/pub.seqs" "$T/got.seqs" >"$T/diff"
	rc=$?
	assertEquals "seqs differ: $(head -5 "$T/diff")" 0 "$rc"
	# restarted: the cursor says everything was delivered
	start_sink_ready s2 --from-start
	ringpub --listen none --count 3 --first-index 50 >"$T/pub2.seqs"
	wait_lines "$T/s2.out" 3
	stop_sink
	seqs "$T/s2.out" >"$T/got2.seqs"
	assertEquals "$(cat "$T/pub2.seqs")" "$(cat "$T/got2.seqs")"
}

test_new_sink_without_cursor_starts_at_head() {
	ringpub --listen none --count 20 >/dev/null
	start_sink_ready s --cursor none
	ringpub --listen none --count 5 --first-index 20 >"$T/pub.seqs"
	wait_lines "$T/s.out" 5
	stop_sink
	assertEquals 0 "$SINK_RC"
	assertEquals "$(cat "$T/pub.seqs")" "$(seqs "$T/s.out")"
	assertEquals "21 22 23 24 25" "$(echo $(seqs "$T/s.out"))"
	assertFalse "no cursor file" "[ -e '$NRO_RUN_DIR/sink-stdout.cursor' ]"
}

test_gap_bigger_than_the_ring_is_counted() {
	ringpub --listen none --count 10 >/dev/null
	start_sink s1 --from-start
	wait_lines "$T/s1.out" 10
	stop_sink
	# while no sink runs, 2000 more go through a 64 KiB ring
	ringpub --listen none --count 2000 --first-index 10 >"$T/pub.seqs"
	oldest=$("$BIN/nro-dump" --ring "$NRO_RUN_DIR/ring" | head -n1 | jq -r .seq)
	assertTrue "ring overwritten (oldest $oldest)" "[ $oldest -gt 11 ]"
	start_sink s2
	want=$(awk -v o="$oldest" '$1 >= o' "$T/pub.seqs" | wc -l)
	wait_lines "$T/s2.out" "$want"
	stop_sink
	assertEquals 0 "$SINK_RC"
	assertContains "$(cat "$T/s2.err")" \
		"lost $((oldest - 11)) records (seq 11..$((oldest - 1))): the ring no longer holds them"
	awk -v o="$oldest" '$1 >= o' "$T/pub.seqs" >"$T/want.seqs"
	seqs "$T/s2.out" >"$T/got.seqs"
	diff "$T/want.seqs" "$T/got.seqs" >"$T/diff"
	rc=$?
	assertEquals "seqs differ: $(head -5 "$T/diff")" 0 "$rc"
}

test_recreated_ring_restarts_at_its_oldest() {
	start_sink s
	ringpub --count 10 --wait-peer-ms 5000 >/dev/null
	wait_lines "$T/s.out" 10
	# the analyzer comes back with another ring size: a new ring, seqs from 1
	ringpub --count 5 --ring-size 131072 --wait-peer-ms 5000 >"$T/pub2.seqs"
	wait_lines "$T/s.out" 15
	stop_sink
	assertEquals 0 "$SINK_RC"
	assertEquals "1 2 3 4 5 6 7 8 9 10 1 2 3 4 5" "$(echo $(seqs "$T/s.out"))"
	assertContains "$(cat "$T/s.err")" "the ring was recreated"
}

test_nng_only_without_a_ring() {
	start_sink s --ring none --cursor none
	ringpub --count 20 --wait-peer-ms 5000 >"$T/pub.seqs"
	wait_lines "$T/s.out" 20
	stop_sink
	assertEquals 0 "$SINK_RC"
	assertEquals "$(cat "$T/pub.seqs")" "$(seqs "$T/s.out")"
}

test_text_format() {
	ringpub --listen none --count 6 >/dev/null
	start_sink s --from-start --format text
	wait_lines "$T/s.out" 6
	stop_sink
	assertEquals 0 "$SINK_RC"
	l1=$(sed -n 1p "$T/s.out")
	l2=$(sed -n 2p "$T/s.out")
	# the columns of lib/render/text.c; the message carries the numbers, so
	# value and threshold are not repeated (render_text_test has the goldens)
	# 2026-11-25T21:00:00.123Z  FIRING    warning   ContainerOOMKilled        ns/pod-1/c                test event 1
	echo "$l1" | grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z  FIRING    warning   ContainerOOMKilled        ns/pod-1/c                test event 1$'
	assertTrue "firing line: $l1" $?
	echo "$l2" | grep -qE 'Z  RESOLVED  warning   ContainerOOMKilled        ns/pod-1/c                test event 2( \(lasted [0-9]+s\))?$'
	assertTrue "resolved line: $l2" $?
	assertEquals 3 "$(grep -c '  FIRING  ' "$T/s.out")"
	assertEquals 3 "$(grep -c '  RESOLVED  ' "$T/s.out")"
	# not a terminal: no colour
	assertEquals 0 "$(grep -c "$(printf '\033')" "$T/s.out")"
}

test_colour_rules() {
	ringpub --listen none --count 6 >/dev/null
	python3 "$TOP/tests/ring_read.py" "$NRO_RUN_DIR/ring" >"$T/frames" 2>"$T/rr.err"
	esc=$(printf '\033')
	"$BIN/sink-stdout" -i - -f text --color always <"$T/frames" >"$T/always.out" 2>"$T/always.err"
	assertEquals 0 $?
	# event 1 warning firing (yellow), 2 resolved (green), 3 critical firing (red), 5 info (plain)
	assertEquals "${esc}[33m" "$(sed -n 1p "$T/always.out" | cut -c1-5)"
	assertEquals "${esc}[32m" "$(sed -n 2p "$T/always.out" | cut -c1-5)"
	assertEquals "${esc}[31m" "$(sed -n 3p "$T/always.out" | cut -c1-5)"
	assertEquals 0 "$(sed -n 5p "$T/always.out" | grep -c "$esc")"
 	# a terminal: colour, unless NO_COLOR is set
	script -qec "$BIN/sink-stdout -i - -f text <'$T/frames'" /dev/null >"$T/tty.out" 2>"$T/tty.err"
	assertEquals 5 "$(grep -c "${esc}\[3[123]m" "$T/tty.out")"
	script -qec "NO_COLOR=1 $BIN/sink-stdout -i - -f text <'$T/frames'" /dev/null >"$T/nocolor.out" 2>"$T/nocolor.err"
	assertEquals 6 "$(grep -c 'test event' "$T/nocolor.out")"
	assertEquals 0 "$(grep -c "$esc" "$T/nocolor.out")"
}

test_json_fields() {
	ringpub --listen none --count 3 >/dev/null
	start_sink s --from-start --format json
	wait_lines "$T/s.out" 3
	stop_sink
	jq -e . "$T/s.out" >/dev/null
	assertEquals "every line is JSON" 0 $?
	e=$(sed -n 3p "$T/s.out")
	assertEquals event "$(echo "$e" | jq -r .kind)"
	assertEquals 3 "$(echo "$e" | jq -r .seq)"
	assertEquals n1 "$(echo "$e" | jq -r .node)"
	assertEquals analyzer "$(echo "$e" | jq -r .source)"
	assertEquals NodeMemoryPressure "$(echo "$e" | jq -r .type)"
	assertEquals critical "$(echo "$e" | jq -r .severity)"
	assertEquals firing "$(echo "$e" | jq -r .state)"
	assertEquals '{"kind":"Container","namespace":"ns","pod":"pod-2","container":"c"}' \
		"$(echo "$e" | jq -c .object)"
	assertEquals "test event 3" "$(echo "$e" | jq -r .message)"
	assertEquals 3 "$(echo "$e" | jq -r .value)"
	assertEquals 3 "$(echo "$e" | jq -r .threshold)"
	echo "$e" | jq -r .ts | grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$'
	assertTrue "RFC 3339 ts" $?
	assertEquals resolved "$(sed -n 2p "$T/s.out" | jq -r .state)"
}

test_metrics_flag() {
	ringpub --listen none --count 6 --metrics-every 2 >/dev/null
	start_sink s --from-start --metrics --cursor none
	wait_lines "$T/s.out" 9
	stop_sink
	assertEquals 6 "$(jq -r 'select(.kind == "event") | .seq' "$T/s.out" | wc -l)"
	assertEquals 3 "$(jq -r 'select(.kind == "metric") | .name' "$T/s.out" | grep -c node_runtime_events_total)"
	assertEquals "1 2 3 4 5 6 7 8 9" "$(echo $(seqs "$T/s.out"))"
}

test_pipe_input() {
	"$TESTBIN/record_test" --sample >"$T/sample.bin"
	"$BIN/sink-stdout" -i - <"$T/sample.bin" >"$T/p.out" 2>"$T/p.err"
	assertEquals "exit at end of input" 0 $?
	assertEquals 1 "$(wc -l <"$T/p.out")"
	assertEquals PodCrashLooping "$(jq -r .type "$T/p.out")"
	"$BIN/sink-stdout" -i - --kinds EMSHX <"$T/sample.bin" >"$T/all.out" 2>"$T/all.err"
	assertEquals 8 "$(wc -l <"$T/all.out")"
	# no cursor is written for a pipe
	assertFalse "[ -e '$NRO_RUN_DIR/sink-stdout.cursor' ]"
	size=$(stat -c %s "$T/sample.bin")
	head -c $((size - 5)) "$T/sample.bin" | "$BIN/sink-stdout" -i - >/dev/null 2>"$T/cut.err"
	assertEquals "truncated input is bad data" 102 $?
	assertContains "$(cat "$T/cut.err")" "truncated"
}

test_nro_dump_ring() {
	ringpub --listen none --count 1500 --metrics-every 4 >/dev/null
	python3 "$TOP/tests/ring_read.py" --info "$NRO_RUN_DIR/ring" >"$T/info" 2>"$T/rr.err"
	read -r _ _ _ size _ slots _ head _ tail _ _ _ deflated <"$T/info"
	assertEquals 65536 "$size"
	# most of ringpub's records are long enough to be kept deflated: the
	# comparison below covers inflating them
	assertTrue "deflated records: '$deflated'" "[ '${deflated:-0}' -gt 100 ]"
	assertEquals 1875 "$head"
	"$BIN/nro-dump" --ring "$NRO_RUN_DIR/ring" >"$T/dump.jsonl" 2>"$T/dump.err"
	assertEquals 0 $?
	assertEquals "$((head - tail + 1))" "$(wc -l <"$T/dump.jsonl")"
	assertEquals "$tail" "$(head -n1 "$T/dump.jsonl" | jq -r .seq)"
	assertEquals "$head" "$(tail -n1 "$T/dump.jsonl" | jq -r .seq)"
	# the independent reader of docs/ring.md agrees byte for byte
	python3 "$TOP/tests/ring_read.py" "$NRO_RUN_DIR/ring" 2>"$T/rr.err" | "$BIN/nro-dump" >"$T/py.jsonl"
	diff "$T/py.jsonl" "$T/dump.jsonl" >"$T/diff"
	rc=$?
	assertEquals "readers differ: $(head -3 "$T/diff")" 0 "$rc"
	assertEquals 4 "$("$BIN/nro-dump" --ring "$NRO_RUN_DIR/ring" -k M -n 4 | wc -l)"
	"$BIN/nro-dump" --ring "$T/none" 2>"$T/missing.err"
	assertEquals "no ring there is configuration" 100 $?
}

test_nro_dump_ring_follow() {
	ringpub --listen none --count 5 >/dev/null
	"$BIN/nro-dump" --ring "$NRO_RUN_DIR/ring" --follow -k E -d 3 >"$T/f.out" 2>"$T/f.err" 3>"$T/f.ready" &
	pid=$!
	wait_ready "$T/f.ready"
	ringpub --listen none --count 5 --first-index 5 >/dev/null
	wait_lines "$T/f.out" 10
	kill -TERM $pid
	wait $pid
	assertEquals 0 $?
	assertEquals "1 2 3 4 5 6 7 8 9 10" "$(echo $(seqs "$T/f.out"))"
}

# A symlink planted at the cursor's temporary name must not make the sink
# write through it (it used to overwrite the link's target).
test_cursor_tmp_symlink_is_not_followed() {
	mkdir -p -m 0700 "$T/run"
	echo "precious" >"$T/victim"
	ln -s "$T/victim" "$T/run/sink-stdout.cursor.tmp"
	ringpub --listen none --count 5 >"$T/pub.seqs"
	start_sink s --from-start
	wait_lines "$T/s.out" 5
	stop_sink
	assertEquals 0 "$SINK_RC"
	assertEquals "precious" "$(cat "$T/victim")"
	assertTrue "the cursor was written" "[ -f '$T/run/sink-stdout.cursor' ] && [ ! -L '$T/run/sink-stdout.cursor' ]"
	assertContains "$(cat "$T/run/sink-stdout.cursor")" "nro-cursor 1 "
}

test_bad_usage() {
	"$BIN/sink-stdout" --format xml 2>"$T/u.err"
	assertEquals 100 $?
	assertContains "$(cat "$T/u.err")" "--format: bad value 'xml': want auto, json or text"
	"$BIN/sink-stdout" --kinds Q 2>"$T/u.err"
	assertEquals 100 $?
	"$BIN/sink-stdout" --color sometimes 2>"$T/u.err"
	assertEquals 100 $?
	"$BIN/sink-stdout" --help >"$T/help"
	assertEquals 0 $?
	assertContains "$(cat "$T/help")" "--from-start"
	assertContains "$(cat "$T/help")" "--cursor"
}

. shunit2
