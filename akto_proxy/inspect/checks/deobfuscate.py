"""
What a value hands to an evaluator, read back (session 13).

The obfuscation frameworks (Bashfuscator, Invoke-DOSfuscation,
Invoke-Obfuscation) do not hide a command by spelling it one more way a
lexer undoes: they build it at run time and hand it to an evaluator.  A
base64, hex, reversed, rotated or compressed string piped into C{bash};
C{eval "$(..)"}; cmd's C{set} pieces put back together by C{call} or a
C{for} loop with delayed expansion; PowerShell's strings concatenated,
reordered by C{-f}, spelled as C{[char]} codes or base64 and handed to
C{Invoke-Expression} (itself spelled C{$env:ComSpec[4,15,25]-join''}).

L{hidden} reads such a value the way those evaluators would, within
bounds (a few layers, a few kilobytes, a few hundred loop steps), and
yields the code each evaluator would run; L{runsHidden} judges that code
by the command-position logic of L{akto_proxy.inspect.checks.shell}: code
an evaluator runs stands where a command does.  Nothing is executed: every
reading is string work on literals the value itself holds.
"""

from __future__ import annotations

import base64
import binascii
import bz2
import functools
import gzip
import io
import itertools
import re
import zlib
from typing import Callable, Iterator, Optional

from akto_proxy.inspect.checks import shell

_MAX = 4096  # characters of a value, or of any string read back
_LAYERS = 3  # evaluators inside evaluators
_STEPS = 512  # statements a cmd reading runs
_ROUNDS = 24  # PowerShell folding rounds
_SUBSTITUTIONS = 16  # command substitutions of one string read

# --- sh: a producer piped, fed or substituted into a shell ----------------------

_SHELLS = frozenset("sh bash dash zsh ksh ash mksh yash busybox".split())
_B64 = re.compile(r"[A-Za-z0-9+/=\s]+")
_HEXDIGITS = re.compile(r"[0-9A-Fa-f\s]+")
_ESCAPE = re.compile(r"\\(?:x([0-9a-fA-F]{1,2})|([0-7]{1,3})|0([0-7]{1,3})|(.))", re.S)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "a": "\a", "e": "\x1b", "'": "'", '"': '"'}


def _escapes(s: str) -> str:
    def one(m: "re.Match[str]") -> str:
        if m.group(1):
            return chr(int(m.group(1), 16))
        if m.group(2) or m.group(3):
            return chr(int(m.group(2) or m.group(3), 8) & 0xFF)
        return _ESCAPES.get(m.group(4), "\\" + m.group(4))

    return _ESCAPE.sub(one, s)


def _bin(text: str) -> str:
    """
    Text as the bytes a pipeline carries (held as latin-1 characters).
    """
    return text.encode("utf-8", "replace").decode("latin-1")


def _unbin(data: str) -> str:
    return data.encode("latin-1", "replace").decode("utf-8", "replace")


def _b64decode(s: str) -> Optional[bytes]:
    s = "".join(s.split())
    if not s or not _B64.fullmatch(s):
        return None
    try:
        return base64.b64decode(s + "=" * (-len(s) % 4), validate=False)
    except (binascii.Error, ValueError):
        return None


def _inflate(data: bytes, how: str) -> Optional[bytes]:
    try:
        if how == "gzip":
            return gzip.GzipFile(fileobj=io.BytesIO(data)).read(_MAX)
        if how == "bzip2":
            return bz2.BZ2Decompressor().decompress(data, _MAX)
        return zlib.decompressobj(-15).decompress(data, _MAX)
    except (OSError, EOFError, ValueError, zlib.error):
        return None


def _trSet(spec: str) -> str:
    out: list[str] = []
    k = 0
    while k < len(spec) and len(out) < 512:
        if k + 2 < len(spec) and spec[k + 1] == "-":
            a, b = ord(spec[k]), ord(spec[k + 2])
            out.extend(chr(c) for c in range(a, b + 1) if len(out) < 512)
            k += 3
        else:
            out.append(spec[k])
            k += 1
    return "".join(out)


