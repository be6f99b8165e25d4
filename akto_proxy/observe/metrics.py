"""
Prometheus metrics (SPEC section 7, C{GET /metrics}): the daemon's own
registry, fed by the event stream (an exchange event per request, the
notable message events) and by gauges read at scrape time.

Every series carries C{proxy_instance} (C{metrics.instance}, else the host
name with the systemd instance or the pid), so that the processes of one
host, scraped apart, stay apart.  Labels are bounded: C{upstream} is the
upstream's host and port, the first L{MAX_UPSTREAMS} seen and then
C{other}; C{method} is an MCP method from a fixed list (else C{other}) or
the HTTP method; checks and rules come from the configuration.

Clean traffic costs one counter and at most three histogram observations
per request: the labelled children are looked up once and kept.
"""

from __future__ import annotations

import os
import socket
from bisect import bisect_left
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, InfoMetricFamily
from prometheus_client.utils import floatToGoString
from prometheus_client.registry import Collector
from twisted.application.service import Service

from akto_proxy import __version__
from akto_proxy.config import Config
from akto_proxy.config.lint import MCP_METHODS as KNOWN_METHODS
from akto_proxy.config.model import MetricsConfig
from akto_proxy.mcp.events import EventBus, ExchangeEvent, MessageEvent
from akto_proxy.relay.breaker import STATE_VALUES

if TYPE_CHECKING:
    from akto_proxy.service import ProxyService

PREFIX = "akto_proxy"
#: distinct upstream label values kept before the rest count as C{other}
MAX_UPSTREAMS = 200
#: MCP methods named as themselves in labels (notifications as one)
MCP_METHODS = frozenset(m for m in KNOWN_METHODS if not m.startswith("notifications/"))
HTTP_METHODS = frozenset(("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"))
#: seconds: from sub-millisecond (what the proxy adds) to minutes (upstreams)
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
INSPECTION_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.0)


def instanceName(config: MetricsConfig) -> str:
    """
    C{metrics.instance}, else the host name and the systemd template
    instance (C{AKTO_PROXY_INSTANCE}), else the host name and the pid.
    """
    if config.instance:
        return config.instance
    host = socket.gethostname()
    unit = os.environ.get("AKTO_PROXY_INSTANCE")
    return f"{host}:{unit}" if unit else f"{host}:{os.getpid()}"


def methodLabel(rpcMethod: Optional[str], httpMethod: Optional[str]) -> str:
    if rpcMethod:
        if rpcMethod in MCP_METHODS:
            return rpcMethod
        return "notifications/*" if rpcMethod.startswith("notifications/") else "other"
    if httpMethod in HTTP_METHODS:
        return httpMethod  # type: ignore[return-value]
    return "other"


class Histo:
    """
    A histogram's bucket counts (not cumulative) and sum, for one thread.
    """

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]):
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    def cumulative(self) -> list[tuple[str, int]]:
        out = []
        total = 0
        for bound, n in zip(self.bounds + (float("inf"),), self.counts):
            total += n
            out.append((floatToGoString(bound), total))
        return out


#: the hot-path histograms: (kind, name, help)
DURATIONS = (
    ("request", "request_duration_seconds", "Time from a request's arrival to its answer's end (plain HTTP answers; streams are not timed)."),
    ("upstream", "upstream_duration_seconds", "Time from a request sent upstream to the upstream's response head (a WebSocket: its handshake)."),
    ("added", "added_duration_seconds", "What the proxy added to a plain HTTP answer: its whole time less the upstream's."),
)


