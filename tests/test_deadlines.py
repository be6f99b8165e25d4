"""
The streams' shared deadline timer (akto_proxy.relay.deadlines).
"""

from __future__ import annotations

from typing import Optional

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.relay.deadlines import Deadlines


class Sleeper:
    """
    A deadline every C{period} seconds (None: one only), recording when it
    ran.
    """

    def __init__(self, wheel: Deadlines, first: float, period: Optional[float] = None, fail: bool = False):
        self.wheel = wheel
        self.wakeAt: Optional[float] = None
        self.deadline: Optional[float] = first
        self.period = period
        self.fail = fail
        self.ran: list[float] = []
        wheel.wake(self, first)

    def moveTo(self, at: float) -> None:
        self.deadline = at
        self.wheel.wake(self, at)

    def due(self, now: float) -> Optional[float]:
        if self.deadline is None or self.deadline > now:
            return self.deadline
        self.ran.append(now)
        if self.fail:
            raise RuntimeError("boom")
        self.deadline = now + self.period if self.period else None
        return self.deadline


class DeadlinesTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.clock = Clock()
        self.wheel = Deadlines(self.clock)

    def test_fires_at_deadline_exactly(self) -> None:
        s = Sleeper(self.wheel, 15.0, period=15.0)
        self.clock.advance(14.9)
        self.assertEqual(s.ran, [])
        self.clock.advance(0.1)
        self.assertEqual(s.ran, [15.0])
        self.clock.advance(15)
        self.assertEqual(s.ran, [15.0, 30.0])
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)  # one timer, however many sleepers

    def test_later_deadline_keeps_its_entry(self) -> None:
        s = Sleeper(self.wheel, 10.0)
        self.clock.advance(5)
        s.moveTo(20.0)
        self.clock.advance(5)  # the old entry comes up: nothing due yet
        self.assertEqual(s.ran, [])
        self.clock.advance(9.9)
        self.assertEqual(s.ran, [])
        self.clock.advance(0.1)
        self.assertEqual(s.ran, [20.0])

    def test_earlier_deadline_supersedes(self) -> None:
        s = Sleeper(self.wheel, 60.0)
        other = Sleeper(self.wheel, 100.0)
        s.moveTo(5.0)  # a reload shortened the timeout
        self.clock.advance(5)
        self.assertEqual(s.ran, [5.0])
        self.clock.advance(60)  # the superseded entry runs nothing
        self.assertEqual(s.ran, [5.0])
        self.clock.advance(35)
        self.assertEqual(other.ran, [100.0])

    def test_many_sleepers_in_order(self) -> None:
        sleepers = [Sleeper(self.wheel, float(t)) for t in (3, 1, 2, 2)]
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.clock.advance(1)
        self.assertEqual([s.ran for s in sleepers], [[], [1.0], [], []])
        self.clock.advance(1)
        self.assertEqual([s.ran for s in sleepers], [[], [1.0], [2.0], [2.0]])
        self.clock.advance(1)
        self.assertEqual(sleepers[0].ran, [3.0])
        self.assertEqual(self.clock.getDelayedCalls(), [])  # nothing left to wait for

    def test_forget_last_cancels_timer(self) -> None:
        a = Sleeper(self.wheel, 10.0, period=10.0)
        b = Sleeper(self.wheel, 20.0, period=10.0)
        self.wheel.forget(a)
        self.assertEqual(len(self.clock.getDelayedCalls()), 1)
        self.clock.advance(20)
        self.assertEqual((a.ran, b.ran), ([], [20.0]))
        self.wheel.forget(b)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertEqual(self.wheel.live, 0)

    def test_failing_sleeper_spares_others(self) -> None:
        bad = Sleeper(self.wheel, 1.0, fail=True)
        good = Sleeper(self.wheel, 1.0, period=1.0)
        self.clock.advance(1)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertEqual((bad.ran, good.ran), ([1.0], [1.0]))
        self.clock.advance(1)
        self.assertEqual((bad.ran, good.ran), ([1.0], [1.0, 2.0]))
