"""
The labelled corpus (tests/corpus) meets the detection targets at medium
sensitivity: TPR >= 95% per attack category, FPR <= 0.5% with the sample
exclusions and <= 2% without.
"""

from twisted.trial.unittest import SynchronousTestCase

from tests.corpus.evaluate import load, measure


class CorpusTests(SynchronousTestCase):
    def test_size(self) -> None:
        self.assertGreaterEqual(len(load("attacks.jsonl")), 300)
        self.assertGreaterEqual(len(load("benign.jsonl")), 300)

    def test_mediumWithExclusions(self) -> None:
        r = measure("medium", exclusions=True)
        for category, (hit, total) in r.tpr.items():
            self.assertGreaterEqual(hit / total, 0.95, f"{category}: {[m['text'] for m in r.misses]}")
        self.assertLessEqual(r.fpr[0] / r.fpr[1], 0.005, r.falsePositives)

    def test_mediumWithoutExclusions(self) -> None:
        r = measure("medium", exclusions=False)
        self.assertLessEqual(r.fpr[0] / r.fpr[1], 0.02, r.falsePositives)
