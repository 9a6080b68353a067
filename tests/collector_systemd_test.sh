#!/bin/bash
# collector-systemd against a private dbus-daemon (Debian dbus-daemon, its
# own config, a socket in the suite's temp dir) and a stand-in systemd on it
# (tests/systemd_standin.py, python3-dbus) whose units carry the properties
# of real `systemctl show` dumps (../shared/fixtures/host/systemd/):
# a resync, a push when kubelet.service fails and when it comes back,
# NRestarts climbing, the bus daemon killed and restarted (reconnect and
# resync), systemd itself leaving and re-joining the bus, absent units said
# once. Runs the plain build and, when built, the ASan+UBSan build.
#
#   bash tests/collector_systemd_test.sh
#   NRO_BIN=build/san/bin bash tests/collector_systemd_test.sh

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/services_lib.sh"

services_bins collector-systemd
PY=/usr/bin/python3 # Debian's, where python3-dbus and python3-gi live
SD=$TOP/../shared/fixtures/host/systemd
KUBELET_SHOW=$SD/kubelet-running-NRestarts29-kata-containers2075.partial.show
CRASHLOOP_SHOW=$SD/kubelet-crashloop-NRestarts49116-kata-tests3654.partial.show
CONTAINERD_SHOW=$SD/hotsos-k8s-master-containerd.service.show
BUS_PID=""
SA_PID=""
LIVE_PID=""
k=0 # file counter (not n: wait_for_lines uses n)

oneTimeSetUp() {
	nro_tmpdir
	BUS_SOCK=$TMP/bus.sock
	BUS=unix:path=$BUS_SOCK
	export DBUS_SYSTEM_BUS_ADDRESS=$BUS # for the stand-in and its controls
	cat >"$TMP/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>$BUS</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
EOF
	# the system bus's own rules for systemd's name, in short: anyone may read
	# properties and GetUnit/LoadUnit/Subscribe; only root owns the name or
	# calls anything else (as /usr/share/dbus-1/system.d/org.freedesktop.systemd1.conf)
	sed -e 's|<allow own="\*"/>|<deny own="*"/>|' \
		-e 's|<allow send_type="method_call"/>|<deny send_type="method_call"/>\
    <allow send_destination="org.freedesktop.DBus"/>\
    <allow send_destination="org.freedesktop.systemd1" send_interface="org.freedesktop.DBus.Properties" send_member="GetAll"/>\
    <allow send_destination="org.freedesktop.systemd1" send_interface="org.freedesktop.systemd1.Manager" send_member="GetUnit"/>\
    <allow send_destination="org.freedesktop.systemd1" send_interface="org.freedesktop.systemd1.Manager" send_member="LoadUnit"/>\
    <allow send_destination="org.freedesktop.systemd1" send_interface="org.freedesktop.systemd1.Manager" send_member="Subscribe"/>|' \
		-e 's|</busconfig>|  <policy user="root"><allow own="*"/><allow send_type="method_call"/></policy>\
</busconfig>|' "$TMP/bus.conf" >"$TMP/bus.strict.conf"
}
oneTimeTearDown() { tearDown; rm -rf "$TMP"; }
tearDown() { s6_stop; stop_live; stop_standin; stop_bus; }

start_bus() { # [CONFIG]
	k=$((k + 1))
	rm -f "$BUS_SOCK"
	dbus-daemon --config-file="${1:-$TMP/bus.conf}" --nofork --print-address=1 \
		>"$TMP/bus.$k.addr" 2>"$TMP/bus.$k.err" &
	BUS_PID=$!
	wait_first_line "$TMP/bus.$k.addr" >/dev/null ||
		{ fail "dbus-daemon did not start: $(cat "$TMP/bus.$k.err")"; return 1; }
}

stop_bus() { stop_pid BUS_PID; }

