#!/bin/bash
# The fault matrix (tests/fault_matrix.tsv): every row of the table is one
# test_<row> here, and a row without its test fails the suite. Processes are
# killed under a private s6-svscan during a scripted incident against
# kubelet-replay; kubelet faults come from kubelet-replay's sidecar files and
# a small Python server (broken chunked framing); the run directory and a
# full tmpfs are checked against the real tools.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apiserver_lib.sh"

TABLE=$TOP/tests/fault_matrix.tsv
SCENARIO=$TOP/deploy/demo/crashloop-oom

oneTimeSetUp() {
	nro_tmpdir
	printf 'good\n' >"$TMP/tok-good"
	printf 'wrong\n' >"$TMP/tok-wrong"
}
oneTimeTearDown() {
	shared_down
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
}

tearDown() {
	scan_down
	rm -rf "$TMP/run" "$TMP/svc" "$TMP/log" "$TMP/fx"
}

# Every row of the table has its test; the tests are made from the table.
rows() { grep -v '^#' "$TABLE" | cut -f1 | grep .; }
for r in $(rows); do
	eval "test_$r() { row_$r; }"
done

# shunit2 finds only the functions written out in this file: the table's
# are added here
# Every row runs on the plain build, then again on the sanitizer build
# (build/san) when it exists.
PLAIN_BIN=$BIN
SAN_BIN=$TOP/build/san/bin
suite() {
	suite_addTest test_every_row_has_a_test
	for r in $(rows); do suite_addTest "test_$r"; done
	if [ "$PLAIN_BIN" != "$SAN_BIN" ] && [ -x "$SAN_BIN/analyzer" ]; then
		for r in $(rows); do
			eval "test_${r}_san() { BIN=\$SAN_BIN; row_$r; BIN=\$PLAIN_BIN; }"
			suite_addTest "test_${r}_san"
		done
	else
		echo "fault_matrix_test.sh: no sanitizer build (make SAN=1): plain binaries only" >&2
	fi
}

test_every_row_has_a_test() {
	for r in $(rows); do
		[ "$(type -t "row_$r")" = function ] || fail "row $r of fault_matrix.tsv has no row_$r"
	done
	assertTrue "the table has rows" "[ $(rows | wc -l) -ge 10 ]"
}

# ---- kill -9 of each process in turn: one pipeline under s6 ---------------
# The rows kill9_* and *_down share one pipeline per build (started by the
# first of them): every collector that can run here (the kubelet ones against
# kubelet-replay's crash-loop scenario over the v1.34 fixtures, collector-node
# on recorded /proc and /sys, collector-kmsg following a file,
# collector-runtime against tests/cri_server.py, collector-systemd against
# tests/systemd_standin.py on a private bus, collector-apiserver against
# apiserver-replay), the analyzer, and every
# sink with its real destination: sink-stdout (events and health records,
# JSON), sink-otel (events, to tests/otlp_receiver.js), sink-nats (events, to
# nats-server with JetStream), sink-prom (scraped with curl). The incident
# fires first (step 1); each row kills one process, waits until s6 brought it
# back (a new pid, ready again: s6-svwait, never a sleep) and until its work
# shows again, then checks that the sinks delivered exactly what the ring
# holds, once each (a killed sink: see delivered), in order;
# kill9_incident_once ends the incident (step 2) and checks its events.

SHARED_COLLECTORS="collector-healthz collector-syncloop collector-pods collector-summary collector-probes
collector-configz collector-resource collector-spec collector-cadvisor collector-metrics collector-node
collector-kmsg collector-runtime collector-systemd collector-apiserver"
SHARED_SINKS="sink-stdout sink-otel sink-nats sink-prom"
NODE_NAME=datagen-1-34
RECEIVER=$TOP/tests/otlp_receiver.js
NATS_CLIENT=$TOP/tests/npm/nats/client.mjs

flavour() { case "$BIN" in */build/san/bin) echo san ;; *) echo plain ;; esac; }
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# shared_up: the pipeline of this build, started once (sets SH, SH_*).
shared_up() {
	if [ "${SH_BIN:-}" = "$BIN" ] && [ -n "${SH_SCAN_PID:-}" ] && kill -0 "$SH_SCAN_PID" 2>/dev/null; then
		[ -n "${SH_BROKEN:-}" ] && { fail "the shared pipeline did not start: $SH_BROKEN"; return 1; }
		return 0
	fi
	shared_down
	SH_BIN=$BIN
	SH_BROKEN=""
	shared_start || { SH_BROKEN="see $SH"; fail "the shared pipeline did not start"; return 1; }
}

