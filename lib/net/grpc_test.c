/*
 * Unit tests for lib/net/grpc.c: the 5-byte framing both ways (short,
 * compressed, over- and under-announced), grpc-status and grpc-message
 * parsing, and the transport failures a collector must tell apart: a
 * missing socket, a listener that never answers, one that sends garbage.
 * (Whole calls against a real gRPC server are in tests/collector_runtime_test.sh.)
 */
#include "net/grpc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/testing.h"
#include "wire/record.h"

TEST(frame_header_is_flag_and_big_endian_length)
{
	uint8_t h[NRO_GRPC_FRAME];
	CHECK(nro_grpc_frame(h, 0x01020304) == 0);
	CHECK(h[0] == 0 && h[1] == 1 && h[2] == 2 && h[3] == 3 && h[4] == 4);
	CHECK(nro_grpc_frame(h, 0) == 0);
	CHECK(h[4] == 0);
}

TEST(unframe_takes_exactly_one_message)
{
	const uint8_t ok[] = {0, 0, 0, 0, 2, 'h', 'i'};
	const uint8_t *m;
	size_t n;
	char err[160];
	CHECK(nro_grpc_unframe(ok, sizeof ok, &m, &n, err, sizeof err) == 0);
	CHECK(n == 2 && m == ok + 5);
	const uint8_t empty[] = {0, 0, 0, 0, 0};
	CHECK(nro_grpc_unframe(empty, sizeof empty, &m, &n, err, sizeof err) == 0 && n == 0);
}

TEST(unframe_refuses_bad_frames)
{
	const uint8_t *m;
	size_t n;
	char err[160];
	const uint8_t shortb[] = {0, 0, 0};
	CHECK(nro_grpc_unframe(shortb, sizeof shortb, &m, &n, err, sizeof err) == -1);
	CHECK(strstr(err, "shorter than a gRPC frame header") != NULL);
	const uint8_t compressed[] = {1, 0, 0, 0, 1, 'x'};
	CHECK(nro_grpc_unframe(compressed, sizeof compressed, &m, &n, err, sizeof err) == -1);
	CHECK(strstr(err, "compressed") != NULL);
	const uint8_t over[] = {0, 0, 0, 0, 9, 'x'};
	CHECK(nro_grpc_unframe(over, sizeof over, &m, &n, err, sizeof err) == -1);
	CHECK(strstr(err, "announces 9 bytes, the response carries 1") != NULL);
	const uint8_t under[] = {0, 0, 0, 0, 1, 'x', 0, 0, 0, 0, 0};
	CHECK(nro_grpc_unframe(under, sizeof under, &m, &n, err, sizeof err) == -1);
	const uint8_t huge[] = {0, 0xff, 0xff, 0xff, 0xff};
	CHECK(nro_grpc_unframe(huge, sizeof huge, &m, &n, err, sizeof err) == -1);
}

TEST(status_codes_and_names)
{
	CHECK(nro_grpc_parse_status("0", 1) == 0);
	CHECK(nro_grpc_parse_status("14", 2) == 14);
	CHECK(nro_grpc_parse_status("", 0) == -1);
	CHECK(nro_grpc_parse_status("1x", 2) == -1);
	CHECK(nro_grpc_parse_status("-1", 2) == -1);
	CHECK(nro_grpc_parse_status("1234567890", 10) == -1);
	CHECK_STR(nro_grpc_code_name(0), "OK");
	CHECK_STR(nro_grpc_code_name(12), "UNIMPLEMENTED");
	CHECK_STR(nro_grpc_code_name(14), "UNAVAILABLE");
	CHECK_STR(nro_grpc_code_name(16), "UNAUTHENTICATED");
	CHECK_STR(nro_grpc_code_name(17), "UNKNOWN_CODE");
	CHECK_STR(nro_grpc_code_name(-1), "UNKNOWN_CODE");
}

