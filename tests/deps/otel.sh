#!/bin/sh
# OpenTelemetry's own OTLP decoding for tests/sink_otel_test.sh:
# @opentelemetry/otlp-transformer (its generated protobuf root) installed
# test-locally into tests/npm/otel/node_modules from package-lock.json,
# skipped when node_modules already matches the lock file (tests/deps/npm-install).
exec sh "$(dirname "$0")/npm-install" otel \
	@opentelemetry/otlp-transformer/build/src/generated/root.js
