/*
 * sink-nats: the analyzer's events and metrics on NATS subjects (cnats),
 *   <prefix>.<node>.event.<EventType>   one message per event
 *   <prefix>.<node>.metric.<source>     one message per metric record
 * (and .state/.health/.error.<source> with --kinds), as JSON (the fields of
 * nro-dump) or as the binary record itself. Every message carries the
 * headers Nats-Msg-Id (ring epoch + seq + entry index: JetStream drops what a
 * replay after a crash sends twice), Nro-Node and Nro-Kind. With --jetstream
 * every message must be acknowledged by a stream before the cursor moves;
 * without it a batch counts once a PING/PONG flush returned. docs/nats.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <nats/nats.h>

#include "base/buf.h"
#include "base/log.h"
#include "wire/record.h"
#include "render/render.h"
#include "run/sink.h"

#define SECRET_MAX 65536
#define ARENA_MAX (256u << 20) /* a batch's staged bytes, hard cap */
#define BATCH_BYTES (1u << 20)  /* a batch is sent once it holds this much */
#define SERVERS_MAX 16
#define HEADER_ROOM 256 /* the NATS/1.0 header block, less Nro-Node's value */

static const char *urls = "nats://127.0.0.1:4222";
static const char *prefix = "nro";
static const char *format = "json";
static const char *kinds_opt;
static int jetstream;
static uint64_t window = 256;
static int64_t ack_timeout_ms = 5000;
static int64_t connect_timeout_ms = 2000;
static uint64_t reconnect_buf = 8u << 20;
static const char *user, *password_file, *token_file, *nkey_pub, *nkey_seed_file, *creds_file;
static const char *tls_ca_file, *tls_cert_file, *tls_key_file, *tls_server_name;

static struct nro_sink sink;

