/*
 * The names collector-systemd and collector-runtime publish and the
 * analyzer's rules read (SystemdServiceFailed, ContainerRuntimeUnhealthy,
 * NodeNetworkIssue, node_runtime_service_healthy). Each name is defined
 * here once; docs/records-vocabulary.md has the table.
 */
#ifndef NRO_NAMES_SERVICES_H
#define NRO_NAMES_SERVICES_H

/* ---- collector-systemd: one state per unit, object Service <unit> ---- */

/* value: ActiveState ("active", "failed", "activating", "inactive", ...);
 * num: NRestarts; since: ActiveEnterTimestamp (0 if never active). */
#define NRO_SYSTEMD_UNIT "systemd.unit"
/* attributes of NRO_SYSTEMD_UNIT */
#define NRO_SYSTEMD_ATTR_SUB_STATE "sub_state"   /* "running", "failed", "auto-restart", ... */
#define NRO_SYSTEMD_ATTR_LOAD_STATE "load_state" /* "loaded", "masked", ... */
#define NRO_SYSTEMD_ATTR_RESULT "result"         /* "success", "exit-code", "signal", ... */
#define NRO_SYSTEMD_ATTR_RESTARTS "restarts"     /* NRestarts, decimal (also num) */
#define NRO_SYSTEMD_ATTR_EXIT_CODE "exec_main_code"     /* CLD_*: 1 exited, 2 killed, 3 dumped */
#define NRO_SYSTEMD_ATTR_EXIT_STATUS "exec_main_status" /* exit status or signal number */
#define NRO_SYSTEMD_ATTR_HEALTHY "healthy"       /* "true" when active/running */

/* ---- collector-runtime: object Node <node> ---- */

/* "true" when Version and Status both answered; "false" otherwise, with
 * attr error = connect | timeout | protocol | grpc and attr message. */
#define NRO_CRI_REACHABLE "cri.reachable"
/* Every Status condition as cri.condition.<Type>: value "true"/"false",
 * num 1/0, attrs reason, message. A missing RuntimeReady or NetworkReady
 * is published "false" with reason NRO_CRI_REASON_MISSING (the kubelet
 * treats a missing condition as not ready). */
#define NRO_CRI_CONDITION_PREFIX "cri.condition."
#define NRO_CRI_RUNTIME_READY "cri.condition.RuntimeReady"
#define NRO_CRI_NETWORK_READY "cri.condition.NetworkReady"
#define NRO_CRI_REASON_MISSING "ConditionMissing"
/* value: runtime_name ("containerd"); attrs version, api_version. */
#define NRO_CRI_RUNTIME "cri.runtime"
/* attributes of the collector-runtime states */
#define NRO_CRI_ATTR_ENDPOINT "endpoint" /* "unix:///run/containerd/containerd.sock" */
#define NRO_CRI_ATTR_ERROR "error"
#define NRO_CRI_ATTR_MESSAGE "message"
#define NRO_CRI_ATTR_REASON "reason"
#define NRO_CRI_ATTR_VERSION "version"
#define NRO_CRI_ATTR_API_VERSION "api_version"
#define NRO_CRI_ATTR_GRPC_STATUS "grpc_status" /* decimal code, on error = grpc */

/* metric: seconds one call took, attrs rpc.service and rpc.method */
#define NRO_CRI_CALL_DURATION "cri.call.duration"

#endif
