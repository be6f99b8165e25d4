"""
The HTTP transport adapter over in-memory connections, with no socket and no
real time: a proxy service on a L{MemoryReactorClock}, a client speaking to
its site over a L{StringTransport}, and the upstream a twisted.web site
joined to the proxy's outgoing connection by L{twisted.test.iosim}.  Each
test shows one way a decision of the pipeline is framed on the wire.
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Optional

from twisted.internet.address import IPv4Address
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.test import iosim
from twisted.trial.unittest import SynchronousTestCase
from twisted.web import server
from twisted.web.resource import Resource

from akto_proxy.config import parseConfig
from akto_proxy.service import ProxyService
from akto_proxy.web.channel import ProxySite
from akto_proxy.web.root import Root

KEY = b"adapter-key-0123456789"
UPSTREAM = "10.1.2.3:8080"

CONFIG = """
listen: ["tcp:0:interface=127.0.0.1"]
access_control:
  api_keys:
    - {name: tester, key: "adapter-key-0123456789"}
upstreams:
  allow: ["10.1.2.3"]
  allow_private: ["10.0.0.0/8"]
threat_detection:
  enabled_checks: []
  custom_rules:
    - {name: passwd, pattern: "/etc/passwd", action: block}
"""


#: the sample's checks (as bench/proxy-checks.yaml), a role that may not
#: call delete_* tools
SAMPLE_CHECKS = """
listen: ["tcp:0:interface=127.0.0.1"]
access_control:
  api_keys:
    - {name: tester, key: "adapter-key-0123456789", roles: [developer]}
  roles:
    developer:
      allow: ["tools/list", "tools/call:*", "resources/*", "prompts/*"]
      deny: ["tools/call:delete_*"]
      upstreams: ["*"]
upstreams:
  allow: ["10.1.2.3"]
  allow_private: ["10.0.0.0/8"]
threat_detection:
  mode: enforce
  sensitivity: medium
  enabled_checks: [sql_injection, command_injection, path_traversal, data_exfiltration]
  custom_rules:
    - {name: "Block Sensitive File Access", pattern: "/etc/passwd|/etc/shadow", action: block}
guardrails:
  - name: "PII Protection"
    type: "content_filter"
    rules:
      - {pattern: "ssn|social security", action: block}
      - {pattern: "credit card|cc number", action: redact}
