#!/bin/bash
# svc/collector-node and svc/collector-kmsg under a private s6-svscan:
# both become ready (s6-svwait -U), dial records.ipc, and an nng subscriber
# (nro-dump --listen) receives the host's records; a kernel line appended
# to the replayed log arrives as its state; SIGTERM (s6-svc -d) is a clean
# exit.
. "$(dirname "$0")/lib.sh"

oneTimeSetUp() { nro_tmpdir; }
oneTimeTearDown() { rm -rf "$TMP"; }

tearDown() {
	scan_down
	[ -n "${DUMP_PID:-}" ] && { kill "$DUMP_PID" 2>/dev/null; wait "$DUMP_PID" 2>/dev/null; }
	DUMP_PID=""
}

test_node_and_kmsg_services() {
	SCAN=$TMP/svc
	mkdir -p "$SCAN/.env" "$TMP/run"
	chmod 700 "$TMP/run"
	for s in collector-node collector-kmsg; do
		cp -R "$TOP/svc/$s" "$SCAN/$s"
		rm -rf "$SCAN/$s/log"
		mkdir -p "$SCAN/$s/env"
	done
	echo "$BIN" >"$SCAN/.env/NRO_BIN"
	echo "$TMP/run" >"$SCAN/.env/NRO_RUN_DIR"
	echo 300ms >"$SCAN/.env/NRO_INTERVAL"
	: >"$TMP/kern.log"
	echo "$TMP/kern.log" >"$SCAN/collector-kmsg/env/NRO_KMSG"
	"$BIN/nro-dump" --listen -i "ipc://$TMP/run/records.ipc" >"$TMP/records.jl" 2>"$TMP/dump.err" &
	DUMP_PID=$!
	scan_up "$TMP/scan.out" collector-node collector-kmsg
	wait_for_lines "$TMP/records.jl" '"source":"collector-node".*"name":"system.memory.limit"' 30 ||
		fail "no memory from collector-node: $(cat "$TMP/scan.out")"
	wait_for_lines "$TMP/records.jl" '"source":"collector-kmsg","status":"ok"' 30 || fail "no health from collector-kmsg"
	echo 'Dec  1 08:00:00 n1 kernel: [ 5.0] EXT4-fs (sdc1): Remounting filesystem read-only' >>"$TMP/kern.log"
	wait_for_lines "$TMP/records.jl" '"key":"host.kernel.fs_readonly","value":"sdc1"' 30 || fail "the appended line did not arrive"
	s6-svc -wd -d -T 10000 "$SCAN/collector-kmsg"
	assertEquals "collector-kmsg stopped by SIGTERM: exit 0" "0" \
		"$(s6-svstat -o exitcode "$SCAN/collector-kmsg")"
	assertEquals "records decoded cleanly" "" "$(cat "$TMP/dump.err")"
}

# collector-node needs read access only; collector-kmsg refuses clearly
# without CAP_SYSLOG. Run as nobody (only when the suite runs as root).
test_privileges() {
	if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
		echo "not root, or no setpriv: skipped"
		return 0
	fi
	d=$(mktemp -d /tmp/nro-priv.XXXXXX)
	cp "$BIN/collector-node" "$BIN/collector-kmsg" "$BIN/nro-dump" "$d/"
	chmod 755 "$d" "$d"/*
	nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
	nobody "$d/collector-node" --once -o - 2>"$d/node.err" | nobody "$d/nro-dump" >"$d/node.jl"
	assertEquals "collector-node as nobody: health" "ok" \
		"$(jq -r 'select(.kind=="health") | .status' "$d/node.jl")"
	assertTrue "collector-node as nobody: memory" "grep -q system.memory.limit '$d/node.jl'"
	if [ "$(cat /proc/sys/kernel/dmesg_restrict 2>/dev/null)" = 1 ]; then
		nobody "$d/collector-kmsg" --once -o - >/dev/null 2>"$d/kmsg.err"
		assertEquals "collector-kmsg as nobody: exit 100" 100 $?
		assertEquals "one line saying what it needs" \
			"collector-kmsg: fatal: --kmsg /dev/kmsg: Operation not permitted (needs CAP_SYSLOG or root)" \
			"$(cat "$d/kmsg.err")"
	fi
	rm -rf "$d"
}

. shunit2
