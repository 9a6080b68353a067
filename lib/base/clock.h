/* Clocks in milliseconds and a drift-free poll schedule on the monotonic
 * clock (netdata plugins.d style). Never fail, never exit. */
#ifndef NRO_CLOCK_H
#define NRO_CLOCK_H

#include <stdint.h>

/* Monotonic and wall clocks in milliseconds. */
int64_t nro_mono_ms(void);
int64_t nro_wall_ms(void);

/* Drift-free schedule: ticks at start + k*interval. If the caller fell more
 * than one interval behind, missed ticks are skipped, never bunched. */
struct nro_sched {
	int64_t next_ms, interval_ms;
};
void nro_sched_init(struct nro_sched *s, int64_t interval_ms, int64_t now_ms);
/* Returns the next tick (monotonic ms) and advances past now. */
int64_t nro_sched_advance(struct nro_sched *s, int64_t now_ms);

#endif
