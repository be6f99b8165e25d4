"""
Streaming through a running proxy: SSE events relayed as they arrive,
keepalives, disconnects both ways, reload, backpressure.
"""

from __future__ import annotations

import json
from typing import Any, Optional

from twisted.internet import reactor
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Protocol
from twisted.trial.unittest import TestCase
from twisted.web import server
from twisted.web.client import Agent, ResponseDone
from twisted.web.http_headers import Headers
from zope.interface import implementer

from tests.harness import BASE, KEY, OTHER_KEY, ProxyHarness, Upstream, configText


class StreamReader(Protocol):
    def __init__(self) -> None:
        self.data = b""
        self.waiter: Optional[Deferred[bytes]] = None
        self.want = b""
        self.done: Deferred[Any] = Deferred()

    def dataReceived(self, data: bytes) -> None:
        self.data += data
        if self.waiter is not None and self.want in self.data:
            d, self.waiter = self.waiter, None
            d.callback(self.data)

    def waitFor(self, marker: bytes) -> "Deferred[bytes]":
        if marker in self.data:
            return Deferred.fromFuture  # never used
        self.want = marker
        self.waiter = Deferred()
        return self.waiter

    def connectionLost(self, reason: Any) -> None:
        self.reason = reason
        self.done.callback([reason])


async def waitFor(reader: StreamReader, marker: bytes) -> bytes:
    if marker in reader.data:
        return reader.data
    return await reader.waitFor(marker)


async def openStream(url: bytes, key: str = KEY, method: bytes = b"GET") -> tuple[Any, StreamReader]:
    agent = Agent(reactor)
    response = await agent.request(
        method, url, Headers({b"x-akto-api-key": [key.encode()], b"accept": [b"text/event-stream"]})
    )
    reader = StreamReader()
    response.deliverBody(reader)
    return response, reader


