/*
 * The runtime every sink shares (sink-stdout, sink-otel, sink-nats,
 * sink-prom): options, input, the ring, the cursor, delivery order, retry.
 *
 * Input. By default a sink dials the analyzer's ipc://$NRO_RUN_DIR/events.ipc
 * (subscribed to the sink's record kinds) and uses the analyzer's ring
 * ($NRO_RUN_DIR/ring, --ring) to recover what nng did not bring. With
 * `-i -` it reads a framed record stream on stdin instead: no ring, no
 * cursor, every record of the sink's kinds delivered in arrival order,
 * exit 0 at end of input.
 *
 * Delivery rule (nng + ring). Every message the analyzer published is
 * delivered exactly once, in seq order, while the ring holds it:
 *  - at start, from the cursor (--cursor FILE, default
 *    $NRO_RUN_DIR/<prog>.cursor: the ring's epoch and the last seq
 *    delivered). Without a cursor a sink starts at the ring's head: only
 *    records published from now on (--from-start: everything the ring
 *    holds); a sink that takes events first receives the alerts firing now
 *    from the analyzer's alerts file (wire/alerts.h), each flagged
 *    NRO_EVF_ACTIVE ("replay":true in JSON, ACTIVE in text), so what fired
 *    before it started is not missed. A cursor from another epoch (the ring was recreated) restarts
 *    at the new ring's oldest record;
 *  - then live messages: seq == last + 1 is delivered as is; a larger seq
 *    first has the gap filled from the ring (records of other kinds are
 *    skipped there: a seq gap is normal for a sink that takes only events);
 *    seq <= last is a duplicate and skipped. Every 500 ms the ring's head is
 *    checked too, so records nng dropped are delivered even when no newer
 *    message comes;
 *  - what the ring no longer holds is counted in `lost` and reported on
 *    stderr: "lost N records (seq A..B): the ring no longer holds them";
 *  - if the ring does not exist yet (analyzer not started), live messages
 *    are delivered as they come and the ring is opened once it appears (a
 *    ring born after the sink started is read from its oldest record).
 *
 * Cursor. Written atomically (temporary file + rename) when the sink goes
 * idle after a delivery and at most every 100 ms during a catch-up burst,
 * and on SIGTERM. A SIGTERM'd sink neither repeats nor skips anything on
 * restart; after a kill -9 the messages delivered since the last cursor
 * write (the one in flight, or up to 100 ms of a catch-up) are delivered
 * again. "--cursor none" disables it. The temporary file is created with
 * O_EXCL|O_NOFOLLOW (a planted symlink is removed, never followed). The
 * cursor is not fsynced: it must outlive the process, not the machine
 * (the ring it points into lives in memory). A cursor that cannot be
 * written is warned about once a minute and delivery goes on: a restart
 * then repeats what was delivered since the last good write.
 *
 * Epochs. With the ring open, a live nng message only announces its seq:
 * what is delivered is the ring's own copy, so messages of a recreated
 * ring (another epoch) are never delivered under the old ring's seqs.
 *
 * Retry. A deliver function that cannot reach its destination returns
 * NRO_SINK_RETRY: the message is not counted as delivered, the cursor does
 * not move, and the same message is offered again after a back-off (100 ms
 * doubling to 5 s). Meanwhile input is not read: with a ring, what comes in
 * is recovered from it afterwards (as long as the ring holds it); on a pipe
 * the writer is held back.
 *
 * Signals: SIGTERM/SIGINT finish the current message, write the cursor and
 * make nro_sink_run return 0. -d FD signals readiness once subscribed.
 */
#ifndef NRO_SINK_H
#define NRO_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "wire/record.h"
#include "wire/ring.h"
#include "run/tool.h"
#include "wire/transport.h"

enum {
	NRO_SINK_OK = 0,     /* delivered */
	NRO_SINK_RETRY = -1, /* destination unavailable: offer it again later */
	NRO_SINK_FATAL = -2, /* stop: nro_sink_run returns s->exit_code (default 111) */
};

/* Delivers one decoded message (all entries of m->hdr.kind, one of the
 * sink's kinds); m and what it points into are valid during the call only.
 * Returns NRO_SINK_OK, NRO_SINK_RETRY or NRO_SINK_FATAL. */
typedef int (*nro_sink_deliver_fn)(void *ctx, struct nro_msg *m);

