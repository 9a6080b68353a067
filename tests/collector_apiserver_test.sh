#!/bin/bash
# collector-apiserver against apiserver-replay (the real v1.34 /pods
# capture as the API's PodList): --once publishes the API's view (every
# pod once with its phase, the Node's conditions, the Lease's renewTime,
# all marked source=apiserver); usage errors exit 100; a daemon follows the
# watches through a restart (MODIFIED), a quiet step (BOOKMARK), a token
# rotated on both sides, a deletion with compaction ("gone"), a stream cut
# mid-line and the server dropping every request, and its last snapshot
# has every pod exactly once with the latest values; the 410 leads to
# exactly one relist, after which no pod is missing or doubled. A static
# pod's mirror carries the kubelet's UID for it. Plain and (when built)
# ASan builds.
#
#   bash tests/collector_apiserver_test.sh

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apiserver_lib.sh"

BINS=$BIN
[ -x "$TOP/build/san/bin/collector-apiserver" ] && BINS="$BIN $TOP/build/san/bin"

oneTimeSetUp() { nro_tmpdir; api_scenario "$TMP/sc"; }
oneTimeTearDown() { stop_collector; api_stop; rm -rf "$TMP"; }
tearDown() { stop_collector; api_stop; }

stop_collector() {
	[ -n "$CPID" ] || return 0
	kill "$CPID" 2>/dev/null
	wait "$CPID" 2>/dev/null
	CPID=
}

# The states of the last complete poll (the records before its health).
last_snapshot() {
	"$BIN/nro-dump" <"$1" | jq -s -c '
		[foreach .[] as $r ({cur: [], done: []};
			if $r.kind == "health" then {cur: [], done: .cur} else .cur += [$r] end;
			.done)] | map(select(length > 0)) | last // [] | .[]'
}

test_once_publishes_the_api_view() {
	api_start "$TMP/sc" || return
	for b in $BINS; do
		"$b/collector-apiserver" --apiserver "$API_URL" --token-file "$TMP/token" \
			--node "$API_NODE" --once -o - >"$TMP/once" 2>"$TMP/once.err"
		assertEquals "$b: exit" 0 $?
		pods=$(jq '.items | length' "$FIXTURES/v1.34/pods.json")
		assertEquals "$b: one phase per pod" "$pods" \
			"$(last_snapshot "$TMP/once" | jq -r 'select(.key=="api.pod.phase") | .object.pod' | sort -u | wc -l)"
		assertEquals "$b: phases as the API says" \
			"$(jq -r '.items[] | "\(.metadata.name) \(.status.phase)"' "$FIXTURES/v1.34/pods.json" | sort)" \
			"$(last_snapshot "$TMP/once" | jq -r 'select(.key=="api.pod.phase") | "\(.object.pod) \(.value)"' | sort)"
		assertEquals "$b: node conditions" "DiskPressure False
MemoryPressure False
PIDPressure False
Ready True" "$(last_snapshot "$TMP/once" | jq -r 'select(.key|startswith("api.node.condition.")) | "\(.key|ltrimstr("api.node.condition.")) \(.value)"' | sort)"
		assertEquals "$b: lease renewTime" "2026-01-19T12:40:05.123Z" \
			"$(last_snapshot "$TMP/once" | jq -r 'select(.key=="api.lease.age") | .since')"
		assertEquals "$b: marked with their source" "apiserver" \
			"$(last_snapshot "$TMP/once" | jq -r '.attrs.source' | sort -u)"
		assertEquals "$b: pod UIDs as the API says" \
			"$(jq -r '.items[] | "\(.metadata.name) \(.metadata.uid)"' "$FIXTURES/v1.34/pods.json" | sort)" \
			"$(last_snapshot "$TMP/once" | jq -r 'select(.key=="api.pod.phase") | "\(.object.pod) \(.attrs["k8s.pod.uid"])"' | sort)"
	done
}

