"""
The pipeline: configured stages that judge each message of a conversation,
in a context (key, client, upstream, conversation, request id), and decide
what becomes of it: forward it, forward a rewritten copy, answer it in the
proxy's name, or drop it.

Every message is judged in one phase (where it is in the conversation):

    client_body      a client's whole body (rate limits count it once)
    client_request   a client's JSON-RPC request or notification
    client_answer    a client's response to a server's request
    server_response  a server's response to a client's request
    list_result      a server's response to a */list request (its stages
                     run before those of server_response)
    server_request   a server's request or notification to the client
                     (sampling, elicitation, roots, progress, logs...)
    client_other     a client body that is not JSON-RPC (JSON or text)
    server_other     a server body that is not JSON-RPC
    url              the proxied URL (and the MCP headers that mirror a body)

A stage declares the phases it judges and its C{on_error}; for one message
it answers nothing (no objection), or a L{Decision}.  A rewrite is passed to
the next stage; a reply, a drop or a final rewrite ends the message's turn.
Stages answer synchronously or with a Deferred: the common case (every
stage synchronous) costs no Deferred and no reactor turn.

Decisions are transport-free: a reply is the JSON-RPC answer itself (or,
for a body that is not JSON-RPC, None and an HTTP status).  The transports
frame them on the wire (L{akto_proxy.web}).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Optional, Protocol, Sequence, Union

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from akto_proxy.inspect.chain import Finding
from akto_proxy.mcp.answers import REFUSAL_CODE, metadata, refusal, rpcError
from akto_proxy.mcp.events import DROPPED, FORWARDED, REPLIED, REWRITTEN, EventBus, MessageEvent
from akto_proxy.mcp.jsonrpc import (
    LIST_METHODS,
    NOTIFICATION,
    RAW_FROM,
    REQUEST,
    RESPONSE,
    Body,
    KeyWatch,
    isModern,
    kindOf,
    neverRPC,
    targetOf,
    triesJSON,
)
from akto_proxy.mcp.session import Conversation
from akto_proxy.relay.url import Target

log = Logger()

CLIENT_BODY = "client_body"
CLIENT_REQUEST = "client_request"
CLIENT_ANSWER = "client_answer"
SERVER_RESPONSE = "server_response"
LIST_RESULT = "list_result"
SERVER_REQUEST = "server_request"
CLIENT_OTHER = "client_other"
SERVER_OTHER = "server_other"
URL = "url"
PHASES = (CLIENT_BODY, CLIENT_REQUEST, CLIENT_ANSWER, SERVER_RESPONSE, LIST_RESULT, SERVER_REQUEST, CLIENT_OTHER, SERVER_OTHER, URL)
CLIENT_PHASES = frozenset((CLIENT_BODY, CLIENT_REQUEST, CLIENT_ANSWER, CLIENT_OTHER, URL))

FORWARD = "forward"
REWRITE = "rewrite"
REPLY = "reply"
DROP = "drop"

#: findings kept on a context (a long-lived socket or stream judges many
#: messages; its access line shows the latest)
MAX_FINDINGS = 200


class Decision:
    """
    What becomes of a message.

    @ivar action: L{FORWARD}, L{REWRITE} (forward C{message} instead),
        L{REPLY} (answer C{message} to the sender; None for a body that is
        not JSON-RPC: refuse it with C{status}) or L{DROP}.
    @ivar status: the HTTP status a reply calls for (200, or 400 for a
        header mismatch under 2026-07-28, 429 for a rate limit...).
    @ivar retryAfter: seconds, for a rate limit's C{Retry-After}.
    @ivar reason: why, for logs and the proxy's answers.
    @ivar label: the outcome the access line records (C{blocked},
        C{redacted}, C{role_denied}, C{rate_limited}...), or None.
    @ivar final: a rewrite that ends the message's turn (a refusal put in
        its place).
    """

    __slots__ = ("action", "message", "status", "retryAfter", "reason", "label", "final")

    def __init__(
        self,
        action: str,
        message: Any = None,
        status: int = 200,
        retryAfter: Optional[int] = None,
        reason: Optional[str] = None,
        label: Optional[str] = None,
        final: bool = False,
    ):
        self.action = action
        self.message = message
        self.status = status
        self.retryAfter = retryAfter
        self.reason = reason
        self.label = label
        self.final = final or action in (REPLY, DROP)

    def __repr__(self) -> str:
        return f"<Decision {self.action} {self.label or ''} {self.reason or ''}>"


PASS = Decision(FORWARD)


class Context:
    """
    One exchange (an HTTP request) or connection (a WebSocket) as the
    pipeline sees it, and what its messages came to (for the access line).

    @ivar transport: C{http}, C{sse}, C{legacy} or C{ws}.
    @ivar headerVersion: the client's C{MCP-Protocol-Version}.
    @ivar mcpHeaders: the 2026-07-28 headers that mirror the body
        (lower-case name to values), or None when the request has none.
    """

    __slots__ = (
        "clock",
        "bus",
        "requestId",
        "transport",
        "key",
        "clientAddress",
        "target",
        "conversation",
        "headerVersion",
        "mcpHeaders",
        "findings",
        "guardrails",
        "outcome",
        "blocked",
        "rpcMethod",
        "rpcName",
        "reason",
    )

    def __init__(
        self,
        clock: Callable[[], float],
        bus: EventBus,
        requestId: str,
        transport: str,
        key: Any,
        clientAddress: str,
        target: Target,
        conversation: Conversation,
        headerVersion: Optional[str] = None,
        mcpHeaders: Optional[dict[str, list[str]]] = None,
    ):
        self.clock = clock
        self.bus = bus
        self.requestId = requestId
        self.transport = transport
        self.key = key
        self.clientAddress = clientAddress
        self.target = target
        self.conversation = conversation
        self.headerVersion = headerVersion
        self.mcpHeaders = mcpHeaders
        self.findings: list[Finding] = []
        self.guardrails: list[str] = []
        self.outcome = "relayed"
        self.blocked = False
        self.rpcMethod: Optional[str] = None
        self.rpcName: Optional[str] = None
        #: why the latest refusal was made (role denial, rate limit, block)
        self.reason: Optional[str] = None

    @property
    def keyName(self) -> Optional[str]:
        return self.key.name if self.key is not None else None

    @property
    def upstreamId(self) -> str:
        return self.target.origin

    def note(self, findings: Iterable[Finding], guardrails: Iterable[str], label: Optional[str] = None, reason: Optional[str] = None) -> None:
        """
        Record what a message came to on the exchange's access line (the
        latest L{MAX_FINDINGS} findings).
        """
        if findings:
            kept = self.findings
            kept.extend(findings)
            if len(kept) > MAX_FINDINGS:
                del kept[: len(kept) - MAX_FINDINGS]
        for g in guardrails:
            if g not in self.guardrails:
                self.guardrails.append(g)
        if label is not None:
            if label in ("blocked", "inspection_error", "role_denied", "rate_limited", "header_mismatch"):
                self.blocked = self.blocked or label != "rate_limited"
                self.outcome = label
                self.reason = reason
            elif label == "redacted" and self.outcome == "relayed":
                self.outcome = label


class Item:
    """
    One message in one phase, as the stages see it.

    @ivar obj: a JSON-RPC message (dict) in the JSON-RPC phases; the
        L{Body} in C{client_body}, C{client_other} and C{server_other};
        None for C{url}.
    @ivar method: its method, or for a response the method of the request
        it answers (when known).
    @ivar name: the tool, prompt or resource it names (or its request did).
    @ivar modern: under the 2026-07-28 revision or later.
    @ivar prefix: strings inspected with it, before its own: the URL and
        MCP headers of a request that is a single JSON-RPC message; for
        C{url}, the strings to inspect.
    @ivar transport: what carries it (C{http}, C{sse}, C{ws}, C{url}).
    @ivar sentAt: when the request it answers was sent, if known.
    @ivar single: the only message of its body (not in a batch).
    @ivar body: the L{Body} a JSON-RPC message came in (its source tells
        what parsing it lost: L{Body.duplicateKey}), or None.
    """

    __slots__ = ("phase", "obj", "method", "name", "modern", "prefix", "transport", "sentAt", "findings", "guardrails", "label", "single", "clean", "body")

    def __init__(
        self,
        phase: str,
        obj: Any,
        method: Optional[str] = None,
        name: Optional[str] = None,
        modern: bool = False,
        prefix: tuple[tuple[str, str], ...] = (),
        transport: str = "http",
        sentAt: Optional[float] = None,
        single: bool = False,
    ):
        self.phase = phase
        self.obj = obj
        self.method = method
        self.name = name
        self.modern = modern
        self.prefix = prefix
        self.transport = transport
        self.sentAt = sentAt
        self.findings: tuple[Finding, ...] = ()
        self.guardrails: tuple[str, ...] = ()
        self.label: Optional[str] = None  # of the last rewrite
        self.single = single
        self.clean: Optional[bool] = None  # what a quick look found, if asked
        self.body: Optional[Body] = None

    @property
    def direction(self) -> str:
        return "request" if self.phase in CLIENT_PHASES else "response"

    def note(self, findings: Sequence[Finding], guardrails: Sequence[str]) -> None:
        if findings:
            self.findings = self.findings + tuple(findings)
        for g in guardrails:
            if g not in self.guardrails:
                self.guardrails = self.guardrails + (g,)


StageResult = Union[None, Decision, "Deferred[Optional[Decision]]"]


class Stage(Protocol):
    """
    One stage of the pipeline.

    @ivar name: for logs.
    @ivar phases: the phases it judges.
    @ivar on_error: C{block} (fail closed: the message is refused with
        reason C{inspection_error}) or C{pass}, when C{judge} raises or
        fails.
    """

    name: str
    phases: frozenset[str]
    on_error: str

    def judge(self, item: Item, ctx: Context) -> StageResult: ...

    # Optional: quick(ctx, direction, obj, method, name, prefix, body) -> True
    # when the stage certainly has nothing to say about a JSON-RPC message of
    # its phases (cheaply: before an Item is built), else False or None.
    # Optional: quickBody(ctx, direction, raw, asJSON) -> True when it has
    # nothing to say about a large body that is not JSON-RPC, as the text
    # it is or (C{asJSON}) as the JSON it may parse to, told from its bytes
    # (Pipeline.passesUnread); with a fifth argument, what its watchBody
    # told of those bytes as they arrived.
    # Optional: watchBody(ctx, direction) -> what quickBody asks of a large
    # body's bytes, asked of each chunk as it arrives (feed, end, close),
    # or None when it would not ask (Pipeline.watchUnread).


def refuse(item: Item, ctx: Context, reason: str, label: str = "blocked", status: int = 200, data: Optional[dict[str, Any]] = None) -> Decision:
    """
    The decision that refuses C{item}, shaped for its phase (SPEC section
    5): a client's request is answered (a C{tools/call} with a tool result
    the model can read, others with error C{-31001}) and its notification
    dropped; a client's answer to a server request is replaced by an error
    for the id it answers, sent on to the server; a server's response is
    replaced by the refusal of the request it answers; a server's request
    is answered to the server with an error (so its pending call ends at
    once) and its notification dropped; anything else is refused with
    C{status} 403.
    """
    obj = item.obj
    meta = data if data is not None else metadata(ctx.requestId, item.findings, item.guardrails)
    text = f"Blocked by akto-proxy: {reason}"
    phase = item.phase
    if phase == CLIENT_REQUEST:
        if "id" not in obj:
            return Decision(DROP, reason=reason, label=label)
        return Decision(REPLY, refusal(obj["id"], item.method, reason, meta, item.modern), status, reason=reason, label=label)
    if phase == CLIENT_ANSWER:
        return Decision(REWRITE, rpcError(obj.get("id"), REFUSAL_CODE, text, meta), reason=reason, label=label, final=True)
    if phase in (SERVER_RESPONSE, LIST_RESULT):
        if "id" not in obj:
            return Decision(DROP, reason=reason, label=label)
        modern = item.modern or isModern(ctx.headerVersion, None)
        return Decision(REWRITE, refusal(obj["id"], item.method, reason, meta, modern), reason=reason, label=label, final=True)
    if phase == SERVER_REQUEST:
        if "id" not in obj:
            return Decision(DROP, reason=reason, label=label)
        return Decision(REPLY, rpcError(obj["id"], REFUSAL_CODE, text, meta), reason=reason, label=label)
    return Decision(REPLY, None, 403 if status == 200 else status, reason=reason, label=label)


def _quickly(quicks: tuple[Callable[..., Optional[bool]], ...], ctx: Context, direction: str, obj: Any, method: Optional[str], name: Optional[str], prefix: tuple[tuple[str, str], ...], body: Body) -> Optional[bool]:
    """
    Whether every stage says it has nothing to say about a message: True;
    else the answer of the first that could not (False: not proven, None:
    not asked), which the stages then judge in full.
    """
    for quick in quicks:
        clean = quick(ctx, direction, obj, method, name, prefix, body)
        if clean is not True:
            return clean
    return True


class Verdict:
    """
    What a body came to.

    @ivar forward: the messages to pass on, in order (JSON-RPC messages;
        for a body that is not JSON-RPC, its value or text).
    @ivar replies: answers to the body's sender (the client for a client
        body; the server for a server body: refused server requests).
    @ivar changed: C{forward} is not the body as it came.
    @ivar status: the HTTP status the replies call for.
    @ivar retryAfter: seconds, for a rate limit.
    @ivar refused: a body that is not JSON-RPC was refused (C{reason}).
    """

    __slots__ = ("forward", "replies", "changed", "status", "retryAfter", "refused", "reason", "batch", "label")

    def __init__(self, forward: list[Any], replies: list[Any], changed: bool, batch: bool = False) -> None:
        self.forward = forward
        self.replies = replies
        self.changed = changed
        self.batch = batch
        self.status = 200
        self.retryAfter: Optional[int] = None
        self.refused = False
        self.reason: Optional[str] = None
        self.label: Optional[str] = None

    @property
    def unchanged(self) -> bool:
        return not self.changed and not self.replies

    def forwardValue(self) -> Any:
        """
        What to send on, as one JSON value: the batch, or its one message.
        """
        return self.forward if self.batch else self.forward[0]

    def replyValue(self) -> Any:
        return self.replies if self.batch else self.replies[0]


#: the verdict on a body that goes on as it came (shared: read only)
UNCHANGED = Verdict([], [], False)


class UnreadWatch:
    """
    What L{Pipeline.passesUnread} asks of a large server body's bytes,
    asked of each chunk as it arrives (L{Pipeline.watchUnread}): fed each,
    ended when the body is whole, closed when it is given up.

    @ivar seen: each stage's watch (its C{watchBody}), by the stage's id.
    @ivar facts: one of them, whose byte tests (C{ascii}, C{nul},
        C{backslash}) L{neverRPC} takes.
    @ivar key: whether the bytes hold the JSON-RPC key (L{KeyWatch}), when
        they may be read as JSON (L{triesJSON}: the content type, the first
        byte); else None, and the key is not looked for.
    @ivar size: the bytes fed.
    """

    __slots__ = ("seen", "facts", "key", "size", "ended")

    def __init__(self, seen: dict[int, Any], asJSON: bool):
        self.seen = seen
        self.facts = next(iter(seen.values()))
        self.key = KeyWatch() if asJSON else None
        self.size = 0
        self.ended = False

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.key is not None:
            self.key.feed(chunk)
        for watch in self.seen.values():
            watch.feed(chunk)

    def end(self) -> None:
        self.ended = True
        for watch in self.seen.values():
            watch.end()

    def close(self) -> None:
        for watch in self.seen.values():
            watch.close()

    def tells(self, raw: bytes) -> bool:
        """
        Whether it was fed C{raw}, whole (the same length: the caller gives
        the bytes it collected, undecoded).
        """
        return self.ended and self.size == len(raw)


class Pipeline:
    """
    The stages of one configuration, by phase.
    """

    def __init__(self, stages: Sequence[Stage]):
        self.stages = tuple(stages)
        self._byPhase = {p: tuple(s for s in self.stages if p in s.phases) for p in PHASES}
        # without the stages that judge only the 2026-07-28 MCP headers, for
        # the requests that have none
        self._plain = {p: tuple(s for s in stages if not getattr(s, "needsHeaders", False)) for p, stages in self._byPhase.items()}
        listing = self._byPhase[LIST_RESULT] + self._byPhase[SERVER_RESPONSE]
        self._listing = tuple(dict.fromkeys(listing))
        # the stage lists whose every stage can tell, from the message alone
        # and cheaply, that it has nothing to say (Stage.quick): asked in
        # turn before an Item is built, for the common clean message
        self._quick: dict[int, tuple[Callable[..., Optional[bool]], ...]] = {}
        for stages in [*self._byPhase.values(), *self._plain.values(), self._listing]:
            if stages and all(hasattr(s, "quick") for s in stages):
                self._quick[id(stages)] = tuple(s.quick for s in stages)  # type: ignore[attr-defined]
        #: some stage judges the client's messages / the server's messages
        self.judgesClient = any(self._byPhase[p] for p in CLIENT_PHASES)
        self.judgesServer = any(self._byPhase[p] for p in PHASES if p not in CLIENT_PHASES)

    def __bool__(self) -> bool:
        return bool(self.stages)

    def stagesFor(self, phase: str) -> tuple[Stage, ...]:
        return self._byPhase[phase]

    # -- one message

    def judge(self, item: Item, ctx: Context) -> Union[Decision, "Deferred[Decision]"]:
        """
        Run C{item} through the stages of its phase: the decision, or a
        Deferred firing with it when a stage answered with one.  The
        decision is noted on C{ctx} and published as a L{MessageEvent}.
        """
        return self.judgeWith(self.stagesOf(item.phase, item.method, ctx), item, ctx)

    def stagesOf(self, phase: str, method: Optional[str], ctx: Context) -> tuple[Stage, ...]:
        """
        The stages that judge a message of C{phase} (with C{method}).
        """
        if phase == SERVER_RESPONSE and method in LIST_METHODS:
            return self._listing
        if ctx.mcpHeaders is None:
            return self._plain[phase]
        return self._byPhase[phase]

    def judgeWith(self, stages: tuple[Stage, ...], item: Item, ctx: Context) -> Union[Decision, "Deferred[Decision]"]:
        obj = item.obj
        if len(stages) == 1:
            # one stage (the chain, most often): no loop to set up
            stage = stages[0]
            try:
                result = stage.judge(item, ctx)
            except Exception:
                result = self._failed(item, ctx, stage, Failure())
            if result is None:
                return self._done(item, ctx, PASS, obj)
            if isinstance(result, Deferred):
                return Deferred.fromCoroutine(self._resume(item, ctx, stages, (0, result), obj))
            if not result.final and result.action == REWRITE:
                item.obj = result.message
                item.label = result.label or item.label
                result = PASS
            return self._done(item, ctx, result, obj)
        advanced = self._advance(item, ctx, stages, 0)
        if isinstance(advanced, Decision):
            return self._done(item, ctx, advanced, obj)
        return Deferred.fromCoroutine(self._resume(item, ctx, stages, advanced, obj))

    def _advance(self, item: Item, ctx: Context, stages: tuple[Stage, ...], start: int) -> Union[Decision, tuple[int, "Deferred[Optional[Decision]]"]]:
        for i in range(start, len(stages)):
            stage = stages[i]
            try:
                result = stage.judge(item, ctx)
            except Exception:
                result = self._failed(item, ctx, stage, Failure())
            if result is None:
                continue
            if isinstance(result, Deferred):
                return (i, result)
            if result.final:
                return result
            if result.action == REWRITE:
                item.obj = result.message
                item.label = result.label or item.label
        return PASS

    async def _resume(self, item: Item, ctx: Context, stages: tuple[Stage, ...], pending: tuple[int, "Deferred[Optional[Decision]]"], original: Any) -> Decision:
        while True:
            i, d = pending
            try:
                result = await d
            except Exception:
                result = self._failed(item, ctx, stages[i], Failure())
            if result is not None:
                if result.final:
                    return self._done(item, ctx, result, original)
                if result.action == REWRITE:
                    item.obj = result.message
                    item.label = result.label or item.label
            nxt = self._advance(item, ctx, stages, i + 1)
            if isinstance(nxt, Decision):
                return self._done(item, ctx, nxt, original)
            pending = nxt

    def _failed(self, item: Item, ctx: Context, stage: Stage, failure: Failure) -> Optional[Decision]:
        log.failure(
            "pipeline stage {stage} failed on {phase} for {upstream}",
            failure,
            stage=stage.name,
            phase=item.phase,
            upstream=ctx.target.display(),
            request_id=ctx.requestId,
        )
        if stage.on_error == "pass":
            item.note((Finding(stage.name, "exception", "", "low", "log", enforced=False),), ())
            return None
        item.note((Finding(stage.name, "inspection_error", "", "high", "block"),), ())
        return refuse(item, ctx, "inspection_error", "inspection_error")

    def _done(self, item: Item, ctx: Context, decision: Decision, original: Any) -> Decision:
        bus = ctx.bus
        if decision is PASS:
            if item.obj is not original:
                decision = Decision(REWRITE, item.obj, label=item.label)
            elif not item.findings and not item.guardrails:
                # clean: only for those who take every message
                if bus.messages:
                    self._publish(item, ctx, decision, original)
                return decision
        ctx.note(item.findings, item.guardrails, decision.label, decision.reason)
        if bus.messages or bus.notable:
            self._publish(item, ctx, decision, original)
        return decision

    def _publish(self, item: Item, ctx: Context, decision: Decision, original: Any = None) -> None:
        now = ctx.clock()
        action = decision.action
        done = FORWARDED if action == FORWARD else REWRITTEN if action == REWRITE else REPLIED if action == REPLY else DROPPED
        method = item.method
        if method is None and type(item.obj) is dict:
            m = item.obj.get("method")
            method = m if isinstance(m, str) else None
        sentAt = item.sentAt
        ctx.bus.publish(
            MessageEvent(
                now,
                ctx,
                item.phase,
                item.transport,
                method,
                item.name,
                done,
                decision.label or "relayed",
                decision.reason,
                item.findings,
                item.guardrails,
                (now - sentAt) * 1000.0 if sentAt is not None else None,
                original,
            )
        )

    # -- bodies

    async def judgeClient(self, ctx: Context, body: Body, prefix: tuple[tuple[str, str], ...] = (), transport: str = "http") -> Verdict:
        """
        Judge a client's body: the whole body (rate limits), then each
        JSON-RPC message of it, or the body as JSON or text.

        @param prefix: the URL and MCP header strings, inspected with a
            single JSON-RPC message (else judged on their own beforehand).
        """
        rpc = body.rpc
        whole = self._byPhase[CLIENT_BODY]
        if whole:
            d = self.judge(Item(CLIENT_BODY, body, transport=transport), ctx)
            if isinstance(d, Deferred):
                d = await d
            if d.action == REPLY:
                answer = d.message
                replies = answer if isinstance(answer, list) else [answer] if answer is not None else []
                verdict = Verdict([], replies, True, isinstance(answer, list))
                verdict.status = d.status
                verdict.retryAfter = d.retryAfter
                verdict.reason = d.reason
                verdict.label = d.label
                verdict.refused = answer is None
                return verdict
        if not rpc:
            return await self._judgeOther(CLIENT_OTHER, ctx, body, transport)
        correlator = ctx.conversation.correlator
        everything = ctx.bus.messages
        forward: list[Any] = []
        replies: list[Any] = []
        changed = False
        status = 200
        single = not body.batch
        tracks = self.judgesServer  # answers are judged knowing their request
        for obj in rpc:
            kind = kindOf(obj)
            if kind == REQUEST or kind == NOTIFICATION:
                method = obj["method"]
                modern = isModern(ctx.headerVersion, obj)
                name = targetOf(obj)
                if single:
                    ctx.rpcMethod = method
                    ctx.rpcName = name
                if kind == REQUEST and tracks:
                    correlator.clientRequest(obj, method, name, modern, ctx.clock())
                stages = self.stagesOf(CLIENT_REQUEST, method, ctx)
                clean = None
                if not everything:
                    if not stages:
                        forward.append(obj)
                        continue
                    quicks = self._quick.get(id(stages))
                    if quicks is not None:
                        clean = _quickly(quicks, ctx, "request", obj, method, name, prefix if single else (), body)
                        if clean:
                            forward.append(obj)
                            continue
                item = Item(CLIENT_REQUEST, obj, method, name, modern, prefix if single else (), transport, single=single)
                item.clean = clean
                item.body = body
            elif kind == RESPONSE:
                stages = self.stagesOf(CLIENT_ANSWER, None, ctx)
                sent = correlator.clientAnswered(obj)
                if not stages and not everything:
                    forward.append(obj)
                    continue
                if sent is not None:
                    item = Item(CLIENT_ANSWER, obj, sent.method, sent.target, False, prefix if single else (), transport, sentAt=sent.at, single=single)
                else:
                    item = Item(CLIENT_ANSWER, obj, None, None, False, prefix if single else (), transport, single=single)
                item.body = body
            else:
                forward.append(obj)  # not JSON-RPC as MCP uses it: the server answers it
                continue
            d = self.judgeWith(stages, item, ctx)
            if isinstance(d, Deferred):
                d = await d
            action = d.action
            if action == FORWARD:
                forward.append(obj)
                continue
            changed = True
            if action == REWRITE:
                forward.append(d.message)
            elif action == REPLY:
                replies.append(d.message)
                if single:
                    status = d.status
                if kind == REQUEST:
                    correlator.withdraw(obj)
        if not changed:
            return UNCHANGED
        verdict = Verdict(forward, replies, changed, body.batch)
        verdict.status = status
        return verdict

    def passesUnread(self, ctx: Context, raw: bytes, contentType: str = "", watch: Optional["UnreadWatch"] = None) -> bool:
        """
        Whether L{judgeServer} would leave the body C{raw} (with
        C{contentType}) unchanged and without a word, told without decoding
        it: a large body (L{RAW_FROM} on) that L{decode} cannot make
        JSON-RPC of (L{neverRPC}) is judged in phase C{server_other}, as
        the JSON it parses to or the text it is otherwise; every stage of
        that phase proves it clean both ways (C{quickBody}), and no one
        takes every message (whose event would carry the decoded body).
        False: decode and judge it.

        @param watch: what L{watchUnread} told of C{raw} as it arrived
            (used when it was fed these bytes, whole).
        """
        if len(raw) < RAW_FROM or ctx.bus.messages:
            return False
        if watch is not None and not watch.tells(raw):
            watch = None
        asJSON = triesJSON(raw, contentType)
        if asJSON and not (neverRPC(raw) if watch is None or watch.key is None else neverRPC(raw, watch.facts, watch.key)):
            return False
        for stage in self.stagesOf(SERVER_OTHER, None, ctx):
            quick = getattr(stage, "quickBody", None)
            if quick is None:
                return False
            seen = watch.seen.get(id(stage)) if watch is not None else None
            if not (quick(ctx, "response", raw, asJSON) if seen is None else quick(ctx, "response", raw, asJSON, seen)):
                return False
        return True

    def watchUnread(self, ctx: Context, head: bytes, contentType: str = "") -> Optional["UnreadWatch"]:
        """
        What L{passesUnread} asks of a large server body's bytes, asked of
        each chunk as it arrives (C{watchBody} of each stage of phase
        C{server_other}, and the JSON-RPC key of L{neverRPC}), so that the
        answer is nearly ready when the last one came; None when it would
        not be asked (a stage that cannot watch, a subscriber of every
        message).

        @param head: the body's first bytes (one at least), with
            C{contentType} what tells whether it may be read as JSON.
        """
        if ctx.bus.messages:
            return None
        seen: dict[int, Any] = {}
        for stage in self.stagesOf(SERVER_OTHER, None, ctx):
            watchBody = getattr(stage, "watchBody", None)
            watch = watchBody(ctx, "response") if watchBody is not None else None
            if watch is None:
                for other in seen.values():
                    other.close()
                return None
            seen[id(stage)] = watch
        if not seen:
            return None
        return UnreadWatch(seen, triesJSON(head, contentType))

    async def judgeServer(self, ctx: Context, body: Body, transport: str = "http") -> Verdict:
        """
        Judge a server's body (a response body, an SSE event, a WebSocket
        message): each JSON-RPC message, or the body as JSON or text.  The
        verdict's replies go back to the server.
        """
        rpc = body.rpc
        if not rpc:
            return await self._judgeOther(SERVER_OTHER, ctx, body, transport)
        correlator = ctx.conversation.correlator
        everything = ctx.bus.messages
        forward: list[Any] = []
        replies: list[Any] = []
        changed = False
        for obj in rpc:
            kind = kindOf(obj)
            if kind == RESPONSE:
                sent = correlator.serverAnswered(obj)
                method = sent.method if sent is not None else None
                stages = self.stagesOf(SERVER_RESPONSE, method, ctx)
                clean = None
                if not everything:
                    if not stages:
                        forward.append(obj)
                        continue
                    quicks = self._quick.get(id(stages))
                    if quicks is not None:
                        clean = _quickly(quicks, ctx, "response", obj, method, sent.target if sent is not None else None, (), body)
                        if clean:
                            forward.append(obj)
                            continue
                if sent is not None:
                    item = Item(SERVER_RESPONSE, obj, method, sent.target, sent.modern, (), transport, sentAt=sent.at)
                else:
                    item = Item(SERVER_RESPONSE, obj, None, None, False, (), transport)
                item.clean = clean
                item.body = body
            elif kind == REQUEST or kind == NOTIFICATION:
                stages = self.stagesOf(SERVER_REQUEST, None, ctx)
                clean = None
                if not everything:
                    quicks = self._quick.get(id(stages))
                    if quicks is not None:
                        clean = _quickly(quicks, ctx, "response", obj, obj["method"], None, (), body)
                        if clean:
                            forward.append(obj)
                            if kind == REQUEST:
                                correlator.serverRequest(obj, ctx.clock())
                            continue
                item = Item(SERVER_REQUEST, obj, obj["method"], None, False, (), transport)
                item.clean = clean
                item.body = body
            else:
                forward.append(obj)
                continue
            d = self.judgeWith(stages, item, ctx)
            if isinstance(d, Deferred):
                d = await d
            action = d.action
            if action == FORWARD:
                forward.append(obj)
                if kind == REQUEST:
                    correlator.serverRequest(obj, ctx.clock())
                continue
            changed = True
            if action == REWRITE:
                forward.append(d.message)
                if kind == REQUEST:
                    correlator.serverRequest(d.message, ctx.clock())
            elif action == REPLY:
                replies.append(d.message)
        if not changed:
            return UNCHANGED
        return Verdict(forward, replies, changed, body.batch)

    async def judgeURL(self, ctx: Context, strings: tuple[tuple[str, str], ...]) -> Decision:
        """
        Judge the proxied URL (and the MCP headers) on their own.
        """
        d = self.judge(Item(URL, None, prefix=strings, transport="url"), ctx)
        if isinstance(d, Deferred):
            d = await d
        return d

    async def _judgeOther(self, phase: str, ctx: Context, body: Body, transport: str) -> Verdict:
        if body.empty or not self._byPhase[phase]:
            return UNCHANGED
        d = self.judge(Item(phase, body, transport=transport), ctx)
        if isinstance(d, Deferred):
            d = await d
        if d.action == FORWARD:
            return UNCHANGED
        verdict = Verdict([d.message] if d.action == REWRITE else [], [], True)
        if d.action == REPLY or d.action == DROP:
            verdict.refused = True
            verdict.status = d.status
            verdict.reason = d.reason
            verdict.label = d.label
        return verdict


__all__ = [
    "CLIENT_ANSWER",
    "CLIENT_BODY",
    "CLIENT_OTHER",
    "CLIENT_REQUEST",
    "Context",
    "Decision",
    "DROP",
    "FORWARD",
    "Item",
    "LIST_RESULT",
    "PASS",
    "PHASES",
    "Pipeline",
    "REPLY",
    "REWRITE",
    "SERVER_OTHER",
    "SERVER_REQUEST",
    "SERVER_RESPONSE",
    "Stage",
    "URL",
    "UNCHANGED",
    "UnreadWatch",
    "Verdict",
    "refuse",
]
