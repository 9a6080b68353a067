/*
 * The one string hash of every table in the tree (the record encoder's
 * string table, nro_hmap, the Prometheus series table): a word at a time
 * (byte-wise FNV-1a was the encoder's and the series table's biggest cost on
 * 20-300 byte keys): each 8-byte word, then the tail, mixed in by a multiply
 * and a rotate, finished as splitmix64 does. Not keyed: tables fed by a
 * kubelet bound their size instead.
 */
#ifndef NRO_HASH_H
#define NRO_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t nro_hash(const void *p, size_t n)
{
	const char *s = p;
	uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
		h = (h << 31) | (h >> 33);
	}
	uint64_t w = 0;
	if (n > i)
		memcpy(&w, s + i, n - i);
	h = (h ^ w) * 0x94D049BB133111EBull;
	h ^= h >> 31;
	h *= 0xBF58476D1CE4E5B9ull;
	return h ^ (h >> 29);
}

#endif
