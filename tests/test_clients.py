"""
Client addresses: the IP allowlist (both families) and X-Forwarded-For
honoured only from trusted proxies, right-most untrusted address.
"""

from __future__ import annotations

import json

from twisted.internet.defer import ensureDeferred
from twisted.trial.unittest import TestCase

from tests.harness import BASE, KEY, ProxyHarness, Upstream, request


class AllowlistTests(TestCase):
    def setUp(self):
        return ensureDeferred(self._setUp())

    async def _setUp(self) -> None:
        self.upstream = await Upstream().start()
        self.addCleanup(self.upstream.stop)

    def test_allowlist_refuses_other_addresses(self):
        async def run() -> None:
            p = ProxyHarness(self, base=BASE.replace("access_control:\n", "access_control:\n  ip_allowlist: ['10.0.0.0/8', 'fd00::/8']\n"))
            response, body = await request(p.url(self.upstream, "/echo"))
            self.assertEqual(response.code, 403)
            self.assertEqual(json.loads(body)["error"]["code"], "ip_not_allowed")
            self.assertEqual(self.upstream.recorder.requests, [])

        return ensureDeferred(run())

    def test_allowlist_reload(self):
        """
        A client let in (and remembered) under one allowlist is judged by the
        next one after a reload, and the other way round.
        """

        async def run() -> None:
            allow = lambda nets: BASE.replace("access_control:\n", f"access_control:\n  ip_allowlist: {nets}\n")
            p = ProxyHarness(self, base=allow("['127.0.0.0/8']"))
            url = p.url(self.upstream, "/echo")
            for expected, nets in ((200, None), (200, None), (403, "['10.0.0.0/8']"), (403, None), (200, "['127.0.0.1/32']")):
                if nets is not None:
                    p.rewrite("", base=allow(nets))
                    self.assertTrue(p.service.reload())
                response, _ = await request(url)
                self.assertEqual(response.code, expected, nets)
            self.assertEqual(len(self.upstream.recorder.requests), 3)

        return ensureDeferred(run())

    def test_ipv6_listener_and_allowlist(self):
        async def run() -> None:
            base = BASE.replace('listen: ["tcp:0:interface=127.0.0.1"]', 'listen: ["tcp6:0:interface=\\\\:\\\\:1"]')
            ok = ProxyHarness(self, base=base.replace("access_control:\n", "access_control:\n  ip_allowlist: ['::1/128']\n"))
            url = f"http://[::1]:{ok.port}/proxy/http/{self.upstream.authority}/echo".encode()
            response, _ = await request(url)
            self.assertEqual(response.code, 200)
            self.assertEqual(self.upstream.recorder.requests[-1]["headers"][b"x-forwarded-for"], [b"::1"])
            refused = ProxyHarness(self, base=base.replace("access_control:\n", "access_control:\n  ip_allowlist: ['127.0.0.0/8']\n"))
            url = f"http://[::1]:{refused.port}/proxy/http/{self.upstream.authority}/echo".encode()
            response, _ = await request(url)
            self.assertEqual(response.code, 403)

        return ensureDeferred(run())

    def test_forwarded_for_only_from_trusted(self):
        async def run() -> None:
            allow = "access_control:\n  ip_allowlist: ['203.0.113.0/24']\n"
            untrusted = ProxyHarness(self, base=BASE.replace("access_control:\n", allow))
            spoof = {b"x-forwarded-for": [b"203.0.113.7"]}
            response, _ = await request(untrusted.url(self.upstream, "/echo"), headers=spoof)
            self.assertEqual(response.code, 403)

            trusted = ProxyHarness(
                self, base=BASE.replace("access_control:\n", allow + "  trusted_proxies: ['127.0.0.0/8', '10.0.0.0/8']\n")
            )
            headers = {
                b"x-forwarded-for": [b"198.51.100.1, 203.0.113.9, 10.1.1.1"],
                b"x-forwarded-proto": [b"https"],
                b"x-forwarded-host": [b"px.example.com"],
            }
            response, _ = await request(trusted.url(self.upstream, "/redirect"), headers=headers)
            # right-most untrusted address is the client: 203.0.113.9 (allowed)
            self.assertEqual(response.code, 302)
            self.assertEqual(
                response.headers.getRawHeaders(b"location"),
                [f"https://px.example.com/proxy/http/{self.upstream.authority}/echo/landed".encode()],
            )
            seen = self.upstream.recorder.requests[-1]["headers"]
            self.assertEqual(seen[b"x-forwarded-for"], [b"198.51.100.1, 203.0.113.9, 10.1.1.1, 127.0.0.1"])
            self.assertEqual(seen[b"x-forwarded-proto"], [b"https"])
            self.assertEqual(seen[b"x-forwarded-host"], [b"px.example.com"])
            # a spoofed left-most entry does not help an outside client
            headers = {b"x-forwarded-for": [b"203.0.113.9, 192.0.2.66"]}
            response, _ = await request(trusted.url(self.upstream, "/echo"), headers=headers)
            self.assertEqual(response.code, 403)

        return ensureDeferred(run())


__all__ = ["KEY"]
