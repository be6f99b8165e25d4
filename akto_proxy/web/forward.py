"""
Several instances as one proxy (SPEC section 8): a legacy HTTP+SSE POST that
lands on an instance that does not hold its session's stream is delivered,
through Redis pub/sub, to the instance that does, judged and relayed there as
if it had landed there, and its answer comes back to the client.

How a POST finds its stream: with C{redis:} configured, the C{endpoint}
event an instance rewrites for its client carries one more query parameter,
C{akto_sse=<instance id>} (stripped again before anything reaches an
upstream, as the credential parameter is).  An instance that gets a POST
naming another instance publishes it on that instance's channel
(C{<prefix>sse:<id>}); no Redis look-up per request, no per-session state in
Redis, nothing to clean up when a stream closes or an instance dies.

Where it is judged: on the holder.  The holder has the conversation (the
pending requests that the server's answers are matched to, the list
filters, the pins' view of that session), the stream that a refusal is
written to, and the key binding of the session; rate limits are shared
through Redis anyway.  The landing instance does what protects Redis and the
holder: the IP allowlist, the proxy URL, the API key (401 here), the
upstream fence and the roles' upstreams, the size bound.  The key itself
never crosses Redis: its name does, and the holder takes that key from its
own configuration.

Answers: the holder's whole HTTP answer (status, headers, body: the 202 of a
delivered or refused message, the 404 of a foreign session) is published
back on the landing instance's channel; the landing instance answers its
client with it, so the client gets 202 only when the holder accepted the
message.  When no instance listens on the holder's channel (it stopped),
the landing instance handles the POST itself, as a single instance does
today.  When Redis cannot be reached, C{redis.on_error.legacy_routing}
decides: C{open} handles it here, C{closed} answers 503.

Bounds: a body (and an answer) of at most C{redis.max_forward_body} (else
413); at most C{redis.max_forwards} forwards in flight from and to each
instance (else 503); a forward not answered within the upstream timeouts
(plus 2 s) is answered 504 and forgotten.
"""

from __future__ import annotations

import json
import os
from io import BytesIO
from typing import TYPE_CHECKING, Any, Optional

import attrs
from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.error import ConnectionAborted
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.http_headers import Headers

from akto_proxy.access.redisstate import RedisState, RedisUnavailable
from akto_proxy.relay.url import LEGACY_MARKER as MARKER, Target, stripCredential
from akto_proxy.web.admission import Admitted
from akto_proxy.web.channel import CappedRequest
from akto_proxy.web.proxy import Exchange

if TYPE_CHECKING:
    from akto_proxy.access.redisconn import Subscription
    from akto_proxy.service import ProxyService

log = Logger()

#: answer headers the landing instance sets itself
_OWN = frozenset((b"content-length", b"transfer-encoding", b"connection", b"x-akto-request-id"))

#: waited for a holder's answer beyond the upstream timeouts
_GRACE = 2.0


def _encode(header: dict[str, Any], body: bytes) -> bytes:
    return json.dumps(header, separators=(",", ":")).encode("utf-8") + b"\n" + body


def _decode(message: bytes) -> tuple[dict[str, Any], bytes]:
    head, _, body = message.partition(b"\n")
    header = json.loads(head)
    if not isinstance(header, dict):
        raise ValueError("not a forwarded message")
    return header, body


def _headerPairs(headers: Headers, skip: frozenset[bytes] = frozenset()) -> list[list[str]]:
    return [
        [name.decode("latin-1"), value.decode("latin-1")]
        for name, values in headers.getAllRawHeaders()
        if name.lower() not in skip
        for value in values
    ]


