/*
 * collector-kmsg: follows the kernel's log and publishes one state per
 * kernel problem it recognises (lib/parse/kmsg.c's table: OOM kills with
 * the pod and container from the cgroup, hung tasks, soft and hard
 * lockups, filesystem errors, read-only remounts and shutdowns, block I/O
 * errors, NIC transmit timeouts, conntrack table full, oopses, panics).
 *
 * /dev/kmsg is read one record per read(), non-blocking, woken by poll()
 * through nro_wait's fd: no busy polling. A sequence gap (the ring buffer
 * overran us) is a host.kernel.log_gap state and makes the poll degraded.
 * A regular file (replay, tests) is followed as it grows (inotify); a pipe
 * ("-") is read to its end. Lines over NRO_KMSG_LINE_MAX and binary junk
 * are skipped and counted. Every interval the poll publishes the counters
 * and the health record.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "parse/kmsg.h"
#include "run/collector.h"
#include "wire/names_host.h"

#define RECORD_MAX 8192 /* /dev/kmsg's largest record (CONSOLE_EXT_LOG_MAX) */
#define BUF_LEN (2 * NRO_KMSG_LINE_MAX)
#define MESSAGE_ATTR_MAX 240
#define NKEYS 16

enum source { SRC_DEVICE, SRC_FILE, SRC_STREAM };
enum skip { SKIP_LONG, SKIP_BINARY, SKIP_NOT_KERNEL, SKIPS };
static const char *const skip_names[SKIPS] = {"too_long", "binary", "not_kernel"};

struct kmsg {
	const char *path;
	int from_start;
	enum source src;
	int fd, ino_fd, eof;
	int failed; /* a read error: no waiting on the fd until the next poll (no spin) */
	int reopen; /* the file was renamed away and its successor is not there yet */
	char buf[BUF_LEN]; /* an incomplete line of a file or stream */
	size_t len;
	int discarding; /* inside a line past the cap */
	int after_raw;
	struct nro_kmatch match;
	int have_seq;
	uint64_t last_seq;
	uint64_t lines, lost, skipped[SKIPS], problems[NKEYS];
	uint64_t read_errors;
	char read_error[128];
	uint64_t lost_reported, skipped_reported[SKIPS], errors_reported; /* at the last poll */
};

/* ---- emitting ---------------------------------------------------------- */

static void attr(struct nro_attr *a, uint16_t *n, const char *k, const char *v)
{
	if (v && v[0] && *n < NRO_ATTRS_MAX) {
		a[*n].key = nro_s(k);
		a[*n].value = nro_s(v);
		(*n)++;
	}
}

/* When a /dev/kmsg record was logged, from its boot-relative stamp. */
static int64_t since_ms(const struct kmsg *k, const struct nro_kline *l)
{
	if (k->src != SRC_DEVICE || !l->raw)
		return 0;
	int64_t age_ms = nro_mono_ms() - (int64_t)(l->ts_usec / 1000);
	return age_ms >= 0 ? nro_wall_ms() - age_ms : 0;
}

static void count_problem(struct kmsg *k, const char *key)
{
	for (int i = 0; nro_kmsg_keys[i] && i < NKEYS; i++)
		if (strcmp(nro_kmsg_keys[i], key) == 0)
			k->problems[i]++;
}

