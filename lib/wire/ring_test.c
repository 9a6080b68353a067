#include "wire/ring.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/testing.h"

static char dir[256];
static char path[512];

static void fresh_path(const char *name)
{
	snprintf(path, sizeof path, "%s/%s", dir, name);
	unlink(path);
}

/* Payload for seq: a length that varies with seq, a body derived from seq,
 * and a checksum over everything before it (so a torn copy shows). */
static size_t payload_len(uint64_t seq, size_t max)
{
	size_t n = 16 + (size_t)((seq * 2654435761u) % 1500);
	return n < max ? n : max;
}

static uint32_t fnv(const unsigned char *p, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static size_t make_payload(unsigned char *buf, uint64_t seq, size_t max)
{
	size_t n = payload_len(seq, max);
	memcpy(buf, &seq, 8);
	/* pseudo-random bytes: incompressible, so every record takes its full
	 * size in the ring and the laps below are what they say */
	uint64_t x = seq * 0x9E3779B97F4A7C15ull;
	for (size_t i = 8; i < n - 4; i++) {
		x ^= x >> 30;
		x *= 0xBF58476D1CE4E5B9ull;
		x ^= x >> 27;
		x += 0x94D049BB133111EBull;
		buf[i] = (unsigned char)(x >> 56);
	}
	uint32_t h = fnv(buf, n - 4);
	memcpy(buf + n - 4, &h, 4);
	return n;
}

/* 1 if b holds a whole, untorn payload for seq. */
static int payload_ok(const struct nro_buf *b, uint64_t seq)
{
	if (b->len < 16)
		return 0;
	uint64_t got;
	uint32_t h;
	memcpy(&got, b->p, 8);
	memcpy(&h, b->p + b->len - 4, 4);
	return got == seq && b->len == payload_len(seq, 65536) &&
	       h == fnv((const unsigned char *)b->p, b->len - 4);
}

TEST(write_then_read)
{
	fresh_path("a.ring");
	struct nro_ring w;
	char err[256];
	CHECK(nro_ring_create(&w, path, 64 << 10, err, sizeof err) == 0);
	CHECK(nro_ring_head(&w) == 0);
	CHECK(nro_ring_oldest(&w) == 1);
	CHECK(nro_ring_epoch(&w) != 0);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	unsigned char buf[2048];
	for (uint64_t s = 1; s <= 10; s++) {
		size_t n = make_payload(buf, s, sizeof buf);
		CHECK(nro_ring_write(&w, buf, n) == s);
	}
	CHECK(nro_ring_head(&w) == 10);
	struct nro_ring r;
	CHECK(nro_ring_open(&r, path, err, sizeof err) == 0);
	CHECK(nro_ring_epoch(&r) == nro_ring_epoch(&w));
	struct nro_buf out;
	nro_buf_init(&out, 1 << 20);
	for (uint64_t s = 1; s <= 10; s++) {
		CHECK(nro_ring_read(&r, s, &out) == 1);
		CHECK(payload_ok(&out, s));
	}
	CHECK(nro_ring_read(&r, 11, &out) == 0);
	CHECK(out.len == 0);
	CHECK(nro_ring_read(&r, 0, &out) == -1);
	CHECK(nro_ring_head(&r) == 10 && nro_ring_oldest(&r) == 1);
	/* the writer reads too */
	CHECK(nro_ring_read(&w, 3, &out) == 1 && payload_ok(&out, 3));
	/* peek: the first bytes and the whole length */
	uint64_t first = 0;
	size_t len = 0;
	CHECK(nro_ring_peek(&r, 7, &first, sizeof first, &len) == 1);
	CHECK(first == 7 && len == payload_len(7, sizeof buf));
	CHECK(nro_ring_peek(&r, 11, &first, 1, &len) == 0);
	/* refused: empty, larger than a quarter, and writes from a reader */
	CHECK(nro_ring_write(&w, buf, 0) == 0);
	static unsigned char big[(64 << 10) / 4 + 1];
	CHECK(nro_ring_write(&w, big, sizeof big) == 0);
	CHECK(nro_ring_write(&w, big, sizeof big - 1) == 11);
	CHECK(nro_ring_write(&r, buf, 10) == 0);
	nro_buf_free(&out);
	nro_ring_close(&r);
	nro_ring_close(&w);
}

TEST(wraps_many_times_and_detects_overwrites)
{
	fresh_path("wrap.ring");
	struct nro_ring w, r;
	char err[256];
	CHECK(nro_ring_create(&w, path, 64 << 10, err, sizeof err) == 0);
	CHECK(nro_ring_open(&r, path, err, sizeof err) == 0);
	struct nro_buf out;
	nro_buf_init(&out, 1 << 20);
	unsigned char buf[2048];
	int bad = 0;
	for (uint64_t s = 1; s <= 20000; s++) {
		size_t n = make_payload(buf, s, sizeof buf);
		if (nro_ring_write(&w, buf, n) != s)
			bad++;
		if (nro_ring_read(&r, s, &out) != 1 || !payload_ok(&out, s))
			bad++;
		uint64_t old = nro_ring_oldest(&r);
		if (old > s || nro_ring_read(&r, old, &out) != 1 || !payload_ok(&out, old))
			bad++;
		if (old > 1 && nro_ring_read(&r, old - 1, &out) != -1)
			bad++;
		if (nro_ring_read(&r, s + 1, &out) != 0)
			bad++;
	}
	CHECK(bad == 0);
	/* 20000 records of ~780 bytes went through 64 KiB: many laps */
	CHECK(nro_ring_oldest(&r) > 19900);
	CHECK(nro_ring_read(&r, 1, &out) == -1);
	CHECK(nro_ring_read(&r, 19000, &out) == -1);
	/* everything from oldest to head is whole */
	for (uint64_t s = nro_ring_oldest(&r); s <= nro_ring_head(&r); s++)
		CHECK(nro_ring_read(&r, s, &out) == 1 && payload_ok(&out, s));
	nro_buf_free(&out);
	nro_ring_close(&r);
	nro_ring_close(&w);
}

TEST(index_slots_bound_tiny_records)
{
	/* 64 KiB has 512 slots: 8-byte records run out of slots before bytes */
	fresh_path("slots.ring");
	struct nro_ring w;
	char err[256];
	CHECK(nro_ring_create(&w, path, 64 << 10, err, sizeof err) == 0);
	struct nro_buf out;
	nro_buf_init(&out, 64);
	for (uint64_t s = 1; s <= 2000; s++)
		CHECK(nro_ring_write(&w, &s, 8) == s);
	CHECK(nro_ring_oldest(&w) == 2000 - 512 + 1);
	CHECK(nro_ring_read(&w, 2000 - 512, &out) == -1);
	CHECK(nro_ring_read(&w, 2000 - 511, &out) == 1);
	uint64_t v = 0;
	memcpy(&v, out.p, 8);
	CHECK(v == 2000 - 511);
	nro_buf_free(&out);
	nro_ring_close(&w);
}

TEST(cap_too_small)
{
	fresh_path("cap.ring");
	struct nro_ring w;
	char err[256];
	CHECK(nro_ring_create(&w, path, 0, err, sizeof err) == 0);
	unsigned char buf[100] = {1};
	CHECK(nro_ring_write(&w, buf, sizeof buf) == 1);
	struct nro_buf out;
	nro_buf_init(&out, 99);
	CHECK(nro_ring_read(&w, 1, &out) == -2);
	out.max = 100;
	CHECK(nro_ring_read(&w, 1, &out) == 1 && out.len == 100);
	nro_buf_free(&out);
	nro_ring_close(&w);
}

TEST(reopen_continues_and_keeps_epoch)
{
	fresh_path("reopen.ring");
	struct nro_ring w;
	char err[256];
	unsigned char buf[2048];
	CHECK(nro_ring_create(&w, path, 100 << 10, err, sizeof err) == 0);
	uint64_t epoch = nro_ring_epoch(&w);
	for (uint64_t s = 1; s <= 300; s++)
		CHECK(nro_ring_write(&w, buf, make_payload(buf, s, sizeof buf)) == s);
	uint64_t oldest = nro_ring_oldest(&w);
	CHECK(oldest > 1);
	/* a second writer is refused while the first holds the ring */
	struct nro_ring w2;
	CHECK(nro_ring_create(&w2, path, 100 << 10, err, sizeof err) == -1);
	CHECK(strstr(err, "another writer") != NULL);
	/* a reader that stays open across the writer's restart */
	struct nro_ring r;
	CHECK(nro_ring_open(&r, path, err, sizeof err) == 0);
	nro_ring_close(&w);

	CHECK(nro_ring_create(&w, path, 100 << 10, err, sizeof err) == 0); /* same rounded size */
	CHECK(nro_ring_epoch(&w) == epoch);
	CHECK(nro_ring_head(&w) == 300);
	CHECK(nro_ring_oldest(&w) == oldest);
	CHECK(nro_ring_replaced(&r, path) == 0);
	for (uint64_t s = 301; s <= 400; s++)
		CHECK(nro_ring_write(&w, buf, make_payload(buf, s, sizeof buf)) == s);
	struct nro_buf out;
	nro_buf_init(&out, 1 << 20);
	for (uint64_t s = nro_ring_oldest(&r); s <= 400; s++)
		CHECK(nro_ring_read(&r, s, &out) == 1 && payload_ok(&out, s));
	nro_ring_close(&w);

	/* another size: a new ring with a new epoch, and the old reader notices */
	CHECK(nro_ring_create(&w, path, 256 << 10, err, sizeof err) == 0);
	CHECK(nro_ring_epoch(&w) != epoch);
	CHECK(nro_ring_head(&w) == 0);
	CHECK(nro_ring_replaced(&r, path) == 1);
	/* the old mapping still reads what it held */
	CHECK(nro_ring_read(&r, 400, &out) == 1 && payload_ok(&out, 400));
	nro_buf_free(&out);
	nro_ring_close(&r);
	nro_ring_close(&w);
}

/* A message like the analyzer's: compressible text of ~n bytes for seq. */
static size_t make_text(char *buf, size_t max, uint64_t seq)
{
	size_t n = 0;
	for (int i = 0; n + 80 < max && i < 40; i++)
		n += (size_t)snprintf(buf + n, max - n,
				      "container_memory_working_set_bytes{pod=\"p-%d\",seq=\"%llu\"} %d\n", i,
				      (unsigned long long)seq, i * 7);
	return n;
}

/* The record header's flags word (docs/ring.md: offset 20) of the record at
 * data offset off, in the writer's mapping. */
static uint32_t *flags_at(struct nro_ring *w, size_t off)
{
	return (uint32_t *)(void *)(w->data + off + 20);
}

TEST(compressible_records_are_deflated_and_read_back)
{
	fresh_path("z.ring");
	struct nro_ring w, r;
	char err[256];
	CHECK(nro_ring_create(&w, path, 64 << 10, err, sizeof err) == 0);
	static char buf[4096];
	uint64_t raw = 0;
	for (uint64_t s = 1; s <= 20; s++) {
		size_t n = make_text(buf, sizeof buf, s);
		raw += n;
		CHECK(nro_ring_write(&w, buf, n) == s);
	}
	/* each ~2.6 KB record takes a fraction of that in the ring */
	CHECK(w.next_pos * 4 < raw);
	uint32_t f;
	memcpy(&f, flags_at(&w, 0), 4);
	CHECK((f & 0x80000000u) && (f & 0x7fffffffu) == make_text(buf, sizeof buf, 1));
	CHECK(nro_ring_open(&r, path, err, sizeof err) == 0);
	struct nro_buf out;
	nro_buf_init(&out, 1 << 20);
	for (uint64_t s = 1; s <= 20; s++) {
		size_t n = make_text(buf, sizeof buf, s);
		CHECK(nro_ring_read(&r, s, &out) == 1);
		CHECK(out.len == n && memcmp(out.p, buf, n) == 0);
		char head[12];
		size_t len = 0;
		CHECK(nro_ring_peek(&r, s, head, sizeof head, &len) == 1);
		CHECK(len == n && memcmp(head, buf, sizeof head) == 0);
	}
	/* the inflated length counts against out's cap */
	out.max = make_text(buf, sizeof buf, 3) - 1;
	CHECK(nro_ring_read(&r, 3, &out) == -2);
	out.max = 1 << 20;
	/* short or incompressible records are kept as they are */
	CHECK(nro_ring_write(&w, "M tiny", 6) == 21);
	CHECK(nro_ring_read(&r, 21, &out) == 1 && out.len == 6 && memcmp(out.p, "M tiny", 6) == 0);
	nro_buf_free(&out);
	nro_ring_close(&r);
	nro_ring_close(&w);
}

TEST(corrupt_compressed_record_reads_as_lost)
{
	fresh_path("zbad.ring");
	struct nro_ring w, r;
	char err[256];
	CHECK(nro_ring_create(&w, path, 64 << 10, err, sizeof err) == 0);
	static char buf[4096];
	size_t n = make_text(buf, sizeof buf, 1);
	CHECK(nro_ring_write(&w, buf, n) == 1);
	CHECK(nro_ring_write(&w, buf, n) == 2);
	CHECK(nro_ring_open(&r, path, err, sizeof err) == 0);
	struct nro_buf out;
	nro_buf_init(&out, 1 << 20);
	uint32_t good;
	memcpy(&good, flags_at(&w, 0), 4);
	/* an inflated length that is not the stream's: longer, shorter */
	uint32_t bad = good + 1;
	memcpy(flags_at(&w, 0), &bad, 4);
	CHECK(nro_ring_read(&r, 1, &out) == -1 && out.len == 0);
	bad = good - 1;
	memcpy(flags_at(&w, 0), &bad, 4);
	CHECK(nro_ring_read(&r, 1, &out) == -1);
	/* flags without the deflated bit, a zero length, past a quarter */
	bad = good & 0x7fffffffu;
	memcpy(flags_at(&w, 0), &bad, 4);
	CHECK(nro_ring_read(&r, 1, &out) == -1);
	CHECK(nro_ring_peek(&r, 1, buf, 1, NULL) == -1);
	bad = 0x80000000u;
	memcpy(flags_at(&w, 0), &bad, 4);
	CHECK(nro_ring_read(&r, 1, &out) == -1);
	bad = 0x80000000u | ((64u << 10) / 4 + 1);
	memcpy(flags_at(&w, 0), &bad, 4);
	CHECK(nro_ring_read(&r, 1, &out) == -1);
	memcpy(flags_at(&w, 0), &good, 4);
	CHECK(nro_ring_read(&r, 1, &out) == 1 && out.len == n);
	/* a damaged stream: bytes of its body, or its zlib header */
	unsigned char *body = w.data + 24;
	unsigned char keep[64];
	memcpy(keep, body, sizeof keep);
	memset(body + 2, 0xff, 40);
	CHECK(nro_ring_read(&r, 1, &out) == -1);
	memcpy(body, keep, sizeof keep);
	body[0] ^= 0x01; /* the header's check bits */
	CHECK(nro_ring_read(&r, 1, &out) == -1);
	CHECK(nro_ring_peek(&r, 1, buf, 1, NULL) == -1);
	memcpy(body, keep, sizeof keep);
	CHECK(nro_ring_read(&r, 1, &out) == 1 && out.len == n && memcmp(out.p, buf, n) == 0);
	/* the next record is untouched by all this */
	CHECK(nro_ring_read(&r, 2, &out) == 1 && out.len == n);
	nro_buf_free(&out);
	nro_ring_close(&r);
	nro_ring_close(&w);
}

static uint64_t make_ring_with(uint64_t n)
{
	struct nro_ring w;
	char err[256];
	unsigned char buf[2048];
	if (nro_ring_create(&w, path, 0, err, sizeof err) != 0)
		return 0;
	for (uint64_t s = 1; s <= n; s++)
		nro_ring_write(&w, buf, make_payload(buf, s, sizeof buf));
	uint64_t e = nro_ring_epoch(&w);
	nro_ring_close(&w);
	return e;
}

static void write_file(const char *p, const void *data, size_t n)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	CHECK(write(fd, data, n) == (ssize_t)n);
	close(fd);
}