# A static pod's mirror is published under the UID the kubelet lists the
# static pod by (its config hash, the kubernetes.io/config.mirror annotation).
test_a_mirror_pod_carries_the_kubelets_uid() {
	mkdir -p "$TMP/mirror/step-000"
	jq '(.items[0].metadata.annotations["kubernetes.io/config.mirror"]) = "0123abcd"' \
		"$FIXTURES/v1.34/pods.json" >"$TMP/mirror/step-000/pods.json"
	cp "$API_DATA/node.json" "$API_DATA/lease.json" "$TMP/mirror/step-000/"
	api_start "$TMP/mirror" || return
	first=$(jq -r '.items[0].metadata.name' "$FIXTURES/v1.34/pods.json")
	"$BIN/collector-apiserver" --apiserver "$API_URL" --token-file "$TMP/token" \
		--node "$API_NODE" --once -o - >"$TMP/mirror.out" 2>"$TMP/mirror.err"
	assertEquals "exit" 0 $?
	assertEquals "the mirror's UID is the static pod's" "0123abcd" \
		"$(last_snapshot "$TMP/mirror.out" | jq -r --arg p "$first" 'select(.key=="api.pod.phase" and .object.pod==$p) | .attrs["k8s.pod.uid"]')"
	assertEquals "its containers' too" "0123abcd" \
		"$(last_snapshot "$TMP/mirror.out" | jq -r --arg p "$first" 'select(.key=="api.container.state" and .object.pod==$p) | .attrs["k8s.pod.uid"]' | sort -u)"
}

# A list is read one item at a time: braces, brackets, quotes and an
# "items" key inside a pod (a configMap volume's items, an annotation that
# looks like JSON) do not split it wrongly.
test_a_list_is_split_into_its_items_exactly() {
	mkdir -p "$TMP/tricky/step-000"
	jq '.items[0].metadata.annotations["x/tricky"] = "}]},{\"items\":[{\\\"" |
	    .items[0].spec.volumes += [{name: "cfg", configMap: {name: "c", items: [{key: "a", path: "b"}]}}] |
	    .items[1].metadata.annotations["x/end"] = "]"' \
		"$FIXTURES/v1.34/pods.json" >"$TMP/tricky/step-000/pods.json"
	cp "$API_DATA/node.json" "$API_DATA/lease.json" "$TMP/tricky/step-000/"
	api_start "$TMP/tricky" || return
	for b in $BINS; do
		"$b/collector-apiserver" --apiserver "$API_URL" --token-file "$TMP/token" \
			--node "$API_NODE" --once -o - >"$TMP/tricky.out" 2>"$TMP/tricky.err"
		assertEquals "$b: exit" 0 $?
		assertEquals "$b: every pod, by name and UID" \
			"$(jq -r '.items[] | "\(.metadata.name) \(.metadata.uid) \(.status.phase)"' "$FIXTURES/v1.34/pods.json" | sort)" \
			"$(last_snapshot "$TMP/tricky.out" | jq -r 'select(.key=="api.pod.phase") | "\(.object.pod) \(.attrs["k8s.pod.uid"]) \(.value)"' | sort)"
		assertContains "$(cat "$TMP/tricky.err")" "list: pods at resourceVersion 1, $(jq '.items | length' "$FIXTURES/v1.34/pods.json") items"
	done
}

test_node_is_required_and_no_cluster_is_usage() {
	env -u KUBERNETES_SERVICE_HOST "$BIN/collector-apiserver" --apiserver http://127.0.0.1:1 --once -o - \
		>/dev/null 2>"$TMP/err"
	assertEquals "no --node" 100 $?
	assertContains "$(cat "$TMP/err")" "--node"
	env -u KUBERNETES_SERVICE_HOST "$BIN/collector-apiserver" --node n1 --once -o - >/dev/null 2>"$TMP/err"
	assertEquals "outside a cluster without --apiserver" 100 $?
	assertContains "$(cat "$TMP/err")" "KUBERNETES_SERVICE_HOST"
}

# Waits (bounded) until the last snapshot in dump $1 has what jq select $2 picks.
until_snapshot() { # DUMP SELECT WHAT
	i=0
	while [ $i -lt 300 ]; do
		[ -n "$(last_snapshot "$1" | jq -c "select($2)")" ] && return 0
		sleep 0.1
		i=$((i + 1))
	done
	fail "timed out waiting for: $3"
	return 1
}

restarts_of() { # DUMP POD-PREFIX
	last_snapshot "$1" | jq -r --arg p "$2" 'select(.key=="api.container.restarts" and (.object.pod|startswith($p))) | .num' | head -1
}

