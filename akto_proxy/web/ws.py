"""
The WebSocket relay: the client's upgrade request is answered by an Autobahn
server protocol over the client connection, after an Autobahn client
protocol has opened the upstream socket through the same address fence as
HTTP.  Every message passes an ordered per-direction queue and the
inspection chain; each side's transport is the other side's producer.

Order of events for one socket::

    Exchange._run -> admission (IP, key, upstream fence, roles' upstreams,
                     the URL and its query inspected)
      -> WebSocketRelay.run
           validate the client handshake (400/426 before any upstream I/O)
           connect + handshake upstream (fenced, TLS verified for wss)
             refused -> the client gets the upstream's status
           take over the client connection from twisted.web and complete the
             client handshake with the subprotocol the upstream chose
           relay until either side closes; propagate the close; access log
"""

from __future__ import annotations

import base64
import binascii
import os
import random
import struct
from typing import TYPE_CHECKING, Any, Coroutine, Generator, Optional, Union

from autobahn.twisted.websocket import (
    WebSocketClientFactory,
    WebSocketClientProtocol,
    WebSocketServerFactory,
    WebSocketServerProtocol,
)
from autobahn.websocket.protocol import TrafficStats, WebSocketProtocol
from autobahn.util import encode_truncate
from autobahn.websocket.xormasker import USES_NVX, create_xor_masker
from twisted.internet import defer
from twisted.internet.interfaces import IProtocolFactory, IPushProducer
from twisted.logger import Logger
from twisted.protocols.policies import ProtocolWrapper
from twisted.python.failure import Failure
from twisted.web.client import URI
from zope.interface import implementer

try:
    from websockets.speedups import apply_mask as _applyMask
except ImportError:  # websockets installed without its C extension: _masked's own XOR
    _applyMask = None

from akto_proxy import compat
from akto_proxy.mcp.jsonrpc import Body, binary as binaryData, decodeText, encode
from akto_proxy.relay.http import FencedEndpointFactory, appendFields
from akto_proxy.relay.rewrite import rewriteLocation, rewriteWWWAuthenticate
from akto_proxy.relay.wire import failureKind, upstreamFailure

if TYPE_CHECKING:
    from akto_proxy.service import ProxyService
    from akto_proxy.web.proxy import Exchange

log = Logger()

OPEN = WebSocketProtocol.STATE_OPEN

#: seconds between pings on each hop, and how long a pong may take
PING_INTERVAL = 30.0
PING_TIMEOUT = 20.0
#: how long a peer may take to answer our close frame before the TCP is dropped
CLOSE_TIMEOUT = 5.0

#: request headers that belong to one hop of the handshake
_HANDSHAKE_HEADERS = frozenset(
    {
        b"sec-websocket-key",
        b"sec-websocket-version",
        b"sec-websocket-extensions",
        b"sec-websocket-accept",
        b"accept-encoding",
    }
)
#: upstream 101 headers not copied into the client's 101
_RESPONSE_SKIP = frozenset(
    {
        "upgrade",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "content-length",
        "sec-websocket-accept",
        "sec-websocket-protocol",
        "sec-websocket-extensions",
        "x-akto-request-id",
    }
)
_MASK = struct.Struct("!I")
#: close codes that may be sent in a close frame (RFC 6455 7.4, IANA registry)
_SENDABLE = frozenset(WebSocketProtocol.CLOSE_STATUS_CODES_ALLOWED)


class UpstreamRefused(Exception):
    """
    The upstream answered the opening handshake with something else than 101.
    """

    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]]):
        super().__init__(f"{status} {reason}")
        self.status = status
        self.reason = reason
        self.headers = headers


