#include "run/promcollect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

#define TS_MAX_MS 253402300799999LL /* the wire format's upper bound */

static int on_sample(void *ctx, const struct nro_prom_sample *s);

void nro_promcollect_init(struct nro_promcollect *pc, struct nro_collector *c, const char *path,
			  const char *default_allow)
{
	pc->c = c;
	pc->path = path;
	pc->default_allow = default_allow;
	nro_prom_filter_init(&pc->filter);
	const char *why = NULL;
	const char *allow = pc->allow && *pc->allow ? pc->allow : default_allow;
	if (allow && *allow &&
	    nro_prom_filter_add_list(&pc->filter, allow, NRO_PROM_ALLOW, &why) != 0)
		nro_die(NRO_EXIT_USAGE, "--allow '%s': %s", allow, why);
	if (pc->deny && *pc->deny &&
	    nro_prom_filter_add_list(&pc->filter, pc->deny, NRO_PROM_DENY, &why) != 0)
		nro_die(NRO_EXIT_USAGE, "--deny '%s': %s", pc->deny, why);
	nro_prom_init(&pc->prom, 0, on_sample, pc);
	nro_prom_set_filter(&pc->prom, &pc->filter);
}

void nro_promcollect_free(struct nro_promcollect *pc)
{
	nro_prom_free(&pc->prom);
	nro_prom_filter_free(&pc->filter);
}

/* Defined in prom.c, not declared in prom.h: the label name and value lengths
 * of the sample the parser is passing to its callback (0 for any other). */
int nro_prom_label_lengths(const struct nro_prom_sample *s, const uint32_t **name,
			   const uint32_t **value);

int nro_promcollect_emit(struct nro_collector *c, const struct nro_prom_sample *s,
			 const struct nro_attr *extra, unsigned nextra)
{
	struct nro_attr attrs[NRO_ATTRS_MAX];
	uint16_t n = 0;
	const uint32_t *nlen = NULL, *vlen = NULL;
	int known = nro_prom_label_lengths(s, &nlen, &vlen);
	for (unsigned i = 0; i < s->nlabels && n < NRO_ATTRS_MAX; i++) {
		const char *name = s->labels[i].name;
		size_t nl = known ? nlen[i] : strlen(name);
		/* the rule of nro_prom_label_dropped()/_normalize_label(), with a
		 * cheap test first: only container_name and pod_name are renamed */
		if ((nl == 14 && name[0] == 'c') || (nl == 8 && name[0] == 'p')) {
			if (nro_prom_label_dropped(s, i))
				continue;
			const char *to = nro_prom_normalize_label(name);
			if (to != name) {
				name = to;
				nl = strlen(to);
			}
		}
		size_t vl = known ? vlen[i] : strlen(s->labels[i].value);
		/* nro_s(), without measuring twice */
		attrs[n].key.p = name;
		attrs[n].key.len = (uint16_t)(nl > UINT16_MAX ? UINT16_MAX : nl);
		attrs[n].value.p = s->labels[i].value;
		attrs[n].value.len = (uint16_t)(vl > UINT16_MAX ? UINT16_MAX : vl);
		n++;
	}
	for (unsigned i = 0; i < nextra && n < NRO_ATTRS_MAX; i++)
		attrs[n++] = extra[i];
	struct nro_metric m = {
		nro_s(s->name),
		{"", 0},
		(uint8_t)s->type,
		s->value,
		s->has_ts && s->ts_ms > 0 && s->ts_ms <= TS_MAX_MS ? s->ts_ms : 0,
		n,
		attrs,
	};
	return nro_emit_metric(c, &m);
}

static int on_sample(void *ctx, const struct nro_prom_sample *s)
{
	struct nro_promcollect *pc = ctx;
	if (pc->hook) {
		int r = pc->hook(pc, s);
		if (r > 0)
			pc->stopped = 1;
		return r == 0 ? 0 : -1;
	}
	if (nro_promcollect_emit(pc->c, s, NULL, 0) == 0)
		pc->emitted++;
	else
		pc->refused++;
	return 0;
}

