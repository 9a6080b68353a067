/*
 * The record decoder (lib/wire/record.h) on any bytes: nro_decode either
 * refuses with a reason or accepts, and then nro_next reads exactly the
 * header's count of entries, every string inside the message. An accepted
 * entry is one the encoder takes back (the two enforce the same rules), and
 * the re-encoded message decodes to the same count.
 */
#include <string.h>

#include "fuzz.h"
#include "wire/record.h"

static uint64_t touch_str(struct nro_str s)
{
	return fuzz_touch(s.p, s.len);
}

static uint64_t touch_attrs(const struct nro_attr *a, uint16_t n)
{
	uint64_t sum = 0;
	for (uint16_t i = 0; i < n; i++)
		sum += touch_str(a[i].key) + touch_str(a[i].value);
	return sum;
}

static uint64_t touch_object(const struct nro_object *o)
{
	return touch_str(o->namespace_) + touch_str(o->pod) + touch_str(o->container) +
	       touch_str(o->name);
}

/* Reads every string of entry e; re-encodes it into enc. 0, or the
 * encoder's -1. */
static int reencode(struct nro_enc *enc, uint8_t kind, const union nro_entry *e)
{
	switch (kind) {
	case NRO_KIND_METRIC:
		touch_str(e->metric.name);
		touch_str(e->metric.unit);
		touch_attrs(e->metric.attrs, e->metric.nattrs);
		return nro_enc_metric(enc, &e->metric);
	case NRO_KIND_STATE:
		touch_object(&e->state.object);
		touch_str(e->state.key);
		touch_str(e->state.value);
		touch_attrs(e->state.attrs, e->state.nattrs);
		return nro_enc_state(enc, &e->state);
	case NRO_KIND_HEALTH:
		touch_str(e->health.target);
		touch_str(e->health.message);
		return nro_enc_health(enc, &e->health);
	case NRO_KIND_ERROR:
		touch_str(e->error.target);
		touch_str(e->error.message);
		return nro_enc_error(enc, &e->error);
	case NRO_KIND_EVENT:
		touch_object(&e->event.object);
		touch_str(e->event.type);
		touch_str(e->event.message);
		touch_attrs(e->event.attrs, e->event.nattrs);
		return nro_enc_event(enc, &e->event);
	}
	FUZZ_CHECK(!"nro_decode accepted an unknown kind");
	return -1;
}

/* s as a C string in out (the decoder refuses NUL bytes in strings). */
static const char *cstr(struct nro_str s, char *out, size_t outlen)
{
	FUZZ_CHECK(s.len < outlen && (!s.len || !memchr(s.p, '\0', s.len)));
	memcpy(out, s.p, s.len);
	out[s.len] = '\0';
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nro_msg m, again;
	const char *why = NULL;
	if (nro_decode(&m, data, size, &why) != 0) {
		FUZZ_CHECK(why && *why);
		return 0;
	}
	uint64_t seq;
	FUZZ_CHECK(nro_record_seq(data, size, &seq) == 0 && seq == m.hdr.seq);

	static char source[65536], node[65536];
	struct nro_enc enc;
	nro_enc_init(&enc, 0);
	nro_enc_begin(&enc, m.hdr.kind, m.hdr.seq, m.hdr.ts_ms,
		      cstr(m.hdr.source, source, sizeof source), cstr(m.hdr.node, node, sizeof node));
	union nro_entry e;
	uint32_t got = 0;
	while (nro_next(&m, &e)) {
		FUZZ_CHECK(++got <= m.hdr.count);
		FUZZ_CHECK(reencode(&enc, m.hdr.kind, &e) == 0);
	}
	FUZZ_CHECK(got == m.hdr.count);

	size_t len = nro_enc_finish(&enc);
	FUZZ_CHECK(len > 0);
	FUZZ_CHECK(nro_decode(&again, enc.buf, len, &why) == 0);
	FUZZ_CHECK(again.hdr.count == m.hdr.count && again.hdr.seq == m.hdr.seq);
	nro_enc_free(&enc);
	return 0;
}
