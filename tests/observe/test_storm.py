"""
Alerts through a running proxy: an attack storm of 1,000 blocked messages
is one alert per channel with its count; receivers that are down get
retries with backoff while the relay answers as fast as before, and
nothing is lost.  Timers on a clock the test drives; I/O real, on loopback.
"""

from __future__ import annotations

import os
import re
import socket
from typing import Any

from twisted.internet.defer import ensureDeferred
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from tests.harness import ProxyHarness, Upstream
from tests.observe.receivers import HTTPReceiver, SMTPReceiver
from tests.observe.support import Client, attack, inline, percentile, until

SECRET = "storm-webhook-secret-0123"
SMTP_PASSWORD = "smtp-password-42"

RULES = """
threat_detection:
  enabled_checks: []
  custom_rules:
    - name: "Block Sensitive File Access"
      pattern: "/etc/passwd|/etc/shadow"
      action: "block"
"""


def freePort() -> int:
    """
    A loopback port nothing listens on (a receiver that is down).
    """
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return int(port)


class StormTests(TestCase):
    def setUp(self) -> None:
        self.clock = Clock()

    async def start(self, channels: str, alerts: str) -> None:
        self.upstream = await Upstream().start()
        self.addCleanup(self.upstream.stop)
        self.proxy = ProxyHarness(self, RULES + channels + alerts, clock=self.clock)
        self.service = self.proxy.service
        self.service.alerts.stopGrace = 0.5
        self.client = Client(self, self.proxy.url(self.upstream, "/rpc"))

    async def receivers(self, smtpPort: int = 0) -> None:
        """
        The three receivers; the SMTP server is started later when given a
        port (it is down until then).
        """
        self.smtp = SMTPReceiver(users={b"alerts": SMTP_PASSWORD.encode()}, tls=True, requireAuth=True)
        if not smtpPort:
            await self.smtp.start()
        self.addCleanup(lambda: ensureDeferred(self.smtp.stop()))
        self.ca = os.path.abspath(self.mktemp())
        with open(self.ca, "wb") as f:
            f.write(self.smtp.caPEM)
        self.slack = await HTTPReceiver(clock=self.clock).start()
        self.addCleanup(self.slack.stop)
        self.webhook = await HTTPReceiver(SECRET.encode(), clock=self.clock).start()
        self.addCleanup(self.webhook.stop)

    def channels(self, smtpPort: int, delivery: str = "") -> str:
        """
        The three channels; C{delivery}: settings for each, as YAML flow
        mapping entries (C{"timeout: 10s, backoff: 5s"}).
        """
        more = ", " + delivery if delivery else ""
        return f"""
channels:
  email: {{smtp_host: 127.0.0.1, smtp_port: {smtpPort}, from: akto-proxy@example.com, to: [secops@example.com], username: alerts, password: {SMTP_PASSWORD}, ca_bundle: "{self.ca}"{more}}}
  slack: {{webhook_url: "{self.slack.url}"{more}}}
  webhook: {{url: "{self.webhook.url}", secret: "{SECRET}"{more}}}
"""

    def blocked(self, i: int, code: int, answer: Any) -> None:
        self.assertEqual(code, 200)
        self.assertTrue(answer["result"]["isError"], answer)
        self.answered += 1

    @inline
    async def test_storm_is_one_alert_per_channel(self) -> None:
        await self.receivers()
        await self.start(self.channels(self.smtp.portNumber), "alerts:\n  - {type: threat_detected, severity: high, channels: [email, slack, webhook]}\n")
        self.answered = 0
        seconds = await self.client.storm(1000, attack, concurrency=25, each=self.blocked)
        self.assertEqual(self.answered, 1000)
        self.assertEqual(self.upstream.recorder.requests, [])  # all refused by the proxy
        self.clock.advance(29)
        self.assertEqual(self.webhook.attempts.entries, [])  # still gathering
        self.clock.advance(1)  # group_wait: 30 s
        [mail] = await self.smtp.messages.wait(1)
        [slack] = await self.slack.posts.wait(1)
        [hook] = await self.webhook.posts.wait(1)
        await until(lambda: all(s["sent"] for s in self.service.alerts.stats().values()), self.service.alerts.changed, what="three deliveries")
        # later, nothing more: the storm was one group, and it has ended
        self.clock.advance(300)
        self.clock.advance(300)
        self.assertEqual(len(self.webhook.attempts.entries), 1)
        self.assertEqual(len(self.slack.attempts.entries), 1)
        self.assertEqual(len(self.smtp.messages.entries), 1)
        self.assertTrue(hook["signed"])
        payload = hook["json"]
        self.assertEqual((payload["count"], payload["total"], payload["blocked"]), (1000, 1000, 1000))
        self.assertEqual(payload["group"]["rule"], "Block Sensitive File Access")
        self.assertEqual(payload["samples"]["keys"], {"tester": 1000})
        self.assertEqual(payload["samples"]["tools"], {"read_file": 1000})
        self.assertIn(": 1000 events (custom_rules/Block Sensitive File Access on http://127.0.0.1:", slack["json"]["text"])
        self.assertTrue(mail["tls"])
        self.assertIn("1000 events", mail["message"]["Subject"].replace("\n", ""))
        self.assertEqual(
            self.service.alerts.stats(),
            {name: {"sent": 1, "failed": 0, "dropped": 0, "queued": 0} for name in ("email", "slack", "webhook")},
        )
        print(f"\n  storm: 1000 blocked requests in {seconds:.2f} s ({1000 / seconds:.0f}/s), one alert per channel")

    @inline
    async def test_receivers_down(self) -> None:
        """
        E-mail refused (nothing listens), Slack answering 503, the webhook
        hanging: the blocked requests are answered as fast as before while
        deliveries fail; retries follow the backoff (5, 10, 20 s); when the
        receivers come back, everything is delivered, nothing dropped.
        """
        smtpPort = freePort()
        await self.receivers(smtpPort)
        await self.start(
            self.channels(smtpPort, delivery="timeout: 10s, backoff: 5s"),
            "alerts:\n  - {type: threat_detected, severity: high, group_interval: 1m, channels: [email, slack, webhook]}\n",
        )
        alerts = self.service.alerts
        self.slack.mode = "down"
        self.webhook.mode = "hang"
        self.answered = 0
        # before any delivery: the baseline
        await self.client.storm(200, attack, concurrency=20, each=self.blocked)
        before = list(self.client.latencies)
        self.client.latencies.clear()
        start = self.clock.seconds()
        self.clock.advance(30)  # the first notification: refused, 503, and a webhook that never answers
        await until(lambda: alerts.stats()["email"]["failed"] and alerts.stats()["slack"]["failed"] and self.webhook.attempts.entries, alerts.changed, self.webhook.attempts.next, what="first attempts")
        # while they fail and hang
        await self.client.storm(200, attack, concurrency=20, each=self.blocked)
        during = list(self.client.latencies)
        self.assertEqual(self.answered, 400)
        self.assertTrue(alerts.outboxes["webhook"].inflight)  # still hanging

        def settled() -> bool:
            """
            Every attempt the clock has started has reached its receiver
            and has its answer (but the hanging webhook's).
            """
            o = alerts.outboxes
            started = {name: o[name].sent + o[name].failed + o[name].inflight for name in o}
            return (
                not o["email"].inflight
                and not o["slack"].inflight
                and (not o["webhook"].inflight or self.webhook.mode == "hang")
                and len(self.slack.attempts.entries) == started["slack"]
                and len(self.webhook.attempts.entries) == started["webhook"]
            )

        # retries, with backoff, as time passes (and traffic goes on)
        for step in range(40):
            self.clock.advance(1)
            if step % 10 == 0:
                await self.client.storm(10, attack, concurrency=5, each=self.blocked)
            await until(settled, alerts.changed, self.slack.attempts.next, self.webhook.attempts.next, what="the attempts of this second")
        self.assertEqual([a["time"] - start for a in self.slack.attempts.entries], [30, 35, 45, 65])
        self.assertEqual([a["time"] - start for a in self.webhook.attempts.entries], [30, 45, 65])  # 10 s timeout, then 5 s, 10 s
        stats = alerts.stats()
        self.assertEqual({name: (s["sent"], s["dropped"]) for name, s in stats.items()}, {name: (0, 0) for name in stats})
        self.assertEqual(stats["email"]["failed"], 4)  # 30, 35, 45, 65 as well
        # back up: the e-mail server on its port, Slack and the webhook answering
        self.slack.mode = self.webhook.mode = "up"
        await self.smtp.start(smtpPort)
        for _ in range(100):
            self.clock.advance(5)
            await until(settled, alerts.changed, self.slack.attempts.next, self.webhook.attempts.next, what="the attempts of these seconds")
            if all(s["queued"] == 0 for s in alerts.stats().values()):
                break
        stats = alerts.stats()
        for name, s in stats.items():
            self.assertEqual((s["queued"], s["dropped"]), (0, 0), (name, stats, self.clock.seconds() - start))
        self.assertEqual(self.answered, 440)
        self.assertEqual(sum(p["json"]["count"] for p in self.webhook.posts.entries), 440)  # every blocked message, delivered
        self.assertEqual(sum(int(re.search(r": (\d+) events", p["json"]["text"]).group(1)) for p in self.slack.posts.entries), 440)
        await until(lambda: len(self.smtp.messages.entries) == stats["email"]["sent"], self.smtp.messages.next, what="the e-mails")
        self.assertTrue(all(m["tls"] for m in self.smtp.messages.entries))
        p50 = (percentile(before, 50), percentile(during, 50))
        p99 = (percentile(before, 99), percentile(during, 99))
        print(f"\n  relay latency p50 {p50[0] * 1000:.1f} -> {p50[1] * 1000:.1f} ms, p99 {p99[0] * 1000:.1f} -> {p99[1] * 1000:.1f} ms while every channel failed; {stats}")
        self.assertLess(p50[1], 2 * p50[0] + 0.010)


