"""
The brief's threat checks as one chain step: C{sql_injection},
C{command_injection}, C{path_traversal} and C{data_exfiltration}.

The step compiles the rules of the enabled checks at the configured
sensitivity into one Hyperscan database per direction, so a message is
scanned once whatever the number of checks and rules; requests have a
second, small one of the rules for values (L{argumentKind}: a name, a host,
a file rather than prose or code), scanned over those strings only.  Injection checks look
at requests (and the proxied URL), where an injection is aimed; data
exfiltration looks both ways.  Each check keeps its own mode, action and
C{on_error}.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Optional, Sequence, Union

import attrs
import libinjection
from twisted.internet.defer import Deferred
from twisted.logger import Logger

from akto_proxy.config.model import CHECKS, ThreatDetection
from akto_proxy.inspect.chain import PASS, Finding, Verdict
from akto_proxy.inspect.checks import rules as R
from akto_proxy.inspect.checks.offload import Offload
from akto_proxy.inspect.checks.scanner import Scanner, mask
from akto_proxy.inspect.checks.scope import NOTHING, Exclusions, MessageScope
from akto_proxy.inspect.checks.sqlshape import injects
from akto_proxy.inspect.checks.validators import (
    PHONE_BUDGET, VALIDATORS, WHOLE_TEXT, blobLike, climb, creditCard, email, garbled, nameWords, phoneSpans,
)
from akto_proxy.inspect.message import Message, isKeyPath, withoutSurrogates
from akto_proxy.inspect.normalize import variants

log = Logger()

INJECTION = (R.SQL, R.CMD, R.PATH)
SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}
_SQL_STATEMENT = re.compile(R.SQL_STATEMENT, re.I)
_SHELL_COMMAND = re.compile(R.SHELL_COMMAND, re.I)
_BLOB = re.compile(r"[A-Za-z0-9+/=_\-\r\n]{1024,}")
_MAX_LIBINJECTION = 4096  # bytes of one string handed to the tokeniser
_SHORT_VALUE = 64  # a value longer than this is read as prose by the tokeniser
_DATABASE_TOOL = re.compile(R.DATABASE_TOOL, re.I)
_PROSE_TOOL = re.compile(R.PROSE_TOOL, re.I)
_NAME = re.compile(r"[A-Za-z_][\w-]*")
_SHELL_ARGUMENTS = frozenset(("command", "commands", "cmd", "shell"))
# SQL a command line may carry for a database client
_SQL_WORD = re.compile(
    r"\b(?:select|union|insert|update|delete|drop|truncate|from|where|exec|execute|declare|waitfor)\b|\b(?:sleep|pg_sleep|benchmark)\s*\(", re.I
)
# tools that read, open or render a file: a drive's root is no file to them
_READING_TOOL = re.compile(r"read|open|view|get|download|render|load|include|fetch|show|cat\b|display|preview|import|attach|template|document", re.I)
# tools that list, search or change directories: a drive's root is a place to start
_LISTING_TOOL = re.compile(r"list|ls|dir|tree|browse|search|find|glob|walk|explore|navigate|folder|cd\b|cwd|mount|volume|drive|disk", re.I)


def argumentKind(tool: Optional[str], path: str) -> str:
    """
    What the string at C{path} of a call to C{tool} carries, by the name of
    its argument (or query parameter): C{"code"} (SQL, a command line, a
    source file), C{"text"} (prose; also the URL's path, headers and the
    protocol's own fields) or C{"data"} (a value: a name, a host, a file, an
    id; also a C{resources/read} URI).  An object's key (C{~0}) is a name:
    a value.
    """
    if isKeyPath(path):
        return "data"
    names = _NAME.findall(path)
    if names[:2] == ["params", "uri"]:
        return "data"  # resources/read
    if len(names) < 3 or names[:2] not in (["params", "arguments"], ["url", "query"]):
        return "text"  # the URL's path, headers, other parameters
    name = names[-1].lower()
    if name in ("query", "q", "search", "keywords", "term", "terms"):
        # a database tool's query is SQL, a web search's or a model's is
        # prose; another tool's (a product search) is a value
        if tool and _PROSE_TOOL.search(tool):
            return "text"
        if name == "query" and tool and _DATABASE_TOOL.search(tool):
            return "code"
        return "data"
    if name in R.CODE_ARGUMENTS:
        return "code"
    if name in R.TEXT_ARGUMENTS:
        return "text"
    return "data"


def shellArgument(path: str) -> bool:
    """
    Whether the argument at C{path} is named as a command line (C{command},
    C{cmd}, C{shell}): its C{||}, C{&&} and quotes are the shell's, and SQL
    rides in one only inside a statement for a client (C{psql -c "..."}).
    """
    names = _NAME.findall(path)
    return bool(names) and names[-1].lower() in _SHELL_ARGUMENTS


@attrs.frozen
class CheckPolicy:
    name: str
    monitor: bool
    action: str
    on_error: str


def selectRules(allRules: Sequence[R.Rule], checks: Sequence[str], level: int) -> list[R.Rule]:
    """
    The rules of C{checks} that apply at sensitivity C{level}: for each rule
    name and pattern family, every tier up to the level.
    """
    return [r for r in allRules if r.check in checks and r.level <= level]


#: methods whose results describe the server rather than carry data
DEFINITIONS = frozenset(
    ("initialize", "server/discover", "tools/list", "prompts/list", "resources/list", "resources/templates/list")
)


class ThreatInspector:
    """
    One chain step for the enabled threat checks.
    """

    name = "threat_detection"

    def __init__(self, td: ThreatDetection, checks: Sequence[str], offload: Optional[Offload] = None):
        self.level = R.LEVELS[td.sensitivity]
        self.policies = {}
        for check in checks:
            s = td.settings(check)
            self.policies[check] = CheckPolicy(
                name=check,
                monitor=(s.mode or td.mode) == "monitor",
                action=s.action,
                on_error=s.on_error,
            )
        self.on_error = "pass" if all(p.on_error == "pass" for p in self.policies.values()) else "block"
        self.requestChecks = tuple(c for c in CHECKS if c in self.policies)
        self.responseChecks = tuple(c for c in self.requestChecks if c not in INJECTION)
        ruleSet = R.ALL_RULES + _bulkRules(self.level)
        requestRules = selectRules(ruleSet, self.requestChecks, self.level)
        # Rules for values only run over the strings that are values: most
        # of a message (prose, code) never meets them.
        # (compiled by L{prepare}, unless the prefilter's databases hold
        # them first: L{Scanner.share}).  The request's general rules keep
        # their own database: scanned over every string of a request the
        # prefilter does not prove clean, the prefilter's database of all
        # the request's rules takes 3 times as long (+45% for a 1 MiB
        # argument); the value rules (over value strings only) and the
        # response's share it.
        self._request = Scanner([r for r in requestRules if r.context != "data"], build=False, shares=False)
        self._values = Scanner([r for r in requestRules if r.context == "data" and not r.lines], build=False)
        self._lineValues = Scanner([r for r in requestRules if r.context == "data" and r.lines], lines=True)
        self.knownKinds: dict[tuple[Optional[str], str], str] = {}
        self._response = Scanner(
            [r for r in selectRules(ruleSet, self.responseChecks, self.level) if r.entity != "bulk"], build=False
        )
        self._exclusions = Exclusions(td.exclusions)
        self.foldsRequests = any(c in INJECTION for c in self.requestChecks)
        self._offload = offload
        self._bulkRecords = R.BULK_RECORDS[self.level]
        self._bulkBlob = R.BULK_BLOB[self.level]
        self._rootEscape = R.ROOT_ESCAPE[self.level]

    def prepare(self) -> None:
        """
        Compile the databases of the rule sets that do not share one (see
        L{akto_proxy.inspect.checks.prefilter}): at build time, not on the
        first message.  Without it, each is compiled when first used.
        """
        for scanner in (self._request, self._values, self._lineValues, self._response):
            scanner.build()

    def scanner(self, direction: str) -> Scanner:
        """
        The rule set matched on every string of messages going C{direction}.
        """
        return self._request if direction == "request" else self._response

    def scanners(self, direction: str) -> tuple[Scanner, ...]:
        """
        Every rule set matched on messages going C{direction}: L{scanner}'s
        and, for requests, those matched on values only (the second over
        values that hold a line break: L{Scanner.lines}).
        """
        return (self._request, self._values, self._lineValues) if direction == "request" else (self._response,)

    def kind(self, tool: Optional[str], path: str) -> str:
        """
        L{argumentKind}, remembered (a bounded number of tool and path pairs).
        """
        key = (tool, path)
        kind = self.knownKinds.get(key)
        if kind is None:
            if len(self.knownKinds) >= 4096:
                self.knownKinds.clear()
            kind = self.knownKinds[key] = argumentKind(tool, path)
        return kind

    def inspect(self, message: Message) -> Union[Verdict, "Deferred[Verdict]"]:
        checks = self.requestChecks if message.direction == "request" else self.responseChecks
        if message.binary:
            # binary data is no language: only vendor-shaped secrets count
            checks = tuple(c for c in checks if c == R.EXFIL)
        if not checks or not message.strings:
            return PASS
        scope = self._exclusions.scope(message)
        if scope is not NOTHING:
            checks = tuple(c for c in checks if not scope.wholly(c))
            if not checks:
                return PASS
        if self._offload is not None:
            return self._offload.run(message, self._inspect, message, checks, scope)
        return self._inspect(message, checks, scope)

    def _inspect(self, message: Message, checks: tuple[str, ...], scope: MessageScope) -> Verdict:
        request = message.direction == "request"
        scanner = self._request if request else self._response
        injection = request and any(c in INJECTION for c in checks)
        # a binary body is no language, and a server's description of itself
        # (its tools, prompts, resources, instructions) is not data leaving:
        # only the secrets a vendor's rule names count in either (an example
        # address or "epicKey": "EPIC-123" in a schema must not withhold
        # every tool)
        binary = message.binary or (not request and message.method in DEFINITIONS)
        plus = message.transport == "url"
        segments: list[str] = []
        owners: list[tuple[int, str]] = []
        strings = message.strings
        scoped = scope is not NOTHING
        for i, (path, text) in enumerate(strings):
            if not text or (scoped and all(scope.excludes(c, path) for c in checks)):
                continue
            if injection:
                for v in variants(text, plus):
                    segments.append(v.text)
                    owners.append((i, v.kind))
            else:
                segments.append(text)
                owners.append((i, "r"))
        if not segments:
            return PASS
        hits = scanner.scan(segments)
        found = _Found()
        kinds = _Kinds(self, message.tool, strings)
        self._confirmHits(scanner, hits, checks, found, segments, owners, strings, scope, kinds, request, binary=binary)
        if injection and (self._values or self._lineValues):
            # the value rules catch what the general rules missed for their
            # check; they do not add to what those found
            of = kinds.of
            values = [n for n, (i, _) in enumerate(owners) if of(i) == "data"]
            confirm: list[tuple[Scanner, dict[int, set[int]], list[str], list[tuple[int, str]]]] = []
            for valueScanner in (self._values, self._lineValues):
                if valueScanner.lines:
                    values = [n for n in values if valueScanner.mayMatch(segments[n])]
                if not values or not valueScanner:
                    continue
                segs = [segments[n] for n in values]
                valueOwners = [owners[n] for n in values]
                rules = valueScanner.rules
                # (in the rules' order, not the order a database reported
                # them in: the prefilter's shared database numbers them
                # otherwise, and two value rules of one check on one string,
                # ipconfig, must give the same findings either way)
                valueHits = {
                    index: {seg for seg in hit if not found.anyIn(valueOwners[seg][0], rules[index].check)}
                    for index, hit in sorted(valueScanner.scan(segs).items())
                }
                confirm.append((valueScanner, valueHits, segs, valueOwners))
            for valueScanner, valueHits, segs, valueOwners in confirm:
                self._confirmHits(valueScanner, valueHits, checks, found, segs, valueOwners, strings, scope, kinds, request)
        if request and not binary and R.EXFIL in checks and (self._bulkRecords or self._bulkBlob):
            self._bulk(scanner, hits, segments, owners, strings, scope, found)
        found.dropGeneric()
        return self._verdict(found, strings, "url" if message.transport == "url" else "body")

    def _confirmHits(
        self,
        scanner: Scanner,
        hits: dict[int, set[int]],
        checks: tuple[str, ...],
        found: "_Found",
        *where: Any,
        binary: bool = False,
    ) -> None:
        """
        L{_confirm} each rule of C{scanner} that hit, for the enabled
        C{checks} (of a C{binary} body: only the vendors' secrets); C{where}
        is the rest of L{_confirm}'s arguments (segments, their owners, the
        strings, the scope, the argument kinds, whether it is a request).
        """
        for index, segs in hits.items():
            rule = scanner.rules[index]
            if rule.check not in checks or (binary and rule.name not in R.SECRET_NAMES):
                continue
            try:
                self._confirm(scanner, index, rule, segs, found, *where)
            except Exception:
                if self.policies[rule.check].on_error != "pass":
                    raise
                log.failure("check {check} failed", check=rule.check)
                found.errors.add(rule.check)

    def _confirm(
        self,
        scanner: Scanner,
        index: int,
        rule: R.Rule,
        segs: set[int],
        found: "_Found",
        segments: list[str],
        owners: list[tuple[int, str]],
        strings: tuple[tuple[str, str], ...],
        scope: MessageScope,
        kinds: "_Kinds",
        request: bool = True,
    ) -> None:
        if rule.entity == "bulk":
            return
        check = rule.check
        for seg in sorted(segs):
            i, kind = owners[seg]
            if kind not in rule.variants:
                continue
            path, raw = strings[i]
            if scope.excludes(check, path):
                continue
            if found.has(check, rule.name, i) and rule.internal is False and kind != "r":
                continue
            text = segments[seg]
            if check == R.SQL and kinds.of(i) == "code" and shellArgument(path) and _SQL_WORD.search(text) is None:
                continue  # a command line's || and && (cmd || true) with no SQL in it
            if rule.fragment or (rule.internal and rule.name != "structure_candidate"):
                if check == R.SQL and _SQL_STATEMENT.match(text):
                    continue
                if check == R.CMD and _SHELL_COMMAND.match(text):
                    continue
            if rule.internal:
                if rule.name == "structure_candidate":
                    if not found.has(check, "sql_structure", i) and injects(text):
                        found.add(check, "sql_structure", "high", i, None)
                    continue
                if check == R.SQL and not found.has(check, "libinjection", i):
                    value = kinds.of(i) == "data"
                    if _libinjection(text, len(text) <= _SHORT_VALUE and value, self.level >= 2):
                        found.add(check, "libinjection", "high", i, None)
                    elif value and self.level >= 2 and not found.has(check, "sql_structure", i) and injects(text):
                        found.add(check, "sql_structure", "high", i, None)
                continue
            if rule.validator == "root_probe":
                tool = kinds.tool or ""
                if _READING_TOOL.search(tool) and not _LISTING_TOOL.search(tool):
                    found.add(check, rule.name, rule.severity, i, None)
                continue
            if rule.validator == "root_escape":
                if climb(text) >= self._rootEscape:
                    found.add(check, rule.name, rule.severity, i, None)
                continue
            if rule.validator in WHOLE_TEXT:
                if scanner.python(index).search(text) and WHOLE_TEXT[rule.validator](text):
                    found.add(check, rule.name, rule.severity, i, None)
                continue
            if rule.validator == "new_in_variant":
                if _newInVariant(scanner, index, text, raw):
                    found.add(check, rule.name, rule.severity, i, None)
                continue
            if rule.validator in _CONTACT and request and self.level <= 2 and (addressing(path) or not kinds.outward):
                continue  # the recipient of a message is its purpose, not a leak; an inward tool's data is its own
            if rule.validator in ("phone", "contact_phone"):
                spans = phoneSpans(text, scanner.candidates(index, text), found.phoneBudget)
            else:
                spans = scanner.spans(index, text, VALIDATORS.get(rule.validator) if rule.validator else None)
            if spans and rule.name == "credit_card":
                spans = [s for s in spans if not documentedTestCard(text, s)]
            if spans and check == R.EXFIL and rule.name not in R.SECRET_NAMES:
                # bytes read as characters (a binary body, by the string): no
                # address, no number, no password; a vendor's key still is
                spans = [s for s in spans if not garbled(text, s)]
            if not spans:
                continue
            found.add(check, rule.name, rule.severity, i, spans if kind == "r" else None)

    def _bulk(
        self,
        scanner: Scanner,
        hits: dict[int, set[int]],
        segments: list[str],
        owners: list[tuple[int, str]],
        strings: tuple[tuple[str, str], ...],
        scope: MessageScope,
        found: "_Found",
    ) -> None:
        records: set[str] = set()
        top: dict[int, int] = {}
        for index, segs in hits.items():
            rule = scanner.rules[index]
            if rule.entity != "bulk" or rule.name == "bulk_blob":
                continue
            check = email if rule.name == "bulk_email" else creditCard
            for seg in segs:
                i, kind = owners[seg]
                if kind != "r" or scope.excludes(R.EXFIL, strings[i][0]):
                    continue
                text = segments[seg]
                for start, end in scanner.spans(index, text, check):
                    records.add(text[start:end].lower())
                    top[i] = top.get(i, 0) + 1
        if self._bulkRecords and len(records) >= self._bulkRecords:
            where = max(top, key=lambda k: top[k])
            found.add(R.EXFIL, "bulk_records", "high", where, None)
        if self._bulkBlob and any(scanner.rules[k].name == "bulk_blob" for k in hits):
            for i, (path, text) in enumerate(strings):
                if len(text) < self._bulkBlob or scope.excludes(R.EXFIL, path):
                    continue
                if any(len(m.group(0)) >= self._bulkBlob and blobLike(m.group(0)) for m in _BLOB.finditer(text)):
                    found.add(R.EXFIL, "bulk_encoded_blob", "high", i, None)

    def _verdict(self, found: "_Found", strings: tuple[tuple[str, str], ...], whole: str) -> Verdict:
        findings: list[Finding] = []
        block = False
        redactions: dict[int, list[tuple[int, int, str]]] = {}
        rewrites: dict[int, str] = {}
        for check in sorted(found.errors):
            findings.append(Finding(check, "exception", "", "low", "log", enforced=False))
        items = sorted(found.items.values(), key=lambda f: SEVERITY_ORDER.get(f[1], 9))
        for (check, severity, i, rule, spans) in items:
            policy = self.policies[check]
            path = strings[i][0]
            findings.append(
                Finding(
                    check=check,
                    rule=rule,
                    location=path or whole,
                    severity=severity,
                    action=policy.action,
                    enforced=not policy.monitor,
                )
            )
            if policy.monitor:
                continue
            if policy.action == "block":
                block = True
            elif policy.action == "redact":
                if spans:
                    redactions.setdefault(i, []).extend((s, e, rule) for s, e in spans)
                else:
                    rewrites.setdefault(i, f"[REDACTED:{rule}]")
        if not findings:
            return PASS
        replacements: dict[str, str] = {}
        if not block:
            for i, labelled in redactions.items():
                if i not in rewrites:
                    replacements[strings[i][0]] = mask(strings[i][1], labelled)
            for i, text in rewrites.items():
                replacements[strings[i][0]] = text
        return Verdict(findings=tuple(findings), block=block, replacements=tuple(replacements.items()))


class _Kinds:
    """
    L{argumentKind} of the strings of one message, each worked out once
    when asked.
    """

    def __init__(self, inspector: "ThreatInspector", tool: Optional[str], strings: tuple[tuple[str, str], ...]):
        self._inspector = inspector
        self._known = inspector.knownKinds
        self._tool = tool
        self._strings = strings
        self._kinds: list[Optional[str]] = [None] * len(strings)

    @property
    def tool(self) -> Optional[str]:
        return self._tool

    @functools.cached_property
    def outward(self) -> bool:
        """
        Whether the message's tool sends what it is given on
        (L{outwardTool}).
        """
        return outwardTool(self._tool)

    def of(self, i: int) -> str:
        kind = self._kinds[i]
        if kind is None:
            path = self._strings[i][0]
            kind = self._known.get((self._tool, path)) or self._inspector.kind(self._tool, path)
            self._kinds[i] = kind
        return kind


class _Found:
    """
    Confirmed hits, one per check, rule and string.
    """

    def __init__(self) -> None:
        self.items: dict[tuple[str, str, int], tuple[str, str, int, str, Optional[list[tuple[int, int]]]]] = {}
        self.errors: set[str] = set()
        self.phoneBudget = [PHONE_BUDGET]  # numbers validated in this message

    def has(self, check: str, rule: str, i: int) -> bool:
        return (check, rule, i) in self.items

    def dropGeneric(self) -> None:
        """
        Forget a generic secret finding (a name and a random value) in a
        string where a vendor's rule named the secret already.
        """
        generic = [k for k in self.items if k[1] in R.GENERIC_SECRETS]
        if not generic:
            return
        named = {k[2] for k in self.items if k[0] == R.EXFIL and k[1] in R.SECRET_NAMES}
        for k in generic:
            if k[2] in named:
                del self.items[k]

    def anyIn(self, i: int, check: str) -> bool:
        """
        Whether C{check} found something in string C{i}.
        """
        return any(k[2] == i and k[0] == check for k in self.items)

    def add(self, check: str, rule: str, severity: str, i: int, spans: Optional[list[tuple[int, int]]]) -> None:
        key = (check, rule, i)
        old = self.items.get(key)
        if old is not None:
            if spans and old[4] is not None:
                old[4].extend(spans)
            return
        self.items[key] = (check, severity, i, rule, list(spans) if spans else None)


def _bulkRules(level: int) -> tuple[R.Rule, ...]:
    if not R.BULK_RECORDS[level]:
        return ()
    email_ = next(r for r in R.PII_RULES if r.name == "email")
    card = next(r for r in R.PII_RULES if r.name == "credit_card")
    return (
        attrs.evolve(email_, name="bulk_email", level=1, entity="bulk", validator=None),
        attrs.evolve(card, name="bulk_card", level=1, entity="bulk", validator=None),
        R.Rule(R.EXFIL, "bulk_blob", r"[A-Za-z0-9+/=_-]{1024}", variants="r", entity="bulk", single=True),
    )


# --- data exfiltration: where a contact detail sits -------------------------

_CONTACT = frozenset(("contact_email", "contact_phone", "contact_column", "contact_mailbox"))
#: argument names (any key on the path under C{params.arguments}, case and
#: C{_}/C{-} ignored) that address a message or name a person to look up
ADDRESSING = frozenset(
    "to cc bcc from sender replyto recipient recipients email emails emailaddress emailaddresses toaddress "
    "toaddresses fromaddress phone phones phonenumber phonenumbers mobile tel telephone fax number tonumber "
    "fromnumber contact contacts attendee attendees invitee invitees participant participants guest guests "
    "member members user users username userid owner assignee assignees reviewer reviewers address addresses "
    "mailto login account handle identifier whatsapp sms msisdn callee caller".split()
)
_PATH_KEY = re.compile(r"[A-Za-z_-][\w-]*")


@functools.lru_cache(maxsize=1024)
def outwardTool(tool: Optional[str]) -> bool:
    """
    Whether a word of the tool's name (C{send_email}, C{slackPostMessage},
    C{web-search}; plurals too) is one of L{R.OUTWARD_TOOL_WORDS}; no tool
    (a plain HTTP body) counts as outward.
    """
    if not tool:
        return True
    for word in nameWords(tool):
        if word in R.OUTWARD_TOOL_WORDS or (word.endswith("s") and word[:-1] in R.OUTWARD_TOOL_WORDS):
            return True
    return False


def addressing(path: str) -> bool:
    """
    Whether the request string at C{path} is where a tool takes whom to
    write to or look up (C{params.arguments.to},
    C{params.arguments.recipients[0].email}): an address there is the
    purpose of the call.
    """
    if not path.startswith("params.arguments."):
        return False
    for key in _PATH_KEY.findall(path[len("params.arguments."):]):
        if key.replace("_", "").replace("-", "").lower() in ADDRESSING:
            return True
    return False


#: issuers' and processors' documented test numbers (Stripe, Adyen,
#: Braintree, PayPal): not cards when the text says it is testing
TEST_CARDS = frozenset(
    "4242424242424242 4000056655665556 4111111111111111 4012888888881881 4000000000000002 4000000000009995 "
    "5555555555554444 5200828282828210 5105105105105100 2223003122003222 378282246310005 371449635398431 "
    "6011111111111117 6011000990139424 3056930009020004 36227206271667 3566002020360505 6200000000000005 "
    "4917610000000000 4988438843884305 5454545454545454 4444333322221111".split()
)
_TESTING = re.compile(r"\b(?:test(?:ing|s)?|sandbox|example|demo|dummy|fake|stripe|staging)\b", re.I)


def documentedTestCard(text: str, span: tuple[int, int]) -> bool:
    """
    A documented test card number in text that says so (within 60
    characters before it): C{Test card 4242 4242 4242 4242}.
    """
    start, end = span
    if re.sub(r"[ -]", "", text[start:end]) not in TEST_CARDS:
        return False
    return bool(_TESTING.search(text, max(0, start - 60), start))


# libinjection fingerprints that begin with a statement keyword or a bare
# word are SQL text, an expression or prose, not an injection into a value:
# an injected value begins with a string or a number it breaks out of.
_BENIGN_FINGERPRINT = re.compile(r"^(?:E|T|k|n|f\(|v)")
# strings, words, numbers and operators alone, with no keyword, logic,
# comment or statement between them: in code or prose, punctuation
# ("%NAME%";, "<key>"), not SQL
_NO_SQL_FINGERPRINT = re.compile(r"[sno1v]+")
# two words or more before a value's first quote
_WORDS_BEFORE_QUOTE = re.compile(r"\s*[^\s'\"`]+\s+[^'\"`]*?\S\s*['\"`]")
# no quote, comparison or comment: numbers and words, arithmetic and logic
_NO_COMPARISON = re.compile(r"[^'\"`=<>!#;-]*")


def _libinjection(text: str, value: bool = False, judged: bool = False) -> bool:
    """
    Whether libinjection takes C{text} for an injection.  In a C{value}
    (an argument that carries data, not SQL or prose) every fingerprint
    counts: a bare word or a keyword has no business starting an
    expression there; but for two readings that L{injects} is asked about
    when C{judged} (at medium and above, where the value rules stand
    beside it).
    """
    if len(text) > _MAX_LIBINJECTION:
        text = text[:_MAX_LIBINJECTION]
    try:
        result: Any = libinjection.is_sql_injection(text)
    except UnicodeEncodeError:  # lone surrogates, which it cannot take
        result = libinjection.is_sql_injection(withoutSurrogates(text))
    if not result["is_sqli"]:
        return False
    fingerprint = result["fingerprint"]
    tokens = result["token_vector"]
    if fingerprint in ("s&s", "sos") and _proseAfterQuote(tokens[2]):
        return False  # a quoted word in prose: "or" vs "and" grammar, "LIKE" STAMP
    if value:
        # numbers joined by logic with no comparison (1/2 or 3/4, 1 or 2,
        # not 3) are an injection only when the value does something to a
        # statement by its structure
        if not judged:
            return True
        if fingerprint == "1&1" and _NO_COMPARISON.fullmatch(text) and injects(text) is None:
            return False
        # words, then a quote: a name or a product with a foot mark (RUG 8'
        # X 10' -- GREY), unless the quote starts SQL that does something
        if fingerprint[:1] == "n" and _WORDS_BEFORE_QUOTE.match(text) and injects(text) is None:
            return False
        return True
    if fingerprint[:1] == "s" and _proseBeforeQuote(tokens[0]):
        return False
    return not (_BENIGN_FINGERPRINT.match(fingerprint) or _NO_SQL_FINGERPRINT.fullmatch(fingerprint))


def _proseBeforeQuote(token: Any) -> bool:
    """
    Whether libinjection's first token is words of prose it read as the
    end of a string (C{user input like ' OR ...}): a sentence quoting SQL,
    not a value breaking out of its quote, which is one word.
    """
    return token["str_open"] == 0 and bool(token["str_close"]) and len(token["val"].split()) >= 2


def _proseAfterQuote(token: Any) -> bool:
    """
    Whether libinjection's last token of a string, operator, string reading
    is a string it opened and never closed that goes on in words (C{'and'
    between the names}): the quotes of a quoted word, not an operand.
    """
    return bool(token["str_open"]) and not token["str_close"] and token["val"][:1].isspace() and any(c.isalpha() for c in token["val"].decode("utf-8", "replace"))


def _newInVariant(scanner: Scanner, index: int, folded: str, raw: str) -> bool:
    pattern = scanner.python(index)
    before = {re.sub(r"\s+", " ", m.group(0).strip()) for m in pattern.finditer(raw)}
    after = {re.sub(r"\s+", " ", m.group(0).strip()) for m in pattern.finditer(folded)}
    return bool(after - before)
