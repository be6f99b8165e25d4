"""
Where a started proxy's memory goes, step by step in one process.

    .venv/bin/python bench/startup_memory.py [CONFIG] [--steps]

(CONFIG: default bench/proxy-checks.yaml.)  Run with the checkout's
package first on the path (PYTHONPATH=CHECKOUT) and the database cache of
your own (AKTO_PROXY_CACHE_DIR), started once before so that the databases
come from it, as bench/memory.py measures.

The process imports what the floor imports (the reactor, twisted.web),
then twistd and its plugin discovery, the config package, the service's
modules, reads the configuration and builds the service, as
C{twistd -n akto-proxy} does; after each step the garbage is collected and
the heap trimmed, and it prints the resident size and where it is:

  file    pages of mapped files (shared libraries, their code and data)
  heap    glibc's main heap ([heap]: Python's objects over 512 bytes, C
          and C++ allocations under the mmap threshold)
  anon    anonymous mappings: pymalloc's 1 MiB arenas, glibc's mmapped
          blocks (the large pattern databases), thread stacks
  py      bytes in Python's small-object blocks (pymalloc)
  malloc  bytes glibc has handed out (mallinfo2: in use, heap and mmapped)

Then each Hyperscan database the service loaded (its size, who built it),
the scratch spaces allocated for them, and the shared libraries' resident
pages beyond the floor's.  --steps prints the steps only.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import re
import sys
import tempfile
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

libc = ctypes.CDLL(None)


class _MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]


libc.mallinfo2.restype = _MallInfo2


def mallocUsed() -> int:
    m = libc.mallinfo2()
    return int(m.uordblks + m.hblkhd)


def pymallocBytes() -> int:
    """
    Bytes in pymalloc's allocated blocks (from sys._debugmallocstats).
    """
    fd, path = tempfile.mkstemp()
    saved = os.dup(2)
    try:
        os.dup2(fd, 2)
        sys._debugmallocstats()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(fd)
    text = Path(path).read_text()
    os.unlink(path)
    m = re.search(r"# bytes in allocated blocks\s*=\s*([\d,]+)", text)
    return int(m.group(1).replace(",", "")) if m else 0


def mappings() -> Counter[str]:
    """
    Resident KiB by mapping name.
    """
    out: Counter[str] = Counter()
    name = ""
    with open("/proc/self/smaps") as f:
        for line in f:
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                parts = line.split(None, 5)
                name = parts[5].strip() if len(parts) > 5 else "[anon]"
            elif line.startswith("Rss:"):
                out[name] += int(line.split()[1])
    return out


def kinds(m: Counter[str]) -> dict[str, int]:
    k = {"file": 0, "heap": 0, "anon": 0}
    for name, kib in m.items():
        k["heap" if name == "[heap]" else "file" if name.startswith("/") else "anon"] += kib
    return k


class Steps:
    def __init__(self) -> None:
        self.prev: dict[str, float] = {}
        self.rows: list[tuple[str, dict[str, float]]] = []
        print(f"{'step':<38} {'RSS':>13} {'file':>13} {'heap':>13} {'anon':>13} {'py':>13} {'malloc':>13}   MiB (+ this step)")

    def __call__(self, label: str) -> None:
        gc.collect()
        libc.malloc_trim(0)
        m = mappings()
        row: dict[str, float] = {"rss": sum(m.values()) / 1024}
        row.update({k: v / 1024 for k, v in kinds(m).items()})
        row["py"] = pymallocBytes() / 2**20
        row["malloc"] = mallocUsed() / 2**20
        cells = " ".join(f"{v:6.2f} ({v - self.prev.get(k, 0):+5.2f})" for k, v in row.items())
        print(f"{label:<38} {cells}", flush=True)
        self.prev = row
        self.rows.append((label, row))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("config", nargs="?", default=str(HERE / "proxy-checks.yaml"))
    ap.add_argument("--steps", action="store_true", help="the steps only")
    args = ap.parse_args()
    os.environ.setdefault("STATE_DIRECTORY", tempfile.mkdtemp(prefix="akto-mem-"))
    step = Steps()
    step("python")
    from twisted.internet import reactor
    from twisted.web import client, http, http_headers, iweb, resource, server  # noqa: F401 (what the floor imports)

    step("floor's imports (reactor, twisted.web)")
    floorFiles = mappings()
    from twisted.application.service import IServiceMaker
    from twisted.plugin import getPlugins
    from twisted.scripts import twistd  # noqa: F401

    list(getPlugins(IServiceMaker))
    step("twistd, its plugin discovery")
    import hyperscan

    import akto_proxy.config

    step("config package (yaml, re2, hyperscan)")
    import akto_proxy.service
    import akto_proxy.tap  # noqa: F401

    step("the service's modules")
    from akto_proxy.config import loadConfig

    config = loadConfig(args.config)
    step("reading the configuration")

    databases: list[tuple[int, str]] = []
    scratches: list[int] = []
    if not args.steps:
        loadb = hyperscan.loadb
        Database = hyperscan.Database
        Scratch = hyperscan.Scratch

        def where() -> str:
            frames = [f for f in traceback.extract_stack()[:-2] if "akto_proxy" in f.filename and "hscache" not in f.filename]
            return " < ".join(f"{Path(f.filename).stem}.{f.name}" for f in frames[-2:])

        def loading(data: bytes, *a: Any) -> Any:
            db = loadb(data, *a)
            databases.append((db.size(), where()))
            return db

        class Compiling(Database):  # type: ignore[misc,valid-type]
            def compile(self, *a: Any, **kw: Any) -> Any:
                r = super().compile(*a, **kw)
                databases.append((self.size(), where() + " (compiled)"))
                return r

        class Measured(Scratch):  # type: ignore[misc,valid-type]
            def __init__(self, *a: Any, **kw: Any) -> None:
                before = mallocUsed()
                super().__init__(*a, **kw)
                scratches.append(mallocUsed() - before)

        hyperscan.loadb, hyperscan.Database, hyperscan.Scratch = loading, Compiling, Measured  # type: ignore[misc,assignment]
    from akto_proxy.service import ProxyService

    svc = ProxyService(config, reactor, args.config, tuneGC=True)
    step("building the service")
    svc.startService()
    step("started (collected, frozen, trimmed)")
    if args.steps:
        return 0
    print("\nHyperscan databases (bytes, built by):")
    for size, by in sorted(databases, reverse=True):
        print(f"  {size:>10,}  {by}")
    print(f"  {sum(s for s, _ in databases):>10,}  in all ({len(databases)}; a compiled one counts at start only when the cache missed)")
    print(f"Hyperscan scratch spaces: {sum(scratches):,} bytes in {len(scratches)} (largest {max(scratches, default=0):,})")
    now = mappings()
    print("\nShared libraries' resident pages beyond the floor's imports (KiB):")
    extra = {n: k - floorFiles.get(n, 0) for n, k in now.items() if n.startswith("/") and k - floorFiles.get(n, 0) >= 32}
    for n, k in sorted(extra.items(), key=lambda kv: -kv[1]):
        print(f"  {k:>6}  {n}")
    print(f"  {sum(extra.values()):>6}  in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
