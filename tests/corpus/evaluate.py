"""
Run the labelled corpus through the threat checks and count.

Two generations of corpus share one format, one JSON object per line:
C{{"category", "label", "tool", "argument", "text", "direction", "source"}}
and, in C{classic/}, a C{"split"}:

    - C{attacks.jsonl}, C{benign.jsonl}: the first corpus, written beside
      the rules; all of it counts as C{tune}.
    - C{classic/<category>.<attacks|benign>.jsonl}: the second, built from
      public sources and generators (C{classic/README.md} says how, and how
      the split was drawn), each line C{tune} or C{holdout}.
    - C{classic/fresh/*.jsonl}: the third part, every line C{fresh}, from
      public sources none of the others drew on, committed before it was
      first scored (C{classic/build_fresh.py}).
    - C{classic/fourth/*.jsonl}: the fourth part, every line C{fourth}, from
      sources of kinds no other part used, committed before it was scored
      once (C{classic/build_fourth.py}); sealed since session 14.
    - C{classic/fifth/*.jsonl}: the fifth part, every line C{fifth}, from
      repositories none of the others drew on, committed before it was
      scored once (C{classic/build_fifth.py}, session 15); sealed until
      session 16.
    - C{classic/sixth/*.jsonl}: the sixth part, every line C{sixth}, from
      repositories none of the others drew on or named, committed before
      it was scored once (C{classic/build_sixth.py}, session 16); sealed
      until session 17.
    - C{classic/seventh/*.jsonl}: the seventh part, every line C{seventh},
      from repositories none of the others drew on or named, committed
      before it was scored once (C{classic/build_seventh.py}, session 17);
      sealed until session 18.
    - C{classic/eighth/*.jsonl}: the eighth part, every line C{eighth},
      from repositories none of the others drew on or named, committed
      before it was scored once (C{classic/build_eighth.py}, session 18);
      sealed, built so that C{seventh} can be unsealed.

A split is C{tune} (what the rules were tuned on), C{holdout} (kept apart,
but measured while tuning), C{fresh} (kept apart and scored only after it
was committed), C{fourth}, C{fifth}, C{sixth}, C{seventh} (unsealed in
sessions 15 to 18) or C{eighth} (sealed: its rates are printed, never its
lines); C{None} takes all.
"""

from __future__ import annotations

import glob
import json
import os
from collections import defaultdict
from typing import Any, Iterable, Iterator, Optional

import attrs

from akto_proxy.config.loader import parseConfig
from akto_proxy.inspect.chain import Verdict
from akto_proxy.inspect.checks import buildInspectors
from akto_proxy.inspect.message import Message
from akto_proxy.relay.url import Target

HERE = os.path.dirname(os.path.abspath(__file__))
CLASSIC = os.path.join(HERE, "classic")
TARGET = Target("https", "mcp.example.com", 443, b"/mcp")
# attack category -> the check that must find it
CHECK_OF = {
    "sql_injection": "sql_injection",
    "command_injection": "command_injection",
    "path_traversal": "path_traversal",
    "data_exfiltration": "data_exfiltration",
    "secrets": "data_exfiltration",
    "pii": "data_exfiltration",
}
SPLITS = ("tune", "holdout", "fresh", "fourth", "fifth", "sixth", "seventh", "eighth")
#: the parts whose misses may be read while tuning: the second and third
#: held-out parts were unsealed in session 14, once the fourth was built
#: and scored; the fourth in session 15, once the fifth was built and
#: scored; the fifth in session 16, once the sixth was built and scored;
#: the sixth in session 17, once the seventh was built and scored; the
#: seventh in session 18, once the eighth was built and scored.  The eighth
#: stays sealed (its rates only) until a ninth is in place.
UNSEALED = SPLITS[:7]
#: parts built where the public snapshots are, absent elsewhere
LOCAL_PARTS = ("fresh", "fourth", "fifth", "sixth", "seventh", "eighth")