class ServiceEventTests(TestCase):
    """
    The events the service publishes itself: an unreachable upstream and a
    rejected reload, each an alert.
    """

    @inline
    async def test_upstream_error_and_reload_failed(self) -> None:
        self.clock = Clock()
        webhook = await HTTPReceiver(SECRET.encode(), clock=self.clock).start()
        self.addCleanup(webhook.stop)
        config = f"""
channels:
  webhook: {{url: "{webhook.url}", secret: "{SECRET}"}}
alerts:
  - {{type: upstream_error, group_wait: 5s, channels: [webhook]}}
  - {{type: reload_failed, group_wait: 0s, channels: [webhook]}}
"""
        proxy = ProxyHarness(self, config, clock=self.clock)
        down = freePort()
        client = Client(self, f"{proxy.base}/proxy/http/127.0.0.1:{down}/mcp".encode())
        codes = []
        for i in range(3):
            code, _ = await client.post({"jsonrpc": "2.0", "id": i, "method": "tools/list"})
            codes.append(code)
        self.assertEqual(codes, [502, 502, 502])
        proxy.rewrite(config + "audit:\n  destinaton: stdout\n")  # a typo: rejected
        self.assertFalse(proxy.service.reload())
        self.clock.advance(0)
        [reload] = await webhook.posts.wait(1)
        self.assertEqual(reload["json"]["alert"], "reload_failed")
        self.assertIn("audit.destinaton: unknown key (did you mean 'destination'?)", reload["json"]["summary"])
        self.clock.advance(5)
        posts = await webhook.posts.wait(2)
        upstream = posts[1]["json"]
        self.assertEqual((upstream["alert"], upstream["count"], upstream["group"]), ("upstream_error", 3, {"upstream": f"http://127.0.0.1:{down}"}))
        self.assertTrue(all(p["signed"] for p in posts))
