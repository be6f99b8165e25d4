"""
Checks a pattern cannot make: checksums, validity rules, entropy.  Each takes
the matched text and answers whether it is the real thing.
"""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import json
import math
import re
import unicodedata
from collections import Counter
from typing import Any, Callable, Iterable, Optional


from akto_proxy.inspect.checks.rules import BARE_COMMANDS, CHAINED, CONTACT_COLUMN, WORD_COMMANDS
from akto_proxy.inspect.checks.deobfuscate import runsHidden
from akto_proxy.inspect.checks.shell import commandInValue
from akto_proxy.inspect.message import CONTROL_CODES
from akto_proxy.inspect.paths import leavesStart, locationValue, nulTruncation

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
    # a run of x stands for hidden characters where it ends a word or is
    # much of the value (sk_live_xxxx, XXXX-XXXX, AKIAXXXXXXXXXXXXXXXX),
    # not inside a random run of letters (q3ZxXXXXk9Pa)
    r"(?:^|[^a-z0-9])x{4,}|x{4,}(?:$|[^a-z0-9])|x{12,}|\*{3,}|<[\w .:/-]*>|\$\{|\{\{|%\(\w+\)|example|placeholder|changeme|redacted|"
    r"secret[_-]?here|password|passwd|env\[|environ|process\.env|getenv|config\.|settings\.|\.\.\.|"
    # a reference into a secret manager (bank-vaults, helm-secrets/vals,
    # AWS Secrets Manager and SSM, Azure Key Vault, SOPS)
    r"^(?:vault|ref\+\w+|arn:aws:(?:secretsmanager|ssm)|akv|azurekeyvault|keyvault|awssm|gcpsm|sops|secretsmanager):|"
    # what a tool prints instead of a value (Terraform's "(sensitive
    # value)"), and a value SOPS encrypted in place
    r"^\((?:sensitive|redacted|hidden|masked|secret)\b|^ENC\[|"
    # a shell variable or command standing for the value (https://$USER:$TOKEN@...)
    r"^\$[A-Za-z_]\w*$|^\$\(|"
    # and what CI systems and log filters print (GitLab's [MASKED],
    # Travis's [secure], Rails' [FILTERED])
    r"^\[(?:masked|secure|hidden|filtered|sensitive|secret|encrypted|protected|omitted|removed)\]",
    re.I,
)


#: words a person writes into a made-up value (C{sk_test_...},
#: C{your-api-key}, C{fake-token-123}); a random value holds one by chance
_PLACEHOLDER_WORD = re.compile(r"test|fake|your|dummy|sample", re.I)


def placeholder(value: str) -> bool:
    if _PLACEHOLDER.search(value) or sequence(value):
        return True
    return any(not _byChance(value, m.start(), m.end()) for m in _PLACEHOLDER_WORD.finditer(value))


def _next(a: str, b: str) -> bool:
    return a.isalnum() and (ord(b) == ord(a) + 1 and b.isalnum() and a.isdigit() == b.isdigit() or a + b == "90")


def sequence(value: str) -> bool:
    """
    Whether C{value} is made up of letters or digits in alphabet order
    (C{sk_abcdefghijklmnopqrstuvwxyz123}, C{abc123xyz-456def789ghij-klmnop...},
    the alphabet itself, C{dapi1234567890123456...}): runs of four or more
    in order make a third of it, one of twenty or two with one of ten. A
    random draw holds such a run almost never. (One shorter run among
    random characters, C{A3T0ABCDEFGHIJKLMNOP}, C{abcd1234efgh5678}, is left
    to the other checks: the corpus counts such examples as leaks.)
    """
    runs: list[int] = []
    count = 1
    for a, b in zip(value, value[1:] + "\0"):
        if _next(a, b):
            count += 1
            continue
        if count >= 4:
            runs.append(count)
        count = 1
    if not runs or sum(runs) * 3 < len(value):
        return False
    return max(runs) >= 20 or (len(runs) >= 2 and max(runs) >= 10)


def _byChance(value: str, start: int, end: int) -> bool:
    """
    Whether the placeholder word at C{value[start:end]} is letters of a
    random run rather than a word: glued to letters or digits on both sides
    (no separator, not the start or the end, not a capitalised word of its
    own), in a value that, without the word, is random enough on its own
    (C{ghp_A5bjFDVY0WxNCptUL5xO6test5i0u...}, not C{mytesttoken},
    C{sk_test_...}, C{yourApiKey}, C{TestToken42}).
    """
    if start == 0 or end == len(value) or not (value[start - 1].isalnum() and value[end].isalnum()):
        return False
    word = value[start:end]
    if word[0].isupper() and not word.isupper() and value[start - 1].islower():
        return False  # a camel-cased word: myTestKey
    rest = value[:start] + value[end:]
    return len(rest) >= 20 and classes(rest) >= 3 and entropy(rest) >= 4.0


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


_VENDOR_PREFIX = re.compile(r"^(?:[A-Za-z]+[-_.])+")


def vendorToken(text: str) -> bool:
    """
    A vendor token whose prefix words also begin (C{live_}, C{KEY},
    C{xoxb-}): after the prefix, letters and digits mixed, random enough
    for its length, not a placeholder.
    """
    body = _VENDOR_PREFIX.sub("", text)
    if len(body) < 8 or placeholder(body):
        return False
    if not (any(c.isdigit() for c in body) and any(c.isalpha() for c in body)):
        return False
    return entropy(body) >= min(3.0, math.log2(len(body)) - 0.5)


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


_CONN = re.compile(r"://([^\s:/@]*):([^\s@/]+)@|:(?:thin|oci):([\w$#.-]+)/([^\s@/]+)@", re.I)


def connectionString(text: str) -> bool:
    m = _CONN.search(text)
    if not m:
        return False
    password = m.group(2) or m.group(4)
    if placeholder(password) or password.lower() in ("pass", "pw", "pwd", "secret", "root", "admin", "postgres", "guest"):
        return False
    return len(password) >= 6


# --- secrets: a name that says secret, a value that looks random -------------

_ASSIGNMENT = re.compile(
    r"""^[\s"'`<]*(?P<name>[\w.-]+)["'`]{0,2}\]?\s*(?:"""
    # (a type between: apiKey: string = "...", Dim key As String = "...")
    r"""(?:\s*:\s*[A-Za-z][\w.?]{0,20}|\s+as\s+[A-Za-z]\w{0,20})\s*=\s*(?=["'])|"""
    # (after a colon or a tag the value may start on the next line, as YAML
    # and XML allow; after = or a bar or a comma it is on the same line: an
    # empty -Dsonar.projectKey= is followed by the next option, not its value)
    r""":{1,2}=?|={1,3}|[?+.]=|=>|\||>|["'`]?\s*,|[ \t]+(?:is[ \t]+)?)(?:(?<=[:>])\s*|[ \t]*)(?:[b@](?=["']))?"""
    # a quoted value (its quote doubled in C# and CSV) runs to its own
    # closing quote; an unquoted one to the first separator
    r"""(?:(?P<q>["'`]){1,3}(?:(?:bearer|token|basic)\s+)?(?P<quoted>(?:(?!(?P=q))\S)+)|(?:(?:bearer|token|basic)\s+)?(?P<value>[^\s"'`,;|<>]+))""",
    re.I,
)
#: the words of a name or a value: camel-cased and capitalised words, runs
#: of capitals, runs of digits (separators between them dropped)
_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def nameWords(name: str) -> list[str]:
    """
    The words of a name, lowercased: C{stripeSecretKey}, C{DB_PASSWORD},
    C{slackPostMessage} -> C{stripe secret key}, C{db password}, C{slack
    post message}.
    """
    return [w.lower() for w in _WORDS.findall(name)]


#: the last word of a name that holds a secret
SECRET_WORDS = frozenset(
    "key token secret password passwd passphrase pwd pass auth authorization credential credentials cred creds "
    "apikey salt signature dsn sas pw secretkey accesskey privatekey authtoken accesstoken "
    # abbreviations: a personal access token, a pre-shared key, an HMAC key;
    # Redis's directives for its password
    "pat psk hmac requirepass masterauth".split()
)
#: words that make a name something else: a public or lookup key, a page
#: cursor, a setting about secrets rather than one
NOT_SECRET_WORDS = frozenset(
    "public publishable pub primary foreign sort partition cache idempotency next continuation pagination "
    "cursor csrf xsrf sync object row range registry translation i18n message lookup map dict hash "
    "url uri endpoint header path file ttl type name length size expiry expires expiration id prefix format "
    "count limit max min version enabled required env field label hint policy algorithm method location scope "
    "scopes audience issuer lifetime duration timeout seconds mode kind store provider manager class dir "
    "directory reset forgot confirm confirmation strength policy rotation tokens keys secrets passwords "
    "input placeholder description help placeholder default rule regex pattern validator "
    # a form's anti-forgery token (Rails, ASP.NET): sent back in every page
    "authenticity verification antiforgery".split()
)
# (a sigil starts a reference, C{$VAR}, C{@var}, C{&anchor}; a generated
# password may start with C{@} or C{&} before a digit or a sign)
_CODE = re.compile(r"^(?:\$|[@&](?=[A-Za-z_{(])|[{\[(])|^%(?:\w+%|[({])|[)\]]$|(?-i:^[A-Z][A-Z0-9]*_[A-Z0-9_]*=|^[a-z]+(?:\.[a-z]+(?:[_-][a-z]+)*)+=)|^![A-Za-z]+\d*$|^#\{|\(|\[|\{\{|\}\}|\}$|\$\{|::|^[A-Za-z_][A-Za-z_]*(?:\.[A-Za-z_][A-Za-z_]*)+$|^(?:os|process|env|self|this|config|settings|request|params)\.", re.I)
_IDENTIFIER = re.compile(r"[a-z]+(?:[_.-][a-z]+)*|[A-Z]+(?:[_.-][A-Z]+)*|[A-Za-z][a-z]+(?:[A-Z][a-z]+)*|\d+(?:\.\d+)*")
_INTERPOLATION = re.compile(r"\$\{|#\{|\{\{|%\(\w+\)|%\w+\(|^\$[A-Za-z_(]|^%[A-Za-z_]\w*%$|^[\w.]+\(.*\)$")
_PUBLIC_VALUE = ("ssh-", "ecdsa-", "sk-ssh", "sk-ecdsa", "AAAA", "pk_live_", "pk_test_", "sha256:", "sha512-", "sha384-", "sha1-")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


#: words of a namespace that say where a secret is kept (C{secrets.api_key},
#: C{process.env.API_KEY}, C{keys.stripe_key}) or whose it is (Play's
#: C{db.default.password}: the default database's)
_NAMESPACE_WORDS = frozenset("secrets keys tokens passwords env default".split())

#: words after a secret's name that say how it is written, not what it is
#: (C{SECRET_KEY_BASE}, C{client-key-data}, C{API_KEY_B64})
_ENCODING_WORDS = frozenset("base data value b64 base64 hex raw str string encoded bytes".split())


#: how a name says its value is encoded (C{HMAC_KEY_B64}: "B", "64" as words)
_WRITTEN_AS = re.compile(r"[_.-]?(?:b64|base64|hex)$", re.I)

