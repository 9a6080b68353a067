/*
 * The state keys collector-apiserver publishes: the API server's view of
 * this node, in the kubelet collectors' vocabulary (values as collector-pods
 * writes them: phases, waiting/running/terminated, restart counts) under
 * keys of their own, so the analyzer keeps both views side by side. Every
 * state carries the attribute source=apiserver; pod and container states
 * also k8s.pod.uid, the UID the kubelet knows the pod by (for a static
 * pod's mirror, its kubernetes.io/config.mirror annotation).
 */
#ifndef NRO_NAMES_APISERVER_H
#define NRO_NAMES_APISERVER_H

#define NRO_SOURCE_APISERVER "apiserver"            /* the NRO_A_SOURCE value */
#define NRO_K_API_POD_PHASE "api.pod.phase"         /* Pod: value phase */
#define NRO_K_API_CTR_STATE "api.container.state"   /* Container: value state, attr reason */
#define NRO_K_API_CTR_RESTARTS "api.container.restarts" /* Container: num restartCount */
#define NRO_K_API_NODE_COND "api.node.condition."   /* + type (Ready, MemoryPressure, ...):
						       value True|False|Unknown, since = transition */
#define NRO_K_API_LEASE_AGE "api.lease.age"         /* Node: num seconds since renewTime */

#endif
