"""
The pipeline's stages: the 2026-07-28 header mirror, rate limits, roles,
list filtering and the inspection chain.  L{buildPipeline} puts together
those one configuration calls for, in that order.
"""

from __future__ import annotations

import base64
from typing import Any, Optional

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from akto_proxy.access.ratelimit import RateLimits, RateVerdict, Subject
from akto_proxy.access.roles import Policy
from akto_proxy.inspect.chain import Chain, Finding, IWatch, Outcome
from akto_proxy.inspect.message import Message, envelopeKeys, jsonGather, memberPath, rpcGather
from akto_proxy.mcp.answers import HEADER_MISMATCH, INVALID_PARAMS, REFUSAL_CODE, metadata, rpcError
from akto_proxy.mcp.cache import CacheStage
from akto_proxy.mcp.jsonrpc import LIST_METHODS, Body, Encoded, rawTargetOf, toolOf
from akto_proxy.mcp.protections import buildProtections, endpointOf
from akto_proxy.mcp.pipeline import (
    CLIENT_ANSWER,
    CLIENT_BODY,
    CLIENT_OTHER,
    CLIENT_PHASES,
    CLIENT_REQUEST,
    LIST_RESULT,
    REPLY,
    REWRITE,
    SERVER_OTHER,
    SERVER_REQUEST,
    SERVER_RESPONSE,
    URL,
    Context,
    Decision,
    Item,
    Pipeline,
    StageResult,
    refuse,
)


_RPC_PHASES = frozenset((CLIENT_REQUEST, CLIENT_ANSWER, SERVER_RESPONSE, SERVER_REQUEST))

#: the list results remembered (per upstream and method, and for the list
#: filter per key) by each inspection and list filter stage
MAX_CLEAN_LISTS = 256


def _settled(d: "Deferred[Any]") -> Any:
    """
    The result of a Deferred that has already fired (a Failure raised), or
    the Deferred itself: a stage on a store that answers at once (the
    in-memory rate store) then costs the pipeline no coroutine.
    """
    box: list[Any] = []

    def keep(result: Any) -> Any:
        box.append(result)
        return result

    d.addBoth(keep)
    if not box:
        return d
    d.addErrback(lambda f: None)  # taken from it here
    result = box[0]
    if isinstance(result, Failure):
        result.raiseException()
    return result


class HeaderMirrorStage:
    """
    2026-07-28: a request's C{Mcp-Method} and C{Mcp-Name} headers must say
    what its body says; if not, 400 with error C{-32020} (the revision's
    HeaderMismatch).  Only for a body of one message.
    """

    name = "mcp_headers"
    phases = frozenset((CLIENT_REQUEST, CLIENT_ANSWER))
    on_error = "block"
    #: judges only requests with MCP headers (skipped for the others)
    needsHeaders = True

    def judge(self, item: Item, ctx: Context) -> StageResult:
        headers = ctx.mcpHeaders
        if headers is None or not item.single:
            return None
        problem = mismatch(headers, item.obj)
        if problem is None:
            return None
        return Decision(REPLY, rpcError(item.obj.get("id"), HEADER_MISMATCH, problem), 400, reason=problem, label="header_mismatch")


def headerValue(value: str) -> Optional[str]:
    """
    An MCP header's value (as received, each byte one character) as the
    body would hold it: 2026-07-28 sends visible ASCII as it is and any
    other value as C{=?base64?{Base64 of its UTF-8}?=}.  None for a value
    no client may send: other bytes, or a sentinel that does not decode.
    """
    if value.startswith("=?base64?") and value.endswith("?=") and len(value) >= 11:
        try:
            return base64.b64decode(value[9:-2], validate=True).decode("utf-8")
        except ValueError:  # not Base64, or not UTF-8
            return None
    if not (value.isascii() and value.isprintable()):
        return None
    return value


