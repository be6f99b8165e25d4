"""
What the inspection chain sees: one message, parsed, with every string in it
located by a JSON path.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from typing import Any, Iterator, Literal, Optional

import attrs

from akto_proxy.relay.url import Target

Direction = Literal["request", "response"]
Transport = Literal["http", "sse", "ws", "url"]
Kind = Literal["jsonrpc", "json", "text"]


_PLAIN_KEY = re.compile(r"^[^.\[\]\"~]+$")
_SURROGATE = re.compile("[\ud800-\udfff]")

#: the control characters text does not hold, by code point: C0 but tab,
#: line breaks, form feed and escape; DEL
CONTROL_CODES = tuple(c for c in range(32) if c not in (9, 10, 12, 13, 27)) + (0x7F,)

#: the path of an object's key: the object's path, C{~} and the key's place
#: among the object's members (C{params.arguments~0}: the name of the first
#: argument); its text is the string, never the path (a key may be an
#: attack, or a secret, of any length)
KEY_MARK = "~"
_KEY_PATH = re.compile(r"~(\d+)$")

#: member names MCP itself defines, in almost every message: as keys they
#: hold nothing but these words, and are left out of a message's strings
#: (counted in L{Message.protocolKeys}); every other key is a string
PROTOCOL_KEYS = frozenset(
    (
        "_meta", "progressToken", "name", "arguments", "uri", "cursor", "nextCursor", "protocolVersion",
        "capabilities", "clientInfo", "serverInfo", "version", "title", "instructions",
        "content", "contents", "type", "text", "isError", "structuredContent", "annotations", "audience",
        "priority", "lastModified", "mimeType", "resource", "blob", "data", "tools", "prompts", "resources",
        "resourceTemplates", "uriTemplate", "description", "inputSchema", "outputSchema", "properties",
        "required", "items", "messages", "role", "icons", "src", "sizes", "size",
    )
)


def withoutSurrogates(text: str) -> str:
    """
    C{text} with each lone surrogate replaced by U+FFFD, for the libraries
    that take UTF-8 (RE2, libinjection).  A str may hold one (JSON's
    C{"\\ud800"} is valid JSON, but not text); UTF-8 cannot.  U+FFFD is
    a character that is no letter, as the upstream sees a character there
    too.
    """
    return _SURROGATE.sub("\ufffd", text)


def memberPath(parent: str, key: Any) -> str:
    """
    C{parent.key}, or C{parent["key"]} when the key holds C{.}, C{[}, C{]},
    C{"}, C{~} or is empty, so that every path names exactly one string.
    """
    k = str(key)
    if _PLAIN_KEY.match(k):
        return f"{parent}.{k}" if parent else k
    return f"{parent}[{json.dumps(k)}]"


def isKeyPath(path: str) -> bool:
    """
    Whether C{path} names an object's key (L{KEY_MARK}) rather than a value.
    """
    return _KEY_PATH.search(path) is not None


def walkStrings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """
    Every string inside C{value}, depth first, with its JSON path
    (C{params.arguments.query}, C{result.content[0].text}): the values, and
    the keys of every object (L{KEY_MARK}: C{params.arguments~0}), which a
    server reads too (a map of headers, of variables, of column names).
    """
    out: list[tuple[str, str]] = []
    _walk(value, path, out)
    return iter(out)


def _walk(value: Any, path: str, out: list[tuple[str, str]]) -> int:
    """
    Append the strings of C{value} at C{path} to C{out}; the number of keys
    left out (L{PROTOCOL_KEYS}).
    """
    # iterative (a deep document cannot exhaust the stack); dict keys that
    # are plain names, the common case, skip the regular expression
    stack: list[tuple[Any, str]] = [(value, path)]
    pop = stack.pop
    push = stack.append
    append = out.append
    protocol = PROTOCOL_KEYS
    left = 0
    while stack:
        v, p = pop()
        t = type(v)
        if t is str:
            append((p, v))
        elif t is dict:
            i = 0
            for k in v:
                if k in protocol:
                    left += 1
                else:
                    append((f"{p}~{i}", k))
                i += 1
            for k, child in reversed(v.items()):
                if type(child) not in _SCALARS:
                    if type(k) is str and k and k.isalnum():
                        push((child, f"{p}.{k}" if p else k))
                    else:
                        push((child, memberPath(p, k)))
        elif t is list:
            for i in range(len(v) - 1, -1, -1):
                if type(v[i]) not in _SCALARS:
                    push((v[i], f"{p}[{i}]"))
        elif isinstance(v, str):
            append((p, v))
        elif isinstance(v, dict):
            for i, k in enumerate(v):
                if k in protocol:
                    left += 1
                else:
                    append((f"{p}~{i}", k))
            for k, child in reversed(list(v.items())):
                push((child, memberPath(p, k)))
        elif isinstance(v, list):
            for i in range(len(v) - 1, -1, -1):
                push((v[i], f"{p}[{i}]"))
    return left


# values that hold no string: not worth a trip through the stack
_SCALARS = frozenset((int, float, bool, type(None)))


#: the members JSON-RPC 2.0 defines for a message: the proxy reads
#: C{jsonrpc}, C{id} and C{method} itself and walks the strings of
#: C{params}, C{result} and C{error}; any other member (JSON-RPC defines
#: none, a server's parser may keep it) is walked too, its name included
RPC_MEMBERS = frozenset(("jsonrpc", "id", "method", "params", "result", "error"))
_RPC_WALKED = ("params", "result", "error")


def _extraMembers(obj: dict[str, Any]) -> list[tuple[int, str]]:
    """
    The members of JSON-RPC message C{obj} that JSON-RPC does not define
    (L{RPC_MEMBERS}), each with its place among the members; most often
    none, told by one test.
    """
    if RPC_MEMBERS.issuperset(obj):
        return []
    return [(i, f) for i, f in enumerate(obj) if f not in RPC_MEMBERS]


def envelopeKeys(obj: dict[str, Any]) -> int:
    """
    The member names of JSON-RPC message C{obj} that are not among its
    strings: those of L{RPC_MEMBERS} (every other name is a string).
    """
    # (the common case answered without a call: this is asked of every message)
    return len(obj) if RPC_MEMBERS.issuperset(obj) else len(obj) - len(_extraMembers(obj))


def rpcTexts(obj: dict[str, Any], out: list[str]) -> list[str]:
    """
    The strings L{Message.fromJSONRPC} would hold for C{obj} (keys too),
    without their paths (appended to C{out}, in no particular order):
    enough to ask the prefilter whether the message needs inspecting at all.
    """
    rpcGather(obj, out)
    return out


def rpcGather(obj: dict[str, Any], out: list[str]) -> int:
    """
    L{rpcTexts}, answering the number of keys left out (L{PROTOCOL_KEYS}).
    """
    values = [obj[f] for f in _RPC_WALKED if f in obj]
    if not RPC_MEMBERS.issuperset(obj):  # (without a call for the common case)
        for _, f in _extraMembers(obj):
            out.append(f)
            values.append(obj[f])
    return _texts(values, out)


def jsonTexts(value: Any, out: list[str]) -> list[str]:
    """
    The strings L{Message.fromJSON} would hold for C{value}, as
    L{rpcTexts}.
    """
    _texts([value], out)
    return out


def jsonGather(value: Any, out: list[str]) -> int:
    """
    L{jsonTexts}, as L{rpcGather}.
    """
    return _texts([value], out)


def _texts(stack: list[Any], out: list[str]) -> int:
    append = out.append
    keys: list[str] = []
    key = keys.extend
    pop = stack.pop
    push = stack.append
    while stack:
        v = pop()
        t = type(v)
        if t is str:
            append(v)
        elif t is dict:
            key(v)
            for child in v.values():
                if type(child) not in _SCALARS:
                    push(child)
        elif t is list:
            for child in v:
                if type(child) not in _SCALARS:
                    push(child)
        elif isinstance(v, str):
            append(v)
        elif isinstance(v, dict):
            key(v)
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    # the keys, but those of the protocol (most often all of them: one test)
    if PROTOCOL_KEYS.issuperset(keys):
        return len(keys)
    own = [k for k in keys if k not in PROTOCOL_KEYS]
    out.extend(own)
    return len(keys) - len(own)


class _Key(int):
    """
    A path token that names the key at this place among an object's
    members (L{KEY_MARK}), not a member.
    """


def _setPath(root: Any, path: str, new: str) -> Any:
    """
    Replace the string at C{path} inside C{root} (which is modified): a
    value, or a key (renamed in place, the members keeping their order; a
    name another member has already gets a C{#N} suffix, so no member is
    lost).
    """
    tokens = _tokens(path)
    if not tokens:
        return new
    node = root
    for t in tokens[:-1]:
        node = node[t]
    last = tokens[-1]
    if type(last) is _Key:
        items = list(node.items())
        old = items[last][0]
        if new == old:
            return root
        name, n = new, 1
        while name in node:
            n += 1
            name = f"{new}#{n}"
        node.clear()
        for i, (k, v) in enumerate(items):
            node[name if i == last else k] = v
        return root
    node[last] = new
    return root


def _tokens(path: str) -> list[Any]:
    out: list[Any] = []
    buf = ""
    i = 0
    while i < len(path):
        c = path[i]
        if c == ".":
            if buf:
                out.append(buf)
            buf = ""
        elif c == "~":
            if buf:
                out.append(buf)
            buf = ""
            out.append(_Key(path[i + 1 :]))  # always the last token
            break
        elif c == "[":
            if buf:
                out.append(buf)
            buf = ""
            if path[i + 1] == '"':
                # a quoted key: find the closing quote, honouring escapes
                decoder = json.JSONDecoder()
                key, end = decoder.raw_decode(path, i + 1)
                out.append(key)
                i = end  # at the closing "]"
            else:
                j = path.index("]", i)
                out.append(int(path[i + 1 : j]))
                i = j
        else:
            buf += c
        i += 1
    if buf:
        out.append(buf)
    return out


def _keysLast(replacement: tuple[str, str]) -> tuple[int, int]:
    path = replacement[0]
    if not isKeyPath(path):
        return (0, 0)
    return (1, -len(_tokens(path)))


@attrs.frozen(slots=False)  # a __dict__: cached properties are then plain attribute reads
class Message:
    """
    One unit of inspection.

    @ivar direction: C{request} (client to upstream) or C{response}.
    @ivar transport: C{http} body, C{sse} event, C{ws} message, or the C{url}.
    @ivar kind: C{jsonrpc} (C{payload} is one JSON-RPC message object),
        C{json} (other JSON), C{text} (C{payload} is a str).
    @ivar method: the JSON-RPC method; for a response, the method of the
        request it answers when known.
    @ivar tool: for C{tools/call} the tool name, C{prompts/get} the prompt
        name, C{resources/read} the URI.
    @ivar strings: every string with its JSON path; for text, one entry with
        path C{""}.
    @ivar keyName: the name of the API key of the client.
    @ivar binary: the text is bytes that are not text (one character per
        byte): the checks that read language (SQL, shell, paths, contact
        details) leave it alone.
    @ivar protocolKeys: the keys left out of C{strings} (L{PROTOCOL_KEYS}).
    """

    direction: Direction
    target: Target
    transport: Transport
    kind: Kind
    payload: Any
    strings: tuple[tuple[str, str], ...]
    method: Optional[str] = None
    tool: Optional[str] = None
    id: Any = None
    keyName: Optional[str] = None
    requestId: str = ""
    binary: bool = False
    protocolKeys: int = 0

    @functools.cached_property
    def size(self) -> int:
        """
        Characters in all the strings (computed once).
        """
        return sum([len(t) for _, t in self.strings])

    @functools.cached_property
    def joined(self) -> str:
        """
        All the strings, one per line (computed once): one pattern-set match
        over it tells whether any string can match at all.
        """
        return "\n".join(t for _, t in self.strings)

    @classmethod
    def fromJSONRPC(
        cls,
        obj: dict[str, Any],
        direction: Direction,
        target: Target,
        transport: Transport,
        method: Optional[str] = None,
        keyName: Optional[str] = None,
        requestId: str = "",
        prefix: tuple[tuple[str, str], ...] = (),
        tool: Optional[str] = None,
    ) -> "Message":
        """
        @param prefix: strings inspected with this message's own, before
            them (the proxied URL and MCP headers of a single request).
        @param tool: the tool (prompt, resource) when the message does not
            name one (a response: the request named it).
        """
        m = obj.get("method")
        if isinstance(m, str):
            method = m
        params = obj.get("params")
        if isinstance(params, dict):
            named = None
            if method in ("tools/call", "prompts/get"):
                named = params.get("name")
            elif method == "resources/read":
                named = params.get("uri")
            if isinstance(named, str):
                tool = named
        strings: list[tuple[str, str]] = list(prefix)
        left = 0
        for field in _RPC_WALKED:
            if field in obj:
                left += _walk(obj[field], field, strings)
        for i, field in _extraMembers(obj):
            # a member JSON-RPC does not define: its name and its strings
            strings.append((f"{KEY_MARK}{i}", field))
            left += _walk(obj[field], memberPath("", field), strings)
        return cls(
            direction=direction,
            target=target,
            transport=transport,
            kind="jsonrpc",
            payload=obj,
            strings=tuple(strings),
            method=method,
            tool=tool,
            id=obj.get("id"),
            keyName=keyName,
            requestId=requestId,
            protocolKeys=left,
        )

    @classmethod
    def fromText(
        cls,
        text: str,
        direction: Direction,
        target: Target,
        transport: Transport,
        keyName: Optional[str] = None,
        requestId: str = "",
        binary: bool = False,
    ) -> "Message":
        return cls(
            direction=direction,
            target=target,
            transport=transport,
            kind="text",
            payload=text,
            strings=(("", text),),
            keyName=keyName,
            requestId=requestId,
            binary=binary,
        )

    @classmethod
    def fromJSON(
        cls,
        value: Any,
        direction: Direction,
        target: Target,
        transport: Transport,
        keyName: Optional[str] = None,
        requestId: str = "",
    ) -> "Message":
        strings: list[tuple[str, str]] = []
        left = _walk(value, "", strings)
        return cls(
            direction=direction,
            target=target,
            transport=transport,
            kind="json",
            payload=value,
            strings=tuple(strings),
            keyName=keyName,
            requestId=requestId,
            protocolKeys=left,
        )

    def withStrings(self, replacements: dict[str, str]) -> "Message":
        """
        A copy with the strings at the given paths replaced (redaction).
        The payload stays valid JSON: only strings change (a key's
        replacement renames it).
        """
        if not replacements:
            return self
        if self.kind == "text":
            text = replacements.get("", self.payload)
            return attrs.evolve(self, payload=text, strings=(("", text),))
        payload = copy.deepcopy(self.payload)
        # values first, then keys, the deepest first: a path names members
        # by the keys they had
        for path, new in sorted(replacements.items(), key=_keysLast):
            if path.startswith(("url.", "header.")):
                continue  # the URL and headers are inspected, not rewritten
            payload = _setPath(payload, path, new)
        strings = tuple((p, replacements.get(p, s)) for p, s in self.strings)
        return attrs.evolve(self, payload=payload, strings=strings)

    @property
    def isRequest(self) -> bool:
        """
        A JSON-RPC request or notification (has a method).
        """
        return self.kind == "jsonrpc" and isinstance(self.payload, dict) and "method" in self.payload

    @property
    def isNotification(self) -> bool:
        return self.isRequest and "id" not in self.payload
