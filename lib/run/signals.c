#include "run/signals.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"

void nro_signals_init(struct nro_tool *t)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
		nro_die(NRO_EXIT_TEMP, "sigprocmask: %s", strerror(errno));
	t->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (t->sigfd < 0)
		nro_die(NRO_EXIT_TEMP, "signalfd: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
}

int nro_signal_read(struct nro_tool *t)
{
	struct signalfd_siginfo si;
	if (t->sigfd < 0)
		return NRO_SIG_NONE;
	for (;;) {
		ssize_t r = read(t->sigfd, &si, sizeof si);
		if (r == (ssize_t)sizeof si) {
			if (si.ssi_signo == SIGHUP)
				return NRO_SIG_HUP;
			return NRO_SIG_TERM;
		}
		if (r < 0 && errno == EINTR)
			continue;
		return NRO_SIG_NONE;
	}
}

int nro_wait(struct nro_tool *t, int64_t deadline_ms, int extra_fd)
{
	for (;;) {
		int sig = nro_signal_read(t);
		if (sig != NRO_SIG_NONE)
			return sig;
		int64_t left = deadline_ms - nro_mono_ms();
		if (left <= 0)
			return NRO_WAIT_DEADLINE;
		struct pollfd pfd[2];
		nfds_t n = 0;
		if (t->sigfd >= 0) {
			pfd[n].fd = t->sigfd;
			pfd[n++].events = POLLIN;
		}
		if (extra_fd >= 0) {
			pfd[n].fd = extra_fd;
			pfd[n++].events = POLLIN;
		}
		int r = poll(pfd, n, left > INT32_MAX ? INT32_MAX : (int)left);
		if (r < 0 && errno != EINTR)
			nro_die(NRO_EXIT_TEMP, "poll: %s", strerror(errno));
		if (r > 0 && extra_fd >= 0 && (pfd[n - 1].revents & (POLLIN | POLLHUP | POLLERR)))
			return NRO_WAIT_FD;
	}
}

