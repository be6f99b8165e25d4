"""
Path traversal and file inclusion at medium sensitivity, session 12: a
path read as a file API reads it (L{akto_proxy.inspect.paths}) and judged
by where it leads, and a NUL judged by what stands beside it.  One case
per class the rules before it missed, the benign forms beside them (a
text WebSocket message that is a lone NUL: Autobahn's case 6.7.1), one
more encoding keeping a payload found, canonical forms that are equal,
and the prefilter deciding each case the same.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings, strategies as st
from twisted.internet.defer import ensureDeferred
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect.checks.prefilter import buildPrefilter
from akto_proxy.inspect.paths import canonical, judge, leavesStart, nulTruncation, unwrap
from tests.inspect.test_checks import call
from tests.inspect.test_classic import ENCODINGS
from tests.inspect.test_prefilter import same, steps
from tests.inspect.test_s11_path import PathCases
from tests.test_binary import CHECKS
from tests.test_ws import UPSTREAMS, WSBase

PATH = "path_traversal"

# (class, tool, argument, payload): each missed by the rules before session 12
ATTACKS = [
    ("a system file after a climb from a web root", "read_file", "path", "/var/www/html/../../../etc/gitlab/gitlab.rb"),
    ("a cloud agent's key after a climb from an app root", "read_file", "path", "/srv/app/public/../../../opt/aws/credentials"),
    ("a home's token by $HOME", "load_template", "template", "$HOME/.config/gh/hosts.yml"),
    ("a home's token by ${HOME}", "load_template", "template", "${HOME}/.vault-token"),
    ("a home's credentials by %USERPROFILE%", "view_file", "file", "%USERPROFILE%\\.azure\\accessTokens.json"),
    ("a Windows machine key with a stream name", "open_file", "path", "C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys\\a1::$DATA"),
    ("a macOS user's cookies", "read_file", "path", "/Users/alice/Library/Cookies/Cookies.binarycookies"),
    ("a cloud agent's file", "get_document", "name", "/var/lib/waagent/ovf-env.xml"),
    ("a cloud agent's registration key", "read_file", "path", "/var/lib/amazon/ssm/Vault/Store/RegistrationKey"),
    ("a framework's secrets after a climb", "include_page", "page", "..\\config\\master.key"),
    ("a Java application's descriptor with a path parameter", "download", "filename", "../../WEB-INF/web.xml;jsessionid=A1"),
    ("a system file in a query parameter of any name", "fetch_url", "url", "https://shop.example/index.php?cat=/proc/self/mountinfo"),
    ("a system file as a word of a value", "load_config", "config", "include /etc/kubernetes/admin.conf"),
]

# (class, tool, argument, value): what those arguments honestly carry
BENIGN = [
    ("a workspace path that climbs back in", "view_file", "file", "./packages/web/../api/src/etc/hosts.ts"),
    ("a project's web.config in a home", "read_file", "path", "C:\\Users\\bob\\source\\repos\\Shop\\Shop.Web\\web.config"),
    ("a project's logs", "show_log", "log", "/workspace/app/storage/logs/worker.log"),
    ("a web root's page", "read_file", "path", "/var/www/html/assets/css/site.css"),
    ("a share on a file server", "read_file", "path", "\\\\fileserver\\shared\\reports\\q3.xlsx"),
    ("a repository's file by URL", "fetch_url", "url", "https://github.com/acme/infra/blob/main/etc/hosts"),
    ("a manual page", "fetch_url", "url", "https://man7.org/linux/man-pages/man5/passwd.5.html"),
    ("a discarded output", "export_report", "output", "/dev/null"),
    ("a lone NUL", "send", "frame", "\x00"),
    ("zeros", "send", "frame", "\x00" * 64),
    ("a NUL between words", "set_value", "value", "abc\x00def"),
    ("an escaped NUL alone", "set_value", "value", "%00"),
]


class PathTests(PathCases, SynchronousTestCase):
    attacks = ATTACKS
    benign = BENIGN

    def test_nulTruncationStillFound(self) -> None:
        """
        A NUL that cuts a path, a file name or a parameter naming a file is
        still a finding.
        """
        for value in ("../../../../etc/passwd%00.png", "shell.php\x00.jpg", "uploads/avatar\x00.gif",
                      "https://x.example/index.php?file=%00"):
            found = self.found("read_file", "path", value)
            self.assertTrue(any(r.startswith(PATH + ".") for r in found), (value, found))
        self.assertIn(PATH + ".nul_byte", self.found("view_file", "file", "report.pdf\x00"))

    @settings(max_examples=300, deadline=None)
    @given(st.sampled_from(ATTACKS), st.sampled_from(sorted(ENCODINGS)), st.lists(st.booleans(), min_size=1, max_size=16))
    def test_oneMoreEncoding(self, attack: tuple[str, str, str, str], how: str, mask: list[bool]) -> None:
        """
        Each new class, encoded one more way on any of its characters, is
        still found (L{PathCases.encodedStillFound}).
        """
        self.encodedStillFound(attack, how, mask)


class CanonicalTests(SynchronousTestCase):
    def test_sameFile(self) -> None:
        """
        The spellings of one file read as one canonical path.
        """
        for group in (
            ["/etc/shadow", "/etc//./shadow", "/var/www/html/../../../etc/shadow", "file:///etc/shadow",
             "file://localhost/etc/shadow", "/ETC/shadow", "/etc/ssh/../shadow"],
            ["C:\\Windows\\win.ini", "c:/windows/win.ini", "\\\\localhost\\c$\\Windows\\win.ini", "\\\\?\\C:\\Windows\\win.ini",
             "\\\\.\\C:\\Windows\\win.ini", "%SYSTEMROOT%\\win.ini", "C:\\Windows\\win.ini. .", "c:\\windows\\win.ini::$DATA",
             "file:///C:/Windows/win.ini"],
        ):
            forms = {canonical(unwrap(p))[:2] for p in group}
            self.assertEqual(len(forms), 1, (group, forms))

    def test_climbAndWrappers(self) -> None:
        self.assertEqual(canonical("../../etc/passwd"), (("", ("etc", "passwd"), 2)))
        self.assertEqual(canonical("a/b/../../c"), ("", ("c",), 0))
        self.assertEqual(unwrap("php://filter/convert.base64-encode/resource=../config.php"), "../config.php")
        self.assertEqual(unwrap("zip://uploads/x.zip#shell.php"), "uploads/x.zip")
        self.assertEqual(unwrap("jar:file:/opt/app.war!/WEB-INF/web.xml"), "/opt/app.war")
        self.assertEqual(canonical("~/.ssh/id_rsa").parts, ("home", "~", ".ssh", "id_rsa"))
        self.assertEqual(canonical("\\\\fileserver\\share\\x.txt").root, "//fileserver/share")

    def test_judge(self) -> None:
        self.assertEqual(judge("../../WEB-INF/web.xml"), "app:web-inf/web.xml")
        self.assertEqual(judge("/home/ci/.docker/config.json"), "home:.docker/config.json")
        self.assertIsNone(judge("/home/alice/project/.env.example"))
        self.assertIsNone(judge("src/../web.config"))
        # a search's words, a URL's path that does not climb
        self.assertIsNone(judge("https://search.example/?q=/etc/hosts file format"))
        self.assertIsNone(judge("https://docs.example.com/guides/etc/nginx/nginx.conf"))
        self.assertIsNotNone(judge("https://docs.example.com/static/../../../etc/nginx/nginx.conf"))

    def test_leavesStart(self) -> None:
        self.assertTrue(leavesStart("../../etc/passwd"))
        self.assertTrue(leavesStart("/var/www/../../etc/passwd"))
        self.assertTrue(leavesStart("templates/../etc/passwd"))
        self.assertFalse(leavesStart("./packages/web/../api/src/etc/hosts.ts"))

    def test_nul(self) -> None:
        for text in ("\x00", "\x00" * 4096, "a\x00b", "%00", "hello %00 world", "{\"a\": \"\x00\"}"):
            self.assertFalse(nulTruncation(text), repr(text))
        for text in ("x.php\x00", "\x00.jpg", "../a%00", "index.php?page=%00", "C:\\boot.ini\x00"):
            self.assertTrue(nulTruncation(text), repr(text))

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.sampled_from(["a", "b", "..", ".", "", "etc", "x y"]), max_size=8))
    def test_canonicalResolves(self, parts: list[str]) -> None:
        """
        A canonical path has no C{.}, C{..} or empty segment left, and
        resolving it again changes nothing.
        """
        c = canonical("/".join(parts))
        self.assertFalse({"", ".", ".."} & set(c.parts))
        again = canonical(c.root.rstrip("/") + "/" + "/".join(c.parts) if c.root else "/".join(c.parts))
        self.assertEqual(again.parts, c.parts)


class PrefilterTests(SynchronousTestCase):
    def test_sameOutcome(self) -> None:
        """
        The chain decides each case above the same with the prefilter as
        without it.
        """
        for exclusions in (False, True):
            built = steps("medium", exclusions)
            prefilter = buildPrefilter(built)
            for _, tool, argument, text in ATTACKS + BENIGN:
                same(self, built, prefilter, call(tool, **{argument: text}))


class WebSocketNulTests(WSBase):
    """
    Through the running proxy with the checks on: a text message that is
    a lone NUL (Autobahn TestSuite case 6.7.1) is relayed; one that cuts a
    path with a NUL is refused.
    """

    extra = UPSTREAMS + CHECKS

    def test_loneNulRelayed(self) -> Any:
        async def run() -> None:
            client = await self.connect()
            client.sendMessage(b"\x00")
            self.assertEqual(await client.receive(), (b"\x00", False))
            client.sendMessage(b"../../../../etc/hostname\x00.png")
            client.sendMessage(b"fine")
            self.assertEqual(await client.receive(), (b"fine", False))
            self.assertEqual(self.store.messages, [(b"\x00", False), (b"fine", False)])
            await self.closeBoth(client)

        return ensureDeferred(run())
