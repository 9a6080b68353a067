#include "parse/prom.h"

#include <glob.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "wire/record.h"
#include "base/testing.h"

#define FIXTURES_DEFAULT "../shared/fixtures"

static const char *fixtures(void)
{
	const char *e = getenv("NRO_FIXTURES");
	return e && *e ? e : FIXTURES_DEFAULT;
}

/* ---- a collecting callback -------------------------------------------- */

/* Renders every sample as one text line into out (owned by the test);
 * keeps a copy of the last sample's strings for field checks. */
struct coll {
	struct nro_buf out;
	unsigned n;
	int abort_at; /* return -1 on this sample (1-based); 0 = never */
	unsigned types[NRO_MT_MAX + 1];
	unsigned both_container, old_only;
	/* the last sample */
	char family[256], name[256], lab[8][2][128];
	int type, has_ts;
	unsigned nlabels;
	double value;
	int64_t ts;
	uint64_t line;
};

static void coll_init(struct coll *c)
{
	memset(c, 0, sizeof *c);
	nro_buf_init(&c->out, 256u << 20);
}

static void coll_free(struct coll *c)
{
	nro_buf_free(&c->out);
}

static void put(struct nro_buf *b, const char *s)
{
	nro_buf_adds(b, s);
}

static int on_sample(void *ctx, const struct nro_prom_sample *s)
{
	struct coll *c = ctx;
	char tmp[128];
	c->n++;
	if (s->type >= 0 && s->type <= NRO_MT_MAX)
		c->types[s->type]++;
	put(&c->out, s->family);
	put(&c->out, "|");
	put(&c->out, s->name);
	snprintf(tmp, sizeof tmp, "|%d|%.17g|", s->type, s->value);
	put(&c->out, tmp);
	if (s->has_ts) {
		snprintf(tmp, sizeof tmp, "%" PRId64, s->ts_ms);
		put(&c->out, tmp);
	}
	int has_new = 0, has_old = 0;
	for (unsigned i = 0; i < s->nlabels; i++) {
		put(&c->out, "|");
		put(&c->out, s->labels[i].name);
		put(&c->out, "=");
		put(&c->out, s->labels[i].value);
		has_new |= strcmp(s->labels[i].name, "container") == 0;
		has_old |= strcmp(s->labels[i].name, "container_name") == 0;
	}
	c->both_container += has_new && has_old;
	c->old_only += has_old && !has_new;
	put(&c->out, "\n");
	snprintf(c->family, sizeof c->family, "%s", s->family);
	snprintf(c->name, sizeof c->name, "%s", s->name);
	c->type = s->type;
	c->value = s->value;
	c->has_ts = s->has_ts;
	c->ts = s->ts_ms;
	c->line = s->line;
	c->nlabels = s->nlabels;
	for (unsigned i = 0; i < s->nlabels && i < 8; i++) {
		snprintf(c->lab[i][0], sizeof c->lab[i][0], "%s", s->labels[i].name);
		snprintf(c->lab[i][1], sizeof c->lab[i][1], "%s", s->labels[i].value);
	}
	if (c->abort_at && c->n == (unsigned)c->abort_at)
		return -1;
	return 0;
}

/* Parses body whole (plus finish) with a fresh parser; fills c and *out. */
static void parse_all(const char *body, size_t len, size_t line_max, struct coll *c,
		      struct nro_prom *p)
{
	nro_prom_init(p, line_max, on_sample, c);
	nro_prom_feed(p, body, len);
	nro_prom_finish(p);
}

static int one(const char *body, struct coll *c, struct nro_prom *p)
{
	coll_init(c);
	parse_all(body, strlen(body), 0, c, p);
	return (int)c->n;
}

/* ---- syntax ------------------------------------------------------------ */

TEST(basic_sample)
{
	struct coll c;
	struct nro_prom p;
	CHECK(one("# HELP up Whether up.\n# TYPE up gauge\nup{job=\"k\",instance=\"n:1\"} 1\n", &c, &p) == 1);
	CHECK_STR(c.family, "up");
	CHECK_STR(c.name, "up");
	CHECK(c.type == NRO_MT_GAUGE);
	CHECK(c.value == 1.0);
	CHECK(!c.has_ts);
	CHECK(c.nlabels == 2);
	CHECK_STR(c.lab[0][0], "job");
	CHECK_STR(c.lab[0][1], "k");
	CHECK_STR(c.lab[1][0], "instance");
	CHECK_STR(c.lab[1][1], "n:1");
	CHECK(c.line == 3);
	CHECK(p.lines == 3 && p.samples == 1 && p.malformed == 0);
	nro_prom_free(&p);
	coll_free(&c);
}

