/*
 * kubelet-replay: serves recorded kubelet responses over HTTP(S), on
 * libmicrohttpd (one thread per connection, so delays simply block).
 * The demo's embedded kubelet and the tests' canned-reply server.
 * The file format is described in SUMMARY below and docs/kubelet-replay.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "net/kubelet.h"
#include "base/log.h"
#include "run/signals.h"
#include "run/tool.h"

#define PROG "kubelet-replay"
#define STEPS_MAX 1000
#define NAME_MAX_ 240                 /* mapped file name, before the extension */
#define BODY_FILE_MAX (1024ull << 20) /* a fixture file is read whole: 1 GiB cap */
#define REPEAT_TOTAL_MAX (1ull << 40) /* a synthetic body is at most 1 TiB */
#define TOKEN_MAX 4096
#define DENY_MAX 32

static const char SUMMARY[] =
	"Serves recorded kubelet responses over HTTP(S). Prints its base URL as the\n"
	"first line on stdout (--listen port 0, the default, picks a free port).\n"
	"\n"
	"Files: a request path (and query) maps to a file name: the leading '/' is\n"
	"dropped, '/' and '?' become '_', then NAME.json, NAME.txt and NAME are tried\n"
	"(/stats/summary -> stats_summary.json, /healthz?verbose -> healthz_verbose.txt).\n"
	"/healthz, /healthz/* and /healthz?verbose answer \"ok\" unless a file says\n"
	"otherwise; any other unknown path is 404 \"404 page not found\".\n"
	"\n"
	"Faults, per file, in sidecar files next to it (FILE = e.g. stats_summary.json):\n"
	"  FILE.status    HTTP status to answer with (100-599), body = FILE\n"
	"  FILE.delay     wait this long before answering (500ms, 3s, ...), or\n"
	"                 \"forever\": hold the connection until shutdown\n"
	"  FILE.truncate  send only this many body bytes, announcing the full\n"
	"                 Content-Length, then drop the connection\n"
	"  FILE.repeat    send FILE's content N times as one body (huge bodies)\n"
	"  FILE.chunked   (any content) send the body chunked, without Content-Length,\n"
	"                 as the kubelet does for large bodies\n"
	"\n"
	"Scenarios: --scenario DIR holds step-000/, step-001/, ... A path is looked\n"
	"up in the current step, then earlier steps down to step-000, then DIR/base/,\n"
	"then --dir. The step advances every --step-every D (stopping at the last,\n"
	"or wrapping with --loop), and on POST /replay/step or GET /replay/step?next;\n"
	"GET /replay/step answers the current step number. /replay/* needs no auth.\n"
	"\n"
	"Auth: with --token (or --token-file), a request needs \"Authorization: Bearer\n"
	"TOKEN\" else 401 \"Unauthorized\"; a --deny-token gets 403 in the kubelet's\n"
	"words. With --client-ca (HTTPS only) a client certificate signed by that CA\n"
	"authenticates; without one the token decides (or 401 when there is none).";

struct cfg {
	const char *dir, *scenario, *listen;
	const char *tls_cert, *tls_key, *client_ca;
	const char *token_arg, *token_file;
	int64_t step_every_ms;
	int loop;
	const char *deny[DENY_MAX];
	size_t ndeny;
};

static struct {
	struct cfg c;
	char *token; /* accepted bearer token, or NULL */
	size_t token_len;
	char **layers_step; /* step-NNN directories */
	unsigned nsteps;
	char *base_dir;
	atomic_uint step;
	atomic_int stopping;
	int verbose;
	int auth_required;
} g;

/* ---- small helpers ------------------------------------------------------ */

