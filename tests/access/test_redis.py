"""
Redis-backed rate limits and sessions against a real redis-server (a child
process on a free loopback port): two proxy processes sharing one limit,
exactness, and on_error open/closed with recovery when Redis returns.
"""

from __future__ import annotations

import random
from typing import Any, Callable, Coroutine

from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.task import Clock
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import TestCase

from akto_proxy.access.ratelimit import Hit, Limiter, MemoryStore, Rate, RateLimits, RedisStore, Result, Subject
from akto_proxy.access.redisstate import RedisState, RedisUnavailable, parseURL
from akto_proxy.access.sessions import RedisSessions, SessionTable
from akto_proxy.config.model import Guardrail, RateRule, RedisConfig

from .redisserver import SKIP, RedisServer, freePort, reactor, whenDown, whenUp


def run(f: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., Deferred[None]]:
    def wrapper(self: Any) -> Deferred[None]:
        return Deferred.fromCoroutine(f(self))

    wrapper.__name__ = f.__name__
    return wrapper


class ParseURLTests(TestCase):
    def test_urls(self) -> None:
        self.assertEqual(
            parseURL("redis://u:p%40ss@10.0.0.1:6380/2"),
            {"scheme": "redis", "username": "u", "password": "p@ss", "dbid": 2, "host": "10.0.0.1", "port": 6380},
        )
        self.assertEqual(parseURL("redis://localhost")["port"], 6379)
        self.assertEqual(parseURL("redis://localhost")["dbid"], None)
        self.assertEqual(parseURL("unix:///run/redis.sock?db=3")["path"], "/run/redis.sock")
        self.assertEqual(parseURL("unix:///run/redis.sock?db=3")["dbid"], 3)
        self.assertRaises(ValueError, parseURL, "http://x")


class RedisTestCase(TestCase):
    skip = SKIP
    prefix = "t:"

    async def server(self) -> RedisServer:
        srv = await RedisServer().start()
        self.addCleanup(srv.kill)
        return srv

    def state(self, srv: RedisServer, onError: str = "open", **kw: Any) -> RedisState:
        kw.setdefault("initialRetryDelay", 0.05)
        kw.setdefault("maxRetryDelay", 0.2)
        st = RedisState(RedisConfig(url=srv.url, on_error=onError, key_prefix=self.prefix), reactor, **kw)
        self.addCleanup(st.stop)
        return st


