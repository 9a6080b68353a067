#include "wire/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/pubsub0/sub.h>
#include <nng/supplemental/util/platform.h>

#include "wire/record.h"
#include "base/clock.h"
#include "base/log.h"

/* For ipc:// listeners: makes the socket's directory (0700) if missing. */
static int ensure_ipc_dir(const char *addr, char *err, size_t errlen)
{
	if (strncmp(addr, "ipc://", 6) != 0)
		return 0;
	char path[4096];
	snprintf(path, sizeof path, "%s", addr + 6);
	char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return 0;
	*slash = '\0';
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			goto fail;
		*p = '/';
	}
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
	return -1;
}

/* 1 if a process accepts connections on the unix socket at path. */
static int ipc_has_listener(const char *path)
{
	struct sockaddr_un sa;
	size_t n = strlen(path);
	if (n >= sizeof sa.sun_path)
		return 0;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, n + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int live = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return live;
}

/* Who may publish into a listening subscriber: this user and root. Over
 * ipc:// the kernel tells the peer's uid; anyone else is disconnected
 * before a message is read, so a process that can reach the socket still
 * cannot forge records. */
static _Atomic unsigned long long refused_peers;

static void on_sub_pipe_add(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	(void)ev;
	(void)arg;
	uint64_t uid = 0, pid = 0;
	if (nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_UID, &uid) != 0)
		return; /* not ipc:// (tcp, inproc): nothing to check */
	if (uid == 0 || uid == (uint64_t)geteuid())
		return;
	nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_PID, &pid);
	if (refused_peers++ < 10)
		nro_warn("refused a publisher with uid %llu (pid %llu): only uid %u and root may "
			 "publish here", (unsigned long long)uid, (unsigned long long)pid,
			 (unsigned)geteuid());
	nng_pipe_close(p);
}

unsigned long long nro_in_refused_peers(void)
{
	return refused_peers;
}

static void on_pipe_add(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	(void)p;
	(void)ev;
	__atomic_store_n((int *)arg, 1, __ATOMIC_RELEASE);
}

/* A unix socket is made srw------- whatever the umask: only this user (and
 * root) may connect; the peer uid check is the second fence. */
static int listen_private(nng_socket s, const char *addr)
{
	nng_listener l;
	int rv = nng_listener_create(&l, s, addr);
	if (rv == 0 && strncmp(addr, "ipc://", 6) == 0)
		rv = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, 0600);
	if (rv == 0)
		rv = nng_listener_start(l, 0);
	return rv;
}

static int start_endpoint(nng_socket s, const char *addr, enum nro_endpoint_mode mode, char *err,
			  size_t errlen)
{
	int rv;
	if (mode == NRO_LISTEN) {
		if (ensure_ipc_dir(addr, err, errlen) != 0)
			return -1;
		/* a stale socket file from a killed listener would block the bind;
		 * a live one is another process's: never take it over */
		if (strncmp(addr, "ipc://", 6) == 0) {
			if (ipc_has_listener(addr + 6)) {
				snprintf(err, errlen, "listen %s: another process is listening there "
					 "(is a second copy of this tool running on this run "
					 "directory?)", addr);
				return -1;
			}
			unlink(addr + 6);
		}
		rv = listen_private(s, addr);
	} else {
		/* NONBLOCK: the first attempt may fail; nng keeps redialing */
		rv = nng_dial(s, addr, NULL, NNG_FLAG_NONBLOCK);
	}
	if (rv != 0) {
		snprintf(err, errlen, "%s %s: %s", mode == NRO_LISTEN ? "listen" : "dial", addr,
			 nng_strerror(rv));
		return -1;
	}
	return 0;
}

