#include "parse/procfs.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void nro_lines_init(struct nro_lines *it, const char *s, size_t len)
{
	it->p = s;
	it->end = s + len;
}

int nro_lines_next(struct nro_lines *it, const char **line, size_t *n)
{
	if (it->p >= it->end)
		return 0;
	const char *nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
	const char *stop = nl ? nl : it->end;
	*line = it->p;
	*n = (size_t)(stop - it->p);
	it->p = nl ? nl + 1 : it->end;
	return 1;
}

static int blank(char c)
{
	return c == ' ' || c == '\t';
}

static size_t skip_blanks(const char *s, size_t n, size_t i)
{
	while (i < n && blank(s[i]))
		i++;
	return i;
}

size_t nro_scan_u64(const char *s, size_t n, uint64_t *out)
{
	size_t i = skip_blanks(s, n, 0), start;
	uint64_t v = 0;
	for (start = i; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return 0;
		v = v * 10 + d;
	}
	if (i == start)
		return 0;
	*out = v;
	return i;
}

/* Only blanks (and a final '\r') left in s[i..n). */
static int rest_blank(const char *s, size_t n, size_t i)
{
	i = skip_blanks(s, n, i);
	return i == n || (i + 1 == n && s[i] == '\r');
}

int nro_parse_u64_file(const char *s, size_t len, uint64_t *out)
{
	while (len && (s[len - 1] == '\n'))
		len--;
	size_t used = nro_scan_u64(s, len, out);
	return used && rest_blank(s, len, used) ? 0 : -1;
}

static int word_is(const char *s, size_t n, const char *w)
{
	size_t wl = strlen(w);
	return n == wl && memcmp(s, w, wl) == 0;
}

/* Splits the first blank-separated word off s[0..n). */
static size_t first_word(const char *s, size_t n, const char **w)
{
	size_t i = skip_blanks(s, n, 0), start = i;
	while (i < n && !blank(s[i]))
		i++;
	*w = s + start;
	return i - start;
}

static const char *const cpu_names[NRO_CPU_STATES] = {
	"user", "nice", "system", "idle", "wait", "interrupt", "softirq", "steal",
};

const char *nro_cpu_state_name(unsigned i)
{
	return i < NRO_CPU_STATES ? cpu_names[i] : "unknown";
}

/* "cpu  u n s i [w [q [sq [st [g [gn]]]]]]" */
static int stat_cpu_line(const char *s, size_t n, struct nro_proc_stat *st)
{
	size_t i = 3;
	unsigned k = 0;
	uint64_t v;
	memset(st->cpu, 0, sizeof st->cpu);
	for (;;) {
		size_t used = nro_scan_u64(s + i, n - i, &v);
		if (!used)
			break;
		if (k < NRO_CPU_STATES)
			st->cpu[k] = v;
		k++;
		i += used;
	}
	if (k < 4 || !rest_blank(s, n, i))
		return -1;
	st->cpu_fields = k < NRO_CPU_STATES ? k : NRO_CPU_STATES;
	return 0;
}

static void stat_line(const char *s, size_t n, struct nro_proc_stat *st)
{
	const char *w;
	size_t wl = first_word(s, n, &w);
	size_t rest = (size_t)(w - s) + wl;
	uint64_t v;
	if (word_is(w, wl, "cpu")) {
		if (stat_cpu_line(s, n, st) == 0)
			st->have |= NRO_STAT_HAVE_CPU;
		else
			st->bad_lines++;
	} else if (wl > 3 && memcmp(w, "cpu", 3) == 0) {
		st->ncpus++;
	} else if (word_is(w, wl, "btime") || word_is(w, wl, "procs_running") ||
		   word_is(w, wl, "procs_blocked")) {
		size_t used = nro_scan_u64(s + rest, n - rest, &v);
		if (!used || !rest_blank(s, n, rest + used)) {
			st->bad_lines++;
			return;
		}
		if (w[0] == 'b') {
			st->btime = v;
			st->have |= NRO_STAT_HAVE_BTIME;
		} else if (w[6] == 'r') {
			st->procs_running = v;
			st->have |= NRO_STAT_HAVE_PROCS;
		} else {
			st->procs_blocked = v;
		}
	}
}

int nro_parse_proc_stat(const char *s, size_t len, struct nro_proc_stat *st)
{
	memset(st, 0, sizeof *st);
	struct nro_lines it;
	const char *line;
	size_t n;
	nro_lines_init(&it, s, len);
	while (nro_lines_next(&it, &line, &n))
		stat_line(line, n, st);
	return st->have & NRO_STAT_HAVE_CPU ? 0 : -1;
}

