"""
JSON-RPC 2.0 as MCP uses it: a body decoded into typed messages (requests,
notifications, responses, a batch of them, or a body that is not JSON-RPC),
and the MCP facts about each message (its method, what it operates on, the
protocol revision).
"""

from __future__ import annotations

import copy
import json
from typing import Any, Optional, Union

import hyperscan

from akto_proxy.inspect.hscache import compileDatabase
from akto_proxy.inspect.message import CONTROL_CODES, memberPath

PROTOCOL_VERSION_META_KEY = "io.modelcontextprotocol/protocolVersion"
MODERN_REVISION = "2026-07-28"

#: methods whose results list what a client may use (filtered by roles)
LIST_METHODS = frozenset(("tools/list", "prompts/list", "resources/list"))
#: methods that operate on one named thing (L{targetOf})
TARGETED_METHODS = frozenset(("tools/call", "prompts/get", "resources/read"))

REQUEST = "request"
NOTIFICATION = "notification"
RESPONSE = "response"
INVALID = "invalid"


def loadJSON(body: bytes) -> Any:
    """
    C{json.loads} for a body: UTF-8 (RFC 8259) decoded directly, other
    encodings left to C{json.loads} to detect.
    """
    if body[1:2] != b"\x00" and body[:3] != b"\xef\xbb\xbf":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            return json.loads(text)
    return json.loads(body)


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_ASCII_ENCODER = json.JSONEncoder(separators=(",", ":"))

#: JSON-RPC: the message is not a valid request object
INVALID_REQUEST = -32600


