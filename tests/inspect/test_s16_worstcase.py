"""
Session 16: the threat step's worst case on adversarial bodies
(C{bench/adversarial.py} found them): the normalised SQL forms of a value
(L{akto_proxy.inspect.normalize}) were quadratic in a run of C{/*} that
never closes, in comments inside words blocked by a C{!}, and in a run of
NUL characters with no quote after it; C{traversal_to_sensitive_file}'s
confirmation tried every file name after every C{/} within 200 characters
of each climb (6 s on 100 KB of C{/../}); the phone validator's cue words
were tried one by one at each of 120 places before every candidate (2.3 s
on 100 KB of C{1 1 1}).  Each is now linear, or cheaper by its constant,
and reads the value exactly as before.
"""

from __future__ import annotations

import re

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect import normalize as N
from akto_proxy.inspect.checks import rules as R
from akto_proxy.inspect.checks.scanner import ClimbToFile
from akto_proxy.inspect.checks.validators import _PHONE_CUE
from tests.inspect.test_checks import call, mediumSteps, result, rules, verdict
from tests.inspect.test_s15_secrets import bestTime

#: bodies of 20 KB that cost seconds each on main (one, 17 s)
ADVERSARIAL = {
    "unclosed comments": "/* " * 6800,
    "comments in words": "a/* " * 5100,
    "comments in words before a bang": "a/* */ " * 2900 + "!",
    "versioned comments": "/*!" * 6800,
    "NUL run": "\x00" * 20400,
    "encoded NUL run": "%00" * 6800,
}

_OLD_NUL_QUOTE = re.compile("\x00+(?=['\"])")


