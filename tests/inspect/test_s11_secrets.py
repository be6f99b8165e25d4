"""
Secrets and contact details at medium, session 11's classes (issue 16): each
test holds cases the rules before it missed (or flagged wrongly), beside
their benign neighbours, and properties: writing a detected secret into
another container keeps it detected.
"""

from __future__ import annotations

import base64
import json
import random
import string

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect.checks import validators as v
from tests.inspect.test_checks import call, result
from tests.inspect.test_exfil import body, exfil


def rand(n: int, alphabet: str = string.ascii_letters + string.digits, seed: int = 11) -> str:
    r = random.Random(seed * 1000 + n)
    return "".join(r.choice(alphabet) for _ in range(n))


HEX = "0123456789abcdef"
VALUE = "Qm7vX2kP9zL4wR8tY3nB6cJ1"
PASSWORD = "Vq8kLm2zRt7x!"


class CliTests(SynchronousTestCase):
    def test_secret_stores(self) -> None:
        """
        A value handed to a command that stores secrets is a secret whatever
        its shape (hex, a UUID, base64).
        """
        for text in (
            f'gh secret set DB_PASSWORD --body "{rand(40, HEX)}"',
            f"gh secret set API_TOKEN -b'{VALUE}' --repo acme/api",
            f"vercel env add ACCESS_TOKEN production <<< {VALUE}",
            f"echo -n '{rand(40, HEX)}' | gh secret set DEPLOY_KEY",
            f"printf '%s' \"{VALUE}\" | wrangler secret put DB_PASSWORD",
            f'echo "{VALUE}" | docker secret create db_password -',
            f"aws secretsmanager create-secret --name prod/db --secret-string '{VALUE}'",
            f"az keyvault secret set --vault-name kv --name db --value '{VALUE}'",
        ):
            self.assertIn("cli_secret", body(text), text)

    def test_references_silent(self) -> None:
        for text in (
            'gh secret set DB_PASSWORD --body "${{ secrets.DB_PASSWORD }}"',
            "gh secret set DB_PASSWORD < secret.txt",
            "echo $TOKEN | gh secret set API_TOKEN",
            "vercel env add API_TOKEN production <<< changeme",
            "gh secret set --help",
            "aws secretsmanager create-secret --name prod/db --secret-string file://secret.json",
        ):
            self.assertEqual(body(text), set(), text)


    def test_client_passwords(self) -> None:
        """
        Clients whose password flag is their own, and calls that take a
        user and a password in turn.
        """
        for text in (
            f"redis-cli -h cache -a '{VALUE}' ping",
            f"ldapsearch -x -D cn=admin,dc=acme -w {VALUE} -b dc=acme",
            f"smbclient //fs/share -U alice%{VALUE}",
            f"htpasswd -b .htpasswd alice {VALUE}",
            f"rabbitmqctl add_user svc '{VALUE}'",
            f"net use Z: \\\\fs\\share /user:ACME\\alice {VALUE}",
            f'new NetworkCredential("alice", "{VALUE}")',
            f'requests.get(url, auth=HTTPBasicAuth("alice", "{VALUE}"))',
            f"echo '{VALUE}' | docker login -u acme --password-stdin",
            f"PGPASSWORD={VALUE} psql -h db -U app",
        ):
            self.assertTrue(body(text), text)
        for text in ("redis-cli -a $REDIS_PASSWORD ping", "htpasswd -c .htpasswd alice", "net use Z: \\\\fs\\share /user:alice",
                     "echo $PASS | docker login -u acme --password-stdin", f"BYPASS_CACHE={VALUE}", f"csrftoken={VALUE}"):
            self.assertEqual(body(text), set(), text)


