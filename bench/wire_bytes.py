#!/usr/bin/env python3
"""Reads framed records (pipe framing, docs/wire-format.md) on stdin; prints
'SAMPLES METRIC_BYTES RING_BYTES': metric entries, bytes of the metric
records, and what every record costs in the analyzer's ring (a 24-byte
header, the record padded to 8: docs/ring.md)."""
import struct
import sys

data = sys.stdin.buffer.read()
i = samples = mbytes = ring = 0
while i + 4 <= len(data):
    n = struct.unpack(">I", data[i:i + 4])[0]
    rec = data[i + 4:i + 4 + n]
    if len(rec) < 10:
        break
    if rec[0] == ord("M"):
        samples += struct.unpack(">I", rec[6:10])[0]
        mbytes += n
    ring += 24 + (n + 7) // 8 * 8
    i += 4 + n
print(samples, mbytes, ring)
