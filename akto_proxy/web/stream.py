"""
Upstream bodies on their way to the client: collected whole when they are
judged whole (L{Collector}), streamed otherwise (L{BodyRelay}), SSE event by
event, each event judged by the pipeline and written as soon as it is
complete, in order.
"""

from __future__ import annotations

import io
import zlib
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, Union

from twisted.internet import defer, error as ierror
from twisted.internet.interfaces import IProtocol
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.client import PotentialDataLoss, ResponseDone
from twisted.web.iweb import IResponse
from zope.interface import implementer

from akto_proxy import compat
from akto_proxy.mcp.jsonrpc import decodeText, encode
from akto_proxy.mcp.session import Conversation
from akto_proxy.relay.rewrite import rewriteEndpoint
from akto_proxy.relay.sse import Event, SSEParser
from akto_proxy.relay.url import LEGACY_MARKER, addCredential, canonicalURL
from akto_proxy.relay.wire import TooLarge, failureKind, tokens
from akto_proxy.web import caching

if TYPE_CHECKING:
    from akto_proxy.web.proxy import Exchange

log = Logger()


def connectionTokens(response: IResponse) -> set[bytes]:
    """
    Header names the upstream listed in its C{Connection} header (hop-by-hop
    too).
    """
    return tokens(list(response.headers.getRawHeaders(b"connection") or []) + compat.connectionHeaderValues(response))


#: the size from which a collected body is gathered into one growing buffer
#: rather than a list of chunks, whose join would hold it twice at once
GATHER_FROM = 64 * 1024


class Collector(Protocol):
    """
    Collect a body up to a limit; beyond it, fail with L{TooLarge} and pause
    so that the caller may hand the rest over to a stream.

    A small body is a list of chunks, joined at the end; a large one (from
    L{GATHER_FROM}) is written into one buffer as it arrives, whose bytes
    are then taken without a copy: what the body costs while it is
    collected is about its size, not twice it (list and join).

    A large body may be watched as it arrives (C{watchFrom}, asked for a
    watch with the body's first byte when the body reaches L{GATHER_FROM}:
    L{akto_proxy.mcp.pipeline.Pipeline.watchUnread}): the watch is fed the
    bytes so far and then each chunk, ended when the body is whole (what it
    told of them is L{watch}'s) and closed when the body is given up.
    """

    def __init__(self, limit: int, watchFrom: Optional[Callable[[bytes], Any]] = None):
        self.limit = limit
        self.parts: list[bytes] = []
        self._buffer: Optional[io.BytesIO] = None
        self.size = 0
        self.done: "defer.Deferred[bytes]" = defer.Deferred(lambda d: self._cancel())
        self._over = False
        self._handedTo: Optional["BodyRelay"] = None
        self._lost: Optional[Failure] = None
        self._watchFrom = watchFrom
        #: the body's watch, fed as it arrives (None: not watched)
        self.watch: Any = None

    def _cancel(self) -> None:
        self._unwatch()
        if self.transport is not None:
            self.transport.stopProducing()

    def dataReceived(self, data: bytes) -> None:
        if self._handedTo is not None:
            self._handedTo.dataReceived(data)
            return
        self.size += len(data)
        buffer = self._buffer
        if buffer is not None:
            buffer.write(data)
            if self.watch is not None:
                self._feed((data,))
        else:
            self.parts.append(data)
            if self.size >= GATHER_FROM:
                self._buffer = buffer = io.BytesIO()
                for part in self.parts:
                    buffer.write(part)
                if self._watchFrom is not None:
                    self._startWatch()
                self.parts = []
        if self.size > self.limit and not self._over and not self.done.called:
            self._over = True
            self._unwatch()
            if self.transport is not None:
                self.transport.pauseProducing()
            self.done.errback(TooLarge())

    def _startWatch(self) -> None:
        watchFrom, self._watchFrom = self._watchFrom, None
        assert watchFrom is not None
        try:
            self.watch = watchFrom(next((part[:1] for part in self.parts if part), b""))
        except Exception:
            log.failure("large body not watched as it arrives")
            return
        if self.watch is not None:
            self._feed(self.parts)

    def _feed(self, chunks: Sequence[bytes]) -> None:
        """
        Feed the watch C{chunks}; one that fails is given up (the body is
        then judged whole, as it would be unwatched).
        """
        try:
            for chunk in chunks:
                self.watch.feed(chunk)
        except Exception:
            log.failure("watch of a large body failed; it is judged whole")
            self._unwatch()

    def _unwatch(self) -> None:
        watch, self.watch = self.watch, None
        if watch is not None:
            try:
                watch.close()
            except Exception:
                log.failure("watch of a large body not closed")

    def abandon(self) -> None:
        """
        Give up on the body (over the limit, refused): drop what was
        collected and close the upstream connection, rather than keep it
        paused, and the bytes held, for ever.
        """
        self.parts = []
        self._buffer = None
        self.size = 0
        self._unwatch()
        transport: Any = self.transport
        if transport is not None:
            transport.stopProducing()

    def prefix(self) -> bytes:
        return self._take()

    def _take(self) -> bytes:
        """
        What was collected, let go of.
        """
        buffer = self._buffer
        if buffer is not None:
            self._buffer = None
            return buffer.getvalue()  # its own bytes, not a copy, once it is let go
        parts = self.parts
        self.parts = []
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def handOver(self, relay: "BodyRelay") -> None:
        self._handedTo = relay
        relay.makeConnection(self.transport)
        if self._lost is not None:
            relay.connectionLost(self._lost)
        elif self.transport is not None:
            self.transport.resumeProducing()

    def connectionLost(self, reason: Failure = ierror.ConnectionDone()) -> None:  # type: ignore[assignment]
        if self._handedTo is not None:
            self._handedTo.connectionLost(reason)
            return
        if self._over:
            self._lost = reason
            return
        if self.done.called:
            return  # cancelled: the client went away before the body was complete
        if reason.check(ResponseDone, PotentialDataLoss):
            if self.watch is not None:
                try:
                    self.watch.end()
                except Exception:
                    log.failure("watch of a large body failed; it is judged whole")
                    self._unwatch()
            self.done.callback(self._take())  # the body is held once while it is judged
        else:
            self._unwatch()
            self.done.errback(reason)