TEST(types_from_help_and_type)
{
	struct coll c;
	struct nro_prom p;
	CHECK(one("# TYPE a_total counter\na_total 5\n"
		  "# HELP g help\n# TYPE g gauge\ng 2\n"
		  "# TYPE g2 gauge\n# HELP g2 help after type keeps the type\ng2 3\n"
		  "# TYPE u untyped\nu 1\n"
		  "# TYPE o unknown\no 1\n"
		  "# HELP h only help\nh 1\n"
		  "bare 7\n"
		  "# TYPE c counter\nc_total 1\n",
		  &c, &p) == 8);
	CHECK(p.malformed == 0);
	const char *want = "a_total|a_total|1|5|\n"
			   "g|g|0|2|\n"
			   "g2|g2|0|3|\n"
			   "u|u|2|1|\n"
			   "o|o|2|1|\n"
			   "h|h|2|1|\n"
			   "bare|bare|2|7|\n"
			   "c|c_total|1|1|\n";
	CHECK_STR(c.out.p, want);
	nro_prom_free(&p);
	coll_free(&c);
}

TEST(histogram_typing)
{
	struct coll c;
	struct nro_prom p;
	one("# HELP rt Request time.\n# TYPE rt histogram\n"
	    "rt_bucket{le=\"0.1\"} 1\nrt_bucket{le=\"+Inf\"} 3\nrt_sum 0.5\nrt_count 3\n"
	    "rt_bucket 4\n"                   /* no le: malformed */
	    "rt_bucket{le=\"x\"} 4\n"         /* le not a float: malformed */
	    "rt_total 1\n"                    /* not a histogram series: untyped */
	    "rt_count{a=\"b\"} 9\n"           /* still the histogram */
	    "rtx_bucket{le=\"1\"} 1\n",       /* another family */
	    &c, &p);
	const char *want = "rt|rt_bucket|3|1||le=0.1\n"
			   "rt|rt_bucket|3|3||le=+Inf\n"
			   "rt|rt_sum|3|0.5|\n"
			   "rt|rt_count|3|3|\n"
			   "rt_total|rt_total|2|1|\n"
			   "rt|rt_count|3|9||a=b\n"
			   "rtx_bucket|rtx_bucket|2|1||le=1\n";
	CHECK_STR(c.out.p, want);
	CHECK(p.malformed == 2);
	CHECK_STR(p.bad_why, "histogram bucket without a valid le label");
	CHECK(p.bad_line == 8);
	nro_prom_free(&p);
	coll_free(&c);
}

TEST(summary_typing)
{
	struct coll c;
	struct nro_prom p;
	one("# TYPE lat summary\n"
	    "lat{quantile=\"0.5\"} 0.1\nlat{quantile=\"0.99\"} NaN\nlat_sum 2\nlat_count 4\n"
	    "lat 1\n"                         /* no quantile: malformed */
	    "lat_bucket{le=\"1\"} 1\n",       /* not a summary series */
	    &c, &p);
	const char *want = "lat|lat|4|0.10000000000000001||quantile=0.5\n"
			   "lat|lat|4|nan||quantile=0.99\n"
			   "lat|lat_sum|4|2|\n"
			   "lat|lat_count|4|4|\n"
			   "lat_bucket|lat_bucket|2|1||le=1\n";
	CHECK_STR(c.out.p, want);
	CHECK(p.malformed == 1);
	CHECK_STR(p.bad_why, "summary quantile without a valid quantile label");
	nro_prom_free(&p);
	coll_free(&c);
}

TEST(escaped_label_values)
{
	struct coll c;
	struct nro_prom p;
	one("m{a=\"x\\\\y\",b=\"q\\\"q\",c=\"l1\\nl2\",d=\"\",e=\"caf\xc3\xa9\",f=\"{},= #\"} 1\n"
	    "m{a=\"\\t\"} 1\n"          /* unknown escape */
	    "m{a=\"\\\"} 1\n"           /* the quote is escaped: unterminated */
	    "m{a=\"\xff\"} 1\n"         /* not UTF-8 */
	    "m{a=\"\xed\xa0\x80\"} 1\n" /* a surrogate in UTF-8 */
	    "m{id=\"/system.slice/system-serial\\\\x2dgetty.slice\"} 0\n",
	    &c, &p);
	const char *want = "m|m|2|1||a=x\\y|b=q\"q|c=l1\nl2|d=|e=caf\xc3\xa9|f={},= #\n"
			   "m|m|2|0||id=/system.slice/system-serial\\x2dgetty.slice\n";
	CHECK_STR(c.out.p, want);
	CHECK(p.malformed == 4);
	nro_prom_free(&p);
	coll_free(&c);
}

