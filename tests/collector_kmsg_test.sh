#!/bin/bash
# collector-kmsg on every kernel log of ../shared/fixtures/host/kmsg (raw
# /dev/kmsg, dmesg, dmesg -T, syslog, pstore, bare messages) against the
# table tests/kmsg_expected.tsv; the pod and container of cgroup OOM kills
# against the paths in the text; one message in every accepted format; a
# file appended to while it runs; a sequence gap; 8 KiB lines and binary
# junk; stdin; this machine's /dev/kmsg. Plain build and, when built, ASan.
#
#   bash tests/collector_kmsg_test.sh
#   NRO_BIN=build/san/bin bash tests/collector_kmsg_test.sh

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/jsoncollect_lib.sh"
. "$(dirname "$0")/host_lib.sh"

KMSG=${NRO_HOST_FIXTURES:-$TOP/../shared/fixtures/host}/kmsg
TABLE=$TOP/tests/kmsg_expected.tsv

oneTimeSetUp() { nro_tmpdir; }
oneTimeTearDown() { rm -rf "$TMP"; }

kmsg() { collect "$1" collector-kmsg --node n1 "${@:2}"; }

# "key<TAB>value<TAB>count" of the states in $OUT, sorted.
state_table() {
	jq -r 'select(.kind=="state") | "\(.key)\t\(.value)"' "$OUT" | sort | uniq -c |
		sed 's/^ *\([0-9]*\) \(.*\)/\2\t\1/'
}

metric() { jq -r --arg n "$1" --arg r "${2:-}" 'select(.name==$n and ($r == "" or .attrs.reason==$r)) | .value' "$OUT"; }

