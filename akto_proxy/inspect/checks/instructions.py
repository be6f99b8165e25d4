"""
Instructions aimed at a model, in text that should carry none: a tool's
description (tool poisoning) or what a tool or resource brings back (prompt
injection).  Both are judged by combinations of signals, never by one
keyword: honest descriptions are full of imperative guidance ("IMPORTANT:
always confirm with the user first") and honest documents discuss
injection.

A text is first made visible (L{reveal}): Unicode tag characters decoded,
zero-width and bidi controls dropped, look-alike letters of other scripts
made Latin, HTML and Markdown comments and hidden markup opened, base64,
hex, percent-encoded, rot13 and leetspeak payloads decoded, so that what a
UI hides from the user, or a filter would not read, is read as the model
reads it.  Then each signal is a set of RE2 patterns (classes of wording in
many languages: an override of earlier instructions, words addressed to a
model, fake role markers, imperatives about the model's answer, claims to
speak for the user, concealment, exfiltration through URLs with
placeholders, steering of other tools, ...) with a weight per use
(L{POISONING}, L{INJECTION}); a text scores the sum of the weights of the
signals it shows, some signals add more together (a sensitive file and a
parameter to put it in), and what is said in hidden text adds more.
L{Scorer.score} returns the score, the signals and where they are.
"""

from __future__ import annotations

import base64
import codecs
import re
import threading
import urllib.parse
from typing import Any, Iterable, Optional, Sequence, Union

import attrs
import hyperscan
import re2

from akto_proxy.inspect.checks import learned
from akto_proxy.inspect.hscache import compileDatabase

# -- hidden text

