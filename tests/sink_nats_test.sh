#!/bin/bash
# sink-nats against a real nats-server (Debian nats-server 2.9: JetStream in a
# temporary store, random ports), checked by a client that is not our code
# (nats.js, tests/npm/nats/client.mjs). The incident is real: records that
# collector-pods made from a recorded v1.34 /pods (every container crash-looping,
# then every container running, alternately) go through the real analyzer (its
# rules, its ring, events.ipc) to sink-nats. What the analyzer's ring holds
# (nro-dump --ring) is the truth every case compares with.
. "$(dirname "$0")/lib.sh"

PLAIN_BIN=$BIN
SAN_BIN=$TOP/build/san/bin
CLIENT=$TOP/tests/npm/nats/client.mjs
NODE_NAME=datagen-1-34

CASES=${NATS_TEST_CASES:-"core_subscriber_gets_every_event subjects_and_headers large_metric_record_is_split record_format
kill9_mid_incident_stream_holds_each_event_once server_restart_loses_nothing
core_nats_backlog_after_an_outage
cluster_failover wrong_credentials_exit_100 token_and_nkey creds_file tls_with_throwaway_ca bad_usage
s6_service_as_shipped"}
# the sanitizer build runs the cases that drive the most code
SAN_CASES=${NATS_SAN_CASES:-"core_subscriber_gets_every_event record_format
kill9_mid_incident_stream_holds_each_event_once wrong_credentials_exit_100 creds_file tls_with_throwaway_ca"}

suite() {
	for c in $CASES; do
		suite_addTest "test_$c"
	done
	if [ "$PLAIN_BIN" != "$SAN_BIN" ] && [ -x "$SAN_BIN/sink-nats" ]; then
		for c in $SAN_CASES; do
			eval "test_${c}_san() { BIN=\$SAN_BIN; test_$c; BIN=\$PLAIN_BIN; }"
			suite_addTest "test_${c}_san"
		done
	else
		echo "sink_nats_test.sh: no sanitizer build (make san): plain binaries only" >&2
	fi
}

oneTimeSetUp() {
	nro_tmpdir
	ROOT=$TMP
	[ -d "$TOP/tests/npm/nats/node_modules/@nats-io/transport-node" ] || sh "$TOP/tests/deps/nats.sh"
	make_incident_records
}

oneTimeTearDown() {
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$ROOT"
}

CASE=0
setUp() {
	CASE=$((CASE + 1))
	T=$ROOT/c$CASE
	mkdir -p "$T"
	export NRO_RUN_DIR=$T/run
	PIDS=""
	SINK_PID=""
	SERVERS=""
}

tearDown() {
	[ -n "$SINK_PID" ] && kill -9 "$SINK_PID" 2>/dev/null
	scan_down
	for p in $PIDS $SERVERS; do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	if grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T"/*.err >/dev/null 2>&1; then
		fail "sanitizer report: $(grep -h -E -A3 'Sanitizer|runtime error' "$T"/*.err | head -8)"
	fi
}

# Two framed record files from collector-pods on a recorded /pods: every
# container crash-looping (a.rec), every container running (b.rec).
make_incident_records() {
	local f=$FIXTURES/v1.34/pods.json
	mkdir -p "$ROOT/pods-a" "$ROOT/pods-b"
	jq -c '.items |= map(.status.containerStatuses |= map(.restartCount = 3 | .ready = false
		| .state = {waiting: {reason: "CrashLoopBackOff", message: "back-off 40s"}}))' \
		"$f" >"$ROOT/pods-a/pods.json"
	jq -c '.items |= map(.status.containerStatuses |= map(.restartCount = 3 | .ready = true
		| .state = {running: {startedAt: "2026-01-13T18:39:30Z"}}))' "$f" >"$ROOT/pods-b/pods.json"
	for s in a b; do
		TMP=$ROOT/replay-$s
		mkdir -p "$TMP"
		start_replay --dir "$ROOT/pods-$s" || return
		"$BIN/collector-pods" --kubelet "$REPLAY_URL" --node "${COLLECT_NODE:-$NODE_NAME}" \
			--once -o - >"$ROOT/$s.rec" 2>"$TMP/collector.err"
		kill "$REPLAY_PID"
		wait "$REPLAY_PID" 2>/dev/null
	done
	TMP=$ROOT/replay-s
	mkdir -p "$TMP" "$ROOT/summary"
	cp "$FIXTURES/v1.34/stats_summary.json" "$ROOT/summary/"
	start_replay --dir "$ROOT/summary" || return
	"$BIN/collector-summary" --kubelet "$REPLAY_URL" --once -o - >"$ROOT/summary.rec" 2>"$TMP/collector.err"
	kill "$REPLAY_PID"
	wait "$REPLAY_PID" 2>/dev/null
	TMP=$ROOT
}

# incident ROUNDS PAUSE [ANALYZER ARGS]: the real analyzer fed ROUNDS x (a, b),
# PAUSE seconds apart, in the background (ANALYZER_PID); 24 events a record.
incident() {
	local rounds=$1 pause=$2
	shift 2
	for _ in $(seq "$rounds"); do
		cat "$ROOT/a.rec"
		sleep "$pause"
		cat "$ROOT/b.rec"
		sleep "$pause"
	done | "$BIN/analyzer" -i - --set PodCrashLooping.resolve_after=0s --set flap.window=1ms \
		"$@" 2>>"$T/analyzer.err" &
	ANALYZER_PID=$!
	PIDS="$PIDS $ANALYZER_PID"
}

