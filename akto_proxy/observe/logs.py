"""
Logging: one JSON object per line on stdout, journald-friendly.
"""

from __future__ import annotations

import json
import sys
import time
from typing import IO, Any, Callable, Optional

from twisted.logger import (
    FilteringLogObserver,
    ILogObserver,
    LogLevel,
    LogLevelFilterPredicate,
    formatEvent,
)
from zope.interface import implementer

_DROP = ("log_logger", "log_source", "log_io", "log_trace", "log_flattened", "log_text", "log_format")


@implementer(ILogObserver)
class JSONLineObserver:
    """
    Write each event as one compact JSON object on one line, with the
    formatted message under C{message} and the level under C{level}.
    """

    def __init__(self, out: IO[str]):
        self._out = out

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
        text = _ENCODER.encode(e)
        self._out.write(text + "\n")
        self._out.flush()


class AccessLog:
    """
    The access log written straight to the stream the JSON observer writes
    to, one line per request, in the same shape as a logged event (C{message},
    C{access}, the event's keys, C{log_namespace}, C{log_time}, C{level}),
    without the publisher, filter and formatter a L{Logger} event passes.
    An access line costs a third of what it costs as a log event.
    """

    namespace = "akto_proxy.web.proxy"

    def __init__(self, out: IO[str], clock: Callable[[], float] = time.time):
        self._out = out
        self._clock = clock

    def __call__(self, message: str, event: dict[str, Any], encoded: Optional[str] = None) -> None:
        """
        @param encoded: C{event} already encoded (L{encodeEvent}): its keys
            are spliced into the line rather than encoded again.
        """
        if encoded is None:
            encoded = encodeEvent(event)
        keys = encoded[1:-1] + ", " if len(encoded) > 2 else ""
        self._out.write(
            f'{{"message": {_ENCODER.encode(message)}, "access": true, {keys}'
            f'"log_namespace": "{self.namespace}", "log_time": {self._clock()!r}, "level": "info"}}\n'
        )
        self._out.flush()


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


def jsonObserver(out: IO[str] = sys.stdout, level: LogLevel = LogLevel.info) -> ILogObserver:
    return FilteringLogObserver(JSONLineObserver(out), [LogLevelFilterPredicate(defaultLogLevel=level)])


def stdoutObserver() -> ILogObserver:
    """
    twistd's C{--logger}: JSON lines on stdout.
    """
    return jsonObserver(sys.stdout)
