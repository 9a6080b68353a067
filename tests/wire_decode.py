#!/usr/bin/env python3
"""An independent decoder of node-runtime-observer records, written from
docs/wire-format.md alone (it shares no code with lib/wire/record.c). Reads a
framed stream on stdin and prints one JSON object per entry, with the same
fields nro-dump prints, so the tests can compare the two.
Exit 1 on any malformed record (the reason goes to stderr)."""
import datetime
import json
import math
import struct
import sys

KINDS = {0x4D: "metric", 0x53: "state", 0x48: "health", 0x58: "error", 0x45: "event"}
MTYPES = ["gauge", "counter", "untyped", "histogram", "summary"]
OKINDS = ["", "Node", "Pod", "Container", "Volume", "Service"]
HEALTH = ["ok", "degraded", "failed"]
ERRORS = ["other", "connect", "timeout", "tls", "auth", "http", "too_large", "parse", "truncated",
          "not_served"]
SEV = ["info", "warning", "critical"]
STATES = ["firing", "resolved"]
TS_MAX = 253402300799999


class Bad(Exception):
    pass


class Cur:
    def __init__(self, b):
        self.b, self.i = b, 0
        self.strings = None  # version 2: the message's string table

    def take(self, n):
        if self.i + n > len(self.b):
            raise Bad("runs past the end")
        v = self.b[self.i:self.i + n]
        self.i += n
        return v

    def u8(self): return self.take(1)[0]
    def u16(self): return struct.unpack(">H", self.take(2))[0]
    def u32(self): return struct.unpack(">I", self.take(4))[0]
    def u64(self): return struct.unpack(">Q", self.take(8))[0]
    def i64(self): return struct.unpack(">q", self.take(8))[0]
    def f64(self): return struct.unpack(">d", self.take(8))[0]

    def str(self):
        if self.strings is not None:
            i = self.var()
            if i >= len(self.strings):
                raise Bad("string index past the table")
            return self.strings[i]
        s = self.take(self.u16())
        if b"\0" in s:
            raise Bad("NUL in string")
        return s.decode("utf-8", "replace")

    def var(self):
        """Unsigned LEB128, at most 64 bits, in its shortest form."""
        v, shift = 0, 0
        while True:
            b = self.u8()
            v |= (b & 0x7F) << shift
            if not b & 0x80:
                if b == 0 and shift:
                    raise Bad("varint not shortest")
                break
            shift += 7
            if shift > 63:
                raise Bad("varint too long")
        if v >= 1 << 64:
            raise Bad("varint overflows")
        return v

    def table(self):
        n = self.var()
        if n < 2 or n * 4 > len(self.b) - self.i:
            raise Bad("string table size")
        ends = struct.unpack(">%dI" % n, self.take(4 * n))
        blob, prev, out = None, 0, []
        for e in ends:
            if e < prev or e - prev > 65535:
                raise Bad("string table order")
            prev = e
        blob = self.take(prev)
        if b"\0" in blob:
            raise Bad("NUL in string")
        prev = 0
        for e in ends:
            out.append(blob[prev:e].decode("utf-8", "replace"))
            prev = e
        self.strings = out
        self.ents = self.i

    def form(self, tag):
        """A version 2 number: 0 binary64, 1 zero, 2/3 +/- integer, 4 binary32."""
        if tag == 0:
            return self.f64()
        if tag == 1:
            return 0.0
        if tag in (2, 3):
            n = self.var()
            if not 1 <= n <= 2**53:
                raise Bad("integer out of range")
            return float(n) if tag == 2 else -float(n)
        if tag == 4:
            return struct.unpack(">f", self.take(4))[0]
        raise Bad("number form")

    def num(self):
        if self.strings is None:
            return self.f64()
        return self.form(self.u8())

    def uvar(self, fixed, limit):
        """A field that is fixed-width in version 1 and a varint in 2."""
        if self.strings is None:
            return fixed()
        v = self.var()
        if v > limit:
            raise Bad("out of range")
        return v

    def since(self):
        if self.strings is None:
            return self.ts()
        v = self.var()
        if v > TS_MAX:
            raise Bad("timestamp out of range")
        return v

    def ts(self):
        v = self.i64()
        if not 0 <= v <= TS_MAX:
            raise Bad("timestamp out of range")
        return v

    def enum(self, table, width=1):
        v = self.u8() if width == 1 or self.strings is not None else self.u16()
        if v >= len(table):
            raise Bad("enum out of range")
        return table[v]

    def attrs(self):
        if self.strings is None:
            n = self.u16()
            if n > 64:
                raise Bad("too many attributes")
            return self.pairs(n)
        here = self.i
        n = self.var()
        if n <= 64:
            return self.pairs(n)
        # 65 + offset from the first entry of an earlier inline list
        at = self.ents + n - 65
        if at >= here:
            raise Bad("attribute back-reference not before itself")
        back = Cur(self.b[:here])
        back.i, back.strings = at, self.strings
        n = back.var()
        if n > 64:
            raise Bad("attribute back-reference to a reference")
        return back.pairs(n)

    def pairs(self, n):
        out = {}
        for _ in range(n):
            k = self.str()
            if not k:
                raise Bad("empty key")
            out[k] = self.str()
        return out

    def obj(self):
        kind = self.enum(OKINDS)
        o = {"kind": kind}
        for f in ("namespace", "pod", "container", "name"):
            s = self.str()
            if s:
                o[f] = s
        return o


