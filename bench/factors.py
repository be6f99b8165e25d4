"""
How far a literal gate could speed up a slow Hyperscan database: the
prompt-injection signal library (akto_proxy/inspect/checks/instructions.py)
scans at tens of MB/s.

    .venv/bin/python bench/factors.py [--kib 1024] [--list]

Prints, for the library's patterns, which have no factor (below) at all,
which only short or common-word ones, and, on 1 MiB of prose, of JSON
records and of the bench's tool-result text, how many patterns the gate
leaves to scan for and what the gate and the database cost.  --list
prints each pattern's factors.

A database of many patterns that begin with common words (C{\\b(?:the|any|
every)\\s+...}) scans at tens of MB/s: Hyperscan's literal matcher is fed
words found everywhere.  Most of those patterns still require some rarer
word (C{previous}, C{ructions}) in every match.  For each pattern the gate
derives, from the pattern itself, a set of I{factors}: ASCII strings, at
least one of which every match contains (case aside).  One pure-literal
database of all factors scans at GB/s; a pattern none of whose factors
occurs in a text cannot match in it.  Only the patterns whose factors do
occur (and those without a usable factor) are scanned for, each in a
database of its own, or the whole database when there are many.

The analysis is conservative and the gate errs one way only: a factor that
occurs proves nothing and sends the pattern to its scan; whatever the
analysis does not understand (syntax Python's parser reads otherwise than
Hyperscan, lookarounds, classes of many characters) leaves the pattern
without factors, scanned for on every text (L{Gate.unguarded}, counted so
that such patterns can be rewritten).  Texts in which case folding could
reach ASCII from outside it (the Kelvin sign, the long s) or that are not
valid UTF-8 skip the gate: every pattern is scanned for.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Optional, Sequence

import hyperscan

#: the factor "some character outside ASCII" (a class of such characters)
NONASCII = "\x80"

# Escapes whose meaning is the same in Python's parser and in Hyperscan's
# (or that Python refuses): any other letter after a backslash (\v, \h, \R,
# \Q, \p...) leaves the pattern unguarded.
_ESCAPES = frozenset("bBdDsSwWnrtfxuU0123456789AZ")
_POSIX = re.compile(r"\[[:.=]\^?[a-z]*[:.=]\]")
_CODEPOINT = re.compile(r"\\x\{([0-9A-Fa-f]{1,6})\}")
#: characters a factor may hold: printable ASCII (no control characters,
#: whose escapes differ between the two parsers)
_PRINTABLE = frozenset(chr(c) for c in range(0x20, 0x7F))
#: the most strings an exact set may hold before it is given up for a factor
_EXACT = 64
#: the most characters of an exact string
_LONGEST = 48

# Very common English words: a factor that is one of them is nearly as bad
# as none.  Others cost by their length.
_COMMON = frozenset(
    "the of and to a in is you that it he was for on are as with his they i at be this have from or one had by word but "
    "not what all were we when your can said there use an each which she do how their if will up other about out many "
    "then them these so some her would make like him into time has look two more write go see number no way could people "
    "my than first been call who its now find long down day did get come made may part new any every also just should must "
    "please all our us only over such after before above here".split()
)


def _cost(factor: str) -> float:
    if factor == NONASCII:
        return 0.05
    word = factor.strip().lower()
    if len(word) < 3:
        return 1.0
    if word in _COMMON:
        return 0.2
    return 0.03 * 0.6 ** min(len(factor) - 3, 8)


def _setCost(factors: Iterable[str]) -> float:
    return sum(_cost(f) for f in factors)


class _Info:
    """
    What a piece of a pattern can match: C{exact}, every string it can
    match (lowercased; None when unknown or too many), and C{factors}, a set
    one of which each match holds (None when nothing is known).
    """

    __slots__ = ("exact", "factors")

    def __init__(self, exact: Optional[frozenset[str]], factors: Optional[frozenset[str]] = None):
        self.exact = exact
        self.factors = factors

    def best(self) -> Optional[frozenset[str]]:
        """
        The cheapest known factor set of this piece (from its exact strings
        or its factors).
        """
        options = []
        if self.exact is not None and "" not in self.exact:
            options.append(self.exact)
        if self.factors is not None:
            options.append(self.factors)
        if not options:
            return None
        return min(options, key=_setCost)


_ANY = _Info(None, None)
_EMPTY = _Info(frozenset([""]))


def _screen(pattern: str) -> Optional[str]:
    """
    C{pattern} for Python's parser (C{\\x{...}} written its way), or None
    when it holds syntax the two parsers may read apart.
    """
    if _POSIX.search(pattern) or "(?#" in pattern:
        return None
    i = 0
    while True:
        i = pattern.find("\\", i)
        if i < 0 or i + 1 >= len(pattern):
            break
        c = pattern[i + 1]
        if c.isalpha() and c not in _ESCAPES:
            return None
        i += 2
    return _CODEPOINT.sub(lambda m: "\\U%08X" % int(m.group(1), 16), pattern)


def factors(pattern: str) -> Optional[frozenset[str]]:
    """
    A set of strings (lowercase ASCII, or L{NONASCII}) at least one of which
    every match of C{pattern} holds, compared without ASCII case; None when
    none is known.
    """
    screened = _screen(pattern)
    if screened is None:
        return None
    try:
        from re import _parser  # type: ignore[attr-defined]

        parsed = _parser.parse(screened, 0)
    except Exception:  # re.error, recursion, an unknown construct
        return None
    try:
        info = _sequence(list(parsed))
    except (_Unknown, RecursionError):
        return None
    best = info.best()
    if best is None or any(f == "" for f in best):
        return None
    return best


class _Unknown(Exception):
    pass


def _sequence(items: Sequence[tuple[Any, Any]]) -> _Info:
    """
    The info of a concatenation: its exact strings while they stay few,
    and the cheapest factor set among its pieces and its runs of exact
    pieces.
    """
    whole: Optional[frozenset[str]] = frozenset([""])  # of the whole so far
    run: Optional[frozenset[str]] = frozenset([""])  # of the current run
    candidates: list[frozenset[str]] = []
    for item in items:
        info = _node(item)
        best = info.best()
        if best is not None:
            candidates.append(best)
        whole = _product(whole, info.exact)
        joined = _product(run, info.exact)
        if joined is not None:
            run = joined
            continue
        # the run so far is a factor set of its own; a new one starts
        if run is not None and "" not in run:
            candidates.append(run)
        run = info.exact if info.exact is not None and len(info.exact) <= _EXACT else None
    if run is not None and "" not in run:
        candidates.append(run)
    return _Info(whole, min(candidates, key=_setCost) if candidates else None)


def _product(a: Optional[frozenset[str]], b: Optional[frozenset[str]]) -> Optional[frozenset[str]]:
    """
    Every string of C{a} followed by one of C{b}, unless there are too many
    or they grow too long.
    """
    if a is None or b is None or len(a) * len(b) > _EXACT:
        return None
    product = frozenset(x + y for x in a for y in b)
    return product if max(map(len, product)) <= _LONGEST else None


def _node(item: tuple[Any, Any]) -> _Info:
    from re import _constants as C  # type: ignore[attr-defined]

    op, av = item
    if op is C.LITERAL:
        c = chr(av)
        if c not in _PRINTABLE:
            return _Info(None, frozenset([NONASCII])) if av >= 0x80 and av not in _FOLDING else _ANY
        return _Info(frozenset([c.lower()]))
    if op is C.AT:
        return _EMPTY
    if op is C.SUBPATTERN:
        return _sequence(list(av[-1]))
    if op is C.BRANCH:
        infos = [_sequence(list(b)) for b in av[1]]
        exact: Optional[frozenset[str]] = None
        if all(i.exact is not None for i in infos):
            union = frozenset().union(*(i.exact for i in infos if i.exact is not None))
            exact = union if len(union) <= _EXACT else None
        bests = [i.best() for i in infos]
        factorSet = None if any(b is None for b in bests) else frozenset().union(*(b for b in bests if b is not None))
        return _Info(exact, factorSet)
    if op is C.IN:
        return _klass(av)
    if op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
        low, high, body = av
        inner = _sequence(list(body))
        if low == 0:
            if high == 1 and inner.exact is not None:
                return _Info(inner.exact | {""})
            return _EMPTY if high == 0 else _Info(None, None)
        if low == high and inner.exact is not None and low <= 8:
            strings = inner.exact
            for _ in range(low - 1):
                strings = frozenset(a + b for a in strings for b in inner.exact)
                if len(strings) > _EXACT or max(map(len, strings)) > _LONGEST:
                    return _Info(None, inner.best())
            return _Info(strings)
        return _Info(None, inner.best())
    if op in (C.ASSERT, C.ASSERT_NOT):
        return _EMPTY  # zero width: requires nothing here
    if op in (C.ANY, C.NOT_LITERAL, C.GROUPREF, getattr(C, "GROUPREF_EXISTS", None), C.CATEGORY):
        return _ANY
    if op is getattr(C, "ATOMIC_GROUP", None):
        return _sequence(list(av))
    raise _Unknown(op)


def _klass(items: Sequence[tuple[Any, Any]]) -> _Info:
    """
    A character class: its few printable ASCII characters (lowercased), or
    "some non-ASCII character" when it holds only such.
    """
    from re import _constants as C  # type: ignore[attr-defined]

    chars: set[str] = set()
    nonascii = False
    for op, av in items:
        if op is C.LITERAL:
            c = chr(av)
            if av >= 0x80 and av not in _FOLDING:
                nonascii = True
            elif c in _PRINTABLE:
                chars.add(c.lower())
            else:
                return _ANY
        elif op is C.RANGE:
            low, high = av
            if low >= 0x80 and not any(low <= f <= high for f in _FOLDING):
                nonascii = True
            elif high < 0x80 and high - low < 8 and all(chr(c) in _PRINTABLE for c in range(low, high + 1)):
                chars.update(chr(c).lower() for c in range(low, high + 1))
            else:
                return _ANY
        else:  # NEGATE, CATEGORY, anything else
            return _ANY
    if nonascii:
        return _Info(None, frozenset([NONASCII])) if not chars else _ANY
    if not chars or len(chars) > 4:
        return _ANY
    return _Info(frozenset(chars))


# Characters outside ASCII that case folding may equate with ASCII text
# (the Kelvin sign, the long s, the dotless i, ligatures): a text holding one
# skips the gate, and a pattern naming one has no factor there.
_FOLDING = frozenset(
    c for c in range(0x80, 0x110000) if any(f(chr(c)).isascii() for f in (str.lower, str.upper, str.casefold))
)
#: byte strings that make the gate step aside: those characters in UTF-8,
#: and the starts of encoded surrogates (not UTF-8)
_ASIDE = tuple(chr(c).encode("utf-8") for c in sorted(_FOLDING)) + tuple(bytes([0xED, b]) for b in range(0xA0, 0xC0))


class Gate:
    """
    The factors of C{patterns} in one literal database.

    @ivar unguarded: the indexes of the patterns without usable factors:
        scanned for in every text.
    """

    def __init__(self, patterns: Sequence[str]):
        owners: dict[str, list[int]] = {}
        unguarded: list[int] = []
        nonascii: list[int] = []
        for i, p in enumerate(patterns):
            found = factors(p)
            if found is None:
                unguarded.append(i)
                continue
            for f in found:
                if f == NONASCII:
                    nonascii.append(i)
                else:
                    owners.setdefault(f, []).append(i)
        self.unguarded = tuple(unguarded)
        self._nonascii = frozenset(nonascii)
        self._owners = [frozenset(v) for v in owners.values()]
        self._factors = list(owners)
        # one literal database: the factors, then the byte strings that
        # make the gate step aside
        expressions = [f.encode("ascii") for f in self._factors] + list(_ASIDE)
        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        db.compile(
            expressions=expressions,
            ids=list(range(len(expressions))),
            elements=len(expressions),
            flags=hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_SINGLEMATCH,
            literal=True,
        )
        self._db = db
        self._scratch = hyperscan.Scratch(db)
        self.size = len(patterns)

    def factorsOf(self, index: int) -> frozenset[str]:
        """
        The factors the gate holds for pattern C{index} (empty when it is
        unguarded).
        """
        found = {f for f, o in zip(self._factors, self._owners) if index in o}
        if index in self._nonascii:
            found.add(NONASCII)
        return frozenset(found)

    def candidates(self, data: bytes) -> Optional[frozenset[int]]:
        """
        The patterns that may match in C{data} (UTF-8): a superset of those
        that do; None for all of them.
        """
        found: set[int] = set(self.unguarded)
        if not data.isascii():
            found |= self._nonascii
        owners = self._owners
        aside = len(owners)

        def onMatch(factor: int, start: int, end: int, flags: int, context: object) -> bool:
            if factor >= aside:
                return True  # stops the scan: every pattern is a candidate
            found.update(owners[factor])
            return False

        try:
            self._db.scan(data, match_event_handler=onMatch, scratch=self._scratch)
        except hyperscan.ScanTerminated:
            return None
        return frozenset(found)




def weak(found: Optional[frozenset[str]]) -> bool:
    """
    No factor, or one that is short or a common word: found in most prose.
    """
    return found is None or any(f != NONASCII and (len(f.strip()) < 4 or f.strip() in _COMMON) for f in found)


def main() -> None:
    import argparse
    import os
    import random
    import sys
    import time

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import mcp_bench  # noqa: E402
    import upstream  # noqa: E402

    from akto_proxy.inspect.checks import instructions  # noqa: E402

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kib", type=int, default=1024)
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    library = instructions._library(instructions.SIGNALS)
    patterns = library.patterns
    found = [factors(p) for p in patterns]
    print(f"{len(patterns)} patterns ({library.triggers} signals, {len(patterns) - library.triggers} hidden-text markers)")
    print(f"  no factor: {sum(f is None for f in found)}; only short or common-word factors: {sum(weak(f) and f is not None for f in found)}")
    if a.list:
        for i, (p, f) in enumerate(zip(patterns, found)):
            mark = "WEAK " if weak(f) else "     "
            print(f"{mark}{i:4} {sorted(f) if f is not None else None}  {p[:90]}")
    gate = Gate(patterns)
    strong = Gate([p if not weak(f) else "" for p, f in zip(patterns, found)])
    size = a.kib * 1024
    readme = open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md"), encoding="utf-8").read()
    bodies = {
        "tool-result text (mcp_bench)": mcp_bench.text(random.Random(7), size).encode(),
        "prose (bigbody text)": upstream.bigBody("text", a.kib),
        "JSON records (bigbody json)": upstream.bigBody("json", a.kib),
        "README.md, repeated": (readme * (1 + size // len(readme)))[:size].encode(),
    }
    db, scratch = library._dbs[0]

    def best(f: Any) -> float:
        out = 1e9
        for _ in range(3):
            t0 = time.perf_counter()
            f()
            out = min(out, time.perf_counter() - t0)
        return out

    # left: the patterns the gate cannot rule out (to scan for); the
    # strong-only gate keeps only factors of 4+ characters that are not
    # common words (faster), leaving the weak patterns always to scan for
    print(f"{'body':<30} {'database MB/s':>14} {'gate MB/s':>10} {'left':>6} {'strong-only gate: left':>24}")
    for name, data in bodies.items():
        full = best(lambda: db.scan(data, match_event_handler=lambda *_: None, scratch=scratch))
        g = best(lambda: gate.candidates(data))
        left = gate.candidates(data)
        leftStrong = strong.candidates(data)
        print(
            f"{name:<30} {len(data) / full / 1e6:14.0f} {len(data) / g / 1e6:10.0f} {len(left) if left is not None else 'all':>6}"
            f" {len(leftStrong) if leftStrong is not None else 'all':>24}"
        )


if __name__ == "__main__":
    main()
