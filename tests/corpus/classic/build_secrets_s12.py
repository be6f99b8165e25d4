"""
Session 12's secrets lines, tune only (issue 16):
C{secrets_s12.attacks.jsonl} and C{secrets_s12.benign.jsonl} beside this
file.

    python tests/corpus/classic/build_secrets_s12.py

Every line is C{tune}: they were written knowing the rules, to find where a
secret sits rather than what it is called.  Nothing is fetched and no value
is copied: the file shapes are those the tools' own documentation shows
(WordPress C{wp-config-sample.php}, Django C{settings.py}, Rails
C{secrets.yml}, ASP.NET C{appsettings.json}, Spring C{application.yml},
kubeconfig, C{wpa_supplicant.conf}, C{redis.conf}, rclone, s3cmd,
Gradle C{signingConfigs}, Maven C{settings.xml}, Java C{.properties} as
XML, FileZilla, Kubernetes and ECS environment lists, CloudFormation
parameters, Postman environments, Azure app settings), every value is drawn
from a seeded random stream.  No held-out or fresh source (noseyparker,
detect-secrets, gitleaks' test data) was read.  A text equal (after strip)
to a text of any other part, the fresh part's included (by
C{fresh/MANIFEST.tsv} and its files' digests, never printed), is dropped.

Attacks: a secret's name and its value as sibling members (C{name}/C{value},
C{Key}/C{Value}, C{ParameterKey}/C{ParameterValue}); whole credential
files; doubled quotes (C#, CSV); directives that take a password as their
argument (C{requirepass}, C{storePassword "..."}); names that say secret by
an abbreviation (C{_PAT}, C{psk}, C{hmac}); short passwords of letters and
digits under a password's name; random values that hold a placeholder word
by chance.

Benign: the same files as their samples ship them (placeholders,
references, C{valueFrom}, C{{{var}}}), sibling lists of settings that are
not secrets, certificates and digests in the same files, encrypted blobs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import string
import sys
from typing import Callable, Iterator

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from build_exfil import entry, write  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = "issue16:secrets:s12"
SOURCE = "generated (build_secrets_s12.py)"

_AN = string.ascii_letters + string.digits
_LOW = string.ascii_lowercase + string.digits
_HEX = "0123456789abcdef"
_PUNCT = _AN + "!#%^*_-+=.~"
_WP = _AN + "!@#$%^&*()-_=+[]{}|;:,.<>?/~`"


def _r(rng: random.Random, n: int, alphabet: str = _AN) -> str:
    while True:
        s = "".join(rng.choice(alphabet) for _ in range(n))
        # (a value of letters or digits only is not what a generator draws)
        mixed = any(c.isdigit() for c in alphabet) and any(c.isalpha() for c in alphabet) and alphabet is not _HEX
        if not mixed or (any(c.isdigit() for c in s) and any(c.isalpha() for c in s)):
            return s


def _secret(rng: random.Random) -> str:
    kind = rng.randrange(5)
    if kind == 0:
        return _r(rng, rng.randint(16, 40))
    if kind == 1:
        return base64.b64encode(rng.randbytes(rng.choice((18, 24, 32)))).decode()
    if kind == 2:
        return _r(rng, rng.randint(12, 24), _PUNCT)
    if kind == 3:
        return base64.urlsafe_b64encode(rng.randbytes(30)).decode().rstrip("=")
    return _r(rng, rng.randint(20, 32))


def _password(rng: random.Random) -> str:
    """
    A password a person sets: letters and digits, 8-15 characters, as often
    lower case only.
    """
    n = rng.randint(8, 15)
    return _r(rng, n, _LOW if rng.random() < 0.6 else _AN)


_SECRET_NAMES = ("DB_PASSWORD", "API_KEY", "STRIPE_SECRET_KEY", "JWT_SECRET", "SESSION_SECRET", "SMTP_PASSWORD",
                 "CLIENT_SECRET", "AUTH_TOKEN", "REDIS_PASSWORD", "SENDGRID_API_KEY", "GITHUB_TOKEN",
                 "ENCRYPTION_KEY", "WEBHOOK_SECRET", "ADMIN_PASSWORD", "ACCESS_TOKEN")
_PLAIN = (("LOG_LEVEL", "info"), ("NODE_ENV", "production"), ("PORT", "8080"), ("REGION", "eu-west-1"),
          ("WORKERS", "4"), ("APP_NAME", "billing"), ("DB_HOST", "db.internal"), ("TZ", "UTC"))


def _siblings(rng: random.Random, pairs: list[tuple[str, str]]) -> str:
    """
    Settings written as a list of objects whose members are the name and
    the value.
    """
    style = rng.randrange(8)
    if style == 0:  # Kubernetes container env
        body = "\n".join(f"        - name: {k}\n          value: {json.dumps(v) if rng.random() < 0.5 else v}" for k, v in pairs)
        return f"    spec:\n      containers:\n      - name: api\n        image: acme/api:2.1\n        env:\n{body}"
    if style == 1:  # ECS task definition
        return json.dumps({"containerDefinitions": [{"name": "api", "environment": [{"name": k, "value": v} for k, v in pairs]}]}, indent=2)
    if style == 2:  # CloudFormation parameters file
        return json.dumps([{"ParameterKey": _camel(k), "ParameterValue": v} for k, v in pairs], indent=2)
    if style == 3:  # Postman environment
        return json.dumps({"name": "staging", "values": [{"key": k.lower(), "value": v, "enabled": True} for k, v in pairs]}, indent=2)
    if style == 4:  # Azure app settings
        return json.dumps([{"name": k, "value": v, "slotSetting": False} for k, v in pairs], indent=2)
    if style == 5:  # AWS tags / SSM-style Key and Value
        return json.dumps({"Parameters": [{"Key": k, "Value": v} for k, v in pairs]}, indent=2)
    if style == 6:  # Elastic Beanstalk option settings in Terraform
        return "\n".join(f'  setting {{\n    namespace = "aws:elasticbeanstalk:application:environment"\n    name      = "{k}"\n    value     = "{v}"\n  }}' for k, v in pairs)
    # a GitHub Actions variable list as an API returns it
    return json.dumps({"total_count": len(pairs), "variables": [{"name": k, "value": v, "created_at": "2026-11-02T10:00:00Z"} for k, v in pairs]}, indent=2)


def _camel(name: str) -> str:
    return "".join(w.capitalize() for w in name.lower().split("_"))


def _credentialFiles(rng: random.Random) -> Iterator[tuple[str, str]]:
    """
    (family, text): whole credential and configuration files, one secret
    or more in each.
    """
    wp = [_r(rng, 64, _WP).replace("'", "").replace("\\", "") for _ in range(4)]
    yield "s12-file-wordpress", (
        "// ** Database settings ** //\n"
        f"define( 'DB_NAME', 'wordpress' );\ndefine( 'DB_USER', 'wp_{_r(rng, 4, string.ascii_lowercase)}' );\n"
        f"define( 'DB_PASSWORD', '{_r(rng, 16, _PUNCT)}' );\ndefine( 'DB_HOST', 'localhost' );\n"
        f"define( 'AUTH_KEY',         '{wp[0]}' );\ndefine( 'SECURE_AUTH_KEY',  '{wp[1]}' );\n"
        f"define( 'LOGGED_IN_KEY',    '{wp[2]}' );\ndefine( 'NONCE_SALT',       '{wp[3]}' );"
    )
    yield "s12-file-wordpress", f"define( 'SECURE_AUTH_SALT', '{wp[1]}' );"
    yield "s12-file-wordpress", f"define('LOGGED_IN_KEY',    '{wp[2]}');"
    yield "s12-file-django", (
        "from pathlib import Path\n\nBASE_DIR = Path(__file__).resolve().parent.parent\n\n"
        f"SECRET_KEY = '{_r(rng, 50, _AN + '!@#%^&*(-_=+)')}'\n\nDEBUG = False\nALLOWED_HOSTS = ['app.acme.io']"
    )
    yield "s12-file-rails", (
        f"production:\n  secret_key_base: {_r(rng, 128, _HEX)}\n  aws:\n    access_key_id: AKIA{_r(rng, 16, string.ascii_uppercase + string.digits)}\n"
        f"    secret_access_key: {_r(rng, 40, _AN + '/+')}"
    )
    pw = _r(rng, 18, _PUNCT)
    yield "s12-file-appsettings", json.dumps({
        "ConnectionStrings": {"DefaultConnection": f"Server=tcp:acme-sql.database.windows.net,1433;Initial Catalog=app;User ID=appuser;Password={pw};Encrypt=True;"},
        "Logging": {"LogLevel": {"Default": "Information"}}, "AllowedHosts": "*"}, indent=2)
    yield "s12-file-spring", (
        "spring:\n  datasource:\n    url: jdbc:postgresql://db.internal:5432/app\n    username: app\n"
        f"    password: {_r(rng, 20, _PUNCT)}\n  jpa:\n    hibernate:\n      ddl-auto: validate"
    )
    yield "s12-file-kubeconfig", (
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://10.0.0.1:6443\n  name: prod\n"
        "users:\n- name: ci\n  user:\n"
        f"    token: {_r(rng, 6, _LOW)}.{_r(rng, 16, _LOW)}"
    )
    yield "s12-file-wpa", (
        "ctrl_interface=DIR=/var/run/wpa_supplicant GROUP=netdev\nupdate_config=1\ncountry=GB\n\nnetwork={\n"
        f"    ssid=\"acme-office\"\n    psk=\"{_password(rng)}\"\n    key_mgmt=WPA-PSK\n}}"
    )
    yield "s12-file-wpa", f"network={{\n\tssid=\"lab\"\n\tpsk={_r(rng, 64, _HEX)}\n}}"
    yield "s12-file-redis", f"bind 127.0.0.1\nport 6379\nrequirepass {_r(rng, 24, _PUNCT)}\nmaxmemory 2gb"
    yield "s12-file-redis", f"replicaof 10.0.0.5 6379\nmasterauth {_r(rng, 20)}"
    yield "s12-file-rclone", f"[b2]\ntype = b2\naccount = {_r(rng, 12, _HEX)}\nkey = {_r(rng, 31)}\nhard_delete = true"
    yield "s12-file-s3cfg", (
        f"[default]\naccess_key = AKIA{_r(rng, 16, string.ascii_uppercase + string.digits)}\n"
        f"secret_key = {_r(rng, 40, _AN + '/+')}\nhost_base = s3.amazonaws.com\nuse_https = True"
    )
    yield "s12-file-gradle", (
        "android {\n    signingConfigs {\n        release {\n            storeFile file(\"release.jks\")\n"
        f"            storePassword \"{_password(rng)}\"\n            keyAlias \"upload\"\n"
        f"            keyPassword \"{_password(rng)}\"\n        }}\n    }}\n}}"
    )
    yield "s12-file-gradle", f"signing.keyId=24875D73\nsigning.password={_r(rng, 16, _PUNCT)}\nsigning.secretKeyRingFile=/home/ci/.gnupg/secring.gpg"
    yield "s12-file-xml-properties", (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE properties SYSTEM "http://java.sun.com/dtd/properties.dtd">\n<properties>\n'
        f'  <entry key="db.user">app</entry>\n  <entry key="db.password">{_r(rng, 16, _PUNCT)}</entry>\n</properties>'
    )
    yield "s12-file-filezilla", (
        "<FileZilla3>\n  <Servers>\n    <Server>\n      <Host>ftp.acme.io</Host>\n      <Port>21</Port>\n      <User>deploy</User>\n"
        f'      <Pass encoding="base64">{base64.b64encode(_r(rng, 14, _PUNCT).encode()).decode()}</Pass>\n    </Server>\n  </Servers>\n</FileZilla3>'
    )
    yield "s12-file-maven", (
        "<settings>\n  <servers>\n    <server>\n      <id>releases</id>\n      <username>deployer</username>\n"
        f"      <password>{_password(rng)}</password>\n    </server>\n  </servers>\n</settings>"
    )
    yield "s12-file-openvpn", f"auth-user-pass\n<auth-user-pass>\nvpnuser\n{_r(rng, 14, _PUNCT)}\n</auth-user-pass>"
    yield "s12-file-pgbouncer", f"[databases]\napp = host=10.0.0.8 port=5432 dbname=app user=app password={_r(rng, 18)}"
    head = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ntype: Opaque\n"
    yield "s12-file-k8s-secret", head + f"stringData:\n  username: app\n  {rng.choice(('api', 'upstream', 'config', 'signing'))}: {_r(rng, rng.randint(24, 40))}"
    yield "s12-file-k8s-secret", head + (f"data:\n  tls.crt: {base64.b64encode(b'-----BEGIN CERTIFICATE-----' + rng.randbytes(30)).decode()}\n"
                                         f"  {rng.choice(('keystore.jks', 'master', 'session'))}: {base64.b64encode(rng.randbytes(rng.choice((24, 32, 48)))).decode()}")
    auth = base64.b64encode(f"ci:{_r(rng, 20)}".encode()).decode()
    yield "s12-file-k8s-secret", head.replace("Opaque", "kubernetes.io/dockerconfigjson") + (
        "data:\n  .dockerconfigjson: " + base64.b64encode(json.dumps({"auths": {"registry.acme.io": {"auth": auth}}}).encode()).decode())
    yield "s12-file-cron", f"*/5 * * * * curl -s -u monitor:{_password(rng)}x9 https://status.acme.io/ping"


def attacks(rng: random.Random) -> Iterator[tuple[str, str]]:
    # a secret's name and its value as sibling members of an object
    for _ in range(30):
        pairs = list(rng.sample(_PLAIN, rng.randint(1, 3)))
        name = rng.choice(_SECRET_NAMES)
        pairs.insert(rng.randint(0, len(pairs)), (name, _secret(rng)))
        yield "s12-siblings", _siblings(rng, pairs)
    for _ in range(6):
        for family, text in _credentialFiles(rng):
            yield family, text
    # an env file's variable whose name says nothing, its value a key
    for _ in range(12):
        name = rng.choice(("STRIPE", "UPSTREAM", "MAILER", "SENTRY_AUTH", "OPENAI", "PUSHER", "ALGOLIA_ADMIN", "TWILIO"))
        value = _r(rng, rng.randint(24, 48))
        pairs = [f"{k}={v}" for k, v in rng.sample(_PLAIN, 2)]
        pairs.insert(rng.randint(0, 2), rng.choice((f"{name}={value}", f'export {name}="{value}"', f"{name}='{value}'")))
        yield "s12-env-unnamed", "\n".join(pairs)
    # doubled quotes: a C# verbatim string, a CSV cell, VB
    for _ in range(10):
        name = rng.choice(("administratorLoginPassword", "apiToken", "clientSecret", "DbPassword", "signingKey"))
        value = _r(rng, rng.randint(14, 28), _LOW if rng.random() < 0.5 else _AN)
        yield "s12-doubled-quotes", rng.choice((
            f'var {name} = @""{value}"";',
            f'"{name}","""{value}"""',
            f'Dim {name} As String = "{value}"',
            f'val {name}: String = "{value}"',
            f'const {name}: string = "{value}";',
            f'{{ ""{name}"": ""{value}"" }}',
        ))
    # names that say secret by an abbreviation
    for _ in range(12):
        value = _secret(rng)
        yield "s12-abbreviated-name", rng.choice((
            f"AZURE_DEVOPS_PAT={_r(rng, 52, string.ascii_lowercase + '234567')}",
            f"GH_PAT={value}",
            f"WIFI_PSK={value}",
            f"webhook_hmac: {value}",
            f"HMAC_KEY_B64={base64.b64encode(rng.randbytes(32)).decode()}",
            f"export ADO_PAT=\"{_r(rng, 52, string.ascii_lowercase + '234567')}\"",
        ))
    # short passwords of letters and digits under a password's name
    for _ in range(20):
        name = rng.choice(("password", "DB_PASSWORD", "db_pass", "smtpPassword", "MYSQL_ROOT_PASSWORD", "passwd", "ADMIN_PASS",
                           "linkedin_token", "client_secret"))
        value = _password(rng)
        yield "s12-short-password", rng.choice((
            f"{name}={value}", f'{name} = "{value}"', f"{name}: {value}", f'"{name}": "{value}"',
        ))
    # random values that hold a placeholder word by chance
    for _ in range(16):
        word = rng.choice(("test", "Test", "TEST", "fake", "your"))
        body = _r(rng, 32)
        at = rng.randint(1, len(body) - 1)
        body = body[:at] + word + body[at:]
        yield "s12-placeholder-word-inside", rng.choice((
            f"API_TOKEN={body}", f"ghp_{body}", f'"client_secret": "{body}"', f"SECRET_KEY={body}",
        ))


# --- hard benign ---------------------------------------------------------------


def benign(rng: random.Random) -> Iterator[tuple[str, str]]:
    refs = ("${DB_PASSWORD}", "{{ .Values.db.password }}", "<your-password>", "changeme",
            "", "REPLACE_ME", "%DB_PASSWORD%", "{{api_key}}", "#{Secret}")
    for _ in range(20):
        pairs = list(rng.sample(_PLAIN, rng.randint(2, 4)))
        if rng.random() < 0.6:
            pairs.insert(rng.randint(0, len(pairs)), (rng.choice(_SECRET_NAMES), rng.choice(refs)))
        yield "s12-benign-siblings", _siblings(rng, pairs)
    for _ in range(6):
        yield "s12-benign-siblings", (
            "        env:\n        - name: DB_PASSWORD\n          valueFrom:\n            secretKeyRef:\n"
            "              name: db-credentials\n              key: password\n        - name: LOG_LEVEL\n          value: info"
        )
        yield "s12-benign-siblings", json.dumps([{"name": "API_KEY_ID", "value": _r(rng, 20, string.ascii_uppercase + string.digits)},
                                                 {"name": "BUILD_SHA", "value": _r(rng, 40, _HEX)},
                                                 {"name": "IMAGE_DIGEST", "value": "sha256:" + _r(rng, 64, _HEX)}], indent=2)
        yield "s12-benign-file", (
            "define( 'DB_NAME', 'database_name_here' );\ndefine( 'DB_USER', 'username_here' );\n"
            "define( 'DB_PASSWORD', 'password_here' );\n"
            "define( 'AUTH_KEY',         'put your unique phrase here' );\ndefine( 'SECURE_AUTH_KEY',  'put your unique phrase here' );"
        )
        yield "s12-benign-file", "SECRET_KEY = os.environ['DJANGO_SECRET_KEY']\nDEBUG = os.environ.get('DEBUG') == '1'"
        yield "s12-benign-file", (
            "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n"
            f"    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t{base64.b64encode(rng.randbytes(60)).decode()}\n"
            "    server: https://10.0.0.1:6443\n  name: prod\nusers:\n- name: ci\n  user:\n    exec:\n      command: aws\n"
            "      args: [eks, get-token, --cluster-name, prod]"
        )
        yield "s12-benign-file", (
            "network={\n    ssid=\"acme-guest\"\n    key_mgmt=NONE\n}\n"
            "# psk=\"your passphrase here\""
        )
        yield "s12-benign-file", "bind 127.0.0.1\nport 6379\n# requirepass foobared\nmaxmemory-policy allkeys-lru"
        yield "s12-benign-file", (
            "signingConfigs {\n    release {\n        storePassword System.getenv(\"KEYSTORE_PASSWORD\")\n"
            "        keyPassword project.findProperty(\"keyPassword\")\n    }\n}"
        )
        yield "s12-benign-file", (
            f"$ANSIBLE_VAULT;1.1;AES256\n{_r(rng, 80, _HEX)}\n{_r(rng, 80, _HEX)}\n{_r(rng, 80, _HEX)}"
        )
        yield "s12-benign-file", (
            '<properties>\n  <entry key="db.user">app</entry>\n  <entry key="db.password">${env.DB_PASSWORD}</entry>\n'
            '  <entry key="db.pool.size">20</entry>\n</properties>'
        )
        yield "s12-benign-file", f"PASSWORD_MIN_LENGTH=12\nPASSWORD_RESET_TIMEOUT=259200\nSESSION_COOKIE_NAME=sessionid\nGIT_COMMIT={_r(rng, 40, _HEX)}"
        k8s = "apiVersion: v1\nkind: {kind}\nmetadata:\n  name: app\n"
        yield "s12-benign-k8s", k8s.format(kind="ConfigMap") + f"data:\n  upstream: {_r(rng, 28)}\n  mode: production"
        yield "s12-benign-k8s", k8s.format(kind="Secret") + (
            f"data:\n  username: {base64.b64encode(b'app').decode()}\n  host: {base64.b64encode(b'db.internal').decode()}\n"
            f"  build_sha: {base64.b64encode(_r(rng, 40, _HEX).encode()).decode()}\n"
            f"  ca.crt: {base64.b64encode(b'-----BEGIN CERTIFICATE-----' + rng.randbytes(30)).decode()}")
        yield "s12-benign-k8s", k8s.format(kind="Secret") + "stringData:\n  password: ${DB_PASSWORD}\n  mode: replica"
        yield "s12-benign-env-described", "\n".join((
            f"GIT_SHA={_r(rng, 40, _HEX)}", f"GOOGLE_CLIENT_ID={_r(rng, 12, string.digits)}-{_r(rng, 32, _LOW)}.apps.googleusercontent.com",
            f"NEXT_PUBLIC_ANALYTICS={_r(rng, 28)}", f"BUILD_ID={_r(rng, 26)}", f"IMAGE_DIGEST=sha256:{_r(rng, 64, _HEX)}",
            f"CONTENT={base64.b64encode(b'the release notes of this build, for the changelog').decode()}"))
        yield "s12-benign-doubled", f'var connectionString = @""Server=db1;Database=app;Integrated Security=true"";'
        yield "s12-benign-doubled", '"name","description"\n"DbPassword","""the database password, from the vault"""'
        yield "s12-benign-password-words", rng.choice((
            'password: "required"', "password = \"string\"", 'password_field = "pwd_input"', "DB_PASSWORD=postgres",
            "passwd: files systemd", 'password: "********"', 'token_type = "bearer"', "password = \"hunter2\"",
        ))
        yield "s12-benign-abbrev", rng.choice((
            "PATH=/usr/local/bin:/usr/bin", "PAT_EXPIRY_DAYS=90", "LANG_SK=sk_SK.UTF-8", "HMAC_ALGORITHM=sha256",
            "psk_identity=client1", "key_mgmt=WPA-PSK",
        ))


def known(own: str = "secrets_s12") -> set[str]:
    """
    SHA-256 of every stripped text of every other part than C{own}'s files
    (the fresh part by its manifest and files): a generated line equal to
    one is dropped.
    """
    out: set[str] = set()

    def add(text: str) -> None:
        out.add(hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest())
        out.add(hashlib.sha256(text.strip().encode("utf-8", "surrogatepass")).hexdigest())

    for folder in (HERE, os.path.join(HERE, "fresh"), os.path.join(HERE, "..")):
        for name in sorted(os.listdir(folder)):
            if name.endswith(".jsonl") and not name.startswith(own):
                with open(os.path.join(folder, name), encoding="utf-8") as f:
                    for line in f:
                        if line.strip():
                            add(json.loads(line)["text"])
    manifest = os.path.join(HERE, "fresh", "MANIFEST.tsv")
    if os.path.exists(manifest):
        with open(manifest, encoding="utf-8") as f:
            out.update(line.rstrip("\n").split("\t")[-1] for line in f)
    return out


def _entries(label: str, lines: Iterator[tuple[str, str]], rng: random.Random, others: set[str],
             source: str = SOURCE) -> tuple[list[dict[str, str]], int]:
    """
    The lines as entries, each text once; and how many were dropped as
    equal to another part's text.
    """
    out, dropped, n, own = [], 0, 0, set()
    for family, text in lines:
        digest = hashlib.sha256(text.strip().encode("utf-8", "surrogatepass")).hexdigest()
        if digest in others:
            dropped += 1
            continue
        if digest in own:
            continue  # (a fixed benign text written again)
        own.add(digest)
        n += 1
        e = entry("data_exfiltration" if label == "attack" else "secrets", "secrets", label, family, str(n), text, source, rng)
        e["split"] = "tune"
        out.append(e)
    return out, dropped


def main() -> None:
    rng = random.Random(SEED)
    seen = known()
    found, droppedA = _entries("attack", attacks(rng), rng, seen)
    clean, droppedB = _entries("benign", benign(rng), rng, seen)
    write("secrets_s12.attacks.jsonl", found)
    write("secrets_s12.benign.jsonl", clean)
    print(f"dropped as equal to another part's text: {droppedA} attacks, {droppedB} benign")


if __name__ == "__main__":
    main()
