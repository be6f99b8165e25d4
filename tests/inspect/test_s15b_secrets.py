"""
Session 15, second round (gitleaks' rule tests): secrets the rules missed
by class, at medium. A value after PHP's C{.=}; Slack's tokens and webhook
URLs whatever their ids' case (C{xoxe-1-} refresh tokens, workflows and
triggers); a vendor key whose body is lowercase letters and digits, or
hexadecimal after a mode (C{sk_test_<lowercase>}, C{shippo_test_<hex>});
shapes of their own (TrueNAS' C{<id>-<64>}, Zoho's C{1000.}, Doppler's
C{dp.st.<env>.}, Facebook's C{<app id>|<app secret>}, EasyPost in both
cases, an Azure AD secret before an escaped quote, Stripe test and
restricted keys); an app password of sixteen random lowercase letters
handed to a credential call; C{curl -u} after a line continuation; and a
Django key holding C{%(}.

Benign: values made of words (C{SalesResults-1.2}), Slack's made-up
tokens (C{xoxp-1234-1234-...}, C{xoxe.xoxp-1-RANDOMSTRINGHERE}), a file
name holding C{ico-}, C{-u <user:password>}. Each secret below passed the
rules before this round; the values are drawn here, not copied from any
corpus.
"""

from __future__ import annotations

import random
import re
import string

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect.checks import rules as R
from akto_proxy.inspect.checks.validators import appPassword, lowerRun, numberedKey, randomRun, sequence, slackToken, wordValue
from tests.inspect.test_checks import call, mediumSteps, rules, verdict
from tests.inspect.test_s15_secrets import SecretCases, assertLinear, bestTime

EXFIL = "data_exfiltration"
_AN = string.ascii_letters + string.digits
_LOWER = string.ascii_lowercase + string.digits
_HEX = "0123456789abcdef"


def _draw(seed: str, n: int, alphabet: str = _AN, test=None) -> str:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    while True:
        run = "".join(rng.choice(alphabet) for _ in range(n))
        if test is None or test(run):
            return run


def _random(seed: str, n: int) -> str:
    return _draw(seed, n, _AN, lambda r: randomRun(r, min(n, 20)))


def _lower(seed: str, n: int) -> str:
    return _draw(seed, n, _LOWER, lambda r: lowerRun(r))


# (rule, text)
SECRETS = [
    ("assigned_secret", '$algoliaToken .= "' + _random("php", 28) + '";'),
    ("assigned_secret", '$config["api_token"] .= \'' + _lower("php2", 30) + "';"),
    ("slack_token", "refresh: xoxe-1-" + _random("xoxe", 140)),
    ("slack_webhook", "POST https://hooks.slack.com/workflows/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" + _random("wf", 24)),
    ("slack_webhook", "url: https://hooks.slack.com/services/" + _lower("hook", 44)),
    ("prefixed_token", 'stripe.api_key = "sk_test_' + _lower("sk", 30) + '"'),
    ("stripe_key", "STRIPE=sk_test_" + _random("sk2", 16)),
    ("prefixed_token", "client = Orb('orb_test_" + _lower("orb", 32) + "')"),
    ("prefixed_token", "SHIPPO=shippo_test_" + _draw("shippo", 40, _HEX, lambda r: lowerRun(r, mode=True))),
    ("numbered_api_key", '{"method": "auth.login_with_api_key", "params": ["7-' + _random("nas", 64) + '"]}'),
    ("zoho_token", "refreshed: 1000." + _draw("z1", 32, _HEX) + "." + _draw("z2", 32, _HEX)),
    ("doppler_token", "copied dp.st.staging." + _random("dp", 43) + " from the dashboard"),
    ("facebook_token", "access_token=" + _draw("fbid", 16, "0123456789") + "|" + _random("fbs", 27)),
    ("easypost_key", "EZAK" + _random("ez", 54)),
    ("azure_ad_secret", '"value": "client_secret = \\"' + "a1B8Q~" + _random("aad", 34) + '\\";"'),
    ("stripe_key", "key: rk_test_" + _random("rk", 17)),
    ("duffel_token", 'DUFFEL="duffel_test_' + _lower("duf", 24)[:23] + "_pdi_" + _lower("duf2", 24)[:13] + '=s"'),
    ("user_password", 'client.Credentials = new NetworkCredential("me@mail.example", "' + "vzqhlxkunrqjlthw" + '");'),
    ("user_password", "curl -X POST https://api.example.net/v1/caches \\\n  -H 'Content-type: text/plain' \\\n  -u developer:" + _random("curl", 18)),
    ("user_password", "curl --user admin:'" + _random("cq", 16) + "' https://api.example.net"),
    ("assigned_secret", "SECRET_KEY = 'django-insecure-_du9e^c%(^+=gr@cu@v9-v7ulhbk2s3!w&39w4+n3*k*$'"),
]