class SSETests(TestCase):
    extra = "upstreams:\n  allow: ['127.0.0.1']\n  allow_private: ['127.0.0.0/8']\n  sse_keepalive: 15s\n"

    def setUp(self):
        return ensureDeferred(self._setUp())

    async def _setUp(self) -> None:
        from twisted.internet.task import Clock

        self.clock = Clock()
        self.upstream = await Upstream().start()
        self.addCleanup(self.upstream.stop)
        self.proxy = ProxyHarness(self, self.extra, base=BASE.split("upstreams:")[0], clock=self.clock)

    async def opened(self, key: str = KEY) -> tuple[Any, Any, StreamReader]:
        """
        An SSE stream through the proxy: (upstream side, response, reader).
        """
        streamD = self.upstream.nextStream()
        responseD = ensureDeferred(openStream(self.proxy.url(self.upstream, "/sse"), key=key))
        stream = await streamD
        response, reader = await responseD
        return stream, response, reader

    def test_events_relayed_as_they_arrive(self):
        async def run() -> None:
            stream, response, reader = await self.opened()
            self.assertEqual(response.headers.getRawHeaders(b"x-accel-buffering"), [b"no"])
            self.assertTrue(response.headers.getRawHeaders(b"x-akto-request-id")[0].startswith(b"req_"))
            self.assertIsNone(response.headers.getRawHeaders(b"content-length"))
            for i in range(3):
                event = b'id: %d\r\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"n":%d}}\r\n\r\n' % (i, i)
                stream.send(event)
                # each event reaches the client before the next one is sent
                await waitFor(reader, event)
            stream.end()
            reason = (await reader.done)[0]
            self.assertTrue(reason.check(ResponseDone))
            self.assertEqual(len(self.proxy.service.streams), 0)

        return ensureDeferred(run())

    def test_endpoint_rewritten(self):
        async def run() -> None:
            stream, response, reader = await self.opened()
            stream.send(b"event: endpoint\r\ndata: messages/?session_id=abc\r\n\r\n")
            expected = f"data: {self.proxy.base}/proxy/http/{self.upstream.authority}/messages/?session_id=abc".encode()
            await waitFor(reader, expected)
            stream.end()
            await reader.done

        return ensureDeferred(run())

    def test_keepalive_on_idle(self):
        async def run() -> None:
            stream, response, reader = await self.opened()
            self.clock.advance(14.9)
            stream.send(b"data: one\n\n")  # traffic: no keepalive yet
            await waitFor(reader, b"data: one")
            self.clock.advance(14.9)
            self.assertNotIn(b"keepalive", reader.data)
            self.clock.advance(0.1)
            await waitFor(reader, b": keepalive\n\n")
            stream.end()
            await reader.done

        return ensureDeferred(run())

    def test_client_disconnect_closes_upstream(self):
        async def run() -> None:
            stream, response, reader = await self.opened()
            stream.send(b"data: one\n\n")
            await waitFor(reader, b"data: one")
            self.assertEqual(len(self.proxy.service.streams), 1)
            reader.transport.stopProducing()  # the client goes away
            await stream.closed  # the upstream side is closed too
            await reader.done
            self.assertEqual(len(self.proxy.service.streams), 0)

        return ensureDeferred(run())

    def test_upstream_dies_mid_stream(self):
        async def run() -> None:
            stream, response, reader = await self.opened()
            stream.send(b"data: one\n\n")
            await waitFor(reader, b"data: one")
            stream.abort()
            reason = (await reader.done)[0]
            # the client's stream ends cleanly (terminating chunk), not with a reset
            self.assertTrue(reason.check(ResponseDone), reason)
            self.assertEqual(len(self.proxy.service.streams), 0)

        return ensureDeferred(run())

    def test_reload_closes_stream_of_removed_key(self):
        async def run() -> None:
            streamD = self.upstream.nextStream()
            responseD = ensureDeferred(openStream(self.proxy.url(self.upstream, "/sse"), key=OTHER_KEY))
            stream = await streamD
            response, reader = await responseD
            keepD = self.upstream.nextStream()
            keptD = ensureDeferred(openStream(self.proxy.url(self.upstream, "/sse"), key=KEY))
            kept = await keepD
            _, keptReader = await keptD
            # a file with a typo is rejected; everything stays open
            self.proxy.rewrite("upstreams:\n  alow: []\n", base=BASE)
            self.assertFalse(self.proxy.service.reload())
            self.assertEqual(len(self.proxy.service.streams), 2)
            # the key "other" is removed: its stream is closed, the other stays
            without = BASE.replace('    - {name: other, key: "%s"}\n' % OTHER_KEY, "")
            self.proxy.rewrite(self.extra, base=without.split("upstreams:")[0])
            self.assertTrue(self.proxy.service.reload())
            await reader.done
            await stream.closed
            self.assertEqual(len(self.proxy.service.streams), 1)
            kept.send(b"data: still here\n\n")
            await waitFor(keptReader, b"data: still here")
            self.assertEqual(self.proxy.service.runtime.generation, 2)
            kept.end()
            await keptReader.done

        return ensureDeferred(run())


@implementer(IPushProducer)
class Flood:
    """
    Write up to C{total} bytes as fast as the transport allows.
    """

    def __init__(self, request: server.Request, total: int):
        self.request = request
        self.total = total
        self.written = 0
        self.paused = False
        self.stopped = False
        self.pauses = 0

    def start(self) -> None:
        self.request.registerProducer(self, True)
        self.resumeProducing()

    def pauseProducing(self) -> None:
        self.paused = True
        self.pauses += 1
        waiters, self.pauseWaiters = getattr(self, "pauseWaiters", []), []
        for d in waiters:
            d.callback(self.written)

    def whenPaused(self) -> "Deferred[int]":
        d: Deferred[int] = Deferred()
        self.pauseWaiters = getattr(self, "pauseWaiters", []) + [d]
        return d

    def resumeProducing(self) -> None:
        self.paused = False
        chunk = b"x" * 65536
        while not self.paused and not self.stopped and self.written < self.total:
            self.request.write(chunk)
            self.written += len(chunk)
        if self.written >= self.total and not self.stopped:
            self.stopped = True
            self.request.unregisterProducer()
            self.request.finish()

    def stopProducing(self) -> None:
        self.stopped = True


