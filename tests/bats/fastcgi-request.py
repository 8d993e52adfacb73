#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Talk FastCGI to imagexfer-fcgi directly, as a web server would, or as
a local account that can reach its socket would.

  fastcgi-request.py ADDRESS METHOD URI [NAME=VALUE ...]
      One request without a body; prints the response's CGI head and
      body (Status: ..., headers, blank line, body) as the program wrote
      them.  Exit status 1 when the connection closed before
      FCGI_END_REQUEST.
  fastcgi-request.py ADDRESS --hold SECONDS [--send N]
      Connect, send the first N bytes of a request (0 by default) and
      hold the connection SECONDS without sending more; prints
      "closed after S s" when the program closed it first, else "held".
  fastcgi-request.py ADDRESS --kept COUNT PAUSE [--shut] METHOD URI [NAME=VALUE ...]
      COUNT requests one after another on one connection, each asking
      the program to keep it (FCGI_KEEP_CONN), PAUSE seconds apart;
      prints each response's first line and how long it took ("Status:
      206 Partial Content in 0.01 s"), or "closed" and exit status 1
      when the connection closed before a response ended, or "closed
      after S s" and exit status 1 when the program closed it during a
      pause (S counts from the pause's start), or "unasked bytes during
      the pause" and exit status 1 when it sent something then.
      --shut: close the sending side right after the last request is
      sent.

ADDRESS is a unix socket path or HOST:PORT.
"""
import select
import socket
import struct
import sys
import time

BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6


def record(kind, content, request_id=1):
    return struct.pack(">BBHHBx", 1, kind, request_id, len(content), 0) + content


def name_value(name, value):
    def length(n):
        return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
    return length(len(name)) + length(len(value)) + name + value


def connect(address):
    if address.startswith("/"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(address)
        return sock
    host, _, port = address.rpartition(":")
    return socket.create_connection((host, int(port)))


FCGI_KEEP_CONN = 1


def request_bytes(method, uri, extra, flags=0):
    params = {
        "REQUEST_METHOD": method,
        "REQUEST_URI": uri,
        "SCRIPT_NAME": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "localhost",
    }
    for item in extra:
        name, _, value = item.partition("=")
        params[name] = value
    body = b"".join(name_value(k.encode(), v.encode()) for k, v in params.items())
    return (record(BEGIN_REQUEST, struct.pack(">HB5x", 1, flags))
            + record(PARAMS, body) + record(PARAMS, b"") + record(STDIN, b""))


def read_exact(sock, count):
    data = b""
    while len(data) < count:
        try:
            piece = sock.recv(count - len(data))
        except ConnectionResetError:
            return None
        if not piece:
            return None
        data += piece
    return data


def response(sock):
    """The STDOUT of one response, and whether FCGI_END_REQUEST ended it."""
    out = []
    while True:
        header = read_exact(sock, 8)
        if header is None:
            return b"".join(out), False
        _, kind, _, length, padding = struct.unpack(">BBHHBx", header)
        content = read_exact(sock, length + padding)
        if content is None:
            return b"".join(out), False
        if kind == STDOUT:
            out.append(content[:length])
        elif kind == END_REQUEST:
            return b"".join(out), True


def one_request(address, method, uri, extra):
    sock = connect(address)
    sock.settimeout(30)
    sock.sendall(request_bytes(method, uri, extra))
    out, ended = response(sock)
    sys.stdout.buffer.write(out)
    return 0 if ended else 1


def closed_during(sock, pause):
    """Wait PAUSE seconds; True, said, when the program closed the
    connection meanwhile, or sent on it unasked."""
    start = time.monotonic()
    readable, _, _ = select.select([sock], [], [], pause)
    if not readable:
        return False
    try:
        data = sock.recv(1, socket.MSG_PEEK)
    except OSError:
        data = b""
    if data:
        print("unasked bytes during the pause", flush=True)
    else:
        print("closed after %.1f s" % (time.monotonic() - start), flush=True)
    return True


def kept(address, count, pause, shut, method, uri, extra):
    sock = connect(address)
    sock.settimeout(30)
    for i in range(count):
        if i and closed_during(sock, pause):
            return 1
        start = time.monotonic()
        try:
            sock.sendall(request_bytes(method, uri, extra, FCGI_KEEP_CONN))
            if shut and i == count - 1:
                sock.shutdown(socket.SHUT_WR)
            out, ended = response(sock)
        except OSError:
            ended = False
        if not ended:
            print("closed")
            return 1
        first = out.split(b"\r\n", 1)[0].decode(errors="replace")
        print("%s in %.2f s" % (first, time.monotonic() - start), flush=True)
    return 0


def hold(address, seconds, send):
    sock = connect(address)
    sock.sendall(request_bytes("GET", "/images/held", [])[:send])
    sock.settimeout(seconds)
    start = time.monotonic()
    try:
        while sock.recv(4096):
            pass
        print("closed after %.1f s" % (time.monotonic() - start))
    except ConnectionResetError:
        print("closed after %.1f s" % (time.monotonic() - start))
    except socket.timeout:
        print("held")
    return 0


def main(argv):
    if len(argv) >= 6 and argv[1] == "--kept":
        shut = argv[4] == "--shut"
        rest = argv[5:] if shut else argv[4:]
        return kept(argv[0], int(argv[2]), float(argv[3]), shut, rest[0],
                    rest[1], rest[2:])
    if len(argv) >= 3 and argv[1] == "--hold":
        send = int(argv[4]) if len(argv) >= 5 and argv[3] == "--send" else 0
        return hold(argv[0], float(argv[2]), send)
    if len(argv) < 3:
        sys.exit(__doc__)
    return one_request(argv[0], argv[1], argv[2], argv[3:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
