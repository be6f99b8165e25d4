"""
The inspection chain: configured steps, each answering pass, block or
rewrite for one L{Message}.
"""

from __future__ import annotations

from time import perf_counter
from typing import Any, Callable, Optional, Protocol, Sequence, Union

import attrs
from twisted.internet.defer import Deferred, TimeoutError as DeferredTimeout, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from akto_proxy.inspect.message import Message

log = Logger()


@attrs.frozen
class Finding:
    """
    One thing a check found.

    @ivar check: the check (C{sql_injection}, C{custom_rules}, a guardrail's
        name...).
    @ivar rule: the rule inside the check.
    @ivar location: JSON path of the string (C{params.arguments.query}),
        C{url} for the proxied URL.
    @ivar severity: C{low}, C{medium}, C{high} or C{critical}.
    @ivar action: C{block}, C{redact}, C{alert} or C{log}.
    @ivar enforced: False when found in monitor mode (recorded, not acted on).
    """

    check: str
    rule: str
    location: str
    severity: str = "high"
    action: str = "block"
    enforced: bool = True

    def asJSON(self) -> dict[str, object]:
        d: dict[str, object] = {
            "check": self.check,
            "rule": self.rule,
            "location": self.location,
            "severity": self.severity,
            "action": self.action,
        }
        if not self.enforced:
            d["mode"] = "monitor"
        return d


@attrs.frozen
class Verdict:
    """
    What one step decided.

    @ivar findings: everything found, acted on or not.
    @ivar block: refuse the message.
    @ivar replacements: JSON path to new string (redaction).
    @ivar guardrails: names of guardrails that acted.
    """

    findings: tuple[Finding, ...] = ()
    block: bool = False
    replacements: tuple[tuple[str, str], ...] = ()
    guardrails: tuple[str, ...] = ()


PASS = Verdict()


class Inspector(Protocol):
    """
    One step of the chain.  C{inspect} returns a L{Verdict} or a Deferred
    firing with one; an exception or failure is an inspection error.
    """

    name: str
    on_error: str  # "block" (fail closed) or "pass"
    # optional: C{directions}, the directions of the messages it judges
    # (C{request}, C{response}; absent: both)

    def inspect(self, message: Message) -> Union[Verdict, "Deferred[Verdict]"]: ...


@attrs.frozen
class Outcome:
    """
    The chain's answer for one message.

    @ivar message: the message to relay (rewritten when redacted).
    @ivar blocked: the message must not be relayed.
    @ivar reason: a short text for the client when blocked.
    """

    message: Message
    blocked: bool = False
    reason: str = ""
    findings: tuple[Finding, ...] = ()
    guardrails: tuple[str, ...] = ()
    error: bool = False

    @property
    def rewritten(self) -> bool:
        return "redact" in {f.action for f in self.findings if f.enforced}


class IWatch(Protocol):
    """
    What a proof asks of a large body's bytes, asked of each chunk as it
    arrives (L{akto_proxy.inspect.checks.prefilter.Streamed}).
    """

    def feed(self, chunk: bytes) -> None: ...

    def end(self) -> None: ...

    def close(self) -> None: ...


class IPrefilter(Protocol):
    """
    Proves a message clean for some steps at once (L{akto_proxy.inspect.
    checks.prefilter}): C{covered} are their indexes in the chain.
    """

    covered: frozenset[int]

    def clean(self, message: Message) -> bool: ...

    def cleanTexts(self, direction: str, texts: Sequence[str], method: Optional[str] = ...) -> bool: ...

    def cleanRaw(self, direction: str, body: bytes, method: Optional[str] = ...) -> Optional[bool]: ...

    def cleanUnread(self, direction: str, body: bytes, asJSON: bool, seen: Any = ...) -> Optional[bool]: ...

    def watch(self, direction: str) -> IWatch: ...

    #: the covered steps whose proof takes pattern databases alone
    patternSteps: frozenset[int]

    def cleanOfPatterns(self, message: Message) -> bool: ...


