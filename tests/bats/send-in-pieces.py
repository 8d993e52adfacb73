#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""PUT a file over HTTP/1.1 in pieces of odd sizes, so that the web
server hands the body to imagexfer in records of odd sizes.

  send-in-pieces.py PORT PATH FILE [--vanish-after N] [--requests K]

Pieces of 1 to 9000 bytes (a fixed seed), with a short pause every few
pieces.  Prints each response's status code.  --vanish-after N: send N
bytes of the body, then close the connection without waiting.
--requests K: send the same PUT K times on one keep-alive connection.
"""
import argparse
import random
import socket
import time


def read_response(sock, pending):
    """Status code of one response (Content-Length bodies only)."""
    while b"\r\n\r\n" not in pending:
        data = sock.recv(65536)
        if not data:
            raise SystemExit("connection closed before the response")
        pending += data
    head, rest = pending.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    while len(rest) < length:
        data = sock.recv(65536)
        if not data:
            raise SystemExit("connection closed inside the response body")
        rest += data
    return int(lines[0].split()[1]), rest[length:]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("path")
    parser.add_argument("file")
    parser.add_argument("--vanish-after", type=int)
    parser.add_argument("--requests", type=int, default=1)
    args = parser.parse_args()
    body = open(args.file, "rb").read()
    rng = random.Random(8)
    sock = socket.create_connection(("127.0.0.1", args.port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    pending = b""
    for _ in range(args.requests):
        sock.sendall(("PUT %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Content-Length: %d\r\n\r\n"
                      % (args.path, len(body))).encode())
        limit = len(body) if args.vanish_after is None else args.vanish_after
        sent = 0
        while sent < limit:
            n = min(rng.randint(1, 9000), limit - sent)
            sock.sendall(body[sent:sent + n])
            sent += n
            if rng.random() < 0.2:
                time.sleep(0.001)
        if args.vanish_after is not None:
            sock.close()
            return
        status, pending = read_response(sock, pending)
        print(status, flush=True)
    sock.close()


main()
