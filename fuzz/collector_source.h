/*
 * Included by a collector target after it defines FUZZ_COLLECTOR_SOURCE
 * (the collector's .c file): compiles that collector into the target with
 * its main renamed, so the target calls the collector's own static poll
 * and context, unchanged, and each tool keeps its one main.
 */
#ifndef FUZZ_COLLECTOR_SOURCE
#error "define FUZZ_COLLECTOR_SOURCE before including collector_source.h"
#endif

#define main fuzz_collector_main
#include FUZZ_COLLECTOR_SOURCE
#undef main

#include "collector.h"
#include "fuzz.h"
