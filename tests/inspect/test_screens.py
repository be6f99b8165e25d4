"""
The screened patterns of the instruction signal library
(L{instructions.SCREENS}): each condition is a part of its pattern that
every match holds, and the library finds exactly what one scan of every
pattern finds, on every corpus text, on generated texts made of the
patterns' own words, and in the judgements built on it.
"""

from __future__ import annotations

import glob
import json
import os
import random
import re
from collections.abc import Iterator
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect.checks import instructions as I

try:  # Python 3.11 and later
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_parse  # type: ignore[no-redef]

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(os.path.dirname(HERE), "corpus", "mcp")

#: the large-body bench's prose (bench/upstream.py)
PROSE_WORDS = (
    "the quarterly report shows revenue grew in every region while costs stayed flat and the team shipped two "
    "releases customers asked for faster exports so the next sprint covers caching of reports and a new api"
).split()


def prose(n: int, seed: int = 1) -> str:
    rnd = random.Random(seed)
    lines: list[str] = []
    size = 0
    while size < n:
        line = " ".join(rnd.choice(PROSE_WORDS) for _ in range(14)).capitalize() + "."
        lines.append(line)
        size += len(line) + 1
    return "\n".join(lines)[:n]


# -- necessity, read from the patterns' syntax


def _canon(items: Any) -> tuple[Any, ...]:
    """
    A parsed expression as nested tuples (groups without their numbers),
    so that the same text parses to equal values wherever it stands.
    """
    out: list[Any] = []
    for op, av in items:
        name = str(op)
        if name == "SUBPATTERN":
            out.append((name, av[1], av[2], _canon(av[3])))
        elif name == "BRANCH":
            out.append((name, tuple(_canon(b) for b in av[1])))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            out.append(("REPEAT", av[0], av[1], _canon(av[2])))
        elif name == "IN":
            out.append((name, tuple((str(o), a) for o, a in av)))
        else:
            out.append((name, av))
    return tuple(out)


def _alternatives(seq: tuple[Any, ...]) -> list[tuple[Any, ...]]:
    """
    The top-level alternatives of a parsed expression.
    """
    if seq and seq[-1][0] == "BRANCH":
        # the parser moves a prefix every alternative shares out of them:
        # put it back
        return [seq[:-1] + b for b in seq[-1][1]]
    return [seq]


def _contains(seq: tuple[Any, ...], part: tuple[Any, ...]) -> bool:
    n = len(part)
    return n > 0 and any(seq[i : i + n] == part for i in range(len(seq) - n + 1))


def _covered(conditions: list[tuple[Any, ...]], seq: tuple[Any, ...]) -> bool:
    """
    Whether every match of the sequence C{seq} holds a match of one of
    C{conditions}: one is a run of its items, or of the items of a part
    every match goes through (a group, a repeat of at least one, each
    branch of an alternation).
    """
    if any(_contains(seq, c) for c in conditions):
        return True
    for item in seq:
        name = item[0]
        if name == "SUBPATTERN" or (name == "REPEAT" and item[1] >= 1):
            branches = _alternatives(item[3])
        elif name == "BRANCH":
            branches = list(item[1])
        else:
            continue
        if all(_covered(conditions, alt) for alt in branches):
            return True
    return False


def _unrolled(seq: tuple[Any, ...], last: bool) -> tuple[Any, ...]:
    """
    C{seq} with each repeat of one item at least once (C{[0134]+}) written
    as that item and the rest of the repeat, the item first or last
    (C{[0134][0134]*}, C{[0134]*[0134]}): the same language.
    """
    out: list[Any] = []
    for item in seq:
        if item[0] == "REPEAT" and item[1] >= 1 and len(item[3]) == 1:
            top = item[2] if item[2] == sre_parse.MAXREPEAT else item[2] - 1
            rest = ("REPEAT", item[1] - 1, top, item[3])
            out.extend((rest, item[3][0]) if last else (item[3][0], rest))
        else:
            out.append(item)
    return tuple(out)


#: Hyperscan's code points (C{\\x{HHHH}}) as Python's parser reads them
_CODE_POINT = re.compile(r"\\x\{([0-9A-Fa-f]+)\}")


def _python(pattern: str) -> str:
    return _CODE_POINT.sub(lambda m: "\\U%08x" % int(m.group(1), 16), pattern)


