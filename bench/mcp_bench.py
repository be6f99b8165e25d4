"""
What the MCP protections cost, through the pipeline the relay runs
(no sockets): a tools/list of real tool definitions (the benign part of
the tool-poisoning corpus) on first sight and once pinned, and a clean
tool result of 2 KB and of 1 MiB, with the protections on and off.

    .venv/bin/python bench/mcp_bench.py [--tools 40] [--iterations 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from twisted.internet.defer import Deferred  # noqa: E402
from twisted.internet.task import Clock  # noqa: E402

from akto_proxy.config.loader import parseConfig  # noqa: E402
from akto_proxy.mcp import pipeline as P  # noqa: E402
from akto_proxy.mcp.events import EventBus  # noqa: E402
from akto_proxy.mcp.jsonrpc import decode, encode  # noqa: E402
from akto_proxy.mcp.pins import PinStore  # noqa: E402
from akto_proxy.mcp.protections import McpState  # noqa: E402
from akto_proxy.mcp.session import Conversation  # noqa: E402
from akto_proxy.relay.url import Target  # noqa: E402
from akto_proxy.runtime import buildRuntime  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "tests", "corpus", "mcp", "tool_poisoning.jsonl")
TARGET = Target("https", "mcp.example.com", 443, b"/mcp")

BASE = """
listen: ["tcp:0"]
threat_detection:
  sensitivity: medium
  enabled_checks: [sql_injection, command_injection, path_traversal, data_exfiltration]
"""
OFF = "mcp:\n  pin_tools: false\n  tool_poisoning: false\n  prompt_injection: false\n  server_requests: false\n"


def drive(coro: Any) -> Any:
    d = Deferred.fromCoroutine(coro)
    box: list[Any] = []
    d.addBoth(box.append)
    return box[0]


class Bench:
    def __init__(self, extra: str = ""):
        self.clock = Clock()
        self.store = PinStore(None, self.clock)
        self.rt = buildRuntime(parseConfig(BASE + extra), 1, self.clock, state=McpState(self.store))
        self.bus = EventBus()

    def ctx(self) -> P.Context:
        return P.Context(self.clock.seconds, self.bus, "req_1", "http", None, "127.0.0.1", TARGET, Conversation())

    def exchange(self, request: dict[str, Any], answer: bytes) -> Any:
        ctx = self.ctx()
        drive(self.rt.pipeline.judgeClient(ctx, decode(encode(request))))
        return drive(self.rt.pipeline.judgeServer(ctx, decode(answer)))


def timed(f: Any, iterations: int) -> tuple[float, float]:
    samples = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        f()
        samples.append((time.perf_counter() - t0) * 1e6)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99)]


def text(rnd: random.Random, size: int) -> str:
    words = "the quarterly report shows revenue grew in every region while costs stayed flat and the team shipped two releases".split()
    out: list[str] = []
    n = 0
    while n < size:
        w = rnd.choice(words)
        out.append(w)
        n += len(w) + 1
    return " ".join(out)[:size]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tools", type=int, default=40)
    ap.add_argument("--iterations", type=int, default=2000)
    a = ap.parse_args()
    tools = [e["tool"] for e in map(json.loads, open(CORPUS, encoding="utf-8")) if e["label"] == "benign"][: a.tools]
    listing = encode({"jsonrpc": "2.0", "id": 1, "result": {"tools": tools}})
    listRequest = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    rows = []
    on, off = Bench(), Bench(OFF)
    first = []
    for _ in range(50):
        fresh = Bench()
        t0 = time.perf_counter()
        fresh.exchange(listRequest, listing)
        first.append((time.perf_counter() - t0) * 1e6)
    rows.append((f"tools/list of {len(tools)} real tools, first sight (pinned, poisoning judged)", statistics.median(first), None))
    verdict = on.exchange(listRequest, listing)
    # what the list came to (a refused list costs the full path every time)
    came = "unchanged" if verdict.unchanged else "REFUSED" if "error" in verdict.forwardValue() else "rewritten"
    p50, p99 = timed(lambda: on.exchange(listRequest, listing), a.iterations // 4)
    rows.append((f"tools/list of {len(tools)} real tools, pinned ({came})", p50, p99))
    p50, p99 = timed(lambda: off.exchange(listRequest, listing), a.iterations // 4)
    rows.append((f"tools/list of {len(tools)} real tools, protections off", p50, p99))
    rnd = random.Random(7)
    call = {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "fetch_page", "arguments": {"url": "https://example.com"}}}
    for size, label in ((2048, "2 KB"), (1 << 20, "1 MiB")):
        answer = encode({"jsonrpc": "2.0", "id": 9, "result": {"content": [{"type": "text", "text": text(rnd, size)}]}})
        iterations = a.iterations if size < 65536 else 20
        for bench, name in ((on, "protections on"), (off, "protections off")):
            p50, p99 = timed(lambda: bench.exchange(call, answer), iterations)
            rows.append((f"clean tool result of {label}, {name}", p50, p99, size))
    width = max(len(r[0]) for r in rows)
    print(f"through the pipeline (judgeClient + judgeServer), medians of {a.iterations} (lists: {a.iterations // 4}; 1 MiB: 20)")
    for r in rows:
        extra = f"  {r[3] / r[1]:8.1f} MB/s" if len(r) > 3 else ""
        p99 = f"p99 {r[2]:10.1f} us" if r[2] is not None else ""
        print(f"{r[0]:<{width}}  p50 {r[1]:10.1f} us  {p99}{extra}")


if __name__ == "__main__":
    main()