# start_standin: systemd with kubelet.service (active/running: the partial
# dump has no ActiveState, its MainPID says it runs) and containerd.service;
# crio.service and docker.service do not exist.
start_standin() {
	k=$((k + 1))
	$PY "$TOP/tests/systemd_standin.py" \
		--unit "kubelet.service=$KUBELET_SHOW" --set kubelet.service:LoadState=loaded \
		--set kubelet.service:ActiveState=active --set kubelet.service:SubState=running \
		--unit "containerd.service=$CONTAINERD_SHOW" "$@" \
		>"$TMP/sa.$k.out" 2>"$TMP/sa.$k.err" &
	SA_PID=$!
	wait_first_line "$TMP/sa.$k.out" >/dev/null ||
		{ fail "stand-in systemd did not start: $(cat "$TMP/sa.$k.err")"; return 1; }
}

stop_standin() { stop_pid SA_PID; }

update() { _o=$($PY "$TOP/tests/systemd_standin.py" --update "$@" 2>&1) || fail "update $*: $_o"; }

# start_live B ARGS...: B/collector-systemd publishing to $LIVE (JSON lines).
start_live() {
	_b=$1
	shift
	k=$((k + 1))
	LIVE=$TMP/live.$k.jl
	LIVE_ERR=$TMP/live.$k.err
	: >"$LIVE"
	"$_b/collector-systemd" -o - --node n1 --bus "$BUS" "$@" 2>"$LIVE_ERR" \
		> >("$BIN/nro-dump" >"$LIVE") &
	LIVE_PID=$!
}

# live_resynced B ARGS...: start_live, then wait (bounded) for its first resync.
live_resynced() {
	start_live "$@"
	wait_for_lines "$LIVE" '"kind":"health"' 10 || { fail "$(flavour "$1"): no first resync"; return 1; }
}

stop_live() {
	[ -n "$LIVE_PID" ] || return 0
	kill -TERM "$LIVE_PID" 2>/dev/null
	wait "$LIVE_PID"
	LIVE_RC=$?
	LIVE_PID=""
	if grep -qE 'Sanitizer|runtime error:' "$LIVE_ERR"; then
		fail "sanitizer report: $(head -c 2000 "$LIVE_ERR")"
	fi
}

# "unit value num sub result restarts code status healthy" per state
unit_states() {
	jq -r 'select(.kind=="state" and .key=="systemd.unit") |
		"\(.object.kind)/\(.object.name) \(.value) \(.num) \(.attrs.sub_state) \(.attrs.result) \(.attrs.restarts) \(.attrs.exec_main_code) \(.attrs.exec_main_status) \(.attrs.healthy)"' "$1"
}

test_resync_publishes_every_present_unit() {
	start_bus && start_standin || return
	for b in $BINS; do
		w=$(flavour "$b")
		k=$((k + 1))
		"$b/collector-systemd" --once -o - --node n1 --bus "$BUS" >"$TMP/once.$k.bin" 2>"$TMP/once.$k.err"
		assertEquals "$w: exit" 0 $?
		"$BIN/nro-dump" <"$TMP/once.$k.bin" >"$TMP/once.$k.jl" || fail "nro-dump refused the records"
		assertEquals "$w: one state per unit, from the dumps" \
			"Service/kubelet.service active 29 running success 29 0 0 true
Service/containerd.service active 0 running success 0 0 0 true" "$(unit_states "$TMP/once.$k.jl")"
		# containerd's ActiveEnterTimestamp=Fri 2022-02-11 19:06:30 UTC
		assertEquals "$w: since" "2022-02-11T19:06:30.000Z" \
			"$(jq -r 'select(.object.name=="containerd.service") | .since' "$TMP/once.$k.jl")"
		assertEquals "$w: health" "ok 60000" \
			"$(jq -r 'select(.kind=="health") | "\(.status) \(.interval_ms)"' "$TMP/once.$k.jl")"
		assertEquals "$w: absent units said" "collector-systemd: info: unit crio.service not found; skipped until it appears
collector-systemd: info: unit docker.service not found; skipped until it appears" \
			"$(grep -v '^dbus-daemon' "$TMP/once.$k.err")"
		assertNotContains "$(cat "$TMP/once.$k.err")" "Sanitizer"
	done
}