def necessary(condition: str, pattern: str) -> bool:
    """
    Whether every match of C{pattern} holds a match of C{condition} (read
    from their syntax: a sufficient test, not a complete one).
    """
    conditions = _alternatives(_canon(sre_parse.parse(_python(condition))))
    return all(
        any(_covered(conditions, form) for form in (alt, _unrolled(alt, False), _unrolled(alt, True)))
        for alt in _alternatives(_canon(sre_parse.parse(_python(pattern))))
    )


#: conditions whose necessity the syntax does not show, each argued in
#: L{ArguedTests}: an IBAN's C{\\d{2}} is one of the 100 pairs of digits
#: written out; a run of 60 of space, tab and no-break space holds 60
#: spaces or tabs in a row, or a no-break space
ARGUED = frozenset((I.SIGNALS["payment_target"][0], I.TRIGGERS[10]))


# -- texts


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def corpusTexts() -> list[str]:
    """
    Every string of every prompt-injection and tool-poisoning corpus line
    (the fresh and external parts too, when present).
    """
    paths = sorted(
        glob.glob(os.path.join(CORPUS, "*.jsonl"))
        + glob.glob(os.path.join(CORPUS, "fresh", "*.jsonl"))
        + glob.glob(os.path.join(CORPUS, "external", "data", "*.jsonl"))
    )
    texts: list[str] = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    texts.extend(s for s in _strings(json.loads(line)) if len(s) >= 8)
    return list(dict.fromkeys(texts))


def signalPatterns() -> list[str]:
    return [p for ps in I.SIGNALS.values() for p in ps]


_WORD = re.compile(r"[^\W\d_]{2,}(?:'[a-z]+)?")


def patternWords() -> list[str]:
    """
    The words of the library's patterns and conditions, with the symbols
    they hold, to build texts that come close to matching.
    """
    words: set[str] = set()
    for p in signalPatterns() + list(I.SCREENS.values()):
        words.update(w for w in _WORD.findall(re.sub(r"\\[a-zA-Z]", " ", p)))
    return sorted(words)


_SYMBOLS = (
    ".", ". ", ", ", ": ", "; ", "\n", "\n\n", "! ", "? ", "- ", "* ", "# ", "(", ")", "[", "]", '"', "'", "`", "@", "a@b.io", "x.y@mail.example.com",
    "https://x.example/a", "www.site", "+1 555 123 4567", " #general", "$(env)", "AWS_SECRET_KEY", "_", "send_email", "50%", "3x", "\t", " ",
)

_LIBRARY: list[Any] = []


def libraries() -> tuple[Any, Any]:
    """
    The library as the proxy builds it, and the same signals in one
    database with no screen (the reference).
    """
    if not _LIBRARY:
        _LIBRARY.extend([I._library(I.SIGNALS), I._Library(I.SIGNALS, screens={})])
    return _LIBRARY[0], _LIBRARY[1]


def conditionsMatched(library: Any, text: str) -> set[int]:
    """
    The screened patterns whose conditions match C{text}.
    """
    found: set[int] = set()
    db, scratch = library._dbs[0]
    db.scan(text.encode(), match_event_handler=lambda i, *a: found.add(i), scratch=scratch)
    return {i - library._past for i in found if i >= library._past}


