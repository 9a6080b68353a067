/*
 * Unit tests for lib/net/kubelet.c against an in-process libmicrohttpd server
 * on a random port: token rotation through a projected-volume style
 * symlink swap in one long-lived client, connection reuse, the body cap,
 * callback aborts, error bodies, and the RBAC subresource table.
 */
#include "net/kubelet.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wire/record.h"
#include "base/testing.h"

/* ---- a tiny canned-reply server ----------------------------------------- */

static struct {
	struct MHD_Daemon *d;
	unsigned port;
	pthread_mutex_t lock;
	char last_auth[256];
	unsigned connections;
	char big[300000];
	pthread_cond_t peer_cond;
	int peer_seen; /* /peer was asked: /wait answers "together" */
} srv = {.lock = PTHREAD_MUTEX_INITIALIZER, .peer_cond = PTHREAD_COND_INITIALIZER};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body,
			     size_t len)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_req(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *up,
			      size_t *uplen, void **con_cls)
{
	(void)cls, (void)method, (void)version, (void)up, (void)uplen;
	static int marker;
	if (!*con_cls) { /* headers only: answer on the next call */
		*con_cls = &marker;
		return MHD_YES;
	}
	const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	pthread_mutex_lock(&srv.lock);
	snprintf(srv.last_auth, sizeof srv.last_auth, "%s", a ? a : "");
	pthread_mutex_unlock(&srv.lock);
	if (strcmp(url, "/auth") == 0) {
		if (a && (strcmp(a, "Bearer tok-one") == 0 || strcmp(a, "Bearer tok-two") == 0))
			return reply(c, 200, "ok", 2);
		return reply(c, 401, "Unauthorized\n", 13);
	}
	if (strcmp(url, "/stats/summary") == 0)
		return reply(c, 403, "Forbidden (user=x, verb=get, resource=nodes, subresource(s)=[stats])\n", 70);
	if (strcmp(url, "/healthz") == 0) {
		const char *b = "[+]ping ok\n[+]log ok\n[-]syncloop failed: reason withheld\nhealthz check failed\n";
		return reply(c, 500, b, strlen(b));
	}
	if (strcmp(url, "/big") == 0)
		return reply(c, 200, srv.big, sizeof srv.big);
	if (strcmp(url, "/small") == 0)
		return reply(c, 200, "0123456789", 10);
	if (strcmp(url, "/peer") == 0) {
		pthread_mutex_lock(&srv.lock);
		srv.peer_seen = 1;
		pthread_cond_broadcast(&srv.peer_cond);
		pthread_mutex_unlock(&srv.lock);
		return reply(c, 200, "peer", 4);
	}
	if (strcmp(url, "/wait") == 0) { /* answers once /peer was asked, or after 5 s */
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 5;
		pthread_mutex_lock(&srv.lock);
		while (!srv.peer_seen && pthread_cond_timedwait(&srv.peer_cond, &srv.lock, &until) == 0)
			;
		int together = srv.peer_seen;
		pthread_mutex_unlock(&srv.lock);
		return together ? reply(c, 200, "together", 8) : reply(c, 200, "alone", 5);
	}
	return reply(c, 404, "404 page not found\n", 19);
}

static void on_conn(void *cls, struct MHD_Connection *c, void **socket_context,
		    enum MHD_ConnectionNotificationCode code)
{
	(void)cls, (void)c, (void)socket_context;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		pthread_mutex_lock(&srv.lock);
		srv.connections++;
		pthread_mutex_unlock(&srv.lock);
	}
}

static int srv_start(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (size_t i = 0; i < sizeof srv.big; i++)
		srv.big[i] = (char)('a' + i % 26);
	srv.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
				 NULL, NULL, on_req, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				 MHD_OPTION_NOTIFY_CONNECTION, on_conn, NULL, MHD_OPTION_END);
	if (!srv.d)
		return -1;
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv.d, MHD_DAEMON_INFO_BIND_PORT);
	srv.port = di ? di->port : 0;
	return srv.port ? 0 : -1;
}

static void last_auth(char *out, size_t len)
{
	pthread_mutex_lock(&srv.lock);
	snprintf(out, len, "%s", srv.last_auth);
	pthread_mutex_unlock(&srv.lock);
}

