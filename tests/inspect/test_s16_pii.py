"""
Session 16: a telephone number right after its label (C{contact:}, a
C{phone} column of a table or a CSV line), in whatever digit groups its
writer chose: valid for some region and labelled, it is a number to call,
not a part number.  Without the label, or with another number or a unit
between, the same digits stay silent.

Written here, not copied from any corpus.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from tests.inspect.test_checks import call, mediumSteps, result, rules, verdict

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
