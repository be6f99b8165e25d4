"""
Roles: the SPEC section 3 grammar, deny wins, lifecycle, upstream scoping,
and tools/list filtering.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.access.roles import Decision, Entry, Policy, isLifecycle
from akto_proxy.config.model import AccessControl, ApiKey, Role


def key(*roles: str, name: str = "k") -> ApiKey:
    return ApiKey(name=name, key_sha256=None, key_plain=b"x" * 16, roles=roles)


DEVELOPER = Role(
    name="developer",
    allow=("tools/list", "tools/call:*", "resources/*", "prompts/*"),
    deny=("tools/call:delete_*",),
    upstreams=("*",),
)
READER = Role(name="reader", allow=("tools/list", "tools/call:get_*", "tools/call:list_*"))
DB = Role(name="db", allow=("tools/call:run_sql",), deny=("tools/call:drop_*",), upstreams=("db.internal",))
NOPING = Role(name="noping", allow=("tools/list",), deny=("ping", "notifications/*"))
OPS = Role(name="ops", admin=True)


def policy(*roles: Role, roleless: Any = "auto") -> Policy:
    return Policy.fromConfig(AccessControl(roles=roles or (DEVELOPER,)), roleless)


class EntryTests(SynchronousTestCase):
    def test_methodGlob(self) -> None:
        e = Entry.parse("resources/*")
        self.assertEqual(e, Entry("resources/*", None))
        self.assertTrue(e.matches("resources/read", "file:///x"))
        self.assertTrue(e.matches("resources/list", None))
        self.assertTrue(e.matches("resources/templates/list", None))
        self.assertFalse(e.matches("tools/list", None))
        self.assertFalse(e.matches("xresources/read", None))

    def test_targetWithColons(self) -> None:
        e = Entry.parse("resources/read:file:///srv/*")
        self.assertEqual(e, Entry("resources/read", "file:///srv/*"))
        self.assertTrue(e.matches("resources/read", "file:///srv/a/b"))
        self.assertFalse(e.matches("resources/read", "file:///etc/passwd"))
        self.assertFalse(e.matches("resources/list", "file:///srv/a"))

    def test_methodOnlyMatchesAnyTarget(self) -> None:
        self.assertTrue(Entry.parse("tools/call").matches("tools/call", "anything"))
        self.assertTrue(Entry.parse("tools/call:*").matches("tools/call", "anything"))
        self.assertTrue(Entry.parse("*").matches("tools/call", "anything"))

    def test_targetedEntryNeedsExactMethod(self) -> None:
        self.assertFalse(Entry.parse("tools/call:x").matches("tools/callx", "x"))
        self.assertFalse(Entry.parse("tools/call:x").matches("prompts/get", "x"))

    def test_caseSensitiveAllowFoldedDeny(self) -> None:
        e = Entry.parse("tools/call:delete_*")
        self.assertFalse(e.matches("tools/call", "Delete_user"))
        self.assertTrue(e.matches("tools/call", "Delete_user", fold=True))
        # full-width look-alike folds to ASCII under NFKC
        self.assertTrue(e.matches("tools/call", "\uff44elete_user", fold=True))

    def test_globMetacharactersInTarget(self) -> None:
        e = Entry.parse("tools/call:get_?")
        self.assertTrue(e.matches("tools/call", "get_a"))
        self.assertFalse(e.matches("tools/call", "get_ab"))
        self.assertTrue(Entry.parse("tools/call:[gs]et").matches("tools/call", "set"))

    def test_newlineInTargetDoesNotEscape(self) -> None:
        self.assertFalse(Entry.parse("tools/call:get").matches("tools/call", "get\n"))
        self.assertTrue(Entry.parse("tools/call:get*").matches("tools/call", "get\nx"))

    def test_lifecycle(self) -> None:
        for m in ("initialize", "server/discover", "ping", "notifications/initialized", "notifications/cancelled"):
            self.assertTrue(isLifecycle(m), m)
        for m in ("tools/list", "notifications", "initialized", "pingx"):
            self.assertFalse(isLifecycle(m), m)


class DecideTests(SynchronousTestCase):
    def test_sampleConfig(self) -> None:
        p = policy(DEVELOPER)
        k = key("developer")
        self.assertTrue(p.decide(k, "a.example.com", "tools/list", None).allowed)
        self.assertTrue(p.decide(k, "a.example.com", "tools/call", "search").allowed)
        self.assertTrue(p.decide(k, "a.example.com", "resources/read", "file:///x").allowed)
        self.assertTrue(p.decide(k, "a.example.com", "resources/list", None).allowed)
        self.assertTrue(p.decide(k, "a.example.com", "prompts/get", "p").allowed)
        d = p.decide(k, "a.example.com", "tools/call", "delete_user")
        self.assertEqual(d, Decision(False, "role 'developer' denies tools/call:delete_user", invisible=True))

    def test_onlyWhatAllowLists(self) -> None:
        p = policy(READER)
        k = key("reader")
        self.assertTrue(p.decide(k, "h", "tools/call", "get_x").allowed)
        d = p.decide(k, "h", "tools/call", "put_x")
        self.assertFalse(d.allowed)
        self.assertTrue(d.invisible)
        d = p.decide(k, "h", "resources/read", "file:///x")
        self.assertFalse(d.allowed)
        self.assertFalse(d.invisible)
        self.assertIn("no role of key 'k' allows resources/read:file:///x", d.reason)
        self.assertFalse(p.decide(k, "h", "completion/complete", None).allowed)
        self.assertFalse(p.decide(k, "h", "logging/setLevel", None).allowed)

    def test_roleWithNoAllowAllowsOnlyLifecycle(self) -> None:
        p = policy(OPS)
        k = key("ops")
        self.assertTrue(p.decide(k, "h", "initialize", None).allowed)
        self.assertFalse(p.decide(k, "h", "tools/list", None).allowed)
        self.assertTrue(p.isAdmin(k))
        self.assertFalse(policy(DEVELOPER).isAdmin(key("developer")))

    def test_denyWinsAcrossRoles(self) -> None:
        everything = Role(name="all", allow=("*",))
        p = policy(everything, DEVELOPER)
        k = key("all", "developer")
        self.assertTrue(p.decide(k, "h", "tools/call", "create_user").allowed)
        d = p.decide(k, "h", "tools/call", "delete_user")
        self.assertFalse(d.allowed)
        self.assertTrue(d.invisible)
        # order of roles on the key does not matter
        self.assertFalse(p.decide(key("developer", "all"), "h", "tools/call", "delete_user").allowed)

    def test_denyWithinSameRole(self) -> None:
        r = Role(name="r", allow=("tools/call:*",), deny=("tools/call:*",))
        self.assertFalse(policy(r).decide(key("r"), "h", "tools/call", "x").allowed)

    def test_denyIsCaseInsensitive(self) -> None:
        p = policy(DEVELOPER)
        self.assertFalse(p.decide(key("developer"), "h", "tools/call", "DELETE_user").allowed)

    def test_allowUnion(self) -> None:
        a = Role(name="a", allow=("tools/call:a",))
        b = Role(name="b", allow=("tools/call:b",))
        p = policy(a, b)
        k = key("a", "b")
        self.assertTrue(p.decide(k, "h", "tools/call", "a").allowed)
        self.assertTrue(p.decide(k, "h", "tools/call", "b").allowed)
        self.assertFalse(p.decide(k, "h", "tools/call", "c").allowed)

    def test_lifecycleAllowedUnlessDenied(self) -> None:
        p = policy(READER, NOPING)
        for m in ("initialize", "server/discover", "ping", "notifications/initialized"):
            self.assertTrue(p.decide(key("reader"), "h", m, None).allowed, m)
        self.assertTrue(p.decide(key("noping"), "h", "initialize", None).allowed)
        self.assertFalse(p.decide(key("noping"), "h", "ping", None).allowed)
        self.assertFalse(p.decide(key("noping"), "h", "notifications/cancelled", None).allowed)
        # a deny in any role of the key wins over lifecycle
        self.assertFalse(p.decide(key("reader", "noping"), "h", "ping", None).allowed)

    def test_wildcardDenyDeniesLifecycle(self) -> None:
        r = Role(name="r", deny=("*",))
        self.assertFalse(policy(r).decide(key("r"), "h", "initialize", None).allowed)

    def test_upstreamScoping(self) -> None:
        p = policy(READER, DB)
        k = key("db")
        self.assertTrue(p.reaches(k, "db.internal"))
        self.assertFalse(p.reaches(k, "other.example.com"))
        self.assertTrue(p.decide(k, "db.internal", "tools/call", "run_sql").allowed)
        d = p.decide(k, "other.example.com", "tools/call", "run_sql")
        self.assertFalse(d.allowed)
        self.assertFalse(d.invisible)
        self.assertIn("reaches", d.reason)
        # lifecycle too: a role that does not reach the host gives nothing
        self.assertFalse(p.decide(k, "other.example.com", "initialize", None).allowed)
        # roles are scoped per upstream: db's allow and deny apply only on db.internal
        both = key("reader", "db")
        self.assertTrue(p.decide(both, "db.internal", "tools/call", "run_sql").allowed)
        self.assertFalse(p.decide(both, "x.example", "tools/call", "run_sql").allowed)
        self.assertFalse(p.decide(both, "db.internal", "tools/call", "drop_table").allowed)
        drop = Role(name="dropper", allow=("tools/call:drop_*",))
        p2 = policy(DB, drop)
        self.assertTrue(p2.decide(key("db", "dropper"), "elsewhere", "tools/call", "drop_x").allowed)
        self.assertFalse(p2.decide(key("db", "dropper"), "db.internal", "tools/call", "drop_x").allowed)

    def test_upstreamGlobsAndIPs(self) -> None:
        r = Role(name="r", allow=("*",), upstreams=("*.example.com", "127.0.0.1", "::1", "10.0.0.0/8"))
        p = policy(r)
        k = key("r")
        for host in ("a.example.com", "127.0.0.1", "::1", "0:0::1", "10.1.2.3"):
            self.assertTrue(p.reaches(k, host), host)
        for host in ("example.com", "127.0.0.2", "11.0.0.1"):
            self.assertFalse(p.reaches(k, host), host)

    def test_unknownRoleIgnored(self) -> None:
        p = policy(READER)
        k = key("gone")
        self.assertFalse(p.reaches(k, "h"))
        self.assertFalse(p.decide(k, "h", "tools/list", None).allowed)
        self.assertTrue(p.decide(key("gone", "reader"), "h", "tools/list", None).allowed)

    def test_rolelessKeys(self) -> None:
        # no roles configured at all: keys are unrestricted
        p = Policy.fromConfig(AccessControl())
        self.assertTrue(p.decide(key(), "h", "tools/call", "delete_all").allowed)
        self.assertTrue(p.reaches(key(), "h"))
        # roles in use: a key without roles gets lifecycle only
        p = policy(READER)
        self.assertTrue(p.reaches(key(), "h"))
        self.assertTrue(p.decide(key(), "h", "initialize", None).allowed)
        d = p.decide(key(), "h", "tools/call", "get_x")
        self.assertFalse(d.allowed)
        self.assertTrue(d.invisible)
        self.assertFalse(p.decide(key(), "h", "tools/list", None).allowed)
        # explicit choices
        self.assertTrue(policy(READER, roleless="all").decide(key(), "h", "tools/call", "x").allowed)
        self.assertFalse(
            Policy.fromConfig(AccessControl(), "lifecycle").decide(key(), "h", "tools/list", None).allowed
        )

    def test_toolCallWithoutName(self) -> None:
        p = policy(READER, DEVELOPER)
        self.assertTrue(p.decide(key("developer"), "h", "tools/call", None).allowed)
        self.assertFalse(p.decide(key("reader"), "h", "tools/call", None).allowed)

    def test_invisibleOnlyForToolCalls(self) -> None:
        p = policy(READER)
        self.assertFalse(p.decide(key("reader"), "h", "prompts/get", "x").invisible)
        d = p.decide(key("reader"), "h", "logging/setLevel", None)
        self.assertFalse(d.allowed)
        self.assertFalse(d.invisible)


def toolsResult(*names: str, **extra: Any) -> dict[str, Any]:
    return {"tools": [{"name": n, "inputSchema": {"type": "object"}} for n in names], **extra}


class FilterTests(SynchronousTestCase):
    def test_filterToolsList(self) -> None:
        p = policy(DEVELOPER)
        result = toolsResult("search", "delete_user", "create_user", nextCursor="abc", _meta={"m": 1})
        out = p.filterToolsList(key("developer"), "h", result)
        self.assertEqual([t["name"] for t in out["tools"]], ["search", "create_user"])
        self.assertEqual(out["nextCursor"], "abc")
        self.assertEqual(out["_meta"], {"m": 1})
        # input untouched
        self.assertEqual(len(result["tools"]), 3)

    def test_paginationCursorKeptWhenPageEmptied(self) -> None:
        p = policy(READER)
        out = p.filterToolsList(key("reader"), "h", toolsResult("delete_a", "put_b", nextCursor="page2"))
        self.assertEqual(out, {"tools": [], "nextCursor": "page2"})
        out = p.filterToolsList(key("reader"), "h", toolsResult("get_a", "put_b"))
        self.assertEqual([t["name"] for t in out["tools"]], ["get_a"])
        self.assertNotIn("nextCursor", out)

    def test_malformedEntriesDropped(self) -> None:
        p = policy(DEVELOPER)
        out = p.filterToolsList(key("developer"), "h", {"tools": [{"name": "a"}, {"name": 3}, "x", {}]})
        self.assertEqual(out["tools"], [{"name": "a"}])
        self.assertEqual(p.filterToolsList(key("developer"), "h", {"tools": None}), {"tools": None})
        self.assertEqual(p.filterToolsList(key("developer"), "h", {}), {})

    def test_upstreamScopedFilter(self) -> None:
        p = policy(DB)
        result = toolsResult("run_sql", "drop_table", "other")
        self.assertEqual([t["name"] for t in p.filterToolsList(key("db"), "db.internal", result)["tools"]], ["run_sql"])
        self.assertEqual(p.filterToolsList(key("db"), "elsewhere", result)["tools"], [])

    def test_toolVisible(self) -> None:
        p = policy(DEVELOPER)
        self.assertTrue(p.toolVisible(key("developer"), "h", "x"))
        self.assertFalse(p.toolVisible(key("developer"), "h", "delete_x"))

    def test_otherLists(self) -> None:
        r = Role(name="r", allow=("resources/read:file:///pub/*", "prompts/get:safe_*", "resources/list", "prompts/list"))
        p = policy(r)
        k = key("r")
        res = {"resources": [{"uri": "file:///pub/a"}, {"uri": "file:///etc/x"}], "nextCursor": "c"}
        self.assertEqual(
            p.filterListResult(k, "h", "resources/list", res),
            {"resources": [{"uri": "file:///pub/a"}], "nextCursor": "c"},
        )
        pr = {"prompts": [{"name": "safe_a"}, {"name": "raw"}]}
        self.assertEqual(p.filterListResult(k, "h", "prompts/list", pr), {"prompts": [{"name": "safe_a"}]})
        self.assertEqual(p.filterListResult(k, "h", "other/list", {"x": 1}), {"x": 1})

    @given(st.lists(st.text(max_size=12), max_size=20), st.one_of(st.none(), st.text(max_size=8)))
    def test_filterAgreesWithDecide(self, names: list[str], cursor: Any) -> None:
        p = policy(DEVELOPER, READER)
        for k in (key("developer"), key("reader"), key("developer", "reader")):
            result = toolsResult(*names)
            if cursor is not None:
                result["nextCursor"] = cursor
            out = p.filterToolsList(k, "h", result)
            self.assertEqual(
                [t["name"] for t in out["tools"]],
                [n for n in names if p.decide(k, "h", "tools/call", n).allowed],
            )
            self.assertEqual(out.get("nextCursor"), cursor)
