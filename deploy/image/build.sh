#!/bin/sh
# Builds the node-runtime-observer image from Debian packages alone, no
# registry: mmdebstrap makes a minimal root filesystem (the essential set
# plus the packages that hold the libraries the binaries are linked
# against, from their ELF NEEDED entries; no compiler), the tools and svc/
# go in, and umoci packs it as an OCI image archive.
#
#   sh deploy/image/build.sh [OUT.tar]     (default build/image/nro-image.tar)
#
# Environment: NRO_MIRROR (default: this machine's Debian mirror from
# /etc/apt/sources.list*), NRO_SUITE (default: the suite there), NRO_TAG
# (default latest). Needs root (mmdebstrap's root mode, setcap), the
# packages in deploy/image/build.pkgs, and `make all` done.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
prog=build.sh
out=${1:-$top/build/image/nro-image.tar}
tag=${NRO_TAG:-latest}
uid=65532
die() { echo "$prog: fatal: $*" >&2; exit "${2:-100}"; }

# the first deb URI and suite this machine uses: mmdebstrap reaches nothing else
sources() {
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk '$1 == "deb" { print $2, $3; exit }'
	cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk '/^Types:/ { deb = ($0 ~ / deb( |$)/) } deb && /^URIs:/ { u = $2 }
		     deb && /^Suites:/ { print u, $2; exit }'
}
set -- $(sources | head -n 1)
mirror=${NRO_MIRROR:-${1:-}}
suite=${NRO_SUITE:-${2:-}}
[ -n "$mirror" ] && [ -n "$suite" ] || die "no Debian mirror in /etc/apt/sources.list*: set NRO_MIRROR and NRO_SUITE"

bins=$(ls "$top"/bin/* 2>/dev/null | grep -v '/kubelet-replay$') || die "no bin/: run make all"
for t in mmdebstrap umoci setcap objdump; do
	command -v "$t" >/dev/null || die "$t not found (deploy/image/build.pkgs)"
done

# the Debian package holding a library: ldd finds it, dpkg -S names its package
# (usrmerge: the path dpkg knows may be /lib or /usr/lib)
lib_pkgs() {
	for b in $bins; do
		[ -f "$b" ] && head -c4 "$b" | grep -q ELF || continue
		for so in $(objdump -p "$b" | awk '$1 == "NEEDED" { print $2 }'); do
			p=$(ldd "$b" | awk -v so="$so" '$1 == so { print $3 }')
			[ -n "$p" ] || die "$b: $so not found"
			f=${p##*/}
			dpkg -S "/usr/lib/x86_64-linux-gnu/$f" "/lib/x86_64-linux-gnu/$f" "$p" 2>/dev/null |
				head -n 1 | cut -d: -f1
		done
	done | sort -u
}
pkgs=$(lib_pkgs | tr '\n' ',')
# s6 (PID 1 and the supervisors), CA certificates for https sinks
pkgs="${pkgs}s6,ca-certificates"
echo "$prog: mirror $mirror $suite; packages: $pkgs" >&2

work=$(mktemp -d "${TMPDIR:-/tmp}/nro-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
layout=$work/oci
umoci init --layout "$layout"
umoci new --image "$layout:$tag"
umoci unpack --image "$layout:$tag" "$work/bundle" >/dev/null
root=$work/bundle/rootfs
rmdir "$root" # mmdebstrap wants to create it

mmdebstrap --mode=root --variant=essential --include="$pkgs" \
	--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*' \
	--dpkgopt='path-include=/usr/share/doc/*/copyright' \
	--customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/*' \
	"$suite" "$root" "deb $mirror $suite main" >&2 || die "mmdebstrap failed" 111

# the tools, the helper and the services; the unprivileged user
install -m 0755 $bins "$root/usr/bin/"
install -m 0755 "$top/svc/.lib/run-tool" "$root/usr/bin/nro-run-tool"
install -m 0755 "$top/deploy/image/entrypoint" "$root/usr/bin/nro-entrypoint"
mkdir -p "$root/etc/nro"
cp -R "$top/svc" "$root/etc/nro/svc"
rm -rf "$root/etc/nro/svc/.lib" "$root"/etc/nro/svc/*/supervise "$root"/etc/nro/svc/*/event
echo /usr/bin >"$root/etc/nro/svc/.env/NRO_BIN"
echo "nro:x:$uid:$uid:node-runtime-observer:/nonexistent:/usr/sbin/nologin" >>"$root/etc/passwd"
echo "nro:x:$uid:" >>"$root/etc/group"
# collector-kmsg alone may read /dev/kmsg (kernel.dmesg_restrict=1) as the user
setcap cap_syslog+ep "$root/usr/bin/collector-kmsg"

umoci repack --image "$layout:$tag" "$work/bundle" >/dev/null
umoci config --image "$layout:$tag" --config.user="$uid:$uid" \
	--config.entrypoint=/usr/bin/nro-entrypoint --config.workingdir=/ \
	--config.env=PATH=/usr/sbin:/usr/bin:/sbin:/bin --config.exposedports=10270/tcp \
	--config.stopsignal=SIGTERM --author=node-runtime-observer
umoci gc --layout "$layout"
mkdir -p "$(dirname "$out")"
tar -C "$layout" -cf "$out.tmp" . && mv "$out.tmp" "$out"
size=$(du -sk "$root" | cut -f1)
echo "$prog: wrote $out ($(($(stat -c %s "$out") / 1024)) KiB archive, root filesystem $size KiB)"
