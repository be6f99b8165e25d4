"""
Rate limits on a fake clock: rolling-window exactness, Retry-After, batch
cost, burst, scopes, atomicity across rules.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from hypothesis import given, settings, strategies as st
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.access.ratelimit import (
    Hit,
    Limiter,
    MemoryStore,
    Rate,
    RateLimits,
    RateVerdict,
    Result,
    Subject,
)
from akto_proxy.config.model import Guardrail, RateRule


class LimiterTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.store = MemoryStore()

    def limiter(self, n: int, burst: int = 0) -> Limiter:
        return Limiter(Rate(n, 60.0, burst), self.store, self.clock)

    def hit(self, lim: Limiter, key: str = "k", cost: int = 1, now: Optional[float] = None) -> Result:
        return self.successResultOf(lim.hit(key, cost, now))

    def test_boundaryExactness(self) -> None:
        lim = self.limiter(3)
        for _ in range(3):
            self.assertTrue(self.hit(lim).allowed)
        r = self.hit(lim)
        self.assertEqual(r, Result(False, 60, 0, 3))
        self.clock.advance(59.999)
        r = self.hit(lim)
        self.assertFalse(r.allowed)
        self.assertEqual(r.retry_after, 1)  # 0.001 s, rounded up
        self.clock.advance(0.001)
        self.assertEqual(self.clock.seconds(), 60.0)
        self.assertTrue(self.hit(lim).allowed)
        self.assertTrue(self.hit(lim).allowed)
        self.assertTrue(self.hit(lim).allowed)
        self.assertFalse(self.hit(lim).allowed)

    def test_boundaryWithRealisticEpoch(self) -> None:
        lim = self.limiter(1)
        t0 = 1_760_000_000.123456
        self.assertTrue(self.hit(lim, now=t0).allowed)
        self.assertFalse(self.hit(lim, now=t0 + 59.999).allowed)
        self.assertTrue(self.hit(lim, now=t0 + 60.0).allowed)

    def test_rollingNotFixedBuckets(self) -> None:
        # 5 at t=50, then at t=70 (a new "minute" for fixed buckets) only
        # nothing more until t=110
        lim = self.limiter(5)
        self.clock.advance(50)
        for _ in range(5):
            self.assertTrue(self.hit(lim).allowed)
        self.clock.advance(20)
        r = self.hit(lim)
        self.assertFalse(r.allowed)
        self.assertEqual(r.retry_after, 40)
        self.clock.advance(40)
        self.assertTrue(self.hit(lim).allowed)

    def test_retryAfterIsUntilNextSlot(self) -> None:
        lim = self.limiter(3)
        self.hit(lim)  # t=0
        self.clock.advance(10.5)
        self.hit(lim)  # t=10.5
        self.clock.advance(10)
        self.hit(lim)  # t=20.5
        self.clock.advance(4.5)  # t=25
        self.assertEqual(self.hit(lim).retry_after, 35)  # slot at 60
        self.clock.advance(35)
        self.assertTrue(self.hit(lim).allowed)  # t=60
        r = self.hit(lim)
        self.assertEqual(r.retry_after, 11)  # 70.5 - 60 = 10.5 -> 11
        # cost 2 needs two slots: 70.5 and 80.5
        r = self.hit(lim, cost=2)
        self.assertEqual(r.retry_after, 21)

    def test_retryAfterWholeSeconds(self) -> None:
        lim = self.limiter(1)
        self.hit(lim)
        self.clock.advance(30)
        self.assertEqual(self.hit(lim).retry_after, 30)
        self.clock.advance(0.000001)
        self.assertEqual(self.hit(lim).retry_after, 30)
        self.clock.advance(0.999999)
        self.assertEqual(self.hit(lim).retry_after, 29)

    def test_refusedNotCounted(self) -> None:
        lim = self.limiter(2)
        self.hit(lim)
        self.hit(lim)
        for _ in range(100):
            self.assertFalse(self.hit(lim).allowed)
        self.clock.advance(60)
        self.assertTrue(self.hit(lim).allowed)
        self.assertTrue(self.hit(lim).allowed)

    def test_batchCost(self) -> None:
        lim = self.limiter(10)
        r = self.hit(lim, cost=7)
        self.assertEqual((r.allowed, r.remaining), (True, 3))
        r = self.hit(lim, cost=4)
        self.assertFalse(r.allowed)
        self.assertEqual(r.remaining, 3)
        self.assertEqual(r.retry_after, 60)
        r = self.hit(lim, cost=3)
        self.assertEqual((r.allowed, r.remaining), (True, 0))

    def test_costLargerThanLimitNeverAllowed(self) -> None:
        lim = self.limiter(3)
        r = self.hit(lim, cost=4)
        self.assertEqual(r, Result(False, 60, 3, 3))
        self.assertTrue(self.hit(lim, cost=3).allowed)

    def test_costZero(self) -> None:
        lim = self.limiter(1)
        self.assertTrue(self.hit(lim, cost=0).allowed)
        self.assertTrue(self.hit(lim).allowed)
        self.assertTrue(self.hit(lim, cost=0).allowed)

    def test_remaining(self) -> None:
        lim = self.limiter(3)
        self.assertEqual([self.hit(lim).remaining for _ in range(4)], [2, 1, 0, 0])

    def test_keysIndependent(self) -> None:
        lim = self.limiter(1)
        self.assertTrue(self.hit(lim, "a").allowed)
        self.assertTrue(self.hit(lim, "b").allowed)
        self.assertFalse(self.hit(lim, "a").allowed)

    def test_memoryBoundedPerKey(self) -> None:
        lim = self.limiter(100)
        for i in range(10_000):
            self.hit(lim)
            self.clock.advance(0.01)
        lg = self.store._logs["k"]
        self.assertLessEqual(len(lg.entries), 100)
        self.assertLessEqual(lg.total, 100)

    def test_memoryBoundedKeys(self) -> None:
        store = MemoryStore(maxKeys=100)
        lim = Limiter(Rate(5), store, self.clock)
        for i in range(10_000):
            self.successResultOf(lim.hit(f"ip-{i}"))
        self.assertEqual(len(store), 100)
        self.assertEqual(store.stats.evicted, 10_000 - 100)

    def test_idleKeysDroppedFirst(self) -> None:
        store = MemoryStore(maxKeys=100)
        lim = Limiter(Rate(5), store, self.clock)
        for i in range(50):
            self.successResultOf(lim.hit(f"old-{i}"))
        self.clock.advance(60)
        for i in range(1000):
            self.successResultOf(lim.hit(f"new-{i}"))
        # the 50 idle keys went without counting as evictions
        self.assertEqual(store.stats.evicted, 1000 - 100)
        self.clock.advance(60)
        self.assertEqual(store.sweep(self.clock.seconds()), 100)
        self.assertEqual(len(store), 0)

    def test_burst(self) -> None:
        # 60/min, burst 10: 10 at once, then one per second
        lim = self.limiter(60, burst=10)
        results = [self.hit(lim) for _ in range(11)]
        self.assertTrue(all(r.allowed for r in results[:10]))
        self.assertFalse(results[10].allowed)
        self.assertEqual(results[10].retry_after, 1)
        self.assertEqual(results[9].remaining, 0)
        self.clock.advance(1)
        self.assertTrue(self.hit(lim).allowed)
        self.assertFalse(self.hit(lim).allowed)
        self.clock.advance(0.5)
        r = self.hit(lim)
        self.assertFalse(r.allowed)
        self.assertEqual(r.retry_after, 1)

    def test_burstNeverExceedsWindow(self) -> None:
        lim = self.limiter(10, burst=10)
        accepted = []
        for i in range(1800):  # ten requests a second for three minutes
            if self.hit(lim).allowed:
                accepted.append(i)
            self.clock.advance(0.1)
        # tokens alone would allow 10 + 1 every 6 s; the window caps at 10
        for i in accepted:
            self.assertLessEqual(sum(1 for j in accepted if i <= j < i + 600), 10)
        self.assertEqual(len(accepted), 30)

    def test_burstCostAboveBurst(self) -> None:
        lim = self.limiter(60, burst=5)
        r = self.hit(lim, cost=6)
        self.assertFalse(r.allowed)
        self.assertEqual(r.retry_after, 60)

    @settings(max_examples=60)
    @given(
        st.integers(1, 6),
        st.lists(st.tuples(st.integers(0, 30_000), st.integers(0, 3)), min_size=1, max_size=60),
    )
    def test_neverMoreThanNInAnyWindow(self, n: int, steps: list[tuple[int, int]]) -> None:
        clock = Clock()
        lim = Limiter(Rate(n), MemoryStore(), clock)
        accepted: list[float] = []
        for gapMs, cost in steps:
            clock.advance(gapMs / 1000)
            r = self.successResultOf(lim.hit("k", cost))
            now = clock.seconds()
            inWindow = sum(1 for t in accepted if t > now - 60 + 1e-9)
            self.assertEqual(r.allowed, inWindow + cost <= n)
            if r.allowed:
                accepted.extend([now] * cost)
            else:
                # retry_after is exact (rounded up to whole seconds)
                later = now + r.retry_after
                future = sum(1 for t in accepted if t > later - 60 + 1e-9)
                if cost <= n:
                    self.assertLessEqual(future + cost, n)
                    earlier = now + r.retry_after - 1
                    past = sum(1 for t in accepted if t > earlier - 60 + 1e-9)
                    self.assertGreater(past + cost, n)

    def test_hitManyAllOrNothing(self) -> None:
        a, b = Rate(1), Rate(5)
        self.assertEqual(
            [r.allowed for r in self.store.hitManyNow([Hit("a", a), Hit("b", b)], 0)], [True, True]
        )
        rs = self.store.hitManyNow([Hit("a", a), Hit("b", b)], 1)
        self.assertEqual([r.allowed for r in rs], [False, True])
        # b was not counted by the refused message
        self.assertEqual(self.store.hitManyNow([Hit("b", b, 4)], 2)[0].allowed, True)
        self.assertRaises(ValueError, self.store.hitManyNow, [Hit("a", a), Hit("a", a)], 3)


def guardrail(name: str, *rules: RateRule, upstreams: Sequence[str] = ("*",), mode: Optional[str] = None) -> Guardrail:
    return Guardrail(name=name, type="rate_limit", rate_rules=rules, upstreams=tuple(upstreams), mode=mode)


class _Rule(RateRule):
    """
    RateRule with the proposed extra keys (until the model has them).
    """

    def __init__(self, *a: Any, per: tuple[str, ...] = (), tools: tuple[str, ...] = (), **kw: Any):
        super().__init__(*a, **kw)
        object.__setattr__(self, "per", per)
        object.__setattr__(self, "tools", tools)


ALICE = Subject("alice", "10.0.0.1", "api.example.com")
BOB = Subject("bob", "10.0.0.2", "api.example.com")


class RateLimitsTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.store = MemoryStore()

    def limits(self, *guardrails: Guardrail, defaultMode: str = "enforce") -> RateLimits:
        return RateLimits.fromConfig(guardrails, self.store, self.clock, defaultMode)

    def check(self, rl: RateLimits, subject: Subject = ALICE, calls: Sequence[Optional[str]] = (None,)) -> RateVerdict:
        return self.successResultOf(rl.check(subject, calls))

    def test_global(self) -> None:
        rl = self.limits(guardrail("g", RateRule(3)))
        self.assertTrue(self.check(rl, ALICE).allowed)
        self.assertTrue(self.check(rl, BOB).allowed)
        self.assertTrue(self.check(rl, ALICE).allowed)
        v = self.check(rl, BOB)
        self.assertEqual(v, RateVerdict(False, 60, "g", (), (), 0, 3, False))

    def test_perClient(self) -> None:
        rl = self.limits(guardrail("g", RateRule(2, per_client=True)))
        for s in (ALICE, ALICE, BOB, BOB):
            self.assertTrue(self.check(rl, s).allowed)
        self.assertFalse(self.check(rl, ALICE).allowed)
        self.assertFalse(self.check(rl, BOB).allowed)
        v = self.check(rl, Subject("carol", None, "api.example.com"))
        self.assertEqual((v.allowed, v.applied, v.remaining, v.limit), (True, ("g",), 1, 2))

    def test_perClientAndGlobalTogether(self) -> None:
        rl = self.limits(guardrail("per", RateRule(2, per_client=True)), guardrail("all", RateRule(3)))
        self.assertEqual(self.check(rl, ALICE).applied, ("per", "all"))
        self.assertTrue(self.check(rl, ALICE).allowed)
        v = self.check(rl, ALICE)
        self.assertEqual((v.allowed, v.guardrail), (False, "per"))
        # alice's refused request consumed nothing of "all"
        self.assertTrue(self.check(rl, BOB).allowed)
        v = self.check(rl, BOB)
        self.assertEqual((v.allowed, v.guardrail), (False, "all"))

    def test_longestWaitReported(self) -> None:
        rl = self.limits(guardrail("a", RateRule(1)), guardrail("b", RateRule(1)))
        self.check(rl)
        self.clock.advance(10)
        rl2 = self.limits(guardrail("a", RateRule(1)), guardrail("c", RateRule(1)))
        self.check(rl2, BOB, ())  # nothing counted
        self.check(self.limits(guardrail("c", RateRule(1))))  # c at t=10
        v = self.check(rl2)
        self.assertEqual((v.allowed, v.guardrail, v.retry_after), (False, "c", 60))

    def test_batchCountsEachEntry(self) -> None:
        rl = self.limits(guardrail("g", RateRule(5)))
        self.assertTrue(self.check(rl, calls=["a", "b", None]).allowed)
        self.assertFalse(self.check(rl, calls=[None, None, None]).allowed)
        self.assertTrue(self.check(rl, calls=[None, None]).allowed)

    def test_notificationsCountNothing(self) -> None:
        rl = self.limits(guardrail("g", RateRule(1)))
        for _ in range(5):
            v = self.check(rl, calls=())
            self.assertEqual(v, RateVerdict(True))
        self.assertTrue(self.check(rl).allowed)

    def test_upstreamGlobs(self) -> None:
        rl = self.limits(guardrail("g", RateRule(1), upstreams=["*.internal"]))
        self.assertTrue(self.check(rl).allowed)
        self.assertTrue(self.check(rl).allowed)
        db = Subject("alice", None, "db.internal")
        self.assertTrue(self.check(rl, db).allowed)
        self.assertFalse(self.check(rl, db).allowed)

    def test_ignoresOtherGuardrails(self) -> None:
        rl = RateLimits.fromConfig(
            [Guardrail(name="c", type="content_filter")], self.store, self.clock
        )
        self.assertEqual(rl.rules, ())

    def test_monitorMode(self) -> None:
        rl = self.limits(guardrail("m", RateRule(1), mode="monitor"), guardrail("e", RateRule(10)))
        self.assertTrue(self.check(rl).allowed)
        v = self.check(rl)
        self.assertEqual((v.allowed, v.monitored, v.applied), (True, ("m",), ("m", "e")))
        rl = self.limits(guardrail("d", RateRule(1)), defaultMode="monitor")
        self.check(rl)
        self.assertEqual(self.check(rl).monitored, ("d",))

    def test_perIP(self) -> None:
        rl = self.limits(guardrail("g", _Rule(1, per=("ip",))))
        self.assertTrue(self.check(rl, ALICE).allowed)
        self.assertTrue(self.check(rl, BOB).allowed)
        self.assertFalse(self.check(rl, Subject("bob", "10.0.0.1", "api.example.com")).allowed)

    def test_perUpstream(self) -> None:
        rl = self.limits(guardrail("g", _Rule(1, per=("upstream",))))
        self.assertTrue(self.check(rl, Subject("a", None, "x.example", "https://x.example/a")).allowed)
        self.assertTrue(self.check(rl, Subject("a", None, "x.example", "https://x.example/b")).allowed)
        self.assertTrue(self.check(rl, Subject("a", None, "y.example")).allowed)
        self.assertFalse(self.check(rl, Subject("b", None, "y.example")).allowed)

    def test_perTool(self) -> None:
        rl = self.limits(guardrail("g", _Rule(2, per=("client", "tool"))))
        self.assertTrue(self.check(rl, calls=["search", "search"]).allowed)
        self.assertFalse(self.check(rl, calls=["search"]).allowed)
        self.assertTrue(self.check(rl, calls=["fetch", None, None]).allowed)  # non-tool entries not counted
        self.assertTrue(self.check(rl, BOB, calls=["search"]).allowed)
        # a batch across tools: each tool's own count, all or nothing
        v = self.check(rl, calls=["fetch", "other"])
        self.assertTrue(v.allowed)
        v = self.check(rl, calls=["other", "fetch"])
        self.assertFalse(v.allowed)
        self.assertTrue(self.check(rl, calls=["other"]).allowed)

    def test_toolsFilter(self) -> None:
        rl = self.limits(guardrail("g", _Rule(1, tools=("delete_*",))))
        self.assertEqual(self.check(rl, calls=[None, "search"]), RateVerdict(True))
        self.assertTrue(self.check(rl, calls=["delete_a"]).allowed)
        self.assertFalse(self.check(rl, calls=["delete_b"]).allowed)

    def test_scopeValuesCannotCollide(self) -> None:
        rl = self.limits(guardrail("g", _Rule(1, per=("client", "ip"))))
        self.assertTrue(self.check(rl, Subject("a|ip=b", "c", "h")).allowed)
        self.assertTrue(self.check(rl, Subject("a", "b|ip=c", "h")).allowed)

    def test_countersSurviveReload(self) -> None:
        self.check(self.limits(guardrail("g", RateRule(1))))
        self.assertFalse(self.check(self.limits(guardrail("g", RateRule(1)))).allowed)
        self.assertTrue(self.check(self.limits(guardrail("g", RateRule(2)))).allowed)
