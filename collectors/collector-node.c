/*
 * collector-node: the host itself, from /proc, /sys, statvfs and adjtimex,
 * under OpenTelemetry hostmetrics names (lib/wire/names_host.h,
 * docs/records-vocabulary.md "The host itself").
 *
 * Every file is read whole under a cap and parsed with a bound. A missing
 * file (an older kernel, no PSI, no conntrack module) is normal and simply
 * absent from the output; an unreadable, oversized or malformed one makes
 * the poll degraded, with the first reason, and the rest still published.
 * Only local filesystems are statvfs'ed: a dead NFS server cannot stall it.
 */
#include <dirent.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/timex.h>
#include <unistd.h>

#include "base/file.h"
#include "base/log.h"
#include "parse/procfs.h"
#include "run/collector.h"
#include "wire/names_host.h"

#define TARGET "/proc"
#define FILE_CAP_SMALL (64u << 10)
#define FILE_CAP_LARGE (4u << 20) /* /proc/stat on 1000s of CPUs, mountinfo on busy nodes */
#define PATH_LEN 1024
#define MOUNTS_MAX 32

#define DEFAULT_MOUNTS "/,/var/lib/kubelet,/var/lib/containerd,/var/lib/docker,/var/log"
/* per-pod and overlay interfaces: per pod, they would explode cardinality */
#define DEFAULT_NET_EXCLUDE                                                                    \
	"lo,veth*,cali*,flannel*,cni*,lxc*,docker*,br-*,virbr*,vxlan*,tunl*,kube-ipvs*,cilium*," \
	"genev*,weave*,vethwe*,datapath,nodelocaldns,tap*,tun*,gke*,azv*,eni*,vnet*,ifb*,dummy*,"  \
	"cbr0,kube-bridge"

static const char default_net_exclude[] = DEFAULT_NET_EXCLUDE;

struct node {
	const char *proc_root, *sys_root, *host_root;
	const char *mounts_opt, *net_include, *net_exclude;
	char *buf; /* FILE_CAP_LARGE, one file at a time */
	struct nro_proc_stat prev;
	int have_prev;
	long hz;
	unsigned problems;
	char first_problem[200];
	unsigned files_read; /* from --proc-root this poll: 0 means a wrong root */
};

/* ---- files ---------------------------------------------------------- */

/* Counts a problem of the poll; the first one is its reason ("what: why"). */
static void problem(struct node *n, const char *what, const char *why)
{
	if (n->problems++ == 0)
		snprintf(n->first_problem, sizeof n->first_problem, "%s%s%s", what,
			 why[0] ? ": " : "", why);
}

/* Reads root+path into n->buf; returns its length, or -1 (missing: silent;
 * anything else: a problem of the poll). */
static long slurp(struct node *n, const char *root, const char *path, size_t cap)
{
	char full[PATH_LEN], err[PATH_LEN + 64];
	size_t len;
	if (nro_path_join(full, sizeof full, root, path) != 0) {
		problem(n, root, "path too long");
		return -1;
	}
	int r = nro_read_file(full, n->buf, cap, &len, err, sizeof err);
	if (r == NRO_READ_MISSING)
		return -1;
	n->files_read += root == n->proc_root;
	if (r != NRO_READ_OK) {
		problem(n, err, "");
		return -1;
	}
	return (long)len;
}

static void malformed(struct node *n, const char *root, const char *path)
{
	char full[PATH_LEN];
	if (nro_path_join(full, sizeof full, root, path) != 0)
		snprintf(full, sizeof full, "%s", path);
	problem(n, full, "malformed");
}

/* A file of one number; returns 0 with *v, or -1. */
static int read_u64(struct node *n, const char *root, const char *path, uint64_t *v)
{
	long len = slurp(n, root, path, FILE_CAP_SMALL);
	if (len < 0)
		return -1;
	if (nro_parse_u64_file(n->buf, (size_t)len, v) != 0) {
		malformed(n, root, path);
		return -1;
	}
	return 0;
}

static void gauge_file(struct nro_collector *c, struct node *n, const char *path,
		       const char *name, const char *unit)
{
	uint64_t v;
	if (read_u64(n, n->proc_root, path, &v) == 0)
		nro_emit_gauge(c, name, unit, (double)v, NULL);
}

