#!/usr/bin/env python3
"""Event latency: kubelet change -> sink-stdout line. kubelet-replay serves a
two-step scenario (step 0 healthy, step 1 /healthz?verbose failing with 500)
over the 110-pod node; collector-healthz polls at INTERVAL (default 1 s),
the analyzer's NodeNotReady (for=0s, resolve_after=0s) fires and resolves, sink-stdout
prints. Each of N transitions is made with POST /replay/step; the latency is
from that POST to the sink's line. Target: interval + 20 ms.
usage: latency.py BIN_DIR [N]"""
import json
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))



def interval_ms(text):
    """'1s', '500ms', '2m' as milliseconds (what the collectors' --interval takes)."""
    for suffix, scale in (("ms", 1), ("s", 1000), ("m", 60000)):
        if text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * scale)
    return int(float(text) * 1000)

def main():
    bindir = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    interval = os.environ.get("INTERVAL", "1s")
    tmp = tempfile.mkdtemp()
    procs = []
    try:
        subprocess.run([sys.executable, os.path.join(HERE, "mknode.py"), tmp + "/base"],
                       check=True, stdout=subprocess.DEVNULL)
        os.makedirs(tmp + "/step-000")
        os.makedirs(tmp + "/step-001")
        with open(tmp + "/step-001/healthz_verbose.txt", "w") as f:
            f.write("[+]ping ok\n[-]log failed: reason withheld\n[+]syncloop ok\nhealthz check failed\n")
        with open(tmp + "/step-001/healthz_verbose.txt.status", "w") as f:
            f.write("500\n")
        rp = subprocess.Popen([bindir + "/kubelet-replay", "--scenario", tmp, "--loop"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        procs.append(rp)
        url = rp.stdout.readline().strip()
        env = dict(os.environ, NRO_RUN_DIR=tmp + "/run", NRO_KUBELET_URL=url, NRO_NODE_NAME="n110")
        for args in (["analyzer"], ["collector-healthz", "--interval", interval]):
            procs.append(subprocess.Popen([bindir + "/" + args[0]] + args[1:], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        sink = subprocess.Popen([bindir + "/sink-stdout", "-f", "json"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        procs.append(sink)
        sel = selectors.DefaultSelector()
        sel.register(sink.stdout, selectors.EVENT_READ)
        time.sleep(3)  # every process up, a few healthy polls made
        lat = []
        for i in range(n):
            want = "firing" if i % 2 == 0 else "resolved"
            urllib.request.urlopen(urllib.request.Request(url + "/replay/step", method="POST"),
                                   timeout=5).read()
            t0 = time.monotonic()
            while True:
                if not sel.select(timeout=30):
                    print("latency: no %s NodeNotReady within 30 s" % want)
                    return 1
                line = sink.stdout.readline()
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                if os.environ.get("DEBUG"):
                    print(line.strip()[:200])
                if e.get("type") == "NodeNotReady" and e.get("state") == want:
                    lat.append(time.monotonic() - t0)
                    break
        ms = [x * 1000 for x in lat]
        print("event latency, kubelet change -> sink-stdout line, collector-healthz every %s: "
              "%s ms (max %.0f ms; target interval + 20 ms)"
              % (interval, " ".join("%.0f" % x for x in ms), max(ms)))
        subprocess.call([os.path.join(os.path.dirname(os.path.abspath(__file__)), "target"),
                         "event latency, ms", "%.0f" % max(ms),
                         "%d" % (interval_ms(interval) + 20), "le"])
        return 0
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
