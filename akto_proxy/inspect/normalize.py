"""
Normalisation before matching, as a WAF does it: each string of a request is
matched as written and in the few decoded or folded forms an attacker uses to
slip past a matcher.

A form is made only when it differs from the one before it, so a plain string
costs one pass of cheap membership tests and yields itself alone.

Forms (the C{kind} of a L{Variant}):

    - C{r}: the string as written;
    - C{d}: decoded: URL (repeated, so double encoding too), C{%uXXXX},
      overlong UTF-8 dots and slashes, HTML entities, C{\\uXXXX}/C{\\xXX}
      escapes, NFKC with zero-width characters removed;
    - C{q}: C{d} with SQL comments folded to a space (MySQL C{/*!...*/} keeps
      its body, which MySQL runs) and whitespace runs folded;
    - C{s}: C{d} with shell quoting tricks undone: C{c''at}, C{w'h'o'am'i},
      C{c\\at}, C{$IFS}, C{${IFS}}, C{${HOME:0:1}}, C{$@}, C{{cat,/etc/passwd}};
    - C{p}: C{d} as a path: backslashes to slashes, C{....//} and C{..;/}
      to C{../}, repeated slashes and C{/./} folded.
"""

from __future__ import annotations

import functools
import html
import re
import unicodedata
from html.entities import html5 as _HTML5
from typing import Any, Iterator, NamedTuple

_OVERLONG = re.compile(r"%(?:c0%ae|e0%80%ae|c0%2e|c0%af|e0%80%af|c1%9c|c1%1c|c0%5c)", re.I)
_OVERLONG_MAP = {
    "%c0%ae": ".",
    "%e0%80%ae": ".",
    "%c0%2e": ".",
    "%c0%af": "/",
    "%e0%80%af": "/",
    "%c1%9c": "\\",
    "%c1%1c": "/",
    "%c0%5c": "\\",
}
# Overlong UTF-8 of any length for an ASCII character (%c0%ae, %e0%80%af,
# %f0%80%80%ae, %f8.., %fc..): what no honest encoder writes.
_OVERLONG_ANY = re.compile(
    # (a three-byte form whose middle byte adds no bits is read as lenient
    # decoders read it even when that byte is no continuation: %e0%40%ae,
    # and %e0@%ae once an earlier round has decoded the %40)
    r"%(c[01](?=%[0-9a-f]{2})|e0(?:%[89][0-9a-f]|%[04c]0|@)|f0%[89][0-9a-f]%[89ab][0-9a-f]|f8(?:%[89ab][0-9a-f]){3}|fc(?:%[89ab][0-9a-f]){4})%([0-9a-f]{2})",
    re.I,
)
# Look-alikes a lenient server maps to a separator or a dot (Unicode
# division slash, set minus, fraction slash, best-fit private-use forms);
# NFKC takes care of the full-width ones.
_LOOKALIKES = dict.fromkeys(map(ord, "\u2215\u2044\u29f8\uefc8\uf025"), "/")
_LOOKALIKES.update(dict.fromkeys(map(ord, "\u2216\u29f5\u29f9\uf026"), "\\"))
_LOOKALIKES.update({0x2024: ".", 0xFE52: ".", 0x02BC: "'"})
_PCT_U = re.compile(r"%u([0-9a-fA-F]{4})")
_ESC_U = re.compile(r"\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})")
_PCT = re.compile(r"%[0-9a-fA-F]{2}")
_PCT_RUN = re.compile(r"(?:%[0-9a-fA-F]{2})+")
# the hex digits of an escape encoded one by one (%%32%%65 decodes to %2%e:
# read as %2e, as lenient decoders do)
_PCT_SPLIT = re.compile(r"%([0-9a-fA-F])%([0-9a-fA-F])")
_ESCAPED_BYTE = re.compile(r"[\udc80-\udcff]")
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)

_SQL_COMMENT = re.compile(r"/\*!\d*(.*?)\*/|/\*.*?\*/", re.S)
# a comment inside a word (UN/**/ION, DECLARE/**/@x joins nothing, but
# filters that strip comments join it)
_SQL_SPLIT = re.compile(r"(?<=[A-Za-z])/\*[^!]*?\*/(?=[A-Za-z@])", re.S)
# a line comment ended by a line break before more SQL (-1#\nunion ...)
_SQL_LINE_COMMENT = re.compile(
    # (SQL's own words: not "to", "in", "is", "when", which begin many a
    # line of prose after a markdown heading)
    r"(?:#|--)[^\n]*\n(?=\s*(?:(?:union|select|and|or|xor|from|where|having|order|group|limit|into|drop|table|copy|program|"
    r"exec|execute|declare|insert|update|delete|create|alter|truncate|shutdown|waitfor|sleep)\b|[(@'\"]|\d|#|--))",
    re.I,
)
_WS = re.compile(r"\s+")