class Metrics(Service):
    """
    The registry and what feeds it.

    @ivar registry: the daemon's own (never the global one).
    """

    name = "metrics"

    def __init__(self, config: MetricsConfig, bus: EventBus, proxy: Optional["ProxyService"] = None):
        self.config = config
        self.bus = bus
        self.proxy = proxy
        self.instance = instanceName(config)
        # no _created series beside each counter (twice the series for a
        # figure rate() does not need)
        disable_created_metrics()
        self.registry = CollectorRegistry(auto_describe=True)
        self._sources: list[Callable[[], Iterable[tuple[str, str, dict[str, str], float]]]] = []
        labels = {"proxy_instance": self.instance}
        self._base = labels
        r = self.registry

        def counter(name: str, doc: str, names: Iterable[str] = ()) -> Counter:
            return Counter(f"{PREFIX}_{name}", doc, ["proxy_instance", *names], registry=r)

        def histogram(name: str, doc: str, names: Iterable[str], buckets: tuple[float, ...]) -> Histogram:
            return Histogram(f"{PREFIX}_{name}", doc, ["proxy_instance", *names], registry=r, buckets=buckets)

        # the hot path (one exchange per request): plain dicts and bucket
        # lists, turned into metric families at scrape time (a
        # prometheus_client child takes a lock per increment: 5 us a request
        # for a counter and three histograms, against 1 us this way)
        self.requests: dict[tuple[str, str, str, str], int] = {}
        self.durations: dict[tuple[str, str], Histo] = {}
        self.threats = counter("threats_detected", "Findings of the checks, by check, rule, direction and whether enforced.", ("check", "rule", "severity", "direction", "enforced"))
        self.blocked = counter("messages_blocked", "Messages refused because of a finding, by check and rule.", ("check", "rule"))
        self.redacted = counter("messages_redacted", "Messages relayed with matches masked, by check and rule.", ("check", "rule"))
        self.refused = counter("messages_refused", "Messages not relayed as they came, by outcome and transport (blocked, role_denied, rate_limited, filtered, redacted...).", ("outcome", "transport"))
        self.rateLimited = counter("rate_limit_hits", "Requests refused by a rate limit, by guardrail.", ("guardrail",))
        self.fallbacks = counter("upstream_fallbacks", "Requests answered by a fallback upstream, by the upstream the client named.", ("upstream",))
        self.upstreamErrors = counter("upstream_errors", "Upstream failures, by kind (timeout, refused, dns, tls, reset, malformed, handshake, fence, other).", ("kind",))
        self.reloads = counter("config_reloads", "Configuration reloads, by result (ok, error).", ("result",))
        self.inspection = histogram("inspection_duration_seconds", "Time the inspection chain took on a message it could not prove clean at once.", ("direction",), INSPECTION_BUCKETS)
        for result in ("ok", "error"):
            self.reloads.labels(self.instance, result)
        r.register(_Gauges(self))
        self._labels: dict[tuple[Any, ...], tuple[str, str, str, str]] = {}
        self._upstreams: set[str] = set()

    # -- service

    def startService(self) -> None:
        super().startService()
        if self.config.enabled:
            self._subscribe()

    def stopService(self) -> None:
        super().stopService()
        self._unsubscribe()

    def _subscribe(self) -> None:
        self.bus.subscribe(ExchangeEvent, self.exchange)
        self.bus.subscribe(MessageEvent, self.message, notableOnly=True)

    def _unsubscribe(self) -> None:
        self.bus.unsubscribe(ExchangeEvent, self.exchange)
        self.bus.unsubscribe(MessageEvent, self.message)

    def reconfigure(self, full: Config) -> None:
        """
        A reload may turn the metrics on or off (C{metrics.instance} is
        kept: a series renamed mid-life would break every rate()).
        """
        was = self.config.enabled
        self.config = full.metrics
        if self.running and was != self.config.enabled:
            if self.config.enabled:
                self._subscribe()
            else:
                self._unsubscribe()

    def addSource(self, source: Callable[[], Iterable[tuple[str, str, dict[str, str], float]]]) -> None:
        """
        Values read at scrape time from another part (alert deliveries...):
        C{source()} gives (name, help, labels, value) for counters, named
        without the prefix and with C{_total}.
        """
        self._sources.append(source)

    # -- subscribers

    def _upstream(self, upstream: Optional[str]) -> str:
        if not upstream:
            return "none"
        # scheme://host:port/path...: the host and port
        _, _, rest = upstream.partition("://")
        upstream = rest.partition("/")[0] or upstream
        if upstream in self._upstreams:
            return upstream
        if len(self._upstreams) >= MAX_UPSTREAMS:
            return "other"
        self._upstreams.add(upstream)
        return upstream

    def exchange(self, event: ExchangeEvent) -> None:
        f = event.fields
        transport = f.get("transport") or "http"
        raw = (transport, f.get("upstream"), f.get("rpc_method"), f.get("method"), f.get("status"))
        labels = self._labels.get(raw)
        if labels is None:
            if len(self._labels) > 20000:
                self._labels.clear()
            labels = self._labels[raw] = (transport, self._upstream(raw[1]), methodLabel(raw[2], raw[3]), str(raw[4]))
        requests = self.requests
        requests[labels] = requests.get(labels, 0) + 1
        upstreamMs = f.get("upstream_ms")
        if upstreamMs is not None:
            self._observe("upstream", transport, upstreamMs / 1000.0)
        if transport == "http":
            latency = f.get("latency_ms")
            if latency is not None:
                self._observe("request", transport, latency / 1000.0)
                if upstreamMs is not None:
                    self._observe("added", transport, max(0.0, latency - upstreamMs) / 1000.0)
        if f.get("fallback"):
            self.fallbacks.labels(self.instance, labels[1]).inc()
        kind = f.get("upstream_error")
        if kind:
            self.upstreamErrors.labels(self.instance, kind).inc()

    def _observe(self, kind: str, transport: str, seconds: float) -> None:
        h = self.durations.get((kind, transport))
        if h is None:
            h = self.durations[(kind, transport)] = Histo(LATENCY_BUCKETS)
        h.observe(seconds)

    def message(self, event: MessageEvent) -> None:
        instance = self.instance
        direction = event.direction
        outcome = event.outcome
        for finding in event.findings:
            self.threats.labels(instance, finding.check, finding.rule, finding.severity, direction, "true" if finding.enforced else "false").inc()
            if finding.enforced and outcome == "blocked":
                self.blocked.labels(instance, finding.check, finding.rule).inc()
            elif finding.enforced and outcome == "redacted":
                self.redacted.labels(instance, finding.check, finding.rule).inc()
        if outcome != "relayed":
            self.refused.labels(instance, outcome, event.transport).inc()
        if outcome == "rate_limited":
            for name in event.guardrails or ("rate_limit",):
                self.rateLimited.labels(instance, name).inc()

    def reloaded(self, ok: bool) -> None:
        self.reloads.labels(self.instance, "ok" if ok else "error").inc()

    def inspected(self, direction: str, seconds: float) -> None:
        self.inspection.labels(self.instance, direction).observe(seconds)

    def text(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)


