#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Play systemd for a Type=notify daemon: run it with NOTIFY_SOCKET set
to our own datagram socket and, the moment READY=1 arrives, send one
FastCGI request to its socket (OPTIONS /images/*), so "ready" is proven
to mean "serves".  Then reload (SIGHUP) and stop (SIGTERM) it.

    notify-probe.py FCGI_SOCKET COMMAND...

One line per event on stdout: "notify <message>", "request <first
response line>" or "request-failed <reason>", "exit <status>".
"""
import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

def record(kind, body):
    return struct.pack(">BBHHBB", 1, kind, 1, len(body), 0, 0) + body

def fastcgi_params(pairs):
    out = b""
    for name, value in pairs:
        out += bytes([len(name), len(value)]) + name + value
    return out

def fastcgi_request(path):
    """One OPTIONS request; the first line of the CGI response."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(5)
    conn.connect(path)
    params = fastcgi_params([(b"REQUEST_METHOD", b"OPTIONS"),
                             (b"REQUEST_URI", b"/images/*"),
                             (b"SCRIPT_NAME", b"/images/*"),
                             (b"QUERY_STRING", b""),
                             (b"SERVER_PROTOCOL", b"HTTP/1.1"),
                             (b"REMOTE_ADDR", b"127.0.0.1")])
    conn.sendall(record(1, struct.pack(">HB5x", 1, 0))  # BEGIN, responder
                 + record(4, params) + record(4, b"") + record(5, b""))
    data = b""
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    conn.close()
    stdout = b""
    while len(data) >= 8:
        _, kind, _, length, padding, _ = struct.unpack(">BBHHBB", data[:8])
        if kind == 6:
            stdout += data[8:8 + length]
        data = data[8 + length + padding:]
    return stdout.split(b"\r\n", 1)[0].decode()

def main():
    fcgi_socket, command = sys.argv[1], sys.argv[2:]
    notify_dir = tempfile.mkdtemp()
    notify_path = os.path.join(notify_dir, "notify")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(notify_path)
    listener.settimeout(10)
    env = dict(os.environ, NOTIFY_SOCKET=notify_path)
    daemon = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)

    def expect(what):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                message = listener.recv(4096).decode()
            except socket.timeout:
                break
            print("notify", message.replace("\n", " "), flush=True)
            if what in message.split("\n"):
                return True
        print("missing", what, flush=True)
        return False

    try:
        if expect("READY=1"):
            try:
                print("request", fastcgi_request(fcgi_socket), flush=True)
            except OSError as e:
                print("request-failed", e, flush=True)
            daemon.send_signal(signal.SIGHUP)
            expect("RELOADING=1") and expect("READY=1")
        daemon.send_signal(signal.SIGTERM)
        expect("STOPPING=1")
        print("exit", daemon.wait(timeout=30), flush=True)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        os.unlink(notify_path)
        os.rmdir(notify_dir)

main()