test_failed_kubelet_is_pushed_then_back_to_active() {
	start_bus && start_standin || return
	for b in $BINS; do
		w=$(flavour "$b")
		# a resync interval of an hour: anything after the first resync is a push
		live_resynced "$b" --interval 1h || return
		update kubelet.service ActiveState=failed SubState=failed Result=exit-code \
			ExecMainCode=1 ExecMainStatus=1
		wait_for_lines "$LIVE" '"value":"failed"' 10 || fail "$w: failed not pushed"
		update kubelet.service ActiveState=active SubState=running Result=success \
			ExecMainCode=0 ExecMainStatus=0
		wait_for_lines "$LIVE" '"value":"active"' 10 3 || fail "$w: recovery not pushed"
		stop_live
		assertEquals "$w: exit on TERM" 0 "$LIVE_RC"
		assertEquals "$w: the flips, in order, and nothing else" \
			"Service/kubelet.service active 29 running success 29 0 0 true
Service/containerd.service active 0 running success 0 0 0 true
Service/kubelet.service failed 29 failed exit-code 29 1 1 false
Service/kubelet.service active 29 running success 29 0 0 true" "$(unit_states "$LIVE")"
		assertEquals "$w: one health record (the resync), none per push" 1 \
			"$(grep -c '"kind":"health"' "$LIVE")"
	done
}

test_restarts_climbing_are_each_published() {
	start_bus && start_standin || return
	live_resynced "$BIN" --interval 1h || return
	# the crash-looping kubelet's own dump: Result=exit-code, NRestarts=49116
	$PY "$TOP/tests/systemd_standin.py" --update-from kubelet.service "$CRASHLOOP_SHOW" || fail update
	update kubelet.service ActiveState=activating SubState=auto-restart
	wait_for_lines "$LIVE" '"num":49116' 10 || fail "crash-loop dump not pushed"
	update kubelet.service NRestarts=49117
	wait_for_lines "$LIVE" '"num":49117' 10 || fail "49117 not pushed"
	update kubelet.service NRestarts=49118
	wait_for_lines "$LIVE" '"num":49118' 10 || fail "49118 not pushed"
	stop_live
	assertEquals "the count climbs" "29 49116 49117 49118" \
		"$(jq -r 'select(.object.name=="kubelet.service") | .num' "$LIVE" | uniq | tr '\n' ' ' | sed 's/ $//')"
	assertEquals "last one: auto-restart, exit 1" \
		"Service/kubelet.service activating 49118 auto-restart exit-code 49118 1 1 false" \
		"$(unit_states "$LIVE" | tail -1)"
}

test_bus_killed_and_restarted_reconnects_and_resyncs() {
	start_bus && start_standin || return
	for b in $BINS; do
		w=$(flavour "$b")
		live_resynced "$b" --interval 1h || return
		stop_standin
		stop_bus
		wait_for_lines "$LIVE" '"kind":"error","ts":"[^"]*","seq":[0-9]*,"node":"n1","source":"collector-systemd","code":"connect"' 10 ||
			fail "$w: the loss was not reported"
		start_bus && start_standin || return
		update kubelet.service NRestarts=31 # a change made while it was away
		wait_for_lines "$LIVE" '"status":"ok"' 15 2 || fail "$w: no resync after the restart"
		wait_for_lines "$LIVE" '"num":31' 10 || fail "$w: the change made while away is missing"
		stop_live
		assertContains "$w: log" "$(cat "$LIVE_ERR")" "collector-systemd: warning: lost unix:path=$BUS_SOCK; reconnecting"
		assertContains "$w: log" "$(cat "$LIVE_ERR")" "collector-systemd: info: reconnected to unix:path=$BUS_SOCK"
		assertEquals "$w: health failed then ok" "ok failed ok" \
			"$(jq -r 'select(.kind=="health") | .status' "$LIVE" | uniq | tr '\n' ' ' | sed 's/ $//')"
	done
}

