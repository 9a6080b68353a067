/*
 * sink-stdout: the analyzer's events (and, with --metrics, its metrics) on
 * stdout, as JSON lines (--format json, the fields of DESIGN.md "Records")
 * or one readable line an entry (--format text). Resumes after a restart
 * from its cursor and the analyzer's ring (lib/run/sink.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "wire/record.h"
#include "render/render.h"
#include "run/sink.h"

static const char *format = "json";
static const char *color = "auto";
static const char *kinds_opt;
static int with_metrics;

static const struct nro_optdef opts[] = {
	{"format", 'f', "NRO_FORMAT", NRO_OPT_STR, &format, NULL, "json|text",
	 "json: one JSON object a line (default); text: one readable line an entry"},
	{"metrics", 0, "NRO_METRICS", NRO_OPT_FLAG, &with_metrics, NULL, NULL,
	 "metrics too (default: events only)"},
	{"kinds", 'k', "NRO_SINK_KINDS", NRO_OPT_STR, &kinds_opt, NULL, "LETTERS",
	 "exactly these record kinds: E event, M metric, S state, H health, X error (default E)"},
	{"color", 0, "NRO_COLOR", NRO_OPT_STR, &color, NULL, "auto|always|never",
	 "colour text lines: red critical, yellow warning, green resolved (auto: when stdout "
	 "is a terminal and NO_COLOR is unset)"},
	{NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
};

struct out {
	int text, colour;
	struct nro_buf b;
};

/* Appends s with control characters as spaces: one entry, one line. */
static int add_line_safe(struct nro_buf *b, struct nro_str s)
{
	int rc = 0;
	size_t i = 0;
	while (i < s.len && rc == 0) {
		size_t run = i;
		while (run < s.len && (unsigned char)s.p[run] >= 0x20 && s.p[run] != 0x7f)
			run++;
		if (run > i)
			rc = nro_buf_add(b, s.p + i, run - i);
		if (run < s.len && rc == 0)
			rc = nro_buf_add(b, " ", 1);
		i = run + 1;
	}
	return rc;
}

static int add_num(struct nro_buf *b, double v)
{
	/* the JSON number rules, without JSON's quotes around NaN and Inf */
	struct nro_buf t;
	char tmp[64];
	nro_buf_init(&t, sizeof tmp - 1);
	int rc = nro_jw_num(&t, v);
	size_t n = 0;
	if (rc == 0 && t.len) {
		const char *p = t.p;
		n = t.len;
		if (n >= 2 && p[0] == '"') {
			p++;
			n -= 2;
		}
		memcpy(tmp, p, n);
	}
	nro_buf_free(&t);
	return rc | nro_buf_add(b, tmp, n);
}

static int add_pad(struct nro_buf *b, const char *s, size_t width)
{
	size_t n = strlen(s);
	int rc = nro_buf_add(b, s, n);
	while (n++ < width && rc == 0)
		rc = nro_buf_add(b, " ", 1);
	return rc;
}

/* ns/pod/container and the like; "-" for none. */
static int add_object(struct nro_buf *b, const struct nro_object *o)
{
	struct nro_str parts[3];
	int n = 0;
	switch (o->kind) {
	case NRO_OBJ_NODE:
	case NRO_OBJ_SERVICE:
		parts[n++] = o->name;
		break;
	case NRO_OBJ_POD:
		parts[n++] = o->namespace_;
		parts[n++] = o->pod;
		break;
	case NRO_OBJ_CONTAINER:
		parts[n++] = o->namespace_;
		parts[n++] = o->pod;
		parts[n++] = o->container;
		break;
	case NRO_OBJ_VOLUME:
		parts[n++] = o->namespace_;
		parts[n++] = o->pod;
		parts[n++] = o->name;
		break;
	default:
		break;
	}
	int rc = 0, any = 0;
	for (int i = 0; i < n; i++) {
		if (!parts[i].len)
			continue;
		if (any)
			rc |= nro_buf_add(b, "/", 1);
		rc |= add_line_safe(b, parts[i]);
		any = 1;
	}
	if (!any)
		rc |= nro_buf_add(b, "-", 1);
	return rc;
}

