#include "run/sink.h"
#include "run/signals.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "wire/alerts.h"

#define TICK_MS 500            /* look at the ring's head this often */
#define REPLACED_CHECK_MS 2000 /* stat the ring path this often */
#define CURSOR_BURST_MS 100    /* during a catch-up, write the cursor this often */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

/* ---- cursor file ------------------------------------------------------ */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int nro_cursor_read(const char *path, uint64_t *epoch, uint64_t *seq)
{
	char line[128];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, line, sizeof line - 1);
	close(fd);
	if (n <= 0)
		return -1;
	line[n] = '\0';
	static const char prefix[] = "nro-cursor 1 ";
	if (strncmp(line, prefix, sizeof prefix - 1) != 0)
		return -1;
	const char *p = line + sizeof prefix - 1;
	uint64_t e = 0;
	for (int i = 0; i < 16; i++, p++) {
		int v = hexval(*p);
		if (v < 0)
			return -1;
		e = e << 4 | (uint64_t)v;
	}
	if (*p++ != ' ')
		return -1;
	char num[32];
	size_t k = 0;
	while (*p >= '0' && *p <= '9' && k < sizeof num - 1)
		num[k++] = *p++;
	num[k] = '\0';
	if (*p != '\n' || p[1] != '\0')
		return -1;
	uint64_t s;
	if (nro_parse_u64(num, &s) != 0)
		return -1;
	*epoch = e;
	*seq = s;
	return 0;
}

int nro_cursor_write(const char *path, uint64_t epoch, uint64_t seq)
{
	char tmp[4300], line[64];
	int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int len = snprintf(line, sizeof line, "nro-cursor 1 %016llx %llu\n",
			   (unsigned long long)epoch, (unsigned long long)seq);
	/* a leftover PATH.tmp may be anything, a symlink planted to make us
	 * overwrite its target included: remove it, then create exclusively */
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, line, (size_t)len);
	int saved = errno;
	/* no fsync: the cursor only has to outlive the process (kill -9), not
	 * the machine; the ring it points into is memory (tmpfs) and is gone
	 * after a crash anyway, and an fsync per idle moment would widen what
	 * a kill -9 repeats */
	if (close(fd) != 0 && w == len)
		return -1;
	if (w != len) {
		unlink(tmp);
		errno = w < 0 ? saved : EIO;
		return -1;
	}
	if (rename(tmp, path) != 0) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
}

/* ---- options ----------------------------------------------------------- */

/* A cursor path that is a directory is a mistake to say at start, before
 * a sink connects anywhere, not a "malformed cursor" later. */
static void check_cursor_path(const struct nro_sink *s)
{
	struct stat st;
	const char *c = s->cursor_path;
	if (c && strcmp(c, "none") != 0 && stat(c, &st) == 0 && S_ISDIR(st.st_mode))
		nro_die(NRO_EXIT_USAGE, "--cursor %s: is a directory (want a file, e.g. %s/%s.cursor)",
			c, c, s->tool.prog);
}

int nro_sink_fatal(struct nro_sink *s, int exit_code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	nro_vlog("fatal", fmt, ap);
	va_end(ap);
	s->exit_code = exit_code;
	return NRO_SINK_FATAL;
}

void nro_sink_init(struct nro_sink *s, const char *prog, const char *summary,
		   const struct nro_optdef *extra, int argc, char **argv, const char *kinds)
{
	memset(s, 0, sizeof *s);
	s->kinds = kinds ? kinds : "";
	s->exit_code = NRO_EXIT_TEMP;
	/* the sink's own options first, then the runtime's: one table for --help */
	static struct nro_optdef all[48];
	size_t n = 0;
	for (const struct nro_optdef *d = extra; d && d->name; d++)
		if (n < sizeof all / sizeof all[0] - 4)
			all[n++] = *d;
	const struct nro_optdef mine[] = {
		{"ring", 0, "NRO_RING", NRO_OPT_STR, &s->ring_path, NULL, "PATH",
		 "the analyzer's ring, to recover missed records (default $NRO_RUN_DIR/ring; none)"},
		{"cursor", 0, "NRO_CURSOR", NRO_OPT_STR, &s->cursor_path, NULL, "FILE",
		 "where delivery stopped, to resume after a restart (default $NRO_RUN_DIR/<prog>.cursor; none)"},
		{"from-start", 0, "NRO_FROM_START", NRO_OPT_FLAG, &s->from_start, NULL, NULL,
		 "without a cursor, deliver everything the ring holds (default: only new records)"},
	};
	for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++)
		all[n++] = mine[i];
	memset(&all[n], 0, sizeof all[n]);
	nro_tool_init(&s->tool, prog, summary, NRO_COMMON_INPUT, 0, all, argc, argv);
	check_cursor_path(s);
}

