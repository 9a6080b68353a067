#!/bin/sh
# Installs the Debian packages node-runtime-observer needs, skipping what is
# already there, so `make test` and `make demo` work on a fresh machine.
set -eu

PKGS="build-essential pkg-config libcurl4-openssl-dev libjsmn-dev libnng-dev nng-utils
libmicrohttpd-dev libgnutls28-dev s6 shunit2 openssl jq curl valgrind python3 bc time"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then
	command -v sudo >/dev/null 2>&1 || { echo "deps: need root (or sudo) to install:$missing" >&2; exit 1; }
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
echo "deps: done"
