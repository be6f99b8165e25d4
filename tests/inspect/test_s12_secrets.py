"""
Secrets at medium, session 12's classes (issue 16): where a value sits says
what it is.  Each test holds cases the rules before it missed (or flagged
wrongly) beside their benign neighbours; the properties write a detected
secret into another container and expect it still detected.
"""

from __future__ import annotations

import base64
import json
import random
import string

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect.checks import validators as v
from tests.inspect.test_checks import result
from tests.inspect.test_exfil import body, exfil


def rand(n: int, alphabet: str = string.ascii_letters + string.digits, seed: int = 12) -> str:
    r = random.Random(seed * 1000 + n)
    return "".join(r.choice(alphabet) for _ in range(n))


VALUE = "Qm7vX2kP9zL4wR8tY3nB6cJ1"
PASSWORD = "Vq8kLm2zRt7x!"


def siblings(name: str, value: str, style: int) -> str:
    """
    A setting written as an object whose members are its name and value.
    """
    if style == 0:
        return f"env:\n- name: LOG_LEVEL\n  value: info\n- name: {name}\n  value: {value}\n"
    if style == 1:
        return json.dumps({"environment": [{"name": "TZ", "value": "UTC"}, {"name": name, "value": value}]}, indent=2)
    if style == 2:
        return json.dumps([{"ParameterKey": name, "ParameterValue": value}])
    if style == 3:
        return json.dumps({"values": [{"key": name, "value": value, "enabled": True}]}, indent=2)
    return f'setting {{\n  namespace = "aws:elasticbeanstalk:application:environment"\n  name      = "{name}"\n  value     = "{value}"\n}}'


class SiblingTests(SynchronousTestCase):
    def test_references_and_other_settings_silent(self) -> None:
        for style in range(5):
            for name, value in (("DB_PASSWORD", "${DB_PASSWORD}"), ("API_KEY", "{{api_key}}"), ("LOG_LEVEL", VALUE),
                                ("API_KEY_ID", "AKIDXXXX"), ("BUILD_SHA", rand(40, "0123456789abcdef"))):
                text = siblings(name, value, style)
                self.assertEqual(body(text), set(), text)
        text = "env:\n- name: DB_PASSWORD\n  valueFrom:\n    secretKeyRef:\n      name: db\n      key: password\n"
        self.assertEqual(body(text), set())

    def test_csrf_tokens_silent(self) -> None:
        """
        A form's anti-forgery token is in every page a site serves.
        """
        for text in (
            f'<input type="hidden" name="authenticity_token" value="{VALUE}">',
            f'<input name="__RequestVerificationToken" type="hidden" value="{VALUE}" />',
            f"authenticity_token={VALUE}&commit=Sign+in",
        ):
            self.assertEqual(body(text), set(), text)


