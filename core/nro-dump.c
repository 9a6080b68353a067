/*
 * nro-dump: prints records as JSON lines, one entry a line (DESIGN.md,
 * "Records"). Reads a framed stream on stdin (-i -, the default), or
 * subscribes to an nng address (-i ipc://...; dials unless --listen).
 * Malformed records are reported on stderr, counted, and skipped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "record.h"
#include "render.h"
#include "tool.h"
#include "transport.h"

static const char *kinds = "";
static int listen_mode;
static uint64_t max_count;

static const struct nro_optdef opts[] = {
	{"kinds", 'k', "NRO_DUMP_KINDS", NRO_OPT_STR, &kinds, NULL, "LETTERS",
	 "only these record kinds: M metric, S state, H health, X error, E event (e.g. -k E)"},
	{"listen", 0, NULL, NRO_OPT_FLAG, &listen_mode, NULL, NULL,
	 "listen on the nng address instead of dialing it"},
	{"count", 'n', NULL, NRO_OPT_UINT, &max_count, NULL, "N",
	 "exit 0 after printing N entries (default: until end of input or SIGTERM)"},
	{NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
};

static int write_all(const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(STDOUT_FILENO, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct nro_tool t;
	nro_tool_init(&t, "nro-dump",
		      "Print node-runtime-observer records as JSON lines, one entry a line.\n"
		      "Input: a framed record stream on stdin (-i -, the default), or an nng\n"
		      "address (-i ipc:///run/nro/events.ipc). Exit 0 at end of input, 1 if any\n"
		      "record was malformed or the stream was cut inside a record.",
		      NRO_COMMON_INPUT, 0, opts, argc, argv);
	for (const char *k = kinds; *k; k++)
		if (!strchr("MSHXE", *k))
			nro_die(NRO_EXIT_USAGE, "--kinds: unknown kind '%c' (want M, S, H, X or E)", *k);
	const char *addr = t.input ? t.input : "-";
	nro_signals_init(&t);

	struct nro_in in;
	char err[512];
	if (nro_in_open(&in, addr, listen_mode ? NRO_LISTEN : NRO_DIAL, kinds, err, sizeof err) != 0)
		nro_die(strncmp(addr, "ipc://", 6) == 0 ? NRO_EXIT_TEMP : NRO_EXIT_USAGE, "%s", err);
	nro_ready(&t);

	struct nro_buf out;
	nro_buf_init(&out, (size_t)NRO_MSG_MAX * 8);
	uint64_t printed = 0, rejected = 0;
	int status = 0;
	for (;;) {
		const uint8_t *buf;
		size_t len;
		int r = nro_in_recv(&in, &buf, &len);
		if (r < 0)
			break;
		if (r == 0) {
			int w = nro_wait(&t, nro_mono_ms() + 3600000, nro_in_fd(&in));
			if (w == NRO_SIG_TERM)
				break;
			continue;
		}
		struct nro_msg m;
		const char *why;
		if (nro_decode(&m, buf, len, &why) != 0) {
			rejected++;
			nro_warn("dropped a malformed record (%zu bytes): %s", len, why);
			continue;
		}
		if (*kinds && !strchr(kinds, m.hdr.kind))
			continue;
		nro_buf_reset(&out);
		int n = nro_render_msg_json(&out, &m);
		if (n < 0) {
			nro_warn("record too large to render; skipped");
			continue;
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
		if (write_all(out.p, out.len) != 0) {
			if (errno != EPIPE)
				nro_error("stdout: %s", strerror(errno));
			break;
		}
		printed += (uint64_t)n;
		if (max_count && printed >= max_count)
			break;
	}
	if (in.oversized) {
		nro_error("input lost its framing (a frame length of 0 or over 16 MiB)");
		status = 1;
	}
	if (in.truncated) {
		nro_error("input ended inside a record (truncated stream)");
		status = 1;
	}
	if (rejected) {
		nro_error("%llu malformed record(s) dropped", (unsigned long long)rejected);
		status = 1;
	}
	nro_buf_free(&out);
	nro_in_close(&in);
	return status;
}
