/*
 * A tiny unit-test harness: each test case prints "ok - name" or
 * "not ok - name" (TAP-like), so tests/run.sh can count them; failed checks
 * print file:line and the expression to stderr.
 *
 *   TEST(decodes_header) { CHECK(x == 1); CHECK_STR(a, "b"); }
 *   int main(void) { RUN(decodes_header); return testing_done(); }
 */
#ifndef NRO_TESTING_H
#define NRO_TESTING_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int testing_failed_now, testing_pass, testing_fail;

#define TEST(name) static void name(void)
#define CHECK(c)                                                                          \
	do {                                                                              \
		if (!(c)) {                                                               \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); \
			testing_failed_now = 1;                                           \
		}                                                                         \
	} while (0)
#define CHECK_STR(a, b)                                                                       \
	do {                                                                                  \
		const char *ca_ = (a), *cb_ = (b);                                            \
		if (!ca_ || !cb_ || strcmp(ca_, cb_) != 0) {                                  \
			fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__,       \
				ca_ ? ca_ : "(null)", cb_ ? cb_ : "(null)");                   \
			testing_failed_now = 1;                                               \
		}                                                                             \
	} while (0)
#define RUN(name)                                                                   \
	do {                                                                        \
		testing_failed_now = 0;                                             \
		name();                                                             \
		printf("%s - %s\n", testing_failed_now ? "not ok" : "ok", #name);   \
		if (testing_failed_now)                                             \
			testing_fail++;                                             \
		else                                                                \
			testing_pass++;                                             \
		fflush(stdout);                                                     \
	} while (0)

/* Reads a whole file into a malloc'd buffer the caller frees; NULL on error. */
static inline char *testing_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *p = malloc(cap);
	while (p) {
		if (n == cap) {
			char *q = cap < (64u << 20) ? realloc(p, cap * 2) : NULL;
			if (!q) {
				free(p);
				p = NULL;
				break;
			}
			p = q;
			cap *= 2;
		}
		size_t r = fread(p + n, 1, cap - n, f);
		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	*len = n;
	return p;
}

/* Removes dir and everything below it (rm -rf), saying so on stderr when
 * it cannot: a test's private directory at the end of its main. */
static inline void testing_rm_rf(const char *dir)
{
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static inline int testing_done(void)
{
	return testing_fail ? 1 : 0;
}

#endif
