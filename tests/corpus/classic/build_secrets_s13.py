"""
Session 13's secrets lines, tune only (issue 16):
C{secrets_s13.attacks.jsonl} and C{secrets_s13.benign.jsonl} beside this
file.

    python tests/corpus/classic/build_secrets_s13.py

Every line is C{tune}.  The shapes are those the tools' own documentation
and output show, written here with values drawn from a seeded random
stream (nothing is fetched, no value is copied): C{docker inspect}'s
C{Config.Env}, C{kubectl get secret -o json|yaml} and C{kubectl describe
secret}, C{heroku config}, Terraform's C{terraform.tfvars}, state file
(C{resources[].instances[].attributes}, C{outputs} with C{sensitive}) and
C{terraform output -json}, AWS CLI's C{secretsmanager get-secret-value}
(C{SecretString}) and C{ssm get-parameter} (C{SecureString}), HashiCorp
Vault's C{vault kv get} (table and JSON), Helm values, the C{.env} files of
Laravel, Symfony, Next.js and Rails' decrypted credentials, GitHub CLI's
C{hosts.yml}, Yarn's C{.yarnrc.yml}, pip's C{pip.conf}, Gradle's
C{gradle.properties}, Composer's C{auth.json}, RubyGems' C{credentials},
NuGet's C{packageSourceCredentials}, sbt's C{.credentials}, GitLab's CI
variables API, Azure's C{az ad sp create-for-rbac} and app settings
(C{slotSetting}), gcloud's application default credentials
(C{authorized_user}), Compose's C{docker compose config}, C{printenv}, and
log lines that hold a serialised document (escaped quotes).  No held-out or
fresh source (noseyparker, detect-secrets, gitleaks' test data) was read.
A text equal (after strip) to a text of any other part, the fresh part's
included (by C{fresh/MANIFEST.tsv} and its files' digests, never printed),
is dropped.

Benign: the same files as their samples and the tools print them when
nothing leaks (placeholders, references, C{<sensitive>}, masked values,
sizes, empty values), settings that are not secrets beside them, and
service-named variables holding ids, hashes, URLs and public keys.
"""

from __future__ import annotations

import base64
import json
import os
import random
import string
import sys
from typing import Iterator

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from build_exfil import write  # noqa: E402
from build_secrets_s12 import _entries, _r, _secret, known  # noqa: E402

SEED = "issue16:secrets:s13"
SOURCE = "generated (build_secrets_s13.py)"
OWN = "secrets_s13"

_AN = string.ascii_letters + string.digits
_LOW = string.ascii_lowercase + string.digits
_HEX = "0123456789abcdef"
_UP = string.ascii_uppercase + string.digits

_SERVICES = ("STRIPE", "OPENAI", "ANTHROPIC", "TWILIO", "SENDGRID", "MAILGUN", "PUSHER", "ALGOLIA", "SENTRY", "DATADOG",
             "SUPABASE", "HEROKU", "SHOPIFY", "COHERE", "REPLICATE", "PINECONE", "GROQ", "MISTRAL", "POSTMARK", "RESEND")
_PLAIN = (("LOG_LEVEL", "info"), ("NODE_ENV", "production"), ("PORT", "8080"), ("REGION", "eu-west-1"),
          ("WORKERS", "4"), ("APP_NAME", "billing"), ("DB_HOST", "db.internal"), ("TZ", "UTC"))
_SECRET_NAMES = ("DB_PASSWORD", "API_KEY", "JWT_SECRET", "SMTP_PASSWORD", "CLIENT_SECRET", "AUTH_TOKEN",
                 "REDIS_PASSWORD", "ENCRYPTION_KEY", "WEBHOOK_SECRET", "ADMIN_PASSWORD", "NPM_TOKEN", "SIGNING_KEY")


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def _password(rng: random.Random) -> str:
    return _r(rng, rng.randint(14, 28), _AN + "!#%^*_-+=.~")


def _yaml(value: str) -> str:
    """
    A value as YAML writes it: quoted when it starts with an indicator.
    """
    return json.dumps(value) if value[0] in "!%@&*#|>'\"`{[,?:-=~" else value


def _key(rng: random.Random) -> str:
    return _r(rng, rng.randint(28, 48))