/* ---- the ring ----------------------------------------------------------- */

static int kind_wanted(const struct nro_sink *s, uint8_t kind)
{
	return kind && (!*s->kinds || strchr(s->kinds, (char)kind) != NULL);
}

static void report_lost(struct nro_sink *s, uint64_t a, uint64_t b)
{
	if (b < a)
		return;
	s->lost += b - a + 1;
	nro_warn("lost %llu records (seq %llu..%llu): the ring no longer holds them",
		 (unsigned long long)(b - a + 1), (unsigned long long)a, (unsigned long long)b);
}

/* Sets where delivery resumes in a ring just opened (or reopened). */
static void adopt_ring(struct nro_sink *s, int at_start)
{
	uint64_t e = nro_ring_epoch(&s->ring);
	uint64_t head = nro_ring_head(&s->ring), oldest = nro_ring_oldest(&s->ring);
	if (s->epoch == e) {
		/* the cursor counts in this ring: carry on from it */
	} else if (s->epoch == 0 && s->have_last) {
		/* delivered live messages before the ring appeared: they came from it
		 * unless it is behind them */
		if (s->last > head)
			s->last = oldest - 1;
	} else if (s->epoch == 0) {
		if (at_start && !s->from_start)
			s->last = head;
		else
			s->last = oldest - 1; /* --from-start, or a ring born after we started */
	} else {
		nro_warn("the ring was recreated (epoch %016llx, was %016llx): resuming at its "
			 "oldest record, seq %llu; what the old ring held after seq %llu is gone",
			 (unsigned long long)e, (unsigned long long)s->epoch,
			 (unsigned long long)oldest, (unsigned long long)s->last);
		s->last = oldest - 1;
	}
	s->epoch = e;
	s->have_last = 1;
	nro_debug("ring %s: epoch %016llx, seq %llu..%llu, resuming after %llu", s->ring_buf,
		  (unsigned long long)e, (unsigned long long)oldest, (unsigned long long)head,
		  (unsigned long long)s->last);
}

/* Opens the ring if it is not open and exists. 1 if open now. */
static int try_open_ring(struct nro_sink *s, int at_start)
{
	if (s->ring_open)
		return 1;
	if (!s->ring_buf[0])
		return 0;
	char err[512];
	if (access(s->ring_buf, F_OK) != 0) {
		s->ring_seen_absent = 1;
		return 0;
	}
	if (nro_ring_open(&s->ring, s->ring_buf, err, sizeof err) != 0) {
		/* the analyzer may be creating it right now: try again later */
		nro_debug("%s", err);
		return 0;
	}
	s->ring_open = 1;
	s->warned_missing = 0;
	s->replaced_check_ms = nro_mono_ms();
	adopt_ring(s, at_start && !s->ring_seen_absent);
	return 1;
}

/* Reopens the ring if the writer recreated it. 1 if it was replaced. */
static int check_replaced(struct nro_sink *s)
{
	s->replaced_check_ms = nro_mono_ms();
	if (!s->ring_open || !nro_ring_replaced(&s->ring, s->ring_buf))
		return 0;
	nro_ring_close(&s->ring);
	s->ring_open = 0;
	return try_open_ring(s, 0);
}

/* ---- delivery ------------------------------------------------------------ */

static void block(struct nro_sink *s)
{
	s->retries++;
	s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (s->backoff_ms > BACKOFF_MAX_MS)
		s->backoff_ms = BACKOFF_MAX_MS;
	s->retry_at_ms = nro_mono_ms() + s->backoff_ms;
	if (s->retries == 1 || s->backoff_ms == BACKOFF_MAX_MS)
		nro_debug("destination unavailable: retrying in %lld ms", (long long)s->backoff_ms);
}

/* Decodes buf and hands it over. NRO_SINK_OK also for a message dropped as
 * malformed or of another kind. */
