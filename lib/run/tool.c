#include "run/tool.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

#ifndef NRO_VERSION
#define NRO_VERSION "0.1.0"
#endif

/* ---- options --------------------------------------------------------- */

static int fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) == -1 ? -1 : 0;
}

static const struct nro_optdef *find_long(const struct nro_optdef *a, const struct nro_optdef *b,
					  const char *name, size_t len)
{
	for (const struct nro_optdef *t = a; t && t->name; t++)
		if (strlen(t->name) == len && strncmp(t->name, name, len) == 0)
			return t;
	for (const struct nro_optdef *t = b; t && t->name; t++)
		if (strlen(t->name) == len && strncmp(t->name, name, len) == 0)
			return t;
	return NULL;
}

static const struct nro_optdef *find_short(const struct nro_optdef *a, const struct nro_optdef *b,
					   char c)
{
	for (const struct nro_optdef *t = a; t && t->name; t++)
		if (t->short_name == c)
			return t;
	for (const struct nro_optdef *t = b; t && t->name; t++)
		if (t->short_name == c)
			return t;
	return NULL;
}

static int truthy(const char *v)
{
	return strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 ||
	       strcmp(v, "on") == 0;
}

/* Stores value per d's type; where names the source for the error line. */
static void set_opt(const struct nro_optdef *d, const char *value, const char *where)
{
	char err[256] = "";
	switch (d->type) {
	case NRO_OPT_FLAG:
		*(int *)d->dst = value ? truthy(value) : 1;
		return;
	case NRO_OPT_STR:
		*(const char **)d->dst = value;
		return;
	case NRO_OPT_DUR:
		if (nro_parse_duration(value, (int64_t *)d->dst) != 0)
			nro_die(NRO_EXIT_USAGE,
				"%s: bad duration '%s' (want e.g. 500ms, 15s, 5m, 1h)", where, value);
		return;
	case NRO_OPT_UINT:
		if (nro_parse_u64(value, (uint64_t *)d->dst) != 0)
			nro_die(NRO_EXIT_USAGE, "%s: bad number '%s'", where, value);
		return;
	case NRO_OPT_FUNC:
		if (d->fn(d->dst, value, err, sizeof err) != 0)
			nro_die(NRO_EXIT_USAGE, "%s: bad value '%s': %s", where, value, err);
		return;
	}
}

static void print_table(const struct nro_optdef *t)
{
	for (; t && t->name; t++) {
		char left[96];
		if (t->short_name && t->arg)
			snprintf(left, sizeof left, "-%c, --%s %s", t->short_name, t->name, t->arg);
		else if (t->short_name)
			snprintf(left, sizeof left, "-%c, --%s", t->short_name, t->name);
		else if (t->arg)
			snprintf(left, sizeof left, "    --%s %s", t->name, t->arg);
		else
			snprintf(left, sizeof left, "    --%s", t->name);
		printf("  %-34s %s", left, t->help ? t->help : "");
		if (t->env)
			printf(" [%s]", t->env);
		printf("\n");
	}
}

