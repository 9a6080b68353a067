#include "run/nodename.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int nro_node_name_ok(const char *name, size_t len)
{
	if (len == 0 || len > NRO_NODE_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char ch = name[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.'))
			return 0;
	}
	return 1;
}

static int node_path(char *out, size_t outlen, const char *run_dir, const char *leaf)
{
	int n = snprintf(out, outlen, "%s/%s", run_dir, leaf);
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

int nro_node_read(const char *run_dir, char *out, size_t outlen)
{
	char path[4200], buf[NRO_NODE_MAX + 2];
	out[0] = '\0';
	if (!run_dir || node_path(path, sizeof path, run_dir, NRO_NODE_FILE) != 0)
		return -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf);
	close(fd);
	if (n <= 0)
		return -1;
	size_t len = (size_t)n;
	if (buf[len - 1] == '\n')
		len--;
	if (!nro_node_name_ok(buf, len) || len >= outlen)
		return -1;
	memcpy(out, buf, len);
	out[len] = '\0';
	return 0;
}

/* Writes name to a temporary file and links it into place: EEXIST means
 * another process was first, which is fine. 0, or -1 with errno. */
static int publish(const char *run_dir, const char *name, size_t len)
{
	char path[4200], tmp[4300], line[NRO_NODE_MAX + 1];
	if (node_path(path, sizeof path, run_dir, NRO_NODE_FILE) != 0 ||
	    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof tmp)
		return -1;
	if (mkdir(run_dir, 0700) != 0 && errno != EEXIST)
		return -1;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	memcpy(line, name, len);
	line[len] = '\n';
	/* one small write to a fresh file: short only on a full disk */
	int rc = write(fd, line, len + 1) == (ssize_t)(len + 1) ? 0 : -1;
	rc |= close(fd);
	if (rc == 0 && link(tmp, path) != 0 && errno != EEXIST)
		rc = -1;
	int saved = errno;
	unlink(tmp);
	errno = saved;
	return rc;
}

int nro_node_share(const char *run_dir, const char *name, size_t len, char *out, size_t outlen)
{
	if (nro_node_read(run_dir, out, outlen) == 0)
		return 0;
	int rc = -1;
	if (run_dir && nro_node_name_ok(name, len) && publish(run_dir, name, len) == 0)
		rc = nro_node_read(run_dir, out, outlen);
	if (rc != 0)
		snprintf(out, outlen, "%.*s", (int)len, name);
	return rc;
}