static int deliver(struct nro_sink *s, const uint8_t *buf, size_t len)
{
	const char *why;
	if (nro_decode(&s->msg, buf, len, &why) != 0) {
		s->rejected++;
		nro_warn("dropped a malformed record (%zu bytes): %s", len, why);
		return NRO_SINK_OK;
	}
	if (!kind_wanted(s, s->msg.hdr.kind))
		return NRO_SINK_OK;
	int rc = s->fn(s->ctx, &s->msg);
	if (rc == NRO_SINK_OK) {
		s->delivered++;
		s->backoff_ms = 0;
		if (s->flush && !s->pending) {
			/* the cursor stays here until a flush says the batch arrived */
			s->done_epoch = s->epoch;
			s->done_seq = s->last;
			s->have_done = s->have_last;
			s->pending = 1;
			s->pending_since_ms = nro_mono_ms();
		}
		return rc;
	}
	if (rc == NRO_SINK_RETRY) {
		block(s);
		return rc;
	}
	s->fatal = 1;
	return NRO_SINK_FATAL;
}

/* Where a restart must resume: past what the destination has, which is
 * behind `last` while a batch is unflushed. 0 when there is nothing yet. */
static int cursor_position(const struct nro_sink *s, uint64_t *epoch, uint64_t *seq)
{
	if (s->pending) {
		*epoch = s->done_epoch;
		*seq = s->done_seq;
		return s->have_done && s->done_epoch;
	}
	*epoch = s->epoch;
	*seq = s->last;
	return s->have_last && s->epoch;
}

static void save_cursor(struct nro_sink *s, int force)
{
	uint64_t e, q;
	if (!s->cursor_buf[0] || !cursor_position(s, &e, &q))
		return;
	if (s->cursor_written_epoch == e && s->cursor_written_seq == q)
		return;
	int64_t now = nro_mono_ms();
	if (!force && now - s->cursor_at_ms < CURSOR_BURST_MS)
		return;
	if (nro_cursor_write(s->cursor_buf, e, q) != 0) {
		static int64_t warned_at;
		if (!warned_at || now - warned_at > 60000) {
			nro_warn("cannot write the cursor %s: %s", s->cursor_buf, strerror(errno));
			warned_at = now;
		}
		return;
	}
	s->cursor_at_ms = now;
	s->cursor_written_epoch = e;
	s->cursor_written_seq = q;
}

/* Hands the sink's batch to its destination. NRO_SINK_OK also when there
 * is nothing to flush; NRO_SINK_RETRY blocks the loop until the back-off. */
static int flush_pending(struct nro_sink *s)
{
	if (!s->flush || !s->pending)
		return NRO_SINK_OK;
	int rc = s->flush(s->ctx);
	if (rc == NRO_SINK_OK) {
		s->pending = 0;
		s->backoff_ms = 0;
		s->flushes++;
	} else if (rc == NRO_SINK_RETRY) {
		s->flush_blocked = 1;
		block(s);
	} else {
		s->fatal = 1;
		rc = NRO_SINK_FATAL;
	}
	return rc;
}

/* Flushes once the oldest unflushed message has waited flush_ms. */
static int flush_if_due(struct nro_sink *s)
{
	if (!s->pending || nro_mono_ms() - s->pending_since_ms < s->flush_ms)
		return NRO_SINK_OK;
	return flush_pending(s);
}

/* Delivers from the ring every wanted record after s->last up to upto.
 * 0 done (or nothing held beyond), NRO_SINK_RETRY blocked, NRO_SINK_FATAL,
 * or 1 when the ring lacks records below upto (not the publisher's ring). */
static int fill_from_ring(struct nro_sink *s, uint64_t upto)
{
	uint64_t lost_a = 0, lost_b = 0;
	int rc = 0;
	unsigned n = 0;
	while (s->last < upto && !s->stop) {
		uint64_t q = s->last + 1;
		uint64_t oldest = nro_ring_oldest(&s->ring);
		if (q < oldest) {
			/* everything before the ring's oldest is gone: one step */
			if (!lost_a)
				lost_a = q;
			lost_b = (oldest - 1 < upto ? oldest - 1 : upto);
			s->last = lost_b;
			continue;
		}
		uint8_t kind = 0;
		size_t len = 0;
		int r = nro_ring_peek(&s->ring, q, &kind, 1, &len);
		if (r == 1 && kind_wanted(s, kind)) {
			r = nro_ring_read(&s->ring, q, &s->rbuf);
			if (r == 1) {
				if (lost_a) {
					report_lost(s, lost_a, lost_b);
					lost_a = 0;
				}
				rc = deliver(s, (const uint8_t *)s->rbuf.p, s->rbuf.len);
				if (rc != NRO_SINK_OK)
					break;
			} else if (r == -2) {
				s->rejected++;
				nro_warn("seq %llu: record too large to read; skipped",
					 (unsigned long long)q);
				r = 1;
			}
		}
		if (r == 0) {
			rc = 1;
			break;
		}
		if (r == -1) {
			if (!lost_a)
				lost_a = q;
			lost_b = q;
		}
		s->last = q;
		if ((++n & 63) == 0) {
			rc = flush_if_due(s);
			if (rc != NRO_SINK_OK)
				break;
			save_cursor(s, 0);
			if (nro_signal_read(&s->tool) == NRO_SIG_TERM)
				s->stop = 1;
		}
	}
	if (lost_a)
		report_lost(s, lost_a, lost_b);
	return rc;
}

