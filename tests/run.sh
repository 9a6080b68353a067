#!/bin/sh
# Runs every test: C unit tests (plain, then ASan+UBSan), then the shunit2
# suites tests/*_test.sh. Prints each result and ends with "N passed, N failed".
# Usage: tests/run.sh [suite-name-substring ...]
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
pass=0
fail=0
failed_names=""
log=$(mktemp -d "${TMPDIR:-/tmp}/nro-test.XXXXXX")
trap 'rm -rf "$log"' EXIT

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=66"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=67"
export LSAN_OPTIONS="suppressions=$top/tests/lsan.supp:print_suppressions=0"

want() {
	[ -z "$FILTER" ] && return 0
	for w in $FILTER; do case "$1" in *"$w"*) return 0 ;; esac; done
	return 1
}
FILTER="$*"

count_tap() { # $1 = label, $2 = output file, $3 = exit code
	p=$(grep -c '^ok - ' "$2")
	f=$(grep -c '^not ok - ' "$2")
	if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # crashed or sanitizer report: count the binary as failed
		echo "not ok - $1 (exit $3)"
	fi
	grep '^not ok' "$2" | sed "s|^|$1: |"
	[ "$f" -gt 0 ] && { sed 's/^/    /' "$2" | grep -v '^    ok - ' | head -40; failed_names="$failed_names $1"; }
	pass=$((pass + p))
	fail=$((fail + f))
	echo "$1: $p passed, $f failed"
}

for flavour in plain san; do
	for t in build/$flavour/test/*_test; do
		[ -x "$t" ] || continue
		name="unit/$flavour/$(basename "$t")"
		want "$name" || continue
		out="$log/$(basename "$t").$flavour"
		"$t" >"$out" 2>&1
		count_tap "$name" "$out" $?
	done
done

# The shunit2 suites are independent (private temp dirs, random ports): run
# NRO_TEST_JOBS of them at once (default 2: one per core; more makes the
# suites' bounded waits flaky on a loaded 2-core machine), then count them in
# name order.
# shunit2 counts failed assertions, not tests: count failed tests from the
# per-test name lines it prints, each followed by its ASSERT lines.
export SHUNIT_COLOR=none
suites=""
for s in tests/*_test.sh; do
	[ -f "$s" ] || continue
	want "shunit/$(basename "$s" .sh)" || continue
	suites="$suites $s"
done
if [ -n "$suites" ]; then
	# shellcheck disable=SC2086
	printf '%s\n' $suites | xargs -P "${NRO_TEST_JOBS:-2}" -I{} sh -c \
		'b=$(basename "$1"); bash "$1" >"$2/$b.out" 2>&1; echo $? >"$2/$b.rc"' _ {} "$log"
fi
for s in $suites; do
	name="shunit/$(basename "$s" .sh)"
	out="$log/$(basename "$s").out"
	rc=$(cat "$log/$(basename "$s").rc" 2>/dev/null || echo 1)
	ran=$(sed -n 's/^Ran \([0-9]*\) test.*/\1/p' "$out" | tail -1)
	ran=${ran:-0}
	f=$(awk '/^test[A-Za-z0-9_]*$/ { cur = $0; next }
		/^ASSERT:/ && cur != "" && !(cur in bad) { bad[cur] = 1; n++ }
		END { print n + 0 }' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; ran=$((ran + 1)); fi
	[ "$ran" -eq 0 ] && { f=1; ran=1; echo "$name: ran no test"; }
	[ "$f" -gt "$ran" ] && f=$ran
	p=$((ran - f))
	if [ "$f" -gt 0 ]; then
		failed_names="$failed_names $name"
		grep -E '^test|ASSERT|FAIL|rror' "$out" | head -60 | sed 's/^/    /'
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	echo "$name: $p passed, $f failed"
done

[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
