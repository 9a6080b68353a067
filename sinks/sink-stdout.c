/*
 * sink-stdout: the analyzer's events (and, with --metrics, its metrics) on
 * stdout, as JSON lines (--format json, the fields of DESIGN.md "Records")
 * or one readable line an entry (--format text, lib/render/text.c); by
 * default text on a terminal, JSON otherwise. Resumes after a restart from
 * its cursor and the analyzer's ring (lib/run/sink.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/hmap.h"
#include "base/log.h"
#include "wire/record.h"
#include "render/render.h"
#include "run/sink.h"

enum { FMT_AUTO, FMT_JSON, FMT_TEXT };
enum { COLOUR_AUTO, COLOUR_ALWAYS, COLOUR_NEVER };

static int format = FMT_AUTO, colour_mode = COLOUR_AUTO;
static const char *kinds_opt;
static int with_metrics;

/* Sets *dst to the index of value in words (NULL-terminated), or says what fits. */
static int pick(int *dst, const char *value, const char *const *words, char *err, size_t errlen)
{
	for (int i = 0; words[i]; i++)
		if (strcmp(value, words[i]) == 0) {
			*dst = i;
			return 0;
		}
	snprintf(err, errlen, "want %s, %s or %s", words[0], words[1], words[2]);
	return -1;
}

static int set_format(void *dst, const char *value, char *err, size_t errlen)
{
	static const char *const words[] = {"auto", "json", "text", NULL};
	return pick(dst, value, words, err, errlen);
}

static int set_colour(void *dst, const char *value, char *err, size_t errlen)
{
	static const char *const words[] = {"auto", "always", "never", NULL};
	return pick(dst, value, words, err, errlen);
}

