"""
The relay: a leaf resource at C{/proxy} (and C{/.well-known/.../proxy}) that
authenticates, fences, inspects and relays one request.
"""

from __future__ import annotations

import functools
import json
import random
import zlib
from collections import deque
from typing import TYPE_CHECKING, Any, Optional, Sequence, Union
from urllib.parse import urlsplit

import attrs
from twisted.internet import defer, error as ierror
from twisted.internet.interfaces import IDelayedCall
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web._newclient import ResponseDone, ResponseFailed, ResponseNeverReceived
from twisted.web.client import PotentialDataLoss
from twisted.web.http_headers import Headers
from twisted.web.iweb import IResponse
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from akto_proxy.config.model import ApiKey
from akto_proxy.inspect.chain import Finding, Outcome
from akto_proxy.inspect.message import Message, rpcTexts
from akto_proxy.relay.url import Target
from akto_proxy.relay.fence import hostMatches
from akto_proxy.relay.http import BytesProducer, UpstreamForbidden
from akto_proxy.relay.rewrite import (
    rewriteEndpoint,
    rewriteLocation,
    rewriteResource,
    rewriteWWWAuthenticate,
    upstreamWellKnown,
)
from akto_proxy.relay.sse import Event, SSEParser, makeEvent
from akto_proxy.relay.transport import sendNow
from akto_proxy.relay.url import BadProxyPath, canonicalURL, parseProxyURI
from akto_proxy.access.ratelimit import Subject
from akto_proxy.mcp.answers import HEADER_MISMATCH, REFUSAL_CODE, metadata, refusal, rpcError
from akto_proxy.mcp.jsonrpc import LIST_METHODS, encode, idKey as _idKey, isModern, isRPC as _isRPC, loadJSON, rawTargetOf as _rawTargetOf, targetOf as _targetOf, toolOf as _toolOf
from akto_proxy.web.answers import envelope

from akto_proxy.access.sessions import ForeignSession

if TYPE_CHECKING:
    from akto_proxy.service import ProxyService, Runtime

log = Logger()

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
INSPECTABLE_ENCODINGS = (b"gzip", b"deflate", b"identity")
BINARY_TYPES = (b"image/", b"audio/", b"video/", b"font/", b"application/octet-stream", b"application/zip", b"application/pdf")




def newRequestId() -> str:
    # unique, not secret: the random module's generator (seeded from the
    # OS at start) costs no system call, unlike secrets
    return "req_%016x" % random.getrandbits(64)


class TooLarge(Exception):
    pass


def decodeBody(data: bytes, encoding: bytes, limit: int) -> bytes:
    """
    Decode a gzip or deflate body, refusing more than C{limit} decoded bytes
    (a gzip bomb is refused, not expanded).
    """
    encoding = encoding.strip().lower()
    if encoding in (b"", b"identity"):
        return data
    if encoding in (b"gzip", b"x-gzip"):
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    elif encoding == b"deflate":
        d = zlib.decompressobj()
        if data[:1] and (data[0] & 0x0F) != 8:
            d = zlib.decompressobj(-zlib.MAX_WBITS)
    else:
        raise ValueError(f"unsupported content-encoding {encoding!r}")
    out = d.decompress(data, limit + 1)
    if len(out) > limit or d.unconsumed_tail:
        raise TooLarge()
    out += d.flush()
    if len(out) > limit:
        raise TooLarge()
    return out


def narrowAcceptEncoding(value: bytes) -> bytes:
    kept = []
    for item in value.split(b","):
        coding = item.split(b";", 1)[0].strip().lower()
        if coding in INSPECTABLE_ENCODINGS:
            kept.append(item.strip())
    return b", ".join(kept) if kept else b"identity"


def acceptsJSON(request: Request) -> bool:
    accept = (request.getHeader("accept") or "").lower()
    return not accept or "application/json" in accept or "*/*" in accept or "text/event-stream" not in accept


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