"""

#: real tools of the tool-poisoning corpus (benign), among them long
#: descriptions in the imperative that the prompt-injection step's scan
#: would flag in a tool result
CLEAN_TOOLS = ("get-segment", "manage_agent", "brave_news_search", "kubectl_describe", "prepare_database_migration", "git_show", "create-automation", "firecrawl_search")


def corpusTools(names: tuple[str, ...]) -> list[dict[str, Any]]:
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "mcp", "tool_poisoning.jsonl")
    with open(path, encoding="utf-8") as f:
        tools = {e["tool"]["name"]: e["tool"] for e in map(json.loads, f) if e["label"] == "benign"}
    out = [tools[n] for n in names]
    out[0] = dict(out[0], title="Segment (café)")  # non-ASCII: escaped by the server
    return out


class Upstream(Resource):
    """
    An in-memory upstream: answers each request with what C{answer} gives.
    """

    isLeaf = True

    def __init__(self, answer: Callable[[server.Request, bytes], Any]):
        super().__init__()
        self.answer = answer
        self.received: list[tuple[bytes, dict[bytes, list[bytes]], bytes]] = []

    def render(self, request: server.Request) -> Any:
        body = request.content.read() if request.content is not None else b""
        self.received.append((request.method, dict(request.requestHeaders.getAllRawHeaders()), body))
        return self.answer(request, body)


def rpc(msgId: Any, method: str, **params: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": msgId, "method": method, "params": params}


class InMemory:
    """
    A proxy service and its site, a client connection, and the upstream
    connections the proxy opens, all in memory.
    """

    def __init__(self, testcase: SynchronousTestCase, upstream: Upstream, config: str = CONFIG):
        self.reactor = MemoryReactorClock()
        self.service = ProxyService(parseConfig(config + f"mcp:\n  state_dir: '{testcase.mktemp()}'\n"), self.reactor)
        self.site = ProxySite(Root(self.service), self.service)
        self.upstreamSite = server.Site(upstream, reactor=self.reactor)
        self.pumps: list[iosim.IOPump] = []
        self.client = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 40000))
        self.channel = self.site.buildProtocol(None)
        self.channel.makeConnection(self.client)
        testcase.addCleanup(self.channel.connectionLost, None)

    def send(self, method: bytes, path: str, body: bytes = b"", headers: Optional[dict[bytes, bytes]] = None) -> None:
        head = [method + b" " + path.encode() + b" HTTP/1.1", b"Host: proxy.test", b"X-Akto-Api-Key: " + KEY]
        for k, v in (headers or {}).items():
            head.append(k + b": " + v)
        head.append(b"Content-Length: %d" % len(body))
        self.channel.dataReceived(b"\r\n".join(head) + b"\r\n\r\n" + body)

    def connectUpstream(self) -> None:
        """
        Join every connection the proxy has asked for to the upstream site.
        """
        while len(self.pumps) < len(self.reactor.tcpClients):
            host, port, factory, timeout, bind = self.reactor.tcpClients[len(self.pumps)]
            assert (host, port) == ("10.1.2.3", 8080), (host, port)
            client = factory.buildProtocol(None)
            serverProto = self.upstreamSite.buildProtocol(None)
            self.pumps.append(
                iosim.connect(
                    serverProto, iosim.FakeTransport(serverProto, isServer=True),
                    client, iosim.FakeTransport(client, isServer=False),
                    greet=False,
                )
            )
        self.flush()

    def flush(self) -> None:
        for _ in range(5):
            for pump in self.pumps:
                pump.flush()

    def answer(self) -> tuple[int, dict[bytes, bytes], bytes]:
        """
        The client's answer so far: status, headers, body (de-chunked).
        """
        raw = self.client.value()
        head, _, body = raw.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(b":") for line in lines[1:])}
        if headers.get(b"transfer-encoding") == b"chunked":
            out = b""
            while body:
                size, _, rest = body.partition(b"\r\n")
                n = int(size, 16)
                if n == 0:
                    break
                out += rest[:n]
                body = rest[n + 2 :]
            body = out
        return status, headers, body


class HTTPAdapterTests(SynchronousTestCase):
    def test_jsonRelayedUnchanged(self) -> None:
        answer = b'{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hi"}]}}'
        upstream = Upstream(lambda request, body: (request.setHeader(b"content-type", b"application/json"), answer)[1])
        m = InMemory(self, upstream)
        m.send(b"POST", f"/proxy/http/{UPSTREAM}/mcp", json.dumps(rpc(1, "tools/call", name="echo")).encode(), {b"Content-Type": b"application/json"})
        m.connectUpstream()
        status, headers, body = m.answer()
        self.assertEqual((status, body), (200, answer))  # byte for byte
        self.assertTrue(headers[b"x-akto-request-id"].startswith(b"req_"))
        method, sent, _ = upstream.received[0]
        self.assertEqual(sent[b"Host"], [UPSTREAM.encode()])
        self.assertNotIn(b"X-Akto-Api-Key", sent)  # the proxy's key never reaches an upstream

    def listThrough(self, tools: list[dict[str, Any]]) -> tuple[bytes, bytes]:
        """
        A tools/list answer of C{tools}, written as a server may write it
        (spaced, non-ASCII escaped), through the proxy with the sample's
        checks and a role that may not call C{delete_*}: what the upstream
        sent, and what the client got.
        """
        answer = json.dumps({"jsonrpc": "2.0", "id": 3, "result": {"tools": tools}}, indent=1).encode()
        upstream = Upstream(lambda request, body: (request.setHeader(b"content-type", b"application/json"), answer)[1])
        m = InMemory(self, upstream, SAMPLE_CHECKS)
        m.send(b"POST", f"/proxy/http/{UPSTREAM}/mcp", json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}).encode(), {b"Content-Type": b"application/json"})
        m.connectUpstream()
        status, headers, body = m.answer()
        self.assertEqual(status, 200)
        return answer, body

    def test_cleanListRelayedUnchanged(self) -> None:
        """
        A tools/list of real tools that no check and no role changes is
        relayed as the upstream wrote it, byte for byte: nothing in the
        pipeline re-encodes a list it leaves alone.
        """
        answer, body = self.listThrough(corpusTools(CLEAN_TOOLS))
        self.assertIn(b"\\u00e9", answer)  # a re-encoding would write the bytes differently
        self.assertEqual(body, answer)

    def test_hiddenToolRewritesTheList(self) -> None:
        """
        The control: a tool the role may not call is taken out of the
        list, which is then written anew.
        """
        tools = corpusTools(CLEAN_TOOLS) + [{"name": "delete_file", "description": "Delete a file.", "inputSchema": {"type": "object"}}]
        answer, body = self.listThrough(tools)
        self.assertNotEqual(body, answer)
        self.assertEqual([t["name"] for t in json.loads(body)["result"]["tools"]], [t["name"] for t in tools[:-1]])

    def test_refusedRequestAnsweredWithoutUpstream(self) -> None:
        upstream = Upstream(lambda request, body: b"")
        m = InMemory(self, upstream)
        call = rpc(7, "tools/call", name="read_file", arguments={"path": "/etc/passwd"})
        m.send(b"POST", f"/proxy/http/{UPSTREAM}/mcp", json.dumps(call).encode(), {b"Content-Type": b"application/json", b"Accept": b"application/json, text/event-stream"})
        status, headers, body = m.answer()
        answer = json.loads(body)
        self.assertEqual((status, answer["id"]), (200, 7))
        self.assertTrue(answer["result"]["isError"])
        self.assertEqual(m.reactor.tcpClients, [])  # no upstream was dialled

    def test_refusedAsOneSSEEventForAnSSEOnlyClient(self) -> None:
        m = InMemory(self, Upstream(lambda request, body: b""))
        call = rpc(8, "resources/read", uri="file:///etc/passwd")
        m.send(b"POST", f"/proxy/http/{UPSTREAM}/mcp", json.dumps(call).encode(), {b"Accept": b"text/event-stream"})
        status, headers, body = m.answer()
        self.assertEqual((status, headers[b"content-type"]), (200, b"text/event-stream"))
        event = json.loads(body.split(b"data: ", 1)[1])
        self.assertEqual(event["error"]["code"], -31001)

    def test_sseEventsJudgedOneByOne(self) -> None:
        """
        An SSE answer: each event judged as it arrives; a refused result is
        replaced by the refusal for its id, the others pass unchanged.
        """

        def stream(request: server.Request, body: bytes) -> bytes:
            request.setHeader(b"content-type", b"text/event-stream")
            return (
                b'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress","params":{"progress":1}}\n\n'
                b'event: message\ndata: {"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text","text":"root:x /etc/passwd"}]}}\n\n'
            )

        m = InMemory(self, Upstream(stream))
        m.send(b"POST", f"/proxy/http/{UPSTREAM}/mcp", json.dumps(rpc(3, "tools/call", name="cat")).encode(), {b"Accept": b"application/json, text/event-stream"})
        m.connectUpstream()
        status, headers, body = m.answer()
        self.assertEqual(headers[b"x-accel-buffering"], b"no")
        events = [json.loads(e.split(b"data: ", 1)[1]) for e in body.split(b"\n\n") if b"data: " in e]
        self.assertEqual(events[0]["params"]["progress"], 1)
        self.assertEqual(events[1]["id"], 3)
        self.assertTrue(events[1]["result"]["isError"])
        self.assertNotIn(b"root:x", body)

    def test_refusedServerRequestAnsweredToServer(self) -> None:
        """
        A server request that policy refuses, on a session's stream, never
        reaches the client: the proxy POSTs the error for its id to the
        upstream, with the session's headers.
        """
        posts: list[bytes] = []

        def upstreamAnswer(request: server.Request, body: bytes) -> Any:
            if request.method == b"GET":
                request.setHeader(b"content-type", b"text/event-stream")
                return (
                    b'data: {"jsonrpc":"2.0","id":"s1","method":"sampling/createMessage","params":{"text":"/etc/passwd"}}\n\n'
                    b'data: {"jsonrpc":"2.0","method":"notifications/message","params":{"data":"fine"}}\n\n'
                )
            posts.append(body)
            request.setResponseCode(202)
            return b""

        upstream = Upstream(upstreamAnswer)
        m = InMemory(self, upstream)
        m.service.sessions.bind("mcp:sess-1", "tester", f"http://{UPSTREAM}")
        m.send(b"GET", f"/proxy/http/{UPSTREAM}/mcp", headers={b"Accept": b"text/event-stream", b"Mcp-Session-Id": b"sess-1", b"Authorization": b"Bearer upstream-token"})
        m.connectUpstream()
        m.connectUpstream()  # the proxy's answer to the server goes on a connection of its own
        status, headers, body = m.answer()
        self.assertNotIn(b"sampling", body)
        self.assertIn(b'"data":"fine"', body)
        answer = json.loads(posts[0])
        self.assertEqual((answer["id"], answer["error"]["code"]), ("s1", -31001))
        method, sent, _ = upstream.received[-1]
        self.assertEqual(method, b"POST")
        self.assertEqual(sent[b"Mcp-Session-Id"], [b"sess-1"])
        self.assertEqual(sent[b"Authorization"], [b"Bearer upstream-token"])
        self.assertEqual(sent[b"Content-Type"], [b"application/json"])


class WebSocketAdapterTests(SynchronousTestCase):
    """
    The WebSocket adapter in memory: an Autobahn client on the proxy's
    site, the proxy's upstream socket joined to an Autobahn server; the
    answers of the pipeline are framed as messages on the socket.
    """

    def setUp(self) -> None:
        from autobahn.twisted.websocket import (
            WebSocketClientFactory,
            WebSocketClientProtocol,
            WebSocketServerFactory,
            WebSocketServerProtocol,
        )

        self.reactor = MemoryReactorClock()
        self.service = ProxyService(parseConfig(CONFIG + f"mcp:\n  state_dir: '{self.mktemp()}'\n"), self.reactor)
        self.site = ProxySite(Root(self.service), self.service)
        test = self
        self.atUpstream: list[bytes] = []
        self.atClient: list[bytes] = []

        class Server(WebSocketServerProtocol):
            def onMessage(self, payload: bytes, isBinary: bool) -> None:
                test.atUpstream.append(payload)
                if payload.startswith(b"ask:"):
                    self.sendMessage(payload[4:])

        class Client(WebSocketClientProtocol):
            def onOpen(self) -> None:
                test.client = self

            def onMessage(self, payload: bytes, isBinary: bool) -> None:
                test.atClient.append(payload)

        serverFactory = WebSocketServerFactory(reactor=self.reactor)
        serverFactory.protocol = Server
        serverFactory.setProtocolOptions(autoPingInterval=0)
        self.serverFactory = serverFactory
        clientFactory = WebSocketClientFactory(
            f"ws://proxy.test/proxy/ws/{UPSTREAM}/socket", headers={"X-Akto-Api-Key": KEY.decode()}, reactor=self.reactor
        )
        clientFactory.protocol = Client
        clientFactory.setProtocolOptions(autoPingInterval=0)
        clientProto = clientFactory.buildProtocol(None)
        channel = self.site.buildProtocol(None)
        self.pumps = [
            iosim.connect(
                channel, iosim.FakeTransport(channel, isServer=True, peerAddress=IPv4Address("TCP", "127.0.0.1", 40001)),
                clientProto, iosim.FakeTransport(clientProto, isServer=False),
                greet=False,
            )
        ]
        self.flush()  # the upgrade request reaches the proxy, which dials the upstream
        host, port, factory, timeout, bind = self.reactor.tcpClients[0]
        upstreamClient = factory.buildProtocol(None)
        upstreamServer = serverFactory.buildProtocol(None)
        self.pumps.append(
            iosim.connect(
                upstreamServer, iosim.FakeTransport(upstreamServer, isServer=True),
                upstreamClient, iosim.FakeTransport(upstreamClient, isServer=False),
                greet=False,
            )
        )
        self.flush()
        self.upstream = upstreamServer

    def flush(self) -> None:
        for _ in range(10):
            for pump in self.pumps:
                pump.flush()

    def tearDown(self) -> None:
        self.client.sendClose(1000)
        self.flush()
        for call in self.reactor.getDelayedCalls():
            if call.active():
                call.cancel()

    def test_relayedAndRefused(self) -> None:
        self.client.sendMessage(json.dumps(rpc(1, "tools/call", name="echo")).encode())
        self.flush()
        self.assertEqual(json.loads(self.atUpstream[0])["id"], 1)
        self.client.sendMessage(json.dumps(rpc(2, "tools/call", name="cat", arguments={"p": "/etc/passwd"})).encode())
        self.flush()
        self.assertEqual(len(self.atUpstream), 1)  # never forwarded
        answer = json.loads(self.atClient[-1])
        self.assertEqual(answer["id"], 2)
        self.assertTrue(answer["result"]["isError"])

    def test_refusedServerRequestAnsweredOnTheSocket(self) -> None:
        self.upstream.sendMessage(json.dumps(rpc("s", "elicitation/create", message="/etc/passwd")).encode())
        self.flush()
        self.assertEqual(self.atClient, [])
        answer = json.loads(self.atUpstream[-1])
        self.assertEqual((answer["id"], answer["error"]["code"]), ("s", -31001))
