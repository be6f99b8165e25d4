"""
One pass that proves a message clean for every pattern step at once.

Most agent traffic matches nothing.  Each pattern step (the threat checks,
custom rules, content filters) would find that out on its own: its own
guards, scopes, normalisation and pattern set, per message.  The prefilter
asks the same question once:

    - the threat checks: the string as written is the only form the step
      would match (L{rawOnly}), and no rule that applies to strings as
      written hits in the direction's Hyperscan databases (one of all its
      rule sets but those that keep their own);
    - custom rules and content filters: none of their patterns matches in
      the message's strings: one Hyperscan database of the patterns it
      takes exactly, for ASCII text, else one RE2 set of them all.

When both hold, those steps would each answer PASS and the chain skips
them.  Every test errs one way: a hit that might not count (a match across
two joined strings, a rule that would then be scoped away or not
confirmed) only sends the message down the full path.

Large messages (those the steps inspect off the reactor thread) are asked
about only when the proof takes pattern databases alone, which scan at
GB/s (less than the relay of the bytes costs): not when a step that judges
responses itself (L{mayFindInResponse}: prompt injection, a scan of tens
of MB/s) would be asked, nor for requests whose strings the threat checks
match in decoded forms too.  A large JSON body can be proven clean from its raw bytes
(L{cleanRaw}), without parsing it into strings and paths.
"""

from __future__ import annotations

import re
import threading
from typing import Any, Iterable, Iterator, Optional, Sequence

import hyperscan
import re2
from twisted.logger import Logger

from akto_proxy.inspect.chain import ANY_METHOD
from akto_proxy.inspect.checks.custom import PatternInspector
from akto_proxy.inspect.checks.offload import THRESHOLD
from akto_proxy.inspect.checks.scanner import Scanner
from akto_proxy.inspect.checks.threats import ThreatInspector
from akto_proxy.inspect.hscache import compileDatabase, compileProblem
from akto_proxy.inspect.message import Message
from akto_proxy.inspect.normalize import rawOnly

log = Logger()

# Anchors that a set matched over strings joined by line breaks would get
# wrong in the unsafe direction (C{^} and C{$} only widen under C{(?m)}):
# C{\A}, C{\z}, and any flag group that clears a flag (C{(?-m)}, and
# C{(?i-m)}, C{(?s-m:...)} as well, which make C{^} and C{$} the whole
# text's again)
_ABSOLUTE = re.compile(r"\\[AzZ]|\(\?[a-zA-Z]*-")

# The same, for Hyperscan rules (C{(?-i:...)} is common and harmless).
_WHOLE_TEXT = re.compile(r"\\[AzZ]|\(\?[a-zA-Z]*-[a-zA-Z]*m")

#: a JSON body's string delimiters made line breaks (L{cleanRaw})
_QUOTES_TO_LINES = bytes.maketrans(b'"', b"\n")

# What may be a line anchor (C{^}, C{$}) once escapes are taken out: a C{^}
# that opens a class is none; any other C{^} or C{$} counts, though one
# inside a class is a literal (L{cleanUnread} then asks of a pattern more
# than it need)
_ESCAPED = re.compile(r"\\.", re.S)
_ANCHOR = re.compile(r"[$^]")
_EXTENDED = re.compile(r"\(\?[a-zA-Z]*x")


def _lineAnchored(pattern: str) -> bool:
    """
    Whether C{pattern} may hold a line anchor (C{^} or C{$}): a match that
    depends on what is next to it, which a string alone and the same
    string inside a larger text (between quotes) answer differently.
    Errs towards yes: a quoted run (C{\\Q...\\E}) or extended mode (whose
    comments may hold anything) count as anchored.
    """
    if "\\Q" in pattern or _EXTENDED.search(pattern):
        return True
    return bool(_ANCHOR.search(_ESCAPED.sub("", pattern).replace("[^", "[")))


