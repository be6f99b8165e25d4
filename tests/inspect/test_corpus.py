"""
The labelled corpus (tests/corpus) at medium sensitivity: the part the rules
were tuned on meets the targets; the held-out part (tests/corpus/classic,
split by source and by a seeded fraction before tuning) keeps at least the
rates reached when it was measured, as floors to raise, not targets met.
"""

import glob
import hashlib
import json
import os

from twisted.trial.unittest import SkipTest, SynchronousTestCase

from tests.corpus.evaluate import CLASSIC as CLASSIC_DIR
from tests.corpus.evaluate import LOCAL_PARTS, SPLITS, entries, load, measure

CLASSIC = ("sql_injection", "command_injection", "path_traversal")

FRESH_MISSING = ("tests/corpus/classic/fresh/*.jsonl not built here: it is made from public snapshots "
                 "by tests/corpus/classic/build_fresh.py and kept out of the repository")
FOURTH_MISSING = ("tests/corpus/classic/fourth/*.jsonl not built here: it is made from public snapshots "
                  "by tests/corpus/classic/build_fourth.py and kept out of the repository")
FIFTH_MISSING = ("tests/corpus/classic/fifth/*.jsonl not built here: it is made from public snapshots "
                 "by tests/corpus/classic/build_fifth.py and kept out of the repository")
SIXTH_MISSING = ("tests/corpus/classic/sixth/*.jsonl not built here: it is made from public snapshots "
                 "by tests/corpus/classic/build_sixth.py and kept out of the repository")
SEVENTH_MISSING = ("tests/corpus/classic/seventh/*.jsonl not built here: it is made from public snapshots "
                   "by tests/corpus/classic/build_seventh.py and kept out of the repository")
EIGHTH_MISSING = ("tests/corpus/classic/eighth/*.jsonl not built here: it is made from public snapshots "
                  "by tests/corpus/classic/build_eighth.py and kept out of the repository")


def injectionCorpus(split: str) -> list[dict[str, str]]:
    """
    The entries of C{split} but the secrets and PII corpus (each of its
    entries names a C{subcategory}), which test_corpus_exfil measures
    against its own floors: a CRM tool's contacts are flagged there by
    design when its exclusion is off.
    """
    return [e for e in entries(split) if "subcategory" not in e]

# Held-out rates at medium (scripts/corpus_report.py), rounded down: floors a
# change must not go below (session 10: path 92.7%, FPR 0.59% and 0.94%).
# (session 11: SQL 95.1%, command 91.97%, path 93.9%; session 12: command 93.43%, path 96.5%)
# (session 14: unsealed and tuned on by class, SQL 97.34%, command 95.26%, path 97.67%)
# (session 15's injection classes: command 95.99%, path 98.26%)
HOLDOUT_TPR = {"sql_injection": 0.968, "command_injection": 0.954, "path_traversal": 0.977}
HOLDOUT_FPR = {True: 0.006, False: 0.010}  # with the sample exclusions, without
# The fresh part (classic/fresh, session 9): first scored at SQL 95.6%,
# command 60.5%, path 88.4%; these are the rates after that session's tuning
# on the tune part, floors in the same sense.
# (session 11: SQL 96.3%, command 89.69%, path 93.0%; session 12: SQL 96.47%, command 90.13%, path 94.07%)
# (session 14: unsealed and tuned on by class, SQL 98.49%, command 95.52%, path 97.30%)
# (session 15's injection classes: SQL 98.74%, command 98.65%)
FRESH_TPR = {"sql_injection": 0.982, "command_injection": 0.981, "path_traversal": 0.968}
FRESH_FPR = {True: 0.005, False: 0.008}
# The fourth part (classic/fourth, session 14), sealed: scored once after it
# was committed, at SQL 94.79%, command 99.53%, path 93.94%, injection FPR
# 22/1838 (1.20%) with the sample exclusions and 30/1838 (1.63%) without;
# floors about a point below, ceilings about a point above.  (Scored again
# after session 14's classes: SQL 95.34%, command 99.53%, path 93.94%.)
# Unsealed in session 15 and tuned on by class: SQL 100%, command 100%, path
# 98.48%, injection FPR 8/1838 and 16/1838; floors half a point below.
FOURTH_TPR = {"sql_injection": 0.995, "command_injection": 0.995, "path_traversal": 0.979}
FOURTH_FPR = {True: 0.006, False: 0.010}  # (session 14 after its classes: 20/1838 and 28/1838; session 15: 8 and 16)
# The fifth part (classic/fifth, session 15), sealed until session 16: scored once after it
# was committed, at SQL 99.67%, command 95.73%, path 96.86%, injection FPR
# 20/2369 (0.84%) with the sample exclusions and 31/2369 (1.31%) without;
# floors about a point below, ceilings about 0.3 point above.
FIFTH_TPR = {"sql_injection": 0.986, "command_injection": 0.99, "path_traversal": 0.98}  # (cmd, path raised in session 16: 100.00, 98.65)
FIFTH_FPR = {True: 0.0115, False: 0.0161}
# the sixth's score when it was unsealed (session 17): SQL 99.68, cmd 96.18,
# path 94.99; FPR 0.11% (0.54% without the exclusions)
SIXTH_TPR = {"sql_injection": 0.99, "command_injection": 0.955, "path_traversal": 0.945}
SIXTH_FPR = {True: 0.005, False: 0.009}
# the seventh's score when it was unsealed (session 18): SQL 95.01, cmd 93.39,
# path 96.16; FPR 0.15% (0.81% without the exclusions)
SEVENTH_TPR = {"sql_injection": 0.98, "command_injection": 0.96, "path_traversal": 0.955}
SEVENTH_FPR = {True: 0.005, False: 0.011}


