"""
TCP transport helpers: sendNow.
"""

from __future__ import annotations

from typing import Any, Callable

from twisted.internet import defer, endpoints, protocol, reactor
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import TestCase

from akto_proxy.relay.transport import sendNow


class Keep(protocol.Protocol):
    def __init__(self, made: "defer.Deferred[Any]") -> None:
        self.made = made

    def connectionMade(self) -> None:
        self.made.callback(self)


class Reader(protocol.Protocol):
    def __init__(self) -> None:
        self.data = b""
        self.closed: defer.Deferred[None] = defer.Deferred()
        self.waiting: list[tuple[Callable[[bytes], bool], defer.Deferred[None]]] = []

    def received(self, done: Callable[[bytes], bool]) -> "defer.Deferred[None]":
        """
        Fires once what was received satisfies C{done}.
        """
        d: defer.Deferred[None] = defer.Deferred()
        self.waiting.append((done, d))
        self.dataReceived(b"")
        return d

    def dataReceived(self, data: bytes) -> None:
        self.data += data
        for done, d in list(self.waiting):
            if done(self.data):
                self.waiting.remove((done, d))
                d.callback(None)

    def connectionLost(self, reason: Any) -> None:
        self.closed.callback(None)


class Producer:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def pauseProducing(self) -> None:
        self.calls.append("pause")

    def resumeProducing(self) -> None:
        self.calls.append("resume")

    def stopProducing(self) -> None:
        self.calls.append("stop")


def buffered(transport: Any) -> int:
    return len(transport.dataBuffer) - transport.offset + transport._tempDataLen


class SendNowTests(TestCase):
    async def pair(self) -> tuple[Any, Reader]:
        made: defer.Deferred[Any] = defer.Deferred()
        factory = protocol.Factory.forProtocol(lambda: Keep(made))
        port = await endpoints.TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(factory)
        self.addCleanup(port.stopListening)
        reader = Reader()
        await endpoints.connectProtocol(endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port), reader)
        server = await made
        self.addCleanup(lambda: server.transport.loseConnection() or reader.closed)
        return server.transport, reader

    def test_sends_at_once(self) -> "defer.Deferred[None]":
        async def run() -> None:
            transport, reader = await self.pair()
            transport.write(b"answer")
            self.assertEqual(buffered(transport), 6)
            sendNow(transport)  # no reactor turn between
            self.assertEqual(buffered(transport), 0)
            await reader.received(lambda data: data == b"answer")
            transport.loseConnection()
            await reader.closed

        return defer.Deferred.fromCoroutine(run())

    def test_leaves_a_closing_connection_to_the_reactor(self) -> "defer.Deferred[None]":
        async def run() -> None:
            transport, reader = await self.pair()
            transport.write(b"last words")
            transport.loseConnection()
            sendNow(transport)
            self.assertEqual(buffered(transport), 10)
            await reader.closed  # the reactor sends, then closes
            self.assertEqual(reader.data, b"last words")

        return defer.Deferred.fromCoroutine(run())

    def test_sends_past_a_streaming_producer(self) -> "defer.Deferred[None]":
        """
        A streaming producer that is not paused (the client side's
        HTTPChannel, always registered) does not keep the answer back, and
        is not called by the send.
        """

        async def run() -> None:
            transport, reader = await self.pair()
            producer = Producer()
            transport.registerProducer(producer, True)
            self.addCleanup(transport.unregisterProducer)
            transport.write(b"answer")
            sendNow(transport)
            self.assertEqual(buffered(transport), 0)
            self.assertEqual(producer.calls, [])
            await reader.received(lambda data: data == b"answer")
            transport.unregisterProducer()

        return defer.Deferred.fromCoroutine(run())

    def test_leaves_paused_or_pull_producers_to_the_reactor(self) -> "defer.Deferred[None]":
        """
        Sending would call a paused streaming producer or a pull producer
        back (resumeProducing) from within the caller: left to the reactor.
        """

        async def run() -> None:
            transport, reader = await self.pair()
            for count, streaming in enumerate((True, False), 1):
                producer = Producer()
                transport.registerProducer(producer, streaming)  # a pull producer is resumed here
                self.addCleanup(transport.unregisterProducer)
                if streaming:
                    transport.producerPaused = True
                del producer.calls[:]
                transport.write(b"x")
                sendNow(transport)
                self.assertEqual(buffered(transport), 1)
                self.assertEqual(producer.calls, [])
                await reader.received(lambda data: data == b"x" * count)
                self.assertEqual(producer.calls, ["resume"])  # by the reactor, once sent
                transport.unregisterProducer()
            self.assertEqual(reader.data, b"xx")

        return defer.Deferred.fromCoroutine(run())

    def test_other_transports(self) -> None:
        t = StringTransport()
        t.write(b"x")
        sendNow(t)
        sendNow(None)
        self.assertEqual(t.value(), b"x")



class EagerClientTests(TestCase):
    def test_request_sent_at_once(self) -> "defer.Deferred[None]":
        """
        The upstream protocol sends a request within the call that makes it,
        not at the reactor's next turn.
        """
        return self.sent(eager=True)

    def test_request_left_to_the_reactor_under_load(self) -> "defer.Deferred[None]":
        return self.sent(eager=False)

    def test_eager_only_when_quiet(self) -> None:
        """
        The service sends at once while few plain requests are in flight;
        open streams and sockets do not count.
        """
        from akto_proxy.service import EAGER_BELOW
        from tests.harness import ProxyHarness

        service = ProxyHarness(self).service
        service.inflight.update(object() for _ in range(EAGER_BELOW))
        self.assertTrue(service.sendEagerly())
        service.inflight.add(object())
        self.assertFalse(service.sendEagerly())
        service.streams.add(object())  # type: ignore[arg-type]
        self.assertTrue(service.sendEagerly())
        service.inflight.clear()
        service.streams.clear()

    def sent(self, eager: bool) -> "defer.Deferred[None]":
        async def run() -> None:
            from twisted.web.client import Request
            from twisted.web.http_headers import Headers

            from akto_proxy.relay.http import EagerClientProtocol

            made: defer.Deferred[Any] = defer.Deferred()
            port = await endpoints.TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(
                protocol.Factory.forProtocol(lambda: Keep(made))
            )
            self.addCleanup(port.stopListening)
            client = EagerClientProtocol(eager=lambda: eager)
            await endpoints.connectProtocol(endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port), client)
            server = await made
            reader = Reader()
            server.dataReceived = reader.dataReceived  # type: ignore[method-assign]
            d = client.request(Request(b"GET", b"/x", Headers({b"host": [b"up"]}), None, persistent=True))
            if eager:
                self.assertEqual(buffered(client.transport), 0)
            else:
                self.assertGreater(buffered(client.transport), 0)  # the reactor sends it
            await reader.received(lambda data: data.endswith(b"\r\n\r\n"))  # the whole head
            self.assertTrue(reader.data.startswith(b"GET /x HTTP/1.1\r\n"), reader.data)
            self.assertIn(b"\r\nHost: up\r\n", reader.data)
            d.addErrback(lambda f: None)  # the connection goes away unanswered
            client.transport.loseConnection()
            server.transport.loseConnection()

        return defer.Deferred.fromCoroutine(run())
