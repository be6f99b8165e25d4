"""
The benchmark's client (load generator), run by bench/run.py in its own process.

A cheap asyncio client over raw keep-alive HTTP/1.1 sockets (Protocols, no
HTTP library), so the generator adds little of its own.  Every loop is bounded
in count and in time.  Modes (each prints one JSON object on stdout):

  rpc   --url U --concurrency C --requests N --warmup W --max-seconds T [--pids P,Q]
        POSTs a ~200-byte JSON-RPC tools/call; latency p50/p90/p99, req/s,
        status counts; reads utime+stime of each pid in /proc around the
        measured requests (after warm-up) for CPU time per request.
  sse   --url U --events N --interval-ms I --ttfe-streams K --max-seconds T
        K streams of one event each (time to first event, new connection each),
        then one stream of N events: per-event delay = receive - send, the
        sender's CLOCK_MONOTONIC stamp against ours (same host).
  hold  --url U --streams N --broadcast URL --stats URL --rss-pid P --max-seconds T
        opens N concurrent SSE streams (each must answer 200 and deliver its
        first event), reads the relay's VmRSS idle and with N open, asks the
        upstream to write one event to every held stream, checks each got it,
        closes them all and waits for the upstream to see them closed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import sys
import time
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

CLK_TCK = os.sysconf("SC_CLK_TCK")
T_NS = re.compile(rb'"t_ns":(\d+)')


def cpuTicks(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    fields = data[data.rindex(b")") + 2 :].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)


def rssKiB(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def pct(values: list[float], p: float) -> Optional[float]:
    if not values:
        return None
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * (len(s) - 1)))))
    return s[k]


class Parser:
    """Incremental HTTP/1.1 response parser (Content-Length, chunked, or until close)."""

    def __init__(self, onBody: Optional[Callable[[bytes], None]] = None) -> None:
        self.buf = b""
        self.status: Optional[int] = None
        self.headers: dict[bytes, bytes] = {}
        self.onBody = onBody
        self.body: list[bytes] = []
        self.mode = ""
        self.remaining = 0
        self.done = False

    def feed(self, data: bytes) -> bytes:
        """Feed bytes; returns what is left after a complete response (pipelining)."""
        self.buf += data
        if self.status is None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return b""
            lines = self.buf[:end].split(b"\r\n")
            self.status = int(lines[0].split(b" ", 2)[1])
            for line in lines[1:]:
                k, _, v = line.partition(b":")
                self.headers[k.strip().lower()] = v.strip()
            self.buf = self.buf[end + 4 :]
            if self.headers.get(b"transfer-encoding", b"").lower().endswith(b"chunked"):
                self.mode = "chunked"
                self.remaining = -1
            elif b"content-length" in self.headers:
                self.mode = "length"
                self.remaining = int(self.headers[b"content-length"])
            elif self.status in (204, 304):
                self.mode = "length"
                self.remaining = 0
            else:
                self.mode = "close"
        if self.mode == "length":
            take = self.buf[: self.remaining]
            self.buf = self.buf[len(take) :]
            self.remaining -= len(take)
            self._emit(take)
            if self.remaining == 0:
                self.done = True
                rest, self.buf = self.buf, b""
                return rest
            return b""
        if self.mode == "close":
            self._emit(self.buf)
            self.buf = b""
            return b""
        # chunked
        while True:
            if self.remaining == -1:
                eol = self.buf.find(b"\r\n")
                if eol < 0:
                    return b""
                size = int(self.buf[:eol].split(b";")[0], 16)
                if size == 0:
                    tail = self.buf.find(b"\r\n", eol + 2)  # end of the (empty) trailer
                    if tail < 0:
                        return b""
                    self.done = True
                    rest, self.buf = self.buf[tail + 2 :], b""
                    return rest
                self.buf = self.buf[eol + 2 :]
                self.remaining = size
            if len(self.buf) < self.remaining + 2:
                return b""
            self._emit(self.buf[: self.remaining])
            self.buf = self.buf[self.remaining + 2 :]
            self.remaining = -1

    def _emit(self, data: bytes) -> None:
        if not data:
            return
        if self.onBody is not None:
            self.onBody(data)
        else:
            self.body.append(data)


class Conn(asyncio.Protocol):
    """One keep-alive connection; request() sends and awaits one whole response."""

    def __init__(self) -> None:
        self.transport: Any = None
        self.parser: Optional[Parser] = None
        self.waiter: Optional[asyncio.Future] = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.parser is None:
            return
        self.parser.feed(data)
        if self.parser.done and self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(self.parser)

    def connection_lost(self, exc: Any) -> None:
        if self.waiter is not None and not self.waiter.done():
            if self.parser is not None and self.parser.mode == "close" and self.parser.status is not None:
                self.parser.done = True
                self.waiter.set_result(self.parser)
            else:
                self.waiter.set_exception(ConnectionError("connection closed"))
        if not self.closed.done():
            self.closed.set_result(None)

    async def request(self, data: bytes, onBody: Optional[Callable[[bytes], None]] = None) -> Parser:
        self.parser = Parser(onBody)
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await self.waiter


async def connect(host: str, port: int) -> Conn:
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(Conn, host, port)
    return proto


def target(url: str) -> tuple[str, int, str]:
    u = urlsplit(url)
    return u.hostname or "127.0.0.1", u.port or 80, (u.path or "/") + (("?" + u.query) if u.query else "")


def buildRequest(method: str, url: str, apiKey: str, body: bytes = b"", accept: str = "application/json, text/event-stream") -> bytes:
    host, port, path = target(url)
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nX-Akto-Api-Key: {apiKey}\r\n"
        f"Accept: {accept}\r\nMCP-Protocol-Version: 2025-06-18\r\nUser-Agent: akto-bench\r\n"
    )
    if method in ("POST", "PUT") or body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


def rpcBody(i: int, method: str = "tools/call") -> bytes:
    if method != "tools/call":
        return json.dumps({"jsonrpc": "2.0", "id": i, "method": method}, separators=(",", ":")).encode()
    # ~200 bytes: an MCP tools/call of an echo tool with harmless text
    return json.dumps(
        {"jsonrpc": "2.0", "id": i, "method": "tools/call",
         "params": {"name": "echo", "arguments": {"text": "Summarise the quarterly report for the team meeting on Tuesday, please."}}},
        separators=(",", ":"),
    ).encode()


# -- rpc


async def rpc(a: argparse.Namespace) -> dict:
    host, port, _ = target(a.url)
    pids = [int(p) for p in a.pids.split(",") if p] if a.pids else []
    deadline = time.monotonic() + a.max_seconds
    lat: list[float] = []
    statuses: dict[str, int] = {}
    errors: list[str] = []
    counter = {"issued": 0, "done": 0}
    total = a.warmup + a.requests
    phase = {"measuring": False, "t0": 0.0, "cpu0": {}, "startDone": 0}
    measureStarted = asyncio.Event()

    def startMeasure() -> None:
        phase["measuring"] = True
        phase["cpu0"] = {p: cpuTicks(p) for p in pids}
        phase["t0"] = time.perf_counter()
        phase["startDone"] = counter["done"]
        measureStarted.set()

    if a.warmup == 0:
        startMeasure()

    async def worker() -> None:
        conn: Optional[Conn] = None
        while time.monotonic() < deadline:
            if counter["issued"] >= total:
                return
            i = counter["issued"]
            counter["issued"] += 1
            measured = i >= a.warmup
            if measured and not phase["measuring"]:
                # wait until every warm-up request has finished before measuring
                while counter["done"] < a.warmup and time.monotonic() < deadline:
                    await asyncio.sleep(0.001)
                if not phase["measuring"]:
                    startMeasure()
            try:
                if conn is None or conn.transport.is_closing():
                    conn = await connect(host, port)
                req = buildRequest("POST", a.url, a.api_key, rpcBody(i + 1, a.rpc_method))
                t = time.perf_counter()
                resp = await asyncio.wait_for(conn.request(req), timeout=max(0.1, deadline - time.monotonic()))
                dt = time.perf_counter() - t
                st = str(resp.status)
                rbody = b"".join(resp.body)
                if resp.status == 200 and (b'"result"' not in rbody or b'"isError":true' in rbody.replace(b" ", b"")):
                    st = "200-refused-or-not-a-result"
                if resp.headers.get(b"connection", b"").lower() == b"close":
                    conn.transport.close()
                    conn = None
            except Exception as e:  # counted, the run goes on
                errors.append(f"{type(e).__name__}: {e}"[:200])
                st = "error"
                dt = None
                if conn is not None:
                    conn.transport.close()
                conn = None
            counter["done"] += 1
            if measured:
                statuses[st] = statuses.get(st, 0) + 1
                if dt is not None and st == "200":
                    lat.append(dt)
        if conn is not None:
            conn.transport.close()

    await asyncio.gather(*(worker() for _ in range(a.concurrency)))
    elapsed = time.perf_counter() - phase["t0"] if phase["measuring"] else 0.0
    cpu1 = {p: cpuTicks(p) for p in pids}
    measuredN = sum(statuses.values())
    out: dict[str, Any] = {
        "concurrency": a.concurrency,
        "requests": measuredN,
        "ok": len(lat),
        "statuses": statuses,
        "errors": errors[:5],
        "error_count": len(errors),
        "elapsed_s": elapsed,
        "rps": measuredN / elapsed if elapsed > 0 else None,
        "p50_ms": (pct(lat, 50) or 0) * 1000 if lat else None,
        "p90_ms": (pct(lat, 90) or 0) * 1000 if lat else None,
        "p99_ms": (pct(lat, 99) or 0) * 1000 if lat else None,
        "max_ms": max(lat) * 1000 if lat else None,
        "timed_out": time.monotonic() >= deadline,
        "cpu_ms_per_req": {},
    }
    for p in pids:
        ticks = cpu1[p] - phase["cpu0"].get(p, cpu1[p])
        out["cpu_ms_per_req"][str(p)] = ticks * 1000.0 / CLK_TCK / measuredN if measuredN else None
    return out


# -- SSE helpers


class Events:
    """Splits an SSE body into events; calls back with (recv_ns, raw event)."""

    def __init__(self, cb: Callable[[int, bytes], None]) -> None:
        self.buf = b""
        self.cb = cb

    def feed(self, data: bytes) -> None:
        now = time.monotonic_ns()
        self.buf += data.replace(b"\r\n", b"\n")
        while True:
            end = self.buf.find(b"\n\n")
            if end < 0:
                return
            ev, self.buf = self.buf[:end], self.buf[end + 2 :]
            if any(line.startswith(b"data:") for line in ev.split(b"\n")):
                self.cb(now, ev)


class SSEConn(Conn):
    def data_received(self, data: bytes) -> None:
        if self.parser is None:
            return
        self.parser.feed(data)
        if self.waiter is not None and not self.waiter.done():
            if self.parser.status is not None and (self.parser.status != 200 or self.parser.done):
                self.waiter.set_result(self.parser)


async def openStream(url: str, apiKey: str, onEvent: Callable[[int, bytes], None]) -> tuple[SSEConn, Parser]:
    host, port, _ = target(url)
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(SSEConn, host, port)
    ev = Events(onEvent)
    conn.parser = Parser(ev.feed)
    conn.transport.write(buildRequest("GET", url, apiKey, accept="text/event-stream"))
    return conn, conn.parser


async def sse(a: argparse.Namespace) -> dict:
    deadline = time.monotonic() + a.max_seconds
    loop = asyncio.get_running_loop()
    out: dict[str, Any] = {"ttfe_ms": [], "errors": []}
    sep = "&" if "?" in a.url else "?"
    # time to first event: fresh connection each, one-event streams
    for _ in range(a.ttfe_streams):
        if time.monotonic() >= deadline:
            break
        got = loop.create_future()
        t0 = time.monotonic_ns()

        def first(now: int, ev: bytes, got: asyncio.Future = got) -> None:
            if not got.done():
                got.set_result(now)

        try:
            conn, parser = await openStream(f"{a.url}{sep}n=1&interval_ms=1", a.api_key, first)
            t1 = await asyncio.wait_for(got, timeout=max(0.1, deadline - time.monotonic()))
            out["ttfe_ms"].append((t1 - t0) / 1e6)
            conn.transport.close()
        except Exception as e:
            out["errors"].append(f"ttfe: {type(e).__name__}: {e}"[:200])
            try:
                out["errors"].append(f"status {conn.parser.status}")  # type: ignore[union-attr]
            except Exception:
                pass
    # one stream of N events on a fixed schedule: per-event delay
    delays: list[float] = []
    seqs: list[int] = []
    finished = loop.create_future()

    def onEvent(now: int, ev: bytes) -> None:
        m = T_NS.search(ev)
        if m:
            delays.append((now - int(m.group(1))) / 1e6)
            s = re.search(rb'"seq":(\d+)', ev)
            seqs.append(int(s.group(1)) if s else -1)
        if len(delays) >= a.events and not finished.done():
            finished.set_result(None)

    status = None
    try:
        conn, parser = await openStream(f"{a.url}{sep}n={a.events}&interval_ms={a.interval_ms}", a.api_key, onEvent)
        await asyncio.wait_for(finished, timeout=max(0.1, deadline - time.monotonic()))
        status = parser.status
        conn.transport.close()
    except Exception as e:
        out["errors"].append(f"stream: {type(e).__name__}: {e}"[:200])
    out["status"] = status
    out["events"] = len(delays)
    out["in_order"] = seqs == sorted(seqs)
    t = out.pop("ttfe_ms")
    out["ttfe_p50_ms"] = pct(t, 50)
    out["ttfe_max_ms"] = max(t) if t else None
    out["ttfe_n"] = len(t)
    out["delay_p50_ms"] = pct(delays, 50)
    out["delay_p99_ms"] = pct(delays, 99)
    out["delay_max_ms"] = max(delays) if delays else None
    return out


# -- hold


def httpGetJson(url: str, method: str = "GET") -> Any:
    import urllib.request

    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


async def hold(a: argparse.Namespace) -> dict:
    deadline = time.monotonic() + a.max_seconds
    loop = asyncio.get_running_loop()
    out: dict[str, Any] = {"wanted": a.streams, "errors": []}
    out["rss_idle_kib"] = rssKiB(a.rss_pid) if a.rss_pid else None
    conns: list[SSEConn] = []
    firsts: list[asyncio.Future] = []
    marks: list[asyncio.Future] = []
    statuses: dict[str, int] = {}
    sem = asyncio.Semaphore(a.open_concurrency)
    markSeq: dict = {"seq": None}

    async def one(i: int) -> None:
        first = loop.create_future()
        mark = loop.create_future()
        firsts.append(first)
        marks.append(mark)

        def onEvent(now: int, ev: bytes) -> None:
            if not first.done():
                first.set_result(now)
            elif markSeq["seq"] is not None and (b'"seq":%d,' % markSeq["seq"]) in ev and not mark.done():
                mark.set_result(now)

        async with sem:
            if time.monotonic() >= deadline:
                return
            try:
                conn, parser = await openStream(a.url, a.api_key, onEvent)
                conns.append(conn)
                await asyncio.wait_for(first, timeout=max(0.1, min(30, deadline - time.monotonic())))
                statuses[str(parser.status)] = statuses.get(str(parser.status), 0) + 1
            except Exception as e:
                statuses["error"] = statuses.get("error", 0) + 1
                if len(out["errors"]) < 5:
                    out["errors"].append(f"open {i}: {type(e).__name__}: {e}"[:200])

    t0 = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(a.streams)))
    out["open_s"] = time.monotonic() - t0
    out["opened"] = sum(1 for f in firsts if f.done())
    out["open_statuses"] = statuses
    await asyncio.sleep(0.5)
    out["rss_open_kib"] = rssKiB(a.rss_pid) if a.rss_pid else None
    out["upstream_open_streams"] = (await loop.run_in_executor(None, httpGetJson, a.stats))["open_streams"]
    # one event to every held stream, on demand
    markSeq["seq"] = seq = 1000000 + int(time.time()) % 100000
    sent = (await loop.run_in_executor(None, lambda: httpGetJson(f"{a.broadcast}?seq={seq}", "POST")))["sent"]
    out["upstream_broadcast_sent"] = sent
    pending = [m for m, f in zip(marks, firsts) if f.done()]
    try:
        await asyncio.wait_for(asyncio.gather(*pending), timeout=max(0.1, min(20, deadline - time.monotonic())))
    except asyncio.TimeoutError:
        out["errors"].append("timed out waiting for the broadcast event")
    out["got_broadcast"] = sum(1 for m in marks if m.done())
    alive = sum(1 for c in conns if not c.closed.done())
    out["alive_after_broadcast"] = alive
    out["rss_after_kib"] = rssKiB(a.rss_pid) if a.rss_pid else None
    if out["rss_idle_kib"] and out["opened"]:
        out["rss_per_stream_kib"] = (out["rss_open_kib"] - out["rss_idle_kib"]) / out["opened"]
    # close every stream; the relay must close its upstream side promptly
    t1 = time.monotonic()
    for c in conns:
        c.transport.close()
    left = None
    while time.monotonic() - t1 < 10 and time.monotonic() < deadline + 10:
        await asyncio.sleep(0.1)
        left = (await loop.run_in_executor(None, httpGetJson, a.stats))["open_streams"]
        if left == 0:
            break
    out["upstream_streams_left_after_close"] = left
    out["close_propagation_s"] = time.monotonic() - t1
    await asyncio.sleep(0.5)
    out["rss_closed_kib"] = rssKiB(a.rss_pid) if a.rss_pid else None
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("rpc", "sse", "hold"))
    ap.add_argument("--url", required=True)
    ap.add_argument("--api-key", default="")
    ap.add_argument("--max-seconds", type=float, default=30)
    ap.add_argument("--concurrency", type=int, default=1)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--pids", default="")
    ap.add_argument("--rpc-method", default="tools/call", help="rpc mode: tools/call (echo) or a method without params (tools/list)")
    ap.add_argument("--events", type=int, default=200)
    ap.add_argument("--interval-ms", type=float, default=5)
    ap.add_argument("--ttfe-streams", type=int, default=20)
    ap.add_argument("--streams", type=int, default=1000)
    ap.add_argument("--open-concurrency", type=int, default=50)
    ap.add_argument("--broadcast", default="")
    ap.add_argument("--stats", default="")
    ap.add_argument("--rss-pid", type=int, default=0)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    fn = {"rpc": rpc, "sse": sse, "hold": hold}[a.mode]
    result = asyncio.run(fn(a))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
