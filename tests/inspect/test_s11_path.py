"""
Path traversal and file inclusion at medium sensitivity, session 11: one
case per class the rules before it missed (the traversal engine's dot and
separator spellings, files a tester reads after a short climb, system paths
in a URL's file parameter, Windows trees from the drive's root), the benign
forms beside each (projects in a home directory, media data URIs), one more
encoding keeping a payload found, and the decoding steps as units.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect.checks import buildInspectors
from akto_proxy.inspect.checks.prefilter import buildPrefilter
from akto_proxy.inspect.normalize import decode, foldPath, rawOnly, variants
from tests.inspect.test_checks import call, config, rules, verdict
from tests.inspect.test_classic import ENCODINGS, _encode
from tests.inspect.test_prefilter import same, steps

PATH = "path_traversal"

# (class, tool, argument, payload): each missed by the rules before session 11
ATTACKS = [
    ("dots escaped twice, hex digits apart", "read_file", "path", "%2e.%%35%%63%2e.%%35%%63%2e.%%35%%63etc%%35%%63issue"),
    ("three-byte overlong with a bare middle byte", "show_log", "log", "%e0%40%ae%e0%40%ae/%e0%40%ae%e0%40%ae/%e0%40%ae%e0%40%ae/srv/app/settings.py"),
    ("a control character after the dots", "fetch_resource", "uri", "..%01%2f..%01%2f..%01%2fsrv%2fapp%2fconfig%2fdatabase.yml"),
    ("a control character between the dots", "read_file", "path", ".%01./.%01./.%01./srv/app/settings.py"),
    ("wildcard segments", "preview", "doc", "??/??/??/??/proc/1/environ"),
    ("wildcard segments, hex separators", "view_file", "file", "uploads/??0x5c??0x5c??0x5cvar0x5clib0x5cphp0x5csessions"),
    ("invalid escape after hex dots", "export_report", "output", "./0x2e0x2e%c1%8s0x2e0x2e%c1%8svar/log/nginx/access.log"),
    ("a home's history after a short climb", "include_page", "page", "../\\../Users\\alice\\.zsh_history"),
    ("server configuration after a short climb", "view_file", "file", "..\\/..\\/wamp\\bin\\apache\\apache2.4.9\\conf\\httpd.conf"),
    ("Windows keychain-like files after a climb", "get_document", "name", "../../xampp/FileZillaFTP/FileZilla Server.xml"),
    ("/proc/net after a climb", "fetch_url", "url", "http://127.0.0.1:8080/index.php?page=..\\\\proc\\net\\tcp%3F.jpg"),
    ("a server's logs relative to its root", "show_log", "log", "httpd/logs/access_log"),
    ("a server's logs after a climb", "open_file", "path", "../apache/logs/error.log"),
    ("system file in a URL's file parameter", "http_get", "url", "https://cms.example.org/view.php?template=/etc/crontab&lang=en"),
    ("Windows file in a URL's file parameter", "load_resource", "uri", "https://shop.example/images?img=c%3A\\WINNT\\WIN.INI"),
    ("a one-letter file parameter", "fetch_url", "url", "http://localhost/cgi-bin/show.cgi?f=\\\\.\\%SYSTEMDRIVE%\\Program Files\\Apache Group\\Apache\\conf\\httpd.conf"),
    ("file://localhost/ into a server tree", "load_theme", "theme", "file://localhost/opt/lampp/etc/httpd.conf"),
    ("a Windows tree from the drive's root", "get_document", "name", "\\Documents and Settings\\Administrator\\NTUSER.DAT"),
    ("a data: URI carrying PHP", "include_page", "page", "data:;base64,PD9waHAgc3lzdGVtKCdpZCcpOyA/Pg=="),
]

# (class, tool, argument, value): what those arguments honestly carry
BENIGN = [
    ("a project in a Windows home", "read_file", "path", "C:\\Users\\dev\\.github\\workflows\\main.yml"),
    ("a project in a Windows home", "open_file", "path", "C:\\Users\\alice\\.vscode\\settings.json"),
    ("a project's env example in a home", "read_file", "path", "/home/dev/.env.example"),
    ("a project's .htaccess in a home", "view_file", "file", "/Users/alice/.htaccess"),
    ("a project's .env example after a climb", "get_asset", "asset_path", "../.env.example"),
    ("a project's .npmrc", "read_file", "path", "/workspace/app/.npmrc"),
    ("a project's git config", "read_file", "path", ".git/config"),
    ("a picture as a data URI", "upload_image", "image", "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"),
    ("a font as a data URI", "attach_file", "attachment", "data:font/woff2;base64,d09GMgABAAAAAAA"),
    ("a search about a system file", "fetch_url", "url", "https://example.com/search?q=%2Fetc%2Fhosts%20file%20format"),
    ("a site's own page in a redirect", "fetch_url", "url", "https://app.example.com/login?next=/admin/users"),
    ("a URL with a wildcard-looking path", "fetch_url", "url", "https://example.com/index.php?/welcome/index"),
    ("a project's logs", "read_file", "path", "/workspace/app/logs/app.log"),
    ("a project's server configuration", "read_file", "path", "docker/nginx/conf.d/default.conf"),
]


class PathCases:
    """
    The cases of a session's path classes against the medium rules: each
    of C{attacks} found by the path check, none of C{benign} (a mixin:
    L{PathTests}, and session 12's).
    """

    attacks: list[tuple[str, str, str, str]] = []
    benign: list[tuple[str, str, str, str]] = []
    steps: Any = None
    assertTrue: Any
    assertEqual: Any

    def setUp(self) -> None:
        if PathCases.steps is None:
            PathCases.steps = buildInspectors(config("threat_detection:\n  sensitivity: medium\n"))

    def found(self, tool: str, argument: str, text: str) -> set[str]:
        return rules(verdict(self.steps, call(tool, **{argument: text})))

    def test_attacks(self) -> None:
        for name, tool, argument, payload in self.attacks:
            found = self.found(tool, argument, payload)
            self.assertTrue(any(r.startswith(PATH + ".") for r in found), f"{name}: {payload!r} -> {found}")

    def test_benign(self) -> None:
        for name, tool, argument, value in self.benign:
            # (the path check's: a data URI's "/" and ";" are the command
            # check's to judge)
            found = {r for r in self.found(tool, argument, value) if r.startswith(PATH + ".")}
            self.assertEqual(found, set(), f"{name}: {value!r}")

    def encodedStillFound(self, attack: tuple[str, str, str, str], how: str, mask: list[bool]) -> None:
        """
        C{attack}, encoded one more way on any of its characters (a URL's
        query parameter alone: in the URL one more encoding is the
        server's to undo), is still found.
        """
        name, tool, argument, payload = attack
        if "?" in payload and "://" in payload:
            payload = payload.split("=", 1)[1].split("&")[0]
            tool, argument = "read_file", "path"
        encoded = _encode(payload, how, mask)
        found = self.found(tool, argument, encoded)
        self.assertTrue(any(r.startswith(PATH + ".") for r in found), f"{name}: {encoded!r} -> {found}")


class PathTests(PathCases, SynchronousTestCase):
    attacks = ATTACKS
    benign = BENIGN

    def test_homeSecretsStillFound(self) -> None:
        """
        The credentials of a home, Windows or not, and a home's own .npmrc
        stay findings beside the project files above.
        """
        for value in ("C:\\Users\\dev\\.aws\\credentials", "/home/dev/.env", "/Users/alice/.ssh/id_ed25519", "~/.npmrc",
                      "/home/deploy/.git/config", "C:\\Users\\Administrator\\NTUSER.DAT"):
            self.assertIn("path_traversal.absolute_sensitive_path", self.found("read_file", "path", value), value)

    @settings(max_examples=300, deadline=None)
    @given(st.sampled_from(ATTACKS), st.sampled_from(sorted(ENCODINGS)), st.lists(st.booleans(), min_size=1, max_size=16))
    def test_oneMoreEncoding(self, attack: tuple[str, str, str, str], how: str, mask: list[bool]) -> None:
        """
        Each new class, encoded one more way on any of its characters, is
        still found (L{PathCases.encodedStillFound}).
        """
        self.encodedStillFound(attack, how, mask)


class DecodeTests(SynchronousTestCase):
    def test_splitEscapesBesideRealOnes(self) -> None:
        """
        C{%%35%%63} is C{%5c} written with its hex digits escaped, also when
        what follows makes an escape of its own (C{%5%cetc}: C{%ce} is no
        character), and the letters after it keep their case.
        """
        self.assertEqual(decode("%2e.%%35%%63etc%%35%%63issue"), "..\\etc\\issue")
        self.assertEqual(decode("%%32%%65%%32%%65%%32%%66Etc"), "../Etc")

    def test_bytesLeftAsWritten(self) -> None:
        """
        A byte that is no UTF-8 stays as it was written, case and all.
        """
        self.assertEqual(decode("%e9t%C3%A9%ff%41"), "%e9té%ffA")
        self.assertEqual(decode("caf%c3%a9"), "café")

    def test_laxOverlong(self) -> None:
        self.assertEqual(decode("%e0%40%ae%e0%40%ae%e0%80%af"), "../")
        self.assertEqual(decode("%e&#48;%40%ae"), ".")  # the %40 decoded in a round before the %e0 is whole
        self.assertEqual(decode("%e0%41%ae"), "%e0A%ae")  # a middle byte that adds bits: left alone

    def test_pathForm(self) -> None:
        self.assertEqual(foldPath("..\x01/..\x01\\etc"), "../../etc")
        self.assertEqual(foldPath(".\x00./x"), "../x")
        self.assertEqual(foldPath("??/.?/?./etc"), "../../../etc")
        self.assertEqual(foldPath("index.php?/welcome"), "index.php?/welcome")
        self.assertEqual(foldPath("a\x01b/c"), "a\x01b/c")

    def test_variantsOnlyWhenNeeded(self) -> None:
        for text in ("index.php?/welcome", "what?/x", "ok?", "a.b\x01c"):
            self.assertEqual([v.kind for v in variants(text)], ["r"], text)
            self.assertTrue(rawOnly(text), text)
        self.assertFalse(rawOnly("??/??/etc"))
        # a decoded control character: the path form drops it (the SQL
        # form, which reads it as a space, comes too since the SQL merge)
        forms = {v.kind: v.text for v in variants("..%01/x")}
        self.assertEqual(forms["p"], "../x")
        self.assertEqual(list(forms)[:2], ["r", "d"])


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
