"""
TLS with generated certificates: the proxy's listener (TLS 1.3 minimum) and
verified https upstreams (CA bundle, wrong CA, name mismatch).
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import ssl
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from twisted.internet import endpoints, reactor
from twisted.internet.defer import ensureDeferred
from twisted.internet.ssl import CertificateOptions, PrivateCertificate
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.trial.unittest import TestCase
from twisted.web import server
from twisted.web.client import Agent, BrowserLikePolicyForHTTPS, readBody
from twisted.web.http_headers import Headers
from twisted.internet.ssl import Certificate, trustRootFromCertificates

from tests.harness import BASE, KEY, ProxyHarness, Upstream


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def makeCA(cn: str = "akto test CA") -> tuple[Any, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def makeLeaf(caKey: Any, caCert: Any, names: list[str]) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    sans: list[x509.GeneralName] = []
    for n in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            sans.append(x509.DNSName(n))
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(caCert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .sign(caKey, hashes.SHA256())
    )
    keyPEM = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), keyPEM


def pem(cert: Any) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


class TLSTests(TestCase):
    def setUp(self) -> Any:
        self.dir = os.path.abspath(self.mktemp())
        os.makedirs(self.dir)
        self.caKey, self.caCert = makeCA()
        self.ca = os.path.join(self.dir, "ca.pem")
        with open(self.ca, "wb") as f:
            f.write(pem(self.caCert))
        certPEM, keyPEM = makeLeaf(self.caKey, self.caCert, ["127.0.0.1", "localhost"])
        self.cert = os.path.join(self.dir, "cert.pem")
        self.key = os.path.join(self.dir, "key.pem")
        with open(self.cert, "wb") as f:
            f.write(certPEM)
        with open(self.key, "wb") as f:
            f.write(keyPEM)
        return ensureDeferred(self._startUpstream(certPEM, keyPEM))

    async def _startUpstream(self, certPEM: bytes, keyPEM: bytes) -> None:
        self.upstream = Upstream()
        cert = PrivateCertificate.loadPEM(certPEM + keyPEM)
        options = CertificateOptions(privateKey=cert.privateKey.original, certificate=cert.original)
        site = server.Site(self.upstream.root)
        ep = endpoints.TCP4ServerEndpoint(reactor, 0, interface="127.0.0.1")
        self.upstream.port = await ep.listen(TLSMemoryBIOFactory(options, False, site))
        self.addCleanup(self.upstream.port.stopListening)

    def tlsConfig(self, upstreamCA: str) -> str:
        return (
            BASE.replace('listen: ["tcp:0:interface=127.0.0.1"]', 'listen: [{endpoint: "tcp:0:interface=127.0.0.1", tls: true}]')
            + f"tls:\n  server: {{certificate: '{self.cert}', private_key: '{self.key}'}}\n"
            + (f"  upstream: {{ca_bundle: '{upstreamCA}'}}\n" if upstreamCA else "")
        )

    async def fetch(self, url: bytes, maxVersion: Any = None) -> tuple[Any, bytes]:
        trust = trustRootFromCertificates([Certificate.loadPEM(pem(self.caCert))])

        class Policy(BrowserLikePolicyForHTTPS):
            def creatorForNetloc(self, hostname: bytes, port: int) -> Any:
                from twisted.internet.ssl import optionsForClientTLS, TLSVersion

                extra = {}
                if maxVersion is not None:
                    extra = {"lowerMaximumSecurityTo": maxVersion, "insecurelyLowerMinimumTo": TLSVersion.TLSv1_2}
                return optionsForClientTLS(hostname.decode(), trustRoot=trust, extraCertificateOptions=extra)

        agent = Agent(reactor, contextFactory=Policy())
        response = await agent.request(b"GET", url, Headers({b"x-akto-api-key": [KEY.encode()]}))
        return response, await readBody(response)

    def test_tls13_listener_and_verified_upstream(self):
        async def run() -> None:
            proxy = ProxyHarness(self, base=self.tlsConfig(self.ca))
            url = f"https://127.0.0.1:{proxy.port}/proxy/https/127.0.0.1:{self.upstream.port.getHost().port}/echo/x".encode()
            response, body = await self.fetch(url)
            self.assertEqual(response.code, 200, body)
            self.assertEqual(json.loads(body)["uri"], "/echo/x")
            # the listener refuses TLS 1.2
            from twisted.internet.ssl import TLSVersion
            from twisted.web._newclient import ResponseNeverReceived

            with self.assertRaises((ResponseNeverReceived, Exception)):
                await self.fetch(url, maxVersion=TLSVersion.TLSv1_2)

        return ensureDeferred(run())

    def test_untrusted_upstream_502(self):
        async def run() -> None:
            otherKey, otherCA = makeCA("other CA")
            other = os.path.join(self.dir, "other.pem")
            with open(other, "wb") as f:
                f.write(pem(otherCA))
            proxy = ProxyHarness(self, base=self.tlsConfig(other))
            url = f"https://127.0.0.1:{proxy.port}/proxy/https/127.0.0.1:{self.upstream.port.getHost().port}/echo/x".encode()
            response, body = await self.fetch(url)
            self.assertEqual(response.code, 502)
            self.assertIn(b"TLS", body)
            self.assertEqual(self.upstream.recorder.requests, [])

        return ensureDeferred(run())

    def test_name_mismatch_502(self):
        async def run() -> None:
            certPEM, keyPEM = makeLeaf(self.caKey, self.caCert, ["other.example"])
            await self._startUpstream(certPEM, keyPEM)  # trusted CA, wrong name
            proxy = ProxyHarness(self, base=self.tlsConfig(self.ca))
            url = f"https://127.0.0.1:{proxy.port}/proxy/https/127.0.0.1:{self.upstream.port.getHost().port}/echo/x".encode()
            response, body = await self.fetch(url)
            self.assertEqual(response.code, 502)
            self.assertIn(b"TLS", body)

        return ensureDeferred(run())


__all__ = ["ssl"]
