/*
 * The JSON helpers (lib/parse/json.h) on any text: nro_json_parse refuses
 * with a reason or accepts, and then every lookup on every token stays
 * inside the token array and the text. Properties checked on every token:
 * its subtree ends where nro_json_skip says, iterating its children visits
 * exactly its size, a decoded string is never longer than its raw text and
 * is NUL-terminated, and nro_json_index(n) is the n-th child.
 */
#include <string.h>

#include "fuzz.h"
#include "parse/json.h"

static void scalars(const struct nro_json *j, int i)
{
	int64_t s;
	uint64_t u;
	double d;
	int b;
	static char out[1 << 16];
	/* an unsigned reading takes no sign, not even "-0" */
	if (nro_json_i64(j, i, &s) == 0 && s >= 0 && j->js[j->tok[i].start] != '-')
		FUZZ_CHECK(nro_json_u64(j, i, &u) == 0 && u == (uint64_t)s);
	if (nro_json_f64(j, i, &d) == 0)
		FUZZ_CHECK(d == d && d - d == 0); /* finite */
	nro_json_bool(j, i, &b);
	nro_json_is_null(j, i);
	nro_json_time_ms(j, i, &s);
	nro_json_eq(j, i, "items");
	int n = nro_json_str(j, i, out, sizeof out);
	if (n >= 0) {
		FUZZ_CHECK(n <= j->tok[i].end - j->tok[i].start);
		FUZZ_CHECK(out[n] == '\0' && strlen(out) == (size_t)n);
	}
	/* a tiny buffer: refused or cut, never overrun */
	char small[4];
	n = nro_json_str(j, i, small, sizeof small);
	FUZZ_CHECK(n < (int)sizeof small);
}

/* Checks container i's children against skip, first/next and index. */
static void children(const struct nro_json *j, int i)
{
	int end = nro_json_skip(j, i);
	FUZZ_CHECK(end > i && (unsigned)end <= j->ntok);
	int count = 0;
	for (int c = nro_json_first(j, i); c >= 0; c = nro_json_next(j, i, c)) {
		FUZZ_CHECK(c > i && c < end);
		FUZZ_CHECK(j->tok[c].parent == i);
		if (j->tok[i].type == JSMN_ARRAY && count < 8)
			FUZZ_CHECK(nro_json_index(j, i, count) == c);
		count++;
		FUZZ_CHECK(count <= j->tok[i].size);
	}
	FUZZ_CHECK(count == j->tok[i].size);
	if (j->tok[i].type == JSMN_ARRAY)
		FUZZ_CHECK(nro_json_index(j, i, count) == -1);
}

static void lookups(const struct nro_json *j, int i)
{
	static const char *const keys[] = {"items", "metadata", "name", "a", "", "node"};
	static const char *const paths[] = {"items.0.metadata.name", "node.memory.availableBytes",
					    "a.b.c", "0.1", "a..b", "."};
	for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
		int v = nro_json_key(j, i, keys[k]);
		FUZZ_CHECK(v == -1 || (v > i && (unsigned)v < j->ntok));
	}
	for (size_t k = 0; k < sizeof paths / sizeof paths[0]; k++) {
		int v = nro_json_path(j, i, paths[k]);
		FUZZ_CHECK(v == -1 || (v >= i && (unsigned)v < j->ntok));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t ms;
	nro_parse_rfc3339_ms((const char *)data, size, &ms);

	struct nro_json j;
	/* a small token cap, so "too many tokens" is reached too */
	nro_json_init(&j, size && data[0] == ' ' ? 64 : 0);
	const char *why = NULL;
	if (nro_json_parse(&j, (const char *)data, size, &why) != 0) {
		FUZZ_CHECK(why && *why);
		nro_json_free(&j);
		return 0;
	}
	FUZZ_CHECK(j.ntok > 0 && nro_json_skip(&j, 0) == (int)j.ntok);
	for (unsigned i = 0; i < j.ntok; i++) {
		FUZZ_CHECK(j.tok[i].start >= 0 && j.tok[i].start <= j.tok[i].end &&
			   (size_t)j.tok[i].end <= size);
		scalars(&j, (int)i);
		if (j.tok[i].type == JSMN_OBJECT || j.tok[i].type == JSMN_ARRAY) {
			children(&j, (int)i);
			lookups(&j, (int)i);
		}
	}
	nro_json_free(&j);
	return 0;
}
