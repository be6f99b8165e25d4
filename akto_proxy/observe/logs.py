"""
Logging: one JSON object per line on stdout, journald-friendly.
"""

from __future__ import annotations

import functools
import json
import sys
import time
import weakref
from typing import IO, Any, Callable, Optional

from twisted.logger import (
    FilteringLogObserver,
    ILogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    formatEvent,
)
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from zope.interface import implementer

# Access lines wait at most this long, or until this many characters wait.
ACCESS_FLUSH_DELAY = 0.1
ACCESS_FLUSH_SIZE = 64 * 1024


class LineWriter:
    """
    The lines bound for one stream.  Access lines may wait, up to
    L{ACCESS_FLUSH_DELAY} seconds or L{ACCESS_FLUSH_SIZE} characters, so that
    a busy proxy makes one write for many requests rather than one each (as
    nginx's C{access_log ... buffer= flush=}); every other line is written at
    once, after the waiting ones, so the stream keeps the order in which
    things happened.  Until a clock is attached (L{AccessLog} attaches the
    reactor), nothing waits.
    """

    def __init__(self, out: IO[str], lineByLine: bool = False):
        self.out = out
        self.lineByLine = lineByLine  # a rotating file rotates between lines
        self._clock: Optional[IReactorTime] = None
        self._pending: list[str] = []
        self._size = 0
        self._timer: Optional[IDelayedCall] = None

    def attach(self, clock: IReactorTime) -> None:
        """
        Let access lines wait, timed by C{clock}.
        """
        self._clock = clock

    def write(self, line: str, later: bool = False) -> None:
        if later and self._clock is not None:
            self._pending.append(line)
            self._size += len(line)
            if self._size >= ACCESS_FLUSH_SIZE:
                self.flush()
            elif self._timer is None:
                self._timer = self._clock.callLater(ACCESS_FLUSH_DELAY, self._due)
            return
        if self._pending:
            self._pending.append(line)
            self.flush()
            return
        self.out.write(line)
        self.out.flush()

    def _due(self) -> None:
        self._timer = None
        self.flush()

    def flush(self) -> None:
        """
        Write the waiting lines now.
        """
        if self._timer is not None:
            if self._timer.active():
                self._timer.cancel()
            self._timer = None
        if self._pending:
            pending = self._pending
            self._pending = []
            self._size = 0
            if self.lineByLine:
                write = self.out.write
                for line in pending:
                    write(line)
            else:
                self.out.write("".join(pending))
            self.out.flush()


# One writer per stream, shared by the JSON observer (which twistd builds
# from a name) and the access log, so that their lines keep their order.
_writers: "weakref.WeakValueDictionary[int, LineWriter]" = weakref.WeakValueDictionary()


def lineWriter(out: IO[str]) -> LineWriter:
    """
    The writer of stream C{out}.
    """
    writer = _writers.get(id(out))
    if writer is None or writer.out is not out:
        writer = _writers[id(out)] = LineWriter(out)
    return writer


_DROP = ("log_logger", "log_source", "log_io", "log_trace", "log_flattened", "log_text", "log_format")


@implementer(ILogObserver)
class JSONLineObserver:
    """
    Write each event as one compact JSON object on one line, with the
    formatted message under C{message} and the level under C{level}.
    """

    def __init__(self, out: IO[str]):
        self._lines = lineWriter(out)

    def __call__(self, event: dict[str, Any]) -> None:
        e = {k: v for k, v in event.items() if k not in _DROP}
        level = event.get("log_level")
        e["level"] = getattr(level, "name", "info")
        e.pop("log_level", None)
        if event.get("log_format") == "{message}" and isinstance(event.get("message"), str):
            pass  # preformatted (the access log): skip the formatter
        else:
            try:
                e["message"] = formatEvent(event)
            except Exception:
                e["message"] = str(event.get("log_format"))
        failure = event.get("log_failure")
        if failure is not None:
            e.pop("log_failure", None)
            e["traceback"] = failure.getTraceback()
        self._lines.write(_ENCODER.encode(e) + "\n")


class AccessLog:
    """
    The access log written straight to the stream the JSON observer writes
    to, one line per request, in the same shape as a logged event (C{message},
    C{access}, the event's keys, C{log_namespace}, C{log_time}, C{level}),
    without the publisher, filter and formatter a L{Logger} event passes.
    An access line costs a third of what it costs as a log event.  With a
    C{reactor}, lines are written in batches (L{LineWriter}); L{flush} writes
    what waits.
    """

    namespace = "akto_proxy.web.proxy"

    def __init__(self, out: IO[str], clock: Callable[[], float] = time.time, reactor: Optional[IReactorTime] = None):
        self._lines = lineWriter(out)
        self._clock = clock
        if reactor is not None:
            self._lines.attach(reactor)

    def flush(self) -> None:
        self._lines.flush()

    def __call__(self, message: str, event: dict[str, Any], encoded: Optional[str] = None) -> None:
        """
        @param encoded: C{event} already encoded (L{encodeEvent}): its keys
            are spliced into the line rather than encoded again.
        """
        if encoded is None:
            encoded = encodeEvent(event)
        keys = encoded[1:-1] + ", " if len(encoded) > 2 else ""
        self._lines.write(
            f'{{"message": {_ENCODER.encode(message)}, "access": true, {keys}'
            f'"log_namespace": "{self.namespace}", "log_time": {self._clock()!r}, "level": "info"}}\n',
            later=True,
        )


def _fallback(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return repr(value)


_ENCODER = json.JSONEncoder(default=_fallback, separators=(", ", ": "))


def encodeEvent(event: dict[str, Any]) -> str:
    """
    One JSON object for C{event} (bytes as UTF-8 text, sets as lists, the
    rest by C{repr}), as the log lines write it.
    """
    return _ENCODER.encode(event)


def rfc3339(when: float) -> str:
    """
    C{when} (seconds since the epoch) as RFC 3339 in UTC, to the
    millisecond: C{2026-12-06T18:05:09.042Z}.  The seconds part is
    formatted once per second.
    """
    whole = int(when)
    return f"{_second(whole)}.{int((when - whole) * 1000):03d}Z"


@functools.lru_cache(maxsize=4)
def _second(whole: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))


def jsonObserver(out: IO[str] = sys.stdout, level: LogLevel = LogLevel.info) -> ILogObserver:
    return FilteringLogObserver(JSONLineObserver(out), [LogLevelFilterPredicate(defaultLogLevel=level)])


def stdoutObserver() -> ILogObserver:
    """
    twistd's C{--logger}: JSON lines on stdout.
    """
    return jsonObserver(sys.stdout)
