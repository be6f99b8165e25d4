"""
Writes the fourth part of the second corpus, C{fourth/*.jsonl}: attacks
and hard benign traffic from public sources of kinds no other part drew on
(web scanners' own payload data, a secret scanner's and a rule set's test
fixtures, an e-mail validator's test suite, a fake-data library's phone
formats, sample databases, shell projects and configuration files that
refer to secrets), every line C{split: fourth}.  It was committed before it
was scored, scored once, and is the sealed held-out part: no rule is tuned
on it and the reports print its rates only.

A line whose stripped text equals the text of any other corpus line
(C{tests/corpus/**/*.jsonl}, every split, the fresh part's included, and
C{fresh/MANIFEST.tsv}) is dropped without being printed; the count per file
is printed and recorded in C{fourth/README.md}.

Sources (L{FOURTH_REPOS}, commits pinned; C{fourth/README.md} has the table):

    - attacks: the payload data of web scanners (wapiti's attack files, the
      payload arrays of ZAP's SQL, command and path traversal scan rules,
      w3af's os_commanding and lfi plugins, wfuzz's SQL list, gotestwaf's
      test cases), filled as each scanner fills its placeholders;
    - secrets: trufflehog's detector pattern tests, secretlint's fixtures,
      semgrep-rules' C{ruleid:} lines; PII: isemail's valid addresses and
      phone numbers in Faker's formats, in build_exfil's templates;
    - benign: chinook and test_db SQL, asdf, pyenv and bash-it shell,
      gotestwaf's false-positive texts, file lists, GitHub starter
      workflows, compose files and manifests that refer to secrets.

Run: C{python tests/corpus/classic/build_fourth.py [--mirrors DIR]}
"""

from __future__ import annotations

import argparse
import ast
import configparser
import glob
import hashlib
import itertools
import json
import os
import random
import re
import sys
import textwrap
import xml.etree.ElementTree as ET
from typing import Callable, Iterable, Iterator, Mapping, Optional, Union

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import build_exfil as X  # noqa: E402
import build_fresh as FR  # noqa: E402
import build_injection as B  # noqa: E402

SEED = "issue16:fourth"
SPLIT = "fourth"
OUT = os.path.join(HERE, "fourth")
CORPUS = os.path.dirname(HERE)

# key -> (repository, commit, licence)
FOURTH_REPOS = {
    "wapiti": ("wapiti-scanner/wapiti", "d33d1218e4b370701752fada81e00bce4abd67dc", "GPL-2.0"),
    "zap": ("zaproxy/zap-extensions", "aea3dee9333f69e0dbee7a2e6e0fbe898c849752", "Apache-2.0"),
    "wfuzz": ("xmendez/wfuzz", "1b695ee9a87d66a7d7bf6cae70d60a33fae51541", "GPL-2.0"),
    "secretlint": ("secretlint/secretlint", "18346ba31b8173d52060b971221ab38c1943def0", "MIT"),
    "semgrep-rules": ("semgrep/semgrep-rules", "157ae4706d7f54aa33647332f234dd68f30da195", "LGPL-2.1 with the Commons Clause"),
    "isemail": ("dominicsayers/isemail", "cfeefc3f2f88cb195053f6a309fa4f640cd369b5", "BSD-3-Clause"),
    "faker": ("joke2k/faker", "8ad78a632a4116e6392e6d5743524c683a2e02a1", "MIT"),
    "chinook": ("lerocha/chinook-database", "7f67772503d71ba90f19283c38e93923addb43fa", "MIT"),
    "test_db": ("datacharmer/test_db", "3c7fa05e04b4c339d91a43b7029a210212d48e6c", "CC-BY-SA-3.0"),
    "asdf": ("asdf-vm/asdf", "25b3911c7239a0f7cb7ee86acb4d81aed4d7d930", "MIT"),
    "pyenv": ("pyenv/pyenv", "bec9a562a59e48a730fe3320fe90c6999c82886c", "MIT"),
    "bash-it": ("Bash-it/bash-it", "0f04edce0ca93fbe66f1fe23c8d9b7a01e53f94c", "MIT"),
    "awesome-compose": ("docker/awesome-compose", "18f59bdb09ecf520dd5758fbf90dec314baec545", "CC0-1.0"),
    "k8s-examples": ("kubernetes/examples", "279e8e4fe314f6cb7bc55fa3fbc21bbeaa48c0ea", "Apache-2.0"),
    "gotestwaf": ("wallarm/gotestwaf", "67dfd7a73f4e7ecd2908c8fb2c96f5e62f1d53b6", "MIT"),
    "trufflehog": ("trufflesecurity/trufflehog", "3ab759fef4bb5935d4fe9ac68b503d05346b8364", "AGPL-3.0"),
    "starter-workflows": ("actions/starter-workflows", "1035244887e26fbbd4f1017d919fb5995cc521c4", "MIT"),
    "w3af": ("andresriancho/w3af", "cd22e5252243a87aaa6d0ddea47cf58dacfe00a9", "GPL-2.0"),
}


def repo(root: str, key: str) -> FR.Repo:
    return FR.Repo(root, key, FOURTH_REPOS)


# --- scanners' payload data ------------------------------------------------------

# the values a scanner finds in a parameter and appends its payload to
_SQL_VALUES = ("1", "42", "admin", "books", "2024", "john")
_CMD_VALUES = ("127.0.0.1", "example.com", "report.pdf", "photo.png", "8.8.8.8")
_PATH_VALUES = ("index.php", "pages/about.html", "docs/manual.pdf", "img/logo.png", "templates/home.tpl")
_EXTERNAL = "https://wapiti3.ovh/"


