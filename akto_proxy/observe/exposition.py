"""
Prometheus's text format (version 0.0.4), written as prometheus-client
writes it (its C{generate_latest}: the same names, order, label order and
number formats), for the few kinds of series the proxy has: labelled
counters and histograms kept here, and families made at scrape time.

prometheus-client itself is not imported: its package brings an HTTP
server, WSGI and ASGI apps, gzip and urllib (1.1 MiB of a running proxy's
memory) for what is here a hundred lines.  The reactor thread alone
updates these counters (no locks).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from typing import Iterable, Sequence

#: a sample: its name, its labels, its value
Sample = tuple[str, dict[str, str], float]

#: the answer's Content-Type (prometheus-client's C{CONTENT_TYPE_LATEST})
CONTENT_TYPE = "text/plain; version=1.0.0; charset=utf-8"


def goFloat(value: float) -> str:
    """
    C{value} as Go's (and Prometheus's) text: C{+Inf}, C{-Inf}, C{NaN},
    else Python's shortest form, with an exponent where Go switches to one
    sooner than Python.
    """
    d = float(value)
    if d == math.inf:
        return "+Inf"
    if d == -math.inf:
        return "-Inf"
    if math.isnan(d):
        return "NaN"
    s = repr(d)
    dot = s.find(".")
    if d > 0 and dot > 6:
        mantissa = f"{s[0]}.{s[1:dot]}{s[dot + 1:]}".rstrip("0.")
        return f"{mantissa}e+{dot - 1:02d}"
    return s


class Family:
    """
    The samples of one metric, in the order they were added.

    @ivar type: C{counter} (its samples' names end in C{_total}), C{gauge},
        C{histogram} or C{info} (one sample, C{_info}, valued 1).
    """

    __slots__ = ("name", "help", "type", "labels", "samples")

    def __init__(self, name: str, help: str, type: str, labels: Sequence[str] = ()):
        if type == "counter" and name.endswith("_total"):
            name = name[: -len("_total")]  # the samples' suffix
        self.name = name
        self.help = help
        self.type = type
        self.labels = tuple(labels)
        self.samples: list[Sample] = []

    def add(self, values: Sequence[str], value: float) -> None:
        """
        A counter's or gauge's sample for the label C{values}.
        """
        suffix = "_total" if self.type == "counter" else ""
        self.samples.append((self.name + suffix, dict(zip(self.labels, values)), value))

    def addInfo(self, values: Sequence[str], info: dict[str, str]) -> None:
        self.samples.append((self.name + "_info", {**dict(zip(self.labels, values)), **info}, 1.0))

    def addHistogram(self, values: Sequence[str], histo: "Histo") -> None:
        labels = dict(zip(self.labels, values))
        total = 0
        for bound, n in zip(histo.bounds + (math.inf,), histo.counts):
            total += n
            self.samples.append((self.name + "_bucket", {**labels, "le": goFloat(bound)}, total))
        self.samples.append((self.name + "_count", labels, total))
        self.samples.append((self.name + "_sum", labels, histo.sum))


class Histo:
    """
    A histogram's bucket counts (not cumulative) and sum.
    """

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]):
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value


class Counter:
    """
    A counter per combination of label values.
    """

    def __init__(self, name: str, help: str, labels: Sequence[str]):
        self.name = name
        self.help = help
        self.labels = tuple(labels)
        self.values: dict[tuple[str, ...], float] = {}

    def inc(self, *values: str) -> None:
        self.values[values] = self.values.get(values, 0.0) + 1.0

    def touch(self, *values: str) -> None:
        """
        Show the series for C{values} from the start, at 0.
        """
        self.values.setdefault(values, 0.0)

    def family(self) -> Family:
        f = Family(self.name, self.help, "counter", self.labels)
        for values, n in list(self.values.items()):
            f.add(values, n)
        return f


class Histogram:
    """
    A histogram per combination of label values.
    """

    def __init__(self, name: str, help: str, labels: Sequence[str], buckets: tuple[float, ...]):
        self.name = name
        self.help = help
        self.labels = tuple(labels)
        self.buckets = buckets
        self.values: dict[tuple[str, ...], Histo] = {}

    def observe(self, value: float, *values: str) -> None:
        h = self.values.get(values)
        if h is None:
            h = self.values[values] = Histo(self.buckets)
        h.observe(value)

    def family(self) -> Family:
        f = Family(self.name, self.help, "histogram", self.labels)
        for values, h in list(self.values.items()):
            f.addHistogram(values, h)
        return f


def _label(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def render(families: Iterable[Family]) -> bytes:
    """
    The text exposition of C{families}.
    """
    out: list[str] = []
    for f in families:
        name, type = f.name, f.type
        if type == "counter":
            name += "_total"
        elif type == "info":
            name, type = name + "_info", "gauge"
        out.append(f"# HELP {name} {f.help.replace(chr(92), chr(92) * 2).replace(chr(10), chr(92) + 'n')}\n")
        out.append(f"# TYPE {name} {type}\n")
        for sample, labels, value in f.samples:
            if labels:
                text = ",".join(f'{k}="{_label(v)}"' for k, v in sorted(labels.items()))
                out.append(f"{sample}{{{text}}} {goFloat(value)}\n")
            else:
                out.append(f"{sample} {goFloat(value)}\n")
    return "".join(out).encode("utf-8")


__all__ = ["CONTENT_TYPE", "Counter", "Family", "Histo", "Histogram", "goFloat", "render"]