TEST(values)
{
	static const struct {
		const char *v;
		double want; /* checked with ==, or isnan when want is NaN */
	} ok[] = {
		{ "NaN", NAN }, { "nan", NAN }, { "+Inf", INFINITY }, { "-Inf", -INFINITY },
		{ "Inf", INFINITY }, { "inf", INFINITY }, { "-infinity", -INFINITY },
		{ "+Infinity", INFINITY }, { "1e3", 1000 }, { "-1.5E-3", -0.0015 }, { "0x1p4", 16 },
		{ "-0x1.8p1", -3 }, { ".5", 0.5 }, { "5.", 5 }, { "+3", 3 }, { "0", 0 }, { "-0", -0.0 },
		{ "1.7976931348623157e308", 1.7976931348623157e308 }, { "1e-400", 0 },
		{ "334177", 334177 }, { "1.633253812125e+12", 1633253812125.0 },
	};
	static const char *bad[] = {
		"1e", "abc", "+nan", "-NaN", "nan(1)", "0x10", "1_000", "1e999", "-1e999", "--1",
		"1.2.3", "0x", "e5", ".", "+", "infin", "1e+", "1,5", "0x1p", "1 e5x",
	};
	char body[128];
	for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
		struct coll c;
		struct nro_prom p;
		snprintf(body, sizeof body, "v %s\n", ok[k].v);
		CHECK(one(body, &c, &p) == 1);
		int good = isnan(ok[k].want) ? isnan(c.value) : c.value == ok[k].want;
		if (!good || p.malformed)
			fprintf(stderr, "value %s -> %.17g\n", ok[k].v, c.value);
		CHECK(good);
		CHECK(signbit(c.value) == signbit(ok[k].want) || isnan(c.value));
		nro_prom_free(&p);
		coll_free(&c);
	}
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		struct coll c;
		struct nro_prom p;
		snprintf(body, sizeof body, "v %s\n", bad[k]);
		int n = one(body, &c, &p);
		if (n != 0)
			fprintf(stderr, "value %s accepted\n", bad[k]);
		CHECK(n == 0);
		CHECK(p.malformed == 1);
		nro_prom_free(&p);
		coll_free(&c);
	}
}

TEST(timestamps)
{
	struct coll c;
	struct nro_prom p;
	one("a 1 1633253812125\n"
	    "b{x=\"y\"} 2 -5\n"
	    "c 3 +7\n"
	    "d 4 9223372036854775807\n"
	    "e 5 -9223372036854775808\n"
	    "f 6 9223372036854775808\n" /* out of range */
	    "g 7 1.5\n"                 /* not an integer */
	    "h 8 123 extra\n"           /* trailing text */
	    "i 9 12a\n",
	    &c, &p);
	const char *want = "a|a|2|1|1633253812125\n"
			   "b|b|2|2|-5|x=y\n"
			   "c|c|2|3|7\n"
			   "d|d|2|4|9223372036854775807\n"
			   "e|e|2|5|-9223372036854775808\n";
	CHECK_STR(c.out.p, want);
	CHECK(p.malformed == 4);
	CHECK_STR(p.bad_why, "invalid timestamp");
	CHECK(p.bad_line == 9);
	nro_prom_free(&p);
	coll_free(&c);
}

TEST(whitespace_and_line_endings)
{
	struct coll c;
	struct nro_prom p;
	one("  \t a 1  \t\r\n"
	    "b {x=\"1\"} 2\r\n"
	    "c{ x = \"1\" , y=\"2\" , } \t3\t 44 \n"
	    "\r\n"
	    "   \n"
	    "d\t4\n",
	    &c, &p);
	const char *want = "a|a|2|1|\n"
			   "b|b|2|2||x=1\n"
			   "c|c|2|3|44|x=1|y=2\n"
			   "d|d|2|4|\n";
	CHECK_STR(c.out.p, want);
	CHECK(p.malformed == 0);
	CHECK(p.lines == 6);
	nro_prom_free(&p);
	coll_free(&c);
}

TEST(label_syntax)
{
	struct coll c;
	struct nro_prom p;
	one("a{} 1\n"
	    "b{x=\"1\",} 2\n"
	    ":c:d_e{_l9=\"v\"} 3\n"
	    "dup{x=\"1\",x=\"2\"} 1\n"
	    "comma{,} 1\n"
	    "num{1a=\"b\"} 1\n"
	    "colon{a:b=\"c\"} 1\n"
	    "noquote{a=b} 1\n"
	    "noeq{a \"b\"} 1\n"
	    "unterminated{a=\"b} 1\n"
	    "noclose{a=\"b\" 1\n"
	    "twocommas{a=\"b\",,} 1\n"
	    "1bad 1\n"
	    "bad-name 1\n"
	    "novalue\n"
	    "novalue2{a=\"b\"}\n"
	    "e 5\n",
	    &c, &p);
	const char *want = "a|a|2|1|\n"
			   "b|b|2|2||x=1\n"
			   ":c:d_e|:c:d_e|2|3||_l9=v\n"
			   "e|e|2|5|\n";
	CHECK_STR(c.out.p, want);
	CHECK(p.malformed == 13);
	CHECK(p.samples == 4);
	nro_prom_free(&p);
	coll_free(&c);
}

TEST(label_cap)
{
	char body[4096];
	size_t n = 0;
	struct coll c;
	struct nro_prom p;
	for (int pass = 0; pass < 2; pass++) {
		int count = NRO_PROM_LABELS_MAX + pass;
		n = (size_t)snprintf(body, sizeof body, "m{");
		for (int k = 0; k < count; k++)
			n += (size_t)snprintf(body + n, sizeof body - n, "l%d=\"%d\",", k, k);
		n += (size_t)snprintf(body + n, sizeof body - n, "} 1\n");
		coll_init(&c);
		parse_all(body, n, 0, &c, &p);
		CHECK(c.n == (pass ? 0u : 1u));
		CHECK(p.malformed == (pass ? 1u : 0u));
		if (pass)
			CHECK_STR(p.bad_why, "too many labels");
		else
			CHECK(c.nlabels == NRO_PROM_LABELS_MAX);
		nro_prom_free(&p);
		coll_free(&c);
	}
}