/* ---- CPU, load, pressure -------------------------------------------- */

static void cpu_utilization(struct nro_collector *c, struct node *n, const struct nro_proc_stat *st)
{
	uint64_t d[NRO_CPU_STATES], total = 0;
	for (unsigned i = 0; i < NRO_CPU_STATES; i++) {
		if (st->cpu[i] < n->prev.cpu[i])
			return; /* counters went back: a different host or tree */
		d[i] = st->cpu[i] - n->prev.cpu[i];
		total += d[i];
	}
	if (total == 0)
		return;
	for (unsigned i = 0; i < st->cpu_fields; i++)
		nro_emit_gauge(c, NRO_HM_CPU_UTILIZATION, "1", (double)d[i] / (double)total,
			       NRO_HA_STATE, nro_cpu_state_name(i), NULL);
}

static void cpu(struct nro_collector *c, struct node *n, struct nro_proc_stat *st)
{
	long len = slurp(n, n->proc_root, "/stat", FILE_CAP_LARGE);
	if (len < 0)
		return;
	if (nro_parse_proc_stat(n->buf, (size_t)len, st) != 0 || st->bad_lines) {
		malformed(n, n->proc_root, "/stat");
		if (!(st->have & NRO_STAT_HAVE_CPU))
			return;
	}
	for (unsigned i = 0; i < st->cpu_fields; i++)
		nro_emit_counter(c, NRO_HM_CPU_TIME, "s", (double)st->cpu[i] / (double)n->hz,
				 NRO_HA_STATE, nro_cpu_state_name(i), NULL);
	if (n->have_prev)
		cpu_utilization(c, n, st);
	n->prev = *st;
	n->have_prev = 1;
	if (st->ncpus)
		nro_emit_gauge(c, NRO_HM_CPU_COUNT, "{cpu}", st->ncpus, NULL);
	if (st->have & NRO_STAT_HAVE_PROCS) {
		nro_emit_gauge(c, NRO_HM_PROCS, "{process}", (double)st->procs_running,
			       NRO_HA_STATUS, "running", NULL);
		nro_emit_gauge(c, NRO_HM_PROCS, "{process}", (double)st->procs_blocked,
			       NRO_HA_STATUS, "blocked", NULL);
	}
}

static void load(struct nro_collector *c, struct node *n)
{
	struct nro_loadavg la;
	long len = slurp(n, n->proc_root, "/loadavg", FILE_CAP_SMALL);
	if (len < 0)
		return;
	if (nro_parse_loadavg(n->buf, (size_t)len, &la) != 0) {
		malformed(n, n->proc_root, "/loadavg");
		return;
	}
	nro_emit_gauge(c, NRO_HM_LOAD_1M, "{thread}", la.load1, NULL);
	nro_emit_gauge(c, NRO_HM_LOAD_5M, "{thread}", la.load5, NULL);
	nro_emit_gauge(c, NRO_HM_LOAD_15M, "{thread}", la.load15, NULL);
	nro_emit_gauge(c, NRO_HM_THREADS, "{thread}", (double)la.threads, NULL);
}

static void pressure(struct nro_collector *c, struct node *n)
{
	static const char *const res[] = {"cpu", "memory", "io"};
	static const char *const stall[] = {"some", "full"};
	for (unsigned r = 0; r < 3; r++) {
		char path[64];
		struct nro_psi p;
		snprintf(path, sizeof path, "/pressure/%s", res[r]);
		long len = slurp(n, n->proc_root, path, FILE_CAP_SMALL);
		if (len < 0)
			continue;
		if (nro_parse_psi(n->buf, (size_t)len, &p) != 0) {
			malformed(n, n->proc_root, path);
			continue;
		}
		for (unsigned k = 0; k < 2; k++) {
			if (!(p.have & (k ? NRO_PSI_FULL : NRO_PSI_SOME)))
				continue;
			nro_emit_gauge(c, NRO_HM_PSI_AVG10, "%", p.avg10[k], NRO_HA_RESOURCE, res[r],
				       NRO_HA_STALL, stall[k], NULL);
			nro_emit_counter(c, NRO_HM_PSI_TOTAL, "us", (double)p.total[k],
					 NRO_HA_RESOURCE, res[r], NRO_HA_STALL, stall[k], NULL);
		}
	}
}