# Shell tricks.  Each is rare in honest text; the shell form is only made
# when one of them is present.
_SHELL_TRIGGER = re.compile(
    r"\$\{?IFS|\$\{\w+:\d+(?::\d+)?\}|\$[@*0-9]|\w(?:''|\"\")|(?:''|\"\")\w|\w['\"]\w+['\"]\w|"
    r"[a-z]\\[a-z]|\{\w+,[^{}\s]*\}|\$['\"]|"
    # variables spelling a word: c$u""at, c${x}url, $a$b, ${SHELL}, c$?at
    r"\w\$\{?[A-Za-z_]|\$\{?[A-Za-z_]\w*\}?[\w$'\"]|\$\{(?:SHELL|HOME)\}|\w\$[?$!#-]\w|"
    r"[a-z]\^[a-z]|(['\"])(?<=[a-z]['\"])[a-z]+\1(?=[\s;&|)`]|$)",
    re.I,
)
# (a quote or a backslash first, the letter before it looked behind for:
# Python's matcher then skips to the few quotes instead of trying every letter)
_SHELL_QUOTED = re.compile(
    r"(['\"\\])(?<=[a-z]['\"\\])(?:(?<=['\"])[a-z]*['\"][a-z]|(?<=\\)[a-z]|(?<=['\"])[a-z]+\1(?=[\s;&|)`]|$))", re.I
)
_IFS = re.compile(r"\$\{IFS\}|\$IFS(?:\$\d)?")
_SUBSTR = re.compile(r"\$\{(\w+):(\d+)(?::(\d+))?\}")
_POSITIONAL = re.compile(r"\$[@*0-9]")
_QUOTES = re.compile(r"(?<=\w)['\"]+(?=[\w/])|(?<=\s)(?:''|\"\")(?=\w)|^(?:''|\"\")(?=\w)")
# quotes or a backslash that open a word after a separator, a slash or an
# option's dash (commix's tampers put them before every letter: ;""w""h,
# /""e""tc, -""l, ;\w\h): the shell reads the bare letters
# (the quote or backslash first, what stands before it looked behind for)
_OPENING = re.compile(r"(['\"\\])(?<![^;&|`(/=-]['\"\\])(?:(?<=\\)|(?<=['\"])\1(?:''|\"\")*)(?=[A-Za-z])")
# a piece quoted at a word's end: l"s" -la, wh'oami'
_END_PIECE = re.compile(r"(?<=[A-Za-z])(['\"])([A-Za-z]+)\1(?=[\s;&|)`]|$)")
_BACKSLASH = re.compile(r"(?<=\w)\\(?=\w)")
_BRACE = re.compile(r"\{,?([\w$'\"]+),([^{}\s]*)\}")
_ANSI_C = re.compile(r"\$'([^']*)'|\$\"([^\"]*)\"")
# the escapes of an ANSI-C string, as bash reads them: hex, octal, Unicode
_ANSI_ESCAPE = re.compile(r"\\(?:x([0-9a-fA-F]{1,2})|u([0-9a-fA-F]{1,4})|([0-7]{1,3}))")
_ASSIGN = re.compile(r"(?:^|[;&|\s`(])([A-Za-z_]\w*)=([^\s;&|`)]*)")
_VAR = re.compile(r"\$\{([A-Za-z_]\w*)(?::?([-=+?])([^{}]*))?\}|\$([A-Za-z_]\w*)")
_SPECIAL = re.compile(r"(?<=\w)\$[?$!#-](?=\w)")
_CARET = re.compile(r"(?<=\w)\^(?=\w)")
# a caret that opens a word with more carets in it (^w^h^o^a^m^i): cmd's
# escape, not a pattern's anchor
_CARET_OPEN = re.compile(r"\^(?<![^\s;&|]\^)(?=\w+\^\w)")
# ${x,,} ${x^^} ${x~~}: bash's case operators on a variable
_CASE_VAR = re.compile(r"\$\{([A-Za-z_]\w*)(,,|\^\^|~~|,|\^|~)\}")
# PowerShell's escape inside a word (I`E`X, Start-`S`leep), and an empty
# command substitution, which expands to nothing (ping`` 127.0.0.1); a
# tick before anything but a letter closes a shell's substitution (x`id`),
# and then none is PowerShell's
_TICK = re.compile(r"`(?:`|(?<=[A-Za-z-]`)(?=[A-Za-z]))")
_TICK_CLOSING = re.compile(r"`(?![A-Za-z])")
# a line break written as an escape before what follows it (\n/bin/ls, \nid;)
_LITERAL_BREAK = re.compile(r"\\[rn](?=\s*[\w/.$`'\"])")
_ENV_GUESS = {"HOME": "/root", "PATH": "/usr/local/bin:/usr/bin:/bin", "PWD": "/", "SHELL": "/bin/sh"}