/*
 * Optional batching. With a flush function, deliver's NRO_SINK_OK means
 * "accepted" (held in the sink's batch), not "delivered": the cursor moves
 * only past messages that a later flush returned NRO_SINK_OK for. flush is
 * called when the input goes idle with accepted-but-unflushed messages,
 * when flush_ms has passed since the first unflushed accept, and at
 * SIGTERM or the end of a pipe. It returns NRO_SINK_OK (everything
 * accepted so far is delivered now), NRO_SINK_RETRY (not delivered: the
 * sink keeps its batch; flush is offered again after the usual back-off,
 * no input is read meanwhile) or NRO_SINK_FATAL. A deliver whose batch is
 * full flushes it itself first and returns NRO_SINK_RETRY if that fails
 * (m was not taken: it is offered again later). After a kill -9, what was
 * accepted but not flushed is read again from the ring on restart, so a
 * receiver sees it at least once (dedupe by epoch and seq).
 */
typedef int (*nro_sink_flush_fn)(void *ctx);
#define NRO_SINK_FLUSH_MS 1000

struct nro_sink {
	struct nro_tool tool;     /* common options (NRO_COMMON_INPUT), signals */
	const char *kinds;        /* record kinds to deliver, e.g. "E"; may be changed before run */
	const char *ring_path;    /* --ring PATH, NULL = $NRO_RUN_DIR/ring, "none" = no ring */
	const char *cursor_path;  /* --cursor FILE, NULL = $NRO_RUN_DIR/<prog>.cursor, "none" */
	int from_start;           /* --from-start */
	int exit_code;            /* what a NRO_SINK_FATAL makes run return */
	int64_t flush_ms;         /* batching: flush at most this long after an accept (0 = 1 s) */

	/* counters, for the sink's own metrics */
	uint64_t delivered;  /* messages delivered */
	uint64_t lost;       /* seqs the ring no longer held when needed */
	uint64_t duplicates; /* live messages already delivered from the ring */
	uint64_t rejected;   /* malformed messages dropped */
	uint64_t retries;    /* NRO_SINK_RETRY answers */
	uint64_t flushes;    /* batches a flush delivered */

	/* the rest is private to lib/run/sink.c */
	nro_sink_deliver_fn fn;
	nro_sink_flush_fn flush;
	void *ctx;
	int pending, flush_blocked;         /* an accepted batch is not flushed yet */
	int64_t pending_since_ms;
	uint64_t done_epoch, done_seq;      /* the cursor while pending */
	int have_done;
	int pipe_mode;
	struct nro_in in;
	struct nro_ring ring;
	int ring_open, ring_seen_absent;
	uint64_t epoch;         /* epoch of the ring `last` counts in; 0 = none yet */
	uint64_t last;          /* last seq delivered or skipped */
	int have_last;
	uint64_t cursor_written_epoch, cursor_written_seq;
	int64_t cursor_at_ms, replaced_check_ms;
	int64_t retry_at_ms, backoff_ms; /* retry_at_ms != 0: blocked */
	int stop, fatal, warned_missing;
	struct nro_buf rbuf;    /* ring reads */
	struct nro_buf held;    /* without a ring: the message waiting for a retry */
	struct nro_msg msg;
	char ring_buf[4200], cursor_buf[4200];
};

/*
 * Parses the common options plus --ring, --cursor, --from-start and the
 * sink's own extra table (may be NULL) from env and argv (exits 100 on a
 * bad one, 0 after --help); kinds is the default set of record kinds.
 * s is the caller's; nro_sink_run releases what it allocates.
 */
void nro_sink_init(struct nro_sink *s, const char *prog, const char *summary,
		   const struct nro_optdef *extra, int argc, char **argv, const char *kinds);

/* Subscribes, catches up from the ring, then delivers until SIGTERM (or end
 * of a pipe). Returns the exit code: 0, 102 for a pipe that lost its framing
 * or ended inside a record, or s->exit_code after NRO_SINK_FATAL (an input
 * that cannot be opened exits 111, or 100 for an address that cannot be). */
int nro_sink_run(struct nro_sink *s, nro_sink_deliver_fn deliver, void *ctx);
/* For a deliver or flush function that must stop the sink: logs one
 * "prog: fatal: ..." line, sets s->exit_code, returns NRO_SINK_FATAL. */
int nro_sink_fatal(struct nro_sink *s, int exit_code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same with batching (flush may be NULL: then it is nro_sink_run). */
int nro_sink_run_batched(struct nro_sink *s, nro_sink_deliver_fn deliver,
			 nro_sink_flush_fn flush, void *ctx);
/* The analyzer ring's epoch that the message being delivered counts in
 * (with its m->hdr.seq, a unique id across restarts); 0 without a ring. */
uint64_t nro_sink_epoch(const struct nro_sink *s);

/* Reads a cursor file: 0 with epoch and seq, or -1 (missing or malformed).
 * The file is one line: "nro-cursor 1 <epoch as 16 hex digits> <seq>\n". */
int nro_cursor_read(const char *path, uint64_t *epoch, uint64_t *seq);
/* Writes one atomically (PATH.tmp, then rename). 0 or -1 with errno. */
int nro_cursor_write(const char *path, uint64_t epoch, uint64_t seq);

#endif
