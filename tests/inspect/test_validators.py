"""
Tests for L{akto_proxy.inspect.checks.validators}.
"""

from hypothesis import given, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect.checks import validators as v


class ValidatorTests(SynchronousTestCase):
    def test_creditCard(self) -> None:
        self.assertTrue(v.creditCard("4111 1111 1111 1111"))
        self.assertTrue(v.creditCard("378282246310005"))
        self.assertFalse(v.creditCard("4111 1111 1111 1112"))
        self.assertFalse(v.creditCard("1234567890123452"))  # no issuer
        self.assertFalse(v.creditCard("4111 11111111 1111"))  # odd grouping

    @given(st.from_regex(r"4\d{14}", fullmatch=True))
    def test_luhnCheckDigit(self, body: str) -> None:
        """
        Exactly one check digit makes a Luhn-valid number.
        """
        valid = [d for d in "0123456789" if v.luhn(body + d)]
        self.assertEqual(len(valid), 1)

    def test_ssn(self) -> None:
        self.assertTrue(v.ssn("536-22-1456"))
        for bad in ("000-12-3456", "666-12-3456", "912-12-3456", "123-00-4567", "123-45-0000", "078-05-1120"):
            self.assertFalse(v.ssn(bad), bad)

    def test_iban(self) -> None:
        self.assertTrue(v.iban("GB82 WEST 1234 5698 7654 32"))
        self.assertTrue(v.iban("DE89370400440532013000"))
        self.assertFalse(v.iban("GB82WEST12345698765431"))
        self.assertFalse(v.iban("XX82WEST12345698765432"))

    def test_secrets(self) -> None:
        self.assertFalse(v.awsAccessKey("AKIAIOSFODNN7EXAMPLE"))
        self.assertTrue(v.jwt("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc"))
        self.assertFalse(v.jwt("eyJub3RhbGciOjF9.eyJzdWIiOiIxIn0.abc"))
        self.assertFalse(v.connectionString("postgres://user:password@localhost/db"))
        self.assertTrue(v.connectionString("postgres://app:Xk9Lm2Np4Qr6@db/app"))
        self.assertFalse(v.assignedSecret("password = os.environ['DB_PASSWORD']"))
        self.assertTrue(v.assignedSecret("api_key = 'Zx9Kq2Lm8Np4Rt6Vw1Yb'"))

    def test_tautology(self) -> None:
        self.assertTrue(v.tautology("1' OR '1'='1"))
        self.assertTrue(v.tautology("' or 2>1 --"))
        self.assertFalse(v.tautology("what does 'or 1=1' mean in reports"))
        self.assertFalse(v.tautology("WHERE a = 1 OR b = 2"))

    def test_climb(self) -> None:
        self.assertEqual(v.climb("../README.md"), 1)
        self.assertEqual(v.climb("a/b/../../../../x"), 2)
        self.assertEqual(v.climb("see ../../x and ../y"), 2)
        self.assertGreater(v.climb("/var/www/../../../etc"), 10)
