#!/usr/bin/env python3
"""A plain-HTTP server that answers anything, a TLS ClientHello included,
with "400 Bad Request" and then waits for the client to close: so a client
speaking TLS to it always reads that answer (no reset races), as it would
from a kubelet's read-only port. Prints its port, then serves until killed."""
import socket

srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(8)
print(srv.getsockname()[1], flush=True)
while True:
    conn, _ = srv.accept()
    try:
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        conn.shutdown(socket.SHUT_WR)
        while conn.recv(65536):
            pass
    except OSError:
        pass
    conn.close()