static int add_deny(void *dst, const char *value, char *err, size_t errlen)
{
	struct cfg *c = dst;
	const char *p = value;
	while (*p) {
		size_t n = strcspn(p, ",");
		if (n > 0) {
			if (c->ndeny >= DENY_MAX) {
				snprintf(err, errlen, "at most %d deny tokens", DENY_MAX);
				return -1;
			}
			char *s = strndup(p, n);
			if (!s) {
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			c->deny[c->ndeny++] = s;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

/* Reads a whole file up to max bytes into a NUL-terminated heap buffer.
 * Returns 0, or -1 with errno (EFBIG past max). */
static int read_file(const char *path, size_t max, char **out, size_t *outlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		errno = EISDIR;
		return -1;
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		errno = EFBIG;
		return -1;
	}
	size_t cap = (size_t)st.st_size + 1, len = 0;
	char *b = malloc(cap);
	if (!b) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	for (;;) {
		if (len + 1 >= cap) {
			/* the file grew since fstat: allow up to max */
			if (cap > max) {
				free(b);
				close(fd);
				errno = EFBIG;
				return -1;
			}
			size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			char *nb = realloc(b, ncap);
			if (!nb) {
				free(b);
				close(fd);
				errno = ENOMEM;
				return -1;
			}
			b = nb;
			cap = ncap;
		}
		ssize_t r = read(fd, b + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(b);
			close(fd);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	b[len] = '\0';
	*out = b;
	*outlen = len;
	return 0;
}

static int is_regular(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void trim(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	size_t lead = strspn(s, " \t\r\n");
	if (lead)
		memmove(s, s + lead, n - lead + 1);
}

/* Constant-time comparison of a presented token with an expected one. */
static int token_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	unsigned char d = alen != blen;
	size_t n = alen < blen ? alen : blen;
	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ---- scenario ----------------------------------------------------------- */

static char *path_join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *p = malloc(n);
	if (!p)
		nro_die(NRO_EXIT_TEMP, "out of memory");
	snprintf(p, n, "%s/%s", a, b);
	return p;
}

static void scenario_load(const char *dir)
{
	if (!is_dir(dir))
		nro_die(NRO_EXIT_USAGE, "--scenario %s: not a directory", dir);
	g.layers_step = calloc(STEPS_MAX, sizeof *g.layers_step);
	if (!g.layers_step)
		nro_die(NRO_EXIT_TEMP, "out of memory");
	for (unsigned i = 0; i < STEPS_MAX; i++) {
		char name[32];
		snprintf(name, sizeof name, "step-%03u", i);
		char *p = path_join(dir, name);
		if (!is_dir(p)) {
			free(p);
			break;
		}
		g.layers_step[g.nsteps++] = p;
	}
	if (g.nsteps == 0)
		nro_die(NRO_EXIT_USAGE, "--scenario %s: no step-000 directory", dir);
	char *base = path_join(dir, "base");
	if (is_dir(base))
		g.base_dir = base;
	else
		free(base);
}

static unsigned step_advance(void)
{
	unsigned cur = atomic_load(&g.step), next;
	do {
		next = cur + 1;
		if (next >= g.nsteps)
			next = g.c.loop ? 0 : g.nsteps - 1;
	} while (!atomic_compare_exchange_weak(&g.step, &cur, next));
	if (next != cur)
		nro_debug("step %u", next);
	return next;
}

/* ---- request handling --------------------------------------------------- */

struct found {
	char path[4096];
	const char *ext;
};

/* Looks name up in the layers; fills f and returns 1 when found. */
static int lookup(const char *name, struct found *f)
{
	static const char *exts[] = {".json", ".txt", ""};
	const char *layers[STEPS_MAX + 2];
	size_t n = 0;
	if (g.nsteps) {
		for (unsigned s = atomic_load(&g.step) + 1; s-- > 0;)
			layers[n++] = g.layers_step[s];
		if (g.base_dir)
			layers[n++] = g.base_dir;
	}
	if (g.c.dir)
		layers[n++] = g.c.dir;
	for (size_t l = 0; l < n; l++)
		for (size_t e = 0; e < sizeof exts / sizeof exts[0]; e++) {
			int w = snprintf(f->path, sizeof f->path, "%s/%s%s", layers[l], name, exts[e]);
			if (w < 0 || (size_t)w >= sizeof f->path)
				continue;
			if (is_regular(f->path)) {
				f->ext = exts[e];
				return 1;
			}
		}
	return 0;
}

/* Reads sidecar FILE.kind into out (trimmed). 1 found, 0 absent. */
static int sidecar(const char *file, const char *kind, char *out, size_t outlen)
{
	char p[4200];
	snprintf(p, sizeof p, "%s.%s", file, kind);
	char *b;
	size_t len;
	if (read_file(p, 256, &b, &len) != 0)
		return 0;
	snprintf(out, outlen, "%s", b);
	free(b);
	trim(out);
	return 1;
}

struct body {
	char *data;
	size_t len;
	uint64_t total;    /* len * repeat */
	uint64_t truncate; /* UINT64_MAX = none */
	int chunked;
};

static ssize_t body_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct body *b = cls;
	if (pos >= b->truncate)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (pos >= b->total)
		return MHD_CONTENT_READER_END_OF_STREAM;
	uint64_t end = b->total < b->truncate ? b->total : b->truncate;
	uint64_t want = end - pos;
	if (want > max)
		want = max;
	size_t done = 0;
	while (done < want) {
		size_t off = (size_t)((pos + done) % b->len);
		size_t n = b->len - off;
		if (n > want - done)
			n = (size_t)(want - done);
		memcpy(buf + done, b->data + off, n);
		done += n;
	}
	return (ssize_t)done;
}

static void body_free(void *cls)
{
	struct body *b = cls;
	free(b->data);
	free(b);
}

/* The client closed its end (a held request's client gave up). */
static int peer_gone(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		return 0;
	char b;
	ssize_t r = recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *ctype,
				  const char *text)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

#define TEXT "text/plain; charset=utf-8"

static const char *content_type(const char *name, const char *ext, const char *data, size_t len)
{
	if (strcmp(ext, ".json") == 0)
		return "application/json";
	if (strcmp(ext, ".txt") == 0)
		return strncmp(name, "metrics", 7) == 0 ? "text/plain; version=0.0.4; charset=utf-8"
						       : TEXT;
	size_t i = 0;
	while (i < len && (data[i] == ' ' || data[i] == '\n' || data[i] == '\t' || data[i] == '\r'))
		i++;
	if (i < len && (data[i] == '{' || data[i] == '['))
		return "application/json";
	return TEXT;
}

struct qbuf {
	char s[2048];
	size_t len;
	int overflow;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	(void)kind;
	struct qbuf *q = cls;
	int n = snprintf(q->s + q->len, sizeof q->s - q->len, "%s%s%s%s", q->len ? "&" : "", key,
			 value ? "=" : "", value ? value : "");
	if (n < 0 || (size_t)n >= sizeof q->s - q->len) {
		q->overflow = 1;
		return MHD_NO;
	}
	q->len += (size_t)n;
	return MHD_YES;
}

/* Maps path + query to a file name; returns 0, or -1 when unusable. */
static int map_name(const char *url, const char *query, char *out, size_t outlen)
{
	while (*url == '/')
		url++;
	int n = snprintf(out, outlen, "%s%s%s", url, *query ? "?" : "", query);
	if (n <= 0 || (size_t)n >= outlen || n > NAME_MAX_)
		return -1;
	for (char *p = out; *p; p++)
		if (*p == '/' || *p == '?')
			*p = '_';
	if (out[0] == '.' || out[0] == '\0')
		return -1;
	return 0;
}

static const char *short_subresource(const char *url)
{
	const char *s = nro_kubelet_subresource(url);
	return s + strlen("nodes/");
}

/* 0 = allowed; otherwise the status already queued into *ret. */
static int authorize(struct MHD_Connection *c, const char *url, enum MHD_Result *ret,
		     char *who, size_t wholen)
{
	snprintf(who, wholen, "anonymous");
	if (g.c.client_ca) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
		gnutls_session_t s = ci ? (gnutls_session_t)ci->tls_session : NULL;
		unsigned int status = 0, npeers = 0;
		const gnutls_datum_t *peers = s ? gnutls_certificate_get_peers(s, &npeers) : NULL;
		if (peers && npeers > 0 && gnutls_certificate_verify_peers2(s, &status) == 0 &&
		    status == 0) {
			gnutls_x509_crt_t crt;
			char cn[256] = "";
			size_t cnlen = sizeof cn - 1;
			if (gnutls_x509_crt_init(&crt) == 0) {
				if (gnutls_x509_crt_import(crt, &peers[0], GNUTLS_X509_FMT_DER) == 0)
					gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0,
								      cn, &cnlen);
				gnutls_x509_crt_deinit(crt);
			}
			snprintf(who, wholen, "cert:%s", cn);
			return 0;
		}
		if (peers && npeers > 0)
			snprintf(who, wholen, "untrusted-cert");
	}
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (h && strncasecmp(h, "Bearer ", 7) == 0) {
		const char *tok = h + 7;
		while (*tok == ' ')
			tok++;
		size_t tl = strlen(tok);
		for (size_t i = 0; i < g.c.ndeny; i++)
			if (token_eq(tok, tl, g.c.deny[i], strlen(g.c.deny[i]))) {
				char msg[256];
				snprintf(who, wholen, "denied-token");
				snprintf(msg, sizeof msg,
					 "Forbidden (user=system:serviceaccount:replay:denied, verb=get, "
					 "resource=nodes, subresource(s)=[%s])\n",
					 short_subresource(url));
				*ret = reply_text(c, MHD_HTTP_FORBIDDEN, TEXT, msg);
				return 403;
			}
		if (g.token && token_eq(tok, tl, g.token, g.token_len)) {
			snprintf(who, wholen, "token");
			return 0;
		}
		if (g.auth_required) {
			snprintf(who, wholen, "bad-token");
			*ret = reply_text(c, MHD_HTTP_UNAUTHORIZED, TEXT, "Unauthorized\n");
			return 401;
		}
		return 0;
	}
	if (g.auth_required) {
		*ret = reply_text(c, MHD_HTTP_UNAUTHORIZED, TEXT, "Unauthorized\n");
		return 401;
	}
	return 0;
}

static enum MHD_Result handle_step(struct MHD_Connection *c, const char *method)
{
	unsigned s;
	if (strcmp(method, "POST") == 0 ||
	    MHD_lookup_connection_value_n(c, MHD_GET_ARGUMENT_KIND, "next", 4, NULL, NULL) == MHD_YES)
		s = g.nsteps ? step_advance() : 0;
	else
		s = atomic_load(&g.step);
	char msg[32];
	snprintf(msg, sizeof msg, "%u\n", s);
	return reply_text(c, MHD_HTTP_OK, TEXT, msg);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	(void)cls;
	(void)version;
	(void)upload_data;
	static int marker;
	if (*con_cls == NULL) { /* headers only: come back for the body */
		*con_cls = &marker;
		return MHD_YES;
	}
	if (*upload_data_size) { /* a request body is not used: drop it */
		*upload_data_size = 0;
		return MHD_YES;
	}

	if (strcmp(url, "/replay/step") == 0) {
		if (strcmp(method, "GET") && strcmp(method, "POST") && strcmp(method, "HEAD"))
			return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, TEXT, "405 method not allowed\n");
		nro_debug("%s %s", method, url);
		return handle_step(c, method);
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		nro_debug("%s %s -> 405", method, url);
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, TEXT, "405 method not allowed\n");
	}

	enum MHD_Result ret = MHD_NO;
	char who[300];
	int a = authorize(c, url, &ret, who, sizeof who);
	if (a) {
		nro_debug("%s %s -> %d (%s)", method, url, a, who);
		return ret;
	}

	struct qbuf q = {.len = 0};
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &q);
	char name[NAME_MAX_ + 16];
	struct found f;
	if (q.overflow || map_name(url, q.s, name, sizeof name) != 0 || !lookup(name, &f)) {
		int hz = !q.overflow && (strcmp(url, "/healthz") == 0 || strncmp(url, "/healthz/", 9) == 0);
		nro_debug("%s %s%s%s -> %d (step %u)", method, url, q.len ? "?" : "", q.s,
			  hz ? 200 : 404, atomic_load(&g.step));
		if (hz)
			return reply_text(c, MHD_HTTP_OK, TEXT, "ok");
		return reply_text(c, MHD_HTTP_NOT_FOUND, TEXT, "404 page not found\n");
	}

	/* sidecars */
	char v[256];
	unsigned status = MHD_HTTP_OK;
	uint64_t truncate = UINT64_MAX, repeat = 1;
	int64_t delay_ms = 0;
	int forever = 0, chunked = 0;
	const char *bad = NULL;
	if (sidecar(f.path, "status", v, sizeof v)) {
		uint64_t s;
		if (nro_parse_u64(v, &s) != 0 || s < 100 || s > 599)
			bad = "status";
		else
			status = (unsigned)s;
	}
	if (!bad && sidecar(f.path, "delay", v, sizeof v)) {
		if (strcmp(v, "forever") == 0)
			forever = 1;
		else if (nro_parse_duration(v, &delay_ms) != 0)
			bad = "delay";
	}
	if (!bad && sidecar(f.path, "truncate", v, sizeof v) && nro_parse_u64(v, &truncate) != 0)
		bad = "truncate";
	if (!bad && sidecar(f.path, "repeat", v, sizeof v) &&
	    (nro_parse_u64(v, &repeat) != 0 || repeat == 0))
		bad = "repeat";
	if (!bad && sidecar(f.path, "chunked", v, sizeof v))
		chunked = 1;
	if (bad) {
		nro_warn("%s.%s: bad value '%s'", f.path, bad, v);
		return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, TEXT,
				  "kubelet-replay: bad sidecar file\n");
	}

	nro_debug("%s %s%s%s -> %u %s (step %u, %s)%s", method, url, q.len ? "?" : "", q.s, status,
		  f.path, atomic_load(&g.step), who, forever ? " delay forever" : "");

	/* a held request ends without an answer at shutdown or when its client leaves */
	int64_t waited = 0;
	while (forever || waited < delay_ms) {
		if (atomic_load(&g.stopping) || peer_gone(c)) {
			nro_debug("%s %s: dropped while delayed", method, url);
			return MHD_NO;
		}
		int64_t step = forever ? 50 : delay_ms - waited < 50 ? delay_ms - waited : 50;
		sleep_ms(step);
		waited += step;
	}
	if (atomic_load(&g.stopping))
		return MHD_NO;

	struct body *b = calloc(1, sizeof *b);
	if (!b)
		return MHD_NO;
	if (read_file(f.path, BODY_FILE_MAX, &b->data, &b->len) != 0) {
		nro_warn("%s: %s", f.path, strerror(errno));
		free(b);
		return reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, TEXT,
				  "kubelet-replay: cannot read the fixture\n");
	}
	if (b->len == 0)
		repeat = 1;
	if (b->len && repeat > REPEAT_TOTAL_MAX / b->len)
		repeat = REPEAT_TOTAL_MAX / b->len;
	b->total = (uint64_t)b->len * repeat;
	b->truncate = truncate < b->total ? truncate : UINT64_MAX;
	b->chunked = chunked;
	struct MHD_Response *r = MHD_create_response_from_callback(
		chunked ? MHD_SIZE_UNKNOWN : b->total, 64 * 1024, body_reader, b, body_free);
	if (!r) {
		body_free(b);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				content_type(name, f.ext, b->data, b->len));
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char line[512];
	vsnprintf(line, sizeof line, fmt, ap);
	size_t n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	nro_debug("libmicrohttpd: %s", line);
}