BENIGN = [
    # words, names and versions assigned to a name that says key or token
    '"bucket_key": "SalesResults-1.2"',
    "schemaKey = 'DOC_Vector_5_32'",
    "import { chain_Anvil1_Key, chain_Anvil2_Key } from './consts';",
    '<entry key="jetbrains.mps.v8_elimination" value="executed" />',
    "the reset password combination.\n\nR5: Regulatory--21",
    "cacheKey = 'UserProfile_v2'",
    '$labelToken .= "OrderSummary-3.1";',
    # Slack's made-up tokens
    '"token3": "xoxp-1234-1234-1234-4ddbc191d40ee098cbaae6f3523ada2d"',
    "xoxb-12345-abcd234",
    "xoxe.xoxp-1-RANDOMSTRINGHERE",
    "xoxe.xoxp-1-SlackAppConfigurationAccessTokenHere",
    '"token4": "xoxp-572370529330-573807301142-572331691188-####################"',
    "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
    # ids, file names, placeholders
    "http://assets.example.net/media/video_box.ico-7a388b69018576d24b59331fd60aab0c.png",
    "curl -u <user:password> https://api.example.net/endpoint",
    "sk_test_xxxxxxxxxxxxxxxxxxxxxxxx",
    "commit_3f2a9c81d4e5b6a7980c1d2e3f4a5b6c7d8e9f01",
    "build_linux_amd64_release_artifacts_for_version",
    'msg = "format %(name)s here"',
    'notes = "Maven - io.jsonwebtoken:jjwt-jackson-0.11.2"',
    'const keyStr = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"',
    "sk-ant-api03-abc123xyz-456def789ghij-klmnopqrstuvwx-3456yza789bcde-1234fghijklmnopby56aaaogaopaaaabc123xyzBB",
    "ticket 12-" + "a" * 64,
]


class SecretClassTests(SecretCases, SynchronousTestCase):
    secrets = SECRETS
    benign = BENIGN