static const struct nro_optdef opts[] = {
	{"url", 'u', "NRO_NATS_URL", NRO_OPT_STR, &urls, NULL, "URL[,URL...]",
	 "NATS servers, several for a cluster (default nats://127.0.0.1:4222; tls:// for TLS)"},
	{"subject-prefix", 0, "NRO_NATS_SUBJECT_PREFIX", NRO_OPT_STR, &prefix, NULL, "PREFIX",
	 "first subject tokens (default nro): PREFIX.<node>.event.<type>, PREFIX.<node>.metric.<source>"},
	{"format", 'f', "NRO_NATS_FORMAT", NRO_OPT_STR, &format, NULL, "json|record",
	 "json: nro-dump's fields, one object per event, one array per metric record (default); "
	 "record: the binary record as published (docs/wire-format.md)"},
	{"kinds", 'k', "NRO_SINK_KINDS", NRO_OPT_STR, &kinds_opt, NULL, "LETTERS",
	 "record kinds: E event, M metric, S state, H health, X error (default EM)"},
	{"jetstream", 'j', "NRO_NATS_JETSTREAM", NRO_OPT_FLAG, &jetstream, NULL, NULL,
	 "publish to JetStream and move the cursor only past acknowledged messages"},
	{"window", 0, "NRO_NATS_WINDOW", NRO_OPT_UINT, &window, NULL, "N",
	 "messages in flight at most: unacknowledged (JetStream) or between flushes (default 256)"},
	{"flush-interval", 0, "NRO_NATS_FLUSH_INTERVAL", NRO_OPT_DUR, &sink.flush_ms, NULL, "D",
	 "send a batch at most this long after its first message (default 1s; sooner when idle)"},
	{"ack-timeout", 0, "NRO_NATS_ACK_TIMEOUT", NRO_OPT_DUR, &ack_timeout_ms, NULL, "D",
	 "how long a batch may wait for its acknowledgements or flush (default 5s)"},
	{"connect-timeout", 0, "NRO_NATS_CONNECT_TIMEOUT", NRO_OPT_DUR, &connect_timeout_ms, NULL,
	 "D", "TCP and handshake timeout per server (default 2s)"},
	{"reconnect-buffer", 0, "NRO_NATS_RECONNECT_BUFFER", NRO_OPT_FUNC, &reconnect_buf,
	 nro_opt_size, "SIZE", "what cnats holds while reconnecting, at most (default 8M)"},
	{"nats-user", 0, "NRO_NATS_USER", NRO_OPT_STR, &user, NULL, "NAME",
	 "user name (with --nats-password-file)"},
	{"nats-password-file", 0, "NRO_NATS_PASSWORD_FILE", NRO_OPT_STR, &password_file, NULL,
	 "FILE", "the user's password, read from FILE"},
	{"nats-token-file", 0, "NRO_NATS_TOKEN_FILE", NRO_OPT_STR, &token_file, NULL, "FILE",
	 "an authentication token, read from FILE"},
	{"nkey", 0, "NRO_NATS_NKEY", NRO_OPT_STR, &nkey_pub, NULL, "PUBLIC",
	 "NKey public key (U...), with --nkey-seed-file"},
	{"nkey-seed-file", 0, "NRO_NATS_NKEY_SEED_FILE", NRO_OPT_STR, &nkey_seed_file, NULL,
	 "FILE", "the NKey seed (SU...) that signs the server's nonce"},
	{"creds-file", 0, "NRO_NATS_CREDS_FILE", NRO_OPT_STR, &creds_file, NULL, "FILE",
	 "a .creds file: user JWT and NKey seed (decentralized auth)"},
	{"tls-ca-file", 0, "NRO_NATS_TLS_CA_FILE", NRO_OPT_STR, &tls_ca_file, NULL, "FILE",
	 "CA certificates that sign the servers' certificates (implies TLS)"},
	{"tls-cert-file", 0, "NRO_NATS_TLS_CERT_FILE", NRO_OPT_STR, &tls_cert_file, NULL, "FILE",
	 "client certificate (with --tls-key-file)"},
	{"tls-key-file", 0, "NRO_NATS_TLS_KEY_FILE", NRO_OPT_STR, &tls_key_file, NULL, "FILE",
	 "client certificate's private key"},
	{"tls-server-name", 0, "NRO_NATS_TLS_SERVER_NAME", NRO_OPT_STR, &tls_server_name, NULL,
	 "NAME", "the name the servers' certificates must carry (default: the host of the URL)"},
	{NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
};

/* One message of the batch: offsets into the arena (NUL-terminated strings,
 * then the payload). */
struct staged {
	size_t subj, id, node, data, data_len;
	char kind;
};

struct natsink {
	int record_format;
	natsOptions *opts;
	natsConnection *nc;
	jsCtx *js;
	struct nro_buf arena;      /* the batch's subjects, ids, payloads */
	struct staged *batch;      /* window entries */
	size_t n, cap;
	struct nro_buf scratch;    /* one record's JSON entries */
	size_t *starts;            /* where each entry begins in scratch */
	size_t nstarts;
	int down_logged;           /* "cannot connect" said once per outage */
	int64_t ack_warned_ms;     /* a JetStream failure said at most once a minute */
	uint64_t published, skipped;

	/* written by cnats' threads */
	pthread_mutex_t mu;
	unsigned ack_errors;
	char ack_err[256];
	int refused;               /* the server refused us (permissions): exit 100 */
	int closing;               /* we close the connection: no "disconnected" line */
	char refused_why[256];
};

/* ---- subjects ------------------------------------------------------------ */

/* A subject token from s: '.', '*', '>', spaces and control characters
 * become '_' (a Kubernetes node name never holds '_'); empty becomes "_". */
static int add_token(struct nro_buf *b, const char *s, size_t len)
{
	if (!len)
		return nro_buf_add(b, "_", 1);
	int rc = 0;
	for (size_t i = 0; i < len && rc == 0; i++) {
		unsigned char c = (unsigned char)s[i];
		char out = c <= ' ' || c == 0x7f || c == '.' || c == '*' || c == '>' ? '_' : (char)c;
		rc = nro_buf_add(b, &out, 1);
	}
	return rc;
}

/* A header value: control characters (CR, LF above all) become spaces. */
static int add_header_value(struct nro_buf *b, struct nro_str s)
{
	int rc = 0;
	for (size_t i = 0; i < s.len && rc == 0; i++) {
		char c = (unsigned char)s.p[i] < ' ' || s.p[i] == 0x7f ? ' ' : s.p[i];
		rc = nro_buf_add(b, &c, 1);
	}
	return rc;
}

/* The prefix must be one or more valid tokens: it is used verbatim. */
static int prefix_valid(const char *p)
{
	if (!*p || *p == '.' || p[strlen(p) - 1] == '.' || strstr(p, ".."))
		return 0;
	for (; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '*' || *p == '>')
			return 0;
	return 1;
}

/* ---- the batch ------------------------------------------------------------- */

static size_t arena_str(struct natsink *n, int *rc)
{
	size_t at = n->arena.len;
	*rc |= nro_buf_add(&n->arena, "", 1); /* the NUL ending the previous string */
	return at + 1;
}

/* Room for more messages: a window, plus what one large record adds. */
static int grow_batch(struct natsink *n)
{
	size_t cap = n->cap ? n->cap * 2 : window;
	struct staged *p = realloc(n->batch, cap * sizeof *p);
	if (!p)
		return -1;
	n->batch = p;
	n->cap = cap;
	return 0;
}

/* Stages one message; its payload is data[0..len), inside "[" "]" when
 * array (a JSON array of entries). 0 or -1 (arena cap). */
static int stage(struct natsink *n, const struct nro_header *h, struct nro_str last_token,
		 const char *id, const void *data, size_t len, int array)
{
	if (n->n == n->cap && grow_batch(n) != 0)
		return -1;
	size_t mark = n->arena.len;
	struct staged *st = &n->batch[n->n];
	int rc = 0;
	st->kind = (char)h->kind;
	st->subj = arena_str(n, &rc);
	rc |= nro_buf_adds(&n->arena, prefix) | nro_buf_add(&n->arena, ".", 1) |
	      add_token(&n->arena, h->node.p, h->node.len) | nro_buf_add(&n->arena, ".", 1) |
	      nro_buf_adds(&n->arena, nro_kind_name(h->kind)) | nro_buf_add(&n->arena, ".", 1) |
	      add_token(&n->arena, last_token.p, last_token.len);
	st->id = arena_str(n, &rc);
	rc |= nro_buf_adds(&n->arena, id);
	st->node = arena_str(n, &rc);
	rc |= add_header_value(&n->arena, h->node);
	st->data = arena_str(n, &rc);
	if (array)
		rc |= nro_buf_add(&n->arena, "[", 1);
	rc |= nro_buf_add(&n->arena, data, len);
	if (array)
		rc |= nro_buf_add(&n->arena, "]", 1);
	st->data_len = n->arena.len - st->data;
	if (rc != 0) {
		n->arena.len = mark;
		return -1;
	}
	n->n++;
	return 0;
}

static void batch_clear(struct natsink *n)
{
	n->n = 0;
	nro_buf_reset(&n->arena);
}

/* "<epoch as 16 hex digits>-<seq>[-<entry index>]" */
/* Without a ring (a pipe) seqs start again with every run: a random epoch
 * per run keeps a rerun from being taken for duplicates. */
static uint64_t run_epoch;

static void msg_id(char *out, size_t outlen, uint64_t seq, long index)
{
	uint64_t epoch = nro_sink_epoch(&sink);
	if (epoch == 0)
		epoch = run_epoch;
	if (index < 0)
		snprintf(out, outlen, "%016" PRIx64 "-%" PRIu64, epoch, seq);
	else
		snprintf(out, outlen, "%016" PRIx64 "-%" PRIu64 "-%ld", epoch, seq, index);
}

/* ---- rendering a record into messages ------------------------------------- */

/* Events, JSON: one message each, with its entry index in the id. */
static int stage_events_json(struct natsink *n, struct nro_msg *m)
{
	union nro_entry e;
	long i = 0;
	char id[64];
	while (nro_next(m, &e)) {
		nro_buf_reset(&n->scratch);
		if (nro_render_json(&n->scratch, &m->hdr, &e.event) != 0)
			return -1;
		msg_id(id, sizeof id, m->hdr.seq, i++);
		if (stage(n, &m->hdr, e.event.type, id, n->scratch.p, n->scratch.len, 0) != 0)
			return -1;
	}
	return 0;
}

/* Renders every entry, comma-separated, into scratch; starts[i] is where
 * entry i begins. 0 or -1. */
static int render_entries(struct natsink *n, struct nro_msg *m)
{
	nro_buf_reset(&n->scratch);
	if (m->hdr.count > n->nstarts) {
		size_t *p = realloc(n->starts, (m->hdr.count + 1) * sizeof *p);
		if (!p)
			return -1;
		n->starts = p;
		n->nstarts = m->hdr.count;
	}
	union nro_entry e;
	size_t i = 0;
	while (i < m->hdr.count && nro_next(m, &e)) {
		n->starts[i++] = n->scratch.len;
		if (nro_render_json(&n->scratch, &m->hdr, &e) != 0 ||
		    nro_buf_add(&n->scratch, ",", 1) != 0)
			return -1;
	}
	n->starts[i] = n->scratch.len;
	return (int)(i == m->hdr.count ? 0 : -1);
}

/* Entries [a, b) of scratch as one JSON array message. */
static int stage_array(struct natsink *n, const struct nro_header *h, size_t a, size_t b,
			const char *id)
{
	size_t from = n->starts[a], to = n->starts[b] - 1; /* drop the last comma */
	return stage(n, h, h->source, id, n->scratch.p + from, to - from, 1);
}

/* Metrics (and states, health, errors), JSON: one array per record; a record
 * larger than the server's max_payload is split, each part's id carrying the
 * index of its first entry. */
static int stage_arrays_json(struct natsink *n, struct nro_msg *m, size_t max_payload)
{
	if (m->hdr.count == 0)
		return 0;
	if (render_entries(n, m) != 0)
		return -1;
	char id[64];
	size_t count = m->hdr.count;
	int rc = 0;
	if (n->scratch.len + 1 <= max_payload) {
		msg_id(id, sizeof id, m->hdr.seq, -1);
		rc = stage_array(n, &m->hdr, 0, count, id);
	} else {
		size_t a = 0;
		while (a < count && rc == 0) {
			size_t b = a + 1;
			while (b < count && n->starts[b + 1] - n->starts[a] + 1 <= max_payload)
				b++;
			msg_id(id, sizeof id, m->hdr.seq, (long)a);
			rc = stage_array(n, &m->hdr, a, b, id);
			a = b;
		}
	}
	return rc;
}

/* The binary record as published: one message. Events share a subject only
 * when they share a type; otherwise the last token is "mixed". */
static int stage_record(struct natsink *n, struct nro_msg *m)
{
	union nro_entry e;
	struct nro_str tok = m->hdr.source;
	int first = 1;
	while (m->hdr.kind == NRO_KIND_EVENT && nro_next(m, &e)) {
		if (first)
			tok = e.event.type;
		else if (tok.len != e.event.type.len || memcmp(tok.p, e.event.type.p, tok.len))
			tok = nro_s("mixed");
		first = 0;
	}
	char id[64];
	msg_id(id, sizeof id, m->hdr.seq, -1);
	return stage(n, &m->hdr, tok, id, m->buf, m->len, 0);
}

/* Messages one record becomes: for the window check (a metric record split
 * at max_payload takes a few more: the window is soft there). */
static size_t messages_for(const struct natsink *n, const struct nro_msg *m)
{
	if (n->record_format || m->hdr.kind != NRO_KIND_EVENT)
		return 1;
	return m->hdr.count;
}

/* ---- the connection ---------------------------------------------------------- */

static void on_disconnected(natsConnection *nc, void *closure)
{
	(void)nc;
	struct natsink *n = closure;
	pthread_mutex_lock(&n->mu);
	int closing = n->closing;
	pthread_mutex_unlock(&n->mu);
	if (!closing)
		nro_warn("disconnected from NATS: reconnecting");
}

static void on_reconnected(natsConnection *nc, void *closure)
{
	(void)closure;
	char url[256] = "";
	natsConnection_GetConnectedUrl(nc, url, sizeof url);
	nro_info("reconnected to %s", url);
}

/* Asynchronous errors: a permissions violation is the server refusing us. */
static void on_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
	(void)sub;
	struct natsink *n = closure;
	const char *text = NULL;
	natsConnection_GetLastError(nc, &text);
	if (!text || !*text)
		text = natsStatus_GetText(err);
	pthread_mutex_lock(&n->mu);
	if (err == NATS_NOT_PERMITTED || strstr(text, "Permissions Violation") ||
	    strstr(text, "Authorization Violation")) {
		n->refused = 1;
		snprintf(n->refused_why, sizeof n->refused_why, "%s", text);
	}
	pthread_mutex_unlock(&n->mu);
	nro_warn("NATS: %s", text);
}

