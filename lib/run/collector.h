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

#define NRO_BATCH_BYTES (60u << 10) /* a record is flushed once it passes this */

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
	uint64_t entries;    /* entries emitted in the current poll */
	uint64_t send_errors;
	/* The poll function may mark a poll that succeeded as degraded, with a
	 * one-line reason (e.g. "3 malformed lines skipped"). */
	int degraded;
	char degraded_msg[256];
	/* Set with degraded when the poll function has logged the reason itself
	 * (once, not every poll): the runtime then does not warn again. */
	int degraded_quiet;
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

/* Sets the node name learned from the kubelet's data, unless --node was given. */
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
 * if the poll succeeded, 111 for a transient failure (connect, timeout, TLS,
 * truncated), 1 otherwise. SIGHUP rebuilds the kubelet client (re-reads the
 * CA, certificate and key files). Frees everything init allocated. */
int nro_collector_run(struct nro_collector *c, nro_poll_fn poll, void *ctx);

/* For collectors with a loop of their own (collector-systemd waits on a bus
 * as well as the clock): one poll reported as the loop reports it (a health
 * record, plus an error record on failure); returns 0, or the --once exit
 * code. Then nro_collector_close() frees what init allocated. */
int nro_collector_poll(struct nro_collector *c, nro_poll_fn poll, void *ctx);
void nro_collector_close(struct nro_collector *c);

#endif