static int kv_line(const char *s, size_t n, const struct nro_kv_field *fields, size_t nfields,
		   unsigned *have)
{
	size_t i = 0;
	while (i < n && !blank(s[i]) && s[i] != ':')
		i++;
	size_t keylen = i;
	if (keylen == 0)
		return rest_blank(s, n, 0) ? 0 : -1;
	if (i < n && s[i] == ':')
		i++;
	uint64_t v;
	size_t used = nro_scan_u64(s + i, n - i, &v);
	if (!used)
		return -1;
	i += used;
	size_t j = skip_blanks(s, n, i);
	int kb = n - j >= 2 && memcmp(s + j, "kB", 2) == 0;
	if (kb)
		j += 2;
	if (!rest_blank(s, n, j) || (kb && v > UINT64_MAX / 1024))
		return -1;
	for (size_t f = 0; f < nfields; f++) {
		if (word_is(s, keylen, fields[f].name)) {
			*fields[f].dst = kb ? v * 1024 : v;
			*have |= fields[f].bit;
			break;
		}
	}
	return 0;
}

unsigned nro_parse_kv(const char *s, size_t len, const struct nro_kv_field *fields, size_t nfields,
		      unsigned *have)
{
	struct nro_lines it;
	const char *line;
	size_t n;
	unsigned bad = 0;
	nro_lines_init(&it, s, len);
	while (nro_lines_next(&it, &line, &n))
		if (kv_line(line, n, fields, nfields, have) != 0)
			bad++;
	return bad;
}

/* A non-negative decimal like "0.04" or "12.5" (no exponent, no sign):
 * the grammar is checked before strtod, which would take more. */
static size_t scan_decimal(const char *s, size_t n, double *out)
{
	size_t i = skip_blanks(s, n, 0), start = i, digits = 0;
	char tmp[32];
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++, digits++;
	if (i < n && s[i] == '.')
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
	if (digits == 0 || i - start >= sizeof tmp)
		return 0;
	memcpy(tmp, s + start, i - start);
	tmp[i - start] = '\0';
	*out = strtod(tmp, NULL);
	return isfinite(*out) ? i : 0;
}

int nro_parse_loadavg(const char *s, size_t len, struct nro_loadavg *la)
{
	double *loads[3] = {&la->load1, &la->load5, &la->load15};
	size_t i = 0, used;
	for (int k = 0; k < 3; k++) {
		if (!(used = scan_decimal(s + i, len - i, loads[k])))
			return -1;
		i += used;
	}
	if (!(used = nro_scan_u64(s + i, len - i, &la->running)))
		return -1;
	i += used;
	if (i >= len || s[i] != '/')
		return -1;
	i++;
	if (!(used = nro_scan_u64(s + i, len - i, &la->threads)))
		return -1;
	return 0;
}

/* "avg10=0.12 avg60=... avg300=... total=123" after "some" or "full". */
static int psi_fields(const char *s, size_t n, double *avg10, uint64_t *total)
{
	const char *a = memmem(s, n, "avg10=", 6);
	const char *t = memmem(s, n, "total=", 6);
	if (!a || !t)
		return -1;
	size_t ai = (size_t)(a - s) + 6, ti = (size_t)(t - s) + 6;
	size_t used = nro_scan_u64(s + ti, n - ti, total);
	if (!scan_decimal(s + ai, n - ai, avg10) || !used || !rest_blank(s, n, ti + used))
		return -1;
	return 0;
}

int nro_parse_psi(const char *s, size_t len, struct nro_psi *p)
{
	memset(p, 0, sizeof *p);
	struct nro_lines it;
	const char *line;
	size_t n;
	int bad = 0;
	nro_lines_init(&it, s, len);
	while (nro_lines_next(&it, &line, &n)) {
		int k = n >= 5 && memcmp(line, "some ", 5) == 0   ? 0
			: n >= 5 && memcmp(line, "full ", 5) == 0 ? 1
								  : -1;
		if (k < 0) {
			bad |= !rest_blank(line, n, 0);
			continue;
		}
		if (psi_fields(line + 5, n - 5, &p->avg10[k], &p->total[k]) == 0)
			p->have |= k == 0 ? NRO_PSI_SOME : NRO_PSI_FULL;
		else
			bad = 1;
	}
	return bad || !(p->have & NRO_PSI_SOME) ? -1 : 0;
}

int nro_parse_file_nr(const char *s, size_t len, uint64_t *allocated, uint64_t *free_,
		      uint64_t *max)
{
	uint64_t *dst[3] = {allocated, free_, max};
	size_t i = 0;
	while (len && s[len - 1] == '\n')
		len--;
	for (int k = 0; k < 3; k++) {
		size_t used = nro_scan_u64(s + i, len - i, dst[k]);
		if (!used)
			return -1;
		i += used;
	}
	return rest_blank(s, len, i) && *free_ <= *allocated ? 0 : -1;
}

