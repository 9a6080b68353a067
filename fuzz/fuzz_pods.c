/*
 * collector-pods' own poll (collectors/collector-pods.c, included with main
 * renamed) on any /pods body: the input is the body. See fuzz/collector.h.
 */
#define main collector_pods_main
#include "../collectors/collector-pods.c"
#undef main

#include "collector.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pods x;
	struct nro_collector *c = fuzz_collector("collector-pods", TARGET);
	if (!x.jc.c)
		nro_jsoncollect_init(&x.jc, c, TARGET);
	fuzz_kubelet_reset();
	fuzz_kubelet_serve(TARGET, 200, data, size, 0);
	fuzz_poll(c, poll, &x);
	return 0;
}
