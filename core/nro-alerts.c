/*
 * nro-alerts: what is firing now, then exit. Reads the analyzer's alerts
 * file ($NRO_RUN_DIR/alerts, docs/alerts-file.md): one line per firing
 * alert, then "N alerts firing" ("0 alerts firing" on a healthy node).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "render/render.h"
#include "run/tool.h"
#include "wire/alerts.h"
#include "wire/record.h"
#include "wire/transport.h"

static const char *file, *format;

static const struct nro_optdef opts[] = {
	{"file", 0, "NRO_ALERTS_FILE", NRO_OPT_STR, &file, NULL, "PATH",
	 "the analyzer's alerts file (default $NRO_RUN_DIR/alerts)"},
	{"format", 0, "NRO_FORMAT", NRO_OPT_STR, &format, NULL, "text|json",
	 "text lines (default on a terminal) or JSON lines (default otherwise)"},
	{NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
};

/* Renders every firing alert of rec into out; returns how many. */
static int render_all(struct nro_buf *out, const struct nro_buf *rec, int json)
{
	struct nro_msg m;
	if (!rec->len || nro_decode(&m, (const uint8_t *)rec->p, rec->len, NULL) != 0)
		return 0;
	int n = json ? nro_render_msg_json(out, &m) : nro_render_msg_text(out, &m, 0);
	return n < 0 ? 0 : n;
}

int main(int argc, char **argv)
{
	struct nro_tool t;
	nro_tool_init(&t, "nro-alerts",
		      "Print the alerts firing now, from the analyzer's alerts file, then exit:\n"
		      "one line each, then \"N alerts firing\". Exit 0; 111 when there is no\n"
		      "alerts file (the analyzer has not run on this run directory); 102 when\n"
		      "the file does not decode.",
		      NRO_TOOL_ONESHOT | NRO_TOOL_RUNDIR, 0, opts, argc, argv);
	int json = format ? strcmp(format, "json") == 0 : !isatty(STDOUT_FILENO);
	if (format && !json && strcmp(format, "text") != 0)
		nro_die(NRO_EXIT_USAGE, "--format: unknown format '%s' (want text or json)", format);
	char path[4200], err[512];
	snprintf(path, sizeof path, "%s/%s", t.run_dir, NRO_ALERTS_FILE);
	const char *p = file ? file : path;
	struct nro_buf rec, out;
	nro_buf_init(&rec, NRO_MSG_MAX);
	nro_buf_init(&out, 64u << 20);
	int rc = nro_alerts_read(p, &rec, err, sizeof err);
	if (rc == 0)
		nro_die(NRO_EXIT_TEMP, "no alerts file at %s: is the analyzer running on this run "
			"directory (--run-dir, NRO_RUN_DIR)?", p);
	if (rc < 0)
		nro_die(NRO_EXIT_DATA, "%s", err);
	int n = render_all(&out, &rec, json);
	if (out.len && nro_write_all(STDOUT_FILENO, out.p, out.len) != 0)
		nro_die(NRO_EXIT_TEMP, "cannot write to standard output");
	if (!json)
		printf("%d alert%s firing\n", n, n == 1 ? "" : "s");
	else if (n == 0)
		fprintf(stderr, "0 alerts firing\n");
	nro_buf_free(&rec);
	nro_buf_free(&out);
	return 0;
}