TEST(corrupt_or_short_file_is_recreated)
{
	char err[256];
	struct nro_ring w, r;
	fresh_path("bad.ring");
	/* garbage */
	char junk[4096];
	memset(junk, 'x', sizeof junk);
	write_file(path, junk, sizeof junk);
	CHECK(nro_ring_open(&r, path, err, sizeof err) == -1);
	CHECK(strstr(err, "not a valid ring") != NULL);
	CHECK(nro_ring_create(&w, path, 0, err, sizeof err) == 0);
	CHECK(nro_ring_head(&w) == 0 && nro_ring_epoch(&w) != 0);
	nro_ring_close(&w);
	CHECK(nro_ring_open(&r, path, err, sizeof err) == 0);
	nro_ring_close(&r);

	/* a valid ring cut short */
	uint64_t e1 = make_ring_with(5);
	CHECK(e1 != 0);
	CHECK(truncate(path, 1000) == 0);
	CHECK(nro_ring_open(&r, path, err, sizeof err) == -1);
	CHECK(nro_ring_create(&w, path, 0, err, sizeof err) == 0);
	CHECK(nro_ring_epoch(&w) != e1 && nro_ring_head(&w) == 0);
	nro_ring_close(&w);

	/* the newest record's bytes damaged (its in-data header) */
	uint64_t e2 = make_ring_with(5);
	struct nro_ring probe;
	CHECK(nro_ring_open(&probe, path, err, sizeof err) == 0);
	size_t off = (size_t)(probe.data - (unsigned char *)probe.map);
	nro_ring_close(&probe);
	int fd = open(path, O_RDWR);
	CHECK(fd >= 0);
	/* overwrite the whole data area's start: records 1.. are there */
	CHECK(pwrite(fd, junk, sizeof junk, (off_t)off) == (ssize_t)sizeof junk);
	close(fd);
	CHECK(nro_ring_create(&w, path, 0, err, sizeof err) == 0);
	CHECK(nro_ring_epoch(&w) != e2 && nro_ring_head(&w) == 0);
	nro_ring_close(&w);

	/* an empty file */
	write_file(path, "", 0);
	CHECK(nro_ring_create(&w, path, 0, err, sizeof err) == 0);
	CHECK(nro_ring_head(&w) == 0);
	nro_ring_close(&w);
	/* a reader refuses a missing file */
	fresh_path("missing.ring");
	CHECK(nro_ring_open(&r, path, err, sizeof err) == -1);
}

