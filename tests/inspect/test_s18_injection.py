"""
Session 18: SQL and command classes from the seventh part, unsealed this
session, at medium.

Each attack below passes main's rules before this change (b5e602a); each
benign value of the same shape passes, without any exclusion.  The values
are written here in the shape of their class, not copied from a corpus
line.
"""

from __future__ import annotations

import re

from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect.checks import rules as R
from akto_proxy.inspect.checks.shell import _STATEMENT_AFTER
from akto_proxy.inspect.checks.sqlshape import _UNION_PROBE
from tests.inspect.test_s15_injection import InjectionCases
from tests.inspect.test_s15_secrets import assertLinear

SQL, CMD = "sql_injection", "command_injection"

# (check, tool, argument, value)
ATTACKS = [
    # a union probe whose words are kept apart by a filter's bait: versioned
    # comments and plus signs, brackets, a comment sign with no line break,
    # a comment percent-encoded twice
    (SQL, "lookup_order", "order_id", "https://shop.example/item.php?pid=7 /*!UNION*/+/*!SELECT*/ null,null,null--"),
    (SQL, "filter_records", "category", "https://a.example/p?id=3+(union)+(select)+1,2--"),
    (SQL, "search_products", "query", "p.php?id=9 #?union + #?select 1,2,3#"),
    # one bare word, then a boolean and a comparison
    (SQL, "get_user", "username", "member OR u=v"),
    (SQL, "get_user", "username", "guest xor name=login#"),
    # a bare tail opened by || or && and a call of the database's own
    (SQL, "lookup_order", "order_id", "||(hex(char(65)))"),
    # a stacked T-SQL block: BEGIN, then DECLARE of a variable
    (SQL, "filter_records", "category", "; begin declare @q varchar(99) set @q=1"),
    # Commons Text's lookups that reach out (Text4Shell)
    (CMD, "git_clone", "url", "${url:UTF-8:https://x.oast.example/a}"),
    (CMD, "backup", "name", "${dns:address|x.oast.example}"),
    # a shell variable assigned after a separator or in a substitution
    (CMD, "ping_host", "host", "10.0.0.9&& OutDir=/var/tmp/x;"),
    (CMD, "backup", "name", 'notes.md$(Token="abc";)'),
    (CMD, "resize_image", "image", "logo.png`target='x';`"),
    # a block's end after a separator
    (CMD, "backup", "name", "archive.zip; done;"),
    # a builtin that changes the shell's own variables (an upper-case name
    # after unset, an assignment after export), after a redirection
    (CMD, "backup", "name", "log.txt|| >/dev/null && unset HISTSIZE"),
]

# (tool, argument, value)
BENIGN = [
    ("fetch_url", "url", "https://x.example/?a=1& b=2;"),
    ("set_config", "value", "a=1; b=2;"),
    ("run_command", "command", "cd build && FOO=bar;"),
    ("search_products", "query", "rock or roll"),
    ("get_user", "username", "Tom and Jerry"),
    ("get_user", "username", "staff or students"),
    ("search_products", "query", "trade union / select committee minutes, 2019"),
    ("search_products", "query", "salt and pepper"),
    ("set_config", "value", "${env:HOME}/data"),
    ("set_config", "value", "${baseUrl}/api"),
    ("filter_records", "category", "Tasks; begin declaring the budget"),
]


class InjectionClassTests(InjectionCases, SynchronousTestCase):
    attacks = ATTACKS
    benign = BENIGN


class LinearTests(SynchronousTestCase):
    """
    The new patterns take linear time on 100 KB of what keeps them trying.
    """

    def test_linear(self) -> None:
        n = 100_000
        assertLinear(self, [_UNION_PROBE], ["union+/**/select+1 ," * (n // 20), "union" + "+" * n, "union " * (n // 6)], limit=0.25)
        assertLinear(self, [_STATEMENT_AFTER], ["a&& x=" + "b" * n + " ", "a;" + " " * n + "x", "a" * n], limit=0.25)
        lookups = [re.compile(r.pattern, re.I) for r in R.CMD_RULES if "script\\s*:" in r.pattern]
        self.assertEqual(len(lookups), 1)
        assertLinear(self, lookups, ["${url:" + " " * n, "${url:UTF-8:" + "a" * n, "${dns:" * (n // 6)], limit=0.25)
        stacked = [re.compile(r.pattern, re.I) for r in R.SQL_RULES if "begin\\s+declare" in r.pattern]
        self.assertEqual(len(stacked), 1)
        assertLinear(self, stacked, ["; begin" + " " * n, "a" * n + ";", "; begin declare " * (n // 16)], limit=0.25)
