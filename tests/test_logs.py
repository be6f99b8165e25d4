"""
The log lines: one JSON object per line.
"""

from __future__ import annotations

import io
import json

from twisted.internet.task import Clock
from twisted.logger import LogLevel
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.observe.logs import ACCESS_FLUSH_DELAY, ACCESS_FLUSH_SIZE, AccessLog, JSONLineObserver, encodeEvent, lineWriter


class AccessLogTests(SynchronousTestCase):
    def line(self, message: str, event: dict, encoded: bool) -> dict:
        out = io.StringIO()
        AccessLog(out, clock=lambda: 1795550589.25)(message, event, encodeEvent(event) if encoded else None)
        text = out.getvalue()
        self.assertTrue(text.endswith("\n"))
        self.assertEqual(text.count("\n"), 1)
        return json.loads(text)

    def test_shape(self) -> None:
        """
        The event's keys between the message and the log keys, the same
        whether the caller encoded the event already or not.
        """
        event = {"request_id": "r1", "key": "ci", "status": 200, "threats_detected": [], "note": b"\xff\n"}
        for encoded in (False, True):
            got = self.line('GET "x" 200', event, encoded)
            self.assertEqual(
                got,
                {
                    "message": 'GET "x" 200',
                    "access": True,
                    "request_id": "r1",
                    "key": "ci",
                    "status": 200,
                    "threats_detected": [],
                    "note": "\ufffd\n",
                    "log_namespace": AccessLog.namespace,
                    "log_time": 1795550589.25,
                    "level": "info",
                },
            )
            self.assertEqual(list(got)[:3], ["message", "access", "request_id"])

    def test_emptyEvent(self) -> None:
        self.assertEqual(self.line("m", {}, True)["message"], "m")


class LineWriterTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.out = io.StringIO()
        self.clock = Clock()
        self.access = AccessLog(self.out, clock=lambda: 1.0, reactor=self.clock)
        self.observer = JSONLineObserver(self.out)

    def lines(self) -> list[dict]:
        return [json.loads(line) for line in self.out.getvalue().splitlines()]

    def test_access_lines_wait_for_their_batch(self) -> None:
        self.access("a", {"n": 1})
        self.access("b", {"n": 2})
        self.assertEqual(self.out.getvalue(), "")
        self.clock.advance(ACCESS_FLUSH_DELAY)
        self.assertEqual([e["message"] for e in self.lines()], ["a", "b"])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_other_lines_keep_the_order(self) -> None:
        self.access("first", {})
        self.observer({"log_format": "reloaded {n}", "n": 2, "log_level": LogLevel.info, "log_namespace": "x", "log_time": 2.0})
        self.assertEqual([e["message"] for e in self.lines()], ["first", "reloaded 2"])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.access("after", {})
        self.clock.advance(ACCESS_FLUSH_DELAY)
        self.assertEqual([e["message"] for e in self.lines()], ["first", "reloaded 2", "after"])

    def test_size_bound_and_flush(self) -> None:
        big = "x" * 1000
        n = 0
        while self.out.getvalue() == "":
            self.access(big, {})
            n += 1
        self.assertLessEqual(n * 1000, ACCESS_FLUSH_SIZE + 1000)
        self.assertEqual(len(self.lines()), n)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.access("last", {})
        self.access.flush()  # what the service does at stop
        self.assertEqual(self.lines()[-1]["message"], "last")
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_one_writer_per_stream(self) -> None:
        self.assertIs(lineWriter(self.out), lineWriter(self.out))
        self.assertIsNot(lineWriter(self.out), lineWriter(io.StringIO()))
