"""
The HTTP transport: a leaf resource at C{/proxy} (and
C{/.well-known/.../proxy}) and the L{Exchange} of one client request.  It
admits the request (L{akto_proxy.web.admission}), decodes its body, has the
pipeline judge it (L{akto_proxy.mcp.pipeline}), relays it upstream, has the
pipeline judge the answer, and frames every decision as HTTP: Streamable
HTTP (a JSON body or an SSE event), legacy HTTP+SSE (202 here, the answer on
the session's stream), plain HTTP (a status and the brief's envelope).  A
WebSocket upgrade is admitted here and handed to L{akto_proxy.web.ws}.
"""

from __future__ import annotations

import math
import time
import zlib
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.http_headers import Headers
from twisted.web.iweb import IResponse
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from akto_proxy import compat
from akto_proxy.config.model import ApiKey
from akto_proxy.inspect.chain import Finding, plainReason
from akto_proxy.mcp.answers import PARSE_ERROR, rpcError
from akto_proxy.mcp.cache import Slot
from akto_proxy.mcp.events import ExchangeEvent
from akto_proxy.mcp.jsonrpc import INVALID_REQUEST, Body, decode, encode, fromJSON, notUnicode
from akto_proxy.mcp.pipeline import URL, Context, Verdict
from akto_proxy.mcp.session import Conversation
from akto_proxy.observe.logs import rfc3339
from akto_proxy.relay.fallback import ANY, NEVER, UNSENT, Chain, Route, retryRule, unsent
from akto_proxy.relay.fence import hostMatches
from akto_proxy.relay.http import BytesProducer
from akto_proxy.relay.rewrite import rewriteLocation, rewriteResource, rewriteWWWAuthenticate, upstreamWellKnown
from akto_proxy.relay.sse import makeEvent
from akto_proxy.relay.transport import sendNow
from akto_proxy.relay.url import Target
from akto_proxy.relay.wire import (
    BINARY_TYPES,
    HOP_BY_HOP,
    TooLarge,
    decodeBody,
    discard,
    narrowAcceptEncoding,
    requestSkip,
    tokens,
    failureKind,
    upstreamFailure,
)
from akto_proxy.web.admission import Admitted, Refusal, admit, judgeURL
from akto_proxy.web import answers, caching
from akto_proxy.web.answers import envelope
from akto_proxy.web.clients import clientAddress, publicOrigin, trustedForwardedFor
from akto_proxy.web.slices import sendWhole
from akto_proxy.web.stream import BodyRelay, Collector, connectionTokens

if TYPE_CHECKING:
    from akto_proxy.runtime import Runtime
    from akto_proxy.service import ProxyService

log = Logger()

# names of the headers the proxy sets upstream, as Headers writes them
_HOST = compat.canonicalName(b"host")
_X_FORWARDED_FOR = compat.canonicalName(b"x-forwarded-for")
_X_FORWARDED_PROTO = compat.canonicalName(b"x-forwarded-proto")
_X_FORWARDED_HOST = compat.canonicalName(b"x-forwarded-host")
_REQUEST_ID = compat.canonicalName(b"x-akto-request-id")
_IF_NONE_MATCH = compat.canonicalName(b"if-none-match")

_DECODABLE = (b"", b"identity", b"gzip", b"x-gzip", b"deflate")


#: reason phrases Twisted's table lacks (RFC 6585, RFC 9110)
REASONS = {421: b"Misdirected Request", 429: b"Too Many Requests", 431: b"Request Header Fields Too Large"}


def acceptsJSON(request: Request) -> bool:
    accept = (request.getHeader("accept") or "").lower()
    return not accept or "application/json" in accept or "*/*" in accept or "text/event-stream" not in accept


def encodeBody(body: Body) -> bytes:
    """
    A body that is not JSON-RPC, as bytes again (after a redaction).
    """
    if body.json:
        return encode(body.value)
    return body.encoded()


class ProxyResource(Resource):
    """
    Leaf at C{/proxy}: the path is parsed from the raw C{request.uri}, never
    from the decoded C{postpath}.
    """

    isLeaf = True

    def __init__(self, service: "ProxyService", wellKnown: Optional[str] = None):
        super().__init__()
        self._service = service
        self._wellKnown = wellKnown

    def render(self, request: Request) -> Union[bytes, int]:
        Exchange(self._service, request, self._wellKnown).start()
        return NOT_DONE_YET


def _oneLine(value: str) -> bytes:
    """
    A header value the proxy wrote, as C{setRawHeaders} would keep it: line
    breaks made spaces.
    """
    return b" ".join(value.encode("latin-1").splitlines())


def forgetHeaders(headers: Headers) -> None:
    """
    Drop every value of C{headers} (what a held stream no longer reads).
    """
    for name in [name for name, _ in headers.getAllRawHeaders()]:
        headers.removeHeader(name)


