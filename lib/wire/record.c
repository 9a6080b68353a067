#include "wire/record.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Largest timestamp accepted: 9999-12-31T23:59:59.999Z. */
#define TS_MAX 253402300799999LL

/* ---- encoding -------------------------------------------------------- */

struct nro_str nro_s(const char *s)
{
	struct nro_str r = {s ? s : "", 0};
	size_t n = s ? strlen(s) : 0;
	r.len = (uint16_t)(n > UINT16_MAX ? UINT16_MAX : n);
	return r;
}

int nro_str_eq(struct nro_str a, const char *b)
{
	size_t n = strlen(b);
	return a.len == n && (n == 0 || memcmp(a.p, b, n) == 0);
}

void nro_enc_init(struct nro_enc *e, size_t max)
{
	memset(e, 0, sizeof *e);
	e->max = max ? max : NRO_MSG_MAX;
	if (e->max > NRO_MSG_MAX)
		e->max = NRO_MSG_MAX;
}

void nro_enc_free(struct nro_enc *e)
{
	free(e->buf);
	e->buf = NULL;
	e->len = e->cap = 0;
	e->count = 0;
}

/* Makes room for n more bytes; 0 or -1 (cap or memory). */
static int reserve(struct nro_enc *e, size_t n)
{
	if (n > e->max || e->len > e->max - n)
		return -1;
	if (e->len + n <= e->cap)
		return 0;
	size_t cap = e->cap ? e->cap : 1024;
	while (cap < e->len + n)
		cap *= 2;
	if (cap > e->max)
		cap = e->max;
	uint8_t *p = realloc(e->buf, cap);
	if (!p)
		return -1;
	e->buf = p;
	e->cap = cap;
	return 0;
}

static void put8(struct nro_enc *e, uint8_t v)
{
	e->buf[e->len++] = v;
}

static void put16(struct nro_enc *e, uint16_t v)
{
	e->buf[e->len++] = (uint8_t)(v >> 8);
	e->buf[e->len++] = (uint8_t)v;
}

static void put32(struct nro_enc *e, uint32_t v)
{
	for (int i = 3; i >= 0; i--)
		e->buf[e->len++] = (uint8_t)(v >> (i * 8));
}

static void put64(struct nro_enc *e, uint64_t v)
{
	for (int i = 7; i >= 0; i--)
		e->buf[e->len++] = (uint8_t)(v >> (i * 8));
}

static void putf64(struct nro_enc *e, double d)
{
	uint64_t v;
	memcpy(&v, &d, sizeof v);
	put64(e, v);
}

static void putstr(struct nro_enc *e, struct nro_str s)
{
	put16(e, s.len);
	if (s.len)
		memcpy(e->buf + e->len, s.p, s.len);
	e->len += s.len;
}

static size_t strsize(struct nro_str s)
{
	return 2 + (size_t)s.len;
}

static int str_ok(struct nro_str s)
{
	return s.len == 0 || (s.p && memchr(s.p, '\0', s.len) == NULL);
}

static int attrs_ok(const struct nro_attr *a, uint16_t n, size_t *size)
{
	if (n > NRO_ATTRS_MAX || (n && !a))
		return 0;
	*size += 2;
	for (uint16_t i = 0; i < n; i++) {
		if (a[i].key.len == 0 || !str_ok(a[i].key) || !str_ok(a[i].value))
			return 0;
		*size += strsize(a[i].key) + strsize(a[i].value);
	}
	return 1;
}

static void putattrs(struct nro_enc *e, const struct nro_attr *a, uint16_t n)
{
	put16(e, n);
	for (uint16_t i = 0; i < n; i++) {
		putstr(e, a[i].key);
		putstr(e, a[i].value);
	}
}

static int object_ok(const struct nro_object *o, size_t *size)
{
	if (o->kind > NRO_OBJ_MAX || !str_ok(o->namespace_) || !str_ok(o->pod) ||
	    !str_ok(o->container) || !str_ok(o->name))
		return 0;
	*size += 1 + strsize(o->namespace_) + strsize(o->pod) + strsize(o->container) +
		 strsize(o->name);
	return 1;
}

