/*
 * nro-fetch: GET one kubelet path with the collectors' client and
 * credentials, body to stdout. For operators checking credentials and RBAC
 * (`nro-fetch --token-file F /stats/summary`), and the tests' driver.
 *
 * Exit codes: the table of README "Exit codes" (nro_exit_for_fetch).
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
	"GETs PATH from the kubelet (e.g. /stats/summary, /metrics/cadvisor,\n"
	"'/healthz?verbose') with the collectors' client and credentials, and writes\n"
	"the body to stdout. PATH comes last. On failure prints one line\n"
	"\"nro-fetch: fatal: ...\" naming the cause (for 401/403 the RBAC subresource\n"
	"needed) and exits with the code below: 100 for credentials, RBAC or a\n"
	"--max-body too small, 101 for a path this kubelet does not serve (404), 111\n"
	"for unreachable, timeout, 5xx or a truncated body.\n"
	"usage: nro-fetch [options] PATH";

/* Options whose value comes next: the argument after one is not PATH. */
static int takes_value(const char *a)
{
	static const char *const with_value[] = {"--kubelet",  "--token-file", "--ca-file",
						 "--cert-file", "--key-file",	"--timeout",
						 "--max-body", "--tls-server-name"};
	for (size_t i = 0; i < sizeof with_value / sizeof with_value[0]; i++)
		if (strcmp(a, with_value[i]) == 0)
			return 1;
	return 0;
}

/* PATH is the last argument; a last argument that is no option's value and
 * lacks the leading '/' is a PATH typed without it. */
static const char *take_path(int *argc, char **argv)
{
	if (*argc < 2)
		return NULL;
	const char *last = argv[*argc - 1];
	if (last[0] == '/') {
		(*argc)--;
		return last;
	}
	if (last[0] != '-' && !strstr(last, "://") && (*argc == 2 || !takes_value(argv[*argc - 2])))
		nro_die(NRO_EXIT_USAGE, "PATH '%s' must start with '/': did you mean /%s?", last,
			last);
	return NULL;
}

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
	nro_log_init(PROG);
	const char *path = take_path(&argc, argv);
	uint64_t max_body = 0;
	const struct nro_optdef opts[] = {
		{"max-body", 0, "NRO_MAX_BODY", NRO_OPT_FUNC, &max_body, nro_opt_size, "SIZE",
		 "refuse a body larger than SIZE (bytes, or K/M/G; default 64M)"},
		{NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
	};
	struct nro_tool t;
	nro_tool_init(&t, PROG, SUMMARY, NRO_COMMON_KUBELET | NRO_TOOL_ONESHOT, 0, opts, argc, argv);
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
	if (fflush(stdout) != 0 && rc == 0)
		nro_die(NRO_EXIT_TEMP, "writing the body to stdout: %s", strerror(errno));
	nro_debug("GET %s: HTTP %ld, %llu bytes in %u us", path, res.http_status,
		  (unsigned long long)res.bytes, res.duration_us);
	if (rc == 0)
		return 0;
	if (res.error_body[0])
		nro_debug("body: %s", res.error_body);
	nro_die(nro_exit_for_fetch(&res), "%s", res.message);
}