#: the method of a message its caller does not know (L{Chain.passes}):
#: every step is asked, whatever methods it judges
ANY_METHOD = "*"

BOTH_DIRECTIONS = frozenset(("request", "response"))


class Chain:
    """
    Run each inspector in order.  The first block wins; redactions are applied
    before the next step sees the message.  A step that raises or times out
    fails closed (reason C{inspection_error}) unless its C{on_error} is
    C{pass}.
    """

    def __init__(
        self,
        inspectors: Sequence[Inspector],
        clock: IReactorTime,
        timeout: float = 2.0,
        prefilter: Optional[IPrefilter] = None,
    ):
        self.inspectors = tuple(inspectors)
        self._clock = clock
        self._timeout = timeout
        self._prefilter = prefilter
        self._covered: frozenset[int] = prefilter.covered if prefilter is not None else frozenset()
        self._patternSteps: frozenset[int] = prefilter.patternSteps if prefilter is not None else frozenset()
        self._coversAll = bool(self.inspectors) and len(self._covered) == len(self.inspectors)
        #: told (direction, seconds) of each message the steps judged (not
        #: those the prefilter proved clean before): the metrics
        self.timed: Optional[Callable[[str, float], None]] = None

    def __bool__(self) -> bool:
        return bool(self.inspectors)

    @property
    def directions(self) -> frozenset[str]:
        """
        The directions some step judges: a message of another direction
        passes the chain untouched.
        """
        return frozenset().union(*(getattr(s, "directions", BOTH_DIRECTIONS) for s in self.inspectors))

    def inspect(self, message: Message, clean: Optional[bool] = None) -> "Deferred[Outcome]":
        """
        Run the steps.  When every step answers synchronously (the common
        case) the returned Deferred has already fired: no coroutine, no
        reactor turn.

        @param clean: what L{passes} answered for this message, if it was
            asked: False spares the prefilter a second look.
        """
        result = self.inspectNow(message, clean)
        if isinstance(result, Outcome):
            return succeed(result)
        return result

    def passes(self, direction: str, texts: Sequence[str], method: Optional[str] = ANY_METHOD) -> Optional[bool]:
        """
        Whether a message of C{direction} (not a URL one) whose strings are
        C{texts} would pass every step unchanged and without a finding,
        known before the message is built: True only when the prefilter
        covers every step and finds the strings clean.  Otherwise inspect
        the message, handing this answer to L{inspect}: False (the
        prefilter could not prove it clean) spares the prefilter a second
        look; None (not asked) does not.

        @param method: the message's method as its L{Message} would hold
            it (a step that judges only some methods is then not asked
            about the others), or L{ANY_METHOD}.
        """
        if not self._coversAll:
            return None
        assert self._prefilter is not None
        return self._ask(self._prefilter.cleanTexts, direction, texts, method)

    def passesRaw(self, direction: str, body: bytes, method: Optional[str] = None) -> Optional[bool]:
        """
        L{passes} for a message whose strings are those of the JSON C{body},
        from its raw bytes (L{Prefilter.cleanRaw}): True proves it would
        pass every step; None or False, inspect it.
        """
        if not self._coversAll:
            return None
        assert self._prefilter is not None
        return self._ask(self._prefilter.cleanRaw, direction, body, method)

    def passesUnread(self, direction: str, body: bytes, asJSON: bool, seen: Optional[IWatch] = None) -> Optional[bool]:
        """
        L{passes} for a large body not decoded: as the one text it is
        (L{Message.fromText} of it decoded) and, with C{asJSON}, as the
        JSON it may parse to (L{Message.fromJSON}), from its bytes
        (L{Prefilter.cleanUnread}; C{seen}, what L{watchUnread} told of
        them as they arrived): True proves every step would pass it, read
        either way; None or False, decode and inspect it.
        """
        if not self._coversAll:
            return None
        assert self._prefilter is not None
        return self._ask(self._prefilter.cleanUnread, direction, body, asJSON, seen)

    def watchUnread(self, direction: str) -> Optional[IWatch]:
        """
        What L{passesUnread} asks of a large body's bytes, asked as they
        arrive (L{Prefilter.watch}); None when it would not ask.
        """
        if not self._coversAll:
            return None
        assert self._prefilter is not None
        try:
            return self._prefilter.watch(direction)
        except Exception:
            log.failure("prefilter failed; the body is judged whole")
            return None

    @staticmethod
    def _ask(question: Callable[..., Optional[bool]], *args: Any) -> Optional[bool]:
        """
        What the prefilter answers; False (the steps run) when it fails.
        """
        try:
            return question(*args)
        except Exception:
            log.failure("prefilter failed; the steps run in full")
            return False

    def inspectNow(self, message: Message, clean: Optional[bool] = None) -> Union[Outcome, "Deferred[Outcome]"]:
        """
        Like L{inspect}, but the outcome itself when every step answered
        synchronously (a caller on the hot path saves a Deferred).
        """
        state = _State(message)
        if clean is False:
            state.clean = False
        timed = self.timed
        if timed is None:
            result = self._advance(state, 0)
            if isinstance(result, Outcome):
                return result
            return Deferred.fromCoroutine(self._resume(state, result))
        started = perf_counter()
        result = self._advance(state, 0)
        if isinstance(result, Outcome):
            timed(message.direction, perf_counter() - started)
            return result
        d = Deferred.fromCoroutine(self._resume(state, result))

        def done(outcome: Any) -> Any:
            timed(message.direction, perf_counter() - started)
            return outcome

        return d.addBoth(done)

    def _advance(self, st: "_State", start: int) -> Union[Outcome, tuple[int, "Deferred[Verdict]"]]:
        inspectors = self.inspectors
        covered = self._covered
        for i in range(start, len(inspectors)):
            if i in covered and st.clean is not False:
                if st.clean is None:
                    st.clean = self._clean(st.message)
                if st.clean:
                    continue
            if i in self._patternSteps and st.clean is False and st.patterns is not False:
                # a large tool result: the pattern steps, proven clean
                # apart from the step that judges it itself
                if st.patterns is None:
                    st.patterns = self._clean(st.message, patterns=True)
                if st.patterns:
                    continue
            step = inspectors[i]
            try:
                result = step.inspect(st.message)
            except Exception as e:
                out = self._failed(st, step, Failure(e))
                if out is not None:
                    return out
                continue
            if result is PASS:
                continue
            if isinstance(result, Deferred):
                result.addTimeout(self._timeout, self._clock)
                return (i, result)
            out = self._apply(st, result)
            if out is not None:
                return out
        return st.outcome()

    def _clean(self, message: Message, patterns: bool = False) -> bool:
        """
        What the prefilter answers for C{message}: L{IPrefilter.clean}, or
        with C{patterns} L{IPrefilter.cleanOfPatterns}; False when it fails.
        """
        assert self._prefilter is not None
        try:
            return (self._prefilter.cleanOfPatterns if patterns else self._prefilter.clean)(message)
        except Exception:
            log.failure("prefilter failed; the steps run in full", request_id=message.requestId)
            return False

    async def _resume(self, st: "_State", pending: tuple[int, "Deferred[Verdict]"]) -> Outcome:
        while True:
            i, d = pending
            step = self.inspectors[i]
            try:
                verdict = await d
            except Exception as e:
                out = self._failed(st, step, Failure(e))
                if out is not None:
                    return out
            else:
                out = self._apply(st, verdict)
                if out is not None:
                    return out
            nxt = self._advance(st, i + 1)
            if isinstance(nxt, Outcome):
                return nxt
            pending = nxt

    def _failed(self, st: "_State", step: Inspector, failure: Failure) -> Optional[Outcome]:
        timeout = failure.check(DeferredTimeout) is not None
        log.failure(
            "inspection step {step} failed on {direction} for {upstream}",
            failure,
            step=step.name,
            direction=st.message.direction,
            upstream=st.message.target.display(),
            request_id=st.message.requestId,
        )
        rule = "timeout" if timeout else "exception"
        if step.on_error == "pass":
            st.findings.append(Finding(step.name, rule, "", "low", "log", enforced=False))
            return None
        st.findings.append(Finding(step.name, "inspection_error", "", "high", "block"))
        return Outcome(
            message=st.message,
            blocked=True,
            reason="inspection_error",
            findings=tuple(st.findings),
            guardrails=tuple(st.guardrails),
            error=True,
        )

    def _apply(self, st: "_State", verdict: Verdict) -> Optional[Outcome]:
        if verdict is PASS:
            return None
        st.findings.extend(verdict.findings)
        for g in verdict.guardrails:
            if g not in st.guardrails:
                st.guardrails.append(g)
        if verdict.block:
            blocking = [f for f in verdict.findings if f.enforced and f.action == "block"]
            return Outcome(
                message=st.message,
                blocked=True,
                reason=_reason(blocking or list(verdict.findings)),
                findings=tuple(st.findings),
                guardrails=tuple(st.guardrails),
            )
        if verdict.replacements:
            st.message = st.message.withStrings(dict(verdict.replacements))
            st.clean = st.patterns = False  # the prefilter judged the strings before
        return None


