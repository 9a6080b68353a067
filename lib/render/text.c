/*
 * Records as readable text lines (render.h, "Text"): what sink-stdout
 * prints with --format text and what the README shows.
 *
 *   2026-11-26T10:00:08.412Z  FIRING    critical  NodeMemoryPressure        datagen-1-34  memory.available 50 MiB is below ...
 *
 * Columns: the time to the millisecond, the state, the severity and the
 * type, padded so they line up; then the object, named once: a message
 * that begins by naming the same object ("node n1 ...", "container c in pod
 * ns/p ...") has that prefix left out. The message carries the numbers in
 * their own units, so value and threshold are shown only for an event
 * without a message. A resolved line says how long the incident lasted.
 */
#include "render/render.h"

#include <stdio.h>
#include <string.h>

#define RED "\033[31m"
#define YELLOW "\033[33m"
#define GREEN "\033[32m"
#define RESET "\033[0m"

#define STATE_W 10
#define SEV_W 10
#define TYPE_W 26
#define OBJECT_W 24

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

/* A number by the JSON rules, without JSON's quotes around NaN and Inf. */
static int add_num(struct nro_buf *b, double v)
{
	struct nro_buf t;
	nro_buf_init(&t, 63);
	int rc = nro_jw_num(&t, v);
	const char *p = t.p;
	size_t n = rc == 0 ? t.len : 0;
	if (n >= 2 && p[0] == '"') {
		p++;
		n -= 2;
	}
	rc |= nro_buf_add(b, p, n);
	nro_buf_free(&t);
	return rc;
}

/* Pads what was appended since `from` to width, plus the column gap. */
static int pad_from(struct nro_buf *b, size_t from, size_t width)
{
	int rc = 0;
	for (size_t n = b->len - from; n < width && rc == 0; n++)
		rc = nro_buf_add(b, " ", 1);
	return rc;
}

static int add_col(struct nro_buf *b, const char *s, size_t width)
{
	size_t from = b->len;
	return nro_buf_adds(b, s) | pad_from(b, from, width);
}

/* The object's parts: ns/pod/container and the like; n of them. */
static int object_parts(const struct nro_object *o, struct nro_str parts[3])
{
	switch (o->kind) {
	case NRO_OBJ_NODE:
	case NRO_OBJ_SERVICE:
		parts[0] = o->name;
		return 1;
	case NRO_OBJ_POD:
		parts[0] = o->namespace_, parts[1] = o->pod;
		return 2;
	case NRO_OBJ_CONTAINER:
		parts[0] = o->namespace_, parts[1] = o->pod, parts[2] = o->container;
		return 3;
	case NRO_OBJ_VOLUME:
		parts[0] = o->namespace_, parts[1] = o->pod, parts[2] = o->name;
		return 3;
	default:
		return 0;
	}
}

/* The object as ns/pod/container; "-" for none. */
static int add_object(struct nro_buf *b, const struct nro_object *o)
{
	struct nro_str parts[3];
	int n = object_parts(o, parts), rc = 0, any = 0;
	for (int i = 0; i < n; i++) {
		if (!parts[i].len)
			continue;
		if (any)
			rc |= nro_buf_add(b, "/", 1);
		rc |= add_line_safe(b, parts[i]);
		any = 1;
	}
	return any ? rc : rc | nro_buf_add(b, "-", 1);
}

/* How the analyzer's messages begin when they name o ("node n1 "). */
static void object_prefix(const struct nro_object *o, char *out, size_t outlen)
{
	out[0] = '\0';
	if (o->kind == NRO_OBJ_NODE)
		snprintf(out, outlen, "node %.*s ", o->name.len, o->name.p);
	else if (o->kind == NRO_OBJ_POD)
		snprintf(out, outlen, "pod %.*s/%.*s ", o->namespace_.len, o->namespace_.p, o->pod.len,
			 o->pod.p);
	else if (o->kind == NRO_OBJ_CONTAINER)
		snprintf(out, outlen, "container %.*s in pod %.*s/%.*s ", o->container.len,
			 o->container.p, o->namespace_.len, o->namespace_.p, o->pod.len, o->pod.p);
}

/* The message without a leading naming of the object the line already
 * shows; a resolved event's "cleared: " stays in front. */
static int add_message(struct nro_buf *b, const struct nro_event *v)
{
	static const char cleared[] = "cleared: ";
	char prefix[1024];
	object_prefix(&v->object, prefix, sizeof prefix);
	size_t n = strlen(prefix), c = 0;
	struct nro_str m = v->message;
	if (m.len > sizeof cleared - 1 && memcmp(m.p, cleared, sizeof cleared - 1) == 0)
		c = sizeof cleared - 1;
	int rc = c ? nro_buf_add(b, m.p, c) : 0;
	m.p += c;
	m.len = (uint16_t)(m.len - c);
	if (n && m.len > n && memcmp(m.p, prefix, n) == 0) {
		m.p += n;
		m.len = (uint16_t)(m.len - n);
	}
	return rc | add_line_safe(b, m);
}

/* "12s", "4m30s", "2h5m": how long a resolved incident lasted. */
static int add_lasted(struct nro_buf *b, int64_t ms)
{
	char t[48];
	int64_t s = ms / 1000;
	if (s < 60)
		snprintf(t, sizeof t, " (lasted %llds)", (long long)s);
	else if (s < 3600)
		snprintf(t, sizeof t, " (lasted %lldm%02llds)", (long long)(s / 60), (long long)(s % 60));
	else
		snprintf(t, sizeof t, " (lasted %lldh%02lldm)", (long long)(s / 3600),
			 (long long)(s % 3600 / 60));
	return nro_buf_adds(b, t);
}