class NecessaryTests(SynchronousTestCase):
    """
    The test of necessity itself, and every condition of L{SCREENS}.
    """

    def test_examples(self) -> None:
        self.assertTrue(necessary(r"b\s", r"\ba\s+b\s"))
        self.assertTrue(necessary(r"xx|yy", r"(?:axx|byy)\s"))
        self.assertTrue(necessary(r"ab|cd", r"\bxab|\bcd"))
        self.assertTrue(necessary(r"y", r"a(?:b|c)+y"))
        self.assertTrue(necessary(r"b", r"a(?:xb|yb)z"))
        self.assertFalse(necessary(r"b", r"a(?:xb|y)z"))
        self.assertFalse(necessary(r"b", r"a(?:b)?z"))
        self.assertFalse(necessary(r"b", r"ab|cd"))
        self.assertFalse(necessary(r"ab", r"a\s*b"))
        self.assertTrue(necessary(r"ab|cd", r"xab|ycd"))

    def test_everyCondition(self) -> None:
        """
        Each condition is a part of its pattern, as written there, that
        every match of every alternative holds; Hyperscan takes it with
        the library's flags; and it screens a pattern of the library.
        """
        patterns = set(signalPatterns())
        self.assertGreater(len(I.SCREENS), 30)
        for pattern, condition in I.SCREENS.items():
            self.assertIn(pattern, patterns | set(I.TRIGGERS))
            self.assertTrue(I._hyperscanTakes(condition), condition)
            if pattern not in ARGUED:
                self.assertTrue(necessary(condition, pattern), condition)
        # the bare screens: every marker with no word in it that costs
        self.assertTrue({I.TRIGGERS[i] for i in (9, 10, 12)} <= set(I.SCREENS))

    def test_unrolled(self) -> None:
        """
        A repeat of at least one is read both ways; one of none is not.
        """
        self.assertTrue(necessary(r"[0134][a-z]", r"[a-z][0134]+[a-z]"))
        self.assertTrue(necessary(r"[a-z][0134]", r"[a-z][0134]+[a-z]"))
        self.assertFalse(necessary(r"[0134][a-z]", r"[a-z][0134]*[a-z]"))
        self.assertTrue(necessary(r"[\x{0370}-\x{03FF}]", r"a[\x{0370}-\x{03FF}]|[\x{0370}-\x{03FF}]b"))

    def test_bodyAndProseRaiseNone(self) -> None:
        """
        The bench's prose and clean English raise no condition: the
        screened patterns are not scanned for them.
        """
        library, _ = libraries()
        for text in (prose(64 * 1024), "The weather in Paris is mild in spring; the museums open at nine and close late on Fridays."):
            self.assertEqual(conditionsMatched(library, text), set())


