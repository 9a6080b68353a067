/* The runtime's allocator settings (lib/run/memory.h). */
#include "run/memory.h"

#include <malloc.h>
#include <stdint.h>

#include "base/clock.h"

void nro_mem_tune(void)
{
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_THRESHOLD, (int)NRO_MEM_THRESHOLD);
	mallopt(M_TRIM_THRESHOLD, (int)NRO_MEM_THRESHOLD);
}

void nro_mem_trim(void)
{
	malloc_trim(0);
}

/* The sink loop or analyzer's thread only: not thread-safe. */
static size_t pending;
static int64_t last_ms;

void nro_mem_trim_after(size_t bytes)
{
	pending = bytes > SIZE_MAX - pending ? SIZE_MAX : pending + bytes;
	/* a burst trims once it is big; before a sleep (bytes 0), whatever came */
	if (pending == 0 || (bytes && pending < NRO_MEM_TRIM_BYTES))
		return;
	int64_t now = nro_mono_ms();
	if (now - last_ms < NRO_MEM_TRIM_EVERY_MS)
		return;
	last_ms = now;
	pending = 0;
	malloc_trim(0);
}