static void on_ack_error(jsCtx *js, jsPubAckErr *pae, void *closure)
{
	(void)js;
	struct natsink *n = closure;
	pthread_mutex_lock(&n->mu);
	n->ack_errors++;
	snprintf(n->ack_err, sizeof n->ack_err, "%s",
		 pae->ErrText && *pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err));
	pthread_mutex_unlock(&n->mu);
}

/* Back-off between rounds over the server list: 100 ms doubling to 5 s,
 * plus up to 25 % jitter so a fleet does not reconnect in step. */
static int64_t reconnect_delay(natsConnection *nc, int attempts, void *closure)
{
	(void)nc;
	(void)closure;
	int64_t d = 100;
	for (int i = 1; i < attempts && d < 5000; i++)
		d *= 2;
	if (d > 5000)
		d = 5000;
	return d + (int64_t)(nats_Now() % (uint64_t)(d / 4 + 1));
}

static void die_nats(const char *what, natsStatus s)
{
	nro_die(NRO_EXIT_USAGE, "%s: %s", what, nats_GetLastError(NULL) ? nats_GetLastError(NULL) : natsStatus_GetText(s));
}

/* Reads a secret: the file's first line, never logged. Exits 100 when it
 * cannot be read or is empty. The caller frees (and clears) it. */
