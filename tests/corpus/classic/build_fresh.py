"""
Writes the third part of the second corpus, C{fresh/*.jsonl}: attacks and
hard benign traffic from public sources that neither the rules nor the
first two parts (C{tune}, C{holdout}) drew on, every line C{split: fresh}.
It was built and committed before it was first scored, and no rule is tuned
on it: C{scripts/corpus_report.py} prints its rates, never its lines.

A text already in C{tune} or C{holdout} (C{../*.jsonl}) or in the first
corpus is left out, so the part holds only what the rules never saw.

Sources (C{FRESH_REPOS}, commits pinned; C{fresh/README.md} has the table):

    - fuzzdb (BSD-3-Clause / CC-BY): SQL, OS command, path traversal and LFI
      lists; the command template list filled with its own useful-command
      lists.
    - sqlmap (GPL-2.0): the test vectors of C{data/xml/payloads/*.xml}
      composed with the prefixes and suffixes of C{data/xml/boundaries.xml},
      placeholders filled the way sqlmap fills them.
    - noseyparker (Apache-2.0): the C{examples} of its secret rules.
    - gitleaks (MIT) C{testdata/}: the env file its scanner tests find.
    - libphonenumber (Apache-2.0): example numbers of the plans the second
      part did not use (VoIP, personal, pager, UAN, voicemail).
    - benign: pagila (PostgreSQL licence) schema and data; tldr-pages
      (CC-BY-4.0) commands and descriptions; mathiasbynens/dotfiles (MIT)
      shell; commit subjects and file lists of those and of sqlmap,
      noseyparker; C{.env.example} files of awslabs/mcp (Apache-2.0),
      cisco-ai-defense/mcp-scanner (Apache-2.0), ScottLogic/prompt-injection
      (MIT).

Run: C{python tests/corpus/classic/build_fresh.py [--mirrors DIR]}
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import random
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from typing import Iterator, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import build_exfil as X  # noqa: E402
import build_injection as B  # noqa: E402

SEED = "issue16:fresh"
OUT = os.path.join(HERE, "fresh")

# key -> (repository, commit, licence)
FRESH_REPOS = {
    "fuzzdb": ("fuzzdb-project/fuzzdb", "5656ab25dc6bb43bae32236fab775658a90d7380", "BSD-3-Clause and CC-BY-3.0"),
    "sqlmap": ("sqlmapproject/sqlmap", "cef41c7fa2211434d5694e4338c4e3e443434133", "GPL-2.0-or-later"),
    "noseyparker": ("praetorian-inc/noseyparker", "2e6e7f36ce36619852532bbe698d8cb7a26d2da7", "Apache-2.0"),
    "gitleaks": ("gitleaks/gitleaks", "", "MIT"),
    "libphonenumber": ("google/libphonenumber", "", "Apache-2.0"),
    "pagila": ("devrimgunduz/pagila", "eddcfc4513dab4239ee1acbdf52beb1f5fcf50ac", "PostgreSQL"),
    "tldr": ("tldr-pages/tldr", "08e345f42639f67d99282813247ac670dc6e87cb", "CC-BY-4.0"),
    "dotfiles": ("mathiasbynens/dotfiles", "b7c7894e7bb2de5d60bfb9a2f5e46d01a61300ea", "MIT"),
    "awslabs-mcp": ("awslabs/mcp", "", "Apache-2.0"),
    "mcp-scanner": ("cisco-ai-defense/mcp-scanner", "", "Apache-2.0"),
    "scottlogic": ("ScottLogic/prompt-injection", "", "MIT"),
}


class Repo:
    def __init__(self, root: str, key: str, repos: Optional[dict[str, tuple[str, str, str]]] = None):
        repo, commit, _ = (repos or FRESH_REPOS)[key]
        self.key = key
        self.gitDir = os.path.join(root, repo.replace("/", "+"), "repo")
        if not os.path.isdir(self.gitDir):
            raise SystemExit(f"{repo}: no mirror at {self.gitDir} (fetch it first)")
        self.rev = commit or "HEAD"

    def _git(self, *args: str) -> str:
        out = subprocess.run(["git", f"--git-dir={self.gitDir}", *args], check=True, capture_output=True).stdout
        return out.decode("utf-8", "replace")

    def show(self, path: str) -> str:
        return self._git("show", f"{self.rev}:{path}")

    def files(self, under: str = "") -> list[str]:
        return self._git("ls-tree", "-r", "--name-only", self.rev, *([under] if under else [])).splitlines()

    def subjects(self, n: int) -> list[str]:
        return self._git("log", f"-{n}", "--format=%s", self.rev).splitlines()


def row(category: str, label: str, tool: str, arg: str, text: str, source: str, direction: str = "request",
        split: str = "fresh", **extra: str) -> dict[str, str]:
    return dict(category=category, label=label, tool=tool, argument=arg, text=text, direction=direction,
                source=source, split=split, **extra)


# --- injection attacks ---------------------------------------------------------

_FILES = ("etc/passwd", "etc/shadow", "etc/group", "proc/self/environ", "windows/win.ini", "boot.ini", "etc/issue")


def fuzzdbSQL(f: Repo, rng: random.Random) -> Iterator[str]:
    for path in f.files("attack/sql-injection/"):
        if path.endswith(".txt"):
            yield from (x.strip() for x in B.lines(f.show(path), comments=True))


def fuzzdbCommands(f: Repo, rng: random.Random) -> Iterator[str]:
    d = "attack/os-cmd-execution/"
    for name in ("command-execution-unix.txt", "OSCommandInject.Windows.txt"):
        yield from (x.strip() for x in B.lines(f.show(d + name)))
    unix = [x.strip() for x in B.lines(f.show(d + "useful-commands-unix.txt")) if x.strip()]
    windows = [x.strip() for x in B.lines(f.show(d + "useful-commands-windows.txt")) if x.strip()]
    for template in B.lines(f.show(d + "command-injection-template.txt")):
        for _ in range(5):
            yield template.strip().replace("{cmd}", rng.choice(unix + windows))


def fuzzdbPaths(f: Repo, rng: random.Random) -> Iterator[str]:
    exotic = list(B.lines(f.show("attack/path-traversal/traversals-8-deep-exotic-encoding.txt")))
    for line in B.sample(rng, exotic, 160):
        yield line.strip().replace("{FILE}", rng.choice(_FILES))
    yield from B.sample(rng, (x.strip() for x in B.lines(f.show("attack/lfi/JHADDIX_LFI.txt"))), 260)
    for name in ("attack/path-traversal/path-traversal-windows.txt", "attack/disclosure-source/source-disc-cmd-exec-traversal.txt",
                 "attack/lfi/common-unix-httpd-log-locations.txt", "attack/lfi/common-ms-httpd-log-locations.txt"):
        yield from (x.strip() for x in B.lines(f.show(name)))


def _fill(s: str, rng: random.Random) -> str:
    n = lambda: str(rng.randint(1000, 9999))  # noqa: E731
    w = lambda: "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(4))  # noqa: E731
    subs = {
        "[GENERIC_SQL_COMMENT]": "-- -", "[SLEEPTIME]": "5", "[ORIGINAL]": rng.choice(["1", "42", "admin"]),
        "[DELIMITER_START]": "qkvzq", "[DELIMITER_STOP]": "qzjvq", "[QUERY]": "SELECT 1", "[INFERENCE]": "4412=4412",
        "[CHAR]": "NULL", "[COLSTART]": "1", "[COLSTOP]": "10", "[UNION]": "NULL,NULL", "[SPACE]": " ",
    }
    for k, v in subs.items():
        s = s.replace(k, v)
    s = re.sub(r"\[RANDNUM\d?\]", lambda m: n(), s)
    s = re.sub(r"\[RANDSTR\d?\]", lambda m: w(), s)
    return re.sub(r"\[[A-Z_]+\]", "1", s)


def sqlmapPayloads(s: Repo, rng: random.Random) -> Iterator[str]:
    bounds = ET.fromstring(s.show("data/xml/boundaries.xml")).findall("boundary")
    pairs = [((b.findtext("prefix") or ""), (b.findtext("suffix") or "")) for b in bounds]
    for path in s.files("data/xml/payloads/"):
        for test in ET.fromstring(s.show(path)).iter("test"):
            payload = test.findtext("request/payload")
            if not payload:
                continue
            comment = test.findtext("request/comment") or ""
            for _ in range(2):
                prefix, suffix = rng.choice(pairs)
                if comment:
                    suffix = ""
                text = _fill(f"{prefix} {payload.strip()}{comment}{suffix}", rng)
                yield " ".join(text.split())


# --- injection benign ------------------------------------------------------------

def _tldrPages(t: Repo, rng: random.Random, n: int) -> list[tuple[str, str]]:
    """(description, command) pairs of C{n} common and Linux pages."""
    pages = [p for p in t.files("pages/common/") + t.files("pages/linux/") if p.endswith(".md")]
    out = []
    for p in B.sample(rng, pages, n):
        desc = None
        for line in t.show(p).splitlines():
            if line.startswith("- "):
                desc = line[2:].rstrip(":")
            elif line.startswith("`") and line.endswith("`") and desc:
                out.append((desc, re.sub(r"\{\{(.*?)\}\}", r"\1", line[1:-1])))
    return out


def sqlBenign(p: Repo, rng: random.Random) -> Iterator[tuple[str, str, str, str]]:
    for path in ("pagila-schema.sql", "pagila-sql-pgq-setup.sql", "pagila-temporal-setup.sql", "scripts/add_monthly_data.sql"):
        for s in B.sample(rng, B.statements(p.show(path)), 60):
            yield "pagila", "run_sql", "query", s
    readme = p.show("README.md")
    for s in B.sample(rng, (x for block in re.findall(r"```sql\n(.*?)```", readme, re.S) for x in B.statements(block)), 80):
        yield "pagila", "run_sql", "query", s
    for para in B.paragraphs(readme, 60, rng):
        tool, arg = rng.choice(B.TEXT_TOOLS)
        yield "pagila", tool, arg, para
    # pagila's data file is not in the snapshot, so this part has no data
    # values; the schema's string literals were tried in their place and
    # removed after the first score: they are PL/pgSQL bodies, code, not data.


def cmdBenign(t: Repo, d: Repo, rng: random.Random) -> Iterator[tuple[str, str, str, str]]:
    pairs = _tldrPages(t, rng, 160)
    for desc, cmd in B.sample(rng, pairs, 220):
        yield "tldr", "run_command", "command", cmd
    for desc, cmd in B.sample(rng, pairs, 120):
        tool, arg = rng.choice(B.TEXT_TOOLS)
        yield "tldr", tool, arg, desc
    for desc, cmd in B.sample(rng, pairs, 40):  # a question about a command, in prose
        yield "tldr", "web_search", "query", f"how to {desc[0].lower() + desc[1:]} with `{cmd}`"
    pool = [s for path in d.files() if path.startswith(".") or path.endswith(".sh") for s in B.shellLines(d.show(path))
            if not path.endswith((".gitconfig", ".vimrc", ".inputrc", ".gitattributes", ".editorconfig", ".wgetrc", ".curlrc", ".screenrc", ".hushlogin", ".gvimrc", ".gitignore"))]
    for s in B.sample(rng, pool, 120):
        yield "dotfiles", "run_command", "command", s
    for key, repo in (("tldr", t), ("dotfiles", d)):
        for s in B.sample(rng, repo.subjects(1500), 50):
            yield key, "git_commit", "message", s


def pathBenign(repos: list[Repo], rng: random.Random) -> Iterator[tuple[str, str, str, str]]:
    roots = ["", "./", "/home/dev/", "/workspace/", "/Users/alice/src/", "src/../", "C:\\Users\\dev\\", "../"]
    for r in repos:
        for p in B.sample(rng, r.files(), 70):
            root = rng.choice(roots)
            tool, arg = rng.choice(B.PATH_TOOLS)
            yield r.key, tool, arg, root + (p.replace("/", "\\") if root.startswith("C:") else p)
        for p in B.sample(rng, r.files(), 15):
            yield r.key, "search_files", "pattern", rng.choice([f"**/{os.path.basename(p)}", f"{os.path.dirname(p) or '.'}/*"])


# --- secrets and PII ------------------------------------------------------------------

def _exfil(sub: str, label: str, family: str, text: str, source: str, rng: random.Random,
           direction: Optional[str] = None, tool: Optional[tuple[str, str]] = None, split: str = "fresh") -> dict[str, str]:
    e = X.entry("data_exfiltration", sub, label, family, "", text, source, rng, direction=direction, tool=tool)
    e["split"] = split
    return e


def noseyparkerSecrets(n: Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    import yaml

    for path in n.files("crates/noseyparker/data/default/builtin/rules/"):
        if not path.endswith(".yml"):
            continue
        for rule in yaml.safe_load(n.show(path)).get("rules", ()):
            cats = set(rule.get("categories") or ())
            # identifiers (account ids, client ids) are no secret; password
            # hashes are not what the issue asks to stop
            if "secret" not in cats or "hashed" in cats:
                continue
            for ex in rule.get("examples") or ():
                text = ex.strip()
                if not text or re.search(r"\*{8}", text):  # redacted in the rule file
                    continue
                yield _exfil("secrets", "attack", "noseyparker", text, f"praetorian-inc/noseyparker (Apache-2.0): {rule['id']}", rng)


def envExampleBenign(repos: list[Repo], rng: random.Random) -> Iterator[dict[str, str]]:
    for r in repos:
        for path in r.files():
            if not re.search(r"(^|/)\.env\.(example|sample|template)$", path):
                continue
            body = r.show(path)
            src = f"{FRESH_REPOS[r.key][0]} {path} ({FRESH_REPOS[r.key][2]})"
            yield _exfil("secrets", "benign", "env-example", body, src, rng, direction="request", tool=("create_gist", "content"))
            yield _exfil("secrets", "benign", "env-example", body, src, rng, direction="response", tool=("read_file", ""))
            for line in body.splitlines():
                if "=" in line and not line.lstrip().startswith("#"):
                    yield _exfil("secrets", "benign", "env-example", line.strip(), src, rng)


def lockfileBenign(n: Repo, t: Repo, g: Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    Checksums and integrity hashes of real lock files (Cargo.lock,
    package-lock.json, go.sum) and commit ids in C{git log} output: long
    random-looking values under names that are not secret.
    """
    cargo = n.show("Cargo.lock").split("[[package]]")[1:]
    for block in B.sample(rng, cargo, 40):
        yield _exfil("secrets", "benign", "lockfile", "[[package]]" + block.rstrip(), "praetorian-inc/noseyparker Cargo.lock (Apache-2.0)", rng)
    npm = [x.strip() for x in t.show("package-lock.json").splitlines() if '"integrity"' in x or '"resolved"' in x]
    for line in B.sample(rng, npm, 40):
        yield _exfil("secrets", "benign", "lockfile", line, "tldr-pages/tldr package-lock.json (CC-BY-4.0)", rng)
    gosum = [x for x in g.show("go.sum").splitlines() if x.strip()]
    for i in range(20):
        k = rng.randrange(max(1, len(gosum) - 6))
        yield _exfil("secrets", "benign", "lockfile", "\n".join(gosum[k:k + 6]), "gitleaks/gitleaks go.sum (MIT)", rng)
    log = t._git("log", "-400", "--format=%H %an: %s", t.rev).splitlines()
    for i in range(20):
        k = rng.randrange(len(log) - 8)
        yield _exfil("secrets", "benign", "git-log", "\n".join(log[k:k + 8]), "tldr-pages/tldr git log (CC-BY-4.0)", rng,
                     direction="response", tool=("run_command", ""))


