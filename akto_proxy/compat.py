"""
Every private name of Twisted the proxy touches, in one place.

Each entry says what it is for and what the proxy does on a Twisted without
it: it keeps working on the public path, slower or knowing less, never
broken.  C{tests/test_compat.py} checks that every name is there on the
installed Twisted (a release that moves one fails the tests, not a
deployment) and runs every fallback.  C{setup.cfg} bounds Twisted to the
releases this was checked on; widen the bound only after the tests pass on
the new release.

    HTTPChannel            whole request heads in one pass (web/channel.py);
                           the bad-request answer; what a channel buffered
                           before a WebSocket takeover
    Headers._rawHeaders    filling a request's headers without re-validating;
                           building the upstream request's headers in one dict
    twisted.web._newclient the upstream client's factory, URI validation
                           (relay/http.py)
    HTTPConnectionPool     its factory (quiet, eager protocols), its idle
                           connections (for /health)
    the response transport the upstream's Connection header tokens
    FileDescriptor         bytes waiting in a transport (sending at once;
                           WebSocket backpressure accounting)
    strports services      the port a listener got
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional, Sequence

from twisted.web import http
from twisted.web.http_headers import Headers

# -- HTTPChannel: the whole-head path (web/channel.StrictChannel._wholeHead)

_FIRST_LINE = "_HTTPChannel__first_line"
_HEADER = "_HTTPChannel__header"

try:
    # bound here: twisted.web.http is a module proxy that is slow to look in
    from twisted.web.http import _IdentityTransferDecoder
    from twisted.web.http_headers import _nameEncoder
except ImportError:  # pragma: no cover - another Twisted
    WHOLE_HEADS = False
else:
    WHOLE_HEADS = all(
        hasattr(http.HTTPChannel, name) for name in (_FIRST_LINE, _HEADER, "_finishRequestBody", "_busyReceiving")
    ) and hasattr(Headers(), "_rawHeaders")

#: without it the whole-head path is off: every request head is parsed by
#: HTTPChannel line by line, as Twisted does


def channelBetweenRequests(channel: Any) -> bool:
    """
    Is C{channel} at the start of a request, with nothing buffered and
    nothing half-parsed (so a whole head may be taken in one pass)?
    """
    return (
        channel.line_mode
        and not channel._buffer
        and not channel._busyReceiving
        and not channel.paused
        and getattr(channel, _FIRST_LINE) == 1
        and not getattr(channel, _HEADER)
    )


def installHead(
    channel: Any,
    request: Any,
    command: bytes,
    path: bytes,
    version: bytes,
    pairs: list[tuple[bytes, bytes]],
    size: int,
    length: Optional[int],
) -> None:
    """
    Leave C{channel} as HTTPChannel's line parser leaves it after the
    head's last line: the request line and headers recorded, the header
    count and size, the body's length and decoder.
    """
    setattr(channel, _FIRST_LINE, 0)
    channel._command, channel._path, channel._version = command, path, version
    # as Headers.addRawHeader, whose value check has nothing left to do
    raw = request.requestHeaders._rawHeaders
    encode = _nameEncoder.encode
    for name, value in pairs:
        raw.setdefault(encode(name), []).append(value)
    channel._receivedHeaderCount = len(pairs)
    channel._receivedHeaderSize = size
    if length is not None:
        channel.length = length
        channel._transferDecoder = _IdentityTransferDecoder(length, request.handleContentChunk, channel._finishRequestBody)


# -- HTTPChannel: refusals and takeover


def requestCommand(channel: Any) -> Optional[bytes]:
    """
    The method of the request whose head C{channel} is reading (or has
    read), once its request line came; else None.
    """
    command = getattr(channel, "_command", None)
    return command if isinstance(command, bytes) and command else None


def respondBadRequest(channel: Any) -> None:
    """
    Answer 400 and close, as HTTPChannel does for a malformed request.
    """
    respond = getattr(channel, "_respondToBadRequestAndDisconnect", None)
    if respond is not None:
        respond()
        return
    transport = channel.transport
    if transport is not None:
        transport.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        transport.loseConnection()


def bufferedByChannel(channel: Any) -> bytes:
    """
    What C{channel} received and held back while it processed a request
    (bytes a WebSocket client sent right after its upgrade request); taken
    over with the connection.  Without the name: nothing (a client does not
    send frames before the upgrade is answered).
    """
    return b"".join(getattr(channel, "_dataBuffer", None) or [])


# -- Headers


#: a Headers keeps its values in C{_rawHeaders}, by name as it writes it
RAW_HEADERS = hasattr(Headers(), "_rawHeaders")

_canonical: dict[bytes, bytes] = {}


def canonicalName(name: bytes) -> bytes:
    """
    C{name} (lower case) as a L{Headers} keeps and writes it
    (C{X-Forwarded-For}): asked of Twisted once per name.
    """
    known = _canonical.get(name)
    if known is None:
        probe = Headers()
        probe.setRawHeaders(name, [b""])
        known = _canonical[name] = next(iter(probe.getAllRawHeaders()))[0]
    return known


def headersOf(fields: dict[bytes, list[bytes]]) -> Headers:
    """
    L{Headers} holding C{fields}: names as L{canonicalName} gives them (or
    as another L{Headers} holds them), values that came from a L{Headers}
    or were made of such values (no CR or LF to take out again).  Without
    the name: set one by one, checked again.
    """
    headers = Headers()
    if RAW_HEADERS:
        headers._rawHeaders = fields
        return headers
    setFields(headers, fields.items())
    return headers


def setFields(headers: Headers, fields: Iterable[tuple[bytes, Sequence[bytes]]]) -> None:
    """
    Set each (name, values) of C{fields} on C{headers}, as
    C{setRawHeaders} would, for fields as L{headersOf} takes them.
    """
    if RAW_HEADERS:
        raw = headers._rawHeaders
        for name, values in fields:
            raw[name] = list(values)
        return
    for name, values in fields:
        headers.setRawHeaders(name, values)


# -- the upstream client

def acceptURI(uri: bytes) -> bytes:
    """
    The fallback of L{ensureValidURI}: URIs parsed as given (the proxy
    builds them from parts it validated: L{akto_proxy.relay.url}).
    """
    return uri


try:
    from twisted.web._newclient import _ensureValidURI as ensureValidURI
except ImportError:  # pragma: no cover - another Twisted
    ensureValidURI = acceptURI


try:
    from twisted.web.client import _HTTP11ClientFactory as HTTP11ClientFactory
except ImportError:  # pragma: no cover - another Twisted
    HTTP11ClientFactory = None  # type: ignore[assignment,misc]


def setPoolFactory(pool: Any, factory: Callable[..., Any]) -> bool:
    """
    Make C{pool} build its connections' protocols with C{factory} (quiet in
    the logs, sending requests at once).  Without the name: the pool's own
    factory (noisy, requests sent at the reactor's next turn).
    """
    if HTTP11ClientFactory is None or not hasattr(pool, "_factory"):
        return False
    pool._factory = factory
    return True


def quiescentCallback(factory: Any) -> Callable[[Any], None]:
    """
    The callback a pool's protocol factory hands its protocols (they call
    it when idle, to go back to the pool).
    """
    return factory._quiescentCallback  # type: ignore[no-any-return]


def idleConnections(pool: Any) -> int:
    """
    Idle keep-alive connections in C{pool} (for /health); 0 when unknown.
    """
    connections = getattr(pool, "_connections", None)
    if not isinstance(connections, dict):
        return 0
    return sum(len(v) for v in connections.values())


def connectionHeaderValues(response: Any) -> list[bytes]:
    """
    The upstream's C{Connection} header values: Twisted's client keeps them
    apart from C{response.headers}, on its parser, while the response is
    read.  Without the names: none (the hop-by-hop headers named in
    C{Connection} are then relayed; the fixed hop-by-hop set still is not).
    """
    transport = getattr(getattr(response, "_transport", None), "_producer", None)
    proto = getattr(transport, "protocol", None)
    candidates = []
    while proto is not None and len(candidates) < 4:
        candidates.append(proto)
        proto = getattr(proto, "_wrappedProtocol", None) or getattr(proto, "wrappedProtocol", None)
    for candidate in candidates:
        parser = getattr(candidate, "_parser", None)
        if parser is not None and hasattr(parser, "connHeaders"):
            return list(parser.connHeaders.getRawHeaders(b"connection") or [])
    return []


# -- transports

def pendingBytes(transport: Any) -> int:
    """
    Bytes a TCP transport holds for writing.  Without the names: 0 (so
    nothing is sent before the reactor would send it).
    """
    try:
        return transport._tempDataLen + len(transport.dataBuffer) - transport.offset  # type: ignore[no-any-return]
    except AttributeError:
        return 0


def heldBytes(transport: Any) -> int:
    """
    Bytes held for writing by C{transport} and the transports under it (a
    TLS layer's buffer included); 0 for what is unknown.
    """
    total = 0
    for _ in range(3):
        if transport is None:
            break
        total += sum(len(x) for x in getattr(transport, "_tempDataBuffer", None) or [])
        total += sum(len(x) for x in getattr(transport, "_appSendBuffer", None) or [])
        total += len(getattr(transport, "dataBuffer", b"") or b"") - getattr(transport, "offset", 0)
        transport = getattr(transport, "transport", None)
    return total


# -- services

def listeningPort(service: Any) -> Any:
    """
    The port a C{strports} service listens on, once it does; None before,
    or when unknown (the own-address fence then knows only the configured
    addresses).
    """
    d = getattr(service, "_waitingForPort", None)
    if d is not None and d.called and hasattr(d.result, "getHost"):
        return d.result
    return None


__all__ = [
    "acceptURI",
    "RAW_HEADERS",
    "WHOLE_HEADS",
    "bufferedByChannel",
    "canonicalName",
    "channelBetweenRequests",
    "connectionHeaderValues",
    "ensureValidURI",
    "headersOf",
    "heldBytes",
    "idleConnections",
    "installHead",
    "listeningPort",
    "pendingBytes",
    "requestCommand",
    "quiescentCallback",
    "respondBadRequest",
    "setFields",
    "setPoolFactory",
]
