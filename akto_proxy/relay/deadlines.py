"""
One timer for the deadlines of every held stream: a stream stores its own
deadlines as floats and L{Deadlines} wakes it when the earliest is due,
instead of each stream holding a C{DelayedCall} (and rescheduling it on
every chunk) of its own.
"""

from __future__ import annotations

import heapq
from itertools import count
from typing import Any, Optional, Protocol

from twisted.internet.interfaces import IDelayedCall
from twisted.logger import Logger

log = Logger()


class Sleeper(Protocol):
    """
    What L{Deadlines} wakes.

    @ivar wakeAt: the time of this sleeper's entry in the wheel (None: not
        in it); only L{Deadlines} sets it.
    """

    wakeAt: Optional[float]

    def due(self, now: float) -> Optional[float]:
        """
        Run what is due at C{now}; return the next deadline, or None.
        """


class Deadlines:
    """
    A heap of (time, sleeper) and one C{DelayedCall} for its earliest entry.

    A sleeper whose deadline moves later keeps its entry: when the entry
    comes due, L{Sleeper.due} runs nothing yet and returns the later
    deadline, which goes back in.  Only a deadline earlier than the entry
    (a reload shortened a timeout) adds one; the superseded entry is dropped
    when it comes up (its time is no longer the sleeper's C{wakeAt}).
    Deadlines fire at exactly the time a C{callLater} would have.
    """

    def __init__(self, clock: Any):
        self.clock = clock
        self._heap: list[tuple[float, int, Sleeper]] = []
        self._order = count()
        self._call: Optional[IDelayedCall] = None
        self._callAt = 0.0
        self._firing = False
        #: sleepers in the wheel (when none is left, the timer is cancelled)
        self.live = 0

    def wake(self, sleeper: Sleeper, at: Optional[float]) -> None:
        """
        Make sure C{sleeper} is woken by C{at} (None: nothing to wait for).
        """
        if at is None:
            return
        if sleeper.wakeAt is not None and sleeper.wakeAt <= at:
            return
        if sleeper.wakeAt is None:
            self.live += 1
        sleeper.wakeAt = at
        heapq.heappush(self._heap, (at, next(self._order), sleeper))
        if not self._firing and (self._call is None or at < self._callAt):
            self._schedule(at)

    def forget(self, sleeper: Sleeper) -> None:
        """
        C{sleeper} is done: its entry is dropped when it comes up.
        """
        if sleeper.wakeAt is None:
            return
        sleeper.wakeAt = None
        self.live -= 1
        if not self.live:
            self.stop()

    def stop(self) -> None:
        self._heap.clear()
        self.live = 0
        if self._call is not None:
            if self._call.active():
                self._call.cancel()
            self._call = None

    def _schedule(self, at: float) -> None:
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._callAt = at
        self._call = self.clock.callLater(max(0.0, at - self.clock.seconds()), self._fire)

    def _fire(self) -> None:
        self._call = None
        heap = self._heap
        now = self.clock.seconds()
        self._firing = True
        try:
            while heap and heap[0][0] <= now:
                at, _, sleeper = heapq.heappop(heap)
                if sleeper.wakeAt != at:
                    continue  # superseded or forgotten
                sleeper.wakeAt = None
                self.live -= 1
                try:
                    nextAt = sleeper.due(now)
                except Exception:
                    log.failure("a deadline failed")
                    continue
                self.wake(sleeper, nextAt)
        finally:
            self._firing = False
        if not self.live:
            self.stop()
        elif heap:
            self._schedule(heap[0][0])


__all__ = ["Deadlines", "Sleeper"]
