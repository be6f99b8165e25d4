"""
The response cache's bench: tools/list of real tool definitions through
akto-proxy with the cache off and on, side by side with the floor and the
direct path.  Loopback only.

    .venv/bin/python bench/cache_bench.py [--quick] [--tools 40] [--list-delay-ms 0] [--out FILE]

Starts bench/upstream.py (tools/list answers with --tools real tool
definitions of the tool-poisoning corpus, ~0.5 KB each; after
--list-delay-ms, a remote server's own time) and, all at once:

  direct        client -> upstream
  floor         bench/floor.py (no checks, no cache)
  cache-off     akto-proxy, bench/proxy-checks.yaml (the sample's checks and
                the MCP protections: list filter, pins, tool poisoning)
  cache-on      the same plus bench/variant-cache.yaml (cache: enabled, 60s)

then measures each in interleaved rounds (quick 3, full 5) with
bench/client.py, tools/list POSTs at concurrency 1 and 50: p50/p99 latency,
requests/s, and the relay's CPU per request from /proc (its own process;
with the cache on, every hit is still judged by the pipeline: list filter,
pins, poisoning, response checks).  Prints the table with ratios to the
floor and writes bench/results/cache.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from run import HERE, PY, RESULTS, Proc, freePort, runRPCRounds, waitReady  # noqa: E402

#: bench target -> the relay bench/run.py starts for it
TARGETS = {"direct": "direct", "floor": "floor", "cache-off": "proxy-checks", "cache-on": "proxy-checks+cache"}
QUICK = dict(rounds=3, c1=1500, c1_warm=150, c50=4500, c50_warm=300, rpc_cap=40.0)
FULL = dict(rounds=5, c1=5000, c1_warm=300, c50=15000, c50_warm=600, rpc_cap=120.0)


def measure(quick: bool, tools: int, delayMs: float) -> dict[str, Any]:
    P = QUICK if quick else FULL
    RESULTS.mkdir(exist_ok=True)
    upPort = freePort()
    up = Proc("upstream", [PY, str(HERE / "upstream.py"), "--port", str(upPort), "--tools", str(tools), "--list-delay-ms", str(delayMs)],
              RESULTS / "cache-upstream.log", None)
    raw: dict[str, dict] = {relay: {} for relay in TARGETS.values()}
    try:
        waitReady(up, f"http://127.0.0.1:{upPort}/mcp")
        runRPCRounds(list(TARGETS.values()), upPort, up.pid, P, None, None, raw, "tools/list", "-cache")
    finally:
        up.stop()
    results = {name: {"c1": raw[relay].get("rpc_c1"), "c50": raw[relay].get("rpc_c50"), "log_scan": raw[relay].get("rpc_log_scan"),
                      "error": raw[relay].get("error")} for name, relay in TARGETS.items()}
    return {"params": P, "tools": tools, "list_delay_ms": delayMs, "pids_note": "cpu_ms_per_req: relay first, upstream second",
            "results": results}


def relayCPU(r: dict[str, Any], name: str, key: str) -> Optional[float]:
    cpu = (r.get(key) or {}).get("cpu_ms_per_req") or {}
    values = list(cpu.values())
    if not values:
        return None
    return values[0]


def table(doc: dict[str, Any]) -> str:
    res = doc["results"]
    lines = [f"tools/list of {doc['tools']} tools, upstream delay {doc['list_delay_ms']:g} ms ({'quick' if doc['params']['rounds'] == 3 else 'full'}, {doc['params']['rounds']} interleaved rounds)"]
    head = f"{'target':<10} {'c1 p50 ms':>10} {'c1 p99 ms':>10} {'c50 req/s':>10} {'c50 p50 ms':>11} {'relay CPU ms/req':>17} {'CPU/floor':>10} {'statuses (c50)':>20}"
    lines.append(head)
    floorCPU = relayCPU(res["floor"], "floor", "c50")
    for name in TARGETS:
        r = res[name]
        c1, c50 = r.get("c1") or {}, r.get("c50") or {}
        cpu = relayCPU(r, name, "c50") if name != "direct" else None
        ratio = f"{cpu / floorCPU:10.2f}" if cpu is not None and floorCPU else f"{'':>10}"

        def f(v: Any, fmt: str) -> str:
            return format(v, fmt) if isinstance(v, (int, float)) else "-"

        lines.append(
            f"{name:<10} {f(c1.get('p50_ms'), '10.3f')} {f(c1.get('p99_ms'), '10.3f')} {f(c50.get('rps'), '10.0f')} "
            f"{f(c50.get('p50_ms'), '11.3f')} {f(cpu, '17.3f')} {ratio} {json.dumps(c50.get('statuses', {})):>20}"
        )
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--tools", type=int, default=40)
    ap.add_argument("--list-delay-ms", type=float, default=0.0, help="the upstream's own time per tools/list")
    ap.add_argument("--out", default=str(RESULTS / "cache.json"))
    a = ap.parse_args()
    started = time.time()
    doc = measure(a.quick, a.tools, a.list_delay_ms)
    doc["started"] = started
    doc["loadavg_after"] = os.getloadavg()[0]
    print(table(doc))
    with open(a.out, "w") as f:
        json.dump(doc, f, indent=1)
    bad = [n for n in TARGETS if set((doc["results"][n].get("c50") or {}).get("statuses", {})) - {"200"}]
    if bad:
        print(f"non-200 answers from: {', '.join(bad)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
