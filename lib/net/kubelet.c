/*
 * The kubelet HTTP(S) client on libcurl (see kubelet.h).
 *
 * One easy handle per client, reused across requests so libcurl keeps the
 * TLS connection alive. The bearer token is cached in memory together with
 * the identity of the file it came from (device, inode, size, mtime, ctime);
 * before every request the file is stat()ed and re-read when any of these
 * changed, so a projected token swapped through the ..data symlink is picked
 * up at the next poll. The token only ever goes to libcurl: no message,
 * log line or argv ever holds it, and every copy we own is wiped with
 * explicit_bzero before it is freed.
 */
#include "net/kubelet.h"
#include "net/authz.h"

#include "base/log.h"
#include "wire/record.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef CURL_WRITEFUNC_ERROR /* libcurl < 7.87 */
#define CURL_WRITEFUNC_ERROR 0
#endif

#define TOKEN_MAX (64u << 10) /* a service-account JWT is ~1 KiB */

/* The identity of a file, as stat() shows it. */
struct file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

struct nro_kubelet {
	CURL *h;
	char *url; /* base URL without a trailing slash */
	char *token_file;
	struct curl_slist *connect_to; /* --tls-server-name's NAME:PORT:ADDR:PORT; NULL = none */
	int has_cert;
	uint64_t max_body;
	char *token; /* NULL until read; wiped on replace and free */
	size_t token_len;
	struct file_id token_id;
	int token_set; /* the current token is set on the handle */
	char curl_err[CURL_ERROR_SIZE];
};

/* ---- libcurl global state ----------------------------------------------- */

/* curl_global_init is not thread-safe and must precede every handle: keep a
 * count of live clients and init/cleanup under a lock. */
static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned global_users;

static int global_get(void)
{
	int rc = 0;
	pthread_mutex_lock(&global_lock);
	if (global_users == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		rc = -1;
	else
		global_users++;
	pthread_mutex_unlock(&global_lock);
	return rc;
}

static void global_put(void)
{
	pthread_mutex_lock(&global_lock);
	if (global_users > 0 && --global_users == 0)
		curl_global_cleanup();
	pthread_mutex_unlock(&global_lock);
}

/* ---- small helpers ------------------------------------------------------ */

static char *dupnull(const char *s, int *failed)
{
	if (!s || !*s)
		return NULL;
	char *d = strdup(s);
	if (!d)
		*failed = 1;
	return d;
}

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Makes s one line: CR, LF and other control characters become spaces. */
static void one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

static void set_msg(struct nro_fetch *res, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_msg(struct nro_fetch *res, const char *path, const char *fmt, ...)
{
	int n = snprintf(res->message, sizeof res->message, "GET %s: ", path);
	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof res->message) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(res->message + n, sizeof res->message - (size_t)n, fmt, ap);
		va_end(ap);
	}
	one_line(res->message);
}

/* "64 MiB", "512 KiB", "1000 bytes" */
static void fmt_size(char *out, size_t len, uint64_t n)
{
	if (n >= (1u << 30) && n % (1u << 30) == 0)
		snprintf(out, len, "%llu GiB", (unsigned long long)(n >> 30));
	else if (n >= (1u << 20) && n % (1u << 20) == 0)
		snprintf(out, len, "%llu MiB", (unsigned long long)(n >> 20));
	else if (n >= 1024 && n % 1024 == 0)
		snprintf(out, len, "%llu KiB", (unsigned long long)(n >> 10));
	else
		snprintf(out, len, "%llu bytes", (unsigned long long)n);
}

static const char *status_text(long code)
{
	switch (code) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return NULL;
	}
}

/* ---- token -------------------------------------------------------------- */

static void token_wipe(struct nro_kubelet *k)
{
	if (k->token) {
		explicit_bzero(k->token, k->token_len);
		free(k->token);
	}
	k->token = NULL;
	k->token_len = 0;
	memset(&k->token_id, 0, sizeof k->token_id);
}

static void id_of(const struct stat *st, struct file_id *id)
{
	memset(id, 0, sizeof *id);
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtime = st->st_mtim;
	id->ctime = st->st_ctim;
}

