"""
Writes the sixth part of the second corpus, C{sixth/*.jsonl}: attacks and
hard benign traffic from public repositories none of the other parts (nor
any tune builder) drew on or named, every line C{split: sixth}.  It was
committed before it was scored, scored once, and is sealed: no rule is
tuned on it and the reports print its rates only.

Lines the other parts already hold are left out unseen (C{build_fourth}'s
line collectors: every other JSONL file of C{tests/corpus}, the sealed fifth
part's included, and the fresh part's manifest); how many, per file, is
printed and written into C{sixth/README.md}.

Sources (L{SIXTH_REPOS}, commits pinned; C{sixth/README.md} has the table):

    - attacks: the blind SQL injection payloads of a small scanner (DSSS),
      the SQL injection, command execution, LFI and traversal lists of a
      Burp Intruder collection (IntruderPayloads) and of a payload
      collection's own and OWASP parts (foospidy/payloads), the reverse and
      bind shells of a reverse shell generator behind shell separators,
      the paths an LFI tool tests (LFISuite) and a fuzzing list's
      traversals (fuzz.txt);
    - secrets: the examples a secret scanner's rules say hold a secret
      (sonar-text), the findings GitHub's custom secret scanning patterns
      expect in their test files, a scanner's secret fixtures
      (repo-supervisor); PII: e-mail addresses two Go validators' tests
      accept, addresses in the shape Ruby Faker gives them from its locales'
      names and free mail domains, and phone numbers in Ruby Faker's and
      fake-rs' formats, national and international, in build_exfil's
      templates;
    - benign: the titanic, happiness index and periodic table sample
      databases, SQL exercises and the TPC-H queries; acme.sh, tfenv,
      Homebrew's installer and dehydrated shell; file lists; an Argo Helm
      chart collection, a Terraform EKS module and Ansible examples that
      refer to secrets.

Run: C{python tests/corpus/classic/build_sixth.py [--mirrors DIR]}
"""

from __future__ import annotations

import ast
import json
import os
import random
import re
import unicodedata
import urllib.parse
from typing import Iterator, Optional

# run as a script, so its folder, the other builders', leads sys.path
import build_fifth as F5
import build_fourth as F4
import build_fresh as FR
import build_injection as B