static void putobject(struct nro_enc *e, const struct nro_object *o)
{
	put8(e, o->kind);
	putstr(e, o->namespace_);
	putstr(e, o->pod);
	putstr(e, o->container);
	putstr(e, o->name);
}

static int ts_ok(int64_t ts)
{
	return ts >= 0 && ts <= TS_MAX;
}

static int http_status_ok(uint16_t s)
{
	return s == 0 || (s >= 100 && s <= 599);
}

void nro_enc_begin(struct nro_enc *e, uint8_t kind, uint64_t seq, int64_t ts_ms,
		   const char *source, const char *node)
{
	struct nro_str src = nro_s(source), nd = nro_s(node);
	e->len = 0;
	e->count = 0;
	e->failed = 0;
	if (!ts_ok(ts_ms))
		ts_ms = 0;
	if (reserve(e, NRO_HDR_FIXED + strsize(src) + strsize(nd)) != 0) {
		e->failed = 1;
		return;
	}
	put8(e, kind);
	put8(e, 'N');
	put8(e, 'R');
	put8(e, 'O');
	put8(e, NRO_WIRE_VERSION);
	put8(e, 0);
	put32(e, 0); /* count, patched by nro_enc_finish */
	put64(e, seq);
	put64(e, (uint64_t)ts_ms);
	putstr(e, src);
	putstr(e, nd);
}

/* Common entry preamble: kind matches and the size fits. */
static int begin_entry(struct nro_enc *e, uint8_t kind, size_t size)
{
	if (e->failed || e->len < NRO_HDR_FIXED || e->buf[0] != kind || e->count == UINT32_MAX)
		return -1;
	return reserve(e, size);
}

/* The metric hot path: one reservation for the whole entry, then every
 * string copied 8 bytes at a time while it is checked for NUL bytes (which
 * refuse the entry, as str_ok() does, before e->len or e->count move). */
#define ENC_ONES 0x0101010101010101ull
#define ENC_HIGHS 0x8080808080808080ull

/* Writes s (length, bytes) at o; returns the end, or NULL if s holds a NUL
 * byte (or has a length but no bytes). Copies in 16- or 8-byte blocks, the
 * last one overlapping the one before (reads stay inside s). */
static inline __attribute__((always_inline)) uint8_t *put_str_chk(uint8_t *o, struct nro_str s)
{
	size_t n = s.len;
	const char *p = s.p;
	o[0] = (uint8_t)(s.len >> 8);
	o[1] = (uint8_t)s.len;
	o += 2;
	if (n == 0)
		return o;
	if (!p)
		return NULL;
#ifdef __SSE2__
	if (n >= 16) {
		const __m128i z = _mm_setzero_si128();
		const char *last = p + n - 16;
		uint8_t *olast = o + n - 16;
		int nul = 0;
		for (; p < last; p += 16, o += 16) {
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
			nul |= _mm_movemask_epi8(_mm_cmpeq_epi8(x, z));
			_mm_storeu_si128((__m128i *)(void *)o, x);
		}
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)last);
		nul |= _mm_movemask_epi8(_mm_cmpeq_epi8(x, z));
		_mm_storeu_si128((__m128i *)(void *)olast, x);
		return nul ? NULL : olast + 16;
	}