class WorstCaseTests(SynchronousTestCase):
    """
    Each adversarial body, as a tool's argument, inspected at 20 KB and at
    80 KB within generous bounds (the best of three runs).
    """

    def setUp(self) -> None:
        self.steps = mediumSteps()

    def test_bounded(self) -> None:
        """
        20 KB of each takes under a second, 80 KB under four: linear, where
        main took seconds for 20 KB and minutes for 80.
        """
        for name, body in ADVERSARIAL.items():
            for times, limit in ((1, 1.0), (4, 4.0)):
                text = body * times
                seconds = bestTime(lambda t: verdict(self.steps, call("send_message", value=t)), text)
                self.assertLess(seconds, limit, (name, len(text)))

    def test_variantsLinear(self) -> None:
        """
        The normalised forms alone of 80 KB of each take under half a second.
        """
        for name, body in ADVERSARIAL.items():
            self.assertLess(bestTime(lambda t: list(N.variants(t)), body * 4), 0.5, name)


    def test_climbsBeforeAFile(self) -> None:
        """
        40 KB of climbs that reach no file (C{/../}, C{=.././}), then one
        that does: found, in under half a second (main: seconds).
        """
        for unit in ("/../", "=.././", "x=../"):
            text = unit * (40960 // len(unit)) + " ../etc/passwd"
            v = verdict(self.steps, call("read_file", path=text))
            self.assertIn("path_traversal.traversal_to_sensitive_file", rules(v))
            seconds = bestTime(lambda t: verdict(self.steps, call("read_file", path=t)), text)
            self.assertLess(seconds, 0.5, unit)

    def test_digitGroups(self) -> None:
        """
        80 KB of single digits between blanks or dashes in a tool's result,
        each a phone candidate: under half a second (main: about a second).
        """
        for unit in ("1 ", "1-"):
            text = unit * 40960
            self.assertLess(bestTime(lambda t: verdict(self.steps, result(t)), text), 0.5, unit)


_PIECES = st.lists(st.sampled_from(["/*", "*/", "!", "a", "Z", "@", " ", "/", "*", "1", "\n", "/*!", "'", "\x00", '"']), max_size=16)


class SameReadingTests(SynchronousTestCase):
    """
    The linear forms find what the patterns they replace found.
    """

    @settings(max_examples=500, deadline=None)
    @given(_PIECES)
    def test_comments(self, pieces: list[str]) -> None:
        """
        L{N.bangFreeComments} gives C{re}'s spans of L{N._SQL_COMMENT_PIECES}
        and, in words, of L{N._SQL_SPLIT}; L{N._closedComments} what
        C{sub} gives.
        """
        text = "".join(pieces)
        self.assertEqual(list(N.bangFreeComments(text)), [m.span() for m in N._SQL_COMMENT_PIECES.finditer(text)])
        self.assertEqual(list(N.bangFreeComments(text, inWord=True)), [m.span() for m in N._SQL_SPLIT.finditer(text)])
        self.assertEqual(N._closedComments(N._SQL_PLAIN_COMMENT, " ", text), N._SQL_PLAIN_COMMENT.sub(" ", text))
        self.assertEqual(N.joinSQLWords(text), _joinSQLWordsByRe(text))
        self.assertEqual(N.foldSQL(text), N._WS.sub(" ", N._SQL_LINE_COMMENT.sub(" ", N._SQL_COMMENT.sub(
            lambda m: f" {m.group(1) or ''} ", text.replace("\\'", "'").replace('\\"', '"')))))

    @settings(max_examples=300, deadline=None)
    @given(_PIECES)
    def test_nulBeforeQuote(self, pieces: list[str]) -> None:
        """
        NULs before a quote are dropped as before.
        """
        text = "".join(pieces)
        self.assertEqual(N._SQL_NUL_QUOTE.sub("", text), _OLD_NUL_QUOTE.sub("", text))


_CLIMB_RULE = next(r for r in R.PATH_RULES if r.matcher == "climb_to_file")
_CLIMB_RE = re.compile(_CLIMB_RULE.confirm or "", re.M | re.A | re.I)
_OLD_CUE = re.compile(_PHONE_CUE.pattern.split(")", 1)[1].removeprefix("(?:")[:-1], re.I)


class SameMatchTests(SynchronousTestCase):
    """
    L{ClimbToFile} finds C{re}'s matches of the confirmation; the phone cue
    with its first letters the matches of its words alone.
    """

    @settings(max_examples=800, deadline=None)
    @given(st.lists(st.sampled_from(["../", "..", "/", "=", " ", "'", "etc/passwd", "ETC/shadow", ".ssh/", "a", "\n", ".env",
                                     ":", "(", "var/log/", "apache/logs/", "error_log", "b" * 60, "/" * 30, "..\\"]), max_size=20))
    def test_climbs(self, pieces: list[str]) -> None:
        text = "".join(pieces)
        self.assertEqual([m.span() for m in ClimbToFile(_CLIMB_RE).finditer(text)], [m.span() for m in _CLIMB_RE.finditer(text)])

    @settings(max_examples=500, deadline=None)
    @given(st.lists(st.sampled_from(["tel", "TEL", "T\u00e9l", "Phones", "\u212aontakt", "\u017fms", "called", "text  me", "x", "1", " ",
                                     "\u96fb\u8a71", "\u260e", "Anruf", "num\u00e9ro", "_", "telefonnummer"]), max_size=10),
           st.integers(0, 80), st.integers(0, 80))
    def test_phoneCue(self, pieces: list[str], lo: int, hi: int) -> None:
        text = "".join(pieces)
        a, b = _PHONE_CUE.search(text, lo, hi), _OLD_CUE.search(text, lo, hi)
        self.assertEqual(a and a.span(), b and b.span())


def _joinSQLWordsByRe(text: str) -> str:
    """
    L{N.joinSQLWords} as main wrote it, with C{re.split}.
    """
    parts = N._SQL_COMMENT_PIECES.split(text)
    out = [parts[0]]
    for k in range(1, len(parts), 2):
        left = N._LETTERS_END.search(out[-1])
        right = N._LETTERS_START.match(parts[k + 1])
        if left and right and (left.group(0) + right.group(0)).lower() in N._SQL_PREFIXES:
            out.append(parts[k + 1])
        else:
            out.append(" " + parts[k + 1])
    return "".join(out)
