/*
 * Every metric name, state key and attribute the host collectors
 * (collector-node, collector-kmsg) publish, defined once: the collectors
 * emit these and the analyzer's host rules read them. The table with
 * units and meanings is docs/records-vocabulary.md ("The host itself").
 * Metric names follow OpenTelemetry's hostmetrics receiver.
 */
#ifndef NRO_NAMES_HOST_H
#define NRO_NAMES_HOST_H

/* ---- attributes ---- */
#define NRO_HA_STATE "state"           /* cpu mode, memory/filesystem state */
#define NRO_HA_DEVICE "device"         /* interface or block device */
#define NRO_HA_DIRECTION "direction"   /* receive | transmit */
#define NRO_HA_MOUNTPOINT "mountpoint"
#define NRO_HA_TYPE "type"             /* filesystem type */
#define NRO_HA_MODE "mode"             /* ro | rw */
#define NRO_HA_RESOURCE "resource"     /* PSI: cpu | memory | io */
#define NRO_HA_STALL "stall"           /* PSI: some | full */
#define NRO_HA_STATUS "status"         /* processes: running | blocked */
#define NRO_HA_PROBLEM "problem"       /* kernel problem kind (state key suffix) */

/* ---- collector-node metrics ---- */
#define NRO_HM_CPU_TIME "system.cpu.time"                 /* counter s {state} */
#define NRO_HM_CPU_UTILIZATION "system.cpu.utilization"   /* gauge 1 {state}, from the 2nd poll */
#define NRO_HM_CPU_COUNT "system.cpu.logical.count"       /* gauge {cpu} */
#define NRO_HM_LOAD_1M "system.cpu.load_average.1m"
#define NRO_HM_LOAD_5M "system.cpu.load_average.5m"
#define NRO_HM_LOAD_15M "system.cpu.load_average.15m"
#define NRO_HM_PSI_AVG10 "system.pressure.avg10"          /* gauge % {resource, stall} */
#define NRO_HM_PSI_TOTAL "system.pressure.stall_time"     /* counter us {resource, stall} */
#define NRO_HM_MEM_USAGE "system.memory.usage"            /* gauge By {state} */
#define NRO_HM_MEM_LIMIT "system.memory.limit"            /* gauge By (MemTotal) */
#define NRO_HM_MEM_AVAILABLE "system.linux.memory.available" /* gauge By (MemAvailable) */
#define NRO_HM_MEM_UTILIZATION "system.memory.utilization" /* gauge 1: 1 - available/total */
#define NRO_HM_SWAP_USAGE "system.paging.usage"           /* gauge By {state: used|free} */
#define NRO_HM_OOM_KILLS "system.linux.memory.oom_kills"  /* counter {kill}, vmstat oom_kill */
#define NRO_HM_PROCS "system.processes.count"             /* gauge {status: running|blocked} */
#define NRO_HM_PROCS_ALL "system.linux.processes.count"   /* gauge: /proc/<pid> entries */
#define NRO_HM_THREADS "system.linux.threads.count"       /* gauge: loadavg's total */
#define NRO_HM_PID_MAX "system.linux.pid.max"
#define NRO_HM_THREADS_MAX "system.linux.threads.max"
#define NRO_HM_FILES_OPEN "system.linux.files.open"       /* file-nr: allocated - free */
#define NRO_HM_FILES_MAX "system.linux.files.max"
#define NRO_HM_CONNTRACK_COUNT "system.conntrack.count"
#define NRO_HM_CONNTRACK_MAX "system.conntrack.max"
#define NRO_HM_NET_IO "system.network.io"                 /* counter By {device, direction} */
#define NRO_HM_NET_PACKETS "system.network.packets"       /* counter {packet} */
#define NRO_HM_NET_ERRORS "system.network.errors"         /* counter {error} */
#define NRO_HM_NET_DROPPED "system.network.dropped"       /* counter {packet} */
#define NRO_HM_FS_USAGE "system.filesystem.usage"         /* gauge By {state: used|free|reserved, device, mountpoint, type, mode} */
#define NRO_HM_FS_INODES "system.filesystem.inodes.usage" /* gauge {inode} {state: used|free, ...} */
#define NRO_HM_FS_UTILIZATION "system.filesystem.utilization" /* gauge 1: used/(used+free) */
#define NRO_HM_CLOCK_OFFSET "system.linux.clock.offset"   /* gauge s (adjtimex offset) */
#define NRO_HM_CLOCK_MAXERROR "system.linux.clock.max_error" /* gauge s */
#define NRO_HM_UPTIME "system.uptime"                     /* gauge s */

