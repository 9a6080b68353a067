#include "parse/json.h"

#include <glob.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/testing.h"

#define FIXTURES_DEFAULT "../shared/fixtures"

static const char *fixtures(void)
{
	const char *e = getenv("NRO_FIXTURES");
	return e && *e ? e : FIXTURES_DEFAULT;
}

/* Runs a shell command and returns its first output line as a number
 * (a separate, independent reading of a fixture). -1 on failure. */
static long long shell_num(const char *cmd)
{
	FILE *f = popen(cmd, "r");
	char line[128];
	long long v = -1;
	if (!f)
		return -1;
	if (fgets(line, sizeof line, f)) {
		char *e;
		v = strtoll(line, &e, 10);
		if (e == line)
			v = -1;
	}
	if (pclose(f) != 0)
		v = -1;
	return v;
}

static int parse(struct nro_json *j, const char *s, const char **why)
{
	return nro_json_parse(j, s, strlen(s), why);
}

static const char doc[] =
	"{\"name\":\"n1\",\"num\":42,\"neg\":-7,\"f\":1.5e3,\"t\":true,\"fa\":false,\"nul\":null,"
	"\"obj\":{\"a\":{\"deep\":[1,2,{\"x\":\"y\"}]},\"b\":[]},"
	"\"arr\":[10,[20,21],{\"k\":\"v\"},\"s\",30],"
	"\"esc\\\"key\":1,\"last\":\"end\"}";

TEST(parse_and_navigate)
{
	struct nro_json j;
	const char *why = NULL;
	nro_json_init(&j, 0);
	CHECK(parse(&j, doc, &why) == 0);
	CHECK(j.tok[0].type == JSMN_OBJECT);
	int i = nro_json_key(&j, 0, "name");
	CHECK(nro_json_eq(&j, i, "n1"));
	CHECK(!nro_json_eq(&j, i, "n"));
	CHECK(nro_json_key(&j, 0, "missing") == -1);
	CHECK(nro_json_key(&j, nro_json_key(&j, 0, "arr"), "x") == -1); /* not an object */
	CHECK(nro_json_key(&j, 0, "deep") == -1);                      /* not at top level */
	CHECK(nro_json_eq(&j, nro_json_key(&j, 0, "last"), "end"));
	CHECK(nro_json_key(&j, 0, "esc\"key") >= 0);                   /* escaped key decoded */
	CHECK(nro_json_eq(&j, nro_json_path(&j, 0, "obj.a.deep.2.x"), "y"));
	CHECK(nro_json_path(&j, 0, "obj.a.deep.3") == -1);
	CHECK(nro_json_path(&j, 0, "obj.a.deep.x") == -1);
	CHECK(nro_json_path(&j, 0, "obj.zz.deep") == -1);
	CHECK(nro_json_path(&j, 0, "name.x") == -1);
	CHECK(nro_json_path(&j, 0, "obj.b") >= 0);
	CHECK(nro_json_eq(&j, nro_json_path(&j, 0, "arr.2.k"), "v"));
	int arr = nro_json_key(&j, 0, "arr");
	CHECK(nro_json_eq(&j, nro_json_index(&j, arr, 0), "10"));
	CHECK(nro_json_eq(&j, nro_json_index(&j, arr, 3), "s"));
	CHECK(nro_json_eq(&j, nro_json_index(&j, arr, 4), "30"));
	CHECK(nro_json_index(&j, arr, 5) == -1);
	CHECK(nro_json_index(&j, arr, -1) == -1);
	CHECK(nro_json_index(&j, 0, 0) == -1); /* not an array */
	/* skip: subtree ends */
	int inner = nro_json_index(&j, arr, 1);
	CHECK(nro_json_skip(&j, inner) == nro_json_index(&j, arr, 2));
	CHECK(nro_json_skip(&j, 0) == (int)j.ntok);
	int objk = nro_json_key(&j, 0, "obj") - 1; /* the key token */
	CHECK(nro_json_eq(&j, objk, "obj"));
	CHECK(nro_json_eq(&j, nro_json_skip(&j, objk), "arr")); /* key skips its value */
	CHECK(nro_json_skip(&j, -1) == -1);
	CHECK(nro_json_skip(&j, (int)j.ntok) == -1);
	nro_json_free(&j);
}

