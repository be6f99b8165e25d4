"""
The audit trail: rotation by size and time with no record lost or
duplicated (logrotate's move and SIGHUP included), syslog destinations on
real sockets, body capture (none, redacted, full), and no proxy key in
clear anywhere.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import socket
from typing import Any

from twisted.internet import defer, protocol, reactor
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase, TestCase

from akto_proxy.config import parseConfig
from akto_proxy.config.model import AuditConfig, SyslogTarget
from akto_proxy.inspect.chain import Finding
from akto_proxy.mcp.events import EventBus, ExchangeEvent, MessageEvent
from akto_proxy.observe.audit import Audit
from akto_proxy.observe.logs import Redactor, RotatingFile
from akto_proxy.relay.url import Target
from tests.harness import KEY, OTHER_KEY, ProxyHarness, Upstream
from tests.observe.support import Client, attack, clean, inline

RULES = """
threat_detection:
  enabled_checks: []
  custom_rules:
    - name: "Block Sensitive File Access"
      pattern: "/etc/passwd|/etc/shadow"
      action: "block"
"""

CARD = "4111 1111 1111 1111"
AWS = "AKIAIOSFODNN7ABCDEFG"


def records(path: str) -> list[dict[str, Any]]:
    """
    Every record of the audit file and its rotated files, oldest first.
    """
    files = sorted(glob.glob(path + ".[0-9]*"), key=lambda p: -int(p.rsplit(".", 1)[1])) + [path]
    out = []
    for name in files:
        with open(name, encoding="utf-8") as f:
            out.extend(json.loads(line) for line in f)
    return out


class _Context:
    def __init__(self, requestId: str = "req_1", key: str = "tester"):
        self.requestId = requestId
        self.keyName = key
        self.clientAddress = "127.0.0.1"
        self.target = Target("http", "127.0.0.1", 9000, b"/mcp")


def messageEvent(body: Any, transport: str = "http", requestId: str = "req_1", blocked: bool = True) -> MessageEvent:
    findings = (Finding("custom_rules", "Block Sensitive File Access", "params.arguments.path", "high", "block"),) if blocked else ()
    return MessageEvent(1.0, _Context(requestId), "client_request", transport, "tools/call", "read_file", "replied" if blocked else "forwarded", "blocked" if blocked else "relayed", "blocked" if blocked else None, findings, (), None, body)


class RotatingFileTests(SynchronousTestCase):
    def setUp(self) -> None:
        os.makedirs(self.mktemp())
        self.dir = os.path.abspath(self.mktemp())
        os.makedirs(self.dir)
        self.path = os.path.join(self.dir, "audit.log")
        self.now = 1_800_000_000.0

    def lines(self, name: str) -> list[str]:
        with open(name) as f:
            return f.read().splitlines()

    def test_size_keep(self) -> None:
        """
        Rotated before the line that would pass the size, never inside a
        line; beyond C{keep}, the oldest file goes.
        """
        f = RotatingFile(self.path, maxSize=100, keep=2, clock=lambda: self.now)
        for i in range(30):
            f.write(f"line {i:04d} {'x' * 10}\n")  # 21 bytes: 4 per file
        f.close()
        self.assertEqual(sorted(os.listdir(self.dir)), ["audit.log", "audit.log.1", "audit.log.2"])
        self.assertEqual(self.lines(self.path)[-1], f"line 0029 {'x' * 10}")
        self.assertEqual([len(self.lines(p)) for p in (self.path + ".2", self.path + ".1", self.path)], [4, 4, 2])
        self.assertTrue(all(os.path.getsize(p) <= 100 for p in glob.glob(self.path + "*")))
        self.assertEqual(f.rotations, 7)

    def test_keep_all(self) -> None:
        f = RotatingFile(self.path, maxSize=50, keep=0, clock=lambda: self.now)
        for i in range(20):
            f.write(f"{i:09d}\n")  # 10 bytes: 5 per file
        f.close()
        self.assertEqual(len(os.listdir(self.dir)), 4)
        self.assertEqual([line for p in (self.path + ".3", self.path + ".2", self.path + ".1", self.path) for line in self.lines(p)], [f"{i:09d}" for i in range(20)])

    def test_interval(self) -> None:
        """
        Daily: the first line at or after each UTC midnight begins a new
        file; an empty file is not rotated.
        """
        midnight = 1_800_057_600.0  # a multiple of 86400
        self.now = midnight - 10
        f = RotatingFile(self.path, interval=86400, keep=5, clock=lambda: self.now)
        f.write("before\n")
        self.now = midnight
        f.write("after\n")
        self.now = midnight + 86400 * 3 + 5
        f.write("days later\n")
        f.close()
        self.assertEqual(self.lines(self.path + ".2"), ["before"])
        self.assertEqual(self.lines(self.path + ".1"), ["after"])
        self.assertEqual(self.lines(self.path), ["days later"])

    def test_reopen_after_move(self) -> None:
        """
        logrotate moves the file, then SIGHUP: a new file is begun; with
        copytruncate, writing goes on at the new end.
        """
        f = RotatingFile(self.path, clock=lambda: self.now)
        f.write("one\n")
        f.flush()
        os.rename(self.path, self.path + ".moved")
        f.write("two\n")  # still the moved file, until reopened
        f.reopen()
        f.write("three\n")
        f.flush()
        self.assertEqual(self.lines(self.path + ".moved"), ["one", "two"])
        self.assertEqual(self.lines(self.path), ["three"])
        with open(self.path, "r+") as g:  # copytruncate
            g.truncate(0)
        f.write("four\n")
        f.close()
        self.assertEqual(self.lines(self.path), ["four"])


class RedactorTests(SynchronousTestCase):
    def test_masks(self) -> None:
        hashed = "hashed-key-0123456789abcdef"
        r = Redactor([KEY.encode()], [hashlib.sha256(hashed.encode()).digest()], known=["hunter2-webhook-secret"])
        text = json.dumps(
            {
                "proxy_key": KEY,
                "in_query": f"https://x.example/mcp?akto_api_key={hashed}&q=1",
                "password": "hunter2",
                "Authorization": "Bearer eyJhbGciOi.payload.sig",
                "card": CARD,
                "ssn": "536-90-4399",
                "aws": AWS,
                "email": "jane.doe@example.com",
                "note": "signed with hunter2-webhook-secret",
                "pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----",
                "sql": "select name from users where id = 4",
            }
        )
        masked = r.mask(text)
        for secret in (KEY, hashed, "hunter2", "eyJhbGciOi", CARD, "536-90-4399", AWS, "jane.doe", "MIIEow", "webhook-secret"):
            self.assertNotIn(secret, masked)
        value = json.loads(masked)  # masks stay inside the JSON strings
        self.assertEqual(value["proxy_key"], "[REDACTED:secret]")
        self.assertIn("[REDACTED:credit_card]", value["card"])
        self.assertEqual(value["pem"], "[REDACTED:private_key]")
        self.assertEqual(value["sql"], "select name from users where id = 4")

    def test_keys_only(self) -> None:
        """
        C{full} capture: only the proxy's keys are masked.
        """
        r = Redactor([KEY.encode()], secrets=False, personal=False)
        self.assertEqual(r.mask(f"{KEY} {CARD} password=hunter2"), f"[REDACTED:secret] {CARD} password=hunter2")

    def test_overlaps_merge(self) -> None:
        r = Redactor(known=["abcdefgh", "efghijkl"], secrets=False, personal=False)
        self.assertEqual(r.mask("xx abcdefghijkl yy"), "xx [REDACTED:secret] yy")


class AuditLoadTests(SynchronousTestCase):
    """
    Many records across many rotations, by size and by time, and a
    logrotate move with its SIGHUP in the middle: every record is in
    exactly one file, in order.
    """

    def test_no_record_lost_or_duplicated(self) -> None:
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        path = os.path.join(directory, "audit.jsonl")
        clock = Clock()
        clock.advance(1_800_000_000)
        bus = EventBus()
        config = AuditConfig(destination=path, max_file_size=64 * 1024, rotate_interval=3600, keep_files=0)
        audit = Audit(config, bus, clock)
        audit.startService()
        total = 20_000
        moved = []
        for i in range(total):
            fields = {"request_id": f"req_{i:06d}", "key": "tester", "status": 200, "latency_ms": 1.5, "threats_detected": [], "guardrails_applied": [], "upstream": "http://127.0.0.1:9/mcp"}
            bus.publish(ExchangeEvent(fields, "POST"))
            if i % 1000 == 999:
                clock.advance(600)  # a batch is written every 100 ms; an hour passes every 6,000
            if i == total // 2:
                # logrotate: move the file away, then SIGHUP
                os.rename(path, path + ".moved")
                moved.append(path + ".moved")
                audit.reopen()  # what SIGHUP does
        audit.stopService()
        with open(moved[0]) as f:
            first = [json.loads(line) for line in f]
        rest = records(path)
        ids = [r["request_id"] for r in first + rest]
        # each file in order; all of them: each record once
        self.assertEqual(len(ids), total)
        self.assertEqual(sorted(ids), [f"req_{i:06d}" for i in range(total)])
        for name in glob.glob(path + "*"):
            with open(name) as f:
                inFile = [json.loads(line)["request_id"] for line in f]
            self.assertEqual(inFile, sorted(inFile))
        rotated = glob.glob(path + ".[0-9]*")
        self.assertGreater(len(rotated), 25)  # 20,000 records of ~150 bytes in 64 KiB files
        self.assertEqual(audit.written, total)
        self.assertEqual(audit.failed, 0)


class _Syslog(protocol.DatagramProtocol):
    def __init__(self) -> None:
        self.datagrams: list[bytes] = []
        self.waiting: list[tuple[int, defer.Deferred[list[bytes]]]] = []

    def datagramReceived(self, data: bytes, addr: Any) -> None:
        self.datagrams.append(data)
        for n, d in list(self.waiting):
            if len(self.datagrams) >= n:
                self.waiting.remove((n, d))
                d.callback(self.datagrams)

    def wait(self, n: int) -> "defer.Deferred[list[bytes]]":
        d: defer.Deferred[list[bytes]] = defer.Deferred()
        if len(self.datagrams) >= n:
            d.callback(self.datagrams)
        else:
            self.waiting.append((n, d))
        return d.addTimeout(10, reactor)


class SyslogTests(TestCase):
    async def _roundtrip(self, target: SyslogTarget, receiver: _Syslog) -> list[bytes]:
        bus = EventBus()
        audit = Audit(AuditConfig(destination="syslog", syslog=target, syslog_facility="local3"), bus, Clock(), ())
        audit.startService()
        self.addCleanup(audit.stopService)
        bus.publish(ExchangeEvent({"request_id": "req_a", "status": 200, "blocked": False, "threats_detected": []}, "GET"))
        bus.publish(ExchangeEvent({"request_id": "req_b", "status": 200, "blocked": True, "threats_detected": [{"check": "x"}]}, "POST"))
        return await receiver.wait(2)

    @inline
    async def test_udp(self) -> None:
        receiver = _Syslog()
        port = reactor.listenUDP(0, receiver, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        got = await self._roundtrip(SyslogTarget("udp", host="127.0.0.1", port=port.getHost().port), receiver)
        # RFC 5424: <PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG; local3 = 19
        first = got[0].decode()
        self.assertTrue(first.startswith(f"<{19 * 8 + 6}>1 "), first)
        head, _, body = first.partition(" - ")
        self.assertEqual(head.split()[3:6], ["akto-proxy", str(os.getpid()), "audit"])
        self.assertEqual(json.loads(body)["request_id"], "req_a")
        self.assertTrue(got[1].decode().startswith(f"<{19 * 8 + 5}>1 "))  # notice: blocked

    @inline
    async def test_unix(self) -> None:
        receiver = _Syslog()
        path = os.path.abspath(self.mktemp())
        port = reactor.listenUNIXDatagram(path, receiver)
        self.addCleanup(port.stopListening)
        got = await self._roundtrip(SyslogTarget("unix", path=path), receiver)
        first = got[0].decode()
        # RFC 3164 as /dev/log readers take it: <PRI>Mmm dd hh:mm:ss TAG[PID]: MSG
        self.assertTrue(first.startswith(f"<{19 * 8 + 6}>"))
        tag, _, body = first.partition("]: ")
        self.assertTrue(tag.endswith(f"akto-proxy[{os.getpid()}"))
        self.assertEqual(json.loads(body)["request_id"], "req_a")

    def test_absent_daemon_counted(self) -> None:
        """
        No syslog daemon: each record is counted as failed, none waits,
        the error is logged once.
        """
        from twisted.logger import LogLevel, globalLogPublisher
        from twisted.test.proto_helpers import EventLoggingObserver

        logged = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        bus = EventBus()
        audit = Audit(AuditConfig(destination="syslog", syslog=SyslogTarget("unix", path=os.path.abspath(self.mktemp()))), bus, Clock(), ())
        audit.startService()
        for i in range(3):
            bus.publish(ExchangeEvent({"request_id": f"r{i}"}, "GET"))
        audit.stopService()
        self.assertEqual((audit.failed, audit.written), (3, 0))
        errors = [e for e in logged if e["log_level"] == LogLevel.error]
        self.assertEqual(len(errors), 1)
        self.assertIn("audit records cannot be written", errors[0]["log_format"])


class CaptureTests(SynchronousTestCase):
    def capture(self, policy: str, body: Any, **kw: Any) -> dict[str, Any]:
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        path = os.path.join(directory, "a.jsonl")
        bus = EventBus()
        keys = parseConfig(f'listen: ["tcp:1"]\naccess_control:\n  api_keys: [{{name: tester, key: "{KEY}"}}, {{name: other, key_sha256: "{hashlib.sha256(OTHER_KEY.encode()).hexdigest()}"}}]\n').access_control.api_keys
        audit = Audit(AuditConfig(destination=path, capture_bodies=policy, **kw), bus, Clock(), keys)
        audit.startService()
        bus.publish(messageEvent(body))
        audit.stopService()
        got = records(path)
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0]["audit"], "message")
        return got[0]

    BODY = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "send", "arguments": {"card": CARD, "aws": AWS, "note": f"keys {KEY} and {OTHER_KEY}", "path": "/etc/passwd"}}}

    def test_redacted(self) -> None:
        record = self.capture("redacted", self.BODY)
        body = record["body"]
        for secret in (CARD, AWS, KEY, OTHER_KEY):
            self.assertNotIn(secret, json.dumps(record))
        self.assertEqual(json.loads(body)["params"]["arguments"]["path"], "/etc/passwd")
        self.assertEqual(record["threats_detected"][0]["rule"], "Block Sensitive File Access")

    def test_full(self) -> None:
        """
        Everything as sent, except the proxy's keys (plain and hashed).
        """
        record = self.capture("full", self.BODY)
        arguments = json.loads(record["body"])["params"]["arguments"]
        self.assertEqual((arguments["card"], arguments["aws"]), (CARD, AWS))
        self.assertEqual(arguments["note"], "keys [REDACTED:secret] and [REDACTED:api_key]")

    def test_truncated(self) -> None:
        record = self.capture("redacted", {"text": "x" * 10_000 + CARD}, max_captured_body=1000)
        self.assertEqual(len(record["body"]), 1000)
        self.assertTrue(record["body_truncated"])

    def test_none_streams_only(self) -> None:
        """
        Without capture, an HTTP message has no record of its own (its
        exchange record covers it); a notable message of a stream does,
        without a body.
        """
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        path = os.path.join(directory, "a.jsonl")
        bus = EventBus()
        audit = Audit(AuditConfig(destination=path), bus, Clock())
        audit.startService()
        bus.publish(messageEvent(self.BODY))
        bus.publish(messageEvent(self.BODY, transport="ws", requestId="req_ws"))
        audit.stopService()
        got = records(path)
        self.assertEqual([r["request_id"] for r in got], ["req_ws"])
        self.assertNotIn("body", got[0])

    def test_scope_all(self) -> None:
        """
        C{capture_scope: all} takes every message, clean ones included.
        """
        bus = EventBus()
        audit = Audit(AuditConfig(destination="none", capture_bodies="redacted", capture_scope="all"), bus, Clock())
        audit.startService()
        self.assertEqual(bus.messages, [audit.message])
        audit.stopService()
        audit = Audit(AuditConfig(destination="none", capture_bodies="redacted"), bus, Clock())
        audit.startService()
        self.assertEqual((bus.messages, bus.notable), ([], [audit.message]))
        audit.stopService()


class ProxyAuditTests(TestCase):
    """
    Through a running proxy: records of exchanges and captured bodies, the
    file rotated under concurrent load, and a logrotate move with a reload.
    """

    async def start(self, audit: str) -> None:
        self.upstream = await Upstream().start()
        self.addCleanup(self.upstream.stop)
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        self.path = os.path.join(directory, "audit.jsonl")
        self.config = RULES + f"audit:\n  destination: '{self.path}'\n" + audit
        self.proxy = ProxyHarness(self, self.config)
        self.client = Client(self, self.proxy.url(self.upstream, "/rpc"))

    @inline
    async def test_rotated_under_load(self) -> None:
        await self.start("  max_file_size: 16KiB\n  keep_files: 0\n")
        answered: list[int] = []

        def each(i: int, code: int, answer: Any) -> None:
            answered.append(i)

        await self.client.storm(200, lambda i: attack(i) if i % 2 else clean(i), concurrency=20, each=each)
        # logrotate moves the file, then reloads (SIGHUP)
        os.rename(self.path, self.path + ".moved")
        self.assertTrue(self.proxy.service.reload())
        await self.client.storm(200, lambda i: attack(i) if i % 2 else clean(i), concurrency=20, each=each)
        # again, with a configuration that is rejected: the file is reopened all the same
        os.rename(self.path, self.path + ".moved2")
        self.proxy.rewrite(self.config + "limits:\n  max_request_bdy: 1\n")  # a typo
        self.assertFalse(self.proxy.service.reload())
        await self.client.storm(100, lambda i: attack(i) if i % 2 else clean(i), concurrency=20, each=each)
        await self.proxy.service.stopService()
        got = []
        for moved in (self.path + ".moved", self.path + ".moved2"):
            with open(moved) as f:
                got += [json.loads(line) for line in f]
        got += records(self.path)
        self.assertEqual(len(answered), 500)
        ids = [r["request_id"] for r in got]
        self.assertEqual(len(ids), 500)
        self.assertEqual(len(set(ids)), 500)
        self.assertEqual(sum(1 for r in got if r["blocked"]), 250)
        self.assertTrue(glob.glob(self.path + ".[0-9]*"))
        for r in got:
            self.assertIn("latency_ms", r)
            self.assertIn("guardrails_applied", r)
        with open(self.path + ".moved") as f:
            self.assertNotIn(KEY, f.read())

    @inline
    async def test_captured_bodies(self) -> None:
        await self.start("  capture_bodies: redacted\n")
        message = attack(1)
        message["params"]["arguments"]["card"] = CARD
        message["params"]["arguments"]["note"] = f"my proxy key is {KEY}"
        code, answer = await self.client.post(message)
        self.assertTrue(answer["result"]["isError"])
        await self.client.post(clean(2))
        await self.proxy.service.stopService()
        got = records(self.path)
        messages = [r for r in got if r.get("audit") == "message"]
        exchanges = [r for r in got if "audit" not in r]
        self.assertEqual(len(exchanges), 2)
        self.assertEqual(len(messages), 1)  # the notable one only
        captured = json.loads(messages[0]["body"])
        self.assertEqual(captured["params"]["arguments"]["path"], "/etc/passwd")
        self.assertEqual(captured["params"]["arguments"]["note"], "my proxy key is [REDACTED:secret]")
        with open(self.path) as f:
            text = f.read()
        self.assertNotIn(CARD, text)
        self.assertNotIn(KEY, text)


class FullDiskTests(SynchronousTestCase):
    def test_failed_batch_counted(self) -> None:
        """
        A batch the disk refuses, written by its timer: each record counted
        as failed, the error logged once, the next records written again.
        """
        from twisted.logger import LogLevel, globalLogPublisher
        from twisted.test.proto_helpers import EventLoggingObserver

        logged = EventLoggingObserver.createWithCleanup(self, globalLogPublisher)
        directory = os.path.abspath(self.mktemp())
        os.makedirs(directory)
        path = os.path.join(directory, "a.jsonl")
        clock = Clock()
        bus = EventBus()
        audit = Audit(AuditConfig(destination=path), bus, clock)
        audit.startService()
        sink: Any = audit._sink
        real = sink.file.write
        full = [True]

        def write(line: str) -> None:
            if full[0]:
                raise OSError(28, "No space left on device")
            real(line)

        sink.file.write = write
        for batch in range(5):
            bus.publish(ExchangeEvent({"request_id": f"r{batch}"}, "GET"))
            clock.advance(0.1)  # the batch's timer
        self.assertEqual(audit.failed, 5)
        full[0] = False
        bus.publish(ExchangeEvent({"request_id": "r5"}, "GET"))
        audit.stopService()
        self.assertEqual([r["request_id"] for r in records(path)], ["r5"])
        errors = [e for e in logged if e["log_level"] == LogLevel.error]
        self.assertEqual(len(errors), 1)
        again = [e for e in logged if "written to {destination} again" in e["log_format"]]
        self.assertEqual([e["audit_failed"] for e in again], [5])
