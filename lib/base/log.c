#include "base/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *prog_name = "nro";
static int debug_on = -1;

void nro_log_init(const char *prog)
{
	const char *slash = strrchr(prog, '/');
	prog_name = slash ? slash + 1 : prog;
}

const char *nro_prog(void)
{
	return prog_name;
}

void nro_log_set_debug(int on)
{
	debug_on = on;
}

void nro_vlog(const char *level, const char *fmt, va_list ap)
{
	char line[1024];
	int n = snprintf(line, sizeof line, "%s: %s: ", prog_name, level);
	if (n < 0)
		return;
	size_t head = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
	vsnprintf(line + head, sizeof line - head, fmt, ap);
	/* one line per message, whatever the message holds */
	for (char *c = line + head; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	size_t len = strlen(line);
	line[len++] = '\n';
	/* a single write(2) so lines from concurrent writers do not interleave */
	ssize_t w = write(STDERR_FILENO, line, len);
	(void)w;
}

#define LOGFN(fn, level)                        \
	void fn(const char *fmt, ...)           \
	{                                       \
		va_list ap;                     \
		va_start(ap, fmt);              \
		nro_vlog(level, fmt, ap);           \
		va_end(ap);                     \
	}

LOGFN(nro_info, "info")
LOGFN(nro_warn, "warning")
LOGFN(nro_error, "error")

void nro_debug(const char *fmt, ...)
{
	if (debug_on < 0) {
		const char *e = getenv("NRO_DEBUG");
		debug_on = e && *e && strcmp(e, "0") != 0;
	}
	if (!debug_on)
		return;
	va_list ap;
	va_start(ap, fmt);
	nro_vlog("debug", fmt, ap);
	va_end(ap);
}

