#include "run/nodename.h"
#include "run/tool.h"
#include "wire/record.h"

#include <stdio.h>
#include <unistd.h>

#include <stdlib.h>
#include <string.h>

#include "base/testing.h"

TEST(durations)
{
	int64_t ms = -1;
	CHECK(nro_parse_duration("500ms", &ms) == 0 && ms == 500);
	CHECK(nro_parse_duration("15s", &ms) == 0 && ms == 15000);
	CHECK(nro_parse_duration("5m", &ms) == 0 && ms == 300000);
	CHECK(nro_parse_duration("1h", &ms) == 0 && ms == 3600000);
	CHECK(nro_parse_duration("1m30s", &ms) == 0 && ms == 90000);
	CHECK(nro_parse_duration("1h2m3s4ms", &ms) == 0 && ms == 3723004);
	CHECK(nro_parse_duration("0", &ms) == 0 && ms == 0);
	const char *bad[] = {"", "15", "s", "-1s", "1.5s", "15 s", "15S", "1d", "ms", "1mss",
			     "99999999999999999999s", "9223372036854775807h", NULL};
	for (int i = 0; bad[i]; i++) {
		ms = 42;
		if (nro_parse_duration(bad[i], &ms) != -1) {
			fprintf(stderr, "accepted bad duration '%s'\n", bad[i]);
			CHECK(0);
		}
		CHECK(ms == 42); /* untouched on failure */
	}
}

TEST(unsigned_numbers)
{
	uint64_t v = 0;
	CHECK(nro_parse_u64("0", &v) == 0 && v == 0);
	CHECK(nro_parse_u64("18446744073709551615", &v) == 0 && v == UINT64_MAX);
	CHECK(nro_parse_u64("18446744073709551616", &v) == -1);
	CHECK(nro_parse_u64("12a", &v) == -1);
	CHECK(nro_parse_u64("", &v) == -1);
	CHECK(nro_parse_u64("-1", &v) == -1);
}

static int set_calls;
static char set_last[64];

static int on_set(void *dst, const char *value, char *err, size_t errlen)
{
	(void)dst;
	if (!strchr(value, '=')) {
		snprintf(err, errlen, "want KEY=VALUE");
		return -1;
	}
	set_calls++;
	snprintf(set_last, sizeof set_last, "%s", value);
	return 0;
}

