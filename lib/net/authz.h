/* Which RBAC subresource the kubelet checks for a path: pure functions,
 * no libcurl, so the test server can name them too. */
#ifndef NRO_AUTHZ_H
#define NRO_AUTHZ_H

/* The RBAC subresource that authorizes path: "nodes/stats", "nodes/metrics"
 * or "nodes/proxy". Static string. */
const char *nro_kubelet_subresource(const char *path);
/* The fine-grained subresource (KubeletFineGrainedAuthz, 1.32+) that the
 * kubelet tries before nodes/proxy ("nodes/pods", "nodes/healthz",
 * "nodes/configz"), or NULL. */
const char *nro_kubelet_fine_grained(const char *path);

#endif