def mismatch(headers: dict[str, list[str]], obj: dict[str, Any]) -> Optional[str]:
    """
    How the MCP headers disagree with message C{obj}, or None.
    """
    methods = headers.get("mcp-method")
    if not methods:
        return None
    if len(methods) > 1:
        return "duplicated Mcp-Method header"
    method = headerValue(methods[0])
    if method is None:
        return "Mcp-Method header is neither visible ASCII nor =?base64?...?="
    if method != obj.get("method"):
        return "Mcp-Method header does not match the body"
    name = rawTargetOf(obj)
    names = headers.get("mcp-name")
    if name is not None and names:
        value = headerValue(names[-1])
        if value is None:
            return "Mcp-Name header is neither visible ASCII nor =?base64?...?="
        if value != name:
            return "Mcp-Name header does not match the body"
    return None


class RateLimitStage:
    """
    The C{rate_limit} guardrails (SPEC section 3): each JSON-RPC request of
    a body counts one (notifications and responses nothing); a client body
    that is not JSON-RPC counts one when it is an HTTP request.  Refused:
    429 with C{Retry-After}, and for JSON-RPC requests a C{-31001} error
    per request with C{retry_after} and C{request_id} in its data.
    """

    name = "rate_limit"
    phases = frozenset((CLIENT_BODY,))
    on_error = "block"

    def __init__(self, rates: RateLimits):
        self.rates = rates

    def judge(self, item: Item, ctx: Context) -> StageResult:
        body: Body = item.obj
        if body.rpc:
            calls = tuple(toolOf(e) for e in body.rpc if isinstance(e.get("method"), str) and "id" in e)
            if not calls:
                return None
        elif item.transport == "http":
            calls = (None,)
        else:
            return None
        subject = Subject(ctx.keyName, ctx.clientAddress, ctx.target.host, ctx.upstreamId)
        verdict = _settled(self.rates.check(subject, calls))
        if isinstance(verdict, Deferred):  # a shared store (Redis)
            return verdict.addCallback(self._decide, item, ctx)
        return self._decide(verdict, item, ctx)

    def _decide(self, verdict: RateVerdict, item: Item, ctx: Context) -> Optional[Decision]:
        if verdict.allowed:
            return None
        guardrail = verdict.guardrail or "rate_limit"
        item.note((), (guardrail,))
        reason = f"rate limit exceeded ({guardrail}); retry after {verdict.retry_after} s"
        body: Body = item.obj
        answer: Any = None
        if body.rpc:
            data = metadata(ctx.requestId, (), item.guardrails)
            data["retry_after"] = verdict.retry_after
            errors = [
                rpcError(e["id"], REFUSAL_CODE, f"Blocked by akto-proxy: {reason}", data)
                for e in body.rpc
                if isinstance(e.get("method"), str) and "id" in e
            ]
            answer = errors if body.batch else errors[0]
        return Decision(REPLY, answer, 429, verdict.retry_after, reason, "rate_limited")


class RoleStage:
    """
    Roles (SPEC section 3): a request the key's roles do not allow never
    reaches the upstream.  A tool the key may not use is invisible (error
    C{-32602} "Unknown tool"); other refusals are C{-31001} errors with the
    reason; a refused notification is dropped.
    """

    name = "roles"
    phases = frozenset((CLIENT_REQUEST,))
    on_error = "block"

    def __init__(self, roles: Policy, duplicates: Optional[str] = None, monitor: bool = False):
        """
        @param duplicates: when no check reads requests (so the inspection
            stage never asks whether a key is named twice), the
            C{threat_detection.duplicate_keys} action for a request that
            names a member the roles read twice (L{Body.roleNamesTwice}); None:
            the inspection stage asks.
        """
        self.roles = roles
        self._duplicates = duplicates
        self._monitor = monitor

    def quick(self, ctx: Context, direction: str, obj: Any, method: Optional[str], name: Optional[str], prefix: Any, body: Any = None) -> Optional[bool]:
        if self._duplicates is not None and body is not None and body.roleNamesTwice() is not None:
            return False
        return self.roles.decide(ctx.key, ctx.target.host, method, name).allowed  # type: ignore[arg-type]

    def judge(self, item: Item, ctx: Context) -> StageResult:
        body = item.body
        if self._duplicates is not None and body is not None:
            twice = body.roleNamesTwice()
            if twice is not None:
                refused = ambiguity(item, ctx, twice, self._duplicates, self._monitor)
                if refused is not None:
                    return refused
        decision = self.roles.decide(ctx.key, ctx.target.host, item.method, item.name)  # type: ignore[arg-type]
        if decision.allowed:
            return None
        obj = item.obj
        reason = decision.reason
        if "id" not in obj:
            return Decision("drop", reason=reason, label="role_denied")
        if decision.invisible:
            answer = rpcError(obj["id"], INVALID_PARAMS, f"Unknown tool: {item.name}")
            return Decision(REPLY, answer, 400 if item.modern else 200, reason=reason, label="role_denied")
        data = metadata(ctx.requestId, (), ctx.guardrails)
        data["reason"] = reason
        return Decision(REPLY, rpcError(obj["id"], REFUSAL_CODE, f"Blocked by akto-proxy: {reason}", data), reason=reason, label="role_denied")