class LegacyRouter(Service):
    """
    The routing of legacy-SSE POSTs between instances: this instance's
    channel, the forwards it waits on, the forwarded POSTs it serves.
    """

    name = "legacy-routing"

    def __init__(self, service: "ProxyService", redis: RedisState, instance: Optional[str] = None):
        self.service = service
        self.redis = redis
        self.instance = instance or os.urandom(8).hex()
        self.channel = redis.key("sse", self.instance)
        #: forwards from here waiting for their answer, by id
        self._waiting: dict[str, "defer.Deferred[tuple[dict[str, Any], bytes]]"] = {}
        #: forwarded POSTs being served here
        self.serving = 0
        self._seq = 0
        self.subscription: Optional[Subscription] = None
        self.stats = {"forwarded": 0, "served": 0, "unheld": 0, "refused": 0, "timed_out": 0}

    @property
    def config(self) -> Any:
        return self.service.runtime.config.redis

    def startService(self) -> None:
        super().startService()
        self.subscription = self.redis.subscribe(self.channel, self._received)

    def whenSubscribed(self) -> "defer.Deferred[None]":
        """
        Fires once this instance listens on its channel (tests, health).
        """
        assert self.subscription is not None, "not started"
        return self.subscription.whenSubscribed()

    def stopService(self) -> None:
        super().stopService()
        waiting, self._waiting = self._waiting, {}
        for d in waiting.values():
            d.cancel()

    @property
    def inFlight(self) -> int:
        """
        Forwards from here waiting for their answer.
        """
        return len(self._waiting)

    def health(self) -> dict[str, Any]:
        """
        For C{/health}: this instance's id (the C{akto_sse} parameter of its
        streams' POST URLs), whether it listens on its channel, and what it
        forwarded and served.
        """
        return {
            "instance": self.instance,
            "subscribed": bool(self.subscription is not None and self.subscription.subscribed),
            "in_flight": self.inFlight,
            "serving": self.serving,
            **self.stats,
        }

    def marker(self) -> bytes:
        """
        The value of L{MARKER} in the POST URLs of this instance's streams.
        """
        return self.instance.encode("ascii")

    def claim(self, target: Target, forwarded: bool = False) -> tuple[Target, Optional[str]]:
        """
        A POST URL that may carry L{MARKER}: the target without it, and the
        instance it names when that is another one (None for this one, or
        for a POST another instance forwarded here: never forwarded twice).
        """
        query, holder = stripCredential(target.query, MARKER)
        if holder is None:
            return target, None
        target = attrs.evolve(target, query=query)
        name = holder.decode("latin-1")
        if forwarded or name == self.instance or not name.isalnum() or len(name) > 64:
            return target, None
        return target, name

    def timeout(self) -> float:
        up = self.service.runtime.config.upstreams
        return float(up.connect_timeout + up.read_timeout + _GRACE)

    # -- the landing instance

    async def forward(self, exchange: Exchange, admitted: Admitted) -> bool:
        """
        Deliver a POST to the instance that holds its stream and answer the
        client with that instance's answer.  False when no instance holds it
        (or Redis is down and C{on_error} is open): the caller handles it
        here, as a single instance would.
        """
        assert admitted.holder is not None
        cfg = self.config
        request = exchange.request
        content = request.content
        body = b""
        if content is not None:
            content.seek(0)
            body = content.read()
            content.seek(0)
        if len(body) > cfg.max_forward_body:
            exchange.respondError(
                413,
                f"request body too large to forward to the instance holding this session (redis.max_forward_body: {cfg.max_forward_body} bytes)",
                "payload_too_large",
            )
            return True
        if len(self._waiting) >= cfg.max_forwards:
            self.stats["refused"] += 1
            exchange.respondError(503, "too many forwarded requests in flight (redis.max_forwards)", "overloaded")
            return True
        rtc = self.service.runtime.config.access_control
        uri = request.uri
        if admitted.usedQueryCredential:
            path, _, query = uri.partition(b"?")
            kept, _ = stripCredential(query, rtc.query_parameter.encode("utf-8"))
            uri = path + (b"?" + kept if kept is not None else b"")
        peer = request.getClientAddress()
        self._seq += 1
        fid = f"{self.instance}.{self._seq}"
        header = {
            "t": "q",
            "id": fid,
            "from": self.instance,
            "rid": exchange.requestId,
            "m": request.method.decode("latin-1"),
            "u": uri.decode("latin-1"),
            "h": _headerPairs(request.requestHeaders, frozenset((rtc.header.lower().encode("latin-1"),))),
            "k": admitted.key.name,
            "c": [getattr(peer, "type", "TCP"), getattr(peer, "host", "unix"), getattr(peer, "port", 0)],
            "s": bool(request.isSecure()),
        }
        waiter: defer.Deferred[tuple[dict[str, Any], bytes]] = defer.Deferred()
        self._waiting[fid] = waiter
        channel = self.redis.key("sse", admitted.holder)
        payload = _encode(header, body)
        try:
            receivers = await self.redis.call(lambda c: c.publish(channel, payload))
        except RedisUnavailable as e:
            self._waiting.pop(fid, None)
            if cfg.onErrorFor("legacy_routing") == "closed":
                exchange.respondError(503, f"shared state unavailable (Redis: {e}): cannot reach the instance holding this session", "redis_unavailable")
                return True
            log.info("redis unavailable, legacy POST relayed from here: {error}", error=str(e), request_id=exchange.requestId)
            return False
        except BaseException:
            self._waiting.pop(fid, None)
            raise
        if exchange.finished:
            self._waiting.pop(fid, None)
            return True
        if not int(receivers):
            self._waiting.pop(fid, None)
            self.stats["unheld"] += 1
            log.info("no instance holds this legacy session ({holder}): relayed from here", holder=admitted.holder, request_id=exchange.requestId)
            return False
        self.stats["forwarded"] += 1
        waiter.addTimeout(self.timeout(), self.service.clock)
        exchange.pending = waiter
        try:
            answer, answerBody = await waiter
        except defer.TimeoutError:
            self.stats["timed_out"] += 1
            exchange.respondError(504, "the instance holding this session did not answer in time", "gateway_timeout")
            return True
        except defer.CancelledError:
            # the client went away, or this instance is stopping
            if not exchange.finished:
                exchange.respondError(503, "this instance is stopping: send the request again", "unavailable")
            return True
        finally:
            exchange.pending = None
            self._waiting.pop(fid, None)
        self._answer(exchange, admitted.holder, answer, answerBody)
        return True

    def _answer(self, exchange: Exchange, holder: str, answer: dict[str, Any], body: bytes) -> None:
        if exchange.finished:
            return
        exchange.outcome = "forwarded"
        exchange.reason = f"held by instance {holder}: {answer.get('rid')} {answer.get('o')}"
        if answer.get("ab"):
            exchange.abort("forwarded_aborted")
            return
        request = exchange.request
        status = int(answer["st"])
        exchange.status = status
        request.setResponseCode(status, str(answer.get("ph") or "").encode("latin-1") or None)
        out = request.responseHeaders
        for name, value in answer.get("h") or ():
            raw = name.encode("latin-1")
            if raw.lower() not in _OWN:
                out.addRawHeader(raw, value.encode("latin-1"))
        out.setRawHeaders(b"content-length", [str(len(body)).encode("ascii")])
        if request.method != b"HEAD":
            exchange.write(body)
        exchange.finish()

    # -- the channel

    def _received(self, message: bytes) -> None:
        try:
            header, body = _decode(message)
            kind = header.get("t")
        except (ValueError, UnicodeDecodeError):
            log.warn("malformed message on {channel}, ignored", channel=self.channel)
            return
        if kind == "a":
            waiter = self._waiting.pop(str(header.get("id")), None)
            if waiter is not None and not waiter.called:
                waiter.callback((header, body))
        elif kind == "q":
            self._serve(header, body)

    def _reply(self, request: dict[str, Any], answer: dict[str, Any], body: bytes = b"") -> None:
        answer["t"] = "a"
        answer["id"] = request.get("id")
        to = str(request.get("from"))
        if not to.isalnum():
            return
        channel = self.redis.key("sse", to)
        payload = _encode(answer, body)
        d = self.redis.call(lambda c: c.publish(channel, payload))
        d.addErrback(lambda f: log.warn("could not answer a forwarded legacy POST: {error}", error=f.getErrorMessage()))

    # -- the holder

    def _serve(self, header: dict[str, Any], body: bytes) -> None:
        cfg = self.config
        if self.serving >= cfg.max_forwards:
            self.stats["refused"] += 1
            self._reply(header, {"st": 503, "ph": "Service Unavailable", "o": "overloaded"}, b"")
            return
        try:
            capture = _Capture(self, header, cfg.max_forward_body)
            request = CappedRequest(capture, parsePOSTFormSubmission=False)  # type: ignore[no-untyped-call]
            capture.request = request
            request.method = str(header["m"]).encode("latin-1")
            request.uri = str(header["u"]).encode("latin-1")
            request.path = request.uri.split(b"?", 1)[0]
            request.clientproto = b"HTTP/1.0"  # an answer framed by its length, never chunked
            request.requestHeaders = Headers()
            for name, value in header.get("h") or ():
                request.requestHeaders.addRawHeader(name.encode("latin-1"), value.encode("latin-1"))
            kind, host, port = header["c"]
            address = IPv6Address if ":" in str(host) else IPv4Address
            request.client = address("TCP", str(host), int(port))
            request.host = address("TCP", "::1" if address is IPv6Address else "127.0.0.1", 0)
            request.content = BytesIO(body)  # type: ignore[assignment]
            keyName = str(header["k"])
        except (KeyError, TypeError, ValueError) as e:
            log.warn("malformed forwarded legacy POST, refused: {error}", error=str(e))
            self._reply(header, {"st": 400, "ph": "Bad Request", "o": "bad_forward"})
            return
        self.serving += 1
        self.stats["served"] += 1
        capture.timer = self.service.clock.callLater(self.timeout(), capture.abortConnection)
        exchange = Exchange(self.service, request, forwardedKey=keyName)
        capture.exchange = exchange
        log.info(
            "legacy POST forwarded by instance {instance}",
            instance=header.get("from"),
            forwarded_request_id=header.get("rid"),
            request_id=exchange.requestId,
        )
        exchange.start()

    def _served(self, capture: "_Capture") -> None:
        self.serving -= 1


