/*
 * The analyzer's shared-memory ring (lib/wire/ring.h); the layout, byte by byte,
 * is in docs/ring.md.
 *
 * One writer, many readers, no locks on the read path. The writer announces
 * "bytes up to absolute position P may be overwritten from now on"
 * (hdr->reserved) before it touches the data area, and readers check that
 * announcement before and after copying a record: a record at absolute
 * position p is intact while reserved <= p + data_size. Index slots are
 * updated like a seqlock (seq 0, pos, seq), so a reader never pairs a
 * sequence number with another record's position.
 *
 * Data bytes are copied with memcpy while the writer may be overwriting
 * them; the fences below make the reader's second look at `reserved`
 * see any overwrite its copy could have observed (the seqlock pattern).
 *
 * A record the writer can shrink is stored deflated (zlib, flagged in its
 * record header with its inflated length); a reader inflates it straight
 * from the mapping, bounded by that length, then checks `reserved` as for
 * any copy. zlib reads its input once and checks what it reads, so a torn
 * or corrupt stream is an error (lost), never a crash.
 */
#include "wire/ring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define RING_MAGIC "NRORING\0"
#define RING_VERSION 2u    /* 2: records may be deflated; 1 (never deflated) is still read */
#define RING_HDR_SIZE 256u
#define RING_REC_HDR 24u
#define RING_BOM 0x01020304u
#define RING_MIN_DATA (64u << 10)
#define RING_MAX_DATA ((uint64_t)1 << 30)
#define RING_BYTES_PER_SLOT 128u
#define RING_DEFLATED 0x80000000u /* rec_hdr.flags: the payload is a zlib stream */
#define RING_RAW_MASK 0x7fffffffu /* ... of a message this long */
#define RING_Z_MIN 128u           /* shorter records are kept as they are */
#define RING_Z_LEVEL 1            /* zlib's fastest: most of level 9's gain here */
#define RING_Z_WBITS 13           /* an 8 KiB window and memLevel 6: a 64 KiB stream */
#define RING_Z_MEMLEVEL 6
#define RING_Z_CHUNK 16384u       /* a reader inflates through a stack chunk this big */

_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "the ring needs lock-free 64-bit atomics");
_Static_assert(sizeof(unsigned long long) == sizeof(uint64_t), "64-bit long long");

/* Offsets are part of docs/ring.md: the static asserts below keep them. */
struct nro_ring_hdr {
	char magic[8];             /* 0   "NRORING\0" */
	uint32_t version;          /* 8   1 */
	uint32_t hdr_size;         /* 12  256 */
	uint64_t epoch;            /* 16  random, never 0 */
	uint64_t data_size;        /* 24  power of two */
	uint64_t nslots;           /* 32  data_size / 128 */
	uint64_t data_off;         /* 40  256 */
	uint64_t index_off;        /* 48  256 + data_size */
	uint32_t byte_order;       /* 56  0x01020304 in host order */
	uint32_t rec_hdr;          /* 60  24 */
	_Atomic uint64_t reserved; /* 64  absolute byte position the writer may write up to */
	char pad1[56];
	_Atomic uint64_t head;     /* 128 newest complete seq, 0 = none */
	_Atomic uint64_t tail;     /* 136 oldest seq still held (head + 1 when empty) */
	char pad2[112];
};

struct nro_ring_slot {
	_Atomic uint64_t seq; /* the record this slot indexes; 0 = being rewritten */
	_Atomic uint64_t pos; /* its absolute byte position */
};

/* A record in the data area, at an 8-aligned physical offset. */
struct rec_hdr {
	uint64_t seq; /* 0 = wrap marker: nothing more before the end of the area */
	uint64_t pos; /* absolute position of this header */
	uint32_t len;   /* payload bytes that follow */
	uint32_t flags; /* 0, or RING_DEFLATED | the inflated length (version 2) */
};

