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
    @ivar requestId: the request (or WebSocket connection) it came in.
    @ivar transport: C{http}, C{sse}, C{legacy} (an HTTP+SSE session),
        C{ws}, or C{url}.
    @ivar phase: the pipeline phase (L{akto_proxy.mcp.pipeline}).
    @ivar direction: C{request} (client to server) or C{response}.
    @ivar keyName: the API key's name.
    @ivar client: the client's address.
    @ivar upstream: the upstream URL without its query.
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
        that request; else the time spent judging it.
    """

    __slots__ = (
        "time",
        "requestId",
        "transport",
        "phase",
        "direction",
        "keyName",
        "client",
        "upstream",
        "method",
        "name",
        "action",
        "outcome",
        "reason",
        "findings",
        "guardrails",
        "latencyMs",
    )

    def __init__(
        self,
        time: float,
        requestId: str,
        transport: str,
        phase: str,
        direction: str,
        keyName: Optional[str],
        client: Optional[str],
        upstream: Optional[str],
        method: Optional[str],
        name: Optional[str],
        action: str,
        outcome: str,
        reason: Optional[str],
        findings: Sequence[Finding],
        guardrails: Sequence[str],
        latencyMs: float,
    ):
        self.time = time
        self.requestId = requestId
        self.transport = transport
        self.phase = phase
        self.direction = direction
        self.keyName = keyName
        self.client = client
        self.upstream = upstream
        self.method = method
        self.name = name
        self.action = action
        self.outcome = outcome
        self.reason = reason
        self.findings = findings
        self.guardrails = guardrails
        self.latencyMs = latencyMs

    @property
    def notable(self) -> bool:
        """
        Something happened to it: it was not relayed unchanged, or a check
        found something.
        """
        return self.action != FORWARDED or bool(self.findings)

    def asJSON(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "request_id": self.requestId,
            "transport": self.transport,
            "phase": self.phase,
            "direction": self.direction,
            "key": self.keyName,
            "client": self.client,
            "upstream": self.upstream,
            "rpc_method": self.method,
            "name": self.name,
            "action": self.action,
            "outcome": self.outcome,
            "reason": self.reason,
            "threats_detected": [f.asJSON() for f in self.findings],
            "guardrails_applied": list(self.guardrails),
            "latency_ms": round(self.latencyMs, 3),
        }


class ExchangeEvent:
    """
    One HTTP request through the proxy (a WebSocket: its connection), when
    it ends: the access line's fields, with the brief's metadata.

    @ivar fields: the record (request id, key, client, method, upstream,
        status, bytes, latency, outcome, threats, guardrails...).
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


Subscriber = Callable[[Any], None]


class EventBus:
    """
    Hands each event to the subscribers of its type.
    """

    def __init__(self) -> None:
        self._subscribers: dict[type, list[Subscriber]] = {MessageEvent: [], ExchangeEvent: []}

    def subscribe(self, kind: type, subscriber: Subscriber) -> None:
        self._subscribers.setdefault(kind, []).append(subscriber)

    def unsubscribe(self, kind: type, subscriber: Subscriber) -> None:
        subscribers = self._subscribers.get(kind, [])
        if subscriber in subscribers:
            subscribers.remove(subscriber)

    def wants(self, kind: type) -> bool:
        return bool(self._subscribers.get(kind))

    def publish(self, event: Any) -> None:
        for subscriber in self._subscribers.get(type(event), ()):
            try:
                subscriber(event)
            except Exception:
                log.failure("event subscriber {subscriber!r} failed", subscriber=subscriber)


__all__ = ["DROPPED", "EventBus", "ExchangeEvent", "FORWARDED", "MessageEvent", "REPLIED", "REWRITTEN"]