static void emit_problem(struct nro_collector *c, struct kmsg *k, const struct nro_kline *l,
			 const struct nro_kproblem *p)
{
	struct nro_attr a[16];
	uint16_t n = 0;
	char msg[MESSAGE_ATTR_MAX + 1], seq[24] = "";
	snprintf(msg, sizeof msg, "%.*s", (int)(l->len < MESSAGE_ATTR_MAX ? l->len : MESSAGE_ATTR_MAX),
		 l->msg);
	if (l->raw)
		snprintf(seq, sizeof seq, "%llu", (unsigned long long)l->seq);
	attr(a, &n, NRO_HA_MESSAGE, msg);
	attr(a, &n, NRO_HA_PID, p->pid);
	attr(a, &n, NRO_HA_TASK, p->task);
	attr(a, &n, NRO_HA_POD_UID, p->pod_uid);
	attr(a, &n, NRO_HA_CONTAINER_ID, p->container_id);
	attr(a, &n, NRO_HA_MEMCG, p->memcg);
	attr(a, &n, NRO_HA_OOM_MEMCG, p->oom_memcg);
	attr(a, &n, NRO_HA_CONSTRAINT, p->constraint);
	attr(a, &n, NRO_HA_FSTYPE, p->fstype);
	attr(a, &n, NRO_HA_CPU, p->cpu);
	attr(a, &n, NRO_HA_SECONDS, p->seconds);
	attr(a, &n, NRO_HA_DRIVER, p->driver);
	attr(a, &n, NRO_HA_KERNEL_SEQ, seq);
	struct nro_state s = {{NRO_OBJ_NODE, {"", 0}, {"", 0}, {"", 0}, nro_s(c->node)},
			      nro_s(p->key), nro_s(p->subject), p->num, since_ms(k, l), n, a};
	nro_emit_state(c, &s);
	count_problem(k, p->key);
}

static void emit_gap(struct nro_collector *c, uint64_t from, uint64_t to)
{
	char f[24], t[24];
	snprintf(f, sizeof f, "%llu", (unsigned long long)from);
	snprintf(t, sizeof t, "%llu", (unsigned long long)to);
	struct nro_attr a[2] = {{nro_s("from_seq"), nro_s(f)}, {nro_s("to_seq"), nro_s(t)}};
	struct nro_state s = {{NRO_OBJ_NODE, {"", 0}, {"", 0}, {"", 0}, nro_s(c->node)},
			      nro_s(NRO_HK_LOG_GAP), nro_s("lost"), (double)(to - from), 0, 2, a};
	nro_emit_state(c, &s);
}

/* ---- lines ----------------------------------------------------------- */

/* A raw record's sequence number: a jump forward is records we never saw;
 * a step back is a new boot or a rewritten file, not a loss. */
static void check_seq(struct nro_collector *c, struct kmsg *k, uint64_t seq)
{
	if (k->have_seq && seq > k->last_seq + 1) {
		k->lost += seq - k->last_seq - 1;
		emit_gap(c, k->last_seq + 1, seq);
	}
	k->have_seq = 1;
	k->last_seq = seq;
}

static void handle_line(struct nro_collector *c, struct kmsg *k, const char *s, size_t n)
{
	if (n > NRO_KMSG_LINE_MAX) {
		k->skipped[SKIP_LONG]++;
		k->after_raw = 0;
		return;
	}
	struct nro_kline l;
	int st = nro_kline_parse(s, n, k->after_raw, &l);
	k->after_raw = (st == NRO_KLINE_OK && l.raw) || (st == NRO_KLINE_DICT && k->after_raw);
	if (st == NRO_KLINE_BINARY)
		k->skipped[SKIP_BINARY]++;
	else if (st == NRO_KLINE_NOT_KERNEL)
		k->skipped[SKIP_NOT_KERNEL]++;
	if (st != NRO_KLINE_OK)
		return;
	k->lines++;
	if (l.raw)
		check_seq(c, k, l.seq);
	struct nro_kproblem p;
	if (nro_kmsg_match(&k->match, l.msg, l.len, &p))
		emit_problem(c, k, &l, &p);
}

/* Feeds bytes of a file or stream: whole lines are handled, the rest kept;
 * a line that outgrows the buffer is skipped to its end. */
