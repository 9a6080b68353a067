/*
 * The file readers of file.h. Ownership: nro_file_read hands its buffer to
 * the caller only on success (it frees it on failure); nro_read_file writes
 * only into the caller's buffer. Both close what they open.
 */
#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { FILL_EOF = 0, FILL_FULL = 1, FILL_ERROR = -1 };

/* The one read loop: reads fd into buf from *len on until its end
 * (FILL_EOF) or until *len reaches room (FILL_FULL), retrying EINTR;
 * FILL_ERROR with errno. */
static int fill(int fd, char *buf, size_t room, size_t *len)
{
	while (*len < room) {
		ssize_t r = read(fd, buf + *len, room - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return FILL_ERROR;
		if (r == 0)
			return FILL_EOF;
		*len += (size_t)r;
	}
	return FILL_FULL;
}

/* Opens path and checks it is a regular file of at most max bytes. */
static int open_capped(const char *path, size_t max, size_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	int e = 0;
	if (fstat(fd, &st) != 0)
		e = errno;
	else if (!S_ISREG(st.st_mode))
		e = EISDIR;
	else if ((uint64_t)st.st_size > max)
		e = EFBIG;
	if (e) {
		close(fd);
		errno = e;
		return -1;
	}
	*size = (size_t)st.st_size;
	return fd;
}

/* Reads fd (size bytes at fstat, at most max) into a heap buffer: room for
 * one byte more than expected tells a file that grew; it grows up to max + 1,
 * which only a file past max fills. 0 with *out, or -1 with errno. */
static int read_grow(int fd, size_t size, size_t max, char **out, size_t *outlen)
{
	size_t room = size + 1, len = 0;
	char *b = malloc(room + 1);
	if (!b) {
		errno = ENOMEM;
		return -1;
	}
	int st;
	while ((st = fill(fd, b, room, &len)) == FILL_FULL) {
		if (room > max) { /* the file grew since fstat, past max */
			errno = EFBIG;
			break;
		}
		size_t nroom = room * 2 > max + 1 ? max + 1 : room * 2;
		char *nb = realloc(b, nroom + 1);
		if (!nb) {
			errno = ENOMEM;
			break;
		}
		b = nb;
		room = nroom;
	}
	if (st != FILL_EOF) {
		int e = errno;
		free(b);
		errno = e;
		return -1;
	}
	b[len] = '\0';
	*out = b;
	*outlen = len;
	return 0;
}

int nro_file_read(const char *path, size_t max, char **out, size_t *outlen)
{
	size_t size;
	int fd = open_capped(path, max, &size);
	if (fd < 0)
		return -1;
	int rc = read_grow(fd, size, max, out, outlen);
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}

int nro_read_file(const char *path, char *buf, size_t cap, size_t *len, char *err,
		  size_t errlen)
{
	*len = 0;
	buf[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return e == ENOENT || e == ENOTDIR ? NRO_READ_MISSING : NRO_READ_ERROR;
	}
	size_t n = 0;
	int status = NRO_READ_OK;
	int st = fill(fd, buf, cap - 1, &n);
	if (st == FILL_ERROR) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		status = NRO_READ_ERROR;
	} else if (st == FILL_FULL) {
		/* one byte more than a full buffer tells "exactly cap - 1" from "more" */
		char extra;
		size_t k = 0;
		if (fill(fd, &extra, 1, &k) == FILL_FULL) {
			snprintf(err, errlen, "%s: larger than %zu bytes", path, cap - 1);
			status = NRO_READ_TOO_LARGE;
		}
	}
	close(fd);
	if (status != NRO_READ_OK)
		n = 0;
	buf[n] = '\0';
	*len = n;
	return status;
}

int nro_path_join(char *out, size_t outlen, const char *root, const char *path)
{
	size_t rl = strlen(root);
	while (rl > 1 && root[rl - 1] == '/')
		rl--;
	if (rl == 1 && root[0] == '/')
		rl = 0; /* "/" + "/stat" is "/stat" */
	int n = snprintf(out, outlen, "%.*s%s", (int)rl, root, path);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
