"""
One Hyperscan database per rule set: every segment of a message is scanned in
a single call, whatever the number of rules.  Hyperscan only says which rule
hit which segment; C{re} then confirms the few hits and finds their spans.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_right
from typing import Callable, Iterator, Optional, Sequence

import hyperscan

from akto_proxy.inspect.checks.rules import CLIMB, CLIMB_PATH, Rule
from akto_proxy.inspect.hscache import compileDatabase

_SEPARATOR = b"\n"


def _flags(rule: Rule) -> int:
    """
    How a rule is compiled: multi-line, empty matches allowed, caseless and
    reported once as the rule says.
    """
    f = hyperscan.HS_FLAG_MULTILINE | hyperscan.HS_FLAG_ALLOWEMPTY
    if rule.caseless:
        f |= hyperscan.HS_FLAG_CASELESS
    if rule.single:
        f |= hyperscan.HS_FLAG_SINGLEMATCH
    return f


class Scanner:
    """
    A compiled rule set.  Safe to use from several threads: each has its own
    Hyperscan scratch space.

    Its database is its own, compiled when first needed (L{build}), or one
    it shares (L{share}): a larger database holding its rules among others,
    as the prefilter's of all a direction's rules does (one copy of the
    rules in memory instead of two).
    """

    def __init__(self, rules: Sequence[Rule], lines: bool = False, build: bool = True, shares: bool = True):
        """
        @param build: compile the database now (else when first needed, or
            never if it comes to L{share} one first).
        @param shares: whether it may L{share} a larger database (a set
            scanned over every string of a message, where the scan of a
            larger database would cost more than the memory it saves, says
            no).
        """
        self.rules = tuple(rules)
        #: its rules match only across a line break inside one string
        #: (L{Rule.lines}): worth asking only about strings that hold one
        self.lines = lines
        self.shares = shares
        self._db: Optional[hyperscan.Database] = None
        self._python: dict[int, re.Pattern[str]] = {}
        self._local = threading.local()
        # Rules that can count on a string as written: those matched on the
        # raw form, and the bulk rules (counted on raw strings whatever
        # their variants).
        self._raw = frozenset(i for i, r in enumerate(self.rules) if "r" in r.variants or r.entity == "bulk")
        # the database's id of rule 0 (not 0 in a shared database), and the
        # ids of the rules above as the database numbers them
        self._first = 0
        self._rawIds = self._raw
        if build:
            self.build()

    def __bool__(self) -> bool:
        return bool(self.rules)

    def build(self) -> None:
        """
        Compile this set's own database, unless it has one or shares one.
        """
        if self._db is not None or not self.rules:
            return
        expressions, flags = self.expressions()
        db = compileDatabase(expressions, list(range(len(expressions))), flags)
        self._use(db, hyperscan.Scratch(db), 0, threading.get_ident())

    def expressions(self) -> tuple[list[bytes], list[int]]:
        """
        The expressions and Hyperscan flags of its rules, in order.
        """
        return [r.pattern.encode("utf-8") for r in self.rules], [_flags(r) for r in self.rules]

    def rawIndexes(self) -> list[int]:
        """
        The indexes of the rules L{matchesRaw} counts.
        """
        return sorted(self._raw)

    def share(self, db: "hyperscan.Database", scratch: "hyperscan.Scratch", first: int, owner: int) -> None:
        """
        Scan C{db} from now on, which holds this set's rules, compiled as
        L{expressions} says, as ids C{first} to C{first + len(rules) - 1}
        (ids outside are another's rules, and ignored); C{scratch} is its
        scratch space for thread C{owner}, which that thread uses for
        nothing else while a scan of this set runs.
        """
        self._use(db, scratch, first, owner)

    def _use(self, db: "hyperscan.Database", scratch: "hyperscan.Scratch", first: int, owner: int) -> None:
        self._db = db
        self._scratch = scratch
        self._owner = owner
        self._local = threading.local()
        self._first = first
        self._rawIds = frozenset(i + first for i in self._raw)

    def _database(self) -> Optional["hyperscan.Database"]:
        if self._db is None:
            self.build()
        return self._db

    def mayMatch(self, text: str) -> bool:
        """
        Whether a rule of this set could match in C{text} alone: any text,
        but for a set of L{lines} rules only one that holds a line break.
        """
        return not self.lines or "\n" in text or "\r" in text

    def python(self, index: int) -> "re.Pattern[str]":
        """
        The rule as a C{re} pattern, for spans and confirmation.
        """
        pattern = self._python.get(index)
        if pattern is None:
            rule = self.rules[index]
            flags = re.M | re.A | (re.I if rule.caseless else 0)
            pattern = re.compile(rule.confirm or rule.pattern, flags)
            if rule.matcher is not None:
                pattern = MATCHERS[rule.matcher](pattern)  # type: ignore[assignment]
            self._python[index] = pattern
        return pattern

    def _scratchHere(self) -> "hyperscan.Scratch":
        if threading.get_ident() == self._owner:
            return self._scratch
        scratch = getattr(self._local, "scratch", None)
        if scratch is None:
            scratch = self._local.scratch = self._scratch.clone()
        return scratch

    def scan(self, segments: Sequence[str]) -> dict[int, set[int]]:
        """
        Which rules hit which segments: rule index to segment indexes.
        """
        hits: dict[int, set[int]] = {}
        db = self._database()
        if db is None or not segments:
            return hits
        encoded = [s.encode("utf-8", "surrogatepass") for s in segments]
        starts: list[int] = []
        offset = 0
        for e in encoded:
            starts.append(offset)
            offset += len(e) + 1
        buffer = _SEPARATOR.join(encoded)
        first = self._first
        count = len(self.rules)
        # the segment the last match ended in, [low, high) of the buffer:
        # matches mostly end where the last did (a body of 1 1 1 ... is a
        # phone candidate at every digit), found without a search
        at = [0, 0, starts[1] if len(starts) > 1 else offset]  # segment, low, high

        def onMatch(rule: int, start: int, end: int, flags: int, context: object) -> None:
            rule -= first
            if rule < 0 or rule >= count:
                return  # another set's rule, in a shared database
            last = end - 1 if end else 0
            if not at[1] <= last < at[2]:
                k = bisect_right(starts, last) - 1
                at[0], at[1], at[2] = k, starts[k], starts[k + 1] if k + 1 < len(starts) else offset
            found = hits.get(rule)
            if found is None:
                hits[rule] = {at[0]}
            else:
                found.add(at[0])

        db.scan(buffer, match_event_handler=onMatch, scratch=self._scratchHere())
        for index in hits:
            if self.rules[index].single:
                hits[index] = set(range(len(segments)))
        return hits

    def matchesRaw(self, buffer: bytes) -> bool:
        """
        Whether a rule that can count on a string as written matches
        anywhere in C{buffer}; stops at the first.
        """
        db = self._database()
        if db is None:
            return False
        try:
            db.scan(buffer, match_event_handler=self._onRaw, scratch=self._scratchHere())
        except hyperscan.ScanTerminated:
            return True
        return False

    def _onRaw(self, rule: int, start: int, end: int, flags: int, context: object) -> bool:
        return rule in self._rawIds  # True stops the scan

    def candidates(self, index: int, text: str) -> Iterator[tuple[int, int]]:
        """
        The spans of rule C{index} in C{text}, unconfirmed, as they are found.
        """
        group = self.rules[index].group
        for m in self.python(index).finditer(text):
            if m.group(group) is not None:
                yield m.span(group)

    def spans(
        self, index: int, text: str, check: Optional[Callable[[str], bool]] = None
    ) -> list[tuple[int, int]]:
        """
        The confirmed spans of rule C{index} in C{text}; C{check}, a
        function of the value alone, is asked once about each value (a body
        of one key repeated was judged as many times, 1 s per 100 KB).
        """
        rule = self.rules[index]
        out = []
        judged: dict[str, bool] = {}
        for m in self.python(index).finditer(text):
            value = m.group(rule.group)
            if value is None:
                continue
            if check is not None:
                ok = judged.get(value)
                if ok is None:
                    ok = judged[value] = bool(check(value))
                if not ok:
                    continue
            out.append(m.span(rule.group))
        return out


class _Found:
    """
    A match L{ClimbToFile} found, as much of C{re.Match} as the scanner asks.
    """

    def __init__(self, string: str, start: int, end: int):
        self.string = string
        self._span = (start, end)

    def group(self, group: int = 0) -> str:
        return self.string[self._span[0]:self._span[1]]

    def span(self, group: int = 0) -> tuple[int, int]:
        return self._span

    def start(self, group: int = 0) -> int:
        return self._span[0]

    def end(self, group: int = 0) -> int:
        return self._span[1]


_PATH_RUN = re.compile(r"[^\s'\"]{0,201}", re.A)


class ClimbToFile:
    """
    The matches of C{CLIMB + CLIMB_PATH + file} (a confirmation whose
    C{re} pattern it is given), the same C{re} finds, in time linear in
    the text: C{re} tries the file's names after every C{/} within 200
    characters of each climb, again for the next climb (a body of C{/../}
    cost 6 s per 100 KB); this asks about the place after each C{/} once,
    the climbs' windows moving forward only.
    """

    def __init__(self, pattern: "re.Pattern[str]"):
        self.pattern = pattern
        prefix = CLIMB + CLIMB_PATH
        assert pattern.pattern.startswith(prefix), pattern.pattern[:80]
        self._climb = re.compile(CLIMB, pattern.flags)
        self._file = re.compile(pattern.pattern[len(prefix):], pattern.flags)

    def search(self, text: str) -> Optional[_Found]:
        return next(self.finditer(text), None)

    def finditer(self, text: str) -> Iterator[_Found]:
        fileAt = self._file.match
        known: dict[int, Optional[int]] = {}  # place after a / -> the file's end there
        files: list[int] = []  # the places, in order, where a file's name starts
        asked = 0  # every / before this was asked about
        pos = 0
        n = len(text)
        while pos <= n:
            climb = self._climb.search(text, pos)
            if climb is None:
                return
            start, after = climb.span()
            # the path: the longest run of up to 200 characters (no blank,
            # no quote) followed by a /; re tries the last / first
            run = _PATH_RUN.match(text, after).end() - after
            last = after + min(200, run - 1)  # the rightmost place of that /
            for slash in range(max(asked, after), last + 1):
                if text[slash] == "/":
                    end = fileAt(text, slash + 1)
                    known[slash + 1] = end.end() if end is not None else None
                    if end is not None:
                        files.append(slash + 1)
            asked = max(asked, last + 1)
            # the rightmost / in the window with a file after it
            k = bisect_right(files, last + 1) - 1
            if k >= 0 and files[k] >= after + 1:
                place = files[k]
            else:
                place = after  # no path between: the file right after the climbs
                if place not in known:
                    end = fileAt(text, place)
                    known[place] = end.end() if end is not None else None
            end_ = known.get(place)
            if end_ is None:
                pos = start + 1
                continue
            yield _Found(text, start, end_)
            pos = end_ if end_ > start else start + 1


class FirstOfRun:
    r"""
    The matches of a pattern whose first alternative opens with a run of
    dots (C{filter_bypass}: C{(?:\.{3,}[/\\]){2,}|...}), those C{re}
    finds, in time linear in the text: C{re} tried that alternative from
    every dot of a run that no separator ends, each time to the run's end
    (3 s for 16,000 dots).  A place after a dot is tried only once the dot
    before failed, and that dot's run is the longer one with the same end:
    the alternative fails after a dot, except where the last match ended
    (nothing was tried before it), so it is only tried there or after
    anything but a dot.
    """

    def __init__(self, pattern: "re.Pattern[str]"):
        self.pattern = pattern
        first, _, rest = pattern.pattern.partition("|")
        assert first.startswith(r"(?:\.{3,}"), first
        self._after = re.compile(r"(?<!\.)" + first + "|" + rest, pattern.flags)

    def search(self, text: str) -> Optional["re.Match[str]"]:
        return next(self.finditer(text), None)

    def finditer(self, text: str) -> Iterator["re.Match[str]"]:
        pos = 0
        n = len(text)
        while pos <= n:
            m = self.pattern.match(text, pos) if pos and text[pos - 1] == "." else None
            if m is None:
                m = self._after.search(text, pos)
            if m is None:
                return
            yield m
            pos = m.end() if m.end() > m.start() else m.start() + 1


#: readers of a confirmation by name (L{Rule.matcher})
MATCHERS: dict[str, Callable[["re.Pattern[str]"], "ClimbToFile | FirstOfRun"]] = {"climb_to_file": ClimbToFile, "first_of_run": FirstOfRun}


def mask(text: str, spans: Sequence[tuple[int, int, str]]) -> str:
    """
    C{text} with each span replaced by C{[REDACTED:<label>]}; overlapping
    spans merge into the first.
    """
    out = []
    last = 0
    for start, end, label in sorted(spans):
        if start < last:
            continue
        out.append(text[last:start])
        out.append(f"[REDACTED:{label}]")
        last = end
    out.append(text[last:])
    return "".join(out)