def _stage(words: list[str], data: Optional[str]) -> Optional[str]:
    """
    What one stage of a pipeline writes, given what it reads (C{None}:
    nothing we can tell).
    """
    if not words:
        return None
    name = words[0].rsplit("/", 1)[-1].lower()
    args = words[1:]
    flags = [a for a in args if a.startswith("-")]
    plain = [a for a in args if not a.startswith("-")]
    if name == "printf" and args:
        fmt, rest = args[0], args[1:]
        if fmt == "%s" or fmt == "%b":
            return _bin("".join(_escapes(a) if fmt == "%b" else a for a in rest))
        return _bin(_escapes(fmt.replace("%%", "%")))
    if name == "echo":
        body = " ".join(a for a in args if a not in ("-e", "-n", "-en", "-ne", "-E"))
        return _bin(_escapes(body) if any("e" in f for f in flags) else body)
    if data is None:
        return None
    if name == "base64" and any(f in ("-d", "--decode", "-di", "-id", "-D") for f in flags):
        raw = _b64decode(data)
        return raw[:_MAX].decode("latin-1") if raw is not None else None
    if name == "openssl" and "base64" in args and "-d" in args:
        raw = _b64decode(data)
        return raw[:_MAX].decode("latin-1") if raw is not None else None
    if name == "xxd" and "-r" in "".join(flags) and "p" in "".join(flags):
        h = "".join(data.split())
        if not _HEXDIGITS.fullmatch(h or "x"):
            return None
        try:
            return bytes.fromhex(h[: len(h) // 2 * 2])[:_MAX].decode("latin-1")
        except ValueError:
            return None
    if name == "rev":
        return "\n".join(line[::-1] for line in data.split("\n"))
    if name == "tr" and len(plain) == 2 and not flags:
        a, b = _trSet(plain[0]), _trSet(plain[1])
        if not a or not b:
            return None
        b = b + b[-1] * (len(a) - len(b))
        return data.translate(str.maketrans(a[: len(b)], b[: len(a)]))
    if name in ("gunzip", "zcat") or (name == "gzip" and "-d" in flags) or name in ("bunzip2", "bzcat") or (name == "bzip2" and "-d" in flags):
        out = _inflate(data.encode("latin-1", "replace"), "bzip2" if "bz" in name else "gzip")
        return out.decode("latin-1") if out is not None else None
    if name == "cat" and not plain:
        return data
    return None


def _pipelines(commands: list[shell.Command]) -> Iterator[list[shell.Command]]:
    run: list[shell.Command] = []
    for c in commands:
        if c.where == "subst":
            continue
        if run and c.before == "|":
            run.append(c)
            continue
        if run:
            yield run
        run = [c]
    if run:
        yield run


def _words(c: shell.Command) -> tuple[list[str], Optional[str]]:
    """
    A command's words and the string a here-string feeds it.
    """
    words: list[str] = []
    fed = None
    for w in c.words:
        if w.raw.startswith(shell.HERE_STRING):
            fed = w.text + "\n"
        elif not shell.isRedirection(w):
            words.append(w.text)
    return words, fed


def _output(body: str, depth: int) -> Optional[str]:
    """
    What C{body} (a pipeline of producers and filters) writes.
    """
    if not _PRODUCER.match(body):
        return None  # (only a pipeline that starts with a producer or a filter is read)
    data: Optional[str] = None
    commands = [c for c in shell.lex(_substituted(body, depth + 1)) if c.where != "subst"]
    if not commands or any(c.before not in ("|", "") for c in commands[1:]):
        return None
    for c in commands:
        words, fed = _words(c)
        data = _stage(words, _bin(fed) if fed is not None else data)
        if data is None:
            return None
        data = data[:_MAX]
    return _unbin(data) if data is not None else None


_SUBST = re.compile(r"\$\(|`")
_PRODUCER = re.compile(r"\s*['\"]?(?:\S*/)?(?:printf|echo|base64|xxd|rev|tr|cat|openssl|gunzip|bunzip2|zcat|bzcat|gzip|bzip2)\b")


def _substituted(text: str, depth: int) -> str:
    """
    C{text} with each command substitution whose output we can tell
    replaced by that output, quoted (innermost first, as a shell runs them).
    """
    if depth > _LAYERS or ("$(" not in text and "`" not in text):
        return text
    out: list[str] = []
    i = 0
    n = len(text)
    read = 0
    while i < n:
        m = _SUBST.search(text, i) if read < _SUBSTITUTIONS else None
        if not m:
            out.append(text[i:])
            break
        out.append(text[i : m.start()])
        if m.group(0) == "$(":
            if text.startswith("$((", m.start()):
                out.append("$((")
                i = m.end() + 1
                continue
            end = shell.closing(text, m.end(), "(", ")")
            body, after = text[m.end() : end], end + 1
        else:
            end = text.find("`", m.end())
            if end < 0:
                out.append(text[m.start() :])
                break
            body, after = text[m.end() : end], end + 1
        read += 1
        value = _output(body, depth)
        if value is None:
            out.append(text[m.start() : after])
        else:
            value = value.rstrip("\n")
            inQuotes = "".join(out).count('"') % 2 == 1
            out.append(value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`") if inQuotes
                       else "'" + value.replace("'", "'\\''") + "'")
        i = after
    return "".join(out)


def _shHidden(text: str, depth: int) -> Iterator[str]:
    if not any(k in text for k in ("|", "<<<", "eval", "$(", "`", "-c")):
        return
    folded = _substituted(text, depth)
    commands = shell.lex(folded)
    for run in _pipelines(commands):
        last, fed = _words(run[-1])
        if not last:
            continue
        name = last[0].rsplit("/", 1)[-1].lower()
        if name == "eval":
            if any(w.quoted for w in run[-1].words[1:]):  # eval "$(..)", eval "${x,,}"; not prose's "eval results"
                yield " ".join(last[1:])
            continue
        if name in _SHELLS:
            if len(last) > 2 and last[1] == "-c":
                yield last[2]
            elif fed is not None:
                yield fed
            elif len(run) > 1:
                produced = _output(_joined(run[:-1]), depth)
                if produced:
                    yield produced
    # a substitution's output run as the command (x;$(printf 'id'))
    for c in commands:
        if c.where != "subst" and c.words and " " in c.words[0].text.strip() and c.words[0].quoted and "$(" in text:
            yield " ".join(w.text for w in c.words)


def _joined(run: list[shell.Command]) -> str:
    """
    A pipeline written back as sh text (each word single-quoted).
    """
    parts = []
    for c in run:
        words, fed = _words(c)
        text = " ".join("'" + w.replace("'", "'\\''") + "'" for w in words)
        if fed is not None:
            text += " <<< '" + fed[:-1].replace("'", "'\\''") + "'"
        parts.append(text)
    return " | ".join(parts)


# --- cmd.exe: set, call, for and delayed expansion ------------------------------

_GUESS = {k.upper(): v for k, v in shell.GUESS.items()}
_PERCENT = re.compile(r"%([A-Za-z_][\w()]*)(?::(?:~\s*(-?\d+)\s*(?:,\s*(-?\d+))?|([^%=]+)=([^%]*)))?%")
_BANG = re.compile(r"!([A-Za-z_][\w()]*)(?::(?:~\s*(-?\d+)\s*(?:,\s*(-?\d+))?|([^!=]+)=([^!]*)))?!")
_CMD_LINE = re.compile(r"^\s*[\"(]*\s*(?:\S*[\\/])?cmd(?:\.exe)?\"?((?:[\s,;]*/[A-Za-z](?::\w*)?)*)[\s,;]*/[ckr]\s*(.*)$", re.I | re.S)
_FOR = re.compile(r"^for\s+(/[lL]\s+)?%%?(\w)\s+in\s*\(([^)]*)\)\s*do\s+(.*)$", re.I | re.S)
_IF = re.compile(r"^if\s+(?:/i\s+)?(?:not\s+)?(\S+?)\s*(==|\s(?:equ|neq|lss|leq|gtr|geq)\s)\s*(\S+)\s+(.*)$", re.I | re.S)
_SET = re.compile(r"^set\s+(\"?)([A-Za-z_][\w()]*)=(.*)$", re.I | re.S)


def _slice(value: str, a: Optional[str], b: Optional[str]) -> str:
    x = int(a) if a else 0
    if b is None:
        return value[x:]
    y = int(b)
    return value[x : x + y] if y >= 0 else value[x:y]


def _expand(pattern: "re.Pattern[str]", text: str, names: dict[str, str]) -> str:
    def one(m: "re.Match[str]") -> str:
        key = m.group(1).upper()
        if key not in names and key not in _GUESS:
            # (an unset !x! is empty once the value sets variables of its own,
            # a loop's accumulator; %x% stays as written)
            return "" if pattern is _BANG and names else m.group(0)
        value = names.get(key, _GUESS.get(key, ""))
        if m.group(4) is not None:
            return re.sub(re.escape(m.group(4).lstrip("*")), lambda _: m.group(5), value, flags=re.I)
        if m.group(2) is not None:
            return _slice(value, m.group(2), m.group(3))
        return value

    return pattern.sub(one, text)


def _statements(line: str) -> list[str]:
    """
    A cmd line split at C{&&}, C{&}, C{||} outside quotes; a C{for} or
    C{if} keeps the rest of the line as its body.
    """
    out: list[str] = []
    cur: list[str] = []
    quote = False
    k = 0
    while k < len(line):
        ch = line[k]
        if ch == '"':
            quote = not quote
        if not quote and ch in "&|" and not (k and line[k - 1] == "^"):
            stmt = "".join(cur).lstrip()
            if re.match(r"(?:for|if)\b", stmt, re.I):
                cur.append(ch)
                k += 1
                continue
            out.append(stmt)
            cur = []
            while k < len(line) and line[k] in "&|":
                k += 1
            continue
        cur.append(ch)
        k += 1
    out.append("".join(cur).lstrip())
    return [s for s in out if s.strip()]


def _compare(a: str, op: str, b: str) -> bool:
    op = op.strip().lower()
    try:
        x, y = int(a), int(b)
    except ValueError:
        return (a == b) == (op in ("==", "equ"))
    return {"==": x == y, "equ": x == y, "neq": x != y, "lss": x < y, "leq": x <= y, "gtr": x > y, "geq": x >= y}[op]


class _Cmd:
    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.steps = 0
        self.ran: list[str] = []

    def line(self, text: str, depth: int) -> None:
        for stmt in _statements(text):
            self.statement(stmt, depth)

    def statement(self, stmt: str, depth: int) -> None:
        self.steps += 1
        if self.steps > _STEPS or depth > _LAYERS:
            return
        stmt = stmt.lstrip(" \t@(,;")
        m = _FOR.match(stmt)
        if m:
            var, items, body = m.group(2), m.group(3), m.group(4)
            values = [v for v in re.split(r"[\s,;]+", items.strip()) if v]
            if m.group(1):
                try:
                    a, s, b = (int(v) for v in values[:3])
                except ValueError:
                    return
                values = [str(v) for v in itertools.islice(range(a, b + (1 if s > 0 else -1), s), _STEPS)] if s else []
            for v in values:
                if self.steps > _STEPS:
                    return
                self.line(re.sub(r"%%?" + var + r"\b", v, body), depth)
            return
        stmt = _expand(_BANG, _expand(_PERCENT, stmt, self.names), self.names)
        m = _IF.match(stmt)
        if m:
            if _compare(m.group(1).strip('"'), m.group(2), m.group(3).strip('"')):
                self.line(m.group(4), depth)
            return
        words = stmt.split(None, 1)
        head = words[0].lower().replace("^", "") if words else ""
        if head == "call" and len(words) > 1:
            self.statement(words[1], depth)
            return
        m = _SET.match(stmt)
        if m and not stmt[3:].lstrip().startswith("/"):
            value = m.group(3)
            if m.group(1) and value.endswith('"'):
                value = value[:-1]  # set "x=y"
            self.names[m.group(2).upper()] = value  # (trailing blanks kept, as cmd keeps them)
            return
        inner = _CMD_LINE.match(stmt.replace("^", ""))
        if inner:
            body = inner.group(2).strip()
            if body.startswith('"'):
                body = body[1:-1] if body.endswith('"') else body[1:]
            self.line(body, depth + 1)
            return
        stmt = stmt.replace("^", "").rstrip(" )")
        if stmt:
            self.ran.append(stmt)


def _cmdHidden(text: str) -> Iterator[str]:
    if not ("%" in text or "!" in text) or not re.search(r"\b(?:set|call|for)\b|%\w+:[~\w]|![a-z_]\w*!", text, re.I):
        return
    reader = _Cmd()
    reader.line(text.replace("\n", "&"), 0)
    for ran in reader.ran:
        if ran != text.strip() and ran not in text:
            yield ran  # built by the reading, not written in the value


# --- PowerShell: literals folded, then what is invoked --------------------------

_PS_VARS = {"$env:comspec": "C:\\Windows\\system32\\cmd.exe", "$pshome": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0",
            "$shellid": "Microsoft.PowerShell", "$verbosepreference.tostring()": "SilentlyContinue",
            "([string]$verbosepreference)": "SilentlyContinue", "$verbosepreference": "SilentlyContinue",
            "$env:public": "C:\\Users\\Public", "$env:windir": "C:\\Windows", "$env:systemroot": "C:\\Windows"}
_VARIABLE_NAME = re.compile(r"\((?:get-variable|gv|variable)\s+'\*mdr\*'\)\.name", re.I)
_CHAR = re.compile(r"\[char\]\s*\(?\s*(0x[0-9a-f]+|\d+)\s*\)?", re.I)
# (a double-quoted string with no variable, quote or bracket: a value's own
# quotes around a pasted command are no PowerShell string)
_DQ = re.compile(r"\"((?:[^\"`$'()]|`.)*)\"", re.S)
_NUMS = r"\(\s*(\d+(?:\s*,\s*\d+)*)\s*\)"
# codes XORed with a key before they are characters (Invoke-Obfuscation's BXOR encoding)
_XOR_CODES = re.compile(_NUMS + r"\s*\|\s*(?:%|foreach-object|foreach)\s*\{[^{}]*\[char\][^{}]*-bxor\s*(0x[0-9a-f]+|\d+)[^{}]*\}", re.I)
_CHAR_ARRAY = re.compile(r"\[char\[\]\]\s*" + _NUMS + r"|" + _NUMS + r"\s*\|\s*(?:%|foreach-object|foreach)\s*\{[^{}]*\[char\][^{}]*\}", re.I)
_INVOKER = (
    r"(?:iex|invoke-expression|[&.]\s*\(?\s*'(?:iex|invoke-expression)'\s*\)?|\$executioncontext\.invokecommand\.(?:invokescript|newscriptblock)|"
    r"\[scriptblock\]::create)"
)
_ENCODED = re.compile(r"\b(?:powershell|pwsh)(?:\.exe)?\b[^|;&]{0,200}?\s[-/]e(?:c|n[a-z]*)?\s+([A-Za-z0-9+/]{12,}={0,2})", re.I)
_COMMAND = re.compile(r"\b(?:powershell|pwsh)(?:\.exe)?\b(?:\s+-\w+(?:\s+(?:hidden|bypass|\d))?)*?\s+-c(?:ommand)?\s+(.+)$", re.I | re.S)
_STDIN = re.compile(r"\becho\s+(.+?)\s*\|\s*(?:powershell|pwsh)(?:\.exe)?\b[^|]*?\s-(?:\s|$|\")", re.I)


def _literal(pairs: Optional[int]) -> str:
    """
    A single-quoted literal (C{''} a quote inside it), as
    C{'(?:[^']|'')*'} reads one (C{pairs=None}), or holding at most C{pairs}
    doubled quotes (the next doubled quote's first closes it).  The runs of
    other characters are possessive: only a quote can end a literal, so
    giving them back never found another match.
    """
    return r"'[^']*+(?:''[^']*+)" + ("*" if pairs is None else "{0,%d}" % pairs) + "'"


class _Folds:
    """
    The patterns that read PowerShell's literals, for one reading of a
    literal (L{_literal}).
    """

    def __init__(self, q: str) -> None:
        self.literal = re.compile(q)
        self.indexed = re.compile(r"(" + "|".join(re.escape(k) for k in sorted(_PS_VARS, key=len, reverse=True)) + r"|" + q + r")\s*\[\s*(-?\d+(?:\s*,\s*-?\d+)*|-?\d+\s*\.\.\s*-?\(?[^\]]{1,40}?\)?)\s*\]", re.I)
        self.plus = re.compile(r"(" + q + r")\s*\+\s*(" + q + r")")
        self.paren = re.compile(r"\(\s*(" + q + r")\s*\)")
        self.charsOf = re.compile(r"\[char\[\]\]\s*(" + q + r")", re.I)
        self.format = re.compile(r"(" + q + r")\s*-f\s*(" + q + r"(?:\s*,\s*" + q + r")*)", re.I)
        self.join = re.compile(r"-join\s*\(?\s*(" + q + r")\s*\)?|(" + q + r")\s*-join\s*(?:''|\"\")|\[string\]::join\(\s*(?:''|\"\")\s*,\s*\(?\s*(" + q + r")\s*\)?\s*\)", re.I)
        self.splitCodes = re.compile(r"\(?\s*(" + q + r")((?:\s*-split\s*" + q + r"|\.split\(\s*" + q + r"\s*\))+)\s*\|\s*(?:%|foreach-object)\s*\{([^{}]*\[char\][^{}]*)\}\s*\)?", re.I)
        self.b64Text = re.compile(r"\[(?:system\.)?text\.encoding\]::(unicode|utf8|ascii|default)\.getstring\(\s*\[(?:system\.)?convert\]::frombase64string\(\s*(" + q + r")\s*\)\s*\)", re.I)
        self.deflate = re.compile(r"deflatestream\s*\(\s*\[io\.memorystream\]\s*\[(?:system\.)?convert\]::frombase64string\(\s*(" + q + r")\s*\)[^;]*?readtoend\(\)", re.I)
        self.replace = re.compile(r"(" + q + r")\s*(?:\.replace\(\s*(" + q + r")\s*,\s*(" + q + r")\s*\)|-c?replace\s*(" + q + r")\s*,\s*(" + q + r"))", re.I)
        self.invoked = re.compile(_INVOKER + r"\s*\(*\s*(" + q + r")|(" + q + r")\s*\)*\s*\|\s*" + _INVOKER + r"|[&.]\s*\(?\s*('[\w-]+')\s*\)?(?!\s*[-+\[.])", re.I)


# Session 17: re reads a literal from every quote of a value; in a run of
# doubled quotes ('''' ..., 'a''+''b''+ ...) each such reading ran to the
# run's end (and was given back doubled quote by doubled quote), in a
# dozen patterns and every round: seconds for one 4 KiB value.  A value
# whose doubled quotes could cost that is read with literals of at most
# _PAIRS doubled quotes; every other value exactly as before (with no more
# doubled quotes than _PAIRS in the value both readings are the same).
_PAIRS = 16
_BUDGET = 16384  # quotes times doubled quotes
_EXACT = _Folds(_literal(None))
_BOUNDED = _Folds(_literal(_PAIRS))


def _folds(s: str) -> _Folds:
    """
    The patterns C{s} is read with: literals unbounded unless its
    doubled quotes could make that cost more than L{_BUDGET} steps.
    """
    pairs = s.count("''")
    return _EXACT if pairs <= _PAIRS or pairs * s.count("'") <= _BUDGET else _BOUNDED


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _unlit(q: str) -> str:
    return q[1:-1].replace("''", "'")


def _indexed(m: "re.Match[str]") -> str:
    base = m.group(1)
    value = _unlit(base) if base.startswith("'") else _PS_VARS[base.lower()]
    spec = m.group(2)
    if ".." in spec:
        a, _, b = spec.partition("..")
        a = a.strip()
        b = b.strip().strip("()")
        try:
            start = int(a)
            end = -len(value) if "length" in b.lower() else int(b)
        except ValueError:
            return m.group(0)
        step = 1 if end >= start else -1
        idx = range(start, end + step, step)
    else:
        idx = [int(x) for x in spec.split(",")]
    try:
        return _lit("".join(value[k] for k in list(idx)[:_MAX]))
    except IndexError:
        return m.group(0)


def _format(m: "re.Match[str]", literal: "re.Pattern[str]") -> str:
    args = [_unlit(a) for a in literal.findall(m.group(2))]
    fmt = _unlit(m.group(1))
    try:
        return _lit(re.sub(r"\{(\d+)(?:[,:][^}]*)?\}", lambda f: args[int(f.group(1))], fmt))
    except IndexError:
        return m.group(0)


def _splitCodes(m: "re.Match[str]", literal: "re.Pattern[str]") -> str:
    delims = [_unlit(d) for d in literal.findall(m.group(2))]
    body = _unlit(m.group(1))
    for d in delims:
        body = body.replace(d, "\x00") if d else body
    base = 16 if "16" in m.group(3) else 8 if ",8)" in m.group(3).replace(" ", "") else 2 if ",2)" in m.group(3).replace(" ", "") else 10
    try:
        return _lit("".join(chr(int(x, base)) for x in body.split("\x00") if x.strip()))
    except ValueError:
        return m.group(0)


def _b64Text(m: "re.Match[str]") -> str:
    raw = _b64decode(_unlit(m.group(2)))
    if raw is None:
        return m.group(0)
    text = raw.decode("utf-16-le", "replace") if m.group(1).lower() == "unicode" else raw.decode("utf-8", "replace")
    return _lit(text[:_MAX])


def _deflated(m: "re.Match[str]") -> str:
    raw = _b64decode(_unlit(m.group(1)))
    out = _inflate(raw, "deflate") if raw is not None else None
    return _lit(out.decode("latin-1")[:_MAX]) if out is not None else m.group(0)


def _doubleQuoted(m: "re.Match[str]") -> str:
    return _lit(re.sub(r"`(.)", r"\1", m.group(1)))


def foldPowerShell(text: str) -> str:
    """
    C{text} with its string expressions folded to literals: ticks gone,
    double-quoted strings without variables, concatenation, C{-f}
    formats, indexing (reversal, C{$env:ComSpec[4,15,25]}), C{[char]}
    codes and arrays, C{-join}, delimited codes split and converted,
    C{.Replace}, base64 and deflate decoded.
    """
    return _fold(text, _folds)


def _fold(text: str, folds: Callable[[str], _Folds]) -> str:
    """
    L{foldPowerShell}, each pattern that reads literals the one C{folds}
    gives for the text at hand.
    """
    s = re.sub(r"`(?=[A-Za-z])", "", text[:_MAX])
    s = _VARIABLE_NAME.sub("'MaximumDriveCount'", s)
    for _ in range(_ROUNDS):
        before = s
        s = _DQ.sub(_doubleQuoted, s)
        s = folds(s).b64Text.sub(_b64Text, s)
        s = folds(s).deflate.sub(_deflated, s)
        f = folds(s)
        s = f.splitCodes.sub(functools.partial(_splitCodes, literal=f.literal), s)
        s = _XOR_CODES.sub(lambda m: _lit("".join(chr((int(x) ^ int(m.group(2), 0)) & 0xFFFF) for x in m.group(1).split(","))), s)
        s = _CHAR_ARRAY.sub(lambda m: _lit("".join(chr(int(x) & 0xFFFF) for x in (m.group(1) or m.group(2)).split(","))), s)
        s = _CHAR.sub(lambda m: _lit(chr(int(m.group(1), 0) & 0xFFFF)), s)
        s = folds(s).charsOf.sub(r"\1", s)
        s = folds(s).indexed.sub(_indexed, s)
        f = folds(s)
        s = f.format.sub(functools.partial(_format, literal=f.literal), s)
        s = folds(s).replace.sub(lambda m: _lit(re.sub(re.escape(_unlit(m.group(2) or m.group(4))), lambda _: _unlit(m.group(3) or m.group(5)),
                                                _unlit(m.group(1)), flags=re.I)), s)
        s = folds(s).plus.sub(lambda m: _lit(_unlit(m.group(1)) + _unlit(m.group(2))), s)
        s = folds(s).join.sub(lambda m: m.group(1) or m.group(2) or m.group(3), s)
        s = folds(s).paren.sub(r"\1", s)
        if s == before or len(s) > _MAX:
            break
    return s


def _psHidden(text: str) -> Iterator[str]:
    low = text.lower()
    if "-e" in low and ("powershell" in low or "pwsh" in low):
        for m in _ENCODED.finditer(text):
            raw = _b64decode(m.group(1))
            if raw is not None and len(raw) % 2 == 0:
                yield raw.decode("utf-16-le", "replace")
        for m in _STDIN.finditer(text):
            yield m.group(1).strip("\"'")
        for m in _COMMAND.finditer(text):
            body = m.group(1).strip()
            yield body[1:-1] if len(body) > 1 and body[0] == body[-1] == '"' else body
    if not any(k in low for k in ("'", "[char", "iex", "invoke", "&", ".(", ". (")):
        return
    folded = foldPowerShell(text)
    if folded == text and "iex" not in low and "invoke" not in low:
        return
    for m in _folds(folded).invoked.finditer(folded):
        code = m.group(1) or m.group(2)
        if code:
            yield _unlit(code)
        elif m.group(3) and shell.isProgram(_unlit(m.group(3))):
            rest = folded[m.end() :].split(";", 1)[0].split("|", 1)[0]
            yield _unlit(m.group(3)) + rest


# --- together -------------------------------------------------------------------


def hidden(text: str, depth: int = 0) -> Iterator[str]:
    """
    The code each evaluator C{text} hands a string to would run, read
    back (and what that code hands on, a few layers deep).
    """
    text = text[:_MAX]
    for code in list(_shHidden(text, depth)) + list(_cmdHidden(text)) + list(_psHidden(text)):
        code = code.strip()
        if not code or code == text.strip():
            continue
        yield code
        if depth + 1 < _LAYERS:
            yield from hidden(code, depth + 1)


# a word cmd reads without its carets and quotes (w^h^o, n"e"t), and the
# commas and semicolons cmd reads as blanks between a command and its switches
_CMD_SPELLED = re.compile(r"\^[A-Za-z]|[A-Za-z]\"[A-Za-z]")
_CMD_BLANKS = re.compile(r"(?<=\w),+(?=\w)|(?<=\w)[,;]+(?=[\s/])|(?<=\s)[,;]+")
# a cmdlet spelled with PowerShell's ticks (gEt-HOtf`ix)
_TICKED_CMDLET = re.compile(r"(?:^|[\s;&|(])([A-Za-z`]+-[A-Za-z`]+)(?=$|[\s;&|)])")


# a PowerShell statement as a value: a variable given a cmdlet's, an
# object's or a static call's result, or a cmdlet given a variable and at
# most options after it (not "Get-Well $oon cards")
_PS_STATEMENT = re.compile(
    r"^\s*(?:\$[A-Za-z_]\w*\s*=\s*(?:new-object\s+\S|\[[\w.]+\]::\w|([A-Za-z]+-[A-Za-z]+)\s+\S)|([A-Za-z]+-[A-Za-z]+)\s+(?:-\w+\s+)?\$[A-Za-z_][\w.]*\s*(?:$|[;|]|-\w))", re.I
)


def _psStatement(text: str) -> bool:
    m = _PS_STATEMENT.match(text)
    if not m:
        return False
    name = m.group(1) or m.group(2)
    return name is None or shell.isProgram(name)


def _tickedCmdlet(text: str) -> bool:
    return any("`" in m.group(1) and shell.isProgram(m.group(1).replace("`", "")) for m in _TICKED_CMDLET.finditer(text))


def readings(text: str) -> Iterator[str]:
    """
    C{text} as sh, PowerShell and cmd would read its words before running
    them (substitutions whose output we can tell made; ticks gone, literals
    folded; carets and quotes inside words gone; environment substrings
    expanded), where that differs from C{text}.
    """
    text = text[:_MAX]
    if "`" in text or "'" in text or "[char" in text.lower():
        folded = foldPowerShell(text)
        if folded != text:
            yield folded
    if "$(" in text or "`" in text:
        substituted = _substituted(text, 1)  # x;$(printf '\x69\x64'): the output is the command
        if substituted != text:
            yield substituted
    if ("^" in text or '"' in text) and _CMD_SPELLED.search(text):
        yield _CMD_BLANKS.sub(" ", text.replace("^", "").replace('"', ""))
    if "%" in text and ":~" in text:
        expanded = _expand(_PERCENT, text, {})
        if expanded != text:
            yield expanded


def runsHidden(text: str) -> bool:
    """
    Whether C{text} hands an evaluator code that runs a command (L{hidden},
    judged by L{shell.runs}), or read as PowerShell or cmd read its words
    (L{readings}) holds a command where a value belongs
    (L{shell.commandInValue}).
    """
    try:
        return (any(shell.runs(code) for code in hidden(text)) or any(shell.commandInValue(r) for r in readings(text))
                or ("`" in text and _tickedCmdlet(text)) or ("$" in text and _psStatement(text)))
    except (IndexError, ValueError, RecursionError, OverflowError):  # pragma: no cover - a value no evaluator would take
        return False