#: secret words long enough to end a word run together (C{PGPASSWORD},
#: C{ROOTTOKEN}); not C{key}, C{auth} (monkey, oauth); C{pass} after a
#: word that is not one of the English words ending so (C{MYSQLPASS},
#: C{dbpass}; not C{bypass}, C{compass}, a filter's C{highpass})
_COMPOUND_SECRET = ("password", "passwd", "passphrase", "secret", "token", "pass")
_BEFORE_PASS = frozenset(
    "by com encom sur tres over under re im multi single one two first second third high low band all notch "
    "render sub shadow depth color colour light blur bloom output final main post pre".split()
)
#: a password's name misspelt or shortened (C{PSWD}, C{PSSWRD}, C{PASWORD},
#: C{passwrd}): the letters of "password" in order, some dropped
_PASSWORD_SPELLED = re.compile(r"pa?s{1,2}wo?r?d")


def secretWords(name: str) -> list[str]:
    """
    The words of a name as L{secretName} reads them: its own part (after
    the last dot), what says how it is written dropped (C{_B64}, C{_DATA},
    a number), a secret word run together split off (C{PGPASSWORD}: C{pg
    password}), a misspelt password's name read as C{password}.
    """
    own = name.rpartition(".")[2]
    words = nameWords(_WRITTEN_AS.sub("", own))
    while words and (words[-1].isdigit() or words[-1] in _ENCODING_WORDS):
        words.pop()
    if words and words[-1] not in SECRET_WORDS:
        last = words[-1]
        if _PASSWORD_SPELLED.fullmatch(last):
            words[-1] = "password"
            return words
        # one word run together (PGPASSWORD, ADMINPASS; not bypass, compass)
        for suffix in _COMPOUND_SECRET:
            if last.endswith(suffix) and len(last) > len(suffix) and last[:-len(suffix)] not in NOT_SECRET_WORDS:
                if suffix == "pass" and last[:-4] in _BEFORE_PASS:
                    break
                words[-1:] = [last[:-len(suffix)], suffix]
                break
    return words


def secretName(name: str) -> bool:
    """
    Whether a variable, key or header name says it holds a secret: its last
    word is one of L{SECRET_WORDS} (C{DB_PASSWORD}, C{stripeSecretKey},
    C{X-Api-Key}, C{spring.datasource.password}) and no word makes it
    something else (C{public_key}, C{next_page_token}, C{TOKEN_URL}).
    """
    space = name.rpartition(".")[0]
    words = secretWords(name)
    if not words or words[-1] not in SECRET_WORDS:
        return False
    # (the dotted namespace a name sits in, secrets.api_key,
    # process.env.API_KEY, says where it is kept, not what it is)
    # (a store's password is the keystore's: storePassword, KEYSTORE_PASS)
    kept = _STORE_WORDS if words[-1] in _PASSWORD_WORDS else ()
    return not any(w in NOT_SECRET_WORDS and w not in kept for w in words) and not any(
        w in NOT_SECRET_WORDS and w not in _NAMESPACE_WORDS for w in map(str.lower, _WORDS.findall(space))
    )


_PASSWORD_WORDS = frozenset("password passwd passphrase pwd pass".split())
_STORE_WORDS = frozenset(("store",))


def secretValue(value: str, strong: bool = True, quoted: bool = False) -> bool:
    """
    Whether an assigned value looks like a credential: not a placeholder,
    a reference (C{${X}}, C{os.environ[...]}), code, an identifier, a
    number, a URL, a public key or digest; and random enough for its length.
    A weak name (a bare C{key}) needs a longer, more random value.  A
    C{quoted} value is a literal: brackets and sigils in it are characters,
    not code (a Django C{SECRET_KEY}), unless they interpolate.
    """
    value = value.strip("\"'`")
    if quoted and len(value) >= 40 and "://" not in value and classes(value) == 4 and entropy(value) >= 5.0:
        return True  # a generated salt (WordPress'): a {{ or #{ in it is chance, not a template
    code = _INTERPOLATION.search(value) if quoted else _CODE.search(value)
    if len(value) < 6 or placeholder(value) or code or "://" in value:
        return False
    if value.startswith(_PUBLIC_VALUE) or _IDENTIFIER.fullmatch(value):
        return False
    if value[0] == "-" and _IDENTIFIER.fullmatch(value.lstrip("-")):
        return False  # an option: args: [eks, get-token, --cluster-name, prod]
    if value.lower() in _DUMMY_PASSWORDS:
        return False
    n = len(value)
    h = entropy(value)
    kinds = classes(value)
    if not strong:
        return n >= 20 and h >= 3.5 and not _UUID.fullmatch(value) and not re.fullmatch(r"[0-9a-fA-F]+", value)
    if n < 8:
        return kinds >= 3 and h >= 2.5
    if n < 16:
        # (letters and digits drawn at random mix their runs: w096rfa00f,
        # not a word and a number, admin2024)
        mixed = kinds >= 2 and len(_DIGIT_RUNS.findall(value)) >= 2 and len(_LETTER_RUNS.findall(value)) >= 2
        return kinds >= 3 or (kinds >= 2 and h >= math.log2(n) - 0.6) or (mixed and h >= math.log2(n) - 1.0)
    return kinds >= 2 and h >= 3.0 or h >= 3.5


_DIGIT_RUNS = re.compile(r"\d+")
_LETTER_RUNS = re.compile(r"[A-Za-z]+")


_DUMMY_PASSWORDS = frozenset(
    "password passw0rd p@ssw0rd p@ssword letmein qwerty123 admin123 secret123 changeit changeme12 "
    "hunter2 12345678 123456789 1234567890 abcdefgh abc12345 none null undefined true false".split()
)


_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


_SENTENCE = re.compile(r"[A-Za-z,.;:'!?()-]+(?: [A-Za-z,.;:'!?()-]+){2,}")
_BASIC = re.compile(r"[^:\s]{1,64}:(\S{6,})")


def _readableBase64(value: str, lineEnd: bool = False) -> Optional[str]:
    """
    The text C{value} is the base64 of, when it is printable text (as a
    Kubernetes Secret's C{data} holds every value); None otherwise (a
    random key written in base64 decodes to bytes). With C{lineEnd}, text
    that ends in a line break (what C{echo V | base64} encodes) is read
    without it.
    """
    if len(value) < 8 or not _BASE64.fullmatch(value):
        return None
    try:
        plain = base64.b64decode(value, validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        return None
    if lineEnd and plain.endswith("\n"):
        plain = plain[:-2] if plain.endswith("\r\n") else plain[:-1]
    return plain if plain.isprintable() else None


#: the rest of a table cell after its first word: more words (the rule's
#: C{confirm} takes them in up to the cell's end)
_PROSE_CELL = re.compile(r"[ \t]+[^\s|`'\"][^|\n]*(?:\||\n|$)")


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9-]{1,23}")
_SCHEME_VALUE = re.compile(r"""[ \t]+([^\s"'`,;|<>]{6,})""")


#: the resource part of a Secrets Manager ARN after C{secret}: its name and
#: the six characters the service appends
_ARN_SECRET = re.compile(r":[\w/+=.@-]+-[A-Za-z0-9]{6}[\"']?")


_VOWEL = re.compile(r"[aeiou]", re.I)
#: four consonants in a row: rare in words, common in random letters
_CLUSTER = re.compile(r"[b-df-hj-np-tv-z]{4}", re.I)


#: a name and a version after a dash (a package's coordinate)
_VERSIONED = re.compile(r"[A-Za-z][\w.-]*-v?\d+(?:\.\d+){1,3}")
#: a lowercase word and the punctuation that ends a clause
_PROSE_WORD = re.compile(r"[a-z]{3,}[.,;:!?]")


def wordValue(value: str) -> bool:
    """
    Whether a value is made of words and small numbers, not drawn at
    random: a name, a label or a version (C{SalesResults-1.2},
    C{DOC_Vector_5_32}, C{chain_Anvil2_Key}, C{combination.}). Random
    letters and digits break into many runs of one or two letters
    (C{gl1ul96nb9daj79z}) or hold four consonants in a row
    (C{xedtjtpoag}); words keep three letters or more, a fifth of the
    long ones' letters vowels (not C{JBSWY3DPEHPK}, base32), and numbers
    of up to four digits, most of the value letters.
    """
    if len(value) > 120:
        return False
    words = _WORDS.findall(value)
    if not words or len(words) > 6 or sum(map(len, words)) < len(value.strip(".,;:!?")) * 0.7:
        return False
    letters = [w for w in words if not w.isdigit()]
    digits = [w for w in words if w.isdigit()]
    if not letters or any(len(d) > 4 for d in digits) or len(digits) > 3:
        return False
    if sum(map(len, letters)) < sum(map(len, words)) * 0.6 or not any(len(w) >= 4 for w in letters):
        return False
    short = sum(len(w) < 3 for w in letters)
    return short <= (1 if len(letters) >= 3 else 0) and all(
        len(w) < 4 or (len(_VOWEL.findall(w)) >= len(w) * 0.2 and not _CLUSTER.search(w)) for w in letters
    )


def assignedSecret(text: str) -> bool:
    """
    C{NAME = value} in any of the ways configuration writes it: the name
    must say secret (L{secretName}) and the value look like one
    (L{secretValue}).
    """
    m = _ASSIGNMENT.match(text)
    if not m:
        return False
    name = m.group("name")
    group = "quoted" if m.group("quoted") is not None else "value"
    value = m.group(group)
    # (a literal when the quote is right before it: "Bearer x.y" is not)
    quoted = m.start(group) > 0 and text[m.start(group) - 1] in "\"'`"
    if not secretName(name):
        return False
    if not quoted and value.endswith(")") and "(" not in value:
        value = value[:-1]  # (pw:IhqSb1Gg): the bracket the note closes, not the value's
    if name.lower() == "secret" and _ARN_SECRET.fullmatch(text, m.end("name")):
        return False  # an ARN's resource part: secret:prod/db-AbCdEf names a secret
    after = _SCHEME_VALUE.match(text, m.end(group))
    if after is not None and name.lower().endswith("authorization") and _SCHEME.fullmatch(value):
        # Authorization: <scheme> <credentials>, whatever the scheme (SSWS,
        # Splunk, GenieKey, Api-Key): the credentials are the value
        return secretValue(after.group(1), quoted=True)
    # prose ("the token abc...") and bare short names need more to go on
    weak = name.lower() in ("key", "pass", "auth", "pw", "token", "secret") and not re.search(r"[:=|>]", text[m.end("name"):m.start(group)])
    if "|" in text[m.end("name"):m.start(group)] and _PROSE_CELL.match(text, m.end(group)):
        return False  # | DB_PASSWORD | Database password |: a table that describes
    # a literal: quoted and closed right after the value (the whole literal
    # is the value), or an env file's line; assigned with = or :, not a
    # list's next item, or quoted after "is" ("the password is '...'")
    between = text[m.end("name"):m.start(group)]
    if quoted:
        literal = m.end(group) < len(text) and text[m.end(group)] == text[m.start(group) - 1]
    else:
        literal = _ENV_ASSIGNMENT.fullmatch(text) is not None or (
            _PROPERTY_LINE.fullmatch(text) is not None and not _CAMEL_IDENTIFIER.fullmatch(value)
        )
    assigned = re.search(r"[=:]", between) is not None or quoted and re.fullmatch(r"[ \t]+is[ \t]+[\"'`]", between) is not None
    strong = not weak and name.lower() not in ("key", "pass", "auth", "pw")
    last = secretWords(name)[-1]  # (a password's name run together or misspelt: dbpasswd, PSWD)
    if (len(value) <= 16 or "." in value) and wordValue(value) and last not in _PASSWORD_WORDS:
        # (a password may be words, Winter2012!: judged as before; a longer
        # value of words without dots is left to the checks below)
        return False
    if _VERSIONED.fullmatch(value):
        return False  # jjwt-jackson-0.11.2: a package and its version
    if not quoted and _PROSE_WORD.fullmatch(value):
        return False  # the password combination. (a sentence's word)
    if _SLACK_PREFIX.match(value) and not slackToken(value):
        return False  # "token": "xoxp-1234-1234-...": Slack's shape, made up
    plain = _readableBase64(value)
    if plain is not None:
        basic = _BASIC.fullmatch(plain)
        if basic:  # user:password (a docker config's auth, a Basic header)
            return secretValue(basic.group(1), quoted=True)
        if _SENTENCE.fullmatch(plain) or placeholder(plain) or _INTERPOLATION.search(plain):
            return False
        if not any(c.isspace() for c in plain):  # (a document, JSON, a key file: judged as written)
            value, quoted = plain, True
    mode = _MODE_VALUE.fullmatch(value)
    if mode is not None and strong:
        # test_<random>, live_<hex> under a secret's name: a key of the
        # mode it names (a word would make the value a placeholder)
        return randomRun(mode.group("body"), 20) or lowerRun(mode.group("body"), mode=True)
    if secretValue(value, strong=strong, quoted=quoted):
        return True
    if assigned and not weak and last in _PASSWORD_WORDS | {"pw"} and drawnPassword(value):
        # a short password drawn at random after a password's name, bare
        # ones too (pw:IhqSb1Gg, pass=dipPr144Gg!: a note, a chat line)
        return True
    # a password written as a literal may be a word: the name says what it
    # is (super$ecret, whiteduke)
    return literal and strong and assigned and last in _PASSWORD_WORDS and passwordLiteral(value)


