"""
Session 15: contact details in forms the PII rules did not know, at medium,
leaving through a tool that sends a message or arriving in a tool's result:
addresses whose local part uses RFC 5322's other characters or a quoted
string with blanks and quoted pairs, an address literal for a domain
(RFC 5321: C{[192.0.2.1]}, C{[IPv6:...]}), internationalised addresses (RFC 6531:
letters of any script on either side of C{@}, a top-level domain in its
C{xn--} form), numbers whose country code is bracketed (C{(+33)}), North
American numbers after their long-distance C{1-}, numbers written in one
group after their trunk prefix, and numbers announced by
the word for telephone in the languages that write them.

Each contact below passed the rules before this session; each benign text
of the same shape passes still.  Written here, not copied from any corpus.
"""

from __future__ import annotations

from hypothesis import assume, given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect.checks import buildInspectors, validators
from akto_proxy.inspect.checks.threats import outwardTool
from tests.inspect.test_checks import call, config, mediumSteps, result, rules, verdict

EMAIL = "data_exfiltration.email"
PHONE = "data_exfiltration.phone"

# (rule, form, text)
CONTACTS = [
    (EMAIL, "atext symbols before @", "Reply to {x}: ~ops!desk@kundendienst.de"),
    (EMAIL, "a slash and equals in the local part", "shipping via dept/route=eu@logistik-nord.de"),
    (EMAIL, "a quoted local part with blanks", 'write to "Jane  Q. Public"@mailhaus.at today'),
    (EMAIL, "a quoted local part with a quoted pair", 'cc: "ops\\"desk"@firma.ch'),
    (EMAIL, "a quoted local part holding @", 'contact: "sales@eu"@vertrieb.io'),
    (EMAIL, "a local part in another script", "Kontakt: müşteri@şirket.com.tr"),
    (EMAIL, "a domain in another script", "mail me at anna@почта.рф please"),
    (EMAIL, "both sides in another script", "担当: 山田太郎@会社.日本"),
    (EMAIL, "a Greek address", "στείλε στο γιάννης@εταιρεία.ελ"),
    (EMAIL, "a top-level domain in its ASCII form", "write to olga@xn--80akhbyknj4f.xn--p1ai"),
    (EMAIL, "an ASCII label under an IDN label", "leo@sub.bücher.de"),
    (EMAIL, "an address literal", "relay it via ops@[203.0.113.7] tonight"),
    (EMAIL, "an IPv6 address literal", "Kontakt: ops@[IPv6:2001:db8::25]"),
    (PHONE, "a country code in brackets without its plus", "Ligue para (351) 912 345 678"),
    (PHONE, "a trunk prefix, grouped as the writer likes", "Leeds office: 0113 4960355"),
    (PHONE, "a bracketed area code after the trunk prefix", "ring (0897) 664237 after six"),
    (PHONE, "a bracketed country code", "Call Ahmed on (+971) 50 123 4567 tomorrow"),
    (PHONE, "a bracketed country code before the trunk prefix", "Kontakt: (+49) 0151 2345 6789"),
    (PHONE, "a bracketed 00 country code", "Tel (0033) 6 12 34 56 78"),
    (PHONE, "one group after the trunk prefix", "Anna Berg, 0612345678, Utrecht"),
    (PHONE, "one group after the trunk prefix, UK mobile", "forward to 07700900123 before noon"),
    (PHONE, "North America's long-distance prefix", "Billing questions: 1-202-555-0143, weekdays"),
    (PHONE, "the long-distance prefix after a word for calling", "call 1.415.555.2671 before five"),
    (PHONE, "the separators of the international format, less the code", "Escalations go to Dana, 202-555-0143."),
    (PHONE, "the French word for my number", "Mon numéro est 0612345678"),
    (PHONE, "the Spanish word for mobile", "Mi móvil: 612345678"),
    (PHONE, "the German word for mobile", "Handy 015123456789"),
    (PHONE, "the Japanese word for telephone", "電話 0312345678"),
]