class Prefilter:
    """
    @ivar covered: the indexes of the chain's steps that may be skipped for a
        message that L{clean} passes.
    """

    def __init__(self, steps: Sequence[object], maxSize: int = THRESHOLD):
        self._maxSize = maxSize
        # the threat step's scanners (none: nothing to match that way)
        self._threats: dict[str, tuple[Scanner, ...]] = {"request": (), "response": ()}
        self._folds = False
        # a threat rule anchored to the start or end of the whole text
        # (matched over strings joined, it sees only the first or last)
        self._anchored = False
        patterns: list[str] = []
        responseSteps: list[Any] = []
        covered: list[int] = []
        patternSteps: list[int] = []
        threats = False
        for i, step in enumerate(steps):
            if isinstance(step, ThreatInspector):
                if threats:
                    continue  # one threat step is what the configuration builds
                threats = True
                self._threats = {d: tuple(s for s in step.scanners(d) if s) for d in ("request", "response")}
                self._folds = step.foldsRequests
                rules = [r for d in ("request", "response") for sc in step.scanners(d) for r in sc.rules]
                self._anchored = any(_WHOLE_TEXT.search(r.pattern) for r in rules)
                covered.append(i)
                patternSteps.append(i)
            elif isinstance(step, PatternInspector):
                own = step.patterns()
                if any(_ABSOLUTE.search(p) for p in own):
                    continue
                patterns.extend(own)
                covered.append(i)
                patternSteps.append(i)
            elif hasattr(step, "mayFindInResponse"):
                # a step that judges responses only, and says itself in one
                # scan whether it could find anything (prompt injection)
                # (one that judges only some methods, C{methods}, need not
                # scan the others: prompt injection leaves */list alone)
                responseSteps.append((step, getattr(step, "methods", None)))
                covered.append(i)
        # All custom patterns in one RE2 set; those Hyperscan takes exactly
        # (no approximation) also in one Hyperscan database, asked instead
        # of the set for ASCII text (a smaller, cheaper scan when caches
        # are cold; for other text the set decides, as the steps' own RE2
        # would, case folding included).
        self._set: Optional[re2.Set] = None
        self._hs: Optional[hyperscan.Database] = None
        self._rest: Optional[re2.Set] = None  # what Hyperscan did not take
        # the thread the scratch spaces below belong to (Hyperscan's scratch
        # is one thread's at a time; others take the slower ways)
        self._owner = threading.get_ident()
        exact: list[str] = []
        if patterns:
            self._set = _re2Set(patterns)
            exact = [p for p in patterns if _hyperscanTakes(p)]
            if exact:
                try:
                    db = compileDatabase([p.encode("utf-8") for p in exact], list(range(len(exact))), [_HS_FLAGS] * len(exact))
                except hyperscan.error:
                    log.warn("custom patterns kept in RE2 only: Hyperscan cannot take them together")
                else:
                    self._hs = db
                    self._hsScratch = hyperscan.Scratch(db)
                    rest = [p for p in patterns if p not in exact]
                    self._rest = _re2Set(rest) if rest else None
        self._responseSteps = tuple(responseSteps)
        self.covered = frozenset(covered)
        #: the covered steps proven clean by pattern databases alone (the
        #: threat checks, custom rules, content filters: L{cleanOfPatterns})
        self.patternSteps = frozenset(patternSteps)
        # Per direction, one database of everything the joined strings are
        # scanned for (the threat rules L{Scanner.matchesRaw} counts and
        # the custom patterns Hyperscan takes): a message it finds nothing
        # in needs none of those scans, each of which costs about as much
        # as the one.  Anything it finds, the scans say what it was.  A set
        # all of whose rules count here, and that may (L{Scanner.shares}),
        # scans this database from then on instead of its own
        # (L{Scanner.share}): one copy of its rules in memory, not two (the
        # value rules' and the response's: 2 MiB of the sample's 12 in
        # databases).  A set that may not share (the request's general
        # rules: scanned over every string of a message the proof fails
        # for, where a larger database would cost its time) is not copied
        # here either: its own database is scanned beside this one
        # (L{_outside}); the copy was 2.5 of the sample's 6.1 MB.
        #
        # Per direction, the JSON reading of a large body beyond its text
        # reading (L{cleanUnread}): the expressions that may be anchored to
        # lines; a direction left out asks L{cleanRaw} in full (an anchored
        # pattern only RE2 takes), as does a direction whose large bodies
        # are not asked about at all (requests whose strings the threat
        # checks match decoded too).  Where each of them can be made
        # L{relaxed}, the relaxed forms join the database of both, so that
        # a large body it finds nothing in is clean both ways
        # (L{cleanUnread}); they are ignored elsewhere (a small message in
        # which one hits only takes the scans one at a time).
        anchored: dict[str, tuple[list[bytes], list[int]]] = {}
        anchoredCustom = [p for p in patterns if _lineAnchored(p)]
        if all(p in exact for p in anchoredCustom):
            for direction, scanners in self._threats.items():
                if self._slow(direction, None):
                    continue  # not worth the compiling
                lineExpressions: list[bytes] = []
                lineFlags: list[int] = []
                for scanner in scanners:
                    if scanner.lines:
                        continue  # never matches a string without a line break
                    e, f = scanner.expressions()
                    for i in scanner.rawIndexes():
                        if _lineAnchored(e[i].decode("utf-8")):
                            lineExpressions.append(e[i])
                            lineFlags.append(f[i])
                lineExpressions += [p.encode("utf-8") for p in anchoredCustom]
                lineFlags += [_HS_FLAGS] * len(anchoredCustom)
                anchored[direction] = (lineExpressions, lineFlags)
        self._relaxed: set[str] = set()  # directions whose database of both holds the relaxed forms
        self._firstRelaxed: dict[str, int] = {}  # the id of the first relaxed form in each
        self._together: dict[str, tuple[hyperscan.Database, hyperscan.Scratch]] = {}
        # per direction, the database of both in stream mode (L{watch})
        self._streamed: dict[str, hyperscan.Database] = {}
        # per direction, the sets of rules the database of both leaves out,
        # scanned on their own even where it finds nothing
        self._outside: dict[str, frozenset[Scanner]] = {}
        for direction, scanners in self._threats.items():
            expressions: list[bytes] = []
            flags: list[int] = []
            parts: list[tuple[Scanner, int]] = []
            scans = 0
            outside = frozenset(s for s in scanners if not s.lines and not s.shares and s.rawIndexes())
            for scanner in scanners:
                if scanner.lines or scanner in outside:
                    continue
                e, f = scanner.expressions()
                raw = scanner.rawIndexes()
                if scanner.shares and len(raw) == len(e):
                    parts.append((scanner, len(expressions)))
                else:  # only what counts here
                    e, f = [e[i] for i in raw], [f[i] for i in raw]
                expressions += e
                flags += f
                scans += bool(raw)
            if self._hs is not None:
                expressions += [p.encode("utf-8") for p in exact]
                flags += [_HS_FLAGS] * len(exact)
                scans += 1
            if scans < 2:
                continue  # one scan already
            lineExpressions, lineFlags = anchored.get(direction, ([], []))
            loose = [relaxed(e.decode("utf-8")) for e in lineExpressions]
            if lineExpressions and all(r is not None for r in loose):
                relaxedExpressions = [r.encode("utf-8") for r in loose if r is not None]
            else:
                relaxedExpressions = []
            whole = expressions + relaxedExpressions
            wholeFlags = flags + lineFlags[: len(relaxedExpressions)]
            try:
                db = compileDatabase(whole, list(range(len(whole))), wholeFlags)
            except hyperscan.error:
                whole, wholeFlags = expressions, flags
                try:
                    db = compileDatabase(expressions, list(range(len(expressions))), flags)
                except hyperscan.error:
                    log.warn("{direction} patterns scanned one set at a time: Hyperscan cannot take them together", direction=direction)
                    continue
            else:
                if relaxedExpressions:
                    self._relaxed.add(direction)
                    self._firstRelaxed[direction] = len(expressions)
            scratch = hyperscan.Scratch(db)
            self._together[direction] = (db, scratch)
            self._outside[direction] = outside
            if direction == "response" and not self._slow(direction, None):
                # the same expressions in stream mode, for a large body
                # scanned as it arrives (L{watch})
                try:
                    streamed = compileDatabase(whole, list(range(len(whole))), wholeFlags, hyperscan.HS_MODE_STREAM)
                except hyperscan.error:
                    log.info("large responses are scanned once whole: Hyperscan cannot stream their patterns")
                else:
                    streamed.scratch = hyperscan.Scratch(streamed)  # closing a stream takes its database's own
                    self._streamed[direction] = streamed
            for scanner, first in parts:
                scanner.share(db, scratch, first, self._owner)
        # Per direction, a stream-mode database of the anchored expressions
        # (L{linesMatch}: None when there are none), for the large bodies
        # in which the database of both finds something.
        self._anchoredLines: dict[str, Optional[hyperscan.Database]] = {}
        for direction, (expressions, flags) in anchored.items():
            if not expressions:
                self._anchoredLines[direction] = None
                continue
            try:
                db = compileDatabase(expressions, list(range(len(expressions))), flags, hyperscan.HS_MODE_STREAM)
            except hyperscan.error:
                continue
            db.scratch = hyperscan.Scratch(db)  # closing a stream takes its database's own
            self._anchoredLines[direction] = db

    def __bool__(self) -> bool:
        return bool(self.covered)

    def clean(self, message: Message) -> bool:
        """
        Whether every covered step would pass C{message}.
        """
        if message.size >= self._maxSize and self._slow(message.direction, message.method):
            return False
        return self._clean(message.direction, message.transport == "url", message.joined, tuple(t for _, t in message.strings), message.method)

    def cleanOfPatterns(self, message: Message) -> bool:
        """
        For a large response that L{clean} does not ask about (a step that
        judges responses itself is asked about it: a tool result), whether
        each step of L{patternSteps} would pass C{message}: the proof of
        L{clean} without that step's question, the scans of pattern
        databases (GB/s).  False for any other message (L{clean} answered
        for it).
        """
        if message.direction != "response" or message.size < self._maxSize or not self._slow("response", message.method):
            return False
        return self._cleanParts("response", tuple(t for _, t in message.strings))

    def _cleanParts(self, direction: str, texts: Sequence[str]) -> bool:
        """
        L{_cleanData} of the strings C{texts} of a large message, without
        the message's strings joined: each string of the large-message size
        or more is asked alone (its own UTF-8), the rest together, one per
        line.  Each step matches each string alone, so this finds all the
        joined lines would (and less of what only spans two strings, which
        counts as not clean there); what it saves is the joined copy of the
        body and its UTF-8, both held at once beside the body and its
        parsed strings.
        """
        small: list[str] = []
        try:
            for text in texts:
                if len(text) < self._maxSize:
                    small.append(text)
                elif not self._cleanData(direction, text.encode("utf-8"), alone=True):
                    return False
            return not small or self._cleanData(direction, "\n".join(small).encode("utf-8"), small)
        except UnicodeEncodeError:
            return False  # lone surrogates: the steps say what they make of them

    def cleanTexts(self, direction: str, texts: Sequence[str], method: Optional[str] = ANY_METHOD) -> bool:
        """
        L{clean} for a message of C{direction} (not a URL one) holding the
        strings C{texts}, in any order, before a L{Message} is built.

        @param method: its method (for a response, that of the request it
            answers; None when not known), as its L{Message} would hold
            it; L{ANY_METHOD} when the caller does not know it.
        """
        if sum(map(len, texts)) >= self._maxSize and self._slow(direction, method):
            return False
        return self._clean(direction, False, "\n".join(texts), texts, method)

    def cleanRaw(self, direction: str, body: bytes, method: Optional[str] = None) -> Optional[bool]:
        """
        L{cleanTexts} for a message whose strings are those of the JSON
        C{body} (every string in it, or fewer: keys, the strings of a
        JSON-RPC envelope), asked of its raw bytes: None when they cannot
        tell, and the strings must be asked; False too when a large
        message would not be asked about at all (see the module's
        description).

        The bytes tell when C{body} is UTF-8 (no NUL, no byte order mark:
        as the JSON decoder read it) holding no backslash (no escape: each
        string is the bytes between its quotes, and holds no line break,
        which strict JSON writes escaped): with each quote made
        a line break, every string is a line of its own, with the same
        neighbours a match can see as when the strings are joined by line
        breaks.  What else is there (keys, numbers, punctuation) can only
        add hits, which count as not clean.  Only where large messages are
        asked about at all (see the module's description).
        """
        if self._slow(direction, method):
            return False  # nor would its strings be asked: the full path
        if b"\\" in body or self._anchored:
            return None
        if b"\x00" in body or body[:3] == b"\xef\xbb\xbf":
            return None  # UTF-16 or -32 (JSON holds no NUL), or a byte order mark
        if not body.isascii():
            try:
                body.decode("utf-8")
            except UnicodeDecodeError:
                return None
        if not self._threats[direction] and self._set is None:
            return True  # no pattern to look for: not worth the copy
        return self._cleanData(direction, body.translate(_QUOTES_TO_LINES))

    def watch(self, direction: str) -> "Streamed":
        """
        What L{cleanUnread} asks of the bytes of a large message of
        C{direction}, asked as they arrive (L{Streamed}): fed each chunk,
        ended when the body is whole, and given to L{cleanUnread} with it.
        The scan streams only on the thread that owns the database's
        scratch space (this prefilter's), where it is fed, ended and
        closed; elsewhere only the byte tests are told.
        """
        db = self._streamed.get(direction) if threading.get_ident() == self._owner else None
        return Streamed(self, direction, db)

    def cleanUnread(self, direction: str, body: bytes, asJSON: bool, seen: Optional["Streamed"] = None) -> Optional[bool]:
        """
        Whether a large message of C{direction} whose bytes are C{body}
        passes every covered step both as the one text it is (L{cleanText})
        and, when it may parse (C{asJSON}), as the JSON it may be
        (L{cleanRaw}), asked of its bytes without decoding them.  True:
        clean both ways; else not known.

        The JSON reading asks little more than the text one: without a
        backslash, each of the JSON's strings is the run of the text between
        two quotes, so a pattern that matches in a string alone matches
        there in the text too, unless the match hangs on what is next to
        the string, which is a quote in the text and nothing alone: C{\\b}
        and C{\\B} see no word character either way, the anchors of the
        whole text turn the raw proof off (L{cleanRaw}), and line anchors
        (C{^}, C{$}) remain.  Their L{relaxed} forms are in the database
        the text reading scans (when each has one): where it finds nothing
        at all, no anchored pattern matches in a string alone.  Else those
        patterns are asked of the body with its quotes made line breaks,
        as L{cleanRaw} asks every pattern, a window at a time
        (L{linesMatch}).

        @param seen: what was told of C{body} as it arrived (L{watch}):
            used only when it was told of these bytes, whole, by this
            prefilter for C{direction}; each answer is the one its test of
            the whole body gives.
        """
        own = threading.get_ident() == self._owner
        if seen is not None and not seen.tells(self, direction, body):
            seen = None
        # what the database of both says of the body, when it was scanned as
        # it arrived (ASCII, on this thread)
        scanned = seen.quiet if seen is not None and own else None
        ascii: Optional[bool] = None
        quiet = None
        if asJSON and direction in self._relaxed and own and len(body) >= self._maxSize:
            ascii = body.isascii() if seen is None else seen.ascii
            if ascii:
                quiet = self._quiet(direction, body) if scanned is None else scanned
        text = self.cleanText(direction, body, quiet=quiet if quiet is not None else scanned, seen=seen)
        if not text or not asJSON:
            return text
        if (b"\\" in body if seen is None else seen.backslash) or self._anchored or body[:3] == b"\xef\xbb\xbf":
            return None
        if ascii is None:
            ascii = body.isascii() if seen is None else seen.ascii
        if direction not in self._anchoredLines or not own or not ascii:
            return self.cleanRaw(direction, body)
        anchored = self._anchoredLines[direction]
        if anchored is None or quiet:
            return True  # nothing anchored, or not even the relaxed forms hit
        return not linesMatch(anchored, windows(body))

    def cleanText(
        self, direction: str, body: bytes, method: Optional[str] = None, quiet: Optional[bool] = None, seen: Optional["Streamed"] = None
    ) -> Optional[bool]:
        """
        L{clean} for a large message whose one string is the text C{body}
        (a body that is not JSON, or does not parse), asked of its bytes
        without decoding them: None when they are not plainly text (not
        UTF-8, or holding a NUL, which may make them binary data); False
        when they are too short to be asked this way, or when a large
        message would not be asked about at all (see the module's
        description).

        The text's UTF-8 is C{body} itself, so this is the scan L{clean}
        makes of it; past the size at which large messages are told
        apart, nothing else is asked of a message whose scans take pattern
        databases alone.

        @param quiet: what L{_quiet} says of C{body} (ASCII), when it was
            asked.
        @param seen: what was told of C{body} as it arrived (L{watch}),
            when it was told of these bytes, whole (L{Streamed.tells}).
        """
        if len(body) < self._maxSize or self._slow(direction, method):
            return False
        if b"\x00" in body if seen is None else seen.nul:
            return None
        if quiet is None and not (body.isascii() if seen is None else seen.ascii):
            try:
                body.decode("utf-8")
            except UnicodeDecodeError:
                return None
        return self._cleanData(direction, body, alone=True, quiet=quiet)

    def _slow(self, direction: str, method: Optional[str]) -> bool:
        """
        Whether proving a message of C{direction} and C{method} clean takes
        more than pattern databases: a step that judges responses itself
        (its scan, tens of MB/s, and its model), or the tests of a
        request's strings for decoded forms (Python regular expressions).
        """
        if direction == "request":
            return self._folds and bool(self._threats["request"])
        return any(methods is None or method == ANY_METHOD or method in methods for _, methods in self._responseSteps)

    def _clean(self, direction: str, plus: bool, joined: str, texts: Sequence[str], method: Optional[str]) -> bool:
        """
        The pattern steps, then for a response the steps that judge
        responses themselves (L{mayFindInResponse}).
        """
        try:
            data = joined.encode("utf-8")
        except UnicodeEncodeError:
            return False  # lone surrogates: the steps say what they make of them
        # Injection checks match requests in normalised forms too.
        if self._threats[direction] and self._folds and direction == "request" and not rawOnly(joined, plus):
            return False
        if not self._cleanData(direction, data, texts):
            return False
        if direction == "response" and self._responseSteps:
            for step, methods in self._responseSteps:
                if methods is not None and method != ANY_METHOD and method not in methods:
                    continue  # the step passes this message whatever it holds
                if step.mayFindInResponse(joined, texts):
                    return False
        return True

    def _quiet(self, direction: str, data: bytes) -> bool:
        """
        Whether the database of both (threat and custom rules, and the
        relaxed forms of the anchored ones) of C{direction} finds nothing
        in C{data} (ASCII; asked on the thread that owns its scratch): the
        sets of rules it leaves out (L{_outside}) are still to be asked.
        """
        db, scratch = self._together[direction]
        try:
            db.scan(data, match_event_handler=_stop, scratch=scratch)
        except hyperscan.ScanTerminated:
            return False
        return True

    def _cleanData(
        self, direction: str, data: bytes, texts: Optional[Sequence[str]] = None, alone: bool = False, quiet: Optional[bool] = None
    ) -> bool:
        """
        No threat rule that counts on strings as written, and no custom
        rule or content filter pattern, hits in C{data}, which holds each
        of the message's strings (C{texts}, or None when none of them holds
        a line break) as a line of its own; a hit across lines counts when
        the strings are not known.

        @param alone: C{data} is the UTF-8 of the message's one string
            (C{texts} unused).
        @param quiet: what L{_quiet} says of C{data} (ASCII, on this thread), when it was asked.
        """
        # Hyperscan's answer stands for ASCII data (case folding beyond it is
        # RE2's), and the scratch spaces are this thread's
        # (L{_quiet} was asked of ASCII data on this thread)
        own = quiet is not None or (data.isascii() and threading.get_ident() == self._owner)
        if quiet is None:
            # nothing of the database of both (threat and custom rules) is in data
            quiet = own and direction in self._together and self._quiet(direction, data)
        outside = self._outside.get(direction, ()) if quiet else ()
        for scanner in self._threats[direction]:
            if scanner.lines:
                # rules that need a line break inside one string
                if alone:
                    if (b"\n" in data or b"\r" in data) and scanner.matchesRaw(data):
                        return False
                    continue
                for text in texts or ():
                    if scanner.mayMatch(text) and scanner.matchesRaw(text.encode("utf-8")):
                        return False
                continue
            if (not quiet or scanner in outside) and scanner.matchesRaw(data):
                if texts is None or alone:
                    return False
                # Perhaps only across two strings: ask each on its own.
                for text in texts:
                    if text and scanner.matchesRaw(text.encode("utf-8")):
                        return False
        if self._set is not None:
            if self._hs is not None and own:
                if not quiet:
                    try:
                        self._hs.scan(data, match_event_handler=_stop, scratch=self._hsScratch)
                    except hyperscan.ScanTerminated:
                        return False
                if self._rest is not None and self._rest.Match(data):
                    return False
            elif self._set.Match(data):
                return False
        return True


