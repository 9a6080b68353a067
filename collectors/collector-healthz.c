/*
 * collector-healthz: polls the kubelet's /healthz?verbose and publishes the
 * overall state as kubelet.healthz and every named check ("[+]ping ok",
 * "[-]syncloop failed: reason withheld") as its own Node state
 * kubelet.healthz.<check>.
 *
 * An HTTP 500 with a healthz body is a successful poll of an unhealthy
 * kubelet: its lines are read the same way. A kubelet that answers a plain
 * "ok" (no verbose support) is healthy with no named checks. An unreachable
 * kubelet, or any other status, is a failed poll (error record).
 */
#include <stdio.h>
#include <string.h>

#include "run/collector.h"
#include "wire/names.h"

#define TARGET "/healthz?verbose"
#define CHECKS_MAX 32
#define CHECK_NAME_LEN 96
#define REASON_LEN 256

struct check {
	char name[CHECK_NAME_LEN];
	char reason[REASON_LEN];
	int ok;
};

struct healthz {
	struct check checks[CHECKS_MAX];
	unsigned nchecks;
	unsigned dropped;          /* check lines past CHECKS_MAX */
	unsigned unknown;          /* lines that are neither a check nor a verdict */
	char first_line[REASON_LEN]; /* first non-empty line, for the reason */
	char first_unknown[128];
};

static void copy_cut(char *out, size_t outlen, const char *s, size_t n)
{
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

static int name_ok(const char *s, size_t n)
{
	if (n == 0 || n >= CHECK_NAME_LEN)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '-' || ch == '_' || ch == '.'))
			return 0;
	}
	return 1;
}

static int starts(const char *s, size_t n, const char *prefix)
{
	size_t p = strlen(prefix);
	return n >= p && memcmp(s, prefix, p) == 0;
}

/* One line (no newline): "[+]name ok", "[+]name excluded: ok",
 * "[-]name failed: reason", or a verdict ("ok", "healthz check passed"). */
static void parse_line(struct healthz *h, const char *s, size_t n)
{
	while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	if (n == 0)
		return;
	if (!h->first_line[0])
		copy_cut(h->first_line, sizeof h->first_line, s, n);
	if (starts(s, n, "[+]") || starts(s, n, "[-]")) {
		int ok = s[1] == '+';
		const char *name = s + 3;
		size_t rest = n - 3;
		size_t nl = 0;
		while (nl < rest && name[nl] != ' ')
			nl++;
		const char *tail = name + nl;
		size_t tl = rest - nl;
		while (tl && *tail == ' ') {
			tail++;
			tl--;
		}
		/* "[+]name ok", "[+]name excluded: ok", "[-]name failed[: reason]" */
		int form_ok = ok ? (tl == 2 && memcmp(tail, "ok", 2) == 0) ||
					   (tl == 12 && memcmp(tail, "excluded: ok", 12) == 0)
				 : starts(tail, tl, "failed") && (tl == 6 || tail[6] == ':');
		if (name_ok(name, nl) && form_ok) {
			if (h->nchecks == CHECKS_MAX) {
				h->dropped++;
				return;
			}
			struct check *c = &h->checks[h->nchecks++];
			copy_cut(c->name, sizeof c->name, name, nl);
			c->ok = ok;
			c->reason[0] = '\0';
			if (ok) {
				/* "ok", or "excluded: ok" for an excluded check */
				if (tl > 2)
					snprintf(c->reason, sizeof c->reason, "excluded");
			} else {
				/* "failed: reason" (the reason is "reason withheld" unless verbose) */
				tail += 6;
				tl -= 6;
				if (tl && *tail == ':') {
					tail++;
					tl--;
				}
				while (tl && *tail == ' ') {
					tail++;
					tl--;
				}
				copy_cut(c->reason, sizeof c->reason, tail, tl);
			}
			return;
		}
	}
	if ((n == 2 && memcmp(s, "ok", 2) == 0) || starts(s, n, "healthz check passed") ||
	    starts(s, n, "healthz check failed"))
		return;
	if (h->unknown++ == 0)
		copy_cut(h->first_unknown, sizeof h->first_unknown, s, n);
}

