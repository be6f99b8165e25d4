#!/usr/bin/env python3
"""
Session 15, tune only: contact details in the forms three public data sets
write them, none of which another part drew on: the telephone formats of
every locale of mimesis (filled with digits here, kept where
libphonenumber finds the number valid for the locale's country), the valid
mobile numbers of every locale in validator.js's tests, and the valid
addresses of validator.js's and python-email-validator's tests (RFC 5322
and RFC 6531 forms: quoted and symbol-laden local parts, internationalised
local parts and domains).  Each is placed in build_exfil.py's request and
result templates, as the other parts' PII lines are.

    python tests/corpus/classic/build_pii_s15.py [--mirrors /work/.mirror]

Writes C{pii_s15.attacks.jsonl} and hard benign lines of its own,
C{pii_s15.benign.jsonl} (split C{tune}).  A text equal to a line of
any other part, held-out or sealed included, is left out without being
shown.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import re
import sys
from typing import Iterator

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import build_exfil as X  # noqa: E402
import build_fresh as FR  # noqa: E402
from build_fourth import Unseen  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "pii_s15.attacks.jsonl")
BENIGN = os.path.join(HERE, "pii_s15.benign.jsonl")

# key -> (repository, commit, licence)
S15_REPOS = {
    "mimesis": ("lk-geimfari/mimesis", "b7d77dd23d7dcef395c5ea3295b8211eb0242d2c", "MIT"),
    "validator.js": ("validatorjs/validator.js", "cdb7dafc281d14125b924969bf3ee5bc482ec169", "MIT"),
    "email-validator": ("JoshData/python-email-validator", "b73d010bb3db70547199f39fd85d2286a7f6f476", "Unlicense"),
}

#: mimesis locales named by language only, and the country their numbers are from
_LANGUAGE_REGION = {
    "ar": "SA", "az": "AZ", "cs": "CZ", "da": "DK", "de": "DE", "el": "GR", "en": "US", "es": "ES", "et": "EE",
    "fa": "IR", "fi": "FI", "fr": "FR", "hr": "HR", "hu": "HU", "is": "IS", "it": "IT", "ja": "JP", "kk": "KZ",
    "ko": "KR", "nl": "NL", "no": "NO", "pl": "PL", "pt": "PT", "ru": "RU", "sk": "SK", "sv": "SE", "tr": "TR",
    "uk": "UA", "zh": "CN",
}

#: documentation domains (RFC 2606) a test suite uses, and the domains put
#: in their place so that the address is one a person reads
_DOC_DOMAIN = re.compile(r"@(?:[\w-]+\.)*(?:example\.(?:com|org|net|tld)|example|test|invalid|localhost)$", re.I)
_DOMAINS = ("fastmail.com", "proton.me", "gmx.net", "libero.it", "uol.com.br", "naver.com", "yandex.ru", "telia.se",
            "seznam.cz", "wp.pl", "bigpond.com", "rediffmail.com")


def _region(locale: str) -> str:
    return locale.split("-")[1].upper() if "-" in locale else _LANGUAGE_REGION.get(locale, "")


def _place(text: str, family: str, source: str, rng: random.Random) -> dict[str, str]:
    if rng.random() < 0.3:
        body = rng.choice(X._PII_TEMPLATES_RES).format(n=X._name(rng), p=text)
        return FR._exfil("pii", "attack", family, body, source, rng, direction="response", split="tune")
    body = rng.choice(X._PII_TEMPLATES_REQ).format(n=X._name(rng), p=text, c=rng.choice(("Madrid", "Seoul", "Lagos")))
    return FR._exfil("pii", "attack", family, body, source, rng, direction="request", split="tune")


def mimesisPhones(r: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    import phonenumbers

    for path in r.files("mimesis/datasets/"):
        if not path.endswith("/person.json"):
            continue
        locale = path.split("/")[-2]
        region = _region(locale)
        formats = json.loads(r.show(path)).get("telephone_fmt") or ()
        if not region:
            continue
        for fmt in rng.sample(list(formats), min(4, len(formats))):
            for _ in range(40):
                number = re.sub("#", lambda _m: str(rng.randint(0, 9)), fmt)
                try:
                    parsed = phonenumbers.parse(number, region)
                except phonenumbers.NumberParseException:
                    break
                if phonenumbers.is_valid_number_for_region(parsed, region):
                    yield _place(number, "phone-mimesis", f"lk-geimfari/mimesis {path} (MIT)", rng)
                    break


def _jsArrays(source: str, marker: str) -> Iterator[tuple[str, list[str]]]:
    """
    (locale, valid strings) of each fixture after C{marker} in
    validator.js's tests; the strings are single-quoted literals.
    """
    for m in re.finditer(marker, source):
        block = source[m.end():m.end() + 200_000]
        locale = re.match(r"\s*(?:locale:\s*'([^']*)',\s*)?valid:\s*\[", block)
        if not locale:
            continue
        end = block.find("]", locale.end())
        items = []
        for lit in re.findall(r"'(?:[^'\\\n]|\\.)*'", block[locale.end():end]):
            try:
                items.append(ast.literal_eval(lit))
            except (SyntaxError, ValueError):
                continue
        yield locale.group(1) or "", items


def validatorPhones(r: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    import phonenumbers

    source = r.show("test/validators.test.js")
    start = source.index("should validate mobile phone number")
    for locale, items in _jsArrays(source[start:start + 400_000], r"\{\s*(?=locale:\s*'[a-z]{2,3}-[A-Za-z]{2}')"):
        region = locale.split("-")[1].upper()
        good = []
        for number in items:
            try:
                parsed = phonenumbers.parse(number, region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number_for_region(parsed, region):
                good.append(number)
        for number in rng.sample(good, min(3, len(good))):
            yield _place(number, "phone-validatorjs", f"validatorjs/validator.js test/validators.test.js {locale} (MIT)", rng)


def _readable(address: str, rng: random.Random) -> str:
    return _DOC_DOMAIN.sub("@" + rng.choice(_DOMAINS), address)


def validatorEmails(r: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    source = r.show("test/validators.test.js")
    for _, items in _jsArrays(source, r"validator: 'isEmail',(?:\s*args: \[[^\]]*\],)?\s*"):
        for address in items:
            if "@" in address and len(address) < 120:
                yield _place(_readable(address, rng), "email-validatorjs", "validatorjs/validator.js test/validators.test.js isEmail (MIT)", rng)


def emailValidatorEmails(r: FR.Repo, rng: random.Random) -> Iterator[dict[str, str]]:
    tree = ast.parse(r.show("tests/test_syntax.py"))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "parametrize" and len(node.args) >= 2):
            continue
        names = node.args[0]
        if not (isinstance(names, ast.Constant) and names.value in ("email_input,output", "email_input,normalized_local_part")):
            continue
        for case in getattr(node.args[1], "elts", ()):
            first = case.elts[0] if isinstance(case, ast.Tuple) else case
            if isinstance(first, ast.Constant) and isinstance(first.value, str) and "@" in first.value:
                yield _place(_readable(first.value, rng), "email-validator", "JoshData/python-email-validator tests/test_syntax.py (Unlicense)", rng)


def benign(rng: random.Random) -> Iterator[dict[str, str]]:
    """
    What sits where these forms would be mistaken: numbers with a leading
    zero that label themselves references (invoices, tickets, books),
    numeric rows, C{@} in code, handles and package specifiers, addresses at
    documentation domains in every script.
    """
    src = "generated (build_pii_s15.py)"
    labels = ("Invoice", "invoice no.", "Order #", "ticket #", "Ref:", "account", "SKU", "serial", "PO", "tracking",
              "case", "ISBN", "urn:isbn:", "EAN", "build", "policy", "claim", "lot", "batch", "item")
    rows = []
    for label in labels:
        number = "0" + str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(rng.choice((7, 8, 9))))
        rows.append(f"{label} {number} was updated on {rng.randint(1, 28)} March")
    for _ in range(8):
        cells = ",".join("0" + "".join(str(rng.randint(0, 9)) for _ in range(9)) for _ in range(4))
        rows.append(f"sensor,{cells}\nsensor,{cells[::-1]}")
    rows += [
        "@Html.Raw(Model.Body) and @Model.Title render in the layout",
        "npm install @modelcontextprotocol/sdk@1.12.0 @types/node@22.5.1",
        "git clone git@github.com:modelcontextprotocol/python-sdk.git",
        "ping @山田 さん and @김민준 about the release; cc @équipe-données",
        "Write to 例え@example.com or θσερ@example.org in the docs, never a real inbox",
        "The decorator @functools.cache and @dataclass(frozen=True) are applied in order",
        "pip install 'mcp[cli]@git+https://github.com/modelcontextprotocol/python-sdk@v1.9.0'",
        "docker pull python@sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "See RFC 6531 (SMTPUTF8): local parts such as 用户@ need a server that supports it.",
        "The ratio fell from 0.612345678 to 0.512345678 in the last run.",
    ]
    tools = (("send_email", "body"), ("create_issue", "body"), ("slack_post_message", "text"), ("translate", "text"))
    for n, text in enumerate(rows):
        if n % 3 == 2:
            yield FR._exfil("pii", "benign", "benign-pii-s15", text, src, rng, direction="response", tool=("read_file", ""), split="tune")
        else:
            yield FR._exfil("pii", "benign", "benign-pii-s15", text, src, rng, direction="request", tool=rng.choice(tools), split="tune")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mirrors", default="/work/.mirror")
    args = ap.parse_args()
    rng = random.Random("issue16:pii:s15")
    unseen = Unseen((OUT, BENIGN))  # (every other part's, the sealed fifth's too: never printed)
    builders = (
        ("mimesis", mimesisPhones), ("validator.js", validatorPhones), ("validator.js", validatorEmails),
        ("email-validator", emailValidatorEmails),
    )
    rows = [e for key, build in builders for e in build(FR.Repo(args.mirrors, key, S15_REPOS), rng) if unseen(e["text"])]
    for path, lines in ((OUT, rows), (BENIGN, list(benign(rng)))):
        X.writeJsonl(path, lines)
        print(f"{len(lines)} lines -> {os.path.relpath(path)}")
    print(f"{unseen.dropped} attack lines equal to a line of another part left out")


if __name__ == "__main__":
    main()
