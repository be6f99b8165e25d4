"""
Inspection cost: microseconds per 1 KiB JSON-RPC request with all checks on
(target p50 < 100 us) and throughput on a 1 MiB tool result (target >= 50
MB/s on one core).  Usage: python bench/inspect_bench.py [--sensitivity S]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from akto_proxy.config.loader import parseConfig  # noqa: E402
from akto_proxy.inspect.checks import buildInspectors  # noqa: E402
from akto_proxy.inspect.message import Message  # noqa: E402
from akto_proxy.relay.url import Target  # noqa: E402

TARGET = Target("https", "mcp.example.com", 443, b"/mcp")

CONFIG = """
listen: ["tcp:0"]
threat_detection:
  sensitivity: {sensitivity}
  enabled_checks: [sql_injection, command_injection, path_traversal, data_exfiltration]
  custom_rules:
    - name: internal-host
      pattern: "corp\\\\.internal\\\\b"
      action: block
guardrails:
  - name: pii
    type: pii
    rules:
      - entity: email
      - entity: credit_card
      - entity: ssn
"""

WORDS = (
    "the agent reads a file and summarises it for the user; select an option, update the ticket, "
    "run tests in src/app and report back with a short note about what changed in ./lib/parser.py "
    "it's fine to skip docs/ when nothing there changed (see ../README.md) "
).split()


def sourceResult(size: int) -> Message:
    """
    A tool result of C{size} characters of Twisted's web server's source
    files, as a read_file of a repository returns them: clean, unlike
    L{result}'s.  (Not this project's own: its rules and tests hold attack
    forms by design.)
    """
    import twisted.web

    root = os.path.dirname(os.path.abspath(twisted.web.__file__))
    parts: list[str] = []
    n = 0
    for folder, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            if name.endswith(".py") and n < size:
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    parts.append(f.read())
                n += len(parts[-1])
    body = "\n".join(parts)
    while len(body) < size:
        body += "\n" + body
    obj = {"jsonrpc": "2.0", "id": 9, "result": {"content": [{"type": "text", "text": body[:size]}]}}
    return Message.fromJSONRPC(obj, "response", TARGET, "http", method="tools/call")


def text(rnd: random.Random, n: int) -> str:
    out: list[str] = []
    size = 0
    while size < n:
        w = rnd.choice(WORDS)
        out.append(w)
        size += len(w) + 1
    return " ".join(out)[:n]


def request1k(rnd: random.Random) -> Message:
    obj = {
        "jsonrpc": "2.0",
        "id": 42,
        "method": "tools/call",
        "params": {
            "name": "create_issue",
            "arguments": {
                "title": text(rnd, 60),
                "body": text(rnd, 640),
                "labels": ["bug", "agent"],
                "path": "src/app/models/user.py",
                "query": "status:open label:bug",
                "comment": text(rnd, 180),
            },
            "_meta": {"progressToken": "c0ffee-1234"},
        },
    }
    assert 900 <= len(json.dumps(obj)) <= 1200, len(json.dumps(obj))
    return Message.fromJSONRPC(obj, "request", TARGET, "http")


def result(rnd: random.Random, size: int) -> Message:
    lines = []
    n = 0
    i = 0
    while n < size:
        line = f"{i:6d}  " + text(rnd, 90)
        lines.append(line)
        n += len(line) + 1
        i += 1
    obj = {"jsonrpc": "2.0", "id": 9, "result": {"content": [{"type": "text", "text": "\n".join(lines)[:size]}]}}
    return Message.fromJSONRPC(obj, "response", TARGET, "http", method="tools/call")


def run(steps: list, message: Message) -> None:
    for step in steps:
        step.inspect(message)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sensitivity", default="medium")
    parser.add_argument("--iterations", type=int, default=3000)
    args = parser.parse_args()
    steps = buildInspectors(parseConfig(CONFIG.format(sensitivity=args.sensitivity)))
    rnd = random.Random(5)
    messages = [request1k(rnd) for _ in range(200)]
    for m in messages:
        run(steps, m)
    samples = []
    for i in range(args.iterations):
        m = messages[i % len(messages)]
        t0 = time.perf_counter()
        run(steps, m)
        samples.append((time.perf_counter() - t0) * 1e6)
    samples.sort()
    p50 = statistics.median(samples)
    p99 = samples[int(len(samples) * 0.99)]

    rows = [("1 KiB JSON-RPC request, all checks + custom + pii", f"p50 {p50:7.1f} us", f"p99 {p99:7.1f} us", "target p50 < 100 us")]
    for label, message in (
        # (its shuffled words make phrases the prompt-injection signals read
        # as addressed to the model: a flagged message, kept for comparison)
        ("1 MiB tool result (response)", result(rnd, 1 << 20)),
        ("1 MiB tool result of Python sources (response, clean)", sourceResult(1 << 20)),
        ("1 MiB tool argument (request)", Message.fromJSONRPC(
            {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
             "params": {"name": "write_file", "arguments": {"content": result(rnd, 1 << 20).strings[1][1]}}},
            "request", TARGET, "http")),
    ):
        size = sum(len(s) for _, s in message.strings)
        run(steps, message)
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            run(steps, message)
            times.append(time.perf_counter() - t0)
        best = statistics.median(times)
        rows.append((label, f"{best * 1e3:7.1f} ms", f"{size / best / 1e6:7.1f} MB/s", "target >= 50 MB/s"))

    rows.extend(scans(steps))
    print(f"sensitivity={args.sensitivity}, steps={[s.name for s in steps]}")
    width = max(len(r[0]) for r in rows)
    for r in rows:
        print(f"{r[0]:<{width}}  {r[1]:>14}  {r[2]:>16}  {r[3]}")


def streamedProof(prefilter, body: bytes):
    """
    The proof of a large body relayed unread asked as it arrives
    (Prefilter.watch), 64 KiB at a time, then of the whole.
    """
    from akto_proxy.inspect.checks.prefilter import windows  # noqa: E402

    seen = prefilter.watch("response")
    for chunk in windows(body):
        seen.feed(chunk)
    seen.end()
    return prefilter.cleanUnread("response", body, True, seen)


def scans(steps: list) -> list[tuple[str, str, str, str]]:
    """
    Each database alone on 1 MiB of clean data (bench/upstream.py's prose
    and JSON records), and the prefilter's proof of a large JSON body from
    its raw bytes: MB/s on one core.
    """
    import upstream  # noqa: E402

    from akto_proxy.inspect.checks.injection import InjectionInspector  # noqa: E402
    from akto_proxy.inspect.checks.prefilter import buildPrefilter  # noqa: E402
    from akto_proxy.inspect.checks.threats import ThreatInspector  # noqa: E402
    from akto_proxy.config.model import Protection  # noqa: E402

    prose, records = upstream.bigBody("text", 1024), upstream.bigBody("json", 1024)
    threats = next(s for s in steps if isinstance(s, ThreatInspector))
    prefilter = buildPrefilter(steps)
    library = InjectionInspector(Protection(), "enforce", "medium")._scorer._library
    cases = [
        ("threat rules, responses", lambda d: threats.scanner("response").matchesRaw(d)),
        ("threat rules, requests", lambda d: threats.scanner("request").matchesRaw(d)),
        ("prompt-injection signals", lambda d: library.hits(d.decode())),
        ("raw proof of a JSON body", lambda d: prefilter.cleanRaw("response", d) if prefilter else None),
        ("proof of a body relayed unread, whole", lambda d: prefilter.cleanUnread("response", d, True) if prefilter else None),
        ("the same, streamed in 64 KiB chunks", lambda d: streamedProof(prefilter, d) if prefilter else None),
    ]
    out = []
    for label, f in cases:
        for name, data in (("prose", prose), ("JSON records", records)):
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                f(data)
                times.append(time.perf_counter() - t0)
            best = min(times)
            out.append((f"scan, {label}, 1 MiB {name}", f"{best * 1e3:7.2f} ms", f"{len(data) / best / 1e6:7.0f} MB/s", "target >= 1000 MB/s"))
    return out


if __name__ == "__main__":
    main()
