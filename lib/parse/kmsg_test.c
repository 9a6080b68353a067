/* The kernel log parser: every line format and every row of the pattern
 * table against the real kernel line it was written for (copied from
 * ../shared/fixtures/host/kmsg, file named per row), then near misses. */
#include "parse/kmsg.h"

#include <stdlib.h>
#include <string.h>

#include "base/testing.h"
#include "wire/names_host.h"

/* line, after a raw record?, the status and message it must give */
static const struct {
	const char *line;
	int after_raw, status;
	const char *msg;
} formats[] = {
	{"4,2,3,-,caller=T1;hello", 0, NRO_KLINE_OK, "hello"}, /* 5.x caller id */
	{"[  407.147725] blk_update_request: I/O error", 0, NRO_KLINE_OK, "blk_update_request: I/O error"},
	{"[Tue Nov 20 22:30:22 2018] nf_conntrack: table full, dropping packet", 0, NRO_KLINE_OK,
	 "nf_conntrack: table full, dropping packet"},
	{"Jun  8 10:48:13 compute4 kernel: [1694413.621694] nf_conntrack: x", 0, NRO_KLINE_OK, "nf_conntrack: x"},
	{"Sep  6 14:24:35 node2 kernel: EXT4-fs (sdi): I/O error", 0, NRO_KLINE_OK, "EXT4-fs (sdi): I/O error"},
	{"Aug 30 06:58:55.050705 ... kernel: oom-kill:constraint=X", 0, NRO_KLINE_OK, "oom-kill:constraint=X"},
	{"2026-12-01T08:00:00.1+00:00 n1 kernel: [ 1.0] Oops: 1 [#1]", 0, NRO_KLINE_OK, "Oops: 1 [#1]"},
	{" kernel:[55716.328117] watchdog: BUG: soft lockup", 0, NRO_KLINE_OK, "watchdog: BUG: soft lockup"},
	{"kernel: XFS (dm-4): Corruption detected.", 0, NRO_KLINE_OK, "XFS (dm-4): Corruption detected."},
	{"<0>[ 3098.275469] Kernel panic - not syncing: Test", 0, NRO_KLINE_OK, "Kernel panic - not syncing: Test"},
	{"INFO: task docker:20744 blocked", 0, NRO_KLINE_OK, "INFO: task docker:20744 blocked"},
	{" [<ffffffff81510915>] ? schedule", 0, NRO_KLINE_OK, " [<ffffffff81510915>] ? schedule"},
	{"[drm] Initialized", 0, NRO_KLINE_OK, "[drm] Initialized"},
	{"12,34 ok;", 0, NRO_KLINE_OK, "12,34 ok;"}, /* digits, but not a raw prefix */
	{"Sep  6 14:24:35 node2 systemd[1]: Started kubelet.", 0, NRO_KLINE_NOT_KERNEL, ""},
	{" SUBSYSTEM=pci", 1, NRO_KLINE_DICT, ""},
	{"ab\x01\x02\x7f", 0, NRO_KLINE_BINARY, ""},
	{"[  407.147725] ", 0, NRO_KLINE_EMPTY, ""},
	{"6,1,2,-;", 0, NRO_KLINE_EMPTY, ""},
};

TEST(line_formats)
{
	struct nro_kline k;
	const char raw[] = "6,3973,227986636,-;IPv6: ADDRCONF(NETDEV_CHANGE): eth0: link becomes ready";
	CHECK(nro_kline_parse(raw, sizeof raw - 1, 0, &k) == NRO_KLINE_OK);
	CHECK(k.raw && k.seq == 3973 && k.ts_usec == 227986636 && k.pri == 6);
	CHECK(k.len == 55 && memcmp(k.msg, "IPv6: ADDRCONF", 14) == 0);
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
		const char *l = formats[i].line;
		int st = nro_kline_parse(l, strlen(l), formats[i].after_raw, &k);
		size_t n = st == NRO_KLINE_OK ? k.len : 0;
		if (st != formats[i].status || n != strlen(formats[i].msg) ||
		    memcmp(n ? k.msg : "", formats[i].msg, n) != 0) {
			fprintf(stderr, "\"%s\" -> %d \"%.*s\"\n", l, st, (int)n, n ? k.msg : "");
			CHECK(0);
		}
	}
}