#endif
	uint64_t zero = 0;
	if (n >= 8) {
		const char *last = p + n - 8;
		uint8_t *olast = o + n - 8;
		while (p < last) {
			uint64_t x;
			memcpy(&x, p, 8);
			zero |= (x - ENC_ONES) & ~x & ENC_HIGHS;
			memcpy(o, &x, 8);
			p += 8;
			o += 8;
		}
		uint64_t x; /* the last 8 bytes, overlapping what was copied */
		memcpy(&x, last, 8);
		zero |= (x - ENC_ONES) & ~x & ENC_HIGHS;
		memcpy(olast, &x, 8);
		o = olast + 8;
	} else if (n >= 4) {
		uint32_t x, y; /* two 4-byte blocks, overlapping */
		memcpy(&x, p, 4);
		memcpy(&y, p + n - 4, 4);
		zero = ((x - 0x01010101u) & ~x & 0x80808080u) | ((y - 0x01010101u) & ~y & 0x80808080u);
		memcpy(o, &x, 4);
		memcpy(o + n - 4, &y, 4);
		o += n;
	} else {
		for (size_t i = 0; i < n; i++) {
			zero |= p[i] == '\0';
			o[i] = (uint8_t)p[i];
		}
		o += n;
	}
	return zero ? NULL : o;
}

static inline uint8_t *put64_at(uint8_t *o, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
	memcpy(o, &v, 8);
#else
	for (int i = 0; i < 8; i++)
		o[i] = (uint8_t)(v >> (56 - 8 * i));
#endif
	return o + 8;
}

int nro_enc_metric(struct nro_enc *e, const struct nro_metric *m)
{
	const struct nro_attr *a = m->attrs;
	uint16_t na = m->nattrs;
	if (m->name.len == 0 || m->type > NRO_MT_MAX || (m->ts_ms != 0 && !ts_ok(m->ts_ms)) ||
	    na > NRO_ATTRS_MAX || (na && !a))
		return -1;
	size_t size = 2 + (size_t)m->name.len + 2 + (size_t)m->unit.len + 1 + 8 + 8 + 2;
	for (uint16_t i = 0; i < na; i++) {
		if (a[i].key.len == 0)
			return -1;
		size += 4 + (size_t)a[i].key.len + (size_t)a[i].value.len;
	}
	if (begin_entry(e, NRO_KIND_METRIC, size) != 0)
		return -1;
	uint8_t *o = e->buf + e->len;
	if (!(o = put_str_chk(o, m->name)) || !(o = put_str_chk(o, m->unit)))
		return -1;
	*o++ = m->type;
	uint64_t v;
	memcpy(&v, &m->value, sizeof v);
	o = put64_at(o, v);
	o = put64_at(o, (uint64_t)m->ts_ms);
	*o++ = (uint8_t)(na >> 8);
	*o++ = (uint8_t)na;
	for (uint16_t i = 0; i < na; i++)
		if (!(o = put_str_chk(o, a[i].key)) || !(o = put_str_chk(o, a[i].value)))
			return -1;
	e->len = (size_t)(o - e->buf);
	e->count++;
	return 0;
}

int nro_enc_state(struct nro_enc *e, const struct nro_state *s)
{
	size_t size = strsize(s->key) + strsize(s->value) + 8 + 8;
	if (s->key.len == 0 || !str_ok(s->key) || !str_ok(s->value) || !isfinite(s->num) ||
	    !ts_ok(s->since_ms) || !object_ok(&s->object, &size) ||
	    !attrs_ok(s->attrs, s->nattrs, &size))
		return -1;
	if (begin_entry(e, NRO_KIND_STATE, size) != 0)
		return -1;
	putobject(e, &s->object);
	putstr(e, s->key);
	putstr(e, s->value);
	putf64(e, s->num);
	put64(e, (uint64_t)s->since_ms);
	putattrs(e, s->attrs, s->nattrs);
	e->count++;
	return 0;
}

int nro_enc_health(struct nro_enc *e, const struct nro_health *h)
{
	size_t size = 1 + 2 + 4 + 4 + 8 + strsize(h->target) + strsize(h->message);
	if (h->status > NRO_HEALTH_MAX || !http_status_ok(h->http_status) || !str_ok(h->target) ||
	    !str_ok(h->message))
		return -1;
	if (begin_entry(e, NRO_KIND_HEALTH, size) != 0)
		return -1;
	put8(e, h->status);
	put16(e, h->http_status);
	put32(e, h->interval_ms);
	put32(e, h->duration_us);
	put64(e, h->bytes);
	putstr(e, h->target);
	putstr(e, h->message);
	e->count++;
	return 0;
}

