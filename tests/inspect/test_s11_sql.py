"""
SQL injection evasions of session 11 (issue 16) at medium sensitivity: one
case per class (each missed by the rules before it), the hard benign values
beside them (each flagged before, or kept silent on purpose), a database's
tamper applied once more to a detected payload, and the prefilter still
skipping only what the threat step would pass.
"""

from __future__ import annotations

import random
from typing import Any, Callable

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect.checks import buildInspectors
from akto_proxy.inspect.checks.prefilter import buildPrefilter
from akto_proxy.inspect.normalize import joinSQLWords, rawOnly, unevadeSQL, variants
from tests.inspect.test_checks import call, config, rules, verdict
from tests.inspect.test_prefilter import same, steps

SQL = "sql_injection"

# (class, tool, argument, payload): each missed by the rules before session 11
ATTACKS = [
    ("MSSQL blanks for spaces", "get_user", "username", "-1%0FUNION%02ALL%08SELECT%0E7"),
    ("control characters for spaces, URL-encoded", "lookup_order", "order_id", "1;%04DROP%10TABLE%06users"),
    ("line comments glued to keywords", "get_user", "username", "UNION#sq\nALL#pli\nSELECT#x\n1,2,3,4,5,6--"),
    ("encoded line comments glued to keywords", "get_customer", "email", "waitfor%23ki%0Adelay%23bqw%0A'00:00:05'#"),
    ("dash comments glued to keywords", "filter_records", "category", "ORDER--y\nBY--aqe\n22--"),
    ("ASP percentage", "get_user", "username", "1' %o%R '1'='1"),
    ("ASP percentage on a statement", "get_customer", "email", "%O%R%D%E%R %B%Y %S%L%E%E%P(5)#"),
    ("scientific number glued to OR", "get_customer", "email", "1e0OR 1=1--"),
    ("number glued to FROM", "search_products", "query", "select 1e0from foo where"),
    ("number glued to FROM, no spaces", "get_user", "username", "SELECT 1FROM[table]WHERE\\1=\\1AND\\1=\\1"),
    ("MySQL versioned comments left open", "search_products", "query", "/*!0ORDER /*!0BY 13--"),
    ("best-fit acute accent quotes", "list_items", "sort", "1\u00b4 OR \u00b41\u00b4=\u00b4x\u00b4#;--()"),
    ("best-fit quote before a comment", "get_customer", "email", "admin\u00b4--"),
    ("comments splitting and spacing words", "get_customer", "email",
     "1/**/uN/**/iOn/**/al/**/l/**/sELeC/**/t/**/1,0x33633273366962,3/**/f/**/RoM/**/jos_users--"),
    ("BETWEEN for equality", "get_user", "username", "or 1 BETWEEN 1 AND 1--"),
    ("BETWEEN with odd blanks", "get_customer", "email", "or\xa01\x0bBETWEEN\r1\tAND\r1"),
    ("|| for OR, alone", "list_items", "sort", "||/**/x=x"),
    ("GET_LOCK for SLEEP", "list_items", "sort", "ORDER BY GET_LOCK('x',5)#"),
    ("string arithmetic across quotes", "get_user", "username", "'-'"),
    ("string arithmetic after a value", "get_user", "username", "admin'*'"),
    ("MOD across quotes", "lookup_order", "order_id", "A' MOD 'B"),
    ("a quote, a semicolon and a hash comment", "search_products", "query", "';#"),
    ("an expression left open after a quote", "get_customer", "email", "' or abc!"),
    ("a form-encoded quote before a comment", "search_products", "query", "admin'+#"),
]

# Found before session 11 too, kept as regressions of the new forms
HELD = [
    ("best-fit prime quote and a dash", "lookup_order", "order_id", "\") or ('1\u2032='1\u2013"),
    ("PRINT stacked after a quote", "get_customer", "email", "';print @@version--"),
    ("a byte eaten with the escaping backslash", "get_user", "username", "%bf%27 OR 1=1 LIMIT 1--"),
]

