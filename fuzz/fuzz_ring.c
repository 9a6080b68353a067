/*
 * The ring reader (lib/wire/ring.h) on a corrupted file: the input,
 * expanded into a ring file (fuzz/fuzz.h), is opened as a reader would and
 * every seq it claims to hold is read (the newest 512 and the oldest 64
 * when there are more). The reader refuses the file with a reason, or every
 * read returns one of its documented results; a copied record is 1 ..
 * data_size/4 bytes and nro_ring_peek agrees with nro_ring_read. Deflated
 * records (docs/ring.md; seed-analyzer-deflated holds some) inflate within
 * the length their header states or read as lost; peek inflates only a
 * record's first bytes, so it may find a record whose rest is corrupt (read:
 * lost) whole.
 */
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "wire/ring.h"

/* Record seq's header says deflated (docs/ring.md: flags, at 20, bit 31). */
static int deflated(const struct nro_ring *r, uint64_t seq)
{
	const unsigned char *slot = (const unsigned char *)r->index + (seq & (r->nslots - 1)) * 16;
	uint64_t pos;
	uint32_t flags;
	memcpy(&pos, slot + 8, 8);
	uint64_t off = pos & (r->data_size - 1);
	if (off + 24 > r->data_size)
		return 0;
	memcpy(&flags, r->data + off + 20, 4);
	return (flags >> 31) & 1;
}

static void read_one(const struct nro_ring *r, uint64_t seq, struct nro_buf *out)
{
	int rc = nro_ring_read(r, seq, out);
	FUZZ_CHECK(rc >= -2 && rc <= 1);
	if (seq == 0 || seq > nro_ring_head(r))
		FUZZ_CHECK(rc == 0 || (seq == 0 && rc == -1));
	unsigned char kind;
	size_t len = 0;
	int pk = nro_ring_peek(r, seq, &kind, 1, &len);
	if (rc == 1) {
		FUZZ_CHECK(out->len >= 1 && out->len <= r->data_size / 4);
		FUZZ_CHECK(pk == 1 && len == out->len && kind == (unsigned char)out->p[0]);
		fuzz_touch(out->p, out->len);
	} else if (rc != -2) {
		FUZZ_CHECK(pk == rc || (rc == -1 && pk == 1 && deflated(r, seq)));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[300];
	snprintf(path, sizeof path, "%s/ring", fuzz_dir());
	if (fuzz_ring_file(path, data, size) < 0)
		return 0;
	struct nro_ring r;
	char err[256] = "";
	if (nro_ring_open(&r, path, err, sizeof err) != 0) {
		FUZZ_CHECK(err[0]);
		return 0;
	}
	uint64_t head = nro_ring_head(&r), oldest = nro_ring_oldest(&r);
	FUZZ_CHECK(oldest >= 1 && oldest - 1 <= head);
	struct nro_buf out, small;
	nro_buf_init(&out, r.data_size);
	nro_buf_init(&small, 16); /* too small for most records: -2 */
	uint64_t newest_from = head - oldest >= 512 ? head - 511 : oldest;
	for (uint64_t s = newest_from; s && s <= head; s++)
		read_one(&r, s, (s & 1) ? &small : &out);
	for (uint64_t s = oldest; s < newest_from && s < oldest + 64; s++)
		read_one(&r, s, &out);
	read_one(&r, 0, &out);
	if (head < UINT64_MAX)
		read_one(&r, head + 1, &out);
	FUZZ_CHECK(nro_ring_replaced(&r, path) == 0);
	nro_buf_free(&small);
	nro_buf_free(&out);
	nro_ring_close(&r);
	return 0;
}