class BackpressureTests(TestCase):
    def setUp(self):
        return ensureDeferred(self._setUp())

    async def _setUp(self) -> None:
        self.upstream = await Upstream().start()
        self.addCleanup(self.upstream.stop)
        self.proxy = ProxyHarness(self)
        self.floods: list[Flood] = []

        def big(request: server.Request, body: bytes) -> int:
            request.setHeader(b"content-type", b"application/octet-stream")
            flood = Flood(request, 100 * 1024 * 1024)
            self.floods.append(flood)
            reactor.callLater(0, flood.start)
            return server.NOT_DONE_YET

        self.upstream.handlers[b"big"] = big

    def test_slow_client_pauses_upstream(self):
        """
        A client that does not read: the upstream is paused through the proxy
        and what it managed to write stays bounded (kernel and transport
        buffers), far below the 100 MB it would send.
        """

        async def run() -> None:
            from akto_proxy.web.stream import BodyRelay

            # the proxy holding its upstream back is the event waited for
            held: Deferred[None] = Deferred()
            made = BodyRelay.connectionMade

            def connectionMade(relay: BodyRelay) -> None:
                made(relay)
                pause = relay.transport.pauseProducing

                def pausing() -> None:
                    pause()
                    if not held.called:
                        held.callback(None)

                relay.transport.pauseProducing = pausing

            self.patch(BodyRelay, "connectionMade", connectionMade)
            response, reader = await openStream(self.proxy.url(self.upstream, "/big"))
            reader.transport.pauseProducing()  # stop reading
            await held.addTimeout(30, reactor)
            flood = self.floods[0]
            # the proxy no longer reads: the upstream fills what buffers lie
            # between and is paused in turn, far below the 100 MB it has
            written = flood.written if flood.paused else await flood.whenPaused().addTimeout(30, reactor)
            self.assertLess(written, 24 * 1024 * 1024)
            reader.transport.stopProducing()
            await reader.done

        return ensureDeferred(run())


__all__ = ["json", "configText"]


class ShutdownTests(TestCase):
    def setUp(self):
        return ensureDeferred(self._setUp())

    async def _setUp(self) -> None:
        self.upstream = await Upstream().start()
        self.addCleanup(self.upstream.stop)
        self.proxy = ProxyHarness(self)
        self.pending: list[server.Request] = []
        self.arrived: Deferred[None] = Deferred()

        def hold(request: server.Request, body: bytes) -> int:
            self.pending.append(request)
            self.arrived.callback(None)
            return server.NOT_DONE_YET

        self.upstream.handlers[b"custom"] = hold

    def test_drain_then_close_streams(self):
        """
        SIGTERM: the listener closes at once, an in-flight request still gets
        its answer, open SSE streams are closed cleanly afterwards.
        """
        from tests.harness import request

        async def run() -> None:
            streamD = self.upstream.nextStream()
            sseD = ensureDeferred(openStream(self.proxy.url(self.upstream, "/sse")))
            await streamD
            _, sseReader = await sseD
            inflight = ensureDeferred(request(self.proxy.url(self.upstream, "/custom")))
            await self.arrived
            stopped = self.proxy.service.stopService()
            self.assertNoResult(stopped)
            # no new connections
            from twisted.internet.error import ConnectionRefusedError

            with self.assertRaises(ConnectionRefusedError):
                await request(self.proxy.url(self.upstream, "/echo"))
            # the in-flight request completes
            held = self.pending[0]
            held.write(b"done")
            held.finish()
            response, body = await inflight
            self.assertEqual((response.code, body), (200, b"done"))
            await stopped
            reason = (await sseReader.done)[0]
            self.assertTrue(reason.check(ResponseDone))

        return ensureDeferred(run())