static void parse_body(struct healthz *h, const char *body, size_t len)
{
	memset(h, 0, sizeof *h);
	size_t i = 0;
	while (i < len) {
		const char *nl = memchr(body + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - body) : len;
		parse_line(h, body + i, end - i);
		i = end + 1;
	}
}

static void emit(struct nro_collector *c, const char *key, int ok, const char *reason)
{
	struct nro_attr attrs[1] = {{nro_s("reason"), nro_s(reason)}};
	struct nro_state s = {
		{NRO_OBJ_NODE, {"", 0}, {"", 0}, {"", 0}, nro_s(c->node)},
		nro_s(key),
		nro_s(ok ? "ok" : "failed"),
		ok ? 1 : 0,
		0,
		reason[0] ? 1 : 0,
		attrs,
	};
	nro_emit_state(c, &s);
}

static int poll(struct nro_collector *c, void *ctx, struct nro_fetch *res)
{
	struct healthz *h = ctx;
	struct nro_buf body;
	nro_buf_init(&body, 64 << 10);
	int r = nro_kubelet_get_buf(c->kubelet, TARGET, &body, res);
	int healthy = 1;
	if (r == 0) {
		parse_body(h, body.p ? body.p : "", body.len);
	} else if (res->http_status == 500) {
		/* the kubelet answered: a check is failing */
		healthy = 0;
		parse_body(h, res->error_body, strlen(res->error_body));
	} else {
		nro_buf_free(&body);
		return -1;
	}
	nro_buf_free(&body);

	/* overall: the failing checks, else the body's first line */
	char reason[REASON_LEN] = "";
	size_t used = 0;
	for (unsigned i = 0; i < h->nchecks; i++) {
		if (h->checks[i].ok)
			continue;
		healthy = 0;
		int n = snprintf(reason + used, sizeof reason - used, "%s%s failed%s%s",
				 used ? "; " : "", h->checks[i].name, h->checks[i].reason[0] ? ": " : "",
				 h->checks[i].reason);
		if (n < 0 || (size_t)n >= sizeof reason - used)
			break;
		used += (size_t)n;
	}
	if (!healthy && !reason[0])
		snprintf(reason, sizeof reason, "%s",
			 h->first_line[0] ? h->first_line : "healthz check failed");
	emit(c, NRO_K_HEALTHZ, healthy, reason);
	for (unsigned i = 0; i < h->nchecks; i++) {
		char key[sizeof NRO_K_HEALTHZ_CHECK + CHECK_NAME_LEN];
		snprintf(key, sizeof key, NRO_K_HEALTHZ_CHECK "%s", h->checks[i].name);
		emit(c, key, h->checks[i].ok, h->checks[i].reason);
	}
	if (h->unknown || h->dropped) {
		c->degraded = 1;
		if (h->unknown)
			snprintf(c->degraded_msg, sizeof c->degraded_msg,
				 "%s: %u unrecognized lines (first: \"%s\")", TARGET, h->unknown,
				 h->first_unknown);
		else
			snprintf(c->degraded_msg, sizeof c->degraded_msg,
				 "%s: %u checks past the first %d dropped", TARGET, h->dropped,
				 CHECKS_MAX);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct healthz h;
	struct nro_collector c;
	nro_collector_init(&c, "collector-healthz",
			   "Poll the kubelet's /healthz?verbose and publish kubelet.healthz = ok |\n"
			   "failed, plus each named check (ping, log, syncloop, ...) as\n"
			   "kubelet.healthz.<check> = ok | failed (num 1 | 0, attr reason). An HTTP\n"
			   "500 is a successful poll of an unhealthy kubelet; an unreachable one is\n"
			   "a failed poll.",
			   TARGET, 10000, NULL, argc, argv);
	return nro_collector_run(&c, poll, &h);
}