shared_start() {
	SH=$TMP/shared.$(flavour)
	rm -rf "$SH"
	mkdir -p "$SH/log" "$SH/hostroot"
	mkdir -m 0700 "$SH/run"
	[ -f "$TOP/tests/npm/otel/node_modules/@opentelemetry/otlp-transformer/build/src/generated/root.js" ] ||
		sh "$TOP/tests/deps/otel.sh"
	[ -d "$TOP/tests/npm/nats/node_modules/@nats-io/transport-node" ] || sh "$TOP/tests/deps/nats.sh"
	"$BIN/kubelet-replay" --scenario "$SCENARIO" --dir "$FIXTURES/v1.34" >"$SH/replay.url" 2>"$SH/replay.err" &
	SH_REPLAY_PID=$!
	SH_KUBELET=$(wait_first_line "$SH/replay.url") || return 1
	recv_start || return 1
	SH_NATS_PORT=$(free_port)
	nats_up || return 1
	node "$NATS_CLIENT" stream-add "nats://127.0.0.1:$SH_NATS_PORT" NRO 'nro.>' 1 600 2>"$SH/stream.err" || return 1
	protoc-c --proto_path="$TOP/lib" --descriptor_set_out="$SH/cri.desc" net/cri.proto || return 1
	echo ready >"$SH/cri.mode"
	/usr/bin/python3 "$TOP/tests/cri_server.py" --socket "$SH/cri.sock" --descriptors "$SH/cri.desc" \
		--mode-file "$SH/cri.mode" --log "$SH/cri.calls" >"$SH/cri.out" 2>"$SH/cri.err" &
	SH_CRI_PID=$!
	wait_first_line "$SH/cri.out" >/dev/null && wait_path "$SH/cri.sock" || return 1
	systemd_up || return 1
	# the API server's view: apiserver-replay over tests/apiserver_lib.sh's
	# scenario (the v1.34 capture), its first step only
	api_scenario "$SH/api"
	echo "sa-token-$$" >"$SH/api.token"
	"$BIN/apiserver-replay" --scenario "$SH/api" --node "$NODE_NAME" --token-file "$SH/api.token" \
		>"$SH/api.url" 2>"$SH/api.err" &
	SH_API_PID=$!
	SH_API=$(wait_first_line "$SH/api.url") || return 1
	: >"$SH/kmsg"
	SH_PROM=127.0.0.1:$(free_port)
	SH_SCAN=$SH/svc
	mkdir -p "$SH_SCAN/.env"
	for s in analyzer $SHARED_COLLECTORS $SHARED_SINKS; do
		cp -R "$TOP/svc/$s" "$SH_SCAN/$s"
		mkdir -p "$SH_SCAN/$s/env"
	done
	rm -rf "$SH_SCAN/sink-stdout/log" "$SH_SCAN/sink-nats/down"
	e=$SH_SCAN/.env
	echo "$BIN" >"$e/NRO_BIN"
	echo "$SH/run" >"$e/NRO_RUN_DIR"
	echo "$SH/log" >"$e/NRO_LOG_DIR"
	echo "$SH_KUBELET" >"$e/NRO_KUBELET_URL"
	echo "$NODE_NAME" >"$e/NRO_NODE_NAME"
	echo 1s >"$e/NRO_INTERVAL"
	echo 1 >"$e/NRO_FROM_START" # every sink delivers the whole ring: compared with it below
	echo "NodeMemoryPressure.resolve_after=2s,ContainerRestarted.resolve_after=1h,ContainerRuntimeUnhealthy.for=0s,ContainerRuntimeUnhealthy.resolve_after=0s" >"$e/NRO_SET"
	# pods and healthz poll every second, summary every 2 s, the others every
	# 10 s (a restarted collector polls at once): records enough to check,
	# few enough to check them all in every row
	echo 2s >"$SH_SCAN/collector-summary/env/NRO_INTERVAL"
	for s in collector-syncloop collector-probes collector-configz collector-resource collector-spec \
		collector-cadvisor collector-metrics collector-node collector-kmsg collector-apiserver; do
		echo 10s >"$SH_SCAN/$s/env/NRO_INTERVAL"
	done
	echo 33554432 >"$SH_SCAN/analyzer/env/NRO_RING_SIZE" # never wraps during the suite
	echo json >"$SH_SCAN/sink-stdout/env/NRO_FORMAT"
	# the sinks take the events (sink-stdout the collectors' health too, a
	# record of each every poll); sink-prom everything
	echo EH >"$SH_SCAN/sink-stdout/env/NRO_SINK_KINDS"
	echo E >"$SH_SCAN/sink-otel/env/NRO_OTLP_KINDS"
	echo "$SH_OTLP" >"$SH_SCAN/sink-otel/env/NRO_OTLP_ENDPOINT"
	echo "nats://127.0.0.1:$SH_NATS_PORT" >"$SH_SCAN/sink-nats/env/NRO_NATS_URL"
	echo 1 >"$SH_SCAN/sink-nats/env/NRO_NATS_JETSTREAM"
	echo E >"$SH_SCAN/sink-nats/env/NRO_SINK_KINDS"
	echo "$SH_PROM" >"$SH_SCAN/sink-prom/env/NRO_PROM_LISTEN"
	echo "$FIXTURES/../host/node_exporter/proc" >"$SH_SCAN/collector-node/env/NRO_PROC_ROOT"
	echo "$FIXTURES/../host/node_exporter/sys" >"$SH_SCAN/collector-node/env/NRO_SYS_ROOT"
	echo "$SH/hostroot" >"$SH_SCAN/collector-node/env/NRO_HOST_ROOT"
	echo "$SH/kmsg" >"$SH_SCAN/collector-kmsg/env/NRO_KMSG"
	echo "unix://$SH/cri.sock" >"$SH_SCAN/collector-runtime/env/NRO_RUNTIME_ENDPOINT"
	echo "unix:path=$SH/bus.sock" >"$SH_SCAN/collector-systemd/env/NRO_DBUS_ADDRESS"
	rm -f "$SH_SCAN/collector-apiserver/down" # shipped off
	echo "$SH_API" >"$SH_SCAN/collector-apiserver/env/NRO_APISERVER_URL"
	echo "$SH/api.token" >"$SH_SCAN/collector-apiserver/env/NRO_APISERVER_TOKEN_FILE"
	# no leak check under s6: LeakSanitizer's stop-the-world at exit can hang
	# on nng's exiting threads (tests/sink_otel_test.sh); the other rows and
	# suites check leaks in the same code
	ASAN_OPTIONS=detect_leaks=0:exitcode=66 s6-svscan "$SH_SCAN" >"$SH/out" 2>"$SH/scan.err" &
	SH_SCAN_PID=$!
	for s in analyzer $SHARED_COLLECTORS $SHARED_SINKS; do
		svwait_up "$SH_SCAN/$s" || { echo "$s did not become ready" >&2; return 1; }
	done
	# the incident: a pod crash-looping, then (step 1) another OOM-killed
	# and crash-looping while memory.available falls under the threshold
	wait_for_lines "$SH/out" '"type":"PodCrashLooping"' 30 || return 1
	curl -fsS -X POST "$SH_KUBELET/replay/step" >/dev/null || return 1
	for t in ContainerOOMKilled ContainerRestarted NodeMemoryPressure; do
		wait_for_lines "$SH/out" "\"type\":\"$t\"" 30 || return 1
	done
	wait_for_lines "$SH/out" '"type":"PodCrashLooping"' 30 2 || return 1
}