int nro_enc_error(struct nro_enc *e, const struct nro_error *x)
{
	size_t size = 2 + 2 + strsize(x->target) + strsize(x->message);
	if (x->code > NRO_ERR_MAX || !http_status_ok(x->http_status) || !str_ok(x->target) ||
	    !str_ok(x->message))
		return -1;
	if (begin_entry(e, NRO_KIND_ERROR, size) != 0)
		return -1;
	put16(e, x->code);
	put16(e, x->http_status);
	putstr(e, x->target);
	putstr(e, x->message);
	e->count++;
	return 0;
}

int nro_enc_event(struct nro_enc *e, const struct nro_event *v)
{
	size_t size = strsize(v->type) + 3 + 8 + 8 + 8 + strsize(v->message);
	if (v->type.len == 0 || !str_ok(v->type) || v->severity > NRO_SEV_MAX ||
	    v->state > NRO_EV_STATE_MAX || (v->flags & ~NRO_EVF_KNOWN) || !isfinite(v->value) ||
	    !isfinite(v->threshold) || !ts_ok(v->since_ms) || !str_ok(v->message) ||
	    !object_ok(&v->object, &size) || !attrs_ok(v->attrs, v->nattrs, &size))
		return -1;
	if (begin_entry(e, NRO_KIND_EVENT, size) != 0)
		return -1;
	putstr(e, v->type);
	put8(e, v->severity);
	put8(e, v->state);
	put8(e, v->flags);
	putobject(e, &v->object);
	putf64(e, v->value);
	putf64(e, v->threshold);
	put64(e, (uint64_t)v->since_ms);
	putstr(e, v->message);
	putattrs(e, v->attrs, v->nattrs);
	e->count++;
	return 0;
}

size_t nro_enc_finish(struct nro_enc *e)
{
	if (e->failed || e->len < NRO_HDR_FIXED)
		return 0;
	for (int i = 0; i < 4; i++)
		e->buf[6 + i] = (uint8_t)(e->count >> ((3 - i) * 8));
	return e->len;
}

/* ---- decoding -------------------------------------------------------- */

/* A bounded cursor: every read checks what is left; the first failure
 * sticks, so a chain of reads needs one check at the end. */
struct cur {
	const uint8_t *p;
	size_t left;
	const char *why;
};

static void fail(struct cur *c, const char *why)
{
	if (!c->why)
		c->why = why;
	c->left = 0;
}

static int need(struct cur *c, size_t n, const char *what)
{
	if (c->why)
		return 0;
	if (c->left < n) {
		fail(c, what);
		return 0;
	}
	return 1;
}

static uint8_t get8(struct cur *c)
{
	if (!need(c, 1, "truncated: message ends inside a field"))
		return 0;
	c->left--;
	return *c->p++;
}

static uint16_t get16(struct cur *c)
{
	if (!need(c, 2, "truncated: message ends inside a field"))
		return 0;
	uint16_t v = (uint16_t)(c->p[0] << 8 | c->p[1]);
	c->p += 2;
	c->left -= 2;
	return v;
}

static uint32_t get32(struct cur *c)
{
	uint32_t v = 0;
	if (!need(c, 4, "truncated: message ends inside a field"))
		return 0;
	for (int i = 0; i < 4; i++)
		v = v << 8 | c->p[i];
	c->p += 4;
	c->left -= 4;
	return v;
}

static uint64_t get64(struct cur *c)
{
	uint64_t v = 0;
	if (!need(c, 8, "truncated: message ends inside a field"))
		return 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | c->p[i];
	c->p += 8;
	c->left -= 8;
	return v;
}

static double getf64(struct cur *c)
{
	uint64_t v = get64(c);
	double d;
	memcpy(&d, &v, sizeof d);
	return d;
}