# (form, text): the shapes above where no contact is
BENIGN = [
    ("template attributes", '<img alt="" src="@Model.ImageUrl" />'),
    ("a Razor expression", "@Html.Raw(Model.Body) and @Model.Title render in the layout"),
    ("scoped npm packages", "npm install @modelcontextprotocol/sdk@1.12.0 @types/node@22.5.1"),
    ("an SSH remote", "git clone git@github.com:modelcontextprotocol/python-sdk.git"),
    ("mentions in other scripts", "ping @山田 さん and @김민준 about the release"),
    ("documentation domains in other scripts", "Write to 例え@example.com or θσερ@example.org in the docs"),
    ("an image digest", "docker pull python@sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"),
    ("an invoice number with a leading zero", "Invoice 0412345678 is overdue"),
    ("a ticket number", "ticket #0612345678 was closed"),
    ("an ISBN", "urn:isbn:0451450523"),
    ("an EAN", "EAN: 0012345678905"),
    ("a row of zero-led readings", "sensor,0612345678,0512345678,0412345678"),
    ("a decimal", "The ratio fell from 0.612345678 to 0.512345678."),
    ("a bracketed number that is no country code", "see note (+3) 12 and (+44)"),
    ("a matrix product", "y = A@[1.0, 2.0] + b@[3.5]"),
    ("an address literal that is no address", "x@[999.1.1.1] and y@[IPv6:1.2.3.4]"),
    ("a lone zero before groups", "the totals were 0 12 345 6789 and 0 123 456 789"),
    ("a stock-keeping unit in a phone's groups", "SKU 201-555-0123 is out of stock; serial 415-555-2671 too"),
    ("four groups led by 1 that no plan assigns", "bins 1-100-200-3000 and 1-999-000-0000"),
]


class ContactFormTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.steps = mediumSteps()

    def test_leaving(self) -> None:
        """
        Each form is found in a message a tool sends.
        """
        for rule, form, text in CONTACTS:
            found = rules(verdict(self.steps, call("send_email", body=text)))
            self.assertIn(rule, found, f"{form}: {text!r}")

    def test_arriving(self) -> None:
        """
        And in a tool's result.
        """
        for rule, form, text in CONTACTS:
            found = rules(verdict(self.steps, result(text, tool="search_files")))
            self.assertIn(rule, found, f"{form}: {text!r}")

    def test_benign(self) -> None:
        for form, text in BENIGN:
            for message in (call("send_email", body=text), result(text, tool="search_files")):
                found = rules(verdict(self.steps, message))
                self.assertFalse(found & {EMAIL, PHONE}, f"{form}: {text!r} -> {found}")

    def test_recipient(self) -> None:
        """
        An internationalised address in the field that addresses the message
        is its purpose, as an ASCII one is.
        """
        found = rules(verdict(self.steps, call("send_email", to="γιάννης@εταιρεία.ελ", body="hello")))
        self.assertNotIn(EMAIL, found)


