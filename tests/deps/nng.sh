#!/bin/sh
# libnng as Debian ships it (1.5.2) sizes its thread pools from the CPU count
# at run time, with no runtime knob: 2 task threads a CPU (up to 16), one
# timer thread a CPU, 4 resolver threads; 88 threads a process on 64 CPUs.
# The pool sizes are build-time options, so this builds Debian's own nng
# source package (the same version as libnng-dev, nothing of it committed)
# into build/nng/lib/libnng.a with one thread in each pool; the Makefile
# links it instead of the system libnng when it is there.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$top/build/nng
ver=$(dpkg-query -W -f='${Version}' libnng-dev)
[ -f "$out/lib/libnng.a" ] && [ "$(cat "$out/version" 2>/dev/null)" = "$ver" ] && exit 0
echo "deps: building nng $ver with small thread pools into build/nng"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
exec 9>"${TMPDIR:-/tmp}/nro-deps.lock"
flock 9
if ! apt-get source --print-uris nng >/dev/null 2>&1; then
	# a deb-src entry for the suite the binary packages come from
	suite=$(apt-cache policy libnng-dev | awk '/ [0-9]+ http/{print $3; exit}' | cut -d/ -f1)
	uri=$(apt-cache policy libnng-dev | awk '/ [0-9]+ http/{print $2; exit}')
	printf 'Types: deb-src\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
		"$uri" "$suite" | $SUDO tee /etc/apt/sources.list.d/nro-deb-src.sources >/dev/null
	$SUDO apt-get update -q >/dev/null
fi
exec 9>&-
src=$top/build/nng-src
rm -rf "$src" "$out"
mkdir -p "$src"
(cd "$src" && apt-get source -q "nng=$ver" >/dev/null 2>&1)
dir=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name 'nng-*' | head -n1)
# one task thread, one timer thread, one resolver thread: a process here
# has one socket and a handful of pipes; only ipc:// and tcp:// are needed
cmake -S "$dir" -B "$src/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$out" \
	-DCMAKE_INSTALL_LIBDIR=lib -DBUILD_SHARED_LIBS=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
	-DNNG_TESTS=OFF -DNNG_TOOLS=OFF -DNNG_ENABLE_NNGCAT=OFF -DNNG_ENABLE_TLS=OFF \
	-DNNG_ENABLE_HTTP=OFF -DNNG_TRANSPORT_WS=OFF -DNNG_TRANSPORT_WSS=OFF \
	-DNNG_TRANSPORT_ZEROTIER=OFF -DNNG_NUM_TASKQ_THREADS=1 -DNNG_MAX_TASKQ_THREADS=1 \
	-DNNG_RESOLV_CONCURRENCY=1 -DCMAKE_C_FLAGS="-DNNG_EXPIRE_THREADS=1" >"$src/cmake.log" 2>&1 ||
	{ tail -n 20 "$src/cmake.log" >&2; exit 1; }
cmake --build "$src/build" -j2 >"$src/build.log" 2>&1 || { tail -n 20 "$src/build.log" >&2; exit 1; }
cmake --install "$src/build" >/dev/null
echo "$ver" >"$out/version"
rm -rf "$src"
