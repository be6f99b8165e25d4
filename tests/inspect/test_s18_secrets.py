"""
Session 18: secrets the rules missed by class on the unsealed sixth,
fifth and fresh parts, at medium. The literal a secret's variable falls
back to when it is unset (C{process.env.API_KEY || "V"}, C{os.environ.get(
"PASSWORD") or "V"}, C{env("SECRET_KEY", default="V")}, the shell's
C{${DB_PASSWORD:-V}}); a variable set by a command that takes its name and
value as words, the name quoted (C{setx "NAME" "V"}); PowerShell's
C{ConvertTo-SecureString} given the plain text; a private key's DER in
base64 with no PEM armour (PKCS#1, PKCS#8, SEC1, Ed25519); a token as a
URL's whole userinfo (C{https://<token>@github.com/...}); a SonarQube
login as a property's name and value; a Java properties line holding a
password (C{spring.datasource.password=V}, Play's C{db.default.password});
vendors' shapes (DeepSeek's C{sk-} and 32 hexadecimal digits, Infura's
project key in its URL, Code Climate's test reporter id).

Benign: the same places given a word, a placeholder, a variable, an empty
value; public keys and certificates in base64; a Sentry DSN's public key and
a user name as userinfo; code that assigns a variable.
The values are drawn or generated here, not copied from any corpus.
"""

from __future__ import annotations

import base64
import re

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect.checks import rules as R
from akto_proxy.inspect.checks.validators import defaultSecret, secureString, setVariable, urlToken
from tests.inspect.test_s15_secrets import _B64, SecretCases, _draw, assertLinear, bestTime

_HEX = "0123456789abcdef"
_Private = serialization.PrivateFormat
_DER = serialization.Encoding.DER


def _b64(der: bytes) -> str:
    return base64.b64encode(der).decode()


def _private(key: object, form: "serialization.PrivateFormat") -> str:
    return _b64(key.private_bytes(_DER, form, serialization.NoEncryption()))  # type: ignore[attr-defined]