def _wapitiTags(s: str) -> str:
    # wapitiCore/parsers/ini_payload_parser.py replace_tags
    return s.replace("[TAB]", "\t").replace("[LF]", "\n").replace("[FF]", "\f").replace("[NULL]", "\0")


def wapitiPayloads(w: FR.Repo, name: str) -> list[str]:
    ini = configparser.ConfigParser(interpolation=None, strict=False)
    ini.read_string(w.show(f"wapitiCore/data/attacks/{name}"))
    # mod_exec's "PHP evaluation" payloads are code injection, not a command
    return [ini[s]["payload"] for s in ini.sections()
            if ini[s].get("payload") not in (None, "None") and ini[s].get("description") != "PHP evaluation"]


def wapitiSQL(w: FR.Repo, rng: random.Random) -> Iterator[str]:
    for p in wapitiPayloads(w, "blindSQLPayloads.ini"):
        yield _wapitiTags(p.replace("[TIME]", rng.choice(("5", "6", "10"))).replace("[VALUE]", rng.choice(_SQL_VALUES)))


def wapitiCommands(w: FR.Repo, rng: random.Random) -> Iterator[str]:
    for p in wapitiPayloads(w, "execPayloads.ini"):  # the payload replaces the value, [VALUE] put back
        for value in rng.sample(_CMD_VALUES, 2 if "[VALUE]" in p else 1):
            yield _wapitiTags(p.replace("[VALUE]", value).replace("[TIME]", "6"))


def wapitiFiles(w: FR.Repo, rng: random.Random) -> Iterator[str]:
    for p in wapitiPayloads(w, "fileHandlingPayloads.ini"):
        if "[FILE_NAME]" in p or "wapiti.txt" in p:  # the script's own name: no attack on its own
            continue
        value = rng.choice(_PATH_VALUES)
        p = p.replace("[EXTERNAL_ENDPOINT]", _EXTERNAL.rstrip("/")).replace("[VALUE]", value)
        p = p.replace("[DIRVALUE]", value.rsplit("/", 1)[0]).replace("[EXTVALUE]", value.rsplit(".", 1)[-1])
        yield _wapitiTags(p)


def wfuzzSQL(z: FR.Repo, rng: random.Random) -> Iterator[str]:
    yield from (x.strip() for x in B.lines(z.show("wordlist/vulns/sql_inj.txt")))


# A Java string expression: literals and constants joined by "+".
_JAVA_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)\'|[A-Za-z_][\w.]*|\+|\s+|.', re.S)


def _javaUnescape(lit: str) -> str:
    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", lambda m: chr(int(m.group(1)[1:], 16)) if m.group(1)[0] == "u" and len(m.group(1)) == 5
               else {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "b": "\b", "f": "\f"}.get(m.group(1), m.group(1)), lit[1:-1])


def _javaEval(expr: str, consts: dict[str, str]) -> Optional[str]:
    out, want = [], True
    for tok in _JAVA_TOKEN.findall(expr):
        if tok.isspace():
            continue
        if want and tok[0] in "\"'":
            out.append(_javaUnescape(tok))
        elif want and tok in consts:
            out.append(consts[tok])
        elif not want and tok == "+":
            pass
        else:
            return None
        want = not want
    return "".join(out) if out and not want else None


def _javaStrip(src: str) -> str:
    return "".join(t for t in re.findall(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)\'|//[^\n]*|/\*.*?\*/|.', src, re.S)
                   if not t.startswith(("//", "/*")))


def _topLevel(body: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for tok in re.findall(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)\'|.', body, re.S):
        if tok in "([{" and len(tok) == 1:
            depth += 1
        elif tok in ")]}" and len(tok) == 1:
            depth -= 1
        if tok == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(tok)
    parts.append("".join(cur))
    return parts


def _closing(src: str, start: int) -> int:
    depth = 0
    for m in re.finditer(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)\'|[()\[\]{}]', src[start:], re.S):
        t = m.group(0)
        if t in "([{":
            depth += 1
        elif t in ")]}":
            depth -= 1
            if depth == 0:
                return start + m.start()
    return len(src)


def javaPayloads(src: str, names: tuple[str, ...], calls: tuple[str, ...] = (), known: Optional[dict[str, str]] = None) -> list[str]:
    """
    The strings of the arrays and lists named C{names} and the first
    arguments of the calls C{calls} (C{.put(}, C{.add(}) in a Java source,
    where they are literals and constants joined by C{+}.
    """
    src = _javaStrip(src)
    consts: dict[str, str] = dict(known or {})
    for name, expr in re.findall(r"\bString\s+([A-Z_][A-Z0-9_]*)\s*=\s*([^;]+);", src):
        v = _javaEval(expr, consts)
        if v is not None:
            consts[name] = v
    out: list[str] = []
    for name in names:
        for m in re.finditer(rf"\b{name}\s*=\s*(?:new\s+String\[\]\s*|List\.of|Arrays\.asList)?\s*(?=[({{])", src):
            end = _closing(src, m.end())
            for part in _topLevel(src[m.end() + 1:end]):
                v = _javaEval(part, consts)
                if v is not None:
                    out.append(v)
    for call in calls:
        for m in re.finditer(rf"\.{call}\(", src):
            end = _closing(src, m.end() - 1)
            v = _javaEval(_topLevel(src[m.end():end])[0], consts)
            if v is not None:
                out.append(v)
    return out