def relaxed(pattern: str) -> Optional[str]:
    """
    A Hyperscan pattern that matches in the raw bytes of a JSON text
    wherever C{pattern} (multi-line) matches in one of its strings alone,
    when that string holds no line break (no escape: each is the run of the
    text between two quotes); None when C{pattern} holds syntax this does
    not read (C{\\Q}, extended mode, a comment, a lookaround, C{\\c}, the
    anchors of the whole text).

    Made by two changes that only add matches: each line anchor (C{^},
    C{$}, outside classes) may also consume a quote (C{(?:^|")}: the start
    or end of a string alone is a quote in the text), and the word
    boundaries C{\\b} and C{\\B} go (an assertion next to such a quote
    would read its other side).  The rest of a match in a string alone
    reads the same bytes in the text.
    """
    if "\\Q" in pattern or _EXTENDED.search(pattern) or "(?#" in pattern or "(?=" in pattern or "(?!" in pattern or "(?<" in pattern:
        return None
    out: list[str] = []
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                return None
            e = pattern[i + 1]
            if e in "AzZGc":
                return None
            if e not in "bB":
                out.append(pattern[i : i + 2])
            i += 2
        elif c == "[":
            end = _classEnd(pattern, i)
            if end < 0:
                return None
            out.append(pattern[i:end])
            i = end
        elif c == "^":
            out.append('(?:^|")')
            i += 1
        elif c == "$":
            out.append('(?:$|")')
            i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _classEnd(pattern: str, start: int) -> int:
    """
    The index just past the character class that opens at C{start} in
    C{pattern}, or -1 when it does not close.  A C{]} first (after a
    negation) is a member; escapes and POSIX classes (C{[:alpha:]}) are
    stepped over.
    """
    i = start + 1
    n = len(pattern)
    if i < n and pattern[i] == "^":
        i += 1
    if i < n and pattern[i] == "]":
        i += 1
    while i < n:
        c = pattern[i]
        if c == "\\":
            i += 2
        elif c == "[" and i + 1 < n and pattern[i + 1] in ":.=":
            close = pattern.find(pattern[i + 1] + "]", i + 2)
            if close < 0:
                return -1
            i = close + 2
        elif c == "]":
            return i + 1
        else:
            i += 1
    return -1


