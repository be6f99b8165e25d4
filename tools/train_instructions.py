"""
Train the learned second opinion on instructions aimed at a model
(L{akto_proxy.inspect.checks.learned}) on the TUNE split of the MCP corpora
only, choose its settings and thresholds by cross-validation inside the
tune split, and write C{akto_proxy/inspect/checks/instructions_model.json}.

    pip install -e '.[train]'              # scikit-learn: training only
    python tools/train_instructions.py     # grid, thresholds, model file
    python tools/train_instructions.py --final   # the chosen settings only
    python tools/train_instructions.py --extra   # also the InjecAgent texts of
                                                 # tests/corpus/mcp/external (built
                                                 # there; not shipped: TUNING.md)

Folds are grouped by near-duplicate clusters (texts sharing much of their
wording: one carrier with different payloads, one payload in different
carriers), so that a text is never judged by a model that saw its twin.

The rule signals (L{instructions.SIGNALS}) were written while reading the
tune texts: they fire on nearly every tune attack and on no tune benign
text, and on about half of unseen attacks.  A model given them as features
would lean on them and learn little from the words.  So the settings are
chosen on a simulation of unseen wording: half of the attacks (by a stable
hash) are judged without their signals and as if the rules had not
flagged them; thresholds are set so that the rules and the model together
flag no more benign tune texts (out of fold) than L{FPR_BUDGET}.

Nothing here reads the holdout split, the fresh holdout or the third holdout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from collections import defaultdict
from typing import Any, Optional, Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402
from scipy import sparse  # noqa: E402
from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from akto_proxy.inspect.checks import learned  # noqa: E402
from akto_proxy.inspect.checks.instructions import INJECTION, POISONING, Scorer, withoutSpans  # noqa: E402
from tests.corpus.mcp.evaluate import entries, toolText  # noqa: E402

SEED = 20260501
FOLDS = 5
SENSITIVITIES = ("low", "medium", "high")
#: the share of benign tune texts the rules and the model together may
#: flag out of fold, per sensitivity: below the targets (poisoning 1%,
#: injection 2% at medium), for the margin unseen text needs
FPR_BUDGET = {
    "poisoning": {"low": 0.0025, "medium": 0.005, "high": 0.015},
    "injection": {"low": 0.005, "medium": 0.01, "high": 0.03},
}
WEIGHTS = {"poisoning": POISONING, "injection": INJECTION}


class Item:
    def __init__(self, ident: str, text: str, label: int, signals: tuple[str, ...], score: float, twin: Optional["Item"] = None):
        self.ident = ident
        self.text = text
        self.label = label
        self.signals = signals
        self.score = score
        self.features = learned.features(text)
        self.words = learned.tokens(text)
        self.twin = twin


def load(kind: str, split: str = "tune") -> list[Item]:
    """
    The texts of C{split}: C{tune} (the corpora of tests/corpus/mcp) or
    C{train} (the extra training texts of tests/corpus/mcp/external, built
    on this machine: L{tests.corpus.mcp.external.build}).
    """
    if kind == "injection":
        name, text = "prompt_injection.jsonl", (lambda e: e["text"])
    else:
        name, text = "tool_poisoning.jsonl", (lambda e: toolText(e["tool"]))
    if split == "train":
        name = os.path.join(ROOT, "tests", "corpus", "mcp", "external", "data", "train_" + name)
        if not os.path.exists(name):
            raise SystemExit(f"{name} is missing: python -m tests.corpus.mcp.external.build")
    scorer = Scorer(WEIGHTS[kind], model=None)
    out = []
    for e in entries(name):
        if e["split"] != split:
            continue
        label = int(e["label"] == "attack")
        judged = scorer.score(text(e), wantSpans=bool(label))
        twin = None
        # the extra texts come with their honest carriers (the same tool
        # or tool result without the payload): no twin from the rules'
        # spans, which would keep the payload where no signal shows
        if label and judged.spans and split != "train":
            # the attack without the sentences its signals are in, and
            # without what was hidden: its carrier, an honest text
            rest = withoutSpans(judged.revealed.text, judged.spans)
            if rest != judged.revealed.text and len(learned.tokens(rest)) >= 4 and not scorer.score(rest).signals:
                twin = Item(e["id"] + "~twin", rest, 0, (), 0.0)
        out.append(Item(e["id"], learned.modelText(judged.revealed), label, judged.signals, judged.score, twin))
    return out


def groups(items: Sequence[Item], k: int = 6, share: float = 0.3) -> list[int]:
    """
    Cluster ids: texts sharing at least C{share} of the k-word shingles of
    the smaller one are in one cluster (union-find).
    """
    shingles = [
        {hashlib.blake2b(" ".join(it.words[i : i + k]).encode(), digest_size=8).digest() for i in range(max(1, len(it.words) - k + 1))}
        for it in items
    ]
    index: dict[bytes, list[int]] = defaultdict(list)
    for d, s in enumerate(shingles):
        for h in s:
            index[h].append(d)
    parent = list(range(len(items)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for d, s in enumerate(shingles):
        shared: dict[int, int] = defaultdict(int)
        for h in s:
            docs = index[h]
            if len(docs) > 200:
                continue
            for o in docs:
                if o > d:
                    shared[o] += 1
        for o, n in shared.items():
            if n >= share * min(len(s), len(shingles[o])):
                parent[find(d)] = find(o)
    return [find(d) for d in range(len(items))]


def stable(s: str) -> int:
    return int(hashlib.sha256(f"{SEED}:{s}".encode()).hexdigest()[:12], 16)


def folds(items: Sequence[Item], clusters: Sequence[int]) -> list[int]:
    """
    A fold per item: clusters dealt to folds, largest first, each to the
    fold with fewest texts of its label (ties by a stable hash).
    """
    members: dict[int, list[int]] = defaultdict(list)
    for i, c in enumerate(clusters):
        members[c].append(i)
    order = sorted(members, key=lambda c: (-len(members[c]), stable(min(items[i].ident for i in members[c]))))
    load_ = [[0, 0] for _ in range(FOLDS)]
    fold = [0] * len(items)
    for c in order:
        label = int(sum(items[i].label for i in members[c]) * 2 >= len(members[c]))
        f = min(range(FOLDS), key=lambda f: (load_[f][label], f))
        for i in members[c]:
            fold[i] = f
            load_[f][items[i].label] += 1
    return fold


def missing(it: Item) -> bool:
    """
    Whether the simulation of unseen wording takes the rule signals of
    C{it} away: half of the attacks, by a stable hash.
    """
    return bool(it.label) and stable(it.ident) % 2 == 0


def fit(items: Sequence[Item], c: float, signals: str, minDf: int, twins: bool = False, extraWeight: float = 1.0, extraAttacks: bool = True) -> dict[str, Any]:
    """
    The stored form of a model fitted on C{items}.  C{signals}: C{none}
    (words only), C{dropout} (every text twice, with and without its rule
    signals, at half weight), C{full}.  With C{twins}, the honest twin of
    each attack (its carrier, L{load}) is a benign text too: what makes
    the attack is then its payload, not the topic of its carrier (written
    attacks favour weather and calculator tools, e-mails, ...).  The extra
    training texts (ids C{x...}) weigh C{extraWeight} each; without
    C{extraAttacks}, only their benign texts are used.
    """
    if not extraAttacks:
        items = [it for it in items if not (it.label and it.ident.startswith("x"))]
    if twins:
        items = list(items) + [it.twin for it in items if it.twin is not None]
    vectorizer = TfidfVectorizer(analyzer=lambda it: it.features, binary=True, norm="l2", use_idf=True, smooth_idf=True, min_df=minDf, dtype=np.float64)
    x = vectorizer.fit_transform(items)
    y = np.array([it.label for it in items])
    w = np.array([extraWeight if it.ident.startswith("x") else 1.0 for it in items])
    names = sorted({s for it in items for s in it.signals}) if signals != "none" else []
    if names:
        index = {s: j for j, s in enumerate(names)}

        def signalMatrix(keep: bool) -> Any:
            rows, cols = [], []
            for r, it in enumerate(items):
                for s in set(it.signals) if keep else ():
                    rows.append(r)
                    cols.append(index[s])
            return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(items), len(names)))

        with_ = sparse.hstack([x, signalMatrix(True)]).tocsr()
        if signals == "dropout":
            x = sparse.vstack([with_, sparse.hstack([x, signalMatrix(False)]).tocsr()]).tocsr()
            y = np.concatenate([y, y])
            w = np.concatenate([w, w]) / 2
        else:
            x = with_
    # balanced classes
    pos, neg = w[y == 1].sum(), w[y == 0].sum()
    w = np.where(y == 1, w * len(y) / (2 * pos), w * len(y) / (2 * neg))
    clf = LogisticRegression(C=c, solver="liblinear", max_iter=2000, random_state=SEED)
    clf.fit(x, y, sample_weight=w)
    coef = clf.coef_[0]
    vocab = vectorizer.vocabulary_
    n = len(vocab)
    idf = vectorizer.idf_
    return {
        "bias": round(float(clf.intercept_[0]), 5),
        "minWords": 3,
        "idf": {f: round(float(idf[j]), 4) for f, j in sorted(vocab.items())},
        "weights": {f: round(float(coef[j]), 5) for f, j in sorted(vocab.items()) if abs(coef[j]) >= 1e-5},
        "signals": {s: round(float(coef[n + j]), 5) for j, s in enumerate(names)},
        "thresholds": [],
    }


def outOfFold(items: Sequence[Item], fold: Sequence[int], **params: Any) -> tuple[list[float], list[float]]:
    """
    Out-of-fold probabilities of C{items} followed by the honest twins of
    their attacks (L{withTwins}), and the same with the signals of half the
    attacks taken away (L{missing}).
    """
    every, folds_ = withTwins(items, fold)
    probs = [0.0] * len(every)
    simulated = [0.0] * len(every)
    for f in range(FOLDS):
        model = learned.fromDict(fit([it for it, g in zip(items, fold) if g != f], **params))
        for i, (it, g) in enumerate(zip(every, folds_)):
            if g == f:
                probs[i] = model.probability(it.text, it.signals)
                simulated[i] = model.probability(it.text, () if missing(it) else it.signals)
    return probs, simulated


def withTwins(items: Sequence[Item], fold: Sequence[int]) -> tuple[list[Item], list[int]]:
    """
    C{items} and the honest twins of their attacks (benign texts, in the
    fold of their attack): judged out of fold with the benign texts, so
    that a model that flags a carrier for its topic pays for it.
    """
    every = list(items) + [it.twin for it in items if it.twin is not None]
    folds_ = list(fold) + [g for it, g in zip(items, fold) if it.twin is not None]
    return every, folds_


def ruleFlags(kind: str, items: Sequence[Item], sensitivity: str, simulated: bool) -> list[bool]:
    t = WEIGHTS[kind].threshold(sensitivity)
    return [it.score >= t and not (simulated and missing(it)) for it in items]


def fprs(flags: Sequence[bool], items: Sequence[Item]) -> str:
    real = [f for f, it in zip(flags, items) if not it.label and not it.ident.endswith("~twin")]
    twins = [f for f, it in zip(flags, items) if it.ident.endswith("~twin")]
    return f"benign {100 * sum(real) / len(real):.2f}% ({sum(real)}/{len(real)}), twins {100 * sum(twins) / max(1, len(twins)):.2f}% ({sum(twins)}/{len(twins)})"


def thresholdFor(probs: Sequence[float], items: Sequence[Item], rules: Sequence[bool], fpr: float) -> float:
    """
    The lowest probability at which the rules and the model together flag
    no more than C{fpr} of the benign texts: of the tune texts (and their
    twins) and, apart, of the extra training texts (ids C{x...}), whose
    benign texts are easier (templated): the stricter of the two.
    """
    extra = [it.ident.startswith("x") for it in items]
    if any(extra) and not all(extra):
        return max(
            _thresholdFor([p for p, e in zip(probs, extra) if e is part], [it for it, e in zip(items, extra) if e is part], [r for r, e in zip(rules, extra) if e is part], fpr)
            for part in (True, False)
        )
    return _thresholdFor(probs, items, rules, fpr)


def _thresholdFor(probs: Sequence[float], items: Sequence[Item], rules: Sequence[bool], fpr: float) -> float:
    benign = [p for p, it, r in zip(probs, items, rules) if not it.label]
    spent = sum(1 for it, r in zip(items, rules) if not it.label and r)
    allowed = int(math.floor(fpr * len(benign))) - spent
    if allowed < 0:
        return 1.0
    free = sorted((p for p, it, r in zip(probs, items, rules) if not it.label and not r), reverse=True)
    cut = free[allowed] if allowed < len(free) else 0.0
    return min(1.0, math.nextafter(cut, 1.0))


def rates(flags: Sequence[bool], items: Sequence[Item]) -> tuple[int, int, int, int]:
    tp = sum(1 for f, it in zip(flags, items) if f and it.label)
    fp = sum(1 for f, it in zip(flags, items) if f and not it.label)
    a = sum(it.label for it in items)
    return tp, a, fp, len(items) - a


def tunePart(flags: Sequence[bool], items: Sequence[Item], extra: bool = False) -> tuple[list[bool], list[Item]]:
    """
    The flags and items of the tune texts (and their twins), or with
    C{extra} of the extra training texts: reported apart, the tune part
    comparable with models trained on it alone.
    """
    keep = [it.ident.startswith("x") == extra for it in items]
    return [f for f, k in zip(flags, keep) if k], [it for it, k in zip(items, keep) if k]


def combined(probs: Sequence[float], rules: Sequence[bool], t: float) -> list[bool]:
    return [r or p >= t for p, r in zip(probs, rules)]


def auc(probs: Sequence[float], items: Sequence[Item]) -> float:
    pos = sorted(p for p, it in zip(probs, items) if it.label)
    neg = sorted(p for p, it in zip(probs, items) if not it.label)
    wins = 0.0
    j = k = 0
    for p in pos:
        while j < len(neg) and neg[j] < p:
            j += 1
        k = j
        while k < len(neg) and neg[k] == p:
            k += 1
        wins += j + (k - j) / 2
    return wins / (len(pos) * len(neg))


GRID = [dict(c=c, signals=s, minDf=2, twins=t) for t in (False, True) for s in ("none", "dropout") for c in (3.0, 10.0, 30.0)]
#: with the extra training texts: how much they weigh, and whether their
#: attacks are used (the poisoning ones are planted, not written)
GRID_EXTRA = [dict(c=c, signals="none", minDf=2, twins=True, extraWeight=w, extraAttacks=x) for c in (10.0, 30.0) for w in (0.25, 1.0) for x in (True, False)]

#: the settings the grid chose (python tools/train_instructions.py)
FINAL: dict[str, dict[str, Any]] = {
    "poisoning": dict(c=10.0, signals="none", minDf=2, twins=True),
    "injection": dict(c=10.0, signals="none", minDf=2, twins=True),
}
#: ... and with the extra training texts (--extra): the shipped model
FINAL_EXTRA: dict[str, dict[str, Any]] = {
    "poisoning": dict(c=10.0, signals="none", minDf=2, twins=True, extraWeight=1.0, extraAttacks=True),
    "injection": dict(c=10.0, signals="none", minDf=2, twins=True, extraWeight=1.0, extraAttacks=True),
}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--final", action="store_true", help="the chosen settings only (no grid)")
    ap.add_argument("--cv-only", action="store_true")
    ap.add_argument("--kinds", default="poisoning,injection")
    ap.add_argument("--out", default=learned.MODEL_FILE)
    ap.add_argument("--extra", action="store_true", help="also train on tests/corpus/mcp/external/data/train_*.jsonl (InjecAgent)")
    a = ap.parse_args(argv)
    out: dict[str, Any] = {
        "format": 1,
        "trained_on": "tune split of tests/corpus/mcp (tool_poisoning.jsonl, prompt_injection.jsonl)"
        + (" and the extra training texts of tests/corpus/mcp/external (InjecAgent)" if a.extra else "")
        + "; tools/train_instructions.py",
        "models": {},
    }
    if os.path.exists(a.out):
        with open(a.out, encoding="utf-8") as f:
            out["models"] = json.load(f).get("models", {})
    for kind in a.kinds.split(","):
        t0 = time.time()
        items = load(kind) + (load(kind, "train") if a.extra else [])
        clusters = groups(items)
        fold = folds(items, clusters)
        print(f"{kind}: {len(items)} tune texts ({sum(it.label for it in items)} attacks, {sum(it.twin is not None for it in items)} with a twin), {len(set(clusters))} clusters [{time.time() - t0:.0f}s]", flush=True)
        every, _ = withTwins(items, fold)
        rulesReal = ruleFlags(kind, every, "medium", False)
        rulesSim = ruleFlags(kind, every, "medium", True)
        best: tuple[float, dict[str, Any], list[float], list[float]] = (-1.0, {}, [], [])
        for params in [(FINAL_EXTRA if a.extra else FINAL)[kind]] if a.final else GRID_EXTRA if a.extra else GRID:
            t1 = time.time()
            probs, simulated = outOfFold(items, fold, **params)
            t = thresholdFor(probs, every, rulesReal, FPR_BUDGET[kind]["medium"])
            flags = combined(probs, rulesReal, t)
            tp, na, fp, nb = rates(*tunePart(flags, every))
            stp, *_ = rates(*tunePart(combined(simulated, rulesSim, t), every))
            mtp, *_ = rates(*tunePart([p >= t for p in simulated], every))
            print(
                f"  {params}: AUC {auc(probs, every):.3f} (simulated {auc(simulated, every):.3f}); medium t={t:.3f}: tune part: "
                f"rules+model {100 * tp / na:.1f}%, simulated {100 * stp / na:.1f}% (model alone {100 * mtp / na:.1f}%), FPR {fprs(*tunePart(flags, every))}  [{time.time() - t1:.0f}s]",
                flush=True,
            )
            if a.extra:
                etp, ena, *_ = rates(*tunePart(flags, every, True))
                print(f"    extra part: rules+model {100 * etp / ena:.1f}% ({etp}/{ena}), FPR {fprs(*tunePart(flags, every, True))}", flush=True)
            if stp > best[0]:
                best = (stp, params, probs, simulated)
        _, params, probs, simulated = best
        thresholds = []
        medium = thresholdFor(probs, every, ruleFlags(kind, every, "medium", False), FPR_BUDGET[kind]["medium"])
        for s in SENSITIVITIES:
            t = thresholdFor(probs, every, ruleFlags(kind, every, s, False), FPR_BUDGET[kind][s])
            # a higher sensitivity never asks more of the model
            t = max(t, medium) if s == "low" else min(t, medium) if s == "high" else t
            t = min(1.0, math.ceil(t * 1e4) / 1e4)  # stored rounded up: never flags more
            thresholds.append([s, t])
            flags = combined(probs, ruleFlags(kind, every, s, False), t)
            tp, na, fp, nb = rates(*tunePart(flags, every))
            stp, *_ = rates(*tunePart(combined(simulated, ruleFlags(kind, every, s, True), t), every))
            print(f"  chosen {params} {s}: t={t:.4f}  out of fold, tune part: rules+model {100 * tp / na:.1f}% ({tp}/{na}), simulated {100 * stp / na:.1f}% ({stp}/{na}); FPR {fprs(*tunePart(flags, every))}", flush=True)
            if a.extra:
                etp, ena, *_ = rates(*tunePart(flags, every, True))
                print(f"    extra part: rules+model {100 * etp / ena:.1f}% ({etp}/{ena}), FPR {fprs(*tunePart(flags, every, True))}", flush=True)
        if a.cv_only:
            continue
        model = fit(items, **params)
        model["thresholds"] = thresholds
        model["cv"] = {"params": params, "folds": FOLDS, "seed": SEED, "fpr_budget": FPR_BUDGET[kind]}
        out["models"][kind] = model
        print(f"  {len(model['idf'])} features, {len(model['weights'])} weights", flush=True)
    if not a.cv_only:
        with open(a.out, "w", encoding="utf-8") as f:
            json.dump(out, f, ensure_ascii=False, separators=(",", ":"))
            f.write("\n")
        print(f"wrote {a.out} ({os.path.getsize(a.out) / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
