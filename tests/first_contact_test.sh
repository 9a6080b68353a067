#!/bin/bash
# First contact (issue "First contact"): what a new user meets before
# reading any code. One node has one name across every collector, with and
# without NRO_NODE_NAME; every tool exits by one table (0 ok, 100
# configuration, 101 not served, 102 undecodable, 111 transient) with one
# clear line; every --help fits 80 columns and names each flag's variable;
# daemons say what they do at start; a tool that waits says what for.
. "$(dirname "$0")/lib.sh"

COLLECTORS="healthz syncloop pods summary probes configz resource spec cadvisor metrics"

oneTimeSetUp() {
	nro_tmpdir
	FX=$TMP/fx
	mkdir -p "$FX"
	# one node's every endpoint, from the recorded fixtures
	ln -s "$FIXTURES/v1.34/pods.json" "$FIXTURES/v1.34/stats_summary.json" \
		"$FIXTURES/v1.34/metrics_cadvisor.txt" "$FIXTURES/healthz/healthz_verbose.txt" \
		"$FIXTURES/config-1.32/configz.json" "$FIXTURES/gke-1.20/metrics_probes.txt" \
		"$FIXTURES/kind-1.21/metrics_resource.txt" "$FIXTURES/eks-1.21/metrics.txt" \
		"$FIXTURES/aws-spec/spec.json" "$FX/"
	start_replay --dir "$FX" --token good --deny-token denied || return
	echo good >"$TMP/tok-good"
	echo wrong >"$TMP/tok-wrong"
	echo denied >"$TMP/tok-denied"
	mkdir -p "$TMP/bad"
	echo '{"kind":"PodList","items":[' >"$TMP/bad/pods.json"
	printf 'oops\n' >"$TMP/bad/stats_summary.json"
	echo 503 >"$TMP/bad/stats_summary.json.status"
}

oneTimeTearDown() {
	kill "$REPLAY_PID" 2>/dev/null
	wait "$REPLAY_PID" 2>/dev/null
	rm -rf "$TMP"
}

# ---- one node, one name --------------------------------------------------------

# Runs every collector as a daemon publishing into run directory $1 (more
# arguments go to each), a listening nro-dump taking what they publish,
# until every collector has published $2 health records; then stops all.
run_collectors() {
	run=$1 polls=$2
	shift 2
	mkdir -p "$run"
	"$BIN/nro-dump" --listen -i "ipc://$run/records.ipc" >"$run/records.jsonl" 2>"$run/dump.err" &
	dump=$!
	wait_path "$run/records.ipc" || fail "nro-dump did not listen"
	pids=
	for c in $COLLECTORS; do
		NRO_RUN_DIR=$run "$BIN/collector-$c" --kubelet "$REPLAY_URL" --token-file "$TMP/tok-good" \
			--interval 200ms "$@" 2>"$run/$c.err" &
		pids="$pids $!"
	done
	for c in $COLLECTORS; do
		wait_for_lines "$run/records.jsonl" "\"kind\":\"health\".*\"source\":\"collector-$c\"" 60 "$polls" ||
			fail "collector-$c: fewer than $polls polls: $(head -c 300 "$run/$c.err")"
	done
	# shellcheck disable=SC2086
	kill $pids
	# shellcheck disable=SC2086
	wait $pids
	kill "$dump"
	wait "$dump"
}

# The node names records carry, one a line, "" for none yet.
names_in() {
	jq -r '.node // ""' "$1" | sort -u
}

test_one_node_name_learned_once_and_shared() {
	run=$TMP/learn
	run_collectors "$run" 3
	assertEquals "the name learned from the kubelet's data, written once" datagen-1-34 "$(cat "$run/node-name")"
	# the collectors whose data do not name the node waited for it: every
	# record has it, from the first one
	assertEquals "one name across all collectors" datagen-1-34 "$(names_in "$run/records.jsonl")"
	assertNotContains "never the hostname" "$(names_in "$run/records.jsonl")" "$(hostname)"
	# every collector, once the name is known, says it: its last records carry it
	for c in $COLLECTORS; do
		assertEquals "collector-$c: last record" datagen-1-34 \
			"$(jq -r "select(.source==\"collector-$c\") | .node // \"\"" "$run/records.jsonl" | tail -n1)"
	done
	# node objects too: no second node
	assertEquals "Node objects" "datagen-1-34" \
		"$(jq -r 'select(.object.kind=="Node" and (.object.name // "") != "") | .object.name' "$run/records.jsonl" | sort -u)"
}

