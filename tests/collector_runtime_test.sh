#!/bin/bash
# collector-runtime against a stand-in CRI runtime (tests/cri_server.py:
# Debian python3-grpcio serving runtime.v1.RuntimeService on a unix socket):
# ready, runtime not ready, network not ready with the CNI message, no
# conditions, answers slower than --timeout, a missing socket, garbage bytes
# on the socket, a non-zero grpc-status; and a long-running collector that
# follows the runtime's changes. Runs the plain build and, when built, the
# ASan+UBSan build.
#
#   bash tests/collector_runtime_test.sh
#   NRO_BIN=build/san/bin bash tests/collector_runtime_test.sh

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/services_lib.sh"

services_bins collector-runtime
PY=/usr/bin/python3 # Debian's, where python3-grpcio and python3-protobuf live
SRV_PID=""
CTD_PID=""
nrun=0

oneTimeSetUp() {
	nro_tmpdir
	protoc-c --proto_path="$TOP/lib" --descriptor_set_out="$TMP/cri.desc" net/cri.proto ||
		fail "protoc-c could not read lib/net/cri.proto"
}
oneTimeTearDown() { stop_server; rm -rf "$TMP"; }
tearDown() { s6_stop; stop_server; stop_pid CTD_PID; }

# start_server MODE...: the stand-in runtime on $SOCK answering as MODE.
start_server() {
	[ -n "${KEEP_SOCK:-}" ] || SOCK="$TMP/cri.$nrun.sock"
	nrun=$((nrun + 1))
	echo "$*" >"$TMP/mode"
	: >"$TMP/calls"
	if [ "$1" = garbage ] || [ "$1" = silent ]; then
		$PY "$TOP/tests/cri_server.py" "--$1" --socket "$SOCK" >"$TMP/srv.out" 2>"$TMP/srv.err" &
	else
		$PY "$TOP/tests/cri_server.py" --socket "$SOCK" --descriptors "$TMP/cri.desc" \
			--mode-file "$TMP/mode" --log "$TMP/calls" >"$TMP/srv.out" 2>"$TMP/srv.err" &
	fi
	SRV_PID=$!
	wait_first_line "$TMP/srv.out" >/dev/null && wait_path "$SOCK" ||
		{ fail "cri_server did not start: $(cat "$TMP/srv.err")"; return 1; }
}

stop_server() { stop_pid SRV_PID; }

# collect B ARGS...: B/collector-runtime --once -o - ARGS; JSON lines in $OUT,
# stderr in $ERR, exit code in RC. Fails the test on a sanitizer report.
collect() {
	_b=$1
	shift
	nrun=$((nrun + 1))
	OUT="$TMP/out.$nrun.jl"
	ERR="$TMP/err.$nrun"
	"$_b/collector-runtime" --once -o - --node n1 "$@" >"$TMP/out.$nrun.bin" 2>"$ERR"
	RC=$?
	"$BIN/nro-dump" <"$TMP/out.$nrun.bin" >"$OUT" 2>>"$ERR" || fail "nro-dump refused the output"
	if grep -qE 'Sanitizer|runtime error:' "$ERR"; then
		fail "$_b/collector-runtime $*: sanitizer report: $(head -c 2000 "$ERR")"
	fi
}

jl() { jq -r "$1" "$OUT"; }
# "key value reason|message" per state
states() {
	jl 'select(.kind=="state") | "\(.key) \(.value) \(.attrs.reason // "-")|\(.attrs.message // "-")"'
}
reach() { jl 'select(.kind=="state" and .key=="cri.reachable") | "\(.value) \(.attrs.error // "-")"'; }
error_of() { jl 'select(.kind=="error") | "\(.code) \(.target)"'; }

