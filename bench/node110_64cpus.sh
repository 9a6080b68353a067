#!/bin/sh
# bench/node110.sh with sysconf(_SC_NPROCESSORS_ONLN) answering 64
# (bench/fakecpus.c, built by make bench): thread pools and memory that
# would grow with the CPU count show here.
NRO_FAKE_CPUS=${NRO_FAKE_CPUS:-64} exec sh "$(dirname "$0")/node110.sh"
