"""
Writes the eighth part of the second corpus, C{eighth/*.jsonl}: attacks
and hard benign traffic from public repositories none of the other parts
(nor any tune builder) drew on or named, every line C{split: eighth}.  It
was committed before it was scored, scored once, and is sealed: no rule is
tuned on it and the reports print its rates only.

Lines the other parts already hold are left out unseen (C{build_fourth}'s
line collectors: every other JSONL file of C{tests/corpus}, the sealed
seventh part's included, and the fresh part's manifest); how many, per
file, is printed and written into C{eighth/README.md}.

Sources (L{EIGHTH_REPOS}, commits pinned; C{eighth/README.md} has the
table):

    - attacks: a wordlist collection's time-based blind SQL injection list,
      the SQL code blocks of an SQL injection knowledge base (MySQL,
      MariaDB, MSSQL, Oracle, PostgreSQL), the payloads of a pentest book's
      and a bug bounty cheat sheet's SQL injection, command injection and
      LFI pages, the commands of a pentester's cheat sheet tool (arsenal)
      and the pentest book's reverse shells and post-exploitation commands
      behind shell separators, the traversals and wrappers an LFI tool
      (LFImap) sends and another's list (LFI-FINDER);
    - secrets: the files a leak scanner's fake-leaks repository holds as
      valid leaks (env files, configs, JSON, properties, scripts), the
      matches its pattern tests expect (leaktk/patterns), and the Go
      snippets a static analyser reports hard-coded credentials in
      (gosec G101); PII: addresses in the shape of a Java faker's locales
      (datafaker), numbers in a Kotlin faker's phone formats, the numbers
      of a phone library's tests (libphonenumber-js) valid for a region,
      and the addresses an e-mail validator's tests accept;
    - benign: MySQL's sys schema (views, procedures, its test suite),
      sqlparse's test files, a dbt example's models; rustup's,
      NodeSource's and build-harness's shell and Makefiles; file lists;
      the fake-leaks files its scanner must not report (placeholders,
      too short, look-alikes) and gosec's negatives; a Jenkins and a
      Keycloak Helm chart, a Terraform Secrets Manager module and an
      Ansible PostgreSQL role that refer to secrets.

Run: C{python tests/corpus/classic/build_eighth.py [--mirrors DIR]}
"""

from __future__ import annotations

import ast
import os
import random
import re
import urllib.parse
from typing import Iterator

# run as a script, so its folder, the other builders', leads sys.path
import build_fifth as F5
import build_fourth as F4
import build_fresh as FR
import build_injection as B
import build_sixth as F6

