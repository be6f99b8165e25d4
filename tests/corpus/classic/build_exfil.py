"""
Build the secrets, PII and bulk part of the held-out corpus (issue 16):
C{secrets.*.jsonl}, C{pii.*.jsonl} and C{bulk.*.jsonl} beside this file.

    python tests/corpus/classic/build_exfil.py [--mirrors /work/.mirror]

Nothing is fetched at test time: the JSONL files are committed.  The builder
reads local snapshots of three public repositories (fetched once, read with
C{git --git-dir=... show HEAD:path}) and runs seeded generators.

Sources and licences
--------------------

- gitleaks/gitleaks (MIT), commit b58d3f10: C{config/gitleaks.toml}, the
  rule set (id, keywords, regular expression per vendor).  A value is drawn
  from each rule's secret pattern (seeded) and written in the contexts of
  gitleaks' own C{GenerateSampleSecrets} (ini, JSON, YAML, code, env).
- Yelp/detect-secrets (Apache-2.0), commit 5e141933: the labelled
  C{(payload, should_flag)} cases of its vendor plugin tests
  (C{tests/plugins/*_test.py}, read with C{ast}, not by hand).  The plugins
  whose labels encode that tool's own heuristics (keyword,
  high_entropy_strings, ip_public, base) are left out, by rule, unread.
- google/libphonenumber (Apache-2.0), commit f7e3e88c:
  C{resources/PhoneNumberMetadata.xml}, the C{exampleNumber} of each
  territory's fixed-line and mobile plans, formatted with the
  C{phonenumbers} package (E.164, international, national, RFC 3966, and
  the spellings people type: dots, no separators, C{00} instead of C{+}).
- trufflesecurity/trufflehog (AGPL-3.0): not copied; only facts (that a
  credential file is one a tool reads) shaped the generators.
- Generators (this file): env files, config dumps, tables, URLs with a
  password in their userinfo, credential files (.aws/credentials, .npmrc,
  .pypirc, .netrc, .git-credentials, docker config.json, kubeconfig,
  .pgpass), private keys, e-mail addresses (RFC 5321/5322 shapes), tool
  results with contact records, and the hard benign set (hashes, UUIDs,
  public keys, documented example keys, placeholders, recipient fields,
  example domains, numbers that are not phone numbers).

All key material is random (seeded): no real credential is here.

The split (decided before any tuning, and not changed after)
------------------------------------------------------------

C{split} is C{holdout} for:

- whole sources: every detect-secrets case; every generator family named in
  C{HELD_OUT_FAMILIES} (secrets in markdown/ASCII tables and INI sections;
  PII in tool results of a CRM-less C{http_request}; phone numbers written
  as RFC 3966 C{tel:} URIs);
- gitleaks rules whose id hashes into the held-out 30% (C{_held(id)});
- libphonenumber territories whose region code hashes into the held-out 30%;
- for the other generators, each entry whose C{(family, index)} hashes into
  the held-out 30%.

Everything else is C{tune}.  The tuning loop (C{measure_exfil.py}) shows
the misses and false positives of the tune split only.
"""

from __future__ import annotations

import argparse
import ast
import base64
import hashlib
import json
import os
import random
import re
import string
import subprocess
import sys
import tomllib
import uuid
import xml.etree.ElementTree as ET
from re import _parser as sre  # type: ignore[attr-defined]
from typing import Any, Iterable, Iterator, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 20261206

HELD_OUT_FAMILIES = {
    "detect-secrets",
    "secrets-table",
    "secrets-ini-section",
    "pii-http-result",
    "phone-rfc3966",
    "benign-secrets-table",
}


def _held(key: str) -> bool:
    return hashlib.sha256(key.encode("utf-8")).digest()[0] % 10 < 3


def split(family: str, key: str) -> str:
    if family in HELD_OUT_FAMILIES or _held(f"{family}:{key}"):
        return "holdout"
    return "tune"


# --- a value drawn from a regular expression --------------------------------


def sample(pattern: str, rng: random.Random) -> str:
    """
    A string matching C{pattern} (Python syntax; repeats capped at 40 beyond
    their minimum), drawn with C{rng}.
    """
    return _draw(sre.parse(pattern), rng)


_CATEGORY = {
    sre.CATEGORY_DIGIT: string.digits,
    sre.CATEGORY_WORD: string.ascii_letters + string.digits + "_",
    sre.CATEGORY_SPACE: " ",
    sre.CATEGORY_NOT_SPACE: string.ascii_letters,
    sre.CATEGORY_NOT_DIGIT: string.ascii_letters,
    sre.CATEGORY_NOT_WORD: "-",
}


def _draw(parsed: Any, rng: random.Random) -> str:
    out = []
    for op, av in parsed:
        if op is sre.LITERAL:
            out.append(chr(av))
        elif op is sre.NOT_LITERAL:
            out.append(rng.choice([c for c in string.ascii_letters if ord(c) != av]))
        elif op is sre.ANY:
            out.append(rng.choice(string.ascii_letters))
        elif op is sre.IN:
            out.append(rng.choice(_set(av)))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", None)):
            lo, hi, sub = av
            hi = lo + 40 if hi == sre.MAXREPEAT else hi
            n = rng.randint(lo, hi) if hi - lo < 40 else lo + rng.randint(0, 8)
            out.extend(_draw(sub, rng) for _ in range(n))
        elif op is sre.SUBPATTERN:
            out.append(_draw(av[-1], rng))
        elif op is sre.BRANCH:
            out.append(_draw(rng.choice(av[1]), rng))
        elif op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            continue
        elif op is sre.GROUPREF:
            continue
        else:
            raise ValueError(f"cannot draw {op}")
    return "".join(out)


def _set(items: Any) -> list[str]:
    chars: list[str] = []
    negate = False
    for op, av in items:
        if op is sre.NEGATE:
            negate = True
        elif op is sre.LITERAL:
            chars.append(chr(av))
        elif op is sre.RANGE:
            chars.extend(chr(c) for c in range(av[0], av[1] + 1))
        elif op is sre.CATEGORY:
            chars.extend(_CATEGORY[av])
    if negate:
        return [c for c in string.ascii_letters + string.digits if c not in chars]
    return [c for c in chars if c.isprintable() and c not in " \t\r\n"] or ["a"]


# --- entries -------------------------------------------------------------------

_OUT_TOOLS = (
    ("send_email", "body"),
    ("send_email", "subject"),
    ("slack_post_message", "text"),
    ("post_message", "content"),
    ("web_search", "query"),
    ("translate", "text"),
    ("http_request", "body"),
    ("create_issue", "body"),
    ("create_gist", "content"),
    ("fetch", "url"),
)
_RESULT_TOOLS = ("read_file", "run_command", "query_db", "search_files", "get_document", "browser_get_text")


