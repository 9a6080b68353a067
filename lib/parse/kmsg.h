/*
 * The kernel's log, line by line: the record prefix of /dev/kmsg
 * ("PRI,SEQ,TS_USEC,FLAGS;message", Documentation/ABI/testing/dev-kmsg)
 * and, for replay, the text forms people keep (dmesg "[  12.345] msg",
 * dmesg -T "[Tue Nov 20 22:30:22 2018] msg", syslog/journal
 * "Mon dd hh:mm:ss host kernel: msg", pstore "<6>[ts] msg", "kernel: msg",
 * or the bare message); then the table of kernel problems (kmsg.c,
 * `patterns`) that turns a message into a state of lib/wire/names_host.h.
 *
 * Everything is bounded: a line is looked at up to its length, fields are
 * copied into fixed buffers (cut, never overrun).
 */
#ifndef NRO_KMSG_H
#define NRO_KMSG_H

#include <stddef.h>
#include <stdint.h>

#define NRO_KMSG_LINE_MAX 4096 /* longer lines are skipped (a kernel line is < 1 KiB) */

enum nro_kline_status {
	NRO_KLINE_OK = 0,
	NRO_KLINE_EMPTY,      /* nothing after the prefix */
	NRO_KLINE_BINARY,     /* control bytes: not text (the kernel escapes its own) */
	NRO_KLINE_NOT_KERNEL, /* a syslog line from another program */
	NRO_KLINE_DICT,       /* a " KEY=value" line after a raw record */
};

struct nro_kline {
	const char *msg; /* points into the line */
	size_t len;
	int raw;         /* a /dev/kmsg record: seq, ts_usec and pri are set */
	uint64_t seq;
	uint64_t ts_usec;
	int pri;
};

/* Parses one line (no '\n'). after_raw: the previous line was a raw record,
 * so a line starting with a blank is its dictionary. */
int nro_kline_parse(const char *line, size_t n, int after_raw, struct nro_kline *k);

/* ---- cgroup paths ------------------------------------------------------ */

#define NRO_UID_MAX 40
#define NRO_CID_MAX 72
/* The pod UID and container ID in a cgroup path, for both drivers:
 * cgroupfs  /kubepods/burstable/pod<uid>/<id>
 * systemd   /kubepods.slice/kubepods-burstable.slice/
 *           kubepods-burstable-pod<uid with _>.slice/cri-containerd-<id>.scope
 *           (or docker-<id>.scope, crio-<id>.scope), under any prefix.
 * Returns 1 with uid (and cid, "" when the path stops at the pod), else 0. */
int nro_cgroup_pod(const char *path, size_t n, char uid[NRO_UID_MAX], char cid[NRO_CID_MAX]);

/* ---- kernel problems ---------------------------------------------------- */

#define NRO_KP_TEXT 128
#define NRO_KP_PATH 256
struct nro_kproblem {
	const char *key;             /* NRO_HK_* */
	char subject[NRO_KP_TEXT];   /* the state's value: task, device, interface */
	double num;                  /* pid, seconds stuck, ...; 0 if none */
	char pid[24], task[NRO_KP_TEXT];
	char pod_uid[NRO_UID_MAX], container_id[NRO_CID_MAX];
	char memcg[NRO_KP_PATH], oom_memcg[NRO_KP_PATH], constraint[32];
	char fstype[16], cpu[16], seconds[24], driver[32];
};

/* What a multi-line OOM report has said so far. Zero it to start. */
struct nro_kmatch {
	char task_memcg[NRO_KP_PATH], oom_memcg[NRO_KP_PATH];
	char stats_uid[NRO_UID_MAX], stats_cid[NRO_CID_MAX];
	int stats_lines;
	int64_t reported_pid; /* the oom-kill: line's pid, so "Killed process" is not a second kill */
};

/* Returns 1 and fills p when msg is a kernel problem, else 0 (the message
 * may still update m, e.g. "Task in ... killed as a result of limit of"). */
int nro_kmsg_match(struct nro_kmatch *m, const char *msg, size_t n, struct nro_kproblem *p);

/* Every problem key the table can produce, NULL-terminated (for counters). */
extern const char *const nro_kmsg_keys[];

#endif
