"""
The URL contract: /proxy/{protocol}/{host}[:{port}]/{path}[?{query}].
"""

from hypothesis import given, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.relay.url import BadProxyPath, addCredential, parseProxyURI, stripCredential


class ParseTests(SynchronousTestCase):
    def parse(self, uri: bytes):
        return parseProxyURI(uri).target

    def test_protocols_and_default_ports(self) -> None:
        for proto, port in ((b"http", 80), (b"https", 443), (b"ws", 80), (b"wss", 443)):
            t = self.parse(b"/proxy/" + proto + b"/agent.kite.trade/sse")
            self.assertEqual((t.scheme, t.host, t.port, t.path, t.query), (proto.decode(), "agent.kite.trade", port, b"/sse", None))

    def test_ports_ipv4_ipv6(self) -> None:
        t = self.parse(b"/proxy/http/127.0.0.1:8080/mcp")
        self.assertEqual((t.host, t.port, t.authority), ("127.0.0.1", 8080, "127.0.0.1:8080"))
        t = self.parse(b"/proxy/https/[::1]:8443/mcp")
        self.assertEqual((t.host, t.port, t.authority), ("::1", 8443, "[::1]:8443"))
        t = self.parse(b"/proxy/https/[::1]/")
        self.assertEqual(t.authority, "[::1]")
        self.assertEqual(t.upstreamURL(), b"https://[::1]/")

    def test_path_and_query_byte_for_byte(self) -> None:
        t = self.parse(b"/proxy/https/h.example.com/a%2Fb/%7Cc;x?q=%2F&r=a|b&&z")
        self.assertEqual(t.path, b"/a%2Fb/%7Cc;x")
        self.assertEqual(t.query, b"q=%2F&r=a|b&&z")
        self.assertEqual(t.upstreamURL(), b"https://h.example.com/a%2Fb/%7Cc;x?q=%2F&r=a|b&&z")

    def test_empty_path(self) -> None:
        self.assertEqual(self.parse(b"/proxy/https/h.example.com").path, b"/")
        self.assertEqual(self.parse(b"/proxy/https/h.example.com/").path, b"/")
        self.assertEqual(self.parse(b"/proxy/https/h.example.com?x=1").query, b"x=1")

    def test_empty_query_kept(self) -> None:
        self.assertEqual(self.parse(b"/proxy/https/h.example.com/p?").query, b"")

    def test_credential_stripped(self) -> None:
        p = parseProxyURI(b"/proxy/https/h.example.com/sse?a=1&akto_api_key=s%2Bcret&b=2")
        self.assertEqual(p.target.query, b"a=1&b=2")
        self.assertEqual(p.credential, b"s+cret")
        p = parseProxyURI(b"/proxy/https/h.example.com/sse?akto_api_key=k")
        self.assertIsNone(p.target.query)
        self.assertEqual(p.credential, b"k")

    def test_remembered_without_credentials(self) -> None:
        """
        A target is decoded once and kept; one that may carry a credential
        is decoded every time and never kept.
        """
        from akto_proxy.relay.url import _rememberedProxyURI

        uri = b"/proxy/https/remembered.example.com/mcp?a=1"
        first = parseProxyURI(uri)
        self.assertIs(parseProxyURI(uri), first)
        self.assertEqual(first.target.query, b"a=1")
        secret = b"/proxy/https/remembered.example.com/mcp?akto_api_key=s3cret"
        kept = _rememberedProxyURI.cache_info().currsize
        self.assertEqual(parseProxyURI(secret).credential, b"s3cret")
        self.assertIsNot(parseProxyURI(secret), parseProxyURI(secret))
        self.assertEqual(_rememberedProxyURI.cache_info().currsize, kept)
        self.assertEqual(parseProxyURI(secret.replace(b"akto_api_key", b"k"), b"k").credential, b"s3cret")
        long = b"/proxy/https/remembered.example.com/" + b"p" * 1100
        self.assertEqual(parseProxyURI(long).target.path, b"/" + b"p" * 1100)
        self.assertEqual(_rememberedProxyURI.cache_info().currsize, kept)

    def test_host_case_and_trailing_dot(self) -> None:
        self.assertEqual(self.parse(b"/proxy/https/API.Example.COM./x").host, "api.example.com")

    def test_dotdot_inside_root_passes(self) -> None:
        self.assertEqual(self.parse(b"/proxy/https/h.example.com/a/../b").path, b"/a/../b")

    def test_malformed(self) -> None:
        bad = [
            b"/proxy/",
            b"/proxy/ftp/h.example.com/x",
            b"/proxy/http/",
            b"/proxy/http//x",
            b"/proxy/http/user@h.example.com/x",
            b"/proxy/http/user:pw@h.example.com/x",
            b"/proxy/http/h.example.com:0/x",
            b"/proxy/http/h.example.com:65536/x",
            b"/proxy/http/h.example.com:/x",
            b"/proxy/http/h.example.com:+80/x",
            b"/proxy/http/h.example.com:8a/x",
            b"/proxy/http/::1/x",
            b"/proxy/http/[::1/x",
            b"/proxy/http/[::1]x/x",
            b"/proxy/http/[fe80::1%25eth0]/x",
            b"/proxy/http/h%2eexample.com/x",
            b"/proxy/http/-bad.example.com/x",
            b"/proxy/http/bad_.example..com/x",
            b"/proxy/http/127.1/x",
            b"/proxy/http/2130706433/x",
            b"/proxy/http/0x7f.0.0.1/x",
            b"/proxy/http/127.0.0.01/x",
            b"/proxy/http/h.example.com/../x",
            b"/proxy/http/h.example.com/a/../../x",
            b"/proxy/http/h.example.com/%2e%2e/x",
            b"/proxy/http/h.example.com/a/%2E%2e/.%2e/x",
            b"/other/http/h.example.com/",
        ]
        for uri in bad:
            with self.assertRaises(BadProxyPath, msg=uri):
                parseProxyURI(uri)

    @given(st.binary(max_size=80))
    def test_never_crashes(self, tail: bytes) -> None:
        try:
            t = parseProxyURI(b"/proxy/" + tail).target
        except BadProxyPath:
            return
        self.assertIn(t.scheme, ("http", "https", "ws", "wss"))
        self.assertTrue(t.path.startswith(b"/"))
        self.assertNotIn("@", t.host)

    @given(
        st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-._~%2F!$&'()*+,;=:@|", min_size=1, max_size=12), max_size=5),
        st.one_of(st.none(), st.text(alphabet="abcxyz=&%2F|+", max_size=20)),
    )
    def test_path_roundtrip(self, segments: list, query) -> None:
        path = "/" + "/".join(s for s in segments if s not in ("..", ".", "%2e%2e"))
        if ".." in path.split("/") or "%2e%2e" in path.lower():
            return
        uri = b"/proxy/https/h.example.com" + path.encode()
        if query is not None:
            uri += b"?" + query.encode()
        try:
            t = parseProxyURI(uri).target
        except BadProxyPath:
            return
        self.assertEqual(t.upstreamURL(), b"https://h.example.com" + uri[len(b"/proxy/https/h.example.com"):])


class CredentialTests(SynchronousTestCase):
    def test_strip_keeps_others(self) -> None:
        self.assertEqual(stripCredential(b"x=%2F&akto_api_key=1&y", b"akto_api_key"), (b"x=%2F&y", b"1"))
        self.assertEqual(stripCredential(None, b"akto_api_key"), (None, None))

    def test_add(self) -> None:
        self.assertEqual(addCredential("http://p/x?s=1", "k", b"a b"), "http://p/x?s=1&k=a%20b")
        self.assertEqual(addCredential("http://p/x", "k", b"v"), "http://p/x?k=v")
        self.assertEqual(addCredential("http://p/x", "k", None), "http://p/x")
