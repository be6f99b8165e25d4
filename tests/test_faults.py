"""
Faults that must not lose data, leak or crash: upstreams that reset in the
middle of a body, send oversized JSON or malformed heads; clients that end
lines in bare LF; strings that are valid JSON but not Unicode; the upstream
pool's idle timeout.  Upstreams here are raw Twisted protocols on loopback,
so every byte at each hop is the test's.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Callable, Optional, Union

from twisted.internet import endpoints, protocol, reactor
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase, TestCase

from akto_proxy.config.model import UpstreamPolicy
from akto_proxy.mcp.events import ExchangeEvent
from tests.harness import KEY, ProxyHarness, RawClient, connectRaw

#: what a raw upstream does with a request: bytes to write (and stay open),
#: or a function of (protocol, request bytes)
Reply = Union[bytes, Callable[["RawUpstream", bytes], None]]


def inline(f):  # async test methods for trial
    def wrapper(self, *a, **kw):
        return ensureDeferred(f(self, *a, **kw))

    wrapper.__name__ = f.__name__
    return wrapper


class RawUpstream(protocol.Protocol):
    """
    One upstream connection: answers each request with the next reply of
    its test, and says when it is lost.
    """

    test: "FaultTestCase"

    def connectionMade(self) -> None:
        self.test.connections.append(self)
        self.lost: Deferred[Any] = Deferred()
        self.received = b""

    def dataReceived(self, data: bytes) -> None:
        self.received += data
        if b"\r\n\r\n" not in self.received:
            return
        reply = self.test.replies.pop(0) if self.test.replies else b""
        if callable(reply):
            reply(self, data)
        else:
            self.transport.write(reply)

    def connectionLost(self, reason: Any) -> None:
        self.lost.callback(reason)


class FaultTestCase(TestCase):
    """
    A proxy timed by a L{Clock} (no timeout of its own fires unless the
    test says so) in front of raw upstreams; every exchange's record kept.
    """

    extra = ""

    def setUp(self) -> Deferred[None]:
        self.replies: list[Reply] = []
        self.connections: list[RawUpstream] = []
        test = self

        class Upstream(RawUpstream):
            pass

        Upstream.test = test
        d = endpoints.TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(protocol.Factory.forProtocol(Upstream))

        def listening(port: Any) -> None:
            self.port = port
            self.addCleanup(port.stopListening)
            self.clock = Clock()
            self.proxy = ProxyHarness(self, self.extra, clock=self.clock)
            self.records: list[dict[str, Any]] = []
            self.proxy.service.bus.subscribe(ExchangeEvent, lambda e: self.records.append(e.fields))
            self.addCleanup(self._dropConnections)

        return d.addCallback(listening)

    def _dropConnections(self) -> None:
        for c in self.connections:
            if c.transport is not None and not c.lost.called:
                c.transport.abortConnection()
        return None

    def path(self, p: str = "/x") -> bytes:
        return b"/proxy/http/127.0.0.1:%d%s" % (self.port.getHost().port, p.encode())

    def head(self, method: bytes = b"GET", extra: bytes = b"", body: bytes = b"", path: str = "/x") -> bytes:
        if body or method == b"POST":
            extra += b"Content-Length: %d\r\n" % len(body)
        return (
            method + b" " + self.path(path) + b" HTTP/1.1\r\nHost: x\r\nX-Akto-Api-Key: " + KEY.encode() + b"\r\n" + extra + b"\r\n" + body
        )

    async def client(self, data: bytes) -> RawClient:
        client = await connectRaw(self.proxy.port)
        self.addCleanup(lambda: client.transport.abortConnection() if not client.done.called else None)
        client.transport.write(data)
        return client

    async def closed(self, client: RawClient) -> bytes:
        """
        All the client got, once the proxy closed its connection (a few
        seconds at most: the proxy's own timers do not run).
        """
        return await client.done.addTimeout(10, reactor)

    async def record(self) -> dict[str, Any]:
        for _ in range(100):
            if self.records:
                return self.records[-1]
            await deferLater(0.01)
        raise AssertionError("no exchange record")


def deferLater(seconds: float) -> Deferred[None]:
    from twisted.internet.task import deferLater as later

    return later(reactor, seconds, lambda: None)


def status(data: bytes) -> int:
    return int(data.split(b" ", 2)[1])


def bodyOf(data: bytes) -> bytes:
    return data.partition(b"\r\n\r\n")[2]


class BareLineFeedClientTests(FaultTestCase):
    @inline
    async def test_refused_at_once(self) -> None:
        """
        A client that ends its lines in bare LF gets 400 and a closed
        connection at once (the proxy's clock does not move: no timeout
        answered it), and nothing reaches the upstream.
        """
        request = self.head().replace(b"\r\n", b"\n")
        client = await self.client(request)
        data = await self.closed(client)
        self.assertEqual(status(data), 400)
        error = json.loads(bodyOf(data))["error"]
        self.assertEqual(error["code"], "bad_request")
        self.assertTrue(error["request_id"].startswith("req_"))
        self.assertEqual(self.connections, [])


class PoolIdleTimeoutTests(SynchronousTestCase):
    def test_below_uvicorn_keepalive(self) -> None:
        """
        Idle upstream connections are dropped before uvicorn's 5 s
        keep-alive closes them (a POST sent on a connection the upstream is
        closing fails, unretried), and the README says the value the code
        uses.
        """
        default = UpstreamPolicy().pool_idle_timeout
        self.assertLess(default, 5.0)
        readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
        said = re.search(r"`upstreams\.pool_idle_timeout` \((\d+(?:\.\d+)?) s", readme)
        assert said is not None
        self.assertEqual(float(said.group(1)), default)
