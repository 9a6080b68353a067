#!/bin/bash
# The kubelet client (lib/net/kubelet.c, through bin/nro-fetch) against
# bin/kubelet-replay: fixtures served byte for byte, bearer tokens, client
# certificates, TLS verification, faults (500, hang, cap, truncation,
# refused) and scenario stepping. Token rotation inside one long-lived
# client is covered by lib/net/kubelet_test.c.
#
#   bash tests/kubelet_client_test.sh
#   NRO_BIN=build/san/bin bash tests/kubelet_client_test.sh   # sanitizer build

TOP=$(cd "$(dirname "$0")/.." && pwd)
BIN=${NRO_BIN:-$TOP/bin}
case "$BIN" in /*) ;; *) BIN="$TOP/$BIN" ;; esac
FIX="$TOP/../shared/fixtures/kubelet"

REPLAY_PID=""
URL=""

# ---- helpers ---------------------------------------------------------------

# start_replay ARGS...: starts kubelet-replay, waits for its URL line, sets
# URL and REPLAY_PID.
start_replay() {
	n=$((n + 1))
	out="$T/replay.$n.out"
	RERR="$T/replay.$n.err"
	: >"$out"
	"$BIN/kubelet-replay" "$@" >"$out" 2>"$RERR" &
	REPLAY_PID=$!
	URL=""
	i=0
	while [ $i -lt 400 ]; do # 20 s at most (sanitizer builds start slowly)
		case "$(head -n 1 "$out")" in
		http://*:[0-9]* | https://*:[0-9]*)
			URL=$(head -n 1 "$out")
			return 0
			;;
		esac
		if ! kill -0 "$REPLAY_PID" 2>/dev/null; then
			wait "$REPLAY_PID"
			fail "kubelet-replay $* exited ($?): $(cat "$RERR")"
			REPLAY_PID=""
			return 1
		fi
		sleep 0.05
		i=$((i + 1))
	done
	fail "kubelet-replay printed no URL"
	return 1
}

# stop_replay: SIGTERM, and the replay must exit 0.
stop_replay() {
	[ -n "$REPLAY_PID" ] || return 0
	kill -TERM "$REPLAY_PID" 2>/dev/null
	wait "$REPLAY_PID"
	rc=$?
	REPLAY_PID=""
	assertEquals "kubelet-replay exit status on SIGTERM" 0 "$rc"
}

# fetch ARGS...: runs nro-fetch; body in $T/body, stderr in $T/err, status in RC.
fetch() {
	"$BIN/nro-fetch" "$@" >"$T/body" 2>"$T/err"
	RC=$?
}

assertContains() { # MSG HAYSTACK NEEDLE
	case "$2" in
	*"$3"*) ;;
	*) fail "$1: '$3' not in '$2'" ;;
	esac
}

assertNotContains() { # MSG HAYSTACK NEEDLE
	case "$2" in
	*"$3"*) fail "$1: '$3' must not be in '$2'" ;;
	esac
}

assertSameFile() { # EXPECTED ACTUAL
	if ! cmp -s "$1" "$2"; then
		fail "$2 differs from $1 ($(wc -c <"$2") vs $(wc -c <"$1") bytes)"
	fi
}

tls_client() { # the common flags for the HTTPS replay
	echo "--kubelet $URL --ca-file $T/pki/ca.crt --timeout 10s"
}

start_tls_replay() {
	NRO_REPLAY_DENY_TOKEN="$(cat "$T/tok-denied")" start_replay --dir "$T/fx" \
		--tls-cert "$T/pki/server.crt" --tls-key "$T/pki/server.key" \
		--client-ca "$T/pki/ca.crt" --token-file "$T/tok-good"
}

# ---- fixtures ----------------------------------------------------------------

make_pki() {
	d="$T/pki"
	mkdir -p "$d"
	ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
	(
		cd "$d" || exit 1
		set -e
		# shellcheck disable=SC2086
		{
			openssl req -x509 $ec -keyout ca.key -out ca.crt -subj /CN=nro-test-ca -days 2 \
				-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
			openssl req $ec -keyout server.key -out server.csr -subj /CN=127.0.0.1
			printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' >server.ext
			openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -set_serial 2 -days 2 \
				-extfile server.ext -out server.crt
			printf 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n' >client.ext
			openssl req $ec -keyout client.key -out client.csr -subj "/O=system:nodes/CN=system:node:test"
			openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -set_serial 3 -days 2 \
				-extfile client.ext -out client.crt
			openssl req -x509 $ec -keyout other-ca.key -out other-ca.crt -subj /CN=other-ca -days 2 \
				-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
			openssl req $ec -keyout other-client.key -out other-client.csr -subj "/CN=system:node:other"
			openssl x509 -req -in other-client.csr -CA other-ca.crt -CAkey other-ca.key -set_serial 4 \
				-days 2 -extfile client.ext -out other-client.crt
		} >/dev/null 2>"$d/openssl.log"
	)
}

oneTimeSetUp() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/kubelet_client_test.XXXXXX")
	umask 077
	n=0
	[ -x "$BIN/kubelet-replay" ] && [ -x "$BIN/nro-fetch" ] || {
		echo "missing $BIN/kubelet-replay or $BIN/nro-fetch (run make)" >&2
		exit 1
	}
	[ -d "$FIX/v1.34" ] || { echo "missing fixtures in $FIX" >&2; exit 1; }
	make_pki || { echo "openssl failed: $(cat "$T/pki/openssl.log")" >&2; exit 1; }
	# random tokens, kept in files: never on a command line
	head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/tok-good"
	echo >>"$T/tok-good"
	head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/tok-wrong"
	head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/tok-denied"

	mkdir -p "$T/fx"
	for f in pods.json stats_summary.json metrics_cadvisor.txt; do
		ln -s "$FIX/v1.34/$f" "$T/fx/$f"
	done
	ln -s "$FIX/healthz/healthz_verbose.txt" "$T/fx/healthz_verbose.txt"
}

oneTimeTearDown() {
	stop_replay
	[ -n "$T" ] && rm -rf "$T"
}

tearDown() {
	stop_replay
}

# ---- plain HTTP ----------------------------------------------------------------

test_fixtures_served_byte_for_byte() {
	start_replay --dir "$T/fx" || return
	fetch --kubelet "$URL" /pods
	assertEquals "/pods status" 0 "$RC"
	assertSameFile "$FIX/v1.34/pods.json" "$T/body"
	fetch --kubelet "$URL" /stats/summary
	assertEquals 0 "$RC"
	assertSameFile "$FIX/v1.34/stats_summary.json" "$T/body"
	fetch --kubelet "$URL" /metrics/cadvisor
	assertEquals 0 "$RC"
	assertSameFile "$FIX/v1.34/metrics_cadvisor.txt" "$T/body"
	fetch --kubelet "$URL" '/healthz?verbose'
	assertEquals 0 "$RC"
	assertSameFile "$FIX/healthz/healthz_verbose.txt" "$T/body"
	# content types as the kubelet sends them
	ct=$(curl -s -o /dev/null -w '%{content_type}' "$URL/metrics/cadvisor")
	assertEquals "text/plain; version=0.0.4; charset=utf-8" "$ct"
	ct=$(curl -s -o /dev/null -w '%{content_type}' "$URL/pods")
	assertEquals "application/json" "$ct"
}

test_healthz_default_and_404() {
	start_replay --dir "$T/fx" || return
	fetch --kubelet "$URL" /healthz
	assertEquals 0 "$RC"
	assertEquals "ok" "$(cat "$T/body")"
	fetch --kubelet "$URL" /healthz/syncloop
	assertEquals 0 "$RC"
	assertEquals "ok" "$(cat "$T/body")"
	fetch --kubelet "$URL" /spec
	assertEquals "404 is not served" 101 "$RC"
	assertContains "404 message" "$(cat "$T/err")" "nro-fetch: fatal: GET /spec: 404 Not Found: this kubelet does not serve /spec"
	assertEquals "one error line" 1 "$(wc -l <"$T/err")"
	assertEquals "404 page not found" "$(curl -s "$URL/spec")"
}

test_http_500_from_status_sidecar() {
	mkdir -p "$T/f500"
	printf '[+]ping ok\n[+]log ok\n[-]syncloop failed: reason withheld\nhealthz check failed\n' \
		>"$T/f500/healthz.txt"
	echo 500 >"$T/f500/healthz.txt.status"
	start_replay --dir "$T/f500" || return
	fetch --kubelet "$URL" /healthz
	assertEquals "5xx is transient" 111 "$RC"
	err=$(cat "$T/err")
	assertContains "status" "$err" "GET /healthz: 500 Internal Server Error"
	assertContains "body hint" "$err" "[-]syncloop failed: reason withheld"
	assertEquals "one error line" 1 "$(wc -l <"$T/err")"
}

test_server_that_never_answers_times_out() {
	mkdir -p "$T/fhang"
	echo ok >"$T/fhang/healthz.txt"
	echo forever >"$T/fhang/healthz.txt.delay"
	echo '{}' >"$T/fhang/pods.json"
	echo 200ms >"$T/fhang/pods.json.delay"
	start_replay --dir "$T/fhang" --verbose || return
	fetch --kubelet "$URL" --timeout 1s /healthz
	assertEquals "timeout is transient" 111 "$RC"
	assertContains "timeout" "$(cat "$T/err")" "GET /healthz: timed out"
	# the replay lets go of a held request once its client has left
	i=0
	until grep -q 'GET /healthz: dropped while delayed' "$RERR" || [ $i -ge 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	assertTrue "held request released" "grep -q 'GET /healthz: dropped while delayed' '$RERR'"
	# a finite delay within the timeout is served
	fetch --kubelet "$URL" --timeout 5s /pods
	assertEquals 0 "$RC"
	assertEquals "{}" "$(cat "$T/body")"

	# SIGTERM while a request is held: the replay still exits 0 at once
	"$BIN/nro-fetch" --kubelet "$URL" --timeout 60s /healthz >/dev/null 2>"$T/err2" &
	fpid=$!
	i=0
	until [ "$(grep -c 'GET /healthz.*delay forever' "$RERR")" -ge 2 ] || [ $i -ge 200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	stop_replay
	wait "$fpid"
	assertEquals "client of a stopped replay" 111 "$?"
	assertContains "client error" "$(cat "$T/err2")" "unreachable"
}

test_body_past_the_cap() {
	mkdir -p "$T/fbig" "$T/fbigc"
	ln -s "$FIX/v1.34/stats_summary.json" "$T/fbig/stats_summary.json"
	echo 100 >"$T/fbig/stats_summary.json.repeat"
	# chunked, as the kubelet sends large bodies: no Content-Length to check up front
	ln -s "$FIX/v1.34/metrics_cadvisor.txt" "$T/fbigc/metrics_cadvisor.txt"
	: >"$T/fbigc/metrics_cadvisor.txt.chunked"
	start_replay --dir "$T/fbig" || return
	fetch --kubelet "$URL" --max-body 1M /stats/summary
	assertEquals "past --max-body is configuration" 100 "$RC"
	assertContains "cap" "$(cat "$T/err")" "GET /stats/summary: body larger than 1 MiB cap (--max-body)"
	assertEquals "nothing written past an announced oversize" 0 "$(wc -c <"$T/body")"
	fetch --kubelet "$URL" --max-body 64M /stats/summary
	assertEquals 0 "$RC"
	want=$(($(wc -c <"$FIX/v1.34/stats_summary.json") * 100))
	assertEquals "repeated body" "$want" "$(wc -c <"$T/body")"
	stop_replay

	start_replay --dir "$T/fbigc" || return
	fetch --kubelet "$URL" --max-body 512K /metrics/cadvisor
	assertEquals 100 "$RC"
	assertContains "cap" "$(cat "$T/err")" "GET /metrics/cadvisor: body larger than 512 KiB cap (--max-body)"
	fetch --kubelet "$URL" /metrics/cadvisor
	assertEquals 0 "$RC"
	assertSameFile "$FIX/v1.34/metrics_cadvisor.txt" "$T/body"
}

test_truncated_body() {
	mkdir -p "$T/ftrunc"
	ln -s "$FIX/v1.34/stats_summary.json" "$T/ftrunc/stats_summary.json"
	echo 1000 >"$T/ftrunc/stats_summary.json.truncate"
	start_replay --dir "$T/ftrunc" || return
	fetch --kubelet "$URL" /stats/summary
	assertEquals "truncation is transient" 111 "$RC"
	assertContains "truncated" "$(cat "$T/err")" "GET /stats/summary: body truncated after 1000 bytes"
	head -c 1000 "$FIX/v1.34/stats_summary.json" >"$T/want"
	assertSameFile "$T/want" "$T/body"
}

test_connection_refused() {
	start_replay --dir "$T/fx" || return
	dead=$URL
	stop_replay
	fetch --kubelet "$dead" --timeout 5s /pods
	assertEquals "unreachable is transient" 111 "$RC"
	assertContains "unreachable" "$(cat "$T/err")" "GET /pods: kubelet unreachable:"
}

test_bad_usage() {
	fetch --kubelet "ftp://127.0.0.1:1" /pods
	assertEquals "bad URL" 100 "$RC"
	assertContains "names the value" "$(cat "$T/err")" "ftp://127.0.0.1:1"
	fetch --kubelet "http://127.0.0.1:1" --max-body 12Q /pods
	assertEquals "bad size" 100 "$RC"
	assertContains "names the value" "$(cat "$T/err")" "12Q"
	fetch --kubelet "http://127.0.0.1:1"
	assertEquals "no path" 100 "$RC"
	"$BIN/kubelet-replay" --listen 127.0.0.1:0 >/dev/null 2>"$T/err"
	assertEquals "replay without --dir" 100 "$?"
	"$BIN/kubelet-replay" --dir "$T/nonexistent" >/dev/null 2>"$T/err"
	assertEquals "replay with a missing dir" 100 "$?"
	assertContains "names the dir" "$(cat "$T/err")" "$T/nonexistent"
}

# ---- HTTPS: tokens and client certificates --------------------------------------

test_token_right() {
	start_tls_replay || return
	# shellcheck disable=SC2046
	fetch $(tls_client) --token-file "$T/tok-good" /stats/summary
	assertEquals 0 "$RC"
	assertSameFile "$FIX/v1.34/stats_summary.json" "$T/body"
}

test_token_wrong() {
	start_tls_replay || return
	# shellcheck disable=SC2046
	fetch $(tls_client) --token-file "$T/tok-wrong" /stats/summary
	assertEquals "credentials and RBAC are configuration" 100 "$RC"
	err=$(cat "$T/err")
	assertContains "401" "$err" "GET /stats/summary: 401 Unauthorized"
	assertContains "401" "$err" "credentials"
	assertNotContains "token leaked" "$err" "$(cat "$T/tok-wrong")"
}

test_token_denied_names_rbac_subresource() {
	start_tls_replay || return
	# shellcheck disable=SC2046
	fetch $(tls_client) --token-file "$T/tok-denied" /stats/summary
	assertEquals "credentials and RBAC are configuration" 100 "$RC"
	err=$(cat "$T/err")
	assertContains "403" "$err" "GET /stats/summary: 403 Forbidden"
	assertContains "rbac" "$err" "'get' on nodes/stats"
	assertNotContains "token leaked" "$err" "$(cat "$T/tok-denied")"
	# shellcheck disable=SC2046
	fetch $(tls_client) --token-file "$T/tok-denied" /metrics/cadvisor
	assertEquals "credentials and RBAC are configuration" 100 "$RC"
	assertContains "rbac" "$(cat "$T/err")" "'get' on nodes/metrics"
	# shellcheck disable=SC2046
	fetch $(tls_client) --token-file "$T/tok-denied" /pods
	assertContains "rbac" "$(cat "$T/err")" "'get' on nodes/proxy"
}

test_token_file_missing() {
	start_tls_replay || return
	# shellcheck disable=SC2046
	fetch $(tls_client) --token-file "$T/no-such-token" /pods
	assertEquals "credentials and RBAC are configuration" 100 "$RC"
	assertContains "names the file" "$(cat "$T/err")" "--token-file $T/no-such-token: No such file or directory"
}

test_client_cert_right() {
	start_tls_replay || return
	# shellcheck disable=SC2046
	fetch $(tls_client) --cert-file "$T/pki/client.crt" --key-file "$T/pki/client.key" /pods
	assertEquals 0 "$RC"
	assertSameFile "$FIX/v1.34/pods.json" "$T/body"
}

test_client_cert_missing() {
	start_tls_replay || return
	# shellcheck disable=SC2046
	fetch $(tls_client) /pods
	assertEquals "credentials and RBAC are configuration" 100 "$RC"
	assertContains "401" "$(cat "$T/err")" "401 Unauthorized"
}

test_client_cert_from_other_ca() {
	start_tls_replay || return
	# shellcheck disable=SC2046
	fetch $(tls_client) --cert-file "$T/pki/other-client.crt" --key-file "$T/pki/other-client.key" /pods
	assertEquals "credentials and RBAC are configuration" 100 "$RC"
	assertContains "401" "$(cat "$T/err")" "401 Unauthorized: the kubelet rejected the credentials"
	# ...but the token still authenticates the same request
	# shellcheck disable=SC2046
	fetch $(tls_client) --cert-file "$T/pki/other-client.crt" --key-file "$T/pki/other-client.key" \
		--token-file "$T/tok-good" /pods
	assertEquals 0 "$RC"
}

test_server_ca_mismatch_refused() {
	start_tls_replay || return
	fetch --kubelet "$URL" --ca-file "$T/pki/other-ca.crt" --token-file "$T/tok-good" /pods
	assertEquals "a CA that does not verify is configuration" 100 "$RC"
	assertContains "tls" "$(cat "$T/err")" "GET /pods: TLS:"
	assertEquals "no body" 0 "$(wc -c <"$T/body")"
	# the name must match too
	port=${URL##*:}
	fetch --kubelet "https://localhost:$port" --ca-file "$T/pki/ca.crt" --token-file "$T/tok-good" /pods
	assertEquals 100 "$RC"
	assertContains "tls" "$(cat "$T/err")" "TLS:"
}

test_insecure_skip_verify() {
	start_tls_replay || return
	fetch --kubelet "$URL" --insecure-skip-verify --token-file "$T/tok-good" /pods
	assertEquals 0 "$RC"
	assertSameFile "$FIX/v1.34/pods.json" "$T/body"
	NRO_INSECURE_SKIP_VERIFY=1 NRO_KUBELET_URL="$URL" NRO_TOKEN_FILE="$T/tok-good" \
		"$BIN/nro-fetch" /stats/summary >"$T/body" 2>"$T/err"
	assertEquals "from the environment" 0 "$?"
	assertSameFile "$FIX/v1.34/stats_summary.json" "$T/body"
}

# A kubelet's serving certificate names the node (DNS:node-a), not the
# address the DaemonSet dials (status.hostIP): --tls-server-name checks the
# name while connecting to the address.
test_tls_server_name_checks_the_node_name() {
	(
		cd "$T/pki" || exit 1
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout node.key -out node.csr -subj /CN=node-a &&
			printf 'subjectAltName=DNS:node-a\nextendedKeyUsage=serverAuth\n' >node.ext &&
			openssl x509 -req -in node.csr -CA ca.crt -CAkey ca.key -set_serial 5 -days 2 \
				-extfile node.ext -out node.crt
	) >/dev/null 2>&1 || { fail "openssl node certificate"; return; }
	start_replay --dir "$T/fx" --tls-cert "$T/pki/node.crt" --tls-key "$T/pki/node.key" || return
	fetch --kubelet "$URL" --ca-file "$T/pki/ca.crt" /pods
	assertEquals "the address is not the certificate's name" 100 "$RC"
	assertContains "tls" "$(cat "$T/err")" "TLS:"
	fetch --kubelet "$URL" --ca-file "$T/pki/ca.crt" --tls-server-name node-a /pods
	assertEquals "verified for node-a: $(cat "$T/err")" 0 "$RC"
	assertSameFile "$FIX/v1.34/pods.json" "$T/body"
	NRO_TLS_SERVER_NAME=node-b fetch --kubelet "$URL" --ca-file "$T/pki/ca.crt" /pods
	assertEquals "another name is refused (from the environment)" 100 "$RC"
	fetch --kubelet "${URL/https/http}" --tls-server-name node-a /pods
	assertEquals "plain http is a usage error" 100 "$RC"
	assertContains "names the flag" "$(cat "$T/err")" "--tls-server-name node-a: needs an https://"
	fetch --kubelet "$URL" --tls-server-name 'node a' /pods
	assertEquals "not a DNS name" 100 "$RC"
}

# ---- scenarios ----------------------------------------------------------------------

make_scenario() {
	s="$T/scn"
	rm -rf "$s"
	mkdir -p "$s/step-000" "$s/step-001" "$s/step-002" "$s/base"
	echo '{"step":0}' >"$s/step-000/pods.json"
	echo '{"spec":0}' >"$s/step-000/spec.json"
	echo '{"step":1}' >"$s/step-001/pods.json"
	echo '{"step":2}' >"$s/step-002/pods.json"
	printf 'base-ok' >"$s/base/healthz.txt"
}

test_scenario_steps_on_request() {
	make_scenario
	start_replay --scenario "$T/scn" --dir "$T/fx" || return
	fetch --kubelet "$URL" /pods
	assertEquals '{"step":0}' "$(cat "$T/body")"
	fetch --kubelet "$URL" /replay/step
	assertEquals 0 "$(cat "$T/body")"
	fetch --kubelet "$URL" '/replay/step?next'
	assertEquals 1 "$(cat "$T/body")"
	fetch --kubelet "$URL" /pods
	assertEquals '{"step":1}' "$(cat "$T/body")"
	fetch --kubelet "$URL" /spec # only in step-000: earlier steps still count
	assertEquals '{"spec":0}' "$(cat "$T/body")"
	fetch --kubelet "$URL" /healthz # from base/
	assertEquals 'base-ok' "$(cat "$T/body")"
	fetch --kubelet "$URL" /stats/summary # from --dir
	assertSameFile "$FIX/v1.34/stats_summary.json" "$T/body"
	assertEquals 2 "$(curl -s -X POST "$URL/replay/step")"
	fetch --kubelet "$URL" /pods
	assertEquals '{"step":2}' "$(cat "$T/body")"
	assertEquals "the last step holds" 2 "$(curl -s -X POST "$URL/replay/step")"
}

test_scenario_steps_on_timer() {
	make_scenario
	start_replay --scenario "$T/scn" --step-every 100ms || return
	seen=""
	last=0
	i=0
	while [ $i -lt 200 ]; do
		fetch --kubelet "$URL" /replay/step
		cur=$(cat "$T/body")
		[ "$cur" -ge "$last" ] || fail "step went back from $last to $cur"
		[ "$cur" != "$last" ] && seen="$seen $cur"
		last=$cur
		[ "$cur" -eq 2 ] && break
		sleep 0.05
		i=$((i + 1))
	done
	assertEquals "reached the last step" 2 "$last"
	fetch --kubelet "$URL" /pods
	assertEquals '{"step":2}' "$(cat "$T/body")"
}

SHUNIT_COLOR=none # tests/run.sh reads "Ran N tests" and "FAILED (failures=N)"
# shellcheck disable=SC1091
. shunit2
