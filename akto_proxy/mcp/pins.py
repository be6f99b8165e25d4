"""
Pinned tool definitions (rug pulls).

On first sight each tool's definition (name, description, input and output
schema, annotations; for prompts and resources what they carry) is pinned
for the upstream endpoint it came from (scheme, host, port, path).  A later
definition that differs is a pending change: the tool is withheld from the
list and a call to it refused until an operator approves the change (or it
goes back to what was pinned).  A rejected change stays refused.

Pins live in memory, are written to C{pins.json} in the state directory
(atomically: a temporary file, fsync, rename) and, with C{redis:}, are
shared by every instance: each change is written to a Redis hash and a
version counter, which every instance polls and reloads from when it moved.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import tempfile
import time
from typing import Any, Callable, Iterable, Optional

import attrs
from twisted.application.service import Service
from twisted.internet.defer import succeed
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

log = Logger()

#: what of each kind's definition is pinned
DEFINITION_KEYS = {
    "tool": ("name", "title", "description", "inputSchema", "outputSchema", "annotations"),
    "prompt": ("name", "title", "description", "arguments"),
    "resource": ("uri", "name", "title", "description", "mimeType"),
}
#: list methods: the kind, the result's field, the field naming an entry
LISTS = {"tools/list": ("tool", "tools", "name"), "prompts/list": ("prompt", "prompts", "name"), "resources/list": ("resource", "resources", "uri")}
#: what a request names, by method
CALLS = {"tools/call": "tool", "prompts/get": "prompt", "resources/read": "resource"}

PINNED = "pinned"
CHANGED = "changed"
REJECTED = "rejected"


def canonical(kind: str, item: dict[str, Any]) -> dict[str, Any]:
    return {k: item[k] for k in DEFINITION_KEYS[kind] if k in item}


def digestOf(definition: dict[str, Any]) -> str:
    text = json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def pinId(endpoint: str, kind: str, name: str) -> str:
    return hashlib.sha256(f"{endpoint}\n{kind}\n{name}".encode("utf-8")).hexdigest()[:16]


@attrs.define
class Pin:
    """
    One pinned definition, and its pending change if any.

    @ivar status: C{pinned}, C{changed} (a different definition was seen:
        withheld until approved) or C{rejected} (the change was rejected:
        still withheld).
    """

    id: str
    endpoint: str
    kind: str
    name: str
    approved: dict[str, Any]
    approvedDigest: str
    pinnedAt: float
    status: str = PINNED
    pending: Optional[dict[str, Any]] = None
    pendingDigest: Optional[str] = None
    pendingSince: Optional[float] = None

    @property
    def withheld(self) -> bool:
        return self.status != PINNED

    def diff(self) -> str:
        """
        A unified diff of the pinned definition and the pending one.
        """
        if self.pending is None:
            return ""
        old = json.dumps(self.approved, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
        new = json.dumps(self.pending, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
        return "\n".join(difflib.unified_diff(old, new, "pinned", "seen", lineterm=""))

    def asJSON(self) -> dict[str, Any]:
        out = attrs.asdict(self)
        out["diff"] = self.diff()
        return out

    @classmethod
    def fromJSON(cls, data: dict[str, Any]) -> "Pin":
        fields = {f.name for f in attrs.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in fields})


class PinStore:
    """
    The pins of every upstream endpoint.

    @param path: the state file, or None to keep pins in memory only.
    @param clock: C{seconds()} and C{callLater} (a write is made once per
        reactor turn however many pins changed in it).
    @param onChange: called with each pin that changed (for the shared
        store and for events).
    """

    def __init__(self, path: Optional[str], clock: Any, onChange: Optional[Callable[[Pin], None]] = None):
        self.path = path
        self.clock = clock
        self.onChange = onChange
        self._pins: dict[str, Pin] = {}
        self._write: Any = None
        self.writable = True
        #: (endpoint, kind, name) of the pins withheld now
        self.withheld: set[tuple[str, str, str]] = set()
        #: moves on every change: what was judged under another generation
        #: is judged again
        self.generation = 0

    def __len__(self) -> int:
        return len(self._pins)

    # -- persistence

    def load(self) -> None:
        if self.path is None:
            return
        try:
            with open(self.path, "rb") as f:
                data = json.loads(f.read())
            pins = [Pin.fromJSON(p) for p in data.get("pins", [])]
        except FileNotFoundError:
            return
        except (OSError, ValueError, TypeError) as e:
            aside = f"{self.path}.unreadable-{int(time.time())}"
            log.error("pins file {path} unreadable ({error}); set aside as {aside}, starting empty", path=self.path, error=str(e), aside=aside)
            try:
                os.replace(self.path, aside)
            except OSError:
                pass
            return
        self._pins = {p.id: p for p in pins}
        self.withheld = {(p.endpoint, p.kind, p.name) for p in pins if p.withheld}
        self.generation += 1

    def _index(self, pin: Pin) -> None:
        key = (pin.endpoint, pin.kind, pin.name)
        if pin.withheld:
            self.withheld.add(key)
        else:
            self.withheld.discard(key)

    def _changed(self, pin: Pin) -> None:
        self.generation += 1
        self._index(pin)
        if self.onChange is not None:
            try:
                self.onChange(pin)
            except Exception:
                log.failure("pin change observer failed")
        if self.path is not None and self._write is None:
            self._write = self.clock.callLater(0, self.save)

    def save(self) -> None:
        """
        Write every pin to the state file, atomically.
        """
        self._write = None
        if self.path is None:
            return
        data = json.dumps({"version": 1, "pins": [attrs.asdict(p) for p in self._pins.values()]}, indent=1, ensure_ascii=False)
        directory = os.path.dirname(os.path.abspath(self.path))
        try:
            os.makedirs(directory, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".pins-", dir=directory)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError as e:
            if self.writable:
                log.error("pins cannot be written to {path}: {error} (kept in memory)", path=self.path, error=str(e))
            self.writable = False
            return
        self.writable = True

    def flush(self) -> None:
        if self._write is not None:
            if self._write.active():
                self._write.cancel()
            self.save()

    # -- judging

    def judge(self, endpoint: str, kind: str, item: dict[str, Any]) -> Pin:
        """
        Judge a definition seen in a list: pinned on first sight; a
        different one is a pending change (withheld); the pinned one again
        clears a pending change.
        """
        name = item.get(LISTS_NAME[kind])
        definition = canonical(kind, item)
        digest = digestOf(definition)
        key = pinId(endpoint, kind, str(name))
        pin = self._pins.get(key)
        now = self.clock.seconds()
        if pin is None:
            pin = self._pins[key] = Pin(key, endpoint, kind, str(name), definition, digest, now)
            self._changed(pin)
            return pin
        if digest == pin.approvedDigest:
            if pin.status != PINNED:
                pin.status, pin.pending, pin.pendingDigest, pin.pendingSince = PINNED, None, None, None
                self._changed(pin)
            return pin
        if digest != pin.pendingDigest:
            pin.status, pin.pending, pin.pendingDigest, pin.pendingSince = CHANGED, definition, digest, now
            self._changed(pin)
        return pin

    def find(self, endpoint: str, kind: str, name: str) -> Optional[Pin]:
        return self._pins.get(pinId(endpoint, kind, name))

    def get(self, key: str) -> Optional[Pin]:
        return self._pins.get(key)

    def pins(self) -> list[Pin]:
        return sorted(self._pins.values(), key=lambda p: (p.endpoint, p.kind, p.name))

    # -- operators

    def approve(self, key: str) -> Optional[Pin]:
        """
        Pin the pending definition (it becomes what is allowed).
        """
        pin = self._pins.get(key)
        if pin is None or pin.pending is None:
            return pin
        assert pin.pendingDigest is not None
        pin.approved, pin.approvedDigest, pin.pinnedAt = pin.pending, pin.pendingDigest, self.clock.seconds()
        pin.status, pin.pending, pin.pendingDigest, pin.pendingSince = PINNED, None, None, None
        self._changed(pin)
        return pin

    def reject(self, key: str) -> Optional[Pin]:
        """
        Keep the pending definition refused.
        """
        pin = self._pins.get(key)
        if pin is None or pin.pending is None:
            return pin
        pin.status = REJECTED
        self._changed(pin)
        return pin

    def pinDefinitions(self, endpoint: str, kind: str, items: Iterable[dict[str, Any]]) -> list[Pin]:
        """
        Pin (pre-approve) definitions as given, replacing what was pinned.
        """
        out = []
        now = self.clock.seconds()
        for item in items:
            name = str(item.get(LISTS_NAME[kind]))
            definition = canonical(kind, item)
            key = pinId(endpoint, kind, name)
            pin = self._pins[key] = Pin(key, endpoint, kind, name, definition, digestOf(definition), now)
            self._changed(pin)
            out.append(pin)
        return out

    def replaceAll(self, pins: Iterable[Pin]) -> None:
        """
        Take the pins of the shared store (another instance changed them).
        """
        pins = {p.id: p for p in pins}
        if pins == self._pins:
            return
        self._pins = pins
        self.withheld = {(p.endpoint, p.kind, p.name) for p in self._pins.values() if p.withheld}
        self.generation += 1
        if self.path is not None and self._write is None:
            self._write = self.clock.callLater(0, self.save)



LISTS_NAME = {kind: nameField for kind, _, nameField in LISTS.values()}


class SharedPins(Service):
    """
    With C{redis:}: every change written to a Redis hash (C{<prefix>pins})
    and a version counter; the version polled every C{interval} seconds and,
    when another instance moved it, every pin reloaded.

    Redis down: the instance keeps its own pins; its changes meanwhile are
    kept and written at the next poll that reaches Redis (until then the
    shared copy does not overwrite them), and it catches up with the
    others'.  A counter that went back (Redis restarted empty) is a first
    contact again: what only this instance knows is shared once more.
    """

    name = "pins"

    def __init__(self, store: PinStore, redis: Any, clock: Any, interval: float = 2.0):
        self.store = store
        self.redis = redis
        self.clock = clock
        self.interval = interval
        self._version: Optional[int] = None
        self._loop: Optional[LoopingCall] = None
        self._hash = redis.key("pins")
        self._counter = redis.key("pins", "version")
        #: changes not yet written, by pin id: (pin, change number)
        self._unsent: dict[str, tuple[Pin, int]] = {}
        self._changes = 0

    def startService(self) -> None:
        super().startService()
        self._loop = LoopingCall(self.poll)
        self._loop.clock = self.clock
        self._loop.start(self.interval, now=True)

    def stopService(self) -> None:
        super().stopService()
        if self._loop is not None and self._loop.running:
            self._loop.stop()

    def changed(self, pin: Pin) -> None:
        self._changes += 1
        self._unsent[pin.id] = (pin, self._changes)
        self._send().addErrback(lambda f: log.warn("pin not shared through redis yet: {error}", error=f.getErrorMessage()))

    def _send(self) -> Any:
        """
        Write every change not written yet (one HSET of all, one INCR).
        """
        if not self._unsent:
            return succeed(None)
        batch = list(self._unsent.values())
        payload = {pin.id: json.dumps(attrs.asdict(pin), ensure_ascii=False) for pin, _ in batch}

        def write(conn: Any) -> Any:
            d = conn.hmset(self._hash, payload)
            return d.addCallback(lambda _: conn.incr(self._counter))

        def sent(version: Any) -> None:
            for pin, n in batch:
                if self._unsent.get(pin.id, (None, None))[1] == n:
                    del self._unsent[pin.id]
            self._seen(version)

        return self.redis.call(write).addCallback(sent)

    def _seen(self, version: Any) -> None:
        """
        Our own write moved the counter to C{version}: taken as seen only
        when nobody else moved it meanwhile (else the next poll reloads).
        """
        try:
            v = int(version)
        except (TypeError, ValueError):
            return
        if self._version is not None and v == self._version + 1:
            self._version = v

    def poll(self) -> Any:
        d = self._send()
        d.addCallback(lambda _: self.redis.call(lambda conn: conn.get(self._counter)))
        d.addCallback(self._compare)
        d.addErrback(lambda f: None)  # down: logged by the Redis state once
        return d

    def _compare(self, version: Any) -> Any:
        current = int(version) if version is not None else 0
        if current == self._version:
            return None
        if self._version is not None and current < self._version:
            log.warn("shared pins lost (Redis restarted empty?): sharing this instance's again")
            self._version = None
        d = self.redis.call(lambda conn: conn.hgetall(self._hash))
        d.addCallback(self._reload, current)
        return d

    def _reload(self, shared: dict[Any, Any], version: int) -> None:
        mine = {p.id: p for p in self.store.pins()}
        pins = []
        for value in (shared or {}).values():
            try:
                pins.append(Pin.fromJSON(json.loads(value)))
            except (ValueError, TypeError):
                continue
        theirs = {p.id for p in pins}
        firstContact = self._version is None
        self._version = version
        for pin in pins:
            if pin.id not in self._unsent:
                mine[pin.id] = pin
        generation = self.store.generation
        self.store.replaceAll(mine.values())
        if self.store.generation != generation and not firstContact:
            log.info("pins updated from another instance: {count} pins", count=len(mine))
        if firstContact:
            # what only this instance knew is shared too, in one write
            for key, pin in mine.items():
                if key not in theirs:
                    self._changes += 1
                    self._unsent[key] = (pin, self._changes)
            self._send().addErrback(lambda f: log.warn("pins not shared through redis yet: {error}", error=f.getErrorMessage()))


__all__ = ["CALLS", "CHANGED", "LISTS", "PINNED", "Pin", "PinStore", "REJECTED", "SharedPins", "canonical", "digestOf", "pinId"]
