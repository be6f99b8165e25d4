"""
The upstream fence.
"""

import ipaddress

from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.relay.fence import AddressPolicy, hostMatches, unwrap


class AddressTests(SynchronousTestCase):
    def test_special_ranges_refused(self) -> None:
        p = AddressPolicy()
        for a in [
            "0.0.0.0", "10.1.2.3", "100.64.0.1", "127.0.0.1", "169.254.169.254", "172.16.0.1",
            "172.31.255.255", "192.0.0.8", "192.168.1.1", "198.18.0.1", "224.0.0.1", "240.0.0.1",
            "255.255.255.255", "::", "::1", "fc00::1", "fd12::1", "fe80::1", "ff02::1",
            "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::127.0.0.1", "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::a00:1", "2002:7f00:1::",
        ]:
            self.assertIsNotNone(p.refusal(a, 80), a)

    def test_public_allowed(self) -> None:
        p = AddressPolicy()
        for a in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]:
            self.assertIsNone(p.refusal(a, 443), a)

    def test_allow_private(self) -> None:
        p = AddressPolicy(allowPrivate=(ipaddress.ip_network("127.0.0.0/8"),))
        self.assertIsNone(p.refusal("127.0.0.1", 80))
        self.assertIsNone(p.refusal("::ffff:127.0.0.1", 80))
        self.assertIsNotNone(p.refusal("10.0.0.1", 80))
        self.assertIsNotNone(p.refusal("::1", 80))

    def test_own_address_always_refused(self) -> None:
        p = AddressPolicy(
            allowPrivate=(ipaddress.ip_network("127.0.0.0/8"),),
            own=((ipaddress.ip_address("127.0.0.1"), 8080),),
        )
        self.assertIsNotNone(p.refusal("127.0.0.1", 8080))
        self.assertIsNotNone(p.refusal("::ffff:127.0.0.1", 8080))
        self.assertIsNone(p.refusal("127.0.0.1", 8081))
        wildcard = AddressPolicy(allowPrivate=(ipaddress.ip_network("127.0.0.0/8"),), own=((None, 8080),))
        self.assertIsNotNone(wildcard.refusal("127.0.0.2", 8080))

    def test_unwrap(self) -> None:
        self.assertEqual(unwrap(ipaddress.ip_address("::ffff:1.2.3.4")), ipaddress.ip_address("1.2.3.4"))
        self.assertEqual(unwrap(ipaddress.ip_address("64:ff9b::102:304")), ipaddress.ip_address("1.2.3.4"))


class HostGlobTests(SynchronousTestCase):
    def test_globs(self) -> None:
        self.assertTrue(hostMatches("api.example.com", ["*.example.com"]))
        self.assertFalse(hostMatches("example.com", ["*.example.com"]))
        self.assertFalse(hostMatches("evil-example.com", ["*.example.com"]))
        self.assertTrue(hostMatches("::1", ["[::1]"]))
        self.assertTrue(hostMatches("::1", ["0::1"]))
        self.assertTrue(hostMatches("127.0.0.1", ["127.0.0.1"]))
        self.assertTrue(hostMatches("127.0.0.5", ["127.0.0.0/8"]))
        self.assertFalse(hostMatches("127.0.0.2", ["127.0.0.1"]))
        self.assertFalse(hostMatches("anything.com", []))