TEST(env_then_flags)
{
	const char *extra_str = NULL;
	int64_t extra_dur = 0;
	const struct nro_optdef extra[] = {
		{"thing", 0, "NRO_TEST_THING", NRO_OPT_STR, &extra_str, NULL, "X", "a thing"},
		{"grace", 0, "NRO_TEST_GRACE", NRO_OPT_DUR, &extra_dur, NULL, "D", "grace"},
		{"set", 0, "NRO_TEST_SET", NRO_OPT_FUNC, NULL, on_set, "K=V", "set"},
		{NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
	};
	setenv("NRO_KUBELET_URL", "https://10.0.0.1:10250", 1);
	setenv("NRO_INTERVAL", "30s", 1);
	setenv("NRO_TIMEOUT", "2s", 1);
	setenv("NRO_INSECURE_SKIP_VERIFY", "1", 1);
	setenv("NRO_TEST_THING", "from-env", 1);
	setenv("NRO_TEST_GRACE", "1m", 1);
	setenv("NRO_TEST_SET", "a=1,b=2", 1);
	setenv("NRO_RUN_DIR", "/tmp/nro-x", 1);
	char *argv[] = {"prog", "--interval", "5s", "--thing=from-flag", "-o", "-", "--set",
			"c=3", "--once", "--node", "n9", NULL};
	struct nro_tool t;
	nro_tool_init(&t, "prog", "test", NRO_COMMON_KUBELET | NRO_COMMON_POLL | NRO_COMMON_OUTPUT,
		      15000, extra, 11, argv);
	CHECK_STR(t.kubelet.url, "https://10.0.0.1:10250");
	CHECK(t.interval_ms == 5000); /* flag beats env */
	CHECK(t.kubelet.timeout_ms == 2000);
	CHECK(t.kubelet.insecure == 1);
	CHECK(t.once == 1);
	CHECK_STR(t.output, "-");
	CHECK_STR(extra_str, "from-flag");
	CHECK(extra_dur == 60000);
	CHECK(set_calls == 3);
	CHECK_STR(set_last, "c=3");
	CHECK_STR(nro_tool_node(&t), "n9");
	CHECK_STR(nro_records_addr(&t), "ipc:///tmp/nro-x/records.ipc");
	CHECK_STR(nro_events_addr(&t), "ipc:///tmp/nro-x/events.ipc");
	unsetenv("NRO_KUBELET_URL");
	unsetenv("NRO_INTERVAL");
	unsetenv("NRO_TIMEOUT");
	unsetenv("NRO_INSECURE_SKIP_VERIFY");
	unsetenv("NRO_TEST_SET");
}

TEST(defaults)
{
	char *argv[] = {"prog", NULL};
	struct nro_tool t;
	unsetenv("NRO_RUN_DIR");
	nro_tool_init(&t, "prog", "test", NRO_COMMON_KUBELET | NRO_COMMON_POLL, 10000, NULL, 1,
		      argv);
	CHECK_STR(t.kubelet.url, "https://127.0.0.1:10250");
	CHECK(t.kubelet.timeout_ms == 5000);
	CHECK(t.interval_ms == 10000);
	CHECK(t.once == 0 && t.ready_fd == -1);
	CHECK_STR(t.run_dir, "/run/nro");
}

TEST(schedule_is_drift_free)
{
	struct nro_sched s;
	nro_sched_init(&s, 1000, 5000);
	/* polls that take varying time still tick on the 1 s grid */
	CHECK(nro_sched_advance(&s, 5300) == 6000);
	CHECK(nro_sched_advance(&s, 6999) == 7000);
	CHECK(nro_sched_advance(&s, 7001) == 8000);
	/* fell 3.5 intervals behind: skip missed ticks, keep the phase */
	CHECK(nro_sched_advance(&s, 11500) == 12000);
	CHECK(nro_sched_advance(&s, 12000) == 13000);
}

/* One row per cause of README "Exit codes". */
TEST(exit_code_table)
{
	static const struct {
		uint16_t err;
		long http;
		int config, want;
	} rows[] = {
		{NRO_ERR_AUTH, 401, 0, 100},	  {NRO_ERR_AUTH, 403, 0, 100},
		{NRO_ERR_AUTH, 0, 1, 100},	  /* token file unreadable */
		{NRO_ERR_TOO_LARGE, 200, 0, 100}, {NRO_ERR_NOT_SERVED, 404, 0, 101},
		{NRO_ERR_PARSE, 200, 0, 102},	  {NRO_ERR_HTTP, 400, 0, 100},
		{NRO_ERR_HTTP, 500, 0, 111},	  {NRO_ERR_HTTP, 503, 0, 111},
		{NRO_ERR_TLS, 0, 1, 100},	  /* the CA does not verify, no TLS */
		{NRO_ERR_TLS, 0, 0, 111},	  /* reset during the handshake */
		{NRO_ERR_CONNECT, 0, 0, 111},	  {NRO_ERR_TIMEOUT, 0, 0, 111},
		{NRO_ERR_TRUNCATED, 200, 0, 111}, {NRO_ERR_OTHER, 0, 0, 111},
	};
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct nro_fetch res = {.err = rows[i].err, .http_status = rows[i].http,
					.config_error = rows[i].config};
		CHECK(nro_exit_for_fetch(&res) == rows[i].want);
	}
}

TEST(durations_print_as_typed)
{
	char b[32];
	nro_fmt_duration(b, sizeof b, 15000);
	CHECK_STR(b, "15s");
	nro_fmt_duration(b, sizeof b, 300000);
	CHECK_STR(b, "5m");
	nro_fmt_duration(b, sizeof b, 5400000);
	CHECK_STR(b, "1h30m");
	nro_fmt_duration(b, sizeof b, 250);
	CHECK_STR(b, "250ms");
}

TEST(node_name_first_writer_wins)
{
	char dir[] = "/tmp/nro-nodename.XXXXXX", out[256];
	CHECK(mkdtemp(dir) != NULL);
	char run[300];
	snprintf(run, sizeof run, "%s/run", dir); /* made on first share */
	CHECK(nro_node_read(run, out, sizeof out) == -1 && out[0] == '\0');
	CHECK(nro_node_share(run, "node-a", 6, out, sizeof out) == 0);
	CHECK_STR(out, "node-a");
	/* a second learner is handed the first name, and the file is not replaced */
	CHECK(nro_node_share(run, "node-b", 6, out, sizeof out) == 0);
	CHECK_STR(out, "node-a");
	CHECK(nro_node_read(run, out, sizeof out) == 0);
	CHECK_STR(out, "node-a");
	/* what is not a node name is never shared or read */
	CHECK(nro_node_name_ok("Node_A", 6) == 0 && nro_node_name_ok("", 0) == 0);
	char path[400];
	snprintf(path, sizeof path, "%s/node-name", run);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs("not a name!\n", f);
	fclose(f);
	CHECK(nro_node_read(run, out, sizeof out) == -1);
	unlink(path);
	rmdir(run);
	rmdir(dir);
}

int main(void)
{
	RUN(durations);
	RUN(unsigned_numbers);
	RUN(env_then_flags);
	RUN(defaults);
	RUN(schedule_is_drift_free);
	RUN(exit_code_table);
	RUN(durations_print_as_typed);
	RUN(node_name_first_writer_wins);
	return testing_done();
}