static char *read_secret(const char *flag, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		nro_die(NRO_EXIT_USAGE, "--%s %s: %s", flag, path, strerror(errno));
	char *buf = calloc(1, SECRET_MAX + 1);
	if (!buf)
		nro_die(NRO_EXIT_TEMP, "out of memory");
	ssize_t r = read(fd, buf, SECRET_MAX);
	close(fd);
	if (r < 0)
		nro_die(NRO_EXIT_USAGE, "--%s %s: %s", flag, path, strerror(errno));
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!buf[0])
		nro_die(NRO_EXIT_USAGE, "--%s %s: empty", flag, path);
	return buf;
}

static void forget_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static void readable_or_die(const char *flag, const char *path)
{
	if (access(path, R_OK) != 0)
		nro_die(NRO_EXIT_USAGE, "--%s %s: %s", flag, path, strerror(errno));
}

static void set_servers(natsOptions *o)
{
	static char copy[4096];
	const char *list[SERVERS_MAX];
	int count = 0;
	if (snprintf(copy, sizeof copy, "%s", urls) >= (int)sizeof copy)
		nro_die(NRO_EXIT_USAGE, "--url: too long");
	for (char *p = copy; *p && count < SERVERS_MAX;) {
		char *end = p + strcspn(p, ", ");
		char save = *end;
		*end = '\0';
		if (*p) {
			if (!strstr(p, "://") && strchr(p, ':') == NULL)
				nro_die(NRO_EXIT_USAGE, "--url: '%s' is not nats://HOST:PORT", p);
			list[count++] = p;
		}
		if (!save)
			break;
		p = end + 1;
	}
	if (!count)
		nro_die(NRO_EXIT_USAGE, "--url: empty");
	natsStatus s = natsOptions_SetServers(o, list, count);
	if (s != NATS_OK)
		die_nats("--url", s);
}

