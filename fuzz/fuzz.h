/*
 * Shared by the fuzz targets in fuzz/ (docs/fuzzing.md). Each target is one
 * file defining LLVMFuzzerTestOneInput. `make fuzz` links it with clang's
 * libFuzzer; `make test` links it with fuzz/replay.c's main, which feeds it
 * the saved corpora and crash reproducers (gcc or clang, ASan/UBSan).
 *
 * A target checks more than "does not crash": FUZZ_CHECK states a property
 * every input must keep; a broken one aborts, which both drivers report.
 */
#ifndef NRO_FUZZ_H
#define NRO_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prints "fuzz: FILE:LINE: check failed: WHAT" and aborts. */
void fuzz_fail(const char *file, int line, const char *what) __attribute__((noreturn));
#define FUZZ_CHECK(cond)                                        \
	do {                                                    \
		if (!(cond))                                    \
			fuzz_fail(__FILE__, __LINE__, #cond);   \
	} while (0)

/* A small deterministic generator (xorshift64*), seeded from input bytes,
 * so that choices such as chunk splits are part of the input. */
struct fuzz_rng {
	uint64_t s;
};
void fuzz_rng_seed(struct fuzz_rng *r, const uint8_t *p, size_t n);
/* A value in [lo, hi] (hi >= lo). */
size_t fuzz_rng_range(struct fuzz_rng *r, size_t lo, size_t hi);

/* Reads every byte of p[0..n): ASan reports any of them out of bounds. */
uint64_t fuzz_touch(const void *p, size_t n);

#endif

/* ---- ring files (fuzz_ring, fuzz_ring_writer) ------------------------------
 * A ring file (docs/ring.md) is at least 74 KB, mostly zeros, so the input
 * is a compact description of one:
 *   bytes 0..255   the header, as it is in the file;
 *   bytes 256..257 k, big-endian: the low 15 bits count index slots that
 *                  follow; the top bit makes the file one page short;
 *   16 * k bytes   index slots 0..k-1 (k capped at nslots);
 *   the rest       the data area from its start.
 * The file is as long as the header's data_size implies when that is a
 * power of two in 64 KiB..FUZZ_RING_MAX (the rest zero), else it is the
 * input's bytes as they are (which a reader must refuse). */
#define FUZZ_RING_MAX (1u << 20)
/* Writes the ring described by data[0..n) to path (replacing it). Returns
 * the header's data_size if it was usable, else 0; -1 if path cannot be
 * written (the target gives up on that input). */
long fuzz_ring_file(const char *path, const uint8_t *data, size_t n);
/* A private directory for the target's files, made once (under /dev/shm
 * when it exists: the ring lives on tmpfs). */
const char *fuzz_dir(void);
