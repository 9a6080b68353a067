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

#include <sys/stat.h>

#include "base/log.h"
#include "run/memory.h"
#include "run/nodename.h"
#include "wire/record.h"

/* the Makefile passes both (build/<flavour>/version.h) */
#ifndef NRO_VERSION
#define NRO_VERSION "0.1.0"
#endif
#ifndef NRO_GIT_REV
#define NRO_GIT_REV "unknown"
#endif

/* ---- options --------------------------------------------------------- */

static const char *const flag_true[] = {"1", "true", "yes", "on"};
static const char *const flag_false[] = {"0", "false", "no", "off", ""};

const char nro_exit_help[] =
	"Exit codes: 0 ok; 100 bad usage or configuration (a flag, a variable, a file,\n"
	"credentials or RBAC); 101 the kubelet does not serve the endpoint (404); 102\n"
	"input or a response that does not decode; 111 transient (try again).\n";

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

static int in_list(const char *v, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v, list[i]) == 0)
			return 1;
	return 0;
}

/* A flag's value from the environment: anything but the words both ways is
 * a mistake, not silently false (or true). */
static int flag_value(const char *v, const char *where)
{
	if (in_list(v, flag_true, sizeof flag_true / sizeof flag_true[0]))
		return 1;
	if (in_list(v, flag_false, sizeof flag_false / sizeof flag_false[0]))
		return 0;
	nro_die(NRO_EXIT_USAGE, "%s: bad value '%s' (want 1 or 0, true or false, yes or no, on or off)",
		where, v);
}