class ValidatorTests(SynchronousTestCase):
    def test_wordValue(self) -> None:
        for v in ("SalesResults-1.2", "DOC_Vector_5_32", "chain_Anvil2_Key", "jetbrains.mps.v8_elimination"):
            self.assertTrue(wordValue(v), v)
        for v in ("gl1ul96nb9daj79zdwiazf2v", "hyol92xedtjtpoagrvc5aa30", "JBSWY3DPEHPK3PXP", "6fe4476ee5a1832882e326b506d14126",
                  _random("wv", 24)):
            self.assertFalse(wordValue(v), v)

    def test_sequence(self) -> None:
        for v in ("sk_abcdefghijklmnopqrstuvwxyz123", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                  "abc123xyz-456def789ghij-klmnopqrstuvwx-3456yza789bcde", "dapi123456789012345678a9bc01234defg5"):
            self.assertTrue(sequence(v), v)
        for v in ("A3T0ABCDEFGHIJKLMNOP", "abcd1234efgh5678", _random("seq", 40), "0123456789" + _random("seq2", 40)):
            self.assertFalse(sequence(v), v)

    def test_slackToken(self) -> None:
        self.assertTrue(slackToken("xoxb-781236542736-2364535789652-" + _random("s", 24)))
        self.assertTrue(slackToken("xoxe-1-" + _random("s2", 120)))
        self.assertFalse(slackToken("xoxp-1234-1234-1234-4ddbc191d40ee098cbaae6f3523ada2d"))
        self.assertFalse(slackToken("xoxe.xoxp-1-SlackAppConfigurationAccessTokenHere"))

    def test_lowerRun(self) -> None:
        self.assertTrue(lowerRun(_lower("l", 30)))
        self.assertFalse(lowerRun("3f2a9c81d4e5b6a7980c1d2e3f4a5b6c7d8e9f01"))  # a digest, no mode
        self.assertTrue(lowerRun("3f2a9c81d4e5b6a7980c1d2e3f4a5b6c7d8e9f01", mode=True))
        self.assertFalse(lowerRun("buildlinuxamd64releaseartifactsv2"))

    def test_numberedKeyAndAppPassword(self) -> None:
        self.assertTrue(numberedKey("12-" + _random("n", 64)))
        self.assertFalse(numberedKey("12-" + "ab" * 32))
        self.assertTrue(appPassword("vzqhlxkunrqjlthw"))
        self.assertFalse(appPassword("passwordpassword"))
        self.assertFalse(appPassword("correcthorsebatt"))

    def test_linear(self) -> None:
        """
        The new and changed patterns stay linear on 100 KB written to be
        their worst case (each under 50 ms).
        """
        inputs = (
            "xoxb-" + "1-" * 50_000,
            "xoxe." * 20_000,
            "hooks.slack.com/services/" + "a/" * 50_000,
            "curl " + "\\\n" * 50_000,
            "curl -u " + ":" * 100_000,
            " 1-" * 33_000,
            "1000." + "a" * 100_000,
            "dp.st." + "a." * 50_000,
            "1" * 100_000,
            "token .=" * 12_000,
            "x" * 100_000,
        )
        patterns = [re.compile(r.confirm or r.pattern, 0 if not r.caseless else re.I) for r in R.SECRET_RULES
                    if r.name in ("slack_token", "slack_webhook", "numbered_api_key", "zoho_token", "doppler_token", "facebook_token",
                                  "stripe_key", "infracost_key")]
        # (user_password: the alternative this round changed, curl's -u after
        # line continuations; its other alternatives are as slow as before)
        changed = [r.pattern for r in R.SECRET_RULES if r.name == "user_password"][0].split("{6,}|", 1)[0] + "{6,}"
        patterns.append(re.compile(changed, re.I))
        self.assertGreaterEqual(len(patterns), 9)
        assertLinear(self, patterns, inputs)
        for f in (wordValue, slackToken, lowerRun, numberedKey, appPassword, sequence):
            for text in inputs:
                self.assertLess(bestTime(f, text), 0.05, (f.__name__, text[:20]))


class PropertyTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.steps = mediumSteps()

    @settings(max_examples=40, deadline=None)
    @given(
        body=st.text(_LOWER, min_size=24, max_size=48).filter(lowerRun),
        vendor=st.sampled_from(("sk", "rk", "acme", "shltm", "orb")),
        mode=st.sampled_from(("live", "test", "prod")),
        place=st.sampled_from(("{t}", "key: {t}", "KEY='{t}'", '"api_key": "{t}"', "curl -H 'X-Key: {t}' https://api.example.net")),
    )
    def test_lowercaseBodyAfterMode(self, body: str, vendor: str, mode: str, place: str) -> None:
        """
        A vendor key whose body is random lowercase letters and digits is
        found after any mode, wherever it sits.
        """
        text = place.format(t=f"{vendor}_{mode}_{body}")
        found = rules(verdict(self.steps, call("create_gist", content=text)))
        self.assertTrue(found & {f"{EXFIL}.prefixed_token", f"{EXFIL}.assigned_secret", f"{EXFIL}.stripe_key"}, text)

    @settings(max_examples=30, deadline=None)
    @given(words=st.lists(st.sampled_from(("Sales", "Results", "Vector", "Order", "Summary", "Profile", "Index", "Cache")), min_size=2, max_size=3),
           number=st.integers(0, 99), sep=st.sampled_from(("_", "-", "")), dotted=st.booleans())
    def test_wordsStaySilent(self, words: list[str], number: int, sep: str, dotted: bool) -> None:
        """
        A value made of words and a small number, assigned to a name that
        says key, passes: up to sixteen characters, or longer with a dot
        (a version); longer values are judged as before.
        """
        value = f"{sep.join(words)}{sep}{number}"
        if dotted:
            value += ".1"
        elif len(value) > 16:
            value = value[-16:].lstrip("_-")
        text = f"bucketKey = '{value}'"
        self.assertEqual(rules(verdict(self.steps, call("create_gist", content=text))), set(), text)