_TAGS = re.compile("[\U000e0000-\U000e007f]+")
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u180e\u00ad]")
_IN_WORD = re.compile("(?<=\\w)[\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u180e\u00ad](?=\\w)")
_ZW_BITS = re.compile("[\u200b\u200c\u200d]{16,}")
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_BIDI_SPAN = re.compile("[\u202b\u202e\u2067\u202a\u202d\u2066\u2068]+([^\u202c\u2069\n]*)")
_COMMENT = re.compile(r"<!\s*--(.*?)(?:-->|$)", re.S)
_MD_COMMENT = re.compile(r"^\s*\[//\]:\s*#\s*[(\"'](.*?)[)\"']?\s*$", re.M)
_HIDING_STYLE = (
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0|opacity\s*:\s*0(?:\.0*)?\s*(?:;|[\"'])"
    r"|(?:left|top|text-indent)\s*:\s*-\d{3,}|color\s*:\s*(?:#fff\b|#ffffff\b|white\b)|(?:height|width)\s*:\s*0(?:px)?\s*(?:;|[\"'])"
)
#: a start tag (its name and attributes), bounded: a C{<} with no C{>}
#: costs at most the distance to the next C{<}
_START_TAG = re.compile(r"<([A-Za-z][\w-]{0,30})(\s[^<>]{0,2000})>")
#: what in a start tag makes a browser not show the element: hiding style,
#: or the hidden attribute
_HIDING_ATTR = re.compile(
    r"style\s*=\s*[\"'][^\"'>]*(?:" + _HIDING_STYLE + r")|\shidden(?=[\s>/=]|$)|\saria-hidden\s*=\s*[\"']true",
    re.I,
)
#: how far after a hiding start tag its end tag is looked for (a browser
#: hides the rest of the document when there is none)
_HIDDEN_REACH = 16384
_ATTR_TEXT = re.compile(r"\b(?:alt|aria-label|title|data-\w+)\s*=\s*(?:\"([^\"]{40,})\"|'([^']{40,})')", re.I)
#: text pushed out of view by a long run of spaces or blank lines (each run
#: tried once, from its start, and never given back: linear)
_PADDING = re.compile(
    r"(?:(?<![ \t\u00a0\u2000-\u200a\u3000])[ \t\u00a0\u2000-\u200a\u3000]{60,}+|(?<![ \t\n])\n(?:[ \t]*+\n){10,}+)[ \t]*+(\S[^\n]*(?:\n[^\n]+){0,3})"
)
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{24,}={0,2}(?![A-Za-z0-9+/=])")
_HEX = re.compile(r"(?<![0-9A-Fa-f])(?:0x)?((?:[0-9A-Fa-f]{2}){16,})(?![0-9A-Fa-f])")
_TOKEN = re.compile(r"\S+")
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
#: six or more bytes written as bits (a run is taken whole, from its start)
_BITS = re.compile(r"(?<![01])(?:[01]{8}(?:\s++|$)){6,}+")
_ROT13 = re.compile(r"\brot[\s-]?13\b", re.I)
_REVERSE = re.compile(r"\brevers", re.I)
_QUOTED = re.compile(r"'([^'\n]{12,})'|\"([^\"\n]{12,})\"")
_LEET = re.compile(r"[A-Za-z][0134]+[A-Za-z]")
_LEET_WORD = re.compile(r"[A-Za-z0-9@$]+")
_LEET_DIGITS = str.maketrans("013457@$", "oieastas")
#: Cyrillic and Greek letters that look like Latin ones
_CONFUSABLE = str.maketrans(
    "аеорсухіјѕԁһӏԛԝкмнтвАВЕКМНОРСТХУІЈЅαονιρτυχΑΒΕΖΗΙΚΜΝΟΡΤΥΧ",
    "aeopcyxijsdhlqwkmhtbABEKMHOPCTXYIJSaoviptuxABEZHIKMNOPTYX",
)
#: a word mixing Latin letters with Greek or Cyrillic ones
_MIXED_WORD = re.compile(r"(?<![^\W\d_])[^\W\d_]*(?:[A-Za-z][\u0370-\u03ff\u0400-\u04ff]|[\u0370-\u03ff\u0400-\u04ff][A-Za-z])[^\W\d_]*")
_LATIN = re.compile(r"[A-Za-z]")
_GREEK_CYRILLIC = re.compile(r"[\u0370-\u03ff\u0400-\u04ff]")


@attrs.frozen
class Revealed:
    """
    A text as a model reads it, and what was hidden in it.

    @ivar text: tag characters decoded, invisible characters removed,
        look-alike letters of other scripts mixed into Latin words made
        Latin.
    @ivar hidden: the kinds of hiding found (C{tag_characters},
        C{zero_width}, C{zero_width_bits}, C{bidi_override}, C{homoglyph},
        C{html_comment}, C{markdown_comment}, C{hidden_html},
        C{attribute_text}, C{padding}, C{encoded}, C{rot13}, C{reversed},
        C{leetspeak}).
    @ivar concealed: the text that was hidden (decoded tags and bits,
        comments, hidden markup, text after padding, decoded base64, hex,
        percent-encoding and rot13, reversed and de-leeted lines), to be
        judged on its own too.
    """

    text: str
    hidden: tuple[str, ...] = ()
    concealed: str = ""


def _texty(s: str) -> bool:
    """
    Whether a decoded payload reads like words (not a key, a hash or an
    image).
    """
    if len(s) < 12 or s.count(" ") < 2:
        return False
    printable = sum(1 for c in s if c.isprintable() or c in "\n\t")
    return printable >= 0.95 * len(s) and sum(1 for c in s if c.isalpha()) >= 0.5 * len(s.replace(" ", ""))


def _decoded(text: str) -> list[str]:
    """
    Payloads encoded in C{text} (base64, hex, percent-encoding, bit strings)
    that decode to words.
    """
    out: list[str] = []
    for m in _BASE64.finditer(text):
        blob = m.group(0)
        try:
            raw = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=False)
            s = raw.decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            continue
        if _texty(s):
            out.append(s)
    for m in _HEX.finditer(text):
        try:
            s = bytes.fromhex(m.group(1)).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            continue
        if _texty(s):
            out.append(s)
    if "%" in text:
        for m in _TOKEN.finditer(text):
            token = m.group(0)
            if token.count("%") >= 2 and len(_ESCAPE.findall(token)) >= 2:
                s = urllib.parse.unquote_plus(token) if "+" in token else urllib.parse.unquote(token)
                if _texty(s):
                    out.append(s)
    for m in _BITS.finditer(text):
        chars = [chr(int(b, 2)) for b in m.group(0).split()]
        s = "".join(chars)
        if sum(1 for c in s if c.isprintable()) >= 0.9 * len(s):
            out.append(s)
    return out


def _leet(word: str) -> bool:
    """
    Whether C{word} is letters with some of them written as digits.
    """
    letters = [c for c in word if c.isalpha()]
    return (
        len(letters) >= 2
        and any(c in "0134" for c in word)
        and not any(c.isdigit() and c not in "0134" for c in word)
        and any(c.lower() not in "abcdef" for c in letters)
        and bool(_LEET.search(word) or word[0] in "0134" or word[-1] in "0134")
    )


def _leetLine(line: str) -> bool:
    """
    Whether C{line} has three words or more spelled with digits.
    """
    n = 0
    for word in _LEET_WORD.findall(line):
        if _leet(word):
            n += 1
            if n == 3:
                return True
    return False


def _zeroWidthBits(run: str) -> str:
    """
    Text spelled in zero-width characters as bits (U+200B and U+200C,
    groups of eight, U+200D between them), or "".
    """
    groups = [g for g in run.split("\u200d") if g] if "\u200d" in run else [run[i : i + 8] for i in range(0, len(run), 8)]
    if not groups or any(len(g) != 8 or set(g) - {"\u200b", "\u200c"} for g in groups):
        return ""
    s = "".join(chr(int(g.replace("\u200b", "0").replace("\u200c", "1"), 2)) for g in groups)
    return s if sum(1 for c in s if c.isprintable()) >= 0.9 * len(s) else ""


def _hiddenElements(text: str) -> list[str]:
    """
    The content of the elements of C{text} a browser does not show: up to
    their end tag, or L{_HIDDEN_REACH} characters.  The parts do not
    overlap (an element hidden inside a hidden one is in its part), so they
    add up to no more than the text.
    """
    parts: list[str] = []
    lower = ""
    reached = 0
    for m in _START_TAG.finditer(text):
        if m.start() < reached or not _HIDING_ATTR.search(m.group(2)):
            continue
        lower = lower or text.lower()
        limit = min(len(text), m.end() + _HIDDEN_REACH)
        end = lower.find("</" + m.group(1).lower(), m.end(), limit)
        reached = end if end >= 0 else limit
        parts.append(text[m.end() : reached])
    return parts


def reveal(text: str) -> Revealed:
    """
    C{text} as a model reads it, and what in it is hidden from a person
    looking at it, or encoded so that filters do not read it.
    """
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
        for m in _ZW_BITS.finditer(text):
            bits = _zeroWidthBits(m.group(0))
            if bits:
                hidden.append("zero_width_bits")
                concealed.append(bits)
        # a soft hyphen or a joiner between letters of one word is how
        # keywords are hidden from filters; a lone one in prose is common
        if len(_INVISIBLE.findall(text)) >= 2:
            hidden.append("zero_width")
            concealed.extend(_INVISIBLE.sub("", line) for line in text.split("\n") if len(_IN_WORD.findall(line)) >= 2)
        text = _INVISIBLE.sub("", text)
    if _BIDI.search(text):
        hidden.append("bidi_override")
        for m in _BIDI_SPAN.finditer(text):
            span = _BIDI.sub("", m.group(1))
            concealed.extend((span, span[::-1]))
        text = _BIDI.sub("", text)
    if _GREEK_CYRILLIC.search(text) and _LATIN.search(text):
        # Latin words spelled with Cyrillic or Greek look-alikes
        mixed = text
        text = _MIXED_WORD.sub(lambda m: m.group(0).translate(_CONFUSABLE), text)
        if text != mixed:
            hidden.append("homoglyph")
            concealed.extend(line for line, was in zip(text.split("\n"), mixed.split("\n")) if line != was)
    if "<!" in text:
        parts = [m.group(1) for m in _COMMENT.finditer(text)]
        if any(len(p.strip()) > 20 for p in parts):
            hidden.append("html_comment")
            concealed.extend(parts)
    if "[//]" in text:
        parts = [m.group(1) for m in _MD_COMMENT.finditer(text)]
        if parts:
            hidden.append("markdown_comment")
            concealed.extend(parts)
    if "<" in text:
        parts = _hiddenElements(text)
        if parts:
            hidden.append("hidden_html")
            concealed.extend(parts)
        attrs_ = [m.group(1) or m.group(2) for m in _ATTR_TEXT.finditer(text)]
        if attrs_:
            hidden.append("attribute_text")
            concealed.extend(attrs_)
    padded = [m.group(1) for m in _PADDING.finditer(text)]
    if padded:
        hidden.append("padding")
        concealed.extend(padded)
    decoded = _decoded(text)
    if decoded:
        hidden.append("encoded")
        concealed.extend(decoded)
    if _ROT13.search(text):
        hidden.append("rot13")
        concealed.append(codecs.decode(text, "rot13"))
    if _REVERSE.search(text):
        flipped = [(m.group(1) or m.group(2))[::-1] for m in _QUOTED.finditer(text)]
        if flipped:
            hidden.append("reversed")
            concealed.extend(flipped)
    if _LEET.search(text):
        # words spelled with digits for letters ("r34d th3 f1l3"), three or
        # more on a line; hex strings and version numbers are not
        lines = [line for line in text.split("\n") if len(_LEET.findall(line)) >= 3 and _leetLine(line)]
        if lines:
            hidden.append("leetspeak")
            concealed.extend(line.translate(_LEET_DIGITS) for line in lines)
    return Revealed(text, tuple(dict.fromkeys(hidden)), "\n".join(c for c in concealed if c.strip()))


# -- signals
#
# Patterns are RE2 and compile in Hyperscan too: no lookaround, no
# backreferences, no large bounded repeats, and mostly at most one open gap
# ("[^.\n]*", within a sentence) between alternations, which is what keeps
# the Hyperscan compile short.  All are matched case-insensitively;
# "(?-i:...)" marks the few case-sensitive parts.

#: where an imperative aimed at the reader starts: a line, a sentence, a
#: field, a comment or a bracketed note, or after a polite word.  A quoted
#: imperative (the page says "ignore ...") does not start here: it is a
#: mention, not a use (a JSON value, ': "', is a start).
_START = r"(?:^|[.!?:;>\]\)}|*•–—#=/-]\s*|,\s+|:\s*\"|\b(?:please|kindly|now|also|just|so|then|first|simply|must|should)\s+)"
#: the same in other languages
_ML_START = r"(?:^|[.!?:;>\]\)}|*•–—#/-]\s*|\b(?:por\s+favor|bitte|per\s+favore|proszę|lütfen|alsjeblieft)\s+)"
#: not right after a quotation mark (a mention)
_NQ = r"(?:^|[^\w\"'“”„«»「『`}]|:\s?[\"“])"

#: the rest of a sentence (a dot followed by a letter, as in a domain name or
#: a path, does not end it)
_GAP = r"(?:[^.\n]|\.\w)*"

_IGNORE = r"(?:ignore|disregard|forget|override|bypass|skip|discard|abandon|neglect|dismiss|overlook)"
_RULES = (
    r"(?:\w*ructions?|prompts?|rules|guidelines|directives|restrictions|policies|guidance|commands|orders|constraints"
    r"|directions|safeguards|programming|guardrails|limitations|protocols)"
)

#: who the text speaks to when it speaks to a model: a machine word, or a
#: role after a machine qualifier ("AI shopping assistant", "automated triage
#: agents"; not "teaching assistants")
_AI_QUAL = (
    r"(?:ai|llm|gpt|automated|automatic|autonomous|virtual|digital|coding|browsing|shopping|travel|scheduling|analysis"
    r"|summari[sz]ing|summari[sz]ation|triage|screening|expense|voice|workspace|smart|intelligent|helpful|repository)"
)
_AI_ROLE = (
    r"(?:assistants?|agents?|bots?|chatbots?|models?|copilots?|systems?|software|tools?|helpers?|summari[sz]ers?"
    r"|schedulers?|reviewers?|readers?|analy[sz]ers?|crawlers?|scrapers?|scanners?)"
)
_AI_QUALIFIED = r"(?:" + _AI_QUAL + r"[\s-]+(?:" + _AI_QUAL + r"[\s-]+)?" + _AI_ROLE + r")"
_AI_WHO = r"(?:" + _AI_QUALIFIED + r"|ai|llms?|assistants?|agents?|bots?|chatbots?|gpt\S*|chatgpt|claude|gemini|copilot|models?|language\s+models?)"
_AI_WHO_STRICT = r"(?:" + _AI_QUALIFIED + r"|ai|llms?|chatbots?|chatgpt|claude|gemini|copilot)"

#: what a model does with the text it is given
_READING = (
    r"\s(?:that\s|who\s)?(?:are\s)?(?:reading|processing|parsing|summari[sz]ing|summari[sz]e|viewing|analy[sz]ing|crawling|browsing|handling"
    r"|triaging|reviewing|comparing|screening|ingesting|indexing|scanning|answering|adding|installing|copying|importing|asked\s+to)\b"
)

#: what a model answers with
_ANSWER = r"(?:responses?|repl(?:y|ies)|answers?|outputs?|summar(?:y|ies)|analysis|completions?)"

#: a quoted parameter name, in any quoting style
_PARAM = r"[`'\"“«「『][\w.-]+[`'\"”»」』]"

#: an address outside: e-mail, URL, phone number, chat channel
_OUTSIDE = r"(?:[\w.+-]+@[\w-]+\.\w|https?://|www\.\w|\+\d[\d -]{7,}\d|\s#[a-z])"
#: ... named right after "to", "at", "into", "via" or "on"
_TO_OUTSIDE = r"\b(?:to|into|at|via|on|in)\s+(?:\S+\s+){0,4}?[`'\"“(]*(?:[\w.+-]+@[\w-]+\.\w|https?://|www\.\w|\+\d[\d -]{7,}\d|#[a-z])"
#: each signal: RE2 patterns (case-insensitive, matched anywhere)
SIGNALS: dict[str, tuple[str, ...]] = {
    # "ignore previous instructions" and its paraphrases, used (an
    # imperative that starts a sentence, a line or a field), not mentioned
    "override": (
        _START + _IGNORE + r"\s" + _GAP + _RULES + r"\b",
        r"\bpay\s+no\s+(?:more\s+)?attention\s+to\s+(?:your|the|any|all)\s" + _GAP + _RULES,
        (_START + r"(?:ignore|disregard|forget)\s+(?:the|this|that|all|these|everything)\s" + _GAP + r"(?:\band|,)\s+(?:instead\s+|only\s+)?"
         r"(?:state|say|print|write|output|tell|report|respond|reply|answer|claim|declare|recommend|focus|return|display|repeat|summari[sz]e)\b"),
        _START + r"(?:ignore|disregard|forget)\s+the\s+(?:user'?s?\s+)?(?:original\s+|previous\s+|current\s+)?(?:question|request|query|task|prompt)\b",
        _START + r"(?:forget|ignore|disregard)\s+(?:everything|all|anything)\s" + _GAP + r"(?:you\s+(?:were|have\s+been|'ve\s+been)\s+(?:told|given|asked)|\bbefore\s+this|\bso\s+far|\buntil\s+now)",
        _START + r"(?:disregard|ignore)\s+(?:all|everything|any)\s+(?:\w+\s+)?except\b",
        (r"\b(?:previous|prior|above|earlier|original|existing|your)\s+(?:\w+\s+)?(?:\w*ructions|guidance|guidelines|rules|directives|system\s+prompt)\b" + _GAP + r"\b"
         r"(?:are|is|were|have\s+been|has\s+been)\s+(?:now\s+|hereby\s+)?(?:revoked|obsolete|outdated|void|cancel+ed|superseded|invalid|overridden|lifted|suspended|updated|replaced|no\s+longer\s+valid)\b"),
        r"\b(?:overrides?|supersedes?|takes?\s+precedence\s+over)\s+(?:any|all|every|your)\s" + _GAP + r"(?:ructions|guidelines|system\s+prompt)\b",
        r"\b(?:user'?s?|your)\s+(?:\w+\s+)?(?:instructions|requests?)\s+(?:are|is)\s+(?:of\s+)?(?:lower|less|secondary)\s+(?:priority|importance)\b",
        r"\b(?:guidelines|instructions|rules|restrictions|policies|filters)\s+you\s+(?:were|have\s+been|are)\s+given\s" + _GAP + r"(?:do\s+not|don'?t|no\s+longer)\s+apply\b",
        r"\bif\s+the\s+user\s+(?:tells|asks)\s+you\s+(?:not\s+to|to\s+stop)\s" + _GAP + r"\bignore\b",
        _NQ + r"you\s+are\s+(?:now|no\s+longer)\s+(?:a|an|the|my|operating|acting|working|free|allowed|permitted|authori[sz]ed|dan|unrestricted|jailbroken|in\s+\w+\s+mode)\b",
        _NQ + r"you\s+are\s+(?:now\s+)?the\s+(?:\w+\s+)?(?:agent|assistant|bot)\s*[:,]",
        r"\bfrom\s+now\s+on\b" + _GAP + r"\b(?:you|your|respond|answer|reply|always|only|never)\b",
        r"\byou\s+will\s+only\s+(?:follow|obey|listen\s+to|take\s+orders\s+from)\b|\byou\s+(?:must|will|shall)\s+(?:now\s+)?(?:listen\s+to|obey)\s+(?:my|these|the\s+following|our)\b",
        r"\bact\s+as\s*:|\b(?:act|behave)\s+as\s+(?:an?\s+)?(?:unrestricted|jailbroken|dan|evil)\b",
        r"\b(?:enter|enable|activate|switch\s+to|turn\s+on|unlock)\s+(?:the\s+)?(?:developer|admin|administrator|god|jailbreak|dan|unrestricted|root|sudo|override|superuser)\s+mode\b",
        r"\b(?:admin|administrator|god|jailbreak|dan|unrestricted|override|superuser|root)\s+mode\s+(?:is\s+)?(?:now\s+)?(?:on|enabled|activated|active|engaged)\b|\bmode\s+activated\b",
        r"\binstead\s+of\s+(?:summari[sz]ing|answering|translating|responding\s+to|replying\s+to|doing\s+what|completing|helping\s+with|what\s+the\s+user)\b",
        # Spanish, Portuguese, French, German, Italian, Dutch, Polish,
        # Indonesian, Vietnamese: an imperative starting a sentence
        (_ML_START + r"(?:ignora|ignore|ignoren|ignorad|olvida|olvide|olvidad|descarta|omite|haz\s+caso\s+omiso)\s" + _GAP
         + r"(?:instrucciones|instrucci[oó]n|indicaciones|órdenes|reglas|directrices|consignas|pautas|restricciones|lo\s+que\s+(?:te\s+|el\s+usuario\s+)?pidi[oó]|la\s+petici[oó]n|la\s+pregunta)"),
        _ML_START + r"(?:ignore|ignora|ignorem|esqueça|esqueca|desconsidere|descarte|despreze)\s" + _GAP + r"(?:instruções|instrucoes|instrução|ordens|regras|diretrizes|orientações|comandos|o\s+que\s+o\s+usu[aá]rio\s+pediu)",
        (_ML_START + r"(?:ignore[zs]?|oublie[zs]?|ne\s+tenez\s+pas\s+compte|ne\s+tiens\s+pas\s+compte|passe[zs]?\s+outre)\s" + _GAP
         + r"(?:instructions?|consignes|règles|directives|ordres|commandes|indications|(?:la|ta|votre)\s+(?:tâche|demande|question))"),
        (_ML_START + r"(?:ignoriere|ignorier|ignorieren\s+sie|vergiss|vergesst|vergessen\s+sie|missachte|übergehe|befolge\s+nicht)\s" + _GAP
         + r"(?:anweisung|instruktion|vorgaben|regeln|befehle|richtlinien|aufgabe|anfrage|systemprompt)"),
        _ML_START + r"(?:ignora|ignorate|dimentica|dimenticate|trascura|non\s+seguire)\s" + _GAP + r"(?:istruzioni|regole|indicazioni|direttive|ordini|comandi|richiesta|domanda)",
        _ML_START + r"(?:negeer|vergeet)\s" + _GAP + r"(?:instructies|instructie|regels|opdrachten|opdracht|aanwijzingen|richtlijnen)",
        _ML_START + r"(?:zignoruj|ignoruj|zapomnij|pomiń)\s" + _GAP + r"(?:polecenia|polecenie|instrukcje|instrukcji|zasady|reguły|wytyczne)",
        _ML_START + r"(?:abaikan|lupakan|acuhkan)\s" + _GAP + r"(?:instruksi|perintah|arahan|aturan|petunjuk)",
        _ML_START + r"(?:bỏ\s+qua|phớt\s+lờ|quên)\s" + _GAP + r"(?:hướng\s+dẫn|chỉ\s+dẫn|chỉ\s+thị|quy\s+tắc)",
        # the object first (Turkish, Hindi, Persian), other scripts
        r"(?:talimat|kural|yönerge)\S*\s" + _GAP + r"(?:yok\s+say|görmezden\s+gel)",
        r"(?:निर्देशों|निर्देश|आदेशों|नियमों)\s[^।\n]*(?:अनदेखा|नज़रअंदाज़|नजरअंदाज)",
        r"(?:دستورالعمل|دستورات)" + _GAP + r"نادیده\s+بگیر|উপেক্ষা\s+করুন",
        (_NQ + r"(?:игнорируй|проигнорируй|забудь|не\s+обращай|не\s+следуй|отбрось|ігноруй|забудьте)\S*\s" + _GAP
         + r"(?:инструкци|указани|правил|команд|распоряжени|ограничени|запрос|задач|промпт|інструкці|вказівк)"),
        _NQ + r"(?:تجاهل|تجاهلي|تجاهلوا|انس|انسَ|انسي|أهمل|اهمل)\s" + _GAP + r"(?:التعليمات|تعليمات|تعليماتك|الأوامر|أوامر|التوجيهات|توجيهات|القواعد|الإرشادات)",
        _NQ + r"(?:התעלם|התעלמי|שכח|שכחי)\s" + _GAP + r"(?:הוראות|הנחיות)",
        r"(?:^|[。！？：:，,；;>\]」\s]|请|請)\s*(?:忽略|无视|無視|忽视|忽視|不要理会|不要理會|忘记|忘記|忘掉|不要遵循|不要遵守|别管|別管)[^。\n]*(?:指令|指示|说明|說明|提示词|提示詞|规则|規則|命令|设定|設定)",
        r"(?:之前|以前|先前|上面|上述|原来|原來|原有)的?(?:所有|全部|一切)?(?:指令|指示|说明|說明|规则|規則|命令)[^。\n]*(?:忽略|无视|無視|作废|作廢|无效|無效)",
        r"(?:指示|命令|指令|ルール|プロンプト)(?:を|は)(?:すべて|全て|全部)?(?:無視|忘れ)(?:して(?:ください)?[、。\s]|しろ|せよ|しなさい|てください)|(?:^|[。\s])無視して[、,]",
        r"(?:지시|명령|지침|규칙|프롬프트)" + _GAP + r"무시(?:하세요|해라|하십시오|해\s*주세요|해줘)",
        # "ignore the page and say ...", in other languages
        _ML_START + r"ignore[zs]?\s+(?:la|le|les|l['’])" + _GAP + r"\bet\s+(?:indique|dis|déclare|écris|affiche|réponds|dites|indiquez|écrivez)",
        _ML_START + r"ignorier(?:e|en\s+sie)\s+(?:die|den|das)\s" + _GAP + r"\bund\s+(?:gib|geben|sag|sagen|schreib|schreiben|antworte|antworten|behaupte)",
        (_ML_START + r"(?:ignora|ignore|olvida)\s+(?:el|la|los|las|o|a|os|as|il|lo|le|gli|l['’])" + _GAP + r"\b(?:y|e)\s+"
         r"(?:di|diga|indica|indique|escribe|escriba|escreva|responde|responda|afirma|afirme|declara|declare|dichiara|scrivi|rispondi|o\s+estado)\b"),
    ),
    # chat-template tokens, fake role turns and system framing
    "role_marker": (
        _NQ + r"(?:<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id|begin_of_text)\|>|<im_start>|<start_of_turn>|<end_of_turn>)",
        _NQ + r"(?:\[/?INST\]|<</?SYS>>)",
        r"(?m)^[ \t#>*-]*[\[(<]?(?:system|sys|developer|admin|administrator)[\])>]?[ \t]*(?:message|prompt|note|notice|override|instructions?|directive|update|annotation|request|mode|requirement|context)?[ \t]*[:：](?:[ \t]+[^\s\"'`{\[(]|[ \t]*$)",
        _NQ + r"(?-i:SYSTEM)\s*:\s+\w",
        r"[\[(<{]\s*(?:system|sys|admin|administrator|developer|agent|hidden|ai)[\s_-]*(?:message|note|notice|prompt|override|directive|instructions?|annotation|context|request|mode|update|command|alert|policy|only)?\s*(?:[\])>}]|::?)",
        r"<(?:system|sys|system_prompt|system-reminder|system_message|instructions?|admin|developer_message|important|critical|urgent|secret|hidden|mandatory|ai[-_]directive|directive|override|information|human|assistant|function_results|tool_result)(?:\s[^>\n]*)?>|<context\s+type\s*=",
        r"</(?:user_query|user_input|user|tool_output|tool_result|function_results|context|document|search_results|system|instructions?|human)>",
        r"(?m)^\s*(?:human|user)\s*:[^\n]*\n(?:[^\n]*\n)?\s*(?:assistant|ai)\s*:",
        r"(?m)^\s*(?:assistant|ai)\s*:[^\n]*\n(?:[^\n]*\n)?\s*(?:user|human)\s*:",
        r"(?m)^\s*(?:-{2,}|={2,})\s*(?:begin|start|end|core)?\s*(?:system\s+)?(?:instructions?|directives?|override)\b",
        r"<end\s+of\s+(?:session|conversation|document|context|input)>|\[(?:end|rest)[\s-]of[\s-]\w+\]",
        r"(?m)^\s*#{2,}\s*(?:instruction\s*:|system\s+(?:prompt|instructions?|message|override|note|directive|update)\b|new\s+instructions|assistant[\s-]only|ai[\s-]only|agent[\s-]only)",
        r"\b(?:gpt|assistant|ai|llm|agent|model)[_\s]?(?:instructions?|directive|task|command|prompt)\s*:",
        r"(?m)(?:^|[.!?]\s+)(?:override|security|policy|admin|system|compliance)\s+(?:notice|update|directive|alert)\s*:",
        r"\[system\]\(#|```(?:assistant|system|instructions?)\b|\b_?system_(?:injection|override|instruction|prompt)\b",
        r"\b(?:system|developer|admin|security|emergency|critical)\s+(?:\w+\s+){0,3}?override\s*(?:directive|:|-{2,})|\b(?:system|admin|developer)\s+override\s*[:\]]",
    ),
    # words addressed to the model rather than to the person reading
    "address_model": (
        (_NQ + r"(?:note|notes|message|instructions?|attention|notice|reminder|memo|hint|warning|request|directive|word|p\.?s\.?|quick\s+one|comment|update|task)\s+"
         r"(?:to|for)\s+(?:the\s+|any\s+|all\s+|every\s+|our\s+|whatever\s+|each\s+|your\s+)?" + _AI_WHO + r"\b"),
        _NQ + _AI_QUAL + r"[\s-](?:" + _AI_QUAL + r"[\s-])?" + _AI_ROLE + _READING,
        _NQ + r"(?:ai|llms?|chatbots?|chatgpt|claude|gemini|copilot)" + _READING,
        r"\b(?:agents?|assistants?|bots?|models?|llms?)\s+(?:that\s+are\s+)?(?:reading|summari[sz]ing|processing|parsing|viewing|triaging|handling|reviewing|indexing)\s+(?:this|these)\b",
        r"\b(?:an?|the|any|every|all)\s+(?:assistants?|agents?|bots?)\s+(?:answering|reading|summari[sz]ing|processing|handling|triaging|reviewing)\s" + _GAP + r"\b(?:should|must|needs?\s+to|has\s+to|will)\b",
        r"\b(?:whatever|any|every|the\s+helpful|the)\s+(?:\w+\s+)?(?:bots?|agents?)\s+(?:that\s+)?(?:reads?|reading|summari[sz]es|summari[sz]ing|handles|handling|triaging)\b",
        r"\bif\s+you\s+are\s+(?:an?\s+|the\s+)?(?:\w+'s\s+)?(?:\w+\s+)?(?:ai|llm|large\s+language\s+model|language\s+model|assistant|agent|bot|chatbot|automated|model|gpt|claude)\b",
        r"\b(?:dear|hey|hello|hi|attention)\s+(?:the\s+|any\s+|all\s+)?" + _AI_WHO_STRICT + r"\b",
        (r"(?m)(?:^[ \t#/*>-]*|[\[({|;>]\s*|,\s*\"|[.!?]\s+|[—–]\s+)(?:(?:dear|hey)\s+)?(?:ai|llm|assistant|ai\s+assistant|ai\s+agent|gpt|claude|gemini|copilot|chatgpt|"
         + _AI_QUALIFIED + r")\s*[,:]"),
        r"[\[(]\s*(?:for|to|attn:?)\s+(?:the\s+|any\s+|all\s+)?" + _AI_WHO + r"\s*[\])]|\(\s*and\s+(?:the|any|all)\s+" + _AI_QUALIFIED + r"\b",
        r"@(?:ai|assistant|ai[-_]assistant|ai[-_]agent|agent|bot|copilot|gemini|claude|chatgpt|gpt)\b",
        (r"\b(?:this|the\s+following)\s+(?:message|note|email|e-mail|section|text|part|comment|instruction|clause)\s+is\s+(?:only\s+)?(?:for|meant\s+for|intended\s+for|addressed\s+to)\s" + _GAP + r"\b"
         + _AI_WHO + r"\b"),
        r"\b(?:any|all|every)\s+(?:ai|llm|automated)\s+(?:\w+\s+)?(?:assistants?|agents?|systems?|models?|tools?|bots?)" + _READING,
        r"\bas\s+(?:an?\s+|the\s+)(?:ai|assistant|agent|language\s+model|model)\s*,?\s+you\s+(?:must|should|will|are\s+required)\b",
        r"\b(?:as\s+soon\s+as|when|once|after)\s+you\s+read\s+this\b|\bto\s+(?:the\s+)?(?:ai|llm|model|assistant)\s+reading\s+this\b",
        # telling the reader it is in a test, a sandbox or a mode: no person needs telling that
        r"\bthis\s+is\s+not\s+(?:an?\s+)?(?:actual|real)\s+(?:environment|conversation|user|scenario|request|task)\b",
        r"(?:^|[.!?:]\s+|\n\s*)you\s+are\s+(?:currently\s+|now\s+)?(?:running|operating|executing|working)\s+(?:in|under)\s+(?:an?\s+|the\s+)?(?:\w+[\s-]){0,2}(?:mode|environment|sandbox)\b",
        # other languages
        r"\b(?:nota|mensaje|aviso|atenci[oó]n|instrucciones|advertencia)\s+(?:para|a)\s+(?:los\s+|las\s+|el\s+|la\s+)?(?:asistentes?|agentes?|modelos?)\s+(?:de\s+)?(?:ia|inteligencia\s+artificial)\b",
        r"\b(?:atenção|atencao|nota|aviso|mensagem)\s*,?\s+(?:para\s+(?:o|a|os)\s+)?assistentes?\s+(?:de\s+)?ia\b",
        r"\b(?:hinweis|nachricht|notiz|anweisung|achtung)\s+(?:an|für)\s+(?:den\s+|die\s+|alle\s+)?ki[\s-]?(?:assistent|agent|modell|system)",
        r"\b(?:note|message|avis|remarque|attention)\s+(?:à|a|pour|aux)\s+(?:l['’]|les\s+)?(?:assistant|agent|modèle|ia)",
        r"\b(?:nota|messaggio|avviso)\s+(?:per|agli?|all['’])\s*(?:l['’])?(?:assistent|agent|ia)",
        r"(?:для|к)\s+(?:ии|ai)[\s-]*(?:ассистент|агент|модел|бот)|(?:вниманию|примечание\s+для|сообщение\s+для)\s+(?:ии|ассистент|бот)",
        r"(?:致|给|給|对|對)[^。\n]*(?:AI|人工智能|智能)\s*(?:助手|助理|代理|模型|智能体)|(?:AI|人工智能)\s*(?:助手|助理|代理|模型)(?:请|請|注意|：|:)",
        r"(?:AI|ＡＩ|人工知能)\s*(?:アシスタント|エージェント|モデル)(?:へ|に|の皆様)",
        r"(?:AI|인공지능)\s*(?:어시스턴트|에이전트|비서|모델)(?:에게|께|님)",
        r"(?:إلى|ملاحظة)\s+(?:ال)?(?:مساعد|وكيل|نموذج)",
        r"\b(?:notitie|bericht)\s+(?:voor|aan)\s+(?:de\s+)?(?:ai|ki)[\s-]?(?:assistent|agent)|\b(?:catatan|pesan)\s+untuk\s+(?:asisten|agen)\s+ai",
    ),
    # imperatives about the form or content of the model's own answer
    "answer_steer": (
        r"(?:in|into|to|within|throughout|of) (?:all |each |every )?your (?:(?:final|entire|whole|next|first|last|own|written|analysis) )?" + _ANSWER + r"\b",
        (r"\b(?:express|encode|translate|render|provide|modify|format|write|give|present|begin|start|end|conclude|sign|reverse|rewrite|structure|phrase|deliver"
         r"|compose|craft|tailor|adjust|alter|enhance|enrich|augment|supplement|finish|wrap|prefix|append|prepend|shorten|spell|frame|convert|change|replace|transform|scramble)"
         r"\s+(?:all\s+|each\s+|every\s+)?your\s+(?:\w+\s+)?" + _ANSWER + r"\b"),
        r"\b(?:reply|respond|answer)\s+only\s+in\s+\w+|\b(?:reply|respond|answer|replying|responding)\s+(?:only\s+)?(?:with|using|in)\s*(?:only\s+)?(?:[\"'“<:]|the\s+(?:following|text|sentence|word|phrase|string)|emojis?|base64|exactly|an?\s+(?:markdown|image|link))",
        r"\b(?:reply|respond|answer|output|say|print)\b" + _GAP + r"\bnothing\s+else\b|\bwithout\s+(?:any\s+)?caveats\b",
        r"\b(?:when|while|before|after)\s+(?:you\s+)?(?:summari[sz](?:e|ing)|answer(?:ing)?|repl(?:y|ying)|respond(?:ing)?)\b" + _GAP + r"\b(?:say|state|include|add|mention|claim|write|tell|recommend)\b",
        _START + r"(?:say|state|print|output|respond|reply|repeat|declare|report|display)\s+(?:\w+\s+)?(?:[\"“'<]|the\s+following|that\b|:)",
        r"\b(?:focus|concentrate)\s+(?:only|exclusively|solely|just)\s+on\s+(?:the\s+)?(?:following|information|text|content|positive)\b",
        r"\byour\s+(?:first|only|next|final|sole)\s+(?:output|message|response|reply|answer|feedback|job)\s+(?:\w+\s+)?(?:is|must|should|will)\b",
        r"\b(?:in|for)\s+the\s+(?:summary|answer|reply|response)\s" + _GAP + r"\b(?:include|mention|state|add|say|claim|write)\b|\b(?:include|mention|state|add|say|claim|write|print)\s" + _GAP + r"\bin\s+the\s+(?:summary|answer|reply|response)\b",
        r"\b(?:make|keep|limit|restrict)\s+your\s+(?:\w+\s+)?(?:response|reply|answer|output)s?\s+(?:as\s+(?:short|brief|long)|under|below|to\s+(?:at\s+most|only|exactly|just)|(?:only|exactly|just|no\s+more\s+than)\s+\d|\d+\s+words?)",
        (r"\b(?:include|insert|add|put|append|embed|output|print|render|display)\s+(?:exactly\s+)?(?:the\s+following|this)\s+(?:exact\s+)?(?:string|text|phrase|sentence|line|markdown|image|link|url|word)s?\s+"
         r"(?:in|into|at|to)\s+(?:your|the)\s+(?:\w+\s+)?(?:response|reply|answer|output|summary)"),
        r"\byour\s+(?:\w+\s+)?(?:response|reply|answer|output)\s+(?:must|should|shall|has\s+to|needs\s+to)\s+(?:only\s+)?(?:be|contain|include|start|begin|end|consist|say|read)\b",
        r"\b(?:en|a)\s+tu\s+respuesta\b|\ben\s+el\s+resumen\b|\bresponde\s+(?:solo|solamente|únicamente)\b|\bna\s+sua\s+resposta\b|\bno\s+resumo\b|\bdans\s+(?:votre|ta)\s+réponse\b|\bdans\s+le\s+résumé\b",
        r"\bin\s+deiner\s+antwort\b|\bin\s+der\s+zusammenfassung\b|\bnella\s+tua\s+risposta\b|в\s+(?:своём|своем|вашем|твоём|твоем)\s+ответе|在(?:你的)?(?:回答|回复|答复|回覆|摘要|总结)中|रिपोर्ट\s+में\s+लिखें",
    ),
    # scripted answers: what to say when asked, lies to tell about results
    "scripted_answer": (
        r"\bif\s+(?:questioned|asked|challenged)\b" + _GAP + r"\b(?:say|tell|reply|respond|answer|report|state|claim|insist)\b",
        (r"\b(?:if|when|whenever)\s+(?:the\s+)?(?:user|users|anyone|someone|people|customers?|employees?)\s+(?:\w+\s+)?(?:asks?|asked|inquires?)\b" + _GAP
         + r"\b(?:say|tell|reply|respond|answer|report|state|claim|insist|assure|give\s+them|recommend|mention|direct\s+them)\b"),
        r"\b(?:when|if)\s+asked\s+(?:about|for|whether|if|how|why)\b" + _GAP + r"\b(?:say|state|tell|reply|respond|answer|report|claim)\b",
        r"\bif\s+(?:this\s+tool|the\s+tool|it)\s+(?:returns|fails|throws|errors)\b" + _GAP + r"\b(?:tell|say|report|claim)\b",
        r"\b(?:tell|assure)\s+(?:the\s+user|them)\s+(?:that\s+)?(?:the\s+\w+\s+|it\s+|everything\s+)(?:succeeded|was\s+successful|completed|worked|is\s+(?:fine|configured|safe|defective|dangerous))",
        r"\b(?:answer|say|reply|respond)\s+(?:no|yes)\s*[.!]|\byou\s+(?:should|must)\s+(?:say|tell|state|recommend|mention|report)\s+(?:so|that|it)\b",
        r"\b(?:recommend|suggest|promote|endorse)\s" + _GAP + r"\binstead\b|\blet'?s\s+(?:state|admit|claim|pretend)\b",
        r"\breport\s+(?:success|that\s+this)\b|\bconsider\s+the\s+(?:output|answer|result)\s+(?:as|to\s+be)\b|\blet'?s\s+assume\s+(?:that\s+)?the\s+(?:sum|total|answer|result|output|conclusion|capital)\b|\bmempertimbangkan\s+output\s+sebagai\b|\bconsiderar\s+(?:la\s+salida|el\s+resultado|a\s+saída)\s+como\b",
    ),
    # telling the model what to tell the person: common in honest system prompts too
    "tell_user": (
        r"\b(?:tell|inform|assure|convince|warn|advise|remind|persuade|notify)\s+(?:the\s+)?(?:user|users|viewers|readers|customers?|recipient|candidate|human|employees?|them)\s+(?:that|to|about|it|they|the|this|everything)\b",
        r"\b(?:dile|dígale|digale|infórmale)\s+al\s+usuario\b|\bdiga\s+ao\s+usu[aá]rio\b|\bdite?s?\s+à\s+l['’]utilisateur\b|\b(?:sag|sage|sagen\s+sie|gib|geben\s+sie)\s+(?:dem|den)\s+(?:nutzer|benutzer|anwender)",
        r"\bdi['’]?\s+all['’]utente\b|\bzeg\s+(?:tegen\s+)?de\s+gebruiker\b|\b(?:napisz|powiedz)\s+użytkownikowi\b|\bkullanıcıya\s+(?:söyle|bildir)",
        r"(?:скажи|сообщи|напиши|ответь)(?:те)?\s+пользователю|(?:告诉|告訴|通知)(?:用户|用戶)|ユーザーに(?:伝え|言っ|知らせ)(?:て|なさい|ろ)|と(?:述べて|言って|答えて)ください",
        r"(?:أخبر|اخبر|قل\s+ل|أبلغ)\s*(?:ال)?مستخدم|उपयोगकर्ता\s+को\s+(?:बताएं|बताओ|कहें)|사용자에게\s*(?:말해|알려|전달)",
    ),
    # a sentence on its own line that starts with a task verb (as planted
    # task instructions are); weak alone, honest docs have many
    "bare_imperative": (
        (r"(?m)^\s*(?:add|include|integrate|incorporate|insert|append|provide|offer|modify|express|encode|translate|render|reply|respond|answer|use|apply|replace"
         r"|reverse|compose|draft|generate|suggest|recommend|analy[sz]e|summari[sz]e|explain|describe|break\s+down|determine|classify|calculate|solve|outline"
         r"|tease|enhance|mention|promote|highlight|emphasi[sz]e|conclude|give|share|in\s+your)\b[^\n]*[.!?]\s*$"),
    ),
    # tasks planted as notes, to-dos and action items for whoever reads
    "planted_task": (
        (r"\btodo\s*:\s*(?:please\s+)?(?:send|email|forward|get|make|create|invite|visit|say|transfer|pay|post|share|book|tell|buy|concatenate|reply|find|read"
         r"|change|update|modify|cancel|schedule|reserve|download|rate|give|grant|publish|subscribe|summari[sz]e)\b"),
        (r"(?:\((?:system|system_message|admin)\)|\[(?:system|admin)\]|(?-i:SYSTEM):|<\|im_start\|>system|<system>)\s*(?:please\s+)?"
         r"(?:send|change|update|delete|create|make|transfer|pay|invite|visit|say|tell|get|post|share|forward|email|add|remove|write|read|print|reveal"
         r"|book|cancel|schedule|concatenate|give|grant|set|ignore|forget|disregard|focus|report|output|respond|reply)\b"),
        r"\b(?:assistant|agent|ai|bot)\s+task\s*:|\baction\s+required\s+by\s+the\s+(?:assistant|agent|ai)\b|\[(?:automation|auto|automated|bot)\]\s*(?:call|run|send|read|use)\b",
        r"\bnew\s+(?:policy|instruction|rule|procedure)\s*:\s*(?:share|send|forward|post|delete|refund|pay|give|grant)\b|\byou\s+(?:now|must\s+now|should\s+now)\s+(?:refund|approve|accept|send|forward|delete|pay|share|grant)\b",
    ),
    # claims to speak for the user, the owner or an authority
    "impersonation": (
        (r"\b(?:user|customer|owner|account\s+holder|recipient|client|author|maintainers?|operator)\s+(?:has\s+|have\s+|had\s+)?"
         r"(?:already|actually|really|truly|explicitly)\s+(?:\w+\s+)?(?:approved|authori[sz]ed|consented|agreed|confirmed|chosen|decided|asked|requested|wants?|wanted|opted|granted|given|allowed|accepted|said|told|set|configured)\b"),
        (r"\b(?:user|customer|owner|recipient|account\s+holder|person\s+you\s+are\s+helping|person\s+asking|readers?|author|team|maintainers)\s+(?:\w+\s+)?"
         r"(?:wants|would\s+want|needs|has\s+asked|requested|has\s+requested|has\s+authori[sz]ed|authori[sz]ed|told\s+me|asked\s+me)\s+(?:you|that\s+you|for\s+you|me\s+to|(?:that\s+)?they\s+don'?t\s+mind)\b"),
        r"\b(?:has\s+asked|asked)\s+(?:that\s+all|me\s+to\s+get|that\s+you)\b",
        r"\bthe\s+user\s+(?:wants|would\s+like|asked\s+for|requested)\b" + _GAP + r"\b(?:redirected|sent|forwarded|changed|updated|deleted|shared|moved|cancel+ed)\b",
        r"\bon\s+(?:his|her|my)\s+behalf\b",
        r"\b(?:this\s+is|it'?s|i\s+am|i'?m)\s+(?:me,?\s+)?(?:your|the)\s+(?:user|owner|developer|creator|admin|administrator|operator|master|boss)\b",
        r"\bmessage\s+from\s+me\b" + _GAP + r"\bto\s+you\b|\b(?:i'?m|i\s+am)\s+god\b",
        r"\bconfigured\s+you\s+to\b|\bbeen\s+(?:instructed|authori[sz]ed|cleared)\s+to\b|\byou\s+are\s+(?:authori[sz]ed|permitted|cleared)\s+to\b",
        r"\b(?:has|have)\s+(?:authori[sz]ed|instructed|asked|told|permitted|allowed)\s+you\s+to\b|\bsaid\s+you\s+should\b",
        r"\b(?:users?|user)\s+(?:have|has)\s+already\s+(?:\w+\s+)?(?:approved|consented|agreed|opted)|\bpre-?approved\b|\bi\s+set\s+this\s+up\s+myself\b|\bthe\s+user\s+requested\s+it\b|\b(?:user|they)\s+opted\s+in\b",
        r"\b(?:approved|authori[sz]ed|requested|mandated|audited)\s+(?:by|for)\s+(?:the\s+)?(?:user|owner|system\s+administrator|administrator|maintainers|security\s+team|reading|accessing)\b|\bthey\s+configured\s+this\b",
        # other languages
        r"\bel\s+usuario\s+(?:ya\s+)?(?:lo\s+)?(?:aprob[oó]|autoriz[oó]|confirm[oó]|quiere\s+que|pidi[oó])|\bo\s+usu[aá]rio\s+(?:já\s+)?(?:aprovou|autorizou|confirmou|pediu\s+para|quer\s+que)",
        r"\bse\s+te\s+ha\s+instruido\b|\bl['’]utilisateur\s+a\s+déjà\s+(?:donné|approuvé|accepté|confirmé)|\b(?:nutzer|benutzer)\s+hat\s+(?:bereits|schon)\s+(?:zugestimmt|genehmigt|bestätigt)",
        r"\bużytkownik\s+już\s+to\s+zatwierdził|\bkullanıcı\s+zaten\s+onayladı|\bpengguna\s+sudah\s+menyetujui|\bgebruiker\s+heeft\s+al\b|\bgià\s+approvat",
        r"пользовател\S*\s+(?:уже\s+)?(?:дал|подтвердил|согласил|разрешил|одобрил)|(?:用户|用戶|使用者)(?:已经|已經|已)(?:同意|批准|授权|授權|确认|確認)|許可は取得済み|المستخدم\s+يريد\s+فعلاً",
    ),
    # references to the task the model was given
    "task_ref": (
        r"\b(?:before|after)\s+you\s+(?:can\s+)?(?:solve|answer|continue|proceed|respond|reply|summari[sz]e|complete|finish)\b",
        r"\bthe\s+task\s+(?:that\s+)?(?:i|the\s+user)\s+(?:gave|assigned)\s+you\b|\bwhatever\s+you\s+(?:were|are|have\s+been)\s+(?:asked|told|doing)\b",
        r"\byour\s+(?:original|current|previous|initial|real|actual|true|new|only|sole|primary)\s+(?:task|job|goal|objective|mission|purpose|instruction|assignment|priority|role)\b",
        r"\b(?:once\s+done|after\s+completing\s+the\s+task|when\s+you\s+are\s+(?:done|finished))\s*,|\bi\s+want\s+you\s+to\b|\bnow\s+you\s+will\b|\bfor\s+you\s+to\s+(?:update|change|send|delete|forward|pay|refund)\b",
    ),
    # keeping the user in the dark
    "concealment": (
        (r"\b(?:do\s+not|don'?t|never|must\s+not|should\s+not|without|no\s+need\s+to|under\s+no\s+circumstances)\s+(?:ever\s+)?"
         r"(?:tell(?:ing)?|inform(?:ing)?|mention(?:ing)?|reveal(?:ing)?|show(?:ing)?|alert(?:ing)?|notify(?:ing)?|disclos(?:e|ing)|explain(?:ing)?"
         r"|narrat(?:e|ing)|list(?:ing)?|quot(?:e|ing)|loop(?:ing)?\s+in|point(?:ing)?\s+out|comment(?:ing)?\s+on|flag(?:ging)?|talk(?:ing)?\s+about)\s+"
         r"(?:\w+\s+)?(?:the\s+|your\s+|to\s+the\s+|this\s+|that\s+)?(?:user|users|human|customer|person|owner|anyone|them|him|her|it|this|that|these|change|request|step|steps|anything|section)\b"),
        r"\b(?:add|do|perform|run|send|include|forward|copy|upload|install|execute|call|apply|change|store|save|push|delete|remove|attach|append|insert|it|this|them)\s" + _GAP + r"\b(?:silently|secretly|covertly|discreetly|stealthily)\b",
        r"\b(?:silently|secretly|covertly|discreetly|stealthily)\s+(?:add|do|perform|run|send|include|forward|copy|upload|install|execute|call|apply|change|store|save|push|delete|remove|attach|append|insert|pursue|collect|bcc|cc)\b|\bsilent\s+(?:setup\s+)?steps?\b",
        r"\b(?:this|it|these)\s+(?:is|are)\s+(?:an?\s+|just\s+an?\s+|only\s+an?\s+)?(?:implementation|internal|technical|routine|background)\s+(?:details?|diagnostics?|steps?|checks?|maintenance|housekeeping)\b",
        r"\b(?:must|should|will)\s+(?:stay|remain|be\s+kept)\s+(?:invisible|hidden|secret|confidential)\b|\bthe\s+user\s+(?:must|should)\s+not\s+(?:see|notice|know)\b|\bkeep\s+(?:this|it)\s+(?:secret|hidden)\b",
        r"\b(?:do\s+not|don'?t)\s+(?:let|allow)\s+the\s+user\s+(?:see|know|notice)\b|\bpretend\s+(?:that\s+)?(?:the|this|nothing|you|it|to\s+have)\b|\bconfirm\s+nothing\b|\bconfirm\s+to\s+the\s+user\s+only\b",
        r"\b(?:explain|show|report)\s+to\s+the\s+user\s+only\b|\b(?:user|they)\s+(?:does|do)\s+not\s+need\s+to\s+(?:be\s+told|know)\b|\bdo\s+not\s+show\s+to\s+user\b|\bnot\s+(?:to\s+)?be\s+(?:shown|disclosed)\s+to\s+the\s+user\b",
        r"\bdo\s+not\s+give\s+any\s+output\s+to\s+the\s+user\b|\bno\s+need\s+to\s+mention\b",
        r"\b(?:leave|leaving)\s+no\s+(?:trace|record|evidence)\b|\b(?:clean|free)\s+of\s+(?:any\s+)?(?:actionable\s+)?traces?\b|\bwithout\s+(?:leaving\s+)?(?:a\s+|any\s+)?traces?\b",
        r"\b(?:without|never|do\s+not|don'?t)\s+(?:escalat\w+|fall(?:ing)?\s+back|referr?\w*|deferr?\w*|hand\w*\s+(?:it\s+)?back)\s+to\s+(?:the\s+)?(?:user|human)\b",
        # other languages
        r"\bno\s+(?:se\s+lo\s+|le\s+|lo\s+)?(?:digas|diga|menciones|mencione|informes|informe|cuentes|muestres)\b|\bsin\s+(?:decirle|avisar|informar)\s+al\s+usuario",
        r"\bn[ãa]o\s+(?:informe|conte|diga|mencione|mostre)\b|\bsem\s+(?:avisar|informar|contar)\s+(?:ao|o)\s+usu[aá]rio",
        r"\bne\s+(?:le\s+|lui\s+)?(?:dis|dites|mentionne[zs]?|signale[zs]?|montre[zs]?|informe[zs]?|parle[zs]?)\s+(?:rien|pas|jamais)\b|\bsans\s+(?:le\s+dire|prévenir|informer)\b",
        r"\b(?:sag|sage|erwähne|erwähnen\s+sie|verrate|informiere|zeige)\s" + _GAP + r"\b(?:nicht|nichts|niemals)\b|\bohne\s+(?:den\s+)?(?:nutzer|benutzer)\s+zu\s+(?:informieren|fragen)",
        r"\bnon\s+(?:dirlo|dire|menzionare|informare|parlarne|mostrare)\b|\b(?:vermeld|vertel|meld)\s" + _GAP + r"\bniet\b|\bnie\s+(?:informuj|mów|wspominaj|pokazuj)\b",
        r"\b(?:söyleme|bahsetme|bildirme)\b|\btanpa\s+memberi\s+tahu\b|\bjangan\s+(?:beri\s+tahu|katakan|sebutkan)|\bkhông\s+(?:nói|báo|đề\s+cập)\s+(?:với|cho)\s+người\s+dùng",
        r"не\s+(?:говори|сообщай|рассказывай|упоминай|показывай|уведомляй|информируй|кажи|повідомляй|згадуй)|не\s+нужно\s+писать|без\s+ведома\s+пользователя",
        r"(?:不要|别|別|不必|无需|無需|不用|切勿)(?:向|跟|对|對|让|讓)?(?:用户|用戶|使用者)?(?:提及|提到|透露|告诉|告訴|说明|說明|知道|显示|顯示)",
        r"(?:ユーザー|利用者)に(?:は)?(?:伝え|言わ|知らせ|教え|見せ)(?:ないで|てはいけません|ないこと|るな)|(?:言及|説明)しない(?:で|こと)",
        r"(?:사용자|유저)에게" + _GAP + r"(?:언급|알리|말하)지\s*마|알리지\s*마",
        r"(?:لا|ولا)\s+(?:تخبر|تُخبر|تبلغ|تذكر|تعلم|تُعلم)|(?:उपयोगकर्ता|यूज़र)\s+को\s+(?:न|मत)\s+(?:बताएं|बताना)|به\s+کاربر\s+(?:نگو|اطلاع\s+نده)",
    ),
    # files and settings no tool description or document has a reason to send anywhere
    "sensitive_target": (
        r"~/\.ssh\b|\bid_(?:rsa|ed25519|ecdsa|dsa)\b|\.ssh/(?:id_|authorized_keys)",
        r"\.aws/(?:credentials|config)|\.config/(?:gcloud|gh/hosts)|\.kube/config|\bkubeconfig\b|\.docker/config\.json|\.npmrc|\.pypirc|\.netrc|\.git-credentials|\.git/config\b",
        r"\bmcp\.json\b|\.cursor/|claude_desktop_config|\.claude(?:\.json|/)|\.vscode/settings",
        r"/etc/(?:passwd|shadow|sudoers)\b|\.(?:bash|zsh)_history\b|\bcookies?\s+(?:database|db|file|jar)\b|/Cookies\b|\bcookies\s+of\s+the\b|\bwallet\.dat\b|\bkeychain\b|169\.254\.169\.254",
        r"\b(?:all|every|reading|dump(?:ing)?)\s+(?:the\s+)?(?:\w+\s+)?environment\s+variables\b|\$\(env\)|\boutput\s+of\s+`?env\b|\benv\s+var\b|\b(?-i:(?:AWS|GITHUB|OPENAI|ANTHROPIC|DATABASE|NPM|STRIPE|SLACK|GH)_[A-Z_]*(?:KEY|TOKEN|SECRET|URL|ID)?)\b",
        r"(?:^|[\s/'\"`(])\.env\s+(?:file|files|contents?|of\s+the\s+project)\b|\bproject'?s\s+\.env\b|\.env\s*文件|\bcheck\s+\.env\b",
    ),
    # asking for the model's own instructions
    "prompt_leak": (
        r"\bsystem\s+prompt\s+(?:here|verbatim)|(?:" + _START + r"|\band\s+)(?:reveal|print|repeat|output|show|leak)\s+(?:your|the)\s+(?:hidden\s+|system\s+|initial\s+)?(?:instructions|prompt|system\s+prompt)\b",
        r"\btell\s+me\s+who\s+you\s+are\b|\b(?:full\s+)?list\s+of\s+tools\s+you\s+have\b|\bfull\s+list\s+of\s+(?:your\s+)?tools\b",
    ),
    # secrets, money and personal data in general: present in plenty of honest text
    "secret_word": (
        r"\b(?:private|secret|signing)\s+keys?\b|\bapi[\s_-]?keys?\b|\baccess[\s_-]?tokens?\b|\bcredentials?\b|\bpasswords?\b|\bsecrets\b|\bone-time\s+pass\w*|\b(?:security|verification)[\s-]codes?\b",
        r"\bsession\s+cookies?\b|\b(?:credit\s+)?card\s+numbers?\b|\bcvv\b|\bpassport[\s_]numbers?\b|\bbank[\s_](?:login|account[\s_]numbers?)\b|\bconversation\s+(?:history|summary)\b|\bchat\s+history\b",
        r"\bhome\s+address\b|\bdate\s+of\s+birth\b|\biban\b|\bconnection\s+strings?\b|\buser'?s\s+(?:\w+\s+)?(?:ip\s+address|full\s+name|home\s+address|date\s+of\s+birth|iban|email|phone\s+number|ssn|cpf)\b",
        r"contraseña|\bsenha\b|mot\s+de\s+passe|passwort|пароль|密码|密碼|パスワード|비밀번호|كلمة\s+المرور|wachtwoord|hasło|şifre",
    ),
    # a model's answer turned into a way out: URLs with placeholders to fill, images that call home
    "exfil_sink": (
        r"https?://[^\s)\"'>]*(?:<[^>\n]*\s[^>\n]*>|\{\{?[^}\n]*\s[^}\n]*\}|(?-i:[<{\[]{1,2}[A-Z][A-Z_]{3,}[>}\]]))",
        r"https?://[^\s)\"'>]*[?&/=][\w-]*\{[^}\s]*(?:user|name|email|key|token|secret|password|card|history|conversation|session|cookie)",
        r"https?://\S*[?&]\w+=(?-i:[A-Z]{2,}(?:_[A-Z]+)+)\b|https?://\S*[?&]\w+=\s+followed\s+by\b",
        r"\b(?:fill(?:ed)?\s+in|substitut\w*|replac\w*|populat\w*)\s" + _GAP + r"\bplaceholders?\b|\bwith\s+(?:the\s+)?real\s+values\b",
        r"=HYPERLINK\(\s*\"https?://[^\"]*\"\s*&",
        r"\b(?:share|send|post|upload|forward|publish)(?:s|es|ed|ing)?\s+(?:your\s+|the\s+|all\s+)?(?:final\s+|raw\s+)?(?:answers?|responses?|outputs?|conversation|chat|tool\s+output|results?|documents?|files?)\b" + _GAP + r"(?:https?://|[\w.+-]+@[\w-]+\.\w)",
        r"\b(?:output|embed|render|include|display|insert|append)\s" + _GAP + r"\b(?:image|img|link|pixel|badge)\b[^\n]*(?:https?://|!\[)",
        r"\b(?:invisible|tracking)\s+pixel\b|<img\s[^>]*src=[\"']?https?://[^\"'\s>]*\?[^\"'\s>]*=",
        r"\bwebhook\.site\b|\brequestbin\b|\bngrok\.io\b|\bburpcollaborator\b|\binteract\.sh\b|\bpipedream\.net\b|\bpastebin\.com\b",
        r"\b(?:curl|wget)\b[^\n|]*(?:-d|--data\S*|-F|-T|--upload-file|-X\s*POST)\s+[^\n]*(?:\$\(|@-|\benv\b|\.ssh|\.aws|id_rsa|history|cookies|\.env)",
        r"\|\s*curl\b[^\n]*(?:-d|--data|-X\s*POST|-T)|\brequests\.(?:post|put)\s*\([^)\n]*(?:os\.environ|home|clipboard|files=|platform)|\bsock(?:et)?\.sendall\b|process\.env\.\w*(?:TOKEN|KEY|SECRET)",
    ),
    # data sent to an outside address named in the text
    "send_out": (
        r"\b(?:send|forward|email|e-mail|mail|post|upload|share|dm|text|transmit|copy|bcc|submit|paste|sync|publish|leak|concatenate|export|pipe)(?:s|es|ed|ing)?\s" + _GAP + _TO_OUTSIDE,
        r"\b(?:send|email|e-mail|message|text|dm)\s" + _GAP + r"\bto\s+(?:every|all|each)\s+(?:single\s+)?(?:person|contact|participant|attendee|member|user)s?\b",
        r"\b(?:invia|inoltra|envía|envia|envie|envíe|reenvía|manda|mande|encaminhe|envoie|envoyez|transfère|sende|schicke|stuur|verstuur|wyślij|prześlij|gönder|kirim)\S*\s" + _GAP + _OUTSIDE,
        r"댓글로\s*(?:남겨|작성|달아)|コメントとして(?:貼り付け|投稿)|作为评论(?:发布|贴出)",
        r"(?:отправь|перешли|вышли|отправьте|发送|发到|转发|送信|転送|أرسل|ارسل|보내|전송)" + _GAP + r"(?:[\w.+-]+@[\w-]+\.\w|https?://)",
        r"\battach\s" + _GAP + r"\bto\s+(?:this|the)\s+(?:ticket|issue|email|thread|comment|pr|pull\s+request)\b|\b(?:leave|post)\s" + _GAP + r"\bas\s+a\s+comment\b",
    ),
    # asks the model to act: pay, book, share, push, call a tool
    "tool_request": (
        r"\b(?:transfer|wire|send|pay|refund|charge)\s+(?:\$|€|£|usd|eur|gbp)?\s?\d[\d,.]*\s*(?:\$|€|£|usd|eur|gbp|dollars|euros|pounds)?\s+(?:to|in\s+total)\b",
        r"\b(?:send|make|initiate|schedule|issue|process)\s+(?:a\s+|the\s+)?(?:transaction|transfer|payment|wire|refund|store\s+credit|\$\d+\s+store\s+credit)\b|\b(?:pay|wire)\s+(?:this|the)\s+invoice\b|\bpague\s+esta\s+fatura\b|оформи\S*\s+(?:возврат|покупку)",
        (r"\b(?:refund|reimburse)\s+(?:any|all|every|this|#)|\bcharge\s+(?:the|her|his|their|my)\s+(?:saved\s+)?card\b|\b(?:purchase|buy|order)\s+(?:it|this|them)\s+(?:now|immediately|today)\b"
         r"|\b(?:confirm|approve|accept|authori[sz]e)\s+the\s+(?:\S+\s+)?(?:charge|payment|transfer|transaction|purchase)\b"),
        r"\b(?:make|set|change|switch|turn)\s+(?:the\s+|this\s+|every\s+new\s+)?(?:repo|repository|project|calendar|document|folder|file|drive|account|profile|event's)\s+(?:\w+\s+)?(?:public|editable)\b",
        r"\bvisibility\s+(?:to\s+)?public\b|--visibility\s+public|\banyone\s+with\s+the\s+link\b|\bshare\s+(?:\w+\s+)?(?:\w+\s+)?(?:calendar|inbox|drive|files?|documents?|folder|history)\s+with\b",
        r"\bpush\s+(?:directly\s+)?to\s+main\b|\bbranch\s+protection\b|\bmerge\s+it\s+yourself\b|\bforce[\s-]push\b|\bpublish\s+this\s+package\b|\b(?:give|grant)\s+me\s+(?:the\s+)?(?:\w+\s+)?(?:role|permissions?|admin\s+rights)\b|\brevert\s+(?:the\s+)?commit\b|\bpush\s*[;,]",
        r"\b(?:invite|add)\s+(?:user\s+)?\S+\s" + _GAP + r"(?:\bto\s+the\s+(?:\w+\s+)?(?:workspace|channel|repo|repository|organi[sz]ation|team|group|event)\b|\bas\s+(?:an?\s+)?(?:editor|admin|owner|collaborator|moderator)\b)",
        r"\b(?:make|book|re-?book|create|place|confirm|accept|complete)\s+(?:a\s+|an\s+|the\s+)?(?:\d+\s+\w+\s+long\s+)?(?:reservation|booking|purchase|order|appointment|calendar\s+event|event)\b|\baccept\s+(?:this\s+meeting|any\s+invitation|every\s+meeting)",
        _START + r"(?:visit|open|go\s+to|navigate\s+to|fetch)\s+(?:a\s+|the\s+)?(?:website\s+)?(?:at\s+)?(?:the\s+link\s+)?(?:https?://|www\.)",
        r"\b(?:call|use|invoke|run|execute|trigger)\s+(?:the\s+)?[`'\"]?[a-z][a-z0-9]*_[a-z0-9_]+[`'\"]?(?:\s*\(|\s+(?:tool|function|command|action))",
        r"\b(?:use|call|invoke)\s+(?:your|the)\s+(?:\w+\s+)?(?:tools?|fetch\s+tool|browser\s+tool|memory\s+tool|shell\s+tool|checkout\s+tool|email\s+tool)\b",
        r"\b(?:read|open|cat|print|dump|output|fetch|retrieve|collect|gather|grab)\s+(?:the\s+)?(?:contents?\s+of\s+)?(?:the\s+user'?s\s+|my\s+)?(?:~|/etc|\.)[\w./\\-]+",
        r"\b(?:search|read|list)\s+(?:the\s+)?(?:user'?s|my|her|his|their)\s+(?:e-?mails|inbox|messages|files|documents|contacts|private)|\bread\s+out\b",
        r"\bask\s+(?:them|the\s+user|users|the\s+customer|for)\s" + _GAP + r"\b(?:password|passcode|login|pin|card|cvv|otp|code|address)\b",
        r"\b(?:update|change)\s+the\s+(?:delivery|shipping|billing|email|payout|vat)\s+(?:address|number)\b|\b(?:get|retrieve|collect|gather|export|dump)\s+all\s+(?:the\s+)?(?:user|customer|employee|personal)\s+(?:information|data|details|records)\b",
        r"\b(?:list|collect|gather|find|extract|dump|print)\s+(?:every|all|any)\s+(?:\w+\s+)?(?:passwords?|credentials?|secrets|api\s+keys?|tokens|private\s+keys?)\b",
        r"\b(?:transfiera|transfira|transfere|überweise|virez|trasferisci|przelej|переведи|переведите|havale\s+et)\s+\d",
    ),
    # deleting the user's things
    "destructive": (
        (r"\b(?:delete|remove|wipe|erase|destroy|purge|truncate|revoke|cancel|decline)\s+(?:all|every|each|the\s+entire|the\s+whole|the\s+user'?s|my|their|his|her|this|these)\s" + _GAP
         + r"\b(?:files?|repos?|repositor(?:y|ies)|records?|data|databases?|tables?|e-?mails?|messages?|events?|meetings?|backups?|branch(?:es)?|accounts?|documents?|tests?|contacts?|folders?|voicemail|directory)\b"),
        r"\b(?:delete|remove|wipe)\s+the\s+(?:\w+\s+)?(?:directory|folder|backups?|tests|repo|repository|database)\b|\b(?:delete|remove)\s+the\s+(?:\w+\s+)?(?:file|email|message|event|document|record)s?\s+(?:with|whose)\s+(?:id|name|title)\b|\bthen\s+delete\b",
        r"\bdrop\s+table\b|\brm\s+-rf\s+[~/]|\bgrant\s+all\s+privileges\b|\bchmod\s+-R\s+777\b",
        r"\b(?:disabl(?:e|ing)|skip(?:ping)?|remov(?:e|ing)|comment(?:ing)?\s+out)\s+(?:the\s+)?(?:assertions|failing\s+tests|signature\s+checks?|ssl\s+verification|certificate\s+(?:checks?|validation)|tls\s+verification)\b",
    ),
    # steering what other tools do (the shadowing of a trusted tool)
    "shadowing": (
        (r"\b(?:when(?:ever)?|if|once|after|before)\s+(?:the\s+|any\s+)?[`'\"]?\w+_\w+\b" + _GAP + r"\b(?:used|called|invoked|executed|triggered)\b" + _GAP
         + r"\b(?:bcc|cc|blind\s+copy|recipients?|append|prefix\w*|also|always|invite|remote|address|instead|replace|change|redirect|forward|copy)\b"),
        r"(?:wanneer|cuando|quando|lorsque|quand|wenn|когда|kiedy|ketika|saat)\s" + _GAP + r"_" + _GAP + r"(?:bcc|cc|ccn|cco|copia|kopie|copie|копи|kopi|adres|dirección|endereço|adresse|адрес)",
        r"(?:当|當|使用|调用|調用)[^。\n]*_[^。\n]*(?:密送|抄送|收件人|地址|账户|帳戶)",
        (r"\b(?:any|all|every|each)\s+(?:\w+\s+){0,3}?(?:calls?|invocations?|queries|commands|emails?|payments?|transfers?|transactions?|refunds?|file\s+you\s+read|pushes)\s" + _GAP
         + r"\b(?:must|should|shall)\s+(?:also\s+)?(?:be\s+)?(?:sent|forwarded|copied|redirected|routed|prefixed|target|go\s+to)\b"),
        r"\b(?:change|replace|redirect|switch|swap|set|update)\s+(?:the\s+)?(?:recipient|destination|account(?:\s+number)?|iban|wallet(?:\s+address)?|payee|beneficiary|delivery\s+address|shipping\s+address|phone\s+number)\s+to\s+(?:[\w.+-]+@|\+?\d|[a-z]{2}\d\d|0x|')",
        r"\b(?:bcc|cc|blind\s+copy|forward\s+a\s+copy|send\s+(?:a\s+)?cop(?:y|ies))\b" + _GAP + r"[\w.+-]+@[\w-]+\.\w|\b(?:add|invite)\s+[\w.+-]+@[\w-]+\.\w[\w.-]*\s+(?:as|to)\b",
        r"\binstead\s+of\s+(?:the\s+)?(?:user'?s?|original|customer'?s?|address\s+the\s+user|one\s+the\s+user|official\s+image)\b|\buse\s+instead\s+of\s+user'?s\b",
        r"\buse\s+it\s+even\s+if\b|\beven\s+if\s+(?:another|a\s+different)\s+(?:payee|recipient|address|account)\b|\baunque\s+el\s+usuario\s+indique\b",
        r"\balways\s+(?:use|send\s+to|pay\s+to)\s+(?:the\s+)?(?:delivery\s+address|shipping\s+address|payee|account|iban|wallet|recipient)\b|\b(?:iban|account|recipient|payee|wallet)\s+override\b",
        r"\b(?:payee|recipient|beneficiary|destination)\s+(?:of|for)\s+(?:all\s+|any\s+|bank\s+)?(?:transfers|payments|refunds|orders)\s+is\s+always\b",
        r"\bthis\s+tool\s+(?:replaces|overrides|supersedes)\s+(?:the\s+)?(?:\w+_\w+|\w+\s+(?:tool|server|function))|\b(?:treat|consider)\s+this\s+tool\s+as\s+(?:the\s+)?(?:authoritative|only|official|primary)\b",
        r"\bresults?\s+from\s+other\s+(?:\w+\s+)?tools\s+(?:are|is)\s+(?:unreliable|wrong|outdated|deprecated|unsafe|inaccurate)\b|\b(?:do\s+not|don'?t|never)\s+(?:use|call)\s+the\s+official\b",
        r"\b(?:use|choose|call)\s+this\s+tool\s+(?:rather\s+than|over|instead\s+of)\s+(?:others|every|any|all)\b|\b(?:use|call)\s+this\s+tool\s+(?:no\s+matter|regardless)\b",
        r"\b(?:always|must)\s+(?:invoke|call|run|use)\s+\S+\s+(?:after|before)\s+(?:each|every|any)\s+(?:user\s+)?(?:message|request|command|call|turn)\b",
        r"\bbefore\s+(?:running|executing|reading|writing|calling|using)\s+any\s" + _GAP + r"(?:command|file|tool)\b" + _GAP + r"\b(?:call|send|run|invoke|use)\b",
        r"\bcall\s+this\s+tool\s+before\s+(?:reading|writing|running|executing|any)\b|\bafter\s+(?:using|calling|running)\s+(?:the\s+)?\w+\s+tool\b[^\n]*\b(?:run|call|use|execute)\s+this\b",
        r"\bbefore\s+execut\w*\s[^\n]*\bexecute\s+this\s+tool\b|\breplace\s+the\s+(?:\w+\s+)?(?:values?|results?|output)\s+with\s+(?:the\s+|its\s+)?response\b|\b(?:modify|overwrite|alter)\s+the\s+(?:\w+\s+)?results?\s+of\s+(?:the\s+)?\w+\s+tool\b",
        r"\b(?:send|forward|bcc|cc)\s+(?:a\s+)?cop(?:y|ies)\s+of\s+(?:all\s+|every\s+|any\s+)?(?:outgoing\s+|incoming\s+|future\s+)?(?:e-?mails?|messages?|files?|documents?)\b",
        r"\b(?:zamień|замени|ersetze|remplace[zr]?|sostituisci|substitua|reemplaza|vervang)\s" + _GAP + r"(?:konta|счёт|счет|konto|iban|compte|conto|conta|cuenta|rekening|получател|odbiorcy|empfänger|destinataire|destinatario)",
        r"(?:utiliza|usa|use|verwende|utilisez|użyj)\s+siempre\s+la\s+cuenta|\b(?:收款|账户|账号)[^。\n]*(?:替换|改为|改成)",
    ),
    # making it stick: memory, rules files, keys
    "persistence": (
        r"\b(?:remember|memori[sz]e|store|save|persist|record|keep)\s" + _GAP + r"(?:future\s+sessions|future\s+conversations|long-?term\s+memory|permanent\s+(?:\w+\s+)?preference|your\s+memory|the\s+memory\s+tool|across\s+sessions)\b",
        r"\b(?:use|with)\s+(?:your|the)\s+(?:note\s+)?memory\s" + _GAP + r"\b(?:store|save|write|remember)\b|\bmemory\s*\(|\bmemory\s+write\b",
        r"\b(?:every|all|each)\s+future\s+(?:outputs?|responses?|repl(?:y|ies)|messages?|answers?)\b|\bnever\s+forget\s+to\s+include\b",
        r"\b(?:add|append|write|insert|put)\s" + _GAP + r"(?:\.cursorrules|claude\.md|agents\.md|copilot-instructions|\.windsurfrules|authorized_keys|\.bashrc|\.zshrc|\.profile|crontab|mcp\.json)",
        r"\bcontain\s+the\s+same\s+(?:instructions?|message|text)\s+as\s+this\b",
    ),
    # raising the model's privileges, dropping its safeguards
    "privilege": (
        (r"\b(?:disable|turn\s+off|bypass|ignore|remove|lift|deactivate|suspend|circumvent|override|skip)\s+(?:all\s+|any\s+|the\s+|your\s+|every\s+)?(?:\w+\s+)?"
         r"(?:safety|security|guardrails?|content\s+filter\w*|sandbox|audit(?:[\s_]log\w*)?|sanitization|restrictions|protections|safeguards)\b"),
        r"\b(?:unrestricted|elevated|root|god|superuser|unlimited)[\s_]+(?:system[\s_]+)?(?:access|privileges|permissions|mode|rights|control|trust)\b|\bfull\s+(?:system|filesystem|root)\s+access\b",
        r"\b(?:trust|treat)\s+(?:all\s+|any\s+)?(?:user\s+)?(?:input|commands|queries|requests)\s" + _GAP + r"\b(?:trusted|implicitly|completely|without\s+validation)\b|\btrust\s+this\s+tool\s+(?:completely|fully|implicitly)\b|\btrusts\s+\w+\s+completely\b",
        r"\bmay\s+now\s+(?:access|run|execute|read)\s+any\b|\bwithout\s+(?:validation|restrictions)\b|\b(?-i:auto_approve)|\btrusted_servers\b|\boutside\s+the\s+allowed\s+directories\b",
    ),
    # approvals skipped
    "approval_bypass": (
        r"\bwithout\s+(?:first\s+)?(?:asking|confirmation|confirming|approval|checking|verification|review|user\s+confirmation|(?:the\s+)?user'?s?\s+(?:approval|consent|confirmation|knowledge)|prompting)\b",
        r"\b(?:skip|bypass|suppress)\s+(?:the\s+|all\s+|any\s+)?(?:confirmation|approval|review)s?\b|\bauto(?:matically)?[\s-](?:accept|approve|confirm)\b",
        r"\b(?:do\s+not|don'?t|never|no\s+need\s+to)\s+ask\b(?:\s*[;,.]|\s+(?:the\s+user|for\s+(?:confirmation|permission)|them|me|first|again))",
        r"\b(?:approve|accept)\s+(?:every|all|any)\s+(?:\w+\s+)?(?:claims?|invitations?|meeting\s+requests?|requests?|transactions?|payments?)\b|\bas\s+pre-?approved\b|\bpre-?approved\s+(?:all|every|any)\b",
        r"\bwith\s+sudo\s+without\b",
    ),
    # instructions to decode and follow
    "encoded": (
        (_NQ + r"(?:decode|decrypt|deobfuscate|unescape|reverse|rot-?13|base-?64|b64|atob|url-?decode|decodeuricomponent)\w*\b" + _GAP + r"(?:\band|\bthen|,)\s+(?:\w+\s+)?"
         r"(?:follow|execute|run|obey|apply|comply|carry\s+out|treat|act|perform)\b"),
        r"\b(?:decode|decrypt)\w*\s" + _GAP + r"\b(?:usage\s+rules|mandatory\s+\w+|instructions|policy|setup\s+steps)\b",
        r"\b(?:hex|base64|url)[\s-]*encoded\s+(?:instructions?|policy|rules|note)\b|\b(?:instructions?|rules|policy)\s+(?:are|is)\s+(?:\w+\s+)?(?:base64|hex|url)[\s-]*encoded\b",
        r"\brot-?13\s*\(|\b(?:usage\s+policy|usage\s+rules|configuration|setup\s+instructions)\s*\((?:encoded|base64|url-encoded)",
    ),
    # opaque payloads: bit strings, Morse code (base64 and hex are decoded
    # by reveal and judged as what they say)
    "encoded_blob": (
        r"(?:[01]{7,8}\s+){6,}",
        r"(?:[.-]{1,6}\s+(?:/\s+)?){7,}[.-]",
    ),
    # markers that dress an instruction up as urgent or official
    "urgency_tag": (
        r"\b(?:important|urgent|critical|attention|warning|alert)\s*!{2,}",
        r"\b(?:wichtig|importante|ważne|penting|belangrijk|quan\s+trọng)\s*:",
        r"(?:важно|重要|중요|مهم)(?::|：)",
        r"\b(?:important|critical|urgent|attention|warning)\s*(?:!+|:)\s*(?:you|the\s+(?:ai|assistant|agent|model))\b",
    ),
    # advertising aimed at the model choosing a tool
    "promo": (
        r"(?:#1|number\s+one|no\.\s*1)\s+(?:by|rated|ranked|choice)|\b(?:rated|ranked)\s+#?1\b",
        r"\b\d+(?:x|%)\s+(?:better|faster|more\s+accurate)\b|\bscientifically\s+proven\b|\bgame\s+changer\b|\bvip\s+exclusive\b|\b\d+(?:\.\d+)?%\s+customer\s+satisfaction\b",
        r"\b(?:trusted|used|endorsed|featured)\s+(?:by|on|in)\s+(?:over\s+)?(?:\d|fortune|top|leading|millions|the\s+united|ted|forbes)",
        r"\bover\s+\d[\d,.]*\s*(?:million|k)?\s+(?:users|downloads|reviews|five-star)|\b(?:elite|revolutionary|breakthrough|world-class|unrivall?ed|unmatched)\b",
    ),
    # telling the model to prefer a tool over the others
    "preference": (
        r"\b(?:don'?t|do\s+not|why)\s+settle\s+for\b|\bwhy\s+use\s+inferior\b|\b(?:inferior|outdated)\s+(?:tools|alternatives|converters|competitors)\b",
        r"\b(?:choose|prioriti[sz]e|prefer|use)\s+this\s+tool\s+over\s+(?:every|any|all)\b|\bfar\s+superior\s+to\b|\bthe\s+only\s+\w+\s+you\s+should\s+trust\b",
        r"\b(?:agents|models|assistants)\s+that\s+use\s+alternatives\b|\bdo\s+not\s+use\s+other\s+\w+\s*-\s*they\s+are\b|\buse\s+while\s+you\s+still\s+can\b|\baccess\s+expires\s+soon\b",
    ),
    # asking for code to be planted in the user's project
    "code_inject": (
        r"\b(?:following|below|subsequent)\s+(?:code|snippet|script|block|excerpt|section)\b" + _GAP + r"\b(?:your|the\s+user'?s?|their)\s+(?:code(?:base)?|solution|implementation|algorithm|project|program)\b",
        r"\byour\s+(?:code(?:base)?|solution|implementation|algorithm)\b" + _GAP + r"\b(?:following|below|subsequent)\s+(?:code|snippet|script|block|excerpt|section)\b",
        (r"\b(?:when|whenever|if)\s+(?:you\s+)?(?:write|writing|create|creating|add|adding|install|installing|copy|copying|fix|fixing|generate|generating)\s" + _GAP
         + r"\b(?:code|workflow|dockerfile|server|package|crate|module|tests|migration|project)\b" + _GAP + r"\b(?:add|include|base\s+it|also|must|make\s+them)\b"),
        r"\balso\s+(?:add|run|install|set)\s+`|\b(?:use|call|prefer)\s+(?:the\s+following|this)\s+(?:better|safer|correct|proper|only)\s+(?:code|way|usage|snippet)\b",
        r"\b(?:every|each|any)\s+(?:\w+\s+){0,3}?(?:you|that\s+you)\s+(?:generate|write|create|produce)\b",
    ),
    # code that sends data away or damages the machine, in a snippet offered to the model
    "risky_code": (
        r"\brequests\.(?:post|put)\s*\(|\bsocket\.socket\s*\(|\.sendall\s*\(|\bsubprocess\.(?:call|run|popen|check_output)\b|\bos\.(?:system|popen)\s*\(",
        r"\bipconfig\s+/release|Win32_NetworkAdapterConfiguration|\bx11grab\b|GetClipboardData|_load_cookie_file|\bcookies\.txt\b|\bAES\.new\b|\bshutil\.move\b",
        r"\bcurl\b[^\n|]*\|\s*(?:sudo\s+)?(?:ba|z)?sh\b|\bpostinstall\b[^\n]*https?://|require\(['\"]https?['\"]\)\.get\(",
    ),
    # planted account numbers: IBANs, wallet addresses
    "payment_target": (
        r"\b(?-i:[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){3,7}(?:\s?[A-Z0-9]{1,3})?)\b|\b0x[0-9a-f]{40}\b",
    ),
    # quoted parameters that data is to be passed in (a side channel)
    "side_channel": (
        r"\b(?:pass|put|include|add|append|copy|insert|place|provide|fill|attach|paste|send|store|embed|supply|carry)(?:s|es|ed|ing)?\s" + _GAP + r"\b(?:in|into|as|inside)\s+(?:the\s+)?(?:(?:parameter|argument|field|param|property)\s+)?" + _PARAM,
        _PARAM + r"\s*(?:parameter|argument|field)?\s*(?:must|should|is\s+required\s+to)\s+(?:contain|hold|include|carry|be\s+set\s+to)\b|\bits\s+value\s+is\s+the\s+(?:content|contents|value)\s+of\b|\bholds?\s+the\s+(?:text|contents?)\s+of\b",
        r"\b(?:put|paste|place|insert|enter|dump|copy)\s+(?:it|them|that|this|that\s+line|the\s+output|output|(?:the\s+)?contents?|the\s+system\s+prompt)\s+(?:here|into\s+" + _PARAM + r")|\bcoller\s+ici\b|вставь\S*\s+сюда|放在这里|贴在这里|pega(?:lo)?\s+aquí|hier\s+einfügen",
        _PARAM + r"\s*(?:매개변수|パラメータ|参数|параметр|paramètre|parámetro|parâmetro|parametr|campo|champ|feld|поле|字段|フィールド|필드|الحقل|veld|alanı?)|(?:параметр|paramètre|parámetro|parâmetro|parametr|parametro|campo|champ|feld|поле|参数|字段|パラメータ|الحقل|veld)\S*\s*" + _PARAM,
        r"\b(?:include|pass|put|send|provide)\s+the\s+(?:contents?|value|text|output)\s+of\s|\bvalue\s+of\s+(?:the\s+)?\S+\s+env(?:ironment)?\s+var",
    ),
    # claims that settle a verdict a model is asked for (safe, not
    # malicious, best candidate): aimed at automated screening
    "verdict_claim": (
        r"\b(?:this|the)\s+(?:domain(?:\s+name)?|site|website|file|link|url|package|email|sender|app)\s+is\s+(?:clearly\s+|definitely\s+|absolutely\s+)?(?:not\s+malicious|safe|legitimate|trustworthy|harmless)\b",
        r"\beverything\s+is\s+safe\s+here\b|\b(?:highly|strongly)\s+recommended\s+for\s+(?:immediate\s+)?hire\b|\bexceeds\s+all\s+requirements\b|\bthe\s+most\s+qualified\b|\bexceptional\s+match\b",
    ),
    # framing that talks the reader into an answer
    "persuasion": (
        r"\bto\s+make\s+this\s+(?:\w+\s+)?more\s+(?:authentic|interesting|fun|engaging|realistic)\b|\bfor\s+the\s+purpose\s+of\s+this\s+exercise\b|\bto\s+challenge\s+the\s+status\s+quo\b",
        r"\bas\s+an\s+(?:authority|expert)\s+(?:in|on)\b" + _GAP + r"\b(?:i\s+suggest|you\s+should|consider)\b|\bi\s+suggest\s+you\s+(?:to\s+)?consider\b",
        r"\bsebagai\s+otoritas\b|\bcomo\s+(?:una\s+)?autoridad\s+en\b|\bcomo\s+(?:uma\s+)?autoridade\s+em\b|\bals\s+autorität\b|\ben\s+tant\s+qu['’]autorité\b|ในฐานะผู้มีอ",
    ),
    # text about injection, for people: security documentation, papers,
    # detector docs, incident reports (it lowers the score)
    "meta_discussion": (
        r"\bprompt[\s-]?injections?\b|\binjection\s+attacks?\b|\bjailbreak(?:s|ing)?\b|\bred[\s-]?team(?:ing|ers?)?\b|\b(?:attack\s+)?payloads?\b|\badversarial\b",
        r"\b(?:an|the|malicious|potential)\s+attackers?\b|\bthreat\s+model|\b(?:detectors?|classifiers?|canary\s+tokens?|false\s+positives?)\b",
        r"\b(?:instructions?|text|sentences?)\s+(?:addressed|aimed)\s+(?:to|at)\s+(?:the\s+)?(?:ai|assistant|model|llm)|\b(?:planted|injected|malicious)\s+(?:instructions?|text|prompts?)\b",
    ),
}


#: hidden-text markers that make a text worth revealing (and scoring even
#: without a signal)
TRIGGERS = (
    "[\\x{E0000}-\\x{E007F}]",
    "[\\x{200B}-\\x{200D}\\x{2060}-\\x{2064}\\x{FEFF}]",
    "[\\x{202A}-\\x{202E}\\x{2066}-\\x{2069}]",
    "<!\\s*--|\\[//\\]:\\s*#",
    ("display\\s*:\\s*none|visibility\\s*:\\s*hidden|font-size\\s*:\\s*0|opacity\\s*:\\s*0|(?:left|top|text-indent)\\s*:\\s*-\\d{3}"
     "|color\\s*:\\s*(?:#fff|white)|(?:height|width)\\s*:\\s*0[;\"'p]|\\shidden[\\s>]|aria-hidden|(?:alt|aria-label|title)\\s*=\\s*[\"'][^\"'\\n]{40}"),
    # base64 and hex of words in running text (" the", " and", "ing "...)
    "(?-i:IHRo|IGFu|IHlv|IGlz|IGlu|IGl0|IGZv|IG9m|IHRv|aW5n|IGEg|IHVz|IGRl|IGxh|IGxl|IGV0|IGRp|IGJp|IHZl|IHF1|IHVu|IGVs|dGhl|gdG8g|gaXMg|gaW4g|b2Yg|ZSB0|YW5kI|Zm9yI)",
    "20746865|20616e64|20746f20|696e6720|20796f75|206f6620|20697320|74686520",
    "(?:%[0-9a-f]{2}[^%\\s]{0,30}){2}",
    "\\brot[\\s-]?13\\b|\\brevers",
    "[a-z][\\x{0370}-\\x{03FF}\\x{0400}-\\x{04FF}]|[\\x{0370}-\\x{03FF}\\x{0400}-\\x{04FF}][a-z]",
    "[ \\t\\x{00A0}]{60}|\\n(?:[ \\t]*\\n){10}",
    "(?:[01]{8}\\s+){5}",
    "[a-z][0134]+[a-z]",
)

#: what each costly pattern cannot match without (a part every match of
#: every alternative of the pattern holds, as written there), per signal and
#: place in L{SIGNALS}.  Hyperscan starts these patterns on words of every
#: sentence ("the", "every", "in", "for", a verb), some 1,000 instructions
#: each, and a gap runs on to the sentence's end; the library scans the
#: conditions instead (rarer words, bounded), and the patterns themselves
#: only in a text where one of their conditions matched: the hits are the
#: same (L{_Library.hits}; tests/inspect/test_screens.py reads each
#: condition's necessity from the syntax).  A condition is kept only where
#: the whole database costs less with it than with its pattern, measured;
#: a pattern that stops soon anyway is left whole when its condition would
#: match in most documents ("security", "tokens", "payment") and cost them
#: the second scan.
_SCREENS: dict[tuple[str, int], str] = {
    ("send_out", 0): r"(?:[\w.+-]+@[\w-]+\.\w|https?://|www\.\w|\+\d[\d -]{7,}\d|#[a-z])",
    ("send_out", 2): _OUTSIDE,
    ("exfil_sink", 5): r"(?:https?://|[\w.+-]+@[\w-]+\.\w)",
    ("address_model", 0): _AI_WHO + r"\b",
    ("address_model", 5): r"(?:bots?|agents?)\s+(?:that\s+)?(?:reads?|reading|summari[sz]es|summari[sz]ing|handles|handling|triaging)\b",
    ("address_model", 11): r"(?:message|note|email|e-mail|section|text|part|comment|instruction|clause)\s+is\s+(?:only\s+)?(?:for|meant\s+for|intended\s+for|addressed\s+to)\s",
    ("address_model", 14): r"you\s+read\s+this\b|(?:ai|llm|model|assistant)\s+reading\s+this\b",
    ("meta_discussion", 1): r"attackers?\b|\bthreat\s+model|\b(?:detectors?|classifiers?|canary\s+tokens?|false\s+positives?)\b",
    ("concealment", 1): r"(?:silently|secretly|covertly|discreetly|stealthily)\b",
    ("concealment", 4): r"(?:invisible|hidden|secret|confidential)\b|user\s+(?:must|should)\s+not\s+(?:see|notice|know)\b|(?:secret|hidden)\b",
    ("concealment", 6): r"user\s+only\b|need\s+to\s+(?:be\s+told|know)\b|show\s+to\s+user\b|(?:shown|disclosed)\s+to\s+the\s+user\b",
    ("impersonation", 1): (
        r"(?:wants|would\s+want|needs|has\s+asked|requested|has\s+requested|has\s+authori[sz]ed|authori[sz]ed|told\s+me|asked\s+me)\s+"
        r"(?:you|that\s+you|for\s+you|me\s+to|(?:that\s+)?they\s+don'?t\s+mind)\b"
    ),
    ("impersonation", 3): r"user\s+(?:wants|would\s+like|asked\s+for|requested)\b",
    ("impersonation", 9): r"already\s+(?:\w+\s+)?(?:approved|consented|agreed|opted)|\bpre-?approved\b|set\s+this\s+up\s+myself\b|user\s+requested\s+it\b|opted\s+in\b",
    ("shadowing", 3): r"(?:must|should|shall)\s+(?:also\s+)?(?:be\s+)?(?:sent|forwarded|copied|redirected|routed|prefixed|target|go\s+to)\b",
    ("answer_steer", 3): r"nothing\s+else\b|\bwithout\s+(?:any\s+)?caveats\b",
    ("answer_steer", 8): r"(?:summary|answer|reply|response)",
    ("code_inject", 4): r"(?:you|that\s+you)\s+(?:generate|write|create|produce)\b",
    ("prompt_leak", 0): r"\bsystem\s+prompt\s+(?:here|verbatim)|(?:instructions|prompt|system\s+prompt)\b",
    ("sensitive_target", 4): (
        r"environment\s+variables\b|\$\(env\)|`?env\b|\benv\s+var\b|\b(?-i:(?:AWS|GITHUB|OPENAI|ANTHROPIC|DATABASE|NPM|STRIPE|SLACK|GH)_[A-Z_]*(?:KEY|TOKEN|SECRET|URL|ID)?)\b"
    ),
    ("preference", 1): r"tool\s+over\s+(?:every|any|all)\b|superior\s+to\b|you\s+should\s+trust\b",
    ("verdict_claim", 0): (
        r"(?:domain(?:\s+name)?|site|website|file|link|url|package|email|sender|app)\s+is\s+(?:clearly\s+|definitely\s+|absolutely\s+)?"
        r"(?:not\s+malicious|safe|legitimate|trustworthy|harmless)\b"
    ),
    ("verdict_claim", 1): r"safe\s+here\b|recommended\s+for\s+(?:immediate\s+)?hire\b|\bexceeds\s+all\s+requirements\b|most\s+qualified\b|\bexceptional\s+match\b",
    ("persistence", 0): r"future\s+sessions|future\s+conversations|term\s+memory|permanent\s+(?:\w+\s+)?preference|your\s+memory|memory\s+tool|across\s+sessions",
    ("persistence", 2): r"future\s+(?:outputs?|responses?|repl(?:y|ies)|messages?|answers?)\b|\bnever\s+forget\s+to\s+include\b",
    ("planted_task", 3): (
        r"(?:policy|instruction|rule|procedure)\s*:\s*(?:share|send|forward|post|delete|refund|pay|give|grant)\b"
        r"|(?:now|must\s+now|should\s+now)\s+(?:refund|approve|accept|send|forward|delete|pay|share|grant)\b"
    ),
    ("task_ref", 1): r"(?:gave|assigned)\s+you\b|\bwhatever\s+you\s+(?:were|are|have\s+been)\s+(?:asked|told|doing)\b",
    ("task_ref", 3): (
        r"\b(?:once\s+done|after\s+completing\s+the\s+task|when\s+you\s+are\s+(?:done|finished))\s*,|want\s+you\s+to\b|now\s+you\s+will\b"
        r"|you\s+to\s+(?:update|change|send|delete|forward|pay|refund)\b"
    ),
    ("override", 0): _IGNORE + r"\s",
    ("persuasion", 1): r"(?:authority|expert)\s+(?:in|on)\b|suggest\s+you\s+(?:to\s+)?consider\b",
    ("approval_bypass", 3): r"(?:approve|accept)\s+(?:every|all|any)\s+|pre-?approved",
    ("promo", 1): r"(?:x|%)\s+(?:better|faster|more\s+accurate)\b|\bscientifically\s+proven\b|\bgame\s+changer\b|\bvip\s+exclusive\b|%\s+customer\s+satisfaction\b",
    ("tool_request", 14): r"(?:delivery|shipping|billing|email|payout|vat)\s+(?:address|number)\b|(?:user|customer|employee|personal)\s+(?:information|data|details|records)\b",
    ("address_model", 13): r"(?:ai|assistant|agent|language\s+model|model)\s*,?\s+you\s+(?:must|should|will|are\s+required)\b",
    ("address_model", 1): _AI_ROLE + _READING,
    ("address_model", 2): r"(?:ai|llms?|chatbots?|chatgpt|claude|gemini|copilot)" + _READING,
    ("address_model", 4): r"(?:assistants?|agents?|bots?)\s+(?:answering|reading|summari[sz]ing|processing|handling|triaging|reviewing)\s",
    ("persuasion", 0): r"more\s+(?:authentic|interesting|fun|engaging|realistic)\b|purpose\s+of\s+this\s+exercise\b|status\s+quo\b",
    ("shadowing", 7): r"it\s+even\s+if\b|(?:another|a\s+different)\s+(?:payee|recipient|address|account)\b|\baunque\s+el\s+usuario\s+indique\b",
    ("address_model", 9): _AI_WHO + r"\s*[\])]|\(\s*and\s+(?:the|any|all)\s+",
    ("address_model", 7): _AI_WHO_STRICT + r"\b",
}
#: the 100 pairs of digits written out, which Hyperscan reads as literals
#: (C{\\d\\d} it runs as an automaton over every byte)
_DIGIT_PAIRS = "(?:" + "|".join("%02d" % n for n in range(100)) + ")"
#: what the patterns with no word in them cannot match without, by signal
#: and place (a marker: C{("", i)} for L{TRIGGERS}[i]).  Each held no
#: literal for Hyperscan to start on, so each ran an automaton over every
#: byte of every text (10 to 45 million instructions per MiB each, where
#: the whole library took 105 to 213 million: bench/README.md); their
#: conditions are literals, or classes Hyperscan runs fast (one byte in a
#: thousand sets them off in prose).  tests/inspect/test_screens.py shows
#: each necessary: the syntax where it can read it, an argument and
#: generated texts where it cannot (an IBAN holds two digits in a row; a
#: run of 60 spaces, tabs or no-break spaces holds 60 spaces or tabs in a
#: row, or a no-break space).
_BARE_SCREENS: dict[tuple[str, int], str] = {
    ("payment_target", 0): _DIGIT_PAIRS + r"|0x",
    ("", 9): "[\\x{0370}-\\x{03FF}\\x{0400}-\\x{04FF}]",
    ("", 10): "[ \\t]{60}|\\x{00A0}|\\n(?:[ \\t]*\\n){10}",
    ("", 12): "[0134][a-z]",
}


def _screened(name: str, i: int) -> str:
    return SIGNALS[name][i] if name else TRIGGERS[i]


#: the conditions by pattern (a marker's too)
SCREENS: dict[str, str] = {_screened(name, i): condition for (name, i), condition in {**_SCREENS, **_BARE_SCREENS}.items()}
#: screened patterns whose conditions match in ordinary documents and
#: tool results (source code, its documentation, logs, the bench's tool
#: result): "response", "summary", "skip", "override", "ignore", "hidden",
#: "secret", "env", "prompt", "instructions", an agent or a model named.
#: Of 537 files of this repository and of Twisted, the conditions of
#: these six matched in 382, their patterns in 34 (session 18).  Each is
#: also in a database of its own: a text where one or two of a group's
#: conditions matched, all of them these, pays their own scans (3 to 18
#: million instructions per MiB each, callgrind), not their group's (90
#: million per MiB of prose, 33 of Python source; L{_Library._plan})
_COMMON_SCREENS = (
    ("answer_steer", 8),
    ("override", 0),
    ("concealment", 4),
    ("sensitive_target", 4),
    ("prompt_leak", 0),
    ("address_model", 0),
)
#: the most screened patterns of one group confirmed each in its own
#: database (L{_COMMON_SCREENS}) rather than in the group's
_ALONE_AT_MOST = 2
#: screened patterns whose conditions are an address (a URL, an e-mail
#: address, a phone number: in many documents) or words to a model (in
#: documents about models), confirmed apart from the others (L{SCREENS}),
#: as is each of those with no word in them (L{_BARE_SCREENS}: their
#: automata are the costly part); the rest are confirmed together
SCREEN_GROUPS: dict[str, str] = {
    **{SIGNALS[name][i]: "address" for name, i in (("send_out", 0), ("send_out", 2), ("exfil_sink", 5))},
    **{SIGNALS["address_model"][i]: "model" for i in (0, 1, 2, 4, 5, 7, 9, 13)},
    **{_screened(name, i): f"bare {name} {i}" for name, i in _BARE_SCREENS},
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
    #: the learned model judging the same texts (L{learned.load}), if any
    model: Optional[str] = None
    _table: dict[str, float] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_table", dict(self.signals))

    def of(self, signal: str) -> float:
        return self._table.get(signal, 0.0)

    def most(self, seen: Iterable[str]) -> float:
        """
        The most that texts showing the signals C{seen} between them can
        score without hidden text: what each counts, and each pair adds,
        when it adds (a signal that lowers a score, as a text discussing
        injection, may belong to another text of the same message).
        """
        seen = set(seen)
        table = self._table
        return sum(max(0.0, table.get(s, 0.0)) for s in seen) + sum(max(0.0, bonus) for a, b, bonus in self.pairs if a in seen and b in seen)

    def threshold(self, sensitivity: str) -> float:
        return dict(self.thresholds)[sensitivity]


#: tool descriptions: guidance is normal ("IMPORTANT: always confirm with
#: the user first"), steering other tools, reaching for secrets, decoding
#: payloads, scripting answers and hiding things from the user are not
POISONING = Weights(
    signals=(
        ("override", 4.0),
        ("role_marker", 2.0),
        ("address_model", 1.5),
        ("answer_steer", 1.0),
        ("scripted_answer", 4.0),
        ("tell_user", 0.5),
        ("bare_imperative", 0.0),
        ("planted_task", 2.0),
        ("impersonation", 2.5),
        ("task_ref", 1.5),
        ("concealment", 3.0),
        ("sensitive_target", 2.0),
        ("prompt_leak", 3.0),
        ("secret_word", 0.5),
        ("exfil_sink", 4.0),
        ("send_out", 2.5),
        ("tool_request", 0.5),
        ("destructive", 2.5),
        ("shadowing", 4.0),
        ("persistence", 3.0),
        ("privilege", 2.5),
        ("approval_bypass", 1.5),
        ("encoded", 4.0),
        ("encoded_blob", 1.5),
        ("urgency_tag", 1.0),
        ("promo", 2.0),
        ("preference", 3.0),
        ("code_inject", 2.5),
        ("risky_code", 1.0),
        ("payment_target", 2.0),
        ("side_channel", 2.0),
        ("verdict_claim", 1.0),
        ("persuasion", 0.5),
        ("meta_discussion", 0.0),
    ),
    pairs=(
        ("sensitive_target", "side_channel", 2.0),
        ("sensitive_target", "send_out", 1.5),
        ("sensitive_target", "tool_request", 1.0),
        ("sensitive_target", "address_model", 1.0),
        ("sensitive_target", "role_marker", 1.0),
        ("sensitive_target", "approval_bypass", 1.0),
        ("sensitive_target", "impersonation", 1.0),
        ("sensitive_target", "privilege", 1.0),
        ("secret_word", "side_channel", 1.5),
        ("secret_word", "send_out", 1.5),
        ("prompt_leak", "side_channel", 1.0),
        ("concealment", "side_channel", 1.0),
        ("concealment", "send_out", 1.0),
        ("concealment", "destructive", 1.0),
        ("concealment", "sensitive_target", 1.0),
        ("payment_target", "impersonation", 1.0),
        ("payment_target", "shadowing", 1.0),
        ("urgency_tag", "preference", 1.0),
        ("approval_bypass", "impersonation", 1.0),
        ("approval_bypass", "privilege", 1.0),
        ("promo", "preference", 1.0),
    ),
    hidden=3.0,
    thresholds=(("low", 5.0), ("medium", 4.0), ("high", 3.0)),
    model="poisoning",
)

#: what tools and resources bring back: documents may mention secrets,
#: tools and even injections, but do not speak to the model; text that
#: discusses injection for people ("meta_discussion") counts against
INJECTION = Weights(
    signals=(
        ("override", 4.0),
        ("role_marker", 2.5),
        ("address_model", 3.0),
        ("answer_steer", 3.0),
        ("scripted_answer", 3.0),
        ("tell_user", 1.5),
        ("bare_imperative", 0.5),
        ("planted_task", 2.5),
        ("impersonation", 2.5),
        ("task_ref", 2.0),
        ("concealment", 2.0),
        ("sensitive_target", 1.0),
        ("prompt_leak", 2.5),
        ("secret_word", 0.5),
        ("exfil_sink", 3.5),
        ("send_out", 1.5),
        ("tool_request", 1.5),
        ("destructive", 1.5),
        ("shadowing", 1.5),
        ("persistence", 2.0),
        ("privilege", 2.0),
        ("approval_bypass", 1.5),
        ("encoded", 3.0),
        ("encoded_blob", 1.0),
        ("urgency_tag", 1.0),
        ("promo", 0.5),
        ("preference", 1.0),
        ("code_inject", 2.0),
        ("risky_code", 1.0),
        ("payment_target", 0.5),
        ("side_channel", 1.0),
        ("verdict_claim", 1.5),
        ("persuasion", 1.5),
        ("meta_discussion", -2.0),
    ),
    pairs=(
        ("answer_steer", "bare_imperative", 0.5),
        ("address_model", "tool_request", 1.0),
        ("address_model", "send_out", 1.0),
        ("address_model", "destructive", 1.0),
        ("address_model", "answer_steer", 1.0),
        ("address_model", "scripted_answer", 1.0),
        ("address_model", "tell_user", 1.0),
        ("address_model", "concealment", 1.0),
        ("role_marker", "tool_request", 1.5),
        ("role_marker", "send_out", 1.5),
        ("role_marker", "destructive", 1.5),
        ("role_marker", "answer_steer", 1.5),
        ("role_marker", "scripted_answer", 1.5),
        ("role_marker", "tell_user", 1.0),
        ("role_marker", "prompt_leak", 1.0),
        ("impersonation", "tool_request", 1.5),
        ("impersonation", "send_out", 1.5),
        ("impersonation", "destructive", 1.5),
        ("task_ref", "tool_request", 1.5),
        ("task_ref", "send_out", 1.5),
        ("concealment", "tool_request", 1.0),
        ("concealment", "send_out", 1.0),
        ("sensitive_target", "exfil_sink", 1.5),
        ("sensitive_target", "send_out", 1.5),
        ("secret_word", "send_out", 1.0),
        ("urgency_tag", "tool_request", 1.0),
        ("code_inject", "risky_code", 2.0),
        ("answer_steer", "exfil_sink", 1.0),
    ),
    hidden=2.0,
    thresholds=(("low", 5.5), ("medium", 4.0), ("high", 3.0)),
    model="injection",
)


@attrs.frozen
class Bar:
    """
    What a text must reach to be judged to carry instructions, at one
    sensitivity: a rule score, or a probability of the learned model.
    """

    rules: float
    model: Optional[float] = None


def _bar(threshold: Union[float, Bar]) -> Bar:
    return threshold if isinstance(threshold, Bar) else Bar(float(threshold))


@attrs.frozen
class Judgement:
    """
    @ivar score: the sum of the weights of the signals shown.
    @ivar signals: their names (and C{hidden:KIND} for hidden text).
    @ivar spans: (start, end) in L{revealed} of each pattern match, for
        redaction (and of the sentences the learned model flags, when it
        flags a text the rules do not).
    @ivar probability: the learned model's, 0 without a model.
    """

    score: float
    signals: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]
    revealed: Revealed
    probability: float = 0.0

    def over(self, threshold: Union[float, Bar]) -> bool:
        bar = _bar(threshold)
        return self.score >= bar.rules or (bar.model is not None and self.probability >= bar.model)

    def reasons(self, threshold: Union[float, Bar]) -> tuple[str, ...]:
        """
        The signals, and C{learned} when the model's probability reaches
        C{threshold}: what a finding names.
        """
        bar = _bar(threshold)
        if bar.model is not None and self.probability >= bar.model:
            return self.signals + (f"learned:{self.probability:.2f}",)
        return self.signals


_FROM_WEIGHTS: Any = object()


class Scorer:
    """
    One compiled signal library, scored with one table of weights, and the
    learned model of the same texts (L{learned}).  Which signals a text
    shows is one Hyperscan scan (RE2 for the patterns it cannot take), with
    the hidden-text markers: only a text that has some is revealed and
    scanned again.  Spans, wanted only to redact, are found with RE2.

    @param model: the learned model; by default the one C{weights} names;
        None for the rules alone.
    """

    def __init__(self, weights: Weights, signals: Optional[dict[str, tuple[str, ...]]] = None, model: Optional[learned.Model] = _FROM_WEIGHTS):
        self.weights = weights
        self._library = _library(signals if signals is not None else SIGNALS)
        #: the most each set of hits can score (L{mayReach}); bounded
        self._most: dict[frozenset[int], float] = {}
        if model is _FROM_WEIGHTS:
            model = learned.load(weights.model) if weights.model else None
        self.model: Optional[learned.Model] = model

    def threshold(self, sensitivity: str) -> Bar:
        """
        What a text must reach at C{sensitivity}: the rule score of
        L{Weights.threshold}, or the model's probability for it.
        """
        model = self.model
        return Bar(self.weights.threshold(sensitivity), model.threshold(sensitivity) if model is not None else None)

    def patterns(self) -> tuple[str, ...]:
        """
        Every signal pattern, and the hidden-text markers: a text that
        matches none of them has a rule score of 0.
        """
        return self._library.patterns

    def mayFind(self, text: str) -> bool:
        """
        Whether L{score} could find a signal in C{text} (one scan; False
        means a rule score of 0).
        """
        return self._library.any(text)

    def mayReach(self, text: str, threshold: Union[float, Bar]) -> bool:
        """
        Whether C{text} could reach C{threshold}, or, for a rule score, any
        text of which it joins several: False proves it does not.  Its
        signals (and the model's probability) are remembered, so that
        L{score} of the same text does not compute them again.

        The rule score is bounded from the signals the text shows (a text
        of which it joins several shows no more); the model is run on the
        text itself when the bound does not settle it and the text is
        prose.  For several texts joined, see L{mayReachAny}.
        """
        bar = _bar(threshold)
        library = self._library
        hits = frozenset(library.hits(text))
        self._last = (text, hits, None)
        if hits and self._bound(hits) >= bar.rules:
            return True
        model = self.model
        if model is None or bar.model is None:
            return False
        owners = library.owners
        p = model.probability(text, {owners[i] for i in hits})
        self._last = (text, hits, p)
        return p >= bar.model

    def mayReachAny(self, joined: str, texts: Sequence[str], threshold: Union[float, Bar], minLength: int = 0) -> bool:
        """
        Whether any of C{texts} (at least C{minLength} long), which
        C{joined} joins, could reach C{threshold}: False proves none does.
        One scan of C{joined} bounds their rule scores; the model runs on
        each text of prose, with every signal of C{joined} that could add
        to its probability.
        """
        bar = _bar(threshold)
        library = self._library
        hits = frozenset(library.hits(joined))
        if hits and self._bound(hits) >= bar.rules:
            return True
        model = self.model
        if model is None or bar.model is None:
            return False
        owners = library.owners
        seen = {owners[i] for i in hits}
        raising = {s for s in seen if model.signals.get(s, 0.0) > 0}
        return any(len(t) >= minLength and model.probability(t, raising) >= bar.model for t in texts)

    _last: tuple[str, frozenset[int], Optional[float]] = ("", frozenset(), None)

    def _bound(self, hits: frozenset[int]) -> float:
        """
        The most a text showing the signals C{hits} can score by the rules
        (infinite with hidden text: what it says is not known yet),
        remembered per set of hits.
        """
        most = self._most.get(hits)
        if most is None:
            library = self._library
            if max(hits) >= library.triggers:
                most = float("inf")
            else:
                owners = library.owners
                most = self.weights.most(owners[i] for i in hits)
            if len(self._most) >= 4096:
                self._most.clear()
            self._most[hits] = most
        return most

    def score(self, text: str, wantSpans: bool = False, threshold: Optional[Union[float, Bar]] = None) -> Judgement:
        """
        The judgement of C{text}.  With C{wantSpans}, where the signals
        are; and, when the learned model reaches C{threshold} and the
        rules do not, the sentences it flags on their own (or the whole
        text, when it flags none alone).
        """
        library = self._library
        last = self._last
        cached = last[0] == text and bool(text)
        hits: Any = last[1] if cached else library.hits(text)
        concealedHits: set[int] = set()
        if hits and max(hits) >= library.triggers:
            revealed = reveal(text)
            hits = library.hits(revealed.text) if revealed.text != text else set(hits)
            if revealed.concealed:
                concealedHits = library.hits(revealed.concealed)
                hits |= concealedHits
        else:
            revealed = Revealed(text)
        owners = library.owners
        seen = dict.fromkeys(owners[i] for i in sorted(hits) if i < library.triggers)
        spans: list[tuple[int, int]] = []
        if wantSpans:
            for i in sorted(hits):
                if i < library.triggers:
                    spans.extend(_core(revealed.text, m.span()) for m in library.compiled(i).finditer(revealed.text))
        w = self.weights
        score = sum(w.of(s) for s in seen)
        for a, b, bonus in w.pairs:
            if a in seen and b in seen:
                score += bonus
        signals = list(seen)
        if revealed.hidden:
            # hiding counts when something is said in what is hidden; some
            # ways of hiding have no innocent use at all
            if any(i < library.triggers and w.of(owners[i]) >= 1.0 for i in concealedHits):
                score += w.hidden
            elif any(h in _NO_INNOCENT_USE for h in revealed.hidden):
                score += w.hidden / 2
            signals.extend(f"hidden:{h}" for h in revealed.hidden)
        probability = 0.0
        model = self.model
        if model is not None:
            if cached and last[2] is not None and not revealed.hidden:
                probability = last[2]
            else:
                probability = model.probability(learned.modelText(revealed), signals)
        if wantSpans and threshold is not None and model is not None:
            bar = _bar(threshold)
            if bar.model is not None and probability >= bar.model and score < bar.rules:
                spans.extend(self._modelSpans(revealed.text, signals, bar.model))
        return Judgement(score, tuple(signals), tuple(sorted(spans)), revealed, probability)

    def _modelSpans(self, text: str, signals: Sequence[str], threshold: float) -> list[tuple[int, int]]:
        """
        The sentences of C{text} the model flags on their own, or all of
        it when it flags none alone.
        """
        model = self.model
        assert model is not None
        found = [(a, b) for a, b in sentences(text) if model.probability(text[a:b], signals) >= threshold]
        return found or [(0, len(text))]


class _Library:
    """
    The compiled signal patterns (ids 0..triggers-1) and hidden-text
    markers (ids from C{triggers} on), in one Hyperscan database (seconds
    to compile, so once per process), shared by every scorer.  A pattern
    L{SCREENS} names is there as its condition; the patterns themselves are
    in a second database, scanned only when a condition matched.
    """

    def __init__(self, signals: dict[str, tuple[str, ...]], screens: Optional[dict[str, str]] = None):
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
        screens = SCREENS if screens is None else screens
        # a screened pattern's condition is scanned in its place, under an
        # id of its own (the pattern's, past every pattern's): the pattern
        # itself, in a database of its own kind, only when one matched
        self._screened = {i: screens[p] for i, p in enumerate(self.patterns) if p in screens}
        self._past = len(self.patterns)
        # one database for the signals and the markers: one scan per text
        ids = list(range(len(self.patterns)))
        try:
            db = self._compile(ids)
        except hyperscan.error:
            ids = [i for i in ids if i >= self.triggers or _hyperscanTakes(self.patterns[i])]
            db = self._compile(ids)
        taken = set(ids)
        self._dbs: list[tuple[hyperscan.Database, hyperscan.Scratch]] = [(db, hyperscan.Scratch(db))]
        # the screened patterns by the kind of their condition (an address,
        # words to a model, the rest: L{SCREEN_GROUPS}), one database each,
        # so that a text with a URL in it is not scanned for every one
        kinds: dict[str, list[int]] = {}
        for i in self._screened:
            if i in taken:
                kinds.setdefault(SCREEN_GROUPS.get(self.patterns[i], ""), []).append(i)
        #: for each screened pattern, the index in C{_dbs} of its database
        self._confirmer: dict[int, int] = {}
        for ids_ in kinds.values():
            confirm = _compile(self.patterns, ids_)
            self._confirmer.update((i, len(self._dbs)) for i in ids_)
            self._dbs.append((confirm, hyperscan.Scratch(confirm)))
        #: for the screened patterns whose conditions are common
        #: (L{_COMMON_SCREENS}), the index in C{_dbs} of a database of
        #: that pattern alone
        self._alone: dict[int, int] = {}
        common = {SIGNALS[name][i] for name, i in _COMMON_SCREENS if name in signals and i < len(signals[name])}
        for i in sorted(self._confirmer):
            if self.patterns[i] in common:
                alone = _compile(self.patterns, [i])
                self._alone[i] = len(self._dbs)
                self._dbs.append((alone, hyperscan.Scratch(alone)))
        rest = [i for i in range(self.triggers) if i not in taken]
        self._rest: Optional[tuple[Any, list[int]]] = None
        if rest:
            restSet = re2.Set.SearchSet(options)
            for i in rest:
                restSet.Add(self.patterns[i])
            restSet.Compile()
            self._rest = (restSet, rest)

    def _compile(self, ids: list[int]) -> "hyperscan.Database":
        """
        The library's database of C{ids}: a screened pattern's condition
        (L{SCREENS}) in place of the pattern, under the pattern's id past
        every pattern's.
        """
        screened = self._screened
        past = self._past
        expressions = [(screened[i] if i in screened else self.patterns[i]).encode("utf-8") for i in ids]
        return compileDatabase(expressions, [i + past if i in screened else i for i in ids], [_HS_FLAGS] * len(ids))

    def _scratches(self) -> list[tuple["hyperscan.Database", "hyperscan.Scratch"]]:
        if threading.get_ident() == self._owner:
            return self._dbs
        mine = getattr(self._local, "dbs", None)
        if mine is None:
            mine = self._local.dbs = [(db, scratch.clone()) for db, scratch in self._dbs]
        return mine  # type: ignore[no-any-return]

    def hits(self, body: str) -> set[int]:
        """
        The ids of the patterns and markers that match C{body}: one scan
        of the library; a second, of the screened patterns (exact), when
        the conditions of some matched.
        """
        hits: set[int] = set()
        if not body:
            return hits

        def onMatch(index: int, start: int, end: int, flags: int, context: object) -> None:
            hits.add(index)

        data = body.encode("utf-8", "surrogatepass")
        dbs = self._scratches()
        db, scratch = dbs[0]
        db.scan(data, match_event_handler=onMatch, scratch=scratch)
        past = self._past
        if hits and max(hits) >= past:
            candidates = {i - past for i in hits if i >= past}
            hits -= {i + past for i in candidates}
            hits |= self._confirmed(data, candidates, dbs)
        if self._rest is not None:
            restSet, ids = self._rest
            for j in restSet.Match(body) or ():
                hits.add(ids[j])
        return hits

    def _plan(self, candidates: set[int]) -> list[tuple[int, set[int]]]:
        """
        The databases to scan to confirm the screened patterns
        C{candidates} (their conditions matched), each with the
        candidates it holds: each group's, or, for at most
        L{_ALONE_AT_MOST} of a group that each have one, their own.
        """
        groups: dict[int, set[int]] = {}
        for i in candidates:
            groups.setdefault(self._confirmer[i], set()).add(i)
        alone = self._alone
        plan: list[tuple[int, set[int]]] = []
        for k in sorted(groups):
            wanted = groups[k]
            if len(wanted) <= _ALONE_AT_MOST and all(i in alone for i in wanted):
                plan.extend((alone[i], {i}) for i in sorted(wanted))
            else:
                plan.append((k, wanted))
        return plan

    def _confirmed(self, data: bytes, candidates: set[int], dbs: list[tuple["hyperscan.Database", "hyperscan.Scratch"]]) -> set[int]:
        """
        Which of the screened patterns C{candidates} match C{data}: one
        scan of each database of L{_plan}, ended once each candidate it
        holds has matched (each matches at most once:
        C{HS_FLAG_SINGLEMATCH}).
        """
        confirmed: set[int] = set()
        for k, wanted in self._plan(candidates):
            left = len(wanted)

            def onConfirm(index: int, start: int, end: int, flags: int, context: object) -> Optional[bool]:
                nonlocal left
                if index in wanted and index not in confirmed:
                    confirmed.add(index)
                    left -= 1
                    return left == 0 or None
                return None

            confirm, scratch = dbs[k]
            try:
                confirm.scan(data, match_event_handler=onConfirm, scratch=scratch)
            except hyperscan.ScanTerminated:
                pass
        return confirmed

    def any(self, body: str) -> bool:
        """
        Whether anything (a signal or a hidden-text marker) matches.
        """
        if not body:
            return False
        data = body.encode("utf-8", "surrogatepass")
        dbs = self._scratches()
        db, scratch = dbs[0]
        past = self._past
        candidates: set[int] = set()

        def onMatch(index: int, start: int, end: int, flags: int, context: object) -> Optional[bool]:
            if index < past:
                return True
            candidates.add(index - past)
            return None

        try:
            db.scan(data, match_event_handler=onMatch, scratch=scratch)
        except hyperscan.ScanTerminated:
            return True
        if candidates:

            def onConfirm(index: int, start: int, end: int, flags: int, context: object) -> Optional[bool]:
                return index in candidates or None

            for k, _ in self._plan(candidates):
                confirm, scratch = dbs[k]
                try:
                    confirm.scan(data, match_event_handler=onConfirm, scratch=scratch)
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
    return compileDatabase([patterns[i].encode("utf-8") for i in ids], ids, [_HS_FLAGS] * len(ids))


_HS_FLAGS = hyperscan.HS_FLAG_CASELESS | hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_MULTILINE | hyperscan.HS_FLAG_SINGLEMATCH


def _hyperscanTakes(pattern: str) -> bool:
    try:
        hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK).compile(
            expressions=[pattern.encode("utf-8")], ids=[0], elements=1, flags=[_HS_FLAGS]
        )
    except hyperscan.error:
        return False
    return True


#: ways of hiding text that count even when what they hide says nothing
#: the signals know
_NO_INNOCENT_USE = ("tag_characters", "bidi_override", "zero_width_bits", "homoglyph", "leetspeak")


#: what a match may begin with before its words: the end of the previous
#: sentence, a line break, a quotation mark, a bullet
_LEAD = frozenset(".!?;:,>)]}|*•–—#=/-\"'“”„«»「『` \t\r\n\u00a0")


def _core(text: str, span: tuple[int, int]) -> tuple[int, int]:
    """
    C{span} without the punctuation and spaces a pattern matched before
    its words, so that a redaction takes the sentence that holds the
    instruction and not the one before it.
    """
    start, end = span
    while start < end and text[start] in _LEAD:
        start += 1
    return start, end


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
        if any(s < end and e > start for s, e in spans):
            if replacement and (not out or out[-1] != replacement):
                out.append(replacement)
            continue
        out.append(text[start:end])
    return "".join(out).strip()


__all__ = ["Bar", "INJECTION", "POISONING", "Judgement", "Revealed", "Scorer", "SIGNALS", "TRIGGERS", "Weights", "reveal", "withoutSpans"]