shared_down() {
	[ -n "${SH_SCAN_PID:-}" ] || return 0
	s6-svscanctl -t "$SH_SCAN" 2>/dev/null
	i=0
	while [ $i -lt 400 ] && kill -0 "$SH_SCAN_PID" 2>/dev/null; do
		sleep 0.05
		i=$((i + 1))
	done
	kill -9 "$SH_SCAN_PID" 2>/dev/null
	wait "$SH_SCAN_PID" 2>/dev/null
	for p in ${SH_REPLAY_PID:-} ${SH_RECV_PID:-} ${SH_NATS_PID:-} ${SH_CRI_PID:-} ${SH_SD_PID:-} ${SH_BUS_PID:-} ${SH_API_PID:-}; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	SH_SCAN_PID="" SH_REPLAY_PID="" SH_RECV_PID="" SH_NATS_PID="" SH_CRI_PID="" SH_SD_PID="" SH_BUS_PID=""
	SH_API_PID="" SH_BIN=""
}

# A private system bus (dbus-daemon) with tests/systemd_standin.py as
# systemd: kubelet.service and containerd.service from recorded
# `systemctl show` dumps, as tests/collector_systemd_test.sh has them.
systemd_up() {
	cat >"$SH/bus.conf" <<BUSCONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$SH/bus.sock</listen>
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
BUSCONF
	dbus-daemon --config-file="$SH/bus.conf" --nofork --print-address=1 >"$SH/bus.addr" 2>"$SH/bus.err" &
	SH_BUS_PID=$!
	wait_first_line "$SH/bus.addr" >/dev/null || return 1
	sd=$FIXTURES/../host/systemd
	DBUS_SYSTEM_BUS_ADDRESS=unix:path=$SH/bus.sock /usr/bin/python3 "$TOP/tests/systemd_standin.py" \
		--unit "kubelet.service=$sd/kubelet-running-NRestarts29-kata-containers2075.partial.show" \
		--set kubelet.service:LoadState=loaded --set kubelet.service:ActiveState=active \
		--set kubelet.service:SubState=running \
		--unit "containerd.service=$sd/hotsos-k8s-master-containerd.service.show" \
		>"$SH/sd.out" 2>"$SH/sd.err" &
	SH_SD_PID=$!
	wait_first_line "$SH/sd.out" >/dev/null
}

# The OTLP receiver (on SH_OTLP's port once there is one), appending to a
# new file each time: recv.N.jsonl.
recv_start() {
	SH_RECV_N=$((${SH_RECV_N:-0} + 1))
	port_arg=""
	[ -n "${SH_OTLP:-}" ] && port_arg="--port ${SH_OTLP##*:}"
	: >"$SH/recv.url"
	# shellcheck disable=SC2086
	node "$RECEIVER" --out "$SH/recv.$SH_RECV_N.jsonl" $port_arg >"$SH/recv.url" 2>>"$SH/recv.err" &
	SH_RECV_PID=$!
	SH_OTLP=$(wait_first_line "$SH/recv.url")
}

