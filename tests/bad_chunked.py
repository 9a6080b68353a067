#!/usr/bin/env python3
"""A kubelet stand-in whose every answer is a 200 with a broken chunked body:
one good chunk, then a chunk size that is not hexadecimal. Prints its base
URL (a free port) as the first line on stdout; serves until killed."""
import socketserver
import sys


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass  # the request's headers
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n"
                         b"5\r\n{\"ite\r\nzz\r\nnot a chunk\r\n")


def main():
    srv = socketserver.TCPServer(("127.0.0.1", 0), Handler)
    sys.stdout.write("http://127.0.0.1:%d\n" % srv.server_address[1])
    sys.stdout.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