/* ---- memory ---------------------------------------------------------- */

enum { MEM_TOTAL = 1, MEM_FREE = 2, MEM_AVAIL = 4, MEM_BUFFERS = 8, MEM_CACHED = 16,
       MEM_SRECL = 32, SWAP_TOTAL = 64, SWAP_FREE = 128 };

struct meminfo {
	uint64_t total, free, avail, buffers, cached, srecl, swap_total, swap_free;
	unsigned have;
};

static void mem_states(struct nro_collector *c, const struct meminfo *m)
{
	uint64_t parts = m->free + m->buffers + m->cached + m->srecl;
	uint64_t used = m->total > parts ? m->total - parts : 0;
	const struct { const char *state; uint64_t v; } s[] = {
		{"used", used}, {"free", m->free}, {"buffered", m->buffers},
		{"cached", m->cached}, {"slab_reclaimable", m->srecl},
	};
	for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
		nro_emit_gauge(c, NRO_HM_MEM_USAGE, "By", (double)s[i].v, NRO_HA_STATE, s[i].state,
			       NULL);
}

static void memory(struct nro_collector *c, struct node *n)
{
	struct meminfo m = {0};
	const struct nro_kv_field f[] = {
		{"MemTotal", &m.total, MEM_TOTAL}, {"MemFree", &m.free, MEM_FREE},
		{"MemAvailable", &m.avail, MEM_AVAIL}, {"Buffers", &m.buffers, MEM_BUFFERS},
		{"Cached", &m.cached, MEM_CACHED}, {"SReclaimable", &m.srecl, MEM_SRECL},
		{"SwapTotal", &m.swap_total, SWAP_TOTAL}, {"SwapFree", &m.swap_free, SWAP_FREE},
	};
	long len = slurp(n, n->proc_root, "/meminfo", FILE_CAP_SMALL);
	if (len < 0)
		return;
	if (nro_parse_kv(n->buf, (size_t)len, f, sizeof f / sizeof f[0], &m.have) ||
	    !(m.have & MEM_TOTAL) || !(m.have & MEM_FREE) || m.free > m.total)
		malformed(n, n->proc_root, "/meminfo");
	if (!(m.have & MEM_TOTAL) || !(m.have & MEM_FREE) || m.free > m.total)
		return;
	nro_emit_gauge(c, NRO_HM_MEM_LIMIT, "By", (double)m.total, NULL);
	mem_states(c, &m);
	if ((m.have & MEM_AVAIL) && m.avail <= m.total) {
		nro_emit_gauge(c, NRO_HM_MEM_AVAILABLE, "By", (double)m.avail, NULL);
		if (m.total)
			nro_emit_gauge(c, NRO_HM_MEM_UTILIZATION, "1",
				       1.0 - (double)m.avail / (double)m.total, NULL);
	}
	if ((m.have & SWAP_TOTAL) && (m.have & SWAP_FREE) && m.swap_free <= m.swap_total) {
		nro_emit_gauge(c, NRO_HM_SWAP_USAGE, "By", (double)(m.swap_total - m.swap_free),
			       NRO_HA_STATE, "used", NULL);
		nro_emit_gauge(c, NRO_HM_SWAP_USAGE, "By", (double)m.swap_free, NRO_HA_STATE, "free",
			       NULL);
	}
}

static void vmstat(struct nro_collector *c, struct node *n)
{
	uint64_t oom = 0;
	unsigned have = 0;
	const struct nro_kv_field f[] = {{"oom_kill", &oom, 1}};
	long len = slurp(n, n->proc_root, "/vmstat", FILE_CAP_SMALL);
	if (len < 0)
		return;
	if (nro_parse_kv(n->buf, (size_t)len, f, 1, &have))
		malformed(n, n->proc_root, "/vmstat");
	if (have) /* oom_kill exists since 4.13 */
		nro_emit_counter(c, NRO_HM_OOM_KILLS, "{kill}", (double)oom, NULL);
}

/* ---- limits: PIDs, threads, files, conntrack ------------------------- */

