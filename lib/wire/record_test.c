#include "wire/record.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/testing.h"

static struct nro_attr two_attrs[2];

static void init_attrs(void)
{
	two_attrs[0].key = nro_s("k8s.node.name");
	two_attrs[0].value = nro_s("n1");
	two_attrs[1].key = nro_s("k8s.pod.name");
	two_attrs[1].value = nro_s("web-0 \"quoted\"");
}

static struct nro_str str_of(struct nro_str s, char *buf, size_t n)
{
	size_t l = s.len < n - 1 ? s.len : n - 1;
	memcpy(buf, s.p, l);
	buf[l] = '\0';
	return s;
}

#define STR_IS(s, lit) CHECK(nro_str_eq((s), (lit)))

/* Encodes one message of each kind into malloc'd copies for the decoder tests. */
static size_t encode_metric(struct nro_enc *e, double value)
{
	init_attrs();
	nro_enc_begin(e, NRO_KIND_METRIC, 7, 1764104400123LL, "collector-summary", "n1");
	struct nro_metric m = {nro_s("k8s.node.memory.available"), nro_s("By"), NRO_MT_GAUGE,
			       value, 0, 2, two_attrs};
	CHECK(nro_enc_metric(e, &m) == 0);
	m.name = nro_s("container_cpu_usage_seconds_total");
	m.type = NRO_MT_COUNTER;
	m.ts_ms = 1764104400000LL;
	m.nattrs = 0;
	m.attrs = NULL;
	CHECK(nro_enc_metric(e, &m) == 0);
	return nro_enc_finish(e);
}

TEST(metric_round_trip)
{
	struct nro_enc e;
	nro_enc_init(&e, 0);
	size_t len = encode_metric(&e, 15850561536.0);
	CHECK(len > NRO_HDR_FIXED);
	struct nro_msg m;
	const char *why = NULL;
	CHECK(nro_decode(&m, e.buf, len, &why) == 0);
	CHECK(why == NULL);
	CHECK(m.hdr.kind == NRO_KIND_METRIC);
	CHECK(m.hdr.version == 1);
	CHECK(m.hdr.count == 2);
	CHECK(m.hdr.seq == 7);
	CHECK(m.hdr.ts_ms == 1764104400123LL);
	STR_IS(m.hdr.source, "collector-summary");
	STR_IS(m.hdr.node, "n1");
	struct nro_metric x;
	CHECK(nro_next_metric(&m, &x) == 1);
	STR_IS(x.name, "k8s.node.memory.available");
	STR_IS(x.unit, "By");
	CHECK(x.type == NRO_MT_GAUGE);
	CHECK(x.value == 15850561536.0);
	CHECK(x.ts_ms == 0);
	CHECK(x.nattrs == 2);
	STR_IS(x.attrs[1].key, "k8s.pod.name");
	STR_IS(x.attrs[1].value, "web-0 \"quoted\"");
	CHECK(nro_next_metric(&m, &x) == 1);
	STR_IS(x.name, "container_cpu_usage_seconds_total");
	CHECK(x.type == NRO_MT_COUNTER);
	CHECK(x.ts_ms == 1764104400000LL);
	CHECK(x.nattrs == 0);
	CHECK(nro_next_metric(&m, &x) == 0);
	/* a kind mismatch reads nothing */
	struct nro_event ev;
	CHECK(nro_decode(&m, e.buf, len, &why) == 0);
	CHECK(nro_next_event(&m, &ev) == 0);
	nro_enc_free(&e);
}

TEST(metric_values_nan_inf_allowed)
{
	struct nro_enc e;
	nro_enc_init(&e, 0);
	double vals[] = {NAN, INFINITY, -INFINITY, -0.0, 1e-300};
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		size_t len = encode_metric(&e, vals[i]);
		struct nro_msg m;
		CHECK(nro_decode(&m, e.buf, len, NULL) == 0);
		struct nro_metric x;
		CHECK(nro_next_metric(&m, &x) == 1);
		if (isnan(vals[i]))
			CHECK(isnan(x.value));
		else
			CHECK(x.value == vals[i] && signbit(x.value) == signbit(vals[i]));
	}
	nro_enc_free(&e);
}

