/*
 * What the two replay servers (kubelet-replay, apiserver-replay) share: a
 * scenario's step directories and the current step, the /replay/step
 * endpoint, and bearer-token checks. Served through net/httpd.h; the
 * process skeleton around it (listen, print the URL, step on a timer until
 * SIGTERM) is run/serve.h.
 *
 * Threads: the step and the stopping flag are atomics, read by request
 * threads while the main thread (or a request) advances the step; the
 * directory list is written once by nro_replay_load, before serving.
 */
#ifndef NRO_REPLAY_H
#define NRO_REPLAY_H

#include <microhttpd.h>
#include <stdatomic.h>
#include <stddef.h>

#define NRO_REPLAY_STEPS_MAX 1000
#define NRO_REPLAY_TOKEN_MAX 4096 /* a token file is read whole */

struct nro_replay {
	char **step_dirs;   /* DIR/step-000, DIR/step-001, ...; owned */
	unsigned nsteps;    /* 0: no scenario (step stays 0) */
	int loop;           /* after the last step go back to step-000, else stay */
	atomic_uint step;   /* the current step */
	atomic_int stopping; /* set at shutdown: held requests end unanswered */
};

/* Lists dir's step-000, step-001, ... directories (up to the first one
 * missing, at most NRO_REPLAY_STEPS_MAX) into r, which the caller zeroed.
 * Returns 0 (r owns the list until nro_replay_free), or -1 with a one-line
 * reason in err ("DIR: not a directory", "DIR: no step-000 directory");
 * on failure r owns nothing. */
int nro_replay_load(struct nro_replay *r, const char *dir, char *err, size_t errlen);

/* Frees what nro_replay_load gave r (a zeroed r is fine). */
void nro_replay_free(struct nro_replay *r);

/* The current step. */
unsigned nro_replay_current(struct nro_replay *r);

/* Advances one step (stays at the last, or wraps to 0 with loop; stays 0
 * without steps) and returns the new step; logs it at debug when it moved. */
unsigned nro_replay_advance(struct nro_replay *r);

/* Answers /replay/step: POST or GET ?next advances one step, anything else
 * reads it; the body is the step number and a newline. */
enum MHD_Result nro_replay_step_reply(struct nro_replay *r, struct MHD_Connection *c,
				      const char *method);

/* Reads the token file at path (at most NRO_REPLAY_TOKEN_MAX bytes),
 * trimmed of surrounding white space, into a heap string the caller wipes
 * and frees (nro_replay_token_free). Returns 0, or -1 with errno (EINVAL:
 * the file holds only white space); *tok is untouched on failure. */
int nro_replay_token_read(const char *path, char **tok, size_t *len);

/* Wipes and frees tok (NULL is fine). */
void nro_replay_token_free(char *tok, size_t len);

/* The token of the request's "Authorization: Bearer TOKEN" header (the
 * scheme in any case, leading spaces skipped), pointing into c's headers,
 * or NULL when there is none. */
const char *nro_replay_bearer(struct MHD_Connection *c);

/* Compares a presented token with an expected one in constant time: 1 when
 * they are equal. */
int nro_replay_token_eq(const char *a, size_t alen, const char *b, size_t blen);

/* Removes leading and trailing white space (space, tab, CR, LF) in place. */
void nro_replay_trim(char *s);

#endif
