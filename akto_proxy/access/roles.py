"""
Roles: which agent operations an API key may perform on which upstream.

Grammar (SPEC section 3), one string per entry of a role's C{allow} or C{deny}:

    METHOD_GLOB                  e.g. C{tools/list}, C{resources/*}, C{*}
    tools/call:TOOL_GLOB         e.g. C{tools/call:*}, C{tools/call:delete_*}
    resources/read:URI_GLOB      e.g. C{resources/read:file:///srv/docs/*}
    prompts/get:NAME_GLOB

Globs are C{fnmatch} globs (C{*} also crosses C{/}).  A method glob without a
target matches the method whatever its target (C{tools/call} and
C{tools/call:*} both allow every tool; C{resources/*} matches
C{resources/read} and C{resources/list}).  An entry with a target matches
only that method and a target matching the glob.

Decision, for a key, an upstream host and an operation:

 - only the key's roles whose C{upstreams} match the host count ("reaching"
   roles); a key with roles of which none reaches the host is refused;
 - refused if a reaching role denies the operation (deny wins);
 - lifecycle methods (C{initialize}, C{server/discover}, C{ping},
   C{notifications/*}) are otherwise allowed;
 - anything else is allowed only if a reaching role allows it.

Allow entries match exactly (tool names are case-sensitive).  Deny entries
match case-insensitively after NFKC normalization, so that C{Delete_User}
or a full-width look-alike does not slip past C{tools/call:delete_*} on a
server that resolves names loosely.

Keys without roles (see L{Policy.fromConfig}): with C{roleless="auto"} (the
default) they are unrestricted when the configuration defines no roles at
all (roles not in use), and limited to lifecycle methods as soon as any role
is defined (least privilege: adding a role to one key never silently leaves
another one all-powerful).
"""

from __future__ import annotations

import fnmatch
import functools
import re
import unicodedata
from typing import Any, Literal, Mapping, Optional, Sequence

import attrs

from akto_proxy.config.model import AccessControl, ApiKey, Role
from akto_proxy.relay.fence import hostMatches

LIFECYCLE_METHODS = frozenset({"initialize", "server/discover", "ping"})
TARGETED_METHODS = frozenset({"tools/call", "resources/read", "prompts/get"})

Roleless = Literal["auto", "all", "lifecycle"]


def isLifecycle(method: str) -> bool:
    return method in LIFECYCLE_METHODS or method.startswith("notifications/")


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@functools.lru_cache(maxsize=4096)
def _compile(glob: str, fold: bool) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(_fold(glob) if fold else glob), re.DOTALL)


@attrs.frozen
class Entry:
    """
    One parsed entry: C{method} is a glob; C{target} a glob or None (any).
    """

    method: str
    target: Optional[str]

    @classmethod
    def parse(cls, text: str) -> "Entry":
        method, sep, target = text.partition(":")
        if sep and method in TARGETED_METHODS:
            return cls(method, target)
        # The loader refuses other targets; keep such an entry literal.
        return cls(text, None)

    def matches(self, method: str, target: Optional[str], fold: bool = False) -> bool:
        if fold:
            method = _fold(method)
        if self.target is None:
            return _compile(self.method, fold).fullmatch(method) is not None
        if method != (_fold(self.method) if fold else self.method):
            return False
        t = target or ""
        if fold:
            t = _fold(t)
        return _compile(self.target, fold).fullmatch(t) is not None


@attrs.frozen
class CompiledRole:
    name: str
    allow: tuple[Entry, ...]
    deny: tuple[Entry, ...]
    upstreams: tuple[str, ...]
    admin: bool

    @classmethod
    def of(cls, role: Role) -> "CompiledRole":
        return cls(
            name=role.name,
            allow=tuple(Entry.parse(e) for e in role.allow),
            deny=tuple(Entry.parse(e) for e in role.deny),
            upstreams=role.upstreams,
            admin=role.admin,
        )

    def reaches(self, host: str) -> bool:
        return hostMatches(host, self.upstreams)

    def allows(self, method: str, target: Optional[str]) -> bool:
        return any(e.matches(method, target) for e in self.allow)

    def denies(self, method: str, target: Optional[str]) -> bool:
        return any(e.matches(method, target, fold=True) for e in self.deny)


@attrs.frozen
class Decision:
    """
    @ivar allowed: may the operation go upstream?
    @ivar reason: why not (or why), for the client answer and the audit log.
    @ivar invisible: refused C{tools/call} of a tool the key may not use:
        answer JSON-RPC error -32602 "Unknown tool" instead of a block.
    """

    allowed: bool
    reason: str
    invisible: bool = False


def _describe(method: str, target: Optional[str]) -> str:
    return f"{method}:{target}" if target is not None and method in TARGETED_METHODS else method