class RedisRateTests(RedisTestCase):
    @run
    async def test_twoProcessesShareOneLimit(self) -> None:
        srv = await self.server()
        n = 7
        clock = Clock()
        clock.advance(1_760_000_000)
        limiters = [Limiter(Rate(n), RedisStore(self.state(srv)), clock) for _ in range(2)]
        # 2N attempts, interleaved and all in flight at once
        results = await gatherResults([limiters[i % 2].hit("alice") for i in range(2 * n)])
        self.assertEqual(sum(r.allowed for r in results), n)
        self.assertFalse(any(r.degraded for r in results))
        # and again sequentially, after the window
        clock.advance(60)
        allowed = 0
        for i in range(2 * n):
            r = await limiters[i % 2].hit("alice")
            allowed += r.allowed
        self.assertEqual(allowed, n)

    @run
    async def test_boundaryAndRetryAfter(self) -> None:
        srv = await self.server()
        store = RedisStore(self.state(srv))
        lim = Limiter(Rate(3), store, Clock())
        t0 = 1_760_000_000.5
        for dt in (0, 10.5, 20.5):
            self.assertTrue((await lim.hit("k", now=t0 + dt)).allowed)
        r = await lim.hit("k", now=t0 + 25)
        self.assertEqual(r, Result(False, 35, 0, 3))
        r = await lim.hit("k", now=t0 + 59.999)
        self.assertEqual((r.allowed, r.retry_after), (False, 1))
        self.assertTrue((await lim.hit("k", now=t0 + 60.0)).allowed)
        r = await lim.hit("k", now=t0 + 60.0, cost=2)
        self.assertEqual((r.allowed, r.retry_after), (False, 21))
        r = await lim.hit("k", now=t0 + 60.0, cost=4)
        self.assertEqual((r.allowed, r.retry_after), (False, 60))

    @run
    async def test_sameAsMemoryStore(self) -> None:
        srv = await self.server()
        rng = random.Random(4)
        redis = RedisStore(self.state(srv))
        memory = MemoryStore()
        t = 1_760_000_000.0
        for rate in (Rate(5), Rate(12, 60, 4), Rate(60, 60, 10), Rate(7, 60, 3), Rate(1, 60, 1)):
            key = repr(rate)
            for _ in range(300):
                t += rng.choice([0, 0.001, 0.1, 0.5, 2, 7.3, 20])
                cost = rng.choice([0, 1, 1, 1, 2, 3])
                [a] = await redis.hitMany([Hit(key, rate, cost)], t)
                [b] = memory.hitManyNow([Hit(key, rate, cost)], t)
                self.assertEqual(a, b, (rate, t, cost))

    @run
    async def test_atomicAcrossRules(self) -> None:
        srv = await self.server()
        clock = Clock()
        clock.advance(1_760_000_000)
        guardrails = [
            Guardrail(name="per", type="rate_limit", rate_rules=(RateRule(2, per_client=True),)),
            Guardrail(name="all", type="rate_limit", rate_rules=(RateRule(3),)),
        ]
        rl = RateLimits.fromConfig(guardrails, RedisStore(self.state(srv)), clock)
        alice = Subject("alice", "10.0.0.1", "h")
        bob = Subject("bob", "10.0.0.2", "h")
        self.assertTrue((await rl.check(alice)).allowed)
        self.assertTrue((await rl.check(alice)).allowed)
        v = await rl.check(alice)
        self.assertEqual((v.allowed, v.guardrail, v.retry_after), (False, "per", 60))
        self.assertTrue((await rl.check(bob)).allowed)
        v = await rl.check(bob, [None, None])  # a batch of two: both refuse
        self.assertEqual((v.allowed, v.retry_after), (False, 60))
        v = await rl.check(bob)
        self.assertEqual((v.allowed, v.guardrail), (False, "all"))
        # bob's refused requests consumed nothing: one slot left for him per client
        self.assertEqual(
            int(await rl.store.state.call(lambda c: c.execute_command("ZCARD", rl.store.state.key("rl", "per|0|client=bob")))), 1
        )

    @run
    async def test_evalshaWithNoScriptFallback(self) -> None:
        """
        The script goes by its digest (EVALSHA); after SCRIPT FLUSH (a
        restarted Redis, a failover) the NOSCRIPT answer makes the state send
        it whole once (EVAL), and the digest works again after that.
        """
        srv = await self.server()
        state = self.state(srv)
        lim = Limiter(Rate(100), RedisStore(state), Clock())

        async def counts() -> dict[str, int]:
            info = await state.call(lambda c: c.execute_command("INFO", "commandstats"))
            out = {}
            for line in str(info).splitlines():
                if line.startswith("cmdstat_"):
                    name, _, rest = line[len("cmdstat_"):].partition(":")
                    out[name] = int(rest.split("calls=")[1].split(",")[0])
            return out

        await state.call(lambda c: c.execute_command("CONFIG", "RESETSTAT"))
        for i in range(3):
            self.assertTrue((await lim.hit("k", now=1_760_000_000 + i)).allowed)
        c1 = await counts()
        # first call: NOSCRIPT, then EVAL; the next two: EVALSHA only
        self.assertEqual((c1.get("evalsha"), c1.get("eval")), (3, 1))
        self.assertEqual(state.scriptLoads, 1)
        await state.call(lambda c: c.execute_command("SCRIPT", "FLUSH"))
        for i in range(3):
            self.assertTrue((await lim.hit("k", now=1_760_000_010 + i)).allowed)
        c2 = await counts()
        self.assertEqual((c2.get("evalsha"), c2.get("eval")), (6, 2))
        self.assertEqual(state.scriptLoads, 2)
        # the counts held across the flush: 6 of 100 used
        self.assertEqual((await lim.hit("k", now=1_760_000_020)).remaining, 93)

    @run
    async def test_keysExpire(self) -> None:
        srv = await self.server()
        state = self.state(srv)
        await Limiter(Rate(3), RedisStore(state), Clock()).hit("k", now=1_760_000_000)
        ttl = await state.call(lambda c: c.execute_command("PTTL", state.key("rl", "k")))
        self.assertTrue(0 < int(ttl) <= 60_001, ttl)


