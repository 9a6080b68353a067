/*
 * The kernel's log (lib/parse/kmsg.h) on any bytes, as collector-kmsg reads
 * it: byte 0 bit 0 says whether the line before was a raw /dev/kmsg record;
 * the rest is split at '\n' into lines, each copied into a buffer of exactly
 * its length (no NUL: ASan sees a read past the line), parsed with
 * nro_kline_parse, its message matched against the problem table with one
 * nro_kmatch kept across lines (a multi-line OOM report), and the whole line
 * tried as a cgroup path.
 *
 * Checked: the status is one of the enum's; an OK line's message lies
 * inside the line; a problem has a key of nro_kmsg_keys and every text
 * field NUL-terminated inside its array; the match state's fields too; a
 * cgroup path found names a pod UID; parsing the same line again says the
 * same.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "parse/kmsg.h"

#define TERMINATED(a) (memchr((a), '\0', sizeof(a)) != NULL)

static int known_key(const char *key)
{
	for (size_t i = 0; nro_kmsg_keys[i]; i++)
		if (nro_kmsg_keys[i] == key || strcmp(nro_kmsg_keys[i], key) == 0)
			return 1;
	return 0;
}

static void check_problem(const struct nro_kproblem *p)
{
	FUZZ_CHECK(p->key != NULL);
	FUZZ_CHECK(known_key(p->key));
	FUZZ_CHECK(TERMINATED(p->subject));
	FUZZ_CHECK(TERMINATED(p->pid));
	FUZZ_CHECK(TERMINATED(p->task));
	FUZZ_CHECK(TERMINATED(p->pod_uid));
	FUZZ_CHECK(TERMINATED(p->container_id));
	FUZZ_CHECK(TERMINATED(p->memcg));
	FUZZ_CHECK(TERMINATED(p->oom_memcg));
	FUZZ_CHECK(TERMINATED(p->constraint));
	FUZZ_CHECK(TERMINATED(p->fstype));
	FUZZ_CHECK(TERMINATED(p->cpu));
	FUZZ_CHECK(TERMINATED(p->seconds));
	FUZZ_CHECK(TERMINATED(p->driver));
	FUZZ_CHECK(p->num == p->num); /* not NaN */
	fuzz_touch(p->subject, strlen(p->subject));
}

static void check_match_state(const struct nro_kmatch *m)
{
	FUZZ_CHECK(TERMINATED(m->task_memcg));
	FUZZ_CHECK(TERMINATED(m->oom_memcg));
	FUZZ_CHECK(TERMINATED(m->stats_uid));
	FUZZ_CHECK(TERMINATED(m->stats_cid));
	FUZZ_CHECK(m->stats_lines >= 0);
}

/* One line, in a buffer of exactly n bytes; returns the next after_raw. */
static int one_line(const char *src, size_t n, int after_raw, struct nro_kmatch *m)
{
	char *line = malloc(n ? n : 1);
	if (!line)
		return 0;
	memcpy(line, src, n);
	struct nro_kline k, again;
	memset(&k, 0, sizeof k);
	int st = nro_kline_parse(line, n, after_raw, &k);
	FUZZ_CHECK(st >= NRO_KLINE_OK && st <= NRO_KLINE_DICT);
	memset(&again, 0, sizeof again);
	FUZZ_CHECK(nro_kline_parse(line, n, after_raw, &again) == st);
	if (st == NRO_KLINE_OK) {
		FUZZ_CHECK(k.msg >= line && k.msg <= line + n);
		FUZZ_CHECK(k.len <= (size_t)(line + n - k.msg));
		FUZZ_CHECK(again.msg == k.msg && again.len == k.len && again.raw == k.raw);
		fuzz_touch(k.msg, k.len);
		struct nro_kproblem p;
		memset(&p, 0, sizeof p);
		if (nro_kmsg_match(m, k.msg, k.len, &p))
			check_problem(&p);
		check_match_state(m);
	}
	char uid[NRO_UID_MAX], cid[NRO_CID_MAX];
	memset(uid, 'x', sizeof uid);
	memset(cid, 'x', sizeof cid);
	if (nro_cgroup_pod(line, n, uid, cid)) {
		FUZZ_CHECK(TERMINATED(uid));
		FUZZ_CHECK(TERMINATED(cid));
		FUZZ_CHECK(uid[0] != '\0');
	}
	free(line);
	return (st == NRO_KLINE_OK && k.raw) || (st == NRO_KLINE_DICT && after_raw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int after_raw = data[0] & 1;
	const char *s = (const char *)data + 1, *end = (const char *)data + size;
	struct nro_kmatch m;
	memset(&m, 0, sizeof m);
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = (size_t)((nl ? nl : end) - s);
		after_raw = one_line(s, n, after_raw, &m);
		s += n + (nl != NULL);
	}
	return 0;
}
