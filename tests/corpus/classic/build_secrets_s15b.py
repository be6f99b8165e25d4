#!/usr/bin/env python3
"""
Session 15's second secrets lines, tune only (issue 16):
C{secrets_s15b.attacks.jsonl} and C{secrets_s15b.benign.jsonl} beside
this file.

    python tests/corpus/classic/build_secrets_s15b.py [--mirrors /work/.mirror]

Source: gitleaks/gitleaks (MIT), the rule definitions in
C{cmd/generate/config/rules/*.go}: each rule's true-positive strings
(C{tps}) as leaks and its false-positive strings (C{fps}) as benign
lines. The Go is not run (no Go toolchain here): a small reader
evaluates the literals, C{fmt.Sprintf}, C{+}, C{append}, the sample
templates of C{utils.GenerateSampleSecrets} (three of its templates a
secret, drawn from a seeded stream) and C{secrets.NewSecret(<regex>)}
(a string drawn from the regex with the same stream). Left out as
build_secrets_s15.py does: values that are a sequence or a run of one
character (placeholders, which the issue keeps silent), and the generic
rules' word-password examples (C{generic.go}'s tps: the project does not
flag word passwords; its fps stay, as benign lines), and the fps that are
secrets all the same, only not of that rule's vendor or length (random
values named C{nonMatchingToken}, signatures, a well-formed Mailchimp key
on a line gitleaks allows: C{_SECRET_SHAPED}).

A text equal (stripped) to a text of any other part, the held-out, fresh
and sealed parts included, is dropped without being shown.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
from typing import Any, Iterator, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import build_exfil as X  # noqa: E402
import build_fresh as FR  # noqa: E402
from build_fourth import Unseen  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ATTACKS = os.path.join(HERE, "secrets_s15b.attacks.jsonl")
BENIGN = os.path.join(HERE, "secrets_s15b.benign.jsonl")
SEED = "issue16:secrets:s15b"
REPO = ("gitleaks/gitleaks", "b58d3f10", "MIT")

#: a value that is a sequence, not a draw (as build_secrets_s15.py)
_SEQUENCE = re.compile(r"abcdef|bcdefg|ABCDEF|BCDEFG|123456|234567|987654|0987654|qwerty|zyxwvu|ZYXWVU|(.)\1{5,}|xxxx|XXXX|"
                       r"example|EXAMP|dummy|notreal")

#: utils.GenerateSampleSecrets' templates ({i} identifier, {I} upper, {s} secret)
_SAMPLES = (
    "{i}Token=\"{s}\"", "{i}Token = {s}", "{\n    \"{i}_token\": \"{s}\"\n}", "{\"config.ini\": \"{I}_TOKEN={s}\\nBACKUP_ENABLED=true\"}",
    "<{i}Token>\n    {s}\n</{i}Token>", "{i}_token: {s}", "{i}_token: '{s}'", "string {i}Token = \"{s}\";", "{i}Token := `{s}`",
    "${i}Token .= \"{s}\"", "{i}Token = '{s}'", "System.setProperty(\"{I}_TOKEN\", \"{s}\")", "  \"{i}Token\" => \"{s}\"",
    "{i}_TOKEN ?= \"{s}\"", "{i}_TOKEN := \"{s}\"",
)

#: gitleaks' fps that are secrets all the same, only not of that rule's
#: vendor or shape (a random value that misses one vendor's length, a
#: signature, a well-formed key written on a line gitleaks allows): not
#: benign lines in this project's sense, left out
_SECRET_SHAPED = re.compile(
    r"nonMatchingToken|meraki|CloudFront-Signature|signature\":|key = adf4b1db|MailchimpSDK|sntry[su]_|\bsgp_|"
    r"Authorization: Basic eyJ|ClearTextPassword\" value=\"(?:33f|hal\+)"
)
#: documented keys no shape tells from live ones (Firebase's Android SDK
#: samples in gitleaks' gcp.go, yarn's public Algolia key in generic.go):
#: the issue keeps them silent, but only a list of them would, which this
#: project does not keep; left out rather than counted either way
_DOCUMENTED = re.compile(r"^AIza[\w-]{35}$|apiKey:\"6fe4476ee5a1832882e326b506d14126\"")

_UTIL_RE = {
    "Numeric": "[0-9]{%s}", "Hex": "[a-f0-9]{%s}", "AlphaNumeric": "[a-z0-9]{%s}", "AlphaNumericExtendedShort": "[a-z0-9_-]{%s}",
    "AlphaNumericExtended": "[a-z0-9=_\\-]{%s}", "AlphaNumericExtendedLong": "[a-z0-9\\/=_\\+\\-]{%s}",
}


def fromRegex(pattern: str, rng: random.Random) -> str:
    """
    A string the regex matches, drawn with C{rng} (repeats capped at 80).
    """
    from re import _parser as P  # type: ignore[attr-defined]
    from re import _constants as C  # type: ignore[attr-defined]

    pattern = pattern.replace("(?i)", "")

    def chars(items: list) -> list[str]:
        out: list[str] = []
        for op, av in items:
            if op is C.LITERAL:
                out.append(chr(av))
            elif op is C.RANGE:
                out.extend(chr(c) for c in range(av[0], av[1] + 1))
            elif op is C.CATEGORY:
                out.extend("0123456789" if av is C.CATEGORY_DIGIT else
                           "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_" if av is C.CATEGORY_WORD else " ")
        return out or ["a"]

    def walk(seq: Any) -> str:
        s = []
        for op, av in seq:
            if op is C.LITERAL:
                s.append(chr(av))
            elif op is C.IN:
                s.append(rng.choice(chars(av)))
            elif op is C.ANY:
                s.append(rng.choice("abcdefghijk0123456789"))
            elif op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
                lo, hi, sub = av
                hi = min(hi if hi is not C.MAXREPEAT else lo + 20, max(lo, 80))
                s.extend(walk(sub) for _ in range(rng.randint(lo, max(lo, hi))))
            elif op is C.SUBPATTERN:
                s.append(walk(av[-1]))
            elif op is C.BRANCH:
                s.append(walk(rng.choice(av[1])))
            elif op is C.CATEGORY:
                s.append(rng.choice(chars([(op, av)])))
        return "".join(s)

    return walk(P.parse(pattern))


_TOKEN = re.compile(r'\s+|//[^\n]*|/\*.*?\*/|`[^`]*`|"(?:[^"\\\n]|\\.)*"|[A-Za-z_][A-Za-z0-9_.]*|:=|\.\.\.|.', re.S)


def _goString(tok: str) -> str:
    if tok.startswith("`"):
        return tok[1:-1]
    return json.loads(tok) if "\\x" not in tok else tok[1:-1].encode().decode("unicode_escape")


class _Reader:
    """
    Evaluates the Go expressions a rule's tps/fps are written with.
    """

    def __init__(self, text: str, rng: random.Random) -> None:
        self.toks = [t for t in _TOKEN.findall(text) if not (t.isspace() or t.startswith("//") or t.startswith("/*"))]
        self.i = 0
        self.rng = rng

    def peek(self) -> Optional[str]:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> str:
        t = self.toks[self.i]
        self.i += 1
        return t

    def expr(self) -> Any:
        v = self.term()
        while self.peek() == "+":
            self.take()
            w = self.term()
            v = v + w if isinstance(v, str) and isinstance(w, str) else None
        return v

    def args(self, close: str) -> list:
        out = []
        while self.peek() not in (close, None):
            out.append(self.expr())
            if self.peek() == ":":  # a map's key: keep the value
                self.take()
                out[-1] = self.expr()
            if self.peek() == ",":
                self.take()
        self.take()
        return out

    def term(self) -> Any:
        t = self.take()
        if t[0] in "`\"":
            return _goString(t)
        if t == "[":
            self.take()  # ]
            self.take()  # string
            self.take()  # {
            return self.args("}")
        if t == "map":
            while self.take() != "{":
                pass
            return self.args("}")
        if self.peek() == "(":
            self.take()
            a = self.args(")")
            return self.call(t, a)
        return None

    def call(self, name: str, a: list) -> Any:
        short = name.rsplit(".", 1)[-1]
        if short in _UTIL_RE and a and isinstance(a[0], str):
            return _UTIL_RE[short] % a[0]
        if short == "Hex8_4_4_4_12":
            return "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
        if short == "NewSecret" and a and isinstance(a[0], str):
            return fromRegex(a[0], self.rng)
        if short == "Sprintf" and a and isinstance(a[0], str) and all(isinstance(x, str) for x in a[1:]):
            try:
                return a[0].replace("%v", "%s") % tuple(a[1:])
            except (TypeError, ValueError):
                return None
        if short in ("GenerateSampleSecrets", "GenerateSampleSecret") and len(a) == 2 and all(isinstance(x, str) for x in a):
            n = 1 if short == "GenerateSampleSecret" else 3
            return [tpl.replace("{i}", a[0]).replace("{I}", a[0].upper()).replace("{s}", a[1]) for tpl in self.rng.sample(_SAMPLES, n)]
        if short == "append":
            out: list[str] = []
            for x in a:
                if isinstance(x, list):
                    out.extend(y for y in x if isinstance(y, str))
                elif isinstance(x, str):
                    out.append(x)
            return out
        if short == "Repeat" and len(a) == 2:
            return None
        return None

    def statements(self) -> Iterator[tuple[str, list[str]]]:
        """
        (tps or fps, the strings given to it) of each assignment.
        """
        while self.peek() is not None:
            t = self.take()
            if t in ("tps", "fps") and self.peek() in (":=", "="):
                self.take()
                start = self.i
                try:
                    v = self.expr()
                except (IndexError, ValueError, json.JSONDecodeError, re.error):
                    self.i = start + 1
                    continue
                if isinstance(v, str):
                    v = [v]
                if isinstance(v, list):
                    yield t, [x for x in v if isinstance(x, str)]


def gitleaks(root: str, rng: random.Random) -> Iterator[tuple[str, str, str]]:
    git = os.path.join(root, REPO[0].replace("/", "+"), "repo")
    if not os.path.isdir(git):
        raise SystemExit(f"{REPO[0]}: no mirror at {git} (fetch it first)")

    def run(*args: str) -> str:
        return subprocess.run(["git", f"--git-dir={git}", *args], check=True, capture_output=True).stdout.decode("utf-8", "replace")

    for path in sorted(run("ls-tree", "-r", "--name-only", REPO[1], "cmd/generate/config/rules/").split()):
        if not path.endswith(".go"):
            continue
        src = f"gitleaks/gitleaks {path} ({REPO[2]})"
        for kind, values in _Reader(run("show", f"{REPO[1]}:{path}"), rng).statements():
            for v in values:
                if kind == "fps":
                    if not _SECRET_SHAPED.search(v) and not _DOCUMENTED.search(v):
                        yield "benign", v, src
                elif not path.endswith("/generic.go") and not _SEQUENCE.search(v):
                    yield "attack", v, src


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirrors", default="/work/.mirror")
    args = ap.parse_args()
    rng = random.Random(SEED)
    unseen = Unseen((ATTACKS, BENIGN), minLength=8)  # (every other part's, the sealed fifth's too: never printed)
    rows: dict[str, list[dict[str, str]]] = {"attack": [], "benign": []}
    for label, text, src in gitleaks(args.mirrors, rng):
        if unseen(text):
            rows[label].append(FR._exfil("secrets", label, "gitleaks-rules", text, src, rng, split="tune"))
    for label, path in (("attack", ATTACKS), ("benign", BENIGN)):
        X.writeJsonl(path, rows[label])
    print(f"{len(rows['attack'])} leaks, {len(rows['benign'])} benign lines -> secrets_s15b.*.jsonl; "
          f"{unseen.dropped} equal to a line of another part left out")


if __name__ == "__main__":
    main()