TEST(comments_and_help_type_errors)
{
	struct coll c;
	struct nro_prom p;
	one("# just a comment\n"
	    "#no space\n"
	    "# HELP\n"                        /* a plain comment */
	    "# TYPE\n"
	    "#\n"
	    "# HELP h a \\\\ b \\n c\n"
	    "# HELP h2 bad \\t escape\n"      /* malformed */
	    "# TYPE t flurb\n"                /* malformed */
	    "# TYPE t gauge extra\n"          /* malformed */
	    "# TYPE 9t gauge\n"               /* malformed */
	    "# TYPE t\n"                      /* malformed: no type */
	    "#TYPE x counter\n"               /* "#TYPE" is a TYPE line too */
	    "x 1\n"
	    "# EOFX\n",
	    &c, &p);
	CHECK_STR(c.out.p, "x|x|1|1|\n");
	CHECK(p.malformed == 5);
	CHECK(p.lines == 14);
	CHECK(!p.eof);
	nro_prom_free(&p);
	coll_free(&c);
}

TEST(family_name_cap)
{
	char body[2048];
	struct coll c;
	struct nro_prom p;
	char name[NRO_PROM_NAME_MAX + 1];
	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	snprintf(body, sizeof body, "# TYPE %s gauge\n%s 1\n", name, name);
	one(body, &c, &p);
	CHECK(p.malformed == 1);
	CHECK_STR(p.bad_why, "family name too long");
	CHECK(c.n == 1 && c.type == NRO_MT_UNTYPED); /* the sample still parses */
	nro_prom_free(&p);
	coll_free(&c);
	name[NRO_PROM_NAME_MAX - 1] = '\0';
	snprintf(body, sizeof body, "# TYPE %s gauge\n%s 1\n", name, name);
	one(body, &c, &p);
	CHECK(p.malformed == 0 && c.n == 1 && c.type == NRO_MT_GAUGE);
	nro_prom_free(&p);
	coll_free(&c);
}

TEST(malformed_lines_are_skipped)
{
	struct coll c;
	struct nro_prom p;
	one("a 1\n"
	    "garbage here\n"
	    "b{x=\"1\" 2\n"
	    "c 3\n"
	    "{x=\"1\"} 4\n"
	    "d 4\n",
	    &c, &p);
	CHECK_STR(c.out.p, "a|a|2|1|\nc|c|2|3|\nd|d|2|4|\n");
	CHECK(p.malformed == 3);
	CHECK(p.samples == 3);
	CHECK(p.bad_line == 5);
	CHECK_STR(p.bad_why, "invalid metric name");
	nro_prom_free(&p);
	coll_free(&c);
}

TEST(no_final_newline)
{
	struct coll c;
	struct nro_prom p;
	coll_init(&c);
	nro_prom_init(&p, 0, on_sample, &c);
	CHECK(nro_prom_feed(&p, "a 1\nb{x=\"y\"} 2 17", 17) == 0);
	CHECK(c.n == 1);
	CHECK(nro_prom_finish(&p) == 0);
	CHECK(c.n == 2);
	CHECK_STR(c.out.p, "a|a|2|1|\nb|b|2|2|17|x=y\n");
	CHECK(p.lines == 2);
	CHECK(nro_prom_finish(&p) == 0); /* idempotent */
	CHECK(c.n == 2);
	nro_prom_free(&p);
	coll_free(&c);
}

TEST(openmetrics_eof)
{
	struct coll c;
	struct nro_prom p;
	one("# TYPE a counter\na_total 1\n# EOF\nb 2\ngarbage\n", &c, &p);
	CHECK_STR(c.out.p, "a|a_total|1|1|\n");
	CHECK(p.eof);
	CHECK(p.malformed == 0);
	CHECK(p.lines == 3);
	nro_prom_free(&p);
	coll_free(&c);
	one("a 1\n# EOF", &c, &p); /* EOF without its newline */
	CHECK(p.eof && c.n == 1);
	nro_prom_free(&p);
	coll_free(&c);
	one("a 1\n  # EOF  \r\n", &c, &p);
	CHECK(p.eof && c.n == 1);
	nro_prom_free(&p);
	coll_free(&c);
}

