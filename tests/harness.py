"""
Loopback fixtures: a real proxy service, a real Twisted upstream, and clients
that send raw bytes.
"""

from __future__ import annotations

import gzip
import json
import textwrap
from typing import Any, Callable, Optional

from twisted.internet import defer, endpoints, protocol, reactor
from twisted.internet.defer import Deferred
from twisted.web import server
from twisted.web.client import Agent, readBody
from twisted.web.http_headers import Headers
from twisted.web.resource import Resource

from akto_proxy.config import parseConfig
from akto_proxy.service import ProxyService

KEY = "test-key-0123456789abcdef"
OTHER_KEY = "other-key-0123456789abcdef"

BASE = """
listen: ["tcp:0:interface=127.0.0.1"]
access_control:
  api_keys:
    - {name: tester, key: "%s"}
    - {name: other, key: "%s"}
upstreams:
  allow: ["127.0.0.1", "localhost", "::1", "*.example.com"]
  allow_private: ["127.0.0.0/8", "::1/128"]
""" % (KEY, OTHER_KEY)


#: a key whose role is admin (the proxy's own endpoints), and the
#: access_control that gives tester and other a developer role beside it
ADMIN_KEY = "admin-key-0123456789abcdef"
ADMIN_ACCESS = """access_control:
  api_keys:
    - {name: tester, key: "%s", roles: [dev]}
    - {name: other, key: "%s", roles: [dev]}
    - {name: boss, key: "%s", roles: [ops]}
  roles:
    ops:
      allow: ["*"]
      admin: true
    dev:
      allow: ["*"]
""" % (KEY, OTHER_KEY, ADMIN_KEY)


def configText(extra: str = "", base: str = BASE) -> str:
    return base + textwrap.dedent(extra)


class Recorder:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.waiters: list[Deferred[dict[str, Any]]] = []

    def add(self, entry: dict[str, Any]) -> None:
        self.requests.append(entry)
        waiters, self.waiters = self.waiters, []
        for w in waiters:
            w.callback(entry)

    def next(self) -> "Deferred[dict[str, Any]]":
        d: Deferred[dict[str, Any]] = Deferred()
        self.waiters.append(d)
        return d


class Leaf(Resource):
    isLeaf = True

    def __init__(self, handler: Callable[[server.Request], Any]):
        super().__init__()
        self.handler = handler

    def render(self, request: server.Request) -> Any:
        return self.handler(request)


class SSEStream:
    """
    An open SSE response on the upstream, driven by the test.
    """

    def __init__(self, request: server.Request):
        self.request = request
        self.closed: Deferred[None] = Deferred()
        request.notifyFinish().addBoth(lambda r: self.closed.callback(None) if not self.closed.called else None)
        self.finished = False

    def send(self, data: bytes) -> None:
        self.request.write(data)

    def end(self) -> None:
        if not self.finished:
            self.finished = True
            self.request.finish()

    def abort(self) -> None:
        self.request.channel.transport.abortConnection()


