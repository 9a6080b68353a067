#!/bin/bash
# The analyzer's own integrity (each failed before its fix):
#  - a record larger than the ring can keep does not reuse a seq: an error
#    record stands in for it under the same seq, and seqs stay consecutive;
#  - an event record arriving from an input is dropped (only the analyzer
#    makes events), so it is neither forwarded nor restored after a restart.
. "$(dirname "$0")/lib.sh"

oneTimeSetUp() {
	nro_tmpdir
	mkdir -p -m 0700 "$TMP/run"
	"$TESTBIN/record_test" --sample >"$TMP/sample.bin" || fail "record_test --sample"
}
oneTimeTearDown() { rm -rf "$TMP"; }

test_oversized_records_keep_seqs_consecutive() {
	# small records, then one the 64 KiB ring cannot keep (over 16 KiB), then more
	cat "$TMP/sample.bin" "$TMP/sample.bin" >"$TMP/small.bin"
	# one big record: a metric batch with a 20 KiB attribute value
	python3 - >"$TMP/big.bin" <<'PY'
import struct, sys
def s(b): return struct.pack(">H", len(b)) + b
body = b"M" + b"NRO" + bytes([1, 0]) + struct.pack(">I", 1) + struct.pack(">Q", 5) \
    + struct.pack(">q", 1764104400000) + s(b"collector-test") + s(b"n1")
attrs = struct.pack(">H", 1) + s(b"big") + s(b"x" * 20000)
body += s(b"test.metric") + s(b"1") + bytes([0]) + struct.pack(">d", 1.0) \
    + struct.pack(">q", 0) + attrs
sys.stdout.buffer.write(struct.pack(">I", len(body)) + body)
PY
	cat "$TMP/small.bin" "$TMP/big.bin" "$TMP/small.bin" >"$TMP/in.bin"
	"$BIN/nro-dump" -i - <"$TMP/big.bin" >/dev/null 2>"$TMP/big.err" ||
		fail "the test's big record does not decode: $(cat "$TMP/big.err")"
	NRO_RUN_DIR=$TMP/run "$BIN/analyzer" -i - -o - --ring "$TMP/run/ring" --ring-size 65536 \
		<"$TMP/in.bin" 2>"$TMP/a.err" >"$TMP/out.bin"
	"$BIN/nro-dump" -i - <"$TMP/out.bin" >"$TMP/out.json"
	# one seq per message, read from the frames (not from nro-dump's lines)
	seqs=$(python3 -c '
import sys
d = open(sys.argv[1], "rb").read()
i = 0
while i < len(d):
    n = int.from_bytes(d[i:i+4], "big")
    print(int.from_bytes(d[i+4+10:i+4+18], "big"))
    i += 4 + n' "$TMP/out.bin")
	first=$(echo "$seqs" | head -1)
	n=$(echo "$seqs" | wc -l)
	assertTrue "messages out ($n)" "[ $n -gt 16 ]"
	want=$(seq "$first" $((first + n - 1)))
	assertEquals "seqs consecutive, none reused" "$want" "$seqs"
	assertContains "$(jq -r 'select(.kind=="error") | .message' "$TMP/out.json")" \
		"from collector-test was dropped: larger than a quarter of the ring"
	assertContains "$(cat "$TMP/a.err")" "raise --ring-size"
	# the stand-in is what the ring holds under that seq
	assertContains "$("$BIN/nro-dump" --ring "$TMP/run/ring" 2>/dev/null | jq -r 'select(.kind=="error") | .source')" "analyzer"
}

test_events_from_an_input_are_dropped() {
	# the sample's event record with its source renamed (same length)
	python3 - "$TMP/sample.bin" >"$TMP/forged.bin" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
out, i = b"", 0
while i < len(d):
    n = int.from_bytes(d[i:i+4], "big")
    rec = d[i+4:i+4+n]
    if rec[:1] == b"E":
        rec = rec.replace(b"analyzer", b"forgery!", 1)  # the source, same length
        out += n.to_bytes(4, "big") + rec
    i += 4 + n
sys.stdout.buffer.write(out)
PY
	[ -s "$TMP/forged.bin" ] || fail "no event in the sample"
	assertContains "$("$BIN/nro-dump" -i - <"$TMP/forged.bin")" '"source":"forgery!"'
	rm -f "$TMP/run/ring2"
	NRO_RUN_DIR=$TMP/run "$BIN/analyzer" -i - -o - --ring "$TMP/run/ring2" \
		<"$TMP/forged.bin" 2>"$TMP/f.err" | "$BIN/nro-dump" -i - >"$TMP/f.json"
	assertEquals "no event forwarded" "" "$(jq -r 'select(.kind=="event") | .type' "$TMP/f.json")"
	assertContains "$(cat "$TMP/f.err")" "only the analyzer makes events"
	assertEquals "nothing of it in the ring" "" \
		"$("$BIN/nro-dump" --ring "$TMP/run/ring2" 2>/dev/null | jq -r 'select(.kind=="event") | .type')"
}

. shunit2