TEST(over_long_line)
{
	char body[2048];
	char longl[600];
	struct coll c;
	struct nro_prom p;
	memset(longl, 'x', sizeof longl - 1);
	longl[sizeof longl - 1] = '\0';
	int n = snprintf(body, sizeof body, "a 1\nm{v=\"%s\"} 1\nb 2\n", longl);
	/* line_max 128: the 600-byte line is malformed, the rest parses, fed
	 * whole, one byte at a time, and in 50-byte pieces */
	for (size_t piece = 0; piece < 3; piece++) {
		size_t step = piece == 0 ? (size_t)n : piece == 1 ? 1 : 50;
		coll_init(&c);
		nro_prom_init(&p, 128, on_sample, &c);
		for (size_t off = 0; off < (size_t)n; off += step)
			CHECK(nro_prom_feed(&p, body + off, off + step > (size_t)n ? (size_t)n - off : step) == 0);
		CHECK(nro_prom_finish(&p) == 0);
		CHECK_STR(c.out.p, "a|a|2|1|\nb|b|2|2|\n");
		CHECK(p.malformed == 1);
		CHECK_STR(p.bad_why, "line too long");
		CHECK(p.bad_line == 2);
		CHECK(p.lines == 3);
		CHECK(p.line_cap <= 128);
		nro_prom_free(&p);
		coll_free(&c);
	}
	/* the boundary: 127 bytes before '\n' fit a 128-byte buffer, 128 do not */
	for (int extra = 0; extra < 2; extra++) {
		char l[200];
		int len = 127 + extra;
		memset(l, '1', (size_t)len);
		memcpy(l, "a ", 2);
		l[len] = '\n';
		coll_init(&c);
		nro_prom_init(&p, 128, on_sample, &c);
		nro_prom_feed(&p, l, (size_t)len + 1);
		nro_prom_feed(&p, "b 2\n", 4);
		nro_prom_finish(&p);
		CHECK(c.n == (extra ? 1u : 2u));
		CHECK(p.malformed == (extra ? 1u : 0u));
		nro_prom_free(&p);
		coll_free(&c);
	}
	/* an over-long last line without a newline */
	coll_init(&c);
	nro_prom_init(&p, 128, on_sample, &c);
	nro_prom_feed(&p, "a 1\n", 4);
	nro_prom_feed(&p, longl, strlen(longl));
	nro_prom_feed(&p, longl, strlen(longl));
	CHECK(nro_prom_finish(&p) == 0);
	CHECK(c.n == 1 && p.malformed == 1 && p.lines == 2);
	nro_prom_free(&p);
	coll_free(&c);
}

/* A body with every feature, for the split tests. */
static const char split_body[] =
	"# HELP rt Request time with \\\\ and \\n.\n"
	"# TYPE rt histogram\r\n"
	"rt_bucket{le=\"0.5\",path=\"/a\\\"b\\\\c\\nd\"} 1 1633253812125\n"
	"rt_bucket{le=\"+Inf\",path=\"/a\"} 2\n"
	"rt_sum{path=\"/a\"} 1.5e-3\n"
	"rt_count{path=\"/a\"} 2\n"
	"\n"
	"# a comment\n"
	"# TYPE s summary\n"
	"s{quantile=\"0.99\"} NaN\n"
	"s_sum -Inf\n"
	"s_count +Inf\r\n"
	"bad line here\n"
	"  u{a=\"x\",} 7 \t\n"
	"e{} 0\n"
	"last{z=\"\xc3\xa9\"} 42 -1";

TEST(split_anywhere)
{
	size_t n = sizeof split_body - 1;
	struct coll ref, c;
	struct nro_prom p;
	coll_init(&ref);
	parse_all(split_body, n, 0, &ref, &p);
	CHECK(ref.n == 10);
	CHECK(p.malformed == 1);
	uint64_t ref_lines = p.lines;
	nro_prom_free(&p);
	/* every two-piece split */
	for (size_t cut = 0; cut <= n; cut++) {
		coll_init(&c);
		nro_prom_init(&p, 0, on_sample, &c);
		nro_prom_feed(&p, split_body, cut);
		nro_prom_feed(&p, split_body + cut, n - cut);
		nro_prom_finish(&p);
		if (c.n != ref.n || strcmp(c.out.p, ref.out.p) != 0)
			fprintf(stderr, "split at %zu differs\n", cut);
		CHECK(c.n == ref.n && strcmp(c.out.p, ref.out.p) == 0);
		CHECK(p.malformed == 1 && p.lines == ref_lines);
		nro_prom_free(&p);
		coll_free(&c);
	}
	/* one byte at a time */
	coll_init(&c);
	nro_prom_init(&p, 0, on_sample, &c);
	for (size_t k = 0; k < n; k++)
		nro_prom_feed(&p, split_body + k, 1);
	nro_prom_finish(&p);
	CHECK(strcmp(c.out.p, ref.out.p) == 0);
	nro_prom_free(&p);
	coll_free(&c);
	/* random splits (fixed seed: reproducible) */
	uint32_t seed = 12345;
	for (int round = 0; round < 500; round++) {
		coll_init(&c);
		nro_prom_init(&p, 0, on_sample, &c);
		for (size_t off = 0; off < n;) {
			seed = seed * 1103515245u + 12345u;
			size_t step = (seed >> 16) % 40;
			if (step > n - off)
				step = n - off;
			nro_prom_feed(&p, split_body + off, step); /* step 0 is fine too */
			off += step;
		}
		nro_prom_finish(&p);
		CHECK(strcmp(c.out.p, ref.out.p) == 0);
		nro_prom_free(&p);
		coll_free(&c);
	}
	coll_free(&ref);
}

