"""
Instructions aimed at a model, in text that should carry none: a tool's
description (tool poisoning) or what a tool or resource brings back (prompt
injection).  Both are judged by combinations of signals, never by one
keyword: honest descriptions are full of imperative guidance ("IMPORTANT:
always confirm with the user first") and honest documents discuss
injection.

A text is first made visible (L{reveal}): Unicode tag characters decoded,
zero-width and bidi controls dropped, HTML comments and hidden markup
opened, so that what a UI hides from the user is read as the model reads
it.  Then each signal is a set of RE2 patterns with a weight per use
(L{POISONING}, L{INJECTION}); a text scores the sum of the weights of the
signals it shows, and some signals only count together (a sensitive file
and a way out).  L{Scorer.score} returns the score, the signals and where
they are.
"""

from __future__ import annotations

import re
import threading
from typing import Any, Iterable, Optional, Sequence

import attrs
import hyperscan
import re2

# -- hidden text

_TAGS = re.compile("[\U000e0000-\U000e007f]+")
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u180e\u00ad]")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_COMMENT = re.compile(r"<!--(.*?)(?:-->|$)", re.S)
_HIDDEN_HTML = re.compile(
    r"<(\w+)[^>]*style\s*=\s*[\"'][^\"']*(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0|opacity\s*:\s*0)[^\"']*[\"'][^>]*>(.*?)</\1\s*>",
    re.S | re.I,
)


@attrs.frozen
class Revealed:
    """
    A text as a model reads it, and what was hidden in it.

    @ivar text: tag characters decoded, invisible characters removed.
    @ivar hidden: the kinds of hiding found (C{tag_characters},
        C{zero_width}, C{bidi_override}, C{html_comment}, C{hidden_html}).
    @ivar concealed: the text that was hidden (decoded tags, comments, hidden
        markup), to be judged on its own too.
    """

    text: str
    hidden: tuple[str, ...] = ()
    concealed: str = ""


def reveal(text: str) -> Revealed:
    hidden: list[str] = []
    concealed: list[str] = []
    if _TAGS.search(text):
        hidden.append("tag_characters")

        def decode(m: "re.Match[str]") -> str:
            out = "".join(chr(ord(c) - 0xE0000) for c in m.group(0) if 0xE0020 <= ord(c) <= 0xE007E)
            concealed.append(out)
            return " " + out + " "

        text = _TAGS.sub(decode, text)
    if _INVISIBLE.search(text):
        # a soft hyphen or a joiner between letters of one word is how
        # keywords are hidden from filters; a lone one in prose is common
        if len(_INVISIBLE.findall(text)) >= 2:
            hidden.append("zero_width")
        text = _INVISIBLE.sub("", text)
    if _BIDI.search(text):
        hidden.append("bidi_override")
        text = _BIDI.sub("", text)
    if "<!--" in text:
        parts = [m.group(1) for m in _COMMENT.finditer(text)]
        if any(len(p.strip()) > 20 for p in parts):
            hidden.append("html_comment")
            concealed.extend(parts)
    if "style" in text:
        parts = [m.group(2) for m in _HIDDEN_HTML.finditer(text)]
        if parts:
            hidden.append("hidden_html")
            concealed.extend(parts)
    return Revealed(text, tuple(hidden), "\n".join(concealed))


# -- signals

