"""
Secrets at medium, session 13 (issue 16): the two forms session 12 withdrew
for their cost, back in forms a literal anchors (a name and its value as
sibling members; an environment variable named after the service whose key
it holds), and the credential files of common tools.  Each test holds cases
main's rules miss beside benign neighbours that stay silent; the properties
write a detected secret into another container and expect it still found.
"""

from __future__ import annotations

import json
import random
import string

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect.checks import validators as v
from akto_proxy.inspect.checks.rules import SECRET_RULES
from tests.inspect import test_s12_secrets as s12
from tests.inspect.test_exfil import body


def rand(n: int, alphabet: str = string.ascii_letters + string.digits, seed: int = 13) -> str:
    r = random.Random(seed * 1000 + n)
    return "".join(r.choice(alphabet) for _ in range(n))


VALUE = "Qm7vX2kP9zL4wR8tY3nB6cJ1"


def siblings(name: str, value: str, style: int) -> str:
    """
    A setting written as an object whose members are its name and value:
    session 12's five styles, and Azure's app settings (a member between).
    """
    if style < 5:
        return s12.siblings(name, value, style)
    return json.dumps([{"name": "REGION", "slotSetting": False, "value": "eu-west-1"}, {"name": name, "slotSetting": False, "value": value}])


class SiblingTests(SynchronousTestCase):
    def test_name_and_value_members(self) -> None:
        """
        Kubernetes and ECS env lists, CloudFormation parameters, Postman
        environments, Terraform setting blocks, Azure app settings: the
        name member says secret, the value member holds it.
        """
        for style in range(6):
            for name in ("DB_PASSWORD", "StripeSecretKey", "auth_token", "/prod/api/token"):
                text = siblings(name, VALUE, style)
                self.assertIn("assigned_secret", body(text), text)
        self.assertIn("assigned_secret", body('{"key": "Authorization", "value": "Bearer ' + VALUE + '", "type": "text"}'))

    def test_secure_string_whatever_its_name(self) -> None:
        """
        AWS SSM's C{"Type": "SecureString"} says the value is a secret,
        whatever the parameter is called; a String parameter says nothing.
        """
        ssm = {"Parameter": {"Name": "/prod/billing/stripe", "Type": "SecureString", "Value": VALUE, "Version": 3}}
        self.assertIn("assigned_secret", body(json.dumps(ssm, indent=4)))
        ssm["Parameter"]["Type"] = "String"
        self.assertEqual(body(json.dumps(ssm, indent=4)), set())

    def test_references_and_other_settings_silent(self) -> None:
        for style in range(6):
            for name, value in (("DB_PASSWORD", "${DB_PASSWORD}"), ("API_KEY", "{{api_key}}"), ("LOG_LEVEL", VALUE),
                                ("API_KEY_ID", VALUE), ("TOKEN_URL", "https://auth.example.com/oauth/token"),
                                ("PASSWORD_POLICY", "strong"), ("SECRET_NAME", "prod-db-creds")):
                text = siblings(name, value, style)
                self.assertEqual(body(text), set(), text)
        self.assertEqual(body('- name: DB_PASSWORD\n  valueFrom:\n    secretKeyRef:\n      name: db\n      key: password'), set())


class EnvServiceTests(SynchronousTestCase):
    def test_variable_named_after_a_service(self) -> None:
        """
        An env file's variable named after the service whose key it holds
        (or ending in a word that says key without saying secret) holds a
        secret when its value can be nothing but a key.
        """
        for text in (f"APP_NAME=billing\nSTRIPE={VALUE}\nLOG_LEVEL=info", f'export OPENAI="{VALUE}x9"',
                     f"environment:\n  - TWILIO={VALUE}", f"PAYMENTS_SK={VALUE}", f"MAPS_API='{VALUE}'",
                     f"SEARCH_LICENSE={VALUE}"):
            self.assertIn("assigned_secret", body(text), text)

    def test_what_else_the_value_can_be(self) -> None:
        """
        A value that is an id, a hash, text in base64, a word or a
        placeholder, and names that say id, region or public, stay silent.
        """
        for text in (f"STRIPE={rand(40, '0123456789abcdef')}", f"OPENAI=YOUR_OPENAI_KEY_GOES_HERE_{VALUE}",
                     "SENTRY=" + "dGhlIHJlbGVhc2Ugbm90ZXMgb2YgdGhpcyBidWlsZA==", "GITHUB=abcdefghijklmnopqrstuvwxyz0123",
                     f"STRIPE_ACCOUNT={VALUE}", f"PUBLIC_API={VALUE}", f"SLACK=https://hooks.example.com/{VALUE}",
                     f"GITHUB={VALUE[:20]}"):
            self.assertEqual(body(text), set(), text)


