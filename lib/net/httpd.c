/*
 * The libmicrohttpd listener of httpd.h. Ownership: nro_httpd_start owns
 * the PEM copies and the daemon until nro_httpd_stop frees them; on failure
 * it frees everything it took.
 */
#include "net/httpd.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/durations.h"
#include "base/file.h"
#include "base/log.h"

#define PEM_MAX (1u << 20)

struct nro_httpd {
	struct MHD_Daemon *d;
	nro_httpd_fn handler;
	void *ctx;
	char *cert, *key, *ca;
	unsigned port;
	char url[320];
	pthread_t starter;  /* the thread in nro_httpd_start, set before MHD runs */
	char why[256];      /* libmicrohttpd's first complaint while starting */
};

struct listen_addr {
	struct sockaddr_storage ss;
	int v6;
	char host[300]; /* for the URL */
};

/* Splits "HOST:PORT" / "[V6]:PORT" into host and port. 0 or -1. */
static int split_host_port(const char *spec, char *host, size_t hostlen, const char **port)
{
	const char *end;
	size_t n;
	if (spec[0] == '[') {
		end = strchr(spec, ']');
		if (!end || end[1] != ':')
			return -1;
		n = (size_t)(end - spec - 1);
		spec++;
		*port = end + 2;
	} else {
		end = strrchr(spec, ':');
		if (!end)
			return -1;
		n = (size_t)(end - spec);
		*port = end + 1;
	}
	if (n >= hostlen)
		return -1;
	memcpy(host, spec, n);
	host[n] = '\0';
	return 0;
}

/* How the URL names the host: a wildcard address as loopback. */
static void url_host(const char *host, char *out, size_t outlen)
{
	if (!host[0] || strcmp(host, "0.0.0.0") == 0)
		snprintf(out, outlen, "127.0.0.1");
	else if (strcmp(host, "::") == 0)
		snprintf(out, outlen, "[::1]");
	else if (strchr(host, ':'))
		snprintf(out, outlen, "[%s]", host);
	else
		snprintf(out, outlen, "%s", host);
}

