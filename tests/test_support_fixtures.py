"""
Baseline for the end-to-end tests: the SDK client run directly (no proxy)
against the SDK upstream on every transport and C{endpoint} shape.  The proxy
tests run the same actions through the proxy and expect the same results.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.internet import reactor as _globalReactor
from twisted.internet.defer import Deferred, ensureDeferred
from twisted.internet.endpoints import TCP4ServerEndpoint
from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import TestCase
from twisted.web.client import Agent, readBody
from twisted.web.http_headers import Headers

from tests.support.procs import ClientFailed, ProcessHandle, resultOf, runClient, startUpstream

reactor: Any = _globalReactor

MODERN = "2026-07-28"
HANDSHAKE = "2025-11-25"

ECHO = json.dumps({"tool": "echo", "arguments": {"text": "hello through the wire"}})
CUSTOMER = json.dumps({"tool": "get_customer", "arguments": {"id": "42"}})
SLOW = json.dumps({"tool": "slow_count", "arguments": {"n": 3}})
PROMPT = json.dumps({"name": "summarize", "arguments": {"topic": "proxies"}})

BASELINE_ACTIONS = [
    "--list-tools",
    "--call", ECHO,
    "--call", CUSTOMER,
    "--read-resource", "demo://readme",
    "--get-prompt", PROMPT,
    "--call", SLOW,
]

EXPECTED_TOOLS = {
    "echo", "add", "run_sql", "read_file", "get_customer",
    "delete_everything", "slow_count", "region_lookup", "ask_model", "ask_user", "touch_tools",
    "fetch_page", "add_numbers", "weather",
}


class _Baseline:
    """
    Runs the baseline actions against one upstream configuration.
    """

    transport: str
    shape: str | None = None
    #: Whether request-scoped notifications (progress, logs) reach the
    #: client: they need an SSE stream, so JSON answers drop them.
    streamsNotifications = True

    def setUp(self) -> Deferred[None]:
        d = startUpstream(reactor, self.transport, self.shape)

        def started(result: tuple[str, int, ProcessHandle]) -> None:
            self.url, self.port, self.upstream = result
            self.addCleanup(self.upstream.stop)  # type: ignore[attr-defined]

        return d.addCallback(started)

    async def _runBaseline(self, mode: str) -> list[dict[str, Any]]:
        lines = await runClient(reactor, ["--url", self.url, "--mode", mode, "--timeout", "20", *BASELINE_ACTIONS])
        for line in lines:
            assert line.get("ok") is True, line
        return lines

    def _check(self, lines: list[dict[str, Any]], version: str) -> None:
        t: Any = self
        connect = resultOf(lines, "connect")["result"]
        t.assertEqual(connect["protocolVersion"], version)
        t.assertEqual(connect["serverInfo"]["name"], "akto-test-upstream")

        tools = resultOf(lines, "list_tools")["result"]["tools"]
        t.assertEqual(set(tools), EXPECTED_TOOLS)

        echo = resultOf(lines, "call", 0)["result"]
        t.assertEqual(echo["text"], "hello through the wire")
        t.assertFalse(echo["isError"])

        customer = resultOf(lines, "call", 1)["result"]
        t.assertIn("4111 1111 1111 1111", customer["text"])
        t.assertIn("jane.doe@example.com", customer["text"])

        resource = resultOf(lines, "read_resource")["result"]
        t.assertEqual(resource["contents"][0]["uri"], "demo://readme")
        t.assertIn("test upstream", resource["text"])

        prompt = resultOf(lines, "get_prompt")["result"]
        t.assertEqual(prompt["messages"][0]["content"]["text"], "Please summarize proxies in three sentences.")

        slow = resultOf(lines, "call", 2)["result"]
        t.assertEqual(slow["text"], "counted to 3")
        if self.streamsNotifications:
            t.assertEqual([p[0] for p in slow["progress"]], [1.0, 2.0, 3.0])
            t.assertEqual(slow["logs"], ["counted 1", "counted 2", "counted 3"])
        else:
            t.assertEqual(slow["progress"], [])

    def test_autoMode(self) -> Deferred[None]:
        """
        The SDK's default mode probes C{server/discover} and ends up on the
        2026-07-28 revision on every transport the SDK server offers.
        """

        async def go() -> None:
            self._check(await self._runBaseline("auto"), MODERN)

        return ensureDeferred(go())

    def test_legacyMode(self) -> Deferred[None]:
        """
        With C{--mode legacy} the client uses the C{initialize} handshake and
        the newest handshake-era revision.
        """

        async def go() -> None:
            self._check(await self._runBaseline("legacy"), HANDSHAKE)

        return ensureDeferred(go())


class StreamableJSONTests(_Baseline, TestCase):
    transport = "streamable-json"
    streamsNotifications = False

    def _post(self, host: bytes) -> Deferred[tuple[int, bytes]]:
        body = json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": HANDSHAKE,
                    "capabilities": {},
                    "clientInfo": {"name": "raw", "version": "0"},
                },
            }
        ).encode()
        from twisted.web.client import FileBodyProducer
        from io import BytesIO

        headers = Headers(
            {
                b"Host": [host],
                b"Content-Type": [b"application/json"],
                b"Accept": [b"application/json, text/event-stream"],
            }
        )
        d = Agent(reactor).request(b"POST", self.url.encode(), headers, FileBodyProducer(BytesIO(body)))

        def got(response: Any) -> Deferred[tuple[int, bytes]]:
            return readBody(response).addCallback(lambda b: (response.code, b))

        return d.addCallback(got)

    def test_hostOfUpstreamAccepted(self) -> Deferred[None]:
        """
        The SDK's DNS-rebinding check accepts the upstream's own C{Host}
        (what the proxy sends) and refuses any other with 421.
        """

        async def go() -> None:
            code, body = await self._post(b"127.0.0.1:%d" % (self.port,))
            self.assertEqual(code, 200, body)
            self.assertIn(b'"serverInfo"', body)
            code, _ = await self._post(b"localhost:%d" % (self.port,))
            self.assertEqual(code, 200)
            code, _ = await self._post(b"127.0.0.1")
            self.assertEqual(code, 421)
            code, _ = await self._post(b"proxy.example:8080")
            self.assertEqual(code, 421)

        return ensureDeferred(go())


class StreamableSSETests(_Baseline, TestCase):
    transport = "streamable-sse"


class LegacyAbsolutePathTests(_Baseline, TestCase):
    transport = "legacy-sse"
    shape = "absolute-path"


class LegacyAbsoluteURLTests(_Baseline, TestCase):
    transport = "legacy-sse"
    shape = "absolute-url"


class LegacyRelativeTests(_Baseline, TestCase):
    transport = "legacy-sse"
    shape = "relative"


class LegacyQueryTests(_Baseline, TestCase):
    transport = "legacy-sse"
    shape = "query"


class _Silent(Protocol):
    """
    Accepts a connection and never answers.
    """


class PeerLifecycleTests(TestCase):
    def test_clientNeverHangs(self) -> Deferred[None]:
        """
        Against a server that accepts and never answers, the client gives up
        after C{--timeout} with a JSON timeout line and exit status 3.
        """

        async def go() -> None:
            port = await TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(Factory.forProtocol(_Silent))
            self.addCleanup(port.stopListening)
            url = "http://127.0.0.1:%d/mcp" % (port.getHost().port,)
            d = runClient(reactor, ["--url", url, "--timeout", "2", "--list-tools"])
            failure = await self.assertFailure(d, ClientFailed)
            self.assertEqual(failure.exitCode, 3)
            self.assertEqual(failure.lines[-1]["action"], "timeout")
            self.assertFalse(failure.lines[-1]["ok"])

        return ensureDeferred(go())

    def test_clientConnectFailure(self) -> Deferred[None]:
        """
        A refused connection is reported as a failed C{connect} (exit 2).
        """

        async def go() -> None:
            port = await TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1").listen(Factory.forProtocol(_Silent))
            url = "http://127.0.0.1:%d/mcp" % (port.getHost().port,)
            await port.stopListening()
            failure = await self.assertFailure(runClient(reactor, ["--url", url, "--list-tools"]), ClientFailed)
            self.assertEqual(failure.exitCode, 2)
            self.assertEqual(failure.lines, [failure.lines[0]])
            self.assertEqual(failure.lines[0]["action"], "connect")
            self.assertFalse(failure.lines[0]["ok"])

        return ensureDeferred(go())

    def test_upstreamExitsWhenStdinCloses(self) -> Deferred[None]:
        """
        The upstream ends by itself when its stdin closes (so a crashed test
        runner leaves nothing behind).
        """

        async def go() -> None:
            _, _, handle = await startUpstream(reactor, "streamable-sse")
            self.addCleanup(handle.stop)
            ended = handle.protocol.whenEnded()
            handle.transport.closeStdin()
            await ended
            self.assertEqual(handle.protocol.exitCode, 0)

        return ensureDeferred(go())

    def test_upstreamBadArguments(self) -> Deferred[None]:
        """
        An upstream that cannot start fails L{startUpstream} with its stderr.
        """
        from tests.support.procs import UpstreamFailed

        async def go() -> None:
            d = startUpstream(reactor, "streamable-json", "query")
            failure = await self.assertFailure(d, UpstreamFailed)
            self.assertIn("endpoint-shape", failure.stderr)

        return ensureDeferred(go())