static unsigned connections(void)
{
	pthread_mutex_lock(&srv.lock);
	unsigned n = srv.connections;
	pthread_mutex_unlock(&srv.lock);
	return n;
}

static struct nro_kubelet *client(const char *token_file, uint64_t max_body)
{
	char url[64], err[256];
	snprintf(url, sizeof url, "http://127.0.0.1:%u", srv.port);
	struct nro_kubelet_cfg cfg = {.url = url, .token_file = token_file, .timeout_ms = 5000,
				      .max_body = max_body, .allow_insecure_token = 1};
	struct nro_kubelet *k = nro_kubelet_new(&cfg, err, sizeof err);
	if (!k)
		fprintf(stderr, "nro_kubelet_new: %s\n", err);
	return k;
}

static void write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(s, f);
		fclose(f);
	}
}

static char tmpdir[256];

/* ---- tests -------------------------------------------------------------- */

TEST(subresource_table)
{
	CHECK_STR(nro_kubelet_subresource("/stats/summary"), "nodes/stats");
	CHECK_STR(nro_kubelet_subresource("/stats"), "nodes/stats");
	CHECK_STR(nro_kubelet_subresource("/stats/"), "nodes/stats");
	CHECK_STR(nro_kubelet_subresource("/metrics"), "nodes/metrics");
	CHECK_STR(nro_kubelet_subresource("/metrics/cadvisor"), "nodes/metrics");
	CHECK_STR(nro_kubelet_subresource("/metrics/probes"), "nodes/metrics");
	CHECK_STR(nro_kubelet_subresource("/metrics?x=1"), "nodes/metrics");
	CHECK_STR(nro_kubelet_subresource("/pods"), "nodes/proxy");
	CHECK_STR(nro_kubelet_subresource("/healthz?verbose"), "nodes/proxy");
	CHECK_STR(nro_kubelet_subresource("/configz"), "nodes/proxy");
	CHECK_STR(nro_kubelet_subresource("/spec"), "nodes/proxy");
	CHECK_STR(nro_kubelet_subresource("/statsx"), "nodes/proxy");
	CHECK_STR(nro_kubelet_subresource("/metricsfoo"), "nodes/proxy");
	CHECK_STR(nro_kubelet_subresource(""), "nodes/proxy");
	CHECK_STR(nro_kubelet_subresource(NULL), "nodes/proxy");
}

TEST(bad_config_refused)
{
	char err[256] = "";
	struct nro_kubelet_cfg cfg = {.url = "ftp://127.0.0.1"};
	CHECK(nro_kubelet_new(&cfg, err, sizeof err) == NULL);
	CHECK(strstr(err, "ftp://127.0.0.1") != NULL);
	cfg.url = "";
	CHECK(nro_kubelet_new(&cfg, err, sizeof err) == NULL);
	cfg.url = "https://127.0.0.1:10250";
	cfg.cert_file = "/x.crt";
	CHECK(nro_kubelet_new(&cfg, err, sizeof err) == NULL);
	CHECK(strstr(err, "key") != NULL);
}

/* A projected service-account volume: token -> ..data/token, ..data -> a
 * timestamped directory, swapped atomically by renaming a new ..data link. */
static void project(const char *dir, const char *gen, const char *content)
{
	char p[512], q[512];
	snprintf(p, sizeof p, "%s/%s", dir, gen);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/%s/token", dir, gen);
	write_file(p, content);
	snprintf(p, sizeof p, "%s/..data_tmp", dir);
	unlink(p);
	CHECK(symlink(gen, p) == 0);
	snprintf(q, sizeof q, "%s/..data", dir);
	CHECK(rename(p, q) == 0);
	snprintf(p, sizeof p, "%s/token", dir);
	if (access(p, F_OK) != 0)
		CHECK(symlink("..data/token", p) == 0);
}

