"""
Session 15, third round (the unsealed fourth part): secrets the rules
missed by class, at medium. A key named by its service and quoted
(C{<service> '<value>'}, C{<service> token - '<value>'}, C{key is <hex>});
Jenkins' credential elements holding a value in braces; registry-scoped
C{.npmrc} credentials (C{:_auth=}, C{:_password=}, C{:_authToken=}); a
PKCS#12 or PKCS#8 private key's DER read as text (bytes no UTF-8 decoder
takes become U+FFFD).

Benign: digests, UUIDs and document ids after a word that says what they
are, templates and variables in Jenkins' XML and in .npmrc, a public key's
and a certificate's DER. The values are drawn here, not copied from any
corpus.
"""

from __future__ import annotations

import base64
import re

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect.checks import rules as R
from akto_proxy.inspect.checks.validators import (
    jenkinsElement,
    lowerRun,
    namedKey,
    npmrcCredential,
    randomRun,
)
from tests.inspect.test_checks import call, mediumSteps, result, rules, verdict
from tests.inspect.test_s15_secrets import bestTime
from tests.inspect.test_s15b_secrets import _AN, _HEX, _LOWER, _draw, _lower, _random

EXFIL = "data_exfiltration"


def _der(key: object, p12: bool = False) -> str:
    if p12:
        raw = pkcs12.serialize_key_and_certificates(b"deploy", key, None, None,  # type: ignore[arg-type]
                                                    serialization.BestAvailableEncryption(b"s3cret-pass"))
    else:
        raw = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,  # type: ignore[attr-defined]
                                serialization.NoEncryption())
    return raw.decode("utf-8", "replace")


_JENKINS = (
    "<com.cloudbees.plugins.credentials.impl.StringCredentialsImpl>\n  <scope>GLOBAL</scope>\n  <id>deploy</id>\n"
    "  <secret>{value}</secret>\n</com.cloudbees.plugins.credentials.impl.StringCredentialsImpl>"
)

# (rules any of which may find it, text)
_NAMED = {f"{EXFIL}.named_key", f"{EXFIL}.assigned_secret"}
SECRETS = [
    (_NAMED, "testingbot token - '" + _lower("tb", 32) + "'"),
    (_NAMED, "kanbantool '" + _random("kb", 22) + "' for the board"),
    (_NAMED, "- vouchery - \"" + _lower("vo", 36) + "\"\n- region: eu"),
    (_NAMED, "keys:\n  acmecrm token - '" + _random("crm", 40) + "'"),
    ({f"{EXFIL}.assigned_secret"}, "webex token - '" + _draw("wx", 64, _HEX) + "'"),
    ({f"{EXFIL}.assigned_secret"}, "Your ACME key is " + _draw("acme", 32, _HEX) + ", keep it safe."),
    ({f"{EXFIL}.jenkins_secret"}, _JENKINS.format(value="{AQAAABAAA " + _lower("jk", 40) + "}")),
    ({f"{EXFIL}.jenkins_secret"}, _JENKINS.format(value="{acme " + _random("jk2", 36) + "}")),
    ({f"{EXFIL}.jenkins_secret"}, "<password>{acme AQAAABAAA " + _draw("jk3", 32, _HEX) + "}</password>"),
    ({f"{EXFIL}.npm_token"}, "//npm.pkg.example.net/repo/:_auth=" + base64.b64encode(b"ci:" + _random("npm", 18).encode()).decode()),
    ({f"{EXFIL}.npm_token"}, "//registry.example.net/releases:_password=SaddleRiverQuietly"),
    ({f"{EXFIL}.npm_token", f"{EXFIL}.assigned_secret"}, "//npm.example.net/:_authToken=" + _random("npm2", 36)),
    ({f"{EXFIL}.private_key"}, _der(ec.generate_private_key(ec.SECP256R1()))),
    ({f"{EXFIL}.private_key"}, _der(ed25519.Ed25519PrivateKey.generate())),
    ({f"{EXFIL}.private_key"}, _der(ec.generate_private_key(ec.SECP384R1()), p12=True)),
    ({f"{EXFIL}.private_key"}, "cert.p12:\n" + _der(rsa.generate_private_key(65537, 2048), p12=True)),
]

