/* Durations and plain integers as users type them in flags and NRO_*
 * variables. Pure parsers: return 0, or -1 for anything else. */
#ifndef NRO_DURATIONS_H
#define NRO_DURATIONS_H

#include <stddef.h>
#include <stdint.h>

/* Parses a duration ("0", "250ms", "15s", "5m", "1h", "1m30s") into
 * milliseconds. Returns 0, or -1 for anything else (no sign, no overflow). */
int nro_parse_duration(const char *s, int64_t *ms);
/* Parses a decimal unsigned 64-bit integer, whole string. 0 or -1. */
int nro_parse_u64(const char *s, uint64_t *out);

/* Formats ms the way users type it: "15s", "5m", "1h30m", "250ms". */
void nro_fmt_duration(char *out, size_t outlen, int64_t ms);

#endif
