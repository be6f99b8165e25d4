"""
What parses but cannot be meant: a role entry that names no MCP method, a
role's upstream glob that no host of C{upstreams.allow} can match, a
pattern that can never match or matches every string.  Warnings, not
errors: the file loads; C{--check} and the daemon's start-up print them.
"""

from __future__ import annotations

import difflib
import functools
import fnmatch
from typing import Optional

import hyperscan

from akto_proxy.inspect.hscache import compileProblem

#: the MCP methods a role entry may name (every revision up to 2026-07-28)
MCP_METHODS = (
    "initialize",
    "ping",
    "server/discover",
    "tools/list",
    "tools/call",
    "prompts/list",
    "prompts/get",
    "resources/list",
    "resources/read",
    "resources/templates/list",
    "resources/subscribe",
    "resources/unsubscribe",
    "completion/complete",
    "logging/setLevel",
    "sampling/createMessage",
    "elicitation/create",
    "roots/list",
    "tasks/get",
    "tasks/list",
    "tasks/cancel",
    "tasks/result",
    "notifications/initialized",
    "notifications/cancelled",
    "notifications/progress",
    "notifications/message",
    "notifications/roots/list_changed",
    "notifications/tools/list_changed",
    "notifications/prompts/list_changed",
    "notifications/resources/list_changed",
    "notifications/resources/updated",
    "notifications/elicitation/complete",
    "notifications/tasks/status",
)


def operationProblem(entry: str) -> Optional[str]:
    """
    Why a role entry (C{METHOD_GLOB} or C{METHOD:TARGET_GLOB}) matches no
    MCP method, or None when it matches one.
    """
    method = entry.partition(":")[0]
    if any(fnmatch.fnmatchcase(m, method) for m in MCP_METHODS):
        return None
    close = difflib.get_close_matches(method, MCP_METHODS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{entry!r} matches no MCP method{hint}"


def globsMeet(a: str, b: str) -> bool:
    """
    Whether some host matches both globs (C{*} and C{?}; a C{[...]} class
    counts as any one character, so the answer errs towards yes).
    """
    return _meet(_tokens(a.lower()), _tokens(b.lower()))


def _tokens(glob: str) -> tuple[str, ...]:
    out: list[str] = []
    i = 0
    while i < len(glob):
        c = glob[i]
        if c == "[":
            end = glob.find("]", i + 2)
            if end != -1:
                out.append("?")
                i = end + 1
                continue
        if c == "*" and out and out[-1] == "*":
            i += 1
            continue
        out.append(c)
        i += 1
    return tuple(out)


@functools.lru_cache(maxsize=1024)
def _meet(p: tuple[str, ...], q: tuple[str, ...]) -> bool:
    @functools.lru_cache(maxsize=None)
    def go(i: int, j: int) -> bool:
        if i == len(p) and j == len(q):
            return True
        if i < len(p) and p[i] == "*":
            # the star matches nothing, or takes q's next character (or star)
            return go(i + 1, j) or (j < len(q) and go(i, j + 1))
        if j < len(q) and q[j] == "*":
            return go(i, j + 1) or (i < len(p) and go(i + 1, j))
        if i < len(p) and j < len(q) and (p[i] == q[j] or p[i] == "?" or q[j] == "?"):
            return go(i + 1, j + 1)
        return False

    return go(0, 0)


def upstreamProblem(glob: str, allowed: tuple[str, ...]) -> Optional[str]:
    """
    Why a role's upstream glob can reach nothing that C{upstreams.allow}
    lets through, or None.
    """
    if not allowed or any(globsMeet(glob, host.strip("[]")) for host in allowed):
        return None
    return f"{glob!r} matches no host that upstreams.allow ({', '.join(allowed)}) lets through"


def patternProblem(pattern: str) -> Optional[str]:
    """
    Why a (valid RE2) pattern is no use as a rule: it can never match, or
    it matches every string.  Hyperscan's compiler knows both; a pattern it
    cannot take for other reasons (lookaround...) is not judged.
    """
    flags = hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_MULTILINE | hyperscan.HS_FLAG_UTF8
    text = compileProblem(pattern.encode("utf-8"), flags)
    if text is not None:
        if "can never match" in text:
            return "this pattern can never match"
        if "matches empty buffer" in text:
            return "this pattern matches every string (the empty one too): the rule would act on every message"
    return None


__all__ = ["MCP_METHODS", "globsMeet", "operationProblem", "patternProblem", "upstreamProblem"]