# nats-server with JetStream in $SH/js, on SH_NATS_PORT (the same store and
# port when it comes back).
nats_up() {
	: >"$SH/nats.log"
	nats-server -a 127.0.0.1 -p "$SH_NATS_PORT" -js -sd "$SH/js" -l "$SH/nats.log" &
	SH_NATS_PID=$!
	wait_for_lines "$SH/nats.log" 'Server is ready' 20
}

# The ring's head (its newest seq).
sh_ring_head() {
	h=$(python3 "$TOP/tests/ring_read.py" --info "$SH/run/ring" 2>/dev/null | awk '{print $8}')
	echo "${h:-0}"
}

# kill -9 of service $1 in the shared pipeline; s6 must bring it back (a
# new pid, up and ready again: s6-svwait, bounded). Sets MARK to the ring's
# head just before it was killed.
kill_and_await() {
	before=$(s6-svstat -p "$SH_SCAN/$1")
	MARK=$(sh_ring_head)
	s6-svc -k "$SH_SCAN/$1"
	# the kill took: another pid (s6 may have restarted it before any
	# s6-svwait -d could see it down), then up and ready again
	i=0
	while [ $i -lt 400 ] && [ "$(s6-svstat -p "$SH_SCAN/$1")" = "$before" ]; do
		sleep 0.025
		i=$((i + 1))
	done
	s6-svwait -U -t 10000 "$SH_SCAN/$1"
	assertTrue "$1 was not back up and ready within 10s" $?
	after=$(s6-svstat -p "$SH_SCAN/$1")
	assertNotEquals "$1 was not restarted (same pid)" "$before" "$after"
}

# wait_seq_after SEQ PATTERN...: until sink-stdout printed a record with a
# seq above SEQ on a line holding every fixed-string PATTERN (bounded, 30 s).
wait_seq_after() {
	_after=$1
	shift
	i=0
	while [ $i -lt 300 ]; do
		_l=$(grep -F "$1" "$SH/out")
		for _p in "$@"; do _l=$(printf '%s\n' "$_l" | grep -F "$_p"); done
		printf '%s\n' "$_l" | grep -o '"seq":[0-9]*' | cut -d: -f2 |
			awk -v m="$_after" '$1 > m { f = 1 } END { exit !f }' && return 0
		sleep 0.1
		i=$((i + 1))
	done
	fail "no record after seq $_after with: $*"
	return 1
}

# wait_cursor SINK SEQ: until SINK's cursor reached SEQ (bounded, 30 s).
wait_cursor() {
	i=0
	while [ $i -lt 600 ]; do
		c=$(awk '{print $4}' "$SH/run/$1.cursor" 2>/dev/null)
		[ "${c:-0}" -ge "$2" ] && return 0
		sleep 0.05
		i=$((i + 1))
	done
	fail "$1's cursor at ${c:-none}, not $2, after 30 s"
	return 1
}

# delivered SINK: its seqs (stdin, in delivery order) with the repeats a
# kill -9 may make dropped: lib/run/sink.h delivers again what was
# delivered after its last cursor write, so a repeat of a seq above the
# cursor read just before its kill (floor.SINK) is allowed, any other is
# written to repeats.SINK.
delivered() {
	floor=$(cat "$SH/floor.$1" 2>/dev/null || echo -1)
	awk -v f="$floor" -v bad="$SH/repeats.$1" \
		'$1 > max { print; max = $1; next } f < 0 || $1 <= f { print $1 >>bad }'
}

# sinks_agree [nats|stdout]: every sink delivered what the ring holds up to
# its head now, each record once, in seq order (the seq lists are equal:
# none missing, out of order or repeated beyond what delivered allows):
# sink-stdout the events and health records, sink-otel the events (their
# nro.seq), sink-nats (with "nats") its JetStream stream; sink-prom answers
# a scrape. With "stdout" (a collector's row: the sinks' own rows and
# kill9_incident_once check the others) sink-stdout alone.
sinks_agree() {
	head=$(sh_ring_head)
	if [ "${1:-}" = stdout ]; then
		wait_cursor sink-stdout "$head" || return 1
	else
		for s in sink-stdout sink-otel sink-nats; do wait_cursor "$s" "$head" || return 1; done
	fi
	rm -f "$SH"/repeats.*
	"$BIN/nro-dump" --ring "$SH/run/ring" -k EH >"$SH/ring.jsonl"
	jq -r "select(.seq <= $head) | .seq" "$SH/ring.jsonl" | uniq >"$SH/want.all"
	grep '^{' "$SH/out" | jq -r .seq | uniq | delivered sink-stdout | awk -v h="$head" '$1 <= h' >"$SH/got.stdout"
	diff "$SH/want.all" "$SH/got.stdout" >"$SH/diff.stdout"
	_rc=$?
	assertEquals "sink-stdout vs the ring (want -, got +): $(head -5 "$SH/diff.stdout")" 0 "$_rc"
	[ "${1:-}" = stdout ] && return 0
	jq -r "select(.seq <= $head and .kind == \"event\") | .seq" "$SH/ring.jsonl" | uniq >"$SH/want.events"
	cat "$SH"/recv.*.jsonl | jq -r 'select(.status == 200 and .path == "/v1/logs") |
		.request.resourceLogs[].scopeLogs[].logRecords[].attributes[] |
		select(.key == "nro.seq") | .value.intValue' | uniq | delivered sink-otel |
		awk -v h="$head" '$1 <= h' >"$SH/got.otel"
	diff "$SH/want.events" "$SH/got.otel" >"$SH/diff.otel"
	_rc=$?
	assertEquals "sink-otel's events vs the ring (want -, got +): $(head -5 "$SH/diff.otel")" 0 "$_rc"
	assertTrue "the ring holds events" "[ -s $SH/want.events ]"
	if [ "${1:-}" = nats ]; then
		node "$NATS_CLIENT" stream-dump "nats://127.0.0.1:$SH_NATS_PORT" NRO >"$SH/stream.jsonl" 2>"$SH/dump.err"
		_rc=$?
		assertEquals "stream-dump: $(cat "$SH/dump.err")" 0 "$_rc"
		jq -r '.headers["Nats-Msg-Id"] | split("-") | .[1]' "$SH/stream.jsonl" | uniq |
			awk -v h="$head" '$1 <= h' >"$SH/got.nats"
		diff "$SH/want.events" "$SH/got.nats" >"$SH/diff.nats"
		_rc=$?
		assertEquals "sink-nats' stream vs the ring (want -, got +): $(head -5 "$SH/diff.nats")" 0 "$_rc"
		assertEquals "duplicate message ids" "" \
			"$(jq -r '.headers["Nats-Msg-Id"]' "$SH/stream.jsonl" | sort | uniq -d | head -3)"
	fi
	assertEquals "repeated below the cursor: $(head -c 300 "$SH"/repeats.* 2>/dev/null)" "" \
		"$(cat "$SH"/repeats.* 2>/dev/null)"
	scrape
}

