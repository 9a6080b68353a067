#include "base/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_MIN (64u << 10)

struct nro_arena_chunk {
	struct nro_arena_chunk *next;
	size_t size, pos; /* usable bytes after the header, bytes handed out */
	alignas(max_align_t) unsigned char data[];
};

void nro_arena_init(struct nro_arena *a, size_t max)
{
	a->head = NULL;
	a->used = 0;
	a->max = max;
}

static struct nro_arena_chunk *add_chunk(struct nro_arena *a, size_t n)
{
	size_t size = n > CHUNK_MIN ? n : CHUNK_MIN;
	size_t total = sizeof(struct nro_arena_chunk) + size;
	if (size < n || a->used > a->max || total > a->max - a->used)
		return NULL;
	struct nro_arena_chunk *c = malloc(total);
	if (!c)
		return NULL;
	c->size = size;
	c->pos = 0;
	c->next = a->head;
	a->head = c;
	a->used += total;
	return c;
}

void *nro_arena_alloc(struct nro_arena *a, size_t n)
{
	const size_t align = alignof(max_align_t);
	if (n > SIZE_MAX - align)
		return NULL;
	n = (n + align - 1) & ~(align - 1);
	struct nro_arena_chunk *c = a->head;
	if (!c || c->size - c->pos < n)
		c = add_chunk(a, n);
	if (!c)
		return NULL;
	void *p = c->data + c->pos;
	c->pos += n;
	memset(p, 0, n);
	return p;
}

char *nro_arena_strndup(struct nro_arena *a, const char *p, size_t n)
{
	char *s = nro_arena_alloc(a, n + 1);
	if (s && n)
		memcpy(s, p, n);
	return s;
}

static void free_after(struct nro_arena *a, struct nro_arena_chunk *keep)
{
	struct nro_arena_chunk *c = keep ? keep->next : a->head;
	while (c) {
		struct nro_arena_chunk *next = c->next;
		a->used -= sizeof *c + c->size;
		free(c);
		c = next;
	}
	if (keep)
		keep->next = NULL;
	else
		a->head = NULL;
}

void nro_arena_reset(struct nro_arena *a)
{
	free_after(a, a->head);
	if (a->head)
		a->head->pos = 0;
}

void nro_arena_free(struct nro_arena *a)
{
	free_after(a, NULL);
	a->used = 0;
}
