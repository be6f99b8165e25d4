"""
The log lines: one JSON object per line.
"""

from __future__ import annotations

import io
import json

from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.observe.logs import AccessLog, encodeEvent


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
