"""
Session 16: secrets the rules missed by class on the unsealed parts, at
medium. A password written as a literal under a password's name (quoted
in code or configuration, on an env file's line, quoted after "the
password is") may be a word; a password handed to a credential call by
its place (C{DirectoryEntry(path, user, pw)}, C{NetworkCredential(user,
pw)}); a key without its vendor's prefix, a mode and a random body
(C{test_<hex>}) under a secret's name; Discord tokens of ids issued since
2022 (26 characters of base64 before the first dot); PyPI tokens of
test.pypi.org, and no PyPI token cut short before its signature.

Benign: the words a password field is described with (C{string},
C{required}, C{Passwort}), lists of field names, references, dummies and
placeholders, publishable keys (C{test_pub_}), a token copied cut short.
The values are drawn here, not copied from any corpus.
"""

from __future__ import annotations

import base64
import random
import re

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect.checks import rules as R
from akto_proxy.inspect.checks.validators import passwordLiteral, pypiToken
from tests.inspect.test_checks import call, mediumSteps, rules, verdict
from tests.inspect.test_s15_secrets import SecretCases, _draw, assertLinear, bestTime

EXFIL = "data_exfiltration"
_HEX = "0123456789abcdef"


def _macaroon(location: bytes, seed: str, signed: bool = True) -> str:
    """
    A PyPI token: a version 2 macaroon (location, identifier, one caveat,
    the signature) in base64url after C{pypi-}; C{signed=False} cuts it
    inside its caveat, as a truncated copy reads.
    """
    rng = random.Random(seed)
    ident = "-".join("".join(rng.choice(_HEX) for _ in range(n)) for n in (8, 4, 4, 4, 12)).encode()
    caveat = b'{"permissions": "user", "version": 1}'
    raw = b"\x02\x01" + bytes([len(location)]) + location + b"\x02" + bytes([len(ident)]) + ident + b"\x00"
    raw += b"\x02" + bytes([len(caveat)]) + caveat + b"\x00\x00"
    raw += b"\x06\x20" + bytes(rng.randrange(256) for _ in range(32))
    if not signed:
        raw = raw[:len(raw) - 60]
    return "pypi-" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _hex(seed: str, n: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice(_HEX) for _ in range(n))