/* s inside double quotes: quotes and backslashes escaped, as Prometheus does. */
static int add_quoted(struct nro_buf *b, struct nro_str s)
{
	int rc = nro_buf_add(b, "\"", 1);
	size_t i = 0;
	while (i < s.len && rc == 0) {
		size_t run = i;
		while (run < s.len && s.p[run] != '"' && s.p[run] != '\\')
			run++;
		struct nro_str part = {s.p + i, (uint16_t)(run - i)};
		rc |= add_line_safe(b, part);
		if (run < s.len)
			rc |= nro_buf_add(b, "\\", 1) | nro_buf_add(b, s.p + run, 1);
		i = run + 1;
	}
	return rc | nro_buf_add(b, "\"", 1);
}

static int add_attrs(struct nro_buf *b, const struct nro_attr *a, uint16_t n)
{
	if (!n)
		return 0;
	int rc = nro_buf_add(b, "{", 1);
	for (uint16_t i = 0; i < n; i++) {
		if (i)
			rc |= nro_buf_add(b, ",", 1);
		rc |= add_line_safe(b, a[i].key) | nro_buf_add(b, "=", 1) |
		      add_quoted(b, a[i].value);
	}
	return rc | nro_buf_add(b, "}", 1);
}

/* "2026-11-25T21:00:00Z  " */
static int add_ts(struct nro_buf *b, int64_t ms)
{
	char ts[40];
	nro_fmt_ts(ts, sizeof ts, ms);
	char *dot = strchr(ts, '.');
	if (dot) {
		dot[0] = 'Z';
		dot[1] = '\0';
	}
	return nro_buf_adds(b, ts) | nro_buf_add(b, "  ", 2);
}

#define RED "\033[31m"
#define YELLOW "\033[33m"
#define GREEN "\033[32m"
#define RESET "\033[0m"

static int text_event(struct out *o, const struct nro_header *h, const struct nro_event *v)
{
	struct nro_buf *b = &o->b;
	const char *c = NULL;
	if (o->colour)
		c = v->state == NRO_EV_RESOLVED      ? GREEN
		    : v->severity == NRO_SEV_CRITICAL ? RED
		    : v->severity == NRO_SEV_WARNING  ? YELLOW
						      : NULL;
	int rc = c ? nro_buf_adds(b, c) : 0;
	rc |= add_ts(b, h->ts_ms);
	rc |= add_pad(b, v->state == NRO_EV_RESOLVED ? "RESOLVED" : "FIRING", 9);
	rc |= add_pad(b, nro_severity_name(v->severity), 9);
	rc |= add_line_safe(b, v->type) | nro_buf_add(b, "  ", 2);
	rc |= add_object(b, &v->object);
	if (v->message.len)
		rc |= nro_buf_add(b, "  ", 2) | add_line_safe(b, v->message);
	if (v->flags & NRO_EVF_ALL) {
		rc |= nro_buf_add(b, " (", 2);
		if (v->flags & NRO_EVF_VALUE)
			rc |= nro_buf_adds(b, "value ") | add_num(b, v->value);
		if ((v->flags & NRO_EVF_ALL) == NRO_EVF_ALL)
			rc |= nro_buf_add(b, ", ", 2);
		if (v->flags & NRO_EVF_THRESHOLD)
			rc |= nro_buf_adds(b, "threshold ") | add_num(b, v->threshold);
		rc |= nro_buf_add(b, ")", 1);
	}
	if (c)
		rc |= nro_buf_adds(b, RESET);
	return rc | nro_buf_add(b, "\n", 1);
}