static void set_auth(natsOptions *o)
{
	natsStatus s = NATS_OK;
	if (user || password_file) {
		if (!user || !password_file)
			nro_die(NRO_EXIT_USAGE, "--nats-user and --nats-password-file go together");
		char *pw = read_secret("nats-password-file", password_file);
		s = natsOptions_SetUserInfo(o, user, pw);
		forget_secret(pw);
	}
	if (s == NATS_OK && token_file) {
		char *tok = read_secret("nats-token-file", token_file);
		s = natsOptions_SetToken(o, tok);
		forget_secret(tok);
	}
	if (s == NATS_OK && (nkey_pub || nkey_seed_file)) {
		if (!nkey_pub || !nkey_seed_file)
			nro_die(NRO_EXIT_USAGE, "--nkey and --nkey-seed-file go together");
		readable_or_die("nkey-seed-file", nkey_seed_file);
		s = natsOptions_SetNKeyFromSeed(o, nkey_pub, nkey_seed_file);
	}
	if (s == NATS_OK && creds_file) {
		readable_or_die("creds-file", creds_file);
		s = natsOptions_SetUserCredentialsFromFiles(o, creds_file, NULL);
	}
	if (s != NATS_OK)
		die_nats("authentication options", s);
}

static void set_tls(natsOptions *o)
{
	int tls = tls_ca_file || tls_cert_file || tls_key_file || strstr(urls, "tls://");
	if (!tls)
		return;
	if (!tls_cert_file != !tls_key_file)
		nro_die(NRO_EXIT_USAGE, "--tls-cert-file and --tls-key-file go together");
	natsStatus s = natsOptions_SetSecure(o, true);
	if (s == NATS_OK && tls_ca_file) {
		readable_or_die("tls-ca-file", tls_ca_file);
		s = natsOptions_LoadCATrustedCertificates(o, tls_ca_file);
	}
	if (s == NATS_OK && tls_cert_file) {
		readable_or_die("tls-cert-file", tls_cert_file);
		readable_or_die("tls-key-file", tls_key_file);
		s = natsOptions_LoadCertificatesChain(o, tls_cert_file, tls_key_file);
	}
	if (s == NATS_OK && tls_server_name)
		s = natsOptions_SetExpectedHostname(o, tls_server_name);
	if (s != NATS_OK)
		die_nats("TLS options", s);
}

static natsOptions *make_options(struct natsink *n)
{
	natsOptions *o = NULL;
	if (natsOptions_Create(&o) != NATS_OK)
		nro_die(NRO_EXIT_TEMP, "out of memory");
	set_servers(o);
	set_auth(o);
	set_tls(o);
	natsStatus s = natsOptions_SetName(o, "sink-nats");
	s |= natsOptions_SetTimeout(o, connect_timeout_ms);
	s |= natsOptions_SetMaxReconnect(o, -1); /* forever */
	s |= natsOptions_SetCustomReconnectDelay(o, reconnect_delay, NULL);
	s |= natsOptions_SetReconnectBufSize(o, (int)(reconnect_buf > INT32_MAX ? INT32_MAX
										   : reconnect_buf));
	s |= natsOptions_SetDisconnectedCB(o, on_disconnected, n);
	s |= natsOptions_SetReconnectedCB(o, on_reconnected, n);
	s |= natsOptions_SetErrorHandler(o, on_error, n);
	if (s != NATS_OK)
		die_nats("NATS options", NATS_ERR);
	return o;
}

