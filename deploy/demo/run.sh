#!/bin/sh
# make demo: the whole pipeline under a private s6-svscan, against
# kubelet-replay playing a scripted incident (deploy/demo/crashloop-oom):
# collectors (healthz, pods, summary) -> analyzer -> sink-stdout on this
# terminal. Ctrl-C stops everything. DEMO_SECONDS=N stops after N seconds;
# DEMO_KEEP=1 keeps the temporary directory (logs, ring) and names it.
#
# make run: the same against a real kubelet, every collector, default pace:
#   KUBELET=https://NODE:10250 TOKEN_FILE=F CA_FILE=F (or INSECURE=1)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${NRO_BIN:-$top/bin}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/nro-demo.XXXXXX")
replay_pid=""
scan_pid=""

cleanup() {
	trap - INT TERM EXIT
	if [ -n "$scan_pid" ]; then
		s6-svscanctl -t "$tmp/svc" 2>/dev/null || kill "$scan_pid" 2>/dev/null || true
		wait "$scan_pid" 2>/dev/null || true
	fi
	[ -n "$replay_pid" ] && { kill "$replay_pid" 2>/dev/null || true; wait "$replay_pid" 2>/dev/null || true; }
	if [ "${DEMO_KEEP:-0}" = 1 ]; then
		echo "demo: stopped; nothing left running; logs kept in $tmp/log (remove $tmp when done)"
	else
		rm -rf "$tmp"
		echo "demo: stopped; nothing left running (DEMO_KEEP=1 keeps the logs)"
	fi
}
trap cleanup EXIT
trap 'exit 0' INT TERM

keep=" (removed at the end; DEMO_KEEP=1 keeps them)"
[ "${DEMO_KEEP:-0}" = 1 ] && keep=" (kept: DEMO_KEEP=1)"
services="analyzer collector-healthz collector-pods collector-summary sink-stdout"
if [ -n "${KUBELET:-}" ]; then
	url=$KUBELET
	services="analyzer collector-healthz collector-syncloop collector-pods collector-summary
collector-probes collector-configz collector-resource collector-spec collector-cadvisor
collector-metrics sink-stdout"
else
# the embedded kubelet: a new scenario step every 8 seconds
"$bin/kubelet-replay" --scenario "$top/deploy/demo/crashloop-oom" --step-every 8s \
	>"$tmp/replay.url" 2>"$tmp/replay.err" &
replay_pid=$!
i=0
until [ -s "$tmp/replay.url" ]; do
	i=$((i + 1))
	[ $i -gt 200 ] && { echo "demo: kubelet-replay did not start: $(cat "$tmp/replay.err")" >&2; exit 111; }
	sleep 0.05
done
url=$(head -n1 "$tmp/replay.url")
fi

# a private copy of svc/: only the services the scenario has data for
mkdir -p "$tmp/svc/.env" "$tmp/log" "$tmp/run"
for s in $services; do
	cp -R "$top/svc/$s" "$tmp/svc/$s"
done
rm -rf "$tmp/svc/sink-stdout/log" # events go to this terminal, not to a log
env="$tmp/svc/.env"
echo "$bin" >"$env/NRO_BIN"
echo "$tmp/run" >"$env/NRO_RUN_DIR"
echo "$tmp/log" >"$env/NRO_LOG_DIR"
echo "$url" >"$env/NRO_KUBELET_URL"
echo text >"$env/NRO_FORMAT"
if [ -n "${KUBELET:-}" ]; then
	[ -n "${TOKEN_FILE:-}" ] && echo "$TOKEN_FILE" >"$env/NRO_TOKEN_FILE"
	[ -n "${CA_FILE:-}" ] && echo "$CA_FILE" >"$env/NRO_CA_FILE"
	[ -n "${INSECURE:-}" ] && echo 1 >"$env/NRO_INSECURE_SKIP_VERIFY"
	echo "run: pipeline against $url; logs in $tmp/log$keep; Ctrl-C to stop."
else
echo 2s >"$env/NRO_INTERVAL"
# demo pace: resolve a recovered condition after 4s instead of 30s
echo "NodeMemoryPressure.resolve_after=4s,PodCrashLooping.resolve_after=4s" >"$env/NRO_SET"
echo "demo: kubelet-replay at $url playing deploy/demo/crashloop-oom"
echo "demo: step 0: one pod (scraper/e2e-container-creating) is already crash-looping;"
echo "demo: step 1 (8s): a second pod is OOM-killed and crash-loops, and node memory falls"
echo "demo: under the eviction threshold; step 2 (16s): memory recovers."
echo "demo: logs in $tmp/log$keep; Ctrl-C to stop."
fi
echo
s6-svscan "$tmp/svc" &
scan_pid=$!
if [ -n "${DEMO_SECONDS:-}" ]; then
	sleep "$DEMO_SECONDS"
	exit 0
fi
wait "$scan_pid"
