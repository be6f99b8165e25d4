"""
akto-proxy benchmark: one command, loopback only.

    .venv/bin/python bench/run.py                        # full run (4-5 minutes)
    .venv/bin/python bench/run.py --quick                # about a minute and a quarter
    .venv/bin/python bench/run.py --ratelimit [--quick]  # rate limiting only

Starts, as subprocesses on 127.0.0.1: the upstream (bench/upstream.py), then
for each target in turn its relay for the SSE measurements, then every relay
at once for the JSON-RPC ones, measured in interleaved rounds (each round
visits every target, so a noisy moment of a shared machine hits them all
alike), all with bench/client.py (a separate process):

  direct          client -> upstream
  floor           bench/floor.py, a minimal plain-Twisted relay (no checks)
  proxy-nochecks  twistd akto-proxy, bench/proxy-nochecks.yaml
  proxy-checks    twistd akto-proxy, bench/proxy-checks.yaml (the sample's checks)

Then (unless --no-ratelimit; alone with --ratelimit) the rate-limiting
comparison: three akto-proxy configs at once, proxy-nochecks.yaml as is (a),
plus a never-refusing rate_limit guardrail counted in-process (b), and the same
counted in a redis-server started here on a free loopback port (c).

Prints one table (ratios to direct and to the floor), PASS/FAIL per target,
the rate-limiting table (ratios to (a)) with its checks, and writes
bench/results/latest.json ("ratelimit" key for the latter); relay logs go to
bench/results/*.log.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
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

QUICK = dict(rounds=3, c1=1500, c1_warm=150, c50=4500, c50_warm=300, rpc_cap=25.0,
             events=200, interval_ms=5.0, ttfe=20, streams=1000, hold_cap=90.0)
FULL = dict(rounds=5, c1=10000, c1_warm=500, c50=30000, c50_warm=1000, rpc_cap=120.0,
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


def relayArgv(name: str, port: int, suffix: str = "", redisPort: Optional[int] = None) -> list[str]:
    if name == "floor":
        return [PY, str(HERE / "floor.py"), "--port", str(port)]
    if name in RL_CONFIGS:
        cfg = RESULTS / f"proxy-{name}{suffix}.yaml"
        cfg.write_text(rlConfig(name, port, redisPort))
        return [TWISTD, "-n", "--pidfile=", "akto-proxy", "--config", str(cfg)]
    # "proxy-checks+unobserved": proxy-checks.yaml with variant-unobserved.yaml
    # appended (top-level keys the base does not set)
    base, _, variant = name.partition("+")
    src = (HERE / f"{base}.yaml").read_text()
    if variant:
        src += "\n" + (HERE / f"variant-{variant}.yaml").read_text()
    cfg = RESULTS / f"{name}{suffix}.yaml"
    cfg.write_text(re.sub(r"tcp:\d+:interface", f"tcp:{port}:interface", src, count=1))
    return [TWISTD, "-n", "--pidfile=", "akto-proxy", "--config", str(cfg)]


def runRPCRounds(names: list[str], upPort: int, upPid: int, P: dict, pinRelay: Optional[int],
                 pinLoad: Optional[int], results: dict[str, dict], method: str = "tools/call", suffix: str = "-rpc") -> None:
    """
    The JSON-RPC measurements, interleaved: every relay runs at once (idle
    but for its turn), and each round measures every target in turn, so a
    slow patch of a shared machine hits all of them alike.  Per target:
    summed requests, CPU/request over them, median of the rounds' latency
    percentiles (mergeSlices).

    @param method: what the client sends (C{tools/call} of echo, or a method
        without params such as C{tools/list}).
    @param suffix: of each relay's config and log under bench/results.
    """
    procs: dict[str, Proc] = {}
    urls: dict[str, str] = {}
    pids: dict[str, str] = {}
    try:
        for name in names:
            if name == "direct":
                urls[name] = f"http://127.0.0.1:{upPort}/mcp"
                pids[name] = str(upPid)
                continue
            port = freePort()
            procs[name] = Proc(f"{name}{suffix}", relayArgv(name, port, suffix), RESULTS / f"{name}{suffix}.log", pinRelay)
            urls[name] = f"http://127.0.0.1:{port}/proxy/http/127.0.0.1:{upPort}/mcp"
            pids[name] = f"{procs[name].pid},{upPid}"
        for name in names:
            waitReady(procs.get(name), urls[name])
            client("rpc", 30, pinLoad, "--url", urls[name], "--rpc-method", method, "--concurrency", "4", "--requests", "300", "--warmup", "0")
        slices: dict[str, dict[str, list]] = {n: {"rpc_c1": [], "rpc_c50": []} for n in names}
        rounds = P["rounds"]
        for i in range(rounds):
            for c, n, w in ((1, P["c1"], P["c1_warm"]), (50, P["c50"], P["c50_warm"])):
                print(f"  round {i + 1}/{rounds}: JSON-RPC POST ({method}), concurrency {c}, {n // rounds} requests each", flush=True)
                for name in names:
                    if name in procs and not procs[name].alive():
                        raise RuntimeError(f"{name} exited: see {procs[name].log}")
                    slices[name][f"rpc_c{c}"].append(
                        client("rpc", P["rpc_cap"], pinLoad, "--url", urls[name], "--rpc-method", method, "--concurrency", str(c),
                               "--requests", str(n // rounds), "--warmup", str(w // rounds), "--pids", pids[name]))
        for name in names:
            for key, sl in slices[name].items():
                results[name][key] = mergeSlices(sl)
    except Exception as e:
        for name in names:
            results[name].setdefault("error", f"JSON-RPC rounds: {type(e).__name__}: {e}")
        print(f"  JSON-RPC rounds FAILED: {e}", flush=True)
    finally:
        for name, proc in procs.items():
            proc.stop()
            log = proc.log
            scan = scanLog(log)
            results[name]["rpc_log_scan"] = scan
            main = results[name].setdefault("log_scan", {})
            for k in ("errors", "non_json"):
                if isinstance(scan.get(k), int):
                    main[k] = (main.get(k) or 0) + scan[k]


def runTarget(name: str, upPort: int, upPid: int, P: dict, pinRelay: Optional[int], pinLoad: Optional[int]) -> dict:
    res: dict[str, Any] = {"target": name}
    proc: Optional[Proc] = None
    upBase = f"http://127.0.0.1:{upPort}"
    if name == "direct":
        base = upBase
    else:
        port = freePort()
        log = RESULTS / f"{name}.log"
        proc = Proc(name, relayArgv(name, port), log, pinRelay)
        base = f"http://127.0.0.1:{port}/proxy/http/127.0.0.1:{upPort}"
        res["log"] = str(log.relative_to(REPO))
    try:
        t0 = time.monotonic()
        waitReady(proc, f"{base}/mcp")
        res["startup_s"] = time.monotonic() - t0
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


# -- rate limiting: off / in-process / Redis, side by side

RL_CONFIGS = ("rl-off", "rl-memory", "rl-redis")
RL_LABELS = {"rl-off": "(a) off", "rl-memory": "(b) in-process", "rl-redis": "(c) Redis"}
# totals per config, measured in `rounds` slices (warm-up is per slice, not measured)
RL_QUICK = dict(rounds=2, c1=1200, c1_warm=50, c50=4000, c50_warm=200, rpc_cap=25.0)
RL_FULL = dict(rounds=3, c1=2400, c1_warm=50, c50=9000, c50_warm=300, rpc_cap=40.0)
# Appended to proxy-nochecks.yaml: a limit far above what the bench can send,
# so nothing is refused but every request is checked and counted.
RL_GUARDRAIL = """
guardrails:
  - name: "Rate Limiting"
    type: "rate_limit"
    rules:
      - requests_per_minute: 100000000
        per_client: true