/* Stores value per d's type; where names the source for the error line. */
static void set_opt(const struct nro_optdef *d, const char *value, const char *where)
{
	char err[256] = "";
	switch (d->type) {
	case NRO_OPT_FLAG:
		*(int *)d->dst = value ? flag_value(value, where) : 1;
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

/* ---- --help ----------------------------------------------------------- */

#define HELP_WIDTH 80
#define HELP_LEFT 30 /* column where an option's description starts */

/* Prints text from column HELP_LEFT on, wrapped at HELP_WIDTH, later lines
 * indented to HELP_LEFT too. */
static void print_wrapped(const char *text)
{
	const char *p = text + strspn(text, " ");
	while (*p) {
		size_t room = HELP_WIDTH - HELP_LEFT, n = strlen(p);
		if (n > room) {
			n = room;
			while (n > 0 && p[n] != ' ' && p[n - 1] != ',')
				n--; /* a space, or just after a comma of a long list */
			if (n == 0) /* one word longer than the line */
				n = strcspn(p, " ");
		}
		printf("%.*s\n", (int)n, p);
		p += n;
		p += strspn(p, " ");
		if (*p)
			printf("%*s", HELP_LEFT, "");
	}
}

/* "  -o, --output ADDR" then the help and [VARIABLE], wrapped; a long left
 * side has a line of its own. */
static void print_opt(const struct nro_optdef *t)
{
	char left[96], text[512];
	snprintf(left, sizeof left, "  %c%c%s--%s%s%s", t->short_name ? '-' : ' ',
		 t->short_name ? t->short_name : ' ', t->short_name ? ", " : "  ", t->name,
		 t->arg ? " " : "", t->arg ? t->arg : "");
	snprintf(text, sizeof text, "%s%s%s%s", t->help ? t->help : "", t->env ? " [" : "",
		 t->env ? t->env : "", t->env ? "]" : "");
	for (char *q = text; (q = strchr(q, '\n')) != NULL;)
		*q = ' '; /* the wrapper breaks lines itself */
	if (strlen(left) + 1 >= HELP_LEFT)
		printf("%s\n%*s", left, HELP_LEFT, "");
	else
		printf("%-*s", HELP_LEFT, left);
	print_wrapped(text);
}

static void print_table(const struct nro_optdef *t)
{
	for (; t && t->name; t++)
		print_opt(t);
}

/* ---- parsing ----------------------------------------------------------- */

/* Everything one nro_tool_init call works with. */
struct parse {
	struct nro_tool *t;
	const struct nro_optdef *extra;
	struct nro_optdef all[64]; /* the common groups the tool takes, merged */
	uint64_t ready_fd;
	int help, version;
	char out_help[200], in_help[200];
};

static void add_one(struct parse *p, size_t *n, const struct nro_optdef *d)
{
	if (*n < sizeof p->all / sizeof p->all[0] - 1)
		p->all[(*n)++] = *d;
}

static void add_group(struct parse *p, size_t *n, const struct nro_optdef *g)
{
	for (; g && g->name; g++)
		add_one(p, n, g);
}

static void add_kubelet_group(struct parse *p, size_t *n)
{
	struct nro_tool *t = p->t;
	const struct nro_optdef g[] = {
		{"kubelet", 0, "NRO_KUBELET_URL", NRO_OPT_STR, &t->kubelet.url, NULL, "URL",
		 "kubelet base URL (default https://127.0.0.1:10250)"},
		{"token-file", 0, "NRO_TOKEN_FILE", NRO_OPT_STR, &t->kubelet.token_file, NULL, "F",
		 "bearer token file, re-read when it changes (default: the service-account token "
		 "when present)"},
		{"ca-file", 0, "NRO_CA_FILE", NRO_OPT_STR, &t->kubelet.ca_file, NULL, "F",
		 "CA bundle to verify the kubelet (default: system CAs)"},
		{"cert-file", 0, "NRO_CERT_FILE", NRO_OPT_STR, &t->kubelet.cert_file, NULL, "F",
		 "client certificate (with --key-file)"},
		{"key-file", 0, "NRO_KEY_FILE", NRO_OPT_STR, &t->kubelet.key_file, NULL, "F",
		 "client key (with --cert-file)"},
		{"insecure-skip-verify", 0, "NRO_INSECURE_SKIP_VERIFY", NRO_OPT_FLAG,
		 &t->kubelet.insecure, NULL, NULL, "do not verify the kubelet's certificate"},
		{"allow-insecure-token", 0, "NRO_ALLOW_INSECURE_TOKEN", NRO_OPT_FLAG,
		 &t->kubelet.allow_insecure_token, NULL, NULL,
		 "send the bearer token over an http:// URL (in cleartext; refused otherwise)"},
		{"tls-server-name", 0, "NRO_TLS_SERVER_NAME", NRO_OPT_STR, &t->kubelet.tls_server_name,
		 NULL, "NAME", "verify the kubelet's certificate for NAME (its node name) while "
		 "connecting to the URL's address"},
		{"timeout", 0, "NRO_TIMEOUT", NRO_OPT_DUR, &t->kubelet.timeout_ms, NULL, "D",
		 "request timeout (default 5s)"},
		{NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
	};
	add_group(p, n, g);
}

static void add_poll_group(struct parse *p, size_t *n)
{
	struct nro_tool *t = p->t;
	const struct nro_optdef g[] = {
		{"node", 0, "NRO_NODE_NAME", NRO_OPT_STR, &t->node, NULL, "NAME",
		 "node name (default: learned once from the kubelet's data and shared in the run "
		 "directory; never the hostname)"},
		{"interval", 0, "NRO_INTERVAL", NRO_OPT_DUR, &t->interval_ms, NULL, "D",
		 "poll interval"},
		{"once", 0, NULL, NRO_OPT_FLAG, &t->once, NULL, NULL,
		 "poll once, write, exit (0, or the exit code of the failure); a one-shot run "
		 "has no variable"},
		{NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
	};
	add_group(p, n, g);
}

static void add_io_groups(struct parse *p, size_t *n, unsigned groups)
{
	struct nro_tool *t = p->t;
	/* the analyzer takes both; a collector publishes records, a sink reads events */
	int both = (groups & NRO_COMMON_INPUT) && (groups & NRO_COMMON_OUTPUT);
	snprintf(p->out_help, sizeof p->out_help,
		 "nng URL to publish on, or - for stdout (default ipc://$NRO_RUN_DIR/%s)",
		 both ? "events.ipc" : "records.ipc");
	snprintf(p->in_help, sizeof p->in_help, "nng URL to read from, or - for stdin (default %s)",
		 (groups & NRO_TOOL_STDIN) ? "-"
		 : both			   ? "ipc://$NRO_RUN_DIR/records.ipc"
					   : "ipc://$NRO_RUN_DIR/events.ipc");
	const struct nro_optdef out = {"output", 'o', "NRO_OUTPUT", NRO_OPT_STR, &t->output, NULL,
				       "ADDR", p->out_help};
	const struct nro_optdef in = {"input", 'i', "NRO_INPUT", NRO_OPT_STR, &t->input, NULL,
				      "ADDR", p->in_help};
	const struct nro_optdef run = {"run-dir", 0, "NRO_RUN_DIR", NRO_OPT_STR, &t->run_dir, NULL,
				       "DIR", "sockets, ring and node-name live here (default /run/nro)"};
	if (groups & NRO_COMMON_OUTPUT)
		add_one(p, n, &out);
	if (groups & NRO_COMMON_INPUT)
		add_one(p, n, &in);
	/* a tool that reads stdin by default (nro-dump) has no use for it */
	if (((groups & (NRO_COMMON_INPUT | NRO_COMMON_OUTPUT)) && !(groups & NRO_TOOL_STDIN)) ||
	    (groups & NRO_TOOL_RUNDIR))
		add_one(p, n, &run);
}

static void add_base_group(struct parse *p, size_t *n, unsigned groups)
{
	struct nro_tool *t = p->t;
	const struct nro_optdef ready[] = {
		{"ready-fd", 'd', NULL, NRO_OPT_UINT, &p->ready_fd, NULL, "FD",
		 "s6 readiness: write a newline to FD once ready (s6 passes the number: no "
		 "variable)"},
		{NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
	};
	const struct nro_optdef g[] = {
		{"verbose", 'v', "NRO_DEBUG", NRO_OPT_FLAG, &t->verbose, NULL, NULL, "log debug lines"},
		{"help", 'h', NULL, NRO_OPT_FLAG, &p->help, NULL, NULL, "print this help and exit"},
		{"version", 0, NULL, NRO_OPT_FLAG, &p->version, NULL, NULL,
		 "print the version and git revision and exit"},
		{NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
	};
	if (!(groups & NRO_TOOL_ONESHOT))
		add_group(p, n, ready);
	add_group(p, n, g);
}

/* The common groups the tool takes, then the tool's own table (extra). */
static void merge_common(struct parse *p, unsigned groups)
{
	size_t n = 0;
	if (groups & NRO_COMMON_KUBELET)
		add_kubelet_group(p, &n);
	if (groups & NRO_COMMON_POLL)
		add_poll_group(p, &n);
	add_io_groups(p, &n, groups);
	add_base_group(p, &n, groups);
	memset(&p->all[n], 0, sizeof p->all[n]);
}

/* K=V,K=V lists (NRO_SET): one call per item. */
static void set_list(const struct nro_optdef *d, const char *v)
{
	char *copy = strdup(v);
	if (!copy)
		nro_die(NRO_EXIT_TEMP, "out of memory");
	for (char *item = copy; item;) {
		char *comma = strchr(item, ',');
		if (comma)
			*comma = '\0';
		if (*item)
			set_opt(d, item, d->env);
		item = comma ? comma + 1 : NULL;
	}
	free(copy);
}

/* The environment first, so a flag overrides it. */
static void read_env(struct parse *p)
{
	const struct nro_optdef *tabs[2] = {p->extra, p->all};
	for (int k = 0; k < 2; k++)
		for (const struct nro_optdef *d = tabs[k]; d && d->name; d++) {
			const char *v = d->env ? getenv(d->env) : NULL;
			if (!v || (!*v && d->type != NRO_OPT_FLAG))
				continue;
			if (d->type == NRO_OPT_FUNC && strchr(v, ','))
				set_list(d, v);
			else
				set_opt(d, v, d->env);
		}
}

/* The option argv[*i] names, with its inline "=value" if any. */
static const struct nro_optdef *lookup(struct parse *p, const char *a, const char **value)
{
	*value = NULL;
	if (strcmp(a, "--") == 0)
		nro_die(NRO_EXIT_USAGE, "unexpected argument '--' (see --help)");
	if (a[0] == '-' && a[1] == '-') {
		const char *eq = strchr(a + 2, '=');
		size_t len = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
		const struct nro_optdef *d = find_long(p->extra, p->all, a + 2, len);
		if (!d)
			nro_die(NRO_EXIT_USAGE, "unknown option '%.*s' (see --help)", (int)(len + 2), a);
		if (eq)
			*value = eq + 1;
		return d;
	}
	if (a[0] == '-' && a[1] && a[2] == '\0') {
		const struct nro_optdef *d = find_short(p->extra, p->all, a[1]);
		if (!d)
			nro_die(NRO_EXIT_USAGE, "unknown option '%s' (see --help)", a);
		return d;
	}
	nro_die(NRO_EXIT_USAGE, "unexpected argument '%s' (see --help)", a);
}

static void read_argv(struct parse *p, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *value;
		const struct nro_optdef *d = lookup(p, argv[i], &value);
		char where[128];
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
}

static void print_help(const struct parse *p)
{
	const struct nro_tool *t = p->t;
	printf("usage: %s [options]\n%s\n\noptions:\n", t->prog, t->summary ? t->summary : "");
	print_table(p->extra);
	print_table(p->all);
	printf("\nDurations take ms, s, m, h. Every flag's variable is in [brackets].\n%s",
	       nro_exit_help);
}

/* ---- checks after parsing ---------------------------------------------- */

/* Which name the user gave a value under: the variable if it came from the
 * environment (the same pointer getenv returns), else the flag. */
static const char *source_of(const char *value, const char *env, const char *flag)
{
	const char *e = getenv(env);
	return value && e && value == e ? env : flag;
}

static const char *const nng_schemes[] = {
	"ipc",	   "tcp",	 "tcp4",     "tcp6",	  "inproc", "abstract", "socket",
	"tls+tcp", "tls+tcp4", "tls+tcp6", "ws",	  "ws4",    "ws6",      "wss",
	"wss4",	   "wss6",	 "udp",      "zt",
};

/* - or scheme://rest with a scheme nng knows; else exit 100 naming it. */
static void check_addr(const char *addr, const char *where)
{
	if (!addr || strcmp(addr, "-") == 0)
		return;
	const char *sep = strstr(addr, "://");
	if (!sep || sep == addr)
		nro_die(NRO_EXIT_USAGE,
			"%s: '%s' is not an nng URL (want e.g. ipc:///run/nro/records.ipc or "
			"tcp://127.0.0.1:7000, or - for a pipe)",
			where, addr);
	for (size_t i = 0; i < sizeof nng_schemes / sizeof nng_schemes[0]; i++)
		if (strlen(nng_schemes[i]) == (size_t)(sep - addr) &&
		    strncmp(addr, nng_schemes[i], (size_t)(sep - addr)) == 0 && sep[3])
			return;
	nro_die(NRO_EXIT_USAGE, "%s: '%s' is not an nng URL (scheme '%.*s' unknown or nothing after "
		"it; want ipc://, tcp://, inproc://, tls+tcp://, ws://)", where, addr,
		(int)(sep - addr), addr);
}

/* The run directory must be a directory, or creatable where it is named. */
/* Sockets, ring and cursors live here: another user who owns it, or may
 * write into it, could swap any of them. */
static void check_existing_run_dir(const char *dir, const char *where, const struct stat *st)
{
	if (S_ISLNK(st->st_mode))
		nro_die(NRO_EXIT_USAGE, "%s: %s is a symbolic link (give the real directory)", where,
			dir);
	if (!S_ISDIR(st->st_mode))
		nro_die(NRO_EXIT_USAGE, "%s: %s is not a directory", where, dir);
	if (st->st_uid != geteuid())
		nro_die(NRO_EXIT_USAGE, "%s: %s is owned by uid %u, not by this user (uid %u)", where,
			dir, (unsigned)st->st_uid, (unsigned)geteuid());
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		nro_die(NRO_EXIT_USAGE, "%s: %s is writable by group or others (mode %04o): chmod go-w",
			where, dir, (unsigned)(st->st_mode & 07777));
}

static void check_run_dir(const struct nro_tool *t)
{
	const char *where = source_of(t->run_dir, "NRO_RUN_DIR", "--run-dir");
	struct stat st;
	if (t->run_dir[0] != '/')
		nro_die(NRO_EXIT_USAGE, "%s: '%s' is not an absolute path", where, t->run_dir);
	if (lstat(t->run_dir, &st) == 0) {
		check_existing_run_dir(t->run_dir, where, &st);
		return;
	}
	char parent[4096];
	snprintf(parent, sizeof parent, "%s", t->run_dir);
	char *slash = strrchr(parent, '/');
	if (slash == parent)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode))
		nro_die(NRO_EXIT_USAGE, "%s: %s cannot be made: %s %s", where, t->run_dir, parent,
			stat(parent, &st) != 0 ? "does not exist" : "is not a directory");
}

/* its address tells the default from a --token-file naming the same file */
static const char sa_token_default[] = NRO_SA_TOKEN;

/* The service-account token nobody asked for stays home on an http:// URL
 * (a read-only port needs none); an explicit --token-file is refused later,
 * by the kubelet client, unless --allow-insecure-token. */
static void drop_default_token(struct nro_tool *t)
{
	if (t->kubelet.token_file == sa_token_default && !t->kubelet.allow_insecure_token &&
	    t->kubelet.url && strncmp(t->kubelet.url, "http://", 7) == 0) {
		nro_debug("%s is http://: the service-account token is not sent", t->kubelet.url);
		t->kubelet.token_file = NULL;
	}
}

static void check_common(struct parse *p, unsigned groups)
{
	struct nro_tool *t = p->t;
	if (p->ready_fd != UINT64_MAX) {
		if (p->ready_fd > 1024 || fd_is_open((int)p->ready_fd) != 0)
			nro_die(NRO_EXIT_USAGE, "-d %llu: not an open file descriptor",
				(unsigned long long)p->ready_fd);
		t->ready_fd = (int)p->ready_fd;
	}
	if ((groups & NRO_COMMON_POLL) && t->interval_ms <= 0)
		nro_die(NRO_EXIT_USAGE, "%s must be above 0",
			source_of(getenv("NRO_INTERVAL"), "NRO_INTERVAL", "--interval"));
	if ((groups & NRO_COMMON_KUBELET) && t->kubelet.timeout_ms <= 0)
		nro_die(NRO_EXIT_USAGE, "--timeout must be above 0");
	if ((groups & NRO_COMMON_KUBELET) && (!t->kubelet.cert_file) != (!t->kubelet.key_file))
		nro_die(NRO_EXIT_USAGE, "--cert-file and --key-file go together");
	if (groups & NRO_COMMON_KUBELET)
		drop_default_token(t);
	check_addr(t->output, source_of(t->output, "NRO_OUTPUT", "-o"));
	check_addr(t->input, source_of(t->input, "NRO_INPUT", "-i"));
	if (nro_tool_shares_run_dir(t))
		check_run_dir(t);
}

static void set_defaults(struct nro_tool *t, const char *prog, const char *summary,
			 unsigned groups, int64_t default_interval_ms)
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
		t->kubelet.token_file = sa_token_default;
}

void nro_tool_init(struct nro_tool *t, const char *prog, const char *summary, unsigned groups,
		   int64_t default_interval_ms, const struct nro_optdef *extra, int argc,
		   char **argv)
{
	nro_mem_tune(); /* before the first allocation that could go to another arena */
	set_defaults(t, prog, summary, groups, default_interval_ms);
	struct parse p = {.t = t, .extra = extra, .ready_fd = UINT64_MAX};
	merge_common(&p, groups);
	read_env(&p);
	read_argv(&p, argc, argv);
	if (p.help) {
		print_help(&p);
		exit(0);
	}
	if (p.version) {
		printf("%s %s (git %s)\n", prog, NRO_VERSION, NRO_GIT_REV);
		exit(0);
	}
	nro_log_set_debug(t->verbose);
	check_common(&p, groups);
}

int nro_tool_shares_run_dir(const struct nro_tool *t)
{
	int out = (t->groups & NRO_COMMON_OUTPUT) && !(t->output && strcmp(t->output, "-") == 0);
	int in = (t->groups & NRO_COMMON_INPUT) && !(t->groups & NRO_TOOL_STDIN) &&
		 !(t->input && strcmp(t->input, "-") == 0);
	return out || in;
}

/* "reading ipc://..., publishing on ..., node n1" for daemons without their own line. */
static void generic_startup(const struct nro_tool *t, char *out, size_t outlen)
{
	const char *node = nro_tool_node((struct nro_tool *)t);
	char in[300] = "", pub[300] = "";
	if (t->groups & NRO_COMMON_INPUT)
		snprintf(in, sizeof in, "reading %s; ",
			 t->input ? (strcmp(t->input, "-") == 0 ? "stdin" : t->input)
			 : (t->groups & NRO_COMMON_OUTPUT) ? nro_records_addr(t)
							   : nro_events_addr(t));
	if (t->groups & NRO_COMMON_OUTPUT)
		snprintf(pub, sizeof pub, "publishing on %s; ",
			 t->output ? (strcmp(t->output, "-") == 0 ? "stdout" : t->output)
				   : nro_events_addr(t));
	snprintf(out, outlen, "%s%snode %s", in, pub,
		 *node ? node : "not known yet (learned from the collectors)");
}

void nro_tool_started(struct nro_tool *t)
{
	/* a stage of a shell pipe (-i -) is not a daemon: no line there */
	int piped = t->input && strcmp(t->input, "-") == 0;
	int daemon = !t->once && !piped && !(t->groups & NRO_TOOL_STDIN) &&
		     (t->groups & (NRO_COMMON_INPUT | NRO_COMMON_OUTPUT));
	if (!daemon || t->started)
		return;
	if (!t->startup[0])
		generic_startup(t, t->startup, sizeof t->startup);
	nro_info("%s", t->startup);
	t->started = 1;
}

void nro_ready(struct nro_tool *t)
{
	nro_tool_started(t);
	if (t->ready_fd < 0)
		return;
	ssize_t w = write(t->ready_fd, "\n", 1);
	(void)w;
	close(t->ready_fd);
	t->ready_fd = -1;
}

const char *nro_tool_node(struct nro_tool *t)
{
	if (t->node && *t->node)
		return t->node;
	if (!t->node_buf[0] && nro_tool_shares_run_dir(t))
		nro_node_read(t->run_dir, t->node_buf, sizeof t->node_buf);
	return t->node_buf;
}

int nro_exit_for_fetch(const struct nro_fetch *res)
{
	switch (res->err) {
	case NRO_ERR_AUTH:
	case NRO_ERR_TOO_LARGE:
		return NRO_EXIT_USAGE;
	case NRO_ERR_NOT_SERVED:
		return NRO_EXIT_NOT_SERVED;
	case NRO_ERR_PARSE:
		return NRO_EXIT_DATA;
	case NRO_ERR_HTTP:
		return res->http_status >= 400 && res->http_status < 500 ? NRO_EXIT_USAGE
									  : NRO_EXIT_TEMP;
	case NRO_ERR_TLS:
		return res->config_error ? NRO_EXIT_USAGE : NRO_EXIT_TEMP;
	default:
		return res->config_error ? NRO_EXIT_USAGE : NRO_EXIT_TEMP;
	}
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