static void disconnect(struct natsink *n)
{
	pthread_mutex_lock(&n->mu);
	n->closing = 1;
	pthread_mutex_unlock(&n->mu);
	jsCtx_Destroy(n->js);
	n->js = NULL;
	natsConnection_Destroy(n->nc);
	n->nc = NULL;
}

static int auth_failure(natsStatus s, const char *text)
{
	/* the server's words: nats-server's auth errors (-ERR) */
	return s == NATS_CONNECTION_AUTH_FAILED || s == NATS_NOT_PERMITTED ||
	       (text && (strstr(text, "Authorization Violation") ||
			 strstr(text, "Authentication Expired") ||
			 strstr(text, "Authentication Revoked")));
}

/* The JetStream context: async publishes, at most --window in flight. */
static int make_js(struct natsink *n)
{
	jsOptions jo;
	jsOptions_Init(&jo);
	jo.Wait = ack_timeout_ms;
	jo.PublishAsync.MaxPending = (int64_t)window;
	jo.PublishAsync.ErrHandler = on_ack_error;
	jo.PublishAsync.ErrHandlerClosure = n;
	jo.PublishAsync.StallWait = ack_timeout_ms;
	if (natsConnection_JetStream(&n->js, n->nc, &jo) != NATS_OK) {
		nro_warn("JetStream context: %s", nats_GetLastError(NULL));
		disconnect(n);
		return NRO_SINK_RETRY;
	}
	return NRO_SINK_OK;
}

/* NRO_SINK_OK once connected (and the JetStream context made), RETRY while
 * no server answers, FATAL (exit 100) when one refused our credentials. */
static int ensure_connected(struct natsink *n)
{
	if (n->nc && natsConnection_IsClosed(n->nc)) {
		nro_warn("the NATS connection was closed: connecting again");
		disconnect(n);
	}
	if (n->nc)
		return NRO_SINK_OK;
	natsStatus s = natsConnection_Connect(&n->nc, n->opts);
	if (s != NATS_OK) {
		const char *text = nats_GetLastError(NULL);
		text = text ? text : natsStatus_GetText(s);
		n->nc = NULL;
		if (auth_failure(s, text)) {
			nro_error("NATS refused the connection: %s", text);
			sink.exit_code = NRO_EXIT_USAGE;
			return NRO_SINK_FATAL;
		}
		if (!n->down_logged)
			nro_warn("cannot connect to %s: %s (retrying)", urls, text);
		n->down_logged = 1;
		return NRO_SINK_RETRY;
	}
	n->down_logged = 0;
	pthread_mutex_lock(&n->mu);
	n->closing = 0;
	pthread_mutex_unlock(&n->mu);
	char url[256] = "";
	natsConnection_GetConnectedUrl(n->nc, url, sizeof url);
	nro_info("connected to %s%s", url, jetstream ? " (JetStream)" : "");
	return jetstream ? make_js(n) : NRO_SINK_OK;
}

/* ---- publishing ----------------------------------------------------------------- */

static natsMsg *make_msg(struct natsink *n, const struct staged *st)
{
	const char *a = n->arena.p;
	natsMsg *msg = NULL;
	if (natsMsg_Create(&msg, a + st->subj, NULL, a + st->data, (int)st->data_len) != NATS_OK)
		return NULL;
	if (natsMsgHeader_Set(msg, "Nats-Msg-Id", a + st->id) != NATS_OK ||
	    natsMsgHeader_Set(msg, "Nro-Node", a + st->node) != NATS_OK ||
	    natsMsgHeader_Set(msg, "Nro-Kind", nro_kind_name((uint8_t)st->kind)) != NATS_OK) {
		natsMsg_Destroy(msg);
		return NULL;
	}
	return msg;
}

/* Forgets what still waits for an acknowledgement (it is sent again). */
static void drop_pending(struct natsink *n)
{
	natsMsgList pending;
	if (js_PublishAsyncGetPendingList(&pending, n->js) == NATS_OK)
		natsMsgList_Destroy(&pending);
}

/* A failure that repeats every back-off is said once a minute. */
static int warn_due(struct natsink *n)
{
	int64_t now = nro_mono_ms();
	if (n->ack_warned_ms && now - n->ack_warned_ms < 60000)
		return 0;
	n->ack_warned_ms = now;
	return 1;
}

