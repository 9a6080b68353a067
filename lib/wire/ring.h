/*
 * The analyzer's shared-memory ring: every record the analyzer publishes,
 * by sequence number, in a file under $NRO_RUN_DIR (tmpfs), so a subscriber
 * that fell behind or restarted reads what it missed.
 *
 * One writer, many readers; readers never block the writer and never
 * write. A reader can always tell "not written yet" from "overwritten"
 * (lost), and never returns a record torn by a concurrent overwrite.
 * The layout is specified in docs/ring.md. A record the writer can shrink
 * is kept zlib-compressed (flagged in its record header); readers inflate
 * it, bounded by the length the header states, so what they copy out is
 * always the message as written.
 */
#ifndef NRO_RING_H
#define NRO_RING_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define NRO_RING_DEFAULT_SIZE (8u << 20) /* data bytes */

struct nro_ring {
	int fd;
	void *map;       /* the whole file, shared */
	size_t map_len;
	int writer;
	/* views into map, set by create/open */
	struct nro_ring_hdr *hdr;
	unsigned char *data;
	struct nro_ring_slot *index;
	/* writer only: where the next record goes (absolute byte position) */
	uint64_t next_pos;
	/* the mapped file's identity, to notice a ring recreated under us */
	uint64_t dev, ino;
	uint64_t data_size, nslots; /* copied from the header at open */
	/* writer only: the deflate stream (a z_stream, NULL until the first
	 * compressible record) and its output buffer */
	void *z;
	unsigned char *zbuf;
	size_t zcap;
};

/* Writer: opens path if it holds a valid ring of the same size and carries
 * on after its newest record (so readers' cursors stay valid across an
 * analyzer restart); else creates it anew (mode 0600) with a fresh epoch.
 * data_size is rounded up to a power of two (min 64 KiB). 0, or -1 with a
 * reason in err and errno saying which (ENOSPC: the file system is full;
 * EWOULDBLOCK: another writer holds it). r is the caller's; release with nro_ring_close. */
int nro_ring_create(struct nro_ring *r, const char *path, size_t data_size, char *err,
		    size_t errlen);
/* Reader: maps an existing ring read-only. 0 or -1 with a reason. */
int nro_ring_open(struct nro_ring *r, const char *path, char *err, size_t errlen);
void nro_ring_close(struct nro_ring *r);

/* Writer: appends msg as sequence number nro_ring_head()+1 and returns that
 * seq, or 0 if len is 0 or larger than a quarter of the ring. Copies msg,
 * compressed when that makes the record smaller (when compression cannot
 * run, out of memory, the record is kept as it is). */
uint64_t nro_ring_write(struct nro_ring *r, const void *msg, size_t len);

/* Newest seq written (0 = none yet), oldest seq still held, and the epoch
 * (random, new each time the ring is created: a cursor from another epoch
 * is meaningless). */
uint64_t nro_ring_head(const struct nro_ring *r);
uint64_t nro_ring_oldest(const struct nro_ring *r);
uint64_t nro_ring_epoch(const struct nro_ring *r);

/* Reader or writer: copies record seq into out (reset first; out's cap
 * applies to the inflated message). Returns 1 when copied, 0 if seq is not
 * written yet, -1 if it was overwritten (lost), the copy was torn by the
 * writer or a compressed record does not inflate to exactly its stated
 * length (corrupt: counted as lost too), -2 if out's cap is too small. */
int nro_ring_read(const struct nro_ring *r, uint64_t seq, struct nro_buf *out);

/* Reader or writer: copies at most n leading bytes of record seq into out
 * (e.g. n = 1 for its record kind) and its full (inflated) length into
 * *len. Same returns as nro_ring_read (never -2); a compressed record's
 * leading bytes are inflated, the rest of it is not checked. */
int nro_ring_peek(const struct nro_ring *r, uint64_t seq, void *out, size_t n, size_t *len);

/* Reader: 1 if path now names another file than the one r mapped (the
 * writer recreated the ring: reopen it), else 0 (also when path is gone). */
int nro_ring_replaced(const struct nro_ring *r, const char *path);

#endif
