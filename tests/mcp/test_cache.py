"""
The response cache's rules and store (L{akto_proxy.mcp.cache}): what may be
kept, its key, its freshness, the LRU bound in bytes, invalidation.
"""

from __future__ import annotations

import json

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.config import parseConfig
from akto_proxy.config.reader import ConfigError
from akto_proxy.mcp.cache import (
    Entry,
    ResponseCache,
    cacheKeys,
    cacheableRequest,
    canonicalParams,
    freshness,
    headerDigest,
    httpFreshness,
)

LISTEN = 'listen: ["tcp:0"]\n'


def config(cache: str = "cache: {enabled: true, max_size: 4KiB}\n", extra: str = ""):
    return parseConfig(LISTEN + cache + extra, "test.yaml")


class RulesTests(SynchronousTestCase):
    def test_cacheableRequests(self) -> None:
        for method in ("tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read"):
            self.assertTrue(cacheableRequest({"jsonrpc": "2.0", "id": 1, "method": method}), method)
        self.assertFalse(cacheableRequest({"jsonrpc": "2.0", "method": "tools/list"}))  # a notification
        self.assertFalse(cacheableRequest({"jsonrpc": "2.0", "id": 1, "method": "tools/call"}))
        self.assertFalse(cacheableRequest({"jsonrpc": "2.0", "id": 1, "method": "server/discover"}))
        for retry in ({"requestState": "s"}, {"inputResponses": {}}):
            self.assertFalse(cacheableRequest({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": retry}))
        self.assertFalse(cacheableRequest({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": [1]}))

    def test_params(self) -> None:
        self.assertEqual(canonicalParams({"b": 1, "a": 2}), canonicalParams({"a": 2, "b": 1}))
        self.assertEqual(canonicalParams({"uri": "x", "_meta": {"progressToken": 3}}), canonicalParams({"uri": "x"}))
        self.assertNotEqual(canonicalParams({"cursor": "a"}), canonicalParams({"cursor": "b"}))
        self.assertNotEqual(
            canonicalParams({"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}), canonicalParams({})
        )

    def test_freshness(self) -> None:
        ok = {"jsonrpc": "2.0", "id": 1, "result": {"tools": []}}
        self.assertEqual(freshness(ok, 60.0), (60.0, False, False))
        self.assertEqual(freshness({"id": 1, "result": {"ttlMs": 1500, "cacheScope": "public"}}, 60.0), (1.5, True, True))
        self.assertEqual(freshness({"id": 1, "result": {"ttlMs": -5}}, 60.0), (0.0, False, True))
        self.assertEqual(freshness({"id": 1, "result": {"ttlMs": "soon"}}, 60.0), (60.0, False, False))
        self.assertIsNone(freshness({"id": 1, "error": {"code": -32601, "message": "no"}}, 60.0))
        self.assertIsNone(freshness({"id": 1, "result": {"resultType": "input_required"}}, 60.0))

    def test_keys(self) -> None:
        base = (b"http://up/mcp", "tools/list", "{}", "2025-06-18", "d")
        own, shared = cacheKeys(*base, None)
        self.assertEqual(own, shared)
        s1, shared1 = cacheKeys(*base, "s1")
        s2, shared2 = cacheKeys(*base, "s2")
        self.assertEqual(shared1, shared)
        self.assertEqual(shared2, shared)
        self.assertNotEqual(s1, s2)
        for i, other in enumerate((b"http://up/other", "prompts/list", '{"cursor":"x"}', "2026-07-28", "e")):
            parts = list(base)
            parts[i] = other
            self.assertNotEqual(cacheKeys(*parts, None)[0], own, other)  # type: ignore[arg-type]

    def test_headerDigest(self) -> None:
        """
        Credentials and custom headers key the answer (as a digest only);
        per-request and per-hop ones do not.
        """
        plain = headerDigest([(b"Accept", [b"*/*"]), (b"X-Forwarded-For", [b"10.0.0.1"])])
        self.assertEqual(plain, headerDigest([(b"X-Forwarded-For", [b"10.0.0.2"]), (b"X-Akto-Request-Id", [b"r"])]))
        alice = headerDigest([(b"Authorization", [b"Bearer alice-secret"])])
        bob = headerDigest([(b"authorization", [b"Bearer bob-secret"])])
        self.assertNotEqual(alice, bob)
        self.assertNotEqual(alice, plain)
        self.assertNotIn("alice", alice)
        self.assertNotEqual(headerDigest([(b"Cookie", [b"a=1"])]), plain)
        self.assertNotEqual(headerDigest([(b"X-Api-Key", [b"k"])]), plain)

    def test_httpFreshness(self) -> None:
        def h(**headers: str) -> dict[bytes, list[bytes]]:
            return {k.replace("_", "-").encode(): [v.encode()] for k, v in headers.items()}

        self.assertEqual(httpFreshness(h(cache_control="max-age=60"), False), 60.0)
        self.assertEqual(httpFreshness(h(cache_control="max-age=60, s-maxage=10"), False), 10.0)
        self.assertEqual(httpFreshness(h(cache_control="max-age=60", age="50"), False), 10.0)
        self.assertIsNone(httpFreshness(h(cache_control="max-age=60", age="70"), False))
        self.assertEqual(httpFreshness(h(cache_control="max-age=60", age="70", etag='"x"'), False), 0.0)
        self.assertIsNone(httpFreshness(h(cache_control="no-store, max-age=60"), False))
        self.assertIsNone(httpFreshness(h(cache_control="private, max-age=60"), False))
        self.assertIsNone(httpFreshness(h(cache_control="max-age=60", set_cookie="a=1"), False))
        self.assertIsNone(httpFreshness(h(cache_control="max-age=60", vary="*"), False))
        self.assertIsNone(httpFreshness(h(cache_control="max-age=60", vary="User-Agent"), False))
        self.assertEqual(httpFreshness(h(cache_control="max-age=60", vary="Accept-Encoding, Authorization"), False), 60.0)
        self.assertIsNone(httpFreshness(h(cache_control="max-age=60"), True))
        self.assertEqual(httpFreshness(h(cache_control="public, max-age=60"), True), 60.0)
        self.assertEqual(httpFreshness(h(cache_control="no-cache", etag='"x"'), False), 0.0)
        self.assertIsNone(httpFreshness(h(cache_control="no-cache"), False))
        self.assertIsNone(httpFreshness(h(), False))


class StoreTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.cache = ResponseCache(config(), self.clock)

    def entry(self, key: str, size: int = 1000, method: str = "tools/list", origin: str = "http://up", lifetime: float = 60.0, etag: bytes | None = None) -> Entry:
        return Entry(key, origin, method, b"x" * size, b"application/json", self.clock.seconds(), lifetime, etag)

    def test_lruByBytes(self) -> None:
        """
        At most max_size bytes: the least recently used go first; a get
        makes an entry the most recently used.
        """
        for k in "abc":
            self.assertTrue(self.cache.put(self.entry(k)))
        self.assertIsNotNone(self.cache.get(["a"]))
        self.cache.put(self.entry("d"))
        self.assertLessEqual(self.cache.size, 4096)
        self.assertEqual(list(self.cache.entries), ["c", "a", "d"])
        self.assertEqual(self.cache.counts[("evictions", "tools/list")], 1)
        self.assertFalse(self.cache.put(self.entry("huge", 5000)))
        self.cache.put(self.entry("a", 10))
        self.assertEqual(self.cache.size, sum(e.size for e in self.cache.entries.values()))

    def test_maxEntries(self) -> None:
        cache = ResponseCache(config("cache: {enabled: true, max_entries: 2}\n"), self.clock)
        for k in "abc":
            cache.put(self.entry(k, 10))
        self.assertEqual(list(cache.entries), ["b", "c"])

    def test_expiry(self) -> None:
        self.cache.put(self.entry("a", lifetime=10))
        self.cache.put(self.entry("b", lifetime=10, etag=b'"e"'))
        self.clock.advance(11)
        self.assertIsNone(self.cache.get(["a"]))
        self.assertNotIn("a", self.cache.entries)
        stale = self.cache.get(["b"])
        assert stale is not None
        self.assertFalse(stale.fresh(self.clock.seconds()))
        self.cache.refresh(stale)
        self.assertTrue(stale.fresh(self.clock.seconds()))

    def test_firstKeyFound(self) -> None:
        self.cache.put(self.entry("shared", 10))
        self.assertEqual(self.cache.get(["own", "shared"]).key, "shared")  # type: ignore[union-attr]
        self.cache.put(self.entry("own", 10))
        self.assertEqual(self.cache.get(["own", "shared"]).key, "own")  # type: ignore[union-attr]

    def test_invalidate(self) -> None:
        self.cache.put(self.entry("t1", 10))
        self.cache.put(self.entry("t2", 10, origin="http://other"))
        self.cache.put(self.entry("p1", 10, method="prompts/list"))
        self.assertEqual(self.cache.invalidate("http://up", ["tools/list"]), 1)
        self.assertEqual(sorted(self.cache.entries), ["p1", "t2"])
        self.assertEqual(self.cache.counts[("invalidations", "tools/list")], 1)
        self.assertEqual(self.cache.invalidate("http://up", ["tools/list"]), 0)

    def test_answer(self) -> None:
        body = b'{"jsonrpc":"2.0","id":1,"result":{"tools":[],"ttlMs":10000}}'
        e = Entry("k", "http://up", "tools/list", body, b"application/json", self.clock.seconds(), 10.0, hasTTL=True)
        self.clock.advance(4)
        self.assertEqual(e.answer("r2", self.clock.seconds()), b'{"jsonrpc":"2.0","id":"r2","result":{"tools":[],"ttlMs":6000}}')

    def test_answerTemplate(self) -> None:
        """
        A kept answer is encoded once; a hit puts its id (any JSON value)
        in.  A body that holds the template's own marks falls back to
        encoding each hit.
        """
        body = b'{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"\xc3\xa9"}],"ttlMs":10000}}'
        e = Entry("k", "http://up", "tools/list", body, b"application/json", 0.0, 10.0, hasTTL=True)
        self.assertIsNotNone(e.parts)
        self.assertEqual(json.loads(e.answer({"a": [1]}, 1.0)), {"jsonrpc": "2.0", "id": {"a": [1]}, "result": {"tools": [{"name": "\u00e9"}], "ttlMs": 9000}})
        odd = b'{"jsonrpc":"2.0","id":1,"result":{"text":"\\u0000akto-cache-id\\u0000"}}'
        e = Entry("k", "http://up", "tools/list", odd, b"application/json", 0.0, 10.0)
        self.assertIsNone(e.parts)
        self.assertEqual(json.loads(e.answer(2, 1.0))["id"], 2)

    def test_reconfigure(self) -> None:
        """
        A reload that changes policy drops everything; one that changes
        nothing that matters keeps it; disabling drops it too.
        """
        self.cache.put(self.entry("a", 10))
        self.cache.reconfigure(config(extra="metrics: {enabled: false}\n"))
        self.assertIn("a", self.cache.entries)
        self.cache.reconfigure(config(extra="mcp: {tool_poisoning: false}\n"))
        self.assertEqual(len(self.cache.entries), 0)
        self.cache.put(self.entry("a", 10))
        self.cache.reconfigure(config("cache: {enabled: false}\n", "mcp: {tool_poisoning: false}\n"))
        self.assertFalse(self.cache.enabled)
        self.assertEqual(len(self.cache.entries), 0)
        self.assertFalse(self.cache.put(self.entry("b", 10)))


class ConfigTests(SynchronousTestCase):
    def test_specShape(self) -> None:
        """
        SPEC section 6's cache block loads as written.
        """
        c = config("cache:\n  enabled: true\n  ttl: 60s\n  max_size: 64MiB\n").cache
        self.assertEqual((c.enabled, c.ttl, c.max_size), (True, 60.0, 64 * 1024 * 1024))
        self.assertFalse(parseConfig(LISTEN).cache.enabled)

    def test_errors(self) -> None:
        cases = {
            "cache:\n  enabled: true\n  max_sise: 1MiB\n": "test.yaml:4: cache.max_sise",
            "cache:\n  max_size: lots\n": "test.yaml:3: cache.max_size: invalid size",
            "cache:\n  ttl: -1\n": "test.yaml:3: cache.ttl: must not be negative",
            "cache:\n  max_size: 1KiB\n  max_entry: 2KiB\n": "test.yaml:4: cache.max_entry: larger than max_size",
        }
        for text, expected in cases.items():
            with self.assertRaises(ConfigError) as e:
                parseConfig(LISTEN + text, "test.yaml")
            self.assertIn(expected, str(e.exception), text)
        with self.assertRaises(ConfigError) as e:
            parseConfig(LISTEN + "cache:\n  max_sise: 1MiB\n", "test.yaml")
        self.assertIn("did you mean 'max_size'", str(e.exception))