# --- leaks -------------------------------------------------------------------


def _tools(rng: random.Random) -> Iterator[tuple[str, str]]:
    """
    (family, text): what a tool prints or a credential file holds, with one
    secret or more.
    """
    pw, key = _password(rng), _key(rng)
    name = rng.choice(_SECRET_NAMES)
    plain = rng.sample(_PLAIN, 2)
    env = [f"{k}={v}" for k, v in plain] + [f"{name}={_secret(rng)}", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin"]
    rng.shuffle(env)
    yield "s13-docker-inspect", json.dumps([{"Id": _r(rng, 64, _HEX), "Name": "/api-1", "Config": {
        "Hostname": _r(rng, 12, _HEX), "Env": env, "Image": "acme/api:2.1"}}], indent=4)
    data = {"username": _b64("app"), rng.choice(("password", "api-key", "token", "DB_PASSWORD")): _b64(_secret(rng))}
    yield "s13-kubectl-secret-json", json.dumps({"apiVersion": "v1", "data": data, "kind": "Secret", "metadata": {
        "name": "app-credentials", "namespace": "prod"}, "type": "Opaque"}, indent=4)
    yield "s13-heroku-config", (
        f"=== acme-{_r(rng, 4, string.ascii_lowercase)} Config Vars\n"
        f"LOG_LEVEL:{' ' * 10}info\n{name}:{' ' * max(1, 19 - len(name))}{_secret(rng)}\nNODE_ENV:{' ' * 11}production"
    )
    yield "s13-terraform", rng.choice((
        f'region      = "eu-west-1"\ninstance    = "t3.micro"\ndb_password = "{pw}"',
        json.dumps({"version": 4, "terraform_version": "1.9.5", "outputs": {"db_password": {
            "value": _secret(rng), "type": "string", "sensitive": True}}}, indent=2),
        json.dumps({rng.choice(("admin_token", "root_credential", "connection")): {
            "sensitive": True, "type": "string", "value": _secret(rng)}}, indent=2),
        json.dumps({"resources": [{"mode": "managed", "type": "aws_db_instance", "name": "main", "instances": [
            {"attributes": {"engine": "postgres", "username": "app", "password": pw, "port": 5432}}]}]}, indent=2),
    ))
    inner = json.dumps({"username": "app", "password": pw, "host": "db.internal", "port": 5432})
    yield "s13-aws-secrets", rng.choice((
        json.dumps({"ARN": f"arn:aws:secretsmanager:eu-west-1:{_r(rng, 12, string.digits)}:secret:prod/db-{_r(rng, 6)}",
                    "Name": "prod/db", "VersionId": "a1b2", "SecretString": inner}, indent=4),
        json.dumps({"Parameter": {"Name": f"/prod/{rng.choice(('billing', 'api', 'mail'))}/{rng.choice(('stripe', 'upstream', 'smtp'))}",
                                  "Type": "SecureString", "Value": _secret(rng), "Version": rng.randint(1, 9)}}, indent=4),
    ))
    yield "s13-vault", rng.choice((
        f"====== Data ======\nKey         Value\n---         -----\npassword    {pw}\nusername    app",
        json.dumps({"request_id": "x", "data": {"data": {"api_key": _secret(rng), "user": "app"}, "metadata": {"version": 3}}}, indent=2),
    ))
    yield "s13-helm-values", f"postgresql:\n  auth:\n    username: app\n    password: {_yaml(pw)}\n    database: app\nredis:\n  enabled: true"
    yield "s13-framework-env", rng.choice((
        f"APP_NAME=Laravel\nAPP_ENV=production\nAPP_KEY=base64:{base64.b64encode(rng.randbytes(32)).decode()}\nAPP_DEBUG=false",
        f"APP_ENV=prod\nAPP_SECRET={_r(rng, 32, _HEX)}\nMESSENGER_TRANSPORT_DSN=doctrine://default",
        f"NEXTAUTH_URL=https://app.example.com\nNEXTAUTH_SECRET={base64.b64encode(rng.randbytes(32)).decode()}",
        f"secret_key_base: {_r(rng, 128, _HEX)}\naws:\n  access_key_id: AKIA{_r(rng, 16, _UP)}\n  secret_access_key: {_r(rng, 40)}",
    ))
    yield "s13-client-config", rng.choice((
        f"github.com:\n    user: {_r(rng, 6, string.ascii_lowercase)}\n    oauth_token: {_key(rng)}\n    git_protocol: https",
        f'npmRegistries:\n  "https://npm.pkg.github.com":\n    npmAuthToken: "{_key(rng)}"',
        f"[global]\nindex-url = https://__token__:{key}@gitlab.example.com/api/v4/projects/12/packages/pypi/simple",
        f"org.gradle.jvmargs=-Xmx2g\nsigning.password={pw}\nossrhPassword={pw}",
        json.dumps({"http-basic": {"repo.example.org": {"username": "bob", "password": pw}}}, indent=4),
        f"---\n:rubygems_api_key: {_r(rng, 32, _HEX)}",
        f'<packageSourceCredentials>\n  <github>\n    <add key="Username" value="bob" />\n    <add key="ClearTextPassword" value="{pw}" />\n  </github>\n</packageSourceCredentials>',
        f"realm=Sonatype Nexus Repository Manager\nhost=oss.sonatype.org\nuser=bob\npassword={pw}",
    ))
    yield "s13-ci-variables", rng.choice((
        json.dumps([{"variable_type": "env_var", "key": k, "value": v, "protected": False, "masked": False}
                    for k, v in plain + [(name, _secret(rng))]], indent=2),
        json.dumps([{"name": k, "slotSetting": False, "value": v} for k, v in plain + [(name, _secret(rng))]], indent=2),
        "\n".join(f"{k}={v}" for k, v in [("HOSTNAME", "runner-7"), ("HOME", "/root"), (name, _secret(rng)), ("SHLVL", "1")]),
    ))
    yield "s13-azure-gcloud", rng.choice((
        json.dumps({"appId": "a1b2c3d4-0000-1111-2222-333344445555", "displayName": "ci-deploy",
                    "password": _r(rng, 3, _AN) + str(rng.randint(0, 9)) + "Q~" + _r(rng, 34, _AN + "_~.-"), "tenant": "e5f6"}, indent=2),
        json.dumps({"client_id": f"{_r(rng, 12, string.digits)}-{_r(rng, 32, _LOW)}.apps.googleusercontent.com",
                    "client_secret": "GOCSPX-" + _r(rng, 28, _AN + "_-"), "refresh_token": "1//0" + _r(rng, 60, _AN + "_-"),
                    "type": "authorized_user"}, indent=2),
    ))
    yield "s13-compose-config", (
        f"services:\n  db:\n    environment:\n      POSTGRES_PASSWORD: {_yaml(pw)}\n      POSTGRES_USER: app\n    image: postgres:16"
    )
    escaped = json.dumps(json.dumps({"db": {"host": "db.internal", rng.choice(("password", "api_key", "token")): _secret(rng)}}))
    yield "s13-escaped-document", rng.choice((
        '{"level":"info","msg":"config loaded","config":' + escaped + "}",
        f"2026-12-07T10:00:00Z INFO loaded settings {escaped}",
    ))
    service = rng.choice(_SERVICES)
    lines = [f"{k}={v}" for k, v in rng.sample(_PLAIN, 2)]
    lines.insert(rng.randint(0, 2), rng.choice((f"{service}={key}", f'export {service}="{key}"', f"{service}='{key}'",
                                                 f"{rng.choice(('PAYMENTS', 'MAPS', 'SEARCH'))}_{rng.choice(('SK', 'API', 'LICENSE'))}={key}")))
    yield "s13-service-env", "\n".join(lines)


def attacks(rng: random.Random) -> Iterator[tuple[str, str]]:
    for _ in range(18):
        yield from _tools(rng)


# --- hard benign ---------------------------------------------------------------


def benign(rng: random.Random) -> Iterator[tuple[str, str]]:
    refs = ("${DB_PASSWORD}", "<your-password>", "changeme", "", "REPLACE_ME", "***", "[MASKED]", "[secure]", "<sensitive>")
    for _ in range(8):
        ref = rng.choice(refs)
        name = rng.choice(_SECRET_NAMES)
        yield "s13-benign-docker-inspect", json.dumps([{"Id": _r(rng, 64, _HEX), "Config": {"Env": [
            "PATH=/usr/local/bin:/usr/bin", f"GIT_COMMIT={_r(rng, 40, _HEX)}", f"BUILD_ID={_r(rng, 26)}", "LANG=C.UTF-8"]}}], indent=4)
        yield "s13-benign-kubectl", rng.choice((
            f"Name:         app-credentials\nNamespace:    prod\nType:  Opaque\n\nData\n====\npassword:  {rng.randint(8, 40)} bytes\nusername:  3 bytes",
            json.dumps({"apiVersion": "v1", "data": {"ca.crt": _b64("-----BEGIN CERTIFICATE-----" + _r(rng, 40)), "namespace": _b64("prod")},
                        "kind": "Secret", "type": "kubernetes.io/service-account-token"}, indent=4),
        ))
        yield "s13-benign-terraform", rng.choice((
            f'db_password = <sensitive>\nbucket = "acme-{_r(rng, 6, string.ascii_lowercase)}"\nendpoint = "db.internal:5432"',
            json.dumps({"bucket": {"sensitive": False, "type": "string", "value": f"acme-logs-{_r(rng, 6, string.ascii_lowercase)}"}}, indent=2),
            json.dumps({"db_password": {"sensitive": True, "type": "string", "value": ref}}, indent=2),
            f'variable "db_password" {{\n  type      = string\n  sensitive = true\n}}\ndb_password = var.db_password',
        ))
        yield "s13-benign-aws", rng.choice((
            json.dumps({"Parameter": {"Name": "/prod/api/region", "Type": "String", "Value": "eu-west-1", "Version": 2}}, indent=4),
            json.dumps({"ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf", "Name": "prod/db",
                        "LastChangedDate": "2026-11-02T10:00:00Z", "VersionIdsToStages": {"a1b2": ["AWSCURRENT"]}}, indent=4),
        ))
        yield "s13-benign-ci-variables", json.dumps([{"variable_type": "env_var", "key": name, "value": ref, "protected": True,
                                                      "masked": True}, {"variable_type": "env_var", "key": "REGION", "value": "eu-west-1"}], indent=2)
        yield "s13-benign-helm", "postgresql:\n  auth:\n    existingSecret: db-credentials\n    secretKeys:\n      userPasswordKey: password"
        yield "s13-benign-framework-env", rng.choice((
            "APP_NAME=Laravel\nAPP_ENV=local\nAPP_KEY=\nDB_PASSWORD=\nMAIL_PASSWORD=null\nPUSHER_APP_KEY=",
            'DATABASE_URL="postgresql://app:!ChangeMe!@127.0.0.1:5432/app?serverVersion=16&charset=utf8"',
            f"NEXT_PUBLIC_SUPABASE_URL=https://{_r(rng, 20, string.ascii_lowercase)}.supabase.co\nNEXTAUTH_URL=http://localhost:3000",
        ))
        yield "s13-benign-service-env", "\n".join((
            f"STRIPE_ACCOUNT=acct_{_r(rng, 16)}", f"SENTRY_RELEASE={_r(rng, 40, _HEX)}", f"ALGOLIA_APP_ID={_r(rng, 10, _UP)}",
            f"MAPBOX_PUBLIC_TOKEN=pk.{_r(rng, 60)}", f"OPENAI_BASE_URL=https://api.openai.com/v1", f"SENTRY={_r(rng, 32, _HEX)}",
        ))
        yield "s13-benign-escaped", json.dumps(json.dumps({"token_type": "Bearer", "expires_in": 3600, "password": "", "api_key_id": _r(rng, 20, _UP)}))
        yield "s13-benign-vault", "Key                Value\n---                -----\ncreated_time       2026-11-02T10:00:00Z\nversion            3\ndestroyed          false"


def main() -> None:
    rng = random.Random(SEED)
    seen = known(OWN)
    found, droppedA = _entries("attack", attacks(rng), rng, seen, SOURCE)
    clean, droppedB = _entries("benign", benign(rng), rng, seen, SOURCE)
    write(f"{OWN}.attacks.jsonl", found)
    write(f"{OWN}.benign.jsonl", clean)
    print(f"dropped as equal to another part's text: {droppedA} attacks, {droppedB} benign")


if __name__ == "__main__":
    main()