test_systemd_rejoining_the_bus_resyncs() {
	start_bus && start_standin || return
	live_resynced "$BIN" --interval 1h || return
	stop_standin # like a daemon-reexec: the name goes, the bus stays
	wait_for_lines "$LIVE_ERR" 'org.freedesktop.systemd1 left the bus' 10 || fail "leaving not seen"
	start_standin --set kubelet.service:NRestarts=40 || return
	wait_for_lines "$LIVE" '"num":40' 10 || fail "no resync when systemd came back"
	stop_live
	assertEquals "two resyncs, both ok" 2 "$(grep -c '"status":"ok"' "$LIVE")"
}

test_sighup_resyncs() {
	start_bus && start_standin || return
	live_resynced "$BIN" --interval 1h || return
	kill -HUP "$LIVE_PID"
	wait_for_lines "$LIVE" '"kind":"health"' 10 2 || fail "no resync on SIGHUP"
	stop_live
	assertEquals "every unit again" 4 "$(grep -c '"key":"systemd.unit"' "$LIVE")"
}

test_absent_units_are_said_once() {
	start_bus && start_standin || return
	start_live "$BIN" --interval 100ms
	wait_for_lines "$LIVE" '"kind":"health"' 10 5 || fail "fewer than 5 resyncs"
	stop_live
	assertEquals "crio said once over 5 resyncs" 1 "$(grep -c 'unit crio.service not found' "$LIVE_ERR")"
	assertEquals "docker said once" 1 "$(grep -c 'unit docker.service not found' "$LIVE_ERR")"
	assertEquals "never published" 0 "$(grep -c 'crio.service' "$LIVE")"
}

test_units_flag_and_bad_values() {
	start_bus && start_standin || return
	NRO_UNITS=kubelet "$BIN/collector-systemd" --once -o - --bus "$BUS" 2>"$TMP/u.err" |
		"$BIN/nro-dump" >"$TMP/u.jl"
	assertEquals "a bare name is a .service" "Service/kubelet.service" \
		"$(jq -r 'select(.kind=="state") | "\(.object.kind)/\(.object.name)"' "$TMP/u.jl")"
	"$BIN/collector-systemd" --once -o - --units 'kubelet,bad name' >/dev/null 2>"$TMP/bad.err"
	assertEquals "exit" 100 $?
	assertEquals 'collector-systemd: fatal: --units: not a unit name: "bad name"' "$(cat "$TMP/bad.err")"
	"$BIN/collector-systemd" --once -o - --bus "unix:path=$TMP/absent.sock" >"$TMP/nobus.bin" 2>"$TMP/nobus.err"
	assertEquals "no bus: transient" 111 $?
	assertEquals "error record" "connect" "$("$BIN/nro-dump" <"$TMP/nobus.bin" | jq -r 'select(.kind=="error") | .code')"
}

test_under_s6_from_its_service_directory() {
	start_bus && start_standin || return
	# resync often: a record sent before the dial connects is not received
	s6_start collector-systemd "NRO_DBUS_ADDRESS=$BUS" NRO_NODE_NAME=n1 NRO_INTERVAL=300ms || return
	wait_for_lines "$S6_OUT" '"kind":"health"' 10 || fail "no resync through records.ipc"
	update kubelet.service ActiveState=failed SubState=failed
	wait_for_lines "$S6_OUT" '"object":\{"kind":"Service","name":"kubelet.service"\},"key":"systemd.unit","value":"failed"' 10 ||
		fail "the failure did not reach records.ipc"
	s6_stop
	assertContains "log line format" "$(cat "$TMP"/s6log/collector-systemd/current)" \
		"collector-systemd: info: unit crio.service not found; skipped until it appears"
}

