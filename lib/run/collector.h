/*
 * The runtime every kubelet collector shares: options, the kubelet client,
 * the output, batching of entries into records, the drift-free poll loop,
 * and one health record (plus an error record on failure) after each poll.
 *
 * A collector is a poll function and a main of a few lines:
 *
 *   static int poll(struct nro_collector *c, void *ctx, struct nro_fetch *res)
 *   {   ... nro_kubelet_get(c->kubelet, "/pods", ...), nro_emit_state(c, &s) ...
 *       return 0 or -1 (res->err and res->message say why) }
 *   int main(int argc, char **argv)
 *   {   struct nro_collector c;
 *       nro_collector_init(&c, "collector-pods", "...", "/pods", 15000, NULL, argc, argv);
 *       return nro_collector_run(&c, poll, NULL); }
 */
#ifndef NRO_COLLECTOR_H
#define NRO_COLLECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "net/kubelet.h"
#include "wire/record.h"
#include "run/tool.h"
#include "wire/transport.h"

#define NRO_BATCH_BYTES (256u << 10) /* a record is flushed once it passes this: big enough
                                      * that wire v2's string table pays off */
#define NRO_NODE_WAIT_MS 5000       /* for the shared node name, before the first poll */

struct nro_collector {
	struct nro_tool t;
	struct nro_kubelet *kubelet; /* owned; NULL for non-kubelet collectors */
	struct nro_out out;
	struct nro_enc enc;
	const char *target;  /* what is polled, e.g. "/stats/summary" */
	uint64_t seq;        /* of the next record */
	int64_t poll_ts_ms;  /* wall time at the start of the current poll */
	char node[256];      /* node name in every record header */
	int node_from_flag;  /* --node was given: data never overrides it */
	int node_differs_said; /* warned once that the data name another node */
	int not_served_said;   /* the 404 of the last poll was said (once) */
	int learns_node;       /* its data name the node (pods, summary): set before run */
	uint64_t entries;    /* entries emitted in the current poll */
	uint64_t send_errors;
	/* The poll function may mark a poll that succeeded as degraded, with a
	 * one-line reason (e.g. "3 malformed lines skipped"). */
	int degraded;
	char degraded_msg[256];
	/* Set with degraded when the poll function has logged the reason itself
	 * (once, not every poll): the runtime then does not warn again. */
	int degraded_quiet;
	/* Called after every poll, its records flushed (NULL: nothing): where a
	 * poll's helper gives back storage the next poll will not need. */
	void (*after_poll)(void *ctx);
	void *after_poll_ctx;
};

/* Parses options (kubelet, poll, output groups plus extra), creates the
 * kubelet client and opens the output (default: dial records.ipc). Exits 100
 * on bad configuration, 111 if the output cannot be opened. c is owned by the
 * caller; nro_collector_run() frees what init allocated. */
void nro_collector_init(struct nro_collector *c, const char *prog, const char *summary,
			const char *target, int64_t default_interval_ms,
			const struct nro_optdef *extra, int argc, char **argv);
/* Same, for collectors that do not talk to the kubelet (no kubelet flags). */
void nro_collector_init_local(struct nro_collector *c, const char *prog, const char *summary,
			      const char *target, int64_t default_interval_ms,
			      const struct nro_optdef *extra, int argc, char **argv);

/* Offers the node name learned from the kubelet's data (run/nodename.h):
 * unless this process knows the pipeline's name already (--node, or the
 * shared file), it is shared in the run directory and the first one there
 * is used from now on. c->node is "" until a name is known: never the
 * hostname. */
void nro_collector_set_node(struct nro_collector *c, const char *name, size_t len);

/* Emit one entry; entries are batched into records of one kind and flushed
 * when the kind changes, a batch passes NRO_BATCH_BYTES, or the poll ends.
 * Strings are copied. Return 0, or -1 if the entry breaks a format rule (it
 * is dropped and logged at debug level). */
int nro_emit_metric(struct nro_collector *c, const struct nro_metric *m);
int nro_emit_state(struct nro_collector *c, const struct nro_state *s);
int nro_emit_error(struct nro_collector *c, const struct nro_error *x);
/* Sends the pending batch, if any. */
void nro_emit_flush(struct nro_collector *c);

/* Convenience: a gauge/counter with up to NRO_ATTRS_MAX "key", "value"
 * C-string pairs, terminated by NULL. */
int nro_emit_gauge(struct nro_collector *c, const char *name, const char *unit, double value,
		   ...) __attribute__((sentinel));
int nro_emit_counter(struct nro_collector *c, const char *name, const char *unit, double value,
		     ...) __attribute__((sentinel));

typedef int (*nro_poll_fn)(struct nro_collector *c, void *ctx, struct nro_fetch *res);

/* Runs the poll loop until SIGTERM (exit 0), or once with --once: returns 0
 * if the poll succeeded, else nro_exit_for_fetch() of the failure (100
 * configuration, 101 not served, 102 undecodable, 111 transient); 111 too
 * when nothing subscribes to the output in time (nothing is polled then).
 * A daemon logs one startup line; a 404 is said once, at info level. A
 * daemon that does not know the node's name and does not learn it itself
 * (learns_node) waits up to NRO_NODE_WAIT_MS before its first poll for the
 * name a learner shares, saying so, so that its records carry the name.
 * SIGHUP rebuilds the kubelet client (re-reads the CA, certificate and key
 * files). Frees everything init allocated. */
int nro_collector_run(struct nro_collector *c, nro_poll_fn poll, void *ctx);

/* A collector that also follows a stream (collector-kmsg follows
 * /dev/kmsg): between polls it waits on the fd that fd(ctx) returns (-1:
 * none, asked before every wait) and calls readable() whenever it can be
 * read; what readable() emits is flushed at once. The poll still runs
 * every interval (health record; --once polls only, so the poll function
 * reads what is there itself). */
struct nro_follow {
	int (*fd)(void *ctx);
	void (*readable)(struct nro_collector *c, void *ctx);
};
int nro_collector_run_follow(struct nro_collector *c, nro_poll_fn poll, const struct nro_follow *f,
			     void *ctx);
/* For collectors with a loop of their own (collector-systemd waits on a bus
 * as well as the clock): one poll reported as the loop reports it (a health
 * record, plus an error record on failure); returns 0, or the --once exit
 * code. Then nro_collector_close() frees what init allocated. */
int nro_collector_poll(struct nro_collector *c, nro_poll_fn poll, void *ctx);
void nro_collector_close(struct nro_collector *c);

#endif