_PATH_BYPASS = re.compile(r"\.\.\.\.(?=/)|\.\.;(?=/)|\.\.\./(?=\.)")
_HEX_CHAR = re.compile(r"0x(2e|2f|5c)", re.I)
_HEX_MAP = {"2e": ".", "2f": "/", "5c": "/"}
_SLASHES = re.compile(r"/{2,}")
_DOTSLASH = re.compile(r"/(?:\./)+")
# a control character after a dot, which a lenient server drops from a
# segment (..%01/, .%00./, ..%01%c1%pc): never in an honest path (the NUL
# of a truncation stays in the other forms, for its own rule)
# a segment of wildcards a lenient server (or an FTP one) matches to ".."
_PATH_WILDCARD = re.compile(r"(?:^|(?<=/))(?:\.\?|\?[.?])(?=/)")
# a stray "%" at a climb's separator, where a list wrote %25%5c for %255c
# (%\..%\..): the server's decoder leaves it, the climb is the same
_PATH_STRAY = re.compile(r"%(?=/\.\.|/?$)|(?<=\.\.)%(?=/)")
_PATH_CONTROL = re.compile(r"(?<=\.)[\x00-\x1f]+")


class Variant(NamedTuple):
    kind: str
    text: str


def decode(text: str, plus: bool = False, rounds: int = 5, legacy: bool = True) -> str:
    """
    Undo the encodings a WAF sees in the wild, repeatedly (double, triple
    and deeper URL encoding, mixed with the others), until nothing changes.

    @param plus: C{+} means space (query strings).
    @param legacy: HTML references without C{;} are undone too
        (L{unescapeHTML}).
    """
    s = text.replace("+", " ") if plus else text
    if not s.isascii():  # full-width "％２ｅ" is itself an encoding
        s = unicodedata.normalize("NFKC", s).translate(_ZERO_WIDTH).translate(_LOOKALIKES)
    for _ in range(rounds):
        before = s
        if "%" in s:
            if "%u" in s or "%U" in s:
                s = _PCT_U.sub(lambda m: chr(int(m.group(1), 16)), s)
            if "%c" in s or "%C" in s or "%e0" in s or "%E0" in s or "%f" in s or "%F" in s:
                s = _OVERLONG.sub(lambda m: _OVERLONG_MAP[m.group(0).lower()], s)
                s = _OVERLONG_ANY.sub(_overlong, s)
            escaped = s
            if _PCT.search(s):
                s = _PCT_RUN.sub(_unquoteRun, s)
            # (also when the escapes left are bytes waiting for more: in
            # %5%cetc the %ce is no character, the %5%c a split %5c)
            if s == escaped and _PCT_SPLIT.search(s):
                s = _PCT_SPLIT.sub(r"%\1\2", s)
        if "\\" in s:
            s = _ESC_U.sub(_unescape, s)
        if "&" in s:
            s = unescapeHTML(s, legacy)
        if s == before:
            break
    if not s.isascii():
        s = unicodedata.normalize("NFKC", s).translate(_ZERO_WIDTH).translate(_LOOKALIKES)
    return s


def _trie(words: list[str]) -> str:
    """
    A regular expression matching any of C{words}, factored by prefix (an
    alternation of a hundred names tried one by one at every C{&} costs ten
    times more).
    """
    root: dict[str, dict] = {}
    for w in words:
        node = root
        for c in w:
            node = node.setdefault(c, {})
        node[""] = {}

    def expression(node: dict[str, dict]) -> str:
        branches = [re.escape(c) + expression(node[c]) for c in sorted(node) if c]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return expression(root)


# html.unescape's own reference (C{&} and up to 32 name characters, or a
# number), taken only where it may change the text: before C{#}, before a
# name closed by C{;}, or before one of the names HTML reads without C{;}
# (C{&amp}, C{&copy}): every other C{&} (a query string's, the Autobahn
# TestSuite's C{BAsd7&jh23} a million times) is passed over inside the
# regular expression instead of costing a Python call each (0.4 s per MiB)
_ENTITY = re.compile(
    r"&(?=#|[A-Za-z0-9]{1,32}+;|%s)(?:#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)"
    % _trie(sorted(k for k in _HTML5 if not k.endswith(";")))
)
_entity = functools.lru_cache(maxsize=1024)(html.unescape)
# the same, but a name only when closed by C{;}
_ENTITY_CLOSED = re.compile(r"&(?=#|[A-Za-z0-9]{1,32}+;)(?:#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[A-Za-z0-9]{1,32};)")
# a percent-encoded C{&} before a name HTML reads without C{;}, not closed by
# one: a text holding one is also read with the name kept (L{variants}).
# (As written, C{&REG ADD} is judged in the raw text already; HTML's own
# C{&copy 2024} is left to mean the sign: an HTML writer does not
# percent-encode its ampersands.)
_LEGACY = re.compile(r"%%26(?:%s)(?![A-Za-z0-9;])" % _trie(sorted(k for k in _HTML5 if not k.endswith(";"))))


