#!/bin/bash
# collector-healthz against kubelet-replay: the verbose fixture (three ok
# checks), an HTTP 500 with a failing syncloop (a successful poll of an
# unhealthy kubelet), a plain "ok" (no named checks), excluded checks,
# unrecognized lines, and failed polls (unreachable, timeout, 404, 401).
# Runs the plain build and, when built, the ASan+UBSan build.
#
#   bash tests/collectors_healthz_test.sh
#   NRO_BIN=build/san/bin bash tests/collectors_healthz_test.sh

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/jsoncollect_lib.sh"

oneTimeSetUp() { nro_tmpdir; }
oneTimeTearDown() { jc_stop_replay; rm -rf "$TMP"; }
tearDown() { jc_stop_replay; }

# states: "key value num reason" per state, in order.
states() {
	jl 'select(.kind=="state") | "\(.key) \(.value) \(.num) \(.attrs.reason // "-")"'
}

# The node of every state's object and header must be the given one.
assert_node() { # WHAT NODE
	assertEquals "$1: state objects are the node" "Node $2" \
		"$(jl 'select(.kind=="state") | "\(.object.kind) \(.object.name // "")"' | sort -u)"
	assertEquals "$1: header node" "$2" "$(jl .node | sort -u)"
}

test_verbose_fixture_three_ok_checks() {
	f="$FIXTURES/healthz/healthz_verbose.txt"
	want_checks=$(sed -n 's/^\[+\]\([^ ]*\) ok$/\1/p' "$f" | tr '\n' ' ')
	assertEquals "the fixture has ping, log, syncloop" "ping log syncloop " "$want_checks"
	jc_replay "$FIXTURES/healthz" || return
	for b in $BINS; do
		w=$(flavour "$b")
		collect "$b" collector-healthz --node n1
		assertEquals "$w: exit" 0 "$RC"
		assertEquals "$w: states" "kubelet.healthz ok 1 -
kubelet.healthz.ping ok 1 -
kubelet.healthz.log ok 1 -
kubelet.healthz.syncloop ok 1 -" "$(states)"
		assert_node "$w" n1
		assertEquals "$w: health" "ok 200 /healthz?verbose $(stat -c %s "$f") 10000" \
			"$(jl 'select(.kind=="health") | "\(.status) \(.http_status) \(.target) \(.bytes) \(.interval_ms)"')"
	done
}

test_500_is_an_unhealthy_kubelet_not_a_failed_poll() {
	fx syncloop
	printf '[+]ping ok\n[+]log ok\n[-]syncloop failed: reason withheld\nhealthz check failed\n' \
		>"$FX/healthz_verbose.txt"
	echo 500 >"$FX/healthz_verbose.txt.status"
	jc_replay "$FX" || return
	for b in $BINS; do
		w=$(flavour "$b")
		collect "$b" collector-healthz --node n1
		assertEquals "$w: exit (the poll succeeded)" 0 "$RC"
		assertEquals "$w: states" "kubelet.healthz failed 0 syncloop failed: reason withheld
kubelet.healthz.ping ok 1 -
kubelet.healthz.log ok 1 -
kubelet.healthz.syncloop failed 0 reason withheld" "$(states)"
		assertEquals "$w: no error record" "" "$(error_of)"
		assertEquals "$w: health ok with the kubelet's status" "ok 500" \
			"$(jl 'select(.kind=="health") | "\(.status) \(.http_status)"')"
	done
}

test_several_failing_checks_and_verbose_reasons() {
	fx two
	printf '[+]ping ok\n[-]log failed: log rotation stuck\n[+]etcd excluded: ok\n[-]syncloop failed: sync loop is 6m0s old\nhealthz check failed' \
		>"$FX/healthz_verbose.txt"
	echo 500 >"$FX/healthz_verbose.txt.status"
	jc_replay "$FX" || return
	collect "$BIN" collector-healthz --node n1
	assertEquals "exit" 0 "$RC"
	assertEquals "states" "kubelet.healthz failed 0 log failed: log rotation stuck; syncloop failed: sync loop is 6m0s old
kubelet.healthz.ping ok 1 -
kubelet.healthz.log failed 0 log rotation stuck
kubelet.healthz.etcd ok 1 excluded
kubelet.healthz.syncloop failed 0 sync loop is 6m0s old" "$(states)"
}

test_plain_ok_body_has_no_checks() {
	fx plain
	printf 'ok' >"$FX/healthz_verbose.txt"
	jc_replay "$FX" || return
	for b in $BINS; do
		collect "$b" collector-healthz --node n1
		assertEquals "$(flavour "$b"): exit" 0 "$RC"
		assertEquals "$(flavour "$b"): overall only" "kubelet.healthz ok 1 -" "$(states)"
		assertEquals "$(flavour "$b"): health" ok "$(health_status)"
	done
	# the replay's built-in /healthz?verbose answer when no file exists
	fx nofile
	jc_stop_replay
	jc_replay "$FX" || return
	collect "$BIN" collector-healthz --node n1
	assertEquals "built-in ok" "kubelet.healthz ok 1 -" "$(states)"
}

test_500_without_check_lines() {
	fx bare
	printf 'internal server error\n' >"$FX/healthz_verbose.txt"
	echo 500 >"$FX/healthz_verbose.txt.status"
	jc_replay "$FX" || return
	collect "$BIN" collector-healthz --node n1
	assertEquals "exit" 0 "$RC"
	assertEquals "the first line is the reason" "kubelet.healthz failed 0 internal server error" "$(states)"
}

test_unrecognized_lines_degrade() {
	fx odd
	printf '[+]ping ok\n<html>proxy says hi</html>\n[+]bad name! ok\n' >"$FX/healthz_verbose.txt"
	jc_replay "$FX" || return
	collect "$BIN" collector-healthz --node n1
	assertEquals "exit" 0 "$RC"
	assertEquals "states" "kubelet.healthz ok 1 -
kubelet.healthz.ping ok 1 -" "$(states)"
	assertEquals "health" degraded "$(health_status)"
	assertContains "$(jl 'select(.kind=="health") | .message')" \
		'/healthz?verbose: 2 unrecognized lines (first: "<html>proxy says hi</html>")'
}

test_failed_polls() {
	fx slow
	cp "$FIXTURES/healthz/healthz_verbose.txt" "$FX/"
	echo forever >"$FX/healthz_verbose.txt.delay"
	fx missing
	printf 'x' >"$FX/other.txt"
	for b in $BINS; do
		w=$(flavour "$b")
		URL=http://127.0.0.1:1
		collect "$b" collector-healthz --node n1
		assert_failed connect 111 0 "$w unreachable"
		assertContains "$w unreachable: message" "$(jl 'select(.kind=="error") | .message')" \
			"GET /healthz?verbose: kubelet unreachable"

		jc_replay "$TMP/fx/slow" || return
		collect "$b" collector-healthz --node n1 --timeout 300ms
		assert_failed timeout 111 0 "$w timeout"
		jc_stop_replay
	done
	# a kubelet that does not know the path, or refuses us: failed polls too
	"$REPLAY_BIN/kubelet-replay" --dir "$TMP/fx/missing" --token secret >"$TMP/r.out" 2>/dev/null &
	REPLAY_PID=$!
	URL=$(wait_first_line "$TMP/r.out") || { fail "no replay"; return; }
	collect "$BIN" collector-healthz --node n1
	assert_failed auth 100 401 "401"
	printf 'secret\n' >"$TMP/token"
	chmod 600 "$TMP/token"
	collect "$BIN" collector-healthz --node n1 --token-file "$TMP/token"
	assertEquals "with the token: ok (built-in answer)" "kubelet.healthz ok 1 -" "$(states)"
	jc_stop_replay
}

# /healthz does not name the node: without NRO_NODE_NAME (and, in a pipe,
# no run directory to share a learned name) the name stays empty, never the
# hostname (in a pod that is the pod's name).
test_node_name_never_the_hostname() {
	jc_replay "$FIXTURES/healthz" || return
	collect "$BIN" collector-healthz
	assert_node "no name known" ""
	assertNotContains "hostname" "$(jl .node)" "$(hostname)"
	NRO_NODE_NAME=from-env collect "$BIN" collector-healthz
	assert_node "NRO_NODE_NAME" from-env
}

. shunit2
