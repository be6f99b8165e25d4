"""
Checks a pattern cannot make: checksums, validity rules, entropy.  Each takes
the matched text and answers whether it is the real thing.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import math
import re
from collections import Counter
from typing import Callable, Optional

import phonenumbers

from akto_proxy.inspect.checks.rules import BARE_COMMANDS, WORD_COMMANDS

Validator = Callable[[str], bool]


def luhn(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        n = ord(c) - 48
        if i % 2:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


_CARD_PREFIX = re.compile(
    r"4|5[1-5]|2(?:2[2-9][1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)|3[47]|6(?:011|5|4[4-9]|22)|35(?:2[89]|[3-8])|3(?:0[0-5]|[689])"
)


def creditCard(text: str) -> bool:
    """
    A payment card number: a known issuer prefix, a length that issuer uses,
    Luhn-valid, and not one digit repeated.
    """
    digits = re.sub(r"[ -]", "", text)
    if not digits.isdigit() or not 13 <= len(digits) <= 19:
        return False
    if len(set(digits)) < 2 or not _CARD_PREFIX.match(digits):
        return False
    if digits[0] == "3" and digits[1] in "47" and len(digits) != 15:
        return False
    if digits[0] in "25" and len(digits) != 16:
        return False
    # Separators, when present, must be consistent (4-4-4-4, 4-6-5).
    if re.search(r"[ -]", text) and not re.fullmatch(r"\d{4}([ -])(?:\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?|\d{6}\1\d{4,5})", text):
        return False
    return luhn(digits)


def ssn(text: str) -> bool:
    """
    A US social security number as the SSA issues them: area not 000, 666 or
    9xx, group not 00, serial not 0000, and not a famous invalid one.
    """
    digits = re.sub(r"[ -]", "", text)
    if len(digits) != 9 or not digits.isdigit():
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return False
    if digits in ("078051120", "219099999", "123456789", "111111111", "333333333"):
        return False
    return len(set(digits)) > 1


IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20,
    "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18,
    "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "JO": 30,
    "KW": 30, "KZ": 20, "LB": 28, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
    "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28,
    "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24,
    "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20,
}  # fmt: skip


def iban(text: str) -> bool:
    """
    An IBAN: a known country, that country's length, and ISO 7064 mod 97-10.
    """
    s = re.sub(r"\s", "", text).upper()
    if IBAN_LENGTHS.get(s[:2]) != len(s) or not s[2:4].isdigit():
        return False
    rearranged = s[4:] + s[:4]
    try:
        number = int("".join(str(int(c, 36)) for c in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


def entropy(text: str) -> float:
    """
    Shannon entropy in bits per character.
    """
    if not text:
        return 0.0
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


_PLACEHOLDER = re.compile(
    r"x{4,}|\*{3,}|<[^>]*>|\$\{|\{\{|%\(|example|sample|dummy|placeholder|changeme|your[_-]?|redacted|"
    r"test|fake|secret[_-]?here|password|passwd|env\[|environ|process\.env|getenv|config\.|settings\.|\.\.\.",
    re.I,
)


def placeholder(value: str) -> bool:
    return bool(_PLACEHOLDER.search(value))


def classes(value: str) -> int:
    return sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
            any(not c.isalnum() for c in value),
        )
    )


def liveLooking(value: str, minEntropy: float = 3.0) -> bool:
    """
    A credential value that is not a placeholder and looks random.
    """
    if placeholder(value):
        return False
    return entropy(value) >= min(minEntropy, math.log2(max(len(value), 2)) - 0.3)


def awsAccessKey(text: str) -> bool:
    return not text.endswith("EXAMPLE") and len(set(text[4:])) > 6


def jwt(text: str) -> bool:
    """
    Three base64url parts whose first decodes to a JSON header with C{alg}.
    """
    head = text.split(".", 1)[0]
    try:
        raw = base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))
        header = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return False
    return isinstance(header, dict) and "alg" in header


_CONN = re.compile(r"://([^\s:/@]+):([^\s@/]+)@", re.I)


def connectionString(text: str) -> bool:
    m = _CONN.search(text)
    if not m:
        return False
    password = m.group(2)
    if placeholder(password) or password.lower() in ("pass", "pw", "pwd", "secret", "root", "admin", "postgres", "guest"):
        return False
    return len(password) >= 6


_ASSIGNED = re.compile(r"""[:=]\s*["'`]?([^\s"'`,;]+)""")


def assignedSecret(text: str) -> bool:
    """
    C{password = "..."} style: the value must look random, not like code or
    a placeholder.
    """
    m = _ASSIGNED.search(text)
    if not m:
        return False
    value = m.group(1)
    if len(value) < 12 or placeholder(value) or "(" in value or value.count(".") > 1:
        return False
    if re.fullmatch(r"[a-z_]+|[A-Z_]+|[a-z]+(?:[A-Z][a-z]+)+", value):  # identifiers
        return False
    return classes(value) >= 3 and entropy(value) >= 3.3


def highEntropy(text: str) -> bool:
    """
    A long random token: not hex (hashes, UUIDs), not a public-key blob, not
    base64 of readable text, not a placeholder.
    """
    if re.fullmatch(r"[0-9a-fA-F-]+", text) or text.startswith("AAAA") or placeholder(text):
        return False
    if classes(text) < 3 or entropy(text) < 4.5:
        return False
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return True
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in raw)
    return printable < 0.9 * len(raw)


