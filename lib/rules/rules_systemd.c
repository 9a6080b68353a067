/*
 * Service and runtime rules, judged from collector-systemd and
 * collector-runtime (to come): SystemdServiceFailed (kubelet, containerd or
 * crio not active, or restarting repeatedly) and ContainerRuntimeUnhealthy
 * (CRI RuntimeReady false or the socket unreachable).
 */
#include "rules/internal.h"

const struct rule_def rules_systemd[] = {
	{NULL},
};
