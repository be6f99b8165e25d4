"""
Several akto-proxy processes on one port, as systemd/akto-proxy@.service runs
them: small-POST throughput with N processes against one.

Each process gets its own listening socket bound with SO_REUSEPORT to the same
127.0.0.1 port, passed as socket activation does (fd 3, LISTEN_FDS=1, LISTEN_FDNAMES,
LISTEN_PID set by a shim that then execs twistd), with
`listen: ["systemd:domain=INET:index=0"]`; the kernel spreads new connections
over the sockets.  For each N in --procs, the client (bench/client.py rpc,
keep-alive connections) sends the JSON-RPC POST of bench/run.py at
concurrency C through the shared port; printed: requests/s, relay CPU per
request summed over the processes, the share of requests each process took
(from its CPU), and the throughput ratio to N=1.

    .venv/bin/python bench/cores.py [--procs 1,2] [--requests 20000]
                                    [--concurrency 64] [--config proxy-checks]
                                    [--pin] [--load wrk] [--seconds 20]

With --load wrk the load comes from programs written in C so that nearly all
of a small machine's CPU is left to the proxies: `wrk` (one thread, keep-alive
connections, the same POST) sends, and `nginx` (one worker, a fixed answer of
the same shape as bench/upstream.py's) answers.  Both are Debian packages
(`apt-get install wrk nginx-light`); each costs the machine some 15-25 us
per request where the Python client and upstream cost 150-300 us, which is
what lets two proxy processes on a 2-CPU machine show their scaling.

With --pin, process i runs on CPU i and the upstream and client on the CPUs
after them: scaling is only meaningful when the load generator does not
share the proxies' cores, so on a machine with fewer than N + 2 CPUs the
figure is bounded by the machine, not by the proxy (the output says so).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bigbody import cpuSeconds  # noqa: E402
from client import rpcBody  # noqa: E402
from run import API_KEY, HERE, PY, RESULTS, TWISTD, Proc, client, freePort, waitReady  # noqa: E402

WRK = "/usr/bin/wrk"
NGINX = "/usr/sbin/nginx"


def reusePortSocket(port: int) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", port))
    s.listen(1024)
    return s


def activated(name: str, config: Path, sock: socket.socket, log: Path, cpu: Optional[int]) -> subprocess.Popen:
    """
    Start twistd as systemd would with one socket: fd 3, LISTEN_FDS=1 and
    LISTEN_PID equal to twistd's own pid (the shim execs it).
    """
    fd = sock.fileno()

    def pin() -> None:
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})

    # a Python shim puts the socket on fd 3 and execs twistd in its own pid
    shim = ("import os, sys; fd = int(sys.argv[1]);"
            " fd != 3 and (os.dup2(fd, 3), os.close(fd)); os.set_inheritable(3, True);"
            " os.environ['LISTEN_PID'] = str(os.getpid()); os.execv(sys.argv[2], sys.argv[2:])")
    env = dict(os.environ, LISTEN_FDS="1", LISTEN_FDNAMES="akto-proxy", AKTO_PROXY_INSTANCE=name)
    argv = [PY, "-c", shim, str(fd), TWISTD, "-n", "--pidfile=", "akto-proxy", "--config", str(config)]
    return subprocess.Popen(argv, stdout=open(log, "wb"), stderr=subprocess.STDOUT, env=env,
                            preexec_fn=pin, pass_fds=(fd,), cwd=HERE.parent)


def configFor(base: str) -> Path:
    src = (HERE / f"{base}.yaml").read_text()
    src = re.sub(r'^listen: .*$', 'listen: ["systemd:domain=INET:index=0"]', src, count=1, flags=re.M)
    out = RESULTS / f"cores-{base}.yaml"
    out.write_text(src)
    return out


WRK_SCRIPT = """\
wrk.method = "POST"
wrk.body = '%(body)s'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-06-18"
wrk.headers["X-Akto-Api-Key"] = "%(key)s"
"""

NGINX_CONF = """\
daemon off;
worker_processes 1;
pid %(dir)s/nginx.pid;
error_log %(dir)s/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path %(dir)s/nginx-body;
    proxy_temp_path %(dir)s/nginx-proxy;
    fastcgi_temp_path %(dir)s/nginx-fastcgi;
    uwsgi_temp_path %(dir)s/nginx-uwsgi;
    scgi_temp_path %(dir)s/nginx-scgi;
    server {
        listen 127.0.0.1:%(port)d;
        location / {
            default_type application/json;
            return 200 '%(answer)s';
        }
    }
}
"""


def nginxUpstream(port: int) -> subprocess.Popen:
    """
    nginx answering every request with the JSON-RPC result bench/upstream.py
    gives the echo tool's call (the id of wrk's one request body).
    """
    answer = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {
        "content": [{"type": "text", "text": json.loads(rpcBody(1))["params"]["arguments"]["text"]}],
        "isError": False}}, separators=(",", ":"))
    conf = RESULTS / "cores-nginx.conf"
    conf.write_text(NGINX_CONF % {"dir": RESULTS, "port": port, "answer": answer})
    return subprocess.Popen([NGINX, "-c", str(conf), "-p", str(RESULTS)],
                            stdout=open(RESULTS / "cores-nginx.log", "wb"), stderr=subprocess.STDOUT)


def wrk(url: str, args: argparse.Namespace, pids: list[int], seconds: float) -> dict:
    """
    One wrk run at --concurrency connections; requests/s, latency and the
    CPU the proxy processes spent per request (from /proc, as the Python
    client's --pids does).
    """
    script = RESULTS / "cores-wrk.lua"
    script.write_text(WRK_SCRIPT % {"body": rpcBody(1).decode(), "key": API_KEY})
    before = [cpuSeconds(p) for p in pids]
    r = subprocess.run([WRK, "-t1", f"-c{args.concurrency}", f"-d{seconds:g}s", "--latency", "-s", str(script), url],
                       capture_output=True, timeout=seconds + 60)
    after = [cpuSeconds(p) for p in pids]
    out = r.stdout.decode()
    if r.returncode != 0:
        raise RuntimeError(f"wrk failed: {r.stderr.decode()[-400:]}")
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)

    def ms(label: str) -> Optional[float]:
        m = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return None
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    per = [(a - b) * 1000 / total for a, b in zip(after, before)] if total else []
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": ms("50"), "p99_ms": ms("99"), "requests": total,
            "statuses": {"non_2xx": int(bad.group(1)) if bad else 0, "socket_errors": errors.group(1) if errors else ""},
            "cpu_ms_per_req_each": per}


def measure(n: int, args: argparse.Namespace, upPort: int, upPid: int) -> dict:
    port = freePort()
    cfg = configFor(args.config)
    socks = [reusePortSocket(port) for _ in range(n)]
    procs: list[subprocess.Popen] = []
    try:
        for i, s in enumerate(socks):
            cpu = i if args.pin else None
            procs.append(activated(f"cores-{i + 1}", cfg, s, RESULTS / f"cores-{n}-{i + 1}.log", cpu))
        for s in socks:
            s.close()  # each child holds its own copy
        url = f"http://127.0.0.1:{port}/proxy/http/127.0.0.1:{upPort}/mcp"
        # every process must answer: new connections land on each socket in turn
        # of the kernel's hash, so a few hundred fresh ones reach them all
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError(f"a proxy process exited: see {RESULTS}/cores-{n}-*.log")
        waitReady(None, url)
        if args.load == "wrk":
            wrk(url, args, [], min(3.0, args.seconds))  # warm-up: every process gets connections
            r = wrk(url, args, [p.pid for p in procs], args.seconds)
            if r["statuses"]["non_2xx"] or r["statuses"]["socket_errors"]:
                raise RuntimeError(f"wrk saw failures: {r['statuses']}")
            per = r.pop("cpu_ms_per_req_each")
            return {"procs": n, "rps": r["rps"], "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"],
                    "statuses": r["statuses"], "cpu_ms_per_req": sum(per),
                    "cpu_share": [round(v / sum(per), 3) if sum(per) else None for v in per]}
        loadCpu = n if args.pin else None
        client("rpc", 30, loadCpu, "--url", url, "--concurrency", str(args.concurrency),
               "--requests", str(max(args.requests // 10, 500)), "--warmup", "0")
        pids = ",".join(str(p.pid) for p in procs)
        r = client("rpc", args.cap, loadCpu, "--url", url, "--concurrency", str(args.concurrency),
                   "--requests", str(args.requests), "--warmup", str(args.requests // 20), "--pids", pids)
        if "client_error" in r:
            raise RuntimeError(r["client_error"])
        per = [v for v in r["cpu_ms_per_req"].values() if v is not None]
        return {"procs": n, "rps": r.get("rps"), "p50_ms": r.get("p50_ms"), "p99_ms": r.get("p99_ms"),
                "statuses": r.get("statuses"), "cpu_ms_per_req": sum(per),
                "cpu_share": [round(v / sum(per), 3) if sum(per) else None for v in per]}
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--procs", default="1,2")
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--config", default="proxy-checks")
    ap.add_argument("--cap", type=float, default=120.0, help="seconds the measured load may take at most")
    ap.add_argument("--pin", action="store_true")
    ap.add_argument("--load", choices=("python", "wrk"), default="python",
                    help="python: bench/client.py and bench/upstream.py; wrk: wrk and nginx (C; Debian packages)")
    ap.add_argument("--rounds", type=int, default=1, help="repeat the --procs sequence, interleaved")
    ap.add_argument("--seconds", type=float, default=20.0, help="--load wrk: seconds of measured load per N")
    ap.add_argument("--out", default=str(RESULTS / "cores.json"))
    args = ap.parse_args()
    RESULTS.mkdir(exist_ok=True)
    counts = [int(x) for x in args.procs.split(",")]
    cpus = os.cpu_count() or 1
    upPort = freePort()
    upCpu = max(counts) if args.pin else None
    if args.load == "wrk":
        missing = [name for name, path in (("wrk", WRK), ("nginx", NGINX)) if not Path(path).exists()]
        if missing:
            print(f"--load wrk needs {' and '.join(missing)}: apt-get install wrk nginx-light", file=sys.stderr)
            return 2
        up = nginxUpstream(upPort)
    else:
        up = Proc("upstream", [PY, str(HERE / "upstream.py"), "--port", str(upPort)], RESULTS / "upstream-cores.log", upCpu)
    rows = []
    try:
        time.sleep(0.5)
        for k in range(args.rounds):
            for n in counts:
                amount = f"{args.seconds:g} s" if args.load == "wrk" else f"{args.requests} requests"
                print(f"  round {k + 1}: {n} process(es), {amount} at concurrency {args.concurrency}", flush=True)
                rows.append(measure(n, args, upPort, up.pid))
    finally:
        if isinstance(up, subprocess.Popen):
            up.terminate()
            up.wait(timeout=15)
        else:
            up.stop()
    # rounds interleave the counts (1, 2, 1, 2, ...): a drifting machine hits
    # every count alike; each round's N is compared with the same round's one
    ones = [r for r in rows if r["procs"] == 1]
    print(f"\n{'processes':>9} {'req/s':>9} {'x one':>7} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>11}  share")
    for i, r in enumerate(rows):
        one = ones[i // len(counts)] if len(ones) == args.rounds else (ones[0] if ones else None)
        ratio = r["rps"] / one["rps"] if one and one.get("rps") and r.get("rps") else None
        r["x_one"] = ratio
        print(f"{r['procs']:>9} {r['rps']:>9.0f} {ratio if ratio else 0:>7.2f} {r['p50_ms']:>8.2f} "
              f"{r['p99_ms']:>8.2f} {r['cpu_ms_per_req']:>11.3f}  {r['cpu_share']}")
    for n in counts:
        ratios = sorted(r["x_one"] for r in rows if r["procs"] == n and r.get("x_one"))
        if ratios and args.rounds > 1:
            print(f"{n} process(es): median x one {ratios[len(ratios) // 2]:.2f} over {len(ratios)} rounds ({', '.join(f'{x:.2f}' for x in ratios)})")
    if cpus < max(counts) + 2 and args.load != "wrk":
        print(f"\nnote: {cpus} CPUs here; the client and upstream share the proxies' cores, so the "
              f"ratio is bounded by the machine (a fair run needs {max(counts) + 2}+ CPUs and --pin).")
    Path(args.out).write_text(json.dumps({"cpus": cpus, "rows": rows, "args": vars(args)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
