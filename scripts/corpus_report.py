"""
TPR per attack category and FPR on benign agent traffic, per sensitivity,
with and without the sample exclusions, on the tuning part of the corpus and
on the held-out part side by side (tests/corpus/README.md).  Usage:

    python scripts/corpus_report.py [--verbose [--split tune|holdout|fresh|fourth]] [--sensitivity S]

C{--verbose} lists the misses and false positives of the C{tune} part
unless C{--split} asks for another.  Reading a part's misses while tuning
makes it a tuning set: C{holdout} and C{fresh} were unsealed in session 14
(tests/corpus/classic/README.md, "Unsealed"), after the C{fourth} part was
built and scored; C{fourth} in session 15, after C{fifth}; C{fifth} in
session 16, after C{sixth}; C{sixth} in session 17, after C{seventh};
C{seventh} in session 18, after C{eighth}.  The sealed C{eighth} (session
18) is never listed (a part whose files are not built here prints n/a).
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.corpus.evaluate import CHECK_OF, SPLITS, UNSEALED, Rates, measure  # noqa: E402

SHORT = {
    "sql_injection": "sqli",
    "command_injection": "cmdi",
    "path_traversal": "path",
    "data_exfiltration": "exfil",
    "secrets": "secrets",
    "pii": "pii",
}


def pct(a: int, b: int) -> str:
    return f"{100.0 * a / b:.2f}%" if b else "n/a"


def cell(rates: dict[str, Rates], pick: "object") -> str:
    return " | ".join(pct(*pick(rates[s])) for s in SPLITS)  # type: ignore[operator]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--verbose", "-v", action="store_true")
    ap.add_argument("--split", choices=UNSEALED, default="tune", help="the part --verbose lists (never the sealed eighth)")
    ap.add_argument("--sensitivity", choices=("low", "medium", "high"), action="append")
    args = ap.parse_args(argv)
    print("TPR per attack category and FPR on benign traffic, each cell: " + " | ".join(SPLITS))
    rows = []
    cats: list[str] = []
    for sensitivity in args.sensitivity or ("low", "medium", "high"):
        for exclusions in (True, False):
            rates = {s: measure(sensitivity, exclusions, split=s) for s in SPLITS}
            for r in rates.values():
                cats.extend(c for c in r.tpr if c not in cats)
            rows.append((sensitivity, exclusions, rates))
    cats.sort(key=lambda c: list(CHECK_OF).index(c) if c in CHECK_OF else 99)
    header = ["sensitivity", "exclusions"] + [SHORT.get(c, c) for c in cats] + ["FPR"]
    table = []
    for sensitivity, exclusions, rates in rows:
        cells = [cell(rates, lambda r, c=c: r.tpr.get(c, (0, 0))) for c in cats]
        fpr = " | ".join(f"{pct(*rates[s].fpr)} ({rates[s].fpr[0]}/{rates[s].fpr[1]})" for s in SPLITS)
        table.append([sensitivity, "sample" if exclusions else "none"] + cells + [fpr])
    widths = [max(len(x) for x in col) for col in zip(header, *table)]
    line = lambda row: "  ".join(x.ljust(w) for x, w in zip(row, widths))  # noqa: E731
    print(line(header))
    print("-" * len(line(header)))
    for row in table:
        print(line(row))
    print(f"\nFPR per benign group at medium, sample exclusions ({' | '.join(SPLITS)}):")
    for sensitivity, exclusions, rates in rows:
        if sensitivity == "medium" and exclusions:
            groups = sorted(set().union(*(rates[s].fprByCategory for s in SPLITS)))
            for g in groups:
                print(f"  {g:<32} " + " | ".join(f"{pct(*rates[s].fprByCategory.get(g, (0, 0)))} ({rates[s].fprByCategory.get(g, (0, 0))[1]})" for s in SPLITS))
    if args.verbose:
        for sensitivity, exclusions, rates in rows:
            r = rates[args.split]
            print(f"\n{args.split} {sensitivity} {'sample' if exclusions else 'none'}:")
            for e in r.misses:
                print(f"    MISS {e['category']} {e['tool']}.{e['argument']}: {e['text'][:110]!r}")
            for e, found in r.falsePositives:
                print(f"    FP   {e['category']} {e['tool']}.{e['argument']}: {e['text'][:90]!r} -> {found}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
