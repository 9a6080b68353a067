#!/bin/bash
# deploy/image/entrypoint (the image's /usr/bin/nro-entrypoint), outside the
# image: it builds the scan directory from a service tree (configuration
# precedence: svc/.env < $NRO_ENV_DIR < environment; NRO_DISABLE removes a
# service, NRO_ENABLE clears its down file, loggers dropped) and execs a
# real s6-svscan on it, which then runs the enabled services.
. "$(dirname "$0")/lib.sh"

EP=$TOP/deploy/image/entrypoint

oneTimeSetUp() { nro_tmpdir; }
oneTimeTearDown() { rm -rf "$TMP"; }

tearDown() {
	[ -n "${EP_PID:-}" ] && { s6-svscanctl -t "$SCAN" 2>/dev/null; wait "$EP_PID" 2>/dev/null; }
	EP_PID=""
}

# a service tree like the image's: .env, sink-stdout (up), sink-nats (down)
make_src() {
	SRC=$TMP/src
	rm -rf "$SRC"
	mkdir -p "$SRC/.env"
	cp -R "$TOP/svc/sink-stdout" "$TOP/svc/sink-nats" "$TOP/svc/analyzer" "$SRC/"
	echo "$BIN" >"$SRC/.env/NRO_BIN"
	echo "$TMP/run" >"$SRC/.env/NRO_RUN_DIR"
	echo image-default >"$SRC/.env/NRO_NODE_NAME"
	echo image-default >"$SRC/.env/NRO_FORMAT"
	mkdir -p "$TMP/cm"
	echo from-configmap >"$TMP/cm/NRO_FORMAT"
	echo from-configmap >"$TMP/cm/NRO_NODE_NAME"
	SCAN=$TMP/scan
}

start_ep() { # VAR=VALUE...
	env NRO_SVC_SRC="$SRC" NRO_SCAN_DIR="$SCAN" NRO_ENV_DIR="$TMP/cm" "$@" sh "$EP" >"$TMP/ep.out" 2>&1 &
	EP_PID=$!
}

test_scan_directory_and_precedence() {
	make_src
	start_ep NRO_NODE_NAME=from-env NRO_DISABLE=analyzer NRO_ENABLE=sink-nats NRO_NATS_URL=nats://127.0.0.1:1
	wait_path "$SCAN/sink-stdout/supervise/status" || { fail "s6-svscan did not start: $(cat "$TMP/ep.out")"; return; }
	assertEquals "environment wins" from-env "$(cat "$SCAN/.env/NRO_NODE_NAME")"
	assertEquals "the ConfigMap over the image" from-configmap "$(cat "$SCAN/.env/NRO_FORMAT")"
	assertEquals "image default kept" "$BIN" "$(cat "$SCAN/.env/NRO_BIN")"
	assertFalse "NRO_DISABLE removed the analyzer" "[ -e '$SCAN/analyzer' ]"
	assertFalse "NRO_ENABLE cleared sink-nats' down" "[ -e '$SCAN/sink-nats/down' ]"
	assertFalse "loggers dropped: output to the container log" "[ -e '$SCAN/sink-stdout/log' ]"
	assertTrue "the source is untouched" "[ -e '$SRC/sink-nats/down' ] && [ -d '$SRC/sink-stdout/log' ]"
	s6-svwait -u -t 20000 "$SCAN/sink-stdout" || fail "sink-stdout not up under the entrypoint's s6-svscan"
	s6-svscanctl -t "$SCAN"
	wait "$EP_PID"
	assertEquals "s6-svscan exits 0 when told to stop" 0 $?
	EP_PID=""
}

test_unknown_service_is_a_configuration_error() {
	make_src
	env NRO_SVC_SRC="$SRC" NRO_SCAN_DIR="$SCAN" NRO_DISABLE="sink-nope" sh "$EP" >"$TMP/out" 2>&1
	assertEquals 100 $?
	assertEquals "nro-entrypoint: fatal: NRO_DISABLE: no service sink-nope" "$(cat "$TMP/out")"
	env NRO_SVC_SRC="$TMP/none" NRO_SCAN_DIR="$SCAN" sh "$EP" >"$TMP/out" 2>&1
	assertEquals 100 $?
	assertEquals "nro-entrypoint: fatal: NRO_SVC_SRC $TMP/none: no such directory" "$(cat "$TMP/out")"
}

. shunit2