#: the bytes of a large body translated and scanned at a time (L{linesMatch})
WINDOW = 64 * 1024


class _Found:
    """
    A match handler that notes the first match and stops the scan.
    """

    __slots__ = ("hit",)

    def __init__(self) -> None:
        self.hit = False

    def __call__(self, rule: int, start: int, end: int, flags: int, context: object) -> bool:
        self.hit = True
        return True


class Streamed:
    """
    What L{Prefilter.cleanUnread} asks of the bytes of a large body, asked
    of each chunk as it arrives (L{Prefilter.watch}), so that little is
    left to ask when the last one came: whether the bytes are ASCII, hold
    a NUL or a backslash, and what the database of both (threat and custom
    rules, the relaxed forms of the anchored ones) finds in them, scanned
    as a Hyperscan stream (the same expressions compiled in stream mode: a
    stream finds what one scan of the whole body finds, across the chunks'
    edges too, and at its end when it is closed).

    The scan stops at its first hit, or at the first byte past ASCII (the
    databases' answers stand for ASCII only: the whole-body tests decide
    then).  It is fed, ended and closed on the thread that owns the
    database's scratch space (the prefilter's); the stream is closed when
    the body ends (L{end}) or is given up (L{close}).  It holds references
    to its database and match handler, which the binding does not.

    @ivar size: the bytes fed.
    @ivar ascii: whether every byte fed was ASCII.
    @ivar nul: whether a NUL was fed.
    @ivar backslash: whether a backslash was fed.
    @ivar quiet: once ended, whether the database of both found nothing
        (ASCII bytes, their whole scanned); None when not known.
    """

    __slots__ = ("size", "ascii", "nul", "backslash", "quiet", "ended", "_prefilter", "_direction", "_db", "_stream", "_found", "_failed", "_scanning")

    def __init__(self, prefilter: Prefilter, direction: str, db: Optional[hyperscan.Database]):
        self.size = 0
        self.ascii = True
        self.nul = False
        self.backslash = False
        self.quiet: Optional[bool] = None
        self.ended = False
        self._prefilter = prefilter
        self._direction = direction
        self._db = db
        self._found = _Found()
        self._failed = db is None  # no stream: the whole body is scanned
        self._stream: Optional[hyperscan.Stream] = None
        if db is not None:
            self._stream = _openStream(db, self._found)
        self._scanning = db is not None

    def feed(self, chunk: bytes) -> None:
        """
        The next bytes of the body.
        """
        self.size += len(chunk)
        if not self.backslash and b"\\" in chunk:
            self.backslash = True
        if not self.nul and b"\x00" in chunk:
            self.nul = True
        if self.ascii and not chunk.isascii():
            self.ascii = False
            self._scanning = False
        if self._scanning:
            stream, db = self._stream, self._db
            assert stream is not None and db is not None
            try:
                stream.scan(chunk, scratch=db.scratch)
            except hyperscan.ScanTerminated:
                pass
            except hyperscan.error:
                self._failed = True  # not known: the whole body is scanned
            if self._found.hit or self._failed:
                self._scanning = False

    def end(self) -> None:
        """
        The body is whole: close the stream (a match at the end of the data,
        C{$}, is reported then) and say what it found.
        """
        if self.ended:
            return
        self.ended = True
        self._close()
        if not self._failed and self.ascii:
            self.quiet = not self._found.hit

    def close(self) -> None:
        """
        Give the body up (over the limit, refused, cut short).
        """
        self.ended = True
        self._scanning = False
        self._close()
        self.quiet = None

    def tells(self, prefilter: Prefilter, direction: str, body: bytes) -> bool:
        """
        Whether what was told here is of C{body}, whole, for C{prefilter}
        and C{direction}.
        """
        return self.ended and self.size == len(body) and self._prefilter is prefilter and self._direction == direction

    def _close(self) -> None:
        stream = self._stream
        if stream is None:
            return
        self._stream = None
        self._scanning = False
        try:
            stream.close()  # with the database's scratch space (a scratch given here is misread by python-hyperscan 0.9.1)
        except hyperscan.ScanTerminated:
            pass  # a match at the end: the handler noted it
        except hyperscan.error:
            self._failed = True

    def __del__(self) -> None:
        if self._stream is not None:
            self.close()


