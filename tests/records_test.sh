#!/bin/bash
# Records: nro-dump decodes what lib/wire/record.c encodes, agrees with an
# independent decoder written from docs/wire-format.md, refuses malformed
# input with a reason, and receives over real nng sockets (nngcat publishes).
. "$(dirname "$0")/lib.sh"

oneTimeSetUp() {
	nro_tmpdir
	"$TESTBIN/record_test" --sample >"$TMP/sample.bin" || fail "cannot write sample"
}

oneTimeTearDown() {
	rm -rf "$TMP"
}

test_dump_prints_the_design_fields() {
	"$BIN/nro-dump" <"$TMP/sample.bin" >"$TMP/out.jsonl"
	assertEquals "exit status" 0 $?
	assertEquals "entries" 8 "$(wc -l <"$TMP/out.jsonl")"
	m=$(head -n1 "$TMP/out.jsonl")
	assertEquals metric "$(echo "$m" | jq -r .kind)"
	assertEquals "2025-11-25T21:00:00.123Z" "$(echo "$m" | jq -r .ts)"
	assertEquals n1 "$(echo "$m" | jq -r .node)"
	assertEquals collector-summary "$(echo "$m" | jq -r .source)"
	assertEquals k8s.node.memory.available "$(echo "$m" | jq -r .name)"
	assertEquals 15850561536 "$(echo "$m" | jq -r .value)"
	assertEquals By "$(echo "$m" | jq -r .unit)"
	assertEquals n1 "$(echo "$m" | jq -r '.attrs["k8s.node.name"]')"
	assertEquals 'web-0 "quoted"' "$(echo "$m" | jq -r '.attrs["k8s.pod.name"]')"
	ev=$(grep '"kind":"event"' "$TMP/out.jsonl")
	assertEquals 42 "$(echo "$ev" | jq -r .seq)"
	assertEquals PodCrashLooping "$(echo "$ev" | jq -r .type)"
	assertEquals warning "$(echo "$ev" | jq -r .severity)"
	assertEquals firing "$(echo "$ev" | jq -r .state)"
	assertEquals '{"kind":"Container","namespace":"ns","pod":"p","container":"c"}' \
		"$(echo "$ev" | jq -c .object)"
	assertEquals 5 "$(echo "$ev" | jq -r .value)"
	assertEquals 3 "$(echo "$ev" | jq -r .threshold)"
	assertEquals NaN "$(sed -n 3p "$TMP/out.jsonl" | jq -r .value)"
}

test_independent_decoder_agrees() {
	python3 "$TOP/tests/wire_decode.py" <"$TMP/sample.bin" >"$TMP/py.jsonl"
	assertEquals "python decoder exit" 0 $?
	"$BIN/nro-dump" <"$TMP/sample.bin" | jq -cS . >"$TMP/c.jsonl"
	assertEquals 8 "$(wc -l <"$TMP/py.jsonl")"
	diff "$TMP/py.jsonl" "$TMP/c.jsonl" >"$TMP/diff" 2>&1
	rc=$?
	assertEquals "decoders differ: $(head -5 "$TMP/diff")" 0 "$rc"
}

# Real collectors' output (v1.34 captures): many strings, label sets that
# repeat (back-references), every number form, sample times.
test_independent_decoder_agrees_on_real_output() {
	start_replay --dir "$FIXTURES/v1.34" || return
	for c in cadvisor summary pods; do
		"$BIN/collector-$c" --kubelet "$REPLAY_URL" --node n1 --once -o - >>"$TMP/real.bin" 2>/dev/null
	done
	kill $REPLAY_PID
	python3 "$TOP/tests/wire_decode.py" <"$TMP/real.bin" >"$TMP/rpy.jsonl"
	assertEquals "python decoder exit" 0 $?
	"$BIN/nro-dump" <"$TMP/real.bin" | jq -cS . >"$TMP/rc.jsonl"
	n=$(wc -l <"$TMP/rc.jsonl")
	assertTrue "entries: $n" "[ $n -gt 1000 ]"
	cmp -s "$TMP/rpy.jsonl" "$TMP/rc.jsonl"
	_rc=$?
	assertEquals "decoders differ: $(diff "$TMP/rpy.jsonl" "$TMP/rc.jsonl" | head -3)" 0 "$_rc"
}

# The version 1 example of docs/wire-format.md still decodes, in both.
test_version_1_example_decodes() {
	hex=$(sed -n '/^## Example (version 1)/,/^A decoder/p' "$TOP/docs/wire-format.md" |
		sed -n '/^```$/,/^```$/p' | grep -v '^```' | sed 's/  .*//; s/"\([^"]*\)"/\n\1\n/g' |
		awk '/^[0-9a-f ]+$/ { printf "%s ", $0; next } NF { printf "%s", "S" $0 " " }')
	python3 - "$hex" >"$TMP/v1.bin" <<-'PY'
	import struct, sys
	out = b""
	for tok in sys.argv[1].split():
	    out += tok[1:].encode() if tok.startswith("S") else bytes([int(tok, 16)])
	sys.stdout.buffer.write(struct.pack(">I", len(out)) + out)
	PY
	"$BIN/nro-dump" <"$TMP/v1.bin" | jq -cS . >"$TMP/v1c.jsonl"
	assertEquals "nro-dump exit" 0 "${PIPESTATUS[0]}"
	python3 "$TOP/tests/wire_decode.py" <"$TMP/v1.bin" >"$TMP/v1py.jsonl"
	assertEquals "python exit" 0 $?
	assertEquals 15850561536 "$(jq -r .value "$TMP/v1c.jsonl")"
	assertEquals "$(cat "$TMP/v1py.jsonl")" "$(cat "$TMP/v1c.jsonl")"
}

