"""
Object keys are strings the checks see: located by their object's path, C{~}
and their place (C{params.arguments.env~0}), judged as values (names) by the
injection, path and exfiltration checks, covered by an exclusion of the
argument they are in, renamed by a redaction, and never called clean by the
prefilter when one holds an attack.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings, strategies as st
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.config.loader import parseConfig
from akto_proxy.inspect.chain import Chain, Outcome
from akto_proxy.inspect.checks import buildInspectors
from akto_proxy.inspect.checks.prefilter import buildPrefilter
from akto_proxy.inspect.checks.threats import argumentKind
from akto_proxy.inspect.message import Message, isKeyPath, rpcGather, rpcTexts, walkStrings
from tests.corpus.evaluate import CHECK_OF, load
from tests.inspect.test_prefilter import TARGET, call, same, steps

_STEPS = steps()
_PREFILTER = buildPrefilter(_STEPS)
_CHAIN = Chain(_STEPS, Clock(), prefilter=_PREFILTER)


def outcome(message: Message, chain: Chain = _CHAIN) -> Outcome:
    out = chain.inspectNow(message)
    assert isinstance(out, Outcome)
    return out


def found(message: Message, chain: Chain = _CHAIN) -> set[tuple[str, str]]:
    """
    The (check, location) of every finding.
    """
    return {(f.check, f.location) for f in outcome(message, chain).findings}


def response(result: Any, tool: str = "lookup") -> Message:
    return Message.fromJSONRPC({"jsonrpc": "2.0", "id": 3, "result": result}, "response", TARGET, "http", method="tools/call", tool=tool)


class PathTests(SynchronousTestCase):
    def test_keysWithTheirObjectsPath(self) -> None:
        strings = list(walkStrings({"a": {"b.c": "x", "~": 1}, "l": [{"k": 2}]}, "params"))
        self.assertEqual(
            strings,
            [
                ("params~0", "a"),
                ("params~1", "l"),
                ("params.a~0", "b.c"),
                ("params.a~1", "~"),
                ('params.a["b.c"]', "x"),
                ("params.l[0]~0", "k"),
            ],
        )
        # a key holding the mark is quoted: no value's path reads as a key's
        self.assertFalse(isKeyPath('params.a["x~1"]'))
        self.assertTrue(isKeyPath("params.l[0]~0"))

    def test_protocolNamesLeftOut(self) -> None:
        """
        The member names MCP defines hold nothing but themselves: left out
        of the strings, counted; a tool's own argument names are strings.
        """
        m = call("t", text="hi", city="Oslo")
        self.assertEqual([p for p, _ in m.strings if isKeyPath(p)], ["params.arguments~1"])
        self.assertEqual(m.protocolKeys, 3)  # name, arguments, text
        texts: list[str] = []
        self.assertEqual(rpcGather(m.payload, texts), 3)
        self.assertEqual(sorted(texts), sorted(t for p, t in m.strings if p != "url.path"))
        # a duplicate among them still counts (tests/mcp/test_duplicates)

    def test_rpcTextsHoldTheKeys(self) -> None:
        m = call("t", headers={"X-Trace": "1"}, n=[{"deep": None}])
        self.assertEqual(sorted(rpcTexts(m.payload, [])), sorted(t for _, t in m.strings if _ != "url.path"))
        self.assertIn("X-Trace", rpcTexts(m.payload, []))
        self.assertIn("deep", rpcTexts(m.payload, []))

    def test_keysAreValues(self) -> None:
        """
        A key is a name (a value), whatever the argument: the rules for
        values read it.
        """
        self.assertEqual(argumentKind("run_sql", "params.arguments.query"), "code")
        self.assertEqual(argumentKind("run_sql", "params.arguments.query~0"), "data")
        self.assertEqual(argumentKind("run_sql", "params.arguments~0"), "data")
        self.assertEqual(argumentKind("send_email", "params.arguments.body~3"), "data")


class KeyFindingTests(SynchronousTestCase):
    def test_attacksInKeys(self) -> None:
        for argument, check in (
            ({"env": {"; cat /etc/passwd": "1"}}, "command_injection"),
            ({"filter": {"' OR 1=1--": "x"}}, "sql_injection"),
            ({"files": {"../../../../etc/shadow": "x"}}, "path_traversal"),
            ({"headers": {"AKIAIOSFODNN7EXAMPL3": "x"}}, "data_exfiltration"),
        ):
            (name,) = argument
            m = call("http_request", **argument)
            self.assertIn((check, f"params.arguments.{name}~0"), found(m), argument)
            self.assertTrue(outcome(m).blocked)
        # a top-level argument's own name
        self.assertIn(("command_injection", "params.arguments~1"), found(call("run", text="hi", **{"x; rm -rf / #": "1"})))

    def test_benignKeys(self) -> None:
        for argument in (
            {"headers": {"Content-Type": "application/json", "X-Request-Id": "7f3a", "If-None-Match": '"abc"'}},
            {"env": {"PATH": "/usr/bin", "HOME": "/home/me", "NODE_ENV": "production"}},
            {"filter": {"$and": [{"age": {"$gt": 18}}, {"status": {"$in": ["a", "b"]}}]}},
            {"columns": {"user_id": "int", "created_at": "timestamp", "order": "int", "select": "bool"}},
            {"files": {"src/main.py": "print(1)", "README.md": "# hi", "../shared/util.py": "x = 1"}},
            {"labels": {"app.kubernetes.io/name": "web", "team": "core"}},
        ):
            m = call("configure", **argument)
            self.assertEqual(found(m), set(), argument)

    def test_piiAndSecretsInResultKeys(self) -> None:
        """
        A result keyed by contact details or by token leaks them as values
        do (and a key the checks pass as a value passes as a key); a result
        of ordinary keys passes.
        """
        for text in ("Contact: jane.doe@example.com, phone +1 415 555 0100", "SSN 078-05-1121", "jane.doe@example.com"):
            asValue = found(response({"structuredContent": {"who": text}, "content": []}))
            asKey = found(response({"structuredContent": {text: "who"}, "content": []}))
            self.assertEqual({c for c, _ in asKey}, {c for c, _ in asValue}, text)
            self.assertEqual({loc for _, loc in asKey}, {"result.structuredContent~0"} if asValue else set())
        self.assertTrue(found(response({"structuredContent": {"Contact: jane.doe@example.com, phone +1 415 555 0100": 1}})))
        token = found(response({"tokens": {"ghp_Nql2cDtTvtPugoEwZf4kOUSxuJIwRRHm7AQ1": "ci"}}))
        self.assertIn(("data_exfiltration", "result.tokens~0"), token)
        self.assertEqual(found(response({"structuredContent": {"count": 3, "next_page": None}, "content": []})), set())

    def test_exclusionCoversTheKeysOfItsArgument(self) -> None:
        text = """
