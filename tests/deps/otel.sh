#!/bin/sh
# OpenTelemetry's own OTLP decoding for tests/sink_otel_test.sh:
# @opentelemetry/otlp-transformer (its generated protobuf root) installed
# test-locally into tests/npm/otel/node_modules from package-lock.json,
# skipped when node_modules already matches the lock file.
set -eu
cd "$(dirname "$0")/../npm/otel"
if [ -f node_modules/.package-lock.json ] &&
	[ node_modules/.package-lock.json -nt package-lock.json ] &&
	[ -f node_modules/@opentelemetry/otlp-transformer/build/src/generated/root.js ]; then
	exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO=sudo
	exec 9>"${TMPDIR:-/tmp}/nro-deps.lock"
	flock 9
	echo "deps: installing npm"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends npm >/dev/null
	flock -u 9
fi
echo "deps: npm ci in tests/npm/otel"
npm ci --no-audit --no-fund --loglevel=error >/dev/null
