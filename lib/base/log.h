/* Logging to stderr, one line a message: "prog: level: message". No
 * timestamps: s6-log adds them. Newlines inside a message become spaces. */
#ifndef NRO_LOG_H
#define NRO_LOG_H

#include <stdarg.h>

/* Exit codes, one table for every tool (README "Exit codes"). */
enum {
	NRO_EXIT_OK = 0,
	NRO_EXIT_USAGE = 100,      /* bad usage or configuration: flags, env, files, credentials, RBAC */
	NRO_EXIT_NOT_SERVED = 101, /* the kubelet does not serve the endpoint (HTTP 404) */
	NRO_EXIT_DATA = 102,       /* the input or a response body did not decode */
	NRO_EXIT_TEMP = 111,       /* transient: unreachable, timeout, 5xx, truncated; try again */
};

/* Sets the program name used in every line (not copied: pass a literal
 * or argv[0]'s basename). */
void nro_log_init(const char *prog);
const char *nro_prog(void);
/* Set by NRO_DEBUG=1 or --verbose; nro_debug() is silent otherwise. */
void nro_log_set_debug(int on);

void nro_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void nro_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void nro_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void nro_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One line at an arbitrary level ("fatal" for nro_die in run/tool.h). */
void nro_vlog(const char *level, const char *fmt, va_list ap);

#endif