static void feed(struct nro_collector *c, struct kmsg *k, const char *data, size_t n)
{
	while (n) {
		size_t take = n < BUF_LEN - k->len ? n : BUF_LEN - k->len;
		memcpy(k->buf + k->len, data, take);
		k->len += take;
		data += take;
		n -= take;
		size_t start = 0;
		for (;;) {
			char *nl = memchr(k->buf + start, '\n', k->len - start);
			if (!nl)
				break;
			size_t ln = (size_t)(nl - (k->buf + start));
			if (!k->discarding)
				handle_line(c, k, k->buf + start, ln);
			k->discarding = 0;
			start += ln + 1;
		}
		memmove(k->buf, k->buf + start, k->len - start);
		k->len -= start;
		if (k->len > NRO_KMSG_LINE_MAX) { /* no end in sight: skip the rest of it */
			if (!k->discarding)
				k->skipped[SKIP_LONG]++;
			k->discarding = 1;
			k->len = 0;
		}
	}
}

/* The last line of a file or stream that does not end in '\n'. */
static void feed_end(struct nro_collector *c, struct kmsg *k)
{
	if (k->len && !k->discarding)
		handle_line(c, k, k->buf, k->len);
	k->len = 0;
	k->discarding = 0;
}

/* ---- reading ----------------------------------------------------------- */

static void read_failed(struct kmsg *k)
{
	snprintf(k->read_error, sizeof k->read_error, "%s", strerror(errno));
	k->read_errors++;
	k->failed = 1;
}

/* /dev/kmsg: one record per read; EPIPE means records were overwritten
 * before we read them (the sequence numbers tell how many). */
static void read_device(struct nro_collector *c, struct kmsg *k)
{
	static char rec[RECORD_MAX + 1];
	for (;;) {
		ssize_t r = read(k->fd, rec, RECORD_MAX);
		if (r < 0 && (errno == EINTR || errno == EPIPE))
			continue;
		if (r < 0 && errno != EAGAIN)
			read_failed(k);
		if (r <= 0)
			return;
		k->after_raw = 0;
		size_t start = 0, n = (size_t)r;
		while (start < n) { /* the record, then its " KEY=value" lines */
			char *nl = memchr(rec + start, '\n', n - start);
			size_t ln = nl ? (size_t)(nl - (rec + start)) : n - start;
			handle_line(c, k, rec + start, ln);
			start += ln + 1;
		}
	}
}

static void read_bytes(struct nro_collector *c, struct kmsg *k)
{
	char chunk[16384];
	if (k->src == SRC_FILE) { /* truncated under us: start again from the top */
		struct stat sb;
		off_t pos = lseek(k->fd, 0, SEEK_CUR);
		if (fstat(k->fd, &sb) == 0 && pos > sb.st_size) {
			lseek(k->fd, 0, SEEK_SET);
			k->len = 0;
			k->discarding = 0;
		}
	}
	for (;;) {
		ssize_t r = read(k->fd, chunk, sizeof chunk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno != EAGAIN)
			read_failed(k);
		if (r == 0 && k->src == SRC_STREAM) {
			feed_end(c, k);
			k->eof = 1;
		}
		if (r <= 0)
			return;
		feed(c, k, chunk, (size_t)r);
	}
}

#define WATCH_MASK (IN_MODIFY | IN_MOVE_SELF | IN_DELETE_SELF)

/* Watches k->path (the file k->fd has open) and its directory (where a
 * rotated file's successor appears); without inotify, new lines are read
 * every interval. */
static void watch(struct kmsg *k)
{
	char dir[1024];
	const char *slash = strrchr(k->path, '/');
	snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - k->path) + 1 : 1, slash ? k->path : ".");
	if (k->ino_fd >= 0)
		close(k->ino_fd);
	k->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (k->ino_fd >= 0 && inotify_add_watch(k->ino_fd, k->path, WATCH_MASK) >= 0 &&
	    inotify_add_watch(k->ino_fd, dir, IN_CREATE | IN_MOVED_TO) >= 0)
		return;
	if (k->ino_fd >= 0)
		close(k->ino_fd);
	k->ino_fd = -1;
	nro_warn("--kmsg %s: no inotify, new lines are read every interval", k->path);
}