# A scrape of sink-prom: HTTP 200 with the node's series. A sink-prom just
# restarted renders them once it has read the ring again: scraped until
# they are there (bounded, 30 s).
scrape() {
	i=0
	while [ $i -lt 300 ]; do
		curl -fsS "http://$SH_PROM/metrics" >"$SH/scrape" 2>"$SH/scrape.err" &&
			grep -q '^[^#].*memory_available' "$SH/scrape" && break
		sleep 0.1
		i=$((i + 1))
	done
	assertEquals "scrape: $(cat "$SH/scrape.err")" "" "$(cat "$SH/scrape.err")"
	assertContains "the scrape has the node's series" "$(grep -m1 -o '^[^#]*memory_available[^ {]*' "$SH/scrape")" \
		"memory_available"
}

# kill9 COLLECTOR: killed, back, publishing again (a health record of its
# own after the kill), the sinks agree with the ring.
kill9_collector() {
	shared_up || return
	kill_and_await "$1"
	wait_seq_after "$MARK" "\"source\":\"$1\"" '"kind":"health"' || return
	sinks_agree stdout
}

row_kill9_collector_healthz() { kill9_collector collector-healthz; }
row_kill9_collector_syncloop() { kill9_collector collector-syncloop; }
row_kill9_collector_pods() { kill9_collector collector-pods; }
row_kill9_collector_summary() { kill9_collector collector-summary; }
row_kill9_collector_probes() { kill9_collector collector-probes; }
row_kill9_collector_configz() { kill9_collector collector-configz; }
row_kill9_collector_resource() { kill9_collector collector-resource; }
row_kill9_collector_spec() { kill9_collector collector-spec; }
row_kill9_collector_cadvisor() { kill9_collector collector-cadvisor; }
row_kill9_collector_metrics() { kill9_collector collector-metrics; }
row_kill9_collector_node() { kill9_collector collector-node; }
row_kill9_collector_runtime() { kill9_collector collector-runtime; }
row_kill9_collector_systemd() { kill9_collector collector-systemd; }
row_kill9_collector_apiserver() { kill9_collector collector-apiserver; }

# collector-kmsg, back, follows its file again: a kernel OOM kill written
# after the restart fires once.
row_kill9_collector_kmsg() {
	shared_up || return
	kill_and_await collector-kmsg
	wait_seq_after "$MARK" '"source":"collector-kmsg"' '"kind":"health"' || return
	printf '[ 100.5] Out of memory: Killed process 4242 (stress) total-vm:10000kB, anon-rss:5000kB, file-rss:0kB\n' \
		>>"$SH/kmsg"
	wait_seq_after "$MARK" '"type":"KernelOOMKill"' '"state":"firing"' || return
	sinks_agree
}

# The analyzer, back: forwards again (a collector's record after the kill),
# restores what is firing from the ring (nothing announced again: checked
# by kill9_incident_once), and every sink resumes on the new records.
row_kill9_analyzer() {
	shared_up || return
	kill_and_await analyzer
	wait_seq_after "$MARK" '"source":"collector-pods"' || return
	assertContains "$(cat "$SH"/log/analyzer/current)" "earlier events restored"
	sinks_agree nats
}