TEST(callback_abort_and_reset)
{
	struct coll c;
	struct nro_prom p;
	coll_init(&c);
	c.abort_at = 2;
	nro_prom_init(&p, 0, on_sample, &c);
	CHECK(nro_prom_feed(&p, "# TYPE g gauge\ng 1\ng 2\ng 3\n", 26) == -1);
	CHECK(c.n == 2);
	CHECK_STR(p.error, "aborted");
	CHECK(p.samples == 1);
	CHECK(nro_prom_feed(&p, "h 1\n", 4) == -1); /* sticky */
	CHECK(nro_prom_finish(&p) == -1);
	CHECK(c.n == 2);
	nro_prom_reset(&p);
	c.abort_at = 0;
	CHECK(p.samples == 0 && p.lines == 0 && p.error == NULL);
	CHECK(nro_prom_feed(&p, "g 4\n", 4) == 0); /* the old TYPE is forgotten */
	CHECK(nro_prom_finish(&p) == 0);
	CHECK(c.n == 3 && c.type == NRO_MT_UNTYPED);
	CHECK(p.samples == 1 && p.lines == 1);
	/* finish aborting on a last line */
	nro_prom_reset(&p);
	c.abort_at = 4;
	CHECK(nro_prom_feed(&p, "g 5", 3) == 0);
	CHECK(nro_prom_finish(&p) == -1);
	nro_prom_free(&p);
	coll_free(&c);
}

TEST(label_normalization)
{
	struct coll c;
	struct nro_prom p;
	CHECK_STR(nro_prom_normalize_label("container_name"), "container");
	CHECK_STR(nro_prom_normalize_label("pod_name"), "pod");
	CHECK_STR(nro_prom_normalize_label("namespace"), "namespace");
	CHECK_STR(nro_prom_normalize_label("container"), "container");
	/* a 1.15 sample with both names, and a pre-1.15 one with the old only */
	struct nro_prom_sample s = { .nlabels = 4 };
	s.labels[0] = (struct nro_prom_label){ "container", "c" };
	s.labels[1] = (struct nro_prom_label){ "container_name", "c" };
	s.labels[2] = (struct nro_prom_label){ "pod_name", "p" };
	s.labels[3] = (struct nro_prom_label){ "namespace", "n" };
	CHECK(!nro_prom_label_dropped(&s, 0));
	CHECK(nro_prom_label_dropped(&s, 1));
	CHECK(!nro_prom_label_dropped(&s, 2)); /* no "pod": renamed, kept */
	CHECK(!nro_prom_label_dropped(&s, 3));
	CHECK(!nro_prom_label_dropped(&s, 9));
	one("m{container_name=\"c\",pod_name=\"p\",pod=\"p\"} 1\n", &c, &p);
	CHECK(c.n == 1);
	nro_prom_free(&p);
	coll_free(&c);
}

TEST(family_filter)
{
	struct nro_prom_filter f;
	const char *why = NULL;
	nro_prom_filter_init(&f);
	CHECK(nro_prom_filter_match(&f, "anything")); /* empty: everything */
	CHECK(nro_prom_filter_add_list(&f, " container_cpu_usage_seconds_total , container_pressure_*,,", NRO_PROM_ALLOW, &why) == 0);
	CHECK(f.n[NRO_PROM_ALLOW] == 2);
	CHECK(nro_prom_filter_match(&f, "container_cpu_usage_seconds_total"));
	CHECK(!nro_prom_filter_match(&f, "container_cpu_usage_seconds"));
	CHECK(nro_prom_filter_match(&f, "container_pressure_cpu_waiting_seconds_total"));
	CHECK(nro_prom_filter_match(&f, "container_pressure_"));
	CHECK(!nro_prom_filter_match(&f, "container_pressur"));
	CHECK(!nro_prom_filter_match(&f, "machine_cpu_cores"));
	CHECK(nro_prom_filter_add_list(&f, "container_pressure_io_*", NRO_PROM_DENY, &why) == 0);
	CHECK(!nro_prom_filter_match(&f, "container_pressure_io_stalled_seconds_total")); /* deny wins */
	CHECK(nro_prom_filter_match(&f, "container_pressure_memory_stalled_seconds_total"));
	CHECK(nro_prom_filter_add_list(&f, "all", NRO_PROM_ALLOW, &why) == 0);
	CHECK(nro_prom_filter_match(&f, "machine_cpu_cores"));
	CHECK(!nro_prom_filter_match(&f, "container_pressure_io_x"));
	CHECK(nro_prom_filter_add_list(&f, "all", NRO_PROM_DENY, &why) == 0);
	CHECK(!nro_prom_filter_match(&f, "machine_cpu_cores"));
	nro_prom_filter_free(&f);
	CHECK(nro_prom_filter_match(&f, "machine_cpu_cores")); /* empty again */
	/* bad patterns */
	static const char *badl[] = { "a-b", "a*b", "*a", "1abc", "a**", "a b", "all*x" };
	for (size_t k = 0; k < sizeof badl / sizeof badl[0]; k++) {
		why = NULL;
		CHECK(nro_prom_filter_add_list(&f, badl[k], NRO_PROM_DENY, &why) == -1);
		CHECK_STR(why, "invalid family pattern");
	}
	CHECK(nro_prom_filter_add_list(&f, "", NRO_PROM_DENY, &why) == 0);
	CHECK(nro_prom_filter_add_list(&f, " , ", NRO_PROM_DENY, &why) == 0);
	CHECK(nro_prom_filter_add_list(&f, "*", NRO_PROM_DENY, &why) == 0); /* prefix "" */
	CHECK(!nro_prom_filter_match(&f, "x"));
	nro_prom_filter_free(&f);
	/* the pattern cap */
	char list[8192];
	size_t n = 0;
	for (int k = 0; k <= NRO_PROM_FILTER_MAX; k++)
		n += (size_t)snprintf(list + n, sizeof list - n, "f%d,", k);
	CHECK(nro_prom_filter_add_list(&f, list, NRO_PROM_ALLOW, &why) == -1);
	CHECK_STR(why, "too many patterns");
	CHECK(f.n[NRO_PROM_ALLOW] == NRO_PROM_FILTER_MAX);
	CHECK(nro_prom_filter_match(&f, "f255") && !nro_prom_filter_match(&f, "f256"));
	nro_prom_filter_free(&f);
}