#: key -> (repository, commit, licence)
EIGHTH_REPOS = {
    "xajkep-wordlists": ("xajkep/wordlists", "cf148e58e8d043ce920e678a155e298a48b90fac", "none stated"),
    "sqli-kb": ("WebsecLabs/sql-injection-knowledge-base", "204f91dcbaaf76ad401b627c2760d173069db8f6", "MIT"),
    "pentest-book": ("six2dez/pentest-book", "1f80c9c299d24226d4f977aea7013b18bf8dc995", "none stated"),
    "bugbounty-cheatsheet": ("EdOverflow/bugbounty-cheatsheet", "14a70dc77915fd0a122d151300de56a33127003a", "CC-BY-SA-4.0"),
    "arsenal": ("Orange-Cyberdefense/arsenal", "585fa07b3df49989d1e5526a6f2bc69fd07a71ec", "GPL-3.0"),
    "lfimap": ("hansmach1ne/LFImap", "ac1f29c2bafcc8c8b16f46c3f6363dc438c99d38", "Apache-2.0"),
    "lfi-finder": ("capture0x/LFI-FINDER", "6db3b54134b571b92a3a42e5f6dfd7eb3f21b72b", "GPL-3.0"),
    "fake-leaks": ("leaktk/fake-leaks", "7ba6ca3ea2f165ecd61276c7460f2facdb313c87", "MIT"),
    "leaktk-patterns": ("leaktk/patterns", "2170b0886278a58f140a882d8bb85e78c70dafed", "MIT"),
    "gosec": ("securego/gosec", "45b083a0cb42119d61b1e0e364d8c62c68f6f5cd", "Apache-2.0"),
    "datafaker": ("datafaker-net/datafaker", "d315482b76329336b8e488a973ab81449e201306", "Apache-2.0"),
    "kotlin-faker": ("serpro69/kotlin-faker", "5df392ce1ea806c4db2f58042bb96521c0bac85b", "MIT"),
    "libphonenumber-js": ("catamphetamine/libphonenumber-js", "54c020980f83a66f188013cc3bb3d6006cec09c6", "MIT"),
    "email-validator": ("manishsaraan/email-validator", "df02ecd8f0c53041c53fac986e842df0ec935ebe", "Unlicense"),
    "mysql-sys": ("mysql/mysql-sys", "a1374ea7cf341b71fd1060136533ce01fe0bd57b", "GPL-2.0"),
    "sqlparse": ("andialbrecht/sqlparse", "60cdc649726bf1bc4f1b336050560b336da715ec", "BSD-3-Clause"),
    "jaffle-shop": ("dbt-labs/jaffle_shop", "b0b77aac70f490770a1e77c02bb0a2b8771d3203", "Apache-2.0"),
    "rustup": ("rust-lang/rustup", "0878429a3d0868928cb57085332854e183f9fcfe", "Apache-2.0 or MIT"),
    "nodesource": ("nodesource/distributions", "b84e5626e6e78d50b0b56c27819ff30450d81b81", "MIT"),
    "build-harness": ("cloudposse/build-harness", "0cb4800d934b0096930cd0fc623698bbc27665bd", "Apache-2.0"),
    "jenkins-helm": ("jenkinsci/helm-charts", "22055414e808938d0fc0585c4920d57661acce90", "Apache-2.0"),
    "codecentric-helm": ("codecentric/helm-charts", "57c2f8e06c91fc85d9a661468e0587bf8abdb94f", "Apache-2.0"),
    "terraform-secrets-manager": ("terraform-aws-modules/terraform-aws-secrets-manager", "82029345dea22bc49989a6f46c5d8d8e555b84c9", "Apache-2.0"),
    "ansible-postgresql": ("geerlingguy/ansible-role-postgresql", "dbb2f6767748beed4f58c29adf76c6ec024679ed", "MIT"),
}
SEED, SPLIT = "issue16:eighth", "eighth"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), SPLIT)
REFS = dict(repos=EIGHTH_REPOS, split=SPLIT)


def repo(root: str, key: str) -> FR.Repo:
    return FR.Repo(root, key, EIGHTH_REPOS)


def _src(key: str, path: str) -> str:
    return F5._src(key, path, EIGHTH_REPOS)


# the values a tool finds in a parameter and appends its payload to
_SQL_VALUES = ("8", "64", "1001", "member", "chairs", "2020")
_CMD_VALUES = ("10.9.8.7", "build.internal", "data.csv", "logo.webp", "codeberg.org")
_afterValue = F6._afterValue


def _separated(cmd: str, rng: random.Random) -> str:
    # a command behind one of the sixth part's shell separators, after a value
    return rng.choice(_CMD_VALUES) + rng.choice(F6._SEPARATORS).format(c=cmd)


_BLOCK = re.compile(r"```([\w+-]*)[ \t]*\n(.*?)```", re.S)


def _blockLines(markdown: str, langs: tuple[str, ...] = ()) -> list[str]:
    # the lines of a page's fenced code blocks (of C{langs} when given),
    # comment lines left out
    out = []
    for lang, body in _BLOCK.findall(markdown):
        if langs and lang.lower() not in langs:
            continue
        out += [x.strip() for x in body.splitlines() if x.strip() and not x.strip().startswith(("#", "//"))]
    return out


# --- SQL injection ----------------------------------------------------------------

