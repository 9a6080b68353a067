#!/bin/bash
# The examples of docs/writing-a-sink.md are taken from the page, compiled
# and run: the C sink on lib/run/sink.h, and the Python reader written from
# docs/wire-format.md alone.
. "$(dirname "$0")/lib.sh"

oneTimeSetUp() {
	nro_tmpdir
	DOC=$TOP/docs/writing-a-sink.md
	"$TESTBIN/record_test" --sample >"$TMP/sample.bin"
}
oneTimeTearDown() { rm -rf "$TMP"; }

# example NAME LANG: the code block after "<!-- example: NAME -->".
example() {
	awk -v name="$1" -v lang="$2" '
		$0 == "<!-- example: " name " -->" { f = 1; next }
		f && $0 == "```" lang { p = 1; next }
		p && /^```/ { exit }
		p' "$DOC"
}

test_c_sink_example_builds_and_delivers() {
	example sink-lines.c c >"$TMP/sink-lines.c"
	n=$(wc -l <"$TMP/sink-lines.c")
	assertTrue "about 30 lines ($n)" "[ $n -ge 20 ] && [ $n -le 32 ]"
	# the project's flags and its plain library, as a sink in sinks/ would be built
	cc -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -I"$TOP/lib" \
		-o "$TMP/sink-lines" "$TMP/sink-lines.c" "$TOP/build/plain/libnro.a" -lnng -lpthread -lz -lm \
		2>"$TMP/cc.err"
	rc=$?
	assertEquals "compiles: $(head -c 400 "$TMP/cc.err")" 0 "$rc"
	"$TMP/sink-lines" -i - <"$TMP/sample.bin" >"$TMP/c.out" 2>"$TMP/c.err"
	assertEquals "exit" 0 $?
	# the same events as nro-dump reads them
	"$BIN/nro-dump" -k E <"$TMP/sample.bin" |
		jq -r '"\(.seq) \(.state) \(.type) \(.object.pod // "")"' >"$TMP/want"
	assertEquals "$(cat "$TMP/want")" "$(cat "$TMP/c.out")"
	assertContains "$(cat "$TMP/c.err")" "sink-lines: info: $(wc -l <"$TMP/want") events"
}

test_python_reader_example_reads_the_wire_format() {
	example read_records.py python >"$TMP/read_records.py"
	python3 "$TMP/read_records.py" <"$TMP/sample.bin" >"$TMP/py.out" 2>"$TMP/py.err"
	_rc=$?
	assertEquals "exit: $(cat "$TMP/py.err")" 0 "$_rc"
	assertContains "$(cat "$TMP/py.out")" "event 42 n1 analyzer 1"
	# per record, the entry counts add up to what nro-dump prints entry by entry
	total=$(awk '{ n += $5 } END { print n }' "$TMP/py.out")
	assertEquals "entries" "$("$BIN/nro-dump" <"$TMP/sample.bin" | wc -l)" "$total"
	# and a real collector's output, from a recorded kubelet
	start_replay --dir "$FIXTURES/v1.34" || return
	"$BIN/collector-pods" --once -o - --kubelet "$REPLAY_URL" 2>/dev/null >"$TMP/pods.bin"
	kill "$REPLAY_PID"
	python3 "$TMP/read_records.py" <"$TMP/pods.bin" >"$TMP/pods.out"
	assertEquals "one node, one source" "datagen-1-34 collector-pods" \
		"$(awk '{ print $3, $4 }' "$TMP/pods.out" | sort -u)"
	assertEquals "entries" "$("$BIN/nro-dump" <"$TMP/pods.bin" | wc -l)" \
		"$(awk '{ n += $5 } END { print n }' "$TMP/pods.out")"
}

. shunit2