TEST(seq_accessors_read_and_rewrite_the_header)
{
	struct nro_enc e;
	nro_enc_init(&e, 0);
	size_t len = encode_metric(&e, 1.0);
	uint64_t seq = 0;
	CHECK(nro_record_seq(e.buf, len, &seq) == 0 && seq == 7);
	CHECK(nro_record_set_seq(e.buf, len, 0x0102030405060708ULL) == 0);
	struct nro_msg m;
	const char *why = NULL;
	CHECK(nro_decode(&m, e.buf, len, &why) == 0);
	CHECK(m.hdr.seq == 0x0102030405060708ULL);
	CHECK(nro_record_seq(e.buf, NRO_HDR_FIXED - 1, &seq) == -1);
	CHECK(nro_record_set_seq(e.buf, NRO_HDR_FIXED - 1, 1) == -1);
	nro_enc_free(&e);
}

TEST(state_round_trip)
{
	init_attrs();
	struct nro_enc e;
	nro_enc_init(&e, 0);
	nro_enc_begin(&e, NRO_KIND_STATE, 1, 1000, "collector-pods", "n1");
	struct nro_state s = {{NRO_OBJ_CONTAINER, nro_s("ns"), nro_s("p"), nro_s("c"), nro_s("")},
			      nro_s("container.waiting.reason"),
			      nro_s("CrashLoopBackOff"),
			      5,
			      1764104400000LL,
			      1,
			      two_attrs};
	CHECK(nro_enc_state(&e, &s) == 0);
	size_t len = nro_enc_finish(&e);
	struct nro_msg m;
	CHECK(nro_decode(&m, e.buf, len, NULL) == 0);
	struct nro_state x;
	CHECK(nro_next_state(&m, &x) == 1);
	CHECK(x.object.kind == NRO_OBJ_CONTAINER);
	STR_IS(x.object.namespace_, "ns");
	STR_IS(x.object.pod, "p");
	STR_IS(x.object.container, "c");
	STR_IS(x.object.name, "");
	STR_IS(x.key, "container.waiting.reason");
	STR_IS(x.value, "CrashLoopBackOff");
	CHECK(x.num == 5);
	CHECK(x.since_ms == 1764104400000LL);
	CHECK(x.nattrs == 1);
	STR_IS(x.attrs[0].value, "n1");
	CHECK(nro_next_state(&m, &x) == 0);
	nro_enc_free(&e);
}

TEST(health_and_error_round_trip)
{
	struct nro_enc e;
	nro_enc_init(&e, 0);
	nro_enc_begin(&e, NRO_KIND_HEALTH, 3, 2000, "collector-healthz", "n1");
	struct nro_health h = {NRO_HEALTH_FAILED, 500, 10000, 1234, 99, nro_s("/healthz"),
			       nro_s("[-]syncloop failed")};
	CHECK(nro_enc_health(&e, &h) == 0);
	size_t len = nro_enc_finish(&e);
	struct nro_msg m;
	CHECK(nro_decode(&m, e.buf, len, NULL) == 0);
	struct nro_health hx;
	CHECK(nro_next_health(&m, &hx) == 1);
	CHECK(hx.status == NRO_HEALTH_FAILED && hx.http_status == 500);
	CHECK(hx.interval_ms == 10000 && hx.duration_us == 1234 && hx.bytes == 99);
	STR_IS(hx.target, "/healthz");
	STR_IS(hx.message, "[-]syncloop failed");

	nro_enc_begin(&e, NRO_KIND_ERROR, 4, 3000, "collector-pods", "n1");
	struct nro_error x = {NRO_ERR_AUTH, 403, nro_s("/pods"), nro_s("lacks nodes/proxy")};
	CHECK(nro_enc_error(&e, &x) == 0);
	len = nro_enc_finish(&e);
	CHECK(nro_decode(&m, e.buf, len, NULL) == 0);
	struct nro_error xx;
	CHECK(nro_next_error(&m, &xx) == 1);
	CHECK(xx.code == NRO_ERR_AUTH && xx.http_status == 403);
	STR_IS(xx.target, "/pods");
	STR_IS(xx.message, "lacks nodes/proxy");
	nro_enc_free(&e);
}

static size_t encode_event(struct nro_enc *e)
{
	init_attrs();
	nro_enc_begin(e, NRO_KIND_EVENT, 42, 5000, "analyzer", "n1");
	struct nro_event v = {nro_s("PodCrashLooping"),
			      NRO_SEV_WARNING,
			      NRO_EV_FIRING,
			      NRO_EVF_VALUE | NRO_EVF_THRESHOLD,
			      {NRO_OBJ_CONTAINER, nro_s("ns"), nro_s("p"), nro_s("c"), nro_s("")},
			      5,
			      3,
			      4000,
			      nro_s("container c of ns/p is in CrashLoopBackOff"),
			      2,
			      two_attrs};
	CHECK(nro_enc_event(e, &v) == 0);
	return nro_enc_finish(e);
}