static struct nro_str getstr(struct cur *c)
{
	struct nro_str s = {"", 0};
	uint16_t n = get16(c);
	if (!need(c, n, "string length runs past the end of the message"))
		return s;
	if (n && memchr(c->p, '\0', n)) {
		fail(c, "string holds a NUL byte");
		return s;
	}
	s.p = (const char *)c->p;
	s.len = n;
	c->p += n;
	c->left -= n;
	return s;
}

static uint16_t getattrs(struct cur *c, struct nro_attr *out)
{
	uint16_t n = get16(c);
	if (c->why)
		return 0;
	if (n > NRO_ATTRS_MAX) {
		fail(c, "too many attributes");
		return 0;
	}
	/* each attribute takes at least 4 bytes: refuse counts that cannot fit */
	if ((size_t)n * 4 > c->left) {
		fail(c, "attribute count runs past the end of the message");
		return 0;
	}
	for (uint16_t i = 0; i < n && !c->why; i++) {
		struct nro_str k = getstr(c), v = getstr(c);
		if (!c->why && k.len == 0)
			fail(c, "empty attribute key");
		if (out) {
			out[i].key = k;
			out[i].value = v;
		}
	}
	return c->why ? 0 : n;
}

static void getobject(struct cur *c, struct nro_object *o)
{
	o->kind = get8(c);
	if (!c->why && o->kind > NRO_OBJ_MAX)
		fail(c, "object kind out of range");
	o->namespace_ = getstr(c);
	o->pod = getstr(c);
	o->container = getstr(c);
	o->name = getstr(c);
}

static int64_t getts(struct cur *c, int zero_ok)
{
	int64_t v = (int64_t)get64(c);
	if (!c->why && !(ts_ok(v) || (zero_ok && v == 0)))
		fail(c, "timestamp out of range");
	return v;
}

static void read_metric(struct cur *c, struct nro_metric *m, struct nro_attr *attrs)
{
	m->name = getstr(c);
	if (!c->why && m->name.len == 0)
		fail(c, "empty metric name");
	m->unit = getstr(c);
	m->type = get8(c);
	if (!c->why && m->type > NRO_MT_MAX)
		fail(c, "metric type out of range");
	m->value = getf64(c);
	m->ts_ms = getts(c, 1);
	m->attrs = attrs;
	m->nattrs = getattrs(c, attrs);
}

static void read_state(struct cur *c, struct nro_state *s, struct nro_attr *attrs)
{
	getobject(c, &s->object);
	s->key = getstr(c);
	if (!c->why && s->key.len == 0)
		fail(c, "empty state key");
	s->value = getstr(c);
	s->num = getf64(c);
	if (!c->why && !isfinite(s->num))
		fail(c, "state number is NaN or infinite");
	s->since_ms = getts(c, 1);
	s->attrs = attrs;
	s->nattrs = getattrs(c, attrs);
}

static void read_health(struct cur *c, struct nro_health *h)
{
	h->status = get8(c);
	if (!c->why && h->status > NRO_HEALTH_MAX)
		fail(c, "health status out of range");
	h->http_status = get16(c);
	if (!c->why && !http_status_ok(h->http_status))
		fail(c, "HTTP status out of range");
	h->interval_ms = get32(c);
	h->duration_us = get32(c);
	h->bytes = get64(c);
	h->target = getstr(c);
	h->message = getstr(c);
}

static void read_error(struct cur *c, struct nro_error *x)
{
	x->code = get16(c);
	if (!c->why && x->code > NRO_ERR_MAX)
		fail(c, "error code out of range");
	x->http_status = get16(c);
	if (!c->why && !http_status_ok(x->http_status))
		fail(c, "HTTP status out of range");
	x->target = getstr(c);
	x->message = getstr(c);
}

