#!/bin/bash
# apiserver-replay, the API server stand-in: list and watch of this node's
# pods from the real v1.34 /pods capture (a v1.PodList, the API's schema),
# watch events between steps (MODIFIED, DELETED, BOOKMARK), 410 Expired,
# a stream cut mid-line, a server that drops every request, the bearer
# token re-read on every request. Checked with curl and jq.
#
#   bash tests/apiserver_replay_test.sh

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/apiserver_lib.sh"

oneTimeSetUp() { nro_tmpdir; api_scenario "$TMP/sc"; }
oneTimeTearDown() { api_stop; rm -rf "$TMP"; }
tearDown() { api_stop; }

PODS=/api/v1/pods?fieldSelector=spec.nodeName=$API_NODE
NODES=/api/v1/nodes?fieldSelector=metadata.name=$API_NODE
LEASE=/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/$API_NODE

get() { curl -sS -H "Authorization: Bearer $(cat "$TMP/token")" "$API_URL$1"; }

test_list_serves_the_capture_with_a_resource_version() {
	api_start "$TMP/sc" || return
	want=$(jq '.items | length' "$FIXTURES/v1.34/pods.json")
	assertEquals "items" "$want" "$(get "$PODS" | jq '.items | length')"
	assertEquals "list resourceVersion" '"1"' "$(get "$PODS" | jq '.metadata.resourceVersion')"
	assertEquals "uids as captured" "$(jq -r '.items[].metadata.uid' "$FIXTURES/v1.34/pods.json" | sort)" \
		"$(get "$PODS" | jq -r '.items[].metadata.uid' | sort)"
	assertEquals "node" "Ready True" "$(get "$NODES" | jq -r '.items[0].status.conditions[] | select(.type=="Ready") | "\(.type) \(.status)"')"
	assertEquals "lease" "2026-01-19T12:40:05.123456Z" "$(get "$LEASE" | jq -r .spec.renewTime)"
	assertEquals "another node's selector" 400 \
		"$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$TMP/token")" "$API_URL/api/v1/pods?fieldSelector=spec.nodeName=other")"
}

test_watch_streams_changes_and_bookmarks_one_line_each() {
	api_start "$TMP/sc" || return
	curl -sSN -H "Authorization: Bearer $(cat "$TMP/token")" \
		"$API_URL$PODS&watch=1&resourceVersion=1&allowWatchBookmarks=true&timeoutSeconds=30" >"$TMP/w" 2>&1 &
	cpid=$!
	api_step >/dev/null # 1: kindnet restarted
	wait_for_lines "$TMP/w" MODIFIED 10 || { kill $cpid; return; }
	api_step >/dev/null # 2: nothing changes
	wait_for_lines "$TMP/w" BOOKMARK 10
	api_step >/dev/null # 3: storage-provisioner deleted
	wait_for_lines "$TMP/w" DELETED 10
	kill $cpid; wait $cpid 2>/dev/null
	assertEquals "every line is one event" 3 "$(jq -c . "$TMP/w" | wc -l)"
	assertEquals "events" "MODIFIED kindnet-zqk2n 2 1
BOOKMARK - 3 -
DELETED storage-provisioner 4 0" \
		"$(jq -r '"\(.type) \(.object.metadata.name // "-") \(.object.metadata.resourceVersion) \(.object.status.containerStatuses[0].restartCount // "-")"' "$TMP/w")"
}

test_watch_from_before_a_compaction_is_410_expired() {
	api_start "$TMP/sc" || return
	api_step >/dev/null; api_step >/dev/null; api_step >/dev/null # 3 has "gone"
	out=$(get "$PODS&watch=1&resourceVersion=1")
	assertEquals "an ERROR event with a 410 Status" "ERROR 410 Expired" \
		"$(echo "$out" | jq -r '"\(.type) \(.object.code) \(.object.reason)"')"
	assertEquals "a list from there too" 410 \
		"$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$TMP/token")" "$API_URL$PODS&resourceVersion=1")"
	assertEquals "a watch from now is fine" "" "$(get "$PODS&watch=1&resourceVersion=4&timeoutSeconds=1")"
}

test_cut_sends_half_a_line_then_drops_the_connection() {
	api_start "$TMP/sc" || return
	api_step >/dev/null; api_step >/dev/null; api_step >/dev/null
	curl -sSN -H "Authorization: Bearer $(cat "$TMP/token")" \
		"$API_URL$PODS&watch=1&resourceVersion=4&timeoutSeconds=30" >"$TMP/cut" 2>"$TMP/cut.err" &
	cpid=$!
	api_step >/dev/null # 4: cut
	wait $cpid
	assertNotEquals "curl sees a broken transfer" 0 $?
	assertTrue "some bytes arrived" "[ -s $TMP/cut ]"
	assertEquals "no complete line" 0 "$(tr -cd '\n' <"$TMP/cut" | wc -c)"
	assertFalse "not valid JSON" "jq -e . $TMP/cut >/dev/null 2>&1"
}

test_down_drops_every_request() {
	api_start "$TMP/sc" || return
	for _ in 1 2 3 4 5; do api_step >/dev/null; done
	curl -sS -H "Authorization: Bearer $(cat "$TMP/token")" "$API_URL$PODS" >/dev/null 2>&1
	assertEquals "empty reply (curl 52)" 52 $?
}

test_token_is_re_read_on_every_request() {
	api_start "$TMP/sc" || return
	assertEquals "no token" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$API_URL$PODS")"
	old=$(cat "$TMP/token")
	echo rotated-token >"$TMP/token"
	assertEquals "the old token" 401 \
		"$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $old" "$API_URL$PODS")"
	assertEquals "the new one" 200 "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer rotated-token" "$API_URL$PODS")"
	echo "$old" >"$TMP/token"
}

. shunit2
