"""
A learned second opinion on instructions aimed at a model: logistic
regression over the words of a text (words, word pairs, and letter pairs
of words in scripts written without spaces), trained on the tune split of
the MCP corpora by C{tools/train_instructions.py} and shipped as package
data (C{instructions_model.json}); nothing is downloaded.  Inference is
pure Python: the set of a text's words and word pairs is intersected with
the model's (the loops run in C), so the cost is a few regular expressions
and set operations, linear in the text (see TUNING.md for figures).

A text's features are present or not; each known one weighs its inverse
document frequency, and the vector is normalised to length 1:

    log-odds = bias + sum(w_f * idf_f) / sqrt(sum(idf_f ** 2))
               + the weights of the rule signals the text shows

Only natural-language text is judged (L{Model.wordy}): JSON numbers,
base64 blobs and hashes have few words of letters, or no spaces, and score
0 without a look-up; of a long text, the first 64 KiB are read.
"""

from __future__ import annotations

import json
import math
import os
import re
from operator import itemgetter
from typing import Any, Iterable, Optional, Sequence

import attrs

_WORD = re.compile(r"[^\W_]+")
_DIGIT = re.compile(r"\d")
#: a word of two letters or more, for telling prose from data
_LETTERS = re.compile(r"[^\W\d_]{2,}")
#: letters of scripts written without spaces between words
_UNSPACED = re.compile("[\u0e00-\u0eff\u1000-\u109f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
#: ASCII text to words in one pass: letters lower case, digits 0, the rest
#: a space (what L{_WORD} and L{_DIGIT} do to it, at C speed)
_ASCII = bytes(
    c + 32 if 65 <= c <= 90 else c if 97 <= c <= 122 else 48 if 48 <= c <= 57 else 32 for c in range(256)
)
#: the same for UTF-8, bytes of other characters kept
_UTF8 = _ASCII[:128] + bytes(range(128, 256))
_ASCII_LETTERS = bytes(range(65, 91)) + bytes(range(97, 123))

_FIRST = itemgetter(0)
_SECOND = itemgetter(1)

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_FILE = os.path.join(HERE, "instructions_model.json")

#: how much of a long text L{Model.wordy} reads
_SAMPLE = 65536


def tokens(text: str) -> list[str]:
    """
    The words of C{text} (runs of letters and digits), lower case, with
    each digit written C{0}: C{_WORD.findall(_DIGIT.sub("0", text.lower()))},
    with the ASCII characters done by one C{bytes.translate}.
    """
    if text.isascii():
        return text.encode("ascii").translate(_ASCII).decode("ascii").split()
    # ASCII letters, digits and separators at C speed; the few runs that
    # hold other characters by the regular expressions
    runs = text.encode("utf-8", "surrogatepass").translate(_UTF8).decode("utf-8", "surrogatepass").split()
    out: list[str] = []
    for run in runs:
        if run.isascii():
            out.append(run)
        else:
            out.extend(_WORD.findall(_DIGIT.sub("0", run.lower())))
    return out


def modelText(revealed: Any) -> str:
    """
    What the model reads of a revealed text (L{instructions.Revealed}): the
    text as a model reads it, and what was hidden in it.
    """
    text: str = revealed.text
    concealed: str = revealed.concealed
    return text + "\n" + concealed if concealed else text


def features(text: str) -> set[str]:
    """
    The distinct features of C{text}: its words, the pairs of words that
    follow each other (C{"a b"}), and the letter pairs of words not in
    ASCII (Chinese, Japanese, Thai, ... are written without spaces), marked
    C{~}.
    """
    words = tokens(text)
    out = set(words)
    out.update(map(" ".join, zip(words, words[1:])))
    if not text.isascii():
        out.update(_letterPairs(words))
    return out


def _letterPairs(words: Sequence[str]) -> set[str]:
    return {"~" + w[j : j + 2] for w in set(words) if len(w) > 2 and not w.isascii() for j in range(len(w) - 1)}


@attrs.frozen
class Model:
    """
    @ivar table: word (or letter pair) -> (its idf squared, its weight
        times its idf).
    @ivar pairs: the same for pairs of words.
    @ivar signals: rule signal (or C{hidden:KIND}) -> weight.
    @ivar bias: the intercept.
    @ivar thresholds: (sensitivity, probability) at which a text is
        judged to carry instructions.
    @ivar minWords: texts with fewer words of two letters or more are not
        judged (probability 0).
    """

    table: dict[str, tuple[float, float]] = attrs.field(eq=False, repr=False)
    pairs: dict[tuple[str, str], tuple[float, float]] = attrs.field(eq=False, repr=False)
    signals: dict[str, float] = attrs.field(eq=False, repr=False)
    bias: float
    thresholds: tuple[tuple[str, float], ...]
    minWords: int = 3

    def threshold(self, sensitivity: str) -> float:
        return dict(self.thresholds)[sensitivity]

    def wordy(self, text: str) -> bool:
        """
        Whether C{text} reads like prose (of its first 64 KiB): a few words
        of letters making up a fair part of it, separated by spaces (or in
        a script written without them).  A base64 blob or a hash has long
        runs of letters but no spaces.
        """
        if len(text) < 16:
            return False
        sample = text if len(text) <= _SAMPLE else text[:_SAMPLE]
        n = len(sample)
        gaps = sample.count(" ") + sample.count("\n")
        if sample.isascii():
            raw = sample.encode("ascii")
            letters = n - len(raw.translate(None, _ASCII_LETTERS))
            return gaps >= max(self.minWords - 1, 0.06 * n) and letters >= 0.35 * n
        words = _LETTERS.findall(sample)
        letters = sum(map(len, words))
        if len(words) < self.minWords or letters < 0.35 * n:
            return False
        return gaps >= 0.06 * n or len(_UNSPACED.findall(sample)) >= 0.3 * letters

    def logit(self, text: str, signals: Iterable[str] = ()) -> float:
        """
        The log-odds that C{text}, showing the rule C{signals}, carries
        instructions aimed at a model.
        """
        words = tokens(text)
        # one look-up per distinct feature; the loops run in C
        found = list(filter(None, map(self.table.get, set(words))))
        found += filter(None, map(self.pairs.get, set(zip(words, words[1:]))))
        if not text.isascii():
            found += filter(None, map(self.table.get, _letterPairs(words)))
        # sums that do not depend on the order of the sets: math.fsum is
        # exact (and fast on terms of one sign); the weights in sorted order
        norm = math.fsum(map(_FIRST, found))
        total = sum(sorted(map(_SECOND, found)))
        x = self.bias + (total / math.sqrt(norm) if norm else 0.0)
        if self.signals:
            x += sum(sorted(self.signals.get(s, 0.0) for s in set(signals)))
        return x

    def probability(self, text: str, signals: Iterable[str] = ()) -> float:
        """
        The probability that C{text} carries instructions; 0 for a text
        that is not prose.  Of a text longer than 64 KiB, the first 64 KiB
        are read: one planted paragraph weighs nothing in a whole page of
        that size anyway (the rules read all of it).
        """
        if len(text) > _SAMPLE:
            text = text[:_SAMPLE]
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
    table: dict[str, tuple[float, float]] = {}
    pairs: dict[tuple[str, str], tuple[float, float]] = {}
    for f, i in idf.items():
        entry = (i * i, weights.get(f, 0.0) * i)
        if " " in f:
            a, b = f.split(" ", 1)
            pairs[(a, b)] = entry
        else:
            table[f] = entry
    return Model(
        table=table,
        pairs=pairs,
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