class Exchange:
    """
    One client request through the proxy.
    """

    def __init__(self, service: "ProxyService", request: Request, wellKnown: Optional[str] = None):
        self.service = service
        self.rt: "Runtime" = service.runtime
        self.request = request
        self.transport = request.channel.transport  # a finished Request forgets its channel
        self.wellKnown = wellKnown
        self.clock = service.reactor
        self.requestId = newRequestId()
        self.started = self.clock.seconds()
        self.finished = False
        self.status = 0
        self.bytesOut = 0
        self.key: Optional[ApiKey] = None
        self.target: Optional[Target] = None
        self.credential: Optional[bytes] = None
        self.usedQueryCredential = False
        self.findings: list[Finding] = []
        self.guardrails: list[str] = []
        self.blocked = False
        self.outcome = "relayed"
        self.rpcMethod: Optional[str] = None
        self.pending: Optional["defer.Deferred[Any]"] = None
        self.stream: Optional["BodyRelay"] = None
        self.idMethods: dict[Any, tuple[Optional[str], Optional[str], bool]] = {}
        self._origin: Optional[str] = None
        # answers for refused entries of a batch, merged into the upstream's answer
        self.batchRefusals: list[dict[str, Any]] = []

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
            self.outcome = "client_closed" if self.outcome == "relayed" else self.outcome
            if self.pending is not None:
                self.pending.cancel()
            if self.stream is not None:
                self.stream.stopUpstream()
        self.service.exchangeDone(self)
        self._accessLog()

    def _crashed(self, failure: Failure) -> None:
        if failure.check(defer.CancelledError) and self.finished:
            return
        log.failure("relay failed", failure, request_id=self.requestId)
        if not self.finished and not self.request.startedWriting:
            self.respondError(502, "internal relay error", "proxy_error")
        elif not self.finished:
            self.finish()

    def finish(self) -> None:
        if not self.finished:
            self.finished = True
            self.request.finish()

    def write(self, data: bytes) -> None:
        if not self.finished and data:
            self.bytesOut += len(data)
            self.request.write(data)

    def respond(self, status: int, body: bytes, contentType: bytes = b"application/json", headers: Optional[dict[bytes, bytes]] = None) -> None:
        if self.finished:
            return
        self.status = status
        self.request.setResponseCode(status)
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
        threats: tuple[Finding, ...] = (),
        headers: Optional[dict[bytes, bytes]] = None,
    ) -> None:
        if self.outcome == "relayed":
            self.outcome = code or str(status)
        self.respond(status, envelope(status, message, self.requestId, code, threats), headers=headers)

    def _accessLog(self) -> None:
        latency = (self.clock.seconds() - self.started) * 1000.0
        status = self.status or self.request.code
        event = {
            "request_id": self.requestId,
            "key": self.key.name if self.key else None,
            "client": self.clientAddress,
            "method": self.request.method.decode("latin-1"),
            "rpc_method": self.rpcMethod,
            "upstream": self.target.display() if self.target else None,
            "status": status,
            "bytes": self.bytesOut,
            "latency_ms": round(latency, 3),
            "outcome": self.outcome,
            "blocked": self.blocked,
            "threats_detected": [f.asJSON() for f in self.findings],
            "guardrails_applied": list(self.guardrails),
        }
        encoded = self.service.recordExchange(event)
        message = f"{event['method']} {event['upstream']} {status} {self.outcome}"
        accessLog = self.service.accessLog
        if accessLog is not None:
            accessLog(message, event, encoded)
        else:
            log.info("{message}", message=message, access=True, **event)

    # -- the request

    @functools.cached_property
    def clientAddress(self) -> str:
        return self.service.clientAddress(self.request, self.rt)

    def origin(self) -> str:
        if self._origin is None:
            self._origin = self.service.publicOrigin(self.request, self.rt)
        return self._origin

    async def _run(self) -> None:
        rt = self.rt
        cfg = rt.config
        request = self.request
        ac = cfg.access_control
        if ac.ip_allowlist:
            if not rt.ipAllowed(self.clientAddress):
                return self.respondError(403, "client address not allowed", "ip_not_allowed")
        uri = request.uri
        if self.wellKnown is not None:
            uri = uri[len(b"/.well-known/" + self.wellKnown.encode("ascii")) :]
        try:
            parsed = parseProxyURI(uri, ac.query_parameter.encode("utf-8"))
        except BadProxyPath as e:
            return self.respondError(400, f"malformed proxy path: {e}", "bad_proxy_path")
        self.target = target = parsed.target
        presented = request.getHeader(ac.header)
        if presented is None and parsed.credential is not None:
            presented = parsed.credential
            self.usedQueryCredential = True
        self.credential = parsed.credential
        key = rt.keys.lookup(presented.encode("utf-8") if isinstance(presented, str) else presented)
        if key is None:
            return self.respondError(
                401,
                "missing API key" if presented is None else "unknown API key",
                "unauthorized",
                headers={b"www-authenticate": b'AktoApiKey realm="akto-proxy"'},
            )
        self.key = key
        if not hostMatches(target.host, cfg.upstreams.allow):
            return self.respondError(403, f"upstream {target.host} is not allowed", "upstream_not_allowed")
        if not rt.roles.reaches(key, target.host):
            return self.respondError(403, f"no role of this key may reach {target.host}", "upstream_not_allowed")
        if (request.getHeader("upgrade") or "").lower() == "websocket":
            return await self.service.relayWebSocket(self)
        body = request.content.read() if request.content is not None else b""
        encoding = request.getHeader("content-encoding")
        decoded = body
        if encoding and body:
            try:
                decoded = decodeBody(body, encoding.encode("latin-1"), cfg.limits.max_request_body)
            except TooLarge:
                return self.respondError(413, "request body too large when decoded", "payload_too_large")
            except (ValueError, zlib.error) as e:
                return self.respondError(400, f"cannot decode request body: {e}", "bad_request")
        forwardBody = body
        dropEncoding = False
        try:
            legacy = self.service.legacySession(target, key) if request.method == b"POST" else None
        except ForeignSession:
            return self.respondError(404, "session not found (it belongs to another API key)", "session_not_found")
        sessionId = request.getHeader("mcp-session-id")
        if sessionId and self.wellKnown is None:
            status = await self.service.sessions.check("mcp:" + sessionId, key.name, self.upstreamId)
            if status != "ok":
                self.outcome = f"session_{status}"
                return self.respondError(
                    404,
                    "MCP session expired or unknown: initialize a new one" if status != "foreign"
                    else "MCP session not found (it belongs to another API key)",
                    "session_not_found",
                )

        inspected = await self.inspectRequest(decoded, legacy)
        if inspected is None:
            return
        if inspected is not True:
            forwardBody = inspected
            dropEncoding = True
        await self.relay(forwardBody, dropEncoding, legacy)

    @property
    def upstreamId(self) -> str:
        assert self.target is not None
        return f"{self.target.httpScheme}://{self.target.authority}"

    # -- request inspection

    def _urlStrings(self) -> tuple[tuple[str, str], ...]:
        """
        The proxied URL's path and query parameters, and the MCP headers
        that mirror the body, as strings to inspect.
        """
        assert self.target is not None
        strings = list(self.target.urlStrings)
        for name, values in self.request.requestHeaders.getAllRawHeaders():
            lname = name.lower()
            if lname.startswith(b"mcp-") and (lname in (b"mcp-name", b"mcp-method") or lname.startswith(b"mcp-param-")):
                for v in values:
                    strings.append((f"header.{lname.decode('latin-1')}", v.decode("latin-1")))
        return tuple(strings)

    def _urlMessage(self) -> Message:
        assert self.target is not None
        return Message(
            direction="request",
            target=self.target,
            transport="url",
            kind="json",
            payload={},
            strings=self._urlStrings(),
            keyName=self.key.name if self.key else None,
            requestId=self.requestId,
        )

    async def inspectRequest(self, body: bytes, legacy: Optional["BodyRelay"]) -> Union[None, bool, bytes]:
        """
        Inspect the URL and body.  Returns True to forward the body as is,
        new bytes to forward instead, or None when the exchange was answered.
        """
        assert self.target is not None
        rt = self.rt
        request = self.request
        ctype = (request.getHeader("content-type") or "").lower()
        parsedBody: Any = None
        isJSON = False
        if body:
            if "json" in ctype or body[:1] in (b"{", b"["):
                try:
                    parsedBody = loadJSON(body)
                    isJSON = True
                except (ValueError, RecursionError):
                    if "json" in ctype:
                        return self._parseError()
        entries: list[Any] = []
        batch = False
        if isJSON and isinstance(parsedBody, list) and parsedBody and all(isinstance(e, dict) and e.get("jsonrpc") == "2.0" for e in parsedBody):
            entries = parsedBody
            batch = True
        elif isJSON and isinstance(parsedBody, dict) and parsedBody.get("jsonrpc") == "2.0":
            entries = [parsedBody]
        for e in entries:
            method = e.get("method")
            if isinstance(method, str):
                if "id" in e:
                    modern = isModern(request.getHeader("mcp-protocol-version"), e)
                    entry = (method, _targetOf(e), modern)
                    self.idMethods[_idKey(e.get("id"))] = entry
                    if legacy is not None:
                        legacy.idMethods[_idKey(e.get("id"))] = entry
        if entries and not batch:
            m = entries[0].get("method")
            self.rpcMethod = m if isinstance(m, str) else None
            mismatch = self._headerMismatch(entries[0])
            if mismatch is not None:
                self.outcome = "header_mismatch"
                return self._answerRPC(400, rpcError(entries[0].get("id"), HEADER_MISMATCH, mismatch), legacy)
        answered = await self._rateLimit(entries, legacy)
        if answered:
            return None
        roleRefusals: list[tuple[dict[str, Any], dict[str, Any], int]] = []
        if rt.config.access_control.roles and entries:
            entries, roleRefusals = self._applyRoles(entries)
            if not batch and roleRefusals:
                entry, answer, status = roleRefusals[0]
                return self._answerRPC(status, answer, legacy)
            if not batch and not entries:
                return self._accepted(legacy)  # a denied notification is dropped
            if batch and not entries:
                answers = [a for _, a, _ in roleRefusals]
                return self._answerRPC(200, answers, legacy) if answers else self._accepted(legacy)
        chain = rt.chain
        if not chain:
            if roleRefusals:
                self.batchRefusals = [a for _, a, _ in roleRefusals]
                return encode(entries)
            return True
        keyName = self.key.name if self.key else None
        single = len(entries) == 1 and not batch
        # a single JSON-RPC message is inspected together with the URL and
        # MCP headers, in one pass; otherwise the URL is a message of its own
        if not single:
            urlOutcome = await self.inspected(self._urlMessage())
            if urlOutcome.blocked:
                self.blocked = True
                if entries and not batch and "id" in entries[0]:
                    return self._refuseRPC(entries[0], urlOutcome, legacy)
                if entries and not batch:
                    return self._accepted(legacy)
                return self._refuseHTTP(urlOutcome)
        if not body:
            return True
        if not entries:
            if isJSON:
                msg = Message.fromJSON(parsedBody, "request", self.target, "http", keyName, self.requestId)
            else:
                msg = Message.fromText(body.decode("utf-8", "replace"), "request", self.target, "http", keyName, self.requestId)
            outcome = await self.inspected(msg)
            if outcome.blocked:
                self.blocked = True
                return self._refuseHTTP(outcome)
            if outcome.message is not msg:
                return encode(outcome.message.payload) if isJSON else outcome.message.payload.encode("utf-8")
            return True
        # None: passes unchanged, known from its strings alone (Chain.passes)
        outcomes: list[Optional[Outcome]] = []
        prefix = self._urlStrings() if single else ()
        for e in entries:
            clean = chain.passes("request", rpcTexts(e, [t for _, t in prefix]))
            if clean:
                outcomes.append(None)
                continue
            msg = Message.fromJSONRPC(e, "request", self.target, "http", keyName=keyName, requestId=self.requestId, prefix=prefix)
            outcome = await self.inspected(msg, clean)
            outcomes.append(outcome)
        refusals = [a for _, a, _ in roleRefusals]
        forward = []
        changed = bool(roleRefusals)
        for e, outcome in zip(entries, outcomes):
            if outcome is None:
                forward.append(e)
                continue
            if outcome.blocked:
                self.blocked = True
                if "id" in e and "method" in e:
                    refusals.append(self._refusalFor(e, outcome))
                continue
            forward.append(outcome.message.payload)
            if outcome.message.payload is not e:
                changed = True
        if not batch:
            if refusals:
                return self._answerRPC(200, refusals[0], legacy)
            if outcomes[0] is not None and outcomes[0].blocked:
                return self._accepted(legacy)
            return encode(forward[0]) if changed else True
        if not forward:
            if refusals:
                return self._answerRPC(200, refusals, legacy)
            return self._accepted(legacy)
        self.batchRefusals = refusals
        if refusals or changed:
            return encode(forward)
        return True

    async def _rateLimit(self, entries: list[Any], legacy: Optional["BodyRelay"]) -> bool:
        """
        Count this request against the rate-limit guardrails (SPEC section 3:
        each JSON-RPC request counts one, notifications and responses
        nothing, other HTTP requests one).  True when refused (answered).
        """
        rates = self.rt.rates
        if not rates.rules or self.key is None or self.target is None:
            return False
        if entries:
            calls = tuple(_toolOf(e) for e in entries if isinstance(e.get("method"), str) and "id" in e)
            if not calls:
                return False
        else:
            calls = (None,)
        verdict = await rates.check(Subject(self.key.name, self.clientAddress, self.target.host, self.upstreamId), calls)
        for g in verdict.applied:
            if g not in self.guardrails:
                self.guardrails.append(g)
        if verdict.allowed:
            return False
        self.outcome = "rate_limited"
        self.service.rateLimited(verdict.guardrail)
        message = f"rate limit exceeded ({verdict.guardrail}); retry after {verdict.retry_after} s"
        if legacy is not None:
            # the legacy SSE client hangs on any status but 202: answer on its stream
            first = next((e for e in entries if "id" in e and "method" in e), None)
            if first is not None:
                data = metadata(self.requestId, (), self.guardrails)
                data["retry_after"] = verdict.retry_after
                answer = rpcError(first.get("id"), REFUSAL_CODE, f"Blocked by akto-proxy: {message}", data)
                self._answerRPC(200, answer, legacy)
                return True
        self.respondError(
            429,
            message,
            "rate_limited",
            headers={b"retry-after": str(verdict.retry_after).encode("ascii")},
        )
        return True

    def _applyRoles(self, entries: list[Any]) -> tuple[list[Any], list[tuple[dict[str, Any], dict[str, Any], int]]]:
        """
        Judge each JSON-RPC request of the body by the key's roles.  Returns
        the entries that may go on and, for refused requests, their answers
        (a tool the role may not use is invisible: -32602 "Unknown tool").
        """
        assert self.key is not None and self.target is not None
        allowed = []
        refused = []
        for e in entries:
            method = e.get("method")
            if not isinstance(method, str):
                allowed.append(e)  # a response to a server request
                continue
            decision = self.rt.roles.decide(self.key, self.target.host, method, _targetOf(e))
            if decision.allowed:
                allowed.append(e)
                continue
            self.blocked = True
            self.outcome = "role_denied"
            if "id" not in e:
                continue
            modern = isModern(self.request.getHeader("mcp-protocol-version"), e)
            if decision.invisible:
                answer = rpcError(e.get("id"), -32602, f"Unknown tool: {_targetOf(e)}")
                status = 400 if modern else 200
            else:
                data = metadata(self.requestId, (), self.guardrails)
                data["reason"] = decision.reason
                answer = rpcError(e.get("id"), REFUSAL_CODE, f"Blocked by akto-proxy: {decision.reason}", data)
                status = 200
            refused.append((e, answer, status))
        return allowed, refused

    async def inspected(self, message: Message, clean: Optional[bool] = None) -> Outcome:
        """
        The chain's outcome for C{message}, noted for the access log and the
        audit record.  A chain that answered synchronously (the common case)
        costs no Deferred here.

        @param clean: L{Chain.passes}'s answer for the message, if asked.
        """
        outcome = self.rt.chain.inspectNow(message, clean)
        if isinstance(outcome, defer.Deferred):
            outcome = await outcome
        self._note(outcome)
        return outcome

    def _note(self, outcome: Outcome) -> None:
        self.findings.extend(outcome.findings)
        for g in outcome.guardrails:
            if g not in self.guardrails:
                self.guardrails.append(g)
        if outcome.error:
            self.outcome = "inspection_error"
        elif outcome.blocked:
            self.outcome = "blocked"
        elif outcome.rewritten and self.outcome == "relayed":
            self.outcome = "redacted"

    def _headerMismatch(self, entry: dict[str, Any]) -> Optional[str]:
        headerMethod = self.request.getHeader("mcp-method")
        if headerMethod is None:
            return None
        if len(self.request.requestHeaders.getRawHeaders(b"mcp-method") or []) > 1:
            return "duplicated Mcp-Method header"
        if headerMethod != entry.get("method"):
            return "Mcp-Method header does not match the body"
        name = _rawTargetOf(entry)
        headerName = self.request.getHeader("mcp-name")
        if name is not None and headerName is not None and headerName != name:
            return "Mcp-Name header does not match the body"
        return None

    def _meta(self, outcome: Outcome) -> dict[str, Any]:
        return metadata(self.requestId, outcome.findings, outcome.guardrails)

    def _refusalFor(self, entry: dict[str, Any], outcome: Outcome) -> dict[str, Any]:
        modern = isModern(self.request.getHeader("mcp-protocol-version"), entry)
        return refusal(entry.get("id"), entry.get("method"), outcome.reason, self._meta(outcome), modern)

    def _refuseRPC(self, entry: dict[str, Any], outcome: Outcome, legacy: Optional["BodyRelay"]) -> None:
        return self._answerRPC(200, self._refusalFor(entry, outcome), legacy)

    def _answerRPC(self, status: int, answer: Any, legacy: Optional["BodyRelay"]) -> None:
        """
        Answer in JSON-RPC: on a legacy SSE session, 202 here and the answer
        on the session's stream; else JSON, or one SSE event for a client
        that accepts only SSE.
        """
        if legacy is not None:
            legacy.inject(makeEvent(encode(answer).decode("utf-8"), "message"))
            self.respond(202, b"Accepted", b"text/plain; charset=utf-8")
            return None
        if acceptsJSON(self.request):
            self.respond(status, encode(answer))
        else:
            self.respond(status, makeEvent(encode(answer).decode("utf-8"), "message").raw, b"text/event-stream")
        return None

    def _accepted(self, legacy: Optional["BodyRelay"]) -> None:
        self.respond(202, b"", b"text/plain; charset=utf-8")
        return None

    def _refuseHTTP(self, outcome: Outcome) -> None:
        self.respondError(403, f"blocked by policy: {outcome.reason}", "threat_blocked" if not outcome.error else "inspection_error", outcome.findings)
        return None

    def _parseError(self) -> None:
        self.outcome = "parse_error"
        self.respond(400, encode(rpcError(None, -32700, "Parse error")))
        return None

    # -- upstream

    def upstreamHeaders(self, body: bytes, dropEncoding: bool) -> Headers:
        assert self.target is not None
        cfg = self.rt.config
        request = self.request
        incoming = request.requestHeaders
        xForwarded = cfg.upstreams.x_forwarded
        skip = _requestSkip(cfg.access_control.header, xForwarded)
        connection = incoming.getRawHeaders(b"connection")
        if connection:
            skip = skip | _tokens(connection)
        out = Headers()
        setRaw = out.setRawHeaders
        for name, values in incoming.getAllRawHeaders():
            lname = name.lower()
            if lname in skip:
                continue
            if lname == b"accept-encoding":
                values = [narrowAcceptEncoding(b", ".join(values))]
            elif lname == b"content-encoding" and dropEncoding:
                continue
            setRaw(name, values)
        setRaw(b"host", [self.target.authority.encode("ascii")])
        if xForwarded:
            peer = getattr(request.getClientAddress(), "host", "unix")
            proto = b"https" if request.isSecure() else b"http"
            host = incoming.getRawHeaders(b"host")
            trusted = cfg.access_control.trusted_proxies and self.service.fromTrustedProxy(request, self.rt)
            if trusted:
                prior = self.service.trustedForwardedFor(request, self.rt)
                setRaw(b"x-forwarded-for", [", ".join(prior + [peer]).encode("latin-1")])
                forwarded = incoming.getRawHeaders(b"x-forwarded-proto")
                if forwarded and forwarded[-1] in (b"http", b"https"):
                    proto = forwarded[-1]
                forwardedHost = incoming.getRawHeaders(b"x-forwarded-host")
                if prior and forwardedHost:
                    host = forwardedHost
            else:
                setRaw(b"x-forwarded-for", [peer.encode("latin-1")])
            setRaw(b"x-forwarded-proto", [proto])
            if host:
                setRaw(b"x-forwarded-host", [host[-1]])
        setRaw(b"x-akto-request-id", [self.requestId.encode("ascii")])
        return out

    def upstreamURL(self) -> bytes:
        assert self.target is not None
        if self.wellKnown is not None:
            return upstreamWellKnown(self.wellKnown, self.target)
        return self.target.upstreamURL()

    async def relay(self, body: bytes, dropEncoding: bool, legacy: Optional["BodyRelay"]) -> None:
        rt = self.rt
        request = self.request
        method = request.method
        headers = self.upstreamHeaders(body, dropEncoding)
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
        self.pending = self.service.agent.request(method, self.upstreamURL(), headers, producer)
        try:
            response: IResponse = await self.pending
        except Exception as e:
            failure = Failure(e)
            if timer.active():
                timer.cancel()
            self.pending = None
            if self.finished:
                return
            return self._upstreamFailed(failure, bool(timedOut))
        finally:
            self.pending = None
        if timer.active():
            timer.cancel()
        if self.finished:
            _discard(response)
            return
        self.service.upstreamOK(self.target)
        await self.respondWith(response, legacy)

    def _upstreamFailed(self, failure: Failure, timedOut: bool) -> None:
        upstream = self.target.display() if self.target else "?"
        if failure.check(UpstreamForbidden):
            reason = failure.value.reason  # type: ignore[union-attr]
            return self.respondError(403, f"upstream address refused: {reason}", "upstream_not_allowed")
        self.service.upstreamFailed(self.target)
        if timedOut or failure.check(ierror.TimeoutError, ierror.ConnectingCancelledError):
            log.warn("upstream {upstream} timed out", upstream=upstream, request_id=self.requestId)
            return self.respondError(504, "upstream timed out", "gateway_timeout")
        if failure.check(ierror.DNSLookupError):
            message = "upstream host name could not be resolved"
        elif failure.check(ierror.ConnectionRefusedError):
            message = "upstream refused the connection"
        elif failure.check(ResponseNeverReceived, ResponseFailed):
            reasons = getattr(failure.value, "reasons", [])
            if any(_isTLSFailure(r) for r in reasons):
                message = "TLS handshake with upstream failed"
            else:
                message = "upstream closed the connection without a response"
        else:
            message = f"upstream error: {failure.getErrorMessage()}"
        log.warn("upstream {upstream} failed: {error}", upstream=upstream, error=message, request_id=self.requestId)
        self.respondError(502, message, "bad_gateway")

    async def respondWith(self, response: IResponse, legacy: Optional["BodyRelay"]) -> None:
        assert self.target is not None
        request = self.request
        rt = self.rt
        credName = rt.config.access_control.query_parameter
        cred = self.credential if self.usedQueryCredential else None
        # the upstream's headers to relay, by lower-case name (copied to the
        # client's response once the answer is known)
        headers: dict[bytes, tuple[bytes, Sequence[bytes]]] = {}
        connectionTokens = _connectionTokens(response)
        for name, values in response.headers.getAllRawHeaders():
            lname = name.lower()
            if lname in HOP_BY_HOP or lname in connectionTokens:
                continue
            if lname == b"location":
                values = [rewriteLocation(v.decode("latin-1"), self.target, self.origin(), credName, cred).encode("latin-1") for v in values]
            elif lname == b"www-authenticate":
                values = [rewriteWWWAuthenticate(v.decode("latin-1"), self.target, self.origin()).encode("latin-1") for v in values]
            elif lname == b"x-akto-request-id":
                continue
            headers[lname] = (name, values)
        ctype = headers[b"content-type"][1][0].lower() if b"content-type" in headers else b""
        encoding = b",".join(headers[b"content-encoding"][1]).strip().lower() if b"content-encoding" in headers else b""
        self.status = response.code
        self._trackSession(response)
        request.setResponseCode(response.code, response.phrase)
        noBody = request.method == b"HEAD" or response.code in (204, 304) or 100 <= response.code < 200
        if noBody:
            self._copyHeaders(headers)
            _discard(response)
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
            relay = BodyRelay(self, sse=True, encoding=encoding)
            relay.idMethods.update(self.idMethods)
            for r in self.batchRefusals:
                relay.emit(makeEvent(encode(r).decode("utf-8"), "message"))
            self.stream = relay
            self.service.streamOpened(relay)
            response.deliverBody(relay)
            return
        look = bool(rt.chain) or bool(rt.config.access_control.roles) or bool(self.batchRefusals)
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
        if encoding not in (b"", b"identity", b"gzip", b"x-gzip", b"deflate"):
            _discard(response)
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
                self.write(raw)
                self.finish()
                return
            self.status = 0
            return self.respondError(502, "upstream response exceeds max_inspected_response when decoded", "response_too_large")
        except (ValueError, zlib.error):
            self.status = 0
            return self.respondError(502, "upstream response could not be decoded", "bad_gateway")
        newBody = await self.inspectResponse(decoded, ctype)
        if self.finished:
            return
        if newBody is None:
            return
        if newBody is True:
            self._copyHeaders(headers)
            request.setHeader(b"content-length", str(len(raw)).encode("ascii"))
            self.write(raw)
        else:
            headers.pop(b"content-encoding", None)
            self._copyHeaders(headers)
            request.setHeader(b"content-length", str(len(newBody)).encode("ascii"))
            self.write(newBody)
        self.finish()

    def _trackSession(self, response: IResponse) -> None:
        """
        Bind a new MCP session to the key that opened it; forget one that
        the client ended with DELETE.
        """
        if self.key is None or self.target is None:
            return
        issued = response.headers.getRawHeaders(b"mcp-session-id")
        presented = self.request.getHeader("mcp-session-id")
        if issued and not presented:
            d = self.service.sessions.bind("mcp:" + issued[0].decode("latin-1"), self.key.name, self.upstreamId)
            d.addErrback(lambda f: log.failure("session binding failed", f, request_id=self.requestId))
        elif presented and self.request.method == b"DELETE" and response.code < 300:
            d = self.service.sessions.forget("mcp:" + presented)
            d.addErrback(lambda f: log.failure("session forget failed", f, request_id=self.requestId))

    def _copyHeaders(self, headers: dict[bytes, tuple[bytes, Sequence[bytes]]]) -> None:
        out = self.request.responseHeaders
        for name, values in headers.values():
            out.setRawHeaders(name, values)
        out.setRawHeaders(b"x-akto-request-id", [self.requestId.encode("ascii")])

    async def inspectResponse(self, body: bytes, ctype: bytes) -> Union[None, bool, bytes]:
        """
        Inspect a whole response body.  True: relay unchanged; bytes: relay
        these instead; None: answered already.
        """
        assert self.target is not None
        rt = self.rt
        keyName = self.key.name if self.key else None
        parsed: Any = None
        isJSON = False
        if body and (b"json" in ctype or body[:1] in (b"{", b"[")):
            try:
                parsed = loadJSON(body)
                isJSON = True
            except (ValueError, RecursionError):
                isJSON = False
        if self.wellKnown is not None and isJSON and isinstance(parsed, dict):
            if isinstance(parsed.get("resource"), str):
                parsed["resource"] = rewriteResource(parsed["resource"], self.origin())
                body = encode(parsed)
        chain = rt.chain
        batchRefusals = self.batchRefusals
        filtering = bool(rt.config.access_control.roles)
        if (not chain and not filtering) or not body:
            if batchRefusals and isJSON and isinstance(parsed, list):
                return encode(parsed + batchRefusals)
            return True if self.wellKnown is None else body
        if isJSON and _isRPC(parsed):
            entries = parsed if isinstance(parsed, list) else [parsed]
            out = []
            changed = False
            for e in entries:
                newEntry = await self.inspectRPCResponse(e, "http")
                out.append(newEntry)
                changed = changed or newEntry is not e
            if batchRefusals:
                out.extend(batchRefusals)
                changed = True
            if not changed:
                return True if self.wellKnown is None else body
            return encode(out if isinstance(parsed, list) else out[0])
        if isJSON:
            msg = Message.fromJSON(parsed, "response", self.target, "http", keyName, self.requestId)
        else:
            msg = Message.fromText(body.decode("utf-8", "replace"), "response", self.target, "http", keyName, self.requestId)
        outcome = await self.inspected(msg)
        if outcome.blocked:
            self.blocked = True
            self.status = 0
            self.request.setResponseCode(403)
            self._refuseHTTP(outcome)
            return None
        if outcome.message is not msg:
            return encode(outcome.message.payload) if isJSON else outcome.message.payload.encode("utf-8")
        return True if self.wellKnown is None else body

    async def inspectRPCResponse(self, entry: Any, transport: str, idMethods: Optional[dict[Any, Any]] = None) -> Any:
        """
        Inspect one JSON-RPC message from the server; return it, its redacted
        copy, or the refusal that replaces it.
        """
        assert self.target is not None
        if not isinstance(entry, dict):
            return entry
        known = (idMethods if idMethods is not None else self.idMethods).get(_idKey(entry.get("id")), (None, None, False))
        method, tool, modern = known if "method" not in entry else (entry.get("method"), None, False)
        chain = self.rt.chain
        clean: Optional[bool] = None
        if method not in LIST_METHODS:
            if not chain:
                return entry  # nothing to filter, nothing to inspect
            clean = chain.passes("response", rpcTexts(entry, []))
            if clean:
                return entry  # nothing found
        msg = Message.fromJSONRPC(
            entry, "response", self.target, transport, method=method, keyName=self.key.name if self.key else None, requestId=self.requestId, tool=tool  # type: ignore[arg-type]
        )
        if (
            method in LIST_METHODS
            and "method" not in entry
            and isinstance(entry.get("result"), dict)
            and self.rt.config.access_control.roles
            and self.key is not None
        ):
            # a tool (prompt, resource) the role may not use is invisible
            filtered = self.rt.roles.filterListResult(self.key, self.target.host, method, entry["result"])
            if filtered != entry["result"]:
                entry = dict(entry, result=filtered)
                msg = attrs.evolve(msg, payload=entry)
        if not chain:
            return entry
        outcome = await self.inspected(msg, clean)
        if outcome.blocked:
            self.blocked = True
            if "id" in entry and ("result" in entry or "error" in entry or "method" in entry):
                if "method" in entry:
                    # a server-to-client request that is refused: answer it? drop it.
                    return None
                modern = modern or isModern(self.request.getHeader("mcp-protocol-version"), None)
                return refusal(entry.get("id"), method, outcome.reason, self._meta(outcome), modern)
            return None
        return outcome.message.payload


