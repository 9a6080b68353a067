#include "base/file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/testing.h"

static char tmp[] = "/tmp/file_test.XXXXXX";

/* Writes n bytes of 'x' into tmp/name; returns its path (static). */
static const char *put(const char *name, size_t n)
{
	static char p[256];
	snprintf(p, sizeof p, "%s/%s", tmp, name);
	FILE *f = fopen(p, "w");
	for (size_t i = 0; f && i < n; i++)
		fputc('x', f);
	if (f)
		fclose(f);
	return p;
}

TEST(heap_reader_takes_up_to_max_bytes)
{
	char *b = NULL;
	size_t n = 0;
	CHECK(nro_file_read(put("ten", 10), 10, &b, &n) == 0);
	CHECK(n == 10 && b && b[10] == '\0' && b[9] == 'x');
	free(b);
	b = NULL;
	CHECK(nro_file_read(put("empty", 0), 10, &b, &n) == 0);
	CHECK(n == 0 && b && b[0] == '\0');
	free(b);
	b = NULL;
	CHECK(nro_file_read(put("eleven", 11), 10, &b, &n) == -1 && errno == EFBIG);
	CHECK(b == NULL);
	CHECK(nro_file_read(tmp, 10, &b, &n) == -1 && errno == EISDIR);
	CHECK(nro_file_read("/nonexistent/x", 10, &b, &n) == -1 && errno == ENOENT);
}

TEST(heap_reader_reads_a_file_stat_calls_empty)
{
	char *b = NULL;
	size_t n = 0;
	/* /proc files have st_size 0: the buffer grows as they are read */
	CHECK(nro_file_read("/proc/self/status", 1 << 20, &b, &n) == 0);
	CHECK(n > 0 && b && strncmp(b, "Name:", 5) == 0 && strlen(b) == n);
	free(b);
	b = NULL;
	CHECK(nro_file_read("/proc/self/status", 8, &b, &n) == -1 && errno == EFBIG);
}

TEST(buffer_reader_refuses_a_file_past_the_cap)
{
	char buf[11], err[300] = "";
	size_t n = 99;
	CHECK(nro_read_file(put("ten", 10), buf, sizeof buf, &n, err, sizeof err) == NRO_READ_OK);
	CHECK(n == 10 && strlen(buf) == 10);
	CHECK(nro_read_file(put("eleven", 11), buf, sizeof buf, &n, err, sizeof err) ==
	      NRO_READ_TOO_LARGE);
	CHECK(n == 0 && buf[0] == '\0' && strstr(err, "larger than 10 bytes"));
	CHECK(nro_read_file("/nonexistent/x", buf, sizeof buf, &n, err, sizeof err) ==
	      NRO_READ_MISSING);
	CHECK(strstr(err, "/nonexistent/x: ") == err);
	char one[1];
	CHECK(nro_read_file(put("empty", 0), one, 1, &n, err, sizeof err) == NRO_READ_OK);
	CHECK(nro_read_file(put("one", 1), one, 1, &n, err, sizeof err) == NRO_READ_TOO_LARGE);
}

TEST(path_join_drops_a_root_slash)
{
	char out[32];
	CHECK(nro_path_join(out, sizeof out, "/host/proc/", "/stat") == 0);
	CHECK_STR(out, "/host/proc/stat");
	CHECK(nro_path_join(out, sizeof out, "/", "/stat") == 0);
	CHECK_STR(out, "/stat");
	CHECK(nro_path_join(out, 4, "/host", "/stat") == -1);
}

int main(void)
{
	if (!mkdtemp(tmp))
		return 1;
	RUN(heap_reader_takes_up_to_max_bytes);
	RUN(heap_reader_reads_a_file_stat_calls_empty);
	RUN(buffer_reader_refuses_a_file_past_the_cap);
	RUN(path_join_drops_a_root_slash);
	testing_rm_rf(tmp);
	return testing_done();
}