TEST(event_round_trip)
{
	struct nro_enc e;
	nro_enc_init(&e, 0);
	size_t len = encode_event(&e);
	struct nro_msg m;
	CHECK(nro_decode(&m, e.buf, len, NULL) == 0);
	CHECK(m.hdr.seq == 42);
	struct nro_event v;
	CHECK(nro_next_event(&m, &v) == 1);
	STR_IS(v.type, "PodCrashLooping");
	CHECK(v.severity == NRO_SEV_WARNING && v.state == NRO_EV_FIRING);
	CHECK(v.flags == (NRO_EVF_VALUE | NRO_EVF_THRESHOLD));
	CHECK(v.value == 5 && v.threshold == 3 && v.since_ms == 4000);
	STR_IS(v.object.pod, "p");
	STR_IS(v.message, "container c of ns/p is in CrashLoopBackOff");
	CHECK(v.nattrs == 2);
	nro_enc_free(&e);
}

TEST(encoder_refuses_bad_entries)
{
	struct nro_enc e;
	nro_enc_init(&e, 0);
	nro_enc_begin(&e, NRO_KIND_EVENT, 1, 1, "a", "n");
	struct nro_event v = {nro_s("X"), 0, 0, 0, {0, {"", 0}, {"", 0}, {"", 0}, {"", 0}},
			      NAN, 0, 0, nro_s(""), 0, NULL};
	CHECK(nro_enc_event(&e, &v) == -1); /* NaN value */
	v.value = 0;
	v.flags = 0x80;
	CHECK(nro_enc_event(&e, &v) == -1); /* unknown flag */
	v.flags = 0;
	v.severity = 9;
	CHECK(nro_enc_event(&e, &v) == -1);
	v.severity = 0;
	v.type = nro_s("");
	CHECK(nro_enc_event(&e, &v) == -1); /* empty type */
	v.type = nro_s("X");
	CHECK(nro_enc_event(&e, &v) == 0);
	struct nro_metric mt = {nro_s("m"), nro_s(""), 0, 1, 0, 0, NULL};
	CHECK(nro_enc_metric(&e, &mt) == -1); /* wrong kind for this message */
	struct nro_str nul = {"a\0b", 3};
	v.message = nul;
	CHECK(nro_enc_event(&e, &v) == -1); /* NUL inside a string */
	size_t len = nro_enc_finish(&e);
	struct nro_msg m;
	CHECK(nro_decode(&m, e.buf, len, NULL) == 0);
	CHECK(m.hdr.count == 1);
	nro_enc_free(&e);
}

TEST(encoder_cap_keeps_message_valid)
{
	struct nro_enc e;
	nro_enc_init(&e, 200);
	size_t n = 0;
	nro_enc_begin(&e, NRO_KIND_METRIC, 1, 1, "src", "node");
	struct nro_metric mt = {nro_s("some_metric_name"), nro_s("1"), 0, 1, 0, 0, NULL};
	while (nro_enc_metric(&e, &mt) == 0)
		n++;
	CHECK(n > 0 && n < 20);
	CHECK(nro_enc_size(&e) <= 200);
	size_t len = nro_enc_finish(&e);
	struct nro_msg m;
	CHECK(nro_decode(&m, e.buf, len, NULL) == 0);
	CHECK(m.hdr.count == n);
	nro_enc_free(&e);
}

/* Decodes buf with one byte changed at off; the decoder must answer, not crash. */
static int decode_with(const uint8_t *buf, size_t len, size_t off, uint8_t val, const char **why)
{
	uint8_t *copy = malloc(len);
	memcpy(copy, buf, len);
	copy[off] = val;
	struct nro_msg m;
	int r = nro_decode(&m, copy, len, why);
	if (r == 0) { /* walking the entries must stay in bounds too */
		struct nro_event v;
		while (nro_next_event(&m, &v))
			;
	}
	free(copy);
	return r;
}