_EC = ec.generate_private_key(ec.SECP256R1())
BENIGN = [
    # digests, ids and payloads named by what they are
    "git checkout '" + _draw("c", 40, _HEX) + "'",
    "commit '" + _random("cm", 24) + "' broke the build",
    "open spreadsheet '" + _random("sheet", 44) + "' and copy row 3",
    "watch playlist '" + "PL" + _random("pl", 32) + "' tonight",
    "uuid '123e4567-e89b-42d3-a456-426614174000'",
    "nonce '" + _random("nonce", 24) + "'",
    "echo '" + base64.b64encode(b"hello there, general kenobi").decode() + "'",
    "integrity 'sha512-" + base64.b64encode(bytes(range(64))).decode() + "'",
    "the string 'abcdefghijklmnopqrstuvwxyz012345' is the alphabet",
    "call ValidateUserInputTwoFactor 'ValidateUserInputTwoFactorAuthentication'",
    "vendor 'acme' version '2.4.1-beta'",
    "release - 'v2024.11.3-hotfix-rollback'",
    "token - 'redirect_uri_mismatch_for_client'",
    # templates and variables where Jenkins and npm keep credentials
    "<password>{{ jenkins_admin_password }}</password>",
    "<secret>{env.SECRET_VALUE_FROM_THE_ENVIRONMENT}</secret>",
    "//registry.npmjs.org/:_authToken=${NPM_TOKEN}",
    "//registry.npmjs.org/:_authToken=<your-token-here>",
    "//registry.example.net/:_auth=$(echo -n user:pass | base64)",
    "//registry.npmjs.org/:_authToken=npm_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    # a public key's DER, read as text
    _EC.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo).decode("utf-8", "replace"),
]


class SecretClassTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.steps = mediumSteps()

    def test_found(self) -> None:
        """
        Each secret is found by its rule in what a tool sends and in a
        tool's result.
        """
        for names, text in SECRETS:
            for message in (call("create_gist", content=text), result(text)):
                found = rules(verdict(self.steps, message))
                self.assertTrue(found & names, (names, text[:80], found))

    def test_benign(self) -> None:
        """
        Ids, digests, templates and public keys pass the secret rules
        (C{$(...)} in an .npmrc is the command rules' to judge).
        """
        for text in BENIGN:
            found = rules(verdict(self.steps, call("create_gist", content=text)))
            self.assertEqual({f for f in found if f.startswith(EXFIL)}, set(), text[:80])

    def test_validators(self) -> None:
        self.assertTrue(namedKey("acme '" + _random("v", 24) + "'"))
        self.assertFalse(namedKey("commit '" + _random("v", 24) + "'"))
        self.assertFalse(namedKey("acme '" + _draw("h", 40, _HEX) + "'"))  # a digest's shape
        self.assertTrue(jenkinsElement("<secret>{AQAAABAAA words here only}</secret>"))
        self.assertFalse(jenkinsElement("<secret>{{ jenkins_secret_from_vault }}</secret>"))
        self.assertTrue(npmrcCredential("//r.example.net/:_password=" + _random("p", 12)))
        self.assertFalse(npmrcCredential("//r.example.net/:_password=${NPM_PASS}"))
        self.assertFalse(npmrcCredential("//r.example.net/:_password=short"))

    def test_linear(self) -> None:
        """
        The new and changed patterns stay linear on 100 KB written to be
        their worst case (each under 50 ms, or twice the text in about
        twice the time on a loaded machine), and so do their validators.
        """
        inputs = (
            "acme " * 20_000,
            "acme - '" * 12_000,
            "a" * 100_000,
            " a '" + "A1b" * 33_000,
            "<secret>{" * 11_000,
            "<secret>{" + "a" * 100_000,
            "//" + "a" * 100_000,
            "//a:_auth=" * 10_000,
            "0\ufffd\x02\x01\x030" * 15_000,
            "0" * 100_000,
            "key is " * 14_000,
            "token - " * 12_000,
        )
        names = ("named_key", "jenkins_secret", "npm_token", "private_key")
        patterns = [re.compile(r.confirm or r.pattern, 0 if not r.caseless else re.I) for r in R.SECRET_RULES
                    if r.name in names or r.validator == "spaced_secret"]
        self.assertGreaterEqual(len(patterns), 7)
        def timed(run, text: str) -> float:  # type: ignore[no-untyped-def]
            return bestTime(run, text, rounds=1)

        runs = [(p.pattern[:60], lambda t, p=p: list(p.finditer(t))) for p in patterns]
        runs += [(f.__name__, f) for f in (namedKey, jenkinsElement, npmrcCredential)]
        for name, run in runs:
            for text in inputs:
                spent = timed(run, text)
                if spent >= 0.05:
                    # (a loaded machine: linear is what matters, twice the
                    # text in about twice the time, not four times; the
                    # best of three runs of each)
                    spent = min(spent, *(timed(run, text) for _ in range(2)))
                    half = min(timed(run, text[: len(text) // 2]) for _ in range(3))
                    self.assertLess(spent, 3 * half + 0.01, (name, text[:20]))
                    self.assertLess(spent, 0.5, (name, text[:20]))


class PropertyTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.steps = mediumSteps()

    @settings(max_examples=40, deadline=None)
    @given(
        vendor=st.from_regex(r"[a-z]{4,12}", fullmatch=True).filter(lambda w: w not in ("commit", "video", "image", "sheet", "ticket")),
        value=st.one_of(st.text(_AN, min_size=20, max_size=64).filter(lambda v: randomRun(v, 20)),
                        st.text(_LOWER, min_size=24, max_size=64).filter(lowerRun)),
        form=st.sampled_from(("{v} '{k}'", "{v} - '{k}'", '{v} token - "{k}"', "- {v} '{k}'\n", "keys: {v} '{k}', other")),
    )
    def test_namedKeyFound(self, vendor: str, value: str, form: str) -> None:
        """
        A random key quoted after a service's name is found whatever the
        name and the list's form (the name is no vendor list).
        """
        from akto_proxy.inspect.checks.validators import (
            _ID_WORDS,  # (the words that say id, not key)
        )

        if vendor in _ID_WORDS:
            return
        text = form.format(v=vendor, k=value)
        found = rules(verdict(self.steps, call("create_gist", content=text)))
        self.assertTrue(found & _NAMED, text)

    @settings(max_examples=40, deadline=None)
    @given(
        word=st.from_regex(r"[a-z]{4,12}", fullmatch=True).filter(lambda w: not re.search("key|token|secret|pass|pwd|auth|salt", w)),
        digest=st.text(_HEX, min_size=32, max_size=64),
        dash=st.booleans(),
    )
    def test_quotedDigestSilent(self, word: str, digest: str, dash: bool) -> None:
        """
        A hexadecimal digest quoted after a word that does not say key is
        a digest, not a key.
        """
        text = f"{word} {'- ' if dash else ''}'{digest}'"
        self.assertEqual(rules(verdict(self.steps, call("create_gist", content=text))), set(), text)

    @settings(max_examples=12, deadline=None)
    @given(kind=st.sampled_from(("ec256", "ec384", "ed25519")), p12=st.booleans(), lead=st.sampled_from(("", "key.der:\n", "cat out.p12\n")))
    def test_derKeyFound(self, kind: str, p12: bool, lead: str) -> None:
        """
        Any PKCS#8 or PKCS#12 private key's DER, read as text, is found.
        """
        key = {"ec256": lambda: ec.generate_private_key(ec.SECP256R1()), "ec384": lambda: ec.generate_private_key(ec.SECP384R1()),
               "ed25519": ed25519.Ed25519PrivateKey.generate}[kind]()
        text = lead + _der(key, p12=p12)
        self.assertIn(f"{EXFIL}.private_key", rules(verdict(self.steps, result(text))))