int nro_parse_netdev_line(const char *line, size_t n, struct nro_netdev *d)
{
	const char *colon = memchr(line, ':', n);
	if (!colon)
		return memchr(line, '|', n) ? 0 : -1; /* the two header lines */
	size_t i = skip_blanks(line, n, 0), nl = (size_t)(colon - line) - i;
	if (nl == 0 || nl >= sizeof d->name)
		return -1;
	/* the kernel's dev_valid_name: no blank, control byte, NUL or '/' */
	for (size_t k = i; k < i + nl; k++)
		if ((unsigned char)line[k] <= ' ' || line[k] == '/' || line[k] == 0x7f)
			return -1;
	memcpy(d->name, line + i, nl);
	d->name[nl] = '\0';
	uint64_t v[16];
	i = (size_t)(colon - line) + 1;
	for (int k = 0; k < 16; k++) {
		size_t used = nro_scan_u64(line + i, n - i, &v[k]);
		if (!used)
			return -1;
		i += used;
	}
	if (!rest_blank(line, n, i))
		return -1;
	d->rx_bytes = v[0], d->rx_packets = v[1], d->rx_errs = v[2], d->rx_drop = v[3];
	d->tx_bytes = v[8], d->tx_packets = v[9], d->tx_errs = v[10], d->tx_drop = v[11];
	return 1;
}

/* Copies the next blank-separated field of s[*i..n) into out, decoding the
 * kernel's \ooo escapes; -1 if there is none or it does not fit. */
static int mnt_field(const char *s, size_t n, size_t *i, char *out, size_t outlen)
{
	size_t j = skip_blanks(s, n, *i), o = 0;
	if (j >= n)
		return -1;
	while (j < n && !blank(s[j])) {
		char c = s[j];
		if (c == '\\' && n - j >= 4 && s[j + 1] >= '0' && s[j + 1] <= '3' &&
		    s[j + 2] >= '0' && s[j + 2] <= '7' && s[j + 3] >= '0' && s[j + 3] <= '7') {
			c = (char)((s[j + 1] - '0') * 64 + (s[j + 2] - '0') * 8 + (s[j + 3] - '0'));
			j += 3;
		}
		if (o + 1 >= outlen)
			return -1;
		out[o++] = c;
		j++;
	}
	out[o] = '\0';
	*i = j;
	return 0;
}

static int has_ro_option(const char *opts)
{
	size_t n = strlen(opts);
	return (n >= 2 && memcmp(opts, "ro", 2) == 0 && (n == 2 || opts[2] == ',')) ||
	       strstr(opts, ",ro,") || (n >= 3 && strcmp(opts + n - 3, ",ro") == 0);
}

/* "36 35 98:0 /root /mnt rw,noatime [optional fields] - ext3 /dev/root rw,errors=continue" */
int nro_parse_mountinfo_line(const char *line, size_t n, struct nro_mount *m)
{
	char skip[NRO_MNT_PATH_MAX], opts[NRO_MNT_PATH_MAX];
	size_t i = 0;
	for (int k = 0; k < 4; k++)
		if (mnt_field(line, n, &i, skip, sizeof skip) != 0)
			return -1;
	if (mnt_field(line, n, &i, m->mountpoint, sizeof m->mountpoint) != 0 ||
	    mnt_field(line, n, &i, opts, sizeof opts) != 0)
		return -1;
	m->ro = has_ro_option(opts);
	for (;;) { /* optional fields end with a lone "-" */
		if (mnt_field(line, n, &i, skip, sizeof skip) != 0)
			return -1;
		if (strcmp(skip, "-") == 0)
			break;
	}
	if (mnt_field(line, n, &i, m->fstype, sizeof m->fstype) != 0 ||
	    mnt_field(line, n, &i, m->device, sizeof m->device) != 0)
		return -1;
	return 1;
}

/* "/dev/root / ext4 rw,relatime 0 0" */
int nro_parse_mounts_line(const char *line, size_t n, struct nro_mount *m)
{
	char opts[NRO_MNT_PATH_MAX];
	size_t i = 0;
	if (mnt_field(line, n, &i, m->device, sizeof m->device) != 0 ||
	    mnt_field(line, n, &i, m->mountpoint, sizeof m->mountpoint) != 0 ||
	    mnt_field(line, n, &i, m->fstype, sizeof m->fstype) != 0 ||
	    mnt_field(line, n, &i, opts, sizeof opts) != 0)
		return -1;
	m->ro = has_ro_option(opts);
	return 1;
}

int nro_fstype_is_remote(const char *t)
{
	static const char *const remote[] = {
		"nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "glusterfs", "9p", "afs",
		"lustre", "gfs2", "ocfs2", "beegfs", "gpfs", "davfs", "ncpfs", "coda", "fuse",
	};
	for (size_t i = 0; i < sizeof remote / sizeof remote[0]; i++)
		if (strcmp(t, remote[i]) == 0)
			return 1;
	/* every FUSE filesystem (fuse.sshfs, fuse.s3fs, ...) may sit on a network */
	return strncmp(t, "fuse.", 5) == 0 || strncmp(t, "fuseblk", 7) == 0;
}

void nro_parse_word(const char *s, size_t len, char *out, size_t outlen)
{
	while (len && (s[len - 1] == '\n' || blank(s[len - 1])))
		len--;
	out[0] = '\0';
	if (len == 0 || len >= outlen)
		return;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-' || s[i] == '_'))
			return;
	memcpy(out, s, len);
	out[len] = '\0';
}
