#include "base/hmap.h"
#include "base/hash.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t hash_str(const char *s)
{
	return (size_t)nro_hash(s, strlen(s));
}

void nro_hmap_init(struct nro_hmap *m)
{
	m->b = NULL;
	m->nb = m->n = 0;
}

void nro_hmap_free(struct nro_hmap *m)
{
	for (size_t i = 0; i < m->nb; i++)
		for (struct nro_hmap_ent *e = m->b[i], *nx; e; e = nx) {
			nx = e->next;
			free(e);
		}
	free(m->b);
	nro_hmap_init(m);
}

static struct nro_hmap_ent **find(const struct nro_hmap *m, const char *key, size_t h)
{
	if (!m->nb)
		return NULL;
	struct nro_hmap_ent **pp = &m->b[h & (m->nb - 1)];
	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == h && strcmp((*pp)->key, key) == 0)
			return pp;
	return pp;
}

void *nro_hmap_get(const struct nro_hmap *m, const char *key)
{
	struct nro_hmap_ent **pp = find(m, key, hash_str(key));
	return pp && *pp ? (*pp)->value : NULL;
}

static int grow(struct nro_hmap *m)
{
	size_t nb = m->nb ? m->nb * 2 : 64;
	struct nro_hmap_ent **b = calloc(nb, sizeof *b);
	if (!b)
		return -1;
	for (size_t i = 0; i < m->nb; i++)
		for (struct nro_hmap_ent *e = m->b[i], *nx; e; e = nx) {
			nx = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	free(m->b);
	m->b = b;
	m->nb = nb;
	return 0;
}

int nro_hmap_put(struct nro_hmap *m, const char *key, void *value)
{
	size_t h = hash_str(key);
	struct nro_hmap_ent **pp = find(m, key, h);
	if (pp && *pp) {
		(*pp)->value = value;
		return 0;
	}
	if (m->n + 1 > m->nb * 3 / 4 && grow(m) != 0)
		return -1;
	size_t kl = strlen(key);
	struct nro_hmap_ent *e = malloc(sizeof *e + kl + 1);
	if (!e)
		return -1;
	memcpy(e->key, key, kl + 1);
	e->hash = h;
	e->value = value;
	e->next = m->b[h & (m->nb - 1)];
	m->b[h & (m->nb - 1)] = e;
	m->n++;
	return 0;
}

void *nro_hmap_del(struct nro_hmap *m, const char *key)
{
	struct nro_hmap_ent **pp = find(m, key, hash_str(key));
	if (!pp || !*pp)
		return NULL;
	struct nro_hmap_ent *e = *pp;
	void *v = e->value;
	*pp = e->next;
	free(e);
	m->n--;
	return v;
}

void nro_hmap_iter_init(struct nro_hmap_iter *it, const struct nro_hmap *m)
{
	it->m = m;
	it->bucket = 0;
	it->next = NULL;
}

struct nro_hmap_ent *nro_hmap_next(struct nro_hmap_iter *it)
{
	while (!it->next) {
		if (it->bucket >= it->m->nb)
			return NULL;
		it->next = it->m->b[it->bucket++];
	}
	struct nro_hmap_ent *e = it->next;
	it->next = e->next; /* read before the caller may delete e */
	return e;
}
