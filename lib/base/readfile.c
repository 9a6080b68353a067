#include "base/readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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
	for (;;) {
		/* one byte more than a full buffer tells "exactly cap - 1" from "more" */
		if (n == cap - 1) {
			char extra;
			ssize_t r = read(fd, &extra, 1);
			if (r > 0) {
				snprintf(err, errlen, "%s: larger than %zu bytes", path, cap - 1);
				status = NRO_READ_TOO_LARGE;
			}
			break;
		}
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			status = NRO_READ_ERROR;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
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
