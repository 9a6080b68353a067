/* The replay servers' skeleton of serve.h. Ownership: nro_serve_replay
 * owns the listener it starts and stops it before returning. */
#include "run/serve.h"

#include <stdio.h>

#include "base/clock.h"
#include "base/log.h"
#include "run/signals.h"

struct nro_httpd *nro_serve_start(const struct nro_httpd_cfg *hc)
{
	struct nro_httpd *h = NULL;
	char err[512];
	int rc = nro_httpd_start(hc, &h, err, sizeof err);
	if (rc != NRO_HTTPD_OK)
		nro_die(rc == NRO_HTTPD_EUSAGE ? NRO_EXIT_USAGE : NRO_EXIT_TEMP, "%s", err);
	return h;
}

/* Advances r every every_ms until SIGTERM. */
static void run_steps(struct nro_tool *t, struct nro_replay *r, int64_t every_ms)
{
	int64_t next = every_ms ? nro_mono_ms() + every_ms : INT64_MAX;
	for (;;) {
		int64_t deadline = next == INT64_MAX ? nro_mono_ms() + 3600 * 1000 : next;
		if (nro_wait(t, deadline, -1) == NRO_SIG_TERM)
			return;
		while (every_ms && nro_mono_ms() >= next) {
			nro_replay_advance(r);
			next += every_ms;
		}
	}
}

void nro_serve_replay(struct nro_tool *t, const struct nro_httpd_cfg *hc, struct nro_replay *r,
		      int64_t every_ms)
{
	nro_signals_init(t);
	struct nro_httpd *h = nro_serve_start(hc);
	printf("%s\n", nro_httpd_url(h));
	fflush(stdout);
	nro_ready(t);
	run_steps(t, r, every_ms);
	atomic_store(&r->stopping, 1);
	nro_httpd_stop(h);
}