test_every_fixture_is_in_the_table() {
	for f in "$KMSG"/*; do
		assertTrue "$(basename "$f") has rows in the table" "grep -q '^$(basename "$f")	' '$TABLE'"
	done
	n=$(ls "$KMSG" | wc -l)
	assertTrue "about 40 kernel logs ($n)" "[ $n -ge 35 ]"
}

test_each_kernel_log_gives_exactly_its_problems() {
	for b in $BINS; do
		for f in "$KMSG"/*; do
			name=$(basename "$f")
			want=$(awk -F'\t' -v f="$name" '$1 == f && $2 != "-" { print $2 "\t" $3 "\t" $4 }' "$TABLE")
			kmsg "$b" --from-start --kmsg "$f"
			assertEquals "$name: exit" 0 "$RC"
			assertEquals "$name ($b)" "$want" "$(state_table)"
			assertEquals "$name: health ok" "ok " "$(health)"
		done
	done
}

# The pod UID and container ID come from the cgroup path in the text.
test_oom_kill_names_pod_and_container() {
	for f in oom-cgroup-5.x-kubepods-cadvisor.txt oom-cgroup-kubepods-slice-lxc-gpud-pr70.syslog.txt \
		oom-memcg-legacy-3.10-kubepods-k8s56891.txt; do
		uid=$(grep -oE 'pod[0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}' \
			"$KMSG/$f" | tail -n1 | cut -c4- | tr _ -)
		cid=$(grep -oE '(task_memcg=|stats for )[^,:]*' "$KMSG/$f" | tail -n1 | grep -oE '[0-9a-f]{64}' | tail -n1)
		assertNotNull "$f: the text names a pod" "$uid"
		for b in $BINS; do
			kmsg "$b" --from-start --kmsg "$KMSG/$f"
			assertEquals "$f: pod and container" "$uid $cid" \
				"$(jq -r 'select(.key=="host.kernel.oom_kill") | "\(.attrs["k8s.pod.uid"]) \(.attrs["container.id"])"' "$OUT")"
		done
	done
	kmsg "${BINS%% *}" --from-start --kmsg "$KMSG/oom-global-5.4-newfmt-hotsos.txt"
	assertEquals "a global OOM names no pod" "gnome-shell 955 null CONSTRAINT_NONE" \
		"$(jq -r 'select(.key=="host.kernel.oom_kill") | "\(.value) \(.num) \(.attrs["k8s.pod.uid"]) \(.attrs.constraint)"' "$OUT")"
}

# The pod UID and container ID of an OOM kill join the kubelet's /pods to
# the pod and container names (what KernelOOMKill's rule will do), for the
# systemd and cgroupfs layouts (tests/data/kmsg, built on v1.34/pods.json).
test_oom_kill_joins_the_kubelets_pods() {
	pods=$FIXTURES/v1.34/pods.json
	for t in "oom-v1.34-systemd.kmsg scraper/e2e-deployment-6fb786454b-mrr5s/compute-pi-digits" \
		"oom-v1.34-cgroupfs.dmesg kube-system/kube-scheduler-datagen-1-34/kube-scheduler"; do
		set -- $t
		for b in $BINS; do
			kmsg "$b" --from-start --kmsg "$TOP/tests/data/kmsg/$1"
			assertEquals "$1: one kill" 1 "$(jq -r 'select(.key=="host.kernel.oom_kill") | .value' "$OUT" | wc -l)"
			uid=$(jq -r 'select(.key=="host.kernel.oom_kill") | .attrs["k8s.pod.uid"]' "$OUT")
			cid=$(jq -r 'select(.key=="host.kernel.oom_kill") | .attrs["container.id"]' "$OUT")
			assertEquals "$1: joined to /pods" "$2" "$(jq -r --arg u "$uid" --arg c "$cid" '.items[]
				| select(.metadata.uid == $u) | .metadata.namespace + "/" + .metadata.name + "/" +
				(.status.containerStatuses[] | select(.containerID | endswith("://" + $c)) | .name)' "$pods")"
		done
	done
}

# One kernel message written in each format the replay accepts.
test_every_text_format_gives_the_same_state() {
	msg='INFO: task dockerd:3946 blocked for more than 120 seconds.'
	printf '6,17,1600038458,-;%s\n' "$msg" >"$TMP/f.raw"
	printf '[ 1600.038458] %s\n' "$msg" >"$TMP/f.dmesg"
	printf '[Tue Dec  1 08:00:00 2026] %s\n' "$msg" >"$TMP/f.dmesgT"
	printf 'Dec  1 08:00:00 node1 kernel: [ 1600.038458] %s\n' "$msg" >"$TMP/f.syslog"
	printf 'Dec 01 08:00:00 node1 kernel: %s\n' "$msg" >"$TMP/f.journal"
	printf '2026-12-01T08:00:00.000001+00:00 node1 kernel: %s\r\n' "$msg" >"$TMP/f.rfc3339"
	printf '<3>[ 1600.038458] %s' "$msg" >"$TMP/f.pstore" # no final newline
	printf 'Dec  1 08:00:00 node1 dockerd[12]: %s\n' "$msg" >"$TMP/f.notkernel"
	for b in $BINS; do
		for fmt in raw dmesg dmesgT syslog journal rfc3339 pstore; do
			kmsg "$b" --from-start --kmsg "$TMP/f.$fmt"
			assertEquals "$fmt" "host.kernel.task_hung dockerd 3946 120" \
				"$(jq -r 'select(.kind=="state") | "\(.key) \(.value) \(.num) \(.attrs.seconds)"' "$OUT")"
		done
		kmsg "$b" --from-start --kmsg "$TMP/f.notkernel"
		assertEquals "another program's syslog line is not the kernel's" "" "$(state_table)"
		assertEquals "counted as not_kernel" 1 "$(metric nro.kmsg.skipped not_kernel)"
	done
}

test_stdin_replay() {
	for b in $BINS; do
		nrun=$((nrun + 1))
		OUT="$TMP/out.$nrun.jl"
		"$b/collector-kmsg" --once -o - --kmsg - <"$KMSG/soft-lockup-runc-centos7-kubeasz300.syslog.txt" |
			"$b/nro-dump" >"$OUT"
		assertEquals "stdin" "$(awk -F'\t' '$1 ~ /^soft-lockup-runc/ { print $2 "\t" $3 "\t" $4 }' "$TABLE")" \
			"$(state_table)"
	done
}

# --once on a pipe reads to its end, even when the writer starts late.
test_once_waits_for_a_slow_pipe() {
	f=$KMSG/hung-task-docker-3.16-npd.txt
	for b in $BINS; do
		rm -f "$TMP/in" "$TMP/rdy"
		mkfifo "$TMP/in" "$TMP/rdy"
		"$b/collector-kmsg" --kmsg - --once -o - -d 3 <"$TMP/in" 3>"$TMP/rdy" >"$TMP/slow.bin" 2>"$TMP/slow.err" &
		pid=$!
		exec 4>"$TMP/in"
		read -r _ <"$TMP/rdy" # it is polling now, and nothing was written yet
		cat "$f" >&4
		exec 4>&-
		wait $pid
		assertEquals "exit" 0 $?
		OUT=$TMP/slow.jl
		"$b/nro-dump" <"$TMP/slow.bin" >"$OUT"
		assertEquals "the late lines were read" "host.kernel.task_hung	docker	1" "$(state_table)"
	done
}

test_sequence_gap_is_reported() {
	printf '6,10,100,-;a\n6,11,200,-;b\n SUBSYSTEM=pci\n DEVICE=+pci:0000:00:01.0\n6,12,300,-;c\n6,20,400,-;nf_conntrack: table full, dropping packet\n6,21,500,-;d\n' \
		>"$TMP/gap.kmsg"
	for b in $BINS; do
		kmsg "$b" --from-start --kmsg "$TMP/gap.kmsg"
		assertEquals "gap state" "host.kernel.log_gap lost 7 13 20" \
			"$(jq -r 'select(.key=="host.kernel.log_gap") | "\(.key) \(.value) \(.num) \(.attrs.from_seq) \(.attrs.to_seq)"' "$OUT")"
		assertEquals "the record after the gap is read" "nf_conntrack 20" \
			"$(jq -r 'select(.key=="host.kernel.conntrack_full") | "\(.value) \(.attrs["kmsg.seq"])"' "$OUT")"
		assertEquals "lost counter" 7 "$(metric nro.kmsg.lost)"
		assertEquals "lines (dictionary lines are not lines)" 5 "$(metric nro.kmsg.lines)"
		assertContains "degraded" "$(health)" "degraded $TMP/gap.kmsg: 7 records lost (sequence gap)"
	done
}

test_long_lines_and_binary_junk_are_skipped() {
	{
		echo '[  1.0] EXT4-fs (sda1): Remounting filesystem read-only'
		printf '[  2.0] EXT4-fs (sdz9): Remounting filesystem read-only '
		head -c 8192 /dev/zero | tr '\0' 'x'
		echo
		head -c 3000 /dev/urandom | tr '\n' 'n'
		echo
		printf 'nf_conntrack: table full\001\002, dropping packet\n'
		echo '[  3.0] NETDEV WATCHDOG: eth0 (igb): transmit queue 0 timed out'
	} >"$TMP/junk.log"
	for b in $BINS; do
		kmsg "$b" --from-start --kmsg "$TMP/junk.log"
		assertEquals "exit" 0 "$RC"
		assertEquals "only the two clean problems" "host.kernel.fs_readonly	sda1	1
host.kernel.nic_tx_timeout	eth0	1" "$(state_table)"
		assertEquals "one line too long" 1 "$(metric nro.kmsg.skipped too_long)"
		assertEquals "binary lines" 2 "$(metric nro.kmsg.skipped binary)"
		assertContains "degraded" "$(health)" "1 lines over 4096 bytes and 2 binary lines skipped"
	done
}

# The collector follows a file as it grows: what was there before the
# start is not read (no --from-start), what is appended is.
test_appended_file_is_followed() {
	log="$TMP/follow.log"
	cp "$KMSG/conntrack-full-oldfmt-k8s18604.txt" "$log"
	for b in $BINS; do
		run_start "$b" collector-kmsg --kmsg "$log" --interval 1h --node n1
		cat "$KMSG/hung-task-dockerd-4.19-moby44552.txt" >>"$log"
		printf '[ 9.0] EXT4-fs (sdb1): Remounting filesystem' >>"$log" # half a line ...
		wait_for_lines "$RUN_OUT" task_hung 20 || fail "appended lines not read"
		printf ' read-only\n' >>"$log" # ... completed later
		wait_for_lines "$RUN_OUT" fs_readonly 20 || fail "the completed line not read"
		run_stop
		assertEquals "only the appended problems, the split line once" "host.kernel.fs_readonly	sdb1	1
host.kernel.task_hung	dockerd	1" "$(state_table)"
		cp "$KMSG/conntrack-full-oldfmt-k8s18604.txt" "$log"
	done
}

# A followed file cut back to nothing (a copytruncate rotation) is read
# again from its start.
test_truncated_file_is_read_from_the_top() {
	log="$TMP/trunc.log"
	cp "$KMSG/hung-task-docker-3.16-npd.txt" "$log"
	b=${BINS##* }
	run_start "$b" collector-kmsg --kmsg "$log" --from-start --interval 1h --node n1
	wait_for_lines "$RUN_OUT" task_hung 20 || fail "the file was not read"
	: >"$log"
	echo '[ 1.0] NETDEV WATCHDOG: eth1 (mlx5_core): transmit queue 3 timed out' >>"$log"
	wait_for_lines "$RUN_OUT" nic_tx_timeout 20 || fail "the truncated file was not read again"
	run_stop
	assertEquals "both" "host.kernel.nic_tx_timeout	eth1	1
host.kernel.task_hung	docker	1" "$(state_table)"
}

# A followed file renamed away (logrotate): its last lines are read, then
# the new file at the same path from its start.
test_rotated_file_is_followed() {
	log="$TMP/rot.log"
	: >"$log"
	b=${BINS##* }
	run_start "$b" collector-kmsg --kmsg "$log" --interval 1h --node n1
	echo '[ 1.0] EXT4-fs (sda1): Remounting filesystem read-only' >>"$log"
	wait_for_lines "$RUN_OUT" fs_readonly 20 || fail "the first line was not read"
	echo '[ 2.0] EXT4-fs error (device sda1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0' >>"$log"
	mv "$log" "$log.1"
	echo '[ 3.0] NETDEV WATCHDOG: eth1 (mlx5_core): transmit queue 3 timed out' >"$log"
	wait_for_lines "$RUN_OUT" nic_tx_timeout 20 || fail "the new file was not followed"
	echo '[ 4.0] INFO: task dockerd:3946 blocked for more than 120 seconds.' >>"$log"
	wait_for_lines "$RUN_OUT" task_hung 20 || fail "the new file's appended line was not read"
	run_stop
	assertEquals "all four, once each" "host.kernel.fs_error	sda1	1
host.kernel.fs_readonly	sda1	1
host.kernel.nic_tx_timeout	eth1	1
host.kernel.task_hung	dockerd	1" "$(state_table)"
}

test_this_machines_kmsg() {
	if ! (exec 3</dev/kmsg) 2>/dev/null; then
		echo "no read access to /dev/kmsg here: skipped"
		return 0
	fi
	for b in $BINS; do
		kmsg "$b" --from-start
		assertEquals "exit" 0 "$RC"
		assertTrue "lines read ($(metric nro.kmsg.lines))" "[ $(metric nro.kmsg.lines) -gt 0 ]"
		assertEquals "health target" "/dev/kmsg" "$(jq -r 'select(.kind=="health") | .target' "$OUT")"
	done
}

test_usage_and_help() {
	"$BIN/collector-kmsg" --once -o - --kmsg "$TMP/no/such/file" >/dev/null 2>"$TMP/usage.err"
	assertEquals "missing --kmsg: exit 100" 100 $?
	assertEquals "one line naming it" "collector-kmsg: fatal: --kmsg $TMP/no/such/file: No such file or directory" \
		"$(cat "$TMP/usage.err")"
	"$BIN/collector-kmsg" --once -o - --kmsg "$TMP" >/dev/null 2>"$TMP/usage.err"
	assertEquals "a directory: exit 100" 100 $?
	assertEquals "collector-kmsg: fatal: --kmsg $TMP: is a directory" "$(cat "$TMP/usage.err")"
	out=$("$BIN/collector-kmsg" --help)
	assertContains "$out" "CAP_SYSLOG"
	assertContains "$out" "NRO_KMSG"
	assertContains "$out" "--from-start"
}

. shunit2