test_kind_filter() {
	n=$("$BIN/nro-dump" -k E <"$TMP/sample.bin" | wc -l)
	assertEquals 1 "$n"
	"$BIN/nro-dump" -k Q </dev/null 2>"$TMP/err"
	assertEquals "bad kind is a usage error" 100 $?
	assertContains "$(cat "$TMP/err")" "unknown kind 'Q'"
}

test_count_stops_early() {
	n=$("$BIN/nro-dump" -n 3 <"$TMP/sample.bin" | wc -l)
	assertEquals 3 "$n"
}

test_truncated_stream_reported() {
	size=$(stat -c %s "$TMP/sample.bin")
	head -c $((size - 5)) "$TMP/sample.bin" >"$TMP/cut.bin"
	"$BIN/nro-dump" <"$TMP/cut.bin" >"$TMP/out" 2>"$TMP/err"
	assertEquals "exit status: bad input is 102" 102 $?
	assertContains "$(cat "$TMP/err")" "truncated"
	# the whole records before the cut still print
	assertEquals 7 "$(wc -l <"$TMP/out")"
}

test_corrupt_record_skipped_with_reason() {
	# flip the magic of the first record: it is dropped, the rest print
	cp "$TMP/sample.bin" "$TMP/bad.bin"
	printf 'X' | dd of="$TMP/bad.bin" bs=1 seek=5 conv=notrunc 2>/dev/null
	"$BIN/nro-dump" <"$TMP/bad.bin" >"$TMP/out" 2>"$TMP/err"
	assertEquals "exit status: bad input is 102" 102 $?
	assertContains "$(cat "$TMP/err")" "bad magic"
	assertEquals 6 "$(wc -l <"$TMP/out")"
}

test_garbage_frame_length_stops() {
	head -c 64 /dev/urandom | tr '\000' '\377' | { printf '\377\377\377\377'; cat; } >"$TMP/junk.bin"
	"$BIN/nro-dump" <"$TMP/junk.bin" >"$TMP/out" 2>"$TMP/err"
	assertEquals "exit status: bad input is 102" 102 $?
	assertContains "$(cat "$TMP/err")" "framing"
}

# Text that is not a record stream (a README) is said, not swallowed: every
# reader of a pipe complains once (the analyzer too, which used to exit
# silently).
test_not_records_on_a_pipe_is_said() {
	for tool in "nro-dump" "analyzer -i - -o -" "sink-stdout -i -"; do
		# shellcheck disable=SC2086
		"$BIN"/$tool <"$TOP/README.md" >"$TMP/out" 2>"$TMP/err"
		assertContains "$tool" "$(cat "$TMP/err")" "input lost its framing"
		assertEquals "$tool: no output" 0 "$(wc -c <"$TMP/out")"
	done
}

test_receives_over_nng_from_nngcat() {
	addr="ipc://$TMP/dump.ipc"
	# one record, without its 4-byte frame header, as nngcat's message body
	len=$(od -An -tu1 -N4 "$TMP/sample.bin" | awk '{print $1*16777216+$2*65536+$3*256+$4}')
	tail -c +5 "$TMP/sample.bin" | head -c "$len" >"$TMP/one.rec"
	timeout 30 "$BIN/nro-dump" --listen -i "$addr" -n 2 >"$TMP/nng.out" 2>"$TMP/nng.err" &
	pid=$!
	wait_path "$TMP/dump.ipc"
	# nngcat redials until nro-dump has subscribed; --count bounds the sends
	nngcat --pub --dial "$addr" --file "$TMP/one.rec" --interval 1 --count 30 \
		>/dev/null 2>&1 &
	cat_pid=$!
	wait $pid
	rc=$?
	kill $cat_pid 2>/dev/null
	wait $cat_pid 2>/dev/null
	assertEquals "nro-dump exit" 0 $rc
	assertEquals 2 "$(wc -l <"$TMP/nng.out")"
	assertEquals k8s.node.memory.available "$(head -n1 "$TMP/nng.out" | jq -r .name)"
}

test_help_and_bad_flag() {
	"$BIN/nro-dump" --help >"$TMP/help"
	assertEquals 0 $?
	assertContains "$(cat "$TMP/help")" "--kinds"
	"$BIN/nro-dump" --bogus 2>"$TMP/err"
	assertEquals 100 $?
	assertContains "$(cat "$TMP/err")" "unknown option '--bogus'"
}

. shunit2
