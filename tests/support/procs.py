"""
Twisted-side helpers that run the SDK peers as subprocesses.

    url, port, upstream = yield startUpstream(reactor, "legacy-sse", "query")
    self.addCleanup(upstream.stop)
    lines = yield runClient(reactor, ["--url", url, "--list-tools"])

Both speak one JSON object per line on stdout.  Nothing here sleeps: the
upstream is ready when it prints its listening line, the client is done when
it exits; each has a reactor-side deadline after which the process is killed.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

import attrs
from twisted.internet.defer import Deferred, succeed
from twisted.internet.error import ProcessDone, ProcessExitedAlready, ProcessTerminated
from twisted.internet.interfaces import IProcessTransport
from twisted.internet.protocol import ProcessProtocol
from twisted.python.failure import Failure

#: The repository root (the directory holding C{tests/}), from this file's location.
REPO_ROOT = Path(__file__).resolve().parents[2]

UPSTREAM_MODULE = "tests.support.mcp_upstream"
CLIENT_MODULE = "tests.support.mcp_client"

_STDERR_CAP = 256 * 1024


def childEnv() -> dict[str, str]:
    """
    The environment for a peer: ours, with the repository first on
    C{PYTHONPATH} and unbuffered output.
    """
    env = dict(os.environ)
    paths = [str(REPO_ROOT)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    return env


class PeerFailed(Exception):
    """
    A peer process did not do what was expected of it.

    @ivar exitCode: its exit status (None if killed by a signal or still running).
    @ivar lines: the JSON objects it printed.
    @ivar stderr: what it wrote to stderr (capped).
    """

    def __init__(self, reason: str, exitCode: int | None, lines: list[dict[str, Any]], stderr: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.exitCode = exitCode
        self.lines = lines
        self.stderr = stderr

    def __str__(self) -> str:
        tail = self.stderr[-4000:]
        return f"{self.reason} (exit {self.exitCode}); lines={self.lines!r}; stderr:\n{tail}"


class UpstreamFailed(PeerFailed):
    """
    The upstream exited or timed out before printing its listening line.
    """


class ClientFailed(PeerFailed):
    """
    The client exited non-zero (connect failure 2, timeout 3, transport 4,
    usage 64, or 1 under C{--strict}) or was killed.
    """


class _LineProcess(ProcessProtocol):
    """
    Splits stdout into JSON lines, keeps stderr, reports the exit.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self.lines: list[dict[str, Any]] = []
        self._stderr = bytearray()
        self.exitCode: int | None = None
        self.ended = False
        self._endWaiters: list[Deferred[None]] = []

    @property
    def stderr(self) -> str:
        return self._stderr.decode("utf-8", "replace")

    def outReceived(self, data: bytes) -> None:
        self._buffer += data
        *complete, self._buffer = self._buffer.split(b"\n")
        for raw in complete:
            raw = raw.strip()
            if not raw:
                continue
            try:
                obj = json.loads(raw)
            except ValueError:
                obj = {"raw": raw.decode("utf-8", "replace")}
            if not isinstance(obj, dict):
                obj = {"raw": obj}
            self.lines.append(obj)
            self.lineReceived(obj)

    def lineReceived(self, obj: dict[str, Any]) -> None:
        pass

    def errReceived(self, data: bytes) -> None:
        room = _STDERR_CAP - len(self._stderr)
        if room > 0:
            self._stderr += data[:room]

    def processEnded(self, reason: Failure) -> None:
        value = reason.value
        if isinstance(value, ProcessDone):
            self.exitCode = 0
        elif isinstance(value, ProcessTerminated):
            self.exitCode = value.exitCode
        self.ended = True
        waiters, self._endWaiters = self._endWaiters, []
        for d in waiters:
            d.callback(None)
        self.ended_()

    def ended_(self) -> None:
        pass

    def whenEnded(self) -> Deferred[None]:
        if self.ended:
            return succeed(None)
        d: Deferred[None] = Deferred()
        self._endWaiters.append(d)
        return d


@attrs.define(eq=False)
class ProcessHandle:
    """
    A running peer.  L{stop} ends it (stdin closed and SIGTERM, then SIGKILL
    after C{grace} seconds) and fires once it has exited: pass it to
    C{addCleanup}.
    """

    reactor: Any  # IReactorTime
    transport: Any  # IProcessTransport
    protocol: _LineProcess
    grace: float = 5.0

    @property
    def pid(self) -> int | None:
        pid: int | None = self.transport.pid
        return pid

    @property
    def stderr(self) -> str:
        return self.protocol.stderr

    @property
    def lines(self) -> list[dict[str, Any]]:
        return self.protocol.lines

    def signal(self, name: str) -> None:
        try:
            self.transport.signalProcess(name)
        except ProcessExitedAlready:
            pass

    def stop(self) -> Deferred[None]:
        if self.protocol.ended:
            return succeed(None)
        ended = self.protocol.whenEnded()
        try:
            self.transport.closeStdin()
        except Exception:
            pass
        self.signal("TERM")
        kill = self.reactor.callLater(self.grace, self.signal, "KILL")

        def cancelKill(result: None) -> None:
            if kill.active():
                kill.cancel()
            return result

        return ended.addBoth(cancelKill)


