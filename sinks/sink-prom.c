/*
 * sink-prom: the pipeline as a Prometheus target. Keeps the last value of
 * every series the analyzer publishes (the collectors' metrics, forwarded,
 * and its derived node_runtime_* metrics) plus one node_runtime_alert series
 * per firing alert, and serves them on GET /metrics (docs/sink-prom.md).
 *
 * Threads: the sink loop (lib/run/sink.h) updates the series table per
 * message; the listener's one polling thread (net/httpd.h) renders it on
 * demand. One mutex (served.mu) guards the table and the rendered bodies:
 * the sink loop holds it while it applies one message, a scrape while it
 * sweeps what went stale and, only when the table changed since the last
 * render in the format asked for, renders it again. A rendered body is
 * reference counted, so a slow client never holds the mutex: it holds its
 * body until sent. Nothing is rendered while nobody scrapes.
 */
#include <fnmatch.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/file.h"
#include "base/log.h"
#include "net/httpd.h"
#include "render/promtext.h"
#include "run/sink.h"
#include "wire/record.h"
#include "wire/transport.h"

#define PROG "sink-prom"
#define DEFAULT_LISTEN "0.0.0.0:10270"
#define PATTERNS_MAX 64
#define SOURCES_MAX 256         /* distinct record sources tracked; more share one slot */
#define SRC_ALERTS 0            /* node_runtime_alert series: never stale */
#define SRC_OTHER 1             /* sources past SOURCES_MAX */
#define STALE_POLLS 3           /* a series vanishes after this many missed polls */
#define SWEEP_EVERY_MS 1000     /* the sink loop sweeps stale series at most this often */
#define SCRAPE_MAX (512u << 20) /* a rendered table is capped */
#define OWN_MAX (64u << 10)     /* the sink's own metrics, rendered per scrape */
#define AUTH_MAX 4096           /* the basic-auth file */
#define CT_TEXT "text/plain; version=0.0.4; charset=utf-8"
#define CT_OM "application/openmetrics-text; version=1.0.0; charset=utf-8"

static const char SUMMARY[] =
	"Serve the pipeline's metrics and firing alerts to Prometheus: GET /metrics in\n"
	"the text format 0.0.4 (OpenMetrics 1.0 when the scraper's Accept asks for it),\n"
	"GET /healthz. Keeps the last value of every series; a series not refreshed for\n"
	"3 of its source's poll intervals (or missing from a finished poll) vanishes.\n"
	"A scrape renders the table only when it changed since the last scrape.\n"
	"Firing alerts are node_runtime_alert{alertname,severity,node,namespace,pod,\n"
	"container} 1, gone when resolved. Names and the OpenTelemetry conversion:\n"
	"docs/sink-prom.md. Its state is in memory, so at start it reads the analyzer's\n"
	"ring from its oldest record: for sink-prom --from-start is always on and\n"
	"--cursor defaults to none (the shared lines below describe other sinks).\n"
	"\n"
	"Default --listen " DEFAULT_LISTEN ": a fixed port, because Prometheus's instance\n"
	"label carries it (a port that moved would start new series); outside both the\n"
	"exporters' 9100-9999 range, which is fully allocated, and the node's Kubernetes\n"
	"ports (10248-10259).";

struct patterns {
	const char *p[PATTERNS_MAX];
	size_t n;
};

static struct {
	const char *listen, *tls_cert, *tls_key, *basic_auth_file, *print;
	struct patterns allow, deny;
	uint64_t max_series;
	int64_t default_interval_ms;
} cfg = {.listen = DEFAULT_LISTEN, .max_series = 200000, .default_interval_ms = 15000};

static int add_patterns(void *dst, const char *value, char *err, size_t errlen)
{
	struct patterns *ps = dst;
	for (const char *p = value; *p;) {
		size_t n = strcspn(p, ",");
		if (n && ps->n >= PATTERNS_MAX) {
			snprintf(err, errlen, "at most %d patterns", PATTERNS_MAX);
			return -1;
		}
		if (n && !(ps->p[ps->n++] = strndup(p, n))) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		p += n + (p[n] == ',');
	}
	return 0;
}