class Policy:
    """
    The roles of one configuration, compiled.  Immutable; build a new one on
    reload.
    """

    def __init__(self, roles: Sequence[Role], roleless: Roleless = "auto"):
        self._roles = {r.name: CompiledRole.of(r) for r in roles}
        # decisions are pure functions of (key, host, operation): memoized
        # per configuration, bounded (a client naming endless tools cannot
        # grow them without end)
        self._reaching = functools.lru_cache(maxsize=4096)(self._rolesReaching)
        self._decisions = functools.lru_cache(maxsize=4096)(self._decide)
        if roleless == "auto":
            roleless = "all" if not roles else "lifecycle"
        self.roleless: Literal["all", "lifecycle"] = roleless

    @classmethod
    def fromConfig(cls, access: AccessControl, roleless: Roleless = "auto") -> "Policy":
        return cls(access.roles, roleless)

    def _rolesReaching(self, key: ApiKey, host: str) -> tuple[CompiledRole, ...]:
        return tuple(r for r in (self._roles.get(n) for n in key.roles) if r is not None and r.reaches(host))

    def reaches(self, key: ApiKey, host: str) -> bool:
        """
        Does some role of C{key} reach C{host}?  (Connection-level check: if
        not, the request is refused with 403 before any message is read.)
        Keys without roles reach every host the upstream fence allows.
        """
        if not key.roles:
            return True
        return bool(self._reaching(key, host))

    def isAdmin(self, key: ApiKey) -> bool:
        return any(r is not None and r.admin for r in (self._roles.get(n) for n in key.roles))

    def decide(self, key: ApiKey, upstreamHost: str, method: str, target: Optional[str] = None) -> Decision:
        """
        May C{key} perform C{method} (with C{target}: the tool name of a
        C{tools/call}, the URI of a C{resources/read}, the name of a
        C{prompts/get}; None otherwise) on C{upstreamHost} (lower-case, IPv6
        without brackets)?
        """
        return self._decisions(key, upstreamHost, method, target)

    def _decide(self, key: ApiKey, upstreamHost: str, method: str, target: Optional[str]) -> Decision:
        op = _describe(method, target)
        if not key.roles:
            if self.roleless == "all" or isLifecycle(method):
                return Decision(True, "key has no roles")
            return Decision(
                False,
                f"key {key.name!r} has no roles",
                invisible=method == "tools/call",
            )
        roles = self._reaching(key, upstreamHost)
        if not roles:
            return Decision(False, f"no role of key {key.name!r} reaches {upstreamHost}")
        for role in roles:
            if role.denies(method, target):
                return Decision(False, f"role {role.name!r} denies {op}", invisible=method == "tools/call")
        if isLifecycle(method):
            return Decision(True, "lifecycle method")
        for role in roles:
            if role.allows(method, target):
                return Decision(True, f"role {role.name!r} allows {op}")
        return Decision(
            False,
            f"no role of key {key.name!r} allows {op}",
            invisible=method == "tools/call",
        )

    def toolVisible(self, key: ApiKey, upstreamHost: str, toolName: str) -> bool:
        return self.decide(key, upstreamHost, "tools/call", toolName).allowed

    def filterToolsList(self, key: ApiKey, upstreamHost: str, result: Mapping[str, Any]) -> dict[str, Any]:
        """
        A copy of a C{tools/list} result without the tools C{key} may not
        call; everything else (C{nextCursor}, C{_meta}, ...) is kept.
        """
        return self._filter(result, "tools", "name", lambda n: self.toolVisible(key, upstreamHost, n))

    def filterListResult(
        self, key: ApiKey, upstreamHost: str, listMethod: str, result: Mapping[str, Any]
    ) -> dict[str, Any]:
        """
        Like L{filterToolsList} for C{tools/list}, C{prompts/list} (by
        C{prompts/get:NAME}) and C{resources/list} (by C{resources/read:URI});
        other methods' results are returned unchanged (as a copy).
        """
        if listMethod == "tools/list":
            return self.filterToolsList(key, upstreamHost, result)
        if listMethod == "prompts/list":
            return self._filter(
                result, "prompts", "name",
                lambda n: self.decide(key, upstreamHost, "prompts/get", n).allowed,
            )
        if listMethod == "resources/list":
            return self._filter(
                result, "resources", "uri",
                lambda u: self.decide(key, upstreamHost, "resources/read", u).allowed,
            )
        return dict(result)

    @staticmethod
    def _filter(result: Mapping[str, Any], field: str, attr: str, visible: Any) -> dict[str, Any]:
        out = dict(result)
        items = result.get(field)
        if not isinstance(items, list):
            return out
        out[field] = [
            item for item in items
            if isinstance(item, dict) and isinstance(item.get(attr), str) and visible(item[attr])
        ]
        return out