listen: ["tcp:0"]
threat_detection:
  exclusions:
    - {tool: configure, argument: env, checks: [command_injection, path_traversal]}
"""
        built = buildInspectors(parseConfig(text))
        chain = Chain(built, Clock())
        # (the path check reads /etc/hosts as a path in a value too)
        self.assertEqual(found(call("configure", env={"; cat /etc/hosts": "1"}), chain), set())
        # not the keys of another argument, nor the arguments' own names
        self.assertIn(("command_injection", "params.arguments.other~0"), found(call("configure", other={"; cat /etc/hosts": "1"}), chain))
        self.assertIn(("command_injection", "params.arguments~0"), found(call("configure", **{"; cat /etc/hosts": "1"}), chain))

    def test_redactionRenamesTheKey(self) -> None:
        text = """
listen: ["tcp:0"]
threat_detection:
  enabled_checks: []
  custom_rules:
    - {name: host, pattern: "[a-z]+\\\\.corp\\\\.internal", action: redact, keys: true}
"""
        chain = Chain(buildInspectors(parseConfig(text)), Clock())
        m = response({"hosts": {"db.corp.internal": {"ip": "db.corp.internal"}, "web.corp.internal": 2, "[REDACTED:host]": 3}})
        out = outcome(m, chain)
        self.assertFalse(out.blocked)
        hosts = out.message.payload["result"]["hosts"]
        # renamed in place, in order; a name already taken gets a suffix
        self.assertEqual(list(hosts), ["[REDACTED:host]#2", "[REDACTED:host]#3", "[REDACTED:host]"])
        self.assertEqual(hosts["[REDACTED:host]#2"], {"ip": "[REDACTED:host]"})
        self.assertEqual(m.payload["result"]["hosts"]["web.corp.internal"], 2)  # the original is left alone


class OperatorPatternKeyTests(SynchronousTestCase):
    """
    Custom rules and content filters match values only unless a rule says
    C{keys: true}: the brief's own filter on C{ssn} must not refuse every
    call with an argument named C{className}.
    """

    CONFIG = """
