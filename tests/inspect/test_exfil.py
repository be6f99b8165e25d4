"""
data_exfiltration at medium, class by class (issue 16): each class has at
least one case today's rules (before issue 16) missed, its hard benign
neighbours, and properties: writing a detected secret or contact detail
another common way keeps it detected.
"""

from __future__ import annotations

import base64
import random
import string
from typing import Any

import phonenumbers
from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.config.loader import parseConfig
from akto_proxy.inspect.chain import Verdict
from akto_proxy.inspect.checks import buildInspectors
from akto_proxy.inspect.checks import validators as v
from akto_proxy.inspect.checks.threats import addressing, documentedTestCard
from akto_proxy.inspect.message import Message
from tests.inspect.test_checks import TARGET, call, result

CONFIG = """
listen: ["tcp:0"]
threat_detection:
  sensitivity: {level}
  enabled_checks: [sql_injection, command_injection, path_traversal, data_exfiltration]
"""
STEPS = {level: buildInspectors(parseConfig(CONFIG.format(level=level)))[0] for level in ("low", "medium", "high")}


def exfil(message: Message, level: str = "medium") -> set[str]:
    verdict = STEPS[level].inspect(message)
    assert isinstance(verdict, Verdict)
    return {f.rule for f in verdict.findings if f.check == "data_exfiltration"}


def body(text: str) -> set[str]:
    return exfil(call("send_email", body=text))


def rand(n: int, alphabet: str = string.ascii_letters + string.digits, seed: int = 7) -> str:
    r = random.Random(seed + n)
    return "".join(r.choice(alphabet) for _ in range(n))


KEY = rand(32)
PASSWORD = "Zq7!mP2vX9kL4w"


