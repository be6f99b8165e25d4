#!/usr/bin/env python3
"""
Instructions per request, counted by valgrind's callgrind: a figure that
does not drift with a shared machine's load, for telling small changes
apart (CPU time on a shared VM moves 10-20% between runs).

    .venv/bin/python bench/instructions.py [--requests N] [--concurrency C]
    .venv/bin/python bench/instructions.py --ws [--requests N] [--window W]

For the floor, the proxy without checks and the proxy with the sample's
checks (or, with C{--targets rl-off,rl-memory,rl-redis}, the rate-limiting
configurations of run.py --ratelimit; rl-redis gets a redis-server of its
own on a free loopback port): the relay runs under callgrind with instrumentation off; after a
warm-up the client turns it on, sends N JSON-RPC POSTs at concurrency C,
dumps the counts and stops.  Prints user-space instructions (Ir) per request
and the ratios to the floor.  Instructions are not time: memory stalls
(cache misses, the collector walking the heap) cost time without counting
here, so bench/run.py stays the measure of the targets.  Needs valgrind
(`apt-get install valgrind`); about a minute per target.

With C{--ws}: WebSocket messages instead (bench/ws_bench.py's echo
upstream; C{floor} is ws_bench's FLOOR, plain Twisted + Autobahn): on one
socket, after a warm-up of 200 echoes, N echoes of ws_bench's ~1 KiB
JSON-RPC message with W in flight (1: ping-pong); instructions per message
relayed (two per echo: one each way).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import HERE, PY, REPO, RESULTS, client, freePort, relayArgv, startRedis, waitReady  # noqa: E402
import ws_bench  # noqa: E402


def measure(name: str, upPort: int, concurrency: int, requests: int, work: Path, redisPort: Optional[int] = None) -> int:
    port = freePort()
    out = work / f"{name}.callgrind"
    argv = relayArgv(name, port, "-ir", redisPort)
    if argv[0] != PY:
        argv = [PY] + argv  # twistd is a script: valgrind runs the interpreter
    relay = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"] + argv,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO,
    )
    try:
        url = f"http://127.0.0.1:{port}/proxy/http/127.0.0.1:{upPort}/mcp"
        waitReady(None, url, limit=180)
        load = ("--url", url, "--concurrency", str(concurrency), "--warmup", "0")
        client("rpc", 500, None, *load, "--requests", "200")  # warm-up, not counted
        subprocess.run(["callgrind_control", "-i", "on", str(relay.pid)], capture_output=True, check=True)
        r = client("rpc", 500, None, *load, "--requests", str(requests))
        subprocess.run(["callgrind_control", "-d", str(relay.pid)], capture_output=True, check=True)
        if r.get("statuses") != {"200": requests}:
            raise SystemExit(f"{name}: unexpected answers {r.get('statuses') or r.get('client_error')}")
    finally:
        relay.terminate()
        relay.wait(timeout=60)
    return totals(name, work, requests)


def totals(name: str, work: Path, per: int) -> int:
    dumps = sorted(work.glob(f"{name}.callgrind.*"))
    if not dumps:
        raise SystemExit(f"{name}: no callgrind dump")
    for line in dumps[0].read_text(errors="replace").splitlines():
        if line.startswith("totals:") or line.startswith("summary:"):
            return int(line.split()[1]) // per
    raise SystemExit(f"{name}: no totals in {dumps[0]}")


def measureWS(name: str, upPort: int, window: int, echoes: int, work: Path) -> int:
    """
    Instructions per WebSocket message relayed by target C{name}.
    """
    import asyncio

    from websockets.asyncio.client import connect

    port = freePort()
    out = work / f"{name}.callgrind"
    if name == "floor":
        script = RESULTS / "ws-floor.py"
        script.write_text(ws_bench.FLOOR)
        argv = [PY, str(script), str(port), str(upPort)]
        url = f"ws://127.0.0.1:{port}/ws"
    else:
        cfg = RESULTS / f"ws-{name}-ir.yaml"
        cfg.write_text(re.sub(r"tcp:\d+:interface", f"tcp:{port}:interface", (HERE / f"{name}.yaml").read_text(), count=1))
        argv = [PY, ws_bench.TWISTD, "-n", "--pidfile=", "akto-proxy", "--config", str(cfg)]
        url = f"ws://127.0.0.1:{port}/proxy/ws/127.0.0.1:{upPort}/ws?akto_api_key={ws_bench.API_KEY}"
    relay = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"] + argv,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO,
    )

    async def echo(ws: Any, n: int) -> None:
        m = ws_bench.message(0)
        sent = received = 0
        while received < n:
            while sent < n and sent - received < window:
                await ws.send(m)
                sent += 1
            if await asyncio.wait_for(ws.recv(), 60) != m:
                raise SystemExit(f"{name}: echo mismatch")
            received += 1

    async def run() -> None:
        await ws_bench.waitOpen(url, limit=180)
        async with connect(url, compression=None, max_size=None, open_timeout=60) as ws:
            await echo(ws, 200)  # warm-up, not counted
            subprocess.run(["callgrind_control", "-i", "on", str(relay.pid)], capture_output=True, check=True)
            await echo(ws, echoes)
            subprocess.run(["callgrind_control", "-d", str(relay.pid)], capture_output=True, check=True)

    try:
        asyncio.run(run())
    finally:
        relay.terminate()
        relay.wait(timeout=60)
    return totals(name, work, 2 * echoes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--targets", default="floor,proxy-nochecks,proxy-checks")
    ap.add_argument("--keep", metavar="DIR", help="keep the callgrind files there (for callgrind_annotate)")
    ap.add_argument("--ws", action="store_true", help="WebSocket messages (targets floor,proxy-nochecks,proxy-checks)")
    ap.add_argument("--window", type=int, default=1, help="with --ws: messages in flight (1: ping-pong)")
    a = ap.parse_args()
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    RESULTS.mkdir(exist_ok=True)
    if a.ws:
        mainWS(a)
        return
    upPort = freePort()
    upstream = subprocess.Popen([PY, str(HERE / "upstream.py"), "--port", str(upPort)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    results: dict[str, int] = {}
    targets = a.targets.split(",")
    redisProc = redisPort = None
    if "rl-redis" in targets:
        redisProc, redisPort, why = startRedis(None)
        if redisProc is None:
            raise SystemExit(f"rl-redis: {why}")
    try:
        waitReady(None, f"http://127.0.0.1:{upPort}/mcp", limit=20)
        with tempfile.TemporaryDirectory(prefix="akto-bench-ir-") as tmp:
            work = Path(a.keep) if a.keep else Path(tmp)
            work.mkdir(parents=True, exist_ok=True)
            for name in targets:
                results[name] = measure(name, upPort, a.concurrency, a.requests, work, redisPort)
                print(f"{name:16s} {results[name]:>10,d} Ir/request", flush=True)
    finally:
        upstream.terminate()
        upstream.wait(timeout=10)
        if redisProc is not None:
            redisProc.stop()
    floor = results.get("floor")
    if floor:
        print(f"\nat concurrency {a.concurrency}, {a.requests} requests each; ratio to the floor:")
        for name, ir in results.items():
            print(f"  {name:16s} {ir / floor:.2f}x")
    off = results.get("rl-off")
    if off:
        print(f"\nat concurrency {a.concurrency}, {a.requests} requests each; ratio to rl-off (no rate limiting):")
        for name, ir in results.items():
            print(f"  {name:16s} {ir / off:.2f}x")


def mainWS(a: argparse.Namespace) -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    upPort = freePort()
    script = RESULTS / "ws-upstream.py"
    script.write_text(ws_bench.UPSTREAM)
    upstream = subprocess.Popen([PY, str(script), str(upPort)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    results: dict[str, int] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="akto-bench-ir-") as tmp:
            work = Path(a.keep) if a.keep else Path(tmp)
            work.mkdir(parents=True, exist_ok=True)
            for name in a.targets.split(","):
                results[name] = measureWS(name, upPort, a.window, a.requests, work)
                print(f"{name:16s} {results[name]:>10,d} Ir/message", flush=True)
    finally:
        upstream.terminate()
        upstream.wait(timeout=10)
    floor = results.get("floor")
    if floor:
        print(f"\nWebSocket, {a.window} in flight, {a.requests} echoes each (two messages relayed per echo); ratio to the floor:")
        for name, ir in results.items():
            print(f"  {name:16s} {ir / floor:.2f}x")


if __name__ == "__main__":
    main()
