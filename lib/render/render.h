/*
 * Rendering records as JSON lines, the interface of DESIGN.md ("Records"):
 * used by nro-dump and the sinks, so every tool prints the same fields.
 */
#ifndef NRO_RENDER_H
#define NRO_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "wire/record.h"

/* Appends s as a JSON string literal (quotes included). Bytes that are not
 * valid UTF-8 become U+FFFD so the output is always valid JSON. 0 or -1 (cap). */
int nro_jw_str(struct nro_buf *b, const char *s, size_t len);
/* Appends a number; NaN and ±Inf, which JSON lacks, as the strings "NaN",
 * "+Inf", "-Inf". Integral values print without a fraction. 0 or -1. */
int nro_jw_num(struct nro_buf *b, double v);
/* Appends a Unix-ms time as an RFC 3339 UTC string "2026-11-25T21:00:00.123Z". */
int nro_jw_ts(struct nro_buf *b, int64_t ms);
/* Formats Unix ms as RFC 3339 UTC into out (at least 25 bytes). */
void nro_fmt_ts(char *out, size_t outlen, int64_t ms);

/* Appends one entry as a JSON object (no newline); the header gives kind,
 * ts, seq, node and source. entry points to the struct of hdr->kind. 0 or -1. */
int nro_render_json(struct nro_buf *b, const struct nro_header *hdr, const void *entry);

/* Renders every entry of a decoded message as JSON lines into b (appending,
 * one "\n"-terminated line each). Returns entries rendered, or -1 (cap). */
int nro_render_msg_json(struct nro_buf *b, struct nro_msg *m);

/* ---- text (render/text.c) ---------------------------------------------- */

/* Appends one entry as a readable line ("\n"-terminated): for events the
 * time in milliseconds, aligned state, severity and type columns, the object
 * named once, the message (or, without one, value and threshold), and for
 * a resolved event how long it lasted. colour: ANSI red critical, yellow
 * warning, green resolved. 0 or -1 (cap). */
int nro_render_text(struct nro_buf *b, const struct nro_header *hdr, const union nro_entry *e,
		    int colour);
/* Every entry of a decoded message as text lines. Entries rendered, or -1. */
int nro_render_msg_text(struct nro_buf *b, struct nro_msg *m, int colour);

#endif
