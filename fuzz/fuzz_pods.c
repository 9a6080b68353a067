/*
 * collector-pods' own poll (collectors/collector-pods.c, compiled in by
 * fuzz/collector_source.h) on any /pods body: the input is the body.
 * See fuzz/collector.h.
 */
#define FUZZ_COLLECTOR_SOURCE "../collectors/collector-pods.c"
#include "collector_source.h"

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
