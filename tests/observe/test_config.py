"""
C{audit}, C{alerts} and C{channels} load as documented; each bad key is a
C{FILE:LINE: KEY: message} error.
"""

from __future__ import annotations

import os
import textwrap

from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.config import ConfigError, parseConfig
from akto_proxy.config.model import SyslogTarget

BRIEF_ALERTS = """
listen: ["tcp:8080"]
alerts:
  - type: "threat_detected"
    severity: "high"
    channels: ["email", "slack"]

  - type: "rate_limit_exceeded"
    threshold: 1000
    channels: ["webhook"]
"""


class GoodConfigTests(SynchronousTestCase):
    def load(self, text: str):
        return parseConfig(textwrap.dedent(text), "/etc/akto-proxy/akto-proxy.yaml")

    def test_brief_alerts_load_as_written(self) -> None:
        """
        The brief's snippet loads with no channels configured: a warning per
        channel says where its alerts go instead.
        """
        c = parseConfig(BRIEF_ALERTS, "b.yaml")
        self.assertEqual([a.type for a in c.alerts], ["threat_detected", "rate_limit_exceeded"])
        self.assertEqual(c.alerts[0].severity, "high")
        self.assertEqual(c.alerts[0].channels, ("email", "slack"))
        self.assertEqual((c.alerts[1].threshold, c.alerts[1].window), (1000, 60.0))
        self.assertEqual(len(c.warnings), 3)
        self.assertIn("b.yaml:6: alerts[0].channels[0]: channel 'email' is not configured", c.warnings[0])
        self.assertIn("b.yaml:10: alerts[1].channels[0]: channel 'webhook'", c.warnings[2])
        self.assertFalse(any("not implemented" in w for w in c.warnings))

    def test_spec_channels_shape(self) -> None:
        """
        SPEC section 6's channels, exactly as written there.
        """
        c = self.load(
            """\
            listen: ["tcp:1"]
            channels:
              email: {smtp_host: "localhost", smtp_port: 25, from: "akto-proxy@example.com", to: ["secops@example.com"]}
              slack: {webhook_url: "https://hooks.slack.com/services/T000/B000/XXXX"}
              webhook: {url: "https://siem.example.com/akto", secret: "<hmac key>"}
            alerts:
              - {type: threat_detected, channels: [email, slack, webhook]}
            """
        )
        self.assertEqual(c.warnings, ())
        email = c.channels.email
        self.assertEqual((email.smtp_host, email.smtp_port, email.from_address, email.to), ("localhost", 25, "akto-proxy@example.com", ("secops@example.com",)))
        self.assertEqual(email.starttls, "opportunistic")
        self.assertEqual(c.channels.slack.webhook_url, "https://hooks.slack.com/services/T000/B000/XXXX")
        self.assertEqual(c.channels.webhook.secret, b"<hmac key>")
        # secrets stay out of reprs (and so out of logs)
        self.assertNotIn("XXXX", repr(c.channels))
        self.assertNotIn("hmac key", repr(c.channels))

    def test_everything(self) -> None:
        secret = self.mktemp()
        with open(secret, "w") as f:
            f.write("s3cret-password\n")
        c = self.load(
            f"""\
            listen: ["tcp:1"]
            audit:
              destination: syslog:udp:[::1]:5514
              syslog_facility: auth
              max_file_size: 0
              rotate_interval: daily
              keep_files: 0
              capture_bodies: redacted
              capture_scope: all
              max_captured_body: 4KiB
            channels:
              email:
                smtp_host: mail.example.com
                smtp_port: 587
                from: proxy@example.com
                to: secops@example.com
                username: proxy
                password_file: {secret}
                timeout: 10s
                queue_size: 5
                backoff: 1s
                max_backoff: 1m
                give_up_after: 1h
              webhook:
                url: https://siem.example.com/akto
                secret_file: {secret}
                headers: {{Authorization: "Splunk abc"}}
            alerts:
              - type: threat_detected
                name: critical threats
                severity: critical
                checks: [sql_injection]
                group_by: [rule, key]
                group_wait: 0s
                group_interval: 10m
                channels: [email, log]
              - {{type: upstream_error, threshold: 5, window: 5m, channels: [webhook]}}
              - {{type: reload_failed, channels: [webhook]}}
            """
        )
        a = c.audit
        self.assertEqual(a.syslog, SyslogTarget("udp", host="::1", port=5514))
        self.assertEqual((a.syslog_facility, a.max_file_size, a.rotate_interval, a.keep_files), ("auth", 0, 86400.0, 0))
        self.assertEqual((a.capture_bodies, a.capture_scope, a.max_captured_body), ("redacted", "all", 4096))
        email = c.channels.email
        self.assertEqual((email.username, email.password, email.starttls, email.to), ("proxy", "s3cret-password", "require", ("secops@example.com",)))
        self.assertEqual((email.delivery.timeout, email.delivery.queue_size, email.delivery.backoff, email.delivery.max_backoff, email.delivery.give_up_after), (10, 5, 1, 60, 3600))
        self.assertEqual(c.channels.webhook.secret, b"s3cret-password")
        self.assertEqual(c.channels.webhook.headers, (("Authorization", "Splunk abc"),))
        first = c.alerts[0]
        self.assertEqual((first.title, first.severity, first.checks, first.group_by, first.group_wait, first.group_interval), ("critical threats", "critical", ("sql_injection",), ("rule", "key"), 0, 600))
        self.assertEqual((c.alerts[1].threshold, c.alerts[1].window), (5, 300))
        self.assertEqual(c.alerts[2].title, "reload_failed")

    def test_syslog_destinations(self) -> None:
        for text, expected in {
            "syslog": SyslogTarget("unix", path="/dev/log"),
            "syslog:unix:/run/systemd/journal/syslog": SyslogTarget("unix", path="/run/systemd/journal/syslog"),
            "syslog:udp:127.0.0.1:514": SyslogTarget("udp", host="127.0.0.1", port=514),
        }.items():
            c = self.load(f'listen: ["tcp:1"]\naudit: {{destination: "{text}"}}\n')
            self.assertEqual(c.audit.syslog, expected)

    def test_capture_bodies_booleans(self) -> None:
        """
        Earlier versions took a boolean: false is none, true the safe
        reading, redacted.
        """
        for value, policy in (("false", "none"), ("true", "redacted"), ("full", "full"), ("none", "none")):
            c = self.load(f'listen: ["tcp:1"]\naudit: {{capture_bodies: {value}}}\n')
            self.assertEqual(c.audit.capture_bodies, policy)

    def test_sample_config(self) -> None:
        from akto_proxy.config import loadConfig

        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        c = loadConfig(os.path.join(root, "etc", "akto-proxy", "akto-proxy.yaml"))
        self.assertTrue(c.alerts)
        self.assertFalse(any(": alerts" in w or ": channels" in w for w in c.warnings), c.warnings)


    def test_sample_channels_example(self) -> None:
        """
        The sample's commented channels, uncommented, load as documented.
        """
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        with open(os.path.join(root, "etc", "akto-proxy", "akto-proxy.yaml")) as f:
            sample = f.read()
        block = sample[sample.index("channels: {}\n") + len("channels: {}\n") : sample.index("  # The webhook gets")]
        text = "channels:\n" + "".join(line.replace("  # ", "  ", 1) + "\n" for line in block.splitlines() if line.startswith("  #   ") or line.startswith("  # ") and line.rstrip().endswith(":"))
        for name in ("smtp-ca.pem", "smtp-password", "webhook-secret", "siem-ca.pem"):
            path = os.path.abspath(self.mktemp())
            with open(path, "w") as f:
                f.write("sample-secret-value\n")
            text = text.replace(f"/etc/akto-proxy/tls/{name}", path).replace(f"/etc/akto-proxy/{name}", path)
        c = self.load('listen: ["tcp:1"]\n' + text)
        self.assertEqual((c.channels.email.starttls, c.channels.email.username, c.channels.email.password), ("require", "akto-proxy", "sample-secret-value"))
        self.assertEqual(c.channels.slack.webhook_url, "https://hooks.slack.com/services/...")
        self.assertEqual((c.channels.webhook.secret, c.channels.webhook.headers), (b"sample-secret-value", (("Authorization", "Splunk <token>"),)))
        self.assertEqual(c.warnings, ())


