#include "wire/record.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"

/* Largest timestamp accepted: 9999-12-31T23:59:59.999Z. */
#define TS_MAX 253402300799999LL
/* Integers up to 2^53 are exact in a double: the compact number forms. */
#define INT_EXACT (1ull << 53)

/* ---- encoding (always version 2) -------------------------------------- */

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

static int ts_ok(int64_t ts)
{
	return ts >= 0 && ts <= TS_MAX;
}

static int http_status_ok(uint16_t s)
{
	return s == 0 || (s >= 100 && s <= 599);
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
	free(e->ent);
	free(e->blob);
	free(e->ends);
	free(e->slots);
	free(e->sets);
	free(e->set_slots);
	size_t max = e->max;
	memset(e, 0, sizeof *e);
	e->max = max;
}

/* Grows *p (element size sz, capacity *cap) to hold need elements, doubling;
 * never past limit elements. 0, or -1 (limit or memory). */
static int grow(void **p, size_t *cap, size_t need, size_t sz, size_t limit)
{
	if (need <= *cap)
		return 0;
	if (need > limit)
		return -1;
	size_t n = *cap ? *cap : 256;
	while (n < need)
		n *= 2;
	if (n > limit)
		n = limit;
	void *q = realloc(*p, n * sz);
	if (!q)
		return -1;
	*p = q;
	*cap = n;
	return 0;
}