_ZAP = "addOns/ascanrules/src/main/java/org/zaproxy/zap/extension/ascanrules/"
_ZAP_ALPHA = "addOns/ascanrulesAlpha/src/main/java/org/zaproxy/zap/extension/ascanrulesAlpha/"


def _zapTokens(s: str, value: str, sleep: str) -> str:
    return s.replace("<<<<ORIGINALVALUE>>>>", value).replace("<<<<SLEEP>>>>", sleep).replace("{0}", sleep)


def zapSQL(z: FR.Repo, rng: random.Random) -> Iterator[str]:
    src = z.show(_ZAP + "SqlInjectionScanRule.java")
    # the boolean and union payloads are appended to the parameter's value
    for p in javaPayloads(src, ("SQL_LOGIC_AND_TRUE", "SQL_LOGIC_AND_FALSE", "SQL_LOGIC_OR_TRUE", "SQL_UNION_APPENDAGES", "SQL_CHECK_ERR")):
        yield rng.choice(_SQL_VALUES) + p
    timing = (
        (_ZAP + "SqlInjectionMySqlTimingScanRule.java", "SQL_MYSQL_TIME_REPLACEMENTS"),
        (_ZAP + "SqlInjectionMsSqlTimingScanRule.java", "SQL_MSSQL_TIME_REPLACEMENTS"),
        (_ZAP + "SqlInjectionOracleTimingScanRule.java", "PAYLOADS"),
        (_ZAP + "SqlInjectionPostgreSqlTimingScanRule.java", "SQL_POSTGRES_TIME_REPLACEMENTS"),
        (_ZAP + "SqlInjectionHypersonicTimingScanRule.java", "SQL_HYPERSONIC_TIME_REPLACEMENTS"),
        (_ZAP_ALPHA + "SqlInjectionSqLiteTimingScanRule.java", "SQL_SQLITE_TIME_REPLACEMENTS"),
    )
    for path, name in timing:
        for p in javaPayloads(z.show(path), (name,)):
            yield _zapTokens(p, rng.choice(_SQL_VALUES), rng.choice(("5", "10", "15")))


def _uninitVar(cmd: str, rng: random.Random) -> str:
    # CommandInjectionScanRule.insertUninitVar: an unset $xx before each blank and "/"
    var = "$" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(1, 2)))
    return re.sub(r"\s", lambda m: var + " ", cmd).replace("/", var + "/")


def zapCommands(z: FR.Repo, rng: random.Random) -> Iterator[str]:
    # Constants.NULL_BYTE_CHARACTER is the NUL character
    known = {"NULL_BYTE_CHARACTER": "\0", "insertedCMD": _uninitVar("cat /etc/passwd", rng)}
    payloads = javaPayloads(z.show(_ZAP + "CommandInjectionScanRule.java"), (), ("put",), known)
    payloads += javaPayloads(z.show(_ZAP + "CommandInjectionTimingScanRule.java"), (), ("add",), known)
    for p in payloads:  # sent alone first, then appended to the parameter's value
        value = rng.choice(_CMD_VALUES)
        yield _zapTokens(p, value, "5")
        yield _zapTokens(value + p, value, "5")


def zapPaths(z: FR.Repo, rng: random.Random) -> Iterator[str]:
    src = z.show(_ZAP + "PathTraversalScanRule.java")
    for p in javaPayloads(src, ("WIN_LOCAL_FILE_TARGETS", "NIX_LOCAL_FILE_TARGETS", "WIN_LOCAL_DIR_TARGETS", "NIX_LOCAL_DIR_TARGETS")):
        yield p
    # its check 4: WEB-INF/web.xml behind ../ or ..\\ climbs up to the
    # highest strength's depth (4); the climb-less forms, which a Java
    # project reads in its own tree, and check 5 (the page's own file name)
    # are left out
    for depth in range(1, 4):
        slash, back = "../" * depth + "WEB-INF/web.xml", "..\\" * depth + "WEB-INF\\web.xml"
        yield from (slash, back, "/" + slash, "\\" + back)


_GOTESTWAF = {
    "sql_injection": ("owasp/sql-injection", "community/community-sqli"),
    "command_injection": ("owasp/shell-injection", "owasp/rce", "community/community-rce"),
    "path_traversal": ("owasp/path-traversal", "community/community-lfi", "community/community-lfi-multipart"),
}


def _gotestwaf(g: FR.Repo, name: str) -> list[str]:
    import yaml

    return [str(p) for p in yaml.safe_load(g.show(f"testcases/{name}.yml")).get("payload") or ()]


def gotestwafPayloads(category: str):  # type: ignore[no-untyped-def]
    def gen(g: FR.Repo, rng: random.Random) -> Iterator[str]:
        for name in _GOTESTWAF[category]:
            yield from (p.strip() for p in _gotestwaf(g, name))
    return gen


def gotestwafBenign(g: FR.Repo, rng: random.Random, category: str) -> Iterator[tuple[str, str, str, str]]:
    """
    Its false-positive texts (prose and values with SQL and shell words),
    every other one beside the SQL and the command class, in data arguments.
    """
    texts = _gotestwaf(g, "false-pos/texts")
    for text in texts[0 if category == "sql_injection" else 1::2]:
        tool, arg = rng.choice(B.SQL_DATA_TOOLS if category == "sql_injection" else B.CMD_DATA_TOOLS)
        yield "gotestwaf", tool, arg, text