TEST(iterate)
{
	struct nro_json j;
	nro_json_init(&j, 0);
	CHECK(parse(&j, doc, NULL) == 0);
	int arr = nro_json_key(&j, 0, "arr"), n = 0;
	const char *want[] = { "10", NULL, NULL, "s", "30" };
	for (int c = nro_json_first(&j, arr); c >= 0; c = nro_json_next(&j, arr, c)) {
		CHECK(n < 5);
		if (n < 5 && want[n])
			CHECK(nro_json_eq(&j, c, want[n]));
		n++;
	}
	CHECK(n == 5);
	/* object: c is the key, c + 1 the value */
	const char *keys[] = { "name", "num", "neg", "f", "t", "fa", "nul", "obj", "arr", "esc\\\"key", "last" };
	n = 0;
	for (int c = nro_json_first(&j, 0); c >= 0; c = nro_json_next(&j, 0, c)) {
		CHECK(n < 11);
		if (n < 11)
			CHECK(nro_json_eq(&j, c, keys[n]));
		n++;
	}
	CHECK(n == 11);
	CHECK(nro_json_first(&j, nro_json_path(&j, 0, "obj.b")) == -1); /* empty */
	CHECK(nro_json_first(&j, nro_json_key(&j, 0, "num")) == -1);    /* scalar */
	CHECK(nro_json_next(&j, -1, 1) == -1);
	nro_json_free(&j);
}

TEST(scalars)
{
	struct nro_json j;
	int64_t i;
	uint64_t u;
	double d;
	int b;
	nro_json_init(&j, 0);
	CHECK(parse(&j, doc, NULL) == 0);
	CHECK(nro_json_i64(&j, nro_json_key(&j, 0, "num"), &i) == 0 && i == 42);
	CHECK(nro_json_i64(&j, nro_json_key(&j, 0, "neg"), &i) == 0 && i == -7);
	CHECK(nro_json_u64(&j, nro_json_key(&j, 0, "num"), &u) == 0 && u == 42);
	CHECK(nro_json_u64(&j, nro_json_key(&j, 0, "neg"), &u) == -1);
	CHECK(nro_json_i64(&j, nro_json_key(&j, 0, "f"), &i) == -1); /* exponent */
	CHECK(nro_json_f64(&j, nro_json_key(&j, 0, "f"), &d) == 0 && d == 1500.0);
	CHECK(nro_json_f64(&j, nro_json_key(&j, 0, "num"), &d) == 0 && d == 42.0);
	CHECK(nro_json_f64(&j, nro_json_key(&j, 0, "name"), &d) == -1); /* a string */
	CHECK(nro_json_i64(&j, nro_json_key(&j, 0, "name"), &i) == -1);
	CHECK(nro_json_bool(&j, nro_json_key(&j, 0, "t"), &b) == 0 && b == 1);
	CHECK(nro_json_bool(&j, nro_json_key(&j, 0, "fa"), &b) == 0 && b == 0);
	CHECK(nro_json_bool(&j, nro_json_key(&j, 0, "nul"), &b) == -1);
	CHECK(nro_json_bool(&j, nro_json_key(&j, 0, "name"), &b) == -1);
	CHECK(nro_json_is_null(&j, nro_json_key(&j, 0, "nul")));
	CHECK(!nro_json_is_null(&j, nro_json_key(&j, 0, "t")));
	CHECK(!nro_json_is_null(&j, -1));
	CHECK(nro_json_i64(&j, -1, &i) == -1);
	nro_json_free(&j);
}