def email(text: str) -> bool:
    local, _, domain = text.rpartition("@")
    if not local or "." not in domain or domain.endswith("."):
        return False
    tld = domain.rsplit(".", 1)[1]
    return tld.isalpha() and len(tld) >= 2


def phone(text: str) -> bool:
    digits = sum(c.isdigit() for c in text)
    if not 7 <= digits <= 15:
        return False
    try:
        number = phonenumbers.parse(text, None if text.lstrip().startswith("+") else "US")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number)


def ipAddress(text: str) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    if address.version == 4:
        return not text.startswith("0.") and text.count(".") == 3
    return text.count(":") >= 3


VALIDATORS: dict[str, Validator] = {
    "credit_card": creditCard,
    "ssn": ssn,
    "iban": iban,
    "aws_access_key": awsAccessKey,
    "jwt": jwt,
    "connection_string": connectionString,
    "assigned_secret": assignedSecret,
    "high_entropy": highEntropy,
    "live": liveLooking,
    "email": email,
    "phone": phone,
    "ip_address": ipAddress,
}


def validator(name: Optional[str]) -> Optional[Validator]:
    return VALIDATORS[name] if name else None


# What follows an injected condition: the end, a comment, a closing quote or
# bracket, or more SQL; not more prose.
_AFTER = r"(?=\s*['\")]*\s*(?:$|--|#|/\*|;|%00|\)|\b(?:limit|and|or|order|union|group|having|into)\b|['\"]\s*$))"
_TAUT_EQUAL = re.compile(
    r"(?:or|xor|\|\|)\s*\(*\s*(['\"]?)(\w*)\1\s*(?:=|<=>|like|is)\s*\(*\s*['\"]?\2(?:['\"]|\b|$)" + _AFTER,
    re.I | re.A,
)
_TAUT_CMP = re.compile(r"(?:or|xor|\|\|)\s*\(*\s*(\d+)\s*(<>|!=|<|>)\s*(\d+)" + _AFTER, re.I)
_TAUT_BARE = re.compile(r"['\"`]\s*\)*\s*(?:or|\|\|)\s+(?:true|not\s+false|[1-9]\d*)\s*(?:$|--|#|/\*|\)|;)", re.I)
_TAUT_LEAD = re.compile(r"^\s*(?:or|and)\s+(['\"]?)(\w+)\1\s*=\s*['\"]?\2\b", re.I | re.A)


def tautology(text: str) -> bool:
    """
    An always-true condition: the same literal on both sides, a true
    numeric comparison, or C{OR TRUE}.
    """
    if _TAUT_EQUAL.search(text) or _TAUT_BARE.search(text) or _TAUT_LEAD.search(text):
        return True
    for m in _TAUT_CMP.finditer(text):
        a, op, b = int(m.group(1)), m.group(2), int(m.group(3))
        if (op in ("<>", "!=") and a != b) or (op == "<" and a < b) or (op == ">" and a > b):
            return True
    return False


