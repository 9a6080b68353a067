#include "fuzz.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "fuzz: %s:%d: check failed: %s\n", file, line, what);
	abort();
}

void fuzz_rng_seed(struct fuzz_rng *r, const uint8_t *p, size_t n)
{
	uint64_t s = 0x9E3779B97F4A7C15u;
	for (size_t i = 0; i < n; i++)
		s = (s ^ p[i]) * 0x100000001B3u;
	r->s = s ? s : 1;
}

size_t fuzz_rng_range(struct fuzz_rng *r, size_t lo, size_t hi)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	uint64_t v = r->s * 0x2545F4914F6CDD1Du;
	return lo + (size_t)(v % ((uint64_t)(hi - lo) + 1));
}

uint64_t fuzz_touch(const void *p, size_t n)
{
	const volatile unsigned char *b = p;
	uint64_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += b[i];
	return sum;
}

/* ---- ring files ---------------------------------------------------------- */

#define RING_HDR 256u

static uint64_t usable_data_size(const uint8_t *data, size_t n)
{
	uint64_t ds;
	if (n < RING_HDR)
		return 0;
	memcpy(&ds, data + 24, sizeof ds); /* host byte order, as the file */
	if (ds < (64u << 10) || ds > FUZZ_RING_MAX || (ds & (ds - 1)))
		return 0;
	return ds;
}

static int put(int fd, const uint8_t *p, size_t n, uint64_t off, uint64_t limit)
{
	if (off >= limit)
		return 0;
	if (n > limit - off)
		n = (size_t)(limit - off);
	return pwrite(fd, p, n, (off_t)off) == (ssize_t)n ? 0 : -1;
}

long fuzz_ring_file(const char *path, const uint8_t *data, size_t n)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	uint64_t ds = usable_data_size(data, n);
	int rc = 0;
	if (!ds || n < RING_HDR + 2) {
		rc = put(fd, data, n, 0, n);
		ds = 0;
	} else {
		uint64_t nslots = ds / 128, index_off = RING_HDR + ds;
		uint64_t size = index_off + 16 * nslots;
		unsigned k = (unsigned)data[RING_HDR] << 8 | data[RING_HDR + 1];
		if (k & 0x8000u)
			size -= 4096;
		k &= 0x7fffu;
		if (k > nslots)
			k = (unsigned)nslots;
		size_t at = RING_HDR + 2;
		size_t slots = (n - at) / 16 < k ? (n - at) / 16 : k;
		rc = ftruncate(fd, (off_t)size) != 0 || put(fd, data, RING_HDR, 0, size) != 0 ||
		     put(fd, data + at, 16 * slots, index_off, size) != 0;
		at += 16 * slots;
		rc = rc || put(fd, data + at, n - at < ds ? n - at : ds, RING_HDR, size) != 0;
	}
	close(fd);
	return rc ? -1 : (long)ds;
}

static char dir[256];

static void remove_dir(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
	rmdir(dir);
}

const char *fuzz_dir(void)
{
	if (!dir[0]) {
		const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
		snprintf(dir, sizeof dir, "%s/nro-fuzz.XXXXXX", base ? base : "/tmp");
		if (!mkdtemp(dir))
			fuzz_fail(__FILE__, __LINE__, "mkdtemp");
		atexit(remove_dir);
	}
	return dir;
}