static int id_eq(const struct file_id *a, const struct file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* Reads up to TOKEN_MAX + 1 bytes of fd into t; *len says how many. 0 or errno. */
static int read_token(int fd, char *t, size_t *len)
{
	*len = 0;
	for (;;) {
		ssize_t r = read(fd, t + *len, TOKEN_MAX + 1 - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno;
		if (r == 0)
			return 0;
		*len += (size_t)r;
		if (*len > TOKEN_MAX)
			return 0;
	}
}

/* Trims trailing whitespace off t[0..*len) and says what makes it unusable
 * as a bearer token, or NULL. */
static const char *token_problem(const char *t, size_t *len)
{
	if (*len > TOKEN_MAX)
		return "larger than 64 KiB";
	while (*len > 0 && strchr("\n\r \t", t[*len - 1]))
		(*len)--;
	if (*len == 0)
		return "empty";
	if (memchr(t, '\0', *len))
		return "holds a NUL byte";
	for (size_t i = 0; i < *len; i++)
		if ((unsigned char)t[i] < 0x20 || t[i] == 0x7f)
			return "holds control characters";
	return NULL;
}

/* Opens the token file, refusing anything but a regular file. fd or -1 with err. */
static int open_token(struct nro_kubelet *k, struct stat *st, char *err, size_t errlen)
{
	int fd = open(k->token_file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "token file %s: %s", k->token_file, strerror(errno));
		return -1;
	}
	int fst = fstat(fd, st);
	if (fst != 0 || !S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "token file %s: %s", k->token_file,
			 fst != 0 ? strerror(errno) : "not a regular file");
		close(fd);
		return -1;
	}
	return fd;
}

/* Keeps t[0..len) as the current token (t is consumed: wiped and freed). */
static void token_keep(struct nro_kubelet *k, char *t, size_t len, const struct stat *st)
{
	t[len] = '\0';
	token_wipe(k);
	/* keep only what is needed; wipe the big read buffer */
	char *keep = malloc(len + 1);
	if (keep) {
		memcpy(keep, t, len + 1);
		explicit_bzero(t, TOKEN_MAX + 1);
		free(t);
		t = keep;
	}
	k->token = t;
	k->token_len = len;
	id_of(st, &k->token_id);
	k->token_set = 0;
}

/*
 * Makes k->token current: re-reads token_file when stat() shows it changed.
 * Returns 1 when the token was (re)loaded, 0 when unchanged, -1 with a reason
 * in err (which names the file, never its content); on -1 the old token is
 * wiped so a stale credential is never sent.
 */
static int token_refresh(struct nro_kubelet *k, char *err, size_t errlen)
{
	struct stat st;
	if (stat(k->token_file, &st) == 0 && k->token) {
		struct file_id now;
		id_of(&st, &now);
		if (id_eq(&now, &k->token_id))
			return 0;
	}
	int fd = open_token(k, &st, err, errlen);
	if (fd < 0) {
		token_wipe(k);
		return -1;
	}
	char *t = malloc(TOKEN_MAX + 1);
	if (!t) {
		snprintf(err, errlen, "token file %s: out of memory", k->token_file);
		close(fd);
		return -1;
	}
	size_t len;
	int rerr = read_token(fd, t, &len);
	close(fd);
	const char *why = rerr ? strerror(rerr) : token_problem(t, &len);
	if (why) {
		snprintf(err, errlen, "token file %s: %s", k->token_file, why);
		explicit_bzero(t, TOKEN_MAX + 1);
		free(t);
		token_wipe(k);
		return -1;
	}
	token_keep(k, t, len, &st);
	return 1;
}

/* ---- creation ----------------------------------------------------------- */

/* A base URL with a path (an API server's node proxy) is fine but never silent. */
static void note_path(CURLU *u, const char *url)
{
	char *path = NULL;
	if (curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK && path && strcmp(path, "/") != 0)
		nro_info("kubelet URL %s has a path: requests go to %s/<endpoint>", url, path);
	curl_free(path);
}

static int check_url(const char *url, char *err, size_t errlen)
{
	CURLU *u = curl_url();
	if (!u) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int rc = 0;
	char *scheme = NULL;
	CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (uc != CURLUE_OK) {
		snprintf(err, errlen, "bad kubelet URL '%s': %s", url, curl_url_strerror(uc));
		rc = -1;
	} else if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
		   (strcmp(scheme, "https") != 0 && strcmp(scheme, "http") != 0)) {
		snprintf(err, errlen, "bad kubelet URL '%s': scheme must be http or https", url);
		rc = -1;
	} else {
		note_path(u, url);
	}
	curl_free(scheme);
	curl_url_cleanup(u);
	return rc;
}

