"""
Session 16: the threat step's worst case on adversarial bodies
(C{bench/adversarial.py} found them): the normalised SQL forms of a value
(L{akto_proxy.inspect.normalize}) were quadratic in a run of C{/*} that
never closes, in comments inside words blocked by a C{!}, and in a run of
NUL characters with no quote after it.  Each is now linear and reads the
value exactly as before.
"""

from __future__ import annotations

import re

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect import normalize as N
from tests.inspect.test_checks import call, mediumSteps, verdict
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