/* A tampered header (reserved far beyond the newest record, the fuzzer's
 * 266-byte reproducer) is not adopted: the ring is made anew and what is
 * written afterwards reads back. */
TEST(tampered_reserved_is_not_trusted)
{
	char err[256];
	fresh_path("tampered.ring");
	uint64_t e1 = make_ring_with(1);
	CHECK(e1 != 0);
	int fd = open(path, O_RDWR);
	CHECK(fd >= 0);
	uint64_t bad = 0xfffffffffffefff0ULL;
	CHECK(pwrite(fd, &bad, sizeof bad, 64) == (ssize_t)sizeof bad);
	close(fd);
	struct nro_ring w;
	CHECK(nro_ring_create(&w, path, 0, err, sizeof err) == 0);
	CHECK(nro_ring_epoch(&w) != e1 && nro_ring_head(&w) == 0);
	unsigned char buf[2048];
	struct nro_buf out;
	nro_buf_init(&out, 1 << 20);
	for (uint64_t q = 1; q <= 50; q++) {
		size_t n = make_payload(buf, q, sizeof buf);
		CHECK(nro_ring_write(&w, buf, n) == q);
		CHECK(nro_ring_read(&w, q, &out) == 1 && payload_ok(&out, q));
	}
	nro_buf_free(&out);
	nro_ring_close(&w);
}

