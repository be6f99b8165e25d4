"""
Strict HTTP/1.1 on the client side, as nginx and Envoy are: ambiguous framing
refused, header size and count capped, slow clients timed out, bodies capped
as they arrive.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Optional

from twisted.internet.interfaces import IDelayedCall
from twisted.logger import Logger
from twisted.protocols import basic
from twisted.web import http, server
from twisted.web.iweb import INonQueuedRequestFactory

from akto_proxy import compat
from akto_proxy.relay.transport import setNoDelay
from akto_proxy.web import answers
from akto_proxy.web.answers import envelope

if TYPE_CHECKING:
    from akto_proxy.service import ProxyService

log = Logger()

# the request line HTTPChannel accepts (twisted.web.http._parseRequestLine):
# a token, a target of bytes 0x21 to 0xB0, HTTP/1.0 or HTTP/1.1
_REQUEST_LINE = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\xb0]+) (HTTP/1\.[01])")
# header fields as RFC 9110 writes them, and nothing else: a token, a colon,
# a value without NUL, CR or LF; no obs-fold, no bare CR or LF
_FIELDS = re.compile(rb"(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\x00\r\n]*\r\n)*")
_FIELD = re.compile(rb"([^:]+):[ \t]*([^\r\n]*?)[ \t]*\r\n")


class StrictChannel(http.HTTPChannel):
    """
    L{HTTPChannel} that also refuses obs-fold, bare CR or LF inside lines,
    C{Transfer-Encoding} other than C{chunked}, and requests whose headers
    do not arrive within C{client_header_timeout}.
    """

    # One timer per connection, re-armed rather than re-created for each
    # request: it waits for the headers, then for the body; between requests
    # it is disarmed (it fires as a no-op, or is re-armed first).
    _timer: Optional[IDelayedCall] = None
    _waitingFor: Optional[str] = None
    _inHeaders = False
    _hostAddress: Any = None
    _secure: Optional[bool] = None

    @property
    def _service(self) -> "ProxyService":
        return self.site.service  # type: ignore[attr-defined,no-any-return]

    def connectionMade(self) -> None:
        limits = self._service.runtime.config.limits
        self.maxHeaders = limits.max_headers
        self.totalHeadersSize = limits.max_header_bytes
        self.MAX_LENGTH = limits.max_header_bytes
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
        fields = data[eol + 2 : end + 2] if eol < end else b""
        if line is None or (fields and _FIELDS.fullmatch(fields) is None):
            return False
        pairs = _FIELD.findall(fields)
        if len(pairs) > self.maxHeaders:
            return False
        length = None
        for name, value in pairs:
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
        if what is not None:
            self._slow(what)

    def _disarm(self) -> None:
        # the timer stays scheduled: re-armed by the next request, or a no-op
        self._waitingFor = None

    def _stopTimer(self) -> None:
        self._waitingFor = None
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _slow(self, what: str) -> None:
        log.info("client too slow sending {what}, closing", what=what, client=str(self.transport.getPeer()))
        if self.transport is not None:
            self.transport.write(
                b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"
            )
            self.transport.loseConnection()

    def lineReceived(self, line: bytes) -> None:
        if b"\r" in line or b"\n" in line:
            return compat.respondBadRequest(self)
        if line[:1] in (b" ", b"\t") and self._inHeaders and self.requests:
            # obs-fold (RFC 9112 section 5.2): refuse rather than unfold
            return compat.respondBadRequest(self)
        if not self._inHeaders and line:
            self._startHeaderTimer()
        return super().lineReceived(line)  # type: ignore[no-any-return]

    def headerReceived(self, line: bytes) -> bool:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"transfer-encoding" and value.strip().lower() != b"chunked":
            compat.respondBadRequest(self)  # any coding but chunked: refused, not guessed at
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

    def connectionLost(self, reason: Any) -> None:
        self._stopTimer()
        super().connectionLost(reason)

    def lineLengthExceeded(self, line: bytes) -> None:
        compat.respondBadRequest(self)


class CappedRequest(server.Request):
    """
    A request whose body is refused with 413 as soon as its declared length
    or the bytes received exceed C{limits.max_request_body}, without reading
    (or buffering) the rest.
    """

    _refused = False
    _received = 0

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
        rid = answers.newRequestId()
        body = envelope(413, "request body too large", rid, "payload_too_large")
        log.info("request body too large, refused", request_id=rid, uri=self.uri[:200] if hasattr(self, "uri") else b"")
        transport = self.channel.transport
        transport.write(
            b"HTTP/1.1 413 Payload Too Large\r\n"
            b"content-type: application/json\r\n"
            b"connection: close\r\n"
            b"x-akto-request-id: " + rid.encode("ascii") + b"\r\n"
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n\r\n" + body
        )
        self.channel._stopTimer()
        self.channel.dataReceived = lambda data: None  # type: ignore[method-assign]
        transport.loseConnection()
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
