#!/usr/bin/env python3
"""
Where a request's latency goes inside the proxy: the critical path at
concurrency 1, measured in the running daemon.

    .venv/bin/python bench/critical_path.py [--requests N] [--targets a,b]

For each target (proxy-nochecks, proxy-checks) twistd runs under a wrapper
(this file, --inside) that times, with perf_counter_ns, the moments of each
request from the arrival of its bytes: the resource renders it, its
inspection starts and ends, the upstream headers are built, the upstream
request is handed to a connection and written; and of each answer from the
arrival of the upstream's bytes to the answer being complete (Exchange's
finish callback, where the answer is sent).  N JSON-RPC POSTs at
concurrency 1 (bench/client.py), then a table of mean microseconds per
moment, per target.  The wrapper patches internals by name: a development
tool, not a measure of the targets (bench/run.py is), and wall time on a
shared machine drifts as CPU time does; compare targets in one run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))

REQUEST_MARKS = ("render", "inspect start", "inspect end", "headers start", "headers end", "agent", "connection", "written")
ANSWER_MARKS = ("answer complete",)


def inside(report: str, twistdArgs: list[str]) -> None:
    """
    Patch the daemon's steps with timers, run twistd, write the means to
    C{report} at shutdown.
    """
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from twisted.internet import reactor
    from twisted.web import _newclient

    import akto_proxy.relay.http as upstream
    import akto_proxy.web.channel as channel
    import akto_proxy.web.proxy as proxy

    clock = time.perf_counter_ns
    start = {"request": 0, "answer": 0}
    sums: dict[str, list[int]] = {}

    def mark(name: str, since: str) -> None:
        s = sums.setdefault(name, [0, 0])
        s[0] += clock() - start[since]
        s[1] += 1

    def before(owner: Any, attr: str, name: str, since: str = "request") -> None:
        original = getattr(owner, attr)

        def timed(*a: Any, **kw: Any) -> Any:
            mark(name, since)
            return original(*a, **kw)

        setattr(owner, attr, timed)

    def around(owner: Any, attr: str, first: str, then: str) -> None:
        original = getattr(owner, attr)

        def timed(*a: Any, **kw: Any) -> Any:
            mark(first, "request")
            result = original(*a, **kw)
            mark(then, "request")
            return result

        setattr(owner, attr, timed)

    def arrival(owner: Any, which: str) -> None:
        original: Callable[..., Any] = owner.dataReceived

        def received(self: Any, data: bytes) -> Any:
            start[which] = clock()
            return original(self, data)

        owner.dataReceived = received

    arrival(channel.StrictChannel, "request")
    arrival(_newclient.HTTP11ClientProtocol, "answer")
    before(proxy.ProxyResource, "render", "render")
    original = proxy.Exchange.inspectRequest

    async def inspectRequest(self: Any, *a: Any) -> Any:
        mark("inspect start", "request")
        result = await original(self, *a)
        mark("inspect end", "request")
        return result

    proxy.Exchange.inspectRequest = inspectRequest  # type: ignore[method-assign]
    around(proxy.Exchange, "upstreamHeaders", "headers start", "headers end")
    before(upstream.UpstreamAgent, "request", "agent")
    around(upstream.EagerClientProtocol, "request", "connection", "written")
    before(proxy.Exchange, "_clientDone", "answer complete", "answer")

    def write() -> None:
        Path(report).write_text(json.dumps({k: s[0] / s[1] / 1000 for k, s in sums.items() if s[1]}))

    reactor.addSystemEventTrigger("before", "shutdown", write)
    from twisted.scripts.twistd import run

    sys.argv = ["twistd"] + twistdArgs
    run()


def measure(name: str, upPort: int, requests: int) -> dict[str, float]:
    from run import PY, REPO, RESULTS, client, freePort, relayArgv, waitReady

    port = freePort()
    argv = relayArgv(name, port, "-critical")
    report = RESULTS / f"{name}-critical.json"
    report.unlink(missing_ok=True)
    relay = subprocess.Popen([PY, __file__, "--inside", str(report), "--"] + argv[1:],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    try:
        url = f"http://127.0.0.1:{port}/proxy/http/127.0.0.1:{upPort}/mcp"
        waitReady(None, url, limit=60)
        r = client("rpc", 300, None, "--url", url, "--concurrency", "1", "--warmup", "300", "--requests", str(requests))
        if r.get("statuses") != {"200": requests}:
            raise SystemExit(f"{name}: unexpected answers {r.get('statuses') or r.get('client_error')}")
    finally:
        relay.terminate()
        relay.wait(timeout=60)
    return json.loads(report.read_text())


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--inside":
        return inside(sys.argv[2], sys.argv[4:])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--targets", default="proxy-nochecks,proxy-checks")
    a = ap.parse_args()
    from run import HERE, PY, REPO, RESULTS, freePort, waitReady

    RESULTS.mkdir(exist_ok=True)
    upPort = freePort()
    up = subprocess.Popen([PY, str(HERE / "upstream.py"), "--port", str(upPort)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    results: dict[str, dict[str, float]] = {}
    try:
        waitReady(None, f"http://127.0.0.1:{upPort}/mcp", limit=20)
        for name in a.targets.split(","):
            results[name] = measure(name, upPort, a.requests)
    finally:
        up.terminate()
        up.wait(timeout=10)
    names = list(results)
    print(f"mean microseconds at concurrency 1, {a.requests} requests")
    print(f"{'from the request bytes to':28s}" + "".join(f"{n:>18s}" for n in names))
    for m in REQUEST_MARKS:
        print(f"  {m:26s}" + "".join(f"{results[n].get(m, float('nan')):18.1f}" for n in names))
    print(f"{'from the upstream bytes to':28s}")
    for m in ANSWER_MARKS:
        print(f"  {m:26s}" + "".join(f"{results[n].get(m, float('nan')):18.1f}" for n in names))


if __name__ == "__main__":
    main()
