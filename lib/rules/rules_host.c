/*
 * Host rules, judged from collector-kmsg (kernel problems) and
 * collector-node (/proc, /sys, filesystems, clock, boot id).
 *
 * A kernel problem is an occurrence, not a condition: its alert fires on a
 * new one (for=0s) and resolves after resolve_after without another. A
 * problem the kernel logged longer than resolve_after (at least 5 minutes)
 * before we read it (/dev/kmsg --from-start after a restart) is history and
 * fires nothing.
 * Conditions (a read-only mount, an unsynchronised clock) fire after `for`
 * and resolve when collector-node reads them healthy again.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rules/internal.h"
#include "wire/names_host.h"

#define NODE_SRC "collector-node"
#define KMSG_SRC "collector-kmsg"
#define MIN_MS 60000
#define POD_WAIT_MS (2 * MIN_MS) /* how long an OOM kill waits for its pod to be listed */
#define HISTORY_MS (5 * MIN_MS)  /* a kernel problem logged longer ago than this is history */

/* New occurrences of h not yet judged; history (logged longer than
 * resolve_after, and at least HISTORY_MS, before now) counts as judged. */
static uint64_t fresh(const struct eval *e, struct hstate *h)
{
	uint64_t news = hstate_news(h, 0);
	int64_t history = e->p->resolve_ms > HISTORY_MS ? e->p->resolve_ms : HISTORY_MS;
	if (h->since > 0 && e->now - h->since > history)
		return 0;
	return news;
}

/* One occurrence rule's verdict on one kernel state: sub names the device or
 * task; the caller words the message. */
static struct verdict occurrence(const struct eval *e, struct hstate *h, uint64_t news)
{
	struct verdict v = verdict_for(e);
	v.source = KMSG_SRC;
	v.sub = h->value;
	v.breach = news > 0;
	v.has_value = 1;
	v.value = (double)h->count;
	return v;
}

struct occ {
	struct eval *e;
	const char *detail;  /* what sub is: "device", "task" */
	const char *what;    /* "I/O errors", "a hung task" */
	const char *check;   /* what to check */
};

static void occ_judge(void *ctx, struct hstate *h)
{
	struct occ *x = ctx;
	struct verdict v = occurrence(x->e, h, fresh(x->e, h));
	v.detail_key = x->detail;
	const char *msg = hstate_attr(h, NRO_HA_MESSAGE);
	snprintf(v.message, sizeof v.message, "node %s: kernel reports %s on %s %s (%llu seen): %s%s%s",
		 x->e->obj->name, x->what, x->detail, h->value, (unsigned long long)h->count,
		 x->check, msg[0] ? "; kernel: " : "", msg);
	snprintf(v.resolved, sizeof v.resolved, "node %s: no new %s on %s %s", x->e->obj->name,
		 x->what, x->detail, h->value);
	rule_report(x->e, &v);
}

static void occurrences(struct eval *e, const char *key, const char *detail, const char *what,
			const char *check)
{
	struct occ x = {e, detail, what, check};
	hstate_each(e->obj, key, occ_judge, &x);
}

/* ---- KernelOOMKill: names the pod and container when the cgroup says ---- */

static void oom_words(const struct eval *e, const struct hstate *h, const struct fobj *pod,
		      const struct fobj *ctr, struct verdict *v)
{
	const char *pid = hstate_attr(h, NRO_HA_PID), *cid = hstate_attr(h, NRO_HA_CONTAINER_ID);
	const char *uid = hstate_attr(h, NRO_HA_POD_UID);
	char who[600];
	if (ctr)
		snprintf(who, sizeof who, "container %s in pod %s/%s", ctr->container, ctr->ns,
			 ctr->pod);
	else if (pod)
		snprintf(who, sizeof who, "container %.64s in pod %s/%s", cid, pod->ns, pod->pod);
	else if (uid[0])
		snprintf(who, sizeof who, "pod UID %s (not listed by the kubelet)", uid);
	else
		snprintf(who, sizeof who, "node %s", e->obj->name);
	snprintf(v->message, sizeof v->message,
		 "kernel OOM killer killed process %s (pid %s) in %s (%s): raise its memory "
		 "limit or find the leak",
		 h->value, pid, who,
		 hstate_attr(h, NRO_HA_CONSTRAINT)[0] ? hstate_attr(h, NRO_HA_CONSTRAINT)
						       : "no constraint given");
	snprintf(v->resolved, sizeof v->resolved, "%s: no new OOM kill", who);
}

