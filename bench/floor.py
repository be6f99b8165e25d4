"""
The FLOOR: the least any Twisted relay of akto-proxy's URL scheme costs.

  /proxy/http/HOST:PORT/PATH?QUERY  ->  http://HOST:PORT/PATH?QUERY

Built the obvious way, with no inspection, authentication or policy: a leaf
twisted.web Resource, twisted.web.client.Agent on a persistent
HTTPConnectionPool, the request body (already read by twisted.web) sent with
its length, the response body streamed to the client as it arrives (so SSE
events pass one by one), TCP_NODELAY on client connections (else Nagle holds
a small event back until the client's delayed ACK, up to ~40 ms).  Hop-by-hop headers are dropped both ways.  The
access log is off (Site.log is a no-op): a relay need not write one.

Usage: python bench/floor.py --port 0 [--port-file F]
"""

from __future__ import annotations

import argparse
import resource
import sys
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import succeed
from twisted.internet.protocol import Protocol
from twisted.web.client import Agent, HTTPConnectionPool, ResponseDone
from twisted.web.http import HTTPChannel, PotentialDataLoss
from twisted.web.http_headers import Headers
from twisted.web.iweb import UNKNOWN_LENGTH, IBodyProducer
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Site
from zope.interface import implementer

HOP = {
    b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te",
    b"trailer", b"trailers", b"transfer-encoding", b"upgrade", b"host", b"content-length",
}


@implementer(IBodyProducer)
class BytesProducer:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.length = len(body)

    def startProducing(self, consumer: Any) -> Any:
        consumer.write(self.body)
        return succeed(None)

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        pass


class Stream(Protocol):
    """Writes each piece of the upstream body to the client at once."""

    def __init__(self, request: Any, state: dict) -> None:
        self.request = request
        self.state = state

    def dataReceived(self, data: bytes) -> None:
        if not self.state["gone"]:
            self.request.write(data)

    def connectionLost(self, reason: Any) -> None:
        if not self.state["gone"]:
            self.state["gone"] = True
            if reason.check(ResponseDone, PotentialDataLoss):
                self.request.finish()
            else:
                self.request.channel.transport.loseConnection()


class Relay(Resource):
    isLeaf = True

    def __init__(self, agent: Agent) -> None:
        super().__init__()
        self.agent = agent

    def render(self, request: Any) -> Any:
        uri: bytes = request.uri
        parts = uri.split(b"/", 4)  # ['', 'proxy', 'http', 'host:port', 'path?query']
        if len(parts) < 4 or parts[1] != b"proxy" or parts[2] != b"http" or not parts[3]:
            request.setResponseCode(400)
            return b"bad proxy path\n"
        target = b"http://" + parts[3] + b"/" + (parts[4] if len(parts) > 4 else b"")
        headers = Headers()
        for k, vs in request.requestHeaders.getAllRawHeaders():
            if k.lower() not in HOP:
                headers.setRawHeaders(k, vs)
        body = request.content.read()
        producer = BytesProducer(body) if body or request.method in (b"POST", b"PUT", b"PATCH") else None
        d = self.agent.request(request.method, target, headers, producer)
        state: dict = {"gone": False, "response": None, "stream": None}

        def gotResponse(response: Any) -> None:
            if state["gone"]:
                response.deliverBody(Protocol())  # discard
                return
            state["response"] = response
            request.setResponseCode(response.code, response.phrase)
            for k, vs in response.headers.getAllRawHeaders():
                if k.lower() not in HOP:
                    request.responseHeaders.setRawHeaders(k, vs)
            if response.length is not UNKNOWN_LENGTH:
                request.setHeader(b"content-length", b"%d" % response.length)
            state["stream"] = stream = Stream(request, state)
            response.deliverBody(stream)

        def failed(f: Any) -> None:
            if state["gone"]:
                return
            state["gone"] = True
            request.setResponseCode(502)
            request.write(b"bad gateway\n")
            request.finish()

        def clientGone(_: Any) -> None:
            state["gone"] = True
            stream = state["stream"]
            if stream is not None and stream.transport is not None:
                stream.transport.stopProducing()  # drop the upstream connection
            elif state["response"] is None:
                d.cancel()

        d.addCallbacks(gotResponse, failed)
        request.notifyFinish().addErrback(clientGone)
        return NOT_DONE_YET


class NoDelayChannel(HTTPChannel):
    def connectionMade(self) -> None:
        super().connectionMade()
        self.transport.setTcpNoDelay(True)  # an SSE event must not wait for the client's ACK (Nagle)


class QuietSite(Site):
    protocol = NoDelayChannel

    def log(self, request: Any) -> None:
        pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--tune-gc", action="store_true",
                    help="the collector settings akto-proxy's daemon uses (for comparison; off by default)")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    pool = HTTPConnectionPool(reactor, persistent=True)
    pool.maxPersistentPerHost = 256
    pool.cachedConnectionTimeout = 50
    agent = Agent(reactor, pool=pool)
    site = QuietSite(Relay(agent))
    port = reactor.listenTCP(args.port, site, backlog=1024, interface="127.0.0.1")
    actual = port.getHost().port
    if args.port_file:
        with open(args.port_file, "w") as f:
            f.write(str(actual))
    if args.tune_gc:
        import gc

        from akto_proxy.service import GC_THRESHOLDS, settleHeap

        gc.set_threshold(*GC_THRESHOLDS)
        settleHeap()
    sys.stdout.write(f"floor listening on 127.0.0.1:{actual}\n")
    sys.stdout.flush()
    reactor.run()


if __name__ == "__main__":
    main()