static size_t varsize(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* What the message would take if finished now. */
static size_t projected(const struct nro_enc *e)
{
	return NRO_HDR_FIXED + varsize(e->nstr) + 4 * (size_t)e->nstr + e->blob_len + e->ent_len;
}

static struct nro_str table_str(const struct nro_enc *e, uint32_t i)
{
	uint32_t start = i ? e->ends[i - 1] : 0;
	/* only empty strings so far: no blob yet (NULL + 0 is undefined) */
	struct nro_str s = {e->blob ? e->blob + start : "", (uint16_t)(e->ends[i] - start)};
	return s;
}

/* The slot holding s, or the empty slot where it goes. */
static uint32_t *slot_of(const struct nro_enc *e, const char *p, size_t n)
{
	uint32_t mask = e->nslots - 1, i = (uint32_t)nro_hash(p, n) & mask;
	for (;; i = (i + 1) & mask) {
		uint32_t *sl = &e->slots[i];
		if (*sl == 0)
			return sl;
		struct nro_str t = table_str(e, *sl - 1);
		if (t.len == n && (n == 0 || memcmp(t.p, p, n) == 0))
			return sl;
	}
}

/* Doubles the hash table (kept at most half full) and re-inserts. */
static int rehash(struct nro_enc *e)
{
	uint32_t n = e->nslots ? e->nslots * 2 : 256;
	uint32_t *old = e->slots;
	e->slots = calloc(n, sizeof *e->slots);
	if (!e->slots) {
		e->slots = old;
		return -1;
	}
	free(old);
	e->nslots = n;
	for (uint32_t i = 0; i < e->nstr; i++) {
		struct nro_str s = table_str(e, i);
		*slot_of(e, s.p, s.len) = i + 1;
	}
	return 0;
}

/* The table index of s, added if new (always added with force: the header's
 * source and node are strings 0 and 1 even when equal); -1 if s holds a NUL
 * byte or memory ran out. */
static int64_t intern_as(struct nro_enc *e, struct nro_str s, int force)
{
	if (s.len && (!s.p || memchr(s.p, '\0', s.len)))
		return -1;
	if ((size_t)(e->nstr + 1) * 2 > e->nslots && rehash(e) != 0)
		return -1;
	const char *p = s.len ? s.p : "";
	uint32_t *sl = slot_of(e, p, s.len);
	if (*sl && !force)
		return *sl - 1;
	if (grow((void **)&e->blob, &e->blob_cap, e->blob_len + s.len, 1, e->max) != 0 ||
	    grow((void **)&e->ends, &e->ends_cap, (size_t)e->nstr + 1, sizeof *e->ends,
		 e->max / 4))
		return -1;
	if (s.len)
		memcpy(e->blob + e->blob_len, p, s.len);
	e->blob_len += s.len;
	e->ends[e->nstr] = (uint32_t)e->blob_len;
	if (*sl == 0)
		*sl = e->nstr + 1;
	return e->nstr++;
}

static int64_t intern(struct nro_enc *e, struct nro_str s)
{
	return intern_as(e, s, 0);
}

/* Forgets the strings added since the table had keep of them (an entry that
 * did not fit): they were the last inserted, so clearing their slots leaves
 * every other probe chain intact. */
static void untern(struct nro_enc *e, uint32_t keep)
{
	while (e->nstr > keep) {
		struct nro_str s = table_str(e, e->nstr - 1);
		*slot_of(e, s.len ? s.p : "", s.len) = 0;
		e->blob_len -= s.len;
		e->nstr--;
	}
}

static void putvar(struct nro_enc *e, uint64_t v)
{
	while (v >= 0x80) {
		e->ent[e->ent_len++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	e->ent[e->ent_len++] = (uint8_t)v;
}

static void put8(struct nro_enc *e, uint8_t v)
{
	e->ent[e->ent_len++] = v;
}

static void putbe(uint8_t *o, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		o[i] = (uint8_t)(v >> ((n - 1 - i) * 8));
}

/* A string as its table index; sets e->bad when it cannot be stored. */
static void putref(struct nro_enc *e, struct nro_str s)
{
	int64_t i = intern(e, s);
	if (i < 0) {
		e->bad = 1;
		return;
	}
	putvar(e, (uint64_t)i);
}

/* The compact form of a number: NRO_NUM_* tag. */
static uint8_t num_tag(double d)
{
	uint64_t bits;
	memcpy(&bits, &d, sizeof bits);
	if (bits == 0)
		return NRO_NUM_ZERO;
	if (d >= 1 && d <= (double)INT_EXACT && d == floor(d))
		return NRO_NUM_POS;
	if (d <= -1 && d >= -(double)INT_EXACT && d == floor(d))
		return NRO_NUM_NEG;
	if ((double)(float)d == d)
		return NRO_NUM_F32;
	return NRO_NUM_F64;
}

static void putnum_payload(struct nro_enc *e, double d, uint8_t tag)
{
	uint64_t bits;
	float f;
	uint32_t fb;
	switch (tag) {
	case NRO_NUM_POS:
		putvar(e, (uint64_t)d);
		break;
	case NRO_NUM_NEG:
		putvar(e, (uint64_t)-d);
		break;
	case NRO_NUM_F32:
		f = (float)d;
		memcpy(&fb, &f, sizeof fb);
		putbe(e->ent + e->ent_len, fb, 4);
		e->ent_len += 4;
		break;
	case NRO_NUM_F64:
		memcpy(&bits, &d, sizeof bits);
		putbe(e->ent + e->ent_len, bits, 8);
		e->ent_len += 8;
		break;
	}
}

static void putnum(struct nro_enc *e, double d)
{
	uint8_t tag = num_tag(d);
	put8(e, tag);
	putnum_payload(e, d, tag);
}

/* The slot of the attribute list ent[at .. at+len), or the empty one where it goes. */
static uint32_t *set_slot_of(const struct nro_enc *e, size_t at, size_t len)
{
	uint32_t mask = e->nset_slots - 1, i = (uint32_t)nro_hash(e->ent + at, len) & mask;
	for (;; i = (i + 1) & mask) {
		uint32_t *sl = &e->set_slots[i];
		if (*sl == 0)
			return sl;
		const uint32_t *span = &e->sets[2 * (*sl - 1)];
		if (span[1] == len && memcmp(e->ent + span[0], e->ent + at, len) == 0)
			return sl;
	}
}

static int set_rehash(struct nro_enc *e)
{
	uint32_t n = e->nset_slots ? e->nset_slots * 2 : 256;
	uint32_t *old = e->set_slots;
	e->set_slots = calloc(n, sizeof *e->set_slots);
	if (!e->set_slots) {
		e->set_slots = old;
		return -1;
	}
	free(old);
	e->nset_slots = n;
	for (uint32_t i = 0; i < e->nsets; i++)
		*set_slot_of(e, e->sets[2 * i], e->sets[2 * i + 1]) = i + 1;
	return 0;
}

/* The attribute list just written at ent[at ..]: if the message already
 * holds the same bytes, replaced by a back-reference to them (label sets
 * repeat across a container's series); else remembered. */
static void dedupe_attrs(struct nro_enc *e, size_t at)
{
	size_t len = e->ent_len - at;
	if (len < 4) /* no shorter than a reference */
		return;
	if ((size_t)(e->nsets + 1) * 2 > e->nset_slots && set_rehash(e) != 0)
		return; /* out of memory: the inline list stays, still valid */
	uint32_t *sl = set_slot_of(e, at, len);
	if (*sl) {
		e->ent_len = at;
		putvar(e, NRO_ATTRS_MAX + 1 + (uint64_t)e->sets[2 * (*sl - 1)]);
		return;
	}
	if (grow((void **)&e->sets, &e->sets_cap, 2 * ((size_t)e->nsets + 1), sizeof *e->sets,
		 SIZE_MAX / sizeof *e->sets) != 0)
		return;
	e->sets[2 * e->nsets] = (uint32_t)at;
	e->sets[2 * e->nsets + 1] = (uint32_t)len;
	*sl = ++e->nsets;
}

/* Forgets the lists remembered since there were keep of them (see untern). */
static void unset(struct nro_enc *e, uint32_t keep)
{
	while (e->nsets > keep) {
		uint32_t i = e->nsets - 1;
		*set_slot_of(e, e->sets[2 * i], e->sets[2 * i + 1]) = 0;
		e->nsets--;
	}
}

static void putattrs(struct nro_enc *e, const struct nro_attr *a, uint16_t n)
{
	size_t at = e->ent_len;
	putvar(e, n);
	for (uint16_t i = 0; i < n; i++) {
		if (a[i].key.len == 0)
			e->bad = 1;
		putref(e, a[i].key);
		putref(e, a[i].value);
	}
	if (!e->bad)
		dedupe_attrs(e, at);
}

static void putobject(struct nro_enc *e, const struct nro_object *o)
{
	put8(e, o->kind);
	putref(e, o->namespace_);
	putref(e, o->pod);
	putref(e, o->container);
	putref(e, o->name);
}

void nro_enc_begin(struct nro_enc *e, uint8_t kind, uint64_t seq, int64_t ts_ms,
		   const char *source, const char *node)
{
	e->len = e->ent_len = e->blob_len = 0;
	e->nstr = e->count = 0;
	e->failed = e->bad = 0;
	if (e->slots)
		memset(e->slots, 0, (size_t)e->nslots * sizeof *e->slots);
	if (e->set_slots)
		memset(e->set_slots, 0, (size_t)e->nset_slots * sizeof *e->set_slots);
	e->nsets = 0;
	e->ts_ms = ts_ok(ts_ms) ? ts_ms : 0;
	if (grow((void **)&e->buf, &e->cap, NRO_HDR_FIXED, 1, e->max) != 0 ||
	    intern(e, nro_s(source)) != 0 || intern_as(e, nro_s(node), 1) != 1) {
		e->failed = 1;
		return;
	}
	uint8_t *o = e->buf;
	o[0] = kind;
	memcpy(o + 1, "NRO", 3);
	o[4] = NRO_WIRE_VERSION;
	o[5] = 0;
	putbe(o + 6, 0, 4); /* count, patched by nro_enc_finish */
	putbe(o + NRO_HDR_SEQ_OFF, seq, 8);
	putbe(o + 18, (uint64_t)e->ts_ms, 8);
	e->len = projected(e);
}

/* Common entry preamble: kind matches, room for the entry's fixed worst case. */
static int begin_entry(struct nro_enc *e, uint8_t kind, uint16_t nattrs)
{
	if (e->failed || e->len < NRO_HDR_FIXED || e->buf[0] != kind || e->count == UINT32_MAX ||
	    nattrs > NRO_ATTRS_MAX)
		return -1;
	/* refs and varints are at most 5 and 10 bytes: a bound, not the size */
	size_t worst = 96 + (size_t)nattrs * 10;
	if (grow((void **)&e->ent, &e->ent_cap, e->ent_len + worst, 1, e->max + worst) != 0)
		return -1;
	e->mark_ent = e->ent_len;
	e->mark_str = e->nstr;
	e->mark_sets = e->nsets;
	e->bad = 0;
	return 0;
}

/* Keeps the entry if it was valid and fits under the cap, else undoes it. */
static int end_entry(struct nro_enc *e)
{
	if (!e->bad && projected(e) <= e->max) {
		e->count++;
		e->len = projected(e);
		return 0;
	}
	unset(e, e->mark_sets); /* before ent_len moves: the slots hash those bytes */
	e->ent_len = e->mark_ent;
	untern(e, e->mark_str);
	return -1;
}

int nro_enc_metric(struct nro_enc *e, const struct nro_metric *m)
{
	if (m->name.len == 0 || m->type > NRO_MT_MAX || (m->ts_ms != 0 && !ts_ok(m->ts_ms)) ||
	    (m->nattrs && !m->attrs) || begin_entry(e, NRO_KIND_METRIC, m->nattrs) != 0)
		return -1;
	uint8_t tag = num_tag(m->value);
	putref(e, m->name);
	putref(e, m->unit);
	put8(e, (uint8_t)(m->type | tag << 3 | (m->ts_ms ? NRO_MH_TS : 0)));
	putnum_payload(e, m->value, tag);
	if (m->ts_ms) {
		int64_t d = m->ts_ms - e->ts_ms;
		putvar(e, (uint64_t)d << 1 ^ (uint64_t)(d >> 63)); /* zigzag */
	}
	putattrs(e, m->attrs, m->nattrs);
	return end_entry(e);
}

int nro_enc_state(struct nro_enc *e, const struct nro_state *s)
{
	if (s->key.len == 0 || !isfinite(s->num) || !ts_ok(s->since_ms) ||
	    s->object.kind > NRO_OBJ_MAX || (s->nattrs && !s->attrs) ||
	    begin_entry(e, NRO_KIND_STATE, s->nattrs) != 0)
		return -1;
	putobject(e, &s->object);
	putref(e, s->key);
	putref(e, s->value);
	putnum(e, s->num);
	putvar(e, (uint64_t)s->since_ms);
	putattrs(e, s->attrs, s->nattrs);
	return end_entry(e);
}

int nro_enc_health(struct nro_enc *e, const struct nro_health *h)
{
	if (h->status > NRO_HEALTH_MAX || !http_status_ok(h->http_status) ||
	    begin_entry(e, NRO_KIND_HEALTH, 0) != 0)
		return -1;
	put8(e, h->status);
	putvar(e, h->http_status);
	putvar(e, h->interval_ms);
	putvar(e, h->duration_us);
	putvar(e, h->bytes);
	putref(e, h->target);
	putref(e, h->message);
	return end_entry(e);
}

int nro_enc_error(struct nro_enc *e, const struct nro_error *x)
{
	if (x->code > NRO_ERR_MAX || !http_status_ok(x->http_status) ||
	    begin_entry(e, NRO_KIND_ERROR, 0) != 0)
		return -1;
	put8(e, (uint8_t)x->code);
	putvar(e, x->http_status);
	putref(e, x->target);
	putref(e, x->message);
	return end_entry(e);
}

int nro_enc_event(struct nro_enc *e, const struct nro_event *v)
{
	if (v->type.len == 0 || v->severity > NRO_SEV_MAX || v->state > NRO_EV_STATE_MAX ||
	    (v->flags & ~NRO_EVF_KNOWN) || !isfinite(v->value) || !isfinite(v->threshold) ||
	    !ts_ok(v->since_ms) || v->object.kind > NRO_OBJ_MAX || (v->nattrs && !v->attrs) ||
	    begin_entry(e, NRO_KIND_EVENT, v->nattrs) != 0)
		return -1;
	putref(e, v->type);
	put8(e, v->severity);
	put8(e, v->state);
	put8(e, v->flags);
	putobject(e, &v->object);
	putnum(e, v->value);
	putnum(e, v->threshold);
	putvar(e, (uint64_t)v->since_ms);
	putref(e, v->message);
	putattrs(e, v->attrs, v->nattrs);
	return end_entry(e);
}

/* Lays the message out in e->buf: header, string table, entries. */
size_t nro_enc_finish(struct nro_enc *e)
{
	if (e->failed || e->len < NRO_HDR_FIXED)
		return 0;
	size_t len = projected(e);
	if (grow((void **)&e->buf, &e->cap, len, 1, e->max) != 0)
		return e->failed = 1, 0;
	putbe(e->buf + 6, e->count, 4);
	uint8_t *o = e->buf + NRO_HDR_FIXED;
	for (uint64_t v = e->nstr; ; v >>= 7) {
		*o++ = (uint8_t)(v >= 0x80 ? (v | 0x80) : v);
		if (v < 0x80)
			break;
	}
	for (uint32_t i = 0; i < e->nstr; i++, o += 4)
		putbe(o, e->ends[i], 4);
	if (e->blob_len)
		memcpy(o, e->blob, e->blob_len);
	o += e->blob_len;
	if (e->ent_len)
		memcpy(o, e->ent, e->ent_len);
	e->len = len;
	return len;
}

/* ---- decoding version 1 (and what both versions share) -------------------------------------------------------- */

/* A bounded cursor: every read checks what is left; the first failure
 * sticks, so a chain of reads needs one check at the end. */
struct cur {
	const uint8_t *p;
	size_t left;
	const char *why;
	/* version 2: the message's string table and header time */
	const uint8_t *ends;
	const char *blob;
	uint32_t nstr;
	int64_t hdr_ts;
	const uint8_t *ents; /* where the entries begin: back-references count from here */
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

/* Severity, state and flags: the same three bytes in both versions. */
static void read_event_enums(struct cur *c, struct nro_event *v)
{
	v->severity = get8(c);
	if (!c->why && v->severity > NRO_SEV_MAX)
		fail(c, "severity out of range");
	v->state = get8(c);
	if (!c->why && v->state > NRO_EV_STATE_MAX)
		fail(c, "event state out of range");
	v->flags = get8(c);
	if (!c->why && (v->flags & ~NRO_EVF_KNOWN))
		fail(c, "unknown event flags");
}

static void read_event(struct cur *c, struct nro_event *v, struct nro_attr *attrs)
{
	v->type = getstr(c);
	if (!c->why && v->type.len == 0)
		fail(c, "empty event type");
	read_event_enums(c, v);
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


/* ---- decoding version 2 ---------------------------------------------- */

static uint64_t getvar(struct cur *c)
{
	uint64_t v = 0;
	for (int shift = 0; shift < 64; shift += 7) {
		uint8_t b = get8(c);
		if (c->why)
			return 0;
		if (shift == 63 && b > 1) {
			fail(c, "varint overflows 64 bits");
			return 0;
		}
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			if (b == 0 && shift)
				fail(c, "varint not in its shortest form");
			return v;
		}
	}
	fail(c, "varint overflows 64 bits");
	return 0;
}

static uint32_t end_at(const struct cur *c, uint64_t i)
{
	const uint8_t *p = c->ends + 4 * i;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* String i of a checked table. */
static struct nro_str getref_at(const struct cur *c, uint64_t i)
{
	uint32_t start = i ? end_at(c, i - 1) : 0;
	struct nro_str s = {c->blob + start, (uint16_t)(end_at(c, i) - start)};
	return s;
}

static struct nro_str getref(struct cur *c)
{
	struct nro_str s = {"", 0};
	uint64_t i = getvar(c);
	if (c->why)
		return s;
	if (i >= c->nstr) {
		fail(c, "string index past the string table");
		return s;
	}
	return getref_at(c, i);
}

static uint64_t getvar_max(struct cur *c, uint64_t max, const char *why)
{
	uint64_t v = getvar(c);
	if (!c->why && v > max)
		fail(c, why);
	return v;
}

static double getnum_payload(struct cur *c, uint8_t tag)
{
	uint64_t n;
	uint32_t fb;
	float f;
	switch (tag) {
	case NRO_NUM_ZERO:
		return 0;
	case NRO_NUM_POS:
	case NRO_NUM_NEG:
		n = getvar(c);
		if (!c->why && (n == 0 || n > INT_EXACT))
			fail(c, "integer number out of range");
		return tag == NRO_NUM_POS ? (double)n : -(double)n;
	case NRO_NUM_F32:
		fb = get32(c);
		memcpy(&f, &fb, sizeof f);
		return (double)f;
	case NRO_NUM_F64:
		return getf64(c);
	}
	fail(c, "number form out of range");
	return 0;
}

static double getnum(struct cur *c)
{
	uint8_t tag = get8(c);
	return c->why ? 0 : getnum_payload(c, tag);
}

static int64_t getvar_ts(struct cur *c)
{
	return (int64_t)getvar_max(c, TS_MAX, "timestamp out of range");
}

static uint16_t getattrs_inline(struct cur *c, uint64_t n, struct nro_attr *out)
{
	for (uint16_t i = 0; i < n && !c->why; i++) {
		struct nro_str k = getref(c), v = getref(c);
		if (!c->why && k.len == 0)
			fail(c, "empty attribute key");
		out[i].key = k;
		out[i].value = v;
	}
	return c->why ? 0 : (uint16_t)n;
}

/* A count up to 64 and the pairs, or 65 + the offset (from the first entry)
 * of an earlier inline list, which must end before this reference. */
static uint16_t getattrs2(struct cur *c, struct nro_attr *out)
{
	const uint8_t *here = c->p;
	uint64_t n = getvar(c);
	if (c->why)
		return 0;
	if (n <= NRO_ATTRS_MAX)
		return getattrs_inline(c, n, out);
	uint64_t off = n - NRO_ATTRS_MAX - 1;
	if (off >= (uint64_t)(here - c->ents)) {
		fail(c, "attribute back-reference does not point before itself");
		return 0;
	}
	struct cur b = *c;
	b.p = c->ents + off;
	b.left = (size_t)(here - b.p);
	uint64_t bn = getvar(&b);
	if (!b.why && bn > NRO_ATTRS_MAX)
		fail(&b, "attribute back-reference to another reference");
	uint16_t got = b.why ? 0 : getattrs_inline(&b, bn, out);
	if (b.why)
		fail(c, b.why);
	return c->why ? 0 : got;
}

static void getobject2(struct cur *c, struct nro_object *o)
{
	o->kind = get8(c);
	if (!c->why && o->kind > NRO_OBJ_MAX)
		fail(c, "object kind out of range");
	o->namespace_ = getref(c);
	o->pod = getref(c);
	o->container = getref(c);
	o->name = getref(c);
}

static void read_metric2(struct cur *c, struct nro_metric *m, struct nro_attr *attrs)
{
	m->name = getref(c);
	if (!c->why && m->name.len == 0)
		fail(c, "empty metric name");
	m->unit = getref(c);
	uint8_t head = get8(c);
	m->type = head & 7;
	if (!c->why && (m->type > NRO_MT_MAX || (head & 0x80)))
		fail(c, "metric type out of range");
	m->value = getnum_payload(c, head >> 3 & 7);
	m->ts_ms = 0;
	if (head & NRO_MH_TS) {
		uint64_t z = getvar(c);
		int64_t d = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
		/* wraps like the encoder's difference did; range-checked after */
		m->ts_ms = (int64_t)((uint64_t)c->hdr_ts + (uint64_t)d);
		if (!c->why && !ts_ok(m->ts_ms))
			fail(c, "timestamp out of range");
	}
	m->attrs = attrs;
	m->nattrs = getattrs2(c, attrs);
}

static void read_state2(struct cur *c, struct nro_state *s, struct nro_attr *attrs)
{
	getobject2(c, &s->object);
	s->key = getref(c);
	if (!c->why && s->key.len == 0)
		fail(c, "empty state key");
	s->value = getref(c);
	s->num = getnum(c);
	if (!c->why && !isfinite(s->num))
		fail(c, "state number is NaN or infinite");
	s->since_ms = getvar_ts(c);
	s->attrs = attrs;
	s->nattrs = getattrs2(c, attrs);
}

static void read_health2(struct cur *c, struct nro_health *h)
{
	h->status = get8(c);
	if (!c->why && h->status > NRO_HEALTH_MAX)
		fail(c, "health status out of range");
	h->http_status = (uint16_t)getvar_max(c, 599, "HTTP status out of range");
	if (!c->why && !http_status_ok(h->http_status))
		fail(c, "HTTP status out of range");
	h->interval_ms = (uint32_t)getvar_max(c, UINT32_MAX, "interval out of range");
	h->duration_us = (uint32_t)getvar_max(c, UINT32_MAX, "duration out of range");
	h->bytes = getvar(c);
	h->target = getref(c);
	h->message = getref(c);
}

static void read_error2(struct cur *c, struct nro_error *x)
{
	x->code = get8(c);
	if (!c->why && x->code > NRO_ERR_MAX)
		fail(c, "error code out of range");
	x->http_status = (uint16_t)getvar_max(c, 599, "HTTP status out of range");
	if (!c->why && !http_status_ok(x->http_status))
		fail(c, "HTTP status out of range");
	x->target = getref(c);
	x->message = getref(c);
}

static void read_event2(struct cur *c, struct nro_event *v, struct nro_attr *attrs)
{
	v->type = getref(c);
	if (!c->why && v->type.len == 0)
		fail(c, "empty event type");
	read_event_enums(c, v);
	getobject2(c, &v->object);
	v->value = getnum(c);
	v->threshold = getnum(c);
	if (!c->why && (!isfinite(v->value) || !isfinite(v->threshold)))
		fail(c, "event value or threshold is NaN or infinite");
	v->since_ms = getvar_ts(c);
	v->message = getref(c);
	v->attrs = attrs;
	v->nattrs = getattrs2(c, attrs);
}

/* Reads and checks the string table after the fixed header: ends ascending,
 * each string at most 65535 bytes, no NUL anywhere, source and node first. */
static void read_table(struct cur *c, struct nro_msg *m)
{
	uint64_t n = getvar(c);
	if (c->why)
		return;
	if (n < 2 || n > c->left / 4) {
		fail(c, "string table size out of range");
		return;
	}
	c->ends = c->p;
	c->nstr = (uint32_t)n;
	c->p += 4 * n;
	c->left -= 4 * n;
	uint32_t prev = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint32_t end = end_at(c, i);
		if (end < prev || end - prev > UINT16_MAX) {
			fail(c, "string table entry out of order or too long");
			return;
		}
		prev = end;
	}
	if (!need(c, prev, "string table runs past the end of the message"))
		return;
	if (prev && memchr(c->p, '\0', prev)) {
		fail(c, "string holds a NUL byte");
		return;
	}
	c->blob = (const char *)c->p;
	c->p += prev;
	c->left -= prev;
	c->ents = c->p;
	m->hdr.source = getref_at(c, 0);
	m->hdr.node = getref_at(c, 1);
}

/* Reads one entry of the given kind; attrs may be NULL when only validating. */
static void read_entry_v1(struct cur *c, uint8_t kind, void *dst, struct nro_attr *a)
{
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

static void read_entry_v2(struct cur *c, uint8_t kind, void *dst, struct nro_attr *a)
{
	switch (kind) {
	case NRO_KIND_METRIC:
		read_metric2(c, dst, a);
		break;
	case NRO_KIND_STATE:
		read_state2(c, dst, a);
		break;
	case NRO_KIND_HEALTH:
		read_health2(c, dst);
		break;
	case NRO_KIND_ERROR:
		read_error2(c, dst);
		break;
	case NRO_KIND_EVENT:
		read_event2(c, dst, a);
		break;
	default:
		fail(c, "unknown record kind");
	}
}

/* Reads one entry of the given kind; out and attrs may be NULL when only
 * validating. */
static void read_entry(struct cur *c, uint8_t version, uint8_t kind, void *out,
		       struct nro_attr *attrs)
{
	union nro_entry scratch;
	struct nro_attr attr_scratch[NRO_ATTRS_MAX];
	void *dst = out ? out : &scratch;
	struct nro_attr *a = attrs ? attrs : attr_scratch;
	if (version == 1)
		read_entry_v1(c, kind, dst, a);
	else
		read_entry_v2(c, kind, dst, a);
}

static int kind_ok(uint8_t k)
{
	return k == NRO_KIND_METRIC || k == NRO_KIND_STATE || k == NRO_KIND_HEALTH ||
	       k == NRO_KIND_ERROR || k == NRO_KIND_EVENT;
}

int nro_decode(struct nro_msg *m, const uint8_t *buf, size_t len, const char **why)
{
	struct cur c = {buf, len, NULL, NULL, NULL, 0, 0, NULL};
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
	if (m->hdr.version != 1 && m->hdr.version != NRO_WIRE_VERSION) {
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
	c.hdr_ts = m->hdr.ts_ms;
	if (m->hdr.version == 1) {
		m->hdr.source = getstr(&c);
		m->hdr.node = getstr(&c);
	} else {
		read_table(&c, m);
	}
	if (c.why) {
		*why = c.why;
		return -1;
	}
	m->buf = buf;
	m->len = len;
	m->pos = len - c.left;
	m->left = m->hdr.count;
	m->strends = c.ends;
	m->blob = c.blob;
	m->nstr = c.nstr;
	m->ents = c.ents;
	/* the smallest entry is 8 bytes in version 1, 4 in version 2: a count
	 * that cannot fit is refused before any entry is walked */
	if (m->hdr.count > c.left / (m->hdr.version == 1 ? 8 : 4)) {
		*why = "entry count larger than the message can hold";
		return -1;
	}
	for (uint32_t i = 0; i < m->hdr.count; i++) {
		read_entry(&c, m->hdr.version, m->hdr.kind, NULL, NULL);
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
	struct cur c = {m->buf + m->pos, m->len - m->pos, NULL, m->strends, m->blob, m->nstr,
			m->hdr.ts_ms, m->ents};
	read_entry(&c, m->hdr.version, kind, out, m->attrs);
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