/* Only a ring this user (or root) owns and nobody else may write is read;
 * the writer does not adopt one others could have written either. */
TEST(a_ring_others_may_write_is_refused)
{
	char err[256];
	fresh_path("open.ring");
	uint64_t e1 = make_ring_with(3);
	CHECK(chmod(path, 0666) == 0);
	struct nro_ring r, w;
	CHECK(nro_ring_open(&r, path, err, sizeof err) == -1);
	CHECK(strstr(err, "not writable by others") != NULL);
	CHECK(nro_ring_create(&w, path, 0, err, sizeof err) == 0);
	CHECK(nro_ring_epoch(&w) != e1);
	nro_ring_close(&w);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(nro_ring_open(&r, path, err, sizeof err) == 0);
	nro_ring_close(&r);
}

/* A reader whose file is cut short under it reads "lost" instead of dying
 * of SIGBUS, and is told to reopen. */
TEST(reader_survives_a_ring_truncated_under_it)
{
	char err[256];
	fresh_path("cut.ring");
	CHECK(make_ring_with(20) != 0);
	struct nro_ring r;
	CHECK(nro_ring_open(&r, path, err, sizeof err) == 0);
	struct nro_buf out;
	nro_buf_init(&out, 1 << 20);
	CHECK(nro_ring_read(&r, 20, &out) == 1);
	CHECK(truncate(path, 4096) == 0);
	for (uint64_t q = 1; q <= 20; q++)
		CHECK(nro_ring_read(&r, q, &out) == -1);
	uint8_t kind;
	size_t len;
	CHECK(nro_ring_peek(&r, 20, &kind, 1, &len) == -1);
	CHECK(nro_ring_replaced(&r, path) == 1);
	nro_buf_free(&out);
	nro_ring_close(&r);
}

