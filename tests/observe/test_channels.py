"""
Each channel against a real receiver on loopback: SMTP (Twisted's ESMTP
server) with STARTTLS and AUTH, a Slack incoming webhook, a webhook whose
receiver verifies the HMAC signature.  Timers on a clock; I/O real.
"""

from __future__ import annotations

import json
import os
import textwrap
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import ensureDeferred
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from akto_proxy.config import parseConfig
from akto_proxy.mcp.events import EventBus
from akto_proxy.observe.alerts import Alerts
from tests.harness import KEY
from tests.observe.receivers import HTTPReceiver, SMTPReceiver
from tests.observe.support import inline, until
from tests.observe.test_alerts import event

SECRET = b"webhook-secret-0123456789"


class ChannelTests(TestCase):
    def make(self, text: str) -> Alerts:
        config = parseConfig('listen: ["tcp:1"]\naccess_control:\n  api_keys: [{name: tester, key: "%s"}]\n' % KEY + textwrap.dedent(text), "c.yaml")
        self.clock = Clock()
        self.clock.advance(1_800_000_000)
        self.bus = EventBus()
        self.alerts = Alerts(config, self.bus, reactor, self.clock)
        self.alerts.stopGrace = 0.5
        self.alerts.startService()
        self.addCleanup(self.alerts.stopService)
        return self.alerts

    def storm(self, n: int = 3) -> None:
        for i in range(n):
            self.bus.publish(event(self.clock.seconds(), i))
        self.clock.advance(0)

    async def http(self, secret: Any = SECRET) -> HTTPReceiver:
        receiver = await HTTPReceiver(secret).start()
        self.addCleanup(receiver.stop)
        return receiver

    async def smtp(self, **kw: Any) -> SMTPReceiver:
        receiver = await SMTPReceiver(**kw).start()
        self.addCleanup(lambda: ensureDeferred(receiver.stop()))
        return receiver

    @inline
    async def test_webhook_signed(self) -> None:
        receiver = await self.http()
        self.make(
            f"""\
            channels:
              webhook: {{url: "{receiver.url}", secret: "{SECRET.decode()}", headers: {{X-Tenant: blue}}}}
            alerts:
              - {{type: threat_detected, group_wait: 0s, channels: [webhook]}}
            """
        )
        self.storm(3)
        [post] = await receiver.posts.wait(1)
        self.assertTrue(post["signed"])
        headers = post["headers"]
        self.assertEqual(headers[b"content-type"], b"application/json")
        self.assertEqual(headers[b"x-tenant"], b"blue")
        self.assertEqual(int(headers[b"x-akto-timestamp"]), int(self.clock.seconds()))
        self.assertEqual(headers[b"x-akto-delivery"].decode(), post["json"]["id"])
        self.assertEqual((post["json"]["alert"], post["json"]["count"]), ("threat_detected", 3))
        # a body altered in transit, or signed with another secret, fails
        from tests.observe.receivers import verify

        self.assertFalse(verify(SECRET, headers, post["body"].replace(b'"count":3', b'"count":4')))
        self.assertFalse(verify(b"other", headers, post["body"]))
        self.assertNotIn(SECRET, post["body"])
        await until(lambda: self.alerts.stats()["webhook"]["sent"], self.alerts.changed)
        self.assertEqual(self.alerts.stats()["webhook"], {"sent": 1, "failed": 0, "dropped": 0, "queued": 0})

    @inline
    async def test_webhook_retried(self) -> None:
        """
        503, then a dropped connection, then up: delivered on the third
        attempt, 5 s and 10 s after the failures, signed again each time.
        """
        receiver = await self.http()
        receiver.mode = "down"
        self.make(
            f"""\
            channels:
              webhook: {{url: "{receiver.url}", secret: "{SECRET.decode()}", backoff: 5s}}
            alerts:
              - {{type: threat_detected, group_wait: 0s, channels: [webhook]}}
            """
        )
        self.storm(2)
        await receiver.attempts.wait(1)
        await self._failures(1)
        receiver.mode = "crash"
        self.clock.advance(5)
        await receiver.attempts.wait(2)
        await self._failures(2)
        receiver.mode = "up"
        self.clock.advance(9)
        self.assertEqual(len(receiver.attempts.entries), 2)
        self.clock.advance(1)
        [post] = await receiver.posts.wait(1)
        self.assertTrue(post["signed"])
        ids = {a["headers"][b"x-akto-delivery"] for a in receiver.attempts.entries} | {post["headers"][b"x-akto-delivery"]}
        self.assertEqual(len(ids), 1)  # the same delivery, for a receiver's dedup
        await until(lambda: self.alerts.stats()["webhook"]["sent"], self.alerts.changed)
        self.assertEqual(self.alerts.stats()["webhook"], {"sent": 1, "failed": 2, "dropped": 0, "queued": 0})

    async def _failures(self, n: int) -> None:
        await until(lambda: self.alerts.stats()["webhook"]["failed"] >= n, self.alerts.changed, what=f"{n} failures")

    @inline
    async def test_slack(self) -> None:
        receiver = await self.http(secret=None)
        self.make(
            f"""\
            channels:
              slack: {{webhook_url: "{receiver.url}"}}
            alerts:
              - {{type: threat_detected, name: "SQL <injection>", group_wait: 0s, channels: [slack]}}
            """
        )
        self.storm(5)
        [post] = await receiver.posts.wait(1)
        self.assertEqual(list(post["json"]), ["text"])
        text = post["json"]["text"]
        self.assertTrue(text.startswith("*SQL &lt;injection&gt;* (high): SQL &lt;injection&gt;: 5 events (sql_injection/union_based on http://127.0.0.1:9000)"), text)
        self.assertIn("keys: tester (5)", text)

    @inline
    async def test_email_starttls_auth(self) -> None:
        """
        STARTTLS with the server's certificate verified against the
        channel's CA bundle, then AUTH; the message has the summary as its
        subject and the JSON at its end.
        """
        receiver = await self.smtp(users={b"alerts": b"smtp-password-42"}, tls=True, requireAuth=True)
        ca = os.path.abspath(self.mktemp())
        with open(ca, "wb") as f:
            f.write(receiver.caPEM)
        self.make(
            f"""\
            channels:
              email:
                smtp_host: 127.0.0.1
                smtp_port: {receiver.portNumber}
                from: akto-proxy@example.com
                to: [secops@example.com, oncall@example.com]
                username: alerts
                password: smtp-password-42
                ca_bundle: {ca}
            alerts:
              - {{type: threat_detected, group_wait: 0s, channels: [email]}}
            """
        )
        self.storm(7)
        [got] = await receiver.messages.wait(1)
        self.assertTrue(got["tls"])
        self.assertEqual(got["user"], b"alerts")
        message = got["message"]
        self.assertEqual(message["Subject"].replace("\n", ""), "[akto-proxy] threat_detected: 7 events (sql_injection/union_based on http://127.0.0.1:9000)")
        self.assertEqual(message["To"], "secops@example.com, oncall@example.com")
        self.assertEqual(message["X-Akto-Alert"], "threat_detected")
        body = message.get_payload(decode=True).decode()
        self.assertIn("count:      7 (7 refused), 7 since the group began", body)
        payload = json.loads(body.split("\n--\n", 1)[1])
        self.assertEqual(payload["count"], 7)
        self.assertNotIn("smtp-password-42", body)
        await until(lambda: self.alerts.stats()["email"]["sent"], self.alerts.changed)

    @inline
    async def test_email_plain(self) -> None:
        """
        A local relay offering no TLS: opportunistic (the default without a
        username) delivers in clear.
        """
        receiver = await self.smtp()
        self.make(
            f"""\
            channels:
              email: {{smtp_host: 127.0.0.1, smtp_port: {receiver.portNumber}, to: secops@example.com}}
            alerts:
              - {{type: threat_detected, group_wait: 0s, channels: [email]}}
            """
        )
        self.storm(1)
        [got] = await receiver.messages.wait(1)
        self.assertFalse(got["tls"])
        self.assertEqual(got["message"]["From"], "akto-proxy@localhost")
        await until(lambda: self.alerts.stats()["email"]["sent"], self.alerts.changed)

    async def _dropped(self, channel: str) -> dict[str, int]:
        await until(lambda: self.alerts.stats()[channel]["dropped"], self.alerts.changed, what="a drop")
        return self.alerts.stats()[channel]

    @inline
    async def test_email_tls_required_not_offered(self) -> None:
        """
        starttls: require and a server without STARTTLS: nothing is sent
        in clear; the notification is dropped at once, counted.
        """
        receiver = await self.smtp(users={b"alerts": b"smtp-password-42"})
        self.make(
            f"""\
            channels:
              email: {{smtp_host: 127.0.0.1, smtp_port: {receiver.portNumber}, to: a@example.com, username: alerts, password: smtp-password-42}}
            alerts:
              - {{type: threat_detected, group_wait: 0s, channels: [email]}}
            """
        )
        self.storm(1)
        stats = await self._dropped("email")
        self.assertEqual((stats["sent"], stats["failed"], stats["dropped"]), (0, 1, 1))
        self.assertEqual(receiver.messages.entries, [])

    @inline
    async def test_email_wrong_password(self) -> None:
        receiver = await self.smtp(users={b"alerts": b"smtp-password-42"}, tls=True, requireAuth=True)
        ca = os.path.abspath(self.mktemp())
        with open(ca, "wb") as f:
            f.write(receiver.caPEM)
        self.make(
            f"""\
            channels:
              email: {{smtp_host: 127.0.0.1, smtp_port: {receiver.portNumber}, to: a@example.com, username: alerts, password: wrong-password, ca_bundle: {ca}}}
            alerts:
              - {{type: threat_detected, group_wait: 0s, channels: [email]}}
            """
        )
        self.storm(1)
        stats = await self._dropped("email")
        self.assertEqual((stats["sent"], stats["dropped"]), (0, 1))
        self.assertEqual(receiver.messages.entries, [])
