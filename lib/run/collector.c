#include "run/collector.h"
#include "run/signals.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "net/authz.h"
#include "run/memory.h"
#include "run/nodename.h"

static void open_output(struct nro_collector *c)
{
	char err[512];
	const char *addr = c->t.output ? c->t.output : nro_records_addr(&c->t);
	if (nro_out_open(&c->out, addr, NRO_DIAL, err, sizeof err) != 0)
		nro_die(strcmp(addr, "-") == 0 ? NRO_EXIT_TEMP : NRO_EXIT_USAGE, "%s", err);
}

static void common_init(struct nro_collector *c, const char *target)
{
	c->target = target;
	c->seq = 1;
	nro_enc_init(&c->enc, 0);
	snprintf(c->node, sizeof c->node, "%s", nro_tool_node(&c->t));
	c->node_from_flag = c->t.node && *c->t.node;
	nro_signals_init(&c->t);
	open_output(c);
}

/* "polling URL/pods every 15s; publishing on ADDR; node n1 (from --node)" */
static void startup_line(struct nro_collector *c)
{
	char every[32];
	nro_fmt_duration(every, sizeof every, c->t.interval_ms);
	const char *addr = c->t.output ? c->t.output : nro_records_addr(&c->t);
	const char *from = c->node_from_flag ? "--node/NRO_NODE_NAME"
			   : c->node[0]	      ? "shared in the run directory"
					      : NULL;
	snprintf(c->t.startup, sizeof c->t.startup,
		 "polling %s%s every %s; publishing on %s; node %s%s%s%s",
		 c->kubelet ? c->t.kubelet.url : "", c->target, every,
		 strcmp(addr, "-") == 0 ? "stdout" : addr,
		 c->node[0] ? c->node : "not known yet (learned from the kubelet's data)",
		 from ? " (" : "", from ? from : "", from ? ")" : "");
}

/* The tool's summary plus what every collector's --help must say: the
 * endpoint, the RBAC subresource it needs, the default interval. */
static const char *help_summary(const char *summary, const char *target, int64_t interval_ms)
{
	static char text[2048];
	char every[32], rbac[160];
	const char *fg = nro_kubelet_fine_grained(target);
	nro_fmt_duration(every, sizeof every, interval_ms);
	snprintf(rbac, sizeof rbac, "%s%s%s%s", nro_kubelet_subresource(target),
		 fg ? " (or " : "", fg ? fg : "", fg ? " with fine-grained authz)" : "");
	snprintf(text, sizeof text, "%s\n\nEndpoint: GET %s. Default interval: %s.\nRBAC: get on %s.",
		 summary ? summary : "", target, every, rbac);
	return text;
}

void nro_collector_init(struct nro_collector *c, const char *prog, const char *summary,
			const char *target, int64_t default_interval_ms,
			const struct nro_optdef *extra, int argc, char **argv)
{
	memset(c, 0, sizeof *c);
	nro_tool_init(&c->t, prog, help_summary(summary, target, default_interval_ms),
		      NRO_COMMON_KUBELET | NRO_COMMON_POLL | NRO_COMMON_OUTPUT, default_interval_ms,
		      extra, argc, argv);
	char err[512];
	c->kubelet = nro_kubelet_new(&c->t.kubelet, err, sizeof err);
	if (!c->kubelet)
		nro_die(NRO_EXIT_USAGE, "%s", err);
	common_init(c, target);
}

void nro_collector_init_local(struct nro_collector *c, const char *prog, const char *summary,
			      const char *target, int64_t default_interval_ms,
			      const struct nro_optdef *extra, int argc, char **argv)
{
	memset(c, 0, sizeof *c);
	nro_tool_init(&c->t, prog, summary, NRO_COMMON_POLL | NRO_COMMON_OUTPUT,
		      default_interval_ms, extra, argc, argv);
	common_init(c, target);
}

/* The pipeline's name as this process now knows it (one, never two). */
static void use_node(struct nro_collector *c, const char *name)
{
	if (strcmp(c->node, name) == 0)
		return;
	nro_emit_flush(c); /* the pending batch keeps the name it was begun with */
	snprintf(c->node, sizeof c->node, "%s", name);
	nro_info("node %s", c->node);
}

