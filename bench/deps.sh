#!/bin/sh
# Installs the Debian packages make bench needs (bench/*.pkgs) that are
# missing, under the same lock as tests/deps.sh (one apt at a time).
set -eu
cd "$(dirname "$0")"
missing=""
for p in $(sed 's/#.*//' ./*.pkgs); do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "bench: installing:$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
exec 9>"${TMPDIR:-/tmp}/nro-deps.lock"
flock 9
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
