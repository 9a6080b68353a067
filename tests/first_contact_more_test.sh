#!/bin/bash
# First contact, the rest: records without a node name belong to the
# pipeline's one node; the analyzer and every sink exit 102 on input that is
# not records (said once), 100 on a ring or cursor path that cannot be one;
# a --once pipe says how many alerts are still firing ("0 alerts firing").
. "$(dirname "$0")/lib.sh"

oneTimeSetUp() {
	nro_tmpdir
	start_replay --dir "$FIXTURES/v1.34" || return
}

oneTimeTearDown() {
	kill "$REPLAY_PID" 2>/dev/null
	wait "$REPLAY_PID" 2>/dev/null
	rm -rf "$TMP"
}

# exit code $1, what $2, a message said exactly once $3, then the command
row() {
	want=$1 what=$2 msg=$3
	shift 3
	"$@" >"$TMP/row.out" 2>"$TMP/row.err" </dev/null
	got=$?
	assertEquals "$what: exit code ($(head -c 300 "$TMP/row.err"))" "$want" "$got"
	assertEquals "$what: '$msg' said once ($(cat "$TMP/row.err"))" 1 "$(grep -cF -- "$msg" "$TMP/row.err")"
}

nodes_in() {
	"$BIN/nro-dump" "$@" | grep -o '"node":"[^"]*"' | sort -u
}

test_a_nameless_record_takes_the_shared_name() {
	r=$TMP/shared
	mkdir -p "$r"
	echo n1 >"$r/node-name"
	# collector-healthz in a pipe has no name; the analyzer's run dir has one
	"$BIN/collector-healthz" --once -o - --kubelet "$REPLAY_URL" >"$TMP/healthz.rec"
	assertEquals "the collector knows no name" '"node":""' "$(nodes_in <"$TMP/healthz.rec")"
	NRO_RUN_DIR=$r "$BIN/analyzer" -i - <"$TMP/healthz.rec" 2>"$TMP/an.err"
	_rc=$?
	assertEquals "analyzer ($(cat "$TMP/an.err"))" 0 "$_rc"
	assertEquals "one node, the shared one" '"node":"n1"' "$(nodes_in --ring "$r/ring")"
}

test_a_nameless_record_in_a_pipe_takes_the_first_name_seen() {
	{
		"$BIN/collector-pods" --once -o - --kubelet "$REPLAY_URL"
		"$BIN/collector-healthz" --once -o - --kubelet "$REPLAY_URL"
	} 2>/dev/null | "$BIN/analyzer" -i - -o - 2>/dev/null >"$TMP/pipe.rec"
	assertEquals "one node" '"node":"datagen-1-34"' "$(nodes_in <"$TMP/pipe.rec")"
	assertContains "healthz's records kept" "$("$BIN/nro-dump" <"$TMP/pipe.rec")" '"source":"collector-healthz"'
}

test_not_records_is_102_said_once() {
	for t in analyzer sink-stdout sink-prom nro-dump; do
		case $t in
		analyzer) args="-i - -o -" ;;
		nro-dump) args="" ;;
		sink-prom) args="-i - --listen 127.0.0.1:0" ;;
		*) args="-i -" ;;
		esac
		row 102 "$t: not records" "input lost its framing" sh -c "'$BIN/$t' $args <'$TOP/README.md'"
	done
	head -c 10 "$TMP/healthz.rec" >"$TMP/cut.rec" 2>/dev/null ||
		"$BIN/collector-healthz" --once -o - --kubelet "$REPLAY_URL" | head -c 10 >"$TMP/cut.rec"
	row 102 "analyzer: cut record" "input ended inside a record" sh -c "'$BIN/analyzer' -i - -o - <'$TMP/cut.rec'"
	row 102 "sink-stdout: cut record" "input ended inside a record" sh -c "'$BIN/sink-stdout' -i - <'$TMP/cut.rec'"
}

test_ring_and_cursor_paths_are_configuration() {
	row 100 "analyzer: a ring path that cannot be" "--ring $TMP/none/x/ring:" \
		"$BIN/analyzer" --ring "$TMP/none/x/ring" -i "ipc://$TMP/r.ipc" -o "ipc://$TMP/e.ipc"
	for t in sink-stdout sink-prom sink-otel sink-nats; do
		row 100 "$t: --cursor a directory" "--cursor $TMP: is a directory" \
			"$BIN/$t" --cursor "$TMP" -i -
	done
}

test_fatal_is_one_word() {
	"$BIN/sink-stdout" --cursor "$TMP" -i - 2>"$TMP/fatal.err" </dev/null
	assertContains "$(cat "$TMP/fatal.err")" "sink-stdout: fatal: "
}

test_a_busy_port_names_the_cause() {
	python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True); time.sleep(600)' >"$TMP/busy.port" &
	holder=$!
	port=$(wait_first_line "$TMP/busy.port")
	for v in "" --verbose; do
		"$BIN/kubelet-replay" --dir "$FIXTURES/v1.34" --listen "127.0.0.1:$port" $v \
			>/dev/null 2>"$TMP/busy.err"
		assertEquals "busy port $v: transient" 111 $?
		assertContains "busy port $v: the cause" "$(cat "$TMP/busy.err")" \
			"cannot listen on 127.0.0.1:$port: Failed to bind to port $port: Address already in use"
		assertNotContains "busy port $v: no --verbose hint" "$(cat "$TMP/busy.err")" "run with --verbose"
	done
	kill $holder
	wait $holder 2>/dev/null || :
}

# collector-pods --once | analyzer | sink-stdout against kubelet directory $1
once_pipe() {
	start_replay --dir "$1" || return
	"$BIN/collector-pods" --once -o - --kubelet "$REPLAY_URL" 2>/dev/null |
		"$BIN/analyzer" -i - -o - 2>/dev/null | "$BIN/sink-stdout" -i - "${@:2}"
	echo "rc=$?"
	kill "$REPLAY_PID"
	wait "$REPLAY_PID" 2>/dev/null
}

test_a_once_pipe_says_how_many_alerts_fire() {
	# v1.35's node is healthy: the pipe is not silent
	assertEquals "healthy node" "0 alerts firing
rc=0" "$(once_pipe "$FIXTURES/v1.35" --format text)"
	out=$(once_pipe "$FIXTURES/v1.34" --format text)
	assertContains "crash loop line" "$out" "FIRING    warning   PodCrashLooping"
	assertEquals "the count last" "1 alert firing
rc=0" "$(echo "$out" | tail -n 2)"
	# JSON lines stay JSON lines
	assertEquals "json: no count" "rc=0" "$(once_pipe "$FIXTURES/v1.35" --format json)"
}

. shunit2