_DELIMITERS = frozenset(" \t\r\n'\"<>|;,()=`")


def _pathTokens(text: str) -> list[str]:
    """
    The delimited tokens of C{text} that contain C{..}.
    """
    out = []
    i = text.find("..")
    n = len(text)
    while i != -1:
        start = i
        while start > 0 and text[start - 1] not in _DELIMITERS:
            start -= 1
        end = i + 2
        while end < n and text[end] not in _DELIMITERS:
            end += 1
        out.append(text[start:end])
        i = text.find("..", end)
    return out


def climb(text: str) -> int:
    """
    How many directory levels the paths in C{text} climb above where they
    start; a climb above C{/} in an absolute path counts as deep as can be.
    """
    best = 0
    for token in _pathTokens(text):
        parts = token.replace("\\", "/").split("/")
        absolute = token.startswith("/") or bool(re.match(r"[a-zA-Z]:/", token.replace("\\", "/")))
        depth = 0
        most = 0
        for p in parts:
            if p in ("", "."):
                continue
            if p == "..":
                depth -= 1
                most = max(most, -depth)
            elif not p.endswith(":"):
                depth += 1
        if absolute and most:
            most = 99
        best = max(best, most)
    return best


VALIDATORS["tautology"] = tautology

# What follows a condition an injection appends: the end, a comment, a
# closing quote or bracket, a terminator, or more SQL.
_TAIL_AFTER = re.compile(
    r"\s*['\")`]*\s*(?:$|--|#|/\*|;|%00|\x00|\)|\b(?:limit|and|or|xor|order|union|group|having|into|procedure|then|else|end)\b)",
    re.I,
)
_BOOLEAN_TAIL = re.compile(
    r"(?:and|or|xor|&&|\|\||having|where)\s*\(*\s*(?:not\s+)?(?:-?\d+(?:\.\d+)?|'[^'\n]{0,20}'|\"[^\"\n]{0,20}\"|true|false|null)\s*\)*\s*"
    r"(?:=|<>|!=|<=>|<=|>=|<|>|\blike\b|\bis\b(?:\s+not\b)?|\brlike\b|\bregexp\b)\s*\(*\s*(?:-?\d+(?:\.\d+)?|'[^'\n]{0,20}'|'[^'\s]{0,20}|\"[^\"\n]{0,20}\"|\"[^\"\s]{0,20}|true|false|null)",
    re.I,
)


def booleanTail(text: str) -> bool:
    """
    A condition on literals alone (C{AND 1=0}, C{OR 'a'='a'}, C{HAVING 1=1})
    that ends the string or meets more SQL: an injected tail, with or
    without a quote before it.
    """
    for m in _BOOLEAN_TAIL.finditer(text):
        if _TAIL_AFTER.match(text, m.end()):
            return True
    return False


_BARE_FUNCTION = re.compile(
    r"\b(?:version|user|database|current_database|schema|db_name|session_user|system_user|current_user)\s*\(\s*(\))?", re.I
)


def schemaProbe(text: str) -> bool:
    """
    A database's catalogue or system function in a value: the names that
    are also words (C{user}, C{version}, C{schema}) count only as a call
    with no argument, C{user()}.
    """
    for m in _BARE_FUNCTION.finditer(text):
        if not m.group(1):
            text = text[: m.start()] + " " * (m.end() - m.start()) + text[m.end() :]
    return _SCHEMA_REST.search(text) is not None or "()" in re.sub(r"\s+", "", text) and _BARE_FUNCTION.search(text) is not None