class ContainerTests(SynchronousTestCase):
    def test_csv_cell(self) -> None:
        self.assertIn("assigned_secret", body(f"name,value\nLOG_LEVEL,info\nCLIENT_SECRET,{VALUE}\n"))
        for text in ("name,value\nTOKEN_TTL,3600\nPORT,8080", "password,confirm_password,email", "key,value\napi_key,<your key>"):
            self.assertEqual(body(text), set(), text)

    def test_kubernetes_secret_data(self) -> None:
        """
        A Secret's data holds base64: the text it decodes to is what is
        judged (a placeholder or a reference stays silent).
        """
        b64 = lambda s: base64.b64encode(s.encode()).decode()  # noqa: E731
        head = "apiVersion: v1\nkind: Secret\ntype: Opaque\ndata:\n"
        self.assertIn("assigned_secret", body(head + f"  db_password: {b64(PASSWORD)}\n"))
        for plain in ("changeme", "${DB_PASSWORD}", "xxxxxxxxxxxx", "{{ secrets.SECRET }}"):
            self.assertEqual(body(head + f"  db_password: {b64(plain)}\n  port: {b64('8080')}"), set(), plain)

    def test_table_prose(self) -> None:
        """
        A table that describes variables is no table of values.
        """
        for text in (
            "| Variable | Description |\n| --- | --- |\n| `DB_PASSWORD` | Database password |",
            " name | description\n------+------------\n SMTP_PASS | Mail relay password\n ENCRYPTION_KEY | 32-byte key, base64",
        ):
            self.assertEqual(body(text), set(), text)
        self.assertIn("assigned_secret", body(f"| name | value |\n|---|---|\n| DB_PASSWORD | {PASSWORD} |"))
        self.assertIn("assigned_secret", body(f" key | value\n-----+------\n TOKEN | {VALUE}\n"))

    def test_placeholders(self) -> None:
        # the next line is no value of a name written as a tag
        for text in ("TOKEN=...\nSECRET=<SECRET>\nAPP_NAME=billing", 'api_key = "(sensitive value)"', 'db_password = "ENC[AES256_GCM,data:Tr7x9Q==,type:str]"',
                     "SECRET_KEY=Database"):
            self.assertEqual(body(text), set(), text)

    def test_connection_strings(self) -> None:
        for text in (
            f"jdbc:oracle:thin:app/{PASSWORD}@db.acme.io:1521:ORCL",
            f"*:*:*:postgres:{VALUE}",
            f'<property name="hibernate.connection.password" value="{VALUE}"/>',
            f'variable "db_password" {{\n  type = string\n  default = "{VALUE}"\n}}',
            "Server=db;Database=orders;User ID=app;Password=%*jHeL%7ZVnFE;Encrypt=True;",
        ):
            self.assertTrue(body(text), text)
        for text in (
            '<property name="passwordEncoder" value="bcryptEncoder"/>',
            'variable "db_password" {\n  type = string\n  default = "changeme"\n}',
            "jdbc:oracle:thin:@db.acme.io:1521:ORCL",
            "Password=%DB_PASSWORD%;",
        ):
            self.assertEqual(body(text), set(), text)