_Static_assert(sizeof(struct nro_ring_hdr) == RING_HDR_SIZE, "header is 256 bytes");
_Static_assert(offsetof(struct nro_ring_hdr, reserved) == 64, "reserved at 64");
_Static_assert(offsetof(struct nro_ring_hdr, head) == 128, "head at 128");
_Static_assert(offsetof(struct nro_ring_hdr, tail) == 136, "tail at 136");
_Static_assert(sizeof(struct nro_ring_slot) == 16, "slot is 16 bytes");
_Static_assert(sizeof(struct rec_hdr) == RING_REC_HDR, "record header is 24 bytes");

static uint64_t align8(uint64_t n)
{
	return (n + 7) & ~(uint64_t)7;
}

static uint64_t round_pow2(uint64_t n)
{
	uint64_t p = RING_MIN_DATA;
	while (p < n && p < RING_MAX_DATA)
		p <<= 1;
	return p;
}

static uint64_t file_size_for(uint64_t ds)
{
	return RING_HDR_SIZE + ds + (ds / RING_BYTES_PER_SLOT) * sizeof(struct nro_ring_slot);
}

static uint64_t new_epoch(void)
{
	uint64_t e = 0;
	unsigned char *p = (unsigned char *)&e;
	size_t got = 0;
	while (got < sizeof e) {
		ssize_t n = getrandom(p + got, sizeof e - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		got += (size_t)n;
	}
	if (got < sizeof e) {
		/* no getrandom: time and pid still differ between creations */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		e ^= (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^
		     (uint64_t)getpid() << 40;
	}
	return e ? e : 1;
}

static void set_views(struct nro_ring *r)
{
	struct nro_ring_hdr *h = r->map;
	r->hdr = h;
	r->data_size = h->data_size;
	r->nslots = h->nslots;
	r->data = (unsigned char *)r->map + h->data_off;
	r->index = (struct nro_ring_slot *)((unsigned char *)r->map + h->index_off);
}

/* Checks the static header against the file's size; quiet: no writer is
 * running (we are the writer, reopening), so the moving fields are checked
 * strictly too. 0 or -1 with why. */
static int check_header(const struct nro_ring_hdr *h, uint64_t file_size, int quiet,
			const char **why)
{
	if (file_size < RING_HDR_SIZE) {
		*why = "shorter than the header";
		return -1;
	}
	if (memcmp(h->magic, RING_MAGIC, 8) != 0) {
		*why = "bad magic";
		return -1;
	}
	/* a writer carries on only with its own version; readers take both */
	if ((h->version != RING_VERSION && (quiet || h->version != 1)) || h->hdr_size != RING_HDR_SIZE ||
	    h->byte_order != RING_BOM || h->rec_hdr != RING_REC_HDR) {
		*why = "unsupported version or byte order";
		return -1;
	}
	uint64_t ds = h->data_size;
	if (ds < RING_MIN_DATA || ds > RING_MAX_DATA || (ds & (ds - 1)) != 0 ||
	    h->nslots != ds / RING_BYTES_PER_SLOT || h->data_off != RING_HDR_SIZE ||
	    h->index_off != RING_HDR_SIZE + ds) {
		*why = "inconsistent sizes";
		return -1;
	}
	if (file_size != file_size_for(ds)) {
		*why = "file size does not match the header";
		return -1;
	}
	if (h->epoch == 0) {
		*why = "epoch 0";
		return -1;
	}
	/* tail first: a writer running meanwhile only moves both forward, so
	 * tail <= head + 1 holds; the slot bound only when no writer runs */
	uint64_t tail = atomic_load_explicit(&h->tail, memory_order_acquire);
	uint64_t head = atomic_load_explicit(&h->head, memory_order_acquire);
	uint64_t res = atomic_load_explicit(&h->reserved, memory_order_acquire);
	if (tail < 1 || tail > head + 1 || (quiet && head + 1 - tail > h->nslots) ||
	    (quiet && (res & 7) != 0)) {
		*why = "inconsistent head, tail or position";
		return -1;
	}
	return 0;
}

/* Writer reopening: the newest record must be where the index says, so the
 * ring really is in the state its header claims (a writer killed mid-record
 * never published it: head moves last). 0 or -1. */
static int check_newest(struct nro_ring *r, const char **why)
{
	struct nro_ring_hdr *h = r->hdr;
	uint64_t head = atomic_load(&h->head);
	uint64_t res = atomic_load(&h->reserved);
	if (head == 0) {
		*why = "reserved bytes in an empty ring";
		return res == 0 ? 0 : -1;
	}
	struct nro_ring_slot *s = &r->index[head & (r->nslots - 1)];
	uint64_t pos = atomic_load(&s->pos);
	struct rec_hdr rh;
	uint64_t phys = pos & (r->data_size - 1);
	if (atomic_load(&s->seq) != head || (pos & 7) != 0 || phys + RING_REC_HDR > r->data_size) {
		*why = "index does not hold the newest record";
		return -1;
	}
	memcpy(&rh, r->data + phys, sizeof rh);
	/* a finished write leaves reserved exactly at the newest record's end:
	 * anything else (a tampered or corrupt header) would make every later
	 * record look overwritten */
	if (rh.seq != head || rh.pos != pos || rh.len == 0 || rh.len > r->data_size / 4 ||
	    phys + RING_REC_HDR + rh.len > r->data_size ||
	    pos > UINT64_MAX - r->data_size || pos + align8(RING_REC_HDR + rh.len) != res) {
		*why = "newest record does not match the index";
		return -1;
	}
	return 0;
}

static void unmap(struct nro_ring *r)
{
	if (r->map && r->map != MAP_FAILED)
		munmap(r->map, r->map_len);
	if (r->fd >= 0)
		close(r->fd);
	r->map = NULL;
	r->fd = -1;
}

/* Maps fd whole; 0 or -1 with errno. */
static int map_fd(struct nro_ring *r, int fd, uint64_t size, int prot)
{
	void *m = mmap(NULL, (size_t)size, prot, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return -1;
	r->fd = fd;
	r->map = m;
	r->map_len = (size_t)size;
	return 0;
}

static void remember_id(struct nro_ring *r, const struct stat *st)
{
	r->dev = (uint64_t)st->st_dev;
	r->ino = (uint64_t)st->st_ino;
}

/* Makes path's directory (mode 0700) if it is missing; errors surface at open. */
static void make_parent(const char *path)
{
	char dir[4096];
	int n = snprintf(dir, sizeof dir, "%s", path);
	if (n < 0 || (size_t)n >= sizeof dir)
		return;
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return;
}

/* Backs every page of the file now: a sparse ring on a full tmpfs would
 * kill the writer with SIGBUS at its first write to an unbacked page.
 * 0, or an errno value (ENOSPC when the file system is full). */
static int reserve_space(int fd, uint64_t size)
{
	int rc = posix_fallocate(fd, 0, (off_t)size);
	return rc == EINTR ? posix_fallocate(fd, 0, (off_t)size) : rc;
}

/* Tries to carry on with an existing ring at path. 1 reused, 0 not usable
 * (create anew), -1 fatal (another writer holds it), with err set. */
static int reuse_existing(struct nro_ring *r, const char *path, uint64_t ds, char *err,
			  size_t errlen)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path,
			 e == EWOULDBLOCK ? "another writer holds this ring" : strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != file_size_for(ds) ||
	    st.st_uid != geteuid() || (st.st_mode & 0077) != 0 ||
	    reserve_space(fd, (uint64_t)st.st_size) != 0 ||
	    map_fd(r, fd, (uint64_t)st.st_size, PROT_READ | PROT_WRITE) != 0) {
		/* someone else's, too open, or no room: made anew below */
		close(fd);
		return 0;
	}
	const char *why = NULL;
	if (check_header(r->map, (uint64_t)st.st_size, 1, &why) != 0) {
		unmap(r);
		return 0;
	}
	set_views(r);
	if (r->data_size != ds || check_newest(r, &why) != 0) {
		unmap(r);
		return 0;
	}
	remember_id(r, &st);
	r->next_pos = atomic_load(&r->hdr->reserved);
	return 1;
}

int nro_ring_create(struct nro_ring *r, const char *path, size_t data_size, char *err,
		    size_t errlen)
{
	memset(r, 0, sizeof *r);
	r->fd = -1;
	if ((uint64_t)data_size > RING_MAX_DATA) {
		snprintf(err, errlen, "ring size %zu is above the maximum of 1 GiB", data_size);
		errno = EINVAL;
		return -1;
	}
	uint64_t ds = round_pow2(data_size);
	make_parent(path);
	int rc = reuse_existing(r, path, ds, err, errlen);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		r->writer = 1;
		return 0;
	}

	char tmp[4200];
	int n = snprintf(tmp, sizeof tmp, "%s.new", path);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		snprintf(err, errlen, "ring path too long");
		errno = ENAMETOOLONG;
		return -1;
	}
	unlink(tmp);
	int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", tmp, strerror(e));
		errno = e;
		return -1;
	}
	uint64_t size = file_size_for(ds);
	int space = 0;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0 || ftruncate(fd, (off_t)size) != 0 ||
	    (space = reserve_space(fd, size)) != 0 ||
	    map_fd(r, fd, size, PROT_READ | PROT_WRITE) != 0) {
		int e = space ? space : errno;
		if (space == ENOSPC)
			snprintf(err, errlen, "%s: no room for a ring of %llu bytes (the file system "
				 "is full: free space there or lower --ring-size)", tmp,
				 (unsigned long long)size);
		else
			snprintf(err, errlen, "%s: %s", tmp, strerror(e));
		close(fd);
		unlink(tmp);
		errno = e;
		return -1;
	}
	struct nro_ring_hdr *h = r->map;
	h->version = RING_VERSION;
	h->hdr_size = RING_HDR_SIZE;
	h->epoch = new_epoch();
	h->data_size = ds;
	h->nslots = ds / RING_BYTES_PER_SLOT;
	h->data_off = RING_HDR_SIZE;
	h->index_off = RING_HDR_SIZE + ds;
	h->byte_order = RING_BOM;
	h->rec_hdr = RING_REC_HDR;
	atomic_store(&h->reserved, 0);
	atomic_store(&h->head, 0);
	atomic_store(&h->tail, 1);
	atomic_thread_fence(memory_order_release);
	memcpy(h->magic, RING_MAGIC, 8); /* last: a half-made file never validates */
	set_views(r);
	struct stat st;
	if (fstat(fd, &st) != 0 || rename(tmp, path) != 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		unmap(r);
		unlink(tmp);
		errno = e;
		return -1;
	}
	remember_id(r, &st);
	r->next_pos = 0;
	r->writer = 1;
	return 0;
}