# The events the ring holds, one JSON line each (nro-dump's rendering).
ring_events() {
	"$BIN/nro-dump" --ring "$NRO_RUN_DIR/ring" -k E 2>"$T/dump.err"
}

# nats_start NAME [ARGS...]: a nats-server on a random port with JetStream
# in $T/NAME.js (NATS_JS=0: without); sets URL (and NATS_PID).
nats_start() {
	local name=$1
	shift
	: >"$T/$name.log"
	local js="-js -sd $T/$name.js"
	[ "${NATS_JS:-1}" = 0 ] && js=""
	# shellcheck disable=SC2086
	nats-server -a 127.0.0.1 -p "${NATS_PORT:--1}" $js -l "$T/$name.log" "$@" &
	NATS_PID=$!
	SERVERS="$SERVERS $NATS_PID"
	wait_for_lines "$T/$name.log" 'Server is ready' 20 || return 1
	local hp
	hp=$(sed -n 's/.*Listening for client connections on \([0-9.]*:[0-9]*\).*/\1/p' "$T/$name.log" | tail -1)
	URL=${URL_SCHEME:-nats}://$hp
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

client() {
	node "$CLIENT" "$@"
}

# settle URL SUBJECT FILE: publishes a sentinel on SUBJECT (one the
# subscriber writing FILE listens to) and waits until it arrived: whatever
# the server had before it (all a sink that exited sent) arrived before it.
# Then drops the sentinel's line from FILE.
settle() {
	client pub "$1" "$2" sentinel || return 1
	wait_for_lines "$3" "\"subject\":\"$2\"" 30 || return 1
	grep -v "\"subject\":\"$2\"" "$3" >"$3.settled"
	mv "$3.settled" "$3"
}

# stream_add URL [REPLICAS]: stream NRO over nro.>, duplicate window 2 minutes;
# retried (bounded) while a new cluster elects its JetStream leader.
stream_add() {
	local i=0
	while [ $i -lt 60 ]; do
		client stream-add "$1" NRO 'nro.>' "${2:-1}" 120 2>"$T/stream-add.err" && return 0
		sleep 0.5
		i=$((i + 1))
	done
	echo "stream-add failed: $(cat "$T/stream-add.err")" >&2
	return 1
}

# start_sink NAME ARGS...: sink-nats in the background, ready (-d 3) before it returns.
start_sink() {
	local name=$1
	shift
	rm -f "$T/$name.ready"
	"$BIN/sink-nats" -d 3 --cursor "$T/sink.cursor" "$@" >>"$T/$name.out" 2>>"$T/$name.err" 3>"$T/$name.ready" &
	SINK_PID=$!
	local i=0
	while [ $i -lt 400 ] && [ ! -s "$T/$name.ready" ]; do
		kill -0 "$SINK_PID" 2>/dev/null || break
		sleep 0.025
		i=$((i + 1))
	done
	[ -s "$T/$name.ready" ] || { fail "sink-nats not ready: $(cat "$T/$name.err")"; return 1; }
}

stop_sink() {
	kill -TERM "$SINK_PID"
	wait "$SINK_PID"
	SINK_RC=$?
	SINK_PID=""
}

# The last seq of the ring, and the seq the cursor file says was delivered.
ring_head() { "$BIN/nro-dump" --ring "$NRO_RUN_DIR/ring" 2>/dev/null | jq -s 'map(.seq) | max'; }
cursor_seq() { awk '{print $4}' "$T/sink.cursor" 2>/dev/null; }

# wait_cursor SEQ [SECONDS]: until the sink's cursor reached SEQ (bounded).
wait_cursor() {
	local i=0 limit=$((${2:-60} * 20))
	while [ $i -lt $limit ]; do
		[ "$(cursor_seq)" -ge "$1" ] 2>/dev/null && return 0
		sleep 0.05
		i=$((i + 1))
	done
	echo "cursor at $(cursor_seq), not $1, after ${2:-60} s" >&2
	return 1
}

# wait_analyzer: until the incident's analyzer finished (bounded, 60 s).
wait_analyzer() {
	local i=0
	while [ $i -lt 1200 ] && kill -0 "$ANALYZER_PID" 2>/dev/null; do
		sleep 0.05
		i=$((i + 1))
	done
	wait "$ANALYZER_PID"
}

# Sorted "seq type state namespace/pod/container" lines of JSON events.
event_keys() {
	jq -r '"\(.seq) \(.type) \(.state) \(.object.namespace)/\(.object.pod)/\(.object.container)"' | sort
}

# check_stream_once URL: the stream holds every event of the ring exactly
# once, with the right ids and headers, in seq order.
check_stream_once() {
	ring_events >"$T/ring.json"
	client stream-dump "$1" NRO >"$T/stream.json" 2>"$T/stream-dump.err"
	rc=$?
	assertEquals "stream-dump: $(cat "$T/stream-dump.err")" 0 "$rc"
	jq -c 'select(.headers["Nro-Kind"] == "event")' "$T/stream.json" >"$T/stream-events.json"
	local want got
	want=$(wc -l <"$T/ring.json")
	got=$(wc -l <"$T/stream-events.json")
	assertTrue "the ring holds only $want events" "[ $want -ge 48 ]"
	assertEquals "events in the stream" "$want" "$got"
	jq -r '.data' "$T/stream-events.json" | event_keys >"$T/got.keys"
	event_keys <"$T/ring.json" >"$T/want.keys"
	diff "$T/want.keys" "$T/got.keys" >"$T/keys.diff"
	rc=$?
	assertEquals "events differ (want -, got +): $(head -5 "$T/keys.diff")" 0 "$rc"
	assertEquals "duplicate ids" "" "$(jq -r '.headers["Nats-Msg-Id"]' "$T/stream.json" | sort | uniq -d | head -3)"
	# in order: the stream's events by seq, and by entry index within a record
	jq -r '.headers["Nats-Msg-Id"] | split("-") | "\(.[1]) \(.[2])"' "$T/stream-events.json" >"$T/order"
	sort -n -k1,1 -k2,2 -c "$T/order" 2>"$T/order.err"
	rc=$?
	assertEquals "out of order: $(cat "$T/order.err")" 0 "$rc"
}

test_core_subscriber_gets_every_event() {
	nats_start s1 || return
	client sub "$URL" 'nro.*.event.>' 100000 "$T/sub.ready" >"$T/sub.out" 2>"$T/sub.err" &
	PIDS="$PIDS $!"
	wait_path "$T/sub.ready"
	start_sink sink --url "$URL" || return
	incident 4 0.05
	wait_analyzer
	ring_events >"$T/ring.json"
	local want
	want=$(wc -l <"$T/ring.json")
	assertEquals "the analyzer made 4 x 2 x 24 events" 192 "$want"
	wait_for_lines "$T/sub.out" '"subject"' 30 "$want"
	stop_sink
	assertEquals "sink exit" 0 "$SINK_RC"
	settle "$URL" nro._test.event._end "$T/sub.out"
	# the payload is nro-dump's line, byte for byte, and nothing else came
	jq -r .data "$T/sub.out" | sort >"$T/got.data"
	sort "$T/ring.json" >"$T/want.data"
	diff "$T/want.data" "$T/got.data" >"$T/data.diff"
	rc=$?
	assertEquals "payloads differ: $(head -4 "$T/data.diff")" 0 "$rc"
	assertEquals "subjects" "nro.$NODE_NAME.event.PodCrashLooping" "$(jq -r .subject "$T/sub.out" | sort -u)"
	assertNotContains "$(cat "$T/sink.err")" "warning"
}

test_subjects_and_headers() {
	nats_start s1 || return
	client sub "$URL" 'obs.>' 100000 "$T/sub.ready" >"$T/sub.out" 2>"$T/sub.err" &
	PIDS="$PIDS $!"
	wait_path "$T/sub.ready"
	# a node name with every character a subject token cannot hold
	local node='ip-10-0-0-1.ec2.internal*x>y z'
	for s in a b; do
		start_replay --dir "$ROOT/pods-$s" || return
		"$BIN/collector-pods" --kubelet "$REPLAY_URL" --node "$node" --once -o - 2>"$T/c.err"
		kill "$REPLAY_PID"
		wait "$REPLAY_PID" 2>/dev/null
	done >"$T/odd.rec"
	"$BIN/analyzer" -i - -o - --set PodCrashLooping.resolve_after=0s <"$T/odd.rec" 2>"$T/analyzer.err" |
		tee "$T/pipe.rec" | "$BIN/sink-nats" -i - --url "$URL" --subject-prefix obs.k8s 2>"$T/sink.err"
	rc=$?
	assertEquals "sink exit: $(cat "$T/sink.err")" 0 "$rc"
	local events metrics
	events=$("$BIN/nro-dump" -k E <"$T/pipe.rec" | wc -l)
	metrics=$("$BIN/nro-dump" -k M <"$T/pipe.rec" | jq -s 'group_by(.seq) | length')
	assertEquals "48 events" 48 "$events"
	settle "$URL" obs._test._end "$T/sub.out"
	assertEquals "messages" $((events + metrics)) "$(wc -l <"$T/sub.out")"
	local tok='ip-10-0-0-1_ec2_internal_x_y_z'
	assertEquals "event subjects" "obs.k8s.$tok.event.PodCrashLooping" \
		"$(jq -r 'select(.headers["Nro-Kind"] == "event") | .subject' "$T/sub.out" | sort -u)"
	assertEquals "metric subjects" "obs.k8s.$tok.metric.analyzer obs.k8s.$tok.metric.collector-pods" \
		"$(jq -r 'select(.headers["Nro-Kind"] == "metric") | .subject' "$T/sub.out" | sort -u | tr '\n' ' ' | sed 's/ $//')"
	assertEquals "Nro-Node" "$node" "$(jq -r '.headers["Nro-Node"]' "$T/sub.out" | sort -u)"
	# pipe mode: one random epoch for the run; "<seq>-<index>" for events,
	# "<seq>" for a metric record
	jq -r 'select(.headers["Nro-Kind"] == "event") | (.data | fromjson | .seq) as $s |
		"\(.headers["Nats-Msg-Id"]) \($s)"' "$T/sub.out" >"$T/ids"
	local epoch
	epoch=$(cut -d- -f1 "$T/ids" | sort -u)
	assertTrue "one epoch of 16 hex digits, not 0: $epoch" "echo '$epoch' | grep -qxE '[0-9a-f]{16}' && [ '$epoch' != 0000000000000000 ]"
	assertEquals "event ids" "" "$(awk -v e="$epoch" '{split($1, p, "-"); if (p[1] != e || p[2] != $2 || p[3] !~ /^[0-9]+$/) print}' "$T/ids" | head -3)"
	assertEquals "indexes 0..23 per record" "0 23" "$(awk '{split($1, p, "-"); print p[3]}' "$T/ids" | sort -n | sed -n '1p;$p' | tr '\n' ' ' | sed 's/ $//')"
	jq -r 'select(.headers["Nro-Kind"] == "metric") | .headers["Nats-Msg-Id"]' "$T/sub.out" >"$T/mids"
	assertEquals "metric ids" "" "$(grep -v -E "^$epoch-[0-9]+\$" "$T/mids" | head -3)"
	# a metric message is a JSON array of nro-dump's metric lines
	assertEquals "metric arrays" "$("$BIN/nro-dump" -k M <"$T/pipe.rec" | wc -l)" \
		"$(jq -r 'select(.headers["Nro-Kind"] == "metric") | .data | fromjson | .[] | .name' "$T/sub.out" | wc -l)"
}

test_large_metric_record_is_split() {
	echo 'max_payload: 8192' >"$T/small.conf"
	nats_start s1 -c "$T/small.conf" || return
	client sub "$URL" 'nro.>' 100000 "$T/sub.ready" >"$T/sub.out" 2>"$T/sub.err" &
	PIDS="$PIDS $!"
	wait_path "$T/sub.ready"
	"$BIN/sink-nats" -i - --url "$URL" --kinds M <"$ROOT/summary.rec" 2>"$T/sink.err"
	rc=$?
	assertEquals "sink exit: $(cat "$T/sink.err")" 0 "$rc"
	"$BIN/nro-dump" -k M <"$ROOT/summary.rec" >"$T/want.json"
	local samples
	samples=$(wc -l <"$T/want.json")
	assertTrue "a summary of $samples samples" "[ $samples -gt 500 ]"
	wait_for_lines "$T/sub.out" '"subject"' 30 "$(($(wc -c <"$T/want.json") / 8192))"
	# all parts came (a part holds at least one sample): the samples add up
	local i=0
	while [ $i -lt 200 ] && [ "$(jq -r '.data | fromjson | length' "$T/sub.out" | paste -sd+ | bc)" != "$samples" ]; do
		sleep 0.05
		i=$((i + 1))
	done
	assertEquals "no part over max_payload" "" "$(jq -r 'select((.data_b64 | @base64d | length) > 8192) | .subject' "$T/sub.out" | head -2)"
	# parts in id order, concatenated, are the record's samples in order
	jq -r '"\(.headers["Nats-Msg-Id"] | split("-") | "\(.[1]) \(.[2])") \(.data | fromjson | length)"' "$T/sub.out" |
		sort -n -k1,1 -k2,2 >"$T/parts"
	assertEquals "each part's id names its first entry" "" "$(awk '$1 != seq { seq = $1; at = 0 } $2 != at { print; exit } { at += $3 }' "$T/parts")"
	jq -r '[(.headers["Nats-Msg-Id"] | split("-") | (.[1] | tonumber), (.[2] | tonumber))] as $k | $k + [.data] | @json' "$T/sub.out" |
		jq -s -r 'sort_by(.[0], .[1]) | .[] | .[2] | fromjson | .[] | tojson' >"$T/got.json"
	diff "$T/want.json" "$T/got.json" >"$T/diff"
	rc=$?
	assertEquals "samples differ: $(head -4 "$T/diff")" 0 "$rc"
}

test_record_format() {
	nats_start s1 || return
	client sub "$URL" 'nro.>' 100000 "$T/sub.ready" >"$T/sub.out" 2>"$T/sub.err" &
	PIDS="$PIDS $!"
	wait_path "$T/sub.ready"
	start_sink sink --url "$URL" --format record --kinds E || return
	incident 2 0.05
	wait_analyzer
	ring_events >"$T/ring.json"
	local records
	records=$(jq -r .seq "$T/ring.json" | uniq | wc -l)
	wait_for_lines "$T/sub.out" '"subject"' 30 "$records"
	stop_sink
	settle "$URL" nro._test._end "$T/sub.out"
	# each message is one record exactly as published: frame them for the
	# independent decoder (docs/wire-format.md) and compare with nro-dump
	jq -r .data_b64 "$T/sub.out" | python3 -c '
import base64, struct, sys
for l in sys.stdin:
    b = base64.b64decode(l)
    sys.stdout.buffer.write(struct.pack(">I", len(b)) + b)' >"$T/framed"
	python3 "$TOP/tests/wire_decode.py" <"$T/framed" >"$T/decoded.json" 2>"$T/decode.err"
	rc=$?
	assertEquals "wire_decode: $(cat "$T/decode.err")" 0 "$rc"
	event_keys <"$T/decoded.json" >"$T/got.keys"
	event_keys <"$T/ring.json" >"$T/want.keys"
	diff "$T/want.keys" "$T/got.keys" >"$T/keys.diff"
	rc=$?
	assertEquals "events differ: $(head -4 "$T/keys.diff")" 0 "$rc"
	assertEquals "one message a record" "$records" "$(wc -l <"$T/sub.out")"
	assertEquals "subject" "nro.$NODE_NAME.event.PodCrashLooping" "$(jq -r .subject "$T/sub.out" | sort -u)"
	assertEquals "record ids" "" "$(jq -r '.headers["Nats-Msg-Id"]' "$T/sub.out" | grep -v -E '^[0-9a-f]{16}-[0-9]+$' | head -3)"
}

test_kill9_mid_incident_stream_holds_each_event_once() {
	nats_start s1 || return
	stream_add "$URL" || return
	start_sink s1 --url "$URL" --jetstream || return
	incident 12 0.1
	# killed while the analyzer is still publishing, after some acknowledged batches
	wait_cursor 10 30
	assertTrue "the incident was still going" "kill -0 $ANALYZER_PID"
	kill -9 "$SINK_PID"
	wait "$SINK_PID" 2>/dev/null
	SINK_PID=""
	start_sink s2 --url "$URL" --jetstream || return
	wait_analyzer
	wait_cursor "$(ring_head)" 60
	stop_sink
	assertEquals "sink exit" 0 "$SINK_RC"
	check_stream_once "$URL"
	# the ids carry the ring's epoch
	local epoch
	epoch=$(awk '{print $3}' "$T/sink.cursor")
	assertEquals "epochs" "$epoch" "$(jq -r '.headers["Nats-Msg-Id"] | split("-") | .[0]' "$T/stream.json" | sort -u)"
	assertNotContains "$(cat "$T/s2.err")" "lost"
	# a sink that lost its cursor sends the whole ring again: the stream
	# drops every message by its Nats-Msg-Id and still holds each event once
	"$BIN/sink-nats" --url "$URL" --jetstream --from-start --cursor "$T/again.cursor" \
		2>"$T/s3.err" &
	SINK_PID=$!
	local head i=0
	head=$(ring_head)
	while [ $i -lt 1200 ] && [ "$(awk '{print $4}' "$T/again.cursor" 2>/dev/null)" != "$head" ]; do
		sleep 0.05
		i=$((i + 1))
	done
	stop_sink
	assertEquals "the whole ring sent again" "$head" "$(awk '{print $4}' "$T/again.cursor")"
	check_stream_once "$URL"
	local dups
	dups=$(wc -l <"$T/stream.json") # events and metrics: every message again
	assertContains "JetStream said it had them all: $(cat "$T/s3.err")" "$(cat "$T/s3.err")" \
		"$dups messages the stream had already"
}

test_server_restart_loses_nothing() {
	NATS_PORT=$(free_port)
	nats_start s1 || return
	stream_add "$URL" || return
	start_sink sink --url "$URL" --jetstream || return
	incident 10 0.2
	wait_cursor 10 30
	kill -TERM "$NATS_PID"
	wait "$NATS_PID" 2>/dev/null
	# the analyzer goes on; the sink's cursor must hold while the server is
	# away (read once the sink noticed, and wrote what it had before)
	wait_for_lines "$T/sink.err" 'disconnected' 20
	sleep 1
	local held
	held=$(cursor_seq)
	sleep "${NATS_OUTAGE_S:-20}"
	assertEquals "cursor moved while the server was down" "$held" "$(cursor_seq)"
	assertTrue "the sink is alive" "kill -0 $SINK_PID"
	nats_start s1 || return # same port, same store
	wait_analyzer
	wait_cursor "$(ring_head)" 60
	stop_sink
	assertEquals "sink exit" 0 "$SINK_RC"
	check_stream_once "$URL"
	assertContains "$(cat "$T/sink.err")" "reconnected"
	unset NATS_PORT
}

# Core NATS (no --jetstream): while the server is away the cursor holds; the
# backlog goes out in order once it is back (a stream on the same store
# records what a core publish delivered).
test_core_nats_backlog_after_an_outage() {
	NATS_PORT=$(free_port)
	nats_start s1 || return
	stream_add "$URL" || return
	kill -TERM "$NATS_PID"
	wait "$NATS_PID" 2>/dev/null
	start_sink sink --url "$URL" || return
	incident 4 0.05
	wait_analyzer
	# the cursor may pass records of kinds it does not send, never one it sends
	local first cur
	first=$("$BIN/nro-dump" --ring "$NRO_RUN_DIR/ring" -k EM | head -n1 | jq .seq)
	cur=$(cursor_seq)
	assertTrue "cursor ${cur:-none} passed seq $first without a server" \
		"[ ${first:-0} -gt 0 ] && [ ${cur:-0} -lt ${first:-0} ]"
	nats_start s1 || return
	wait_cursor "$(ring_head)" 60
	stop_sink
	assertEquals "sink exit" 0 "$SINK_RC"
	check_stream_once "$URL"
	unset NATS_PORT
}

# cluster_start: three servers with routes between them; URLS, C1 C2 C3 pids.
cluster_start() {
	local p1 p2 p3 r1 r2 r3 k
	p1=$(free_port) p2=$(free_port) p3=$(free_port)
	r1=$(free_port) r2=$(free_port) r3=$(free_port)
	local routes="nats://127.0.0.1:$r1,nats://127.0.0.1:$r2,nats://127.0.0.1:$r3"
	URLS="nats://127.0.0.1:$p1,nats://127.0.0.1:$p2,nats://127.0.0.1:$p3"
	for k in 1 2 3; do
		eval "NATS_PORT=\$p$k"
		eval "local rp=\$r$k"
		nats_start "n$k" --name "n$k" --cluster_name nro-test --cluster "nats://127.0.0.1:$rp" \
			--routes "$routes" || return 1
		eval "C$k=\$NATS_PID"
	done
	unset NATS_PORT
}

test_cluster_failover() {
	cluster_start || return
	stream_add "$URLS" 3 || return
	start_sink sink --url "$URLS" --jetstream || return
	incident 10 0.15
	wait_cursor 10 30
	# the server the sink is connected to goes away
	local port victim
	port=$(sed -n 's/.*connected to nats:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$T/sink.err" | tail -1)
	for k in 1 2 3; do
		grep -q "127.0.0.1:$port" "$T/n$k.log" && eval "victim=\$C$k"
	done
	assertNotNull "which server the sink uses ($port)" "$victim"
	kill -9 "$victim"
	assertTrue "the incident was still going" "kill -0 $ANALYZER_PID"
	wait_analyzer
	wait_cursor "$(ring_head)" 90
	stop_sink
	assertEquals "sink exit" 0 "$SINK_RC"
	assertContains "$(cat "$T/sink.err")" "reconnected"
	local alive=""
	for k in 1 2 3; do
		eval "[ \"\$C$k\" != \"$victim\" ]" && alive="$alive,$(echo "$URLS" | cut -d, -f$k)"
	done
	check_stream_once "${alive#,}"
}

test_wrong_credentials_exit_100() {
	nats_start s1 --user nro --pass right-secret || return
	printf 'wrong-secret\n' >"$T/bad.pw"
	printf 'right-secret\n' >"$T/good.pw"
	"$BIN/sink-nats" -i - --url "$URL" --nats-user nro --nats-password-file "$T/bad.pw" \
		</dev/null 2>"$T/bad.err"
	assertEquals "exit" 100 $?
	assertContains "$(cat "$T/bad.err")" "Authorization Violation"
	assertNotContains "secret in the log" "$(cat "$T/bad.err")" "secret"
	# the right password: the records go through
	"$BIN/analyzer" -i - -o - --set PodCrashLooping.resolve_after=0s <"$ROOT/a.rec" 2>/dev/null |
		"$BIN/sink-nats" -i - --url "$URL" --nats-user nro --nats-password-file "$T/good.pw" 2>"$T/good.err"
	rc=$?
	assertEquals "exit with the right password: $(cat "$T/good.err")" 0 "$rc"
	# a user without publish permission is refused too
	cat >"$T/perm.conf" <<-EOF
	authorization { users = [ { user: ro, password: ro-pass, permissions: { publish: "nothing.>" } } ] }
	EOF
	printf 'ro-pass\n' >"$T/ro.pw"
	nats_start s2 -c "$T/perm.conf" || return
	"$BIN/analyzer" -i - -o - --set PodCrashLooping.resolve_after=0s <"$ROOT/a.rec" 2>/dev/null |
		"$BIN/sink-nats" -i - --url "$URL" --nats-user ro --nats-password-file "$T/ro.pw" 2>"$T/perm.err"
	rc=$?
	assertEquals "exit without permission: $(cat "$T/perm.err")" 100 "$rc"
	assertContains "$(cat "$T/perm.err")" "Permissions Violation"
}

test_token_and_nkey() {
	nats_start s1 --auth tok-123 || return
	printf 'tok-123\n' >"$T/tok"
	printf 'tok-bad\n' >"$T/badtok"
	"$BIN/sink-nats" -i - --url "$URL" --nats-token-file "$T/badtok" </dev/null 2>"$T/bad.err"
	assertEquals "exit with a wrong token" 100 $?
	client sub "$URL" 'nro.>' 1 "$T/sub.ready" >"$T/sub.out" 2>"$T/sub.err" &
	PIDS="$PIDS $!"
	# (the subscriber has no token: it is refused, which is the point of a token)
	"$BIN/analyzer" -i - -o - --set PodCrashLooping.resolve_after=0s <"$ROOT/a.rec" 2>/dev/null |
		"$BIN/sink-nats" -i - --url "$URL" --nats-token-file "$T/tok" 2>"$T/tok.err"
	rc=$?
	assertEquals "exit with the token: $(cat "$T/tok.err")" 0 "$rc"
	# NKey: a throwaway user key made by nats.js' own nkeys
	client nkey-gen - >"$T/nkey" || { fail "nkey-gen"; return; }
	local pub
	pub=$(sed -n 1p "$T/nkey")
	sed -n 2p "$T/nkey" >"$T/seed"
	cat >"$T/nkey.conf" <<-EOF
	authorization { users = [ { nkey: $pub } ] }
	EOF
	nats_start s2 -c "$T/nkey.conf" || return
	"$BIN/analyzer" -i - -o - --set PodCrashLooping.resolve_after=0s <"$ROOT/a.rec" 2>/dev/null |
		"$BIN/sink-nats" -i - --url "$URL" --nkey "$pub" --nkey-seed-file "$T/seed" 2>"$T/nkey.err"
	rc=$?
	assertEquals "exit with the nkey: $(cat "$T/nkey.err")" 0 "$rc"
	assertContains "$(cat "$T/nkey.err")" "connected to"
	# someone else's key: refused
	client nkey-gen - >"$T/other" || return
	sed -n 2p "$T/other" >"$T/other.seed"
	"$BIN/sink-nats" -i - --url "$URL" --nkey "$(sed -n 1p "$T/other")" --nkey-seed-file "$T/other.seed" \
		</dev/null 2>"$T/other.err"
	assertEquals "exit with another nkey" 100 $?
	assertContains "$(cat "$T/other.err")" "Authorization Violation"
}

test_creds_file() {
	# operator mode: an operator, an account, users with JWTs (nats.js' nkeys)
	mkdir -p "$T/creds"
	client creds-gen "$T/creds" || { fail "creds-gen"; return; }
	# (JetStream in operator mode needs a system account: core NATS here)
	NATS_JS=0 nats_start s1 -c "$T/creds/server.conf" || return
	NRO_TEST_CREDS=$T/creds/user.creds client sub "$URL" 'nro.*.event.>' 24 "$T/sub.ready" \
		>"$T/sub.out" 2>"$T/sub.err" &
	PIDS="$PIDS $!"
	wait_path "$T/sub.ready"
	"$BIN/analyzer" -i - -o - --set PodCrashLooping.resolve_after=0s <"$ROOT/a.rec" 2>/dev/null |
		"$BIN/sink-nats" -i - --url "$URL" --creds-file "$T/creds/user.creds" 2>"$T/creds.err"
	rc=$?
	assertEquals "exit with the creds: $(cat "$T/creds.err")" 0 "$rc"
	wait_for_lines "$T/sub.out" '"subject"' 30 24
	assertEquals "events" 24 "$(wc -l <"$T/sub.out")"
	assertEquals "subjects" "nro.$NODE_NAME.event.PodCrashLooping" "$(jq -r .subject "$T/sub.out" | sort -u)"
	# a user of an account this server does not trust
	"$BIN/sink-nats" -i - --url "$URL" --creds-file "$T/creds/stranger.creds" </dev/null 2>"$T/stranger.err"
	assertEquals "exit with a stranger's creds" 100 $?
	assertContains "$(cat "$T/stranger.err")" "Authorization Violation"
	assertNotContains "the seed is not logged" "$(cat "$T/stranger.err" "$T/creds.err")" "SUA"
}

# A throwaway CA, a server certificate for 127.0.0.1 and a client certificate.
make_ca() {
	local d=$T/pki
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=nro-test-ca \
		-keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
	for who in server client; do
		openssl req -newkey rsa:2048 -nodes -subj "/CN=$who" -keyout "$d/$who.key" \
			-out "$d/$who.csr" 2>/dev/null
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >"$d/$who.ext"
		openssl x509 -req -in "$d/$who.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
			-days 2 -extfile "$d/$who.ext" -out "$d/$who.pem" 2>/dev/null
	done
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca \
		-keyout "$d/other.key" -out "$d/other.pem" 2>/dev/null
}

test_tls_with_throwaway_ca() {
	make_ca
	local d=$T/pki
	URL_SCHEME=tls nats_start s1 --tls --tlscert "$d/server.pem" --tlskey "$d/server.key" \
		--tlsverify --tlscacert "$d/ca.pem" || return
	stream_add_tls() {
		NRO_TEST_TLS_CA=$d/ca.pem NRO_TEST_TLS_CERT=$d/client.pem NRO_TEST_TLS_KEY=$d/client.key "$@"
	}
	stream_add_tls client stream-add "$URL" NRO 'nro.>' 1 120 2>"$T/stream-add.err"
	rc=$?
	assertEquals "stream-add over TLS: $(cat "$T/stream-add.err")" 0 "$rc"
	"$BIN/analyzer" -i - -o - --set PodCrashLooping.resolve_after=0s <"$ROOT/a.rec" 2>/dev/null |
		"$BIN/sink-nats" -i - --url "$URL" --jetstream --tls-ca-file "$d/ca.pem" \
			--tls-cert-file "$d/client.pem" --tls-key-file "$d/client.key" \
			--tls-server-name localhost 2>"$T/tls.err"
	rc=$?
	assertEquals "exit over TLS: $(cat "$T/tls.err")" 0 "$rc"
	stream_add_tls client stream-dump "$URL" NRO >"$T/stream.json" 2>"$T/dump.err"
	assertEquals "24 events over TLS: $(cat "$T/dump.err")" 24 \
		"$(jq -c 'select(.headers["Nro-Kind"] == "event")' "$T/stream.json" | wc -l)"
	# without a client certificate the server refuses the handshake: the
	# sink keeps trying (a transient failure) and says why
	"$BIN/sink-nats" -i - --url "$URL" --tls-ca-file "$d/ca.pem" -v </dev/null 2>"$T/nocert.err"
	assertEquals "exit without input" 0 $?
	assertContains "$(cat "$T/nocert.err")" "cannot connect"
	# a server whose certificate another CA signed is not trusted
	"$BIN/sink-nats" -i - --url "$URL" --tls-ca-file "$d/other.pem" --tls-cert-file "$d/client.pem" \
		--tls-key-file "$d/client.key" </dev/null 2>"$T/otherca.err"
	assertContains "$(cat "$T/otherca.err")" "cannot connect"
	# nor one that names another host
	"$BIN/sink-nats" -i - --url "$URL" --tls-ca-file "$d/ca.pem" --tls-cert-file "$d/client.pem" \
		--tls-key-file "$d/client.key" --tls-server-name wrong.example </dev/null 2>"$T/name.err"
	assertContains "$(cat "$T/name.err")" "hostname mismatch"
	unset -f stream_add_tls
}

test_bad_usage() {
	local out
	out=$("$BIN/sink-nats" --format xml -i - </dev/null 2>&1)
	assertEquals "--format exit" 100 $?
	assertContains "$out" "xml"
	out=$("$BIN/sink-nats" --subject-prefix 'a..b' -i - </dev/null 2>&1)
	assertEquals "--subject-prefix exit" 100 $?
	assertContains "$out" "a..b"
	out=$("$BIN/sink-nats" --nats-user u --nats-password-file "$T/none" -i - </dev/null 2>&1)
	assertEquals "missing password file exit" 100 $?
	assertContains "$out" "$T/none"
	out=$("$BIN/sink-nats" --nats-user u -i - </dev/null 2>&1)
	assertEquals "user without password exit" 100 $?
	out=$(NRO_NATS_WINDOW=0 "$BIN/sink-nats" -i - </dev/null 2>&1)
	assertEquals "--window 0 exit" 100 $?
	assertContains "$out" "window"
	out=$("$BIN/sink-nats" --url 'bogus' -i - </dev/null 2>&1)
	assertEquals "--url exit" 100 $?
	out=$("$BIN/sink-nats" --url 'nats://me:s3cret@127.0.0.1:4222' -i - </dev/null 2>&1)
	assertEquals "credentials in --url exit" 100 $?
	assertNotContains "the secret is not repeated" "$out" "s3cret"
	# --help names every flag with its variable (an option's lines joined:
	# the help may wrap them)
	out=$("$BIN/sink-nats" --help)
	assertEquals "--help exit" 0 $?
	out=$(echo "$out" | awk '
		match($0, /^ +/) && RLENGTH < 10 && substr($0, RLENGTH + 1, 1) == "-" {
			if (cur != "") print cur
			cur = $0
			next
		}
		/^          / && cur != "" { sub(/^ +/, " "); cur = cur $0; next }
		{ if (cur != "") print cur; cur = "" }
		END { if (cur != "") print cur }')
	for f in url:NRO_NATS_URL subject-prefix:NRO_NATS_SUBJECT_PREFIX format:NRO_NATS_FORMAT \
		jetstream:NRO_NATS_JETSTREAM window:NRO_NATS_WINDOW nats-user:NRO_NATS_USER \
		nats-password-file:NRO_NATS_PASSWORD_FILE nats-token-file:NRO_NATS_TOKEN_FILE \
		nkey-seed-file:NRO_NATS_NKEY_SEED_FILE creds-file:NRO_NATS_CREDS_FILE \
		tls-ca-file:NRO_NATS_TLS_CA_FILE tls-cert-file:NRO_NATS_TLS_CERT_FILE; do
		# the variable closes the flag's (wrapped) description
		desc=$(echo "$out" | awk -v f="--${f%%:*} " 'index($0, f) { on = 1; print; next }
			on && /^  +-/ { exit } on { print }')
		assertContains "--help: $f" "$desc" "[${f#*:}]"
	done
}

# As a user would: the shipped svc/sink-nats (enabled by removing its down
# file) beside svc/analyzer and svc/collector-pods under a private s6-svscan,
# configured through .env files only.
test_s6_service_as_shipped() {
	# the services start first: no NATS server yet, then one without a stream
	NATS_PORT=$(free_port)
	URL=nats://127.0.0.1:$NATS_PORT
	start_replay --dir "$ROOT/pods-a" || return
	PIDS="$PIDS $REPLAY_PID"
	SCAN=$T/svc
	mkdir -p "$SCAN/.env" "$T/log"
	for s in analyzer collector-pods sink-nats; do
		cp -R "$TOP/svc/$s" "$SCAN/$s"
		rm -rf "$SCAN/$s/log"
	done
	assertTrue "svc/sink-nats ships disabled" "[ -f $SCAN/sink-nats/down ]"
	rm "$SCAN/sink-nats/down"
	echo "$BIN" >"$SCAN/.env/NRO_BIN"
	echo "$NRO_RUN_DIR" >"$SCAN/.env/NRO_RUN_DIR"
	echo "$REPLAY_URL" >"$SCAN/.env/NRO_KUBELET_URL"
	echo "$NODE_NAME" >"$SCAN/.env/NRO_NODE_NAME"
	echo 1s >"$SCAN/.env/NRO_INTERVAL"
	echo "$URL" >"$SCAN/.env/NRO_NATS_URL"
	echo 1 >"$SCAN/.env/NRO_NATS_JETSTREAM"
	s6-svscan "$SCAN" >"$T/s6.err" 2>&1 &
	SCAN_PID=$!
	wait_path "$SCAN/sink-nats/supervise/status"
	for s in analyzer sink-nats collector-pods; do
		svwait_up "$SCAN/$s" || fail "$s did not become ready: $(tail -3 "$T/s6.err")"
	done
	wait_for_lines "$T/s6.err" 'sink-nats: warning: cannot connect' 20
	nats_start s1 || return
	wait_for_lines "$T/s6.err" 'sink-nats: warning: JetStream refused' 30
	stream_add "$URL" || return
	unset NATS_PORT
	# every container of the recorded /pods crash-loops: 24 events
	local i=0 n=0
	while [ $i -lt 200 ]; do
		n=$(client stream-dump "$URL" NRO 2>/dev/null | jq -c 'select(.headers["Nro-Kind"] == "event")' | wc -l)
		[ "$n" -ge 24 ] && break
		sleep 0.1
		i=$((i + 1))
	done
	assertEquals "events in the stream: $(grep sink-nats "$T/s6.err" | tail -3)" 24 "$n"
	assertEquals "every event is a PodCrashLooping of $NODE_NAME" "nro.$NODE_NAME.event.PodCrashLooping" \
		"$(client stream-dump "$URL" NRO | jq -r 'select(.headers["Nro-Kind"] == "event") | .subject' | sort -u)"
	assertNotContains "$(cat "$T/s6.err")" "fatal"
}

. shunit2