def unescapeHTML(text: str, legacy: bool = True) -> str:
    """
    C{html.unescape(text)}, exactly (a reference that may change the text
    is undone by C{html.unescape} itself; a reference is never inside
    another's name, so the ones passed over hide none), at the cost of the
    references that do.

    @param legacy: also the names HTML reads without C{;} (C{&copy},
        C{&REG}); False keeps them as written: after cmd's C{&} separator
        they are commands (C{x%26REG ADD ...}, C{x%26copy ...}).
    """
    if "&" not in text:
        return text
    return (_ENTITY if legacy else _ENTITY_CLOSED).sub(lambda m: _entity(m.group(0)), text)


def _unquoteRun(m: "re.Match[str]") -> str:
    """
    A run of C{%XX} as UTF-8; a byte that is no UTF-8 yet stays C{%XX}, for
    a later round to complete (C{%e0&#37;80%ae} after the entity is undone).
    """
    run = m.group(0)
    text = bytes.fromhex(run.replace("%", "")).decode("utf-8", "surrogateescape")
    return _keepEscaped(run, text) if _ESCAPED_BYTE.search(text) else text


def _keepEscaped(run: str, text: str) -> str:
    """
    C{text}, the UTF-8 reading of the escapes C{run}, with each byte that
    is no UTF-8 written back as it was (its case too: in C{%5%cetc} the
    C{e} of C{%ce} is the C{etc}'s own, for L{_PCT_SPLIT} to give back).
    """
    out = []
    at = 0
    for c in text:
        if "\udc80" <= c <= "\udcff":
            out.append(run[at : at + 3])
            at += 3
        else:
            out.append(c)
            at += 3 * len(c.encode("utf-8"))
    return "".join(out)


def _overlong(m: "re.Match[str]") -> str:
    """
    The ASCII character an overlong sequence spells, as a lenient decoder
    reads it: the payload bits of the last byte and of the lead byte.
    """
    lead = int(m.group(1)[:2], 16)
    byte = int(m.group(2), 16)
    last = byte & 0x3F
    if byte < 0x80:  # not a continuation byte: read as IIS did, %c0%2f as "/"
        return chr(byte) if byte in (0x2E, 0x2F, 0x5C) else m.group(0)
    code = last | ((lead & 0x01) << 6 if lead in (0xC0, 0xC1) else 0)
    return chr(code) if code >= 0x20 else m.group(0)


def _unescape(m: "re.Match[str]") -> str:
    code = m.group(1) or m.group(2)
    try:
        return chr(int(code, 16))
    except ValueError:  # pragma: no cover - the pattern only takes hex
        return m.group(0)


def _closedComments(pattern: "re.Pattern[str]", repl: Any, text: str) -> str:
    """
    C{pattern.sub(repl, text)} for a pattern of comments that end at the
    first C{*/} after their C{/*}, done over C{text} up to its last C{*/}:
    no comment opened after it closes, and C{re} would scan to the end of
    the text from each C{/*} there (quadratic in a run of them).
    """
    end = text.rfind("*/")
    if end < 0:
        return text
    return pattern.sub(repl, text[: end + 2]) + text[end + 2 :]


_ASCII_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def bangFreeComments(text: str, inWord: bool = False) -> Iterator[tuple[int, int]]:
    """
    The spans C{re} finds of C{/\*[^!]*?\*/} in C{text} (of L{_SQL_SPLIT}
    with C{inWord}: after a letter and before a letter or C{@}), in linear
    time: from a C{/*} whose closing C{*/} is not reached before a C{!}
    (or the end), no later C{/*} before that C{!} closes either, where
    C{re} scanned that stretch again from each.
    """
    i = 0
    n = len(text)
    while True:
        start = text.find("/*", i)
        if start < 0:
            return
        if inWord and (start == 0 or text[start - 1] not in _ASCII_LETTERS):
            i = start + 1
            continue
        bang = text.find("!", start + 2)
        limit = n if bang < 0 else bang
        close = text.find("*/", start + 2, limit + 1)
        while close >= 0 and inWord and (close + 2 >= n or (text[close + 2] not in _ASCII_LETTERS and text[close + 2] != "@")):
            close = text.find("*/", close + 1, limit + 1)
        if close >= 0:
            yield start, close + 2
            i = close + 2
        elif bang < 0:
            return
        else:
            i = bang + 1


def _withoutSpans(text: str, spans: Iterator[tuple[int, int]]) -> str:
    out = []
    last = 0
    for start, end in spans:
        out.append(text[last:start])
        last = end
    out.append(text[last:])
    return "".join(out)


def foldSQL(text: str) -> str:
    """
    SQL comments to a space (a versioned comment keeps its body), whitespace
    runs to one space, quotes escaped with a backslash as quotes (what an
    escaping filter turns C{\\'} into closes the string).
    """
    if "\\" in text:
        text = text.replace("\\'", "'").replace('\\"', '"')
    if "/*" in text:
        text = _closedComments(_SQL_COMMENT, lambda m: f" {m.group(1) or ''} ", text)
    if "\n" in text:
        text = _SQL_LINE_COMMENT.sub(" ", text)
    return _WS.sub(" ", text)