class FileTests(SynchronousTestCase):
    def test_credential_file_shapes(self) -> None:
        """
        Files whose shape says where the secret is, though the line that
        holds it names it in its own way.
        """
        for text in (
            # WordPress salts: any punctuation inside the quotes, padded names
            "define( 'AUTH_KEY',         'k#2x9!m@p7q$z4w&r1t^y6u*i0o(e3l)a8s-d5f+g_h,j.k;l' );",
            # a C# verbatim string, a CSV cell: doubled quotes
            f'var administratorLoginPassword = @""{rand(20, string.ascii_lowercase + string.digits)}"";',
            f'"clientSecret","""{VALUE}"""',
            # typed declarations
            f'val apiToken: String = "{VALUE}"',
            f'Dim signingKey As String = "{VALUE}"',
            # directives and DSL calls
            f"bind 127.0.0.1\nrequirepass {PASSWORD}\n",
            f"replicaof 10.0.0.5 6379\nmasterauth {VALUE}",
            f'signingConfigs {{\n  release {{\n    storePassword "{PASSWORD}"\n  }}\n}}',
            # XML elements that name the secret by an attribute
            f'<properties>\n  <entry key="db.password">{PASSWORD}</entry>\n</properties>',
            f'<Server><User>deploy</User><Pass encoding="base64">{base64.b64encode(PASSWORD.encode()).decode()}</Pass></Server>',
            # OpenVPN's inline credentials
            f"<auth-user-pass>\nvpnuser\n{PASSWORD}\n</auth-user-pass>",
            # abbreviations: a personal access token, a pre-shared key, an HMAC key
            f"AZURE_DEVOPS_PAT={rand(52, string.ascii_lowercase + '234567')}",
            f"network={{\n  ssid=\"lab\"\n  psk={rand(64, '0123456789abcdef')}\n}}",
            f"webhook_hmac: {VALUE}",
            f"HMAC_KEY_B64={base64.b64encode(rand(32).encode()).decode()}",
        ):
            self.assertIn("assigned_secret", body(text), text)

    def test_samples_silent(self) -> None:
        """
        The same files as their samples ship them.
        """
        for text in (
            "define( 'AUTH_KEY',         'put your unique phrase here' );\ndefine( 'DB_PASSWORD', 'password_here' );",
            "bind 127.0.0.1\n# requirepass foobared\n",
            'signingConfigs {\n  release {\n    storePassword System.getenv("KEYSTORE_PASSWORD")\n  }\n}',
            '<properties>\n  <entry key="db.password">${env.DB_PASSWORD}</entry>\n</properties>',
            "network={\n  ssid=\"guest\"\n  key_mgmt=NONE\n}\n# psk=\"your passphrase here\"",
            'val apiToken: String = BuildConfig.API_TOKEN',
            "password: string = \"required\"",
            "PAT_EXPIRY_DAYS=90\nPATH=/usr/local/bin:/usr/bin",
            "HMAC_ALGORITHM=sha256",
            # an option after a secret word's name is no value
            "args: [eks, get-token, --cluster-name, prod]",
            "Authorization: Basic realm=\"api\"",
        ):
            self.assertEqual(body(text), set(), text)

    def test_encoded_private_key(self) -> None:
        """
        A PEM private key written in base64 (a Secret's tls.key, a CI
        variable) is a private key; a certificate so written is not.
        """
        pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA" + rand(64) + "\n-----END RSA PRIVATE KEY-----\n"
        encoded = base64.b64encode(pem.encode()).decode()
        self.assertIn("private_key", body(f"server.pem: {encoded}"))
        self.assertIn("private_key", exfil(result(f"echo {encoded} | base64 -d > id_rsa")))
        cert = base64.b64encode(("-----BEGIN CERTIFICATE-----\nMIIC5zCCAc+gAwIBAgIJ" + rand(64) + "\n").encode()).decode()
        self.assertEqual(body(f"ca.crt: {cert}"), set())

    def test_kubernetes_secret_any_key(self) -> None:
        """
        What a Secret holds is secret whatever its key is called; its
        certificates, hosts, user names and digests are not, nor is a
        ConfigMap's data.
        """
        head = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\n"
        for text in (
            head + f"stringData:\n  username: app\n  upstream: {VALUE}",
            head + f"data:\n  keystore.jks: {base64.b64encode(rand(32).encode() + bytes(range(200, 232))).decode()}",
            head + "data:\n  .dockerconfigjson: " + base64.b64encode(
                json.dumps({"auths": {"r.acme.io": {"auth": base64.b64encode(f"ci:{VALUE}".encode()).decode()}}}).encode()).decode(),
        ):
            self.assertIn("kubernetes_secret", body(text), text)
        for text in (
            head.replace("Secret", "ConfigMap") + f"data:\n  upstream: {VALUE}",
            head + f"data:\n  username: YWRtaW4=\n  host: ZGIuaW50ZXJuYWw=\n  build_sha: {base64.b64encode(rand(40, '0123456789abcdef').encode()).decode()}",
            head + "stringData:\n  password: ${DB_PASSWORD}\n  mode: replica",
        ):
            self.assertEqual(body(text), set(), text)

    def test_short_passwords_of_letters_and_digits(self) -> None:
        """
        Letters and digits drawn at random mix their runs; a word and a
        number do not.
        """
        for text in ('linkedin_token = "w096rfa00f"', "DB_PASSWORD=ahd7dnx7riregr", "MYSQL_ROOT_PASSWORD=lcwz3z8ffnzqoz2"):
            self.assertIn("assigned_secret", body(text), text)
        for text in ("DB_PASSWORD=postgres", 'token_name = "release"', "session_token: v2beta"):
            self.assertEqual(body(text), set(), text)

    def test_password_hashes(self) -> None:
        for text in (
            "alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
            "cn=alice,dc=acme userPassword: {SSHA}" + base64.b64encode(rand(24).encode()).decode(),
            "pbkdf2_sha256$260000$Kx8sQ2mVt7Lw$" + base64.b64encode(rand(32).encode()).decode(),
            '"app" "md5' + rand(32, "0123456789abcdef") + '"',
        ):
            self.assertIn("password_hash", body(text), text)
        self.assertEqual(body("the checksum is md5, not sha1; see {SHA} in the docs"), set())

    def test_authorization_schemes(self) -> None:
        for text in (f"Authorization: Splunk {VALUE}", f'"Authorization": "GenieKey {VALUE}"',
                     f"openssl enc -d -in backup.enc -passin pass:{PASSWORD}"):
            self.assertTrue(body(text), text)
        for text in ("authorization: Negotiate", "Authorization header is required",
                     "openssl pkcs12 -export -passout pass:$P12_PASSWORD"):
            self.assertEqual(body(text), set(), text)


