"""
Large bodies side by side: a 1 MiB JSON GET, a 1 MiB text GET and a 1 MiB
tool result (tools/call answered with 1 MiB of prose), through direct, the
floor (bench/floor.py), the proxy with no checks and the proxy with the
sample's checks, in interleaved rounds (each round visits every target).

Per target and body: MB/s of sequential requests on one keep-alive
connection (the client reads each body whole) and the relay's CPU time per
MiB (/proc), with both as ratios to the floor's.

    .venv/bin/python bench/bigbody.py [--rounds 3] [--requests 10] [--kib 1024]
        [--targets direct,floor,proxy-nochecks,proxy-checks] [--base CHECKOUT]
        [--bodies "json GET,text GET,tool result,sse result"]

--base CHECKOUT also runs the proxies from another checkout (base-nochecks,
base-checks: the same configurations), in the same rounds, for A/B.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import time
from typing import Optional
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import run as R  # noqa: E402

BODIES = ("json GET", "text GET", "tool result")
#: BODIES and the tool result answered as one SSE event, as MCP servers'
#: SDKs answer a POST (--bodies)
ALL_BODIES = BODIES + ("sse result",)


def cpuSeconds(pid: int) -> float:
    """
    CPU time of every thread of C{pid} (the inspection's thread pool too),
    from the scheduler's nanosecond counts (/proc/PID/stat counts ticks of
    10 ms: too coarse for a few MiB).
    """
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that ended: its time is lost either way
    return total / 1e9


def fetch(conn: http.client.HTTPConnection, base: str, body: str, kib: int) -> int:
    """
    One request for C{body}; the size of the answer read.
    """
    headers = {"X-Akto-Api-Key": R.API_KEY}
    if body in ("tool result", "sse result"):
        arguments = {"kib": kib, "sse": True} if body == "sse result" else {"kib": kib}
        call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "big", "arguments": arguments}}
        headers.update({"Content-Type": "application/json", "Accept": "application/json, text/event-stream"})
        conn.request("POST", f"{base}/mcp", json.dumps(call).encode(), headers)
    else:
        kind = body.split()[0]
        conn.request("GET", f"{base}/big?kind={kind}&kib={kib}", headers=headers)
    r = conn.getresponse()
    data = r.read()
    if r.status != 200:
        raise RuntimeError(f"{body}: status {r.status}: {data[:200]!r}")
    if body in ("tool result", "sse result") and b'"isError":true' in data.replace(b" ", b""):
        raise RuntimeError(f"{body}: refused: {data[:200]!r}")
    return len(data)


def measure(url: str, pid: Optional[int], body: str, kib: int, n: int) -> dict:
    split = urlsplit(url)
    conn = http.client.HTTPConnection(split.hostname, split.port, timeout=60)
    try:
        fetch(conn, split.path, body, kib)  # warm
        cpu0 = cpuSeconds(pid) if pid else 0.0
        t0 = time.perf_counter()
        size = 0
        for _ in range(n):
            size += fetch(conn, split.path, body, kib)
        wall = time.perf_counter() - t0
        cpu = cpuSeconds(pid) - cpu0 if pid else 0.0
    finally:
        conn.close()
    mib = size / (1 << 20)
    return {"mb_s": size / wall / 1e6, "cpu_ms_per_mib": cpu * 1000 / mib if pid else None, "bytes": size // n}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=10, help="per target, body and round")
    ap.add_argument("--kib", type=int, default=1024)
    ap.add_argument("--targets", default=",".join(R.TARGETS))
    ap.add_argument("--bodies", default=",".join(BODIES), help=f"of {', '.join(ALL_BODIES)}")
    ap.add_argument("--out", default=str(R.RESULTS / "bigbody.json"))
    ap.add_argument("--base", metavar="CHECKOUT", help="also the proxies of this checkout, as base-nochecks and base-checks")
    a = ap.parse_args()
    names = a.targets.split(",")
    if a.base:
        names += ["base-nochecks", "base-checks"]
    R.RESULTS.mkdir(exist_ok=True)
    upPort = R.freePort()
    up = R.Proc("upstream", [R.PY, str(R.HERE / "upstream.py"), "--port", str(upPort)], R.RESULTS / "upstream-big.log", None)
    procs: dict[str, R.Proc] = {}
    urls: dict[str, str] = {}
    bodies = a.bodies.split(",")
    slices: dict[str, dict[str, list[dict]]] = {n: {b: [] for b in bodies} for n in names}
    try:
        R.waitReady(up, f"http://127.0.0.1:{upPort}/mcp")
        for name in names:
            if name == "direct":
                urls[name] = f"http://127.0.0.1:{upPort}"
                continue
            port = R.freePort()
            argv = R.relayArgv(name.replace("base-", "proxy-"), port, "-big" + ("-base" if name.startswith("base-") else ""))
            # each proxy runs its checkout's package, not the one installed
            # in the virtual environment (an editable install of another)
            checkout = os.path.abspath(a.base) if name.startswith("base-") else str(R.HERE.parent)
            if name != "floor":
                argv = ["env", f"PYTHONPATH={checkout}", *argv]
            procs[name] = R.Proc(f"{name}-big", argv, R.RESULTS / f"{name}-big.log", None)
            urls[name] = f"http://127.0.0.1:{port}/proxy/http/127.0.0.1:{upPort}"
        for name in names:
            R.waitReady(procs.get(name), f"{urls[name]}/mcp", limit=180)
        for i in range(a.rounds):
            print(f"  round {i + 1}/{a.rounds}", flush=True)
            for body in bodies:
                for name in names:
                    proc = procs.get(name)
                    slices[name][body].append(measure(urls[name], proc.pid if proc else None, body, a.kib, a.requests))
    finally:
        for proc in procs.values():
            proc.stop()
        up.stop()
    merged = {
        n: {b: {k: (statistics.median(s[k] for s in sl) if sl and sl[0][k] is not None else None) for k in ("mb_s", "cpu_ms_per_mib")} for b, sl in bodies.items()}
        for n, bodies in slices.items()
    }
    with open(a.out, "w") as f:
        json.dump({"kib": a.kib, "rounds": a.rounds, "requests": a.requests, "results": merged}, f, indent=2)
    print(f"\n{a.kib} KiB bodies, {a.rounds} interleaved rounds of {a.requests} sequential requests; medians of the rounds")
    floor = merged.get("floor")
    print(f"{'body':<12} {'target':<16} {'MB/s':>8} {'x floor':>8} {'CPU ms/MiB':>11} {'x floor':>8}")
    for body in bodies:
        for name in names:
            m = merged[name][body]
            ratio = f"{m['mb_s'] / floor[body]['mb_s']:.2f}x" if floor else ""
            cpu = m["cpu_ms_per_mib"]
            cpuRatio = f"{cpu / floor[body]['cpu_ms_per_mib']:.2f}x" if floor and cpu is not None and floor[body]["cpu_ms_per_mib"] else ""
            cpuText = f"{cpu:.2f}" if cpu is not None else "-"
            print(f"{body:<12} {name:<16} {m['mb_s']:8.0f} {ratio:>8} {cpuText:>11} {cpuRatio:>8}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
