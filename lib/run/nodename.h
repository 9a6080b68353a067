/*
 * One node, one name (DESIGN.md "Common command line", --node). A pipeline
 * observes one node; its name is --node / NRO_NODE_NAME when given (the
 * downward API's spec.nodeName in a DaemonSet), else the name the first
 * collector learns from the kubelet's own data (/pods spec.nodeName,
 * /stats/summary node.nodeName), shared through the file
 * $NRO_RUN_DIR/node-name: written once, never replaced while it exists,
 * read by every other process of the pipeline. Never the hostname (in a pod
 * it is the pod's name). docs/node-name.md has the whole rule.
 */
#ifndef NRO_NODENAME_H
#define NRO_NODENAME_H

#include <stddef.h>

#define NRO_NODE_FILE "node-name"
#define NRO_NODE_MAX 253 /* a DNS-1123 subdomain, as Kubernetes node names are */

/* 1 if name[0..len) is a plausible node name (lowercase letters, digits,
 * '-' and '.', 1..253 bytes), else 0. */
int nro_node_name_ok(const char *name, size_t len);

/* Reads RUN_DIR/node-name into out (NUL-terminated). 0 with a name, -1 when
 * there is none yet or it is not a node name (then out is ""). */
int nro_node_read(const char *run_dir, char *out, size_t outlen);

/* Offers name[0..len) as the pipeline's name: writes RUN_DIR/node-name
 * unless it exists (first writer wins: a temporary file link(2)ed into
 * place, so readers never see half a name), then reads back the name the
 * pipeline uses into out. Makes RUN_DIR (0700) if missing, not its parents.
 * Returns 0 with out set; -1 when the file cannot be written or read (out
 * then holds name: this process still uses one name throughout). */
int nro_node_share(const char *run_dir, const char *name, size_t len, char *out, size_t outlen);

#endif
