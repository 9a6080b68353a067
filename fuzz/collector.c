#include "collector.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/log.h"
#include "fuzz.h"
#include "wire/transport.h"

/* ---- the kubelet, served from memory ------------------------------------ */

struct nro_kubelet {
	int unused;
};

#define SERVED_MAX 4
static struct served {
	const char *path;
	long status;
	const uint8_t *body;
	size_t len, chunk;
} served[SERVED_MAX];

void fuzz_kubelet_reset(void)
{
	memset(served, 0, sizeof served);
}

void fuzz_kubelet_serve(const char *path, long status, const uint8_t *body, size_t len,
			size_t chunk)
{
	for (int i = 0; i < SERVED_MAX; i++)
		if (!served[i].path || strcmp(served[i].path, path) == 0) {
			served[i] = (struct served){path, status, body, len, chunk};
			return;
		}
	FUZZ_CHECK(!"more paths served than SERVED_MAX");
}

struct nro_kubelet *nro_kubelet_new(const struct nro_kubelet_cfg *cfg, char *err, size_t errlen)
{
	(void)cfg;
	(void)err;
	(void)errlen;
	static struct nro_kubelet k;
	return &k;
}

void nro_kubelet_free(struct nro_kubelet *k)
{
	(void)k;
}

static const struct served *lookup(const char *path)
{
	for (int i = 0; i < SERVED_MAX && served[i].path; i++)
		if (strcmp(served[i].path, path) == 0)
			return &served[i];
	static const struct served missing = {NULL, 404, (const uint8_t *)"404 page not found",
					      18, 0};
	return &missing;
}

/* A non-2xx answer as the real client reports it. */
static int refuse(const char *path, const struct served *s, struct nro_fetch *res)
{
	size_t n = s->len < sizeof res->error_body - 1 ? s->len : sizeof res->error_body - 1;
	memcpy(res->error_body, s->body, n);
	res->error_body[n] = '\0';
	res->err = s->status == 401 || s->status == 403 ? NRO_ERR_AUTH : NRO_ERR_HTTP;
	snprintf(res->message, sizeof res->message, "GET %s: HTTP %ld", path, s->status);
	return -1;
}

int nro_kubelet_get(struct nro_kubelet *k, const char *path, nro_body_fn fn, void *ctx,
		    struct nro_fetch *res)
{
	(void)k;
	memset(res, 0, sizeof *res);
	const struct served *s = lookup(path);
	res->http_status = s->status;
	if (s->status < 200 || s->status > 299)
		return refuse(path, s, res);
	for (size_t at = 0; at < s->len;) {
		size_t n = s->chunk && s->chunk < s->len - at ? s->chunk : s->len - at;
		res->bytes += n;
		if (fn(ctx, (const char *)s->body + at, n) != 0) {
			res->err = NRO_ERR_PARSE;
			if (!res->message[0])
				snprintf(res->message, sizeof res->message,
					 "GET %s: body rejected by the parser", path);
			return -1;
		}
		at += n;
	}
	return 0;
}

static int add_to_buf(void *ctx, const char *data, size_t len)
{
	return nro_buf_add(ctx, data, len);
}

int nro_kubelet_get_buf(struct nro_kubelet *k, const char *path, struct nro_buf *out,
			struct nro_fetch *res)
{
	nro_buf_reset(out);
	return nro_kubelet_get(k, path, add_to_buf, out, res);
}

/* ---- the collector ------------------------------------------------------- */

struct nro_collector *fuzz_collector(const char *prog, const char *target)
{
	static struct nro_collector c;
	if (c.target)
		return &c;
	nro_log_init(prog);
	c.t.prog = prog;
	c.t.interval_ms = 15000;
	c.t.ready_fd = -1;
	c.t.sigfd = -1;
	c.kubelet = nro_kubelet_new(&c.t.kubelet, NULL, 0);
	c.target = target;
	c.seq = 1;
	nro_enc_init(&c.enc, 0);
	c.out.fd = memfd_create("fuzz-records", MFD_CLOEXEC);
	FUZZ_CHECK(c.out.fd >= 0);
	c.out.open = 1;
	return &c;
}

