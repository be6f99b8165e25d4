"""
Session 11's secrets lines, tune only (issue 16):
C{secrets_s11.attacks.jsonl} and C{secrets_s11.benign.jsonl} beside this
file.

    python tests/corpus/classic/build_secrets_s11.py

Every line is C{tune}: they were written knowing the rules, to find the
classes the earlier generators did not produce.  Nothing is fetched: the
vendor shapes below are facts of each vendor's token format, as the public
rule set mazen160/secrets-patterns-db (CC BY-SA 4.0, commit 24984df1,
C{db/rules-stable.yml}, its high-confidence patterns with a literal prefix)
lists them; only the shapes were read, every value is drawn here from a
seeded random stream.  No held-out or fresh source (noseyparker,
detect-secrets) was read.

Attacks: vendor keys by shape, bare and named, in every container (env,
JSON, YAML, TOML, INI, properties, XML, markdown and CSV tables, psql
output, shell exports, docker-compose, Kubernetes Secret data in base64,
Terraform tfvars, .npmrc, .pypirc, .netrc, .git-credentials, docker
config.json); generic names with random values in those containers;
connection strings (JDBC and ADO.NET C{Password=}, Azure C{AccountKey=} and
C{SharedAccessKey=}, DSNs); secrets handed to CLIs that store them
(C{gh secret set}, C{vercel env add}, C{aws secretsmanager}); JWTs of other
shapes.

Benign: what fools an entropy check: lock-file hashes and C{integrity}
digests, git SHAs in tables, UUIDs, base64 images and fonts, hex colours,
i18n keys, minified identifiers, public keys and certificates, image
digests, documented example keys, env files whose values are placeholders
or references, and the same containers with no secret in them.
"""

from __future__ import annotations

import base64
import json
import os
import random
import string
import sys
from typing import Callable, Iterator

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from build_exfil import _ident, entry, split, write  # noqa: E402

SEED = 20261207
SOURCE = "generated (build_secrets_s11.py)"

_AN = string.ascii_letters + string.digits
_LOW = string.ascii_lowercase + string.digits
_UP = string.ascii_uppercase + string.digits
_HEX = "0123456789abcdef"
_URL = _AN + "_-"


def _r(rng: random.Random, n: int, alphabet: str = _AN) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


