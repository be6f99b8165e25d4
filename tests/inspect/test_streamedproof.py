"""
A large body's raw proof asked as it arrives (Prefilter.watch, Streamed;
Pipeline.watchUnread, UnreadWatch; the collector feeding it): wherever the
body is split into chunks, at every byte and at random, the streamed
proof's verdict is the one the whole body's proof gives, and a body it
calls clean is one the full chain (and the pipeline, judging it decoded)
passes untouched.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Optional

from hypothesis import example, given, settings, strategies as st
from twisted.internet import reactor
from twisted.internet.defer import ensureDeferred
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase, TestCase
from twisted.web.server import NOT_DONE_YET

from akto_proxy.config.loader import parseConfig
from akto_proxy.inspect.chain import Chain
from akto_proxy.inspect.checks import buildInspectors
from akto_proxy.inspect.checks.prefilter import Prefilter, Streamed, _openStream
from akto_proxy.mcp import pipeline as P
from akto_proxy.mcp.events import EventBus, MessageEvent
from akto_proxy.mcp.jsonrpc import _RPC_KEY, KeyWatch, decode, neverRPC
from akto_proxy.mcp.session import Conversation
from akto_proxy.runtime import buildRuntime
from tests.harness import ProxyHarness, Upstream, request
from tests.inspect.test_prefilter import CHECKS
from tests.inspect.test_rawproof import _ACROSS, PIECES, TARGET, largeBody, passedEitherWay, unreadValues
from tests.mcp.test_pipeline import run

_CHECKS = CHECKS.format(sensitivity="medium", exclusions="").replace("  custom_rules:\n", "  custom_rules:\n" + _ACROSS, 1)
_BUILT = buildInspectors(parseConfig('listen: ["tcp:0"]\n' + _CHECKS))
#: bodies of 100 bytes and up count as large: every split of a small one is asked
_SMALL = Prefilter(_BUILT, maxSize=100)
_FULL = Chain(_BUILT, Clock())

#: what the small bodies are made of: the pieces, and what the anchored
#: rules and the line-anchored filter look for (a hit that only the end of
#: the body completes: C{$})
_BITS = [*PIECES, "drop table", "passwd", "secret", "key", "jsonrpc", "\"jsonrpc", "\x00", "\xff", "\udcff"]


def chunks(body: bytes, cuts: list[int]) -> list[bytes]:
    """
    C{body} cut at C{cuts} (positions, any order, repeats make empty
    chunks).
    """
    points = [0, *sorted(min(max(c, 0), len(body)) for c in cuts), len(body)]
    return [body[a:b] for a, b in zip(points, points[1:])]


def streamed(prefilter: Prefilter, parts: list[bytes], direction: str = "response") -> Streamed:
    seen = prefilter.watch(direction)
    for part in parts:
        seen.feed(part)
    seen.end()
    return seen


def smallBody(form: str, inner: str) -> bytes:
    """
    C{inner} in a body of some 150 bytes: a JSON array of records, the same
    cut short, prose, or prose that ends with it.
    """
    filler = {"id": 1, "name": "item 1", "note": "quarterly figures for the year"}
    if form == "json":
        return json.dumps([filler, {"text": inner, "tags": ["a", "b"]}, filler], ensure_ascii=False).encode("utf-8", "surrogateescape")
    if form == "cut":
        return smallBody("json", inner)[:-1]
    prose = "Quarterly figures for item 1 are in.\n" * 3
    if form == "tail":
        return (prose + inner).encode("utf-8", "surrogateescape")
    return (prose + inner + "\n" + prose).encode("utf-8", "surrogateescape")


class StreamedTests(SynchronousTestCase):
    """
    The prefilter's streamed proof (L{Prefilter.watch}): split at every
    byte and at random, its verdict is the whole body's, and a clean one
    is passed untouched by every step, read as text and as JSON.
    """

    def agree(self, body: bytes, splits: list[list[int]]) -> Optional[bool]:
        whole = _SMALL.cleanUnread("response", body, True)
        for cuts in splits:
            parts = chunks(body, cuts)
            seen = streamed(_SMALL, parts)
            self.assertEqual((seen.ascii, seen.nul, seen.backslash), (body.isascii(), b"\x00" in body, b"\\" in body), parts)
            if seen.ascii:
                self.assertEqual(seen.quiet, _SMALL._quiet("response", body), parts)  # the stream finds what one scan finds
            else:
                self.assertIsNone(seen.quiet)
            self.assertEqual(_SMALL.cleanUnread("response", body, True, seen), whole, parts)
            self.assertEqual(_SMALL.cleanUnread("response", body, False, seen), _SMALL.cleanUnread("response", body, False), parts)
        if whole:
            passedEitherWay(self, _FULL, body)
        return whole

    @settings(max_examples=150, deadline=None)
    @example(["drop table"], "tail")
    @example(["drop table"], "json")
    @example(["secret", '"', "key"], "cut")
    @given(st.lists(st.sampled_from(_BITS), max_size=8), st.sampled_from(["json", "cut", "text", "tail"]))
    def test_everySplit(self, bits: list[str], form: str) -> None:
        """
        Generated bodies, cut in two at every byte and in three at a few
        places: the same verdict as the whole body's.
        """
        body = smallBody(form, "".join(bits))
        n = len(body)
        self.agree(body, [[i] for i in range(n + 1)] + [[i, n - i] for i in range(0, n, 7)])

    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.sampled_from(_BITS), max_size=8), st.sampled_from(["json", "cut", "text", "tail"]), st.lists(st.integers(0, 400), max_size=12))
    def test_randomSplits(self, bits: list[str], form: str, cuts: list[int]) -> None:
        self.agree(smallBody(form, "".join(bits)), [cuts])

    def test_verdicts(self) -> None:
        """
        Each kind of verdict is reached (so that the comparisons above
        compare something): clean; a hit; a hit only the end of the body
        completes; not ASCII; an escape.
        """
        self.assertTrue(self.agree(smallBody("json", "fine"), [[50]]))
        self.assertFalse(self.agree(smallBody("text", "cat /etc/passwd"), [[80]]))
        body = smallBody("tail", "drop table")
        seen = streamed(_SMALL, chunks(body, [len(body) - 3]))
        self.assertIs(seen.quiet, False)  # the relaxed `$` of the filter, at the end: reported on closing
        self.assertIs(self.agree(smallBody("json", "caf\xe9"), [[120]]), True)  # told by the whole-body tests
        self.assertIsNone(self.agree(smallBody("json", "a\\b"), [[10]]))

    def test_notOwner(self) -> None:
        """
        Off the prefilter's thread only the byte tests are told (the scratch
        space is that thread's): the whole body is scanned.
        """
        import threading

        box: list[Streamed] = []
        t = threading.Thread(target=lambda: box.append(_SMALL.watch("response")))
        t.start()
        t.join()
        seen = box[0]
        body = smallBody("json", "fine")
        seen.feed(body)
        seen.end()
        self.assertIsNone(seen.quiet)
        self.assertTrue(_SMALL.cleanUnread("response", body, True, seen))

    def test_other(self) -> None:
        """
        What was told of other bytes, or for another prefilter or direction,
        or of a body not ended, is not used.
        """
        body = smallBody("text", "cat /etc/passwd")
        clean = smallBody("text", "fine")
        self.assertFalse(_SMALL.cleanUnread("response", body, False, streamed(_SMALL, [clean[: len(body)]])))
        other = Prefilter(_BUILT, maxSize=100)
        self.assertFalse(_SMALL.cleanUnread("response", body, False, streamed(other, [clean])))
        seen = _SMALL.watch("response")
        seen.feed(clean)
        self.assertFalse(seen.tells(_SMALL, "response", clean))
        seen.end()
        self.assertTrue(seen.tells(_SMALL, "response", clean))
        self.assertFalse(seen.tells(_SMALL, "request", clean))

    def test_closed(self) -> None:
        """
        A body given up tells nothing; closing twice, or after the end, is
        harmless.
        """
        seen = _SMALL.watch("response")
        seen.feed(b"fine " * 40)
        seen.close()
        seen.close()
        self.assertIsNone(seen.quiet)
        ended = streamed(_SMALL, [b"fine " * 40])
        ended.close()
        self.assertIsNone(ended.quiet)

    def test_owned(self) -> None:
        """
        A stream opened by L{_openStream} has one owner, its caller (the
        binding's reference counts, which it balances, are pinned here):
        opened and closed many times, it neither leaks nor is freed early.
        """
        db = _SMALL._streamed["response"]
        stream = _openStream(db, lambda *a: None)
        self.assertEqual(sys.getrefcount(stream), 2)  # the name, and the argument
        stream.close()
        for _ in range(2000):
            seen = _SMALL.watch("response")
            seen.feed(b"fine, thanks " * 10)
            seen.end()
            self.assertTrue(seen.quiet)

    def test_streamedDatabase(self) -> None:
        """
        Only responses get a stream-mode copy of the database of both, and
        only where large bodies are asked about.
        """
        self.assertEqual(set(_SMALL._streamed), {"response"})
        plain = parseConfig('listen: ["tcp:0"]\n' + _CHECKS.replace("[sql_injection, command_injection, path_traversal, data_exfiltration]", "[]", 1))
        self.assertEqual(set(Prefilter(buildInspectors(plain))._streamed), set(Prefilter(buildInspectors(plain))._together) & {"response"})


class KeyWatchTests(SynchronousTestCase):
    """
    The JSON-RPC key looked for as the body arrives is found wherever it
    is cut.
    """

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.sampled_from(["a", '"', "json", "rpc", "jsonrpc", '"jsonrpc', '"json', "\\"]), max_size=10).map("".join), st.lists(st.integers(0, 80), max_size=6))
    def test_everySplit(self, text: str, cuts: list[int]) -> None:
        body = text.encode()
        expected = _RPC_KEY in body
        splits = [[i] for i in range(len(body) + 1)] + [cuts, [i for i in range(len(body))]]
        for c in splits:
            key = KeyWatch()
            for part in chunks(body, c):
                key.feed(part)
            self.assertEqual(key.found, expected, (body, c))


class UnreadWatchTests(SynchronousTestCase):
    """
    Through the pipeline (L{P.Pipeline.watchUnread}): a large server body
    split at random gives the verdict of L{P.Pipeline.passesUnread} on the
    whole, and one it relays unread is one the pipeline, decoding and
    judging it, passes unchanged and without a word.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.rt = buildRuntime(parseConfig('listen: ["tcp:0"]\n' + _CHECKS), 1, self.clock)
        plain = _CHECKS.replace("[sql_injection, command_injection, path_traversal, data_exfiltration]", "[]", 1)
        self.plain = buildRuntime(parseConfig('listen: ["tcp:0"]\n' + plain), 1, self.clock)

    def ctx(self) -> P.Context:
        return P.Context(self.clock.seconds, EventBus(), "req_1", "http", None, "127.0.0.1", TARGET, Conversation())

    def compare(self, rt: Any, raw: bytes, ctype: str, cuts: list[int]) -> bool:
        pipeline = rt.pipeline
        whole = pipeline.passesUnread(self.ctx(), raw, ctype)
        watch = pipeline.watchUnread(self.ctx(), raw[:1], ctype)
        assert watch is not None
        for part in chunks(raw, cuts):
            watch.feed(part)
        watch.end()
        unread = pipeline.passesUnread(self.ctx(), raw, ctype, watch)
        self.assertEqual(unread, whole, (raw[:80], cuts))
        if unread:
            ctx = self.ctx()
            events: list[Any] = []
            ctx.bus.subscribe(MessageEvent, events.append, notableOnly=True)
            message = decode(raw, ctype)
            verdict = run(pipeline.judgeServer(ctx, message))
            self.assertEqual(message.rpc, [])
            self.assertTrue(verdict.unchanged)
            self.assertEqual((ctx.findings, ctx.guardrails, events), ([], [], []))
        return unread

    @settings(max_examples=60, deadline=None)
    @example(["drop table"], "json", "application/json", [70000])
    @example("fine", "rpc", "application/json", [2, 5, 9])
    @given(
        unreadValues | st.lists(st.sampled_from(PIECES), max_size=4),
        st.sampled_from(["json", "cut", "text", "rpc"]),
        st.sampled_from(["application/json", "text/plain", ""]),
        st.lists(st.integers(0, 200000), max_size=20),
    )
    def test_generated(self, inner: Any, form: str, ctype: str, cuts: list[int]) -> None:
        raw = largeBody(form, inner)
        for rt in (self.rt, self.plain):
            unread = self.compare(rt, raw, ctype, cuts)
            if form == "rpc":
                self.assertFalse(unread)

    def test_keyAtTheEdges(self) -> None:
        """
        A JSON-RPC body whose key is cut between two chunks is not relayed
        unread, wherever it is cut.
        """
        raw = largeBody("rpc", "fine")
        at = raw.index(_RPC_KEY)
        for i in range(at, at + len(_RPC_KEY) + 1):
            self.assertFalse(self.compare(self.plain, raw, "application/json", [i]))
        self.assertTrue(self.compare(self.plain, largeBody("json", "fine"), "application/json", [at + 3]))

    def test_notWatched(self) -> None:
        """
        No watch with a subscriber of every message; a watch that did not
        see the whole body, or saw other bytes, is not used; a text body's
        watch does not look for the key.
        """
        ctx = self.ctx()
        ctx.bus.subscribe(MessageEvent, lambda event: None)
        self.assertIsNone(self.rt.pipeline.watchUnread(ctx, b"[", "application/json"))
        raw = largeBody("json", "fine")
        watch = self.rt.pipeline.watchUnread(self.ctx(), b"[", "application/json")
        assert watch is not None
        watch.feed(raw[:-10])
        watch.end()
        self.assertFalse(watch.tells(raw))
        self.assertTrue(self.rt.pipeline.passesUnread(self.ctx(), raw, "application/json", watch))  # the whole body asked
        bad = largeBody("json", "cat /etc/passwd")
        watch = self.rt.pipeline.watchUnread(self.ctx(), b"[", "application/json")
        assert watch is not None
        watch.feed(raw[: len(bad)])
        watch.end()
        self.assertFalse(self.rt.pipeline.passesUnread(self.ctx(), bad, "application/json", watch))
        text = self.rt.pipeline.watchUnread(self.ctx(), b"Q", "text/plain")
        assert text is not None
        self.assertIsNone(text.key)
        # the same body read as JSON after all (not what the proxy does):
        # the key is looked for in the whole
        rpc = largeBody("rpc", "fine")
        text.feed(rpc)
        text.end()
        self.assertFalse(self.plain.pipeline.passesUnread(self.ctx(), rpc, "application/json", text))
        self.assertTrue(neverRPC(raw))


class StreamedProxyTests(TestCase):
    """
    Through the running proxy: a large body that arrives in many chunks
    (chunked, no length) is proven as it arrives, relayed byte for byte
    when clean and refused when a hit lies across two chunks.
    """

    def setUp(self) -> Any:
        return ensureDeferred(self._setUp())

    async def _setUp(self) -> None:
        self.upstream = await Upstream().start()
        self.addCleanup(self.upstream.stop)
        self.proxy = ProxyHarness(self, _CHECKS)
        self.told: list[bool] = []
        passes = P.Pipeline.passesUnread

        def recording(pipeline: Any, ctx: Any, raw: bytes, contentType: str = "", watch: Any = None) -> bool:
            self.told.append(watch is not None and watch.tells(raw))
            return passes(pipeline, ctx, raw, contentType, watch)

        self.patch(P.Pipeline, "passesUnread", recording)

    async def get(self, body: bytes, ctype: bytes, piece: int) -> tuple[int, bytes]:
        def serve(request: Any, _: bytes) -> Any:
            request.setHeader(b"content-type", ctype)
            pieces = iter([body[i : i + piece] for i in range(0, len(body), piece)])

            def more() -> None:
                chunk = next(pieces, None)
                if chunk is None:
                    request.finish()
                    return
                request.write(chunk)
                reactor.callLater(0, more)

            more()
            return NOT_DONE_YET

        self.upstream.handlers[b"custom"] = serve
        response, answer = await request(self.proxy.url(self.upstream, "/custom"))
        return response.code, answer

    def test_chunks(self) -> Any:
        async def go() -> None:
            for form, ctype in (("json", b"application/json"), ("text", b"text/plain")):
                body = largeBody(form, {"note": "fine, thanks"})
                self.assertEqual(await self.get(body, ctype, 4093), (200, body), form)
            bad = largeBody("text", "cat /etc/passwd")
            at = bad.index(b"/etc/passwd") + 4
            code, _ = await self.get(bad, b"text/plain", at)  # the hit cut in two
            self.assertEqual(code, 403)
            self.assertEqual(self.told, [True, True, True])

        return ensureDeferred(go())
