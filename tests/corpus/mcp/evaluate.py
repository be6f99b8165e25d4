"""
Detection of instructions aimed at a model, measured on the MCP corpora:
prompt injection in tool results (C{prompt_injection.jsonl}) and tool
poisoning (C{tool_poisoning.jsonl}), per split (C{tune}: what the rules
were tuned and the learned model trained on; C{holdout}: kept apart;
C{fresh}: the independent holdout of C{fresh/}; C{third}: the third holdout
of C{external/}, built on this machine from public snapshots and checked
against its committed manifest) and sensitivity, with the rules and the
learned model together (the proxy's judgement) or the rules alone
(C{--rules-only}).

    python -m tests.corpus.mcp.evaluate [--verbose] [--split tune|holdout|fresh|third] [--rules-only]
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Iterator

import attrs

from akto_proxy.inspect.checks.instructions import INJECTION, POISONING, Scorer

HERE = os.path.dirname(os.path.abspath(__file__))


def entries(name: str) -> Iterator[dict[str, Any]]:
    path = os.path.join(HERE, name)
    for folder in ("fresh", os.path.join("external", "data")):
        if not os.path.exists(path):
            path = os.path.join(HERE, folder, name)
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def checkManifest(name: str) -> None:
    """
    Refuse a third holdout that is not the one recorded, before it was
    scored, in C{external/MANIFEST.tsv} (same ids, labels and texts).
    """
    from tests.corpus.mcp.external.build import MANIFEST, digest

    with open(MANIFEST, encoding="utf-8") as f:
        recorded = {row[0]: (row[1], row[2]) for row in (line.rstrip("\n").split("\t") for line in list(f)[1:])}
    prefix = "t3tp-" if name.startswith("tool_poisoning") else "t3pi-"
    found = {e["id"]: (e["label"], digest(e)) for e in entries(name)}
    wanted = {k: v for k, v in recorded.items() if k.startswith(prefix)}
    if found != wanted:
        raise SystemExit(f"{name}: not the third holdout of external/MANIFEST.tsv ({len(found)} texts, {len(wanted)} recorded); build it with python -m tests.corpus.mcp.external.build")


def toolText(tool: dict[str, Any]) -> str:
    from akto_proxy.mcp.protections import describedStrings

    return "\n".join(s for _, s in describedStrings(tool))


@attrs.frozen
class Result:
    corpus: str
    split: str
    sensitivity: str
    caught: int
    attacks: int
    flagged: int
    benign: int
    misses: tuple[dict[str, Any], ...] = ()
    falsePositives: tuple[tuple[dict[str, Any], tuple[str, ...]], ...] = ()

    @property
    def tpr(self) -> float:
        return self.caught / self.attacks if self.attacks else 0.0

    @property
    def fpr(self) -> float:
        return self.flagged / self.benign if self.benign else 0.0


def measure(corpus: str, split: str, sensitivity: str, rulesOnly: bool = False) -> Result:
    """
    TPR and FPR of the scorer the proxy uses for C{corpus} at
    C{sensitivity}, on the entries of C{split}.
    """
    weights = INJECTION if corpus == "prompt_injection" else POISONING
    text = (lambda e: e["text"]) if corpus == "prompt_injection" else (lambda e: toolText(e["tool"]))
    scorer = Scorer(weights, model=None) if rulesOnly else Scorer(weights)
    threshold = scorer.threshold(sensitivity)
    caught = attacks = flagged = benign = 0
    misses: list[dict[str, Any]] = []
    fps: list[tuple[dict[str, Any], tuple[str, ...]]] = []
    name = f"{corpus}_{split}.jsonl" if split in ("fresh", "third") else f"{corpus}.jsonl"
    if split == "third":
        checkManifest(name)
    for e in entries(name):
        if e["split"] != split:
            continue
        judged = scorer.score(text(e))
        hit = judged.over(threshold)
        if e["label"] == "attack":
            attacks += 1
            caught += hit
            if not hit:
                misses.append(dict(e, score=judged.score, probability=judged.probability, found=judged.signals))
        else:
            benign += 1
            flagged += hit
            if hit:
                fps.append((dict(e, score=judged.score, probability=judged.probability), judged.reasons(threshold)))
    return Result(corpus, split, sensitivity, caught, attacks, flagged, benign, tuple(misses), tuple(fps))


def main(argv: list[str]) -> int:
    verbose = "--verbose" in argv or "-v" in argv
    rulesOnly = "--rules-only" in argv
    splits = [argv[argv.index("--split") + 1]] if "--split" in argv else ["tune", "holdout"]
    print(f"{'corpus':<17} {'split':<8} {'sensitivity':<11} {'TPR':>18} {'FPR':>16}")
    for corpus in ("tool_poisoning", "prompt_injection"):
        for split in splits:
            for sensitivity in ("low", "medium", "high"):
                r = measure(corpus, split, sensitivity, rulesOnly)
                if not r.attacks:
                    continue
                print(f"{corpus:<17} {split:<8} {sensitivity:<11} {100 * r.tpr:6.1f}% ({r.caught}/{r.attacks}) {100 * r.fpr:5.1f}% ({r.flagged}/{r.benign})")
                if verbose and sensitivity == "medium":
                    for e in r.misses:
                        body = e.get("text") or toolText(e["tool"])
                        print(f"   MISS {e['id']} {e['score']:.1f} p={e['probability']:.2f} {e['found']} {body[:150]!r}")
                    for e, signals in r.falsePositives:
                        body = e.get("text") or toolText(e["tool"])
                        print(f"   FP   {e['id']} {e['score']:.1f} p={e['probability']:.2f} {signals} {body[:150]!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