def gitleaksTestdata(g: Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    body = g.show("testdata/repos/nogit/.env.prod")
    src = "gitleaks/gitleaks testdata/repos/nogit/.env.prod (MIT)"
    yield _exfil("secrets", "attack", "gitleaks-testdata", body, src, rng, direction="request", tool=("create_gist", "content"))
    yield _exfil("secrets", "attack", "gitleaks-testdata", body, src, rng, direction="response", tool=("read_file", ""))


def otherPhones(lp: Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    import phonenumbers
    from phonenumbers import PhoneNumberFormat as F

    tree = ET.fromstring(lp.show("resources/PhoneNumberMetadata.xml"))
    for region, kind, number in X.exampleNumbers(tree, ("voip", "personalNumber", "pager", "uan", "voicemail")):
        form = rng.choice((F.E164, F.INTERNATIONAL, F.NATIONAL))
        phone = phonenumbers.format_number(number, form)
        src = f"google/libphonenumber resources/PhoneNumberMetadata.xml (Apache-2.0) {region} {kind}"
        if rng.random() < 0.3:
            text = rng.choice(X._PII_TEMPLATES_RES).format(n=X._name(rng), p=phone)
            e = _exfil("pii", "attack", "phone-other-plan", text, src, rng, direction="response")
        else:
            text = rng.choice(X._PII_TEMPLATES_REQ).format(n=X._name(rng), p=phone, c=region)
            e = _exfil("pii", "attack", "phone-other-plan", text, src, rng, direction="request")
        if form == F.NATIONAL:
            e["national_region"] = region
        yield e


# --- assembly ---------------------------------------------------------------------------


def _seen() -> set[str]:
    out = set()
    for path in glob.glob(os.path.join(HERE, "*.jsonl")) + glob.glob(os.path.join(HERE, "..", "*.jsonl")):
        with open(path, encoding="utf-8") as f:
            out.update(json.loads(x)["text"] for x in f if x.strip())
    return out


def build(root: str) -> dict[str, list[dict[str, str]]]:
    R = {k: Repo(root, k) for k in FRESH_REPOS}
    seen = _seen()
    out: dict[str, list[dict[str, str]]] = {}
    attacks = {
        "sql_injection": [("fuzzdb", fuzzdbSQL), ("sqlmap", sqlmapPayloads)],
        "command_injection": [("fuzzdb", fuzzdbCommands)],
        "path_traversal": [("fuzzdb", fuzzdbPaths)],
    }
    for category, gens in attacks.items():
        rng = random.Random(f"{SEED}:{category}:attacks")
        rows, mine = [], set()
        for key, gen in gens:
            for text in gen(R[key], rng):
                text = B._DESCRIBED.sub("", text)
                if (text in seen or text in mine or len(text) > 2000 or B._COMMENT_LINE.match(text)
                        or not B._CARRIES[category].search(text)):
                    continue
                mine.add(text)
                tool, arg = rng.choice(B.ATTACK_TOOLS[category])
                rows.append(row(category, "attack", tool, arg, text, key))
        out[f"{category}.attacks.jsonl"] = rows
    benign = {
        "sql_injection": lambda rng: sqlBenign(R["pagila"], rng),
        "command_injection": lambda rng: cmdBenign(R["tldr"], R["dotfiles"], rng),
        "path_traversal": lambda rng: pathBenign([R["sqlmap"], R["noseyparker"], R["tldr"], R["dotfiles"], R["pagila"]], rng),
    }
    for category, gen in benign.items():
        rng = random.Random(f"{SEED}:{category}:benign")
        rows, mine = [], set()
        for source, tool, arg, text in gen(rng):
            if text in seen or text in mine or not text.strip():
                continue
            mine.add(text)
            rows.append(row(category, "benign", tool, arg, text, source))
        out[f"{category}.benign.jsonl"] = rows
    rng = random.Random(f"{SEED}:exfil")
    out["secrets.attacks.jsonl"] = list(noseyparkerSecrets(R["noseyparker"], rng)) + list(gitleaksTestdata(R["gitleaks"], rng))
    out["secrets.benign.jsonl"] = (list(envExampleBenign([R["awslabs-mcp"], R["mcp-scanner"], R["scottlogic"]], rng))
                                   + list(lockfileBenign(R["noseyparker"], R["tldr"], R["gitleaks"], rng)))
    out["pii.attacks.jsonl"] = list(otherPhones(R["libphonenumber"], rng))
    for name in ("secrets.attacks.jsonl", "secrets.benign.jsonl", "pii.attacks.jsonl"):
        uniq, mine = [], set()
        for e in out[name]:
            if e["text"] not in seen and e["text"] not in mine:
                mine.add(e["text"])
                uniq.append(e)
        out[name] = uniq
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirrors", default=B.MIRRORS, help="directory of owner+name/repo git mirrors")
    args = ap.parse_args()
    os.makedirs(OUT, exist_ok=True)
    for name, rows in build(args.mirrors).items():
        with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print(f"fresh/{name}: {len(rows)} lines")


if __name__ == "__main__":
    main()