class _UpstreamProtocol(_LineProcess):
    def __init__(self) -> None:
        super().__init__()
        self.ready: Deferred[dict[str, Any]] = Deferred()

    def lineReceived(self, obj: dict[str, Any]) -> None:
        if "listening" in obj and not self.ready.called:
            self.ready.callback(obj)

    def ended_(self) -> None:
        if not self.ready.called:
            self.ready.errback(
                UpstreamFailed("upstream exited before listening", self.exitCode, self.lines, self.stderr)
            )


def _spawn(
    reactor: Any, protocol: _LineProcess, module: str, args: Sequence[str]
) -> IProcessTransport:
    argv = [sys.executable, "-m", module, *args]
    transport: IProcessTransport = reactor.spawnProcess(
        protocol,
        sys.executable,
        argv,
        env=childEnv(),
        path=str(REPO_ROOT),
        childFDs={0: "w", 1: "r", 2: "r"},
    )
    return transport


def startUpstream(
    reactor: Any,
    transport: str,
    shape: str | None = None,
    *,
    host: str = "127.0.0.1",
    extraArgs: Sequence[str] = (),
    timeout: float = 30.0,
) -> Deferred[tuple[str, int, ProcessHandle]]:
    """
    Start C{python -m tests.support.mcp_upstream} on a free port of C{host}.

    @param transport: C{streamable-json}, C{streamable-sse} or C{legacy-sse}.
    @param shape: the legacy C{endpoint} shape (C{absolute-path},
        C{absolute-url}, C{relative}, C{query}); legacy-sse only.
    @return: fires with C{(url, port, handle)} once the upstream listens, or
        fails with L{UpstreamFailed} (exit before listening, or C{timeout}).
        The caller owns C{handle} and must C{stop()} it (C{addCleanup}).
    """
    args = ["--transport", transport, "--port", "0", "--host", host]
    if shape is not None:
        args += ["--endpoint-shape", shape]
    args += list(extraArgs)
    protocol = _UpstreamProtocol()
    proc = _spawn(reactor, protocol, UPSTREAM_MODULE, args)
    handle = ProcessHandle(reactor, proc, protocol)

    def onTimeout() -> None:
        if not protocol.ready.called:
            protocol.ready.errback(
                UpstreamFailed(f"upstream not listening after {timeout:g}s", None, protocol.lines, protocol.stderr)
            )

    timer: Any = reactor.callLater(timeout, onTimeout)

    def listening(obj: dict[str, Any]) -> tuple[str, int, ProcessHandle]:
        return (obj["url"], int(obj["listening"]), handle)

    def failed(f: Failure) -> Deferred[Any]:
        # Do not leave the process behind; report the original failure.
        return handle.stop().addBoth(lambda _: f)

    def cancelTimer(result: Any) -> Any:
        if timer.active():
            timer.cancel()
        return result

    d = protocol.ready.addBoth(cancelTimer)
    d.addCallbacks(listening, failed)
    return d


class _ClientProtocol(_LineProcess):
    def __init__(self) -> None:
        super().__init__()
        self.done: Deferred[list[dict[str, Any]]] = Deferred()
        self.timedOut = False

    def ended_(self) -> None:
        if self.timedOut:
            self.done.errback(ClientFailed("client killed after deadline", self.exitCode, self.lines, self.stderr))
        elif self.exitCode == 0:
            self.done.callback(self.lines)
        else:
            self.done.errback(ClientFailed("client failed", self.exitCode, self.lines, self.stderr))


def runClient(reactor: Any, args: Sequence[str], *, timeout: float = 60.0) -> Deferred[list[dict[str, Any]]]:
    """
    Run C{python -m tests.support.mcp_client ARGS} to completion.

    @return: fires with the JSON lines it printed (the C{connect} line first,
        then one per action) when it exits 0; fails with L{ClientFailed}
        (carrying C{exitCode}, C{lines} and C{stderr}) otherwise.  The client
        bounds itself with C{--timeout} (default 20 s); C{timeout} here is a
        backstop after which the process is killed.
    """
    protocol = _ClientProtocol()
    proc: Any = _spawn(reactor, protocol, CLIENT_MODULE, list(args))
    proc.closeStdin()
    handle = ProcessHandle(reactor, proc, protocol, grace=2.0)

    def onTimeout() -> None:
        protocol.timedOut = True
        handle.stop()

    timer: Any = reactor.callLater(timeout, onTimeout)

    def cancelTimer(result: Any) -> Any:
        if timer.active():
            timer.cancel()
        return result

    return protocol.done.addBoth(cancelTimer)


def resultOf(lines: list[dict[str, Any]], action: str, index: int = 0) -> dict[str, Any]:
    """
    The C{index}th line for C{action} (C{"connect"}, C{"call"}, C{"list_tools"}, ...).
    """
    matching = [line for line in lines if line.get("action") == action]
    return matching[index]


__all__ = [
    "ClientFailed",
    "PeerFailed",
    "ProcessHandle",
    "REPO_ROOT",
    "UpstreamFailed",
    "childEnv",
    "resultOf",
    "runClient",
    "startUpstream",
]
