/* The /proc parsers on lines copied from real machines (node_exporter's and
 * procfs's fixtures, a Kubernetes VM's sosreport), then on broken input. */
#include "parse/procfs.h"

#include <string.h>

#include "base/testing.h"

#define S(lit) lit, sizeof lit - 1

TEST(proc_stat_from_an_8_cpu_host)
{
	struct nro_proc_stat st;
	const char f[] = "cpu  301854 612 111922 8979004 3552 2 3944 0 44 36\n"
			 "cpu0 44490 19 21045 1087069 220 1 3410 0 2 1\n"
			 "cpu1 47869 23 16474 1110787 591 0 46 0 3 2\n"
			 "intr 8885917 17 0 0 0 0\n"
			 "btime 1418183276\nprocesses 26442\nprocs_running 2\nprocs_blocked 1\n";
	CHECK(nro_parse_proc_stat(S(f), &st) == 0);
	CHECK(st.cpu[NRO_CPU_USER] == 301854 && st.cpu[NRO_CPU_IDLE] == 8979004);
	CHECK(st.cpu[NRO_CPU_SOFTIRQ] == 3944 && st.cpu[NRO_CPU_STEAL] == 0);
	CHECK(st.cpu_fields == NRO_CPU_STATES && st.ncpus == 2);
	CHECK(st.btime == 1418183276 && st.procs_running == 2 && st.procs_blocked == 1);
	CHECK(st.have == (NRO_STAT_HAVE_CPU | NRO_STAT_HAVE_BTIME | NRO_STAT_HAVE_PROCS));
	CHECK_STR(nro_cpu_state_name(NRO_CPU_IOWAIT), "wait");
}

TEST(proc_stat_broken)
{
	struct nro_proc_stat st;
	CHECK(nro_parse_proc_stat(S("cpu  1 2 3\n"), &st) == -1); /* under 4 fields */
	CHECK(nro_parse_proc_stat(S("cpu  1 2 3 99999999999999999999999\n"), &st) == -1);
	CHECK(nro_parse_proc_stat(S("cpu  1 2 3 x4\n"), &st) == -1);
	CHECK(nro_parse_proc_stat(S("\x01\x02garbage"), &st) == -1);
	CHECK(nro_parse_proc_stat(S("cpu  1 2 3 4\nbtime x\n"), &st) == 0 && st.bad_lines == 1 &&
	      !(st.have & NRO_STAT_HAVE_BTIME));
}

TEST(meminfo_and_vmstat_lines)
{
	uint64_t total = 0, avail = 0, oom = 0;
	unsigned have = 0;
	struct nro_kv_field f[] = {{"MemTotal", &total, 1}, {"MemAvailable", &avail, 2},
				   {"oom_kill", &oom, 4}};
	const char m[] = "MemTotal:       15666184 kB\nMemFree:          440324 kB\n"
			 "HugePages_Total:       0\nbroken line here\nMemAvailable:   7865216 kB\n";
	CHECK(nro_parse_kv(S(m), f, 3, &have) == 1);
	CHECK(total == 15666184ull * 1024 && avail == 7865216ull * 1024 && have == 3);
	have = 0;
	CHECK(nro_parse_kv(S("nr_free_pages 2003\noom_kill 7\n"), f, 3, &have) == 0);
	CHECK(oom == 7 && have == 4);
	have = 0;
	CHECK(nro_parse_kv(S("MemTotal: 99999999999999999999 kB\n"), f, 3, &have) == 1 && !have);
	CHECK(nro_parse_kv(S("MemTotal: 18446744073709551 kB\n"), f, 3, &have) == 1 && !have);
}