def joinSQL(text: str) -> str:
    """
    L{foldSQL} after dropping the comments inside words.
    """
    return foldSQL(_withoutSpans(text, bangFreeComments(text, inWord=True)))


def foldShell(text: str) -> str:
    """
    Undo quoting and expansion tricks that keep a command name from
    appearing literally.
    """
    s = _IFS.sub(" ", text.split("\x00", 1)[0] if "\x00" in text else text)  # a C string ends at NUL
    if "\\\n" in s:  # a line continuation inside a word
        s = s.replace("\\\n", "")
    s = _ANSI_C.sub(_ansiC, s)
    if "$" in s:
        s = _variables(s)
    s = _SPECIAL.sub("", s)
    s = _CARET.sub("", _CARET_OPEN.sub("", s))
    s = _SUBSTR.sub(_substr, s)
    s = _POSITIONAL.sub("", s)
    s = _BRACE.sub(lambda m: (m.group(1) + " " + m.group(2).replace(",", " ")).strip(), s)
    s = _BACKSLASH.sub("", s)
    s = _END_PIECE.sub(r"\2", s)
    s = _QUOTES.sub("", _OPENING.sub("", s))
    if "`" in s:
        s = s.replace("``", "")
        if "`" in s and _TICK_CLOSING.search(s) is None:
            s = _TICK.sub("", s)
    return s


def literalBreaks(text: str) -> str:
    """
    C{text} with the escapes C{\\n} and C{\\r} read as line breaks, as a
    program that unescapes its input (C{echo -e}, a JSON or C string built
    from it) hands them to a shell.
    """
    return text.replace("\\r", "\r").replace("\\n", "\n")


def _ansiC(m: "re.Match[str]") -> str:
    if m.group(1) is None:
        return m.group(2)
    return _ANSI_ESCAPE.sub(lambda e: chr(int(e.group(1) or e.group(2), 16) if e.group(3) is None else int(e.group(3), 8) & 0xFF), m.group(1))


def _variables(s: str) -> str:
    """
    C{$name} and C{${name}} as the shell would expand them: a name assigned
    in the string to its value, C{SHELL} and C{HOME} to a guess, any other
    name next to a word or a quote to nothing (unset), else left alone;
    C{${name:-word}} of a name not assigned to its word.
    """
    assigned = {name: _unquote(value) for name, value in _ASSIGN.findall(s)}
    if "{" in s:
        s = _CASE_VAR.sub(lambda m: _caseOf(assigned[m.group(1)], m.group(2)) if m.group(1) in assigned else m.group(0), s)

    def expand(m: "re.Match[str]") -> str:
        name = m.group(1) or m.group(4)
        if name in assigned:
            return assigned[name] if m.group(2) != "+" else m.group(3)
        if m.group(2):  # ${u:-word}, ${u:=word}: unset, the word; ${u:+word}: nothing
            return m.group(3) if m.group(2) in "-=" else ""
        if name in ("SHELL", "HOME"):
            return _ENV_GUESS[name]
        if name in _ENV_GUESS or name == "IFS":
            return m.group(0)
        start, end = m.span()
        near = (start > 0 and (s[start - 1].isalnum() or s[start - 1] in "'\"")) or (end < len(s) and (s[end].isalnum() or s[end] in "'\"$"))
        return "" if near else m.group(0)

    return _VAR.sub(expand, s)


def _unquote(value: str) -> str:
    """
    An assigned value without the quotes around it (C{x='CAT'} holds C{CAT}).
    """
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _caseOf(value: str, op: str) -> str:
    """
    What C{${x,,}}, C{${x^^}}, C{${x~~}} (and their one-letter forms, on the
    first letter) make of C{value}.
    """
    fn = {",": str.lower, "^": str.upper, "~": str.swapcase}[op[0]]
    return fn(value) if len(op) == 2 else fn(value[:1]) + value[1:]


def _substr(m: "re.Match[str]") -> str:
    value = _ENV_GUESS.get(m.group(1), "/")
    start = int(m.group(2))
    length = int(m.group(3)) if m.group(3) else len(value)
    return value[start : start + length] or "/"


def foldPath(text: str) -> str:
    """
    A path as a server would resolve it: backslashes are separators, filter
    bypasses (C{....//}, C{..;/}) climb, repeated slashes and C{/./} fold.
    """
    s = _HEX_CHAR.sub(lambda m: _HEX_MAP[m.group(1).lower()], text) if "0x" in text or "0X" in text else text
    s = s.replace("\\", "/")
    s = _PATH_CONTROL.sub("", s)
    if "?" in s:
        s = _PATH_WILDCARD.sub("..", s)
    if "%" in s and ".." in s:
        s = _PATH_STRAY.sub("", s)
    s = _PATH_BYPASS.sub("..", s)
    s = _SLASHES.sub("/", s)
    s = _DOTSLASH.sub("/", s)
    return s