# The exclusions a sample configuration ships with: a database tool's SQL,
# a coding agent's shell command and the files it writes; a CRM tool's own
# contacts (tools named crm_*).
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
    - tool: create_gist
      argument: content
      checks: [sql_injection, command_injection]
    - tool: "crm_*"
      checks: [data_exfiltration]
"""

Entry = dict[str, str]


def load(name: str) -> list[Entry]:
    """
    The entries of one file, C{name} relative to C{tests/corpus}.
    """
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def classicFiles() -> list[str]:
    """
    The files of the second corpus, relative to C{tests/corpus}.
    """
    paths = glob.glob(os.path.join(CLASSIC, "*.jsonl"))
    for part in LOCAL_PARTS:  # built where the public snapshots are
        paths += glob.glob(os.path.join(CLASSIC, part, "*.jsonl"))
    return sorted(os.path.relpath(p, HERE) for p in paths)


def entries(split: Optional[str] = None, label: Optional[str] = None) -> list[Entry]:
    """
    Every corpus entry of C{split} (C{None}: all) and C{label}
    (C{"attack"}, C{"benign"}, C{None}: both).  The first corpus is C{tune}.
    """
    out: list[Entry] = []
    if split in (None, "tune"):
        for name in ("attacks.jsonl", "benign.jsonl"):
            out.extend(dict(e, split="tune") for e in load(name))
    for name in classicFiles():
        out.extend(e for e in load(name) if split is None or e["split"] == split)
    return [e for e in out if label is None or e["label"] == label]


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


def message(entry: Entry) -> Message:
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


def verdicts(sensitivity: str, exclusions: bool, items: Iterable[Entry]) -> Iterator[tuple[Entry, Verdict]]:
    steps = buildInspectors(config(sensitivity, exclusions))
    for entry in items:
        v = steps[0].inspect(message(entry))
        assert isinstance(v, Verdict)
        yield entry, v


@attrs.frozen
class Rates:
    tpr: dict[str, tuple[int, int]]  # category -> (detected, total)
    fpr: tuple[int, int]  # (flagged, total)
    fprByCategory: dict[str, tuple[int, int]]
    misses: list[Entry]
    falsePositives: list[tuple[Entry, list[str]]]

    def rate(self, category: str) -> float:
        hit, total = self.tpr.get(category, (0, 0))
        return hit / total if total else 1.0

    def fprRate(self, category: Optional[str] = None) -> float:
        flagged, total = self.fpr if category is None else self.fprByCategory.get(category, (0, 0))
        return flagged / total if total else 0.0


def benignGroup(entry: Entry) -> str:
    """
    The attack class a benign entry stands beside: its file's category in
    C{classic/}, or the first corpus's own category.
    """
    return entry["category"]


def measure(sensitivity: str, exclusions: bool, split: Optional[str] = "tune", items: Optional[list[Entry]] = None) -> Rates:
    """
    TPR per attack category and FPR on benign entries of C{split} (or on
    C{items}).  An attack counts when its category's check finds it; a
    benign entry is a false positive when any check finds anything.
    """
    if items is None:
        items = entries(split)
    tp: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    misses = []
    fp = [0, 0]
    byCat: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    fps = []
    for entry, v in verdicts(sensitivity, exclusions, items):
        category = entry["category"]
        if entry["label"] == "attack":
            want = CHECK_OF[category]
            tp[category][1] += 1
            if any(f.check == want for f in v.findings):
                tp[category][0] += 1
            else:
                misses.append(entry)
            continue
        group = benignGroup(entry)
        fp[1] += 1
        byCat[group][1] += 1
        if v.findings:
            fp[0] += 1
            byCat[group][0] += 1
            fps.append((entry, [f"{f.check}.{f.rule}" for f in v.findings]))
    return Rates(
        tpr={k: (a, b) for k, (a, b) in tp.items()},
        fpr=(fp[0], fp[1]),
        fprByCategory={k: (a, b) for k, (a, b) in byCat.items()},
        misses=misses,
        falsePositives=fps,
    )
