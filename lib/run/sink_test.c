/*
 * lib/sink tests, and a stand-in for the analyzer's output side.
 *
 *   sink_test                 unit tests (cursor file, the delivery rule
 *                             against a flaky destination, in a child)
 *   sink_test --ringpub ...   creates/reopens a ring, listens on events.ipc
 *                             as PUB and publishes event records (seq = ring
 *                             seq), each written to the ring first; prints
 *                             the seq of every event it wrote, one a line.
 *                             Used by tests/sink_test.sh; see usage below.
 */
#include "run/sink.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "base/log.h"
#include "wire/record.h"
#include "wire/ring.h"
#include "base/testing.h"
#include "run/tool.h"
#include "wire/transport.h"

/* ---- the publisher -------------------------------------------------------- */

static const char *const ev_types[] = {"PodCrashLooping", "ContainerOOMKilled", "NodeMemoryPressure",
				       "ProbeFailing"};

/* Encodes event number i (1-based) as seq into e; returns its length. Odd
 * events fire, even ones resolve the one before; severities cycle. */
static size_t encode_event(struct nro_enc *e, uint64_t seq, uint64_t i, const char *node)
{
	char pod[32], msg[64], idx[24];
	snprintf(pod, sizeof pod, "pod-%llu", (unsigned long long)((i + 1) / 2));
	snprintf(msg, sizeof msg, "test event %llu", (unsigned long long)i);
	snprintf(idx, sizeof idx, "%llu", (unsigned long long)i);
	struct nro_attr a[1] = {{nro_s("test.index"), nro_s(idx)}};
	nro_enc_begin(e, NRO_KIND_EVENT, seq, nro_wall_ms(), "analyzer", node);
	struct nro_event v = {
		.type = nro_s(ev_types[((i + 1) / 2) % 4]),
		.severity = (uint8_t)(((i + 1) / 2) % 3),
		.state = (i % 2) ? NRO_EV_FIRING : NRO_EV_RESOLVED,
		.flags = NRO_EVF_ALL,
		.object = {NRO_OBJ_CONTAINER, nro_s("ns"), nro_s(pod), nro_s("c"), {"", 0}},
		.value = (double)i,
		.threshold = 3,
		.since_ms = 0,
		.message = nro_s(msg),
		.nattrs = 1,
		.attrs = a,
	};
	nro_enc_event(e, &v);
	return nro_enc_finish(e);
}

static size_t encode_metric(struct nro_enc *e, uint64_t seq, uint64_t i, const char *node)
{
	nro_enc_begin(e, NRO_KIND_METRIC, seq, nro_wall_ms(), "analyzer", node);
	struct nro_attr a[1] = {{nro_s("k8s.node.name"), nro_s(node)}};
	struct nro_metric m = {nro_s("node_runtime_events_total"), nro_s("1"), NRO_MT_COUNTER,
			       (double)i, 0, 1, a};
	nro_enc_metric(e, &m);
	return nro_enc_finish(e);
}

struct pub {
	struct nro_ring ring;
	struct nro_out out;
	int publish;
	struct nro_enc enc;
	uint64_t events, metrics_every, skip_from, skip_to;
	FILE *seqs; /* where event seqs are printed, or NULL */
};

/* Writes one record to the ring, then publishes it (unless in the skip range). */
static uint64_t pub_one(struct pub *p, int metric, uint64_t i)
{
	uint64_t seq = nro_ring_head(&p->ring) + 1;
	size_t len = metric ? encode_metric(&p->enc, seq, i, "n1") : encode_event(&p->enc, seq, i, "n1");
	if (nro_ring_write(&p->ring, p->enc.buf, len) != seq)
		return 0;
	if (p->publish && !(seq >= p->skip_from && seq <= p->skip_to))
		nro_out_send(&p->out, p->enc.buf, len);
	if (!metric && p->seqs)
		fprintf(p->seqs, "%llu\n", (unsigned long long)seq);
	return seq;
}

