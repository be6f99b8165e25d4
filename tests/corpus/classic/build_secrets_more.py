"""
More secrets for the C{tune} part (issue 16, session 9): the test fixtures
of two more secret scanners, written to C{secrets_more.attacks.jsonl} and
C{secrets_more.benign.jsonl} beside this file, every line C{split: tune}
(added for tuning after the C{fresh} part was committed; neither source is
in C{holdout} or C{fresh}).

    - Skyscanner/whispers (Apache-2.0) C{tests/fixtures/}: the lines of
      each fixture's "compliant" part that assign a value (benign); the
      fixtures without such parts whole, labelled by what the file is for
      (C{ATTACK_FILES}, C{BENIGN_FILES}).  The lines of the "noncompliant"
      parts are left out: out of their YAML nesting many are no secret
      ("environment:", "Type: String").
    - sirwart/ripsecrets (MIT) C{test/}: C{one_per_line/*} (attacks, one a
      line), C{none} (benign, one a line, but the two whose label is that
      tool's allowlist, a pragma or a C{.secretsignore} entry).

Run: C{python tests/corpus/classic/build_secrets_more.py [--mirrors DIR]}
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import build_exfil as X  # noqa: E402
from build_fresh import Repo  # noqa: E402
import build_fresh  # noqa: E402

build_fresh.FRESH_REPOS.update({
    "whispers": ("Skyscanner/whispers", "5832bf74dcb127128ba653ed87601c927124b5aa", "Apache-2.0"),
    "ripsecrets": ("sirwart/ripsecrets", "416e9d04d6ba8941fc3106bf986b6c8aa875767e", "MIT"),
})
ATTACK_FILES = (".aws/credentials", ".dockercfg", ".npmrc", ".pypirc", "apikeys.json", "apikeys.xml", "aws.json", "aws.xml",
                "beans.xml", "cloudformation.json", "connection.config", "hardcoded.json", "hardcoded.xml", "integration.json",
                "integration.xml", "jdbc.xml", "jenkins.xml", "passwords.json", "passwords.xml", "privatekeys.json",
                "privatekeys.xml", "settings.conf")
BENIGN_FILES = ("placeholders.json", "placeholders.xml", "empty.dockercfg")
_NONCOMPLIANT = re.compile(r"^\s*(?:#|//|<!--)?\s*non-?compliant:?", re.I)
_COMPLIANT = re.compile(r"^\s*(?:#|//|<!--)?\s*compliant:?", re.I)


def _entry(label: str, text: str, source: str, rng: random.Random) -> dict[str, str]:
    e = X.entry("data_exfiltration", "secrets", label, "scanner-fixture", "", text, source, rng)
    e["split"] = "tune"
    return e


def whispers(w: Repo, rng: random.Random):
    src = "Skyscanner/whispers tests/fixtures/{} (Apache-2.0)"
    for path in w.files("tests/fixtures/"):
        name = path[len("tests/fixtures/"):]
        body = w.show(path)
        if name in ATTACK_FILES:
            yield _entry("attack", body, src.format(name), rng)
            continue
        if name in BENIGN_FILES:
            yield _entry("benign", body, src.format(name), rng)
            continue
        if name.startswith(("excluded", "custom", "ruleslist", "severity", "creditcards", "paths", "invalid")):
            continue
        label = None
        for line in body.splitlines():
            if _NONCOMPLIANT.match(line):
                label = "attack"
            elif _COMPLIANT.match(line):
                label = "benign"
            elif label == "benign" and re.search(r"[:=]", line) and len(line.strip()) > 4 and not line.strip().startswith("#"):
                yield _entry(label, line.strip(), src.format(name), rng)


def ripsecrets(r: Repo, rng: random.Random):
    for path in r.files("test/"):
        label = "attack" if path.startswith("test/one_per_line/") else "benign" if path == "test/none" else None
        if label is None:
            continue
        for line in r.show(path).splitlines():
            if line.strip() and "pragma: allowlist" not in line and ".secretsignore" not in line:
                yield _entry(label, line.strip(), f"sirwart/ripsecrets {path} (MIT)", rng)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirrors", default="/work/.mirror")
    args = ap.parse_args()
    rng = random.Random("issue16:secrets-more")
    rows = list(whispers(Repo(args.mirrors, "whispers"), rng)) + list(ripsecrets(Repo(args.mirrors, "ripsecrets"), rng))
    for label in ("attack", "benign"):
        name = f"secrets_more.{'attacks' if label == 'attack' else 'benign'}.jsonl"
        with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
            for e in rows:
                if e["label"] == label:
                    f.write(json.dumps(e, ensure_ascii=False) + "\n")
        print(name, sum(e["label"] == label for e in rows))


if __name__ == "__main__":
    main()