"""
RL_REDIS = """
redis:
  url: "redis://127.0.0.1:{port}"
  on_error: open
"""


def rlConfig(name: str, port: int, redisPort: Optional[int]) -> str:
    """The configuration of one rate-limiting config (RL_CONFIGS), listening on port."""
    src = (HERE / "proxy-nochecks.yaml").read_text()
    src = re.sub(r"tcp:\d+:interface", f"tcp:{port}:interface", src, count=1)
    if name != "rl-off":
        src += RL_GUARDRAIL
    if name == "rl-redis":
        src += RL_REDIS.format(port=redisPort)
    return src


class RedisError(Exception):
    pass


def redisCmd(port: int, *args: str, timeout: float = 5.0) -> Any:
    """One command to a Redis on 127.0.0.1 over a raw socket (RESP2); bounded in time and size."""
    req = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in args)
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(req)
        buf = bytearray()
        pos = 0

        def need(n: int) -> None:
            while len(buf) < n:
                if time.monotonic() > deadline or len(buf) > 64 * 1024 * 1024:
                    raise RedisError("reply too slow or too large")
                chunk = s.recv(65536)
                if not chunk:
                    raise RedisError("connection closed")
                buf.extend(chunk)

        def line() -> bytes:
            nonlocal pos
            for _ in range(100000):
                i = buf.find(b"\r\n", pos)
                if i >= 0:
                    out = bytes(buf[pos:i])
                    pos = i + 2
                    return out
                need(len(buf) + 1)
            raise RedisError("no line end")

        def parse(depth: int = 0) -> Any:
            nonlocal pos
            if depth > 8:
                raise RedisError("reply nested too deep")
            ln = line()
            kind, rest = ln[:1], ln[1:]
            if kind == b"+":
                return rest.decode()
            if kind == b"-":
                raise RedisError(rest.decode())
            if kind == b":":
                return int(rest)
            if kind == b"$":
                n = int(rest)
                if n < 0:
                    return None
                need(pos + n + 2)
                out = bytes(buf[pos:pos + n])
                pos += n + 2
                return out.decode(errors="replace")
            if kind == b"*":
                n = int(rest)
                return None if n < 0 else [parse(depth + 1) for _ in range(n)]
            raise RedisError(f"unexpected reply {ln[:80]!r}")

        return parse()


def redisScan(port: int, pattern: str, limit: int = 100000) -> list[str]:
    keys: list[str] = []
    cursor = "0"
    for _ in range(10000):
        cursor, batch = redisCmd(port, "SCAN", cursor, "MATCH", pattern, "COUNT", "1000")
        keys.extend(batch)
        if cursor == "0" or len(keys) >= limit:
            break
    return keys


def redisCounts(port: int) -> dict[str, int]:
    """Calls per command so far, from INFO commandstats (Redis 7 counts the commands a Lua script runs too)."""
    info = redisCmd(port, "INFO", "commandstats")
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^cmdstat_([a-z|_-]+):calls=(\d+)", info, re.M)}


def busyCpuS() -> float:
    """CPU-seconds the whole machine has been busy (all CPUs, /proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")  # less idle and iowait; guest is in user


def ownCpuS(upPid: int) -> float:
    """CPU-seconds of this process, its waited-for children (clients, stopped relays, redis) and the upstream."""
    with open(f"/proc/{upPid}/stat", "rb") as f:
        data = f.read()
    fields = data[data.rindex(b")") + 2:].split()
    up = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    me, ch = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + ch.ru_utime + ch.ru_stime + up


def startRedis(pinLoad: Optional[int]) -> tuple[Optional[Proc], Optional[int], str]:
    """A throwaway redis-server on a free loopback port: (proc, port, why-not)."""
    exe = shutil.which("redis-server")
    if not exe:
        return None, None, "redis-server is not on PATH"
    port = freePort()
    proc = Proc("redis", [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                          "--daemonize", "no"], RESULTS / "redis.log", pinLoad)
    deadline = time.monotonic() + 10
    last = ""
    while time.monotonic() < deadline:
        if not proc.alive():
            proc.stop()
            return None, None, f"redis-server exited at start (see {RESULTS / 'redis.log'})"
        try:
            if redisCmd(port, "PING", timeout=1) == "PONG":
                return proc, port, ""
        except (OSError, RedisError) as e:
            last = str(e)
        time.sleep(0.1)
    proc.stop()
    return None, None, f"redis-server not answering PING after 10 s: {last}"


class RateTarget:
    """One proxy config of the rate-limiting comparison, running for the whole comparison."""

    def __init__(self, name: str, upPort: int, upPid: int, pinRelay: Optional[int],
                 redisProc: Optional[Proc], redisPort: Optional[int]) -> None:
        self.name = name
        self.redisPort = redisPort
        self.res: dict[str, Any] = {"target": name, "slices": {"rpc_c1": [], "rpc_c50": []}}
        port = freePort()
        cfg = RESULTS / f"proxy-{name}.yaml"
        cfg.write_text(rlConfig(name, port, redisPort))
        log = RESULTS / f"proxy-{name}.log"
        self.res["config"] = str(cfg.relative_to(REPO))
        self.res["log"] = str(log.relative_to(REPO))
        self.proc = Proc(name, [TWISTD, "-n", "--pidfile=", "akto-proxy", "--config", str(cfg)], log, pinRelay)
        self.url = f"http://127.0.0.1:{port}/proxy/http/127.0.0.1:{upPort}/mcp"
        self.pids = [self.proc.pid, upPid] + ([redisProc.pid] if redisProc else [])
        self.res["pids"] = {"relay": self.proc.pid, "upstream": upPid, "redis": redisProc.pid if redisProc else None}

    def ready(self, pinLoad: Optional[int]) -> None:
        t0 = time.monotonic()
        waitReady(self.proc, self.url)
        self.res["startup_s"] = time.monotonic() - t0
        print(f"  [{self.name}] ready; warm-up", flush=True)
        self.res["warmup"] = client("rpc", 30, pinLoad, "--url", self.url, "--concurrency", "4", "--requests", "300",
                                    "--warmup", "0")

    def measure(self, c: int, n: int, w: int, cap: float, pinLoad: Optional[int]) -> dict:
        if not self.proc.alive():
            raise RuntimeError(f"{self.name} exited: see {self.proc.log}")
        s0 = redisCounts(self.redisPort) if self.redisPort else None
        r = client("rpc", cap, pinLoad, "--url", self.url, "--concurrency", str(c), "--requests", str(n),
                   "--warmup", str(w), "--pids", ",".join(map(str, self.pids)))
        if self.redisPort and s0 is not None:
            # every request (warm-up included) should have run the limiter's script once
            s1 = redisCounts(self.redisPort)
            s1["info"] = s1.get("info", 0) - 1  # less the INFO that read s0
            delta = {k: v - s0.get(k, 0) for k, v in s1.items() if v - s0.get(k, 0)}
            r["redis_command_calls"] = delta
            r["redis_scripts"] = delta.get("evalsha", 0) + delta.get("eval", 0)
            r["redis_commands"] = sum(delta.values())
            r["requests_sent"] = n + w
        self.res["slices"][f"rpc_c{c}"].append(r)
        return r

    def redisState(self) -> None:
        if not self.redisPort:
            return
        keys = redisScan(self.redisPort, "akto:*")
        rl = [k for k in keys if k.startswith("akto:rl:")]
        self.res["redis_keys"] = sorted(keys)[:20]
        self.res["redis_key_count"] = len(keys)
        self.res["redis_rl_keys"] = len(rl)
        self.res["redis_rl_members"] = sum(int(redisCmd(self.redisPort, "ZCARD", k)) for k in rl[:100])
        mm = re.search(r"^used_memory:(\d+)", redisCmd(self.redisPort, "INFO", "memory"), re.M)
        self.res["redis_used_memory_mib"] = int(mm.group(1)) / 1048576 if mm else None

    def stop(self) -> dict:
        self.proc.stop()
        self.res["exit_code"] = self.proc.p.returncode
        self.res["log_scan"] = scanLog(self.proc.log)
        try:
            self.res["log_redis_warnings"] = sum(1 for line in self.proc.log.read_text(errors="replace").splitlines()
                                                 if "redis unavailable" in line or "degraded" in line)
        except OSError:
            self.res["log_redis_warnings"] = None
        for key, sl in self.res["slices"].items():
            if sl:
                self.res[key] = mergeSlices(sl)
        return self.res


def mergeSlices(sl: list[dict]) -> dict:
    """Rounds of one (config, concurrency): summed counts, req/s over the summed time, CPU/request over the
    summed requests, latency percentiles as the median of the rounds' (each round is its own client run)."""
    ok = [x for x in sl if "client_error" not in x]
    n = sum(x.get("requests") or 0 for x in ok)
    el = sum(x.get("elapsed_s") or 0 for x in ok)
    statuses: dict[str, int] = {}
    for x in ok:
        for k, v in (x.get("statuses") or {}).items():
            statuses[k] = statuses.get(k, 0) + v
    if len(ok) < len(sl):
        statuses["client_error"] = len(sl) - len(ok)
    cpu: dict[str, Optional[float]] = {}
    for p in (ok[0].get("cpu_ms_per_req") or {}) if ok else {}:
        tot = [(x["cpu_ms_per_req"].get(p), x.get("requests") or 0) for x in ok]
        cpu[p] = sum(v * k for v, k in tot if v is not None) / n if n and all(v is not None for v, _ in tot) else None

    def med(key: str) -> Optional[float]:
        vals = sorted(x[key] for x in ok if x.get(key) is not None)
        if not vals:
            return None
        h = len(vals) // 2
        return vals[h] if len(vals) % 2 else (vals[h - 1] + vals[h]) / 2

    out: dict[str, Any] = {
        "rounds": len(sl), "requests": n, "elapsed_s": el, "rps": n / el if el else None,
        "rps_rounds": [x.get("rps") for x in ok], "statuses": statuses,
        "error_count": sum(x.get("error_count") or 0 for x in ok),
        "p50_ms": med("p50_ms"), "p99_ms": med("p99_ms"), "cpu_ms_per_req": cpu,
        "client_errors": [x["client_error"] for x in sl if "client_error" in x][:3],
    }
    if any("redis_scripts" in x for x in sl):
        out["redis_scripts"] = sum(x.get("redis_scripts") or 0 for x in sl)
        out["redis_commands"] = sum(x.get("redis_commands") or 0 for x in sl)
        calls: dict[str, int] = {}
        for x in sl:
            for k, v in (x.get("redis_command_calls") or {}).items():
                calls[k] = calls.get(k, 0) + v
        out["redis_command_calls"] = calls
        out["requests_sent"] = sum(x.get("requests_sent") or 0 for x in sl)
    return out


def rateMetrics(r: dict) -> dict:
    pid = r.get("pids") or {}

    def cpu(key: str, who: str) -> Optional[float]:
        p = pid.get(who)
        return None if p is None else g(r, key, "cpu_ms_per_req", str(p))

    non200 = 0
    for key in ("rpc_c1", "rpc_c50"):
        non200 += sum(v for k, v in (g(r, key, "statuses") or {}).items() if k != "200")
    out = {
        "c1_rps": g(r, "rpc_c1", "rps"),
        "c1_p50_ms": g(r, "rpc_c1", "p50_ms"),
        "c1_p99_ms": g(r, "rpc_c1", "p99_ms"),
        "c50_rps": g(r, "rpc_c50", "rps"),
        "c50_p50_ms": g(r, "rpc_c50", "p50_ms"),
        "c50_p99_ms": g(r, "rpc_c50", "p99_ms"),
        "relay_cpu_ms_req_c1": cpu("rpc_c1", "relay"),
        "relay_cpu_ms_req_c50": cpu("rpc_c50", "relay"),
        "redis_cpu_ms_req_c50": cpu("rpc_c50", "redis"),
        "upstream_cpu_ms_req_c50": cpu("rpc_c50", "upstream"),
        "requests": (g(r, "rpc_c1", "requests") or 0) + (g(r, "rpc_c50", "requests") or 0),
        "non_200": non200,
        "access_statuses": g(r, "log_scan", "access_statuses"),
        "redis_scripts_per_req": None,
        "redis_commands_per_req": None,
        "redis_rl_keys": None,
        "redis_rl_members": r.get("redis_rl_members"),
        "log_errors": g(r, "log_scan", "errors"),
    }
    if "redis_key_count" in r:
        sent = sum(g(r, k, "requests_sent") or 0 for k in ("rpc_c1", "rpc_c50"))
        scripts = sum(g(r, k, "redis_scripts") or 0 for k in ("rpc_c1", "rpc_c50"))
        out["redis_scripts_per_req"] = scripts / sent if sent else None
        cmds = sum(g(r, k, "redis_commands") or 0 for k in ("rpc_c1", "rpc_c50"))
        out["redis_commands_per_req"] = cmds / sent if sent else None
        out["redis_rl_keys"] = r.get("redis_rl_keys")
    return out


RL_ROWS = [
    ("c1_rps", "c=1 req/s", "{:.0f}", True),
    ("c1_p50_ms", "c=1 p50 ms", "{:.3f}", True),
    ("c1_p99_ms", "c=1 p99 ms", "{:.3f}", True),
    ("c50_rps", "c=50 req/s", "{:.0f}", True),
    ("c50_p50_ms", "c=50 p50 ms", "{:.2f}", True),
    ("c50_p99_ms", "c=50 p99 ms", "{:.2f}", True),
    ("relay_cpu_ms_req_c1", "relay CPU ms/req c=1", "{:.3f}", True),
    ("relay_cpu_ms_req_c50", "relay CPU ms/req c=50", "{:.3f}", True),
    ("redis_cpu_ms_req_c50", "redis-server CPU ms/req c=50", "{:.3f}", False),
    ("upstream_cpu_ms_req_c50", "upstream CPU ms/req c=50", "{:.3f}", False),
    ("requests", "measured requests", "{}", False),
    ("non_200", "non-200 / errors (429s)", "{}", False),
    ("redis_scripts_per_req", "Redis scripts per request", "{:.2f}", False),
    ("redis_commands_per_req", "Redis cmds/req (incl. in Lua)", "{:.2f}", False),
    ("redis_rl_members", "Redis akto:rl:* members", "{}", False),
    ("log_errors", "relay log errors", "{}", False),
]


def rateTable(m: dict, cols: list[str]) -> str:
    w0, w = 30, 22
    out = ["rate limiting".ljust(w0) + "".join(RL_LABELS[t].rjust(w) for t in cols)]
    out.append("-" * (w0 + w * len(cols)))
    for key, label, f, ratios in RL_ROWS:
        if all(m[t].get(key) is None for t in cols):
            continue
        line = label.ljust(w0)
        base = m.get("rl-off", {}).get(key)
        for t in cols:
            v = m[t].get(key)
            cell = fmt(v, f)
            if ratios and t != "rl-off" and isinstance(v, (int, float)) and isinstance(base, (int, float)) and base:
                cell += f" ({v / base:.2f}x)"
            line += cell.rjust(w)
        out.append(line)
    return "\n".join(out)


def rateVerdicts(m: dict, raw: dict, cols: list[str], P: dict) -> list[dict]:
    out = []
    want = (P["c1"] // P["rounds"] + P["c50"] // P["rounds"]) * P["rounds"]
    for t in cols:
        x, r = m[t], raw[t]

        def add(name: str, ok: bool, detail: str) -> None:
            out.append({"target": t, "role": "ratelimit", "name": name, "result": "PASS" if ok else "FAIL",
                        "detail": detail})

        st = set((x.get("access_statuses") or {}).keys())
        add("all 200 (no 429)", not r.get("error") and x["requests"] == want and x["non_200"] == 0 and st <= {"200"},
            f"{x['requests']}/{want} measured, non-200 {x['non_200']}, access log {x.get('access_statuses')}"
            + (f", error {r['error']}" if r.get("error") else ""))
        if t == "rl-redis":
            spr = x.get("redis_scripts_per_req")
            ok = bool(x.get("redis_rl_keys")) and bool(x.get("redis_rl_members")) and spr is not None \
                and abs(spr - 1.0) < 0.01 and not r.get("log_redis_warnings")
            add("Redis holds the counters", ok,
                f"akto:* keys {r.get('redis_keys')}, {x.get('redis_rl_members')} members in akto:rl:*, "
                f"{fmt(spr, '{:.3f}')} scripts/request, redis warnings in log {r.get('log_redis_warnings')}")
    return out


def runRateLimit(upPort: int, upPid: int, quick: bool, pinRelay: Optional[int], pinLoad: Optional[int]) -> dict:
    """
    All configs run at once (idle when not measured); each concurrency is measured in rounds, the configs in
    rotated order within a round, so that drift and other load on the machine spread over all of them.
    """
    P = dict(RL_QUICK if quick else RL_FULL)
    R = P["rounds"]
    started = time.time()
    load0 = os.getloadavg()[0]
    busy0, own0, t0 = busyCpuS(), ownCpuS(upPid), time.monotonic()
    redisProc, redisPort, why = startRedis(pinLoad)
    cols = list(RL_CONFIGS if redisProc else RL_CONFIGS[:2])
    if not redisProc:
        print(f"rate limiting: the Redis column is skipped: {why}", flush=True)
    targets: dict[str, RateTarget] = {}
    raw: dict[str, dict] = {}
    redisVersion = None
    try:
        if redisPort:
            m = re.search(r"^redis_version:(\S+)", redisCmd(redisPort, "INFO", "server"), re.M)
            redisVersion = m.group(1) if m else None
        for t in cols:
            targets[t] = RateTarget(t, upPort, upPid, pinRelay,
                                    redisProc if t == "rl-redis" else None, redisPort if t == "rl-redis" else None)
        for t in cols:
            try:
                targets[t].ready(pinLoad)
            except Exception as e:
                targets[t].res["error"] = f"{type(e).__name__}: {e}"
                print(f"  [{t}] FAILED: {targets[t].res['error']}", flush=True)
        live = [t for t in cols if "error" not in targets[t].res]
        time.sleep(0.3)
        for rnd in range(R):
            order = live[rnd % len(live):] + live[:rnd % len(live)] if live else []
            for c in (1, 50):
                n, w = P[f"c{c}"] // R, P[f"c{c}_warm"]
                for t in order:
                    if "error" in targets[t].res:
                        continue
                    print(f"  round {rnd + 1}/{R} [{t}] JSON-RPC POST, concurrency {c}, {n} requests", flush=True)
                    try:
                        targets[t].measure(c, n, w, P["rpc_cap"], pinLoad)
                    except Exception as e:
                        targets[t].res["error"] = f"{type(e).__name__}: {e}"
                        print(f"  [{t}] FAILED: {targets[t].res['error']}", flush=True)
        if "rl-redis" in targets:
            try:
                targets["rl-redis"].redisState()
            except Exception as e:
                targets["rl-redis"].res["error"] = f"reading Redis: {type(e).__name__}: {e}"
    finally:
        for t, tg in targets.items():
            raw[t] = tg.stop()
        if redisProc:
            redisProc.stop()
    # CPU the rest of the machine used meanwhile (others' tests, builds...): it skews the comparison
    other = (busyCpuS() - busy0) - (ownCpuS(upPid) - own0)
    wall = time.monotonic() - t0
    m = {t: rateMetrics(raw[t]) for t in cols}
    P["per_round"] = {"c1": P["c1"] // R, "c50": P["c50"] // R}
    return {
        "meta": {"mode": "quick" if quick else "full", "started": started, "duration_s": time.time() - started,
                 "params": P, "loadavg_before": load0, "other_cpu_s": other, "other_cpu_share": other / wall if wall else None,
                 "guardrail": RL_GUARDRAIL.strip(),
                 "redis_version": redisVersion, "redis_skipped": why or None},
        "columns": cols,
        "metrics": m,
        "verdicts": rateVerdicts(m, raw, cols, P),
        "raw": raw,
    }

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
    ap.add_argument("--quick", action="store_true", help="shorter runs (about a minute and a quarter)")
    ap.add_argument("--streams", type=int, help="concurrent SSE streams (default 1000)")
    ap.add_argument("--targets", default=",".join(TARGETS), help="subset, comma-separated (direct and floor are needed for ratios)")
    ap.add_argument("--pin", action="store_true",
                    help="pin the relay to one CPU and the upstream and client to another (default: let the scheduler place them)")
    rl = ap.add_mutually_exclusive_group()
    rl.add_argument("--ratelimit", action="store_true",
                    help="only the rate-limiting comparison (off / in-process / Redis); its figures are merged into "
                         "--out under \"ratelimit\"")
    rl.add_argument("--no-ratelimit", action="store_true", help="skip the rate-limiting comparison")
    ap.add_argument("--out", default=str(RESULTS / "latest.json"))
    a = ap.parse_args()
    P = dict(QUICK if a.quick else FULL)
    if a.streams:
        P["streams"] = a.streams
    RESULTS.mkdir(exist_ok=True)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(soft, min(hard, 4 * P["streams"] + 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < 3 * P["streams"] and not a.ratelimit:
        print(f"warning: RLIMIT_NOFILE {want} is low for {P['streams']} streams", flush=True)
    cpus = sorted(os.sched_getaffinity(0))
    pinRelay = pinLoad = None
    if a.pin and len(cpus) >= 2:
        pinRelay, pinLoad = cpus[-1], cpus[0]  # relay alone on one CPU; upstream and client share another
    started = time.time()
    print(f"akto-proxy bench ({'quick' if a.quick else 'full'}{', rate limiting only' if a.ratelimit else ''}), "
          f"{len(cpus)} CPUs, relay on CPU {pinRelay}, upstream+client on CPU {pinLoad}", flush=True)

    upPort = freePort()
    up = Proc("upstream", [PY, str(HERE / "upstream.py"), "--port", str(upPort)], RESULTS / "upstream.log", pinLoad)
    results: dict[str, dict] = {}
    rate: Optional[dict] = None
    try:
        waitReady(up, f"http://127.0.0.1:{upPort}/mcp", 15)
        if not a.ratelimit:
            names = a.targets.split(",")
            for t in names:
                print(f"{t}:", flush=True)
                results[t] = runTarget(t, upPort, up.pid, P, pinRelay, pinLoad)
            print("JSON-RPC, all targets interleaved:", flush=True)
            runRPCRounds(names, upPort, up.pid, P, pinRelay, pinLoad, results)
        if not a.no_ratelimit:
            rate = runRateLimit(upPort, up.pid, a.quick, pinRelay, pinLoad)
    finally:
        up.stop()

    v: list[dict] = []
    m: dict[str, dict] = {}
    if not a.ratelimit:
        m = {t: metrics(results[t]) if t in results else {} for t in TARGETS}
        print()
        print(table(m))
        v = verdicts(m, P["streams"]) if all(results.get(t) for t in TARGETS) else []
    if rate is not None:
        print()
        print(rateTable(rate["metrics"], rate["columns"]))
        if rate["meta"]["redis_skipped"]:
            print(f"(Redis column skipped: {rate['meta']['redis_skipped']})")
        share = rate["meta"]["other_cpu_share"]
        print(f"(other work on the machine meanwhile: {rate['meta']['other_cpu_s']:.1f} CPU-s, "
              f"{100 * share:.0f}% of one CPU{'; the ratios are unreliable, run again on a quiet machine' if share > 0.1 else ''})")
    print()
    for x in v + (rate["verdicts"] if rate else []):
        print(f"{x['result']:4}  {x['target']:15} {x['name']:42} {x['detail']}")
    for t, r in list(results.items()) + list((rate["raw"] if rate else {}).items()):
        ls = r.get("log_scan") or {}
        if r.get("error") or ls.get("errors") or (ls.get("non_json") and t != "floor"):
            print(f"note: {t}: error={r.get('error')} log errors={ls.get('errors')} non-JSON lines={ls.get('non_json')} "
                  f"samples={ls.get('error_samples')[:2] if ls.get('error_samples') else []}")
        if ls.get("access_statuses") and set(ls["access_statuses"]) - {"200"}:
            print(f"note: {t}: access log statuses {ls['access_statuses']} outcomes {ls.get('access_outcomes')}")
    out = Path(a.out)
    if a.ratelimit:
        # keep the last full/quick run's figures; replace only the "ratelimit" key
        doc: dict[str, Any] = {}
        try:
            doc = json.loads(out.read_text())
            if not isinstance(doc, dict):
                doc = {}
        except (OSError, ValueError):
            doc = {}
        doc["ratelimit"] = rate
    else:
        doc = {
            "meta": {"mode": "quick" if a.quick else "full", "started": started, "duration_s": time.time() - started,
                     "params": P, "cpus": len(cpus), "pin_relay_cpu": pinRelay, "pin_load_cpu": pinLoad,
                     "python": platform.python_version(), "machine": platform.machine(),
                     "clk_tck": os.sysconf("SC_CLK_TCK")},
            "metrics": m,
            "verdicts": v,
            "raw": results,
        }
        if rate is not None:
            doc["ratelimit"] = rate
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2))
    print(f"\nwrote {out} in {time.time() - started:.0f}s")
    rateOk = rate is None or all(x["result"] == "PASS" for x in rate["verdicts"])
    if a.ratelimit:
        return 0 if rateOk else 1
    return 0 if rateOk and v and all(x["result"] == "PASS" for x in v if x["role"] == "target") else 1

if __name__ == "__main__":
    sys.exit(main())