int nro_out_open(struct nro_out *o, const char *addr, enum nro_endpoint_mode mode, char *err,
		 size_t errlen)
{
	memset(o, 0, sizeof *o);
	o->fd = -1;
	if (strcmp(addr, "-") == 0) {
		o->fd = STDOUT_FILENO;
		o->open = 1;
		o->connected = 1;
		return 0;
	}
	int rv = nng_pub0_open(&o->sock);
	if (rv != 0) {
		snprintf(err, errlen, "nng pub: %s", nng_strerror(rv));
		return -1;
	}
	nng_pipe_notify(o->sock, NNG_PIPE_EV_ADD_POST, on_pipe_add, &o->connected);
	nng_socket_set_ms(o->sock, NNG_OPT_RECONNMINT, 100);
	nng_socket_set_ms(o->sock, NNG_OPT_RECONNMAXT, 2000);
	/* per subscriber; a slow one loses messages here and reads them from
	 * the ring, so the queue bounds memory, not delivery */
	nng_socket_set_int(o->sock, NNG_OPT_SENDBUF, NRO_QUEUE_MSGS);
	if (start_endpoint(o->sock, addr, mode, err, errlen) != 0) {
		nng_close(o->sock);
		return -1;
	}
	o->open = 1;
	return 0;
}

int nro_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int nro_out_send(struct nro_out *o, const void *buf, size_t len)
{
	if (!o->open || len == 0 || len > NRO_MSG_MAX)
		return -1;
	if (o->fd >= 0) {
		uint8_t hdr[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
				  (uint8_t)len};
		if (nro_write_all(o->fd, hdr, 4) != 0 || nro_write_all(o->fd, buf, len) != 0)
			return -1;
		return 0;
	}
	/* pub never blocks: with no subscriber the message is simply dropped */
	int rv = nng_send(o->sock, (void *)buf, len, 0);
	return rv == 0 ? 0 : -1;
}

int nro_out_wait_peer(struct nro_out *o, int64_t ms)
{
	int64_t end = nro_mono_ms() + ms;
	while (!__atomic_load_n(&o->connected, __ATOMIC_ACQUIRE)) {
		if (nro_mono_ms() >= end)
			return -1;
		nng_msleep(10);
	}
	return 0;
}

/* nng_close, but never for longer than CLOSE_WAIT_MS: it was seen to hang
 * after SIGSTOP/SIGCONT during a flood, and a tool told to stop must stop.
 * On time-out the socket is left to the process's exit. */
#define CLOSE_WAIT_MS 2000
struct closer {
	nng_socket sock;
	_Atomic int done;
};

static void *close_thread(void *arg)
{
	struct closer *c = arg;
	nng_close(c->sock);
	c->done = 1;
	return NULL;
}

static void close_bounded(nng_socket sock)
{
	static struct closer c; /* outlives a closer thread we stop waiting for */
	pthread_t th;
	c.sock = sock;
	c.done = 0;
	if (pthread_create(&th, NULL, close_thread, &c) != 0) {
		nng_close(sock);
		return;
	}
	for (int waited = 0; !c.done && waited < CLOSE_WAIT_MS; waited += 10)
		nng_msleep(10);
	if (c.done) {
		pthread_join(th, NULL);
		return;
	}
	pthread_detach(th);
	nro_warn("closing the nng socket did not finish in %d ms; exiting without waiting "
		 "for it", CLOSE_WAIT_MS);
}

void nro_out_close(struct nro_out *o, int64_t linger_ms)
{
	if (!o->open)
		return;
	if (o->fd < 0) {
		/* nng has no linger for pub: give queued messages time to leave */
		if (linger_ms > 0 && __atomic_load_n(&o->connected, __ATOMIC_ACQUIRE))
			nng_msleep((nng_duration)linger_ms);
		close_bounded(o->sock);
	}
	o->open = 0;
}

int nro_in_open(struct nro_in *in, const char *addr, enum nro_endpoint_mode mode, const char *topics,
		char *err, size_t errlen)
{
	memset(in, 0, sizeof *in);
	in->fd = -1;
	if (strcmp(addr, "-") == 0) {
		/* stdin may be shared with other processes: poll before each read
		 * instead of making it O_NONBLOCK under them */
		in->fd = STDIN_FILENO;
		in->open = 1;
		return 0;
	}
	int rv = nng_sub0_open(&in->sock);
	if (rv != 0) {
		snprintf(err, errlen, "nng sub: %s", nng_strerror(rv));
		return -1;
	}
	if (!topics || !*topics) {
		nng_socket_set(in->sock, NNG_OPT_SUB_SUBSCRIBE, "", 0);
	} else {
		for (const char *t = topics; *t; t++)
			nng_socket_set(in->sock, NNG_OPT_SUB_SUBSCRIBE, t, 1);
	}
	nng_pipe_notify(in->sock, NNG_PIPE_EV_ADD_POST, on_pipe_add, &in->connected);
	nng_socket_set_ms(in->sock, NNG_OPT_RECONNMINT, 100);
	nng_socket_set_ms(in->sock, NNG_OPT_RECONNMAXT, 2000);
	nng_socket_set_int(in->sock, NNG_OPT_RECVBUF, NRO_QUEUE_MSGS);
	nng_socket_set_size(in->sock, NNG_OPT_RECVMAXSZ, NRO_MSG_MAX);
	if (mode == NRO_LISTEN)
		nng_pipe_notify(in->sock, NNG_PIPE_EV_ADD_PRE, on_sub_pipe_add, NULL);
	if (start_endpoint(in->sock, addr, mode, err, errlen) != 0) {
		nng_close(in->sock);
		return -1;
	}
	in->open = 1;
	return 0;
}