class Encoded(dict):  # type: ignore[type-arg]
    """
    A JSON object the proxy has written once, read only, with its bytes: a
    rewrite that gives the same value again and again (a list without the
    tools a role hides, for a server that lists the same tools every time)
    puts it in the C{result} of each message, and L{encode} splices the
    bytes in instead of writing the whole list anew.  Copies are plain
    dicts (a redaction copies before it changes anything); changing it in
    place raises.  What it holds must not change either: the proxy never
    changes a decoded message in place (its rewrites are copies).

    @ivar raw: its compact UTF-8 JSON, or None when it holds a lone
        surrogate (then the whole message is written anew, as ASCII).
    """

    __slots__ = ("raw",)

    def __init__(self, value: dict[str, Any]):
        super().__init__(value)
        try:
            self.raw: Optional[bytes] = _ENCODER.encode(value).encode("utf-8")
        except UnicodeEncodeError:
            self.raw = None

    def _readOnly(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("an Encoded JSON object is read only")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _readOnly  # type: ignore[assignment]

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return copy.deepcopy(dict(self), memo)

    def __reduce__(self) -> Any:
        return (dict, (dict(self),))


def _spliced(obj: dict[str, Any], result: Encoded) -> Optional[bytes]:
    """
    C{obj} (whose C{result} is C{result}) written with C{result}'s bytes
    spliced in: the bytes L{encode} would write, or None when they could
    differ (a key that is not a string, a lone surrogate).
    """
    raw = result.raw
    if raw is None:
        return None
    parts = []
    try:
        for k, v in obj.items():
            if type(k) is not str:
                return None
            value = raw if v is result else _ENCODER.encode(v).encode("utf-8")
            parts.append(_ENCODER.encode(k).encode("utf-8") + b":" + value)
    except UnicodeEncodeError:
        return None
    return b"{" + b",".join(parts) + b"}"


def encode(obj: Any) -> bytes:
    """
    Compact UTF-8 JSON, as the proxy writes every JSON-RPC message it makes
    or rewrites.  Strings holding lone surrogates (valid JSON escapes such
    as C{"\\ud800"}, but not Unicode, so not UTF-8) are written as such
    escapes again: the whole message is then ASCII.  A message whose
    C{result} is L{Encoded} takes its bytes as they are.
    """
    if type(obj) is dict:
        result = obj.get("result")
        if type(result) is Encoded:
            spliced = _spliced(obj, result)
            if spliced is not None:
                return spliced
    text = _ENCODER.encode(obj)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _ASCII_ENCODER.encode(obj).encode("ascii")


def isUnicode(text: str) -> bool:
    """
    Does C{text} hold only Unicode scalar values (no lone surrogate)?
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def notUnicode(body: bytes, message: "Body") -> Optional[str]:
    """
    The field (C{method}, C{id} or C{name}: a tool or prompt name, a
    resource URI) of a JSON-RPC body's messages that holds a lone surrogate
    (C{"\\ud800"} parses as JSON but is not text; so do bytes that are not
    UTF-8, which json.loads takes with surrogatepass): the proxy matches
    these against roles, pins and rules, and will not guess at them.  None
    when all are text (C{body}, the raw bytes, tells at once when nothing
    could make a surrogate).
    """
    if b"\\" not in body and body.isascii():
        return None  # no escape, and no byte json.loads could take as a surrogate
    for obj in message.rpc:
        for field, value in (("method", obj.get("method")), ("id", obj.get("id")), ("name", rawTargetOf(obj))):
            if isinstance(value, str) and not isUnicode(value):
                return field
    return None


def idKey(value: Any) -> Any:
    """
    A hashable key for a JSON-RPC id (C{1} and C{"1"} stay apart).
    """
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else (type(value).__name__, value)


def isRPC(parsed: Any) -> bool:
    """
    Is a parsed JSON value one JSON-RPC 2.0 message, or a non-empty batch
    of them?
    """
    if isinstance(parsed, dict):
        return parsed.get("jsonrpc") == "2.0"
    if isinstance(parsed, list):
        return bool(parsed) and all(isinstance(e, dict) and e.get("jsonrpc") == "2.0" for e in parsed)
    return False


def rawTargetOf(obj: dict[str, Any]) -> Any:
    """
    What a request operates on, as sent: the tool or prompt name of
    C{tools/call} and C{prompts/get}, the URI of C{resources/read}.
    """
    params = obj.get("params")
    if not isinstance(params, dict):
        return None
    method = obj.get("method")
    if method == "resources/read":
        return params.get("uri")
    if method in ("tools/call", "prompts/get"):
        return params.get("name")
    return None


def targetOf(obj: dict[str, Any]) -> Optional[str]:
    """
    L{rawTargetOf} when it is a string.
    """
    value = rawTargetOf(obj)
    return value if isinstance(value, str) else None


def toolOf(obj: dict[str, Any]) -> Optional[str]:
    """
    The tool a C{tools/call} calls, else None.
    """
    return targetOf(obj) if obj.get("method") == "tools/call" else None


def isModern(headerVersion: Optional[str], message: Any) -> bool:
    """
    Is this request of the 2026-07-28 revision or later (the
    C{MCP-Protocol-Version} header, or the version in C{params._meta})?
    """
    version = headerVersion
    if isinstance(message, dict):
        params = message.get("params")
        if isinstance(params, dict) and isinstance(params.get("_meta"), dict):
            v = params["_meta"].get(PROTOCOL_VERSION_META_KEY)
            if isinstance(v, str):
                version = v
    return isinstance(version, str) and version >= MODERN_REVISION


def kindOf(obj: Any) -> str:
    """
    L{REQUEST} (a method and an id), L{NOTIFICATION} (a method, no id),
    L{RESPONSE} (a result or an error) or L{INVALID}.
    """
    if not isinstance(obj, dict):
        return INVALID
    if isinstance(obj.get("method"), str):
        return REQUEST if "id" in obj else NOTIFICATION
    if "result" in obj or "error" in obj:
        return RESPONSE
    return INVALID


class Body:
    """
    A decoded message body.

    @ivar rpc: the JSON-RPC messages (dicts) of a JSON-RPC body, in order;
        empty for any other body.
    @ivar batch: the body was a JSON array of JSON-RPC messages.
    @ivar json: True when the body parsed as JSON (C{value} holds it).
    @ivar value: the parsed JSON value, or None.
    @ivar text: the body as text when it is neither JSON nor empty.
    @ivar malformed: the body claimed to be JSON (by its content type) and
        did not parse (C{text} holds it, for the checks).
    @ivar binary: the body is not text (L{binary}): C{text} holds its bytes
        one character each (latin-1), for the pattern rules; the injection
        heuristics never read it.
    @ivar raw: the bytes of a large JSON body (L{RAW_FROM} on), from which
        the inspection may prove it clean without walking its strings.
    @ivar source: the bytes or text a JSON body was parsed from, as it will
        be relayed when nothing changes it (L{duplicateKey} asks it what
        the parsed value lost); None for a value the proxy made itself.
    """

    __slots__ = (
        "rpc", "batch", "json", "value", "text", "malformed", "binary", "raw", "source", "_duplicate", "_roleNames",
        "_quotes", "_tokens",
    )

    def __init__(
        self,
        rpc: list[dict[str, Any]],
        batch: bool,
        isJSON: bool,
        value: Any,
        text: Optional[str],
        malformed: bool = False,
        binary: bool = False,
    ):
        self.rpc = rpc
        self.batch = batch
        self.json = isJSON
        self.value = value
        self.text = text
        self.malformed = malformed
        self.binary = binary
        self.raw: Optional[bytes] = None
        self.source: Union[bytes, str, None] = None
        self._duplicate: Any = _UNKNOWN
        self._roleNames: Any = _UNKNOWN
        self._quotes = -1
        self._tokens: Any = _UNKNOWN

    def duplicateKey(self) -> Optional[tuple[str, str]]:
        """
        L{duplicateKey} of its source (asked once), or None without one.
        """
        if self._duplicate is _UNKNOWN:
            self._duplicate = duplicateKey(self.source) if self.source is not None else None
        return self._duplicate  # type: ignore[no-any-return]

    def quotes(self) -> int:
        """
        The quote characters of its source (counted once: the inspection
        stage asks before and after building a message, at a millisecond
        per MiB), or -1 without one.
        """
        if self._quotes < 0 and self.source is not None:
            source = self.source
            self._quotes = source.count(b'"' if type(source) is bytes else '"')  # type: ignore[arg-type]
        return self._quotes

    def stringTokens(self) -> Optional[int]:
        """
        L{stringTokens} of its source (asked once), or None without one.
        """
        if self._tokens is _UNKNOWN:
            self._tokens = stringTokens(self.source) if self.source is not None else None
        return self._tokens  # type: ignore[no-any-return]

    def roleNamesTwice(self) -> Optional[str]:
        """
        L{roleNamesTwice} of its source (asked once for the whole body:
        each message of a batch, and both of the role stage's questions,
        read the same answer), or None without one.
        """
        if self._roleNames is _UNKNOWN:
            self._roleNames = roleNamesTwice(self.source) if self.source is not None else None
        return self._roleNames  # type: ignore[no-any-return]

    def encoded(self) -> bytes:
        """
        The body's text as bytes again (latin-1 for a binary body, so each
        byte comes back as it was).
        """
        if self.binary:
            return (self.text or "").encode("latin-1", "replace")
        return (self.text or "").encode("utf-8", "replace")

    @property
    def empty(self) -> bool:
        return not self.json and self.text is None and not self.malformed

    @property
    def single(self) -> Optional[dict[str, Any]]:
        """
        The one JSON-RPC message of a body that is not a batch.
        """
        return self.rpc[0] if self.rpc and not self.batch else None


_UNKNOWN = object()

EMPTY = Body([], False, False, None, None)

#: JSON bodies of this many bytes or more keep them (L{Body.raw}): those the
#: inspection would judge off the reactor thread (its C{THRESHOLD})
RAW_FROM = 64 * 1024

#: control characters that text does not hold, as bytes
_CONTROL = bytes(CONTROL_CODES)
_STRIP_CONTROL = bytes.maketrans(b"", b"")


def binary(data: bytes) -> bool:
    """
    Whether C{data} is not text: not valid UTF-8, or holding NUL bytes among
    at least one control character in eight (a zero-filled buffer, an
    image header, UTF-16).  One NUL in a line of text (C{passwd%00.png}
    spelled raw) is still text, and judged as text.
    """
    if not data:
        return False
    if b"\x00" not in data:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return True
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    control = len(data) - len(data.translate(_STRIP_CONTROL, _CONTROL))
    return control * 8 >= len(data)


def triesJSON(body: bytes, contentType: str = "") -> bool:
    """
    Whether L{decode} parses C{body} as JSON (its content type says so, or
    it starts like JSON); text when it does not parse.
    """
    return "json" in contentType or body[:1] in (b"{", b"[")


#: the start of the key every JSON-RPC message holds, written without an
#: escape (the closing quote, common in JSON, would slow the search down)
_RPC_KEY = b'"jsonrpc'


#: L{_RPC_KEY} as a Hyperscan literal (compiled once, or found in the
#: database cache; read only)
_KEY_FINDER = compileDatabase([_RPC_KEY], [0], [0])


def _holdsKey(body: bytes) -> bool:
    """
    Whether C{body} holds L{_RPC_KEY}: a Hyperscan literal search (several
    GB/s; C{bytes.find} slows down to a byte at a time over the common
    letters and quotes of JSON).  Each search takes a scratch space of its
    own (a fraction of a microsecond), so any thread may ask.
    """
    try:
        _KEY_FINDER.scan(body, match_event_handler=_found, scratch=hyperscan.Scratch(_KEY_FINDER))
    except hyperscan.ScanTerminated:
        return True
    return False


def _found(*_: Any) -> bool:
    return True  # stop at the first


class KeyWatch:
    """
    Whether a body holds L{_RPC_KEY}, asked of each chunk as it arrives
    (L{neverRPC}): each chunk searched, and the key's length less one on
    either side of each edge between two.

    @ivar found: whether the bytes fed hold the key.
    """

    __slots__ = ("found", "_tail")

    def __init__(self) -> None:
        self.found = False
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        if self.found:
            return
        edge = len(_RPC_KEY) - 1
        tail = self._tail
        if (tail and _RPC_KEY in tail + chunk[:edge]) or _holdsKey(chunk):
            self.found = True
        self._tail = chunk[-edge:] if len(chunk) >= edge else (tail + chunk)[-edge:]


def neverRPC(body: bytes, seen: Any = None, key: Optional[KeyWatch] = None) -> bool:
    """
    Whether L{decode} cannot make JSON-RPC of C{body}, whatever else it
    makes of it (JSON, or text when it does not parse), known from its
    bytes: it is UTF-8 as L{loadJSON} reads it (no NUL, which would make
    it UTF-16 or -32 to C{json.loads}, and no byte order mark), holds no
    backslash (so every key is written as it reads), and not the start of
    C{"jsonrpc"}, the key each JSON-RPC message (L{fromJSON}: an object
    with C{"jsonrpc": "2.0"}, or an array of them) must hold.

    @param seen: what was told of the whole of C{body} as it arrived, when
        it was (C{ascii}, C{nul}, C{backslash}: L{akto_proxy.inspect.
        checks.prefilter.Streamed}), and C{key}, the L{KeyWatch} fed it.
    """
    if seen is not None and key is not None:
        if seen.backslash or seen.nul or key.found or body[:3] == b"\xef\xbb\xbf":
            return False
        ascii = seen.ascii
    elif b"\\" in body or b"\x00" in body or body[:3] == b"\xef\xbb\xbf" or _holdsKey(body):
        return False
    else:
        ascii = body.isascii()
    if not ascii:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return False
    return True


def decode(body: bytes, contentType: str = "", textual: bool = True) -> Body:
    """
    Decode a body: JSON when its content type says so or it starts like
    JSON, JSON-RPC when that JSON is a message or a batch of them, else text
    (when C{textual}), or binary data (L{binary}) whatever its type says.
    """
    if not body:
        return EMPTY
    claimsJSON = "json" in contentType
    malformed = False
    if triesJSON(body, contentType):
        try:
            value = loadJSON(body)
        except (ValueError, RecursionError):
            # said to be JSON and not: judged as the text it is whatever
            # C{textual} says (a trailing byte is no way around the checks)
            malformed = claimsJSON
        else:
            decoded = fromJSON(value)
            decoded.source = body
            if len(body) >= RAW_FROM:
                decoded.raw = body
            return decoded
    if not textual and not malformed:
        return Body([], False, False, None, None)
    if binary(body):
        return Body([], False, False, None, body.decode("latin-1"), malformed=malformed, binary=True)
    return Body([], False, False, None, body.decode("utf-8", "replace"), malformed=malformed)


def decodeText(text: str) -> Body:
    """
    Decode a message that arrives as text (an SSE event's data, a WebSocket
    text message): JSON when it starts like JSON and parses, else text.
    """
    if not text:
        return EMPTY
    if text.lstrip()[:1] in ("{", "["):
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            pass
        else:
            decoded = fromJSON(value)
            decoded.source = text
            return decoded
    return Body([], False, False, None, text)


def stringTokens(source: Union[bytes, str]) -> Optional[int]:
    """
    How many strings (keys and values) the JSON text C{source} writes, told
    from its quotes: each string has two, and a quote inside one is written
    C{\\"}.  None when the quotes cannot tell: an escaped backslash
    (C{\\\\"} ends a string), bytes that are not UTF-8-like (a NUL: UTF-16
    or -32, whose other characters hold quote bytes).  Counted at the speed
    of the bytes: a value parsed from C{source} that holds fewer strings
    lost some (a key written twice keeps only its last member).
    """
    if type(source) is bytes:
        quote, backslash, escaped, double = b'"', b"\\", b'\\"', b"\\\\"
        if b"\x00" in source:
            return None
    else:
        quote, backslash, escaped, double = '"', "\\", '\\"', "\\\\"  # type: ignore[assignment]
    quotes = source.count(quote)  # type: ignore[arg-type]
    if backslash in source:  # type: ignore[operator]
        if double in source:  # type: ignore[operator]
            return None
        quotes -= source.count(escaped)  # type: ignore[arg-type]
    return quotes // 2 if quotes % 2 == 0 else None


class _Ambiguous(dict):  # type: ignore[type-arg]
    """
    A JSON object that named C{key} more than once (L{duplicateKey}).
    """

    __slots__ = ("key",)


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d = dict(pairs)
    if len(d) == len(pairs):
        return d
    seen: set[str] = set()
    for k, _ in pairs:
        if k in seen:
            break
        seen.add(k)
    ambiguous = _Ambiguous(d)
    ambiguous.key = k
    return ambiguous


def duplicateKey(source: Union[bytes, str]) -> Optional[tuple[str, str]]:
    """
    The first key that some object of the JSON text C{source} names twice,
    with the JSON path of that object (C{params.arguments}; C{""}: the top
    level; C{[1].params}: in the second message of a batch), or None.  A
    parser that keeps the first member (or refuses) reads such a text
    otherwise than C{json}, which keeps the last: what the proxy judged is
    then not what the upstream reads.  Parses C{source} again (slowly:
    only for a text whose quotes say that the parsed value lost strings,
    L{stringTokens}); None too when it does not parse.
    """
    try:
        value = json.loads(source, object_pairs_hook=_pairs)
    except (ValueError, RecursionError):
        return None
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        v, path = stack.pop()
        if isinstance(v, dict):
            if type(v) is _Ambiguous:
                return path, v.key
            for k, child in reversed(v.items()):
                if isinstance(child, (dict, list)):
                    stack.append((child, memberPath(path, k)))
        elif isinstance(v, list):
            for i in range(len(v) - 1, -1, -1):
                stack.append((v[i], f"{path}[{i}]"))
    return None


def roleNamesTwice(source: Union[bytes, str]) -> Optional[str]:
    """
    The first member access control reads that a message of the JSON text
    C{source} names twice (C{method}, C{params}, C{params.name},
    C{params.uri}), or None: C{json} keeps the last, and the roles judged
    it, while a parser that keeps the first calls another tool.  A text
    that holds each name once and no C{\\u} escape (which may spell one)
    is not parsed again.
    """
    raw = source if type(source) is bytes else source.encode("utf-8", "surrogatepass")  # type: ignore[union-attr]
    count = raw.count
    if b"\\u" not in raw and count(b'"name"') < 2 and count(b'"method"') < 2 and count(b'"params"') < 2 and count(b'"uri"') < 2:
        return None
    try:
        value = json.loads(source, object_pairs_hook=list)
    except (ValueError, RecursionError):
        return None
    for message in value if isinstance(value, list) and (not value or not isinstance(value[0], tuple)) else [value]:
        if not isinstance(message, list):
            continue
        names = [k for k, _ in message]
        for name in ("method", "params"):
            if names.count(name) > 1:
                return name
        params = [v for k, v in message if k == "params"]
        if params and isinstance(params[0], list):
            inner = [k for k, _ in params[0] if isinstance(k, str)]
            for name in ("name", "uri"):
                if inner.count(name) > 1:
                    return f"params.{name}"
    return None


def fromJSON(value: Any) -> Body:
    """
    A body from a parsed JSON value.
    """
    if isinstance(value, dict):
        if value.get("jsonrpc") == "2.0":
            return Body([value], False, True, value, None)
    elif isinstance(value, list) and isRPC(value):
        return Body(value, True, True, value, None)
    return Body([], False, True, value, None)


__all__ = [
    "Body",
    "Encoded",
    "INVALID",
    "INVALID_REQUEST",
    "KeyWatch",
    "LIST_METHODS",
    "MODERN_REVISION",
    "NOTIFICATION",
    "RAW_FROM",
    "PROTOCOL_VERSION_META_KEY",
    "REQUEST",
    "RESPONSE",
    "binary",
    "decode",
    "decodeText",
    "duplicateKey",
    "encode",
    "fromJSON",
    "roleNamesTwice",
    "idKey",
    "isModern",
    "isRPC",
    "isUnicode",
    "kindOf",
    "loadJSON",
    "neverRPC",
    "notUnicode",
    "rawTargetOf",
    "stringTokens",
    "targetOf",
    "toolOf",
    "triesJSON",
]
