#!/bin/sh
# collector-systemd and collector-runtime against the test stand-ins (a
# private dbus-daemon with tests/systemd_standin.py, tests/cri_server.py):
#  - push latency: from the stand-in emitting PropertiesChanged to the
#    record's timestamp, over N flips of kubelet.service (median, max);
#  - CPU per collector-runtime poll (Version + Status) from its own
#    utime+stime over N polls at 20 ms, and its PSS;
#  - collector-systemd's CPU and PSS after the N flips.
# Figures, not pass/fail. Targets (DESIGN.md): an event within its poll
# interval + 20 ms; 16 MB PSS for the whole pipeline.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${NRO_BIN:-$top/bin}
sd=$top/../shared/fixtures/host/systemd
py=/usr/bin/python3
n=${FLIPS:-100}
polls=${POLLS:-200}
tmp=$(mktemp -d)
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
hz=$(getconf CLK_TCK)
cpu_ms() { awk -v hz="$hz" '{print ($14 + $15) * 1000 / hz}' "/proc/$1/stat"; }
pss_kb() { awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup"; }
wait_line() { i=0; until grep -qE "$2" "$1" 2>/dev/null; do i=$((i + 1)); [ $i -lt 400 ] || return 1; sleep 0.025; done; }

# ---- collector-systemd
cat >"$tmp/bus.conf" <<CONF
<busconfig><type>system</type><listen>unix:path=$tmp/bus.sock</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/>
<allow send_type="method_call"/><allow send_type="signal"/><allow send_type="method_return"/><allow send_type="error"/>
<allow receive_type="method_call"/><allow receive_type="signal"/><allow receive_type="method_return"/><allow receive_type="error"/>
</policy></busconfig>
CONF
dbus-daemon --config-file="$tmp/bus.conf" --nofork --print-address=1 >"$tmp/addr" 2>/dev/null &
pids="$pids $!"
wait_line "$tmp/addr" unix
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$tmp/bus.sock
$py "$top/tests/systemd_standin.py" --unit "kubelet.service=$sd/kubelet-running-NRestarts29-kata-containers2075.partial.show" \
	--set kubelet.service:LoadState=loaded --set kubelet.service:ActiveState=active \
	--set kubelet.service:SubState=running --unit "containerd.service=$sd/hotsos-k8s-master-containerd.service.show" \
	>"$tmp/sa.out" 2>/dev/null &
pids="$pids $!"
wait_line "$tmp/sa.out" ready
"$bin/collector-systemd" -o - --bus "$DBUS_SYSTEM_BUS_ADDRESS" --interval 1h 2>/dev/null >"$tmp/sd.bin" &
sdpid=$!
pids="$pids $sdpid"
sleep 0.5
i=0
while [ $i -lt "$n" ]; do
	st=$([ $((i % 2)) -eq 0 ] && echo failed || echo active)
	$py "$top/tests/systemd_standin.py" --update kubelet.service ActiveState=$st
	i=$((i + 1))
done
sleep 0.5
sd_cpu=$(cpu_ms $sdpid)
sd_pss=$(pss_kb $sdpid)
kill $sdpid
wait $sdpid 2>/dev/null || true
"$bin/nro-dump" <"$tmp/sd.bin" 2>/dev/null >"$tmp/sd.jl" || true
$py - "$tmp/sa.out" "$tmp/sd.jl" <<'PY'
import datetime, json, sys
# record timestamps are whole milliseconds: compare like with like
emitted = [int(float(l.split()[2])) for l in open(sys.argv[1]) if l.startswith("emitted")]
recs = [json.loads(l) for l in open(sys.argv[2])]
ts = [datetime.datetime.strptime(r["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
      tzinfo=datetime.timezone.utc).timestamp() * 1000
      for r in recs if r["kind"] == "state" and r["object"]["name"] == "kubelet.service"][1:]
lat = sorted(t - e for e, t in zip(emitted, ts))
if lat:
    print("collector-systemd push latency (ms resolution): median %.0f ms, max %.0f ms over %d flips (%d states)"
          % (lat[len(lat) // 2], lat[-1], len(emitted), len(ts)))
PY
echo "collector-systemd CPU ${sd_cpu} ms for the resync and $n pushes; PSS ${sd_pss} kB"

# ---- collector-runtime
protoc-c --proto_path="$top/lib" --descriptor_set_out="$tmp/cri.desc" net/cri.proto
echo ready >"$tmp/mode"
$py "$top/tests/cri_server.py" --socket "$tmp/cri.sock" --descriptors "$tmp/cri.desc" --mode-file "$tmp/mode" >"$tmp/cri.out" 2>/dev/null &
pids="$pids $!"
wait_line "$tmp/cri.out" listening
"$bin/collector-runtime" -o - -r "unix://$tmp/cri.sock" --interval 20ms 2>/dev/null >"$tmp/rt.bin" &
rtpid=$!
pids="$pids $rtpid"
sleep "$(awk "BEGIN{print $polls*0.02 + 0.5}")"
rt_cpu=$(cpu_ms $rtpid)
rt_pss=$(pss_kb $rtpid)
kill $rtpid
wait $rtpid 2>/dev/null || true
np=$("$bin/nro-dump" -k H <"$tmp/rt.bin" 2>/dev/null | wc -l)
med=$("$bin/nro-dump" <"$tmp/rt.bin" 2>/dev/null | jq -r 'select(.name=="cri.call.duration" and .attrs."rpc.method"=="Status") | .value' |
	sort -n | awk '{v[NR]=$1} END {printf "%.2f", v[int((NR+1)/2)]*1000}')
awk -v c="$rt_cpu" -v n="$np" -v p="$rt_pss" -v m="$med" 'BEGIN{
	printf "collector-runtime %.3f ms CPU per poll (Version + Status) over %d polls; Status call median %s ms; PSS %d kB\n", c / n, n, m, p }'