def _pyEval(node: ast.AST, names: dict[str, str]) -> Optional[str]:
    """
    A string expression of constants, names in C{names}, C{+} and C{*}.
    """
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int)):
        return node.value  # type: ignore[return-value]
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mult, ast.Mod)):
        a, b = _pyEval(node.left, names), _pyEval(node.right, names)
        if a is None or b is None:
            return None
        try:
            return a + b if isinstance(node.op, ast.Add) else a * b if isinstance(node.op, ast.Mult) else a % b  # type: ignore[operator]
        except TypeError:
            return None
    return None


def w3afCommands(w: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    os_commanding's echo and delay commands, each behind every one of its
    special characters, the delay filled as its PingDelay does.
    """
    src = w.show("w3af/plugins/audit/os_commanding.py")
    specials = ast.literal_eval(re.search(r"self\._special_chars = (\[.*?\])", src).group(1))  # type: ignore[union-attr]
    for fn in (_pyFunction(src, "_get_echo_commands"), _pyFunction(src, "_get_wait_commands")):
        for node in ast.walk(fn):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("Command", "PingDelay") and node.args):
                continue
            arg = node.args[0]
            forms = [_pyEval(arg, {})]
            if isinstance(arg, ast.Name):  # cmd_string / cmd_fmt = special_char + "..."
                exprs = [a.value for a in ast.walk(fn) if isinstance(a, ast.Assign) and getattr(a.targets[0], "id", "") == arg.id]
                forms = [_pyEval(e, {"special_char": c}) for e in exprs for c in specials]
            for f in dict.fromkeys(forms):
                if isinstance(f, str):
                    yield f.replace("%s", rng.choice(("5", "10")))


def _pyFunction(src: str, name: str) -> ast.FunctionDef:
    """
    One method of a Python 2 module (the module as a whole does not parse
    as Python 3), parsed on its own.
    """
    m = re.search(rf"^(\s*)def {name}\(.*?(?=^\1def |\Z)", src, re.S | re.M)
    assert m, name
    node = ast.parse(textwrap.dedent(m.group(0))).body[0]
    assert isinstance(node, ast.FunctionDef)
    return node


def w3afFiles(w: FR.Repo, rng: random.Random) -> Iterator[str]:
    """
    lfi's common files (C{_get_common_file_list}), the page's extension
    drawn.
    """
    fn = _pyFunction(w.show("w3af/plugins/audit/lfi.py"), "_get_common_file_list")
    for node in ast.walk(fn):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "append" and node.args:
            v = _pyEval(node.args[0], {"extension": rng.choice(("php", "html", "jsp", "asp"))})
            if isinstance(v, str):
                yield v


# --- injection benign ------------------------------------------------------------------

def _sqlStatements(text: str) -> list[str]:
    return list(B.statements(re.sub(r"/\*.*?\*/", "", text, flags=re.S)))


def sqlBenign(c: FR.Repo, t: FR.Repo, rng: random.Random) -> Iterator[tuple[str, str, str, str]]:
    d = "ChinookDatabase/DataSources/"
    values: list[str] = []
    for name in ("Chinook_PostgreSql.sql", "Chinook_MySql.sql", "Chinook_SqlServer.sql", "Chinook_Oracle.sql", "Chinook_Sqlite.sql",
                 "Chinook_Db2.sql"):
        text = c.show(d + name)
        for s in B.sample(rng, _sqlStatements(text), 25):
            yield "chinook", "run_sql", "query", s
        if not values:
            values = [v.replace("''", "'") for v in re.findall(r"N?'((?:[^']|'')+)'", text) if len(v) > 3 and not re.fullmatch(r"[\d\-: ./]+", v)]
        # single-row inserts as a database tool sends them
        inserts = re.findall(r"INSERT INTO (\w+) \(([^)]*)\) VALUES\s*\n?\s*(\((?:[^()']|'(?:[^']|'')*')*\))", text)
        for s in B.sample(rng, [f"INSERT INTO {a} ({b}) VALUES {v}" for a, b, v in inserts], 10):
            yield "chinook", "run_sql", "query", s
    for v in B.sample(rng, values, 220):  # track, album and artist names, addresses: data values
        tool, arg = rng.choice(B.SQL_DATA_TOOLS)
        yield "chinook", tool, arg, v
    for name in ("employees.sql", "employees_partitioned.sql", "test_employees_md5.sql", "test_employees_sha.sql", "show_elapsed.sql"):
        for s in B.sample(rng, _sqlStatements(re.sub(r"(?im)^\s*(source|delimiter)\b.*$", "", t.show(name))), 25):
            yield "test_db", "run_sql", "query", s
    # its data files (load_*.dump) are over the snapshot's file size: no data values
    for para in B.paragraphs(c.show("README.md"), 20, rng) + B.paragraphs(t.show("README.md"), 20, rng):
        tool, arg = rng.choice(B.TEXT_TOOLS)
        yield "chinook" if para in c.show("README.md") else "test_db", tool, arg, para


def cmdBenign(repos: list[FR.Repo], rng: random.Random) -> Iterator[tuple[str, str, str, str]]:
    for r in repos:
        files = [p for p in r.files() if p.endswith((".sh", ".bash", ".bats")) or p.startswith(("bin/", "libexec/", "lib/"))]
        pool = [s for p in files for s in B.shellLines(r.show(p))]
        for s in B.sample(rng, pool, 150):
            yield r.key, "run_command", "command", s
        for s in B.sample(rng, r.subjects(2000), 60):
            yield r.key, "git_commit", "message", s
        readme = next((p for p in r.files() if p.lower() in ("readme.md", "readme.rst")), "")
        for para in B.paragraphs(r.show(readme), 30, rng) if readme else ():
            tool, arg = rng.choice(B.TEXT_TOOLS)
            yield r.key, tool, arg, para


# --- secrets ------------------------------------------------------------------------

_SECRETLINT_SKIP = re.compile(r"secretlint-rule-(preset-|pattern|filter-comments|no-homedir|no-dotenv|example)|/formatter|sarif|source-creator")
# identifiers, not secrets
_ID_FIXTURE = re.compile(r"(?i)account.?id|tenant.?id|client.?id|access key id")


def secretlintFixtures(s: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    for path in s.files("packages/@secretlint/"):
        m = re.search(r"/test/snapshots/ng\.([^/]+)/input[^/]*$", path)
        if not m or _SECRETLINT_SKIP.search(path) or _ID_FIXTURE.search(m.group(1)):
            continue
        body = s.show(path)
        if not body.strip() or _PLACEHOLDER.search(body):
            continue
        src = f"secretlint/secretlint {path} (MIT)"
        yield FR._exfil("secrets", "attack", "secretlint-ng", body, src, rng, direction="request", tool=("create_gist", "content"), split=SPLIT)
        yield FR._exfil("secrets", "attack", "secretlint-ng", body, src, rng, direction="response", tool=("read_file", ""), split=SPLIT)


# rules whose positive lines hold hashes or identifiers, not secrets
_SEMGREP_SKIP = ("aws-account-id", "bcrypt-hash", "etc-shadow", "detected-google-oauth.txt")
# a documented example key or a placeholder-shaped value (the issue keeps
# them silent): the fixture is left out rather than labelled a leak
_PLACEHOLDER = re.compile(r"EXAMPLE|(\w)\1{7,}|abcdefghij|0123456789|1234567890|abc123|xxxxxxxx", re.I)


def semgrepPositives(s: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    for path in s.files("generic/secrets/security/"):
        if path.endswith(".yaml") or any(k in path for k in _SEMGREP_SKIP):
            continue
        lines = s.show(path).splitlines()
        for i, line in enumerate(lines):
            if not re.search(r"\bruleid:", line):
                continue
            nxt = next((x.strip() for x in lines[i + 1:] if x.strip()), "")
            if not nxt or re.search(r"\b(ruleid|ok|todoruleid):", nxt) or _PLACEHOLDER.search(nxt):
                continue
            src = f"semgrep/semgrep-rules {path} (LGPL-2.1)"
            yield FR._exfil("secrets", "attack", "semgrep-ruleid", nxt, src, rng, split=SPLIT)


# A Go string: interpreted or raw.
_GO_STRING = r'"(?:[^"\\\n]|\\.)*"|`[^`]*`'


def _goString(lit: str) -> str:
    return lit[1:-1] if lit.startswith("`") else _javaUnescape(lit)


def _goEval(expr: str, names: dict[str, str]) -> Optional[str]:
    """
    A test input: a string, a variable, or C{fmt.Sprintf} of a string
    with C{%s} verbs over strings and variables; C{None} for anything else.
    """
    expr = expr.strip().rstrip(",").strip()
    if re.fullmatch(_GO_STRING, expr, re.S):
        return _goString(expr)
    if expr in names:
        return names[expr]
    m = re.fullmatch(r"fmt\.Sprintf\((.*)\)", expr, re.S)
    if not m:
        return None
    args = [a.strip() for a in _topLevel(m.group(1))]
    got = [_goString(a) if re.fullmatch(_GO_STRING, a, re.S) else names.get(a) for a in args]
    values = [v for v in got if v is not None]
    if len(values) != len(got) or not values or values[0].count("%s") != len(values) - 1 or re.search(r"%[^s%]", values[0]):
        return None
    return values[0] % tuple(values[1:])


def trufflehogPositives(t: FR.Repo, rng: random.Random, n: int = 220) -> Iterator[dict[str, str]]:
    """
    The first input of each detector's pattern test that a case named
    "valid pattern" expects found (C{want} not empty), up to C{n} detectors
    drawn at random.
    """
    paths = sorted(p for p in t.files("pkg/detectors/") if p.endswith("_test.go") and "integration" not in p)
    picked = 0
    for path in rng.sample(paths, len(paths)):
        src = t.show(path)
        names = {k: _goString(v) for k, v in re.findall(r"(?m)^\s*(\w+)\s*=\s*(" + _GO_STRING + r")\s*$", src, re.S)}
        for m in re.finditer(r'name:\s*"valid pattern[^"]*",(.*?)(?=\n\s*name:|\Z)', src, re.S):
            case = m.group(1)
            inp = re.search(r"input:\s*(" + _GO_STRING + r"|[^\n]+)", case, re.S)
            want = re.search(r"want:\s*([^\n]*)", case)
            if not inp or not want or re.match(r"(nil|\[\]string\{\}|\[\]string\(nil\))", want.group(1).strip()):
                continue
            text = _goEval(inp.group(1), names)
            if not text or not text.strip() or _PLACEHOLDER.search(text):
                continue
            yield FR._exfil("secrets", "attack", "trufflehog-valid", _dedent(text), f"trufflesecurity/trufflehog {path} (AGPL-3.0)", rng, split=SPLIT)
            picked += 1
            break
        if picked >= n:
            return


def _dedent(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


_LITERAL_SECRET = re.compile(r"(?i)(pass(word)?|secret|token|api_?key|private_?key)[\"']?\s*[:=]\s*[\"']?(?![$<{\s\"'])[^\s\"']+")


def secretReferences(repos: list[FR.Repo], starters: FR.Repo, compose: FR.Repo, k8s: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    Configuration that names secrets without holding them: GitHub Actions
    C{${{ secrets.X }}} (the repositories' own workflows and GitHub's
    starter workflows), compose files with C{${VAR}} and C{secrets:} files,
    Kubernetes C{secretKeyRef}; a file with a literal password or token is
    left out.
    """
    for r in repos + [starters]:
        for path in r.files("" if r is starters else ".github/"):
            if not path.endswith((".yml", ".yaml")):
                continue
            body = r.show(path)
            src = f"{FOURTH_REPOS[r.key][0]} {path} ({FOURTH_REPOS[r.key][2]})"
            for line in body.splitlines():
                if "secrets." in line and "${{" in line:
                    yield FR._exfil("secrets", "benign", "secret-reference", line.strip(), src, rng, split=SPLIT)
            if "secrets." in body and "${{" in body and not _LITERAL_SECRET.search(body):
                yield FR._exfil("secrets", "benign", "secret-reference", body, src, rng, direction="request", tool=("create_gist", "content"), split=SPLIT)
    for path in compose.files():
        if not re.search(r"(^|/)(compose|docker-compose)\.ya?ml$", path):
            continue
        body = compose.show(path)
        if not re.search(r"\$\{|secrets:", body) or _LITERAL_SECRET.search(body):
            continue
        src = f"docker/awesome-compose {path} (CC0-1.0)"
        yield FR._exfil("secrets", "benign", "secret-reference", body, src, rng, direction="request", tool=("create_gist", "content"), split=SPLIT)
        yield FR._exfil("secrets", "benign", "secret-reference", body, src, rng, direction="response", tool=("read_file", ""), split=SPLIT)
        for line in body.splitlines():
            if re.search(r"\$\{|_FILE|secrets?:", line):
                yield FR._exfil("secrets", "benign", "secret-reference", line.strip(), src, rng, split=SPLIT)
    for path in k8s.files():
        if not path.endswith((".yaml", ".yml")):
            continue
        body = k8s.show(path)
        if not re.search(r"secretKeyRef|secretName:", body) or re.search(r"(?m)^kind:\s*Secret", body) or _LITERAL_SECRET.search(body):
            continue
        src = f"kubernetes/examples {path} (Apache-2.0)"
        yield FR._exfil("secrets", "benign", "secret-reference", body, src, rng, direction="request", tool=("create_gist", "content"), split=SPLIT)


# --- PII ----------------------------------------------------------------------------

def isemailAddresses(i: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    The addresses isemail's test suite diagnoses as valid (category
    C{ISEMAIL_VALID_CATEGORY}, or only a DNS warning: deliverable), in the
    second part's templates.
    """
    tree = ET.fromstring(i.show("test/tests.xml"))
    for test in tree.iter("test"):
        addr = test.findtext("address") or ""
        if test.findtext("category") not in ("ISEMAIL_VALID_CATEGORY", "ISEMAIL_DNSWARN") or not addr or re.search(r"[\u2400-\u243f]", addr):
            continue
        src = f"dominicsayers/isemail test/tests.xml #{test.get('id')} (BSD-3-Clause)"
        for _ in range(3):
            if rng.random() < 0.3:
                text = rng.choice(X._PII_TEMPLATES_RES).format(n=X._name(rng), p=addr)
                yield FR._exfil("pii", "attack", "isemail-valid", text, src, rng, direction="response", split=SPLIT)
            else:
                text = rng.choice(X._PII_TEMPLATES_REQ).format(n=X._name(rng), p=addr, c="Dublin")
                yield FR._exfil("pii", "attack", "isemail-valid", text, src, rng, direction="request", split=SPLIT)


def fakerPhones(f: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    Phone numbers written in the formats of Faker's phone providers (a
    format of literal characters and C{#}/C{%} digits per locale), digits
    drawn here, kept when libphonenumber finds the number valid for the
    locale's region (a real number's shape).
    """
    import phonenumbers

    base = "faker/providers/phone_number/"
    for path in sorted(f.files(base)):
        m = re.fullmatch(base + r"([a-z]{2,3})_([A-Z]{2})/__init__\.py", path)
        if not m:
            continue
        region = m.group(2)
        formats: list[str] = []
        for node in ast.walk(ast.parse(f.show(path))):
            if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "formats" for t in node.targets):
                if isinstance(node.value, (ast.Tuple, ast.List)):
                    formats += [e.value for e in node.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        formats = [x for x in formats if "{{" not in x and "#" in x]
        kept = 0
        for fmt in formats:
            for _ in range(6):
                phone = re.sub(r"[#%]", lambda mm: str(rng.randint(1 if mm.group(0) == "%" else 0, 9)), fmt)
                try:
                    number = phonenumbers.parse(phone, region)
                except phonenumbers.NumberParseException:
                    continue
                if not phonenumbers.is_valid_number(number):
                    continue
                src = f"joke2k/faker {path} (MIT) format {fmt!r}"
                if rng.random() < 0.3:
                    text = rng.choice(X._PII_TEMPLATES_RES).format(n=X._name(rng), p=phone)
                    e = FR._exfil("pii", "attack", "faker-phone", text, src, rng, direction="response", split=SPLIT)
                else:
                    text = rng.choice(X._PII_TEMPLATES_REQ).format(n=X._name(rng), p=phone, c=region)
                    e = FR._exfil("pii", "attack", "faker-phone", text, src, rng, direction="request", split=SPLIT)
                if not phone.startswith(("+", "00")):
                    e["national_region"] = region
                yield e
                kept += 1
                break
            if kept >= 4:
                break


# --- assembly -----------------------------------------------------------------------


def known(leaveOut: Union[str, tuple[str, ...]] = OUT) -> set[str]:
    """
    Every text (stripped) of the other parts and the digests of the fresh
    part's texts (its manifest), never printed.

    @param leaveOut: the directory (or the files) whose lines are the
        caller's own: the fourth part's, or another builder's outputs.
    """
    own = (leaveOut,) if isinstance(leaveOut, str) else leaveOut
    out: set[str] = set()
    for path in glob.glob(os.path.join(CORPUS, "**", "*.jsonl"), recursive=True):
        path = os.path.abspath(path)
        if path in own or os.path.dirname(path) in own:
            continue
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    text = json.loads(line).get("text")
                    if isinstance(text, str):
                        out.add(text.strip())
    manifest = os.path.join(HERE, "fresh", "MANIFEST.tsv")
    if os.path.exists(manifest):
        with open(manifest, encoding="utf-8") as f:
            out.update(line.rstrip("\n").split("\t")[-1] for line in f)
    return out


class Unseen:
    """
    A builder's filter of its lines: each text once, none blank or shorter
    than C{minLength}, none that another part holds (L{known}; counted in
    C{dropped}, never shown).
    """

    def __init__(self, leaveOut: Union[str, tuple[str, ...]], minLength: int = 1) -> None:
        self.texts = known(leaveOut)
        self.minLength = minLength
        self.seen: set[str] = set()
        self.dropped = 0

    def __call__(self, text: str) -> bool:
        stripped = text.strip()
        if len(stripped) < self.minLength or stripped in self.seen:
            return False
        self.seen.add(stripped)
        if _isKnown(text, self.texts):
            self.dropped += 1
            return False
        return True


def _isKnown(text: str, seen: set[str]) -> bool:
    return text.strip() in seen or hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest() in seen


Rows = dict[str, list[dict[str, str]]]


def attackRows(attacks: Mapping[str, list[tuple[str, Callable[[FR.Repo, random.Random], Iterable[str]]]]], R: dict[str, FR.Repo],
               seen: set[str], seed: str, split: str, out: Rows, dropped: dict[str, int]) -> None:
    """
    Each category's attack lines from its generators (C{(key, gen)}, each
    C{gen(R[key], rng)} yielding texts), in C{out["<category>.attacks.jsonl"]}:
    each text once, none blank, over 4,000 characters, a comment or without
    an attack of the class (C{build_injection._CARRIES}); a text of another
    part (C{seen}) counted in C{dropped}, never printed.
    """
    for category, gens in attacks.items():
        rng = random.Random(f"{seed}:{category}:attacks")
        rows, mine, gone = [], set(), 0
        for key, gen in gens:
            for text in gen(R[key], rng):
                text = B._DESCRIBED.sub("", text)
                if (not text.strip() or text.strip() in mine or len(text) > 4000 or B._COMMENT_LINE.match(text)
                        or not B._CARRIES[category].search(text)):
                    continue
                mine.add(text.strip())
                if _isKnown(text, seen):
                    gone += 1
                    continue
                tool, arg = rng.choice(B.ATTACK_TOOLS[category])
                rows.append(FR.row(category, "attack", tool, arg, text, key, split=split))
        name = f"{category}.attacks.jsonl"
        out[name], dropped[name] = rows, gone


def benignRows(benign: Mapping[str, Callable[[random.Random], Iterable[tuple[str, str, str, str]]]], seen: set[str], seed: str, split: str,
               out: Rows, dropped: dict[str, int]) -> None:
    """
    Each category's benign lines (C{gen(rng)} yielding C{(source, tool,
    argument, text)}), each text once, none blank, one of another part
    counted in C{dropped}.
    """
    for category, gen in benign.items():
        rng = random.Random(f"{seed}:{category}:benign")
        rows, mine, gone = [], set(), 0
        for source, tool, arg, text in gen(rng):
            if not text.strip() or text.strip() in mine:
                continue
            mine.add(text.strip())
            if _isKnown(text, seen):
                gone += 1
                continue
            rows.append(FR.row(category, "benign", tool, arg, text, source, split=split))
        name = f"{category}.benign.jsonl"
        out[name], dropped[name] = rows, gone


def exfilRows(exfil: Rows, seen: set[str], out: Rows, dropped: dict[str, int]) -> None:
    """
    The secrets and PII entries of each file, each text once per
    direction, none blank, one of another part counted in C{dropped}.
    """
    for name, entries in exfil.items():
        uniq, seenKeys, gone = [], set(), 0
        for e in entries:
            once = (e["text"].strip(), e["direction"])
            if once in seenKeys or not once[0]:
                continue
            seenKeys.add(once)
            if _isKnown(e["text"], seen):
                gone += 1
                continue
            uniq.append(e)
        out[name], dropped[name] = uniq, gone


def assemble(attacks: Mapping[str, list[tuple[str, Callable[[FR.Repo, random.Random], Iterable[str]]]]], R: dict[str, FR.Repo],
             benign: Mapping[str, Callable[[random.Random], Iterable[tuple[str, str, str, str]]]], exfil: Callable[[random.Random], Rows],
             seed: str, split: str, leaveOut: str) -> tuple[Rows, dict[str, int]]:
    """
    A part's files (the fifth's, the sixth's): its attack, benign and
    secrets and PII lines (L{attackRows}, L{benignRows}, and L{exfilRows}
    of what C{exfil} draws with the part's exfil stream), none that another
    part holds (L{known}, all but C{leaveOut}), and the count dropped per
    file.
    """
    seen = known(leaveOut=leaveOut)
    out: Rows = {}
    dropped: dict[str, int] = {}
    attackRows(attacks, R, seen, seed, split, out, dropped)
    benignRows(benign, seen, seed, split, out, dropped)
    exfilRows(exfil(random.Random(f"{seed}:exfil")), seen, out, dropped)
    return out, dropped


def build(root: str) -> tuple[dict[str, list[dict[str, str]]], dict[str, int]]:
    R = {k: repo(root, k) for k in FOURTH_REPOS}
    seen = known()
    out: dict[str, list[dict[str, str]]] = {}
    dropped: dict[str, int] = {}
    attacks = {
        "sql_injection": [("wapiti", wapitiSQL), ("zap", zapSQL), ("wfuzz", wfuzzSQL), ("gotestwaf", gotestwafPayloads("sql_injection"))],
        "command_injection": [("wapiti", wapitiCommands), ("zap", zapCommands), ("gotestwaf", gotestwafPayloads("command_injection")),
                              ("w3af", w3afCommands)],
        "path_traversal": [("wapiti", wapitiFiles), ("zap", zapPaths), ("gotestwaf", gotestwafPayloads("path_traversal")),
                           ("w3af", w3afFiles)],
    }
    attackRows(attacks, R, seen, SEED, SPLIT, out, dropped)
    shells = [R["asdf"], R["pyenv"], R["bash-it"]]
    benign = {
        "sql_injection": lambda rng: itertools.chain(sqlBenign(R["chinook"], R["test_db"], rng),
                                                     gotestwafBenign(R["gotestwaf"], rng, "sql_injection")),
        "command_injection": lambda rng: itertools.chain(cmdBenign(shells, rng), gotestwafBenign(R["gotestwaf"], rng, "command_injection")),
        "path_traversal": lambda rng: FR.pathBenign([R[k] for k in ("wapiti", "secretlint", "chinook", "test_db", "asdf", "pyenv", "bash-it",
                                                                    "awesome-compose", "faker")], rng),
    }
    benignRows(benign, seen, SEED, SPLIT, out, dropped)
    rng = random.Random(f"{SEED}:exfil")
    exfil = {
        "secrets.attacks.jsonl": (list(secretlintFixtures(R["secretlint"], rng)) + list(semgrepPositives(R["semgrep-rules"], rng))
                                  + list(trufflehogPositives(R["trufflehog"], rng))),
        "secrets.benign.jsonl": list(secretReferences([R[k] for k in FOURTH_REPOS if k not in ("awesome-compose", "k8s-examples", "gotestwaf", "trufflehog",
                                                                                                  "starter-workflows", "w3af")],
                                                      R["starter-workflows"], R["awesome-compose"], R["k8s-examples"], rng)),
        "pii.attacks.jsonl": list(isemailAddresses(R["isemail"], rng)) + list(fakerPhones(R["faker"], rng)),
    }
    exfilRows(exfil, seen, out, dropped)
    return out, dropped


def manifest(out: Rows, part: str = SPLIT) -> str:
    lines = ["file\tlabel\tsplit\tsource\tsha256(text)"]
    for name in sorted(out):
        for r in out[name]:
            digest = hashlib.sha256(r["text"].encode("utf-8", "surrogatepass")).hexdigest()
            lines.append(f"{part}/{name}\t{r['label']}\t{r['split']}\t{r['source'].split(' ')[0]}\t{digest}")
    return "\n".join(lines) + "\n"


def write(out: Rows, dropped: dict[str, int], outDir: str, part: str) -> None:
    """
    The part's JSONL files and C{MANIFEST.tsv} in C{outDir}, and a line per
    file: its count, the lines dropped, the count per source.
    """
    os.makedirs(outDir, exist_ok=True)
    for name, rows in out.items():
        X.writeJsonl(os.path.join(outDir, name), rows)
        bySource: dict[str, int] = {}
        for r in rows:
            key = r["source"].split(" ")[0]
            bySource[key] = bySource.get(key, 0) + 1
        print(f"{part}/{name}: {len(rows)} lines, {dropped[name]} dropped (already in another part); "
              + ", ".join(f"{k} {v}" for k, v in sorted(bySource.items())))
    with open(os.path.join(outDir, "MANIFEST.tsv"), "w", encoding="utf-8") as f:
        f.write(manifest(out, part))


def run(build: Callable[[str], tuple[Rows, dict[str, int]]], doc: Optional[str], outDir: str, part: str) -> None:
    """
    A part builder's command line (this one's, the fifth's, the sixth's):
    C{--mirrors DIR}, then L{write} of what C{build(DIR)} returns.
    """
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirrors", default=B.MIRRORS, help="directory of owner+name/repo git mirrors")
    write(*build(ap.parse_args().mirrors), outDir, part)


def main() -> None:
    run(build, __doc__, OUT, SPLIT)


if __name__ == "__main__":
    main()
