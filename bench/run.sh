#!/bin/sh
# make bench: every benchmark in bench/, each printing its figures next to
# the design's targets. Nothing here is part of make test.
cd "$(dirname "$0")/.."
for b in bench/*.sh; do
	[ "$(basename "$b")" = run.sh ] && continue
	echo "== $b"
	sh "$b" || echo "$b: failed ($?)"
done