int nro_ring_open(struct nro_ring *r, const char *path, char *err, size_t errlen)
{
	memset(r, 0, sizeof *r);
	r->fd = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < RING_HDR_SIZE ||
	    (uint64_t)st.st_size > file_size_for(RING_MAX_DATA)) {
		snprintf(err, errlen, "%s: not a ring (size %lld)", path, (long long)st.st_size);
		close(fd);
		return -1;
	}
	if ((st.st_mode & 0022) != 0 || (st.st_uid != geteuid() && st.st_uid != 0)) {
		/* whoever may write it can forge what sinks deliver */
		snprintf(err, errlen, "%s: refusing a ring owned by uid %u with mode %04o (want "
			 "this user's or root's, not writable by others)", path,
			 (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	if (map_fd(r, fd, (uint64_t)st.st_size, PROT_READ) != 0) {
		snprintf(err, errlen, "%s: mmap: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	const char *why = NULL;
	if (check_header(r->map, (uint64_t)st.st_size, 0, &why) != 0) {
		snprintf(err, errlen, "%s: not a valid ring: %s", path, why);
		unmap(r);
		return -1;
	}
	set_views(r);
	remember_id(r, &st);
	return 0;
}

/* A reader's file cut shorter than its mapping: touching the missing pages
 * would raise SIGBUS, so such a ring reads as lost until it is reopened.
 * (A truncation racing a copy still can; only a foreign process does it.) */
static int truncated(const struct nro_ring *r)
{
	struct stat st;
	if (r->writer || r->fd < 0)
		return 0;
	return fstat(r->fd, &st) != 0 || (uint64_t)st.st_size < (uint64_t)r->map_len;
}

void nro_ring_close(struct nro_ring *r)
{
	if (r->z) {
		deflateEnd(r->z);
		free(r->z);
		r->z = NULL;
	}
	free(r->zbuf);
	r->zbuf = NULL;
	r->zcap = 0;
	unmap(r);
	r->hdr = NULL;
	r->data = NULL;
	r->index = NULL;
	r->writer = 0;
}

int nro_ring_replaced(const struct nro_ring *r, const char *path)
{
	struct stat st;
	if (truncated(r))
		return 1; /* cut short under us: reopen whatever the path holds now */
	if (stat(path, &st) != 0)
		return 0;
	return (uint64_t)st.st_dev != r->dev || (uint64_t)st.st_ino != r->ino;
}

/* msg deflated into r->zbuf, when that makes its record smaller: returns
 * the stream's length, or 0 to keep msg as it is (too short, no gain, or
 * no memory for the stream). */
static size_t deflate_msg(struct nro_ring *r, const void *msg, size_t len)
{
	if (len < RING_Z_MIN)
		return 0;
	z_stream *z = r->z;
	if (!z) {
		z = calloc(1, sizeof *z);
		if (!z || deflateInit2(z, RING_Z_LEVEL, Z_DEFLATED, RING_Z_WBITS, RING_Z_MEMLEVEL,
				       Z_DEFAULT_STRATEGY) != Z_OK) {
			free(z);
			return 0;
		}
		r->z = z;
	} else if (deflateReset(z) != Z_OK) {
		return 0;
	}
	size_t bound = deflateBound(z, (uLong)len);
	if (bound > r->zcap) {
		unsigned char *p = realloc(r->zbuf, bound);
		if (!p)
			return 0;
		r->zbuf = p;
		r->zcap = bound;
	}
	z->next_in = (z_const Bytef *)msg;
	z->avail_in = (uInt)len;
	z->next_out = r->zbuf;
	z->avail_out = (uInt)bound;
	if (deflate(z, Z_FINISH) != Z_STREAM_END)
		return 0;
	size_t zl = (size_t)z->total_out;
	return align8(zl) < align8(len) ? zl : 0;
}

uint64_t nro_ring_write(struct nro_ring *r, const void *msg, size_t len)
{
	if (!r->writer || !r->hdr || len == 0 || len > r->data_size / 4)
		return 0;
	uint32_t flags = 0;
	size_t zl = deflate_msg(r, msg, len);
	if (zl) {
		flags = RING_DEFLATED | (uint32_t)len;
		msg = r->zbuf;
		len = zl;
	}
	struct nro_ring_hdr *h = r->hdr;
	uint64_t ds = r->data_size, mask = ds - 1, nmask = r->nslots - 1;
	uint64_t sz = align8(RING_REC_HDR + (uint64_t)len);
	uint64_t pos = r->next_pos;
	uint64_t phys = pos & mask;
	uint64_t marker = UINT64_MAX; /* physical offset of a wrap marker, if any */
	if (phys + sz > ds) {
		if (ds - phys >= RING_REC_HDR)
			marker = phys;
		pos += ds - phys;
		phys = 0;
	}
	uint64_t end = pos + sz;
	uint64_t head = atomic_load_explicit(&h->head, memory_order_relaxed);
	uint64_t seq = head + 1;

	/* the oldest record left once [.., end) is reserved and slot seq is reused */
	uint64_t tail = atomic_load_explicit(&h->tail, memory_order_relaxed);
	if (seq > r->nslots && tail < seq - r->nslots + 1)
		tail = seq - r->nslots + 1;
	while (tail <= head) {
		struct nro_ring_slot *s = &r->index[tail & nmask];
		if (atomic_load_explicit(&s->seq, memory_order_relaxed) == tail &&
		    atomic_load_explicit(&s->pos, memory_order_relaxed) + ds >= end)
			break;
		tail++;
	}
	atomic_store_explicit(&h->tail, tail, memory_order_release);

	/* announce the overwrite before making it */
	atomic_store_explicit(&h->reserved, end, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);

	if (marker != UINT64_MAX) {
		struct rec_hdr w = {0, pos - (ds - marker), 0, 0};
		memcpy(r->data + marker, &w, sizeof w);
	}
	struct rec_hdr rh = {seq, pos, (uint32_t)len, flags};
	memcpy(r->data + phys, &rh, sizeof rh);
	memcpy(r->data + phys + RING_REC_HDR, msg, len);
	size_t padn = (size_t)(sz - RING_REC_HDR - len);
	if (padn)
		memset(r->data + phys + RING_REC_HDR + len, 0, padn);

	/* the slot: invalidate, position, then the seq that makes it valid */
	struct nro_ring_slot *s = &r->index[seq & nmask];
	atomic_store_explicit(&s->seq, 0, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&s->pos, pos, memory_order_relaxed);
	atomic_store_explicit(&s->seq, seq, memory_order_release);
	atomic_store_explicit(&h->head, seq, memory_order_release);
	r->next_pos = end;
	return seq;
}

uint64_t nro_ring_head(const struct nro_ring *r)
{
	return r->hdr ? atomic_load_explicit(&r->hdr->head, memory_order_acquire) : 0;
}

uint64_t nro_ring_oldest(const struct nro_ring *r)
{
	return r->hdr ? atomic_load_explicit(&r->hdr->tail, memory_order_acquire) : 1;
}

uint64_t nro_ring_epoch(const struct nro_ring *r)
{
	return r->hdr ? r->hdr->epoch : 0;
}

/* Still intact: the writer has not announced an overwrite of position pos
 * (written without pos + data_size, which a corrupt pos would wrap). */
static int intact(const struct nro_ring *r, uint64_t pos)
{
	atomic_thread_fence(memory_order_acquire);
	uint64_t res = atomic_load_explicit(&r->hdr->reserved, memory_order_relaxed);
	return res >= pos && res - pos <= r->data_size;
}

/* Finds record seq: 1 with its position and header, 0 not written yet, -1 lost. */
static int locate(const struct nro_ring *r, uint64_t seq, uint64_t *posp, struct rec_hdr *rh)
{
	if (!r->hdr)
		return -1;
	uint64_t head = atomic_load_explicit(&r->hdr->head, memory_order_acquire);
	if (seq > head)
		return 0;
	if (seq == 0)
		return -1;
	const struct nro_ring_slot *s = &r->index[seq & (r->nslots - 1)];
	/* const_cast for the loads only: the reader maps the file read-only */
	struct nro_ring_slot *sw = (struct nro_ring_slot *)s;
	if (atomic_load_explicit(&sw->seq, memory_order_acquire) != seq)
		return -1;
	uint64_t pos = atomic_load_explicit(&sw->pos, memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&sw->seq, memory_order_relaxed) != seq)
		return -1;
	uint64_t ds = r->data_size, phys = pos & (ds - 1);
	if ((pos & 7) != 0 || phys + RING_REC_HDR > ds || !intact(r, pos))
		return -1;
	memcpy(rh, r->data + phys, sizeof *rh);
	if (rh->seq != seq || rh->pos != pos || rh->len == 0 || rh->len > ds / 4 ||
	    phys + RING_REC_HDR + rh->len > ds)
		return -1; /* overwritten under us (or corrupt) */
	uint32_t raw = rh->flags & RING_RAW_MASK;
	if (rh->flags && (!(rh->flags & RING_DEFLATED) || raw == 0 || raw > ds / 4))
		return -1; /* corrupt */
	*posp = pos;
	return 1;
}

/* The message's length: the payload's, or the inflated length. */
static size_t raw_len(const struct rec_hdr *rh)
{
	return rh->flags ? (size_t)(rh->flags & RING_RAW_MASK) : (size_t)rh->len;
}

static int z_begin(z_stream *z, const unsigned char *src, size_t n)
{
	memset(z, 0, sizeof *z);
	if (inflateInit2(z, 0) != Z_OK) /* 0: the window the stream's header names */
		return -1;
	z->next_in = (z_const Bytef *)src;
	z->avail_in = (uInt)n;
	return 0;
}

/* Appends the inflated zlib stream src[0..n) to out: it must be exactly
 * want bytes and end exactly at n. 1, -1 corrupt, -2 out's cap or memory. */
static int inflate_all(const unsigned char *src, size_t n, size_t want, struct nro_buf *out)
{
	z_stream z;
	if (z_begin(&z, src, n) != 0)
		return -2;
	unsigned char chunk[RING_Z_CHUNK];
	size_t got = 0;
	int zr, rc = -1;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof chunk;
		zr = inflate(&z, Z_NO_FLUSH);
		size_t k = sizeof chunk - z.avail_out;
		if (k > want - got)
			goto done; /* longer than it says: corrupt */
		if (k && nro_buf_add(out, chunk, k) != 0) {
			rc = -2;
			goto done;
		}
		got += k;
	} while (zr == Z_OK);
	if (zr == Z_MEM_ERROR)
		rc = -2;
	else if (zr == Z_STREAM_END && got == want && z.avail_in == 0)
		rc = 1;
done:
	inflateEnd(&z);
	return rc;
}

/* The first k (<= the inflated length) bytes of the stream into out. 1 or -1. */
static int inflate_head(const unsigned char *src, size_t n, void *out, size_t k)
{
	z_stream z;
	if (z_begin(&z, src, n) != 0)
		return -1;
	z.next_out = out;
	z.avail_out = (uInt)k;
	int zr = Z_OK;
	while (z.avail_out && zr == Z_OK)
		zr = inflate(&z, Z_NO_FLUSH);
	inflateEnd(&z);
	return z.avail_out == 0 ? 1 : -1;
}

int nro_ring_read(const struct nro_ring *r, uint64_t seq, struct nro_buf *out)
{
	nro_buf_reset(out);
	if (truncated(r))
		return -1;
	uint64_t pos;
	struct rec_hdr rh;
	int rc = locate(r, seq, &pos, &rh);
	if (rc != 1)
		return rc;
	if (raw_len(&rh) > out->max)
		return intact(r, pos) ? -2 : -1;
	const unsigned char *src = r->data + (pos & (r->data_size - 1)) + RING_REC_HDR;
	if (rh.flags) {
		rc = inflate_all(src, rh.len, raw_len(&rh), out);
		if (rc != 1 || !intact(r, pos)) {
			nro_buf_reset(out);
			return intact(r, pos) ? rc : -1; /* -1 corrupt, -2 cap or memory */
		}
		return 1;
	}
	if (nro_buf_add(out, src, rh.len) != 0)
		return intact(r, pos) ? -2 : -1; /* out of memory counts as "cap" */
	if (!intact(r, pos)) {
		nro_buf_reset(out);
		return -1;
	}
	return 1;
}

int nro_ring_peek(const struct nro_ring *r, uint64_t seq, void *out, size_t n, size_t *len)
{
	if (truncated(r))
		return -1;
	uint64_t pos;
	struct rec_hdr rh;
	int rc = locate(r, seq, &pos, &rh);
	if (rc != 1)
		return rc;
	size_t raw = raw_len(&rh);
	size_t k = n < raw ? n : raw;
	const unsigned char *src = r->data + (pos & (r->data_size - 1)) + RING_REC_HDR;
	if (k && rh.flags)
		rc = inflate_head(src, rh.len, out, k);
	else if (k)
		memcpy(out, src, k);
	if (rc != 1 || !intact(r, pos))
		return -1;
	if (len)
		*len = raw;
	return 1;
}