static void oom_judge(void *ctx, struct hstate *h)
{
	struct eval *e = ctx;
	const struct fobj *pod, *ctr;
	const char *uid = hstate_attr(h, NRO_HA_POD_UID);
	int known = facts_find_container(&e->r->fs, uid, hstate_attr(h, NRO_HA_CONTAINER_ID), &pod,
					 &ctr);
	if (uid[0] && !known && e->now - h->t_first < POD_WAIT_MS && h->count > h->judged)
		return; /* its pod may not be listed yet: judged once it is, or later */
	struct verdict v = occurrence(e, h, fresh(e, h));
	if (pod) {
		v.about.kind = ctr ? NRO_OBJ_CONTAINER : NRO_OBJ_POD;
		v.about.ns = pod->ns;
		v.about.pod = pod->pod;
		v.about.uid = pod->uid;
		v.about.container = ctr ? ctr->container : "";
		v.sub = ctr ? "" : hstate_attr(h, NRO_HA_CONTAINER_ID);
		v.detail_key = NRO_HA_CONTAINER_ID;
	} else {
		v.detail_key = NRO_HA_TASK;
	}
	oom_words(e, h, pod, ctr, &v);
	rule_report(e, &v);
}

static void eval_oom(struct eval *e)
{
	hstate_each(e->obj, NRO_HK_OOM_KILL, oom_judge, e);
}

/* The kernel problems each occurrence rule reads (KernelOOMKill's own above). */
static const struct kernel_kind {
	const char *rule, *key, *detail, *what, *check;
} kernel_kinds[] = {
	{"KernelTaskHung", NRO_HK_TASK_HUNG, "task", "a hung task (blocked over 120 s)",
	 "its stack in dmesg; the disk or NFS server it waits on"},
	{"KernelSoftLockup", NRO_HK_SOFT_LOCKUP, "task", "a soft lockup",
	 "the CPU's load, the hypervisor's steal time, the kernel version"},
	{"KernelSoftLockup", NRO_HK_HARD_LOCKUP, "cpu", "a hard lockup",
	 "the hardware and the kernel"},
	{"FilesystemErrors", NRO_HK_FS_ERROR, "device", "filesystem errors",
	 "fsck the device at the next maintenance; its SMART data"},
	{"DiskIOErrors", NRO_HK_IO_ERROR, "device", "block I/O errors",
	 "smartctl -a on the device; the cable or the cloud volume"},
	{"FilesystemReadOnly", NRO_HK_FS_READONLY, "device", "a read-only remount",
	 "the filesystem error before it; fsck and remount"},
	{"FilesystemReadOnly", NRO_HK_FS_SHUTDOWN, "device", "a filesystem shutdown (XFS)",
	 "xfs_repair at the next maintenance"},
	{"ConntrackTableFull", NRO_HK_CONNTRACK_FULL, "table",
	 "a full conntrack table (packets dropped)",
	 "nf_conntrack_max against system.conntrack.count"},
};

static void eval_kernel(struct eval *e)
{
	for (size_t i = 0; i < sizeof kernel_kinds / sizeof kernel_kinds[0]; i++) {
		const struct kernel_kind *k = &kernel_kinds[i];
		if (strcmp(k->rule, e->def->type) == 0)
			occurrences(e, k->key, k->detail, k->what, k->check);
	}
}

/* ---- FilesystemReadOnly: the kernel's remount, or a mount read ro ---- */

static void mode_judge(void *ctx, struct hstate *h)
{
	struct eval *e = ctx;
	const char *mnt = hstate_attr(h, NRO_HA_MOUNTPOINT), *dev = hstate_attr(h, NRO_HA_DEVICE);
	struct verdict v = verdict_for(e);
	v.source = NODE_SRC;
	v.sub = mnt[0] ? mnt : dev;
	v.detail_key = NRO_HA_MOUNTPOINT;
	v.breach = strcmp(h->value, "ro") == 0;
	snprintf(v.message, sizeof v.message,
		 "node %s: %s (%s, %s) is mounted read-only: the kubelet and runtime cannot write; "
		 "dmesg for the filesystem error that caused it",
		 e->obj->name, v.sub, dev, hstate_attr(h, NRO_HA_TYPE));
	snprintf(v.resolved, sizeof v.resolved, "node %s: %s is read-write again", e->obj->name,
		 v.sub);
	rule_report(e, &v);
}

static void eval_readonly(struct eval *e)
{
	eval_kernel(e);
	hstate_each(e->obj, NRO_HK_FS_MODE, mode_judge, e);
}

/* ---- ConntrackTableFull ---- */

static void eval_conntrack(struct eval *e)
{
	double count, max;
	if (fact_value(e->obj, NRO_HM_CONNTRACK_COUNT, &count) &&
	    fact_value(e->obj, NRO_HM_CONNTRACK_MAX, &max) && max > 0) {
		double pct = count / max * 100.0;
		struct verdict v = verdict_percent(e, NODE_SRC, pct);
		v.sub = "usage";
		v.detail_key = "cause";
		snprintf(v.message, sizeof v.message,
			 "node %s: conntrack table %.0f of %.0f entries (%.1f%%, above %g%%): new "
			 "connections will be dropped; raise nf_conntrack_max",
			 e->obj->name, count, max, pct, e->p->threshold);
		snprintf(v.resolved, sizeof v.resolved,
			 "node %s: conntrack table %.0f of %.0f entries (%.1f%%)", e->obj->name,
			 count, max, pct);
		rule_report(e, &v);
	}
	eval_kernel(e);
}

