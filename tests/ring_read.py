#!/usr/bin/env python3
"""An independent reader of the analyzer's ring, written from docs/ring.md
alone: prints every record the ring holds, oldest first, as a framed record
stream (docs/wire-format.md, "Pipe framing") on stdout, so
`ring_read.py RING | nro-dump` can be compared with `nro-dump --ring RING`.
With --info it prints the header fields instead (and how many of the
records held are deflated). It reads a ring that is not
being written (it does not use fences); exit 1 on a malformed ring."""
import struct
import sys
import zlib


def fail(msg):
    sys.stderr.write("ring_read.py: %s\n" % msg)
    sys.exit(1)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        fail("usage: ring_read.py [--info] RING")
    data = open(args[0], "rb").read()
    if len(data) < 256:
        fail("shorter than the header")
    # byte order: the field at 56 holds 0x01020304 in the writer's order
    order = "<" if struct.unpack_from("<I", data, 56)[0] == 0x01020304 else ">"
    (magic, version, hdr_size, epoch, data_size, nslots, data_off, index_off,
     bom, rec_hdr) = struct.unpack_from(order + "8sIIQQQQQII", data, 0)
    if magic != b"NRORING\0" or version not in (1, 2) or hdr_size != 256 or bom != 0x01020304 \
            or rec_hdr != 24:
        fail("bad magic, version or byte order")
    if data_size < 65536 or data_size & (data_size - 1) or nslots != data_size // 128 \
            or data_off != 256 or index_off != 256 + data_size \
            or len(data) != 256 + data_size + 16 * nslots or epoch == 0:
        fail("inconsistent sizes")
    (reserved,) = struct.unpack_from(order + "Q", data, 64)
    head, tail = struct.unpack_from(order + "QQ", data, 128)
    if "--info" in sys.argv:
        deflated = 0
        for seq in range(tail, head + 1):
            sseq, pos = struct.unpack_from(order + "QQ", data, index_off + (seq % nslots) * 16)
            if sseq == seq:
                (flags,) = struct.unpack_from(order + "I", data, data_off + pos % data_size + 20)
                deflated += (flags >> 31) & 1
        print("epoch %016x data_size %d nslots %d head %d tail %d reserved %d deflated %d"
              % (epoch, data_size, nslots, head, tail, reserved, deflated))
        return
    out = sys.stdout.buffer
    for seq in range(tail, head + 1):
        sseq, pos = struct.unpack_from(order + "QQ", data, index_off + (seq % nslots) * 16)
        if sseq != seq or reserved > pos + data_size:
            sys.stderr.write("ring_read.py: seq %d lost\n" % seq)
            continue
        off = pos % data_size
        rseq, rpos, length, flags = struct.unpack_from(order + "QQII", data, data_off + off)
        raw = flags & 0x7fffffff
        if rseq != seq or rpos != pos or not 1 <= length <= data_size // 4 \
                or off + 24 + length > data_size \
                or (flags and (not flags & 0x80000000 or not 1 <= raw <= data_size // 4)):
            fail("seq %d: record header does not match the index" % seq)
        start = data_off + off + 24
        payload = data[start:start + length]
        if flags:
            # deflated: a zlib stream of exactly length bytes, inflating to raw
            z = zlib.decompressobj()
            try:
                payload = z.decompress(payload, raw + 1)
            except zlib.error as e:
                fail("seq %d: deflated record does not inflate: %s" % (seq, e))
            if len(payload) != raw or not z.eof or z.unused_data or z.unconsumed_tail:
                fail("seq %d: deflated record is not %d bytes" % (seq, raw))
        out.write(struct.pack(">I", len(payload)))
        out.write(payload)


if __name__ == "__main__":
    main()