test_ready_runtime() {
	start_server ready || return
	for b in $BINS; do
		w=$(flavour "$b")
		collect "$b" --runtime-endpoint "unix://$SOCK"
		assertEquals "$w: exit" 0 "$RC"
		assertEquals "$w: states" "cri.reachable true -|-
cri.runtime containerd -|-
cri.condition.RuntimeReady true -|-
cri.condition.NetworkReady true -|-" "$(states)"
		assertEquals "$w: runtime version" "v1.7.24 v1 unix://$SOCK" \
			"$(jl 'select(.key=="cri.runtime") | "\(.attrs.version) \(.attrs.api_version) \(.attrs.endpoint)"')"
		assertEquals "$w: objects are the node" "Node n1" \
			"$(jl 'select(.kind=="state") | "\(.object.kind) \(.object.name)"' | sort -u)"
		assertEquals "$w: a latency per call" "Version s
Status s" "$(jl 'select(.kind=="metric" and .name=="cri.call.duration" and .value >= 0) | "\(.attrs."rpc.method") \(.unit)"')"
		assertEquals "$w: health" "ok unix://$SOCK 10000" \
			"$(jl 'select(.kind=="health") | "\(.status) \(.target) \(.interval_ms)"')"
	done
	# what the runtime was asked: the version field, and a deadline it can honour
	assertContains "$(cat "$TMP/calls")" "Version version=v1 grpc-timeout=yes"
	assertContains "$(cat "$TMP/calls")" "Status verbose=False grpc-timeout=yes"
}

# check_conditions MODE WANT: the runtime answering as MODE gives the
# conditions WANT ("key value reason|message" lines), and the poll succeeds.
check_conditions() {
	start_server "$1" || return
	for b in $BINS; do
		collect "$b" -r "unix://$SOCK"
		assertEquals "$1 $(flavour "$b"): exit (the runtime answered)" 0 "$RC"
		assertEquals "$1 $(flavour "$b")" "$2" "$(states | grep condition)"
		assertEquals "$1: num follows the status" "$(echo "$2" | awk '{print ($2 == "true")}')" \
			"$(jl 'select(.key|startswith("cri.condition.")) | .num')"
	done
	stop_server
}

test_runtime_not_ready() {
	check_conditions runtime-not-ready "cri.condition.RuntimeReady false ContainerdNotReady|containerd is starting
cri.condition.NetworkReady true -|-"
}

test_network_not_ready_with_the_cni_message() {
	check_conditions network-not-ready "cri.condition.RuntimeReady true -|-
cri.condition.NetworkReady false NetworkPluginNotReady|Network plugin returns error: cni plugin not initialized"
}

test_missing_conditions_are_not_ready() {
	check_conditions no-conditions "cri.condition.RuntimeReady false ConditionMissing|the runtime's Status has no such condition
cri.condition.NetworkReady false ConditionMissing|the runtime's Status has no such condition"
}

test_other_conditions_and_unusable_types() {
	check_conditions odd-types "cri.condition.CustomReady false Custom|-
cri.condition.RuntimeReady true -|-
cri.condition.NetworkReady true -|-"
	assertEquals "a type that cannot be a key is skipped and said" \
		"degraded Status: 1 conditions without a usable type skipped" \
		"$(jl 'select(.kind=="health") | "\(.status) \(.message)"')"
}

# A runtime that never answers: only our --timeout ends the call. (The
# grpcio stand-in's "slow" mode would race its own server-side deadline,
# the client's grpc-timeout, against ours: under load it could answer
# DEADLINE_EXCEEDED first.)
test_slow_answer_past_timeout() {
	start_server silent || return
	for b in $BINS; do
		collect "$b" -r "unix://$SOCK" --timeout 300ms
		assertEquals "$(flavour "$b"): exit (transient)" 111 "$RC"
		assertEquals "false timeout" "$(reach)"
		assertEquals "timeout unix://$SOCK" "$(error_of)"
		assertContains "$(cat "$ERR")" "collector-runtime: warning: unix://$SOCK: /runtime.v1.RuntimeService/Version: no answer within the timeout"
		assertEquals "no condition guessed" "" "$(states | grep condition)"
	done
}

