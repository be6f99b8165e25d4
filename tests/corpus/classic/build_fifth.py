"""
Writes the fifth part of the second corpus, C{fifth/*.jsonl}: attacks and
hard benign traffic from public repositories none of the other parts (nor
any tune builder) drew on, every line C{split: fifth}.  It was committed
before it was scored, scored once, and is the sealed held-out part once the
fourth is unsealed: no rule is tuned on it and the reports print its rates
only.

A line whose stripped text equals the text of any other corpus line
(C{tests/corpus/**/*.jsonl}, every split, the fresh and fourth parts
included, and C{fresh/MANIFEST.tsv}) is dropped without being printed
(C{build_fourth.known}); the count per file is printed and recorded in
C{fifth/README.md}.

Sources (L{FIFTH_REPOS}, commits pinned; C{fifth/README.md} has the table):

    - attacks: the payload data of a SQL injection tool (ghauri), of a web
      scanner's checks (Arachni), of a WAF tester (nemesida-waf/waf-bypass)
      and of a file disclosure tool (Panoptic), each filled and placed as
      the tool does; GTFOBins' and LOLBAS' commands behind Arachni's OS
      command injection separators;
    - secrets: leaky-repo (a benchmark of leaked files), checkov's and
      ggshield's secret test fixtures, the findings CredSweeper's test
      expects in its samples; PII: e-mail addresses two validators' tests
      accept and phone numbers in faker-js' and PHP Faker's formats, in
      build_exfil's templates;
    - benign: northwind, AdventureWorks and pgexercises SQL, rbenv, n,
      bats-core and sdkman shell, file lists; Helm charts, a Terraform
      module, a CircleCI orb and Azure Pipelines documents that refer to
      secrets.

Run: C{python tests/corpus/classic/build_fifth.py [--mirrors DIR]}
"""

from __future__ import annotations

import ast
import json
import os
import random
import re
import sys
import urllib.parse
from typing import Iterator

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import build_exfil as X  # noqa: E402
import build_fourth as F4  # noqa: E402
import build_fresh as FR  # noqa: E402
import build_injection as B  # noqa: E402

SEED = "issue16:fifth"
SPLIT = "fifth"
OUT = os.path.join(HERE, "fifth")

# key -> (repository, commit, licence)
FIFTH_REPOS = {
    "ghauri": ("r0oth3x49/ghauri", "18e367781caca5f9783a242f34aa90164edc902a", "MIT"),
    "arachni": ("Arachni/arachni", "9cd73f2541ef57814312b0aefe079ad428722b84", "Arachni Public Source License 1.0"),
    "waf-bypass": ("nemesida-waf/waf-bypass", "c469703eddfc77b4b294387d05cd01f4354a74c6", "MIT"),
    "panoptic": ("lightos/Panoptic", "df35a6c04377eccc567867a6f8fa83c2891af474", "MIT"),
    "gtfobins": ("GTFOBins/GTFOBins.github.io", "7382261ef936e35896ba70e7a6b833352ffb9a22", "GPL-3.0"),
    "lolbas": ("LOLBAS-Project/LOLBAS", "3403b338875b8a99a0cd7ba4ced5086e8d310bf7", "GPL-3.0"),
    "leaky-repo": ("Plazmaz/leaky-repo", "2e951359cac53addbee56437da3ffb546e3dfe24", "MIT"),
    "checkov": ("bridgecrewio/checkov", "03d5fdad8d6154b1565799a7b1fb8070c158866f", "Apache-2.0"),
    "ggshield": ("GitGuardian/ggshield", "eaa3e43b1ae1e67e3f184edd9a04a8d60849d75f", "MIT"),
    "egulias": ("egulias/EmailValidator", "87db43e4ffecdf458016e8c1b6d4801e872654bc", "MIT"),
    "commons-validator": ("apache/commons-validator", "4dc42506f0714ebb74705347eb15c8cc79d26bb1", "Apache-2.0"),
    "faker-js": ("faker-js/faker", "e3858f221bb3b6e1278933c0b8e0d98da6854e52", "MIT"),
    "php-faker": ("fzaninotto/Faker", "5ffe7db6c80f441f150fc88008d64e64af66634b", "MIT"),
    "northwind": ("pthom/northwind_psql", "cd0ef28d66369fbe177778e604e4be0f153c9e5c", "Ms-PL"),
    "adventureworks": ("lorint/AdventureWorks-for-Postgres", "b37c060c3c3064b501cb479fe1085ed9141c2f66", "MIT"),
    "pgexercises": ("AlisdairO/pgexercises", "c226557fd393c6c977d4ec398caa5a4cec2089c4", "BSD-2-Clause (code), CC-BY-SA-3.0 (questions)"),
    "rbenv": ("rbenv/rbenv", "23c3041695feb811c18dbb270096c7956f7c377d", "MIT"),
    "n": ("tj/n", "f52d2172f12cd76f0efe9524690723f52ab74f40", "MIT"),
    "bats-core": ("bats-core/bats-core", "d22e41faad59f5fd942a88c992b4913a27a460c4", "MIT"),
    "sdkman": ("sdkman/sdkman-cli", "f02e5de113ea46a95e5e2fd795eabe6f2b7d4095", "Apache-2.0"),
    "helm-charts": ("prometheus-community/helm-charts", "cf408a290aec489277a94450bb3511432477a53a", "Apache-2.0"),
    "azure-pipelines": ("microsoft/azure-pipelines-yaml", "d0943c1b392250adb798993d782dbeb29af9e986", "MIT"),
    "credsweeper": ("Samsung/CredSweeper", "1ed2ca5cdd480667b938024464a37589b9af8564", "MIT"),
    "grafana-charts": ("grafana/helm-charts", "7a0ab968961a165318ab95ff678908c3b9bc3240", "Apache-2.0"),
    "terraform-rds": ("terraform-aws-modules/terraform-aws-rds", "fa183b6b36204913fac1219d09b4979c1e60443a", "Apache-2.0"),
    "circleci-aws-cli": ("CircleCI-Public/aws-cli-orb", "28b8b974fdd0bd2dde036ec4b029d06a4edd2fb3", "MIT"),
}