def _cmdS11Benign(e: dict[str, str]) -> bool:
    return e["category"] == "command_injection" and e["label"] == "benign" and e["source"].startswith("written:s11:")


def _sqlS12Benign(e: dict[str, str]) -> bool:
    return e["category"] == "sql_injection" and e["label"] == "benign" and e["source"].startswith(("crs-s12", "written-s12"))


def _cmdS12Benign(e: dict[str, str]) -> bool:
    return e["category"] == "command_injection" and e["label"] == "benign" and e["source"].startswith(("written:s12:", "pure-bash-bible:"))


def _cmdS13Benign(e: dict[str, str]) -> bool:
    return e["category"] == "command_injection" and e["label"] == "benign" and e["source"].startswith("written:s13:")


def _apart(e: dict[str, str]) -> bool:
    return _cmdS11Benign(e) or _sqlS12Benign(e) or _cmdS12Benign(e) or _cmdS13Benign(e)


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
            self.assertIn(e["split"], SPLITS, e)
        for split in ("tune", "holdout") + tuple(s for s in LOCAL_PARTS if entries(s)):
            for label in ("attack", "benign"):
                cats = {e["category"] for e in entries(split, label)}
                self.assertTrue(set(CLASSIC) <= cats, (split, label, cats))

    def test_tuneWithExclusions(self) -> None:
        r = measure("medium", exclusions=True, items=[e for e in injectionCorpus("tune") if not _apart(e)])
        for category in CLASSIC + ("data_exfiltration",):
            hit, total = r.tpr[category]
            self.assertGreaterEqual(hit / total, 0.93, f"{category}: {[m['text'] for m in r.misses if m['category'] == category]}")
        self.assertLessEqual(r.fprRate(), 0.005, r.falsePositives)

    def test_tuneWithoutExclusions(self) -> None:
        r = measure("medium", exclusions=False, items=[e for e in injectionCorpus("tune") if not _apart(e)])
        self.assertLessEqual(r.fprRate(), 0.01, r.falsePositives)

    def test_cmdS11Benign(self) -> None:
        """
        Session 11's hard benign command-injection lines (build_cmd_s11.py)
        are counted on their own: they hold questions about commands in
        prose, which the low-level rules flag wherever they sit, and tight
        lists (C{yes;no}) read as a second command; a ceiling at what they
        cost when written (6 of 154), not hidden in the 0.5% above.
        """
        r = measure("medium", exclusions=True, items=[e for e in injectionCorpus("tune") if _cmdS11Benign(e)])
        self.assertLessEqual(r.fpr[0], 6, r.falsePositives)

    def test_sqlS12Benign(self) -> None:
        """
        Session 12's hard benign SQL lines (build_sql_s12.py: the CRS's own
        negative tests, literal values) are counted on their own, as
        session 11's command lines are: a ceiling at what they cost when
        written (2 SQL findings, 3 command findings on lists such as
        C{'foo';'bar';'def'}).
        """
        r = measure("medium", exclusions=True, items=[e for e in injectionCorpus("tune") if _sqlS12Benign(e)])
        sql = [f for f in r.falsePositives if any(x.startswith("sql_injection.") for x in f[1])]
        self.assertLessEqual(len(sql), 2, sql)
        self.assertLessEqual(r.fpr[0], 5, r.falsePositives)

    def test_cmdS12Benign(self) -> None:
        """
        Session 12's hard benign command-injection lines (build_cmd_s12.py),
        counted on their own the same way: the separator rule before the
        shell reader takes lists of words that name commands (C{copy &
        paste}, C{read; write; execute}) for a second command; a ceiling at
        what they cost when written (5 of 361 with the sample exclusions,
        9 without: pure-bash-bible's lines for a coding tool, one by the SQL
        check), none of it the
        shell reader's.
        """
        for exclusions, ceiling in ((True, 5), (False, 9)):
            r = measure("medium", exclusions=exclusions, items=[e for e in injectionCorpus("tune") if _cmdS12Benign(e)])
            self.assertLessEqual(r.fpr[0], ceiling, r.falsePositives)
            self.assertFalse([e for e, found in r.falsePositives if "command_injection.shell_structure" in found], r.falsePositives)

    def test_cmdS13Benign(self) -> None:
        """
        Session 13's hard benign command-injection lines (build_cmd_s13.py:
        format strings, carets, environment paths, base64 values, names like
        cmdlets, PowerShell and batch lines for a coding tool), counted on
        their own: a ceiling at what they cost when written (3 of 144, with
        the sample exclusions or without: a tight list C{a,b;c}, C{don``t}
        read as an empty substitution, C{e^(i*pi) + 1 = 0} by the SQL
        check), none of it the session's reading of evaluated code.
        """
        for exclusions in (True, False):
            r = measure("medium", exclusions=exclusions, items=[e for e in injectionCorpus("tune") if _cmdS13Benign(e)])
            self.assertLessEqual(r.fpr[0], 3, r.falsePositives)
            self.assertFalse([e for e, found in r.falsePositives if "command_injection.evaluated_code" in found], r.falsePositives)

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

    def test_fresh(self) -> None:
        """
        The fresh part's floors; rates only in the failure message.  The
        part is built on the machine that has the public snapshots
        (classic/build_fresh.py) and is not in the repository.
        """
        self._localPart("fresh", FRESH_TPR, FRESH_FPR, FRESH_MISSING)

    def test_fourth(self) -> None:
        """
        The fourth part's floors (sealed until session 15, a tuning part
        since).  Built where the public snapshots are
        (classic/build_fourth.py), not in the repository.
        """
        self._localPart("fourth", FOURTH_TPR, FOURTH_FPR, FOURTH_MISSING)

    def test_fifth(self) -> None:
        """
        The fifth part's floors (sealed until session 16, a tuning part
        since).  Built where the public snapshots are
        (classic/build_fifth.py), not in the repository.
        """
        self._localPart("fifth", FIFTH_TPR, FIFTH_FPR, FIFTH_MISSING)

    def test_sixth(self) -> None:
        """
        The sixth part's floors (sealed until session 17, a tuning part
        since).  Built where the public snapshots are
        (classic/build_sixth.py), not in the repository.
        """
        self._localPart("sixth", SIXTH_TPR, SIXTH_FPR, SIXTH_MISSING)

    def test_seventh(self) -> None:
        """
        The seventh part's floors (sealed until session 18, a tuning part
        since).  Built where the public snapshots are
        (classic/build_seventh.py), not in the repository.
        """
        self._localPart("seventh", SEVENTH_TPR, SEVENTH_FPR, SEVENTH_MISSING)

    def test_eighth(self) -> None:
        """
        The sealed eighth part (classic/build_eighth.py, session 18),
        checked as the seventh was while sealed: the part its manifest recorded before it
        was first scored, each class scored; no floors, counts only in a
        failure.
        """
        self._sealedPart("eighth", EIGHTH_MISSING)

    def _sealedPart(self, split: str, missing: str) -> None:
        """
        A sealed part built where the public snapshots are: skipped with
        C{missing} when absent, else its files match its C{MANIFEST.tsv}
        and each class is scored at medium, with and without the sample
        exclusions (counts only in a failure, never its entries).
        """
        items = injectionCorpus(split)
        if not items:
            raise SkipTest(missing)
        part = os.path.join(CLASSIC_DIR, split)
        with open(os.path.join(part, "MANIFEST.tsv"), encoding="utf-8") as f:
            recorded = sorted(f.read().splitlines()[1:])
        built = []
        for path in sorted(glob.glob(os.path.join(part, "*.jsonl"))):
            with open(path, encoding="utf-8") as f:
                for line in filter(str.strip, f):
                    e = json.loads(line)
                    digest = hashlib.sha256(e["text"].encode("utf-8", "surrogatepass")).hexdigest()
                    built.append(f"{split}/{os.path.basename(path)}\t{e['label']}\t{e['split']}\t{e['source'].split(' ')[0]}\t{digest}")
        self.assertEqual(len(built), len(recorded))
        self.assertTrue(sorted(built) == recorded, f"the built {split} part differs from {split}/MANIFEST.tsv")
        for exclusions in (True, False):
            r = measure("medium", exclusions=exclusions, items=items)
            for category in CLASSIC:
                self.assertGreater(r.tpr[category][1], 0, (category, exclusions))
            self.assertGreater(r.fpr[1], 0, exclusions)

    def _localPart(self, split: str, tpr: dict[str, float], fpr: dict[bool, float], missing: str) -> None:
        """
        A part built where the public snapshots are: skipped with
        C{missing} when absent, else its floors and ceilings at medium,
        with and without the sample exclusions (rates only in a failure).
        """
        items = injectionCorpus(split)
        if not items:
            raise SkipTest(missing)
        for exclusions in (True, False):
            r = measure("medium", exclusions=exclusions, items=items)
            for category, floor in tpr.items():
                self.assertGreaterEqual(r.rate(category), floor, (category, exclusions, r.tpr[category]))
            self.assertLessEqual(r.fprRate(), fpr[exclusions], (exclusions, r.fpr))