/* Publishes n events (and a metric after every metrics_every events). */
static int pub_run(struct pub *p, uint64_t n, int64_t every_ms)
{
	for (uint64_t i = 1; i <= n; i++) {
		if (!pub_one(p, 0, ++p->events))
			return -1;
		if (p->metrics_every && i % p->metrics_every == 0 && !pub_one(p, 1, i))
			return -1;
		if (every_ms > 0)
			nng_msleep((nng_duration)every_ms);
	}
	if (p->seqs)
		fflush(p->seqs);
	return 0;
}

static int ringpub_main(int argc, char **argv)
{
	const char *run = getenv("NRO_RUN_DIR") ? getenv("NRO_RUN_DIR") : "/run/nro";
	char ring_path[4200], addr[4200];
	snprintf(ring_path, sizeof ring_path, "%s/ring", run);
	snprintf(addr, sizeof addr, "ipc://%s/events.ipc", run);
	uint64_t count = 10, every = 0, size = 64 << 10, wait_peer = 0, linger = 200, start = 0;
	struct pub p;
	memset(&p, 0, sizeof p);
	p.publish = 1;
	p.seqs = stdout;
	nro_log_init("ringpub");
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t *num = NULL;
		if (strcmp(a, "--count") == 0)
			num = &count;
		else if (strcmp(a, "--every-ms") == 0)
			num = &every;
		else if (strcmp(a, "--ring-size") == 0)
			num = &size;
		else if (strcmp(a, "--metrics-every") == 0)
			num = &p.metrics_every;
		else if (strcmp(a, "--wait-peer-ms") == 0)
			num = &wait_peer;
		else if (strcmp(a, "--linger-ms") == 0)
			num = &linger;
		else if (strcmp(a, "--skip-from") == 0)
			num = &p.skip_from;
		else if (strcmp(a, "--skip-to") == 0)
			num = &p.skip_to;
		else if (strcmp(a, "--first-index") == 0)
			num = &start;
		if (num) {
			if (!v || nro_parse_u64(v, num) != 0)
				nro_die(100, "%s needs a number", a);
			i++;
		} else if (strcmp(a, "--ring") == 0 && v) {
			snprintf(ring_path, sizeof ring_path, "%s", v);
			i++;
		} else if (strcmp(a, "--listen") == 0 && v) {
			p.publish = strcmp(v, "none") != 0;
			snprintf(addr, sizeof addr, "%s", v);
			i++;
		} else {
			fprintf(stderr,
				"usage: sink_test --ringpub [--ring PATH] [--ring-size BYTES] [--listen ADDR|none]\n"
				"  [--count N] [--every-ms MS] [--metrics-every K] [--wait-peer-ms MS]\n"
				"  [--skip-from SEQ --skip-to SEQ] [--first-index I] [--linger-ms MS]\n");
			return 100;
		}
	}
	char err[512];
	if (nro_ring_create(&p.ring, ring_path, (size_t)size, err, sizeof err) != 0)
		nro_die(111, "%s", err);
	if (p.publish && nro_out_open(&p.out, addr, NRO_LISTEN, err, sizeof err) != 0)
		nro_die(111, "%s", err);
	if (p.publish && wait_peer && nro_out_wait_peer(&p.out, (int64_t)wait_peer) != 0)
		nro_warn("no subscriber after %llu ms; publishing anyway", (unsigned long long)wait_peer);
	p.events = start;
	nro_enc_init(&p.enc, 0);
	int rc = pub_run(&p, count, (int64_t)every);
	nro_enc_free(&p.enc);
	if (p.publish)
		nro_out_close(&p.out, (int64_t)linger);
	nro_ring_close(&p.ring);
	return rc == 0 ? 0 : 111;
}

/* ---- unit tests ------------------------------------------------------------ */

static char dir[256];

