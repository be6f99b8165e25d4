"""
Configuration: the SPEC's fixed keys and the brief's snippets load as
written; every error names file, line and key.
"""

import hashlib
import os
import subprocess
import sys
import textwrap

from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.config import ConfigError, loadConfig, parseConfig

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TWISTD = "from twisted.scripts.twistd import run; run()"

SPEC_FIXED = """
listen: ["tcp:8080:interface=127.0.0.1"]
access_control:
  api_keys:
    - name: ci-agent
      key_sha256: "%s"
      roles: [developer]
  roles:
    developer:
      allow: ["tools/list", "tools/call:*", "resources/*", "prompts/*"]
      deny: ["tools/call:delete_*"]
      upstreams: ["*"]
    ops:
      admin: true
  ip_allowlist: ["127.0.0.0/8", "::1/128"]
  trusted_proxies: []
  session_timeout: 30m
upstreams:
  allow: ["*.example.com", "127.0.0.1", "::1"]
  allow_private: ["127.0.0.0/8", "::1/128"]
  connect_timeout: 10s
  read_timeout: 60s
  idle_timeout: 5m
limits:
  max_request_body: 8MiB
  max_inspected_response: 16MiB
  max_ws_message: 16MiB
threat_detection:
  mode: enforce
  sensitivity: medium
  enabled_checks: [sql_injection, command_injection, path_traversal, data_exfiltration]
  exclusions:
    - upstream: "db.internal"
      tool: "run_sql"
      argument: "query"
      checks: [sql_injection]
""" % hashlib.sha256(b"k").hexdigest()

BRIEF = """
listen: ["tcp:8080"]
guardrails:
  - name: "PII Protection"
    type: "content_filter"
    rules:
      - pattern: "ssn|social security"
        action: "block"
      - pattern: "credit card|cc number"
        action: "redact"

  - name: "Rate Limiting"
    type: "rate_limit"
    rules:
      - requests_per_minute: 100
        per_client: true
threat_detection:
  sensitivity: "high"
  enabled_checks:
    - sql_injection
    - command_injection
    - path_traversal
    - data_exfiltration
  custom_rules:
    - name: "Block Sensitive File Access"
      pattern: "/etc/passwd|/etc/shadow"
      action: "block"
alerts:
  - type: "threat_detected"
    severity: "high"
    channels: ["email", "slack"]

  - type: "rate_limit_exceeded"
    threshold: 1000
    channels: ["webhook"]
"""


class LoadTests(SynchronousTestCase):
    def test_spec_fixed_keys(self) -> None:
        c = parseConfig(SPEC_FIXED, "f.yaml")
        self.assertEqual(c.listen[0].endpoint, "tcp:8080:interface=127.0.0.1")
        self.assertEqual(c.access_control.session_timeout, 1800)
        self.assertEqual(c.access_control.api_keys[0].key_sha256, hashlib.sha256(b"k").digest())
        self.assertEqual(c.upstreams.connect_timeout, 10)
        self.assertEqual(c.upstreams.idle_timeout, 300)
        self.assertEqual(c.limits.max_request_body, 8 * 1024 * 1024)
        self.assertEqual(c.threat_detection.exclusions[0].tool, "run_sql")
        self.assertTrue(c.access_control.role("ops").admin)

    def test_brief_snippets(self) -> None:
        c = parseConfig(BRIEF, "b.yaml")
        self.assertEqual([g.name for g in c.guardrails], ["PII Protection", "Rate Limiting"])
        self.assertEqual(c.guardrails[1].rate_rules[0].requests_per_minute, 100)
        self.assertEqual(c.threat_detection.custom_rules[0].name, "Block Sensitive File Access")
        self.assertEqual(c.alerts[1].threshold, 1000)

    def test_sample_config_loads(self) -> None:
        from akto_proxy.config import loadConfig

        c = loadConfig(os.path.join(ROOT, "etc", "akto-proxy", "akto-proxy.yaml"))
        self.assertTrue(c.listen)