#: key -> (repository, commit, licence)
SIXTH_REPOS = {
    "dsss": ("stamparm/DSSS", "ee6a847303304a31cd827753669be113b20e03e9", "Public domain"),
    "intruder": ("1N3/IntruderPayloads", "9b84328441e0b1d5b63764941bfd72a2460dba5d", "none stated"),
    "foospidy": ("foospidy/payloads", "38ac97fc0adfd149dd976f3dbd42c025232aaa47", "GPL-3.0"),
    "revshells": ("0dayCTF/reverse-shell-generator", "9fda27f91b1b1f370539dd534bc3bbb1f6b49bf6", "MIT"),
    "lfisuite": ("D35m0nd142/LFISuite", "470e01f17129d2916bf3c23778f759df42899135", "GPL-3.0"),
    "fuzz-txt": ("Bo0oM/fuzz.txt", "b6cf84b03528bc5a95b4c8d77bf6e0445a94df07", "WTFPL"),
    "shellerator": ("ShutdownRepo/shellerator", "6af7f361542ea63dda2a16b8164833e0b1f036a1", "GPL-3.0"),
    "rsg": ("mthbernardes/rsg", "c7628a975e98e4ca1eac6543ade978e0951f8844", "MIT"),
    "loobins": ("infosecB/LOOBins", "b1de45c5f6317876aa0036c2c25fb8c2b29291e1", "GPL-3.0"),
    "gtfoargs": ("GTFOArgs/GTFOArgs.github.io", "2d19761a83e864140b0de9464f82a988b05365c5", "GPL-3.0"),
    "sonar-text": ("SonarSource/sonar-text", "bb9c06ece15cbc4aad5dcd3ebb80b8ea31a9386c", "SONAR Source-Available License 1.0"),
    "custom-patterns": ("advanced-security/secret-scanning-custom-patterns", "9b84660dfcad6cc3d0e2c40a1a5f61dd7edca4b9", "MIT"),
    "repo-supervisor": ("auth0/repo-supervisor", "443474de2d2bde1f6e1bbc6d214ca2bdd3dcbaae", "MIT"),
    "go-validator": ("go-playground/validator", "fd8bd3c9d513cd1d29e495974fa07dba7a2b5936", "MIT"),
    "govalidator": ("asaskevich/govalidator", "3dd3875e2b081a20d6eed935913a482fea14ecd0", "MIT"),
    "ruby-faker": ("stympy/faker", "19e34a9e2718cd8b1a075d5098239740743772c0", "MIT"),
    "fake-rs": ("cksac/fake-rs", "8a3a1bed2c9828feac50f916fcf2225dda206d7e", "MIT, Apache-2.0"),
    "neon-samples": ("neondatabase/postgres-sample-dbs", "f6c2e24910e9a1eb9c11c69628544d4d60d42e47", "MIT"),
    "sql-exercise": ("XD-DENG/SQL-exercise", "dd1783404333938638ed6079c89484cbafbe62b1", "none stated"),
    "tpch-kit": ("gregrahn/tpch-kit", "852ad0a5ee31ebefeed884cea4188781dd9613a3", "TPC EULA"),
    "acme.sh": ("acmesh-official/acme.sh", "d60c75b4e30a26addd8b9d0bfdeeed39c84ed51e", "GPL-3.0"),
    "tfenv": ("tfutils/tfenv", "59535da747caee7b19d4821ac3ecaf030e0a76e6", "MIT"),
    "brew-install": ("Homebrew/install", "ca0130bd52235f2fcb2bf23cfdda004bc5d250c1", "BSD-2-Clause"),
    "dehydrated": ("dehydrated-io/dehydrated", "7ea8aaab5c257cb2c4b980f2f73597369a44d503", "MIT"),
    "git-extras": ("tj/git-extras", "184d37e98015643f162e1d09fb0b203d9a9f6dbd", "MIT"),
    "argo-helm": ("argoproj/argo-helm", "af0a9310bacbaa4636018dfe22c801a6d33a5c43", "Apache-2.0"),
    "terraform-eks": ("terraform-aws-modules/terraform-aws-eks", "bef29c4d9523523e57fe898643fde2895106b339", "Apache-2.0"),
    "ansible-examples": ("ansible/ansible-examples", "b50586543c6c4be907fdc88f9f78a2b35d2a895f", "none stated"),
    "datadog-charts": ("DataDog/helm-charts", "79f7c74fd2525288125d943f48b810431dbc8857", "Apache-2.0"),
    "elastic-charts": ("elastic/helm-charts", "2fd64d0af65f14df7aa01da591919460dabac4b3", "Apache-2.0"),
}
SEED, SPLIT = "issue16:sixth", "sixth"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), SPLIT)


def repo(root: str, key: str) -> FR.Repo:
    return FR.Repo(root, key, SIXTH_REPOS)


def _src(key: str, path: str) -> str:
    return F5._src(key, path, SIXTH_REPOS)


# the values a tool finds in a parameter and appends its payload to
_SQL_VALUES = ("3", "12", "99", "editor", "garden", "2022")
_CMD_VALUES = ("192.168.1.20", "intranet.local", "notes.txt", "banner.gif", "gitlab.com")
# shell separators a command rides in after a parameter value
_SEPARATORS = ("; {c}", "| {c}", "|| {c}", "&& {c}", "& {c}", "\n{c}", "`{c}`", "$({c})")


# --- SQL injection ----------------------------------------------------------------

