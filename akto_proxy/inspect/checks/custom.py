"""
Pattern rules: the brief's C{threat_detection.custom_rules} and the
C{content_filter} guardrails.  RE2 dialect, case-insensitive, matched against
each string of the message; one RE2 set per rule list, so a message is scanned
once whatever the number of rules.
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

import attrs
import re2
from twisted.internet.defer import Deferred

from akto_proxy.inspect.chain import PASS, Finding, Verdict
from akto_proxy.inspect.checks.offload import Offload
from akto_proxy.inspect.checks.scope import Exclusions, NOTHING
from akto_proxy.relay.fence import hostMatches
from akto_proxy.inspect.message import Message, isKeyPath, withoutSurrogates


@attrs.frozen
class PatternRule:
    name: str
    pattern: str
    action: str  # block, redact, alert, log
    severity: str = "high"
    #: also match object keys (L{isKeyPath}); by default an operator's
    #: pattern matches values only, as ModSecurity's ARGS beside ARGS_NAMES:
    #: a filter on C{ssn} must not refuse every call with a C{className}
    keys: bool = False


class PatternInspector:
    """
    Match every string of a message against a set of rules at once.

    @param check: the check name reported in findings (C{custom_rules} or the
        guardrail's name).
    @param monitor: record findings without acting.
    @param guardrail: the guardrail name to report in C{guardrails_applied}.
    @param exclusions: C{threat_detection.exclusions} (those naming
        C{custom_rules}, or no check, apply).
    @param upstreams: host globs the rules apply to.
    """

    def __init__(
        self,
        check: str,
        rules: Sequence[PatternRule],
        monitor: bool = False,
        guardrail: Optional[str] = None,
        on_error: str = "block",
        exclusions: Optional[Exclusions] = None,
        upstreams: tuple[str, ...] = ("*",),
        offload: Optional[Offload] = None,
    ):
        self.name = check
        self._exclusions = exclusions
        self._upstreams = upstreams
        self._offload = offload
        self.on_error = on_error
        self._rules = tuple(rules)
        self._monitor = monitor
        self._guardrail = guardrail
        options = re2.Options()
        options.case_sensitive = False
        self._set = re2.Set.SearchSet(options)
        for rule in self._rules:
            self._set.Add(rule.pattern)
        self._set.Compile()
        self._compiled = tuple(re2.compile("(?i)" + r.pattern) for r in self._rules)
        # One scan of all strings joined is enough to know that nothing
        # matches (the common case); anchored patterns would change meaning
        # on joined text, so they keep the per-string scan only.
        self._joinable = not any(
            a in r.pattern for r in self._rules for a in ("^", "$", "\\A", "\\z", "(?m")
        )
        #: the rules that match object keys too
        self._onKeys = frozenset(i for i, r in enumerate(self._rules) if r.keys)

    def patterns(self) -> tuple[str, ...]:
        """
        The rules' patterns (RE2, matched case-insensitively).
        """
        return tuple(r.pattern for r in self._rules)

    def inspect(self, message: Message) -> Union[Verdict, "Deferred[Verdict]"]:
        if not message.strings:
            return PASS
        if self._upstreams != ("*",) and not hostMatches(message.target.host, self._upstreams):
            return PASS
        if self._offload is not None:
            return self._offload.run(message, self._inspect, message)
        return self._inspect(message)

    def _inspect(self, message: Message) -> Verdict:
        try:
            return self._match(message, message.strings, message.joined)
        except UnicodeEncodeError:
            # lone surrogates, which RE2 cannot take: matched as U+FFFD (a
            # redacted string is written with U+FFFD in their place)
            strings = tuple((path, withoutSurrogates(text)) for path, text in message.strings)
            return self._match(message, strings, "\n".join(text for _, text in strings))

    def _match(self, message: Message, strings: tuple[tuple[str, str], ...], joined: str) -> Verdict:
        findings: list[Finding] = []
        replacements: dict[str, str] = {}
        block = False
        scope = self._exclusions.scope(message) if self._exclusions else NOTHING
        if scope.wholly("custom_rules"):
            return PASS
        if self._joinable and len(strings) > 1:
            if not self._set.Match(joined):
                return PASS
        for path, text in strings:
            if not text or scope.excludes("custom_rules", path):
                continue
            if isKeyPath(path):
                if not self._onKeys:
                    continue
                hits = [i for i in self._set.Match(text) or () if i in self._onKeys]
            else:
                hits = self._set.Match(text)
            if not hits:
                continue
            for index in sorted(hits):
                rule = self._rules[index]
                enforced = not self._monitor
                findings.append(
                    Finding(
                        check=self.name,
                        rule=rule.name,
                        location=path or ("url" if message.transport == "url" else "body"),
                        severity=rule.severity,
                        action=rule.action,
                        enforced=enforced,
                    )
                )
                if not enforced:
                    continue
                if rule.action == "block":
                    block = True
                elif rule.action == "redact":
                    current = replacements.get(path, text)
                    replacements[path] = self._compiled[index].sub(
                        f"[REDACTED:{rule.name}]".replace("\\", "\\\\"), current
                    )
        if not findings:
            return PASS
        acted = block or bool(replacements)
        guardrails = (self._guardrail,) if self._guardrail and acted else ()
        return Verdict(
            findings=tuple(findings),
            block=block,
            replacements=tuple(replacements.items()),
            guardrails=guardrails,
        )
