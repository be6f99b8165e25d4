"""
Session bindings on a fake clock.
"""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.access.sessions import LocalSessions, SessionTable


class SessionTableTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.table = SessionTable(self.clock, timeout=1800.0, maxSessions=1000)

    def test_bindAndCheck(self) -> None:
        self.assertTrue(self.table.bind("s1", "alice", "https://up/mcp"))
        self.assertEqual(self.table.check("s1", "alice", "https://up/mcp"), "ok")
        self.assertEqual(self.table.check("s2", "alice", "https://up/mcp"), "unknown")

    def test_foreignKey(self) -> None:
        self.table.bind("s1", "alice", "u")
        self.assertEqual(self.table.check("s1", "mallory", "u"), "foreign")
        self.assertEqual(self.table.check("s1", "alice", "other"), "foreign")
        # a foreign attempt neither touches nor drops the session
        self.assertEqual(self.table.check("s1", "alice", "u"), "ok")
        self.assertEqual(self.table.stats.foreign, 2)

    def test_rebindByOtherKeyRefused(self) -> None:
        self.table.bind("s1", "alice", "u")
        self.assertFalse(self.table.bind("s1", "mallory", "u"))
        self.assertEqual(self.table.owner("s1"), ("alice", "u"))
        self.assertTrue(self.table.bind("s1", "alice", "u"))

    def test_rebindAfterExpiry(self) -> None:
        self.table.bind("s1", "alice", "u")
        self.clock.advance(1800)
        self.assertTrue(self.table.bind("s1", "bob", "u"))
        self.assertEqual(self.table.check("s1", "bob", "u"), "ok")

    def test_expiryExactlyAtTimeout(self) -> None:
        self.table.bind("s1", "alice", "u")
        self.table.bind("s2", "alice", "u")
        self.clock.advance(1799.999)
        self.assertEqual(self.table.check("s1", "alice", "u"), "ok")
        self.clock.advance(0.001)
        # s2 idle for exactly the timeout: expired
        self.assertEqual(self.table.check("s2", "alice", "u"), "expired")
        self.assertEqual(self.table.check("s2", "alice", "u"), "unknown")
        # s1 was touched at 1799.999
        self.clock.advance(1799.998)
        self.assertEqual(self.table.check("s1", "alice", "u"), "ok")
        self.clock.advance(1800)
        self.assertEqual(self.table.check("s1", "alice", "u"), "expired")

    def test_foreignCheckOfExpiredSessionSaysExpired(self) -> None:
        self.table.bind("s1", "alice", "u")
        self.clock.advance(1800)
        self.assertEqual(self.table.check("s1", "mallory", "u"), "expired")

    def test_forget(self) -> None:
        self.table.bind("s1", "alice", "u")
        self.assertTrue(self.table.forget("s1"))
        self.assertFalse(self.table.forget("s1"))
        self.assertEqual(self.table.check("s1", "alice", "u"), "unknown")

    def test_forgetKey(self) -> None:
        self.table.bind("a1", "alice", "u")
        self.table.bind("b1", "bob", "u")
        self.table.bind("a2", "alice", "v")
        self.assertEqual(sorted(self.table.forgetKey("alice")), ["a1", "a2"])
        self.assertEqual(len(self.table), 1)

    def test_sweepLoop(self) -> None:
        table = SessionTable(self.clock, timeout=100.0, sweepInterval=10.0)
        table.start()
        self.addCleanup(table.stop)
        table.bind("s1", "alice", "u")
        self.clock.advance(50)
        table.bind("s2", "alice", "u")
        self.clock.advance(50)  # sweep at t=100 drops s1 (idle 100 s)
        self.assertNotIn("s1", table)
        self.assertIn("s2", table)
        self.clock.advance(50)
        self.assertEqual(len(table), 0)
        self.assertEqual(table.stats.expired, 2)
        table.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_sweepCostStopsAtFirstLive(self) -> None:
        for i in range(10):
            self.table.bind(f"s{i}", "k", "u")
            self.clock.advance(1)
        self.table.check("s0", "k", "u")  # s0 becomes most recent
        self.clock.advance(1800 - 5)
        # bound at t=1..9 (s1..s9) idle 1800-5+10-i ... expired: s1..s5
        self.assertEqual(self.table.sweep(), 5)
        self.assertEqual(len(self.table), 5)

    def test_boundedUnderFlood(self) -> None:
        table = SessionTable(self.clock, timeout=1800.0, maxSessions=1000)
        table.bind("victim", "alice", "u")
        for i in range(100_000):
            table.bind(f"flood-{i}", "mallory", "u")
            if i % 10 == 0:
                self.clock.advance(0.001)
        self.assertEqual(len(table), 1000)
        self.assertEqual(table.stats.evicted, 100_000 + 1 - 1000)
        self.assertEqual(table.check("victim", "alice", "u"), "unknown")
        self.assertEqual(table.check("flood-99999", "mallory", "u"), "ok")

    def test_lruKeepsActiveSession(self) -> None:
        table = SessionTable(self.clock, timeout=1800.0, maxSessions=3)
        for s in ("a", "b", "c"):
            table.bind(s, "k", "u")
        table.check("a", "k", "u")
        table.bind("d", "k", "u")
        self.assertIn("a", table)
        self.assertNotIn("b", table)
        self.assertEqual(table.stats.evicted, 1)

    def test_fullTableDropsExpiredFirstWithoutCountingEviction(self) -> None:
        table = SessionTable(self.clock, timeout=10.0, maxSessions=2)
        table.bind("a", "k", "u")
        self.clock.advance(10)
        table.bind("b", "k", "u")
        table.bind("c", "k", "u")
        self.assertEqual(table.stats.evicted, 0)
        self.assertEqual(table.stats.expired, 1)

    def test_setTimeout(self) -> None:
        self.table.bind("s", "k", "u")
        self.clock.advance(60)
        self.table.setTimeout(60)
        self.assertEqual(self.table.check("s", "k", "u"), "expired")

    def test_route(self) -> None:
        # the fallback upstream that issued a session: kept with it, gone with it
        self.table.bind("s", "k", "https://up", "https://alt/mcp")
        self.table.bind("t", "k", "https://up")
        self.assertEqual(self.table.route("s"), "https://alt/mcp")
        self.assertIsNone(self.table.route("t"))
        self.assertIsNone(self.table.route("nope"))
        store = LocalSessions(self.table)
        self.assertEqual(self.successResultOf(store.route("s")), "https://alt/mcp")
        self.clock.advance(1800)
        self.assertIsNone(self.table.route("s"))

    def test_local(self) -> None:
        store = LocalSessions(self.table)
        self.assertTrue(self.successResultOf(store.bind("s", "k", "u")))
        self.assertEqual(self.successResultOf(store.check("s", "x", "u")), "foreign")
        self.assertIsNone(self.successResultOf(store.forget("s")))
        self.assertEqual(self.successResultOf(store.check("s", "k", "u")), "unknown")
