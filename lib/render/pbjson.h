/*
 * The proto3 JSON mapping of any protobuf-c message, by reflection over its
 * descriptor (so one .proto gives both encodings): lowerCamelCase field
 * names, fields at their default value left out, 64-bit integers as
 * strings, enums as numbers (as OTLP/JSON wants), NaN and infinities as
 * "NaN", "Infinity", "-Infinity". Bytes fields are refused (OTLP would want
 * hex ids there; nothing we send has one).
 */
#ifndef NRO_PBJSON_H
#define NRO_PBJSON_H

#include <protobuf-c/protobuf-c.h>

#include "base/buf.h"

/* Appends m as one JSON object. 0, or -1 (b's cap, or a bytes field). */
int nro_pbjson(struct nro_buf *b, const ProtobufCMessage *m);

#endif
