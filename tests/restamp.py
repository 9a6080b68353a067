#!/usr/bin/env python3
"""Shifts the timestamp of every record of a framed record stream (stdin to
stdout; docs/wire-format.md: a 4-byte big-endian length, then the record,
whose header holds ts_ms as a big-endian int64 at byte 18) by argv[1] ms."""
import struct
import sys

TS_AT = 18


def main():
    shift = int(sys.argv[1])
    data = sys.stdin.buffer.read()
    out = bytearray()
    i = 0
    while i + 4 <= len(data):
        (n,) = struct.unpack_from(">I", data, i)
        rec = bytearray(data[i + 4:i + 4 + n])
        if len(rec) != n or n < TS_AT + 8 or rec[1:4] != b"NRO":
            sys.exit("restamp.py: not a framed record stream")
        (ts,) = struct.unpack_from(">q", rec, TS_AT)
        struct.pack_into(">q", rec, TS_AT, ts + shift)
        out += data[i:i + 4] + rec
        i += 4 + n
    sys.stdout.buffer.write(bytes(out))


if __name__ == "__main__":
    main()