TEST(decoder_rejects_malformed)
{
	struct nro_enc e;
	nro_enc_init(&e, 0);
	size_t len = encode_event(&e);
	const uint8_t *b = e.buf;
	const char *why = NULL;
	struct nro_msg m;

	CHECK(decode_with(b, len, 1, 'X', &why) == -1 && strstr(why, "magic"));
	CHECK(decode_with(b, len, 4, 2, &why) == -1 && strstr(why, "version"));
	CHECK(decode_with(b, len, 0, 'Q', &why) == -1 && strstr(why, "kind"));
	CHECK(decode_with(b, len, 5, 1, &why) == -1 && strstr(why, "flags"));
	/* count says 200 entries */
	CHECK(decode_with(b, len, 9, 200, &why) == -1 && strstr(why, "count"));
	/* count says 2 entries: the second runs off the end */
	CHECK(decode_with(b, len, 9, 2, &why) == -1);
	/* count says 0: the entry becomes trailing garbage */
	CHECK(decode_with(b, len, 9, 0, &why) == -1 && strstr(why, "trailing"));
	/* source string length 0xff.. runs past the end */
	CHECK(decode_with(b, len, 26, 0xff, &why) == -1 && strstr(why, "past the end"));
	/* a NUL byte inside the source string */
	CHECK(decode_with(b, len, 28, 0, &why) == -1 && strstr(why, "NUL"));
	/* every truncation is refused */
	int all_refused = 1;
	for (size_t cut = 0; cut < len; cut++)
		if (nro_decode(&m, b, cut, &why) == 0 || !why)
			all_refused = 0;
	CHECK(all_refused);
	/* one extra byte is refused */
	uint8_t *longer = calloc(1, len + 1);
	memcpy(longer, b, len);
	CHECK(nro_decode(&m, longer, len + 1, &why) == -1 && strstr(why, "trailing"));
	free(longer);
	CHECK(nro_decode(&m, NULL, 0, &why) == -1);
	nro_enc_free(&e);
}

/* Finds the offset of the first byte after the header of an event message. */
static size_t entry_offset(const uint8_t *b)
{
	size_t off = NRO_HDR_FIXED;
	off += 2 + (size_t)(b[off] << 8 | b[off + 1]);
	off += 2 + (size_t)(b[off] << 8 | b[off + 1]);
	return off;
}

TEST(decoder_range_checks_event_fields)
{
	struct nro_enc e;
	nro_enc_init(&e, 0);
	size_t len = encode_event(&e);
	const char *why = NULL;
	size_t ent = entry_offset(e.buf);
	size_t type_len = (size_t)(e.buf[ent] << 8 | e.buf[ent + 1]);
	size_t sev = ent + 2 + type_len;
	CHECK(decode_with(e.buf, len, sev, 3, &why) == -1 && strstr(why, "severity"));
	CHECK(decode_with(e.buf, len, sev + 1, 2, &why) == -1 && strstr(why, "state"));
	CHECK(decode_with(e.buf, len, sev + 2, 8, &why) == -1 && strstr(why, "flags"));
	CHECK(decode_with(e.buf, len, sev + 2, NRO_EVF_KNOWN, &why) == 0); /* bit 2: active */
	CHECK(decode_with(e.buf, len, sev + 3, 9, &why) == -1 && strstr(why, "object"));
	/* value: the f64 after the object (kind + 4 strings: ns, p, c, "") */
	size_t obj = sev + 3;
	size_t val = obj + 1 + (2 + 2) + (2 + 1) + (2 + 1) + 2;
	uint8_t *copy = malloc(len);
	memcpy(copy, e.buf, len);
	uint64_t nan_bits = 0x7ff8000000000000ULL;
	for (int i = 0; i < 8; i++)
		copy[val + (size_t)i] = (uint8_t)(nan_bits >> ((7 - i) * 8));
	struct nro_msg m;
	CHECK(nro_decode(&m, copy, len, &why) == -1 && strstr(why, "NaN"));
	/* +Inf threshold */
	memcpy(copy, e.buf, len);
	uint64_t inf_bits = 0x7ff0000000000000ULL;
	for (int i = 0; i < 8; i++)
		copy[val + 8 + (size_t)i] = (uint8_t)(inf_bits >> ((7 - i) * 8));
	CHECK(nro_decode(&m, copy, len, &why) == -1 && strstr(why, "infinite"));
	/* since_ms negative */
	memcpy(copy, e.buf, len);
	copy[val + 16] = 0xff;
	CHECK(nro_decode(&m, copy, len, &why) == -1 && strstr(why, "timestamp"));
	free(copy);
	nro_enc_free(&e);
}

TEST(decoder_survives_every_single_byte_mutation)
{
	struct nro_enc e;
	nro_enc_init(&e, 0);
	size_t len = encode_event(&e);
	const char *why;
	int answered = 1;
	for (size_t off = 0; off < len; off++)
		for (int v = 0; v < 256; v += 17) {
			int r = decode_with(e.buf, len, off, (uint8_t)v, &why);
			if (r != 0 && r != -1)
				answered = 0;
			if (r == -1 && !why)
				answered = 0;
		}
	CHECK(answered);
	nro_enc_free(&e);
}