TEST(cursor_round_trip)
{
	char path[512];
	snprintf(path, sizeof path, "%s/c.cursor", dir);
	uint64_t e = 0, s = 0;
	CHECK(nro_cursor_read(path, &e, &s) == -1); /* missing */
	CHECK(nro_cursor_write(path, 0xfedcba9876543210ull, 18446744073709551615ull) == 0);
	CHECK(nro_cursor_read(path, &e, &s) == 0);
	CHECK(e == 0xfedcba9876543210ull && s == 18446744073709551615ull);
	CHECK(nro_cursor_write(path, 1, 42) == 0);
	CHECK(nro_cursor_read(path, &e, &s) == 0 && e == 1 && s == 42);
	char tmp[600];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	CHECK(access(tmp, F_OK) != 0);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	/* a cursor in a directory that does not exist fails cleanly */
	char bad[600];
	snprintf(bad, sizeof bad, "%s/no/such/dir/c", dir);
	CHECK(nro_cursor_write(bad, 1, 1) == -1);
}

TEST(malformed_cursors_are_refused)
{
	static const char *const bad[] = {
		"",
		"nro-cursor 1 0000000000000001 5",        /* no newline */
		"nro-cursor 2 0000000000000001 5\n",      /* version */
		"nro-cursor 1 000000000000001 5\n",       /* 15 digits */
		"nro-cursor 1 00000000000000g1 5\n",      /* not hex */
		"nro-cursor 1 0000000000000001 -5\n",     /* sign */
		"nro-cursor 1 0000000000000001 5\nx",     /* trailing */
		"nro-cursor 1 0000000000000001 99999999999999999999\n", /* overflow */
		"nro-cursor 1 0000000000000001 \n",       /* no seq */
	};
	char path[512];
	snprintf(path, sizeof path, "%s/bad.cursor", dir);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		CHECK(fd >= 0);
		CHECK(write(fd, bad[i], strlen(bad[i])) == (ssize_t)strlen(bad[i]));
		close(fd);
		uint64_t e, s;
		if (nro_cursor_read(path, &e, &s) != -1) {
			fprintf(stderr, "accepted: %s\n", bad[i]);
			CHECK(0);
		}
	}
}

/* The child: a sink whose destination fails every 7th attempt, writing each
 * delivered seq to fd. */
static int flaky_fd, flaky_attempts, flaky_every;

static int flaky_deliver(void *ctx, struct nro_msg *m)
{
	(void)ctx;
	if (flaky_every && ++flaky_attempts % flaky_every == 0)
		return NRO_SINK_RETRY;
	uint64_t seq = m->hdr.seq;
	if (m->hdr.kind != NRO_KIND_EVENT)
		seq |= 1ull << 63; /* a kind the sink did not ask for: the parent fails */
	if (write(flaky_fd, &seq, sizeof seq) != (ssize_t)sizeof seq)
		return NRO_SINK_FATAL;
	return NRO_SINK_OK;
}

/* The batching child: deliver keeps up to BATCH seqs, flush writes them to
 * fd and fails every flaky_every-th time, like a receiver that is down. */
enum { BATCH = 16 };
static uint64_t batch[BATCH];
static size_t batch_n;
static int batch_flushes;

static int batch_flush(void *ctx)
{
	(void)ctx;
	if (flaky_every && ++batch_flushes % flaky_every == 0)
		return NRO_SINK_RETRY;
	ssize_t want = (ssize_t)(batch_n * sizeof batch[0]);
	if (batch_n && write(flaky_fd, batch, (size_t)want) != want)
		return NRO_SINK_FATAL;
	batch_n = 0;
	return NRO_SINK_OK;
}

static int batch_deliver(void *ctx, struct nro_msg *m)
{
	if (batch_n == BATCH) {
		int rc = batch_flush(ctx);
		if (rc != NRO_SINK_OK)
			return rc;
	}
	batch[batch_n++] = m->hdr.kind == NRO_KIND_EVENT ? m->hdr.seq : m->hdr.seq | 1ull << 63;
	return NRO_SINK_OK;
}

static int batched_mode;

/* Runs the sink in a fresh process image (nng threads do not survive fork). */
static pid_t start_sink(const char *run, const char *cursor, int fd, int from_start,
			int fail_every)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	char fdstr[16], failstr[16];
	snprintf(fdstr, sizeof fdstr, "%d", fd);
	snprintf(failstr, sizeof failstr, "%d", fail_every);
	execl("/proc/self/exe", "sink_test", "--sink-child", run, cursor, fdstr,
	      from_start ? "1" : "0", failstr, batched_mode ? "batch" : "each", (char *)NULL);
	_exit(127);
}

