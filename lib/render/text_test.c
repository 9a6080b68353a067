/* Golden lines of the text rendering (render/text.c): the README's format. */
#include <string.h>

#include "base/testing.h"
#include "render/render.h"

#define TS 1795687208412LL /* 2026-11-26T10:00:08.412Z */

static struct nro_str S(const char *s)
{
	return nro_s(s);
}

/* Renders one event at TS into a fresh buffer; the caller frees b. */
static const char *render(struct nro_buf *b, const struct nro_event *v)
{
	struct nro_header h = {.kind = NRO_KIND_EVENT, .ts_ms = TS, .source = S("analyzer"),
			       .node = S("n1")};
	union nro_entry e = {.event = *v};
	nro_buf_init(b, 4096);
	CHECK(nro_render_text(b, &h, &e, 0) == 0);
	CHECK(nro_buf_add(b, "", 1) == 0);
	return b->p;
}

TEST(node_named_once_numbers_in_the_message)
{
	struct nro_event v = {.type = S("NodeMemoryPressure"), .severity = NRO_SEV_CRITICAL,
			      .flags = NRO_EVF_ALL, .value = 52428800, .threshold = 104857600,
			      .object = {.kind = NRO_OBJ_NODE, .name = S("datagen-1-34")},
			      .message = S("node datagen-1-34 memory.available 50 MiB is below the "
					   "eviction threshold 100 MiB")};
	struct nro_buf b;
	CHECK_STR(render(&b, &v),
		  "2026-11-26T10:00:08.412Z  FIRING    critical  NodeMemoryPressure        "
		  "datagen-1-34              memory.available 50 MiB is below the eviction "
		  "threshold 100 MiB\n");
	nro_buf_free(&b);
}

TEST(container_named_once)
{
	struct nro_event v = {.type = S("PodCrashLooping"), .severity = NRO_SEV_WARNING,
			      .flags = NRO_EVF_VALUE, .value = 2,
			      .object = {.kind = NRO_OBJ_CONTAINER, .namespace_ = S("scraper"),
					 .pod = S("web-1"), .container = S("pi")},
			      .message = S("container pi in pod scraper/web-1 is crash-looping (2 restarts)")};
	struct nro_buf b;
	CHECK_STR(render(&b, &v), "2026-11-26T10:00:08.412Z  FIRING    warning   PodCrashLooping     "
				  "      scraper/web-1/pi          is crash-looping (2 restarts)\n");
	nro_buf_free(&b);
}

TEST(resolved_says_how_long_it_lasted)
{
	struct nro_event v = {.type = S("NodeMemoryPressure"), .severity = NRO_SEV_CRITICAL,
			      .state = NRO_EV_RESOLVED, .since_ms = TS - 272000,
			      .object = {.kind = NRO_OBJ_NODE, .name = S("n1")},
			      .message = S("node n1 memory.available is back above 100 MiB")};
	struct nro_buf b;
	CHECK_STR(render(&b, &v), "2026-11-26T10:00:08.412Z  RESOLVED  critical  NodeMemoryPressure "
				  "       n1                        memory.available is back above 100 "
				  "MiB (lasted 4m32s)\n");
	nro_buf_free(&b);
}

TEST(cleared_stays_in_front)
{
	struct nro_event v = {.type = S("NodeMemoryPressure"), .severity = NRO_SEV_CRITICAL,
			      .state = NRO_EV_RESOLVED,
			      .object = {.kind = NRO_OBJ_NODE, .name = S("n1")},
			      .message = S("cleared: node n1 memory.available 50 MiB is below 100 MiB")};
	struct nro_buf b;
	CHECK(strstr(render(&b, &v), "  n1                        cleared: memory.available 50 MiB "
				     "is below 100 MiB\n") != NULL);
	nro_buf_free(&b);
}

TEST(no_message_shows_the_numbers)
{
	struct nro_event v = {.type = S("Custom"), .severity = NRO_SEV_INFO, .flags = NRO_EVF_ALL,
			      .value = 1.5, .threshold = 3};
	struct nro_buf b;
	CHECK_STR(render(&b, &v), "2026-11-26T10:00:08.412Z  FIRING    info      Custom            "
				  "        -                         (value 1.5, threshold 3)\n");
	nro_buf_free(&b);
}

TEST(other_object_in_the_message_is_kept)
{
	struct nro_event v = {.type = S("X"), .object = {.kind = NRO_OBJ_NODE, .name = S("n1")},
			      .message = S("node n2 is not this one")};
	struct nro_buf b;
	CHECK(strstr(render(&b, &v), "  node n2 is not this one\n") != NULL);
	nro_buf_free(&b);
}

int main(void)
{
	RUN(node_named_once_numbers_in_the_message);
	RUN(container_named_once);
	RUN(resolved_says_how_long_it_lasted);
	RUN(cleared_stays_in_front);
	RUN(no_message_shows_the_numbers);
	RUN(other_object_in_the_message_is_kept);
	return testing_done();
}
