#include "wire/alerts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "wire/record.h"
#include "wire/transport.h"

int nro_alerts_write(const char *path, const uint8_t *rec, size_t len, char *err, size_t errlen)
{
	char tmp[4300];
	int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	unlink(tmp); /* whatever is there, a planted symlink included */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	int rc = len ? nro_write_all(fd, rec, len) : 0;
	int saved = errno;
	if (close(fd) != 0 && rc == 0) {
		rc = -1;
		saved = errno;
	}
	if (rc == 0 && rename(tmp, path) != 0) {
		rc = -1;
		saved = errno;
	}
	if (rc != 0) {
		unlink(tmp);
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
	}
	return rc;
}

int nro_alerts_read(const char *path, struct nro_buf *out, char *err, size_t errlen)
{
	nro_buf_reset(out);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	char chunk[65536];
	ssize_t r;
	while ((r = read(fd, chunk, sizeof chunk)) > 0)
		if (nro_buf_add(out, chunk, (size_t)r) != 0) {
			close(fd);
			snprintf(err, errlen, "%s: larger than %zu bytes", path, out->max);
			return -1;
		}
	int saved = errno;
	close(fd);
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
		return -1;
	}
	if (out->len == 0)
		return 1;
	struct nro_msg m;
	const char *why = NULL;
	if (nro_decode(&m, (const uint8_t *)out->p, out->len, &why) != 0 ||
	    m.hdr.kind != NRO_KIND_EVENT || !nro_str_eq(m.hdr.source, "analyzer")) {
		snprintf(err, errlen, "%s: not an alerts file (%s)", path,
			 why ? why : "not the analyzer's event record");
		nro_buf_reset(out);
		return -1;
	}
	return 1;
}