static const struct nro_optdef opts[] = {
	{"format", 'f', "NRO_FORMAT", NRO_OPT_FUNC, &format, set_format, "auto|json|text",
	 "text: one readable line an entry; json: one JSON object a line; auto (default): "
	 "text when stdout is a terminal, else json"},
	{"metrics", 0, "NRO_METRICS", NRO_OPT_FLAG, &with_metrics, NULL, NULL,
	 "metrics too (default: events only)"},
	{"kinds", 'k', "NRO_SINK_KINDS", NRO_OPT_STR, &kinds_opt, NULL, "LETTERS",
	 "exactly these record kinds: E event, M metric, S state, H health, X error (default E)"},
	{"color", 0, "NRO_COLOR", NRO_OPT_FUNC, &colour_mode, set_colour, "auto|always|never",
	 "colour text lines: red critical, yellow warning, green resolved (auto: when stdout "
	 "is a terminal and NO_COLOR is unset)"},
	{NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
};

struct out {
	int text, colour;
	struct nro_buf b;
	struct nro_hmap firing; /* alert keys among the events delivered (no values) */
};

/* Bounds the firing set kept for the pipe's closing count. */
#define FIRING_MAX 65536

static struct nro_sink sink;

/* One alert's identity, as the analyzer keeps it: type, object and the
 * attributes that name it (not nro.flapping, which comes and goes). */
static void alert_key(char *key, size_t keylen, const struct nro_event *v)
{
	int n = snprintf(key, keylen, "%.*s|%u|%.*s|%.*s|%.*s|%.*s", (int)v->type.len, v->type.p,
			 v->object.kind, (int)v->object.namespace_.len, v->object.namespace_.p,
			 (int)v->object.pod.len, v->object.pod.p, (int)v->object.container.len,
			 v->object.container.p, (int)v->object.name.len, v->object.name.p);
	for (uint16_t i = 0; i < v->nattrs && n >= 0 && (size_t)n < keylen; i++) {
		const struct nro_attr *a = &v->attrs[i];
		if (!nro_str_eq(a->key, "nro.flapping"))
			n += snprintf(key + n, keylen - (size_t)n, "|%.*s=%.*s", (int)a->key.len,
				      a->key.p, (int)a->value.len, a->value.p);
	}
}

/* Keeps which delivered alerts are still firing, for "N alerts firing" at
 * the end of a pipe. */
static void track_firing(struct out *o, const struct nro_msg *m)
{
	if (m->hdr.kind != NRO_KIND_EVENT)
		return;
	struct nro_msg c = *m; /* the renderer reads m itself */
	struct nro_event v;
	char key[2048];
	while (nro_next_event(&c, &v)) {
		alert_key(key, sizeof key, &v);
		if (v.state == NRO_EV_RESOLVED)
			nro_hmap_del(&o->firing, key);
		else if (v.state == NRO_EV_FIRING && o->firing.n < FIRING_MAX &&
			 nro_hmap_put(&o->firing, key, o) != 0)
			nro_warn("out of memory counting the alerts firing");
	}
}

/* The end of a pipe in text: what is still firing, said even when nothing
 * is ("0 alerts firing"), so a healthy node's --once pipe is not silent. */
static void say_firing(const struct out *o)
{
	size_t n = o->firing.n;
	printf("%zu alert%s firing%s\n", n, n == 1 ? "" : "s",
	       n >= FIRING_MAX ? " (or more: the count stops there)" : "");
	fflush(stdout);
}

static int deliver(void *ctx, struct nro_msg *m)
{
	struct out *o = ctx;
	if (o->text && sink.pipe_mode)
		track_firing(o, m);
	nro_buf_reset(&o->b);
	int rc = (o->text ? nro_render_msg_text(&o->b, m, o->colour) : nro_render_msg_json(&o->b, m)) < 0
			 ? -1
			 : 0;
	if (rc != 0) {
		nro_warn("seq %llu: too large to render; skipped", (unsigned long long)m->hdr.seq);
		return NRO_SINK_OK;
	}
	if (nro_write_all(STDOUT_FILENO, o->b.p, o->b.len) != 0) {
		if (errno != EPIPE)
			return nro_sink_fatal(&sink, NRO_EXIT_TEMP, "stdout: %s", strerror(errno));
		sink.exit_code = 0; /* the reader went away: nothing to report */
		return NRO_SINK_FATAL;
	}
	return NRO_SINK_OK;
}

/* "reading events from ADDR (ring PATH); writing text to stdout", and a
 * ring that is not there yet said once: the sink waits for the analyzer. */
static void startup(const struct out *o)
{
	struct nro_tool *t = &sink.tool;
	const char *in = t->input ? t->input : nro_events_addr(t);
	const char *what = sink.kinds[1] ? "records" : "events";
	char ring[4200] = "";
	if (strcmp(in, "-") == 0) {
		snprintf(t->startup, sizeof t->startup, "reading %s on stdin; writing %s to stdout", what,
			 o->text ? "text" : "JSON lines");
		return;
	}
	if (!sink.ring_path || strcmp(sink.ring_path, "none") != 0)
		snprintf(ring, sizeof ring, "%s", sink.ring_path ? sink.ring_path : "");
	if (!sink.ring_path)
		snprintf(ring, sizeof ring, "%s/ring", t->run_dir);
	snprintf(t->startup, sizeof t->startup, "reading %s from %s%s%s%s; writing %s to stdout", what,
		 in, ring[0] ? " (ring " : "", ring, ring[0] ? ")" : "", o->text ? "text" : "JSON lines");
	nro_tool_started(t);
	if (ring[0] && access(ring, F_OK) != 0)
		nro_info("waiting for the analyzer: its ring %s does not exist yet (live %s are "
			 "printed as they come)", ring, what);
}

static void choose_output(struct out *o)
{
	int tty = isatty(STDOUT_FILENO);
	o->text = format == FMT_TEXT || (format == FMT_AUTO && tty);
	const char *nc = getenv("NO_COLOR");
	o->colour = colour_mode == COLOUR_ALWAYS ||
		    (colour_mode == COLOUR_AUTO && tty && !(nc && *nc));
	o->colour = o->colour && o->text;
}

int main(int argc, char **argv)
{
	nro_sink_init(&sink, "sink-stdout",
		      "Print the analyzer's events (and metrics with --metrics) on stdout, as\n"
		      "readable text or JSON lines. Input: the analyzer's events.ipc and ring\n"
		      "(resuming after a restart from its cursor), or a framed record stream\n"
		      "(-i -).",
		      opts, argc, argv, "E");
	struct out o = {0};
	choose_output(&o);
	if (kinds_opt) {
		if (!*kinds_opt)
			nro_die(NRO_EXIT_USAGE, "--kinds: empty");
		sink.kinds = kinds_opt;
	} else if (with_metrics) {
		sink.kinds = "EM";
	}
	startup(&o);
	nro_buf_init(&o.b, (size_t)NRO_MSG_MAX * 8);
	nro_hmap_init(&o.firing);
	int rc = nro_sink_run(&sink, deliver, &o);
	if (rc == 0 && o.text && sink.pipe_mode)
		say_firing(&o);
	nro_hmap_free(&o.firing);
	nro_buf_free(&o.b);
	return rc;
}
