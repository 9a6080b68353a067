#include "render/pbjson.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "render/render.h"

/* "time_unix_nano" -> "timeUnixNano" */
static int add_camel(struct nro_buf *b, const char *name)
{
	char tmp[128];
	size_t n = 0;
	for (const char *p = name; *p && n < sizeof tmp - 1; p++) {
		if (*p == '_' && p[1]) {
			p++;
			tmp[n++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
		} else {
			tmp[n++] = *p;
		}
	}
	return nro_buf_add(b, "\"", 1) | nro_buf_add(b, tmp, n) | nro_buf_add(b, "\":", 2);
}

static int add_double(struct nro_buf *b, double v)
{
	if (isnan(v))
		return nro_buf_adds(b, "\"NaN\"");
	if (isinf(v))
		return nro_buf_adds(b, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
	return nro_jw_num(b, v);
}

static int add_fmt_u64(struct nro_buf *b, uint64_t v, int quoted)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof tmp, quoted ? "\"%" PRIu64 "\"" : "%" PRIu64, v);
	return nro_buf_add(b, tmp, (size_t)n);
}

static int add_fmt_i64(struct nro_buf *b, int64_t v, int quoted)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof tmp, quoted ? "\"%" PRId64 "\"" : "%" PRId64, v);
	return nro_buf_add(b, tmp, (size_t)n);
}

/* Size in memory of one value of field f (an element of a repeated one). */
static size_t value_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return 8;
	case PROTOBUF_C_TYPE_DOUBLE:
		return sizeof(double);
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default: /* 32-bit integers, float, bool, enum */
		return 4;
	}
}

/* Appends the value at p, of field f's type. */
static int add_value(struct nro_buf *b, const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_ENUM:
		return add_fmt_i64(b, *(const int32_t *)p, 0);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return add_fmt_u64(b, *(const uint32_t *)p, 0);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return add_fmt_i64(b, *(const int64_t *)p, 1);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return add_fmt_u64(b, *(const uint64_t *)p, 1);
	case PROTOBUF_C_TYPE_FLOAT:
		return add_double(b, *(const float *)p);
	case PROTOBUF_C_TYPE_DOUBLE:
		return add_double(b, *(const double *)p);
	case PROTOBUF_C_TYPE_BOOL:
		return nro_buf_adds(b, *(const protobuf_c_boolean *)p ? "true" : "false");
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		return nro_jw_str(b, s ? s : "", s ? strlen(s) : 0);
	}
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *m = *(ProtobufCMessage *const *)p;
		return m ? nro_pbjson(b, m) : nro_buf_adds(b, "{}");
	}
	default:
		return -1;
	}
}

/* A singular field at its proto3 default is left out (oneof members are
 * sent whenever their case is set). */
static int is_default(const ProtobufCFieldDescriptor *f, const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_DOUBLE:
		return *(const double *)p == 0 && !signbit(*(const double *)p);
	case PROTOBUF_C_TYPE_FLOAT:
		return *(const float *)p == 0 && !signbit(*(const float *)p);
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		return !s || !*s;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		return *(void *const *)p == NULL;
	case PROTOBUF_C_TYPE_BYTES:
		return ((const ProtobufCBinaryData *)p)->len == 0;
	default:
		return value_size(f) == 8 ? *(const uint64_t *)p == 0 : *(const uint32_t *)p == 0;
	}
}

static int add_repeated(struct nro_buf *b, const ProtobufCFieldDescriptor *f, const char *base)
{
	size_t n = *(const size_t *)(base + f->quantifier_offset);
	const char *arr = *(char *const *)(base + f->offset);
	int rc = nro_buf_add(b, "[", 1);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (i)
			rc |= nro_buf_add(b, ",", 1);
		rc |= add_value(b, f, arr + i * value_size(f));
	}
	return rc | nro_buf_add(b, "]", 1);
}

/* 1 when field f of the message at base is to be written. */
static int present(const ProtobufCFieldDescriptor *f, const char *base)
{
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		return *(const size_t *)(base + f->quantifier_offset) > 0;
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
	if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
	    f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
		return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
	return !is_default(f, base + f->offset);
}

int nro_pbjson(struct nro_buf *b, const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	const char *base = (const char *)m;
	int rc = nro_buf_add(b, "{", 1), first = 1;
	for (unsigned i = 0; i < d->n_fields && rc == 0; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type == PROTOBUF_C_TYPE_BYTES)
			return -1;
		if (!present(f, base))
			continue;
		if (!first)
			rc |= nro_buf_add(b, ",", 1);
		first = 0;
		rc |= add_camel(b, f->name);
		if (f->label == PROTOBUF_C_LABEL_REPEATED)
			rc |= add_repeated(b, f, base);
		else
			rc |= add_value(b, f, base + f->offset);
	}
	return rc | nro_buf_add(b, "}", 1);
}
