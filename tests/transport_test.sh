#!/bin/bash
# Transport defects (each failed before its fix): a second listener must not
# take over a live socket; only this user and root may publish into a
# listening subscriber; stdin is never made O_NONBLOCK under other
# processes; a collector writing to a pipe whose reader has gone stops.
. "$(dirname "$0")/lib.sh"

oneTimeSetUp() {
	nro_tmpdir
	mkdir -p "$TMP/fx"
	cp "$TOP/../shared/fixtures/kubelet/v1.34"/pods.json "$TMP/fx/" 2>/dev/null ||
		cp "$(ls -d "$TOP"/../shared/fixtures/kubelet/*/pods.json | head -1)" "$TMP/fx/"
}
oneTimeTearDown() {
	[ -n "${REPLAY:-}" ] && kill "$REPLAY" 2>/dev/null
	rm -rf "$TMP"
}

# start_listener ADDR: nro-dump listening there in the background; sets LPID
start_listener() {
	"$BIN/nro-dump" -i "$1" --listen >"$TMP/l.out" 2>"$TMP/l.err" &
	LPID=$!
}

test_second_listener_does_not_steal_a_live_socket() {
	run="$TMP/run2"
	mkdir -p -m 0700 "$run"
	NRO_RUN_DIR=$run "$BIN/analyzer" --ring none -o "ipc://$run/ev1.ipc" 2>"$TMP/a1.err" &
	a1=$!
	wait_path "$run/records.ipc" || fail "first analyzer never listened"
	sleep 0.2 # listening happens right after the socket file appears
	ino1=$(stat -c %i "$run/records.ipc")
	NRO_RUN_DIR=$run timeout 10 "$BIN/analyzer" --ring none -o "ipc://$run/ev2.ipc" 2>"$TMP/a2.err"
	rc=$?
	assertEquals "second analyzer exit" 111 "$rc"
	assertContains "$(cat "$TMP/a2.err")" "another process is listening there"
	assertEquals "the live socket was kept" "$ino1" "$(stat -c %i "$run/records.ipc")"
	kill "$a1"
	wait "$a1" 2>/dev/null
	rm -f "$run/records.ipc"
	# a stale socket (its listener killed) is still taken over
	NRO_RUN_DIR=$run "$BIN/analyzer" --ring none -o "ipc://$run/ev1.ipc" 2>"$TMP/a3.err" &
	a3=$!
	wait_path "$run/records.ipc"
	kill -9 "$a3"
	wait "$a3" 2>/dev/null
	NRO_RUN_DIR=$run timeout 3 "$BIN/analyzer" --ring none -o "ipc://$run/ev1.ipc" 2>"$TMP/a4.err"
	assertNotContains "stale socket reused" "$(cat "$TMP/a4.err")" "another process"
}

test_publisher_of_another_user_is_refused() {
	command -v setpriv >/dev/null || startSkipping
	[ "$(id -u)" = 0 ] || startSkipping
	run="$TMP/run3"
	mkdir -p -m 0755 "$run"
	chmod 0711 "$TMP" # let uid 65534 reach the socket: the check must stop it
	"$TESTBIN/record_test" --sample >"$TMP/sample.bin" || fail "record_test --sample"
	len=$(od -An -tu1 -N4 "$TMP/sample.bin" | awk '{print $1*16777216+$2*65536+$3*256+$4}')
	tail -c +5 "$TMP/sample.bin" | head -c "$len" >"$TMP/one.rec"
	addr="ipc://$run/in.ipc"
	timeout 30 "$BIN/nro-dump" --listen -i "$addr" -n 1 >"$TMP/d.out" 2>"$TMP/d.err" &
	dpid=$!
	wait_path "$run/in.ipc" || fail "nro-dump never listened"
	chmod 0777 "$run/in.ipc"
	# another user can reach the socket but must not be heard
	setpriv --reuid=65534 --regid=65534 --clear-groups \
		nngcat --pub --dial "$addr" --file "$TMP/one.rec" --interval 1 --count 3 \
		>/dev/null 2>&1
	assertEquals "nothing from uid 65534" "" "$(cat "$TMP/d.out")"
	# this user is heard
	nngcat --pub --dial "$addr" --file "$TMP/one.rec" --interval 1 --count 30 >/dev/null 2>&1 &
	cpid=$!
	wait "$dpid"
	kill "$cpid" 2>/dev/null
	wait "$cpid" 2>/dev/null
	assertContains "$(cat "$TMP/d.err")" "refused a publisher with uid 65534"
	assertEquals "one record from root" 1 "$(wc -l <"$TMP/d.out")"
	chmod 0700 "$TMP"
}

test_stdin_is_left_blocking() {
	# a reader sharing our stdin would get EAGAIN if we set O_NONBLOCK on it
	out=$( (sleep 1; printf '') | {
		"$BIN/sink-stdout" -i - --format json >/dev/null 2>&1 &
		sp=$!
		sleep 0.3
		python3 -c 'import fcntl,os,sys; print("nonblock" if fcntl.fcntl(0, fcntl.F_GETFL) & os.O_NONBLOCK else "blocking")'
		wait $sp
	})
	assertEquals "blocking" "$out"
}

test_collector_stops_when_its_pipe_reader_goes() {
	timeout 60 "$BIN/kubelet-replay" --dir "$TMP/fx" >"$TMP/replay.out" 2>"$TMP/replay.err" &
	REPLAY=$!
	URL=$(wait_first_line "$TMP/replay.out") || fail "kubelet-replay printed no URL"
	# the reader takes nothing and exits: the collector must follow it
	timeout 20 sh -c "'$BIN/collector-pods' --kubelet '$URL' --interval 100ms -o - 2>'$TMP/c.err' | head -c 1 >/dev/null"
	rc=$?
	assertNotEquals "collector kept polling after its reader left (timeout)" 124 "$rc"
	assertContains "$(cat "$TMP/c.err")" "reader of standard output has gone"
}

. shunit2