TEST(cgroup_paths)
{
	char uid[NRO_UID_MAX], cid[NRO_CID_MAX];
	const char v1[] = "/kubepods/burstable/podfbdfe8e3-1c87-4ff2-907c-b2ec8e25d012/"
			  "ef807430361e6e82b45db92e2e9b6fbec98f419b12c591e655c1a725565e73a8";
	CHECK(nro_cgroup_pod(v1, sizeof v1 - 1, uid, cid) == 1);
	CHECK_STR(uid, "fbdfe8e3-1c87-4ff2-907c-b2ec8e25d012");
	CHECK_STR(cid, "ef807430361e6e82b45db92e2e9b6fbec98f419b12c591e655c1a725565e73a8");
	const char v2[] = "/lxc.payload.ny2g2r5hh3-lxc/kubepods.slice/kubepods-burstable.slice/"
			  "kubepods-burstable-podeded8c65_6e8e_4c6e_a889_3e427565c740.slice/"
			  "cri-containerd-ec9ee26695deb4cc72bc665efff1cf3a03fdfb12f1303e02fe9252985e084a95.scope";
	CHECK(nro_cgroup_pod(v2, sizeof v2 - 1, uid, cid) == 1);
	CHECK_STR(uid, "eded8c65-6e8e-4c6e-a889-3e427565c740");
	CHECK_STR(cid, "ec9ee26695deb4cc72bc665efff1cf3a03fdfb12f1303e02fe9252985e084a95");
	const char guaranteed[] = "/kubepods.slice/kubepods-pod0b6a3b2e_1111_2222_3333_444455556666.slice/"
				  "crio-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope";
	CHECK(nro_cgroup_pod(guaranteed, sizeof guaranteed - 1, uid, cid) == 1);
	CHECK_STR(uid, "0b6a3b2e-1111-2222-3333-444455556666");
	CHECK_STR(cid, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	const char docker[] = "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-"
			      "pod95387fa4_da9c_11e7_9d36_5254b24cbf5e.slice/docker-6895a3e13439535852d3.scope";
	CHECK(nro_cgroup_pod(docker, sizeof docker - 1, uid, cid) == 1);
	CHECK_STR(cid, "6895a3e13439535852d3");
	const char pod_only[] = "/kubepods/burstable/podfbdfe8e3-1c87-4ff2-907c-b2ec8e25d012";
	CHECK(nro_cgroup_pod(pod_only, sizeof pod_only - 1, uid, cid) == 1);
	CHECK_STR(cid, "");
	CHECK(nro_cgroup_pod("/docker/2e088fe462e25e60be1d", 27, uid, cid) == 0);
	CHECK(nro_cgroup_pod("/user.slice/user-121.slice/session-c1.scope", 42, uid, cid) == 0);
	CHECK(nro_cgroup_pod("/system.slice/podman-pod123.slice", 33, uid, cid) == 0);
	CHECK(nro_cgroup_pod("/kubepods/podnot-a-uid/x", 24, uid, cid) == 0);
}

struct row {
	const char *file, *line, *key, *subject;
	double num;
};

/* One row per pattern, with the fixture file its line comes from. */
static const struct row rows[] = {
	{"oom-cgroup-5.x-kubepods-cadvisor.txt",
	 "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=ef807430361e6e82b45db92e2e9b6fbec98f419b12c591e655c1a725565e73a8,mems_allowed=0,oom_memcg=/kubepods/burstable/podfbdfe8e3-1c87-4ff2-907c-b2ec8e25d012,task_memcg=/kubepods/burstable/podfbdfe8e3-1c87-4ff2-907c-b2ec8e25d012/ef807430361e6e82b45db92e2e9b6fbec98f419b12c591e655c1a725565e73a8,task=manager,pid=966,uid=0",
	 NRO_HK_OOM_KILL, "manager", 966},
	{"oom-cgroup-5.4-reportportal203.txt",
	 "Memory cgroup out of memory: Killed process 63214 (uwsgi) total-vm:3149468kB, anon-rss:164992kB, file-rss:52176kB, shmem-rss:92kB, UID:0 pgtables:1372kB oom_score_adj:986",
	 NRO_HK_OOM_KILL, "uwsgi", 63214},
	{"oom-global-legacy-3.13-cadvisor.txt",
	 "Killed process 1532 (badsysprogram) total-vm:1641388kB, anon-rss:1595164kB, file-rss:76kB",
	 NRO_HK_OOM_KILL, "badsysprogram", 1532},
	{"hung-task-dockerd-4.19-moby44552.txt", "INFO: task dockerd:3946 blocked for more than 120 seconds.",
	 NRO_HK_TASK_HUNG, "dockerd", 3946},
	{"hung-task-aufs-umount-3.16-npd.txt", "INFO: task umount.aufs:21568 blocked for more than 120 seconds.",
	 NRO_HK_TASK_HUNG, "umount.aufs", 21568},
	{"soft-lockup-kubelet-3.10-k8s65142.txt", "NMI watchdog: BUG: soft lockup - CPU#6 stuck for 22s! [kubelet:1663]",
	 NRO_HK_SOFT_LOCKUP, "kubelet", 22},
	{"soft-lockup-runc-centos7-kubeasz300.syslog.txt",
	 "NMI watchdog: BUG: soft lockup - CPU#34 stuck for 22s! [runc:[1:CHILD]:185318]",
	 NRO_HK_SOFT_LOCKUP, "runc:[1:CHILD]", 22},
	{"soft-lockup-hard-lockup-5.x-wall-ironfish701.txt",
	 "watchdog: BUG: soft lockup - CPU#9 stuck for 27s! [kworker/9:0:24827]", NRO_HK_SOFT_LOCKUP,
	 "kworker/9:0", 27},
	{"soft-lockup-hard-lockup-5.x-wall-ironfish701.txt", "NMI watchdog: Watchdog detected hard LOCKUP on cpu 3",
	 NRO_HK_HARD_LOCKUP, "3", 3},
	{"ext4-ro-oneline-npd.txt", "EXT4-fs (sda1): Remounting filesystem read-only", NRO_HK_FS_READONLY,
	 "sda1", 0},
	{"ext4-error-journal-abort-longhorn6650.syslog.txt",
	 "EXT4-fs error (device sdf) in ext4_reserve_inode_write:5795: Journal has aborted", NRO_HK_FS_ERROR,
	 "sdf", 0},
	{"ext4-error-journal-abort-longhorn6650.syslog.txt", "EXT4-fs (sdi): I/O error while writing superblock",
	 NRO_HK_FS_ERROR, "sdi", 0},
	{"xfs-metadata-corruption-fcos784.txt",
	 "XFS (vda4): Metadata corruption detected at xfs_buf_ioend+0x162/0x570 [xfs], xfs_inode block 0x2fc4e0 xfs_inode_buf_verify",
	 NRO_HK_FS_ERROR, "vda4", 0},
	{"xfs-shutdown-npd-pr845.txt", "XFS (dm-4): Corruption detected. Unmount and run xfs_repair",
	 NRO_HK_FS_ERROR, "dm-4", 0},
	{"xfs-shutdown-npd-pr845.txt",
	 "XFS (dm-4): Internal error xfs_iunlink_remove at line 2038 of file fs/xfs/xfs_inode.c.  Caller xfs_ifree+0x33/0x130 [xfs]",
	 NRO_HK_FS_ERROR, "dm-4", 0},
	{"xfs-shutdown-npd-pr845.txt", "XFS (dm-4): I/O Error Detected. Shutting down filesystem",
	 NRO_HK_FS_SHUTDOWN, "dm-4", 0},
	{"io-error-blk-update-5.x-dietpi4499.txt",
	 "blk_update_request: I/O error, dev sda, sector 6192120 op 0x1:(WRITE) flags 0x100000 phys_seg 3 prio class 0",
	 NRO_HK_IO_ERROR, "sda", 0},
	{"io-error-critical-medium-hotsos.syslog.txt",
	 "blk_update_request: critical medium error, dev sdk, sector 130611915 op 0x1:(WRITE) flags 0x0 phys_seg 13 prio class 0",
	 NRO_HK_IO_ERROR, "sdk", 0},
	{"io-error-buffer-io-rpi885.txt", "Buffer I/O error on dev sda1, logical block 244, lost async page write",
	 NRO_HK_IO_ERROR, "sda1", 0},
	{"netdev-watchdog-igb-5.4-netdev-ml.txt", "NETDEV WATCHDOG: eth0 (igb): transmit queue 0 timed out",
	 NRO_HK_NIC_TIMEOUT, "eth0", 0},
	{"conntrack-full-oldfmt-k8s18604.txt", "nf_conntrack: table full, dropping packet",
	 NRO_HK_CONNTRACK_FULL, "nf_conntrack", 0},
	{"conntrack-full-newfmt-kube-aws476.txt", "nf_conntrack: nf_conntrack: table full, dropping packet ",
	 NRO_HK_CONNTRACK_FULL, "nf_conntrack", 0},
	{"oops-null-deref-3.16-npd.txt", "Oops: 0000 [#1] SMP ", NRO_HK_OOPS, "Oops: 0000 [#1] SMP", 0},
	{"oops-divide-error-3.16-npd.txt", "divide error: 0000 [#1] SMP ", NRO_HK_OOPS,
	 "divide error: 0000 [#1] SMP", 0},
	{"kernel-panic-5.15-pstore-gpud.txt", "Kernel panic - not syncing: Test panic triggered by crash_test module",
	 NRO_HK_PANIC, "Test panic triggered by crash_test module", 0},
};

TEST(every_pattern_on_its_real_line)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct nro_kmatch m;
		struct nro_kproblem p;
		memset(&m, 0, sizeof m);
		int got = nro_kmsg_match(&m, rows[i].line, strlen(rows[i].line), &p);
		if (!got || strcmp(p.key, rows[i].key) != 0 || strcmp(p.subject, rows[i].subject) != 0 ||
		    p.num != rows[i].num) {
			fprintf(stderr, "%s: \"%s\" -> %d %s \"%s\" %g\n", rows[i].file, rows[i].line, got,
				got ? p.key : "-", got ? p.subject : "", got ? p.num : 0);
			CHECK(0);
		}
	}
}

