"""
The labelled corpus (tests/corpus) meets the detection targets at medium
sensitivity, on the part the rules were tuned on and, as floors of what was
reached, on the held-out part.
"""

from twisted.trial.unittest import SynchronousTestCase

from tests.corpus.evaluate import entries, load, measure


class CorpusTests(SynchronousTestCase):
    def test_size(self) -> None:
        self.assertGreaterEqual(len(load("attacks.jsonl")), 300)
        self.assertGreaterEqual(len(load("benign.jsonl")), 300)

    def test_splits(self) -> None:
        """
        Every entry of the second corpus names its split.
        """
        for e in entries():
            self.assertIn(e["split"], ("tune", "holdout"), e)

    def test_mediumWithExclusions(self) -> None:
        r = measure("medium", exclusions=True)
        for category, (hit, total) in r.tpr.items():
            self.assertGreaterEqual(hit / total, 0.95, f"{category}: {[m['text'] for m in r.misses]}")
        self.assertLessEqual(r.fpr[0] / r.fpr[1], 0.005, r.falsePositives)

    def test_mediumWithoutExclusions(self) -> None:
        r = measure("medium", exclusions=False)
        self.assertLessEqual(r.fpr[0] / r.fpr[1], 0.02, r.falsePositives)