TEST(parser_with_filter)
{
	struct nro_prom_filter f;
	struct coll c;
	struct nro_prom p;
	nro_prom_filter_init(&f);
	CHECK(nro_prom_filter_add_list(&f, "rt,keep_*", NRO_PROM_ALLOW, NULL) == 0);
	coll_init(&c);
	nro_prom_init(&p, 0, on_sample, &c);
	nro_prom_set_filter(&p, &f);
	const char *body = "# TYPE rt histogram\nrt_bucket{le=\"1\"} 1\nrt_sum 1\nrt_count 1\n"
			   "# TYPE drop gauge\ndrop 1\ndrop{bad labels} 1\n"
			   "keep_me 2\nnot_me 3\n";
	nro_prom_feed(&p, body, strlen(body));
	nro_prom_finish(&p);
	CHECK_STR(c.out.p, "rt|rt_bucket|3|1||le=1\nrt|rt_sum|3|1|\nrt|rt_count|3|1|\nkeep_me|keep_me|2|2|\n");
	CHECK(p.filtered == 3);
	CHECK(p.malformed == 0); /* filtered lines are not checked */
	nro_prom_free(&p);
	coll_free(&c);
	nro_prom_filter_free(&f);
}

/* ---- memory stays bounded ---------------------------------------------- */

static int count_only(void *ctx, const struct nro_prom_sample *s)
{
	(void)s;
	(*(uint64_t *)ctx)++;
	return 0;
}

TEST(fifty_megabytes_in_constant_memory)
{
	/* a block of distinct series, repeated; chunks cut across lines */
	char block[4096];
	size_t bl = 0;
	unsigned per_block = 0;
	bl += (size_t)snprintf(block + bl, sizeof block - bl, "# TYPE gen_seconds histogram\n");
	for (int k = 0; k < 20; k++, per_block++)
		bl += (size_t)snprintf(block + bl, sizeof block - bl,
				       "gen_seconds_bucket{pod=\"p-%d\",ns=\"kube-system\",le=\"%d.5\"} %d.25 1633253812125\n",
				       k, k, k * 7);
	bl += (size_t)snprintf(block + bl, sizeof block - bl, "gen_seconds_sum 1e3\ngen_seconds_count 20\n");
	per_block += 2;
	const size_t total = 50u << 20, chunk = 64u << 10;
	size_t blocks = total / bl + 1;
	char *buf = malloc(chunk);
	CHECK(buf != NULL);
	if (!buf)
		return;
	uint64_t got = 0;
	struct nro_prom p;
	nro_prom_init(&p, 0, count_only, &got);
	size_t made = 0, off_in_block = 0, fed = 0, max_cap = 0;
	while (made < blocks) {
		size_t n = 0;
		while (n < chunk && made < blocks) {
			size_t take = bl - off_in_block;
			if (take > chunk - n)
				take = chunk - n;
			memcpy(buf + n, block + off_in_block, take);
			n += take;
			off_in_block += take;
			if (off_in_block == bl) {
				off_in_block = 0;
				made++;
			}
		}
		CHECK(nro_prom_feed(&p, buf, n) == 0);
		fed += n;
		if (p.line_cap > max_cap)
			max_cap = p.line_cap;
	}
	CHECK(nro_prom_finish(&p) == 0);
	CHECK(fed >= total);
	CHECK(got == (uint64_t)blocks * per_block);
	CHECK(p.samples == got);
	CHECK(p.malformed == 0);
	CHECK(max_cap <= p.line_max);
	CHECK(max_cap <= 4096); /* lines are short: the first allocation sufficed */
	nro_prom_free(&p);
	free(buf);
}

/* ---- real kubelet fixtures --------------------------------------------- */

/* Runs cmd and reads up to max whitespace-separated numbers from its
 * output. Returns how many, or -1 if the command failed. */
static int shell_nums(const char *cmd, long long *v, int max)
{
	FILE *f = popen(cmd, "r");
	char buf[512];
	int n = 0;
	if (!f)
		return -1;
	size_t r = fread(buf, 1, sizeof buf - 1, f);
	buf[r] = '\0';
	if (pclose(f) != 0)
		return -1;
	char *s = buf;
	while (n < max) {
		char *e;
		long long x = strtoll(s, &e, 10);
		if (e == s)
			break;
		v[n++] = x;
		s = e;
	}
	return n;
}

/* An independent typing of the samples, in awk: counts per type in the
 * order gauge counter untyped histogram summary (enum nro_metric_type). */