/* ---- setup -------------------------------------------------------------- */

struct listen_addr {
	struct sockaddr_storage ss;
	int v6;
	char host[300]; /* for the URL */
};

static void parse_listen(const char *spec, struct listen_addr *la)
{
	char host[256];
	const char *port;
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (!close || close[1] != ':' || (size_t)(close - spec - 1) >= sizeof host)
			nro_die(NRO_EXIT_USAGE, "--listen '%s': want HOST:PORT", spec);
		memcpy(host, spec + 1, (size_t)(close - spec - 1));
		host[close - spec - 1] = '\0';
		port = close + 2;
	} else {
		const char *colon = strrchr(spec, ':');
		if (!colon || (size_t)(colon - spec) >= sizeof host)
			nro_die(NRO_EXIT_USAGE, "--listen '%s': want HOST:PORT", spec);
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = '\0';
		port = colon + 1;
	}
	uint64_t pn;
	if (nro_parse_u64(port, &pn) != 0 || pn > 65535)
		nro_die(NRO_EXIT_USAGE, "--listen '%s': bad port '%s'", spec, port);
	struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
	if (rc != 0 || !ai)
		nro_die(NRO_EXIT_USAGE, "--listen '%s': %s", spec, gai_strerror(rc));
	memcpy(&la->ss, ai->ai_addr, ai->ai_addrlen);
	la->v6 = ai->ai_family == AF_INET6;
	freeaddrinfo(ai);
	if (!host[0] || strcmp(host, "0.0.0.0") == 0)
		snprintf(la->host, sizeof la->host, "127.0.0.1");
	else if (strcmp(host, "::") == 0)
		snprintf(la->host, sizeof la->host, "[::1]");
	else if (strchr(host, ':'))
		snprintf(la->host, sizeof la->host, "[%s]", host);
	else
		snprintf(la->host, sizeof la->host, "%s", host);
}

