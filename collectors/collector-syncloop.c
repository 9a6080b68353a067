/*
 * collector-syncloop: polls the kubelet's /healthz/syncloop and publishes
 * its state: "ok", or "failed" with the kubelet's reason. A 500 answer is a
 * successful poll of a failing check; an unreachable kubelet is a failed poll.
 */
#include <stdio.h>
#include <string.h>

#include "run/collector.h"
#include "wire/names.h"

#define TARGET "/healthz/syncloop"

/* Picks the reason out of a failing healthz body: the text after
 * "[-]syncloop failed: " when present, else the first non-empty line. */
static void failure_reason(const char *body, char *out, size_t outlen)
{
	const char *p = strstr(body, "[-]syncloop failed:");
	if (p)
		p += strlen("[-]syncloop failed:");
	else
		p = body;
	while (*p == ' ' || *p == '\n' || *p == '\r')
		p++;
	size_t n = strcspn(p, "\r\n");
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, p, n);
	out[n] = '\0';
	if (!out[0])
		snprintf(out, outlen, "syncloop check failed");
}

static int poll(struct nro_collector *c, void *ctx, struct nro_fetch *res)
{
	struct nro_buf body;
	(void)ctx;
	nro_buf_init(&body, 64 << 10);
	int r = nro_kubelet_get_buf(c->kubelet, TARGET, &body, res);
	char reason[256] = "";
	const char *value = "ok";
	if (r != 0) {
		if (res->http_status != 500) {
			nro_buf_free(&body);
			return -1;
		}
		/* the kubelet answered: the check itself is failing */
		value = "failed";
		failure_reason(res->error_body, reason, sizeof reason);
	}
	nro_buf_free(&body);
	struct nro_attr attrs[1] = {{nro_s("reason"), nro_s(reason)}};
	struct nro_state s = {
		{NRO_OBJ_NODE, {"", 0}, {"", 0}, {"", 0}, nro_s(c->node)},
		nro_s(NRO_K_SYNCLOOP),
		nro_s(value),
		r == 0 ? 1 : 0,
		0,
		reason[0] ? 1 : 0,
		attrs,
	};
	nro_emit_state(c, &s);
	return 0;
}

int main(int argc, char **argv)
{
	struct nro_collector c;
	nro_collector_init(&c, "collector-syncloop",
			   "Poll the kubelet's /healthz/syncloop and publish its state as\n"
			   "kubelet.syncloop = ok | failed (num 1 | 0, attr reason). The kubelet\n"
			   "fails it once the sync loop is older than max(2 x syncFrequency, 5m).",
			   TARGET, 10000, NULL, argc, argv);
	return nro_collector_run(&c, poll, NULL);
}
