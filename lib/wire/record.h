/*
 * Normalized binary records, wire format v2 (docs/wire-format.md); v1 is
 * still decoded.
 *
 * One nng message (or one length-prefixed frame on a pipe) carries one
 * record batch: a header (kind, version, seq, timestamp, source, node)
 * and entries that are all of the header's kind. Every field is packed
 * explicitly in big-endian order; nothing here is a raw struct on the wire.
 *
 * Strings in decoded entries point into the caller's message buffer
 * (zero copy): they are valid as long as that buffer is, and are NOT
 * NUL-terminated; use the length.
 */
#ifndef NRO_RECORD_H
#define NRO_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define NRO_WIRE_VERSION 2 /* what the encoder writes; the decoder reads 1 and 2 */
#define NRO_HDR_FIXED 26          /* bytes before the source string */
#define NRO_MSG_MAX (16u << 20)   /* a message is never larger than this */
#define NRO_ATTRS_MAX 64          /* attributes per entry */

/* Record kinds: the first byte of every message, usable as an nng topic. */
enum nro_kind {
	NRO_KIND_METRIC = 'M',
	NRO_KIND_STATE = 'S',
	NRO_KIND_HEALTH = 'H',
	NRO_KIND_ERROR = 'X',
	NRO_KIND_EVENT = 'E',
};

enum nro_metric_type {
	NRO_MT_GAUGE = 0,
	NRO_MT_COUNTER = 1,
	NRO_MT_UNTYPED = 2,
	NRO_MT_HISTOGRAM = 3, /* a histogram series: _bucket, _sum, _count */
	NRO_MT_SUMMARY = 4,   /* a summary series: quantiles, _sum, _count */
	NRO_MT_MAX = 4,
};

enum nro_object_kind {
	NRO_OBJ_NONE = 0,
	NRO_OBJ_NODE = 1,
	NRO_OBJ_POD = 2,
	NRO_OBJ_CONTAINER = 3,
	NRO_OBJ_VOLUME = 4,
	NRO_OBJ_SERVICE = 5,
	NRO_OBJ_MAX = 5,
};

enum nro_health_status {
	NRO_HEALTH_OK = 0,
	NRO_HEALTH_DEGRADED = 1,
	NRO_HEALTH_FAILED = 2,
	NRO_HEALTH_MAX = 2,
};

enum nro_error_code {
	NRO_ERR_OTHER = 0,
	NRO_ERR_CONNECT = 1,   /* kubelet unreachable: refused, DNS, reset */
	NRO_ERR_TIMEOUT = 2,   /* connect or total timeout */
	NRO_ERR_TLS = 3,       /* handshake or certificate verification */
	NRO_ERR_AUTH = 4,      /* 401 or 403 */
	NRO_ERR_HTTP = 5,      /* any other non-2xx status */
	NRO_ERR_TOO_LARGE = 6, /* body past the configured cap */
	NRO_ERR_PARSE = 7,     /* body did not decode */
	NRO_ERR_TRUNCATED = 8, /* body shorter than announced */
	NRO_ERR_NOT_SERVED = 9, /* 404: this kubelet does not serve the endpoint (info, not down) */
	NRO_ERR_MAX = 9,
};

enum nro_severity {
	NRO_SEV_INFO = 0,
	NRO_SEV_WARNING = 1,
	NRO_SEV_CRITICAL = 2,
	NRO_SEV_MAX = 2,
};

enum nro_event_state {
	NRO_EV_FIRING = 0,
	NRO_EV_RESOLVED = 1,
	NRO_EV_STATE_MAX = 1,
};

/* Event flags: which optional numbers are present. */
#define NRO_EVF_VALUE 0x01u
#define NRO_EVF_THRESHOLD 0x02u
#define NRO_EVF_ALL (NRO_EVF_VALUE | NRO_EVF_THRESHOLD) /* value and threshold */
#define NRO_EVF_ACTIVE 0x04u /* a snapshot of an alert firing now, not a transition */
#define NRO_EVF_KNOWN (NRO_EVF_ALL | NRO_EVF_ACTIVE) /* every bit a decoder accepts */

/* A length-delimited string; p need not be NUL-terminated. */
struct nro_str {
	const char *p;
	uint16_t len;
};

struct nro_attr {
	struct nro_str key, value;
};

/* The object an entry is about; unused strings are empty. */
struct nro_object {
	uint8_t kind; /* enum nro_object_kind */
	struct nro_str namespace_, pod, container, name;
};

