#!/bin/sh
# make image-test: builds the image archive with build.sh (or takes
# NRO_IMAGE=FILE), unpacks it with umoci, checks what the image holds, then
# starts its entrypoint the way a container runtime would: PID 1 of a new
# PID and mount namespace (unshare), chrooted into the image's root
# filesystem mounted read-only, /run a fresh tmpfs, as uid 65532 with no
# capability and no_new_privs, pointed at a kubelet-replay on the host.
# Events must come out on its stdout (the container log), and SIGTERM to
# PID 1 must stop every process within the 30 s grace period, exit 0.
# Needs root. Prints "image-test: ok" or the first failure (exit 1).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$top/bin
grace=30
fail() { echo "image-test: FAIL: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "needs root (unshare, mount, chroot)"

work=$(mktemp -d "${TMPDIR:-/tmp}/nro-image-test.XXXXXX")
replay_pid=""
pid1=""
cleanup() {
	[ -n "$pid1" ] && kill -KILL "$pid1" 2>/dev/null
	[ -n "$replay_pid" ] && kill "$replay_pid" 2>/dev/null
	wait 2>/dev/null
	umount -R "$work/bundle/rootfs" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

image=${NRO_IMAGE:-}
if [ -z "$image" ]; then
	image=$work/nro-image.tar
	sh "$top/deploy/image/build.sh" "$image" >"$work/build.log" 2>&1 || fail "build: $(tail -5 "$work/build.log")"
	tail -n 1 "$work/build.log"
fi
mkdir "$work/oci"
tar -xf "$image" -C "$work/oci"
umoci unpack --image "$work/oci:latest" "$work/bundle" >/dev/null
root=$work/bundle/rootfs
cfg=$work/bundle/config.json

# ---- what the image holds ----------------------------------------------------
[ "$(jq -r .process.user.uid "$cfg")" = 65532 ] || fail "image user is not 65532"
[ "$(jq -r '.process.args[0]' "$cfg")" = /usr/bin/nro-entrypoint ] || fail "entrypoint: $(jq -c .process.args "$cfg")"
for t in s6-svscan s6-supervise s6-envdir s6-setuidgid setpriv nro-run-tool analyzer collector-pods sink-stdout; do
	[ -x "$root/usr/bin/$t" ] || fail "no /usr/bin/$t in the image"
done
for c in gcc cc ld as make apt; do
	[ -e "$root/usr/bin/$c" ] && fail "the image holds /usr/bin/$c"
done
getcap "$root/usr/bin/collector-kmsg" | grep -q cap_syslog=ep || fail "collector-kmsg lost its file capability"
chroot "$root" /usr/bin/analyzer --version >/dev/null || fail "analyzer does not run in the image (a library missing?)"
echo "image-test: image root filesystem $(du -sk "$root" | cut -f1) KiB, archive $(($(stat -c %s "$image") / 1024)) KiB"

# ---- the pipeline, as a container --------------------------------------------
"$bin/kubelet-replay" --scenario "$top/deploy/demo/crashloop-oom" --step-every 3s >"$work/replay.url" 2>"$work/replay.err" &
replay_pid=$!
i=0
until [ -s "$work/replay.url" ]; do
	i=$((i + 1))
	[ $i -gt 200 ] && fail "kubelet-replay did not start: $(cat "$work/replay.err")"
	sleep 0.05
done
url=$(head -n 1 "$work/replay.url")

# the container's view: read-only root, fresh /run, /dev with the basics
cat >"$work/pid1.sh" <<PID1
set -e
r=$root
mount --bind "\$r" "\$r"
mount -t proc proc "\$r/proc"
mount -t tmpfs -o mode=0755 tmpfs "\$r/run"
mount -t tmpfs -o mode=0755 tmpfs "\$r/dev"
for d in null zero urandom random full; do : >"\$r/dev/\$d"; mount --bind "/dev/\$d" "\$r/dev/\$d"; done
mount -o remount,bind,ro "\$r"
chmod 0777 "\$r/run"
exec chroot "\$r" setpriv --reuid=65532 --regid=65532 --clear-groups --no-new-privs \
	--inh-caps=-all --bounding-set=-all /usr/bin/nro-entrypoint
PID1
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin NRO_KUBELET_URL="$url" NRO_INTERVAL=1s \
	NRO_FORMAT=json NRO_DISABLE="collector-kmsg sink-otel sink-nats collector-systemd collector-runtime" \
	NRO_SET="PodCrashLooping.for=0s" \
	unshare --pid --fork --mount --propagation private sh "$work/pid1.sh" >"$work/out" 2>&1 &
ushare=$!
i=0
while [ -z "$pid1" ] && [ $i -lt 100 ]; do
	pid1=$(pgrep -P "$ushare" || true)
	i=$((i + 1))
	sleep 0.05
done
[ -n "$pid1" ] || fail "no PID 1: $(cat "$work/out")"

i=0
until grep -q '"kind":"event"' "$work/out"; do
	i=$((i + 1))
	kill -0 "$ushare" 2>/dev/null || fail "the container exited: $(tail -20 "$work/out")"
	[ $i -gt 600 ] && fail "no event within 60 s: $(tail -20 "$work/out")"
	sleep 0.1
done
echo "image-test: first event: $(grep -m1 '"kind":"event"' "$work/out" | cut -c1-160)"
[ "$(readlink "/proc/$pid1/exe")" = "$root/usr/bin/s6-svscan" ] || fail "PID 1 is $(readlink "/proc/$pid1/exe"), not s6-svscan"

# every process of the container: not root, no capability
ns=$(readlink "/proc/$pid1/ns/pid")
n=0
for p in /proc/[0-9]*; do
	[ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$ns" ] || continue
	u=$(awk '$1 == "Uid:" { print $2 }' "$p/status" 2>/dev/null) || continue
	e=$(awk '$1 == "CapEff:" { print $2 }' "$p/status" 2>/dev/null)
	[ -z "$u" ] && continue
	[ "$u" = 65532 ] || fail "process $(cat "$p/comm") runs as uid $u"
	[ "$e" = 0000000000000000 ] || fail "process $(cat "$p/comm") holds capabilities $e"
	n=$((n + 1))
done
echo "image-test: $n processes in the container, all uid 65532, no capability"

# PSS of the whole container (the DaemonSet's memory request comes from it)
# after NRO_SOAK seconds (default 20) of polling every second
sleep "${NRO_SOAK:-20}"
tools=0 s6=0
for p in /proc/[0-9]*; do
	[ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$ns" ] || continue
	k=$(awk '$1 == "Pss:" { print $2 }' "$p/smaps_rollup" 2>/dev/null) || continue
	case "$(cat "$p/comm")" in
	s6-*) s6=$((s6 + ${k:-0})) ;;
	*) tools=$((tools + ${k:-0})) ;;
	esac
done
echo "image-test: PSS: tools $tools KiB, s6 $s6 KiB, container $((tools + s6)) KiB"

start=$(date +%s)
kill -TERM "$pid1"
i=0
while kill -0 "$ushare" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt $((grace * 10)) ] && fail "still running $grace s after SIGTERM"
	sleep 0.1
done
wait "$ushare" && rc=0 || rc=$?
pid1=""
[ "$rc" = 0 ] || fail "PID 1 exited $rc after SIGTERM: $(tail -5 "$work/out")"
grep -E 'fatal|ERROR' "$work/out" && fail "a service logged a failure"
echo "image-test: SIGTERM: stopped in $(($(date +%s) - start)) s, exit 0"
echo "image-test: ok"
