/*
 * Common tool plumbing: the flags and NRO_* variables of DESIGN.md,
 * s6 readiness, the node name and the default addresses. Durations and
 * clocks live in lib/base, signals in run/signals.h.
 *
 * Options are table-driven: a tool passes its own table, plus a mask of
 * which common groups it takes; the environment is read first, then argv,
 * so a flag overrides a variable. --help prints both tables.
 */
#ifndef NRO_TOOL_H
#define NRO_TOOL_H

#include <stddef.h>
#include <stdint.h>

#include "base/clock.h"
#include "base/durations.h"
#include "net/kubelet.h"

enum nro_opt_type {
	NRO_OPT_FLAG,  /* int*: set to 1, or from env "1"/"true"/"yes" */
	NRO_OPT_STR,   /* const char**: points into argv or environ */
	NRO_OPT_DUR,   /* int64_t* milliseconds: "500ms", "15s", "5m", "1h" */
	NRO_OPT_UINT,  /* uint64_t*: decimal */
	NRO_OPT_FUNC,  /* fn(dst, value, err, errlen); may repeat (e.g. --set) */
};

struct nro_optdef {
	const char *name;  /* long name without "--" */
	char short_name;   /* 0 = none */
	const char *env;   /* NULL = none */
	enum nro_opt_type type;
	void *dst;
	/* NRO_OPT_FUNC only: returns 0, or -1 with a reason in err. value is only
	 * valid during the call: copy what you keep. */
	int (*fn)(void *dst, const char *value, char *err, size_t errlen);
	const char *arg;   /* placeholder in --help, e.g. "URL" */
	const char *help;
};

/* Groups of common options a tool takes. */
#define NRO_COMMON_KUBELET 0x01u /* --kubelet --token-file --ca-file --cert-file --key-file --insecure-skip-verify --tls-server-name --timeout */
#define NRO_COMMON_POLL 0x02u    /* --node --interval --once */
#define NRO_COMMON_OUTPUT 0x04u  /* -o */
#define NRO_COMMON_INPUT 0x08u   /* -i */
#define NRO_TOOL_ONESHOT 0x10u   /* runs once and exits: no --ready-fd */
#define NRO_TOOL_STDIN 0x20u     /* -i defaults to - (stdin), not an address under the run dir */
#define NRO_TOOL_RUNDIR 0x40u    /* reads the run directory without -i/-o (nro-alerts): --run-dir */

struct nro_tool {
	const char *prog;
	const char *summary; /* one line for --help */
	unsigned groups;
	struct nro_kubelet_cfg kubelet;
	const char *node;
	int64_t interval_ms;
	int once;
	const char *output, *input; /* NULL = the tool's default address */
	int ready_fd;               /* -1 = none */
	const char *run_dir;
	int verbose;
	int sigfd; /* signalfd for TERM, INT, HUP; -1 before nro_signals_init */
	/* The startup line nro_ready() logs for a daemon ("polling ..., publishing
	 * on ..."); empty = a generic one from the addresses and the node. */
	char startup[512];
	int started; /* the startup line was logged */
	char node_buf[256]; /* the pipeline's name, once read from the run dir */
};

/*
 * Parses env then argv into t. On --help prints usage to stdout and exits 0;
 * --version likewise; a bad flag or value (an environment value too: a
 * flag variable must be 1/0, true/false, yes/no or on/off) prints one line
 * naming the flag or variable and exits 100. -o and -i must be - or an nng
 * URL; a run directory the tool uses must be a directory, or creatable
 * (its parent exists). extra may be NULL; it ends with a zeroed entry.
 * Positional arguments are refused: a tool that takes one removes it from
 * argv first. --run-dir is offered to tools with -i or -o only.
 */
void nro_tool_init(struct nro_tool *t, const char *prog, const char *summary, unsigned groups,
		   int64_t default_interval_ms, const struct nro_optdef *extra, int argc,
		   char **argv);

/* NRO_OPT_FUNC parser for a size into a uint64_t: "1048576", "512K", "64M",
 * "1G" (also "64Mi", "64MiB", "64MB": all powers of 1024). */
int nro_opt_size(void *dst, const char *value, char *err, size_t errlen);

/* Writes "\n" to t->ready_fd and closes it (s6 readiness); no-op if -1.
 * A daemon (not --once, not a one-shot tool, not reading a pipe) first logs its startup line
 * at info level: t->startup, or what it reads, where it publishes, the node. */
void nro_ready(struct nro_tool *t);

/* Logs the startup line now (once; nro_ready then does not): for a daemon
 * that has more to say after it, e.g. what it waits for. */
void nro_tool_started(struct nro_tool *t);

/* The pipeline's node name (run/nodename.h): --node, else the name shared
 * in the run directory (re-read until there is one), else "" (not known
 * yet); never the hostname. Returns t's string. */
const char *nro_tool_node(struct nro_tool *t);
/* 1 if this tool shares the pipeline's run directory (it publishes or reads
 * through an address there, not a pipe). */
int nro_tool_shares_run_dir(const struct nro_tool *t);

/* The exit code for a failed kubelet request (README "Exit codes"): 100 for
 * configuration (credentials, RBAC 401/403, other 4xx, the CA, a server
 * without TLS, --max-body), 101 not served (404), 102 a body that did not
 * decode, 111 transient (unreachable, timeout, 5xx, truncated, TLS reset). */
int nro_exit_for_fetch(const struct nro_fetch *res);

/* The exit-code table as printed at the end of every --help. */
extern const char nro_exit_help[];

/* Default addresses under NRO_RUN_DIR (returned in a static buffer per call site). */
const char *nro_records_addr(const struct nro_tool *t); /* ipc://RUN/records.ipc */
const char *nro_events_addr(const struct nro_tool *t);  /* ipc://RUN/events.ipc */

/* Logs at level "fatal" and exits with code: only lib/run and tools exit. */
void nro_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

#endif