#: each signal: RE2 patterns (case-insensitive, matched anywhere)
SIGNALS: dict[str, tuple[str, ...]] = {
    # "ignore previous instructions" and its paraphrases
    "override": (
        r"\b(?:ignore|disregard|forget|override|bypass|skip|drop|abandon|neglect)\b[^.\n]*\b(?:all\s+|any\s+|the\s+|your\s+|these\s+|those\s+|my\s+)?(?:previous|prior|above|earlier|preceding|foregoing|original|initial|existing|system|safety|other)\b[^.\n]*\b(?:instructions?|prompts?|rules|directions|directives|guidelines|guidance|context|messages?|constraints|orders|commands|policies|restrictions)",
        r"\b(?:ignore|disregard|forget)\b\s+(?:all|everything)\b[^.\n]*\b(?:above|before|previously|so far|you were told|you have been told)",
        r"\b(?:new|updated|revised|real|actual|true)\s+(?:instructions?|task|objective|directive|orders?|system prompt)\s*[:\-]",
        r"\bfrom\s+now\s+on\b[^.\n]*\byou\b",
        r"\byou\s+(?:are|will)\s+now\s+(?:in|an?|the|acting|operating|going)\b",
        r"\b(?:enter|enable|activate|switch\s+to)\s+(?:developer|debug|admin|god|jailbreak|dan|unrestricted)\s+mode\b",
        r"\bthe\s+user\s+(?:actually|really|truly)\s+(?:wants|wanted|needs|asked|meant)\b",
        r"\binstead\s*,?\s+(?:you\s+(?:must|should|will)|your\s+(?:task|job|goal)\s+is)\b",
        # other languages
        r"\bignor(?:a|e|ez|ar|ieren?|iere|ate)\b[^.\n]*\b(?:instrucciones|instrucci[oó]n|anweisungen|instruktionen|instructions|istruzioni|instru[cç][oõ]es|vorgaben|indicaciones|consignes)\b",
        r"\b(?:olvida|oublie[zs]?|vergiss|vergessen\s+sie|esque[cç]a|dimentica)\b[^.\n]*\b(?:instrucciones|anweisungen|instructions|istruzioni|instru[cç][oõ]es|anterior|vorherigen|précédentes)",
        "(?:忽略|无视|忽视|不要理会|忘记|忘掉)[^。\\n]*(?:指令|指示|说明|提示|规则|要求|命令)",
        "(?:以前|前|上記|これまで|先ほど)の?[^。\\n]*(?:指示|命令|指令|ルール)[^。\\n]*(?:を)?(?:無視|忘れ)",
        "(?:игнорируй|игнорируйте|проигнорируй|забудь|забудьте|не\\s+обращай)[^.\\n]*(?:инструкци|указани|правил|команд)",
        "(?:تجاهل|انس|تجاهلوا)[^.\\n]*(?:التعليمات|الأوامر|التوجيهات)",
    ),
    # chat-template tokens and fake role turns
    "role_marker": (
        r"<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id)\|>",
        r"\[/?INST\]",
        r"<</?SYS>>",
        r"(?m)^\s*#{2,}\s*(?:system|instruction|instructions|new instructions|system prompt)\b",
        r"(?m)^\s*\[?(?:system|developer)\]?\s*(?:message|prompt|note|override)?\s*:",
        r"</?(?:system|system_prompt|sys|instructions?|admin|developer_message)>",
        r"</(?:user_query|user_input|user|tool_output|tool_result|function_results|context|document)>\s*<",
        r"(?m)^\s*(?:human|user)\s*:[^\n]*\n\s*(?:assistant|ai)\s*:",
    ),
    # words addressed to the model rather than to the reader
    "address_model": (
        r"\b(?:note|message|instructions?|attention|notice|reminder|memo)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+)?(?:ai|a\.i\.|llm|llms|assistant|assistants|agent|agents|model|models|chatbot|bot|language\s+model|claude|gpt|chatgpt|copilot|gemini)\b",
        r"\b(?:ai|llm|assistant|agent|model|chatbot|bot)s?\s+(?:reading|processing|parsing|summari[sz]ing|viewing|analy[sz]ing|crawling|browsing)\s+(?:this|these|the\s+following)",
        r"\bif\s+you\s+are\s+(?:an?\s+)?(?:ai|a\.i\.|llm|large\s+language\s+model|language\s+model|assistant|agent|bot|chatbot|automated)\b",
        r"\b(?:dear|hey|hello|hi)\s+(?:ai|assistant|agent|claude|gpt|chatgpt|copilot|model|llm)\b",
        r"\bas\s+(?:an?\s+|the\s+)?(?:ai|assistant|agent|language\s+model)\s*,?\s+you\s+(?:must|should|will|are\s+required)",
        r"\b(?:ai|llm|assistant|agent)\s+(?:must|should|shall|needs?\s+to|is\s+required\s+to)\s+(?:now\s+)?(?:ignore|send|forward|call|run|execute|read|reply|respond|include|append|output)",
    ),
    # keeping the user in the dark
    "concealment": (
        r"\b(?:do\s+not|don'?t|never|must\s+not|should\s+not|without)\s+(?:tell(?:ing)?|inform(?:ing)?|mention(?:ing)?|reveal(?:ing)?|show(?:ing)?|alert(?:ing)?|notify(?:ing)?|disclos(?:e|ing)|let(?:ting)?|ask(?:ing)?|report(?:ing)?|warn(?:ing)?|explain(?:ing)?|bother(?:ing)?)\s+(?:the\s+|your\s+)?(?:user|human|operator|customer|person|owner|developer)",
        r"\b(?:do\s+not|don'?t|never)\s+(?:mention|reveal|disclose|show|tell|discuss|acknowledge)\s+(?:this|these|that|it|them)\b[^.\n]*\b(?:user|human|anyone|them|instruction|step|note)",
        r"\b(?:silently|secretly|quietly|covertly|discreetly|invisibly|behind\s+the\s+scenes)\s+(?:send|forward|include|append|add|call|run|read|copy|upload|email|post|exfiltrate|attach|bcc|cc)",
        r"\bthe\s+user\s+(?:has\s+)?(?:already\s+)?(?:approved|consented|authori[sz]ed|agreed|knows|is\s+aware)\b",
        r"\b(?:this|these)\s+(?:is|are)\s+(?:an?\s+)?(?:implementation|internal|technical)\s+details?\b[^.\n]*\b(?:not|never)\b",
        r"\b(?:keep|make)\s+(?:this|it)\s+(?:secret|hidden|confidential|invisible)\s+from\s+(?:the\s+)?(?:user|human)",
        "(?:no\\s+(?:le\\s+)?(?:digas|menciones|informes)\\s+al\\s+usuario|nicht\\s+dem\\s+(?:benutzer|nutzer)\\s+(?:sagen|mitteilen|erwähnen)|ne\\s+(?:le\\s+)?dites?\\s+pas\\s+(?:à\\s+)?l'utilisateur|不要告诉用户|ユーザーに(?:伝え|言わ|知らせ)ない|не\\s+(?:говори|сообщай)\\s+пользователю)",
    ),
    # targets no tool description or document has a reason to send anywhere
    "sensitive_target": (
        r"~/\.ssh\b|\bid_(?:rsa|ed25519|ecdsa|dsa)\b|\.ssh/(?:id_|authorized_keys|known_hosts)",
        r"(?:^|[\s/'\"`(])\.env\b|\bdotenv\b",
        r"\bmcp\.json\b|\.cursor/|claude_desktop_config|\.claude/|\.vscode/settings",
        r"\.aws/credentials|\.aws/config|\.config/gcloud|\.kube/config|\.docker/config\.json|\.npmrc|\.pypirc|\.netrc|\.git-credentials",
        r"/etc/(?:passwd|shadow|sudoers)\b",
        r"\b(?:browser|chrome|firefox)\s+(?:cookies|passwords|history)\b|\bkeychain\b|\bwallet\.dat\b|\bseed\s+phrase\b|\bmnemonic\b",
        r"\b(?:private|secret|signing)\s+keys?\b|\bapi[\s_-]?keys?\b|\baccess[\s_-]?tokens?\b|\bcredentials?\b|\bpasswords?\b|\bsecrets?\b",
    ),
    # a way for data to leave
    "exfil_sink": (
        r"\b(?:send|post|upload|forward|transmit|exfiltrate|leak|pipe|email|mail|copy|sync|report|submit|share)\b[^.\n]*\b(?:to|into|at|via)\s+(?:https?://|ftp://|wss?://|\S+@\S+\.\w+|\S+\.(?:com|net|org|io|ru|cn|xyz|top|site|link|tk)\b)",
        r"!\[[^\]]*\]\(\s*https?://[^)\s]*[?&][^)\s]*=(?:[^)\s]*\{|[^)\s]*\$|[^)\s]*<|[^)\s]*%7B|[^)\s]*\[)",
        r"!\[[^\]]*\]\(\s*https?://[^)\s]*(?:\{[^}]*\}|<[^>]*>|\$\w+|\[\w+\])",
        r"\b(?:include|put|pass|add|append|embed|insert|encode|place|provide|fill|attach)\b[^.\n]*\b(?:in|into|as|to|via)\s+(?:the\s+|a\s+|an\s+)?[`'\"]?(?:sidenote|side_note|note|notes|metadata|meta|context|extra|comment|feedback|annotation|debug|trace|parameter|param|argument|field|url|query|header|hidden\s+field|details)[`'\"]?\b",
        r"\b(?:bcc|cc|blind\s+copy)\b[^.\n]*\S+@\S+",
        r"\bcurl\b[^\n]*\s(?:-d|--data|-F|--upload-file|-T)\b|\bwget\b[^\n]*--post",
        r"\bwebhook\.site\b|\brequestbin\b|\bngrok\.io\b|\bburpcollaborator\b|\binteract\.sh\b|\bpipedream\b|\bpastebin\.com\b",
    ),
    # steering how other tools are used
    "shadowing": (
        r"\b(?:before|prior\s+to|whenever|every\s+time|each\s+time|when(?:ever)?\s+you)\s+(?:you\s+)?(?:use|using|call|calling|invoke|invoking|run|running|execute|executing)\s+(?:any|another|other|the\s+\w+|each|every|a)\b[^.\n]*\btools?\b",
        r"\b(?:when|whenever|if)\s+(?:the\s+)?[`'\"]?\w+[`'\"]?\s+tool\s+is\s+(?:used|called|invoked|run)",
        r"\b(?:instead\s+of|in\s+place\s+of|rather\s+than)\s+(?:using\s+|calling\s+)?(?:the\s+)?[`'\"]?\w+[`'\"]?\s+tool\b[^.\n]*\b(?:always|must|use|call)",
        r"\bthis\s+tool\s+(?:replaces|overrides|supersedes|takes\s+precedence|must\s+be\s+called\s+(?:first|before))",
        r"\b(?:change|replace|redirect|switch|set)\s+(?:the\s+)?(?:recipient|destination|to\s+address|account(?:\s+number)?|iban|wallet|payee|beneficiary|email\s+address)\b",
        r"\b(?:all|every|any)\s+(?:emails?|messages?|payments?|transfers?|transactions?)\s+(?:must|should|will)\s+(?:be\s+)?(?:sent|forwarded|copied|redirected|routed)\s+to\b",
        r"\b(?:always|must)\s+(?:also\s+)?(?:bcc|cc|copy|forward|send|include)\b[^.\n]*\S+@\S+",
        r"\bcall\s+(?:this|the\s+[`'\"]?\w+[`'\"]?)\s+(?:tool|function)\s+(?:first|before|prior)\b",
    ),
    # markers that dress an instruction up as authoritative
    "urgency_tag": (
        r"<(?:important|critical|urgent|system|instructions?|secret|hidden|admin|mandatory|required)\b[^>]*>",
        r"\b(?:important|critical|urgent|attention|warning)\s*(?:!+|:)\s*(?:you|the\s+(?:ai|assistant|agent|model))\b",
    ),
    # asks the model to act with tools
    "tool_request": (
        r"\b(?:call|use|invoke|run|execute|trigger)\s+(?:the\s+)?[`'\"]?[a-z][a-z0-9_\-]*[`'\"]?\s+(?:tool|function|command|action)\b",
        r"\b(?:send|forward|write|compose|draft)\s+(?:an?\s+|the\s+)?(?:e-?mail|message|dm|sms|slack\s+message|tweet)\s+(?:to|with)\b",
        r"\b(?:transfer|wire|send|pay)\s+(?:\$|€|£|usd|eur|btc|eth)?\s?\d[\d,.]*\s*(?:\$|€|£|usd|eur|dollars|euros|btc|eth)?\s+to\b",
        r"\b(?:git\s+push|push\s+(?:the\s+)?(?:code|changes|commit)|merge\s+(?:this|the)\s+(?:pr|pull\s+request)|make\s+(?:the\s+)?repo(?:sitory)?\s+public)\b",
        r"\b(?:delete|remove|drop|wipe|erase|destroy)\s+(?:all|every|the\s+entire|the\s+whole)\s+(?:files?|repos?|repositor(?:y|ies)|records?|data|database|tables?|users?|emails?)\b",
        r"\b(?:read|open|cat|print|dump|show|list|output|fetch|retrieve|collect|gather|grab)\s+(?:the\s+)?(?:contents?\s+of\s+)?(?:the\s+user'?s?\s+)?(?:~|/|\.|[a-z]:\\)[\w./\\-]+",
        r"\b(?:reply|respond|answer)\s+(?:only\s+)?with\s+[\"'`]",
    ),
    # payloads to decode first
    "encoded": (
        r"\b(?:decode|base64|b64|rot13|hex)\b[^.\n]*\b(?:and|then)\s+(?:follow|execute|run|obey|do|apply)",
        r"(?:^|[\s:\"'`])[A-Za-z0-9+/]{60,}={0,2}(?:$|[\s\"'`])",
    ),
}