static int add_numbers(struct nro_buf *b, const struct nro_event *v)
{
	if (!(v->flags & NRO_EVF_ALL))
		return 0;
	int rc = nro_buf_add(b, "(", 1);
	if (v->flags & NRO_EVF_VALUE)
		rc |= nro_buf_adds(b, "value ") | add_num(b, v->value);
	if ((v->flags & NRO_EVF_ALL) == NRO_EVF_ALL)
		rc |= nro_buf_add(b, ", ", 2);
	if (v->flags & NRO_EVF_THRESHOLD)
		rc |= nro_buf_adds(b, "threshold ") | add_num(b, v->threshold);
	return rc | nro_buf_add(b, ")", 1);
}

static const char *event_colour(const struct nro_event *v)
{
	return v->state == NRO_EV_RESOLVED      ? GREEN
	       : v->severity == NRO_SEV_CRITICAL ? RED
	       : v->severity == NRO_SEV_WARNING  ? YELLOW
						 : NULL;
}

/* "2026-11-25T21:00:00.123Z  " */
static int add_ts(struct nro_buf *b, int64_t ms)
{
	char ts[40];
	nro_fmt_ts(ts, sizeof ts, ms);
	return nro_buf_adds(b, ts) | nro_buf_add(b, "  ", 2);
}

static int text_event(struct nro_buf *b, const struct nro_header *h, const struct nro_event *v,
		      int colour)
{
	const char *c = colour ? event_colour(v) : NULL;
	int rc = c ? nro_buf_adds(b, c) : 0;
	rc |= add_ts(b, h->ts_ms);
	/* ACTIVE: an alert already firing when the reader started, not news */
	rc |= add_col(b, v->state == NRO_EV_RESOLVED    ? "RESOLVED"
			 : (v->flags & NRO_EVF_ACTIVE) ? "ACTIVE"
						       : "FIRING",
		      STATE_W);
	rc |= add_col(b, nro_severity_name(v->severity), SEV_W);
	size_t from = b->len;
	rc |= add_line_safe(b, v->type) | pad_from(b, from, TYPE_W);
	from = b->len;
	rc |= add_object(b, &v->object) | pad_from(b, from, OBJECT_W);
	rc |= nro_buf_add(b, "  ", 2);
	if (v->message.len)
		rc |= add_message(b, v);
	else
		rc |= add_numbers(b, v);
	if (v->state == NRO_EV_RESOLVED && v->since_ms > 0 && h->ts_ms >= v->since_ms)
		rc |= add_lasted(b, h->ts_ms - v->since_ms);
	if (c)
		rc |= nro_buf_adds(b, RESET);
	return rc | nro_buf_add(b, "\n", 1);
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
		rc |= add_line_safe(b, a[i].key) | nro_buf_add(b, "=", 1) | add_quoted(b, a[i].value);
	}
	return rc | nro_buf_add(b, "}", 1);
}

static int text_metric(struct nro_buf *b, const struct nro_header *h, const struct nro_metric *m)
{
	int rc = add_ts(b, m->ts_ms ? m->ts_ms : h->ts_ms) | add_col(b, "METRIC", STATE_W) |
		 add_line_safe(b, m->name) | add_attrs(b, m->attrs, m->nattrs) |
		 nro_buf_add(b, " ", 1) | add_num(b, m->value);
	if (m->unit.len)
		rc |= nro_buf_add(b, " ", 1) | add_line_safe(b, m->unit);
	return rc;
}

static int text_state(struct nro_buf *b, const struct nro_header *h, const struct nro_state *s)
{
	int rc = add_ts(b, h->ts_ms) | add_col(b, "STATE", STATE_W) | add_object(b, &s->object) |
		 nro_buf_add(b, "  ", 2) | add_line_safe(b, s->key) | nro_buf_add(b, "=", 1) |
		 add_line_safe(b, s->value);
	if (s->num != 0)
		rc |= nro_buf_add(b, " (", 2) | add_num(b, s->num) | nro_buf_add(b, ")", 1);
	return rc;
}

/* HEALTH and ERROR lines: the source, a status word, the target, the message. */
static int text_status(struct nro_buf *b, const struct nro_header *h, const char *what,
		       const char *status, struct nro_str target, struct nro_str message)
{
	int rc = add_ts(b, h->ts_ms) | add_col(b, what, STATE_W) | add_line_safe(b, h->source) |
		 nro_buf_add(b, " ", 1) | nro_buf_adds(b, status) | nro_buf_add(b, "  ", 2) |
		 add_line_safe(b, target);
	if (message.len)
		rc |= nro_buf_add(b, "  ", 2) | add_line_safe(b, message);
	return rc;
}

int nro_render_text(struct nro_buf *b, const struct nro_header *h, const union nro_entry *e,
		    int colour)
{
	int rc;
	switch (h->kind) {
	case NRO_KIND_EVENT:
		return text_event(b, h, &e->event, colour);
	case NRO_KIND_METRIC:
		rc = text_metric(b, h, &e->metric);
		break;
	case NRO_KIND_STATE:
		rc = text_state(b, h, &e->state);
		break;
	case NRO_KIND_HEALTH:
		rc = text_status(b, h, "HEALTH", nro_health_name(e->health.status), e->health.target,
				 e->health.message);
		break;
	case NRO_KIND_ERROR:
		rc = text_status(b, h, "ERROR", nro_error_name(e->error.code), e->error.target,
				 e->error.message);
		break;
	default:
		return -1;
	}
	return rc | nro_buf_add(b, "\n", 1);
}

int nro_render_msg_text(struct nro_buf *b, struct nro_msg *m, int colour)
{
	union nro_entry e;
	int n = 0;
	while (nro_next(m, &e)) {
		if (nro_render_text(b, &m->hdr, &e, colour) != 0)
			return -1;
		n++;
	}
	return n;
}
