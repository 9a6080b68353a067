/*
 * collector-metrics: polls the kubelet's own /metrics and publishes the
 * self-metrics the analyzer's rules read (PLEG relist latency, runtime
 * operation errors, evictions, certificate TTLs, volume stats, build info),
 * as metrics named as their series. Kubelets before 1.16 exposed summaries
 * in microseconds (kubelet_pleg_relist_latency_microseconds, ...) and
 * counters without _total: those names are kept too.
 */
#include "run/promcollect.h"

#define KEEP                                                                                 \
	"kubelet_pleg_relist_duration_seconds, kubelet_pleg_relist_interval_seconds, "          \
	"kubelet_pleg_relist_latency_microseconds, kubelet_pleg_relist_interval_microseconds, " \
	"kubelet_pleg_last_seen_seconds, kubelet_pleg_discard_events, "                          \
	"kubelet_runtime_operations_errors_total, kubelet_runtime_operations_errors, "           \
	"kubelet_runtime_operations_duration_seconds, "                                          \
	"kubelet_runtime_operations_latency_microseconds, kubelet_runtime_operations_total, "    \
	"kubelet_runtime_operations, kubelet_docker_operations_errors_total, "                   \
	"kubelet_docker_operations_errors, kubelet_evictions, "                                  \
	"kubelet_pod_start_duration_seconds, kubelet_pod_start_latency_microseconds, "           \
	"kubelet_pod_worker_duration_seconds, kubelet_pod_worker_latency_microseconds, "         \
	"kubelet_running_pods, kubelet_running_pod_count, kubelet_running_containers, "          \
	"kubelet_running_container_count, kubelet_certificate_manager_client_ttl_seconds, "      \
	"kubelet_certificate_manager_server_ttl_seconds, "                                       \
	"kubelet_certificate_manager_client_expiration_seconds, kubelet_node_config_error, "     \
	"kubelet_node_name, kubelet_volume_stats_*, storage_operation_errors_total, "            \
	"storage_operation_status_count, kubernetes_build_info, process_resident_memory_bytes, " \
	"process_cpu_seconds_total, process_start_time_seconds"

int main(int argc, char **argv)
{
	return nro_promcollect_main(
		argc, argv, "collector-metrics",
		"Poll the kubelet's own /metrics (RBAC: get on nodes/metrics) and publish each\n"
		"sample as a metric named as its series, labels as attributes: PLEG relist\n"
		"duration and interval, runtime operation errors and latency, evictions, pod\n"
		"start and worker latency, running pods and containers, certificate TTLs,\n"
		"volume stats, storage errors, build info and the kubelet's own memory and\n"
		"CPU. Pre-1.16 names (summaries in microseconds, counters without _total)\n"
		"are kept too. Default interval 15s.",
		"/metrics", KEEP, 15000);
}