static void read_event(struct cur *c, struct nro_event *v, struct nro_attr *attrs)
{
	v->type = getstr(c);
	if (!c->why && v->type.len == 0)
		fail(c, "empty event type");
	v->severity = get8(c);
	if (!c->why && v->severity > NRO_SEV_MAX)
		fail(c, "severity out of range");
	v->state = get8(c);
	if (!c->why && v->state > NRO_EV_STATE_MAX)
		fail(c, "event state out of range");
	v->flags = get8(c);
	if (!c->why && (v->flags & ~NRO_EVF_KNOWN))
		fail(c, "unknown event flags");
	getobject(c, &v->object);
	v->value = getf64(c);
	v->threshold = getf64(c);
	if (!c->why && (!isfinite(v->value) || !isfinite(v->threshold)))
		fail(c, "event value or threshold is NaN or infinite");
	v->since_ms = getts(c, 1);
	v->message = getstr(c);
	v->attrs = attrs;
	v->nattrs = getattrs(c, attrs);
}

/* Reads one entry of the given kind; attrs may be NULL when only validating. */
static void read_entry(struct cur *c, uint8_t kind, void *out, struct nro_attr *attrs)
{
	union nro_entry scratch;
	void *dst = out ? out : &scratch;
	struct nro_attr attr_scratch[NRO_ATTRS_MAX];
	struct nro_attr *a = attrs ? attrs : attr_scratch;
	switch (kind) {
	case NRO_KIND_METRIC:
		read_metric(c, dst, a);
		break;
	case NRO_KIND_STATE:
		read_state(c, dst, a);
		break;
	case NRO_KIND_HEALTH:
		read_health(c, dst);
		break;
	case NRO_KIND_ERROR:
		read_error(c, dst);
		break;
	case NRO_KIND_EVENT:
		read_event(c, dst, a);
		break;
	default:
		fail(c, "unknown record kind");
	}
}

static int kind_ok(uint8_t k)
{
	return k == NRO_KIND_METRIC || k == NRO_KIND_STATE || k == NRO_KIND_HEALTH ||
	       k == NRO_KIND_ERROR || k == NRO_KIND_EVENT;
}

int nro_decode(struct nro_msg *m, const uint8_t *buf, size_t len, const char **why)
{
	struct cur c = {buf, len, NULL};
	const char *dummy;
	if (!why)
		why = &dummy;
	*why = NULL;
	if (!buf || len < NRO_HDR_FIXED + 4) {
		*why = "too short for a record header";
		return -1;
	}
	if (len > NRO_MSG_MAX) {
		*why = "message larger than the format allows";
		return -1;
	}
	m->hdr.kind = get8(&c);
	if (!kind_ok(m->hdr.kind)) {
		*why = "unknown record kind";
		return -1;
	}
	if (get8(&c) != 'N' || get8(&c) != 'R' || get8(&c) != 'O') {
		*why = "bad magic (not an NRO record)";
		return -1;
	}
	m->hdr.version = get8(&c);
	if (m->hdr.version != NRO_WIRE_VERSION) {
		*why = "unsupported format version";
		return -1;
	}
	if (get8(&c) != 0) {
		*why = "reserved header flags set";
		return -1;
	}
	m->hdr.count = get32(&c);
	m->hdr.seq = get64(&c);
	m->hdr.ts_ms = getts(&c, 1);
	m->hdr.source = getstr(&c);
	m->hdr.node = getstr(&c);
	if (c.why) {
		*why = c.why;
		return -1;
	}
	m->buf = buf;
	m->len = len;
	m->pos = len - c.left;
	m->left = m->hdr.count;
	/* smallest possible entry is 8 bytes: a count that cannot fit is refused
	 * before any entry is walked */
	if (m->hdr.count > c.left / 8) {
		*why = "entry count larger than the message can hold";
		return -1;
	}
	for (uint32_t i = 0; i < m->hdr.count; i++) {
		read_entry(&c, m->hdr.kind, NULL, NULL);
		if (c.why) {
			*why = c.why;
			return -1;
		}
	}
	if (c.left != 0) {
		*why = "trailing bytes after the last entry";
		return -1;
	}
	return 0;
}

