"""
A judged body written to the client a slice at a time as the connection
drains (akto_proxy.web.slices), and large judged responses through the
running proxy arriving whole and unchanged.
"""

from __future__ import annotations

import json
from typing import Any, Optional

from twisted.internet.defer import ensureDeferred
from twisted.trial.unittest import SynchronousTestCase, TestCase

from akto_proxy.web import slices
from akto_proxy.web.slices import SLICE, Slices, sendWhole
from tests.harness import ProxyHarness, Upstream, request

CHECKS = """
threat_detection:
  sensitivity: medium
  enabled_checks: [sql_injection, command_injection, path_traversal, data_exfiltration]
"""


class FakeRequest:
    def __init__(self, method: bytes = b"GET") -> None:
        self.method = method
        self.producer: Any = None
        self.unregistered = 0

    def registerProducer(self, producer: Any, streaming: bool) -> None:
        assert self.producer is None and streaming
        self.producer = producer

    def unregisterProducer(self) -> None:
        self.producer = None
        self.unregistered += 1


class Sink:
    """
    A client connection whose buffer fills with every write: it pauses the
    registered producer as a transport does when its buffer passes its
    size, and is drained by L{drain}.
    """

    def __init__(self, method: bytes = b"GET", pauseFrom: Optional[int] = 64 * 1024) -> None:
        self.request = FakeRequest(method)
        self.finished = False
        self.writes: list[bytes] = []
        self.buffered = 0
        self.pauseFrom = pauseFrom
        self.finishes = 0

    def write(self, data: bytes) -> None:
        self.writes.append(data)
        self.buffered += len(data)
        if self.pauseFrom is not None and self.buffered > self.pauseFrom and self.request.producer is not None:
            self.request.producer.pauseProducing()

    def drain(self) -> None:
        self.buffered = 0
        if self.request.producer is not None:
            self.request.producer.resumeProducing()

    def finish(self) -> None:
        self.finishes += 1


class SlicesTests(SynchronousTestCase):
    def test_small_at_once(self) -> None:
        sink = Sink()
        body = b"x" * SLICE
        sendWhole(sink, body, sink.finish)
        self.assertEqual(sink.writes, [body])
        self.assertEqual(sink.finishes, 1)
        self.assertEqual(sink.request.unregistered, 0)

    def test_head_at_once(self) -> None:
        sink = Sink(b"HEAD")
        body = b"x" * (3 * SLICE)
        sendWhole(sink, body, sink.finish)
        self.assertEqual(sink.writes, [body])  # Twisted writes none of it
        self.assertEqual(sink.finishes, 1)

    def test_slices_as_the_connection_drains(self) -> None:
        sink = Sink()
        body = bytes(range(256)) * (SLICE * 7 // 512)  # 3.5 slices
        sendWhole(sink, body, sink.finish)
        self.assertEqual(len(sink.writes), 1)  # paused by its buffer
        self.assertEqual(sink.finishes, 0)
        for expected in (2, 3, 4):
            sink.drain()
            self.assertEqual(len(sink.writes), expected)
        self.assertEqual(b"".join(sink.writes), body)
        self.assertTrue(all(len(w) == SLICE for w in sink.writes[:-1]))
        self.assertEqual(sink.finishes, 1)
        self.assertEqual(sink.request.unregistered, 1)
        sink.drain()  # a late resume writes nothing
        self.assertEqual(len(sink.writes), 4)
        self.assertEqual(sink.finishes, 1)

    def test_without_backpressure_all_at_once(self) -> None:
        sink = Sink(pauseFrom=None)
        body = b"y" * (2 * SLICE + 5)
        sendWhole(sink, body, sink.finish)
        self.assertEqual([len(w) for w in sink.writes], [SLICE, SLICE, 5])
        self.assertEqual(sink.finishes, 1)

    def test_client_gone(self) -> None:
        """
        Once the client has gone, nothing more is written and the exchange
        is not finished by the slices (the client's side ended it); the body
        is let go.
        """
        sink = Sink()
        producer = Slices(sink, b"z" * (3 * SLICE), sink.finish)
        producer.start()
        self.assertEqual(len(sink.writes), 1)
        sink.finished = True
        sink.drain()
        self.assertEqual(len(sink.writes), 1)
        self.assertIsNone(producer.body)
        self.assertEqual(sink.finishes, 0)

    def test_stopped(self) -> None:
        sink = Sink()
        producer = Slices(sink, b"z" * (3 * SLICE), sink.finish)
        producer.start()
        producer.stopProducing()
        sink.drain()
        self.assertEqual(len(sink.writes), 1)
        self.assertIsNone(producer.body)
        self.assertEqual(sink.finishes, 0)


class ThroughProxyTests(TestCase):
    """
    Responses the proxy judges whole (JSON, text, a tool result) larger than
    a slice reach the client whole and byte for byte, with their length.
    """

    def setUp(self) -> Any:
        return ensureDeferred(self._setUp())

    async def _setUp(self) -> None:
        self.upstream = await Upstream().start()
        self.addCleanup(self.upstream.stop)
        self.proxy = ProxyHarness(self, CHECKS)

    def serve(self, body: bytes, contentType: bytes) -> None:
        def handler(request: Any, _: bytes) -> bytes:
            request.setHeader(b"content-type", contentType)
            return body

        self.upstream.handlers[b"big"] = handler

    def test_large_bodies_whole(self) -> Any:
        async def run() -> None:
            records = json.dumps([{"id": i, "name": f"item {i}", "note": "nothing to see here"} for i in range(60000)]).encode()
            text = b"The quick brown fox jumps over the lazy dog.\n" * 70000
            result = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": "plain words " * 250000}]}}).encode()
            for body, ctype in ((records, b"application/json"), (text, b"text/plain"), (result, b"application/json")):
                self.assertGreater(len(body), 2 * SLICE)
                self.serve(body, ctype)
                response, data = await request(self.proxy.url(self.upstream, "/big"))
                self.assertEqual(response.code, 200, data[:200])
                self.assertEqual(response.length, len(body))  # a Content-Length, not chunks
                self.assertEqual(data, body)

        return ensureDeferred(run())

    def test_slice_size(self) -> None:
        self.assertEqual(slices.SLICE, 1 << 20)