class Upstream:
    """
    A plain Twisted upstream with the endpoints the tests use.
    """

    def __init__(self) -> None:
        self.recorder = Recorder()
        self.streams: list[SSEStream] = []
        self.streamWaiters: list[Deferred[SSEStream]] = []
        self.root = Resource()
        self.handlers: dict[bytes, Callable[[server.Request], Any]] = {}
        self.port: Any = None
        for name in (b"echo", b"rpc", b"sse", b"status", b"redirect", b"auth", b"gzip", b"never", b"big", b".well-known", b"custom"):
            self.root.putChild(name, Leaf(self._dispatch(name)))

    def _dispatch(self, name: bytes) -> Callable[[server.Request], Any]:
        def handle(request: server.Request) -> Any:
            body = request.content.read() if request.content is not None else b""
            self.recorder.add(
                {
                    "method": request.method,
                    "uri": request.uri,
                    "headers": {k.lower(): v for k, v in request.requestHeaders.getAllRawHeaders()},
                    "body": body,
                    "peer": getattr(request.getClientAddress(), "port", None),
                }
            )
            handler = self.handlers.get(name) or getattr(self, "h_" + name.decode().replace(".", "_").replace("-", "_"))
            return handler(request, body)

        return handle

    def h_echo(self, request: server.Request, body: bytes) -> bytes:
        request.setHeader(b"content-type", b"application/json")
        request.setHeader(b"connection", b"x-secret-hop")
        request.setHeader(b"x-secret-hop", b"1")
        request.setHeader(b"keep-alive", b"timeout=5")
        request.setHeader(b"set-cookie", b"a=1")
        return json.dumps(
            {
                "method": request.method.decode(),
                "uri": request.uri.decode("latin-1"),
                "body": body.decode("latin-1"),
            }
        ).encode()

    def h_rpc(self, request: server.Request, body: bytes) -> bytes:
        """
        A JSON-RPC server: echoes params as the result text.
        """
        msg = json.loads(body)
        accept = request.getHeader(b"accept") or b""

        def answer(m: dict[str, Any]) -> Optional[dict[str, Any]]:
            if "id" not in m:
                return None
            params = m.get("params", {})
            text = json.dumps(params.get("arguments", params))
            return {"jsonrpc": "2.0", "id": m["id"], "result": {"content": [{"type": "text", "text": "echo " + text}]}}

        if isinstance(msg, list):
            out: Any = [a for a in (answer(m) for m in msg) if a is not None]
        else:
            out = answer(msg)
        if out is None or out == []:
            request.setResponseCode(202)
            return b""
        if b"text/event-stream" in accept and b"application/json" not in accept:
            request.setHeader(b"content-type", b"text/event-stream")
            return b"event: message\r\ndata: " + json.dumps(out).encode() + b"\r\n\r\n"
        request.setHeader(b"content-type", b"application/json")
        return json.dumps(out).encode()

    def h_sse(self, request: server.Request, body: bytes) -> int:
        request.setHeader(b"content-type", b"text/event-stream")
        request.setHeader(b"cache-control", b"no-cache")
        request.write(b"")
        stream = SSEStream(request)
        self.streams.append(stream)
        waiters, self.streamWaiters = self.streamWaiters, []
        for w in waiters:
            w.callback(stream)
        return server.NOT_DONE_YET

    def nextStream(self) -> "Deferred[SSEStream]":
        d: Deferred[SSEStream] = Deferred()
        self.streamWaiters.append(d)
        return d

    def h_status(self, request: server.Request, body: bytes) -> bytes:
        code = int(request.uri.split(b"/")[2].split(b"?")[0])
        request.setResponseCode(code)
        request.setHeader(b"content-type", b"application/json")
        return json.dumps({"status": code}).encode()

    def h_redirect(self, request: server.Request, body: bytes) -> bytes:
        request.setResponseCode(302)
        host = request.getHeader(b"host").decode()
        target = request.args.get(b"to", [b"/echo/landed"])[0].decode().replace("SELF", f"http://{host}")
        request.setHeader(b"location", target.encode())
        return b""

    def h_auth(self, request: server.Request, body: bytes) -> bytes:
        request.setResponseCode(401)
        host = request.getHeader(b"host").decode()
        request.setHeader(
            b"www-authenticate",
            f'Bearer error="invalid_token", resource_metadata="http://{host}/.well-known/oauth-protected-resource/auth"'.encode(),
        )
        return b'{"error":"invalid_token"}'

    def h__well_known(self, request: server.Request, body: bytes) -> bytes:
        host = request.getHeader(b"host").decode()
        request.setHeader(b"content-type", b"application/json")
        if request.path.startswith(b"/.well-known/oauth-protected-resource/auth"):
            return json.dumps(
                {"resource": f"http://{host}/auth", "authorization_servers": [f"http://{host}/as"]}
            ).encode()
        request.setResponseCode(404)
        return b"{}"

    def h_gzip(self, request: server.Request, body: bytes) -> bytes:
        request.setHeader(b"content-type", b"application/json")
        request.setHeader(b"content-encoding", b"gzip")
        payload = request.args.get(b"text", [b"hello"])[0].decode().replace("bad", "/etc/shadow")
        return gzip.compress(json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"text": payload}}).encode())

    def h_never(self, request: server.Request, body: bytes) -> int:
        return server.NOT_DONE_YET

    def h_custom(self, request: server.Request, body: bytes) -> bytes:
        return b""

    def start(self) -> "Deferred[Upstream]":
        ep = endpoints.TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")
        site = server.Site(self.root)
        site.noisy = False
        d = ep.listen(site)

        def listening(port: Any) -> "Upstream":
            self.port = port
            return self

        return d.addCallback(listening)

    @property
    def authority(self) -> str:
        return f"127.0.0.1:{self.port.getHost().port}"

    def stop(self) -> "Deferred[None]":
        for s in self.streams:
            if not s.finished:
                try:
                    s.abort()
                except Exception:
                    pass
        return defer.maybeDeferred(self.port.stopListening)


