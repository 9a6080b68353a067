/*
 * The analyzer's alerts file, $NRO_RUN_DIR/alerts: what is firing now,
 * whatever the ring still holds (docs/alerts-file.md). One event record
 * (wire format, kind 'E', source "analyzer") whose entries are the firing
 * alerts, each flagged NRO_EVF_ACTIVE; an empty file means none. The
 * analyzer replaces it atomically after every change of the firing set, so
 * a reader sees the old set or the new one, never half of either.
 */
#ifndef NRO_ALERTS_H
#define NRO_ALERTS_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

#define NRO_ALERTS_FILE "alerts" /* in the run directory */

/* Replaces path with rec[0..len) (len 0: nothing firing): a temporary file
 * made O_EXCL|O_NOFOLLOW, then rename. 0, or -1 with a reason in err. */
int nro_alerts_write(const char *path, const uint8_t *rec, size_t len, char *err, size_t errlen);

/* Reads path into out (reset first, out's cap applies): 1 with the record
 * (out->len == 0: nothing firing), 0 if the file does not exist, -1 with a
 * reason (unreadable, over the cap, not a valid event record). */
int nro_alerts_read(const char *path, struct nro_buf *out, char *err, size_t errlen);

#endif
