#!/bin/sh
# make fuzz: runs each libFuzzer target in build/fuzz/ for FUZZ_SECONDS
# (default 60), one at a time, at nice 19 (FUZZ_NICE), starting from the
# committed corpus fuzz/corpus/<target>/. New inputs go to
# build/fuzz/corpus/<target>/; with FUZZ_MERGE=1 fuzz/corpus/<target>/ becomes
# its seeds plus the fewest inputs that cover every edge reached so far. A crash,
# leak, timeout or failed check leaves its input in build/fuzz/artifacts/
# (docs/fuzzing.md says where to keep it). Prints one line per target:
# "TARGET: N execs in S s, corpus C files, OK|CRASH (artifact)", S the
# seconds it ran (less than FUZZ_SECONDS when it found something).
# Exit 0 when no target found anything, else 1.
# Usage: sh fuzz/run.sh [TARGET ...]   (default: every fuzz/fuzz_*.c)
set -u
cd "$(dirname "$0")/.."
secs=${FUZZ_SECONDS:-60}
merge=${FUZZ_MERGE:-0}
nice=${FUZZ_NICE:-19}
case "$secs" in '' | *[!0-9]*) echo "fuzz: FUZZ_SECONDS '$secs' is not a whole number" >&2; exit 100 ;; esac

# -max_len per target: what a real input of that kind needs, no more
max_len() {
	case "$1" in
	quantity) echo 64 ;;
	procfs) echo 8192 ;;
	kmsg) echo 16384 ;;
	healthz) echo 4200 ;;
	ring | ring_writer) echo 8192 ;;
	prom | json | configz | spec) echo 16384 ;;
	record) echo 32768 ;;
	pods | summary) echo 65536 ;;
	*) echo 4096 ;;
	esac
}

# Rewrites fuzz/corpus/$1 as its seed-* files plus a smallest set of inputs
# (from it and from $3) that covers every edge they reach: set-cover merge
# on edges alone (-use_counters=0), so the committed corpus stays small.
merge_into_corpus() {
	into=build/fuzz/merge/$1
	rm -rf "$into"
	mkdir -p "$into"
	cp "fuzz/corpus/$1"/seed-* "$into"/ 2>/dev/null
	if nice -n "$nice" "$2" -set_cover_merge=1 -use_counters=0 -max_len="$(max_len "$1")" \
		"$into" "fuzz/corpus/$1" "$3" >>"$4" 2>&1; then
		find "fuzz/corpus/$1" -maxdepth 1 -type f ! -name 'seed-*' -delete
		cp "$into"/* "fuzz/corpus/$1"/
	else
		echo "fuzz: merging $1 failed (see $4); fuzz/corpus/$1 left as it was" >&2
	fi
}

targets=$*
[ -n "$targets" ] || targets=$(ls fuzz/fuzz_*.c | sed 's|fuzz/fuzz_\(.*\)\.c|\1|')
found=0
for t in $targets; do
	bin=build/fuzz/fuzz_$t
	[ -x "$bin" ] || { echo "fuzz: $bin is not built (make fuzz-build)" >&2; exit 100; }
	work=build/fuzz/corpus/$t
	art=build/fuzz/artifacts/$t
	mkdir -p "$work" "$art" "fuzz/corpus/$t"
	log=build/fuzz/$t.log
	t0=$(date +%s)
	nice -n "$nice" "$bin" -max_len="$(max_len "$t")" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art/" \
		"$work" "fuzz/corpus/$t" >"$log" 2>&1
	rc=$?
	took=$(($(date +%s) - t0))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	if [ "$rc" -eq 0 ]; then
		verdict=OK
	else
		found=1
		verdict="CRASH (exit $rc: $(ls -t "$art" | head -1), log $log)"
	fi
	[ "$merge" = 1 ] && merge_into_corpus "$t" "$bin" "$work" "$log"
	echo "$t: ${execs:-?} execs in ${took} s, corpus $(ls "fuzz/corpus/$t" | wc -l) files, $verdict"
done
exit $found