struct nro_metric {
	struct nro_str name, unit;
	uint8_t type;   /* enum nro_metric_type */
	double value;   /* any IEEE-754 value: Prometheus exposes NaN and Inf */
	int64_t ts_ms;  /* sample time; 0 = the message's timestamp */
	uint16_t nattrs;
	struct nro_attr *attrs;
};

struct nro_state {
	struct nro_object object;
	struct nro_str key, value; /* e.g. "container.waiting.reason" = "CrashLoopBackOff" */
	double num;                /* finite; restart count, exit code, 0 if none */
	int64_t since_ms;          /* when this state began; 0 = unknown */
	uint16_t nattrs;
	struct nro_attr *attrs;
};

struct nro_health {
	uint8_t status;       /* enum nro_health_status */
	uint16_t http_status; /* 0 = no HTTP response */
	uint32_t interval_ms; /* the collector's poll interval (for CollectorDown) */
	uint32_t duration_us; /* how long the poll took */
	uint64_t bytes;       /* body bytes read */
	struct nro_str target, message;
};

struct nro_error {
	uint16_t code;        /* enum nro_error_code */
	uint16_t http_status; /* 0 = no HTTP response */
	struct nro_str target, message;
};

struct nro_event {
	struct nro_str type;   /* "PodCrashLooping" */
	uint8_t severity;      /* enum nro_severity */
	uint8_t state;         /* enum nro_event_state */
	uint8_t flags;         /* NRO_EVF_* */
	struct nro_object object;
	double value, threshold; /* finite; meaningful only when flagged */
	int64_t since_ms;        /* when the condition began */
	struct nro_str message;
	uint16_t nattrs;
	struct nro_attr *attrs;
};

struct nro_header {
	uint8_t kind;
	uint8_t version;
	uint32_t count;
	uint64_t seq;
	int64_t ts_ms;
	struct nro_str source, node;
};

/* ---- encoding ---------------------------------------------------------- */

/*
 * A growable encode buffer with a hard cap. The encoder owns buf; the
 * caller owns the struct and calls nro_enc_free() once, on every path.
 */
struct nro_enc {
	uint8_t *buf;
	size_t len, cap, max; /* len: what the message takes if finished now */
	uint32_t count;
	int failed; /* sticky: the header could not be written (out of memory) */
	/* version 2 internals: the entries, the string table being built
	 * (blob + end offsets) and its hash index; laid out in buf by finish */
	uint8_t *ent;
	size_t ent_len, ent_cap, mark_ent;
	char *blob;
	size_t blob_len, blob_cap;
	uint32_t *ends, *slots;
	size_t ends_cap;
	uint32_t nstr, nslots, mark_str;
	/* attribute lists written so far (offset, length in ent) and their
	 * hash index: a repeated list is written as a back-reference */
	uint32_t *sets, *set_slots;
	size_t sets_cap;
	uint32_t nsets, nset_slots, mark_sets;
	int64_t ts_ms;
	int bad; /* the entry being written broke a rule */
};

/* Version 2 number forms (docs/wire-format.md): a metric's head byte holds
 * the type in bits 0-2, the form in bits 3-5, NRO_MH_TS when a sample time
 * follows. */
enum nro_num_form {
	NRO_NUM_F64 = 0,  /* 8 bytes, binary64 */
	NRO_NUM_ZERO = 1, /* +0.0, no payload */
	NRO_NUM_POS = 2,  /* an integer 1 .. 2^53, varint */
	NRO_NUM_NEG = 3,  /* minus an integer 1 .. 2^53, varint */
	NRO_NUM_F32 = 4,  /* 4 bytes, binary32, exact */
};
#define NRO_MH_TS 0x40u

/* Initializes e with the given hard cap (0 = NRO_MSG_MAX). No allocation yet. */
void nro_enc_init(struct nro_enc *e, size_t max);
/* Frees e's buffer; e may be reused after nro_enc_init(). */
void nro_enc_free(struct nro_enc *e);
/* Starts a message, discarding anything encoded before. Strings are copied. */
void nro_enc_begin(struct nro_enc *e, uint8_t kind, uint64_t seq, int64_t ts_ms,
		   const char *source, const char *node);
/* Append one entry of the begun kind; attrs are copied. Return 0, or -1 if
 * the entry does not fit under the cap, is of another kind, or breaks a rule
 * of the format (empty name, NaN where forbidden, too many attrs); the
 * message so far stays valid, so the caller can flush and start another. */
