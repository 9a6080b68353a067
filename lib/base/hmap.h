/* A string-keyed hash map of caller-owned values (chained, grows by
 * doubling). The map owns copies of the keys, never the values. */
#ifndef NRO_HMAP_H
#define NRO_HMAP_H

#include <stddef.h>

struct nro_hmap_ent {
	struct nro_hmap_ent *next;
	size_t hash;
	void *value;
	char key[]; /* NUL-terminated copy */
};

struct nro_hmap {
	struct nro_hmap_ent **b;
	size_t nb, n;
};

void nro_hmap_init(struct nro_hmap *m);
/* Frees the map's entries and keys, not the values. */
void nro_hmap_free(struct nro_hmap *m);
void *nro_hmap_get(const struct nro_hmap *m, const char *key);
/* Inserts or replaces; returns 0, or -1 out of memory. */
int nro_hmap_put(struct nro_hmap *m, const char *key, void *value);
/* Removes key; returns its value (for the caller to free) or NULL. */
void *nro_hmap_del(struct nro_hmap *m, const char *key);

/* Iteration that allows nro_hmap_del of the current key:
 *   struct nro_hmap_iter it; nro_hmap_iter_init(&it, m);
 *   while ((e = nro_hmap_next(&it))) ... */
struct nro_hmap_iter {
	const struct nro_hmap *m;
	size_t bucket;
	struct nro_hmap_ent *next;
};
void nro_hmap_iter_init(struct nro_hmap_iter *it, const struct nro_hmap *m);
struct nro_hmap_ent *nro_hmap_next(struct nro_hmap_iter *it);

#endif