class ListFilterStage:
    """
    A tool (prompt, resource) the key may not use is removed from the
    C{tools/list} (C{prompts/list}, C{resources/list}) result.
    """

    name = "list_filter"
    phases = frozenset((LIST_RESULT,))
    on_error = "block"

    def __init__(self, roles: Policy):
        self.roles = roles
        # per key, upstream endpoint and method, the last result and what it
        # came to (None: unchanged; else the filtered result, written once):
        # the same result again comes to the same (the roles are this
        # configuration's; a reload builds a new stage)
        self._last: dict[tuple[Any, str, str, Optional[str]], tuple[dict[str, Any], Optional[Encoded]]] = {}

    def judge(self, item: Item, ctx: Context) -> StageResult:
        obj = item.obj
        result = obj.get("result")
        if not isinstance(result, dict) or "method" in obj:
            return None
        key = (ctx.key, endpointOf(ctx), ctx.target.host, item.method)
        last = self._last.get(key)
        if last is not None and last[0] == result:
            filtered = last[1]
        else:
            plain = self.roles.filterListResult(ctx.key, ctx.target.host, item.method, result)
            filtered = None if plain == result else Encoded(plain)
            if len(self._last) >= MAX_CLEAN_LISTS and key not in self._last:
                self._last.clear()
            self._last[key] = (result, filtered)
        if filtered is None:
            return None
        return Decision(REWRITE, dict(obj, result=filtered), label="filtered")