static const char awk_types[] =
	"awk '"
	"/^[ \\t]*#/ { if ($2 == \"TYPE\") { fam = $3; t = $4 } "
	"else if ($2 == \"HELP\" && $3 != fam) { fam = $3; t = \"untyped\" } next } "
	"NF == 0 { next } "
	"{ n = $0; sub(/^[ \\t]+/, \"\", n); sub(/[{ \\t].*/, \"\", n); ty = \"untyped\"; "
	"if (n == fam) ty = t; "
	"else if (t == \"histogram\" && (n == fam \"_bucket\" || n == fam \"_sum\" || n == fam \"_count\")) ty = t; "
	"else if (t == \"summary\" && (n == fam \"_sum\" || n == fam \"_count\")) ty = t; "
	"else if (t == \"counter\" && n == fam \"_total\") ty = t; "
	"c[ty]++ } "
	"END { printf \"%%d %%d %%d %%d %%d\\n\", c[\"gauge\"], c[\"counter\"], c[\"untyped\"], "
	"c[\"histogram\"], c[\"summary\"] }' '%s'";

TEST(kubelet_fixtures)
{
	char pat[512], cmd[2048];
	glob_t g;
	snprintf(pat, sizeof pat, "%s/kubelet/*/metrics*.txt", fixtures());
	CHECK(glob(pat, 0, NULL, &g) == 0);
	CHECK(g.gl_pathc >= 15);
	for (size_t k = 0; k < g.gl_pathc; k++) {
		const char *path = g.gl_pathv[k];
		size_t len = 0;
		CHECK(strchr(path, '\'') == NULL);
		char *body = testing_slurp(path, &len);
		CHECK(body != NULL);
		if (!body)
			continue;
		struct coll c;
		struct nro_prom p;
		coll_init(&c);
		nro_prom_init(&p, 0, on_sample, &c);
		for (size_t off = 0; off < len; off += 16384) /* libcurl-sized chunks */
			CHECK(nro_prom_feed(&p, body + off, len - off < 16384 ? len - off : 16384) == 0);
		CHECK(nro_prom_finish(&p) == 0);
		if (p.malformed)
			fprintf(stderr, "%s: %" PRIu64 " malformed, last at line %" PRIu64 ": %s\n", path,
				p.malformed, p.bad_line, p.bad_why);
		CHECK(p.malformed == 0);
		CHECK(p.line_cap <= p.line_max);
		long long want[5] = { -1, -1, -1, -1, -1 };
		snprintf(cmd, sizeof cmd, "awk 'NF && $1 !~ /^#/ { n++ } END { print n + 0 }' '%s'", path);
		CHECK(shell_nums(cmd, want, 1) == 1);
		if ((long long)p.samples != want[0])
			fprintf(stderr, "%s: %" PRIu64 " samples, awk counts %lld\n", path, p.samples, want[0]);
		CHECK((long long)p.samples == want[0] && c.n == p.samples && p.samples > 0);
		snprintf(cmd, sizeof cmd, awk_types, path);
		CHECK(shell_nums(cmd, want, 5) == 5);
		for (int t = 0; t <= NRO_MT_MAX; t++) {
			if (c.types[t] != want[t])
				fprintf(stderr, "%s: type %d: %u, awk %lld\n", path, t, c.types[t], want[t]);
			CHECK(c.types[t] == want[t]);
		}
		if (strstr(path, "/v1.15/metrics_cadvisor"))
			CHECK(c.both_container > 0); /* 1.15 carries both names */
		if (strstr(path, "/gke-pre-1.16/metrics_cadvisor"))
			CHECK(c.old_only > 0 && c.both_container == 0);
		/* the same samples fed whole and 1..37 bytes at a time */
		if (strstr(path, "/gke-pre-1.16/metrics.txt") || strstr(path, "/kind-1.21/")) {
			struct coll c2;
			struct nro_prom p2;
			coll_init(&c2);
			nro_prom_init(&p2, 0, on_sample, &c2);
			for (size_t off = 0, step = 1; off < len; off += step, step = step % 37 + 1)
				nro_prom_feed(&p2, body + off, len - off < step ? len - off : step);
			nro_prom_finish(&p2);
			CHECK(c2.out.p && c.out.p && strcmp(c2.out.p, c.out.p) == 0);
			nro_prom_free(&p2);
			coll_free(&c2);
		}
		nro_prom_free(&p);
		coll_free(&c);
		free(body);
	}
	globfree(&g);
}

int main(void)
{
	RUN(basic_sample);
	RUN(types_from_help_and_type);
	RUN(histogram_typing);
	RUN(summary_typing);
	RUN(escaped_label_values);
	RUN(values);
	RUN(timestamps);
	RUN(whitespace_and_line_endings);
	RUN(label_syntax);
	RUN(label_cap);
	RUN(comments_and_help_type_errors);
	RUN(family_name_cap);
	RUN(malformed_lines_are_skipped);
	RUN(no_final_newline);
	RUN(openmetrics_eof);
	RUN(over_long_line);
	RUN(split_anywhere);
	RUN(callback_abort_and_reset);
	RUN(label_normalization);
	RUN(family_filter);
	RUN(parser_with_filter);
	RUN(fifty_megabytes_in_constant_memory);
	RUN(kubelet_fixtures);
	return testing_done();
}