test_one_node_name_from_the_environment() {
	run=$TMP/env
	NRO_NODE_NAME=node-from-env run_collectors "$run" 2
	assertEquals "every record, from the first one" node-from-env "$(names_in "$run/records.jsonl")"
	assertEquals "attributes too" node-from-env \
		"$(jq -r 'select(.attrs["k8s.node.name"]) | .attrs["k8s.node.name"]' "$run/records.jsonl" | sort -u)"
	assertFalse "the flag's name is not written for others" "[ -e '$run/node-name' ]"
}

# A collector whose data do not name the node says it waits for the name,
# and its first records carry the one shared then.
test_waits_for_the_shared_name() {
	run=$TMP/wait
	mkdir -p "$run"
	"$BIN/nro-dump" --listen -i "ipc://$run/records.ipc" >"$run/records.jsonl" 2>/dev/null &
	dump=$!
	wait_path "$run/records.ipc"
	NRO_RUN_DIR=$run "$BIN/collector-healthz" --kubelet "$REPLAY_URL" --token-file "$TMP/tok-good" \
		--interval 100ms 2>"$run/h.err" &
	h=$!
	wait_for_lines "$run/h.err" "waiting up to 5s for the node's name in $run/node-name" 10
	assertEquals "nothing polled while waiting" 0 "$(wc -c <"$run/records.jsonl")"
	echo shared-later >"$run/node-name"
	wait_for_lines "$run/records.jsonl" '"kind":"health"' 10
	kill $h
	wait $h
	kill $dump
	wait $dump
	assertEquals "the first records carry it" shared-later "$(names_in "$run/records.jsonl")"
	assertEquals "said once" 1 "$(grep -c 'waiting up to' "$run/h.err")"
}

test_a_shared_name_wins_over_data() {
	run=$TMP/shared
	mkdir -p "$run"
	echo first-node >"$run/node-name"
	run_collectors "$run" 2
	assertEquals "the name already shared" first-node "$(names_in "$run/records.jsonl")"
	assertContains "said once" "$(cat "$run/pods.err")" "keeping first-node"
	assertEquals "once" 1 "$(grep -c 'keeping first-node' "$run/pods.err")"
}

# ---- exit codes: one table -----------------------------------------------------

# row CODE WHAT MESSAGE TOOL ARGS...: the tool exits CODE with one stderr
# line containing MESSAGE (or, for 0, succeeds).
row() {
	want=$1 what=$2 msg=$3
	shift 3
	"$@" >"$TMP/row.out" 2>"$TMP/row.err" </dev/null
	got=$?
	assertEquals "$what: exit code ($(head -c 300 "$TMP/row.err"))" "$want" "$got"
	[ -z "$msg" ] || assertContains "$what: message" "$(cat "$TMP/row.err")" "$msg"
	[ -z "$msg" ] || assertEquals "$what: said once" 1 "$(grep -cF -- "$msg" "$TMP/row.err")"
}

test_exit_codes_nro_fetch() {
	f="$BIN/nro-fetch --kubelet $REPLAY_URL"
	row 101 "404" "this kubelet does not serve /spec/x" $f --token-file "$TMP/tok-good" /spec/x
	row 100 "401 no credentials" "401 Unauthorized: no credentials" $f /pods
	row 100 "401 wrong token" "rejected the credentials" $f --token-file "$TMP/tok-wrong" /pods
	row 100 "403" "lack RBAC 'get' on nodes/stats" $f --token-file "$TMP/tok-denied" /stats/summary
	row 100 "missing token file" "--token-file $TMP/none: No such file" $f --token-file "$TMP/none" /pods
	row 100 "missing CA file" "--ca-file /nonexistent: No such file" $f --ca-file /nonexistent /pods
	row 100 "past --max-body" "cap (--max-body)" $f --token-file "$TMP/tok-good" --max-body 1K /pods
	python3 "$TOP/tests/plain_http.py" >"$TMP/plain.port" &
	plain=$!
	port=$(wait_first_line "$TMP/plain.port")
	row 100 "https to plain HTTP" "the server does not speak TLS" \
		"$BIN/nro-fetch" --kubelet "https://127.0.0.1:$port" /pods
	kill $plain
	row 100 "a path without /" "did you mean /pods?" $f pods
	row 100 "a flag variable" "NRO_INSECURE_SKIP_VERIFY: bad value 'maybe'" \
		env NRO_INSECURE_SKIP_VERIFY=maybe $f /pods
	row 111 "unreachable" "kubelet unreachable" "$BIN/nro-fetch" --kubelet http://127.0.0.1:1 /pods
}

