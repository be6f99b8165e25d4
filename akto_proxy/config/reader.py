"""
Walk a YAML node tree with positions, so that every error names the file,
line and dotted key it is about.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from typing import Any, Iterable, NoReturn, Optional, Sequence

import yaml


class ConfigError(Exception):
    """
    A configuration file is invalid.  C{str()} is the operator's message:
    C{FILE:LINE: KEY: what is wrong}.
    """

    def __init__(self, filename: str, line: int | None, key: str, message: str):
        self.filename = filename
        self.line = line
        self.key = key
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.filename if self.line is None else f"{self.filename}:{self.line}"
        if self.key:
            return f"{where}: {self.key}: {self.message}"
        return f"{where}: {self.message}"


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB|k|K|M|G)?\s*$")
_SIZE_UNITS = {
    None: 1,
    "B": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "k": 1024,
    "K": 1024,
    "KiB": 1024,
    "M": 1024**2,
    "MiB": 1024**2,
    "G": 1024**3,
    "GiB": 1024**3,
}


def parseDuration(text: str) -> float | None:
    """
    C{30s}, C{5m}, C{1h}, C{250ms}, or a bare number of seconds.
    """
    m = _DURATION.match(text)
    if m is None:
        return None
    return float(m.group(1)) * _DURATION_UNITS[m.group(2)]


def parseSize(text: str) -> int | None:
    """
    C{512KiB}, C{8MiB}, C{1GB}, or a bare number of bytes.
    """
    m = _SIZE.match(text)
    if m is None:
        return None
    return int(float(m.group(1)) * _SIZE_UNITS[m.group(2)])


class Reader:
    """
    One node of the YAML document, with the dotted key that leads to it.
    """

    def __init__(self, filename: str, node: yaml.Node, key: str, notes: Optional[list[str]] = None):
        self.filename = filename
        self.node = node
        self.key = key
        #: warnings about what parses but cannot be meant, shared by every
        #: reader of one document
        self.notes: list[str] = notes if notes is not None else []

    @property
    def line(self) -> int:
        return int(self.node.start_mark.line) + 1

    def fail(self, message: str) -> NoReturn:
        raise ConfigError(self.filename, self.line, self.key, message)

    def warn(self, message: str) -> None:
        """
        Record a warning (C{FILE:LINE: KEY: message}): the file loads, and
        C{--check} and the daemon's start-up say what looks wrong.
        """
        self.notes.append(f"{self.filename}:{self.line}: {self.key}: {message}")

    def _child(self, node: yaml.Node, name: str) -> "Reader":
        key = f"{self.key}.{name}" if self.key else name
        return Reader(self.filename, node, key, self.notes)

    def isNull(self) -> bool:
        return isinstance(self.node, yaml.ScalarNode) and self.node.tag.endswith(":null")

    def mapping(self, allowed: Iterable[str], required: Iterable[str] = ()) -> dict[str, "Reader"]:
        if self.isNull():
            out: dict[str, Reader] = {}
        elif not isinstance(self.node, yaml.MappingNode):
            self.fail("expected a mapping")
        else:
            allowedSet = list(allowed)
            out = {}
            for keyNode, valueNode in self.node.value:
                if not isinstance(keyNode, yaml.ScalarNode):
                    Reader(self.filename, keyNode, self.key, self.notes).fail("keys must be plain strings")
                name = str(keyNode.value)
                child = self._child(valueNode, name)
                if name not in allowedSet:
                    hint = difflib.get_close_matches(name, allowedSet, n=1)
                    message = "unknown key"
                    if hint:
                        message += f" (did you mean {hint[0]!r}?)"
                    else:
                        message += f" (expected one of: {', '.join(sorted(allowedSet))})"
                    raise ConfigError(self.filename, keyNode.start_mark.line + 1, child.key, message)
                if name in out:
                    raise ConfigError(
                        self.filename, keyNode.start_mark.line + 1, child.key, "duplicate key"
                    )
                out[name] = child
        for name in required:
            if name not in out:
                self.fail(f"missing required key {name!r}")
        return out

    def sequence(self) -> list["Reader"]:
        if self.isNull():
            return []
        if not isinstance(self.node, yaml.SequenceNode):
            self.fail("expected a list")
        return [self._child(n, f"[{i}]").relabel(f"{self.key}[{i}]") for i, n in enumerate(self.node.value)]

    def relabel(self, key: str) -> "Reader":
        return Reader(self.filename, self.node, key, self.notes)

    def mappingOf(self) -> list[tuple[str, "Reader"]]:
        """
        A mapping with free keys (role names, check names).
        """
        if self.isNull():
            return []
        if not isinstance(self.node, yaml.MappingNode):
            self.fail("expected a mapping")
        seen: set[str] = set()
        out = []
        for keyNode, valueNode in self.node.value:
            name = str(keyNode.value)
            if name in seen:
                raise ConfigError(
                    self.filename, keyNode.start_mark.line + 1, f"{self.key}.{name}", "duplicate key"
                )
            seen.add(name)
            out.append((name, self._child(valueNode, name)))
        return out

    def value(self) -> Any:
        loader = yaml.SafeLoader("")
        try:
            return loader.construct_object(self.node, deep=True)
        finally:
            loader.dispose()

    def string(self, allowEmpty: bool = False) -> str:
        if not isinstance(self.node, yaml.ScalarNode) or self.isNull():
            self.fail("expected a string")
        v = self.value()
        if isinstance(v, bool):
            self.fail("expected a string, got a boolean (quote it)")
        text = str(v)
        if not text and not allowEmpty:
            self.fail("must not be empty")
        return text

    def optString(self) -> str | None:
        return None if self.isNull() else self.string()

    def boolean(self) -> bool:
        v = self.value()
        if not isinstance(v, bool):
            self.fail("expected true or false")
        return v

    def integer(self, minimum: int | None = None, maximum: int | None = None) -> int:
        v = self.value()
        if isinstance(v, bool) or not isinstance(v, int):
            self.fail("expected an integer")
        if minimum is not None and v < minimum:
            self.fail(f"must be at least {minimum}")
        if maximum is not None and v > maximum:
            self.fail(f"must be at most {maximum}")
        return v

    def duration(self) -> float:
        v = self.value()
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            seconds = float(v)
        else:
            parsed = parseDuration(str(v))
            if parsed is None:
                self.fail(f"invalid duration {v!r} (use e.g. 30s, 5m, 1h)")
            seconds = parsed
        if seconds < 0:
            self.fail("must not be negative")
        return seconds

    def size(self) -> int:
        v = self.value()
        if isinstance(v, int) and not isinstance(v, bool):
            n = v
        else:
            parsed = parseSize(str(v))
            if parsed is None:
                self.fail(f"invalid size {v!r} (use e.g. 512KiB, 8MiB)")
            n = parsed
        if n <= 0:
            self.fail("must be positive")
        return n

    def choice(self, choices: Sequence[str]) -> str:
        v = self.string()
        if v not in choices:
            hint = difflib.get_close_matches(v, choices, n=1)
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            self.fail(f"must be one of {', '.join(choices)}, not {v!r}{extra}")
        return v

    def strings(self) -> tuple[str, ...]:
        return tuple(r.string() for r in self.sequence())

    def choices(self, choices: Sequence[str]) -> tuple[str, ...]:
        return tuple(r.choice(choices) for r in self.sequence())

    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        text = self.string()
        try:
            return ipaddress.ip_network(text.strip("[]"), strict=False)
        except ValueError:
            self.fail(f"invalid address or CIDR {text!r}")

    def networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(r.network() for r in self.sequence())
