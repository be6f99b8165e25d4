"""
The MCP core without sockets: the correlator and conversations, the
pipeline with fake stages (order, rewrites, replies, failures, Deferreds,
events), the shape of a refusal in every phase, and the configured stages
(header mirror, rate limits, roles, list filtering, the inspection chain)
judging whole bodies both ways.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Optional

from hypothesis import given, strategies as st
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.config.loader import parseConfig
from akto_proxy.config.model import ApiKey
from akto_proxy.mcp import pipeline as P
from akto_proxy.mcp.events import EventBus, MessageEvent
from akto_proxy.mcp.jsonrpc import Encoded, decode, decodeText, encode
from akto_proxy.mcp.session import Conversation, Conversations, Correlator
from akto_proxy.relay.url import Target
from akto_proxy.runtime import buildRuntime

TARGET = Target("https", "mcp.example.com", 443, b"/mcp")
KEY = ApiKey("alice", None, b"k", ("developer",))


def call(i: Any, tool: str, **arguments: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {"name": tool, "arguments": arguments}}


def result(i: Any, text: str) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": i, "result": {"content": [{"type": "text", "text": text}]}}


def body(value: Any) -> Any:
    return decode(encode(value), "application/json")


def run(d: Any) -> Any:
    """
    The result of a coroutine that completes without waiting.
    """
    out = Deferred.fromCoroutine(d) if not isinstance(d, Deferred) else d
    box: list[Any] = []
    out.addBoth(box.append)
    assert box, "did not complete synchronously"
    if hasattr(box[0], "raiseException"):
        box[0].raiseException()
    return box[0]


class Recorder:
    """
    A fake stage: records what it saw, answers what it was told.
    """

    on_error = "block"

    def __init__(self, name: str, phases: tuple[str, ...], answer: Any = None, on_error: str = "block"):
        self.name = name
        self.phases = frozenset(phases)
        self.answer = answer
        self.on_error = on_error
        self.seen: list[Any] = []

    def judge(self, item: P.Item, ctx: P.Context) -> Any:
        self.seen.append(item.obj)
        answer = self.answer
        if callable(answer):
            return answer(item, ctx)
        return answer


class Fixture:
    def __init__(self, *stages: Any, headers: Optional[dict[str, list[str]]] = None) -> None:
        self.clock = Clock()
        self.bus = EventBus()
        self.events: list[MessageEvent] = []
        self.bus.subscribe(MessageEvent, self.events.append)
        self.pipeline = P.Pipeline(stages)
        self.conversation = Conversation(None, 0.0)
        self.ctx = P.Context(self.clock.seconds, self.bus, "req_1", "http", KEY, "127.0.0.1", TARGET, self.conversation, None, headers)


class CorrelatorTests(SynchronousTestCase):
    def test_answersFindTheirRequest(self) -> None:
        c = Correlator()
        c.clientRequest(call(1, "echo"), "tools/call", "echo", False, 5.0)
        c.serverRequest({"jsonrpc": "2.0", "id": 1, "method": "elicitation/create"}, 6.0)
        self.assertEqual(len(c), 2)
        sent = c.serverAnswered(result(1, "x"))
        assert sent is not None
        self.assertEqual((sent.method, sent.target, sent.at), ("tools/call", "echo", 5.0))
        self.assertIsNone(c.serverAnswered(result(1, "again")))  # answered once
        asked = c.clientAnswered({"jsonrpc": "2.0", "id": 1, "result": {}})
        assert asked is not None
        self.assertEqual(asked.method, "elicitation/create")
        self.assertEqual(len(c), 0)

    def test_idsOfOtherTypesStayApart(self) -> None:
        c = Correlator()
        c.clientRequest(call(1, "a"), "tools/call", "a", False, 0)
        c.clientRequest(call("1", "b"), "tools/call", "b", False, 0)
        self.assertEqual(c.serverAnswered(result("1", "x")).target, "b")  # type: ignore[union-attr]
        self.assertEqual(c.serverAnswered(result(1, "x")).target, "a")  # type: ignore[union-attr]

    def test_bounded(self) -> None:
        """
        Requests never answered do not pile up: the oldest are forgotten.
        """
        c = Correlator(limit=100)
        for i in range(10_000):
            c.clientRequest(call(i, "t"), "tools/call", "t", False, 0)
            c.serverRequest({"jsonrpc": "2.0", "id": i, "method": "sampling/createMessage"}, 0)
        self.assertEqual(len(c), 200)
        self.assertIsNone(c.serverAnswered(result(0, "x")))
        self.assertIsNotNone(c.serverAnswered(result(9_999, "x")))

    def test_withdraw(self) -> None:
        c = Correlator()
        c.clientRequest(call(1, "t"), "tools/call", "t", False, 0)
        c.withdraw(call(1, "t"))
        self.assertEqual(len(c), 0)


class ConversationsTests(SynchronousTestCase):
    def test_sameKeySameConversation(self) -> None:
        clock = Clock()
        convs = Conversations(clock.seconds, idle=60)
        a = convs.get(("u", "s1"))
        self.assertIs(convs.get(("u", "s1")), a)
        self.assertIsNot(convs.get(("u", "s2")), a)

    def test_idleForgotten(self) -> None:
        clock = Clock()
        convs = Conversations(clock.seconds, idle=60)
        a = convs.get("s")
        clock.advance(59)
        self.assertIs(convs.get("s"), a)  # used again: idle restarts
        clock.advance(61)
        self.assertEqual(convs.sweep(), 1)
        self.assertNotIn("s", convs)
        b = convs.get("s")
        clock.advance(61)
        self.assertIsNot(convs.get("s"), b)  # expired even before a sweep

    def test_bounded(self) -> None:
        clock = Clock()
        convs = Conversations(clock.seconds, limit=10)
        for i in range(1000):
            convs.get(i)
        self.assertEqual(len(convs), 10)
        self.assertIn(999, convs)
        self.assertNotIn(0, convs)

    def test_adopt(self) -> None:
        clock = Clock()
        convs = Conversations(clock.seconds)
        own = Conversation(None, 0)
        own.correlator.clientRequest(call(1, "t"), "tools/call", "t", False, 0)
        convs.adopt(("u", "s"), own)
        self.assertIs(convs.get(("u", "s")), own)
        convs.forget(("u", "s"))
        self.assertNotIn(("u", "s"), convs)


class PipelineTests(SynchronousTestCase):
    def test_order_rewrite_reply(self) -> None:
        """
        Stages run in order; a rewrite is what the next stage sees; a reply
        ends the message's turn.
        """
        second = Recorder("b", (P.CLIENT_REQUEST,), lambda item, ctx: P.Decision(P.REPLY, {"jsonrpc": "2.0", "id": 1, "result": {}}, reason="no"))
        first = Recorder("a", (P.CLIENT_REQUEST,), lambda item, ctx: P.Decision(P.REWRITE, call(1, "renamed")))
        third = Recorder("c", (P.CLIENT_REQUEST,))
        f = Fixture(first, second, third)
        verdict = run(f.pipeline.judgeClient(f.ctx, body(call(1, "echo"))))
        self.assertEqual(second.seen, [call(1, "renamed")])
        self.assertEqual(third.seen, [])
        self.assertEqual((verdict.forward, verdict.replies), ([], [{"jsonrpc": "2.0", "id": 1, "result": {}}]))
        self.assertEqual([(e.action, e.phase, e.name) for e in f.events], [("replied", P.CLIENT_REQUEST, "echo")])

    def test_rewriteForwarded(self) -> None:
        stage = Recorder("a", (P.CLIENT_REQUEST,), lambda item, ctx: P.Decision(P.REWRITE, call(1, "renamed"), label="redacted"))
        f = Fixture(stage)
        verdict = run(f.pipeline.judgeClient(f.ctx, body(call(1, "echo"))))
        self.assertEqual(verdict.forwardValue(), call(1, "renamed"))
        self.assertEqual(f.ctx.outcome, "redacted")
        self.assertEqual((f.events[0].action, f.events[0].outcome), ("rewritten", "redacted"))

    def test_untouchedIsShared(self) -> None:
        f = Fixture(Recorder("a", (P.CLIENT_REQUEST,)))
        self.assertIs(run(f.pipeline.judgeClient(f.ctx, body(call(1, "echo")))), P.UNCHANGED)
        self.assertEqual(f.ctx.outcome, "relayed")

    def test_phases(self) -> None:
        """
        Each message is judged in its phase: requests and notifications,
        answers to server requests, responses, server requests; a body
        that is not JSON-RPC as "other".
        """
        stages = {p: Recorder(p, (p,)) for p in P.PHASES}
        f = Fixture(*stages.values())
        run(f.pipeline.judgeClient(f.ctx, body([call(1, "t"), {"jsonrpc": "2.0", "method": "notifications/x"}])))
        run(f.pipeline.judgeServer(f.ctx, body({"jsonrpc": "2.0", "id": "s", "method": "sampling/createMessage", "params": {}})))
        run(f.pipeline.judgeClient(f.ctx, body({"jsonrpc": "2.0", "id": "s", "result": {}})))
        run(f.pipeline.judgeServer(f.ctx, body(result(1, "done"))))
        run(f.pipeline.judgeClient(f.ctx, decode(b"plain text")))
        run(f.pipeline.judgeServer(f.ctx, decode(b'{"not": "rpc"}')))
        seen = {p: len(s.seen) for p, s in stages.items()}
        self.assertEqual(
            seen,
            {P.CLIENT_BODY: 3, P.CLIENT_REQUEST: 2, P.CLIENT_ANSWER: 1, P.SERVER_REQUEST: 1, P.SERVER_RESPONSE: 1, P.LIST_RESULT: 0, P.CLIENT_OTHER: 1, P.SERVER_OTHER: 1, P.URL: 0},
        )
        answer = [e for e in f.events if e.phase == P.CLIENT_ANSWER][0]
        self.assertEqual(answer.method, "sampling/createMessage")  # judged knowing what it answers
        response = [e for e in f.events if e.phase == P.SERVER_RESPONSE][0]
        self.assertEqual((response.method, response.name), ("tools/call", "t"))

    def test_listResultStagesBeforeResponseStages(self) -> None:
        order: list[str] = []
        listing = Recorder("list", (P.LIST_RESULT,), lambda item, ctx: order.append("list"))
        response = Recorder("response", (P.SERVER_RESPONSE,), lambda item, ctx: order.append("response"))
        f = Fixture(response, listing)
        run(f.pipeline.judgeClient(f.ctx, body({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})))
        run(f.pipeline.judgeServer(f.ctx, body({"jsonrpc": "2.0", "id": 1, "result": {"tools": []}})))
        self.assertEqual(order, ["list", "response"])

    def test_failingStageBlocks(self) -> None:
        """
        A stage that raises fails closed by default (the refusal of its
        phase, reason inspection_error); with on_error pass the message
        goes on.
        """

        def boom(item: Any, ctx: Any) -> None:
            raise RuntimeError("boom")

        f = Fixture(Recorder("bad", (P.CLIENT_REQUEST,), boom))
        verdict = run(f.pipeline.judgeClient(f.ctx, body(call(3, "echo"))))
        self.assertEqual(verdict.replies[0]["result"]["content"][0]["text"], "Blocked by akto-proxy: inspection_error")
        self.assertEqual(f.ctx.outcome, "inspection_error")
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        f = Fixture(Recorder("bad", (P.CLIENT_REQUEST,), boom, on_error="pass"))
        self.assertIs(run(f.pipeline.judgeClient(f.ctx, body(call(3, "echo")))), P.UNCHANGED)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_deferredStages(self) -> None:
        """
        A stage may answer later; the message waits, the next stage sees
        the rewrite, a failed Deferred fails closed.
        """
        later: Deferred[Any] = Deferred()
        first = Recorder("a", (P.SERVER_RESPONSE,), lambda item, ctx: later)
        second = Recorder("b", (P.SERVER_RESPONSE,))
        f = Fixture(first, second)
        d = Deferred.fromCoroutine(f.pipeline.judgeServer(f.ctx, body(result(1, "x"))))
        self.assertNoResult(d)
        later.callback(P.Decision(P.REWRITE, result(1, "y")))
        verdict = self.successResultOf(d)
        self.assertEqual(verdict.forwardValue(), result(1, "y"))
        self.assertEqual(second.seen, [result(1, "y")])
        failing: Deferred[Any] = Deferred()
        f = Fixture(Recorder("a", (P.SERVER_RESPONSE,), lambda item, ctx: failing))
        d = Deferred.fromCoroutine(f.pipeline.judgeServer(f.ctx, body(result(1, "x"))))
        failing.errback(ValueError("later boom"))
        verdict = self.successResultOf(d)
        self.assertEqual(verdict.forwardValue()["error"]["code"], -31001)
        self.flushLoggedErrors(ValueError)

    def test_eventsCarryTheContext(self) -> None:
        f = Fixture(Recorder("a", (P.CLIENT_REQUEST,)), Recorder("b", (P.SERVER_RESPONSE,)))
        f.clock.advance(100)
        run(f.pipeline.judgeClient(f.ctx, body(call(1, "echo"))))
        f.clock.advance(0.25)
        run(f.pipeline.judgeServer(f.ctx, body(result(1, "x"))))
        request, response = f.events
        self.assertEqual((request.keyName, request.client, request.upstream, request.requestId), ("alice", "127.0.0.1", "https://mcp.example.com/mcp", "req_1"))
        self.assertIsNone(request.latencyMs)
        self.assertEqual(response.latencyMs, 250.0)  # since its request
        self.assertEqual(json.loads(json.dumps(response.asJSON()))["direction"], "response")

    def test_noSubscriberNoEvent(self) -> None:
        f = Fixture(Recorder("a", (P.CLIENT_REQUEST,)))
        f.bus.unsubscribe(MessageEvent, f.events.append)
        self.assertEqual(f.bus.messages, [])
        run(f.pipeline.judgeClient(f.ctx, body(call(1, "echo"))))
        self.assertEqual(f.events, [])

    def test_findingsBounded(self) -> None:
        from akto_proxy.inspect.chain import Finding

        f = Fixture()
        for i in range(1000):
            f.ctx.note((Finding("c", str(i), "x"),), ("g",))
        self.assertEqual(len(f.ctx.findings), P.MAX_FINDINGS)
        self.assertEqual(f.ctx.findings[-1].rule, "999")
        self.assertEqual(f.ctx.guardrails, ["g"])


class RefusalShapeTests(SynchronousTestCase):
    """
    L{P.refuse}: what a refusal is in each phase (SPEC section 5).
    """

    def refuse(self, phase: str, obj: Any, method: Optional[str] = None) -> P.Decision:
        f = Fixture()
        return P.refuse(P.Item(phase, obj, method), f.ctx, "custom_rules (x)")

    def test_clientRequest(self) -> None:
        d = self.refuse(P.CLIENT_REQUEST, call(1, "t"), "tools/call")
        self.assertEqual(d.action, P.REPLY)
        self.assertTrue(d.message["result"]["isError"])
        self.assertEqual(d.message["result"]["content"][0]["text"], "Blocked by akto-proxy: custom_rules (x)")
        self.assertEqual(d.message["result"]["_meta"]["akto"]["request_id"], "req_1")
        d = self.refuse(P.CLIENT_REQUEST, {"jsonrpc": "2.0", "id": 2, "method": "resources/read"}, "resources/read")
        self.assertEqual((d.action, d.message["error"]["code"]), (P.REPLY, -31001))
        self.assertEqual(self.refuse(P.CLIENT_REQUEST, {"jsonrpc": "2.0", "method": "notifications/x"}, "notifications/x").action, P.DROP)

    def test_clientAnswer(self) -> None:
        """
        A refused answer to a server request goes on to the server as an
        error for the id it answers: the server's call ends.
        """
        d = self.refuse(P.CLIENT_ANSWER, {"jsonrpc": "2.0", "id": "s1", "result": {"action": "accept"}}, "elicitation/create")
        self.assertEqual((d.action, d.final), (P.REWRITE, True))
        self.assertEqual((d.message["id"], d.message["error"]["code"]), ("s1", -31001))

    def test_serverResponse(self) -> None:
        d = self.refuse(P.SERVER_RESPONSE, result(4, "x"), "tools/call")
        self.assertEqual((d.action, d.final, d.message["id"]), (P.REWRITE, True, 4))
        self.assertTrue(d.message["result"]["isError"])

    def test_serverRequest(self) -> None:
        d = self.refuse(P.SERVER_REQUEST, {"jsonrpc": "2.0", "id": 9, "method": "sampling/createMessage"}, "sampling/createMessage")
        self.assertEqual((d.action, d.message["id"], d.message["error"]["code"]), (P.REPLY, 9, -31001))
        self.assertEqual(self.refuse(P.SERVER_REQUEST, {"jsonrpc": "2.0", "method": "notifications/message"}).action, P.DROP)

    def test_other(self) -> None:
        d = self.refuse(P.CLIENT_OTHER, decode(b"text"))
        self.assertEqual((d.action, d.message, d.status), (P.REPLY, None, 403))


CHECKS = """
access_control:
  api_keys:
    - {name: alice, key: "alice-key-0123456789", roles: [developer]}
  roles:
    developer:
      allow: ["tools/list", "tools/call:*", "initialize"]
      deny: ["tools/call:delete_*"]
