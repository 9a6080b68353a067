/*
 * collector-configz's own poll (collectors/collector-configz.c, included
 * with main renamed) on any /configz answer. Input: byte 0 picks the HTTP
 * status (200 for 0-5; 6: 404 and 7: 403, the fallback to default eviction
 * thresholds), the rest is the body. See fuzz/collector.h.
 */
#define main collector_configz_main
#include "../collectors/collector-configz.c"
#undef main

#include "collector.h"
#include "fuzz.h"

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