TEST(token_rotates_in_one_client)
{
	char dir[300], tf[320], auth[256];
	snprintf(dir, sizeof dir, "%s/sa", tmpdir);
	mkdir(dir, 0700);
	project(dir, "..2026_01", "tok-one\n");
	snprintf(tf, sizeof tf, "%s/token", dir);

	struct nro_kubelet *k = client(tf, 0);
	CHECK(k != NULL);
	if (!k)
		return;
	struct nro_fetch res;
	CHECK(nro_kubelet_get(k, "/auth", NULL, NULL, &res) == 0);
	CHECK(res.http_status == 200);
	last_auth(auth, sizeof auth);
	CHECK_STR(auth, "Bearer tok-one"); /* trailing newline trimmed */

	/* the kubelet sees the new token at the next request, same client */
	project(dir, "..2026_02", "tok-two  \r\n\n");
	CHECK(nro_kubelet_get(k, "/auth", NULL, NULL, &res) == 0);
	CHECK(res.http_status == 200);
	last_auth(auth, sizeof auth);
	CHECK_STR(auth, "Bearer tok-two");

	/* a rotation to a token the kubelet refuses: 401, token not in the message */
	project(dir, "..2026_03", "tok-XYZ");
	CHECK(nro_kubelet_get(k, "/auth", NULL, NULL, &res) == -1);
	CHECK(res.http_status == 401);
	CHECK(res.err == NRO_ERR_AUTH);
	CHECK(strstr(res.message, "credentials") != NULL);
	CHECK(strstr(res.message, "tok-XYZ") == NULL);
	last_auth(auth, sizeof auth);
	CHECK_STR(auth, "Bearer tok-XYZ");

	/* rewritten in place (same inode, same size) is noticed too */
	char p[400];
	snprintf(p, sizeof p, "%s/..2026_03/token", dir);
	write_file(p, "tok-two");
	/* make sure the timestamp differs even on coarse-grained file systems */
	struct timespec ts[2] = {{.tv_sec = 1000000000, .tv_nsec = 0}, {.tv_sec = 1000000000, .tv_nsec = 0}};
	utimensat(AT_FDCWD, p, ts, 0);
	CHECK(nro_kubelet_get(k, "/auth", NULL, NULL, &res) == 0);
	last_auth(auth, sizeof auth);
	CHECK_STR(auth, "Bearer tok-two");

	/* one keep-alive connection served all four requests */
	CHECK(connections() == 1);
	nro_kubelet_free(k);
}

TEST(token_file_missing_names_file_not_content)
{
	char tf[320], auth[256];
	snprintf(tf, sizeof tf, "%s/tok-missing", tmpdir);
	write_file(tf, "tok-one");
	struct nro_kubelet *k = client(tf, 0);
	CHECK(k != NULL);
	if (!k)
		return;
	struct nro_fetch res;
	CHECK(nro_kubelet_get(k, "/auth", NULL, NULL, &res) == 0);
	unlink(tf);
	srv.last_auth[0] = '\0';
	CHECK(nro_kubelet_get(k, "/auth", NULL, NULL, &res) == -1);
	CHECK(res.err == NRO_ERR_AUTH);
	CHECK(res.http_status == 0); /* refused before any request */
	CHECK(strstr(res.message, tf) != NULL);
	CHECK(strstr(res.message, "tok-one") == NULL);
	CHECK(strstr(res.message, "No such file") != NULL);

	/* an empty file is an error too, and the old token is not reused */
	write_file(tf, "\n");
	CHECK(nro_kubelet_get(k, "/auth", NULL, NULL, &res) == -1);
	CHECK(strstr(res.message, "empty") != NULL);

	/* back: works again */
	write_file(tf, "tok-two\n");
	CHECK(nro_kubelet_get(k, "/auth", NULL, NULL, &res) == 0);
	last_auth(auth, sizeof auth);
	CHECK_STR(auth, "Bearer tok-two");
	nro_kubelet_free(k);
}

TEST(no_token_sends_no_authorization)
{
	char auth[256];
	struct nro_kubelet *k = client(NULL, 0);
	if (!k)
		return;
	struct nro_fetch res;
	CHECK(nro_kubelet_get(k, "/auth", NULL, NULL, &res) == -1);
	CHECK(res.http_status == 401);
	CHECK(strstr(res.message, "no credentials") != NULL);
	last_auth(auth, sizeof auth);
	CHECK_STR(auth, "");
	nro_kubelet_free(k);
}

TEST(forbidden_names_subresource)
{
	struct nro_kubelet *k = client(NULL, 0);
	if (!k)
		return;
	struct nro_fetch res;
	CHECK(nro_kubelet_get(k, "/stats/summary", NULL, NULL, &res) == -1);
	CHECK(res.err == NRO_ERR_AUTH);
	CHECK(res.http_status == 403);
	CHECK(strstr(res.message, "GET /stats/summary: 403 Forbidden") == res.message);
	CHECK(strstr(res.message, "nodes/stats") != NULL);
	CHECK(strchr(res.message, '\n') == NULL);
	nro_kubelet_free(k);
}