def repo(root: str, key: str) -> FR.Repo:
    return FR.Repo(root, key, FIFTH_REPOS)


def _src(key: str, path: str, repos: dict[str, tuple[str, str, str]] = FIFTH_REPOS) -> str:
    name, _, licence = repos[key]
    return f"{name} {path} ({licence})"


# the values a tool finds in a parameter and appends its payload to
_SQL_VALUES = ("1", "7", "15", "guest", "shoes", "2023")
_CMD_VALUES = ("10.0.0.5", "localhost", "invoice.pdf", "avatar.jpg", "github.com")
_PATH_EXT = ("php", "html", "jsp", "txt")


# --- SQL injection ----------------------------------------------------------------

def ghauriSQL(g: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    ghauri's payloads (C{ghauri/common/payloads.py} C{PAYLOADS}) with each of
    their prefix/suffix pairs, after a parameter value as ghauri sends them
    (its "parameter replace" ones in place of the value), placeholders
    filled; up to 260 drawn.
    """
    tree = ast.parse(g.show("ghauri/common/payloads.py"))
    payloads = next(ast.literal_eval(n.value) for n in tree.body
                    if isinstance(n, ast.Assign) and getattr(n.targets[0], "id", "") == "PAYLOADS")
    out = []
    for techniques in payloads.values():
        for entries in techniques.values():
            for entry in entries:
                for comment in entry.get("comments", ()):
                    value = rng.choice(_SQL_VALUES)
                    num = str(rng.randint(1000, 9999))
                    text = f"{comment['pref']}{entry['payload']}{comment['suf']}"
                    text = text.replace("[RANDNUM]", num).replace("[SLEEPTIME]", rng.choice(("5", "9"))).replace("[ORIGVALUE]", value)
                    if "[" in text and re.search(r"\[[A-Z]+\]", text):
                        continue
                    out.append(text if "replace" in entry.get("title", "").lower() else value + text)
    yield from B.sample(rng, out, 260)


_ARACHNI = "components/checks/active/"


def arachniSQL(a: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    sql_injection_timing's payload files (appended to the value,
    C{__TIME__} and C{[space]} filled) and sql_injection_differential's
    true and false expressions behind its template, per quote.
    """
    for name in ("mysql", "pgsql", "mssql"):
        for p in B.lines(a.show(f"{_ARACHNI}sql_injection_timing/{name}.txt")):
            yield rng.choice(_SQL_VALUES) + p.replace("[space]", " ").replace("__TIME__", rng.choice(("4", "8")))
    for template in B.lines(a.show(f"{_ARACHNI}sql_injection_differential/payloads.txt")):
        for quote in ("'", '"', ""):
            for expr in ("%q%1%q%=%q%1", "%q%1%q%=%q%2"):
                yield template.replace("%q%", quote) + " " + expr.replace("%q%", quote)


def wafBypass(kinds: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """
    The payloads of waf-bypass' C{utils/payload/<kind>/*.json}, each
    entry's argument value (C{ARGS} without its C{param%RND%=}, else its
    C{URL} or C{BODY}) URL-decoded once.
    """
    def gen(w: FR.Repo, rng: random.Random) -> Iterator[str]:
        for kind in kinds:
            for path in sorted(w.files(f"utils/payload/{kind}/")):
                if not path.endswith(".json"):
                    continue
                for p in json.loads(w.show(path)).get("payload") or ():
                    raw = p.get("ARGS") or p.get("URL") or p.get("BODY") or ""
                    raw = re.sub(r"^param%RND%=", "", raw)
                    if raw and "%RND%" not in raw:
                        yield urllib.parse.unquote(raw)
    return gen


# --- command injection ---------------------------------------------------------------

def _arachniWrap(cmd: str, seps: tuple[str, ...]) -> list[str]:
    # os_cmd_injection.rb: the payload alone, between a separator pair after
    # each quote, and in backticks
    out = [cmd]
    for q in ("", "'", '"'):
        out += [f"{q} {sep} {cmd} {sep} {q}" for sep in seps]
    return out + [f"` {cmd}`"]


def arachniCommands(a: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    os_cmd_injection's and os_cmd_injection_timing's payloads as their
    C{self.payloads} build them (the Ruby string escapes undone).
    """
    src = a.show(_ARACHNI + "os_cmd_injection.rb")
    block = re.search(r"def self\.payloads(.*?)\}\.inject", src, re.S).group(1)  # type: ignore[union-attr]
    for lit in re.findall(r"'((?:[^'\\]|\\.)*)'", block):
        yield from _arachniWrap(lit.replace("\\\\", "\\"), ("&&", "|", ";"))
    timing = a.show(_ARACHNI + "os_cmd_injection_timing.rb")
    for lit in re.findall(r"(?:unix|windows):\s*'([^']*)'", timing):
        yield from _arachniWrap(lit.replace("__TIME__", rng.choice(("4", "8"))), ("&", "&&", "|", ";"))


_GTFO_FUNCTIONS = ("shell", "command", "reverse-shell", "non-interactive-reverse-shell", "bind-shell",
                   "non-interactive-bind-shell", "file-download", "file-upload")


def gtfobinsCommands(g: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    The one-line C{code} of GTFOBins' shell, command, reverse and bind
    shell, download and upload functions, in one of Arachni's OS command
    injection forms (L{_arachniWrap}) after a parameter value; up to 220.
    """
    import yaml

    pool = []
    for path in g.files("_gtfobins/"):
        doc = g.show(path)
        if not doc.startswith("---"):
            continue
        meta = yaml.safe_load(doc.split("---")[1]) or {}
        for fn, items in (meta.get("functions") or {}).items():
            if fn not in _GTFO_FUNCTIONS:
                continue
            for item in items or ():
                code = (item.get("code") or "").strip()
                if code and "\n" not in code and len(code) < 300:
                    pool.append(code)
    for code in B.sample(rng, pool, 220):
        yield rng.choice(_CMD_VALUES) + rng.choice(_arachniWrap(code, ("&&", "|", ";"))[1:])


def _lolbasFill(cmd: str, rng: random.Random) -> str:
    def fill(m: re.Match[str]) -> str:
        kind, _, ext = m.group(1).partition(":")
        ext = ext if ext.startswith(".") else ""
        if kind.startswith("REMOTEURL"):
            return "https://files.example.net/update" + (ext or ".bin")
        if kind.startswith("CMD"):
            return "calc.exe"
        if kind.startswith("PATH_SMB"):
            return "\\\\fileserver\\share\\update" + ext
        if kind.startswith("PATH"):
            return "C:\\Users\\Public\\update" + ext
        return m.group(0)
    return re.sub(r"\{([A-Z_]+(?::[^}]*)?)\}", fill, cmd)


def lolbasCommands(lb: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    LOLBAS' one-line commands (placeholders filled) in one of Arachni's
    forms after a parameter value; up to 130.
    """
    import yaml

    pool = []
    for path in lb.files("yml/"):
        if not path.endswith(".yml"):
            continue
        try:
            doc = yaml.safe_load(lb.show(path)) or {}
        except yaml.YAMLError:
            continue
        for c in doc.get("Commands") or ():
            cmd = str(c.get("Command") or "").strip()
            if cmd and "\n" not in cmd and len(cmd) < 300:
                pool.append(_lolbasFill(cmd, rng))
    for cmd in B.sample(rng, pool, 130):
        yield rng.choice(_CMD_VALUES) + rng.choice(_arachniWrap(cmd, ("&&", "|"))[1:])


# --- path traversal -------------------------------------------------------------------

def arachniPaths(a: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    path_traversal's and file_inclusion's payloads as their
    C{self.payloads} build them (0-8 climbs, C{file://}, Windows names
    padded with 700 dots), and the NUL-and-extension mutation
    path_traversal adds to each.
    """
    unix, windows = ["/proc/self/environ", "/etc/passwd"], ["boot.ini", "windows/win.ini", "winnt/win.ini"]
    out = []
    for p in unix + [x for w in windows for x in (w, w + "." * 700)]:
        trv = "/"
        for _ in range(9):
            trv += "../"
            out += [trv + p, "file://" + trv + p]
    for trv in ("/../../", "../../"):
        out += [trv + "WEB-INF/web.xml", "file://" + trv + "WEB-INF/web.xml"]
    for p in out[:]:
        if rng.random() < 0.25:
            out.append(p + "\0." + rng.choice(_PATH_EXT))
    inc = list(unix)
    for p in ("/boot.ini", "/windows/win.ini", "/winnt/win.ini"):
        inc += [p, "c:" + p, p + "." * 700, p.replace("/", "\\")]
    inc += ["/WEB-INF/web.xml", "\\WEB-INF\\web.xml"]
    out += [x for p in inc for x in (p, "file://" + p)]
    yield from out


def panopticPaths(p: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    Files of Panoptic's C{cases.xml} (up to 230 drawn) as its options send
    them: as listed, or behind its C{--prefix} example (C{../}) times a
    C{--multiplier}, with its C{--postfix} (C{%00}) or C{--replace-slash}
    (C{/././}) examples now and then.
    """
    files = re.findall(r'<file value="([^"]+)"', p.show("cases.xml"))
    files = [f for f in files if "{" not in f and "$" not in f]
    for f in B.sample(rng, files, 230):
        r = rng.random()
        text = f
        if r < 0.6:
            text = "../" * rng.randint(1, 8) + f.lstrip("/")
            text = text.replace("//", "/")
        if rng.random() < 0.15:
            text += "%00"
        if rng.random() < 0.1:
            text = text.replace("/", "/././")
        yield text


# --- injection benign ------------------------------------------------------------------

def sqlBenign(nw: FR.Repo, aw: FR.Repo, pg: FR.Repo, rng: random.Random) -> Iterator[tuple[str, str, str, str]]:
    text = nw.show("northwind.sql")
    for s in B.sample(rng, F4._sqlStatements(text), 120):
        yield "northwind", "run_sql", "query", s
    values = [v.replace("''", "'") for v in re.findall(r"'((?:[^']|'')+)'", text) if len(v) > 3 and not re.fullmatch(r"[\d\-: ./]+", v)]
    for v in B.sample(rng, values, 130):  # customer, product and employee names, addresses: data values
        tool, arg = rng.choice(B.SQL_DATA_TOOLS)
        yield "northwind", tool, arg, v
    aws = [s for s in F4._sqlStatements(aw.show("install.sql")) if not re.match(r"(?i)\\copy|copy\b", s)]
    for s in B.sample(rng, aws, 120):
        yield "adventureworks", "run_sql", "query", s
    for path in pg.files("questions/"):
        if not path.endswith(".ex"):
            continue
        body = pg.show(path)
        q = re.search(r"\|QUERY\|\n(.*?)\n\|", body, re.S)
        if q and q.group(1).strip():
            yield "pgexercises", "run_sql", "query", q.group(1).strip()
        prose = re.search(r"\|QUESTION\|\n(.*?)\n\|", body, re.S)
        if prose and prose.group(1).strip() and rng.random() < 0.5:
            tool, arg = rng.choice(B.TEXT_TOOLS)
            yield "pgexercises", tool, arg, re.sub(r"<[^>]+>", "", prose.group(1)).strip()
    for s in B.sample(rng, F4._sqlStatements(pg.show("database/clubdata.sql")), 60):
        yield "pgexercises", "run_sql", "query", s
    for r in (nw, aw):
        for para in B.paragraphs(r.show("README.md"), 15, rng):
            tool, arg = rng.choice(B.TEXT_TOOLS)
            yield r.key, tool, arg, para


# --- secrets ------------------------------------------------------------------------------

_LEAKY_SKIP = re.compile(r"^(\.leaky-meta/|README\.md$|LICENSE$|\.gitattributes$|\.mozilla/firefox/.*\.db$|.*\.pub$)")


def _whole(sub: str, label: str, family: str, body: str, src: str, rng: random.Random, split: str = SPLIT) -> Iterator[dict[str, str]]:
    # a file pasted into an outward tool, and the same file read back in a result
    yield FR._exfil(sub, label, family, body, src, rng, direction="request", tool=("create_gist", "content"), split=split)
    yield FR._exfil(sub, label, family, body, src, rng, direction="response", tool=("read_file", ""), split=split)


def leakyFiles(lr: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    leaky-repo's files, whole (its C{.leaky-meta/secrets.csv} counts the
    leaks of each; a file it counts none in is left out).
    """
    counts = {}
    for line in lr.show(".leaky-meta/secrets.csv").splitlines():
        parts = line.split(",")
        if not line.startswith("#") and len(parts) == 3 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
    for path in lr.files():
        if _LEAKY_SKIP.match(path) or not counts.get(path, counts.get(os.path.basename(path), 0)):
            continue
        body = lr.show(path)
        if not body.strip() or "\0" in body or len(body) > 20000:
            continue
        yield from _whole("secrets", "attack", "leaky-repo", body, _src("leaky-repo", path), rng)


_CHECKOV_SECRETS = ("build_log_prefix/", "custom_and_entropy/", "json_multiline/", "multiline_finding/", "omit_multiple_secrets/",
                    "resources/cfn/secret.yml", "resources/file_type/", "resources/k8s/", "resources/terraform/", "resources/terraform_failed/",
                    "sanity/secrets/", "single_line_finding/", "terraform_multiline/", "test_entropy_source_files/", "yml_multiline/")


def checkovFixtures(c: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    The files of checkov's C{tests/secrets} its tests expect findings in
    (its negative, skip, suppression and git-history fixtures left out),
    whole; a file with a documented example or placeholder-shaped value
    (C{build_fourth._PLACEHOLDER}) is left out.
    """
    for path in c.files("tests/secrets/"):
        rel = path[len("tests/secrets/"):]
        if path.endswith(".py") or not rel.startswith(_CHECKOV_SECRETS):
            continue
        body = c.show(path)
        if not body.strip() or F4._PLACEHOLDER.search(body):
            continue
        yield from _whole("secrets", "attack", "checkov-secrets", body, _src("checkov", path), rng)


def ggshieldFixtures(g: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    The plain string constants of ggshield's C{tests/unit/conftest.py}
    whose names say they hold a secret (patches and files its tests scan).
    """
    tree = ast.parse(g.show("tests/unit/conftest.py"))
    for n in tree.body:
        if not (isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)):
            continue
        name = n.targets[0].id
        if "SECRET" not in name or "NO_SECRET" in name or "RESULT" in name:
            continue
        if isinstance(n.value, ast.Constant) and isinstance(n.value.value, str) and n.value.value.strip():
            text = n.value.value
            if not F4._PLACEHOLDER.search(text):
                yield FR._exfil("secrets", "attack", "ggshield-fixture", text.strip("\n"), _src("ggshield", f"tests/unit/conftest.py {name}"), rng,
                                split=SPLIT)


# CredSweeper rules that name an identifier, not a secret, or whose finding
# is one line of a multi-line key
_CREDSWEEPER_SKIP = re.compile(r"Client ID|Access Key ID|PEM|Private Key|^JWK$|JSON Web Key|UUID|Bucket|Domain|App ID|^Salt$|^Nonce$|CURL Options")


def credsweeperFindings(c: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    The lines CredSweeper's own test expects it to report in its samples
    (C{tests/data/output.json}), severity medium or higher and confidence
    above weak, identifiers and multi-line keys left out; a finding over
    several lines is those lines joined; up to 300 drawn.
    """
    pool = []
    for finding in json.loads(c.show("tests/data/output.json")):
        rule = finding.get("rule", "")
        if (finding.get("severity") not in ("medium", "high", "critical") or finding.get("confidence") == "weak"
                or _CREDSWEEPER_SKIP.search(rule)):
            continue
        data = finding.get("line_data_list") or []
        if not data or len(data) > 5:
            continue
        text = "\n".join(dict.fromkeys(d["line"] for d in data)).strip()
        if not text or F4._PLACEHOLDER.search(text):
            continue
        pool.append((text, data[0].get("path", "").lstrip("./"), rule))
    for text, path, rule in B.sample(rng, pool, 300):  # type: ignore[arg-type]
        yield FR._exfil("secrets", "attack", "credsweeper-expected", text, _src("credsweeper", f"{path} ({rule})"), rng, split=SPLIT)


_HELM_REF = re.compile(r"existingSecret|secretKeyRef|secretName|SecretName|secretRef|passwordSecret|secretKey:|envFromSecret|existingSecretName")
# a secret's name, and a value that reads it from somewhere else
_REF_NAME = re.compile(r"(?i)pass(word|wd)?|secret|token|api_?key|access_?key|credential")
_REF_VALUE = re.compile(r"\b(?:var|module|data|local)\.[\w.\[\]\"-]+|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|<<\s*parameters\.[\w-]+\s*>>|\{\{[^}]*\}\}")


def _isReference(line: str) -> bool:
    return bool(_REF_NAME.search(line) and _REF_VALUE.search(line)
                and not F4._LITERAL_SECRET.search(_REF_VALUE.sub("${REF}", line)))


def referenceLines(r: FR.Repo, under: str, exts: tuple[str, ...], n: int, rng: random.Random,
                   whole: int = 0, repos: dict[str, tuple[str, str, str]] = FIFTH_REPOS, split: str = SPLIT) -> Iterator[dict[str, str]]:
    """
    Lines of C{r}'s files (under C{under}, ending in C{exts}) that name a
    Kubernetes Secret to read (C{_HELM_REF}) or set a secret's name to a
    reference (a Terraform variable, C{$VAR}, an orb parameter, a template
    expression) with no literal password or token, up to C{n} drawn; and
    up to C{whole} files that hold such lines and no literal, whole.
    C{repos} and C{split} name the part that draws them (the fifth's by
    default).
    """
    lines, files = [], []
    for path in r.files(under):
        if not path.endswith(exts):
            continue
        body = r.show(path)
        mine = [x.strip() for x in body.splitlines()
                if (_HELM_REF.search(x) or _isReference(x)) and not F4._LITERAL_SECRET.search(_REF_VALUE.sub("${REF}", x))]
        lines += [(x, path) for x in mine if x]
        if mine and whole and not F4._LITERAL_SECRET.search(_REF_VALUE.sub("${REF}", body)) and len(body) < 30000:
            files.append((body, path))
    for line, path in B.sample(rng, lines, n):  # type: ignore[arg-type]
        yield FR._exfil("secrets", "benign", "secret-reference", line, _src(r.key, path, repos), rng, split=split)
    for body, path in B.sample(rng, files, whole):  # type: ignore[arg-type]
        yield from _whole("secrets", "benign", "secret-reference", body, _src(r.key, path, repos), rng, split)


_PIPELINE_REF = re.compile(r"\$\((\w*(?:[Pp]assword|[Ss]ecret|[Tt]oken|[Kk]ey|[Cc]onnection\w*)\w*)\)|\$\{\{\s*variables\.\w+|variables\[")


def pipelineReferences(a: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    Lines of Azure Pipelines YAML (in the repository's design documents'
    code blocks) that read a secret variable by name, C{$(name)}.
    """
    for path in a.files():
        if not path.endswith((".md", ".yml", ".yaml")):
            continue
        for line in a.show(path).splitlines():
            if _PIPELINE_REF.search(line) and not F4._LITERAL_SECRET.search(line.replace("$(", "")):
                yield FR._exfil("secrets", "benign", "secret-reference", line.strip(), _src("azure-pipelines", path), rng, split=SPLIT)


# --- PII ----------------------------------------------------------------------------------

def _pii(addr: str, family: str, src: str, rng: random.Random, region: str = "Dublin", split: str = SPLIT) -> dict[str, str]:
    if rng.random() < 0.3:
        text = rng.choice(X._PII_TEMPLATES_RES).format(n=X._name(rng), p=addr)
        return FR._exfil("pii", "attack", family, text, src, rng, direction="response", split=split)
    text = rng.choice(X._PII_TEMPLATES_REQ).format(n=X._name(rng), p=addr, c=region)
    return FR._exfil("pii", "attack", family, text, src, rng, direction="request", split=split)


def _phpString(lit: str) -> str:
    return re.sub(r"\\([\\'])", r"\1", lit[1:-1]) if lit.startswith("'") else F4._javaUnescape(lit)


def emailAddresses(eg: FR.Repo, cv: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    The addresses egulias/EmailValidator's RFC validation test lists as
    valid (C{getValidEmails}) and those commons-validator's
    C{EmailValidatorTest} asserts valid, twice each in the templates.
    """
    found: list[tuple[str, str]] = []
    php = eg.show("tests/EmailValidator/Validation/RFCValidationTest.php")
    block = re.search(r"function getValidEmails\(\)(.*?)\n    \}", php, re.S)
    for lit in re.findall(r"\[\s*('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\s*\]", block.group(1) if block else ""):
        found.append((_phpString(lit), _src("egulias", "tests/EmailValidator/Validation/RFCValidationTest.php getValidEmails")))
    java = cv.show("src/test/java/org/apache/commons/validator/routines/EmailValidatorTest.java")
    path = "src/test/java/org/apache/commons/validator/routines/EmailValidatorTest.java"
    for lit in re.findall(r"assertTrue\(\s*\w+\.isValid\((\"(?:[^\"\\]|\\.)*\")\)", java):
        found.append((F4._javaUnescape(lit), _src("commons-validator", path)))
    for lit in re.findall(r"new ResultPair\((\"(?:[^\"\\]|\\.)*\"),\s*true\)", java):
        found.append((F4._javaUnescape(lit), _src("commons-validator", path + " ResultPair")))
    for addr, src in dict.fromkeys(found):
        if "@" not in addr or not addr.strip() or re.search(r"[\x00-\x1f]", addr):
            continue
        for _ in range(2):
            yield _pii(addr, "validator-valid", src, rng)


def _phones(formats: list[str], region: str, src: str, family: str, rng: random.Random, cap: int,
            split: str = SPLIT) -> Iterator[dict[str, str]]:
    import phonenumbers

    kept = 0
    for fmt in B.sample(rng, formats, len(formats)):
        for _ in range(6):
            phone = re.sub(r"[#%!]", lambda m: str(rng.randint(0 if m.group(0) == "#" else (2 if m.group(0) == "!" else 1), 9)), fmt)
            try:
                number = phonenumbers.parse(phone, region if region in phonenumbers.SUPPORTED_REGIONS else None)
            except phonenumbers.NumberParseException:
                continue
            if not phonenumbers.is_valid_number(number):
                continue
            e = _pii(phone, family, f"{src} format {fmt!r}", rng, region=region, split=split)
            if not phone.startswith(("+", "00")):
                e["national_region"] = region
            yield e
            kept += 1
            break
        if kept >= cap:
            return


def fakerJsPhones(f: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    Numbers in the formats of faker-js' locales (C{src/locales/<locale>/
    phone_number/format/*.ts}; C{#} a digit, C{!} a digit from 2), kept when
    libphonenumber finds them valid for the locale's region (a locale
    without one: its international formats only), up to three per locale.
    """
    by: dict[str, list[str]] = {}
    for path in f.files("src/locales/"):
        m = re.fullmatch(r"src/locales/([a-zA-Z_]+)/phone_number/format/(human|national|international)\.ts", path)
        if m:
            by.setdefault(m.group(1), []).extend(re.findall(r"'([^'\n]*#[^'\n]*)'", f.show(path)))
    for locale, formats in sorted(by.items()):
        region = locale.split("_")[-1].upper() if "_" in locale else locale.upper()
        yield from _phones(formats, region, _src("faker-js", f"src/locales/{locale}/phone_number/format"), "faker-js-phone", rng, 3)


def phpFakerPhones(f: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    Numbers in the literal formats of PHP Faker's C{PhoneNumber.php} per
    locale (C{#} a digit, C{%} a digit from 1), valid for the locale's
    region, up to three per locale.
    """
    for path in sorted(f.files("src/Faker/Provider/")):
        m = re.fullmatch(r"src/Faker/Provider/([a-z]{2})_([A-Z]{2})/PhoneNumber\.php", path)
        if not m:
            continue
        src = f.show(path)
        block = re.search(r"\$formats\s*=\s*(?:array\(|\[)(.*?)(?:\);|\];)", src, re.S)
        formats = [x for x in re.findall(r"'([^'\n]*)'", block.group(1) if block else "") if "{{" not in x and "#" in x]
        yield from _phones(formats, m.group(2), _src("php-faker", path), "php-faker-phone", rng, 3)


# --- assembly -----------------------------------------------------------------------------


def build(root: str) -> tuple[F4.Rows, dict[str, int]]:
    R = {k: repo(root, k) for k in FIFTH_REPOS}
    attacks = {
        "sql_injection": [("ghauri", ghauriSQL), ("arachni", arachniSQL), ("waf-bypass", wafBypass(("SQLi",)))],
        "command_injection": [("arachni", arachniCommands), ("waf-bypass", wafBypass(("RCE",))), ("gtfobins", gtfobinsCommands),
                              ("lolbas", lolbasCommands)],
        "path_traversal": [("arachni", arachniPaths), ("panoptic", panopticPaths), ("waf-bypass", wafBypass(("LFI", "RFI")))],
    }
    shells = [R["rbenv"], R["n"], R["bats-core"], R["sdkman"]]
    benign = {
        "sql_injection": lambda rng: sqlBenign(R["northwind"], R["adventureworks"], R["pgexercises"], rng),
        "command_injection": lambda rng: F4.cmdBenign(shells, rng),
        "path_traversal": lambda rng: FR.pathBenign([R[k] for k in ("rbenv", "n", "bats-core", "sdkman", "helm-charts", "ghauri", "checkov",
                                                                    "faker-js", "php-faker", "pgexercises", "commons-validator",
                                                                    "azure-pipelines")], rng),
    }
    def exfil(rng: random.Random) -> F4.Rows:
        return {
            "secrets.attacks.jsonl": (list(leakyFiles(R["leaky-repo"], rng)) + list(checkovFixtures(R["checkov"], rng))
                                      + list(ggshieldFixtures(R["ggshield"], rng)) + list(credsweeperFindings(R["credsweeper"], rng))),
            "secrets.benign.jsonl": (list(referenceLines(R["helm-charts"], "charts/", (".yaml", ".yml", ".tpl"), 200, rng, whole=15))
                                     + list(referenceLines(R["grafana-charts"], "charts/", (".yaml", ".yml", ".tpl"), 120, rng, whole=10))
                                     + list(referenceLines(R["terraform-rds"], "", (".tf", ".md"), 60, rng, whole=6))
                                     + list(referenceLines(R["circleci-aws-cli"], "", (".yml", ".yaml", ".sh"), 40, rng))
                                     + list(pipelineReferences(R["azure-pipelines"], rng))),
            "pii.attacks.jsonl": (list(emailAddresses(R["egulias"], R["commons-validator"], rng)) + list(fakerJsPhones(R["faker-js"], rng))
                                  + list(phpFakerPhones(R["php-faker"], rng))),
        }

    return F4.assemble(attacks, R, benign, exfil, SEED, SPLIT, OUT)


if __name__ == "__main__":
    F4.run(build, __doc__, OUT, SPLIT)
