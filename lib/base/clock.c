#include "base/clock.h"

#include <time.h>

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t nro_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

int64_t nro_wall_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

void nro_sched_init(struct nro_sched *s, int64_t interval_ms, int64_t now_ms)
{
	s->interval_ms = interval_ms > 0 ? interval_ms : 1;
	s->next_ms = now_ms;
}

int64_t nro_sched_advance(struct nro_sched *s, int64_t now_ms)
{
	s->next_ms += s->interval_ms;
	if (s->next_ms <= now_ms) {
		/* fell behind: skip the missed ticks, keep the phase */
		int64_t behind = (now_ms - s->next_ms) / s->interval_ms + 1;
		s->next_ms += behind * s->interval_ms;
	}
	return s->next_ms;
}

