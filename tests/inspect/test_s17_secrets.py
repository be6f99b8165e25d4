"""
Session 17: secrets the rules missed by class on the unsealed fifth part,
at medium. A short password drawn at random after a password's name, bare
C{pw} and C{pass} too, in a note or a chat line (C{id:ops pw:Xq7mKp2Lz!},
C{(pass:Rt4#kLm9)}); a password's name misspelt or run together
(C{PSWD}, C{PSSWRD}, C{MYSQLPASS}, C{$dbpasswd} given a word); a key named
by two words in prose (C{access key: V}); the options that take a secret
itself (C{gpg --passphrase}, C{curl --oauth2-bearer}); FileZilla's base64
password whose text ends in a line break; vendors' shapes the rules did
not know (Docker Swarm's join tokens and unlock key, GitLab's runner
registration tokens and session cookie, Heroku's UUID keys, LlamaCloud,
Instagram, Postman's PMAT, New Relic's browser keys, Alibaba's 16-character
access key ids, AWS Bedrock's short-term keys).

Benign: bare C{pass}/C{pw} given a number, a word, a version, a flag, a
reference; English words ending in "pass" (C{bypass}, C{highpass}); a key
phrase naming a file; the options given a variable or a file.
The values are drawn here, not copied from any corpus.
"""

from __future__ import annotations

import base64
import re

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect.checks import rules as R
from akto_proxy.inspect.checks.validators import drawnPassword, keyPhrase, secretName
from tests.inspect.test_checks import call, mediumSteps, rules, verdict
from tests.inspect.test_s15_secrets import SecretCases, _draw, assertLinear

EXFIL = "data_exfiltration"
_LOWER36 = "abcdefghijklmnopqrstuvwxyz0123456789"
_HEX = "0123456789abcdef"
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _uuid(seed: str) -> str:
    h = _draw(seed, 32, _HEX)
    return "-".join((h[:8], h[8:12], h[12:16], h[16:20], h[20:]))