class ErrorTests(SynchronousTestCase):
    def error(self, text: str) -> ConfigError:
        with self.assertRaises(ConfigError) as cm:
            parseConfig(textwrap.dedent(text), "/etc/akto-proxy/akto-proxy.yaml")
        return cm.exception

    def test_unknown_key_did_you_mean(self) -> None:
        e = self.error(
            """\
            listen: ["tcp:1"]
            upstreams:
              allow: []
              read_timout: 5s
            """
        )
        self.assertEqual(str(e), "/etc/akto-proxy/akto-proxy.yaml:4: upstreams.read_timout: unknown key (did you mean 'read_timeout'?)")

    def test_redis_on_error_per_feature(self) -> None:
        c = parseConfig(
            'listen: ["tcp:1"]\nredis:\n  url: "redis://127.0.0.1:6379/1"\n'
            "  on_error: {default: closed, rate_limits: open}\n  max_forward_body: 64KiB\n  max_forwards: 5\n",
            "p.yaml",
        )
        r = c.redis
        self.assertEqual(
            [r.onErrorFor(f) for f in ("rate_limits", "sessions", "legacy_routing")], ["open", "closed", "closed"]
        )
        self.assertEqual((r.max_forward_body, r.max_forwards), (64 * 1024, 5))
        c = parseConfig('listen: ["tcp:1"]\nredis:\n  on_error: closed\n', "p.yaml")
        self.assertEqual(c.redis.onErrorFor("legacy_routing"), "closed")
        e = self.error(
            """\
            listen: ["tcp:1"]
            redis:
              on_error:
                legacy_routng: closed
            """
        )
        self.assertEqual(
            str(e),
            "/etc/akto-proxy/akto-proxy.yaml:4: redis.on_error.legacy_routng: unknown key (did you mean 'legacy_routing'?)",
        )
        e = self.error('listen: ["tcp:1"]\nredis:\n  on_error: {sessions: shut}\n')
        self.assertEqual(str(e), "/etc/akto-proxy/akto-proxy.yaml:3: redis.on_error.sessions: must be one of open, closed, not 'shut'")
        e = self.error('listen: ["tcp:1"]\nredis:\n  max_forwards: 0\n')
        self.assertIn(":3: redis.max_forwards:", str(e))

    def test_unknown_top_level(self) -> None:
        e = self.error('listen: ["tcp:1"]\nguardrail: []\n')
        self.assertIn(":2: guardrail: unknown key (did you mean 'guardrails'?)", str(e))

    def test_bad_values(self) -> None:
        cases = {
            'listen: ["tcp:1"]\nupstreams: {connect_timeout: soon}\n': "upstreams.connect_timeout: invalid duration",
            'listen: ["tcp:1"]\nlimits: {max_request_body: lots}\n': "limits.max_request_body: invalid size",
            'listen: ["tcp:1"]\nthreat_detection: {sensitivity: extreme}\n': "threat_detection.sensitivity: must be one of",
            'listen: ["tcp:1"]\nthreat_detection: {custom_rules: [{pattern: "(?=x)"}]}\n': "custom_rules[0].pattern: invalid pattern",
            'listen: ["tcp:1"]\naccess_control: {api_keys: [{name: a, key_sha256: "zz"}]}\n': "key_sha256: expected 64 hex",
            'listen: ["tcp:1"]\naccess_control: {api_keys: [{name: a, key: "0123456789abcdef", roles: [nope]}]}\n': "unknown role 'nope'",
            'listen: ["ssl:443"]\n': "listen[0]: use {endpoint",
            "upstreams: {}\n": "missing required key 'listen'",
            'listen: ["tcp:1"]\naccess_control: {ip_allowlist: ["10.0.0.0/33"]}\n': "invalid address or CIDR",
            'listen: ["tcp:1"]\nguardrails: [{name: x, type: content_filter, rules: [{patern: a}]}]\n': "did you mean 'pattern'",
        }
        for text, expected in cases.items():
            self.assertIn(expected, str(self.error(text)), text)

    def test_yaml_syntax(self) -> None:
        e = self.error('listen: ["tcp:1"\n  x: [\n')
        self.assertIn("YAML syntax error", str(e))
        self.assertIsNotNone(e.line)

    def test_plain_key_warns(self) -> None:
        c = parseConfig('listen: ["tcp:1"]\naccess_control:\n  api_keys:\n    - {name: dev, key: "0123456789abcdefg"}\n', "w.yaml")
        self.assertIn("plain API key", c.warnings[0])
        self.assertIn("w.yaml:4", c.warnings[0])


LINT = """listen: ["tcp:1"]
access_control:
  api_keys:
    - {name: a, key_sha256: "%s", roles: [dev]}
  roles:
    dev:
      allow: ["tool/list", "tools/call:*", "resources/*", "notifications/*"]
      deny: ["tools/call:delete_*", "prompt/get"]
      upstreams: ["*.internal.corp", "api.*", "mcp.example.com"]
upstreams:
  allow: ["*.example.com", "127.0.0.1"]
threat_detection:
  custom_rules:
    - {name: never, pattern: 'a\\bb', action: block}
    - {name: always, pattern: 'x*', action: block}
    - {name: fine, pattern: '/etc/passwd', action: block}
""" % ("ab" * 32)