TEST(integers_exact_and_range_checked)
{
	struct nro_json j;
	int64_t i;
	uint64_t u;
	double d;
	nro_json_init(&j, 0);
	CHECK(parse(&j, "[9223372036854775807,-9223372036854775808,9223372036854775808,"
			"-9223372036854775809,18446744073709551615,18446744073709551616,"
			"1.0,1e3,-0,0,123456789012345678901234567890,1e999,-1e999,1e-400]",
		    NULL) == 0);
	CHECK(nro_json_i64(&j, nro_json_index(&j, 0, 0), &i) == 0 && i == INT64_MAX);
	CHECK(nro_json_i64(&j, nro_json_index(&j, 0, 1), &i) == 0 && i == INT64_MIN);
	CHECK(nro_json_i64(&j, nro_json_index(&j, 0, 2), &i) == -1);
	CHECK(nro_json_u64(&j, nro_json_index(&j, 0, 2), &u) == 0 && u == (uint64_t)INT64_MAX + 1);
	CHECK(nro_json_i64(&j, nro_json_index(&j, 0, 3), &i) == -1);
	CHECK(nro_json_u64(&j, nro_json_index(&j, 0, 4), &u) == 0 && u == UINT64_MAX);
	CHECK(nro_json_i64(&j, nro_json_index(&j, 0, 4), &i) == -1);
	CHECK(nro_json_u64(&j, nro_json_index(&j, 0, 5), &u) == -1);
	CHECK(nro_json_i64(&j, nro_json_index(&j, 0, 6), &i) == -1); /* fraction */
	CHECK(nro_json_i64(&j, nro_json_index(&j, 0, 7), &i) == -1); /* exponent */
	CHECK(nro_json_u64(&j, nro_json_index(&j, 0, 7), &u) == -1);
	CHECK(nro_json_i64(&j, nro_json_index(&j, 0, 8), &i) == 0 && i == 0);
	CHECK(nro_json_u64(&j, nro_json_index(&j, 0, 8), &u) == -1);
	CHECK(nro_json_u64(&j, nro_json_index(&j, 0, 9), &u) == 0 && u == 0);
	CHECK(nro_json_i64(&j, nro_json_index(&j, 0, 10), &i) == -1);
	CHECK(nro_json_u64(&j, nro_json_index(&j, 0, 10), &u) == -1);
	CHECK(nro_json_f64(&j, nro_json_index(&j, 0, 10), &d) == 0 && d > 1.2e29 && d < 1.3e29);
	CHECK(nro_json_f64(&j, nro_json_index(&j, 0, 11), &d) == -1); /* not finite */
	CHECK(nro_json_f64(&j, nro_json_index(&j, 0, 12), &d) == -1);
	CHECK(nro_json_f64(&j, nro_json_index(&j, 0, 13), &d) == 0 && d >= 0 && d < 1e-300);
	CHECK(nro_json_f64(&j, nro_json_index(&j, 0, 1), &d) == 0 && d == -9223372036854775808.0);
	nro_json_free(&j);
}