TEST(oom_kill_names_the_pod_and_container)
{
	struct nro_kmatch m;
	struct nro_kproblem p;
	memset(&m, 0, sizeof m);
	CHECK(nro_kmsg_match(&m, rows[0].line, strlen(rows[0].line), &p) == 1);
	CHECK_STR(p.pod_uid, "fbdfe8e3-1c87-4ff2-907c-b2ec8e25d012");
	CHECK_STR(p.container_id, "ef807430361e6e82b45db92e2e9b6fbec98f419b12c591e655c1a725565e73a8");
	CHECK_STR(p.constraint, "CONSTRAINT_MEMCG");
	CHECK_STR(p.pid, "966");
	CHECK_STR(p.oom_memcg, "/kubepods/burstable/podfbdfe8e3-1c87-4ff2-907c-b2ec8e25d012");
	/* the "Killed process" line of the same kill is not a second one */
	const char killed[] = "Memory cgroup out of memory: Killed process 966 (manager) total-vm:1kB";
	CHECK(nro_kmsg_match(&m, killed, sizeof killed - 1, &p) == 0);
	CHECK(nro_kmsg_match(&m, killed, sizeof killed - 1, &p) == 1); /* a later one is */
}

/* oom-memcg-legacy-3.10-kubepods-k8s56891.txt, docker 4.8: the legacy
 * report names the cgroup on "Task in" or "Memory cgroup stats for" lines. */
