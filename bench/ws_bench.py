"""
WebSocket relay benchmark, loopback only (127.0.0.1).

    .venv/bin/python bench/ws_bench.py              # about a minute
    .venv/bin/python bench/ws_bench.py --quick
    .venv/bin/python bench/ws_bench.py --conformance-only   # Autobahn TestSuite only, ~5 minutes
    .venv/bin/python bench/ws_bench.py --conformance   # the measures, then the Autobahn TestSuite

The Autobahn TestSuite (C{wstest}, Python 2.7 only; its set-up in
bench/README.md) runs as a fuzzing client against every target: cases 1-7,
10 against each, then the heavy 9.1 and 9.2 (messages up to 16 MiB) once
against each; per target the count of each behaviour (OK, NON-STRICT,
INFORMATIONAL, FAILED, UNIMPLEMENTED), and for the proxies the cases whose
behaviour differs from the floor's, with the testsuite's words
(reports in bench/results/ws-conformance/TARGET-light|heavy/).

Processes (each its own, stopped by its own pid): a C{websockets} echo
upstream; the FLOOR (a plain Twisted + Autobahn relay to that upstream, no
inspection, no access control: L{FLOOR} below, the least a Twisted relay of
WebSocket messages costs); the proxy as C{twistd -n akto-proxy} with
bench/proxy-nochecks.yaml and bench/proxy-checks.yaml (listen port rewritten
into bench/results/ws-<name>.yaml); this process is the client
(C{websockets}).

Measured per target (direct, floor, proxy-nochecks, proxy-checks):
- round trip of one ~1 KiB JSON-RPC text message, one at a time: p50/p99
  (N after a warm-up); "added" is against direct; ping-pong msgs/s is the
  number of round trips over their total time;
- messages/s echoed with 64 in flight on one socket (pipelined), and the
  relay's CPU time (user + system, from /proc) per message relayed (each
  echo is two messages through the relay: one each way);
- 1,000 concurrent sockets opened 50 at a time, each echoing one message
  once all are open; the proxy's VmRSS idle and with all open; all closed
  and the proxy's open-socket count back to zero.
Target: < 1 ms added per round trip at p50 (proxy-checks).  The proxies'
pipelined msgs/s, ping-pong msgs/s and CPU per message are printed as ratios
to the floor's (issue 18's targets with checks: >= 0.8x, >= 1.0x, <= 1.2x).
With C{--rounds N} the round-trip and pipelined measures are repeated in N
interleaved rounds with every relay running (each round visits every
target), and medians reported.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shlex
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
PY = sys.executable
TWISTD = str(Path(PY).parent / "twistd")
API_KEY = "bench-key-0123456789abcdef"

UPSTREAM = r'''
import asyncio, sys
from websockets.asyncio.server import serve
async def echo(ws):
    async for m in ws:
        await ws.send(m)
async def main():
    async with serve(echo, "127.0.0.1", int(sys.argv[1]), max_size=None, compression=None,
                     select_subprotocol=lambda c, o: "mcp" if "mcp" in o else None):
        print("ready", flush=True)
        await asyncio.Future()
asyncio.run(main())
'''

FLOOR = r'''
"""The WebSocket floor: plain Twisted + Autobahn, one upstream socket per
client socket, each message sent on as it came, no inspection."""
import sys
from autobahn.twisted.websocket import (WebSocketClientFactory, WebSocketClientProtocol,
                                        WebSocketServerFactory, WebSocketServerProtocol, connectWS)
from twisted.internet import reactor

UP = int(sys.argv[2])

class Up(WebSocketClientProtocol):
    def onOpen(self):
        self.down.up = self
        for m in self.down.pending:
            self.sendMessage(*m)
        self.down.pending = None
    def onMessage(self, payload, isBinary):
        if self.down.state == self.down.STATE_OPEN:
            self.down.sendMessage(payload, isBinary)
    def onClose(self, wasClean, code, reason):
        if self.down.state == self.down.STATE_OPEN:
            self.down.sendClose(1000)

class Down(WebSocketServerProtocol):
    up = None
    def onConnect(self, request):
        self.pending = []
        f = WebSocketClientFactory(f"ws://127.0.0.1:{UP}{request.path}",
                                   protocols=request.protocols or None)
        f.protocol = Up
        f.setProtocolOptions(tcpNoDelay=True)
        f.down = self
        def build(addr, f=f):
            p = WebSocketClientFactory.buildProtocol(f, addr)
            p.down = self
            return p
        f.buildProtocol = build
        connectWS(f)
        return "mcp" if "mcp" in (request.protocols or []) else None
    def onMessage(self, payload, isBinary):
        if self.up is None:
            self.pending.append((payload, isBinary))
        elif self.up.state == self.up.STATE_OPEN:
            self.up.sendMessage(payload, isBinary)
    def onClose(self, wasClean, code, reason):
        if self.up is not None and self.up.state == self.up.STATE_OPEN:
            self.up.sendClose(1000)

f = WebSocketServerFactory()
f.protocol = Down
f.setProtocolOptions(tcpNoDelay=True)
reactor.listenTCP(int(sys.argv[1]), f, interface="127.0.0.1")
print("ready", flush=True)
reactor.run()
'''


def freePort() -> int:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cpuSeconds(pid: Optional[int]) -> Optional[float]:
    """User + system CPU time of process C{pid} so far."""
    if not pid:
        return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rssKiB(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class Proc:
    """A subprocess we started; stopped by its own pid only."""

    def __init__(self, name: str, argv: list[str], log: Path, env: Optional[dict[str, str]] = None) -> None:
        self.name = name
        self.log = log
        self.logf = open(log, "wb")
        self.p = subprocess.Popen(argv, stdout=self.logf, stderr=subprocess.STDOUT, cwd=REPO, env=env)

    @property
    def pid(self) -> int:
        return self.p.pid

    def stop(self) -> None:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(timeout=5)
        self.logf.close()


def message(i: int) -> str:
    body = {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": ""}}}
    pad = 1024 - len(json.dumps(body))
    body["params"]["arguments"]["text"] = "lorem ipsum " * (pad // 12) + "x" * (pad % 12)
    return json.dumps(body)


async def waitOpen(url: str, limit: float = 30) -> None:
    from websockets.asyncio.client import connect

    deadline = time.monotonic() + limit
    last: Any = None
    while time.monotonic() < deadline:
        try:
            async with connect(url, open_timeout=2, compression=None) as ws:
                await ws.send("ready")
                await asyncio.wait_for(ws.recv(), 2)
                return
        except Exception as e:  # noqa: BLE001 - retried, bounded
            last = e
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} not ready: {last!r}")


async def roundTrips(url: str, n: int, warm: int) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    async with connect(url, compression=None, max_size=None, subprotocols=["mcp"]) as ws:
        samples = []
        for i in range(warm + n):
            m = message(i)
            t0 = time.perf_counter()
            await ws.send(m)
            got = await asyncio.wait_for(ws.recv(), 10)
            dt = time.perf_counter() - t0
            if got != m:
                raise RuntimeError("echo mismatch")
            if i >= warm:
                samples.append(dt * 1000.0)
    total = sum(samples)
    samples.sort()
    return {
        "n": n,
        "p50_ms": statistics.median(samples),
        "p99_ms": samples[int(len(samples) * 0.99) - 1],
        "msgs_per_s": n / (total / 1000.0),
    }


async def throughput(url: str, n: int, window: int = 64, pid: Optional[int] = None) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    async with connect(url, compression=None, max_size=None) as ws:
        m = message(0)
        cpu0 = cpuSeconds(pid)
        t0 = time.perf_counter()
        sent = received = 0
        while received < n:
            while sent < n and sent - received < window:
                await ws.send(m)
                sent += 1
            await asyncio.wait_for(ws.recv(), 10)
            received += 1
        dt = time.perf_counter() - t0
        cpu1 = cpuSeconds(pid)
    out: dict[str, Any] = {"n": n, "window": window, "msgs_per_s": n / dt}
    if cpu0 is not None and cpu1 is not None:
        # two messages through the relay per echo
        out["cpu_us_per_msg"] = (cpu1 - cpu0) / (2 * n) * 1e6
    return out


async def hold(url: str, count: int, pid: Optional[int]) -> dict[str, Any]:
    from websockets.asyncio.client import connect

    out: dict[str, Any] = {"sockets": count}
    await asyncio.sleep(0.5)
    out["rss_idle_kib"] = rssKiB(pid) if pid else None
    sockets: list[Any] = []
    t0 = time.monotonic()
    try:
        for start in range(0, count, 50):
            batch = await asyncio.gather(
                *(connect(url, compression=None, open_timeout=20) for _ in range(start, min(count, start + 50)))
            )
            sockets.extend(batch)
        out["open_s"] = time.monotonic() - t0
        await asyncio.sleep(0.5)
        out["rss_open_kib"] = rssKiB(pid) if pid else None
        if out["rss_idle_kib"] and out["rss_open_kib"]:
            out["rss_per_socket_kib"] = (out["rss_open_kib"] - out["rss_idle_kib"]) / count

        async def one(ws: Any, i: int) -> bool:
            await ws.send(f"hello {i}")
            return await asyncio.wait_for(ws.recv(), 20) == f"hello {i}"

        results = await asyncio.gather(*(one(ws, i) for i, ws in enumerate(sockets)))
        out["echoed"] = sum(results)
    finally:
        t1 = time.monotonic()
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
        out["close_s"] = time.monotonic() - t1
    return out


def proxyTarget(name: str, upPort: int, code: Optional[str] = None) -> tuple[Proc, str]:
    """
    The proxy as target C{name} (its configuration: bench/C{name}.yaml, or
    for C{base-*}, bench/proxy-*.yaml run from the checkout C{code}).
    """
    port = freePort()
    src = (HERE / f"{name.replace('base-', 'proxy-')}.yaml").read_text()
    cfg = RESULTS / f"ws-{name}.yaml"
    cfg.write_text(re.sub(r"tcp:\d+:interface", f"tcp:{port}:interface", src, count=1))
    env = None
    if code is not None:
        env = dict(os.environ, PYTHONPATH=code)
    proc = Proc(name, [TWISTD, "-n", "--pidfile=", "akto-proxy", "--config", str(cfg)], RESULTS / f"ws-{name}.log", env)
    return proc, f"ws://127.0.0.1:{port}/proxy/ws/127.0.0.1:{upPort}/ws?akto_api_key={API_KEY}"


def scanLog(path: Path) -> dict[str, Any]:
    errors = tracebacks = 0
    statuses: dict[str, int] = {}
    for line in path.read_text(errors="replace").splitlines():
        if "Traceback" in line:
            tracebacks += 1
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if ev.get("log_level", {}).get("name") in ("error", "critical"):
            errors += 1
        if ev.get("access"):
            key = f"{ev.get('status')} {ev.get('outcome')}"
            statuses[key] = statuses.get(key, 0) + 1
    return {"errors": errors, "tracebacks": tracebacks, "access": statuses}


CASES = ("1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "9.1.*", "9.2.*", "10.*")
BEHAVIOURS = ("OK", "NON-STRICT", "INFORMATIONAL", "FAILED", "UNIMPLEMENTED")


def wstestCommand(wstest: Optional[str], out: Path) -> Optional[list[str]]:
    """
    The command that runs the Autobahn TestSuite's C{wstest}: C{wstest} as
    given (a C{wstest} executable, split like a shell word list), else Python
    2.7 (C{WSTEST_PYTHON}) with autobahntestsuite installed under the prefix
    whose site-packages is C{WSTEST_SITE} (bench/README.md: "Autobahn
    TestSuite"); None when neither is there.
    """
    if wstest:
        return shlex.split(wstest)
    py2 = os.environ.get("WSTEST_PYTHON", "/root/.pyenv/versions/2.7.18/bin/python")
    site = os.environ.get("WSTEST_SITE", "/work/wstest-py2/lib/python2.7/site-packages")
    if not Path(py2).exists() or not Path(site, "autobahntestsuite").exists():
        return None
    runner = out / "wstest.py"
    # addsitedir, not PYTHONPATH: zope.interface's namespace .pth must run
    runner.write_text(
        "import site, sys\nsite.addsitedir(%r)\nfrom autobahntestsuite.wstest import run\nsys.exit(run())\n" % site
    )
    return [py2, str(runner)]


async def fuzzingClient(cmd: list[str], agent: str, url: str, cases: list[str], out: Path) -> dict[str, Any]:
    """One C{wstest -m fuzzingclient} run of C{cases} against C{url}; its index."""
    out.mkdir(parents=True, exist_ok=True)
    spec = {
        "outdir": str(out),
        "servers": [{"agent": agent, "url": url}],
        "cases": cases,
        "exclude-cases": [],
        "exclude-agent-cases": {},
    }
    (out / "spec.json").write_text(json.dumps(spec))
    with open(out / "wstest.log", "wb") as log:
        proc = await asyncio.create_subprocess_exec(
            *cmd, "-m", "fuzzingclient", "-s", str(out / "spec.json"), stdout=log, stderr=log, cwd=str(out)
        )
        try:
            await asyncio.wait_for(proc.wait(), 1800)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
            raise RuntimeError(f"wstest timed out on {agent} ({out})")
    index = json.loads((out / "index.json").read_text()).get(agent, {})
    if not index:
        raise RuntimeError(f"wstest ran no case on {agent}: see {out / 'wstest.log'}")
    return index


def _caseKey(case: str) -> tuple[int, ...]:
    return tuple(int(p) for p in case.split("."))


async def conformance(
    urls: dict[str, str], out: Path, wstest: Optional[str], cases: tuple[str, ...] = CASES
) -> dict[str, Any]:
    """
    The Autobahn TestSuite's fuzzingclient against every target in C{urls}
    (each fronting the websockets echo upstream; C{direct} is the upstream
    itself): the client hop under test.  The light cases run for every
    target first, then the heavy 9.* (large messages) once per target.
    Per target: the count of each behaviour and the cases not OK; per proxy
    target, the cases whose behaviour (or close behaviour) differs from the
    floor's, with what the testsuite says about them.
    """
    out.mkdir(parents=True, exist_ok=True)
    cmd = wstestCommand(wstest, out)
    if cmd is None:
        return {"skipped": "no wstest: give --wstest, or see bench/README.md (Autobahn TestSuite)"}
    light = [c for c in cases if not c.startswith("9.")]
    heavy = [c for c in cases if c.startswith("9.")]
    index: dict[str, dict[str, Any]] = {name: {} for name in urls}
    for phase, chosen in (("light", light), ("heavy", heavy)):
        if not chosen:
            continue
        for name, url in urls.items():
            print(f"[{name}] Autobahn TestSuite fuzzingclient, {' '.join(chosen)}", flush=True)
            got = await fuzzingClient(cmd, name, url, chosen, out / f"{name}-{phase}")
            for case, r in got.items():
                r["reportfile"] = str(out / f"{name}-{phase}" / r["reportfile"])
            index[name].update(got)
    report: dict[str, Any] = {}
    floor = index.get("floor")
    for name, results in index.items():
        counts = {b: 0 for b in BEHAVIOURS}
        notOK = []
        for case in sorted(results, key=_caseKey):
            r = results[case]
            counts[r["behavior"]] = counts.get(r["behavior"], 0) + 1
            if r["behavior"] != "OK":
                notOK.append(f"{case} {r['behavior']} (close {r['behaviorClose']})")
        entry: dict[str, Any] = {"cases": len(results), "counts": counts, "not_ok": notOK}
        if floor is not None and name.startswith(("proxy", "base")):
            differs = []
            for case in sorted(results, key=_caseKey):
                r, f = results[case], floor.get(case)
                if f is None or (r["behavior"], r["behaviorClose"]) != (f["behavior"], f["behaviorClose"]):
                    detail = json.loads(Path(r["reportfile"]).read_text())
                    differs.append(
                        {
                            "case": case,
                            "floor": f and f"{f['behavior']} / close {f['behaviorClose']}",
                            "this": f"{r['behavior']} / close {r['behaviorClose']}",
                            "result": detail.get("result"),
                            "resultClose": detail.get("resultClose"),
                        }
                    )
            entry["differs_from_floor"] = differs
        report[name] = entry
    return report


def printConformance(report: dict[str, Any]) -> None:
    if "skipped" in report:
        print("conformance:", report["skipped"])
        return
    print()
    print(f"{'Autobahn':16} {'cases':>6} " + " ".join(f"{b:>13}" for b in BEHAVIOURS))
    for name, r in report.items():
        print(f"{name:16} {r['cases']:6} " + " ".join(f"{r['counts'].get(b, 0):13}" for b in BEHAVIOURS))
    for name, r in report.items():
        for d in r.get("differs_from_floor", []):
            print(f"  {name} {d['case']}: floor {d['floor']}, here {d['this']}: {d['result']} / {d['resultClose']}")


def finishConformance(report: dict[str, Any], out: str) -> int:
    """
    Print and write a conformance-only run.  Exit status 0 when the floor
    failed no case and the proxy without checks behaves as the floor does in
    every case (with checks, the sample's policy refuses some of the
    testsuite's messages: README, "Conformance"); 2 when wstest is missing.
    """
    conf = report["conformance"]
    printConformance(conf)
    Path(out).write_text(json.dumps(report, indent=2))
    if "skipped" in conf:
        return 2
    floorOK = conf.get("floor", {}).get("counts", {}).get("FAILED", 0) == 0
    return 0 if floorOK and not conf.get("proxy-nochecks", {}).get("differs_from_floor") else 1


TARGETS = ("direct", "floor", "proxy-nochecks", "proxy-checks")


def _median(rounds: list[dict[str, Any]], key: str) -> Optional[float]:
    values = [r[key] for r in rounds if r.get(key) is not None]
    return statistics.median(values) if values else None


def _ratio(a: Optional[float], b: Optional[float]) -> str:
    return f"{a / b:.2f}x" if a is not None and b else "-"


async def measure(
    args: argparse.Namespace, names: list[str], urls: dict[str, str], procs: dict[str, Proc], report: dict[str, Any]
) -> None:
    """Round trips and pipelined messages in interleaved rounds, then held sockets, into C{report}."""
    n, warm, tput = (1000, 100, 5000) if args.quick else (5000, 500, 20000)
    perRound: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for k in range(args.rounds):
        for name in names:
            pid = procs[name].pid if name in procs else None
            print(f"[round {k + 1}/{args.rounds}] [{name}] round trips, pipelined", flush=True)
            rtt = await roundTrips(urls[name], n, warm)
            tp = await throughput(urls[name], tput, 64, pid)
            perRound[name].append(
                {
                    "p50_ms": rtt["p50_ms"],
                    "p99_ms": rtt["p99_ms"],
                    "pingpong_msgs_per_s": rtt["msgs_per_s"],
                    "msgs_per_s": tp["msgs_per_s"],
                    "cpu_us_per_msg": tp.get("cpu_us_per_msg"),
                }
            )
    for name in names:
        rounds = perRound[name]
        r: dict[str, Any] = {"rounds": rounds}
        for key in ("p50_ms", "p99_ms", "pingpong_msgs_per_s", "msgs_per_s", "cpu_us_per_msg"):
            r[key] = _median(rounds, key)
        report[name] = r
    for name in names:
        proc = procs.get(name)
        if not args.no_hold:
            print(f"[{name}] {args.sockets} concurrent sockets", flush=True)
            report[name]["hold"] = await hold(urls[name], args.sockets, proc.pid if proc else None)
        if proc is not None:
            report[name]["end_rss_kib"] = rssKiB(proc.pid)


async def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=1, help="interleaved rounds of round trips and pipelined messages")
    ap.add_argument("--sockets", type=int, default=1000)
    ap.add_argument("--no-hold", action="store_true", help="skip the concurrent-sockets test")
    ap.add_argument("--only", default=",".join(TARGETS), help="targets, comma separated")
    ap.add_argument(
        "--base",
        metavar="CHECKOUT",
        help="also run base-checks: the proxy with the sample checks from another checkout "
        "(e.g. `git worktree add /tmp/base main`), for interleaved A/B rounds",
    )
    ap.add_argument(
        "--conformance",
        action="store_true",
        help="also run the Autobahn TestSuite's fuzzingclient against every target (after the measures)",
    )
    ap.add_argument("--conformance-only", action="store_true", help="only the Autobahn TestSuite, no measures")
    ap.add_argument(
        "--wstest",
        metavar="CMD",
        help="the wstest command (default: Python 2.7 from WSTEST_PYTHON with autobahntestsuite in WSTEST_SITE)",
    )
    ap.add_argument("--cases", default=",".join(CASES), help="Autobahn cases, comma separated")
    ap.add_argument("--out", default=str(RESULTS / "ws-latest.json"))
    args = ap.parse_args()
    names = [t for t in TARGETS if t in args.only.split(",")]
    if args.base:
        names.append("base-checks")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    RESULTS.mkdir(exist_ok=True)
    upPort = freePort()
    upScript = RESULTS / "ws-upstream.py"
    upScript.write_text(UPSTREAM)
    upstream = Proc("upstream", [PY, str(upScript), str(upPort)], RESULTS / "ws-upstream.log")
    report: dict[str, Any] = {"message_bytes": len(message(0)), "rounds": args.rounds}
    procs: dict[str, Proc] = {}
    urls: dict[str, str] = {}
    try:
        urls["direct"] = f"ws://127.0.0.1:{upPort}/ws"
        await waitOpen(urls["direct"])
        for name in names:
            if name == "floor":
                port = freePort()
                floorScript = RESULTS / "ws-floor.py"
                floorScript.write_text(FLOOR)
                procs[name] = Proc(name, [PY, str(floorScript), str(port), str(upPort)], RESULTS / "ws-floor.log")
                urls[name] = f"ws://127.0.0.1:{port}/ws"
            elif name == "base-checks":
                procs[name], urls[name] = proxyTarget(name, upPort, str(Path(args.base).resolve()))
            elif name != "direct":
                procs[name], urls[name] = proxyTarget(name, upPort)
        for name in names:
            await waitOpen(urls[name])
        if not args.conformance_only:
            await measure(args, names, urls, procs, report)
        if args.conformance or args.conformance_only:
            cases = tuple(args.cases.split(","))
            report["conformance"] = await conformance(
                {name: urls[name] for name in names}, RESULTS / "ws-conformance", args.wstest, cases
            )
    finally:
        for name, proc in procs.items():
            proc.stop()
            if name != "floor":
                report.setdefault(name, {})["log"] = scanLog(proc.log)
        upstream.stop()
    if args.conformance_only:
        return finishConformance(report, args.out)
    base = report["direct"]["p50_ms"] if "direct" in report else None
    floor = report.get("floor", {})
    print()
    print(
        f"{'target':16} {'p50 ms':>8} {'p99 ms':>8} {'added p50':>10} {'ping-pong/s':>12} {'x floor':>8} "
        f"{'pipelined/s':>12} {'x floor':>8} {'CPU us/msg':>11} {'x floor':>8} {'held':>6} {'RSS/sock KiB':>13}"
    )
    for name in names:
        r = report[name]
        added = r["p50_ms"] - base if base is not None else None
        r["added_p50_ms"] = added
        hold_ = r.get("hold", {})
        per = hold_.get("rss_per_socket_kib")
        cpu = r.get("cpu_us_per_msg")
        print(
            f"{name:16} {r['p50_ms']:8.3f} {r['p99_ms']:8.3f} {added if added is None else round(added, 3)!s:>10} "
            f"{r['pingpong_msgs_per_s']:12.0f} {_ratio(r['pingpong_msgs_per_s'], floor.get('pingpong_msgs_per_s')):>8} "
            f"{r['msgs_per_s']:12.0f} {_ratio(r['msgs_per_s'], floor.get('msgs_per_s')):>8} "
            f"{cpu if cpu is None else round(cpu, 1)!s:>11} {_ratio(cpu, floor.get('cpu_us_per_msg')):>8} "
            f"{hold_.get('echoed', '-')!s:>6} {per if per is None else round(per, 1)!s:>13}"
        )
    checks = report.get("proxy-checks")
    ok = True
    if checks is not None:
        ok = checks["added_p50_ms"] is None or checks["added_p50_ms"] < 1.0
        if not args.no_hold:
            ok = ok and checks["hold"].get("echoed") == args.sockets
    report["pass"] = ok
    if "conformance" in report:
        printConformance(report["conformance"])
    print("PASS" if ok else "FAIL", "(target: < 1 ms added at p50 with checks; all sockets held and echoed)")
    Path(args.out).write_text(json.dumps(report, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