TEST(strings_decode)
{
	struct nro_json j;
	char out[64];
	nro_json_init(&j, 0);
	CHECK(parse(&j,
		    "[\"plain\",\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\",\"\\u00e9\\u20AC\\u0041\","
		    "\"\\ud83d\\ude00\",\"\\ud83d\",\"\\ude00\",\"\\ud83dx\",\"\\ud83d\\u0041\","
		    "\"\\u0000\",\"tab\there\",\"\",\"0123456789\",\"\\ud83d\\n\",12]",
		    NULL) == 0);
	CHECK(nro_json_str(&j, nro_json_index(&j, 0, 0), out, sizeof out) == 5);
	CHECK_STR(out, "plain");
	CHECK(nro_json_str(&j, nro_json_index(&j, 0, 1), out, sizeof out) == 12);
	CHECK_STR(out, "a\"b\\c/d\b\f\n\r\t");
	CHECK(nro_json_str(&j, nro_json_index(&j, 0, 2), out, sizeof out) == 6);
	CHECK_STR(out, "\xc3\xa9\xe2\x82\xac" "A");
	CHECK(nro_json_str(&j, nro_json_index(&j, 0, 3), out, sizeof out) == 4);
	CHECK_STR(out, "\xf0\x9f\x98\x80");
	CHECK(nro_json_str(&j, nro_json_index(&j, 0, 4), out, sizeof out) == -1); /* lone high */
	CHECK(nro_json_str(&j, nro_json_index(&j, 0, 5), out, sizeof out) == -1); /* lone low */
	CHECK(nro_json_str(&j, nro_json_index(&j, 0, 6), out, sizeof out) == -1); /* high + char */
	CHECK(nro_json_str(&j, nro_json_index(&j, 0, 7), out, sizeof out) == -1); /* high + BMP */
	CHECK(nro_json_str(&j, nro_json_index(&j, 0, 8), out, sizeof out) == -1); /* NUL */
	CHECK(nro_json_str(&j, nro_json_index(&j, 0, 9), out, sizeof out) == -1); /* raw tab */
	CHECK(nro_json_str(&j, nro_json_index(&j, 0, 10), out, sizeof out) == 0);
	CHECK_STR(out, "");
	CHECK(nro_json_str(&j, nro_json_index(&j, 0, 11), out, 11) == 10); /* exact fit */
	CHECK(nro_json_str(&j, nro_json_index(&j, 0, 11), out, 10) == -1); /* one short */
	CHECK(nro_json_str(&j, nro_json_index(&j, 0, 11), out, 0) == -1);
	CHECK(nro_json_str(&j, nro_json_index(&j, 0, 12), out, sizeof out) == -1); /* bad low */
	CHECK(nro_json_str(&j, nro_json_index(&j, 0, 13), out, sizeof out) == -1); /* a number */
	CHECK(nro_json_str(&j, 0, out, sizeof out) == -1);                         /* an array */
	nro_json_free(&j);
	/* jsmn itself rejects unknown escapes */
	nro_json_init(&j, 0);
	CHECK(parse(&j, "[\"\\x41\"]", NULL) == -1);
	CHECK(parse(&j, "[\"\\u12G4\"]", NULL) == -1);
	CHECK(parse(&j, "[\"\\ud83d\\ude0\"]", NULL) == -1);
	CHECK(parse(&j, "[\"\\DBFF\"]", NULL) == -1);
	nro_json_free(&j);
}

TEST(valid_documents)
{
	static const char *ok[] = {
		"1", "-0.5e+10", "\"s\"", "true", "false", "null", "[]", "{}", " \t\r\n{ \"a\" : [ 1 , 2 ] } \n",
		"[[],[{}],{\"a\":{}}]", "{\"\":\"\"}", "[\"a\",{\"b\":null}]", "0", "[1E5,2e-3,0.0]",
	};
	struct nro_json j;
	nro_json_init(&j, 0);
	for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
		const char *why = NULL;
		int r = parse(&j, ok[k], &why);
		if (r != 0)
			fprintf(stderr, "rejected %s: %s\n", ok[k], why);
		CHECK(r == 0);
	}
	nro_json_free(&j);
}