static char *read_pem(const char *flag, const char *path)
{
	char *b;
	size_t len;
	if (read_file(path, 1u << 20, &b, &len) != 0)
		nro_die(NRO_EXIT_USAGE, "%s %s: %s", flag, path, strerror(errno));
	return b;
}

int main(int argc, char **argv)
{
	struct nro_tool t;
	struct cfg *c = &g.c;
	c->listen = "127.0.0.1:0";
	const struct nro_optdef opts[] = {
		{"dir", 0, "NRO_REPLAY_DIR", NRO_OPT_STR, &c->dir, NULL, "DIR",
		 "fixture directory"},
		{"scenario", 0, "NRO_REPLAY_SCENARIO", NRO_OPT_STR, &c->scenario, NULL, "DIR",
		 "scenario directory with step-000/, step-001/, ... (and base/)"},
		{"step-every", 0, "NRO_REPLAY_STEP_EVERY", NRO_OPT_DUR, &c->step_every_ms, NULL, "D",
		 "advance one scenario step every D"},
		{"loop", 0, NULL, NRO_OPT_FLAG, &c->loop, NULL, NULL,
		 "after the last step, go back to step-000"},
		{"listen", 0, "NRO_REPLAY_LISTEN", NRO_OPT_STR, &c->listen, NULL, "HOST:PORT",
		 "address to listen on (default 127.0.0.1:0, a free port)"},
		{"tls-cert", 0, "NRO_REPLAY_TLS_CERT", NRO_OPT_STR, &c->tls_cert, NULL, "F",
		 "serve HTTPS with this certificate (PEM)"},
		{"tls-key", 0, "NRO_REPLAY_TLS_KEY", NRO_OPT_STR, &c->tls_key, NULL, "F",
		 "the certificate's key (PEM)"},
		{"client-ca", 0, "NRO_REPLAY_CLIENT_CA", NRO_OPT_STR, &c->client_ca, NULL, "F",
		 "accept client certificates signed by this CA"},
		{"token", 0, "NRO_REPLAY_TOKEN", NRO_OPT_STR, &c->token_arg, NULL, "T",
		 "accepted bearer token (prefer --token-file: argv is public)"},
		{"token-file", 0, "NRO_REPLAY_TOKEN_FILE", NRO_OPT_STR, &c->token_file, NULL, "F",
		 "file holding the accepted bearer token"},
		{"deny-token", 0, "NRO_REPLAY_DENY_TOKEN", NRO_OPT_FUNC, c, add_deny, "T[,T]",
		 "tokens that authenticate but are forbidden (403); repeatable"},
		{NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
	};
	nro_tool_init(&t, PROG, SUMMARY, 0, 0, opts, argc, argv);
	g.verbose = t.verbose;

	if (!c->dir && !c->scenario)
		nro_die(NRO_EXIT_USAGE, "one of --dir or --scenario is required (see --help)");
	if (c->dir && !is_dir(c->dir))
		nro_die(NRO_EXIT_USAGE, "--dir %s: not a directory", c->dir);
	if (c->step_every_ms && !c->scenario)
		nro_die(NRO_EXIT_USAGE, "--step-every needs --scenario");
	if (!c->tls_cert != !c->tls_key)
		nro_die(NRO_EXIT_USAGE, "--tls-cert and --tls-key go together");
	if (c->client_ca && !c->tls_cert)
		nro_die(NRO_EXIT_USAGE, "--client-ca needs --tls-cert and --tls-key");
	if (c->token_arg && c->token_file)
		nro_die(NRO_EXIT_USAGE, "--token and --token-file are exclusive");
	if (c->scenario)
		scenario_load(c->scenario);
	if (c->token_file) {
		size_t len;
		if (read_file(c->token_file, TOKEN_MAX, &g.token, &len) != 0)
			nro_die(NRO_EXIT_USAGE, "--token-file %s: %s", c->token_file, strerror(errno));
		trim(g.token);
		if (!g.token[0])
			nro_die(NRO_EXIT_USAGE, "--token-file %s: empty", c->token_file);
	} else if (c->token_arg) {
		if (!c->token_arg[0])
			nro_die(NRO_EXIT_USAGE, "--token: empty");
		g.token = strdup(c->token_arg);
		if (!g.token)
			nro_die(NRO_EXIT_TEMP, "out of memory");
	}
	if (g.token)
		g.token_len = strlen(g.token);
	g.auth_required = g.token != NULL || c->client_ca != NULL;

	struct listen_addr la;
	parse_listen(c->listen, &la);

	char *cert = NULL, *key = NULL, *ca = NULL;
	if (c->tls_cert) {
		cert = read_pem("--tls-cert", c->tls_cert);
		key = read_pem("--tls-key", c->tls_key);
	}
	if (c->client_ca)
		ca = read_pem("--client-ca", c->client_ca);

	/* MHD's threads inherit the blocked signals: only the signalfd sees them */
	nro_signals_init(&t);

	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_ERROR_LOG;
	if (la.v6)
		flags |= MHD_USE_IPv6;
	if (cert)
		flags |= MHD_USE_TLS;
	struct MHD_OptionItem tls_opts[] = {
		{cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert},
		{cert ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, key},
		{ca ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0, ca},
		{MHD_OPTION_END, 0, NULL},
	};
	/* an END in the middle would cut the array: compact it */
	size_t w = 0;
	for (size_t i = 0; i < sizeof tls_opts / sizeof tls_opts[0]; i++)
		if (tls_opts[i].option != MHD_OPTION_END)
			tls_opts[w++] = tls_opts[i];
	tls_opts[w] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

	struct MHD_Daemon *d = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&la.ss, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0,
		MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
	if (!d)
		nro_die(NRO_EXIT_TEMP, "cannot listen on %s (run with --verbose for details)", c->listen);
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	unsigned port = di ? di->port : 0;
	printf("%s://%s:%u\n", cert ? "https" : "http", la.host, port);
	fflush(stdout);
	nro_ready(&t);

	int64_t next = c->step_every_ms ? nro_mono_ms() + c->step_every_ms : INT64_MAX;
	for (;;) {
		int64_t deadline = next;
		if (deadline == INT64_MAX)
			deadline = nro_mono_ms() + 3600 * 1000;
		int r = nro_wait(&t, deadline, -1);
		if (r == NRO_SIG_TERM)
			break;
		while (c->step_every_ms && nro_mono_ms() >= next) {
			step_advance();
			next += c->step_every_ms;
		}
	}
	atomic_store(&g.stopping, 1);
	MHD_stop_daemon(d);

	free(cert);
	if (key) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	free(ca);
	if (g.token) {
		explicit_bzero(g.token, g.token_len);
		free(g.token);
	}
	for (size_t i = 0; i < c->ndeny; i++)
		free((char *)c->deny[i]);
	for (unsigned i = 0; i < g.nsteps; i++)
		free(g.layers_step[i]);
	free(g.layers_step);
	free(g.base_dir);
	if (t.sigfd >= 0)
		close(t.sigfd);
	return 0;
}