TEST(loadavg_psi_file_nr)
{
	struct nro_loadavg la;
	CHECK(nro_parse_loadavg(S("0.21 0.37 0.39 1/719 19737\n"), &la) == 0);
	CHECK(la.load1 == 0.21 && la.load15 == 0.39 && la.running == 1 && la.threads == 719);
	CHECK(nro_parse_loadavg(S("0.21 0.37\n"), &la) == -1);
	CHECK(nro_parse_loadavg(S("nan 1 1 1/1 1\n"), &la) == -1);
	struct nro_psi p;
	CHECK(nro_parse_psi(S("some avg10=0.18 avg60=0.34 avg300=0.10 total=159886802\n"
			      "full avg10=0.18 avg60=0.34 avg300=0.10 total=159229614\n"),
			    &p) == 0);
	CHECK(p.have == (NRO_PSI_SOME | NRO_PSI_FULL) && p.avg10[0] == 0.18 &&
	      p.total[1] == 159229614);
	CHECK(nro_parse_psi(S("some avg10=0.00 avg60=0.00 avg300=0.00 total=14036781\n"), &p) == 0);
	CHECK(p.have == NRO_PSI_SOME && p.total[0] == 14036781);
	CHECK(nro_parse_psi(S("some avg10=x\n"), &p) == -1);
	uint64_t a, fr, mx;
	CHECK(nro_parse_file_nr(S("1024\t0\t1631329\n"), &a, &fr, &mx) == 0);
	CHECK(a == 1024 && fr == 0 && mx == 1631329);
	CHECK(nro_parse_file_nr(S("1024\t0\n"), &a, &fr, &mx) == -1);
	uint64_t v;
	CHECK(nro_parse_u64_file(S("7801"), &v) == 0 && v == 7801); /* no final newline */
	CHECK(nro_parse_u64_file(S("12 13\n"), &v) == -1);
	CHECK(nro_parse_u64_file(S(""), &v) == -1);
}

TEST(net_dev_lines)
{
	struct nro_netdev d;
	const char h[] = "Inter-|   Receive                                                |  Transmit";
	CHECK(nro_parse_netdev_line(S(h), &d) == 0);
	const char l[] = "vethf345468:     648       8    0    0    0     0          0         0      "
			 "438       5    0    0    0     0       0          0";
	CHECK(nro_parse_netdev_line(S(l), &d) == 1);
	CHECK_STR(d.name, "vethf345468");
	CHECK(d.rx_bytes == 648 && d.rx_packets == 8 && d.tx_bytes == 438 && d.tx_packets == 5);
	const char big[] = "  eth0:18446744073709551615 1 2 3 0 0 0 0 4 5 6 7 0 0 0 0";
	CHECK(nro_parse_netdev_line(S(big), &d) == 1 && d.rx_bytes == UINT64_MAX &&
	      d.rx_errs == 2 && d.tx_drop == 7);
	CHECK(nro_parse_netdev_line(S("  eth0: 1 2 3"), &d) == -1);
	CHECK(nro_parse_netdev_line(S(": 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16"), &d) == -1);
	/* fuzz/crashes/procfs/netdev-name-with-nul: a NUL (or a blank) inside the
	 * name made an interface named "" (the name is the run before ':') */
	const char nul[] = " \0   lo: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16";
	CHECK(nro_parse_netdev_line(nul, sizeof nul - 1, &d) == -1);
	CHECK(nro_parse_netdev_line(S("  e th0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16"), &d) == -1);
	CHECK(nro_parse_netdev_line(S("a/b: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16"), &d) == -1);
	CHECK(nro_parse_netdev_line(S("bond0.100: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16"), &d) == 1);
	CHECK_STR(d.name, "bond0.100");
}

