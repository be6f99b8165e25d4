"""
The benchmark's upstream: a small, fast, plain-Twisted HTTP/1.1 server.

Hand-rolled on a Protocol (no twisted.web) so that its own cost stays small
and equal for every relay under test.  Routes:

  POST <any path>     JSON-RPC: answers {"jsonrpc":"2.0","id":<id>,"result":...}
                      (tools/call echoes the "text" argument)
  GET  /sse?n=N&interval_ms=I
                      an SSE stream (chunked) of N events, the first at once,
                      event k at start + k*I ms; each carries "t_ns", the
                      sender's CLOCK_MONOTONIC in ns at the moment of writing
  GET  /sse-hold      an SSE stream that sends one event at once and is held
                      open; POST /broadcast writes one stamped event to every
                      held stream
  POST /broadcast     {"sent": k}
  GET  /stats         {"open_streams": k, "requests": n}
  GET  /big?kind=json|text&kib=N
                      a large body of N KiB (default 1024): JSON records
                      (application/json) or prose (text/plain), the same
                      bytes every time; tools/call of "big" with
                      {"kib": N} answers a tool result of N KiB of prose

Usage: python bench/upstream.py --port 0 [--port-file F] [--tools N]

--tools N: tools/list answers with the first N benign tool definitions of
the tool-poisoning corpus (real tools, ~0.5 KB each) instead of one echo;
--list-delay-ms D: answered D ms later (a remote server's own time).
Loopback only.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from typing import Optional
from urllib.parse import parse_qs, urlsplit

from twisted.internet import reactor
from twisted.internet.protocol import Factory, Protocol

MAX_HEAD = 64 * 1024
MAX_BODY = 8 * 1024 * 1024


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def _event(seq: int, kind: bytes = b"message") -> bytes:
    # MCP-like server notification; t_ns is written last so it is as late as possible
    data = b'{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":{"seq":%d,"t_ns":%d}}}' % (
        seq,
        time.monotonic_ns(),
    )
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (seq, kind, data)


_WORDS = (
    "the quarterly report shows revenue grew in every region while costs stayed flat and the team shipped two "
    "releases customers asked for faster exports so the next sprint covers caching of reports and a new api"
).split()
_BIG: dict[tuple[str, int], bytes] = {}


def bigBody(kind: str, kib: int) -> bytes:
    """
    C{kib} KiB of prose (C{text}) or of JSON records (C{json}), made once
    and kept: clean data for every check.
    """
    key = (kind, kib)
    body = _BIG.get(key)
    if body is None:
        import random

        rnd = random.Random(kib)
        size = kib * 1024
        if kind == "text":
            lines, n = [], 0
            while n < size:
                line = " ".join(rnd.choice(_WORDS) for _ in range(14)).capitalize() + "."
                lines.append(line)
                n += len(line) + 1
            body = "\n".join(lines).encode()[:size]
        else:
            records, n, i = [], 2, 0
            while n < size - 200:
                r = json.dumps({"id": i, "name": f"item {i}", "region": rnd.choice(_WORDS), "note": " ".join(rnd.choice(_WORDS) for _ in range(8)),
                                "tags": [rnd.choice(_WORDS), rnd.choice(_WORDS)], "active": bool(i % 3)})
                records.append(r)
                n += len(r) + 1
                i += 1
            body = ("[" + ",".join(records) + "]").encode()
        _BIG[key] = body
    return body


class State:
    def __init__(self) -> None:
        self.holders: set[UpstreamProtocol] = set()
        self.requests = 0
        self.broadcastSeq = 1000000
        self.tools: list[dict] = []
        self.listing = b""
        self.listDelay = 0.0


class UpstreamProtocol(Protocol):
    def __init__(self, state: State) -> None:
        self.state = state
        self.buf = b""
        self.streaming = False
        self.closeAfter = False
        self.calls: list = []

    def connectionMade(self) -> None:
        self.transport.setTcpNoDelay(True)  # small SSE events must not wait for an ACK (Nagle)

    # -- parsing

    def dataReceived(self, data: bytes) -> None:
        self.buf += data
        while not self.streaming:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEAD:
                    self.transport.loseConnection()
                return
            head = self.buf[:end].split(b"\r\n")
            try:
                method, target, version = head[0].split(b" ", 2)
            except ValueError:
                self.transport.loseConnection()
                return
            headers = {}
            for line in head[1:]:
                k, _, v = line.partition(b":")
                headers[k.strip().lower()] = v.strip()
            if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
                body = self._chunkedBody(end + 4)
                if body is None:
                    return
                body, consumed = body
            else:
                length = int(headers.get(b"content-length", b"0") or b"0")
                if length > MAX_BODY:
                    self.transport.loseConnection()
                    return
                if len(self.buf) < end + 4 + length:
                    return
                body = self.buf[end + 4 : end + 4 + length]
                consumed = end + 4 + length
            self.buf = self.buf[consumed:]
            conn = headers.get(b"connection", b"").lower()
            self.closeAfter = conn == b"close" or (version == b"HTTP/1.0" and conn != b"keep-alive")
            self.state.requests += 1
            self.handle(method, target, headers, body)

    def _chunkedBody(self, start: int) -> Optional[tuple[bytes, int]]:
        pos = start
        out = []
        while True:
            eol = self.buf.find(b"\r\n", pos)
            if eol < 0:
                return None
            size = int(self.buf[pos:eol].split(b";")[0], 16)
            if size == 0:
                tail = self.buf.find(b"\r\n\r\n", eol)
                if tail < 0 and self.buf[eol : eol + 4] != b"\r\n\r\n":
                    if len(self.buf) < eol + 4:
                        return None
                return b"".join(out), (tail + 4 if tail >= 0 else eol + 4)
            if len(self.buf) < eol + 2 + size + 2:
                return None
            out.append(self.buf[eol + 2 : eol + 2 + size])
            pos = eol + 2 + size + 2

    # -- answers

    def respond(self, status: bytes, body: bytes, ctype: bytes = b"application/json") -> None:
        self.transport.write(
            b"HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n%s"
            % (status, ctype, len(body), b"Connection: close\r\n" if self.closeAfter else b"", body)
        )
        if self.closeAfter:
            self.transport.loseConnection()

    def handle(self, method: bytes, target: bytes, headers: dict, body: bytes) -> None:
        url = urlsplit(target.decode("latin-1"))
        path = url.path
        if method == b"GET" and path == "/sse":
            q = parse_qs(url.query)
            n = int(q.get("n", ["10"])[0])
            interval = float(q.get("interval_ms", ["10"])[0]) / 1000.0
            self.startStream()
            self.scheduleEvents(n, interval)
        elif method == b"GET" and path == "/sse-hold":
            self.startStream()
            self.state.holders.add(self)
            self.transport.write(_chunk(_event(0)))
        elif method == b"POST" and path == "/broadcast":
            q = parse_qs(url.query)
            self.state.broadcastSeq += 1
            seq = int(q["seq"][0]) if "seq" in q else self.state.broadcastSeq
            sent = 0
            for h in list(self.state.holders):
                h.transport.write(_chunk(_event(seq)))
                sent += 1
            self.respond(b"200 OK", json.dumps({"sent": sent, "seq": seq}).encode())
        elif method == b"GET" and path == "/big":
            q = parse_qs(url.query)
            kind = q.get("kind", ["json"])[0]
            kib = int(q.get("kib", ["1024"])[0])
            ctype = b"text/plain; charset=utf-8" if kind == "text" else b"application/json"
            self.respond(b"200 OK", bigBody(kind, kib), ctype)
        elif method == b"GET" and path == "/stats":
            self.respond(
                b"200 OK",
                json.dumps({"open_streams": len(self.state.holders), "requests": self.state.requests}).encode(),
            )
        elif method == b"POST":
            self.jsonrpc(body)
        else:
            self.respond(b"404 Not Found", b'{"error":"not found"}')

    def jsonrpc(self, body: bytes) -> None:
        try:
            msg = json.loads(body)
        except ValueError:
            self.respond(b"400 Bad Request", b'{"error":"bad json"}')
            return
        if not isinstance(msg, dict):
            self.respond(b"400 Bad Request", b'{"error":"not an object"}')
            return
        if "id" not in msg:
            self.respond(b"202 Accepted", b"")
            return
        method = msg.get("method")
        if method == "tools/call" and (msg.get("params") or {}).get("name") == "big":
            kib = int(((msg.get("params") or {}).get("arguments") or {}).get("kib", 1024))
            text = bigBody("text", kib).decode()
            result = {"content": [{"type": "text", "text": text}], "isError": False}
            if (((msg.get("params") or {}).get("arguments") or {}).get("sse")):
                # as an MCP server's SDK answers a POST: one SSE event
                answer = json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result}, separators=(",", ":")).encode()
                self.respond(b"200 OK", b"event: message\ndata: " + answer + b"\n\n", b"text/event-stream")
                return
        elif method == "tools/call":
            args = (msg.get("params") or {}).get("arguments") or {}
            result = {"content": [{"type": "text", "text": str(args.get("text", ""))}], "isError": False}
        elif method == "tools/list":
            answer = self.state.listing % json.dumps(msg["id"]).encode()
            if self.state.listDelay:
                reactor.callLater(self.state.listDelay, self.respond, b"200 OK", answer)
            else:
                self.respond(b"200 OK", answer)
            return
        elif method == "initialize":
            result = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                      "serverInfo": {"name": "bench-upstream", "version": "1"}}
        else:
            result = {}
        self.respond(b"200 OK", json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result},
                                           separators=(",", ":")).encode())

    # -- SSE

    def startStream(self) -> None:
        self.streaming = True
        self.transport.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )

    def scheduleEvents(self, n: int, interval: float) -> None:
        start = time.monotonic()

        def send(k: int) -> None:
            if not self.streaming:
                return
            self.transport.write(_chunk(_event(k)))
            if k + 1 < n:
                delay = max(0.0, start + (k + 1) * interval - time.monotonic())
                self.calls = [reactor.callLater(delay, send, k + 1)]
            else:
                self.transport.write(b"0\r\n\r\n")
                self.streaming = False
                self.calls = []
                if self.buf:
                    self.dataReceived(b"")

        send(0)

    def connectionLost(self, reason: object = None) -> None:
        self.streaming = False
        self.state.holders.discard(self)
        for c in self.calls:
            if c.active():
                c.cancel()
        self.calls = []


ECHO = {"name": "echo", "description": "Echo the text back.", "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}}}


def corpusTools(n: int) -> list[dict]:
    """
    The first C{n} benign tools of the tool-poisoning corpus, after echo.
    """
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "corpus", "mcp", "tool_poisoning.jsonl")
    with open(path, encoding="utf-8") as f:
        tools = [e["tool"] for e in map(json.loads, f) if e["label"] == "benign"]
    return [ECHO] + tools[: max(0, n - 1)]


class UpstreamFactory(Factory):
    def __init__(self, tools: int = 1, listDelay: float = 0.0) -> None:
        self.state = State()
        self.state.tools = corpusTools(tools)
        # the tools/list answer, encoded once (its id put in per request)
        self.state.listing = b'{"jsonrpc":"2.0","id":%s,"result":' + json.dumps(
            {"tools": self.state.tools}, separators=(",", ":")).encode().replace(b"%", b"%%") + b"}"
        self.state.listDelay = listDelay

    def buildProtocol(self, addr: object) -> UpstreamProtocol:
        p = UpstreamProtocol(self.state)
        p.factory = self
        return p


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--tools", type=int, default=1, help="tools in a tools/list answer (echo, then real ones)")
    ap.add_argument("--list-delay-ms", type=float, default=0.0, help="tools/list answered after this long (a remote server's time)")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    port = reactor.listenTCP(args.port, UpstreamFactory(args.tools, args.list_delay_ms / 1000.0), backlog=1024, interface="127.0.0.1")
    actual = port.getHost().port
    if args.port_file:
        with open(args.port_file, "w") as f:
            f.write(str(actual))
    sys.stdout.write(f"upstream listening on 127.0.0.1:{actual}\n")
    sys.stdout.flush()
    reactor.run()


if __name__ == "__main__":
    main()