class _Capture:
    """
    The channel (and transport) of a forwarded request served here: what
    the exchange answers is kept, up to a bound, and published back to the
    landing instance when the exchange finishes or aborts.
    """

    def __init__(self, router: LegacyRouter, header: dict[str, Any], limit: int):
        self.router = router
        self.header = header
        self.limit = limit
        self.transport = self
        self.site = None
        self.factory = None
        self.request: Any = None
        self.exchange: Optional[Exchange] = None
        self.timer: Any = None
        self.code = 0
        self.phrase = b""
        self.headers: list[list[str]] = []
        self.parts: list[bytes] = []
        self.size = 0
        self.done = False

    # the channel, as Request uses it

    def writeHeaders(self, version: bytes, code: bytes, reason: bytes, headers: Any) -> None:
        self.code = int(code)
        self.phrase = reason
        if not isinstance(headers, Headers):
            h = Headers()
            for name, value in headers:
                h.addRawHeader(name, value)
            headers = h
        self.headers = _headerPairs(headers)

    def write(self, data: bytes) -> None:
        if self.done:
            return
        self.size += len(data)
        if self.size > self.limit:
            log.info("answer to a forwarded legacy POST over redis.max_forward_body, aborted")
            self.abortConnection()
            return
        self.parts.append(data)

    def writeSequence(self, data: Any) -> None:
        for d in data:
            self.write(d)

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        pass  # bounded by the limit, kept in memory

    def unregisterProducer(self) -> None:
        pass

    def requestDone(self, request: Any) -> None:
        self._finish(False)

    def isSecure(self) -> bool:
        return bool(self.header.get("s"))

    def getPeer(self) -> Any:
        return self.request.client if self.request is not None else None

    def getHost(self) -> Any:
        return self.request.host if self.request is not None else None

    # the transport

    def abortConnection(self) -> None:
        if self.done:
            return
        request = self.request
        self._finish(True)
        if request is not None and not request.finished:
            request.connectionLost(Failure(ConnectionAborted()))  # type: ignore[no-untyped-call]

    loseConnection = abortConnection

    def _finish(self, aborted: bool) -> None:
        if self.done:
            return
        self.done = True
        if self.timer is not None and self.timer.active():
            self.timer.cancel()
        self.timer = None
        ex = self.exchange
        answer = {
            "st": self.code,
            "ph": self.phrase.decode("latin-1"),
            "h": self.headers,
            "ab": aborted,
            "rid": ex.requestId if ex is not None else None,
            "o": ex.outcome if ex is not None else None,
        }
        body = b"" if aborted else b"".join(self.parts)
        self.parts = []
        self.router._served(self)
        self.router._reply(self.header, answer, body)


__all__ = ["MARKER", "LegacyRouter"]