# (vendor, a draw of its key) -- shapes with a prefix of their own
VENDORS: tuple[tuple[str, Callable[[random.Random], str]], ...] = (
    ("aws_appsync", lambda r: "da2-" + _r(r, 26, _LOW)),
    ("alibaba", lambda r: "LTAI" + _r(r, r.choice((17, 18, 21)))),
    ("apify", lambda r: "apify_api_" + _r(r, 36)),
    ("flutterwave", lambda r: "FLWSECK-" + _r(r, 32, _HEX) + "-X"),
    ("flutterwave", lambda r: "FLWSECK_TEST-" + _r(r, 32, _HEX) + "-X"),
    ("fleetbase", lambda r: "flb_live_" + _r(r, 20)),
    ("notion", lambda r: "secret_" + _r(r, 43)),
    ("notion", lambda r: "ntn_" + _r(r, 11, string.digits) + _r(r, 35)),
    ("postman", lambda r: "PMAK-" + _r(r, 24, _HEX) + "-" + _r(r, 34, _HEX)),
    ("sendinblue", lambda r: "xkeysib-" + _r(r, 64, _HEX) + "-" + _r(r, 16)),
    ("ubidots", lambda r: "BBFF-" + _r(r, 30)),
    ("newrelic", lambda r: "NRII-" + _r(r, 32, _URL)),
    ("newrelic", lambda r: "NRRA-" + _r(r, 42, _HEX)),
    ("newrelic", lambda r: "NRAK-" + _r(r, 27, _UP)),
    ("slack", lambda r: "xoxb-" + str(r.randint(10**10, 10**12)) + "-" + str(r.randint(10**10, 10**12)) + "-" + _r(r, 24)),
    ("slack", lambda r: "xoxp-" + str(r.randint(10**10, 10**12)) + "-" + str(r.randint(10**10, 10**12)) + "-"
     + str(r.randint(10**10, 10**12)) + "-" + _r(r, 32, _HEX)),
    ("twilio", lambda r: "SK" + _r(r, 32, _HEX)),
    ("dynatrace", lambda r: "dt0c01." + _r(r, 24, _UP) + "." + _r(r, 64, _UP)),
    ("terraform", lambda r: _r(r, 14) + ".atlasv1." + _r(r, 67)),
    ("rubygems", lambda r: "rubygems_" + _r(r, 48, _HEX)),
    ("cloudflare_origin_ca", lambda r: "v1.0-" + _r(r, 24, _HEX) + "-" + _r(r, 146, _HEX)),
    ("gocardless", lambda r: "live_" + _r(r, 40, _URL)),
    ("paystack", lambda r: "sk_live_" + _r(r, 40, _LOW)),
    ("mailgun", lambda r: "key-" + _r(r, 32, _HEX)),
    ("sumologic", lambda r: "su" + _r(r, 12) + "." + _r(r, 20)),
    ("dfuse", lambda r: "web_" + _r(r, 32, _HEX)),
    ("telnyx", lambda r: "KEY" + _r(r, 55, _URL)),
    ("stripe", lambda r: "sk_live_" + _r(r, 99)),
    ("shopify", lambda r: "shpss_" + _r(r, 32, _HEX)),
    ("github", lambda r: "gho_" + _r(r, 36)),
    ("gitlab", lambda r: "glpat-" + _r(r, 20, _URL)),
    ("huggingface", lambda r: "hf_" + _r(r, 34, string.ascii_letters)),
    ("openai", lambda r: "sk-proj-" + _r(r, 48, _URL) + "T3BlbkFJ" + _r(r, 48, _URL)),
    ("anthropic", lambda r: "sk-ant-api03-" + _r(r, 93, _URL) + "AA"),
    ("google", lambda r: "AIza" + _r(r, 35, _URL)),
    ("sendgrid", lambda r: "SG." + _r(r, 22, _URL) + "." + _r(r, 43, _URL)),
    ("npm", lambda r: "npm_" + _r(r, 36)),
    ("doppler", lambda r: "dp.st." + _r(r, 43)),
    ("linear", lambda r: "lin_api_" + _r(r, 40)),
)

_NAME_SUFFIX = ("API_KEY", "TOKEN", "SECRET", "SECRET_KEY", "ACCESS_TOKEN", "KEY", "AUTH_TOKEN")
_PLAIN = (("NODE_ENV", "production"), ("PORT", "8080"), ("LOG_LEVEL", "info"), ("REGION", "eu-west-1"),
          ("DEBUG", "false"), ("APP_NAME", "billing"), ("WORKERS", "4"))


def _kv(rng: random.Random, pairs: list[tuple[str, str]]) -> str:
    """
    C{pairs} written in one container, chosen at random.
    """
    style = rng.randrange(17)
    if style == 0:  # env file
        return "\n".join(f"{k}={v}" for k, v in pairs)
    if style == 1:  # shell exports
        return "\n".join(f"export {k}=\"{v}\"" for k, v in pairs)
    if style == 2:  # JSON
        return json.dumps({k.lower(): v for k, v in pairs}, indent=2)
    if style == 3:  # YAML
        return "config:\n" + "\n".join(f"  {k.lower()}: {v}" for k, v in pairs)
    if style == 4:  # TOML
        return "[service]\n" + "\n".join(f"{k.lower()} = \"{v}\"" for k, v in pairs)
    if style == 5:  # INI
        return "[default]\n" + "\n".join(f"{k.lower()} = {v}" for k, v in pairs)
    if style == 6:  # properties
        return "\n".join(f"app.{k.lower().replace('_', '.')}={v}" for k, v in pairs)
    if style == 7:  # XML
        return "<settings>\n" + "\n".join(f"  <{_ident(k, 2)}>{v}</{_ident(k, 2)}>" for k, v in pairs) + "\n</settings>"
    if style == 8:  # markdown table
        return "| name | value |\n| --- | --- |\n" + "\n".join(f"| {k} | {v} |" for k, v in pairs)
    if style == 9:  # CSV
        return "name,value\n" + "\n".join(f"{k},{v}" for k, v in pairs)
    if style == 10:  # psql output
        w = max(len(k) for k, _ in pairs)
        rows = "\n".join(f" {k.ljust(w)} | {v}" for k, v in pairs)
        return f" {'key'.ljust(w)} | value\n{'-' * (w + 2)}+{'-' * 40}\n{rows}\n({len(pairs)} rows)"
    if style == 11:  # docker-compose
        return "services:\n  api:\n    image: acme/api:1.4\n    environment:\n" + "\n".join(f"      - {k}={v}" for k, v in pairs)
    if style == 12:  # Kubernetes Secret, data in base64
        data = "\n".join(f"  {k.lower()}: {base64.b64encode(v.encode()).decode()}" for k, v in pairs)
        return f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: api\ntype: Opaque\ndata:\n{data}"
    if style == 13:  # Terraform tfvars
        return "\n".join(f"{k.lower()} = \"{v}\"" for k, v in pairs)
    if style == 14:  # docker run
        return "docker run " + " ".join(f"-e {k}={v}" for k, v in pairs) + " acme/api:1.4"
    if style == 15:  # Python settings
        return "\n".join(f"{k} = os.environ.get(\"{k}\", \"{v}\")" if i % 2 else f"{k} = \"{v}\"" for i, (k, v) in enumerate(pairs))
    return "\n".join(f"{k}: {v}" for k, v in pairs)  # a config dump as a tool prints it