TEST(http_500_keeps_error_body)
{
	struct nro_kubelet *k = client(NULL, 0);
	if (!k)
		return;
	struct nro_fetch res;
	CHECK(nro_kubelet_get(k, "/healthz", NULL, NULL, &res) == -1);
	CHECK(res.err == NRO_ERR_HTTP);
	CHECK(res.http_status == 500);
	CHECK(strstr(res.message, "500") != NULL);
	CHECK(strstr(res.message, "syncloop failed") != NULL);
	CHECK(strchr(res.message, '\n') == NULL);
	CHECK(strstr(res.error_body, "[-]syncloop failed: reason withheld\n") != NULL);

	/* 404 is its own code: the endpoint is not served, not an HTTP failure */
	CHECK(nro_kubelet_get(k, "/nope", NULL, NULL, &res) == -1);
	CHECK(res.err == NRO_ERR_NOT_SERVED);
	CHECK(res.http_status == 404);
	CHECK_STR(res.message, "GET /nope: 404 Not Found: this kubelet does not serve /nope");
	CHECK_STR(res.error_body, "404 page not found\n");
	nro_kubelet_free(k);
}

struct count {
	size_t n;
	int fail_after;
	struct nro_fetch *res;
};

static int counting(void *ctx, const char *data, size_t len)
{
	struct count *c = ctx;
	(void)data;
	c->n += len;
	if (c->fail_after >= 0 && c->n > (size_t)c->fail_after) {
		snprintf(c->res->message, sizeof c->res->message, "my parser\nsays no");
		return -1;
	}
	return 0;
}

TEST(body_streams_and_callback_aborts)
{
	struct nro_kubelet *k = client(NULL, 0);
	if (!k)
		return;
	struct nro_fetch res;
	struct count c = {.fail_after = -1, .res = &res};
	CHECK(nro_kubelet_get(k, "/big", counting, &c, &res) == 0);
	CHECK(c.n == sizeof srv.big);
	CHECK(res.bytes == sizeof srv.big);
	CHECK(res.error_body[0] == '\0');

	struct count c2 = {.fail_after = 1000, .res = &res};
	CHECK(nro_kubelet_get(k, "/big", counting, &c2, &res) == -1);
	CHECK(res.err == NRO_ERR_PARSE);
	CHECK_STR(res.message, "my parser says no");
	nro_kubelet_free(k);
}

struct text {
	char s[64];
	size_t n;
};

static int collect(void *ctx, const char *data, size_t len)
{
	struct text *t = ctx;
	size_t k = len < sizeof t->s - 1 - t->n ? len : sizeof t->s - 1 - t->n;
	memcpy(t->s + t->n, data, k);
	t->n += k;
	t->s[t->n] = '\0';
	return 0;
}

/* The transfers of nro_kubelet_get_each overlap: /wait answers "together"
 * only if /peer is asked while it waits (one at a time it would answer
 * "alone"); each body reaches its own callback, each failure its own res. */
TEST(get_each_runs_the_transfers_at_once)
{
	struct nro_kubelet *k[3] = {client(NULL, 0), client(NULL, 0), client(NULL, 0)};
	if (!k[0] || !k[1] || !k[2])
		return;
	struct text t0 = {.n = 0}, t1 = {.n = 0};
	struct nro_get g[3] = {{.k = k[0], .path = "/wait", .fn = collect, .ctx = &t0},
			       {.k = k[1], .path = "/peer", .fn = collect, .ctx = &t1},
			       {.k = k[2], .path = "/nope"}};
	CHECK(nro_kubelet_get_each(g, 3) == 1);
	CHECK(g[0].rc == 0 && g[0].res.http_status == 200);
	CHECK_STR(t0.s, "together");
	CHECK(g[1].rc == 0);
	CHECK_STR(t1.s, "peer");
	CHECK(g[2].rc == -1 && g[2].res.err == NRO_ERR_NOT_SERVED && g[2].res.http_status == 404);
	CHECK(strstr(g[2].res.message, "GET /nope: 404") == g[2].res.message);
	for (int i = 0; i < 3; i++)
		nro_kubelet_free(k[i]);
}

