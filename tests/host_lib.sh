# Helpers of the host collector suites (collector_node_test.sh,
# collector_kmsg_test.sh). Source tests/lib.sh and jsoncollect_lib.sh first:
# collect() runs a collector --once (URL stays empty: no kubelet).

# "status message" of the health record in $OUT.
health() { jq -r 'select(.kind=="health") | "\(.status) \(.message)"' "$OUT"; }

# run_start B PROG ARGS...: runs B/PROG -o - ARGS in the background, its
# records decoded as they come into $RUN_OUT (JSON lines, for
# wait_for_lines); returns once it is ready (s6 readiness on fd 3).
run_start() {
	nrun=$((nrun + 1))
	RUN_OUT="$TMP/run.$nrun.jl"
	RUN_ERR="$TMP/run.$nrun.err"
	rm -f "$TMP/run.fifo" "$TMP/run.ready"
	mkfifo "$TMP/run.fifo" "$TMP/run.ready"
	"$1/nro-dump" <"$TMP/run.fifo" >"$RUN_OUT" 2>"$RUN_ERR.dump" &
	RUN_DUMP=$!
	"$1/$2" -o - -d 3 "${@:3}" >"$TMP/run.fifo" 2>"$RUN_ERR" 3>"$TMP/run.ready" &
	RUN_PID=$!
	read -r _ <"$TMP/run.ready"
}

# run_stop: SIGTERM, which must be a clean exit 0; then OUT is $RUN_OUT
# for the jq helpers. Fails on a sanitizer report.
run_stop() {
	kill -TERM "$RUN_PID"
	wait "$RUN_PID"
	assertEquals "SIGTERM: exit 0" 0 $?
	wait "$RUN_DUMP"
	OUT=$RUN_OUT
	if grep -qE 'Sanitizer|runtime error:' "$RUN_ERR"; then
		fail "sanitizer: $(head -c 2000 "$RUN_ERR")"
	fi
}