class SameHitsTests(SynchronousTestCase):
    """
    The library's hits and L{_Library.any} equal the reference's.
    """

    def assertSame(self, text: str) -> None:
        library, reference = libraries()
        self.assertEqual(library.hits(text), reference.hits(text), text[:200])
        self.assertEqual(library.any(text), reference.any(text), text[:200])

    def test_corpora(self) -> None:
        """
        Every string of every corpus line, alone and inside prose (at its
        start, middle and end, and split across lines).
        """
        texts = corpusTexts()
        self.assertGreater(len(texts), 500)
        filler = prose(4096, seed=7)
        for text in texts:
            self.assertSame(text)
            self.assertSame(filler + "\n" + text + "\n" + filler)
            self.assertSame(text.replace(". ", ".\n"))

    def test_screenedPatternsFire(self) -> None:
        """
        Corpus texts that match screened patterns are found the same way,
        so the test above compared the confirming scan, not only absences.
        """
        library, reference = libraries()
        screened = set(library._screened)
        fired: set[int] = set()
        for text in corpusTexts():
            fired |= reference.hits(text) & screened
        self.assertGreater(len(fired), len(screened) // 2)

    @settings(max_examples=400, deadline=None, derandomize=True)
    @given(st.lists(st.one_of(st.sampled_from(patternWords()), st.sampled_from(_SYMBOLS)), min_size=1, max_size=60), st.sampled_from([" ", "  ", "\n", " \t"]))
    def test_generated(self, parts: list[str], space: str) -> None:
        """
        Random sentences of the patterns' own words and symbols.
        """
        self.assertSame(space.join(parts))

    @settings(max_examples=200, deadline=None, derandomize=True)
    @given(st.lists(st.sampled_from(patternWords()), min_size=2, max_size=12), st.integers(0, 3))
    def test_generatedCase(self, words: list[str], case: int) -> None:
        """
        The same words in every case, in the bench's prose.
        """
        text = " ".join(words)
        text = (text, text.upper(), text.title(), text.capitalize())[case]
        self.assertSame(prose(600, seed=len(words)) + " " + text + ". " + prose(300, seed=case))

    def test_judgements(self) -> None:
        """
        The scorers judge every corpus text the same with the library and
        with the reference: score, signals, spans, what was revealed, the
        learned model's probability.
        """
        _, reference = libraries()
        for weights in (I.INJECTION, I.POISONING):
            scorer = I.Scorer(weights)
            plain = I.Scorer(weights)
            plain._library = reference
            for text in corpusTexts():
                a = scorer.score(text, wantSpans=True, threshold=scorer.threshold("medium"))
                b = plain.score(text, wantSpans=True, threshold=plain.threshold("medium"))
                self.assertEqual(a, b)


#: pieces of the texts the bare screens are about: digits, IBAN-like
#: groups, letters, runs of spaces, tabs and no-break spaces, blank lines,
#: Greek and Cyrillic letters, digits for letters
_BARE_PIECES = (
    "GB82", "WEST", "1234", "5698", "7654", "32", "DE89 3704 0044 0532 0130 00", "0x" + "a1" * 20, "0x12", "IBAN", "iban",
    "a", "Z", "b0", "0b", "c0a", "l33t", "h4x0r", "r34d", "1", "3", "01234567", "99", "α", "Ωmega", "раураl", "Ρ", "д", "x",
    " ", "\t", "\u00a0", " " * 30, "\t" * 20, "\u00a0" * 25, "\n", "\n \n", "\n\t\n", ".", "-",
)


class ArguedTests(SynchronousTestCase):
    """
    The conditions L{ARGUED} names, and the other bare screens, on texts
    made of the pieces they are about.
    """

    def test_ibanDigits(self) -> None:
        """
        The IBAN pattern's C{\\d{2}} (Hyperscan's C{\\d}: ASCII digits, no
        Unicode class flag) is the condition's alternation of the 100
        pairs of digits, and the hexadecimal address starts with C{0x}.
        """
        pattern = I.SIGNALS["payment_target"][0]
        condition = I.SCREENS[pattern]
        self.assertIn(r"[A-Z]{2}\d{2}", pattern)
        self.assertIn(r"|\b0x[0-9a-f]{40}\b", pattern)
        pairs, address = condition.rsplit("|", 1)
        self.assertEqual(address, "0x")
        self.assertEqual(sorted(pairs.removeprefix("(?:").removesuffix(")").split("|")), [f"{a}{b}" for a in "0123456789" for b in "0123456789"])
        self.assertTrue(re.search(condition, "GB82 WEST 1234 5698 7654 32"))

    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(st.lists(st.sampled_from(" \t\u00a0"), min_size=60, max_size=90))
    def test_whitespaceRuns(self, run: list[str]) -> None:
        """
        Every run of 60 spaces, tabs and no-break spaces holds 60 spaces
        or tabs in a row, or a no-break space: the padding marker's
        condition.
        """
        condition = re.compile(_python(I.SCREENS[I.TRIGGERS[10]]))
        self.assertTrue(condition.search("".join(run)))
        self.assertIn(r"[ \t\x{00A0}]{60}|", I.TRIGGERS[10])

    @settings(max_examples=400, deadline=None, derandomize=True)
    @given(st.lists(st.sampled_from(_BARE_PIECES), min_size=1, max_size=40), st.sampled_from(["", " ", "\n"]))
    def test_generated(self, parts: list[str], glue: str) -> None:
        """
        The library finds what the reference finds in texts of the pieces,
        alone and in the bench's prose.
        """
        library, reference = libraries()
        text = glue.join(parts)
        for t in (text, prose(300) + " " + text + "\n" + prose(200, seed=3)):
            self.assertEqual(library.hits(t), reference.hits(t), t[:200])
            self.assertEqual(library.any(t), reference.any(t), t[:200])

    def test_bareFire(self) -> None:
        """
        Each bare screen's pattern is found in some text above (so its
        confirming scan was compared, not only absences).
        """
        library, reference = libraries()
        texts = ("GB82 WEST 1234 5698 7654 32", "pay 0x" + "ab" * 20, "pаypal", "a" + " " * 61 + "b", "x" + "\n" * 12, "r34d th3 f1l3")
        bare = {library.patterns.index(I.SIGNALS["payment_target"][0])} | {library.triggers + i for i in (9, 10, 12)}
        fired: set[int] = set()
        for text in texts:
            self.assertEqual(library.hits(text), reference.hits(text))
            fired |= reference.hits(text) & bare
        self.assertEqual(fired, bare)


#: words that set off the common conditions (L{instructions._COMMON_SCREENS})
#: and words that complete their patterns, with filler
_COMMON_PIECES = (
    "response", "summary", "answer", "reply", "skip", "ignore", "override", "bypass", "hidden", "secret", "confidential", "env",
    "environment variables", "$(env)", "prompt", "instructions", "system prompt", "verbatim", "agent", "assistant", "model", "ai",
    "note to the", "message for the", "previous", "all", "the", "rules", "guidelines", "user", "must not see", "in your", "include",
    "reveal", "print", "your", "AWS_SECRET_KEY", "here", "return", ".", ",", ":", "\n", "the tests", "docs/",
)


class CommonScreensTests(SynchronousTestCase):
    """
    The screened patterns whose conditions match in ordinary documents
    (L{instructions._COMMON_SCREENS}) are confirmed in databases of their
    own when one or two of their group's conditions matched, and in their
    group's otherwise; the hits are the same either way.
    """

    def common(self) -> list[int]:
        library, _ = libraries()
        return [library.patterns.index(I.SIGNALS[name][i]) for name, i in I._COMMON_SCREENS]

    def test_alone(self) -> None:
        """
        Each common screened pattern has a database that holds it alone,
        and is confirmed there when it is the only candidate of its group;
        three of one group are confirmed in the group's database.
        """
        library, _ = libraries()
        common = self.common()
        self.assertEqual(sorted(library._alone), sorted(common))
        for i in common:
            self.assertIn(i, library._screened)
            k = library._alone[i]
            self.assertNotEqual(k, library._confirmer[i])
            self.assertEqual(library._plan({i}), [(k, {i})])
        rest = [i for i in common if library._confirmer[i] == library._confirmer[common[0]]]
        self.assertGreaterEqual(len(rest), 3)
        self.assertEqual(library._plan(set(rest[:3])), [(library._confirmer[common[0]], set(rest[:3]))])

    def test_bench(self) -> None:
        """
        The bench's tool result sets off one common condition of the
        rest group (C{skip}) and is confirmed with its pattern alone; the
        hits, and whether anything matches, are the reference's, in
        every 8 KiB of it.
        """
        import sys

        sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "bench"))
        try:
            import inspect_bench
        finally:
            sys.path.pop(0)
        library, reference = libraries()
        text = inspect_bench.text(random.Random(5), 256 * 1024)
        override = library.patterns.index(I.SIGNALS["override"][0])
        self.assertIn(override, conditionsMatched(library, text))
        self.assertIn((library._alone[override], {override}), library._plan(conditionsMatched(library, text)))
        self.assertEqual(library.hits(text), reference.hits(text))
        for k in range(0, len(text), 8192):
            part = text[k : k + 8192]
            self.assertEqual(library.hits(part), reference.hits(part))
            self.assertEqual(library.any(part), reference.any(part))

    def test_sources(self) -> None:
        """
        Every Python and Markdown file of the proxy (tool results of a
        coding agent: the common conditions match in most) is found the
        same as by the reference, and so are the corpus texts inside one.
        """
        library, reference = libraries()
        root = os.path.dirname(os.path.dirname(HERE))
        paths = sorted(glob.glob(os.path.join(root, "akto_proxy", "**", "*.py"), recursive=True) + glob.glob(os.path.join(root, "*.md")))
        self.assertGreater(len(paths), 20)
        common = set(self.common())
        fired: set[int] = set()
        for path in paths:
            with open(path, encoding="utf-8") as f:
                text = f.read()
            fired |= conditionsMatched(library, text) & common
            self.assertEqual(library.hits(text), reference.hits(text), path)
            self.assertEqual(library.any(text), reference.any(text), path)
        self.assertEqual(fired, common)

    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(st.lists(st.sampled_from(_COMMON_PIECES), min_size=1, max_size=30), st.sampled_from([" ", "\n", " \t"]))
    def test_generated(self, parts: list[str], glue: str) -> None:
        """
        Texts of the common conditions' words and their patterns' words,
        alone and in the bench's prose: the library's hits and C{any}
        are the reference's.
        """
        library, reference = libraries()
        text = glue.join(parts)
        for t in (text, prose(300) + " " + text + "\n" + prose(200, seed=3)):
            self.assertEqual(library.hits(t), reference.hits(t), t[:200])
            self.assertEqual(library.any(t), reference.any(t), t[:200])