void nro_collector_set_node(struct nro_collector *c, const char *name, size_t len)
{
	if (len == 0 || len >= sizeof c->node)
		return;
	if (c->node[0]) {
		/* known (flag, shared file or learned before): one name, said once if the data differ */
		if ((strlen(c->node) != len || memcmp(c->node, name, len) != 0) && !c->node_differs_said) {
			nro_warn("the kubelet's data name node %.*s; keeping %s (%s)", (int)len, name,
				 c->node, c->node_from_flag ? "--node/NRO_NODE_NAME" : "the pipeline's name");
			c->node_differs_said = 1;
		}
		return;
	}
	char shared[256];
	if (nro_tool_shares_run_dir(&c->t))
		nro_node_share(c->t.run_dir, name, len, shared, sizeof shared);
	else
		snprintf(shared, sizeof shared, "%.*s", (int)len, name);
	use_node(c, shared);
}

/* Before a poll, a collector that cannot learn the name picks up the shared one. */
static void refresh_node(struct nro_collector *c)
{
	char shared[256];
	if (!c->node[0] && nro_tool_shares_run_dir(&c->t) &&
	    nro_node_read(c->t.run_dir, shared, sizeof shared) == 0)
		use_node(c, shared);
}

void nro_emit_flush(struct nro_collector *c)
{
	if (c->enc.len == 0 || c->enc.count == 0) {
		c->enc.len = 0;
		return;
	}
	size_t len = nro_enc_finish(&c->enc);
	if (len && nro_out_send(&c->out, c->enc.buf, len) != 0) {
		/* a pipe whose reader has gone: like `yes | head`, stop quietly */
		if (c->out.fd >= 0 && errno == EPIPE) {
			nro_info("the reader of standard output has gone: stopping");
			exit(NRO_EXIT_OK);
		}
		if (c->send_errors++ == 0)
			nro_warn("cannot write records to the output");
	}
	c->seq++;
	c->enc.len = 0;
	c->enc.count = 0;
}

/* Makes sure the pending batch is of kind and has room; starts a new one. */
static void batch_for(struct nro_collector *c, uint8_t kind)
{
	if (c->enc.len && (c->enc.buf[0] != kind || c->enc.len >= NRO_BATCH_BYTES))
		nro_emit_flush(c);
	if (c->enc.len == 0)
		nro_enc_begin(&c->enc, kind, c->seq, c->poll_ts_ms ? c->poll_ts_ms : nro_wall_ms(),
			      c->t.prog, c->node);
}

/* Retries an entry once in a fresh batch when the full one refused it. */
#define EMIT(c, kind, fn, entry)                                        \
	do {                                                            \
		batch_for(c, kind);                                     \
		if (fn(&(c)->enc, entry) == 0) {                        \
			(c)->entries++;                                 \
			return 0;                                       \
		}                                                       \
		if ((c)->enc.count == 0) {                              \
			nro_debug("entry refused by the record format"); \
			return -1;                                      \
		}                                                       \
		nro_emit_flush(c);                                      \
		batch_for(c, kind);                                     \
		if (fn(&(c)->enc, entry) == 0) {                        \
			(c)->entries++;                                 \
			return 0;                                       \
		}                                                       \
		nro_debug("entry refused by the record format");        \
		return -1;                                              \
	} while (0)

int nro_emit_metric(struct nro_collector *c, const struct nro_metric *m)
{
	EMIT(c, NRO_KIND_METRIC, nro_enc_metric, m);
}

int nro_emit_state(struct nro_collector *c, const struct nro_state *s)
{
	EMIT(c, NRO_KIND_STATE, nro_enc_state, s);
}

int nro_emit_error(struct nro_collector *c, const struct nro_error *x)
{
	EMIT(c, NRO_KIND_ERROR, nro_enc_error, x);
}

static int emit_simple(struct nro_collector *c, const char *name, const char *unit, double value,
		       uint8_t type, va_list ap)
{
	struct nro_attr attrs[NRO_ATTRS_MAX];
	uint16_t n = 0;
	for (;;) {
		const char *k = va_arg(ap, const char *);
		if (!k)
			break;
		const char *v = va_arg(ap, const char *);
		if (n < NRO_ATTRS_MAX && v) {
			attrs[n].key = nro_s(k);
			attrs[n].value = nro_s(v);
			n++;
		}
	}
	struct nro_metric m = {nro_s(name), nro_s(unit), type, value, 0, n, attrs};
	return nro_emit_metric(c, &m);
}

int nro_emit_gauge(struct nro_collector *c, const char *name, const char *unit, double value, ...)
{
	va_list ap;
	va_start(ap, value);
	int r = emit_simple(c, name, unit, value, NRO_MT_GAUGE, ap);
	va_end(ap);
	return r;
}