void nro_kubelet_free(struct nro_kubelet *k)
{
	if (!k)
		return;
	if (k->h) {
		curl_easy_cleanup(k->h);
		global_put();
	}
	curl_slist_free_all(k->connect_to);
	token_wipe(k);
	free(k->url);
	free(k->token_file);
	free(k);
}

/* A file a flag names must be readable now, not at the first poll. */
static int check_file(const char *flag, const char *path, char *err, size_t errlen)
{
	if (!path || !*path)
		return 0;
	struct stat st;
	if (stat(path, &st) != 0 || access(path, R_OK) != 0) {
		snprintf(err, errlen, "%s %s: %s", flag, path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s %s: is a directory", flag, path);
		return -1;
	}
	return 0;
}

static int check_cfg(const struct nro_kubelet_cfg *cfg, char *err, size_t errlen)
{
	if (!cfg->url || !*cfg->url) {
		snprintf(err, errlen, "no kubelet URL");
		return -1;
	}
	if ((cfg->cert_file && *cfg->cert_file) != (cfg->key_file && *cfg->key_file)) {
		snprintf(err, errlen, "--cert-file and --key-file go together");
		return -1;
	}
	/* anyone on the path reads a bearer token sent in cleartext */
	if (cfg->token_file && *cfg->token_file && strncmp(cfg->url, "http://", 7) == 0 &&
	    !cfg->allow_insecure_token) {
		snprintf(err, errlen,
			 "%s: refusing to send the bearer token over http:// (use https://, or "
			 "--allow-insecure-token)",
			 cfg->url);
		return -1;
	}
	return check_file("--ca-file", cfg->ca_file, err, errlen) ||
			       check_file("--cert-file", cfg->cert_file, err, errlen) ||
			       check_file("--key-file", cfg->key_file, err, errlen) ||
			       check_file("--token-file", cfg->token_file, err, errlen)
		       ? -1
		       : 0;
}

/* Every libcurl option the client keeps across requests. */
static CURLcode set_options(struct nro_kubelet *k, const struct nro_kubelet_cfg *cfg)
{
	CURL *h = k->h;
	CURLcode c = CURLE_OK;
#define SET(opt, val)                                        \
	do {                                                 \
		if (c == CURLE_OK)                           \
			c = curl_easy_setopt(h, opt, val);   \
	} while (0)
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_ERRORBUFFER, k->curl_err);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_USERAGENT, "node-runtime-observer");
	SET(CURLOPT_ACCEPT_ENCODING, ""); /* whatever this libcurl decodes */
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	/* one receive buffer of a fixed size (memory does not follow the body):
	 * 256 KiB instead of the default 16 KiB takes a megabyte body in a few
	 * reads, not a hundred */
	SET(CURLOPT_BUFFERSIZE, 256L * 1024);
	if (cfg->connect_timeout_ms > 0)
		SET(CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_timeout_ms);
	if (cfg->timeout_ms > 0)
		SET(CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
	if (cfg->ca_file && *cfg->ca_file)
		SET(CURLOPT_CAINFO, cfg->ca_file);
	if (k->has_cert) {
		SET(CURLOPT_SSLCERT, cfg->cert_file);
		SET(CURLOPT_SSLKEY, cfg->key_file);
	}
	if (cfg->insecure) {
		SET(CURLOPT_SSL_VERIFYPEER, 0L);
		SET(CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (k->token_file)
		SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
	if (k->connect_to)
		SET(CURLOPT_CONNECT_TO, k->connect_to);
#undef SET
	return c;
}

/* The handle, under the global libcurl reference. 0 or -1 with err. */
static int make_handle(struct nro_kubelet *k, char *err, size_t errlen)
{
	if (global_get() != 0) {
		snprintf(err, errlen, "libcurl initialization failed");
		return -1;
	}
	k->h = curl_easy_init();
	if (!k->h) {
		global_put();
		snprintf(err, errlen, "libcurl: cannot create a handle");
		return -1;
	}
	return 0;
}

/* A DNS name as a certificate carries it: letters, digits, '-', '.'. */
static int is_host_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '.'))
			return 0;
	return 1;
}

