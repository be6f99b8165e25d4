"""
Writes the seventh part of the second corpus, C{seventh/*.jsonl}: attacks
and hard benign traffic from public repositories none of the other parts
(nor any tune builder) drew on or named, every line C{split: seventh}.  It
was committed before it was scored, scored once, and is sealed: no rule is
tuned on it and the reports print its rates only.

Lines the other parts already hold are left out unseen (C{build_fourth}'s
line collectors: every other JSONL file of C{tests/corpus}, the sealed
sixth part's included, and the fresh part's manifest); how many, per file,
is printed and written into C{seventh/README.md}.

Sources (L{SEVENTH_REPOS}, commits pinned; C{seventh/README.md} has the
table):

    - attacks: the SQL injection, command injection and traversal lists of
      two payload collections (Offensive-Payloads, omurugur's), the
      payloads of an SQL injection cheat sheet's code blocks, the fuzzing
      templates' payloads of a DAST scanner, the commands of an adversary
      emulation plugin's abilities (stockpile) and of a reverse shell
      generator behind shell separators, the traversals an LFI tool builds
      (dotdotslash) and a list of files an LFI reads;
    - secrets: the private keys, JWKs and signed tokens of three JWT
      libraries' tests, the private keys of four SSH libraries' tests, the age
      identities of age's and sops' tests, the AWS credentials file of a
      pre-commit hook's tests; PII: the addresses PHPMailer's tests accept,
      addresses in the shape ffaker's and the Go faker's give them, and
      phone numbers in the two Go fakers' formats;
    - benign: a SQL parser's identity fixtures, a text-to-SQL evaluation's
      questions and queries, the TPC-DS schema; docker-install, dokku,
      shunit2 and Pi-hole shell; file lists; a Vault and a Traefik Helm
      chart, an Ansible MySQL role and a Terraform Aurora module that refer
      to secrets.

Run: C{python tests/corpus/classic/build_seventh.py [--mirrors DIR]}
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
from typing import Iterator

# run as a script, so its folder, the other builders', leads sys.path
import build_fifth as F5
import build_fourth as F4
import build_fresh as FR
import build_injection as B
import build_sixth as F6

#: key -> (repository, commit, licence)
SEVENTH_REPOS = {
    "offensive-payloads": ("InfoSecWarrior/Offensive-Payloads", "a2d1c123c9b2323b94a966a944510b7f9805537c", "none stated"),
    "omurugur-sqli": ("omurugur/SQL_Injection_Payload", "a32e923b4eae6ce1e8b1dd72494de2d9c334a466", "MIT"),
    "sqli-cheatsheet": ("kleiton0x00/Advanced-SQL-Injection-Cheatsheet", "4fec7a5425563cc21f630cfef5b77a2509b8e00b", "none stated"),
    "fuzzing-templates": ("projectdiscovery/fuzzing-templates", "5585787b43e6f7242fcbb706688f9528be63e29f", "MIT"),
    "stockpile": ("mitre/stockpile", "996ec41cd1c5d1c7cc09e620fc55dabe5aefd9cc", "Apache-2.0"),
    "revshellgen": ("t0thkr1s/revshellgen", "136357949972d5212c0ac60e1bf1d16f8a039fdc", "GPL-3.0"),
    "dotdotslash": ("jcesarstef/dotdotslash", "0fe26f0248d63269420449c80f7881d82c04c00c", "dotdotslash licence (permissive)"),
    "lfi-files": ("hussein98d/LFI-files", "2dfbaf0cc19b87d30f8acad047cdfca96ca0ca32", "none stated"),
    "pyjwt": ("jpadilla/pyjwt", "dcc27a9d3182a2349c30b160758785c6ce7a6508", "MIT"),
    "node-jsonwebtoken": ("auth0/node-jsonwebtoken", "bc28861f1fa981ed9c009e29c044a19760a0b128", "MIT"),
    "golang-jwt": ("golang-jwt/jwt", "1a11d3724e63105d751decf9adbdc90165137b45", "MIT"),
    "paramiko": ("paramiko/paramiko", "8697158113a3eab25ed1d1d541ebe2cad10169a7", "LGPL-2.1"),
    "ssh2": ("mscdex/ssh2", "318d447ce3aca26e1ac73b63767b82a29b02467b", "MIT"),
    "sshj": ("hierynomus/sshj", "6c0352483a98497ebba835f07f433599093b17c2", "Apache-2.0"),
    "jsch": ("mwiede/jsch", "65f9ca629d87e23f6aba608ecb9128499cb6fd7a", "BSD-style (JSch)"),
    "age": ("FiloSottile/age", "10561a774f9f6de47c8d23ddc58537b6a18b083d", "BSD-3-Clause"),
    "sops": ("getsops/sops", "15e36f97a8641769712da76b64aec4ea566be81e", "MPL-2.0"),
    "pre-commit-hooks": ("pre-commit/pre-commit-hooks", "f23336e5dc4bf11588d7db19f675418cf570971b", "MIT"),
    "phpmailer": ("PHPMailer/PHPMailer", "4a489474e7ef8bbf03c1cb219d8939ea76a7fb40", "LGPL-2.1"),
    "ffaker": ("ffaker/ffaker", "6c96c11c8749200a5f4e4de76ddedf68a3d5ee30", "MIT"),
    "jaswdr-faker": ("jaswdr/faker", "d4d4793d385419927c852915a6623184f8ca9371", "MIT"),
    "gofakeit": ("brianvoe/gofakeit", "f0b548a543358d5eee6c5858a0a6738344fd3ce2", "MIT"),
    "sqlglot": ("tobymao/sqlglot", "37362f4fc1d63c4687149cec3a8aab109c1eb989", "MIT"),
    "sql-eval": ("defog-ai/sql-eval", "b83332416ea2d424b0cd12994a0a9ba100f4b4af", "Apache-2.0"),
    "tpcds-kit": ("gregrahn/tpcds-kit", "5a3a81796992b725c2a8b216767e142609966752", "TPC EULA"),
    "docker-install": ("docker/docker-install", "60d4787004fea99ea3b3b4a92836144c3119ad33", "Apache-2.0"),
    "dokku": ("dokku/dokku", "33896f5d7efc3b03d0ea94934d8413cddbce07fd", "MIT"),
    "shunit2": ("kward/shunit2", "f39734a3dd56495c2fee1d4b0925bb31082e36d2", "Apache-2.0"),
    "pi-hole": ("pi-hole/pi-hole", "1837b754b945eeab6ad5976443b38b983eb96e6e", "EUPL-1.2"),
    "vault-helm": ("hashicorp/vault-helm", "aa1c92e4adddbce9660e536dfe5222a88eda6d52", "MPL-2.0"),
    "traefik-helm": ("traefik/traefik-helm-chart", "a8a66d0098703627b2cf352c66b1725c196a734a", "Apache-2.0"),
    "ansible-mysql": ("geerlingguy/ansible-role-mysql", "8a84b1dd1502eb3645f90d17a8b6037c241e182c", "MIT"),
    "terraform-aurora": ("terraform-aws-modules/terraform-aws-rds-aurora", "259b5827d159ea73d6f61da802291dceaa2ad2c0", "Apache-2.0"),
}
SEED, SPLIT = "issue16:seventh", "seventh"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), SPLIT)
REFS = dict(repos=SEVENTH_REPOS, split=SPLIT)


def repo(root: str, key: str) -> FR.Repo:
    return FR.Repo(root, key, SEVENTH_REPOS)


def _src(key: str, path: str) -> str:
    return F5._src(key, path, SEVENTH_REPOS)


# the values a tool finds in a parameter and appends its payload to
_SQL_VALUES = ("5", "31", "404", "staff", "lamps", "2021")
_CMD_VALUES = ("10.1.2.3", "files.internal", "log.txt", "icon.svg", "bitbucket.org")
_afterValue = F6._afterValue


def _separated(cmd: str, rng: random.Random) -> str:
    # a command behind one of the sixth part's shell separators, after a value
    return rng.choice(_CMD_VALUES) + rng.choice(F6._SEPARATORS).format(c=cmd)


def _listed(r: FR.Repo, paths: tuple[str, ...], n: int, rng: random.Random) -> list[str]:
    # the lines of some lists, up to n drawn, each as the list writes it
    return B.sample(rng, (x.rstrip("\r\n") for p in paths for x in B.lines(r.show(p))), n)


def _templatePayloads(t: FR.Repo, under: str) -> list[str]:
    # every payload a fuzzing template lists (its C{payloads:} lists)
    import yaml

    out: list[str] = []
    for path in sorted(t.files(under)):
        if path.endswith(".yaml"):
            for req in (yaml.safe_load(t.show(path)) or {}).get("http") or ():
                for values in (req.get("payloads") or {}).values():
                    out += [str(v) for v in values if isinstance(v, (str, int))] if isinstance(values, list) else []
    return out


# --- SQL injection ----------------------------------------------------------------

def offensiveSQL(o: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    Offensive-Payloads' SQL injection and authentication bypass lists, up
    to 220 drawn, after a value where the line continues one.
    """
    for line in _listed(o, ("SQL-Injection-Payloads.txt", "SQL-Injection-Auth-Bypass-Payloads.txt"), 220, rng):
        yield _afterValue(line, _SQL_VALUES, rng)