static int next(struct nro_msg *m, uint8_t kind, void *out)
{
	if (m->left == 0 || m->hdr.kind != kind)
		return 0;
	struct cur c = {m->buf + m->pos, m->len - m->pos, NULL};
	read_entry(&c, kind, out, m->attrs);
	if (c.why) /* cannot happen on a decoded message; stop safely anyway */
		return m->left = 0, 0;
	m->pos = m->len - c.left;
	m->left--;
	return 1;
}

int nro_next(struct nro_msg *m, union nro_entry *e)
{
	return next(m, m->hdr.kind, e);
}

int nro_next_metric(struct nro_msg *m, struct nro_metric *out)
{
	return next(m, NRO_KIND_METRIC, out);
}

int nro_next_state(struct nro_msg *m, struct nro_state *out)
{
	return next(m, NRO_KIND_STATE, out);
}

int nro_next_health(struct nro_msg *m, struct nro_health *out)
{
	return next(m, NRO_KIND_HEALTH, out);
}

int nro_next_error(struct nro_msg *m, struct nro_error *out)
{
	return next(m, NRO_KIND_ERROR, out);
}

int nro_next_event(struct nro_msg *m, struct nro_event *out)
{
	return next(m, NRO_KIND_EVENT, out);
}

/* ---- names ----------------------------------------------------------- */

#define NAME(arr, i) ((size_t)(i) < sizeof arr / sizeof arr[0] && arr[i] ? arr[i] : "unknown")

const char *nro_kind_name(uint8_t kind)
{
	switch (kind) {
	case NRO_KIND_METRIC:
		return "metric";
	case NRO_KIND_STATE:
		return "state";
	case NRO_KIND_HEALTH:
		return "health";
	case NRO_KIND_ERROR:
		return "error";
	case NRO_KIND_EVENT:
		return "event";
	}
	return "unknown";
}

static const char *const metric_types[] = {"gauge", "counter", "untyped", "histogram", "summary"};
static const char *const object_kinds[] = {"", "Node", "Pod", "Container", "Volume", "Service"};
static const char *const health_names[] = {"ok", "degraded", "failed"};
static const char *const error_names[] = {"other",     "connect", "timeout",
					  "tls",       "auth",    "http",
					  "too_large", "parse",   "truncated",
					  "not_served"};
static const char *const severity_names[] = {"info", "warning", "critical"};
static const char *const event_states[] = {"firing", "resolved"};

const char *nro_metric_type_name(uint8_t t)
{
	return NAME(metric_types, t);
}

const char *nro_object_kind_name(uint8_t k)
{
	return NAME(object_kinds, k);
}

const char *nro_health_name(uint8_t s)
{
	return NAME(health_names, s);
}

const char *nro_error_name(uint16_t c)
{
	return NAME(error_names, c);
}

const char *nro_severity_name(uint8_t s)
{
	return NAME(severity_names, s);
}

const char *nro_event_state_name(uint8_t s)
{
	return NAME(event_states, s);
}

int nro_object_kind_parse(const char *s)
{
	for (size_t i = 1; i < sizeof object_kinds / sizeof object_kinds[0]; i++)
		if (strcmp(s, object_kinds[i]) == 0)
			return (int)i;
	return -1;
}

int nro_severity_parse(const char *s)
{
	for (size_t i = 0; i < sizeof severity_names / sizeof severity_names[0]; i++)
		if (strcmp(s, severity_names[i]) == 0)
			return (int)i;
	return -1;
}

int nro_record_seq(const uint8_t *buf, size_t len, uint64_t *seq)
{
	if (!buf || len < NRO_HDR_FIXED)
		return -1;
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | buf[NRO_HDR_SEQ_OFF + i];
	*seq = v;
	return 0;
}

int nro_record_set_seq(uint8_t *buf, size_t len, uint64_t seq)
{
	if (!buf || len < NRO_HDR_FIXED)
		return -1;
	for (int i = 0; i < 8; i++)
		buf[NRO_HDR_SEQ_OFF + i] = (uint8_t)(seq >> ((7 - i) * 8));
	return 0;
}
