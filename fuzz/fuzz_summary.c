/*
 * collector-summary's own poll (collectors/collector-summary.c, compiled in by
 * fuzz/collector_source.h) on any /stats/summary body. Input: byte 0 picks --psi
 * (node, all, none), the rest is the body. See fuzz/collector.h.
 */
#define FUZZ_COLLECTOR_SOURCE "../collectors/collector-summary.c"
#include "collector_source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct summary x;
	if (size < 1)
		return 0;
	struct nro_collector *c = fuzz_collector("collector-summary", TARGET);
	if (!x.jc.c)
		nro_jsoncollect_init(&x.jc, c, TARGET);
	static const int psi[3] = {PSI_NODE, PSI_ALL, PSI_NONE};
	x.psi = psi[data[0] % 3];
	fuzz_kubelet_reset();
	fuzz_kubelet_serve(TARGET, 200, data + 1, size - 1, 0);
	fuzz_poll(c, poll, &x);
	return 0;
}
