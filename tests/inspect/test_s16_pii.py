"""
Session 16: a telephone number right after its label (C{contact:}, a
C{phone} column of a table or a CSV line), in whatever digit groups its
writer chose: valid for some region and labelled, it is a number to call,
not a part number.  Without the label, or with another number or a unit
between, the same digits stay silent.

Written here, not copied from any corpus.
"""

from __future__ import annotations

import random

from twisted.trial.unittest import SynchronousTestCase

from tests.inspect.test_checks import call, mediumSteps, result, rules, verdict

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


class LabelledNumberTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.steps = mediumSteps()

    def test_labelled(self) -> None:
        for form, text in LABELLED:
            for message in (call("send_email", body=text), result(text, tool="search_files")):
                self.assertIn(PHONE, rules(verdict(self.steps, message)), f"{form}: {text!r}")

    def test_unlabelled(self) -> None:
        for form, text in UNLABELLED:
            for message in (call("send_email", body=text), result(text, tool="search_files")):
                self.assertNotIn(PHONE, rules(verdict(self.steps, message)), f"{form}: {text!r}")


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