static int sink_child_main(char **argv)
{
	const char *run = argv[2], *cursor = argv[3];
	uint64_t fd = 0, every = 0;
	if (nro_parse_u64(argv[4], &fd) != 0 || nro_parse_u64(argv[6], &every) != 0)
		return 100;
	flaky_every = (int)every;
	char *args[] = {"sink-test", "--run-dir", (char *)run, "--cursor", (char *)cursor,
			"--from-start", NULL};
	struct nro_sink s;
	nro_sink_init(&s, "sink-test", "test", NULL, strcmp(argv[5], "1") == 0 ? 6 : 5, args, "E");
	flaky_fd = (int)fd;
	if (strcmp(argv[7], "batch") == 0) {
		s.flush_ms = 50;
		return nro_sink_run_batched(&s, batch_deliver, batch_flush, NULL);
	}
	return nro_sink_run(&s, flaky_deliver, NULL);
}

/* Reads seqs from fd until want arrive or ms pass; returns how many. */
static size_t collect(int fd, uint64_t *got, size_t max, size_t want, int64_t ms)
{
	size_t n = 0;
	int64_t end = nro_mono_ms() + ms;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (n < want && n < max && nro_mono_ms() < end) {
		ssize_t r = read(fd, &got[n], sizeof got[n]);
		if (r == (ssize_t)sizeof got[n])
			n++;
		else
			nng_msleep(5);
	}
	return n;
}

/* Every event exactly once, in order, through a destination that keeps
 * failing, a publisher faster than it, metrics in between (filtered out),
 * and seqs that never went over nng (recovered from the ring). */
TEST(delivers_every_event_once_in_order_through_retries)
{
	char run[512], ring[600], cursor[600], addr[700];
	snprintf(run, sizeof run, "%s/run1", dir);
	snprintf(ring, sizeof ring, "%s/ring", run);
	snprintf(cursor, sizeof cursor, "%s/c", run);
	snprintf(addr, sizeof addr, "ipc://%s/events.ipc", run);
	mkdir(run, 0700);
	struct pub p;
	memset(&p, 0, sizeof p);
	char err[512];
	CHECK(nro_ring_create(&p.ring, ring, 256 << 10, err, sizeof err) == 0);
	CHECK(nro_out_open(&p.out, addr, NRO_LISTEN, err, sizeof err) == 0);
	p.publish = 1;
	p.metrics_every = 2;
	p.skip_from = 40;
	p.skip_to = 60;
	nro_enc_init(&p.enc, 0);
	/* already in the ring before the sink starts: --from-start delivers it */
	CHECK(pub_run(&p, 10, 0) == 0);
	int fds[2];
	CHECK(pipe(fds) == 0);
	pid_t pid = start_sink(run, cursor, fds[1], 1, 13);
	CHECK(pid > 0);
	CHECK(pub_run(&p, 290, 1) == 0);
	enum { N = 300 };
	uint64_t got[N + 10];
	size_t n = collect(fds[0], got, N + 10, N, 20000);
	CHECK(n == N);
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		/* events are every seq except each third (a metric follows every 2 events) */
		uint64_t want = i + 1 + i / 2;
		if (got[i] != want && bad++ < 5)
			fprintf(stderr, "delivery %zu: seq %llu, want %llu\n", i,
				(unsigned long long)got[i], (unsigned long long)want);
	}
	CHECK(bad == 0);
	kill(pid, SIGTERM);
	int status = -1;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* nothing more, and the cursor is at the ring's head */
	CHECK(collect(fds[0], got, N, 1, 200) == 0);
	uint64_t e = 0, s = 0;
	CHECK(nro_cursor_read(cursor, &e, &s) == 0);
	CHECK(e == nro_ring_epoch(&p.ring) && s == nro_ring_head(&p.ring));

	/* restarted (no --from-start: the cursor says where), a destination that
	 * keeps up, live gaps (seqs never sent over nng) filled from the ring */
	pid = start_sink(run, cursor, fds[1], 0, 0);
	uint64_t head = nro_ring_head(&p.ring);
	p.skip_from = head + 20;
	p.skip_to = head + 40;
	CHECK(pub_run(&p, 60, 3) == 0);
	n = collect(fds[0], got, N, 60, 20000);
	CHECK(n == 60);
	for (size_t i = 0; i < n; i++)
		CHECK(got[i] == head + 1 + i + i / 2);
	kill(pid, SIGTERM);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fds[0]);
	close(fds[1]);
	nro_enc_free(&p.enc);
	nro_out_close(&p.out, 0);
	nro_ring_close(&p.ring);
}