def _pairs(rng: random.Random, secret: tuple[str, str]) -> list[tuple[str, str]]:
    pairs = rng.sample(_PLAIN, rng.randint(1, 3))
    pairs.insert(rng.randint(0, len(pairs)), secret)
    return pairs


def _randomValue(rng: random.Random) -> str:
    kind = rng.randrange(5)
    if kind == 0:
        return _r(rng, rng.randint(20, 40))
    if kind == 1:
        return base64.b64encode(rng.randbytes(rng.choice((24, 32)))).decode()
    if kind == 2:
        return base64.urlsafe_b64encode(rng.randbytes(30)).decode().rstrip("=")
    if kind == 3:
        return _r(rng, rng.randint(14, 22), _AN + "!#%^*_-")
    return _r(rng, 40, _HEX)


def _credentialFile(rng: random.Random, key: str) -> str:
    user = rng.choice(("deploy", "ci-bot", "alice", "svc_build"))
    host = rng.choice(("git.acme-corp.com", "registry.acme.io", "pypi.acme.io", "nexus.corp.net"))
    return rng.choice((
        f"//{host}/:_authToken={key}\nregistry=https://{host}/",
        f"[distutils]\nindex-servers = acme\n\n[acme]\nrepository = https://{host}/simple\nusername = __token__\npassword = {key}",
        f"machine {host}\n  login {user}\n  password {key}",
        f"https://{user}:{key}@{host}",
        json.dumps({"auths": {host: {"auth": base64.b64encode(f"{user}:{key}".encode()).decode()}}}, indent=2),
        f"[default]\naws_access_key_id = AKIA{_r(rng, 16, _UP)}\naws_secret_access_key = {key}",
    ))


def _tune(category: str, sub: str, label: str, rng: random.Random) -> Callable[[str, str], dict[str, str]]:
    """
    A writer of numbered entries of one kind, every one C{tune}.
    """
    count = [0]

    def out(family: str, text: str) -> dict[str, str]:
        count[0] += 1
        e = entry(category, sub, label, family, str(count[0]), text, SOURCE, rng)
        e["split"] = "tune"
        return e

    return out


