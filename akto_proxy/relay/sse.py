"""
Server-sent events: an incremental parser that keeps each event's raw bytes
(so unchanged events are relayed byte for byte), and serialisation of
changed ones.
"""

from __future__ import annotations

from typing import Optional

import attrs


@attrs.frozen
class Event:
    """
    One SSE block: everything up to and including its blank line.

    @ivar raw: the exact bytes received.
    @ivar fields: (name, value) in order; comments have name C{""}.
    @ivar oversize: the block exceeded the size limit and is only a part.
    """

    raw: bytes
    fields: tuple[tuple[str, str], ...]
    newline: bytes = b"\n"
    oversize: bool = False

    @property
    def event(self) -> str:
        name = "message"
        for k, v in self.fields:
            if k == "event":
                name = v
        return name

    @property
    def data(self) -> Optional[str]:
        lines = [v for k, v in self.fields if k == "data"]
        if not lines:
            return None
        return "\n".join(lines)

    @property
    def id(self) -> Optional[str]:
        out = None
        for k, v in self.fields:
            if k == "id":
                out = v
        return out

    @property
    def isComment(self) -> bool:
        return all(k == "" for k, _ in self.fields)

    def withData(self, data: str) -> "Event":
        """
        The same event with new data (other fields and their order kept).
        """
        fields: list[tuple[str, str]] = []
        placed = False
        for k, v in self.fields:
            if k == "data":
                if not placed:
                    fields.extend(("data", line) for line in data.split("\n"))
                    placed = True
                continue
            fields.append((k, v))
        if not placed:
            fields.extend(("data", line) for line in data.split("\n"))
        return Event(raw=serialize(fields, self.newline), fields=tuple(fields), newline=self.newline)


def serialize(fields: list[tuple[str, str]] | tuple[tuple[str, str], ...], newline: bytes = b"\n") -> bytes:
    out = []
    for k, v in fields:
        if k == "":
            out.append(b":" + v.encode("utf-8"))
        else:
            out.append(k.encode("utf-8") + b": " + v.encode("utf-8"))
    return newline.join(out) + newline + newline


def makeEvent(data: str, event: Optional[str] = None, newline: bytes = b"\n") -> Event:
    fields: list[tuple[str, str]] = []
    if event is not None:
        fields.append(("event", event))
    fields.extend(("data", line) for line in data.split("\n"))
    return Event(raw=serialize(fields, newline), fields=tuple(fields), newline=newline)


class SSEParser:
    """
    Feed bytes in any chunking; get whole events out as soon as their blank
    line arrives.  Line ends may be CRLF, LF or CR; a CR at the end of a
    chunk ends its line at once (a following LF is then skipped), so no
    event waits for the next chunk.
    """

    def __init__(self, maxEvent: int = 16 * 1024 * 1024):
        self._maxEvent = maxEvent
        self._raw = bytearray()
        self._line = bytearray()
        self._fields: list[tuple[str, str]] = []
        self._skipLF = False
        self._newline: Optional[bytes] = None
        self._bomChecked = False

    def feed(self, data: bytes) -> list[Event]:
        events: list[Event] = []
        if not self._bomChecked and data:
            if data.startswith(b"\xef\xbb\xbf"):
                self._raw += data[:3]
                data = data[3:]
            self._bomChecked = True
        i = 0
        n = len(data)
        while i < n:
            if self._skipLF:
                self._skipLF = False
                if data[i] == 0x0A:
                    self._raw.append(0x0A)
                    i += 1
                    continue
            cr = data.find(b"\r", i)
            lf = data.find(b"\n", i)
            ends = [x for x in (cr, lf) if x >= 0]
            if not ends:
                self._line += data[i:]
                self._raw += data[i:]
                i = n
                break
            end = min(ends)
            self._line += data[i:end]
            self._raw += data[i : end + 1]
            if data[end] == 0x0D:
                if end + 1 < n:
                    if data[end + 1] == 0x0A:
                        self._raw.append(0x0A)
                        terminator = b"\r\n"
                        i = end + 2
                    else:
                        terminator = b"\r"
                        i = end + 1
                else:
                    terminator = b"\r\n"
                    self._skipLF = True
                    i = end + 1
            else:
                terminator = b"\n"
                i = end + 1
            if self._newline is None:
                self._newline = terminator
            event = self._lineDone()
            if event is not None:
                events.append(event)
        if len(self._raw) > self._maxEvent:
            events.append(
                Event(raw=bytes(self._raw), fields=tuple(self._fields), newline=self._newline or b"\n", oversize=True)
            )
            self._raw = bytearray()
            self._fields = []
        return events

    def _lineDone(self) -> Optional[Event]:
        if len(self._line) >= LARGE_LINE:
            self._largeLineDone()  # (never a blank line: no event ends)
            return None
        line = bytes(self._line)
        self._line = bytearray()
        if not line:
            if not self._fields and not self._raw.strip(b"\r\n"):
                # stray blank line between events: relay it as is
                raw = bytes(self._raw)
                self._raw = bytearray()
                return Event(raw=raw, fields=(), newline=self._newline or b"\n")
            event = Event(raw=bytes(self._raw), fields=tuple(self._fields), newline=self._newline or b"\n")
            self._raw = bytearray()
            self._fields = []
            return event
        text = line.decode("utf-8", "replace")
        if text.startswith(":"):
            self._fields.append(("", text[1:]))
            return None
        name, sep, value = text.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        self._fields.append((name, value))
        return None

    def _largeLineDone(self) -> None:
        """
        L{_lineDone} for a line of L{LARGE_LINE} bytes or more (a data line
        of megabytes): its name and value decoded from its bytes in place,
        not copied three times on their way to a string (bytes, text, the
        text after the colon, after the space).  A colon is one byte that
        is always a character of its own, so this is the line decoded, then
        split at its first colon.
        """
        line = self._line
        self._line = bytearray()
        if line[0] == 0x3A:
            self._fields.append(("", _decoded(line, 1, len(line))))
            return None
        colon = line.find(b":")
        if colon < 0:
            self._fields.append((_decoded(line, 0, len(line)), ""))
            return None
        start = colon + 1
        if line[start : start + 1] == b" ":
            start += 1
        self._fields.append((_decoded(line, 0, colon), _decoded(line, start, len(line))))
        return None

    @property
    def pending(self) -> int:
        return len(self._raw)


#: the length from which a line's fields are decoded in place
#: (L{SSEParser._largeLineDone})
LARGE_LINE = 64 * 1024


def _decoded(line: bytearray, start: int, end: int) -> str:
    """
    C{line[start:end]} decoded from UTF-8 (malformed bytes replaced), read
    in place.
    """
    with memoryview(line) as whole, whole[start:end] as part:
        return str(part, "utf-8", "replace")