test_socket_missing() {
	for b in $BINS; do
		collect "$b" -r "unix://$TMP/absent.sock"
		assertEquals "$(flavour "$b"): exit (transient)" 111 "$RC"
		assertEquals "false connect" "$(reach)"
		assertEquals "connect unix://$TMP/absent.sock" "$(error_of)"
		assertEquals "health failed" failed "$(jl 'select(.kind=="health") | .status')"
	done
}

test_garbage_on_the_socket() {
	start_server garbage || return
	for b in $BINS; do
		collect "$b" -r "unix://$SOCK"
		assertEquals "$(flavour "$b"): exit (102: an answer that does not decode)" 102 "$RC"
		assertEquals "false protocol" "$(reach)"
		assertEquals "parse unix://$SOCK" "$(error_of)"
	done
}

test_answer_that_is_no_protobuf() {
	start_server bad-message || return
	for b in $BINS; do
		collect "$b" -r "unix://$SOCK"
		assertEquals "$(flavour "$b"): exit (102: does not decode)" 102 "$RC"
		assertEquals "false protocol" "$(reach)"
		assertContains "$(jl 'select(.kind=="error") | "\(.code) \(.message)"')" \
			"parse unix://$SOCK: /runtime.v1.RuntimeService/Version: answer of 6 bytes is not a runtime.v1.VersionResponse"
	done
}

test_answer_past_the_cap() {
	start_server huge || return
	for b in $BINS; do
		collect "$b" -r "unix://$SOCK"
		assertEquals "$(flavour "$b"): exit (100: past the cap)" 100 "$RC"
		assertContains "$(jl 'select(.kind=="error") | "\(.code) \(.message)"')" \
			"too_large unix://$SOCK: /runtime.v1.RuntimeService/Version: response larger than 1048576 bytes"
	done
}

test_non_zero_grpc_status() {
	start_server grpc-error 14 runtime is shutting down || return
	for b in $BINS; do
		collect "$b" -r "unix://$SOCK"
		assertEquals "$(flavour "$b"): exit (111: UNAVAILABLE is transient)" 111 "$RC"
		assertEquals "false grpc 14" \
			"$(jl 'select(.key=="cri.reachable") | "\(.value) \(.attrs.error) \(.attrs.grpc_status)"')"
		assertContains "$(jl 'select(.kind=="error") | .message')" \
			"grpc-status 14 UNAVAILABLE: runtime is shutting down"
	done
	echo "grpc-error 12" >"$TMP/mode"
	collect "$BIN" -r "unix://$SOCK"
	assertContains "$(jl 'select(.kind=="error") | .message')" "grpc-status 12 UNIMPLEMENTED"
}

test_follows_the_runtime_across_polls() {
	start_server ready || return
	out="$TMP/live.jl"
	"$BIN/collector-runtime" -o - --node n1 -r "unix://$SOCK" --interval 100ms \
		2>"$TMP/live.err" > >("$BIN/nro-dump" >"$out") &
	live=$!
	wait_for_lines "$out" '"cri.condition.NetworkReady","value":"true"' 10 || fail "no ready poll"
	echo network-not-ready >"$TMP/mode"
	wait_for_lines "$out" '"cri.condition.NetworkReady","value":"false"' 10 || fail "not-ready not seen"
	stop_server
	wait_for_lines "$out" '"cri.reachable","value":"false".*"error":"connect"' 10 || fail "runtime gone not seen"
	KEEP_SOCK=1 start_server ready || { kill "$live"; return; }
	wait_for_lines "$out" '"cri.reachable","value":"true"' 10 \
		"$(( $(grep -c '"cri.reachable","value":"true"' "$out") + 1 ))" || fail "runtime back not seen"
	kill -TERM "$live"
	wait "$live"
	assertEquals "exit on TERM" 0 $?
	assertNotContains "$(cat "$TMP/live.err")" "Sanitizer"
}

