"""
Large messages are inspected off the reactor thread; small ones inline, so
the hot path costs no reactor turn.

The threads are the proxy's own pool (L{inspectionPool}, owned and stopped
by the service), not the reactor's: that one also resolves upstream names
(C{getaddrinfo}), which a burst of large messages must not hold up.  A
message whose inspection timed out (the chain cancels its Deferred) before
a thread took it up is not inspected at all: its answer has been given.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, TypeVar, Union

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool

from akto_proxy.inspect.message import Message

T = TypeVar("T")

log = Logger()

THRESHOLD = 64 * 1024  # characters of strings in one message
#: threads of the inspection pool: enough to keep both kinds of work busy
#: (the Hyperscan scan releases the GIL, Python confirmation holds it)
#: without letting a burst of large messages queue work without bound
THREADS = 4


def inspectionPool(threads: int = THREADS) -> ThreadPool:
    """
    A pool for L{Offload}, not started: its owner starts it and stops it
    (threads are made on demand, none before the first large message).
    """
    return ThreadPool(0, threads, "akto-inspect")


class _Job:
    """
    One message's inspection, queued for a thread; abandoned when its
    Deferred is cancelled before it starts.
    """

    __slots__ = ("f", "args", "abandoned", "requestId")

    def __init__(self, f: Callable[..., Any], args: tuple[Any, ...], requestId: Optional[str]):
        self.f = f
        self.args = args
        self.abandoned = False
        self.requestId = requestId

    def cancel(self, d: "Deferred[Any]") -> None:
        self.abandoned = True

    def __call__(self) -> Any:
        if self.abandoned:
            log.info("inspection abandoned before it started: its deadline passed in the queue", request_id=self.requestId)
            return None
        return self.f(*self.args)


class Offload:
    """
    @param reactor: delivers the results on the reactor thread
        (L{IReactorFromThreads}).
    @param pool: the threads (L{inspectionPool}; the reactor's own when
        None, for tools and tests that build a chain without a service).
    @param threshold: messages with at least this many characters of strings
        go to the pool.
    """

    def __init__(self, reactor: Any, pool: Optional[ThreadPool] = None, threshold: int = THRESHOLD):
        self._reactor = reactor
        self._pool = pool
        self.threshold = threshold

    def run(self, message: Message, f: Callable[..., T], *args: Any) -> Union[T, "Deferred[T]"]:
        if message.size < self.threshold:
            return f(*args)
        pool = self._pool if self._pool is not None else self._reactor.getThreadPool()
        if getattr(pool, "joined", False):
            # a stopped pool drops work without a word: at shutdown, the
            # last messages are inspected here
            return f(*args)
        job = _Job(f, args, message.requestId)
        d: Deferred[T] = Deferred(job.cancel)

        def deliver(success: bool, result: Union[T, Failure]) -> None:
            # on the reactor thread; after a cancel (a Deferred with a
            # canceller does not swallow a second answer) the late answer
            # is dropped
            if not d.called:
                (d.callback if success else d.errback)(result)
            elif not success:
                log.failure("inspection failed after its deadline", result, request_id=job.requestId)

        def onResult(success: bool, result: Union[T, Failure]) -> None:
            self._reactor.callFromThread(deliver, success, result)

        pool.callInThreadWithCallback(onResult, job)
        return d


def offloadFor(reactor: Any, pool: Optional[ThreadPool] = None, threshold: int = THRESHOLD) -> "Offload | None":
    if reactor is None or not hasattr(reactor, "callFromThread"):
        return None
    if pool is None and not hasattr(reactor, "getThreadPool"):
        return None
    return Offload(reactor, pool, threshold)