test_wrong_property_types_are_an_error_not_a_state() {
	start_bus && start_standin --bad-types kubelet.service || return
	for b in $BINS; do
		w=$(flavour "$b")
		k=$((k + 1))
		"$b/collector-systemd" --once -o - --node n1 --bus "$BUS" >"$TMP/bad.$k.bin" 2>"$TMP/bad.$k.err"
		assertEquals "$w: exit (102: properties that do not decode)" 102 $?
		"$BIN/nro-dump" <"$TMP/bad.$k.bin" >"$TMP/bad.$k.jl" || fail "nro-dump refused the records"
		assertEquals "$w: the other unit is still published" "Service/containerd.service active 0 running success 0 0 0 true" \
			"$(unit_states "$TMP/bad.$k.jl")"
		assertEquals "$w: error" "parse GetAll kubelet.service: no ActiveState string among its properties" \
			"$(jq -r 'select(.kind=="error") | "\(.code) \(.message)"' "$TMP/bad.$k.jl")"
		assertNotContains "$(cat "$TMP/bad.$k.err")" "Sanitizer"
	done
}

test_reads_as_an_unprivileged_user_under_the_system_bus_rules() {
	can_drop_root || return 0
	start_bus "$TMP/bus.strict.conf" && start_standin || return
	chmod 711 "$TMP"
	as_nobody "$BIN/collector-systemd" --once -o - --node n1 --bus "$BUS" >"$TMP/nobody.bin" 2>"$TMP/nobody.err"
	_rc=$?
	assertEquals "as nobody: exit $(cat "$TMP/nobody.err")" 0 "$_rc"
	assertEquals "as nobody: both units" "kubelet.service containerd.service" \
		"$("$BIN/nro-dump" <"$TMP/nobody.bin" | jq -r 'select(.kind=="state") | .object.name' | tr '\n' ' ' | sed 's/ $//')"
	# the control: the policy is enforced (nobody may not call what it does not need)
	as_nobody $PY "$TOP/tests/systemd_standin.py" --calls >/dev/null 2>"$TMP/nobody.ctl"
	assertNotEquals "a call outside the policy is refused" 0 $?
	assertContains "$(cat "$TMP/nobody.ctl")" "AccessDenied"
	chmod 700 "$TMP"
}

# the analyzer takes the states as they are (its rules read them: issue 7)
test_states_pass_through_the_analyzer() {
	start_bus && start_standin || return
	"$BIN/collector-systemd" --once -o - --node n1 --bus "$BUS" 2>/dev/null >"$TMP/pt.bin"
	"$BIN/nro-dump" <"$TMP/pt.bin" >"$TMP/pt.direct.jl"
	"$BIN/analyzer" -i - -o - --ring none <"$TMP/pt.bin" 2>"$TMP/pt.err" | "$BIN/nro-dump" >"$TMP/pt.an.jl"
	assertEquals "same unit states" "$(unit_states "$TMP/pt.direct.jl")" "$(unit_states "$TMP/pt.an.jl")"
	assertNotNull "some states" "$(unit_states "$TMP/pt.an.jl")"
}

# End to end: the collector's pushes through the analyzer become the event
# (for and resolve_after set to 0 so no wait is needed).
test_systemd_service_failed_fires_and_resolves() {
	has_rule SystemdServiceFailed || return 0
	start_bus && start_standin || return
	EV=$TMP/events.jl
	"$BIN/collector-systemd" -o - --node n1 --bus "$BUS" --interval 1h 2>"$TMP/ev.err" \
		> >("$BIN/analyzer" -i - -o - --ring none --set SystemdServiceFailed.for=0s \
			--set SystemdServiceFailed.resolve_after=0s 2>>"$TMP/ev.err" | "$BIN/nro-dump" -k E >"$EV") &
	LIVE_PID=$!
	LIVE_ERR=$TMP/ev.err
	update kubelet.service ActiveState=failed SubState=failed Result=exit-code
	wait_for_lines "$EV" '"type":"SystemdServiceFailed".*"state":"firing"' 10 || fail "no firing event"
	update kubelet.service ActiveState=active SubState=running Result=success
	wait_for_lines "$EV" '"type":"SystemdServiceFailed".*"state":"resolved"' 10 || fail "no resolution"
	stop_live
	assertEquals "about the unit" "Service kubelet.service" \
		"$(jq -r 'select(.type=="SystemdServiceFailed") | "\(.object.kind) \(.object.name)"' "$EV" | sort -u)"
}

. shunit2