/* The URL with its host replaced by name, and the CONNECT_TO entry that
 * still dials the URL's own address. Both curl_free/free by the caller;
 * 0, or -1 with neither set. */
static int server_name_url(CURLU *u, const char *name, char **url, char **entry)
{
	char *host = NULL, *port = NULL;
	int rc = -1;
	*url = *entry = NULL;
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_HOST, name, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, url, 0) == CURLUE_OK) {
		size_t n = strlen(name) + strlen(host) + 2 * strlen(port) + 4;
		*entry = malloc(n);
		if (*entry) {
			snprintf(*entry, n, "%s:%s:%s:%s", name, port, host, port);
			rc = 0;
		} else {
			curl_free(*url);
			*url = NULL;
		}
	}
	curl_free(host);
	curl_free(port);
	return rc;
}

/* --tls-server-name: a kubelet reached at status.hostIP serves a certificate
 * for spec.nodeName, so libcurl must send and verify the name (the URL's
 * host) while connecting to the address (CONNECT_TO). 0, or -1 with err. */
static int apply_server_name(struct nro_kubelet *k, const char *name, char *err, size_t errlen)
{
	if (!is_host_name(name)) {
		snprintf(err, errlen, "--tls-server-name '%s': not a DNS name", name);
		return -1;
	}
	if (strncmp(k->url, "https://", 8) != 0) {
		snprintf(err, errlen, "--tls-server-name %s: needs an https:// kubelet URL, not %s",
			 name, k->url);
		return -1;
	}
	CURLU *u = curl_url();
	char *url = NULL, *entry = NULL;
	int rc = -1;
	if (u && curl_url_set(u, CURLUPART_URL, k->url, 0) == CURLUE_OK &&
	    server_name_url(u, name, &url, &entry) == 0) {
		struct curl_slist *l = curl_slist_append(NULL, entry);
		char *copy = strdup(url);
		if (l && copy) {
			free(k->url);
			k->url = copy;
			k->connect_to = l;
			rc = 0;
		} else {
			curl_slist_free_all(l);
			free(copy);
		}
	}
	if (rc != 0)
		snprintf(err, errlen, "--tls-server-name %s: cannot apply to %s", name, k->url);
	free(entry);
	curl_free(url);
	curl_url_cleanup(u);
	return rc;
}

static void strip_slashes(char *url)
{
	size_t ul = strlen(url);
	while (ul > 0 && url[ul - 1] == '/')
		url[--ul] = '\0';
}

struct nro_kubelet *nro_kubelet_new(const struct nro_kubelet_cfg *cfg, char *err, size_t errlen)
{
	if (check_cfg(cfg, err, errlen) != 0)
		return NULL;
	struct nro_kubelet *k = calloc(1, sizeof *k);
	if (!k) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	int failed = 0;
	k->url = dupnull(cfg->url, &failed);
	k->token_file = dupnull(cfg->token_file, &failed);
	if (failed) {
		snprintf(err, errlen, "out of memory");
		nro_kubelet_free(k);
		return NULL;
	}
	strip_slashes(k->url);
	k->has_cert = cfg->cert_file && *cfg->cert_file;
	k->max_body = cfg->max_body ? cfg->max_body : NRO_BODY_MAX_DEFAULT;
	if (make_handle(k, err, errlen) != 0 || check_url(k->url, err, errlen) != 0 ||
	    (cfg->tls_server_name && *cfg->tls_server_name &&
	     apply_server_name(k, cfg->tls_server_name, err, errlen) != 0)) {
		nro_kubelet_free(k);
		return NULL;
	}
	strip_slashes(k->url);
	CURLcode c = set_options(k, cfg);
	if (c != CURLE_OK) {
		snprintf(err, errlen, "libcurl: %s", curl_easy_strerror(c));
		nro_kubelet_free(k);
		return NULL;
	}
	return k;
}

/* ---- requests ----------------------------------------------------------- */

enum abort_why { AB_NONE, AB_TOO_LARGE, AB_CALLBACK, AB_NOMEM };

