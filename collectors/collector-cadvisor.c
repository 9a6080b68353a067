/*
 * collector-cadvisor: polls the kubelet's /metrics/cadvisor and publishes
 * the container I/O, network, CFS throttling, memory, OOM and PSI samples
 * the analyzer's rules read (ContainerCPUThrottled, ContainerOOMKilled), as
 * metrics named as their series. The body (often megabytes) is streamed
 * through the parser: memory does not depend on its size.
 */
#include "run/promcollect.h"

#define KEEP                                                                                 \
	"container_cpu_usage_seconds_total, container_cpu_cfs_periods_total, "                   \
	"container_cpu_cfs_throttled_periods_total, container_cpu_cfs_throttled_seconds_total, " \
	"container_memory_working_set_bytes, container_memory_rss, container_memory_cache, "     \
	"container_memory_usage_bytes, container_oom_events_total, "                             \
	"container_spec_memory_limit_bytes, container_spec_cpu_quota, "                          \
	"container_spec_cpu_period, container_fs_reads_bytes_total, "                            \
	"container_fs_writes_bytes_total, container_fs_usage_bytes, container_fs_limit_bytes, "  \
	"container_network_receive_bytes_total, container_network_transmit_bytes_total, "        \
	"container_network_receive_errors_total, container_network_transmit_errors_total, "      \
	"container_network_receive_packets_dropped_total, "                                      \
	"container_network_transmit_packets_dropped_total, container_pressure_*, "               \
	"container_scrape_error, machine_cpu_cores, machine_memory_bytes"

int main(int argc, char **argv)
{
	return nro_promcollect_main(
		argc, argv, "collector-cadvisor",
		"Poll the kubelet's /metrics/cadvisor (RBAC: get on nodes/metrics) and publish\n"
		"each sample as a metric named as its series, labels as attributes\n"
		"(pre-1.16 container_name/pod_name become container/pod): container CPU,\n"
		"CFS throttling, memory, OOM events, filesystem and network I/O, PSI, and\n"
		"the machine's cores and memory. The body is streamed, never held whole.\n"
		"Default interval 15s.",
		"/metrics/cadvisor", KEEP, 15000);
}