class OutwardToolTests(SynchronousTestCase):
    """
    Contact details are judged in what a tool sends on (mail, chat, search,
    translation, HTTP, posts, issues) and in every result, not in the
    arguments of a tool of the organisation's own data at medium.
    """

    def setUp(self) -> None:
        self.steps = mediumSteps()

    def test_inward(self) -> None:
        for tool, argument in (("update_profile", "bio"), ("lookup_order", "order_id"), ("run_sql", "query"), ("crmCreateLead", "notes")):
            found = rules(verdict(self.steps, call(tool, **{argument: "Ana Ruiz, +34 612 34 56 78, ana.ruiz@fastmail.com"})))
            self.assertFalse(found & {EMAIL, PHONE}, (tool, found))

    def test_outward(self) -> None:
        for tool, argument in (("send_email", "body"), ("slackPostMessage", "text"), ("web-search", "q"), ("create_ticket", "description"),
                               ("http_request", "body"), ("translate_text", "text")):
            found = rules(verdict(self.steps, call(tool, **{argument: "Ana Ruiz, +34 612 34 56 78, ana.ruiz@fastmail.com"})))
            self.assertEqual(found & {EMAIL, PHONE}, {EMAIL, PHONE}, tool)

    def test_results(self) -> None:
        """
        What an inward tool returns is judged as any result is.
        """
        found = rules(verdict(self.steps, result("Ana Ruiz, +34 612 34 56 78, ana.ruiz@fastmail.com", tool="lookup_order")))
        self.assertEqual(found & {EMAIL, PHONE}, {EMAIL, PHONE})

    def test_high(self) -> None:
        """
        At high, contacts count in every tool's arguments.
        """
        steps = buildInspectors(config("threat_detection:\n  sensitivity: high\n"))
        found = rules(verdict(steps, call("update_profile", bio="Ana Ruiz, +34 612 34 56 78, ana.ruiz@fastmail.com")))
        self.assertEqual(found & {EMAIL, PHONE}, {EMAIL, PHONE})

    def test_names(self) -> None:
        self.assertTrue(outwardTool(None))
        for tool in ("send_email", "GmailSend", "posts_create", "HTTPRequest", "fetch", "create_gist", "reply_to_comment"):
            self.assertTrue(outwardTool(tool), tool)
        for tool in ("postgres_query", "get_user", "update_profile", "lookup_order", "list_files", "crm_get_contact"):
            self.assertFalse(outwardTool(tool), tool)


class BracketedCountryTests(SynchronousTestCase):
    def test_valid(self) -> None:
        self.assertTrue(validators.phone("(+44) 20 7946 0018"))
        self.assertTrue(validators.phone("(+212) 0661 234567"))  # the trunk prefix after the code

    def test_invalid(self) -> None:
        self.assertFalse(validators.phone("(+44) 12"))
        self.assertFalse(validators.phone("(+999) 123 4567"))  # no such country

    def test_asIfWrittenWithPlus(self) -> None:
        """
        A bracketed code is judged as the same number written with a plus.
        """
        for number in ("+33 6 12 34 56 78", "+49 30 1234567", "+1 415 555 2671", "+81 3 1234 5678", "+44 20 7946 0999"):
            code, rest = number[1:].split(" ", 1)
            self.assertEqual(validators.phone(f"(+{code}) {rest}"), validators.phone(number), number)


class PunycodeTests(SynchronousTestCase):
    def test_email(self) -> None:
        self.assertTrue(validators.email("olga@xn--80akhbyknj4f.xn--p1ai"))
        self.assertFalse(validators.email("olga@host.xn--"))


_LETTERS = st.sampled_from("abcdefghijklmnopqrstuvwxyzäöüéñçøåšžłğışαβγδεζηθκλμνπρστφχψωабвгдежзиклмнопрстуфхцчшщыэюя")


class InternationalProperties(SynchronousTestCase):
    def setUp(self) -> None:
        self.steps = mediumSteps()

    @settings(max_examples=60, deadline=None)
    @given(local=st.text(_LETTERS, min_size=2, max_size=12), label=st.text(_LETTERS, min_size=3, max_size=12),
           tld=st.sampled_from(("de", "рф", "ελ", "com", "xn--p1ai", "日本")))
    def test_anyScript(self, local: str, label: str, tld: str) -> None:
        """
        An address of letters of any script, in a message a tool sends, is
        found whatever the script of either side.
        """
        # (a role account, security@, is silent by design: drawn from
        # Latin letters, a local part may spell one)
        assume(not validators.roleAccount(local))
        address = f"{local}@{label}.{tld}"
        found = rules(verdict(self.steps, call("slack_post_message", text=f"reach her at {address} today")))
        self.assertIn(EMAIL, found, address)