static void count_processes(struct nro_collector *c, struct node *n)
{
	DIR *d = opendir(n->proc_root);
	if (!d)
		return;
	uint64_t count = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		const char *s = e->d_name;
		while (*s >= '0' && *s <= '9')
			s++;
		count += *s == '\0' && s != e->d_name;
	}
	closedir(d);
	nro_emit_gauge(c, NRO_HM_PROCS_ALL, "{process}", (double)count, NULL);
}

static void limits(struct nro_collector *c, struct node *n)
{
	count_processes(c, n);
	gauge_file(c, n, "/sys/kernel/pid_max", NRO_HM_PID_MAX, "{pid}");
	gauge_file(c, n, "/sys/kernel/threads-max", NRO_HM_THREADS_MAX, "{thread}");
	gauge_file(c, n, "/sys/net/netfilter/nf_conntrack_count", NRO_HM_CONNTRACK_COUNT, "{entry}");
	gauge_file(c, n, "/sys/net/netfilter/nf_conntrack_max", NRO_HM_CONNTRACK_MAX, "{entry}");
	uint64_t alloc, unused, max;
	long len = slurp(n, n->proc_root, "/sys/fs/file-nr", FILE_CAP_SMALL);
	if (len < 0)
		return;
	if (nro_parse_file_nr(n->buf, (size_t)len, &alloc, &unused, &max) != 0) {
		malformed(n, n->proc_root, "/sys/fs/file-nr");
		return;
	}
	nro_emit_gauge(c, NRO_HM_FILES_OPEN, "{file}", (double)(alloc - unused), NULL);
	nro_emit_gauge(c, NRO_HM_FILES_MAX, "{file}", (double)max, NULL);
}

/* ---- network --------------------------------------------------------- */

/* name matches one of the comma-separated glob patterns in list */
static int in_list(const char *list, const char *name)
{
	char pat[128];
	while (list && *list) {
		const char *comma = strchr(list, ',');
		size_t l = comma ? (size_t)(comma - list) : strlen(list);
		if (l && l < sizeof pat) {
			memcpy(pat, list, l);
			pat[l] = '\0';
			if (fnmatch(pat, name, 0) == 0)
				return 1;
		}
		list = comma ? comma + 1 : NULL;
	}
	return 0;
}

/* --net-include alone turns the default exclusions off: asking for veth*
 * means wanting them; an explicit --net-exclude still applies. */
static int net_wanted(const struct node *n, const char *ifname)
{
	int include = n->net_include && *n->net_include;
	if (include && !in_list(n->net_include, ifname))
		return 0;
	if (include && n->net_exclude == default_net_exclude)
		return 1;
	return !in_list(n->net_exclude, ifname);
}

static void link_state(struct nro_collector *c, struct node *n, const char *ifname)
{
	char path[64 + NRO_IFNAME_MAX], oper[32] = "", carrier[8] = "";
	snprintf(path, sizeof path, "/class/net/%s/operstate", ifname);
	long len = slurp(n, n->sys_root, path, FILE_CAP_SMALL);
	if (len < 0)
		return;
	nro_parse_word(n->buf, (size_t)len, oper, sizeof oper);
	snprintf(path, sizeof path, "/class/net/%s/carrier", ifname);
	char full[PATH_LEN], err[PATH_LEN + 64];
	size_t cl;
	/* carrier fails with EINVAL while the interface is down: that is "no carrier" */
	if (nro_path_join(full, sizeof full, n->sys_root, path) == 0 &&
	    nro_read_file(full, n->buf, FILE_CAP_SMALL, &cl, err, sizeof err) == NRO_READ_OK)
		nro_parse_word(n->buf, cl, carrier, sizeof carrier);
	if (!oper[0]) {
		malformed(n, n->sys_root, path);
		return;
	}
	int up = strcmp(oper, "up") == 0 && strcmp(carrier, "1") == 0;
	struct nro_attr a[2] = {{nro_s(NRO_HA_DEVICE), nro_s(ifname)},
				{nro_s("carrier"), nro_s(carrier[0] ? carrier : "unknown")}};
	struct nro_state s = {{NRO_OBJ_NODE, {"", 0}, {"", 0}, {"", 0}, nro_s(c->node)},
			      nro_s(NRO_HK_NET_LINK), nro_s(oper), up, 0, 2, a};
	nro_emit_state(c, &s);
}

