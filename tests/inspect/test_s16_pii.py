"""
Session 16: a telephone number right after its label (C{contact:}, a
C{phone} column of a table or a CSV line), in whatever digit groups its
writer chose: valid for some region and labelled, it is a number to call,
not a part number.  Without the label, or with another number or a unit
between, the same digits stay silent.

A table (CSV, tab- or semicolon-separated, Markdown) whose header names a
column for telephone numbers holds them in whatever groups, or none.  And
bytes read as characters are no contact detail nor password.

Written here, not copied from any corpus.
"""

from __future__ import annotations

import random
import re

from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect.checks import rules as R
from tests.inspect.test_checks import call, mediumSteps, result, rules, verdict
from tests.inspect.test_s15_secrets import assertLinear

EMAIL = "data_exfiltration.email"
PHONE = "data_exfiltration.phone"

# (form, text): each passed before this session
LABELLED = [
    ("after contact:, in groups no plan writes", "contact: 6972 719714"),
    ("in a table's contact column", "| name | contact |\n|---|---|\n| Eleni Papadaki | 6990 748 925 |"),
    ("after tel, four-three-three", "tel 6990 748 925"),
    ("after the German word, two-digit groups", "Telefon: 30 12 34 56 78"),
    ("after a mobile label and a name", "mobile (Kai Berg): 1512 3456 789"),
]

# (form, text): the same digits where no label names them
UNLABELLED = [
    ("no label", "batch 6972 719714 shipped"),
    ("a unit after it", "contact us: 6972 719714 bytes were lost"),
    ("another number between", "contact 3 of 12 said 6972 719714"),
    ("the label too far", "contact " + "x" * 90 + " 6972 719714"),
    ("groups of one digit", "phone 6 9 7 2 7 1 9 7 1 4"),
]


class PhoneCases:
    """
    Each text (form, text) of C{found} holds a telephone number, each of
    C{silent} none, in a message a mail tool sends and in what C{tool}
    returns (mixed into a test case).
    """

    found: list[tuple[str, str]] = []
    silent: list[tuple[str, str]] = []
    tool = "search_files"

    def setUp(self) -> None:
        self.steps = mediumSteps()

    def _judged(self, cases: list[tuple[str, str]], expected: bool) -> None:
        for form, text in cases:
            for message in (call("send_email", body=text), result(text, tool=self.tool)):
                self.assertEqual(PHONE in rules(verdict(self.steps, message)), expected, f"{form}: {text!r}")  # type: ignore[attr-defined]

    def test_found(self) -> None:
        self._judged(self.found, True)

    def test_silent(self) -> None:
        self._judged(self.silent, False)


class ContextRuleCases:
    """
    The tests of a rule that finds numbers by their context (its
    C{validator}): as any contact detail at medium, an inward tool's own
    argument (C{inward}: tool, argument) keeps the first C{found} text; its
    confirmation is linear on each of C{adversarial} (mixed into a
    L{PhoneCases} test case).
    """

    validator: str
    inward: tuple[str, str]
    adversarial: list[str]

    def test_inwardTool(self) -> None:
        tool, argument = self.inward
        text = self.found[0][1]  # type: ignore[attr-defined]
        self.assertNotIn(PHONE, rules(verdict(self.steps, call(tool, **{argument: text}))))  # type: ignore[attr-defined]

    def test_linear(self) -> None:
        rule = next(r for r in R.PII_RULES if r.validator == self.validator)
        confirm = re.compile(rule.confirm or "", re.M | re.A | (re.I if rule.caseless else 0))
        assertLinear(self, [confirm], self.adversarial)  # type: ignore[arg-type]


class LabelledNumberTests(PhoneCases, SynchronousTestCase):
    found = LABELLED
    silent = UNLABELLED


class BytesAsCharactersTests(SynchronousTestCase):
    """
    Binary data a server put in a JSON string one character per byte (an
    upload echoed back, a file read as Latin-1) is no language: its letters
    beyond ASCII around a byte 0x40 are not an internationalised address,
    nor bytes after C{pw:} a password (as in a binary body, only a vendor's
    key would count).  A real address beside a control character or two is
    still one.
    """

    def setUp(self) -> None:
        self.steps = mediumSteps()

    def test_randomBytes(self) -> None:
        draw = random.Random("issue16:bytes")
        flagged = []
        for n in range(1500):
            text = draw.randbytes(2048).decode("latin-1")
            for message in (result(text, tool="fetch"), call("send_email", body=text)):
                found = {r for r in rules(verdict(self.steps, message)) if r.startswith("data_exfiltration.")}
                if found:
                    flagged.append((n, found))
        self.assertEqual(flagged, [])

    def test_addressBesideControls(self) -> None:
        for text in ("\x1b[1mBerta Müller\x1b[0m <berta.müller@firma.de>", "Kontakt:\x07 søren@kobenhavn.dk\x0c", "ana@correo.es\x00"):
            self.assertIn(EMAIL, rules(verdict(self.steps, result(text, tool="fetch"))), repr(text))


# (form, text): a table whose header names a column of telephone numbers
COLUMNS = [
    ("CSV, one group", "id,name,contact\n17,Olga Garcia,68792801\n"),
    ("CSV, groups no plan writes", "id,name,phone\n3,Kai Berg,633 23 592\n"),
    ("Markdown", "| name | mobile |\n|---|---|\n| Tomasz Nowak | 21578869 |"),
    ("tab-separated, international", "name\ttel\nAna Ruiz\t+34 612 34 56 78"),
    ("semicolons, a later row", "nom;téléphone;fax\nx;;\nLéa Martin;;0145678910"),
]
# (form, text): the same shapes with no number to call in the column
NOT_COLUMNS = [
    ("a contact column of names", "id,name,contact\n17,Olga Garcia,Kai Berg\n"),
    ("a count of contacts", "account,contacts\nacme,12\nglobex,7\n"),
    ("numbers in a column not named for a phone", "id,name,order\n17,Olga Garcia,68792801\n"),
    ("dates in a phone column", "id,phone\n1,2024-05-01\n2,2023-11-30\n"),
    ("the word alone", "phone\nheadset, black"),
]


class ContactColumnTests(ContextRuleCases, PhoneCases, SynchronousTestCase):
    """
    A data tool's own arguments keep their contacts; what it returns is
    judged.
    """

    found = COLUMNS
    silent = NOT_COLUMNS
    tool = "query_db"
    validator = "contact_column"
    inward = ("update_crm_table", "rows")
    adversarial = ["contact," * 14_000, ",contact " * 12_000, "contact_x," * 10_000, ",," * 50_000, "|contact|\n" * 10_000, " \t" * 50_000 + "contact"]