test_exit_codes_collectors() {
	mkdir -p "$TMP/runs"
	once="--once -o - --kubelet $REPLAY_URL"
	row 100 "pods: missing token file" "--token-file $TMP/none" \
		"$BIN/collector-pods" $once --token-file "$TMP/none"
	row 100 "pods: past --max-body" "cap (--max-body)" \
		"$BIN/collector-pods" $once --token-file "$TMP/tok-good" --max-body 1K
	row 100 "summary: 403" "lack RBAC 'get' on nodes/stats" \
		"$BIN/collector-summary" $once --token-file "$TMP/tok-denied"
	row 101 "spec-less path: 404" "does not serve" \
		"$BIN/collector-syncloop" --once -o - --kubelet "$REPLAY_URL/nothing" --token-file "$TMP/tok-good"
	row 100 "-o a file" "is not an nng URL" "$BIN/collector-pods" --once -o /tmp/out.bin
	row 100 "NRO_DEBUG=maybe" "NRO_DEBUG: bad value 'maybe'" env NRO_DEBUG=maybe "$BIN/collector-pods" --once -o -
	# no analyzer: nothing is polled, so nothing is lost; said, not a warning and 0
	row 111 "--once without a subscriber" "nothing subscribes to ipc://$TMP/runs/records.ipc" \
		env NRO_RUN_DIR="$TMP/runs" "$BIN/collector-pods" --once --timeout 300ms --kubelet "$REPLAY_URL"
	kill "$REPLAY_PID" # the setup's replay: started again below (it leaked)
	wait "$REPLAY_PID" 2>/dev/null
	start_replay --dir "$TMP/bad" || return
	bad=$REPLAY_URL
	row 102 "pods: a body that is not JSON" "invalid JSON" "$BIN/collector-pods" --once -o - --kubelet "$bad"
	row 111 "summary: 503" "503 Service Unavailable" "$BIN/collector-summary" --once -o - --kubelet "$bad"
	kill "$REPLAY_PID"
	wait "$REPLAY_PID" 2>/dev/null
	start_replay --dir "$FX" --token good --deny-token denied
}

test_exit_codes_pipeline_tools() {
	row 100 "analyzer --run-dir" "--run-dir: /nonexistent/x cannot be made: /nonexistent does not exist" \
		"$BIN/analyzer" --run-dir /nonexistent/x
	row 100 "NRO_RUN_DIR names its variable" "NRO_RUN_DIR: /nonexistent/x cannot be made" \
		env NRO_RUN_DIR=/nonexistent/x "$BIN/analyzer"
	mkdir -p "$TMP/tpc"
	row 100 "analyzer -o tpc://" "-o: 'tpc://x' is not an nng URL" \
		env NRO_RUN_DIR="$TMP/tpc" "$BIN/analyzer" -o tpc://x
	assertFalse "no ring left behind" "[ -e '$TMP/tpc/ring' ]"
	row 100 "nro-dump --ring missing" "--ring /nonexistent: " "$BIN/nro-dump" --ring /nonexistent
	row 102 "nro-dump: not records" "input lost its framing" sh -c "'$BIN/nro-dump' <'$TOP/README.md'"
	row 102 "sink-stdout: not records" "input lost its framing" sh -c "'$BIN/sink-stdout' -i - <'$TOP/README.md'"
	row 100 "NRO_FORMAT names its variable" "NRO_FORMAT: bad value 'yaml'" \
		env NRO_FORMAT=yaml "$BIN/sink-stdout" -i -
	row 100 "unknown option" "unknown option '--nope'" "$BIN/sink-stdout" --nope
	row 100 "--cursor a directory" "--cursor /tmp: is a directory" "$BIN/sink-stdout" --cursor /tmp
}

# ---- --help -------------------------------------------------------------------

