/* A bump allocator for many small objects that die together (one OTLP
 * batch): chunks of at least 64 KiB, a hard cap on the total, one reset. */
#ifndef NRO_ARENA_H
#define NRO_ARENA_H

#include <stddef.h>

struct nro_arena_chunk;

struct nro_arena {
	struct nro_arena_chunk *head; /* newest chunk first */
	size_t used;                  /* bytes in all chunks, headers included */
	size_t max;                   /* hard cap on used */
};

/* Initializes a with hard cap max bytes; allocates nothing yet. */
void nro_arena_init(struct nro_arena *a, size_t max);
/* Returns n zeroed bytes aligned for any type, or NULL (cap or out of
 * memory). The memory lives until the next reset or free. */
void *nro_arena_alloc(struct nro_arena *a, size_t n);
/* A NUL-terminated copy of p[0..n), or NULL. */
char *nro_arena_strndup(struct nro_arena *a, const char *p, size_t n);
/* Frees everything but the newest chunk, which is kept for reuse. */
void nro_arena_reset(struct nro_arena *a);
/* Frees everything; a is empty and reusable afterwards. */
void nro_arena_free(struct nro_arena *a);

#endif