/* A live message from nng. */
static int handle_live(struct nro_sink *s, const uint8_t *buf, size_t len)
{
	if (len < NRO_HDR_FIXED) {
		s->rejected++;
		nro_warn("dropped a malformed record (%zu bytes): too short", len);
		return NRO_SINK_OK;
	}
	uint64_t seq = 0;
	nro_record_seq(buf, len, &seq);
	if (!s->ring_open)
		try_open_ring(s, 0);
	if (!s->ring_open) {
		/* no ring to order against: deliver as it comes */
		int rc = deliver(s, buf, len);
		if (rc == NRO_SINK_RETRY) {
			nro_buf_reset(&s->held);
			if (nro_buf_add(&s->held, buf, len) != 0) {
				s->lost++;
				nro_warn("lost seq %llu: no memory to hold it for a retry",
					 (unsigned long long)seq);
			}
		}
		if (rc == NRO_SINK_OK) {
			/* counted in no ring: adopt_ring() decides when one appears */
			s->epoch = 0;
			s->last = seq;
			s->have_last = 1;
		}
		return rc;
	}
	/* With the ring open, the live message only says "seq is out": what
	 * is delivered is the ring's copy, so a message from a recreated ring
	 * (another epoch) can never be delivered under the old one's seqs. */
	for (int pass = 0; pass < 2; pass++) {
		if (seq <= s->last) {
			/* already delivered from the ring, or the ring was recreated */
			if (pass == 0 && check_replaced(s))
				continue;
			s->duplicates++;
			return NRO_SINK_OK;
		}
		int rc = fill_from_ring(s, seq);
		if (rc == 1 && pass == 0 && check_replaced(s))
			continue;
		if (rc != 1)
			return rc;
		if (!s->warned_missing)
			nro_warn("seq %llu..%llu are not in the ring %s (is it the publisher's "
				 "ring?): delivering live messages as they come",
				 (unsigned long long)(s->last + 1), (unsigned long long)seq, s->ring_buf);
		s->warned_missing = 1;
		s->last = seq - 1;
		rc = deliver(s, buf, len);
		if (rc == NRO_SINK_OK)
			s->last = seq;
		return rc;
	}
	return NRO_SINK_OK;
}

/* Periodic: open or reopen the ring, deliver what it holds beyond last. */
static int tick(struct nro_sink *s)
{
	if (!s->ring_buf[0])
		return NRO_SINK_OK;
	if (!s->ring_open && !try_open_ring(s, 0))
		return NRO_SINK_OK;
	if (nro_mono_ms() - s->replaced_check_ms >= REPLACED_CHECK_MS)
		check_replaced(s);
	if (!s->ring_open)
		return NRO_SINK_OK;
	uint64_t head = nro_ring_head(&s->ring);
	if (head > s->last) {
		int rc = fill_from_ring(s, head);
		if (rc < 0)
			return rc;
	}
	return NRO_SINK_OK;
}

/* The held message (no ring) after a back-off. */
static int retry_held(struct nro_sink *s)
{
	int rc = deliver(s, (const uint8_t *)s->held.p, s->held.len);
	if (rc == NRO_SINK_OK) {
		uint64_t seq;
		if (!s->pipe_mode &&
		    nro_record_seq((const uint8_t *)s->held.p, s->held.len, &seq) == 0) {
			s->epoch = 0;
			s->last = seq;
			s->have_last = 1;
		}
		nro_buf_reset(&s->held);
	}
	return rc;
}

