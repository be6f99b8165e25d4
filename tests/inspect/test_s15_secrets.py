"""
Session 15: secrets the rules missed by class, at medium: Microsoft's
identifiable keys (a service's signature at a fixed offset of a base64
key), tokens of any vendor named by a short lowercase prefix and
underscores (C{<vendor>_[<part>_]<random>}, a test-mode key among them),
a credential named by the words before it with only blanks between, and
an Authorization header whose scheme has two to five letters.

Each secret below passed the rules before this session; each benign value
of the same shape passes still.  The values are drawn here, not copied
from any corpus.
"""

from __future__ import annotations

import random
import re
import string
import time
from typing import Callable

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect.checks import rules as R
from akto_proxy.inspect.checks.validators import prefixedToken, randomRun, spacedSecret
from tests.inspect.test_checks import call, mediumSteps, result, rules, verdict

EXFIL = "data_exfiltration"
_AN = string.ascii_letters + string.digits
_B64 = _AN + "+/"


def _draw(seed: str, n: int, alphabet: str = _AN) -> str:
    rng = random.Random(seed)
    while True:  # a draw that holds every kind (as nearly all of this length do)
        run = "".join(rng.choice(alphabet) for _ in range(n))
        if randomRun(run, min(n, 20)) or alphabet != _AN:
            return run


# (rule, text)
SECRETS = [
    ("azure_identifiable_key", "use " + _draw("ai", 52) + "JQQJ99BCACYeBjFXJ3w3AAAAACOG" + _draw("ai2", 4)[:4]),
    ("azure_identifiable_key", "AccountKey=" + _draw("st", 76, _B64) + "+AStq8Rm2w=="),
    ("azure_identifiable_key", '["' + _draw("sb", 33, _B64) + "+ASbC" + _draw("sb2", 5) + '="]'),
    ("azure_identifiable_key", '"primaryKey": "' + _draw("cosmos", 76, _B64) + 'ACDbZk3x9Q=="'),
    ("azure_identifiable_key", "https://fn.azurewebsites.net/api/run?code=" + _draw("fn", 44, _AN + "_-") + "AzFu" + _draw("fn2", 5) + "g=="),
    ("azure_identifiable_key", "| prod | " + _draw("search", 42) + "AzSeB" + _draw("search2", 5)),
    ("azure_identifiable_key", "docker login -u reg --password-stdin <<< " + _draw("acr", 42) + "+ACRC" + _draw("acr2", 5)),
    ("prefixed_token", "copied ion_" + _draw("ion", 42) + " from the dashboard"),
    ("prefixed_token", "client = Client('mdb_sa_sk_" + _draw("mdb", 40) + "')"),
    ("prefixed_token", "const key = 'sk_test_" + _draw("stripe", 24) + "';"),
    ("prefixed_token", "[acme_live_" + _draw("acme", 28) + "]"),
    ("assigned_secret", "boxSECRET " + _draw("box", 32)),
    ("assigned_secret", "vault kv get -vaultToken s." + _draw("vault", 40)),
    ("assigned_secret", "tyntec api key " + _draw("tyntec", 28)),
    ("assigned_secret", "owlbot access key " + "8a5de3a89b7e4f29bf728b45adcdea6ea3410c78"),
    ("assigned_secret", "Authorization: SSWS 00Q" + _draw("okta", 39, _AN + "-_")),
    ("assigned_secret", "Authorization: Bot " + _draw("bot", 40)),
]

BENIGN = [
    # the same shapes, nothing secret in them
    "pk_live_" + _draw("pk", 34),
    "NEXT_PUBLIC_POSTHOG_KEY=phc_" + _draw("phc", 43),
    "payment pi_" + _draw("pi", 24) + " succeeded",
    '"id": "msg_' + _draw("msg", 24) + '"',
    "def test_ValidateUserInputReturnsErrorWhenEmail2IsMissing(self):",
    "FAILED tests/test_api.py::get_AuthenticationTokenProviderFactoryImpl",
    "foo_" + _draw("foo", 36),
    "sk_test_xxxxxxxxxxxxxxxxxxxxxxxx",
    "token 8c1f2a3b-4d5e-4f60-a718-293a4b5c6d7e was revoked",
    "the access token expires in 3600 seconds",
    "private key file /etc/ssl/private/server.key",
    "access key rotation for com.example.security.TokenProviderImpl2",
    "secret token " + "x" * 32,
    "password <YOUR_PASSWORD_HERE> goes here",
    "Authorization: Bearer ${TOKEN}",
    "Authorization: SSWS {{okta_api_token}}",
    # code with tokens in comments, commit digests, integrity hashes, images
    "// token is read from the env, see TOKEN_PATH\nconst token = process.env.API_TOKEN;",
    "commit 3f2a9c81d4e5b6a7980c1d2e3f4a5b6c7d8e9f01\nAuthor: Ana <ana@example.com>",
    '"integrity": "sha512-' + _draw("npm", 86, _B64) + '=="',
    '<img src="data:image/png;base64,' + _draw("img1", 200, _B64) + "+ASt" + _draw("img2", 300, _B64) + '">',
    "user_id = user_2NNEqL2nrIRdJ194ndJqAHwEfxC",
    "my_very_long_function_name_for_testing_things_here()",
]


