/*
 * nro-dump: prints records as JSON lines, one entry a line (DESIGN.md,
 * "Records"). Reads a framed stream on stdin (-i -, the default), or
 * subscribes to an nng address (-i ipc://...; dials unless --listen), or
 * prints what the analyzer's ring holds (--ring PATH, oldest to newest;
 * --follow keeps following it). Malformed records are reported on stderr,
 * counted, and skipped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "wire/record.h"
#include "render/render.h"
#include "wire/ring.h"
#include "run/signals.h"
#include "run/tool.h"
#include "wire/transport.h"

static const char *kinds = "";
static int listen_mode;
static uint64_t max_count;
static const char *ring_path;
static int follow;

static const struct nro_optdef opts[] = {
	{"kinds", 'k', "NRO_DUMP_KINDS", NRO_OPT_STR, &kinds, NULL, "LETTERS",
	 "only these record kinds: M metric, S state, H health, X error, E event (e.g. -k E)"},
	{"listen", 0, "NRO_DUMP_LISTEN", NRO_OPT_FLAG, &listen_mode, NULL, NULL,
	 "listen on the nng address instead of dialing it"},
	{"count", 'n', "NRO_DUMP_COUNT", NRO_OPT_UINT, &max_count, NULL, "N",
	 "exit 0 after printing N entries (default: until end of input or SIGTERM)"},
	{"ring", 0, "NRO_DUMP_RING", NRO_OPT_STR, &ring_path, NULL, "PATH",
	 "print what the analyzer's ring holds (e.g. /run/nro/ring), oldest first, then exit"},
	{"follow", 'F', "NRO_DUMP_FOLLOW", NRO_OPT_FLAG, &follow, NULL, NULL,
	 "with --ring: keep printing new records until SIGTERM"},
	{NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
};

static struct nro_buf out;
static uint64_t printed, rejected;

/* Prints one record's entries. 0 go on, 1 the count is reached or stdout
 * went away. */
static int print_record(const uint8_t *buf, size_t len)
{
	struct nro_msg m;
	const char *why;
	if (nro_decode(&m, buf, len, &why) != 0) {
		rejected++;
		nro_warn("dropped a malformed record (%zu bytes): %s", len, why);
		return 0;
	}
	if (*kinds && !strchr(kinds, m.hdr.kind))
		return 0;
	nro_buf_reset(&out);
	int n = nro_render_msg_json(&out, &m);
	if (n < 0) {
		nro_warn("record too large to render; skipped");
		return 0;
	}
	if (max_count && printed + (uint64_t)n > max_count) {
		/* print only up to the count: cut after the right newline */
		size_t keep = 0;
		for (uint64_t lines = 0; keep < out.len && lines < max_count - printed; keep++)
			if (out.p[keep] == '\n')
				lines++;
		out.len = keep;
		n = (int)(max_count - printed);
	}
	if (nro_write_all(STDOUT_FILENO, out.p, out.len) != 0) {
		if (errno != EPIPE)
			nro_error("stdout: %s", strerror(errno));
		return 1;
	}
	printed += (uint64_t)n;
	return max_count && printed >= max_count;
}

static void report_lost(uint64_t *a, uint64_t b)
{
	if (!*a)
		return;
	nro_warn("lost %llu records (seq %llu..%llu): the writer overtook us",
		 (unsigned long long)(b - *a + 1), (unsigned long long)*a, (unsigned long long)b);
	*a = 0;
}