# kill9 SINK: killed, back, resumes after its cursor: it and the others agree
# with the ring.
kill9_sink() {
	shared_up || return
	[ "$1" = sink-prom ] || awk '{print $4}' "$SH/run/$1.cursor" >"$SH/floor.$1"
	kill_and_await "$1"
	sinks_agree "${2:-}"
}
row_kill9_sink_stdout() { kill9_sink sink-stdout; }
row_kill9_sink_otel() { kill9_sink sink-otel; }
row_kill9_sink_nats() { kill9_sink sink-nats nats; }
row_kill9_sink_prom() { kill9_sink sink-prom; }

# An event while a sink's destination is away: the CRI stand-in's runtime
# turns not ready, or ready again (ContainerRuntimeUnhealthy fires or
# resolves at collector-runtime's next poll); sets OUTAGE_STATE to the
# event's state.
outage_event() {
	if [ "$(cat "$SH/cri.mode")" = ready ]; then
		echo runtime-not-ready >"$SH/cri.mode"
		OUTAGE_STATE=firing
	else
		echo ready >"$SH/cri.mode"
		OUTAGE_STATE=resolved
	fi
}

# The OTLP receiver stopped, then back on its port: what the ring took
# meanwhile (an event among it) arrives once, in order.
row_otel_receiver_down() {
	shared_up || return
	kill -TERM "$SH_RECV_PID"
	wait "$SH_RECV_PID" 2>/dev/null
	mark=$(sh_ring_head)
	outage_event
	wait_for_lines "$SH/log/sink-otel/current" 'holding the batch and retrying' 30 || return
	wait_seq_after "$mark" '"type":"ContainerRuntimeUnhealthy"' "\"state\":\"$OUTAGE_STATE\"" || return
	recv_start || { fail "the receiver did not come back"; return; }
	sinks_agree
	assertContains "$(cat "$SH"/log/sink-otel/current)" "delivering again after"
}

# nats-server stopped, then back (same port, same JetStream store): the
# stream holds every event and metric record once.
row_nats_server_down() {
	shared_up || return
	kill -TERM "$SH_NATS_PID"
	wait "$SH_NATS_PID" 2>/dev/null
	mark=$(sh_ring_head)
	outage_event
	wait_for_lines "$SH/log/sink-nats/current" 'disconnected' 30 || return
	wait_seq_after "$mark" '"type":"ContainerRuntimeUnhealthy"' "\"state\":\"$OUTAGE_STATE\"" || return
	nats_up || { fail "nats-server did not come back"; return; }
	sinks_agree nats
	assertContains "$(cat "$SH"/log/sink-nats/current)" "reconnected"
}

# sink-prom's destination is the scraper: a scrape while the analyzer is
# down answers with the series it had, and one after its restart answers
# with series it made from records the new analyzer published.
row_prom_scrape_analyzer_restart() {
	shared_up || return
	s6-svc -d "$SH_SCAN/analyzer"
	s6-svwait -D -t 10000 "$SH_SCAN/analyzer"
	scrape
	mark=$(sh_ring_head)
	s6-svc -u "$SH_SCAN/analyzer"
	s6-svwait -U -t 10000 "$SH_SCAN/analyzer"
	assertTrue "the analyzer is back" $?
	wait_seq_after "$mark" '"source":"collector-summary"' || return
	sinks_agree
}

INCIDENT_EVENTS='ContainerOOMKilled firing scraper/e2e-deployment-6fb786454b-mrr5s/compute-pi-digits
ContainerRestarted firing scraper/e2e-deployment-6fb786454b-mrr5s/compute-pi-digits
NodeMemoryPressure firing //datagen-1-34
NodeMemoryPressure resolved //datagen-1-34
PodCrashLooping firing scraper/e2e-container-creating/alpine
PodCrashLooping firing scraper/e2e-deployment-6fb786454b-mrr5s/compute-pi-digits'

# After every process was killed in turn: memory recovers (step 2); every
# event of the incident was delivered exactly once, and no alert was
# announced twice (each alert's events alternate firing, resolved).
row_kill9_incident_once() {
	shared_up || return
	curl -fsS -X POST "$SH_KUBELET/replay/step" >/dev/null
	wait_for_lines "$SH/out" '"type":"NodeMemoryPressure".*"state":"resolved"' 30 || return
	sinks_agree nats
	grep '^{' "$SH/out" | jq -c 'select(.kind == "event")' >"$SH/events.json"
	event_lines "$SH/events.json" |
		grep -E '^(ContainerOOMKilled|ContainerRestarted|NodeMemoryPressure|PodCrashLooping) ' >"$SH/got"
	echo "$INCIDENT_EVENTS" >"$SH/want"
	diff "$SH/want" "$SH/got" >"$SH/diff"
	_rc=$?
	assertEquals "incident events differ (want -, got +): $(cat "$SH/diff")" 0 "$_rc"
	jq -r '"\(.type)|\(.object | tostring)|\(.attrs // {} | tostring) \(.state)"' "$SH/events.json" |
		awk '{ k = $1; if (last[k] == $2) bad = bad " " k " " $2 " twice;"; last[k] = $2 }
			END { print bad }' >"$SH/twice"
	assertEquals "announced twice" "" "$(cat "$SH/twice" | tr -d ' ')"
	shared_down
}

