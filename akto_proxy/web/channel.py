"""
Strict HTTP/1.1 on the client side, as nginx and Envoy are: ambiguous framing
refused, header size and count capped, slow clients timed out, bodies capped
as they arrive.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any, Optional

from twisted.internet.interfaces import IDelayedCall
from twisted.logger import Logger
from twisted.protocols import basic
from twisted.web import http, server
from twisted.web.http_headers import Headers
from twisted.web.iweb import INonQueuedRequestFactory

from akto_proxy import compat
from akto_proxy.relay.http import appendFields
from akto_proxy.relay.transport import setNoDelay
from akto_proxy.web import answers
from akto_proxy.mcp.answers import REFUSAL_CODE, metadata, rpcError
from akto_proxy.mcp.events import ExchangeEvent
from akto_proxy.mcp.jsonrpc import encode
from akto_proxy.observe.logs import rfc3339
from akto_proxy.web.answers import envelope

if TYPE_CHECKING:
    from akto_proxy.service import ProxyService

log = Logger()

# the request line HTTPChannel accepts (twisted.web.http._parseRequestLine):
# a token, a target of bytes 0x21 to 0xB0, HTTP/1.0 or HTTP/1.1
_REQUEST_LINE = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\xb0]+) (HTTP/1\.[01])")
# the bytes of a token (RFC 9110 section 5.6.2): a header field's name
_TOKEN = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


#: bound once (twisted.web.http is a module proxy, slow to look in)
_requestDone = http.HTTPChannel.requestDone


class StrictChannel(http.HTTPChannel):
    """
    L{HTTPChannel} that also refuses obs-fold, bare CR or LF inside lines or
    ending them, C{Transfer-Encoding} other than C{chunked}, and requests
    whose headers do not arrive within C{client_header_timeout}.
    """

    # Lines are split at LF, so that a line ending in a bare LF is seen as
    # soon as it arrives (and refused), rather than waited on for a CRLF
    # that a client speaking bare LF never sends; the CR is checked and
    # taken off in lineReceived.
    delimiter = b"\n"

    # One timer per connection, re-armed rather than re-created for each
    # request: it waits for the headers, then for the body, then, between
    # requests, for the next one (C{client_keepalive_timeout}: "idle");
    # disarmed, it fires as a no-op, or is re-armed first.
    _timer: Optional[IDelayedCall]
    _waitingFor: Optional[str]
    #: when an idle keep-alive connection is closed
    _idleUntil: float
    _inHeaders: bool
    _hostAddress: Any
    _secure: Optional[bool]

    # Each connection holding an SSE stream keeps its channel: what it sets
    # (Twisted's, without class defaults, and ours) goes in slots, which
    # keeps the instance dict below its next resize.
    __slots__ = (
        "_timer", "_waitingFor", "_idleUntil", "_inHeaders", "_hostAddress", "_secure",
        "_dataBuffer", "_handlingRequest", "_networkProducer", "_transferDecoder", "requests", "site",
        "_requestProducer", "_requestProducerStreaming",
    )

    def __init__(self) -> None:
        self._timer = None
        self._waitingFor = None
        self._idleUntil = 0.0
        self._inHeaders = False
        self._hostAddress = None
        self._secure = None
        self._requestProducer = None
        self._requestProducerStreaming = None
        super().__init__()

    @property
    def _service(self) -> "ProxyService":
        return self.site.service  # type: ignore[attr-defined,no-any-return]

    def connectionMade(self) -> None:
        limits = self._service.runtime.config.limits
        self.maxHeaders = limits.max_headers
        self.totalHeadersSize = limits.max_header_bytes
        # a line's length, as LineReceiver measures it, now includes its CR
        self.MAX_LENGTH = limits.max_header_bytes + 1
        super().connectionMade()
        setNoDelay(self.transport)
        self._startHeaderTimer()

    def getHost(self) -> Any:
        # asked for by every request (a getsockname call): it cannot change
        if self._hostAddress is None:
            self._hostAddress = super().getHost()
        return self._hostAddress

    def isSecure(self) -> bool:
        if self._secure is None:
            self._secure = super().isSecure()
        return self._secure

    def dataReceived(self, data: bytes) -> None:
        if self._waitingFor == "idle":
            # the next request begins: its head must come within
            # client_header_timeout (unless it came whole)
            self._waitingFor = None
            if not (compat.WHOLE_HEADS and self._wholeHead(data)):
                self._startHeaderTimer()
                super().dataReceived(data)
            return
        if not (compat.WHOLE_HEADS and self._wholeHead(data)):
            super().dataReceived(data)

    def _wholeHead(self, data: bytes) -> bool:
        """
        Take a request whose head arrived whole in C{data}, at the start of
        a request, in one pass rather than line by line; the rest of
        C{data} (its body) follows as usual.  Only a head with nothing for
        a strict parser to refuse or to choose between is taken this way
        (well-formed fields within the size and count limits, at most one
        Content-Length, no Transfer-Encoding): anything else is left to
        L{lineReceived}, which answers it as before.  What this does is what
        HTTPChannel does for such a head, in fewer steps.

        @return: whether C{data} was taken.
        """
        transport: Any = self.transport
        if not self.persistent or transport is None or transport.disconnecting or not compat.channelBetweenRequests(self):
            return False
        end = data.find(b"\r\n\r\n")
        if end <= 0 or end > self.MAX_LENGTH or end > self.totalHeadersSize:
            return False
        eol = data.find(b"\r\n")
        line = _REQUEST_LINE.fullmatch(data, 0, eol)
        if line is None:
            return False
        # header fields as RFC 9110 writes them, and nothing else: a token,
        # a colon, a value without NUL, CR or LF (no obs-fold, no bare CR or
        # LF: each line's CRLF is the only CR and LF there is)
        fields = data[eol + 2 : end + 2] if eol < end else b""
        lines = fields.split(b"\r\n")
        lines.pop()  # after the last CRLF
        count = len(lines)
        if count > self.maxHeaders or fields.count(b"\n") != count or fields.count(b"\r") != count or b"\x00" in fields:
            return False
        pairs = []
        length = None
        for field in lines:
            name, colon, value = field.partition(b":")
            if not (colon and name) or name.translate(None, _TOKEN):
                return False
            value = value.strip(b" \t")
            pairs.append((name, value))
            lname = name.lower()
            if lname == b"content-length":
                if length is not None or not value.isdigit():
                    return False
                length = int(value)
            elif lname == b"transfer-encoding":
                return False

        # from here on, as HTTPChannel.dataReceived and lineReceived would
        self.resetTimeout()
        factory = self.requestFactory
        request = factory(self) if INonQueuedRequestFactory.providedBy(factory) else factory(self, len(self.requests))
        self.requests.append(request)
        command, path, version = line.groups()
        compat.installHead(self, request, command, path, version, pairs, end, length)
        self.allHeadersReceived()
        if self.length == 0:
            self.allContentReceived()
        else:
            self.setRawMode()
        rest = data[end + 4 :]
        if rest and not transport.disconnecting:
            basic.LineReceiver.dataReceived(self, rest)
        return True

    def _startHeaderTimer(self) -> None:
        self._inHeaders = True
        self._arm(self._service.runtime.config.limits.client_header_timeout, "headers")

    def _arm(self, timeout: float, what: str) -> None:
        if not timeout:
            self._waitingFor = None
            return
        self._waitingFor = what
        timer = self._timer
        reactor = self._service.clock
        if timer is not None and timer.active():
            if timer.getTime() <= reactor.seconds() + timeout:
                timer.reset(timeout)  # later: Twisted moves it lazily
                return
            timer.cancel()  # sooner would be a linear search of the heap
        self._timer = reactor.callLater(timeout, self._expired)

    def _expired(self) -> None:
        self._timer = None
        what, self._waitingFor = self._waitingFor, None
        if what == "idle":
            self._stillIdle()
        elif what is not None:
            self._slow(what)

    def _stillIdle(self) -> None:
        transport: Any = self.transport
        if transport is None or transport.disconnecting:
            return
        service = self._service
        left = self._idleUntil - service.clock.seconds()
        if left > 0:
            self._arm(self._idleStep(service.runtime.config.limits, left), "idle")
            return
        # as nginx: closed without an answer (no request is waiting for one)
        transport.loseConnection()

    def _disarm(self) -> None:
        # the timer stays scheduled: re-armed by the next request, or a no-op
        self._waitingFor = None

    def _stopTimer(self) -> None:
        self._waitingFor = None
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _slow(self, what: str) -> None:
        request = self.requests[-1] if self.requests and what == "the body" else None
        self.refuseHead(f"client too slow sending {what}", 408, "request_timeout", request)

    def lineReceived(self, line: bytes) -> None:
        if line[-1:] != b"\r":
            return self.refuseHead("request lines must end in CRLF, not a bare LF")
        line = line[:-1]
        if b"\r" in line:
            return self.refuseHead("a bare CR inside a request line or header")
        if line[:1] in (b" ", b"\t") and self._inHeaders and self.requests:
            # obs-fold (RFC 9112 section 5.2): refuse rather than unfold
            return self.refuseHead("folded header lines (obs-fold) are not accepted")
        if not self._inHeaders and line:
            self._startHeaderTimer()
        return super().lineReceived(line)  # type: ignore[no-any-return]

    def headerReceived(self, line: bytes) -> bool:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"transfer-encoding" and value.strip().lower() != b"chunked":
            self.refuseHead("Transfer-Encoding other than chunked")  # refused, not guessed at
            return False
        return super().headerReceived(line)  # type: ignore[no-any-return]

    def allHeadersReceived(self) -> None:
        self._disarm()
        self._inHeaders = False
        super().allHeadersReceived()
        if self.length != 0 and self.requests and not getattr(self.requests[-1], "_refused", False):
            self._arm(self._service.runtime.config.limits.client_body_timeout, "the body")

    def allContentReceived(self) -> None:
        self._disarm()
        super().allContentReceived()

    def requestDone(self, request: Any) -> None:
        _requestDone(self, request)
        # Answered, and the connection kept: close it if no request begins
        # within client_keepalive_timeout (nginx's keepalive_timeout), so
        # that idle clients cannot hold the proxy's file descriptors
        # (unless a request was pipelined behind this one and has begun).
        if self._waitingFor is not None or not self.persistent or self.requests:
            return
        transport: Any = self.transport
        if transport is None or transport.disconnecting:
            return
        service = self.site.service  # type: ignore[attr-defined]
        limits = service.runtime.config.limits
        timeout = limits.client_keepalive_timeout
        if not timeout:
            return
        clock = service.clock
        self._idleUntil = until = clock.seconds() + timeout
        self._waitingFor = "idle"
        # Once per request, so as cheap as can be: a timer still scheduled
        # (the body's, most often) is kept, and when it fires the connection
        # is closed, or the timer re-armed for the time left (_stillIdle).
        # A new timer is armed for at most the body timeout, so that the
        # next request's body timer is a cheap reset to a later time.
        timer: Any = self._timer  # a DelayedCall: its called and cancelled, read without a call
        if timer is None or timer.called or timer.cancelled:
            self._timer = clock.callLater(self._idleStep(limits, timeout), self._expired)
        elif (timeout < limits.client_body_timeout or timeout < limits.client_header_timeout) and timer.getTime() > until:
            timer.reset(timeout)  # a keep-alive timeout shorter than the others

    @staticmethod
    def _idleStep(limits: Any, left: float) -> float:
        step = limits.client_body_timeout or limits.client_header_timeout
        return min(left, step) if step else left

    def writeHeaders(self, version: bytes, code: bytes, reason: bytes, headers: Any) -> None:
        """
        As L{HTTPChannel.writeHeaders}, the head as one string: Twisted
        hands the transport a sequence of some thirty pieces, each checked
        on its own, and joins them again before sending.
        """
        if not isinstance(headers, Headers):
            return super().writeHeaders(version, code, reason, headers)  # type: ignore[no-any-return]
        head = [version, b" ", code, b" ", reason, b"\r\n"]
        appendFields(head, headers)
        head.append(b"\r\n")
        self.transport.write(b"".join(head))  # type: ignore[union-attr]

    def connectionLost(self, reason: Any) -> None:
        self._stopTimer()
        super().connectionLost(reason)

    def lineLengthExceeded(self, line: bytes) -> None:
        self.refuseHead("request head too large (limits.max_header_bytes)", 400, "header_too_large")

    def refuseHead(self, message: str, status: int = 400, code: str = "bad_request", request: Any = None, rpc: bool = False) -> None:
        """
        Refuse what the proxy will not parse or wait for, before (or
        without) a request to answer: C{status} with the envelope and a
        request id, the connection closed, and an exchange record (access
        line, audit, metrics) with the client's address and, when its
        headers came, the key's name.

        @param rpc: the request is JSON-RPC (as far as its head tells): the
            body is the C{-31001} JSON-RPC error (id null: the body was not
            read), which MCP clients show, rather than the envelope.
        """
        transport: Any = self.transport
        if transport is None or transport.disconnecting:
            return
        rid = answers.newRequestId()
        if rpc:
            data = metadata(rid, (), ())
            data["reason"] = message
            body = encode(rpcError(None, REFUSAL_CODE, f"Blocked by akto-proxy: {message}", data))
        else:
            body = envelope(status, message, rid, code)
        client = getattr(transport.getPeer(), "host", "?")
        log.info("request refused before relaying: {reason}", reason=message, request_id=rid, client=client, status=status)
        self._stopTimer()
        phrase = {400: b"Bad Request", 408: b"Request Timeout", 413: b"Payload Too Large", 431: b"Request Header Fields Too Large"}.get(status, b"Error")
        transport.write(
            b"HTTP/1.1 %d %s\r\n" % (status, phrase)
            + b"content-type: application/json\r\n"
            b"connection: close\r\n"
            b"x-akto-request-id: " + rid.encode("ascii") + b"\r\n"
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n\r\n" + body
        )
        transport.loseConnection()
        self._record(rid, status, code, message, client, request)

    def _record(self, rid: str, status: int, code: str, message: str, client: str, request: Any) -> None:
        service = self._service
        key = None
        command = compat.requestCommand(self)
        method = command.decode("latin-1") if command else None
        if request is not None:
            credential = request.requestHeaders.getRawHeaders(service.runtime.config.access_control.header.encode("latin-1"))
            found = service.runtime.keys.lookup(credential[-1] if credential else None)
            key = found.name if found is not None else None
        fields = {
            "timestamp": rfc3339(time.time()),
            "request_id": rid,
            "key": key,
            "client": client,
            "method": method,
            "rpc_method": None,
            "name": None,
            "upstream": None,
            "status": status,
            "bytes": 0,
            "latency_ms": 0.0,
            "transport": "http",
            "upstream_ms": None,
            "upstream_error": None,
            "outcome": code,
            "reason": message,
            "blocked": False,
            "threats_detected": [],
            "guardrails_applied": [],
        }
        service.bus.publish(ExchangeEvent(fields, f"{method or '-'} (refused before relaying) {status} {code}"))

    def _respondToBadRequestAndDisconnect(self) -> None:
        # Twisted's answer to what it will not parse (too many headers, a
        # bad request line, a bad chunk...): the proxy's, with a record
        self.refuseHead("malformed request (framing, request line or headers)")


class CappedRequest(server.Request):
    """
    A request whose body is refused with 413 as soon as its declared length
    or the bytes received exceed C{limits.max_request_body}, without reading
    (or buffering) the rest.
    """

    _refused = False
    _received = 0

    # A held SSE stream keeps its request: what Twisted sets without a class
    # default goes in slots (its instance dict stays below its next resize).
    __slots__ = (
        "_adapterCache", "_parsePOSTFormSubmission", "channel", "client", "cookies", "host", "notifications",
        "queued", "received_cookies", "requestHeaders", "responseHeaders", "sitepath", "streamingProducer",
        "transport", "producer",
    )

    def __init__(self, *args: Any, **kw: Any) -> None:
        self.producer = None
        super().__init__(*args, **kw)

    def _limit(self) -> int:
        return self.channel.site.service.runtime.config.limits.max_request_body  # type: ignore[no-any-return]

    def gotLength(self, length: Optional[int]) -> None:
        if length is not None and length > self._limit():
            self._refuse()
            return
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:
        if self._refused:
            return
        self._received += len(data)
        if self._received > self._limit():
            self._refuse()
            return
        super().handleContentChunk(data)

    def _refuse(self) -> None:
        self._refused = True
        channel = self.channel
        headers = self.requestHeaders
        ctype = b",".join(headers.getRawHeaders(b"content-type") or [])
        accept = b",".join(headers.getRawHeaders(b"accept") or [])
        rpc = b"application/json" in ctype.lower() and (
            b"text/event-stream" in accept.lower() or headers.hasHeader(b"mcp-protocol-version") or headers.hasHeader(b"mcp-session-id")
        )
        channel.refuseHead(f"request body too large (limits.max_request_body: {self._limit()} bytes)", 413, "payload_too_large", self, rpc)
        channel.dataReceived = lambda data: None  # type: ignore[method-assign]
        self.content = None  # type: ignore[assignment]

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        if self._refused:
            return
        super().requestReceived(command, path, version)

    def render(self, resrc: Any) -> None:
        # no "Server: TwistedWeb/<version>" on any answer (Request.process
        # sets it just before rendering): a version is an attacker's hint
        self.responseHeaders.removeHeader(b"server")
        super().render(resrc)

    def getHeader(self, key: Any) -> Any:
        """
        As L{server.Request.getHeader}; a value asked for as text that is
        not UTF-8 (any byte may come in a header) refuses the request with
        400 (L{answers.Refused}) instead of raising UnicodeDecodeError.
        """
        try:
            value = self.requestHeaders.getRawHeaders(key)
        except UnicodeDecodeError:
            name = key if isinstance(key, str) else key.decode("latin-1")
            raise answers.Refused(400, f"request header {name} is not valid UTF-8", "bad_request") from None
        if value is not None:
            return value[-1]
        return None


class ProxySite(server.Site):
    protocol = StrictChannel
    requestFactory = CappedRequest
    displayTracebacks = False
    noisy = False

    def __init__(self, resource: Any, service: "ProxyService"):
        # the proxy relays bodies; it never parses HTML form submissions
        super().__init__(resource, reactor=service.reactor, timeout=None, parsePOSTFormSubmission=False)
        self.service = service

    def log(self, request: Any) -> None:
        pass