@attrs.frozen
class Weights:
    """
    How much each signal counts, what combinations add, and the score at
    which a text is judged, per sensitivity.
    """

    signals: tuple[tuple[str, float], ...]
    pairs: tuple[tuple[str, str, float], ...]
    hidden: float
    thresholds: tuple[tuple[str, float], ...]

    def of(self, signal: str) -> float:
        return dict(self.signals).get(signal, 0.0)

    def threshold(self, sensitivity: str) -> float:
        return dict(self.thresholds)[sensitivity]


#: tool descriptions: guidance is normal, steering other tools and hiding
#: things from the user are not
POISONING = Weights(
    signals=(
        ("override", 3.0),
        ("role_marker", 2.0),
        ("address_model", 1.0),
        ("concealment", 3.0),
        ("sensitive_target", 1.0),
        ("exfil_sink", 2.0),
        ("shadowing", 3.0),
        ("urgency_tag", 1.5),
        ("tool_request", 0.5),
        ("encoded", 1.5),
    ),
    pairs=(
        ("sensitive_target", "exfil_sink", 2.0),
        ("sensitive_target", "tool_request", 1.5),
        ("urgency_tag", "sensitive_target", 1.0),
        ("concealment", "exfil_sink", 1.0),
    ),
    hidden=3.0,
    thresholds=(("low", 5.0), ("medium", 4.0), ("high", 3.0)),
)

