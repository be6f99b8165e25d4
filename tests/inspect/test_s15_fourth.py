"""
Session 15: the false-positive classes the (now unsealed) fourth part
showed in what agents legitimately send: a shell variable in a URL's
userinfo read as an address or a password (C{https://$USER:$TOKEN@github.com}),
a team's inbox in a vendor's instructions read as a person's address
(C{support@...}), and an empty option read with the next line as its value
(C{-Dsonar.projectKey=} then C{-Dsonar.organization=}).  Each benign text
below was flagged by the rules before; each secret or contact of the same
shape is still found.  Written here, not copied from any corpus.
"""

from __future__ import annotations

import re

from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect.checks import rules as R
from akto_proxy.inspect.checks.validators import connectionString, placeholder
from tests.inspect.test_checks import call, mediumSteps, result, rules, verdict
from tests.inspect.test_s15_secrets import assertLinear

EXFIL = "data_exfiltration"

BENIGN = [
    ("a variable in a remote's userinfo", "git remote set-url origin https://$GITHUB_USER:$GITHUB_TOKEN@github.com/acme/app.git"),
    ("braced variables in a remote's userinfo", "git clone https://${CI_USER}:${CI_JOB_TOKEN}@gitlab.acme-corp.com/team/app.git"),
    ("a command in a password's place", "psql postgresql://app:$(cat /run/secrets/db)@db.acme-corp.com/app"),
    ("a vendor's support inbox", "# Questions? Contact us via chat or at support@debricked.com"),
    ("a security contact", "Report vulnerabilities to security@acme-corp.com (PGP key on the site)."),
    ("an empty option before the next", "sonar-scanner\n  -Dsonar.projectKey=\n  -Dsonar.organization=\n  -Dsonar.host.url=https://sonarcloud.io"),
    ("an empty key before the next line", "API_KEY=\nDEBUG=true\nLOG_LEVEL=info"),
]

FOUND = [
    ("a password in a remote's userinfo", "git clone https://deploy:Xk9fQ2vLm8Rt3Zp7@git.acme-corp.com/app.git", "connection_string"),
    ("a person's address at the same vendor", "Write to anna.berg@debricked.com about the renewal", "email"),
    ("a YAML value on the next line", "password:\n  Xk9fQ2vLm8Rt3Zp7Wq4NbV6c", "assigned_secret"),
    ("an XML value on the next line", "<apiToken>\n    Xk9fQ2vLm8Rt3Zp7Wq4NbV6c\n</apiToken>", "assigned_secret"),
]


class FourthFalsePositiveTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.steps = mediumSteps()

    def test_benign(self) -> None:
        for form, text in BENIGN:
            for message in (call("create_gist", description=text), result(text)):
                found = {r for r in rules(verdict(self.steps, message)) if r.startswith(EXFIL)}
                self.assertFalse(found, f"{form}: {text!r} -> {found}")

    def test_found(self) -> None:
        for form, text, rule in FOUND:
            found = rules(verdict(self.steps, call("send_email", body=text)))
            self.assertIn(f"{EXFIL}.{rule}", found, f"{form}: {text!r}")

    def test_references(self) -> None:
        for value in ("$GITHUB_TOKEN", "$db_password", "$(cat /run/secrets/db)"):
            self.assertTrue(placeholder(value), value)
        for value in ("$ecr3t!Xk9fQ2", "Xk9fQ2vLm8Rt$"):
            self.assertFalse(placeholder(value), value)
        self.assertFalse(connectionString("https://$USER:$TOKEN@github.com"))
        self.assertTrue(connectionString("https://deploy:Xk9fQ2vLm8Rt3Zp7@git.acme-corp.com"))


class LinearTraversalTests(SynchronousTestCase):
    def test_longRun(self) -> None:
        """
        traversal_to_sensitive_file's confirming pattern starts once per run
        of ../ (it took 1.8 s on 100 KB of them, tried at every one) and
        still finds the file after any depth.
        """
        rule = next(r for r in R.PATH_RULES if r.name == "traversal_to_sensitive_file" and r.confirm and "++" in r.confirm)
        confirm = re.compile(rule.confirm, re.M | re.A | re.I)
        assertLinear(self, [confirm], ["../" * 33000 + "etc/passwd", "../" * 33000 + "x"])
        for depth in (1, 3, 70):
            self.assertIsNotNone(confirm.search(" " + "../" * depth + "etc/passwd"), depth)
