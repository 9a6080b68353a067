#!/bin/bash
# collector-node on real /proc and /sys trees (../shared/fixtures/host:
# node_exporter's and procfs's fixtures, a Kubernetes VM's sosreport)
# compared file by file with an independent reading (tests/host_expect.py),
# on this machine's own /proc (values plausible and consistent), over two
# polls (utilization), and on missing, truncated, garbage and huge files
# (a degraded poll naming the file, never a crash). Runs the plain build and,
# when built, the ASan+UBSan build.
#
#   bash tests/collector_node_test.sh
#   NRO_BIN=build/san/bin bash tests/collector_node_test.sh

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/jsoncollect_lib.sh"
. "$(dirname "$0")/host_lib.sh"

HOSTFX=${NRO_HOST_FIXTURES:-$TOP/../shared/fixtures/host}

oneTimeSetUp() { nro_tmpdir; }
oneTimeTearDown() { rm -rf "$TMP"; }

node() { collect "$1" collector-node --node n1 "${@:2}"; }

# has NAME: a metric of that name is in $OUT
has() { jq -r --arg n "$1" 'select(.name==$n) | .name' "$OUT" | grep -q .; }

test_real_trees_equal_an_independent_reading() {
	for tree in node_exporter procfs hotsos_k8s_node; do
		t="$HOSTFX/$tree"
		for b in $BINS; do
			node "$b" --proc-root "$t/proc" --sys-root "$t/sys" --mounts /
			assertEquals "$tree ($b): exit" 0 "$RC"
			assertEquals "$tree ($b): health" "ok " "$(health)"
			got=$(python3 "$TOP/tests/host_expect.py" compare "$t/proc" "$t/sys" "$OUT")
			assertEquals "$tree ($b): differences" 0 $?
			echo "$got" | grep -v '^compared' | head -20
			n=$(echo "$got" | sed -n 's/^compared \([0-9]*\) metrics.*/\1/p')
			assertTrue "$tree: compared enough metrics ($n)" "[ ${n:-0} -ge 15 ]"
		done
	done
}

# The mount table of the tree names the device and type; the numbers are
# this machine's statvfs of the same path.
test_filesystem_from_the_tree_mount_table() {
	t="$HOSTFX/hotsos_k8s_node"
	want=$(awk '$5 == "/" { for (i = 7; $i != "-"; i++); print $(i+2), $(i+1) }' \
		"$t/proc/1/mountinfo" | tail -n1)
	for b in $BINS; do
		node "$b" --proc-root "$t/proc" --sys-root "$t/sys" --mounts /,/no/such/path
		assertEquals "device and type of /" "$want rw" "$(jq -r 'select(.key=="host.filesystem.mode")
			| "\(.attrs.device) \(.attrs.type) \(.value)"' "$OUT")"
		size=$(stat -f -c '%b %S' / | awk '{ printf "%.0f", $1 * $2 }')
		sum=$(jq -s '[.[] | select(.name=="system.filesystem.usage") | .value] | add' "$OUT")
		assertEquals "used + free + reserved = size of /" "$size" "$sum"
	done
}

test_live_proc_is_plausible_and_consistent() {
	for b in $BINS; do
		node "$b"
		assertEquals "exit" 0 "$RC"
		out=$(python3 "$TOP/tests/host_expect.py" live "$OUT")
		assertEquals "live checks ($b): $out" 0 $?
		for k in system.cpu.time system.memory.usage system.cpu.load_average.1m \
			system.filesystem.usage system.linux.clock.offset system.network.io; do
			assertTrue "$k published" "has $k"
		done
	done
}

# Two polls: utilization appears on the second, its states sum to 1.
test_second_poll_gives_utilization() {
	b=${BINS%% *}
	run_start "$b" collector-node --interval 100ms --node n1
	wait_for_lines "$RUN_OUT" '"kind":"health"' 20 2 || fail "no second poll"
	run_stop
	sum=$(jq -s '[.[] | select(.name=="system.cpu.utilization")] | .[0:8] | map(.value) | add' \
		"$RUN_OUT")
	assertTrue "utilization sums to 1 ($sum)" "awk -v s=$sum 'BEGIN { exit !(s > 0.999 && s < 1.001) }'"
	first=$(jq -r 'select(.kind=="health") | .seq' "$RUN_OUT" | head -n1)
	assertEquals "no utilization before the first health record" 0 \
		"$(jq -r "select(.name==\"system.cpu.utilization\" and .seq < $first)" "$RUN_OUT" | wc -l)"
}

# A copy of a real tree with one file broken.
broken_tree() { # NAME
	BT="$TMP/tree.$1"
	rm -rf "$BT"
	cp -r "$HOSTFX/node_exporter" "$BT"
	chmod -R u+w "$BT"
}