/* Waits for every acknowledgement of what was published. */
static int await_acks(struct natsink *n)
{
	jsPubOptions po;
	jsPubOptions_Init(&po);
	po.MaxWait = ack_timeout_ms;
	natsStatus s = js_PublishAsyncComplete(n->js, &po);
	if (s != NATS_OK) {
		drop_pending(n);
		if (warn_due(n))
			nro_warn("no acknowledgement from JetStream within %lld ms: sending the batch "
				 "again", (long long)ack_timeout_ms);
		return NRO_SINK_RETRY;
	}
	pthread_mutex_lock(&n->mu);
	unsigned errs = n->ack_errors;
	char why[256];
	snprintf(why, sizeof why, "%s", n->ack_err);
	pthread_mutex_unlock(&n->mu);
	if (errs) {
		if (warn_due(n))
			nro_warn("JetStream refused %u messages (%s): is there a stream for %s.>? "
				 "(docs/nats.md); sending the batch again", errs, why, prefix);
		return NRO_SINK_RETRY;
	}
	return NRO_SINK_OK;
}

static int publish_one(struct natsink *n, const struct staged *st)
{
	natsMsg *msg = make_msg(n, st);
	if (!msg)
		return NRO_SINK_RETRY;
	natsStatus s = n->js ? js_PublishMsgAsync(n->js, &msg, NULL)
			     : natsConnection_PublishMsg(n->nc, msg);
	natsMsg_Destroy(msg); /* NULL when the library took it */
	if (s == NATS_MAX_PAYLOAD) {
		nro_warn("%s: %zu bytes are more than the server takes: skipped",
			 n->arena.p + st->subj, st->data_len);
		n->skipped++;
		return NRO_SINK_OK;
	}
	if (s != NATS_OK) {
		nro_warn("publish %s: %s", n->arena.p + st->subj, natsStatus_GetText(s));
		return NRO_SINK_RETRY;
	}
	return NRO_SINK_OK;
}

/* Whether the server refused us: its -ERR reaches the connection before
 * the PONG that ended our flush, the error callback maybe only later. */
static int refused(struct natsink *n)
{
	const char *text = NULL;
	natsStatus s = n->nc ? natsConnection_GetLastError(n->nc, &text) : NATS_OK;
	pthread_mutex_lock(&n->mu);
	if (!n->refused && (s == NATS_NOT_PERMITTED ||
			    (text && strstr(text, "Permissions Violation")))) {
		n->refused = 1;
		snprintf(n->refused_why, sizeof n->refused_why, "%s", text);
	}
	int r = n->refused;
	char why[256];
	snprintf(why, sizeof why, "%s", n->refused_why);
	pthread_mutex_unlock(&n->mu);
	if (r) {
		nro_error("NATS refused us: %s", why);
		sink.exit_code = NRO_EXIT_USAGE;
	}
	return r;
}

/* Publishes the whole batch, window messages at a time, and waits for the
 * server to have it (acknowledgements, or a flush's PONG). The batch stays
 * staged on failure: the next flush sends all of it again (JetStream drops
 * the ones it had by Nats-Msg-Id). */
static int flush(void *ctx)
{
	struct natsink *n = ctx;
	if (n->n == 0)
		return NRO_SINK_OK;
	int rc = ensure_connected(n);
	if (rc != NRO_SINK_OK)
		return rc;
	if (natsConnection_Status(n->nc) != NATS_CONN_STATUS_CONNECTED)
		return NRO_SINK_RETRY; /* reconnecting: the ring keeps the backlog */
	pthread_mutex_lock(&n->mu);
	n->ack_errors = 0;
	pthread_mutex_unlock(&n->mu);
	for (size_t i = 0; i < n->n && rc == NRO_SINK_OK; i++) {
		rc = publish_one(n, &n->batch[i]);
		if (rc == NRO_SINK_OK && n->js && ((i + 1) % window == 0 || i + 1 == n->n))
			rc = await_acks(n);
	}
	if (rc == NRO_SINK_OK && !n->js) {
		natsStatus s = natsConnection_FlushTimeout(n->nc, ack_timeout_ms);
		if (s != NATS_OK) {
			nro_warn("flush: %s", natsStatus_GetText(s));
			rc = NRO_SINK_RETRY;
		}
	}
	if (refused(n))
		return NRO_SINK_FATAL;
	if (rc == NRO_SINK_OK) {
		if (n->ack_warned_ms)
			nro_info("JetStream acknowledges again");
		n->ack_warned_ms = 0;
		n->published += n->n;
		batch_clear(n);
	}
	return rc;
}

/* What a payload may hold: the server's max_payload counts the headers too. */
static size_t payload_limit(const struct natsink *n, const struct nro_header *h)
{
	int64_t max = n->nc ? natsConnection_GetMaxPayload(n->nc) : 0;
	if (max <= 0)
		max = 1 << 20; /* the server default, until we know */
	int64_t room = HEADER_ROOM + h->node.len;
	return (size_t)(max > 2 * room ? max - room : max / 2);
}