TEST(body_cap)
{
	struct nro_kubelet *k = client(NULL, 100000);
	if (!k)
		return;
	struct nro_fetch res;
	CHECK(nro_kubelet_get(k, "/big", NULL, NULL, &res) == -1);
	CHECK(res.err == NRO_ERR_TOO_LARGE);
	CHECK(strstr(res.message, "GET /big: body larger than 100000 bytes cap (--max-body)") ==
	      res.message);

	/* get_buf: the buffer's own cap applies when smaller */
	struct nro_buf b;
	nro_buf_init(&b, 5);
	CHECK(nro_kubelet_get_buf(k, "/small", &b, &res) == -1);
	CHECK(res.err == NRO_ERR_TOO_LARGE);
	nro_buf_free(&b);

	nro_buf_init(&b, 1u << 20);
	CHECK(nro_kubelet_get_buf(k, "/small", &b, &res) == 0);
	CHECK(b.len == 10 && memcmp(b.p, "0123456789", 10) == 0);
	CHECK(nro_kubelet_get_buf(k, "/small", &b, &res) == 0); /* reset, not appended */
	CHECK(b.len == 10);
	CHECK(nro_kubelet_get_buf(k, "/big", &b, &res) == -1);
	nro_buf_free(&b);
	nro_kubelet_free(k);

	k = client(NULL, 64u << 20);
	CHECK(k != NULL);
	nro_kubelet_free(k);
}

TEST(token_over_http_refused)
{
	char err[256] = "", tok[] = "/tmp/nro-kubelet-test-token.XXXXXX";
	int fd = mkstemp(tok);
	CHECK(fd >= 0);
	CHECK(write(fd, "secret\n", 7) == 7);
	close(fd);
	struct nro_kubelet_cfg cfg = {.url = "http://127.0.0.1:1", .token_file = tok,
				      .timeout_ms = 2000};
	CHECK(nro_kubelet_new(&cfg, err, sizeof err) == NULL);
	CHECK(strstr(err, "refusing to send the bearer token over http://") != NULL);
	CHECK(strstr(err, "secret") == NULL);
	cfg.allow_insecure_token = 1;
	struct nro_kubelet *k = nro_kubelet_new(&cfg, err, sizeof err);
	CHECK(k != NULL);
	nro_kubelet_free(k);
	cfg.url = "https://127.0.0.1:1";
	cfg.allow_insecure_token = 0;
	k = nro_kubelet_new(&cfg, err, sizeof err);
	CHECK(k != NULL);
	nro_kubelet_free(k);
	unlink(tok);
}

TEST(unreachable)
{
	char err[256];
	/* a port nothing listens on: the test server's, once it is gone */
	struct nro_kubelet_cfg cfg = {.url = "http://127.0.0.1:1", .timeout_ms = 2000};
	struct nro_kubelet *k = nro_kubelet_new(&cfg, err, sizeof err);
	CHECK(k != NULL);
	if (!k)
		return;
	struct nro_fetch res;
	CHECK(nro_kubelet_get(k, "/pods", NULL, NULL, &res) == -1);
	CHECK(res.err == NRO_ERR_CONNECT);
	CHECK(res.http_status == 0);
	CHECK(strstr(res.message, "kubelet unreachable") != NULL);
	CHECK(nro_kubelet_get(k, "pods", NULL, NULL, &res) == -1); /* no leading slash */
	CHECK(res.err == NRO_ERR_OTHER);
	nro_kubelet_free(k);
	nro_kubelet_free(NULL);
}

int main(void)
{
	snprintf(tmpdir, sizeof tmpdir, "%s/kubelet_test.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir) || srv_start() != 0) {
		printf("not ok - setup\n");
		return 1;
	}
	RUN(subresource_table);
	RUN(bad_config_refused);
	RUN(token_rotates_in_one_client);
	RUN(token_file_missing_names_file_not_content);
	RUN(no_token_sends_no_authorization);
	RUN(forbidden_names_subresource);
	RUN(http_500_keeps_error_body);
	RUN(body_streams_and_callback_aborts);
	RUN(get_each_runs_the_transfers_at_once);
	RUN(body_cap);
	RUN(token_over_http_refused);
	RUN(unreachable);
	MHD_stop_daemon(srv.d);
	testing_rm_rf(tmpdir);
	return testing_done();
}