static void net_counters(struct nro_collector *c, const struct nro_netdev *d)
{
	const struct { const char *name, *unit; uint64_t rx, tx; } m[] = {
		{NRO_HM_NET_IO, "By", d->rx_bytes, d->tx_bytes},
		{NRO_HM_NET_PACKETS, "{packet}", d->rx_packets, d->tx_packets},
		{NRO_HM_NET_ERRORS, "{error}", d->rx_errs, d->tx_errs},
		{NRO_HM_NET_DROPPED, "{packet}", d->rx_drop, d->tx_drop},
	};
	for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) {
		nro_emit_counter(c, m[i].name, m[i].unit, (double)m[i].rx, NRO_HA_DEVICE, d->name,
				 NRO_HA_DIRECTION, "receive", NULL);
		nro_emit_counter(c, m[i].name, m[i].unit, (double)m[i].tx, NRO_HA_DEVICE, d->name,
				 NRO_HA_DIRECTION, "transmit", NULL);
	}
}

static void net_counters_all(struct nro_collector *c, struct node *n)
{
	long len = slurp(n, n->proc_root, "/net/dev", FILE_CAP_LARGE);
	if (len < 0)
		return;
	struct nro_lines it;
	const char *line;
	size_t ln;
	unsigned bad = 0;
	nro_lines_init(&it, n->buf, (size_t)len);
	while (nro_lines_next(&it, &line, &ln)) {
		struct nro_netdev d;
		int r = nro_parse_netdev_line(line, ln, &d);
		bad += r < 0;
		if (r > 0 && net_wanted(n, d.name))
			net_counters(c, &d);
	}
	if (bad)
		malformed(n, n->proc_root, "/net/dev");
}

/* Link state of every wanted interface /sys/class/net lists. */
static void links(struct nro_collector *c, struct node *n)
{
	char dir[PATH_LEN];
	if (nro_path_join(dir, sizeof dir, n->sys_root, "/class/net") != 0)
		return;
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && strlen(e->d_name) < NRO_IFNAME_MAX &&
		    net_wanted(n, e->d_name))
			link_state(c, n, e->d_name);
	closedir(d);
}

static void network(struct nro_collector *c, struct node *n)
{
	net_counters_all(c, n);
	links(c, n);
}

/* ---- filesystems ----------------------------------------------------- */

struct fs {
	struct nro_mount m;
	int found;
};

/* The mount table: the host's init's view, else ours, else /proc/mounts. */
static long mount_table(struct node *n, int *mountinfo)
{
	static const char *const paths[] = {"/1/mountinfo", "/self/mountinfo", "/mounts"};
	for (unsigned i = 0; i < 3; i++) {
		long len = slurp(n, n->proc_root, paths[i], FILE_CAP_LARGE);
		if (len >= 0) {
			*mountinfo = i < 2;
			return len;
		}
	}
	return -1;
}

static int path_under(const char *path, const char *mnt)
{
	size_t l = strlen(mnt);
	if (strcmp(mnt, "/") == 0)
		return path[0] == '/';
	return strncmp(path, mnt, l) == 0 && (path[l] == '\0' || path[l] == '/');
}

/* For each wanted path, the last-mounted entry with the longest mountpoint
 * holding it (later mounts stack over earlier ones). */
static void find_mounts(struct node *n, const char *table, size_t len, int mountinfo,
			char paths[][NRO_MNT_PATH_MAX], struct fs *fs, unsigned np)
{
	struct nro_lines it;
	const char *line;
	size_t ln;
	unsigned bad = 0;
	nro_lines_init(&it, table, len);
	while (nro_lines_next(&it, &line, &ln)) {
		struct nro_mount m;
		if (ln == 0)
			continue;
		int r = mountinfo ? nro_parse_mountinfo_line(line, ln, &m)
				  : nro_parse_mounts_line(line, ln, &m);
		if (r != 1) {
			bad++;
			continue;
		}
		for (unsigned i = 0; i < np; i++)
			if (path_under(paths[i], m.mountpoint) &&
			    (!fs[i].found || strlen(m.mountpoint) >= strlen(fs[i].m.mountpoint))) {
				fs[i].m = m;
				fs[i].found = 1;
			}
	}
	if (bad)
		malformed(n, n->proc_root, mountinfo ? "/1/mountinfo" : "/mounts");
}