class LegacySessionBoundTests(TestCase):
    """
    A long legacy HTTP+SSE session holds bounded state in the proxy: 10,000
    JSON-RPC requests the server never answers, and a server that keeps
    sending messages with findings, leave at most L{MAX_PENDING} pending
    requests and L{MAX_FINDINGS} findings for the session (they grew for the
    session's whole life before the pipeline's correlator).
    """

    extra = (
        "upstreams:\n  allow: ['127.0.0.1']\n  allow_private: ['127.0.0.0/8']\n"
        "threat_detection:\n  enabled_checks: []\n  custom_rules:\n"
        "    - {name: noted, pattern: 'note-me', action: log}\n"
    )

    def setUp(self):
        return ensureDeferred(self._setUp())

    async def _setUp(self) -> None:
        self.upstream = await Upstream().start()
        self.addCleanup(self.upstream.stop)
        self.posted: list[int] = []

        def accept(request: server.Request, body: bytes) -> bytes:
            self.posted.append(len(json.loads(body)))
            request.setResponseCode(202)
            return b""

        self.upstream.handlers[b"custom"] = accept
        self.proxy = ProxyHarness(self, self.extra, base=BASE.split("upstreams:")[0])

    def test_bounded(self):
        from io import BytesIO

        from twisted.web.client import FileBodyProducer, HTTPConnectionPool, readBody

        from akto_proxy.mcp.pipeline import MAX_FINDINGS
        from akto_proxy.mcp.session import MAX_PENDING

        async def run() -> None:
            streamD = self.upstream.nextStream()
            responseD = ensureDeferred(openStream(self.proxy.url(self.upstream, "/sse")))
            stream = await streamD
            response, reader = await responseD
            stream.send(b"event: endpoint\r\ndata: /custom/messages?session_id=abc\r\n\r\n")
            await waitFor(reader, b"session_id=abc")
            (relay,) = self.proxy.service.streams
            post = self.proxy.url(self.upstream, "/custom/messages?session_id=abc")
            pool = HTTPConnectionPool(reactor)
            self.addCleanup(pool.closeCachedConnections)
            agent = Agent(reactor, pool=pool)
            headers = Headers({b"x-akto-api-key": [KEY.encode()], b"content-type": [b"application/json"]})
            for batch in range(100):
                calls = [
                    {"jsonrpc": "2.0", "id": batch * 100 + i, "method": "tools/call", "params": {"name": "echo", "arguments": {"i": i}}}
                    for i in range(100)
                ]
                answer = await agent.request(b"POST", post, headers, FileBodyProducer(BytesIO(json.dumps(calls).encode())))
                await readBody(answer)
                self.assertEqual(answer.code, 202)
            self.assertEqual(sum(self.posted), 10_000)
            correlator = relay.conversation.correlator
            self.assertEqual(len(correlator), MAX_PENDING)
            # the oldest were forgotten, the newest are known
            self.assertIsNone(correlator.serverAnswered({"id": 0}))
            self.assertIsNotNone(correlator.serverAnswered({"id": 9_999}))
            # the server's messages with findings: the stream keeps the latest
            note = b'data: {"jsonrpc":"2.0","method":"notifications/message","params":{"data":"note-me"}}\r\n\r\n'
            stream.send(note * (MAX_FINDINGS + 300))
            stream.end()
            await reader.done
            self.assertEqual(reader.data.count(b"note-me"), MAX_FINDINGS + 300)  # monitored: all relayed
            self.assertEqual(len(relay.exchange.ctx.findings), MAX_FINDINGS)
            self.assertEqual(self.proxy.service.recentEvents(1)[-1]["threats_detected"][-1]["rule"], "noted")

        return ensureDeferred(run())
