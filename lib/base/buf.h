/* A growable byte buffer with a hard cap (curl's dynbuf rule: every
 * growable buffer has a maximum). */
#ifndef NRO_BUF_H
#define NRO_BUF_H

#include <stddef.h>

struct nro_buf {
	char *p;
	size_t len, cap, max;
};

/* Initializes b with hard cap max; allocates nothing yet. */
void nro_buf_init(struct nro_buf *b, size_t max);
/* Frees b's storage; b is empty and reusable afterwards. */
void nro_buf_free(struct nro_buf *b);
/* Empties b, keeping its storage. */
void nro_buf_reset(struct nro_buf *b);
/* Appends n bytes; keeps b NUL-terminated past len. Returns 0, or -1 when
 * the cap would be passed or memory ran out (b is unchanged then). */
int nro_buf_add(struct nro_buf *b, const void *data, size_t n);
int nro_buf_adds(struct nro_buf *b, const char *s);

#endif
