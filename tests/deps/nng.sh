#!/bin/sh
# Builds libnng with small thread pools (tests/deps/nng-build says why and
# how). Not fatal: when it cannot be built here (no deb-src, no network to
# Debian's sources) the system libnng is linked, and only the thread count
# differs (make bench reports it).
sh "$(dirname "$0")/nng-build" ||
	echo "deps: warning: nng with small thread pools could not be built; using the system libnng" >&2