def _shellTricks(d: str) -> bool:
    """
    Whether C{d} holds a shell trick worth undoing; membership tests first,
    the regular expression only for the few strings that pass them.
    """
    if "$" in d or "{" in d or "''" in d or '""' in d or "^" in d:
        if _SHELL_TRIGGER.search(d) is not None or ("^" in d and _CARET_OPEN.search(d) is not None):
            return True
    if "\\" in d or ("'" in d and d.count("'") >= 2) or ('"' in d and d.count('"') >= 2):
        if _SHELL_QUOTED.search(d) is not None or _OPENING.search(d) is not None or "\\\n" in d:
            return True
    return _shellMore(d)


def _shellMore(d: str) -> bool:
    """
    The tricks of session 11 (membership tests first): a NUL that ends the
    C string, PowerShell's escapes and empty substitutions.
    """
    return "\x00" in d or ("`" in d and _TICK.search(d) is not None)


def _sqlLineComment(d: str) -> bool:
    """
    Whether C{d} holds a line comment that a line break ends before more SQL
    or after a SQL word it is glued to (C{UNION#x\nALL}).
    """
    return (
        "\n" in d
        and ("#" in d or ("-" in d and "--" in d))
        and (_SQL_LINE_COMMENT.search(d) is not None or _SQL_GLUED_COMMENT.search(d) is not None)
    )


# a SQL word between pluses: form encoding of a statement, not "a+b"
_PLUS_SQL = re.compile(
    r"(?:^|[+;'\")])(?:select|union|and|or|alter|drop|insert|update|delete|exec|declare|from|where|table|order|group|having|sleep|waitfor)\+|"
    r"['\")]\++(?:#|--|/\*)",
    re.I | re.M,
)


def _plusSpaced(d: str) -> bool:
    """
    Whether C{d} is a form-encoded value, C{+} for every space (C{1;+ALTER+TABLE}):
    no whitespace at all, a SQL word between pluses.
    """
    return "+" in d and _WS.search(d) is None and _PLUS_SQL.search(d) is not None


# a plus beside a shell separator in a value with no blank: a form-encoded
# command line (+|+dir+c:\, %0a+id)
_PLUS_SHELL = re.compile(r"(?:^|[|;&\n`])\++\w|\w\++[|;&]")


def _plusShell(d: str) -> bool:
    """
    Whether C{d} is a form-encoded value, C{+} for every space, with a
    shell separator between pluses (C{x+|+dir+c:\\}).
    """
    return "+" in d and _WS.search(d.strip("\n")) is None and _PLUS_SHELL.search(d) is not None


# --- SQL evasions a database or a lenient filter undoes (session 11) ---------
# blanks other than whitespace (MSSQL takes 0x01-0x1f for a space; NUL
# truncates or is dropped by filters)
_SQL_BLANK = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
# what a byte no charset decodes became (a raw 0xA0 that MySQL reads as a
# blank, turned into U+FFFD by a lenient decoder) and the blanks NFKC
# leaves alone
_SQL_UBLANK = re.compile("[\ufffd\u180e\u2028\u2029]")
# (from a run's first NUL only: tried inside a run, re scanned the rest of the
# run again from each, quadratic in a run of NULs with no quote after it)
_SQL_NUL_QUOTE = re.compile("(?<!\x00)\x00+(?=['\"])")
# quotes and a trailing dash that best-fit code pages map to ' " --
_SQL_LOOKALIKE = re.compile("[\u2018\u2019\u2032\u00b4\u02b9\u201c\u201d\u2033]|[\u2013\u2014]\\s*$")
_SQL_LOOKALIKE_MAP = {"\u201c": '"', "\u201d": '"', "\u2033": '"', "\u2013": "--", "\u2014": "--"}
# "%" before a letter, where ASP drops a "%" that starts no escape: %S%E%L%E%C%T
_SQL_STRAY_PCT = re.compile(r"(?:%[A-Za-z]){2}")
_SQL_PCT_DROP = re.compile(r"%(?![0-9A-Fa-f]{2})")
# a line comment glued to the keyword before it, ended by a line break (UNION#x\nALL--y\nSELECT)
_SQL_GLUED_COMMENT = re.compile(
    r"\b(union|select|all|distinct|from|where|and|or|xor|not|order|group|by|having|limit|into|waitfor|delay|exec|execute|"
    r"declare|drop|table|create|alter|insert|update|delete|values|set|user|case|when|then|else|if|like|between)(?:#|--)[^\n]*\n",
    re.I,
)
# MySQL's versioned comment opened and never closed (/*!0UNION/*!0SELECT)
_SQL_VERSION_OPEN = re.compile(r"/\*!\d*")
_SQL_PLAIN_COMMENT = re.compile(r"/\*.*?\*/", re.S)


