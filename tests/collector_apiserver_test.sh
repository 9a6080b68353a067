#!/bin/bash
# collector-apiserver against apiserver-replay (the real v1.34 /pods
# capture as the API's PodList): --once publishes the API's view (every
# pod once with its phase, the Node's conditions, the Lease's renewTime,
# all marked source=apiserver); usage errors exit 100. Plain and (when
# built) ASan builds. The daemon's watch-following is not tested yet (see
# issue 17's closing note).
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

. shunit2