test_default_search_says_what_it_tried() {
	for f in /run/containerd/containerd.sock /run/crio/crio.sock /var/run/cri-dockerd.sock; do
		[ -e "$f" ] && { startSkipping; echo "a runtime socket exists here ($f): skipped"; }
	done
	collect "$BIN"
	assertEquals "exit (transient)" 111 "$RC"
	assertEquals "false connect" "$(reach)"
	assertEquals "connect unix:///run/containerd/containerd.sock: no CRI socket found (tried /run/containerd/containerd.sock, /run/crio/crio.sock, /var/run/cri-dockerd.sock); set --runtime-endpoint" \
		"$(jl 'select(.kind=="error") | "\(.code) \(.message)"')"
}

test_needs_only_connect_permission_on_the_socket() {
	can_drop_root || return 0
	start_server ready || return
	chmod 711 "$TMP"
	chmod 666 "$SOCK"
	as_nobody "$BIN/collector-runtime" --once -o - --node n1 -r "unix://$SOCK" >"$TMP/nobody.bin" 2>"$TMP/nobody.err"
	_rc=$?
	assertEquals "as nobody, socket writable: exit $(cat "$TMP/nobody.err")" 0 "$_rc"
	assertEquals "true" "$("$BIN/nro-dump" <"$TMP/nobody.bin" | jq -r 'select(.key=="cri.reachable") | .value')"
	chmod 600 "$SOCK" # the control: without connect permission it must fail
	as_nobody "$BIN/collector-runtime" --once -o - --node n1 -r "unix://$SOCK" >/dev/null 2>"$TMP/nobody.err"
	assertEquals "as nobody, socket not writable: exit" 111 $?
	assertContains "$(cat "$TMP/nobody.err")" "cannot connect to $SOCK: Permission denied"
	chmod 700 "$TMP"
}

test_bad_endpoint_is_usage() {
	"$BIN/collector-runtime" --once -o - -r tcp://127.0.0.1:1234 >/dev/null 2>"$TMP/usage.err"
	assertEquals "exit" 100 $?
	assertEquals "collector-runtime: fatal: --runtime-endpoint: not a unix:///PATH endpoint: tcp://127.0.0.1:1234" \
		"$(cat "$TMP/usage.err")"
	NRO_RUNTIME_ENDPOINT=npipe:////./pipe/x "$BIN/collector-runtime" --once -o - >/dev/null 2>&1
	assertEquals "env is read too" 100 $?
}

test_under_s6_from_its_service_directory() {
	start_server network-not-ready || return
	s6_start collector-runtime "NRO_RUNTIME_ENDPOINT=unix://$SOCK" NRO_NODE_NAME=n1 NRO_INTERVAL=200ms || return
	wait_for_lines "$S6_OUT" '"key":"cri.condition.NetworkReady","value":"false"' 10 ||
		fail "no Status through records.ipc"
	echo ready >"$TMP/mode"
	wait_for_lines "$S6_OUT" '"key":"cri.condition.NetworkReady","value":"true"' 10 ||
		fail "the recovery did not reach records.ipc"
	s6_stop
}