int nro_emit_counter(struct nro_collector *c, const char *name, const char *unit, double value,
		     ...)
{
	va_list ap;
	va_start(ap, value);
	int r = emit_simple(c, name, unit, value, NRO_MT_COUNTER, ap);
	va_end(ap);
	return r;
}

/* An HTTP status as records carry it: 100..599, else 0 (no response). */
static uint16_t http_code(long status)
{
	return (uint16_t)(status >= 100 && status <= 599 ? status : 0);
}

/* A failed poll, said once when the endpoint is not served (info: not an
 * outage), every time otherwise; then its error record. */
static void report_failure(struct nro_collector *c, struct nro_fetch *res)
{
	if (!res->message[0])
		snprintf(res->message, sizeof res->message, "%s: poll failed", c->target);
	if (res->err != NRO_ERR_NOT_SERVED)
		nro_warn("%s", res->message);
	else if (!c->not_served_said)
		nro_info("%s (said once; polled again every interval)", res->message);
	c->not_served_said = res->err == NRO_ERR_NOT_SERVED;
	struct nro_error x = {res->err, http_code(res->http_status), nro_s(c->target),
			      nro_s(res->message)};
	nro_emit_error(c, &x);
	nro_emit_flush(c);
}

/* Runs one poll and reports it: a health record always, an error record on
 * failure. Returns 0 if the poll succeeded, else the --once exit code. */
static int poll_once(struct nro_collector *c, nro_poll_fn poll, void *ctx)
{
	struct nro_fetch res;
	memset(&res, 0, sizeof res);
	c->poll_ts_ms = nro_wall_ms();
	c->entries = 0;
	c->degraded = 0;
	c->degraded_msg[0] = '\0';
	c->degraded_quiet = 0;
	refresh_node(c);
	int64_t t0 = nro_mono_ms();
	int r = poll(c, ctx, &res);
	int64_t took_ms = nro_mono_ms() - t0;
	if (res.duration_us == 0)
		res.duration_us = (uint32_t)(took_ms * 1000 > UINT32_MAX ? UINT32_MAX : took_ms * 1000);
	nro_emit_flush(c);
	if (c->after_poll)
		c->after_poll(c->after_poll_ctx);

	if (r != 0) {
		report_failure(c, &res);
	} else if (c->degraded && !c->degraded_quiet) {
		nro_warn("%s", c->degraded_msg);
	}
	/* not served is the kubelet's answer, not a collector failing: degraded,
	 * so the analyzer does not count it as a down collector */
	int not_served = r != 0 && res.err == NRO_ERR_NOT_SERVED;
	struct nro_health h = {
		not_served ? NRO_HEALTH_DEGRADED
		: r != 0   ? NRO_HEALTH_FAILED
		: c->degraded ? NRO_HEALTH_DEGRADED
			      : NRO_HEALTH_OK,
		http_code(res.http_status),
		(uint32_t)(c->t.interval_ms > UINT32_MAX ? UINT32_MAX : c->t.interval_ms),
		res.duration_us,
		res.bytes,
		nro_s(c->target),
		nro_s(r != 0 ? res.message : c->degraded_msg),
	};
	batch_for(c, NRO_KIND_HEALTH);
	nro_enc_health(&c->enc, &h);
	nro_emit_flush(c);
	nro_debug("polled %s: %llu entries, %u us", c->target, (unsigned long long)c->entries,
		  res.duration_us);
	if (r == 0)
		return 0;
	return nro_exit_for_fetch(&res);
}

static void rebuild_client(struct nro_collector *c)
{
	if (!c->kubelet)
		return;
	char err[512];
	struct nro_kubelet *k = nro_kubelet_new(&c->t.kubelet, err, sizeof err);
	if (!k) {
		nro_error("reload failed, keeping the old client: %s", err);
		return;
	}
	nro_kubelet_free(c->kubelet);
	c->kubelet = k;
	nro_info("reloaded");
}

/* Before the first poll of a daemon that cannot learn the node's name:
 * the name a learner shares, within NRO_NODE_WAIT_MS. 0, or -1 on SIGTERM. */
static int await_node(struct nro_collector *c)
{
	if (c->node[0] || c->learns_node || !nro_tool_shares_run_dir(&c->t))
		return 0;
	nro_info("waiting up to %ds for the node's name in %s/node-name (shared by "
		 "collector-pods or collector-summary; or set NRO_NODE_NAME)",
		 NRO_NODE_WAIT_MS / 1000, c->t.run_dir);
	int64_t end = nro_mono_ms() + NRO_NODE_WAIT_MS;
	while (!c->node[0] && nro_mono_ms() < end) {
		int64_t next = nro_mono_ms() + 100;
		if (nro_wait(&c->t, next < end ? next : end, -1) == NRO_SIG_TERM)
			return -1;
		refresh_node(c);
	}
	if (!c->node[0])
		nro_info("no node name yet: polling without one until it is shared");
	return 0;
}

