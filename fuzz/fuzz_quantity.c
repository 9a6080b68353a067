/*
 * Kubernetes quantities (lib/base/quantity.h) on any bytes. Accepted values
 * are finite; a plain decimal with at most 19 significant digits and no
 * suffix is exactly what strtod makes of it (both round the exact decimal
 * value correctly), and a binary suffix scales that by its power of 1024.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/quantity.h"
#include "fuzz.h"

/* 1 if s[0..n) is [sign] digits [. digits] with at least one digit and at
 * most 19 significant ones (leading and trailing zeros do not count). */
static int plain_decimal(const char *s, size_t n)
{
	size_t i = (n && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
	int digits = 0, dots = 0;
	size_t first = 0, last = 0;
	for (; i < n; i++) {
		if (s[i] == '.') {
			if (dots++)
				return 0;
		} else if (s[i] >= '0' && s[i] <= '9') {
			if (s[i] != '0') {
				if (!first)
					first = i + 1;
				last = i + 1;
			}
			digits++;
		} else {
			return 0;
		}
	}
	if (!digits)
		return 0;
	int sig = 0;
	for (size_t k = first; k && k <= last; k++)
		sig += s[k - 1] != '.';
	return sig <= 19;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	double v = 12345.0;
	if (nro_quantity_parse(s, size, &v) != 0) {
		FUZZ_CHECK(v == 12345.0); /* out untouched */
		return 0;
	}
	FUZZ_CHECK(isfinite(v));
	if (size > 64)
		return 0;
	char copy[72];
	memcpy(copy, s, size);
	copy[size] = '\0';
	size_t n = size;
	int shift = 0;
	if (n >= 2 && copy[n - 1] == 'i') {
		const char *bin = strchr("KMGTPE", copy[n - 2]);
		if (!bin || !copy[n - 2])
			return 0;
		shift = 10 * (int)(bin - "KMGTPE" + 1);
		n -= 2;
		copy[n] = '\0';
	}
	if (!plain_decimal(copy, n))
		return 0;
	double want = ldexp(strtod(copy, NULL), shift);
	if (isfinite(want))
		FUZZ_CHECK(v == want);
	return 0;
}
