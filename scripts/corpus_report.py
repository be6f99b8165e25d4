"""
TPR per attack category and FPR on benign agent traffic, per sensitivity,
with and without the sample exclusions.  Usage:

    python scripts/corpus_report.py [--verbose]
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.corpus.evaluate import measure  # noqa: E402


def pct(a: int, b: int) -> str:
    return f"{100.0 * a / b:6.2f}%" if b else "   n/a"


def main(argv: list[str]) -> int:
    verbose = "--verbose" in argv or "-v" in argv
    cats = ("sql_injection", "command_injection", "path_traversal", "data_exfiltration")
    header = f"{'sensitivity':<11} {'exclusions':<10} " + " ".join(f"{c[:14]:>14}" for c in cats) + f" {'FPR':>14}"
    print("TPR per attack category, FPR on benign traffic")
    print(header)
    print("-" * len(header))
    for sensitivity in ("low", "medium", "high"):
        for exclusions in (True, False):
            r = measure(sensitivity, exclusions)
            cells = " ".join(f"{pct(*r.tpr[c]):>14}" for c in cats)
            fpr = f"{pct(*r.fpr)} ({r.fpr[0]}/{r.fpr[1]})"
            print(f"{sensitivity:<11} {'sample' if exclusions else 'none':<10} {cells} {fpr:>14}")
            if verbose:
                for e in r.misses:
                    print(f"    MISS {e['category']}: {e['text'][:100]!r}")
                for e, rules in r.falsePositives:
                    print(f"    FP   {e['category']} {e['tool']}.{e['argument']}: {e['text'][:80]!r} -> {rules}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
