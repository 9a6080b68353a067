/*
 * Reading a small file whole, with a hard cap, two ways over one read loop:
 * into a heap buffer (certificates, tokens, fixtures: nro_file_read), or
 * into a caller's buffer (kernel files under /proc and /sys, whose size
 * stat does not tell: nro_read_file). A file past the cap is refused rather
 * than cut, so a parser never sees half a table.
 */
#ifndef NRO_FILE_H
#define NRO_FILE_H

#include <stddef.h>

/* Reads the regular file at path, at most max bytes, into a NUL-terminated
 * heap buffer the caller frees. Returns 0, or -1 with errno (EFBIG past
 * max, EISDIR for a non-regular file); *out is untouched on failure. */
int nro_file_read(const char *path, size_t max, char **out, size_t *outlen);

enum nro_read_status {
	NRO_READ_OK = 0,
	NRO_READ_MISSING = -1,   /* ENOENT/ENOTDIR: normal (older kernel, module not loaded) */
	NRO_READ_ERROR = -2,     /* any other open/read error (err says which) */
	NRO_READ_TOO_LARGE = -3, /* longer than cap - 1 bytes */
};

/* Reads path into buf (cap bytes, at least 1) and NUL-terminates it; *len is
 * the byte count. Returns an nro_read_status; on failure err holds a one-line
 * reason naming the path and buf holds an empty string. Never blocks on a
 * regular /proc or /sys file; retries EINTR. */
int nro_read_file(const char *path, char *buf, size_t cap, size_t *len, char *err,
		  size_t errlen);

/* Joins root and a path starting with '/' into out ("/host/proc" + "/stat");
 * returns 0, or -1 if it does not fit. */
int nro_path_join(char *out, size_t outlen, const char *root, const char *path);

#endif
