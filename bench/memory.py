"""
Memory, side by side with the floor: the rows of the throughput issue's
memory targets, in one run.

    .venv/bin/python bench/memory.py [--streams 10000] [--requests 5000]
                                     [--targets floor,proxy-nochecks,proxy-checks]

For each target, started fresh (one at a time, loopback upstream of
bench/upstream.py): VmRSS once ready ("fresh"), after --requests small
JSON-RPC POSTs at concurrency 50 ("after load"), with --streams SSE streams
held open (bench/client.py hold: each must answer and deliver its first
event, then an event broadcast to all), and once they are all closed.
Printed as MiB and as ratios to the floor, with RSS per held stream.

Targets (issue 18): fresh <= 1.2x the floor's, after load <= 1.5x fresh,
<= 13 KB per held SSE stream, 10,000 streams under 250 MB.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import HERE, PY, RESULTS, Proc, client, freePort, relayArgv, rssKiB, waitReady  # noqa: E402


def mib(kib: Optional[int]) -> Optional[float]:
    return kib / 1024 if kib else None


def measure(name: str, upPort: int, args: argparse.Namespace) -> dict[str, Any]:
    port = freePort()
    proc = Proc(name, relayArgv(name, port, "-mem"), RESULTS / f"{name}-mem.log", None)
    out: dict[str, Any] = {"target": name}
    try:
        base = f"http://127.0.0.1:{port}/proxy/http/127.0.0.1:{upPort}"
        waitReady(proc, f"{base}/mcp")
        time.sleep(1.0)
        out["fresh_mib"] = mib(rssKiB(proc.pid))
        r = client("rpc", 120, None, "--url", f"{base}/mcp", "--concurrency", "50",
                   "--requests", str(args.requests), "--warmup", "0")
        out["rpc_ok"] = r.get("ok")
        time.sleep(1.0)
        out["after_load_mib"] = mib(rssKiB(proc.pid))
        upBase = f"http://127.0.0.1:{upPort}"
        h = client("hold", args.hold_cap, None, "--url", f"{base}/sse-hold", "--streams", str(args.streams),
                   "--broadcast", f"{upBase}/broadcast", "--stats", f"{upBase}/stats", "--rss-pid", str(proc.pid))
        out["opened"] = h.get("opened")
        out["hold_errors"] = (h.get("errors") or [])[:5] or h.get("client_error")
        out["streams_open_mib"] = mib(h.get("rss_open_kib"))
        out["per_stream_kib"] = h.get("rss_per_stream_kib")
        time.sleep(2.0)
        out["after_close_mib"] = mib(rssKiB(proc.pid))
    except Exception as e:
        out["error"] = f"{type(e).__name__}: {e}"
    finally:
        proc.stop()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--streams", type=int, default=10000)
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--targets", default="floor,proxy-nochecks,proxy-checks")
    ap.add_argument("--hold-cap", type=float, default=300.0, help="seconds the held-stream phase may take")
    ap.add_argument("--out", default=str(RESULTS / "memory.json"))
    args = ap.parse_args()
    RESULTS.mkdir(exist_ok=True)
    upPort = freePort()
    up = Proc("upstream", [PY, str(HERE / "upstream.py"), "--port", str(upPort)], RESULTS / "upstream-mem.log", None)
    rows: list[dict[str, Any]] = []
    try:
        time.sleep(0.5)
        for name in args.targets.split(","):
            print(f"  [{name}] fresh, {args.requests} POSTs, {args.streams} held SSE streams", flush=True)
            rows.append(measure(name, upPort, args))
    finally:
        up.stop()
    floor = next((r for r in rows if r["target"] == "floor"), {})

    def cell(r: dict[str, Any], key: str, ref: Optional[float]) -> str:
        v = r.get(key)
        if v is None:
            return "-"
        return f"{v:.1f}" + (f" ({v / ref:.2f}x)" if ref else "")

    print(f"\n{'target':<16} {'fresh MiB':>16} {'after load':>16} {'streams open':>16} {'KiB/stream':>16} {'all closed':>12}")
    for r in rows:
        print(f"{r['target']:<16} {cell(r, 'fresh_mib', floor.get('fresh_mib')):>16} "
              f"{cell(r, 'after_load_mib', r.get('fresh_mib')):>16} {cell(r, 'streams_open_mib', floor.get('streams_open_mib')):>16} "
              f"{cell(r, 'per_stream_kib', floor.get('per_stream_kib')):>16} {cell(r, 'after_close_mib', None):>12}"
              + (f"  ERROR {r['error']}" if r.get("error") else "")
              + (f"  opened {r.get('opened')}" if r.get("opened") != args.streams else ""))
    print("(after load: ratio to the same target's fresh RSS; the others: ratio to the floor)")
    Path(args.out).write_text(json.dumps({"rows": rows, "args": vars(args)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