class VendorTests(SynchronousTestCase):
    KEYS = (
        "da2-" + rand(26, string.ascii_lowercase + string.digits),
        "LTAI" + rand(17),
        "apify_api_" + rand(36),
        "FLWSECK-" + rand(32, HEX) + "-X",
        "FLWSECK_TEST-" + rand(32, HEX) + "-X",
        "flb_live_" + rand(20),
        "secret_" + rand(43),
        "ntn_" + rand(11, string.digits) + rand(35),
        "BBFF-" + rand(30),
        "v1.0-" + rand(24, HEX) + "-" + rand(146, HEX),
        "NRRA-" + rand(42, HEX),
        rand(14) + ".atlasv1." + rand(67),
        "dt0s16." + rand(24, string.ascii_uppercase + string.digits) + "." + rand(64, string.ascii_uppercase + string.digits),
        "live_" + rand(36) + "Q7x2",
        "web_" + rand(32, HEX),
        "KEY" + rand(55),
        "xoxr-aKQr2eim",
        "s-s4t2ud-" + rand(64, HEX),
        "github_pat_" + rand(36),
    )

    def test_bare_and_unlabelled(self) -> None:
        for key in self.KEYS:
            for text in (key, f"use {key} for the deploy", f"CONFIG={key}", f"| CONFIG | {key} |"):
                self.assertTrue(body(text), text)
            self.assertTrue(exfil(result(f"value: {key}")), key)

    def test_words_silent(self) -> None:
        for text in (
            "live_stream_configuration_settings_for_prod",
            "xoxb-not-a-real-token",
            "KEY_ROTATION_POLICY_DOCUMENTATION_FOR_ALL_SERVICES_IN_PRODUCTION",
            "web_application_firewall_settings",
            "FLWSECK_TEST-xxxxxxxxxxxx",
            "secret_manager_configuration",
        ):
            self.assertEqual(body(text), set(), text)

    def test_jwt_opaque_claims(self) -> None:
        head = base64.urlsafe_b64encode(json.dumps({"alg": "RS256", "typ": "JWT"}).encode()).decode().rstrip("=")
        payload = base64.urlsafe_b64encode(random.Random(3).randbytes(90)).decode().rstrip("=")
        sig = base64.urlsafe_b64encode(random.Random(4).randbytes(32)).decode().rstrip("=")
        self.assertIn("jwt", body(f"{head}.{payload}.{sig}"))
        # a header that is not a JWT's (no alg) is a dotted identifier
        other = base64.urlsafe_b64encode(b'{"kind": "cursor"}').decode().rstrip("=")
        self.assertNotIn("jwt", body(f"{other}.{payload}.{sig}"))


class ContactTests(SynchronousTestCase):
    def test_email_forms(self) -> None:
        for text in ('mail "john.smith"@acme-corp.io about it', "reach me at alice [at] acme-corp [dot] io",
                     "alice(at)acme-corp(dot)io", "alice {at} acme-corp.io"):
            self.assertIn("email", body(text), text)
        for text in ("meet me (at) the office (dot) com party is a pun", "see [at] line 4",
                     "alice (at) example (dot) com", '"id"@JsonProperty'):
            self.assertEqual(body(text), set(), text)

    def test_recipient_stays_silent(self) -> None:
        self.assertEqual(exfil(call("send_email", to="alice [at] acme-corp [dot] io", body="hello")), set())

    def test_dotted_phone(self) -> None:
        # (announced by a word, the groups alone decide; unannounced, dots
        # stand for the plan's separators)
        for text in ("Call me at 415.555.2671", "415.555.2671", "| Tom Berg | 415.555.2671 |", "01.42.68.53.00"):
            self.assertIn("phone", body(text), text)
        for text in ("upgrade to 12.34.5678", "build 2025.11.4821", "415.555.2671.3"):
            self.assertEqual(body(text), set(), text)


class PropertyTests(SynchronousTestCase):
    @settings(max_examples=60, deadline=None)
    @given(
        st.text(alphabet=string.ascii_letters + string.digits, min_size=24, max_size=40).filter(
            lambda s: v.classes(s) >= 3 and v.entropy(s) >= 4.0 and not v.placeholder(s)
        ),
        st.sampled_from(("DB_PASSWORD", "API_TOKEN", "CLIENT_SECRET")),
        st.integers(0, 4),
    )
    def test_containers_keep_it(self, value: str, name: str, form: int) -> None:
        """
        A secret found in an env file stays found as a CSV cell, in a
        Kubernetes Secret's data, and handed to a secret store's CLI.
        """
        self.assertTrue(body(f"{name}={value}"))
        text = (
            f"name,value\n{name},{value}",
            f"kind: Secret\ndata:\n  {name.lower()}: {base64.b64encode(value.encode()).decode()}",
            f'gh secret set {name} --body "{value}"',
            f"echo '{value}' | wrangler secret put {name}",
            f"vercel env add {name} production <<< {value}",
        )[form]
        self.assertTrue(body(text), text)

    @settings(max_examples=40, deadline=None)
    @given(st.sampled_from(VendorTests.KEYS), st.sampled_from(("{k}", "X={k}", '{{"value": "{k}"}}', "- {k}", "`{k}`")))
    def test_vendor_anywhere(self, key: str, shape: str) -> None:
        self.assertTrue(body(shape.format(k=key)), shape.format(k=key))
