/*
 * The analyzer's rules: facts gathered from collectors' records, one alert
 * per (event type, object), and the table-driven state machine
 *
 *     inactive -> pending -> firing -> resolving -> inactive
 *
 * with a `for` duration before firing, `resolve_after` hysteresis before
 * resolving, and flapping detection. Events leave through a callback; time
 * is passed in (Unix ms), so tests drive the clock.
 */
#ifndef NRO_RULES_H
#define NRO_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "wire/record.h"

struct nro_rules;

/* Called for every event the rules emit; ev and its strings are valid only
 * during the call. node is the node the event is about. */
typedef void (*nro_rules_event_fn)(void *ctx, const char *node, const struct nro_event *ev);
/* Called for every derived metric (node_runtime_*) from nro_rules_derived. */
typedef void (*nro_rules_metric_fn)(void *ctx, const char *node, const struct nro_metric *m);

/* Creates the rule engine with the defaults of DESIGN.md. NULL on OOM. */
struct nro_rules *nro_rules_new(nro_rules_event_fn on_event, void *ctx);
/* Frees r and everything it tracks; NULL is fine. */
void nro_rules_free(struct nro_rules *r);

/* Sets one parameter, "<EventType>.<for|resolve_after|threshold|severity|enabled>=VALUE",
 * or "flap.window=D", "flap.changes=N". 0, or -1 with a reason. */
int nro_rules_set(struct nro_rules *r, const char *kv, char *err, size_t errlen);
/* Writes every rule's parameters, one "Type.key=value" per line, into out. */
void nro_rules_describe(const struct nro_rules *r, char *out, size_t outlen);

/* Takes in one decoded record (any kind) at time now. */
void nro_rules_feed(struct nro_rules *r, struct nro_msg *m, int64_t now_ms);
/* Advances time: fires pending alerts whose `for` passed, resolves those
 * whose hysteresis passed, detects collectors that went quiet. */
void nro_rules_tick(struct nro_rules *r, int64_t now_ms);
/* Re-evaluates every rule now (after facts changed, e.g. on EOF). */
void nro_rules_evaluate(struct nro_rules *r, int64_t now_ms);

/* Takes in one record a previous run forwarded (read back from the ring)
 * as facts only, at the time it was made (at most now): no rule is
 * evaluated and no event emitted. A restarted analyzer so keeps the
 * baselines a transition is judged against (a container's restart count,
 * a node's boot id) and knows which collectors were publishing. */
void nro_rules_prime(struct nro_rules *r, struct nro_msg *m, int64_t now_ms);
/* After the last nro_rules_prime: moves every primed collector's clock on
 * by the time since the newest primed record (the analyzer's own absence is
 * not their silence: no CollectorDown for it), judges the primed facts once
 * without emitting anything (what they held is not news: kernel problems,
 * restarts and reboots the previous run already judged), then forgets every
 * alert, for nro_rules_restore to say which are firing. */
void nro_rules_primed(struct nro_rules *r, int64_t now_ms);

/* Restores an event the analyzer published before a restart (read back from
 * the ring), so an alert that is firing is not announced twice. */
void nro_rules_restore(struct nro_rules *r, const struct nro_header *h, const struct nro_event *ev);

/* Emits the derived metrics (node_runtime_*) through fn. */
void nro_rules_derived(struct nro_rules *r, nro_rules_metric_fn fn, void *ctx, int64_t now_ms);

/* Counts a record the analyzer could not decode (node_runtime_errors_total). */
void nro_rules_count_error(struct nro_rules *r, const char *node, const char *error_type);

/* Number of tracked pods, containers and alerts (for tests: bounded memory). */
/* Calls fn for every alert subscribers were last told is firing, as a
 * firing event flagged NRO_EVF_ACTIVE (a snapshot, not a transition);
 * returns how many. Changes nothing. */
size_t nro_rules_firing(const struct nro_rules *r, nro_rules_event_fn fn, void *ctx, int64_t now);

void nro_rules_sizes(const struct nro_rules *r, size_t *pods, size_t *containers, size_t *alerts);

#endif
