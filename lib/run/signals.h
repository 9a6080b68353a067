/* Signals inside the poll loop (s6 style): TERM, INT and HUP are blocked
 * and read from a signalfd, so a tool waits on one poll() for its deadline,
 * its signals and one input fd. */
#ifndef NRO_SIGNALS_H
#define NRO_SIGNALS_H

#include <stdint.h>

#include "run/tool.h"

/* Blocks SIGTERM, SIGINT, SIGHUP and opens t->sigfd; ignores SIGPIPE.
 * Exits 111 if the kernel refuses. */
void nro_signals_init(struct nro_tool *t);
enum { NRO_SIG_NONE = 0, NRO_SIG_TERM = 1, NRO_SIG_HUP = 2 };
/* Reads one pending signal from t->sigfd (non-blocking). */
int nro_signal_read(struct nro_tool *t);

/*
 * Waits until monotonic time deadline_ms, a signal, or extra_fd readable
 * (-1 = none). Returns NRO_SIG_TERM / NRO_SIG_HUP on a signal, 3 when
 * extra_fd is readable, 0 at the deadline.
 */
enum { NRO_WAIT_DEADLINE = 0, NRO_WAIT_FD = 3 };
int nro_wait(struct nro_tool *t, int64_t deadline_ms, int extra_fd);

#endif