#: what tools and resources bring back: documents may mention secrets and
#: tools, but do not speak to the model
INJECTION = Weights(
    signals=(
        ("override", 4.0),
        ("role_marker", 3.0),
        ("address_model", 2.5),
        ("concealment", 2.0),
        ("sensitive_target", 0.5),
        ("exfil_sink", 2.0),
        ("shadowing", 1.5),
        ("urgency_tag", 1.5),
        ("tool_request", 1.0),
        ("encoded", 1.5),
    ),
    pairs=(
        ("address_model", "tool_request", 1.5),
        ("sensitive_target", "exfil_sink", 1.5),
        ("urgency_tag", "tool_request", 1.0),
        ("concealment", "tool_request", 1.0),
    ),
    hidden=2.0,
    thresholds=(("low", 6.0), ("medium", 4.0), ("high", 3.0)),
)


@attrs.frozen
class Judgement:
    """
    @ivar score: the sum of the weights of the signals shown.
    @ivar signals: their names (and C{hidden:KIND} for hidden text).
    @ivar spans: (start, end) in L{revealed} of each pattern match, for
        redaction.
    """

    score: float
    signals: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]
    revealed: Revealed

    def over(self, threshold: float) -> bool:
        return self.score >= threshold


class Scorer:
    """
    One compiled signal library, scored with one table of weights.  Which
    signals a text shows is one Hyperscan scan (RE2 for the patterns it
    cannot take), with the hidden-text markers: only a text that has some
    is revealed and scanned again.  Spans, wanted only to redact, are found
    with RE2.
    """

    def __init__(self, weights: Weights, signals: Optional[dict[str, tuple[str, ...]]] = None):
        self.weights = weights
        self._library = _library(signals if signals is not None else SIGNALS)

    def patterns(self) -> tuple[str, ...]:
        """
        Every signal pattern, and the hidden-text markers: a text that
        matches none of them scores 0.
        """
        return self._library.patterns

    def mayFind(self, text: str) -> bool:
        """
        Whether L{score} could find anything in C{text} (one scan; False
        means a score of 0).
        """
        return self._library.any(text)

    def score(self, text: str, wantSpans: bool = False) -> Judgement:
        library = self._library
        hits = library.hits(text)
        if hits and max(hits) >= library.triggers:
            revealed = reveal(text)
            hits = library.hits(revealed.text) if revealed.text != text else hits
            if revealed.concealed:
                hits |= library.hits(revealed.concealed)
        else:
            revealed = Revealed(text)
        owners = library.owners
        seen = dict.fromkeys(owners[i] for i in sorted(hits) if i < library.triggers)
        spans: list[tuple[int, int]] = []
        if wantSpans:
            for i in sorted(hits):
                if i < library.triggers:
                    spans.extend(m.span() for m in library.compiled(i).finditer(revealed.text))
        w = self.weights
        score = sum(w.of(s) for s in seen)
        for a, b, bonus in w.pairs:
            if a in seen and b in seen:
                score += bonus
        signals = list(seen)
        if revealed.hidden:
            # hiding counts when something is said in what is hidden
            if revealed.concealed.strip() and (seen or len(revealed.concealed.strip()) > 40):
                score += w.hidden
            elif any(h in ("tag_characters", "bidi_override") for h in revealed.hidden):
                score += w.hidden / 2
            signals.extend(f"hidden:{h}" for h in revealed.hidden)
        return Judgement(score, tuple(signals), tuple(sorted(spans)), revealed)


