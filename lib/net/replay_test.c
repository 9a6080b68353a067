#include "net/replay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/testing.h"

static char tmp[] = "/tmp/replay_test.XXXXXX";

static void mkstep(const char *name)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", tmp, name);
	mkdir(p, 0700);
}

static void put(const char *name, const char *text)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", tmp, name);
	FILE *f = fopen(p, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

TEST(load_refuses_a_missing_or_empty_scenario)
{
	struct nro_replay r = {0};
	char err[300];
	CHECK(nro_replay_load(&r, "/nonexistent/x", err, sizeof err) == -1);
	CHECK_STR(err, "/nonexistent/x: not a directory");
	CHECK(nro_replay_load(&r, tmp, err, sizeof err) == -1);
	CHECK(strstr(err, ": no step-000 directory") != NULL);
	CHECK(r.nsteps == 0 && r.step_dirs == NULL);
}

TEST(load_lists_steps_up_to_the_first_gap)
{
	mkstep("step-000");
	mkstep("step-001");
	mkstep("step-003");
	struct nro_replay r = {0};
	char err[300];
	CHECK(nro_replay_load(&r, tmp, err, sizeof err) == 0);
	CHECK(r.nsteps == 2);
	char want[256];
	snprintf(want, sizeof want, "%s/step-001", tmp);
	CHECK_STR(r.step_dirs[1], want);
	nro_replay_free(&r);
}

TEST(advance_stops_at_the_last_or_loops)
{
	struct nro_replay r = {.nsteps = 3};
	CHECK(nro_replay_advance(&r) == 1);
	CHECK(nro_replay_advance(&r) == 2);
	CHECK(nro_replay_advance(&r) == 2);
	r.loop = 1;
	CHECK(nro_replay_advance(&r) == 0);
	CHECK(nro_replay_current(&r) == 0);
	struct nro_replay none = {0};
	CHECK(nro_replay_advance(&none) == 0);
}

TEST(tokens_are_trimmed_and_compared)
{
	put("tok", "  s3cret \n");
	put("blank", " \n\t");
	char p[256], *tok = NULL;
	size_t n = 0;
	snprintf(p, sizeof p, "%s/tok", tmp);
	CHECK(nro_replay_token_read(p, &tok, &n) == 0);
	CHECK_STR(tok, "s3cret");
	CHECK(n == 6);
	CHECK(nro_replay_token_eq("s3cret", 6, tok, n));
	CHECK(!nro_replay_token_eq("s3cre", 5, tok, n));
	CHECK(!nro_replay_token_eq("s3creT", 6, tok, n));
	nro_replay_token_free(tok, n);
	snprintf(p, sizeof p, "%s/blank", tmp);
	CHECK(nro_replay_token_read(p, &tok, &n) == -1 && errno == EINVAL);
	char s[] = "\t a b \r\n";
	nro_replay_trim(s);
	CHECK_STR(s, "a b");
}

int main(void)
{
	if (!mkdtemp(tmp))
		return 1;
	RUN(load_refuses_a_missing_or_empty_scenario);
	RUN(load_lists_steps_up_to_the_first_gap);
	RUN(advance_stops_at_the_last_or_loops);
	RUN(tokens_are_trimmed_and_compared);
	testing_rm_rf(tmp);
	return testing_done();
}
