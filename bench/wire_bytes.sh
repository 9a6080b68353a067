#!/bin/sh
# Bytes per metric sample in records and ring retention, on the synthetic
# 110-pod node (bench/mknode.py): one poll of every kubelet collector and
# collector-node (--once -o -), each record's size as published; retention =
# the default ring (8 MiB of data) / what the collectors write into it a
# minute at their default intervals, both as the records are and as the
# ring keeps them (deflated: lib/wire/ring.c, docs/ring.md). The measured
# figure, analyzer output included, is the "ring written" line of
# bench/node110.sh.
# Targets (DESIGN.md): 40 bytes a sample; 15 minutes in the default ring.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${NRO_BIN:-$top/bin}
tmp=$(mktemp -d)
rp=""
trap '[ -n "$rp" ] && kill $rp 2>/dev/null; rm -rf "$tmp"' EXIT
python3 "$top/bench/mknode.py" "$tmp/node" >/dev/null
"$bin/kubelet-replay" --dir "$tmp/node" >"$tmp/url" 2>/dev/null &
rp=$!
until [ -s "$tmp/url" ]; do sleep 0.05; done
url=$(head -n1 "$tmp/url")
ring_size=${NRO_RING_SIZE:-8388608}
# collector and default interval in seconds (their --help)
set -- healthz 10 syncloop 10 pods 15 summary 15 cadvisor 15 resource 15 probes 10 \
	metrics 15 configz 300 spec 300 node 15
ts=0 tb=0 per_min=0 per_min_z=0
printf "%-20s %8s %10s %9s %10s %10s\n" collector samples bytes B/sample ring-B/min deflated
while [ $# -ge 2 ]; do
	k="--kubelet $url"
	[ "$1" = node ] && k="" # the host collector reads /proc, not the kubelet
	# shellcheck disable=SC2086
	"$bin/collector-$1" $k --node n110 --once -o - >"$tmp/out" 2>"$tmp/err" || true
	r=$(python3 "$top/bench/wire_bytes.py" <"$tmp/out")
	read -r s b ring ringz <<-EOF
	$r
	EOF
	pm=$((ring * 60 / $2)) pmz=$((ringz * 60 / $2))
	printf "%-20s %8d %10d %9s %10d %10d\n" "collector-$1" "$s" "$b" \
		"$(awk -v s="$s" -v b="$b" 'BEGIN{ if (s) printf "%.1f", b / s; else print "-" }')" "$pm" "$pmz"
	ts=$((ts + s)) tb=$((tb + b)) per_min=$((per_min + pm)) per_min_z=$((per_min_z + pmz))
	shift 2
done
awk -v s="$ts" -v b="$tb" -v pm="$per_min" -v pmz="$per_min_z" -v rs="$ring_size" 'BEGIN{
	printf "bytes per metric sample: %.1f on average over %d samples (target 40)\n", b / s, s
	printf "ring, records as they are: %.2f MB a minute into the default %.0f MiB ring: %.1f minutes\n",
		pm / 1e6, rs / 1048576, rs / pm
	printf "ring, deflated as the ring keeps them: %.2f MB a minute: %.1f minutes retained (target 15)\n",
		pmz / 1e6, rs / pmz }'
"$top/bench/target" "bytes per metric sample" "$(awk -v s="$ts" -v b="$tb" 'BEGIN{printf "%.1f", b / s}')" 40 le
"$top/bench/target" "ring retention, 110-pod node, minutes" "$(awk -v pmz="$per_min_z" -v rs="$ring_size" 'BEGIN{printf "%.1f", rs / pmz}')" 15 ge