test_broken_files_degrade_with_a_reason() {
	for b in $BINS; do
		broken_tree truncated
		head -c 20 "$HOSTFX/node_exporter/proc/stat" >"$BT/proc/stat"
		node "$b" --proc-root "$BT/proc" --sys-root "$BT/sys" --mounts /
		assertEquals "truncated stat: exit" 0 "$RC"
		assertContains "truncated stat: degraded" "$(health)" "degraded 1 host file skipped (first: $BT/proc/stat: malformed)"
		assertTrue "memory still published" "has system.memory.limit"

		broken_tree garbage
		head -c 4000 /dev/urandom >"$BT/proc/meminfo"
		printf 'some avg10=zz\n' >"$BT/proc/pressure/io"
		printf 'x/y\n' >"$BT/proc/loadavg"
		node "$b" --proc-root "$BT/proc" --sys-root "$BT/sys" --mounts /
		assertEquals "garbage: exit" 0 "$RC"
		assertContains "garbage: degraded, 3 files" "$(health)" "degraded 3 host files skipped"
		assertEquals "garbage: no memory, no load" 0 \
			"$(jq -r 'select(.name=="system.memory.limit" or .name=="system.cpu.load_average.1m")' "$OUT" | wc -l)"
		assertTrue "cpu still published" "has system.cpu.time"

		broken_tree huge
		head -c 100000 /dev/zero | tr '\0' '1' >"$BT/proc/sys/kernel/pid_max"
		yes 'MemTotal:       15666184 kB' | head -c 200000 >"$BT/proc/meminfo"
		node "$b" --proc-root "$BT/proc" --sys-root "$BT/sys" --mounts /
		assertEquals "huge: exit" 0 "$RC"
		assertContains "huge: degraded" "$(health)" "larger than"
		assertEquals "huge: pid_max absent" 0 \
			"$(jq -r 'select(.name=="system.linux.pid.max")' "$OUT" | wc -l)"

		broken_tree missing
		rm -r "$BT/proc/pressure" "$BT/proc/vmstat" "$BT/proc/sys/net" "$BT/sys"
		node "$b" --proc-root "$BT/proc" --sys-root "$BT/sys" --mounts /
		assertEquals "missing files are normal: health" "ok " "$(health)"
		assertEquals "missing: no PSI, no conntrack, no links" 0 \
			"$(jq -r 'select(.name=="system.pressure.avg10" or .name=="system.conntrack.max" or .key=="host.net.link")' "$OUT" | wc -l)"
	done
}

test_nothing_readable_is_a_failed_poll() {
	mkdir -p "$TMP/empty"
	for b in $BINS; do
		node "$b" --proc-root "$TMP/empty" --sys-root "$TMP/empty" --mounts /nonexistent
		assertEquals "exit (102: nothing decodable, README exit table)" 102 "$RC"
		assertContains "error record" "$(jq -r 'select(.kind=="error") | "\(.code) \(.message)"' "$OUT")" \
			"parse $TMP/empty: nothing readable"
		assertContains "one-line log" "$(cat "$ERR")" "collector-node: warning: $TMP/empty: nothing readable"
	done
}

test_interface_filters() {
	t="$HOSTFX/procfs"
	for b in $BINS; do
		node "$b" --proc-root "$t/proc" --sys-root "$t/sys" --net-exclude ''
		devs=$(jq -r 'select(.name=="system.network.io") | .attrs.device' "$OUT" | sort -u | tr '\n' ' ')
		want=$(awk -F: 'NR > 2 { gsub(/ /, "", $1); print $1 }' "$t/proc/net/dev" | sort -u | tr '\n' ' ')
		assertEquals "--net-exclude '': every interface" "$want" "$devs"
		node "$b" --proc-root "$t/proc" --sys-root "$t/sys" --net-include 'veth*,lo'
		devs=$(jq -r 'select(.name=="system.network.io") | .attrs.device' "$OUT" | sort -u | tr '\n' ' ')
		assertEquals "--net-include veth*,lo: only those, default exclusions off" \
			"$(echo "$want" | tr ' ' '\n' | grep -E '^(veth|lo$)' | tr '\n' ' ')" "$devs"
		node "$b" --proc-root "$t/proc" --sys-root "$t/sys" --net-include 'veth*,lo' --net-exclude lo
		devs=$(jq -r 'select(.name=="system.network.io") | .attrs.device' "$OUT" | sort -u | tr '\n' ' ')
		assertEquals "an explicit --net-exclude still applies" \
			"$(echo "$want" | tr ' ' '\n' | grep -E '^veth' | tr '\n' ' ')" "$devs"
	done
}

test_help_says_what_it_reads_and_needs() {
	out=$("$BIN/collector-node" --help)
	assertContains "$out" "--proc-root"
	assertContains "$out" "NRO_PROC_ROOT"
	assertContains "$out" "Needs read access only"
	"$BIN/collector-node" --bogus 2>"$TMP/usage.err"
	assertEquals "bad flag exit" 100 $?
}

. shunit2
