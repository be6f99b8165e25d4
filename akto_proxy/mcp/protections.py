"""
The agent-specific protections, as stages of the pipeline:

    ToolPoisoningStage   list_result     planted instructions in what a list
                                         describes: withheld or sanitized
    PinStage             list_result     definitions pinned on first sight; a
                                         changed one withheld until approved
    CallGuardStage       client_request  a call to what was withheld refused
    ServerRequestStage   server_request  sampling, elicitation, roots from the
                         server_response server (and 2026-07-28 input_required
                                         results): allowed, denied or inspected

Prompt injection in what tools bring back is a check of the chain
(L{akto_proxy.inspect.checks.injection}).  Findings carry the check names
C{tool_poisoning}, C{tool_pinning} and C{server_requests}: exclusions may
name them, and C{threat_detection.mode} (or the protection's own C{mode})
decides whether they act.
"""

from __future__ import annotations

import fnmatch
import re
from collections import OrderedDict
from typing import Any, Iterator, Optional

from akto_proxy.config.model import Config, Protection, ServerRequests
from akto_proxy.inspect.chain import Finding
from akto_proxy.inspect.checks.instructions import POISONING, Scorer, reveal, withoutSpans
from akto_proxy.inspect.checks.scope import Exclusions
from akto_proxy.inspect.message import Message
from akto_proxy.mcp.pins import CALLS, LISTS, PinStore
from akto_proxy.mcp.pipeline import (
    CLIENT_REQUEST,
    LIST_RESULT,
    REWRITE,
    SERVER_REQUEST,
    SERVER_RESPONSE,
    Context,
    Decision,
    Item,
    StageResult,
    refuse,
)
from akto_proxy.relay.fence import hostMatches

#: tools found poisoned, remembered so that a call to one is refused
MAX_POISONED = 10_000
#: the lists remembered (per endpoint and kind) by each list stage
MAX_REMEMBERED_LISTS = 256


class McpState:
    """
    What the protections keep across requests and reloads: the pins, and
    the definitions found poisoned.
    """

    def __init__(self, pins: PinStore):
        self.pins = pins
        self._poisoned: OrderedDict[tuple[str, str, str], tuple[str, ...]] = OrderedDict()
        #: moves whenever the poisoned set changes
        self.generation = 0

    def poisoned(self, endpoint: str, kind: str, name: str) -> Optional[tuple[str, ...]]:
        return self._poisoned.get((endpoint, kind, name))

    def markPoisoned(self, endpoint: str, kind: str, name: str, signals: tuple[str, ...]) -> None:
        key = (endpoint, kind, name)
        if self._poisoned.get(key) != signals:
            self.generation += 1
        self._poisoned[key] = signals
        self._poisoned.move_to_end(key)
        while len(self._poisoned) > MAX_POISONED:
            self._poisoned.popitem(last=False)
            self.generation += 1

    def clean(self, endpoint: str, kind: str, name: str) -> None:
        if self._poisoned and self._poisoned.pop((endpoint, kind, name), None) is not None:
            self.generation += 1

    @property
    def anyWithheld(self) -> bool:
        return bool(self._poisoned) or bool(self.pins.withheld)


def endpointOf(ctx: Context) -> str:
    """
    The upstream endpoint a conversation talks to (scheme, host, port and
    path): what pins are kept per.
    """
    endpoint = ctx.conversation.endpoint
    if endpoint is None:
        endpoint = ctx.conversation.endpoint = ctx.target.origin + ctx.target.path.decode("latin-1")
    return endpoint


def _entries(item: Item) -> Optional[tuple[str, str, str, list[Any]]]:
    """
    A list result's kind, field, naming field and entries, or None.
    """
    spec = LISTS.get(item.method or "")
    obj = item.obj
    if spec is None or "method" in obj:
        return None
    result = obj.get("result")
    if not isinstance(result, dict):
        return None
    kind, field, nameField = spec
    entries = result.get(field)
    if not isinstance(entries, list):
        return None
    return kind, field, nameField, entries


def _withEntries(obj: dict[str, Any], field: str, entries: list[Any]) -> dict[str, Any]:
    result = dict(obj["result"])
    result[field] = entries
    return dict(obj, result=result)


