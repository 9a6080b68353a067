#!/bin/bash
# make bench's closing summary (bench/target, bench/summary): each recorded
# figure against its target, met or missed by how much, and the reason from
# bench/why.tsv for every missed figure the benches record.
. "$(dirname "$0")/lib.sh"

oneTimeSetUp() { nro_tmpdir; }
oneTimeTearDown() { rm -rf "$TMP"; }

test_met_and_missed() {
	export NRO_BENCH_TARGETS=$TMP/t.tsv
	rm -f "$NRO_BENCH_TARGETS"
	"$TOP/bench/target" "bytes per metric sample" 22.0 40 le
	"$TOP/bench/target" "pipeline PSS, MB" 42.2 16 le
	"$TOP/bench/target" "ring retention, 110-pod node, minutes" 6.0 15 ge
	"$TOP/bench/target" "a figure nobody explained" 2 1 le
	unset NRO_BENCH_TARGETS
	sh "$TOP/bench/summary" "$TMP/t.tsv" >"$TMP/out"
	assertEquals "summary runs" 0 $?
	assertContains "a met figure" "$(grep 'bytes per metric sample' "$TMP/out")" "met"
	assertContains "a missed <= figure: by how much" "$(grep 'pipeline PSS' "$TMP/out")" "MISSED: 2.6x the target"
	assertContains "a missed >= figure" "$(grep 'ring retention' "$TMP/out")" "MISSED: 40% of the target"
	assertContains "why, from why.tsv" "$(grep -A1 'pipeline PSS' "$TMP/out" | tail -n1)" "why: 13 collectors"
	assertContains "an unexplained miss says so" "$(cat "$TMP/out")" "not explained in bench/why.tsv"
	assertContains "the count" "$(tail -n1 "$TMP/out")" "4 figures, 1 met, 3 missed"
}

test_target_without_a_file_records_nothing_and_checks_usage() {
	unset NRO_BENCH_TARGETS
	"$TOP/bench/target" "x" 1 2 le
	assertEquals "no file: nothing to do" 0 $?
	"$TOP/bench/target" "x" 1 2 below 2>"$TMP/err"
	assertEquals "a bad direction" 100 $?
}

# every figure a bench records has a reason ready for when it is missed
test_every_recorded_name_is_in_why_tsv() {
	names=$(grep -ho '"\$top/bench/target" "[^"]*' "$TOP"/bench/*.sh | sed 's/.*target" "//' | sort -u)
	names="$names
$(grep -o '"event latency, ms"' "$TOP/bench/latency.py" | tr -d '"')"
	assertNotEquals "the benches record figures" "" "$names"
	while IFS= read -r n; do
		[ -n "$n" ] || continue
		n=${n%\$sfx} # node110's ", N CPUs" suffix
		assertTrue "why.tsv has '$n'" "cut -f1 '$TOP/bench/why.tsv' | grep -qxF '$n'"
	done <<<"$names"
}

. shunit2