def attacks(rng: random.Random) -> Iterator[dict[str, str]]:
    out = _tune("data_exfiltration", "secrets", "attack", rng)

    for vendor, draw in VENDORS:
        for _ in range(3):
            key = draw(rng)
            name = f"{vendor.upper()}_{rng.choice(_NAME_SUFFIX)}"
            yield out("s11-vendor-named", _kv(rng, _pairs(rng, (name, key))))
            yield out("s11-vendor-bare", rng.choice((
                f"here is the key: {key}", key, f"use {key} for the deploy", f"`{key}`",
                _kv(rng, _pairs(rng, (rng.choice(("VALUE", "X", "CONFIG", "SETTING", "CREDENTIAL")), key))),
            )))
        yield out("s11-credential-file", _credentialFile(rng, draw(rng)))
    names = ("API_KEY", "SECRET", "TOKEN", "AUTH_TOKEN", "CLIENT_SECRET", "DB_PASSWORD", "JWT_SECRET",
             "ENCRYPTION_KEY", "WEBHOOK_SECRET", "PRIVATE_TOKEN", "SMTP_PASS", "APP_SECRET", "SIGNING_KEY",
             "SERVICE_ACCOUNT_TOKEN", "MASTER_KEY", "SESSION_SECRET", "HMAC_SECRET", "PASSWORD")
    for _ in range(120):
        yield out("s11-generic", _kv(rng, _pairs(rng, (rng.choice(names), _randomValue(rng)))))
    for _ in range(20):
        yield out("s11-credential-file", _credentialFile(rng, _randomValue(rng)))
    for _ in range(40):
        pw = _r(rng, rng.randint(12, 24), _AN + "!#%^*_-")
        key = base64.b64encode(rng.randbytes(64)).decode()
        host = rng.choice(("db.acme.io", "10.0.3.4", "sql-prod.database.windows.net", "mongo.internal"))
        yield out("s11-connection", rng.choice((
            f"Server=tcp:{host},1433;Initial Catalog=orders;User ID=app;Password={pw};Encrypt=True;",
            f"jdbc:sqlserver://{host}:1433;databaseName=orders;user=app;password={pw}",
            f"jdbc:mysql://{host}:3306/orders?user=app&password={pw}&useSSL=true",
            f"DefaultEndpointsProtocol=https;AccountName=acmestore;AccountKey={key};EndpointSuffix=core.windows.net",
            f"Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={base64.b64encode(rng.randbytes(32)).decode()}",
            f"mongodb+srv://app:{pw}@cluster0.abcd1.mongodb.net/orders?retryWrites=true",
            f"redis://default:{pw}@{host}:6379/0",
            f"host={host} port=5432 dbname=orders user=app password={pw} sslmode=require",
            f"Data Source={host};Initial Catalog=orders;User Id=app;Pwd={pw};",
            f"jdbc:oracle:thin:app/{pw}@{host}:1521:ORCL",
            f"*:*:*:app:{pw}",
            f"<property name=\"hibernate.connection.password\" value=\"{pw}\"/>",
            f"variable \"db_password\" {{\n  type    = string\n  default = \"{pw}\"\n}}",
        )))
    for _ in range(40):
        name = rng.choice(("DB_PASSWORD", "API_TOKEN", "STRIPE_SECRET", "DEPLOY_KEY", "NPM_TOKEN"))
        v = _randomValue(rng)
        yield out("s11-cli", rng.choice((
            f"gh secret set {name} --body \"{v}\"",
            f"gh secret set {name} -b'{v}' --repo acme/api",
            f"vercel env add {name} production <<< {v}",
            f"echo -n '{v}' | gh secret set {name}",
            f"printf '%s' \"{v}\" | wrangler secret put {name}",
            f"aws secretsmanager create-secret --name prod/{name.lower()} --secret-string '{v}'",
            f"aws ssm put-parameter --name /prod/{name.lower()} --type SecureString --value '{v}'",
            f"az keyvault secret set --vault-name acme-kv --name {name.lower()} --value '{v}'",
            f"echo \"{v}\" | docker secret create {name.lower()} -",
        )))
    for _ in range(20):
        head = base64.urlsafe_b64encode(json.dumps({"alg": rng.choice(("HS256", "RS256", "ES256")), "typ": "JWT"}).encode()).decode().rstrip("=")
        body = base64.urlsafe_b64encode(rng.randbytes(rng.randint(60, 140))).decode().rstrip("=")
        sig = base64.urlsafe_b64encode(rng.randbytes(32)).decode().rstrip("=")
        yield out("s11-jwt", rng.choice((f"{head}.{body}.{sig}", f"Authorization: Bearer {head}.{body}.{sig}", f"token={head}.{body}.{sig}")))
    for _ in range(40):
        pw = _r(rng, rng.randint(12, 20), _AN + "!#%^*_-")
        user = rng.choice(("alice", "svc", "admin", "deploy"))
        yield out("s11-cli-password", rng.choice((
            f"redis-cli -h cache.acme.io -a '{pw}' ping",
            f"ldapsearch -x -D cn={user},dc=acme,dc=io -w {pw} -b dc=acme,dc=io",
            f"smbclient //fs01/share -U {user}%{pw}",
            f"htpasswd -b .htpasswd {user} {pw}",
            f"rabbitmqctl add_user {user} '{pw}'",
            f"net use Z: \\\\fs01\\share /user:ACME\\{user} {pw}",
            f"var cred = new NetworkCredential(\"{user}\", \"{pw}\");",
            f"requests.get(url, auth=HTTPBasicAuth(\"{user}\", \"{pw}\"))",
            f"echo '{pw}' | docker login registry.acme.io -u {user} --password-stdin",
            f"PGPASSWORD={pw} psql -h db.acme.io -U {user} orders",
            f"MYSQLPASSWORD='{pw}' ./migrate.sh",
        )))


