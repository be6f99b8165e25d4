"""
The metrics' text (akto_proxy.observe.exposition) is what prometheus-client
writes for the same series, byte for byte: names, order, label order and
escapes, number formats.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings, strategies as st
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter as PCounter, Histogram as PHistogram, disable_created_metrics, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.observe.exposition import CONTENT_TYPE, Counter, Family, Histo, Histogram, goFloat, render

BUCKETS = (0.0005, 0.001, 0.5, 2.0, 60.0)
LABEL = st.text(st.sampled_from(list('ab"\\\n{}=,é ') + ["\u2028"]), max_size=6)
VALUE = st.one_of(
    st.floats(min_value=0, max_value=1e20, allow_nan=False),
    st.sampled_from([0.0, 1.0, 1e-9, 123456.0, 1234567.0, 12345678901.0, 1e16, float("inf")]),
)


class _Fixed(Collector):
    def __init__(self, families: list[Any]):
        self.families = families

    def collect(self) -> Any:
        return self.families

    def describe(self) -> list[Any]:
        return []


class ExpositionTests(SynchronousTestCase):
    @settings(max_examples=200, deadline=None)
    @given(
        st.lists(st.tuples(LABEL, LABEL), max_size=4),
        st.lists(st.tuples(LABEL, st.floats(min_value=0, max_value=100)), max_size=6),
        st.lists(st.tuples(LABEL, VALUE), max_size=3),
        st.text(st.sampled_from(list("ab \\\n")), max_size=8),
    )
    def test_asPrometheusClientWrites(
        self, counted: list[tuple[str, str]], observed: list[tuple[str, float]], gauges: list[tuple[str, float]], doc: str
    ) -> None:
        disable_created_metrics()
        registry = CollectorRegistry(auto_describe=True)
        pc = PCounter("x_counted", "Counted " + doc, ["a", "b"], registry=registry)
        ph = PHistogram("x_timed_seconds", "Timed.", ["a"], registry=registry, buckets=BUCKETS)
        counter = Counter("x_counted", "Counted " + doc, ["a", "b"])
        histogram = Histogram("x_timed_seconds", "Timed.", ["a"], BUCKETS)
        pc.labels("z", "z")  # shown at 0
        counter.touch("z", "z")
        for a, b in counted:
            pc.labels(a, b).inc()
            counter.inc(a, b)
        for a, seconds in observed:
            ph.labels(a).observe(seconds)
            histogram.observe(seconds, a)
        info = InfoMetricFamily("x_build", "Build " + doc, labels=["a"])
        info.add_metric(["i"], {"version": "1.0"})
        mine = [Family("x_build", "Build " + doc, "info", ["a"])]
        mine[0].addInfo(["i"], {"version": "1.0"})
        gauge = GaugeMetricFamily("x_open", "Open.", labels=["a"])
        total = CounterMetricFamily("x_sent_total", "Sent.", labels=["a"])
        myGauge, myTotal = Family("x_open", "Open.", "gauge", ["a"]), Family("x_sent_total", "Sent.", "counter", ["a"])
        for a, v in gauges:
            gauge.add_metric([a], v)
            total.add_metric([a], v)
            myGauge.add([a], v)
            myTotal.add([a], v)
        hist = HistogramMetricFamily("x_lat_seconds", "Latency.", labels=["a"])
        histo = Histo(BUCKETS)
        for _, seconds in observed:
            histo.observe(seconds)
        buckets, cumulative = [], 0
        for bound, n in zip(BUCKETS + (float("inf"),), histo.counts):
            cumulative += n
            buckets.append((goFloat(bound), cumulative))
        hist.add_metric(["h"], buckets, histo.sum)
        myHist = Family("x_lat_seconds", "Latency.", "histogram", ["a"])
        myHist.addHistogram(["h"], histo)
        registry.register(_Fixed([info, gauge, total, hist]))
        expected = generate_latest(registry)
        self.assertEqual(render([counter.family(), histogram.family(), *mine, myGauge, myTotal, myHist]), expected)

    def test_goFloat(self) -> None:
        for v, text in ((1.0, "1.0"), (5e-05, "5e-05"), (float("inf"), "+Inf"), (-float("inf"), "-Inf"), (12345678901.0, "1.2345678901e+10"), (1234567.0, "1.234567e+06"), (123456.0, "123456.0")):
            self.assertEqual(goFloat(v), text)

    def test_contentType(self) -> None:
        self.assertEqual(CONTENT_TYPE, CONTENT_TYPE_LATEST)
