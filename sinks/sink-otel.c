/*
 * sink-otel: the analyzer's events (as OTLP logs) and metrics (as OTLP
 * metrics) to any OpenTelemetry receiver over OTLP/HTTP: protobuf (the
 * default) or JSON, gzip, batched (lib/render/otlp.h has the mapping).
 * The cursor moves only past what the receiver took (lib/run/sink.h,
 * batching): while it is down the analyzer's ring keeps the backlog.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "net/httppost.h"
#include "render/otlp.h"
#include "run/signals.h"
#include "run/sink.h"
#include "wire/record.h"

#define HEADERS_MAX 32
#define HEADER_VALUE_MAX 8192
#define SERIES_MAX 200000
#define RETRY_AFTER_MAX_MS (5 * 60 * 1000) /* a receiver asking for hours is not believed */
#ifndef NRO_VERSION /* the Makefile passes build/<flavour>/version.h, as for --version */
#define NRO_VERSION "0.1.0"
#endif

struct header {
	char *name;
	char *value; /* --header: the value; NULL for --header-file */
	char *file;  /* --header-file: read at every flush if it changed */
	struct timespec mtime;
	char *file_value;
};

static struct header headers[HEADERS_MAX];
static size_t nheaders;

static const char *endpoint;
static const char *protocol = "http/protobuf";
static const char *compression = "gzip";
static const char *kinds_opt;
static const char *ca_file, *cert_file, *key_file;
static uint64_t max_batch = 512u << 10;
static int64_t flush_ms = 1000, timeout_ms = 10000;

/* Copies the first n bytes of s, or NULL. */
static char *dupn(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static int valid_name(const char *s, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] == ':' || s[i] == 0x7f)
			return 0;
	return 1;
}

/* "K=V" (or "K=V,K2=V2" from the environment): one header each. The value
 * is never echoed in an error: it may be a token. */
static int parse_header(void *dst, const char *value, char *err, size_t errlen)
{
	int file = dst != NULL;
	const char *p = value;
	while (*p) {
		const char *end = p + strcspn(p, ",");
		const char *eq = memchr(p, '=', (size_t)(end - p));
		if (!eq || !valid_name(p, (size_t)(eq - p))) {
			snprintf(err, errlen, "want NAME=%s (a header name without spaces or ':')",
				 file ? "FILE" : "VALUE");
			return -1;
		}
		if (nheaders == HEADERS_MAX) {
			snprintf(err, errlen, "more than %d headers", HEADERS_MAX);
			return -1;
		}
		struct header *h = &headers[nheaders];
		h->name = dupn(p, (size_t)(eq - p));
		char *v = dupn(eq + 1, (size_t)(end - eq - 1));
		if (!h->name || !v || memchr(v, '\n', strlen(v)) || memchr(v, '\r', strlen(v))) {
			snprintf(err, errlen, "header %.*s: empty name, line break or out of memory",
				 (int)(eq - p), p);
			free(h->name);
			free(v);
			return -1;
		}
		if (file)
			h->file = v;
		else
			h->value = v;
		nheaders++;
		p = *end ? end + 1 : end;
	}
	return 0;
}

static int header_file_marker;

