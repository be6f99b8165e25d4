#!/usr/bin/env python3
"""
Legacy HTTP+SSE POSTs between instances: what a POST costs when it lands on
the instance that holds its stream and when it lands on another one (which
forwards it through Redis to the holder, README "Several instances").

    .venv/bin/python bench/legacy_bench.py [--requests 1000] [--rounds 3]

Starts (loopback only) a redis-server on a free port, a minimal legacy-SSE
upstream (this file with --upstream: GET /sse gives an endpoint event, a POST
to it answers 202 and writes its answer on the stream), and three proxies
with bench/proxy-nochecks.yaml: `single` (no Redis), and `A` and `B` (both
on the Redis).  One SSE session through `single` and one through `A`; then
sequential JSON-RPC POSTs (concurrency 1), in interleaved rounds:

    single     POST to the proxy holding the stream, no Redis configured
    local      POST to A, which holds the stream (Redis configured)
    forwarded  POST to B, which forwards it to A through Redis

Per path: the POST's answer (202) and the whole round trip (until the
answer event arrives on the stream), p50/p99 in ms; the CPU each process
spent per POST (from /proc, ms).  Every answer must arrive, on the right
stream, for the right id.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import API_KEY, HERE, PY, RESULTS, TWISTD, Proc, freePort, startRedis  # noqa: E402


# -- the upstream (a separate process)

def serveUpstream(port: int) -> None:
    from twisted.internet import reactor
    from twisted.web import resource, server

    streams: dict[str, Any] = {}

    class SSE(resource.Resource):
        isLeaf = True

        def render_GET(self, request: Any) -> Any:
            sid = os.urandom(8).hex()
            request.setHeader(b"content-type", b"text/event-stream")
            request.write(f"event: endpoint\r\ndata: /messages?session_id={sid}\r\n\r\n".encode())
            streams[sid] = request
            request.notifyFinish().addBoth(lambda _: streams.pop(sid, None))
            return server.NOT_DONE_YET

    class Messages(resource.Resource):
        isLeaf = True

        def render_POST(self, request: Any) -> bytes:
            sid = (request.args.get(b"session_id") or [b""])[0].decode()
            stream = streams.get(sid)
            if stream is None:
                request.setResponseCode(404)
                return b"Could not find session"
            msg = json.loads(request.content.read())
            if "id" in msg:
                answer = {"jsonrpc": "2.0", "id": msg["id"], "result": {"content": [{"type": "text", "text": "ok"}]}}
                stream.write(b"event: message\r\ndata: " + json.dumps(answer).encode() + b"\r\n\r\n")
            request.setResponseCode(202)
            return b"Accepted"

    root = resource.Resource()
    root.putChild(b"sse", SSE())
    root.putChild(b"messages", Messages())
    reactor.listenTCP(port, server.Site(root), interface="127.0.0.1")
    print("listening", flush=True)
    reactor.run()


# -- the client side

class Stream:
    """An SSE stream through a proxy, read by a thread: ids of answers as they come."""

    def __init__(self, port: int, upPort: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.sendall(
            f"GET /proxy/http/127.0.0.1:{upPort}/sse HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n"
            f"X-Akto-Api-Key: {API_KEY}\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        self.answers: "queue.Queue[tuple[Any, float]]" = queue.Queue()
        self.endpoint: "queue.Queue[str]" = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buf = b""
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return
                now = time.perf_counter()
                buf += data
                while b"\ndata: " in buf:
                    _, _, rest = buf.partition(b"\ndata: ")
                    line, sep, after = rest.partition(b"\r\n")
                    if not sep:
                        break
                    buf = after
                    text = line.decode()
                    if text.startswith("{"):
                        self.answers.put((json.loads(text).get("id"), now))
                    else:
                        self.endpoint.put(text)
        except OSError:
            return


def cpuMs(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000.0 / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100.0 * (len(values) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=1000, help="per path, over all rounds")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--upstream", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.upstream:
        serveUpstream(a.upstream)
        return 0
    RESULTS.mkdir(exist_ok=True)
    procs: list[Proc] = []
    redis, redisPort, why = startRedis(None)
    if redis is None:
        raise SystemExit(f"no redis-server: {why}")
    procs.append(redis)
    try:
        upPort = freePort()
        up = Proc("legacy-upstream", [PY, str(Path(__file__).resolve()), "--upstream", str(upPort)], RESULTS / "legacy-upstream.log", None)
        procs.append(up)
        ports: dict[str, int] = {}
        pids: dict[str, int] = {}
        base = (HERE / "proxy-nochecks.yaml").read_text()
        for name in ("single", "A", "B"):
            port = ports[name] = freePort()
            src = base.replace("tcp:18481:interface", f"tcp:{port}:interface")
            if name != "single":
                src += f'\nredis:\n  url: "redis://127.0.0.1:{redisPort}"\n'
            cfg = RESULTS / f"legacy-{name}.yaml"
            cfg.write_text(src)
            p = Proc(f"legacy-{name}", [TWISTD, "-n", "--pidfile=", "akto-proxy", "--config", str(cfg)], RESULTS / f"legacy-{name}.log", None)
            procs.append(p)
            pids[name] = p.pid
        for name, port in ports.items():
            deadline = time.monotonic() + 60
            while True:
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    c.request("GET", "/health", headers={"Authorization": f"Bearer {API_KEY}"})
                    if c.getresponse().status == 200:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit(f"{name} not ready: see {RESULTS / f'legacy-{name}.log'}")
                time.sleep(0.2)
        streams = {"single": Stream(ports["single"], upPort), "A": Stream(ports["A"], upPort)}
        paths: dict[str, str] = {}
        for name, st in streams.items():
            url = st.endpoint.get(timeout=30)
            paths[name] = url.split(f"127.0.0.1:{ports[name]}", 1)[1]
        if "akto_sse=" not in paths["A"]:
            raise SystemExit(f"A's endpoint names no instance: {paths['A']}")
        # path -> (the proxy POSTed to, the stream the answer comes on)
        routes = {"single": ("single", "single"), "local": ("A", "A"), "forwarded": ("B", "A")}
        conns = {name: http.client.HTTPConnection("127.0.0.1", ports[name], timeout=30) for name in ports}
        stats: dict[str, dict[str, Any]] = {r: {"post": [], "rtt": [], "cpu": {n: 0.0 for n in pids} | {"redis": 0.0}, "n": 0} for r in routes}
        seq = 0

        def one(route: str) -> tuple[float, float]:
            nonlocal seq
            seq += 1
            target, holder = routes[route]
            body = json.dumps({"jsonrpc": "2.0", "id": seq, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "hi"}}})
            t0 = time.perf_counter()
            conns[target].request("POST", paths[holder], body, {"Content-Type": "application/json", "X-Akto-Api-Key": API_KEY})
            r = conns[target].getresponse()
            r.read()
            t1 = time.perf_counter()
            if r.status != 202:
                raise SystemExit(f"{route}: POST answered {r.status}")
            answerId, t2 = streams[holder].answers.get(timeout=30)
            if answerId != seq:
                raise SystemExit(f"{route}: answer for {answerId} where {seq} was expected")
            return (t1 - t0) * 1000.0, (max(t2, t1) - t0) * 1000.0

        for route in routes:  # warm-up, not measured
            for _ in range(100):
                one(route)
        per = max(1, a.requests // a.rounds)
        for rnd in range(a.rounds):
            order = list(routes)[rnd % 3:] + list(routes)[: rnd % 3]
            for route in order:
                before = {n: cpuMs(pid) for n, pid in pids.items()} | {"redis": cpuMs(redis.pid)}
                for _ in range(per):
                    p, t = one(route)
                    stats[route]["post"].append(p)
                    stats[route]["rtt"].append(t)
                after = {n: cpuMs(pid) for n, pid in pids.items()} | {"redis": cpuMs(redis.pid)}
                for n in before:
                    stats[route]["cpu"][n] += after[n] - before[n]
                stats[route]["n"] += per
        print(f"\nlegacy SSE POSTs, concurrency 1, {per * a.rounds} per path in {a.rounds} interleaved rounds")
        print(f"{'path':10s} {'202 p50':>8s} {'202 p99':>8s} {'rtt p50':>8s} {'rtt p99':>8s}   CPU ms/POST: single      A      B  redis  total")
        out: dict[str, Any] = {}
        for route, s in stats.items():
            cpu = {n: v / s["n"] for n, v in s["cpu"].items()}
            total = sum(cpu.values())
            out[route] = {"post_p50": pct(s["post"], 50), "post_p99": pct(s["post"], 99), "rtt_p50": pct(s["rtt"], 50),
                          "rtt_p99": pct(s["rtt"], 99), "cpu_ms": cpu, "cpu_total_ms": total, "requests": s["n"]}
            o = out[route]
            print(f"{route:10s} {o['post_p50']:8.3f} {o['post_p99']:8.3f} {o['rtt_p50']:8.3f} {o['rtt_p99']:8.3f}   "
                  f"{' ' * 12}{cpu['single']:6.3f} {cpu['A']:6.3f} {cpu['B']:6.3f} {cpu['redis']:6.3f} {total:6.3f}")
        (RESULTS / "legacy.json").write_text(json.dumps(out, indent=2))
        print(f"\nwrote {RESULTS / 'legacy.json'} (CPU from /proc at {os.sysconf('SC_CLK_TCK')} Hz ticks)")
        return 0
    finally:
        for p in reversed(procs):
            p.stop()


if __name__ == "__main__":
    raise SystemExit(main())
