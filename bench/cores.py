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
                                    [--pin]

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

from run import HERE, PY, RESULTS, TWISTD, Proc, client, freePort, waitReady  # noqa: E402


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
    shim = ("import os, sys; os.dup2(int(sys.argv[1]), 3); os.close(int(sys.argv[1]));"
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
    ap.add_argument("--out", default=str(RESULTS / "cores.json"))
    args = ap.parse_args()
    RESULTS.mkdir(exist_ok=True)
    counts = [int(x) for x in args.procs.split(",")]
    cpus = os.cpu_count() or 1
    upPort = freePort()
    upCpu = max(counts) if args.pin else None
    up = Proc("upstream", [PY, str(HERE / "upstream.py"), "--port", str(upPort)], RESULTS / "upstream-cores.log", upCpu)
    rows = []
    try:
        time.sleep(0.5)
        for n in counts:
            print(f"  {n} process(es), {args.requests} requests at concurrency {args.concurrency}", flush=True)
            rows.append(measure(n, args, upPort, up.pid))
    finally:
        up.stop()
    one = next((r for r in rows if r["procs"] == 1), None)
    print(f"\n{'processes':>9} {'req/s':>9} {'x one':>7} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/req':>11}  share")
    for r in rows:
        ratio = r["rps"] / one["rps"] if one and one.get("rps") and r.get("rps") else None
        r["x_one"] = ratio
        print(f"{r['procs']:>9} {r['rps']:>9.0f} {ratio if ratio else 0:>7.2f} {r['p50_ms']:>8.2f} "
              f"{r['p99_ms']:>8.2f} {r['cpu_ms_per_req']:>11.3f}  {r['cpu_share']}")
    if cpus < max(counts) + 2:
        print(f"\nnote: {cpus} CPUs here; the client and upstream share the proxies' cores, so the "
              f"ratio is bounded by the machine (a fair run needs {max(counts) + 2}+ CPUs and --pin).")
    Path(args.out).write_text(json.dumps({"cpus": cpus, "rows": rows, "args": vars(args)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