/* A reader process following a fast writer through a 64 KiB ring: whatever
 * it reads is whole (checksums), it sees every seq as either copied or lost,
 * and the oldest records (the ones being overwritten) are read on purpose. */
TEST(concurrent_reader_never_sees_a_torn_record)
{
	enum { N = 100000 };
	fresh_path("race.ring");
	struct nro_ring w;
	char err[256];
	CHECK(nro_ring_create(&w, path, 64 << 10, err, sizeof err) == 0);
	int go[2];
	CHECK(pipe(go) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(go[1]);
		struct nro_ring r;
		if (nro_ring_open(&r, path, err, sizeof err) != 0)
			_exit(2);
		char c;
		if (read(go[0], &c, 1) != 1)
			_exit(3);
		struct nro_buf out;
		nro_buf_init(&out, 1 << 20);
		uint64_t next = 1, copied = 0, lost = 0, torn = 0, old_copied = 0;
		while (next <= N) {
			int rc = nro_ring_read(&r, next, &out);
			if (rc == 1) {
				if (!payload_ok(&out, next))
					torn++;
				copied++;
				next++;
			} else if (rc == -1) {
				lost++;
				next++;
			} else if (rc == 0) {
				sched_yield();
			} else {
				torn++;
				next++;
			}
			/* opening while the writer runs always works */
			if (next % 1000 == 0) {
				nro_ring_close(&r);
				if (nro_ring_open(&r, path, err, sizeof err) != 0) {
					fprintf(stderr, "reopen: %s\n", err);
					_exit(5);
				}
			}
			/* the record about to be overwritten */
			uint64_t old = nro_ring_oldest(&r);
			if (nro_ring_read(&r, old, &out) == 1) {
				if (!payload_ok(&out, old))
					torn++;
				old_copied++;
			}
		}
		fprintf(stderr, "reader: copied %llu, lost %llu, oldest copied %llu, torn %llu\n",
			(unsigned long long)copied, (unsigned long long)lost,
			(unsigned long long)old_copied, (unsigned long long)torn);
		nro_buf_free(&out);
		nro_ring_close(&r);
		_exit(torn ? 1 : copied + lost == N ? 0 : 4);
	}
	close(go[0]);
	unsigned char buf[2048];
	CHECK(write(go[1], "g", 1) == 1);
	for (uint64_t s = 1; s <= N; s++)
		if (nro_ring_write(&w, buf, make_payload(buf, s, sizeof buf)) != s)
			CHECK(!"write failed");
	close(go[1]);
	int status = 0;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	nro_ring_close(&w);
}

int main(void)
{
	snprintf(dir, sizeof dir, "%s/nro-ring-test.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(write_then_read);
	RUN(wraps_many_times_and_detects_overwrites);
	RUN(index_slots_bound_tiny_records);
	RUN(cap_too_small);
	RUN(reopen_continues_and_keeps_epoch);
	RUN(compressible_records_are_deflated_and_read_back);
	RUN(corrupt_compressed_record_reads_as_lost);
	RUN(corrupt_or_short_file_is_recreated);
	RUN(tampered_reserved_is_not_trusted);
	RUN(a_ring_others_may_write_is_refused);
	RUN(reader_survives_a_ring_truncated_under_it);
	RUN(concurrent_reader_never_sees_a_torn_record);
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return testing_done();
}
