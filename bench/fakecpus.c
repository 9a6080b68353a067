/*
 * LD_PRELOAD shim for make bench: sysconf(_SC_NPROCESSORS_ONLN / _CONF)
 * answers $NRO_FAKE_CPUS (default 64), so a 2-core machine shows what a
 * library that sizes its thread pools from the CPU count does on a big node.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

long sysconf(int name)
{
	static long (*real)(int);
	if (name == _SC_NPROCESSORS_ONLN || name == _SC_NPROCESSORS_CONF) {
		const char *n = getenv("NRO_FAKE_CPUS");
		long v = n ? strtol(n, NULL, 10) : 64;
		return v > 0 ? v : 64;
	}
	if (!real)
		real = (long (*)(int))dlsym(RTLD_NEXT, "sysconf");
	return real ? real(name) : -1;
}