void nro_tool_init(struct nro_tool *t, const char *prog, const char *summary, unsigned groups,
		   int64_t default_interval_ms, const struct nro_optdef *extra, int argc,
		   char **argv)
{
	memset(t, 0, sizeof *t);
	nro_log_init(prog);
	t->prog = prog;
	t->summary = summary;
	t->groups = groups;
	t->kubelet.url = "https://127.0.0.1:10250";
	t->kubelet.timeout_ms = 5000;
	t->kubelet.connect_timeout_ms = 0; /* = timeout */
	t->interval_ms = default_interval_ms;
	t->ready_fd = -1;
	t->sigfd = -1;
	t->run_dir = "/run/nro";
	if (access(NRO_SA_TOKEN, R_OK) == 0)
		t->kubelet.token_file = NRO_SA_TOKEN;
	uint64_t ready_fd = UINT64_MAX;
	int help = 0, version = 0;

	const struct nro_optdef kubelet_opts[] = {
		{"kubelet", 0, "NRO_KUBELET_URL", NRO_OPT_STR, &t->kubelet.url, NULL, "URL",
		 "kubelet base URL (default https://127.0.0.1:10250)"},
		{"token-file", 0, "NRO_TOKEN_FILE", NRO_OPT_STR, &t->kubelet.token_file, NULL, "F",
		 "bearer token file, re-read when it changes (default: the service-account token when present)"},
		{"ca-file", 0, "NRO_CA_FILE", NRO_OPT_STR, &t->kubelet.ca_file, NULL, "F",
		 "CA bundle to verify the kubelet (default: system CAs)"},
		{"cert-file", 0, "NRO_CERT_FILE", NRO_OPT_STR, &t->kubelet.cert_file, NULL, "F",
		 "client certificate"},
		{"key-file", 0, "NRO_KEY_FILE", NRO_OPT_STR, &t->kubelet.key_file, NULL, "F",
		 "client key"},
		{"insecure-skip-verify", 0, "NRO_INSECURE_SKIP_VERIFY", NRO_OPT_FLAG,
		 &t->kubelet.insecure, NULL, NULL, "do not verify the kubelet's certificate"},
		{"timeout", 0, "NRO_TIMEOUT", NRO_OPT_DUR, &t->kubelet.timeout_ms, NULL, "D",
		 "request timeout (default 5s)"},
		{NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
	};
	const struct nro_optdef poll_opts[] = {
		{"node", 0, "NRO_NODE_NAME", NRO_OPT_STR, &t->node, NULL, "NAME",
		 groups & NRO_COMMON_KUBELET ? "node name (default: from the kubelet's data, else hostname)"
					     : "node name (default: the hostname; in a pod set it from spec.nodeName)"},
		{"interval", 0, "NRO_INTERVAL", NRO_OPT_DUR, &t->interval_ms, NULL, "D",
		 "poll interval"},
		{"once", 0, NULL, NRO_OPT_FLAG, &t->once, NULL, NULL,
		 "poll once, write, exit 0 (non-zero if the poll failed)"},
		{NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
	};
	const struct nro_optdef out_opts[] = {
		{"output", 'o', "NRO_OUTPUT", NRO_OPT_STR, &t->output, NULL, "ADDR",
		 "nng URL to publish on, or - for stdout"},
		{NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
	};
	const struct nro_optdef in_opts[] = {
		{"input", 'i', "NRO_INPUT", NRO_OPT_STR, &t->input, NULL, "ADDR",
		 "nng URL to subscribe to, or - for stdin"},
		{NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
	};
	const struct nro_optdef base_opts[] = {
		{"ready-fd", 'd', NULL, NRO_OPT_UINT, &ready_fd, NULL, "FD",
		 "s6 readiness: write a newline to FD once ready"},
		{"run-dir", 0, "NRO_RUN_DIR", NRO_OPT_STR, &t->run_dir, NULL, "DIR",
		 "sockets and ring live here (default /run/nro)"},
		{"verbose", 'v', "NRO_DEBUG", NRO_OPT_FLAG, &t->verbose, NULL, NULL,
		 "log debug lines"},
		{"help", 'h', NULL, NRO_OPT_FLAG, &help, NULL, NULL, "print this help and exit"},
		{"version", 0, NULL, NRO_OPT_FLAG, &version, NULL, NULL, "print the version and exit"},
		{NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
	};

	/* one merged table, built on the stack: common groups, then the tool's own */
	struct nro_optdef all[64];
	size_t n = 0;
	const struct nro_optdef *groups_tab[] = {
		(groups & NRO_COMMON_KUBELET) ? kubelet_opts : NULL,
		(groups & NRO_COMMON_POLL) ? poll_opts : NULL,
		(groups & NRO_COMMON_OUTPUT) ? out_opts : NULL,
		(groups & NRO_COMMON_INPUT) ? in_opts : NULL,
		base_opts,
	};
	for (size_t g = 0; g < sizeof groups_tab / sizeof groups_tab[0]; g++)
		for (const struct nro_optdef *d = groups_tab[g]; d && d->name; d++)
			if (n < sizeof all / sizeof all[0] - 1)
				all[n++] = *d;
	memset(&all[n], 0, sizeof all[n]);

	/* environment first, so a flag overrides it */
	const struct nro_optdef *tabs[2] = {extra, all};
	for (int k = 0; k < 2; k++)
		for (const struct nro_optdef *d = tabs[k]; d && d->name; d++) {
			const char *v = d->env ? getenv(d->env) : NULL;
			if (v && *v) {
				if (d->type == NRO_OPT_FUNC && strchr(v, ',')) {
					/* K=V,K=V lists (NRO_SET) */
					char *copy = strdup(v);
					if (!copy)
						nro_die(NRO_EXIT_TEMP, "out of memory");
					char *save = copy;
					for (char *p = copy; p;) {
						char *comma = strchr(p, ',');
						if (comma)
							*comma = '\0';
						if (*p)
							set_opt(d, p, d->env);
						p = comma ? comma + 1 : NULL;
					}
					free(save);
				} else {
					set_opt(d, v, d->env);
				}
			}
		}

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const struct nro_optdef *d = NULL;
		const char *value = NULL;
		char where[128];
		if (strcmp(a, "--") == 0)
			nro_die(NRO_EXIT_USAGE, "unexpected argument '--' (see --help)");
		if (a[0] == '-' && a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			size_t len = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
			d = find_long(extra, all, a + 2, len);
			if (!d)
				nro_die(NRO_EXIT_USAGE, "unknown option '%.*s' (see --help)",
					(int)(len + 2), a);
			if (eq)
				value = eq + 1;
		} else if (a[0] == '-' && a[1] && a[2] == '\0') {
			d = find_short(extra, all, a[1]);
			if (!d)
				nro_die(NRO_EXIT_USAGE, "unknown option '%s' (see --help)", a);
		} else {
			nro_die(NRO_EXIT_USAGE, "unexpected argument '%s' (see --help)", a);
		}
		snprintf(where, sizeof where, "--%s", d->name);
		if (d->type == NRO_OPT_FLAG) {
			if (value)
				nro_die(NRO_EXIT_USAGE, "%s takes no value", where);
			set_opt(d, NULL, where);
			continue;
		}
		if (!value) {
			if (i + 1 >= argc)
				nro_die(NRO_EXIT_USAGE, "%s needs a value", where);
			value = argv[++i];
		}
		set_opt(d, value, where);
	}

	if (help) {
		printf("usage: %s [options]\n%s\n\noptions:\n", prog, summary ? summary : "");
		print_table(extra);
		print_table(all);
		printf("\nDurations take ms, s, m, h. Exit codes: 0 ok, 100 bad usage or "
		       "configuration, 111 transient failure.\n");
		exit(0);
	}
	if (version) {
		printf("%s %s\n", prog, NRO_VERSION);
		exit(0);
	}
	if (t->verbose)
		nro_log_set_debug(1);
	if (ready_fd != UINT64_MAX) {
		if (ready_fd > 1024 || fd_is_open((int)ready_fd) != 0)
			nro_die(NRO_EXIT_USAGE, "-d %llu: not an open file descriptor",
				(unsigned long long)ready_fd);
		t->ready_fd = (int)ready_fd;
	}
	if ((groups & NRO_COMMON_POLL) && t->interval_ms <= 0)
		nro_die(NRO_EXIT_USAGE, "--interval must be above 0");
	if ((groups & NRO_COMMON_KUBELET) && t->kubelet.timeout_ms <= 0)
		nro_die(NRO_EXIT_USAGE, "--timeout must be above 0");
	if ((groups & NRO_COMMON_KUBELET) && (!t->kubelet.cert_file) != (!t->kubelet.key_file))
		nro_die(NRO_EXIT_USAGE, "--cert-file and --key-file go together");
}

void nro_ready(struct nro_tool *t)
{
	if (t->ready_fd < 0)
		return;
	ssize_t w = write(t->ready_fd, "\n", 1);
	(void)w;
	close(t->ready_fd);
	t->ready_fd = -1;
}

const char *nro_tool_node(struct nro_tool *t)
{
	static char host[256];
	if (t->node && *t->node)
		return t->node;
	if (!host[0]) {
		if (gethostname(host, sizeof host - 1) != 0 || !host[0])
			memcpy(host, "unknown", sizeof "unknown");
	}
	return host;
}

const char *nro_records_addr(const struct nro_tool *t)
{
	static char addr[4200];
	snprintf(addr, sizeof addr, "ipc://%s/records.ipc", t->run_dir);
	return addr;
}

const char *nro_events_addr(const struct nro_tool *t)
{
	static char addr[4200];
	snprintf(addr, sizeof addr, "ipc://%s/events.ipc", t->run_dir);
	return addr;
}
int nro_opt_size(void *dst, const char *v, char *err, size_t errlen)
{
	uint64_t n = 0;
	const char *p = v;
	if (*p < '0' || *p > '9') {
		snprintf(err, errlen, "want a size like 1048576, 512K, 64M, 1G");
		return -1;
	}
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');
		if (n > (UINT64_MAX - d) / 10) {
			snprintf(err, errlen, "size too large");
			return -1;
		}
		n = n * 10 + d;
	}
	unsigned shift = 0;
	switch (*p) {
	case '\0': break;
	case 'k': case 'K': shift = 10; p++; break;
	case 'm': case 'M': shift = 20; p++; break;
	case 'g': case 'G': shift = 30; p++; break;
	default:
		snprintf(err, errlen, "unknown unit (K, M, G)");
		return -1;
	}
	if (shift && (strcmp(p, "iB") == 0 || strcmp(p, "B") == 0 || strcmp(p, "i") == 0))
		p += strlen(p);
	if (*p) {
		snprintf(err, errlen, "unknown unit (K, M, G)");
		return -1;
	}
	if (shift && n > (UINT64_MAX >> shift)) {
		snprintf(err, errlen, "size too large");
		return -1;
	}
	n <<= shift;
	if (n == 0) {
		snprintf(err, errlen, "size must be above 0");
		return -1;
	}
	*(uint64_t *)dst = n;
	return 0;
}


void nro_die(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	nro_vlog("fatal", fmt, ap);
	va_end(ap);
	exit(code);
}
