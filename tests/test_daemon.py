"""
The daemon as operators run it: twistd in the foreground, JSON lines on
stdout, SIGHUP reload (a typo is logged and ignored), SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.protocol import ProcessProtocol
from twisted.trial.unittest import TestCase

from tests.harness import BASE, KEY, Upstream, request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Daemon(ProcessProtocol):
    def __init__(self) -> None:
        self.buffer = b""
        self.lines: list[bytes] = []
        self.waiters: list[tuple[Any, Deferred[dict]]] = []
        self.ended: Deferred[Any] = Deferred()

    def outReceived(self, data: bytes) -> None:
        self.buffer += data
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            self.lines.append(line)
            try:
                event = json.loads(line)
            except ValueError:
                continue
            for pred, d in list(self.waiters):
                if pred(event):
                    self.waiters.remove((pred, d))
                    d.callback(event)

    def errReceived(self, data: bytes) -> None:
        self.lines.append(b"STDERR " + data)

    def waitFor(self, pred: Any) -> "Deferred[dict]":
        for line in self.lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if pred(event):
                return Deferred.fromCoroutine(_value(event))
        d: Deferred[dict] = Deferred()
        d.addTimeout(30, reactor)
        self.waiters.append((pred, d))
        return d

    def processEnded(self, reason: Any) -> None:
        self.ended.callback((reason.value.exitCode, reason.value.signal))


async def _value(v: Any) -> Any:
    return v


class DaemonTests(TestCase):
    def test_reload_and_json_lines(self):
        async def run() -> None:
            upstream = await Upstream().start()
            self.addCleanup(upstream.stop)
            path = os.path.abspath(self.mktemp())
            with open(path, "w") as f:
                f.write(BASE)
            daemon = Daemon()
            env = dict(os.environ, PYTHONPATH=ROOT, STATE_DIRECTORY=os.path.abspath(self.mktemp()))
            proc = reactor.spawnProcess(
                daemon,
                sys.executable,
                [sys.executable, "-c", "from twisted.scripts.twistd import run; run()",
                 "-n", "--pidfile=", "akto-proxy", "--config", path],
                env=env,
                path=ROOT,
            )
            self.addCleanup(lambda: proc.signalProcess("KILL") if daemon.ended.called is False else None)
            started = await daemon.waitFor(lambda e: e.get("listening"))
            base = f"http://127.0.0.1:{started['port']}"
            url = f"{base}/proxy/http/{upstream.authority}/echo".encode()
            response, _ = await request(url)
            self.assertEqual(response.code, 200)
            # the access line: written straight to stdout, shaped as a log event
            rid = response.headers.getRawHeaders(b"x-akto-request-id")[0].decode()
            access = await daemon.waitFor(lambda e: e.get("access") and e.get("request_id") == rid)
            self.assertEqual((access["key"], access["status"], access["level"]), ("tester", 200, "info"))
            self.assertEqual(access["message"], f"GET http://{upstream.authority}/echo 200 relayed")
            self.assertIsInstance(access["log_time"], float)
            self.assertGreater(access["bytes"], 0)

            # a typo: rejected with file, line and key; still serving
            with open(path, "w") as f:
                f.write(BASE + "limits:\n  max_request_bdy: 1KiB\n")
            proc.signalProcess("HUP")
            rejected = await daemon.waitFor(lambda e: "reload rejected" in e.get("message", ""))
            self.assertIn(f"{path}:", rejected["message"])
            self.assertIn("limits.max_request_bdy: unknown key (did you mean 'max_request_body'?)", rejected["message"])
            response, _ = await request(url)
            self.assertEqual(response.code, 200)

            # a valid change: the tester key is gone
            with open(path, "w") as f:
                f.write(BASE.replace('    - {name: tester, key: "%s"}\n' % KEY, ""))
            proc.signalProcess("HUP")
            await daemon.waitFor(lambda e: "configuration reloaded" in e.get("message", ""))
            response, _ = await request(url)
            self.assertEqual(response.code, 401)

            proc.signalProcess("TERM")
            code, sig = await daemon.ended
            # twistd shuts down cleanly, then exits by the signal it received
            # (systemd counts SIGTERM as success)
            self.assertIn((code, sig), [(0, None), (None, signal.SIGTERM)], b"\n".join(daemon.lines[-5:]))
            self.assertTrue(any(b"Server Shut Down" in l for l in daemon.lines))
            out = [l for l in daemon.lines if not l.startswith(b"STDERR")]
            self.assertTrue(out)
            for line in out:
                self.assertIsInstance(json.loads(line), dict, line)
            self.assertNotIn(KEY.encode(), b"\n".join(out))

        return ensureDeferred(run())