class InspectStage:
    """
    The inspection chain (threat checks, custom rules, guardrails, PII) on
    every string of every message (object keys included), and on the URL.
    A message whose strings the prefilter proves clean is passed without
    building its L{Message}.

    JSON that names a key twice in one object is ambiguous: C{json} keeps
    the last member, and only it is judged, while the bytes go on as they
    came, to a parser that may keep the first.  Such a message is refused
    (C{threat_detection.duplicate_keys}: C{block}; C{alert} or C{log}
    relay it with the finding).  Finding out costs a count of the source's
    quotes (L{stringTokens}) against the strings gathered anyway: only a
    source that holds more strings than its parsed value is parsed again
    (L{Body.duplicateKey}).
    """

    name = "inspection"
    phases = frozenset((CLIENT_REQUEST, CLIENT_ANSWER, SERVER_RESPONSE, SERVER_REQUEST, CLIENT_OTHER, SERVER_OTHER, URL))
    on_error = "block"

    def __init__(self, chain: Chain, duplicates: str = "block", monitor: bool = False):
        self.chain = chain
        self._duplicates = duplicates
        self._monitor = monitor
        # the last */list result of each upstream proven clean (by the
        # prefilter, or the steps without a word), with its number of
        # strings: the same result again is clean again (the chain is this
        # configuration's; a reload builds a new stage), so a client that
        # lists an unchanged server's tools again and again costs one deep
        # comparison instead of gathering and scanning every description
        self._cleanLists: dict[tuple[str, str, str], tuple[Any, int]] = {}
        # only the phases of the directions some step judges (the prompt
        # injection step alone, on by default, judges responses only)
        directions = chain.directions
        self.phases = frozenset(
            p
            for p in self.phases
            if ("request" in directions if p in CLIENT_PHASES or p == URL else "response" in directions)
        )

    def quick(self, ctx: Context, direction: str, obj: dict[str, Any], method: Optional[str], name: Optional[str], prefix: tuple[tuple[str, str], ...], body: Optional[Body] = None) -> Optional[bool]:
        """
        A JSON-RPC message's strings (and C{prefix}'s) proven clean by the
        prefilter for every check, and all of its source's: True; not
        proven: False; no prefilter for every check: None (L{Chain.passes}).
        """
        return self._proven(ctx, direction, obj, method, prefix, body)

    def _proven(self, ctx: Context, direction: str, obj: dict[str, Any], method: Optional[str], prefix: tuple[tuple[str, str], ...], body: Optional[Body]) -> Optional[bool]:
        """
        L{quick}'s answer, asked by L{judge} too when no earlier pass asked
        it: an unchanged clean C{*/list} result (L{_cleanLists}) or the
        prefilter over the gathered strings, when they are all of the
        source's (L{_whole}; else False: the steps run in full, and
        L{_ambiguous} asks what the parsed value lost).
        """
        listed = self._listKey(direction, obj, method, ctx) if not prefix else None
        if listed is not None:
            known = self._cleanLists.get(listed)
            if known is not None and known[0] == obj["result"]:
                return True if _whole(body, obj, known[1]) else False
        texts = [t for _, t in prefix] if prefix else []
        strings = rpcGather(obj, texts) + len(texts) - len(prefix)
        if not _whole(body, obj, strings):
            return False
        clean = self.chain.passes(direction, texts, method)
        if clean and listed is not None:
            self._remember(listed, obj["result"], strings)
        return clean

    def quickBody(self, ctx: Context, direction: str, raw: bytes, asJSON: bool, seen: Any = None) -> Optional[bool]:
        """
        A large body that is not JSON-RPC (C{raw}, its bytes) proven clean
        without decoding it (L{Chain.passesUnread}): as the one text it is,
        and, when it may parse (C{asJSON}), as the JSON it may be, as
        L{judge} would judge it either way.  True: clean; else not proven.

        @param seen: what L{watchBody} told of C{raw} as it arrived.
        """
        return self.chain.passesUnread(direction, raw, asJSON, seen)

    def watchBody(self, ctx: Context, direction: str) -> Optional[IWatch]:
        """
        What L{quickBody} asks of a large body's bytes, asked of each chunk
        as it arrives (L{Chain.watchUnread}); None when it would not ask.
        """
        return self.chain.watchUnread(direction)

    def judge(self, item: Item, ctx: Context) -> StageResult:
        chain = self.chain
        phase = item.phase
        obj = item.obj
        if phase in _RPC_PHASES:
            # the common case first: a JSON-RPC message, proven clean by its
            # strings alone
            direction = "request" if phase in CLIENT_PHASES else "response"
            prefix = item.prefix
            clean = item.clean
            if clean is None:
                clean = self._proven(ctx, direction, obj, item.method, prefix, item.body)
                if clean:
                    return None
            listed = self._listKey(direction, obj, item.method, ctx) if not prefix else None
            msg = Message.fromJSONRPC(
                obj,
                direction,  # type: ignore[arg-type]
                ctx.target,
                item.transport,  # type: ignore[arg-type]
                method=item.method,
                keyName=ctx.keyName,
                requestId=ctx.requestId,
                prefix=prefix,
                tool=item.name,
            )
            if not _whole(item.body, obj, len(msg.strings) - len(prefix) + msg.protocolKeys):
                refused = self._ambiguous(item, ctx, item.body)
                if refused is not None:
                    return refused
            return self._inspect(chain, msg, clean, item, ctx, (listed, obj["result"]) if listed is not None else None)
        direction = item.direction
        if phase == URL:
            msg = Message(
                direction="request",
                target=ctx.target,
                transport="url",
                kind="json",
                payload={},
                strings=item.prefix,
                keyName=ctx.keyName,
                requestId=ctx.requestId,
            )
        else:
            body: Body = obj
            if body.json:
                if body.raw is not None:
                    # a large body: proven clean from its bytes (every key
                    # and every member written twice included), else from
                    # its strings, before its paths are walked
                    clean = chain.passesRaw(direction, body.raw)
                    if clean is None:
                        texts: list[str] = []
                        strings = jsonGather(body.value, texts) + len(texts)
                        clean = chain.passes(direction, texts, None) if _whole(body, None, strings) else False
                    if clean:
                        return None
                msg = Message.fromJSON(body.value, direction, ctx.target, item.transport, ctx.keyName, ctx.requestId)  # type: ignore[arg-type]
                if not _whole(body, None, len(msg.strings) + msg.protocolKeys):
                    refused = self._ambiguous(item, ctx, body)
                    if refused is not None:
                        return refused
            else:
                msg = Message.fromText(body.text or "", direction, ctx.target, item.transport, ctx.keyName, ctx.requestId, binary=body.binary)  # type: ignore[arg-type]
        return self._inspect(chain, msg, None, item, ctx)

    def _ambiguous(self, item: Item, ctx: Context, body: Optional[Body]) -> Optional[Decision]:
        """
        For a message whose source holds strings its parsed value does not:
        when a key is named twice in one object of it, the finding (check
        C{ambiguous_json}, rule C{duplicate_key}), and the refusal when
        C{duplicate_keys} is C{block} (in C{enforce} mode).
        """
        duplicate = body.duplicateKey() if body is not None else None
        if duplicate is None:
            return None  # only escapes or members the walk leaves alone
        path, key = duplicate
        return ambiguity(item, ctx, memberPath(path, key), self._duplicates, self._monitor)

    @staticmethod
    def _listKey(direction: str, obj: Any, method: Optional[str], ctx: Context) -> Optional[tuple[str, str, str]]:
        """
        For a server's response to a */list request whose strings are its
        result's alone (all the chain sees of it): its endpoint, method and
        transport (what else the steps see of it: no key, no tool name).
        """
        if direction != "response" or method not in LIST_METHODS or "result" not in obj or "error" in obj or "params" in obj or "method" in obj:
            return None
        return (endpointOf(ctx), method, ctx.transport)  # type: ignore[return-value]

    def _remember(self, key: tuple[str, str, str], result: Any, strings: int) -> None:
        lists = self._cleanLists
        if len(lists) >= MAX_CLEAN_LISTS and key not in lists:
            lists.clear()
        lists[key] = (result, strings)

    def _inspect(self, chain: Chain, msg: Message, clean: Optional[bool], item: Item, ctx: Context, listed: Any = None) -> StageResult:
        outcome = chain.inspectNow(msg, clean)
        if isinstance(outcome, Deferred):
            return outcome.addCallback(self._decide, item, ctx, msg, listed)
        return self._decide(outcome, item, ctx, msg, listed)

    def _decide(self, outcome: Outcome, item: Item, ctx: Context, msg: Message, listed: Any = None) -> Optional[Decision]:
        """
        @param listed: for a */list result, its memo key and result: one the
            steps pass without a word (no finding, no guardrail, unchanged)
            is remembered clean.
        """
        if listed is not None and not outcome.findings and not outcome.guardrails and not outcome.blocked and outcome.message is msg and not item.findings:
            self._remember(*listed, len(msg.strings) + msg.protocolKeys)
        item.note(outcome.findings, outcome.guardrails)
        if outcome.blocked:
            return refuse(item, ctx, outcome.reason, "inspection_error" if outcome.error else "blocked")
        if outcome.message is not msg:
            payload = outcome.message.payload
            if item.phase in (CLIENT_OTHER, SERVER_OTHER):
                body: Body = item.obj
                payload = Body([], False, body.json, payload if body.json else None, None if body.json else payload, binary=body.binary)
            return Decision(REWRITE, payload, label="redacted" if outcome.rewritten else None)
        return None