TEST(malformed_documents)
{
	static const struct {
		const char *js, *why;
	} bad[] = {
		{ "", "empty" },
		{ "  \n ", "empty" },
		{ "{", "truncated" },
		{ "[1,2", "truncated" },
		{ "{\"a\":", "truncated" },
		{ "{\"a\":\"b", "truncated" },
		{ "\"abc", "truncated" },
		{ "{\"a\":[1,{\"b\":2}", "truncated" },
		{ "{\"a\" 1}", "invalid JSON" },
		{ "[1 2]", "invalid JSON" },
		{ "[1,]", "invalid JSON" },
		{ "[,1]", "invalid JSON" },
		{ "[1,,2]", "invalid JSON" },
		{ "{\"a\":1,}", "invalid JSON" },
		{ "{,\"a\":1}", "invalid JSON" },
		{ "{\"a\"::1}", "invalid JSON" },
		{ "{a:1}", "invalid JSON" },
		{ "[tru]", "invalid JSON" },
		{ "[nul]", "invalid JSON" },
		{ "[True]", "invalid JSON" },
		{ "[01]", "invalid JSON" },
		{ "{\"a\":\"x\",\"t\"}:\"y\"", "invalid JSON" }, /* jsmn hangs :"y" on the closed object */
		{ "[-]", "invalid JSON" },
		{ "[1.]", "invalid JSON" },
		{ "[.5]", "invalid JSON" },
		{ "[1e]", "invalid JSON" },
		{ "[+1]", "invalid JSON" },
		{ "[0x10]", "invalid JSON" },
		{ "1 2", "invalid JSON" },
		{ "{\"a\":1}x", "invalid JSON" },
		{ "{\"a\":1},", "invalid JSON" },
		{ "{} {}", "invalid JSON" },
		{ "[1]]", "invalid JSON" },
		{ "{]", "invalid JSON" },
		{ "[}", "invalid JSON" },
		{ "{\"a\":1:2}", "invalid JSON" },
		{ "[\"a\":1]", "invalid JSON" },
		{ "{\"a\"}", "invalid JSON" },
		{ "{\"a\":}", "invalid JSON" },
		{ "{\"a\":1 \"b\":2}", "invalid JSON" },
		{ "{1:2}", "invalid JSON" },
		{ "{[]:1}", "invalid JSON" },
		{ "[1]:", "invalid JSON" },
		{ "\x01", "invalid JSON" },
		{ "[\"\xff\x01\"]x", "invalid JSON" },
	};
	struct nro_json j;
	nro_json_init(&j, 0);
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		const char *why = NULL;
		int r = parse(&j, bad[k].js, &why);
		if (r != -1 || !why || strcmp(why, bad[k].why) != 0)
			fprintf(stderr, "case %zu '%s': r=%d why=%s\n", k, bad[k].js, r, why ? why : "-");
		CHECK(r == -1);
		CHECK_STR(why, bad[k].why);
		CHECK(j.ntok == 0);
	}
	/* an embedded NUL byte */
	const char nul[] = "{\"a\":1}\0{\"b\":2}";
	const char *why = NULL;
	CHECK(nro_json_parse(&j, nul, sizeof nul - 1, &why) == -1);
	CHECK_STR(why, "invalid JSON");
	const char nul2[] = "[1,\0 2]";
	CHECK(nro_json_parse(&j, nul2, sizeof nul2 - 1, &why) == -1);
	CHECK_STR(why, "invalid JSON");
	/* still usable after failures */
	CHECK(parse(&j, "[1]", &why) == 0 && j.ntok == 2);
	nro_json_free(&j);
}

TEST(truncated_real_document)
{
	char path[512];
	size_t len = 0;
	snprintf(path, sizeof path, "%s/kubelet/v1.34/stats_summary.json", fixtures());
	char *js = testing_slurp(path, &len);
	CHECK(js != NULL && len > 1000);
	if (!js)
		return;
	struct nro_json j;
	nro_json_init(&j, 0);
	/* every proper prefix that ends inside the root object is truncated */
	size_t cuts[] = { 1, 2, 17, len / 3, len / 2, len - 3, len - 2 };
	for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
		const char *why = NULL;
		CHECK(nro_json_parse(&j, js, cuts[k], &why) == -1);
		CHECK_STR(why, "truncated");
	}
	free(js);
	nro_json_free(&j);
}

TEST(token_cap)
{
	struct nro_json j;
	const char *why = NULL;
	const char *a20 = "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]"; /* 21 tokens */
	nro_json_init(&j, 20);
	CHECK(parse(&j, a20, &why) == -1);
	CHECK_STR(why, "too many tokens");
	CHECK(j.cap <= 20);
	nro_json_free(&j);
	nro_json_init(&j, 21);
	CHECK(parse(&j, a20, &why) == 0 && j.ntok == 21);
	CHECK(j.cap == 21);
	nro_json_free(&j);

	/* growth from the first small array, resuming jsmn each time */
	size_t n = 100000, len = 0;
	char *big = malloc(n * 8 + 16);
	CHECK(big != NULL);
	if (!big)
		return;
	big[len++] = '[';
	for (size_t k = 0; k < n; k++)
		len += (size_t)snprintf(big + len, 16, k ? ",{\"k\":%zu}" : "{\"k\":%zu}", k % 10);
	big[len++] = ']';
	nro_json_init(&j, 0);
	CHECK(nro_json_parse(&j, big, len, &why) == 0);
	CHECK(j.ntok == 1 + 3 * n);
	int last = nro_json_index(&j, 0, (int)n - 1);
	int64_t v = -1;
	CHECK(nro_json_i64(&j, nro_json_key(&j, last, "k"), &v) == 0 && v == (int64_t)((n - 1) % 10));
	unsigned cnt = 0;
	for (int c = nro_json_first(&j, 0); c >= 0; c = nro_json_next(&j, 0, c))
		cnt++;
	CHECK(cnt == n);
	/* a cap between the doubling steps */
	nro_json_free(&j);
	nro_json_init(&j, 1000);
	CHECK(nro_json_parse(&j, big, len, &why) == -1);
	CHECK_STR(why, "too many tokens");
	nro_json_free(&j);
	free(big);
}