/* Every framed record written since the last call decodes; then forgets
 * them. Returns a hash of their bytes, sequence numbers left out. */
static uint64_t check_records(int fd)
{
	off_t end = lseek(fd, 0, SEEK_CUR);
	FUZZ_CHECK(end >= 0);
	static uint8_t *buf;
	static size_t cap;
	if ((size_t)end > cap) {
		munmap(buf, cap);
		cap = (size_t)end;
		buf = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		FUZZ_CHECK(buf != MAP_FAILED);
	}
	FUZZ_CHECK(pread(fd, buf, (size_t)end, 0) == end);
	static struct nro_msg m;
	for (size_t at = 0; at < (size_t)end;) {
		FUZZ_CHECK((size_t)end - at >= 4);
		size_t len = (size_t)buf[at] << 24 | (size_t)buf[at + 1] << 16 |
			     (size_t)buf[at + 2] << 8 | buf[at + 3];
		FUZZ_CHECK(len <= (size_t)end - at - 4);
		const char *why = NULL;
		int decoded = nro_decode(&m, buf + at + 4, len, &why) == 0;
		if (!decoded)
			fprintf(stderr, "fuzz: a record the collector wrote does not decode: %s\n", why);
		FUZZ_CHECK(decoded);
		FUZZ_CHECK(nro_record_set_seq(buf + at + 4, len, 0) == 0);
		at += 4 + len;
	}
	FUZZ_CHECK(ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0);
	uint64_t h = 0x9E3779B97F4A7C15u;
	for (off_t i = 0; i < end; i++)
		h = (h ^ buf[i]) * 0x100000001B3u;
	return h;
}

/* What poll_once in lib/run/collector.c sends after a poll, without its
 * warning line per failed poll (most fuzz inputs fail) and its clocks. */
static void report(struct nro_collector *c, int r, struct nro_fetch *res)
{
	uint16_t st = (uint16_t)(res->http_status >= 100 && res->http_status <= 599 ? res->http_status : 0);
	if (r != 0) {
		struct nro_error x = {res->err, st, nro_s(c->target), nro_s(res->message)};
		FUZZ_CHECK(nro_emit_error(c, &x) == 0);
		nro_emit_flush(c);
	}
	struct nro_health h = {
		r != 0 ? NRO_HEALTH_FAILED : c->degraded ? NRO_HEALTH_DEGRADED : NRO_HEALTH_OK,
		st, 15000, 0, res->bytes, nro_s(c->target), nro_s(r != 0 ? res->message : c->degraded_msg),
	};
	nro_enc_begin(&c->enc, NRO_KIND_HEALTH, c->seq, c->poll_ts_ms, c->t.prog, c->node);
	FUZZ_CHECK(nro_enc_health(&c->enc, &h) == 0);
	nro_emit_flush(c);
}

static int one_poll(struct nro_collector *c, nro_poll_fn poll, void *ctx, uint64_t *records)
{
	struct nro_fetch res;
	memset(&res, 0, sizeof res);
	c->poll_ts_ms = 1764000000000; /* fixed: a run depends on its input only */
	c->entries = 0;
	c->degraded = 0;
	c->degraded_msg[0] = '\0';
	c->degraded_quiet = 0;
	snprintf(c->node, sizeof c->node, "fuzz-node");
	int r = poll(c, ctx, &res);
	nro_emit_flush(c);
	if (r != 0)
		FUZZ_CHECK(res.message[0] && !strchr(res.message, '\n'));
	FUZZ_CHECK(!strchr(c->degraded_msg, '\n'));
	report(c, r, &res);
	*records = check_records(c->out.fd);
	return r;
}

/* Twice: what a poll publishes depends on the body alone, never on what
 * the collector kept from the poll before (its buffers, its node name). */
int fuzz_poll(struct nro_collector *c, nro_poll_fn poll, void *ctx)
{
	uint64_t first, again;
	int r = one_poll(c, poll, ctx, &first);
	FUZZ_CHECK(one_poll(c, poll, ctx, &again) == r && again == first);
	return r;
}