def _discord(seed: str) -> str:
    rng = random.Random(seed)
    user = str(rng.randrange(10**18, 2 * 10**18)).encode()  # 19 digits: an id issued since 2022
    head = base64.b64encode(user).decode().rstrip("=")
    return head + "." + _draw(seed + "t", 6) + "." + _draw(seed + "h", 38, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")


#: a WordPress salt as its generator writes them: any printable character
_PRINTABLE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*()-_[]<>~+=,.;:/?|"
_SALT = _draw("salt", 30, _PRINTABLE) + "{{" + _draw("salt2", 32, _PRINTABLE)

# (rule, text)
SECRETS = [
    # a password literal under a password's name: words and weak ones too
    ("assigned_secret", 'db_password = "hollow-kite"'),
    ("assigned_secret", 'const smtpPassword = "violetmoss";'),
    ("assigned_secret", "  password: 'quillfern'"),
    ("assigned_secret", '{"user": "ana", "password": "marble-otter"}'),
    ("assigned_secret", "$db_pass = 'hollowbrook';"),
    ("assigned_secret", "MAILER_PASSWORD=copperkite"),
    ("assigned_secret", "# ADMIN_PASS=copperkite"),
    ("assigned_secret", "services:\n  db:\n    environment:\n      MYSQL_PASSWORD: quietharbor\n"),
    ("assigned_secret", "The router's default password is 'lanternfish'."),
    # a password handed to a credential call by its place
    ("user_password", 'var entry = new DirectoryEntry("LDAP://dc.corp.example", "CORP\\\\svc", "Tr0uble42");'),
    ("user_password", 'new NetworkCredential("svc-backup", "amberwolf")'),
    # a key without its vendor's prefix: a mode and a random body
    ("assigned_secret", "billing.api_key = test_" + _hex("lob", 35)),
    ("assigned_secret", '"payments_token": "test_' + _draw("mode", 30) + '"'),
    # Discord bot tokens of ids past 10^18
    ("discord_token", "client.run('" + _discord("d1") + "')"),
    ("discord_token", "DISCORD " + _discord("d2")),
    # PsExec's -p, a .netrc entry: the flag or the keyword says password
    ("user_password", "psexec \\\\fileserver -u CORP\\ops -p lanternfish cmd /c dir"),
    ("assigned_secret", "machine git.example.net\n  login deploy\n  password hollowbrook\n"),
    # a Google API key ending in a dash; a version as a token's mode
    ("google_api_key", 'apiKey="AIza' + _draw("g", 34) + '-"'),
    ("prefixed_token", "acme_v2_" + _draw("v2", 24)),
    # a generated password starting with a sign, a salt holding {{ by chance
    ("assigned_secret", "| SMTP_PASSWORD | &9fQ2#xLr7!kTz4@Wm |"),
    ("assigned_secret", "define( 'AUTH_SALT', '" + _SALT + "' );"),
    # PyPI tokens of test.pypi.org
    ("pypi_token", "password = " + _macaroon(b"test.pypi.org", "tp")),
    ("pypi_token", "twine upload -p " + _macaroon(b"test.pypi.org", "tp2") + " dist/*"),
]

BENIGN = [
    # the words a password field is described with, labels, lists of names
    'password: "string"',
    '"password": "required"',
    '"password": "Passwort",',
    "password_confirmation = 'confirmed'",
    "fields = ['username', 'password', 'repository']",
    "self.assertEqual(methods, [b'password', b'publickey'])",
    'passphrase="unassigned text here"',
    # references, dummies, placeholders, defaults of example services
    'password = os.environ["DB_PASSWORD"]',
    "password = getpass.getpass()",
    "password = user_password",
    'password = "aaaaaaaa"',
    "POSTGRES_PASSWORD=postgres",
    "    environment:\n      POSTGRES_PASSWORD: postgres\n",
    "class Settings(BaseSettings):\n    DB_PASSWORD: SecretStr\n",
    "PASSWORD=changeme",
    'password: "${DB_PASS}"',
    "the password is 'incorrect'",
    "Your password is 'expired'",
    # a publishable key, an example value, a mode and words
    "lob_token: test_pub_" + _hex("pub", 31),
    "api_key = test_my_example_key_for_the_docs",
    # variables after PsExec's -p and in a .netrc, ids and references
    "psexec \\\\host -u CORP\\ops -p %OPS_PW% cmd",
    "psexec \\\\host -u ops -p $Password cmd",
    "machine api.example.com login me password $API_TOKEN",
    "call get_v2_ValidateUserInputFieldsNow",
    "token: @Value",
    "secret: &defaults",
    "db_secret = '{{.Values.database.credentials.secretKeyRef}}'",
    # a PyPI token cut short before its signature (documentation, a log)
    _macaroon(b"pypi.org", "cut", signed=False),
    _macaroon(b"test.pypi.org", "cut2", signed=False),
]


class SecretClassTests(SecretCases, SynchronousTestCase):
    secrets = SECRETS
    benign = BENIGN


class ValidatorTests(SynchronousTestCase):
    def test_passwordLiteral(self) -> None:
        """
        A literal a password's name is given is a password although a word,
        not when it describes the field, is a label, a dummy or a reference.
        """
        for value in ("whiteduke", "super$ecret", "team10x", "dev_admin"):
            self.assertTrue(passwordLiteral(value), value)
        for value in ("string", "required", "Kennwort", "changeme", "password123", "${PW}", "aaaaaa", "a.b.c", "Contraseña", "root1"):
            self.assertFalse(passwordLiteral(value), value)

    def test_pypiToken(self) -> None:
        """
        A PyPI token is one unless it reads as a macaroon cut before its
        signature; a body that does not read as one is judged a token.
        """
        self.assertTrue(pypiToken(_macaroon(b"pypi.org", "a")))
        self.assertFalse(pypiToken(_macaroon(b"pypi.org", "a", signed=False)))
        self.assertTrue(pypiToken("pypi-AgEIcHlwaS5vcmc" + _draw("r", 60)))

    def test_linear(self) -> None:
        """
        The changed confirmations stay linear on 100 KB written to be their
        worst case (each under 50 ms).
        """
        inputs = (
            "password = " + '"' * 100_000,
            "password is " * 8_000,
            'DirectoryEntry("' + '", "' * 25_000,
            "pypi-AgENdGVzdC5weXBpLm9yZw" + "A" * 100_000,
            "MTAy" * 25_000,
            "machine " * 12_500,
            "psexec -p " * 10_000,
            "AIza" + "-" * 100_000,
            "x" * 100_000,
        )
        compiled = [(r, re.compile(r.confirm or r.pattern, re.M | re.A | (re.I if r.caseless else 0))) for r in R.SECRET_RULES
                    if r.name in ("pypi_token", "discord_token", "user_password", "google_api_key", "prefixed_token")
                    or r.validator in ("assigned_secret", "netrc_password") and r.name == "assigned_secret"]
        # (the first assigned_secret confirmation, whose value may now take
        # its closing quote, and user_password's, one more call among many,
        # took 60-140 ms on these before this session on a loaded machine:
        # their ceiling is 500 ms, and twice the input takes about twice as
        # long)
        first = next(p for r, p in compiled if r.name == "assigned_secret")
        big = [p for r, p in compiled if p is first or r.name == "user_password"]
        self.assertTrue(any(r.validator == "netrc_password" for r, _ in compiled))
        assertLinear(self, [p for _, p in compiled if p not in big], inputs)
        assertLinear(self, big, inputs, limit=0.5)
        short, long = ('password:' + '"a' * 50_000), ('password:' + '"a' * 100_000)
        self.assertLess(bestTime(lambda t: list(first.finditer(t)), long), 4 * bestTime(lambda t: list(first.finditer(t)), short) + 0.02)
        self.assertGreaterEqual(len(compiled), 6)


class PropertyTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.steps = mediumSteps()

    @settings(max_examples=40, deadline=None)
    @given(
        word=st.from_regex(r"[a-z]{4,9}[0-9$!#]{0,2}[a-z]{2,6}", fullmatch=True).filter(passwordLiteral),
        place=st.sampled_from(('password = "{p}"', "DB_PASSWORD={p}", '"smtp_password": "{p}"', "pwd: '{p}'",
                               "$password = '{p}';", 'NetworkCredential("svc", "{p}")')),
    )
    def test_passwordLiteralAnywhere(self, word: str, place: str) -> None:
        """
        A password literal is found in every way code and configuration
        write one.
        """
        text = place.format(p=word)
        found = rules(verdict(self.steps, call("create_gist", content=text)))
        self.assertTrue(found & {f"{EXFIL}.assigned_secret", f"{EXFIL}.user_password"}, text)
