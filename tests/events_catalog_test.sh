#!/bin/bash
# docs/events.md is the catalog of event types: it must list exactly the
# types `analyzer --rules` knows, with the same severity and defaults.
. "$(dirname "$0")/lib.sh"

# "Type severity for=.. resolve_after=..[ threshold=..][ critical=..]" per rule
from_rules() {
	"$BIN/analyzer" --rules | awk '
		/^  [A-Z][A-Za-z]* severity=/ {
			if (line) print line
			sub(/^severity=/, "", $2)
			line = $1 " " $2 " " $3 " " $4
			next }
		/^      (threshold|critical)=/ { line = line " " $1 }
		END { if (line) print line }' | sort
}

from_catalog() {
	awk -F' *\\| *' '/^\| [A-Z][A-Za-z]* \|/ { print $2 " " $3 " " $4 }' \
		"$TOP/docs/events.md" | sort
}

test_catalog_lists_every_rule_with_its_defaults() {
	from_rules >"$TMP/rules"
	from_catalog >"$TMP/catalog"
	assertTrue "analyzer --rules printed no rules" "[ -s '$TMP/rules' ]"
	diff "$TMP/rules" "$TMP/catalog" >"$TMP/diff"
	rc=$?
	assertEquals "--rules (-) and docs/events.md (+) differ: $(cat "$TMP/diff")" 0 "$rc"
}

test_a_changed_default_is_caught() {
	# the check must be able to fail: a --set shows up as a difference
	"$BIN/analyzer" --set NodeMemoryPressure.threshold=70 --rules | grep -q "threshold=70 source=flag"
	assertTrue "--set not shown by --rules" $?
	from_catalog | grep -q "^NodeMemoryPressure warning for=0s resolve_after=30s threshold=85$"
	assertTrue "the catalog's NodeMemoryPressure row did not parse" $?
}

test_every_rules_line_fits_80_columns() {
	long=$("$BIN/analyzer" --rules | awk 'length > 80')
	assertEquals "" "$long"
}

test_set_rejects_out_of_range_with_exit_100() {
	for kv in NodeMemoryPressure.threshold=-5 NodeMemoryPressure.threshold=500 \
		ContainerCPUThrottled.threshold=101 PodEvicted.threshold=1 flap.changes=1 \
		NoSuchRule.for=1s; do
		"$BIN/analyzer" --set "$kv" --rules >/dev/null 2>"$TMP/err"
		assertEquals "--set $kv" 100 $?
		assertEquals "one line for $kv" 1 "$(wc -l <"$TMP/err")"
	done
}

oneTimeSetUp() { nro_tmpdir; }
oneTimeTearDown() { rm -rf "$TMP"; }

. shunit2
