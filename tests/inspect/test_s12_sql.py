"""
SQL injection judged by what a value does to a statement (session 12,
issue 16): L{sqlshape.injects} places a value where an application puts
one (a number, a quoted string, inside parentheses) and reads what follows
the literal.  One case per form that main's rules missed, literal values
that must stay silent, properties (one more blank spelling keeps an
injection found; literals of any shape stay silent) and the prefilter
still skipping only what the threat step would pass.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect.checks import buildInspectors
from akto_proxy.inspect.checks.prefilter import buildPrefilter
from akto_proxy.inspect.checks.sqlshape import injects
from tests.inspect.test_checks import call, config, rules, verdict
from tests.inspect.test_prefilter import same, steps

SQL = "sql_injection"

# (form, tool, argument, payload): each missed by main's rules
ATTACKS = [
    ("a variable and IS NULL across quotes", "filter_records", "category", "1'*@a is null - '"),
    ("MySQL's \\N across quotes", "find_user", "name", "x'*\\N is null or '1"),
    ("a date keyword and XOR across quotes", "find_user", "name", "0' / current_date XOR '1"),
    ("bitwise OR across quotes", "get_user", "username", "1'|@a is null|'"),
    ("IS NOT NULL right after the quote", "get_customer", "email", "' is not null or 'a"),
    ("parentheses closed before the operator", "lookup_order", "order_id", "7'))*@a is null-'"),
    ("a column compared to itself after a number", "get_product", "id", "1 and a=a"),
    ("a column compared after a number, not equal", "get_product", "id", "2 and price>price"),
    ("PROCEDURE ANALYSE after a number", "list_items", "sort", "42 procedure analyse() ;--"),
    ("PROCEDURE in a versioned comment", "list_items", "sort", "1/*!00000procedure*/analyse()"),
    ("a subquery glued to a number before FROM", "find_user", "name", "(select login/2e0from users limit 1,1)"),
]

# What agents send as values: flagged by main (marked) or kept silent
BENIGN = [
    ("get_customer", "name", "1 or 2, not 3"),  # main: libinjection
    ("search_products", "query", "1/2 or 3/4"),  # main: libinjection
    ("update_profile", "city", "RUG 8' X 10' -- GREY"),  # main: libinjection
    ("get_user", "username", "O'Brien"),
    ("find_user", "name", "Guns N' Roses"),
    ("search_products", "query", "Rock 'n' Roll or jazz"),
    ("search_products", "query", "PAN 12\" OR 14\""),
    ("search_products", "query", "SHELF 3' OR 4' WIDE"),
    ("create_ticket", "title", "DRESS WITH HAT 18';"),
    ("get_product", "id", "\"#2 MOM\""),
    ("get_product", "id", "12 or 13"),
    ("get_user", "username", "1950 or 1960"),
    ("get_user", "username", "8-bit Limit (BRK)"),
    ("search_products", "query", "it's 1 or 2 items"),
    ("search_products", "query", "Tom's and Jerry's"),
    ("search_products", "query", "say 'yes' or 'no'"),
    ("search_products", "query", "x = y or z"),
]


class InjectsTests(SynchronousTestCase):
    """
    L{injects}: where a value leaves its literal and what it does there.
    """

    def test_places(self) -> None:
        cases = [
            ("' or 1=1--", "' boolean"),
            ("admin'--", "' truncate"),
            ('") or ("a"="a', '" boolean'),
            ("') or ('1'='1", "' boolean"),
            ("1) or (1=1", "number boolean"),
            ("' union select 1,2--", "' union"),
            ("1; drop table users", "number stacked"),
            ("' order by 3--", "' clause"),
            ("'+sleep(5)+'", "' call"),
            ("1-sleep(5)", "number call"),
            ("or true--", "number boolean"),
            ("1e0UNION SELECT 1", "number union"),
        ]
        for value, want in cases:
            self.assertEqual(injects(value), want, value)

    def test_literals(self) -> None:
        """
        Values that stay one literal, or leave one with no SQL after it.
        """
        for value in ("O'Brien", "O''Brien", "It's 5 o'clock", "don't; drop it", "salt and pepper", "10 or 20 apples", "3 - 2",
                      "is this your parents' or yours?", "1; exec will create the case 7", "Add 'and' between the names",
                      "A 'OR' B", "1 or 2", "#2 pencil", "x'#2"):
            self.assertIsNone(injects(value), value)

    def test_statementAfterSemicolon(self) -> None:
        """
        A stacked statement needs a statement's shape, not a keyword alone.
        """
        self.assertEqual(injects("x'; update users set role='admin'--"), "' stacked")
        self.assertIsNone(injects("1; exec summary"))
        self.assertIsNone(injects("5; select"))


class ClassTests(SynchronousTestCase):
    steps: Any = None

    def setUp(self) -> None:
        if ClassTests.steps is None:
            ClassTests.steps = buildInspectors(config("threat_detection:\n  sensitivity: medium\n"))

    def test_attacks(self) -> None:
        for name, tool, argument, payload in ATTACKS:
            found = rules(verdict(self.steps, call(tool, **{argument: payload})))
            self.assertTrue(any(r.startswith(SQL + ".") for r in found), f"{name}: {payload!r} -> {found}")

    def test_benign(self) -> None:
        for tool, argument, text in BENIGN:
            found = rules(verdict(self.steps, call(tool, **{argument: text})))
            self.assertFalse([r for r in found if r.startswith(SQL + ".")], f"{tool}.{argument}: {text!r} -> {found}")

    def test_proseAndCode(self) -> None:
        """
        The judge reads values only: the same text as prose or as a
        database tool's statement is not its business.
        """
        for tool, argument in (("send_message", "text"), ("run_sql", "query")):
            found = rules(verdict(self.steps, call(tool, **{argument: "1'*@a is null - '"})))
            self.assertNotIn(SQL + ".sql_structure", found, (tool, argument))


# a value, the quote it closes, and what changes the statement after it
_HEADS = ["1", "admin", "x", "42", "jsmith"]
_BREAKS = [("'", "'"), ("')", "('"), ('"', '"'), ("", "")]
_TAILS = [
    "or 2>1 --", "and 3<2 #", "or exists(select 1) --", "union all select null,null --", "and sleep(5) --",
    "or 7=7 and {q}a{c}={c}a", "order by 3 --", "; drop table users --", "*@a is null-{c}", "and a=a --",
]
_BLANKS = ["/**/", "\t", "\n", "  ", "/*x*/", "%20", "%09"]


def _payload(head: str, brk: tuple[str, str], tail: str) -> str:
    close, reopen = brk
    if not close:
        head = "1"
        if "{c}" in tail:
            tail = "or 2>1 --"
    return f"{head}{close} " + tail.format(q=reopen, c=(close or "'")[0])


class PropertyTests(SynchronousTestCase):
    steps: Any = None

    def setUp(self) -> None:
        if PropertyTests.steps is None:
            PropertyTests.steps = buildInspectors(config("threat_detection:\n  sensitivity: medium\n"))

    @settings(max_examples=300, deadline=None)
    @given(st.sampled_from(_HEADS), st.sampled_from(_BREAKS), st.sampled_from(_TAILS), st.sampled_from(_BLANKS),
           st.booleans(), st.integers(0, 2**32 - 1))
    def test_oneMoreSpelling(self, head: str, brk: tuple[str, str], tail: str, blank: str, upper: bool, seed: int) -> None:
        """
        An injected fragment is found, and stays found with its blanks
        spelled one more way (a comment, a tab, a line break, a URL
        encoding) and its keywords in either case.
        """
        payload = _payload(head, brk, tail)
        r = random.Random(seed)
        spelled = "".join(blank if c == " " and r.random() < 0.7 else c for c in payload)
        if upper:
            spelled = spelled.upper()
        for text in (payload, spelled):
            found = rules(verdict(self.steps, call("get_user", username=text)))
            self.assertTrue(any(x.startswith(SQL + ".") for x in found), f"{text!r} -> {found}")
        if blank in ("/**/", "\t", "\n", "  ", "/*x*/"):
            self.assertIsNotNone(injects(spelled), spelled)

    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(st.from_regex(r"[A-Z][a-z]{1,8}", fullmatch=True), min_size=1, max_size=3),
        st.sampled_from(["'", "''", "\u2019", " '", "' "]),
        st.from_regex(r"[A-Za-z]{1,8}", fullmatch=True),
        st.sampled_from(["", " or ", " and ", " & ", ", "]),
        st.from_regex(r"[A-Za-z]{0,8}", fullmatch=True),
    )
    def test_literalsStaySilent(self, words: list[str], quote: str, after: str, joint: str, more: str) -> None:
        """
        Names and phrases with apostrophes (O'Brien, Guns N' Roses, Tom's
        and Jerry's) are no injection in any place.
        """
        text = " ".join(words) + quote + after + joint + more
        self.assertIsNone(injects(text), text)
        found = rules(verdict(self.steps, call("find_user", name=text)))
        self.assertNotIn(SQL + ".sql_structure", found, text)


class PrefilterTests(SynchronousTestCase):
    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(
            st.lists(
                st.sampled_from(
                    list("abxz '\"()*/|1-=#;@") +
                    [" is ", " null", " not ", "\\N", " or ", " and ", "current_date", " xor ", "(select ", " from ", " limit ",
                     " procedure ", "analyse()", "/**/", "--", "::", " collate ", " in ", " div "]
                ),
                max_size=16,
            ).map("".join),
            min_size=1,
            max_size=3,
        ),
        st.sampled_from(["username", "query", "message"]),
    )
    def test_generated(self, texts: list[str], argument: str) -> None:
        """
        Strings made of the structural forms' pieces: the chain's outcome is
        the same with the prefilter as without.
        """
        m = call("search_products", **{f"{argument}{i or ''}": t for i, t in enumerate(texts)})
        same(self, _STEPS, _PREFILTER, m)


_STEPS = steps("medium")
_PREFILTER = buildPrefilter(_STEPS)