class Exchange:
    """
    One client request through the proxy (slotted: a held SSE stream keeps
    its exchange for as long as it lasts).

    @ivar ctx: the pipeline's context, once admitted.
    """

    __slots__ = (
        "service", "forwardedKey", "rt", "request", "transport", "wellKnown", "clock", "requestId", "started",
        "finished", "status", "bytesOut", "transportName", "reason", "upstreamMs", "upstreamError", "target",
        "route", "attempts", "answeredBy", "sessionBound", "body", "credential", "usedQueryCredential", "ctx",
        "_outcome", "pending", "stream", "legacy", "_origin", "_client", "batchRefusals", "cacheSlot",
        "cacheOutcome",
    )

    def __init__(
        self, service: "ProxyService", request: Request, wellKnown: Optional[str] = None, forwardedKey: Optional[str] = None
    ):
        self.service = service
        #: a legacy-SSE POST another instance admitted and forwarded here:
        #: the name of its key
        self.forwardedKey = forwardedKey
        self.rt: "Runtime" = service.runtime
        self.request = request
        self.transport = request.channel.transport  # a finished Request forgets its channel
        self.wellKnown = wellKnown
        self.clock = service.clock
        self.requestId = answers.newRequestId()
        self.started = self.clock.seconds()
        self.finished = False
        self.status = 0
        self.bytesOut = 0
        #: http, sse (an answer streamed as events) or ws
        self.transportName = "http"
        #: why the proxy answered in its own name (an error or refusal)
        self.reason: Optional[str] = None
        #: from the request sent upstream to the response head
        self.upstreamMs: Optional[float] = None
        #: what went wrong upstream, in one word (L{failureKind})
        self.upstreamError: Optional[str] = None
        #: the upstream the client named
        self.target: Optional[Target] = None
        #: the fallback upstream the request went to (None: the one named)
        self.route: Optional[Route] = None
        #: the upstreams tried before the answer, in a fallback chain
        #: (each {"upstream", "error"}), or None outside one
        self.attempts: Optional[list[dict[str, Any]]] = None
        #: in a fallback chain, the upstream whose answer was relayed
        self.answeredBy: Optional[str] = None
        #: the request belongs to the upstream that holds its session
        self.sessionBound = False
        #: the decoded request body (what decides a retry)
        self.body: Optional[Body] = None
        self.credential: Optional[bytes] = None
        self.usedQueryCredential = False
        self.ctx: Optional[Context] = None
        self._outcome = "relayed"
        self.pending: Optional["defer.Deferred[Any]"] = None
        self.stream: Optional[BodyRelay] = None
        self.legacy: Optional[BodyRelay] = None
        self._origin: Optional[str] = None
        self._client: Optional[str] = None
        # answers for refused entries of a batch, merged into the upstream's answer
        self.batchRefusals: list[Any] = []
        #: a cacheable request's place in the response cache
        self.cacheSlot: Optional[Slot] = None
        #: hit, miss or revalidated (the access line, X-Akto-Cache)
        self.cacheOutcome: Optional[str] = None

    # -- what the access line reports

    @property
    def key(self) -> Optional[ApiKey]:
        return self.ctx.key if self.ctx is not None else None

    @key.setter
    def key(self, key: ApiKey) -> None:
        if self.ctx is not None:
            self.ctx.key = key

    @property
    def outcome(self) -> str:
        return self.ctx.outcome if self.ctx is not None else self._outcome

    @outcome.setter
    def outcome(self, value: str) -> None:
        if self.ctx is not None:
            self.ctx.outcome = value
        else:
            self._outcome = value

    @property
    def conversation(self) -> Conversation:
        assert self.ctx is not None
        return self.ctx.conversation

    # -- plumbing

    def start(self) -> None:
        self.request.setHeader(b"x-akto-request-id", self.requestId.encode("ascii"))
        self.request.notifyFinish().addBoth(self._clientDone)
        self.service.exchangeStarted(self)
        d = defer.Deferred.fromCoroutine(self._run())
        d.addErrback(self._crashed)

    def _clientDone(self, result: Any) -> None:
        self.finished = True
        if not isinstance(result, Failure):
            if self.service.sendEagerly():
                sendNow(self.transport)  # the answer first, then the bookkeeping
        else:
            if self.outcome == "relayed":
                self.outcome = "client_closed"
            if self.pending is not None:
                self.pending.cancel()
            if self.stream is not None:
                self.stream.stopUpstream()
        self.service.exchangeDone(self)
        self._accessLog()

    def _crashed(self, failure: Failure) -> None:
        if failure.check(defer.CancelledError) and self.finished:
            return
        if failure.check(answers.Refused) and not self.finished and not self.request.startedWriting:
            refused: answers.Refused = failure.value  # type: ignore[assignment]
            log.info("request refused: {reason}", reason=refused.message, request_id=self.requestId)
            return self.respondError(refused.status, refused.message, refused.code)
        log.failure("relay failed", failure, request_id=self.requestId)
        if not self.finished and not self.request.startedWriting:
            self.respondError(502, "internal relay error", "proxy_error")
        elif not self.finished:
            self.finish()

    def finish(self) -> None:
        if not self.finished:
            self.finished = True
            self.request.finish()

    def abort(self, outcome: str) -> None:
        """
        End the client's connection at once, without a clean end of its
        response (a body cut short upstream must not look complete), and
        record C{outcome}.
        """
        if self.finished:
            return
        self.finished = True
        self.outcome = outcome
        log.info("response cut short, client connection aborted: {outcome}", outcome=outcome, request_id=self.requestId)
        transport = self.transport
        abort = getattr(transport, "abortConnection", None)
        if abort is not None:
            abort()
        elif transport is not None:
            transport.loseConnection()

    def write(self, data: bytes) -> None:
        if not self.finished and data:
            self.bytesOut += len(data)
            self.request.write(data)

    def respond(self, status: int, body: bytes, contentType: bytes = b"application/json", headers: Optional[dict[bytes, bytes]] = None) -> None:
        if self.finished:
            return
        self.status = status
        # the standard reason phrase where Twisted knows none (429 was
        # "Unknown Status")
        self.request.setResponseCode(status, REASONS.get(status))
        self.request.setHeader(b"content-type", contentType)
        self.request.setHeader(b"content-length", str(len(body)).encode("ascii"))
        self.request.setHeader(b"cache-control", b"no-store")
        for k, v in (headers or {}).items():
            self.request.setHeader(k, v)
        if self.request.method != b"HEAD":
            self.write(body)
        self.finish()

    def respondError(
        self,
        status: int,
        message: str,
        code: Optional[str] = None,
        threats: Sequence[Finding] = (),
        headers: Optional[dict[bytes, bytes]] = None,
    ) -> None:
        if self.outcome == "relayed":
            self.outcome = code or str(status)
        self.reason = message
        self.respond(status, envelope(status, message, self.requestId, code, threats), headers=headers)

    def _accessLog(self) -> None:
        latency = (self.clock.seconds() - self.started) * 1000.0
        status = self.status or self.request.code
        ctx = self.ctx
        fields = {
            "timestamp": rfc3339(time.time()),
            "request_id": self.requestId,
            "key": ctx.keyName if ctx is not None else None,
            "client": self.clientAddress,
            "method": self.request.method.decode("latin-1"),
            "rpc_method": ctx.rpcMethod if ctx is not None else None,
            "name": ctx.rpcName if ctx is not None else None,
            "upstream": self.target.display() if self.target else None,
            "status": status,
            "bytes": self.bytesOut,
            "latency_ms": round(latency, 3),
            "transport": self.transportName,
            "upstream_ms": round(self.upstreamMs, 3) if self.upstreamMs is not None else None,
            "upstream_error": self.upstreamError,
            "cache": self.cacheOutcome,
            "outcome": self.outcome,
            "reason": self.reason or (ctx.reason if ctx is not None else None),
            "blocked": ctx.blocked if ctx is not None else False,
            "threats_detected": [f.asJSON() for f in ctx.findings] if ctx is not None else [],
            "guardrails_applied": list(ctx.guardrails) if ctx is not None else [],
        }
        if self.attempts is not None:
            # in a fallback chain: which upstream answered, what failed first
            fields["upstream_used"] = self.answeredBy
            fields["fallback"] = self.route is not None
            fields["upstream_attempts"] = self.attempts
        message = f"{fields['method']} {fields['upstream']} {status} {self.outcome}"
        self.service.bus.publish(ExchangeEvent(fields, message))

    # -- the request

    @property
    def clientAddress(self) -> str:
        address = self._client
        if address is None:
            address = self._client = clientAddress(self.request, self.rt.config)
        return address

    def origin(self) -> str:
        if self._origin is None:
            self._origin = publicOrigin(self.request, self.rt.config)
        return self._origin

    @property
    def upstreamId(self) -> str:
        assert self.target is not None
        return self.target.origin

    async def _run(self) -> None:
        request = self.request
        # request headers the relay reads are read as bytes: any byte may
        # come in one (and str keys cost a decoding each time)
        upgrades = request.requestHeaders.getRawHeaders(b"upgrade")
        upgrade = upgrades is not None and upgrades[-1].lower() == b"websocket"
        admitted = admit(self.service, self.rt, request, self.requestId, self.clientAddress, self.wellKnown, upgrade, self.forwardedKey)
        if isinstance(admitted, defer.Deferred):
            admitted = await admitted
        if isinstance(admitted, Refusal):
            return self._refused(admitted)
        self.target = admitted.target
        self.route = admitted.route
        self.sessionBound = admitted.session is not None or admitted.legacy is not None
        self.credential = admitted.credential
        self.usedQueryCredential = admitted.usedQueryCredential
        self.legacy = admitted.legacy
        admitted.ctx.outcome = self._outcome
        self.ctx = admitted.ctx
        if upgrade:
            return await self.service.relayWebSocket(self)
        router = self.service.router
        if admitted.holder is not None and router is not None and await router.forward(self, admitted):
            return
        await self._relayHTTP(admitted)

    def _refused(self, refusal: Refusal) -> None:
        if refusal.ctx is not None and self.ctx is None:
            self.ctx = refusal.ctx
            self.target = refusal.ctx.target
        if refusal.outcome is not None:
            self.outcome = refusal.outcome
        self.respondError(refusal.status, refusal.message, refusal.code, refusal.threats, refusal.headers)

    async def _relayHTTP(self, admitted: Admitted) -> None:
        cfg = self.rt.config
        request = self.request
        body = request.content.read() if request.content is not None else b""
        headers = request.requestHeaders
        encoding = headers.getRawHeaders(b"content-encoding")
        decoded = body
        if encoding and body:
            try:
                decoded = decodeBody(body, encoding[-1], cfg.limits.max_request_body)
            except TooLarge:
                return self.respondError(413, "request body too large when decoded", "payload_too_large")
            except (ValueError, zlib.error) as e:
                return self.respondError(400, f"cannot decode request body: {e}", "bad_request")
        contentType = headers.getRawHeaders(b"content-type")
        message = decode(decoded, contentType[-1].decode("latin-1").lower() if contentType else "")
        if message.malformed:
            self.outcome = "parse_error"
            return self.respond(400, encode(rpcError(None, PARSE_ERROR, "Parse error")))
        # A lone surrogate comes from a \u escape, or from bytes that are
        # not ASCII (json.loads takes them with surrogatepass): an ASCII body
        # without a backslash, the common case, holds none.
        if message.rpc and (b"\\" in decoded or not decoded.isascii()):
            field = notUnicode(decoded, message)
            if field is not None:
                self.outcome = "invalid_request"
                single = message.single
                msgId = single.get("id") if single is not None and field != "id" else None
                reason = f"Invalid Request: its {field} is not valid Unicode (a lone surrogate)"
                return self._answerRPC(400, rpcError(msgId, INVALID_REQUEST, reason))
        ctx = admitted.ctx
        pipeline = self.rt.pipeline
        single = message.single
        if single is None and pipeline.stagesFor(URL):
            # the URL judged on its own (with a single JSON-RPC message, it
            # is judged with the message, in one pass)
            refusal = await judgeURL(self.rt, admitted)
            if refusal is not None:
                return self._refused(refusal)
        verdict = await pipeline.judgeClient(ctx, message, admitted.strings if single is not None else ())
        self.body = message
        if verdict.unchanged:
            if self.service.cache.enabled:
                entry = caching.lookup(self, message)
                if entry is not None and self.cacheSlot is not None and self.cacheSlot.stale is None:
                    return await caching.serve(self, entry, "hit")
            return await self.relay(body, False)
        if verdict.refused:
            return self._refuseHTTP(verdict)
        if not verdict.forward:
            if verdict.replies:
                return self._answerRPC(verdict.status, verdict.replyValue(), verdict.retryAfter)
            return self._accepted()  # a refused notification is dropped
        if not message.rpc:
            return await self.relay(encodeBody(verdict.forward[0]), True)
        if message.batch:
            self.batchRefusals = verdict.replies
        await self.relay(encode(verdict.forwardValue()), True)

    def _refuseHTTP(self, verdict: Verdict) -> None:
        """
        A body that is not JSON-RPC, refused: a status and the envelope.
        """
        headers = None
        if verdict.retryAfter is not None:
            headers = {b"retry-after": str(verdict.retryAfter).encode("ascii")}
        if verdict.label == "rate_limited":
            code = "rate_limited"
            message = verdict.reason or "rate limit exceeded"
        else:
            code = "inspection_error" if verdict.label == "inspection_error" else "threat_blocked"
            threats = tuple(self.ctx.findings) if self.ctx is not None else ()
            if code == "threat_blocked" and threats:
                message = f"blocked by policy: {plainReason(threats, 'the request body')}"
            else:
                message = f"blocked by policy: {verdict.reason}"
        threats = tuple(self.ctx.findings) if self.ctx is not None else ()
        self.respondError(verdict.status, message, code, threats, headers)

    def _answerRPC(self, status: int, answer: Any, retryAfter: Optional[int] = None) -> None:
        """
        Answer in JSON-RPC: on a legacy SSE session, 202 here and the answer
        on the session's stream (its client hangs on any other status);
        else JSON, or one SSE event for a client that accepts only SSE.
        """
        legacy = self.legacy
        if legacy is not None:
            legacy.inject(makeEvent(encode(answer).decode("utf-8"), "message"))
            self.respond(202, b"Accepted", b"text/plain; charset=utf-8")
            return
        headers = {b"retry-after": str(retryAfter).encode("ascii")} if retryAfter is not None else None
        if acceptsJSON(self.request):
            self.respond(status, encode(answer), headers=headers)
        else:
            self.respond(status, makeEvent(encode(answer).decode("utf-8"), "message").raw, b"text/event-stream", headers)

    def _accepted(self) -> None:
        self.respond(202, b"", b"text/plain; charset=utf-8")

    # -- upstream

    def upstreamHeaders(self, dropEncoding: bool) -> Headers:
        """
        The client's headers as the upstream gets them: hop-by-hop ones,
        the proxy's key and what the proxy sets itself dropped,
        C{Accept-Encoding} narrowed, C{Host} the upstream's, forwarding
        headers added.
        """
        assert self.target is not None
        cfg = self.rt.config
        request = self.request
        incoming = request.requestHeaders
        xForwarded = cfg.upstreams.x_forwarded
        skip = requestSkip(cfg.access_control.header, xForwarded)
        connection = incoming.getRawHeaders(b"connection")
        if connection:
            skip = skip | tokens(connection)
        # the client's values (no CR or LF: the channel refused them) and
        # values made of them, by name as Headers writes them
        fields: dict[bytes, list[bytes]] = {}
        for name, values in incoming.getAllRawHeaders():
            lname = name.lower()
            if lname in skip:
                continue
            if lname == b"accept-encoding":
                values = [narrowAcceptEncoding(b", ".join(values))]
            elif lname == b"content-encoding" and dropEncoding:
                continue
            fields[name] = list(values)
        fields[_HOST] = [self.upstreamTarget.authority.encode("ascii")]
        if xForwarded:
            peer = getattr(request.getClientAddress(), "host", "unix")
            proto = b"https" if request.isSecure() else b"http"
            host = incoming.getRawHeaders(b"host")
            prior = trustedForwardedFor(request, cfg) if cfg.access_control.trusted_proxies else []
            if prior:
                fields[_X_FORWARDED_FOR] = [", ".join(prior + [peer]).encode("latin-1")]
                forwarded = incoming.getRawHeaders(b"x-forwarded-proto")
                if forwarded and forwarded[-1] in (b"http", b"https"):
                    proto = forwarded[-1]
                forwardedHost = incoming.getRawHeaders(b"x-forwarded-host")
                if forwardedHost:
                    host = forwardedHost
            else:
                fields[_X_FORWARDED_FOR] = [peer.encode("latin-1")]
            fields[_X_FORWARDED_PROTO] = [proto]
            if host:
                fields[_X_FORWARDED_HOST] = [host[-1]]
        fields[_REQUEST_ID] = [self.requestId.encode("ascii")]
        slot = self.cacheSlot
        if slot is not None and slot.stale is not None and slot.stale.etag is not None:
            fields[_IF_NONE_MATCH] = [slot.stale.etag]
        return compat.headersOf(fields)

    @property
    def upstreamTarget(self) -> Target:
        """
        The upstream the request goes to: the one the client named, or the
        fallback it was routed to.
        """
        assert self.target is not None
        return self.target if self.route is None else self.route.apply(self.target)

    def upstreamURL(self) -> bytes:
        target = self.upstreamTarget
        if self.wellKnown is not None:
            return upstreamWellKnown(self.wellKnown, target)
        return target.upstreamURL()

    async def relay(self, body: bytes, dropEncoding: bool) -> None:
        fallbacks = self.rt.fallbacks
        chain = fallbacks.chainFor(self.target) if fallbacks and self.target is not None else None
        if chain is not None:
            return await self._relayChain(chain, body, dropEncoding)
        result = await self._send(body, dropEncoding)
        if result is None:
            return
        if isinstance(result, tuple):
            return self._upstreamFailed(*result)
        self.service.upstreamOK(self.target)
        await self.respondWith(result)

    async def _relayChain(self, chain: Chain, body: bytes, dropEncoding: bool) -> None:
        """
        Relay to the first upstream of the chain that answers: the one the
        client named, then its alternates in order (L{akto_proxy.relay.
        fallback}).  A request of an established session goes only to the
        upstream that holds it.  Upstreams whose circuit is open are
        skipped, and so are alternates the fence or the key's roles do not
        let through.
        """
        rt = self.rt
        cfg = rt.config.upstreams
        breakers = self.service.breakers
        target = self.target
        assert target is not None and self.ctx is not None
        body_ = self.body
        rpcMethods = [str(m.get("method") or "") for m in body_.rpc] if body_ is not None and body_.rpc else None
        rule = retryRule(self.request.method, rpcMethods, self.sessionBound)
        routes: list[Optional[Route]] = [self.route] if rule == NEVER else [None, *chain.routes]
        attempts: list[dict[str, Any]] = []
        self.attempts = attempts
        key = self.ctx.key

        def usable(route: Optional[Route]) -> Optional[str]:
            """
            Why C{route} is skipped, or None.
            """
            upstream = target if route is None else route.apply(target)
            if route is not None and not (hostMatches(upstream.host, cfg.allow) and rt.roles.reaches(key, upstream.host)):
                return "not_allowed"
            return None if breakers.available(upstream.origin) else "circuit_open"

        last: Optional[tuple[Failure, bool]] = None
        lastRoute: Optional[Route] = None
        for i, route in enumerate(routes):
            if self.finished:
                return
            self.route = route
            upstream = self.upstreamTarget
            origin = upstream.origin
            skipped = usable(route)
            if skipped is None and not breakers.acquire(origin):
                skipped = "circuit_open"
            if skipped is not None:
                attempts.append({"upstream": upstream.display(), "error": skipped})
                continue
            later = [r for r in routes[i + 1 :] if usable(r) is None]
            try:
                result = await self._send(body, dropEncoding)
            except BaseException:
                breakers.released(origin)  # never leave a probe pending
                raise
            if result is None:
                breakers.released(origin)
                return
            if isinstance(result, tuple):
                failure, timedOut = result
                kind = failureKind(failure, timedOut)
                self.upstreamError = kind
                attempts.append({"upstream": upstream.display(), "error": kind})
                if kind == "fence":
                    breakers.released(origin)  # the fence's refusal, not the upstream's failure
                else:
                    self._countFailure(upstream, kind)
                last, lastRoute = result, route
                if later and (rule == ANY or (rule == UNSENT and unsent(failure))):
                    continue
                return self._upstreamFailed(failure, timedOut, counted=True)
            response = result
            if response.code in cfg.fallback_statuses:
                self._countFailure(upstream, f"status {response.code}")
                attempts.append({"upstream": upstream.display(), "error": f"status {response.code}"})
                if later and rule == ANY:
                    discard(response)
                    continue
            else:
                breakers.succeeded(origin)
                self.service.upstreamOK(upstream)
            self.answeredBy = upstream.display()
            if route is not None:
                log.info(
                    "answered by fallback {upstream} for {named}",
                    upstream=upstream.display(),
                    named=target.display(),
                    request_id=self.requestId,
                )
            return await self.respondWith(response)
        self.route = lastRoute
        if last is not None:
            return self._upstreamFailed(*last, counted=True)
        # every upstream of the chain skipped
        wait = min((breakers.retryAfter((target if r is None else r.apply(target)).origin) for r in routes), default=0.0)
        self.upstreamError = "circuit_open"
        names = ", ".join(a["upstream"] + " (" + a["error"].replace("_", " ") + ")" for a in attempts)
        log.warn("no upstream available for {upstream}: {skipped}", upstream=target.display(), skipped=names, request_id=self.requestId)
        self.respondError(
            503,
            f"upstream unavailable: {names}" + ("; its session cannot move to another upstream" if rule == NEVER else ""),
            "upstream_unavailable",
            headers={b"retry-after": str(max(1, math.ceil(wait))).encode("ascii")},
        )

    def _countFailure(self, upstream: Target, kind: str) -> None:
        """
        An upstream of a fallback chain failed: its circuit, the health
        counters, the alert.
        """
        if self.service.breakers.failed(upstream.origin, kind):
            log.warn(
                "circuit of upstream {upstream} opened: {error}",
                upstream=upstream.origin,
                error=kind,
                request_id=self.requestId,
            )
        self.service.upstreamFailed(upstream, kind)

    async def _send(self, body: bytes, dropEncoding: bool) -> Union[None, IResponse, tuple[Failure, bool]]:
        """
        Send the request to L{upstreamTarget}: its response, or its failure
        and whether it timed out, or None when the client went away (a
        response is then discarded).
        """
        rt = self.rt
        method = self.request.method
        headers = self.upstreamHeaders(dropEncoding)
        producer: Optional[BytesProducer] = None
        if body or method in (b"POST", b"PUT", b"PATCH"):
            producer = BytesProducer(body)
        timedOut = []

        def timeout() -> None:
            timedOut.append(True)
            if self.pending is not None:
                self.pending.cancel()

        cfg = rt.config.upstreams
        timer = self.clock.callLater(cfg.connect_timeout + cfg.read_timeout, timeout)
        sentAt = self.clock.seconds()
        self.pending = self.service.agent.request(method, self.upstreamURL(), headers, producer)
        try:
            response: IResponse = await self.pending
        except Exception as e:
            failure = Failure(e)
            if timer.active():
                timer.cancel()
            self.pending = None
            if self.finished:
                return None
            return failure, bool(timedOut)
        finally:
            self.pending = None
        self.upstreamMs = (self.clock.seconds() - sentAt) * 1000.0
        if timer.active():
            timer.cancel()
        if self.finished:
            discard(response)
            return None
        return response

    def _upstreamFailed(self, failure: Failure, timedOut: bool, counted: bool = False) -> None:
        """
        @param counted: the failure was counted already (in a fallback chain).
        """
        upstream = self.upstreamTarget.display() if self.target else "?"
        status, message, code = upstreamFailure(failure, timedOut)
        self.upstreamError = failureKind(failure, timedOut)
        if status != 403:
            if not counted:
                self.service.upstreamFailed(self.target, self.upstreamError)
            log.warn("upstream {upstream} failed: {error}", upstream=upstream, error=message, request_id=self.requestId)
        self.respondError(status, message, code)

    async def respondWith(self, response: IResponse) -> None:
        assert self.target is not None
        request = self.request
        rt = self.rt
        credName = rt.config.access_control.query_parameter
        cred = self.credential if self.usedQueryCredential else None
        upstream = self.upstreamTarget
        back = self.route.back if self.route is not None else None
        # the upstream's headers to relay, by lower-case name (copied to the
        # client's response once the answer is known)
        headers: dict[bytes, tuple[bytes, Sequence[bytes]]] = {}
        connection = connectionTokens(response)
        for name, values in response.headers.getAllRawHeaders():
            lname = name.lower()
            if lname in HOP_BY_HOP or lname in connection:
                continue
            # (values as Headers keeps them: no CR or LF, rewritten ones too)
            if lname == b"location":
                values = [_oneLine(rewriteLocation(v.decode("latin-1"), upstream, self.origin(), credName, cred, back)) for v in values]
            elif lname == b"www-authenticate":
                values = [_oneLine(rewriteWWWAuthenticate(v.decode("latin-1"), upstream, self.origin(), back)) for v in values]
            elif lname == b"x-akto-request-id" or lname == b"x-akto-cache":
                continue
            headers[lname] = (name, values)
        slot = self.cacheSlot
        if slot is not None:
            if response.code == 304 and slot.stale is not None:
                discard(response)
                return await caching.serve(self, caching.revalidated(self, headers), "revalidated")
            caching.answered(self, response.code, headers)
        ctype = headers[b"content-type"][1][0].lower() if b"content-type" in headers else b""
        encoding = b",".join(headers[b"content-encoding"][1]).strip().lower() if b"content-encoding" in headers else b""
        self.status = response.code
        self._trackSession(response)
        request.setResponseCode(response.code, response.phrase)
        noBody = request.method == b"HEAD" or response.code in (204, 304) or 100 <= response.code < 200
        if noBody:
            self._copyHeaders(headers)
            discard(response)
            self.finish()
            return
        if ctype.startswith(b"text/event-stream"):
            headers.pop(b"content-length", None)
            if encoding not in (b"", b"identity"):
                headers.pop(b"content-encoding", None)
            headers[b"x-accel-buffering"] = (b"X-Accel-Buffering", [b"no"])
            if b"cache-control" not in headers:
                headers[b"cache-control"] = (b"Cache-Control", [b"no-cache"])
            self._copyHeaders(headers)
            # the client has its answer's head now, not with the first event
            # (a quiet stream's first event may be minutes away)
            self.request.write(b"")
            relay = BodyRelay(self, sse=True, encoding=encoding)
            self.transportName = "sse"
            for r in self.batchRefusals:
                relay.emit(makeEvent(encode(r).decode("utf-8"), "message"))
            self.stream = relay
            self.service.streamOpened(relay)
            response.deliverBody(relay)
            # the stream keeps its upstream response (the client parser holds
            # it) for as long as it lasts: its head and the request's are
            # copied and sent, never read again
            forgetHeaders(response.headers)
            forgetHeaders(response.request.headers)
            return
        look = rt.pipeline.judgesServer or bool(self.batchRefusals) or slot is not None
        binary = ctype.startswith(BINARY_TYPES) or not ctype and not look
        if binary or (not look and not self.wellKnown):
            # nothing to inspect: stream as is
            self._copyHeaders(headers)
            if isinstance(response.length, int) and not encoding:
                request.setHeader(b"content-length", str(response.length).encode("ascii"))
            relay = BodyRelay(self, sse=False, encoding=b"")
            self.stream = relay
            response.deliverBody(relay)
            return
        if encoding not in _DECODABLE:
            discard(response)
            self.status = 0
            return self.respondError(502, f"upstream used an encoding the proxy cannot inspect ({encoding.decode('latin-1')})", "bad_gateway")
        limit = rt.config.limits.max_inspected_response
        collector = Collector(limit)
        self.pending = collector.done
        response.deliverBody(collector)
        try:
            raw = await collector.done
        except Exception as e:
            self.pending = None
            if self.finished or not (isinstance(e, TooLarge) and rt.config.limits.oversize == "pass"):
                collector.abandon()  # nothing more of this body will be read
            if self.finished:
                return
            if isinstance(e, TooLarge):
                if rt.config.limits.oversize == "pass":
                    self._copyHeaders(headers)
                    self.write(collector.prefix())
                    relay = BodyRelay(self, sse=False, encoding=b"")
                    self.stream = relay
                    collector.handOver(relay)
                    return
                self.status = 0
                return self.respondError(502, "upstream response exceeds max_inspected_response", "response_too_large")
            self.status = 0
            return self.respondError(502, "upstream response failed mid-body", "bad_gateway")
        self.pending = None
        if self.finished:
            return
        try:
            decoded = decodeBody(raw, encoding, limit)
        except TooLarge:
            if rt.config.limits.oversize == "pass":
                self._copyHeaders(headers)
                sendWhole(self, raw, self.finish)
                return
            self.status = 0
            return self.respondError(502, "upstream response exceeds max_inspected_response when decoded", "response_too_large")
        except (ValueError, zlib.error):
            self.status = 0
            return self.respondError(502, "upstream response could not be decoded", "bad_gateway")
        if slot is not None:
            caching.store(self, decoded, False, ctype, headers)
        newBody = await self.judgeResponse(decoded, ctype)
        if self.finished or newBody is None:
            return
        if newBody is True:
            self._copyHeaders(headers)
            request.setHeader(b"content-length", str(len(raw)).encode("ascii"))
            sendWhole(self, raw, self.finish)
        else:
            headers.pop(b"content-encoding", None)
            self._copyHeaders(headers)
            request.setHeader(b"content-length", str(len(newBody)).encode("ascii"))
            sendWhole(self, newBody, self.finish)

    def _trackSession(self, response: IResponse) -> None:
        """
        Bind a new MCP session to the key that opened it (and its
        conversation to the session); forget one that the client ended with
        DELETE.
        """
        key = self.key
        if key is None or self.target is None or self.ctx is None:
            return
        issued = response.headers.getRawHeaders(b"mcp-session-id")
        presented = self.request.requestHeaders.getRawHeaders(b"mcp-session-id")
        if issued and not (presented and presented[-1]):
            session = issued[0].decode("latin-1")
            self.service.conversations.adopt((self.upstreamId, session), self.ctx.conversation)
            # the session stays on the upstream that issued it
            route = self.route.name if self.route is not None else None
            d = self.service.sessions.bind("mcp:" + session, key.name, self.upstreamId, route)
            d.addErrback(lambda f: log.failure("session binding failed", f, request_id=self.requestId))
            return
        if not presented or self.request.method != b"DELETE" or response.code >= 300:
            return
        session = self.request.getHeader("mcp-session-id")  # as admission read it
        if session:
            self.service.conversations.forget((self.upstreamId, session))
            d = self.service.sessions.forget("mcp:" + session)
            d.addErrback(lambda f: log.failure("session forget failed", f, request_id=self.requestId))

    def _copyHeaders(self, headers: dict[bytes, tuple[bytes, Sequence[bytes]]]) -> None:
        out = self.request.responseHeaders
        compat.setFields(out, headers.values())
        compat.setFields(out, ((_REQUEST_ID, (self.requestId.encode("ascii"),)),))

    async def judgeResponse(self, body: bytes, ctype: bytes, transport: str = "http") -> Union[None, bool, bytes]:
        """
        Have the pipeline judge a whole response body (that came as
        C{transport}).  True: relay it unchanged; bytes: relay these
        instead; None: answered already.
        """
        assert self.ctx is not None
        contentType = ctype.decode("latin-1")
        if self.wellKnown is None and not self.batchRefusals and self.rt.pipeline.passesUnread(self.ctx, body, contentType):
            return True  # a large body proven clean from its bytes, not decoded
        message = decode(body, contentType)
        if self.wellKnown is not None and message.json and isinstance(message.value, dict):
            if isinstance(message.value.get("resource"), str):
                back = self.route.back if self.route is not None else None
                message.value["resource"] = rewriteResource(message.value["resource"], self.origin(), back)
                body = encode(message.value)
                message = fromJSON(message.value)
        unchanged: Union[bool, bytes] = True if self.wellKnown is None else body
        batchRefusals = self.batchRefusals
        pipeline = self.rt.pipeline
        if not pipeline.judgesServer or not body:
            if batchRefusals and message.json and isinstance(message.value, list):
                return encode(message.value + batchRefusals)
            return unchanged
        verdict = await pipeline.judgeServer(self.ctx, message, transport)
        if verdict.replies:
            self.answerServer(verdict.replies, self.upstreamURL())
        if verdict.refused:
            self.status = 0
            self.request.setResponseCode(403)
            self._refuseHTTP(verdict)
            return None
        if message.rpc:
            out = verdict.forward if verdict.changed else message.rpc
            if batchRefusals:
                out = out + batchRefusals
            elif not verdict.changed:
                return unchanged
            if not message.batch:
                return encode(out[0]) if out else b""
            return encode(out)
        if verdict.changed and verdict.forward:
            return encodeBody(verdict.forward[0])
        return unchanged

    def answerServer(self, answers: Sequence[Any], url: bytes) -> None:
        """
        Send the proxy's answers to server requests (a refused sampling or
        elicitation request) to the upstream, one POST each, with the
        headers of the request that carries the stream (its session, its
        credentials), so that the server's pending call ends at once.
        """
        headers = self.upstreamHeaders(True)
        for name in list(dict(headers.getAllRawHeaders())):
            lname = name.lower()
            if lname.startswith((b"mcp-method", b"mcp-name", b"mcp-param-", b"last-event-id", b"content-type", b"accept")):
                headers.removeHeader(name)
        headers.setRawHeaders(b"content-type", [b"application/json"])
        headers.setRawHeaders(b"accept", [b"application/json, text/event-stream"])
        for answer in answers:
            d = self.service.agent.request(b"POST", url, headers, BytesProducer(encode(answer)))

            def sent(response: IResponse) -> None:
                log.info(
                    "answered a refused server request: upstream status {status}",
                    status=response.code,
                    request_id=self.requestId,
                )
                discard(response)

            d.addCallbacks(
                sent,
                lambda f: log.warn(
                    "could not answer a refused server request: {error}", error=f.getErrorMessage(), request_id=self.requestId
                ),
            )


__all__ = ["Exchange", "ProxyResource", "acceptsJSON"]
