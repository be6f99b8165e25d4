"""
The labelled corpus (tests/corpus) at medium sensitivity: the part the rules
were tuned on meets the targets; the held-out part (tests/corpus/classic,
split by source and by a seeded fraction before tuning) keeps at least the
rates reached when it was measured, as floors to raise, not targets met.
"""

from twisted.trial.unittest import SynchronousTestCase

from tests.corpus.evaluate import entries, load, measure

CLASSIC = ("sql_injection", "command_injection", "path_traversal")


def injectionCorpus(split: str) -> list[dict[str, str]]:
    """
    The entries of C{split} but the secrets and PII corpus (each of its
    entries names a C{subcategory}), which test_corpus_exfil measures
    against its own floors: a CRM tool's contacts are flagged there by
    design when its exclusion is off.
    """
    return [e for e in entries(split) if "subcategory" not in e]

# Held-out rates at medium when the detection of issue 16 was finished
# (scripts/corpus_report.py): floors a change must not go below.
HOLDOUT_TPR = {"sql_injection": 0.94, "command_injection": 0.90, "path_traversal": 0.90}
HOLDOUT_FPR = {True: 0.008, False: 0.012}  # with the sample exclusions, without


class CorpusTests(SynchronousTestCase):
    def test_size(self) -> None:
        self.assertGreaterEqual(len(load("attacks.jsonl")), 300)
        self.assertGreaterEqual(len(load("benign.jsonl")), 300)
        attacks = [e for e in entries(label="attack") if e["category"] in CLASSIC]
        benign = [e for e in entries(label="benign") if e["category"] in CLASSIC]
        self.assertGreaterEqual(len(attacks), 4000)
        self.assertGreaterEqual(len(benign), 1600)

    def test_splits(self) -> None:
        """
        Every entry of the second corpus names its split; both splits hold
        attacks and benign traffic of each class.
        """
        for e in entries():
            self.assertIn(e["split"], ("tune", "holdout"), e)
        for split in ("tune", "holdout"):
            for label in ("attack", "benign"):
                cats = {e["category"] for e in entries(split, label)}
                self.assertTrue(set(CLASSIC) <= cats, (split, label, cats))

    def test_tuneWithExclusions(self) -> None:
        r = measure("medium", exclusions=True, items=injectionCorpus("tune"))
        for category in CLASSIC + ("data_exfiltration",):
            hit, total = r.tpr[category]
            self.assertGreaterEqual(hit / total, 0.93, f"{category}: {[m['text'] for m in r.misses if m['category'] == category]}")
        self.assertLessEqual(r.fprRate(), 0.005, r.falsePositives)

    def test_tuneWithoutExclusions(self) -> None:
        r = measure("medium", exclusions=False, items=injectionCorpus("tune"))
        self.assertLessEqual(r.fprRate(), 0.01, r.falsePositives)

    def test_holdout(self) -> None:
        """
        The held-out floors; the failure message gives rates only, not the
        entries (reading them would make the part a tuning set).
        """
        for exclusions in (True, False):
            r = measure("medium", exclusions=exclusions, items=injectionCorpus("holdout"))
            for category, floor in HOLDOUT_TPR.items():
                self.assertGreaterEqual(r.rate(category), floor, (category, exclusions, r.tpr[category]))
            self.assertLessEqual(r.fprRate(), HOLDOUT_FPR[exclusions], (exclusions, r.fpr))
