/*
 * analyzer: takes in the collectors' records, keeps facts and one alert per
 * (event type, object), and publishes events on a transition. Everything it
 * publishes (the collectors' records, forwarded, its events and its derived
 * metrics) is given the analyzer's own sequence number and goes into the
 * shared-memory ring first, so a subscriber that missed a record finds it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/log.h"
#include "wire/alerts.h"
#include "wire/record.h"
#include "run/memory.h"
#include "wire/ring.h"
#include "rules/rules.h"
#include "run/signals.h"
#include "run/tool.h"
#include "wire/transport.h"

#define TICK_MS 1000

struct analyzer {
	struct nro_tool t;
	struct nro_rules *rules;
	struct nro_out out;
	struct nro_ring ring;
	int have_ring;
	uint64_t next_seq; /* without a ring */
	struct nro_buf fwd; /* a forwarded record, its seq patched */
	struct nro_enc events, metrics, lost, snap, named;
	char seen_node[256]; /* the first name a record carried, for a pipe without a run dir's */
	char alerts_path[4200]; /* "" = no alerts file (no ring) */
	int firing_changed;
	char events_node[256], metrics_node[256];
	uint64_t published, decode_errors, ring_misses, forged;
};

static const char *ring_path = NULL;
static uint64_t ring_size = NRO_RING_DEFAULT_SIZE;
static int64_t metrics_interval_ms = 15000;
static int list_rules;
static struct nro_rules *g_rules; /* for the --set callback, before main's struct exists */

static int set_rule(void *dst, const char *value, char *err, size_t errlen)
{
	(void)dst;
	return nro_rules_set(g_rules, value, err, errlen);
}

