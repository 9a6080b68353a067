#include "base/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void nro_buf_init(struct nro_buf *b, size_t max)
{
	b->p = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

void nro_buf_free(struct nro_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

void nro_buf_reset(struct nro_buf *b)
{
	b->len = 0;
	if (b->p)
		b->p[0] = '\0';
}

int nro_buf_add(struct nro_buf *b, const void *data, size_t n)
{
	if (n > b->max || b->len > b->max - n)
		return -1;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
		if (cap > b->max + 1)
			cap = b->max + 1;
		char *p = realloc(b->p, cap);
		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

int nro_buf_adds(struct nro_buf *b, const char *s)
{
	return nro_buf_add(b, s, strlen(s));
}
