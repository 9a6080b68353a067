#include "net/authz.h"

#include <string.h>

const char *nro_kubelet_subresource(const char *path)
{
	if (!path)
		return "nodes/proxy";
	while (*path == '/')
		path++;
	size_t n = strcspn(path, "/?");
	if (n == 5 && strncmp(path, "stats", 5) == 0)
		return "nodes/stats";
	if (n == 7 && strncmp(path, "metrics", 7) == 0)
		return "nodes/metrics";
	return "nodes/proxy";
}

const char *nro_kubelet_fine_grained(const char *path)
{
	while (*path == '/')
		path++;
	size_t n = strcspn(path, "/?");
	if (n == 4 && strncmp(path, "pods", 4) == 0)
		return "nodes/pods";
	if (n == 7 && strncmp(path, "healthz", 7) == 0)
		return "nodes/healthz";
	if (n == 7 && strncmp(path, "configz", 7) == 0)
		return "nodes/configz";
	return NULL;
}
