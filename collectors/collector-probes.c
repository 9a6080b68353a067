/*
 * collector-probes: polls the kubelet's /metrics/probes and publishes each
 * sample as a metric: prober_probe_total{probe_type, result, namespace, pod,
 * container} (the ProbeFailing rule reads it) and, where the kubelet has it,
 * prober_probe_duration_seconds.
 */
#include "run/promcollect.h"

#define KEEP "prober_probe_total, prober_probe_duration_seconds"

int main(int argc, char **argv)
{
	return nro_promcollect_main(
		argc, argv, "collector-probes",
		"Poll the kubelet's /metrics/probes (RBAC: get on nodes/metrics) and publish\n"
		"each sample as a metric named as its series, labels as attributes:\n"
		"prober_probe_total{probe_type=Liveness|Readiness|Startup,\n"
		"result=successful|failed|unknown, namespace, pod, container} counts probe\n"
		"results per container. Default interval 10s.",
		"/metrics/probes", KEEP, 10000);
}