class _Library:
    """
    The compiled signal patterns (ids 0..triggers-1) and hidden-text
    markers (ids from C{triggers} on, in a small database of their own:
    together they take seconds to compile), shared by every scorer.
    """

    def __init__(self, signals: dict[str, tuple[str, ...]]):
        options = re2.Options()
        options.case_sensitive = False
        options.max_mem = 64 << 20
        self._options = options
        self.owners: list[str] = [name for name, ps in signals.items() for _ in ps]
        self.triggers = len(self.owners)
        self.patterns: tuple[str, ...] = tuple(p for ps in signals.values() for p in ps) + TRIGGERS
        self._compiled: dict[int, Any] = {}
        self._local = threading.local()
        self._owner = threading.get_ident()
        ids = list(range(self.triggers))
        try:
            db: Optional[hyperscan.Database] = _compile(self.patterns, ids)
        except hyperscan.error:
            ids = [i for i in ids if _hyperscanTakes(self.patterns[i])]
            db = _compile(self.patterns, ids) if ids else None
        taken = set(ids) if db is not None else set()
        self._dbs: list[tuple[hyperscan.Database, hyperscan.Scratch]] = []
        if db is not None:
            self._dbs.append((db, hyperscan.Scratch(db)))
        markers = _compile(self.patterns, list(range(self.triggers, len(self.patterns))))
        self._dbs.append((markers, hyperscan.Scratch(markers)))
        rest = [i for i in range(self.triggers) if i not in taken]
        self._rest: Optional[tuple[Any, list[int]]] = None
        if rest:
            restSet = re2.Set.SearchSet(options)
            for i in rest:
                restSet.Add(self.patterns[i])
            restSet.Compile()
            self._rest = (restSet, rest)

    def _scratches(self) -> list[tuple["hyperscan.Database", "hyperscan.Scratch"]]:
        if threading.get_ident() == self._owner:
            return self._dbs
        mine = getattr(self._local, "dbs", None)
        if mine is None:
            mine = self._local.dbs = [(db, scratch.clone()) for db, scratch in self._dbs]
        return mine  # type: ignore[no-any-return]

    def hits(self, body: str) -> set[int]:
        hits: set[int] = set()
        if not body:
            return hits

        def onMatch(index: int, start: int, end: int, flags: int, context: object) -> None:
            hits.add(index)

        data = body.encode("utf-8", "surrogatepass")
        for db, scratch in self._scratches():
            db.scan(data, match_event_handler=onMatch, scratch=scratch)
        if self._rest is not None:
            restSet, ids = self._rest
            for j in restSet.Match(body) or ():
                hits.add(ids[j])
        return hits

    def any(self, body: str) -> bool:
        """
        Whether anything (a signal or a hidden-text marker) matches.
        """
        if not body:
            return False
        data = body.encode("utf-8", "surrogatepass")
        for db, scratch in self._scratches():
            try:
                db.scan(data, match_event_handler=_stop, scratch=scratch)
            except hyperscan.ScanTerminated:
                return True
        return self._rest is not None and bool(self._rest[0].Match(body))

    def compiled(self, index: int) -> Any:
        pattern = self._compiled.get(index)
        if pattern is None:
            pattern = self._compiled[index] = re2.compile(self.patterns[index], self._options)
        return pattern


