#!/usr/bin/env python3
"""Reads framed records (pipe framing, docs/wire-format.md) on stdin; prints
'SAMPLES METRIC_BYTES RING_BYTES RING_DEFLATED': metric entries, bytes of the
metric records, what every record would cost in the analyzer's ring kept as
it is (a 24-byte header, the record padded to 8: docs/ring.md), and what it
costs as the ring's writer keeps it (lib/wire/ring.c: deflated with zlib
level 1, an 8 KiB window and memLevel 6 when 128 bytes or more and smaller
so)."""
import struct
import sys
import zlib


def stored(rec):
    n = len(rec)
    if n >= 128:
        z = zlib.compressobj(1, zlib.DEFLATED, 13, 6)
        d = z.compress(rec) + z.flush()
        if (len(d) + 7) // 8 < (n + 7) // 8:
            n = len(d)
    return 24 + (n + 7) // 8 * 8


data = sys.stdin.buffer.read()
i = samples = mbytes = ring = ringz = 0
while i + 4 <= len(data):
    n = struct.unpack(">I", data[i:i + 4])[0]
    rec = data[i + 4:i + 4 + n]
    if len(rec) < 10:
        break
    if rec[0] == ord("M"):
        samples += struct.unpack(">I", rec[6:10])[0]
        mbytes += n
    ring += 24 + (n + 7) // 8 * 8
    ringz += stored(rec)
    i += 4 + n
print(samples, mbytes, ring, ringz)
