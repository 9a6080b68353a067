/*
 * The harness of the collector targets (fuzz_pods, fuzz_summary, ...): a
 * target compiles its collector's source in (fuzz/collector_source.h), so
 * it calls the collector's own static poll function, unchanged. Here the kubelet client
 * (lib/net/kubelet.h) is replaced by one that serves the fuzz input from
 * memory, and the collector writes its records into a memory file; after
 * each poll every record written must decode (nro_decode), and a failed
 * poll must say why in one line. Everything else is the real runtime.
 */
#ifndef NRO_FUZZ_COLLECTOR_H
#define NRO_FUZZ_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "run/collector.h"

/* Forgets what was served; every path answers 404 until served again. */
void fuzz_kubelet_reset(void);
/* Serves body[0..len) (borrowed) at path with HTTP status. A 2xx body
 * reaches nro_kubelet_get's callback in chunks of at most chunk bytes
 * (0 = whole); a non-2xx body fills res->error_body as the client does. */
void fuzz_kubelet_serve(const char *path, long status, const uint8_t *body, size_t len,
			size_t chunk);

/* The collector for this process (made once, as nro_collector_init would,
 * without options, signals or a socket): output to a memory file. */
struct nro_collector *fuzz_collector(const char *prog, const char *target);
/* Runs one poll as the runtime does (then the error and health records),
 * checks every record written, and returns poll's result; then polls the
 * same body again, which must publish the same records (but their seqs). */
int fuzz_poll(struct nro_collector *c, nro_poll_fn poll, void *ctx);

#endif