# What agents send beside these classes, in the arguments they send it in;
# those marked were flagged before session 11.
BENIGN = [
    ("search_products", "query", "create table for 6"),  # before: standalone_statement
    ("search_products", "query", "shutdown windows 11?"),  # before: standalone_statement
    ("chat", "message", "The report says: user input like ' OR '1'='1 must be escaped"),  # before: libinjection
    ("get_customer", "name", "\"or\" vs \"and\" grammar"),
    ("search_products", "query", "Add 'and' between the names"),
    ("filter_records", "category", "\"LIKE\" STAMP"),
    ("create_ticket", "title", "'countdown calendar\" and \"disney:"),
    ("get_customer", "name", "Sleep(8) hours a night is the goal"),
    ("create_ticket", "title", "7\" #2 CIRCULAR NEEDLE"),
    ("get_product", "id", "\"#2 MOM\""),
    ("filter_records", "category", "1950' AND 60'S WOMEN'S COATS WITH FAKE"),
    ("get_user", "username", "O\u2019Brien"),
    ("get_user", "username", "D\u00b4Angelo"),
    ("search_products", "query", "it\u2019s 5 o\u2019clock somewhere"),
    ("search_products", "query", "\u201cclimate change\u201d AND policy"),
    ("search_products", "query", "2019\u20132020 season"),
    ("search_products", "query", "printf %d%s format"),
    ("search_products", "query", "mp3 or flac"),
    ("search_products", "query", "size 10 or 11"),
    ("search_products", "query", "C# and F#\nSelect a language"),
    ("get_product", "id", "X2OR-77"),
    ("search_products", "query", "10% off or 20% off"),
    ("search_products", "query", "Rock 'n' Roll - 'Greatest Hits'"),
    ("get_customer", "name", "Joe's Diner; Mom's Kitchen"),
    ("search_products", "query", "1; exec summary"),
]


class ClassTests(SynchronousTestCase):
    steps: Any = None

    def setUp(self) -> None:
        if ClassTests.steps is None:
            ClassTests.steps = buildInspectors(config("threat_detection:\n  sensitivity: medium\n"))

    def test_attacks(self) -> None:
        for name, tool, argument, payload in ATTACKS + HELD:
            found = rules(verdict(self.steps, call(tool, **{argument: payload})))
            self.assertTrue(any(r.startswith(SQL + ".") for r in found), f"{name}: {payload!r} -> {found}")

    def test_benign(self) -> None:
        for tool, argument, text in BENIGN:
            found = rules(verdict(self.steps, call(tool, **{argument: text})))
            self.assertFalse([r for r in found if r.startswith(SQL + ".")], f"{tool}.{argument}: {text!r} -> {found}")


class FormTests(SynchronousTestCase):
    """
    L{unevadeSQL} and L{joinSQLWords}: what each form reads as.
    """

    def test_unevade(self) -> None:
        cases = [
            ("-1\x0fUNION\x02ALL\x08SELECT 7", "-1 UNION ALL SELECT 7"),  # (as decoded from %0F...)
            ("UNION#sq\nALL#pli\nSELECT 1", "UNION ALL SELECT 1"),
            ("/*!0UNION/*!0SELECT 1*/", " UNION SELECT 1 "),
            ("\x00'or 1=1", "'or 1=1"),
        ]
        for d, want in cases:
            self.assertEqual(unevadeSQL(d, d).split(), want.split(), d)
        self.assertEqual(unevadeSQL("", "%S%E%L%E%C%T 1"), "SELECT 1")
        self.assertEqual(unevadeSQL("", "admin\u00b4--"), "admin'--")

    def test_joinWords(self) -> None:
        self.assertEqual(joinSQLWords("1/**/un/**/ion/**/al/**/l/**/sel/**/ect 1"), "1 union all select 1")
        self.assertEqual(joinSQLWords("a/**/b"), "a b")

    def test_plainTextOneForm(self) -> None:
        """
        Text that holds none of the evasions yields itself alone and is
        promised so to the prefilter.
        """
        for text in ("O'Brien", "size 10 or 11", "select committee report", "mp3 or flac"):
            self.assertEqual([v.kind for v in variants(text)], ["r"], text)
            self.assertTrue(rawOnly(text), text)