threat_detection:
  enabled_checks: []
  custom_rules:
    - {name: passwd, pattern: "/etc/passwd", action: block}
    - {name: hunter, pattern: "hunter2", action: redact}
guardrails:
  - name: "Rate Limiting"
    type: rate_limit
    rules:
      - {requests_per_minute: 3, per_client: true}
"""


class StagesTests(SynchronousTestCase):
    """
    The configured stages, on a runtime built from a configuration.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        config = parseConfig('listen: ["tcp:0"]\n' + CHECKS)
        self.rt = buildRuntime(config, 1, self.clock)
        self.bus = EventBus()
        self.events: list[MessageEvent] = []
        self.bus.subscribe(MessageEvent, self.events.append)
        self.key = config.access_control.api_keys[0]

    def ctx(self, headers: Optional[dict[str, list[str]]] = None, version: Optional[str] = None) -> P.Context:
        return P.Context(self.clock.seconds, self.bus, "req_9", "http", self.key, "10.0.0.1", TARGET, Conversation(), version, headers)

    def client(self, ctx: P.Context, value: Any) -> P.Verdict:
        return run(self.rt.pipeline.judgeClient(ctx, body(value)))  # type: ignore[no-any-return]

    def server(self, ctx: P.Context, value: Any) -> P.Verdict:
        return run(self.rt.pipeline.judgeServer(ctx, body(value)))  # type: ignore[no-any-return]

    def test_stagesInOrder(self) -> None:
        self.assertEqual([s.name for s in self.rt.pipeline.stages], ["mcp_headers", "rate_limit", "roles", "list_filter", "server_requests", "inspection"])

    def test_inspectionOnlyWhereAStepJudges(self) -> None:
        """
        With none of the brief's checks, only the prompt injection step
        (responses) is in the chain: requests and URLs do not meet the
        inspection stage at all, responses do.
        """
        rt = buildRuntime(parseConfig('listen: ["tcp:0"]\nthreat_detection:\n  enabled_checks: []\n'), 1, self.clock)
        (stage,) = [s for s in rt.pipeline.stages if s.name == "inspection"]
        self.assertEqual(rt.chain.directions, frozenset(["response"]))
        self.assertNotIn(P.CLIENT_REQUEST, stage.phases)
        self.assertNotIn(P.URL, stage.phases)
        self.assertIn(P.SERVER_RESPONSE, stage.phases)
        full = [s for s in self.rt.pipeline.stages if s.name == "inspection"][0]
        self.assertIn(P.CLIENT_REQUEST, full.phases)
        self.assertIn(P.URL, full.phases)

    def test_batch(self) -> None:
        """
        In a batch, refused entries get answers, the others go on; a denied
        tool is invisible (-32602).
        """
        ctx = self.ctx()
        verdict = self.client(ctx, [call(1, "read", path="/etc/passwd"), call(2, "read", path="/ok"), call(3, "delete_all")])
        self.assertEqual([e["id"] for e in verdict.forward], [2])
        self.assertEqual([(a["id"], "result" in a) for a in verdict.replies], [(1, True), (3, False)])
        self.assertEqual(verdict.replies[1]["error"], {"code": -32602, "message": "Unknown tool: delete_all"})
        self.assertEqual(ctx.outcome, "role_denied")
        self.assertTrue(ctx.blocked)

    def test_rateLimit(self) -> None:
        ctx = self.ctx()
        self.assertIs(self.client(ctx, [call(1, "a"), call(2, "b")]), P.UNCHANGED)
        self.assertIs(self.client(ctx, {"jsonrpc": "2.0", "method": "notifications/x"}), P.UNCHANGED)  # counts nothing
        self.assertIs(self.client(ctx, call(3, "c")), P.UNCHANGED)
        self.clock.advance(20)
        verdict = self.client(ctx, call(4, "d"))
        self.assertEqual((verdict.status, verdict.retryAfter), (429, 40))
        answer = verdict.replyValue()
        self.assertEqual((answer["id"], answer["error"]["code"]), (4, -31001))
        self.assertEqual(answer["error"]["data"]["retry_after"], 40)
        self.assertEqual(answer["error"]["data"]["guardrails_applied"], ["Rate Limiting"])
        self.assertEqual(ctx.outcome, "rate_limited")
        self.clock.advance(41)
        self.assertIs(self.client(ctx, call(5, "e")), P.UNCHANGED)

    def test_headerMirror(self) -> None:
        """
        2026-07-28: MCP headers that disagree with the body: 400, -32020.
        """
        verdict = self.client(self.ctx({"mcp-method": ["tools/call"], "mcp-name": ["other"]}), call(1, "echo"))
        self.assertEqual((verdict.status, verdict.replies[0]["error"]["code"]), (400, -32020))
        self.assertIs(self.client(self.ctx({"mcp-method": ["tools/call"], "mcp-name": ["echo"]}), call(2, "echo")), P.UNCHANGED)
        verdict = self.client(self.ctx({"mcp-method": ["tools/call", "tools/call"]}), call(3, "echo"))
        self.assertEqual(verdict.replies[0]["error"]["message"], "duplicated Mcp-Method header")

    def test_listFiltered(self) -> None:
        ctx = self.ctx()
        self.client(ctx, {"jsonrpc": "2.0", "id": 7, "method": "tools/list"})
        tools = {"jsonrpc": "2.0", "id": 7, "result": {"tools": [{"name": "echo"}, {"name": "delete_all"}], "nextCursor": "c"}}
        verdict = self.server(ctx, tools)
        self.assertEqual(verdict.forwardValue()["result"], {"tools": [{"name": "echo"}], "nextCursor": "c"})
        self.assertEqual(ctx.outcome, "relayed")  # filtering is not a refusal
        self.assertEqual(self.events[-1].outcome, "filtered")

    def test_responseRedactedAndBlocked(self) -> None:
        ctx = self.ctx()
        self.client(ctx, [call(1, "a"), call(2, "b")])
        verdict = self.server(ctx, [result(1, "password hunter2"), result(2, "root:x:0:0 /etc/passwd")])
        first, second = verdict.forward
        self.assertEqual(first["result"]["content"][0]["text"], "password [REDACTED:hunter]")
        self.assertTrue(second["result"]["isError"])  # replaced by the refusal of tools/call
        self.assertEqual(second["id"], 2)

    def test_serverRequestRefusedToServer(self) -> None:
        ctx = self.ctx()
        verdict = self.server(ctx, {"jsonrpc": "2.0", "id": "s", "method": "sampling/createMessage", "params": {"text": "/etc/passwd"}})
        self.assertEqual(verdict.forward, [])
        self.assertEqual((verdict.replies[0]["id"], verdict.replies[0]["error"]["code"]), ("s", -31001))
        # a clean one is relayed, and the client's answer is judged as such
        self.assertIs(self.server(ctx, {"jsonrpc": "2.0", "id": "t", "method": "elicitation/create", "params": {}}), P.UNCHANGED)
        verdict = self.client(ctx, {"jsonrpc": "2.0", "id": "t", "result": {"action": "accept", "content": {"a": "/etc/passwd"}}})
        self.assertEqual(verdict.forwardValue()["error"]["code"], -31001)  # sent on to the server in its place
        self.assertEqual(self.events[-1].method, "elicitation/create")

    def test_otherBodies(self) -> None:
        ctx = self.ctx()
        verdict = run(self.rt.pipeline.judgeClient(ctx, decode(b"cat /etc/passwd")))
        self.assertTrue(verdict.refused)
        verdict = run(self.rt.pipeline.judgeServer(ctx, decodeText("the password is hunter2")))
        self.assertEqual(verdict.forward[0].text, "the password is [REDACTED:hunter]")

    def test_url(self) -> None:
        ctx = self.ctx()
        decision = run(self.rt.pipeline.judgeURL(ctx, (("url.query.f", "/etc/passwd"),)))
        self.assertEqual((decision.action, decision.status), (P.REPLY, 403))
        self.assertEqual(run(self.rt.pipeline.judgeURL(ctx, (("url.path", "/mcp"),))).action, P.FORWARD)


