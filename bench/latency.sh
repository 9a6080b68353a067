#!/bin/sh
# Event latency (bench/latency.py): kubelet change -> sink-stdout line.
top=$(cd "$(dirname "$0")/.." && pwd)
exec python3 "$top/bench/latency.py" "${NRO_BIN:-$top/bin}" "${TRANSITIONS:-4}"