def _publicAndCertificate() -> tuple[str, str]:
    """
    A public key (SubjectPublicKeyInfo) and a self-signed certificate, each
    in base64 DER: what a page or a config shows beside keys.
    """
    import datetime

    from cryptography import x509
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "example.test")])
    now = datetime.datetime(2026, 1, 1)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256())
    )
    rsaPublic = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    spki = rsaPublic.public_bytes(_DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return _b64(spki), _b64(certificate.public_bytes(_DER))


_RSA = rsa.generate_private_key(public_exponent=65537, key_size=1024)
_EC256 = ec.generate_private_key(ec.SECP256R1())
_EC384 = ec.generate_private_key(ec.SECP384R1())
_EC521 = ec.generate_private_key(ec.SECP521R1())
_ED25519 = ed25519.Ed25519PrivateKey.generate()
_HEX40 = _draw("hex40", 40, _HEX)

# (rule, text)
SECRETS = [
    # the literal a secret's variable falls back to
    ("assigned_secret", 'const accountKey = process.env.ACCOUNT_KEY || "' + _draw("ak", 86, _B64) + '==";'),
    ("assigned_secret", "SONAR_TOKEN: process.env.SONAR_TOKEN ?? '" + _HEX40 + "',"),
    ("assigned_secret", 'DB_PASSWORD = os.environ.get("DB_PASSWORD") or "Xq7mKp2Lz!"'),
    ("assigned_secret", 'SECRET_KEY = env("SECRET_KEY", default="' + _draw("dj", 50, _B64 + "!@#$%^&*(-_=+)") + '")'),
    ("assigned_secret", "DATABASE_URL: postgresql://${DB_USER:-app}:${DB_PASSWORD:-" + _draw("shell", 16) + "}@${DB_HOST:-db}:5432/app"),
    # a variable set by a command that takes name and value as words
    ("assigned_secret", 'setx "SONAR_TOKEN" "' + _HEX40 + '"'),
    ("assigned_secret", 'setx "DB_PASSWORD" "Xq7mKp2Lz!"'),
    # ConvertTo-SecureString given the plain text
    ("assigned_secret", '$c = New-Object PSCredential("svc", (ConvertTo-SecureString -String "Rt4kLm9Qa#2" -AsPlainText -Force))'),
    ("assigned_secret", "ConvertTo-SecureString -AsPlainText -Force Vb8nQ2wEk4"),
    # a private key's DER in base64, no PEM armour
    ("private_key", 'String key = "' + _private(_RSA, _Private.TraditionalOpenSSL) + '";'),
    ("private_key", "key: " + _private(_RSA, _Private.PKCS8)),
    ("private_key", "const ec = '" + _private(_EC256, _Private.TraditionalOpenSSL) + "'"),
    ("private_key", _private(_EC384, _Private.TraditionalOpenSSL)),
    ("private_key", _private(_EC521, _Private.TraditionalOpenSSL)),
    ("private_key", _private(_EC256, _Private.PKCS8)),
    ("private_key", "ed25519=" + _private(_ED25519, _Private.PKCS8)),
    # a token as a URL's whole userinfo
    ("url_token", "git clone https://" + _HEX40 + "@github.com/acme/app.git"),
    ("url_token", "remote: https://" + _draw("ut", 36) + "@gitlab.example.net/acme/app"),
    # a SonarQube login as a property's name and value
    ("sonar_token", '<property name="sonar.login" value="' + _HEX40 + '" />'),
    ("sonar_token", "- name: SONAR_LOGIN\n  value: " + _HEX40),
    # a Java properties line holding a password; Play's default database
    ("assigned_secret", "spring.datasource.url=jdbc:postgresql://db/app\nspring.datasource.password=harbourlights"),
    ("assigned_secret", 'db.default.password="Vb8#nQ2wE"'),
    # vendors' shapes
    ("deepseek_key", "use sk-" + _draw("ds", 32, _HEX) + " for the deploy"),
    ("infura_key", "provider = 'https://mainnet.infura.io/v3/" + _draw("inf", 32, _HEX) + "'"),
    ("codeclimate_reporter_id", "env:\n  CC_TEST_REPORTER_ID: " + _draw("cc", 64, _HEX)),
]

_SPKI, _CERTIFICATE = _publicAndCertificate()

BENIGN = [
    # defaults that are empty, words, placeholders or references
    'const apiKey = process.env.API_KEY || "";',
    'const token = process.env.TOKEN || "changeme";',
    "const password = process.env.DB_PASSWORD || 'postgres';",
    'PASSWORD = os.environ.get("PASSWORD") or "secret"',
    'SECRET_KEY = env("SECRET_KEY", default="django-insecure-change-me")',
    "password: ${POSTGRES_PASSWORD:-postgres}",
    "image: ${REGISTRY_TOKEN:-}",
    'const key = options.key ?? "default-key-name";',
    'if token or "anonymous":',
    # commands given a path, a variable, a word
    'setx PATH "%PATH%;C:\\bin"',
    'setx API_KEY "%MY_KEY%"',
    "setenv SECRET_KEY changeme",
    "$s = Read-Host | ConvertTo-SecureString -AsPlainText -Force",
    "ConvertTo-SecureString -String $env:PW -AsPlainText -Force",
    "$k = ConvertTo-SecureString -Key $key",
    # public keys and certificates in base64 DER; a key cut short
    _SPKI,
    _CERTIFICATE,
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC...",
    # userinfo that is a DSN's public key, a user's name, a placeholder
    "https://" + _draw("sentry", 32, _HEX) + "@o123456.ingest.sentry.io/42",
    "git clone https://deploy-bot-account-user@github.com/org/repo.git",
    "https://mainnet.infura.io/v3/YOUR_PROJECT_ID",
    # properties given references and words; code that assigns a variable
    "mail.smtp.password=${MAIL_PASSWORD}",
    "spring.datasource.password=postgres",
    "this.user.password=newPass;",
    'db.default.url="jdbc:h2:mem:play"',
    '<property name="sonar.login" value="${env.SONAR_TOKEN}" />',
]


class SecretClassTests(SecretCases, SynchronousTestCase):
    secrets = SECRETS
    benign = BENIGN


class ValidatorTests(SynchronousTestCase):
    def test_defaultSecret(self) -> None:
        """
        A default is judged as a value that must look drawn: a word, an
        empty value or a name that says nothing secret stay silent.
        """
        self.assertTrue(defaultSecret('API_KEY || "' + _draw("d", 32) + '"'))
        self.assertTrue(defaultSecret("${DB_PASSWORD:-Xq7mKp2Lz!}"))
        self.assertFalse(defaultSecret("${DB_PASSWORD:-postgres}"))
        self.assertFalse(defaultSecret('ACCOUNT_NAME || "' + _draw("d", 32) + '"'))

    def test_urlToken(self) -> None:
        self.assertTrue(urlToken("https://" + _HEX40 + "@github.com/o/r"))
        self.assertFalse(urlToken("https://" + _draw("s", 32, _HEX) + "@o1.ingest.sentry.io/1"))
        self.assertFalse(urlToken("https://continuous-integration-bot@github.com/o/r"))

    def test_linear(self) -> None:
        """
        The new and changed patterns, their confirmations and the
        validators' readers stay linear on 100 KB written to be their worst
        case (each under 50 ms).
        """
        inputs = (
            "key" * 33_000,
            "${" + "a" * 100_000,
            "${a_key" * 14_000,
            'password")' * 10_000,
            "token ||" * 12_000,
            "secret" + " " * 100_000 + "||",
            "setx " * 20_000,
            "setx a" + " " * 100_000,
            "ConvertTo-SecureString -Force" * 3_500,
            "://" + "a" * 100_000,
            "://a" * 25_000,
            "MIIEvQIBADAN" * 8_000,
            "sonar.login" + " " * 100_000,
            "a.b.c=" + "x" * 100_000,
            "a." * 50_000,
            "x" * 100_000,
        )
        names = ("private_key", "url_token", "sonar_token", "deepseek_key", "infura_key", "codeclimate_reporter_id")
        validators = ("default_secret", "set_variable", "secure_string")
        compiled = [re.compile(r.confirm or r.pattern, re.M | re.A | (re.I if r.caseless else 0)) for r in R.SECRET_RULES
                    if r.name in names or r.validator in validators]
        self.assertGreaterEqual(len(compiled), 10)
        assertLinear(self, compiled, inputs)
        for judge in (defaultSecret, setVariable, secureString, urlToken):
            for text in inputs:
                self.assertLess(bestTime(judge, text), 0.05, (judge.__name__, text[:20]))