struct xfer {
	struct nro_kubelet *k;
	struct nro_fetch *res;
	nro_body_fn fn;
	void *ctx;
	uint64_t cap;
	long status;   /* from the handle, once the body starts */
	size_t errlen; /* bytes kept in res->error_body */
	enum abort_why why;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
	struct xfer *x = userp;
	size_t n = size * nmemb;
	if (x->status == 0)
		curl_easy_getinfo(x->k->h, CURLINFO_RESPONSE_CODE, &x->status);
	if (n > x->cap || x->res->bytes > x->cap - n) {
		x->why = AB_TOO_LARGE;
		return CURL_WRITEFUNC_ERROR;
	}
	x->res->bytes += n;
	if (x->status >= 200 && x->status < 300) {
		if (x->fn && n && x->fn(x->ctx, data, n) != 0) {
			x->why = AB_CALLBACK;
			return CURL_WRITEFUNC_ERROR;
		}
	} else {
		size_t room = sizeof x->res->error_body - 1 - x->errlen;
		size_t take = n < room ? n : room;
		memcpy(x->res->error_body + x->errlen, data, take);
		x->errlen += take;
		x->res->error_body[x->errlen] = '\0';
	}
	return n;
}

/* Appends ": <the body's first bytes, one line>" to the message. */
static void append_body_hint(struct nro_fetch *res, size_t maxchars)
{
	const char *b = res->error_body;
	while (*b == ' ' || *b == '\n' || *b == '\r' || *b == '\t')
		b++;
	if (!*b)
		return;
	size_t have = strlen(res->message);
	if (have + 3 >= sizeof res->message)
		return;
	char *o = res->message + have;
	size_t room = sizeof res->message - have - 1;
	if (maxchars < room)
		room = maxchars;
	memcpy(o, ": ", 2);
	o += 2;
	room -= 2;
	int space = 0;
	while (*b && room > 0) {
		unsigned char ch = (unsigned char)*b++;
		if (ch == '\n' || ch == '\r') {
			/* lines are joined with "; " */
			if (!space && room > 2 && *b) {
				memcpy(o, "; ", 2);
				o += 2;
				room -= 2;
			}
			space = 1;
			continue;
		}
		space = 0;
		*o++ = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
		room--;
	}
	/* drop a trailing "; " */
	while (o > res->message + have + 2 && (o[-1] == ' ' || o[-1] == ';'))
		o--;
	*o = '\0';
}

static void map_http_error(struct nro_kubelet *k, const char *path, long st, struct nro_fetch *res)
{
	const char *txt = status_text(st);
	char stxt[64];
	if (txt)
		snprintf(stxt, sizeof stxt, "%ld %s", st, txt);
	else
		snprintf(stxt, sizeof stxt, "HTTP %ld", st);
	if (st == 401) {
		res->err = NRO_ERR_AUTH;
		if (!k->token_file && !k->has_cert)
			set_msg(res, path,
				"%s: no credentials were sent (set --token-file, or --cert-file and --key-file)",
				stxt);
		else
			set_msg(res, path,
				"%s: the kubelet rejected the credentials (bearer token or client certificate)",
				stxt);
	} else if (st == 403) {
		res->err = NRO_ERR_AUTH;
		const char *fg = nro_kubelet_fine_grained(path);
		if (fg)
			set_msg(res, path,
				"%s: the credentials lack RBAC 'get' on %s (or %s with KubeletFineGrainedAuthz)",
				stxt, nro_kubelet_subresource(path), fg);
		else
			set_msg(res, path, "%s: the credentials lack RBAC 'get' on %s", stxt,
				nro_kubelet_subresource(path));
		append_body_hint(res, 200);
	} else if (st == 404) {
		res->err = NRO_ERR_NOT_SERVED;
		set_msg(res, path, "%s: this kubelet does not serve %s", stxt, path);
	} else {
		res->err = NRO_ERR_HTTP;
		set_msg(res, path, "%s", stxt);
		append_body_hint(res, 300);
	}
}

static int curl_is_tls(CURLcode c)
{
	switch (c) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
	case CURLE_SSL_CLIENTCERT:
		return 1;
	default:
		return 0;
	}
}

/* A server that answers TLS with plain HTTP: OpenSSL and GnuTLS wordings. */
static int speaks_plain_http(const char *curl_err)
{
	return strstr(curl_err, "wrong version number") || strstr(curl_err, "packet length too long") ||
	       strstr(curl_err, "unexpected TLS packet") || strstr(curl_err, "http request");
}

