#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Verified ranged PUT + GET from many clients at once (load-faults.bats).

  load-client.py load --base URL --state DIR --seconds S
                      [--until FILE [--max-seconds M]]
                      --transfer ID:SIZE [--transfer ID:SIZE]... [--clients N]
  load-client.py verify --state DIR --transfer ID:IMAGE-FILE...

load: N clients per transfer, each owning a disjoint slice of the image,
write random data to random ranges of their slice (PUT with
Content-Range) and read random ranges back (GET with Range), for S
seconds; with --until, for at least S seconds and then until FILE exists
(whoever injects faults creates it when done, however slow the machine
made that), at most M seconds (default 10 S).  Each client keeps a model of its slice: the bytes of its last
write that got a 2xx, and which bytes it knows.  A write that failed
(an error status, or a connection cut) may have written any part of its
range, so those bytes become unknown until a later write succeeds.
Every 206 is compared with the model: a byte that differs is wrong data
under a 2xx, the one thing that must never happen.  Writes the model
into DIR (ID.data, ID.known) and a summary into DIR/summary.json.

verify: compares each image file with the model, byte for byte where the
model knows the bytes, and prints the counts.

Exits 1 when any 2xx carried wrong data, a failure was not what a
killed worker or a stopped NBD server gives (see check_error), or
(verify) a known byte differs.  stdlib only.
"""

import argparse
import http.client
import json
import os
import random
import re
import sys
import threading
import time
import urllib.parse

BLOCK = 4096
MAX_BLOCKS = 64          # ranges of 4 KiB to 256 KiB


def count_differences(actual, expected, known):
    """Bytes of actual that differ from expected where known is 1."""
    differ = 0
    for run in re.finditer(b"\x01+", known):
        a, b = run.span()
        if actual[a:b] != expected[a:b]:
            differ += sum(1 for x, y in zip(actual[a:b], expected[a:b])
                          if x != y)
    return differ


class Deadline:
    """The end of the load (see load above)."""

    def __init__(self, seconds, until=None, max_seconds=None):
        start = time.monotonic()
        self.least = start + seconds
        self.most = start + (max_seconds if until and max_seconds
                             else 10 * seconds if until else seconds)
        self.until = until

    def passed(self):
        now = time.monotonic()
        if now < self.least:
            return False
        return now >= self.most or os.path.exists(self.until or "")


class Client(threading.Thread):
    def __init__(self, base, transfer, start, length, deadline, seed):
        super().__init__(daemon=True)
        url = urllib.parse.urlsplit(base)
        self.host, self.port = url.hostname, url.port
        self.path = "/images/" + transfer
        self.start_offset, self.length = start, length
        self.deadline = deadline
        self.rng = random.Random(seed)
        self.data = bytearray(length)
        self.known = bytearray(length)      # 1: data[i] is the image's
        self.stats = {"put_ok": 0, "get_ok": 0, "statuses": {}, "cut": 0,
                      "wrong_bytes": 0, "wrong_responses": 0,
                      "resent_by_lighttpd": 0, "unexpected": []}
        self.conn = None

    def connection(self):
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port,
                                                   timeout=30)
        return self.conn

    def drop(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def count_status(self, method, status):
        key = "%s %d" % (method, status)
        self.stats["statuses"][key] = self.stats["statuses"].get(key, 0) + 1

    def pick_range(self):
        blocks = self.length // BLOCK
        first = self.rng.randrange(blocks)
        count = self.rng.randint(1, min(MAX_BLOCKS, blocks - first))
        return first * BLOCK, count * BLOCK

    def request(self, method, headers, body=None):
        """(status, headers, body), or None when the connection broke."""
        try:
            conn = self.connection()
            conn.request(method, self.path, body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            if response.getheader("Connection", "").lower() == "close":
                self.drop()
            return response.status, response, payload
        except (OSError, http.client.HTTPException):
            self.drop()
            self.stats["cut"] += 1
            return None

    def put(self):
        offset, length = self.pick_range()
        payload = self.rng.randbytes(length)
        first = self.start_offset + offset
        result = self.request("PUT", {
            "Content-Range": "bytes %d-%d/*" % (first, first + length - 1),
            "Content-Length": str(length)}, payload)
        if result is not None:
            status = result[0]
            self.count_status("PUT", status)
            if status == 200:
                self.data[offset:offset + length] = payload
                self.known[offset:offset + length] = b"\1" * length
                self.stats["put_ok"] += 1
                return
            self.check_error("PUT", result[1], result[2])
        # Any part of the range may have been written.
        self.known[offset:offset + length] = bytes(length)
        self.back_off()

    def get(self):
        offset, length = self.pick_range()
        first = self.start_offset + offset
        result = self.request("GET", {
            "Range": "bytes=%d-%d" % (first, first + length - 1)})
        if result is None:
            self.back_off()
            return
        status, response, payload = result
        self.count_status("GET", status)
        if status != 206:
            self.check_error("GET", response, payload)
            self.back_off()
            return
        expected_range = "bytes %d-%d/" % (first, first + length - 1)
        if (len(payload) != length or not
                (response.getheader("Content-Range") or "")
                .startswith(expected_range)):
            self.stats["wrong_responses"] += 1
            self.stats["unexpected"].append(
                "206 with %d bytes, Content-Range %r for %s" % (
                    len(payload), response.getheader("Content-Range"),
                    expected_range))
            return
        wrong = count_differences(payload,
                                  self.data[offset:offset + length],
                                  self.known[offset:offset + length])
        if wrong:
            self.stats["wrong_bytes"] += wrong
            self.stats["wrong_responses"] += 1
            self.stats["unexpected"].append(
                "206 for %s: %d bytes differ" % (expected_range, wrong))
        self.stats["get_ok"] += 1

    def back_off(self):
        # As a real client would, rather than spin on a server that is
        # restarting (each failed write makes its range unknown).
        time.sleep(0.1)

    def check_error(self, method, response, payload):
        # A killed worker: the web server's own 500, 502 or 503 (or a cut
        # connection); the NBD server down: imagexfer's 503.  imagexfer
        # answers with a JSON error, the web server does not.  imagexfer's
        # 502 only for an upload that lighttpd sent again to another
        # worker after the first one died, with the first attempt's
        # FCGI_BEGIN_REQUEST still queued where the body begins
        # (docs/api.md, 502): any other malformed record is a bug.
        # Anything else (a 2xx other than the expected one, a 4xx,
        # imagexfer's 500) says the server misunderstood a valid request
        # or took a fault for a bug.
        status = response.status
        from_imagexfer = (response.getheader("Content-Type") or "").startswith(
            "application/json")
        if from_imagexfer and status in (503, 504):
            return
        if (from_imagexfer and status == 502 and method == "PUT"
                and b"record header 01 01 " in payload
                and b"(FCGI_BEGIN_REQUEST, " in payload
                and b" at byte 0 of " in payload):
            self.stats["resent_by_lighttpd"] += 1
            return
        if not from_imagexfer and status in (500, 502, 503, 504):
            return
        self.stats["unexpected"].append("%s answered %d: %s" % (
            method, status, payload[:400].decode("utf-8", "replace")))

    def run(self):
        while not self.deadline.passed():
            if self.rng.random() < 0.5:
                self.put()
            else:
                self.get()
        self.drop()


def parse_transfers(values):
    out = []
    for v in values:
        name, _, rest = v.partition(":")
        out.append((name, rest))
    return out


def load(args):
    deadline = Deadline(args.seconds, args.until, args.max_seconds)
    clients = {}
    for number, (name, size) in enumerate(parse_transfers(args.transfer)):
        size = int(size)
        slice_length = size // args.clients // BLOCK * BLOCK
        clients[name] = [
            Client(args.base, name, i * slice_length, slice_length, deadline,
                   args.seed * 1000 + number * 100 + i)
            for i in range(args.clients)]
    for group in clients.values():
        for c in group:
            c.start()
    summary = {}
    for name, group in clients.items():
        for c in group:
            c.join()
        size = sum(c.length for c in group)
        data, known = bytearray(size), bytearray(size)
        total = {"put_ok": 0, "get_ok": 0, "cut": 0, "wrong_bytes": 0,
                 "wrong_responses": 0, "resent_by_lighttpd": 0,
                 "statuses": {}, "unexpected": []}
        for c in group:
            data[c.start_offset:c.start_offset + c.length] = c.data
            known[c.start_offset:c.start_offset + c.length] = c.known
            for k in ("put_ok", "get_ok", "cut", "wrong_bytes",
                      "wrong_responses", "resent_by_lighttpd"):
                total[k] += c.stats[k]
            for k, v in c.stats["statuses"].items():
                total["statuses"][k] = total["statuses"].get(k, 0) + v
            total["unexpected"] += c.stats["unexpected"][:5]
        total["known_bytes"] = sum(known)
        with open(os.path.join(args.state, name + ".data"), "wb") as f:
            f.write(data)
        with open(os.path.join(args.state, name + ".known"), "wb") as f:
            f.write(known)
        summary[name] = total
    with open(os.path.join(args.state, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)
    json.dump(summary, sys.stdout, indent=1, sort_keys=True)
    print()
    bad = any(t["wrong_responses"] or t["unexpected"]
              for t in summary.values())
    return 1 if bad else 0


def verify(args):
    bad = 0
    for name, image in parse_transfers(args.transfer):
        with open(os.path.join(args.state, name + ".data"), "rb") as f:
            data = f.read()
        with open(os.path.join(args.state, name + ".known"), "rb") as f:
            known = f.read()
        with open(image, "rb") as f:
            actual = f.read(len(data))
        differ = count_differences(actual, data, known)
        print("%s: %d known bytes, %d differ, %d unknown (failed writes)" % (
            name, sum(known), differ, len(data) - sum(known)))
        bad += differ
    return 1 if bad else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    lp = sub.add_parser("load")
    lp.add_argument("--base", required=True)
    lp.add_argument("--state", required=True)
    lp.add_argument("--seconds", type=float, required=True)
    lp.add_argument("--until")
    lp.add_argument("--max-seconds", type=float)
    lp.add_argument("--clients", type=int, default=4)
    lp.add_argument("--seed", type=int, default=1)
    lp.add_argument("--transfer", action="append", required=True)
    vp = sub.add_parser("verify")
    vp.add_argument("--state", required=True)
    vp.add_argument("--transfer", action="append", required=True)
    args = p.parse_args()
    return load(args) if args.command == "load" else verify(args)


if __name__ == "__main__":
    sys.exit(main())
