"""
Alerts: a subscriber of the event stream that turns what the proxy sees
into notifications on the operator's channels (e-mail, Slack, a signed
webhook, the log), grouped so that an attack storm is one alert with a
count, never a thousand, and delivered without ever slowing the relay.

Alert types (C{alerts[].type}):

  - C{threat_detected}: a check found something (enforced or in monitor
    mode), of at least C{severity} when given, of C{checks} when given;
    one event per message and group (a message with two findings of one
    rule counts once);
  - C{request_blocked}: a message refused (a check, a role, an inspection
    error, a header mismatch; rate limits have their own type);
  - C{rate_limit_exceeded}: a request refused by a rate limit
    (C{check} is C{rate_limit}, C{rule} the guardrail);
  - C{tool_definition_changed}: a pinned tool (prompt, resource)
    definition changed and was withheld (check C{tool_pinning});
  - C{upstream_error}: an upstream unreachable, failing or timing out
    (the client got 502/504);
  - C{reload_failed}: a reloaded configuration was rejected;
    C{config_reloaded}: any reload, applied or rejected.

Grouping, as Alertmanager does it: events of one alert are split into
groups by C{group_by} (default: check, rule, upstream).  A group fires when
C{threshold} events came within C{window} (default: the first event).  Its
first notification waits C{group_wait} (30 s) to gather the storm; then at
most one notification per C{group_interval} (5 m: the cooldown), and only
when new events came, carrying their C{count} and the group's C{total};
a group quiet for a whole interval ends (the next event begins a new one).
At most 1,000 groups per alert: beyond, events count in one group whose
labels are C{"(other)"}.

Delivery: each channel has a bounded queue (C{queue_size}) and delivers one
notification at a time, each attempt within C{timeout}; a failed attempt is
retried after C{backoff}, doubling to C{max_backoff} (an HTTP
C{Retry-After} is honoured up to that); news of a group whose last
notification waits untried is merged into it (the counts add up); one still
undelivered after C{give_up_after}, one refused for good (an HTTP 4xx, an
SMTP 5xx), the oldest one when the queue is full, and those still queued
at shutdown (after a last attempt of up to L{Alerts.stopGrace} seconds) are
dropped: each counted and logged with its summary.  Nothing here waits in
the relay's path: subscribers only count and queue; deliveries are
asynchronous.  Alerts naming a channel that C{channels} does not configure
are written to the log and counted as dropped on that channel.

Everything an alert carries is masked as the logs are (the proxy's API
keys, the channels' own secrets, credentials and tokens:
L{akto_proxy.observe.logs.Redactor}); it holds names (the key's name, the
rule, the upstream's origin, the client's address), never a key, a
credential or a body.

The webhook (C{channels.webhook}) receives the notification's JSON (see
L{Notification.payload}) by POST with these headers:

    Content-Type: application/json
    X-Akto-Delivery: <the notification id; the same on every retry>
    X-Akto-Timestamp: <seconds since the epoch, at this attempt>
    X-Akto-Signature: sha256=<hex HMAC-SHA256 with the channel's secret
                      of "<X-Akto-Timestamp>.<raw body>">

A receiver recomputes the HMAC over the timestamp, a dot and the body
bytes as received, compares it in constant time, rejects a timestamp more
than a few minutes old (a replay) and may drop a delivery id it has seen
(a retry whose answer was lost).

Slack (C{channels.slack}) gets C{{"text": ...}} for an incoming webhook;
e-mail (C{channels.email}) a plain-text message with the same JSON at the
end, over SMTP with STARTTLS (C{require}: a verified certificate or no
delivery; C{opportunistic}; C{off}) and AUTH (CRAM-MD5, LOGIN, PLAIN) when
a username is configured.  Alert channels are the operator's own systems:
the upstream fence does not apply to them.

L{Alerts.stats} is the read-only view the metrics export.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import time
import uuid
from collections import deque
from io import BytesIO
from typing import Any, Callable, Optional

from twisted.application.service import Service
from twisted.internet import defer
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.internet.protocol import Protocol
from twisted.internet.ssl import CertificateOptions, optionsForClientTLS, platformTrust
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.client import Agent, BrowserLikePolicyForHTTPS, HTTPConnectionPool, ResponseDone
from twisted.web.http_headers import Headers

from akto_proxy.relay.http import BytesProducer
from akto_proxy import __version__
from akto_proxy.config import Config
from akto_proxy.config.model import Alert, Channels, EmailChannel, SlackChannel, WebhookChannel
from akto_proxy.mcp.events import FORWARDED, EventBus, MessageEvent, ReloadEvent, UpstreamFailureEvent
from akto_proxy.observe.logs import Redactor

log = Logger()

SEVERITY_RANK = {"low": 1, "medium": 2, "high": 3, "critical": 4}

#: outcomes that are refusals (C{request_blocked})
BLOCKING = frozenset(("blocked", "role_denied", "inspection_error", "header_mismatch"))

#: groups per alert; beyond, events count in one "(other)" group
MAX_GROUPS = 1000
OTHER = "(other)"

#: request ids kept per group, values counted per label (the rest: "(other)")
MAX_SAMPLES = 5
MAX_TALLY = 10

#: the first bytes of a receiver's answer kept for the log
MAX_ANSWER = 4096

#: severities of the types that have no findings
_TYPE_SEVERITY = {
    "rate_limit_exceeded": "medium",
    "upstream_error": "high",
    "reload_failed": "high",
    "config_reloaded": "low",
}


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds % 1 * 1000):03d}Z"


# -- counting


class SlidingCount:
    """
    Events in the last C{window} seconds, counted in sixtieths of it.
    """

    SLOTS = 60

    def __init__(self, window: float):
        self.width = window / self.SLOTS
        self.slots: deque[list[int]] = deque()
        self.total = 0

    def add(self, now: float) -> int:
        """
        Count one event at C{now}; the count within the window.
        """
        slot = int(now // self.width)
        slots = self.slots
        while slots and slots[0][0] <= slot - self.SLOTS:
            self.total -= slots.popleft()[1]
        if slots and slots[-1][0] == slot:
            slots[-1][1] += 1
        else:
            slots.append([slot, 1])
        self.total += 1
        return self.total


class Tally:
    """
    How often each value came, for at most L{MAX_TALLY} values (the others
    counted together under C{"(other)"}).
    """

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, value: Optional[str]) -> None:
        if value is None:
            return
        counts = self.counts
        if value in counts:
            counts[value] += 1
        elif len(counts) < MAX_TALLY:
            counts[value] = 1
        else:
            counts[OTHER] = counts.get(OTHER, 0) + 1

    def top(self) -> dict[str, int]:
        return dict(sorted(self.counts.items(), key=lambda kv: -kv[1]))


class Group:
    """
    The events of one alert that share their C{group_by} labels.

    @ivar count: events since the last notification.
    @ivar total: events since the group began firing.
    @ivar blocked: of C{count}, messages refused.
    """

    def __init__(self, rule: Alert, labels: tuple[tuple[str, Optional[str]], ...]):
        self.rule = rule
        self.labels = labels
        self.key = (rule, labels)
        self.id = uuid.uuid4().hex
        self.window = SlidingCount(rule.window) if rule.threshold > 1 else None
        self.firing = False
        self.count = 0
        self.total = 0
        self.blocked = 0
        self.severity = 0
        self.first = 0.0
        self.last = 0.0
        self.sequence = 0
        self.timer: Optional[IDelayedCall] = None
        self.requestIds: deque[str] = deque(maxlen=MAX_SAMPLES)
        self.keys = Tally()
        self.clients = Tally()
        self.tools = Tally()
        self.reasons = Tally()
        self.detail: Optional[str] = None

    def add(self, now: float, severity: str, blocked: bool, requestId: Optional[str] = None, key: Optional[str] = None, client: Optional[str] = None, tool: Optional[str] = None, reason: Optional[str] = None) -> bool:
        """
        Count one event; True when this event made the group fire.
        """
        if not self.count:
            self.first = now
        self.last = now
        self.count += 1
        if blocked:
            self.blocked += 1
        self.severity = max(self.severity, SEVERITY_RANK.get(severity, 1))
        if requestId is not None:
            self.requestIds.append(requestId)
        self.keys.add(key)
        self.clients.add(client)
        self.tools.add(tool)
        self.reasons.add(reason)
        if self.firing:
            self.total += 1
            return False
        inWindow = self.window.add(now) if self.window is not None else 1
        if inWindow < self.rule.threshold:
            return False
        self.firing = True
        self.first = max(self.first, now - self.rule.window)
        self.count = self.total = inWindow
        self.blocked = min(self.blocked, inWindow)
        return True


# -- notifications


class Notification:
    """
    What one channel delivers: a group's news, as a JSON payload (masked
    already).

    @ivar payload: the webhook's body::

        {"version": 1, "id": "<unique>", "alert": "<type>", "name": "<name or type>",
         "severity": "high", "summary": "...", "group": {"check": ..., "rule": ..., "upstream": ...},
         "count": N (since the previous notification of the group), "total": N (since the group
         began), "blocked": N (of count, refused), "first_seen": ISO, "last_seen": ISO,
         "sequence": n (1 for a group's first notification), "threshold": N, "window_s": S,
         "samples": {"request_ids": [...], "keys": {name: n}, "clients": {...}, "tools": {...},
         "reasons": {...}}, "detail": "...", "instance": "...", "proxy_version": "..."}
    """

    __slots__ = ("id", "groupId", "created", "payload", "attempts")

    def __init__(self, groupId: str, created: float, payload: dict[str, Any]):
        self.id = payload["id"]
        self.groupId = groupId
        self.created = created
        self.payload = payload
        self.attempts = 0

    @property
    def summary(self) -> str:
        return str(self.payload["summary"])

    def merge(self, newer: "Notification") -> None:
        """
        Take C{newer}'s news in (it waited behind this one): the counts add
        up, the rest is the newer's.
        """
        mine, theirs = self.payload, dict(newer.payload)
        theirs["id"] = mine["id"]
        theirs["count"] = mine["count"] + theirs["count"]
        theirs["blocked"] = mine["blocked"] + theirs["blocked"]
        theirs["first_seen"] = mine["first_seen"]
        theirs["summary"] = summarize(theirs)
        self.payload = theirs


def describe(group: dict[str, Any]) -> str:
    parts = []
    if group.get("check") or group.get("rule"):
        parts.append("/".join(str(group[k]) for k in ("check", "rule") if group.get(k)))
    for label, word in (("tool", "tool"), ("key", "key"), ("client", "from"), ("upstream", "on"), ("config", "in")):
        if group.get(label):
            parts.append(f"{word} {group[label]}")
    return " ".join(parts)


def summarize(payload: dict[str, Any]) -> str:
    what = describe(payload["group"])
    kind = payload["alert"]
    count = payload["count"]
    head = f"{payload['name']}: {count} event{'s' if count != 1 else ''}"
    if what:
        head += f" ({what})"
    if kind in ("threat_detected", "tool_definition_changed", "request_blocked") and payload["blocked"] != count:
        head += f", {payload['blocked']} refused, {count - payload['blocked']} relayed (monitor mode)"
    if payload["total"] != count:
        head += f", {payload['total']} in all"
    if payload.get("detail"):
        head += f": {payload['detail']}"
    return head


class DeliveryFailed(Exception):
    """
    A delivery attempt failed.

    @ivar permanent: retrying cannot help (the notification is dropped).
    @ivar retryAfter: seconds the receiver asked to wait, if it did.
    """

    def __init__(self, message: str, permanent: bool = False, retryAfter: Optional[float] = None):
        super().__init__(message)
        self.permanent = permanent
        self.retryAfter = retryAfter


# -- channels


class _Answer(Protocol):
    """
    A receiver's answer: its first L{MAX_ANSWER} bytes kept, the rest read
    and dropped (so that the connection can be reused).  Cancelling
    C{done} stops the reading (and the connection).
    """

    def __init__(self) -> None:
        self.done: Deferred[bytes] = Deferred(self._cancel)
        self.data = b""

    def _cancel(self, d: "Deferred[bytes]") -> None:
        if self.transport is not None:
            self.transport.stopProducing()  # type: ignore[attr-defined]

    def dataReceived(self, data: bytes) -> None:
        if len(self.data) < MAX_ANSWER:
            self.data += data[: MAX_ANSWER - len(self.data)]

    def connectionLost(self, reason: Failure = Failure(ResponseDone())) -> None:
        if not self.done.called:
            self.done.callback(self.data)


class HTTPSender:
    """
    POSTs JSON to an operator's HTTP endpoint (Slack, a webhook): no
    upstream fence, no cookies, no redirects followed, TLS verified against
    the system's roots or the channel's C{ca_bundle}.
    """

    def __init__(self, reactor: Any, pool: HTTPConnectionPool, caBundle: Optional[str], timeout: float):
        trust: Any = platformTrust()
        if caBundle:
            from twisted.internet.ssl import Certificate, trustRootFromCertificates

            with open(caBundle, "rb") as f:
                pems = f.read()
            certs = [Certificate.loadPEM(b"-----BEGIN CERTIFICATE-----" + part) for part in pems.split(b"-----BEGIN CERTIFICATE-----")[1:]]
            trust = trustRootFromCertificates(certs)
        self.agent = Agent(reactor, BrowserLikePolicyForHTTPS(trust), connectTimeout=timeout, pool=pool)

    async def post(self, url: str, body: bytes, headers: dict[bytes, bytes]) -> bytes:
        h = Headers({b"content-type": [b"application/json"], b"user-agent": [f"akto-proxy/{__version__}".encode()]})
        for k, v in headers.items():
            h.setRawHeaders(k, [v])
        try:
            response = await self.agent.request(b"POST", url.encode("ascii"), h, BytesProducer(body))
        except defer.CancelledError:
            raise
        except Exception as e:
            raise DeliveryFailed(f"cannot reach the receiver: {e.__class__.__name__}: {e}") from None
        reader = _Answer()
        response.deliverBody(reader)
        answer = await reader.done
        code = response.code
        if 200 <= code < 300:
            return answer
        text = answer.decode("utf-8", "replace")[:200]
        if code in (408, 429) or code >= 500:
            retry = response.headers.getRawHeaders(b"retry-after", [b""])[0]
            raise DeliveryFailed(f"HTTP {code} {text}".strip(), retryAfter=float(retry) if retry.isdigit() else None)
        raise DeliveryFailed(f"HTTP {code} {text}".strip(), permanent=True)


class SlackChannelSender:
    name = "slack"

    def __init__(self, config: SlackChannel, reactor: Any, pool: HTTPConnectionPool):
        self.config = config
        self.http = HTTPSender(reactor, pool, config.ca_bundle, config.delivery.timeout)

    def send(self, n: Notification, now: float) -> "Deferred[Any]":
        p = n.payload
        lines = [f"*{_slack(p['name'])}* ({p['severity']}): {_slack(p['summary'])}"]
        lines.append(f"first seen {p['first_seen']}, last seen {p['last_seen']} · {_slack(p['instance'])}")
        samples = p["samples"]
        for label in ("keys", "clients", "tools"):
            if samples.get(label):
                lines.append(f"{label}: " + ", ".join(f"{_slack(k)} ({v})" for k, v in samples[label].items()))
        if samples.get("request_ids"):
            lines.append("requests: " + ", ".join(f"`{_slack(r)}`" for r in samples["request_ids"]))
        body = json.dumps({"text": "\n".join(lines)}).encode("utf-8")
        return Deferred.fromCoroutine(self.http.post(self.config.webhook_url, body, {}))


def _slack(text: Any) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """
    The C{X-Akto-Signature} value: C{sha256=} and the hex HMAC-SHA256 of
    C{"<timestamp>.<body>"}.
    """
    return "sha256=" + hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


class WebhookChannelSender:
    name = "webhook"

    def __init__(self, config: WebhookChannel, reactor: Any, pool: HTTPConnectionPool):
        self.config = config
        self.http = HTTPSender(reactor, pool, config.ca_bundle, config.delivery.timeout)

    def send(self, n: Notification, now: float) -> "Deferred[Any]":
        body = json.dumps(n.payload, separators=(",", ":")).encode("utf-8")
        timestamp = str(int(now))
        headers = {k.encode("latin-1"): v.encode("latin-1") for k, v in self.config.headers}
        headers[b"x-akto-delivery"] = n.id.encode("ascii")
        headers[b"x-akto-timestamp"] = timestamp.encode("ascii")
        if self.config.secret is not None:
            headers[b"x-akto-signature"] = sign(self.config.secret, timestamp, body).encode("ascii")
        return Deferred.fromCoroutine(self.http.post(self.config.url, body, headers))


class EmailChannelSender:
    """
    SMTP with Twisted's ESMTP client: STARTTLS per C{starttls}, AUTH when a
    username is configured (never without TLS: the loader insists).
    """

    name = "email"

    def __init__(self, config: EmailChannel, reactor: Any):
        self.config = config
        self.reactor = reactor
        self._tls: Any = None
        if config.starttls == "require":
            trust: Any = platformTrust()
            if config.ca_bundle:
                from twisted.internet.ssl import Certificate, trustRootFromCertificates

                with open(config.ca_bundle, "rb") as f:
                    pems = f.read()
                trust = trustRootFromCertificates(
                    [Certificate.loadPEM(b"-----BEGIN CERTIFICATE-----" + part) for part in pems.split(b"-----BEGIN CERTIFICATE-----")[1:]]
                )
            self._tls = optionsForClientTLS(config.smtp_host, trustRoot=trust)
        elif config.starttls == "opportunistic":
            self._tls = CertificateOptions()  # TLS when offered, not verified (RFC 7435)

    def message(self, n: Notification, now: float) -> bytes:
        # imported here: most deployments have no email channel (the
        # email package costs half a megabyte of every process)
        from email.message import EmailMessage
        from email.utils import formatdate, make_msgid

        p = n.payload
        c = self.config
        m = EmailMessage()
        subject = f"{c.subject_prefix} {p['summary']}".strip()
        m["Subject"] = subject if len(subject) <= 200 else subject[:197] + "..."
        m["From"] = c.from_address
        m["To"] = ", ".join(c.to)
        m["Date"] = formatdate(now)
        m["Message-ID"] = make_msgid("alert", c.from_address.rpartition("@")[2] or None)
        m["X-Akto-Alert"] = p["alert"]
        m["X-Akto-Delivery"] = n.id
        samples = p["samples"]
        lines = [
            p["summary"],
            "",
            f"alert:      {p['name']} ({p['alert']}), severity {p['severity']}",
            f"group:      {describe(p['group']) or '-'}",
            f"count:      {p['count']} ({p['blocked']} refused), {p['total']} since the group began",
            f"first seen: {p['first_seen']}",
            f"last seen:  {p['last_seen']}",
            f"instance:   {p['instance']}",
        ]
        for label in ("keys", "clients", "tools", "reasons"):
            if samples.get(label):
                lines.append(f"{label + ':':11} " + ", ".join(f"{k} ({v})" for k, v in samples[label].items()))
        if samples.get("request_ids"):
            lines.append("requests:   " + ", ".join(samples["request_ids"]))
        lines += ["", "--", json.dumps(p, indent=2)]
        m.set_content("\n".join(lines))
        return m.as_bytes()

    def send(self, n: Notification, now: float) -> "Deferred[Any]":
        from twisted.mail.smtp import ESMTPSenderFactory, SMTPClientError

        c = self.config
        result: Deferred[Any] = Deferred()
        factory = ESMTPSenderFactory(
            c.username.encode("utf-8") if c.username else None,
            c.password.encode("utf-8") if c.password else None,
            c.from_address,
            list(c.to),
            BytesIO(self.message(n, now)),
            result,
            retries=0,
            contextFactory=self._tls,
            heloFallback=c.starttls != "require",
            requireAuthentication=c.username is not None,
            requireTransportSecurity=c.starttls == "require",
        )
        factory.noisy = False
        connector = self.reactor.connectTCP(c.smtp_host, c.smtp_port, factory, timeout=c.delivery.timeout)

        def cancel(d: Deferred[Any]) -> None:
            protocol = getattr(factory, "currentProtocol", None)
            transport = getattr(protocol, "transport", None)
            if transport is not None:
                transport.abortConnection()
            connector.disconnect()

        done: Deferred[Any] = Deferred(cancel)

        def ok(value: Any) -> None:
            if not done.called:
                done.callback(value)

        def failed(f: Failure) -> None:
            if done.called:
                return
            error = f.value
            code = getattr(error, "code", 0) if isinstance(error, SMTPClientError) else 0
            permanent = isinstance(code, int) and 500 <= code < 600
            done.errback(DeliveryFailed(f"SMTP {code or ''} {error}".replace("  ", " ").strip(), permanent=permanent))

        result.addCallbacks(ok, failed)
        return done


class LogChannelSender:
    name = "log"

    def send(self, n: Notification, now: float) -> "Deferred[Any]":
        log.warn("alert: {summary}", summary=n.summary, alert=n.payload)
        return succeed(None)


# -- queues


class Outbox:
    """
    One channel's queue: one notification in flight at a time, retried
    with exponential backoff.  See the module's docstring.

    @ivar sender: None for a channel that is not configured (its
        notifications are logged and dropped).
    """

    def __init__(self, name: str, clock: IReactorTime, onChange: Callable[[], None] = lambda: None):
        self.name = name
        self.clock = clock
        self.onChange = onChange
        self.sender: Any = None
        self.delivery: Any = None
        self.queue: deque[Notification] = deque()
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self._inflight: Optional[Deferred[Any]] = None
        self._timer: Optional[IDelayedCall] = None
        self._idle: list[Deferred[None]] = []
        self.stopping = False
        self.abandoned = False

    def configure(self, sender: Any, delivery: Any) -> None:
        self.sender = sender
        self.delivery = delivery
        if sender is None:
            for n in list(self.queue):
                self._drop(n, "the channel is no longer configured")
            self.queue.clear()
        self._kick()

    @property
    def inflight(self) -> bool:
        """
        A delivery attempt is under way.
        """
        return self._inflight is not None

    def stats(self) -> dict[str, int]:
        return {"sent": self.sent, "failed": self.failed, "dropped": self.dropped, "queued": len(self.queue)}

    def put(self, n: Notification) -> None:
        if self.sender is None:
            self.dropped += 1
            log.warn(
                "alert for channel {channel}, which is not configured: {summary}",
                channel=self.name,
                summary=n.summary,
                alert=n.payload,
            )
            return
        for queued in self.queue:
            # never into one already tried: the receiver may have it (an
            # answer lost), and would take the retry, of the same id, for it
            if queued.groupId == n.groupId and not queued.attempts:
                queued.merge(n)
                return
        self.queue.append(n)
        while len(self.queue) > self.delivery.queue_size:
            oldest = self.queue[1] if self._inflight is not None else self.queue[0]
            self.queue.remove(oldest)
            self._drop(oldest, f"the queue is full ({self.delivery.queue_size})")
        self._kick()

    def _drop(self, n: Notification, why: str) -> None:
        self.dropped += 1
        self.onChange()
        log.error(
            "alert dropped on channel {channel} ({why}): {summary}",
            channel=self.name,
            why=why,
            summary=n.summary,
            attempts=n.attempts,
            alert_id=n.id,
        )

    def _kick(self) -> None:
        if self._inflight is not None or self._timer is not None or self.abandoned:
            return
        if not self.queue or self.sender is None:
            self._wake()
            return
        n = self.queue[0]
        n.attempts += 1
        d = defer.maybeDeferred(self.sender.send, n, self.clock.seconds())
        d.addTimeout(self.delivery.timeout, self.clock)
        self._inflight = d
        d.addCallbacks(self._sent, self._failed, callbackArgs=(n,), errbackArgs=(n,))
        self.onChange()

    def _sent(self, _: Any, n: Notification) -> None:
        self._inflight = None
        self.sent += 1
        self.onChange()
        if self.queue and self.queue[0] is n:
            self.queue.popleft()
        log.info("alert delivered on channel {channel}: {summary}", channel=self.name, summary=n.summary, attempts=n.attempts, alert_id=n.id)
        self._kick()

    def _failed(self, f: Failure, n: Notification) -> None:
        self._inflight = None
        self.failed += 1
        self.onChange()
        error = f.value
        permanent = isinstance(error, DeliveryFailed) and error.permanent
        why = str(error) if isinstance(error, DeliveryFailed) else ("timed out" if f.check(defer.TimeoutError, defer.CancelledError) else f"{error.__class__.__name__}: {error}")
        now = self.clock.seconds()
        if not self.queue or self.queue[0] is not n:  # abandoned meanwhile
            self._wake()
            return
        if permanent or self.stopping or now - n.created >= self.delivery.give_up_after:
            self.queue.popleft()
            reason = "refused by the receiver" if permanent else "shutting down" if self.stopping else f"undelivered after {n.attempts} attempts"
            self._drop(n, f"{reason}: {why}")
            self._kick()
            return
        d = self.delivery
        delay = min(d.max_backoff, d.backoff * 2 ** (n.attempts - 1))
        if isinstance(error, DeliveryFailed) and error.retryAfter is not None:
            delay = min(d.max_backoff, max(delay, error.retryAfter))
        log.warn(
            "alert delivery failed on channel {channel} (attempt {attempts}): {error}; retrying in {delay} s",
            channel=self.name,
            attempts=n.attempts,
            error=why,
            delay=delay,
            alert_id=n.id,
        )
        self._timer = self.clock.callLater(delay, self._retry)

    def _retry(self) -> None:
        self._timer = None
        self._kick()

    # -- stopping

    def _wake(self) -> None:
        waiters, self._idle = self._idle, []
        for w in waiters:
            w.callback(None)

    def drain(self) -> "Deferred[None]":
        """
        A last attempt for what waits (no more retries): fires when the
        queue is empty or its head failed.
        """
        self.stopping = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self.queue and self._inflight is None:
            return succeed(None)
        d: Deferred[None] = Deferred()
        self._idle.append(d)
        self._kick()
        return d

    def abandon(self) -> None:
        """
        Stop now: what is in flight is cancelled, what waits is dropped.
        """
        self.stopping = self.abandoned = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        queued = list(self.queue)
        self.queue.clear()
        for n in queued:
            self._drop(n, "shutting down")
        if self._inflight is not None:
            self._inflight.cancel()
        self._wake()


# -- the service


class Alerts(Service):
    """
    The alerts of the configuration, fed by the event bus.

    @param reactor: connects to the channels.
    @param clock: times groups, retries and delivery timeouts.
    @ivar stopGrace: seconds (of the reactor's time) that the notifications
        still queued at shutdown get for a last attempt.
    @ivar fired: per alert type, the groups that began firing (only grows).
    """

    name = "alerts"
    stopGrace = 5.0

    def __init__(self, config: Config, bus: EventBus, reactor: Any, clock: IReactorTime):
        self.bus = bus
        self.reactor = reactor
        self.clock = clock
        self.config = config
        self.instance = config.metrics.instance or f"{socket.gethostname()}:{os.getpid()}"
        self.pool = HTTPConnectionPool(reactor, persistent=True)
        self.pool.maxPersistentPerHost = 2
        self.pool.retryAutomatically = False
        self.groups: dict[tuple[Any, ...], Group] = {}
        self.fired: dict[str, int] = {}
        self.outboxes: dict[str, Outbox] = {}
        self._byType: dict[str, list[Alert]] = {}
        self._groupsPerRule: dict[Alert, int] = {}
        self._subscribed = False
        self._redactor: Optional[Redactor] = None
        self._watchers: list[Deferred[None]] = []
        self._apply(config)

    # -- configuration

    def _apply(self, config: Config) -> None:
        self.config = config
        byType: dict[str, list[Alert]] = {}
        for rule in config.alerts:
            byType.setdefault(rule.type, []).append(rule)
        self._byType = byType
        self._redactor = None
        wanted = {name for rule in config.alerts for name in rule.channels}
        wanted |= {name for name in ("email", "slack", "webhook") if getattr(config.channels, name) is not None}
        for name in sorted(wanted | set(self.outboxes)):
            outbox = self.outboxes.get(name)
            if outbox is None:
                outbox = self.outboxes[name] = Outbox(name, self.clock, self._changed)
            if name not in wanted:
                outbox.configure(None, None)
                continue
            sender, delivery = self._sender(name, config.channels, outbox)
            outbox.configure(sender, delivery)

    def _sender(self, name: str, channels: Channels, outbox: Outbox) -> tuple[Any, Any]:
        from akto_proxy.config.model import Delivery

        current = outbox.sender
        if name == "log":
            return (current if isinstance(current, LogChannelSender) else LogChannelSender()), Delivery()
        settings = getattr(channels, name)
        if settings is None:
            return None, None
        if current is not None and getattr(current, "config", None) == settings:
            return current, settings.delivery
        if isinstance(settings, EmailChannel):
            return EmailChannelSender(settings, self.reactor), settings.delivery
        if isinstance(settings, SlackChannel):
            return SlackChannelSender(settings, self.reactor, self.pool), settings.delivery
        return WebhookChannelSender(settings, self.reactor, self.pool), settings.delivery

    def reconfigure(self, full: Config) -> None:
        """
        A reload: groups of alerts that are gone are notified now (when
        firing) and end; channels take their new settings, keeping their
        queues and counts.
        """
        if full.alerts != self.config.alerts:
            kept = set(full.alerts)
            for key, group in list(self.groups.items()):
                if group.rule not in kept:
                    self._end(group, notify=True)
        self._apply(full)
        if self.running:
            self._subscribe()

    # -- service

    def startService(self) -> None:
        super().startService()
        self._subscribe()

    def _subscribe(self, want: Optional[bool] = None) -> None:
        """
        Take events only while some alert wants them.
        """
        if want is None:
            want = bool(self.config.alerts)
        if want == self._subscribed:
            return
        self._subscribed = want
        if want:
            self.bus.subscribe(MessageEvent, self.message, notableOnly=True)
            self.bus.subscribe(UpstreamFailureEvent, self.upstreamFailed)
            self.bus.subscribe(ReloadEvent, self.reloaded)
        else:
            self.bus.unsubscribe(MessageEvent, self.message)
            self.bus.unsubscribe(UpstreamFailureEvent, self.upstreamFailed)
            self.bus.unsubscribe(ReloadEvent, self.reloaded)

    @defer.inlineCallbacks
    def stopService(self) -> Any:
        """
        Groups waiting for their notification are notified now; each
        channel gets a last attempt for what waits, for at most
        L{stopGrace} seconds; what is left is dropped, counted and logged.
        """
        super().stopService()
        self._subscribe(False)
        for group in list(self.groups.values()):
            self._end(group, notify=True)
        drains = [outbox.drain() for outbox in self.outboxes.values()]
        if any(not d.called for d in drains):
            gate: Deferred[None] = Deferred()

            def open_(_: Any = None) -> None:
                if not gate.called:
                    gate.callback(None)

            defer.DeferredList(drains, consumeErrors=True).addBoth(open_)
            timer = self.reactor.callLater(self.stopGrace, open_)
            yield gate
            if timer.active():
                timer.cancel()
        for outbox in self.outboxes.values():
            outbox.abandon()
        yield self.pool.closeCachedConnections()

    # -- what the bus brings

    def message(self, event: MessageEvent) -> None:
        byType = self._byType
        if not byType:
            return
        outcome = event.outcome
        findings = event.findings
        if outcome == "rate_limited":
            for rule in byType.get("rate_limit_exceeded", ()):
                guardrail = event.guardrails[0] if event.guardrails else None
                self._count(rule, event, "rate_limit", guardrail, "medium", reason=event.reason)
            return
        refused = event.action != FORWARDED and outcome in BLOCKING
        if findings:
            for kind in ("threat_detected", "tool_definition_changed"):
                for rule in byType.get(kind, ()):
                    least = SEVERITY_RANK.get(rule.severity or "low", 1)
                    seen: set[tuple[str, str]] = set()
                    for f in findings:
                        if kind == "tool_definition_changed" and f.check != "tool_pinning":
                            continue
                        if SEVERITY_RANK.get(f.severity, 1) < least or (rule.checks and f.check not in rule.checks):
                            continue
                        if (f.check, f.rule) in seen:
                            continue
                        seen.add((f.check, f.rule))
                        self._count(rule, event, f.check, f.rule, f.severity, blocked=event.action != FORWARDED, reason=event.reason)
        if refused:
            for rule in byType.get("request_blocked", ()):
                least = SEVERITY_RANK.get(rule.severity or "low", 1)
                chosen = None
                for f in findings:
                    if f.enforced and SEVERITY_RANK.get(f.severity, 1) >= least and (not rule.checks or f.check in rule.checks):
                        chosen = f
                        break
                if chosen is None and (rule.severity or rule.checks):
                    continue
                check, ruleName, severity = (chosen.check, chosen.rule, chosen.severity) if chosen else (outcome, None, "medium")
                self._count(rule, event, check, ruleName, severity, blocked=True, reason=event.reason)

    def upstreamFailed(self, event: UpstreamFailureEvent) -> None:
        for rule in self._byType.get("upstream_error", ()):
            group = self._group(rule, {"upstream": event.upstream})
            if group.add(event.time, "high", False, reason=event.reason):
                self._fire(group)

    def reloaded(self, event: ReloadEvent) -> None:
        kinds = ("config_reloaded",) if event.ok else ("config_reloaded", "reload_failed")
        for kind in kinds:
            for rule in self._byType.get(kind, ()):
                group = self._group(rule, {"config": event.path})
                group.detail = f"generation {event.generation} in force" + (f"; rejected: {event.error}" if not event.ok else "")
                if group.add(event.time, "high" if not event.ok else "low", not event.ok, reason="rejected" if not event.ok else "applied"):
                    self._fire(group)

    def _count(self, rule: Alert, event: MessageEvent, check: Optional[str], ruleName: Optional[str], severity: str, blocked: bool = True, reason: Optional[str] = None) -> None:
        context = event.context
        target = getattr(context, "target", None)
        labels = {
            "check": check,
            "rule": ruleName,
            "upstream": getattr(target, "origin", None),
            "key": event.keyName,
            "client": event.client,
            "tool": event.name,
        }
        group = self._group(rule, labels)
        if group.add(event.time, severity, blocked, event.requestId, labels["key"], labels["client"], labels["tool"], reason):
            self._fire(group)

    def _group(self, rule: Alert, labels: dict[str, Optional[str]]) -> Group:
        fields = rule.group_by if rule.type not in ("upstream_error", "config_reloaded", "reload_failed") else tuple(labels)
        key = (rule, tuple((f, labels.get(f)) for f in fields))
        group = self.groups.get(key)
        if group is not None:
            return group
        if self._groupsPerRule.get(rule, 0) >= MAX_GROUPS:
            self._sweep(rule)
            if self._groupsPerRule.get(rule, 0) >= MAX_GROUPS:
                key = (rule, tuple((f, OTHER) for f in fields))
                group = self.groups.get(key)
                if group is not None:
                    return group
        group = self.groups[key] = Group(rule, key[1])
        self._groupsPerRule[rule] = self._groupsPerRule.get(rule, 0) + 1
        return group

    def _sweep(self, rule: Alert) -> None:
        """
        Forget the groups of C{rule} below their threshold whose events
        have all left the window.
        """
        now = self.clock.seconds()
        for key, group in list(self.groups.items()):
            if group.rule is rule and not group.firing and now - group.last >= rule.window:
                self._forget(group)

    def _forget(self, group: Group) -> None:
        if self.groups.pop(group.key, None) is not None:
            self._groupsPerRule[group.rule] -= 1
        if group.timer is not None and group.timer.active():
            group.timer.cancel()
        group.timer = None

    # -- notifying

    def _fire(self, group: Group) -> None:
        self.fired[group.rule.type] = self.fired.get(group.rule.type, 0) + 1
        group.timer = self.clock.callLater(group.rule.group_wait, self._due, group)

    def _due(self, group: Group) -> None:
        group.timer = None
        if not group.count:
            self._forget(group)  # quiet for a whole interval: the group ends
            return
        self._notify(group)
        group.timer = self.clock.callLater(group.rule.group_interval, self._due, group)

    def _end(self, group: Group, notify: bool) -> None:
        if notify and group.firing and group.count:
            self._notify(group)
        self._forget(group)

    def _notify(self, group: Group) -> None:
        rule = group.rule
        group.sequence += 1
        now = self.clock.seconds()
        severity = _TYPE_SEVERITY.get(rule.type) or next((name for name, rank in SEVERITY_RANK.items() if rank == group.severity), "high")
        labels = {k: v for k, v in group.labels if v is not None}
        payload: dict[str, Any] = {
            "version": 1,
            "id": uuid.uuid4().hex,
            "alert": rule.type,
            "name": rule.title,
            "severity": severity,
            "summary": "",
            "group": labels,
            "count": group.count,
            "total": group.total,
            "blocked": group.blocked,
            "first_seen": _iso(group.first),
            "last_seen": _iso(group.last),
            "sequence": group.sequence,
            "threshold": rule.threshold,
            "window_s": rule.window,
            "samples": {
                "request_ids": list(group.requestIds),
                "keys": group.keys.top(),
                "clients": group.clients.top(),
                "tools": group.tools.top(),
                "reasons": group.reasons.top(),
            },
            "detail": group.detail,
            "instance": self.instance,
            "proxy_version": __version__,
        }
        payload = self.redactor().maskAll(payload)
        payload["summary"] = summarize(payload)
        group.count = 0
        group.blocked = 0
        group.requestIds.clear()
        group.keys, group.clients, group.tools, group.reasons = Tally(), Tally(), Tally(), Tally()
        for name in rule.channels:
            outbox = self.outboxes.get(name)
            if outbox is not None:
                outbox.put(Notification(group.id, now, dict(payload)))

    def redactor(self) -> Redactor:
        """
        The masking of everything an alert carries: the proxy's keys, the
        channels' own secrets, credentials and tokens.
        """
        if self._redactor is None:
            c = self.config.channels
            known = [
                c.email.password if c.email else None,
                c.webhook.secret.decode("utf-8", "replace") if c.webhook and c.webhook.secret else None,
                c.slack.webhook_url if c.slack else None,
            ]
            # not the personal-data rules: an alert's client addresses and
            # upstreams are what it is about, and it carries no bodies
            self._redactor = Redactor.forKeys(self.config.access_control.api_keys, known=[k for k in known if k], personal=False)
        return self._redactor

    # -- for others

    def changed(self) -> "Deferred[None]":
        """
        A Deferred that fires at the next change of L{stats} (an attempt
        begun, a notification sent, failed or dropped): one fresh Deferred
        per waiter.
        """
        d: Deferred[None] = Deferred()
        self._watchers.append(d)
        return d

    def _changed(self) -> None:
        watchers, self._watchers = self._watchers, []
        for d in watchers:
            d.callback(None)

    def stats(self) -> dict[str, dict[str, int]]:
        """
        Per channel (C{email}, C{slack}, C{webhook}, C{log}: each one
        configured or named by an alert), counts that only grow, except
        C{queued}:

          - C{sent}: notifications delivered;
          - C{failed}: delivery attempts that failed (each retry counts);
          - C{dropped}: notifications given up (refused for good, too old,
            the queue full, shutting down, or the channel not configured);
          - C{queued}: notifications waiting now, the one in flight
            included.

        These names are stable: the metrics export them.
        """
        return {name: outbox.stats() for name, outbox in sorted(self.outboxes.items())}


__all__ = ["Alerts", "DeliveryFailed", "Notification", "Outbox", "sign"]