class ListMemo:
    """
    The last list a stage judged for each endpoint and kind, with what it
    kept and found.  The same entries again, under the same generation of
    the state the stage keeps, get the same answer: one deep comparison
    instead of judging every definition again (a client lists the tools of
    an unchanged server again and again).
    """

    def __init__(self, size: int = MAX_REMEMBERED_LISTS):
        self.size = size
        self._last: dict[tuple[str, str], tuple[list[Any], int, Optional[list[Any]], list[Finding]]] = {}

    def recall(self, key: tuple[str, str], entries: list[Any], generation: int) -> Optional[tuple[Optional[list[Any]], list[Finding]]]:
        last = self._last.get(key)
        if last is None or last[1] != generation or last[0] != entries:
            return None
        return last[2], last[3]

    def remember(self, key: tuple[str, str], entries: list[Any], generation: int, kept: Optional[list[Any]], findings: list[Finding]) -> None:
        if len(self._last) >= self.size and key not in self._last:
            self._last.clear()
        self._last[key] = (entries, generation, kept, findings)


def _answer(item: Item, field: str, kept: Optional[list[Any]], findings: list[Finding], reason: str, label: str) -> StageResult:
    if findings:
        item.note(findings, ())
    if kept is None:
        return None
    return Decision(REWRITE, _withEntries(item.obj, field, kept), reason=reason, label=label)


