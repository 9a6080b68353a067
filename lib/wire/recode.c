/* Re-encoding a record under another node name (wire/record.h). */
#include <stdio.h>
#include <string.h>

#include "wire/record.h"

static int encode_entry(struct nro_enc *e, uint8_t kind, const union nro_entry *x)
{
	switch (kind) {
	case NRO_KIND_METRIC: return nro_enc_metric(e, &x->metric);
	case NRO_KIND_STATE: return nro_enc_state(e, &x->state);
	case NRO_KIND_HEALTH: return nro_enc_health(e, &x->health);
	case NRO_KIND_ERROR: return nro_enc_error(e, &x->error);
	case NRO_KIND_EVENT: return nro_enc_event(e, &x->event);
	default: return -1;
	}
}

int nro_enc_copy_for_node(struct nro_enc *e, const struct nro_msg *m, const char *node)
{
	struct nro_msg c;
	char source[1024];
	if (m->hdr.source.len >= sizeof source || nro_decode(&c, m->buf, m->len, NULL) != 0)
		return -1;
	memcpy(source, m->hdr.source.p, m->hdr.source.len);
	source[m->hdr.source.len] = '\0';
	nro_enc_begin(e, m->hdr.kind, m->hdr.seq, m->hdr.ts_ms, source, node);
	union nro_entry x;
	while (nro_next(&c, &x))
		if (encode_entry(e, m->hdr.kind, &x) != 0)
			return -1;
	return 0;
}