TEST(reuse_across_parses)
{
	struct nro_json j;
	nro_json_init(&j, 0);
	CHECK(parse(&j, "{\"a\":[1,2,3]}", NULL) == 0);
	jsmntok_t *keep = j.tok;
	CHECK(parse(&j, "{\"b\":true}", NULL) == 0);
	CHECK(j.tok == keep);
	CHECK(nro_json_key(&j, 0, "a") == -1);
	CHECK(nro_json_key(&j, 0, "b") == 2);
	nro_json_free(&j);
	nro_json_free(&j); /* twice is fine */
}

static int64_t ts(const char *s)
{
	int64_t v = INT64_MIN;
	if (nro_parse_rfc3339_ms(s, strlen(s), &v) < 0)
		return INT64_MIN;
	return v;
}

TEST(rfc3339)
{
	CHECK(ts("1970-01-01T00:00:00Z") == 0);
	CHECK(ts("2026-11-25T21:00:00Z") == 1795640400000);
	CHECK(ts("2026-11-25T21:00:00.123Z") == 1795640400123);
	CHECK(ts("2026-11-25T21:00:00.1Z") == 1795640400100);
	CHECK(ts("2026-11-25T21:00:00.12Z") == 1795640400120);
	CHECK(ts("2026-11-25T21:00:00.123456789Z") == 1795640400123);
	CHECK(ts("2026-11-25T23:00:00.123+02:00") == 1795640400123);
	CHECK(ts("2026-11-25T15:30:00-05:30") == 1795640400000);
	CHECK(ts("2026-11-25t21:00:00z") == 1795640400000);
	CHECK(ts("2026-11-25 21:00:00Z") == 1795640400000);
	CHECK(ts("2026-11-26T00:00:00+03:00") == 1795640400000);
	CHECK(ts("2024-02-29T12:00:00Z") == 1709208000000);
	CHECK(ts("2000-03-01T00:00:00Z") == 951868800000);
	CHECK(ts("0001-01-01T00:00:00Z") == -62135596800000);
	CHECK(ts("9999-12-31T23:59:59Z") == 253402300799000);
	CHECK(ts("1969-12-31T23:59:59.999Z") == -1);
	CHECK(ts("2016-12-31T23:59:60Z") == ts("2017-01-01T00:00:00Z"));
	static const char *bad[] = {
		"2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z", "2026-13-01T00:00:00Z",
		"2026-00-01T00:00:00Z", "2026-04-31T00:00:00Z", "2026-01-00T00:00:00Z",
		"2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z", "2026-01-01T00:00:61Z",
		"2026-01-01T00:00:00", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00ZZ",
		"2026-01-01T00:00:00+0200", "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00+02:60",
		"2026-01-01X00:00:00Z", "2026-1-01T00:00:00Z", "26-01-01T00:00:00Z", "",
		"2026-01-01T00:00:00+02:0", "2026-01-01T00:00:00 Z", "+026-01-01T00:00:00Z",
	};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		if (ts(bad[k]) != INT64_MIN)
			fprintf(stderr, "accepted %s\n", bad[k]);
		CHECK(ts(bad[k]) == INT64_MIN);
	}
	/* bounded: the length is honoured, not the NUL */
	CHECK(nro_parse_rfc3339_ms("2026-11-25T21:00:00Zjunk", 20, &(int64_t){ 0 }) == 0);

	struct nro_json j;
	int64_t v = 0;
	nro_json_init(&j, 0);
	CHECK(parse(&j, "{\"t\":\"2026-11-25T21:00:00.5Z\",\"n\":5,\"e\":\"20\\u0032\\u0036-11-25T21:00:00Z\"}",
		    NULL) == 0);
	CHECK(nro_json_time_ms(&j, nro_json_key(&j, 0, "t"), &v) == 0 && v == 1795640400500);
	CHECK(nro_json_time_ms(&j, nro_json_key(&j, 0, "e"), &v) == 0 && v == 1795640400000);
	CHECK(nro_json_time_ms(&j, nro_json_key(&j, 0, "n"), &v) == -1);
	nro_json_free(&j);
}