# (rule, text)
SECRETS = [
    # a short password drawn at random after a password's name, in a note
    ("assigned_secret", "id:ops pw:Xq7mKp2Lz!"),
    ("assigned_secret", "wifi guest (PW:Rt4kLm9Qa)"),
    ("assigned_secret", "user=deploy,pass=Vb8#nQ2wE"),
    ("assigned_secret", "server 10.0.0.7 login admin pass:Hj5Tq9Lx"),
    ("assigned_secret", "password: !Kw3Ne8Pz"),
    ("assigned_secret", 'openssl pkcs12 -export -passout "pass:Zm4Yq8Rb" -out a.p12'),
    # a password's name misspelt or run together
    ("assigned_secret", "PSWD:=Gq7TeWbNz4Km"),
    ("assigned_secret", "db_pswrd = 'Nk5Rw8Tq2Lm'"),
    ("assigned_secret", "MYSQLPASS: " + _draw("mysqlpass", 24)),
    ("assigned_secret", "$dbpasswd = 'lantern77';"),
    # a key named by two words in prose, then its value
    ("assigned_secret", "Access key: " + _draw("ak", 16)),
    ("assigned_secret", "my SECRET KEY = " + _draw("sk", 15)),
    # options that take the secret itself
    ("user_password", "gpg --batch --passphrase Tq8Lm2Vx9K --symmetric notes.txt"),
    ("user_password", '  --oauth2-bearer "' + _draw("bearer", 22) + '==" \\'),
    # FileZilla's base64 password, its text ending in a line break
    ("assigned_secret", '<Pass encoding="base64">' + base64.b64encode((_draw("fz", 24) + "\n").encode()).decode() + "</Pass>"),
    # vendors' shapes
    ("docker_swarm_token", "docker swarm join --token SWMTKN-1-" + _draw("swm", 50, _LOWER36) + "-" + _draw("swm2", 25, _LOWER36) + " 10.0.0.1:2377"),
    ("docker_swarm_token", "Unlock key: SWMKEY-1-" + _draw("swk", 43, _B64)),
    ("gitlab_token", "glrtr-" + _draw("glrtr", 20)),
    ("gitlab_token", "Cookie: _gitlab_session=" + _draw("gls", 32, _HEX)),
    ("heroku_key", "HEROKU_API_KEY=HRKU-" + _uuid("hrku")),
    ("llamacloud_key", 'api_key="llx-' + _draw("llx", 48) + '"'),
    ("instagram_token", "IGQVJ" + _draw("ig", 140)),
    ("postman_key", "PMAT-" + _draw("pmat", 26, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")),
    ("newrelic_key", "NREUM.info={licenseKey:'NRBR-" + _draw("nrbr", 19, _HEX) + "'}"),
    ("alibaba_key", "client(LTAI" + _draw("ltai", 12) + ", secret)"),
    ("aws_bedrock_key", "AWS_BEARER_TOKEN_BEDROCK=bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t" + _draw("br", 120, _B64)),
]

BENIGN = [
    # bare pass and pw given numbers, words, versions, flags and references
    "tests pass:3 fail:0",
    "PASS: 12/15",
    "pass: true",
    "pass:[<u>underlined</u>]",
    "pw: getUser2",
    "pass: v1.2.3-RC",
    "pass=Summer2024!",
    "pw:Ab1",
    "password: !Ref DbPassword",
    "password: ${DB_PASS}",
    "password: hashedPassword2",
    "pass: a1b2c3d4",
    # English words and filters ending in "pass"
    "bypass: Xk9mPq2Lz",
    "highpass: 0.5",
    "COMPASS=" + _draw("compass", 24),
    # a key phrase naming a file, a variable, a placeholder
    "encryption key: ./secrets/enc.key",
    "signing key: /etc/keys/sign.pem",
    "API key: required",
    "api key: your-api-key-here",
    "Access key: AccessKeyId",
    "master key: $MASTER_KEY",
    # the options given a variable or a file
    "gpg --passphrase-file /run/secrets/gpg --decrypt backup.gpg",
    'gpg --batch --passphrase "$GPG_PASSPHRASE" -d backup.gpg',
    "curl --oauth2-bearer $TOKEN https://api.example.com/",
    # a Bedrock key's prefix on a wrong host, misspelt names given words
    "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29x",
    "PSWD: string",
]


class SecretClassTests(SecretCases, SynchronousTestCase):
    secrets = SECRETS
    benign = BENIGN


class ValidatorTests(SynchronousTestCase):
    def test_drawnPassword(self) -> None:
        """
        A short password drawn at random mixes three kinds switching often;
        words with a number, identifiers, versions and paths do not.
        """
        for value in ("Xq7mKp2Lz!", "Rt4kLm9Qa", "Vb8#nQ2wE", "!Kw3Ne8Pz"):
            self.assertTrue(drawnPassword(value), value)
        for value in ("Summer2024!", "getUser2", "v1.2.3-RC", "a1b2c3d4", "Ab1", "/usr/Lib2/x", "${PW}", "hashedPassword2"):
            self.assertFalse(drawnPassword(value), value)

    def test_secretName(self) -> None:
        """
        A password's name misspelt or run together says password; English
        words ending in "pass" do not.
        """
        for name in ("PSWD", "pswrd", "PASWORD", "PSSWORD", "MYSQLPASS", "dbpasswd", "rootpass"):
            self.assertTrue(secretName(name), name)
        for name in ("bypass", "COMPASS", "highpass", "renderpass", "pswx"):
            self.assertFalse(secretName(name), name)

    def test_keyPhrase(self) -> None:
        self.assertTrue(keyPhrase("access key: " + _draw("kp", 16)))
        self.assertFalse(keyPhrase("private key: ~/.ssh/id_rsa"))
        self.assertFalse(keyPhrase("access key: required"))

    def test_linear(self) -> None:
        """
        The new and changed patterns stay linear on 100 KB written to be
        their worst case (each under 50 ms; the first assignment rule's
        and user_password's, whose alternations grew, under 500 ms as in
        session 16).
        """
        inputs = (
            "access key" + " " * 100_000,
            "secret key:" * 9_000,
            " --passphrase" * 7_500,
            "--oauth2-bearer " * 6_000,
            "pswd" * 25_000,
            "PSSWRD:=" * 12_000,
            "SWMTKN-1-" + "a" * 100_000,
            "IGQVJ" + "-" * 100_000,
            "x" * 100_000,
        )
        names = ("docker_swarm_token", "llamacloud_key", "instagram_token", "gitlab_token", "heroku_key", "postman_key",
                 "newrelic_key", "alibaba_key", "aws_bedrock_key")
        compiled = [(r, re.compile(r.confirm or r.pattern, re.M | re.A | (re.I if r.caseless else 0))) for r in R.SECRET_RULES
                    if r.name in names or r.validator == "key_phrase"]
        self.assertTrue(any(r.validator == "key_phrase" for r, _ in compiled))
        assertLinear(self, [p for _, p in compiled], inputs)
        big = [re.compile(r.confirm or r.pattern, re.M | re.A | (re.I if r.caseless else 0)) for r in R.SECRET_RULES
               if r.name == "user_password" or (r.name == "assigned_secret" and r.validator == "assigned_secret" and "psk" in r.pattern)]
        self.assertEqual(len(big), 2)
        assertLinear(self, big, inputs, limit=0.5)


class PropertyTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.steps = mediumSteps()

    @settings(max_examples=40, deadline=None)
    @given(
        value=st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#%&*", min_size=8, max_size=16).filter(drawnPassword),
        place=st.sampled_from(("pw:{p}", "(pass:{p})", "user=ops,pass={p}", "PW: {p}", "password:{p}", "PSWD:={p}")),
    )
    def test_drawnPasswordAnywhere(self, value: str, place: str) -> None:
        """
        A password drawn at random is found after a password's name in
        every way a note writes one.
        """
        text = place.format(p=value)
        found = rules(verdict(self.steps, call("post_message", content=text)))
        self.assertIn(f"{EXFIL}.assigned_secret", found, text)