/* TLS failures that retrying cannot fix: the CA, the certificate, the key. */
static int tls_is_config(CURLcode c, const char *curl_err)
{
	switch (c) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_CLIENTCERT:
		return 1;
	default:
		return speaks_plain_http(curl_err);
	}
}

static void map_tls_error(struct nro_kubelet *k, const char *path, CURLcode c, const char *ce,
			  struct nro_fetch *res)
{
	res->err = NRO_ERR_TLS;
	res->config_error = tls_is_config(c, k->curl_err);
	if (speaks_plain_http(k->curl_err))
		set_msg(res, path, "TLS: the server does not speak TLS (use an http:// URL?): %s", ce);
	else
		set_msg(res, path, "TLS: %s", ce);
}

/* The body callback stopped the transfer: which of our reasons was it. */
static void map_write_error(const struct xfer *x, const char *path, const char *ce,
			    const char *size, struct nro_fetch *res)
{
	if (x->why == AB_TOO_LARGE) {
		res->err = NRO_ERR_TOO_LARGE;
		set_msg(res, path, "body larger than %s cap (--max-body)", size);
	} else if (x->why == AB_CALLBACK) {
		res->err = NRO_ERR_PARSE;
		if (!res->message[0])
			set_msg(res, path, "body rejected by the parser");
		one_line(res->message);
	} else {
		res->err = NRO_ERR_OTHER;
		set_msg(res, path, "%s", ce);
	}
}