class _State:
    __slots__ = ("message", "findings", "guardrails", "clean", "patterns")

    def __init__(self, message: Message):
        self.message = message
        self.clean: Optional[bool] = None  # the prefilter's answer, once asked
        self.patterns: Optional[bool] = None  # its answer for the pattern steps alone (L{IPrefilter.cleanOfPatterns})
        self.findings: list[Finding] = []
        self.guardrails: list[str] = []

    def outcome(self) -> Outcome:
        return Outcome(message=self.message, findings=tuple(self.findings), guardrails=tuple(self.guardrails))


def _reason(findings: Sequence[Finding]) -> str:
    if not findings:
        return "blocked by policy"
    f = findings[0]
    where = f" in {f.location}" if f.location else ""
    return f"{f.check} ({f.rule}){where}"


#: what each check looks for, in words
CHECK_WORDS = {
    "sql_injection": "SQL injection",
    "command_injection": "shell command injection",
    "path_traversal": "a path to a file it should not reach",
    "data_exfiltration": "a secret or personal data (data exfiltration)",
    "custom_rules": "the custom rule",
    "prompt_injection": "instructions aimed at the AI model (prompt injection)",
    "tool_poisoning": "hidden instructions in a tool description (tool poisoning)",
    "tool_pinning": "a tool definition that changed since it was approved",
    "server_requests": "a request from the server the policy refuses",
}


def plainReason(findings: Sequence[Finding], what: str = "the body") -> str:
    """
    Why a message was refused, for a person reading an HTTP answer: what the
    check looks for, the rule, and where (C{custom_rules (Block Sensitive
    File Access)} becomes C{the body matched the custom rule 'Block Sensitive
    File Access'}).
    """
    if not findings:
        return "blocked by policy"
    f = findings[0]
    where = f" (at {f.location})" if f.location and f.location not in ("body", "$") else ""
    if f.check == "custom_rules":
        return f"{what} matched the custom rule {f.rule!r}{where}"
    words = CHECK_WORDS.get(f.check)
    if words is None:
        return f"{what} matched {f.check} ({f.rule}){where}"
    return f"{what} looks like {words}{where}, rule {f.rule!r} of the {f.check} check"


__all__ = ["ANY_METHOD", "BOTH_DIRECTIONS", "CHECK_WORDS", "plainReason", "Chain", "Finding", "IPrefilter", "IWatch", "Inspector", "Outcome", "PASS", "Verdict"]
