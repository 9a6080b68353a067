#include "base/quantity.h"

#include <math.h>
#include <string.h>

#include "base/testing.h"

static int parses(const char *s, double want)
{
	double v = -12345;
	if (nro_quantity_parse(s, strlen(s), &v) != 0) {
		fprintf(stderr, "refused '%s'\n", s);
		return 0;
	}
	if (v != want) {
		fprintf(stderr, "'%s' = %.17g, want %.17g\n", s, v, want);
		return 0;
	}
	return 1;
}

static int refuses(const char *s)
{
	double v = 42;
	if (nro_quantity_parse(s, strlen(s), &v) == 0) {
		fprintf(stderr, "accepted bad quantity '%s' = %.17g\n", s, v);
		return 0;
	}
	return v == 42; /* untouched */
}

TEST(cpu)
{
	CHECK(parses("100m", 0.1));
	CHECK(parses("1", 1));
	CHECK(parses("0.5", 0.5));
	CHECK(parses("2k", 2000));
	CHECK(parses("250m", 0.25));
	CHECK(parses("3m", 0.003));
	CHECK(parses("1500n", 1.5e-6));
	CHECK(parses("20u", 2e-5));
	CHECK(parses(".5", 0.5));
	CHECK(parses("1.", 1));
	CHECK(parses("0.1", 0.1));
	CHECK(parses("+1", 1));
	CHECK(parses("-1", -1));
	CHECK(parses("-0", 0) && !signbit(0.0));
	CHECK(parses("0", 0));
	CHECK(parses("0m", 0));
	CHECK(parses("000.000", 0));
	CHECK(parses("007", 7));
	CHECK(parses("0.05", 0.05));
	CHECK(parses("1.5", 1.5));
}

TEST(memory)
{
	CHECK(parses("128Mi", 134217728));
	CHECK(parses("1G", 1e9));
	CHECK(parses("1e3", 1000));
	CHECK(parses("129M", 129e6));
	CHECK(parses("5M", 5e6));
	CHECK(parses("1Ki", 1024));
	CHECK(parses("1.5Gi", 1610612736));
	CHECK(parses("0.1Ki", 102.4));
	CHECK(parses("2Ti", 2199023255552.0));
	CHECK(parses("1Pi", 1125899906842624.0));
	CHECK(parses("1Ei", 1152921504606846976.0));
	CHECK(parses("1E", 1e18));
	CHECK(parses("1P", 1e15));
	CHECK(parses("1T", 1e12));
	CHECK(parses("1E3", 1000));
	CHECK(parses("1e+3", 1000));
	CHECK(parses("1E-3", 0.001));
	CHECK(parses("12e-1", 1.2));
	CHECK(parses("123456789", 123456789));
	CHECK(parses("9007199254740993", 9007199254740992.0)); /* 2^53+1 rounds to even */
	CHECK(parses("18446744073709551616", 18446744073709551616.0));
	/* more than 19 significant digits: the rest is dropped, scale kept */
	CHECK(parses("123456789012345678901234", 1234567890123456789e5));
	CHECK(parses("0.000000000000000000000001", 1e-24));
}

TEST(bad)
{
	const char *bad[] = {"", "m", "Mi", ".", "-", "+", "+-1", "1 ", " 1", "1 Mi", "1mi",
			     "1MI", "1KI", "1K", "1b", "1B", "1e", "1E+", "1e-", "1ee3", "1e3.5",
			     "1..2", "1.2.3", "0x10", "1Mi2", "1Gib", "1e999999", "1e400", "1e309",
			     "2Ei1", "1,5", "NaN", "inf", "-inf", "1_000", "1i", "e3", "E", NULL};
	for (int i = 0; bad[i]; i++)
		CHECK(refuses(bad[i]));
	/* past the double range after the binary suffix */
	CHECK(refuses("1e300Ei"));
	/* length, not NUL, ends the string */
	double v = 0;
	CHECK(nro_quantity_parse("128Mi", 3, &v) == 0 && v == 128);
	CHECK(nro_quantity_parse("128Mi", 4, &v) == 0 && v == 128e6);
	CHECK(nro_quantity_parse("128Mix", 5, &v) == 0 && v == 134217728);
	CHECK(nro_quantity_parse("1\0m", 3, &v) == -1);
	CHECK(nro_quantity_parse(NULL, 0, &v) == -1);
}

int main(void)
{
	RUN(cpu);
	RUN(memory);
	RUN(bad);
	return testing_done();
}
