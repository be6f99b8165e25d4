"""
Helpers of the operator's-view tests: many requests at once through a
proxy, on a few kept-alive connections.
"""

from __future__ import annotations

import json
import time
from io import BytesIO
from typing import Any, Callable, Optional

from twisted.internet import defer, reactor
from twisted.web.client import Agent, FileBodyProducer, HTTPConnectionPool, readBody
from twisted.web.http_headers import Headers

from tests.harness import KEY


def inline(f: Callable[..., Any]) -> Callable[..., Any]:
    """
    An async test method for trial.
    """

    def wrapper(self: Any, *a: Any, **kw: Any) -> Any:
        return defer.ensureDeferred(f(self, *a, **kw))

    wrapper.__name__ = f.__name__
    return wrapper


def attack(i: int) -> dict[str, Any]:
    """
    A C{tools/call} the brief's custom rule blocks.
    """
    return {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": "read_file", "arguments": {"path": "/etc/passwd"}}}


def clean(i: int) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": "read_file", "arguments": {"path": f"notes-{i}.txt"}}}


class Client:
    """
    POSTs JSON-RPC to one URL on a pool of kept-alive connections.

    @ivar latencies: seconds each answered request took.
    """

    def __init__(self, testcase: Any, url: bytes, key: str = KEY):
        self.url = url
        self.key = key
        self.pool = HTTPConnectionPool(reactor, persistent=True)
        self.pool.maxPersistentPerHost = 64
        self.agent = Agent(reactor, pool=self.pool)
        self.latencies: list[float] = []
        testcase.addCleanup(self.pool.closeCachedConnections)

    async def post(self, message: Any) -> tuple[int, Any]:
        headers = Headers(
            {
                b"content-type": [b"application/json"],
                b"accept": [b"application/json, text/event-stream"],
                b"x-akto-api-key": [self.key.encode()],
            }
        )
        started = time.perf_counter()
        response = await self.agent.request(b"POST", self.url, headers, FileBodyProducer(BytesIO(json.dumps(message).encode())))
        body = await readBody(response)
        self.latencies.append(time.perf_counter() - started)
        return response.code, json.loads(body) if body else None

    async def storm(self, n: int, make: Callable[[int], Any] = attack, concurrency: int = 20, each: Optional[Callable[[int, int, Any], None]] = None) -> float:
        """
        Send C{n} messages, C{concurrency} at a time; the seconds it took.
        C{each(i, status, answer)} is called with every answer.
        """
        started = time.perf_counter()
        sequence = iter(range(n))

        async def worker() -> None:
            for i in sequence:
                code, answer = await self.post(make(i))
                if each is not None:
                    each(i, code, answer)

        await defer.gatherResults([defer.ensureDeferred(worker()) for _ in range(concurrency)], consumeErrors=True)
        return time.perf_counter() - started


async def until(condition: Callable[[], Any], *changes: Callable[[], "defer.Deferred[Any]"], timeout: float = 20.0, what: str = "the condition") -> Any:
    """
    Wait until C{condition()} is true, checking it again each time one of
    C{changes} (functions giving a Deferred that fires at the next change
    of what the condition looks at) fires; its value.  No polling: without
    a change the condition cannot become true.  C{timeout} (real seconds)
    only bounds a test that would hang.
    """
    from twisted.internet.task import deferLater

    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        left = deadline - time.monotonic()
        if left <= 0 or not changes:
            raise AssertionError(f"timed out waiting for {what}")
        waiting = defer.DeferredList([change() for change in changes], fireOnOneCallback=True, consumeErrors=True)
        waiting.addTimeout(left, reactor)
        try:
            await waiting
        except defer.TimeoutError:
            raise AssertionError(f"timed out waiting for {what}") from None
        await deferLater(reactor, 0, lambda: None)  # off the stack of whatever changed


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]
