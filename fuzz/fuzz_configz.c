/*
 * collector-configz's own poll (collectors/collector-configz.c, compiled in by
 * fuzz/collector_source.h) on any /configz answer. Input: byte 0 picks the HTTP
 * status (200 for 0-5; 6: 404 and 7: 403, the fallback to default eviction
 * thresholds), the rest is the body. See fuzz/collector.h.
 */
#define FUZZ_COLLECTOR_SOURCE "../collectors/collector-configz.c"
#include "collector_source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ctx x;
	if (size < 1)
		return 0;
	struct nro_collector *c = fuzz_collector("collector-configz", TARGET);
	if (!x.body.max) {
		nro_buf_init(&x.body, BODY_MAX);
		nro_json_init(&x.j, 0);
	}
	static const long status[8] = {200, 200, 200, 200, 200, 200, 404, 403};
	fuzz_kubelet_reset();
	fuzz_kubelet_serve(TARGET, status[data[0] & 7], data + 1, size - 1, 0);
	fuzz_poll(c, poll, &x);
	return 0;
}
