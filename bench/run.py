"""
akto-proxy benchmark: one command, loopback only.

    .venv/bin/python bench/run.py            # full run (a few minutes)
    .venv/bin/python bench/run.py --quick    # about a minute

Starts, as subprocesses on 127.0.0.1: the upstream (bench/upstream.py), then
for each target in turn its relay, and measures it with bench/client.py (a
separate process):

  direct          client -> upstream
  floor           bench/floor.py, a minimal plain-Twisted relay (no checks)
  proxy-nochecks  twistd akto-proxy, bench/proxy-nochecks.yaml
  proxy-checks    twistd akto-proxy, bench/proxy-checks.yaml (the sample's checks)

Prints one table (ratios to direct and to the floor), PASS/FAIL per target,
and writes bench/results/latest.json; relay logs go to bench/results/*.log.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
PY = sys.executable
TWISTD = str(Path(PY).parent / "twistd")
API_KEY = "bench-key-0123456789abcdef"
TARGETS = ("direct", "floor", "proxy-nochecks", "proxy-checks")

QUICK = dict(c1=1500, c1_warm=200, c50=4000, c50_warm=400, rpc_cap=25.0,
             events=200, interval_ms=5.0, ttfe=20, streams=1000, hold_cap=90.0)
FULL = dict(c1=10000, c1_warm=500, c50=30000, c50_warm=1000, rpc_cap=120.0,
            events=1000, interval_ms=5.0, ttfe=100, streams=1000, hold_cap=120.0)


def freePort() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rssKiB(pid: int) -> Optional[int]:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def fdCount(pid: int) -> Optional[int]:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


class Proc:
    """A subprocess we started; stopped by its own pid only."""

    def __init__(self, name: str, argv: list[str], log: Path, cpu: Optional[int]) -> None:
        self.name = name
        self.log = log
        self.logf = open(log, "wb")

        def pin() -> None:
            if cpu is not None:
                os.sched_setaffinity(0, {cpu})

        self.p = subprocess.Popen(argv, stdout=self.logf, stderr=subprocess.STDOUT, cwd=REPO, preexec_fn=pin)

    @property
    def pid(self) -> int:
        return self.p.pid

    def alive(self) -> bool:
        return self.p.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(timeout=5)
        self.logf.close()


def post(url: str, body: bytes, timeout: float = 5) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
        "X-Akto-Api-Key": API_KEY})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def waitReady(proc: Optional[Proc], url: str, limit: float = 30) -> None:
    body = b'{"jsonrpc":"2.0","id":0,"method":"tools/call","params":{"name":"echo","arguments":{"text":"ready"}}}'
    deadline = time.monotonic() + limit
    last = ""
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{proc.name} exited: see {proc.log}")
        try:
            status, data = post(url, body, timeout=2)
            if status == 200:
                return
            last = f"status {status}: {data[:200]!r}"
        except OSError as e:
            last = str(e)
        time.sleep(0.2)
    raise RuntimeError(f"not ready after {limit}s: {last}")


def client(mode: str, cap: float, cpu: Optional[int], *args: str) -> dict:
    argv = [PY, str(HERE / "client.py"), mode, "--api-key", API_KEY, "--max-seconds", str(cap), *args]

    def pin() -> None:
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})

    r = subprocess.run(argv, capture_output=True, timeout=cap + 60, cwd=REPO, preexec_fn=pin)
    lines = [line for line in r.stdout.decode().splitlines() if line.startswith("{")]
    if r.returncode != 0 or not lines:
        return {"client_error": f"rc={r.returncode} {r.stderr.decode()[-800:]}"}
    return json.loads(lines[-1])


def scanLog(path: Path) -> dict:
    """What the relay wrote: errors, tracebacks, non-200 access lines (one JSON per line)."""
    out: dict[str, Any] = {"lines": 0, "non_json": 0, "errors": 0, "error_samples": [],
                           "access_statuses": {}, "access_outcomes": {}}
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        if not line.strip():
            continue
        out["lines"] += 1
        try:
            ev = json.loads(line)
        except ValueError:
            out["non_json"] += 1
            if len(out["error_samples"]) < 5 and re.search(r"Traceback|Error|Unhandled", line):
                out["error_samples"].append(line[:400])
            continue
        if not isinstance(ev, dict):
            out["non_json"] += 1
            continue
        if ev.get("access"):
            st = str(ev.get("status"))
            out["access_statuses"][st] = out["access_statuses"].get(st, 0) + 1
            oc = str(ev.get("outcome"))
            out["access_outcomes"][oc] = out["access_outcomes"].get(oc, 0) + 1
        level = str(ev.get("level", ev.get("log_level", ""))).lower()
        if level in ("error", "critical") or ev.get("isError") or "log_failure" in ev or "failure" in ev:
            out["errors"] += 1
            if len(out["error_samples"]) < 5:
                msg = ev.get("message") or ev.get("log_format") or ""
                tb = ev.get("failure") or ev.get("traceback") or ev.get("log_failure") or ""
                out["error_samples"].append((str(msg) + " " + str(tb))[:600])
    return out


def runTarget(name: str, upPort: int, upPid: int, P: dict, pinRelay: Optional[int], pinLoad: Optional[int]) -> dict:
    res: dict[str, Any] = {"target": name}
    proc: Optional[Proc] = None
    upBase = f"http://127.0.0.1:{upPort}"
    if name == "direct":
        base = upBase
    else:
        port = freePort()
        log = RESULTS / f"{name}.log"
        if name == "floor":
            argv = [PY, str(HERE / "floor.py"), "--port", str(port)]
        else:
            src = (HERE / f"{name}.yaml").read_text()
            cfg = RESULTS / f"{name}.yaml"
            cfg.write_text(re.sub(r"tcp:\d+:interface", f"tcp:{port}:interface", src, count=1))
            argv = [TWISTD, "-n", "--pidfile=", "akto-proxy", "--config", str(cfg)]
        proc = Proc(name, argv, log, pinRelay)
        base = f"http://127.0.0.1:{port}/proxy/http/127.0.0.1:{upPort}"
        res["log"] = str(log.relative_to(REPO))
    try:
        t0 = time.monotonic()
        waitReady(proc, f"{base}/mcp")
        res["startup_s"] = time.monotonic() - t0
        pids = ",".join(str(p) for p in ([proc.pid] if proc else []) + [upPid])
        relayPid = proc.pid if proc else 0
        print(f"  [{name}] ready; warm-up", flush=True)
        client("rpc", 30, pinLoad, "--url", f"{base}/mcp", "--concurrency", "4", "--requests", "300", "--warmup", "0")
        client("sse", 30, pinLoad, "--url", f"{base}/sse", "--events", "20", "--interval-ms", "1", "--ttfe-streams", "3")
        time.sleep(0.5)
        print(f"  [{name}] {P['streams']} concurrent SSE streams", flush=True)
        res["hold"] = client("hold", P["hold_cap"], pinLoad, "--url", f"{base}/sse-hold", "--streams", str(P["streams"]),
                             "--broadcast", f"{upBase}/broadcast", "--stats", f"{upBase}/stats",
                             "--rss-pid", str(relayPid))
        print(f"  [{name}] SSE: time to first event, {P['events']} events", flush=True)
        res["sse"] = client("sse", 60, pinLoad, "--url", f"{base}/sse", "--events", str(P["events"]),
                            "--interval-ms", str(P["interval_ms"]), "--ttfe-streams", str(P["ttfe"]))
        for c, n, w in ((1, P["c1"], P["c1_warm"]), (50, P["c50"], P["c50_warm"])):
            print(f"  [{name}] JSON-RPC POST, concurrency {c}, {n} requests", flush=True)
            res[f"rpc_c{c}"] = client("rpc", P["rpc_cap"], pinLoad, "--url", f"{base}/mcp", "--concurrency", str(c),
                                      "--requests", str(n), "--warmup", str(w), "--pids", pids)
        if proc:
            time.sleep(1.0)
            res["end_rss_kib"] = rssKiB(proc.pid)
            res["end_fds"] = fdCount(proc.pid)
    except Exception as e:
        res["error"] = f"{type(e).__name__}: {e}"
        print(f"  [{name}] FAILED: {res['error']}", flush=True)
    finally:
        if proc:
            proc.stop()
            res["exit_code"] = proc.p.returncode
            res["log_scan"] = scanLog(proc.log)
    return res


# -- report


def g(d: Any, *path: Any) -> Any:
    for k in path:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def cpuOf(r: dict, key: str, relay: bool) -> Optional[float]:
    per = g(r, key, "cpu_ms_per_req") or {}
    vals = list(per.values())
    if not vals:
        return None
    if r["target"] == "direct":
        return None if relay else vals[-1]
    return vals[0] if relay else vals[-1]


def metrics(r: dict) -> dict:
    h = r.get("hold") or {}
    return {
        "c1_p50_ms": g(r, "rpc_c1", "p50_ms"),
        "c1_p99_ms": g(r, "rpc_c1", "p99_ms"),
        "c1_rps": g(r, "rpc_c1", "rps"),
        "c50_p50_ms": g(r, "rpc_c50", "p50_ms"),
        "c50_p99_ms": g(r, "rpc_c50", "p99_ms"),
        "c50_rps": g(r, "rpc_c50", "rps"),
        "relay_cpu_ms_req_c1": cpuOf(r, "rpc_c1", True),
        "relay_cpu_ms_req_c50": cpuOf(r, "rpc_c50", True),
        "upstream_cpu_ms_req_c50": cpuOf(r, "rpc_c50", False),
        "rpc_non_200": sum(v for k, v in ((g(r, "rpc_c1", "statuses") or {}) | {}).items() if k != "200")
        + sum(v for k, v in (g(r, "rpc_c50", "statuses") or {}).items() if k != "200"),
        "sse_ttfe_p50_ms": g(r, "sse", "ttfe_p50_ms"),
        "sse_delay_p50_ms": g(r, "sse", "delay_p50_ms"),
        "sse_delay_p99_ms": g(r, "sse", "delay_p99_ms"),
        "sse_delay_max_ms": g(r, "sse", "delay_max_ms"),
        "sse_events": g(r, "sse", "events"),
        "streams_opened": h.get("opened"),
        "streams_got_event": h.get("got_broadcast"),
        "stream_open_s": h.get("open_s"),
        "rss_idle_mib": h["rss_idle_kib"] / 1024 if h.get("rss_idle_kib") else None,
        "rss_per_stream_kib": h.get("rss_per_stream_kib"),
        "close_propagation_s": h.get("close_propagation_s"),
        "upstream_left_open": h.get("upstream_streams_left_after_close"),
        "end_fds": r.get("end_fds"),
        "log_errors": g(r, "log_scan", "errors"),
    }


ROWS = [
    ("c1_p50_ms", "JSON-RPC c=1 p50 ms", "{:.3f}", True),
    ("c1_p99_ms", "JSON-RPC c=1 p99 ms", "{:.3f}", True),
    ("c1_rps", "JSON-RPC c=1 req/s", "{:.0f}", True),
    ("c50_p50_ms", "JSON-RPC c=50 p50 ms", "{:.2f}", True),
    ("c50_p99_ms", "JSON-RPC c=50 p99 ms", "{:.2f}", True),
    ("c50_rps", "JSON-RPC c=50 req/s", "{:.0f}", True),
    ("relay_cpu_ms_req_c1", "relay CPU ms/req c=1", "{:.3f}", True),
    ("relay_cpu_ms_req_c50", "relay CPU ms/req c=50", "{:.3f}", True),
    ("upstream_cpu_ms_req_c50", "upstream CPU ms/req c=50", "{:.3f}", False),
    ("rpc_non_200", "JSON-RPC non-200/errors", "{}", False),
    ("sse_ttfe_p50_ms", "SSE first event p50 ms", "{:.2f}", True),
    ("sse_delay_p50_ms", "SSE event delay p50 ms", "{:.3f}", True),
    ("sse_delay_p99_ms", "SSE event delay p99 ms", "{:.3f}", True),
    ("sse_delay_max_ms", "SSE event delay max ms", "{:.2f}", False),
    ("sse_events", "SSE events received", "{}", False),
    ("streams_opened", "SSE streams opened", "{}", False),
    ("streams_got_event", "SSE streams got event", "{}", False),
    ("stream_open_s", "time to open all (s)", "{:.2f}", True),
    ("rss_idle_mib", "relay RSS idle MiB", "{:.1f}", False),
    ("rss_per_stream_kib", "relay RSS/stream KiB", "{:.1f}", False),
    ("close_propagation_s", "upstream closed after s", "{:.2f}", False),
    ("upstream_left_open", "upstream streams left", "{}", False),
    ("end_fds", "relay fds at end", "{}", False),
    ("log_errors", "relay log errors", "{}", False),
]


def fmt(v: Any, f: str) -> str:
    if v is None:
        return "-"
    try:
        return f.format(v)
    except (ValueError, TypeError):
        return str(v)


def table(m: dict) -> str:
    w0, w = 26, 24
    out = ["metric".ljust(w0) + "".join(t.rjust(w) for t in TARGETS)]
    out.append("-" * (w0 + w * len(TARGETS)))
    for key, label, f, ratios in ROWS:
        line = label.ljust(w0)
        d, fl = m["direct"].get(key), m["floor"].get(key)
        for t in TARGETS:
            v = m[t].get(key)
            cell = fmt(v, f)
            if ratios and isinstance(v, (int, float)) and t != "direct":
                parts = []
                if isinstance(d, (int, float)) and d and t != "direct":
                    parts.append(f"{v / d:.1f}xd")
                if isinstance(fl, (int, float)) and fl and t not in ("direct", "floor"):
                    parts.append(f"{v / fl:.2f}xf")
                if parts:
                    cell += " (" + " ".join(parts) + ")"
            line += cell.rjust(w)
        out.append(line)
    return "\n".join(out)


def verdicts(m: dict, streams: int) -> list[dict]:
    out = []
    for t in ("proxy-checks", "proxy-nochecks"):
        p, d, fl = m[t], m["direct"], m["floor"]
        role = "target" if t == "proxy-checks" else "info"

        def add(name: str, ok: Optional[bool], detail: str) -> None:
            out.append({"target": t, "role": role, "name": name,
                        "result": "PASS" if ok else ("FAIL" if ok is not None else "N/A"), "detail": detail})

        a, b = p["relay_cpu_ms_req_c50"], fl["relay_cpu_ms_req_c50"]
        add("CPU/request <= 1.25x floor", None if a is None or not b else a <= 1.25 * b,
            f"{fmt(a, '{:.3f}')} vs floor {fmt(b, '{:.3f}')} ms ({fmt(a / b if a and b else None, '{:.2f}')}x) at c=50")
        a, b = p["c1_p50_ms"], d["c1_p50_ms"]
        add("p50 at c=1 adds <= 1 ms", None if a is None or b is None else a - b <= 1.0,
            f"{fmt(a, '{:.3f}')} vs direct {fmt(b, '{:.3f}')} ms (+{fmt(a - b if a is not None and b is not None else None, '{:.3f}')})")
        a, b = p["sse_delay_p99_ms"], d["sse_delay_p99_ms"]
        complete = p["sse_events"] == d["sse_events"] and p["sse_events"] is not None
        add("no SSE event held back (p99 added < 5 ms)",
            None if a is None or b is None else (a - b < 5.0 and complete),
            f"p99 {fmt(a, '{:.3f}')} vs direct {fmt(b, '{:.3f}')} ms, max {fmt(p['sse_delay_max_ms'], '{:.2f}')} ms, "
            f"{p['sse_events']} events")
        ok = p["streams_opened"] == streams and p["streams_got_event"] == streams
        add(f"{streams} concurrent SSE streams held", ok,
            f"opened {p['streams_opened']}, got event {p['streams_got_event']}, "
            f"RSS {fmt(p['rss_per_stream_kib'], '{:.1f}')} KiB/stream, upstream left open {p['upstream_left_open']}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="about a minute")
    ap.add_argument("--streams", type=int, help="concurrent SSE streams (default 1000)")
    ap.add_argument("--targets", default=",".join(TARGETS), help="subset, comma-separated (direct and floor are needed for ratios)")
    ap.add_argument("--pin", action="store_true",
                    help="pin the relay to one CPU and the upstream and client to another (default: let the scheduler place them)")
    ap.add_argument("--out", default=str(RESULTS / "latest.json"))
    a = ap.parse_args()
    P = dict(QUICK if a.quick else FULL)
    if a.streams:
        P["streams"] = a.streams
    RESULTS.mkdir(exist_ok=True)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(soft, min(hard, 4 * P["streams"] + 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < 3 * P["streams"]:
        print(f"warning: RLIMIT_NOFILE {want} is low for {P['streams']} streams", flush=True)
    cpus = sorted(os.sched_getaffinity(0))
    pinRelay = pinLoad = None
    if a.pin and len(cpus) >= 2:
        pinRelay, pinLoad = cpus[-1], cpus[0]  # relay alone on one CPU; upstream and client share another
    started = time.time()
    print(f"akto-proxy bench ({'quick' if a.quick else 'full'}), {len(cpus)} CPUs, "
          f"relay on CPU {pinRelay}, upstream+client on CPU {pinLoad}", flush=True)

    upPort = freePort()
    up = Proc("upstream", [PY, str(HERE / "upstream.py"), "--port", str(upPort)], RESULTS / "upstream.log", pinLoad)
    results: dict[str, dict] = {}
    try:
        waitReady(up, f"http://127.0.0.1:{upPort}/mcp", 15)
        for t in a.targets.split(","):
            print(f"{t}:", flush=True)
            results[t] = runTarget(t, upPort, up.pid, P, pinRelay, pinLoad)
    finally:
        up.stop()

    m = {t: metrics(results[t]) if t in results else {} for t in TARGETS}
    print()
    print(table(m))
    v = verdicts(m, P["streams"]) if all(results.get(t) for t in TARGETS) else []
    print()
    for x in v:
        print(f"{x['result']:4}  {x['target']:15} {x['name']:42} {x['detail']}")
    for t, r in results.items():
        ls = r.get("log_scan") or {}
        if r.get("error") or ls.get("errors") or (ls.get("non_json") and t != "floor"):
            print(f"note: {t}: error={r.get('error')} log errors={ls.get('errors')} non-JSON lines={ls.get('non_json')} "
                  f"samples={ls.get('error_samples')[:2] if ls.get('error_samples') else []}")
        if ls.get("access_statuses") and set(ls["access_statuses"]) - {"200"}:
            print(f"note: {t}: access log statuses {ls['access_statuses']} outcomes {ls.get('access_outcomes')}")
    doc = {
        "meta": {"mode": "quick" if a.quick else "full", "started": started, "duration_s": time.time() - started,
                 "params": P, "cpus": len(cpus), "pin_relay_cpu": pinRelay, "pin_load_cpu": pinLoad,
                 "python": platform.python_version(), "machine": platform.machine(),
                 "clk_tck": os.sysconf("SC_CLK_TCK")},
        "metrics": m,
        "verdicts": v,
        "raw": results,
    }
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2))
    print(f"\nwrote {out} in {time.time() - started:.0f}s")
    return 0 if v and all(x["result"] == "PASS" for x in v if x["role"] == "target") else 1


if __name__ == "__main__":
    sys.exit(main())
