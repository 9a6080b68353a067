/*
 * Host rules, judged from collector-node and collector-kmsg (to come):
 * KernelOOMKill, KernelTaskHung, KernelSoftLockup, FilesystemReadOnly,
 * FilesystemErrors, DiskIOErrors, ConntrackTableFull, ClockNotSynchronized,
 * NodeRebooted. Each will be one definition here, as in rules_node.c.
 */
#include "rules/internal.h"

const struct rule_def rules_host[] = {
	{NULL},
};
