"""
The txredisapi side of L{akto_proxy.access.redisstate}: its connection
factories, in a module of their own so that a proxy without Redis never
imports txredisapi (a megabyte of every process).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import txredisapi
from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger

if TYPE_CHECKING:
    from akto_proxy.access.redisstate import RedisState

log = Logger()


class Factory(txredisapi.RedisFactory):  # type: ignore[misc]
    """
    The command connection of a L{RedisState}, which it tells when the
    connection comes up and when the last one is lost.
    """

    def __init__(self, state: "RedisState", **kw: Any):
        super().__init__(None, kw.pop("dbid"), 1, isLazy=True, **kw)
        self._state = state

    def addConnection(self, conn: Any) -> None:
        super().addConnection(conn)
        if conn in self.pool:
            self._state._up()

    def delConnection(self, conn: Any) -> None:
        super().delConnection(conn)
        if not self.size:
            self._state._down("connection lost")


class _SubscriberProtocol(txredisapi.SubscriberProtocol):  # type: ignore[misc]
    def messageReceived(self, pattern: Any, channel: Any, message: Any) -> None:
        self.factory.deliver(message)


class Subscription(txredisapi.RedisFactory):  # type: ignore[misc]
    """
    One connection that does nothing but listen on one channel, subscribed
    again after each reconnection.
    """

    protocol = _SubscriberProtocol

    def __init__(self, channel: str, onMessage: Callable[[bytes], None], **kw: Any):
        super().__init__(None, kw.pop("dbid"), 1, isLazy=True, **kw)
        self.channel = channel
        self.onMessage = onMessage
        self.subscribed = False
        self._waiters: list[Deferred[None]] = []

    def whenSubscribed(self) -> "Deferred[None]":
        """
        Fires once the subscription is in place (at once if it is).
        """
        if self.subscribed:
            return succeed(None)
        d: Deferred[None] = Deferred(lambda d: self._waiters.remove(d) if d in self._waiters else None)
        self._waiters.append(d)
        return d

    def _subscribed(self, _: Any) -> None:
        self.subscribed = True
        waiters, self._waiters = self._waiters, []
        for d in waiters:
            d.callback(None)

    def addConnection(self, conn: Any) -> None:
        super().addConnection(conn)
        if conn in self.pool:
            d = conn.subscribe(self.channel)
            d.addCallback(self._subscribed)
            d.addErrback(lambda f: log.warn("redis subscribe failed: {error}", error=f.getErrorMessage()))

    def delConnection(self, conn: Any) -> None:
        super().delConnection(conn)
        self.subscribed = False

    def deliver(self, message: Any) -> None:
        try:
            self.onMessage(message.encode("utf-8") if isinstance(message, str) else message)
        except Exception:
            log.failure("redis message handling failed")


__all__ = ["Factory", "Subscription"]
