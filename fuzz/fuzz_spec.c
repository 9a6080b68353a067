/*
 * collector-spec's own poll (collectors/collector-spec.c, compiled in by
 * fuzz/collector_source.h) on any /spec body, or, when /spec is gone (404), on any
 * /metrics/cadvisor body for its fallback, streamed in chunks. Input: byte
 * 0 even: the rest is /spec; odd: /spec answers 404 and the rest is
 * /metrics/cadvisor in chunks of (byte 0 >> 1) + 1 bytes. See
 * fuzz/collector.h.
 */
#define FUZZ_COLLECTOR_SOURCE "../collectors/collector-spec.c"
#include "collector_source.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ctx x;
	if (size < 1)
		return 0;
	struct nro_collector *c = fuzz_collector("collector-spec", TARGET);
	if (!x.body.max) {
		nro_buf_init(&x.body, BODY_MAX);
		nro_json_init(&x.j, 0);
		nro_promcollect_init(&x.pc, c, FALLBACK, "machine_*");
		x.pc.hook = on_machine_sample;
		x.pc.user = &x;
	}
	fuzz_kubelet_reset();
	if (data[0] & 1)
		fuzz_kubelet_serve(FALLBACK, 200, data + 1, size - 1, (size_t)(data[0] >> 1) + 1);
	else
		fuzz_kubelet_serve(TARGET, 200, data + 1, size - 1, 0);
	fuzz_poll(c, poll, &x);
	return 0;
}