/* --ring: oldest to head, then (--follow) whatever comes. Exit status. */
static int dump_ring(struct nro_tool *t)
{
	struct nro_ring r;
	char err[512];
	if (nro_ring_open(&r, ring_path, err, sizeof err) != 0)
		nro_die(access(ring_path, F_OK) != 0 ? NRO_EXIT_USAGE : NRO_EXIT_TEMP,
			"--ring %s: %s%s", ring_path, err,
			access(ring_path, F_OK) != 0 ? " (no ring there: is the analyzer running with "
						       "this run directory?)"
						     : "");
	nro_ready(t);
	struct nro_buf rec;
	nro_buf_init(&rec, NRO_MSG_MAX);
	uint64_t next = nro_ring_oldest(&r);
	int done = 0;
	while (!done) {
		uint64_t head = nro_ring_head(&r);
		uint64_t lost_a = 0, lost_b = 0;
		for (; next <= head && !done; next++) {
			int rc = nro_ring_read(&r, next, &rec);
			if (rc == 1) {
				report_lost(&lost_a, lost_b);
				done = print_record((const uint8_t *)rec.p, rec.len);
				continue;
			}
			/* overtaken by the writer: skip to what it still holds */
			uint64_t old = nro_ring_oldest(&r);
			if (!lost_a)
				lost_a = next;
			lost_b = old > next ? old - 1 : next;
			next = lost_b;
		}
		report_lost(&lost_a, lost_b);
		if (done || !follow)
			break;
		if (nro_wait(t, nro_mono_ms() + 100, -1) == NRO_SIG_TERM)
			break;
		if (nro_ring_replaced(&r, ring_path)) {
			struct nro_ring fresh;
			if (nro_ring_open(&fresh, ring_path, err, sizeof err) == 0) {
				nro_warn("the ring was recreated: following the new one from its start");
				nro_ring_close(&r);
				r = fresh;
				next = nro_ring_oldest(&r);
			}
		}
	}
	nro_buf_free(&rec);
	nro_ring_close(&r);
	if (rejected) {
		nro_error("%llu malformed record(s) dropped", (unsigned long long)rejected);
		return NRO_EXIT_DATA;
	}
	return 0;
}

/* What ended the input, said once; the exit status. The transport has
 * already said a lost framing. */
static int input_status(const struct nro_in *in)
{
	int status = 0;
	if (in->oversized)
		status = NRO_EXIT_DATA;
	if (in->truncated) {
		nro_error("input ended inside a record (truncated stream)");
		status = NRO_EXIT_DATA;
	}
	if (rejected) {
		nro_error("%llu malformed record(s) dropped", (unsigned long long)rejected);
		status = NRO_EXIT_DATA;
	}
	return status;
}

/* Prints records until the end of input, the count, or SIGTERM. Over nng a
 * dump that has no publisher after a second says what it waits for, once. */
static void dump_input(struct nro_tool *t, struct nro_in *in, const char *addr)
{
	int64_t say_at = nro_mono_ms() + 1000;
	for (;;) {
		const uint8_t *buf;
		size_t len;
		int r = nro_in_recv(in, &buf, &len);
		if (r < 0)
			break;
		if (r == 1) {
			if (print_record(buf, len))
				break;
			continue;
		}
		if (say_at && !nro_in_connected(in) && nro_mono_ms() >= say_at) {
			nro_info("waiting for a publisher on %s (nothing there yet)", addr);
			say_at = 0;
		}
		int w = nro_wait(t, say_at ? say_at : nro_mono_ms() + 3600000, nro_in_fd(in));
		if (w == NRO_SIG_TERM)
			break;
	}
}

int main(int argc, char **argv)
{
	struct nro_tool t;
	nro_tool_init(&t, "nro-dump",
		      "Print node-runtime-observer records as JSON lines, one entry a line.\n"
		      "Input: a framed record stream on stdin (-i -, the default), or an nng\n"
		      "address (-i ipc:///run/nro/events.ipc), or the ring (--ring). Exit 0 at\n"
		      "end of input, 102 if any record was malformed or the stream lost its\n"
		      "framing or was cut inside a record.",
		      NRO_COMMON_INPUT | NRO_TOOL_STDIN, 0, opts, argc, argv);
	for (const char *k = kinds; *k; k++)
		if (!strchr("MSHXE", *k))
			nro_die(NRO_EXIT_USAGE, "--kinds: unknown kind '%c' (want M, S, H, X or E)", *k);
	const char *addr = t.input ? t.input : "-";
	nro_signals_init(&t);
	if (follow && !ring_path)
		nro_die(NRO_EXIT_USAGE, "--follow goes with --ring");
	if (ring_path && t.input)
		nro_die(NRO_EXIT_USAGE, "--ring and -i are exclusive");
	if (ring_path) {
		nro_buf_init(&out, (size_t)NRO_MSG_MAX * 8);
		int rc = dump_ring(&t);
		nro_buf_free(&out);
		return rc;
	}

	struct nro_in in;
	char err[512];
	if (nro_in_open(&in, addr, listen_mode ? NRO_LISTEN : NRO_DIAL, kinds, err, sizeof err) != 0)
		nro_die(strncmp(addr, "ipc://", 6) == 0 ? NRO_EXIT_TEMP : NRO_EXIT_USAGE, "-i: %s", err);
	nro_ready(&t);

	nro_buf_init(&out, (size_t)NRO_MSG_MAX * 8);
	dump_input(&t, &in, addr);
	int status = input_status(&in);
	nro_buf_free(&out);
	nro_in_close(&in);
	return status;
}
