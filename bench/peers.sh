#!/bin/sh
# Side by side in one run, every poller at 1 s against the same kubelet-replay:
# collector-summary vs collectd 5 curl_json on /stats/summary, and
# collector-cadvisor vs Prometheus scraping /metrics/cadvisor. CPU per poll
# from every thread's /proc/PID/task/*/schedstat over WINDOW seconds, PSS
# from smaps_rollup at the end. NODE=v1.34 (default: the real 24-pod
# capture) or NODE=110 (bench/mknode.py's synthetic node).
# Target (DESIGN.md): ours at least 5x cheaper than both.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${NRO_BIN:-$top/bin}
window=${WINDOW:-60}
tmp=$(mktemp -d)
pids="" rp=""
trap 'for p in $pids $rp; do kill $p 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"' EXIT
sh "$top/bench/deps.sh"
if [ "${NODE:-v1.34}" = 110 ]; then
	python3 "$top/bench/mknode.py" "$tmp/node" >/dev/null
else
	mkdir "$tmp/node" && cp "${NRO_FIXTURES:-$top/../shared/fixtures/kubelet}/v1.34"/* "$tmp/node/"
fi
"$bin/kubelet-replay" --dir "$tmp/node" >"$tmp/url" 2>/dev/null &
rp=$!
until [ -s "$tmp/url" ]; do sleep 0.05; done
url=$(head -n1 "$tmp/url")
hostport=${url#http://}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$bin/collector-summary" --kubelet "$url" --node n1 --interval 1s -o - >"$tmp/summary.out" 2>/dev/null &
ours_s=$! pids="$pids $!"
"$bin/collector-cadvisor" --kubelet "$url" --node n1 --interval 1s -o - >"$tmp/cadvisor.out" 2>/dev/null &
ours_c=$! pids="$pids $!"

mkdir "$tmp/csv"
cat >"$tmp/collectd.conf" <<CONF
Interval 1
BaseDir "$tmp"
PIDFile "$tmp/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin logfile
<Plugin logfile>
  File "$tmp/collectd.log"
</Plugin>
LoadPlugin curl_json
LoadPlugin csv
<Plugin csv>
  DataDir "$tmp/csv"
</Plugin>
<Plugin curl_json>
  <URL "$url/stats/summary">
    Instance "summary"
    <Key "node/cpu/usageNanoCores">
      Type "gauge"
    </Key>
    <Key "node/memory/workingSetBytes">
      Type "gauge"
    </Key>
    <Key "pods/*/cpu/usageNanoCores">
      Type "gauge"
    </Key>
    <Key "pods/*/memory/workingSetBytes">
      Type "gauge"
    </Key>
    <Key "pods/*/containers/*/cpu/usageNanoCores">
      Type "gauge"
    </Key>
    <Key "pods/*/containers/*/memory/workingSetBytes">
      Type "gauge"
    </Key>
  </URL>
</Plugin>
CONF
collectd -f -C "$tmp/collectd.conf" >/dev/null 2>&1 &
peer_s=$! pids="$pids $!"

pport=$(free_port)
cat >"$tmp/prometheus.yml" <<CONF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: cadvisor
    metrics_path: /metrics/cadvisor
    static_configs:
      - targets: ["$hostport"]
CONF
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
	--web.listen-address="127.0.0.1:$pport" >/dev/null 2>&1 &
peer_c=$! pids="$pids $!"

sleep 5 # past startup and the first polls
cpu() { cat /proc/$1/task/*/schedstat 2>/dev/null | awk '{s+=$1} END{printf "%.0f", s}'; }
polls_ours() { "$bin/nro-dump" -k H <"$1" 2>/dev/null | wc -l; }
c0_os=$(cpu $ours_s) c0_oc=$(cpu $ours_c) c0_ps=$(cpu $peer_s) c0_pc=$(cpu $peer_c)
n0_os=$(polls_ours "$tmp/summary.out") n0_oc=$(polls_ours "$tmp/cadvisor.out")
sleep "$window"
c1_os=$(cpu $ours_s) c1_oc=$(cpu $ours_c) c1_ps=$(cpu $peer_s) c1_pc=$(cpu $peer_c)
n1_os=$(polls_ours "$tmp/summary.out") n1_oc=$(polls_ours "$tmp/cadvisor.out")
# Prometheus counts its own scrapes; collectd polls once a second
scrapes=$(curl -s "http://127.0.0.1:$pport/api/v1/query" \
	--data-urlencode "query=count_over_time(up[${window}s])" | jq -r '.data.result[0].value[1] // 0')
pss() { awk '/^Pss:/{print $2}' /proc/$1/smaps_rollup; }
report() { # name cpu_ns polls pss_kb
	awk -v n="$1" -v c="$2" -v p="$3" -v k="$4" 'BEGIN{
		printf "  %-34s %7.3f ms CPU per poll over %3d polls, PSS %6d kB\n", n, c / 1e6 / p, p, k }'
}
echo "pollers side by side on ${NODE:-v1.34} ($(wc -c <"$tmp/node/stats_summary.json") B summary, $(wc -c <"$tmp/node/metrics_cadvisor.txt") B cadvisor), 1 s interval, ${window}s window:"
report "collector-summary" $((c1_os - c0_os)) $((n1_os - n0_os)) "$(pss $ours_s)"
report "collectd curl_json /stats/summary" $((c1_ps - c0_ps)) "$window" "$(pss $peer_s)"
report "collector-cadvisor" $((c1_oc - c0_oc)) $((n1_oc - n0_oc)) "$(pss $ours_c)"
report "prometheus /metrics/cadvisor" $((c1_pc - c0_pc)) "${scrapes%.*}" "$(pss $peer_c)"
awk -v a=$((c1_os - c0_os)) -v an=$((n1_os - n0_os)) -v b=$((c1_ps - c0_ps)) -v bn="$window" \
	-v c=$((c1_oc - c0_oc)) -v cn=$((n1_oc - n0_oc)) -v d=$((c1_pc - c0_pc)) -v dn="${scrapes%.*}" 'BEGIN{
	printf "  collectd / ours: %.1fx; prometheus / ours: %.1fx (target 5x each)\n",
		(b / bn) / (a / an), (d / dn) / (c / cn) }' | tee "$tmp/ratios"
read -r _ _ _ r_collectd _ _ _ r_prom _ <"$tmp/ratios"
"$top/bench/target" "CPU per poll, collectd / collector-summary" "${r_collectd%x;}" 5 ge
"$top/bench/target" "CPU per poll, Prometheus / collector-cadvisor" "${r_prom%x}" 5 ge
[ -s "$tmp/collectd.log" ] && grep -i error "$tmp/collectd.log" | head -n 3 || true
