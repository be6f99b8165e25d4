"""
Tests for L{akto_proxy.inspect.normalize}.
"""

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

import html

from akto_proxy.inspect.normalize import decode, foldPath, foldShell, foldSQL, unescapeHTML, variants


class DecodeTests(SynchronousTestCase):
    def test_doubleURL(self) -> None:
        self.assertEqual(decode("%252e%252e%252fetc"), "../etc")

    def test_overlongAndUnicode(self) -> None:
        self.assertEqual(decode("%c0%ae%c0%ae/x"), "../x")
        self.assertEqual(decode("%u002e%u002e/x"), "../x")
        self.assertEqual(decode("\\u0027 OR 1=1"), "' OR 1=1")

    def test_htmlEntities(self) -> None:
        self.assertEqual(decode("&#39; OR &#x27;a&#x27;"), "' OR 'a'")

    def test_nfkc(self) -> None:
        self.assertEqual(decode("\uff0e\uff0e\uff0fetc"), "../etc")
        self.assertEqual(decode("se\u200blect"), "select")

    def test_plus(self) -> None:
        self.assertEqual(decode("1+OR+1=1", plus=True), "1 OR 1=1")
        self.assertEqual(decode("1+1"), "1+1")


class FoldTests(SynchronousTestCase):
    def test_sqlComments(self) -> None:
        self.assertEqual(foldSQL("1/**/UNION/**/SELECT"), "1 UNION SELECT")
        self.assertEqual(foldSQL("/*!50000UNION*/  SELECT"), " UNION SELECT")

    def test_shell(self) -> None:
        self.assertEqual(foldShell("c''at /etc/passwd"), "cat /etc/passwd")
        self.assertEqual(foldShell("w'h'o'am'i"), "whoami")
        self.assertEqual(foldShell("cat$IFS/etc/passwd"), "cat /etc/passwd")
        self.assertEqual(foldShell("cat ${HOME:0:1}etc"), "cat /etc")
        self.assertEqual(foldShell("{ls,-la,/}"), "ls -la /")
        self.assertEqual(foldShell("c\\at x"), "cat x")
        self.assertEqual(foldShell("who$@ami"), "whoami")

    def test_path(self) -> None:
        self.assertEqual(foldPath("....//....//etc"), "../../etc")
        self.assertEqual(foldPath("..\\..\\windows"), "../../windows")
        self.assertEqual(foldPath("..;/x//./y"), "../x/y")


class VariantTests(SynchronousTestCase):
    def test_plainIsOne(self) -> None:
        self.assertEqual([v.kind for v in variants("hello world")], ["r"])

    def test_kinds(self) -> None:
        kinds = [v.kind for v in variants("%2e%2e\\..\\c''at")]
        self.assertEqual(kinds[0], "r")
        self.assertIn("d", kinds)
        self.assertIn("p", kinds)
        self.assertIn("s", kinds)

    @settings(max_examples=300, deadline=None)
    @given(st.text(max_size=200))
    def test_anyText(self, text: str) -> None:
        """
        Any text normalises without error; the forms are distinct and the
        first is the text itself.
        """
        forms = list(variants(text, plus=True))
        self.assertEqual(forms[0].text, text)
        self.assertEqual(len({f.text for f in forms}), len(forms))


_ENTITY_PIECES = st.sampled_from(
    ["&", "#", ";", "x", "X", "1", "9", "f", " ", "\t", "<", "a", "amp", "lt", "AElig", "not", "notin", "copy", "frac12", "jh23", "&amp", "&#", "&#x", "&lt;", "&notin;"]
)


class UnescapeHTMLTests(SynchronousTestCase):
    """
    L{unescapeHTML} is C{html.unescape}, exactly, without a Python call per
    C{&} that names nothing (the Autobahn TestSuite's C{BAsd7&jh23} a
    million times cost 0.4 s; a query string's C{&page=2} as much).
    """

    @settings(max_examples=2000, deadline=None)
    @given(st.lists(_ENTITY_PIECES | st.text(max_size=3), max_size=16).map("".join))
    def test_sameAsTheStandardLibrary(self, text: str) -> None:
        self.assertEqual(unescapeHTML(text), html.unescape(text))

    def test_references(self) -> None:
        for text, expected in (
            ("&lt;script&gt;", "<script>"),
            ("&#46;&#46;&#x2f;etc", "../etc"),
            ("a &amp b &ampx &notin; &notit; &copy2024", "a & b &x \u2209 \xacit; \xa92024"),
            ("&" + "a" * 40 + ";", "&" + "a" * 40 + ";"),
        ):
            self.assertEqual(unescapeHTML(text), expected)
            self.assertEqual(unescapeHTML(text), html.unescape(text))

    def test_nothingToUndoNothingCopied(self) -> None:
        """
        Text whose C{&}s name no reference comes back as it is, the same
        object: nothing was rebuilt.
        """
        for text in ("BAsd7&jh23" * 1000, "?q=abc&page=2&sort=desc", "Tom & Jerry", "&&&&", "&foo-bar;"):
            self.assertIs(unescapeHTML(text), text)