TEST(too_many_attrs_refused)
{
	struct nro_attr many[NRO_ATTRS_MAX + 1];
	for (int i = 0; i < NRO_ATTRS_MAX + 1; i++) {
		many[i].key = nro_s("k");
		many[i].value = nro_s("v");
	}
	struct nro_enc e;
	nro_enc_init(&e, 0);
	nro_enc_begin(&e, NRO_KIND_METRIC, 1, 1, "s", "n");
	struct nro_metric mt = {nro_s("m"), nro_s(""), 0, 1, 0, NRO_ATTRS_MAX + 1, many};
	CHECK(nro_enc_metric(&e, &mt) == -1);
	mt.nattrs = NRO_ATTRS_MAX;
	CHECK(nro_enc_metric(&e, &mt) == 0);
	size_t len = nro_enc_finish(&e);
	struct nro_msg m;
	const char *why;
	CHECK(nro_decode(&m, e.buf, len, &why) == 0);
	/* bump the attr count to 65 on the wire */
	size_t at = len - (size_t)NRO_ATTRS_MAX * 6 - 2;
	CHECK(e.buf[at] == 0 && e.buf[at + 1] == NRO_ATTRS_MAX);
	e.buf[at + 1] = NRO_ATTRS_MAX + 1;
	CHECK(nro_decode(&m, e.buf, len, &why) == -1 && strstr(why, "attributes"));
	nro_enc_free(&e);
}

TEST(names)
{
	CHECK_STR(nro_kind_name('E'), "event");
	CHECK_STR(nro_kind_name('?'), "unknown");
	CHECK_STR(nro_object_kind_name(NRO_OBJ_POD), "Pod");
	CHECK_STR(nro_object_kind_name(77), "unknown");
	CHECK_STR(nro_error_name(NRO_ERR_TOO_LARGE), "too_large");
	CHECK(nro_object_kind_parse("Container") == NRO_OBJ_CONTAINER);
	CHECK(nro_object_kind_parse("Nope") == -1);
	CHECK(nro_severity_parse("critical") == NRO_SEV_CRITICAL);
	char b[8];
	str_of(nro_s("abc"), b, sizeof b);
	CHECK_STR(b, "abc");
}

/* --sample: writes one framed record of every kind to stdout, for the shell
 * tests that feed nro-dump and the independent Python decoder. */
static void put_framed(const uint8_t *b, size_t len)
{
	uint8_t hdr[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
			  (uint8_t)len};
	fwrite(hdr, 1, 4, stdout);
	fwrite(b, 1, len, stdout);
}

static int write_sample(void)
{
	struct nro_enc e;
	nro_enc_init(&e, 0);
	put_framed(e.buf, encode_metric(&e, 15850561536.0));
	put_framed(e.buf, encode_metric(&e, NAN));
	put_framed(e.buf, encode_event(&e));
	nro_enc_begin(&e, NRO_KIND_STATE, 9, 1764104400000LL, "collector-pods", "n1");
	struct nro_state s = {{NRO_OBJ_POD, nro_s("kube-system"), nro_s("coredns-1"), nro_s(""),
			       nro_s("")},
			      nro_s("pod.phase"),
			      nro_s("Running"),
			      2,
			      1764104300000LL,
			      0,
			      NULL};
	nro_enc_state(&e, &s);
	put_framed(e.buf, nro_enc_finish(&e));
	nro_enc_begin(&e, NRO_KIND_HEALTH, 10, 1764104400001LL, "collector-healthz", "n1");
	struct nro_health h = {NRO_HEALTH_DEGRADED, 500, 10000, 1500, 61, nro_s("/healthz"),
			       nro_s("syncloop failing")};
	nro_enc_health(&e, &h);
	put_framed(e.buf, nro_enc_finish(&e));
	nro_enc_begin(&e, NRO_KIND_ERROR, 11, 1764104400002LL, "collector-summary", "n1");
	struct nro_error x = {NRO_ERR_TIMEOUT, 0, nro_s("/stats/summary"),
			      nro_s("timed out after 5000 ms")};
	nro_enc_error(&e, &x);
	put_framed(e.buf, nro_enc_finish(&e));
	nro_enc_free(&e);
	return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--sample") == 0)
		return write_sample();
	RUN(metric_round_trip);
	RUN(metric_values_nan_inf_allowed);
	RUN(state_round_trip);
	RUN(health_and_error_round_trip);
	RUN(event_round_trip);
	RUN(encoder_refuses_bad_entries);
	RUN(encoder_cap_keeps_message_valid);
	RUN(decoder_rejects_malformed);
	RUN(decoder_range_checks_event_fields);
	RUN(decoder_survives_every_single_byte_mutation);
	RUN(too_many_attrs_refused);
	RUN(names);
	RUN(seq_accessors_read_and_rewrite_the_header);
	return testing_done();
}