class LintTests(SynchronousTestCase):
    """
    What parses but cannot be meant is a warning with file, line and key.
    """

    def test_warnings(self) -> None:
        c = parseConfig(LINT, "l.yaml")
        self.assertEqual(
            sorted(c.warnings),
            sorted(
                [
                    "l.yaml:7: access_control.roles.dev.allow[0]: 'tool/list' matches no MCP method (did you mean 'tools/list'?)",
                    "l.yaml:8: access_control.roles.dev.deny[1]: 'prompt/get' matches no MCP method (did you mean 'prompts/get'?)",
                    "l.yaml:9: access_control.roles.dev.upstreams[0]: '*.internal.corp' matches no host that upstreams.allow (*.example.com, 127.0.0.1) lets through",
                    "l.yaml:14: threat_detection.custom_rules[0].pattern: this pattern can never match",
                    "l.yaml:15: threat_detection.custom_rules[1].pattern: this pattern matches every string (the empty one too): the rule would act on every message",
                ]
            ),
        )

    def test_sampleHasNoneOfThem(self) -> None:
        c = loadConfig(os.path.join(ROOT, "etc", "akto-proxy", "akto-proxy.yaml"))
        self.assertEqual([w for w in c.warnings if "plain API key" not in w], [])

    def test_badPatternOneCleanLine(self) -> None:
        e = self.assertRaises(ConfigError, parseConfig, 'listen: ["tcp:1"]\nthreat_detection:\n  custom_rules:\n    - {name: x, pattern: "(unclosed", action: block}\n', "p.yaml")
        self.assertEqual(str(e), "p.yaml:4: threat_detection.custom_rules[0].pattern: invalid pattern (RE2 syntax: no lookaround or backreferences): missing ): (unclosed")


class CommandLineTests(SynchronousTestCase):
    """
    C{twistd akto-proxy --config PATH --check} and a bad file at start.
    """

    def run_twistd(self, *args: str) -> subprocess.CompletedProcess:
        env = dict(os.environ, PYTHONPATH=ROOT)
        return subprocess.run(
            [sys.executable, "-c", TWISTD, "akto-proxy", *args],
            capture_output=True, text=True, env=env, cwd=ROOT, timeout=60,
        )

    def test_check_valid(self) -> None:
        r = self.run_twistd("--config", os.path.join(ROOT, "etc", "akto-proxy", "akto-proxy.yaml"), "--check")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("is valid", r.stdout)

    def test_check_badPatternNoLibraryNoise(self) -> None:
        path = os.path.abspath(self.mktemp())
        with open(path, "w") as f:
            f.write('listen: ["tcp:1"]\nthreat_detection:\n  custom_rules:\n    - {name: x, pattern: "(unclosed", action: block}\n')
        r = self.run_twistd("--config", path, "--check")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.strip().splitlines(), [f"akto-proxy: invalid configuration: {path}:4: threat_detection.custom_rules[0].pattern: invalid pattern (RE2 syntax: no lookaround or backreferences): missing ): (unclosed"])

    def test_check_invalid(self) -> None:
        path = os.path.abspath(self.mktemp())
        with open(path, "w") as f:
            f.write('listen: ["tcp:1"]\nupstreams:\n  alow: []\n')
        r = self.run_twistd("--config", path, "--check")
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"{path}:3: upstreams.alow: unknown key (did you mean 'allow'?)", r.stderr)
        self.assertNotIn("Traceback", r.stderr)

    def test_start_invalid_fails_fast(self) -> None:
        path = os.path.abspath(self.mktemp())
        with open(path, "w") as f:
            f.write('listen: ["tcp:1"]\nlimits: {max_request_body: -1}\n')
        env = dict(os.environ, PYTHONPATH=ROOT)
        r = subprocess.run(
            [sys.executable, "-c", TWISTD, "-n", "--pidfile=", "akto-proxy", "--config", path],
            capture_output=True, text=True, env=env, cwd=ROOT, timeout=60,
        )
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"{path}:2: limits.max_request_body", r.stderr)
        self.assertNotIn("Traceback", r.stderr + r.stdout)