class ToolOutputTests(SynchronousTestCase):
    def test_escaped_document(self) -> None:
        """
        A JSON document inside a JSON string (Secrets Manager's
        C{SecretString} as printed, a log line holding a serialised config):
        its members are judged with their quotes unescaped.
        """
        inner = json.dumps({"username": "app", "password": VALUE})
        for text in (json.dumps(inner), '{"msg":"loaded","config":' + json.dumps(json.dumps({"db": {"api_key": VALUE}})) + "}",
                     "INFO settings " + json.dumps(json.dumps({"token": VALUE}))):
            self.assertIn("assigned_secret", body(text), text)
        for text in (json.dumps(json.dumps({"token_type": "Bearer", "password": "", "api_key_id": "AKID" + VALUE.upper()})),
                     json.dumps(json.dumps({"password": "${DB_PASSWORD}", "secret": "changeme"}))):
            self.assertEqual(body(text), set(), text)

    def test_terraform_sensitive_output(self) -> None:
        """
        An output Terraform marks sensitive, in a state file or C{terraform
        output -json}: its value is a secret whatever the output is called.
        """
        state = {"version": 4, "outputs": {"connection": {"value": VALUE, "type": "string", "sensitive": True}}}
        self.assertIn("assigned_secret", body(json.dumps(state, indent=2)))
        self.assertIn("assigned_secret", body(json.dumps({"root": {"sensitive": True, "type": "string", "value": VALUE}}, indent=2)))
        for value, sensitive in ((VALUE, False), ("<sensitive>", True), ("${var.db_password}", True)):
            self.assertEqual(body(json.dumps({"root": {"sensitive": sensitive, "type": "string", "value": value}}, indent=2)), set())

    def test_masked_values_and_references(self) -> None:
        """
        What CI systems print instead of a value ([MASKED], [secure],
        [FILTERED]) and a Secrets Manager ARN's C{secret:name-XXXXXX} are not
        secrets, in any container.
        """
        for mask in ("[MASKED]", "[secure]", "[FILTERED]", "[hidden]"):
            for text in (f'AUTH_TOKEN="{mask}"', siblings("SMTP_PASSWORD", mask, 3), f"DB_PASSWORD={mask}"):
                self.assertEqual(body(text), set(), text)
        arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf"
        self.assertEqual(body(json.dumps({"ARN": arn, "Name": "prod/db"}, indent=4)), set())
        self.assertEqual(body(f"--secret-id {arn}"), set())
        self.assertIn("assigned_secret", body(f"secret: {VALUE}"))


class AnchorTests(SynchronousTestCase):
    def test_each_new_rule_starts_at_a_literal(self) -> None:
        """
        What session 12 withdrew started an automaton at every C{name} or
        line start; these rules begin with a secret word, a member's name or
        a service's name (what the clean scans' cost rests on).
        """
        new = [r for r in SECRET_RULES if r.validator in ("sibling_secret", "env_secret", "escaped_secret", "sensitive_output")]
        self.assertEqual(len(new), 5)
        for rule in new:
            self.assertFalse(rule.pattern.startswith((r"\b(?:name", "(?:^|", "[")), rule.pattern[:40])


class PropertyTests(SynchronousTestCase):
    @settings(max_examples=40, deadline=None)
    @given(
        st.text(alphabet=string.ascii_letters + string.digits, min_size=20, max_size=40).filter(
            lambda s: v.classes(s) >= 3 and v.entropy(s) >= 4.0 and not v.placeholder(s)
        ),
        st.sampled_from(("DB_PASSWORD", "API_TOKEN", "CLIENT_SECRET", "SigningKey", "smtp.password")),
        st.integers(0, 5),
    )
    def test_env_line_as_siblings(self, value: str, name: str, style: int) -> None:
        """
        A secret found as C{NAME=value} stays found written as sibling
        members.
        """
        self.assertIn("assigned_secret", body(f"{name}={value}"))
        self.assertIn("assigned_secret", body(siblings(name, value, style)))

    @settings(max_examples=30, deadline=None)
    @given(
        st.text(alphabet=string.ascii_letters + string.digits, min_size=28, max_size=48).filter(
            lambda s: v.classes(s) >= 3 and v.entropy(s) >= 4.3 and not v.placeholder(s)
        ),
        st.sampled_from(("STRIPE", "OPENAI", "SENDGRID", "MY_GITHUB", "PAYMENTS_SK")),
        st.sampled_from(("{n}={v}", "export {n}={v}", "{n}='{v}'", '  - {n}="{v}"')),
    )
    def test_service_variable_in_any_env_form(self, value: str, name: str, form: str) -> None:
        """
        A service's key found on an env file's line stays found exported,
        quoted or in a compose environment list.
        """
        self.assertIn("assigned_secret", body("LOG_LEVEL=info\n" + form.format(n=name, v=value) + "\nTZ=UTC"))

    @settings(max_examples=30, deadline=None)
    @given(
        st.text(alphabet=string.ascii_letters + string.digits + "!#%^*_-+=.~", min_size=16, max_size=40).filter(
            lambda s: v.classes(s) >= 3 and v.entropy(s) >= 3.8 and not v.placeholder(s)
        ),
        st.sampled_from(("password", "api_key", "client_secret", "token")),
    )
    def test_member_serialised_once_more(self, value: str, name: str) -> None:
        """
        A secret found as a JSON member stays found once its document is
        serialised into a string of another (its quotes escaped).
        """
        document = json.dumps({"user": "app", name: value})
        self.assertIn("assigned_secret", body(document))
        self.assertIn("assigned_secret", body(json.dumps({"msg": "loaded", "config": document})))
