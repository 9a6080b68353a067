/*
 * The replay servers' shared scenario stepping and token checks of
 * replay.h. Ownership: nro_replay_load owns the step directory names until
 * nro_replay_free; nro_replay_token_read hands its string to the caller.
 */
#include "net/replay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "base/file.h"
#include "base/log.h"
#include "net/httpd.h"

#define TEXT "text/plain; charset=utf-8"

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int nro_replay_load(struct nro_replay *r, const char *dir, char *err, size_t errlen)
{
	if (!is_dir(dir)) {
		snprintf(err, errlen, "%s: not a directory", dir);
		return -1;
	}
	r->step_dirs = calloc(NRO_REPLAY_STEPS_MAX, sizeof *r->step_dirs);
	if (!r->step_dirs) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (unsigned i = 0; i < NRO_REPLAY_STEPS_MAX; i++) {
		size_t n = strlen(dir) + sizeof "/step-000" + 8;
		char *p = malloc(n);
		if (!p) {
			snprintf(err, errlen, "out of memory");
			nro_replay_free(r);
			return -1;
		}
		snprintf(p, n, "%s/step-%03u", dir, i);
		if (!is_dir(p)) {
			free(p);
			break;
		}
		r->step_dirs[r->nsteps++] = p;
	}
	if (r->nsteps == 0) {
		snprintf(err, errlen, "%s: no step-000 directory", dir);
		nro_replay_free(r);
		return -1;
	}
	return 0;
}

void nro_replay_free(struct nro_replay *r)
{
	for (unsigned i = 0; i < r->nsteps; i++)
		free(r->step_dirs[i]);
	free(r->step_dirs);
	r->step_dirs = NULL;
	r->nsteps = 0;
}

unsigned nro_replay_current(struct nro_replay *r)
{
	return atomic_load(&r->step);
}

unsigned nro_replay_advance(struct nro_replay *r)
{
	if (r->nsteps == 0)
		return 0;
	unsigned cur = atomic_load(&r->step), next;
	do {
		next = cur + 1;
		if (next >= r->nsteps)
			next = r->loop ? 0 : r->nsteps - 1;
	} while (!atomic_compare_exchange_weak(&r->step, &cur, next));
	if (next != cur)
		nro_debug("step %u", next);
	return next;
}

enum MHD_Result nro_replay_step_reply(struct nro_replay *r, struct MHD_Connection *c,
				      const char *method)
{
	unsigned s;
	if (strcmp(method, "POST") == 0 ||
	    MHD_lookup_connection_value_n(c, MHD_GET_ARGUMENT_KIND, "next", 4, NULL, NULL) == MHD_YES)
		s = nro_replay_advance(r);
	else
		s = nro_replay_current(r);
	char msg[32];
	snprintf(msg, sizeof msg, "%u\n", s);
	return nro_httpd_reply(c, MHD_HTTP_OK, TEXT, msg);
}

int nro_replay_token_read(const char *path, char **tok, size_t *len)
{
	char *s;
	size_t n;
	if (nro_file_read(path, NRO_REPLAY_TOKEN_MAX, &s, &n) != 0)
		return -1;
	nro_replay_trim(s);
	if (!s[0]) {
		free(s);
		errno = EINVAL;
		return -1;
	}
	*tok = s;
	*len = strlen(s);
	return 0;
}

void nro_replay_token_free(char *tok, size_t len)
{
	if (!tok)
		return;
	explicit_bzero(tok, len);
	free(tok);
}

const char *nro_replay_bearer(struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!h || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	const char *tok = h + 7;
	while (*tok == ' ')
		tok++;
	return tok;
}

int nro_replay_token_eq(const char *a, size_t alen, const char *b, size_t blen)
{
	unsigned char d = alen != blen;
	size_t n = alen < blen ? alen : blen;
	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

void nro_replay_trim(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	size_t lead = strspn(s, " \t\r\n");
	if (lead)
		memmove(s, s + lead, n - lead + 1);
}
