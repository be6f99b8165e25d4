"""
Measure the secrets, PII and bulk corpus (C{build_exfil.py}) through the
threat checks: TPR per subcategory and FPR on the hard benign set, tune and
held-out splits side by side, at each sensitivity, with the sample
exclusions (those of C{tests/corpus/evaluate.py} plus the per-tool exclusion
an operator writes for a CRM tool's own contacts) and without.

    PYTHONPATH=. python tests/corpus/classic/measure_exfil.py [--misses [--split tune|holdout|fresh|fourth|fifth|sixth|seventh]] [--sensitivity medium]

C{--misses} lists the misses and false positives of the tune split, or of
C{--split}: the held-out and fresh splits were unsealed in session 14,
the fourth in session 15, the fifth in session 16, the sixth in session 17,
the seventh in session 18 (tests/corpus/classic/README.md, "Unsealed"); the
sealed eighth split (C{eighth/}, build_eighth.py) is counted, never shown.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from typing import Any, Iterator

import attrs

from akto_proxy.inspect.chain import Verdict
from akto_proxy.inspect.checks import buildInspectors
from tests.corpus import evaluate

HERE = os.path.dirname(os.path.abspath(__file__))
ATTACKS = ("secrets.attacks.jsonl", "pii.attacks.jsonl", "bulk.attacks.jsonl", "secrets_more.attacks.jsonl", "secrets_forms.attacks.jsonl", "secrets_s11.attacks.jsonl", "pii_s11.attacks.jsonl", "secrets_s12.attacks.jsonl", "secrets_s13.attacks.jsonl", "secrets_s15.attacks.jsonl", "secrets_s15b.attacks.jsonl", "pii_s15.attacks.jsonl",
           "fresh/secrets.attacks.jsonl", "fresh/pii.attacks.jsonl", "fourth/secrets.attacks.jsonl", "fourth/pii.attacks.jsonl",
           "fifth/secrets.attacks.jsonl", "fifth/pii.attacks.jsonl", "sixth/secrets.attacks.jsonl", "sixth/pii.attacks.jsonl",
           "seventh/secrets.attacks.jsonl", "seventh/pii.attacks.jsonl", "eighth/secrets.attacks.jsonl", "eighth/pii.attacks.jsonl")
BENIGN = ("secrets.benign.jsonl", "pii.benign.jsonl", "secrets_more.benign.jsonl", "secrets_forms.benign.jsonl", "secrets_s11.benign.jsonl", "pii_s11.benign.jsonl", "pii_s15.benign.jsonl", "secrets_s12.benign.jsonl", "secrets_s13.benign.jsonl", "secrets_s15.benign.jsonl", "secrets_s15b.benign.jsonl",
          "fresh/secrets.benign.jsonl", "fourth/secrets.benign.jsonl", "fifth/secrets.benign.jsonl", "sixth/secrets.benign.jsonl",
          "seventh/secrets.benign.jsonl", "eighth/secrets.benign.jsonl")
SPLITS = evaluate.SPLITS
UNSEALED = evaluate.UNSEALED
#: parts built by build_fresh.py, build_fourth.py, build_fifth.py, build_sixth.py, build_seventh.py, build_eighth.py and
#: build_secrets_more.py
#: from public snapshots and kept out of the repository: measured where
#: they exist
LOCAL = frozenset(("secrets_more.attacks.jsonl", "secrets_more.benign.jsonl", "fresh/secrets.attacks.jsonl",
                   "fresh/pii.attacks.jsonl", "fresh/secrets.benign.jsonl", "fourth/secrets.attacks.jsonl",
                   "fourth/pii.attacks.jsonl", "fourth/secrets.benign.jsonl", "fifth/secrets.attacks.jsonl",
                   "fifth/pii.attacks.jsonl", "fifth/secrets.benign.jsonl", "sixth/secrets.attacks.jsonl",
                   "sixth/pii.attacks.jsonl", "sixth/secrets.benign.jsonl", "seventh/secrets.attacks.jsonl",
                   "seventh/pii.attacks.jsonl", "seventh/secrets.benign.jsonl", "eighth/secrets.attacks.jsonl",
                   "eighth/pii.attacks.jsonl", "eighth/secrets.benign.jsonl"))

#: the sample exclusions (tests/corpus/evaluate.py) allow a CRM tool its own
#: contacts (tools named crm_*)


def load(names: tuple[str, ...]) -> list[dict[str, str]]:
    out = []
    for name in names:
        if name in LOCAL and not os.path.exists(os.path.join(HERE, name)):
            continue  # built from public snapshots on the machine that has them
        with open(os.path.join(HERE, name), encoding="utf-8") as f:
            out.extend(json.loads(line) for line in f if line.strip())
    return out


config = evaluate.config


def verdicts(sensitivity: str, exclusions: bool, entries: list[dict[str, str]]) -> Iterator[tuple[dict[str, str], Verdict]]:
    step = buildInspectors(config(sensitivity, exclusions))[0]
    for entry in entries:
        v = step.inspect(evaluate.message(entry))
        assert isinstance(v, Verdict)
        yield entry, v


@attrs.frozen
class Rates:
    tpr: dict[tuple[str, str], tuple[int, int]]  # (subcategory, split) -> (detected, total)
    fpr: dict[str, tuple[int, int]]  # split -> (flagged, total)
    misses: list[dict[str, str]]
    falsePositives: list[tuple[dict[str, str], list[str]]]


def measure(sensitivity: str, exclusions: bool) -> Rates:
    tp: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    misses = []
    for entry, v in verdicts(sensitivity, exclusions, load(ATTACKS)):
        key = (entry["subcategory"], entry["split"])
        tp[key][1] += 1
        if any(f.check == "data_exfiltration" for f in v.findings):
            tp[key][0] += 1
        else:
            misses.append(entry)
    fp: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    fps = []
    for entry, v in verdicts(sensitivity, exclusions, load(BENIGN)):
        fp[entry["split"]][1] += 1
        if v.findings:
            fp[entry["split"]][0] += 1
            fps.append((entry, [f"{f.check}.{f.rule}" for f in v.findings]))
    return Rates({k: (a, b) for k, (a, b) in tp.items()}, {k: (a, b) for k, (a, b) in fp.items()}, misses, fps)


def pct(pair: tuple[int, int]) -> str:
    a, b = pair
    if not b:
        return "-"
    return f"{100 * a / b:.1f}%" if a != b else "100%"


def table(levels: tuple[str, ...] = ("low", "medium", "high")) -> list[str]:
    lines = [
        "| sensitivity | exclusions | split | secrets | pii | bulk | FPR |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for level in levels:
        for exclusions in (True, False):
            r = measure(level, exclusions)
            for s in SPLITS:
                cells = [pct(r.tpr.get((sub, s), (0, 0))) for sub in ("secrets", "pii", "bulk")]
                lines.append(f"| {level} | {'sample' if exclusions else 'none'} | {s} | " + " | ".join(cells) + f" | {pct(r.fpr.get(s, (0, 0)))} |")
    return lines


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--misses", action="store_true", help="list the misses and false positives of --split")
    parser.add_argument("--split", choices=UNSEALED, default="tune", help="the part --misses lists (never the sealed eighth)")
    parser.add_argument("--sensitivity", default=None)
    args = parser.parse_args(argv)
    levels = (args.sensitivity,) if args.sensitivity else ("low", "medium", "high")
    print("\n".join(table(levels)))
    if args.misses:
        r = measure(args.sensitivity or "medium", True)
        for e in r.misses:
            if e["split"] == args.split:
                print("MISS", e["subcategory"], e["family"], e["direction"], e["tool"], e["argument"], json.dumps(e["text"][:200]))
        for e, rules in r.falsePositives:
            if e["split"] == args.split:
                print("FP", rules, e["family"], e["direction"], e["tool"], e["argument"], json.dumps(e["text"][:200]))


if __name__ == "__main__":
    main(sys.argv[1:])
