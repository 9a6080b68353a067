#!/usr/bin/env python3
"""An independent reading of a /proc + /sys tree, compared with what
collector-node published (nro-dump JSON lines), file by file.

  host_expect.py compare PROC SYS RECORDS.jsonl   -> prints mismatches, exit 1 if any
  host_expect.py live RECORDS.jsonl               -> plausibility of a live poll

Written from the kernel's documentation of each file (proc(5),
Documentation/accounting/psi.rst, sysfs-class-net), not from the C code.
"""
import fnmatch
import json
import os
import sys

EXCLUDE = ("lo,veth*,cali*,flannel*,cni*,lxc*,docker*,br-*,virbr*,vxlan*,tunl*,kube-ipvs*,"
           "cilium*,genev*,weave*,vethwe*,datapath,nodelocaldns,tap*,tun*,gke*,azv*,eni*,"
           "vnet*,ifb*,dummy*,cbr0,kube-bridge").split(",")


def read(root, rel):
    try:
        with open(os.path.join(root, rel.lstrip("/")), "rb") as f:
            return f.read().decode()
    except (FileNotFoundError, NotADirectoryError):
        return None


def key(name, attrs):
    return name + "{" + ",".join("%s=%s" % kv for kv in sorted(attrs.items())) + "}"


def expect_cpu(proc, out):
    text = read(proc, "stat")
    if text is None:
        return
    hz = os.sysconf("SC_CLK_TCK")
    names = ["user", "nice", "system", "idle", "wait", "interrupt", "softirq", "steal"]
    for line in text.splitlines():
        f = line.split()
        if not f:
            continue
        if f[0] == "cpu":
            for name, v in zip(names, f[1:9]):
                out[key("system.cpu.time", {"state": name})] = int(v) / hz
        elif f[0] == "procs_running":
            out[key("system.processes.count", {"status": "running"})] = int(f[1])
        elif f[0] == "procs_blocked":
            out[key("system.processes.count", {"status": "blocked"})] = int(f[1])
    ncpu = sum(1 for l in text.splitlines() if l.startswith("cpu") and l[3:4].isdigit())
    if ncpu:
        out[key("system.cpu.logical.count", {})] = ncpu


def expect_load_psi(proc, out):
    text = read(proc, "loadavg")
    if text is not None:
        f = text.split()
        for i, w in enumerate(("1m", "5m", "15m")):
            out[key("system.cpu.load_average." + w, {})] = float(f[i])
        out[key("system.linux.threads.count", {})] = int(f[3].split("/")[1])
    for res in ("cpu", "memory", "io"):
        text = read(proc, "pressure/" + res)
        for line in (text or "").splitlines():
            f = dict(kv.split("=") for kv in line.split()[1:])
            a = {"resource": res, "stall": line.split()[0]}
            out[key("system.pressure.avg10", a)] = float(f["avg10"])
            out[key("system.pressure.stall_time", a)] = int(f["total"])


def expect_memory(proc, out):
    text = read(proc, "meminfo")
    if text is not None:
        m = {}
        for line in text.splitlines():
            name, rest = line.split(":", 1)
            f = rest.split()
            m[name] = int(f[0]) * (1024 if len(f) > 1 and f[1] == "kB" else 1)
        total = m["MemTotal"]
        out[key("system.memory.limit", {})] = total
        parts = {"free": m["MemFree"], "buffered": m.get("Buffers", 0),
                 "cached": m.get("Cached", 0), "slab_reclaimable": m.get("SReclaimable", 0)}
        for state, v in parts.items():
            out[key("system.memory.usage", {"state": state})] = v
        out[key("system.memory.usage", {"state": "used"})] = max(0, total - sum(parts.values()))
        if "MemAvailable" in m:
            out[key("system.linux.memory.available", {})] = m["MemAvailable"]
            out[key("system.memory.utilization", {})] = 1 - m["MemAvailable"] / total
        if "SwapTotal" in m:
            out[key("system.paging.usage", {"state": "used"})] = m["SwapTotal"] - m["SwapFree"]
            out[key("system.paging.usage", {"state": "free"})] = m["SwapFree"]
    text = read(proc, "vmstat")
    for line in (text or "").splitlines():
        if line.split()[0] == "oom_kill":
            out[key("system.linux.memory.oom_kills", {})] = int(line.split()[1])


def expect_limits(proc, out):
    one = {"sys/kernel/pid_max": "system.linux.pid.max",
           "sys/kernel/threads-max": "system.linux.threads.max",
           "sys/net/netfilter/nf_conntrack_count": "system.conntrack.count",
           "sys/net/netfilter/nf_conntrack_max": "system.conntrack.max"}
    for rel, name in one.items():
        text = read(proc, rel)
        if text is not None:
            out[key(name, {})] = int(text.strip())
    text = read(proc, "sys/fs/file-nr")
    if text is not None:
        alloc, free, mx = (int(x) for x in text.split())
        out[key("system.linux.files.open", {})] = alloc - free
        out[key("system.linux.files.max", {})] = mx
    out[key("system.linux.processes.count", {})] = sum(1 for e in os.listdir(proc) if e.isdigit())