#: the check of the findings on JSON that names a key twice in one object
AMBIGUOUS_JSON = "ambiguous_json"


def ambiguity(item: Item, ctx: Context, location: str, duplicates: str, monitor: bool) -> Optional[Decision]:
    """
    For a message that names the key at C{location} twice in one object:
    the finding (check C{ambiguous_json}, rule C{duplicate_key}), and the
    refusal when C{duplicates} is C{block} (not in C{monitor} mode).
    """
    enforced = not monitor
    item.note((Finding(AMBIGUOUS_JSON, "duplicate_key", location, "high", duplicates, enforced),), ())
    if duplicates != "block" or not enforced:
        return None
    shown = location if len(location) <= 120 else location[:117] + "..."
    return refuse(item, ctx, f"ambiguous JSON: a key named twice in one object ({shown})")


def _whole(body: Optional[Body], obj: Optional[dict[str, Any]], strings: int) -> bool:
    """
    Whether C{strings}, the strings gathered from JSON-RPC message C{obj}'s
    members but C{jsonrpc}, C{id} and C{method} (or, C{obj} None, from the whole
    value), with those of its envelope, are all the strings of C{body}'s
    source: when they are, parsing lost no member.  True for a value the
    proxy made (no source) or a message an earlier stage rewrote (it goes
    on as the proxy writes it); False for a message of a batch (its strings
    are gathered message by message) or a source whose quotes cannot tell.

    A source holds at least two quote bytes per string (more with escaped
    quotes, or in UTF-16 and -32): exactly two per string gathered proves
    that it holds no other string, in one count; else L{stringTokens}.
    """
    if body is None:
        return True
    source = body.source
    if source is None:
        return True
    if obj is not None:
        if obj is not body.value:
            return not body.batch or all(m is not obj for m in body.rpc)
        # its keys (those of JSON-RPC: any other is among the strings),
        # C{jsonrpc}'s value, and C{method} and C{id} when they are strings
        # (another string makes the count differ: the slow way then tells)
        strings += envelopeKeys(obj) + 1 + (type(obj.get("method")) is str) + (type(obj.get("id")) is str)
    if body.quotes() == 2 * strings:
        return True
    return body.stringTokens() == strings


