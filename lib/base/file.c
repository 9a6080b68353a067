#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Grows b to hold at least one more byte past len, never past max + 1. */
static int grow(char **b, size_t *cap, size_t len, size_t max)
{
	if (len + 1 < *cap)
		return 0;
	if (*cap > max) { /* the file grew since fstat, past max */
		errno = EFBIG;
		return -1;
	}
	size_t ncap = *cap * 2 > max + 1 ? max + 1 : *cap * 2;
	char *nb = realloc(*b, ncap);
	if (!nb) {
		errno = ENOMEM;
		return -1;
	}
	*b = nb;
	*cap = ncap;
	return 0;
}

int nro_file_read(const char *path, size_t max, char **out, size_t *outlen)
{
	size_t size;
	int fd = open_capped(path, max, &size);
	if (fd < 0)
		return -1;
	size_t cap = size + 1, len = 0;
	char *b = malloc(cap);
	int e = b ? 0 : ENOMEM;
	while (!e) {
		if (grow(&b, &cap, len, max) != 0) {
			e = errno;
			break;
		}
		ssize_t r = read(fd, b + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			e = errno;
		else if (r == 0)
			break;
		else
			len += (size_t)r;
	}
	close(fd);
	if (e) {
		free(b);
		errno = e;
		return -1;
	}
	b[len] = '\0';
	*out = b;
	*outlen = len;
	return 0;
}
