/*
 * The runtime's allocator settings (glibc malloc), so a long-running tool
 * gives back what a burst (a big poll, pod churn) made it allocate.
 *
 * nro_mem_tune, once at start (nro_tool_init calls it): every thread
 * allocates from the main arena (M_ARENA_MAX 1: nng's threads would each
 * get an arena of their own, 64 MiB reserved and whatever they touched
 * kept), and the mmap and trim thresholds are fixed at NRO_MEM_THRESHOLD
 * (glibc otherwise raises both after the first large free, and from then
 * on keeps big buffers in the heap, where they stay resident).
 *
 * nro_mem_trim gives free heap pages back (malloc_trim(0)); a poll loop
 * calls it after each poll. nro_mem_trim_after, for a loop whose messages
 * come often, counts the bytes handled and trims at most once every
 * NRO_MEM_TRIM_EVERY_MS: after a message once NRO_MEM_TRIM_BYTES came
 * since the last trim, and when called with 0 (before the loop sleeps)
 * once anything came.
 */
#ifndef NRO_MEMORY_H
#define NRO_MEMORY_H

#include <stddef.h>

#define NRO_MEM_THRESHOLD (128u << 10)
#define NRO_MEM_TRIM_BYTES (64u << 10)
#define NRO_MEM_TRIM_EVERY_MS 1000

void nro_mem_tune(void);
void nro_mem_trim(void);
void nro_mem_trim_after(size_t bytes);

#endif