static void resolve_paths(struct nro_sink *s)
{
	const char *rd = s->tool.run_dir;
	if (s->pipe_mode || (s->ring_path && strcmp(s->ring_path, "none") == 0))
		s->ring_buf[0] = '\0';
	else if (s->ring_path)
		snprintf(s->ring_buf, sizeof s->ring_buf, "%s", s->ring_path);
	else
		snprintf(s->ring_buf, sizeof s->ring_buf, "%s/ring", rd);
	if (s->pipe_mode || (s->cursor_path && strcmp(s->cursor_path, "none") == 0))
		s->cursor_buf[0] = '\0';
	else if (s->cursor_path)
		snprintf(s->cursor_buf, sizeof s->cursor_buf, "%s", s->cursor_path);
	else
		snprintf(s->cursor_buf, sizeof s->cursor_buf, "%s/%s.cursor", rd, s->tool.prog);
	if (s->cursor_buf[0]) {
		/* the run directory may not exist before the analyzer starts */
		char dir[4200];
		snprintf(dir, sizeof dir, "%s", s->cursor_buf);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			if (mkdir(dir, 0700) != 0 && errno != EEXIST)
				nro_debug("mkdir %s: %s", dir, strerror(errno));
		}
	}
}

/* Opens the input and reads the cursor. 0, or the exit code to return. */
static int sink_open(struct nro_sink *s)
{
	struct nro_tool *t = &s->tool;
	const char *addr = t->input ? t->input : nro_events_addr(t);
	s->pipe_mode = strcmp(addr, "-") == 0;
	for (const char *k = s->kinds; *k; k++)
		if (!strchr("MSHXE", *k))
			nro_die(NRO_EXIT_USAGE, "unknown record kind '%c' (want M, S, H, X or E)", *k);
	if (s->flush_ms <= 0)
		s->flush_ms = NRO_SINK_FLUSH_MS;
	resolve_paths(s);
	nro_buf_init(&s->rbuf, NRO_MSG_MAX);
	nro_buf_init(&s->held, NRO_MSG_MAX);
	nro_signals_init(t);

	char err[512];
	if (nro_in_open(&s->in, addr, NRO_DIAL, s->pipe_mode ? NULL : s->kinds, err, sizeof err) != 0) {
		nro_buf_free(&s->rbuf);
		nro_buf_free(&s->held);
		nro_die(strncmp(addr, "ipc://", 6) == 0 || s->pipe_mode ? NRO_EXIT_TEMP
									 : NRO_EXIT_USAGE,
			"%s", err);
	}
	if (s->cursor_buf[0]) {
		uint64_t e, q;
		if (nro_cursor_read(s->cursor_buf, &e, &q) == 0) {
			s->epoch = e;
			s->last = q;
			s->have_last = 1;
			s->cursor_written_epoch = e;
			s->cursor_written_seq = q;
		} else if (access(s->cursor_buf, F_OK) == 0) {
			nro_warn("ignoring the malformed cursor %s", s->cursor_buf);
		}
	}
	return 0;
}

/* A sink that starts with no cursor (nothing delivered before) first receives
 * the alerts firing now, from the analyzer's alerts file next to the ring,
 * flagged NRO_EVF_ACTIVE: what fired before it connected is shown too. */
static void deliver_active(struct nro_sink *s)
{
	char path[4300], err[512];
	snprintf(path, sizeof path, "%s", s->ring_buf);
	char *slash = strrchr(path, '/');
	if (!slash)
		return;
	snprintf(slash + 1, sizeof path - (size_t)(slash + 1 - path), "%s", NRO_ALERTS_FILE);
	struct nro_buf b;
	nro_buf_init(&b, NRO_MSG_MAX);
	int rc = nro_alerts_read(path, &b, err, sizeof err);
	if (rc < 0)
		nro_warn("cannot show what is firing now: %s", err);
	if (rc == 1 && b.len && nro_decode(&s->msg, (const uint8_t *)b.p, b.len, NULL) == 0) {
		nro_debug("%u alerts firing before we started", (unsigned)s->msg.hdr.count);
		if (s->fn(s->ctx, &s->msg) == NRO_SINK_OK && s->flush)
			s->flush(s->ctx); /* best effort: the snapshot is no seq of the ring */
	}
	nro_buf_free(&b);
}

/* After a back-off: offer the flush, the held message or the ring again. */
static int retry_blocked(struct nro_sink *s)
{
	s->retry_at_ms = 0;
	if (s->flush_blocked) {
		s->flush_blocked = 0;
		return flush_pending(s);
	}
	return s->held.len ? retry_held(s) : tick(s);
}

