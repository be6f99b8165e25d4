"""
Run the labelled corpus through the threat checks and count.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from typing import Any, Iterator

import attrs

from akto_proxy.config.loader import parseConfig
from akto_proxy.inspect.chain import Verdict
from akto_proxy.inspect.checks import buildInspectors
from akto_proxy.inspect.message import Message
from akto_proxy.relay.url import Target

HERE = os.path.dirname(os.path.abspath(__file__))
TARGET = Target("https", "mcp.example.com", 443, b"/mcp")
CHECK_OF = {
    "sql_injection": "sql_injection",
    "command_injection": "command_injection",
    "path_traversal": "path_traversal",
    "data_exfiltration": "data_exfiltration",
}

# The exclusions a sample configuration ships with: a database tool's SQL,
# a coding agent's shell command and the files it writes.
SAMPLE_EXCLUSIONS = """
  exclusions:
    - tool: run_sql
      argument: query
      checks: [sql_injection]
    - tool: run_command
      argument: command
      checks: [command_injection]
    - tool: write_file
      argument: content
      checks: [sql_injection, command_injection]
"""


def load(name: str) -> list[dict[str, str]]:
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def config(sensitivity: str, exclusions: bool) -> Any:
    text = f"""
listen: ["tcp:0"]
threat_detection:
  sensitivity: {sensitivity}
  enabled_checks: [sql_injection, command_injection, path_traversal, data_exfiltration]
"""
    if exclusions:
        text += SAMPLE_EXCLUSIONS
    return parseConfig(text)


def message(entry: dict[str, str]) -> Message:
    tool, arg, text = entry["tool"], entry["argument"], entry["text"]
    if entry["direction"] == "response":
        m = Message.fromJSONRPC(
            {"jsonrpc": "2.0", "id": 7, "result": {"content": [{"type": "text", "text": text}]}},
            "response",
            TARGET,
            "http",
            method="tools/call",
        )
        return attrs.evolve(m, tool=tool)
    return Message.fromJSONRPC(
        {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": tool, "arguments": {arg: text}}},
        "request",
        TARGET,
        "http",
    )


def verdicts(sensitivity: str, exclusions: bool, entries: list[dict[str, str]]) -> Iterator[tuple[dict[str, str], Verdict]]:
    steps = buildInspectors(config(sensitivity, exclusions))
    for entry in entries:
        v = steps[0].inspect(message(entry))
        assert isinstance(v, Verdict)
        yield entry, v


@attrs.frozen
class Rates:
    tpr: dict[str, tuple[int, int]]  # category -> (detected, total)
    fpr: tuple[int, int]  # (flagged, total)
    fprByCategory: dict[str, tuple[int, int]]
    misses: list[dict[str, str]]
    falsePositives: list[tuple[dict[str, str], list[str]]]


def measure(sensitivity: str, exclusions: bool) -> Rates:
    tp: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    misses = []
    for entry, v in verdicts(sensitivity, exclusions, load("attacks.jsonl")):
        want = CHECK_OF[entry["category"]]
        hit = any(f.check == want for f in v.findings)
        tp[entry["category"]][1] += 1
        if hit:
            tp[entry["category"]][0] += 1
        else:
            misses.append(entry)
    fp = [0, 0]
    byCat: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    fps = []
    for entry, v in verdicts(sensitivity, exclusions, load("benign.jsonl")):
        fp[1] += 1
        byCat[entry["category"]][1] += 1
        if v.findings:
            fp[0] += 1
            byCat[entry["category"]][0] += 1
            fps.append((entry, [f"{f.check}.{f.rule}" for f in v.findings]))
    return Rates(
        tpr={k: (a, b) for k, (a, b) in tp.items()},
        fpr=(fp[0], fp[1]),
        fprByCategory={k: (a, b) for k, (a, b) in byCat.items()},
        misses=misses,
        falsePositives=fps,
    )
