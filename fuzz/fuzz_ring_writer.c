/*
 * A restarted ring writer (lib/wire/ring.h) on a corrupted file: the input,
 * expanded into a ring file (fuzz/fuzz.h), is what the analyzer finds at
 * start. nro_ring_create either carries on after the file's newest record
 * or starts a new ring; either way the records it writes next get the next
 * seqs and read back whole, to the writer and to a reader (docs/ring.md:
 * nothing it writes may read back as lost).
 */
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "wire/ring.h"

static void read_back(const struct nro_ring *r, uint64_t seq, const char *msg, size_t len)
{
	struct nro_buf out;
	nro_buf_init(&out, 1u << 20);
	FUZZ_CHECK(nro_ring_read(r, seq, &out) == 1);
	FUZZ_CHECK(out.len == len && memcmp(out.p, msg, len) == 0);
	nro_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[300];
	snprintf(path, sizeof path, "%s/ring", fuzz_dir());
	long ds = fuzz_ring_file(path, data, size);
	if (ds < 0)
		return 0;
	struct nro_ring w, r;
	char err[256] = "";
	int rc = nro_ring_create(&w, path, ds ? (size_t)ds : 65536, err, sizeof err);
	if (rc != 0)
		fprintf(stderr, "fuzz_ring_writer: %s\n", err);
	FUZZ_CHECK(rc == 0);
	uint64_t head = nro_ring_head(&w);
	static const char one[] = "E first record after the restart";
	static const char two[] = "M second record";
	uint64_t s1 = nro_ring_write(&w, one, sizeof one);
	uint64_t s2 = nro_ring_write(&w, two, sizeof two);
	FUZZ_CHECK(s1 == head + 1 && s1 != 0 && s2 == s1 + 1);
	FUZZ_CHECK(nro_ring_head(&w) == s2 && nro_ring_oldest(&w) <= s1);
	read_back(&w, s1, one, sizeof one);
	read_back(&w, s2, two, sizeof two);
	FUZZ_CHECK(nro_ring_open(&r, path, err, sizeof err) == 0);
	read_back(&r, s1, one, sizeof one);
	read_back(&r, s2, two, sizeof two);
	nro_ring_close(&r);
	nro_ring_close(&w);
	return 0;
}
