"""
Session 17: a telephone number whose row or list names its region next
(C{Mei Chan, 9123 4567, HK}), and a number in angle brackets after a
person's name, where a mailbox writes the address (C{Ana Costa <912 345
678>}).  Either context says whose number it is; the digits must still be
a valid number (of that region; of some region).  Without the context,
with a label of something else, or digits no region assigns, they stay
silent.

Written here, not copied from any corpus.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from tests.inspect.test_checks import call, mediumSteps, rules, verdict
from tests.inspect.test_s16_pii import EMAIL, ContextRuleCases, PhoneCases

# (form, text): each passed before this session
REGION_AFTER = [
    ("Hong Kong, a list", "Mei Chan, 9123 4567, HK"),
    ("Israel, with its country code and no plus", "Noa Levi, 972-52-3456789, IL"),
    ("Portugal, a Markdown row, groups no plan writes", "| Ana Costa | 91 23 45 678 | PT |"),
    ("Luxembourg, semicolons", "Jean Weber;6211 23456;LU"),
]
# (form, text): the same digits where nothing names their region, or not
# a number of the region named
NO_REGION = [
    ("not a field of a row", "shipment 9123 4567, HK"),
    ("not valid in the region named", "Mei Chan, 1234 5678, HK"),
    ("no such region", "Mei Chan, 9123 4567, QQ"),
    ("a word after the code", "Mei Chan, 9123 4567, HK dollars"),
    ("a reference before it", "order #9123 4567, HK"),
]

MAILBOX = [
    ("groups no plan writes", "Ana Costa <9123 45678>"),
    ("one group", "reply from Mei Chan <91234567> today"),
    ("the country code without its plus", "Noa Levi <97252 3456789>"),
    ("a bracketed area code, two-digit groups", "Olga Petrova <(916) 123-45-67>"),
]
NOT_MAILBOX = [
    ("a label, not a name", "Build Date <20231201>"),
    ("a reference", "Order Number <91234567>"),
    ("too short", "Ana Costa <12345>"),
    ("a type, no blank before the bracket", "Ana Costa<91234567>"),
    ("no name", "value <91234567>"),
    ("no region's number", "Ana Costa <0000 0000>"),
]


# (form, text): after a label, the first group a single digit (a trunk
# prefix, an area code); each passed before this session
LEAD_DIGIT = [
    ("a trunk prefix alone", "contact: 0 612 874 395"),
    ("an area code of one digit", "Telefon: 3 41 86 52 90"),
]
# (form, text): single digits throughout, or no label
NOT_LEAD_DIGIT = [
    ("single digits throughout", "contact: 0 6 1 2 8 7 4 3 9 5"),
    ("no label", "shipment 0 612 874 395"),
    ("too short", "contact: 1 2345 678"),
]


class LeadDigitTests(PhoneCases, SynchronousTestCase):
    found = LEAD_DIGIT
    silent = NOT_LEAD_DIGIT


class RegionAfterTests(PhoneCases, SynchronousTestCase):
    found = REGION_AFTER
    silent = NO_REGION


class MailboxNumberTests(ContextRuleCases, PhoneCases, SynchronousTestCase):
    """
    A CRM tool's own arguments keep their contacts.
    """

    found = MAILBOX
    silent = NOT_MAILBOX
    validator = "contact_mailbox"
    inward = ("update_crm_contact", "notes")
    adversarial = ["Ana " * 25_000, "Ana Costa <1" * 8_000, "A" * 100_000, "Ab Cd Ef Gh Ij " * 6_000, "Ana <" + "1 " * 50_000]


class MarkedScriptAddressTests(SynchronousTestCase):
    """
    An internationalised address (RFC 6531) in a script written with
    combining marks (Devanagari's vowel signs and virama, Thai's vowels):
    the marks are no word characters to C{re}, and an address in such a
    script was cut at its first one.  Prose in the script around an C{@}
    is still no address.
    """

    def test_found(self) -> None:
        steps = mediumSteps()
        for text in ("कृपया संपर्क करें: प्रबंधक@कंपनी.भारत", "ส่งถึง สมชาย@บริษัท.ไทย ด่วน", "Anschrift: zoë.ü@firma.de"):
            self.assertIn(EMAIL, rules(verdict(steps, call("send_email", body=text))), text)

    def test_silent(self) -> None:
        steps = mediumSteps()
        for text in ("मूल्य @ १०० रुपये प्रति किलो", "ราคา @ ร้าน ใหม่"):
            self.assertNotIn(EMAIL, rules(verdict(steps, call("send_email", body=text))), text)
