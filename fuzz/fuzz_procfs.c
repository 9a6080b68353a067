/*
 * The /proc and /sys parsers collector-node uses (lib/parse/procfs.h) on any
 * bytes. Byte 0 picks the file (its value mod 10): /proc/stat, meminfo and
 * vmstat (nro_parse_kv), loadavg, pressure/{cpu,memory,io}, sys/fs/file-nr, one-number
 * files, net/dev, 1/mountinfo, mounts, /sys/class/net/<if>/operstate. The
 * rest is the file, in a buffer of exactly its length plus the NUL that
 * base/readfile.h adds (the line parsers get each line in a buffer of
 * exactly its length, no NUL).
 *
 * Checked besides "no crash, no sanitizer report": the line iterator gives
 * back every byte but the separators; a parse that succeeds says what its
 * header promises (a cpu line with 4 to 8 fields, finite load averages,
 * a PSI "some" line, free <= allocated file handles, NUL-terminated names
 * that fit, a one-word operstate of [a-z0-9_-]); a one-number file gives
 * the number that strtoull reads; every parse gives the same on a second run.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "parse/procfs.h"

#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

static void lines_cover_the_input(const char *s, size_t len)
{
	struct nro_lines it;
	const char *line;
	size_t n, total = 0, count = 0;
	const char *expect = s;
	nro_lines_init(&it, s, len);
	while (nro_lines_next(&it, &line, &n)) {
		FUZZ_CHECK(line == expect);
		FUZZ_CHECK(n <= len - (size_t)(line - s));
		FUZZ_CHECK(memchr(line, '\n', n) == NULL);
		total += n;
		count++;
		expect = line + n + 1;
	}
	/* every byte is in a line or is one of the count (or count - 1) '\n' */
	FUZZ_CHECK(total + count == len || total + count - 1 == len || (len == 0 && count == 0));
}

static void stat_file(const char *s, size_t len)
{
	struct nro_proc_stat a, b;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	int rc = nro_parse_proc_stat(s, len, &a);
	FUZZ_CHECK(nro_parse_proc_stat(s, len, &b) == rc);
	if (rc == 0) {
		FUZZ_CHECK(a.have & NRO_STAT_HAVE_CPU);
		FUZZ_CHECK(a.cpu_fields >= 4 && a.cpu_fields <= NRO_CPU_STATES);
		FUZZ_CHECK(memcmp(a.cpu, b.cpu, sizeof a.cpu) == 0);
	} else {
		FUZZ_CHECK(rc == -1);
	}
	FUZZ_CHECK(a.have == b.have && a.bad_lines == b.bad_lines && a.ncpus == b.ncpus);
	for (unsigned i = 0; i <= NRO_CPU_STATES; i++)
		FUZZ_CHECK(nro_cpu_state_name(i) != NULL);
}

static void kv_file(const char *s, size_t len)
{
	uint64_t v[4] = {0, 0, 0, 0}, w[4] = {0, 0, 0, 0};
	unsigned have = 0, have2 = 0;
	const struct nro_kv_field f[] = {
		{"MemTotal", &v[0], 1}, {"MemFree", &v[1], 2}, {"oom_kill", &v[2], 4}, {"Cached", &v[3], 8},
	};
	const struct nro_kv_field g[] = {
		{"MemTotal", &w[0], 1}, {"MemFree", &w[1], 2}, {"oom_kill", &w[2], 4}, {"Cached", &w[3], 8},
	};
	unsigned bad = nro_parse_kv(s, len, f, 4, &have);
	FUZZ_CHECK(nro_parse_kv(s, len, g, 4, &have2) == bad);
	FUZZ_CHECK(have == have2 && have <= 15);
	FUZZ_CHECK(memcmp(v, w, sizeof v) == 0);
	size_t lines = 1;
	for (size_t i = 0; i < len; i++)
		lines += s[i] == '\n';
	FUZZ_CHECK(bad <= lines);
	for (int i = 0; i < 4; i++)
		if (!(have & (1u << i)))
			FUZZ_CHECK(v[i] == 0);
}

