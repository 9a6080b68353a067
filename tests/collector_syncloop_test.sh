#!/bin/bash
# collector-syncloop against kubelet-replay: a passing check, a failing one
# (HTTP 500 with the kubelet's healthz body: a successful poll of an
# unhealthy kubelet), and failed polls (refused, forbidden, timeout, a
# truncated body) with their error codes and exit statuses.
# Runs the plain build and the ASan+UBSan build (see endpoints_lib.sh).

. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/endpoints_lib.sh"

oneTimeSetUp() {
	nro_tmpdir
}

oneTimeTearDown() {
	ep_stop_replays
	rm -rf "$TMP"
}

syncloop_state() {
	ep_jq 'select(.kind=="state" and .key=="kubelet.syncloop") | "\(.value) \(.num) \(.attrs.reason // "")"'
}

check_syncloop() { # FLAVOUR
	ep_have "$1" collector-syncloop || return 0
	cbin=$(ep_flavour_bin "$1")

	# the replay answers "ok" for /healthz/* paths it has no file for
	mkdir -p "$TMP/ok"
	ep_replay "$TMP/ok" || return
	ep_collect "$cbin" collector-syncloop "$URL"
	assertEquals "$1 ok: exit" 0 "$RC"
	assertEquals "$1 ok: state" "ok 1 " "$(syncloop_state)"
	assertEquals "$1 ok: health" "ok 200 /healthz/syncloop 2" \
		"$(ep_jq 'select(.kind=="health") | "\(.status) \(.http_status) \(.target) \(.bytes)"')"

	# the kubelet's failing answer
	mkdir -p "$TMP/failing"
	printf '[+]ping ok\n[-]syncloop failed: reason withheld\nhealthz check failed\n' \
		>"$TMP/failing/healthz_syncloop.txt"
	echo 500 >"$TMP/failing/healthz_syncloop.txt.status"
	ep_replay "$TMP/failing" || return
	ep_collect "$cbin" collector-syncloop "$URL"
	assertEquals "$1 failing: exit (a successful poll)" 0 "$RC"
	assertEquals "$1 failing: state" "failed 0 reason withheld" "$(syncloop_state)"
	assertEquals "$1 failing: no error record" 0 "$(ep_count error)"
	assertEquals "$1 failing: health" "ok 500" \
		"$(ep_jq 'select(.kind=="health") | "\(.status) \(.http_status)"')"

	# a 500 without the [-] line: the body's first line is the reason
	mkdir -p "$TMP/failing2"
	printf '\nsync loop stalled for 12m\nmore\n' >"$TMP/failing2/healthz_syncloop.txt"
	echo 500 >"$TMP/failing2/healthz_syncloop.txt.status"
	ep_replay "$TMP/failing2" || return
	ep_collect "$cbin" collector-syncloop "$URL"
	assertEquals "$1 bare 500: state" "failed 0 sync loop stalled for 12m" "$(syncloop_state)"

	# other statuses are failed polls, not a failing check
	mkdir -p "$TMP/s503"
	echo busy >"$TMP/s503/healthz_syncloop.txt"
	echo 503 >"$TMP/s503/healthz_syncloop.txt.status"
	ep_replay "$TMP/s503" || return
	ep_collect "$cbin" collector-syncloop "$URL"
	ep_assert_failure http 111 503 "$1 503"
	assertEquals "$1 503: no state" 0 "$(ep_count state)"

	printf 'good\n' >"$TMP/good"
	printf 'denied\n' >"$TMP/denied"
	ep_replay "$TMP/ok" --token good --deny-token denied || return
	ep_collect "$cbin" collector-syncloop "$URL" --token-file "$TMP/denied"
	ep_assert_failure auth 100 403 "$1 403"
	ep_contains "$1 403: names the subresource" "$(ep_jq 'select(.kind=="error") | .message')" \
		"nodes/proxy"
	ep_collect "$cbin" collector-syncloop "$URL" --token-file "$TMP/good"
	assertEquals "$1 good token: state" "ok 1 " "$(syncloop_state)"

	mkdir -p "$TMP/slow"
	echo ok >"$TMP/slow/healthz_syncloop.txt"
	echo 3s >"$TMP/slow/healthz_syncloop.txt.delay"
	ep_replay "$TMP/slow" || return
	ep_collect "$cbin" collector-syncloop "$URL" --timeout 500ms
	ep_assert_failure timeout 111 0 "$1 timeout"

	mkdir -p "$TMP/cut"
	printf 'ok but longer than what is sent\n' >"$TMP/cut/healthz_syncloop.txt"
	echo 5 >"$TMP/cut/healthz_syncloop.txt.truncate"
	ep_replay "$TMP/cut" || return
	ep_collect "$cbin" collector-syncloop "$URL"
	ep_assert_failure truncated 111 200 "$1 truncated"

	ep_collect "$cbin" collector-syncloop http://127.0.0.1:1
	ep_assert_failure connect 111 0 "$1 refused"
	assertEquals "$1 refused: no state" 0 "$(ep_count state)"
}

test_help() {
	h=$("$BIN/collector-syncloop" --help)
	ep_contains "help" "$h" "/healthz/syncloop"
	ep_contains "help" "$h" "kubelet.syncloop"
	"$BIN/collector-syncloop" --interval 5x 2>"$TMP/err"
	assertEquals "bad interval" 100 $?
	ep_contains "names the flag" "$(cat "$TMP/err")" "--interval"
}

for fl in $FLAVOURS; do
	eval "test_${fl}_syncloop() { check_syncloop $fl; }"
done

. shunit2