int nro_in_connected(struct nro_in *in)
{
	return in->fd >= 0 || __atomic_load_n(&in->connected, __ATOMIC_ACQUIRE);
}

int nro_in_fd(struct nro_in *in)
{
	if (in->fd >= 0)
		return in->fd;
	int fd = -1;
	if (nng_socket_get_int(in->sock, NNG_OPT_RECVFD, &fd) != 0)
		return -1;
	return fd;
}

/* Grows the pipe frame buffer to hold n bytes. 0 or -1. */
static int in_reserve(struct nro_in *in, size_t n)
{
	if (n <= in->cap)
		return 0;
	size_t cap = in->cap ? in->cap : 65536;
	while (cap < n)
		cap *= 2;
	unsigned char *p = realloc(in->buf, cap);
	if (!p)
		return -1;
	in->buf = p;
	in->cap = cap;
	return 0;
}

int nro_in_recv(struct nro_in *in, const uint8_t **buf, size_t *len)
{
	if (!in->open || in->eof)
		return -1;
	if (in->fd < 0) {
		if (in->msg) {
			nng_msg_free(in->msg);
			in->msg = NULL;
		}
		int rv = nng_recvmsg(in->sock, &in->msg, NNG_FLAG_NONBLOCK);
		if (rv == NNG_EAGAIN)
			return 0;
		if (rv != 0) {
			in->eof = 1;
			return -1;
		}
		*buf = nng_msg_body(in->msg);
		*len = nng_msg_len(in->msg);
		return 1;
	}
	/* pipe: a consumed frame is dropped from the front first */
	if (in->need && in->len >= 4 + in->need) {
		size_t used = 4 + in->need;
		memmove(in->buf, in->buf + used, in->len - used);
		in->len -= used;
		in->need = 0;
	}
	for (;;) {
		if (in->len >= 4 && !in->need) {
			size_t n = (size_t)in->buf[0] << 24 | (size_t)in->buf[1] << 16 |
				   (size_t)in->buf[2] << 8 | in->buf[3];
			if (n == 0 || n > NRO_MSG_MAX) {
				in->oversized++;
				in->eof = 1;
				nro_error("input lost its framing (a frame length of %zu: 0 or over 16 MiB): "
					  "not a record stream?", n);
				return -1;
			}
			in->need = n;
		}
		if (in->need && in->len >= 4 + in->need) {
			*buf = in->buf + 4;
			*len = in->need;
			return 1;
		}
		size_t want = in->need ? 4 + in->need : 4;
		if (in_reserve(in, want > 65536 ? want : 65536) != 0) {
			in->eof = 1;
			return -1;
		}
		struct pollfd pfd = {in->fd, POLLIN, 0};
		int ready = poll(&pfd, 1, 0);
		if (ready == 0)
			return 0;
		if (ready < 0 && errno == EINTR)
			continue;
		ssize_t r = read(in->fd, in->buf + in->len, in->cap - in->len);
		if (r > 0) {
			in->len += (size_t)r;
			continue;
		}
		if (r == 0) {
			in->truncated = in->len > 0;
			in->eof = 1;
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		in->eof = 1;
		return -1;
	}
}

void nro_in_close(struct nro_in *in)
{
	if (!in->open)
		return;
	if (in->msg)
		nng_msg_free(in->msg);
	in->msg = NULL;
	if (in->fd < 0)
		close_bounded(in->sock);
	free(in->buf);
	in->buf = NULL;
	in->open = 0;
}
