"""
The C{pii} guardrail: find personal data (emails, phone numbers, payment
cards, SSNs, IBANs, IP addresses) in what upstreams send back, and mask it
inside the JSON strings (the JSON stays valid), block, or record it.
Phone numbers are those the threat check counts (international, national
as their country writes them, or announced); binary data is left alone.
"""

from __future__ import annotations

from typing import Optional, Union

from twisted.internet.defer import Deferred

from akto_proxy.config.model import Guardrail
from akto_proxy.inspect.chain import PASS, Finding, Verdict
from akto_proxy.inspect.checks.offload import Offload
from akto_proxy.inspect.checks.rules import PII_RULES
from akto_proxy.inspect.checks.scanner import Scanner, mask
from akto_proxy.relay.fence import hostMatches
from akto_proxy.inspect.checks.validators import PHONE_BUDGET, VALIDATORS, garbled, phoneSpans
from akto_proxy.inspect.message import Message


class PiiInspector:
    """
    @param directions: the directions masked; responses (SSE events and
        WebSocket messages from the server included) by default.
    """

    def __init__(
        self,
        guardrail: Guardrail,
        monitor: bool = False,
        offload: Optional[Offload] = None,
        directions: tuple[str, ...] = ("response",),
    ):
        self.name = guardrail.name
        self.on_error = "block"
        self._upstreams = guardrail.upstreams
        self._actions = {r.entity: r.action for r in guardrail.pii_rules}
        self._scanner = Scanner([r for r in PII_RULES if r.entity in self._actions])
        self._monitor = monitor
        self._offload = offload
        self._directions = directions

    def inspect(self, message: Message) -> Union[Verdict, "Deferred[Verdict]"]:
        if message.direction not in self._directions or not message.strings or message.binary:
            return PASS  # personal data is text; masking inside binary data would corrupt it
        if self._upstreams != ("*",) and not hostMatches(message.target.host, self._upstreams):
            return PASS
        if self._offload is not None:
            return self._offload.run(message, self._inspect, message)
        return self._inspect(message)

    def _inspect(self, message: Message) -> Verdict:
        strings = message.strings
        segments = [s for _, s in strings]
        hits = self._scanner.scan(segments)
        if not hits:
            return PASS
        findings: dict[tuple[str, str], Finding] = {}
        phones = [PHONE_BUDGET]  # numbers validated in this message
        spans: dict[int, list[tuple[int, int, str]]] = {}
        block = False
        enforced = not self._monitor
        for index, segs in hits.items():
            rule = self._scanner.rules[index]
            entity = rule.entity or rule.name
            action = self._actions[entity]
            check = VALIDATORS.get(rule.validator) if rule.validator else None
            for i in segs:
                if entity == "phone":
                    # as the threat check: digit groups that are plainly a
                    # telephone number, not a part number
                    found = phoneSpans(segments[i], self._scanner.candidates(index, segments[i]), phones)
                else:
                    found = self._scanner.spans(index, segments[i], check)
                # (bytes read as characters, a binary body by the string: no
                # address, no number)
                found = [s for s in found if not garbled(segments[i], s)]
                if not found:
                    continue
                path = strings[i][0] or "body"
                findings.setdefault(
                    (entity, path),
                    Finding(self.name, entity, path, rule.severity, action, enforced=enforced),
                )
                if not enforced:
                    continue
                if action == "block":
                    block = True
                elif action == "redact":
                    spans.setdefault(i, []).extend((s, e, entity) for s, e in found)
        if not findings:
            return PASS
        replacements = () if block else tuple((strings[i][0], mask(strings[i][1], s)) for i, s in spans.items())
        acted = block or bool(replacements)
        return Verdict(
            findings=tuple(findings.values()),
            block=block,
            replacements=replacements,
            guardrails=(self.name,) if acted else (),
        )