def buildPipeline(config: Any, chain: Chain, roles: Policy, rates: RateLimits, state: Any = None, cache: Any = None) -> Pipeline:
    """
    The pipeline one configuration calls for: the response cache's
    invalidation (with C{cache}, when enabled), the 2026-07-28 header
    mirror, rate limits, roles, list filtering, the MCP protections (with
    C{state}: pins and poisoned tools), the inspection chain.
    """
    stages: list[Any] = []
    if cache is not None and config.cache.enabled:
        # first: a list_changed that a later stage drops still invalidates
        stages.append(CacheStage(cache))
    stages.append(HeaderMirrorStage())
    if rates.rules:
        stages.append(RateLimitStage(rates))
    td = config.threat_detection
    if config.access_control.roles:
        # the inspection stage asks about every key named twice in a
        # request, when some check reads requests; else the roles ask about
        # the names they read
        asked = bool(chain) and "request" in chain.directions
        stages.append(RoleStage(roles, None if asked else td.duplicate_keys, td.mode == "monitor"))
        stages.append(ListFilterStage(roles))
    stages.extend(buildProtections(config, state, roles))
    if chain:
        stages.append(InspectStage(chain, td.duplicate_keys, td.mode == "monitor"))
    return Pipeline(stages)


__all__ = [
    "AMBIGUOUS_JSON",
    "HeaderMirrorStage",
    "InspectStage",
    "ListFilterStage",
    "RateLimitStage",
    "RoleStage",
    "ambiguity",
    "buildPipeline",
    "headerValue",
    "mismatch",
]