def wanted(dev):
    return not any(fnmatch.fnmatchcase(dev, p) for p in EXCLUDE)


def expect_network(proc, sysroot, out, states):
    text = read(proc, "net/dev")
    for line in (text or "").splitlines()[2:]:
        dev, rest = line.split(":", 1)
        dev = dev.strip()
        f = [int(x) for x in rest.split()]
        if not wanted(dev):
            continue
        for name, rx, tx in (("io", 0, 8), ("packets", 1, 9), ("errors", 2, 10), ("dropped", 3, 11)):
            out[key("system.network." + name, {"device": dev, "direction": "receive"})] = f[rx]
            out[key("system.network." + name, {"device": dev, "direction": "transmit"})] = f[tx]
    netdir = os.path.join(sysroot, "class/net")
    for dev in sorted(os.listdir(netdir)) if os.path.isdir(netdir) else []:
        if not wanted(dev):
            continue
        oper = read(netdir, dev + "/operstate").strip()
        try:
            carrier = read(netdir, dev + "/carrier").strip()
        except OSError:
            carrier = "unknown"
        states.add("host.net.link %s %s %d" % (dev, oper, oper == "up" and carrier == "1"))


def compare(proc, sysroot, records):
    want, states = {}, set()
    expect_cpu(proc, want)
    expect_load_psi(proc, want)
    expect_memory(proc, want)
    expect_limits(proc, want)
    expect_network(proc, sysroot, want, states)
    got, got_states = {}, set()
    for line in open(records):
        r = json.loads(line)
        if r["kind"] == "metric":
            got[key(r["name"], r["attrs"])] = r["value"]
        elif r["kind"] == "state" and r["key"] == "host.net.link":
            got_states.add("host.net.link %s %s %d" % (r["attrs"]["device"], r["value"], r["num"]))
    bad = 0
    for k, v in sorted(want.items()):
        g = got.get(k)
        if g is None or abs(g - v) > 1e-9 * max(1.0, abs(v)):
            print("%s: want %r, got %r" % (k, v, g))
            bad += 1
    host_only = ("system.filesystem.", "system.linux.clock.", "system.uptime")
    for k in sorted(set(got) - set(want)):
        if not k.startswith(host_only) and not k.startswith("system.cpu.utilization"):
            print("%s: published %r, not in the files" % (k, got[k]))
            bad += 1
    for s in sorted(states ^ got_states):
        print("link state differs: %s (%s)" % (s, "missing" if s in states else "extra"))
        bad += 1
    print("compared %d metrics, %d link states" % (len(want), len(states)))
    return 1 if bad else 0


def live(records):
    """Values of a poll of this machine: present, and consistent with each other."""
    m, st, bad = {}, {}, []
    for line in open(records):
        r = json.loads(line)
        if r["kind"] == "metric":
            m[key(r["name"], r["attrs"])] = r["value"]
        elif r["kind"] == "state":
            st.setdefault(r["key"], []).append(r)

    def g(name, **a):
        return m.get(key(name, a))

    total = g("system.memory.limit")
    parts = sum(g("system.memory.usage", state=s) or 0
                for s in ("used", "free", "buffered", "cached", "slab_reclaimable"))
    if not total or parts != total:
        bad.append("memory states sum %r != limit %r" % (parts, total))
    if not (0 < g("system.linux.memory.available") <= total):
        bad.append("available not in (0, total]")
    ncpu = os.cpu_count()
    if g("system.cpu.logical.count") != ncpu:
        bad.append("cpu count %r != %d" % (g("system.cpu.logical.count"), ncpu))
    uptime = float(open("/proc/uptime").read().split()[0])
    busy = sum(v for k, v in m.items() if k.startswith("system.cpu.time{"))
    if not (0 < busy <= uptime * ncpu * 1.05 + 1):
        bad.append("cpu time %r not within uptime x cpus" % busy)
    if not (0 < g("system.linux.threads.count") <= g("system.linux.threads.max")):
        bad.append("threads not within threads-max")
    if not (0 < g("system.linux.processes.count") <= g("system.linux.threads.count") + 64):
        bad.append("process count %r implausible" % g("system.linux.processes.count"))
    if not (0 < g("system.linux.files.open") < g("system.linux.files.max")):
        bad.append("open files not within file-max")
    boot = open("/proc/sys/kernel/random/boot_id").read().strip()
    if [s["value"] for s in st.get("host.boot", [])] != [boot]:
        bad.append("boot id differs from /proc")
    if len(st.get("host.clock", [])) != 1:
        bad.append("no clock state")
    v = os.statvfs("/")
    size = v.f_blocks * v.f_frsize
    fs = sum(val for k, val in m.items()
             if k.startswith("system.filesystem.usage{") and "mountpoint=/," in k)
    if fs != size:
        bad.append("filesystem / used+free+reserved %r != size %r" % (fs, size))
    for k, val in m.items():
        if k.startswith("system.cpu.utilization") and not 0 <= val <= 1:
            bad.append("%s = %r" % (k, val))
    for b in bad:
        print(b)
    print("checked %d metrics, %d states" % (len(m), sum(len(x) for x in st.values())))
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3], sys.argv[4]))
    sys.exit(live(sys.argv[2]))
