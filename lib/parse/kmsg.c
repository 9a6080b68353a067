#include "parse/kmsg.h"

#include <stdio.h>
#include <string.h>

#include "wire/names_host.h"

/* ---- small bounded helpers ------------------------------------------- */

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int starts(const char *s, size_t n, const char *prefix)
{
	size_t l = strlen(prefix);
	return n >= l && memcmp(s, prefix, l) == 0;
}

static const char *find(const char *s, size_t n, const char *needle)
{
	return memmem(s, n, needle, strlen(needle));
}

/* Copies s[0..n) up to the first byte of stops (or n) into out, cut to fit;
 * returns the bytes taken from s. */
static size_t copy_until(char *out, size_t outlen, const char *s, size_t n, const char *stops)
{
	size_t i = 0;
	while (i < n && !strchr(stops, s[i]))
		i++;
	size_t c = i < outlen - 1 ? i : outlen - 1;
	memcpy(out, s, c);
	out[c] = '\0';
	return i;
}

/* Digits at s (at most 19); returns how many, 0 if none. */
static size_t take_u64(const char *s, size_t n, uint64_t *v)
{
	size_t i = 0;
	*v = 0;
	while (i < n && i < 19 && is_digit(s[i]))
		*v = *v * 10 + (uint64_t)(s[i++] - '0');
	return i;
}

/* ---- line formats ------------------------------------------------------ */

/* "PRI,SEQ,TS_USEC,FLAGS[,...];" */
static size_t raw_prefix(const char *s, size_t n, struct nro_kline *k)
{
	uint64_t v[3];
	size_t i = 0;
	for (int f = 0; f < 3; f++) {
		size_t d = take_u64(s + i, n - i, &v[f]);
		if (!d || i + d >= n || s[i + d] != ',')
			return 0;
		i += d + 1;
	}
	const char *semi = memchr(s + i, ';', n - i < 64 ? n - i : 64);
	if (!semi || v[0] > 1023)
		return 0;
	k->raw = 1;
	k->pri = (int)v[0];
	k->seq = v[1];
	k->ts_usec = v[2];
	return (size_t)(semi - s) + 1;
}

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* "Mon dd hh:mm:ss" or "2026-12-01T08:00:00": a syslog/journal line. */
static int syslog_stamp(const char *s, size_t n)
{
	if (n >= 15 && s[3] == ' ' && s[9] == ':' && s[12] == ':')
		for (int i = 0; i < 12; i++)
			if (memcmp(s, months[i], 3) == 0)
				return 1;
	return n >= 20 && is_digit(s[0]) && s[4] == '-' && s[7] == '-' && s[10] == 'T';
}

/* "[  407.147725] " or "[Tue Nov 20 22:30:22 2018] " */
static size_t dmesg_stamp(const char *s, size_t n)
{
	if (n < 3 || s[0] != '[')
		return 0;
	const char *close = memchr(s, ']', n < 40 ? n : 40);
	if (!close)
		return 0;
	size_t i = 1, end = (size_t)(close - s);
	while (i < end && s[i] == ' ')
		i++;
	int numeric = i < end;
	for (size_t j = i; j < end; j++)
		numeric &= is_digit(s[j]) || s[j] == '.';
	int dated = end >= 25 && s[4] == ' ' && s[14] == ':' && s[17] == ':';
	if (!numeric && !dated)
		return 0;
	i = end + 1;
	return i < n && s[i] == ' ' ? i + 1 : i;
}

static int binary(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t' && !(c == '\r' && i == n - 1)) || c == 0x7f)
			return 1;
	}
	return 0;
}

/* Strips "host kernel: " style prefixes; -1 for another program's line. */
static long kernel_tag(const char *s, size_t n)
{
	size_t i = 0;
	if (syslog_stamp(s, n)) {
		const char *tag = find(s, n < 200 ? n : 200, " kernel:");
		if (!tag)
			return -1;
		i = (size_t)(tag - s) + 8;
	} else {
		while (i < n && s[i] == ' ')
			i++;
		if (!starts(s + i, n - i, "kernel:"))
			return 0; /* no tag: the bare message */
		i += 7;
	}
	while (i < n && s[i] == ' ')
		i++;
	return (long)i;
}