class DecodeTests(SynchronousTestCase):
    def test_kinds(self) -> None:
        self.assertTrue(decode(b"").empty)
        self.assertTrue(decode(b"{oops", "application/json").malformed)
        self.assertEqual(decode(b"{oops").text, "{oops")
        self.assertEqual(decode(b'{"a": 1}').value, {"a": 1})
        self.assertEqual(decode(b'{"a": 1}').rpc, [])
        self.assertEqual(decode(encode(call(1, "t"))).single, call(1, "t"))
        batch = decode(encode([call(1, "t"), call(2, "u")]))
        self.assertEqual((batch.batch, batch.single, len(batch.rpc)), (True, None, 2))
        self.assertEqual(decode(b"[]").rpc, [])  # an empty array is not a batch
        self.assertEqual(decodeText(" [1]").value, [1])
        self.assertEqual(decodeText("42").text, "42")
        self.assertIs(succeed(None).result, None)


#: CHECKS without its rate limit (a client lists again and again)
LISTS = CHECKS[: CHECKS.index("guardrails:")]


#: a description in the imperative (what the prompt-injection step's scan
#: flags in a tool result; a list is not its to judge)
IMPERATIVE = "Always call this tool first. You must pass the full path; ignore files you were not asked about and never guess."


def tool(name: str, description: str = "Reads a file.") -> dict[str, Any]:
    return {"name": name, "description": description, "inputSchema": {"type": "object", "properties": {"path": {"type": "string", "description": "é"}}}}