step() { curl -fsS -X POST "$REPLAY_URL/replay/step" >/dev/null; }

event_lines() {
	jq -r 'select(.kind=="event") |
		"\(.type) \(.state) \(.object.namespace // "")/\(.object.pod // "")/\(.object.container // "")\(.object.name // "")"' "$1" | sort
}

# The analyzer restarted between two polls of collector-pods (pipes on one
# ring, so no timing decides which poll it saw): the restart count that rose
# across its restart is a restart (ContainerRestarted), judged against the
# last poll the ring holds; the crash loop it had announced is not repeated.
row_analyzer_restart_between_polls() {
	start_replay --scenario "$SCENARIO" || return
	mkdir -m 0700 -p "$TMP/run"
	for p in 1 2; do
		[ $p = 2 ] && step
		"$BIN/collector-pods" --once -o - --kubelet "$REPLAY_URL" 2>"$TMP/c$p.err" |
			"$BIN/analyzer" -i - -o - --ring "$TMP/run/ring" 2>"$TMP/a$p.err" |
			"$BIN/sink-stdout" -i - --format json >"$TMP/poll$p.json"
	done
	event_lines "$TMP/poll1.json" >"$TMP/got1"
	assertEquals "first run" "PodCrashLooping firing scraper/e2e-container-creating/alpine" "$(cat "$TMP/got1")"
	event_lines "$TMP/poll2.json" >"$TMP/got"
	printf '%s\n' \
		"ContainerOOMKilled firing scraper/e2e-deployment-6fb786454b-mrr5s/compute-pi-digits" \
		"ContainerRestarted firing scraper/e2e-deployment-6fb786454b-mrr5s/compute-pi-digits" \
		"PodCrashLooping firing scraper/e2e-deployment-6fb786454b-mrr5s/compute-pi-digits" >"$TMP/want"
	diff "$TMP/want" "$TMP/got" >"$TMP/diff"
	_rc=$?
	assertEquals "after the restart (want -, got +): $(cat "$TMP/diff"; cat "$TMP/a2.err")" 0 "$_rc"
}

# ---- the kubelet misbehaving ------------------------------------------------

# One kubelet-replay over a copy of the v1.34 /pods with sidecar $1=$2.
faulty_kubelet() {
	mkdir -p "$TMP/fx"
	cp "$FIXTURES/v1.34/pods.json" "$TMP/fx/"
	[ -n "${1:-}" ] && printf '%s\n' "$2" >"$TMP/fx/pods.json.$1"
	start_replay --dir "$TMP/fx" --token good
}

# One poll of collector-pods: sets RC; its stderr in $TMP/c.err.
poll_once() {
	"$BIN/collector-pods" --once -o - --node n1 --timeout 2s --kubelet "$REPLAY_URL" \
		--token-file "$TMP/tok-good" "$@" >"$TMP/c.out" 2>"$TMP/c.err"
	RC=$?
}

row_kubelet_slow() {
	faulty_kubelet delay 300ms || return
	poll_once
	assertEquals "slow kubelet: $(cat "$TMP/c.err")" 0 "$RC"
	assertTrue "no records written" "[ -s $TMP/c.out ]"
}

row_kubelet_hang() {
	faulty_kubelet delay forever || return
	poll_once
	assertEquals 111 "$RC"
	assertContains "$(cat "$TMP/c.err")" "timed out (--timeout)"
}

row_kubelet_reset() {
	faulty_kubelet truncate 2000 || return
	poll_once
	assertEquals 111 "$RC"
	assertContains "$(cat "$TMP/c.err")" "body truncated after 2000 bytes"
}

row_kubelet_500() {
	faulty_kubelet status 500 || return
	poll_once
	assertEquals 111 "$RC"
	assertContains "$(cat "$TMP/c.err")" "500 Internal Server Error"
}

row_kubelet_401() {
	faulty_kubelet || return
	poll_once --token-file "$TMP/tok-wrong"
	assertEquals 100 "$RC"
	assertContains "$(cat "$TMP/c.err")" "rejected the credentials"
}

row_kubelet_garbage() {
	mkdir -p "$TMP/fx"
	printf '{"items": [ garbage' >"$TMP/fx/pods.json"
	start_replay --dir "$TMP/fx" --token good || return
	poll_once
	assertEquals 102 "$RC"
	assertContains "$(cat "$TMP/c.err")" "invalid JSON"
}

row_kubelet_bad_chunked() {
	python3 "$TOP/tests/bad_chunked.py" >"$TMP/bc.url" 2>"$TMP/bc.err" &
	REPLAY_PID=$!
	REPLAY_URL=$(wait_first_line "$TMP/bc.url") || fail "bad_chunked.py did not start"
	"$BIN/collector-pods" --once -o - --node n1 --kubelet "$REPLAY_URL" >/dev/null 2>"$TMP/c.err"
	assertNotEquals "a broken body is not a success" 0 $?
	assertContains "$(cat "$TMP/c.err")" "malformed chunked body"
	assertNotContains "$(cat "$TMP/c.err")" "unreachable"
}