/* Values read with jq from v1.34/stats_summary.json while writing this test:
 *   jq '.node.memory.availableBytes, .node.nodeName, .node.startTime' */
TEST(fixture_v134_summary)
{
	char path[512];
	size_t len = 0;
	snprintf(path, sizeof path, "%s/kubelet/v1.34/stats_summary.json", fixtures());
	char *js = testing_slurp(path, &len);
	CHECK(js != NULL);
	if (!js)
		return;
	struct nro_json j;
	const char *why = NULL;
	uint64_t avail = 0;
	int64_t start = 0;
	char name[256];
	nro_json_init(&j, 0);
	CHECK(nro_json_parse(&j, js, len, &why) == 0);
	CHECK(nro_json_u64(&j, nro_json_path(&j, 0, "node.memory.availableBytes"), &avail) == 0);
	CHECK(avail == 15850561536u);
	CHECK(nro_json_str(&j, nro_json_path(&j, 0, "node.nodeName"), name, sizeof name) > 0);
	CHECK_STR(name, "datagen-1-34");
	CHECK(nro_json_time_ms(&j, nro_json_path(&j, 0, "node.startTime"), &start) == 0);
	CHECK(start == 1767821720000); /* date -u -d 2026-01-07T21:35:20Z +%s */
	CHECK(nro_json_index(&j, nro_json_key(&j, 0, "pods"), 17) >= 0);
	CHECK(nro_json_index(&j, nro_json_key(&j, 0, "pods"), 18) == -1);
	nro_json_free(&j);
	free(js);
}

/* Counts children of the array at path under root by iterating. */
static long long count_children(const struct nro_json *j, int arr)
{
	long long n = 0;
	if (arr < 0 || j->tok[arr].type != JSMN_ARRAY)
		return -1;
	for (int c = nro_json_first(j, arr); c >= 0; c = nro_json_next(j, arr, c))
		n++;
	return n;
}

/* A summary's pod, container and volume counts, available memory and node
 * name agree with jq's reading of the file at path. */
static void summary_agrees(struct nro_json *j, const char *path)
{
	char cmd[1024], name[512];
	int pods = nro_json_key(j, 0, "pods");
	long long ours = count_children(j, pods), conts = 0, vols = 0;
	for (int p = nro_json_first(j, pods); p >= 0; p = nro_json_next(j, pods, p)) {
		long long c = count_children(j, nro_json_key(j, p, "containers"));
		long long v = count_children(j, nro_json_key(j, p, "volume"));
		conts += c > 0 ? c : 0;
		vols += v > 0 ? v : 0;
	}
	snprintf(cmd, sizeof cmd, "jq '.pods | length' '%s'", path);
	CHECK(ours == shell_num(cmd));
	snprintf(cmd, sizeof cmd, "jq '[.pods[].containers // [] | length] | add' '%s'", path);
	CHECK(conts == shell_num(cmd));
	snprintf(cmd, sizeof cmd, "jq '[.pods[].volume // [] | length] | add' '%s'", path);
	CHECK(vols == shell_num(cmd));
	snprintf(cmd, sizeof cmd, "jq '.node.memory.availableBytes // -2' '%s'", path);
	uint64_t a = 0;
	long long want = shell_num(cmd);
	if (want >= 0)
		CHECK(nro_json_u64(j, nro_json_path(j, 0, "node.memory.availableBytes"), &a) == 0 &&
		      (long long)a == want);
	CHECK(nro_json_str(j, nro_json_path(j, 0, "node.nodeName"), name, sizeof name) > 0);
	snprintf(cmd, sizeof cmd, "jq -r '.node.nodeName | length' '%s'", path);
	CHECK((long long)strlen(name) == shell_num(cmd));
}

