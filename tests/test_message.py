"""
The chain's message model and the relay's header helpers, with hypothesis.
"""

import json
from typing import Any

from hypothesis import given, strategies as st
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect.chain import Chain, Finding, Verdict
from akto_proxy.inspect.message import Message
from akto_proxy.relay.url import Target
from akto_proxy.mcp.answers import refusal
from akto_proxy.mcp.jsonrpc import isModern
from akto_proxy.relay.wire import decodeBody, narrowAcceptEncoding, TooLarge

T = Target("https", "up.example.com", 443, b"/mcp")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


class MessageTests(SynchronousTestCase):
    def test_tool_call(self) -> None:
        m = Message.fromJSONRPC(
            {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "run_sql", "arguments": {"query": "select 1", "n": [1, "x"]}}},
            "request", T, "http",
        )
        self.assertEqual((m.method, m.tool, m.id), ("tools/call", "run_sql", 1))
        self.assertEqual(
            dict(m.strings),
            {
                "params.name": "run_sql",
                "params.arguments~0": "query",
                "params.arguments~1": "n",
                "params.arguments.query": "select 1",
                "params.arguments.n[1]": "x",
            },
        )

    @given(json_values)
    def test_redaction_keeps_json_valid(self, params) -> None:
        obj = {"jsonrpc": "2.0", "id": 1, "result": params}
        m = Message.fromJSONRPC(obj, "response", T, "sse")
        new = m.withStrings({p: "[REDACTED:x]" for p, _ in m.strings})
        text = json.dumps(new.payload)
        back = json.loads(text)
        self.assertEqual(len(list(Message.fromJSONRPC(back, "response", T, "sse").strings)), len(m.strings))
        for _, s in new.strings:
            self.assertEqual(s, "[REDACTED:x]")
        self.assertEqual(obj["result"], params)  # the original is untouched

    def test_modern(self) -> None:
        self.assertTrue(isModern("2026-07-28", None))
        self.assertFalse(isModern("2025-11-25", None))
        self.assertTrue(isModern(None, {"params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}}))
        self.assertEqual(refusal(1, "tools/call", "r", {}, modern=True)["result"]["resultType"], "complete")
        self.assertNotIn("resultType", refusal(1, "tools/call", "r", {})["result"])
        self.assertEqual(refusal(1, "tools/list", "r", {})["error"]["code"], -31001)


class ChainTests(SynchronousTestCase):
    def msg(self) -> Message:
        return Message.fromText("hello", "request", T, "http")

    def test_fail_closed_and_on_error_pass(self) -> None:
        class Boom:
            name = "boom"
            on_error = "block"

            def inspect(self, message):
                raise RuntimeError("bug")

        chain = Chain([Boom()], Clock())
        outcome = self.successResultOf(chain.inspect(self.msg()))
        self.assertTrue(outcome.blocked)
        self.assertEqual(outcome.reason, "inspection_error")
        self.flushLoggedErrors(RuntimeError)
        Boom.on_error = "pass"
        outcome = self.successResultOf(Chain([Boom()], Clock()).inspect(self.msg()))
        self.assertFalse(outcome.blocked)
        self.flushLoggedErrors(RuntimeError)

    def test_timeout_fails_closed(self) -> None:
        from twisted.internet.defer import Deferred

        class Slow:
            name = "slow"
            on_error = "block"

            def inspect(self, message):
                return Deferred()

        clock = Clock()
        d = Chain([Slow()], clock, timeout=2.0).inspect(self.msg())
        self.assertNoResult(d)
        clock.advance(2.0)
        outcome = self.successResultOf(d)
        self.assertTrue(outcome.blocked)
        self.assertEqual(outcome.findings[-1].rule, "inspection_error")
        self.flushLoggedErrors()

    def test_first_block_wins_and_redactions_apply(self) -> None:
        class Redact:
            name = "r"
            on_error = "block"

            def inspect(self, message):
                return Verdict(findings=(Finding("r", "x", "", action="redact"),), replacements=(("", "masked"),))

        seen = []

        class Look:
            name = "l"
            on_error = "block"

            def inspect(self, message):
                seen.append(message.payload)
                return Verdict(findings=(Finding("l", "y", ""),), block=True)

        outcome = self.successResultOf(Chain([Redact(), Look()], Clock()).inspect(self.msg()))
        self.assertEqual(seen, ["masked"])
        self.assertTrue(outcome.blocked)
        self.assertEqual(outcome.reason, "l (y)")


class HeaderTests(SynchronousTestCase):
    def test_accept_encoding(self) -> None:
        self.assertEqual(narrowAcceptEncoding(b"br, gzip;q=0.8, zstd, deflate"), b"gzip;q=0.8, deflate")
        self.assertEqual(narrowAcceptEncoding(b"br"), b"identity")

    @given(st.lists(st.sampled_from([b"gzip", b"br", b"deflate", b"zstd", b"identity", b"*", b"compress"]), max_size=6))
    def test_accept_encoding_only_inspectable(self, codings) -> None:
        out = narrowAcceptEncoding(b", ".join(codings))
        for item in out.split(b","):
            self.assertIn(item.strip().split(b";")[0], (b"gzip", b"deflate", b"identity"))

    def test_decode_limits(self) -> None:
        import gzip
        import zlib

        self.assertEqual(decodeBody(gzip.compress(b"abc"), b"gzip", 10), b"abc")
        self.assertEqual(decodeBody(zlib.compress(b"abc"), b"deflate", 10), b"abc")
        with self.assertRaises(TooLarge):
            decodeBody(gzip.compress(b"a" * 100), b"gzip", 10)
        with self.assertRaises(ValueError):
            decodeBody(b"x", b"br", 10)


class CollectorTests(SynchronousTestCase):
    def collect(self, chunks: list[bytes], limit: int = 1 << 30) -> Any:
        from twisted.python.failure import Failure
        from twisted.web.client import ResponseDone

        from akto_proxy.web.stream import Collector

        c = Collector(limit)
        for chunk in chunks:
            c.dataReceived(chunk)
        if c.size <= limit:
            c.connectionLost(Failure(ResponseDone()))
        return c

    @given(st.lists(st.binary(min_size=1, max_size=700), max_size=8), st.sampled_from([1, 500, 1000, 10**6]))
    def test_body(self, chunks: list[bytes], gather: int) -> None:
        """
        The body is the chunks one after another, gathered in a list or,
        from GATHER_FROM bytes, in one buffer.
        """
        from akto_proxy.web import stream

        saved = stream.GATHER_FROM
        stream.GATHER_FROM = gather
        try:
            c = self.collect(chunks)
            self.assertEqual(self.successResultOf(c.done), b"".join(chunks))
            over = self.collect(chunks, limit=max(0, sum(map(len, chunks)) - 1))
            if chunks:
                self.failureResultOf(over.done, TooLarge)
                self.assertEqual(over.prefix(), b"".join(chunks))
                self.assertEqual(over.prefix(), b"")
        finally:
            stream.GATHER_FROM = saved

    def test_heldOnce(self) -> None:
        """
        A large body costs about its size while it is collected and taken,
        not twice it (a list of its chunks and their join).
        """
        import tracemalloc

        from twisted.python.failure import Failure
        from twisted.web.client import ResponseDone

        from akto_proxy.web.stream import Collector

        size = 4 << 20
        c = Collector(1 << 30)
        tracemalloc.start()
        try:
            for i in range(size // 65536):
                c.dataReceived(bytes([65 + i % 26]) * 65536)
            c.connectionLost(Failure(ResponseDone()))
            body = self.successResultOf(c.done)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        self.assertEqual(len(body), size)
        self.assertLess(peak, 1.3 * size)

    @given(st.lists(st.binary(min_size=1, max_size=700), max_size=8), st.sampled_from([1, 500, 1000, 10**6]))
    def test_watched(self, chunks: list[bytes], gather: int) -> None:
        """
        A body that reaches GATHER_FROM is watched from then on: the watch
        (asked for with the body's first byte) is fed every byte of it, in
        order, and ended when it is whole; a smaller one is not watched.
        """
        from twisted.python.failure import Failure
        from twisted.web.client import ResponseDone

        from akto_proxy.web import stream

        saved = stream.GATHER_FROM
        stream.GATHER_FROM = gather
        try:
            watches: list[_Watch] = []
            c = stream.Collector(1 << 30, lambda head: watches.append(_Watch(head)) or watches[-1])
            for chunk in chunks:
                c.dataReceived(chunk)
            c.connectionLost(Failure(ResponseDone()))
            body = self.successResultOf(c.done)
            if len(body) < gather:
                self.assertEqual((watches, c.watch), ([], None))
                return
            [watch] = watches
            self.assertIs(c.watch, watch)
            self.assertEqual((watch.head, b"".join(watch.fed), watch.calls[-1]), (body[:1], body, "end"))
            self.assertNotIn("close", watch.calls)
        finally:
            stream.GATHER_FROM = saved

    def test_watchClosed(self) -> None:
        """
        The watch of a body given up is closed: over the limit, cut short,
        cancelled, abandoned; one that fails is dropped (the body is judged
        whole) and the body still arrives.
        """
        from twisted.python.failure import Failure
        from twisted.web._newclient import ResponseFailed
        from twisted.web.client import ResponseDone

        from akto_proxy.web.stream import GATHER_FROM, Collector

        big = b"x" * GATHER_FROM
        for end in ("over", "cut", "cancel", "abandon"):
            watch = _Watch(b"x")
            c = Collector(GATHER_FROM + 10, lambda head: watch)
            c.dataReceived(big)
            self.assertEqual(watch.calls, ["feed"])
            if end == "over":
                c.dataReceived(b"y" * 20)
                self.failureResultOf(c.done, TooLarge)
            elif end == "cut":
                c.connectionLost(Failure(ResponseFailed([])))
                self.failureResultOf(c.done)
            elif end == "cancel":
                c.done.cancel()
                self.failureResultOf(c.done)
            else:
                c.abandon()
            fed = ["feed", "feed"] if end == "over" else ["feed"]
            self.assertEqual((watch.calls, c.watch), ([*fed, "close"], None), end)
        watch = _Watch(b"x", fail=True)
        c = Collector(1 << 30, lambda head: watch)
        c.dataReceived(big)
        c.dataReceived(b"y")
        c.connectionLost(Failure(ResponseDone()))
        self.assertEqual(self.successResultOf(c.done), big + b"y")
        self.assertIsNone(c.watch)
        self.assertEqual(watch.calls, ["feed", "close"])
        self.flushLoggedErrors(ValueError)

    def test_cancelled_then_lost(self) -> None:
        """
        The client goes away (the wait is cancelled) and then the upstream
        body ends: nothing fires twice.
        """
        from twisted.web._newclient import ResponseFailed
        from twisted.python.failure import Failure

        from akto_proxy.web.stream import Collector

        c = Collector(100)
        c.done.cancel()
        self.failureResultOf(c.done)
        c.connectionLost(Failure(ResponseFailed([])))
        c.dataReceived(b"x" * 200)


class _Watch:
    """
    A watch of a collected body that notes what it is told.
    """

    def __init__(self, head: bytes, fail: bool = False):
        self.head = head
        self.fail = fail
        self.fed: list[bytes] = []
        self.calls: list[str] = []

    def feed(self, chunk: bytes) -> None:
        self.calls.append("feed")
        if self.fail:
            raise ValueError("watch failed")
        self.fed.append(chunk)

    def end(self) -> None:
        self.calls.append("end")

    def close(self) -> None:
        self.calls.append("close")
