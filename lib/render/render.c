#include "render/render.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t need;
	unsigned min;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		need = 3, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 4, min = 0x10000;
	else
		return 0;
	if (n < need)
		return 0;
	unsigned cp = c & (0x7f >> need);
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need;
}

int nro_jw_str(struct nro_buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	int rc = nro_buf_add(b, "\"", 1);
	size_t i = 0;
	while (rc == 0 && i < len) {
		size_t run = i;
		/* copy plain runs in one go */
		while (run < len && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' &&
		       p[run] != '\\')
			run++;
		if (run > i) {
			rc = nro_buf_add(b, s + i, run - i);
			i = run;
			continue;
		}
		unsigned char c = p[i];
		char esc[8];
		switch (c) {
		case '"':
			rc = nro_buf_add(b, "\\\"", 2);
			break;
		case '\\':
			rc = nro_buf_add(b, "\\\\", 2);
			break;
		case '\n':
			rc = nro_buf_add(b, "\\n", 2);
			break;
		case '\r':
			rc = nro_buf_add(b, "\\r", 2);
			break;
		case '\t':
			rc = nro_buf_add(b, "\\t", 2);
			break;
		default:
			if (c < 0x20) {
				snprintf(esc, sizeof esc, "\\u%04x", c);
				rc = nro_buf_add(b, esc, 6);
			} else {
				size_t u = utf8_len(p + i, len - i);
				if (u == 0) {
					rc = nro_buf_add(b, "\xef\xbf\xbd", 3);
					u = 1;
				} else {
					rc = nro_buf_add(b, s + i, u);
				}
				i += u;
				continue;
			}
		}
		i++;
	}
	return rc == 0 ? nro_buf_add(b, "\"", 1) : -1;
}

int nro_jw_num(struct nro_buf *b, double v)
{
	char tmp[40];
	if (isnan(v))
		return nro_buf_adds(b, "\"NaN\"");
	if (isinf(v))
		return nro_buf_adds(b, v > 0 ? "\"+Inf\"" : "\"-Inf\"");
	if (v == floor(v) && fabs(v) < 9007199254740992.0) {
		snprintf(tmp, sizeof tmp, "%.0f", v);
		if (strcmp(tmp, "-0") == 0)
			tmp[0] = '0', tmp[1] = '\0';
	} else {
		/* shortest of %.15g / %.17g that reads back as the same double */
		snprintf(tmp, sizeof tmp, "%.15g", v);
		if (strtod(tmp, NULL) != v)
			snprintf(tmp, sizeof tmp, "%.17g", v);
	}
	return nro_buf_adds(b, tmp);
}

