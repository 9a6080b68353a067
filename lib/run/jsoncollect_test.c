#include "run/jsoncollect.h"

#include <string.h>

#include "base/testing.h"

/* A body of n bytes in jc's buffer, parsed, as after a fetch. */
static void fill(struct nro_jsoncollect *jc, size_t n)
{
	nro_buf_reset(&jc->body);
	static char chunk[4096];
	memset(chunk, ' ', sizeof chunk);
	CHECK(nro_buf_add(&jc->body, "[", 1) == 0);
	while (jc->body.len + sizeof chunk + 4 < n)
		CHECK(nro_buf_add(&jc->body, chunk, sizeof chunk) == 0);
	CHECK(nro_buf_add(&jc->body, "1]", 2) == 0);
	const char *why = NULL;
	CHECK(nro_json_parse(&jc->json, jc->body.p, jc->body.len, &why) == 0);
}

TEST(after_poll_is_set_and_frees_what_a_shrunk_poll_left)
{
	static struct nro_collector c;
	struct nro_jsoncollect jc;
	nro_jsoncollect_init(&jc, &c, "/pods");
	CHECK(c.after_poll == nro_jsoncollect_shrink && c.after_poll_ctx == &jc);
	fill(&jc, 6u << 20); /* a 6 MiB body: 1,010 pods */
	size_t big = jc.body.cap;
	CHECK(big >= 6u << 20);
	c.after_poll(c.after_poll_ctx);
	CHECK(jc.body.cap == big); /* used: kept for the next poll */
	fill(&jc, 4u << 20); /* shrank, but not below a quarter */
	c.after_poll(c.after_poll_ctx);
	CHECK(jc.body.cap == big);
	fill(&jc, 100u << 10); /* back to a few pods */
	c.after_poll(c.after_poll_ctx);
	CHECK(jc.body.cap == 0 && jc.body.p == NULL && jc.body.max == NRO_BODY_MAX_DEFAULT);
	fill(&jc, 100u << 10); /* the next poll grows its own */
	CHECK(jc.body.cap >= 100u << 10 && jc.body.cap < 256u << 10);
	c.after_poll(c.after_poll_ctx);
	CHECK(jc.body.cap != 0); /* small buffers stay */
	nro_jsoncollect_free(&jc);
}

TEST(token_array_follows_the_poll)
{
	static struct nro_collector c;
	struct nro_jsoncollect jc;
	nro_jsoncollect_init(&jc, &c, "/pods");
	/* 200,000 tokens, then 10 */
	nro_buf_reset(&jc.body);
	CHECK(nro_buf_add(&jc.body, "[", 1) == 0);
	for (int i = 0; i < 200000; i++)
		CHECK(nro_buf_add(&jc.body, i ? ",1" : "1", i ? 2 : 1) == 0);
	CHECK(nro_buf_add(&jc.body, "]", 1) == 0);
	const char *why = NULL;
	jc.json.max = 1u << 20;
	CHECK(nro_json_parse(&jc.json, jc.body.p, jc.body.len, &why) == 0);
	CHECK(jc.json.cap >= 200001);
	nro_jsoncollect_shrink(&jc);
	CHECK(jc.json.cap >= 200001);
	fill(&jc, 64);
	nro_jsoncollect_shrink(&jc);
	CHECK(jc.json.cap == 0 && jc.json.tok == NULL);
	nro_jsoncollect_free(&jc);
}

int main(void)
{
	RUN(after_poll_is_set_and_frees_what_a_shrunk_poll_left);
	RUN(token_array_follows_the_poll);
	return testing_done();
}
