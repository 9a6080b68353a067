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
	CHECK(m.hdr.version == NRO_WIRE_VERSION);
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

static size_t encode_event_with(struct nro_enc *e, double value, double threshold)
{
	init_attrs();
	nro_enc_begin(e, NRO_KIND_EVENT, 42, 5000, "analyzer", "n1");
	struct nro_event v = {nro_s("PodCrashLooping"),
			      NRO_SEV_WARNING,
			      NRO_EV_FIRING,
			      NRO_EVF_VALUE | NRO_EVF_THRESHOLD,
			      {NRO_OBJ_CONTAINER, nro_s("ns"), nro_s("p"), nro_s("c"), nro_s("")},
			      value,
			      threshold,
			      4000,
			      nro_s("container c of ns/p is in CrashLoopBackOff"),
			      2,
			      two_attrs};
	CHECK(nro_enc_event(e, &v) == 0);
	return nro_enc_finish(e);
}

static size_t encode_event(struct nro_enc *e)
{
	return encode_event_with(e, 5, 3);
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
	/* every entry adds a string: the refused one must leave none behind */
	char val[16];
	struct nro_attr a = {nro_s("i"), {val, 0}};
	struct nro_metric mt = {nro_s("some_metric_name"), nro_s("1"), 0, 1, 0, 1, &a};
	for (;;) {
		a.value.len = (uint16_t)snprintf(val, sizeof val, "v%zu", n);
		if (nro_enc_metric(&e, &mt) != 0)
			break;
		n++;
	}
	CHECK(n > 0 && n < 40);
	CHECK(nro_enc_size(&e) <= 200);
	size_t len = nro_enc_finish(&e);
	CHECK(len == nro_enc_size(&e));
	struct nro_msg m;
	CHECK(nro_decode(&m, e.buf, len, NULL) == 0);
	CHECK(m.hdr.count == n);
	CHECK(m.nstr == 2 + 3 + n); /* source, node, name, unit, "i", one value each */
	struct nro_metric out;
	size_t i = 0;
	while (nro_next_metric(&m, &out)) {
		a.value.len = (uint16_t)snprintf(val, sizeof val, "v%zu", i++);
		CHECK(out.nattrs == 1 && out.attrs[0].value.len == a.value.len &&
		      memcmp(out.attrs[0].value.p, val, a.value.len) == 0);
	}
	CHECK(i == n);
	nro_enc_free(&e);
}

/* The offset of the first entry of a version 2 message: after the header,
 * the string table's size (one byte here), end offsets and bytes. */