static void fs_emit(struct nro_collector *c, const struct nro_mount *m, const struct statvfs *v)
{
	int ro = m->ro || (v->f_flag & ST_RDONLY);
	const char *mode = ro ? "ro" : "rw";
	double bs = (double)v->f_frsize;
	/* guarded: a filesystem may report bavail > bfree (FUSE, some drivers) */
	double used = v->f_blocks > v->f_bfree ? (double)(v->f_blocks - v->f_bfree) * bs : 0;
	double avail = (double)v->f_bavail * bs;
	double reserved = v->f_bfree > v->f_bavail ? (double)(v->f_bfree - v->f_bavail) * bs : 0;
	const char *const st[3] = {"used", "free", "reserved"};
	const double val[3] = {used, avail, reserved};
	for (int i = 0; i < 3; i++)
		nro_emit_gauge(c, NRO_HM_FS_USAGE, "By", val[i], NRO_HA_STATE, st[i], NRO_HA_DEVICE,
			       m->device, NRO_HA_MOUNTPOINT, m->mountpoint, NRO_HA_TYPE, m->fstype,
			       NRO_HA_MODE, mode, NULL);
	if (used + avail > 0)
		nro_emit_gauge(c, NRO_HM_FS_UTILIZATION, "1", used / (used + avail), NRO_HA_DEVICE,
			       m->device, NRO_HA_MOUNTPOINT, m->mountpoint, NRO_HA_TYPE, m->fstype,
			       NRO_HA_MODE, mode, NULL);
	if (v->f_files) {
		uint64_t iused = v->f_files > v->f_ffree ? v->f_files - v->f_ffree : 0;
		nro_emit_gauge(c, NRO_HM_FS_INODES, "{inode}", (double)iused,
			       NRO_HA_STATE, "used", NRO_HA_DEVICE, m->device, NRO_HA_MOUNTPOINT,
			       m->mountpoint, NRO_HA_TYPE, m->fstype, NRO_HA_MODE, mode, NULL);
		nro_emit_gauge(c, NRO_HM_FS_INODES, "{inode}", (double)v->f_ffree, NRO_HA_STATE,
			       "free", NRO_HA_DEVICE, m->device, NRO_HA_MOUNTPOINT, m->mountpoint,
			       NRO_HA_TYPE, m->fstype, NRO_HA_MODE, mode, NULL);
	}
	struct nro_attr a[3] = {{nro_s(NRO_HA_MOUNTPOINT), nro_s(m->mountpoint)},
				{nro_s(NRO_HA_DEVICE), nro_s(m->device)},
				{nro_s(NRO_HA_TYPE), nro_s(m->fstype)}};
	struct nro_state s = {{NRO_OBJ_NODE, {"", 0}, {"", 0}, {"", 0}, nro_s(c->node)},
			      nro_s(NRO_HK_FS_MODE), nro_s(mode), ro, 0, 3, a};
	nro_emit_state(c, &s);
}

/* Splits --mounts into paths that exist under the host root. */
static unsigned wanted_paths(struct node *n, char paths[][NRO_MNT_PATH_MAX])
{
	unsigned np = 0;
	const char *p = n->mounts_opt;
	while (p && *p && np < MOUNTS_MAX) {
		const char *comma = strchr(p, ',');
		size_t l = comma ? (size_t)(comma - p) : strlen(p);
		char full[PATH_LEN];
		struct stat sb;
		if (l && l < NRO_MNT_PATH_MAX && p[0] == '/') {
			memcpy(paths[np], p, l);
			paths[np][l] = '\0';
			if (nro_path_join(full, sizeof full, n->host_root, paths[np]) == 0 &&
			    stat(full, &sb) == 0)
				np++;
		}
		p = comma ? comma + 1 : NULL;
	}
	return np;
}

