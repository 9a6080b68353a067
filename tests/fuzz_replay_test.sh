#!/bin/bash
# The fuzz targets' saved inputs as a regression test (docs/fuzzing.md): for
# every fuzz/fuzz_<target>.c, its replay binary (fuzz/replay.c's main, built
# by `make unit`, plain and ASan/UBSan) runs every file in fuzz/corpus/<target>/
# and fuzz/crashes/<target>/ once; any crash, sanitizer report or failed
# FUZZ_CHECK fails that target's test. No new fuzzing happens here.
. "$(dirname "$0")/lib.sh"

TARGETS=$(ls "$TOP"/fuzz/fuzz_*.c | sed 's|.*/fuzz_\(.*\)\.c|\1|')
FLAVOURS=""
for f in plain san; do
	[ -d "$TOP/build/$f/fuzz" ] && FLAVOURS="$FLAVOURS $f"
done

oneTimeSetUp() {
	nro_tmpdir
}

oneTimeTearDown() {
	rm -rf "$TMP"
}

# Runs replay binary $1 over the folders $2...; prints how many inputs it
# replayed; fails (with its last lines) unless it exited 0 having replayed
# every file given.
replay() {
	bin=$1
	shift
	want=0
	for d in "$@"; do want=$((want + $(find "$d" -maxdepth 1 -type f ! -name '.*' | wc -l))); done
	"$bin" "$@" >"$TMP/replay.out" 2>"$TMP/replay.err"
	rc=$?
	got=$(sed -n 's/^replayed \([0-9]*\) inputs$/\1/p' "$TMP/replay.out")
	if [ "$rc" -ne 0 ] || [ "${got:-x}" != "$want" ]; then
		echo "$(basename "$bin") exited $rc after ${got:-?} of $want inputs:"
		grep -v '^replay: ' "$TMP/replay.err" | head -20
		grep '^replay: ' "$TMP/replay.err" | tail -1
		return 1
	fi
	echo "$got"
}

replay_target() { # $1 = target
	dirs="$TOP/fuzz/corpus/$1"
	[ -d "$TOP/fuzz/crashes/$1" ] && dirs="$dirs $TOP/fuzz/crashes/$1"
	for f in $FLAVOURS; do
		bin=$TOP/build/$f/fuzz/replay-$1
		assertTrue "$bin is built (make unit)" "[ -x '$bin' ]" || continue
		# shellcheck disable=SC2086
		out=$(replay "$bin" $dirs)
		assertEquals "$f replay of $1" 0 $?
		[ "${out:-0}" -gt 0 ] 2>/dev/null || echo "$out"
	done
}

test_replay_binaries_are_built() {
	assertNotEquals "no build/*/fuzz: run make unit" "" "$FLAVOURS"
}

test_every_target_has_a_seed_corpus() {
	for t in $TARGETS; do
		n=$(find "$TOP/fuzz/corpus/$t" -maxdepth 1 -type f 2>/dev/null | wc -l)
		assertTrue "fuzz/corpus/$t is empty" "[ $n -gt 0 ]"
	done
}

test_replay_reports_a_crashing_input() {
	# the check itself must be able to fail: a "replay binary" that aborts
	fake=$TMP/replay-aborts
	printf '#!/bin/sh\necho "replay: $1" >&2\nkill -ABRT $$\n' >"$fake"
	chmod +x "$fake"
	out=$(replay "$fake" "$TOP/fuzz/corpus/quantity")
	assertNotEquals "an aborting replay passed" 0 $?
	assertContains "$out" "replay: $TOP/fuzz/corpus/quantity"
	# and one that stops early is caught by its count
	printf '#!/bin/sh\necho "replayed 1 inputs"\n' >"$fake"
	replay "$fake" "$TOP/fuzz/corpus/quantity" >/dev/null
	assertNotEquals "a replay that skipped inputs passed" 0 $?
}

test_replay_driver_refuses_a_missing_input() {
	bin=$TOP/build/${FLAVOURS##* }/fuzz/replay-quantity
	"$bin" "$TMP/no-such-input" >/dev/null 2>"$TMP/err"
	assertEquals 1 $?
	assertContains "$(cat "$TMP/err")" "no-such-input"
}

suite() {
	for t in $TARGETS; do
		eval "test_replay_$t() { replay_target $t; }"
		suite_addTest "test_replay_$t"
	done
	suite_addTest test_replay_binaries_are_built
	suite_addTest test_every_target_has_a_seed_corpus
	suite_addTest test_replay_reports_a_crashing_input
	suite_addTest test_replay_driver_refuses_a_missing_input
}

. shunit2