_SCHEMA_REST = re.compile(
    r"information_schema|\b(?:sysobjects|syscolumns|sysusers|sysdatabases|syslogins|sysibm\.\w+|all_tables|all_users|all_tab_columns|"
    r"user_tables|dba_users|pg_catalog|pg_shadow|pg_user|pg_tables|sqlite_master|sqlite_schema|msysobjects|mysql\.user|rdb\$\w+|"
    r"sys\.(?:tables|objects|databases|sql_logins|server_principals|columns))\b|\bv\$version\b|@@\w+|"
    r"\b(?:sqlite_version|load_extension|pg_read_file|pg_ls_dir|pg_backend_pid|current_setting|suser_sname|is_srvrolemember|sys_context)\s*\(|"
    r"\b(?:dbms_\w+|utl_(?:http|inaddr|file|smtp|tcp))\.\w+",
    re.I,
)

_SEPARATOR = re.compile(r"^\s*['\"]?([^;&|`$()<>'\"\r\n]{0,120}?)['\"]?\s*((?:;|&&?|\|\|?|\n|\r|%0a|%0d)+)\s*['\"]?(\S*)", re.I)
_WINDOWS_WORDS = frozenset(
    "for if cmd dir type set echo start call net ping whoami ver tasklist systeminfo ipconfig copy del powershell".split()
)


def separatorCommand(text: str) -> bool:
    """
    A value, a command separator, then what a shell would run: not a query
    string's next parameter (C{&b=2}), not an assignment, not a
    capitalised word after an ampersand ("Tom & Jerry", "AT&T").
    """
    m = _SEPARATOR.match(text)
    if not m:
        return False
    before, sep, word = m.groups()
    if not word:
        return False
    if re.match(r"[A-Za-z_][\w.-]*=", word) or ("&" in sep and ("?" in before or "=" in before)):
        return False
    if sep == "&" and re.match(r"#?\w{2,8};", word):  # an HTML entity, &quot;
        return False
    if word[0].isupper() and word.split("/")[0].lower().strip(".") not in _WINDOWS_WORDS:
        return False
    spaced = (m.start(2) > 0 and text[m.start(2) - 1].isspace()) or text[m.end(2) : m.end(2) + 1].isspace()
    if before and (spaced or "://" in before or sep == "|"):
        # "notes & todo.md", "jazz; blues", "a|b": a separator between words
        # is a list, an alternation or prose unless a command, a path or an
        # option follows it
        head = re.match(r"[A-Za-z_][\w+-]*", word)
        if head is None:
            return word[0] in "/~$`({\\" or word.startswith(("./", "../"))
        if _COMMAND_WORD.fullmatch(head.group(0)):
            return True
        rest = text[m.end(3) : m.end(3) + 40]
        return head.end() == len(word) and re.match(r"\s+(?:-{1,2}[a-z]|/|\$)", rest) is not None
    return True


_COMMAND_WORD = re.compile(
    r"(?:" + BARE_COMMANDS + "|" + WORD_COMMANDS + r"|net|type|ver|set|start|for|if|call|copy|del|timeout|reg|sc|taskkill)",
    re.I,
)


_BREAKOUT = re.compile(
    r"^[^'\"`\s]{0,64}['\"`]\s*\)*\s*(?:or|and|xor|not|is|in|like|rlike|regexp|glob|match|similar|collate|notnull|isnull|"
    r"between|div|mod|union|order|group|having|limit|procedure|into|where|insert|update|delete|drop|create|alter|exec|execute|"
    r"declare|select|grant|truncate|replace|merge|call|print|shutdown|waitfor|sounds)\b",
    re.I,
)
_SQL_REST = re.compile(r"[=<>(;#@\[{]|--|/\*|\d|\b(?:like|regexp|rlike|glob|to|mod|div|is|in)\s+['\"(]", re.I)


def quoteBreakout(text: str) -> bool:
    """
    A value that closes its quote and goes on in SQL with an operand SQL
    would take (a comparison, a call, a comment, a literal), not a quoted
    phrase of prose ("DANCIN' LIKE A ROBOT").
    """
    m = _BREAKOUT.match(text)
    return m is not None and _SQL_REST.search(text, m.end()) is not None


# Validators that judge the whole string a rule hit in, not the match.
WHOLE_TEXT: dict[str, Validator] = {
    "tautology": tautology,
    "boolean_tail": booleanTail,
    "schema_probe": schemaProbe,
    "separator_command": separatorCommand,
    "quote_breakout": quoteBreakout,
}