/* Before a daemon's first poll: nng drops what is published before the dial
 * to the analyzer completed, so a (re)started collector's first poll would
 * be lost and the analyzer would hear of it only an interval later. Waits
 * (quietly, at most an interval, 5 s at most) for a subscriber; then polls
 * whether one came or not, as every later poll does. 0, or -1 on SIGTERM. */
static int await_subscriber(struct nro_collector *c)
{
	int64_t wait_ms = c->t.interval_ms < 5000 ? c->t.interval_ms : 5000;
	if (c->out.fd >= 0 || wait_ms <= 0)
		return 0;
	int64_t end = nro_mono_ms() + wait_ms;
	while (nro_out_wait_peer(&c->out, 0) != 0 && nro_mono_ms() < end) {
		int64_t next = nro_mono_ms() + 10;
		if (nro_wait(&c->t, next < end ? next : end, -1) == NRO_SIG_TERM)
			return -1;
	}
	return 0;
}

/* --once: over nng, the one poll waits for the subscriber (said once) so its
 * records are not dropped; nobody there in time is a transient failure. */
static int run_once(struct nro_collector *c, nro_poll_fn poll, void *ctx)
{
	const char *addr = c->t.output ? c->t.output : nro_records_addr(&c->t);
	int64_t wait_ms = c->kubelet ? c->t.kubelet.timeout_ms : 5000;
	if (c->out.fd < 0 && nro_out_wait_peer(&c->out, 0) != 0) {
		nro_info("waiting up to %lld ms for the analyzer (or any subscriber) on %s",
			 (long long)wait_ms, addr);
		if (nro_out_wait_peer(&c->out, wait_ms) != 0) {
			nro_error("nothing subscribes to %s: not polling, so nothing is lost "
				  "(start the analyzer, or use -o - for a pipe)", addr);
			nro_ready(&c->t);
			return NRO_EXIT_TEMP;
		}
	}
	nro_ready(&c->t);
	return poll_once(c, poll, ctx);
}

/* Waits until the deadline or a signal; with f, serves f's fd meanwhile. */
static int wait_next(struct nro_collector *c, int64_t deadline, const struct nro_follow *f,
		     void *ctx)
{
	for (;;) {
		int w = nro_wait(&c->t, deadline, f ? f->fd(ctx) : -1);
		if (w == NRO_SIG_HUP) {
			rebuild_client(c);
			continue;
		}
		if (w != NRO_WAIT_FD)
			return w;
		c->poll_ts_ms = nro_wall_ms(); /* records stamped when read */
		f->readable(c, ctx);
		nro_emit_flush(c);
	}
}

static int run(struct nro_collector *c, nro_poll_fn poll, const struct nro_follow *f, void *ctx)
{
	int status = 0;
	if (c->t.once) {
		status = run_once(c, poll, ctx);
	} else {
		startup_line(c);
		nro_ready(&c->t);
		if (await_node(c) != 0)
			goto done;
		if (await_subscriber(c) != 0)
			goto done;
		struct nro_sched s;
		nro_sched_init(&s, c->t.interval_ms, nro_mono_ms());
		for (;;) {
			poll_once(c, poll, ctx);
			nro_mem_trim(); /* what the poll's body and records took goes back */
			int64_t next = nro_sched_advance(&s, nro_mono_ms());
			if (wait_next(c, next, f, ctx) == NRO_SIG_TERM)
				break;
		}
	}
done:
	nro_collector_close(c);
	return status;
}

int nro_collector_poll(struct nro_collector *c, nro_poll_fn poll, void *ctx)
{
	return poll_once(c, poll, ctx);
}

void nro_collector_close(struct nro_collector *c)
{
	nro_out_close(&c->out, 200);
	nro_enc_free(&c->enc);
	nro_kubelet_free(c->kubelet);
	c->kubelet = NULL;
}

int nro_collector_run(struct nro_collector *c, nro_poll_fn poll, void *ctx)
{
	return run(c, poll, NULL, ctx);
}

int nro_collector_run_follow(struct nro_collector *c, nro_poll_fn poll, const struct nro_follow *f,
			     void *ctx)
{
	return run(c, poll, f, ctx);
}