def _isTLSFailure(reason: Failure) -> bool:
    from OpenSSL import SSL

    try:
        from service_identity import VerificationError
    except ImportError:  # pragma: no cover
        VerificationError = SSL.Error
    return reason.check(SSL.Error, VerificationError) is not None or "certificate" in repr(reason.value).lower()








@functools.lru_cache(maxsize=8)
def _requestSkip(apiHeader: str, xForwarded: bool) -> frozenset[bytes]:
    """
    Request headers never passed upstream as they came: hop-by-hop ones, the
    proxy's own key and request id, those the proxy sets itself.
    """
    skip = set(HOP_BY_HOP) | {b"host", b"content-length", b"expect", b"x-akto-request-id"}
    skip.add(apiHeader.lower().encode("latin-1"))
    if xForwarded:
        skip |= {b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host"}
    return frozenset(skip)


def _connectionTokens(response: IResponse) -> set[bytes]:
    """
    Header names the upstream listed in its C{Connection} header (hop-by-hop
    too).  Twisted's client keeps connection headers apart from
    C{response.headers}; read them from its parser while it is there.
    """
    values = list(response.headers.getRawHeaders(b"connection") or [])
    transport = getattr(getattr(response, "_transport", None), "_producer", None)
    proto = getattr(transport, "protocol", None)
    candidates = []
    while proto is not None and len(candidates) < 4:
        candidates.append(proto)
        proto = getattr(proto, "_wrappedProtocol", None) or getattr(proto, "wrappedProtocol", None)
    for candidate in candidates:
        parser = getattr(candidate, "_parser", None)
        if parser is not None and hasattr(parser, "connHeaders"):
            values.extend(parser.connHeaders.getRawHeaders(b"connection") or [])
            break
    return _tokens(values)


def _tokens(values: list[bytes]) -> set[bytes]:
    """
    The lower-case header names listed in C{Connection} header values.
    """
    return {t.strip().lower() for v in values for t in v.split(b",")}






def _discard(response: IResponse) -> None:
    """
    Drop an unwanted body and close its connection rather than pin it.
    """

    class _Drop(Protocol):
        def connectionMade(self) -> None:
            if self.transport is not None:
                self.transport.stopProducing()

    try:
        response.deliverBody(_Drop())
    except Exception:
        pass


class Collector(Protocol):
    """
    Collect a body up to a limit; beyond it, fail with L{TooLarge} and pause
    so that the caller may hand the rest over to a stream.
    """

    def __init__(self, limit: int):
        self.limit = limit
        self.parts: list[bytes] = []
        self.size = 0
        self.done: "defer.Deferred[bytes]" = defer.Deferred(lambda d: self._cancel())
        self._over = False
        self._handedTo: Optional["BodyRelay"] = None
        self._lost: Optional[Failure] = None

    def _cancel(self) -> None:
        if self.transport is not None:
            self.transport.stopProducing()

    def dataReceived(self, data: bytes) -> None:
        if self._handedTo is not None:
            self._handedTo.dataReceived(data)
            return
        self.parts.append(data)
        self.size += len(data)
        if self.size > self.limit and not self._over and not self.done.called:
            self._over = True
            if self.transport is not None:
                self.transport.pauseProducing()
            self.done.errback(TooLarge())

    def prefix(self) -> bytes:
        data = b"".join(self.parts)
        self.parts = []
        return data

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
            self.done.callback(b"".join(self.parts))
        else:
            self.done.errback(reason)


class BodyRelay(Protocol):
    """
    Stream an upstream body to the client with backpressure (the upstream
    transport is the client request's producer); for SSE, each event is
    inspected and written as soon as it is complete, in order.
    """

    def __init__(self, exchange: Exchange, sse: bool, encoding: bytes):
        self.exchange = exchange
        self.sse = sse
        rt = exchange.rt
        self.parser = SSEParser(rt.config.limits.max_inspected_response) if sse else None
        self._decoder = None
        if sse and encoding in (b"gzip", b"x-gzip"):
            self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif sse and encoding == b"deflate":
            self._decoder = zlib.decompressobj()
        self._queue: deque[Event] = deque()
        self._busy = False
        self._closed = False
        self._upstreamDone = False
        self._idle: Optional[IDelayedCall] = None
        self._keepalive: Optional[IDelayedCall] = None
        self.idMethods: dict[Any, tuple[Optional[str], Optional[str], bool]] = {}
        self.legacyURL: Optional[tuple[Any, ...]] = None
        self.keyDigest: Optional[bytes] = None
        self._producerRegistered = False

    # -- connection to upstream

    def connectionMade(self) -> None:
        ex = self.exchange
        if ex.finished:
            self.transport.stopProducing()  # type: ignore[union-attr]
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
        if self._idle is not None and self._idle.active():
            self._idle.reset(timeout)
        else:
            self._idle = self.exchange.clock.callLater(timeout, self._idleTimeout)

    def _resetKeepalive(self) -> None:
        interval = self.exchange.rt.config.upstreams.sse_keepalive
        if not interval:
            return
        if self._keepalive is not None and self._keepalive.active():
            self._keepalive.reset(interval)
        else:
            self._keepalive = self.exchange.clock.callLater(interval, self._sendKeepalive)

    def _sendKeepalive(self) -> None:
        self._keepalive = None
        if self._closed or self.exchange.finished:
            return
        if self.parser is not None and self.parser.pending == 0 and not self._queue:
            self.exchange.write(b": keepalive\n\n")
        self._resetKeepalive()

    def _idleTimeout(self) -> None:
        self._idle = None
        log.info("upstream stream idle, closing", request_id=self.exchange.requestId)
        self.exchange.outcome = "idle_timeout"
        self.stopUpstream()
        self._close()

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
                self.stopUpstream()
                self._close()
                return
        assert self.parser is not None
        events = self.parser.feed(data)
        if events:
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
        if not self._busy:
            self._close()

    def _close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for call in (self._idle, self._keepalive):
            if call is not None and call.active():
                call.cancel()
        self._idle = self._keepalive = None
        ex = self.exchange
        if self._producerRegistered and not ex.finished:
            ex.request.unregisterProducer()
        self._producerRegistered = False
        ex.service.streamClosed(self)
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
        self._queue.append(event)
        self._drain()

    def _drain(self) -> None:
        while self._queue and not self._busy and not self._closed:
            event = self._queue.popleft()
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
                ex.outcome = "response_too_large"
                self.stopUpstream()
                self._close()
                return b""
            return event.raw
        if event.event == "endpoint" and event.data is not None:
            return self._endpoint(event)
        ex.rt = ex.service.runtime  # each new message is judged by the current configuration
        if (not ex.rt.chain and not ex.rt.config.access_control.roles) or event.data is None:
            return event.raw
        return defer.Deferred.fromCoroutine(self._inspect(event))

    def _endpoint(self, event: Event) -> bytes:
        ex = self.exchange
        assert ex.target is not None and event.data is not None
        cfg = ex.rt.config.access_control
        cred = ex.credential if ex.usedQueryCredential else None
        sseURL = ex.target.upstreamURL().decode("latin-1")
        rewritten, resolved = rewriteEndpoint(event.data, sseURL, ex.origin(), cfg.query_parameter, cred)
        self.legacyURL = canonicalURL(resolved)
        ex.service.legacyOpened(self)
        return event.withData(rewritten).raw

    async def _inspect(self, event: Event) -> bytes:
        ex = self.exchange
        assert event.data is not None and ex.target is not None
        try:
            parsed = json.loads(event.data)
        except (ValueError, RecursionError):
            parsed = None
        if _isRPC(parsed):
            entries = parsed if isinstance(parsed, list) else [parsed]
            out = []
            changed = False
            for e in entries:
                new = await ex.inspectRPCResponse(e, "sse", self.idMethods)
                if new is not None:
                    out.append(new)
                changed = changed or new is not e
            if not changed:
                return event.raw
            if not out:
                return b""
            value = out if isinstance(parsed, list) else out[0]
            return event.withData(encode(value).decode("utf-8")).raw
        keyName = ex.key.name if ex.key else None
        if parsed is not None:
            msg = Message.fromJSON(parsed, "response", ex.target, "sse", keyName, ex.requestId)
        else:
            msg = Message.fromText(event.data, "response", ex.target, "sse", keyName, ex.requestId)
        outcome = await ex.inspected(msg)
        if outcome.blocked:
            ex.blocked = True
            return b""
        if outcome.message is not msg:
            payload = outcome.message.payload
            return event.withData(encode(payload).decode("utf-8") if parsed is not None else payload).raw
        return event.raw




__all__ = ["Exchange", "ProxyResource"]