test_watch_follows_bookmarks_410_cuts_outages_and_rotation() {
	pods=$(jq '.items | length' "$FIXTURES/v1.34/pods.json")
	for b in $BINS; do
		api_start "$TMP/sc" || return
		"$b/collector-apiserver" --apiserver "$API_URL" --token-file "$TMP/token" \
			--node "$API_NODE" --interval 3s -o - >"$TMP/d" 2>"$TMP/d.err" &
		CPID=$!
		until_snapshot "$TMP/d" '.key=="api.pod.phase"' "a first snapshot" || return
		api_step >/dev/null # 1: kindnet restarted
		until_snapshot "$TMP/d" '.key=="api.container.restarts" and .object.pod=="kindnet-zqk2n" and .num==1' \
			"kindnet's restart (MODIFIED)" || return
		echo "rotated-$RANDOM" >"$TMP/token" # both sides re-read the file
		api_step >/dev/null # 2: a bookmark only
		api_step >/dev/null # 3: storage-provisioner deleted, older versions compacted
		until_snapshot "$TMP/d" '.key=="api.pod.phase" and .object.pod=="kindnet-zqk2n"' "a snapshot" || return
		i=0
		while [ $i -lt 300 ] && last_snapshot "$TMP/d" | grep -q '"pod":"storage-provisioner"'; do
			sleep 0.1; i=$((i + 1)); done
		# the 410 made it list again, once, from the compacted step's version (4)
		wait_for_lines "$TMP/d.err" 'list: pods at resourceVersion 4,' 20
		# both watches (they run at once) may see the 410; one relist follows
		assertTrue "$b: 410 logged" "grep -q 'expired (410), listing again' '$TMP/d.err'"
		assertEquals "$b: pods listed twice (start, after the 410)" \
			"list: pods at resourceVersion 1, $pods items
list: pods at resourceVersion 4, $((pods - 1)) items" \
			"$(grep -o 'list: pods at .*' "$TMP/d.err")"
		until_snapshot "$TMP/d" '.key=="api.pod.phase" and .object.pod=="kindnet-zqk2n"' "a snapshot after the relist" || return
		assertEquals "$b: after the relist every pod once, none missing" \
			"$(jq -r '.items[] | select(.metadata.name != "storage-provisioner") | .metadata.name' "$FIXTURES/v1.34/pods.json" | sort)" \
			"$(last_snapshot "$TMP/d" | jq -r 'select(.key=="api.pod.phase") | .object.pod' | sort)"
		assertEquals "$b: kindnet's restart kept across the relist" 1 "$(restarts_of "$TMP/d" kindnet-zqk2n)"
		api_step >/dev/null # 4: coredns restarted, on a stream cut mid-line
		until_snapshot "$TMP/d" '.key=="api.container.restarts" and (.object.pod|startswith("coredns")) and .num==1' \
			"coredns's restart after the cut" || return
		api_step >/dev/null # 5: down
		wait_for_lines "$TMP/d.err" 'resuming|listing' 20
		api_step >/dev/null # 6: back up
		: >"$TMP/d.mark"; n0=$(wc -c <"$TMP/d")
		i=0; while [ $i -lt 300 ] && [ "$(wc -c <"$TMP/d")" -eq "$n0" ]; do sleep 0.1; i=$((i + 1)); done
		until_snapshot "$TMP/d" '.key=="api.pod.phase"' "a snapshot after the outage" || return
		assertEquals "$b: every pod exactly once" "$((pods - 1)) $((pods - 1))" \
			"$(last_snapshot "$TMP/d" | jq -r 'select(.key=="api.pod.phase") | .object.pod' | wc -l) $(last_snapshot "$TMP/d" | jq -r 'select(.key=="api.pod.phase") | .object.pod' | sort -u | wc -l)"
		assertFalse "$b: storage-provisioner gone" "last_snapshot $TMP/d | grep -q '\"pod\":\"storage-provisioner\"'"
		assertEquals "$b: kindnet's restarts" 1 "$(restarts_of "$TMP/d" kindnet-zqk2n)"
		assertEquals "$b: coredns's restarts" 1 "$(restarts_of "$TMP/d" coredns)"
		assertEquals "$b: no 401 after the rotation" "" "$(grep -i unauthorized "$TMP/d.err")"
		assertTrue "$b: the cut stream was resumed" "grep -q 'resuming from resourceVersion' $TMP/d.err"
		stop_collector
		api_stop
		rm -f "$TMP/token"
	done
}

. shunit2
