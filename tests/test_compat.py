"""
The private names of Twisted the proxy uses (L{akto_proxy.compat}): each is
there on the installed Twisted, and each fallback works without it.
"""

from __future__ import annotations

from typing import Any

from twisted.application import strports
from twisted.internet import protocol, reactor as _reactor
from twisted.internet.defer import ensureDeferred
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web import http
from twisted.web.client import HTTPConnectionPool
from twisted.web.http_headers import Headers

from akto_proxy import compat
from akto_proxy.relay.fence import AddressPolicy
from akto_proxy.relay.http import ClientSettings, EagerClientProtocol, buildAgent

reactor: Any = _reactor


class Bare:
    """
    An object with none of the private names.
    """

    transport: Any = None


class PresentTests(SynchronousTestCase):
    """
    The names are where compat looks for them on this Twisted (when one
    moves, these fail: update compat and its fallback, then widen the
    Twisted bound in setup.cfg).
    """

    def test_httpChannel(self) -> None:
        self.assertTrue(compat.WHOLE_HEADS)
        for name in ("_respondToBadRequestAndDisconnect", "_finishRequestBody", "_busyReceiving"):
            self.assertTrue(hasattr(http.HTTPChannel, name), name)
        channel = http.HTTPChannel()
        channel.makeConnection(StringTransport())
        self.assertTrue(compat.channelBetweenRequests(channel))
        self.assertEqual(compat.bufferedByChannel(channel), b"")
        channel.connectionLost(None)

    def test_client(self) -> None:
        from twisted.web import _newclient, client

        self.assertIs(compat.ensureValidURI, _newclient._ensureValidURI)
        self.assertIs(compat.HTTP11ClientFactory, client._HTTP11ClientFactory)
        pool = HTTPConnectionPool(MemoryReactorClock())
        self.assertTrue(hasattr(pool, "_factory"))
        self.assertEqual(compat.idleConnections(pool), 0)

    def test_poolBuildsEagerProtocols(self) -> None:
        clock = MemoryReactorClock()
        agent, pool = buildAgent(clock, lambda: ClientSettings(policy=AddressPolicy(), connectTimeout=1.0), 4, 4.0)
        agent.request(b"GET", b"http://93.184.216.34/", Headers({b"host": [b"93.184.216.34"]}))
        built = clock.tcpClients[0][2].buildProtocol(None)
        self.assertIsInstance(built._wrappedProtocol, EagerClientProtocol)

    def test_headers(self) -> None:
        """
        Headers built from a dict hold what setRawHeaders would have set,
        by the names Twisted gives them.
        """
        self.assertTrue(compat.RAW_HEADERS)
        names = [b"host", b"x-forwarded-for", b"x-akto-request-id", b"if-none-match", b"www-authenticate"]
        expected = Headers()
        for name in names:
            expected.setRawHeaders(name, [b"v " + name])
        built = compat.headersOf({compat.canonicalName(name): [b"v " + name] for name in names})
        self.assertEqual(list(built.getAllRawHeaders()), list(expected.getAllRawHeaders()))
        self.assertEqual(built.getRawHeaders(b"X-Forwarded-For"), [b"v x-forwarded-for"])
        self.assertEqual(compat.canonicalName(b"www-authenticate"), b"WWW-Authenticate")
        compat.setFields(built, [(b"Host", (b"other",)), (b"Content-Type", [b"application/json"])])
        expected.setRawHeaders(b"host", [b"other"])
        expected.setRawHeaders(b"content-type", [b"application/json"])
        self.assertEqual(list(built.getAllRawHeaders()), list(expected.getAllRawHeaders()))

    def test_transport(self) -> None:
        from twisted.internet.abstract import FileDescriptor

        transport = FileDescriptor(MemoryReactorClock())
        self.assertEqual(compat.pendingBytes(transport), 0)
        transport.dataBuffer = b"abc"
        transport.offset = 1
        transport._tempDataBuffer = [b"xy"]
        transport._tempDataLen = 2
        self.assertEqual(compat.pendingBytes(transport), 4)
        self.assertEqual(compat.heldBytes(transport), 4)


class ListeningPortTests(TestCase):
    def test_listeningPort(self) -> Any:
        async def run() -> None:
            svc = strports.service("tcp:0:interface=127.0.0.1", protocol.Factory.forProtocol(protocol.Protocol), reactor=reactor)
            self.assertIsNone(compat.listeningPort(svc))
            svc.privilegedStartService()
            svc.startService()
            port = compat.listeningPort(svc)
            self.assertGreater(port.getHost().port, 0)
            await svc.stopService()

        return ensureDeferred(run())


class FallbackTests(SynchronousTestCase):
    """
    Without the private names, the public path.
    """

    def test_badRequestAnswered(self) -> None:
        bare = Bare()
        bare.transport = StringTransport()
        compat.respondBadRequest(bare)
        self.assertTrue(bare.transport.value().startswith(b"HTTP/1.1 400 Bad Request\r\n"))
        self.assertTrue(bare.transport.disconnecting)

    def test_unknownIsNothing(self) -> None:
        bare = Bare()
        self.assertEqual(compat.bufferedByChannel(bare), b"")
        self.assertEqual(compat.idleConnections(bare), 0)
        self.assertEqual(compat.connectionHeaderValues(bare), [])
        self.assertEqual(compat.pendingBytes(bare), 0)
        self.assertEqual(compat.heldBytes(bare), 0)
        self.assertIsNone(compat.listeningPort(bare))
        self.assertFalse(compat.setPoolFactory(bare, object))
        self.assertEqual(compat.acceptURI(b"http://h/p"), b"http://h/p")

    def test_headersSetOneByOne(self) -> None:
        self.patch(compat, "RAW_HEADERS", False)
        built = compat.headersOf({b"Host": [b"h"], b"X-Forwarded-For": [b"127.0.0.1"]})
        self.assertEqual(list(built.getAllRawHeaders()), [(b"Host", [b"h"]), (b"X-Forwarded-For", [b"127.0.0.1"])])
        compat.setFields(built, [(b"Host", (b"a\r\nb",))])
        self.assertEqual(built.getRawHeaders(b"host"), [b"a b"])  # set as setRawHeaders sets it

    def test_poolKeepsItsOwnFactory(self) -> None:
        self.patch(compat, "HTTP11ClientFactory", None)
        clock = MemoryReactorClock()
        agent, pool = buildAgent(clock, lambda: ClientSettings(policy=AddressPolicy(), connectTimeout=1.0), 4, 4.0)
        agent.request(b"GET", b"http://93.184.216.34/", Headers({b"host": [b"93.184.216.34"]}))
        proto = clock.tcpClients[0][2].buildProtocol(None)
        self.assertNotIsInstance(proto._wrappedProtocol, EagerClientProtocol)  # Twisted's own, working
        transport = StringTransport()
        proto.makeConnection(transport)
        self.assertTrue(transport.value().startswith(b"GET / HTTP/1.1\r\n"))

    def test_lineByLineHeads(self) -> None:
        """
        Without the whole-head path, heads are parsed line by line, to the
        same answers.
        """
        from tests.test_channel import NEXT, served
        from akto_proxy.web.channel import StrictChannel

        request = b"POST /proxy/http/h/x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
        whole = served(StrictChannel, [request, NEXT])
        self.patch(compat, "WHOLE_HEADS", False)
        lines = served(StrictChannel, [request, NEXT])
        self.assertEqual(lines[0], whole[0])
        self.assertEqual(whole[2], ["whole", "whole"])
        self.assertEqual(lines[2], [])  # never asked