class SecretTests(SynchronousTestCase):
    def test_assignments(self) -> None:
        # env file, config dump, table, INI, YAML, JSON, XML, PHP, header
        for text in (
            f"NODE_ENV=production\nSTRIPE_SECRET_KEY={KEY}\nPORT=8080",
            f"export OPENAI_API_KEY='{KEY}'",
            f'{{"service": "billing", "settings": {{"webhookSecret": "{KEY}"}}}}',
            f"| name | value |\n|---|---|\n| DB_PASSWORD | {PASSWORD} |",
            f"+------------------+-------+\n| SIGNING_KEY      | {KEY} |",
            f"[service]\nhost = api.acme.io\nauth_token = {KEY}\n",
            f"spring.datasource.password={PASSWORD}",
            f"<apiToken>\n    {KEY}\n</apiToken>",
            f"define( 'DB_PASSWORD', '{PASSWORD}' );",
            f"X-Api-Key: {KEY}",
            f'<add key="ClearTextPassword" value="{PASSWORD}" />',
            f"machine api.heroku.com login a@b.io password {PASSWORD}",
            f"db.internal:5432:orders:app:{PASSWORD}",
            f"The API key is {KEY}",
        ):
            self.assertTrue(body(text), text)

    def test_urls_with_a_password(self) -> None:
        for url in (
            f"https://deploy:{PASSWORD}@git.acme-corp.com/repo.git",
            f"amqp://svc:{PASSWORD}@mq.internal:5672/",
            f"sftp://admin:{PASSWORD}@files.acme.com",
            f"jdbc:postgresql://app:{PASSWORD}@db:5432/orders",
        ):
            self.assertIn("connection_string", body(f"connect with {url} please"), url)

    def test_vendor_shapes(self) -> None:
        for token in (
            "glrt-" + rand(20),
            "hf_" + rand(34, string.ascii_letters),
            "dapi" + rand(32, "0123456789abcdef"),
            "AGE-SECRET-KEY-1" + rand(58, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"),
            "ya29." + rand(60),
            "1234567890:AA" + rand(33),
            "xoxe.xoxp-1-" + rand(60),
            "lin_api_" + rand(40),
            "-----BEGIN SSH2 ENCRYPTED PRIVATE KEY-----",
        ):
            self.assertTrue(body(f"# creds\n{token}\n"), token)

    def test_more_shapes(self) -> None:
        """
        Session 9 (each missed before): passwords on command lines and in
        calls, names with an encoding word or in brackets, quoted literals
        with sigils, a URL password without a user, vendor formats.
        """
        for text in (
            f"SECRET_KEY = 'We7ihGy!@#$%^&*(-_=+)iRUIQfHOJ{rand(20)}'",
            f"secret_key_base: {rand(128, '0123456789abcdef')}",
            f"client-key-data: {rand(64)}",
            f'os.environ["SERVICE_TOKEN"] = "{KEY}"',
            f"smtp_password {PASSWORD}",
            f"redis://:{PASSWORD}@cache.internal:6379/0",
            f"curl -u admin:{PASSWORD} https://api.acme.io",
            f"mysql -u root -p{PASSWORD} -h db.internal app",
            f"sshpass -p '{PASSWORD}' ssh admin@10.0.0.5",
            f"requests.get(url, auth=('admin', '{PASSWORD}'))",
            "abc8Q~" + rand(34),
            f"sv=2021-06-08&ss=b&srt=sco&sp=rwdlacupx&se=2030-01-01T00:00:00Z&sig={rand(43)}%3D",
            "EAACEdEose0cBA" + rand(90),
            f"access_token$production${rand(16, '0123456789abcdef')}${rand(32, '0123456789abcdef')}",
            "NRAK-" + rand(27, string.ascii_uppercase + string.digits),
            "sk.eyJ1" + rand(60) + "." + rand(22),
            "oy2" + rand(43, string.ascii_lowercase + string.digits),
            "API-" + rand(26, string.ascii_uppercase + string.digits),
        ):
            self.assertTrue(body(text), text)
        for text in (
            "-----BEGIN PRIVATE KEY-----this is not a private key-----END PRIVATE KEY-----",
            "CredstashKey: !ImportValue CredstashKey",
            "Symfony_DB_Key: '%env(DB_SECRET_VALUE)%'",
            'variable_password8 = "obj.aFunctionCall()";',
            "write to email@domain.tld",
            "curl --tlspassword https://localhost",
            "mysql -u root -p -h db.internal app",
        ):
            self.assertEqual(body(text), set(), text)

    def test_forms(self) -> None:
        """
        Session 10 (each missed before): Makefile assignments, names in a
        dotted namespace or assigned into the environment, appSettings keys
        named by their last word; references into secret managers and
        Makefile variables are silent.
        """
        for text in (
            f"DB_PASSWORD ?= {KEY}",
            f"helm upgrade api ./chart --set secrets.apiKey={KEY}",
            f'process.env.SECRET_KEY = "{KEY}";',
            f'<add key="signingKey" value="{KEY}" />',
            f"psexec \\\\build01 -u svc_deploy -p {PASSWORD} cmd /c deploy.bat",
            f"./deploy.sh --username ci --password {PASSWORD}",
            'secret_key = "!G3_&lq8IqS!Mhu@#%n5"',
        ):
            self.assertTrue(body(text), text)
        for text in (
            'export PRIVATE_TOKEN="vault:secret/data/api#private_token"',
            "DB_PASSWORD=ref+awssm://prod/db#password",
            'encKey := "$(ENC_KEY)"',
            'setx SECRETKEY "${SECRETKEY:?missing}"',
            '<add key="CacheKey" value="orders-by-customer-v2" />',
            "secrets.ttl_seconds = 3600",
            "docker run -u 1000 -p 8080:80 nginx",
            "wget --user=admin --password= https://localhost",
        ):
            self.assertEqual(body(text), set(), text)

    def test_silent(self) -> None:
        for text in (
            "STRIPE_SECRET_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx",
            "OPENAI_API_KEY=<YOUR_KEY>",
            "AWS_SECRET_ACCESS_KEY=...",
            "API_KEY=your-api-key-here",
            "TOKEN=${{ secrets.GITHUB_TOKEN }}",
            "api_key = os.environ['API_KEY']",
            "password = getpass.getpass()",
            "postgres://user:password@localhost:5432/app",
            "postgres://${DB_USER}:${DB_PASSWORD}@db/app",
            "MAX_TOKENS=4096\nTOKEN_URL=https://auth.acme.io/oauth/token\nAPI_KEY_HEADER=X-Api-Key",
            "public_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq3 alice@laptop",
            "next_page_token: " + KEY,
            f"sha256:{rand(64, '0123456789abcdef')}",
            "https://" + rand(32, "0123456789abcdef") + "@o12345.ingest.sentry.io/4567",
            "AKIAIOSFODNN7EXAMPLE",
            "commit " + rand(40, "0123456789abcdef"),
            "the session token expires after an hour",
        ):
            self.assertEqual(body(text), set(), text)

    def test_generic_not_doubled(self) -> None:
        self.assertEqual(body("GITHUB_TOKEN=ghp_" + rand(36)), {"github_token"})

    def test_low_keeps_generic_off(self) -> None:
        self.assertEqual(exfil(call("send_email", body=f"STRIPE_SECRET_KEY={KEY}"), "low"), set())

    @settings(max_examples=200, deadline=None)
    @given(
        st.sampled_from(["DB_PASSWORD", "stripeSecretKey", "api_key", "AUTH_TOKEN", "client-secret", "github.token"]),
        # (a value spelling a placeholder's word, "fake" or "test", is read as
        # one by choice: hypothesis finds 00FaKE000001123456789ABC)
        st.text(string.ascii_letters + string.digits + "+/_-", min_size=24, max_size=48).filter(lambda s: v.entropy(s) >= 3.6 and not v.placeholder(s)),
        st.sampled_from(
            [
                "{n}={s}", '{n}="{s}"', "{n}: {s}", "{n}: '{s}'", '"{n}": "{s}"', "export {n}={s}", "| {n} | {s} |",
                "{n} = {s}", "<{n}>{s}</{n}>", "{n} := \"{s}\"", "set {n}={s}", "{{\"cfg\": {{\"{n}\": \"{s}\"}}}}",
            ]
        ),
    )
    def test_any_way_of_writing_it(self, name: str, value: str, form: str) -> None:
        """
        A named random value is found however the configuration is written.
        """
        text = form.format(n=name, s=value)
        self.assertTrue(body(text), text)
        self.assertEqual(body(form.format(n=name, s="<your-" + name.lower() + ">")), set())

    @settings(max_examples=100, deadline=None)
    @given(
        # (a random value that happens to spell a placeholder's word, "test"
        # or "your", is read as a placeholder, by choice: about one run in
        # a hundred drew one, and failed)
        st.binary(min_size=18, max_size=40).map(lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")).filter(lambda p: not v.placeholder(p)),
        st.sampled_from(["{u}", "DATABASE_URL={u}", '"dsn": "{u}"', "git clone {u}"]),
    )
    def test_url_password_any_scheme(self, password: str, form: str) -> None:
        for scheme in ("https", "redis", "ssh", "ftp"):
            text = form.format(u=f"{scheme}://svc:{password}@host.internal/x")
            self.assertIn("connection_string", body(text), text)

    def test_x_run_inside_random_value(self) -> None:
        """
        A run of x inside a random value is part of it, not a placeholder's
        hidden characters (hypothesis found AAAAAAAAAAXXXXAAAAAAAAAA); a run
        that ends a word or fills the value still is.
        """
        for password in ("q3ZxXXXXk9PaLm2W8rT", "AAAAAAAAAAXXXXAAAAAAAAAA"):
            self.assertIn("connection_string", body(f"https://svc:{password}@host.internal/x"), password)
        for password in ("xxxxxxxx", "sk_live_xxxx", "XXXX-XXXX-XXXX"):
            self.assertNotIn("connection_string", body(f"https://svc:{password}@host.internal/x"), password)


def numbers(kinds: tuple[Any, ...] = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE)) -> list[Any]:
    out = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in kinds:
            n = phonenumbers.example_number_for_type(region, kind)
            if n is not None and phonenumbers.is_valid_number(n):
                out.append(n)
    return out


NUMBERS = numbers()


class PIITests(SynchronousTestCase):
    def test_emails_leaving_and_arriving(self) -> None:
        self.assertIn("email", body("Notes: call with jane.roe@acme-corp.com about the refund"))
        self.assertIn("email", exfil(call("web_search", query="maria.rossi@gmail.com")))
        self.assertIn("email", exfil(result("id,name,email\n17,Ann,ann.smith@outlook.com")))
        self.assertIn("email", body("mail me: <o'reilly+tag@sub.mail.co.uk>"))

    def test_email_where_it_belongs(self) -> None:
        self.assertEqual(exfil(call("send_email", to="jane.roe@acme-corp.com", subject="hi")), set())
        self.assertEqual(exfil(call("send_email", recipients=[{"email": "a@acme.io"}], cc="b@acme.io")), set())
        self.assertEqual(exfil(call("lookup_contact", emailAddress="a@acme.io")), set())
        # at high every address counts
        self.assertIn("email", exfil(call("send_email", to="jane.roe@acme-corp.com"), "high"))

    def test_not_emails(self) -> None:
        for text in (
            "support@example.com",
            "git clone git@github.com:acme/api.git",
            "https://alice@bitbucket.org/acme/repo.git",
            "icon@2x.png",
            "npm i @types/node@20.1.0 lodash@4.17.21",
            "noreply@acme.io says: build passed",
            "49699333+dependabot[bot]@users.noreply.github.com",
        ):
            self.assertEqual(body(text), set(), text)

    def test_phones(self) -> None:
        for text in (
            "Customer called from +44 20 7946 0018 about the refund",
            "Mobile: 06 12 34 56 78",
            "ring her on 030 123456",
            "Kontakt: Telefon 089 1234567",
            "0049 89 1234567",
            "call (415) 555-2671",
            "tel:+1-415-555-2671",
            "電話 03-1234-5678",
        ):
            self.assertIn("phone", body(text), text)

    def test_not_phones(self) -> None:
        for text in (
            "Deployed 2024-06-01 at 10:30-11:45",
            "129.196.185.51 - - [10/Oct/2024:13:55:36 +0000]",
            "SKU 981-911-5004 is out of stock",
            "budget 2024-2025, range 1792-5118",
            "Size: 553 241 155 bytes",
            "ISBN 978-3-16-148410-0",
            "version 1.24.3 (build 20240601.3)",
        ):
            self.assertEqual(body(text), set(), text)
        self.assertEqual(exfil(call("send_sms", to="+44 7700 900123", text="on my way")), set())

    def test_test_cards(self) -> None:
        self.assertEqual(body("Test card 4242 4242 4242 4242, exp 12/34"), set())
        self.assertIn("credit_card", body("pay with 4242 4242 4242 4242"))
        self.assertTrue(documentedTestCard("stripe test 4000056655665556", (12, 28)))

    def test_addressing(self) -> None:
        self.assertTrue(addressing("params.arguments.to"))
        self.assertTrue(addressing("params.arguments.recipients[2].email"))
        self.assertTrue(addressing("params.arguments.phone_number"))
        self.assertFalse(addressing("params.arguments.body"))
        self.assertFalse(addressing("result.content[0].text"))

    def test_every_region_every_format(self) -> None:
        """
        The example numbers of every region libphonenumber knows, in each
        format people write them, announced as numbers: all found.
        """
        F = phonenumbers.PhoneNumberFormat
        for number in NUMBERS:
            e164 = phonenumbers.format_number(number, F.E164)
            forms = [e164, "00" + e164[1:]] + [phonenumbers.format_number(number, f) for f in (F.INTERNATIONAL, F.RFC3966)]
            if len(phonenumbers.national_significant_number(number)) >= 6:
                forms.append(phonenumbers.format_number(number, F.NATIONAL))
            for written in forms:
                for context in ("Call me on {p}", "phone: {p}", "Kontakt {p}, danke", '{{"mobile": "{p}"}}'):
                    text = context.format(p=written)
                    self.assertIn("phone", body(text), text)

    @settings(max_examples=100, deadline=None)
    @given(st.from_regex(r"[a-z]{2,10}(?:[._+-][a-z0-9]{1,8})?", fullmatch=True),
           st.sampled_from(["gmail.com", "acme-corp.io", "mail.example-bank.co.uk", "uni.edu"]),
           st.sampled_from(["{e}", "<{e}>", "mailto:{e}", "{E}", "Contact: {e}."]))
    def test_any_email(self, local: str, domain: str, form: str) -> None:
        address = f"{local}@{domain}"
        text = form.format(e=address, E=address.upper())
        self.assertIn("email", body(text), text)
        self.assertEqual(exfil(call("send_email", to=address)), set())


class BulkTests(SynchronousTestCase):
    def test_entropy_not_length(self) -> None:
        big = 300 * 1024
        self.assertIn("bulk_encoded_blob", body(base64.b64encode(random.Random(1).randbytes(big)).decode()))
        self.assertNotIn("bulk_encoded_blob", body("A" * (1 << 20)))
        self.assertNotIn("bulk_encoded_blob", body("ab" * (1 << 19)))
        self.assertTrue(v.blobLike(random.Random(2).randbytes(200_000).hex()))
        self.assertFalse(v.blobLike("0" * 300_000))


class BinaryTests(SynchronousTestCase):
    def test_binary_message(self) -> None:
        zeros = Message.fromText("\x00" * 65536, "request", TARGET, "ws", binary=True)
        self.assertEqual(STEPS["high"].inspect(zeros).findings, ())
        nul = Message.fromText("\x00\x01 ../../etc/passwd\x00 ' OR 1=1--", "request", TARGET, "http", binary=True)
        self.assertEqual(STEPS["high"].inspect(nul).findings, ())
        secret = Message.fromText("\x89PNG\x00\x00 ghp_" + rand(36) + "\x00", "request", TARGET, "http", binary=True)
        self.assertEqual({f.rule for f in STEPS["medium"].inspect(secret).findings}, {"github_token"})
        self.assertFalse(STEPS["medium"].inspect(Message.fromText("\x00 mail a.b@gmail.com", "request", TARGET, "http", binary=True)).findings)

    def test_what_is_binary(self) -> None:
        from akto_proxy.mcp.jsonrpc import binary, decode

        self.assertTrue(binary(bytes(65536)))
        self.assertTrue(binary(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
        self.assertTrue(binary("héllo".encode("utf-16")))
        self.assertTrue(binary(b"caf\xe9"))
        self.assertFalse(binary(b"../../etc/passwd\x00.png"))
        self.assertFalse(binary("plain text, ünïcode".encode()))
        body = decode(b"\x00\xff\x00", "application/octet-stream")
        self.assertTrue(body.binary)
        self.assertEqual(body.encoded(), b"\x00\xff\x00")
        self.assertFalse(decode(b'{"a": "\\u0000"}').binary)


class GuardrailTests(SynchronousTestCase):
    def test_phone_masking_follows_the_same_rules(self) -> None:
        pii = next(
            s
            for s in buildInspectors(
                parseConfig(CONFIG.format(level="medium") + "guardrails:\n  - {name: PII, type: pii, rules: [{entity: phone}]}\n")
            )
            if s.name == "PII"
        )
        out = pii.inspect(result("Mobil: 06 12 34 56 78, SKU 981-911-5004, +49 30 1234567"))
        self.assertEqual(out.replacements[0][1], "Mobil: [REDACTED:phone], SKU 981-911-5004, [REDACTED:phone]")


class BoundedWorkTests(SynchronousTestCase):
    def test_phone_work_is_bounded(self) -> None:
        """
        A numeric table costs at most PHONE_CANDIDATES looks and
        PHONE_BUDGET validations, shared by the strings of a message.
        """
        taken = []

        def spans(n: int) -> Any:
            for i in range(n):
                taken.append(i)
                yield (i * 12, i * 12 + 11)

        text = "".join(f"0{i % 9 + 1}1 234 5678\n" for i in range(10_000))
        budget = [v.PHONE_BUDGET]
        v.phoneSpans(text, spans(10_000), budget)
        self.assertLessEqual(len(taken), v.PHONE_CANDIDATES + 1)
        self.assertEqual(budget[0], 0)
        taken.clear()
        self.assertEqual(v.phoneSpans(text, spans(10), budget), [])  # nothing left for the next string
        self.assertLessEqual(len(taken), 1)

    def test_numeric_tables_are_not_phone_numbers(self) -> None:
        rows = "\n".join(f"{i} {i * 7 % 1000:03d} {i * 13 % 1000:03d} {i * 17 % 1000:03d} 0.{i % 97:02d}" for i in range(2000))
        self.assertEqual(exfil(result(rows)), set())
        self.assertEqual(body("12 345 678 901 234 567"), set())


class DefinitionTests(SynchronousTestCase):
    """
    A server's description of itself (tools/list and the other lists,
    initialize) is not data leaving: an example address, a phone number or
    a field named like a key in a schema do not withhold the list; a secret
    a vendor's rule names still counts.
    """

    def listing(self, description: str, method: str = "tools/list") -> Message:
        tool = {
            "name": "jira_update_issue",
            "description": description,
            "inputSchema": {
                "type": "object",
                "properties": {"fields": {"type": "object", "description": 'e.g. {"epicKey": "EPIC-123"}'}},
            },
        }
        return Message.fromJSONRPC(
            {"jsonrpc": "2.0", "id": 1, "result": {"tools": [tool]}}, "response", TARGET, "http", method=method
        )

    def test_schemaTextPasses(self) -> None:
        text = "Update an issue. Contact jane.doe@example-corp.com or +44 20 7946 0958 for access."
        self.assertEqual(exfil(self.listing(text)), set())
        self.assertEqual(exfil(self.listing(text, "initialize")), set())
        # the same text brought back by a tool is a contact detail arriving
        self.assertIn("email", exfil(result(text)))

    def test_vendorSecretCounts(self) -> None:
        self.assertEqual(exfil(self.listing("Use the token ghp_" + rand(36) + " to call it.")), {"github_token"})