static void note_first_bad(struct nro_promcollect *pc)
{
	if (!pc->first_bad_line && pc->prom.malformed) {
		pc->first_bad_line = pc->prom.bad_line;
		pc->first_bad_why = pc->prom.bad_why;
	}
}

/* The parser remembers the last malformed line; the poll reports the first.
 * After a chunk fed whole with more than one malformed line in it (and none
 * noted before), the chunk is parsed again from a copy of the parser as it
 * was before the chunk (without callbacks or the filter cache being any
 * different: the parse is a function of that state and the bytes), a line
 * at a time, up to the first malformed line. snap was taken at a line
 * boundary (no partial line held). */
static void first_bad_in(struct nro_promcollect *pc, const struct nro_prom *snap, const char *data,
			 size_t len)
{
	const struct nro_prom *p = &pc->prom;
	if (pc->first_bad_line || !p->malformed)
		return;
	if (p->malformed - snap->malformed == 1) { /* the only one is the first */
		note_first_bad(pc);
		return;
	}
	struct nro_prom q = *snap;
	q.fn = NULL;
	q.ctx = NULL;
	q.line = NULL; /* its own line buffer, not p's */
	q.line_cap = 0;
	while (len > 0 && q.malformed == snap->malformed) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl ? (size_t)(nl - data) + 1 : len;
		if (nro_prom_feed(&q, data, n) != 0)
			break;
		data += n;
		len -= n;
	}
	if (q.malformed != snap->malformed) {
		pc->first_bad_line = q.bad_line;
		pc->first_bad_why = q.bad_why;
	} else {
		note_first_bad(pc); /* cannot happen; the last one then */
	}
	nro_prom_free(&q);
}

/* nro_body_fn: feeds a chunk to the parser. Until the first malformed line
 * is noted, the piece up to the first newline is fed alone (it completes a
 * line held from the chunk before); the rest, starting at a line boundary,
 * is fed whole, and first_bad_in() finds its first malformed line. */
static int on_body(void *ctx, const char *data, size_t len)
{
	struct nro_promcollect *pc = ctx;
	struct nro_prom *p = &pc->prom;
	while (len > 0 && !pc->first_bad_line) {
		if (p->len == 0 && !p->skipping) {
			struct nro_prom snap = *p;
			int r = nro_prom_feed(p, data, len);
			first_bad_in(pc, &snap, data, len);
			if (r != 0)
				goto failed;
			return 0;
		}
		const char *nl = memchr(data, '\n', len);
		size_t n = nl ? (size_t)(nl - data) + 1 : len;
		if (nro_prom_feed(p, data, n) != 0)
			goto failed;
		note_first_bad(pc);
		data += n;
		len -= n;
	}
	if (len > 0 && nro_prom_feed(p, data, len) != 0)
		goto failed;
	return 0;
failed:
	if (!pc->stopped && pc->res) {
		const char *why = pc->why ? pc->why : p->error ? p->error : "parser failed";
		snprintf(pc->res->message, sizeof pc->res->message, "GET %s: %s", pc->path, why);
	}
	return -1;
}

