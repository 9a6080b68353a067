#!/bin/bash
# The host's events end to end, under a private s6-svscan:
#   collector-kmsg replaying a kernel log with a pod's OOM kill, plus
#   collector-pods on kubelet-replay serving the matching /pods (the 1.34
#   capture), -> analyzer -> sink-stdout: exactly one KernelOOMKill, naming
#   the pod and the container;
#   collector-node on a real /proc tree whose mount table says / is
#   read-only -> FilesystemReadOnly, resolved when it reads rw again.
. "$(dirname "$0")/lib.sh"

NODE=datagen-1-34
KMSGDATA=$TOP/tests/data/kmsg

oneTimeSetUp() { nro_tmpdir; }
oneTimeTearDown() { [ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"; }

tearDown() {
	scan_down
}

# start_pipeline SET SERVICE...: the analyzer, sink-stdout and the given
# collectors; SET is the analyzer's --set list. Per-service variables are
# written to $SCAN/<service>/env by the caller's env_<service> function.
start_pipeline() {
	set=$1
	shift
	SCAN=$TMP/svc
	rm -rf "$SCAN" "$TMP/run" "$TMP/log"
	mkdir -p "$SCAN/.env" "$TMP/log"
	for s in analyzer sink-stdout "$@"; do
		cp -R "$TOP/svc/$s" "$SCAN/$s"
		mkdir -p "$SCAN/$s/env"
	done
	rm -rf "$SCAN/sink-stdout/log"
	echo "$BIN" >"$SCAN/.env/NRO_BIN"
	echo "$TMP/run" >"$SCAN/.env/NRO_RUN_DIR"
	echo "$TMP/log" >"$SCAN/.env/NRO_LOG_DIR"
	echo "${REPLAY_URL:-http://127.0.0.1:1}" >"$SCAN/.env/NRO_KUBELET_URL"
	echo "$NODE" >"$SCAN/.env/NRO_NODE_NAME"
	echo 1s >"$SCAN/.env/NRO_INTERVAL"
	echo json >"$SCAN/.env/NRO_FORMAT"
	echo "$set" >"$SCAN/.env/NRO_SET"
	for s in "$@"; do
		if type "env_$s" >/dev/null 2>&1; then "env_$s" "$SCAN/$s/env"; fi
	done
	scan_up "$TMP/events.out" analyzer sink-stdout "$@"
}

# wait_polls COLLECTOR N: waits (bounded) for N more good polls
wait_polls() { wait_ring_polls "$2" "$1"; }

events() { # TYPE: "state kind ns/pod/container name" per event of that type
	grep '^{' "$TMP/events.out" | jq -r --arg t "$1" 'select(.kind=="event" and .type==$t) |
		"\(.state) \(.object.kind) \(.object.namespace // "")/\(.object.pod // "")/\(.object.container // "") \(.object.name // "")"'
}

# ---- KernelOOMKill ----

KMSG_FILE=""
env_collector-kmsg() {
	echo "$KMSG_FILE" >"$1/NRO_KMSG"
	echo 1 >"$1/NRO_KMSG_FROM_START"
}

# oom_case FILE NS POD CONTAINER
# The kernel log grows once the pipeline is up (a record published before
# the analyzer has subscribed would be lost, as on any nng pub/sub socket).
oom_case() {
	KMSG_FILE=$TMP/kmsg
	: >"$KMSG_FILE"
	start_replay --dir "$FIXTURES/v1.34" || return
	start_pipeline "" collector-pods collector-kmsg
	wait_polls collector-kmsg 1 && wait_polls collector-pods 1 || return
	cat "$1" >>"$KMSG_FILE"
	wait_for_lines "$TMP/events.out" '"type":"KernelOOMKill"' 30 || { fail "no KernelOOMKill"; return; }
	wait_polls collector-kmsg 2 && wait_polls collector-pods 2 # nothing more may come
	assertEquals "$(basename "$1"): one KernelOOMKill, about the container" \
		"firing Container $2/$3/$4 " "$(events KernelOOMKill)"
	msg=$(grep '"type":"KernelOOMKill"' "$TMP/events.out" | jq -r .message)
	assertContains "the message names the pod" "$msg" "container $4 in pod $2/$3"
	assertContains "and the killed process" "$msg" "pid "
	tearDown
}

test_kmsg_oom_kill_names_the_pod_and_container() {
	oom_case "$KMSGDATA/oom-v1.34-systemd.kmsg" scraper e2e-deployment-6fb786454b-mrr5s \
		compute-pi-digits
}

test_dmesg_oom_kill_of_a_static_pod_names_it() {
	oom_case "$KMSGDATA/oom-v1.34-cgroupfs.dmesg" kube-system kube-scheduler-datagen-1-34 \
		kube-scheduler
}

# Without /pods a kill in a pod's cgroup waits (2 minutes) for the pod to
# be listed before it is reported naming only the process and the pod UID
# (the table tests cover what comes after the wait).
test_oom_kill_waits_for_its_pod_to_be_listed() {
	KMSG_FILE=$TMP/kmsg
	: >"$KMSG_FILE"
	start_pipeline "" collector-kmsg
	wait_polls collector-kmsg 1 || return
	cat "$KMSGDATA/oom-v1.34-systemd.kmsg" >>"$KMSG_FILE"
	wait_polls collector-kmsg 3 || return
	n=$("$BIN/nro-dump" --ring "$TMP/run/ring" -k S 2>/dev/null | grep -c '"host.kernel.oom_kill"')
	assertEquals "the kill reached the analyzer" 1 "$n"
	# the pod is never listed: nothing fires before the 2 minutes it waits
	assertEquals "no event while its pod may still be listed" "" "$(events KernelOOMKill)"
}

# ---- FilesystemReadOnly from collector-node ----

TREE=""
env_collector-node() {
	echo "$TREE/proc" >"$1/NRO_PROC_ROOT"
	echo "$TREE/sys" >"$1/NRO_SYS_ROOT"
	echo / >"$1/NRO_MOUNTS"
}

# / as the kernel shows it after "Remounting filesystem read-only"
set_root_mode() { # rw|ro
	awk -v m="$1" '$5 == "/" { sub(/^r[ow]/, m, $6) } { print }' "$HOSTFX_SRC" \
		>"$TREE/proc/1/mountinfo.new" && mv "$TREE/proc/1/mountinfo.new" "$TREE/proc/1/mountinfo"
}

test_read_only_root_fires_and_resolves() {
	TREE=$TMP/tree
	rm -rf "$TREE"
	cp -r "$FIXTURES/../host/hotsos_k8s_node" "$TREE"
	chmod -R u+w "$TREE"
	HOSTFX_SRC=$FIXTURES/../host/hotsos_k8s_node/proc/1/mountinfo
	set_root_mode ro
	start_pipeline "FilesystemReadOnly.resolve_after=0s" collector-node
	wait_for_lines "$TMP/events.out" '"type":"FilesystemReadOnly".*"state":"firing"' 30 ||
		{ fail "no FilesystemReadOnly"; return; }
	set_root_mode rw
	wait_for_lines "$TMP/events.out" '"type":"FilesystemReadOnly".*"state":"resolved"' 30 ||
		fail "not resolved"
	assertEquals "fired once and resolved once, about the node" "firing Node // $NODE
resolved Node // $NODE" "$(events FilesystemReadOnly)"
	assertContains "names the mount" "$(grep FilesystemReadOnly "$TMP/events.out" | head -1)" \
		'"mountpoint":"/"'
}

. shunit2