/* One received message, then the periodic duties. NRO_SINK_FATAL stops. */
static int on_message(struct nro_sink *s, const uint8_t *buf, size_t len, int64_t now,
		      int64_t *next_tick)
{
	int rc;
	if (s->pipe_mode) {
		rc = deliver(s, buf, len);
		if (rc == NRO_SINK_RETRY && nro_buf_add(&s->held, buf, len) != 0)
			s->lost++;
	} else {
		rc = handle_live(s, buf, len);
	}
	if (rc == NRO_SINK_FATAL)
		return rc;
	if (now >= *next_tick) {
		*next_tick = now + TICK_MS;
		if (tick(s) == NRO_SINK_FATAL)
			return NRO_SINK_FATAL;
	}
	if (flush_if_due(s) == NRO_SINK_FATAL)
		return NRO_SINK_FATAL;
	save_cursor(s, 0);
	return NRO_SINK_OK;
}

/* Nothing to read: flush, make the cursor durable, then wait. 1 on SIGTERM. */
static int on_idle(struct nro_sink *s, int64_t now, int64_t *next_tick)
{
	if (flush_pending(s) != NRO_SINK_OK)
		return 0; /* blocked or fatal: the loop decides */
	save_cursor(s, 1);
	if (now >= *next_tick) {
		*next_tick = now + TICK_MS;
		tick(s);
		return 0;
	}
	int w = nro_wait(&s->tool, s->pipe_mode ? now + 3600000 : *next_tick, nro_in_fd(&s->in));
	return w == NRO_SIG_TERM;
}

static void sink_loop(struct nro_sink *s)
{
	int64_t next_tick = nro_mono_ms() + TICK_MS;
	while (!s->stop && !s->fatal) {
		int64_t now = nro_mono_ms();
		if (s->retry_at_ms) {
			if (now >= s->retry_at_ms)
				retry_blocked(s);
			else if (nro_wait(&s->tool, s->retry_at_ms, -1) == NRO_SIG_TERM)
				break;
			continue;
		}
		const uint8_t *buf;
		size_t len;
		int r = nro_in_recv(&s->in, &buf, &len);
		if (r < 0)
			break; /* end of the pipe */
		if (r == 1) {
			if (on_message(s, buf, len, now, &next_tick) == NRO_SINK_FATAL)
				break;
			if (nro_signal_read(&s->tool) == NRO_SIG_TERM)
				break;
			continue;
		}
		if (on_idle(s, now, &next_tick))
			break;
	}
}

/* Last flush and cursor, then the exit status. Releases what run took. */
static int sink_close(struct nro_sink *s)
{
	int status = 0;
	if (!s->fatal && s->pending && flush_pending(s) != NRO_SINK_OK)
		nro_warn("stopping with an undelivered batch: %s",
			 s->pipe_mode ? "it is lost" : "it stays in the ring for the next start");
	if (s->fatal)
		status = s->exit_code;
	else if (s->pipe_mode && (s->in.oversized || s->in.truncated)) {
		/* a lost framing the transport has said already */
		if (s->in.truncated)
			nro_error("input ended inside a record (truncated stream)");
		status = NRO_EXIT_DATA;
	}
	save_cursor(s, 1);
	if (s->lost)
		nro_info("%llu records lost in all", (unsigned long long)s->lost);
	if (s->ring_open)
		nro_ring_close(&s->ring);
	nro_in_close(&s->in);
	nro_buf_free(&s->rbuf);
	nro_buf_free(&s->held);
	return status;
}

int nro_sink_run_batched(struct nro_sink *s, nro_sink_deliver_fn deliver_fn,
			 nro_sink_flush_fn flush_fn, void *ctx)
{
	s->fn = deliver_fn;
	s->flush = flush_fn;
	s->ctx = ctx;
	int rc = sink_open(s);
	if (rc != 0)
		return rc;
	/* ready once subscribed and positioned in the ring: what is published
	 * from now on will be delivered */
	int fresh = !s->have_last;
	int have_ring = s->ring_buf[0] && try_open_ring(s, 1);
	if (fresh && !s->from_start && s->ring_buf[0] && kind_wanted(s, NRO_KIND_EVENT))
		deliver_active(s);
	nro_ready(&s->tool);
	if (have_ring)
		fill_from_ring(s, nro_ring_head(&s->ring)); /* a retry or stop: the loop */
	save_cursor(s, 1);
	sink_loop(s);
	return sink_close(s);
}

int nro_sink_run(struct nro_sink *s, nro_sink_deliver_fn deliver_fn, void *ctx)
{
	return nro_sink_run_batched(s, deliver_fn, NULL, ctx);
}

uint64_t nro_sink_epoch(const struct nro_sink *s)
{
	return s->pipe_mode ? 0 : s->epoch;
}
