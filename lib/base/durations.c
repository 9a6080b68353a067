#include "base/durations.h"

#include <stdio.h>
#include <string.h>

int nro_parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int nro_parse_duration(const char *s, int64_t *ms)
{
	/* units, longest first so "ms" is not read as "m" */
	static const struct {
		const char *u;
		int64_t ms;
	} units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
	int64_t total = 0;
	if (!s || !*s)
		return -1;
	if (strcmp(s, "0") == 0) {
		*ms = 0;
		return 0;
	}
	while (*s) {
		int64_t v = 0;
		const char *start = s;
		while (*s >= '0' && *s <= '9') {
			if (v > (INT64_MAX - 9) / 10)
				return -1;
			v = v * 10 + (*s - '0');
			s++;
		}
		if (s == start)
			return -1;
		size_t i;
		for (i = 0; i < sizeof units / sizeof units[0]; i++) {
			size_t ul = strlen(units[i].u);
			if (strncmp(s, units[i].u, ul) == 0 &&
			    !(ul == 1 && units[i].u[0] == 'm' && s[1] == 's'))
				break;
		}
		if (i == sizeof units / sizeof units[0])
			return -1;
		if (v > (INT64_MAX - total) / units[i].ms)
			return -1;
		total += v * units[i].ms;
		s += strlen(units[i].u);
	}
	*ms = total;
	return 0;
}


void nro_fmt_duration(char *out, size_t outlen, int64_t ms)
{
	static const struct {
		const char *u;
		int64_t ms;
	} units[] = {{"h", 3600000}, {"m", 60000}, {"s", 1000}};
	if (ms <= 0 || ms % 1000 != 0) {
		snprintf(out, outlen, "%lldms", (long long)ms);
		return;
	}
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		int64_t q = ms / units[i].ms;
		ms %= units[i].ms;
		if (q && n < outlen)
			n += (size_t)snprintf(out + n, outlen - n, "%lld%s", (long long)q, units[i].u);
	}
}