class BadConfigTests(SynchronousTestCase):
    def error(self, text: str) -> str:
        with self.assertRaises(ConfigError) as cm:
            parseConfig(textwrap.dedent(text), "/etc/akto-proxy/akto-proxy.yaml")
        return str(cm.exception)

    def test_each_bad_key(self) -> None:
        """
        Each bad key or value: the file, the line and the dotted key.
        """
        F = "/etc/akto-proxy/akto-proxy.yaml"
        cases = {
            "audit:\n  destinaton: stdout\n": f"{F}:3: audit.destinaton: unknown key (did you mean 'destination'?)",
            "audit:\n  destination: syslog:tcp:x:1\n": f"{F}:3: audit.destination: expected syslog, syslog:unix:PATH or syslog:udp:HOST:PORT",
            "audit:\n  destination: syslog:udp:host:99999\n": f"{F}:3: audit.destination: expected syslog",
            "audit:\n  destination: /no/such/dir/audit.log\n": f"{F}:3: audit.destination: no such directory '/no/such/dir'",
            "audit:\n  capture_bodies: some\n": f"{F}:3: audit.capture_bodies: must be one of none, redacted, full, not 'some'",
            "audit:\n  capture_scope: every\n": f"{F}:3: audit.capture_scope: must be one of notable, all",
            "audit:\n  rotate_interval: 10ms\n": f"{F}:3: audit.rotate_interval: must be at least 1s",
            "audit:\n  rotate_interval: weekly\n": f"{F}:3: audit.rotate_interval: invalid duration",
            "audit:\n  max_file_size: big\n": f"{F}:3: audit.max_file_size: invalid size",
            "audit:\n  syslog_facility: local9\n": f"{F}:3: audit.syslog_facility: must be one of",
            "audit:\n  keep_files: -1\n": f"{F}:3: audit.keep_files: must be at least 0",
            "alerts:\n  - {type: threat_detected}\n": f"{F}:3: alerts[0]: missing required key 'channels'",
            "alerts:\n  - {type: threat_detectd, channels: [log]}\n": f"{F}:3: alerts[0].type: must be one of threat_detected, request_blocked, rate_limit_exceeded, upstream_error, tool_definition_changed, config_reloaded, reload_failed, not 'threat_detectd' (did you mean 'threat_detected'?)",
            "alerts:\n  - type: threat_detected\n    channels: [log]\n    severty: high\n": f"{F}:5: alerts[0].severty: unknown key (did you mean 'severity'?)",
            "alerts:\n  - {type: threat_detected, severity: urgent, channels: [log]}\n": f"{F}:3: alerts[0].severity: must be one of low, medium, high, critical",
            "alerts:\n  - {type: rate_limit_exceeded, severity: high, channels: [log]}\n": f"{F}:3: alerts[0].severity: applies to threat_detected, request_blocked, tool_definition_changed only",
            "alerts:\n  - {type: threat_detected, channels: [pager]}\n": f"{F}:3: alerts[0].channels[0]: must be one of email, slack, webhook, log, not 'pager'",
            "alerts:\n  - {type: threat_detected, channels: []}\n": f"{F}:3: alerts[0].channels: at least one channel",
            "alerts:\n  - {type: rate_limit_exceeded, threshold: 0, channels: [log]}\n": f"{F}:3: alerts[0].threshold: must be at least 1",
            "alerts:\n  - {type: rate_limit_exceeded, window: 0s, channels: [log]}\n": f"{F}:3: alerts[0].window: must be positive",
            "alerts:\n  - {type: threat_detected, group_by: [rule, tenant], channels: [log]}\n": f"{F}:3: alerts[0].group_by[1]: must be one of check, rule, upstream, key, client, tool",
            "alerts:\n  - {type: threat_detected, group_interval: 0s, channels: [log]}\n": f"{F}:3: alerts[0].group_interval: must be positive",
            "alerts:\n  - {type: threat_detected, group_wait: soon, channels: [log]}\n": f"{F}:3: alerts[0].group_wait: invalid duration",
            "channels:\n  pager: {}\n": f"{F}:3: channels.pager: unknown key",
            "channels:\n  email: {smtp_host: h}\n": f"{F}:3: channels.email: missing required key 'to'",
            "channels:\n  email: {smtp_host: h, to: [nobody]}\n": f"{F}:3: channels.email.to[0]: expected an e-mail address, not 'nobody'",
            "channels:\n  email: {smtp_host: h, to: a@b.c, smtp_port: 70000}\n": f"{F}:3: channels.email.smtp_port: must be at most 65535",
            "channels:\n  email: {smtp_host: h, to: a@b.c, starttls: maybe}\n": f"{F}:3: channels.email.starttls: must be one of require, opportunistic, off",
            "channels:\n  email: {smtp_host: h, to: a@b.c, username: u}\n": f"{F}:3: channels.email: username and password (or password_file) go together",
            "channels:\n  email: {smtp_host: h, to: a@b.c, username: u, password: p, starttls: off}\n": f"{F}:3: channels.email.starttls: with a username, starttls must be require",
            "channels:\n  email: {smtp_host: h, to: a@b.c, password_file: /no/such/file}\n": f"{F}:3: channels.email.password_file: cannot read '/no/such/file'",
            "channels:\n  email:\n    smtp_host: h\n    to: a@b.c\n    smtp_hots: x\n": f"{F}:6: channels.email.smtp_hots: unknown key (did you mean 'smtp_host'?)",
            "channels:\n  email: {smtp_host: h, to: a@b.c, backoff: 1m, max_backoff: 1s}\n": f"{F}:3: channels.email.max_backoff: must not be less than backoff",
            "channels:\n  email: {smtp_host: h, to: a@b.c, queue_size: 0}\n": f"{F}:3: channels.email.queue_size: must be at least 1",
            "channels:\n  slack: {webhook_url: 'ftp://x'}\n": f"{F}:3: channels.slack.webhook_url: expected an http(s) URL",
            "channels:\n  slack: {url: 'https://x'}\n": f"{F}:3: channels.slack.url: unknown key",
            "channels:\n  webhook: {url: 'https://x', secret: a, secret_file: b}\n": f"{F}:3: channels.webhook: give secret or secret_file, not both",
            "channels:\n  webhook: {url: 'https://x', headers: {Host: y}}\n": f"{F}:3: channels.webhook.headers.Host: not a header the webhook may set",
            "channels:\n  webhook: {url: 'https://x', timeout: 0s}\n": f"{F}:3: channels.webhook.timeout: must be positive",
        }
        for text, expected in cases.items():
            got = self.error('listen: ["tcp:1"]\n' + text)
            self.assertTrue(got.startswith(expected), f"{text!r}:\n got      {got}\n expected {expected}")

    def test_unsigned_webhook_warns(self) -> None:
        c = parseConfig('listen: ["tcp:1"]\nchannels:\n  webhook: {url: "https://x.example"}\n', "w.yaml")
        self.assertEqual(c.warnings, ("w.yaml:3: channels.webhook: no secret: webhook alerts are sent unsigned (the receiver cannot tell them from forgeries)",))
