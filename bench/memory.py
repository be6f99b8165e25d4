"""
Memory, side by side with the floor: the rows of the throughput issue's
memory targets, in one run.

    .venv/bin/python bench/memory.py [--streams 10000] [--requests 5000]
                                     [--targets floor,proxy-nochecks,proxy-checks]
                                     [--ws-sockets 2000] [--no-http] [--base CHECKOUT]
                                     [--big N [--settle S]]

For each target, started fresh (one at a time, loopback upstream of
bench/upstream.py): VmRSS once ready ("fresh"), after --requests small
JSON-RPC POSTs at concurrency 50 ("after load"), with --streams SSE streams
held open (bench/client.py hold: each must answer and deliver its first
event, then an event broadcast to all), and once they are all closed.
Printed as MiB and as ratios to the floor, with RSS per held stream.
--big N then sends N large messages at concurrency 8 (1 MiB JSON and text
GETs, tools/call POSTs of 360 KiB of prose with SQL words in it, which the
proxy judges in its pool threads): RSS right after them and --settle
seconds later (the daemon trims its heap when it grew: service.HeapTrimmer).

Idle WebSockets (--ws-sockets N, 0 to skip): each target started fresh
again, against bench/ws_bench.py's echo upstream (the floor: ws_bench's
FLOOR, plain Twisted + Autobahn); N sockets opened 50 at a time and held;
RSS per socket = (RSS with all open - RSS before) / N, then each echoes one
message.  Each proxy starts with an empty state directory.  --no-http
skips the HTTP rows.  --base CHECKOUT adds the target
base-checks: proxy-checks run from another checkout (A/B against main).

Measured as the daemon runs once installed: the checkouts' bytecode is
compiled first (pip writes it at install; without it, and with
PYTHONDONTWRITEBYTECODE set as in the development sessions, every start
compiles the package from source, 1.2 MiB more), and each proxy finds its
pattern databases in a database cache of the bench's own
(bench/results/hs-cache: started once before it is measured, as systemd's
CacheDirectory keeps it across restarts; other runs on the machine cannot
evict them).  --cold measures a first start instead: an empty cache, so
the databases are compiled (and Hyperscan's compiler code is resident).
--no-bytecode leaves the bytecode alone.

Targets (issue 18): fresh <= 1.2x the floor's, after load <= 1.5x fresh,
<= 13 KB per held SSE stream, 10,000 streams under 250 MB, <= 20 KB per
idle WebSocket.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import API_KEY, HERE, PY, RESULTS, Proc, client, freePort, relayArgv, rssKiB, waitReady  # noqa: E402
import ws_bench  # noqa: E402


def mib(kib: Optional[int]) -> Optional[float]:
    return kib / 1024 if kib else None


@contextlib.contextmanager
def environment(name: str, base: Optional[str]) -> Iterator[None]:
    """
    The environment a target is started in: its own empty state directory
    (the pins a proxy loads at start: a state file other runs left behind
    would count as start-up memory), and for a C{base-*} target the package
    of checkout C{base}.
    """
    state = RESULTS / f"state-{name}-mem"
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    wanted = {"STATE_DIRECTORY": str(state), "AKTO_PROXY_CACHE_DIR": str(CACHE)}
    if name.startswith("base-"):
        wanted["PYTHONPATH"] = str(Path(base or ".").resolve())
    saved = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                del os.environ[k]
            else:
                os.environ[k] = v


#: the proxies' pattern database cache (AKTO_PROXY_CACHE_DIR)
CACHE = RESULTS / "hs-cache"


def compileBytecode(checkout: Path) -> None:
    """
    Compile the bytecode of C{checkout}'s package, plugin and bench scripts
    (into their __pycache__ directories, which git ignores), as an install
    does.
    """
    dirs = [str(checkout / d) for d in ("akto_proxy", "twisted/plugins", "bench") if (checkout / d).is_dir()]
    subprocess.run([PY, "-m", "compileall", "-q", *dirs], check=True, stdout=subprocess.DEVNULL)


def warmUp(name: str, upPort: int, base: Optional[str]) -> None:
    """
    Start proxy target C{name} once and stop it when it answers: its
    databases are in the cache for the measured start.
    """
    port = freePort()
    with environment(name, base):
        proc = Proc(name, relayArgv(name.replace("base-", "proxy-"), port, "-warm"), RESULTS / f"{name}-warm.log", None)
    try:
        waitReady(proc, f"http://127.0.0.1:{port}/proxy/http/127.0.0.1:{upPort}/mcp", limit=120)
    finally:
        proc.stop()


def measure(name: str, upPort: int, args: argparse.Namespace) -> dict[str, Any]:
    port = freePort()
    with environment(name, args.base):
        proc = Proc(name, relayArgv(name.replace("base-", "proxy-"), port, "-mem"), RESULTS / f"{name}-mem.log", None)
    out: dict[str, Any] = {"target": name}
    try:
        base = f"http://127.0.0.1:{port}/proxy/http/127.0.0.1:{upPort}"
        waitReady(proc, f"{base}/mcp", limit=180 if args.cold else 30)  # cold: compiling
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
        if args.big:
            out["big_status"] = bigLoad(base, args.big)
            out["after_big_mib"] = mib(rssKiB(proc.pid))
            time.sleep(args.settle)
            out["big_settled_mib"] = mib(rssKiB(proc.pid))
    except Exception as e:
        out["error"] = f"{type(e).__name__}: {e}"
    finally:
        proc.stop()
    return out


def bigLoad(base: str, n: int) -> list[int]:
    """
    C{n} large messages at concurrency 8, half of each kind: a 1 MiB JSON
    or text GET, and a tools/call POST of 360 KiB of prose with SQL words
    in it (its strings are judged in the inspection pool's threads).  The
    statuses seen.
    """
    import concurrent.futures
    import urllib.request

    text = "the quarterly report lists SELECT name FROM accounts WHERE region = 'north' and other notes; " * 4000
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                       "params": {"name": "echo", "arguments": {"text": text}}}).encode()
    headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream", "X-Akto-Api-Key": API_KEY}

    def one(i: int) -> int:
        if i % 2:
            req = urllib.request.Request(f"{base}/mcp", data=body, method="POST", headers=headers)
        else:
            kind = "json" if i % 4 else "text"
            req = urllib.request.Request(f"{base}/big?kind={kind}&kib=1024", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                r.read()
                return int(r.status)
        except urllib.error.HTTPError as e:
            return int(e.code)
        except OSError:
            return 0

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        return sorted(set(ex.map(one, range(n))))


def measureWS(name: str, upPort: int, sockets: int, base: Optional[str]) -> dict[str, Any]:
    """
    RSS per idle WebSocket of target C{name}, started fresh.
    """
    out: dict[str, Any] = {}
    if name == "floor":
        port = freePort()
        script = RESULTS / "ws-floor.py"
        script.write_text(ws_bench.FLOOR)
        proc = ws_bench.Proc(name, [PY, str(script), str(port), str(upPort)], RESULTS / "ws-floor-mem.log")
        url = f"ws://127.0.0.1:{port}/ws"
    else:
        with environment(name, base):
            proc, url = ws_bench.proxyTarget(name, upPort)
    try:
        asyncio.run(ws_bench.waitOpen(url))
        time.sleep(1.0)
        h = asyncio.run(ws_bench.hold(url, sockets, proc.pid))
        out["ws_per_socket_kib"] = h.get("rss_per_socket_kib")
        out["ws_echoed"] = h.get("echoed")
    except Exception as e:
        out["ws_error"] = f"{type(e).__name__}: {e}"
    finally:
        proc.stop()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--streams", type=int, default=10000)
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--targets", default="floor,proxy-nochecks,proxy-checks")
    ap.add_argument("--hold-cap", type=float, default=300.0, help="seconds the held-stream phase may take")
    ap.add_argument("--ws-sockets", type=int, default=2000, help="idle WebSockets held per target (0: skip)")
    ap.add_argument("--no-http", action="store_true", help="only the idle-WebSocket rows")
    ap.add_argument("--base", metavar="CHECKOUT", help="also run base-checks: proxy-checks from another checkout")
    ap.add_argument("--cold", action="store_true", help="first starts: an empty database cache, databases compiled")
    ap.add_argument("--no-bytecode", action="store_true", help="do not compile the checkouts' bytecode first")
    ap.add_argument("--big", type=int, default=0, metavar="N",
                    help="at the end, N large messages (1 MiB GETs, 360 KiB tool calls): RSS after them and --settle s later")
    ap.add_argument("--settle", type=float, default=12.0, help="seconds after --big before RSS is read again")
    ap.add_argument("--out", default=str(RESULTS / "memory.json"))
    args = ap.parse_args()
    RESULTS.mkdir(exist_ok=True)
    if not args.no_bytecode:
        compileBytecode(HERE.parent)
        if args.base:
            compileBytecode(Path(args.base).resolve())
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    names = args.targets.split(",")
    if args.base:
        names.append("base-checks")
    rows: list[dict[str, Any]] = [{"target": name} for name in names]
    if not args.no_http:
        upPort = freePort()
        up = Proc("upstream", [PY, str(HERE / "upstream.py"), "--port", str(upPort)], RESULTS / "upstream-mem.log", None)
        try:
            time.sleep(0.5)
            for row in rows:
                if args.cold:
                    shutil.rmtree(CACHE, ignore_errors=True)
                elif row["target"] != "floor":
                    warmUp(row["target"], upPort, args.base)
                print(f"  [{row['target']}] fresh, {args.requests} POSTs, {args.streams} held SSE streams", flush=True)
                row.update(measure(row["target"], upPort, args))
        finally:
            up.stop()
    if args.ws_sockets:
        wsPort = freePort()
        script = RESULTS / "ws-upstream.py"
        script.write_text(ws_bench.UPSTREAM)
        wsUp = ws_bench.Proc("ws-upstream", [PY, str(script), str(wsPort)], RESULTS / "ws-upstream-mem.log")
        try:
            for row in rows:
                print(f"  [{row['target']}] {args.ws_sockets} idle WebSockets", flush=True)
                row.update(measureWS(row["target"], wsPort, args.ws_sockets, args.base))
        finally:
            wsUp.stop()
    floor = next((r for r in rows if r["target"] == "floor"), {})

    def cell(r: dict[str, Any], key: str, ref: Optional[float]) -> str:
        v = r.get(key)
        if v is None:
            return "-"
        return f"{v:.1f}" + (f" ({v / ref:.2f}x)" if ref else "")

    print(f"\n{'target':<16} {'fresh MiB':>16} {'after load':>16} {'streams open':>16} {'KiB/stream':>16} {'all closed':>12}"
          f" {'KiB/WebSocket':>16}")
    for r in rows:
        print(f"{r['target']:<16} {cell(r, 'fresh_mib', floor.get('fresh_mib')):>16} "
              f"{cell(r, 'after_load_mib', r.get('fresh_mib')):>16} {cell(r, 'streams_open_mib', floor.get('streams_open_mib')):>16} "
              f"{cell(r, 'per_stream_kib', floor.get('per_stream_kib')):>16} {cell(r, 'after_close_mib', None):>12}"
              f" {cell(r, 'ws_per_socket_kib', floor.get('ws_per_socket_kib')):>16}"
              + (f"  ERROR {r['error']}" if r.get("error") else "")
              + (f"  WS ERROR {r['ws_error']}" if r.get("ws_error") else "")
              + (f"  opened {r.get('opened')}" if not args.no_http and r.get("opened") != args.streams else "")
              + (f"  echoed {r.get('ws_echoed')}" if args.ws_sockets and r.get("ws_echoed") != args.ws_sockets else ""))
    if args.big:
        print(f"\n{'target':<16} {'after big':>16} {'settled':>16}   ({args.big} large messages, then {args.settle:g} s)")
        for r in rows:
            if "after_big_mib" in r:
                print(f"{r['target']:<16} {cell(r, 'after_big_mib', r.get('fresh_mib')):>16} "
                      f"{cell(r, 'big_settled_mib', r.get('fresh_mib')):>16}   statuses {r.get('big_status')}")
    print("(after load, after big, settled: ratio to the same target's fresh RSS; the others: ratio to the floor)")
    Path(args.out).write_text(json.dumps({"rows": rows, "args": vars(args)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