# a byte no text holds before a quote: what a multi-byte charset eats with
# the backslash an escaping filter put there (%bf%27)
_SQL_EATEN = re.compile(r"%[89a-fA-F][0-9a-fA-F](?=['\"\\])")
# the SQL words a comment may split (UN/**/ION) and every prefix of them
_SQL_WORDS = frozenset(
    "union select from where and or xor not order group by having limit all distinct insert into values update set delete "
    "drop table exec execute declare waitfor delay sleep benchmark like rlike regexp null exists case when then else end "
    "concat char ascii substring substr mid information_schema version database user cast convert if".split()
)
_SQL_PREFIXES = frozenset(w[:k] for w in _SQL_WORDS for k in range(1, len(w) + 1))
_SQL_COMMENT_PIECES = re.compile(r"(/\*[^!]*?\*/)", re.S)
_LETTERS_END = re.compile(r"[A-Za-z_]+$")
_LETTERS_START = re.compile(r"^[A-Za-z_]+")


def _sqlEvasive(d: str, raw: str) -> bool:
    """
    Whether C{d} (decoded from C{raw}) holds one of the evasions
    L{unevadeSQL} undoes; membership tests first.
    """
    return (
        ("/*!" in d)
        or ("%" in raw and _SQL_STRAY_PCT.search(raw) is not None)
        or ("%" in d and _SQL_EATEN.search(d) is not None)
        or (not raw.isascii() and _SQL_LOOKALIKE.search(raw) is not None)
        or (not d.isascii() and _SQL_LOOKALIKE.search(d) is not None)
        or ("\n" in d and ("#" in d or "--" in d) and _SQL_GLUED_COMMENT.search(d) is not None)
        or (d is not raw and _SQL_BLANK.search(d) is not None)
        or (not d.isascii() and _SQL_UBLANK.search(d) is not None)
    )


def _lookalikeQuotes(s: str) -> str:
    return _SQL_LOOKALIKE.sub(lambda m: _SQL_LOOKALIKE_MAP.get(m.group(0)[0], "'"), s)


def unevadeSQL(d: str, raw: str = "", plus: bool = False) -> str:
    """
    C{d}, the decoded form of C{raw}, as a database (or the lenient filter
    in front of it) reads it: ASP's stray C{%} dropped and best-fit quotes
    read as quotes (both before decoding: NFKC spells C{´} as a space and
    an accent), control characters as blanks (NUL before a quote as
    nothing), a byte eaten before a quote dropped, a line comment glued to
    a keyword as a blank, and MySQL versioned comments left open read for
    their body.  (A number glued to the keyword after it, C{1e0OR}, is
    the rules' to see: a variant for it would cost every clean request a
    search.)
    """
    s = raw
    early = False
    if "%" in s and _SQL_STRAY_PCT.search(s):
        s = _SQL_PCT_DROP.sub("", s)
        early = True
    if not s.isascii() and _SQL_LOOKALIKE.search(s):
        s = _lookalikeQuotes(s)
        early = True
    s = decode(s, plus=plus) if early else d
    if not s.isascii():
        s = _lookalikeQuotes(s)
    if "%" in s:
        s = _SQL_EATEN.sub("", s)
    if "\x00" in s:
        s = _SQL_NUL_QUOTE.sub("", s)
    s = _SQL_BLANK.sub(" ", s)
    if not s.isascii():
        s = _SQL_UBLANK.sub(" ", s)
    if "\n" in s:
        s = _SQL_GLUED_COMMENT.sub(lambda m: m.group(1) + " ", s)
    if "/*!" in s:
        s = _SQL_VERSION_OPEN.sub(" ", s)
        s = _closedComments(_SQL_PLAIN_COMMENT, " ", s).replace("*/", " ")
    return s


def joinSQLWords(text: str) -> str:
    """
    C{text} with each comment that splits a SQL word dropped and every
    other comment a blank: C{1/**/un/**/ion/**/al/**/l/**/sel/**/ect} is
    C{1 union all select} (a filter that strips comments reads it so; a
    join of every piece would read C{unionallselect}).
    """
    parts = []
    last = 0
    for start, end in bangFreeComments(text):
        parts += [text[last:start], text[start:end]]
        last = end
    parts.append(text[last:])
    out = [parts[0]]
    for k in range(1, len(parts), 2):
        left = _LETTERS_END.search(out[-1])
        right = _LETTERS_START.match(parts[k + 1])
        if left and right and (left.group(0) + right.group(0)).lower() in _SQL_PREFIXES:
            out.append(parts[k + 1])
        else:
            out.append(" " + parts[k + 1])
    return "".join(out)


def _decodable(text: str, plus: bool) -> bool:
    """
    Whether C{text} may decode to something else (the C{d} form).
    """
    return "%" in text or "&" in text or "\\" in text or (plus and "+" in text) or not text.isascii()


