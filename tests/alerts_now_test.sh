#!/bin/bash
# What is firing now (the analyzer's alerts file, docs/alerts-file.md):
#  - nro-alerts prints the firing alerts and "N alerts firing", and
#    "0 alerts firing" on a healthy node;
#  - a sink started after an alert fired shows it (ACTIVE / "replay":true);
#  - a restarted analyzer whose ring no longer holds an alert's firing event
#    still knows it is firing, and does not announce it again.
. "$(dirname "$0")/lib.sh"

FX=$TOP/../shared/fixtures/kubelet

oneTimeSetUp() {
	nro_tmpdir
	mkdir -p "$TMP/crash" "$TMP/healthy" "$TMP/filler"
	cp "$FX/gke-crashloop/pods.json" "$TMP/crash/"
	cp "$FX/v1.35/pods.json" "$TMP/healthy/"
	cp "$FX/v1.34/metrics_cadvisor.txt" "$TMP/filler/"
	for d in crash healthy filler; do
		timeout 300 "$BIN/kubelet-replay" --dir "$TMP/$d" >"$TMP/$d.url" 2>"$TMP/$d.rerr" &
		REPLAYS="$REPLAYS $!"
		wait_first_line "$TMP/$d.url" >/dev/null || fail "kubelet-replay $d"
	done
	"$BIN/collector-pods" --kubelet "$(head -1 "$TMP/crash.url")" --once -o - >"$TMP/crash.bin" 2>/dev/null
	"$BIN/collector-pods" --kubelet "$(head -1 "$TMP/healthy.url")" --once -o - >"$TMP/healthy.bin" 2>/dev/null
	"$BIN/collector-cadvisor" --kubelet "$(head -1 "$TMP/filler.url")" --once --allow all -o - \
		>"$TMP/filler.bin" 2>/dev/null
	[ -s "$TMP/crash.bin" ] && [ -s "$TMP/filler.bin" ] || fail "no records from the collectors"
}
oneTimeTearDown() {
	for p in $REPLAYS; do kill "$p" 2>/dev/null; done
	rm -rf "$TMP"
}

# analyzer RUN INPUT [ARGS...]: one pipe run on run directory RUN with a ring
analyze() {
	run=$1 input=$2
	shift 2
	mkdir -p -m 0700 "$run"
	NRO_RUN_DIR=$run "$BIN/analyzer" -i - -o - --ring "$run/ring" \
		--set PodCrashLooping.for=0s "$@" <"$input" 2>>"$run/analyzer.err"
}

test_nro_alerts_lists_what_fires_and_says_none_when_healthy() {
	analyze "$TMP/r1" "$TMP/crash.bin" | "$BIN/nro-dump" -i - >"$TMP/r1.json"
	assertContains "the analyzer fired it" "$(jq -r 'select(.kind=="event") | .type' "$TMP/r1.json")" \
		PodCrashLooping
	out=$(NRO_RUN_DIR=$TMP/r1 "$BIN/nro-alerts" --format text)
	assertEquals "exit" 0 $?
	assertContains "$out" "ACTIVE"
	assertContains "$out" "PodCrashLooping"
	n=$(jq -r 'select(.kind=="event" and .state=="firing") | .type' "$TMP/r1.json" | wc -l)
	assertContains "$out" "$n alert"
	json=$(NRO_RUN_DIR=$TMP/r1 "$BIN/nro-alerts" --format json)
	assertContains "json: marked as a replay" \
		"$(echo "$json" | jq -r '"\(.type) \(.replay) \(.state)"')" "PodCrashLooping true firing"
	analyze "$TMP/r2" "$TMP/healthy.bin" >/dev/null
	assertEquals "0 alerts firing" "$(NRO_RUN_DIR=$TMP/r2 "$BIN/nro-alerts" --format text)"
	NRO_RUN_DIR=$TMP/none "$BIN/nro-alerts" 2>"$TMP/none.err"
	assertEquals "no alerts file" 111 $?
	assertContains "$(cat "$TMP/none.err")" "is the analyzer running"
}

test_a_sink_started_later_shows_what_is_firing() {
	analyze "$TMP/r3" "$TMP/crash.bin" >/dev/null
	NRO_RUN_DIR=$TMP/r3 "$BIN/sink-stdout" --format json >"$TMP/s3.out" 2>"$TMP/s3.err" &
	sp=$!
	wait_first_line "$TMP/s3.out" >/dev/null
	kill "$sp"
	wait "$sp"
	assertContains "$(jq -r '"\(.type) \(.replay)"' "$TMP/s3.out")" "PodCrashLooping true"
	# with a cursor (it has delivered before) nothing is replayed again
	NRO_RUN_DIR=$TMP/r3 "$BIN/sink-stdout" --format json >"$TMP/s3b.out" 2>&1 &
	sp=$!
	sleep 1
	kill "$sp"
	wait "$sp"
	assertNotContains "$(cat "$TMP/s3b.out")" '"replay":true'
}

test_restart_after_the_ring_wrapped_does_not_announce_again() {
	# fire, then enough other records that a 64 KiB ring loses the event
	# (600 small records pass the ring's 512 index slots whatever their size)
	cp "$TMP/crash.bin" "$TMP/wrap.bin"
	for i in $(seq 600); do cat "$TMP/crash.bin" >>"$TMP/wrap.bin"; done
	analyze "$TMP/r4" "$TMP/wrap.bin" --ring-size 65536 | "$BIN/nro-dump" -i - >"$TMP/r4a.json"
	assertEquals "fired once" 1 "$(jq -r 'select(.kind=="event" and .state=="firing") | .type' "$TMP/r4a.json" | grep -c PodCrashLooping)"
	assertContains "firing when the ring wrapped" "$(NRO_RUN_DIR=$TMP/r4 "$BIN/nro-alerts" --format text)" PodCrashLooping
	assertEquals "the ring no longer holds the firing event" "" \
		"$("$BIN/nro-dump" --ring "$TMP/r4/ring" 2>/dev/null | jq -r 'select(.kind=="event") | .type')"
	# restarted, the pod still crash-looping: nothing new to announce
	analyze "$TMP/r4" "$TMP/crash.bin" --ring-size 65536 | "$BIN/nro-dump" -i - >"$TMP/r4b.json"
	assertEquals "not announced again" "" \
		"$(jq -r 'select(.kind=="event" and .state=="firing") | .type' "$TMP/r4b.json")"
	assertContains "$(cat "$TMP/r4/analyzer.err")" "firing alerts restored from"
}

. shunit2