int nro_kline_parse(const char *s, size_t n, int after_raw, struct nro_kline *k)
{
	memset(k, 0, sizeof *k);
	k->pri = -1;
	if (binary(s, n))
		return NRO_KLINE_BINARY;
	if (n && s[n - 1] == '\r')
		n--;
	if (after_raw && n && s[0] == ' ')
		return NRO_KLINE_DICT;
	size_t i = raw_prefix(s, n, k);
	if (!i) {
		long t = kernel_tag(s, n);
		if (t < 0)
			return NRO_KLINE_NOT_KERNEL;
		i = (size_t)t;
		if (i + 3 < n && s[i] == '<' && is_digit(s[i + 1])) { /* pstore "<6>" */
			const char *gt = memchr(s + i, '>', 6 < n - i ? 6 : n - i);
			if (gt)
				i = (size_t)(gt - s) + 1;
		}
		i += dmesg_stamp(s + i, n - i);
	}
	k->msg = s + i;
	k->len = n - i;
	return k->len ? NRO_KLINE_OK : NRO_KLINE_EMPTY;
}

/* ---- cgroup paths ------------------------------------------------------ */

/* hex digits and dashes (underscores in a systemd slice name), 32..36
 * long: a pod UID (static pods use 32 hex) */
static int uid_ok(const char *s, size_t n)
{
	if (n < 32 || n > 36)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(is_digit(s[i]) || (s[i] >= 'a' && s[i] <= 'f') || s[i] == '-' || s[i] == '_'))
			return 0;
	return 1;
}

