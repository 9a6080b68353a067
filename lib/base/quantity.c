#include "base/quantity.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fixed suffixes: decimal exponent, binary exponent. */
static const struct {
	const char *s;
	int e10, e2;
} suffixes[] = {
	{"n", -9, 0}, {"u", -6, 0}, {"m", -3, 0}, {"k", 3, 0}, {"M", 6, 0}, {"G", 9, 0},
	{"T", 12, 0}, {"P", 15, 0}, {"E", 18, 0}, {"Ki", 0, 10}, {"Mi", 0, 20}, {"Gi", 0, 30},
	{"Ti", 0, 40}, {"Pi", 0, 50}, {"Ei", 0, 60},
};

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Parses the suffix s[0..n) into decimal and binary exponents. 0 or -1. */
static int parse_suffix(const char *s, size_t n, long *e10, int *e2)
{
	*e10 = 0;
	*e2 = 0;
	if (n == 0)
		return 0;
	for (size_t k = 0; k < sizeof suffixes / sizeof suffixes[0]; k++)
		if (strlen(suffixes[k].s) == n && memcmp(suffixes[k].s, s, n) == 0) {
			*e10 = suffixes[k].e10;
			*e2 = suffixes[k].e2;
			return 0;
		}
	if (s[0] != 'e' && s[0] != 'E')
		return -1;
	size_t i = 1;
	int neg = 0;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	if (i == n)
		return -1;
	long v = 0;
	for (; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		if (v > 100000) /* far past any finite double; keeps v bounded */
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*e10 = neg ? -v : v;
	return 0;
}

int nro_quantity_parse(const char *s, size_t n, double *out)
{
	size_t i = 0;
	int neg = 0;
	if (!s)
		return -1;
	if (i < n && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	uint64_t mant = 0;
	int sig = 0;     /* significant digits kept in mant */
	long e10 = 0;    /* value = mant * 10^e10 before the suffix */
	int ndigits = 0; /* digits seen at all */
	for (; i < n && is_digit(s[i]); i++) {
		unsigned d = (unsigned)(s[i] - '0');
		ndigits++;
		if (mant == 0 && d == 0)
			continue;
		if (sig < 19) {
			mant = mant * 10 + d;
			sig++;
		} else {
			e10++; /* a dropped integer digit still scales */
		}
	}
	if (i < n && s[i] == '.') {
		i++;
		for (; i < n && is_digit(s[i]); i++) {
			unsigned d = (unsigned)(s[i] - '0');
			ndigits++;
			if (sig < 19) {
				mant = mant * 10 + d;
				e10--;
				if (mant)
					sig++;
			}
		}
	}
	if (ndigits == 0)
		return -1;
	long se10;
	int e2;
	if (parse_suffix(s + i, n - i, &se10, &e2) != 0)
		return -1;
	e10 += se10;
	if (mant == 0) {
		*out = 0.0; /* "-0" is zero, not negative zero */
		return 0;
	}
	if (e10 > 400 || e10 < -400)
		return -1;
	/* strtod rounds the exact decimal mant x 10^e10 correctly; scaling by
	 * 2^e2 afterwards is exact (or overflows, refused below). */
	char tmp[48];
	int len = snprintf(tmp, sizeof tmp, "%s%llue%ld", neg ? "-" : "", (unsigned long long)mant, e10);
	if (len < 0 || (size_t)len >= sizeof tmp)
		return -1;
	errno = 0;
	char *end;
	double v = strtod(tmp, &end);
	if (*end != '\0')
		return -1;
	v = ldexp(v, e2);
	if (!isfinite(v))
		return -1;
	*out = v;
	return 0;
}