_KEY_PHRASE = re.compile(r"(?P<word>[A-Za-z]+)[ \t]+(?P<key>key)", re.I)


def keyPhrase(text: str) -> bool:
    """
    C{access key: V}, C{Authentication key : V}, C{SECRET KEY=V}: a key
    named by two words in prose, then its value, judged as C{access_key: V}
    is (a bare C{key} needs a longer value: a lookup's, a dictionary's).
    """
    m = _KEY_PHRASE.match(text)
    if m is None or _PATH_VALUE.match(text, m.end()):
        return False  # private key: ~/.ssh/id_rsa names a file
    return assignedSecret(m.group("word") + "_" + m.group("key") + text[m.end():])


_PATH_VALUE = re.compile(r"""[ \t]*[:=][ \t]*["']?(?:~|\.{0,2}/|[A-Za-z]:\\)""")


def drawnPassword(value: str) -> bool:
    """
    Whether a value is a password drawn at random, as generators and people
    asked for one write it (C{IhqSb1Gg}, C{dipPr166Gg!}, C{Prl23Db#@}):
    eight to 40 characters, letters and a digit and a third kind (the
    other case or a sign), the kinds switching at least every other
    character (C{Summer2024!}, C{getUser2}, C{v1.2.3-RC} switch less or
    are words); not a placeholder, code, a path or a version.
    """
    if not 8 <= len(value) <= 40 or classes(value) < 3 or not any(c.isdigit() for c in value):
        return False
    if sum(c.isalpha() for c in value) < 3 or _switches(value) < 0.5:
        return False
    if placeholder(value) or _CODE.search(value) or _INTERPOLATION.search(value) or "://" in value or re.search(r"[/\\.]\w", value):
        return False
    return not wordValue(value) and not _VERSIONED.fullmatch(value) and not _UUID.search(value)


#: a secret's name and the literal code falls back to when the variable is
#: unset: C{process.env.API_KEY || "V"}, C{os.environ.get("PASSWORD") or
#: "V"}, C{env("SECRET_KEY", default="V")}, the shell's C{${DB_PASSWORD:-V}}
_DEFAULT_VALUE = re.compile(
    r"""(?P<name>[\w.-]+)["'`)\]]{0,5}[ \t]*(?:\|\||\?\?|\?:|or\b|,[ \t]*default[ \t]*=)[ \t]*["'`](?P<value>[^\s"'`]+)|"""
    r"""\$\{(?P<shell>\w+):?[-=](?P<bare>[^\s}"'`]+)""",
    re.I,
)
#: the names that say secret and nothing more (a longer value is needed)
_BARE_NAMES = frozenset(("key", "pass", "auth", "pw", "token", "secret"))


def defaultSecret(text: str) -> bool:
    """
    The literal a secret's variable falls back to (L{_DEFAULT_VALUE}) is
    the secret wherever the variable is unset: judged as an assigned value
    that must look drawn, not as a literal that may be a word (a default
    of C{postgres}, C{changeme}, C{secret} is a development stand-in).
    """
    m = _DEFAULT_VALUE.match(text)
    if m is None:
        return False
    name = m.group("name") or m.group("shell")
    value = m.group("value") or m.group("bare")
    if not secretName(name) or wordValue(value) or _VERSIONED.fullmatch(value):
        return False
    if secretValue(value, strong=name.lower() not in _BARE_NAMES, quoted=True):
        return True
    return secretWords(name)[-1] in _PASSWORD_WORDS | {"pw"} and drawnPassword(value)


#: a variable set by a command that takes its name and value as words
#: (Windows' C{setx NAME V}, csh's and launchd's C{setenv NAME V})
_SET_VARIABLE = re.compile(r"""(?:setx|setenv)[ \t]+["']?(?P<name>[\w.-]+)["']?[ \t]+(?P<q>["']?)(?P<value>[^\s"']+)""", re.I)


def setVariable(text: str) -> bool:
    """
    C{setx "NAME" "V"}: judged as C{NAME="V"} (and C{NAME=V}) is.
    """
    m = _SET_VARIABLE.match(text)
    return m is not None and assignedSecret(m.group("name") + "=" + m.group("q") + m.group("value") + m.group("q"))


_SECURE_VALUE = re.compile(r"""ConvertTo-SecureString(?:[ \t]+-(?:String|AsPlainText|Force)\b)*[ \t]+(?P<q>["']?)(?P<value>[^\s"'$(-][^\s"']*)""", re.I)


def secureString(text: str) -> bool:
    """
    C{ConvertTo-SecureString "V" -AsPlainText}: the plain text a script
    turns into a credential is a password written into it, judged as
    C{password="V"} is.
    """
    m = _SECURE_VALUE.match(text)
    return m is not None and assignedSecret("password=" + m.group("q") + m.group("value") + m.group("q"))


def urlToken(text: str) -> bool:
    """
    A token written as a URL's whole userinfo (C{https://<token>@github.com/o/r.git},
    as git and many APIs take one): drawn at random, twenty characters or
    more; not a word, an identifier, a UUID or a Sentry DSN's public key
    (32 hexadecimal digits: a DSN is public by design).
    """
    userinfo = text.partition("://")[2].partition("@")[0]
    if len(userinfo) < 20 or re.fullmatch(r"[0-9a-f]{32}", userinfo, re.I) or _UUID.fullmatch(userinfo):
        return False
    if not (any(c.isdigit() for c in userinfo) and any(c.isalpha() for c in userinfo)):
        return False
    return not wordValue(userinfo) and secretValue(userinfo, quoted=True)


#: a value that is a mode and a body: a vendor's key without its vendor's
#: prefix (C{test_<hex>}, Lob's secret keys); not a publishable key's
#: C{test_pub_}
_MODE_VALUE = re.compile(r"(?:live|test|prod|sandbox)_(?P<body>[A-Za-z0-9]{24,})")
#: an env file's line, whole: an upper-case name, C{=} (or C{: } as a
#: compose file's environment map writes it), an unquoted value, a comment
#: after it (C{# REACT_APP_PASS=...}: commented out, still there)
_ENV_ASSIGNMENT = re.compile(r"(?:#[ \t]*)?(?:export[ \t]+)?[A-Z][A-Z0-9_]*(?:=|:[ \t]+)[^\s\"'`]+(?:[ \t]+#.*)?\s*")
#: a Java properties file's line, whole: a lowercase name of three dotted
#: parts or more (C{spring.datasource.password}, C{mail.smtp.password}),
#: C{=} with no blank around it, an unquoted value to the line's end (code's
#: C{user.password = newPass;} has blanks, a receiver and a semicolon)
_PROPERTY_LINE = re.compile(r"[a-z][\w-]*(?:\.[a-z][\w-]*){2,}=[^\s\"'`]*[^\s\"'`;)]\s*")
#: (a variable's name, C{newPass}, C{userPwd}: what code assigns)
_CAMEL_IDENTIFIER = re.compile(r"[a-z]+(?:[A-Z][a-z]+)+")
#: what a password field's value is when it describes the field rather
#: than fill it: a schema's type, a form's rule, a mask, a store's word
_FIELD_WORDS = frozenset(
    "string text str required optional hidden weak strong expired short long valid changed reset same different "
    "masked mask none null nil true false yes no empty blank default input "
    "field value secret password passwd admin root guest user test demo sample example invalid wrong incorrect "
    "plain plaintext unencrypted bcrypt argon2 argon2id scrypt sha256 sha512 md5 hash hashed encrypted protected sensitive "
    "redacted omitted removed unset undefined random generated auto prompt ask stdin env file vault "
    # the defaults of a compose file's database services
    "postgres postgresql mysql mariadb redis mongo mongodb rabbitmq guest".split()
)
#: a natural-language word written as a label (Passwort, Kennwort): a
#: capital, then lowercase letters only
_LABEL = re.compile(r"[A-Z][a-z]+")
#: a type's name (C{DB_PASSWORD: SecretStr}, a settings class's field)
_TYPE_NAME = re.compile(r"(?:[A-Z][a-z0-9]+){2,}")


def passwordLiteral(value: str) -> bool:
    """
    Whether a literal a password's name is given can be a password although
    it is not random (L{secretValue} judges random ones): six to 64
    characters of ASCII with a lowercase letter, no blank; not a
    placeholder, a reference or a dummy (C{changeme}, C{password123}); not
    a word describing the field (C{string}, C{required}, C{hidden}:
    L{_FIELD_WORDS}), a translated label (C{Passwort}) or a dotted name or
    path. A weak password is still one: C{whiteduke}, C{super$ecret},
    C{team10}.
    """
    if not 6 <= len(value) <= 64 or not value.isascii() or not any(c.islower() for c in value):
        return False
    if len(set(value.lower())) <= 2 or any(c.isspace() for c in value) or placeholder(value) or _INTERPOLATION.search(value) or _CODE.search(value):
        return False
    if value.lower() in _DUMMY_PASSWORDS or value.lower().rstrip("0123456789!") in _FIELD_WORDS or _LABEL.fullmatch(value) or _TYPE_NAME.fullmatch(value):
        return False
    return not re.search(r"[/\\.]\w", value) and not value.startswith(_PUBLIC_VALUE) and not _UUID.search(value)


_CLI_VALUE = re.compile(r"""(?:\s(?:--body|-b|--secret-string|--value)(?:[ \t]+|=)?|<<<[ \t]*)['"]?([^\s'"]{6,})""")
_ECHO_VALUE = re.compile(r"""\b(?:echo|printf)\b(?:[ \t]+-[neE]+)*(?:[ \t]+['"]%s(?:\\n)?['"])?[ \t]+['"]?([^\s'"|]{6,})""")