static void filesystems(struct nro_collector *c, struct node *n)
{
	static char paths[MOUNTS_MAX][NRO_MNT_PATH_MAX];
	static struct fs fs[MOUNTS_MAX];
	unsigned np = wanted_paths(n, paths);
	int mountinfo = 0;
	long len = np ? mount_table(n, &mountinfo) : -1;
	if (len < 0)
		return;
	memset(fs, 0, sizeof fs);
	find_mounts(n, n->buf, (size_t)len, mountinfo, paths, fs, np);
	for (unsigned i = 0; i < np; i++) {
		int dup = 0;
		for (unsigned j = 0; j < i; j++)
			dup |= fs[j].found && strcmp(fs[j].m.mountpoint, fs[i].m.mountpoint) == 0;
		if (!fs[i].found || dup || nro_fstype_is_remote(fs[i].m.fstype))
			continue;
		char full[PATH_LEN];
		struct statvfs v;
		if (nro_path_join(full, sizeof full, n->host_root, fs[i].m.mountpoint) != 0 ||
		    statvfs(full, &v) != 0) {
			problem(n, fs[i].m.mountpoint, "statvfs failed");
			continue;
		}
		fs_emit(c, &fs[i].m, &v);
	}
}

/* ---- clock and identity ---------------------------------------------- */

static void clock_state(struct nro_collector *c)
{
	struct timex tx;
	memset(&tx, 0, sizeof tx); /* modes 0: read only, no privilege needed */
	int r = adjtimex(&tx);
	if (r < 0)
		return;
	int synced = r != TIME_ERROR && !(tx.status & STA_UNSYNC);
	double unit = (tx.status & STA_NANO) ? 1e-9 : 1e-6;
	double offset = (double)tx.offset * unit, maxerr = (double)tx.maxerror * 1e-6;
	char off[32], me[32];
	snprintf(off, sizeof off, "%.6f", offset);
	snprintf(me, sizeof me, "%.6f", maxerr);
	nro_emit_gauge(c, NRO_HM_CLOCK_OFFSET, "s", offset, NULL);
	nro_emit_gauge(c, NRO_HM_CLOCK_MAXERROR, "s", maxerr, NULL);
	struct nro_attr a[2] = {{nro_s("offset_s"), nro_s(off)}, {nro_s("max_error_s"), nro_s(me)}};
	struct nro_state s = {{NRO_OBJ_NODE, {"", 0}, {"", 0}, {"", 0}, nro_s(c->node)},
			      nro_s(NRO_HK_CLOCK), nro_s(synced ? "synchronized" : "unsynchronized"),
			      synced, 0, 2, a};
	nro_emit_state(c, &s);
}

static void identity(struct nro_collector *c, struct node *n, const struct nro_proc_stat *st)
{
	char boot_id[64] = "", release[128] = "";
	double uptime = 0;
	long len = slurp(n, n->proc_root, "/sys/kernel/random/boot_id", FILE_CAP_SMALL);
	if (len < 0)
		return;
	nro_parse_word(n->buf, (size_t)len, boot_id, sizeof boot_id);
	if (!boot_id[0]) {
		malformed(n, n->proc_root, "/sys/kernel/random/boot_id");
		return;
	}
	if ((len = slurp(n, n->proc_root, "/uptime", FILE_CAP_SMALL)) >= 0) {
		char *end;
		uptime = strtod(n->buf, &end);
		if (end == n->buf || !(uptime >= 0 && uptime < 1e10)) {
			malformed(n, n->proc_root, "/uptime");
			uptime = 0;
		} else {
			nro_emit_gauge(c, NRO_HM_UPTIME, "s", uptime, NULL);
		}
	}
	if ((len = slurp(n, n->proc_root, "/sys/kernel/osrelease", FILE_CAP_SMALL)) > 0)
		snprintf(release, sizeof release, "%.*s", (int)strcspn(n->buf, "\n"), n->buf);
	struct nro_attr a[1] = {{nro_s(NRO_HA_KERNEL_RELEASE), nro_s(release)}};
	int64_t since = st->have & NRO_STAT_HAVE_BTIME ? (int64_t)st->btime * 1000 : 0;
	struct nro_state s = {{NRO_OBJ_NODE, {"", 0}, {"", 0}, {"", 0}, nro_s(c->node)},
			      nro_s(NRO_HK_BOOT), nro_s(boot_id), uptime, since, release[0] ? 1 : 0, a};
	nro_emit_state(c, &s);
}