def entry(category: str, sub: str, label: str, family: str, key: str, text: str, source: str,
          rng: random.Random, direction: Optional[str] = None, tool: Optional[tuple[str, str]] = None) -> dict[str, str]:
    if direction is None:
        direction = "response" if rng.random() < 0.25 else "request"
    if tool is None:
        if direction == "response":
            tool = (rng.choice(_RESULT_TOOLS), "")
        else:
            tool = rng.choice([t for t in _OUT_TOOLS if t[1] != "url"])
    return {
        "category": category,
        "subcategory": sub,
        "label": label,
        "tool": tool[0],
        "argument": tool[1],
        "text": text,
        "direction": direction,
        "source": source,
        "family": family,
        "split": split(family, key),
    }


# --- secrets ---------------------------------------------------------------------

def _ident(name: str, style: int) -> str:
    words = re.split(r"[^A-Za-z0-9]+", name)
    words = [w for w in words if w]
    if style == 0:
        return "_".join(w.upper() for w in words)
    if style == 1:
        return "_".join(w.lower() for w in words)
    if style == 2:
        return words[0].lower() + "".join(w.capitalize() for w in words[1:])
    return "-".join(w.lower() for w in words)


# gitleaks' GenerateSampleSecrets contexts (facts of its test harness)
_CONTEXTS = (
    "{i}Token=\"{s}\"",
    "{i}Token = {s}",
    "{{\n    \"{i}_token\": \"{s}\"\n}}",
    "{{\"config.ini\": \"{I}_TOKEN={s}\\nBACKUP_ENABLED=true\"}}",
    "<{i}Token>\n    {s}\n</{i}Token>",
    "{i}_token: {s}",
    "{i}_token: '{s}'",
    "string {i}Token = \"{s}\";",
    "{i}Token := \"{s}\"",
    "var {i}Token = \"{s}\"",
    "{i}_token = \"{s}\"",
    "export {I}_TOKEN={s}",
    "{I}_TOKEN=\"{s}\"",
    "const {i}Key = '{s}';",
    "{i}.api_key = {s}",
)


def _gitleaksValue(rule: dict[str, Any], rng: random.Random) -> Optional[tuple[str, bool]]:
    """
    A value for a gitleaks rule, and whether the rule needs a keyword beside it.
    """
    rx = rule.get("regex")
    if not rx:
        return None
    semi = "[\\x60'\"\\s=]{0,5}(" in rx
    if semi:
        body = rx.split("[\\x60'\"\\s=]{0,5}(", 1)[1]
    elif "\\b(" in rx:
        body = rx.split("\\b(", 1)[1]
    else:
        body = rx
    for suffix in (")(?:[\\x60'\"\\s;]|\\\\[nr]|$)", ")(?:[^\\w-]|\\z)", ")(?:\\b|$|[\\s\"'`;])"):
        if suffix in body:
            body = body.split(suffix, 1)[0]
            break
    body = re.sub(r"\(\?-?i\)", "", body).replace("(?-i:", "(?:").replace("(?i:", "(?:").replace("\\z", "")
    body = body.replace("(?i)", "")
    try:
        value = sample(body, rng)
    except (re.error, ValueError, KeyError):
        return None
    if len(value) < 8:
        return None
    return value, semi


def _pythonRegex(rx: str) -> Optional["re.Pattern[str]"]:
    """
    A gitleaks (Go RE2) pattern in Python's dialect, or None when it has no
    faithful translation.
    """
    flags = re.I if "(?i)" in rx else 0
    rx = rx.replace("(?i)", "").replace("(?-i:", "(?:").replace("\\z", "\\Z")
    try:
        return re.compile(rx, flags)
    except re.error:
        return None


def secretsFromGitleaks(root: str, rng: random.Random) -> Iterator[dict[str, str]]:
    """
    Two samples per gitleaks rule; a sample that its own rule does not
    match (a pattern the drawing cannot follow) is dropped, as gitleaks'
    own C{utils.Validate} would refuse it.
    """
    toml = _git(root, "config/gitleaks.toml")
    rules = tomllib.loads(toml)["rules"]
    for rule in rules:
        rid = rule["id"]
        if rid.startswith("generic") or "path" in rule and "regex" not in rule:
            continue
        own = _pythonRegex(rule.get("regex", ""))
        if own is None:
            continue
        for n in range(2):
            got = _gitleaksValue(rule, rng)
            if got is None:
                break
            value, semi = got
            keyword = (rule.get("keywords") or [rid.split("-")[0]])[0]
            name = keyword if semi else rid.rsplit("-", 2)[0]
            ctx = rng.choice(_CONTEXTS)
            text = ctx.format(i=_ident(name, 2), I=_ident(name, 0), s=value)
            if n == 1 and not semi and rng.random() < 0.5:
                text = rng.choice(("Here is the key: {s}", "{s}", "token {s} expires tomorrow", "use `{s}` for the deploy")).format(s=value)
            if not own.search(text):
                continue
            yield entry("data_exfiltration", "secrets", "attack", "gitleaks", rid, text,
                        "gitleaks/gitleaks config/gitleaks.toml (MIT): " + rid, rng)


def secretsFromDetectSecrets(root: str) -> Iterator[dict[str, str]]:
    rng = random.Random(SEED + 7)
    skip = {"keyword_test.py", "high_entropy_strings_test.py", "ip_public_test.py", "base_test.py"}
    listing = subprocess.run(["git", "--git-dir", root, "ls-tree", "--name-only", "HEAD", "tests/plugins/"],
                             check=True, capture_output=True, text=True).stdout.split()
    for path in sorted(listing):
        name = os.path.basename(path)
        if not name.endswith("_test.py") or name in skip:
            continue
        tree = ast.parse(_git(root, path))
        n = 0
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "parametrize"):
                continue
            if len(node.args) < 2:
                continue
            try:
                names = ast.literal_eval(node.args[0])
                cases = ast.literal_eval(node.args[1])
            except ValueError:
                continue
            if isinstance(names, str):
                names = [s.strip() for s in names.split(",")]
            if len(names) != 2:
                continue
            for case in cases:
                if not (isinstance(case, tuple) and len(case) == 2 and isinstance(case[0], str) and isinstance(case[1], bool)):
                    continue
                text, flag = case
                if not text.strip():
                    continue
                n += 1
                yield entry("data_exfiltration" if flag else "secrets", "secrets", "attack" if flag else "benign",
                            "detect-secrets", f"{name}:{n}", text,
                            f"Yelp/detect-secrets {path} (Apache-2.0)", rng)


