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


def spawnDaemon(path: str, env: dict[str, str]) -> tuple[Daemon, Any]:
    """
    C{twistd -n --pidfile= akto-proxy --config PATH} from the checkout, as
    operators run it: the protocol reading its JSON lines, and the process.
    """
    daemon = Daemon()
    proc = reactor.spawnProcess(
        daemon,
        sys.executable,
        [sys.executable, "-c", "from twisted.scripts.twistd import run; run()",
         "-n", "--pidfile=", "akto-proxy", "--config", path],
        env=env,
        path=ROOT,
    )
    return daemon, proc


class DaemonTests(TestCase):
    def test_reload_and_json_lines(self):
        async def run() -> None:
            upstream = await Upstream().start()
            self.addCleanup(upstream.stop)
            path = os.path.abspath(self.mktemp())
            with open(path, "w") as f:
                f.write(BASE)
            env = dict(os.environ, PYTHONPATH=ROOT, STATE_DIRECTORY=os.path.abspath(self.mktemp()))
            daemon, proc = spawnDaemon(path, env)
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
            self.assertRegex(access["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
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
            # /health says the file on disk is not in force, and why
            response, body = await request(f"{base}/health".encode(), headers={b"authorization": [f"Bearer {KEY}".encode()]}, key=None)
            config = json.loads(body)["data"]["response"]["config"]
            self.assertEqual((config["generation"], config["file_in_force"]), (1, False))
            self.assertIn("max_request_bdy", config["rejected_reload"]["error"])
            self.assertIsNone(response.headers.getRawHeaders(b"server"))  # the proxy's own answers: no version
            await daemon.waitFor(lambda e: e.get("message") == "health call" and e.get("key") == "tester")

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


class CommandLineTests(TestCase):
    def test_version(self) -> Deferred[None]:
        async def run() -> None:
            from twisted.internet.utils import getProcessOutputAndValue

            from akto_proxy import __version__

            for flag in ("--version", "-V"):
                out, err, code = await getProcessOutputAndValue(
                    sys.executable, ["-c", "from twisted.scripts.twistd import run; run()", "akto-proxy", flag], env=dict(os.environ, PYTHONPATH=ROOT), path=ROOT
                )
                self.assertEqual((out, code), (f"akto-proxy {__version__}\n".encode(), 0), err)

        return ensureDeferred(run())

    def test_daemonizedKeepsItsLogs(self) -> Deferred[None]:
        """
        Without -n, twistd forks and stdout is /dev/null: the lines go to
        the -l file (twistd.log in the working directory by default).
        """

        async def run() -> None:
            from twisted.internet.task import deferLater
            from twisted.internet.utils import getProcessOutputAndValue

            work = os.path.abspath(self.mktemp())
            os.makedirs(work)
            path = os.path.join(work, "proxy.yaml")
            with open(path, "w") as f:
                f.write(BASE + f"mcp:\n  state_dir: '{work}'\n")
            logPath = os.path.join(work, "proxy.log")
            pidPath = os.path.join(work, "proxy.pid")
            out, err, code = await getProcessOutputAndValue(
                sys.executable,
                ["-c", "from twisted.scripts.twistd import run; run()", "--pidfile", pidPath, "-l", logPath, "akto-proxy", "--config", path],
                env=dict(os.environ, PYTHONPATH=ROOT),
                path=work,
            )
            self.assertEqual(code, 0, err)
            # the daemon starts in the background: wait (bounded) for its pid
            # file and its listening line
            text = ""
            for _ in range(200):
                if os.path.exists(pidPath) and os.path.exists(logPath):
                    text = open(logPath).read()
                    if "listening on" in text:
                        break
                await deferLater(reactor, 0.05, lambda: None)
            pid = int(open(pidPath).read())
            self.addCleanup(lambda: os.kill(pid, signal.SIGKILL) if os.path.exists(pidPath) else None)
            self.assertIn("listening on", text)
            os.kill(pid, signal.SIGTERM)
            for _ in range(200):
                if not os.path.exists(pidPath):
                    break
                await deferLater(reactor, 0.05, lambda: None)
            self.assertIn("Server Shut Down", open(logPath).read())

        return ensureDeferred(run())