static const struct nro_optdef opts[] = {
	{"listen", 0, "NRO_PROM_LISTEN", NRO_OPT_STR, &cfg.listen, NULL, "HOST:PORT",
	 "where to serve /metrics (default " DEFAULT_LISTEN "; port 0 picks a free one, "
	 "printed as the first line on stdout)"},
	{"tls-cert", 0, "NRO_PROM_TLS_CERT", NRO_OPT_STR, &cfg.tls_cert, NULL, "F",
	 "serve HTTPS with this certificate (PEM)"},
	{"tls-key", 0, "NRO_PROM_TLS_KEY", NRO_OPT_STR, &cfg.tls_key, NULL, "F",
	 "the certificate's key (PEM)"},
	{"basic-auth-file", 0, "NRO_PROM_BASIC_AUTH_FILE", NRO_OPT_STR, &cfg.basic_auth_file, NULL,
	 "F", "require HTTP basic auth on /metrics: F holds USER:PASSWORD lines"},
	{"allow", 0, "NRO_PROM_ALLOW", NRO_OPT_FUNC, &cfg.allow, add_patterns, "GLOB[,GLOB]",
	 "export only families matching one of these (fnmatch, e.g. 'container_*'); repeatable"},
	{"deny", 0, "NRO_PROM_DENY", NRO_OPT_FUNC, &cfg.deny, add_patterns, "GLOB[,GLOB]",
	 "never export families matching one of these (wins over --allow); repeatable"},
	{"max-series", 0, "NRO_PROM_MAX_SERIES", NRO_OPT_UINT, &cfg.max_series, NULL, "N",
	 "keep at most N series (default 200000); new ones past it are dropped and counted "
	 "in node_runtime_sink_series_dropped_total"},
	{"print", 0, "NRO_PROM_PRINT", NRO_OPT_STR, &cfg.print, NULL, "text|openmetrics",
	 "with -i -: no listener; once the input ends, print the exposition on stdout and exit "
	 "(e.g. collector-cadvisor --once -o - | sink-prom -i - --print text | promtool check metrics)"},
	{"default-interval", 0, "NRO_PROM_DEFAULT_INTERVAL", NRO_OPT_DUR, &cfg.default_interval_ms,
	 NULL, "D",
	 "poll interval assumed for a source that sends no health records (the analyzer's "
	 "derived metrics: its --metrics-interval; default 15s)"},
	{NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
};

/* ---- rendered bodies: what a scrape sends ------------------------------- */

/* The series table rendered in one format; the last reference frees it. */
struct body {
	atomic_int refs;
	struct nro_buf b;
};

/* One response: a reference to the table's body and the sink's own
 * metrics rendered for it. Freed when libmicrohttpd is done with it. */
struct reply {
	struct body *table; /* NULL: no table rendered yet (the first went past the cap) */
	struct nro_buf own;
};

static struct {
	pthread_mutex_t mu;      /* the series table (struct prom) and bodies[] */
	struct body *bodies[2];  /* [0] text, [1] OpenMetrics: the last render of each */
	uint64_t rendered[2];    /* the table version each was rendered (or tried) from */
	atomic_ullong scrapes, scrape_bytes, unauthorized;
	char **auth;             /* "user:password" lines, NULL-terminated; NULL = no auth */
	char *auth_file;         /* what they point into */
} served = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void body_put(struct body *b)
{
	if (b && atomic_fetch_sub(&b->refs, 1) == 1) {
		nro_buf_free(&b->b);
		free(b);
	}
}

static void reply_free(void *cls)
{
	struct reply *r = cls;
	if (r) {
		body_put(r->table);
		nro_buf_free(&r->own);
		free(r);
	}
}

/* Replaces the body of one format (the old one lives on while a response
 * holds it). Under served.mu. */
static void body_set(int om, struct body *b)
{
	body_put(served.bodies[om]);
	served.bodies[om] = b;
}

/* ---- the listener's side ------------------------------------------------ */

static int token_eq(const char *a, const char *b)
{
	size_t an = strlen(a), bn = strlen(b);
	unsigned char d = an != bn;
	for (size_t i = 0; i < an && i < bn; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

static int auth_ok(struct MHD_Connection *c)
{
	if (!served.auth)
		return 1;
	char *pass = NULL;
	char *user = MHD_basic_auth_get_username_password(c, &pass);
	int ok = 0;
	if (user && pass) {
		char both[1024];
		snprintf(both, sizeof both, "%s:%s", user, pass);
		for (char **l = served.auth; *l; l++)
			ok |= token_eq(both, *l);
		explicit_bzero(both, sizeof both);
	}
	MHD_free(user);
	if (pass) {
		explicit_bzero(pass, strlen(pass));
		MHD_free(pass);
	}
	return ok;
}

static int wants_openmetrics(struct MHD_Connection *c)
{
	const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
	return a && strstr(a, "application/openmetrics-text") != NULL;
}

static enum MHD_Result deny_auth(struct MHD_Connection *c)
{
	atomic_fetch_add(&served.unauthorized, 1);
	struct MHD_Response *r = MHD_create_response_from_buffer(
		strlen("Unauthorized\n"), (void *)"Unauthorized\n", MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	enum MHD_Result ret = MHD_queue_basic_auth_fail_response(c, "sink-prom", r);
	MHD_destroy_response(r);
	return ret;
}

static struct reply *scrape(int om);

/* Renders what changed and sends it; the response owns the reply. */
static enum MHD_Result serve_metrics(struct MHD_Connection *c)
{
	if (!auth_ok(c))
		return deny_auth(c);
	int om = wants_openmetrics(c);
	struct reply *rp = scrape(om);
	if (!rp)
		return MHD_NO;
	struct MHD_IoVec iov[2];
	unsigned n = 0;
	size_t len = rp->own.len;
	if (rp->table && rp->table->b.len) {
		iov[n++] = (struct MHD_IoVec){rp->table->b.p, rp->table->b.len};
		len += rp->table->b.len;
	}
	iov[n++] = (struct MHD_IoVec){rp->own.p ? rp->own.p : "", rp->own.len};
	struct MHD_Response *r = MHD_create_response_from_iovec(iov, n, reply_free, rp);
	if (!r) {
		reply_free(rp);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, om ? CT_OM : CT_TEXT);
	atomic_fetch_add(&served.scrapes, 1);
	atomic_fetch_add(&served.scrape_bytes, len);
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *ctx, struct MHD_Connection *c, const char *url,
				  const char *method)
{
	(void)ctx;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return nro_httpd_reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
				       "405 method not allowed\n");
	if (strcmp(url, "/metrics") == 0)
		return serve_metrics(c);
	if (strcmp(url, "/healthz") == 0)
		return nro_httpd_reply(c, MHD_HTTP_OK, "text/plain", "ok\n");
	if (strcmp(url, "/") == 0)
		return nro_httpd_reply(c, MHD_HTTP_OK, "text/html; charset=utf-8",
				       "<html><body><a href=\"/metrics\">/metrics</a></body></html>\n");
	return nro_httpd_reply(c, MHD_HTTP_NOT_FOUND, "text/plain", "404 page not found\n");
}

/* ---- the sink loop's side: the series table ---------------------------- */

struct source {
	char name[128];
	int64_t interval_ms; /* from its health records; 0 = not known yet */
	uint32_t generation; /* of the poll being delivered */
};

struct prom {
	struct nro_promtab *tab, *own;
	struct source src[SOURCES_MAX];
	size_t nsrc;
	int64_t max_age[SOURCES_MAX];
	uint64_t dropped, invalid, denied, renders, render_failures;
	uint64_t delivered, lost; /* the sink runtime's, copied under served.mu */
	uint64_t version;         /* bumped on every change to tab: a render is current while equal */
	int64_t last_sweep_ms, last_ts_ms, render_us;
};

static uint16_t source_id(struct prom *p, struct nro_str name)
{
	for (size_t i = 2; i < p->nsrc; i++)
		if (nro_str_eq(name, p->src[i].name))
			return (uint16_t)i;
	if (p->nsrc >= SOURCES_MAX)
		return SRC_OTHER;
	struct source *s = &p->src[p->nsrc];
	snprintf(s->name, sizeof s->name, "%.*s", name.len, name.p);
	s->generation = 1;
	return (uint16_t)p->nsrc++;
}

static int64_t stale_after(const struct prom *p, uint16_t id)
{
	int64_t iv = p->src[id].interval_ms ? p->src[id].interval_ms : cfg.default_interval_ms;
	return STALE_POLLS * iv;
}

static int matches(const struct patterns *ps, const char *name)
{
	for (size_t i = 0; i < ps->n; i++)
		if (fnmatch(ps->p[i], name, 0) == 0)
			return 1;
	return 0;
}

static int exported(const char *family)
{
	return (!cfg.allow.n || matches(&cfg.allow, family)) && !matches(&cfg.deny, family);
}

/* The Prometheus sample name of a metric: OpenTelemetry names (with a dot)
 * converted; Prometheus names kept. 0 or -1 (not a usable name). */
static int sample_name(const struct nro_metric *m, char *out, size_t outlen)
{
	if (memchr(m->name.p, '.', m->name.len))
		return nro_prom_otel_name(m->name.p, m->name.len, m->unit.p, m->unit.len, m->type, out,
					  outlen);
	if (!nro_prom_valid_name(m->name.p, m->name.len) || m->name.len >= outlen)
		return -1;
	memcpy(out, m->name.p, m->name.len);
	out[m->name.len] = '\0';
	return 0;
}

struct labels {
	struct nro_prom_label l[NRO_PROM_LABELS_MAX];
	char names[NRO_PROM_LABELS_MAX][NRO_PROM_NAME_MAX];
	size_t n;
};

static void label_add(struct labels *ls, const char *name, size_t nlen, struct nro_str v)
{
	if (ls->n >= NRO_PROM_LABELS_MAX ||
	    nro_prom_label_name(name, nlen, ls->names[ls->n], NRO_PROM_NAME_MAX) != 0)
		return;
	ls->l[ls->n] = (struct nro_prom_label){ls->names[ls->n], v.p, strlen(ls->names[ls->n]), v.len};
	ls->n++;
}

static void make_help(char *help, size_t len, const struct nro_metric *m, const char *src)
{
	if (m->unit.len)
		snprintf(help, len, "%.*s (%.*s), from %s", m->name.len, m->name.p, m->unit.len,
			 m->unit.p, src);
	else
		snprintf(help, len, "%.*s, from %s", m->name.len, m->name.p, src);
}

/* The HELP text of m's family; the table reads it only for a new family,
 * and a record's samples come family by family, so it is made again only
 * when the name, unit or source changes (one snprintf a family, not a sample). */
static const char *metric_help(const struct nro_metric *m, uint16_t sid, const char *src)
{
	static char help[600], name[256], unit[64];
	static uint16_t last_sid = UINT16_MAX;
	static uint16_t nl, ul;
	if (sid == last_sid && m->name.len == nl && m->unit.len == ul &&
	    (!nl || memcmp(m->name.p, name, nl) == 0) && (!ul || memcmp(m->unit.p, unit, ul) == 0))
		return help;
	last_sid = UINT16_MAX;
	if (m->name.len < sizeof name && m->unit.len < sizeof unit) {
		if (m->name.len)
			memcpy(name, m->name.p, m->name.len);
		if (m->unit.len)
			memcpy(unit, m->unit.p, m->unit.len);
		nl = m->name.len;
		ul = m->unit.len;
		last_sid = sid;
	}
	make_help(help, sizeof help, m, src);
	return help;
}

static void count_set(struct prom *p, int rc)
{
	if (rc == NRO_PT_FULL)
		p->dropped++;
	else if (rc == NRO_PT_INVALID)
		p->invalid++;
	else
		p->version++;
}

static void put_metric(struct prom *p, const struct nro_header *h, uint16_t sid,
		       const struct nro_metric *m)
{
	char sample[NRO_PROM_NAME_MAX], family[NRO_PROM_NAME_MAX];
	if (sample_name(m, sample, sizeof sample) != 0) {
		p->invalid++;
		return;
	}
	size_t fl = nro_prom_family_len(sample, strlen(sample), m->type);
	snprintf(family, sizeof family, "%.*s", (int)fl, sample);
	if (!exported(family)) {
		p->denied++;
		return;
	}
	static struct labels ls; /* large: one, owned by the sink loop */
	ls.n = 0;
	for (uint16_t i = 0; i < m->nattrs; i++)
		label_add(&ls, m->attrs[i].key.p, m->attrs[i].key.len, m->attrs[i].value);
	const char *help = metric_help(m, sid, p->src[sid].name);
	struct nro_prom_sample s = {family, sample, help, m->type, ls.l, ls.n, m->value,
				    h->ts_ms, sid, p->src[sid].generation};
	count_set(p, nro_promtab_set(p->tab, &s));
}

/* ---- alerts --------------------------------------------------------------- */

static const char ALERT_HELP[] =
	"1 for each alert the analyzer has firing now (the shape of Prometheus's ALERTS)";

static void alert_labels(struct labels *ls, const struct nro_header *h, const struct nro_event *e,
			 const char *severity)
{
	ls->n = 0;
	label_add(ls, "alertname", 9, e->type);
	label_add(ls, "severity", 8, nro_s(severity));
	label_add(ls, "node", 4, h->node);
	label_add(ls, "namespace", 9, e->object.namespace_);
	label_add(ls, "pod", 3, e->object.pod);
	label_add(ls, "container", 9, e->object.container);
	if (e->object.kind == NRO_OBJ_VOLUME)
		label_add(ls, "volume", 6, e->object.name);
	if (e->object.kind == NRO_OBJ_SERVICE)
		label_add(ls, "service", 7, e->object.name);
}

/* One series per alert: a firing event replaces the alert's series of any
 * other severity; a resolved one removes them all. */
static void put_event(struct prom *p, const struct nro_header *h, const struct nro_event *e)
{
	static struct labels ls;
	for (uint8_t sev = 0; sev <= NRO_SEV_MAX; sev++) {
		alert_labels(&ls, h, e, nro_severity_name(sev));
		struct nro_prom_sample s = {"node_runtime_alert", "node_runtime_alert", ALERT_HELP,
					    NRO_MT_GAUGE, ls.l, ls.n, 1, h->ts_ms, SRC_ALERTS, 0};
		if (e->state == NRO_EV_FIRING && sev == e->severity)
			count_set(p, nro_promtab_set(p->tab, &s));
		else if (nro_promtab_del(p->tab, &s))
			p->version++;
	}
}

/* The end of a source's poll: learn its interval; a poll that worked ends
 * its generation (series it did not mention go now). */
static void put_health(struct prom *p, uint16_t sid, const struct nro_health *x)
{
	struct source *s = &p->src[sid];
	if (x->interval_ms)
		s->interval_ms = x->interval_ms;
	p->max_age[sid] = stale_after(p, sid);
	if (x->status == NRO_HEALTH_FAILED || sid == SRC_OTHER)
		return;
	if (nro_promtab_sweep_source(p->tab, sid, s->generation))
		p->version++;
	s->generation++;
}

/* ---- rendering: on demand, under served.mu ------------------------------- */

static struct nro_sink sink;

static void own(struct prom *p, const char *name, uint8_t type, const char *help, double v)
{
	struct nro_prom_sample s = {name, name, help, type, NULL, 0, v, 0, 0, 0};
	nro_promtab_set(p->own, &s);
}

/* The sink's own metrics, as of this scrape (not counting it). */
static void own_metrics(struct prom *p, int64_t now)
{
	const uint8_t G = NRO_MT_GAUGE, C = NRO_MT_COUNTER;
	own(p, "node_runtime_sink_series", G, "series sink-prom exports now",
	    (double)nro_promtab_count(p->tab));
	own(p, "node_runtime_sink_series_dropped_total", C,
	    "new series refused because --max-series was reached", (double)p->dropped);
	own(p, "node_runtime_sink_samples_invalid_total", C,
	    "samples whose name or labels could not be exported", (double)p->invalid);
	own(p, "node_runtime_sink_samples_filtered_total", C,
	    "samples of families --allow/--deny leave out", (double)p->denied);
	own(p, "node_runtime_sink_scrapes_total", C, "scrapes of /metrics served",
	    (double)atomic_load(&served.scrapes));
	own(p, "node_runtime_sink_scrape_bytes_total", C, "bytes of /metrics served",
	    (double)atomic_load(&served.scrape_bytes));
	own(p, "node_runtime_sink_unauthorized_total", C, "requests refused by basic auth",
	    (double)atomic_load(&served.unauthorized));
	own(p, "node_runtime_sink_delivered_total", C, "records delivered from the analyzer",
	    (double)p->delivered);
	own(p, "node_runtime_sink_lost_total", C, "records the analyzer's ring no longer held",
	    (double)p->lost);
	own(p, "node_runtime_sink_delivery_lag_seconds", G,
	    "age of the last record delivered when it was delivered",
	    p->last_ts_ms ? (double)(now - p->last_ts_ms) / 1000.0 : 0);
	own(p, "node_runtime_sink_render_seconds", G, "how long the last render took",
	    (double)p->render_us / 1e6);
	own(p, "node_runtime_sink_renders_total", C, "renders of the series table for scrapes",
	    (double)p->renders);
}

/* Removes the series older than 3 intervals of their source. */
static void sweep(struct prom *p, int64_t now)
{
	if (nro_promtab_sweep(p->tab, now, p->max_age, p->nsrc))
		p->version++;
	p->last_sweep_ms = nro_mono_ms();
}

/* Renders the table in one format into a new body, unless it has not
 * changed since that format's last render. A render past the cap keeps
 * the previous body (warned once) and is not retried until the table
 * changes again. */
static void render_table(struct prom *p, int om)
{
	if (served.rendered[om] == p->version)
		return;
	served.rendered[om] = p->version;
	int64_t t0 = nro_mono_ms();
	struct body *b = calloc(1, sizeof *b);
	if (!b)
		return;
	atomic_init(&b->refs, 1);
	nro_buf_init(&b->b, SCRAPE_MAX);
	int rc = nro_promtab_render(p->tab, &b->b, om);
	p->render_us = (nro_mono_ms() - t0) * 1000;
	if (rc != 0) {
		if (p->render_failures++ == 0)
			nro_warn("a scrape would pass %u MiB: serving the previous one (lower --max-series)",
				 SCRAPE_MAX >> 20);
		body_put(b);
		return;
	}
	p->renders++;
	body_set(om, b);
}

static struct prom prom; /* under served.mu once the listener runs */

/* Everything one scrape sends, in format om: sweeps, renders the table if
 * it changed, and the own metrics. NULL when out of memory. Takes and
 * releases served.mu; the reply is the caller's (reply_free). */
static struct reply *scrape(int om)
{
	struct reply *rp = calloc(1, sizeof *rp);
	if (!rp)
		return NULL;
	nro_buf_init(&rp->own, OWN_MAX);
	pthread_mutex_lock(&served.mu);
	struct prom *p = &prom;
	int64_t now = nro_wall_ms();
	sweep(p, now);
	render_table(p, om);
	rp->table = served.bodies[om];
	if (rp->table)
		atomic_fetch_add(&rp->table->refs, 1);
	own_metrics(p, now);
	int rc = nro_promtab_render(p->own, &rp->own, om) | (om ? nro_buf_adds(&rp->own, "# EOF\n") : 0);
	pthread_mutex_unlock(&served.mu);
	if (rc != 0) {
		reply_free(rp);
		return NULL;
	}
	return rp;
}

static int ends_a_batch(const struct nro_msg *m)
{
	return m->hdr.kind == NRO_KIND_HEALTH || m->hdr.kind == NRO_KIND_EVENT ||
	       nro_str_eq(m->hdr.source, "analyzer");
}

/* One message into the table, under served.mu. Renders nothing: scrapes
 * do. A sweep now and then keeps stale series from filling the table
 * while nobody scrapes. */
static int deliver(void *ctx, struct nro_msg *m)
{
	struct prom *p = ctx;
	pthread_mutex_lock(&served.mu);
	uint16_t sid = source_id(p, m->hdr.source);
	if (!p->max_age[sid])
		p->max_age[sid] = stale_after(p, sid);
	union nro_entry e;
	while (nro_next(m, &e)) {
		if (m->hdr.kind == NRO_KIND_METRIC)
			put_metric(p, &m->hdr, sid, &e.metric);
		else if (m->hdr.kind == NRO_KIND_EVENT)
			put_event(p, &m->hdr, &e.event);
		else if (m->hdr.kind == NRO_KIND_HEALTH)
			put_health(p, sid, &e.health);
	}
	p->last_ts_ms = m->hdr.ts_ms;
	p->delivered = sink.delivered + 1; /* this one included */
	p->lost = sink.lost;
	if (ends_a_batch(m) && nro_mono_ms() - p->last_sweep_ms >= SWEEP_EVERY_MS)
		sweep(p, nro_wall_ms());
	pthread_mutex_unlock(&served.mu);
	return NRO_SINK_OK;
}

/* ---- setup ---------------------------------------------------------------- */

/* USER:PASSWORD lines of --basic-auth-file into served.auth. */
static void load_auth(const char *path)
{
	char *b;
	size_t len, n = 0;
	if (nro_file_read(path, AUTH_MAX, &b, &len) != 0)
		nro_die(NRO_EXIT_USAGE, "--basic-auth-file %s: %m", path);
	served.auth_file = b;
	served.auth = calloc(len / 2 + 2, sizeof *served.auth);
	if (!served.auth)
		nro_die(NRO_EXIT_TEMP, "out of memory");
	for (char *line = b, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		size_t l = strlen(line);
		if (l && line[l - 1] == '\r')
			line[--l] = '\0';
		if (!l || line[0] == '#')
			continue;
		if (!strchr(line, ':'))
			nro_die(NRO_EXIT_USAGE, "--basic-auth-file %s: a line without USER:PASSWORD", path);
		served.auth[n++] = line;
	}
	if (!n)
		nro_die(NRO_EXIT_USAGE, "--basic-auth-file %s: no USER:PASSWORD line", path);
}

/* The listener: one polling thread, so the process keeps few threads. */
static struct nro_httpd *start_listener(void)
{
	struct nro_httpd_cfg hc = {
		.listen = cfg.listen, .flag = "--listen", .tls_cert = cfg.tls_cert,
		.tls_key = cfg.tls_key, .timeout_s = 30, .max_connections = 64,
		.handler = on_request,
	};
	struct nro_httpd *h = NULL;
	char err[512];
	int rc = nro_httpd_start(&hc, &h, err, sizeof err);
	if (rc != NRO_HTTPD_OK)
		nro_die(rc == NRO_HTTPD_EUSAGE ? NRO_EXIT_USAGE : NRO_EXIT_TEMP, "%s", err);
	return h;
}

/* The listener's thread inherits the mask: only the sink loop's signalfd
 * (set up by nro_sink_run, for the same signals) sees TERM, INT and HUP. */
static void block_signals(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void prom_init(struct prom *p)
{
	if (cfg.max_series == 0)
		nro_die(NRO_EXIT_USAGE, "--max-series 0: want at least 1");
	p->tab = nro_promtab_new(cfg.max_series);
	p->own = nro_promtab_new(64);
	if (!p->tab || !p->own)
		nro_die(NRO_EXIT_TEMP, "out of memory");
	snprintf(p->src[SRC_ALERTS].name, sizeof p->src[0].name, "alerts");
	snprintf(p->src[SRC_OTHER].name, sizeof p->src[0].name, "other sources");
	p->src[SRC_OTHER].generation = 1;
	p->nsrc = 2;
	p->max_age[SRC_OTHER] = stale_after(p, SRC_OTHER);
	p->version = 1; /* no body rendered yet (rendered[] are 0) */
}

static void free_patterns(struct patterns *ps)
{
	for (size_t i = 0; i < ps->n; i++)
		free((char *)ps->p[i]);
}

/* --print: the exposition of everything the input gave, on stdout. */
static int print_once(void)
{
	struct reply *rp = scrape(strcmp(cfg.print, "openmetrics") == 0);
	int rc = rp && (!rp->table || nro_write_all(STDOUT_FILENO, rp->table->b.p,
						     rp->table->b.len) == 0) &&
			 nro_write_all(STDOUT_FILENO, rp->own.p, rp->own.len) == 0
		 ? 0
		 : NRO_EXIT_TEMP;
	reply_free(rp);
	return rc;
}

static void check_print(const struct nro_sink *s)
{
	if (!cfg.print)
		return;
	if (strcmp(cfg.print, "text") != 0 && strcmp(cfg.print, "openmetrics") != 0)
		nro_die(NRO_EXIT_USAGE, "--print: unknown format '%s' (want text or openmetrics)",
			cfg.print);
	if (!s->tool.input || strcmp(s->tool.input, "-") != 0)
		nro_die(NRO_EXIT_USAGE, "--print needs -i - (a record stream on stdin)");
}

/* After the listener stopped: nothing else holds a body. */
static void release_all(struct prom *p)
{
	body_set(0, NULL);
	body_set(1, NULL);
	nro_promtab_free(p->tab);
	nro_promtab_free(p->own);
	free_patterns(&cfg.allow);
	free_patterns(&cfg.deny);
	if (served.auth_file) {
		explicit_bzero(served.auth_file, strlen(served.auth_file));
		free(served.auth_file);
		free(served.auth);
	}
}

int main(int argc, char **argv)
{
	nro_sink_init(&sink, PROG, SUMMARY, opts, argc, argv, "MEH");
	if (!sink.cursor_path)
		sink.cursor_path = "none";
	sink.from_start = 1;
	if (cfg.default_interval_ms <= 0)
		nro_die(NRO_EXIT_USAGE, "--default-interval: want a positive duration");
	check_print(&sink);
	if (cfg.basic_auth_file)
		load_auth(cfg.basic_auth_file);
	prom_init(&prom);
	block_signals();
	struct nro_httpd *h = NULL;
	if (!cfg.print) {
		h = start_listener();
		printf("%s\n", nro_httpd_url(h));
		fflush(stdout);
	}
	int rc = nro_sink_run(&sink, deliver, &prom);
	if (cfg.print && rc == 0)
		rc = print_once();
	nro_httpd_stop(h);
	release_all(&prom);
	return rc;
}
