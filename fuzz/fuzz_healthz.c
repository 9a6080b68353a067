/*
 * collector-healthz's own poll (collectors/collector-healthz.c, compiled in by
 * fuzz/collector_source.h) on any /healthz?verbose answer. Input: byte 0 even:
 * HTTP 200, odd: HTTP 500 (the body then arrives as the client's 4 KiB
 * error_body); the rest is the body. See fuzz/collector.h.
 */
#define FUZZ_COLLECTOR_SOURCE "../collectors/collector-healthz.c"
#include "collector_source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct healthz h;
	if (size < 1)
		return 0;
	struct nro_collector *c = fuzz_collector("collector-healthz", TARGET);
	fuzz_kubelet_reset();
	fuzz_kubelet_serve(TARGET, data[0] & 1 ? 500 : 200, data + 1, size - 1, 0);
	fuzz_poll(c, poll, &h);
	return 0;
}
