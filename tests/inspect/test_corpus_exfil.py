"""
Floors on the secrets, PII and bulk corpus (tests/corpus/classic, built by
build_exfil.py, measured by measure_exfil.py) at medium, tune and held-out
splits; and the prefilter still proves only clean messages clean on it.

The floors are what the rules reach today, rounded down: a change that loses
recall or gains false positives fails here.  The issue's targets (97% TPR
for secrets and PII on the held-out part) are not all met: see the README's
"Secrets and PII" table.
"""

from __future__ import annotations

from typing import Any

from twisted.trial.unittest import SynchronousTestCase

from tests.corpus.classic import measure_exfil as M
from tests.inspect.test_prefilter import buildPrefilter, call, result, same, steps

#: (subcategory, split) -> minimum TPR at medium with the sample exclusions
#: (the tune part took in two scanners' fixtures in session 9, harder than
#: its generated lines: its rate fell from 96.6% to 94.4% while the
#: held-out rates rose; the fresh part was first scored at 62.8% / 93.6%)
#: (session 11: 98.0% / 88.0% / 69.1% with build_secrets_s11.py's lines;
#: session 12: 98.2% / 88.0% / 71.3% with build_secrets_s12.py's;
#: session 13: 98.3% / 88.0% / 71.3% with build_secrets_s13.py's;
#: session 14, the fresh part unsealed: 98.3% / 88.0% / 76.0%;
#: session 15: secrets 93.1% / 88.2% / 76.8% with build_secrets_s15.py's
#: lines, kingfisher's rule examples among them, harder than the generated
#: ones: main's rules find 90.5% of the tune part with them; PII tune
#: 97.5% -> 87.5% when build_pii_s15.py's 620 lines came in (validator.js's
#: mobile numbers are mostly one group of digits, written with no trunk
#: prefix and no word announcing them), 93.2% after the classes it showed;
#: session 15's second round: 92.7% / 89.0% / 78.7% with
#: build_secrets_s15b.py's lines (gitleaks' rule tests: main's rules find
#: 92.0% of the tune part with them; the alphabet-run placeholder check
#: silences some of kingfisher's made-up examples, so tune fell 0.4 point);
#: session 15's third round, the fourth part's classes (a key named by its
#: service and quoted, Jenkins' XML, .npmrc, DER keys): 92.8% / 89.0% /
#: 78.7%, fourth 76.6% -> 90.2%)
TPR_FLOORS = {
    ("secrets", "tune"): 0.923,
    ("secrets", "holdout"): 0.885,
    ("secrets", "fresh"): 0.782,
    ("pii", "tune"): 0.928,
    ("pii", "holdout"): 0.98,
    ("pii", "fresh"): 0.93,
    # the sealed fourth part (build_fourth.py), scored once in session 14 at
    # 74.2% / 73.7%, FPR 20/294 (6.8%); again after session 14's classes:
    # the same rates, FPR 8/294 (2.7%: a gist tool's content now has the
    # sample exclusion write_file's has); session 15, before the part was
    # unsealed: PII 82.7% (tune-side classes: other scripts, bracketed
    # country codes, one group after the trunk prefix)
    ("secrets", "fourth"): 0.897,
    ("pii", "fourth"): 0.865,
    # the sealed fifth part (build_fifth.py), scored once in session 15 at
    # 68.2% / 60.2%, FPR 5/396 (1.3%; 7/396 without the sample exclusions);
    # again when the fourth was unsealed: 70.0% / 74.6%; after the fourth's
    # classes 70.0% / 76.4% (fourth, a tuning part since: PII 87.1%, FPR
    # 1/294 with the sample exclusions)
    ("secrets", "fifth"): 0.69,
    ("pii", "fifth"): 0.755,
    ("bulk", "tune"): 1.0,
    ("bulk", "holdout"): 1.0,
}
#: split -> maximum FPR at medium with the sample exclusions (the held-out
#: part holds detect-secrets' own negatives, whose labels follow that
#: tool's rules, not ours: 11 of its 63)
#: (tune: 0.6% since build_secrets_s15b.py's 293 gitleaks false-positive
#: strings came in: 6 of its 10 flagged lines are other classes' rules,
#: SQL, command and e-mail, on gitleaks' curl and shell lines; 0.61% where
#: the git-ignored tune lines, secrets_more and secrets_s14, are not built)
FPR_CEILINGS = {"tune": 0.007, "holdout": 0.03, "fresh": 0.005, "fourth": 0.01, "fifth": 0.016}
#: parts built where the public snapshots are, absent elsewhere
LOCAL_SPLITS = ("fresh", "fourth", "fifth")


class CorpusFloorTests(SynchronousTestCase):
    def test_medium(self) -> None:
        rates = M.measure("medium", True)
        for key, floor in TPR_FLOORS.items():
            hit, total = rates.tpr.get(key, (0, 0))
            if key[1] in LOCAL_SPLITS and not total:
                continue  # built where the public snapshots are (build_fresh.py, build_fourth.py, build_fifth.py)
            self.assertGreater(total, 0, key)
            self.assertGreaterEqual(hit / total, floor, key)
        for split, ceiling in FPR_CEILINGS.items():
            flagged, total = rates.fpr.get(split, (0, 0))
            if split in LOCAL_SPLITS and not total:
                continue
            self.assertLessEqual(flagged / total, ceiling, split)

    def test_exclusions_are_the_knob(self) -> None:
        """
        A CRM tool's own contacts are silent with the per-tool exclusion
        and found without it.
        """
        crm = [e for e in M.load(M.BENIGN) if e.get("needs_exclusion") == "crm"]
        self.assertTrue(crm)
        for exclusions, expect in ((True, 0), (False, len(crm))):
            flagged = sum(bool(v.findings) for _, v in M.verdicts("medium", exclusions, crm))
            self.assertEqual(flagged, expect, exclusions)

    def test_tiers(self) -> None:
        """
        Recall grows with sensitivity.
        """
        low, medium, high = (M.measure(s, True) for s in ("low", "medium", "high"))
        for key in TPR_FLOORS:
            rate = [r.tpr.get(key, (0, 0))[0] for r in (low, medium, high)]
            self.assertEqual(rate, sorted(rate), key)


class PrefilterOnCorpusTests(SynchronousTestCase):
    def test_same_outcome(self) -> None:
        """
        Every entry (a sample of the phone numbers, which are many): the
        chain with and without the prefilter agree, and what the prefilter
        calls clean every covered step passes.
        """
        entries = M.load(M.ATTACKS + M.BENIGN)
        entries = [e for i, e in enumerate(entries) if e["family"] != "phone" or i % 5 == 0]
        for sensitivity in ("medium", "high"):
            built = steps(sensitivity)
            prefilter = buildPrefilter(built)
            for e in entries:
                m: Any
                if e["direction"] == "response":
                    m = result(e["text"], tool=e["tool"])
                else:
                    m = call(e["tool"], **{e["argument"]: e["text"]})
                same(self, built, prefilter, m)