TEST(mountinfo_and_mounts_lines)
{
	struct nro_mount m;
	const char l[] = "26 29 0:5 / /dev rw,nosuid,relatime shared:2 - devtmpfs udev rw,size=7978892k";
	CHECK(nro_parse_mountinfo_line(S(l), &m) == 1);
	CHECK_STR(m.mountpoint, "/dev");
	CHECK_STR(m.fstype, "devtmpfs");
	CHECK_STR(m.device, "udev");
	CHECK(!m.ro);
	const char esc[] = "3148 3003 260:0 / /mnt/[vsanDatastore]\\040bafb9e5a.vmdk ro,relatime "
			   "shared:31 - ext4 /dev/sda rw,data=ordered";
	CHECK(nro_parse_mountinfo_line(S(esc), &m) == 1);
	CHECK_STR(m.mountpoint, "/mnt/[vsanDatastore] bafb9e5a.vmdk");
	CHECK(m.ro);
	CHECK(nro_parse_mountinfo_line(S("26 29 0:5 / /dev rw shared:2"), &m) == -1);
	CHECK(nro_parse_mounts_line(S("/dev/vda1 / ext4 rw,relatime 0 0"), &m) == 1);
	CHECK_STR(m.mountpoint, "/");
	CHECK(nro_parse_mounts_line(S("/dev/vda1 / ext4 rw,noatime,ro 0 0"), &m) == 1 && m.ro);
	CHECK(nro_parse_mounts_line(S("/dev/vda1 /"), &m) == -1);
	char huge[2048];
	memset(huge, 'a', sizeof huge);
	CHECK(nro_parse_mounts_line(huge, sizeof huge, &m) == -1);
	CHECK(nro_fstype_is_remote("nfs4") && nro_fstype_is_remote("fuse.sshfs"));
	CHECK(!nro_fstype_is_remote("ext4") && !nro_fstype_is_remote("xfs"));
}

TEST(operstate_word)
{
	char w[16];
	nro_parse_word(S("up\n"), w, sizeof w);
	CHECK_STR(w, "up");
	nro_parse_word(S("lowerlayerdown\n"), w, sizeof w);
	CHECK_STR(w, "lowerlayerdown");
	nro_parse_word(S("u\x01p\n"), w, sizeof w);
	CHECK_STR(w, "");
	nro_parse_word(S("averyveryverylongword\n"), w, sizeof w);
	CHECK_STR(w, "");
}

/* Random bytes and random mixes of real lines through every parser: under
 * ASan/UBSan this is where an out-of-bounds read would show. */
TEST(garbage_never_crashes)
{
	static const char *const pieces[] = {"cpu  1 2 3 4", "MemTotal: 1 kB", "some avg10=1.0 total=2",
					     "eth0: 1 2", "26 29 0:5 / /d rw - ext4 x rw", ":", "\\0",
					     "99999999999999999999", " ", "\n", "-", "kB", "/"};
	unsigned seed = 12345;
	char buf[512];
	for (int round = 0; round < 20000; round++) {
		size_t n = 0, want = (seed = seed * 1103515245 + 12345) % sizeof buf;
		while (n < want) {
			seed = seed * 1103515245 + 12345;
			if (round % 2) {
				buf[n++] = (char)(seed >> 16);
			} else {
				const char *p = pieces[(seed >> 16) % (sizeof pieces / sizeof pieces[0])];
				for (; *p && n < want; p++)
					buf[n++] = *p;
			}
		}
		struct nro_proc_stat st;
		struct nro_loadavg la;
		struct nro_psi psi;
		struct nro_netdev d;
		struct nro_mount m;
		uint64_t a, b, c, v = 0;
		unsigned have = 0;
		struct nro_kv_field f[] = {{"MemTotal", &v, 1}};
		char w[16];
		/* each parser is handed exactly n bytes: no terminator to lean on */
		char *exact = malloc(n ? n : 1);
		memcpy(exact, buf, n);
		nro_parse_proc_stat(exact, n, &st);
		nro_parse_kv(exact, n, f, 1, &have);
		nro_parse_loadavg(exact, n, &la);
		nro_parse_psi(exact, n, &psi);
		nro_parse_file_nr(exact, n, &a, &b, &c);
		nro_parse_u64_file(exact, n, &v);
		nro_parse_netdev_line(exact, n, &d);
		nro_parse_mountinfo_line(exact, n, &m);
		nro_parse_mounts_line(exact, n, &m);
		nro_parse_word(exact, n, w, sizeof w);
		free(exact);
	}
	CHECK(1); /* the check is ASan's: reaching here without a report */
}

int main(void)
{
	RUN(proc_stat_from_an_8_cpu_host);
	RUN(proc_stat_broken);
	RUN(meminfo_and_vmstat_lines);
	RUN(loadavg_psi_file_nr);
	RUN(net_dev_lines);
	RUN(mountinfo_and_mounts_lines);
	RUN(operstate_word);
	RUN(garbage_never_crashes);
	return testing_done();
}