static int cid_ok(const char *s, size_t n)
{
	if (n < 12 || n >= NRO_CID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(is_digit(s[i]) || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* One path segment naming a pod: "pod<uid>" or "kubepods-...-pod<uid_>.slice". */
static int pod_segment(const char *s, size_t n, char uid[NRO_UID_MAX])
{
	const char *u = NULL;
	size_t ul = 0;
	if (starts(s, n, "pod")) {
		u = s + 3;
		ul = n - 3;
	} else if (starts(s, n, "kubepods-") && n > 6 && memcmp(s + n - 6, ".slice", 6) == 0) {
		const char *p = s;
		for (const char *q; (q = find(p, (size_t)(s + n - p), "-pod")) != NULL; p = q + 4)
			u = q + 4;
		ul = u ? (size_t)(s + n - 6 - u) : 0;
	}
	if (!u || !uid_ok(u, ul) || ul >= NRO_UID_MAX)
		return 0;
	for (size_t i = 0; i < ul; i++)
		uid[i] = u[i] == '_' ? '-' : u[i];
	uid[ul] = '\0';
	return 1;
}

/* "<id>", "cri-containerd-<id>.scope", "docker-<id>.scope", "crio-<id>.scope" */
static void container_segment(const char *s, size_t n, char cid[NRO_CID_MAX])
{
	static const char *const prefixes[] = {"cri-containerd-", "docker-", "crio-", ""};
	if (n > 6 && memcmp(s + n - 6, ".scope", 6) == 0)
		n -= 6;
	for (int i = 0; i < 4; i++) {
		size_t pl = strlen(prefixes[i]);
		if (starts(s, n, prefixes[i]) && cid_ok(s + pl, n - pl)) {
			memcpy(cid, s + pl, n - pl);
			cid[n - pl] = '\0';
			return;
		}
	}
}

int nro_cgroup_pod(const char *path, size_t n, char uid[NRO_UID_MAX], char cid[NRO_CID_MAX])
{
	int under_kubepods = 0;
	uid[0] = cid[0] = '\0';
	size_t i = 0;
	while (i < n) {
		while (i < n && path[i] == '/')
			i++;
		size_t start = i;
		while (i < n && path[i] != '/')
			i++;
		const char *seg = path + start;
		size_t sl = i - start;
		if (uid[0]) {
			container_segment(seg, sl, cid);
			return 1;
		}
		if (under_kubepods && pod_segment(seg, sl, uid))
			continue;
		under_kubepods |= starts(seg, sl, "kubepods");
	}
	return uid[0] != 0;
}

/* ---- the problems ------------------------------------------------------ */

typedef int (*take_fn)(struct nro_kmatch *m, const char *msg, size_t n, const char *rest,
		       size_t rn, struct nro_kproblem *p);

static void pod_from(struct nro_kproblem *p, const char *path)
{
	nro_cgroup_pod(path, strlen(path), p->pod_uid, p->container_id);
}

/* "oom-kill:constraint=CONSTRAINT_MEMCG,...,oom_memcg=/..,task_memcg=/..,task=manager,pid=966,uid=0" */
static int take_oom_kill(struct nro_kmatch *m, const char *msg, size_t n, const char *rest,
			 size_t rn, struct nro_kproblem *p)
{
	(void)msg;
	(void)n;
	const char *t = find(rest, rn, ",task=");
	const char *pid = t ? find(t, (size_t)(rest + rn - t), ",pid=") : NULL;
	if (!t || !pid)
		return 0;
	uint64_t v;
	size_t pend = (size_t)(rest + rn - pid) - 5;
	if (!take_u64(pid + 5, pend, &v))
		return 0;
	copy_until(p->task, sizeof p->task, t + 6, (size_t)(pid - t) - 6, "");
	snprintf(p->pid, sizeof p->pid, "%llu", (unsigned long long)v);
	const char *c = find(rest, rn, "constraint=");
	if (c)
		copy_until(p->constraint, sizeof p->constraint, c + 11, (size_t)(rest + rn - c) - 11, ",");
	const char *om = find(rest, rn, "oom_memcg="), *tm = find(rest, rn, "task_memcg=");
	if (om)
		copy_until(p->oom_memcg, sizeof p->oom_memcg, om + 10, (size_t)(rest + rn - om) - 10, ",");
	if (tm)
		copy_until(p->memcg, sizeof p->memcg, tm + 11, (size_t)(rest + rn - tm) - 11, ",");
	pod_from(p, p->memcg[0] ? p->memcg : p->oom_memcg);
	snprintf(p->subject, sizeof p->subject, "%s", p->task);
	p->num = (double)v;
	m->reported_pid = (int64_t)v;
	return 1;
}

static void oom_reset(struct nro_kmatch *m)
{
	int64_t keep = m->reported_pid;
	memset(m, 0, sizeof *m);
	m->reported_pid = keep;
}

/* "[Memory cgroup out of memory: |Out of memory: ]Killed process 4254 (python3) total-vm:..." */
static int take_killed(struct nro_kmatch *m, const char *msg, size_t n, const char *rest,
		       size_t rn, struct nro_kproblem *p)
{
	uint64_t v;
	size_t d = take_u64(rest, rn, &v);
	if (!d || rn < d + 3 || rest[d] != ' ' || rest[d + 1] != '(')
		return 0;
	if ((int64_t)v == m->reported_pid) { /* the oom-kill: line said it already */
		m->reported_pid = 0;
		oom_reset(m);
		return 0;
	}
	copy_until(p->task, sizeof p->task, rest + d + 2, rn - d - 2, ")");
	snprintf(p->pid, sizeof p->pid, "%llu", (unsigned long long)v);
	snprintf(p->subject, sizeof p->subject, "%s", p->task);
	p->num = (double)v;
	if (starts(msg, n, "Memory cgroup out of memory"))
		snprintf(p->constraint, sizeof p->constraint, "CONSTRAINT_MEMCG");
	else if (starts(msg, n, "Out of memory"))
		snprintf(p->constraint, sizeof p->constraint, "CONSTRAINT_NONE");
	snprintf(p->memcg, sizeof p->memcg, "%s", m->task_memcg);
	snprintf(p->oom_memcg, sizeof p->oom_memcg, "%s", m->oom_memcg);
	if (p->memcg[0])
		pod_from(p, p->memcg);
	if (!p->pod_uid[0] && m->stats_uid[0]) {
		snprintf(p->pod_uid, sizeof p->pod_uid, "%s", m->stats_uid);
		snprintf(p->container_id, sizeof p->container_id, "%s", m->stats_cid);
	}
	oom_reset(m);
	return 1;
}

/* "Task in /kubepods/.../<id> killed as a result of limit of /kubepods/..." */
static int take_task_in(struct nro_kmatch *m, const char *msg, size_t n, const char *rest,
			size_t rn, struct nro_kproblem *p)
{
	(void)msg, (void)n, (void)p;
	const char *k = find(rest, rn, " killed as a result of limit of ");
	if (!k)
		return 0;
	copy_until(m->task_memcg, sizeof m->task_memcg, rest, (size_t)(k - rest), "");
	const char *lim = k + 32;
	copy_until(m->oom_memcg, sizeof m->oom_memcg, lim, (size_t)(rest + rn - lim), " ");
	return 0;
}

/* "Memory cgroup stats for /kubepods/pod<uid>/<id>: cache:..." (one per
 * cgroup under the limit: the container only when every line names it) */
static int take_stats(struct nro_kmatch *m, const char *msg, size_t n, const char *rest,
		      size_t rn, struct nro_kproblem *p)
{
	(void)msg, (void)n, (void)p;
	const char *colon = memchr(rest, ':', rn);
	char uid[NRO_UID_MAX], cid[NRO_CID_MAX];
	if (!colon || !nro_cgroup_pod(rest, (size_t)(colon - rest), uid, cid))
		return 0;
	if (m->stats_lines++ == 0) {
		memcpy(m->stats_uid, uid, sizeof uid);
		memcpy(m->stats_cid, cid, sizeof cid);
	} else if (strcmp(m->stats_cid, cid) != 0) {
		m->stats_cid[0] = '\0';
	}
	return 0;
}

/* "java invoked oom-killer: gfp_mask=..." starts a report */
static int take_oom_start(struct nro_kmatch *m, const char *msg, size_t n, const char *rest,
			  size_t rn, struct nro_kproblem *p)
{
	(void)msg, (void)n, (void)rest, (void)rn, (void)p;
	memset(m, 0, sizeof *m);
	return 0;
}

/* "INFO: task dockerd:3946 blocked for more than 120 seconds." (a task
 * name may hold ':', the pid follows the last one) */
static int take_hung(struct nro_kmatch *m, const char *msg, size_t n, const char *rest, size_t rn,
		     struct nro_kproblem *p)
{
	(void)m, (void)msg, (void)n;
	const char *b = find(rest, rn, " blocked for more than ");
	if (!b)
		return 0;
	const char *colon = NULL;
	for (const char *q = rest; q < b; q++)
		if (*q == ':')
			colon = q;
	uint64_t pid, secs;
	if (!colon || !take_u64(colon + 1, (size_t)(b - colon - 1), &pid))
		return 0;
	copy_until(p->task, sizeof p->task, rest, (size_t)(colon - rest), "");
	if (take_u64(b + 23, (size_t)(rest + rn - b) - 23, &secs))
		snprintf(p->seconds, sizeof p->seconds, "%llu", (unsigned long long)secs);
	snprintf(p->pid, sizeof p->pid, "%llu", (unsigned long long)pid);
	snprintf(p->subject, sizeof p->subject, "%s", p->task);
	p->num = (double)pid;
	return 1;
}

/* "[NMI ]watchdog: BUG: soft lockup - CPU#6 stuck for 22s! [kubelet:1663]"
 * (the task may hold ':' and brackets: "[runc:[1:CHILD]:185318]") */
static int take_soft_lockup(struct nro_kmatch *m, const char *msg, size_t n, const char *rest,
			    size_t rn, struct nro_kproblem *p)
{
	(void)m, (void)msg, (void)n;
	uint64_t cpu, secs, pid;
	const char *st = take_u64(rest, rn, &cpu) ? find(rest, rn, " stuck for ") : NULL;
	if (!st || !take_u64(st + 11, (size_t)(rest + rn - st) - 11, &secs))
		return 0;
	snprintf(p->cpu, sizeof p->cpu, "%llu", (unsigned long long)cpu);
	snprintf(p->seconds, sizeof p->seconds, "%llu", (unsigned long long)secs);
	p->num = (double)secs;
	const char *br = memchr(st, '[', (size_t)(rest + rn - st)), *end = rest + rn;
	while (end > st && end[-1] != ']')
		end--;
	const char *colon = NULL;
	for (const char *q = br ? br + 1 : end; q + 1 < end; q++)
		if (*q == ':')
			colon = q;
	if (colon && take_u64(colon + 1, (size_t)(end - colon - 2), &pid)) {
		snprintf(p->pid, sizeof p->pid, "%llu", (unsigned long long)pid);
		copy_until(p->task, sizeof p->task, br + 1, (size_t)(colon - br - 1), "");
	}
	snprintf(p->subject, sizeof p->subject, "%s", p->task[0] ? p->task : p->cpu);
	return 1;
}

/* "NMI watchdog: Watchdog detected hard LOCKUP on cpu 3" */
static int take_hard_lockup(struct nro_kmatch *m, const char *msg, size_t n, const char *rest,
			    size_t rn, struct nro_kproblem *p)
{
	(void)m, (void)msg, (void)n;
	uint64_t cpu;
	if (!take_u64(rest, rn, &cpu))
		return 0;
	snprintf(p->cpu, sizeof p->cpu, "%llu", (unsigned long long)cpu);
	snprintf(p->subject, sizeof p->subject, "%s", p->cpu);
	p->num = (double)cpu;
	return 1;
}

/* The "<FS>" of "EXT4-fs (sda1): ..." / "XFS (dm-4): ..." / "BTRFS error (device sda): ...",
 * lowercased, and the device in the parentheses. */
static int fs_device(const char *msg, size_t n, struct nro_kproblem *p)
{
	const char *open = memchr(msg, '(', n < 40 ? n : 40);
	if (!open)
		return 0;
	size_t fl = 0;
	while (fl < sizeof p->fstype - 1 && msg + fl < open &&
	       ((msg[fl] >= 'A' && msg[fl] <= 'Z') || is_digit(msg[fl])))
		p->fstype[fl] = (char)(msg[fl] >= 'A' && msg[fl] <= 'Z' ? msg[fl] + 32 : msg[fl]), fl++;
	p->fstype[fl] = '\0';
	const char *dev = open + 1;
	size_t dn = (size_t)(msg + n - dev);
	if (starts(dev, dn, "device "))
		dev += 7, dn -= 7;
	copy_until(p->subject, sizeof p->subject, dev, dn, ")");
	return fl && p->subject[0];
}

static int take_fs(struct nro_kmatch *m, const char *msg, size_t n, const char *rest, size_t rn,
		   struct nro_kproblem *p)
{
	(void)m, (void)rest, (void)rn;
	return fs_device(msg, n, p);
}

/* Pseudo block devices whose errors say nothing of the disks: a snap's
 * loop device, ramdisks, optical drives. */
static int pseudo_disk(const char *dev)
{
	static const char *const pseudo[] = {"loop", "ram", "zram", "nbd", "sr", "fd"};
	for (size_t i = 0; i < sizeof pseudo / sizeof pseudo[0]; i++) {
		size_t l = strlen(pseudo[i]);
		if (strncmp(dev, pseudo[i], l) == 0 && (is_digit(dev[l]) || dev[l] == '\0'))
			return 1;
	}
	return 0;
}

/* "blk_update_request: I/O error, dev sda, sector 6192120 op 0x1:(WRITE) ..."
 * and "critical medium error, dev sdk, sector ..." (5.14+: no blk_update_request) */
static int take_blk(struct nro_kmatch *m, const char *msg, size_t n, const char *rest, size_t rn,
		    struct nro_kproblem *p)
{
	(void)m, (void)msg, (void)n;
	size_t used = copy_until(p->subject, sizeof p->subject, rest, rn, ", ");
	if (!used || !starts(rest + used, rn - used, ", sector") || pseudo_disk(p->subject))
		return 0;
	return 1;
}

/* "Buffer I/O error on dev sda1, logical block 244, lost async page write" */
static int take_buffer_io(struct nro_kmatch *m, const char *msg, size_t n, const char *rest,
			  size_t rn, struct nro_kproblem *p)
{
	(void)m, (void)msg, (void)n;
	return copy_until(p->subject, sizeof p->subject, rest, rn, ", ") && !pseudo_disk(p->subject);
}

/* "NETDEV WATCHDOG: eth0 (igb): transmit queue 0 timed out" */
static int take_netdev(struct nro_kmatch *m, const char *msg, size_t n, const char *rest,
		       size_t rn, struct nro_kproblem *p)
{
	(void)m, (void)msg, (void)n;
	size_t used = copy_until(p->subject, sizeof p->subject, rest, rn, " :");
	if (!used || !find(rest, rn, "timed out"))
		return 0;
	if (used + 2 < rn && rest[used] == ' ' && rest[used + 1] == '(')
		copy_until(p->driver, sizeof p->driver, rest + used + 2, rn - used - 2, ")");
	return 1;
}

/* "nf_conntrack: [nf_conntrack: ]table full, dropping packet" (ip_conntrack on 2.6) */
static int take_conntrack(struct nro_kmatch *m, const char *msg, size_t n, const char *rest,
			  size_t rn, struct nro_kproblem *p)
{
	(void)m, (void)rest, (void)rn;
	copy_until(p->subject, sizeof p->subject, msg, n, ":");
	return strcmp(p->subject, "nf_conntrack") == 0 || strcmp(p->subject, "ip_conntrack") == 0;
}

/* "Oops: 0002 [#1] SMP", "divide error: 0000 [#1] SMP", "general protection fault: ..." */
static int take_oops(struct nro_kmatch *m, const char *msg, size_t n, const char *rest, size_t rn,
		     struct nro_kproblem *p)
{
	(void)m, (void)rest, (void)rn;
	if (!find(msg, n, " [#"))
		return 0;
	while (n && msg[n - 1] == ' ')
		n--;
	copy_until(p->subject, sizeof p->subject, msg, n, "");
	return 1;
}

/* "Kernel panic - not syncing: Test panic triggered by crash_test module" */
static int take_panic(struct nro_kmatch *m, const char *msg, size_t n, const char *rest,
		      size_t rn, struct nro_kproblem *p)
{
	(void)m, (void)msg, (void)n;
	copy_until(p->subject, sizeof p->subject, rest, rn, "");
	return 1;
}

/*
 * The table: the first row whose needle is found (at the start of the
 * message when at_start) decides. Each row's real kernel line is in
 * kmsg_test.c; rows with a NULL key only remember context for the OOM kill.
 */
static const struct pattern {
	const char *key;
	const char *needle;
	int at_start;
	take_fn take;
} patterns[] = {
	{NRO_HK_OOM_KILL, "oom-kill:", 1, take_oom_kill},
	{NRO_HK_OOM_KILL, "Killed process ", 0, take_killed},
	{NULL, "Task in ", 1, take_task_in},
	{NULL, "Memory cgroup stats for ", 1, take_stats},
	{NULL, " invoked oom-killer: ", 0, take_oom_start},
	{NRO_HK_TASK_HUNG, "INFO: task ", 1, take_hung},
	{NRO_HK_SOFT_LOCKUP, "BUG: soft lockup - CPU#", 0, take_soft_lockup},
	{NRO_HK_HARD_LOCKUP, "Watchdog detected hard LOCKUP on cpu ", 0, take_hard_lockup},
	{NRO_HK_FS_READONLY, "): Remounting filesystem read-only", 0, take_fs},
	{NRO_HK_FS_READONLY, "): forced readonly", 0, take_fs},
	{NRO_HK_FS_ERROR, "-fs error (device ", 0, take_fs},
	{NRO_HK_FS_ERROR, "): I/O error while writing superblock", 0, take_fs},
	{NRO_HK_FS_ERROR, "BTRFS error (device ", 1, take_fs},
	{NRO_HK_FS_ERROR, "BTRFS critical (device ", 1, take_fs},
	{NRO_HK_FS_SHUTDOWN, "Shutting down filesystem", 0, take_fs},
	{NRO_HK_FS_ERROR, "): Metadata corruption detected", 0, take_fs},
	{NRO_HK_FS_ERROR, "): Corruption detected", 0, take_fs},
	{NRO_HK_FS_ERROR, "): Internal error ", 0, take_fs},
	{NRO_HK_FS_ERROR, "): metadata I/O error", 0, take_fs},
	{NRO_HK_IO_ERROR, " error, dev ", 0, take_blk},
	{NRO_HK_IO_ERROR, "Buffer I/O error on dev ", 1, take_buffer_io},
	{NRO_HK_NIC_TIMEOUT, "NETDEV WATCHDOG: ", 1, take_netdev},
	{NRO_HK_CONNTRACK_FULL, "table full, dropping packet", 0, take_conntrack},
	{NRO_HK_OOPS, "Oops: ", 1, take_oops},
	{NRO_HK_OOPS, "divide error: ", 1, take_oops},
	{NRO_HK_OOPS, "general protection fault", 1, take_oops},
	{NRO_HK_OOPS, "invalid opcode: ", 1, take_oops},
	{NRO_HK_PANIC, "Kernel panic - not syncing: ", 1, take_panic},
};

const char *const nro_kmsg_keys[] = {
	NRO_HK_OOM_KILL, NRO_HK_TASK_HUNG, NRO_HK_SOFT_LOCKUP, NRO_HK_HARD_LOCKUP,
	NRO_HK_FS_ERROR, NRO_HK_FS_READONLY, NRO_HK_FS_SHUTDOWN, NRO_HK_IO_ERROR,
	NRO_HK_NIC_TIMEOUT, NRO_HK_CONNTRACK_FULL, NRO_HK_OOPS, NRO_HK_PANIC, NULL,
};

int nro_kmsg_match(struct nro_kmatch *m, const char *msg, size_t n, struct nro_kproblem *p)
{
	for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
		const struct pattern *r = &patterns[i];
		const char *hit = r->at_start ? (starts(msg, n, r->needle) ? msg : NULL)
					      : find(msg, n, r->needle);
		if (!hit)
			continue;
		memset(p, 0, sizeof *p);
		const char *rest = hit + strlen(r->needle);
		int got = r->take(m, msg, n, rest, (size_t)(msg + n - rest), p);
		if (got && r->key) {
			p->key = r->key;
			return 1;
		}
		if (!r->key)
			return 0;
	}
	return 0;
}
