"""
Session 18: SQL and command classes from the seventh part, unsealed this
session, at medium.

Each attack below passes main's rules before this change (b5e602a); each
benign value of the same shape passes, without any exclusion.  The values
are written here in the shape of their class, not copied from a corpus
line.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

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
    # a shell variable assigned after a separator or in a substitution
    (CMD, "ping_host", "host", "10.0.0.9&& OutDir=/var/tmp/x;"),
    (CMD, "backup", "name", 'notes.md$(Token="abc";)'),
    (CMD, "resize_image", "image", "logo.png`target='x';`"),
    # a block's end after a separator
    (CMD, "backup", "name", "archive.zip; done;"),
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
