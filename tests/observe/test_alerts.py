"""
Alerts on a clock: grouping (one storm, one notification with its count),
the cooldown, thresholds per window, and each channel's queue (retries
with exponential backoff, merging, bounds, giving up), all counted.
"""

from __future__ import annotations

import textwrap
from typing import Any, Optional

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.task import Clock
from twisted.logger import LogLevel, globalLogPublisher
from twisted.test.proto_helpers import EventLoggingObserver
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.config import parseConfig
from akto_proxy.inspect.chain import Finding
from akto_proxy.mcp.events import EventBus, MessageEvent, ReloadEvent, UpstreamFailureEvent
from akto_proxy.observe.alerts import Alerts, DeliveryFailed, SlidingCount
from akto_proxy.relay.url import Target
from tests.harness import KEY

CHANNELS = """
channels:
  slack: {webhook_url: "https://hooks.example.com/services/T0/B0/XYZ"}
  webhook: {url: "https://siem.example.com/akto", secret: "webhook-secret-0123", backoff: 5s, max_backoff: 40s, give_up_after: 10m, queue_size: 3}
"""


class _Context:
    def __init__(self, requestId: str, key: str = "tester", port: int = 9000):
        self.requestId = requestId
        self.keyName = key
        self.clientAddress = "127.0.0.1"
        self.target = Target("http", "127.0.0.1", port, b"/mcp")


def event(
    t: float,
    i: int = 0,
    rule: str = "union_based",
    check: str = "sql_injection",
    severity: str = "high",
    outcome: str = "blocked",
    enforced: bool = True,
    port: int = 9000,
    reason: Optional[str] = None,
    guardrails: tuple[str, ...] = (),
) -> MessageEvent:
    findings = (Finding(check, rule, "params.arguments.q", severity, "block", enforced),) if outcome != "rate_limited" else ()
    action = "replied" if outcome in ("blocked", "rate_limited") else "forwarded"
    return MessageEvent(t, _Context(f"req_{i}", port=port), "client_request", "http", "tools/call", "run_sql", action, outcome, reason or outcome, findings, guardrails, None)


class FakeSender:
    """
    Answers each send with the next outcome of C{script} (True: sent, an
    exception: failed, None: never answers), then with success.
    """

    def __init__(self, *script: Any):
        self.script = list(script)
        self.sent: list[tuple[float, dict[str, Any]]] = []
        self.attempts: list[float] = []

    def send(self, n: Any, now: float) -> "Deferred[Any]":
        self.attempts.append(now)
        outcome = self.script.pop(0) if self.script else True
        if outcome is None:
            return Deferred()
        if isinstance(outcome, Exception):
            return fail(outcome)
        self.sent.append((now, n.payload))
        return succeed(None)


class Base(SynchronousTestCase):
    def make(self, alerts: str, channels: str = CHANNELS, **senders: Any) -> Alerts:
        text = 'listen: ["tcp:1"]\naccess_control:\n  api_keys: [{name: tester, key: "%s"}]\n' % KEY + textwrap.dedent(channels) + textwrap.dedent(alerts)
        self.config = parseConfig(text, "a.yaml")
        self.clock = Clock()
        self.clock.advance(1_800_000_000)
        self.bus = EventBus()
        self.alerts = Alerts(self.config, self.bus, self.clock, self.clock)
        self.alerts.stopGrace = 0
        for name, sender in senders.items():
            self.alerts.outboxes[name].sender = sender
        self.alerts.startService()
        self.addCleanup(self.stop)
        return self.alerts

    def stop(self) -> None:
        if self.alerts.running:
            self.alerts.stopService()

    def publish(self, *events: Any) -> None:
        for e in events:
            self.bus.publish(e)


