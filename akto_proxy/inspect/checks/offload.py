"""
Large messages are inspected off the reactor thread; small ones inline, so
the hot path costs no reactor turn.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar, Union

from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool

from akto_proxy.inspect.message import Message

T = TypeVar("T")

THRESHOLD = 64 * 1024  # characters of strings in one message


class Offload:
    """
    @param reactor: a reactor with C{getThreadPool} (L{IReactorThreads}).
    @param threshold: messages with at least this many characters of strings
        go to the reactor's thread pool.
    """

    def __init__(self, reactor: Any, threshold: int = THRESHOLD):
        self._reactor = reactor
        self.threshold = threshold

    def run(self, message: Message, f: Callable[..., T], *args: Any) -> Union[T, "Deferred[T]"]:
        if message.size < self.threshold:
            return f(*args)
        return deferToThreadPool(self._reactor, self._reactor.getThreadPool(), f, *args)


def offloadFor(reactor: Any, threshold: int = THRESHOLD) -> "Offload | None":
    if reactor is None or not hasattr(reactor, "getThreadPool"):
        return None
    return Offload(reactor, threshold)