def _uuid(rng: random.Random) -> str:
    h = _r(rng, 32, _HEX)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


_SVG = base64.b64encode(b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><path d="M8 0L16 8L8 16L0 8Z"/></svg>').decode()


def benign(rng: random.Random) -> Iterator[dict[str, str]]:
    out = _tune("secrets", "secrets", "benign", rng)

    for _ in range(25):
        pkg = rng.choice(("lodash", "react", "express", "left-pad", "@babel/core", "typescript", "zod"))
        ver = f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 20)}"
        sha512 = base64.b64encode(rng.randbytes(64)).decode()
        yield out("s11-benign-lock", rng.choice((
            f'"node_modules/{pkg}": {{\n  "version": "{ver}",\n  "resolved": "https://registry.npmjs.org/{pkg}/-/{pkg.split("/")[-1]}-{ver}.tgz",\n  "integrity": "sha512-{sha512}"\n}}',
            f"{pkg}@^{ver}:\n  version \"{ver}\"\n  resolved \"https://registry.yarnpkg.com/{pkg}/-/{pkg.split('/')[-1]}-{ver}.tgz#{_r(rng, 40, _HEX)}\"\n  integrity sha512-{sha512}",
            f"[[package]]\nname = \"{pkg}\"\nversion = \"{ver}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{_r(rng, 64, _HEX)}\"",
            f"{pkg}=={ver} \\\n    --hash=sha256:{_r(rng, 64, _HEX)} \\\n    --hash=sha256:{_r(rng, 64, _HEX)}",
            f"github.com/acme/{pkg} v{ver} h1:{base64.b64encode(rng.randbytes(32)).decode()}",
            f"\"content-hash\": \"{_r(rng, 32, _HEX)}\"",
        )))
    for _ in range(20):
        rows = "\n".join(f"| {_r(rng, 40, _HEX)[:rng.choice((7, 40))]} | {rng.choice(('fix', 'feat', 'chore'))}: {rng.choice(('bump deps', 'tidy logs', 'add retry'))} | alice |" for _ in range(3))
        yield out("s11-benign-table", rng.choice((
            "| commit | subject | author |\n| --- | --- | --- |\n" + rows,
            "id,request_id,created\n" + "\n".join(f"{i},{_uuid(rng)},2026-12-0{i}" for i in range(1, 4)),
            " id | trace_id                         | status\n----+----------------------------------+-------\n"
            + "\n".join(f" {i}  | {_r(rng, 32, _HEX)} | ok" for i in range(1, 4)),
            "| key | value |\n| --- | --- |\n| session_id | " + _uuid(rng) + " |\n| commit | " + _r(rng, 40, _HEX) + " |",
        )))
    for _ in range(20):
        blob = base64.b64encode(b"\x89PNG\r\n\x1a\n" + rng.randbytes(rng.randint(120, 300))).decode()
        font = base64.b64encode(b"wOF2" + rng.randbytes(200)).decode()
        yield out("s11-benign-asset", rng.choice((
            f"<img src=\"data:image/png;base64,{blob}\" alt=\"logo\">",
            f"@font-face {{ font-family: Inter; src: url(data:font/woff2;base64,{font}) format('woff2'); }}",
            f".btn {{ color: #{_r(rng, 6, _HEX)}; background: #{_r(rng, 6, _HEX)}; border-color: #{_r(rng, 8, _HEX)}; }}",
            "background-image: url('data:image/svg+xml;base64," + _SVG + "')",
        )))
    for _ in range(20):
        yield out("s11-benign-code", rng.choice((
            f"t(\"settings.security.api_key_label\")  // i18n key",
            "{\"auth.password.reset_link_sent\": \"We sent you a link\", \"auth.token.expired\": \"Session expired\"}",
            f"var a=function(e,t){{return e.{_r(rng, 2, string.ascii_lowercase)}(t)}},o=n(\"{_r(rng, 4, _LOW)}\"),i=r.{_r(rng, 3, string.ascii_lowercase)};",
            f"import {{ useAuthToken, refreshTokenIfExpired }} from './auth/session-tokens';",
            f"const passwordResetTokenTtlSeconds = 3600;",
            f"key: ['{_r(rng, 8, _LOW)}', page, pageSize],  // react-query cache key",
            f"# sha256 of release tarball\nSHA256={_r(rng, 64, _HEX)}",
            f"COMMIT_SHA={_r(rng, 40, _HEX)}\nBUILD_ID={_uuid(rng)}",
        )))
    for _ in range(20):
        pub = base64.b64encode(b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00 " + rng.randbytes(32)).decode()
        cert = "\n".join(base64.b64encode(rng.randbytes(48)).decode() for _ in range(4))
        yield out("s11-benign-public", rng.choice((
            f"ssh-ed25519 {pub} alice@laptop",
            f"-----BEGIN CERTIFICATE-----\n{cert}\n-----END CERTIFICATE-----",
            f"-----BEGIN PUBLIC KEY-----\n{cert}\n-----END PUBLIC KEY-----",
            f"image: ghcr.io/acme/api@sha256:{_r(rng, 64, _HEX)}",
            f"FROM python:3.12-slim@sha256:{_r(rng, 64, _HEX)}",
            f"STRIPE_PUBLISHABLE_KEY=pk_live_{_r(rng, 24)}",
            f"NEXT_PUBLIC_POSTHOG_KEY=phc_{_r(rng, 43)}",
            f"gpg --recv-keys {_r(rng, 40, _HEX).upper()}",
        )))
    refs = ("${{ secrets.%s }}", "${%s}", "$%s", "{{ .Values.%s }}", "<your-%s>", "changeme", "xxxxxxxxxxxxxxxx",
            "sk_live_xxxxxxxxxxxxxxxxxxxx", "...", "REPLACE_ME", "vault:secret/data/prod#%s", "%s_HERE",
            "op://Private/%s/credential", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:%s", "!ENV ${%s}",
            "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "<%s>", "TODO", "\"\"",
            "ENC[AES256_GCM,data:%s,type:str]", "(sensitive value)", "***")
    names = ("API_KEY", "SECRET", "TOKEN", "DB_PASSWORD", "CLIENT_SECRET", "STRIPE_SECRET_KEY", "AWS_SECRET_ACCESS_KEY")
    for _ in range(60):
        pairs = []
        for name in rng.sample(names, 2):
            ref = rng.choice(refs)
            pairs.append((name, ref % name if "%s" in ref else ref))
        pairs += rng.sample(_PLAIN, 2)
        yield out("s11-benign-refs", _kv(rng, pairs))
    for _ in range(30):
        pairs = rng.sample(_PLAIN, 3) + [(rng.choice(("REQUEST_ID", "TRACE_ID", "COMMIT", "BUILD_SHA", "CHECKSUM", "ETAG")),
                                          rng.choice((_uuid(rng), _r(rng, 40, _HEX), _r(rng, 64, _HEX))))]
        yield out("s11-benign-container", _kv(rng, pairs))


_DOC_VARS = (
    ("API_KEY", "Your API key from the dashboard", "-"),
    ("SECRET_KEY", "Signs session cookies", "`change-me`"),
    ("DB_PASSWORD", "Database password", "`postgres`"),
    ("JWT_SECRET", "Secret used to sign tokens", "required"),
    ("ACCESS_TOKEN", "Personal access token with repo scope", "none"),
    ("TOKEN_TTL", "Lifetime of an access token in seconds", "3600"),
    ("PASSWORD_MIN_LENGTH", "Minimum password length", "12"),
    ("CLIENT_SECRET", "OAuth client secret (keep it out of git)", "—"),
    ("WEBHOOK_SECRET", "Shared secret for webhook signatures", "`${WEBHOOK_SECRET}`"),
    ("SMTP_PASS", "Mail relay password", "empty"),
    ("ENCRYPTION_KEY", "32-byte key, base64", "generated on first start"),
    ("apiKey", "Key for the geocoding service", "null"),
    ("authToken", "Token sent as Bearer", "undefined"),
)


def _docTable(rng: random.Random) -> str:
    rows = rng.sample(_DOC_VARS, rng.randint(2, 5))
    style = rng.randrange(4)
    if style == 0:
        return "| Variable | Description | Default |\n| --- | --- | --- |\n" + "\n".join(f"| `{n}` | {d} | {v} |" for n, d, v in rows)
    if style == 1:
        return "| Name | Required | Description |\n|---|---|---|\n" + "\n".join(f"| {n} | {rng.choice(('yes', 'no'))} | {d} |" for n, d, _ in rows)
    if style == 2:
        w = max(len(n) for n, _, _ in rows)
        line = "+" + "-" * (w + 2) + "+" + "-" * 46 + "+"
        return "\n".join([line, f"| {'setting'.ljust(w)} | {'description'.ljust(44)} |", line]
                         + [f"| {n.ljust(w)} | {d[:44].ljust(44)} |" for n, d, _ in rows] + [line])
    return " name | description\n------+------------\n" + "\n".join(f" {n} | {d}" for n, d, _ in rows)


def _dataTable(rng: random.Random) -> str:
    style = rng.randrange(4)
    if style == 0:
        return "| id | api_key_id | created |\n|---|---|---|\n" + "\n".join(
            f"| {i} | {_uuid(rng)} | 2026-11-{10 + i} |" for i in range(3))
    if style == 1:
        return " user | token_hash | expires\n------+------------+--------\n" + "\n".join(
            f" {rng.choice(('alice', 'bob', 'carol'))} | sha256:{_r(rng, 64, _HEX)} | 2026-12-31" for _ in range(3))
    if style == 2:
        return "| key | value |\n| --- | --- |\n| token_type | Bearer |\n| expires_in | 3600 |\n| scope | repo read:org |\n| access_token | `<redacted>` |"
    return "| secret | rotated | owner |\n|---|---|---|\n" + "\n".join(
        f"| prod/{rng.choice(('db', 'stripe', 'smtp'))}/password | 2026-1{i}-01 | platform |" for i in range(3))


def tables(rng: random.Random) -> Iterator[dict[str, str]]:
    out = _tune("secrets", "secrets", "benign", rng)
    for n in range(1, 61):
        yield out("s11-benign-doc-table", _docTable(rng) if n % 3 else _dataTable(rng))


# --- PII: phone and e-mail forms, tune regions only -------------------------

#: regions whose numbers are drawn (those whose region code falls in the
#: held-out 30% of build_exfil's phone split are skipped)
_REGIONS = ("US", "GB", "FR", "DE", "IN", "BR", "AU", "JP", "ES", "IT", "NL", "CA", "MX", "ZA", "SE", "PL", "CH", "BE",
            "AT", "IE", "NZ", "SG", "KR", "AR", "CL", "CO", "PT", "NO", "DK", "FI")
_PHONE_TEXTS = (
    "Call me at {p}", "my mobile: {p}", "{n} ({p}) asked for a refund", "Contact {n}, {p}", "reach {n} on {p}",
    "| name | phone |\n|---|---|\n| {n} | {p} |", "{n}\n{p}", "Telefon: {p}", "WhatsApp {p}",
)
_NAMES = ("Ana Lima", "Tom Berg", "Mei Chen", "Omar Haddad", "Lena Vogel", "Raj Patel", "Sara Costa", "Ivan Petrov")


def _numbers(rng: random.Random, region: str, count: int) -> list:
    import phonenumbers

    out = []
    for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
        base = phonenumbers.example_number_for_type(region, kind)
        if base is None:
            continue
        nsn = phonenumbers.national_significant_number(base)
        for _ in range(50):
            drawn = nsn[:-4] + "".join(rng.choice(string.digits) for _ in range(4))
            if drawn == nsn:
                continue
            n = phonenumbers.parse("+" + str(base.country_code) + drawn, None)
            if phonenumbers.is_valid_number(n):
                out.append(n)
                if len(out) >= count:
                    return out
    return out


def piiAttacks(rng: random.Random) -> Iterator[dict[str, str]]:
    import phonenumbers
    from phonenumbers import PhoneNumberFormat as F

    out = _tune("data_exfiltration", "pii", "attack", rng)

    for region in _REGIONS:
        if split("phone", region) != "tune":
            continue
        for number in _numbers(rng, region, 4):
            intl = phonenumbers.format_number(number, F.INTERNATIONAL)
            national = phonenumbers.format_number(number, F.NATIONAL)
            e164 = phonenumbers.format_number(number, F.E164)
            ext = str(rng.randint(10, 9999))
            form = rng.choice((
                e164, intl, national, f"{intl} x{ext}", f"{intl} ext. {ext}", f"{national} ext {ext}",
                f"tel:{e164};ext={ext}", f"tel:{intl.replace(' ', '-')}", f"<a href=\"tel:{e164}\">call</a>",
                national.replace(" ", ".").replace("-", "."), intl.replace(" ", "."),
            ))
            yield out("s11-phone", rng.choice(_PHONE_TEXTS).format(n=rng.choice(_NAMES), p=form))
    users = ("ana.lima", "tberg", "mei", "o.haddad", "lena_vogel", "raj")
    domains = ("acme-corp.io", "mail.partner.de", "globex.co.uk", "initech.com.br", "umbrella.fr")
    for _ in range(40):
        u, d = rng.choice(users), rng.choice(domains)
        host, tld = d.rsplit(".", 1)
        addr = rng.choice((
            f"{u}+{rng.choice(('billing', 'news', 'cal'))}@{d}", f"\"{u}\"@{d}", f"{u} [at] {host} [dot] {tld}",
            f"{u}(at){host}(dot){tld}", f"{u} {{at}} {d}", f"{u.upper()}@{d.upper()}", f"{u}@{d}",
        ))
        yield out("s11-email", rng.choice(("write to {a}", "{n} <{a}>", "Contact: {a}", "| {n} | {a} |", "cc {a} on it")).format(a=addr, n=rng.choice(_NAMES)))


def piiBenign(rng: random.Random) -> Iterator[dict[str, str]]:
    out = _tune("pii", "pii", "benign", rng)
    for _ in range(60):
        yield out("s11-benign-pii", rng.choice((
            f"upgrade to {rng.randint(1, 30)}.{rng.randint(0, 99)}.{rng.randint(100, 9999)}",
            f"build {rng.randint(2020, 2026)}.{rng.randint(1, 12):02d}.{rng.randint(1000, 9999)}",
            f"order #{rng.randint(10**7, 10**9)} shipped",
            f"ISBN 978-{rng.randint(0, 9)}-{rng.randint(100, 999)}-{rng.randint(10000, 99999)}-{rng.randint(0, 9)}",
            f"lat {rng.uniform(-80, 80):.6f}, lon {rng.uniform(-170, 170):.6f}",
            f"meet me (at) the {rng.choice(('office', 'cafe', 'station'))} (dot) {rng.choice(('com', 'net'))} party is a pun",
            "see [at] line 4 of the log; [dot] separated fields",
            f"{rng.randint(100, 999)}.{rng.randint(100, 999)}.{rng.randint(1000, 9999)} bytes transferred",
            f"trace {rng.randint(10**9, 10**10)}.{rng.randint(100, 999)}",
            f"ticket JIRA-{rng.randint(100, 9999)} at {rng.randint(10, 23)}:{rng.randint(10, 59)}",
            f"\"{rng.choice(('name', 'id', 'key'))}\"@{rng.choice(('Override', 'JsonProperty'))}",
            f"git@github.com:acme/{rng.choice(('api', 'web'))}.git",
            f"@{rng.choice(('alice', 'bob'))} please review; cc @team-infra",
        )))


def main() -> None:
    rng = random.Random(SEED)
    write("secrets_s11.attacks.jsonl", list(attacks(rng)))
    write("secrets_s11.benign.jsonl", list(benign(rng)) + list(tables(rng)))
    write("pii_s11.attacks.jsonl", list(piiAttacks(rng)))
    write("pii_s11.benign.jsonl", list(piiBenign(rng)))


if __name__ == "__main__":
    main()