class UpstreamHandshakeFailed(Exception):
    """
    The upstream connection ended before the opening handshake completed.
    """

    def __init__(self, reason: str, timedOut: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.timedOut = timedOut


def _parseHead(raw: bytes) -> tuple[int, str, list[tuple[str, str]]]:
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    try:
        status = int(parts[1])
    except (IndexError, ValueError):
        status = 0
    reason = parts[2] if len(parts) > 2 else ""
    headers = []
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
    return status, reason, headers


def _closeFrameArgs(code: Optional[int], reason: Optional[str]) -> tuple[Optional[int], Optional[bytes]]:
    """
    What to put in a close frame that relays C{code}: codes that cannot be
    sent (1005 no status, 1006 abnormal, 1015 TLS) become no status.
    """
    if code is None or not (code in _SENDABLE or 3000 <= code <= 4999):
        return None, None
    return code, encode_truncate(reason, 123) if reason else None


@implementer(IPushProducer)
class _Valve:
    """
    Reading on one transport, paused for any of several reasons: the other
    side's write buffer is full (this valve is the other transport's
    producer), or a message is being inspected.  C{stopProducing} does
    nothing: closing is the relay's business, in order.
    """

    __slots__ = ("transport", "reasons", "closed")

    def __init__(self, transport: Any):
        self.transport = transport
        self.reasons: list[str] = []  # at most two: a set would cost 200 bytes
        self.closed = False

    def pause(self, why: str) -> None:
        if why in self.reasons:
            return
        if not self.reasons and not self.closed:
            self.transport.pauseProducing()
        self.reasons.append(why)

    def resume(self, why: str) -> None:
        if why not in self.reasons:
            return
        self.reasons.remove(why)
        if not self.reasons and not self.closed:
            self.transport.resumeProducing()

    def pauseProducing(self) -> None:
        self.pause("write")

    def resumeProducing(self) -> None:
        self.resume("write")

    def stopProducing(self) -> None:
        pass


#: what Autobahn and Twisted set on a protocol instance: slots, not an
#: attribute dict of ~90 entries (3.3 KB per hop of an idle socket)
_AUTOBAHN_SLOTS = (
    "_isMessageCompressed", "_perMessageCompress", "_results", "_transport_details", "_valid_events", "_wskey",
    "acceptMaskedServerFrames", "allowNullOrigin", "allowedOrigins", "allowedOriginsPatterns", "applyMask",
    "autoFragmentSize", "autoPingInterval", "autoPingPending", "autoPingPendingCall", "autoPingPendingSent",
    "autoPingPendingSeq", "autoPingRestartOnAnyTraffic", "autoPingSize", "autoPingTimeout", "autoPingTimeoutCall",
    "closeHandshakeTimeout", "closeHandshakeTimeoutCall", "closedByMe", "connected", "control_frame_data",
    "current_frame", "current_frame_masker", "data", "droppedByMe", "echoCloseCodeReason", "factory",
    "failByDrop", "failedByMe", "flashSocketPolicy", "frame_data", "frame_length", "http_headers",
    "http_request_data", "http_request_host", "http_request_params", "http_request_path", "http_request_uri",
    "http_response_data", "http_status_line", "inside_message", "is_closed", "is_open", "localCloseCode",
    "localCloseReason", "logFrames", "logOctets", "maskClientFrames", "maskServerFrames", "maxConnections",
    "maxFramePayloadSize", "maxMessagePayloadSize", "message_data", "message_data_total_length",
    "message_is_binary", "openHandshakeTimeout", "openHandshakeTimeoutCall", "peer",
    "perMessageCompressionAccept", "perMessageCompressionOffers", "remoteCloseCode", "remoteCloseReason",
    "requireMaskedClientFrames", "send_compressed", "send_message_frame_length", "send_message_frame_mask",
    "send_message_frame_masker", "send_message_opcode", "send_queue", "send_state", "serveFlashSocketPolicy",
    "serverConnectionDropTimeout", "serverConnectionDropTimeoutCall", "state", "tcpNoDelay", "trackTimings",
    "trackedTimings", "trafficStats", "transport", "triggered", "trustXForwardedFor", "utf8validateIncoming",
    "utf8validateIncomingCurrentMessage", "utf8validateLast", "utf8validator", "version", "versions", "wasClean",
    "wasCloseHandshakeTimeout", "wasMaxFramePayloadSizeExceeded", "wasMaxMessagePayloadSizeExceeded",
    "wasNotCleanReason", "wasOpenHandshakeTimeout", "wasServerConnectionDropTimeout",
    "wasServingFlashSocketPolicyFile", "webStatus", "websocket_extensions", "websocket_extensions_in_use",
    "websocket_key", "websocket_origin", "websocket_protocol_in_use", "websocket_protocols", "websocket_version",
)


def _inherited(base: type) -> dict[str, Any]:
    """
    The class defaults of C{base} (Twisted's C{transport = None}, ...) that
    the slots hide: each protocol starts with them set.
    """
    return {name: getattr(base, name) for name in _AUTOBAHN_SLOTS if hasattr(base, name)}


class _SendQueue(list):  # type: ignore[type-arg]
    """
    Autobahn's queue of chopped or synchronous writes (it appends and pops
    from the left; both rare): an empty list, where Autobahn's deque costs
    760 bytes per hop of an idle socket.
    """

    __slots__ = ()

    def popleft(self) -> Any:
        return self.pop(0)


class _Stats(TrafficStats):
    """
    Autobahn's traffic counters, slotted (its own keeps them in a dict).
    """

    __slots__ = (
        "outgoingOctetsWireLevel", "outgoingOctetsWebSocketLevel", "outgoingOctetsAppLevel",
        "outgoingWebSocketFrames", "outgoingWebSocketMessages", "incomingOctetsWireLevel",
        "incomingOctetsWebSocketLevel", "incomingOctetsAppLevel", "incomingWebSocketFrames",
        "incomingWebSocketMessages", "preopenOutgoingOctetsWireLevel", "preopenIncomingOctetsWireLevel",
    )


class _Side:
    """
    What both Autobahn protocols share: hooks into the relay, and slots for
    what Autobahn keeps per connection (an attribute written that is not
    in them still lands in the instance dict, as before).
    """

    __slots__ = _AUTOBAHN_SLOTS + ("relay", "_batch", "_inCloseFrame")
    side = ""
    _defaults: dict[str, Any] = {}

    def __init__(self) -> None:
        for name, value in self._defaults.items():
            setattr(self, name, value)
        self.relay: Optional["WebSocketRelay"] = None
        #: frames held while the other side's read is delivered (written in
        #: one go after it, or before anything else this side writes)
        self._batch: Optional[list[bytes]] = None
        self._inCloseFrame = False
        super().__init__()

    def _connectionMade(self) -> None:
        super()._connectionMade()  # type: ignore[misc]
        stats = _Stats()
        old = self.trafficStats  # type: ignore[has-type]
        for name in _Stats.__slots__:
            setattr(stats, name, getattr(old, name))
        self.trafficStats = stats
        self.send_queue = _SendQueue(self.send_queue)  # type: ignore[has-type]

    def _forgetHandshake(self) -> None:
        """
        Drop what Autobahn keeps of the opening handshake once it is done
        (the request and response and their parsed headers: read only while
        the handshake is processed).
        """
        self.http_headers: dict[str, str] = {}
        self.http_request_data = self.http_response_data = b""

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        if self.relay is not None:
            self.relay.received(self.side, payload, isBinary)

    # Autobahn's per-message paths without what a relay does not use: its
    # debug-log arguments (formatted for every read and frame even when
    # debug logging is off), its "message" signal (a Deferred per message
    # for listeners nobody registers), and its general frame machinery for
    # the common frame.  Anything else (compression,
    # fragmentation, sync or chopped writes, frame logging, timings, a
    # message over the size limit, a socket not open) takes Autobahn's own
    # path.

    def dataReceived(self, data: bytes) -> None:
        self._dataReceived(data)  # type: ignore[attr-defined]

    def processData(self) -> bool:
        """
        The frames of C{self.data}: each whole unfragmented text or binary
        frame of up to 64 KiB, outside a fragmented message, masked as this
        side expects, within the size limits and (text) valid UTF-8, is
        taken here in one step, and the buffer cut once after the run of
        them (during the run, C{self.data} still holds the frames already
        delivered); anything else (control frames, fragments, partial
        frames, violations, compression, frame logging) by Autobahn's own
        parser, which then also answers every error.
        """
        data: bytes = self.data  # type: ignore[has-type]
        n = len(data)
        relay = self.relay
        sink = relay._sink(self.side) if relay is not None else None
        if sink is None or sink._batch is not None:
            return self._frames(data, n)
        # what this read relays to the other side leaves in one write
        sink._batch = []
        try:
            return self._frames(data, n)
        finally:
            sink._flushBatch(close=True)

    def _frames(self, data: bytes, n: int) -> bool:
        pos = 0
        isServer = self.factory.isServer  # type: ignore[attr-defined]
        while (
            n - pos >= 2
            and self.current_frame is None  # type: ignore[attr-defined]
            and not self.inside_message  # type: ignore[attr-defined]
            and self.state == OPEN  # type: ignore[attr-defined]
            and self._perMessageCompress is None  # type: ignore[attr-defined]
            and not self.failedByMe  # type: ignore[attr-defined]
            and not self.logFrames  # type: ignore[attr-defined]
            and not self.trackedTimings  # type: ignore[attr-defined]
        ):
            b0 = data[pos]
            b1 = data[pos + 1]
            opcode = b0 & 0x0F
            masked = b1 & 0x80
            length = b1 & 0x7F
            if b0 & 0xF0 != 0x80 or not (opcode == 1 or opcode == 2) or length == 127:
                break
            if isServer:
                if not masked and self.requireMaskedClientFrames:  # type: ignore[attr-defined]
                    break
            elif masked and not self.acceptMaskedServerFrames:  # type: ignore[attr-defined]
                break
            i = pos + 2
            if length == 126:
                if n - pos < 4:
                    break
                length = (data[pos + 2] << 8) | data[pos + 3]
                if length < 126:
                    break
                i += 2
            if masked:
                i += 4
            end = i + length
            if end > n or 0 < self.maxMessagePayloadSize < length or 0 < self.maxFramePayloadSize < length:  # type: ignore[attr-defined]
                break
            payload = data[i:end]
            if masked and length and self.applyMask:  # type: ignore[attr-defined]
                payload = _masked(payload, data[i - 4 : i])
            if opcode == 1 and self.utf8validateIncoming:  # type: ignore[attr-defined]
                try:
                    payload.decode("utf-8")
                except UnicodeDecodeError:
                    break
            pos = end
            stats = self.trafficStats  # type: ignore[attr-defined]
            stats.incomingOctetsWebSocketLevel += length
            stats.incomingOctetsAppLevel += length
            stats.incomingWebSocketFrames += 1
            stats.incomingWebSocketMessages += 1
            if self.autoPingTimeoutCall and self.autoPingRestartOnAnyTraffic:  # type: ignore[attr-defined]
                self._cancelAutoPingTimeoutCall()  # type: ignore[attr-defined]
            self.message_is_binary = opcode == 2
            self.message_data = [payload]
            self._onMessageEnd()  # type: ignore[attr-defined]
        if not pos:
            return super().processData()  # type: ignore[misc,no-any-return]
        self.data = data[pos:]
        return len(self.data) > 0

    def onMessageEnd(self) -> None:
        listeners = self._listeners  # type: ignore[attr-defined]
        if self._parent is not None or (listeners and listeners.get("message")) or self.trackedTimings:  # type: ignore[attr-defined]
            super().onMessageEnd()  # type: ignore[misc]
            return
        if not self.failedByMe:  # type: ignore[attr-defined]
            chunks: list[bytes] = self.message_data  # type: ignore[has-type]
            self._onMessage(b"".join(chunks), self.message_is_binary)  # type: ignore[attr-defined]
        self.message_data = None  # type: ignore[assignment]

    def sendMessage(self, payload: bytes, isBinary: bool = False, fragmentSize: Optional[int] = None, sync: bool = False, doNotCompress: bool = False) -> None:
        n = len(payload)
        if (
            fragmentSize is not None
            or sync
            or n > 0xFFFF
            or self.state != OPEN  # type: ignore[attr-defined]
            or self._perMessageCompress is not None  # type: ignore[attr-defined]
            or self.send_queue  # type: ignore[attr-defined]
            or self.trackedTimings  # type: ignore[attr-defined]
            or self.logFrames  # type: ignore[attr-defined]
            or self.logOctets  # type: ignore[attr-defined]
            or 0 < self.autoFragmentSize < n  # type: ignore[attr-defined]
            or 0 < self.maxMessagePayloadSize < n  # type: ignore[attr-defined]
            or type(payload) is not bytes
        ):
            super().sendMessage(payload, isBinary, fragmentSize, sync, doNotCompress)  # type: ignore[misc]
            return
        # one unfragmented frame, as Autobahn's sendFrame builds it
        b0 = 0x82 if isBinary else 0x81
        masked = self.maskServerFrames if self.factory.isServer else self.maskClientFrames  # type: ignore[attr-defined]
        if n <= 125:
            head = bytes((b0, (0x80 if masked else 0) | n))
        else:
            head = bytes((b0, (0x80 if masked else 0) | 126, n >> 8, n & 0xFF))
        if masked:
            mask = _MASK.pack(random.getrandbits(32))
            head += mask
            if n and self.applyMask:  # type: ignore[attr-defined]
                payload = _masked(payload, mask)
        stats = self.trafficStats  # type: ignore[attr-defined]
        stats.outgoingWebSocketMessages += 1
        stats.outgoingOctetsAppLevel += n
        stats.outgoingOctetsWebSocketLevel += n
        stats.outgoingWebSocketFrames += 1
        stats.outgoingOctetsWireLevel += len(head) + n
        batch = self._batch
        if batch is not None:
            batch.append(head)
            batch.append(payload)
        else:
            self.transport.write(head + payload)  # type: ignore[attr-defined]

    def _flushBatch(self, close: bool = False) -> None:
        batch = self._batch
        if close:
            self._batch = None
        if batch:
            if not close:
                self._batch = []
            self.transport.write(b"".join(batch))  # type: ignore[attr-defined]

    def sendData(self, data: bytes, sync: bool = False, chopsize: Optional[int] = None) -> None:
        if self._batch:
            self._flushBatch()
        super().sendData(data, sync, chopsize)  # type: ignore[misc]

    def sendCloseFrame(self, code: Optional[int] = None, reasonUtf8: Optional[bytes] = None, isReply: bool = False) -> None:
        wasOpen = self.state == OPEN  # type: ignore[attr-defined]
        super().sendCloseFrame(code, reasonUtf8, isReply)  # type: ignore[misc]
        relay = self.relay
        if not wasOpen or relay is None:
            return
        if isReply:
            # the peer closed: relay its code and reason
            relay.sideClosing(self.side, self.remoteCloseCode, self.remoteCloseReason)  # type: ignore[attr-defined]
        elif not relay.asked(self.side):
            # Autobahn failed this side (1002, 1007, 1009...): tell the other
            reason = reasonUtf8.decode("utf-8", "replace") if reasonUtf8 else None
            relay.sideClosing(self.side, code, reason)

    def onClose(self, wasClean: bool, code: Optional[int], reason: Optional[str]) -> None:
        if self.relay is not None:
            self.relay.sideLost(self.side, wasClean, code, reason)

    def onCloseFrame(self, code: Optional[int], reasonRaw: Optional[bytes]) -> Any:
        self._inCloseFrame = True
        try:
            return super().onCloseFrame(code, reasonRaw)  # type: ignore[misc]
        finally:
            self._inCloseFrame = False

    def dropConnection(self, abort: bool = False) -> None:
        if self._inCloseFrame and self.failedByMe:  # type: ignore[attr-defined]
            # Autobahn fails a bad close frame (1002, 1007) and then aborts
            # the TCP in the same call, discarding its own close frame:
            # let the frame leave first
            abort = False
        if self._batch and not abort:
            self._flushBatch()
        super().dropConnection(abort)  # type: ignore[misc]

    def connectionLost(self, reason: Any = None) -> None:
        super().connectionLost(reason)  # type: ignore[misc]
        # Autobahn leaves its close-handshake timer behind when the peer
        # drops the TCP instead of answering our close frame
        call = getattr(self, "closeHandshakeTimeoutCall", None)
        if call is not None:
            call.cancel()
            self.closeHandshakeTimeoutCall = None


class ClientSide(_Side, WebSocketServerProtocol):  # type: ignore[misc]
    """
    The proxy as the server of the client's socket.
    """

    __slots__ = ("subprotocol", "extraHeaders")
    side = "client"

    def __init__(self) -> None:
        super().__init__()
        self.subprotocol: Optional[str] = None
        self.extraHeaders: dict[str, list[str]] = {}

    def onConnect(self, request: Any) -> Any:
        headers, self.extraHeaders = self.extraHeaders, {}
        return self.subprotocol, headers

    def onOpen(self) -> None:
        self._forgetHandshake()
        if self.relay is not None:
            self.relay.clientOpened()


class UpstreamSide(_Side, WebSocketClientProtocol):  # type: ignore[misc]
    """
    The proxy as the client of the upstream's socket.  The opening request is
    written here (not by Autobahn) so that the upstream sees the client's
    headers, the raw path and C{Host: host[:port]}.

    @ivar opened: fires with this protocol once the upstream accepted the
        handshake, or fails with L{UpstreamRefused} or
        L{UpstreamHandshakeFailed}; None once it has.
    """

    __slots__ = ("head", "offered", "opened", "status", "statusReason", "responseHeaders")
    side = "upstream"

    def __init__(self) -> None:
        super().__init__()
        self.head = b""
        self.offered: list[str] = []
        self.opened: Optional[defer.Deferred[UpstreamSide]] = None
        self.status = 0
        self.statusReason = ""
        self.responseHeaders: list[tuple[str, str]] = []

    def startHandshake(self) -> None:
        self.websocket_key = base64.b64encode(os.urandom(16))
        head, self.head = self.head, b""
        self.sendData(head + b"Sec-WebSocket-Key: " + self.websocket_key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")

    def processHandshake(self) -> Any:
        end = self.data.find(b"\r\n\r\n")
        if end >= 0 and not self.status:
            self.status, self.statusReason, self.responseHeaders = _parseHead(self.data[:end])
        # the factory is shared: Autobahn checks the chosen subprotocol
        # against its list (synchronously, in this call)
        factory = self.factory
        factory.protocols = self.offered
        try:
            return super().processHandshake()
        finally:
            factory.protocols = []

    def onOpen(self) -> None:
        self._forgetHandshake()
        opened, self.opened = self.opened, None
        if opened is not None:
            opened.callback(self)

    def onClose(self, wasClean: bool, code: Optional[int], reason: Optional[str]) -> None:
        opened, self.opened = self.opened, None
        if opened is not None:
            if self.status and self.status != 101:
                opened.errback(UpstreamRefused(self.status, self.statusReason, self.responseHeaders))
            else:
                why = self.wasNotCleanReason or reason or "connection closed during the opening handshake"
                opened.errback(UpstreamHandshakeFailed(why, bool(getattr(self, "wasOpenHandshakeTimeout", False))))
            return
        super().onClose(wasClean, code, reason)


@implementer(IProtocolFactory)
class _Opening:
    """
    The factory of one upstream connection: the shared Autobahn client
    factory's protocol, given this socket's opening request and offered
    subprotocols before the handshake starts (Twisted calls
    C{connectionMade} before the connect Deferred fires).
    """

    __slots__ = ("factory", "head", "offered", "opened")

    def __init__(self, factory: WebSocketClientFactory, head: bytes, offered: list[str]):
        self.factory = factory
        self.head = head
        self.offered = offered
        #: the protocol's L{UpstreamSide.opened}
        self.opened: defer.Deferred[UpstreamSide] = defer.Deferred()

    def buildProtocol(self, addr: Any) -> UpstreamSide:
        proto: Any = self.factory.buildProtocol(addr)
        proto.head, self.head = self.head, b""
        proto.offered = self.offered
        proto.opened = self.opened
        return proto  # type: ignore[no-any-return]

    def doStart(self) -> None:
        pass

    def doStop(self) -> None:
        pass


class _Hop:
    """
    The relay's state for one side: what it sent that waits to be handled,
    whether a message of it is being inspected, the valve on its reading,
    and how far its closing has gone.
    """

    __slots__ = ("queue", "busy", "messages", "valve", "asked", "relayedClose", "lost")

    def __init__(self) -> None:
        # a list, not a deque: paused while one message is inspected, a
        # queue stays short, and an empty deque costs 600 bytes
        self.queue: list[tuple[Any, ...]] = []
        self.busy = False
        self.messages = 0
        self.valve: Optional[_Valve] = None
        self.asked = False  # the relay asked this side to close
        self.relayedClose = False  # its close was passed on
        self.lost = False


class WebSocketRelay:
    """
    One client socket, its upstream socket, and the two ordered queues
    between them.

    @ivar keyDigest: the key that opened the socket (for reload to close
        sockets whose key changed).
    @ivar hops: the state of each side, by name.
    @ivar wakeAt: the time of its idle deadline in the service's
        L{Deadlines} (set by them).
    """

    __slots__ = (
        "service", "exchange", "clock", "reactor", "client", "upstream", "hops", "keyDigest", "openedAt",
        "wakeAt", "_done", "_waiters", "_idleFor", "_activeAt", "_closeReason",
    )

    def __init__(self, service: "ProxyService", exchange: "Exchange"):
        self.service = service
        self.exchange = exchange
        self.clock = service.clock
        self.reactor = service.reactor
        self.client: Optional[ClientSide] = None
        self.upstream: Optional[UpstreamSide] = None
        self.hops = {"client": _Hop(), "upstream": _Hop()}
        self.keyDigest: Optional[bytes] = None
        self.openedAt: Optional[float] = None
        self.wakeAt: Optional[float] = None
        self._done = False
        self._waiters: list[defer.Deferred[None]] = []
        self._idleFor = 0.0  # the idle timeout in force when last active
        self._activeAt = 0.0  # when a message last passed
        self._closeReason: Optional[str] = None

    # -- opening

    async def run(self) -> None:
        ex = self.exchange
        ex.transportName = "ws"
        problem = self._checkHandshake()
        if problem is not None:
            status, message, headers = problem
            return ex.respondError(status, message, "bad_websocket_handshake", headers=headers)
        limits = ex.rt.config.limits
        cfg = ex.rt.config.upstreams
        offered = self._offeredProtocols()
        opening = _Opening(self._clientFactory(limits.max_ws_message, cfg.read_timeout), self._upstreamHead(), offered)
        endpoint = self._endpoints().endpointForURI(self._connectURI())
        connecting = endpoint.connect(opening)
        connected: list[Any] = []  # the protocol, once the TCP (and TLS) is up

        def cancel(d: Any) -> None:
            connecting.cancel()
            proto: Any = connected[0] if connected else None
            if proto is not None and proto.transport is not None:
                proto.transport.abortConnection()

        opened: defer.Deferred[UpstreamSide] = defer.Deferred(cancel)

        def gotProtocol(proto: Any) -> Any:
            connected.append(proto)
            opening.opened.chainDeferred(opened)
            return None

        def failed(f: Failure) -> None:
            if not opened.called:
                opened.errback(f)

        connecting.addCallbacks(gotProtocol, failed)
        ex.pending = opened
        try:
            upstream = await opened
        except defer.CancelledError:
            return  # the client went away first
        except Exception as e:
            return self._refused(Failure(e))
        finally:
            ex.pending = None
        if ex.finished:
            upstream.sendClose(1000)
            return
        self.service.upstreamOK(ex.target)
        self.upstream = upstream
        upstream.relay = self
        self.hops["upstream"].valve = _Valve(upstream.transport)
        try:
            self._acceptClient(upstream)
        except Exception:
            log.failure("websocket takeover failed", request_id=ex.requestId)
            ex.outcome = "proxy_error"
            self.hops["client"].lost = True
            self._ask("upstream", 1011, "proxy error")
            if self.client is None or self.client.transport is None:
                raw: Any = ex.request.transport
                if raw is not None:
                    raw.abortConnection()
            self._finish()

    def _checkHandshake(self) -> Optional[tuple[int, str, Optional[dict[bytes, bytes]]]]:
        request = self.exchange.request
        if request.method != b"GET" or request.clientproto != b"HTTP/1.1":
            return 400, "a WebSocket upgrade must be an HTTP/1.1 GET", None
        tokens = {t.strip().lower() for v in request.requestHeaders.getRawHeaders(b"connection") or [] for t in v.split(b",")}
        if b"upgrade" not in tokens:
            return 400, "Connection header lacks upgrade", None
        versions = request.requestHeaders.getRawHeaders(b"sec-websocket-version") or []
        if versions != [b"13"]:
            return 426, "unsupported WebSocket version", {b"sec-websocket-version": b"13"}
        keys = request.requestHeaders.getRawHeaders(b"sec-websocket-key") or []
        try:
            valid = len(keys) == 1 and len(base64.b64decode(keys[0].strip(), validate=True)) == 16
        except (binascii.Error, ValueError):
            valid = False
        if not valid:
            return 400, "missing or invalid Sec-WebSocket-Key", None
        return None

    def _offeredProtocols(self) -> list[str]:
        out: list[str] = []
        for v in self.exchange.request.requestHeaders.getRawHeaders(b"sec-websocket-protocol") or []:
            out.extend(p.strip() for p in v.decode("latin-1").split(",") if p.strip())
        return out

    def _upstreamHead(self) -> bytes:
        """
        The upstream request without its key and version lines: the client's
        headers as the HTTP relay forwards them (hop-by-hop and the proxy
        credential dropped, C{Host} the upstream authority, forwarding
        headers added), minus this hop's handshake headers.
        """
        ex = self.exchange
        assert ex.target is not None
        headers = ex.upstreamHeaders(False)
        lines = [b"GET " + ex.target.pathAndQuery + b" HTTP/1.1", b"Host: " + ex.target.authority.encode("ascii")]
        lines += [b"Upgrade: websocket", b"Connection: Upgrade"]
        for name, values in headers.getAllRawHeaders():
            lname = name.lower()
            if lname == b"host" or lname in _HANDSHAKE_HEADERS:
                continue
            for v in values:
                lines.append(name + b": " + v)
        return b"\r\n".join(lines) + b"\r\n"

    def _connectURI(self) -> URI:
        target = self.exchange.target
        assert target is not None
        return URI.fromBytes(f"{target.httpScheme}://{target.hostForURL}:{target.port}/".encode("ascii"))

    def _endpoints(self) -> FencedEndpointFactory:
        # share the HTTP pool's endpoint factory (and its TLS context cache)
        factory = getattr(self.service.agent, "endpoints", None)
        if isinstance(factory, FencedEndpointFactory):
            return factory
        return FencedEndpointFactory(self.reactor, lambda: self.service.runtime.clientSettings)

    def _refused(self, failure: Failure) -> None:
        ex = self.exchange
        upstream = ex.target.display() if ex.target else "?"
        if failure.check(UpstreamRefused):
            self.service.upstreamFailed(ex.target)
            refused: UpstreamRefused = failure.value  # type: ignore[assignment]
            status = refused.status
            if not 300 <= status <= 599:
                log.warn("upstream {upstream} answered the upgrade with {status}", upstream=upstream, status=status, request_id=ex.requestId)
                return ex.respondError(502, f"upstream did not accept the WebSocket upgrade ({status})", "bad_gateway")
            headers = self._refusalHeaders(refused.headers)
            log.info("upstream {upstream} refused the upgrade with {status}", upstream=upstream, status=status, request_id=ex.requestId)
            return ex.respondError(status, f"upstream refused the WebSocket upgrade: {status} {refused.reason}".strip(), "upstream_refused", headers=headers)
        if failure.check(UpstreamHandshakeFailed):
            failed: UpstreamHandshakeFailed = failure.value  # type: ignore[assignment]
            ex.upstreamError = "timeout" if failed.timedOut else "handshake"
            self.service.upstreamFailed(ex.target, ex.upstreamError)
            if failed.timedOut:
                return ex.respondError(504, "upstream timed out during the WebSocket handshake", "gateway_timeout")
            return ex.respondError(502, f"upstream WebSocket handshake failed: {failed.reason}", "bad_gateway")
        status, message, code = upstreamFailure(failure)
        ex.upstreamError = failureKind(failure)
        if status != 403:
            self.service.upstreamFailed(ex.target, ex.upstreamError)
            log.warn("upstream {upstream} failed: {error}", upstream=upstream, error=message, request_id=ex.requestId)
        ex.respondError(status, message, code)

    def _refusalHeaders(self, headers: list[tuple[str, str]]) -> dict[bytes, bytes]:
        ex = self.exchange
        assert ex.target is not None
        out: dict[bytes, bytes] = {}
        origin = ex.origin()
        cred = ex.credential if ex.usedQueryCredential else None
        for name, value in headers:
            lname = name.lower()
            if lname == "www-authenticate":
                out[b"www-authenticate"] = rewriteWWWAuthenticate(value, ex.target, origin).encode("latin-1")
            elif lname == "location":
                out[b"location"] = rewriteLocation(value, ex.target, origin, ex.rt.config.access_control.query_parameter, cred).encode("latin-1")
            elif lname in ("retry-after", "sec-websocket-version"):
                out[lname.encode("latin-1")] = value.encode("latin-1")
        return out

    def _serverFactory(self, maxMessage: int) -> WebSocketServerFactory:
        """
        The server factory of client sockets that take messages up to
        C{maxMessage} bytes: one, shared by every socket (each protocol
        reads its options from it when the connection is made).
        """
        factories = self.service.wsFactories
        key = ("server", maxMessage)
        factory = factories.get(key)
        if factory is None:
            factory = WebSocketServerFactory(server=None, reactor=self.reactor)
            factory.protocol = ClientSide
            factory.noisy = False
            factory.setProtocolOptions(
                openHandshakeTimeout=CLOSE_TIMEOUT,
                **_hopOptions(maxMessage),
                # the upstream decides about origins: it sees the client's Origin
                allowedOrigins=["*"],
                allowNullOrigin=True,
            )
            factories[key] = factory
        return factory

    def _clientFactory(self, maxMessage: int, handshakeTimeout: float) -> WebSocketClientFactory:
        """
        The client factory of upstream sockets, shared like
        L{_serverFactory}'s (and with it Autobahn's ping timer wheel); what
        is particular to one socket travels in its L{_Opening}.
        """
        factories = self.service.wsFactories
        key = ("client", maxMessage, handshakeTimeout)
        factory = factories.get(key)
        if factory is None:
            factory = WebSocketClientFactory(url=None, reactor=self.reactor)
            factory.protocol = UpstreamSide
            factory.noisy = False
            factory.setProtocolOptions(openHandshakeTimeout=handshakeTimeout, **_hopOptions(maxMessage))
            factories[key] = factory
        return factory

    def _acceptClient(self, upstream: UpstreamSide) -> None:
        """
        Take the client connection over from twisted.web and let an Autobahn
        server protocol complete the client's handshake with the upstream's
        subprotocol and headers.
        """
        ex = self.exchange
        factory = self._serverFactory(ex.rt.config.limits.max_ws_message)
        request = ex.request
        channel: Any = request.channel
        transport: Any = channel.transport
        proto: Any = factory.buildProtocol(request.getClientAddress())
        proto.relay = self
        proto.subprotocol = upstream.websocket_protocol_in_use
        extra: dict[str, list[str]] = {"X-Akto-Request-Id": [ex.requestId]}
        for name, value in upstream.responseHeaders:
            if name.lower() not in _RESPONSE_SKIP and name.lower() != "server":
                extra.setdefault(name, []).append(value)
        upstream.responseHeaders = []  # needed no more (only a refusal reads them)
        proto.extraHeaders = extra
        self.client = proto
        # the HTTP channel lets go of the connection; it was its producer
        stopTimer = getattr(channel, "_stopTimer", None)
        if stopTimer is not None:
            stopTimer()
        channel.transport = None
        pending = compat.bufferedByChannel(channel)
        transport.unregisterProducer()
        if isinstance(transport, ProtocolWrapper):
            transport.wrappedProtocol = proto
        elif isinstance(getattr(transport, "protocol", None), ProtocolWrapper):
            transport.protocol.wrappedProtocol = proto
        else:
            transport.protocol = proto
        proto.makeConnection(transport)
        transport.resumeProducing()
        self.hops["client"].valve = _Valve(transport)
        head: list[bytes] = [request.method, b" ", request.uri, b" HTTP/1.1\r\n"]
        appendFields(head, request.requestHeaders)
        head += (b"\r\n", pending)
        proto.dataReceived(b"".join(head))

    def clientOpened(self) -> None:
        ex = self.exchange
        assert self.client is not None and self.upstream is not None
        ex.status = 101
        self.openedAt = self.clock.seconds()
        ex.upstreamMs = (self.openedAt - ex.started) * 1000.0  # the upstream handshake, mostly
        key = ex.key
        self.keyDigest = ex.rt.keys.digestOf(key.name) if key else None
        self.service.sockets.add(self)
        # an open socket is not a request in flight: it does not hold the drain
        self.service.exchangeDone(ex)
        clientTransport: Any = self.client.transport
        upstreamTransport: Any = self.upstream.transport
        clientTransport.registerProducer(self.hops["upstream"].valve, True)
        upstreamTransport.registerProducer(self.hops["client"].valve, True)
        self._resetIdle()
        log.info(
            "websocket open to {upstream}",
            upstream=ex.target.display() if ex.target else None,
            subprotocol=self.client.websocket_protocol_in_use,
            request_id=ex.requestId,
            key=key.name if key else None,
        )
        self._drain("upstream")  # anything the upstream sent right after its 101

    # -- messages

    def received(self, side: str, payload: bytes, isBinary: bool) -> None:
        hop = self.hops[side]
        hop.messages += 1
        self._resetIdle()
        queue = hop.queue
        if not queue and not hop.busy and self._ready(side):
            # nothing ahead of it: handled at once, never queued
            self._handleOne(side, payload, isBinary)
            return
        queue.append(("message", payload, isBinary))
        self._drain(side)

    def _ready(self, side: str) -> bool:
        return self.client is not None and self.client.state != WebSocketProtocol.STATE_CONNECTING

    def _drain(self, side: str) -> None:
        """
        Handle what C{side} sent, in order: one message at a time through the
        chain; while one is inspected, reading from C{side} is paused.
        """
        hop = self.hops[side]
        queue = hop.queue
        while queue and not hop.busy and self._ready(side):
            item = queue.pop(0)
            if item[0] == "close":
                self._passClose(side, item[1], item[2])
                continue
            self._handleOne(side, item[1], item[2])

    def _handleOne(self, side: str, payload: bytes, isBinary: bool) -> None:
        """
        Handle one message of C{side}: at once when the pipeline answers
        synchronously (the common case: no Deferred, no reactor turn), else
        with C{side} busy and paused until it has, then what queued behind.
        """
        result = _runNow(self._handle(side, payload, isBinary))
        if not isinstance(result, defer.Deferred):
            if result is not None:
                self._handled(result)
            return
        hop = self.hops[side]
        hop.busy = True
        self._pause(side, "inspect")

        def done(outcome: Any) -> None:
            hop.busy = False
            self._handled(outcome)
            self._resume(side, "inspect")
            self._drain(side)

        result.addBoth(done)

    def _handled(self, result: Any) -> None:
        if isinstance(result, Failure):
            log.failure("websocket message handling failed", result, request_id=self.exchange.requestId)
            self.exchange.outcome = "inspection_error"
            self.closeBoth(1011, "proxy error")

    def _pause(self, side: str, why: str) -> None:
        valve = self.hops[side].valve
        if valve is not None:
            valve.pause(why)

    def _resume(self, side: str, why: str) -> None:
        valve = self.hops[side].valve
        if valve is not None:
            valve.resume(why)

    def _sink(self, side: str) -> Union[ClientSide, UpstreamSide, None]:
        return self.upstream if side == "client" else self.client

    def _send(self, toSide: str, payload: bytes, isBinary: bool) -> None:
        proto = self.client if toSide == "client" else self.upstream
        if proto is None or proto.state != OPEN:
            return
        proto.sendMessage(payload, isBinary)
        if toSide == "client":
            self.exchange.bytesOut += len(payload)

    async def _handle(self, side: str, payload: bytes, isBinary: bool) -> None:
        ex = self.exchange
        ctx = ex.ctx
        assert ctx is not None
        ex.rt = rt = self.service.runtime  # each message is judged by the current configuration
        toSide = "upstream" if side == "client" else "client"
        pipeline = rt.pipeline
        if not (pipeline.judgesClient if side == "client" else pipeline.judgesServer):
            return self._send(toSide, payload, isBinary)
        limits = rt.config.limits
        if len(payload) > limits.max_inspected_response:
            if limits.oversize == "pass":
                log.info("websocket message too large to inspect, relayed", size=len(payload), request_id=ex.requestId)
                return self._send(toSide, payload, isBinary)
            ex.outcome = "message_too_large"
            log.info("websocket message too large to inspect, closing", size=len(payload), request_id=ex.requestId)
            self.closeBoth(1009, "message too large to inspect")
            return None
        if isBinary:
            # a binary frame that is text (UTF-8, and not NUL-filled) is
            # judged as text; other bytes as binary data (jsonrpc.binary)
            if binaryData(payload):
                message = Body([], False, False, None, payload.decode("latin-1"), binary=True)
            else:
                message = Body([], False, False, None, payload.decode("utf-8"))
        else:
            message = decodeText(payload.decode("utf-8", "replace"))
        if side == "client":
            verdict = await pipeline.judgeClient(ctx, message, transport="ws")
        else:
            verdict = await pipeline.judgeServer(ctx, message, transport="ws")
        if verdict.replies:
            # answers in the proxy's name go back where the message came from
            self._send(side, encode(verdict.replyValue()), False)
        if verdict.unchanged:
            return self._send(toSide, payload, isBinary)
        if verdict.refused or not verdict.forward:
            log.info(
                "websocket message refused: {reason}",
                reason=verdict.reason or "blocked by policy",
                direction="request" if side == "client" else "response",
                request_id=ex.requestId,
            )
            return None
        if message.rpc:
            return self._send(toSide, encode(verdict.forwardValue()), False)
        new = verdict.forward[0]
        if new.json:
            return self._send(toSide, encode(new.value), isBinary)
        return self._send(toSide, new.encoded(), isBinary)

    # -- idle

    def _resetIdle(self) -> None:
        """
        Note activity.  The deadline is not moved per message: when the
        service's L{Deadlines} wake the socket, L{due} looks at when it was
        last active and, if that was less than the timeout ago, asks to be
        woken when the rest has passed.  A shorter timeout (a reload) adds
        an earlier deadline at once.
        """
        timeout = self.service.runtime.config.upstreams.idle_timeout
        if not timeout or self._done:
            return
        now = self.clock.seconds()
        self._activeAt = now
        self._idleFor = timeout
        self.service.deadlines.wake(self, now + timeout)

    def due(self, now: float) -> Optional[float]:
        """
        Woken by the service's L{Deadlines}: close the socket if it has
        been idle for the timeout (the one in force, else the one it was
        last active under); else the time it would be.
        """
        if self._done:
            return None
        timeout = self.service.runtime.config.upstreams.idle_timeout or self._idleFor
        at = self._activeAt + timeout
        if at > now:
            return at
        log.info("websocket idle, closing", request_id=self.exchange.requestId)
        self._closeReason = "idle_timeout"
        self.closeBoth(1001, "idle timeout")
        return None

    # -- closing

    def asked(self, side: str) -> bool:
        return self.hops[side].asked

    def sideClosing(self, side: str, code: Optional[int], reason: Optional[str]) -> None:
        """
        C{side} is closing (its peer sent a close frame, or Autobahn failed
        it): pass the close on to the other side after what is queued.
        """
        hop = self.hops[side]
        if hop.relayedClose or hop.asked:
            return
        hop.relayedClose = True
        if self._closeReason is None:
            self._closeReason = f"closed_by_{side}"
            if code == 1009:
                self._closeReason = "message_too_large"
        hop.queue.append(("close", code, reason))
        self._drain(side)

    def sideLost(self, side: str, wasClean: bool, code: Optional[int], reason: Optional[str]) -> None:
        hop = self.hops[side]
        if hop.lost:
            return
        hop.lost = True
        if hop.valve is not None:
            hop.valve.closed = True
        if not hop.relayedClose and not hop.asked:
            # gone without a close frame: the other side is dropped too
            hop.relayedClose = True
            if self._closeReason is None:
                self._closeReason = f"{side}_lost"
            hop.queue.append(("close", "drop", reason))
            self._drain(side)
        if side == "client" and self.openedAt is None:
            # the client handshake failed: the upstream has nobody to talk to
            self.exchange.status = self.exchange.status or 400
            self._ask("upstream", 1001, "client handshake failed")
        if self.hops["client"].lost and self.hops["upstream"].lost:
            self._finish()

    def _passClose(self, fromSide: str, code: Any, reason: Optional[str]) -> None:
        toSide = "upstream" if fromSide == "client" else "client"
        if code == "drop":
            proto = self.client if toSide == "client" else self.upstream
            if proto is not None and proto.state != WebSocketProtocol.STATE_CLOSED:
                self.hops[toSide].asked = True
                proto.dropConnection(abort=False)
            return
        self._ask(toSide, code, reason)

    def _ask(self, side: str, code: Optional[int], reason: Optional[str]) -> None:
        proto = self.client if side == "client" else self.upstream
        hop = self.hops[side]
        if proto is None or hop.asked:
            return
        hop.asked = True
        if proto.state == OPEN:
            c, r = _closeFrameArgs(code, reason)
            proto.sendCloseFrame(c, r, isReply=False)
        elif proto.state != WebSocketProtocol.STATE_CLOSED and proto.state != WebSocketProtocol.STATE_CLOSING:
            proto.dropConnection(abort=True)

    def closeBoth(self, code: int, reason: str) -> None:
        """
        Close both sides now with the same code (idle, oversize, errors).
        """
        for hop in self.hops.values():
            hop.queue.clear()
        self._ask("client", code, reason)
        self._ask("upstream", code, reason)

    def close(self, code: int = 1001, reason: str = "proxy shutting down") -> None:
        """
        Close both sides (shutdown, reload removed the key).
        """
        if self._closeReason is None:
            self._closeReason = "shutdown" if code == 1001 else "closed_by_proxy"
        self.closeBoth(code, reason)

    def whenClosed(self) -> "defer.Deferred[None]":
        d: defer.Deferred[None] = defer.Deferred()
        if self._done:
            d.callback(None)
        else:
            self._waiters.append(d)
        return d

    def bufferedBytes(self) -> int:
        """
        Bytes the proxy holds for this socket: queued messages, Autobahn's
        receive buffers and both transports' write buffers.
        """
        total = 0
        for hop in self.hops.values():
            for item in hop.queue:
                if item[0] == "message":
                    total += len(item[1])
        for proto in (self.client, self.upstream):
            if proto is None:
                continue
            total += len(getattr(proto, "data", b"") or b"")
            total += sum(len(b) for b in proto._batch or ())
            for frames in (getattr(proto, "message_data", None) or [],):
                total += sum(len(f) for f in frames)
            total += compat.heldBytes(proto.transport)
        return total

    def _finish(self) -> None:
        if self._done:
            return
        self._done = True
        self.service.deadlines.forget(self)
        for hop in self.hops.values():
            hop.queue.clear()
        for proto in (self.client, self.upstream):
            if proto is not None and proto.state != WebSocketProtocol.STATE_CLOSED:
                proto.dropConnection(abort=True)
        self.service.sockets.discard(self)
        ex = self.exchange
        if ex.outcome == "relayed" and self._closeReason:
            ex.outcome = self._closeReason
        if self.openedAt is not None:
            log.info(
                "websocket closed: {outcome}",
                outcome=ex.outcome,
                messages_in=self.hops["client"].messages,
                messages_out=self.hops["upstream"].messages,
                request_id=ex.requestId,
            )
        # the access log entry: fire what twisted.web would fire on finish
        ex.status = ex.status or 101
        request = ex.request
        notifications, request.notifications = request.notifications, []
        for d in notifications:
            d.callback(None)
        waiters, self._waiters = self._waiters, []
        for w in waiters:
            w.callback(None)


def _masked(payload: bytes, mask: bytes) -> bytes:
    """
    C{payload} XOR the 4-byte C{mask} repeated (RFC 6455 5.3): with the
    C{websockets} library's C function (about 0.3 µs for 1 KiB: a tenth
    of the big-integer XOR, and no object to create as Autobahn's masker
    has); without it (a build of C{websockets} without its C extension),
    up to L{_BIGINT_UPTO} bytes in one big-integer operation, above it with
    Autobahn's C masker when it was built with one.
    """
    if _applyMask is not None:
        return _applyMask(payload, mask)  # type: ignore[no-any-return]
    n = len(payload)
    if n > _BIGINT_UPTO and USES_NVX:
        return create_xor_masker(mask, n).process(payload)  # type: ignore[no-any-return]
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


#: where the big-integer XOR stops being the cheaper (measured: even at
#: about 1.5 KiB, 2x slower at 4 KiB)
_BIGINT_UPTO = 1536


def _runNow(coro: Coroutine[Any, Any, None]) -> Union[None, Failure, "defer.Deferred[None]"]:
    """
    Run C{coro} until it first waits: None when it finished without
    waiting, its L{Failure} when it raised, else a Deferred that runs the
    rest (as C{Deferred.fromCoroutine} would have run it all).
    """
    try:
        waited = coro.send(None)
    except StopIteration:
        return None
    except BaseException:
        return Failure()
    return defer.Deferred.fromCoroutine(_rest(coro, waited))


def _rest(coro: Coroutine[Any, Any, None], waited: Any) -> Generator[Any, Any, None]:
    """
    The rest of a coroutine that L{_runNow} started, from where it waits
    on C{waited}: what C{_inlineCallbacks} sends or throws is passed on.
    """
    while True:
        try:
            value = yield waited
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as e:
            try:
                waited = coro.throw(e)
            except StopIteration:
                return
            continue
        try:
            waited = coro.send(value)
        except StopIteration:
            return


def _hopOptions(maxMessage: int) -> dict[str, Any]:
    """
    The Autobahn options both hops share: message and frame size limits,
    pings, close handshake.
    """
    return {
        "maxFramePayloadSize": maxMessage,
        "maxMessagePayloadSize": maxMessage,
        "autoPingInterval": PING_INTERVAL,
        "autoPingTimeout": PING_TIMEOUT,
        "failByDrop": False,
        "echoCloseCodeReason": True,
        "closeHandshakeTimeout": CLOSE_TIMEOUT,
        "tcpNoDelay": True,
    }


__all__ = ["WebSocketRelay", "UpstreamRefused", "UpstreamHandshakeFailed", "PING_INTERVAL"]

