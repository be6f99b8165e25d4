"""
Admission: what every request to C{/proxy/...} passes before anything is
read from or sent to an upstream, whether it is a plain HTTP request or a
WebSocket upgrade.  In order: the IP allowlist (403), the proxy URL (400),
the API key (401), the upstream fence and the roles' upstreams (403), the
session (404), the URL and its MCP headers (403).

The URL is inspected here for an upgrade and for a request without a body
to carry it; a request whose body is a single JSON-RPC message has its URL
strings inspected with that message, in one pass of the checks
(L{Admitted.strings} as the message's prefix).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Union

import attrs
from twisted.internet.defer import Deferred
from twisted.web.server import Request

from akto_proxy.access.sessions import ForeignSession
from akto_proxy.config.model import ApiKey
from akto_proxy.inspect.chain import Finding
from akto_proxy.mcp.pipeline import FORWARD, URL, Context
from akto_proxy.mcp.session import Conversation
from akto_proxy.relay.fallback import Route
from akto_proxy.relay.fence import hostMatches
from akto_proxy.relay.url import LEGACY_MARKER, BadProxyPath, Target, parseProxyURI

if TYPE_CHECKING:
    from akto_proxy.runtime import Runtime
    from akto_proxy.service import ProxyService
    from akto_proxy.web.stream import BodyRelay

WWW_AUTHENTICATE = b'AktoApiKey realm="akto-proxy"'


@attrs.frozen
class Refusal:
    """
    A request refused at admission: its status and the envelope's message
    and code.
    """

    status: int
    message: str
    code: str
    headers: Optional[dict[bytes, bytes]] = None
    threats: tuple[Finding, ...] = ()
    outcome: Optional[str] = None
    ctx: Optional[Context] = None  # when refused after the key was known


@attrs.define
class Admitted:
    """
    A request that may go on.

    @ivar legacy: the legacy HTTP+SSE stream whose session a POST names
        (held by this instance).
    @ivar session: the C{Mcp-Session-Id} presented, if any.
    @ivar strings: the URL's strings and the MCP headers, to inspect.
    @ivar urlJudged: the URL was inspected here.
    @ivar route: the fallback upstream that holds the session (its MCP
        session or legacy SSE stream), when not the one the URL names.
    """

    target: Target
    key: ApiKey
    credential: Optional[bytes]
    usedQueryCredential: bool
    ctx: Context
    legacy: Optional["BodyRelay"] = None
    #: the instance that holds the legacy SSE stream this POST names, when
    #: it is another one (several instances sharing Redis)
    holder: Optional[str] = None
    session: Optional[str] = None
    strings: tuple[tuple[str, str], ...] = ()
    urlJudged: bool = False
    route: Optional[Route] = None


def requestStrings(
    request: Request, target: Target, inspected: bool = True
) -> tuple[tuple[tuple[str, str], ...], Optional[dict[str, list[str]]]]:
    """
    The proxied URL's path and query parameters, and the MCP headers that
    mirror the body (2026-07-28: C{Mcp-Method}, C{Mcp-Name},
    C{Mcp-Param-*}), as strings to inspect (when C{inspected}: some stage
    judges the URL); and those headers by lower-case name, or None when
    there are none.
    """
    if not inspected and not request.requestHeaders.hasHeader(b"mcp-method"):
        return (), None
    strings = list(target.urlStrings) if inspected else []
    mirrored: Optional[dict[str, list[str]]] = None
    for name, values in request.requestHeaders.getAllRawHeaders():
        lname = name.lower()
        if lname.startswith(b"mcp-") and (lname in (b"mcp-name", b"mcp-method") or lname.startswith(b"mcp-param-")):
            text = lname.decode("latin-1")
            decoded = [v.decode("latin-1") for v in values]
            if mirrored is None:
                mirrored = {}
            mirrored[text] = decoded
            for v in decoded:
                strings.append((f"header.{text}", v))
    return tuple(strings), mirrored


def admit(
    service: "ProxyService",
    rt: "Runtime",
    request: Request,
    requestId: str,
    clientAddress: str,
    wellKnown: Optional[str] = None,
    upgrade: bool = False,
    forwardedKey: Optional[str] = None,
) -> Union[Admitted, Refusal, "Deferred[Union[Admitted, Refusal]]"]:
    """
    Admit a request to the relay, or say why not: at once, or (when a
    session must be checked, which Redis may answer, or an upgrade's URL
    inspected) with a Deferred.

    @param forwardedKey: for a legacy-SSE POST that another instance
        admitted and forwarded here: the name of the key it presented (the
        key itself does not cross Redis).
    """
    return _Admission(service, rt, request, requestId, clientAddress, upgrade, forwardedKey).admit(wellKnown)


@attrs.define
class _Admission:
    service: "ProxyService"
    rt: "Runtime"
    request: Request
    requestId: str
    clientAddress: str
    upgrade: bool
    forwardedKey: Optional[str] = None

    def admit(self, wellKnown: Optional[str]) -> Union[Admitted, Refusal, "Deferred[Union[Admitted, Refusal]]"]:
        rt = self.rt
        request = self.request
        cfg = rt.config
        ac = cfg.access_control
        if ac.ip_allowlist and not rt.ipAllowed(self.clientAddress):
            return Refusal(403, "client address not allowed", "ip_not_allowed")
        uri = request.uri
        if wellKnown is not None:
            uri = uri[len(b"/.well-known/" + wellKnown.encode("ascii")) :]
        try:
            parsed = parseProxyURI(uri, ac.query_parameter.encode("utf-8"))
        except BadProxyPath as e:
            return Refusal(400, f"malformed proxy path: {e}", "bad_proxy_path")
        target = parsed.target
        presented: Any = request.getHeader(ac.header)
        usedQuery = False
        if presented is None and parsed.credential is not None:
            presented = parsed.credential
            usedQuery = True
        if self.forwardedKey is None:
            key = rt.keys.lookup(presented.encode("utf-8") if isinstance(presented, str) else presented)
        else:
            key = rt.keys.byName(self.forwardedKey)
        if key is None:
            return Refusal(
                401,
                "missing API key" if presented is None else "unknown API key",
                "unauthorized",
                headers={b"www-authenticate": WWW_AUTHENTICATE},
            )
        if not hostMatches(target.host, cfg.upstreams.allow):
            return Refusal(403, f"upstream {target.host} is not allowed", "upstream_not_allowed")
        if not rt.roles.reaches(key, target.host):
            return Refusal(403, f"no role of this key may reach {target.host}", "upstream_not_allowed")
        legacy = None
        holder = None
        if request.method == b"POST" and not self.upgrade:
            router = self.service.router
            if router is not None and LEGACY_MARKER in uri:
                # a legacy session's POST URL as this proxy gave it out, with
                # the instance that holds the stream
                target, holder = router.claim(target, forwarded=self.forwardedKey is not None)
            try:
                legacy = self.service.legacySession(target, key)
            except ForeignSession:
                return Refusal(404, "session not found (it belongs to another API key)", "session_not_found")
        session = request.getHeader("mcp-session-id") if wellKnown is None else None
        admitted = Admitted(target, key, parsed.credential, usedQuery, None, legacy, holder, session or None)  # type: ignore[arg-type]
        if legacy is not None:
            admitted.route = legacy.exchange.route
        if session or self.upgrade:
            return Deferred.fromCoroutine(self.later(admitted))
        return self.context(admitted)

    async def later(self, admitted: Admitted) -> Union[Admitted, Refusal]:
        session = admitted.session
        if session:
            status = await self.service.sessions.check("mcp:" + session, admitted.key.name, admitted.target.origin)
            if status != "ok":
                return Refusal(
                    404,
                    "MCP session expired or unknown: initialize a new one" if status != "foreign"
                    else "MCP session not found (it belongs to another API key)",
                    "session_not_found",
                    outcome=f"session_{status}",
                )
            fallbacks = self.rt.fallbacks
            if fallbacks and fallbacks.chainFor(admitted.target) is not None:
                name = await self.service.sessions.route("mcp:" + session)
                if name is not None:
                    admitted.route = fallbacks.route(admitted.target, name)
        self.context(admitted)
        if self.upgrade:
            refusal = await judgeURL(self.rt, admitted)
            if refusal is not None:
                return refusal
        return admitted

    def context(self, admitted: Admitted) -> Admitted:
        """
        The context of an admitted request, in its conversation.
        """
        service = self.service
        request = self.request
        target = admitted.target
        if admitted.legacy is not None:
            conversation = admitted.legacy.conversation
            transport = "legacy"
        elif admitted.session:
            conversation = service.conversations.get((target.origin, admitted.session))
            transport = "http"
        else:
            conversation = Conversation(None, service.clock.seconds())
            transport = "ws" if self.upgrade else "http"
        admitted.strings, mirrored = requestStrings(request, target, bool(self.rt.pipeline.stagesFor(URL)))
        admitted.ctx = Context(
            service.clock.seconds,
            service.bus,
            self.requestId,
            transport,
            admitted.key,
            self.clientAddress,
            target,
            conversation,
            request.getHeader("mcp-protocol-version"),
            mirrored,
        )
        return admitted


async def judgeURL(rt: "Runtime", admitted: Admitted) -> Optional[Refusal]:
    """
    Inspect the URL and MCP headers on their own: a refusal when blocked.
    """
    admitted.urlJudged = True
    pipeline = rt.pipeline
    if not pipeline.stagesFor(URL):
        return None
    decision = await pipeline.judgeURL(admitted.ctx, admitted.strings)
    if decision.action == FORWARD:
        return None
    error = decision.label == "inspection_error"
    return Refusal(
        403,
        f"blocked by policy: {decision.reason}",
        "inspection_error" if error else "threat_blocked",
        threats=tuple(admitted.ctx.findings),
        ctx=admitted.ctx,
    )


__all__ = ["Admitted", "Refusal", "admit", "judgeURL", "requestStrings"]