int nro_enc_metric(struct nro_enc *e, const struct nro_metric *m);
int nro_enc_state(struct nro_enc *e, const struct nro_state *s);
int nro_enc_health(struct nro_enc *e, const struct nro_health *h);
int nro_enc_error(struct nro_enc *e, const struct nro_error *x);
int nro_enc_event(struct nro_enc *e, const struct nro_event *v);
/* Patches the entry count; returns the message length, or 0 if the
 * encoder failed (e->failed). The bytes are e->buf[0..len), still owned by e. */
size_t nro_enc_finish(struct nro_enc *e);
/* Bytes encoded so far: callers flush a batch when this passes their limit. */
static inline size_t nro_enc_size(const struct nro_enc *e) { return e->len; }

/* Helper: builds an nro_str from a C string (length clamped to 65535). */
struct nro_str nro_s(const char *s);

/* ---- decoding ---------------------------------------------------------- */

/*
 * A decoded message: a view over the caller's buffer, which must outlive it.
 * nro_decode() validates the WHOLE message first; entries are then read
 * with nro_next_*() which cannot fail on a message that decoded.
 */
struct nro_msg {
	struct nro_header hdr;
	const uint8_t *buf;
	size_t len;
	size_t pos;        /* cursor for nro_next_*() */
	uint32_t left;     /* entries not read yet */
	const uint8_t *strends; /* version 2: the string table (end offsets, bytes) */
	const char *blob;
	uint32_t nstr;
	const uint8_t *ents; /* version 2: the first entry (attribute back-references) */
	struct nro_attr attrs[NRO_ATTRS_MAX]; /* storage for the current entry */
};

/* Validates buf[0..len) and fills m. Returns 0, or -1 with a static
 * human-readable reason in *why (never NULL on failure). Reads nothing
 * past buf+len. */
int nro_decode(struct nro_msg *m, const uint8_t *buf, size_t len, const char **why);
/* Re-encodes the decoded message m with another node name in its header
 * (lib/wire/recode.c: through the decoded API, so it holds for any wire
 * version); the same kind, seq, ts, source and entries. m is not moved:
 * its buffer is decoded afresh. 0, or -1 (a name with a NUL, an entry the
 * encoder refuses, over e's cap). End with nro_enc_finish. */
int nro_enc_copy_for_node(struct nro_enc *e, const struct nro_msg *m, const char *node);
/* Read the next entry into *out (its strings and attrs point into the message
 * and into m->attrs, valid until the next call). Return 1, or 0 at the end
 * (or if the kind does not match). */
int nro_next_metric(struct nro_msg *m, struct nro_metric *out);
int nro_next_state(struct nro_msg *m, struct nro_state *out);
int nro_next_health(struct nro_msg *m, struct nro_health *out);
int nro_next_error(struct nro_msg *m, struct nro_error *out);
int nro_next_event(struct nro_msg *m, struct nro_event *out);

/* Any entry, for code that handles every kind. */
union nro_entry {
	struct nro_metric metric;
	struct nro_state state;
	struct nro_health health;
	struct nro_error error;
	struct nro_event event;
};
/* Reads the next entry, whatever the message's kind, into the member of e
 * that kind names. Returns 1, or 0 at the end. */
int nro_next(struct nro_msg *m, union nro_entry *e);

/* Names for enums (static strings; "unknown" out of range). */
/* Header fields of an encoded message, read or rewritten in place without
 * decoding it (the analyzer renumbers what it forwards; sinks order live
 * messages). Return 0, or -1 when len is shorter than the fixed header. */
#define NRO_HDR_SEQ_OFF 10 /* after kind, magic, version, flags and count */
int nro_record_seq(const uint8_t *buf, size_t len, uint64_t *seq);
int nro_record_set_seq(uint8_t *buf, size_t len, uint64_t seq);

const char *nro_kind_name(uint8_t kind);
const char *nro_metric_type_name(uint8_t t);
const char *nro_object_kind_name(uint8_t k);
const char *nro_health_name(uint8_t s);
const char *nro_error_name(uint16_t c);
const char *nro_severity_name(uint8_t s);
const char *nro_event_state_name(uint8_t s);
/* Reverse lookups: return the value, or -1 if the name is unknown. */
int nro_object_kind_parse(const char *s);
int nro_severity_parse(const char *s);

/* Compare an nro_str with a C string. */
int nro_str_eq(struct nro_str a, const char *b);

#endif