def dsssSQL(d: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    DSSS' blind payloads as C{scan_page} builds them: each prefix, boolean
    test and suffix, spaces or inline comments, the true and the false
    numbers, after a parameter value, URL-decoded as the server reads them.
    """
    consts: dict[str, object] = {}
    for n in ast.parse(d.show("dsss.py")).body:
        if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Tuple) and isinstance(n.value, ast.Tuple):
            for t, v in zip(n.targets[0].elts, n.value.elts):
                if isinstance(t, ast.Name) and isinstance(v, ast.Tuple):
                    consts[t.id] = ast.literal_eval(v)
        elif isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name) and isinstance(n.value, ast.Tuple):
            consts[n.targets[0].id] = ast.literal_eval(n.value)
    for prefix in consts["PREFIXES"]:  # type: ignore[attr-defined]
        for boolean in consts["BOOLEAN_TESTS"]:  # type: ignore[attr-defined]
            for suffix in consts["SUFFIXES"]:  # type: ignore[attr-defined]
                for inline in (False, True):
                    template = f"{prefix}{boolean}{suffix}".replace(" " if inline else "/**/", "/**/")
                    n = rng.randint(1, 255)
                    for truth in (True, False):
                        yield rng.choice(_SQL_VALUES) + urllib.parse.unquote(template % (n if truth else n + 1, n))


_FOOSPIDY_SQL = ("other/sqli/c0rni3sm.txt", "other/sqli/camoufl4g3.txt", "other/sqli/d0znpp.txt", "other/sqli/harisec.txt",
                 "other/sqli/sqlifuzzer.txt", "owasp/jbrofuzz/sqli.txt", "owasp/fuzzing_code_database/sqli/sqli.txt")


def _listed(r: FR.Repo, paths: tuple[str, ...], n: int, rng: random.Random) -> list[str]:
    # the lines of some lists, up to n drawn
    return B.sample(rng, (x.strip() for p in paths for x in B.lines(r.show(p))), n)


def foospidySQL(f: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    foospidy/payloads' own SQL injection lists (its C{other/sqli}, the
    libinjection bypasses left out) and its copies of OWASP JBroFuzz' and
    the OWASP Fuzzing Code Database's; up to 130 drawn.
    """
    yield from _listed(f, _FOOSPIDY_SQL, 130, rng)


def _afterValue(line: str, values: tuple[str, ...], rng: random.Random) -> str:
    # a list line that begins with a blank or a quote continues a value
    return rng.choice(values) + line if line[:1] in (" ", "'", '"', ")") else line.strip()


def intruderSQL(i: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    IntruderPayloads' error-based, time-based, UNION and authentication
    bypass lists (C{FuzzLists/}), up to 170 drawn, after a value where the
    line continues one.
    """
    names = ("sqli-error-based.txt", "sqli-time-based.txt", "sqli-union-select.txt", "auth_bypass.txt")
    pool = [x for n in names for x in B.lines(i.show("FuzzLists/" + n))]
    for line in B.sample(rng, pool, 170):
        yield _afterValue(line, _SQL_VALUES, rng)


# --- command injection ---------------------------------------------------------------

def _shellFill(cmd: str, rng: random.Random) -> str:
    ip = rng.choice(("10.10.14.7", "192.168.56.101", "172.16.0.4", "45.33.32.156", "attacker.example.net"))
    subs = {"ip": ip, "port": str(rng.choice((4444, 9001, 1337, 443, 8080, 53))), "shell": rng.choice(("sh", "bash", "/bin/sh", "zsh")),
            "name": rng.choice(("shell", "rev")), "payload": "reverse.exe", "type": "exe"}
    return re.sub(r"\{(ip|port|shell|name|payload|type)\}", lambda m: subs[m.group(1)], cmd)


def revshellCommands(r: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    The reverse, bind and HoaxShell commands of reverse-shell-generator's
    C{js/data.js} (its msfvenom lines, run on the tester's machine, left
    out), host, port and shell filled, each once alone and once behind a
    shell separator after a parameter value.
    """
    src = r.show("js/data.js")
    for block in re.split(r"\nconst ", src):
        if block.startswith("msfvenomCommands") or "Commands" not in block.split("=")[0]:
            continue
        for lit in re.findall(r'"command":\s*("(?:[^"\\]|\\.)*")', block):
            cmd = F4._javaUnescape(lit)  # a JS string: an unknown escape is its character
            if not cmd.strip() or "{}" in cmd:
                continue
            yield _shellFill(cmd, rng)
            yield _separated(_shellFill(cmd, rng), rng)


def _separated(cmd: str, rng: random.Random) -> str:
    return rng.choice(_CMD_VALUES) + rng.choice(_SEPARATORS).format(c=cmd)


def shelleratorCommands(s: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    shellerator's reverse and bind shells (C{data/shells.json}; its web
    shells, files to upload, left out), host and port filled, alone and
    behind a separator.
    """
    shells = json.loads(s.show("data/shells.json"))
    for kind in ("revshells", "bindshells"):
        for items in shells.get(kind, {}).values():
            for item in items:
                cmd = (item.get("command") or "").replace("{LHOST}", "{ip}").replace("{LPORT}", "{port}")
                if cmd.strip() and "{}" not in cmd:
                    yield _shellFill(cmd, rng)
                    yield _separated(_shellFill(cmd, rng), rng)


def rsgCommands(r: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    rsg's C{shells.txt} (C{[IPADDR]}, C{[PORT]} filled) behind a separator.
    """
    for line in B.lines(r.show("shells.txt")):
        cmd = line.partition("|")[2].replace("[IPADDR]", "{ip}").replace("[PORT]", "{port}")
        if cmd.strip():
            yield _separated(_shellFill(cmd, rng), rng)


_LOOBIN_CODE = re.compile(r"^\s*code:[ \t]*(?:[>|][-+]?[ \t]*\n((?:[ \t]{4,}\S.*\n?)+)|(.+))$", re.M)


def loobinsCommands(lb: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    The C{code} of LOOBins' macOS use cases (a block's lines each a
    command), up to 140 drawn, behind a separator after a value.
    """
    pool = []
    for path in sorted(lb.files("LOOBins/")):
        for block, single in _LOOBIN_CODE.findall(lb.show(path)):
            pool += [x.strip() for x in (block.splitlines() if block else [single]) if x.strip() and not x.strip().startswith("#")]
    for cmd in B.sample(rng, pool, 140):
        yield _separated(cmd, rng)


def gtfoargsCommands(g: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    GTFOArgs' one-line C{code} (arguments that make a program read, write,
    upload or run), behind a separator after a value.
    """
    import yaml

    for path in sorted(g.files("_gtfoargs/")):
        doc = g.show(path)
        if not doc.startswith("---"):
            continue
        for items in ((yaml.safe_load(doc.split("---")[1]) or {}).get("functions") or {}).values():
            for item in items or ():
                code = (item.get("code") or "").strip()
                if code and "\n" not in code:
                    yield _separated(code, rng)


def intruderCommands(i: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    IntruderPayloads' C{FuzzLists/command_exec.txt}, up to 230 drawn.
    """
    for line in B.sample(rng, B.lines(i.show("FuzzLists/command_exec.txt")), 230):
        yield _afterValue(line, _CMD_VALUES, rng)


# --- path traversal -------------------------------------------------------------------

def lfisuitePaths(s: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    The paths LFISuite's path scan appends to the parameter
    (C{pathtotest.txt}, 230 drawn, and its huge list, 160 drawn).
    """
    yield from (x.strip() for x in B.sample(rng, B.lines(s.show("pathtotest.txt")), 230))
    yield from (x.strip() for x in B.sample(rng, B.lines(s.show("pathtotest_huge.txt")), 160))


def intruderPaths(i: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    IntruderPayloads' short traversal list and its LFI list (60 drawn).
    """
    yield from (x.strip() for x in B.lines(i.show("FuzzLists/traversal-short.txt")))
    yield from (x.strip() for x in B.sample(rng, B.lines(i.show("FuzzLists/lfi.txt")), 60))


def foospidyPaths(f: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    The OWASP Fuzzing Code Database's traversal lists in foospidy/payloads
    (50 and 40 drawn).
    """
    d = "owasp/fuzzing_code_database/directory_traversal/"
    yield from _listed(f, (d + "directory_traversal.txt",), 50, rng)
    yield from _listed(f, (d + "deep_traversal.txt",), 40, rng)


def fuzzTxtPaths(z: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    The entries of fuzz.txt that climb out of a directory (C{..},
    C{%2e}), as a path after a page.
    """
    for line in B.lines(z.show("fuzz.txt")):
        if re.search(r"\.\.|%2e", line, re.I):
            yield rng.choice(("", "static/", "files/", "download.php?file=")) + line.strip()


# --- secrets ------------------------------------------------------------------------------

_SONAR = "sonar-text-plugin/src/main/resources/org/sonar/plugins/secrets/configuration/"


def sonarExamples(t: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    The examples sonar-text's secret rules say contain a secret
    (C{containsSecret: true} in C{configuration/*.yaml}), each whole (one
    of several lines both pasted into an outward tool and read back); one
    whose matched secret is placeholder-shaped (C{build_fourth._PLACEHOLDER})
    left out.
    """
    import yaml

    for path in sorted(t.files(_SONAR)):
        if not path.endswith(".yaml"):
            continue
        # a line C{${common/patternNot.yaml}} is sonar-text's include, no YAML
        doc = yaml.safe_load(re.sub(r"(?m)^\s*\$\{[\w/.-]+\}\s*$", "", t.show(path))) or {}
        for rule in (doc.get("provider") or {}).get("rules") or ():
            for ex in rule.get("examples") or ():
                text, match = (ex.get("text") or "").strip("\n"), str(ex.get("match") or "")
                if ex.get("containsSecret") is not True or not text.strip() or F4._PLACEHOLDER.search(match or text) or _FAKE.search(match or text):
                    continue
                src = _src("sonar-text", f"{path} ({rule.get('id')})")
                if "\n" in text.strip():  # a snippet of a file: pasted out and read back, as a file is
                    yield from F5._whole("secrets", "attack", "sonar-example", text, src, rng, SPLIT)
                else:
                    yield FR._exfil("secrets", "attack", "sonar-example", text, src, rng, split=SPLIT)


# pattern groups that are no secret of a service (passwords from a common
# list, IBANs and other PII)
_CUSTOM_SKIP = ("common/", "pii/")
_WEAK = re.compile(r"(?i)^(?:pass(?:word|wd)?\d*|secret|changeme|admin|root|test\w*|example\w*|dummy\w*|\*+|x+)$")
# a value that says it is not a real one
_FAKE = re.compile(r"(?i)fake|dummy|sample|placeholder|your[_-]|redacted|changeme|<[a-z_ -]+>")


def _customFinding(data: bytes, start: int, end: int) -> Optional[str]:
    # the line holding a finding, None when the secret is a weak word or a placeholder
    value = data[start:end].decode("utf-8", "replace")
    lo, hi = data.rfind(b"\n", 0, start) + 1, data.find(b"\n", end)
    line = data[lo:hi if hi >= 0 else len(data)].decode("utf-8", "replace").strip()
    return None if len(value) < 6 or _WEAK.match(value) or _FAKE.search(value) or F4._PLACEHOLDER.search(line) else line


def customPatternFindings(c: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    The lines the custom secret scanning patterns expect a finding in
    (each pattern's C{expected} file and offsets), the secret itself a
    weak word, a placeholder or a value that says it is fake left out (the
    patterns' own one-line test strings are made up: not used).
    """
    import yaml

    for path in sorted(c.files()):
        if not path.endswith("patterns.yml") or path.startswith(_CUSTOM_SKIP):
            continue
        base = os.path.dirname(path)
        for pattern in (yaml.safe_load(c.show(path)) or {}).get("patterns") or ():
            for e in pattern.get("expected") or ():
                try:
                    data = c.show(f"{base}/{e['name']}").encode("utf-8", "surrogateescape")
                except Exception:  # a file outside the snapshot
                    continue
                line = _customFinding(data, int(e["start_offset"]), int(e["end_offset"]))
                if line:
                    yield FR._exfil("secrets", "attack", "custom-pattern-expected", line,
                                    _src("custom-patterns", f"{base}/{e['name']} ({pattern.get('type')})"), rng, split=SPLIT)


def supervisorFixtures(rs: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    repo-supervisor's integration fixtures with secrets, whole;
    placeholder-shaped ones left out.
    """
    for path in rs.files("test/fixtures/integration/dir.with.secrets/"):
        body = rs.show(path)
        if body.strip() and not F4._PLACEHOLDER.search(body):
            yield from F5._whole("secrets", "attack", "repo-supervisor-fixture", body, _src("repo-supervisor", path), rng, SPLIT)


# --- PII ----------------------------------------------------------------------------------

def validatorAddresses(gp: FR.Repo, gv: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    The addresses go-playground/validator's C{TestEmail} and govalidator's
    C{TestIsEmail}/C{TestIsExistingEmail} accept, twice each.
    """
    found = []
    go = gp.show("validator_test.go")
    block = re.search(r"func TestEmail\(t \*testing\.T\) \{(.*?)\n\}", go, re.S)
    for lit, verdict in re.findall(r"s = (" + F4._GO_STRING + r")\n\s*errs = validate\.Var\(s, \"email\"\)\n\s*(\w+)", block.group(1) if block else ""):
        if verdict == "Equal":
            found.append((F4._goString(lit), _src("go-validator", "validator_test.go TestEmail")))
    gov = gv.show("validator_test.go")
    for name in ("TestIsEmail", "TestIsExistingEmail"):
        block = re.search(r"func " + name + r"\(t \*testing\.T\) \{(.*?)\n\}", gov, re.S)
        for lit in re.findall(r"\{(" + F4._GO_STRING + r"), true\}", block.group(1) if block else ""):
            found.append((F4._goString(lit), _src("govalidator", f"validator_test.go {name}")))
    for addr, src in dict.fromkeys(found):
        if "@" in addr:
            for _ in range(2):
                yield F5._pii(addr, "validator-valid", src, rng, split=SPLIT)


def _rubyLocales(f: FR.Repo) -> dict[str, dict]:  # type: ignore[type-arg]
    import yaml

    out = {}
    for path in sorted(f.files("lib/locales/")):
        m = re.fullmatch(r"lib/locales/([A-Za-z-]+)\.yml", path)
        if m:
            try:
                doc = yaml.safe_load(f.show(path)) or {}
            except yaml.YAMLError:
                continue
            out[m.group(1)] = (doc.get(m.group(1)) or {}).get("faker") or {}
    return out


def _ascii(s: str) -> str:
    return re.sub(r"[^a-z]", "", unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode().lower())


def fakerAddresses(f: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    Addresses in the shape Ruby Faker's C{Internet.email} gives them (a
    first and last name of the locale, joined by a dot or underscore or
    followed by digits, at one of the locale's free mail domains), 200.
    """
    pool = []
    for locale, faker in _rubyLocales(f).items():
        name, internet = faker.get("name") or {}, faker.get("internet") or {}
        firsts = [x for x in (name.get("first_name") or name.get("male_first_name") or []) if isinstance(x, str) and _ascii(x)]
        lasts = [x for x in (name.get("last_name") or []) if isinstance(x, str) and _ascii(x)]
        domains = [d for d in internet.get("free_email") or [] if isinstance(d, str) and "." in d]
        if firsts and lasts and domains:
            pool.append((locale, firsts, lasts, domains))
    for _ in range(200):
        locale, firsts, lasts, domains = rng.choice(pool)
        first, last = _ascii(rng.choice(firsts)), _ascii(rng.choice(lasts))
        user = rng.choice((f"{first}.{last}", f"{first}_{last}", f"{first}{rng.randint(1, 99)}", f"{first[0]}{last}"))
        yield F5._pii(f"{user}@{rng.choice(domains)}", "ruby-faker-email", _src("ruby-faker", f"lib/locales/{locale}.yml"), rng, split=SPLIT)


def _international(formats: list[str], region: str) -> list[str]:
    # the national formats written the international way: the country code
    # in place of the trunk 0
    import phonenumbers

    cc = phonenumbers.country_code_for_region(region)
    return [f"+{cc} {x[1:].lstrip()}" if x.startswith("0") else f"+{cc} {x}" for x in formats if not x.startswith("+")] if cc else []


def _region(locale: str, faker: dict) -> str:  # type: ignore[type-arg]
    import phonenumbers

    if "-" in locale:
        return locale.split("-")[-1].upper()
    codes = (faker.get("address") or {}).get("country_code") or []
    if codes and isinstance(codes[0], str) and codes[0].upper() in phonenumbers.SUPPORTED_REGIONS:
        return codes[0].upper()
    return locale.upper()


def rubyFakerPhones(f: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    Numbers in Ruby Faker's phone and cell phone formats per locale
    (C{#} a digit), national and written internationally, kept when
    libphonenumber finds them valid for the locale's region; up to
    sixteen per locale.
    """
    for locale, faker in _rubyLocales(f).items():
        formats = []
        for key in ("phone_number", "cell_phone"):
            fmts = (faker.get(key) or {}).get("formats") or []
            formats += [x for x in fmts if isinstance(x, str) and "#" in x and "{" not in x]
        region = _region(locale, faker)
        if formats:
            yield from F5._phones(formats + _international(formats, region), region, _src("ruby-faker", f"lib/locales/{locale}.yml"),
                                  "ruby-faker-phone", rng, 16, split=SPLIT)


def fakeRsPhones(f: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    Numbers in fake-rs' phone and cell formats per locale
    (C{fake/src/locales/<ll>_<cc>.rs}), national and international, valid
    for the region; up to sixteen per locale.
    """
    for path in sorted(f.files("fake/src/locales/")):
        m = re.fullmatch(r"fake/src/locales/([a-z]{2})_([a-z]{2})\.rs", path)
        if not m:
            continue
        formats = []
        for block in re.findall(r"(?:PHONE_NUMBER|PHONE_CELL_NUMBER)_FORMATS[^=]*=\s*&\[(.*?)\];", f.show(path), re.S):
            formats += [x for x in re.findall(r'"([^"\n]*#[^"\n]*)"', block)]
        region = m.group(2).upper()
        yield from F5._phones(formats + _international(formats, region), region, _src("fake-rs", path), "fake-rs-phone", rng, 16, split=SPLIT)


# --- hard benign --------------------------------------------------------------------------

def _copyValues(sql: str, table: str, column: int) -> list[str]:
    # one column of a pg_dump COPY block
    m = re.search(r"COPY [\w.]*" + table + r" \(.*?\) FROM stdin;\n(.*?)\n\\\.", sql, re.S)
    rows = m.group(1).splitlines() if m else []
    return [r.split("\t")[column] for r in rows if len(r.split("\t")) > column and r.split("\t")[column] != "\\N"]


_TPCH_VALUES = {"date": ("1994-01-01", "1995-03-15", "1996-12-01"), "text": ("BUILDING", "ASIA", "MAIL", "forest", "Brand#23", "MED BOX"),
                "number": ("15", "24", "90", "300", "0.06")}


def _tpch(query: str, rng: random.Random) -> str:
    # qgen's substitution parameters filled, its directives dropped
    query = re.sub(r"(?m)^:[xon].*$|^--.*$", "", query)
    query = re.sub(r"date ':\d+'", lambda m: f"date '{rng.choice(_TPCH_VALUES['date'])}'", query)
    query = re.sub(r"':\d+'", lambda m: f"'{rng.choice(_TPCH_VALUES['text'])}'", query)
    query = re.sub(r":\d+", lambda m: rng.choice(_TPCH_VALUES["number"]), query)
    query = re.sub(r":s\b", "0", query)  # the stream number
    return " ".join(query.split()).rstrip(";")


def sqlBenign(neon: FR.Repo, ex: FR.Repo, tpch: FR.Repo, rng: random.Random) -> Iterator[tuple[str, str, str, str]]:
    """
    Statements of three of neon's sample databases (the others copy
    databases other parts drew on) and the titanic passengers' names as
    data values; the SQL exercises' questions (in text tools) and
    answers; the TPC-H queries with parameters and its schema; README
    prose.
    """
    for name, n in (("titanic.sql", 50), ("happiness_index.sql", 50), ("periodic_table.sql", 60)):
        text = re.sub(r"COPY .*? FROM stdin;\n.*?\n\\\.", "", neon.show(name), flags=re.S)
        for s in B.sample(rng, F4._sqlStatements(text), n):
            yield "neon-samples", "run_sql", "query", s
    for v in B.sample(rng, _copyValues(neon.show("titanic.sql"), "passenger", 3), 100):
        tool, arg = rng.choice(B.SQL_DATA_TOOLS)
        yield "neon-samples", tool, arg, v
    for path in sorted(ex.files()):
        if not path.endswith(".sql"):
            continue
        body = ex.show(path)
        if "question" in path:
            for q in re.findall(r"(?m)^--\s*\d+\.\d+\s+(.+)$", body):
                if rng.random() < 0.5:
                    tool, arg = rng.choice(B.TEXT_TOOLS)
                    yield "sql-exercise", tool, arg, q.strip()
        for s in B.sample(rng, F4._sqlStatements(body), 16):
            yield "sql-exercise", "run_sql", "query", s
    for path in sorted(tpch.files("dbgen/queries/")):
        if path.endswith(".sql"):
            yield "tpch-kit", "run_sql", "query", _tpch(tpch.show(path), rng)
    for s in F4._sqlStatements(tpch.show("dbgen/dss.ddl")) + F4._sqlStatements(tpch.show("dbgen/dss.ri")):
        yield "tpch-kit", "run_sql", "query", s
    for r in (neon, ex):
        for para in B.paragraphs(r.show("README.md"), 15, rng):
            tool, arg = rng.choice(B.TEXT_TOOLS)
            yield r.key, tool, arg, para


# --- assembly -----------------------------------------------------------------------------


def build(root: str) -> tuple[F4.Rows, dict[str, int]]:
    R = {k: repo(root, k) for k in SIXTH_REPOS}
    attacks = {
        "sql_injection": [("dsss", dsssSQL), ("foospidy", foospidySQL), ("intruder", intruderSQL)],
        "command_injection": [("revshells", revshellCommands), ("shellerator", shelleratorCommands), ("rsg", rsgCommands),
                              ("loobins", loobinsCommands), ("gtfoargs", gtfoargsCommands), ("intruder", intruderCommands)],
        "path_traversal": [("lfisuite", lfisuitePaths), ("intruder", intruderPaths), ("foospidy", foospidyPaths), ("fuzz-txt", fuzzTxtPaths)],
    }
    shells = [R["acme.sh"], R["tfenv"], R["brew-install"], R["dehydrated"], R["git-extras"]]
    benign = {
        "sql_injection": lambda rng: sqlBenign(R["neon-samples"], R["sql-exercise"], R["tpch-kit"], rng),
        "command_injection": lambda rng: F4.cmdBenign(shells, rng),
        "path_traversal": lambda rng: FR.pathBenign([R[k] for k in ("acme.sh", "tfenv", "git-extras", "argo-helm", "terraform-eks",
                                                                    "ansible-examples", "sonar-text", "custom-patterns", "ruby-faker", "fake-rs",
                                                                    "go-validator")], rng),
    }
    refs = dict(repos=SIXTH_REPOS, split=SPLIT)
    def exfil(rng: random.Random) -> F4.Rows:
        return {
            "secrets.attacks.jsonl": (list(sonarExamples(R["sonar-text"], rng)) + list(customPatternFindings(R["custom-patterns"], rng))
                                      + list(supervisorFixtures(R["repo-supervisor"], rng))),
            "secrets.benign.jsonl": (list(F5.referenceLines(R["argo-helm"], "charts/", (".yaml", ".yml", ".tpl"), 200, rng, whole=15, **refs))
                                     + list(F5.referenceLines(R["datadog-charts"], "charts/", (".yaml", ".yml", ".tpl"), 150, rng, whole=8, **refs))
                                     + list(F5.referenceLines(R["elastic-charts"], "", (".yaml", ".yml", ".tpl", ".md"), 60, rng, whole=6, **refs))
                                     + list(F5.referenceLines(R["terraform-eks"], "", (".tf", ".md"), 110, rng, whole=8, **refs))
                                     + list(F5.referenceLines(R["ansible-examples"], "", (".yml", ".yaml", ".j2"), 80, rng, whole=8, **refs))),
            "pii.attacks.jsonl": (list(validatorAddresses(R["go-validator"], R["govalidator"], rng)) + list(fakerAddresses(R["ruby-faker"], rng))
                                  + list(rubyFakerPhones(R["ruby-faker"], rng)) + list(fakeRsPhones(R["fake-rs"], rng))),
        }

    return F4.assemble(attacks, R, benign, exfil, SEED, SPLIT, OUT)


if __name__ == "__main__":
    F4.run(build, __doc__, OUT, SPLIT)