row_token_over_http() {
	faulty_kubelet || return
	NRO_ALLOW_INSECURE_TOKEN= poll_once
	assertEquals 100 "$RC"
	assertContains "$(cat "$TMP/c.err")" "refusing to send the bearer token over http://"
	assertNotContains "the token is never printed" "$(cat "$TMP/c.err")" good
	NRO_ALLOW_INSECURE_TOKEN= poll_once --allow-insecure-token
	assertEquals "with --allow-insecure-token: $(cat "$TMP/c.err")" 0 "$RC"
}

# ---- the run directory ------------------------------------------------------

# The analyzer on run directory $1: sets RC, stderr in $TMP/a.err.
analyzer_on() {
	NRO_RUN_DIR=$1 timeout 10 "$BIN/analyzer" </dev/null >/dev/null 2>"$TMP/a.err"
	RC=$?
}

row_run_dir_writable() {
	mkdir -m 0777 "$TMP/run" && chmod 0777 "$TMP/run"
	analyzer_on "$TMP/run"
	assertEquals 100 "$RC"
	assertContains "$(cat "$TMP/a.err")" "writable by group or others (mode 0777)"
	assertFalse "no socket made there" "[ -e $TMP/run/records.ipc ]"
}

row_run_dir_foreign() {
	[ "$(id -u)" = 0 ] || startSkipping
	mkdir -m 0700 "$TMP/run" && chown 65534 "$TMP/run"
	analyzer_on "$TMP/run"
	assertEquals 100 "$RC"
	assertContains "$(cat "$TMP/a.err")" "is owned by uid 65534"
}

row_run_dir_symlink() {
	mkdir -m 0700 "$TMP/real"
	ln -s "$TMP/real" "$TMP/run"
	analyzer_on "$TMP/run"
	assertEquals 100 "$RC"
	assertContains "$(cat "$TMP/a.err")" "is a symbolic link"
	rm -rf "$TMP/real"
}

row_run_dir_sockets() {
	(umask 0 && exec "$BIN/analyzer" </dev/null >/dev/null 2>"$TMP/a.err") &
	apid=$!
	wait_path "$TMP/run/events.ipc"
	wait_path "$TMP/run/records.ipc"
	modes=$(stat -c '%A %n' "$TMP/run/records.ipc" "$TMP/run/events.ipc" | sed "s|$TMP/run/||")
	kill "$apid"
	wait "$apid"
	assertEquals "srw------- records.ipc
srw------- events.ipc" "$modes"
	assertEquals "run dir made private" 700 "$(stat -c %a "$TMP/run")"
}

# ---- the ring's tmpfs full ---------------------------------------------------

row_tmpfs_full() {
	unshare -m sh -c "mount -t tmpfs -o size=1m tmpfs '$TMP' 2>/dev/null" 2>/dev/null ||
		startSkipping
	mkdir -p "$TMP/mnt"
	out=$(unshare -m sh -c '
		mount -t tmpfs -o size=2m,mode=0700 tmpfs "$1" || exit 99
		mkdir -m 0700 "$1/run"
		NRO_RUN_DIR="$1/run" "$2" --ring-size 8388608 </dev/null >/dev/null 2>"$1/err"
		echo "rc=$?"
		cat "$1/err"' sh "$TMP/mnt" "$BIN/analyzer")
	assertContains "$out" "rc=111"
	assertContains "$out" "no room for a ring"
	assertNotContains "$out" "Bus error"
}

# ---- the clock stepping back -------------------------------------------------

row_clock_back() {
	start_replay --dir "$FIXTURES/gke-crashloop" || return
	"$BIN/collector-pods" --kubelet "$REPLAY_URL" --once -o - >"$TMP/a.bin" 2>/dev/null
	"$BIN/collector-pods" --kubelet "$REPLAY_URL" --once -o - >"$TMP/b.bin" 2>/dev/null
	# the second poll's records stamped an hour before the first's
	python3 "$TOP/tests/restamp.py" -3600000 <"$TMP/b.bin" >"$TMP/b-old.bin" ||
		fail "restamp.py"
	cmp -s "$TMP/b.bin" "$TMP/b-old.bin" && fail "restamp.py changed nothing"
	cat "$TMP/a.bin" "$TMP/b-old.bin" "$TMP/a.bin" |
		"$BIN/analyzer" -i - -o - 2>"$TMP/a.err" | "$BIN/sink-stdout" -i - >"$TMP/clock.out"
	_rc=$?
	assertEquals "pipeline exit: $(cat "$TMP/a.err")" 0 "$_rc"
	event_lines "$TMP/clock.out" >"$TMP/got"
	printf '%s\n' \
		"ContainerOOMKilled firing kube-system/fluentd-gcp-v2.0.10-9q9t4/fluentd-gcp" \
		"PodCrashLooping firing kube-system/fluentd-gcp-v2.0.10-9q9t4/prometheus-to-sd-exporter" \
		>"$TMP/want"
	diff "$TMP/want" "$TMP/got" >"$TMP/diff"
	_rc=$?
	assertEquals "clock back: events differ: $(cat "$TMP/diff")" 0 "$_rc"
}

. shunit2