TEST(legacy_oom_report_context)
{
	struct nro_kmatch m;
	struct nro_kproblem p;
	memset(&m, 0, sizeof m);
	const char *lines[] = {
		"java invoked oom-killer: gfp_mask=0xd0, order=0, oom_score_adj=-998",
		"Memory cgroup stats for /kubepods/pod95387fa4-da9c-11e7-9d36-5254b24cbf5e/6895a3e13439535852d3184ac2aadd26d7363cc035f171545ec7d4ce74073b0b: cache:32KB rss:524188KB",
		"Memory cgroup out of memory: Kill process 24572 (java) score 0 or sacrifice child",
	};
	for (int i = 0; i < 3; i++)
		CHECK(nro_kmsg_match(&m, lines[i], strlen(lines[i]), &p) == 0);
	const char killed[] = "Killed process 28438 (java) total-vm:20255636kB, anon-rss:466160kB";
	CHECK(nro_kmsg_match(&m, killed, sizeof killed - 1, &p) == 1);
	CHECK_STR(p.subject, "java");
	CHECK_STR(p.pod_uid, "95387fa4-da9c-11e7-9d36-5254b24cbf5e");
	CHECK_STR(p.container_id, "6895a3e13439535852d3184ac2aadd26d7363cc035f171545ec7d4ce74073b0b");
	/* context is spent: the next kill without a report names no pod */
	CHECK(nro_kmsg_match(&m, killed, sizeof killed - 1, &p) == 1);
	CHECK_STR(p.pod_uid, "");
	const char task_in[] = "Task in /docker/2e088fe462e25e60be1dafafe2c05c47bda1a97978648d10ad2b7484fc0b8f50 killed as a result of limit of /docker/2e088fe462e25e60be1dafafe2c05c47bda1a97978648d10ad2b7484fc0b8f50";
	CHECK(nro_kmsg_match(&m, task_in, sizeof task_in - 1, &p) == 0);
	const char k2[] = "Killed process 1381 (gunpowder-memho) total-vm:2121528kB";
	CHECK(nro_kmsg_match(&m, k2, sizeof k2 - 1, &p) == 1);
	CHECK_STR(p.memcg, "/docker/2e088fe462e25e60be1dafafe2c05c47bda1a97978648d10ad2b7484fc0b8f50");
	CHECK_STR(p.pod_uid, ""); /* docker alone is not a pod */
}

