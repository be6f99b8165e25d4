"""
Memory held by one large response in flight: for each target and body (a
JSON GET, a text GET, a tool result, as bench/bigbody.py sends them), a
fresh relay answers one small request of that kind (so that its threads,
pools and code paths exist), then one large one; the peak resident size
(VmHWM, reset through /proc/PID/clear_refs just before) over the resident
size before it, as a multiple of the body's size.  Also (by default) the
tool result answered as one SSE event, as MCP servers' SDKs answer a POST.

    .venv/bin/python bench/inflight.py [--kib 15360] [--targets floor,proxy-nochecks,proxy-checks]
        [--bodies "json GET,text GET,tool result,sse result"] [--base CHECKOUT]

The sample's `max_inspected_response` is 16 MiB: the default body (15 MiB)
is the largest the proxy inspects.  A relay that streams (the floor) holds
a few chunks; one that must judge a body before it sends any of it holds
the body at least once.  --base CHECKOUT also runs the proxies of another
checkout (base-nochecks, base-checks) for A/B.
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
from typing import Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bigbody as B  # noqa: E402
import run as R  # noqa: E402


def memory(pid: int) -> dict[str, float]:
    """
    VmRSS and VmHWM of C{pid}, in MiB.
    """
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024
    return out


def resetPeak(pid: int) -> bool:
    """
    Reset C{pid}'s VmHWM to its current resident size (Linux >= 4.0); False
    when this kernel or user may not.
    """
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def one(name: str, base: Optional[str], upPort: int, body: str, kib: int) -> dict[str, float]:
    port = R.freePort()
    argv = R.relayArgv(name.replace("base-", "proxy-"), port, "-inflight" + ("-base" if name.startswith("base-") else ""))
    if name != "floor":
        checkout = os.path.abspath(base) if name.startswith("base-") and base else str(R.HERE.parent)
        argv = ["env", f"PYTHONPATH={checkout}", *argv]
    proc = R.Proc(f"{name}-inflight", argv, R.RESULTS / f"{name}-inflight.log", None)
    try:
        url = f"http://127.0.0.1:{port}/proxy/http/127.0.0.1:{upPort}"
        R.waitReady(proc, f"{url}/mcp", limit=180)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        try:
            path = f"/proxy/http/127.0.0.1:{upPort}"
            B.fetch(conn, path, body, 4)
            before = memory(proc.pid)
            if not resetPeak(proc.pid):
                raise SystemExit("cannot reset VmHWM (/proc/PID/clear_refs): run as the relay's user on Linux >= 4.0")
            size = B.fetch(conn, path, body, kib)
            after = memory(proc.pid)
        finally:
            conn.close()
    finally:
        proc.stop()
    over = after["VmHWM"] - before["VmRSS"]
    return {"before_mib": before["VmRSS"], "peak_mib": after["VmHWM"], "over_mib": over, "body_mib": size / (1 << 20), "multiple": over / (size / (1 << 20))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kib", type=int, default=15 * 1024)
    ap.add_argument("--targets", default="floor,proxy-nochecks,proxy-checks")
    ap.add_argument("--bodies", default=",".join(B.ALL_BODIES))
    ap.add_argument("--base", metavar="CHECKOUT", help="also the proxies of this checkout, as base-nochecks and base-checks")
    a = ap.parse_args()
    names = a.targets.split(",")
    if a.base:
        names += ["base-nochecks", "base-checks"]
    R.RESULTS.mkdir(exist_ok=True)
    upPort = R.freePort()
    up = R.Proc("upstream", [R.PY, str(R.HERE / "upstream.py"), "--port", str(upPort)], R.RESULTS / "upstream-inflight.log", None)
    rows = []
    try:
        R.waitReady(up, f"http://127.0.0.1:{upPort}/mcp")
        for body in a.bodies.split(","):
            for name in names:
                rows.append((body, name, one(name, a.base, upPort, body, a.kib)))
    finally:
        up.stop()
    print(f"\none {a.kib} KiB response in flight, each in a fresh relay; peak RSS over the RSS before it")
    print(f"{'body':<12} {'target':<16} {'before MiB':>10} {'peak MiB':>9} {'over MiB':>9} {'x body':>7}")
    for body, name, m in rows:
        print(f"{body:<12} {name:<16} {m['before_mib']:10.1f} {m['peak_mib']:9.1f} {m['over_mib']:9.1f} {m['multiple']:6.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
