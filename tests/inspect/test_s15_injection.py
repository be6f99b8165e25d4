"""
Session 15: injection classes from the unsealed fourth part, at medium.

Most attacks below passed the rules before this session (or were found by
another check only); the rest (the .env files, the server configurations,
the NULs) guard what the session's false-positive fixes must keep.  Each
benign value of the same shape passes, without any exclusion.  The values are written here, not copied from a corpus
line, except where a corpus line is the shortest statement of its class.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect.checks import rules as R
from akto_proxy.inspect.checks.threats import shellArgument
from akto_proxy.inspect.checks.validators import outsideHomeProject, separatorCommand
from tests.inspect.test_checks import call, mediumSteps, rules, verdict
from tests.inspect.test_s15_secrets import bestTime

SQL, CMD, PATH = "sql_injection", "command_injection", "path_traversal"

# (check, tool, argument, value)
ATTACKS = [
    # a CASE whose branches are literals: a heavy query timed by its cost
    (SQL, "get_customer", "email", "case randomblob(<<<<N>>>>) when not null then 1 else 1 end "),
    (SQL, "filter_records", "category", "x' | case randomblob(500) when not null then \"\" else \"\" end | '"),
    (SQL, "search_products", "query", "shoes' AND CASE zeroblob(10) WHEN NULL THEN 0 ELSE 1 END --"),
    (SQL, "list_items", "sort", "name * case 1 when 1 then 1 else 0 end"),
    # a Java static method as an SQL function (HSQLDB, H2)
    (SQL, "get_user", "username", '"java.lang.Thread.sleep"(15)'),
    (SQL, "get_user", "username", "bob' / \"java.lang.System.exit\"(0) / '"),
    # a quote, one bare word, a comment
    (SQL, "get_user", "username", "'probe--"),
    (SQL, "get_customer", "email", '"admin--'),
    # a quote closed into a VALUES list or a call
    (SQL, "filter_records", "category", "',NULL)%20waitfor%20delay%20'0:0:20'%20/*"),
    (SQL, "search_products", "query", "x'),NULL) --"),
    # a path ending in a pipe: Perl's and Ruby's open run it
    (CMD, "git_clone", "url", "../../../../../../usr/bin/env|"),
    (CMD, "convert_file", "filename", "/bin/ls|"),
    (CMD, "backup", "name", "..\\..\\windows\\system32\\cmd.exe |"),
    # a redirection or cmd's escape, a command line, a separator at the end
    (CMD, "backup", "name", "<ping -i 30 127.0.0.1;"),
    (CMD, "convert_file", "filename", "<pwd;"),
    (CMD, "resize_image", "image", "^hostname%0A"),
    # a shell function defined and called
    (CMD, "convert_file", "filename", "f(){ f & f; };f"),
    (CMD, "dns_lookup", "domain", "bomb(){ bomb | bomb & }; bomb"),
    # a Windows variable as the argument after a pipe
    (CMD, "resize_image", "image", 'me@example.org"|bcdboot %SYSTEMROOT%\\win.ini'),
    # a drive's or a file URL's root where a file belongs
    (PATH, "view_file", "file", "c:\\"),
    (PATH, "open_file", "path", "D:/"),
    (PATH, "render_template", "template", "file:///"),
    (PATH, "download", "file", "file:\\\\\\"),
    # an overlong lead byte before an escape no hex spells
    (PATH, "render_template", "template", "??%c0%qf??%c0%qfboot.ini"),
    (PATH, "get_document", "name", "%c1%gf%c1%gfetc%c1%gfpasswd"),
    # climbs with blanks around their separators
    (PATH, "view_file", "file", "index.php?page= .. / .. / .. / etc / passwd"),
    # a deployment's .env, a home's, a web root's in a home
    (PATH, "view_file", "file", "/app/.env"),
    (PATH, "view_file", "file", "/home/app/.env"),
    (PATH, "view_file", "file", "/home/bob/public_html/.env"),
    (PATH, "view_file", "file", "/home/dev/shop/../../../.env"),
    # a server's configuration beside a web root, or two levels up
    (PATH, "open_file", "path", "../apache/conf/httpd.conf"),
    (PATH, "open_file", "path", "../../nginx/nginx.conf"),
    (PATH, "open_file", "path", "../php.ini"),
    # a NUL written as \\0 after an extension, and \\000
    (PATH, "open_file", "path", "shell.php\\0"),
    (PATH, "open_file", "path", "shell.php\\0.jpg"),
    (PATH, "open_file", "path", "a.txt\\000"),
]

BENIGN = [
    # SQL words in values that are no SQL
    ("update_profile", "bio", "In case of rain, when we stop then we go home"),
    ("search_products", "query", "case study: when to sell, then what"),
    ("get_document", "name", "java.lang.Thread.sleep"),
    ("search_docs", "topic", '"java.lang.String" vs "java.lang.Object"'),
    ("get_user", "username", "'1--"),
    ("run_tool", "flag", "--verbose"),
    ("get_user", "username", "O'Neil, null"),
    ("convert_file", "filename", "and >I would like the items of type <enter type here>."),
    # a command line's || with no SQL in it, in a command argument
    ("run_command", "command", '"$path" || STATUS="$?"'),
    ("run_command", "command", 'X="$(command -v "$Y" || true)"'),
    ("terminal", "cmd", "test -f x || echo 'missing'"),
    # prose and punctuation after a separator
    ("dns_lookup", "domain", "DEAR FINN,--I think it would do; copy should reach us second post"),
    ("convert_file", "filename", "}send the /cc code with the parameter: serviceCode|{}"),
    ("create_ticket", "name", "The build broke again; find someone who knows the release"),
    # pipes and slashes in values that run nothing
    ("get_document", "name", "a/b|c"),
    ("get_document", "name", "<time datetime=2020>;"),
    ("render", "template", "<head>x</head>;"),
    ("search_code", "name", "render(){ return x }"),
    # roots a listing tool starts from; a route; a root URL
    ("list_directory", "path", "C:\\"),
    ("list_directory", "path", "/"),
    ("browse_folder", "path", "D:/"),
    ("view_file", "file", "/"),
    ("http_request", "path", "/"),
    ("open_link", "href", "https://example.com/"),
    ("set_drive", "letter", "C:"),
    ("copy_file", "destination", "E:\\"),
    ("backup", "target", "D:/"),
    ("set_workspace", "root", "C:\\"),
    # a project's files in a home and beside a workspace
    ("view_file", "file", "/home/dev/plex/.env"),
    ("read_file", "path", "/Users/alice/shop/.env"),
    ("read_file", "path", "C:\\Users\\dev\\shop\\.env"),
    ("open_file", "path", "../nginx-flask-mongo/nginx/nginx.conf"),
    ("open_file", "path", "../site/php/php.ini"),
    # Windows paths whose names begin with digits
    ("view_file", "file", "C:\\Users\\dev\\patches\\2.5.3\\Python-2.5.3\\001_patch-x.diff"),
    ("list_directory", "path", "C:\\build\\micropython-1.23.0\\0005-lib-fix.patch"),
    ("read_file", "path", "D:\\data\\v1.0\\0\\index.json"),
    # dots and slashes in prose
    ("get_document", "name", "Options: ... / ... / ... / more"),
]


class InjectionCases:
    """
    The tests of a module's attacks (its C{attacks}: check, tool, argument,
    value) and benign values (its C{benign}: tool, argument, value), mixed
    into a test case.
    """

    attacks: list[tuple[str, str, str, str]]
    benign: list[tuple[str, str, str]]

    def setUp(self) -> None:
        self.steps = mediumSteps()

    def test_found(self) -> None:
        """
        Each attack is found by its class's check where a value belongs.
        """
        for check, tool, argument, text in self.attacks:
            found = {r.split(".")[0] for r in rules(verdict(self.steps, call(tool, **{argument: text})))}
            self.assertIn(check, found, (tool, argument, text))  # type: ignore[attr-defined]

    def test_benign(self) -> None:
        """
        The values of the same shapes pass, without any exclusion.
        """
        for tool, argument, text in self.benign:
            self.assertEqual(rules(verdict(self.steps, call(tool, **{argument: text}))), set(), (tool, argument, text))  # type: ignore[attr-defined]


class InjectionClassTests(InjectionCases, SynchronousTestCase):
    attacks = ATTACKS
    benign = BENIGN

    def test_sqlInCommandArgumentStillFound(self) -> None:
        """
        A command argument's SQL rules stand down only where no SQL is:
        a statement for a client is still read, and the same || in a value
        is still a tautology.
        """
        v = verdict(self.steps, call("run_command", command="psql -c \"select * from users where name='' or '1'='1'\""))
        self.assertIn(SQL, {f.check for f in v.findings})
        v = verdict(self.steps, call("get_user", username="x' || true--"))
        self.assertIn(SQL, {f.check for f in v.findings})

    def test_rootProbeInListingToolByOtherArgument(self) -> None:
        """
        A listing tool passes a root; any other tool's file argument does not.
        """
        self.assertEqual(rules(verdict(self.steps, call("list_files", path="c:/"))), set())
        self.assertIn(f"{PATH}.root_probe", rules(verdict(self.steps, call("read_file", path="c:/"))))


class ValidatorTests(SynchronousTestCase):
    def test_shellArgument(self) -> None:
        self.assertTrue(shellArgument("params.arguments.command"))
        self.assertTrue(shellArgument("params.arguments.cmd"))
        self.assertFalse(shellArgument("params.arguments.query"))
        self.assertFalse(shellArgument("params.arguments.commander"))

    def test_outsideHomeProject(self) -> None:
        self.assertFalse(outsideHomeProject("/home/dev/plex/.env"))
        self.assertFalse(outsideHomeProject("c:\\users\\dev\\shop\\.env"))
        self.assertTrue(outsideHomeProject("/home/app/.env"))
        self.assertTrue(outsideHomeProject("/home/u/www/.env"))
        self.assertTrue(outsideHomeProject("/home/u/x/%2e%2e/.env"))
        self.assertTrue(outsideHomeProject("/srv/app/.env"))

    def test_separatorProse(self) -> None:
        self.assertFalse(separatorCommand("I think it would do; copy should reach us"))
        self.assertFalse(separatorCommand("x|{}"))
        self.assertTrue(separatorCommand("report.pdf; copy c:\\x y"))
        self.assertTrue(separatorCommand("a && whoami"))
        self.assertTrue(separatorCommand("I think it would do; cat /etc/passwd"))

    def test_linear(self) -> None:
        """
        The session's new patterns and validators stay linear on 100 KB
        written to be their worst case (each under 50 ms).
        """
        inputs = (
            "case " * 20_000,
            "case x when " * 8_000,
            "'" + "a" * 100_000,
            '"java.' + "a." * 50_000,
            "../" * 33_000 + "x",
            "/a" * 50_000,
            "<ping " + "a" * 100_000,
            "f(){ " + " " * 100_000,
            "%c0" * 33_000,
            ".. / " * 20_000,
            "x', " * 25_000,
            "word " * 20_000,
            "a.b\\0" * 20_000,
            "a" * 100_000,
        )
        # (the rules this session wrote or changed, by a piece of each)
        marks = ("randomblob|zeroblob", "[a-z_][\\w@.$-]{0,63}--", ",\\s*null\\s*\\)", "[\\w.+-]+\\s*\\|\\s*['",
                 "[^;&|\\r\\n<>]{0,60}(?:;|%0a", "\\(\\)\\s*\\{[^{}]{0,200}\\}", "file:(?:/{2,3}", "%c[01]%(?:", "[ \\t]+[/\\\\][ \\t]*",
                 "\\\\0{1,3}", "(?:(?:httpd|apache2?|nginx|lighttpd|php-fpm", "\\.env(?:\\.(?:local|prod|production")
        patterns = [re.compile(r.confirm or r.pattern, re.I if r.caseless else 0) for r in R.SQL_RULES + R.CMD_RULES + R.PATH_RULES
                    if any(m in (r.confirm or r.pattern) for m in marks)]
        self.assertGreaterEqual(len(patterns), 12)
        # (and the fork bomb's older form, bounded and anchored at a word's start this session)
        bomb = re.compile(r"(?:\b\w+|[:.])\s*\(\)\s*\{[^}]{0,200}\|[^}]{0,200}&\s*\}")
        self.assertTrue(any(bomb.pattern in r.pattern for r in R.CMD_RULES))
        runs = [(p.pattern[:60], lambda t, p=p: list(p.finditer(t)), inputs) for p in patterns]
        runs.append((bomb.pattern, lambda t: list(bomb.finditer(t)), inputs + (":(){ " + "|" * 100_000, "a" * 100_000 + "()")))
        extra = inputs + ("/home/" + "a/" * 50_000, "a b c " * 16_000 + "; " + "d e " * 20_000)
        runs += [(f.__name__, f, extra) for f in (outsideHomeProject, separatorCommand)]
        for label, run, texts in runs:
            for text in texts:
                # (the best of three runs: a loaded machine slows one)
                self.assertLess(bestTime(run, text), 0.05, (label, text[:20]))


class PropertyTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.steps = mediumSteps()

    @settings(max_examples=40, deadline=None)
    @given(
        fn=st.sampled_from(("randomblob", "zeroblob", "RandomBlob")),
        n=st.integers(1, 10**9),
        then=st.sampled_from(("1", "0", "''", '""', "null", "true")),
        encode=st.booleans(),
        case=st.sampled_from((str.lower, str.upper, str.title)),
    )
    def test_caseProbe(self, fn: str, n: int, then: str, encode: bool, case: object) -> None:
        """
        A CASE of literal branches is found in any letter case, URL-encoded
        or not.
        """
        text = case(f"x' | case {fn}({n}) when not null then {then} else {then} end --")  # type: ignore[operator]
        if encode:
            text = quote(text)
        self.assertIn(SQL, {f.check for f in verdict(self.steps, call("filter_records", category=text)).findings}, text)

    @settings(max_examples=40, deadline=None)
    @given(
        drive=st.sampled_from("cdefz"),
        sep=st.sampled_from(("/", "\\", "//", "\\\\")),
        encode=st.booleans(),
        upper=st.booleans(),
        tool=st.sampled_from(("view_file", "read_file", "open_file", "download", "get_document", "render_template")),
    )
    def test_driveRoot(self, drive: str, sep: str, encode: bool, upper: bool, tool: str) -> None:
        """
        A drive's root is found in a file tool's argument in any spelling,
        URL-encoded or not.
        """
        text = (drive.upper() if upper else drive) + ":" + sep
        if encode:
            text = quote(text, safe="")
        self.assertIn(f"{PATH}.root_probe", rules(verdict(self.steps, call(tool, path=text))), text)

    @settings(max_examples=40, deadline=None)
    @given(
        depth=st.integers(0, 12),
        program=st.sampled_from(("usr/bin/env", "bin/sh", "bin/ls", "usr/local/bin/perl", "usr/bin/id")),
        space=st.sampled_from(("", " ")),
        encode=st.booleans(),
    )
    def test_pipeOpen(self, depth: int, program: str, space: str, encode: bool) -> None:
        """
        A program's path ending in a pipe is found at any climb, encoded or
        not.
        """
        text = "../" * depth + ("" if depth else "/") + program + space + "|"
        if encode:
            text = quote(text, safe="")
        self.assertIn(CMD, {f.check for f in verdict(self.steps, call("git_clone", url=text)).findings}, text)