class _Gauges(Collector):
    """
    What is read at scrape time: open streams, sockets, sessions, requests
    in flight, pending pin changes, the configuration generation, the
    start time and the build; and the counters of other parts.
    """

    def __init__(self, metrics: Metrics):
        self.metrics = metrics

    def describe(self) -> list[Any]:
        return []  # values are read at scrape time

    def collect(self) -> Iterable[Any]:
        m = self.metrics
        instance = m.instance
        info = InfoMetricFamily(f"{PREFIX}_build", "The proxy's version.", labels=["proxy_instance"])
        info.add_metric([instance], {"version": __version__})
        yield info
        proxy = m.proxy
        if proxy is not None:
            values = (
                ("open_sse_streams", "SSE streams open now.", len(proxy.streams)),
                ("open_websockets", "WebSockets open now.", len(proxy.sockets)),
                ("sessions", "MCP sessions (and WebSockets) bound to a key.", len(proxy.sessionTable)),
                ("inflight_requests", "Requests being answered now.", len(proxy.inflight)),
                ("pins_pending", "Tool (prompt, resource) definitions changed and awaiting approval.", sum(1 for p in proxy.pins.pins() if p.pending is not None)),
                ("config_generation", "The configuration generation in force (1 at start, one more per reload).", proxy.runtime.generation),
                ("start_time_seconds", "When the proxy started, in seconds since the epoch.", proxy.startedAtWall),
            )
            for name, doc, value in values:
                g = GaugeMetricFamily(f"{PREFIX}_{name}", doc, labels=["proxy_instance"])
                g.add_metric([instance], float(value))
                yield g
            circuits = GaugeMetricFamily(
                f"{PREFIX}_upstream_circuit_state",
                "Circuit of each upstream in a fallback chain: 0 closed (used), 1 half-open (one probe), 2 open (skipped).",
                labels=["proxy_instance", "upstream"],
            )
            failures = GaugeMetricFamily(
                f"{PREFIX}_upstream_consecutive_failures",
                "Consecutive failures of each upstream in a fallback chain.",
                labels=["proxy_instance", "upstream"],
            )
            for origin, state in proxy.breakers.health(proxy.runtime.fallbacks.origins()).items():
                circuits.add_metric([instance, origin], float(STATE_VALUES[state["state"]]))
                failures.add_metric([instance, origin], float(state["consecutive_failures"]))
            yield circuits
            yield failures
        requests = CounterMetricFamily(
            f"{PREFIX}_requests",
            "Requests through the proxy (a WebSocket: its connection), by transport, upstream, method and status.",
            labels=["proxy_instance", "transport", "upstream", "method", "status"],
        )
        for labels, n in list(m.requests.items()):
            requests.add_metric([instance, *labels], n)
        yield requests
        for kind, name, doc in DURATIONS:
            h = HistogramMetricFamily(f"{PREFIX}_{name}", doc, labels=["proxy_instance", "transport"])
            for (k, transport), histo in list(m.durations.items()):
                if k == kind:
                    h.add_metric([instance, transport], histo.cumulative(), histo.sum)
            yield h
        families: dict[str, Any] = {}
        for source in m._sources:
            for name, doc, labels, value in source():
                family = families.get(name)
                if family is None:
                    family = families[name] = CounterMetricFamily(f"{PREFIX}_{name}", doc, labels=["proxy_instance", *labels])
                family.add_metric([instance, *labels.values()], value)
        yield from families.values()


__all__ = ["MAX_UPSTREAMS", "Metrics", "instanceName", "methodLabel"]