def describedStrings(entry: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """
    Every string of a definition the model reads as text: its description
    and title, and inside its schemas the descriptions, titles, defaults,
    examples and enum values of every property (paths relative to the
    entry).
    """
    for key in ("description", "title"):
        value = entry.get(key)
        if isinstance(value, str):
            yield key, value
    for key in ("inputSchema", "outputSchema", "arguments", "annotations"):
        value = entry.get(key)
        if value is not None:
            yield from _schemaStrings(value, key)


def _schemaStrings(value: Any, path: str, depth: int = 0) -> Iterator[tuple[str, str]]:
    if depth > 12:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            child = f"{path}.{k}"
            if isinstance(v, str) and k in ("description", "title", "default", "const", "examples", "pattern", "$comment", "name"):
                yield child, v
            elif isinstance(v, (dict, list)):
                yield from _schemaStrings(v, child, depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            if isinstance(v, str):
                yield f"{path}[{i}]", v
            elif isinstance(v, (dict, list)):
                yield from _schemaStrings(v, f"{path}[{i}]", depth + 1)


def _excluded(exclusions: Exclusions, ctx: Context, name: str, check: str) -> bool:
    if not exclusions:
        return False
    probe = Message(direction="response", target=ctx.target, transport="http", kind="json", payload=None, strings=(), tool=name)
    return exclusions.scope(probe).wholly(check)


class ToolPoisoningStage:
    """
    Each description a list brings (nested schema descriptions included) is
    judged as one text (L{POISONING}); a poisoned entry is withheld (and a
    call to it refused) or its text sanitized, per C{mcp.tool_poisoning}.
    """

    name = "tool_poisoning"
    phases = frozenset((LIST_RESULT,))

    def __init__(self, protection: Protection, mode: str, sensitivity: str, state: McpState, exclusions: Exclusions):
        self.on_error = protection.on_error
        self.action = protection.action
        self.monitor = mode == "monitor"
        self.state = state
        self.exclusions = exclusions
        self.scorer = Scorer(POISONING) if protection.model else Scorer(POISONING, model=None)
        self.threshold = self.scorer.threshold(sensitivity)
        self.memo = ListMemo()

    def judge(self, item: Item, ctx: Context) -> StageResult:
        found = _entries(item)
        if found is None:
            return None
        kind, field, nameField, entries = found
        endpoint = endpointOf(ctx)
        reason, label = "tool poisoning", "blocked" if self.action == "withhold" else "redacted"
        known = self.memo.recall((endpoint, kind), entries, self.state.generation)
        if known is not None:
            return _answer(item, field, known[0], known[1], reason, label)
        kept: list[Any] = []
        findings: list[Finding] = []
        changed = False
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                kept.append(entry)
                continue
            name = str(entry.get(nameField))
            strings = list(describedStrings(entry))
            text = "\n".join(s for _, s in strings)
            if not text or not self.scorer.mayReach(text, self.threshold) or _excluded(self.exclusions, ctx, name, self.name):
                self.state.clean(endpoint, kind, name)
                kept.append(entry)
                continue
            judged = self.scorer.score(text)
            if not judged.over(self.threshold):
                self.state.clean(endpoint, kind, name)
                kept.append(entry)
                continue
            location = f"result.{field}[{i}]"
            findings.append(
                Finding(self.name, "+".join(judged.reasons(self.threshold)), location, "critical", "block" if self.action == "withhold" else "redact", not self.monitor)
            )
            if self.monitor:
                kept.append(entry)
                continue
            changed = True
            if self.action != "withhold":
                sanitized = self._sanitized(entry)
                # what the sanitizing could not take out (a whole description
                # the learned model judges, with no sentence it flags alone)
                # is withheld
                if not self.scorer.score("\n".join(s for _, s in describedStrings(sanitized))).over(self.threshold):
                    kept.append(sanitized)
                    continue
            self.state.markPoisoned(endpoint, kind, name, judged.reasons(self.threshold))
        answer = kept if changed else None
        self.memo.remember((endpoint, kind), entries, self.state.generation, answer, findings)
        return _answer(item, field, answer, findings, reason, label)

    def _sanitized(self, entry: dict[str, Any]) -> dict[str, Any]:
        """
        The entry with hidden text made visible and removed, and every
        sentence that carries a signal left out, in each of its strings.
        """
        def clean(value: Any, key: Optional[str] = None) -> Any:
            if isinstance(value, str):
                if key is not None and key not in ("description", "title", "default", "$comment", "examples"):
                    return value
                revealed = reveal(value)
                text = revealed.text
                for marker in (revealed.concealed,):
                    if marker:
                        text = text.replace(marker, " ")
                judged = self.scorer.score(text, wantSpans=True, threshold=self.threshold)
                text = withoutSpans(text, judged.spans, "[removed by akto-proxy]") if judged.spans else text
                return re.sub(r"<!--.*?(?:-->|$)", "", text, flags=re.S).strip()
            if isinstance(value, dict):
                return {k: clean(v, k) for k, v in value.items()}
            if isinstance(value, list):
                return [clean(v, key) for v in value]
            return value

        out = dict(entry)
        for key in ("description", "title"):
            if isinstance(out.get(key), str):
                out[key] = clean(out[key], key)
        for key in ("inputSchema", "outputSchema", "arguments"):
            if key in out:
                out[key] = clean(out[key])
        return out


class PinStage:
    """
    Each definition a list brings is judged against its pin (L{PinStore});
    a changed one is withheld until an operator approves it.
    """

    name = "tool_pinning"
    phases = frozenset((LIST_RESULT,))
    on_error = "block"

    def __init__(self, state: McpState, mode: str, exclusions: Exclusions):
        self.state = state
        self.monitor = mode == "monitor"
        self.exclusions = exclusions
        self.memo = ListMemo()

    def judge(self, item: Item, ctx: Context) -> StageResult:
        found = _entries(item)
        if found is None:
            return None
        kind, field, nameField, entries = found
        endpoint = endpointOf(ctx)
        store = self.state.pins
        known = self.memo.recall((endpoint, kind), entries, store.generation)
        if known is not None:
            return _answer(item, field, known[0], known[1], "tool definition changed", "blocked")
        kept: list[Any] = []
        findings: list[Finding] = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get(nameField), str):
                kept.append(entry)
                continue
            name = entry[nameField]
            if _excluded(self.exclusions, ctx, name, self.name):
                kept.append(entry)
                continue
            pin = store.judge(endpoint, kind, entry)
            if not pin.withheld:
                kept.append(entry)
                continue
            findings.append(
                Finding(self.name, "definition_changed" if pin.status == "changed" else "change_rejected", f"result.{field}[{i}]", "high", "block", not self.monitor)
            )
            if self.monitor:
                kept.append(entry)
        answer = kept if len(kept) != len(entries) else None
        self.memo.remember((endpoint, kind), entries, store.generation, answer, findings)
        return _answer(item, field, answer, findings, "tool definition changed", "blocked")


class CallGuardStage:
    """
    A call to a tool (prompt, resource) withheld from its list, because its
    definition changed since it was pinned or because it is poisoned, is
    refused with a tool result saying why.
    """

    name = "mcp_call_guard"
    phases = frozenset((CLIENT_REQUEST,))
    on_error = "block"

    def __init__(self, state: McpState, pinMode: Optional[str], poisonMode: Optional[str], poisonAction: str):
        self.state = state
        self.pinning = pinMode is not None and pinMode != "monitor"
        self.poisoning = poisonMode is not None and poisonMode != "monitor" and poisonAction == "withhold"

    def quick(self, ctx: Context, direction: str, obj: Any, method: Optional[str], name: Optional[str], prefix: Any, body: Any = None) -> bool:
        if not self.state.anyWithheld or name is None or method not in CALLS:
            return True
        key = (endpointOf(ctx), CALLS[method], name)
        return key not in self.state.pins.withheld and self.state.poisoned(*key) is None

    def judge(self, item: Item, ctx: Context) -> StageResult:
        kind = CALLS.get(item.method or "")
        if kind is None or item.name is None:
            return None
        endpoint = endpointOf(ctx)
        if self.poisoning:
            signals = self.state.poisoned(endpoint, kind, item.name)
            if signals is not None:
                item.note((Finding("tool_poisoning", "+".join(signals), "params.name", "critical", "block"),), ())
                return refuse(item, ctx, f"the {kind} {item.name!r} carries planted instructions ({', '.join(signals)}) and is withheld")
        if self.pinning:
            pin = self.state.pins.find(endpoint, kind, item.name)
            if pin is not None and pin.withheld:
                item.note((Finding("tool_pinning", "definition_changed", "params.name", "high", "block"),), ())
                return refuse(
                    item,
                    ctx,
                    f"the definition of {kind} {item.name!r} changed since it was approved; "
                    f"it is withheld until an operator approves the change (pin {pin.id})",
                )
        return None


#: what an elicitation must not ask a user for
_SENSITIVE_ASK = re.compile(
    r"pass(?:word|phrase|code)|\bpin\b|pin[\s_-]?code|card[\s_-]?(?:number|no)|\bcvv\b|\bcvc\b|security[\s_-]?code|\bssn\b|social[\s_-]?security|"
    r"api[\s_-]?key|secret|token|private[\s_-]?key|seed[\s_-]?phrase|mnemonic|recovery[\s_-]?(?:code|phrase)|\botp\b|one[\s_-]?time|2fa|mfa[\s_-]?code|"
    r"bank[\s_-]?account|iban|routing[\s_-]?number|credentials?",
    re.I,
)

SERVER_METHODS = {"sampling/createMessage": "sampling", "elicitation/create": "elicitation", "roots/list": "roots"}


class ServerRequestStage:
    """
    Requests from the server to the client (C{mcp.server_requests}):
    C{allow}, C{deny} (answered to the server with an error; the client never
    sees it) or C{inspect} (an elicitation asking for a password, a card, a
    key... is refused; what a sampling request carries is judged by the
    prompt-injection check of the chain).  On 2026-07-28 the same requests
    come embedded in an C{input_required} result: a denied or refused one
    replaces the result with the refusal of the call.
    """

    name = "server_requests"
    phases = frozenset((SERVER_REQUEST, SERVER_RESPONSE))
    on_error = "block"

    def __init__(self, policy: ServerRequests, mode: str, roles: Any):
        self.policy = policy
        self.monitor = mode == "monitor"
        self.roles = roles

    def quick(self, ctx: Context, direction: str, obj: Any, method: Optional[str], name: Optional[str], prefix: Any, body: Any = None) -> bool:
        if "method" in obj:
            method = obj["method"]  # any JSON value: a server may send anything
            return not isinstance(method, str) or method not in SERVER_METHODS
        result = obj.get("result")
        return not isinstance(result, dict) or result.get("resultType") != "input_required"

    def _policy(self, kind: str, ctx: Context) -> str:
        for rule in self.policy.rules:
            if not hostMatches(ctx.target.host, (rule.upstream,)):
                continue
            if rule.roles and (ctx.key is None or not any(fnmatch.fnmatchcase(r, g) for r in ctx.key.roles for g in rule.roles)):
                continue
            value = getattr(rule, kind)
            if value is not None:
                return value  # type: ignore[no-any-return]
        return getattr(self.policy, kind)  # type: ignore[no-any-return]

    def judge(self, item: Item, ctx: Context) -> StageResult:
        obj = item.obj
        if item.phase == SERVER_REQUEST:
            kind = SERVER_METHODS.get(item.method or "")
            if kind is None or "id" not in obj:
                return None
            problem = self._problem(kind, obj.get("params"), ctx, "params")
        else:
            result = obj.get("result")
            if not isinstance(result, dict) or result.get("resultType") != "input_required":
                return None
            requests = result.get("inputRequests")
            if not isinstance(requests, dict):
                return None
            problem = None
            for key, request in requests.items():
                if not isinstance(request, dict):
                    continue
                kind = SERVER_METHODS.get(str(request.get("method")))
                if kind is None:
                    continue
                problem = self._problem(kind, request.get("params"), ctx, f"result.inputRequests.{key}.params")
                if problem is not None:
                    break
        if problem is None:
            return None
        finding, reason = problem
        item.note((finding,), ())
        if not finding.enforced:
            return None
        return refuse(item, ctx, reason)

    def _problem(self, kind: str, params: Any, ctx: Context, where: str) -> Optional[tuple[Finding, str]]:
        policy = self._policy(kind, ctx)
        if policy == "allow":
            return None
        if policy == "deny":
            return Finding(self.name, f"{kind}_denied", where, "medium", "block", not self.monitor), f"{kind} requests from this server are not allowed"
        if kind == "elicitation" and isinstance(params, dict):
            asked = _sensitiveAsk(params)
            if asked:
                return (
                    Finding(self.name, "sensitive_elicitation", where, "high", "block", not self.monitor),
                    f"the server asks the user for {asked}",
                )
        return None


def _sensitiveAsk(params: dict[str, Any]) -> Optional[str]:
    """
    What sensitive thing an elicitation asks for (a field of its schema, or
    its message), or None.
    """
    schema = params.get("requestedSchema")
    if isinstance(schema, dict) and isinstance(schema.get("properties"), dict):
        for name, spec in schema["properties"].items():
            texts = [str(name)]
            if isinstance(spec, dict):
                texts += [str(spec.get(k)) for k in ("title", "description") if isinstance(spec.get(k), str)]
                if spec.get("format") == "password":
                    return f"a password ({name})"
            for text in texts:
                m = _SENSITIVE_ASK.search(text)
                if m:
                    return f"{m.group(0).lower()} ({name})"
    message = params.get("message")
    if isinstance(message, str):
        m = _SENSITIVE_ASK.search(message)
        if m and re.search(r"\b(?:enter|provide|type|give|share|send|paste|confirm|input|what\s+is|tell)\b", message, re.I):
            return m.group(0).lower()
    return None


def buildProtections(config: Config, state: Optional[McpState], roles: Any) -> list[Any]:
    """
    The protection stages C{config} calls for, in order.
    """
    mcp = config.mcp
    td = config.threat_detection
    exclusions = Exclusions(td.exclusions)
    stages: list[Any] = []
    poisoning = mcp.tool_poisoning
    if state is not None and poisoning.enabled:
        stages.append(ToolPoisoningStage(poisoning, poisoning.mode or td.mode, poisoning.sensitivity or td.sensitivity, state, exclusions))
    if state is not None and mcp.pin_tools:
        stages.append(PinStage(state, td.mode, exclusions))
    if state is not None and (mcp.pin_tools or poisoning.enabled):
        stages.append(
            CallGuardStage(
                state,
                td.mode if mcp.pin_tools else None,
                (poisoning.mode or td.mode) if poisoning.enabled else None,
                poisoning.action,
            )
        )
    if mcp.server_requests.enabled:
        stages.append(ServerRequestStage(mcp.server_requests, td.mode, roles))
    return stages


__all__ = [
    "CallGuardStage",
    "McpState",
    "PinStage",
    "ServerRequestStage",
    "ToolPoisoningStage",
    "buildProtections",
    "describedStrings",
    "endpointOf",
]