TEST(message_is_percent_decoded_onto_one_line)
{
	char out[64];
	const char *s = "cni plugin not initialized%3A 100%25%0Anext";
	nro_grpc_decode_message(s, strlen(s), out, sizeof out);
	CHECK_STR(out, "cni plugin not initialized: 100% next");
	nro_grpc_decode_message("bad %zz and %4", 14, out, sizeof out);
	CHECK_STR(out, "bad %zz and %4");
	nro_grpc_decode_message("abcdef", 6, out, 4);
	CHECK_STR(out, "abc");
}

/* ---- transport failures on a private unix socket ----------------------- */

static char sock_path[108];

static int listen_unix(void)
{
	snprintf(sock_path, sizeof sock_path, "/tmp/nro-grpc-test.%d.sock", (int)getpid());
	unlink(sock_path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%s", sock_path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 4) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

struct peer {
	int lfd;
	const char *reply; /* NULL: read, never answer, until the client hangs up */
};

static void *serve_one(void *ud)
{
	struct peer *p = ud;
	int c = accept(p->lfd, NULL, NULL);
	if (c < 0)
		return NULL;
	char buf[4096];
	/* answer (or not) after the first bytes, then hold the line until the
	 * client hangs up, so it reads the answer rather than a reset */
	if (p->reply && read(c, buf, sizeof buf) > 0)
		(void)!write(c, p->reply, strlen(p->reply));
	while (read(c, buf, sizeof buf) > 0)
		;
	close(c);
	return NULL;
}

static int call_peer(struct peer *p, int64_t timeout_ms, struct nro_grpc_result *res)
{
	pthread_t th;
	pthread_create(&th, NULL, serve_one, p);
	char err[256];
	struct nro_grpc *g = nro_grpc_new(sock_path, err, sizeof err);
	struct nro_buf body;
	nro_buf_init(&body, 1 << 16);
	int r = nro_grpc_unary(g, "/runtime.v1.RuntimeService/Version", NULL, 0, timeout_ms, &body,
			       res);
	nro_grpc_free(g);
	nro_buf_free(&body);
	pthread_join(th, NULL);
	return r;
}

TEST(missing_socket_is_connect)
{
	char err[256];
	struct nro_grpc *g = nro_grpc_new("/nonexistent/nro/cri.sock", err, sizeof err);
	CHECK(g != NULL);
	struct nro_buf body;
	nro_buf_init(&body, 1024);
	struct nro_grpc_result res;
	CHECK(nro_grpc_unary(g, "/runtime.v1.RuntimeService/Status", NULL, 0, 1000, &body, &res) == -1);
	CHECK(res.fail == NRO_GRPC_CONNECT);
	CHECK(res.err == NRO_ERR_CONNECT);
	CHECK(strstr(res.message, "cannot connect to /nonexistent/nro/cri.sock: No such file or directory") != NULL);
	nro_grpc_free(g);
	nro_buf_free(&body);
}

TEST(silent_listener_is_timeout)
{
	struct peer p = {listen_unix(), NULL};
	CHECK(p.lfd >= 0);
	struct nro_grpc_result res;
	CHECK(call_peer(&p, 200, &res) == -1);
	CHECK(res.fail == NRO_GRPC_TIMEOUT);
	CHECK(res.err == NRO_ERR_TIMEOUT);
	close(p.lfd);
	unlink(sock_path);
}

TEST(garbage_is_protocol_not_a_crash)
{
	struct peer p = {listen_unix(), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi garbage garbage"};
	CHECK(p.lfd >= 0);
	struct nro_grpc_result res;
	CHECK(call_peer(&p, 2000, &res) == -1);
	CHECK(res.fail == NRO_GRPC_PROTOCOL);
	CHECK(res.err == NRO_ERR_PARSE);
	CHECK(strstr(res.message, "not a gRPC answer") != NULL);
	close(p.lfd);
	unlink(sock_path);
}

int main(void)
{
	RUN(frame_header_is_flag_and_big_endian_length);
	RUN(unframe_takes_exactly_one_message);
	RUN(unframe_refuses_bad_frames);
	RUN(status_codes_and_names);
	RUN(message_is_percent_decoded_onto_one_line);
	RUN(missing_socket_is_connect);
	RUN(silent_listener_is_timeout);
	RUN(garbage_is_protocol_not_a_crash);
	return testing_done();
}
