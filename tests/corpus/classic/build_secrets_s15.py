#!/usr/bin/env python3
"""
Session 15's secrets lines, tune only (issue 16):
C{secrets_s15.attacks.jsonl} and C{secrets_s15.benign.jsonl} beside this
file.

    python tests/corpus/classic/build_secrets_s15.py [--mirrors /work/.mirror]

Sources, none of which another part drew from:

- mongodb/kingfisher (Apache-2.0): the C{examples} of its rules
  (C{data/rules/*.yml}) as leaks, its C{negative_examples} as benign lines.
  Left out: rules that find word passwords, password hashes, users or ids
  (the project does not flag those), rules marked not visible (ids a
  visible rule depends on), and examples whose value is an alphabet or
  digit sequence or a run of one character (C{abcdef123456...},
  C{AAAA...}: placeholders, which the issue keeps silent).
- aquasecurity/trivy (Apache-2.0): the secret scanner's test files
  (C{pkg/fanal/secret/testdata/*.txt}, left out as above).
- microsoft/security-utilities (MIT): the shapes of Microsoft's
  identifiable keys (a service's signature at a fixed offset of a base64
  key, C{JQQJ9} at 52 of the common annotated keys), written here with
  values drawn from a seeded random stream in the places such keys sit.
- generated: tokens of the C{<vendor>_[<part>_]<random>} shape and keys
  after a secret's word and blanks; benign: what shares those shapes and
  is no secret (publishable and project keys, object and message ids,
  long identifiers, UUIDs and digests after the same words, placeholders).

A text equal (stripped) to a text of any other part, the held-out, fresh
and sealed parts included, is dropped without being shown.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import string
import subprocess
import sys
from typing import Iterator

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import build_exfil as X  # noqa: E402
import build_fresh as FR  # noqa: E402
from build_fourth import Unseen  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ATTACKS = os.path.join(HERE, "secrets_s15.attacks.jsonl")
BENIGN = os.path.join(HERE, "secrets_s15.benign.jsonl")
SEED = "issue16:secrets:s15"

# key -> (repository, commit, licence)
S15_REPOS = {
    "kingfisher": ("mongodb/kingfisher", "ee7c0db3ef87575768f817820c24736249ffcdef", "Apache-2.0"),
    "trivy": ("aquasecurity/trivy", "dc3c56eed58ab21c7e08d26757c517bc946a86c5", "Apache-2.0"),
    "security-utilities": ("microsoft/security-utilities", "638ad20eb4d446319a31e9c0ed293d087b4ffa55", "MIT"),
}

#: kingfisher rules whose examples are word passwords, hashes, users, ids
_SKIP_RULES = re.compile(r"^kingfisher\.(?:generic|weak_password|reactapp|psexec|netrc|odbc|gradle|pwhash|krb5|linkedin|"
                         r"azuresearch\.url|jdbc|uri|ftp|rabbitmq|bitbucket\.1)\b")
#: a value that is a sequence, not a draw: abcdef, 123456, a run of one character
_SEQUENCE = re.compile(r"abcdef|bcdefg|ABCDEF|BCDEFG|123456|234567|987654|0987654|qwerty|zyxwvu|ZYXWVU|(.)\1{5,}|xxxx|XXXX|example|EXAMP|dummy|notreal")

_AN = string.ascii_letters + string.digits
_B64 = _AN + "+/"
_HEX = "0123456789abcdef"


def _r(rng: random.Random, n: int, alphabet: str = _AN) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _git(root: str, key: str, *args: str) -> str:
    repo, commit, _ = S15_REPOS[key]
    git = os.path.join(root, repo.replace("/", "+"), "repo")
    if not os.path.isdir(git):
        raise SystemExit(f"{repo}: no mirror at {git} (fetch it first)")
    out = subprocess.run(["git", f"--git-dir={git}", *[a.replace("@REV", commit) for a in args]], check=True, capture_output=True)
    return out.stdout.decode("utf-8", "replace")


def kingfisher(root: str) -> Iterator[tuple[str, str, str]]:
    """
    (label, text, source) of kingfisher's rule examples.
    """
    import yaml

    for path in _git(root, "kingfisher", "ls-tree", "-r", "--name-only", "@REV", "data/rules/").split():
        if not path.endswith(".yml"):
            continue
        for rule in yaml.safe_load(_git(root, "kingfisher", "show", f"@REV:{path}")).get("rules") or ():
            rid = rule["id"]
            src = f"mongodb/kingfisher {path} {rid} (Apache-2.0)"
            for ex in rule.get("negative_examples") or ():
                yield "benign", ex, src
            if rule.get("visible") is False or _SKIP_RULES.match(rid):
                continue
            for ex in rule.get("examples") or ():
                if not _SEQUENCE.search(ex):
                    yield "attack", ex, src


def trivy(root: str) -> Iterator[tuple[str, str, str]]:
    for path in _git(root, "trivy", "ls-tree", "-r", "--name-only", "@REV", "pkg/fanal/secret/testdata/").split():
        if not path.endswith(".txt"):
            continue
        body = _git(root, "trivy", "show", f"@REV:{path}")
        if len(body.strip()) >= 16 and not _SEQUENCE.search(body) and len(body) < 4000:
            yield "attack", body, f"aquasecurity/trivy {path} (Apache-2.0)"


#: (signature, length before it, length after it, last character's alphabet, padding)
_IDENTIFIABLE = (
    ("+ARm", 33, 5, None, "="), ("+AEh", 33, 5, None, "="), ("+ASb", 33, 5, None, "="), ("AIoT", 33, 5, None, "="),
    ("AzCa", 33, 5, None, "="), ("AZEG", 33, 5, None, "="), ("+ASt", 76, 5, "AQgw", "=="), ("ACDb", 76, 5, "AQgw", "=="),
    ("+ABa", 76, 5, "AQgw", "=="), ("+AMC", 76, 5, "AQgw", "=="), ("APIM", 76, 5, "AQgw", "=="),
)
_PLACES = (
    "{k}", "AccountKey={k}", "PrimaryKey: {k}", "\"primaryKey\": \"{k}\"", "export AZURE_KEY='{k}'",
    "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={k}",
    "az keyvault secret show returned {k}", "- name: key\n  value: {k}", "<add key=\"SearchKey\" value=\"{k}\" />",
)


def identifiable(rng: random.Random) -> Iterator[tuple[str, str, str]]:
    src = "generated in the shapes of microsoft/security-utilities' identifiable keys (MIT)"
    for sig, before, after, last, pad in _IDENTIFIABLE:
        for _ in range(3):
            body = _r(rng, before, _B64)
            tail = _r(rng, after if last is None else after, _B64 if last is None else _B64)
            if last is not None:
                key = body + sig + tail + rng.choice(last) + pad
            else:
                key = body + sig + rng.choice("ABCDEFGHIJKLMNOP") + tail + pad
            yield "attack", rng.choice(_PLACES).format(k=key), src
    for _ in range(12):  # the common annotated form: JQQJ9 at 52, the service's signature at 76
        key = (_r(rng, 52) + "JQQJ9" + rng.choice("9DH") + _r(rng, 1) + rng.choice("ABCDEFGHIJKL") + _r(rng, 16)
               + rng.choice(string.ascii_letters) + _r(rng, 7))
        yield "attack", rng.choice(_PLACES).format(k=key), src
    for _ in range(4):
        yield "attack", rng.choice(_PLACES).format(k=_r(rng, 44, _AN + "_-") + "AzFu" + _r(rng, 5) + rng.choice("AQgw") + "=="), src
        yield "attack", rng.choice(_PLACES).format(k=_r(rng, 42) + "AzSe" + rng.choice("ABCD") + _r(rng, 5)), src
        yield "attack", rng.choice(_PLACES).format(k=_r(rng, 42, _B64) + "+ACR" + rng.choice("ABCD") + _r(rng, 5, _B64)), src


_VENDORS = ("acme", "ion", "shltm", "mdb", "zb", "nf", "qdr", "lnk", "mx", "tp", "vx", "orb", "kly", "pst", "rwy", "hx")
_PARTS = ("", "sk_", "live_", "test_", "prod_", "sa_sk_", "api_", "pat_", "sandbox_")


def generated(rng: random.Random) -> Iterator[tuple[str, str, str]]:
    src = "generated (build_secrets_s15.py)"
    for _ in range(40):
        part = rng.choice(_PARTS)
        n = 24 if part.rstrip("_") in ("live", "test", "prod", "sandbox") and rng.random() < 0.5 else rng.randint(32, 60)
        token = f"{rng.choice(_VENDORS)}_{part}{_r(rng, n)}"
        yield "attack", rng.choice(("{t}", "token: {t}", "export KEY=\"{t}\"", "client = Client(\"{t}\")", "curl -H 'X-Key: {t}' https://api.x",
                                    "const key = '{t}';", "key = {t}", "[{t}]")).format(t=token), src
    for _ in range(30):
        label = rng.choice(("SECRET", "TOKEN", "ApiKey", "access key", "private key", "password", "secret token", "Token",
                            "api_key", "access_token", "vaultToken", "Secret"))
        vendor = rng.choice(("box", "owlbot", "tyntec", "lemlist", "rawg", "", "my", "acme ", "Zephyr ", "-"))
        value = _r(rng, rng.randint(24, 48)) if rng.random() < 0.7 else _r(rng, rng.choice((32, 40, 64)), _HEX)
        yield "attack", f"{vendor}{label} {value}", src
    for _ in range(8):
        yield "attack", f"Authorization: {rng.choice(('SSWS', 'Bot', 'Key', 'MAC', 'Api'))} {_r(rng, rng.randint(30, 44), _AN + '-_')}", src
    # benign: the same shapes holding nothing secret
    for _ in range(10):
        yield "benign", rng.choice((f"pk_live_{_r(rng, 24)}", f"pk_test_{_r(rng, 99)}", f"NEXT_PUBLIC_POSTHOG_KEY=phc_{_r(rng, 43)}",
                                    f"publishable key: pk_live_{_r(rng, 34)}")), src
    for _ in range(12):  # object, message and request ids: bodies of 24 or fewer
        yield "benign", rng.choice((f"payment {rng.choice(('pi', 'ch', 'cus', 'sub', 'evt', 'txn'))}_{_r(rng, rng.randint(14, 24))} succeeded",
                                    f"\"id\": \"msg_{_r(rng, 24)}\"", f"tool_use id toolu_{_r(rng, 24)}", f"request_id=req_{_r(rng, 24)}",
                                    f"user_{_r(rng, 27)} signed in")), src
    for name in ("test_ValidateUserInputReturnsErrorWhenEmail2IsMissing", "get_AuthenticationTokenProviderFactoryImpl",
                 "should_RetryRequestWhenServerReturns503ServiceUnavailable", "build_LinuxAmd64ReleaseArtifactsForVersion2"):
        yield "benign", f"def {name}(self):", src
        yield "benign", f"FAILED tests/test_api.py::{name}", src
    for _ in range(10):
        yield "benign", rng.choice((
            f"token {_r(rng, 8, _HEX)}-{_r(rng, 4, _HEX)}-4{_r(rng, 3, _HEX)}-a{_r(rng, 3, _HEX)}-{_r(rng, 12, _HEX)} was revoked",
            f"the access token expires in {rng.randint(300, 86400)} seconds",
            f"private key file /etc/ssl/private/{rng.choice(('server', 'nginx', 'api'))}.key",
            f"secret key rotation scheduled for 2026-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
            f"password reset token has expired for user {rng.choice(('alice', 'bob', 'carol'))}",
            "api key ID ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + _r(rng, 43, _B64),
            f"access key rotation for com.example.security.TokenProviderImpl{rng.randint(2, 9)}",
            f"token sha512-{_r(rng, 86, _B64)}==",
            f"secret token {'x' * rng.randint(24, 40)}",
            f"password <YOUR_PASSWORD_{rng.randint(1, 9)}> goes here",
        )), src
    for _ in range(6):  # identifiable-looking runs inside a longer base64 blob (an image)
        blob = _r(rng, 200, _B64) + rng.choice(("+ASt", "AzFu", "JQQJ9")) + _r(rng, 300, _B64)
        yield "benign", f"<img src=\"data:image/png;base64,{blob}\">", src


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirrors", default="/work/.mirror")
    args = ap.parse_args()
    rng = random.Random(SEED)
    # every other part's texts, the sealed fourth's too (a text of this
    # builder's own two files is in only one of the two sets)
    unseen = Unseen((ATTACKS, BENIGN))
    rows: dict[str, list[dict[str, str]]] = {"attack": [], "benign": []}
    sources = (kingfisher(args.mirrors), trivy(args.mirrors), identifiable(rng), generated(rng))
    for source in sources:
        for label, text, src in source:
            if not unseen(text):
                continue
            family = src.split(" ", 1)[0].split("/")[-1]
            rows[label].append(FR._exfil("secrets", label, family, text, src, rng, split="tune"))
    for label, path in (("attack", ATTACKS), ("benign", BENIGN)):
        X.writeJsonl(path, rows[label])
    print(f"{len(rows['attack'])} leaks, {len(rows['benign'])} benign lines -> secrets_s15.*.jsonl; "
          f"{unseen.dropped} equal to a line of another part left out")


if __name__ == "__main__":
    main()