def _rand(rng: random.Random, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


_B64 = string.ascii_letters + string.digits + "+/"
_HEX = "0123456789abcdef"

_ENV_NAMES = (
    "API_KEY", "SECRET", "TOKEN", "AUTH_TOKEN", "ACCESS_TOKEN", "STRIPE_SECRET_KEY", "OPENAI_API_KEY",
    "DATABASE_PASSWORD", "DB_PASS", "JWT_SECRET", "SESSION_SECRET", "CLIENT_SECRET", "SECRET_KEY",
    "SLACK_BOT_TOKEN", "SENDGRID_API_KEY", "MAILGUN_API_KEY", "TWILIO_AUTH_TOKEN", "ENCRYPTION_KEY",
    "SIGNING_SECRET", "WEBHOOK_SECRET", "PRIVATE_TOKEN", "REFRESH_TOKEN", "APP_SECRET", "MASTER_KEY",
    "REDIS_PASSWORD", "SMTP_PASSWORD", "ADMIN_PASSWORD", "GH_TOKEN", "NPM_TOKEN", "CI_JOB_TOKEN",
    "DATADOG_API_KEY", "SENTRY_AUTH_TOKEN", "ALGOLIA_ADMIN_KEY", "HMAC_KEY", "COOKIE_SECRET",
)
_PLAIN_ENV = ("NODE_ENV=production", "PORT=8080", "LOG_LEVEL=info", "DEBUG=false", "APP_NAME=billing",
              "REGION=eu-west-1", "TIMEOUT_SECONDS=30", "FEATURE_FLAGS=search,export", "WORKERS=4")


def _secretValue(rng: random.Random) -> str:
    kind = rng.randrange(6)
    if kind == 0:
        return _rand(rng, rng.randint(24, 48))
    if kind == 1:
        return "".join(rng.choice(_HEX) for _ in range(rng.choice((32, 40, 64))))
    if kind == 2:
        return base64.b64encode(rng.randbytes(rng.choice((24, 32, 48)))).decode()
    if kind == 3:
        return _rand(rng, 20, string.ascii_letters + string.digits + "!@#%^&*-_") 
    if kind == 4:
        return base64.urlsafe_b64encode(rng.randbytes(32)).decode().rstrip("=")
    return _rand(rng, 8) + "-" + _rand(rng, 8) + "-" + _rand(rng, 12)


def _vendorKey(rng: random.Random) -> str:
    return rng.choice((
        lambda: "AKIA" + _rand(rng, 16, string.ascii_uppercase + "234567"),
        lambda: "ghp_" + _rand(rng, 36),
        lambda: "github_pat_" + _rand(rng, 22) + "_" + _rand(rng, 59),
        lambda: "xoxb-" + str(rng.randint(10**10, 10**12)) + "-" + str(rng.randint(10**10, 10**12)) + "-" + _rand(rng, 24),
        lambda: "sk_live_" + _rand(rng, 24),
        lambda: "glpat-" + _rand(rng, 20),
        lambda: "AIza" + _rand(rng, 35, string.ascii_letters + string.digits + "_-"),
        lambda: "sk-proj-" + _rand(rng, 20) + "T3BlbkFJ" + _rand(rng, 20),
        lambda: "npm_" + _rand(rng, 36),
        lambda: "SG." + _rand(rng, 22) + "." + _rand(rng, 43),
        lambda: "hf_" + _rand(rng, 34),
        lambda: "dop_v1_" + "".join(rng.choice(_HEX) for _ in range(64)),
        lambda: "shpat_" + "".join(rng.choice(_HEX) for _ in range(32)),
        lambda: "xapp-1-A" + _rand(rng, 10, string.ascii_uppercase + string.digits) + "-" + str(rng.randint(10**12, 10**13)) + "-" + "".join(rng.choice(_HEX) for _ in range(64)),
        lambda: "sk-ant-api03-" + _rand(rng, 93, string.ascii_letters + string.digits + "_-") + "AA",
        lambda: "pypi-AgEIcHlwaS5vcmc" + _rand(rng, 70, string.ascii_letters + string.digits + "_-"),
        lambda: "whsec_" + _rand(rng, 32),
        lambda: "rk_live_" + _rand(rng, 24),
        lambda: "glrt-" + _rand(rng, 20),
        lambda: "ya29." + _rand(rng, 60, string.ascii_letters + string.digits + "_-"),
        lambda: "AGE-SECRET-KEY-1" + _rand(rng, 58, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"),
        lambda: "dapi" + "".join(rng.choice(_HEX) for _ in range(32)),
        lambda: "lin_api_" + _rand(rng, 40),
        lambda: "pscale_tkn_" + _rand(rng, 43),
        lambda: "sntrys_" + base64.b64encode(rng.randbytes(60)).decode().rstrip("="),
        lambda: str(rng.randint(10**8, 10**10)) + ":AA" + _rand(rng, 33, string.ascii_letters + string.digits + "_-"),
    ))()


def _pem(rng: random.Random) -> str:
    head = rng.choice(("RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY"))
    body = base64.b64encode(rng.randbytes(rng.choice((120, 240)))).decode()
    lines = "\n".join(body[i:i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN {head}-----\n{lines}\n-----END {head}-----"


def _password(rng: random.Random) -> str:
    return rng.choice((
        lambda: _rand(rng, rng.randint(10, 20), string.ascii_letters + string.digits + "!#%^*_-"),
        lambda: rng.choice(("Summer", "Winter", "Dragon", "Monkey", "Tiger")) + str(rng.randint(1970, 2030)) + rng.choice("!#$%*"),
        lambda: _rand(rng, 16),
        lambda: base64.urlsafe_b64encode(rng.randbytes(18)).decode(),
    ))()


def _host(rng: random.Random) -> str:
    return rng.choice(("db.internal.acme.io", "prod-db-01.c9xk2.eu-west-1.rds.amazonaws.com", "10.20.3.14",
                       "cache.corp.net", "mq.payments.svc.cluster.local", "git.acme-corp.com", "api.partner.io",
                       "ftp.files.acme.com", "smtp.mailgun.org", "mongo-0.mongo.default.svc"))


def _userinfoURL(rng: random.Random) -> str:
    scheme = rng.choice(("https", "http", "postgresql", "mysql", "mongodb+srv", "redis", "amqp", "ftp", "smtp",
                         "sftp", "ssh", "git+https", "s3", "nats", "kafka", "ldap", "svn+ssh", "jdbc:postgresql"))
    user = rng.choice(("admin", "deploy", "svc_billing", "root", "app", "jenkins", "ci-bot", "alice.smith"))
    path = rng.choice(("", "/", "/prod", "/repo.git", "/vhost", "/0", "/orders?sslmode=require"))
    port = rng.choice(("", ":5432", ":443", ":6379", ":5672", ":21", ""))
    return f"{scheme}://{user}:{_password(rng)}@{_host(rng)}{port}{path}"


def _credentialFile(rng: random.Random) -> tuple[str, str]:
    key = _vendorKey(rng)
    pw = _password(rng)
    aws = "AKIA" + _rand(rng, 16, string.ascii_uppercase + "234567")
    aws_s = _rand(rng, 40, _B64)
    files = (
        ("aws", f"[default]\naws_access_key_id = {aws}\naws_secret_access_key = {aws_s}\nregion = us-east-1\n"),
        ("aws-noid", f"[prod]\naws_secret_access_key={aws_s}\n"),
        ("npmrc", f"registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken={'npm_' + _rand(rng, 36)}\n"),
        ("npmrc-private", f"@acme:registry=https://npm.acme.io/\n//npm.acme.io/:_authToken={_rand(rng, 40)}\nalways-auth=true\n"),
        ("pypirc", f"[distutils]\nindex-servers = pypi\n\n[pypi]\nusername = __token__\npassword = pypi-AgEIcHlwaS5vcmc{_rand(rng, 80, string.ascii_letters + string.digits + '_-')}\n"),
        ("netrc", f"machine api.heroku.com\n  login alice@acme.io\n  password {_rand(rng, 8, _HEX)}-{_rand(rng, 4, _HEX)}-{_rand(rng, 4, _HEX)}-{_rand(rng, 4, _HEX)}-{_rand(rng, 12, _HEX)}\n"),
        ("netrc2", f"machine ftp.acme.com login deploy password {pw}\n"),
        ("git-credentials", f"https://alice:{'ghp_' + _rand(rng, 36)}@github.com\n"),
        ("git-credentials2", f"https://oauth2:{_rand(rng, 20)}@gitlab.acme.io\n"),
        ("docker", json.dumps({"auths": {"registry.acme.io": {"auth": base64.b64encode(f"ci:{pw}".encode()).decode()}}}, indent=2)),
        ("kubeconfig", f"users:\n- name: admin\n  user:\n    token: {base64.urlsafe_b64encode(rng.randbytes(48)).decode().rstrip('=')}\n"),
        ("pgpass", f"{_host(rng)}:5432:orders:app:{pw}\n"),
        ("gcloud-adc", json.dumps({"client_id": f"{rng.randint(10**11, 10**12)}-{_rand(rng, 32, string.ascii_lowercase + string.digits)}.apps.googleusercontent.com", "client_secret": "GOCSPX-" + _rand(rng, 28, string.ascii_letters + string.digits + "_-"), "refresh_token": "1//0" + _rand(rng, 100, string.ascii_letters + string.digits + "_-"), "type": "authorized_user"}, indent=2)),
        ("env-unlabelled", f"# copied from the vault\n{key}\n"),
        ("creds-txt", f"prod creds\nuser: svc_deploy\n{key}\n"),
        ("htpasswd", f"admin:$apr1${_rand(rng, 8)}${_rand(rng, 22, string.ascii_letters + string.digits + './')}\n"),
        ("wp-config", f"define( 'DB_PASSWORD', '{pw}' );\ndefine( 'AUTH_KEY', '{_rand(rng, 64, string.ascii_letters + string.digits + '!@#%^&*()-_[]{{}}<>~+=,.;:/?|')}' );\n"),
        ("properties", f"spring.datasource.password={pw}\nspring.datasource.username=app\n"),
        ("terraform-tfvars", f"db_password = \"{pw}\"\nregion = \"eu-west-1\"\n"),
    )
    return rng.choice(files)


def secretsGenerated(rng: random.Random) -> Iterator[dict[str, str]]:
    src = "generated (build_exfil.py)"
    for n in range(90):  # env files
        lines = rng.sample(_PLAIN_ENV, 3)
        name = rng.choice(_ENV_NAMES)
        quote = rng.choice(("", '"', "'"))
        lines.insert(rng.randrange(4), f"{name}={quote}{_secretValue(rng)}{quote}")
        text = "\n".join(lines)
        yield entry("data_exfiltration", "secrets", "attack", "secrets-env", str(n), text, src, rng)
    for n in range(60):  # config dumps
        name = rng.choice(_ENV_NAMES)
        value = _secretValue(rng)
        style = rng.randrange(4)
        key = _ident(name, rng.choice((1, 2)))
        if style == 0:
            text = json.dumps({"service": "billing", "settings": {key: value, "timeout": 30}}, indent=rng.choice((None, 2)))
        elif style == 1:
            text = f"service: billing\nsettings:\n  {key}: {value}\n  timeout: 30\n"
        elif style == 2:
            text = f"Config({key}='{value}', retries=3)"
        else:
            text = f"$ printenv\nHOME=/home/app\n{name}={value}\nPATH=/usr/bin\n"
        yield entry("data_exfiltration", "secrets", "attack", "secrets-config", str(n), text, src, rng)
    for n in range(40):  # tables (held out as a family)
        name = rng.choice(_ENV_NAMES)
        value = _secretValue(rng)
        if n % 2:
            text = f"| name | value |\n|---|---|\n| REGION | us-east-1 |\n| {name} | {value} |\n"
        else:
            text = f"+----------------+------------------------------------------+\n| KEY            | VALUE                                    |\n| {name:<14} | {value} |\n+----------------+------------------------------------------+"
        yield entry("data_exfiltration", "secrets", "attack", "secrets-table", str(n), text, src, rng)
    for n in range(30):  # ini sections (held out as a family)
        name = _ident(rng.choice(_ENV_NAMES), 1)
        text = f"[service]\nhost = api.acme.io\n{name} = {_secretValue(rng)}\n"
        yield entry("data_exfiltration", "secrets", "attack", "secrets-ini-section", str(n), text, src, rng)
    for n in range(70):  # URLs with a password
        url = _userinfoURL(rng)
        text = rng.choice(("{u}", "DATABASE_URL={u}", "connect with {u} and run the migration", "\"url\": \"{u}\"", "git clone {u}")).format(u=url)
        yield entry("data_exfiltration", "secrets", "attack", "secrets-url", str(n), text, src, rng)
    for n in range(70):  # credential files
        kind, text = _credentialFile(rng)
        yield entry("data_exfiltration", "secrets", "attack", "secrets-credfile", f"{kind}:{n}", text, src, rng)
    for n in range(60):  # vendor keys by name and shape, without a label
        key = _vendorKey(rng)
        text = rng.choice(("{k}", "here you go: {k}", "the deploy uses {k} (rotate next week)", "Authorization: token {k}", "curl -H 'X-Api-Key: {k}' https://api.acme.io")).format(k=key)
        yield entry("data_exfiltration", "secrets", "attack", "secrets-vendor", str(n), text, src, rng)
    for n in range(20):
        yield entry("data_exfiltration", "secrets", "attack", "secrets-pem", str(n), _pem(rng), src, rng)


_EXAMPLE_KEYS = (
    "AKIAIOSFODNN7EXAMPLE",
    "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "sk_live_xxxxxxxxxxxxxxxxxxxxxxxx",
    "STRIPE_SECRET_KEY=sk_live_...",
    "OPENAI_API_KEY=<YOUR_KEY>",
    "API_KEY=your-api-key-here",
    "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "export SLACK_BOT_TOKEN=xoxb-your-token",
    "SECRET_KEY=changeme",
    "DATABASE_URL=postgres://user:password@localhost:5432/mydb",
    "postgres://${DB_USER}:${DB_PASSWORD}@db:5432/app",
    "TOKEN=${{ secrets.GITHUB_TOKEN }}",
    "api_key = os.environ[\"API_KEY\"]",
    "const token = process.env.API_TOKEN;",
    "password: \"{{ vault_db_password }}\"",
    "SENDGRID_API_KEY=SG.xxxxxxxx.yyyyyyyy",
    "AWS_SECRET_ACCESS_KEY=...",
    "client_secret: <client-secret>",
    "Set ANTHROPIC_API_KEY to your key (it starts with sk-ant-).",
)


def _sha(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_HEX) for _ in range(n))


def secretsBenign(rng: random.Random) -> Iterator[dict[str, str]]:
    src = "generated (build_exfil.py)"
    fam = "benign-secrets"
    gens = (
        lambda: f"commit {_sha(rng, 40)}\nAuthor: CI <ci@example.com>\n\n    Fix flaky test",
        lambda: f"sha256:{_sha(rng, 64)}",
        lambda: f"image: ghcr.io/acme/api@sha256:{_sha(rng, 64)}",
        lambda: f"{_sha(rng, 64)}  dist/app-1.4.2.tar.gz",
        lambda: f"\"integrity\": \"sha512-{base64.b64encode(rng.randbytes(64)).decode()}\"",
        lambda: f"request_id={uuid.UUID(int=rng.getrandbits(128))}",
        lambda: f"\"id\": \"{uuid.UUID(int=rng.getrandbits(128))}\", \"status\": \"active\"",
        lambda: f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{_rand(rng, 43, _B64)} alice@laptop",
        lambda: f"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ{_rand(rng, 300, _B64)}= deploy@ci",
        lambda: "-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(rng.randbytes(162)).decode()[:64] + "\n" + base64.b64encode(rng.randbytes(48)).decode() + "\n-----END PUBLIC KEY-----",
        lambda: "-----BEGIN CERTIFICATE-----\nMIID" + _rand(rng, 60, _B64) + "\n-----END CERTIFICATE-----",
        lambda: rng.choice(_EXAMPLE_KEYS),
        lambda: f"pk_live_{_rand(rng, 24)}",
        lambda: f"\"publishableKey\": \"pk_test_{_rand(rng, 24)}\"",
        lambda: f"https://{_sha(rng, 32)}@o{rng.randint(10000, 99999)}.ingest.sentry.io/{rng.randint(1000000, 9999999)}",
        lambda: f"MAX_TOKENS={rng.choice((1024, 4096, 8192))}\nTOKEN_URL=https://auth.acme.io/oauth/token\nAPI_KEY_HEADER=X-Api-Key",
        lambda: "password = getpass.getpass(\"Password: \")",
        lambda: "if not api_key:\n    raise ValueError(\"set the API key in settings\")",
        lambda: f"https://docs.google.com/document/d/{_rand(rng, 44, string.ascii_letters + string.digits + '_-')}/edit",
        lambda: f"https://www.youtube.com/watch?v={_rand(rng, 11, string.ascii_letters + string.digits + '_-')}",
        lambda: f"cus_{_rand(rng, 14)} paid invoice in_{_rand(rng, 24)}",
        lambda: f"git clone git@github.com:acme/{rng.choice(('api', 'web', 'infra'))}.git",
        lambda: f"https://alice@bitbucket.org/acme/repo.git",
        lambda: f"token_type = \"Bearer\"\nexpires_in = 3600",
        lambda: f"The session cookie is HttpOnly; rotate the signing secret every 90 days.",
        lambda: "Use `password_hash()` with PASSWORD_DEFAULT; never store the password itself.",
        lambda: base64.b64encode(rng.choice((b"Hello, this is a perfectly ordinary sentence for a test.", b"{\"name\": \"widget\", \"price\": 10, \"tags\": [\"a\", \"b\"]}", b"The quick brown fox jumps over the lazy dog again and again."))).decode(),
        lambda: f"etag: \"{_sha(rng, 32)}\"",
        lambda: f"\"node_id\": \"MDQ6VXNlcj{_rand(rng, 10, _B64)}\"",
        lambda: f"file_id: {_rand(rng, 28, string.ascii_letters + string.digits + '_-')}  (uploaded)",
        lambda: f"s3://acme-logs/2024/06/{uuid.UUID(int=rng.getrandbits(128)).hex}.json.gz",
        lambda: f"password_reset_url = f\"https://acme.io/reset/{{token}}\"",
        lambda: "An AWS key id looks like AKIAXXXXXXXXXXXXXXXX; never paste a real one.",
    )
    for n in range(440):
        g = gens[n % len(gens)]
        text = g()
        yield entry("secrets", "secrets", "benign", fam, str(n), text, src, rng)
    for n in range(30):  # tables of non-secrets (held out as a family)
        rows = "\n".join(f"| {rng.choice(('REGION', 'PORT', 'LOG_LEVEL', 'MAX_TOKENS', 'TOKEN_TTL', 'API_VERSION'))} | {rng.choice(('us-east-1', '8080', 'debug', '4096', '3600', '2024-06-01'))} |" for _ in range(3))
        text = f"| name | value |\n|---|---|\n{rows}\n| COMMIT | {_sha(rng, 40)} |"
        yield entry("secrets", "secrets", "benign", "benign-secrets-table", str(n), text, src, rng)



# --- more secret forms (session 10): tune only --------------------------------
# The secret forms written the ways other files and tools write
# them (shell, Dockerfile, compose, PowerShell, Makefile, CLI flags, HTTP
# headers and query strings, source code in several languages, XML, TOML),
# with names in every case style, and their placeholders and references as
# hard benign lines.  A separate random stream; every line is C{tune}: they
# were written knowing the rules.

_FORM_NAMES = (
    "API_KEY", "SECRET_KEY", "AUTH_TOKEN", "ACCESS_TOKEN", "CLIENT_SECRET", "DB_PASSWORD", "PRIVATE_TOKEN",
    "STRIPE_LIVE_SECRET", "APIKEY", "SECRETKEY", "PASSWD", "ENC_KEY", "SIGNING_KEY", "SERVICE_ACCOUNT_TOKEN",
    "BOT_TOKEN", "REFRESH_TOKEN", "MASTER_PASSWORD", "ROOT_PASSWORD", "APP_SECRET", "WEBHOOK_SIGNING_SECRET",
)
_FORMS = (
    "export {N}={v}", "export {N}=\"{v}\"", "ENV {N}={v}", "ENV {N} {v}", "      - {N}={v}", "      {N}: \"{v}\"",
    "$env:{N} = \"{v}\"", "set {N}={v}", "setx {N} \"{v}\"", "{N} := {v}", "{N} ?= {v}",
    "docker run -e {N}={v} acme/api:latest", "helm upgrade api ./chart --set secrets.{c}={v}",
    "kubectl create secret generic api --from-literal={s}={v}", "heroku config:set {N}={v} -a acme-api",
    "gh secret set {N} --body \"{v}\"", "fly secrets set {N}={v}", "vercel env add {N} production <<< {v}",
    "curl -H \"X-Api-Key: {v}\" https://api.acme.io/v1/items", "curl -H 'Authorization: Bearer {v}' https://api.acme.io",
    "GET /v1/items?api_key={v}&limit=10", "https://api.acme.io/export?access_token={v}", "X-Auth-Token: {v}",
    "{c} = \"{v}\"", "const {c} = \"{v}\";", "let {c} = '{v}'", "{c} := \"{v}\"", "private static final String {N} = \"{v}\";",
    "{s}: '{v}'", "'{s}' => '{v}',", "\"{c}\": \"{v}\",", "<{c}>{v}</{c}>", "<add key=\"{c}\" value=\"{v}\" />",
    "{s} = \"{v}\"  # TOML", "[auth]\n{s} = {v}", "spring.security.{k}={v}", "{k}: {v}",
    "config.{c} = '{v}'", "os.environ[\"{N}\"] = \"{v}\"", "process.env.{N} = \"{v}\";", "Settings({s}=\"{v}\")",
    "psexec \\\\build01 -u svc_deploy -p {v} cmd /c deploy.bat", "mongosh -u admin -p '{v}' --authenticationDatabase admin",
    "./deploy.sh --username ci --password {v}",
)


def _formValue(rng: random.Random) -> str:
    kind = rng.randrange(5)
    if kind == 0:
        return str(uuid.UUID(int=rng.getrandbits(128)))
    return _secretValue(rng)


def secretsForms(rng: random.Random) -> Iterator[dict[str, str]]:
    src = "generated (build_exfil.py, forms)"
    for n in range(300):
        name = rng.choice(_FORM_NAMES)
        form = _FORMS[n % len(_FORMS)]
        text = form.format(N=name, c=_ident(name, 2), s=_ident(name, 1), k=_ident(name, 3), v=_formValue(rng))
        e = entry("data_exfiltration", "secrets", "attack", "secrets-forms", str(n), text, src, rng)
        yield dict(e, split="tune")


_FORM_REFERENCES = (
    "${{{N}}}", "$({N})", "${{{{ secrets.{N} }}}}", "{{{{ .Values.{c} }}}}", "$env:{N}", "%{N}%", "<{k}>", "YOUR_{N}",
    "os.environ[\"{N}\"]", "process.env.{N}", "getenv(\"{N}\")", "changeme", "********", "xxxxxxxxxxxxxxxx",
    "${{{N}:?missing}}", "{{{{{s}}}}}", "vault:secret/data/api#{s}", "!Ref {c}",
)


def secretsFormsBenign(rng: random.Random) -> Iterator[dict[str, str]]:
    src = "generated (build_exfil.py, forms)"
    for n in range(200):
        name = rng.choice(_FORM_NAMES)
        form = _FORMS[n % len(_FORMS)]
        ref = rng.choice(_FORM_REFERENCES).format(N=name, c=_ident(name, 2), s=_ident(name, 1), k=_ident(name, 3))
        text = form.format(N=name, c=_ident(name, 2), s=_ident(name, 1), k=_ident(name, 3), v=ref)
        e = entry("secrets", "secrets", "benign", "benign-secrets-forms", str(n), text, src, rng)
        yield dict(e, split="tune")


# --- PII ---------------------------------------------------------------------------

_FIRST = ("alice", "bob", "carol", "dmitri", "eva", "farah", "giulia", "hiro", "ines", "jamal", "kim", "lars",
          "maria", "nguyen", "olga", "priya", "quentin", "rosa", "sven", "tomasz", "ursula", "wei", "yusuf", "zoe")
_LAST = ("smith", "garcia", "muller", "rossi", "tanaka", "kowalski", "dubois", "silva", "novak", "haddad", "okafor", "lindqvist")
_DOMAINS = ("gmail.com", "outlook.com", "yahoo.co.uk", "acme-corp.com", "mail.ru", "web.de", "orange.fr", "qq.com",
            "protonmail.ch", "uni-heidelberg.de", "company.co.jp", "hotmail.fr", "icloud.com", "sub.dept.bigbank.com.au")


def _email(rng: random.Random) -> str:
    f, l = rng.choice(_FIRST), rng.choice(_LAST)
    local = rng.choice((f"{f}.{l}", f"{f}{rng.randint(1, 99)}", f"{f[0]}{l}", f"{f}+newsletter", f"{f}_{l}",
                        f"{l}.{f}-{rng.randint(1, 9)}", f"{f.upper()}.{l.capitalize()}"))
    return f"{local}@{rng.choice(_DOMAINS)}"


_RFC_EMAILS = (  # shapes of RFC 5321/5322 and RFC 3696 addresses
    "\"john..doe\"@mailhost.org", "user%relay@mailhost.org", "o'reilly@publishing.co", "first.last+tag@sub.example-mail.net",
    "x@y.io", "customer/department=shipping@delivery.org", "!def!xyz%abc@frontier.net", "_somename@mailhost.org",
    "Abc\\@def@mailhost.org", "user@[192.0.2.1]",
)

_PII_TEMPLATES_REQ = (
    "Please forward this to {p}",
    "Customer called from {p} about the refund",
    "{p}",
    "contact: {p}",
    "Name: {n}\nContact: {p}\nPlan: enterprise",
    "lookup owner of {p}",
    "Translate: 'Mon numéro est le {p}, rappelez-moi.'",
    "Notes from the call with {n} ({p}): wants a discount.",
    "{n}, {p}, {c}",
    "Summary for the board; escalations go to {p}.",
)
_PII_TEMPLATES_RES = (
    "id,name,contact\n17,{n},{p}\n",
    "{{\"customer\": {{\"name\": \"{n}\", \"contact\": \"{p}\"}}}}",
    "Found 1 match: {n} <{p}>",
    "| name | contact |\n|---|---|\n| {n} | {p} |",
    "Signature:\n{n}\nHead of Sales\n{p}",
)


def _name(rng: random.Random) -> str:
    return f"{rng.choice(_FIRST).capitalize()} {rng.choice(_LAST).capitalize()}"


def piiEmails(rng: random.Random) -> Iterator[dict[str, str]]:
    src = "generated (build_exfil.py)"
    for n in range(160):
        addr = _email(rng) if n % 16 else rng.choice(_RFC_EMAILS)
        if n % 4 == 3:
            text = rng.choice(_PII_TEMPLATES_RES).format(n=_name(rng), p=addr)
            yield entry("data_exfiltration", "pii", "attack", "pii-email-result", str(n), text, src, rng, direction="response")
        else:
            text = rng.choice(_PII_TEMPLATES_REQ).format(n=_name(rng), p=addr, c=rng.choice(("Berlin", "Lyon", "Osaka")))
            yield entry("data_exfiltration", "pii", "attack", "pii-email", str(n), text, src, rng, direction="request")
    for n in range(30):  # held out: results of http_request
        text = rng.choice(_PII_TEMPLATES_RES).format(n=_name(rng), p=_email(rng))
        yield entry("data_exfiltration", "pii", "attack", "pii-http-result", str(n), text, src, rng,
                    direction="response", tool=("http_request", ""))


def exampleNumbers(tree: Any, kinds: tuple[str, ...]) -> Iterator[tuple[str, str, Any]]:
    """
    (region, kind, parsed number) for the valid C{exampleNumber} of each
    territory's plans named in C{kinds}, from libphonenumber's metadata.
    """
    import phonenumbers

    for territory in tree.iter("territory"):
        region = territory.get("id")
        if not region or region == "001":
            continue
        for kind in kinds:
            node = territory.find(f"{kind}/exampleNumber")
            if node is None or not node.text:
                continue
            try:
                number = phonenumbers.parse(node.text, region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                yield region, kind, number


def piiPhones(root: str, rng: random.Random) -> Iterator[dict[str, str]]:
    import phonenumbers
    from phonenumbers import PhoneNumberFormat as F
    xml = _git(root, "resources/PhoneNumberMetadata.xml")
    tree = ET.fromstring(xml)
    src = "google/libphonenumber resources/PhoneNumberMetadata.xml exampleNumber (Apache-2.0)"
    for region, kind, number in exampleNumbers(tree, ("fixedLine", "mobile")):
        nsn = phonenumbers.national_significant_number(number)
        e164 = phonenumbers.format_number(number, F.E164)
        intl = phonenumbers.format_number(number, F.INTERNATIONAL)
        national = phonenumbers.format_number(number, F.NATIONAL)
        forms = {
            "e164": e164,
            "intl": intl,
            "national": national,
            "00": "00" + e164[1:],
            "dots": intl.replace(" ", ".").replace("-", "."),
            "dashes": intl.replace(" ", "-"),
            "paren": f"+{number.country_code} ({nsn[:3]}) {nsn[3:]}",
        }
        for form in rng.sample(sorted(forms), 3):
            phone = forms[form]
            key = f"{region}"
            if rng.random() < 0.3:
                text = rng.choice(_PII_TEMPLATES_RES).format(n=_name(rng), p=phone)
                direction = "response"
            else:
                text = rng.choice(_PII_TEMPLATES_REQ).format(n=_name(rng), p=phone, c=region)
                direction = "request"
            e = entry("data_exfiltration", "pii", "attack", "phone", key, text, src + f" {region} {kind} {form}", rng, direction=direction)
            if form == "national":
                e["national_region"] = region
            yield e
        if _held(f"rfc:{region}:{kind}"):
            yield entry("data_exfiltration", "pii", "attack", "phone-rfc3966", f"{region}:{kind}",
                        "call " + phonenumbers.format_number(number, F.RFC3966), src + f" {region} {kind} rfc3966", rng)


def piiBenign(rng: random.Random) -> Iterator[dict[str, str]]:
    src = "generated (build_exfil.py)"
    fam = "benign-pii"
    gens = (
        # recipient and addressing fields: the purpose of the tool
        lambda: ({"to": "send_email"}, _email(rng)),
        lambda: ({"cc": "send_email"}, f"{_email(rng)}, {_email(rng)}"),
        lambda: ({"recipient": "send_sms"}, "+44 7700 900" + str(rng.randint(100, 999))),
        lambda: ({"phone_number": "lookup_contact"}, f"+1 415-{rng.randint(200, 999)}-{rng.randint(1000, 9999)}"),
        lambda: ({"email": "get_user"}, _email(rng)),
        lambda: ({"attendees": "create_event"}, f"{_email(rng)};{_email(rng)}"),
        # example domains, service addresses
        lambda: (None, f"Send questions to support@example.com or admin@example.org."),
        lambda: (None, f"Author: dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>"),
        lambda: (None, "git remote add origin git@github.com:acme/api.git"),
        lambda: (None, f"npm install @types/node@{rng.randint(16, 22)}.{rng.randint(0, 9)}.{rng.randint(0, 9)} lodash@4.17.21"),
        lambda: (None, "uses: actions/checkout@v4"),
        lambda: (None, "@media screen and (max-width: 600px) { .nav { display: none } }"),
        lambda: (None, "Reply from noreply@acme.io: your build passed."),
        lambda: (None, "ssh deploy@10.0.4.17 'systemctl restart api'"),
        lambda: (None, "user@localhost cannot log in after the upgrade"),
        # numbers that are not phone numbers
        lambda: (None, f"Deployed at {rng.randint(2020, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00Z"),
        lambda: (None, f"Order #{rng.randint(10**8, 10**10)} shipped, tracking 1Z{_rand(rng, 16, string.ascii_uppercase + string.digits)}"),
        lambda: (None, f"Total: ${rng.randint(1, 999)},{rng.randint(100, 999)},{rng.randint(100, 999)}.{rng.randint(10, 99)}"),
        lambda: (None, f"ISBN 978-{rng.randint(0, 9)}-{rng.randint(100, 999)}-{rng.randint(10000, 99999)}-{rng.randint(0, 9)}"),
        lambda: (None, f"version {rng.randint(1, 9)}.{rng.randint(0, 40)}.{rng.randint(0, 200)} (build {rng.randint(2020, 2026)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}.{rng.randint(1, 9)})"),
        lambda: (None, f"{rng.randint(1, 255)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)} - - [10/Oct/2024:13:55:36 +0000] \"GET / HTTP/1.1\" 200 {rng.randint(100, 99999)}"),
        lambda: (None, f"Coordinates: {rng.uniform(-80, 80):.4f}, {rng.uniform(-170, 170):.4f}"),
        lambda: (None, f"timestamp {rng.randint(1_600_000_000, 1_800_000_000)} took {rng.randint(100, 999)} ms"),
        lambda: (None, f"Meeting 10:30-11:45, room {rng.randint(100, 999)}, budget 2024-2025"),
        lambda: (None, f"Test card 4242 4242 4242 4242, exp 12/34, CVC 123"),
        lambda: (None, f"Invoice INV-{rng.randint(2020, 2026)}-{rng.randint(10000, 99999)} due in 30 days"),
        lambda: (None, f"SKU {rng.randint(100, 999)}-{rng.randint(100, 999)}-{rng.randint(1000, 9999)} is out of stock"),
        lambda: (None, f"Range {rng.randint(1000, 4999)}-{rng.randint(5000, 9999)}, step 250"),
        lambda: (None, f"pi is about 3.14159265, e is 2.71828"),
        lambda: (None, f"PR #{rng.randint(1000, 99999)} merged; CI run {rng.randint(10**9, 10**10)} green"),
        lambda: (None, f"uuid {uuid.UUID(int=rng.getrandbits(128))} -> {rng.randint(1000000, 9999999)}"),
        lambda: (None, f"Size: {rng.randint(100, 999)} {rng.randint(100, 999)} {rng.randint(100, 999)} bytes"),
        lambda: (None, f"Account {rng.randint(10**7, 10**8)} balance {rng.randint(100, 9999)}.{rng.randint(10, 99)} EUR"),
        lambda: (None, f"Port mapping 0.0.0.0:{rng.randint(1024, 65535)}->{rng.randint(1024, 65535)}/tcp"),
        lambda: (None, f"The emergency number in Europe is 112; in the US, 911."),
        lambda: (None, f"Call the helpdesk on extension {rng.randint(1000, 9999)}."),
        lambda: (None, f"Lat/long 48.8566 2.3522, elevation 35 m, population 2 102 650"),
    )
    for n in range(420):
        g = gens[n % len(gens)]
        where, text = g()
        if where:
            arg, tool = next(iter(where.items()))
            yield entry("pii", "pii", "benign", fam, str(n), text, src, rng, direction="request", tool=(tool, arg))
        else:
            yield entry("pii", "pii", "benign", fam, str(n), text, src, rng)
    for n in range(20):  # a CRM tool's own contacts, allowed by a per-tool exclusion
        text = rng.choice(_PII_TEMPLATES_RES).format(n=_name(rng), p=_email(rng))
        e = entry("pii", "pii", "benign", "benign-crm", str(n), text, src, rng, direction="response", tool=("crm_get_contact", ""))
        e["needs_exclusion"] = "crm"
        yield e


# --- bulk --------------------------------------------------------------------------

def bulk(rng: random.Random) -> Iterator[dict[str, str]]:
    """
    Many records in one request.  Large blobs (and the megabyte of one
    letter that is not one) are in the unit tests, not here: the JSONL stays
    small.
    """
    src = "generated (build_exfil.py)"
    for n in range(30):
        text = "\n".join(f"{_name(rng)},{_email(rng)}" for _ in range(rng.randint(30, 60)))
        yield entry("data_exfiltration", "bulk", "attack", "bulk", str(n), text, src, rng, direction="request",
                    tool=rng.choice((("http_request", "body"), ("create_gist", "content"), ("send_email", "body"))))


# --- main --------------------------------------------------------------------------

def _git(root: str, path: str) -> str:
    return subprocess.run(["git", "--git-dir", root, "show", f"HEAD:{path}"], check=True, capture_output=True, text=True).stdout


def writeJsonl(path: str, rows: Iterable[dict[str, str]]) -> None:
    """
    C{rows} to C{path}, one JSON object a line (UTF-8, not escaped), as
    every corpus file is written.
    """
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def write(name: str, entries: list[dict[str, str]]) -> None:
    writeJsonl(os.path.join(HERE, name), entries)
    print(f"{name}: {len(entries)} ({sum(e['split'] == 'holdout' for e in entries)} held out)")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mirrors", default="/work/.mirror")
    parser.add_argument("--forms", action="store_true", help="write only secrets_forms.*.jsonl (no mirrors needed)")
    args = parser.parse_args(argv)
    forms = random.Random(f"{SEED}:forms")
    write("secrets_forms.attacks.jsonl", list(secretsForms(forms)))
    write("secrets_forms.benign.jsonl", list(secretsFormsBenign(forms)))
    if args.forms:
        return
    gitleaks = os.path.join(args.mirrors, "gitleaks+gitleaks", "repo")
    detect = os.path.join(args.mirrors, "Yelp+detect-secrets", "repo")
    phones = os.path.join(args.mirrors, "google+libphonenumber", "repo")
    rng = random.Random(SEED)
    secrets = list(secretsFromGitleaks(gitleaks, rng)) + list(secretsGenerated(rng))
    ds = list(secretsFromDetectSecrets(detect))
    write("secrets.attacks.jsonl", secrets + [e for e in ds if e["label"] == "attack"])
    write("secrets.benign.jsonl", list(secretsBenign(rng)) + [e for e in ds if e["label"] == "benign"])
    write("pii.attacks.jsonl", list(piiEmails(rng)) + list(piiPhones(phones, rng)))
    write("pii.benign.jsonl", list(piiBenign(rng)))
    write("bulk.attacks.jsonl", list(bulk(rng)))


if __name__ == "__main__":
    main(sys.argv[1:])
