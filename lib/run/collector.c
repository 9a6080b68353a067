#include "run/collector.h"
#include "run/signals.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

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

void nro_collector_init(struct nro_collector *c, const char *prog, const char *summary,
			const char *target, int64_t default_interval_ms,
			const struct nro_optdef *extra, int argc, char **argv)
{
	memset(c, 0, sizeof *c);
	nro_tool_init(&c->t, prog, summary, NRO_COMMON_KUBELET | NRO_COMMON_POLL | NRO_COMMON_OUTPUT,
		      default_interval_ms, extra, argc, argv);
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

void nro_collector_set_node(struct nro_collector *c, const char *name, size_t len)
{
	if (c->node_from_flag || len == 0 || len >= sizeof c->node)
		return;
	if (strlen(c->node) == len && memcmp(c->node, name, len) == 0)
		return;
	nro_emit_flush(c); /* the pending batch keeps the name it was begun with */
	memcpy(c->node, name, len);
	c->node[len] = '\0';
}

void nro_emit_flush(struct nro_collector *c)
{
	if (c->enc.len == 0 || c->enc.count == 0) {
		c->enc.len = 0;
		return;
	}
	size_t len = nro_enc_finish(&c->enc);
	if (len && nro_out_send(&c->out, c->enc.buf, len) != 0) {
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

static int transient(uint16_t err)
{
	return err == NRO_ERR_CONNECT || err == NRO_ERR_TIMEOUT || err == NRO_ERR_TLS ||
	       err == NRO_ERR_TRUNCATED;
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
	int64_t t0 = nro_mono_ms();
	int r = poll(c, ctx, &res);
	int64_t took_ms = nro_mono_ms() - t0;
	if (res.duration_us == 0)
		res.duration_us = (uint32_t)(took_ms * 1000 > UINT32_MAX ? UINT32_MAX : took_ms * 1000);
	nro_emit_flush(c);

	if (r != 0) {
		if (!res.message[0])
			snprintf(res.message, sizeof res.message, "%s: poll failed", c->target);
		nro_warn("%s", res.message);
		struct nro_error x = {res.err, (uint16_t)(res.http_status >= 100 && res.http_status <= 599 ? res.http_status : 0),
				      nro_s(c->target), nro_s(res.message)};
		nro_emit_error(c, &x);
		nro_emit_flush(c);
	} else if (c->degraded && !c->degraded_quiet) {
		nro_warn("%s", c->degraded_msg);
	}
	struct nro_health h = {
		r != 0 ? NRO_HEALTH_FAILED : c->degraded ? NRO_HEALTH_DEGRADED : NRO_HEALTH_OK,
		(uint16_t)(res.http_status >= 100 && res.http_status <= 599 ? res.http_status : 0),
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
	return transient(res.err) ? NRO_EXIT_TEMP : 1;
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

int nro_collector_run(struct nro_collector *c, nro_poll_fn poll, void *ctx)
{
	int status = 0;
	if (c->t.once) {
		/* over nng, wait for the subscriber so the one record is not dropped */
		if (c->out.fd < 0 && nro_out_wait_peer(&c->out, c->t.kubelet.timeout_ms) != 0)
			nro_warn("no subscriber connected to the output; records may be lost");
		nro_ready(&c->t);
		status = poll_once(c, poll, ctx);
	} else {
		nro_ready(&c->t);
		struct nro_sched s;
		nro_sched_init(&s, c->t.interval_ms, nro_mono_ms());
		for (;;) {
			poll_once(c, poll, ctx);
			int64_t next = nro_sched_advance(&s, nro_mono_ms());
			int w;
			while ((w = nro_wait(&c->t, next, -1)) == NRO_SIG_HUP)
				rebuild_client(c);
			if (w == NRO_SIG_TERM)
				break;
		}
	}
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
