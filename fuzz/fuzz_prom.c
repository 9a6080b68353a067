/*
 * The Prometheus text parser (lib/parse/prom.h) on any body, fed in chunks
 * whose sizes come from the input (libcurl splits a body anywhere). The
 * property: the split never matters. The body is parsed twice, whole and in
 * the input's chunks, and both parses must see the same samples (a running
 * hash of every name, label and value), the same counters and the same
 * first malformed line. Input: byte 0 picks the line cap and the filter,
 * bytes 1..4 seed the chunk sizes, the rest is the body.
 */
#include <string.h>

#include "fuzz.h"
#include "parse/prom.h"

struct seen {
	uint64_t hash, samples;
};

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001B3u;
	return h;
}

static uint64_t mix_str(uint64_t h, const char *s)
{
	return mix(h, s, strlen(s) + 1);
}

static int on_sample(void *ctx, const struct nro_prom_sample *s)
{
	struct seen *v = ctx;
	FUZZ_CHECK(s->nlabels <= NRO_PROM_LABELS_MAX && s->type >= 0 && s->type <= 4);
	uint64_t h = mix_str(mix_str(v->hash, s->family), s->name);
	h = mix(h, &s->type, sizeof s->type);
	if (s->value == s->value) /* every NaN is the same sample value */
		h = mix(h, &s->value, sizeof s->value);
	h = mix(h, &s->line, sizeof s->line);
	if (s->has_ts)
		h = mix(h, &s->ts_ms, sizeof s->ts_ms);
	for (unsigned i = 0; i < s->nlabels; i++) {
		h = mix_str(mix_str(h, s->labels[i].name), s->labels[i].value);
		h = mix_str(h, nro_prom_normalize_label(s->labels[i].name));
		h = mix(h, "d", (size_t)nro_prom_label_dropped(s, i));
	}
	v->hash = h;
	v->samples++;
	return 0;
}

struct outcome {
	struct seen seen;
	struct nro_prom after; /* the parser as the parse left it: its counters */
	int rc;
};

static void parse(struct nro_prom *p, const char *body, size_t len, struct fuzz_rng *split,
		  struct outcome *o)
{
	memset(o, 0, sizeof *o);
	p->ctx = &o->seen;
	nro_prom_reset(p);
	size_t at = 0;
	while (at < len && o->rc == 0) {
		size_t n = split ? fuzz_rng_range(split, 1, len - at < 300 ? len - at : 300) : len - at;
		o->rc = nro_prom_feed(p, body + at, n);
		at += n;
	}
	if (o->rc == 0)
		o->rc = nro_prom_finish(p);
	o->after = *p;
}

static const struct nro_prom_filter *filter(void)
{
	static struct nro_prom_filter f;
	static int ready;
	if (!ready) {
		const char *why;
		nro_prom_filter_init(&f);
		FUZZ_CHECK(nro_prom_filter_add_list(&f, "kubelet_*, machine_*,a,container_cpu_usage_seconds_total",
						    NRO_PROM_ALLOW, &why) == 0);
		FUZZ_CHECK(nro_prom_filter_add_list(&f, "kubelet_running_*", NRO_PROM_DENY, &why) == 0);
		ready = 1;
	}
	return &f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 5)
		return 0;
	/* line caps from the minimum (64) up, so over-long lines are common */
	static const size_t caps[4] = {64, 200, 4096, 0};
	struct nro_prom p;
	nro_prom_init(&p, caps[data[0] & 3], on_sample, NULL);
	if (data[0] & 4)
		nro_prom_set_filter(&p, filter());
	struct fuzz_rng split;
	fuzz_rng_seed(&split, data + 1, 4);
	const char *body = (const char *)data + 5;
	size_t len = size - 5;

	struct outcome whole, chunked;
	parse(&p, body, len, NULL, &whole);
	parse(&p, body, len, &split, &chunked);
	FUZZ_CHECK(whole.rc == 0 && chunked.rc == 0);
	FUZZ_CHECK(whole.seen.hash == chunked.seen.hash);
	const struct nro_prom *w = &whole.after, *c = &chunked.after;
	FUZZ_CHECK(whole.seen.samples == w->samples && w->samples == c->samples);
	FUZZ_CHECK(w->lines == c->lines && w->malformed == c->malformed);
	FUZZ_CHECK(w->filtered == c->filtered && w->eof == c->eof);
	FUZZ_CHECK(w->bad_line == c->bad_line && w->bad_why == c->bad_why);
	FUZZ_CHECK(p.line_cap <= p.line_max);
	nro_prom_free(&p);
	return 0;
}