/* ---- ClockNotSynchronized ---- */

static void clock_judge(void *ctx, struct hstate *h)
{
	struct eval *e = ctx;
	struct verdict v = verdict_for(e);
	v.source = NODE_SRC;
	v.breach = strcmp(h->value, "unsynchronized") == 0;
	snprintf(v.message, sizeof v.message,
		 "node %s: the clock is not synchronised (offset %s s, max error %s s): TLS and "
		 "certificate rotation break; chronyc tracking / timedatectl",
		 e->obj->name, hstate_attr(h, "offset_s"), hstate_attr(h, "max_error_s"));
	snprintf(v.resolved, sizeof v.resolved, "node %s: the clock is synchronised again",
		 e->obj->name);
	rule_report(e, &v);
}

static void eval_clock(struct eval *e)
{
	hstate_each(e->obj, NRO_HK_CLOCK, clock_judge, e);
}

/* ---- NodeRebooted: a new boot id, or first seen just after boot ---- */

static void boot_judge(void *ctx, struct hstate *h)
{
	struct eval *e = ctx;
	int first = !h->judged_once;
	uint64_t news = hstate_news(h, 1);
	struct verdict v = verdict_for(e);
	v.source = NODE_SRC;
	v.breach = news > 0 || (first && h->num < e->p->threshold);
	v.has_value = 1;
	v.value = h->num;
	char up[32];
	fmt_secs(up, sizeof up, h->num);
	snprintf(v.message, sizeof v.message, "node %s rebooted (boot id %s, up %s, kernel %s)",
		 e->obj->name, h->value, up, hstate_attr(h, NRO_HA_KERNEL_RELEASE));
	snprintf(v.resolved, sizeof v.resolved, "node %s up %s since its reboot", e->obj->name, up);
	rule_report(e, &v);
}

static void eval_boot(struct eval *e)
{
	hstate_each(e->obj, NRO_HK_BOOT, boot_judge, e);
}

/* ---- the host's own figures, for rules_node.c's node rules ---- */

/* "node n1 memory use 91.0% (the host's /proc/meminfo) is above 85%"; 1 */
static int host_pct_report(struct eval *e, double pct, const char *what, const char *from)
{
	struct verdict v = verdict_percent(e, NODE_SRC, pct);
	snprintf(v.message, sizeof v.message, "node %s %s %.1f%% (the host's %s) is above %g%%",
		 e->obj->name, what, pct, from, e->p->threshold);
	snprintf(v.resolved, sizeof v.resolved, "node %s %s %.1f%%, back below %g%%",
		 e->obj->name, what, pct, e->p->threshold);
	rule_report(e, &v);
	return 1;
}

/* busy share of the CPUs from system.cpu.utilization{state}: 1 - idle - wait */
int host_cpu_pressure(struct eval *e)
{
	const struct fact *idle = fact_get(e->obj, NRO_HM_CPU_UTILIZATION, "idle");
	const struct fact *wait = fact_get(e->obj, NRO_HM_CPU_UTILIZATION, "wait");
	if (!idle)
		return 0;
	double pct = (1.0 - idle->last - (wait ? wait->last : 0)) * 100.0;
	return host_pct_report(e, pct, "CPU busy", "/proc/stat");
}

/* 1 - MemAvailable/MemTotal; without MemAvailable, used / total */
int host_memory_pressure(struct eval *e)
{
	double util, used, limit;
	int have = fact_value(e->obj, NRO_HM_MEM_UTILIZATION, &util);
	const struct fact *u = fact_get(e->obj, NRO_HM_MEM_USAGE, "used");
	if (!have && u && fact_value(e->obj, NRO_HM_MEM_LIMIT, &limit) && limit > 0) {
		used = u->last;
		util = used / limit;
		have = 1;
	}
	if (!have)
		return 0;
	double pct = util * 100.0;
	return host_pct_report(e, pct, "memory use", "/proc/meminfo");
}

