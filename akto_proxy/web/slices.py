"""
A whole body the proxy holds (collected to be judged) written to the client
a slice at a time, as the client's connection drains it.

Written at once, a large body would be copied whole: Twisted's transport
joins what it was given to write (the response head and the body) into one
buffer before it sends any of it, so a judged 15 MiB response held the
body twice (and a TLS connection a third time, encrypted).  Sliced, the
transport holds one slice and its copy at a time: what an in-flight
response costs is its body and a slice, not a multiple of it.
"""

from __future__ import annotations

from typing import Callable, Protocol

from twisted.internet.interfaces import IPushProducer
from twisted.web.server import Request
from zope.interface import implementer

#: the size of a slice, and the size from which a body is written in slices
#: (a smaller one is written at once: a copy of it costs little, and one
#: write is cheaper than several)
SLICE = 1 << 20


class Sink(Protocol):
    """
    What a body is written to: the client's request (whose producer the
    slices become) and whether the client is gone.
    """

    request: Request
    finished: bool

    def write(self, data: bytes) -> None: ...


@implementer(IPushProducer)
class Slices:
    """
    Write C{body} to C{sink} in slices of L{SLICE} bytes, each when the
    client's connection has sent the one before (a push producer on the
    request: the transport pauses it when its buffer is full and resumes it
    when it is empty), then call C{done}.  When the client goes away first,
    nothing more is written and C{done} is not called (the exchange ends by
    the client's side).
    """

    __slots__ = ("sink", "body", "offset", "paused", "done")

    def __init__(self, sink: Sink, body: bytes, done: Callable[[], None]):
        self.sink = sink
        self.body: bytes | None = body
        self.offset = 0
        self.paused = False
        self.done = done

    def start(self) -> None:
        self.sink.request.registerProducer(self, True)
        self.resumeProducing()

    def resumeProducing(self) -> None:
        self.paused = False
        while not self.paused:
            body = self.body
            if body is None:
                return
            if self.sink.finished:
                self.stopProducing()  # the client is gone: so is its request's channel
                return
            end = self.offset + SLICE
            self.sink.write(body[self.offset : end])
            self.offset = end
            if end >= len(body):
                self.body = None
                self.sink.request.unregisterProducer()
                self.done()
                return

    def pauseProducing(self) -> None:
        self.paused = True

    def stopProducing(self) -> None:
        self.body = None
        self.paused = True


def sendWhole(sink: Sink, body: bytes, finish: Callable[[], None]) -> None:
    """
    Write C{body} to C{sink} and C{finish}: at once when it is small or the
    request is a HEAD (Twisted writes nothing of it), else in L{Slices}.
    """
    if len(body) <= SLICE or sink.request.method == b"HEAD":
        sink.write(body)
        finish()
        return
    Slices(sink, body, finish).start()