def cliSecret(text: str) -> bool:
    """
    A value handed to a command that stores it as a secret (C{gh secret
    set X --body V}, C{echo V | wrangler secret put X}): the command says
    secret, so the value needs only to look like one.
    """
    m = _CLI_VALUE.search(text) or _ECHO_VALUE.search(text)
    if m is None:
        return False
    value = m.group(1)
    return secretValue(value, quoted=True) or secretValue(value, strong=False)


_LAST_VALUE = re.compile(r"""[\s:'"(,=]-?(?:p|k|pass(?:in|out|word)?\s+pass:)?['"]?([^\s'":,]{6,})['"]?\s*\)?$""")


def userPassword(text: str) -> bool:
    """
    A password given on a command line or in a call (C{curl -u user:pw},
    C{mysql -pPW}, C{sshpass -p PW}, C{auth=('user', 'pw')}): the last
    value looks like one.
    """
    m = _LAST_VALUE.search(text)
    if m is None or placeholder(m.group(0)):  # (-u <user:password>: not read as -p assword>)
        return False
    password = m.group(1)
    if secretValue(password, quoted=True) or secretValue(password, strong=False) or appPassword(password.strip("\"')")):
        return True
    # a call's argument by its place (NetworkCredential(user, pw),
    # DirectoryEntry(path, user, pw)) is a password literal: it may be a word
    # and PsExec's -p says password: a word there is one
    if _PASSWORD_FLAG.match(text):
        return passwordLiteral(password)
    return _CREDENTIAL_CALL.match(text) is not None and m.group(0).endswith(("\"", "'")) and passwordLiteral(password)


_CREDENTIAL_CALL = re.compile(r"\w+\s*\(")
_PASSWORD_FLAG = re.compile(r"(?:ps|pa)exec", re.I)


def netrcPassword(text: str) -> bool:
    """
    A .netrc entry's password (C{machine host login user password pw}): a
    random one, or a word (the keyword says what it is; L{passwordLiteral}).
    """
    password = text.split()[-1]
    return secretValue(password, quoted=True) or passwordLiteral(password)


def xmlSecret(text: str) -> bool:
    """
    C{key="...Password" value="..."}: the name says secret and the value
    looks like one.
    """
    quoted = re.findall(r"[\"']([^\"']*)[\"']", text)
    name = quoted[0]
    return (secretName(name) or name.lower().endswith("connectionstring")) and secretValue(quoted[-1])


_SIBLING = re.compile(
    r"""(?:name|key|parameterkey|variable)["']?\s*[:=]\s*["']?(?P<name>[\w./:-]+)["']?.*?(?:value|parametervalue)["']?\s*[:=]\s*(?P<q>["']?)"""
    r"""(?:(?:bearer|token|basic)\s+)?(?P<value>[^\s"'{}]+)""",
    re.I | re.S,
)


_SECURE_STRING = re.compile(r"""["']type["']\s*:\s*["']securestring["']""", re.I)


def siblingSecret(text: str) -> bool:
    """
    C{{"name": "DB_PASSWORD", "value": "..."}} and its YAML and HCL forms:
    the name member says secret and the value member looks like one.
    """
    m = _SIBLING.search(text)
    if m is None:
        return False
    if _SECURE_STRING.search(text):
        # (AWS SSM says the value is a secret whatever its name)
        return secretValue(m.group("value"))
    # (a parameter store's path: its last part names the value)
    name = m.group("name").rstrip("/").rsplit("/", 1)[-1]
    if not secretName(name):
        return False
    return assignedSecret(f"{name}={m.group('q')}{m.group('value')}{m.group('q')}")


_XML_ELEMENT = re.compile(r"""<(?P<tag>[\w:-]+)(?P<attrs>[^<>]*)>(?P<value>[^<\s]+)""")
_XML_NAME = re.compile(r"""\b(?:key|name)\s*=\s*["'](?P<name>[^"']+)["']""")


def xmlElement(text: str) -> bool:
    """
    C{<entry key="db.password">V</entry>}, C{<Pass encoding="base64">V</Pass>}:
    the element names a secret by its C{key} or C{name} attribute, or by its
    own name, and its text (decoded when an attribute says base64) looks
    like one.
    """
    m = _XML_ELEMENT.match(text)
    if m is None:
        return False
    named = _XML_NAME.search(m.group("attrs"))
    name = named.group("name") if named else m.group("tag").rpartition(":")[2]
    if not secretName(name):
        return False
    value = m.group("value")
    if "base64" in m.group("attrs").lower():
        plain = _readableBase64(value, lineEnd=True)
        if plain is None:
            return False
        value = plain
    return secretValue(value, quoted=True)