void nro_fmt_ts(char *out, size_t outlen, int64_t ms)
{
	time_t sec = (time_t)(ms / 1000);
	int frac = (int)(ms % 1000);
	if (frac < 0) {
		frac += 1000;
		sec -= 1;
	}
	struct tm tm;
	if (!gmtime_r(&sec, &tm)) {
		snprintf(out, outlen, "1970-01-01T00:00:00.000Z");
		return;
	}
	snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

int nro_jw_ts(struct nro_buf *b, int64_t ms)
{
	char tmp[40];
	nro_fmt_ts(tmp, sizeof tmp, ms);
	return nro_buf_add(b, "\"", 1) | nro_buf_adds(b, tmp) | nro_buf_add(b, "\"", 1);
}

/* ,"key": then a value; the helpers below keep the renderer flat. */
static int key(struct nro_buf *b, const char *k)
{
	return nro_buf_add(b, ",\"", 2) | nro_buf_adds(b, k) | nro_buf_add(b, "\":", 2);
}

static int kv_str(struct nro_buf *b, const char *k, struct nro_str s)
{
	return key(b, k) | nro_jw_str(b, s.p, s.len);
}

static int kv_cstr(struct nro_buf *b, const char *k, const char *s)
{
	return key(b, k) | nro_jw_str(b, s, strlen(s));
}

static int kv_num(struct nro_buf *b, const char *k, double v)
{
	return key(b, k) | nro_jw_num(b, v);
}

static int kv_u64(struct nro_buf *b, const char *k, uint64_t v)
{
	char tmp[24];
	snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
	return key(b, k) | nro_buf_adds(b, tmp);
}

static int kv_attrs(struct nro_buf *b, const struct nro_attr *a, uint16_t n)
{
	int rc = key(b, "attrs") | nro_buf_add(b, "{", 1);
	for (uint16_t i = 0; i < n; i++) {
		if (i)
			rc |= nro_buf_add(b, ",", 1);
		rc |= nro_jw_str(b, a[i].key.p, a[i].key.len) | nro_buf_add(b, ":", 1) |
		      nro_jw_str(b, a[i].value.p, a[i].value.len);
	}
	return rc | nro_buf_add(b, "}", 1);
}

static int kv_object(struct nro_buf *b, const struct nro_object *o)
{
	int rc = key(b, "object") | nro_buf_add(b, "{\"kind\":", 8);
	const char *kind = o->kind ? nro_object_kind_name(o->kind) : "";
	rc |= nro_jw_str(b, kind, strlen(kind));
	if (o->namespace_.len)
		rc |= kv_str(b, "namespace", o->namespace_);
	if (o->pod.len)
		rc |= kv_str(b, "pod", o->pod);
	if (o->container.len)
		rc |= kv_str(b, "container", o->container);
	if (o->name.len)
		rc |= kv_str(b, "name", o->name);
	return rc | nro_buf_add(b, "}", 1);
}

int nro_render_json(struct nro_buf *b, const struct nro_header *h, const void *entry)
{
	int rc = nro_buf_adds(b, "{\"kind\":") |
		 nro_jw_str(b, nro_kind_name(h->kind), strlen(nro_kind_name(h->kind)));
	int64_t ts = h->ts_ms;
	if (h->kind == NRO_KIND_METRIC && ((const struct nro_metric *)entry)->ts_ms)
		ts = ((const struct nro_metric *)entry)->ts_ms;
	rc |= key(b, "ts") | nro_jw_ts(b, ts);
	rc |= kv_u64(b, "seq", h->seq) | kv_str(b, "node", h->node) | kv_str(b, "source", h->source);
	switch (h->kind) {
	case NRO_KIND_METRIC: {
		const struct nro_metric *m = entry;
		rc |= kv_str(b, "name", m->name) | kv_num(b, "value", m->value) |
		      kv_str(b, "unit", m->unit) | kv_cstr(b, "type", nro_metric_type_name(m->type)) |
		      kv_attrs(b, m->attrs, m->nattrs);
		break;
	}
	case NRO_KIND_STATE: {
		const struct nro_state *s = entry;
		rc |= kv_object(b, &s->object) | kv_str(b, "key", s->key) |
		      kv_str(b, "value", s->value) | kv_num(b, "num", s->num);
		if (s->since_ms)
			rc |= key(b, "since") | nro_jw_ts(b, s->since_ms);
		rc |= kv_attrs(b, s->attrs, s->nattrs);
		break;
	}
	case NRO_KIND_HEALTH: {
		const struct nro_health *x = entry;
		rc |= kv_cstr(b, "status", nro_health_name(x->status)) |
		      kv_str(b, "target", x->target) | kv_u64(b, "http_status", x->http_status) |
		      kv_u64(b, "interval_ms", x->interval_ms) |
		      kv_u64(b, "duration_us", x->duration_us) | kv_u64(b, "bytes", x->bytes) |
		      kv_str(b, "message", x->message);
		break;
	}
	case NRO_KIND_ERROR: {
		const struct nro_error *x = entry;
		rc |= kv_cstr(b, "code", nro_error_name(x->code)) | kv_str(b, "target", x->target) |
		      kv_u64(b, "http_status", x->http_status) | kv_str(b, "message", x->message);
		break;
	}
	case NRO_KIND_EVENT: {
		const struct nro_event *v = entry;
		rc |= kv_str(b, "type", v->type) |
		      kv_cstr(b, "severity", nro_severity_name(v->severity)) |
		      kv_cstr(b, "state", nro_event_state_name(v->state)) | kv_object(b, &v->object) |
		      kv_str(b, "message", v->message);
		if (v->flags & NRO_EVF_VALUE)
			rc |= kv_num(b, "value", v->value);
		if (v->flags & NRO_EVF_THRESHOLD)
			rc |= kv_num(b, "threshold", v->threshold);
		if (v->since_ms)
			rc |= key(b, "since") | nro_jw_ts(b, v->since_ms);
		if (v->flags & NRO_EVF_ACTIVE) /* firing already: a replay, not news */
			rc |= key(b, "replay") | nro_buf_add(b, "true", 4);
		rc |= kv_attrs(b, v->attrs, v->nattrs);
		break;
	}
	default:
		return -1;
	}
	return rc | nro_buf_add(b, "}", 1) ? -1 : 0;
}

int nro_render_msg_json(struct nro_buf *b, struct nro_msg *m)
{
	union nro_entry e;
	int n = 0;
	while (nro_next(m, &e)) {
		if (nro_render_json(b, &m->hdr, &e) != 0 || nro_buf_add(b, "\n", 1) != 0)
			return -1;
		n++;
	}
	return n;
}