def iso(ms):
    t = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


def num(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return int(v) if v == int(v) and abs(v) < 2**53 else v


def finite(v):
    if not math.isfinite(v):
        raise Bad("NaN or infinite")
    return v


def decode(b):
    c = Cur(b)
    kind = c.u8()
    if kind not in KINDS:
        raise Bad("kind")
    if c.take(3) != b"NRO":
        raise Bad("magic")
    version = c.u8()
    if version not in (1, 2) or c.u8() != 0:
        raise Bad("version/flags")
    count, seq, ts = c.u32(), c.u64(), c.ts()
    if version == 1:
        source, node = c.str(), c.str()
    else:
        c.table()
        source, node = c.strings[0], c.strings[1]
    out = []
    for _ in range(count):
        e = {"kind": KINDS[kind], "ts": iso(ts), "seq": seq, "node": node, "source": source}
        k = KINDS[kind]
        if k == "metric":
            name = c.str()
            if not name:
                raise Bad("empty name")
            unit = c.str()
            if version == 1:
                mtype, value, sts = c.enum(MTYPES), c.f64(), c.i64()
            else:
                head = c.u8()
                if head & 7 >= len(MTYPES) or head & 0x80:
                    raise Bad("metric type")
                mtype, value, sts = MTYPES[head & 7], c.form(head >> 3 & 7), 0
                if head & 0x40:
                    z = c.var()
                    sts = ts + ((z >> 1) ^ -(z & 1))
                    if not 0 <= sts <= TS_MAX:
                        raise Bad("ts")
            e.update(name=name, unit=unit, type=mtype, value=num(value))
            if sts and not 0 <= sts <= TS_MAX:
                raise Bad("ts")
            if sts:
                e["ts"] = iso(sts)
            e["attrs"] = c.attrs()
        elif k == "state":
            e["object"] = c.obj()
            e["key"] = c.str()
            if not e["key"]:
                raise Bad("empty key")
            e.update(value=c.str(), num=num(finite(c.num())))
            since = c.since()
            if since:
                e["since"] = iso(since)
            e["attrs"] = c.attrs()
        elif k == "health":
            e["status"] = c.enum(HEALTH)
            e["http_status"] = c.uvar(c.u16, 599)
            e.update(interval_ms=c.uvar(c.u32, 2**32 - 1), duration_us=c.uvar(c.u32, 2**32 - 1),
                     bytes=c.uvar(c.u64, 2**64 - 1), target=c.str(), message=c.str())
        elif k == "error":
            e["code"] = c.enum(ERRORS, 2)
            e.update(http_status=c.uvar(c.u16, 599), target=c.str(), message=c.str())
        else:
            e["type"] = c.str()
            if not e["type"]:
                raise Bad("empty type")
            e.update(severity=c.enum(SEV), state=c.enum(STATES))
            flags = c.u8()
            if flags & ~7:
                raise Bad("flags")
            e["object"] = c.obj()
            v, t = finite(c.num()), finite(c.num())
            since = c.since()
            e["message"] = c.str()
            if flags & 1:
                e["value"] = num(v)
            if flags & 2:
                e["threshold"] = num(t)
            if since:
                e["since"] = iso(since)
            if flags & 4:
                e["replay"] = True
            e["attrs"] = c.attrs()
        out.append(e)
    if c.i != len(b):
        raise Bad("trailing bytes")
    return out


def main():
    data = sys.stdin.buffer.read()
    i, status = 0, 0
    while i < len(data):
        if i + 4 > len(data):
            print("wire_decode: truncated frame header", file=sys.stderr)
            return 1
        n = struct.unpack(">I", data[i:i + 4])[0]
        if n == 0 or n > 16 << 20 or i + 4 + n > len(data):
            print("wire_decode: bad or truncated frame", file=sys.stderr)
            return 1
        try:
            for e in decode(data[i + 4:i + 4 + n]):
                print(json.dumps(e, sort_keys=True, separators=(",", ":")))
        except (Bad, struct.error) as x:
            print("wire_decode: malformed record: %s" % x, file=sys.stderr)
            status = 1
        i += 4 + n
    return status


if __name__ == "__main__":
    sys.exit(main())