@implementer(IProtocol)
class BodyRelay:
    """
    Stream an upstream body to the client with backpressure (the upstream
    transport is the client request's producer); for SSE, each event is
    judged and written as soon as it is complete, in order.

    Slotted, its deadlines (idle, keepalive) plain times woken by the
    service's one L{Deadlines} timer: thousands of SSE streams are held at
    once, and each costs what it keeps.

    @ivar legacyURL: for a legacy HTTP+SSE stream, the session's POST URL
        (canonical, to find the stream by), once its C{endpoint} event came.
    @ivar postURL: that URL as the upstream wrote it (resolved), where the
        proxy sends its answers to the server's requests.
    @ivar keyDigest: the key that opened the stream (reload closes streams
        whose key changed).
    """

    __slots__ = (
        "exchange",
        "sse",
        "parser",
        "transport",
        "connected",
        "legacyURL",
        "postURL",
        "keyDigest",
        "wakeAt",
        "_decoder",
        "_queue",
        "_busy",
        "_closed",
        "_upstreamDone",
        "_idleAt",
        "_keepaliveAt",
        "_producerRegistered",
    )

    def __init__(self, exchange: "Exchange", sse: bool, encoding: bytes):
        self.exchange = exchange
        self.sse = sse
        rt = exchange.rt
        self.parser = SSEParser(rt.config.limits.max_inspected_response) if sse else None
        self._decoder: Any = None
        if sse and encoding in (b"gzip", b"x-gzip"):
            self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif sse and encoding == b"deflate":
            self._decoder = zlib.decompressobj()
        self.transport: Any = None
        self.connected = 0
        #: events waiting their turn (None when there are none: an empty
        #: deque costs more than half a kilobyte)
        self._queue: Optional[deque[Event]] = None
        self._busy = False
        self._closed = False
        self._upstreamDone = False
        #: when the upstream counts as idle, when a keepalive is due
        self._idleAt: Optional[float] = None
        self._keepaliveAt: Optional[float] = None
        self.wakeAt: Optional[float] = None
        self.legacyURL: Optional[tuple[Any, ...]] = None
        self.postURL: Optional[bytes] = None
        self.keyDigest: Optional[bytes] = None
        self._producerRegistered = False

    @property
    def conversation(self) -> Conversation:
        return self.exchange.conversation

    # -- connection to upstream

    def makeConnection(self, transport: Any) -> None:
        self.connected = 1
        self.transport = transport
        self.connectionMade()

    def connectionMade(self) -> None:
        ex = self.exchange
        if ex.finished:
            self.transport.stopProducing()
            return
        ex.request.registerProducer(self.transport, True)
        self._producerRegistered = True
        self._resetIdle()
        if self.sse:
            self._resetKeepalive()

    def _resetIdle(self) -> None:
        timeout = self.exchange.rt.config.upstreams.idle_timeout
        if not timeout:
            return
        ex = self.exchange
        self._idleAt = ex.clock.seconds() + timeout
        ex.service.deadlines.wake(self, self._idleAt)

    def _resetKeepalive(self) -> None:
        interval = self.exchange.rt.config.upstreams.sse_keepalive
        if not interval:
            return
        ex = self.exchange
        self._keepaliveAt = ex.clock.seconds() + interval
        ex.service.deadlines.wake(self, self._keepaliveAt)

    def due(self, now: float) -> Optional[float]:
        """
        Woken by the service's L{Deadlines}: time the upstream out, or send
        a keepalive, when due; the next deadline.
        """
        if self._closed:
            return None
        if self._idleAt is not None and self._idleAt <= now:
            self._idleAt = None
            self._idleTimeout()
            if self._closed:
                return None
        if self._keepaliveAt is not None and self._keepaliveAt <= now:
            self._keepaliveAt = None
            self._sendKeepalive()
        if self._closed:
            return None
        idle, keepalive = self._idleAt, self._keepaliveAt
        if idle is None:
            return keepalive
        return idle if keepalive is None or idle < keepalive else keepalive

    def _sendKeepalive(self) -> None:
        if self._closed or self.exchange.finished:
            return
        if self.parser is not None and self.parser.pending == 0 and not self._queue:
            self.exchange.write(b": keepalive\n\n")
        self._resetKeepalive()

    def _idleTimeout(self) -> None:
        log.info("upstream stream idle, closing", request_id=self.exchange.requestId)
        self.exchange.outcome = "idle_timeout"
        self.stopUpstream()
        # an SSE stream ends between events; a body cut short must not look whole
        self._close(None if self.sse else "idle_timeout")

    def stopUpstream(self) -> None:
        if self.transport is not None:
            try:
                self.transport.stopProducing()
            except Exception:
                pass

    def dataReceived(self, data: bytes) -> None:
        if self._closed:
            return
        self._resetIdle()
        if not self.sse:
            self.exchange.write(data)
            return
        if self._decoder is not None:
            try:
                data = self._decoder.decompress(data)
            except zlib.error:
                log.info("upstream SSE stream could not be decoded, closing", request_id=self.exchange.requestId)
                self.stopUpstream()
                self._close()
                return
        assert self.parser is not None
        events = self.parser.feed(data)
        if events:
            if self._queue is None:
                self._queue = deque(events)
            else:
                self._queue.extend(events)
            self._drain()

    def connectionLost(self, reason: Failure = ierror.ConnectionDone()) -> None:  # type: ignore[assignment]
        self._upstreamDone = True
        if not reason.check(ResponseDone, PotentialDataLoss, defer.CancelledError):
            log.info(
                "upstream stream ended: {why}",
                why=reason.getErrorMessage(),
                request_id=self.exchange.requestId,
            )
            if not self.sse:
                # A body cut short: the client must see a failure, never a
                # clean end (a terminating chunk, or a Content-Length it
                # would wait on).  SSE is relayed in whole events: its
                # client sees the stream end between two, and reconnects.
                self.exchange.upstreamError = failureKind(reason)
                self._close("upstream_truncated")
                return
        if not self._busy:
            self._close()

    def _close(self, abort: Optional[str] = None) -> None:
        """
        End the stream: the client's response finished, or with C{abort}
        (the outcome to record), its connection aborted.
        """
        if self._closed:
            return
        self._closed = True
        self._idleAt = self._keepaliveAt = None
        ex = self.exchange
        ex.service.deadlines.forget(self)
        if self._producerRegistered and not ex.finished:
            ex.request.unregisterProducer()
        self._producerRegistered = False
        ex.service.streamClosed(self)
        if abort is not None:
            ex.abort(abort)
        else:
            ex.finish()

    def close(self) -> None:
        """
        Close both sides (reload removed the key, shutdown).
        """
        self.stopUpstream()
        self._close()

    # -- events

    def emit(self, event: Event) -> None:
        self.exchange.write(event.raw)

    def inject(self, event: Event) -> None:
        """
        Add an answer of the proxy's own to this stream, in order.
        """
        if self._queue is None:
            self._queue = deque()
        self._queue.append(event)
        self._drain()

    def _drain(self) -> None:
        queue = self._queue
        while queue and not self._busy and not self._closed:
            event = queue.popleft()
            d = self._handle(event)
            if isinstance(d, defer.Deferred):
                box: list[Any] = []
                d.addBoth(box.append)
                if box:
                    self._written(box[0])
                    continue
                self._busy = True
                if self.transport is not None:
                    self.transport.pauseProducing()

                def resumed(_: Any) -> None:
                    self._busy = False
                    if self._closed:
                        return
                    self._written(box[0])
                    if self.transport is not None and not self._upstreamDone:
                        self.transport.resumeProducing()
                    self._drain()
                    if self._upstreamDone and not self._busy and not self._queue:
                        self._close()

                d.addBoth(resumed)
                return
            self._written(d)
        if not queue and self._queue is queue:
            self._queue = None
        if self._upstreamDone and not self._busy and not self._queue:
            self._close()

    def _written(self, result: Any) -> None:
        if isinstance(result, Failure):
            log.failure("SSE event handling failed", result, request_id=self.exchange.requestId)
            self.stopUpstream()
            self._close()
            return
        if result:
            self.exchange.write(result)
            if self.sse:
                self._resetKeepalive()

    def _handle(self, event: Event) -> Union[bytes, "defer.Deferred[bytes]"]:
        ex = self.exchange
        if event.isComment or event.oversize:
            if event.oversize and ex.rt.config.limits.oversize == "block":
                log.info("SSE event over max_inspected_response, closing the stream", request_id=ex.requestId)
                ex.outcome = "response_too_large"
                self.stopUpstream()
                self._close()
                return b""
            return event.raw
        if event.event == "endpoint" and event.data is not None:
            return self._endpoint(event)
        ex.rt = ex.service.runtime  # each new message is judged by the current configuration
        if not ex.rt.pipeline.judgesServer or event.data is None:
            return event.raw
        return defer.Deferred.fromCoroutine(self._judge(event))

    def _endpoint(self, event: Event) -> bytes:
        ex = self.exchange
        assert ex.target is not None and event.data is not None
        cfg = ex.rt.config.access_control
        cred = ex.credential if ex.usedQueryCredential else None
        sseURL = ex.upstreamURL().decode("latin-1")
        back = ex.route.back if ex.route is not None else None
        rewritten, resolved = rewriteEndpoint(event.data, sseURL, ex.origin(), cfg.query_parameter, cred, back)
        router = ex.service.router
        if router is not None and rewritten != event.data:
            # which instance holds this stream, for POSTs that land elsewhere
            rewritten = addCredential(rewritten, LEGACY_MARKER.decode("ascii"), router.marker())
        # POSTs name the session by the URL the client was given
        self.legacyURL = canonicalURL(back(resolved) if back is not None else resolved)
        self.postURL = resolved.encode("latin-1")
        if ex.ctx is not None:
            ex.ctx.transport = "legacy"
            # the session is the stream's: its POSTs name this endpoint
            ex.ctx.conversation.endpoint = ex.target.origin + ex.target.path.decode("latin-1")
        ex.service.legacyOpened(self)
        return event.withData(rewritten).raw

    async def _judge(self, event: Event) -> bytes:
        ex = self.exchange
        assert event.data is not None and ex.ctx is not None
        message = decodeText(event.data)
        if ex.cacheSlot is not None:
            caching.storeEvent(ex, message, event.data)
        verdict = await ex.rt.pipeline.judgeServer(ex.ctx, message, "sse")
        if verdict.replies:
            ex.answerServer(verdict.replies, self.postURL if self.postURL is not None else ex.upstreamURL())
        if verdict.unchanged:
            return event.raw
        if verdict.refused or not verdict.forward:
            return b""
        if message.rpc:
            return event.withData(encode(verdict.forwardValue()).decode("utf-8")).raw
        new = verdict.forward[0]
        return event.withData(encode(new.value).decode("utf-8") if new.json else (new.text or "")).raw


__all__ = ["GATHER_FROM", "BodyRelay", "Collector", "connectionTokens"]