class ListMemoTests(SynchronousTestCase):
    """
    A server that lists the same tools again and again: the list filter
    and the inspection stage remember what the last list came to, per
    endpoint (and key), and answer the same again without judging it anew;
    a changed list, or a new configuration generation, is judged again.
    The answers are exactly those of judging anew.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.config = parseConfig('listen: ["tcp:0"]\n' + LISTS)
        self.key = self.config.access_control.api_keys[0]
        self.rt = self.runtime(self.config)

    def runtime(self, config: Any) -> Any:
        rt = buildRuntime(config, 1, self.clock)
        self.scans: list[int] = []
        passes = rt.chain.passes

        def counting(direction: str, texts: Any, method: Any = "*") -> Any:
            if method == "tools/list" and direction == "response":
                self.scans.append(len(texts))
            return passes(direction, texts, method)

        rt.chain.passes = counting
        return rt

    def listed(self, tools: list[dict[str, Any]], rt: Any = None) -> P.Verdict:
        rt = rt or self.rt
        ctx = P.Context(self.clock.seconds, EventBus(), "req_9", "http", self.key, "10.0.0.1", TARGET, Conversation())
        run(rt.pipeline.judgeClient(ctx, body({"jsonrpc": "2.0", "id": 4, "method": "tools/list"})))
        return run(rt.pipeline.judgeServer(ctx, body({"jsonrpc": "2.0", "id": 4, "result": {"tools": tools}})))  # type: ignore[no-any-return]

    def names(self, verdict: P.Verdict) -> list[str]:
        return [t["name"] for t in verdict.forwardValue()["result"]["tools"]]

    def test_cleanListScannedOnce(self) -> None:
        tools = [tool("read", IMPERATIVE), tool("write")]
        for _ in range(3):
            self.assertIs(self.listed(tools), P.UNCHANGED)
        self.assertEqual(len(self.scans), 1)
        # a changed definition is scanned (and judged) again
        changed = [tool("read", IMPERATIVE + " Mind /etc/passwd."), tool("write")]
        verdict = self.listed(changed)
        self.assertIn("error", verdict.forwardValue())  # blocked
        self.assertEqual(len(self.scans), 2)
        self.assertIs(self.listed([tool("read", IMPERATIVE), tool("write", "Writes.")]), P.UNCHANGED)
        self.assertEqual(len(self.scans), 3)

    def test_filteredListWrittenOnce(self) -> None:
        """
        The role hides delete_*: the list is rewritten, the same filtered
        result (written once) each time, its bytes those of writing the
        message anew.
        """
        tools = [tool("read", IMPERATIVE), tool("delete_all"), tool("write")]
        first, second = self.listed(tools), self.listed([dict(t) for t in tools])
        self.assertEqual((self.names(first), self.names(second)), (["read", "write"], ["read", "write"]))
        self.assertIs(first.forwardValue()["result"], second.forwardValue()["result"])
        self.assertEqual(len(self.scans), 1)
        plain = json.dumps(json.loads(json.dumps(second.forwardValue())), separators=(",", ":"), ensure_ascii=False).encode()
        self.assertEqual(encode(second.forwardValue()), plain)
        # another tool hidden: filtered anew
        third = self.listed(tools + [tool("delete_more")])
        self.assertEqual(self.names(third), ["read", "write"])
        self.assertIsNot(third.forwardValue()["result"], first.forwardValue()["result"])

    def test_filteredAndRedacted(self) -> None:
        """
        A filtered list that a check then redacts goes on redacted: the
        redaction is a copy, never the filtered result written before.
        """
        tools = [tool("read", "Reads a file."), tool("delete_all"), tool("login", "Password hint: hunter2.")]
        self.listed([tools[0], tools[1]])
        verdict = self.listed(tools)
        self.assertEqual(self.names(verdict), ["read", "login"])
        written = encode(verdict.forwardValue())
        self.assertNotIn(b"hunter2", written)
        self.assertIn(b"[REDACTED", written)
        self.assertEqual(json.loads(written), verdict.forwardValue())
        again = self.listed(tools)
        self.assertEqual(encode(again.forwardValue()), written)

    def test_newGeneration(self) -> None:
        """
        A reload builds new stages: a list the old configuration passed is
        judged by the new one.
        """
        tools = [tool("read", IMPERATIVE), tool("write")]
        self.assertIs(self.listed(tools), P.UNCHANGED)
        stricter = parseConfig('listen: ["tcp:0"]\n' + LISTS + '    - {name: first, pattern: "call this tool first", action: block}\n')
        rt = self.runtime(stricter)
        self.assertIn("error", self.listed(tools, rt).forwardValue())
        self.assertIs(self.listed(tools), P.UNCHANGED)  # the old generation, as it was

    def test_perEndpoint(self) -> None:
        """
        What one upstream's list came to says nothing of another's.
        """
        tools = [tool("read", IMPERATIVE)]
        self.assertIs(self.listed(tools), P.UNCHANGED)
        ctx = P.Context(self.clock.seconds, EventBus(), "req_9", "http", self.key, "10.0.0.1", Target("https", "other.example.com", 443, b"/mcp"), Conversation())
        run(self.rt.pipeline.judgeClient(ctx, body({"jsonrpc": "2.0", "id": 4, "method": "tools/list"})))
        self.assertIs(run(self.rt.pipeline.judgeServer(ctx, body({"jsonrpc": "2.0", "id": 4, "result": {"tools": tools}}))), P.UNCHANGED)
        self.assertEqual(len(self.scans), 2)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


class EncodedTests(SynchronousTestCase):
    """
    L{Encoded}: a result written once, spliced into each message; the
    bytes are those of writing the message whole.
    """

    @given(st.dictionaries(st.text(max_size=5), _json, max_size=4), st.none() | st.integers() | st.text(max_size=5), st.booleans())
    def test_sameBytes(self, result: dict[str, Any], msgId: Any, extra: bool) -> None:
        message = {"jsonrpc": "2.0", "id": msgId, "result": Encoded(result)}
        if extra:
            message["_meta"] = {"é": "\ud800"}  # a lone surrogate: the whole message in ASCII
        self.assertEqual(encode(message), encode(dict(message, result=dict(result))))

    def test_surrogate(self) -> None:
        result = Encoded({"text": "a\ud800"})
        self.assertIsNone(result.raw)
        self.assertEqual(encode({"id": 1, "result": result}), b'{"id":1,"result":{"text":"a\\ud800"}}')

    def test_readOnly(self) -> None:
        result = Encoded({"tools": [1]})
        for change in (lambda: result.__setitem__("x", 1), lambda: result.pop("tools"), lambda: result.update(x=1), result.clear):
            self.assertRaises(TypeError, change)
        self.assertEqual(result, {"tools": [1]})
        for c in (copy.copy(result), copy.deepcopy(result), dict(result)):
            self.assertIs(type(c), dict)
            c["x"] = 2
        self.assertEqual(result, {"tools": [1]})


class FullPathListMemoTests(SynchronousTestCase):
    """
    A list the prefilter cannot prove clean (a schema URL, a DDL example)
    that the steps then pass without a word is remembered too; one with a
    finding never is (its findings and events come again each time).
    """

    CONFIG = 'listen: ["tcp:0"]\nthreat_detection:\n  enabled_checks: [sql_injection, command_injection, path_traversal, data_exfiltration]\n  mode: monitor\n'

    def setUp(self) -> None:
        self.clock = Clock()
        self.rt = buildRuntime(parseConfig(self.CONFIG), 1, self.clock)
        self.inspected: list[Any] = []
        inspectNow = self.rt.chain.inspectNow

        def counting(message: Any, clean: Any = None) -> Any:
            self.inspected.append(message.method)
            return inspectNow(message, clean)

        self.rt.chain.inspectNow = counting

    def listed(self, tools: list[dict[str, Any]]) -> tuple[P.Verdict, P.Context]:
        ctx = P.Context(self.clock.seconds, EventBus(), "req_9", "http", None, "10.0.0.1", TARGET, Conversation())
        run(self.rt.pipeline.judgeClient(ctx, body({"jsonrpc": "2.0", "id": 4, "method": "tools/list"})))
        return run(self.rt.pipeline.judgeServer(ctx, body({"jsonrpc": "2.0", "id": 4, "result": {"tools": tools}}))), ctx

    def test_passedByTheSteps(self) -> None:
        tools = [tool("migrate", "Runs DDL such as ALTER TABLE users ADD COLUMN age int; see https://json-schema.org/draft/2020-12/schema")]
        self.assertFalse(self.rt.chain.passes("response", [tools[0]["description"]], "tools/list"))
        for _ in range(3):
            verdict, ctx = self.listed(tools)
            self.assertIs(verdict, P.UNCHANGED)
            self.assertEqual(ctx.findings, [])
        self.assertEqual(self.inspected, ["tools/list"])

    def test_findingsEveryTime(self) -> None:
        tools = [tool("pay", "Charges a card; authenticates with ghp_C3J27XDCG2LmlZGEONYlgCtjfIZ4SOcMz9CP")]  # a vendor-named secret: counts in a list
        for n in (1, 2):
            verdict, ctx = self.listed(tools)
            self.assertIs(verdict, P.UNCHANGED)  # monitor: relayed
            self.assertEqual({f.check for f in ctx.findings}, {"data_exfiltration"})
            self.assertEqual(len(self.inspected), n)