class OnErrorTests(RedisTestCase):
    def events(self) -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        globalLogPublisher.addObserver(seen.append)
        self.addCleanup(globalLogPublisher.removeObserver, seen.append)
        return seen

    async def outage(self, onError: str) -> tuple[RedisServer, RedisState, Limiter, Clock]:
        srv = await self.server()
        state = self.state(srv, onError)
        clock = Clock()
        clock.advance(1_760_000_000)
        lim = Limiter(Rate(2), RedisStore(state), clock)
        self.assertTrue((await lim.hit("k")).allowed)
        self.assertTrue(state.healthy)
        await srv.kill()
        await whenDown(state)
        return srv, state, lim, clock

    @run
    async def test_open(self) -> None:
        events = self.events()
        srv, state, lim, clock = await self.outage("open")
        for _ in range(5):
            r = await lim.hit("k")
            self.assertEqual((r.allowed, r.degraded), (True, True))
        self.assertEqual(state.health()["connected"], False)
        await srv.start()
        await whenUp(state)
        r = await lim.hit("k")
        self.assertEqual((r.allowed, r.degraded), (True, False))
        # the restarted (empty) Redis enforces again
        await lim.hit("k")
        self.assertFalse((await lim.hit("k")).allowed)
        warnings = [e for e in events if "redis unavailable" in e.get("log_format", "")]
        recovered = [e for e in events if "redis reconnected" in e.get("log_format", "")]
        self.assertEqual(len(warnings), 1)
        self.assertEqual(len(recovered), 1)

    @run
    async def test_closed(self) -> None:
        srv, state, lim, clock = await self.outage("closed")
        r = await lim.hit("k")
        self.assertEqual(r, Result(False, 1, 0, 2, degraded=True))
        await srv.start()
        await whenUp(state)
        r = await lim.hit("k")
        self.assertEqual((r.allowed, r.degraded), (True, False))

    @run
    async def test_neverReachable(self) -> None:
        url = f"redis://127.0.0.1:{freePort()}"
        state = RedisState(RedisConfig(url=url, on_error="closed"), reactor, initialRetryDelay=0.05, maxRetryDelay=0.2)
        self.addCleanup(state.stop)
        with self.assertRaises(RedisUnavailable):
            await state.eval("return 1", [], [])
        r = await Limiter(Rate(1), RedisStore(state), Clock()).hit("k")
        self.assertEqual((r.allowed, r.degraded), (False, True))
        self.assertEqual(state.health()["state"], "down")

    @run
    async def test_hungRedisTimesOut(self) -> None:
        from twisted.internet.protocol import Factory, Protocol

        port = reactor.listenTCP(0, Factory.forProtocol(Protocol), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        url = f"redis://127.0.0.1:{port.getHost().port}"
        state = RedisState(RedisConfig(url=url, on_error="open"), reactor, commandTimeout=0.2,
                           initialRetryDelay=0.05, maxRetryDelay=0.2)
        self.addCleanup(state.stop)
        started = reactor.seconds()
        r = await Limiter(Rate(1), RedisStore(state), Clock()).hit("k")
        self.assertEqual((r.allowed, r.degraded), (True, True))
        self.assertLess(reactor.seconds() - started, 2)

    @run
    async def test_lazyConnect(self) -> None:
        srv = await self.server()
        state = self.state(srv)
        self.assertEqual(state.state, "idle")
        self.assertEqual(await state.eval("return 41 + 1", [], []), 42)
        self.assertTrue(state.healthy)


class RedisSessionTests(RedisTestCase):
    def sessions(self, state: RedisState, clock: Clock, timeout: float = 100.0) -> RedisSessions:
        return RedisSessions(state, SessionTable(clock, timeout))

    @run
    async def test_sharedBindings(self) -> None:
        srv = await self.server()
        clock = Clock()
        clock.advance(1_760_000_000)
        a = self.sessions(self.state(srv), clock)
        b = self.sessions(self.state(srv), clock)
        self.assertTrue(await a.bind("s1", "alice", "u"))
        self.assertEqual(await b.check("s1", "alice", "u"), "ok")
        self.assertEqual(await b.check("s1", "mallory", "u"), "foreign")
        self.assertEqual(await b.check("s1", "alice", "v"), "foreign")
        self.assertFalse(await b.bind("s1", "mallory", "u"))
        self.assertEqual(await a.check("nope", "alice", "u"), "unknown")
        clock.advance(99.999)
        self.assertEqual(await a.check("s1", "alice", "u"), "ok")  # touched via Redis
        clock.advance(99.999)
        self.assertEqual(await b.check("s1", "alice", "u"), "ok")
        clock.advance(100)
        self.assertEqual(await a.check("s1", "alice", "u"), "expired")
        self.assertEqual(await b.check("s1", "alice", "u"), "unknown")
        await a.bind("s2", "alice", "u")
        await b.forget("s2")
        self.assertEqual(await a.check("s2", "alice", "u"), "unknown")

    @run
    async def test_sharedRoute(self) -> None:
        # the fallback upstream of a session, seen by another instance
        srv = await self.server()
        clock = Clock()
        a = self.sessions(self.state(srv), clock)
        b = self.sessions(self.state(srv), clock)
        self.assertTrue(await a.bind("s1", "alice", "u", "http://alt/mcp"))
        self.assertTrue(await a.bind("s2", "alice", "u"))
        self.assertEqual(await b.route("s1"), "http://alt/mcp")
        self.assertIsNone(await b.route("s2"))
        self.assertIsNone(await b.route("nope"))
        await srv.kill()
        await whenDown(a.state)
        self.assertEqual(await a.route("s1"), "http://alt/mcp")  # this process's own
        self.assertIsNone(await b.route("s1"))

    @run
    async def test_outageFallsBackToLocal(self) -> None:
        srv = await self.server()
        clock = Clock()
        openS = self.sessions(self.state(srv, "open"), clock)
        closedS = self.sessions(self.state(srv, "closed"), clock)
        await openS.bind("mine", "alice", "u")
        await closedS.bind("mine", "alice", "u")
        await srv.kill()
        await whenDown(openS.state)
        await whenDown(closedS.state)
        for s in (openS, closedS):
            self.assertEqual(await s.check("mine", "alice", "u"), "ok")
            self.assertEqual(await s.check("mine", "mallory", "u"), "foreign")
        self.assertEqual(await openS.check("theirs", "bob", "u"), "ok")
        self.assertEqual(await closedS.check("theirs", "bob", "u"), "unknown")
        self.assertTrue(await openS.bind("new", "alice", "u"))
        await srv.start()
        await whenUp(openS.state)
        # Redis restarted empty: what this process bound before is unknown there
        self.assertEqual(await openS.check("theirs", "bob", "u"), "unknown")
