#!/bin/bash
# collector-summary against kubelet-replay: every stats_summary.json fixture
# (every version, gke-summary), decoded with nro-dump and checked against an
# independent reading of the same file with jq (node CPU, memory, fs,
# imagefs, containerfs, rlimit, swap, PSI only where present, network per
# interface, system containers, pods, containers, ephemeral storage,
# volumes, sample times); a synthetic summary (PVC volumes, missing fields,
# bad values, --psi); faults (garbage, truncated JSON and transfer, not a
# summary, HTTP 500, timeout, cap, unreachable).
# Runs the plain build and, when built, the ASan+UBSan build.
#
#   bash tests/collectors_summary_test.sh
#   NRO_BIN=build/san/bin bash tests/collectors_summary_test.sh

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/jsoncollect_lib.sh"

oneTimeSetUp() {
	nro_tmpdir
	FILES=$(ls "$FIXTURES"/*/stats_summary.json 2>/dev/null)
}
oneTimeTearDown() { jc_stop_replay; rm -rf "$TMP"; }
tearDown() { jc_stop_replay; }

# m NAME: "value" of every metric NAME, one a line, in output order.
m() {
	jl --arg n "$1" 'select(.name == $n) | .value'
}

# jf FILTER: jq -r over the fixture file $f.
jf() {
	jq -r "$@" "$f"
}

# What must not differ between builds: every entry but the poll's own times.
SAME='select(.kind != "health") | del(.ts, .seq)'

# Every pod's containers as "$p.uid/name" pairs, only the newest entry of a
# name (1.15 lists some containers once per sample): [podRef, container].
JQ_CTRS='.pods[] | .podRef as $p | [.containers[]?] | group_by(.name)[] |
	max_by([.startTime // "", .cpu.time // .memory.time // ""]) | [$p, .]'

# The metric's ts as the kubelet wrote it ("...:29.000Z" -> "...:29Z").
TS='(.ts | sub("\\.000Z$"; "Z"))'

check_fixture() { # B FILE
	b=$1
	f=$2
	what="$(flavour "$b") $(basename "$(dirname "$f")")"
	collect "$b" collector-summary
	assertEquals "$what: exit status ($(head -c 300 "$ERR"))" 0 "$RC"
	assertEquals "$what: health" ok "$(health_status)"
	assertEquals "$what: health bytes" "$(stat -c %s "$f")" "$(jl 'select(.kind=="health") | .bytes')"
	assertEquals "$what: node name" "$(jf .node.nodeName)" "$(jl .node | sort -u)"
	assertEquals "$what: k8s.node.name attribute" "$(jf .node.nodeName)" \
		"$(jl 'select(.kind=="metric") | .attrs["k8s.node.name"]' | sort -u)"

	# node
	assertEquals "$what: memory.available and its time" \
		"$(jf '"\(.node.memory.availableBytes) \(.node.memory.time)"')" \
		"$(jl "select(.name==\"k8s.node.memory.available\") | \"\(.value) \($TS)\"")"
	assertEquals "$what: memory.working_set" "$(jf '.node.memory.workingSetBytes')" \
		"$(m k8s.node.memory.working_set)"
	assertEquals "$what: cpu.usage (cores)" "$(jf '.node.cpu.usageNanoCores / 1e9')" "$(m k8s.node.cpu.usage)"
	assertEquals "$what: cpu.time (s)" "$(jf '.node.cpu.usageCoreNanoSeconds / 1e9')" "$(m k8s.node.cpu.time)"
	assertEquals "$what: filesystem.available" "$(jf '.node.fs.availableBytes')" \
		"$(m k8s.node.filesystem.available)"
	assertEquals "$what: filesystem.inodes.free" "$(jf '.node.fs.inodesFree')" \
		"$(m k8s.node.filesystem.inodes.free)"
	assertEquals "$what: imagefs.available" "$(jf '.node.runtime.imageFs.availableBytes // empty')" \
		"$(m k8s.node.imagefs.available)"
	assertEquals "$what: containerfs.usage only where present" \
		"$(jf '.node.runtime.containerFs.usedBytes // empty')" "$(m k8s.node.containerfs.usage)"
	assertEquals "$what: rlimit.maxpid where present" "$(jf '.node.rlimit.maxpid // empty')" \
		"$(m k8s.node.rlimit.maxpid)"
	assertEquals "$what: rlimit.curproc where present" "$(jf '.node.rlimit.curproc // empty')" \
		"$(m k8s.node.rlimit.curproc)"
	assertEquals "$what: swap only where present" "$(jf '.node.swap.swapAvailableBytes // empty')" \
		"$(m k8s.node.swap.available)"
	for r in cpu memory io; do
		for k in some full; do
			got="$(m k8s.node.$r.pressure.$k.avg10) $(m k8s.node.$r.pressure.$k.avg60) $(m k8s.node.$r.pressure.$k.avg300) $(m k8s.node.$r.pressure.$k.total)"
			[ "$got" = "   " ] && got=""
			assertEquals "$what: node $r PSI $k only where present" \
				"$(jf ".node.$r.psi.$k | select(.) | \"\(.avg10) \(.avg60) \(.avg300) \(.total / 1e6)\"")" \
				"$got"
		done
	done
	assertEquals "$what: node network, every interface" \
		"$(jf '(.node.network.interfaces // [.node.network])[] | "\(.name) \(.rxBytes) \(.txBytes) \(.rxErrors) \(.txErrors)"' | sort)" \
		"$(jq -s -r '[.[] | select(.name=="k8s.node.network.io" or .name=="k8s.node.network.errors")] |
			group_by(.attrs.interface)[] | "\(.[0].attrs.interface) \(
			(map(select(.name=="k8s.node.network.io" and .attrs.direction=="receive"))[0].value)) \(
			(map(select(.name=="k8s.node.network.io" and .attrs.direction=="transmit"))[0].value)) \(
			(map(select(.name=="k8s.node.network.errors" and .attrs.direction=="receive"))[0].value)) \(
			(map(select(.name=="k8s.node.network.errors" and .attrs.direction=="transmit"))[0].value))"' "$OUT" | sort)"
	assertEquals "$what: system containers" \
		"$(jf '.node.systemContainers[]? | "\(.name) \(.memory.workingSetBytes // "-") \(if .cpu.usageNanoCores then .cpu.usageNanoCores / 1e9 else "-" end)"' | sort)" \
		"$(jq -s -r '[.[] | select(.attrs["k8s.system_container.name"])] | group_by(.attrs["k8s.system_container.name"])[] |
			"\(.[0].attrs["k8s.system_container.name"]) \((map(select(.name=="k8s.node.system_container.memory.working_set"))[0].value) // "-") \((map(select(.name=="k8s.node.system_container.cpu.usage"))[0].value) // "-")"' "$OUT" | sort)"

	# pods
	assertEquals "$what: pods" "$(jf '.pods | length')" \
		"$(jl 'select(.kind=="metric" and .attrs["k8s.pod.uid"]) | .attrs["k8s.pod.uid"]' | sort -u | wc -l)"
	assertEquals "$what: each pod" \
		"$(jf '.pods[] | .podRef | "\(.namespace)/\(.name) \(.uid)"' | sort)" \
		"$(jl 'select(.name=="k8s.pod.cpu.usage" or .name=="k8s.pod.memory.working_set") | "\(.attrs["k8s.namespace.name"])/\(.attrs["k8s.pod.name"]) \(.attrs["k8s.pod.uid"])"' | sort -u)"
	assertEquals "$what: sum of pod working sets" \
		"$(jf '[.pods[].memory.workingSetBytes // empty] | add // 0')" \
		"$(jq -s '[.[] | select(.name=="k8s.pod.memory.working_set") | .value] | add // 0' "$OUT")"
	assertEquals "$what: pod CPU" \
		"$(jf '.pods[] | select(.cpu.usageNanoCores) | "\(.podRef.uid) \(.cpu.usageNanoCores / 1e9) \(.cpu.time)"' | sort)" \
		"$(jl "select(.name==\"k8s.pod.cpu.usage\") | \"\(.attrs[\"k8s.pod.uid\"]) \(.value) \($TS)\"" | sort)"
	assertEquals "$what: pod ephemeral storage used" \
		"$(jf '.pods[] | select(.["ephemeral-storage"].usedBytes) | "\(.podRef.uid) \(.["ephemeral-storage"].usedBytes)"' | sort)" \
		"$(jl 'select(.name=="k8s.pod.filesystem.usage") | "\(.attrs["k8s.pod.uid"]) \(.value)"' | sort)"
	assertEquals "$what: pod network, default interface only" \
		"$(jf '.pods[] | select(.network.name) | "\(.podRef.uid) \(.network.name) \(.network.rxBytes) \(.network.txBytes)"' | sort)" \
		"$(jq -s -r '[.[] | select(.name=="k8s.pod.network.io")] | group_by(.attrs["k8s.pod.uid"])[] |
			"\(.[0].attrs["k8s.pod.uid"]) \(.[0].attrs.interface) \(map(select(.attrs.direction=="receive"))[0].value) \(map(select(.attrs.direction=="transmit"))[0].value)"' "$OUT" | sort)"
	assertEquals "$what: process counts where present" \
		"$(jf '.pods[] | select(.process_stats.process_count) | "\(.podRef.uid) \(.process_stats.process_count)"' | sort)" \
		"$(jl 'select(.name=="k8s.pod.process.count") | "\(.attrs["k8s.pod.uid"]) \(.value)"' | sort)"

	# containers
	assertEquals "$what: container working sets" \
		"$(jf "$JQ_CTRS"' | .[0] as $p | .[1] | select(.memory.workingSetBytes) | "\($p.uid)/\(.name) \(.memory.workingSetBytes)"' | sort)" \
		"$(jl 'select(.name=="container.memory.working_set") | "\(.attrs["k8s.pod.uid"])/\(.attrs["k8s.container.name"]) \(.value)"' | sort)"
	assertEquals "$what: container CPU" \
		"$(jf "$JQ_CTRS"' | .[0] as $p | .[1] | select(.cpu.usageNanoCores) | "\($p.uid)/\(.name) \(.cpu.usageNanoCores / 1e9)"' | sort)" \
		"$(jl 'select(.name=="container.cpu.usage") | "\(.attrs["k8s.pod.uid"])/\(.attrs["k8s.container.name"]) \(.value)"' | sort)"
	assertEquals "$what: container rootfs and logs" \
		"$(jf "$JQ_CTRS"' | .[0] as $p | .[1] | "\($p.uid)/\(.name) \(.rootfs.usedBytes // "-") \(.logs.usedBytes // "-")"' | sort)" \
		"$(jq -s -r '[.[] | select(.attrs["k8s.container.name"])] | group_by(.attrs["k8s.pod.uid"] + "/" + .attrs["k8s.container.name"])[] |
			"\(.[0].attrs["k8s.pod.uid"])/\(.[0].attrs["k8s.container.name"]) \((map(select(.name=="container.filesystem.usage"))[0].value) // "-") \((map(select(.name=="container.logs.usage"))[0].value) // "-")"' "$OUT" | sort)"

	# volumes
	assertEquals "$what: volumes" \
		"$(jf '.pods[] | .podRef as $p | .volume[]? | "\($p.uid) \(.name) \(.capacityBytes) \(.availableBytes) \(.inodesUsed) \(.time)"' | sort)" \
		"$(jq -s -r '[.[] | select(.attrs["k8s.volume.name"])] | group_by(.attrs["k8s.pod.uid"] + " " + .attrs["k8s.volume.name"])[] |
			"\(.[0].attrs["k8s.pod.uid"]) \(.[0].attrs["k8s.volume.name"]) \(map(select(.name=="k8s.volume.capacity"))[0].value) \(map(select(.name=="k8s.volume.available"))[0].value) \(map(select(.name=="k8s.volume.inodes.used"))[0].value) \(.[0].ts | sub("\\.000Z$"; "Z"))"' "$OUT" | sort)"

	assertEquals "$what: no pod or container PSI by default" 0 \
		"$(jl 'select(.kind=="metric" and (.name | test("^(k8s\\.pod|container)\\..*pressure"))) | 1' | wc -l)"
}

# check_psi_all FILE: with --psi all, pods' and containers' PSI where present.
check_psi_all() {
	f=$1
	what="psi-all $(basename "$(dirname "$f")")"
	collect "$BIN" collector-summary --psi all
	assertEquals "$what: exit status" 0 "$RC"
	assertEquals "$what: container CPU PSI" \
		"$(jf "$JQ_CTRS"' | .[0] as $p | .[1] | select(.cpu.psi) | "\($p.uid)/\(.name) \(.cpu.psi.some.avg10) \(.cpu.psi.full.total / 1e6)"' | sort)" \
		"$(jq -s -r '[.[] | select(.name=="container.cpu.pressure.some.avg10" or .name=="container.cpu.pressure.full.total")] |
			group_by(.attrs["k8s.pod.uid"] + "/" + .attrs["k8s.container.name"])[] |
			"\(.[0].attrs["k8s.pod.uid"])/\(.[0].attrs["k8s.container.name"]) \(map(select(.name | endswith("avg10")))[0].value) \(map(select(.name | endswith("total")))[0].value)"' "$OUT" | sort)"
	assertEquals "$what: pod memory PSI" \
		"$(jf '[.pods[] | select(.memory.psi)] | length')" \
		"$(jl 'select(.name=="k8s.pod.memory.pressure.some.avg60") | 1' | wc -l)"
	assertEquals "$what: node PSI as by default" \
		"$(jf '[.node.cpu.psi, .node.memory.psi, .node.io.psi | select(.)] | length * 8')" \
		"$(jl 'select(.kind=="metric" and (.name | test("^k8s\\.node\\.[a-z]+\\.pressure"))) | 1' | wc -l)"
}

# same_from_every_build FILE: the other builds (ASan/UBSan) decode FILE to
# exactly the entries the last collect ($BIN, checked value by value) did.
same_from_every_build() {
	ref=$OUT
	for b in $BINS; do
		[ "$b" = "$BIN" ] && continue
		collect "$b" collector-summary
		w="$(flavour "$b") $(basename "$(dirname "$1")")"
		assertEquals "$w: exit status ($(head -c 300 "$ERR"))" 0 "$RC"
		assertEquals "$w: health" ok "$(health_status)"
		if ! cmp -s <(jq -c "$SAME" "$ref") <(jq -c "$SAME" "$OUT"); then
			fail "$w: entries differ from the $BIN build's: $(diff <(jq -c "$SAME" "$ref") <(jq -c "$SAME" "$OUT") | head -5)"
		fi
	done
}

test_every_fixture_every_build() {
	[ -n "$FILES" ] || { fail "no stats_summary.json under $FIXTURES"; return; }
	n=0
	for f in $FILES; do
		jc_replay "$(dirname "$f")" || return
		check_fixture "$BIN" "$f"
		same_from_every_build "$f"
		check_psi_all "$f"
		jc_stop_replay
		n=$((n + 1))
	done
	assertTrue "at least 9 versions and gke-summary ($n)" "[ $n -ge 10 ]"
}

# Read off by hand, not through jq: v1.34 (PSI, swap, containerFs) and v1.15.
test_chosen_values_by_hand() {
	jc_replay "$FIXTURES/v1.34" || return
	collect "$BIN" collector-summary
	assertEquals "memory.available" 15850561536 "$(m k8s.node.memory.available)"
	assertEquals "fs.available" 446970298368 "$(m k8s.node.filesystem.available)"
	assertEquals "maxpid" 127735 "$(m k8s.node.rlimit.maxpid)"
	assertEquals "cpu PSI some avg10" 81.76 "$(m k8s.node.cpu.pressure.some.avg10)"
	assertEquals "cpu PSI full total (s)" 38.512654 "$(m k8s.node.cpu.pressure.full.total)"
	assertEquals "cpu usage" 0.644367996 "$(m k8s.node.cpu.usage)"
	assertEquals "units" "{cores} By By %" \
		"$(for n in k8s.node.cpu.usage k8s.node.memory.available k8s.node.swap.available k8s.node.cpu.pressure.some.avg10; do jl --arg n "$n" 'select(.name==$n) | .unit'; done | tr '\n' ' ' | sed 's/ $//')"
	assertEquals "types" "counter counter gauge" \
		"$(for n in k8s.node.cpu.time k8s.node.cpu.pressure.some.total k8s.node.memory.working_set; do jl --arg n "$n" 'select(.name==$n) | .type'; done | tr '\n' ' ' | sed 's/ $//')"
	jc_stop_replay
	jc_replay "$FIXTURES/v1.15" || return
	collect "$BIN" collector-summary
	assertEquals "1.15 node" minikube "$(jl .node | sort -u)"
	assertEquals "1.15 memory.available" 822272000 "$(m k8s.node.memory.available)"
	assertEquals "1.15 has no swap, containerfs or PSI" 0 \
		"$(jl 'select(.kind=="metric" and (.name | test("swap|containerfs|pressure"))) | 1' | wc -l)"
	assertEquals "1.15 maxpid" 99999 "$(m k8s.node.rlimit.maxpid)"
	f=$FIXTURES/v1.15/stats_summary.json
	assertEquals "1.15 lists 14 containers twice" 14 \
		"$(jf '[.pods[] | [.containers[]?.name] | length - (unique | length)] | add')"
	assertEquals "1.15: each container published once" \
		"$(jf '[.pods[] | [.containers[]?.name] | unique | length] | add')" \
		"$(jl 'select(.name=="container.memory.working_set") | 1' | wc -l)"
	assertEquals "1.15: the newest sample of kube-scheduler" "12537856 2020-06-03T08:54:22.000Z" \
		"$(jl 'select(.name=="container.memory.working_set" and .attrs["k8s.container.name"]=="kube-scheduler") | "\(.value) \(.ts)"')"
}

write_synthetic() {
	cat >"$FX/stats_summary.json" <<'EOF'
{"node":{"cpu":{"time":"2026-02-03T04:05:06Z","usageNanoCores":1500000000},
  "memory":{"time":"2026-02-03T04:05:06Z","availableBytes":1024,"workingSetBytes":"lots"},
  "network":{"time":"2026-02-03T04:05:06Z","name":"eth0","rxBytes":10,"txBytes":20}},
 "pods":[
  {"podRef":{"name":"p1","namespace":"ns","uid":"u1"},
   "memory":{"workingSetBytes":4096},
   "containers":[{"name":"c1","memory":{"workingSetBytes":4000}},{"memory":{"workingSetBytes":1}}],
   "volume":[{"name":"data","capacityBytes":1000,"availableBytes":400,"usedBytes":600,"pvcRef":{"name":"claim-1","namespace":"ns"}},
             {"name":"tmp","capacityBytes":50}]},
  {"memory":{"workingSetBytes":1}}
 ]}
EOF
}

test_synthetic_summary() {
	fx synthetic
	write_synthetic
	jc_replay "$FX" || return
	for b in $BINS; do
		w=$(flavour "$b")
		collect "$b" collector-summary --node given
		assertEquals "$w: exit" 0 "$RC"
		assertEquals "$w: --node, no nodeName" given "$(jl .node | sort -u)"
		assertEquals "$w: degraded" degraded "$(health_status)"
		assertContains "$w: message" "$(jl 'select(.kind=="health") | .message')" \
			"3 entries skipped (first: workingSetBytes)"
		assertEquals "$w: cpu" "1.5 2026-02-03T04:05:06.000Z" \
			"$(jl 'select(.name=="k8s.node.cpu.usage") | "\(.value) \(.ts)"')"
		assertEquals "$w: the bad value skipped, the good one kept" "1024 -" \
			"$(m k8s.node.memory.available) $(m k8s.node.memory.working_set)-"
		assertEquals "$w: network without interfaces" "eth0 receive 10 eth0 transmit 20" \
			"$(jl 'select(.name=="k8s.node.network.io") | "\(.attrs.interface) \(.attrs.direction) \(.value)"' | tr '\n' ' ' | sed 's/ $//')"
		assertEquals "$w: PVC volume" "data claim-1 1000 400 600" \
			"$(jl 'select(.attrs["k8s.volume.name"]=="data")' | jq -s -r '"\(.[0].attrs["k8s.volume.name"]) \(.[0].attrs["k8s.persistentvolumeclaim.name"]) \(map(select(.name=="k8s.volume.capacity"))[0].value) \(map(select(.name=="k8s.volume.available"))[0].value) \(map(select(.name=="k8s.volume.usage"))[0].value)"')"
		assertEquals "$w: volume without a PVC" "tmp - 50" \
			"$(jl 'select(.attrs["k8s.volume.name"]=="tmp")' | jq -s -r '"\(.[0].attrs["k8s.volume.name"]) \(.[0].attrs["k8s.persistentvolumeclaim.name"] // "-") \(.[0].value)"')"
		assertEquals "$w: one pod, one named container" "p1 c1 4000" \
			"$(jl 'select(.name=="container.memory.working_set") | "\(.attrs["k8s.pod.name"]) \(.attrs["k8s.container.name"]) \(.value)"')"
	done
	# a summary with no pods at all
	printf '{"node":{"nodeName":"lonely","memory":{"availableBytes":7}},"pods":null}' >"$FX/stats_summary.json"
	collect "$BIN" collector-summary
	assertEquals "pods null: exit" 0 "$RC"
	assertEquals "pods null: health" ok "$(health_status)"
	assertEquals "pods null: node metric only" "lonely k8s.node.memory.available 7" \
		"$(jl 'select(.kind=="metric") | "\(.node) \(.name) \(.value)"')"
}

test_bad_psi_is_usage_error() {
	"$BIN/collector-summary" --psi pods --once -o - >/dev/null 2>"$TMP/err"
	assertEquals 100 $?
	assertContains "$(cat "$TMP/err")" "--psi: 'pods' is not node, all or none"
	jc_replay "$FIXTURES/v1.34" || return
	NRO_PSI=none collect "$BIN" collector-summary
	assertEquals "NRO_PSI=none" 0 "$(jl 'select(.kind=="metric" and (.name | test("pressure"))) | 1' | wc -l)"
}

test_faults() {
	src="$FIXTURES/v1.34/stats_summary.json"
	fx garbage
	head -c 2000 /dev/urandom >"$FX/stats_summary.json"
	fx cut
	head -c 40000 "$src" >"$FX/stats_summary.json"
	fx nonode
	printf '{"pods":[]}' >"$FX/stats_summary.json"
	fx xfer
	cp "$src" "$FX/stats_summary.json"
	echo 10000 >"$FX/stats_summary.json.truncate"
	fx e500
	printf 'Internal Error: failed to get node info\n' >"$FX/stats_summary.json"
	echo 500 >"$FX/stats_summary.json.status"
	fx slow
	cp "$src" "$FX/stats_summary.json"
	echo forever >"$FX/stats_summary.json.delay"
	fx big
	cp "$src" "$FX/stats_summary.json"
	echo 3 >"$FX/stats_summary.json.repeat"
	echo yes >"$FX/stats_summary.json.chunked"
	for b in $BINS; do
		w=$(flavour "$b")
		jc_replay "$TMP/fx/garbage" || return
		collect "$b" collector-summary
		assert_failed parse 102 200 "$w garbage"
		assertContains "$w garbage: message" "$(jl 'select(.kind=="error") | .message')" \
			"GET /stats/summary: invalid JSON"
		jc_stop_replay

		jc_replay "$TMP/fx/cut" || return
		collect "$b" collector-summary
		assert_failed parse 102 200 "$w truncated JSON"
		assertContains "$w truncated JSON: message" "$(jl 'select(.kind=="error") | .message')" \
			"invalid JSON (truncated) in a 40000-byte body"
		jc_stop_replay

		jc_replay "$TMP/fx/nonode" || return
		collect "$b" collector-summary
		assert_failed parse 102 200 "$w no node"
		assertContains "$w no node: message" "$(jl 'select(.kind=="error") | .message')" \
			"not a stats summary: no \"node\" object"
		jc_stop_replay

		jc_replay "$TMP/fx/xfer" || return
		collect "$b" collector-summary
		assert_failed truncated 111 200 "$w transfer cut short"
		jc_stop_replay

		jc_replay "$TMP/fx/e500" || return
		collect "$b" collector-summary
		assert_failed http 111 500 "$w HTTP 500"
		assertContains "$w 500: message" "$(jl 'select(.kind=="error") | .message')" "failed to get node info"
		jc_stop_replay

		jc_replay "$TMP/fx/slow" || return
		collect "$b" collector-summary --timeout 300ms
		assert_failed timeout 111 0 "$w held forever"
		jc_stop_replay

		# three summaries back to back: valid chunks, invalid JSON, and past a small cap
		jc_replay "$TMP/fx/big" || return
		collect "$b" collector-summary --max-body 200K
		assert_failed too_large 100 200 "$w chunked body past --max-body"
		collect "$b" collector-summary
		assert_failed parse 102 200 "$w three documents"
		jc_stop_replay

		URL=http://127.0.0.1:1
		collect "$b" collector-summary
		assert_failed connect 111 0 "$w unreachable"
	done
}

# Many polls in one process: the token array and buffer are reused, and a
# failed poll in between does not disturb the next one.
# long_statuses B: the health statuses of $TMP/long.bin so far, repeats
# merged ("ok failed ok "); the record being written may be cut short.
long_statuses() {
	"$1/nro-dump" <"$TMP/long.bin" 2>/dev/null | jq -r 'select(.kind=="health") | .status' | uniq | tr '\n' ' '
}

# wait_long B STATUSES [MIN_OK]: until the statuses are STATUSES (and, with
# MIN_OK, that many ok polls were written), bounded (30 s).
wait_long() {
	i=0
	while [ $i -lt 300 ]; do
		if [ "$(long_statuses "$1")" = "$2" ]; then
			n=$("$1/nro-dump" <"$TMP/long.bin" 2>/dev/null | jq -r 'select(.kind=="health" and .status=="ok") | .seq' | wc -l)
			[ "$n" -ge "${3:-0}" ] && return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	fail "statuses '$(long_statuses "$1")', not '$2' (at least ${3:-0} ok)"
	return 1
}

# Every change of the body is one rename (never a moment without the file:
# that poll would be a 404, a degraded poll of its own), and each is made
# once the polls before it were written, whatever the machine's load.
test_long_running_reuses_state() {
	fx flip
	cp "$FIXTURES/v1.34/stats_summary.json" "$FX/stats_summary.json"
	cp "$FIXTURES/v1.34/stats_summary.json" "$FX/good.json"
	printf '{"node":' >"$FX/broken.json"
	jc_replay "$FX" || return
	for b in $BINS; do
		cp "$FX/good.json" "$FX/next.json" && mv -f "$FX/next.json" "$FX/stats_summary.json"
		: >"$TMP/long.bin"
		"$b/collector-summary" --interval 100ms -o - --kubelet "$URL" >"$TMP/long.bin" 2>"$TMP/long.err" &
		pid=$!
		wait_long "$b" "ok " 5
		cp "$FX/broken.json" "$FX/next.json" && mv -f "$FX/next.json" "$FX/stats_summary.json"
		wait_long "$b" "ok failed "
		cp "$FX/good.json" "$FX/next.json" && mv -f "$FX/next.json" "$FX/stats_summary.json"
		wait_long "$b" "ok failed ok " 6
		kill -TERM $pid
		wait $pid
		rc=$?
		assertEquals "$(flavour "$b"): exit 0 on SIGTERM" 0 "$rc"
		"$b/nro-dump" <"$TMP/long.bin" >"$TMP/long.jl"
		st=$(jq -r 'select(.kind=="health") | .status' "$TMP/long.jl" | uniq | tr '\n' ' ')
		assertEquals "$(flavour "$b"): ok, then failed, then ok again" "ok failed ok " "$st"
		per=$(jq -r 'select(.kind=="health" and .status=="ok") | .seq' "$TMP/long.jl" | wc -l)
		all=$(jq -r 'select(.name=="k8s.node.memory.available") | .value' "$TMP/long.jl" | sort -u)
		assertEquals "$(flavour "$b"): every ok poll the same value" 15850561536 "$all"
		assertTrue "$(flavour "$b"): several ok polls ($per)" "[ $per -ge 6 ]"
		if grep -qE 'Sanitizer|runtime error:' "$TMP/long.err"; then
			fail "$(flavour "$b"): sanitizer report: $(head -c 2000 "$TMP/long.err")"
		fi
	done
}

# Valid JSON of the wrong types everywhere: never a crash (ASan/UBSan too).
test_wrong_types_never_crash() {
	chaos_check collector-summary "$FIXTURES/v1.34/stats_summary.json"
}

. shunit2