class ProxyHarness:
    """
    A running proxy service on a loopback port.

    @param clock: what times the proxy (a L{Clock} for tests whose subject
        is a timeout), the reactor by default.
    """

    def __init__(self, testcase: Any, extra: str = "", base: str = BASE, clock: Any = None):
        self.testcase = testcase
        self.path = testcase.mktemp()
        self.stateDir = testcase.mktemp()
        text = self.withState(configText(extra, base))
        with open(self.path, "w") as f:
            f.write(text)
        config = parseConfig(text, self.path)
        self.service = ProxyService(config, reactor, self.path, clock=clock)
        self.service.startService()
        testcase.addCleanup(self.service.stopService)
        self.port = self.service.listeningPorts()[0].getHost().port
        self.base = f"http://127.0.0.1:{self.port}"

    def withState(self, text: str) -> str:
        """
        The configuration with this proxy's own state directory (pins), so
        that no test writes to /var/lib or sees another's pins.
        """
        if "\nmcp:" not in text:
            return text + f"mcp:\n  state_dir: '{self.stateDir}'\n"
        if "state_dir" not in text:
            return text.replace("\nmcp:\n", f"\nmcp:\n  state_dir: '{self.stateDir}'\n", 1)
        return text

    def rewrite(self, extra: str, base: str = BASE) -> None:
        with open(self.path, "w") as f:
            f.write(self.withState(configText(extra, base)))

    def url(self, upstream: Upstream, path: str, proto: str = "http") -> bytes:
        return f"{self.base}/proxy/{proto}/{upstream.authority}{path}".encode()


async def request(
    url: bytes,
    method: bytes = b"GET",
    headers: Optional[dict[bytes, list[bytes]]] = None,
    body: Optional[bytes] = None,
    key: Optional[str] = KEY,
) -> tuple[Any, bytes]:
    from twisted.web.client import FileBodyProducer
    from io import BytesIO

    h = Headers(headers or {})
    if key is not None and not h.hasHeader(b"x-akto-api-key"):
        h.setRawHeaders(b"x-akto-api-key", [key.encode()])
    agent = Agent(reactor)
    producer = FileBodyProducer(BytesIO(body)) if body is not None else None
    response = await agent.request(method, url, h, producer)
    data = await readBody(response)
    return response, data


async def rpc(url: bytes, message: Any, accept: bytes = b"application/json, text/event-stream", key: Optional[str] = KEY, extra: Optional[dict[bytes, list[bytes]]] = None) -> tuple[Any, bytes]:
    headers = {b"content-type": [b"application/json"], b"accept": [accept]}
    headers.update(extra or {})
    return await request(url, b"POST", headers, json.dumps(message).encode(), key)


class RawClient(protocol.Protocol):
    """
    Send raw bytes; collect everything until the connection closes.
    """

    def __init__(self) -> None:
        self.data = b""
        self.done: Deferred[bytes] = Deferred()
        self.gotData: Optional[Deferred[bytes]] = None

    def dataReceived(self, data: bytes) -> None:
        self.data += data
        if self.gotData is not None:
            d, self.gotData = self.gotData, None
            d.callback(self.data)

    def waitData(self) -> "Deferred[bytes]":
        self.gotData = Deferred()
        return self.gotData

    def connectionLost(self, reason: Any) -> None:
        if not self.done.called:
            self.done.callback(self.data)


async def connectRaw(port: int) -> RawClient:
    ep = endpoints.TCP4ClientEndpoint(reactor, "127.0.0.1", port)
    return await endpoints.connectProtocol(ep, RawClient())


async def raw(port: int, data: bytes) -> bytes:
    client = await connectRaw(port)
    client.transport.write(data)
    return await client.done
