/*
 * Moving records between processes: nng pub/sub, or a pipe ("-").
 *
 * On nng the message bytes are the record itself; its first byte is the
 * record kind, which is what subscribers filter on (nng topics are byte
 * prefixes). On a pipe every record is framed by a 4-byte big-endian
 * length (docs/wire-format.md, "Pipe framing").
 */
#ifndef NRO_TRANSPORT_H
#define NRO_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>

enum nro_endpoint_mode { NRO_DIAL = 0, NRO_LISTEN = 1 };

/* Messages an nng socket queues per peer, each way: what bounds a tool's
 * memory when a peer stops reading (a publisher drops beyond it; sinks
 * recover drops from the ring by seq). */
#define NRO_QUEUE_MSGS 64

struct nro_out {
	int fd;            /* >= 0 for a pipe */
	nng_socket sock;   /* valid when fd < 0 */
	int open, connected;
};

/* Opens a publisher on addr ("-" = stdout). A dialer retries in the
 * background, so tools start in any order; a listener binds now (and makes
 * the ipc:// directory if missing, mode 0700). Returns 0, or -1 with a reason. */
int nro_out_open(struct nro_out *o, const char *addr, enum nro_endpoint_mode mode, char *err,
		 size_t errlen);
/* Sends one record; copies it. Returns 0, or -1 (pipe closed, or nng error). */
int nro_out_send(struct nro_out *o, const void *buf, size_t len);
/* Waits up to ms for a peer to be connected (for --once over nng, so the
 * record is not dropped before anyone listens). 0 connected, -1 not. */
int nro_out_wait_peer(struct nro_out *o, int64_t ms);
/* Flushes and closes; lingers up to linger_ms on nng so queued records go out. */
void nro_out_close(struct nro_out *o, int64_t linger_ms);

/* write(2) until all of buf is out, retrying on EINTR. 0, or -1 (errno). */
int nro_write_all(int fd, const void *buf, size_t len);

struct nro_in {
	int fd;            /* >= 0 for a pipe */
	nng_socket sock;
	int open, eof;
	unsigned char *buf; /* owned: frame assembly for pipes */
	size_t len, cap, need;
	nng_msg *msg;      /* owned: last nng message returned */
	uint64_t oversized; /* frames refused for length */
	int truncated;      /* the pipe ended inside a frame */
	int connected;      /* nng: a publisher has been connected at least once */
};

/* Opens a subscriber on addr ("-" = stdin); topics is a string of kind bytes
 * to receive (e.g. "E" for events only), NULL or "" for all. A listener
 * refuses an existing ipc:// socket that another process still listens on,
 * and over ipc:// accepts publishers of this user and root only. */
int nro_in_open(struct nro_in *in, const char *addr, enum nro_endpoint_mode mode, const char *topics,
		char *err, size_t errlen);
/* 1 once a publisher has connected (always 1 for a pipe). */
int nro_in_connected(struct nro_in *in);
/* A descriptor that polls readable when nro_in_recv may have a record. */
int nro_in_fd(struct nro_in *in);
/* Non-blocking receive. Returns 1 with buf and len set (valid until the next call,
 * owned by in), 0 if nothing is ready, -1 at end of input (pipe EOF). A
 * frame over NRO_MSG_MAX on a pipe is a fatal desync: -1 with in->eof and
 * in->oversized, and one error line ("input lost its framing ...") logged
 * here, so no reader of a pipe ends silently on input that is not records
 * (e.g. `analyzer -i - < README.md`). */
int nro_in_recv(struct nro_in *in, const uint8_t **buf, size_t *len);
void nro_in_close(struct nro_in *in);
/* Publishers refused for their uid since start (all listeners). */
unsigned long long nro_in_refused_peers(void);

#endif
