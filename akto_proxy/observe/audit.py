"""
The audit trail, a subscriber of the event stream: every exchange (an HTTP
request, a WebSocket connection) as one JSON record with its metadata
(C{request_id}, C{latency_ms}, C{threats_detected}, C{guardrails_applied},
key name, client, upstream, status, outcome), and every notable message of a
long-lived stream or socket (refused, rewritten, or with a finding) as a
record of its own (C{"audit": "message"}) when it happens, rather than only
in the summary when the stream ends.  The latest exchanges are kept in
memory (for C{/health} counters and the API).

C{audit.destination}:

  - C{stdout}: the access lines on stdout are the exchange records; message
    records are log lines beside them;
  - C{none};
  - a file path: JSON lines, written in batches as the access log is (at
    most 100 ms or 64 KiB apart), rotated by size (C{max_file_size}) and/or
    time (C{rotate_interval}, aligned on UTC: C{daily} rotates at
    midnight), C{keep_files} kept (C{NAME.1} the newest), reopened on
    SIGHUP (logrotate: move the file, then reload);
  - C{syslog} (the local socket C{/dev/log}), C{syslog:unix:PATH}, or
    C{syslog:udp:HOST:PORT}: one datagram per record, the JSON record as
    its message; RFC 3164 framing on a local socket (as journald and
    rsyslog read C{/dev/log}), RFC 5424 over UDP; facility
    C{syslog_facility}, severity C{notice} for a refused or flagged
    message, C{info} otherwise.  A datagram the socket cannot take now is
    not waited for: it is counted (L{Audit.failed}) and logged.

Body capture (C{capture_bodies}): C{none} (the default); C{redacted}, each
message's body as its sender sent it (before any rewrite by the proxy) with
secrets, credentials and personal data masked (L{akto_proxy.observe.logs.
Redactor}); C{full}, unmasked, except the proxy's own API keys, which are
never kept in clear.  Captured bodies are in message records, for the
notable messages (C{capture_scope: notable}) or for every message
(C{all}: every message's event is then built, which costs), cut at
C{max_captured_body} characters (C{body_truncated}).
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections import deque
from typing import Any, Callable, Optional, Sequence

import attrs
from twisted.application.service import Service
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from akto_proxy.config import Config
from akto_proxy.config.model import ApiKey, AuditConfig, SYSLOG_FACILITIES, SyslogTarget
from akto_proxy.mcp.events import EventBus, ExchangeEvent, MessageEvent
from akto_proxy.mcp.jsonrpc import Body
from akto_proxy.observe.logs import LineWriter, Redactor, RotatingFile, encodeEvent

log = Logger()

#: transports whose messages get audit lines of their own
_STREAMED = frozenset(("sse", "ws"))

#: syslog severities
NOTICE = 5
INFO = 6

#: characters beyond the capture limit that are masked before the cut, so
#: that a secret across it is masked whole
_MASK_MARGIN = 4096


class _Sink:
    """
    Where records go.  C{write} takes one record (JSON text, no line
    break); C{later}: it may wait for the next batch.
    """

    #: the largest body a record may carry here (characters)
    maxBody: Optional[int] = None
    #: whether the sink reports its writes itself (else a write that
    #: returns is one done)
    reportsWrites = False

    def write(self, text: str, severity: int, later: bool) -> None:
        raise NotImplementedError

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class _Guarded:
    """
    The rotated file as the line writer sees it: a line that cannot be
    written (a full disk, a failed rotation) is reported to C{failed} and
    the next one tried, also when the batch is written by its timer.
    """

    def __init__(self, file: RotatingFile, failed: Callable[[OSError], None], ok: Callable[[], None]):
        self.file = file
        self.failed = failed
        self.ok = ok

    def write(self, line: str) -> None:
        try:
            self.file.write(line)
        except OSError as e:
            self.failed(e)
        else:
            self.ok()

    def flush(self) -> None:
        try:
            self.file.flush()
        except OSError as e:
            self.failed(e)


class FileSink(_Sink):
    #: writes are reported by the file itself (they happen in batches)
    reportsWrites = True

    def __init__(self, config: AuditConfig, clock: IReactorTime, failed: Callable[[OSError], None], ok: Callable[[], None]):
        self.file = RotatingFile(
            config.destination,
            maxSize=config.max_file_size,
            interval=config.rotate_interval,
            keep=config.keep_files,
            clock=clock.seconds,
        )
        self.lines = LineWriter(_Guarded(self.file, failed, ok), lineByLine=True)  # type: ignore[arg-type]
        self.lines.attach(clock)

    def write(self, text: str, severity: int, later: bool) -> None:
        self.lines.write(text + "\n", later)

    def flush(self) -> None:
        self.lines.flush()

    def close(self) -> None:
        try:
            self.lines.flush()
        finally:
            self.file.close()


class SyslogSink(_Sink):
    """
    One datagram per record, never waiting: a full socket buffer or an
    absent syslog daemon fails the write (the caller counts it); the socket
    is opened again at the next record.
    """

    maxBody = 32 * 1024  # a datagram of some 64 KiB is the most any syslog takes

    def __init__(self, target: SyslogTarget, facility: str, clock: IReactorTime):
        self.target = target
        self.facility = SYSLOG_FACILITIES.index(facility) if facility in SYSLOG_FACILITIES[:12] else 16 + SYSLOG_FACILITIES.index(facility) - 12
        self.clock = clock
        self.pid = os.getpid()
        self.hostname = socket.gethostname() or "-"
        self._socket: Optional[socket.socket] = None
        self._address: Any = None
        self._family: int = socket.AF_UNIX
        if target.transport == "udp":
            # resolved once, here (at start and on reload), never per record
            info = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_DGRAM)[0]
            self._family, self._address = info[0], info[4]
        else:
            self._family, self._address = socket.AF_UNIX, target.path

    def _connect(self) -> socket.socket:
        if self._socket is None:
            s = socket.socket(self._family, socket.SOCK_DGRAM)
            s.setblocking(False)
            if self._family == socket.AF_UNIX:
                try:
                    s.connect(self._address)
                except OSError:
                    s.close()
                    raise
            self._socket = s
        return self._socket

    def frame(self, text: str, severity: int) -> bytes:
        pri = self.facility * 8 + severity
        now = self.clock.seconds()
        if self.target.transport == "unix":
            stamp = time.strftime("%b %d %H:%M:%S", time.localtime(now))
            return f"<{pri}>{stamp} akto-proxy[{self.pid}]: {text}".encode("utf-8", "surrogatepass")
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"
        return f"<{pri}>1 {stamp} {self.hostname} akto-proxy {self.pid} audit - {text}".encode("utf-8", "surrogatepass")

    def write(self, text: str, severity: int, later: bool) -> None:
        data = self.frame(text, severity)
        try:
            s = self._connect()
            if self._family == socket.AF_UNIX:
                s.send(data)
            else:
                s.sendto(data, self._address)
        except OSError:
            self.close()
            raise

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


class StdoutSink(_Sink):
    """
    Message records as log lines (the daemon writes those to stdout as JSON
    lines); the exchange records are the access lines already.
    """

    def write(self, text: str, severity: int, later: bool) -> None:
        record = json.loads(text)
        log.info("audit {outcome} {direction} {rpc_method} {upstream}", **record)


class Audit(Service):
    """
    @ivar recent: the latest exchange records, as JSON text (compact, and
        nothing the garbage collector has to walk).
    @ivar failed: records that could not be written (a full disk, a
        syslog socket that would block), each counted; the first of each
        run of failures logged.
    @ivar written: records handed to the destination (a file's wait for
        their batch; one that then fails counts in C{failed} too).
    """

    name = "audit"

    def __init__(self, config: AuditConfig, bus: EventBus, clock: IReactorTime, apiKeys: Sequence[ApiKey] = ()):
        self.config = config
        self.clock = clock
        self.bus = bus
        self.recent: deque[str] = deque(maxlen=max(1, config.recent_events))
        self.failed = 0
        self.written = 0
        self._failing = False
        self._sink: Optional[_Sink] = None
        self._apiKeys = tuple(apiKeys)
        self._redactor: Optional[Redactor] = None
        self._everything = False

    # -- service

    def startService(self) -> None:
        super().startService()
        self._open()
        self.bus.subscribe(ExchangeEvent, self.exchange)
        self._subscribe()

    def stopService(self) -> None:
        super().stopService()
        self.bus.unsubscribe(ExchangeEvent, self.exchange)
        self.bus.unsubscribe(MessageEvent, self.message)
        self._close()

    def _subscribe(self) -> None:
        self.bus.unsubscribe(MessageEvent, self.message)
        self._everything = self.config.capture_bodies != "none" and self.config.capture_scope == "all"
        self.bus.subscribe(MessageEvent, self.message, notableOnly=not self._everything)

    def reconfigure(self, full: Config) -> None:
        """
        A reloaded C{audit}: a changed destination (or rotation) replaces
        the old one after what waits for the old one is written.  (The
        service reopens the destination at every SIGHUP, applied or
        rejected: L{reopen}.)
        """
        config = full.audit
        self._apiKeys = full.access_control.api_keys
        self._redactor = None
        old, self.config = self.config, config
        if config.recent_events != self.recent.maxlen:
            self.recent = deque(self.recent, maxlen=max(1, config.recent_events))
        if self.running:
            if (old.capture_bodies, old.capture_scope) != (config.capture_bodies, config.capture_scope):
                self._subscribe()
            if attrs.evolve(old, capture_bodies="none", capture_scope="notable", recent_events=0) != attrs.evolve(config, capture_bodies="none", capture_scope="notable", recent_events=0):
                self._close()
                self._open()

    def reopen(self) -> None:
        """
        Close and open the destination again: a file moved away by
        logrotate is begun anew, a syslog socket connected again.
        """
        if self.running:
            self._close()
            self._open()

    def _open(self) -> None:
        config = self.config
        try:
            if config.syslog is not None:
                self._sink = SyslogSink(config.syslog, config.syslog_facility, self.clock)
            elif config.destination == "stdout":
                self._sink = StdoutSink()
            elif config.destination != "none":
                self._sink = FileSink(config, self.clock, self._failed, self._ok)
        except OSError as e:
            log.error("audit destination {destination} cannot be opened: {error}", destination=config.destination, error=str(e))
            self._sink = None

    def _close(self) -> None:
        sink, self._sink = self._sink, None
        if sink is not None:
            self._write(sink.close)

    def flush(self) -> None:
        if self._sink is not None:
            self._write(self._sink.flush)

    def _failed(self, e: OSError) -> None:
        """
        A record was lost: counted; logged when the first of a run is.
        """
        self.failed += 1
        if not self._failing:
            self._failing = True
            log.error(
                "audit records cannot be written to {destination}: {error}",
                destination=self.config.destination,
                error=str(e),
                audit_failed=self.failed,
            )

    def _ok(self) -> None:
        if self._failing:
            self._failing = False
            log.warn(
                "audit records written to {destination} again; {audit_failed} lost so far",
                destination=self.config.destination,
                audit_failed=self.failed,
            )

    def _write(self, action: Any, *args: Any) -> bool:
        try:
            action(*args)
        except OSError as e:
            self._failed(e)
            return False
        if self._failing and not (self._sink is not None and self._sink.reportsWrites):
            self._ok()
        return True

    # -- subscriber

    def exchange(self, event: ExchangeEvent) -> None:
        text = event.encoded(encodeEvent)
        self.recent.append(text)
        sink = self._sink
        if sink is not None and not isinstance(sink, StdoutSink):
            if self._write(sink.write, text, NOTICE if event.fields.get("blocked") or event.fields.get("threats_detected") else INFO, True):
                self.written += 1

    def message(self, event: MessageEvent) -> None:
        sink = self._sink
        if sink is None:
            return
        capture = self.config.capture_bodies != "none"
        notable = event.notable
        if not capture and (event.transport not in _STREAMED or not notable):
            return
        record = event.asJSON()
        record["audit"] = "message"
        if capture and event.body is not None:
            text, truncated = self._capture(event.body, sink.maxBody)
            record["body"] = text
            if truncated:
                record["body_truncated"] = True
        if self._write(sink.write, encodeEvent(record), NOTICE if notable else INFO, True):
            self.written += 1

    # -- bodies

    def redactor(self) -> Redactor:
        """
        The masking of the current policy: everything for C{redacted}, the
        proxy's API keys only for C{full}.
        """
        if self._redactor is None:
            masking = self.config.capture_bodies == "redacted"
            self._redactor = Redactor.forKeys(self._apiKeys, secrets=masking, personal=masking)
        return self._redactor

    def _capture(self, body: Any, limit: Optional[int]) -> tuple[str, bool]:
        if isinstance(body, Body):
            if body.rpc:
                value: Any = body.rpc if body.batch else body.rpc[0]
            elif body.json:
                value = body.value
            else:
                value = body.text or ""
        else:
            value = body
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
        most = self.config.max_captured_body if limit is None else min(limit, self.config.max_captured_body)
        cut = len(text) > most
        if len(text) > most + _MASK_MARGIN:
            text = text[: most + _MASK_MARGIN]
        text = self.redactor().mask(text)
        if len(text) > most:
            text = text[:most]
            cut = True
        return text, cut

    def recentEvents(self, last: Optional[int] = None) -> list[dict[str, Any]]:
        """
        The kept exchange records, oldest first (the C{last} ones when
        given), decoded.
        """
        kept = list(self.recent)
        if last is not None:
            kept = kept[max(0, len(kept) - last) :]
        return [json.loads(text) for text in kept]


__all__ = ["Audit", "FileSink", "SyslogSink"]
