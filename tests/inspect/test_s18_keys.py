"""
Session 18: a JSON Web Key with its private part (RFC 7517, RFC 7518), which
the rules did not know: the C{d} of an elliptic-curve, RSA or octet-pair key,
the C{k} of a symmetric one, its members in any order, pretty-printed or
not, alone or in a key set. Found by the unsealed seventh part's misses
(JOSE libraries' test keys, none of them found).

Benign: public keys (C{x}, C{y}, C{n}, C{e} only, as a JWKS endpoint
serves them), a key whose private member is a placeholder, JSON with a
C{d} member but no key type (an SVG path's, a record's). The values are
drawn here.
"""

from __future__ import annotations

import json
import re

from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect.checks import rules as R
from akto_proxy.inspect.checks.validators import jwkPrivate
from tests.inspect.test_s15_secrets import SecretCases, _draw, assertLinear

_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _b(seed: str, n: int) -> str:
    return _draw(seed, n, _B64URL)


_EC = {"kty": "EC", "crv": "P-256", "x": _b("x", 43), "y": _b("y", 43)}
_OKP = {"kty": "OKP", "crv": "Ed25519", "x": _b("ox", 43)}
_RSA = {"kty": "RSA", "n": _b("n", 342), "e": "AQAB"}

# (rule, text)
SECRETS = [
    ("private_key", json.dumps({**_EC, "d": _b("d", 43)}, indent=2)),
    ("private_key", json.dumps({**_OKP, "d": _b("od", 43)}, separators=(",", ":"))),
    ("private_key", json.dumps({**_RSA, "d": _b("rd", 342), "p": _b("p", 171), "q": _b("q", 171)})),
    # its private member before its type
    ("private_key", json.dumps({"d": _b("d2", 43), "crv": "P-256", "kty": "EC", "x": _b("x2", 43)})),
    # a symmetric key
    ("private_key", json.dumps({"kty": "oct", "k": _b("k", 22), "alg": "A128KW"})),
    # in a key set, beside a public key
    ("private_key", json.dumps({"keys": [_EC, {**_OKP, "d": _b("od2", 43), "kid": "sig-1"}]})),
    # in a configuration file's string
    ("private_key", "SIGNING_JWK='" + json.dumps({**_EC, "d": _b("d3", 43)}) + "'"),
]

BENIGN = [
    json.dumps(_EC),
    json.dumps({"keys": [_EC, _OKP, _RSA]}, indent=2),
    json.dumps({**_EC, "d": "<your private key>"}),
    json.dumps({**_EC, "d": "..."}),
    json.dumps({"kty": "oct", "alg": "HS256", "kid": "shared-1"}),
    json.dumps({"type": "path", "d": "M10 10 L 20 20 Z", "fill": "none"}),
    json.dumps({"id": 7, "d": _b("rec", 43), "kind": "record"}),
]


class JWKTests(SecretCases, SynchronousTestCase):
    secrets = SECRETS
    benign = BENIGN


class ValidatorTests(SynchronousTestCase):
    def test_jwkPrivate(self) -> None:
        """
        The private member a key's type calls for, not the other: an EC
        key's C{k} or a symmetric key's C{d} is no private part.
        """
        self.assertTrue(jwkPrivate('{"kty": "EC", "d": "' + _b("a", 43) + '"'))
        self.assertTrue(jwkPrivate('{"kty":"oct","k":"' + _b("b", 22) + '"'))
        self.assertFalse(jwkPrivate('{"kty": "EC", "k": "' + _b("c", 43) + '"'))
        self.assertFalse(jwkPrivate('{"kty":"oct","d":"' + _b("e", 22) + '"'))
        self.assertFalse(jwkPrivate('{"d": "' + _b("f", 43) + '"'))

    def test_linear(self) -> None:
        """
        The rule's confirmation on 100 KB written to be its worst: braces
        alone, objects of one quote, one object without its closing brace,
        key types repeated (linear; 50,000 objects of one character are
        50,000 matches, hence the wider bound).
        """
        rule = next(r for r in R.SECRET_RULES if r.validator == "jwk_private")
        pattern = re.compile(rule.confirm or rule.pattern, re.M | re.A)
        inputs = ["{" * 100_000, '{"' * 50_000, '{"' + "a" * 100_000, '{"kty":"EC",' * 8_000, '{"d":"' + "A" * 100_000]
        assertLinear(self, [pattern], inputs, limit=0.2)
        for text in inputs:
            for m in pattern.finditer(text):
                jwkPrivate(m.group(0))
