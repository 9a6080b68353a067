/*
 * The names collectors publish and the analyzer's rules read: state keys,
 * metric names and attribute keys, defined once (docs/records-vocabulary.md
 * says what each means). A collector that emits one of these and a rule
 * that reads it both use the macro, so the two cannot drift apart.
 */
#ifndef NRO_NAMES_H
#define NRO_NAMES_H

/* ---- attribute keys (OpenTelemetry names) ---- */
#define NRO_A_NODE "k8s.node.name"
#define NRO_A_NAMESPACE "k8s.namespace.name"
#define NRO_A_POD "k8s.pod.name"
#define NRO_A_POD_UID "k8s.pod.uid"
#define NRO_A_CONTAINER "k8s.container.name"
#define NRO_A_VOLUME "k8s.volume.name"
#define NRO_A_PVC "k8s.persistentvolumeclaim.name"
#define NRO_A_REASON "reason"
#define NRO_A_INIT "init"
#define NRO_A_SOURCE "source"
/* Prometheus labels of the kubelet's own endpoints (cadvisor, probes) */
#define NRO_L_NAMESPACE "namespace"
#define NRO_L_POD "pod"
#define NRO_L_CONTAINER "container"
#define NRO_L_POD_UID "pod_uid" /* /metrics/probes */

/* ---- node states: collector-healthz, -syncloop, -configz ---- */
#define NRO_K_HEALTHZ "kubelet.healthz"
#define NRO_K_HEALTHZ_CHECK "kubelet.healthz." /* + the check's name */
#define NRO_K_HEALTHZ_SYNCLOOP "kubelet.healthz.syncloop"
#define NRO_K_SYNCLOOP "kubelet.syncloop"
#define NRO_K_EVICTION_HARD "kubelet.eviction.hard." /* + the signal */
#define NRO_K_EVICTION "kubelet.eviction."           /* + hard|soft . signal */
#define NRO_K_CONFIG "kubelet.config"                /* + .dotted.path */
#define NRO_K_CONFIG_MAX_PODS "kubelet.config.maxPods"
#define NRO_K_CONFIG_EVICTION_TRANSITION "kubelet.config.evictionPressureTransitionPeriod" /* num: s */

/* ---- pod and container states: collector-pods ---- */
#define NRO_K_POD_PHASE "pod.phase"
#define NRO_K_POD_READY "pod.ready"
#define NRO_K_CTR_STATE "container.state"
#define NRO_K_CTR_READY "container.ready"
#define NRO_K_CTR_RESTARTS "container.restarts"
#define NRO_K_CTR_LAST_TERM "container.last_termination"

/* ---- metrics: collector-summary (kubeletstats receiver names) ---- */
#define NRO_M_NODE_MEM_AVAILABLE "k8s.node.memory.available"
#define NRO_M_NODE_MEM_WORKING_SET "k8s.node.memory.working_set"
#define NRO_M_NODE_FS_AVAILABLE "k8s.node.filesystem.available"
#define NRO_M_NODE_FS_CAPACITY "k8s.node.filesystem.capacity"
#define NRO_M_NODE_FS_INODES_FREE "k8s.node.filesystem.inodes.free"
#define NRO_M_NODE_FS_INODES "k8s.node.filesystem.inodes"
#define NRO_M_NODE_IMAGEFS_AVAILABLE "k8s.node.imagefs.available"
#define NRO_M_NODE_IMAGEFS_CAPACITY "k8s.node.imagefs.capacity"
#define NRO_M_NODE_IMAGEFS_INODES_FREE "k8s.node.imagefs.inodes.free"
#define NRO_M_NODE_IMAGEFS_INODES "k8s.node.imagefs.inodes"
#define NRO_M_NODE_MAXPID "k8s.node.rlimit.maxpid"
#define NRO_M_NODE_CURPROC "k8s.node.rlimit.curproc"
#define NRO_M_NODE_CPU_USAGE "k8s.node.cpu.usage"
#define NRO_M_NODE_NET_ERRORS "k8s.node.network.errors" /* interface, direction */
#define NRO_M_POD_FS_USAGE "k8s.pod.filesystem.usage"  /* ephemeral storage used */
#define NRO_M_CTR_MEM_WORKING_SET "container.memory.working_set"
#define NRO_M_CTR_ROOTFS_USAGE "container.filesystem.usage"
#define NRO_M_CTR_LOGS_USAGE "container.logs.usage"
#define NRO_M_VOL_AVAILABLE "k8s.volume.available"
#define NRO_M_VOL_CAPACITY "k8s.volume.capacity"

/* ---- metrics: collector-pods (from the pod spec) ---- */
#define NRO_M_CTR_CPU_LIMIT "k8s.container.cpu_limit"
#define NRO_M_CTR_MEM_LIMIT "k8s.container.memory_limit"
#define NRO_M_CTR_EPHEMERAL_LIMIT "k8s.container.ephemeral_storage_limit"

/* ---- metrics: collector-spec, -cadvisor, -metrics, -probes (series names) ---- */
#define NRO_M_MACHINE_CPU_CORES "machine_cpu_cores"
#define NRO_M_CFS_PERIODS "container_cpu_cfs_periods_total"
#define NRO_M_CFS_THROTTLED "container_cpu_cfs_throttled_periods_total"
#define NRO_M_SPEC_MEM_LIMIT "container_spec_memory_limit_bytes"
#define NRO_M_PLEG_LAST_SEEN "kubelet_pleg_last_seen_seconds"
#define NRO_M_PLEG_RELIST_BUCKET "kubelet_pleg_relist_duration_seconds_bucket" /* le */
#define NRO_M_CERT_CLIENT_TTL "kubelet_certificate_manager_client_ttl_seconds"
#define NRO_M_CERT_SERVER_TTL "kubelet_certificate_manager_server_ttl_seconds"
#define NRO_M_EVICTIONS "kubelet_evictions" /* eviction_signal */
#define NRO_M_RUNTIME_ERRORS "kubelet_runtime_operations_errors_total" /* operation_type */
#define NRO_M_RUNTIME_ERRORS_OLD "kubelet_runtime_operations_errors"  /* before 1.14 */
#define NRO_M_PROBE_TOTAL "prober_probe_total" /* probe_type, result */

#endif