int nro_promcollect_fetch(struct nro_promcollect *pc, const char *path, struct nro_fetch *res)
{
	struct nro_collector *c = pc->c;
	const char *saved = pc->path;
	pc->path = path;
	nro_prom_reset(&pc->prom);
	pc->emitted = pc->refused = 0;
	pc->first_bad_line = 0;
	pc->first_bad_why = NULL;
	pc->stopped = 0;
	pc->why = NULL;
	pc->res = res;
	int r = nro_kubelet_get(c->kubelet, path, on_body, pc, res);
	if (r != 0 && pc->stopped) {
		/* the hook had what it wanted: not an error */
		r = 0;
		res->err = 0;
		res->message[0] = '\0';
	} else if (r == 0) {
		/* a last line without '\n'; never on a failed transfer, where the
		 * held line may be cut (a value "12" of "123456") */
		if (nro_prom_finish(&pc->prom) != 0 && !pc->stopped) {
			r = -1;
			res->err = NRO_ERR_PARSE;
			snprintf(res->message, sizeof res->message, "GET %s: %s", path,
				 pc->why ? pc->why : pc->prom.error ? pc->prom.error : "parser failed");
		}
		note_first_bad(pc);
	}
	pc->res = NULL;
	pc->path = saved;
	if (r != 0)
		return -1;

	const struct nro_prom *p = &pc->prom;
	uint64_t good = p->samples + p->filtered;
	if (p->malformed > 0 && p->malformed >= good) {
		res->err = NRO_ERR_PARSE;
		snprintf(res->message, sizeof res->message,
			 "GET %s: not Prometheus text: %llu of %llu lines malformed "
			 "(first at line %llu: %s)",
			 path, (unsigned long long)p->malformed, (unsigned long long)p->lines,
			 (unsigned long long)pc->first_bad_line,
			 pc->first_bad_why ? pc->first_bad_why : "?");
		return -1;
	}
	if (p->malformed > 0 || pc->refused > 0) {
		c->degraded = 1;
		size_t o = 0;
		if (p->malformed > 0) {
			int k = snprintf(c->degraded_msg, sizeof c->degraded_msg,
					 "%s: %llu malformed line%s skipped (first at line %llu: %s)",
					 path, (unsigned long long)p->malformed,
					 p->malformed == 1 ? "" : "s",
					 (unsigned long long)pc->first_bad_line,
					 pc->first_bad_why ? pc->first_bad_why : "?");
			o = k > 0 ? (size_t)k : 0;
		}
		if (pc->refused > 0 && o < sizeof c->degraded_msg)
			snprintf(c->degraded_msg + o, sizeof c->degraded_msg - o,
				 "%s%llu sample%s refused by the record format", o ? "; " : "",
				 (unsigned long long)pc->refused, pc->refused == 1 ? "" : "s");
	}
	return 0;
}

int nro_promcollect_poll(struct nro_collector *c, void *ctx, struct nro_fetch *res)
{
	struct nro_promcollect *pc = ctx;
	pc->c = c;
	return nro_promcollect_fetch(pc, pc->path, res);
}

void nro_promcollect_summary(char *out, size_t outlen, const char *summary,
			     const char *default_allow)
{
	size_t o = 0;
	int k = snprintf(out, outlen, "%s\n\nkeeps by default:", summary);
	if (k < 0 || (size_t)k >= outlen)
		return;
	o = (size_t)k;
	size_t col = strlen("keeps by default:");
	const char *s = default_allow && *default_allow ? default_allow : "all";
	while (*s) {
		while (*s == ' ' || *s == ',')
			s++;
		size_t n = strcspn(s, ",");
		while (n > 0 && s[n - 1] == ' ')
			n--;
		if (n == 0)
			break;
		const char *next = s + n;
		while (*next == ' ')
			next++;
		int more = *next == ',';
		/* wrap before an item that would pass column 78 */
		const char *sep = col + 1 + n + 1 > 78 ? "\n " : " ";
		if (sep[0] == '\n')
			col = 1;
		k = snprintf(out + o, outlen - o, "%s%.*s%s", sep, (int)n, s, more ? "," : "");
		if (k < 0 || (size_t)k >= outlen - o)
			return;
		o += (size_t)k;
		col += 1 + n + (size_t)more;
		s = next;
	}
}

int nro_promcollect_main(int argc, char **argv, const char *prog, const char *summary,
			 const char *path, const char *default_allow, int64_t default_interval_ms)
{
	static struct nro_promcollect pc;
	static struct nro_collector c;
	static char help[8192];
	memset(&pc, 0, sizeof pc);
	nro_promcollect_summary(help, sizeof help, summary, default_allow);
	struct nro_optdef opts[] = {NRO_PROMCOLLECT_OPTS(&pc), {NULL, 0, NULL, 0, NULL, NULL, NULL, NULL}};
	nro_collector_init(&c, prog, help, path, default_interval_ms, opts, argc, argv);
	nro_promcollect_init(&pc, &c, path, default_allow);
	int rc = nro_collector_run(&c, nro_promcollect_poll, &pc);
	nro_promcollect_free(&pc);
	return rc;
}
