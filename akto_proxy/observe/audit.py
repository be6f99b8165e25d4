"""
The audit trail, a subscriber of the event stream: every exchange (an HTTP
request, a WebSocket connection) as one JSON line with its metadata, and
every notable message of a long-lived stream or socket (refused, rewritten,
or with a finding) as a line of its own when it happens, rather than only
in the summary when the stream ends.  The latest exchanges are kept in
memory (for C{/health} counters and the API).

C{audit.destination}: C{stdout} (the access lines on stdout are the audit
trail), C{none}, or a file of JSON lines rotated by size, written in
batches as the access log is (at most 100 ms or 64 KiB apart).
"""

from __future__ import annotations

import json
import os
from collections import deque
from typing import Any, Optional

from twisted.application.service import Service
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.logfile import LogFile

from akto_proxy.config import Config
from akto_proxy.config.model import AuditConfig
from akto_proxy.mcp.events import EventBus, ExchangeEvent, MessageEvent
from akto_proxy.observe.logs import LineWriter, encodeEvent

log = Logger()

#: transports whose messages get audit lines of their own
_STREAMED = frozenset(("sse", "ws"))


class Audit(Service):
    """
    @ivar recent: the latest exchange records, as JSON text (compact, and
        nothing the garbage collector has to walk).
    """

    name = "audit"

    def __init__(self, config: AuditConfig, bus: EventBus, clock: IReactorTime):
        self.config = config
        self.clock = clock
        self.bus = bus
        self.recent: deque[str] = deque(maxlen=max(1, config.recent_events))
        self._file: Optional[LogFile] = None
        self._lines: Optional[LineWriter] = None

    # -- service

    def startService(self) -> None:
        super().startService()
        self._open()
        self.bus.subscribe(ExchangeEvent, self.exchange)
        self.bus.subscribe(MessageEvent, self.message, notableOnly=True)

    def stopService(self) -> None:
        super().stopService()
        self.bus.unsubscribe(ExchangeEvent, self.exchange)
        self.bus.unsubscribe(MessageEvent, self.message)
        self._close()

    def reconfigure(self, full: Config) -> None:
        """
        A reloaded C{audit}: a new destination is opened, the old one
        closed after what waits for it is written.
        """
        config = full.audit
        if config == self.config:
            return
        self.config = config
        if config.recent_events != self.recent.maxlen:
            self.recent = deque(self.recent, maxlen=max(1, config.recent_events))
        if self.running:
            self._close()
            self._open()

    def _open(self) -> None:
        dest = self.config.destination
        if dest in ("stdout", "none"):
            return
        directory, name = os.path.split(os.path.abspath(dest))
        try:
            self._file = LogFile(name, directory, rotateLength=self.config.max_file_size, maxRotatedFiles=self.config.keep_files or None)
        except OSError as e:
            log.error("audit file {path} cannot be opened: {error}", path=dest, error=str(e))
            return
        self._lines = LineWriter(self._file, lineByLine=True)  # type: ignore[arg-type]
        self._lines.attach(self.clock)

    def _close(self) -> None:
        if self._lines is not None:
            self._write(self._lines.flush)
        if self._file is not None:
            self._file.close()
        self._file = None
        self._lines = None

    def flush(self) -> None:
        if self._lines is not None:
            self._write(self._lines.flush)

    def _write(self, action: Any, *args: Any) -> None:
        try:
            action(*args)
        except OSError as e:
            log.error("audit file write failed: {error}", error=str(e))

    # -- subscriber

    def exchange(self, event: ExchangeEvent) -> None:
        text = event.encoded(encodeEvent)
        self.recent.append(text)
        if self._lines is not None:
            self._write(self._lines.write, text + "\n", True)

    def message(self, event: MessageEvent) -> None:
        if self._lines is None or event.transport not in _STREAMED or not event.notable:
            return
        record = event.asJSON()
        record["audit"] = "message"
        self._write(self._lines.write, encodeEvent(record) + "\n", True)

    def recentEvents(self, last: Optional[int] = None) -> list[dict[str, Any]]:
        """
        The kept exchange records, oldest first (the C{last} ones when
        given), decoded.
        """
        kept = list(self.recent)
        if last is not None:
            kept = kept[max(0, len(kept) - last) :]
        return [json.loads(text) for text in kept]


__all__ = ["Audit"]
