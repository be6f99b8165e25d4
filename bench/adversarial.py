"""
Worst-case CPU of the checks on adversarial bodies.

For every rule of L{akto_proxy.inspect.checks.rules} (its Hyperscan pattern
and its C{re} confirmation), and for the triggers of the validators and the
readers behind them (validators, deobfuscate, shell, sqlshape, paths,
normalize), builds bodies of 100 KB that repeat one fragment: strings the
rule's own pattern matches (drawn by hypothesis, derandomised), the
literals written in it, and typical triggers (C{../}, C{'--}, C{$(},
C{password=}, digits with separators, base64 runs, nested brackets...),
each glued, after a blank and after a line break.  Each body is inspected (times in CPU seconds of this process: a loaded machine stretches the wall clock)
the way C{bench/inspect_bench.py} does (every step of its configuration)
as a request's C{tools/call} argument (a value of an outward tool) and as
a tool's result, at medium and high sensitivity.

    python bench/adversarial.py [--size 102400] [--top 15] [--limit 3]
                                [--only SUBSTRING] [--json OUT] [--again EARLIER.json]

Phase one inspects every body once, at C{--probe} characters, as a
request at high (the most rules and every normalised variant; a run
stopped after C{--limit} seconds counts as that long); phase two takes the
slowest C{--top * 2} at C{--size}, every inspection best of three, says
which rule or step took the slowest one's time, and times that one at four
times the size: the ratio says linear (about 4) or quadratic (about 16).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import sys
import time
from collections import defaultdict
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any, Callable, Iterator, Optional

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import attrs  # noqa: E402

from akto_proxy.config.loader import parseConfig  # noqa: E402
from akto_proxy.inspect.checks import buildInspectors  # noqa: E402
from akto_proxy.inspect.checks import rules as R  # noqa: E402
from akto_proxy.inspect.checks.threats import ThreatInspector  # noqa: E402
from akto_proxy.inspect.message import Message  # noqa: E402
from inspect_bench import CONFIG, TARGET  # noqa: E402

#: what typically sets a check or a reader off, beside each rule's own
TRIGGERS = (
    "../", "..\\", "x=../", "/../", "..%2f", "%2e", "%2e%2e%2f", "%252e", "%c0%ae", "..;/", "....//", ".../", "/./",
    "'--", "' or 1=1", " or 1=1", "'", '"', "`", "' or '", "1=1", "--", "/*", "*/", "#", ";", "|", "||", "&", "&&",
    "$(", "$((", "${", "${IFS}", "`id`", "$(id)", "%0a", "\\n", "^", "<<<", "<(", "(", ")", "[", "]", "{", "}", "((", "))",
    "[[", "]]", "{{", "}}", "({[", "]})", "\\", "\\\\", "\\x41", "\\u0041", "%41", "&#46;", "&#x2e;",
    "password=", "password: ", "key: ", "token=", "secret ", "api_key=", "PASSWORD=", "pass=", "pwd=", '"password": "',
    "key=", "Authorization: Bearer ", "-u ", "-p", "curl -u a:", "curl ", "mysql -p", "@", "a@", "a@b", "a@b.co",
    "\"a\"@", "[at]", "+1 ", "+44 20 ", "+", "00", "1-", "1 ", "1.", "1/", "12 34 ", "123-45-", "(12) ", "1234 5678 ",
    "0612345678 ", "tel:", "phone ", "4242 ", "4111-1111-", "DE89 ", "AKIA", "ghp_", "sk_live_", "eyJ", "eyJhbGciOi.",
    "xoxb-", "aGVsbG8gd29ybGQ=", "QUJD", "YWJj", "A" * 40 + " ", "0123456789abcdef", "ab+/", "==", "a_b_", "ab_cd_",
    "select ", "union select ", "case when ", "then 1 else ", "or ", "and ", "sleep(", "char(", "0x41", "exec ",
    "cat /etc/passwd ", "/etc/", "etc/passwd", "/proc/self/", "C:\\", "c:/", "\\\\host\\", "file://", "php://",
    "http://", "https://a.b/", "?file=", "?page=", "&x=", "%00", "\x00", "\\0", "nc -e ", "bash -i ", "sh -c ",
    "powershell -e ", "iex ", "cmd /c ", "echo ", "eval ", "base64 -d", "| sh", "|sh", "a'b", "a\"b", "a^b", "a`b",
    "\"" + "x" * 200 + "\" ", "'" + "x" * 200 + "' ", "\"x", "'x", "é", "ü ", "日本", "\u200b", "\ufffd", "Ā", "🙂",
    "\t", "\r\n", "\n", " ", ":", "::", ".", "..", "-", "--", "_", "=", "==", "=>", ",", ", ", "%", "%%", "%PATH:~",
    "!x!", "[char]", "-join", "'+'", "<", ">", "<!--#exec ", "<script>", "() { :; };", "f(){ ", "$IFS", "*", "?",
    "/?", "/*/", "~/", "~/.ssh/", ".env", "/.env ", "localhost", "127.0.0.1 ", "::1 ", "a:b:c:d:", "1.2.3.4 ",
    # (session 17: PowerShell's literals, a quote doubled inside one, and what folds them)
    "''", "'ab'", "'a''", "'+''", "''+''", "-split'", "-f'", "'-f'", "[char]'", ".replace('", "-join'", "iex('", "|iex",
    "$env:comspec[", "'[", "('", "')", "''')", "\"'", "`'",
)
#: the shapes a fragment is repeated in: glued, after a blank, after a line break
JOINS = ("", " ", "\n")
#: the step that inspects this, for each label of L{configs}
CONFIGS = ("request medium", "result medium", "request high", "result high")


class _Expired(Exception):
    pass


def _expire(signum: int, frame: Any) -> None:
    raise _Expired()


def literals(pattern: str) -> set[str]:
    """
    The literal runs of two characters or more written in C{pattern} (each
    alternative's own, classes of one character taken as literals).
    """
    out: set[str] = set()

    def walk(items: Any) -> None:
        run: list[str] = []

        def flush() -> None:
            if len(run) >= 2:
                out.add("".join(run))
            run.clear()

        for op, arg in items:
            name = str(op)
            if name == "LITERAL":
                run.append(chr(arg))
                continue
            if name == "IN" and len(arg) == 1 and str(arg[0][0]) == "LITERAL":
                run.append(chr(arg[0][1]))
                continue
            flush()
            if name == "BRANCH":
                for alternative in arg[1]:
                    walk(alternative)
            elif name == "SUBPATTERN":
                walk(arg[-1])
            elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                walk(arg[2])
            elif name in ("ASSERT", "ASSERT_NOT"):
                walk(arg[1])
            elif name == "ATOMIC_GROUP":
                walk(arg)
        flush()

    try:
        walk(sre_parse.parse(pattern))
    except Exception:
        pass
    return out


def samples(pattern: str, caseless: bool, count: int = 8) -> list[str]:
    """
    A few short strings written after C{pattern} (each alternative taken in
    turn, repeats at their least, or a little more), those it matches first.
    """
    try:
        tree = sre_parse.parse(pattern)
        compiled = re.compile(pattern, (re.I if caseless else 0) | re.M | re.A)
    except Exception:
        return []
    drawn = set()
    for seed in range(count):
        rnd = random.Random(seed)
        try:
            text = _write(tree, rnd, seed)
        except RecursionError:
            continue
        if 0 < len(text) <= 200 and "\n" not in text.strip("\n"):
            drawn.add(text)
    return sorted(drawn, key=lambda s: (compiled.search(s) is None, len(s), s))[:4]


def _write(items: Any, rnd: random.Random, seed: int) -> str:
    out = []
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "NOT_LITERAL":
            out.append("x" if chr(arg) != "x" else "y")
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            out.append(_member(arg, rnd))
        elif name == "BRANCH":
            alternatives = arg[1]
            out.append(_write(alternatives[seed % len(alternatives)] if seed < len(alternatives) else rnd.choice(alternatives), rnd, seed))
        elif name == "SUBPATTERN":
            out.append(_write(arg[-1], rnd, seed))
        elif name == "ATOMIC_GROUP":
            out.append(_write(arg, rnd, seed))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, sub = arg
            n = low if seed % 2 == 0 else min(high, low + 1 + rnd.randrange(3))
            out.append("".join(_write(sub, rnd, seed + i) for i in range(min(n, 120))))
        elif name == "CATEGORY":
            out.append(_CATEGORY.get(str(arg), "a"))
    return "".join(out)


_CATEGORY = {"CATEGORY_DIGIT": "7", "CATEGORY_NOT_DIGIT": "a", "CATEGORY_SPACE": " ", "CATEGORY_NOT_SPACE": "a",
             "CATEGORY_WORD": "k", "CATEGORY_NOT_WORD": "-"}


def _member(items: Any, rnd: random.Random) -> str:
    """
    A character of a class (one outside it when the class is negated).
    """
    chars: list[str] = []
    negate = False
    for op, arg in items:
        name = str(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            chars.append(chr(arg))
        elif name == "RANGE":
            chars.extend(chr(c) for c in range(arg[0], min(arg[1], arg[0] + 40) + 1))
        elif name == "CATEGORY":
            chars.append(_CATEGORY.get(str(arg), "a"))
    if negate:
        return next((c for c in "xq7-_.:" if c not in chars), "z")
    return rnd.choice(chars) if chars else "a"


def allRules() -> list[R.Rule]:
    """
    Every rule a threat step may run, the bulk rules of high too.
    """
    from akto_proxy.inspect.checks.threats import _bulkRules  # noqa: E402

    return list(R.ALL_RULES) + list(_bulkRules(3))


def fragments(only: Optional[str] = None) -> dict[str, str]:
    """
    Every fragment to repeat, with where it came from (a rule's name or
    C{trigger}).
    """
    out: dict[str, str] = {}
    for t in TRIGGERS:
        out.setdefault(t, "trigger")
    for rule in allRules():
        source = f"{rule.check}.{rule.name}"
        for p in {rule.pattern, rule.confirm or rule.pattern}:
            for lit in literals(p):
                out.setdefault(lit, source)
        for s in samples(rule.pattern, rule.caseless):
            out.setdefault(s, source)
    if only:
        out = {k: v for k, v in out.items() if only in k or only in v}
    return {k: v for k, v in out.items() if k.strip(" ") or k == " "}


def body(fragment: str, join: str, size: int) -> str:
    unit = fragment + join
    return (unit * (size // len(unit) + 1))[:size]


def messages(text: str) -> tuple[Message, Message]:
    """
    C{text} as an outward tool's argument that carries a value, and as a
    tool's result.
    """
    request = Message.fromJSONRPC(
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "send_message", "arguments": {"value": text}}},
        "request", TARGET, "http",
    )
    result = Message.fromJSONRPC(
        {"jsonrpc": "2.0", "id": 7, "result": {"content": [{"type": "text", "text": text}]}},
        "response", TARGET, "http", method="tools/call",
    )
    return request, attrs.evolve(result, tool="read_file")


class Sweep:
    """
    The steps of both sensitivities, and the time one inspection takes.
    """

    def __init__(self, limit: float):
        self.limit = limit
        self.steps = {s: buildInspectors(parseConfig(CONFIG.format(sensitivity=s))) for s in ("medium", "high")}
        signal.signal(signal.SIGPROF, _expire)
        # (each database compiled before any run is timed: a limit that
        # stopped a compile would stop it again at every run)
        for _, steps, message in self.cases("warm up ../ /* 1 2 a@b.co"):
            for step in steps:
                step.inspect(message)

    def cases(self, text: str) -> Iterator[tuple[str, list[Any], Message]]:
        request, result = messages(text)
        for label in CONFIGS:
            direction, sensitivity = label.split()
            yield label, self.steps[sensitivity], request if direction == "request" else result

    def once(self, steps: list[Any], message: Message) -> float:
        """
        Seconds one inspection by every step takes (C{limit} at most: the
        run is stopped there).
        """
        signal.setitimer(signal.ITIMER_PROF, self.limit)
        start = time.process_time()
        try:
            for step in steps:
                step.inspect(message)
        except _Expired:
            return self.limit
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
        return time.process_time() - start

    def best(self, steps: list[Any], message: Message, rounds: int = 3) -> float:
        best = float("inf")
        for _ in range(rounds):
            best = min(best, self.once(steps, message))
            if best >= self.limit:
                break
        return best

    def blame(self, steps: list[Any], message: Message) -> str:
        """
        Where one inspection's time goes: the slowest confirmed rule of the
        threat step, or the slowest other step.
        """
        spent: dict[str, float] = defaultdict(float)
        original = ThreatInspector._confirm
        tiers: dict[int, int] = {}
        counts: dict[str, int] = defaultdict(int)
        for rule in allRules():
            tiers[id(rule)] = counts[rule.name]
            counts[rule.name] += 1

        def timed(inspector: Any, scanner: Any, index: int, rule: Any, *a: Any, **k: Any) -> None:
            start = time.process_time()
            try:
                original(inspector, scanner, index, rule, *a, **k)
            finally:
                spent[f"{rule.name}#{tiers.get(id(rule), 0)}"] += time.process_time() - start

        ThreatInspector._confirm = timed  # type: ignore[method-assign]
        try:
            for step in steps:
                before = sum(spent.values())
                start = time.process_time()
                signal.setitimer(signal.ITIMER_PROF, self.limit)
                try:
                    step.inspect(message)
                except _Expired:
                    pass
                finally:
                    signal.setitimer(signal.ITIMER_PROF, 0)
                spent[f"[{step.name}]"] += time.process_time() - start - (sum(spent.values()) - before)
        finally:
            ThreatInspector._confirm = original  # type: ignore[method-assign]
        name, seconds = max(spent.items(), key=lambda kv: kv[1])
        return f"{name} {seconds * 1e3:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=100 * 1024)
    parser.add_argument("--probe", type=int, default=20 * 1024, help="size of phase one's bodies")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--limit", type=float, default=3.0)
    parser.add_argument("--only", default=None)
    parser.add_argument("--json", default=None)
    parser.add_argument("--again", default=None, help="a --json file of an earlier run: its rows measured again (no phase one)")
    args = parser.parse_args()
    sweep = Sweep(args.limit)
    first: list[tuple[float, str, str, str]] = []
    if args.again:
        with open(args.again) as f:
            first = [(r["ms"], r["fragment"], r["join"], r["source"]) for r in json.load(f)["rows"]]
    else:
        frags = fragments(args.only)
        print(f"{len(frags)} fragments x {len(JOINS)} shapes", file=sys.stderr)
        # phase one: every body once, a request at high (the most rules,
        # every normalised variant), at the probe's size
        started = time.process_time()
        steps = sweep.steps["high"]
        for n, (fragment, source) in enumerate(sorted(frags.items())):
            for join in JOINS:
                request, _ = messages(body(fragment, join, args.probe))
                first.append((sweep.once(steps, request), fragment, join, source))
            if n % 500 == 499:
                print(f"  {n + 1} fragments, {time.process_time() - started:.0f} s", file=sys.stderr)
        first.sort(reverse=True)
    # phase two: the slowest, each inspection, best of three, at the size
    # and at four times it
    rows = []
    for _, fragment, join, source in first[: args.top if args.again else args.top * 2]:
        timed = []
        for label, steps, message in sweep.cases(body(fragment, join, args.size)):
            timed.append((sweep.best(steps, message), label, steps, message))
        small, label, steps, message = max(timed, key=lambda t: t[0])
        direction, sensitivity = label.split()
        request4, result4 = messages(body(fragment, join, args.size * 4))
        large = sweep.best(steps, request4 if direction == "request" else result4)
        rows.append({
            "fragment": fragment, "join": join, "inspection": label, "source": source,
            "ms": small * 1e3 * (102400 / args.size), "ratio4": large / small if small else 0.0,
            "all": {t[1]: round(t[0] * 1e3, 1) for t in timed}, "where": sweep.blame(steps, message),
        })
    if not args.again:
        rows.sort(key=lambda r: -r["ms"])
    print("| # | fragment | joined by | slowest inspection | ms per 100 KB | at 4x the size | where | from |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for i, r in enumerate(rows if args.again else rows[: args.top], 1):
        print(f"| {i} | `{r['fragment'][:40]!r}` | {r['join']!r} | {r['inspection']} | {r['ms']:.0f} | "
              f"{r['ratio4']:.1f}x | {r['where']} | {r['source']} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"phase1": [list(x) for x in first[:400]], "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