/* Batching: the cursor moves only past what a flush delivered. A flush
 * that keeps failing loses nothing; a kill -9 with an unflushed batch
 * makes the restarted sink deliver it again (at least once), never skip. */
TEST(batched_sink_moves_the_cursor_only_past_flushed_batches)
{
	char run[512], ring[600], cursor[600], addr[700];
	snprintf(run, sizeof run, "%s/run2", dir);
	snprintf(ring, sizeof ring, "%s/ring", run);
	snprintf(cursor, sizeof cursor, "%s/c", run);
	snprintf(addr, sizeof addr, "ipc://%s/events.ipc", run);
	mkdir(run, 0700);
	struct pub p;
	memset(&p, 0, sizeof p);
	char err[512];
	CHECK(nro_ring_create(&p.ring, ring, 256 << 10, err, sizeof err) == 0);
	CHECK(nro_out_open(&p.out, addr, NRO_LISTEN, err, sizeof err) == 0);
	p.publish = 1;
	nro_enc_init(&p.enc, 0);
	int fds[2];
	CHECK(pipe(fds) == 0);
	batched_mode = 1;
	pid_t pid = start_sink(run, cursor, fds[1], 1, 3);
	CHECK(pid > 0);
	CHECK(pub_run(&p, 100, 1) == 0);
	enum { N = 100 };
	uint64_t got[2 * N + 40];
	size_t n = collect(fds[0], got, N, N, 20000);
	CHECK(n == N);
	for (size_t i = 0; i < n; i++)
		CHECK(got[i] == i + 1);
	kill(pid, SIGTERM);
	int status = -1;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	uint64_t e = 0, s = 0;
	CHECK(nro_cursor_read(cursor, &e, &s) == 0);
	CHECK(s == N);

	/* every flush fails from now on: nothing arrives, the cursor stays */
	pid = start_sink(run, cursor, fds[1], 0, 1);
	CHECK(pub_run(&p, 40, 1) == 0);
	CHECK(collect(fds[0], got, N, 1, 600) == 0);
	kill(pid, SIGKILL);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(nro_cursor_read(cursor, &e, &s) == 0);
	CHECK(s == N);
	/* a working destination again: the 40 arrive, in order, once */
	pid = start_sink(run, cursor, fds[1], 0, 0);
	n = collect(fds[0], got, 2 * N, 40, 20000);
	CHECK(n == 40);
	for (size_t i = 0; i < n; i++)
		CHECK(got[i] == N + 1 + i);
	kill(pid, SIGTERM);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	batched_mode = 0;
	close(fds[0]);
	close(fds[1]);
	nro_enc_free(&p.enc);
	nro_out_close(&p.out, 0);
	nro_ring_close(&p.ring);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--ringpub") == 0)
		return ringpub_main(argc, argv);
	if (argc == 8 && strcmp(argv[1], "--sink-child") == 0)
		return sink_child_main(argv);
	snprintf(dir, sizeof dir, "%s/nro-sink-test.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(cursor_round_trip);
	RUN(malformed_cursors_are_refused);
	RUN(delivers_every_event_once_in_order_through_retries);
	RUN(batched_sink_moves_the_cursor_only_past_flushed_batches);
	testing_rm_rf(dir);
	return testing_done();
}