# start_containerd: the real containerd (Debian's), as root, everything under
# $TMP/ctd: its socket, root and state, an empty CNI config directory (so its
# CRI plugin says the network is not ready), the native snapshotter.
start_containerd() {
	if [ "$(id -u)" != 0 ] || ! command -v containerd >/dev/null; then
		echo "not root, or no containerd: ${_shunit_test_:-test} skipped"
		startSkipping
		return 1
	fi
	CTD=$TMP/ctd
	mkdir -p "$CTD/cni" "$CTD/cni-bin"
	cat >"$CTD/config.toml" <<EOF
version = 2
root = "$CTD/root"
state = "$CTD/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$CTD/containerd.sock"
[ttrpc]
  address = "$CTD/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$CTD/opt"
[plugins."io.containerd.grpc.v1.cri".containerd]
  snapshotter = "native"
[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "$CTD/cni-bin"
  conf_dir = "$CTD/cni"
EOF
	containerd --config "$CTD/config.toml" >"$CTD/log" 2>&1 &
	CTD_PID=$!
	wait_path "$CTD/containerd.sock" || { fail "containerd did not start: $(tail -5 "$CTD/log")"; return 1; }
}

# what a kubelet on a node whose CNI is not set up yet sees, from the real thing
test_real_containerd_cni_not_initialized_then_ready() {
	start_containerd || return 0
	out=$TMP/ctd.jl
	"$BIN/collector-runtime" -o - --node n1 -r "unix://$CTD/containerd.sock" --interval 200ms \
		2>"$TMP/ctd.err" > >("$BIN/nro-dump" >"$out") &
	live=$!
	wait_for_lines "$out" '"cri.condition.NetworkReady","value":"false"' 20 || fail "no NetworkReady from containerd"
	want_version=$(containerd --version | awk '{print $3}')
	for b in $BINS; do
		collect "$b" -r "unix://$CTD/containerd.sock"
		assertEquals "$(flavour "$b"): exit" 0 "$RC"
		assertEquals "$(flavour "$b"): containerd's own words" "cri.reachable true -|-
cri.runtime containerd -|-
cri.condition.RuntimeReady true -|-
cri.condition.NetworkReady false NetworkPluginNotReady|Network plugin returns error: cni plugin not initialized" "$(states)"
		assertEquals "version" "$want_version v1" \
			"$(jl 'select(.key=="cri.runtime") | "\(.attrs.version) \(.attrs.api_version)"')"
	done
	# a CNI configuration appears: containerd loads it, the network is ready
	echo '{"cniVersion": "0.4.0", "name": "nro-test", "plugins": [{"type": "loopback"}]}' \
		>"$CTD/cni/10-nro-test.conflist"
	wait_for_lines "$out" '"cri.condition.NetworkReady","value":"true"' 20 || fail "NetworkReady never true"
	kill -TERM "$live"
	wait "$live"
	assertEquals "exit on TERM" 0 $?
	stop_pid CTD_PID
}

# the analyzer takes the states as they are (its rules read them: issue 7)
test_states_pass_through_the_analyzer() {
	start_server network-not-ready || return
	collect "$BIN" -r "unix://$SOCK"
	"$BIN/analyzer" -i - -o - --ring none <"$TMP/out.$nrun.bin" 2>/dev/null | "$BIN/nro-dump" >"$TMP/an.jl"
	direct=$(states)
	OUT=$TMP/an.jl
	assertEquals "same states" "$direct" "$(states)"
	assertContains "$direct" "cri.condition.NetworkReady false NetworkPluginNotReady"
}

# End to end: TYPE fires when the runtime answers as MODE and resolves when
# it is ready again (for and resolve_after set to 0 so no wait is needed).
check_event() { # TYPE MODE
	has_rule "$1" || return 0
	start_server "$2" || return
	EV=$TMP/events.$1.jl
	"$BIN/collector-runtime" -o - --node n1 -r "unix://$SOCK" --interval 100ms 2>"$TMP/ev.err" \
		> >("$BIN/analyzer" -i - -o - --ring none --set "$1.for=0s" --set "$1.resolve_after=0s" \
			2>>"$TMP/ev.err" | "$BIN/nro-dump" -k E >"$EV") &
	live=$!
	wait_for_lines "$EV" "\"type\":\"$1\".*\"state\":\"firing\"" 10 || fail "$1: no firing event"
	echo ready >"$TMP/mode"
	wait_for_lines "$EV" "\"type\":\"$1\".*\"state\":\"resolved\"" 10 || fail "$1: no resolution"
	kill -TERM "$live"
	wait "$live"
	stop_server
}

test_container_runtime_unhealthy_fires_and_resolves() {
	check_event ContainerRuntimeUnhealthy runtime-not-ready
}

test_node_network_issue_fires_and_resolves() {
	check_event NodeNetworkIssue network-not-ready
}

. shunit2