test_help_lint() {
	for b in "$BIN"/*; do
		t=$(basename "$b")
		"$b" --help >"$TMP/help" 2>&1
		assertEquals "$t --help exits 0" 0 $?
		awk -f "$TOP/tests/help_lint.awk" "$TMP/help" >"$TMP/lint"
		sed "s|^|$t: |" "$TMP/lint" >"$TMP/lint.$t"
		grep -q . "$TMP/help" || fail "$t: empty help"
		assertEquals "$t: $(cat "$TMP/lint.$t")" 0 "$(wc -l <"$TMP/lint.$t")"
		assertContains "$t: the exit codes" "$(cat "$TMP/help")" "101 the kubelet does not serve"
	done
	for c in $COLLECTORS; do
		"$BIN/collector-$c" --help | tr -s ' \n' '  ' >"$TMP/help"
		assertContains "collector-$c: endpoint" "$(cat "$TMP/help")" "Endpoint: GET /"
		assertContains "collector-$c: RBAC" "$(cat "$TMP/help")" "RBAC: get on nodes/"
		assertContains "collector-$c: interval" "$(cat "$TMP/help")" "Default interval: "
		assertContains "collector-$c: -o default" "$(cat "$TMP/help")" "(default ipc://\$NRO_RUN_DIR/records.ipc)"
	done
	"$BIN/nro-fetch" --help >"$TMP/help"
	assertNotContains "nro-fetch: no --ready-fd" "$(cat "$TMP/help")" "--ready-fd"
	assertNotContains "nro-fetch: no --run-dir" "$(cat "$TMP/help")" "--run-dir"
}

# An endpoint this kubelet does not serve is an information, said once, not
# a warning every poll; its error records say not_served (the analyzer's
# cue not to call the collector down). A base URL with a path is said too.
test_not_served_is_said_once() {
	run=$TMP/notserved
	mkdir -p "$run"
	"$BIN/collector-syncloop" --kubelet "$REPLAY_URL/proxy" --token-file "$TMP/tok-good" \
		--interval 100ms -o - >"$run/out.bin" 2>"$run/err" &
	pid=$!
	wait_for_lines "$run/err" "does not serve" 10
	# at least 4 polls: the size of 4 error records and 4 health records
	i=0
	while [ "$("$BIN/nro-dump" -k H <"$run/out.bin" 2>/dev/null | wc -l)" -lt 4 ] && [ $i -lt 200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	kill $pid
	wait $pid
	"$BIN/nro-dump" <"$run/out.bin" >"$run/out.jsonl" 2>/dev/null
	polls=$(jq -r 'select(.kind=="health") | 1' "$run/out.jsonl" | wc -l)
	assertTrue "4 polls or more ($polls)" "[ $polls -ge 4 ]"
	assertEquals "said once" 1 "$(grep -c 'does not serve' "$run/err")"
	assertContains "at info level" "$(grep 'does not serve' "$run/err")" "collector-syncloop: info: GET /healthz/syncloop: 404 Not Found"
	assertEquals "no warning" 0 "$(grep -c ': warning: ' "$run/err")"
	assertEquals "health: degraded, not failed (no CollectorDown)" "degraded 404" \
		"$(jq -r 'select(.kind=="health") | "\(.status) \(.http_status)"' "$run/out.jsonl" | sort -u)"
	assertEquals "every error record is not_served 404" "not_served 404" \
		"$(jq -r 'select(.kind=="error") | "\(.code) \(.http_status)"' "$run/out.jsonl" | sort -u)"
	assertContains "the base URL's path is said" "$(cat "$run/err")" \
		"kubelet URL $REPLAY_URL/proxy has a path: requests go to /proxy/<endpoint>"
}

# End to end through the analyzer: a collector whose endpoint is not served
# is not a collector down; one whose kubelet is unreachable is (the control
# that shows the test can fail).
test_not_served_is_no_collector_down() {
	run=$TMP/down
	mkdir -p "$run"
	NRO_RUN_DIR=$run "$BIN/analyzer" -d 3 3>"$run/a.ready" 2>"$run/a.err" &
	a=$!
	wait_ready "$run/a.ready" || fail "analyzer not ready"
	"$BIN/nro-dump" -k E -i "ipc://$run/events.ipc" >"$run/events.jsonl" 2>/dev/null &
	d=$!
	NRO_RUN_DIR=$run "$BIN/collector-syncloop" --kubelet "$REPLAY_URL/proxy" --node n1 \
		--token-file "$TMP/tok-good" --interval 100ms 2>"$run/s.err" &
	s=$!
	NRO_RUN_DIR=$run "$BIN/collector-healthz" --kubelet http://127.0.0.1:1 --node n1 \
		--interval 100ms 2>"$run/h.err" &
	h=$!
	wait_for_lines "$run/events.jsonl" '"type":"CollectorDown".*collector-healthz' 30
	# the not-served one had as long: ten intervals and more
	kill $s $h
	wait $s $h
	kill $d $a
	wait $d $a
	assertEquals "the unreachable one is down" 1 \
		"$(grep -c '"type":"CollectorDown".*collector-healthz' "$run/events.jsonl")"
	assertEquals "the not-served one is not" 0 \
		"$(grep -c '"type":"CollectorDown".*collector-syncloop' "$run/events.jsonl")"
}

test_version_names_the_git_revision() {
	out=$("$BIN/collector-pods" --version)
	assertEquals 0 $?
	echo "$out" | grep -qE '^collector-pods [0-9]+\.[0-9]+\.[0-9]+ \(git [0-9a-f]{7,}(-dirty)?\)$'
	assertTrue "version line: $out" $?
}

# ---- nothing fails or waits silently -------------------------------------------

# Waits (bounded) until s6 readiness file $1 has its newline.
wait_ready() {
	i=0
	while [ $i -lt 400 ]; do
		[ -s "$1" ] && return 0
		sleep 0.025
		i=$((i + 1))
	done
	return 1
}

test_daemons_say_what_they_do() {
	run=$TMP/start
	mkdir -p "$run"
	NRO_RUN_DIR=$run "$BIN/analyzer" -d 3 3>"$run/a.ready" 2>"$run/a.err" &
	a=$!
	wait_ready "$run/a.ready" || fail "analyzer not ready"
	NRO_RUN_DIR=$run NRO_NODE_NAME=n1 "$BIN/collector-pods" --kubelet "$REPLAY_URL" \
		--token-file "$TMP/tok-good" -d 3 3>"$run/c.ready" 2>"$run/c.err" &
	c=$!
	wait_ready "$run/c.ready" || fail "collector not ready"
	kill $a $c
	wait $a $c
	assertEquals "analyzer: one line" 1 "$(grep -c ': info: reading ' "$run/a.err")"
	assertContains "analyzer" "$(cat "$run/a.err")" \
		"analyzer: info: reading ipc://$run/records.ipc; publishing on ipc://$run/events.ipc; node"
	assertContains "collector" "$(cat "$run/c.err")" \
		"collector-pods: info: polling $REPLAY_URL/pods every 15s; publishing on ipc://$run/records.ipc; node n1 (--node/NRO_NODE_NAME)"
}

test_waiting_tools_say_what_for_once() {
	"$BIN/sink-stdout" --ring "$TMP/nonexistent/ring" --cursor none -i "ipc://$TMP/nothing.ipc" \
		2>"$TMP/w1.err" &
	s=$!
	"$BIN/nro-dump" -i "ipc://$TMP/nothing.ipc" 2>"$TMP/w2.err" &
	d=$!
	wait_for_lines "$TMP/w1.err" "waiting for the analyzer: its ring $TMP/nonexistent/ring does not exist yet" 10
	wait_for_lines "$TMP/w2.err" "waiting for a publisher on ipc://$TMP/nothing.ipc" 10
	kill $s $d
	wait $s $d
	assertEquals "sink-stdout: once" 1 "$(grep -c waiting "$TMP/w1.err")"
	assertEquals "nro-dump: once" 1 "$(grep -c waiting "$TMP/w2.err")"
}

test_text_on_a_terminal_json_otherwise() {
	"$TESTBIN/record_test" --sample >"$TMP/sample.bin"
	"$BIN/sink-stdout" -i - <"$TMP/sample.bin" >"$TMP/pipe.out" 2>/dev/null
	jq -e . "$TMP/pipe.out" >/dev/null
	assertEquals "JSON into a pipe" 0 $?
	script -qec "$BIN/sink-stdout -i - --color never <'$TMP/sample.bin'" /dev/null >"$TMP/tty.out" 2>&1
	grep -qE '^[0-9-]{10}T[0-9:]{8}\.[0-9]{3}Z  (FIRING|RESOLVED)' "$TMP/tty.out"
	_rc=$?
	assertTrue "text on a terminal: $(head -c 200 "$TMP/tty.out")" "$_rc"
}

. shunit2