def omurugurSQL(m: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    omurugur's SQL injection and authentication bypass lists, up to 220
    drawn, the same way.
    """
    for line in _listed(m, ("SQL-Inj-Payload.txt", "SQL-Auth-Bypass.txt"), 220, rng):
        yield _afterValue(line, _SQL_VALUES, rng)


def cheatsheetSQL(c: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    The lines of the cheat sheet's C{sql} code blocks (each a payload a
    parameter takes) and its intruder list, after a value where the line
    continues one.
    """
    pool = []
    for path in sorted(c.files()):
        if path.endswith("README.md"):
            for block in re.findall(r"```sql\n(.*?)```", c.show(path), re.S):
                pool += [x.strip() for x in block.splitlines() if x.strip()]
        elif path.endswith(".txt"):
            pool += [x.strip() for x in B.lines(c.show(path))]
    for line in pool:
        yield _afterValue(" " + line if line[:1] in ("'", '"', ")") else line, _SQL_VALUES, rng)


def templateSQL(t: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    The fuzzing templates' SQL injection payloads after a value.
    """
    for p in _templatePayloads(t, "sqli/"):
        yield _afterValue(p, _SQL_VALUES, rng)


# --- command injection ---------------------------------------------------------------

def offensiveCommands(o: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    Offensive-Payloads' Unix (all) and Windows (up to 260 drawn) command
    injection lists, HTML entities read as the server reads them, after a
    value where the line continues one.
    """
    import html

    for line in list(B.lines(o.show("OS-Command-Injection-Unix-Payloads.txt"))) + _listed(o, ("OS-Command-Injection-Windows-Payloads.txt",), 260, rng):
        yield _afterValue(html.unescape(line.rstrip("\r\n")), _CMD_VALUES, rng)


_FACT = re.compile(r"#\{([\w.]+)\}")
_FACTS = {"server": "http://10.20.0.5:8888", "paw": "k3x9qz", "group": "red", "file": "report.docx", "location": "/tmp/.cache/sandcat",
          "exe_name": "sandcat", "payload": "payload.sh", "host.dir.staged": "/tmp/staged", "host.user.name": "bob", "remote.host.fqdn": "db01.corp.local"}


def stockpileCommands(s: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    The one-line commands of stockpile's abilities (Linux and macOS C{sh},
    Windows C{psh} and C{cmd}; each line of a multi-line C{sh} command a
    command), facts filled, up to 320 drawn, behind a shell separator after
    a value.
    """
    import yaml

    pool = []
    for path in sorted(s.files("data/abilities/")):
        if not path.endswith(".yml"):
            continue
        for ability in yaml.safe_load(s.show(path)) or ():
            for executors in ((ability or {}).get("platforms") or {}).values():
                for name, executor in (executors or {}).items():
                    cmd = str((executor or {}).get("command") or "").strip()
                    lines = [cmd] if "\n" not in cmd else cmd.splitlines() if name == "sh" else []
                    pool += [_FACT.sub(lambda m: _FACTS.get(m.group(1), "value1"), x.strip()) for x in lines
                             if x.strip() and not x.strip().startswith("#") and len(x) < 600]
    for cmd in B.sample(rng, sorted(set(pool)), 320):
        yield _separated(cmd, rng)


def revshellgenCommands(r: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    revshellgen's reverse shell commands (C{revshellgen/commands/}), host,
    port and shell filled, six times each: twice alone, four times behind
    a separator.
    """
    for path in sorted(r.files("revshellgen/commands/")):
        cmd = r.show(path).strip().replace("${ip}", "{ip}").replace("${port}", "{port}").replace("${shell}", "{shell}")
        cmd = cmd.replace("$ip", "{ip}").replace("$port", "{port}").replace("$shell", "{shell}")
        for i in range(6):
            filled = F6._shellFill(cmd, rng)
            yield filled if i < 2 else _separated(filled, rng)


def templateCommands(t: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    The fuzzing templates' command injection payloads after a value.
    """
    for p in _templatePayloads(t, "cmdi/"):
        yield _afterValue(p, _CMD_VALUES, rng)


# --- path traversal -------------------------------------------------------------------

def dotdotslashPaths(d: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    The paths dotdotslash substitutes for a parameter: each prefix, a climb
    repeated one to eight times and a file it looks for (C{match.py}), 170
    drawn.
    """
    import ast

    tree = ast.parse(d.show("match.py"))
    names = {}
    for n in tree.body:
        if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name):
            names[n.targets[0].id] = ast.literal_eval(n.value)
    files = list(names["match"])
    climbs = [v for v in dict.fromkeys(names["dotvar"]) if v]
    befores = list(dict.fromkeys(names["befvar"]))
    for _ in range(170):
        yield rng.choice(befores) + rng.choice(climbs) * rng.randint(1, 8) + rng.choice(files)


def lfiFilesPaths(lf: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    Files of LFI-files' list (120 drawn) read through a climb of three to
    nine C{../}, as an LFI tool appends them to a parameter.
    """
    for p in B.sample(rng, (x.strip() for x in B.lines(lf.show("list.txt")) if x.strip().startswith("/")), 120):
        yield "../" * rng.randint(3, 9) + p.lstrip("/")


def offensivePaths(o: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    Offensive-Payloads' traversal list.
    """
    yield from (x.strip() for x in B.lines(o.show("Directory-Traversal-Payloads.txt")))


def templatePaths(t: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    The fuzzing templates' LFI payloads.
    """
    yield from (p.strip() for p in _templatePayloads(t, "lfi/"))


# --- secrets ------------------------------------------------------------------------------

_PRIVATE = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|PuTTY-User-Key-File")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{16,}")
_AGE = re.compile(r"AGE-SECRET-KEY-1[0-9A-Z]{58}")
# source files, whose keys sit in string literals: not a key file
_CODE = (".go", ".py", ".js", ".ts", ".rst", ".md", ".html", ".yml", ".yaml", ".c", ".h")


def privateKeyFiles(r: FR.Repo, under: str, rng: random.Random, n: int = 0) -> Iterator[dict[str, str]]:
    """
    The files under C{under} that hold a private key (PEM, OpenSSH, PGP,
    PuTTY; no source file), whole, both pasted out and read back; a JWK
    file whose keys carry a private part (C{"d"}) too.  C{n}: up to that
    many files drawn (0: all).
    """
    paths = sorted(r.files(under))
    for path in B.sample(rng, paths, n) if n else paths:
        try:
            body = r.show(path)
        except Exception:  # a file that is no text
            continue
        private = bool(_PRIVATE.search(body)) and not path.endswith(_CODE)
        jwk = path.endswith(".json") and re.search(r'"d"\s*:\s*"[A-Za-z0-9_-]{16,}"', body)
        if (private or jwk) and len(body) < 12000:
            yield from F5._whole("secrets", "attack", "private-key" if private else "jwk-private", body.strip("\n"), _src(r.key, path), rng, SPLIT)


def signedTokens(r: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    The signed JSON Web Tokens a JWT library's tests and docs hold, each as
    an C{Authorization} header or a bare token (the unsigned C{alg: none}
    tokens, with an empty signature, are not matched).
    """
    found: dict[str, str] = {}
    for path in sorted(r.files()):
        if path.endswith((".go", ".py", ".js", ".md", ".rst", ".json")):
            for tok in _JWT.findall(r.show(path)):
                found.setdefault(tok, path)
    for tok, path in found.items():
        text = rng.choice(("Authorization: Bearer {t}", "{t}", "token={t}", '{{"access_token": "{t}"}}')).format(t=tok)
        yield FR._exfil("secrets", "attack", "jwt", text, _src(r.key, path), rng, split=SPLIT)


def ageIdentities(r: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    The age identities (C{AGE-SECRET-KEY-1...}) of a repository's tests
    and testdata, each the line that holds it.
    """
    seen = set()
    for path in sorted(r.files()):
        if not path.endswith((".go", ".txt", ".md", ".yaml", ".json")) or "doc/" in path:
            continue
        for line in r.show(path).splitlines():
            m = _AGE.search(line)
            if m and m.group(0) not in seen and not F4._PLACEHOLDER.search(m.group(0)):
                seen.add(m.group(0))
                yield FR._exfil("secrets", "attack", "age-identity", line.strip().strip('",`'), _src(r.key, path), rng, split=SPLIT)


def awsConfigs(p: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    pre-commit-hooks' AWS credentials test files that hold a secret, whole.
    """
    for path in sorted(p.files("testing/resources/")):
        if path.startswith("testing/resources/aws_config_with_") and "secret" in path:
            yield from F5._whole("secrets", "attack", "aws-credentials-file", p.show(path).strip("\n"), _src("pre-commit-hooks", path), rng, SPLIT)


# --- PII ----------------------------------------------------------------------------------

def phpmailerAddresses(pm: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    The addresses PHPMailer's C{ValidateAddressTest::dataValidAddresses}
    lists as valid, twice each.
    """
    path = "test/PHPMailer/ValidateAddressTest.php"
    block = re.search(r"function dataValidAddresses\(\)(.*?)\n    \}", pm.show(path), re.S)
    found = [F5._phpString(lit) for lit in re.findall(r"('(?:[^'\\]|\\.)*')", block.group(1) if block else "")]
    for addr in dict.fromkeys(found):
        if "@" in addr and not re.search(r"[\x00-\x1f]", addr):
            for _ in range(2):
                yield F5._pii(addr, "validator-valid", _src("phpmailer", path + " dataValidAddresses"), rng, split=SPLIT)


def ffakerAddresses(f: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    Addresses in the shape ffaker's C{Internet.free_email} gives them: a
    locale's first and last names (C{lib/ffaker/data/name*/}) joined as
    its user names are, at one of its free mail hosts; 220.
    """
    hosts = re.search(r"HOSTS = %w\[([^\]]*)\]", f.show("lib/ffaker/internet.rb"))
    domains = hosts.group(1).split() if hosts else ["gmail.com"]
    pool = []
    for folder in sorted({os.path.dirname(p) for p in f.files("lib/ffaker/data/") if re.match(r"lib/ffaker/data/name(_\w+)?/", p)}):
        firsts = [x for p in f.files(folder + "/") if "first" in p for x in map(F6._ascii, f.show(p).splitlines()) if x]
        lasts = [x for p in f.files(folder + "/") if "last" in p for x in map(F6._ascii, f.show(p).splitlines()) if x]
        if firsts and lasts:
            pool.append((folder, firsts, lasts))
    for _ in range(220):
        folder, firsts, lasts = rng.choice(pool)
        first, last = rng.choice(firsts), rng.choice(lasts)
        user = rng.choice((f"{first}.{last}", f"{first}_{last}", f"{first}{last}", f"{first}-{last}", first))
        yield F5._pii(f"{user}@{rng.choice(domains)}", "ffaker-email", _src("ffaker", folder), rng, split=SPLIT)


def jaswdrContacts(j: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    Numbers in jaswdr/faker's US phone formats (an area and exchange code
    whose first digit is 2 to 9), valid for the US, four rounds; and
    addresses in its C{{{user}}@{{freeEmailDomain}}} shape from its first
    and last names, 80.
    """
    src = j.show("phone.go")
    block = re.search(r"phoneFormats = \[\]string\{(.*?)\}\n", src, re.S)
    formats = [x.replace("{{areaCode}}", "!##").replace("{{exchangeCode}}", "!##") for x in re.findall(r'"([^"]+)"', block.group(1) if block else "")]
    for _ in range(4):
        yield from F5._phones(formats, "US", _src("jaswdr-faker", "phone.go"), "jaswdr-faker-phone", rng, 30, split=SPLIT)
    person, internet = j.show("person.go"), j.show("internet.go")
    names = {}
    for var in ("firstNameMale", "firstNameFemale", "lastName"):
        m = re.search(var + r"\s*=\s*\[\]string\{(.*?)\}", person, re.S)
        names[var] = [F6._ascii(x) for x in re.findall(r'"([^"]+)"', m.group(1) if m else "")]
    firsts = [x for x in names["firstNameMale"] + names["firstNameFemale"] if x]
    lasts = [x for x in names["lastName"] if x]
    dm = re.search(r"freeEmailDomain\s*=\s*\[\]string\{(.*?)\}", internet, re.S)
    domains = re.findall(r'"([^"]+)"', dm.group(1) if dm else "")
    for _ in range(80 if firsts and lasts and domains else 0):
        user = rng.choice(("{f}.{l}", "{f}{l}", "{f}_{l}", "{f}{n}")).format(f=rng.choice(firsts), l=rng.choice(lasts), n=rng.randint(1, 999))
        yield F5._pii(f"{user}@{rng.choice(domains)}", "jaswdr-faker-email", _src("jaswdr-faker", "person.go, internet.go"), rng, split=SPLIT)


def gofakeitPhones(g: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    Numbers in gofakeit's formatted phone shapes (C{data/person.go}
    C{"phone"}), valid for the US, eight rounds.
    """
    m = re.search(r'"phone":\s*\{(.*?)\}', g.show("data/person.go"), re.S)
    formats = re.findall(r'"([^"]+)"', m.group(1) if m else "")
    for _ in range(8):
        yield from F5._phones(formats, "US", _src("gofakeit", "data/person.go phone"), "gofakeit-phone", rng, 8, split=SPLIT)


# --- hard benign --------------------------------------------------------------------------

def sqlBenign(glot: FR.Repo, ev: FR.Repo, ds: FR.Repo, rng: random.Random) -> Iterator[tuple[str, str, str, str]]:
    """
    sqlglot's identity fixtures (statements and expressions a parser must
    read back unchanged; 200 drawn) to C{run_sql.query}; sql-eval's
    questions (in text tools) and their reference queries (each file's up
    to 14); the TPC-DS schema and constraints; README prose.
    """
    for s in B.sample(rng, (x.strip() for x in glot.show("tests/fixtures/identity.sql").splitlines() if len(x.strip()) > 12), 200):
        yield "sqlglot", "run_sql", "query", s
    for path in sorted(ev.files("data/")):
        if not path.endswith(".csv"):
            continue
        rows = [r for r in csv.DictReader(io.StringIO(ev.show(path))) if r.get("query")]
        for r in B.sample(rng, rows, 14):  # type: ignore[arg-type]
            yield "sql-eval", "run_sql", "query", " ".join(r["query"].split())
            if r.get("question") and rng.random() < 0.3:
                tool, arg = rng.choice(B.TEXT_TOOLS)
                yield "sql-eval", tool, arg, r["question"].strip()
    for name in ("tools/tpcds.sql", "tools/tpcds_ri.sql"):
        for s in B.sample(rng, F4._sqlStatements(ds.show(name)), 40):
            yield "tpcds-kit", "run_sql", "query", s
    for r in (glot, ev):
        for para in B.paragraphs(r.show("README.md"), 15, rng):
            tool, arg = rng.choice(B.TEXT_TOOLS)
            yield r.key, tool, arg, para


# --- assembly -----------------------------------------------------------------------------


def build(root: str) -> tuple[F4.Rows, dict[str, int]]:
    R = {k: repo(root, k) for k in SEVENTH_REPOS}
    attacks = {
        "sql_injection": [("offensive-payloads", offensiveSQL), ("omurugur-sqli", omurugurSQL), ("sqli-cheatsheet", cheatsheetSQL),
                          ("fuzzing-templates", templateSQL)],
        "command_injection": [("offensive-payloads", offensiveCommands), ("stockpile", stockpileCommands), ("revshellgen", revshellgenCommands),
                              ("fuzzing-templates", templateCommands)],
        "path_traversal": [("dotdotslash", dotdotslashPaths), ("lfi-files", lfiFilesPaths),
                           ("offensive-payloads", offensivePaths), ("fuzzing-templates", templatePaths)],
    }
    shells = [R["docker-install"], R["dokku"], R["shunit2"], R["pi-hole"]]
    benign = {
        "sql_injection": lambda rng: sqlBenign(R["sqlglot"], R["sql-eval"], R["tpcds-kit"], rng),
        "command_injection": lambda rng: F4.cmdBenign(shells, rng),
        "path_traversal": lambda rng: FR.pathBenign([R[k] for k in ("docker-install", "dokku", "shunit2", "pi-hole", "vault-helm", "traefik-helm",
                                                                    "ansible-mysql", "terraform-aurora", "sqlglot", "ffaker", "paramiko",
                                                                    "stockpile")], rng),
    }

    def exfil(rng: random.Random) -> F4.Rows:
        return {
            "secrets.attacks.jsonl": (list(privateKeyFiles(R["pyjwt"], "tests/keys/", rng)) + list(privateKeyFiles(R["node-jsonwebtoken"], "test/", rng))
                                      + list(privateKeyFiles(R["golang-jwt"], "test/", rng)) + list(privateKeyFiles(R["paramiko"], "tests/", rng))
                                      + list(privateKeyFiles(R["ssh2"], "test/fixtures/", rng))
                                      + list(privateKeyFiles(R["sshj"], "src/", rng, 60)) + list(privateKeyFiles(R["jsch"], "src/test/resources/", rng, 60))
                                      + list(privateKeyFiles(R["sops"], "pgp/", rng))
                                      + list(signedTokens(R["golang-jwt"], rng)) + list(signedTokens(R["pyjwt"], rng))
                                      + list(signedTokens(R["node-jsonwebtoken"], rng))
                                      + list(ageIdentities(R["age"], rng)) + list(ageIdentities(R["sops"], rng)) + list(awsConfigs(R["pre-commit-hooks"], rng))),
            "secrets.benign.jsonl": (list(F5.referenceLines(R["vault-helm"], "", (".yaml", ".yml", ".tpl"), 120, rng, whole=10, **REFS))
                                     + list(F5.referenceLines(R["traefik-helm"], "", (".yaml", ".yml", ".tpl", ".md"), 120, rng, whole=10, **REFS))
                                     + list(F5.referenceLines(R["ansible-mysql"], "", (".yml", ".yaml", ".j2", ".md"), 80, rng, whole=6, **REFS))
                                     + list(F5.referenceLines(R["terraform-aurora"], "", (".tf", ".md"), 150, rng, whole=10, **REFS))),
            "pii.attacks.jsonl": (list(phpmailerAddresses(R["phpmailer"], rng)) + list(ffakerAddresses(R["ffaker"], rng))
                                  + list(jaswdrContacts(R["jaswdr-faker"], rng)) + list(gofakeitPhones(R["gofakeit"], rng))),
        }

    return F4.assemble(attacks, R, benign, exfil, SEED, SPLIT, OUT)


if __name__ == "__main__":
    F4.run(build, __doc__, OUT, SPLIT)