/* Reads the pending events; 1 if the file was renamed or deleted. */
static int file_moved(struct kmsg *k)
{
	union {
		struct inotify_event e;
		char b[4096];
	} ev;
	int moved = 0;
	ssize_t r;
	while ((r = read(k->ino_fd, ev.b, sizeof ev.b)) > 0)
		for (size_t at = 0; at + sizeof(struct inotify_event) <= (size_t)r;) {
			struct inotify_event e;
			memcpy(&e, ev.b + at, sizeof e);
			moved |= (e.mask & (IN_MOVE_SELF | IN_DELETE_SELF)) != 0;
			at += sizeof e + e.len;
		}
	return moved;
}

/* After a rename (logrotate): the old file was read to its end; read its
 * successor from the start, or try again at the next poll. */
static void reopen(struct nro_collector *c, struct kmsg *k)
{
	int fd = open(k->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	k->reopen = fd < 0;
	if (fd < 0)
		return;
	feed_end(c, k);
	close(k->fd);
	k->fd = fd;
	watch(k);
}

static void drain(struct nro_collector *c, struct kmsg *k)
{
	if (k->eof)
		return;
	if (k->src == SRC_DEVICE) {
		read_device(c, k);
		return;
	}
	int moved = k->src == SRC_FILE && k->ino_fd >= 0 && file_moved(k);
	read_bytes(c, k);
	if (moved || k->reopen) {
		reopen(c, k);
		if (!k->reopen)
			read_bytes(c, k);
	}
}

static int follow_fd(void *ctx)
{
	struct kmsg *k = ctx;
	if (k->eof || k->failed)
		return -1;
	return k->src == SRC_FILE ? k->ino_fd : k->fd;
}

static void follow_readable(struct nro_collector *c, void *ctx)
{
	drain(c, ctx);
}

/* ---- the poll: counters and health ----------------------------------- */

static void counters(struct nro_collector *c, struct kmsg *k)
{
	nro_emit_counter(c, NRO_HM_KMSG_LINES, "{line}", (double)k->lines, NULL);
	nro_emit_counter(c, NRO_HM_KMSG_LOST, "{record}", (double)k->lost, NULL);
	for (int i = 0; i < SKIPS; i++)
		nro_emit_counter(c, NRO_HM_KMSG_SKIPPED, "{line}", (double)k->skipped[i], NRO_HA_REASON,
				 skip_names[i], NULL);
	for (int i = 0; nro_kmsg_keys[i] && i < NKEYS; i++)
		nro_emit_counter(c, NRO_HM_KMSG_PROBLEMS, "{line}", (double)k->problems[i],
				 NRO_HA_PROBLEM, nro_kmsg_keys[i] + strlen(NRO_HK_KERNEL_PREFIX), NULL);
}

/* Degraded when records were lost or junk skipped since the last poll. */
static void report(struct nro_collector *c, struct kmsg *k)
{
	uint64_t lost = k->lost - k->lost_reported;
	uint64_t lng = k->skipped[SKIP_LONG] - k->skipped_reported[SKIP_LONG];
	uint64_t bin = k->skipped[SKIP_BINARY] - k->skipped_reported[SKIP_BINARY];
	uint64_t errs = k->read_errors - k->errors_reported;
	k->lost_reported = k->lost;
	memcpy(k->skipped_reported, k->skipped, sizeof k->skipped);
	k->errors_reported = k->read_errors;
	if (errs) { /* retried at every poll */
		c->degraded = 1;
		snprintf(c->degraded_msg, sizeof c->degraded_msg, "%s: read failed: %s", k->path,
			 k->read_error);
		return;
	}
	if (!lost && !lng && !bin)
		return;
	c->degraded = 1;
	snprintf(c->degraded_msg, sizeof c->degraded_msg,
		 "%s: %llu records lost (sequence gap), %llu lines over %d bytes and %llu binary "
		 "lines skipped",
		 k->path, (unsigned long long)lost, (unsigned long long)lng, NRO_KMSG_LINE_MAX,
		 (unsigned long long)bin);
}

static int poll(struct nro_collector *c, void *ctx, struct nro_fetch *res)
{
	struct kmsg *k = ctx;
	(void)res;
	k->failed = 0;
	drain(c, k);
	if (c->t.once && k->src != SRC_DEVICE)
		feed_end(c, k); /* a replay's last line need not end in '\n' */
	counters(c, k);
	report(c, k);
	return 0;
}

/* ---- setup ----------------------------------------------------------- */

/* A pipe is read blocking with --once (to its end, however slow the
 * writer), non-blocking when followed (poll() says when). */
static void open_source(struct kmsg *k, int once)
{
	struct stat sb;
	if (strcmp(k->path, "-") == 0) {
		k->fd = 0;
		k->src = SRC_STREAM;
		int fl = fcntl(0, F_GETFL);
		if (fl >= 0)
			fcntl(0, F_SETFL, once ? fl & ~O_NONBLOCK : fl | O_NONBLOCK);
		return;
	}
	k->fd = open(k->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (k->fd < 0)
		nro_die(NRO_EXIT_USAGE, "--kmsg %s: %s%s", k->path, strerror(errno),
			errno == EPERM || errno == EACCES ? " (needs CAP_SYSLOG or root)" : "");
	if (fstat(k->fd, &sb) != 0)
		nro_die(NRO_EXIT_TEMP, "--kmsg %s: %s", k->path, strerror(errno));
	if (S_ISDIR(sb.st_mode))
		nro_die(NRO_EXIT_USAGE, "--kmsg %s: is a directory", k->path);
	k->src = S_ISCHR(sb.st_mode) ? SRC_DEVICE : S_ISREG(sb.st_mode) ? SRC_FILE : SRC_STREAM;
	if (!k->from_start && k->src != SRC_STREAM)
		lseek(k->fd, 0, SEEK_END);
	if (k->src == SRC_FILE)
		watch(k);
}

int main(int argc, char **argv)
{
	static struct kmsg k;
	struct nro_collector c;
	k.path = "/dev/kmsg";
	k.ino_fd = -1;
	const struct nro_optdef opts[] = {
		{"kmsg", 0, "NRO_KMSG", NRO_OPT_STR, &k.path, NULL, "PATH",
		 "the kernel log: /dev/kmsg (default), or for replay a file (followed as it grows) "
		 "or - (stdin) of raw kmsg records, dmesg, dmesg -T or syslog/journal text"},
		{"from-start", 0, "NRO_KMSG_FROM_START", NRO_OPT_FLAG, &k.from_start, NULL, NULL,
		 "read what the log holds already (default: only what comes after the start)"},
		{NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
	};
	nro_collector_init_local(
		&c, "collector-kmsg",
		"Follow the kernel's log and publish one host.kernel.* state per problem:\n"
		"OOM kills (task, pid, and the pod UID and container ID from the memory\n"
		"cgroup), hung tasks, soft/hard lockups, filesystem errors, read-only\n"
		"remounts and shutdowns, block I/O errors, NIC transmit timeouts, conntrack\n"
		"table full, oopses and panics; sequence gaps as host.kernel.log_gap; line\n"
		"counters every interval. Reading /dev/kmsg needs CAP_SYSLOG or root when\n"
		"kernel.dmesg_restrict=1 (the default on most distributions).",
		"/dev/kmsg", 15000, opts, argc, argv);
	c.target = k.path;
	open_source(&k, c.t.once);
	const struct nro_follow f = {follow_fd, follow_readable};
	int r = nro_collector_run_follow(&c, poll, &f, &k);
	if (k.ino_fd >= 0)
		close(k.ino_fd);
	if (k.fd > 0)
		close(k.fd);
	return r;
}