static void map_too_large(struct nro_kubelet *k, const char *path, const char *size,
			  struct nro_fetch *res)
{
	curl_off_t cl = -1;
	curl_easy_getinfo(k->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
	res->err = NRO_ERR_TOO_LARGE;
	if (cl >= 0)
		set_msg(res, path, "body larger than %s cap (--max-body): Content-Length %lld", size,
			(long long)cl);
	else
		set_msg(res, path, "body larger than %s cap (--max-body)", size);
}

/* A receive error once the kubelet had answered: a broken chunked framing
 * (the kubelet's large bodies are chunked) or a connection lost mid-body,
 * not an unreachable kubelet. 1 when it was one of those (res filled). */
static int map_body_error(struct nro_kubelet *k, const char *path, const char *ce,
			  struct nro_fetch *res)
{
	if (strstr(k->curl_err, "chunk")) {
		res->err = NRO_ERR_PARSE;
		set_msg(res, path, "malformed chunked body after %llu bytes: %s",
			(unsigned long long)res->bytes, ce);
		return 1;
	}
	if (res->http_status > 0 && res->bytes > 0) {
		res->err = NRO_ERR_TRUNCATED;
		set_msg(res, path, "connection lost mid-body after %llu bytes: %s",
			(unsigned long long)res->bytes, ce);
		return 1;
	}
	return 0;
}

/* Fills res->err and res->message for a transfer that did not end in a
 * 2xx; returns 0 for a 2xx fully received. */
static int map_result(struct nro_kubelet *k, const char *path, CURLcode c, const struct xfer *x,
		      uint64_t cap, struct nro_fetch *res)
{
	const char *ce = k->curl_err[0] ? k->curl_err : curl_easy_strerror(c);
	long st = res->http_status;
	char size[32];
	fmt_size(size, sizeof size, cap);
	switch (c) {
	case CURLE_OK:
		if (st >= 200 && st < 300)
			return 0;
		map_http_error(k, path, st, res);
		return -1;
	case CURLE_WRITE_ERROR:
		map_write_error(x, path, ce, size, res);
		return -1;
	case CURLE_FILESIZE_EXCEEDED:
		map_too_large(k, path, size, res);
		return -1;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		if (map_body_error(k, path, ce, res))
			return -1;
		res->err = NRO_ERR_CONNECT;
		set_msg(res, path, "kubelet unreachable: %s", ce);
		return -1;
	case CURLE_OPERATION_TIMEDOUT:
		res->err = NRO_ERR_TIMEOUT;
		set_msg(res, path, "timed out (--timeout): %s", ce);
		return -1;
	case CURLE_PARTIAL_FILE:
		res->err = NRO_ERR_TRUNCATED;
		set_msg(res, path, "body truncated after %llu bytes: %s",
			(unsigned long long)res->bytes, ce);
		return -1;
	default:
		if (curl_is_tls(c) || speaks_plain_http(k->curl_err)) {
			map_tls_error(k, path, c, ce, res);
		} else {
			res->err = NRO_ERR_OTHER;
			set_msg(res, path, "%s", c == CURLE_OUT_OF_MEMORY ? "out of memory" : ce);
		}
		return -1;
	}
}

/* base + path into buf, or into *heap when buf is too small. NULL on error. */
static char *build_url(struct nro_kubelet *k, const char *path, char *buf, size_t buflen,
		       char **heap, struct nro_fetch *res)
{
	if (!path || path[0] != '/') {
		res->err = NRO_ERR_OTHER;
		set_msg(res, path ? path : "(null)", "path must start with '/'");
		return NULL;
	}
	size_t need = strlen(k->url) + strlen(path) + 1;
	char *url = buf;
	if (need > buflen) {
		url = *heap = malloc(need);
		if (!url) {
			res->err = NRO_ERR_OTHER;
			set_msg(res, path, "out of memory");
			return NULL;
		}
	}
	snprintf(url, need, "%s%s", k->url, path);
	return url;
}

/* Makes the handle carry the current token. 0, or -1 with res filled: a
 * token that cannot be read is never replaced by a previous one. */
static int use_token(struct nro_kubelet *k, const char *path, struct nro_fetch *res)
{
	if (!k->token_file)
		return 0;
	char why[sizeof res->message];
	if (token_refresh(k, why, sizeof why) < 0) {
		res->err = NRO_ERR_AUTH;
		res->config_error = 1;
		set_msg(res, path, "%s", why);
		curl_easy_setopt(k->h, CURLOPT_XOAUTH2_BEARER, (char *)NULL);
		k->token_set = 0;
		return -1;
	}
	if (!k->token_set) {
		if (curl_easy_setopt(k->h, CURLOPT_XOAUTH2_BEARER, k->token) != CURLE_OK) {
			res->err = NRO_ERR_OTHER;
			set_msg(res, path, "libcurl cannot take the bearer token");
			return -1;
		}
		k->token_set = 1;
	}
	return 0;
}

/* Points k's handle at url, its body into x. */
static void prepare(struct nro_kubelet *k, const char *url, struct xfer *x)
{
	CURL *h = k->h;
	k->curl_err[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	/* refuses an announced Content-Length past the cap before any byte */
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
			 (curl_off_t)(x->cap > INT64_MAX ? INT64_MAX : x->cap));
}

/* After a transfer: fills res->http_status and lets go of x. */
static void finished(struct nro_kubelet *k, struct xfer *x)
{
	long st = 0;
	curl_easy_getinfo(k->h, CURLINFO_RESPONSE_CODE, &st);
	x->res->http_status = st;
	/* the URL may be on the caller's stack; do not leave the handle pointing at it */
	curl_easy_setopt(k->h, CURLOPT_WRITEDATA, NULL);
}

/* One transfer of url into x; fills res->http_status. */
static CURLcode perform(struct nro_kubelet *k, const char *url, struct xfer *x)
{
	prepare(k, url, x);
	CURLcode c = curl_easy_perform(k->h);
	finished(k, x);
	return c;
}

static int do_get(struct nro_kubelet *k, const char *path, nro_body_fn fn, void *ctx, uint64_t cap,
		  struct nro_fetch *res)
{
	memset(res, 0, sizeof *res);
	int64_t t0 = mono_us();
	int rc = -1;
	char buf[4096], *heap = NULL;
	const char *url = build_url(k, path, buf, sizeof buf, &heap, res);
	if (url && use_token(k, path, res) == 0) {
		struct xfer x = {.k = k, .res = res, .fn = fn, .ctx = ctx, .cap = cap};
		CURLcode c = perform(k, url, &x);
		rc = map_result(k, path, c, &x, cap, res);
		if (rc != 0 && res->http_status >= 200 && res->http_status < 300)
			res->error_body[0] = '\0';
	}
	free(heap);
	int64_t d = mono_us() - t0;
	res->duration_us = d < 0 ? 0 : d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
	return rc;
}

int nro_kubelet_get(struct nro_kubelet *k, const char *path, nro_body_fn fn, void *ctx,
		    struct nro_fetch *res)
{
	return do_get(k, path, fn, ctx, k->max_body, res);
}

/* ---- several transfers at once (curl's multi interface, one thread) ---- */

struct each {
	struct xfer x;
	char buf[4096], *heap;
	const char *url;
	int64_t t0;
	int added, done;
	CURLcode c;
};

static void each_end(struct nro_get *g, struct each *e)
{
	free(e->heap);
	int64_t d = mono_us() - e->t0;
	g->res.duration_us = d < 0 ? 0 : d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

/* Drives m until no transfer runs; marks each finished one done. */
static void each_run(CURLM *m, struct nro_get *g, struct each *st, size_t n)
{
	int running = 1, left;
	CURLMsg *msg;
	while (running) {
		if (curl_multi_perform(m, &running) != CURLM_OK)
			break;
		if (running && curl_multi_poll(m, NULL, 0, 1000, NULL) != CURLM_OK)
			break;
	}
	while ((msg = curl_multi_info_read(m, &left)))
		for (size_t i = 0; msg->msg == CURLMSG_DONE && i < n; i++)
			if (st[i].added && g[i].k->h == msg->easy_handle) {
				st[i].done = 1;
				st[i].c = msg->data.result;
			}
}

size_t nro_kubelet_get_each(struct nro_get *g, size_t n)
{
	size_t failed = 0;
	struct each *st = calloc(n ? n : 1, sizeof *st);
	CURLM *m = st ? curl_multi_init() : NULL;
	for (size_t i = 0; i < n; i++) {
		struct nro_get *q = &g[i];
		memset(&q->res, 0, sizeof q->res);
		q->rc = -1;
		if (!m) {
			q->res.err = NRO_ERR_OTHER;
			set_msg(&q->res, q->path, "out of memory");
			continue;
		}
		st[i].t0 = mono_us();
		st[i].url = build_url(q->k, q->path, st[i].buf, sizeof st[i].buf, &st[i].heap, &q->res);
		if (!st[i].url || use_token(q->k, q->path, &q->res) != 0)
			continue;
		st[i].x = (struct xfer){.k = q->k, .res = &q->res, .fn = q->fn, .ctx = q->ctx,
					.cap = q->k->max_body};
		prepare(q->k, st[i].url, &st[i].x);
		st[i].added = curl_multi_add_handle(m, q->k->h) == CURLM_OK;
		if (!st[i].added) {
			q->res.err = NRO_ERR_OTHER;
			set_msg(&q->res, q->path, "libcurl cannot add the transfer");
		}
	}
	if (m)
		each_run(m, g, st, n);
	for (size_t i = 0; i < n; i++) {
		struct nro_get *q = &g[i];
		if (st && st[i].added) {
			curl_multi_remove_handle(m, q->k->h);
			finished(q->k, &st[i].x);
			q->rc = map_result(q->k, q->path, st[i].done ? st[i].c : CURLE_RECV_ERROR,
					   &st[i].x, q->k->max_body, &q->res);
			if (q->rc != 0 && q->res.http_status >= 200 && q->res.http_status < 300)
				q->res.error_body[0] = '\0';
		}
		if (st)
			each_end(q, &st[i]);
		failed += q->rc != 0;
	}
	if (m)
		curl_multi_cleanup(m);
	free(st);
	return failed;
}

struct bufctx {
	struct nro_buf *out;
	struct nro_fetch *res;
};

static int to_buf(void *ctx, const char *data, size_t len)
{
	struct bufctx *b = ctx;
	if (nro_buf_add(b->out, data, len) != 0) {
		/* the cap is checked before the callback, so this is memory */
		snprintf(b->res->message, sizeof b->res->message,
			 "out of memory collecting the body (%zu bytes so far)", b->out->len);
		return -1;
	}
	return 0;
}

int nro_kubelet_get_buf(struct nro_kubelet *k, const char *path, struct nro_buf *out,
			struct nro_fetch *res)
{
	nro_buf_reset(out);
	uint64_t cap = k->max_body;
	if ((uint64_t)out->max < cap)
		cap = out->max;
	struct bufctx b = {.out = out, .res = res};
	int rc = do_get(k, path, to_buf, &b, cap, res);
	if (rc != 0 && res->err == NRO_ERR_PARSE) /* the only callback failure is memory */
		res->err = NRO_ERR_OTHER;
	return rc;
}
