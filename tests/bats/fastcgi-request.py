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

ADDRESS is a unix socket path or HOST:PORT.
"""
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


def request_bytes(method, uri, extra):
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
    return (record(BEGIN_REQUEST, struct.pack(">HB5x", 1, 0))
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


def one_request(address, method, uri, extra):
    sock = connect(address)
    sock.settimeout(30)
    sock.sendall(request_bytes(method, uri, extra))
    out = b""
    while True:
        header = read_exact(sock, 8)
        if header is None:
            sys.stdout.buffer.write(out)
            return 1
        _, kind, _, length, padding = struct.unpack(">BBHHBx", header)
        content = read_exact(sock, length + padding)
        if content is None:
            sys.stdout.buffer.write(out)
            return 1
        if kind == STDOUT:
            out += content[:length]
        elif kind == END_REQUEST:
            sys.stdout.buffer.write(out)
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
    if len(argv) >= 3 and argv[1] == "--hold":
        send = int(argv[4]) if len(argv) >= 5 and argv[3] == "--send" else 0
        return hold(argv[0], float(argv[2]), send)
    if len(argv) < 3:
        sys.exit(__doc__)
    return one_request(argv[0], argv[1], argv[2], argv[3:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