static void loadavg_file(const char *s, size_t len)
{
	struct nro_loadavg la;
	memset(&la, 0, sizeof la);
	if (nro_parse_loadavg(s, len, &la) == 0) {
		FUZZ_CHECK(isfinite(la.load1) && isfinite(la.load5) && isfinite(la.load15));
		FUZZ_CHECK(la.load1 >= 0 && la.load5 >= 0 && la.load15 >= 0);
	}
}

static void psi_file(const char *s, size_t len)
{
	struct nro_psi p;
	int rc = nro_parse_psi(s, len, &p);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc == 0) {
		FUZZ_CHECK(p.have & NRO_PSI_SOME);
		FUZZ_CHECK(isfinite(p.avg10[0]) && p.avg10[0] >= 0);
		FUZZ_CHECK(isfinite(p.avg10[1]) && p.avg10[1] >= 0);
	}
}

static void file_nr_file(const char *s, size_t len)
{
	uint64_t a = 0, f = 0, m = 0;
	if (nro_parse_file_nr(s, len, &a, &f, &m) == 0)
		FUZZ_CHECK(f <= a);
}

/* The number nro_parse_u64_file accepts is the one strtoull reads. */
static void u64_file(const char *s, size_t len)
{
	uint64_t v = 0;
	if (nro_parse_u64_file(s, len, &v) != 0)
		return;
	errno = 0;
	char *end;
	unsigned long long w = strtoull(s, &end, 10);
	FUZZ_CHECK(errno == 0 && end != s);
	FUZZ_CHECK((uint64_t)w == v);
	size_t used = nro_scan_u64(s, len, &v);
	FUZZ_CHECK(used > 0 && used <= len && (uint64_t)w == v);
}

/* Each line in a buffer of exactly its length. */
static void per_line(const char *s, size_t len, int which)
{
	struct nro_lines it;
	const char *src;
	size_t n;
	nro_lines_init(&it, s, len);
	while (nro_lines_next(&it, &src, &n)) {
		char *line = malloc(n ? n : 1);
		if (!line)
			return;
		memcpy(line, src, n);
		if (which == 0) {
			struct nro_netdev d;
			memset(&d, 0, sizeof d);
			int rc = nro_parse_netdev_line(line, n, &d);
			FUZZ_CHECK(rc >= -1 && rc <= 1);
			if (rc == 1) {
				FUZZ_CHECK(TERMINATED(d.name));
				FUZZ_CHECK(d.name[0] != '\0');
			}
		} else {
			struct nro_mount m;
			memset(&m, 0, sizeof m);
			int rc = which == 1 ? nro_parse_mountinfo_line(line, n, &m)
					    : nro_parse_mounts_line(line, n, &m);
			FUZZ_CHECK(rc == 1 || rc == -1);
			if (rc == 1) {
				FUZZ_CHECK(TERMINATED(m.mountpoint));
				FUZZ_CHECK(TERMINATED(m.device));
				FUZZ_CHECK(TERMINATED(m.fstype));
				FUZZ_CHECK(m.ro == 0 || m.ro == 1);
				nro_fstype_is_remote(m.fstype);
			}
		}
		free(line);
	}
}

static void word_file(const char *s, size_t len, size_t outlen)
{
	char out[64];
	memset(out, 'x', sizeof out);
	nro_parse_word(s, len, out, outlen);
	size_t n = strnlen(out, outlen);
	FUZZ_CHECK(n < outlen);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK((out[i] >= 'a' && out[i] <= 'z') || (out[i] >= '0' && out[i] <= '9') ||
			   out[i] == '-' || out[i] == '_');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t len = size - 1;
	char *s = malloc(len + 1);
	if (!s)
		return 0;
	memcpy(s, data + 1, len);
	s[len] = '\0';
	lines_cover_the_input(s, len);
	switch (data[0] % 10) {
	case 0: stat_file(s, len); break;
	case 1: kv_file(s, len); break;
	case 2: loadavg_file(s, len); break;
	case 3: psi_file(s, len); break;
	case 4: file_nr_file(s, len); break;
	case 5: u64_file(s, len); break;
	case 6: per_line(s, len, 0); break;
	case 7: per_line(s, len, 1); break;
	case 8: per_line(s, len, 2); break;
	default: word_file(s, len, 1 + (size_t)(data[0] / 10) % 63); break;
	}
	free(s);
	return 0;
}
