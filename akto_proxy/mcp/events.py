"""
The event stream: every judged message is a L{MessageEvent}, every HTTP
request (a WebSocket: its whole connection) an L{ExchangeEvent} when it
ends.  The access log and the audit trail subscribe; so may anything else
(metrics, an events API, alerts).  Subscribers are called at once, in the
order they subscribed, and must not block: they record, count or queue.
One that raises is logged and the others still run; the relay never waits
for them.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from twisted.logger import Logger

from akto_proxy.inspect.chain import Finding

log = Logger()

#: what happened to a message
FORWARDED = "forwarded"
REWRITTEN = "rewritten"
REPLIED = "replied"
DROPPED = "dropped"


class MessageEvent:
    """
    One judged message: a JSON-RPC message, a body that is not JSON-RPC, or
    a proxied URL.

    @ivar time: when it was judged (the clock's seconds).
    @ivar context: the exchange or connection it came in (its request id,
        key, client address and upstream: L{akto_proxy.mcp.pipeline.Context}).
    @ivar phase: the pipeline phase (L{akto_proxy.mcp.pipeline}).
    @ivar transport: C{http}, C{sse}, C{ws}, or C{url}.
    @ivar method: the JSON-RPC method (of the request it answers, for a
        response).
    @ivar name: the tool, prompt or resource it names.
    @ivar action: L{FORWARDED}, L{REWRITTEN}, L{REPLIED} (answered in the
        proxy's name) or L{DROPPED}.
    @ivar outcome: why, in one word: C{relayed}, C{redacted}, C{filtered},
        C{blocked}, C{role_denied}, C{rate_limited}, C{header_mismatch},
        C{inspection_error}.
    @ivar reason: why, for people, when not forwarded unchanged.
    @ivar findings: what the checks found (enforced or monitored).
    @ivar guardrails: the guardrails that acted.
    @ivar latencyMs: for a response whose request was seen, the time since
        that request; else None.
    @ivar body: the message as it came, before any rewrite (a JSON-RPC
        message, or the L{akto_proxy.mcp.jsonrpc.Body} of a body that is
        not one; None for a URL), for the audit trail's body capture.  A
        reference only: a subscriber that keeps events should not keep it.
    """

    __slots__ = (
        "time",
        "context",
        "phase",
        "transport",
        "method",
        "name",
        "action",
        "outcome",
        "reason",
        "findings",
        "guardrails",
        "latencyMs",
        "body",
    )

    def __init__(
        self,
        time: float,
        context: Any,
        phase: str,
        transport: str,
        method: Optional[str],
        name: Optional[str],
        action: str,
        outcome: str,
        reason: Optional[str],
        findings: Sequence[Finding],
        guardrails: Sequence[str],
        latencyMs: Optional[float],
        body: Any = None,
    ):
        self.time = time
        self.context = context
        self.phase = phase
        self.transport = transport
        self.method = method
        self.name = name
        self.action = action
        self.outcome = outcome
        self.reason = reason
        self.findings = findings
        self.guardrails = guardrails
        self.latencyMs = latencyMs
        self.body = body

    @property
    def requestId(self) -> str:
        return self.context.requestId  # type: ignore[no-any-return]

    @property
    def keyName(self) -> Optional[str]:
        return self.context.keyName  # type: ignore[no-any-return]

    @property
    def client(self) -> str:
        return self.context.clientAddress  # type: ignore[no-any-return]

    @property
    def upstream(self) -> str:
        return self.context.target.display()  # type: ignore[no-any-return]

    @property
    def direction(self) -> str:
        return "request" if self.phase.startswith("client") or self.phase == "url" else "response"

    @property
    def notable(self) -> bool:
        """
        Something happened to it: it was not relayed unchanged, or a check
        found something.
        """
        return self.action != FORWARDED or bool(self.findings)

    def asJSON(self) -> dict[str, Any]:
        return messageJSON(self, self.keyName)


def messageJSON(m: Any, key: Optional[str]) -> dict[str, Any]:
    """
    A judged message as JSON (the audit line, the events API): C{m} is a
    L{MessageEvent}, or a record kept of one with the same attributes.
    """
    return {
        "time": m.time,
        "request_id": m.requestId,
        "transport": m.transport,
        "phase": m.phase,
        "direction": m.direction,
        "key": key,
        "client": m.client,
        "upstream": m.upstream,
        "rpc_method": m.method,
        "name": m.name,
        "action": m.action,
        "outcome": m.outcome,
        "reason": m.reason,
        "threats_detected": [f.asJSON() for f in m.findings],
        "guardrails_applied": list(m.guardrails),
        "latency_ms": round(m.latencyMs, 3) if m.latencyMs is not None else None,
    }


class ExchangeEvent:
    """
    One HTTP request through the proxy (a WebSocket: its connection), when
    it ends: the access line's fields, with the brief's metadata.

    @ivar fields: the record (request id, key, client, method, upstream,
        status, bytes, latency, outcome, threats, guardrails...); under a
        prefix of C{upstreams.fallbacks} also C{upstream_used} (the
        upstream whose answer was relayed, or None), C{fallback} (it was an
        alternate) and C{upstream_attempts} (each upstream tried or skipped
        before it, with its error).
    @ivar message: a one-line summary for people.
    """

    __slots__ = ("fields", "message", "_encoded")

    def __init__(self, fields: dict[str, Any], message: str):
        self.fields = fields
        self.message = message
        self._encoded: Optional[str] = None

    def encoded(self, encoder: Callable[[dict[str, Any]], str]) -> str:
        """
        The fields as JSON text, encoded once for every subscriber.
        """
        if self._encoded is None:
            self._encoded = encoder(self.fields)
        return self._encoded


class UpstreamFailureEvent:
    """
    An upstream could not be reached, or failed or timed out before it
    answered (the client got 502 or 504, a WebSocket its close).

    @ivar upstream: C{scheme://host[:port]} of the upstream.
    @ivar reason: what failed, when known (C{connect}, C{timeout}, C{tls}...).
    """

    __slots__ = ("time", "upstream", "reason")

    def __init__(self, time: float, upstream: str, reason: Optional[str] = None):
        self.time = time
        self.upstream = upstream
        self.reason = reason

    def asJSON(self) -> dict[str, Any]:
        return {"time": self.time, "upstream": self.upstream, "reason": self.reason}


class ReloadEvent:
    """
    A configuration reload (SIGHUP), applied or rejected.

    @ivar ok: applied; False: rejected, the running configuration stays.
    @ivar generation: the configuration generation in force afterwards.
    @ivar error: why it was rejected (C{FILE:LINE: KEY: message}).
    """

    __slots__ = ("time", "path", "ok", "generation", "error")

    def __init__(self, time: float, path: str, ok: bool, generation: int, error: Optional[str] = None):
        self.time = time
        self.path = path
        self.ok = ok
        self.generation = generation
        self.error = error

    def asJSON(self) -> dict[str, Any]:
        return {"time": self.time, "config": self.path, "ok": self.ok, "generation": self.generation, "error": self.error}


Subscriber = Callable[[Any], None]


class EventBus:
    """
    Hands each event to the subscribers of its type.  A subscriber of
    message events may take only the notable ones (L{MessageEvent.notable}:
    refused, rewritten, or with a finding): clean traffic, most of it, then
    costs it nothing, and with no subscriber for every message no event is
    even built for a clean one.
    """

    def __init__(self) -> None:
        #: subscribers of every message event / of the notable ones (read
        #: on the hot path)
        self.messages: list[Subscriber] = []
        self.notable: list[Subscriber] = []
        self._subscribers: dict[type, list[Subscriber]] = {MessageEvent: self.messages, ExchangeEvent: []}

    def subscribe(self, kind: type, subscriber: Subscriber, notableOnly: bool = False) -> None:
        if notableOnly:
            if kind is not MessageEvent:
                raise ValueError("only message events can be notable")
            self.notable.append(subscriber)
            return
        self._subscribers.setdefault(kind, []).append(subscriber)

    def unsubscribe(self, kind: type, subscriber: Subscriber) -> None:
        for subscribers in (self._subscribers.get(kind, []), self.notable if kind is MessageEvent else []):
            if subscriber in subscribers:
                subscribers.remove(subscriber)

    def wants(self, kind: type) -> bool:
        return bool(self._subscribers.get(kind)) or (kind is MessageEvent and bool(self.notable))

    def publish(self, event: Any) -> None:
        subscribers: Any = self._subscribers.get(type(event), ())
        if type(event) is MessageEvent and self.notable and event.notable:
            subscribers = subscribers + self.notable
        for subscriber in subscribers:
            try:
                subscriber(event)
            except Exception:
                log.failure("event subscriber {subscriber!r} failed", subscriber=subscriber)


__all__ = [
    "DROPPED",
    "EventBus",
    "ExchangeEvent",
    "FORWARDED",
    "MessageEvent",
    "REPLIED",
    "REWRITTEN",
    "ReloadEvent",
    "UpstreamFailureEvent",
    "messageJSON",
]