def _pathTricks(d: str) -> bool:
    """
    Whether C{d} may fold to another path (the C{p} form).
    """
    # (a one-character test first: a search for one character costs a tenth
    # of one for two or more, and most text holds no "/", ".", "0" at all)
    return (
        "\\" in d
        or ("/" in d and ("//" in d or "/./" in d))
        or ("." in d and ("..;" in d or "...." in d))
        or ("0" in d and ("0x" in d or "0X" in d) and _HEX_CHAR.search(d) is not None)
        or ("?" in d and ("?/" in d or "?\\" in d) and _PATH_WILDCARD.search(d.replace("\\", "/")) is not None)
        or ("%" in d and ("%/.." in d or "%\\.." in d))
    )


def _pathControl(d: str) -> bool:
    """
    Whether the decoded C{d} holds a control character beside a dot (the
    C{p} form drops it); asked of decoded forms only, so L{rawOnly}'s
    promise holds without it.
    """
    return "." in d and _PATH_CONTROL.search(d) is not None


def variants(text: str, plus: bool = False) -> Iterator[Variant]:
    """
    The forms of C{text} worth matching, each different from the others:
    C{r} always, then C{d}, C{q}, C{s}, C{p} when they differ.
    """
    yield Variant("r", text)
    seen = {text}
    d = text
    control = False
    decodable = _decodable(text, plus)
    if decodable:
        d = decode(text, plus=plus)
        if d not in seen:
            seen.add(d)
            yield Variant("d", d)
            control = _pathControl(d)
        if "%26" in text and _LEGACY.search(text):
            # C{&REG ADD}: cmd's separator and a command, or the registered
            # sign; both readings are judged
            k = decode(text, plus=plus, legacy=False)
            if k not in seen:
                seen.add(k)
                yield Variant("d", k)
                if _shellTricks(k):
                    f = foldShell(k)
                    if f not in seen:
                        seen.add(f)
                        yield Variant("s", f)
    e = d
    comment = "/*" in d
    newline = "\n" in d
    # (every SQL evasion needs something to decode, a comment or a line
    # break: plain text asks nothing more)
    if (decodable or comment or newline) and _sqlEvasive(d, text):
        e = unevadeSQL(d, text, plus)
        comment = "/*" in e
        newline = "\n" in e
    plusSpaced = "+" in e and (_plusSpaced(e) or (comment and _plusSpaced(_withoutSpans(e, bangFreeComments(e, inWord=True)))))
    if e is not d or comment or plusSpaced or (newline and _sqlLineComment(e)) or ("\\" in e and ("\\'" in e or '\\"' in e)):
        if plusSpaced:
            e = e.replace("+", " ")
        q = foldSQL(e)
        if q not in seen:
            seen.add(q)
            yield Variant("q", q)
        if comment and next(bangFreeComments(e, inWord=True), None) is not None:
            j = joinSQL(e)
            if j not in seen:
                seen.add(j)
                yield Variant("q", j)
            w = foldSQL(joinSQLWords(e))
            if w not in seen:
                seen.add(w)
                yield Variant("q", w)
    if _shellTricks(d):
        s = foldShell(d)
        if s not in seen:
            seen.add(s)
            yield Variant("s", s)
    if "+" in d and _plusShell(d):
        f = foldShell(d.replace("+", " "))
        if f not in seen:
            seen.add(f)
            yield Variant("s", f)
    if "\\" in d and _LITERAL_BREAK.search(d):
        b = foldShell(literalBreaks(d))
        if b not in seen:
            seen.add(b)
            yield Variant("s", b)
    if control or _pathTricks(d):
        p = foldPath(d)
        if p not in seen:
            seen.add(p)
            yield Variant("p", p)


def rawOnly(text: str, plus: bool = False) -> bool:
    """
    Whether L{variants} of C{text} is C{text} alone: the same tests, without
    building anything.  Each test only ever answers
    C{False} for more strings than L{variants} would fold, never fewer, so a
    C{True} is a promise (and C{text} may be several strings joined by line
    breaks: a test that passes on a part passes on the whole).
    """
    if _decodable(text, plus) or ("/" in text and "/*" in text) or _pathTricks(text) or _sqlLineComment(text):
        return False
    if "+" in text and (_PLUS_SQL.search(text) or _PLUS_SHELL.search(text)):  # one of the strings may be form-encoded
        return False
    # L{_shellTricks} tries one of its two tests per string; on joined
    # strings both must be tried.
    if ("$" in text or "{" in text or ("'" in text and "''" in text) or ('"' in text and '""' in text) or "^" in text) and _SHELL_TRIGGER.search(text):
        return False
    if "^" in text and _CARET_OPEN.search(text):
        return False
    quoted = ("'" in text and text.count("'") >= 2) or ('"' in text and text.count('"') >= 2)
    if quoted and (_SHELL_QUOTED.search(text) or _OPENING.search(text)):
        return False
    return not _shellMore(text)
