/*
 * collector-resource: polls the kubelet's /metrics/resource (what
 * metrics-server reads) and publishes each sample as a metric: node, pod
 * and container CPU and memory, and the scrape errors.
 */
#include "run/promcollect.h"

/* every family of this endpoint (1.18+) */
#define KEEP "all"

int main(int argc, char **argv)
{
	return nro_promcollect_main(
		argc, argv, "collector-resource",
		"Poll the kubelet's /metrics/resource (RBAC: get on nodes/metrics) and publish\n"
		"each sample as a metric named as its series, labels as attributes:\n"
		"node_cpu_usage_seconds_total, node_memory_working_set_bytes,\n"
		"pod_cpu_usage_seconds_total, pod_memory_working_set_bytes,\n"
		"container_cpu_usage_seconds_total, container_memory_working_set_bytes,\n"
		"container_start_time_seconds, node/pod swap where present, scrape_error and\n"
		"resource_scrape_error, with the kubelet's millisecond timestamps.\n"
		"Default interval 15s.",
		"/metrics/resource", KEEP, 15000);
}