class GroupingTests(Base):
    def test_storm_is_one_notification(self) -> None:
        """
        1,000 blocked messages of one rule: one notification per channel,
        after group_wait, with the count.
        """
        slack, webhook = FakeSender(), FakeSender()
        self.make("alerts:\n  - {type: threat_detected, severity: high, channels: [slack, webhook]}\n", slack=slack, webhook=webhook)
        now = self.clock.seconds()
        for i in range(1000):
            self.publish(event(now, i))
        self.clock.advance(29)
        self.assertEqual(slack.sent, [])
        self.clock.advance(1)
        self.assertEqual(len(slack.sent), 1)
        self.assertEqual(len(webhook.sent), 1)
        payload = webhook.sent[0][1]
        self.assertEqual((payload["count"], payload["total"], payload["blocked"], payload["sequence"]), (1000, 1000, 1000, 1))
        self.assertEqual(payload["group"], {"check": "sql_injection", "rule": "union_based", "upstream": "http://127.0.0.1:9000"})
        self.assertEqual((payload["alert"], payload["severity"]), ("threat_detected", "high"))
        self.assertEqual(payload["samples"]["keys"], {"tester": 1000})
        self.assertEqual(payload["samples"]["request_ids"], [f"req_{i}" for i in range(995, 1000)])
        self.assertEqual(payload["summary"], "threat_detected: 1000 events (sql_injection/union_based on http://127.0.0.1:9000)")
        self.assertEqual(self.alerts.fired, {"threat_detected": 1})
        self.assertEqual(self.alerts.stats()["webhook"], {"sent": 1, "failed": 0, "dropped": 0, "queued": 0})

    def test_groups_and_filters(self) -> None:
        log = FakeSender()
        self.make(
            """\
            alerts:
              - {type: threat_detected, severity: high, channels: [log]}
              - {type: threat_detected, checks: [path_traversal], group_by: [check], channels: [log]}
            """,
            log=log,
        )
        now = self.clock.seconds()
        self.publish(
            event(now, 1),
            event(now, 2, rule="tautology"),
            event(now, 3, port=9001),
            event(now, 4, severity="medium"),  # below high: the first alert ignores it
            event(now, 5, check="path_traversal", rule="dotdot"),
            event(now, 6, check="path_traversal", rule="root_escape", port=9002),
        )
        self.clock.advance(30)
        got = sorted((p["name"], tuple(sorted(p["group"].items())), p["count"]) for _, p in log.sent)
        self.assertEqual(
            got,
            [
                ("threat_detected", (("check", "path_traversal"),), 2),
                ("threat_detected", (("check", "path_traversal"), ("rule", "dotdot"), ("upstream", "http://127.0.0.1:9000")), 1),
                ("threat_detected", (("check", "path_traversal"), ("rule", "root_escape"), ("upstream", "http://127.0.0.1:9002")), 1),
                ("threat_detected", (("check", "sql_injection"), ("rule", "tautology"), ("upstream", "http://127.0.0.1:9000")), 1),
                ("threat_detected", (("check", "sql_injection"), ("rule", "union_based"), ("upstream", "http://127.0.0.1:9000")), 1),
                ("threat_detected", (("check", "sql_injection"), ("rule", "union_based"), ("upstream", "http://127.0.0.1:9001")), 1),
            ],
        )

    def test_monitor_mode_counts_relayed(self) -> None:
        log = FakeSender()
        self.make("alerts:\n  - {type: threat_detected, channels: [log]}\n", log=log)
        now = self.clock.seconds()
        self.publish(event(now, 1), event(now, 2, outcome="relayed", enforced=False), event(now, 3, outcome="relayed", enforced=False))
        self.clock.advance(30)
        payload = log.sent[0][1]
        self.assertEqual((payload["count"], payload["blocked"]), (3, 1))
        self.assertIn("1 refused, 2 relayed (monitor mode)", payload["summary"])

    def test_cooldown(self) -> None:
        """
        After the first notification, at most one per group_interval, with
        what came meanwhile; a quiet interval ends the group.
        """
        log = FakeSender()
        self.make("alerts:\n  - {type: threat_detected, group_wait: 10s, group_interval: 5m, channels: [log]}\n", log=log)
        start = self.clock.seconds()
        self.publish(event(start, 1))
        self.clock.advance(10)
        for i in range(50):
            self.clock.advance(2)
            self.publish(event(self.clock.seconds(), i))
        self.clock.advance(300 - 100)
        self.assertEqual([(t - start, p["count"], p["total"], p["sequence"]) for t, p in log.sent], [(10, 1, 1, 1), (310, 50, 51, 2)])
        self.clock.advance(300)  # quiet: the group ends, nothing sent
        self.assertEqual(len(log.sent), 2)
        self.assertEqual(self.alerts.groups, {})
        self.publish(event(self.clock.seconds(), 99))
        self.clock.advance(10)
        self.assertEqual([(p["count"], p["total"], p["sequence"]) for _, p in log.sent[2:]], [(1, 1, 1)])

    def test_rate_limit_threshold_per_window(self) -> None:
        """
        The brief's rate_limit_exceeded with threshold 1000: 999 refusals in
        a minute raise nothing; the 1000th within the window does.
        """
        log = FakeSender()
        self.make("alerts:\n  - {type: rate_limit_exceeded, threshold: 1000, group_wait: 0s, channels: [log]}\n", log=log)
        for i in range(999):
            self.publish(event(self.clock.seconds(), i, outcome="rate_limited", guardrails=("Rate Limiting",)))
            self.clock.advance(0.1)  # 999 in 99.9 s: never 1,000 in 60 s
        self.clock.advance(0)
        self.assertEqual(log.sent, [])
        self.clock.advance(60)
        for i in range(1000):
            self.publish(event(self.clock.seconds(), i, outcome="rate_limited", guardrails=("Rate Limiting",)))
            self.clock.advance(0.05)  # 1,000 in 50 s
        self.assertEqual(len(log.sent), 1)
        payload = log.sent[0][1]
        self.assertEqual((payload["alert"], payload["count"], payload["group"]["rule"], payload["severity"]), ("rate_limit_exceeded", 1000, "Rate Limiting", "medium"))

    def test_bounded_groups(self) -> None:
        log = FakeSender()
        self.make("alerts:\n  - {type: threat_detected, group_by: [rule], channels: [log]}\n", log=log)
        now = self.clock.seconds()
        for i in range(1500):
            self.publish(event(now, i, rule=f"rule_{i}"))
        self.assertEqual(len(self.alerts.groups), 1001)
        self.clock.advance(30)
        other = [p for _, p in log.sent if p["group"]["rule"] == "(other)"]
        self.assertEqual(other[0]["count"], 500)

    def test_upstream_and_reload(self) -> None:
        log = FakeSender()
        self.make(
            """\
            alerts:
              - {type: upstream_error, threshold: 3, window: 1m, group_wait: 0s, channels: [log]}
              - {type: reload_failed, group_wait: 0s, channels: [log]}
            """,
            log=log,
        )
        now = self.clock.seconds()
        self.publish(UpstreamFailureEvent(now, "https://a.example"), UpstreamFailureEvent(now, "https://a.example"), UpstreamFailureEvent(now, "https://b.example"))
        self.publish(ReloadEvent(now, "/etc/akto-proxy/akto-proxy.yaml", True, 2))
        self.clock.advance(0)
        self.assertEqual(log.sent, [])
        self.publish(UpstreamFailureEvent(now, "https://a.example", "connect"))
        self.publish(ReloadEvent(now, "/etc/akto-proxy/akto-proxy.yaml", False, 2, "/etc/akto-proxy/akto-proxy.yaml:3: upstreams.alow: unknown key"))
        self.clock.advance(0)
        got = {p["alert"]: p for _, p in log.sent}
        self.assertEqual((got["upstream_error"]["count"], got["upstream_error"]["group"]), (3, {"upstream": "https://a.example"}))
        self.assertIn("rejected: /etc/akto-proxy/akto-proxy.yaml:3: upstreams.alow: unknown key", got["reload_failed"]["summary"])

    def test_secrets_masked(self) -> None:
        """
        Whatever reaches an alert is masked as the logs are: a proxy key,
        the channel's own secret, a cloud key.
        """
        log = FakeSender()
        self.make("alerts:\n  - {type: request_blocked, channels: [log]}\n", log=log)
        reason = f"blocked: AKIAIOSFODNN7ABCDEFG {KEY} webhook-secret-0123"
        self.publish(event(self.clock.seconds(), 1, reason=reason))
        self.clock.advance(30)
        text = repr(log.sent)
        for secret in ("AKIAIOSFODNN7ABCDEFG", KEY, "webhook-secret-0123"):
            self.assertNotIn(secret, text)
        self.assertIn("[REDACTED:aws_access_key]", text)

    def test_sliding_count(self) -> None:
        window = SlidingCount(60)
        self.assertEqual([window.add(t) for t in (0, 10, 59)], [1, 2, 3])
        self.assertEqual(window.add(61), 3)  # the event at 0 has left
        self.assertEqual(window.add(200), 1)

    def test_no_alerts_no_subscription(self) -> None:
        self.make("")
        self.assertEqual(self.bus.notable, [])


