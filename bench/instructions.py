#!/usr/bin/env python3
"""
Instructions per request, counted by valgrind's callgrind: a figure that
does not drift with a shared machine's load, for telling small changes
apart (CPU time on a shared VM moves 10-20% between runs).

    .venv/bin/python bench/instructions.py [--requests N] [--concurrency C]

For the floor, the proxy without checks and the proxy with the sample's
checks: the relay runs under callgrind with instrumentation off; after a
warm-up the client turns it on, sends N JSON-RPC POSTs at concurrency C,
dumps the counts and stops.  Prints user-space instructions (Ir) per request
and the ratios to the floor.  Instructions are not time: memory stalls
(cache misses, the collector walking the heap) cost time without counting
here, so bench/run.py stays the measure of the targets.  Needs valgrind
(`apt-get install valgrind`); about a minute per target.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import HERE, PY, REPO, TWISTD, freePort  # noqa: E402

API_KEY = "bench-key-0123456789abcdef"


def relayArgv(name: str, port: int, work: Path) -> list[str]:
    if name == "floor":
        return [PY, str(HERE / "floor.py"), "--port", str(port)]
    import re

    cfg = work / f"{name}.yaml"
    cfg.write_text(re.sub(r"tcp:\d+:interface", f"tcp:{port}:interface", (HERE / f"{name}.yaml").read_text(), count=1))
    return [PY, TWISTD, "-n", "--pidfile=", "akto-proxy", "--config", str(cfg)]


def waitUp(port: int, limit: float = 180.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"relay on port {port} did not come up in {limit:.0f} s")


def client(url: str, concurrency: int, requests: int) -> dict:
    out = subprocess.run(
        [PY, str(HERE / "client.py"), "rpc", "--api-key", API_KEY, "--url", url, "--concurrency", str(concurrency),
         "--requests", str(requests), "--warmup", "0", "--max-seconds", "500"],
        capture_output=True, timeout=600, check=True, cwd=REPO,
    )
    return json.loads(out.stdout)


def measure(name: str, upPort: int, concurrency: int, requests: int, work: Path) -> int:
    port = freePort()
    out = work / f"{name}.callgrind"
    relay = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"] + relayArgv(name, port, work),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO,
    )
    try:
        waitUp(port)
        url = f"http://127.0.0.1:{port}/proxy/http/127.0.0.1:{upPort}/mcp"
        client(url, concurrency, 200)  # warm-up, not counted
        subprocess.run(["callgrind_control", "-i", "on", str(relay.pid)], capture_output=True, check=True)
        r = client(url, concurrency, requests)
        subprocess.run(["callgrind_control", "-d", str(relay.pid)], capture_output=True, check=True)
        if r.get("statuses") != {"200": requests}:
            raise SystemExit(f"{name}: unexpected answers {r.get('statuses')}")
    finally:
        relay.terminate()
        relay.wait(timeout=60)
    dumps = sorted(work.glob(f"{name}.callgrind.*"))
    if not dumps:
        raise SystemExit(f"{name}: no callgrind dump")
    for line in dumps[0].read_text(errors="replace").splitlines():
        if line.startswith("totals:") or line.startswith("summary:"):
            return int(line.split()[1]) // requests
    raise SystemExit(f"{name}: no totals in {dumps[0]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--targets", default="floor,proxy-nochecks,proxy-checks")
    a = ap.parse_args()
    if not shutil.which("valgrind") or not shutil.which("callgrind_control"):
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    upPort = freePort()
    upstream = subprocess.Popen([PY, str(HERE / "upstream.py"), "--port", str(upPort)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=REPO)
    results: dict[str, int] = {}
    try:
        waitUp(upPort, 20)
        with tempfile.TemporaryDirectory(prefix="akto-bench-ir-") as tmp:
            for name in a.targets.split(","):
                results[name] = measure(name, upPort, a.concurrency, a.requests, Path(tmp))
                print(f"{name:16s} {results[name]:>10,d} Ir/request", flush=True)
    finally:
        upstream.terminate()
        upstream.wait(timeout=10)
    floor = results.get("floor")
    if floor:
        print(f"\nat concurrency {a.concurrency}, {a.requests} requests each; ratio to the floor:")
        for name, ir in results.items():
            print(f"  {name:16s} {ir / floor:.2f}x")


if __name__ == "__main__":
    main()
