"""
The upstream agent: each URL parsed once, per client settings.
"""

from __future__ import annotations

from typing import Any

from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.client import URI
from twisted.web.http_headers import Headers

from akto_proxy.relay.fence import AddressPolicy
from twisted.web.client import HTTPConnectionPool

from akto_proxy.relay.http import ClientSettings, FencedEndpointFactory, UpstreamAgent


HOST = Headers({b"host": [b"93.184.216.34"]})


class CountingFactory(FencedEndpointFactory):
    def __init__(self, reactor: Any, settings: Any):
        super().__init__(reactor, settings)
        self.built: list[bytes] = []

    def endpointForURI(self, uri: URI) -> Any:
        self.built.append(uri.toBytes())
        return super().endpointForURI(uri)


class UpstreamAgentTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()
        self.settings = ClientSettings(policy=AddressPolicy(), connectTimeout=5.0)
        self.factory = CountingFactory(self.reactor, lambda: self.settings)
        self.agent = UpstreamAgent.usingEndpointFactory(self.reactor, self.factory, HTTPConnectionPool(self.reactor, persistent=True))

    def test_parsed_once_per_url(self) -> None:
        for url in (b"http://93.184.216.34:8080/mcp", b"http://93.184.216.34:8080/mcp", b"http://93.184.216.34:8080/other?q=1"):
            self.agent.request(b"POST", url, HOST)
        self.assertEqual(self.factory.built, [b"http://93.184.216.34:8080/mcp", b"http://93.184.216.34:8080/other?q=1"])
        self.assertEqual([c[:2] for c in self.reactor.tcpClients], [("93.184.216.34", 8080)] * 3)

    def test_long_urls_not_kept(self) -> None:
        long = b"http://93.184.216.34:8080/" + b"p" * 2100
        for _ in range(2):
            self.agent.request(b"POST", long, HOST)
        self.assertEqual(self.factory.built, [long, long])
        self.assertEqual(len(self.reactor.tcpClients), 2)

    def test_new_settings_new_endpoints(self) -> None:
        self.agent.request(b"GET", b"http://93.184.216.34/a", HOST)
        self.settings = ClientSettings(policy=AddressPolicy(), connectTimeout=5.0)  # equal, not the same
        self.agent.request(b"GET", b"http://93.184.216.34/a", HOST)
        self.settings = ClientSettings(policy=AddressPolicy(), connectTimeout=1.0)
        self.agent.request(b"GET", b"http://93.184.216.34/a", HOST)
        self.assertEqual(len(self.factory.built), 3)
        # the connect timeout of the settings in force reached the socket
        self.assertEqual([c[3] for c in self.reactor.tcpClients], [5.0, 5.0, 1.0])

    def test_request_written_in_one_go(self) -> None:
        """
        Head and in-memory body reach the connection together, framed by
        their length; a request without a Host header takes Agent's way.
        """
        from twisted.internet.testing import StringTransport

        from akto_proxy.relay.http import BytesProducer

        self.agent.request(b"POST", b"http://93.184.216.34:8080/mcp?x=1", HOST, BytesProducer(b'{"a": 1}'))
        host, port, factory, timeout, bind = self.reactor.tcpClients[0]
        proto = factory.buildProtocol(None)
        transport = StringTransport()
        proto.makeConnection(transport)
        self.assertEqual(
            transport.value(),
            b"POST /mcp?x=1 HTTP/1.1\r\nContent-Length: 8\r\nHost: 93.184.216.34\r\n\r\n" b'{"a": 1}',
        )
        self.agent.request(b"GET", b"http://93.184.216.34:8080/other")
        self.assertEqual(self.factory.built[-1], b"http://93.184.216.34:8080/other")

    def test_invalid_url(self) -> None:
        # as Agent.request: refused before anything is remembered or dialled
        self.assertRaises(ValueError, self.agent.request, b"GET", b"http://bad host/", HOST)
        self.assertEqual((self.factory.built, self.reactor.tcpClients), ([], []))


class InMemoryRequestTests(SynchronousTestCase):
    """
    A request whose body is in memory is written in one string, byte for
    byte what Twisted's own request writes through its producer path.
    """

    def _twisted(self, request: Any) -> bytes:
        from twisted.internet.testing import StringTransport
        from twisted.web.client import Request

        transport = StringTransport()
        body = request.bodyProducer
        plain = Request(request.method, request.uri, request.headers, body, persistent=request.persistent)
        d = plain.writeTo(transport)
        self.successResultOf(d)
        return transport.value()  # type: ignore[no-any-return]

    def test_sameAsTwisted(self) -> None:
        from twisted.internet.testing import StringTransport

        from akto_proxy.relay.http import BytesProducer, InMemoryRequest

        for persistent in (True, False):
            for data in (b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}', b""):
                headers = Headers({b"host": [b"h:8080"], b"accept": [b"application/json", b"text/event-stream"], b"x-a": [b"1"]})
                request = InMemoryRequest(b"POST", b"/mcp?x=1", headers, BytesProducer(data), persistent=persistent)
                transport = StringTransport()
                self.successResultOf(request.writeTo(transport))
                self.assertEqual(transport.value(), self._twisted(request))

    def test_hostNotOnceRefused(self) -> None:
        """
        Without exactly one Host header, Twisted's way: the request fails.
        """
        from twisted.internet.testing import StringTransport
        from twisted.web._newclient import BadHeaders

        from akto_proxy.relay.http import BytesProducer, InMemoryRequest

        for hosts in ({}, {b"host": [b"a", b"b"]}):
            request = InMemoryRequest(b"POST", b"/mcp", Headers(hosts), BytesProducer(b"x"), persistent=True)
            with self.assertRaises(BadHeaders):
                request.writeTo(StringTransport())