/* Stages all of m's messages, or none: 0 or -1. */
static int stage_message(struct natsink *n, struct nro_msg *m)
{
	size_t keep_n = n->n, keep_len = n->arena.len;
	size_t max_payload = payload_limit(n, &m->hdr);
	size_t pos = m->pos; /* the entries are walked again on a second try */
	uint32_t left = m->left;
	int rc = n->record_format ? stage_record(n, m)
		 : m->hdr.kind == NRO_KIND_EVENT ? stage_events_json(n, m)
						  : stage_arrays_json(n, m, max_payload);
	if (rc != 0) {
		n->n = keep_n;
		n->arena.len = keep_len;
	}
	m->pos = pos;
	m->left = left;
	return rc;
}

/* Stages m's messages; flushes first when they would not fit the window or
 * the batch holds BATCH_BYTES already (memory stays near one batch). */
static int deliver(void *ctx, struct nro_msg *m)
{
	struct natsink *n = ctx;
	size_t want = messages_for(n, m);
	if (n->n && (n->n + want > window || n->arena.len >= BATCH_BYTES)) {
		int rc = flush(n);
		if (rc != NRO_SINK_OK)
			return rc;
	}
	int rc = stage_message(n, m);
	if (rc != 0 && n->n) {
		/* may fit an empty batch */
		if ((rc = flush(n)) != NRO_SINK_OK)
			return rc;
		rc = stage_message(n, m);
	}
	if (rc != 0) {
		nro_warn("seq %" PRIu64 ": too large to send; skipped", m->hdr.seq);
		n->skipped++;
	}
	return NRO_SINK_OK;
}

static void check_options(struct natsink *n)
{
	if (strcmp(format, "json") == 0)
		n->record_format = 0;
	else if (strcmp(format, "record") == 0)
		n->record_format = 1;
	else
		nro_die(NRO_EXIT_USAGE, "--format: unknown format '%s' (want json or record)", format);
	if (!prefix_valid(prefix))
		nro_die(NRO_EXIT_USAGE, "--subject-prefix: '%s' is not a subject (tokens of letters, "
			"digits, '-' or '_', separated by single dots)", prefix);
	if (window == 0 || window > 65536)
		nro_die(NRO_EXIT_USAGE, "--window: %" PRIu64 " (want 1..65536)", window);
	if (ack_timeout_ms <= 0 || connect_timeout_ms <= 0)
		nro_die(NRO_EXIT_USAGE, "--ack-timeout and --connect-timeout must be above 0");
	if (kinds_opt && !*kinds_opt)
		nro_die(NRO_EXIT_USAGE, "--kinds: empty");
	if (kinds_opt)
		sink.kinds = kinds_opt;
}

static void release(struct natsink *n)
{
	disconnect(n);
	natsOptions_Destroy(n->opts);
	nats_CloseAndWait(2000);
	free(n->batch);
	free(n->starts);
	nro_buf_free(&n->arena);
	nro_buf_free(&n->scratch);
	pthread_mutex_destroy(&n->mu);
}

/* cnats' threads must not take SIGTERM: the runtime reads it from a signalfd,
 * which sees only signals every thread blocks. Threads inherit the mask. */
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

int main(int argc, char **argv)
{
	nro_sink_init(&sink, "sink-nats",
		      "Publish the analyzer's events and metrics on NATS subjects\n"
		      "(PREFIX.<node>.event.<type>, PREFIX.<node>.metric.<source>), to JetStream\n"
		      "with acknowledgements (--jetstream) or core NATS. Input: the analyzer's\n"
		      "events.ipc and ring (resuming after a restart from its cursor), or -i -.",
		      opts, argc, argv, "EM");
	struct natsink n;
	memset(&n, 0, sizeof n);
	check_options(&n);
	if (getrandom(&run_epoch, sizeof run_epoch, 0) != (ssize_t)sizeof run_epoch)
		run_epoch = (uint64_t)nro_wall_ms() << 16 ^ (uint64_t)getpid();
	run_epoch |= 1; /* never 0 */
	block_signals();
	if (nats_Open(-1) != NATS_OK)
		nro_die(NRO_EXIT_TEMP, "cannot initialise the NATS library");
	pthread_mutex_init(&n.mu, NULL);
	nro_buf_init(&n.arena, ARENA_MAX);
	nro_buf_init(&n.scratch, ARENA_MAX);
	n.opts = make_options(&n);
	/* connect now: wrong credentials are reported before any input */
	int rc = ensure_connected(&n) == NRO_SINK_FATAL ? NRO_EXIT_USAGE
			: nro_sink_run_batched(&sink, deliver, flush, &n);
	if (n.skipped)
		nro_info("%" PRIu64 " messages skipped (too large)", n.skipped);
	release(&n);
	return rc;
}
