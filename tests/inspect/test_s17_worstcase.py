"""
Session 17: the worst case left by session 16 (C{bench/adversarial.py}):
L{akto_proxy.inspect.checks.deobfuscate.foldPowerShell} read a
single-quoted literal from every quote of a value, and in a run of
doubled quotes (C{''''...}, C{'+''+'...}, C{'ab''ab'...}) each reading ran
to the run's end and was given back a doubled quote at a time, in a dozen
patterns and every round: 3 s for one 4 KiB value, 6 s for the
C{evaluated_code} rule that folds it twice.  Such a value is now read with
literals of at most C{_PAIRS} doubled quotes (milliseconds), every other
value exactly as before.  C{filter_bypass}'s first alternative
(C{(?:\\.{3,}[/\\\\]){2,}}) was tried from every dot of a run of dots
(C{\\u002e} repeated, decoded): 3 s for 16,000 dots; L{FirstOfRun} tries it
from a run's first dot, the same matches.  L{Scanner.scan} finds the
segment of a match without a search when it is the last match's.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect.checks import deobfuscate as D
from akto_proxy.inspect.checks import rules as R
from akto_proxy.inspect.checks.scanner import FirstOfRun, Scanner
from tests.inspect.test_checks import call, mediumSteps, rules, verdict
from tests.inspect.test_s15_secrets import bestTime

#: values of 4 KiB that cost seconds each on main (the literal reader)
ADVERSARIAL = {
    "quotes": "'" * 4096,
    "doubled quotes": "''" * 2048,
    "'+' glued": "'+'" * 1366,
    "'+' and blanks": "'+' " * 1024,
    "'ab' glued": "'ab'" * 1024,
    "'a'' glued": "'a''" * 1024,
    "-split' glued": "-split'" * 585,
}

#: main's reading of a literal
_OLD_Q = r"'(?:[^']|'')*'"
_OLD = D._Folds(_OLD_Q)


def _oldFold(text: str) -> str:
    return D._fold(text, lambda s: _OLD)


class WorstCaseTests(SynchronousTestCase):
    """
    Each adversarial value, read back and through the threat step, within
    generous bounds (the best of three runs, CPU seconds).
    """

    def setUp(self) -> None:
        self.steps = mediumSteps()

    def test_readBack(self) -> None:
        """
        L{D.runsHidden} (two folds of the value) takes under 0.3 s for each
        4 KiB value (main: 1 to 6 s).
        """
        for name, text in ADVERSARIAL.items():
            self.assertLess(bestTime(D.runsHidden, text), 0.3, name)

    def test_inspected(self) -> None:
        """
        Each, with a concatenation at its end (what sends a value to be
        read back: C{evaluated_code}), as a tool's argument at 4 KiB and 100
        KB (the value read back is its first 4 KiB), takes under a second
        through the threat step (main: 1 to 6 s).
        """
        for name, unit in ADVERSARIAL.items():
            for text in (unit[:-3] + "'+'", unit * 25 + "'+'"):
                seconds = bestTime(lambda t: verdict(self.steps, call("send_message", value=t)), text)
                self.assertLess(seconds, 1.0, (name, len(text)))

    def test_stillFound(self) -> None:
        """
        A literal folded into Invoke-Expression is read as before when it
        holds more doubled quotes than C{_PAIRS} (the value's quotes cost
        little), and when a run of quotes before it puts it past the budget.
        """
        for pairs in (D._PAIRS - 1, D._PAIRS + 4, 60):
            text = "iex ('who" + "''" * pairs + "' + 'ami')"
            self.assertEqual(D.foldPowerShell(text), _oldFold(text), pairs)
        v = verdict(self.steps, call("send_message", value="iex ('who'+'ami'+'' + 'whoami')"))
        self.assertIn("command_injection.evaluated_code", rules(v))

    def test_bounded(self) -> None:
        """
        The bounded reading is taken only for a value whose doubled quotes
        times quotes pass C{_BUDGET}.
        """
        self.assertIs(D._folds("'" * 4096), D._BOUNDED)
        self.assertIs(D._folds("'" * 181 + "x"), D._EXACT)
        self.assertIs(D._folds("'a''" * (D._PAIRS // 2)), D._EXACT)


_PS_PIECES = st.lists(st.sampled_from([
    "'", "''", "'''", "'a'", "'who'", "'ami'", "+", " + ", "-f", " -f ", "'{0}{1}'", ",", "[char]", "65", "(", ")", "-join", '""',
    "iex", "|", "&", ".", "[", "]", "-1..-3", "$env:comspec", "[4,15,25]", ".replace(", "-creplace", "-split", "'~'", "%{[char]$_}",
    "[char[]]", '"', '"a"', "`", " ", "x", ";", "'i''d'", "''''", "'+'", "'a''+''b'", "[Text.Encoding]::UTF8.GetString(",
    "[Convert]::FromBase64String(", "'aWQ='", "(104,105)", "[string]::join('',",
]), max_size=40)


class SameReadingTests(SynchronousTestCase):
    """
    Within the budget the literals are read as main read them.
    """

    @settings(max_examples=1500, deadline=None)
    @given(_PS_PIECES)
    def test_fold(self, pieces: list[str]) -> None:
        """
        L{D.foldPowerShell} gives what main's patterns give, and the
        invocations found in it are the same.
        """
        text = "".join(pieces)
        folded = D.foldPowerShell(text)
        self.assertEqual(folded, _oldFold(text))
        self.assertEqual([m.span() for m in D._folds(folded).invoked.finditer(folded)],
                         [m.span() for m in _OLD.invoked.finditer(folded)])

    @settings(max_examples=500, deadline=None)
    @given(st.text(alphabet="'a+ ()", max_size=60))
    def test_literal(self, text: str) -> None:
        """
        The literal alone: main's matches, and the bounded one's wherever
        a literal holds no more than C{_PAIRS} doubled quotes.
        """
        old = [m.span() for m in re.finditer(_OLD_Q, text)]
        self.assertEqual([m.span() for m in D._EXACT.literal.finditer(text)], old)
        if text.count("''") <= D._PAIRS:
            self.assertEqual([m.span() for m in D._BOUNDED.literal.finditer(text)], old)


_SCANNED = Scanner([r for r in R.ALL_RULES if r.name in ("phone", "root_escape")])


class ScanTests(SynchronousTestCase):
    """
    L{Scanner.scan} reports the segments it reported before.
    """

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.text(alphabet="1 ./-+a\n", max_size=30), min_size=1, max_size=8))
    def test_segments(self, segments: list[str]) -> None:
        self.assertEqual(_SCANNED.scan(segments), _scanByBisect(_SCANNED, segments))

    def test_digitGroups(self) -> None:
        """
        100 KB of digit groups in four strings: every string reported, in
        under 0.15 s (main: about 0.06 s, and 0.03 now, on an idle machine).
        """
        segments = ["1 " * 12800] * 4
        self.assertEqual(_SCANNED.scan(segments), _scanByBisect(_SCANNED, segments))
        self.assertLess(bestTime(lambda s: _SCANNED.scan(segments), ""), 0.15)


def _scanByBisect(scanner: Scanner, segments: list[str]) -> dict[int, set[int]]:
    """
    L{Scanner.scan} as main wrote it: each match's segment searched.
    """
    encoded = [s.encode("utf-8", "surrogatepass") for s in segments]
    starts, offset = [], 0
    for e in encoded:
        starts.append(offset)
        offset += len(e) + 1
    hits: dict[int, set[int]] = {}

    def onMatch(rule: int, start: int, end: int, flags: int, context: object) -> None:
        hits.setdefault(rule, set()).add(bisect_right(starts, max(end - 1, 0)) - 1)

    db = scanner._database()
    assert db is not None
    db.scan(b"\n".join(encoded), match_event_handler=onMatch, scratch=scanner._scratchHere())
    for index in hits:
        if scanner.rules[index].single:
            hits[index] = set(range(len(segments)))
    return hits


_BYPASS = next(r for r in R.PATH_RULES if r.matcher == "first_of_run")
_BYPASS_RE = re.compile(_BYPASS.pattern, re.M | re.A | re.I)


class DotRunTests(SynchronousTestCase):
    """
    L{FirstOfRun} finds C{re}'s matches of C{filter_bypass}, in linear time.
    """

    def setUp(self) -> None:
        self.steps = mediumSteps()

    @settings(max_examples=1000, deadline=None)
    @given(st.lists(st.sampled_from([".", "..", "...", "....", "/", "\\", "\\\\", ";", "a", " ", "./", "../", "\n"]), max_size=30))
    def test_sameMatches(self, pieces: list[str]) -> None:
        text = "".join(pieces)
        self.assertEqual([m.span() for m in FirstOfRun(_BYPASS_RE).finditer(text)], [m.span() for m in _BYPASS_RE.finditer(text)])

    def test_dots(self) -> None:
        """
        64,000 dots, then a separator or not: under 0.1 s (main: 3 s for
        16,000).
        """
        for text in ("." * 64000, "." * 64000 + "/x"):
            self.assertLess(bestTime(lambda t: list(FirstOfRun(_BYPASS_RE).finditer(t)), text), 0.1)

    def test_inspected(self) -> None:
        """
        100 KB of C{\\u002e} (a dot, once decoded) and a backslash (the
        rule's C{....\\} is in it) as a tool's argument: under a second
        through the threat step (main: 3 s); the same climbs found in
        C{..../..../etc/passwd} as before.
        """
        text = "\\u002e" * 17000 + "\\u00"
        self.assertLess(bestTime(lambda t: verdict(self.steps, call("send_message", value=t)), text), 1.0)
        v = verdict(self.steps, call("read_file", path="..../..../etc/passwd"))
        self.assertIn("path_traversal.filter_bypass", rules(v))