def encodedPrivateKey(text: str) -> bool:
    """
    Base64 that decodes to a PEM private key's header and the start of its
    body.
    """
    try:
        plain = base64.b64decode(text[: len(text) // 4 * 4], validate=True)
    except (binascii.Error, ValueError):
        return False
    return re.match(rb"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----\s*[A-Za-z0-9+/]{8}", plain) is not None


#: a JSON Web Key's type (RFC 7518: an elliptic curve, RSA or octet-pair
#: key, or a symmetric one) and its private member: C{d} of the first three,
#: C{k} of a symmetric key, base64url
_JWK_TYPE = re.compile(r"\"kty\"\s*:\s*\"(EC|RSA|OKP|oct)\"")
_JWK_MEMBER = re.compile(r"\"(d|k)\"\s*:\s*\"([A-Za-z0-9_-]{16,})\"")


def jwkPrivate(text: str) -> bool:
    """
    A JSON object (its members, up to a brace) that is a JSON Web Key with
    its private part: C{d} of an EC, RSA or OKP key, C{k} of a symmetric
    (C{oct}) key, a value that is not a placeholder.  A public key (C{x},
    C{y}, C{n}, C{e} only: a JWKS endpoint's) is not one.
    """
    kind = _JWK_TYPE.search(text)
    if kind is None:
        return False
    wanted = "k" if kind.group(1) == "oct" else "d"
    return any(m.group(1) == wanted and not placeholder(m.group(2)) for m in _JWK_MEMBER.finditer(text))


_K8S_SECRET = re.compile(r"^kind:[ \t]*Secret[ \t]*$", re.M)
_K8S_DATA = re.compile(r"^(?P<indent>[ \t]*)(?P<kind>stringData|data):[ \t]*\r?\n(?P<body>(?:(?P=indent)[ \t]+[^\n]*(?:\n|$))+)", re.M)
_K8S_ITEM = re.compile(r"^[ \t]+(?P<name>[\w.-]+):[ \t]*[\"']?(?P<value>[^\s\"'#|>]+)[\"']?[ \t]*$", re.M)
#: keys of a Secret's data that hold what is not secret (a certificate, a
#: host, a user name)
_K8S_PUBLIC = re.compile(
    r"(?:^|[._-])(?:crt|cert|certificate|ca|pub|public|host|hostname|server|url|uri|endpoint|port|user|username|login|email|"
    r"database|db|dbname|name|region|namespace|bucket|realm|domain|id|uuid|sha|hash|digest|checksum|etag|commit|revision|version|build)(?:$|[._-])",
    re.I,
)


def kubernetesSecret(text: str) -> bool:
    """
    A Kubernetes Secret: what its C{data} (base64) or C{stringData} holds is
    secret whatever its key is called (C{tls.key}, C{api}, C{config}),
    unless the key says it is a certificate, a host or a user; a value that
    decodes to random bytes is a key.
    """
    for doc in re.split(r"^---[ \t]*$", text, flags=re.M):
        if not _K8S_SECRET.search(doc):
            continue
        for block in _K8S_DATA.finditer(doc):
            encoded = block.group("kind") == "data"
            for item in _K8S_ITEM.finditer(block.group("body")):
                if _K8S_PUBLIC.search(item.group("name")):
                    continue
                value = item.group("value")
                if encoded:
                    plain = _readableBase64(value)
                    if plain is None:
                        if len(value) >= 24 and _BASE64.fullmatch(value) and entropy(value) >= 4.0:
                            return True  # random bytes: a key, a keystore
                        continue
                    value = plain
                # (a key that does not say secret needs a value that can be
                # nothing else: long, random, not hex or a UUID)
                if secretValue(value, strong=secretName(item.group("name")), quoted=True):
                    return True
    return False


_ENV_LINE = re.compile(r"""\s*(?:export\s+|-\s+)?(?P<name>[A-Z_][A-Z0-9_]*)\s*[=:]\s*["']?(?P<value>[^\s"']+)""")
#: words of a variable's name that say its value is something other than a
#: secret (an id, a digest, a place, a version)
_DESCRIBED = frozenset(
    "id ids uuid guid sha hash digest checksum integrity commit revision rev version build tag image host hostname "
    "domain url uri endpoint path dir file name user username email region zone bucket channel cert fingerprint "
    "thumbprint kid nonce etag account project org team tenant app client site dsn".split()
)


def envSecret(text: str) -> bool:
    """
    C{NAME=value} on a line of its own, whatever the name says: a value
    that can be nothing but a key (24+ characters of upper and lower case
    letters and digits, random, not the base64 of text) under a name none
    of whose words says it is something else (C{BUILD_SHA}, C{CLIENT_ID},
    C{PUBLIC_KEY}).
    """
    m = _ENV_LINE.match(text)
    if m is None:
        return False
    if secretName(m.group("name")):
        return assignedSecret(text.strip())
    if any(w.lower() in NOT_SECRET_WORDS or w.lower() in _DESCRIBED for w in _WORDS.findall(m.group("name"))):
        return False
    value = m.group("value")
    if placeholder(value) or _readableBase64(value) is not None or value.startswith(_PUBLIC_VALUE):
        return False
    letters = value.rstrip("=")
    return (len(letters) >= 24 and any(c.isupper() for c in letters) and any(c.islower() for c in letters)
            and any(c.isdigit() for c in letters) and entropy(letters) >= min(4.2, math.log2(len(letters)) - 0.6))


def escapedSecret(text: str) -> bool:
    """
    C{\\"password\\":\\"...\\"}: a serialised document's member, judged as
    it reads once its quotes are unescaped.
    """
    return assignedSecret(text.replace('\\"', '"').lstrip("\\"))


_OUTPUT_VALUE = re.compile(r'"value"\s*:\s*"([^"\s]+)')


def sensitiveOutput(text: str) -> bool:
    """
    A Terraform output marked sensitive: its value is a secret when it
    looks like one (not a placeholder, a reference or a word).
    """
    m = _OUTPUT_VALUE.search(text)
    return m is not None and secretValue(m.group(1), quoted=True)


def authUserPass(text: str) -> bool:
    """
    OpenVPN's inline C{<auth-user-pass>}: the line after the user is its
    password.
    """
    lines = text.split(">", 1)[1].split()
    return len(lines) >= 2 and secretValue(lines[1], quoted=True)


def pgpass(text: str) -> bool:
    """
    A C{.pgpass} line: the password field looks like one.
    """
    return secretValue(text.rsplit(":", 1)[1])


def blobLike(run: str, window: int = 4096) -> bool:
    """
    Whether a long run of base64 or hex characters carries data: random
    enough (at least 3.5 bits a character, as hex and base64 of anything
    but a repeated pattern are) in each of three windows (start, middle,
    end).  A megabyte of one letter, or of C{abab...}, is not.
    """
    n = len(run)
    starts = (0, max(0, n // 2 - window // 2), max(0, n - window))
    return all(entropy(run[s:s + window]) >= 3.5 for s in starts)


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
    if local and domain.startswith("[") and domain.endswith("]"):
        return _addressLiteral(domain[1:-1])
    if not local or "." not in domain or domain.endswith("."):
        return False
    tld = domain.rsplit(".", 1)[1]
    # (letters, and the marks of a script written with them: .कॉम)
    lettered = tld[:1].isalpha() and all(c.isalpha() or unicodedata.category(c)[0] == "M" for c in tld)
    return (lettered and len(tld) >= 2) or (tld[:4].lower() == "xn--" and len(tld) > 5)


def _addressLiteral(literal: str) -> bool:
    """
    RFC 5321's address literal in place of a domain: C{[192.0.2.1]},
    C{[IPv6:2001:db8::1]}.
    """
    if literal[:5].lower() == "ipv6:":
        literal = literal[5:]
        if "." in literal and ":" not in literal:
            return False
    elif ":" in literal:
        return False
    try:
        ipaddress.ip_address(literal)
    except ValueError:
        return False
    return True


#: domains reserved for documentation (RFC 2606, RFC 6761) and addresses
#: nobody reads
_EXAMPLE_DOMAIN = re.compile(r"(?:^|\.)(?:example(?:\.(?:com|org|net|edu))?|test|invalid|localhost|local|tld|users\.noreply\.github\.com)$", re.I)
_NOBODY = re.compile(
    r"^(?:no-?reply|do-?not-?reply|mailer-daemon|bounces?|notifications?|"
    # role accounts: a team's inbox, not a person's (RFC 2142's and the
    # common ones)
    r"support|info|help|helpdesk|sales|contact|hello|team|security|privacy|abuse|postmaster|hostmaster|webmaster|"
    r"press|media|billing|legal|compliance|careers|jobs|feedback|admin|office|enquiries|inquiries)(?:[+._-].*)?$",
    re.I,
)
_FILE_TLD = frozenset(
    "png jpg jpeg gif svg webp ico bmp js mjs cjs ts tsx jsx css scss json py md txt html htm lock yaml yml toml "
    "zip gz tgz xml csv pdf rb go rs java kt sh min map wasm".split()
)


#: an address spelled out against harvesters: alice [at] acme [dot] io
_SPELLED = re.compile(r"[ \t]?[\[({](at|dot)[\])}][ \t]?", re.I)


#: control characters no text holds: those of a body (C0 but tab, line
#: breaks, form feed and escape; DEL) and C1 (bytes 0x80-0x9f read one
#: character per byte)
_CONTROLS = dict.fromkeys(CONTROL_CODES + tuple(range(0x80, 0xA0)))


def garbled(text: str, span: tuple[int, int], around: int = 128) -> bool:
    """
    Whether the match at C{span} of C{text} sits in binary data read as
    characters (bytes a server put in a JSON string one character per
    byte), not language: at least one character in eight around it a
    control character, as L{akto_proxy.mcp.jsonrpc.binary} judges a body.
    Its letters beyond ASCII are bytes, not a script: C{\x8a\xc1@a.H\xe8\x94}
    is no address.
    """
    near = text[max(0, span[0] - around):span[1] + around]
    return (len(near) - len(near.translate(_CONTROLS))) * 8 >= len(near)


def roleAccount(local: str) -> bool:
    """
    Whether an address's local part is nobody's or a team's: no-reply,
    a bounce address, a role account (C{security}, C{sales+eu}).
    """
    return bool(_NOBODY.match(local))


def contactEmail(text: str) -> bool:
    """
    An address that reaches a person: a valid shape, not a documentation
    domain, not a no-reply address, not a file name (C{icon@2x.png}); its
    local part may be quoted, its C{@} and dots spelled out in brackets.
    """
    text = _SPELLED.sub(lambda m: "@" if m.group(1).lower() == "at" else ".", text)
    if not email(text):
        return False
    local, _, domain = text.rpartition("@")
    if _EXAMPLE_DOMAIN.search(domain) or roleAccount(local):
        return False
    return domain.startswith("[") or domain.rsplit(".", 1)[1].lower() not in _FILE_TLD


_PHONE_GROUPS = re.compile(r"\d+")
#: digit groups that are something else: a dotted quad, a date (and the
#: hour of a time after it: 04/25/2023 11:11:00), a span of
#: years, decimals (C{0.4521 0.8812}: a point and a space together)
_NOT_PHONE = re.compile(
    r"\d{1,3}(?:\.\d{1,3}){3}|[\d ]*\d\.\d+ [\d. ]*|[\d. ]* \d+\.\d[\d ]*|0\.\d.*|(?:19|20)\d\d([-./ ])(?:0?[1-9]|1[0-2])\1\d\d(?: \d\d?)?|\d\d([-./ ])\d\d\2(?:19|20)\d\d(?: \d\d?)?|"
    r"(?:19|20)\d\d[-/](?:19|20)?\d\d"
)
#: words that announce a telephone number, in the languages of the numbers
_PHONE_CUE = re.compile(
    # (the first letters of its words first: searched in the 120 characters
    # before every candidate, the words tried one by one at each position
    # cost 150 us a candidate, 2 s on 100 KB of digit groups)
    r"(?=[tpmcfrswkdhnal☎📞📱電携电手联전연])"
    r"(?:\b(?:tel|tlf|tfn|ph|mob|cell|fax|phones?|telephone|mobile|call(?:ed|ing)?|ring|text\s+me|sms|whatsapp|signal|"
    r"contacts?|kontakt|contacto|contatto|contato|reach|dial|hotline|helpline|telefon\w*|telefono|teléfono|téléphone|tél|"
    r"telefone|telefoon|puhelin|portable|"
    r"handy|móvil|cellulare|numéro|número|numero|nummer|rappel\w*|appel\w*|llam\w*|chiam\w*|anruf\w*)\b|[☎📞📱]|電話|携帯|电话|手机|联系|전화|연락처)",
    re.I,
)


#: numbers validated (against every region's plan) per message
PHONE_BUDGET = 64
#: number-like candidates looked at per string: a megabyte of digit groups
#: (a numeric table) costs a bounded time; a number after that many is not
#: seen
PHONE_CANDIDATES = 4096


def phoneSpans(text: str, spans: Iterable[tuple[int, int]], budget: Optional[list[int]] = None) -> list[tuple[int, int]]:
    """
    The spans of C{text} (candidates the phone pattern matched) that are
    plainly telephone numbers: international and valid; or national, valid
    and written with its trunk prefix (in one group: alone, not a row of
    numbers) or a bracketed area code, or announced
    by a word before it (C{tel}, C{call}, C{mobile}, C{Telefon}, a
    C{contact} column...), or in exactly the digit groups and separators of
    its country's plan (8+ digits, 3+ groups, no unit after it).  Bare digit
    groups (C{981-911-5004}) are as likely a part number.  The cheap tests
    come first; at most L{PHONE_CANDIDATES} are looked at, and as many
    validated as C{budget} (one list per message, counted down; past it,
    none are counted) allows.
    """
    if budget is None:
        budget = [PHONE_BUDGET]
    out = []
    for n, span in enumerate(spans):
        if n >= PHONE_CANDIDATES or budget[0] <= 0:
            break
        match = text[span[0]:span[1]]
        number = _number(match)
        groups = _PHONE_GROUPS.findall(number)
        digits = "".join(groups)
        if not 6 <= len(digits) <= 15 or _NOT_PHONE.fullmatch(number):
            continue
        start = span[0] + match.find(number)
        if _CATALOGUE_NUMBER.search(text, max(0, start - 12), start):
            continue
        shape = tuple(len(g) for g in groups)
        region = _REGION_AFTER.match(text, span[1])
        if region and _FIELD_BEFORE.search(text, max(0, start - 4), start) and not _REFERENCE.search(text, max(0, start - 16), start):
            # a field of a row that names its region next (Zoe Novak, 3602
            # 3851, HK): that region's number, as its plan writes it or not
            budget[0] -= 1
            if _inRegion(digits, region.group(1)):
                out.append(span)
                continue
        if number.startswith(("+", "00", "(")) or number[:4].lower() == "tel:":
            check = lambda: phone(number)  # noqa: E731
        elif shape == (1, 3, 3, 4) and digits[0] == "1" and len(set(_SEPARATORS.findall(number))) == 1 and _alone(text, span):
            # North America's long-distance prefix: 1-800-555-0199, 1.202.555.0143
            check = lambda: _international("+" + digits)  # noqa: E731
        elif _PHONE_CUE.search(text, max(0, start - 120), start):
            # (right after its label, no other number between, nor a unit
            # after it: valid in whatever groups it is written, 6972 719714,
            # its first group a single digit too: contact: 0 705 408 552)
            check = lambda: _national(shape, digits, loose=digits[0] == "0" and _looseShape(shape, digits)) or (  # noqa: E731
                (_looseShape(shape, digits) or (len(shape) > 1 and _looseShape(shape[1:], digits))) and _labelled(text, start, span[1])
                and _national((len(digits),), digits)
            )
        elif number.startswith("0") and (len(groups) >= 2 or (
            not _UNIT.match(text, span[1]) and _alone(text, span) and not _REFERENCE.search(text, max(0, start - 16), start)
        )):
            # (in one group, a number alone, not a row of a numeric table nor
            # labelled as a reference: invoice 0412345678)
            # (9 digits or more with the trunk prefix: grouped as the writer
            # likes, 0113 4960355 as 0113 496 0355)
            check = lambda: _national(shape, digits, True, loose=_looseShape(shape, digits))  # noqa: E731
        elif (
            len(digits) >= 8 and len(groups) >= 3 and not _UNIT.match(text, span[1]) and _alone(text, span)
            and not _REFERENCE.search(text, max(0, start - 16), start)
        ):
            separators = tuple(_SEPARATORS.findall(number))
            check = lambda: _national(shape, digits, False, separators)  # noqa: E731
        else:
            continue
        budget[0] -= 1
        if check():
            out.append(span)
    return out


_SEPARATORS = re.compile(r"[^\d]+")
#: the next field of a row or a list a region's code (ISO 3166: HK, IL),
#: nothing after it in that field
_REGION_AFTER = re.compile(r"[ \t]*[,;|\t][ \t]*([A-Z]{2})[ \t]*(?:$|[,;|\t\r\n.)])")
#: a field begins right before: a row's or a list's separator, or the line
_FIELD_BEFORE = re.compile(r"(?:^|[,;|\t\n])[ \t]*$")


def _inRegion(digits: str, region: str) -> bool:
    """
    Whether C{digits} is a valid number of C{region} (an ISO 3166 code),
    dialled at home or with the region's country code in front
    (C{972-54-7927650, IL}).
    """
    import phonenumbers

    if region not in phonenumbers.SUPPORTED_REGIONS:
        return False
    try:
        parsed = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number_for_region(parsed, region)


#: a word for a telephone and what may stand between it and its number (a
#: colon, a column of a table or a CSV line, a name), no digit
_LABEL_BEFORE = re.compile("(?:" + _PHONE_CUE.pattern + r")[^\d]{0,60}$", re.I)


def _labelled(text: str, start: int, end: int) -> bool:
    """
    The number at C{text[start:end]} follows a word for a telephone with no
    other number between, and no unit follows it.
    """
    return bool(_LABEL_BEFORE.search(text, max(0, start - 80), start)) and not _UNIT.match(text, end)


#: labels of numbers that are references, not telephone numbers, right
#: before a national number (invoice 0412345678, SKU 201-555-0123)
_REFERENCE = re.compile(
    r"\b(?:id|no|nr|num|order|invoice|inv|ref(?:erence)?|account|acct|a/c|iban|serial|sku|part|tracking|ticket|case|"
    r"po|batch|lot|zip|postcode|plz|cap|cep|item|build|version|commit|issue|pr|job|run|txn|transaction|policy|claim)"
    r"\.?[:\s#-]*$|#\s*$",
    re.I,
)
#: a number that a label right before names as a book's, a product's or a
#: paper's (urn:isbn:0451450523, EAN 0012345678905)
_CATALOGUE_NUMBER = re.compile(r"\b(?:isbn(?:-?1[03])?|issn|ean(?:-?13)?|upc|gtin|asin|doi|pmid|oclc)[:\s#-]*$", re.I)
#: a number, or a point or comma that follows one (1.5, 234 567), right
#: before: a row of numbers (a comma after a word is a list of fields:
#: Kim Silva, 912 34 56 78)
_NUMBER_NEAR = re.compile(r"(?:\d[.,]?|\.)\s?$")


def _alone(text: str, span: tuple[int, int]) -> bool:
    """
    No other number right before or after: not a row of a numeric table.
    """
    after = text[span[1]:span[1] + 2].lstrip(" \t")
    return not (after[:1].isdigit() or _NUMBER_NEAR.search(text, max(0, span[0] - 3), span[0]))
_UNIT = re.compile(r"\s*(?:%|[$€£¥]|[kmgt]?i?b\b|bytes?\b|[mµn]?s\b|[kmc]?m\b|[km]?g\b|items?\b|rows?\b|records?\b|users?\b|people\b|"
                   r"times\b|votes?\b|views?\b|points?\b|usd\b|eur\b|gbp\b|jpy\b)", re.I)


def phone(text: str) -> bool:
    """
    A telephone number: international (C{+CC} or C{00CC}) and valid for its
    country, or national and written exactly as some country's plan writes
    its numbers (the same digit groups as libphonenumber's national format
    for a region where the number is valid): C{(415) 555-2671},
    C{020 7946 0018}, C{06 12 34 56 78}, C{030 123456}.
    """
    text = _number(text)
    if text[:4].lower() == "tel:":
        text = text[4:]
    digits = "".join(_PHONE_GROUPS.findall(text))
    if not 6 <= len(digits) <= 15 or _NOT_PHONE.fullmatch(text):
        return False
    if text.startswith(("+", "00")):
        return _international("+" + digits[2:] if text.startswith("00") else "+" + digits)
    bracketed = _COUNTRY_IN_BRACKETS.match(text)
    if bracketed:
        return _bracketedCountry(bracketed.group(1), "".join(_PHONE_GROUPS.findall(text, bracketed.end())))
    groups = tuple(len(g) for g in _PHONE_GROUPS.findall(text))
    if _national(groups, digits, loose=text.startswith("(0") and _looseShape(groups, digits)):
        return True
    # a country code in brackets without its plus: (351) 916 773 221
    code = _BRACKETED_CODE.match(text)
    return bool(code and int(code.group(1)) in _countryCodes() and _international("+" + digits))


_COLUMN_NAME = re.compile(rf"(?:{CONTACT_COLUMN})", re.I)
_CELL_NUMBER = re.compile(r"\+?[\d(][\d \t().-]{5,22}\d")
_TABLE_DELIMITER_ROW = re.compile(r"[ \t|:-]*")


def contactColumn(block: str) -> bool:
    """
    Whether the table in C{block} (a header line, then its rows: CSV, tab-
    or semicolon-separated, or Markdown) holds a telephone number in a
    column its header names for one (C{contact}, C{phone}, C{mobile}...):
    a number in such a column is one to call, in whatever digit groups, or
    none, its writer chose (C{17,Olga Garcia,68792801}), when valid for
    some region.  The rows of the first 50 lines are read.
    """
    lines = block.split("\n")
    header = lines[0]
    for delimiter in ("|", "\t", ";", ","):
        if delimiter not in header:
            continue
        names = [c.strip() for c in header.split(delimiter)]
        columns = [k for k, name in enumerate(names) if _COLUMN_NAME.fullmatch(name)]
        if not columns:
            continue
        for line in lines[1:]:
            if _TABLE_DELIMITER_ROW.fullmatch(line):
                continue
            cells = line.split(delimiter)
            for k in columns:
                if k < len(cells) and _callable(cells[k].strip()):
                    return True
    return False


def _anyGroups(number: str) -> Optional[str]:
    """
    The digits of C{number} when it may be a telephone number written in
    whatever groups (a table's cell, a mailbox's brackets): seven to 15 of
    them, not a date, a dotted quad or decimals; None otherwise.
    """
    if _NOT_PHONE.fullmatch(number):
        return None
    digits = "".join(_PHONE_GROUPS.findall(number))
    return digits if 7 <= len(digits) <= 15 else None


def _callable(cell: str) -> bool:
    """
    A table's cell that is a telephone number valid for some region.
    """
    digits = _anyGroups(cell) if _CELL_NUMBER.fullmatch(cell) else None
    if digits is None:
        return False
    if cell.startswith(("+", "00")):
        return phone(cell)
    return _national((len(digits),), digits)


#: words of a name that make it a label of something else, not a person
#: (Build Date <20231201>, Order Number <4411 2093>)
_NOT_A_NAME = frozenset(
    "id no nr num number order invoice ref reference account serial sku part tracking ticket case batch lot item build "
    "version date time year page line port size total count code pin zip release revision".split()
)


def contactMailbox(text: str) -> bool:
    """
    A person's name and, in angle brackets where a mailbox writes the
    address, a telephone number (C{Lars Novak <5448 0123>}): a number
    valid for some region, in whatever groups it is written.
    """
    name, _, number = text.partition("<")
    if any(word.lower() in _NOT_A_NAME for word in name.split()):
        return False
    number = number.rstrip(" \t>")
    digits = _anyGroups(number)
    if digits is None:
        return False
    return phone(number) or _national((len(digits),), digits)


_NUMBER_START = re.compile(r"tel:|[+(\d]", re.I)


def _looseShape(groups: tuple[int, ...], digits: str) -> bool:
    """
    Long enough (9 digits or more) and in groups of two digits or more to
    be taken in whatever groups it is written, after its trunk prefix
    (C{0113 4960355}; not C{0 123 456 789}).
    """
    return len(digits) >= 9 and min(groups) >= 2


_BRACKETED_CODE = re.compile(r"\(([1-9]\d{0,2})\)")


@functools.lru_cache(maxsize=1)
def _countryCodes() -> frozenset[int]:
    import phonenumbers

    return frozenset(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


#: a country code written in brackets: (+33) 6 12 34 56 78, (0049) 30 1234567
_COUNTRY_IN_BRACKETS = re.compile(r"\((?:\+|00)(\d{1,4})\)")


def _bracketedCountry(country: str, national: str) -> bool:
    """
    A number whose country code is bracketed: valid with its national
    number as written, or without the trunk prefix written after the code
    (C{(+212) 0711 587392}, as C{+44 (0)20} is).
    """
    if _international(f"+{country}{national}"):
        return True
    return national.startswith("0") and _international(f"+{country}{national[1:]}")


def _number(text: str) -> str:
    """
    The number in a match that may begin with the word announcing it.
    """
    m = _NUMBER_START.search(text)
    return text[m.start():].strip() if m else text


@functools.lru_cache(maxsize=4096)
def _international(number: str) -> bool:
    import phonenumbers  # imported when a number is first judged: a megabyte a process without one spares

    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(parsed)


@functools.lru_cache(maxsize=4096)
def _national(groups: tuple[int, ...], digits: str, trunk: bool = False, separators: Any = None, loose: bool = False) -> bool:
    """
    Whether some region writes C{digits} in these digit groups (and, with
    C{trunk}, with its trunk prefix in front; with C{separators}, with
    exactly these between the groups; with C{loose}, in any groups: a
    number long enough and written with its trunk prefix says what it is).
    """
    import phonenumbers

    single = len(groups) == 1  # written without separators: validity alone
    for region, prefix, lengths, plan, strip in _regions():
        if trunk and not (prefix and digits.startswith(prefix)):
            continue
        national = digits[len(prefix):] if prefix and digits.startswith(prefix) else digits
        if not lengths[0] <= len(national) <= lengths[1] + 2:  # (+2: carrier codes, Argentina's 15)
            continue
        if plan is not None and not (plan.fullmatch(national) or (strip and _stripped(strip, digits, plan))):
            continue  # not in the region's numbering plan: no need to ask libphonenumber
        try:
            parsed = phonenumbers.parse(digits, region)
        except phonenumbers.NumberParseException:
            continue
        if not phonenumbers.is_valid_number_for_region(parsed, region):
            continue
        if single or (loose and (trunk or digits.startswith(prefix or "-"))):
            return True
        written = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
        if tuple(len(g) for g in _PHONE_GROUPS.findall(written)) != groups:
            continue
        # (dots stand for any separator: 415.555.2671, 01.42.68.53.00)
        if separators and tuple(_SEPARATORS.findall(written)) != separators and set(separators) != {"."}:
            # (or those of its international format, less the country code:
            # 202-555-0143 as +1 202-555-0143 writes it)
            international = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL).partition(" ")[2]
            if tuple(_SEPARATORS.findall(international)) != separators:
                continue
        return True
    return False


def _stripped(strip: "re.Pattern[str]", digits: str, plan: "re.Pattern[str]") -> bool:
    """
    Whether C{digits}, less what the region strips before parsing (its
    trunk and carrier prefixes), is in its plan.
    """
    m = strip.match(digits)
    return bool(m and m.end() and plan.fullmatch(digits[m.end():]))


@functools.lru_cache(maxsize=1)
def _regions() -> tuple[tuple[str, str, tuple[int, int], Optional["re.Pattern[str]"], Optional["re.Pattern[str]"]], ...]:
    """
    Each region with its trunk prefix, the shortest and longest of its
    national numbers, and its numbering plan (the numbers of each type it
    assigns: fixed line, mobile, toll free...) as one compiled pattern (None
    where the region rewrites numbers before matching them, as Argentina
    does, so only libphonenumber can tell), and what it strips before
    parsing.  Compiled here once:
    libphonenumber's own patterns overflow C{re}'s cache when every region
    is asked in turn.
    """
    import phonenumbers

    out = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if meta is None or meta.general_desc is None:
            continue
        lengths = meta.general_desc.possible_length or ()
        if not lengths:
            continue
        rewrites = meta.national_prefix_transform_rule is not None
        kinds = [
            getattr(meta, kind) for kind in (
                "fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "personal_number", "voip", "pager",
                "uan", "voicemail",
            )
        ]
        patterns = [k.national_number_pattern for k in kinds if k is not None and k.national_number_pattern]
        plan = re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns and not rewrites else None
        parsing = meta.national_prefix_for_parsing
        strip = re.compile(parsing) if parsing else None
        out.append((region, meta.national_prefix or "", (min(lengths), max(lengths)), plan, strip))
    return tuple(out)


def ipAddress(text: str) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    if address.version == 4:
        return not text.startswith("0.") and text.count(".") == 3
    return text.count(":") >= 3


def _switches(value: str) -> float:
    """
    The share of neighbouring characters of different kinds (lower, upper,
    digit, other): about 0.6 in letters and digits drawn at random, under
    0.3 in camel-cased words and numbers (C{ValidateUserInput2Factor}).
    """
    kinds = [0 if c.islower() else 1 if c.isupper() else 2 if c.isdigit() else 3 for c in value]
    if len(kinds) < 2:
        return 0.0
    return sum(a != b for a, b in zip(kinds, kinds[1:])) / (len(kinds) - 1)


def randomRun(value: str, minLength: int = 20) -> bool:
    """
    A run of letters of both cases and digits drawn at random: long
    enough, every kind present, kinds switching often, not a placeholder.
    """
    alnum = "".join(c for c in value if c.isalnum())
    if len(alnum) < minLength or placeholder(value):
        return False
    if not (any(c.islower() for c in alnum) and any(c.isupper() for c in alnum) and any(c.isdigit() for c in alnum)):
        return False
    return _switches(alnum) >= 0.4 and entropy(alnum) >= min(4.0, math.log2(len(alnum)) - 0.7)


_TOKEN_PREFIX = re.compile(r"[^a-z]?(?P<vendor>[a-z][a-z0-9]*)_(?P<parts>(?:[a-z0-9]{1,8}_){0,2})")
#: prefixes of what a vendor publishes on purpose (Stripe's publishable
#: keys, PostHog's project keys) or of its ids, and the made-up words of
#: examples (C{foo_...})
_PUBLIC_PREFIX = frozenset(
    "pk pub public publishable phc id uid uuid ref sha hash img file foo bar baz qux my your test example dummy fake sample".split()
)


def prefixedToken(text: str) -> bool:
    """
    C{<vendor>_[<part>_]<body>}: a body of random letters of both cases and
    digits after a short lowercase prefix (L{randomRun}); a test-mode key
    (C{sk_test_...}) is a key, a publishable one (C{pk_...}) is not.
    """
    m = _TOKEN_PREFIX.match(text)
    if not m or m.group("vendor") in _PUBLIC_PREFIX:
        return False
    body = text[m.end():]
    if len(body) < 20:  # the parts were the body's own start
        body = text[m.end("vendor") + 1:]
    return randomRun(body, 20) or lowerRun(body, mode=bool(_MODE.search(m.group("parts"))))


#: the part of a prefix that says which of a vendor's modes a key is for
_MODE = re.compile(r"(?:^|_)(?:live|test|prod|sandbox|v\d)_$")


def lowerRun(value: str, mode: bool = False, minLength: int = 24, minSwitches: float = 0.3) -> bool:
    """
    A run of lowercase letters and digits drawn at random, as some vendors
    issue keys (C{sk_test_jmswhdlt...}, C{shippo_test_<40 hex>}): 24 or
    more (C{minLength}), digits and letters switching often (C{minSwitches}:
    a random draw's ~0.4 falls under 0.3 one time in six, under 0.2 one in
    forty), random enough for its length, not words (L{wordValue}).
    Hexadecimal bodies (digests named C{sha_}, C{commit_}) count only after
    a mode (C{_live_}, C{_test_}).
    """
    if len(value) > 200:
        return False  # (no vendor's key is longer)
    if mode and re.fullmatch(r"[0-9a-fA-F]{24,}", value):
        value = value.lower()  # (hexadecimal written in either case)
    if len(value) < minLength or not re.fullmatch(r"[a-z0-9]+", value) or placeholder(value):
        return False
    if re.fullmatch(r"[0-9a-f]+", value) and not mode:
        return False
    digits = sum(c.isdigit() for c in value)
    hexadecimal = re.fullmatch(r"[0-9a-f]+", value) is not None
    # (a hexadecimal draw is five eighths digits: four letters will do)
    return (4 <= digits <= len(value) - (4 if hexadecimal else 8) and _switches(value) >= minSwitches and entropy(value) >= (3.4 if hexadecimal else 3.7)
            and not wordValue(value))


_SPACED = re.compile(r"""(?P<label>\S+)[ \t]+(?:\S+[ \t]+)?["']?(?P<value>[A-Za-z0-9+/_.=-]{20,})$""")


_SLACK_PREFIX = re.compile(r"(?:xoxe\.)?xox[a-z]-")


def slackToken(text: str) -> bool:
    """
    A Slack token (C{xoxb-<team>-<bot>-<secret>}, C{xoxe-1-<secret>}):
    the numbers between the dashes are ids of eight digits or more, or a
    one-digit version first; the secret at the end holds digits or both
    cases switching often and is not words (C{xoxp-1234-1234-...},
    C{xoxb-12345-abcd234}, C{xoxe.xoxp-1-RANDOMSTRINGHERE} are made up).
    """
    m = _SLACK_PREFIX.match(text)
    if m is None:
        return False
    parts = text[m.end():].split("-")
    secret = parts.pop() if parts and not parts[-1].isdigit() else ""
    for i, part in enumerate(parts):
        if part.isdigit() and not (len(part) >= 8 or (i == 0 and len(part) == 1)):
            return False
    if len(secret) < 8 or placeholder(secret) or wordValue(secret):
        return False
    if not (any(c.isdigit() for c in secret) or _switches(secret) >= 0.3):
        return False  # (words: SlackAppConfigurationAccessTokenHere)
    return entropy(secret) >= min(3.0, math.log2(len(secret)) - 0.5)


def numberedKey(text: str) -> bool:
    """
    C{<id>-<64 random letters and digits>} (TrueNAS' API keys): the key
    part a random run (L{randomRun}).
    """
    key = text.rpartition("-")[2]
    return len(key) == 64 and randomRun(key, 40)


def appPassword(value: str) -> bool:
    """
    Sixteen lowercase letters drawn at random, as Google and Apple issue
    app passwords (C{vzihlaquknriqlht}): not words (L{wordValue}), random
    enough.
    """
    return len(value) == 16 and re.fullmatch(r"[a-z]{16}", value) is not None and not wordValue(value) and entropy(value) >= 3.3 and not placeholder(value)


def spacedSecret(text: str) -> bool:
    """
    A secret's word, blanks and a value (C{boxSECRET 9fQ2...}): the value
    must be a key's, random letters of both cases and digits
    (L{randomRun}) or 32 hexadecimal digits or more (an API key, as many
    vendors issue them); not a UUID, a path or a dotted name.
    """
    m = _SPACED.search(text)
    if not m:
        return False
    value = m.group("value").rstrip("=")
    if _UUID.search(value) or value.startswith(_PUBLIC_VALUE) or "/" in value.strip("/+") and not _BASE64.fullmatch(m.group("value")):
        return False
    if re.fullmatch(r"(?:[A-Za-z][a-z]+\.)+[A-Za-z]\w*", value):
        return False  # com.example.TokenService
    if re.fullmatch(r"[0-9a-f]{32,}|[0-9A-F]{32,}", value):
        return not placeholder(value) and entropy(value) >= 3.4 and _switches(value) >= 0.35
    return randomRun(value, 20) or lowerRun(value)


#: words before a quoted value that say what kind of id or text it is, not
#: whose key: a digest, a document's or a video's id, a commit, a payload
_ID_WORDS = frozenset(
    "id ids uuid guid hash sha sha1 sha256 sha512 md5 digest checksum commit rev revision ref etag nonce iv file doc "
    "document sheet spreadsheet video image img photo data content body payload base64 echo print printf msg message "
    "text title name label channel user username account project workspace org tenant client app application bucket "
    "table database db region zone cluster instance host domain path url link slug order invoice customer cursor page "
    "string value version build tag branch release the with and for from is was code key playlist track item object "
    "record event request trace span job task run transaction block address post comment thread issue ticket note "
    "asset resource package module type field column row node pod container volume snapshot device".split()
)
_NAMED = re.compile(r"""(?<![a-z0-9])(?P<word>[a-z][a-z0-9]{0,24})[ \t]+(?:-[ \t]+)?(?P<q>['"])(?P<value>[^'"]{0,200})(?P=q)$""")


def namedKey(text: str) -> bool:
    """
    C{<service> '<value>'}, C{<service> - '<value>'}: a word naming a
    service, then a quoted value that can be nothing but a key, random
    letters of both cases and digits (L{randomRun}) or random lowercase
    letters and digits (L{lowerRun}). Not after a word that says what kind
    of id or text the value is (C{commit}, C{sheet}, C{video}, C{data}:
    L{_ID_WORDS}), not a UUID, not hexadecimal (a digest's shape).
    """
    m = _NAMED.search(text)
    if m is None or m.group("word") in _ID_WORDS:
        return False
    value = m.group("value")
    if _UUID.search(value) or len(value) > 100 or value.startswith(_PUBLIC_VALUE):
        return False
    # (the word and the quotes say key: a lowercase run of twenty is enough,
    # its kinds switching as a random draw's do all but one time in forty)
    return randomRun(value, 20) or lowerRun(value, minLength=20, minSwitches=0.2)


#: Jenkins' header of a secret it encrypted with its master key (version 1,
#: a 16-byte IV), as credentials.xml stores it in braces
_JENKINS_HEADER = re.compile(r"AQAAABAAA")
_JENKINS_CONTENT = re.compile(r">\{([^}<]*)\}<", re.I)


def jenkinsElement(text: str) -> bool:
    """
    A credential element of Jenkins' XML (C{<secret>}, C{<password>},
    C{<privateKey>}...) holding a value in braces, as Jenkins writes the
    secrets it encrypts: its header (C{AQAAABAAA}) or a word of it a key
    (L{randomRun}, L{lowerRun}, 32 hexadecimal digits or more); not a
    template's C{{{ var }}} or a placeholder.
    """
    m = _JENKINS_CONTENT.search(text)
    if m is None:
        return False
    content = m.group(1)
    if content.startswith("{") or placeholder(content):
        return False
    if _JENKINS_HEADER.search(content):
        return True
    return any(randomRun(w, 20) or lowerRun(w, mode=True) for w in re.split(r"[\s-]+", content))


_NPMRC = re.compile(r""":_(?:auth|password|authToken)[ \t]*=[ \t]*["']?([^\s"']{1,512})""")


def npmrcCredential(text: str) -> bool:
    """
    An .npmrc credential scoped to a registry (C{//host/:_authToken=},
    C{:_auth=}, C{:_password=}): the line says what the value is, so any
    value is a credential but a placeholder or a variable (C{${NPM_TOKEN}})
    or one that is too short to be one.
    """
    m = _NPMRC.search(text)
    if m is None:
        return False
    value = m.group(1)
    return len(value) >= 8 and not placeholder(value) and not _INTERPOLATION.search(value) and not sequence(value)


def _macaroonCut(raw: bytes) -> bool:
    """
    Whether C{raw} reads as a version 2 macaroon (its location, identifier
    and caveats as fields of a type and a length) that ends before its
    signature: a token copied cut short. Bytes that do not read as one (a
    value drawn at random after the prefix) are not.
    """
    if raw[:1] != b"\x02":
        return False
    i, n = 1, len(raw)
    while i < n:
        kind = raw[i]
        i += 1
        if kind == 0:
            continue  # the end of a section
        if kind not in (1, 2, 4, 6):
            return False
        length = shift = 0
        while i < n and raw[i] & 0x80:
            length |= (raw[i] & 0x7F) << shift
            shift += 7
            i += 1
        if i >= n:
            return True
        length |= raw[i] << shift
        i += 1
        if kind == 6:
            return i + length > n  # the signature: whole, or cut
        if kind in (1, 2) and not all(32 <= c < 127 for c in raw[i:i + length]):
            return False  # a location or an identifier is text
        i += length
    return True


def pypiToken(text: str) -> bool:
    """
    A PyPI API token (C{pypi-} and a macaroon in base64url): not one cut
    before the end of its signature, as documentation and truncated logs
    show them (every field read, no signature yet).
    """
    body = text[len("pypi-"):]
    if len(body) % 4 == 1:
        body = body[:-1]
    body += "=" * (-len(body) % 4)
    try:
        raw = base64.urlsafe_b64decode(body)
    except (ValueError, binascii.Error):
        return True
    return not _macaroonCut(raw)


VALIDATORS: dict[str, Validator] = {
    "pypi_token": pypiToken,
    "netrc_password": netrcPassword,
    "contact_column": contactColumn,
    "contact_mailbox": contactMailbox,
    "credit_card": creditCard,
    "ssn": ssn,
    "iban": iban,
    "aws_access_key": awsAccessKey,
    "jwt": jwt,
    "connection_string": connectionString,
    "user_password": userPassword,
    "cli_secret": cliSecret,
    "vendor_token": vendorToken,
    "assigned_secret": assignedSecret,
    "high_entropy": highEntropy,
    "live": liveLooking,
    "email": email,
    "phone": phone,
    "contact_email": contactEmail,
    "contact_phone": phone,
    "pgpass": pgpass,
    "xml_secret": xmlSecret,
    "sibling_secret": siblingSecret,
    "escaped_secret": escapedSecret,
    "sensitive_output": sensitiveOutput,
    "xml_element": xmlElement,
    "auth_user_pass": authUserPass,
    "env_secret": envSecret,
    "encoded_private_key": encodedPrivateKey,
    "jwk_private": jwkPrivate,
    "ip_address": ipAddress,
    "prefixed_token": prefixedToken,
    "spaced_secret": spacedSecret,
    "key_phrase": keyPhrase,
    "slack_token": slackToken,
    "numbered_key": numberedKey,
    "named_key": namedKey,
    "jenkins_element": jenkinsElement,
    "npmrc_credential": npmrcCredential,
    "default_secret": defaultSecret,
    "set_variable": setVariable,
    "secure_string": secureString,
    "url_token": urlToken,
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
#: the rest of a token up to the next delimiter
_TOKEN_REST = re.compile("[^" + re.escape("".join(sorted(_DELIMITERS))) + "]*")


def _pathTokens(text: str) -> list[str]:
    """
    The delimited tokens of C{text} that contain C{..}.
    """
    out = []
    i = text.find("..")
    while i != -1:
        start = i
        while start > 0 and text[start - 1] not in _DELIMITERS:
            start -= 1
        end = _TOKEN_REST.match(text, i + 2).end()  # type: ignore[union-attr]
        out.append(text[start:end])
        i = text.find("..", end)
    return out


_DRIVE = re.compile(r"[a-zA-Z]:/")


def climb(text: str) -> int:
    """
    How many directory levels the paths in C{text} climb above where they
    start; a climb above C{/} in an absolute path counts as deep as can be.
    """
    best = 0
    # (each token once: a file's content names the same ../lib or ../README
    # hundreds of times: 37 -> 9 ms on a megabyte of them)
    for token in dict.fromkeys(_pathTokens(text)):
        slashed = token.replace("\\", "/")
        parts = slashed.split("/")
        # (a home directory is a place in the root's tree: ~/../.. is /)
        absolute = token.startswith(("/", "~")) or bool(_DRIVE.match(slashed))
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

_SEPARATOR = re.compile(r"^\s*['\"]?([^;&|`(<>'\"\r\n]{0,120}?)['\"]?[)}]*\s*((?:;|&&?|\|\|?|\n|\r|%0a|%0d)+)\s*['\"]?(\S*)", re.I)
_LEADING_BREAK = re.compile(r"[ \t]*[\r\n]+[ \t]*(?=\S)")
_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+(?:[;,]|$)")
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
        # a line break first, then the command (%0a{cmd}%0a): the break is
        # the separator and nothing comes before it
        lead = _LEADING_BREAK.match(text)
        if lead is None:
            return False
        before, sep, word = "", "\n", text[lead.end() :].split(None, 1)[0]
    if re.match(r"[A-Za-z_][\w.-]*=", word) or ("&" in sep and ("?" in before or "=" in before)):
        return False
    if _NO_COMMAND_WORD.fullmatch(word):  # "serviceCode|{}": brackets and punctuation run nothing
        return False
    if _PROSE.fullmatch(before) and _PROSE.fullmatch(text, m.start(3)):
        # "I think it would do; copy should reach us": a sentence on
        # either side, words and nothing a command line holds
        return False
    if sep == "&" and re.match(r"#?\w{2,8};", word):  # an HTML entity, &quot;
        return False
    if _ADDRESS.match(word):  # "a@x.org;b@y.org": a list of addresses
        return False
    if re.match(r"[\d.,]+(?:[;&|]|$)", word):  # "1;2;3": a list of numbers; no command is named by digits
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
        return head.end() == len(word) and re.match(r"\s+(?:-{1,2}[a-zA-Z]|/|\$|%[a-zA-Z_]\w*%)", rest) is not None
    return True


# words and nothing a shell gives meaning to: three or more on a side of a separator
_PROSE = re.compile(r"[\s'\"]*[A-Za-z][A-Za-z']*(?:[ ,-]+[A-Za-z][A-Za-z']*){2,}[\s.!?,'\"]*")
# a word with no letter, digit, path or expansion in it
_NO_COMMAND_WORD = re.compile(r"[^\w/~$`.\\]+")
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
_SQL_REST = re.compile(r"[=<>(;#@\[{]|--|/\*|\d(?!\d*'[a-z])|\b(?:like|regexp|rlike|glob|to|mod|div|is|in)\s+['\"(]", re.I)


# one word quoted whole, then the end of a parameter or of the value
# (a query string's Q="MOD"&...): a quote that opened, not one closed
_QUOTED_WORD = re.compile(r"^[^'\"`\s]{0,64}(['\"`])\s*\w+\1(?:&|$|\s)")


def quoteBreakout(text: str) -> bool:
    """
    A value that closes its quote and goes on in SQL with an operand SQL
    would take (a comparison, a call, a comment, a literal), not a quoted
    phrase of prose ("DANCIN' LIKE A ROBOT") nor a word a query string
    quotes whole (C{?q="MOD"&page=2}).
    """
    m = _BREAKOUT.match(text)
    return m is not None and _SQL_REST.search(text, m.end()) is not None and _QUOTED_WORD.match(text) is None


# an option word quoted whole: ('--porcelain'), "--verbose" (a shell
# array's or a call's argument, not a quote closed before a comment)
_QUOTED_OPTION = re.compile(r"^[^'\"`\s]{0,64}(['\"`])[\s)]*--[a-z][a-z0-9][\w-]*(?:[:=][^'\"`\n]*)?\1", re.I)


def commentTruncation(text: str) -> bool:
    """
    A value that closes its quote and comments out the rest of the query
    (rule comment_truncation), not an option word quoted whole: in
    C{FLAGS=('--porcelain')} the quote after C{--porcelain} closes the
    word, where C{admin'--} leaves the query's own quote to the comment.
    """
    return _QUOTED_OPTION.match(text) is None


# a path in a folder of a user's home, one level down or more (a project)
# (not a web root kept in a home: ~/public_html, ~/www)
_HOME_PROJECT = re.compile(
    r"\s*['\"]?(?:[a-z]:)?[/\\]+(?:home\d?|users)[/\\]+[^/\\\s]+[/\\]+"
    r"(?!(?:public_html|private_html|www|wwwroot|htdocs|html|web|domains|sites?)[/\\])[^/\\\s]+[/\\]",
    re.I,
)


def outsideHomeProject(text: str) -> bool:
    """
    Whether a path to a C{.env} file lies outside a project in a user's
    home: C{/app/.env}, C{/home/app/.env} and C{../../.env} are a
    deployment's or a home's secrets, C{/home/dev/shop/.env} a developer's
    own project (climbing or encoded: outside, whatever it names first).
    """
    return _HOME_PROJECT.match(text) is None or ".." in text or "%" in text


# Validators that judge the whole string a rule hit in, not the match.
@functools.cache
def _chained() -> "re.Pattern[str]":
    """
    The chained_command rule as C{re} reads it (compiled when a text first
    needs it, as the scanner compiles its own copy: not at start-up).
    """
    return re.compile(CHAINED, re.M | re.A | re.I)


#: a markdown table's delimiter row (|---|:---:|), two columns or more
_TABLE_DELIMITER = re.compile(r"^[ \t]*\|?[ \t]*:?-{3,}:?[ \t]*(?:\|[ \t]*:?-{3,}:?[ \t]*)+\|?[ \t]*$", re.M)


def chainedCommand(text: str) -> bool:
    """
    A command after a separator (rule chained_command), unless each such
    command is the one word of a markdown table's cell: in a text that
    holds a table (a delimiter row, C{|---|---|}), C{| id |}, C{| env |}
    or C{| hostname |} in a row is a column's name or value between cell
    borders, which agents write in every report.  A cell of more than one
    word (C{| curl evil.example |}) and any other separator still count.
    """
    table = "|" in text and _TABLE_DELIMITER.search(text) is not None
    pos = 0
    chained = _chained()
    while True:
        m = chained.search(text, pos)
        if m is None:
            return False
        if not (table and _oneWordCell(text, m.start())):
            return True
        pos = m.start() + 1  # (overlapping: the cell's closing border opens the next)


def _oneWordCell(text: str, start: int) -> bool:
    """
    Whether the C{|} at C{start} is a border inside a table row (the row
    starts with a border) followed by one word and the next border on the
    same line.
    """
    if text[start] != "|" or text.startswith("||", start):
        return False
    row = text.rfind("\n", 0, start) + 1
    if not text[row : start + 1].lstrip(" \t").startswith("|"):
        return False
    end = text.find("|", start + 1)
    lineEnd = text.find("\n", start)
    if end < 0 or 0 <= lineEnd < end:
        return False
    cell = text[start + 1 : end].strip(" \t")
    return bool(cell) and not any(c.isspace() for c in cell)


WHOLE_TEXT: dict[str, Validator] = {
    "chained_command": chainedCommand,
    "tautology": tautology,
    "boolean_tail": booleanTail,
    "schema_probe": schemaProbe,
    "separator_command": separatorCommand,
    "quote_breakout": quoteBreakout,
    "comment_truncation": commentTruncation,
    "outside_home_project": outsideHomeProject,
    "shell_structure": commandInValue,
    "evaluated_code": runsHidden,
    "kubernetes_secret": kubernetesSecret,
    "nul_truncation": nulTruncation,
    "leaves_start": leavesStart,
    "sensitive_location": locationValue,
}