static const struct nro_optdef opts[] = {
	{"endpoint", 'e', "NRO_OTLP_ENDPOINT", NRO_OPT_STR, &endpoint, NULL, "URL",
	 "the receiver's base URL; requests go to URL/v1/metrics and URL/v1/logs (also from "
	 "OTEL_EXPORTER_OTLP_ENDPOINT; default http://127.0.0.1:4318)"},
	{"protocol", 'p', "NRO_OTLP_PROTOCOL", NRO_OPT_STR, &protocol, NULL, "http/protobuf|http/json",
	 "OTLP encoding: protobuf (default) or OTLP's JSON mapping"},
	{"compression", 0, "NRO_OTLP_COMPRESSION", NRO_OPT_STR, &compression, NULL, "gzip|none",
	 "request body compression (default gzip)"},
	{"kinds", 'k', "NRO_OTLP_KINDS", NRO_OPT_STR, &kinds_opt, NULL, "LETTERS",
	 "record kinds to export: E events (as logs), M metrics (default EM)"},
	{"max-batch", 0, "NRO_OTLP_MAX_BATCH", NRO_OPT_FUNC, &max_batch, nro_opt_size, "SIZE",
	 "largest request body before compression (default 512K); a bigger batch is split"},
	{"flush", 0, "NRO_OTLP_FLUSH", NRO_OPT_DUR, &flush_ms, NULL, "D",
	 "send a batch at most this long after its first record (default 1s; sooner when the "
	 "input goes idle)"},
	{"timeout", 0, "NRO_OTLP_TIMEOUT", NRO_OPT_DUR, &timeout_ms, NULL, "D",
	 "one request's timeout (default 10s)"},
	{"header", 'H', "NRO_OTLP_HEADERS", NRO_OPT_FUNC, NULL, parse_header, "NAME=VALUE",
	 "an extra request header, repeatable (env: comma-separated, as is "
	 "OTEL_EXPORTER_OTLP_HEADERS, also read); values are never logged, "
	 "but argv is visible to every user: put tokens in --header-file"},
	{"header-file", 0, "NRO_OTLP_HEADER_FILES", NRO_OPT_FUNC, &header_file_marker, parse_header,
	 "NAME=FILE", "a header whose value is FILE's content (first line), re-read when FILE "
		      "changes: for tokens (e.g. Authorization=/run/secrets/otlp-auth holding "
		      "'Bearer ...')"},
	{"ca-file", 0, "NRO_OTLP_CA_FILE", NRO_OPT_STR, &ca_file, NULL, "FILE",
	 "CA bundle to verify an https:// receiver (default: the system's)"},
	{"cert-file", 0, "NRO_OTLP_CERT_FILE", NRO_OPT_STR, &cert_file, NULL, "FILE",
	 "client certificate (mTLS), with --key-file"},
	{"key-file", 0, "NRO_OTLP_KEY_FILE", NRO_OPT_STR, &key_file, NULL, "FILE",
	 "client certificate's private key"},
	{NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
};

struct otel {
	struct nro_otlp *enc;
	struct nro_http_post *http;
	int json, gzip;
	int pipe;     /* -i -: no ring behind the batch */
	int stopping; /* SIGTERM seen while retrying on a pipe: try once more, no loop */
	char url[2][2048];
	char shown[2][2048]; /* url without user:password@, for logs */
	struct nro_buf body;
	int64_t not_before_ms;       /* Retry-After */
	int failing;                 /* the last attempt failed: log the recovery */
	int64_t failing_since_ms;
	uint64_t dropped_requests, dropped_points, rejected_points, requests;
};

static struct nro_sink sink;

static const char *const signal_path[2] = {"/v1/metrics", "/v1/logs"};
static const char *const signal_what[2] = {"data points", "log records"};

/* ---- headers ----------------------------------------------------------- */

/* Re-reads a --header-file when it changed; 0, or -1 (kept the old value). */
static int refresh_header_file(struct header *h)
{
	struct stat st;
	if (stat(h->file, &st) != 0) {
		nro_warn("--header-file %s=%s: %s", h->name, h->file, strerror(errno));
		return -1;
	}
	if (h->file_value && st.st_mtim.tv_sec == h->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == h->mtime.tv_nsec)
		return 0;
	FILE *f = fopen(h->file, "r");
	char line[HEADER_VALUE_MAX];
	if (!f || !fgets(line, sizeof line, f)) {
		nro_warn("--header-file %s=%s: cannot read it", h->name, h->file);
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	char *v = strdup(line);
	memset(line, 0, sizeof line);
	if (!v)
		return -1;
	if (h->file_value) {
		memset(h->file_value, 0, strlen(h->file_value));
		free(h->file_value);
	}
	h->file_value = v;
	h->mtime = st.st_mtim;
	return 0;
}

/* Hands the current header lines to the HTTP client. */
static int apply_headers(struct otel *o)
{
	char *lines[HEADERS_MAX] = {0};
	size_t n = 0;
	int rc = 0;
	for (size_t i = 0; i < nheaders; i++) {
		struct header *h = &headers[i];
		if (h->file)
			refresh_header_file(h);
		const char *v = h->file ? h->file_value : h->value;
		if (!v)
			continue;
		size_t len = strlen(h->name) + strlen(v) + 3;
		if (!(lines[n] = malloc(len))) {
			rc = -1;
			break;
		}
		snprintf(lines[n], len, "%s: %s", h->name, v);
		n++;
	}
	if (rc == 0)
		rc = nro_http_post_headers(o->http, (const char *const *)lines, n);
	for (size_t i = 0; i < n; i++) {
		memset(lines[i], 0, strlen(lines[i]));
		free(lines[i]);
	}
	return rc;
}

/* ---- sending ----------------------------------------------------------- */

static int retryable(long status)
{
	return status == 429 || status == 502 || status == 503 || status == 504;
}

static void log_partial(struct otel *o, enum nro_otlp_signal sig, const struct nro_http_res *r)
{
	int64_t rejected;
	char msg[256];
	if (nro_otlp_partial(sig, o->json, r->body.p, r->body.len, &rejected, msg, sizeof msg) != 0) {
		nro_debug("%s: HTTP %ld: the response did not decode", signal_path[sig], r->status);
		return;
	}
	if (rejected > 0 || msg[0]) {
		o->rejected_points += rejected > 0 ? (uint64_t)rejected : 0;
		nro_warn("%s: partial success: the receiver rejected %lld %s%s%s", signal_path[sig],
			 (long long)rejected, signal_what[sig], msg[0] ? ": " : "", msg);
	}
}

/* A response body as one printable line for a log, at most 200 bytes. */
static void body_line(const struct nro_buf *b, char *out, size_t outlen)
{
	size_t n = 0;
	for (size_t i = 0; i < b->len && n + 1 < outlen && n < 200; i++) {
		unsigned char c = (unsigned char)b->p[i];
		out[n++] = c >= 0x20 && c < 0x7f ? (char)c : ' ';
	}
	out[n] = '\0';
}

static void note_failure(struct otel *o, enum nro_otlp_signal sig, const struct nro_http_res *r)
{
	if (!o->failing) {
		o->failing = 1;
		o->failing_since_ms = nro_mono_ms();
		nro_warn("%s: %s: holding the batch and retrying (%s)", o->shown[sig], r->message,
			 o->pipe ? "the input waits" : "the ring keeps the backlog");
	}
}

static void note_recovery(struct otel *o, enum nro_otlp_signal sig)
{
	if (o->failing) {
		o->failing = 0;
		nro_info("%s: delivering again after %lld ms", signal_path[sig],
			 (long long)(nro_mono_ms() - o->failing_since_ms));
	}
}

/* Sends one request of sig's oldest items. NRO_SINK_OK when it was taken
 * (or dropped for good), NRO_SINK_RETRY when it is to be sent again. */
static int send_one(struct otel *o, enum nro_otlp_signal sig)
{
	size_t items, points;
	if (nro_otlp_encode(o->enc, sig, o->json, &o->body, &items, &points) != 0) {
		/* out of memory, or one item past the body's cap: drop that one */
		nro_error("%s: cannot encode the oldest item (out of memory or too large): dropped",
			  signal_path[sig]);
		o->dropped_requests++;
		nro_otlp_consume(o->enc, sig, 1);
		return NRO_SINK_OK;
	}
	struct nro_http_res *r;
	const char *ct = o->json ? "application/json" : "application/x-protobuf";
	o->requests++;
	if (nro_http_post(o->http, o->url[sig], ct, o->body.p, o->body.len, o->gzip, &r) != 0 ||
	    retryable(r->status)) {
		note_failure(o, sig, r);
		if (r->retry_after_ms >= 0) /* honoured, up to RETRY_AFTER_MAX_MS */
			o->not_before_ms = nro_mono_ms() + (r->retry_after_ms < RETRY_AFTER_MAX_MS
								 ? r->retry_after_ms
								 : RETRY_AFTER_MAX_MS);
		return NRO_SINK_RETRY;
	}
	note_recovery(o, sig);
	if (r->status >= 200 && r->status < 300) {
		log_partial(o, sig, r);
	} else {
		char why[256];
		body_line(&r->body, why, sizeof why);
		o->dropped_requests++;
		o->dropped_points += points;
		nro_error("%s: HTTP %ld: dropped a request of %zu %s (%llu requests dropped so far)%s%s",
			  o->shown[sig], r->status, points, signal_what[sig],
			  (unsigned long long)o->dropped_requests, why[0] ? ": " : "", why);
	}
	nro_otlp_consume(o->enc, sig, items);
	return NRO_SINK_OK;
}

static int flush_signal(struct otel *o, enum nro_otlp_signal sig)
{
	while (nro_otlp_items(o->enc, sig) > 0) {
		if (nro_mono_ms() < o->not_before_ms)
			return NRO_SINK_RETRY;
		int rc = send_one(o, sig);
		if (rc != NRO_SINK_OK)
			return rc;
	}
	return NRO_SINK_OK;
}

static int flush_once(struct otel *o)
{
	if (nheaders && apply_headers(o) != 0)
		return NRO_SINK_RETRY;
	int rc = flush_signal(o, NRO_OTLP_METRICS);
	return rc == NRO_SINK_OK ? flush_signal(o, NRO_OTLP_LOGS) : rc;
}

/* On a pipe there is no ring to keep a batch the receiver did not take,
 * and the runtime offers the last flush only once: so retry here, holding
 * the writer back, with the same back-off (and Retry-After) until the
 * receiver takes it or SIGTERM. With a ring, the runtime retries. */
static int flush(void *ctx)
{
	struct otel *o = ctx;
	int rc = flush_once(o);
	if (rc == NRO_SINK_OK)
		malloc_trim(0); /* a batch's arena went back to malloc: give it back to the system */
	if (!o->pipe || o->stopping)
		return rc;
	for (int64_t backoff = 100; rc == NRO_SINK_RETRY; backoff = backoff < 2500 ? backoff * 2 : 5000) {
		int64_t at = nro_mono_ms() + backoff;
		if (at < o->not_before_ms)
			at = o->not_before_ms;
		if (nro_wait(&sink.tool, at, -1) == NRO_SIG_TERM) {
			o->stopping = 1;
			raise(SIGTERM); /* pending again (blocked): the runtime sees it next */
			return NRO_SINK_RETRY;
		}
		rc = flush_once(o);
	}
	return rc;
}

static int batch_full(const struct otel *o)
{
	return nro_otlp_bytes(o->enc, NRO_OTLP_METRICS) >= max_batch ||
	       nro_otlp_bytes(o->enc, NRO_OTLP_LOGS) >= max_batch;
}

static int deliver(void *ctx, struct nro_msg *m)
{
	struct otel *o = ctx;
	int rc;
	if (batch_full(o) && (rc = flush(o)) != NRO_SINK_OK)
		return rc;
	if (nro_otlp_add(o->enc, m, nro_sink_epoch(&sink)) == 0)
		return NRO_SINK_OK;
	/* memory cap: send what waits, then try m alone */
	if ((rc = flush(o)) != NRO_SINK_OK)
		return rc;
	if (nro_otlp_add(o->enc, m, nro_sink_epoch(&sink)) != 0)
		nro_error("seq %llu: %u entries do not fit in the sink's memory cap: skipped",
			  (unsigned long long)m->hdr.seq, m->hdr.count);
	return NRO_SINK_OK;
}

/* ---- setup ------------------------------------------------------------- */

/* "https://user:secret@host/x" -> "https://host/x": credentials stay out of logs. */
static void hide_userinfo(const char *url, char *out, size_t outlen)
{
	const char *host = strstr(url, "://");
	host = host ? host + 3 : url;
	const char *at = strchr(host, '@'), *slash = strchr(host, '/');
	if (at && (!slash || at < slash))
		snprintf(out, outlen, "%.*s%s", (int)(host - url), url, at + 1);
	else
		snprintf(out, outlen, "%s", url);
}

static void set_urls(struct otel *o)
{
	const char *base = endpoint;
	if (!base || !*base)
		base = getenv("OTEL_EXPORTER_OTLP_ENDPOINT");
	if (!base || !*base)
		base = "http://127.0.0.1:4318";
	if (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0)
		nro_die(NRO_EXIT_USAGE, "--endpoint: '%s' is not an http:// or https:// URL", base);
	size_t n = strlen(base);
	while (n && base[n - 1] == '/')
		n--;
	for (int s = 0; s < 2; s++)
		if ((size_t)snprintf(o->url[s], sizeof o->url[s], "%.*s%s", (int)n, base,
				     signal_path[s]) >= sizeof o->url[s])
			nro_die(NRO_EXIT_USAGE, "--endpoint: longer than %zu bytes", sizeof o->url[s] - 64);
	for (int s = 0; s < 2; s++)
		hide_userinfo(o->url[s], o->shown[s], sizeof o->shown[s]);
}

static void check_options(struct otel *o)
{
	if (strcmp(protocol, "http/protobuf") == 0)
		o->json = 0;
	else if (strcmp(protocol, "http/json") == 0)
		o->json = 1;
	else
		nro_die(NRO_EXIT_USAGE, "--protocol: '%s' (want http/protobuf or http/json)", protocol);
	if (strcmp(compression, "gzip") == 0)
		o->gzip = 1;
	else if (strcmp(compression, "none") == 0)
		o->gzip = 0;
	else
		nro_die(NRO_EXIT_USAGE, "--compression: '%s' (want gzip or none)", compression);
	if (max_batch < 1024 || max_batch > (64u << 20))
		nro_die(NRO_EXIT_USAGE, "--max-batch: %llu (want 1K to 64M)", (unsigned long long)max_batch);
	if (flush_ms <= 0)
		nro_die(NRO_EXIT_USAGE, "--flush: must be more than 0");
	if (kinds_opt && (!*kinds_opt || strspn(kinds_opt, "EM") != strlen(kinds_opt)))
		nro_die(NRO_EXIT_USAGE, "--kinds: '%s' (want letters of EM)", kinds_opt);
	if (!!cert_file != !!key_file)
		nro_die(NRO_EXIT_USAGE, "--cert-file and --key-file go together");
	for (size_t i = 0; i < nheaders; i++)
		if (headers[i].file && refresh_header_file(&headers[i]) != 0)
			nro_die(NRO_EXIT_USAGE, "--header-file: %s=%s: cannot read it", headers[i].name,
				headers[i].file);
	set_urls(o);
}

static void free_headers(void)
{
	for (size_t i = 0; i < nheaders; i++) {
		struct header *h = &headers[i];
		char *vals[2] = {h->value, h->file_value};
		for (int k = 0; k < 2; k++)
			if (vals[k]) {
				memset(vals[k], 0, strlen(vals[k]));
				free(vals[k]);
			}
		free(h->name);
		free(h->file);
	}
	nheaders = 0;
}

static void say_totals(const struct otel *o)
{
	if (o->dropped_requests || o->rejected_points)
		nro_warn("exiting: %llu requests sent, %llu dropped (%llu points), %llu rejected by the "
			 "receiver", (unsigned long long)o->requests,
			 (unsigned long long)o->dropped_requests, (unsigned long long)o->dropped_points,
			 (unsigned long long)o->rejected_points);
}

int main(int argc, char **argv)
{
	nro_sink_init(&sink, "sink-otel",
		      "Export the analyzer's events (as OTLP logs) and metrics (as OTLP metrics) to\n"
		      "an OpenTelemetry receiver over OTLP/HTTP: protobuf or JSON, gzip, batched,\n"
		      "retried on connection errors, 429, 502, 503 and 504 (honouring Retry-After);\n"
		      "400 and other errors drop that request, counted and logged. The cursor moves\n"
		      "only past what the receiver took: during an outage the analyzer's ring keeps\n"
		      "the backlog, delivered in order once it is back.",
		      opts, argc, argv, "EM");
	struct otel o = {0};
	char err[256];
	const char *otel_headers = getenv("OTEL_EXPORTER_OTLP_HEADERS");
	if (otel_headers && *otel_headers && parse_header(NULL, otel_headers, err, sizeof err) != 0)
		nro_die(NRO_EXIT_USAGE, "OTEL_EXPORTER_OTLP_HEADERS: %s", err);
	check_options(&o);
	if (kinds_opt)
		sink.kinds = kinds_opt;
	sink.flush_ms = flush_ms;
	o.pipe = sink.tool.input && strcmp(sink.tool.input, "-") == 0;
	struct nro_http_cfg hc = {ca_file, cert_file, key_file, timeout_ms};
	if (!(o.http = nro_http_post_new(&hc, err, sizeof err)))
		nro_die(NRO_EXIT_TEMP, "%s", err);
	size_t memory = max_batch * 16 > (64u << 20) ? max_batch * 16 : (64u << 20);
	if (!(o.enc = nro_otlp_new(NRO_VERSION, max_batch, memory, SERIES_MAX)))
		nro_die(NRO_EXIT_TEMP, "out of memory");
	nro_buf_init(&o.body, max_batch * 2 + (1u << 20));
	int rc = nro_sink_run_batched(&sink, deliver, flush, &o);
	say_totals(&o);
	nro_buf_free(&o.body);
	nro_otlp_free(o.enc);
	nro_http_post_free(o.http);
	free_headers();
	return rc;
}
