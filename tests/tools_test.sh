#!/bin/bash
# Common command line: flags and NRO_* variables, clear one-line errors with
# exit 100, --help that names every flag, s6 readiness on -d FD.
. "$(dirname "$0")/lib.sh"

oneTimeSetUp() { nro_tmpdir; }
oneTimeTearDown() { rm -rf "$TMP"; }

test_bad_duration_is_usage_error() {
	"$BIN/collector-syncloop" --interval 10x --once 2>"$TMP/err"
	assertEquals 100 $?
	assertEquals "collector-syncloop: fatal: --interval: bad duration '10x' (want e.g. 500ms, 15s, 5m, 1h)" "$(cat "$TMP/err")"
}

test_bad_env_names_the_variable() {
	NRO_TIMEOUT=soon "$BIN/collector-syncloop" --once 2>"$TMP/err"
	assertEquals 100 $?
	assertContains "$(cat "$TMP/err")" "NRO_TIMEOUT: bad duration 'soon'"
}

test_missing_value() {
	"$BIN/collector-syncloop" --kubelet 2>"$TMP/err"
	assertEquals 100 $?
	assertContains "$(cat "$TMP/err")" "--kubelet needs a value"
}

test_cert_without_key() {
	"$BIN/collector-syncloop" --cert-file /etc/hostname --once 2>"$TMP/err"
	assertEquals 100 $?
	assertContains "$(cat "$TMP/err")" "--cert-file and --key-file go together"
}

test_help_lists_common_flags_and_env() {
	"$BIN/collector-syncloop" --help >"$TMP/help"
	assertEquals 0 $?
	for f in --kubelet --token-file --ca-file --cert-file --key-file --insecure-skip-verify \
		--node --interval --timeout --once --output --ready-fd NRO_KUBELET_URL NRO_TOKEN_FILE \
		NRO_RUN_DIR; do
		assertContains "$f missing from --help" "$(cat "$TMP/help")" "$f"
	done
}

test_version() {
	out=$("$BIN/nro-dump" --version)
	assertEquals 0 $?
	assertContains "$out" "nro-dump "
}

test_readiness_fd_gets_a_newline() {
	# --once against an unreachable kubelet: still signals readiness first
	"$BIN/collector-syncloop" --kubelet http://127.0.0.1:1 --once -o - -d 3 \
		3>"$TMP/ready" >/dev/null 2>&1
	assertEquals 111 $?
	assertEquals 1 "$(wc -c <"$TMP/ready")"
}

test_readiness_fd_must_be_open() {
	"$BIN/collector-syncloop" --once -d 9 2>"$TMP/err"
	assertEquals 100 $?
	assertContains "$(cat "$TMP/err")" "not an open file descriptor"
}

test_sigterm_exits_zero() {
	"$BIN/collector-syncloop" --kubelet http://127.0.0.1:1 --interval 1h -o - \
		>/dev/null 2>&1 &
	pid=$!
	# wait until it blocks SIGTERM (handled in its poll loop through signalfd)
	i=0
	while [ $i -lt 400 ] && ! grep -q '^SigBlk:.*[1-9a-f]' "/proc/$pid/status" 2>/dev/null; do
		sleep 0.01
		i=$((i + 1))
	done
	kill -TERM $pid
	wait $pid
	assertEquals 0 $?
}

. shunit2
