#!/bin/sh
# make bench: every benchmark in bench/, each printing its figures next to
# the design's targets, then one summary: each figure against its target,
# met or missed by how much, and why a missed one is missed (bench/why.tsv).
# Nothing here is part of make test.
cd "$(dirname "$0")/.."
NRO_BENCH_TARGETS=$(mktemp)
export NRO_BENCH_TARGETS
trap 'rm -f "$NRO_BENCH_TARGETS"' EXIT
for b in bench/*.sh; do
	[ "$(basename "$b")" = run.sh ] && continue
	echo "== $b"
	sh "$b" || echo "$b: failed ($?)"
done
echo "== the design's targets (DESIGN.md \"Performance targets\"), from the runs above"
sh bench/summary "$NRO_BENCH_TARGETS"