listen: ["tcp:0"]
threat_detection:
  enabled_checks: []
  custom_rules:
    - {{name: internal, pattern: "corp\\\\.internal"{keys}}}
guardrails:
  - name: "PII Protection"
    type: "content_filter"
    rules:
      - {{pattern: "ssn|social security", action: block{keys}}}
"""

    def chain(self, keys: str) -> Chain:
        return Chain(buildInspectors(parseConfig(self.CONFIG.format(keys=keys))), Clock())

    def test_valuesOnlyByDefault(self) -> None:
        chain = self.chain("")
        for arguments in ({"className": "btn"}, {"props": {"className": "btn"}}, {"hosts": {"db.corp.internal": 1}}):
            self.assertEqual(found(call("create", **arguments), chain), set(), arguments)
        # values still match
        self.assertEqual(found(call("create", note="my ssn"), chain), {("PII Protection", "params.arguments.note")})
        self.assertEqual(found(call("create", host="db.corp.internal"), chain), {("custom_rules", "params.arguments.host")})

    def test_keysWhenAsked(self) -> None:
        chain = self.chain(", keys: true")
        self.assertEqual(found(call("create", props={"className": "btn"}), chain), {("PII Protection", "params.arguments.props~0")})
        self.assertEqual(found(call("create", hosts={"db.corp.internal": 1}), chain), {("custom_rules", "params.arguments.hosts~0")})


class PrefilterKeyTests(SynchronousTestCase):
    """
    The prefilter never calls a message clean when one of its keys holds
    what the checks find (it is asked about the keys), and the chain agrees
    with and without it on messages with keys.
    """

    def test_attackInKeyNotClean(self) -> None:
        for argument in ({"env": {"; cat /etc/passwd": 1}}, {"q": {"' OR 1=1--": 1}}, {"h": {"ghp_Nql2cDtTvtPugoEwZf4kOUSxuJIwRRHm7AQ1": 1}}):
            m = call("t", **argument)
            self.assertFalse(_CHAIN.passes("request", rpcTexts(m.payload, []), "tools/call"), argument)
            self.assertFalse(same(self, _STEPS, _PREFILTER, m))
        self.assertTrue(_CHAIN.passes("request", rpcTexts(call("t", headers={"Accept": "text/plain"}).payload, []), "tools/call"))

    @settings(max_examples=200, deadline=None)
    @given(
        st.dictionaries(
            st.lists(st.sampled_from(list("abcdeilnorstwy $'\"{}%&\\/.;*|-=()<>1@") + ["etc", "passwd", "select ", "or 1=1", "ghp_"]), max_size=12).map("".join),
            st.none() | st.integers() | st.text(max_size=5),
            min_size=1,
            max_size=4,
        ),
        st.sampled_from(["request", "response"]),
    )
    def test_generatedKeys(self, mapping: dict[str, Any], direction: str) -> None:
        if direction == "request":
            m = call("tool", mapping=mapping)
        else:
            m = response({"structuredContent": mapping, "content": []})
        same(self, _STEPS, _PREFILTER, m)


class EnvelopeMemberTests(SynchronousTestCase):
    """
    A member JSON-RPC does not define, beside C{params} (a server's parser
    may keep it, and pass it on): its name and its strings are inspected as
    the message's own, at its path; C{jsonrpc}, C{id} and C{method} are
    the protocol's.
    """

    def message(self, **members: Any) -> Message:
        obj = {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "lookup", "arguments": {"q": "widgets"}}}
        obj.update(members)
        return Message.fromJSONRPC(obj, "request", TARGET, "http")

    def test_attacksInMembers(self) -> None:
        for members, check, location in (
            ({"extra": {"path": "../../../../etc/shadow"}}, "path_traversal", "extra.path"),
            ({"note": "' OR 1=1--"}, "sql_injection", "note"),
            ({"x": ["AKIAIOSFODNN7EXAMPL3"]}, "data_exfiltration", "x[0]"),
            ({"; cat /etc/passwd #": 1}, "command_injection", "~4"),
        ):
            m = self.message(**members)
            self.assertIn((check, location), found(m), members)
            self.assertTrue(outcome(m).blocked)
            self.assertFalse(_CHAIN.passes("request", rpcTexts(m.payload, []), "tools/call"), members)
            self.assertFalse(same(self, _STEPS, _PREFILTER, m))

    def test_gatheredAsWalked(self) -> None:
        m = self.message(trace={"span": "a1"}, tags=["x", "y"])
        texts: list[str] = []
        left = rpcGather(m.payload, texts)
        self.assertEqual(sorted(texts), sorted(t for _, t in m.strings))
        self.assertEqual(left, m.protocolKeys)
        self.assertIn(("~4", "trace"), m.strings)
        self.assertIn(("tags[1]", "y"), m.strings)
        # the protocol's own members are not strings
        self.assertEqual([p for p, _ in self.message().strings if not p.startswith("params")], [])

    def test_benignMembersPass(self) -> None:
        m = self.message(trace={"span": "a1b2", "sampled": True}, client="vscode")
        self.assertEqual(found(m), set())
        self.assertTrue(_CHAIN.passes("request", rpcTexts(m.payload, []), "tools/call"))


def _detectedAsValue() -> list[tuple[str, str]]:
    """
    The first corpus's request attacks of the injection and path checks
    (and secrets) that the checks find as the value of a data argument.
    """
    out = []
    for e in load("attacks.jsonl"):
        if e["direction"] != "request" or e["category"] not in CHECK_OF:
            continue
        check = CHECK_OF[e["category"]]
        if check in {c for c, _ in found(call("lookup", filter=e["text"]))}:
            out.append((e["text"], check))
    return out


_DETECTED = _detectedAsValue()


class MovedIntoKeyTests(SynchronousTestCase):
    def test_corpusNotEmpty(self) -> None:
        self.assertGreater(len(_DETECTED), 100)

    @settings(max_examples=150, deadline=None)
    @given(st.sampled_from(_DETECTED), st.sampled_from(["filter", "headers", "env"]), st.booleans())
    def test_detectedPayloadStaysDetectedInAKey(self, detected: tuple[str, str], argument: str, nested: bool) -> None:
        """
        A payload the checks find as a value is found when it is a key of
        an object argument instead (or of an object inside it), and the
        finding names the key.
        """
        text, check = detected
        mapping: dict[str, Any] = {text: "1"}
        location = f"params.arguments.{argument}~0"
        if nested:
            mapping = {"and": [mapping]}
            location = f"params.arguments.{argument}.and[0]~0"
        self.assertIn((check, location), found(call("lookup", **{argument: mapping})), text)
