/*
 * Bounded parsers for the /proc and /sys files collector-node reads. Each
 * takes the whole file (NUL-terminated, as base/file.h reads it) and
 * never reads past len. A malformed line is skipped and counted, never a
 * crash; a number that does not fit 64 bits is malformed. A field a kernel
 * does not have (no MemAvailable before 3.14, no steal before 2.6.11) is
 * absent: its NRO_HAVE bit is clear.
 */
#ifndef NRO_PROCFS_H
#define NRO_PROCFS_H

#include <stddef.h>
#include <stdint.h>

/* Lines of a buffer, without their '\n'. */
struct nro_lines {
	const char *p, *end;
};
void nro_lines_init(struct nro_lines *it, const char *s, size_t len);
/* Returns 1 with the next line in *line / *n, or 0 at the end. */
int nro_lines_next(struct nro_lines *it, const char **line, size_t *n);

/* An unsigned decimal at the start of s[0..n) after blanks; returns the
 * bytes consumed (> 0), or 0 if there is no number or it overflows. */
size_t nro_scan_u64(const char *s, size_t n, uint64_t *out);
/* A whole file holding one number ("4194304\n"); 0, or -1 if malformed. */
int nro_parse_u64_file(const char *s, size_t len, uint64_t *out);

/* /proc/stat: the aggregate "cpu" line in USER_HZ ticks (guest time is
 * already inside user and nice, so it is not added again). */
enum { NRO_CPU_USER, NRO_CPU_NICE, NRO_CPU_SYSTEM, NRO_CPU_IDLE, NRO_CPU_IOWAIT,
       NRO_CPU_IRQ, NRO_CPU_SOFTIRQ, NRO_CPU_STEAL, NRO_CPU_STATES };
#define NRO_STAT_HAVE_CPU 0x1u
#define NRO_STAT_HAVE_BTIME 0x2u
#define NRO_STAT_HAVE_PROCS 0x4u
struct nro_proc_stat {
	uint64_t cpu[NRO_CPU_STATES];
	unsigned cpu_fields; /* how many of them the kernel printed (4 on 2.4) */
	unsigned ncpus;      /* "cpuN" lines */
	uint64_t btime, procs_running, procs_blocked;
	unsigned have;
	unsigned bad_lines;
};
/* Returns 0, or -1 when there is no valid "cpu" line. */
int nro_parse_proc_stat(const char *s, size_t len, struct nro_proc_stat *st);
/* "user", "nice", ... as OpenTelemetry's system.cpu.* state attribute. */
const char *nro_cpu_state_name(unsigned i);

/* "Name:  value [kB]" (meminfo) or "name value" (vmstat) lines: the fields
 * named in the table are filled (kB scaled to bytes), others ignored. */
struct nro_kv_field {
	const char *name;
	uint64_t *dst;
	unsigned bit; /* or-ed into *have when found */
};
/* Returns the number of malformed lines (skipped). */
unsigned nro_parse_kv(const char *s, size_t len, const struct nro_kv_field *fields, size_t nfields,
		      unsigned *have);

/* /proc/loadavg: "0.02 0.04 0.05 1/497 11947". */
struct nro_loadavg {
	double load1, load5, load15;
	uint64_t running, threads;
};
int nro_parse_loadavg(const char *s, size_t len, struct nro_loadavg *la);

/* /proc/pressure/{cpu,memory,io}: "some avg10=.. avg60=.. avg300=.. total=N"
 * and, except for cpu on older kernels, a "full" line. */
#define NRO_PSI_SOME 0x1u
#define NRO_PSI_FULL 0x2u
struct nro_psi {
	double avg10[2];   /* [0] some, [1] full: percent */
	uint64_t total[2]; /* microseconds stalled */
	unsigned have;
};
int nro_parse_psi(const char *s, size_t len, struct nro_psi *p);

/* /proc/sys/fs/file-nr: "allocated free max". */
int nro_parse_file_nr(const char *s, size_t len, uint64_t *allocated, uint64_t *free_,
		      uint64_t *max);

/* /proc/net/dev, one interface a line after the two header lines. */
#define NRO_IFNAME_MAX 32
struct nro_netdev {
	char name[NRO_IFNAME_MAX];
	uint64_t rx_bytes, rx_packets, rx_errs, rx_drop;
	uint64_t tx_bytes, tx_packets, tx_errs, tx_drop;
};
/* Parses one line; returns 1 for an interface, 0 for a header line, -1 if
 * malformed. */
int nro_parse_netdev_line(const char *line, size_t n, struct nro_netdev *d);

/* /proc/<pid>/mountinfo or /proc/mounts lines, with the kernel's octal
 * escapes (\040 for a space) decoded. */
#define NRO_MNT_PATH_MAX 512
#define NRO_MNT_TYPE_MAX 64
struct nro_mount {
	char mountpoint[NRO_MNT_PATH_MAX];
	char device[NRO_MNT_PATH_MAX];
	char fstype[NRO_MNT_TYPE_MAX];
	int ro; /* the per-mount "ro" option */
};
/* Returns 1, or -1 if malformed or a field is longer than its buffer. */
int nro_parse_mountinfo_line(const char *line, size_t n, struct nro_mount *m);
int nro_parse_mounts_line(const char *line, size_t n, struct nro_mount *m);
/* Network and other remote filesystems (nfs, cifs, ceph, fuse.sshfs, ...):
 * never statvfs'ed, a dead server would hang the caller. */
int nro_fstype_is_remote(const char *fstype);

/* /sys/class/net/<if>/operstate: one word ("up", "down", "unknown", ...)
 * copied into out, which is "" when malformed. */
void nro_parse_word(const char *s, size_t len, char *out, size_t outlen);

#endif