/* A pod list's pod and container counts, restarts and creation times agree
 * with jq's reading of the file at path. */
static void pods_agree(struct nro_json *j, const char *path)
{
	char cmd[1024];
	int items = nro_json_key(j, 0, "items");
	long long ours = count_children(j, items), conts = 0, restarts = 0, nts = 0, tsum = 0;
	for (int p = nro_json_first(j, items); p >= 0; p = nro_json_next(j, items, p)) {
		int st = nro_json_path(j, p, "status.containerStatuses");
		for (int c = nro_json_first(j, st); c >= 0; c = nro_json_next(j, st, c)) {
			int64_t rc = 0;
			conts++;
			if (nro_json_i64(j, nro_json_key(j, c, "restartCount"), &rc) == 0)
				restarts += rc;
		}
		int64_t t;
		int ct = nro_json_path(j, p, "metadata.creationTimestamp");
		if (ct >= 0 && !nro_json_is_null(j, ct)) {
			CHECK(nro_json_time_ms(j, ct, &t) == 0);
			nts++;
			tsum += t / 1000;
		}
	}
	snprintf(cmd, sizeof cmd, "jq '.items | length' '%s'", path);
	CHECK(ours == shell_num(cmd));
	snprintf(cmd, sizeof cmd, "jq '[.items[].status.containerStatuses // [] | length] | add' '%s'",
		 path);
	CHECK(conts == shell_num(cmd));
	snprintf(cmd, sizeof cmd,
		 "jq '[.items[].status.containerStatuses // [] | .[].restartCount] | add // 0' '%s'", path);
	CHECK(restarts == shell_num(cmd));
	snprintf(cmd, sizeof cmd, "jq '[.items[].metadata.creationTimestamp | select(.)] | length' '%s'",
		 path);
	CHECK(nts == shell_num(cmd));
	snprintf(cmd, sizeof cmd,
		 "jq '[.items[].metadata.creationTimestamp | select(.) | fromdateiso8601] | add // 0' '%s'",
		 path);
	CHECK(tsum == shell_num(cmd));
}

/* Parses the fixture at path and checks it against jq; 1 if it was read. */
static int fixture_agrees(const char *path, int summary)
{
	size_t len = 0;
	const char *why = NULL;
	struct nro_json j;
	CHECK(strchr(path, '\'') == NULL);
	char *js = testing_slurp(path, &len);
	CHECK(js != NULL);
	if (!js)
		return 0;
	nro_json_init(&j, 0);
	int r = nro_json_parse(&j, js, len, &why);
	if (r != 0)
		fprintf(stderr, "%s: %s\n", path, why);
	CHECK(r == 0);
	if (r == 0)
		summary ? summary_agrees(&j, path) : pods_agree(&j, path);
	nro_json_free(&j);
	free(js);
	return 1;
}

/* Every stats_summary.json and pods.json fixture parses, and counts we
 * compute agree with jq's independent reading of the same file. */
TEST(fixtures_agree_with_jq)
{
	char pat[512];
	glob_t g;
	int files = 0;
	const char *kinds[] = { "stats_summary.json", "pods.json" };
	for (int kind = 0; kind < 2; kind++) {
		snprintf(pat, sizeof pat, "%s/kubelet/*/%s", fixtures(), kinds[kind]);
		if (glob(pat, 0, NULL, &g) != 0) {
			CHECK(!"no fixtures found");
			continue;
		}
		for (size_t k = 0; k < g.gl_pathc; k++)
			files += fixture_agrees(g.gl_pathv[k], kind == 0);
		globfree(&g);
	}
	CHECK(files >= 20);
}

int main(void)
{
	RUN(parse_and_navigate);
	RUN(iterate);
	RUN(scalars);
	RUN(integers_exact_and_range_checked);
	RUN(strings_decode);
	RUN(valid_documents);
	RUN(malformed_documents);
	RUN(truncated_real_document);
	RUN(token_cap);
	RUN(reuse_across_parses);
	RUN(rfc3339);
	RUN(fixture_v134_summary);
	RUN(fixtures_agree_with_jq);
	return testing_done();
}
