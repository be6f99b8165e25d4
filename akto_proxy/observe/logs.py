"""
Logging: one JSON object per line on stdout, journald-friendly; the
redaction of what the audit trail and alerts carry (L{Redactor}); a file of
lines rotated by size and time (L{RotatingFile}).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import sys
import time
import weakref
from typing import IO, Any, Callable, Iterable, Optional

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
# -- redaction

#: a whole PEM private key (the detection rule matches its first line only);
#: in JSON text its line breaks are "\\n"
_PEM_KEY = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)", re.S)
#: a value given to a credential-like name (JSON, query strings, headers,
#: assignments): the value is masked whatever it looks like
_CREDENTIAL_VALUE = re.compile(
    r"""(?ix)
    (?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|
       client[_-]?secret|session[_-]?id|cookie|authorization|x-akto-api-key|akto_api_key|credentials?)
    [A-Za-z0-9_-]*
    (?:\\?["'])?\s*[:=]\s*(?:\\?["'])?
    (?:(?:bearer|basic|token)\s+)?
    ([^\s"'\\,;&}\]]+)
    """
)
#: what could be a proxy API key, hashed to compare with the configured ones
_TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]{16,512}")


class Redactor:
    """
    Masks, in text bound for the audit trail or an alert, what must not be
    kept in clear: each becomes C{[REDACTED:<what>]}.

      - the proxy's own API keys, always (also with C{personal=False} and
        C{secrets=False}): the plain ones as configured, the hashed ones by
        hashing every token that could be one;
      - other known secrets given (a webhook secret, an SMTP password);
      - with C{secrets}: the data-exfiltration rules of the threat checks
        (private keys whole, cloud and service tokens, JWTs, connection
        strings, long random strings, each confirmed by its validator)
        and any value given to a credential-like name (C{password},
        C{token}, C{authorization}, C{api_key}...);
      - with C{personal}: the PII rules (payment cards, SSNs, IBANs,
        e-mail addresses, phone numbers, IP addresses, validated).
    """

    def __init__(
        self,
        plainKeys: Iterable[bytes] = (),
        keyDigests: Iterable[bytes] = (),
        known: Iterable[str] = (),
        secrets: bool = True,
        personal: bool = True,
    ):
        self._known = sorted({k for k in (*(p.decode("utf-8", "replace") for p in plainKeys), *known) if len(k) >= 4}, key=len, reverse=True)
        self._digests = frozenset(keyDigests)
        self._secrets = secrets
        self._personal = personal
        self._scanner: Any = None
        if secrets or personal:
            from akto_proxy.inspect.checks.rules import PII_RULES, SECRET_RULES
            from akto_proxy.inspect.checks.scanner import Scanner

            self._scanner = Scanner((SECRET_RULES if secrets else ()) + (PII_RULES if personal else ()))

    @classmethod
    def forKeys(cls, apiKeys: Iterable[Any], known: Iterable[str] = (), secrets: bool = True, personal: bool = True) -> "Redactor":
        """
        A redactor that knows the configured C{access_control.api_keys}.
        """
        keys = list(apiKeys)
        return cls(
            [k.key_plain for k in keys if k.key_plain],
            [k.key_sha256 for k in keys if k.key_sha256],
            known,
            secrets,
            personal,
        )

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """
        What to mask in C{text}: (start, end, label), in any order.
        """
        out: list[tuple[int, int, str]] = []
        for secret in self._known:
            start = text.find(secret)
            while start >= 0:
                out.append((start, start + len(secret), "secret"))
                start = text.find(secret, start + len(secret))
        if self._digests:
            for m in _TOKEN.finditer(text):
                if hashlib.sha256(m.group().encode("utf-8")).digest() in self._digests:
                    out.append((m.start(), m.end(), "api_key"))
        if self._secrets:
            for m in _PEM_KEY.finditer(text):
                out.append((m.start(), m.end(), "private_key"))
            for m in _CREDENTIAL_VALUE.finditer(text):
                out.append((m.start(1), m.end(1), "credential"))
        if self._scanner:
            from akto_proxy.inspect.checks.validators import VALIDATORS

            for index in self._scanner.scan([text]):
                rule = self._scanner.rules[index]
                check = VALIDATORS.get(rule.validator) if rule.validator else None
                label = rule.entity or rule.name
                out.extend((s, e, label) for s, e in self._scanner.spans(index, text, check))
        return out

    def mask(self, text: str) -> str:
        """
        C{text} with every span of L{spans} replaced; overlapping spans
        are masked as one (under the first one's label).
        """
        if not text:
            return text
        found = self.spans(text)
        if not found:
            return text
        out = []
        last = 0
        merged: list[list[Any]] = []
        for start, end, label in sorted(found):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end, label])
        for start, end, label in merged:
            out.append(text[last:start])
            out.append(f"[REDACTED:{label}]")
            last = end
        out.append(text[last:])
        return "".join(out)

    def maskAll(self, value: Any) -> Any:
        """
        A JSON value with each of its strings masked (keys included).
        """
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, dict):
            return {self.mask(k) if isinstance(k, str) else k: self.maskAll(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.maskAll(v) for v in value]
        return value


# -- a rotated file


class RotatingFile:
    """
    A file of whole lines (UTF-8), rotated by size, by time, or both: C{NAME}
    becomes C{NAME.1} (C{NAME.1} becomes C{NAME.2}... and, beyond C{keep},
    the oldest is removed; C{keep} 0 keeps all) and a new C{NAME} is begun.
    A line is never split: a file is rotated before the line that would
    take it past C{maxSize}, and on the first line written at or after each
    multiple of C{interval} seconds since the epoch (UTC: 86400 rotates at
    midnight).

    Written in append mode, so that C{copytruncate} works; L{reopen} opens
    C{NAME} again, a new one if it was moved away (logrotate's
    C{postrotate} sends SIGHUP).

    @ivar rotations: files rotated so far.
    """

    def __init__(self, path: str, maxSize: int = 0, interval: float = 0.0, keep: int = 0, clock: Callable[[], float] = time.time):
        self.path = os.path.abspath(path)
        self.maxSize = maxSize
        self.interval = interval
        self.keep = keep
        self.clock = clock
        self.rotations = 0
        self._file: Optional[IO[bytes]] = None
        self.size = 0
        self._boundary = 0.0
        self._open()

    def _open(self) -> None:
        self._file = open(self.path, "ab")
        self.size = os.fstat(self._file.fileno()).st_size
        if self.interval:
            now = self.clock()
            # a file last written before the current period is rotated at once
            mtime = os.fstat(self._file.fileno()).st_mtime if self.size else now
            self._boundary = (int(min(now, mtime) // self.interval) + 1) * self.interval

    def write(self, line: str) -> None:
        """
        Write C{line} (whole lines only), rotating first when due.
        """
        data = line.encode("utf-8", "surrogatepass")
        if self._file is None:
            self._open()
        if self.size and (
            (self.maxSize and self.size + len(data) > self.maxSize) or (self.interval and self.clock() >= self._boundary)
        ):
            self.rotate()
        assert self._file is not None
        self._file.write(data)
        self.size += len(data)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def rotate(self) -> None:
        """
        Close C{NAME}, shift the rotated files and begin a new C{NAME}.
        """
        self.close()
        if self.keep:
            last = self.keep
            oldest = f"{self.path}.{last}"
            if os.path.exists(oldest):
                os.remove(oldest)
        else:
            last = 1
            while os.path.exists(f"{self.path}.{last}"):
                last += 1
        for i in range(last - 1, 0, -1):
            source = f"{self.path}.{i}"
            if os.path.exists(source):
                os.rename(source, f"{self.path}.{i + 1}")
        if os.path.exists(self.path):
            os.rename(self.path, f"{self.path}.1")
        self.rotations += 1
        self._open()

    def reopen(self) -> None:
        """
        Close and open C{NAME} again (a new file if it was moved away).
        """
        self.close()
        self._open()

    def close(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            finally:
                self._file = None


def jsonObserver(out: IO[str] = sys.stdout, level: LogLevel = LogLevel.info) -> ILogObserver:
    return FilteringLogObserver(JSONLineObserver(out), [LogLevelFilterPredicate(defaultLogLevel=level)])


def stdoutObserver() -> ILogObserver:
    """
    twistd's C{--logger}: JSON lines on stdout.
    """
    return jsonObserver(sys.stdout)