TEST(near_misses_are_not_problems)
{
	const char *lines[] = {
		"blk_update_request: I/O error, dev loop11, sector 0 op 0x0:(READ) flags 0x0", /* snap */
		"oom_reaper: reaped process 4254 (python3), now anon-rss:0kB",
		"EXT4-fs (vda1): mounted filesystem with ordered data mode. Opts: (null)",
		"XFS (vda4): Mounting V5 Filesystem",
		"unregister_netdevice: waiting for lo to become free. Usage count = 1",
		"INFO: task is fine",
		"Oops: no bracket here",
		"foo: table full, dropping packet",
		"NETDEV WATCHDOG: eth0 (igb): all good",
		"BUG: soft lockup - CPU#x",
		"",
	};
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		struct nro_kmatch m;
		struct nro_kproblem p;
		memset(&m, 0, sizeof m);
		if (nro_kmsg_match(&m, lines[i], strlen(lines[i]), &p)) {
			fprintf(stderr, "matched: \"%s\" as %s\n", lines[i], p.key);
			CHECK(0);
		}
	}
}

TEST(long_fields_are_cut_not_overrun)
{
	static char line[NRO_KMSG_LINE_MAX];
	int n = snprintf(line, sizeof line, "INFO: task ");
	memset(line + n, 'a', 3000);
	snprintf(line + n + 3000, sizeof line - (size_t)n - 3000, ":12 blocked for more than 120 seconds.");
	struct nro_kmatch m;
	struct nro_kproblem p;
	memset(&m, 0, sizeof m);
	CHECK(nro_kmsg_match(&m, line, strlen(line), &p) == 1);
	CHECK(strlen(p.subject) == NRO_KP_TEXT - 1 && p.num == 12);
}

/* Random bytes and mixes of real fragments through the line parser and the
 * table, each given exactly its bytes (ASan/UBSan catch any overrun). */
TEST(garbage_never_crashes)
{
	static const char *const pieces[] = {
		"6,", "1,", ";", "[", "]", " 12.5", "kernel:", "Dec  1 08:00:00 h kernel: ", "<6>",
		"oom-kill:", ",task=", ",pid=", "Killed process ", "1 (", ")", "INFO: task ", ":",
		" blocked for more than ", "BUG: soft lockup - CPU#", " stuck for ", "! [", "EXT4-fs (",
		"): Remounting filesystem read-only", " error, dev ", ", sector", "/kubepods/",
		"podfbdfe8e3-1c87-4ff2-907c-b2ec8e25d012", "/", "kubepods-pod", ".slice", ".scope",
		"NETDEV WATCHDOG: ", " (", "Task in ", " killed as a result of limit of ",
		"Memory cgroup stats for ", "Oops: ", " [#", "table full, dropping packet"};
	unsigned seed = 777;
	char buf[600];
	struct nro_kmatch m;
	memset(&m, 0, sizeof m);
	for (int round = 0; round < 30000; round++) {
		size_t n = 0, want = (seed = seed * 1103515245 + 12345) % sizeof buf;
		while (n < want) {
			seed = seed * 1103515245 + 12345;
			if (round % 3 == 0) {
				buf[n++] = (char)(seed >> 16);
			} else {
				const char *p = pieces[(seed >> 16) % (sizeof pieces / sizeof pieces[0])];
				for (; *p && n < want; p++)
					buf[n++] = *p;
			}
		}
		char *exact = malloc(n ? n : 1);
		memcpy(exact, buf, n);
		struct nro_kline k;
		struct nro_kproblem p;
		char uid[NRO_UID_MAX], cid[NRO_CID_MAX];
		if (nro_kline_parse(exact, n, round & 1, &k) == NRO_KLINE_OK)
			nro_kmsg_match(&m, k.msg, k.len, &p);
		nro_kmsg_match(&m, exact, n, &p);
		nro_cgroup_pod(exact, n, uid, cid);
		CHECK(strlen(uid) < NRO_UID_MAX && strlen(cid) < NRO_CID_MAX);
		free(exact);
	}
}

int main(void)
{
	RUN(line_formats);
	RUN(cgroup_paths);
	RUN(every_pattern_on_its_real_line);
	RUN(oom_kill_names_the_pod_and_container);
	RUN(legacy_oom_report_context);
	RUN(near_misses_are_not_problems);
	RUN(long_fields_are_cut_not_overrun);
	RUN(garbage_never_crashes);
	return testing_done();
}