/* ---- the poll -------------------------------------------------------- */

static int poll(struct nro_collector *c, void *ctx, struct nro_fetch *res)
{
	struct node *n = ctx;
	struct nro_proc_stat st;
	memset(&st, 0, sizeof st);
	n->problems = 0;
	n->first_problem[0] = '\0';
	n->files_read = 0;
	cpu(c, n, &st);
	load(c, n);
	pressure(c, n);
	memory(c, n);
	vmstat(c, n);
	limits(c, n);
	network(c, n);
	filesystems(c, n);
	clock_state(c);
	identity(c, n, &st);
	if (n->files_read == 0) {
		snprintf(res->message, sizeof res->message, "%s: nothing readable (%s)", n->proc_root,
			 n->problems ? n->first_problem : "no stat, meminfo, net/dev, ...");
		res->err = NRO_ERR_PARSE;
		return -1;
	}
	if (n->problems) {
		c->degraded = 1;
		snprintf(c->degraded_msg, sizeof c->degraded_msg, "%u host file%s skipped (first: %s)",
			 n->problems, n->problems == 1 ? "" : "s", n->first_problem);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct node n;
	struct nro_collector c;
	n.proc_root = "/proc";
	n.sys_root = "/sys";
	n.host_root = "/";
	n.mounts_opt = DEFAULT_MOUNTS;
	n.net_exclude = default_net_exclude;
	const struct nro_optdef opts[] = {
		{"proc-root", 0, "NRO_PROC_ROOT", NRO_OPT_STR, &n.proc_root, NULL, "DIR",
		 "the host's /proc (in a container: /host/proc; default /proc)"},
		{"sys-root", 0, "NRO_SYS_ROOT", NRO_OPT_STR, &n.sys_root, NULL, "DIR",
		 "the host's /sys (in a container: /host/sys; default /sys)"},
		{"host-root", 0, "NRO_HOST_ROOT", NRO_OPT_STR, &n.host_root, NULL, "DIR",
		 "where the host's filesystems are visible, for statvfs (default /)"},
		{"mounts", 0, "NRO_MOUNTS", NRO_OPT_STR, &n.mounts_opt, NULL, "LIST",
		 "comma-separated paths whose filesystems are reported, those that exist "
		 "(default " DEFAULT_MOUNTS ")"},
		{"net-include", 0, "NRO_NET_INCLUDE", NRO_OPT_STR, &n.net_include, NULL, "GLOBS",
		 "report only interfaces matching these comma-separated globs (default all but "
		 "--net-exclude's; given alone, the default exclusions are off)"},
		{"net-exclude", 0, "NRO_NET_EXCLUDE", NRO_OPT_STR, &n.net_exclude, NULL, "GLOBS",
		 "never report these (default: loopback and per-pod/overlay interfaces: "
		 DEFAULT_NET_EXCLUDE "; \"\" for none)"},
		{NULL, 0, NULL, 0, NULL, NULL, NULL, NULL},
	};
	nro_collector_init_local(
		&c, "collector-node",
		"Read the host itself and publish OpenTelemetry hostmetrics: CPU time and\n"
		"utilization, load, PSI (/proc/stat, loadavg, pressure/*), memory and swap\n"
		"(meminfo), oom_kill (vmstat), processes and threads vs pid_max and\n"
		"threads-max, open files (file-nr), conntrack entries vs max, per-interface\n"
		"bytes/packets/errors/drops (net/dev) and link state (/sys/class/net),\n"
		"filesystem bytes, inodes and read-only flag (statvfs on the local mounts\n"
		"holding --mounts; network filesystems are never touched), clock sync\n"
		"(adjtimex), boot id, uptime and kernel release. Needs read access only:\n"
		"no capability, no root.",
		TARGET, 15000, opts, argc, argv);
	c.target = n.proc_root;
	n.hz = sysconf(_SC_CLK_TCK);
	if (n.hz <= 0)
		n.hz = 100;
	n.buf = malloc(FILE_CAP_LARGE);
	if (!n.buf)
		nro_die(NRO_EXIT_TEMP, "out of memory");
	int r = nro_collector_run(&c, poll, &n);
	free(n.buf);
	return r;
}