static size_t entry_offset(const uint8_t *b)
{
	size_t n = b[NRO_HDR_FIXED], last = NRO_HDR_FIXED + 1 + 4 * (n - 1);
	size_t blob = (size_t)b[last] << 24 | (size_t)b[last + 1] << 16 | (size_t)b[last + 2] << 8 |
		      b[last + 3];
	return NRO_HDR_FIXED + 1 + 4 * n + blob;
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
	CHECK(decode_with(b, len, 4, 3, &why) == -1 && strstr(why, "version"));
	CHECK(decode_with(b, len, 0, 'Q', &why) == -1 && strstr(why, "kind"));
	CHECK(decode_with(b, len, 5, 1, &why) == -1 && strstr(why, "flags"));
	/* count says 200 entries */
	CHECK(decode_with(b, len, 9, 200, &why) == -1 && strstr(why, "count"));
	/* count says 2 entries: the second runs off the end */
	CHECK(decode_with(b, len, 9, 2, &why) == -1);
	/* count says 0: the entry becomes trailing garbage */
	CHECK(decode_with(b, len, 9, 0, &why) == -1 && strstr(why, "trailing"));
	/* the string table: more strings than the message can hold, fewer
	 * than source + node, an end offset out of order, a NUL byte */
	size_t nstr = b[NRO_HDR_FIXED];
	CHECK(nstr >= 2 && nstr < 128);
	CHECK(decode_with(b, len, NRO_HDR_FIXED, 0x7f, &why) == -1 && strstr(why, "table"));
	CHECK(decode_with(b, len, NRO_HDR_FIXED, 1, &why) == -1 && strstr(why, "table"));
	CHECK(decode_with(b, len, NRO_HDR_FIXED + 1, 0xff, &why) == -1 && strstr(why, "order"));
	size_t blob = NRO_HDR_FIXED + 1 + 4 * nstr;
	CHECK(decode_with(b, len, blob + 1, 0, &why) == -1 && strstr(why, "NUL"));
	/* the last string's end past the message */
	CHECK(decode_with(b, len, blob - 2, 0xff, &why) == -1 && strstr(why, "past the end"));
	/* the event's type refers past the table */
	CHECK(decode_with(b, len, entry_offset(b), 0x7f, &why) == -1 && strstr(why, "index"));
	/* a varint that never ends in the message */
	CHECK(decode_with(b, len, len - 1, 0x80, &why) == -1 && strstr(why, "truncated"));
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

TEST(decoder_range_checks_event_fields)
{
	struct nro_enc e;
	nro_enc_init(&e, 0);
	/* values that need binary64 on the wire, so they can be overwritten */
	size_t len = encode_event_with(&e, 0.1, 0.3);
	const char *why = NULL;
	size_t ent = entry_offset(e.buf);
	size_t sev = ent + 1; /* after the type's one-byte index */
	CHECK(decode_with(e.buf, len, sev, 3, &why) == -1 && strstr(why, "severity"));
	CHECK(decode_with(e.buf, len, sev + 1, 2, &why) == -1 && strstr(why, "state"));
	CHECK(decode_with(e.buf, len, sev + 2, 8, &why) == -1 && strstr(why, "flags"));
	CHECK(decode_with(e.buf, len, sev + 2, NRO_EVF_KNOWN, &why) == 0); /* bit 2: active */
	CHECK(decode_with(e.buf, len, sev + 3, 9, &why) == -1 && strstr(why, "object"));
	/* value: form byte + binary64 after the object (kind + 4 indexes) */
	size_t val = sev + 3 + 1 + 4;
	CHECK(e.buf[val] == NRO_NUM_F64 && e.buf[val + 9] == NRO_NUM_F64);
	CHECK(decode_with(e.buf, len, val, 9, &why) == -1 && strstr(why, "form"));
	uint8_t *copy = malloc(len);
	memcpy(copy, e.buf, len);
	uint64_t nan_bits = 0x7ff8000000000000ULL;
	for (int i = 0; i < 8; i++)
		copy[val + 1 + (size_t)i] = (uint8_t)(nan_bits >> ((7 - i) * 8));
	struct nro_msg m;
	CHECK(nro_decode(&m, copy, len, &why) == -1 && strstr(why, "NaN"));
	/* +Inf threshold */
	memcpy(copy, e.buf, len);
	uint64_t inf_bits = 0x7ff0000000000000ULL;
	for (int i = 0; i < 8; i++)
		copy[val + 10 + (size_t)i] = (uint8_t)(inf_bits >> ((7 - i) * 8));
	CHECK(nro_decode(&m, copy, len, &why) == -1 && strstr(why, "infinite"));
	free(copy);
	nro_enc_free(&e);
}

/* A since past 9999-12-31 and integer forms out of range are refused. */
TEST(decoder_range_checks_numbers)
{
	struct nro_enc e;
	nro_enc_init(&e, 0);
	nro_enc_begin(&e, NRO_KIND_STATE, 1, 0, "s", "n");
	struct nro_state st = {{NRO_OBJ_NODE, {"", 0}, {"", 0}, {"", 0}, nro_s("n")},
			       nro_s("k"), nro_s("v"), 2, 253402300799999LL, 0, NULL};
	CHECK(nro_enc_state(&e, &st) == 0);
	size_t len = nro_enc_finish(&e);
	const char *why = NULL;
	/* since is the last varint but for the attribute count: 7 bytes, the
	 * top one 253402300799999 >> 42 = 57 */
	CHECK(e.buf[len - 2] == 57 && e.buf[len - 1] == 0);
	CHECK(decode_with(e.buf, len, len - 2, 58, &why) == -1 && strstr(why, "timestamp"));
	CHECK(decode_with(e.buf, len, len - 2, 0, &why) == -1 && strstr(why, "shortest"));
	/* num 2 is the positive-integer form 0x02 0x02: zero is not its form */
	CHECK(e.buf[len - 10] == NRO_NUM_POS && e.buf[len - 9] == 2);
	CHECK(decode_with(e.buf, len, len - 9, 0, &why) == -1 && strstr(why, "integer"));
	nro_enc_free(&e);
}

/* Every number form round-trips bit for bit (NaN, -0.0, Inf, integers, binary32). */
TEST(metric_number_forms_round_trip)
{
	const double vals[] = {0.0, -0.0, 1, -1, 9007199254740992.0, -9007199254740992.0,
			       9007199254740994.0, 0.5, 0.1, 1e300, INFINITY, -INFINITY, NAN,
			       123456.0, 3.25};
	size_t nv = sizeof vals / sizeof vals[0];
	struct nro_enc e;
	nro_enc_init(&e, 0);
	nro_enc_begin(&e, NRO_KIND_METRIC, 1, 1000, "s", "n");
	for (size_t i = 0; i < nv; i++) {
		struct nro_metric mt = {nro_s("m"), nro_s(""), NRO_MT_GAUGE, vals[i],
					i % 2 ? 999 : 0, 0, NULL};
		CHECK(nro_enc_metric(&e, &mt) == 0);
	}
	size_t len = nro_enc_finish(&e);
	struct nro_msg m;
	CHECK(nro_decode(&m, e.buf, len, NULL) == 0);
	struct nro_metric out;
	size_t i = 0;
	while (nro_next_metric(&m, &out)) {
		CHECK(memcmp(&out.value, &vals[i], sizeof out.value) == 0);
		CHECK(out.ts_ms == (i % 2 ? 999 : 0));
		i++;
	}
	CHECK(i == nv);
	nro_enc_free(&e);
}

/* The example of docs/wire-format.md's version 1 section, byte for byte:
 * version 1 messages still decode, and every truncation is refused. */
static const uint8_t v1_example[] = {
	0x4d, 0x4e, 0x52, 0x4f, 0x01, 0x00, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7,
	0x00, 0x00, 0x01, 0x9a, 0xbc, 0xd0, 0xec, 0xfb, 0x00, 0x11, 'c', 'o', 'l', 'l', 'e', 'c',
	't', 'o', 'r', '-', 's', 'u', 'm', 'm', 'a', 'r', 'y', 0x00, 0x02, 'n', '1', 0x00, 0x19,
	'k', '8', 's', '.', 'n', 'o', 'd', 'e', '.', 'm', 'e', 'm', 'o', 'r', 'y', '.', 'a', 'v',
	'a', 'i', 'l', 'a', 'b', 'l', 'e', 0x00, 0x02, 'B', 'y', 0x00, 0x42, 0x0d, 0x86, 0x23, 0x00,
	0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x01, 0x00, 0x0d, 'k', '8', 's', '.', 'n',
	'o', 'd', 'e', '.', 'n', 'a', 'm', 'e', 0x00, 0x02, 'n', '1'};

TEST(version_1_still_decodes)
{
	struct nro_msg m;
	const char *why = NULL;
	CHECK(nro_decode(&m, v1_example, sizeof v1_example, &why) == 0);
	CHECK(m.hdr.version == 1 && m.hdr.seq == 7 && m.hdr.ts_ms == 1764104400123LL);
	STR_IS(m.hdr.source, "collector-summary");
	STR_IS(m.hdr.node, "n1");
	struct nro_metric mt;
	CHECK(nro_next_metric(&m, &mt) == 1);
	STR_IS(mt.name, "k8s.node.memory.available");
	STR_IS(mt.unit, "By");
	CHECK(mt.value == 15850561536.0 && mt.ts_ms == 0 && mt.nattrs == 1);
	STR_IS(mt.attrs[0].key, "k8s.node.name");
	CHECK(nro_next_metric(&m, &mt) == 0);
	int all_refused = 1;
	for (size_t cut = 0; cut < sizeof v1_example; cut++)
		if (nro_decode(&m, v1_example, cut, &why) == 0 || !why)
			all_refused = 0;
	CHECK(all_refused);
	/* a string length past the end, a NUL in the source */
	CHECK(decode_with(v1_example, sizeof v1_example, 26, 0xff, &why) == -1 &&
	      strstr(why, "past the end"));
	CHECK(decode_with(v1_example, sizeof v1_example, 28, 0, &why) == -1 && strstr(why, "NUL"));
}

/* Every byte of buf changed to every 17th value: the decoder answers. */
static int survives_mutations(const uint8_t *buf, size_t len)
{
	const char *why;
	int answered = 1;
	for (size_t off = 0; off < len; off++)
		for (int v = 0; v < 256; v += 17) {
			int r = decode_with(buf, len, off, (uint8_t)v, &why);
			if (r != 0 && r != -1)
				answered = 0;
			if (r == -1 && !why)
				answered = 0;
		}
	return answered;
}

TEST(decoder_survives_every_single_byte_mutation)
{
	struct nro_enc e;
	nro_enc_init(&e, 0);
	size_t len = encode_event(&e);
	CHECK(survives_mutations(e.buf, len));
	len = encode_metric(&e, 15850561536.0);
	CHECK(survives_mutations(e.buf, len));
	struct nro_msg m;
	const char *why;
	int all_refused = 1;
	for (size_t cut = 0; cut < len; cut++)
		if (nro_decode(&m, e.buf, cut, &why) == 0 || !why)
			all_refused = 0;
	CHECK(all_refused);
	CHECK(survives_mutations(v1_example, sizeof v1_example));
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
	/* bump the attr count (a one-byte varint before 64 pairs of one-byte
	 * indexes) to 65 on the wire */
	size_t at = len - (size_t)NRO_ATTRS_MAX * 2 - 1;
	CHECK(e.buf[at] == NRO_ATTRS_MAX);
	/* above 64 the count is a back-reference: here to offset 62, which is
	 * not before the reference (the entry starts 4 bytes earlier) */
	e.buf[at] = 127;
	CHECK(nro_decode(&m, e.buf, len, &why) == -1 && strstr(why, "back-reference"));
	nro_enc_free(&e);
}

/* Source and node are strings 0 and 1 even when they are equal (a fuzz find). */
TEST(equal_source_and_node_keep_their_places)
{
	struct nro_enc e;
	nro_enc_init(&e, 0);
	nro_enc_begin(&e, NRO_KIND_ERROR, 1, 0, "", "");
	struct nro_error x = {0, 0, nro_s(""), nro_s("")};
	CHECK(nro_enc_error(&e, &x) == 0 && nro_enc_error(&e, &x) == 0);
	size_t len = nro_enc_finish(&e);
	struct nro_msg m;
	const char *why = NULL;
	CHECK(nro_decode(&m, e.buf, len, &why) == 0);
	CHECK(m.nstr == 2 && m.hdr.count == 2 && m.hdr.node.len == 0);
	nro_enc_free(&e);
}

/* A label set written twice in a message is written once and referred to. */
TEST(repeated_attrs_become_a_back_reference)
{
	struct nro_attr a[3] = {{nro_s("namespace"), nro_s("kube-system")},
				{nro_s("pod"), nro_s("coredns-1")},
				{nro_s("container"), nro_s("coredns")}};
	struct nro_enc e;
	nro_enc_init(&e, 0);
	nro_enc_begin(&e, NRO_KIND_METRIC, 1, 1, "s", "n");
	struct nro_metric mt = {nro_s("a"), nro_s(""), 0, 1, 0, 3, a};
	CHECK(nro_enc_metric(&e, &mt) == 0);
	size_t first = e.ent_len;
	mt.name = nro_s("b");
	CHECK(nro_enc_metric(&e, &mt) == 0);
	/* name, unit, head, value 1, then a 1-byte reference (65 + offset 4) */
	CHECK(e.ent_len - first == 5 && e.ent[e.ent_len - 1] == NRO_ATTRS_MAX + 1 + 4);
	mt.nattrs = 2; /* a different list is written out */
	CHECK(nro_enc_metric(&e, &mt) == 0);
	size_t len = nro_enc_finish(&e);
	struct nro_msg m;
	const char *why = NULL;
	CHECK(nro_decode(&m, e.buf, len, &why) == 0);
	struct nro_metric out;
	for (int i = 0; i < 3; i++) {
		CHECK(nro_next_metric(&m, &out) == 1);
		CHECK(out.nattrs == (i < 2 ? 3 : 2));
		STR_IS(out.attrs[0].value, "kube-system");
		STR_IS(out.attrs[1].key, "pod");
	}
	/* the reference may not point at another reference: make the third
	 * entry's list refer to the second's reference */
	uint8_t *copy = malloc(len);
	memcpy(copy, e.buf, len);
	size_t third = len - (1 + 1 + 1 + 1 + 1 + 4); /* name unit head value count pairs */
	CHECK(copy[third + 4] == 2);
	copy[third + 4] = NRO_ATTRS_MAX + 1 + (uint8_t)(first + 4);
	CHECK(nro_decode(&m, copy, len, &why) == -1 && strstr(why, "another reference"));
	free(copy);
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
	RUN(decoder_range_checks_numbers);
	RUN(metric_number_forms_round_trip);
	RUN(version_1_still_decodes);
	RUN(decoder_survives_every_single_byte_mutation);
	RUN(too_many_attrs_refused);
	RUN(repeated_attrs_become_a_back_reference);
	RUN(equal_source_and_node_keep_their_places);
	RUN(names);
	RUN(seq_accessors_read_and_rewrite_the_header);
	return testing_done();
}