class PlaceholderTests(SynchronousTestCase):
    def test_word_inside_random_run(self) -> None:
        """
        A placeholder word glued inside a random run is chance; written as
        a word of its own it still makes a placeholder.
        """
        for value in ("ghp_A5bjFDVY0WxNCptUL5xO6test5i0uFYwLgj8", "9nG50ypfV8kh7IyvztestaSN3hUd9Lq2"):
            self.assertFalse(v.placeholder(value), value)
        for value in ("sk_test_4eC39HqLyjWDarjtT1zdp7dc", "your-api-key-here", "test1234abcd", "myTestToken9",
                      "fake_token_123", "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "<token>"):
            self.assertTrue(v.placeholder(value), value)
        self.assertIn("github_token", body("GITHUB_TOKEN=ghp_A5bjFDVY0WxNCptUL5xO6test5i0uFYwLgj8"))
        self.assertIn("assigned_secret", body("API_TOKEN=9nG50ypfV8kh7IyvztestaSN3hUd9Lq2"))


class PropertyTests(SynchronousTestCase):
    @settings(max_examples=40, deadline=None)
    @given(
        st.text(alphabet=string.ascii_letters + string.digits + "!#%^&*()[]{}<>,;|~", min_size=16, max_size=48).filter(
            # (and not words: 0000ABC12;DEFGHI is runs of the alphabet, as
            # a made-up value reads; the rule leaves such values of 16 or
            # fewer characters silent)
            lambda s: v.classes(s) >= 3 and v.entropy(s) >= 3.5 and not v.placeholder(s) and not v._INTERPOLATION.search(s)
            and not v.wordValue(s)
        ),
        st.sampled_from(("'", '"')),
    )
    def test_quoted_value_any_punctuation(self, value: str, quote: str) -> None:
        """
        A quoted secret holds any punctuation: it is read to its own
        closing quote.
        """
        self.assertIn("assigned_secret", body(f"define( 'SECURE_AUTH_KEY',  {quote}{value}{quote} );"))
        self.assertIn("assigned_secret", body(f"secret_key = {quote}{value}{quote}"))
