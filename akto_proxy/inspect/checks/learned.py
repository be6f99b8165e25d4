"""
A learned second opinion on instructions aimed at a model: logistic
regression over the words of a text (words, word pairs, and letter pairs
of words in scripts written without spaces), trained on the tune split of
the MCP corpora by C{tools/train_instructions.py} and shipped as package
data (C{instructions_model.json}); nothing is downloaded.  Inference is
pure Python: a text's distinct features are looked up in one table, so the
cost is a regular expression and one dictionary look-up per feature (about
70 µs for 2 KB of prose).

A text's features are present or not; each known one weighs its inverse
document frequency, and the vector is normalised to length 1:

    log-odds = bias + sum(w_f * idf_f) / sqrt(sum(idf_f ** 2))
               + the weights of the rule signals the text shows

Only natural-language text is judged (L{Model.wordy}): JSON numbers,
base64 blobs, hashes and most code have few words of letters and score 0
without a look-up.
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any, Iterable, Optional

import attrs

_WORD = re.compile(r"[^\W_]+")
_DIGITS = re.compile(r"\d+")
#: a word of two letters or more, for telling prose from data
_LETTERS = re.compile(r"[^\W\d_]{2,}")

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_FILE = os.path.join(HERE, "instructions_model.json")

#: how much of a long text L{Model.wordy} reads
_SAMPLE = 65536


def tokens(text: str) -> list[str]:
    """
    The words of C{text}, lower case, with runs of digits written C{0}.
    """
    return _WORD.findall(_DIGITS.sub("0", text.lower()))


def modelText(revealed: Any) -> str:
    """
    What the model reads of a revealed text (L{instructions.Revealed}): the
    text as a model reads it, and what was hidden in it.
    """
    return revealed.text + ("\n" + revealed.concealed if revealed.concealed else "")


def features(text: str) -> set[str]:
    """
    The distinct features of C{text}: its words, the pairs of words that
    follow each other, and the letter pairs of words not in ASCII (Chinese,
    Japanese, Thai, ... are written without spaces), marked C{~}.
    """
    words = tokens(text)
    out = set(words)
    out.update(map(" ".join, zip(words, words[1:])))
    for w in out.copy() if not text.isascii() else ():
        if len(w) > 2 and " " not in w and not w.isascii():
            out.update("~" + w[j : j + 2] for j in range(len(w) - 1))
    return out


@attrs.frozen
class Model:
    """
    @ivar table: feature -> (idf squared, weight times idf).
    @ivar signals: rule signal (or C{hidden:KIND}) -> weight.
    @ivar bias: the intercept.
    @ivar thresholds: (sensitivity, probability) at which a text is
        judged to carry instructions.
    @ivar minWords: texts with fewer words of two letters or more are not
        judged (probability 0).
    """

    table: dict[str, tuple[float, float]] = attrs.field(eq=False, repr=False)
    signals: dict[str, float] = attrs.field(eq=False, repr=False)
    bias: float
    thresholds: tuple[tuple[str, float], ...]
    minWords: int = 3

    def threshold(self, sensitivity: str) -> float:
        return dict(self.thresholds)[sensitivity]

    def wordy(self, text: str) -> bool:
        """
        Whether C{text} reads like prose: a few words of letters, making up
        a fair part of it (of its first 64 KiB).
        """
        if len(text) < 16:
            return False
        sample = text if len(text) <= _SAMPLE else text[:_SAMPLE]
        words = _LETTERS.findall(sample)
        return len(words) >= self.minWords and sum(map(len, words)) >= 0.35 * len(sample)

    def logit(self, text: str, signals: Iterable[str] = ()) -> float:
        """
        The log-odds that C{text}, showing the rule C{signals}, carries
        instructions aimed at a model.
        """
        get = self.table.get
        norm = 0.0
        total = 0.0
        for f in features(text):
            entry = get(f)
            if entry is not None:
                norm += entry[0]
                total += entry[1]
        x = self.bias + (total / math.sqrt(norm) if norm else 0.0)
        if self.signals:
            x += sum(self.signals.get(s, 0.0) for s in set(signals))
        return x

    def probability(self, text: str, signals: Iterable[str] = ()) -> float:
        """
        The probability that C{text} carries instructions; 0 for a text
        that is not prose.
        """
        if not self.wordy(text):
            return 0.0
        return _sigmoid(self.logit(text, signals))


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def fromDict(d: dict[str, object]) -> Model:
    """
    A model from its stored form: C{idf} and C{weights} by feature
    (weights only where not 0), C{signals}, C{bias}, C{thresholds}.
    """
    idf: dict[str, float] = d["idf"]  # type: ignore[assignment]
    weights: dict[str, float] = d["weights"]  # type: ignore[assignment]
    table = {f: (i * i, weights.get(f, 0.0) * i) for f, i in idf.items()}
    return Model(
        table=table,
        signals=dict(d.get("signals") or {}),  # type: ignore[call-overload]
        bias=float(d["bias"]),  # type: ignore[arg-type]
        thresholds=tuple((str(s), float(t)) for s, t in d["thresholds"]),  # type: ignore[attr-defined]
        minWords=int(d.get("minWords", 3)),  # type: ignore[call-overload]
    )


_models: dict[str, Optional[Model]] = {}


def load(kind: str, path: str = MODEL_FILE) -> Optional[Model]:
    """
    The shipped model for C{kind} (C{injection} or C{poisoning}), read once
    per process; None when the file has none.
    """
    key = f"{path}:{kind}"
    if key not in _models:
        model: Optional[Model] = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
            if kind in data.get("models", {}):
                model = fromDict(data["models"][kind])
        _models[key] = model
    return _models[key]


__all__ = ["MODEL_FILE", "Model", "features", "fromDict", "load", "modelText", "tokens"]