def _openStream(db: hyperscan.Database, handler: Any) -> hyperscan.Stream:
    """
    A stream of C{db} opened (C{hs_open_stream}), to be closed by its
    holder.  python-hyperscan 0.9.1 returns the stream from C{db.stream}
    with a reference too many, and from C{__enter__} with one too few (the
    C{with} statement's use, which they balance): opened this way, the
    stream's only owner is the caller (C{StreamedTests.test_owned}).  It
    holds no reference to C{db} or C{handler}: the caller keeps them.
    """
    stream = db.stream(match_event_handler=handler)
    stream.__enter__()
    return stream


def windows(body: bytes, size: int = WINDOW) -> Iterator[bytes]:
    """
    C{body} C{size} bytes at a time.
    """
    for start in range(0, len(body), size):
        yield body[start : start + size]


def linesMatch(db: hyperscan.Database, chunks: Iterable[bytes]) -> bool:
    """
    Whether the stream-mode C{db} (its scratch space its own, and this
    thread's) matches in the body that is C{chunks} one after another
    (L{windows}), with its quotes made line breaks: each chunk translated
    and scanned in turn, so that what is held beside the body is a chunk,
    not a translated copy of the whole (the translation is byte by byte,
    and a stream finds what one scan of the whole would, across the
    chunks' edges too).  The stream lives within this call: one held open
    across calls is what the Hyperscan binding gets wrong (it crashes).
    """
    found = _Found()
    scratch = db.scratch
    try:
        with db.stream(match_event_handler=found) as stream:
            for chunk in chunks:
                stream.scan(chunk.translate(_QUOTES_TO_LINES), scratch=scratch)
    except hyperscan.ScanTerminated:
        pass
    return found.hit


_HS_FLAGS = hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_MULTILINE | hyperscan.HS_FLAG_ALLOWEMPTY | hyperscan.HS_FLAG_UTF8


def _stop(rule: int, start: int, end: int, flags: int, context: object) -> bool:
    return True


def _hyperscanTakes(pattern: str) -> bool:
    """
    Whether Hyperscan compiles C{pattern} as written (not approximated).
    """
    return compileProblem(pattern.encode("utf-8"), _HS_FLAGS) is None


def _re2Set(patterns: Sequence[str]) -> re2.Set:
    options = re2.Options()
    options.case_sensitive = False
    s = re2.Set.SearchSet(options)
    for p in patterns:
        s.Add("(?m)" + p)
    s.Compile()
    return s


def buildPrefilter(steps: Sequence[object]) -> Optional[Prefilter]:
    """
    The prefilter over C{steps}, or None when it covers none of them.  It is
    an optimisation only: if it cannot be built, every step runs in full.
    """
    try:
        prefilter = Prefilter(steps)
    except Exception:
        log.failure("prefilter not built; every inspection step runs in full")
        return None
    return prefilter if prefilter else None


__all__ = ["Prefilter", "Streamed", "WINDOW", "buildPrefilter", "linesMatch", "relaxed", "windows"]