static const struct nro_optdef opts[] = {
	{"set", 0, "NRO_SET", NRO_OPT_FUNC, NULL, set_rule, "TYPE.KEY=VALUE",
	 "rule parameter: for, resolve_after, threshold, critical, severity, enabled, or\n"
	 "flap.window, flap.changes (repeatable; env k=v,k=v; --rules lists them)"},
	{"rules", 0, NULL, NRO_OPT_FLAG, &list_rules, NULL, NULL,
	 "print every rule with its parameters and exit (a question asked once has no "
	 "variable)"},
	{"ring", 0, "NRO_RING", NRO_OPT_STR, &ring_path, NULL, "PATH",
	 "shared-memory ring (default $NRO_RUN_DIR/ring; none to disable; off by default with -o -)"},
	{"ring-size", 0, "NRO_RING_SIZE", NRO_OPT_UINT, &ring_size, NULL, "BYTES",
	 "ring data size (default 8388608)"},
	{"metrics-interval", 0, "NRO_METRICS_INTERVAL", NRO_OPT_DUR, &metrics_interval_ms, NULL,
	 "D", "how often derived node_runtime_* metrics are published (default 15s)"},
	{NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
};

/* In place of a record the ring refused (over a quarter of its size): an
 * error record saying so, under the same seq, so seqs stay consecutive and
 * the loss is explicit to every subscriber. Returns its length in a->lost. */
static size_t stand_in_for(struct analyzer *a, const uint8_t *msg, size_t len, uint64_t seq)
{
	struct nro_msg m;
	char source[128] = "?", text[512];
	if (nro_decode(&m, msg, len, NULL) == 0)
		snprintf(source, sizeof source, "%.*s", (int)m.hdr.source.len, m.hdr.source.p);
	snprintf(text, sizeof text, "a record of %zu bytes from %s was dropped: larger than a "
		 "quarter of the ring (raise --ring-size)", len, source);
	nro_enc_begin(&a->lost, NRO_KIND_ERROR, seq, nro_wall_ms(), "analyzer",
		      nro_tool_node(&a->t));
	struct nro_error x = {NRO_ERR_TOO_LARGE, 0, nro_s("ring"), nro_s(text)};
	nro_enc_error(&a->lost, &x);
	nro_warn("%s", text);
	return nro_enc_finish(&a->lost);
}

/* Stamps our sequence number on a record, keeps it in the ring, publishes
 * it. A record the ring cannot keep is replaced by a stand-in error record:
 * a seq is never reused, never skipped. */
static void publish(struct analyzer *a, uint8_t *msg, size_t len)
{
	uint64_t seq = a->have_ring ? nro_ring_head(&a->ring) + 1 : a->next_seq;
	nro_record_set_seq(msg, len, seq);
	if (a->have_ring && nro_ring_write(&a->ring, msg, len) != seq) {
		a->ring_misses++;
		len = stand_in_for(a, msg, len, seq);
		msg = a->lost.buf;
		if (!len || nro_ring_write(&a->ring, msg, len) != seq)
			nro_die(NRO_EXIT_TEMP, "the ring refused even a %zu-byte error record", len);
	}
	if (!a->have_ring)
		a->next_seq++;
	if (nro_out_send(&a->out, msg, len) != 0 && a->out.fd >= 0)
		nro_die(NRO_EXIT_OK, "output closed");
	a->published++;
}

static void write_alerts(struct analyzer *a);

static void flush_enc(struct analyzer *a, struct nro_enc *e)
{
	if (e->len && e->count) {
		size_t len = nro_enc_finish(e);
		if (len)
			publish(a, e->buf, len);
	}
	e->len = 0;
	e->count = 0;
	if (e == &a->events && a->firing_changed)
		write_alerts(a);
}

static void snap_one(void *ctx, const char *node, const struct nro_event *ev)
{
	struct analyzer *a = ctx;
	if (a->snap.len == 0)
		nro_enc_begin(&a->snap, NRO_KIND_EVENT, 0, nro_wall_ms(), /* seq 0: no ring seq */
			      "analyzer", node);
	if (nro_enc_event(&a->snap, ev) != 0)
		nro_warn("alerts file: %.*s left out (the record is full)", ev->type.len, ev->type.p);
}

/* The firing set into $NRO_RUN_DIR/alerts, for nro-alerts, for sinks that
 * start without a cursor, and for our own restart once the ring has
 * overwritten an old alert's firing event. */
static void write_alerts(struct analyzer *a)
{
	a->firing_changed = 0;
	if (!a->alerts_path[0])
		return;
	a->snap.len = 0;
	a->snap.count = 0;
	nro_rules_firing(a->rules, snap_one, a, nro_wall_ms());
	size_t len = a->snap.len ? nro_enc_finish(&a->snap) : 0;
	char err[512];
	if (nro_alerts_write(a->alerts_path, a->snap.buf, len, err, sizeof err) != 0)
		nro_warn("cannot write the alerts file: %s", err);
}

/* The alerts file a previous run left: what was firing, even where the
 * ring no longer holds the firing event. Restored before the ring's own
 * events, which are newer or the same. */
static size_t restore_from_alerts_file(struct analyzer *a)
{
	struct nro_buf b;
	char err[512];
	size_t n = 0;
	nro_buf_init(&b, NRO_MSG_MAX);
	int rc = nro_alerts_read(a->alerts_path, &b, err, sizeof err);
	if (rc < 0)
		nro_warn("ignoring the alerts file: %s", err);
	struct nro_msg m;
	if (rc == 1 && b.len && nro_decode(&m, (const uint8_t *)b.p, b.len, NULL) == 0) {
		struct nro_event ev;
		while (nro_next_event(&m, &ev)) {
			nro_rules_restore(a->rules, &m.hdr, &ev);
			n++;
		}
	}
	nro_buf_free(&b);
	return n;
}

static void begin_if_needed(struct analyzer *a, struct nro_enc *e, char *cur_node, uint8_t kind,
			    const char *node)
{
	if (e->len && (strcmp(cur_node, node) != 0 || e->len > (48u << 10)))
		flush_enc(a, e);
	if (e->len == 0) {
		nro_enc_begin(e, kind, 0, nro_wall_ms(), "analyzer", node);
		snprintf(cur_node, 256, "%s", node);
	}
}

static void on_event(void *ctx, const char *node, const struct nro_event *ev)
{
	struct analyzer *a = ctx;
	begin_if_needed(a, &a->events, a->events_node, NRO_KIND_EVENT, node);
	if (nro_enc_event(&a->events, ev) != 0) {
		flush_enc(a, &a->events);
		begin_if_needed(a, &a->events, a->events_node, NRO_KIND_EVENT, node);
		if (nro_enc_event(&a->events, ev) != 0)
			nro_warn("event %.*s refused by the record format", ev->type.len, ev->type.p);
	}
	a->firing_changed = 1;
	nro_info("%s %.*s %.*s", nro_event_state_name(ev->state), ev->type.len, ev->type.p,
		 ev->message.len, ev->message.p);
}

static void on_metric(void *ctx, const char *node, const struct nro_metric *m)
{
	struct analyzer *a = ctx;
	begin_if_needed(a, &a->metrics, a->metrics_node, NRO_KIND_METRIC, node);
	if (nro_enc_metric(&a->metrics, m) != 0) {
		flush_enc(a, &a->metrics);
		begin_if_needed(a, &a->metrics, a->metrics_node, NRO_KIND_METRIC, node);
		nro_enc_metric(&a->metrics, m);
	}
}

/* Takes back as facts what the ring holds of the collectors' records (the
 * previous run forwarded them), so a restarted analyzer judges the next
 * poll against the last one it missed nothing of: a restart count that rose
 * while it was down is a restart, not a first sight. Nothing is announced
 * from these; the alerts come from the events (restore_from_ring). */
static void prime_from_ring(struct analyzer *a)
{
	uint64_t head = nro_ring_head(&a->ring), first = nro_ring_oldest(&a->ring);
	struct nro_buf b;
	size_t primed = 0;
	int64_t now = nro_wall_ms();
	nro_buf_init(&b, NRO_MSG_MAX);
	for (uint64_t seq = first; seq && seq <= head; seq++) {
		struct nro_msg m;
		if (nro_ring_read(&a->ring, seq, &b) != 1 ||
		    nro_decode(&m, (const uint8_t *)b.p, b.len, NULL) != 0 ||
		    nro_str_eq(m.hdr.source, "analyzer") || m.hdr.kind == NRO_KIND_EVENT)
			continue;
		nro_rules_prime(a->rules, &m, now);
		primed++;
	}
	nro_buf_free(&b);
	if (primed)
		nro_rules_primed(a->rules, now);
	nro_debug("%zu forwarded records taken back from the ring as facts", primed);
}

/* Rebuilds which alerts are firing from the events the ring still holds, so
 * a restarted analyzer does not announce them again. */
static void restore_from_ring(struct analyzer *a)
{
	uint64_t head = nro_ring_head(&a->ring), first = nro_ring_oldest(&a->ring);
	struct nro_buf b;
	size_t restored = 0;
	nro_buf_init(&b, NRO_MSG_MAX);
	for (uint64_t seq = first; seq && seq <= head; seq++) {
		if (nro_ring_read(&a->ring, seq, &b) != 1)
			continue;
		struct nro_msg m;
		/* only events the analyzer made itself: the ring also holds what it
		 * forwarded, and nothing forwarded may pass for an alert */
		if (nro_decode(&m, (const uint8_t *)b.p, b.len, NULL) != 0 ||
		    m.hdr.kind != NRO_KIND_EVENT || !nro_str_eq(m.hdr.source, "analyzer"))
			continue;
		struct nro_event ev;
		while (nro_next_event(&m, &ev)) {
			nro_rules_restore(a->rules, &m.hdr, &ev);
			restored++;
		}
	}
	nro_buf_free(&b);
	if (head)
		nro_info("ring holds seq %llu..%llu; %zu earlier events restored",
			 (unsigned long long)first, (unsigned long long)head, restored);
}

/* The pipeline's one node name: the shared one, else the first a record
 * carried ("" while neither is known). */
static const char *pipeline_node(struct analyzer *a, const struct nro_msg *m)
{
	const char *node = nro_tool_node(&a->t);
	if (*node)
		return node;
	if (!a->seen_node[0] && m->hdr.node.len && m->hdr.node.len < sizeof a->seen_node)
		snprintf(a->seen_node, sizeof a->seen_node, "%.*s", (int)m->hdr.node.len,
			 m->hdr.node.p);
	return a->seen_node;
}

/* A record from a collector that has not learned the node's name yet ("")
 * belongs to the pipeline's one node, never to a second, nameless one:
 * re-encoded under that name into a->named and *m re-decoded from it.
 * 0 when renamed, -1 when no name is known yet (m left as it was). */
static int name_the_node(struct analyzer *a, struct nro_msg *m)
{
	const char *node = pipeline_node(a, m);
	struct nro_msg renamed;
	if (!*node || nro_enc_copy_for_node(&a->named, m, node) != 0 ||
	    nro_decode(&renamed, a->named.buf, nro_enc_finish(&a->named), NULL) != 0)
		return -1;
	*m = renamed;
	return 0;
}

static void take(struct analyzer *a, const uint8_t *buf, size_t len)
{
	struct nro_msg m;
	const char *why;
	if (nro_decode(&m, buf, len, &why) != 0) {
		if (a->decode_errors++ < 10 || a->decode_errors % 1000 == 0)
			nro_warn("dropped a malformed record (%zu bytes): %s (%llu so far)", len, why,
				 (unsigned long long)a->decode_errors);
		nro_rules_count_error(a->rules, nro_tool_node(&a->t), "decode");
		return;
	}
	if (nro_str_eq(m.hdr.source, "analyzer"))
		return; /* never loop our own output back */
	pipeline_node(a, &m);
	if (m.hdr.kind == NRO_KIND_EVENT) {
		/* events are the analyzer's alone: one from an input is forged */
		if (a->forged++ < 10)
			nro_warn("dropped an event record from %.*s: only the analyzer makes events",
				 (int)m.hdr.source.len, m.hdr.source.p);
		nro_rules_count_error(a->rules, nro_tool_node(&a->t), "forged_event");
		return;
	}
	if (m.hdr.node.len == 0 && name_the_node(a, &m) == 0) {
		publish(a, a->named.buf, a->named.len);
	} else {
		nro_buf_reset(&a->fwd);
		if (nro_buf_add(&a->fwd, buf, len) == 0)
			publish(a, (uint8_t *)a->fwd.p, len);
	}
	nro_rules_feed(a->rules, &m, nro_wall_ms());
	flush_enc(a, &a->events);
}

/* --rules: prints every rule with its parameters and where each comes from. */
static void print_rules(struct analyzer *a)
{
	char buf[32768];
	nro_rules_describe(a->rules, buf, sizeof buf);
	printf("rules (set with --set TYPE.KEY=VALUE; docs/events.md explains each):\n%s", buf);
	nro_rules_free(a->rules);
	exit(0);
}

/* Why the ring could not be made: a full file system or another writer
 * may pass (111, s6 retries); a path that cannot be a ring will not (100). */
static int ring_exit_code(int err)
{
	switch (err) {
	case ENOSPC:
	case EDQUOT:
	case ENOMEM:
	case EWOULDBLOCK:
	case EINTR:
	case EIO:
		return NRO_EXIT_TEMP;
	default:
		return NRO_EXIT_USAGE;
	}
}

/* The ring (restoring what is firing from it), then the output and input. */
static void open_io(struct analyzer *a, struct nro_in *in, const char **in_addr,
		    const char **out_addr)
{
	static char path[4200];
	char err[512];
	*in_addr = a->t.input ? a->t.input : nro_records_addr(&a->t);
	*out_addr = a->t.output ? a->t.output : nro_events_addr(&a->t);
	if (!ring_path && strcmp(*out_addr, "-") != 0) {
		snprintf(path, sizeof path, "%s/ring", a->t.run_dir);
		ring_path = path;
	}
	if (ring_path && strcmp(ring_path, "none") != 0) {
		if (nro_ring_create(&a->ring, ring_path, (size_t)ring_size, err, sizeof err) != 0)
			nro_die(ring_exit_code(errno), "--ring %s: %s", ring_path, err);
		a->have_ring = 1;
		snprintf(a->alerts_path, sizeof a->alerts_path, "%s/%s", a->t.run_dir,
			 NRO_ALERTS_FILE);
		prime_from_ring(a);
		size_t from_file = restore_from_alerts_file(a);
		restore_from_ring(a);
		if (from_file)
			nro_info("%zu firing alerts restored from %s", from_file, a->alerts_path);
		write_alerts(a);
	}
	if (nro_out_open(&a->out, *out_addr, NRO_LISTEN, err, sizeof err) != 0)
		nro_die(NRO_EXIT_TEMP, "%s", err);
	if (nro_in_open(in, *in_addr, NRO_LISTEN, NULL, err, sizeof err) != 0)
		nro_die(NRO_EXIT_TEMP, "%s", err);
}

/* Takes in records and ticks the rules until SIGTERM (0) or the input's
 * end (1). */
static int run(struct analyzer *a, struct nro_in *in)
{
	int64_t next_tick = nro_mono_ms() + TICK_MS;
	int64_t next_metrics = nro_mono_ms() + metrics_interval_ms;
	for (;;) {
		const uint8_t *buf;
		size_t len;
		int r;
		while ((r = nro_in_recv(in, &buf, &len)) == 1) {
			take(a, buf, len);
			nro_mem_trim_after(len);
		}
		if (r < 0)
			return 1;
		int64_t deadline = next_tick < next_metrics ? next_tick : next_metrics;
		nro_mem_trim_after(0); /* a burst that ended under a second ago: now */
		int w = nro_wait(&a->t, deadline, nro_in_fd(in));
		if (w == NRO_SIG_TERM)
			return 0;
		if (w == NRO_SIG_HUP)
			nro_info("SIGHUP: nothing to reload (rule parameters come from flags and env)");
		int64_t now = nro_mono_ms();
		if (now >= next_tick) {
			nro_rules_tick(a->rules, nro_wall_ms());
			flush_enc(a, &a->events);
			next_tick = now + TICK_MS;
		}
		if (now >= next_metrics) {
			nro_rules_derived(a->rules, on_metric, a, nro_wall_ms());
			flush_enc(a, &a->metrics);
			next_metrics = now + metrics_interval_ms;
		}
	}
}

/* A finite pipe ended: judge what came in, report, and stop. Returns the
 * exit status: 102 when the input was not whole records (the transport
 * has already said a lost framing). */
static int finish_input(struct analyzer *a, const struct nro_in *in)
{
	if (in->truncated)
		nro_error("input ended inside a record (truncated stream)");
	nro_rules_evaluate(a->rules, nro_wall_ms());
	flush_enc(a, &a->events);
	nro_rules_derived(a->rules, on_metric, a, nro_wall_ms());
	flush_enc(a, &a->metrics);
	return in->oversized || in->truncated ? NRO_EXIT_DATA : 0;
}

int main(int argc, char **argv)
{
	struct analyzer a;
	memset(&a, 0, sizeof a);
	g_rules = a.rules = nro_rules_new(on_event, &a);
	if (!a.rules)
		nro_die(NRO_EXIT_TEMP, "out of memory");
	nro_tool_init(&a.t, "analyzer",
		      "Turn collectors' records into events (thresholds, a state machine with\n"
		      "for/resolve_after hysteresis and flapping detection) and derived metrics.\n"
		      "Listens for records on ipc://$NRO_RUN_DIR/records.ipc (-i), publishes every\n"
		      "record it forwards or makes on ipc://$NRO_RUN_DIR/events.ipc (-o), and keeps\n"
		      "them in the shared-memory ring $NRO_RUN_DIR/ring. Pipe mode: -i - -o -.\n"
		      "--rules lists every event type with its tiers; docs/events.md explains them.",
		      NRO_COMMON_INPUT | NRO_COMMON_OUTPUT, 0, opts, argc, argv);
	if (list_rules)
		print_rules(&a);
	if (metrics_interval_ms <= 0)
		nro_die(NRO_EXIT_USAGE, "--metrics-interval must be above 0");
	nro_signals_init(&a.t);
	nro_buf_init(&a.fwd, NRO_MSG_MAX);
	nro_enc_init(&a.events, 0);
	nro_enc_init(&a.metrics, 0);
	nro_enc_init(&a.lost, 0);
	nro_enc_init(&a.snap, 0);
	nro_enc_init(&a.named, 0);
	a.next_seq = 1;
	struct nro_in in;
	const char *in_addr, *out_addr;
	open_io(&a, &in, &in_addr, &out_addr);
	nro_ready(&a.t);
	nro_debug("listening for records on %s, publishing on %s", in_addr, out_addr);
	int status = 0;
	if (run(&a, &in))
		status = finish_input(&a, &in);
	nro_in_close(&in);
	nro_out_close(&a.out, 100);
	if (a.have_ring)
		nro_ring_close(&a.ring);
	nro_buf_free(&a.fwd);
	nro_enc_free(&a.events);
	nro_enc_free(&a.metrics);
	nro_enc_free(&a.lost);
	nro_enc_free(&a.snap);
	nro_enc_free(&a.named);
	nro_rules_free(a.rules);
	return status;
}