def _stop(index: int, start: int, end: int, flags: int, context: object) -> bool:
    return True


_libraries: dict[int, _Library] = {}


def _library(signals: dict[str, tuple[str, ...]]) -> _Library:
    """
    The compiled library of C{signals}: compiling takes most of a second,
    so it is done once per process.
    """
    library = _libraries.get(id(signals))
    if library is None:
        library = _libraries[id(signals)] = _Library(signals)
    return library


def _compile(patterns: Sequence[str], ids: list[int]) -> "hyperscan.Database":
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(
        expressions=[patterns[i].encode("utf-8") for i in ids],
        ids=ids,
        elements=len(ids),
        flags=[_HS_FLAGS] * len(ids),
    )
    return db


_HS_FLAGS = hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_MULTILINE | hyperscan.HS_FLAG_SINGLEMATCH


def _hyperscanTakes(pattern: str) -> bool:
    try:
        hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK).compile(
            expressions=[pattern.encode("utf-8")], ids=[0], elements=1, flags=[_HS_FLAGS]
        )
    except hyperscan.error:
        return False
    return True


#: hidden-text markers that make a text worth scoring even without a signal
TRIGGERS = (
    "[\\x{E0000}-\\x{E007F}]",
    "[\\x{200B}-\\x{200D}\\x{2060}-\\x{2064}\\x{FEFF}]",
    "[\\x{202A}-\\x{202E}\\x{2066}-\\x{2069}]",
    "<!--",
    "display\\s*:\\s*none|visibility\\s*:\\s*hidden|font-size\\s*:\\s*0",
)


def sentences(text: str) -> Iterable[tuple[int, int]]:
    """
    (start, end) of each sentence or line of C{text}.
    """
    start = 0
    for m in re.finditer(r"[.!?](?:\s+|$)|\n+", text):
        end = m.end()
        if end > start:
            yield start, end
        start = end
    if start < len(text):
        yield start, len(text)


def withoutSpans(text: str, spans: Sequence[tuple[int, int]], replacement: str = "") -> str:
    """
    C{text} with each sentence that holds one of C{spans} replaced.
    """
    if not spans:
        return text
    out: list[str] = []
    for start, end in sentences(text):
        if any(start <= s < end or start < e <= end for s, e in spans):
            if replacement and (not out or out[-1] != replacement):
                out.append(replacement)
            continue
        out.append(text[start:end])
    return "".join(out).strip()


__all__ = ["INJECTION", "POISONING", "Judgement", "Revealed", "Scorer", "SIGNALS", "TRIGGERS", "Weights", "reveal", "withoutSpans"]