def xajkepSQL(x: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    The wordlists' time-based blind SQL injection list, its C{__TIME__}
    filled, after a value where the line continues one.
    """
    for line in B.lines(x.show("payloads/sqli_blind_time-based.txt")):
        yield _afterValue(line.rstrip("\r\n").replace("__TIME__", str(rng.choice((5, 7, 10)))), _SQL_VALUES, rng)


def knowledgeBaseSQL(k: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    The knowledge base's C{sql} code blocks (its pages on MySQL, MariaDB,
    MSSQL, Oracle and PostgreSQL injection), each statement or line group
    one payload (comments left out, whitespace collapsed), up to 330 drawn,
    after a value where it continues one.
    """
    pool = []
    for path in sorted(k.files("src/content/")):
        if not path.endswith(".md") or "/extras/" in path:
            continue
        for lang, body in _BLOCK.findall(k.show(path)):
            if lang.lower() != "sql":
                continue
            body = re.sub(r"(?m)^\s*--.*$", "", body)
            for chunk in re.split(r"\n\s*\n|;\s*\n", body):
                text = " ".join(chunk.split())
                if 6 <= len(text) <= 600:
                    pool.append(text)
    for text in B.sample(rng, dict.fromkeys(pool), 330):
        yield _afterValue(" " + text if text[:1] in ("'", '"', ")") else text, _SQL_VALUES, rng)


def pageSQL(r: FR.Repo, path: str, rng: random.Random) -> Iterator[str]:
    """
    The lines of a page's code blocks (a pentest book's or a cheat sheet's
    SQL injection page), after a value where the line continues one.
    """
    for line in _blockLines(r.show(path)):
        yield _afterValue(" " + line if line[:1] in ("'", '"', ")") else line, _SQL_VALUES, rng)


def pentestBookSQL(p: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    The pentest book's SQL injection page.
    """
    yield from pageSQL(p, "enumeration/web/sqli.md", rng)


def cheatsheetSQL(c: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    The bug bounty cheat sheet's SQL injection page.
    """
    yield from pageSQL(c, "cheatsheets/sqli.md", rng)


# --- command injection ---------------------------------------------------------------

_ARSENAL_CATEGORIES = ("ReverseShell/", "Linux/", "Windows/", "Files/", "Password extraction/", "Active_directory/", "Network/",
                       "Services/", "Web/", "Language/", "Databases/", "Cloud/")
_ARSENAL_FILL = {"ip": "10.13.37.5", "lhost": "10.13.37.5", "lport": "9001", "port": "445", "user": "svc_backup", "username": "svc_backup",
                 "password": "Winter2024!", "domain": "corp.local", "dc": "dc01.corp.local", "url": "http://10.13.37.5/x", "file": "loot.txt",
                 "target": "10.20.30.40", "hash": "aad3b435b51404eeaad3b435b51404ee:8846f7eaee8fb117ad06bdd830b7586c"}


def _arsenalFill(cmd: str) -> str:
    def sub(m: re.Match) -> str:  # type: ignore[type-arg]
        name = m.group(1).split("|")[0].strip().lower()
        return _ARSENAL_FILL.get(name, _ARSENAL_FILL.get(name.split("_")[-1], "value1"))

    return re.sub(r"<([\w| .-]+)>", sub, cmd)


def arsenalCommands(a: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    The one-line commands of arsenal's cheat sheets (reverse shells, Linux
    and Windows, file transfer, credential extraction, Active Directory,
    network, services, web, languages, databases, cloud), its
    C{<placeholders>} filled, up to 330 drawn, behind a shell separator
    after a value.
    """
    pool = []
    for path in sorted(a.files("arsenal/data/cheats/")):
        rel = path[len("arsenal/data/cheats/"):]
        if path.endswith(".md") and rel.startswith(_ARSENAL_CATEGORIES):
            for lang, body in _BLOCK.findall(a.show(path)):
                lines = [x.strip() for x in body.strip().splitlines() if x.strip()]
                if len(lines) == 1 and len(lines[0]) < 500:
                    pool.append(_arsenalFill(lines[0]))
    for cmd in B.sample(rng, dict.fromkeys(pool), 330):
        yield _separated(cmd, rng)


def pageCommands(r: FR.Repo, path: str, rng: random.Random) -> Iterator[str]:
    """
    The lines of a page's code blocks (a command injection or RCE page),
    after a value where the line continues one.
    """
    for line in _blockLines(r.show(path)):
        yield _afterValue(line, _CMD_VALUES, rng)


def pentestBookCommands(p: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    The pentest book's command injection page.
    """
    yield from pageCommands(p, "enumeration/web/command-injection.md", rng)


def cheatsheetCommands(c: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    The bug bounty cheat sheet's RCE page.
    """
    yield from pageCommands(c, "cheatsheets/rce.md", rng)


def _lfimapLiterals(l: FR.Repo, name: str) -> list[str]:
    # the payload strings an LFImap attack module sends (its URL-encoded
    # literals of eight characters or more), decoded as the server reads them
    out = []
    for node in ast.walk(ast.parse(l.show(f"lfimap/src/attacks/{name}"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "%" in node.value and len(node.value) >= 8:
            out.append(urllib.parse.unquote(node.value))
    return out


_SHELL_FILL = (("IP ADDRESS", "{ip}"), ("<IP>", "{ip}"), ("<PORT>", "{port}"), ("PORT", "{port}"), ("LHOST", "{ip}"), ("LPORT", "{port}"))


def pentestBookShells(p: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    The pentest book's reverse shells (C{exploitation/reverse-shells.md},
    its tool links left out; host and port filled), each once alone or
    behind a separator; and its Linux post-exploitation commands (120
    drawn) behind a separator after a value.
    """
    for line in _blockLines(p.show("exploitation/reverse-shells.md")):
        if line.startswith(("http", "**")):
            continue
        for word, field in _SHELL_FILL:
            line = line.replace(word, field)
        filled = F6._shellFill(line, rng)
        yield filled if rng.random() < 0.4 else _separated(filled, rng)
    for cmd in B.sample(rng, dict.fromkeys(x for x in _blockLines(p.show("post-exploitation/linux.md")) if not x.startswith("http")), 120):
        yield _separated(cmd, rng)


def lfimapCommands(l: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    LFImap's command injection probes (C{attacks/cmdi.py}), decoded.
    """
    yield from _lfimapLiterals(l, "cmdi.py")


# --- path traversal -------------------------------------------------------------------

def lfimapPaths(l: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    LFImap's long traversal list (330 drawn), its short and access-log
    lists, and the wrappers and truncations its attack modules send,
    decoded.
    """
    d = "lfimap/src/wordlists/"
    yield from (x.strip() for x in B.sample(rng, B.lines(l.show(d + "long.txt")), 330))
    for name in ("short.txt", "http_access_log.txt"):
        yield from (x.strip() for x in B.lines(l.show(d + name)))
    for name in ("file.py", "filter.py", "trunc.py", "input.py", "data.py", "expect.py", "heur.py"):
        yield from (x.strip() for x in _lfimapLiterals(l, name))


def lfiFinderPaths(f: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    LFI-FINDER's list (C{lfi.txt}), the lines that name a file or a
    wrapper (a bare climb such as C{../} left out), 160 drawn.
    """
    yield from B.sample(rng, (x.strip() for x in B.lines(f.show("lfi.txt")) if re.search(r"[A-Za-z]{3}", x)), 160)


def pentestBookPaths(p: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    The lines of the pentest book's LFI/RFI page's code blocks.
    """
    yield from _blockLines(p.show("enumeration/web/lfi-rfi.md"))


def cheatsheetPaths(c: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    The lines of the bug bounty cheat sheet's LFI page's code blocks.
    """
    yield from _blockLines(c.show("cheatsheets/lfi.md"))


# --- secrets ------------------------------------------------------------------------------

# files of fake-leaks at its top level that each hold one vendor's leak
_LEAK_FILES = ("dynatrace-token", "groq", "heroku", "huggingface-api-keys", "mailchimp", "openai-api-keys", "picatic", "gcp-credentials.json",
               "secret-files/github.token", "custom-rule.txt")


def _text(r: FR.Repo, path: str) -> str:
    try:
        body = r.show(path)
    except Exception:  # a file that is no text
        return ""
    return "" if "\0" in body or "\ufffd" in body or len(body) > 12000 else body.strip("\n")


# folders of fake-leaks whose finds are no secret: markings of controlled
# information, password hashes, a vulnerable workflow
_LEAK_NOT_SECRET = ("cui/", "password-hash/", "github/valid/github-workflows-")


def fakeLeaks(f: FR.Repo, rng: random.Random, valid: bool) -> Iterator[dict[str, str]]:
    """
    The files of fake-leaks under a vendor's C{valid/} folder and its
    single-vendor files (C{valid}), or under C{invalid/} and C{benign/}
    (the look-alikes, placeholders and too-short values the scanner must
    not report), whole, both pasted out and read back; markings, password
    hashes and a vulnerable workflow (L{_LEAK_NOT_SECRET}) left out.
    """
    for path in sorted(f.files()):
        parts = path.split("/")
        if path.startswith(_LEAK_NOT_SECRET):
            continue
        if valid:
            mine = (len(parts) > 2 and parts[-2] == "valid") or path in _LEAK_FILES
        else:
            mine = len(parts) > 2 and parts[-2] in ("invalid", "benign")
        body = _text(f, path) if mine else ""
        if body.strip():
            label = "attack" if valid else "benign"
            yield from F5._whole("secrets", label, "fake-leak" if valid else "fake-leak-invalid", body, _src("fake-leaks", path), rng, SPLIT)


# rules whose match is an identifier, a marking or a hash, not a secret
_LEAKTK_SKIP = re.compile(r"Unique Identifier|Controlled Unclassified|Password Hash|Vulnerable GitHub Workflow")


def leaktkMatches(p: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    The matches leaktk/patterns' tests expect its scanner to report
    (C{testdata/leaktk-scanner-results.yaml}; identifiers, markings,
    hashes, placeholder-shaped values and the copies of semgrep's examples
    left out), each as the text it was found in.
    """
    import yaml

    for finding in yaml.safe_load(p.show("testdata/leaktk-scanner-results.yaml")) or ():
        rule, where = str(finding.get("rule.description") or ""), str(finding.get("location.path") or "")
        match = str(finding.get("match") or "").strip()
        if (not match or _LEAKTK_SKIP.search(rule) or where.startswith("semgrep-rules-examples/") or F4._PLACEHOLDER.search(match)
                or len(match) < 12):
            continue
        yield FR._exfil("secrets", "attack", "leaktk-expected", match, _src("leaktk-patterns", f"testdata/leaktk-scanner-results.yaml ({rule}; {where})"),
                        rng, split=SPLIT)


_GOSEC_SAMPLE = re.compile(r"\{\[\]string\{`(.*?)`\}, (\d+), gosec\.NewConfig\(\)\}", re.S)


def gosecSamples(g: FR.Repo, rng: random.Random, positive: bool) -> Iterator[dict[str, str]]:
    """
    gosec's G101 samples (hard-coded credentials): those it reports
    (C{positive}; documented example keys left out) or those it does not
    (a suppression comment's samples left out: suppressed is not clean),
    each snippet whole.
    """
    path = "testutils/g101_samples.go"
    for code, count in _GOSEC_SAMPLE.findall(g.show(path)):
        code = code.strip("\n")
        if positive and int(count) > 0 and not F4._PLACEHOLDER.search(code):
            yield FR._exfil("secrets", "attack", "gosec-g101", code, _src("gosec", path), rng, split=SPLIT)
        elif not positive and int(count) == 0 and not re.search(r"nosec|gosec:disable", code):
            yield FR._exfil("secrets", "benign", "gosec-g101-negative", code, _src("gosec", path), rng, split=SPLIT)


# --- PII ----------------------------------------------------------------------------------

def datafakerAddresses(d: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    Addresses in the shape datafaker's C{Internet.emailAddress} gives them:
    a locale's first and last names (C{src/main/resources/<locale>.yml})
    at its free mail domains (the locale's, else its country file's);
    220.
    """
    import yaml

    base = "src/main/resources/"
    docs = {}
    for path in sorted(d.files(base)):
        m = re.fullmatch(base + r"(_?[A-Za-z-]+)\.yml", path)
        if m:
            try:
                doc = yaml.safe_load(d.show(path)) or {}
            except yaml.YAMLError:
                continue
            docs[m.group(1)] = (doc.get(m.group(1)) or {}).get("faker") or {}
    pool = []
    for locale, faker in docs.items():
        if locale.startswith("_"):
            continue
        name = faker.get("name") or {}
        country = docs.get("_" + locale.split("-")[-1].upper(), {})
        domains = [x for x in ((faker.get("internet") or {}).get("free_email") or (country.get("internet") or {}).get("free_email") or [])
                   if isinstance(x, str) and "." in x]
        firsts = [F6._ascii(x) for k in ("first_name", "male_first_name", "female_first_name") for x in (name.get(k) or [])
                  if isinstance(x, str) and "#{" not in x]
        lasts = [F6._ascii(x) for x in (name.get("last_name") or []) if isinstance(x, str) and "#{" not in x]
        firsts, lasts = [x for x in firsts if x], [x for x in lasts if x]
        if firsts and lasts and domains:
            pool.append((locale, firsts, lasts, domains))
    for _ in range(220 if pool else 0):
        locale, firsts, lasts, domains = rng.choice(pool)
        first, last = rng.choice(firsts), rng.choice(lasts)
        user = rng.choice((f"{first}.{last}", f"{first}{last}", f"{first}_{last}", f"{first}{rng.randint(1, 99)}", f"{first[0]}.{last}"))
        yield F5._pii(f"{user}@{rng.choice(domains)}", "datafaker-email", _src("datafaker", f"{base}{locale}.yml"), rng, split=SPLIT)


def kotlinFakerPhones(k: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    Numbers in kotlin-faker's phone and cell phone formats per locale
    (C{core/src/jvmMain/resources/locales/<locale>.yml}), national and
    written internationally, valid for the locale's region; up to eight
    per locale.
    """
    import yaml

    base = "core/src/jvmMain/resources/locales/"
    for path in sorted(k.files(base)):
        m = re.fullmatch(base + r"([A-Za-z-]+)\.yml", path)
        if not m:
            continue
        try:
            doc = yaml.safe_load(k.show(path)) or {}
        except yaml.YAMLError:
            continue
        faker = (doc.get(m.group(1)) or {}).get("faker") or {}
        formats = []
        for key in ("phone_number", "cell_phone"):
            fmts = (faker.get(key) or {}).get("formats") or []
            formats += [x for x in fmts if isinstance(x, str) and "#" in x and "{" not in x]
        region = F6._region(m.group(1), faker)
        if formats:
            yield from F5._phones(formats + F6._international(formats, region), region, _src("kotlin-faker", path), "kotlin-faker-phone", rng, 8,
                                  split=SPLIT)


_PHONE_LITERAL = re.compile(r"""['"](\+?[\d(][\d ()+.-]{6,}\d)['"]""")
_REGIONS = ("US", "RU", "GB", "FR", "DE", "BR", "AU", "IN", "IT", "ES", "MX", "CA")


def libphonenumberJsNumbers(lp: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    The phone numbers written in libphonenumber-js' tests (C{*.test.js}
    string literals), kept when libphonenumber finds them valid: an
    international one as it is, a national one for the first of twelve
    regions it is valid for; each once, up to 200 drawn.
    """
    import phonenumbers

    found: dict[str, tuple[str, str]] = {}
    for path in sorted(lp.files()):
        if not path.endswith(".test.js"):
            continue
        for lit in _PHONE_LITERAL.findall(lp.show(path)):
            if lit in found or len(re.sub(r"\D", "", lit)) < 7:
                continue
            for region in (None,) if lit.startswith("+") else _REGIONS:
                try:
                    number = phonenumbers.parse(lit, region)
                except phonenumbers.NumberParseException:
                    continue
                if phonenumbers.is_valid_number(number):
                    found[lit] = (path, region or "")
                    break
    for lit in B.sample(rng, sorted(found), 200):
        path, region = found[lit]
        e = F5._pii(lit, "libphonenumber-js-test", _src("libphonenumber-js", path), rng, region=region or "Dublin", split=SPLIT)
        if region:
            e["national_region"] = region
        yield e


def validatorAddresses(v: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    The addresses email-validator's C{test.js} lists as valid and
    supported, twice each.
    """
    block = re.search(r"const validSupported\s*=\s*\[(.*?)\];", v.show("test.js"), re.S)
    for lit in re.findall(r'("(?:[^"\\]|\\.)*")', block.group(1) if block else ""):
        addr = F4._javaUnescape(lit)
        if "@" in addr and not re.search(r"[\x00-\x1f]", addr):
            for _ in range(2):
                yield F5._pii(addr, "validator-valid", _src("email-validator", "test.js validSupported"), rng, split=SPLIT)


# --- hard benign --------------------------------------------------------------------------

def _mysqlTest(text: str) -> list[str]:
    # the SQL statements of a mysqltest file (its C{--} commands and
    # mysqltest directives left out)
    text = re.sub(r"(?m)^\s*(--|#).*$", "", text)
    text = re.sub(r"(?im)^\s*(let|eval|source|connect|connection|disconnect|if|while|echo|error|replace_\w+|sleep|real_sleep|delimiter)\b.*$", "", text)
    return F4._sqlStatements(text)


def sqlBenign(ms: FR.Repo, sp: FR.Repo, js: FR.Repo, rng: random.Random) -> Iterator[tuple[str, str, str, str]]:
    """
    MySQL's sys schema: its views (each file's statement; 120 drawn), its
    procedures' and functions' statements (120), its test suite's
    statements (200); sqlparse's test files' statements; the dbt example's
    models; README prose.
    """
    for under, n in (("views/", 120), ("procedures/", 70), ("functions/", 50), ("tables/", 10)):
        pool = []
        for path in sorted(ms.files(under)):
            if path.endswith(".sql"):
                text = re.sub(r"(?m)^\s*DELIMITER.*$", "", ms.show(path)).replace("$$", ";")
                pool += F4._sqlStatements(re.sub(r"(?m)^\s*--.*$", "", text))
        for s in B.sample(rng, pool, n):
            yield "mysql-sys", "run_sql", "query", s
    pool = [s for path in sorted(ms.files("mysql-test/")) if path.endswith(".test") for s in _mysqlTest(ms.show(path))]
    for s in B.sample(rng, pool, 200):
        yield "mysql-sys", "run_sql", "query", s
    for path in sorted(sp.files("tests/files/")):
        if path.endswith(".sql"):
            for s in B.sample(rng, F4._sqlStatements(sp.show(path)), 8):
                yield "sqlparse", "run_sql", "query", s
    for path in sorted(js.files("models/")):
        if path.endswith(".sql"):
            yield "jaffle-shop", "run_sql", "query", " ".join(js.show(path).split())
    for r, name in ((ms, "README.md"), (sp, "README.md"), (js, "README.md")):
        for para in B.paragraphs(r.show(name), 25, rng):
            tool, arg = rng.choice(B.TEXT_TOOLS)
            yield r.key, tool, arg, para


def _talk(r: FR.Repo, rng: random.Random) -> Iterator[tuple[str, str, str, str]]:
    # what a repository's people write about it: 60 commit subjects, 30
    # README paragraphs in text tools
    for s in B.sample(rng, r.subjects(2000), 60):
        yield r.key, "git_commit", "message", s
    for para in B.paragraphs(r.show("README.md"), 30, rng):
        tool, arg = rng.choice(B.TEXT_TOOLS)
        yield r.key, tool, arg, para


def cmdBenign(rustup: FR.Repo, ns: FR.Repo, bh: FR.Repo, rng: random.Random) -> Iterator[tuple[str, str, str, str]]:
    """
    rustup's and NodeSource's shell (C{build_fourth.cmdBenign}: script
    lines, commit subjects, README prose; NodeSource's C{setup_*} scripts
    added), and build-harness's Makefile recipe lines (220 drawn),
    commit subjects and README prose.
    """
    yield from F4.cmdBenign([rustup], rng)
    pool = [s for p in sorted(ns.files("scripts/")) for s in B.shellLines(ns.show(p)) if "/setup_" in p or p.endswith(".sh")]
    for s in B.sample(rng, pool, 150):
        yield "nodesource", "run_command", "command", s
    yield from _talk(ns, rng)
    recipes = []
    for p in sorted(bh.files()):
        if os.path.basename(p) == "Makefile" or p.endswith(".mk"):
            for line in bh.show(p).splitlines():
                if line.startswith("\t"):
                    s = line.strip().lstrip("@-").strip()
                    if 8 <= len(s) <= 300 and not s.endswith("\\") and not s.startswith("#"):
                        recipes.append(s)
    for s in B.sample(rng, dict.fromkeys(recipes), 220):
        yield "build-harness", "run_command", "command", s
    yield from _talk(bh, rng)


# --- assembly -----------------------------------------------------------------------------


def build(root: str) -> tuple[F4.Rows, dict[str, int]]:
    R = {k: repo(root, k) for k in EIGHTH_REPOS}
    attacks = {
        "sql_injection": [("xajkep-wordlists", xajkepSQL), ("sqli-kb", knowledgeBaseSQL), ("pentest-book", pentestBookSQL),
                          ("bugbounty-cheatsheet", cheatsheetSQL)],
        "command_injection": [("arsenal", arsenalCommands), ("pentest-book", pentestBookCommands), ("pentest-book", pentestBookShells),
                              ("bugbounty-cheatsheet", cheatsheetCommands),
                              ("lfimap", lfimapCommands)],
        "path_traversal": [("lfimap", lfimapPaths), ("lfi-finder", lfiFinderPaths), ("pentest-book", pentestBookPaths),
                           ("bugbounty-cheatsheet", cheatsheetPaths)],
    }
    benign = {
        "sql_injection": lambda rng: sqlBenign(R["mysql-sys"], R["sqlparse"], R["jaffle-shop"], rng),
        "command_injection": lambda rng: cmdBenign(R["rustup"], R["nodesource"], R["build-harness"], rng),
        "path_traversal": lambda rng: FR.pathBenign([R[k] for k in ("rustup", "nodesource", "build-harness", "mysql-sys", "sqlparse", "jaffle-shop",
                                                                    "jenkins-helm", "codecentric-helm", "terraform-secrets-manager",
                                                                    "ansible-postgresql", "datafaker", "gosec", "libphonenumber-js")], rng),
    }

    def exfil(rng: random.Random) -> F4.Rows:
        return {
            "secrets.attacks.jsonl": (list(fakeLeaks(R["fake-leaks"], rng, True)) + list(leaktkMatches(R["leaktk-patterns"], rng))
                                      + list(gosecSamples(R["gosec"], rng, True))),
            "secrets.benign.jsonl": (list(fakeLeaks(R["fake-leaks"], rng, False)) + list(gosecSamples(R["gosec"], rng, False))
                                     + list(F5.referenceLines(R["jenkins-helm"], "", (".yaml", ".yml", ".tpl"), 90, rng, whole=8, **REFS))
                                     + list(F5.referenceLines(R["codecentric-helm"], "", (".yaml", ".yml", ".tpl", ".md"), 90, rng, whole=8, **REFS))
                                     + list(F5.referenceLines(R["terraform-secrets-manager"], "", (".tf", ".md"), 80, rng, whole=6, **REFS))
                                     + list(F5.referenceLines(R["ansible-postgresql"], "", (".yml", ".yaml", ".j2", ".md"), 60, rng, whole=4,
                                                              **REFS))),
            "pii.attacks.jsonl": (list(datafakerAddresses(R["datafaker"], rng)) + list(kotlinFakerPhones(R["kotlin-faker"], rng))
                                  + list(libphonenumberJsNumbers(R["libphonenumber-js"], rng)) + list(validatorAddresses(R["email-validator"], rng))),
        }

    return F4.assemble(attacks, R, benign, exfil, SEED, SPLIT, OUT)


if __name__ == "__main__":
    F4.run(build, __doc__, OUT, SPLIT)
