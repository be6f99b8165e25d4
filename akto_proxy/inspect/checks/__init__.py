"""
Inspection steps built from the configuration.
"""

from __future__ import annotations

from typing import Any

from akto_proxy.config.model import CHECKS, Config
from akto_proxy.inspect.chain import Inspector
from akto_proxy.inspect.checks.custom import PatternInspector, PatternRule
from akto_proxy.inspect.checks.injection import InjectionInspector
from akto_proxy.inspect.checks.offload import offloadFor
from akto_proxy.inspect.checks.pii import PiiInspector
from akto_proxy.inspect.checks.scope import Exclusions
from akto_proxy.inspect.checks.threats import ThreatInspector


def enabledChecks(config: Config) -> tuple[str, ...]:
    """
    The threat checks that run: C{enabled_checks}, or all of them when the
    list is empty.
    """
    enabled = config.threat_detection.enabled_checks
    return CHECKS if enabled is None else enabled


def buildInspectors(config: Config, reactor: Any = None, threads: Any = None) -> list[Inspector]:
    """
    The chain's steps for C{config}, in order: threat checks, custom rules,
    guardrails (content filters, PII).  Checks that are off cost nothing:
    they are not built.  Given a reactor, large messages are inspected off
    the reactor thread, in C{threads} (a L{twisted.python.threadpool.
    ThreadPool}) or else the reactor's own pool.
    """
    steps: list[Inspector] = []
    td = config.threat_detection
    offload = offloadFor(reactor, threads)
    checks = enabledChecks(config)
    if checks:
        steps.append(ThreatInspector(td, checks, offload))
    exclusions = Exclusions(td.exclusions)
    if td.custom_rules:
        settings = td.settings("custom_rules")
        mode = settings.mode or td.mode
        steps.append(
            PatternInspector(
                "custom_rules",
                [PatternRule(r.name, r.pattern, r.action, r.severity, r.keys) for r in td.custom_rules],
                monitor=mode == "monitor",
                on_error=settings.on_error,
                exclusions=exclusions,
                offload=offload,
            )
        )
    for g in config.guardrails:
        mode = g.mode or td.mode
        if g.type == "content_filter":
            rules = [
                PatternRule(r.name or f"{g.name}#{i + 1}", r.pattern, r.action, "medium", r.keys)
                for i, r in enumerate(g.content_rules)
            ]
            steps.append(
                PatternInspector(
                    g.name,
                    rules,
                    monitor=mode == "monitor",
                    guardrail=g.name,
                    upstreams=g.upstreams,
                    offload=offload,
                )
            )
        elif g.type == "pii":
            steps.append(PiiInspector(g, monitor=mode == "monitor", offload=offload))
    injection = config.mcp.prompt_injection
    if injection.enabled:
        steps.append(
            InjectionInspector(
                injection,
                injection.mode or td.mode,
                injection.sensitivity or td.sensitivity,
                exclusions=exclusions,
                offload=offload,
            )
        )
    return steps


__all__ = ["InjectionInspector", "PatternInspector", "PatternRule", "PiiInspector", "ThreatInspector", "buildInspectors"]