def bestTime(run: Callable[[str], object], text: str, rounds: int = 3) -> float:
    """
    The shortest of C{rounds} timings of C{run(text)}, in CPU seconds of
    this process: other processes on a loaded machine stretch the wall
    clock, not this count, and what remains (a cold cache, a slower core)
    slows a run, it never speeds one up.
    """
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        run(text)
        best = min(best, time.process_time() - start)
    return best


def assertLinear(case: SynchronousTestCase, patterns: list["re.Pattern[str]"], inputs: list[str], limit: float = 0.05) -> None:
    """
    Each pattern runs through each input (written to be its worst case)
    within C{limit} seconds (the best of three runs).
    """
    for p in patterns:
        for text in inputs:
            case.assertLess(bestTime(lambda t: list(p.finditer(t)), text), limit, (p.pattern[:60], text[:20]))


class SecretCases:
    """
    The tests of a module's secrets and benign strings (its C{secrets}:
    (rule, text); its C{benign}: texts), mixed into a test case.
    """

    secrets: list[tuple[str, str]]
    benign: list[str]

    def setUp(self) -> None:
        self.steps = mediumSteps()

    def test_found(self) -> None:
        """
        Each secret is found by its rule in what a tool sends and in a
        tool's result.
        """
        for name, text in self.secrets:
            for message in (call("create_gist", content=text), result(text)):
                self.assertIn(f"{EXFIL}.{name}", rules(verdict(self.steps, message)), text)  # type: ignore[attr-defined]

    def test_benign(self) -> None:
        """
        The values of the same shapes pass, without any exclusion.
        """
        for text in self.benign:
            self.assertEqual(rules(verdict(self.steps, call("create_gist", content=text))), set(), text)  # type: ignore[attr-defined]


class SecretClassTests(SecretCases, SynchronousTestCase):
    secrets = SECRETS
    benign = BENIGN


class ValidatorTests(SynchronousTestCase):
    def test_prefixedToken(self) -> None:
        self.assertTrue(prefixedToken(" shltm_" + _draw("s", 40)))
        self.assertTrue(prefixedToken("sk_test_" + _draw("t", 24)))
        self.assertFalse(prefixedToken("pk_test_" + _draw("t", 24)))
        self.assertFalse(prefixedToken("get_ValidateUserInputReturnsErrorWhenEmail2Missing"))

    def test_spacedSecret(self) -> None:
        self.assertTrue(spacedSecret("SECRET " + _draw("s", 30)))
        self.assertFalse(spacedSecret("token 8c1f2a3b-4d5e-4f60-a718-293a4b5c6d7e"))
        self.assertFalse(spacedSecret("token com.example.security.TokenProvider"))

    def test_linear(self) -> None:
        """
        The new patterns' confirmations stay linear on 100 KB written to be
        their worst case (each under 50 ms).
        """
        inputs = (
            " ab_" + "Ab1" * 33_000,
            " ab_" * 25_000,
            ("a_" * 50_000),
            "secret " * 14_000,
            "token " + "a" * 100_000,
            "Authorization: " * 6_000,
            ("A" * 76 + "+ASt") * 1_250,
            "x" * 100_000,
        )
        patterns = [re.compile(r.confirm or r.pattern, 0 if not r.caseless else re.I) for r in R.SECRET_RULES
                    if r.name in ("azure_identifiable_key", "prefixed_token") or r.validator == "spaced_secret"
                    or (r.confirm or "").startswith(r"\bauthorization")]
        self.assertGreaterEqual(len(patterns), 9)
        assertLinear(self, patterns, inputs)


class PropertyTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.steps = mediumSteps()

    @settings(max_examples=40, deadline=None)
    @given(
        prefix=st.from_regex(r"[a-z][a-z0-9]{1,6}", fullmatch=True).filter(lambda p: p not in ("pk", "pub", "id", "my", "foo", "bar", "baz", "qux", "phc", "sha", "uid", "ref", "img")),
        body=st.text(_AN, min_size=32, max_size=60).filter(lambda b: randomRun(b, 32)),
        place=st.sampled_from(("{t}", "token: {t}", "KEY='{t}'", '"key": "{t}"', "curl -H 'X-Key: {t}' https://api.example.net")),
    )
    def test_prefixedTokenAnywhere(self, prefix: str, body: str, place: str) -> None:
        """
        A vendor-prefixed random token is found whatever the prefix and
        wherever it sits.
        """
        text = place.format(t=f"{prefix}_{body}")
        self.assertTrue(rules(verdict(self.steps, call("create_gist", content=text))) & {f"{EXFIL}.prefixed_token", f"{EXFIL}.assigned_secret"}, text)

    @settings(max_examples=40, deadline=None)
    @given(
        sig=st.sampled_from(("+ASt", "ACDb", "+ABa", "+AMC", "APIM")),
        body=st.text(_B64, min_size=76, max_size=76),
        tail=st.text(_B64, min_size=5, max_size=5),
        last=st.sampled_from("AQgw"),
    )
    def test_identifiable64(self, sig: str, body: str, tail: str, last: str) -> None:
        """
        Any 64-byte identifiable key is found, bare or assigned.
        """
        key = body + sig + tail + last + "=="
        for text in (key, f"Key={key};"):
            self.assertIn(f"{EXFIL}.azure_identifiable_key", rules(verdict(self.steps, call("create_gist", content=text))), text)