def _blanks(s: str, r: random.Random) -> str:
    return "".join(r.choice(["%01", "%0B", "%1F", "\x0c", "\t", "/**/"]) if c == " " else c for c in s)


def _hashComments(s: str, r: random.Random) -> str:
    return "".join(r.choice(["#a\n", "%23x%0A", "--q\n"]) if c == " " else c for c in s)


def _randomCase(s: str, r: random.Random) -> str:
    return "".join(c.upper() if r.random() < 0.5 else c.lower() for c in s)


def _versionOpen(s: str, r: random.Random) -> str:
    return " ".join(("/*!0" + w) if w.isalpha() and w.upper() in ("UNION", "SELECT", "ORDER", "BY", "AND", "OR", "FROM") else w
                    for w in s.split(" "))


def _lookalike(s: str, r: random.Random) -> str:
    return s.replace("'", r.choice(["\u2019", "\u2032", "\u00b4", "\u2018"]))


def _nulQuote(s: str, r: random.Random) -> str:
    return s.replace("'", "%00%27")


# A database's or a lenient filter's tamper, applied once more.
TAMPERS: dict[str, Callable[[str, random.Random], str]] = {
    "blanks": _blanks,
    "hash_comments": _hashComments,
    "random_case": _randomCase,
    "version_open": _versionOpen,
    "lookalike_quote": _lookalike,
    "nul_quote": _nulQuote,
}

# detected payloads that keep their meaning under every tamper above
BASES = [
    ("get_user", "username", "' OR 1=1--"),
    ("lookup_order", "order_id", "1 UNION SELECT username, password FROM users--"),
    ("get_user", "username", "admin' AND SLEEP(5)--"),
    ("search_products", "query", "-1' UNION SELECT 1,2,3#"),
    ("filter_records", "category", "1' ORDER BY 5--"),
    ("lookup_order", "order_id", "1; DROP TABLE users--"),
    ("get_customer", "email", "x' AND 1=0 UNION SELECT @@version--"),
]


class PropertyTests(SynchronousTestCase):
    steps: Any = None

    def setUp(self) -> None:
        if PropertyTests.steps is None:
            PropertyTests.steps = buildInspectors(config("threat_detection:\n  sensitivity: medium\n"))

    @settings(max_examples=300, deadline=None)
    @given(st.sampled_from(BASES), st.sampled_from(sorted(TAMPERS)), st.integers(0, 2**32 - 1))
    def test_oneMoreTamper(self, base: tuple[str, str, str], how: str, seed: int) -> None:
        """
        A detected payload tampered one more way is still found.
        """
        tool, argument, payload = base
        tampered = TAMPERS[how](payload, random.Random(seed))
        found = rules(verdict(self.steps, call(tool, **{argument: tampered})))
        self.assertTrue(any(r.startswith(SQL + ".") for r in found), f"{how}: {tampered!r} -> {found}")


class PrefilterTests(SynchronousTestCase):
    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(
            st.lists(
                st.sampled_from(
                    list("abeilnorst '\"%#\n-=1*/") +
                    ["\x01", "\x00", "\x1f", "%S", "%e", "\u00b4", "\u2019", "\u2032", "\u2013", "1e0", "union", "from", "or",
                     "/*!0", "*/", "/**/", "#x\n", "select", "%bf%27", "+", "between"]
                ),
                max_size=20,
            ).map("".join),
            min_size=1,
            max_size=3,
        ),
        st.sampled_from(["username", "query", "message"]),
    )
    def test_generated(self, texts: list[str], argument: str) -> None:
        """
        Strings made of the evasions' pieces: the chain's outcome is the
        same with the prefilter as without.
        """
        m = call("search_products", **{f"{argument}{i or ''}": t for i, t in enumerate(texts)})
        same(self, _STEPS, _PREFILTER, m)


_STEPS = steps("medium")
_PREFILTER = buildPrefilter(_STEPS)
