"""
A throwaway redis-server on a free loopback port, as a child process of the
test (spawnProcess), for the Redis-backed tests.
"""

from __future__ import annotations

import shutil
import socket
from typing import Any, Optional

from twisted.internet import reactor as _reactor
from twisted.internet.defer import Deferred
from twisted.internet.protocol import ProcessProtocol

REDIS_SERVER = shutil.which("redis-server")
SKIP = None if REDIS_SERVER else "redis-server not installed (apt-get install -y redis-server)"

reactor: Any = _reactor


def freePort() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
    finally:
        s.close()


class _Protocol(ProcessProtocol):
    def __init__(self) -> None:
        self.output = b""
        self.ready: Deferred[None] = Deferred()
        self.ended: Deferred[None] = Deferred()

    def outReceived(self, data: bytes) -> None:
        self.output += data
        if not self.ready.called and b"Ready to accept connections" in self.output:
            self.ready.callback(None)

    errReceived = outReceived

    def processEnded(self, reason: Any) -> None:
        if not self.ready.called:
            self.ready.errback(RuntimeError("redis-server exited: " + self.output.decode(errors="replace")))
        self.ended.callback(None)


class RedisServer:
    """
    C{await start()}, C{await kill()}, C{await start()} again on the same
    port; C{url} for the configuration.
    """

    def __init__(self, port: Optional[int] = None):
        self.port = port or freePort()
        self.url = f"redis://127.0.0.1:{self.port}"
        self._proto: Optional[_Protocol] = None
        self._transport: Any = None

    async def start(self) -> "RedisServer":
        assert REDIS_SERVER is not None
        proto = _Protocol()
        args = [
            REDIS_SERVER,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--protected-mode", "yes",
            "--loglevel", "notice",
        ]
        self._transport = reactor.spawnProcess(proto, REDIS_SERVER, args, env={})
        self._proto = proto
        proto.ready.addTimeout(10, reactor)
        await proto.ready
        return self

    async def kill(self) -> None:
        proto, self._proto = self._proto, None
        if proto is None or proto.ended.called:
            return
        self._transport.signalProcess("KILL")
        await proto.ended

    @property
    def running(self) -> bool:
        return self._proto is not None and not self._proto.ended.called


def whenUp(state: Any, timeout: float = 15.0) -> "Deferred[str]":
    """
    Fires once a L{RedisState} is connected (bounded).
    """
    return state.whenState(lambda s: s == "up").addTimeout(timeout, reactor)  # type: ignore[no-any-return]


def whenDown(state: Any, timeout: float = 15.0) -> "Deferred[str]":
    """
    Fires once a L{RedisState} has lost its connection (bounded).
    """
    return state.whenState(lambda s: s not in ("up", "connecting")).addTimeout(timeout, reactor)  # type: ignore[no-any-return]