/* threads (each takes a PID) against min(pid_max, threads-max) */
int host_pid_pressure(struct eval *e)
{
	double threads, pid_max, threads_max;
	if (!fact_value(e->obj, NRO_HM_THREADS, &threads) ||
	    !fact_value(e->obj, NRO_HM_PID_MAX, &pid_max) || pid_max <= 0)
		return 0;
	double cap = fact_value(e->obj, NRO_HM_THREADS_MAX, &threads_max) && threads_max > 0 &&
			     threads_max < pid_max ? threads_max : pid_max;
	double pct = threads / cap * 100.0;
	struct verdict v = verdict_percent(e, NODE_SRC, pct);
	snprintf(v.message, sizeof v.message,
		 "node %s runs %.0f threads, %.1f%% of the %.0f PIDs it may have (above %g%%): look "
		 "for a pod forking without bound",
		 e->obj->name, threads, pct, cap, e->p->threshold);
	snprintf(v.resolved, sizeof v.resolved, "node %s runs %.0f of %.0f threads (%.1f%%)",
		 e->obj->name, threads, cap, pct);
	rule_report(e, &v);
	return 1;
}

/* A physical interface that was up and is not (first seen down fires
 * nothing: a spare port). */
static void link_judge(void *ctx, struct hstate *h)
{
	struct eval *e = ctx;
	const char *dev = hstate_attr(h, NRO_HA_DEVICE);
	struct verdict v = verdict_for(e);
	v.source = NODE_SRC;
	v.sub = dev;
	v.detail_key = "interface";
	v.breach = h->num == 0 && h->changes > 0;
	snprintf(v.message, sizeof v.message,
		 "node %s interface %s went down (operstate %s, carrier %s): the cable, the switch "
		 "port, the driver (ip link, ethtool)",
		 e->obj->name, dev, h->value, hstate_attr(h, "carrier"));
	snprintf(v.resolved, sizeof v.resolved, "node %s interface %s is up again", e->obj->name,
		 dev);
	rule_report(e, &v);
}

void host_link_down(struct eval *e)
{
	hstate_each(e->obj, NRO_HK_NET_LINK, link_judge, e);
}

static const char *const kernel_states[] = {NRO_HK_KERNEL_PREFIX "*", NULL};
static const char *const mode_states[] = {NRO_HK_FS_READONLY, NRO_HK_FS_SHUTDOWN, NRO_HK_FS_MODE,
					  NULL};
static const char *const clock_states[] = {NRO_HK_CLOCK, NULL};
static const char *const boot_states[] = {NRO_HK_BOOT, NULL};
static const struct series_def conntrack_series[] = {
	{NRO_HM_CONNTRACK_COUNT, NULL, 0}, {NRO_HM_CONNTRACK_MAX, NULL, 0}, {NULL, NULL, 0}};

#define OCCURRENCE(name, sev, resolve, fn)                                                    \
	{.type = name, .okind = NRO_OBJ_NODE, .severity = sev, .resolve_ms = resolve,         \
	 .source = KMSG_SRC, .states = kernel_states, .eval = fn}

const struct rule_def rules_host[] = {
	OCCURRENCE("KernelOOMKill", NRO_SEV_WARNING, 5 * MIN_MS, eval_oom),
	OCCURRENCE("KernelTaskHung", NRO_SEV_WARNING, 10 * MIN_MS, eval_kernel),
	OCCURRENCE("KernelSoftLockup", NRO_SEV_CRITICAL, 10 * MIN_MS, eval_kernel),
	OCCURRENCE("FilesystemErrors", NRO_SEV_CRITICAL, 30 * MIN_MS, eval_kernel),
	OCCURRENCE("DiskIOErrors", NRO_SEV_CRITICAL, 10 * MIN_MS, eval_kernel),
	{.type = "FilesystemReadOnly", .okind = NRO_OBJ_NODE, .severity = NRO_SEV_CRITICAL,
	 .resolve_ms = 10 * MIN_MS, .source = "collector-kmsg,collector-node",
	 .states = mode_states, .eval = eval_readonly},
	{.type = "ConntrackTableFull", .okind = NRO_OBJ_NODE, .severity = NRO_SEV_WARNING,
	 .resolve_ms = 5 * MIN_MS, .threshold = 90, .min = 1, .max = 100,
	 .threshold_help = "conntrack entries, percent of nf_conntrack_max",
	 .source = "collector-node,collector-kmsg", .series = conntrack_series,
	 .states = kernel_states, .eval = eval_conntrack},
	{.type = "ClockNotSynchronized", .okind = NRO_OBJ_NODE, .severity = NRO_SEV_WARNING,
	 .for_ms = 10 * MIN_MS, .source = NODE_SRC, .states = clock_states, .eval = eval_clock},
	{.type = "NodeRebooted", .okind = NRO_OBJ_NODE, .severity = NRO_SEV_INFO,
	 .resolve_ms = 10 * MIN_MS, .threshold = 600, .min = 0, .max = 86400,
	 .threshold_help = "uptime seconds under which a node first seen counts as just rebooted",
	 .source = NODE_SRC, .states = boot_states, .eval = eval_boot},
	{NULL},
};