static int parse_listen(const char *flag, const char *spec, struct listen_addr *la, char *err,
			size_t errlen)
{
	char host[256];
	const char *port;
	if (split_host_port(spec, host, sizeof host, &port) != 0) {
		snprintf(err, errlen, "%s '%s': want HOST:PORT", flag, spec);
		return -1;
	}
	uint64_t pn;
	if (nro_parse_u64(port, &pn) != 0 || pn > 65535) {
		snprintf(err, errlen, "%s '%s': bad port '%s'", flag, spec, port);
		return -1;
	}
	struct addrinfo hints = {.ai_flags = AI_PASSIVE | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
	if (rc != 0 || !ai) {
		snprintf(err, errlen, "%s '%s': %s", flag, spec, gai_strerror(rc));
		return -1;
	}
	memcpy(&la->ss, ai->ai_addr, ai->ai_addrlen);
	la->v6 = ai->ai_family == AF_INET6;
	freeaddrinfo(ai);
	url_host(host, la->host, sizeof la->host);
	return 0;
}

static int read_pem(const char *what, const char *path, char **out, char *err, size_t errlen)
{
	size_t len;
	if (!path)
		return 0;
	if (nro_file_read(path, PEM_MAX, out, &len) != 0) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	return 0;
}

static void free_pems(struct nro_httpd *h)
{
	free(h->cert);
	if (h->key) {
		explicit_bzero(h->key, strlen(h->key));
		free(h->key);
	}
	free(h->ca);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct nro_httpd *h = cls;
	char line[512];
	vsnprintf(line, sizeof line, fmt, ap);
	size_t n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	nro_debug("libmicrohttpd: %s", line);
	/* only the starting thread writes it: MHD's own threads never do */
	if (pthread_equal(pthread_self(), h->starter) && !h->why[0])
		snprintf(h->why, sizeof h->why, "%s", line);
}

/* libmicrohttpd calls this once for the headers, then per body chunk, then
 * once more: the handler runs on that last call, after the body is dropped. */
static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
				 const char *method, const char *version, const char *upload_data,
				 size_t *upload_data_size, void **con_cls)
{
	(void)version;
	(void)upload_data;
	static int marker;
	struct nro_httpd *h = cls;
	if (*con_cls == NULL) {
		*con_cls = &marker;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	return h->handler(h->ctx, c, url, method);
}

/* The optional options that apply, MHD_OPTION_END-terminated (an END in
 * the middle of an MHD_OPTION_ARRAY would cut it short). */
static void extra_options(const struct nro_httpd *h, const struct nro_httpd_cfg *cfg,
			  struct MHD_OptionItem o[5])
{
	size_t n = 0;
	if (cfg->max_connections)
		o[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections, NULL};
	if (h->cert) {
		o[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, h->cert};
		o[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, h->key};
	}
	if (h->ca)
		o[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, h->ca};
	o[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
}

static unsigned daemon_flags(const struct nro_httpd_cfg *cfg, const struct listen_addr *la)
{
	unsigned f = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (cfg->thread_per_connection)
		f |= MHD_USE_THREAD_PER_CONNECTION;
	else
		f |= MHD_USE_POLL;
	if (la->v6)
		f |= MHD_USE_IPv6;
	if (cfg->tls_cert)
		f |= MHD_USE_TLS;
	return f;
}

static int check_cfg(const struct nro_httpd_cfg *cfg, char *err, size_t errlen)
{
	if (!cfg->tls_cert != !cfg->tls_key) {
		snprintf(err, errlen, "--tls-cert and --tls-key go together");
		return -1;
	}
	if (cfg->client_ca && !cfg->tls_cert) {
		snprintf(err, errlen, "--client-ca needs --tls-cert and --tls-key");
		return -1;
	}
	return 0;
}

static int load(const struct nro_httpd_cfg *cfg, struct nro_httpd *h, struct listen_addr *la,
		char *err, size_t errlen)
{
	if (check_cfg(cfg, err, errlen) != 0 ||
	    parse_listen(cfg->flag ? cfg->flag : "--listen", cfg->listen, la, err, errlen) != 0 ||
	    read_pem("--tls-cert", cfg->tls_cert, &h->cert, err, errlen) != 0 ||
	    read_pem("--tls-key", cfg->tls_key, &h->key, err, errlen) != 0 ||
	    read_pem("--client-ca", cfg->client_ca, &h->ca, err, errlen) != 0)
		return -1;
	return 0;
}

/* The port, for libmicrohttpd's messages only (the address is the socket's). */
static uint16_t listen_port(const struct listen_addr *la)
{
	const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&la->ss;
	const struct sockaddr_in *v4 = (const struct sockaddr_in *)&la->ss;
	return ntohs(la->v6 ? v6->sin6_port : v4->sin_port);
}

int nro_httpd_start(const struct nro_httpd_cfg *cfg, struct nro_httpd **out, char *err,
		    size_t errlen)
{
	struct nro_httpd *h = calloc(1, sizeof *h);
	struct listen_addr la;
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NRO_HTTPD_ELISTEN;
	}
	h->handler = cfg->handler;
	h->ctx = cfg->ctx;
	h->starter = pthread_self();
	if (load(cfg, h, &la, err, errlen) != 0) {
		free_pems(h);
		free(h);
		return NRO_HTTPD_EUSAGE;
	}
	struct MHD_OptionItem extra[5];
	extra_options(h, cfg, extra);
	h->d = MHD_start_daemon(
		daemon_flags(cfg, &la), listen_port(&la), NULL, NULL, on_access, h, MHD_OPTION_EXTERNAL_LOGGER,
		mhd_log, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&la.ss,
		MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s, MHD_OPTION_ARRAY, extra, MHD_OPTION_END);
	if (!h->d) {
		/* libmicrohttpd's own words name the cause (address in use, ...) */
		snprintf(err, errlen, "cannot listen on %s: %s", cfg->listen,
			 h->why[0] ? h->why : "libmicrohttpd refused to start");
		free_pems(h);
		free(h);
		return NRO_HTTPD_ELISTEN;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = di ? di->port : 0;
	snprintf(h->url, sizeof h->url, "%s://%s:%u", h->cert ? "https" : "http", la.host, h->port);
	*out = h;
	return NRO_HTTPD_OK;
}

const char *nro_httpd_url(const struct nro_httpd *h)
{
	return h->url;
}

unsigned nro_httpd_port(const struct nro_httpd *h)
{
	return h->port;
}

void nro_httpd_stop(struct nro_httpd *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free_pems(h);
	free(h);
}

enum MHD_Result nro_httpd_reply(struct MHD_Connection *c, unsigned status, const char *ctype,
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

static void cert_cn(const gnutls_datum_t *der, char *cn, size_t cnlen)
{
	gnutls_x509_crt_t crt;
	size_t n = cnlen - 1;
	cn[0] = '\0';
	if (gnutls_x509_crt_init(&crt) != 0)
		return;
	if (gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER) == 0 &&
	    gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn, &n) != 0)
		cn[0] = '\0';
	gnutls_x509_crt_deinit(crt);
}

int nro_httpd_client_cert(struct MHD_Connection *c, char *cn, size_t cnlen)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	gnutls_session_t s = ci ? (gnutls_session_t)ci->tls_session : NULL;
	unsigned int status = 0, npeers = 0;
	const gnutls_datum_t *peers = s ? gnutls_certificate_get_peers(s, &npeers) : NULL;
	if (!peers || npeers == 0)
		return 0;
	if (gnutls_certificate_verify_peers2(s, &status) != 0 || status != 0)
		return -1;
	cert_cn(&peers[0], cn, cnlen);
	return 1;
}

int nro_httpd_peer_gone(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		return 0;
	char b;
	ssize_t r = recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}