static int text_entry(struct out *o, const struct nro_header *h, const void *e)
{
	struct nro_buf *b = &o->b;
	int rc = 0;
	switch (h->kind) {
	case NRO_KIND_EVENT:
		return text_event(o, h, e);
	case NRO_KIND_METRIC: {
		const struct nro_metric *m = e;
		rc = add_ts(b, m->ts_ms ? m->ts_ms : h->ts_ms) | add_pad(b, "METRIC", 9) |
		     add_line_safe(b, m->name) | add_attrs(b, m->attrs, m->nattrs) |
		     nro_buf_add(b, " ", 1) | add_num(b, m->value);
		if (m->unit.len)
			rc |= nro_buf_add(b, " ", 1) | add_line_safe(b, m->unit);
		break;
	}
	case NRO_KIND_STATE: {
		const struct nro_state *s = e;
		rc = add_ts(b, h->ts_ms) | add_pad(b, "STATE", 9) | add_object(b, &s->object) |
		     nro_buf_add(b, "  ", 2) | add_line_safe(b, s->key) | nro_buf_add(b, "=", 1) |
		     add_line_safe(b, s->value);
		if (s->num != 0)
			rc |= nro_buf_add(b, " (", 2) | add_num(b, s->num) | nro_buf_add(b, ")", 1);
		break;
	}
	case NRO_KIND_HEALTH: {
		const struct nro_health *x = e;
		rc = add_ts(b, h->ts_ms) | add_pad(b, "HEALTH", 9) | add_line_safe(b, h->source) |
		     nro_buf_add(b, " ", 1) | nro_buf_adds(b, nro_health_name(x->status)) |
		     nro_buf_add(b, "  ", 2) | add_line_safe(b, x->target);
		if (x->message.len)
			rc |= nro_buf_add(b, "  ", 2) | add_line_safe(b, x->message);
		break;
	}
	case NRO_KIND_ERROR: {
		const struct nro_error *x = e;
		rc = add_ts(b, h->ts_ms) | add_pad(b, "ERROR", 9) | add_line_safe(b, h->source) |
		     nro_buf_add(b, " ", 1) | nro_buf_adds(b, nro_error_name(x->code)) |
		     nro_buf_add(b, "  ", 2) | add_line_safe(b, x->target);
		if (x->message.len)
			rc |= nro_buf_add(b, "  ", 2) | add_line_safe(b, x->message);
		break;
	}
	default:
		return -1;
	}
	return rc | nro_buf_add(b, "\n", 1);
}

static int render_text(struct out *o, struct nro_msg *m)
{
	union nro_entry e;
	while (nro_next(m, &e))
		if (text_entry(o, &m->hdr, &e) != 0)
			return -1;
	return 0;
}

static struct nro_sink sink;

static int deliver(void *ctx, struct nro_msg *m)
{
	struct out *o = ctx;
	nro_buf_reset(&o->b);
	int rc = o->text ? render_text(o, m) : nro_render_msg_json(&o->b, m) < 0 ? -1 : 0;
	if (rc != 0) {
		nro_warn("seq %llu: too large to render; skipped", (unsigned long long)m->hdr.seq);
		return NRO_SINK_OK;
	}
	if (nro_write_all(STDOUT_FILENO, o->b.p, o->b.len) != 0) {
		if (errno == EPIPE) {
			sink.exit_code = 0; /* the reader went away: nothing to report */
		} else {
			nro_error("stdout: %s", strerror(errno));
			sink.exit_code = NRO_EXIT_TEMP;
		}
		return NRO_SINK_FATAL;
	}
	return NRO_SINK_OK;
}

int main(int argc, char **argv)
{
	nro_sink_init(&sink, "sink-stdout",
		      "Print the analyzer's events (and metrics with --metrics) on stdout, as JSON\n"
		      "lines or readable text. Input: the analyzer's events.ipc and ring (resuming\n"
		      "after a restart from its cursor), or a framed record stream (-i -).",
		      opts, argc, argv, "E");
	struct out o = {0};
	if (strcmp(format, "json") == 0)
		o.text = 0;
	else if (strcmp(format, "text") == 0)
		o.text = 1;
	else
		nro_die(NRO_EXIT_USAGE, "--format: unknown format '%s' (want json or text)", format);
	if (strcmp(color, "always") == 0) {
		o.colour = 1;
	} else if (strcmp(color, "auto") == 0) {
		const char *nc = getenv("NO_COLOR");
		o.colour = isatty(STDOUT_FILENO) && !(nc && *nc);
	} else if (strcmp(color, "never") != 0) {
		nro_die(NRO_EXIT_USAGE, "--color: unknown value '%s' (want auto, always or never)",
			color);
	}
	o.colour = o.colour && o.text;
	if (kinds_opt) {
		if (!*kinds_opt)
			nro_die(NRO_EXIT_USAGE, "--kinds: empty");
		sink.kinds = kinds_opt;
	} else if (with_metrics) {
		sink.kinds = "EM";
	}
	nro_buf_init(&o.b, (size_t)NRO_MSG_MAX * 8);
	int rc = nro_sink_run(&sink, deliver, &o);
	nro_buf_free(&o.b);
	return rc;
}
