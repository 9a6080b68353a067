/*
 * nro-fetch: GET one kubelet path with the collectors' client and
 * credentials, body to stdout. For operators checking credentials and RBAC
 * (`nro-fetch --token-file F /stats/summary`), and the tests' driver.
 *
 * Exit: 0 ok; 1 the kubelet answered with an error (HTTP, auth, too large);
 * 111 transient (unreachable, timeout, TLS, truncated); 100 bad usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/kubelet.h"
#include "base/log.h"
#include "wire/record.h"
#include "run/tool.h"

#define PROG "nro-fetch"

static const char SUMMARY[] =
	"GETs PATH from the kubelet (e.g. /stats/summary, /metrics/cadvisor, '/healthz?verbose')\n"
	"with the collectors' client and credentials, and writes the body to stdout. PATH comes\n"
	"last. On failure prints one line \"nro-fetch: error: ...\" naming the cause (for 401/403\n"
	"the RBAC subresource needed) and exits 1 for an error answer, 111 for a transient\n"
	"failure (unreachable, timeout, TLS, truncated body), 100 for bad usage.\n"
	"usage: nro-fetch [options] PATH";

struct out {
	struct nro_fetch *res;
};

static int to_stdout(void *ctx, const char *data, size_t len)
{
	struct out *o = ctx;
	if (fwrite(data, 1, len, stdout) != len) {
		snprintf(o->res->message, sizeof o->res->message, "writing the body to stdout: %s",
			 strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	/* PATH is the last argument; nro_tool_init takes the options before it */
	const char *path = NULL;
	nro_log_init(PROG);
	if (argc >= 2 && argv[argc - 1][0] == '/') {
		path = argv[argc - 1];
		argc--;
	}
	uint64_t max_body = 0;
	const struct nro_optdef opts[] = {
		{"max-body", 0, "NRO_MAX_BODY", NRO_OPT_FUNC, &max_body, nro_opt_size, "SIZE",
		 "refuse a body larger than SIZE (bytes, or K/M/G; default 64M)"},
		{NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
	};
	struct nro_tool t;
	nro_tool_init(&t, PROG, SUMMARY, NRO_COMMON_KUBELET, 0, opts, argc, argv);
	if (!path)
		nro_die(NRO_EXIT_USAGE, "missing PATH, e.g. /stats/summary (it comes last; see --help)");
	t.kubelet.max_body = max_body;

	char err[512];
	struct nro_kubelet *k = nro_kubelet_new(&t.kubelet, err, sizeof err);
	if (!k)
		nro_die(NRO_EXIT_USAGE, "%s", err);

	struct nro_fetch res;
	struct out o = {.res = &res};
	int rc = nro_kubelet_get(k, path, to_stdout, &o, &res);
	nro_kubelet_free(k);
	if (fflush(stdout) != 0 && rc == 0) {
		nro_error("writing the body to stdout: %s", strerror(errno));
		return 1;
	}
	nro_debug("GET %s: HTTP %ld, %llu bytes in %u us", path, res.http_status,
		  (unsigned long long)res.bytes, res.duration_us);
	if (rc == 0)
		return 0;
	if (res.error_body[0])
		nro_debug("body: %s", res.error_body);
	nro_error("%s", res.message);
	switch (res.err) {
	case NRO_ERR_CONNECT:
	case NRO_ERR_TIMEOUT:
	case NRO_ERR_TLS:
	case NRO_ERR_TRUNCATED:
		return NRO_EXIT_TEMP;
	default:
		return 1;
	}
}