class DeliveryTests(Base):
    ALERT = "alerts:\n  - {type: threat_detected, group_wait: 0s, group_interval: 1s, channels: [webhook]}\n"

    def test_backoff(self) -> None:
        """
        Failed attempts are retried after 5, 10, 20, 40, 40 s (max_backoff),
        a Retry-After is honoured; the count is delivered whole at last.
        """
        boom = DeliveryFailed("HTTP 503")
        sender = FakeSender(boom, boom, boom, boom, DeliveryFailed("HTTP 429", retryAfter=30), boom, True)
        self.make(self.ALERT, webhook=sender)
        start = self.clock.seconds()
        for i in range(10):
            self.publish(event(start, i))
        self.clock.advance(0)
        for _ in range(200):
            self.clock.advance(1)
        self.assertEqual([t - start for t in sender.attempts], [0, 5, 15, 35, 75, 115, 155])
        self.assertEqual(sender.sent[0][1]["count"], 10)
        self.assertEqual(self.alerts.stats()["webhook"], {"sent": 1, "failed": 6, "dropped": 0, "queued": 0})

    def test_merged_while_waiting(self) -> None:
        """
        News of a group while its notification is being retried waits in
        one more notification, merged: two deliveries, the counts whole.
        """
        sender = FakeSender(*[DeliveryFailed("down")] * 3)
        self.make(self.ALERT, webhook=sender)
        for step in range(30):
            self.publish(event(self.clock.seconds(), step))
            self.clock.advance(1)
        self.clock.advance(100)
        self.assertEqual(len(sender.sent), 2)
        self.assertEqual(sum(p["count"] for _, p in sender.sent), 30)
        self.assertEqual(self.alerts.stats()["webhook"]["dropped"], 0)

    def test_timeout_then_give_up(self) -> None:
        """
        An attempt that never answers times out (30 s); past give_up_after
        (10 m) the notification is dropped, counted and logged.
        """
        logged = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        sender = FakeSender(*[None] * 100)
        self.make(self.ALERT, webhook=sender)
        self.publish(event(self.clock.seconds(), 1))
        for _ in range(700):
            self.clock.advance(1)
        stats = self.alerts.stats()["webhook"]
        self.assertEqual((stats["sent"], stats["dropped"], stats["queued"]), (0, 1, 0))
        self.assertEqual(stats["failed"], len(sender.attempts))
        dropped = [e for e in logged if e["log_level"] == LogLevel.error and "alert dropped" in e["log_format"]]
        self.assertEqual(len(dropped), 1)
        self.assertIn("undelivered after", dropped[0]["why"])
        self.assertIn("timed out", dropped[0]["why"])

    def test_permanent_failure_dropped(self) -> None:
        sender = FakeSender(DeliveryFailed("HTTP 404 no_service", permanent=True))
        self.make(self.ALERT, webhook=sender)
        self.publish(event(self.clock.seconds(), 1))
        self.clock.advance(100)
        self.assertEqual(self.alerts.stats()["webhook"], {"sent": 0, "failed": 1, "dropped": 1, "queued": 0})

    def test_bounded_queue(self) -> None:
        """
        queue_size 3: the oldest waiting notification is dropped, counted.
        """
        sender = FakeSender(None)
        self.make("alerts:\n  - {type: threat_detected, group_by: [rule], group_wait: 0s, channels: [webhook]}\n", webhook=sender)
        for i in range(6):
            self.publish(event(self.clock.seconds(), i, rule=f"r{i}"))
        self.clock.advance(0)
        self.assertEqual(self.alerts.stats()["webhook"], {"sent": 0, "failed": 0, "dropped": 3, "queued": 3})
        for _ in range(35):  # the first attempt times out (30 s), is retried 5 s later, then all go
            self.clock.advance(1)
        self.assertEqual([p["group"]["rule"] for _, p in sender.sent], ["r0", "r4", "r5"])

    def test_unconfigured_channel(self) -> None:
        """
        The brief's snippet as written: no channels configured; each alert
        is logged and counted as dropped on its channel.
        """
        logged = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        self.make("alerts:\n  - {type: threat_detected, severity: high, group_wait: 0s, channels: [email, slack]}\n", channels="")
        self.publish(event(self.clock.seconds(), 1))
        self.clock.advance(0)
        self.assertEqual(self.alerts.stats()["email"], {"sent": 0, "failed": 0, "dropped": 1, "queued": 0})
        warnings = [e for e in logged if "not configured" in e.get("log_format", "")]
        self.assertEqual({e["channel"] for e in warnings}, {"email", "slack"})

    def test_stop_notifies_pending_groups(self) -> None:
        """
        At shutdown a group still gathering is notified at once; what a
        channel cannot deliver in the grace period is dropped, counted.
        """
        log, webhook = FakeSender(), FakeSender(None)
        self.make("alerts:\n  - {type: threat_detected, channels: [log, webhook]}\n", log=log, webhook=webhook)
        self.publish(event(self.clock.seconds(), 1), event(self.clock.seconds(), 2))
        stopped = self.alerts.stopService()
        self.clock.advance(0)  # the grace period (0 here), on the reactor
        self.successResultOf(stopped)
        self.assertEqual(log.sent[0][1]["count"], 2)
        self.assertEqual(self.alerts.stats()["webhook"]["dropped"], 1)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_reload(self) -> None:
        """
        A reload keeps queues and counts; a removed alert's group is
        notified at once.
        """
        log = FakeSender()
        self.make("alerts:\n  - {type: threat_detected, channels: [log]}\n", log=log)
        self.publish(event(self.clock.seconds(), 1))
        new = parseConfig('listen: ["tcp:1"]\nalerts:\n  - {type: request_blocked, channels: [log]}\n')
        self.alerts.reconfigure(new)
        self.assertEqual([p["alert"] for _, p in log.sent], ["threat_detected"])
        self.alerts.outboxes["log"].sender = log
        self.publish(event(self.clock.seconds(), 2))
        self.clock.advance(30)
        self.assertEqual([p["alert"] for _, p in log.sent], ["threat_detected", "request_blocked"])
        self.assertEqual(self.alerts.stats()["log"]["sent"], 2)
