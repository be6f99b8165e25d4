"""
Inspection steps built from the configuration.
"""

from __future__ import annotations

from akto_proxy.config.model import Config
from akto_proxy.inspect.chain import Inspector
from akto_proxy.inspect.checks.custom import PatternInspector, PatternRule


def buildInspectors(config: Config, reactor: object = None) -> list[Inspector]:
    """
    The chain's steps for C{config}, in order: threat checks, custom rules,
    guardrails.  Checks that are off cost nothing: they are not built.
    """
    steps: list[Inspector] = []
    td = config.threat_detection
    if td.custom_rules:
        settings = td.settings("custom_rules")
        mode = settings.mode or td.mode
        steps.append(
            PatternInspector(
                "custom_rules",
                [PatternRule(r.name, r.pattern, r.action, r.severity) for r in td.custom_rules],
                monitor=mode == "monitor",
                on_error=settings.on_error,
            )
        )
    for g in config.guardrails:
        if g.type == "content_filter":
            mode = g.mode or td.mode
            rules = [
                PatternRule(r.name or f"{g.name}#{i + 1}", r.pattern, r.action, "medium")
                for i, r in enumerate(g.content_rules)
            ]
            steps.append(PatternInspector(g.name, rules, monitor=mode == "monitor", guardrail=g.name))
    return steps
