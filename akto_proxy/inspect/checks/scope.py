"""
Exclusions: which checks do not look at which strings of a message.

An exclusion names an upstream (host glob), a path glob, optionally a tool
(glob) and an argument (a name under C{params.arguments}, or a JSON path),
and the checks it covers (none named: all).  Without an argument it covers
every string of the matching messages, the tool's results included.  An
argument covers the strings inside it, the keys of its objects included
(C{headers} covers C{params.arguments.headers~0}, the first header's name).
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Sequence

import attrs

from akto_proxy.config.model import Exclusion
from akto_proxy.inspect.message import Message
from akto_proxy.relay.fence import hostMatches


def _argumentPrefixes(argument: str) -> tuple[str, ...]:
    argument = argument.removeprefix("$.")
    if "." in argument or "[" in argument:
        return (argument, "params.arguments." + argument)
    return ("params.arguments." + argument,)


def _under(path: str, prefix: str) -> bool:
    # a member (C{.name}, C{["name"]}), an item (C{[0]}) or a key (C{~0})
    return path == prefix or (path.startswith(prefix) and path[len(prefix)] in ".[~")


@attrs.frozen
class MessageScope:
    """
    The exclusions that apply to one message.

    @ivar whole: checks excluded for every string.
    @ivar arguments: per check, the JSON path prefixes excluded.
    """

    whole: frozenset[str] = frozenset()
    arguments: tuple[tuple[str, tuple[str, ...]], ...] = ()
    everything: bool = False  # an exclusion naming no checks covers all strings

    def excludes(self, check: str, path: str) -> bool:
        if self.everything or check in self.whole:
            return True
        for name, prefixes in self.arguments:
            if (name == check or name == "*") and any(_under(path, p) for p in prefixes):
                return True
        return False

    def wholly(self, check: str) -> bool:
        return self.everything or check in self.whole


NOTHING = MessageScope()


class Exclusions:
    def __init__(self, exclusions: Sequence[Exclusion]):
        self._exclusions = tuple(exclusions)

    def __bool__(self) -> bool:
        return bool(self._exclusions)

    def scope(self, message: Message) -> MessageScope:
        if not self._exclusions:
            return NOTHING
        target = message.target
        path = target.path.decode("latin-1")
        whole: set[str] = set()
        everything = False
        arguments: list[tuple[str, tuple[str, ...]]] = []
        for e in self._exclusions:
            if not hostMatches(target.host, (e.upstream,)) and not fnmatchcase(
                target.authority.lower(), e.upstream.lower()
            ):
                continue
            if e.path != "*" and not fnmatchcase(path, e.path):
                continue
            if e.tool is not None and (message.tool is None or not fnmatchcase(message.tool, e.tool)):
                continue
            if e.argument is None:
                if not e.checks:
                    everything = True
                whole.update(e.checks)
                continue
            prefixes = _argumentPrefixes(e.argument)
            for check in e.checks or ("*",):
                arguments.append((check, prefixes))
        if not (whole or everything or arguments):
            return NOTHING
        return MessageScope(frozenset(whole), tuple(arguments), everything)