/* ---- collector-node states (object Node) ---- */
#define NRO_HK_BOOT "host.boot"               /* value boot id; num uptime s; since boot time; attr kernel.release */
#define NRO_HA_KERNEL_RELEASE "kernel.release"
#define NRO_HK_CLOCK "host.clock"             /* synchronized | unsynchronized; num 1 | 0; attrs offset_s, max_error_s */
#define NRO_HK_NET_LINK "host.net.link"       /* value operstate (up, down, ...); num 1 if up with carrier; attrs device, carrier */
#define NRO_HK_FS_MODE "host.filesystem.mode" /* ro | rw; num 1 if ro; attrs mountpoint, device, type */

/* ---- collector-kmsg states (object Node; one per kernel line recognised) ---- */
#define NRO_HK_KERNEL_PREFIX "host.kernel."
#define NRO_HK_OOM_KILL "host.kernel.oom_kill"           /* value task; num pid */
#define NRO_HK_TASK_HUNG "host.kernel.task_hung"         /* value task; num pid */
#define NRO_HK_SOFT_LOCKUP "host.kernel.soft_lockup"     /* value task; num seconds stuck */
#define NRO_HK_HARD_LOCKUP "host.kernel.hard_lockup"     /* value cpu */
#define NRO_HK_FS_ERROR "host.kernel.fs_error"           /* value device */
#define NRO_HK_FS_READONLY "host.kernel.fs_readonly"     /* value device */
#define NRO_HK_FS_SHUTDOWN "host.kernel.fs_shutdown"     /* value device (XFS forced shutdown) */
#define NRO_HK_IO_ERROR "host.kernel.io_error"           /* value device */
#define NRO_HK_NIC_TIMEOUT "host.kernel.nic_tx_timeout"  /* value interface */
#define NRO_HK_CONNTRACK_FULL "host.kernel.conntrack_full" /* value "nf_conntrack" */
#define NRO_HK_OOPS "host.kernel.oops"                   /* value the oops line */
#define NRO_HK_PANIC "host.kernel.panic"                 /* value the panic reason */
#define NRO_HK_LOG_GAP "host.kernel.log_gap"             /* value "lost"; num records lost */

/* attributes of the kernel states */
#define NRO_HA_PID "pid"
#define NRO_HA_TASK "task"
#define NRO_HA_POD_UID "k8s.pod.uid"
#define NRO_HA_CONTAINER_ID "container.id"
#define NRO_HA_MEMCG "memcg"             /* the killed task's memory cgroup */
#define NRO_HA_OOM_MEMCG "oom_memcg"     /* the cgroup whose limit was hit */
#define NRO_HA_CONSTRAINT "constraint"   /* CONSTRAINT_MEMCG, CONSTRAINT_NONE, ... */
#define NRO_HA_FSTYPE "fstype"
#define NRO_HA_CPU "cpu"
#define NRO_HA_SECONDS "seconds"
#define NRO_HA_DRIVER "driver"
#define NRO_HA_MESSAGE "message"         /* the kernel line, cut to 240 bytes */
#define NRO_HA_KERNEL_SEQ "kmsg.seq"     /* /dev/kmsg sequence number, when known */

/* ---- collector-kmsg metrics ---- */
#define NRO_HM_KMSG_LINES "nro.kmsg.lines"     /* counter {line}: kernel lines read */
#define NRO_HM_KMSG_SKIPPED "nro.kmsg.skipped" /* counter {line} {reason: too_long|binary|not_kernel} */
#define NRO_HM_KMSG_LOST "nro.kmsg.lost"       /* counter {record}: sequence gaps */
#define NRO_HM_KMSG_PROBLEMS "nro.kmsg.problems" /* counter {problem} per kind */
#define NRO_HA_REASON "reason"

#endif
