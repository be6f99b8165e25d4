"""
A value read as a shell reads it: words and operators, then a judgement by
structure (session 12).

The rules match text; an attacker spells a command a thousand ways a shell
undoes (quotes and backslashes inside words, C{$IFS}, C{${x:-c}at},
C{{cat,/etc/passwd}}, C{$'\\x63at'}, C{/???/c?t}).  L{commandInValue} lexes
a value the way sh (and, for what they share, cmd and PowerShell) would:
quotes, backslashes, ANSI-C strings, C{$( )}, backticks, C{${...}},
here-strings, redirections, C{&&}, C{||}, C{;}, C{|}, C{&} and line
breaks; it folds each word to what the shell would run (quotes removed,
variables assigned in the value read back, unset ones empty, C{$IFS} a
blank, braces expanded, a glob-spelled path resolved against the paths of
known programs), and then asks where each command word stands:

    - in command position (after an operator, inside C{$( )} or
      backticks, at the start of a value that begins with a separator) a
      known program (Unix or Windows), a path to one, a cmdlet, or a word
      followed by options is a second command;
    - at the start of a value, a program no word is named like
      (C{cscli}, C{pip3}) followed by a subcommand or an argument shaped
      like an option, a path, a host or a URL is a command line where a
      value belongs;
    - a program named like a word (C{sort}, C{make}, C{time}) counts only
      with arguments shaped that way, and a capitalised word after a
      separator only when it is a Windows command: C{Tom & Jerry},
      C{jazz; blues}, C{yes;no} at the start of a value stay what they
      are.

It only runs on values a rule of its own (C{shell_structure} in
L{akto_proxy.inspect.checks.rules}) already saw a shell-ish character in,
so clean traffic pays nothing for it.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Iterator, NamedTuple, Optional

# --- what a shell would run ---------------------------------------------------

# Programs no English word is named like (a value that begins with one and
# goes on with arguments is a command line).  Unix, macOS and Windows.
_UNIX = """
whoami uname ifconfig ipconfig netstat nslookup wget curl ncat netcat socat nc telnet tftp ftp sftp ssh scp rsync
zsh ksh csh tcsh dash ash bash sh fish busybox toybox yash mksh python python2 python3 perl perl5 php php5 php7 php8
ruby irb lua luajit tclsh wish node nodejs deno bun jrunscript jjs osascript pwsh powershell cscript wscript mshta
chmod chown chgrp chattr lsattr mkfifo mknod crontab useradd usermod userdel groupadd groupmod passwd chpasswd
sudo doas pkexec su runuser setpriv capsh chroot unshare nsenter setarch taskset ionice nohup strace ltrace gdb
systeminfo tasklist taskkill certutil bitsadmin wmic regsvr32 rundll32 msiexec schtasks netsh nbtstat nltest
dsquery gpresult wevtutil vssadmin bcdedit icacls cacls driverquery getmac qwinsta quser cmdkey klist setspn fsutil
findstr attrib xcopy robocopy takeown mountvol diskpart openfiles qprocess cipher tracert pathping esentutl expand
makecab extrac32 forfiles msbuild installutil regasm regsvcs cmstp odbcconf pcalua presentationhost syncappvpublishingserver
hh control mavinject bginfo wsl bash.exe cmd.exe powershell.exe
printenv getent lsof killall pkill pgrep pstree strings xxd hexdump od base32 base64 md5sum sha1sum sha256sum
tcpdump tshark nmap masscan hping3 arping traceroute tracepath mtr whois nc.traditional nc.openbsd
ansible ansible-playbook ansible-galaxy ansible-vault ansible-doc ansible-config ansible-inventory ansible-console
pip pip2 pip3 pipx npm npx yarn pnpm gem bundle composer cargo rustc gcc cc c89 c99 clang g++ tcc gdb lldb
docker podman kubectl helm minikube kind k3s crictl ctr nerdctl systemctl journalctl service loginctl timedatectl
hostnamectl localectl networkctl resolvectl busctl iptables ip6tables nft ufw firewall-cmd
umount fdisk sfdisk parted mkfs blkid lsblk lscpu lsmod lspci lsusb insmod rmmod modprobe dmesg sysctl
getfacl setfacl shred wipe openssl gpg gpg2 unzip gunzip gzip bzip2 bunzip2 xz unxz zstd 7z 7za rar unrar lz4
apt-get apt-cache aptitude dpkg yum dnf rpm apk pacman zypper emerge snap flatpak brew port
awk gawk mawk nawk sed grep egrep fgrep rgrep xargs uniq wc sha512sum cksum
usleep ping6 lastlog lastb faillog vim nvim vi nano emacs pico joe
knife cscli flock cpulimit rmt setcap getcap getsebool sestatus setenforce semanage aa-exec
uptime vmstat iostat mpstat sar nproc dmidecode lshw hwinfo inxi
showmount smbclient rpcinfo nmblookup rpcclient enum4linux ldapsearch logname lsb_release whereis ldd readelf
objdump nm strace mysql mysqldump psql pg_dump sqlite3 mongo mongosh redis-cli memcached
reboot poweroff shutdown halt init telinit
base64 uuencode uudecode tar cpio zip bsdtar ar
dig host drill kdig
env printf echo
id groups users last who w finger pinky
ps top htop atop kill
df du free
ls dir vdir ll
cat tac nl head tail more less most
cp mv rm ln mkdir rmdir touch install
chsh chfn newgrp sg
at atq atrm batch
screen tmux script
socat openvpn wg
launchctl defaults dscl dscacheutil csrutil spctl codesign security scutil networksetup systemsetup
pmset diskutil hdiutil ditto plutil sw_vers system_profiler kextstat kextload osacompile mdfind mdls
xattr sqlite3 tccutil profiles log
gsettings xdotool xclip xsel xinput xwd import
git svn hg
java javac jar jshell kotlin scala groovy
go gofmt dotnet mono csc vbc
sqlcmd bcp osql isql
curl.exe wget.exe
aws az gcloud gsutil bq doctl oci ibmcloud terraform pulumi vault consul nomad etcdctl
kldstat kldload sockstat pw chkconfig update-rc.d certctl locale sync sysrc pfctl ipfw jls jexec
visudo vipw pwck grpck chage faillock pam_tally2 auditctl ausearch aureport
psexec psexec.py wmiexec.py smbexec.py secretsdump.py impacket-psexec crackmapexec evil-winrm mimikatz rubeus
ldapdomaindump bloodhound-python kerbrute hydra john hashcat responder
[ [[
"""
_WINDOWS = """
cmd net net1 sc reg ver set type copy del erase move ren rename md rd mkdir rmdir cls start call echo
for if goto shift pushd popd title color assoc ftype path prompt endlocal setlocal vol label
tree find sort more fc comp where whoami hostname arp route nbtstat ping tracert timeout choice
iex iwr irm icm gci gc gcm gp gwmi sls sal nal saps spps ni ri si sv gv rv
"""
# Programs named like English words (and languages, which prose names):
# they count after a separator and at the start of a value only with
# arguments shaped like an option, a path, a host or a URL.
_WORDS = """
find make install mail file touch kill date time test which watch top write wall split join paste look man open
print read say set shift source start stop type wait echo printf cp mv rm ln mkdir rmdir cd export alias trap
column tr yes exec eval let declare local readonly unset ulimit umask go java node git timeout bash dash sleep
ping host w who last id more less head tail cat tac nl sort cut rev tee dir env pwd ls ps dd ed ex vi ip ss su cc
route mount service finger tar zip apt brew dig arp net fish chef salt screen script log import expand control
security defaults profiles users groups free du df whois batch at init halt shutdown reboot call for if goto
title color path prompt label tree more fc comp where ver vol copy del move rename find sort choice script
python ruby perl php lua rust scala kotlin groovy swift crystal julia dart elixir erlang node deno bun
docker kind snap port hh wish pico joe most sar last script install ar as ld od wc top
"""

KNOWN = frozenset((_UNIX + _WINDOWS).split()) | frozenset(_WORDS.split())
# programs that take cmd's /switches
_CMD_BUILTINS = frozenset(_WINDOWS.split()) | frozenset(
    "dir attrib xcopy robocopy icacls cacls tasklist taskkill schtasks ipconfig netstat systeminfo wmic findstr shutdown "
    "cipher fsutil auditpol bcdedit vssadmin wevtutil takeown expand forfiles msiexec regsvr32 rundll32 certutil bitsadmin".split()
)
WORDLIKE = frozenset(_WORDS.split())
# Commands a value does not hold on its own: they run their argument
WRAPPERS = frozenset(
    "sudo doas env nohup time exec eval command builtin ionice xargs busybox stdbuf setsid strace ltrace "
    "chroot runuser unbuffer then do else elif if while until ! { ( call start cmd /c /k /r".split()
)
# subcommands a tool's command line goes on with (pip3 install x, cscli alerts list)
SUBCOMMANDS = frozenset(
    "install uninstall list ls run exec get show dump decrypt encrypt describe delete create apply start stop restart "
    "status info config add remove rm ps pull push clone build update upgrade search enable disable logs inspect "
    "login query set view report cat read write edit copy download upload fetch export import load unload kill "
    "attach connect shell console eval call invoke mount unmount".split()
)
# PowerShell's approved verbs, for Verb-Noun cmdlets
_VERBS = frozenset(
    "add clear close copy enter exit find format get hide join lock move new open optimize pop push redo remove rename "
    "reset resize search select set show skip split step switch undo unlock watch connect disconnect read receive send "
    "write backup checkpoint compare compress convert convertfrom convertto dismount edit expand export group import "
    "initialize limit merge mount out publish restore save sync unpublish update approve assert build complete confirm "
    "deny deploy disable enable install invoke register request restart resume start stop submit suspend uninstall "
    "unregister wait debug measure ping repair resolve test trace block grant protect revoke unblock unprotect use "
    "foreach where sort tee".split()
)
_BIN_DIRS = ("/bin/", "/usr/bin/", "/sbin/", "/usr/sbin/", "/usr/local/bin/")
_BIN_PATHS = tuple(d + name for d in _BIN_DIRS for name in sorted(KNOWN) if name.isascii() and "." not in name)

# --- the lexer -----------------------------------------------------------------

_OPERATORS = ("&&", "||", "|&", ";;", ";", "&", "|", "\n", "(", ")")
_WINDOWS_PATH = re.compile(r"['\"]?(?:[A-Za-z]:\\|%\w+(?:\(x86\))?%\\|\.{1,2}\\|\\\\)")
_REDIRECT = re.compile(r"\d?(?:>>|>&|&>|>\||<>|<&|>|<)")
_NAME = re.compile(r"[A-Za-z_]\w*")
# PowerShell code in a subexpression: a variable's member or assignment, a type's static call
_PS_CODE = re.compile(r"\s*(?:\$[A-Za-z_][\w:]*\s*(?:\.\s*[A-Za-z_]|\[|\+?=)|\[[A-Za-z][\w.]*\]::[A-Za-z])")
_ANSI = re.compile(r"\\(?:x([0-9a-fA-F]{1,2})|u([0-9a-fA-F]{1,4})|([0-7]{1,3})|(.))", re.S)
_ANSI_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b", "f": "\f", "v": "\v", "\\": "\\", "'": "'", '"': '"'}
_GUESS = {"HOME": "/root", "PATH": "/usr/local/bin:/usr/bin:/bin", "PWD": "/", "SHELL": "/bin/sh", "USER": "root",
          "COMSPEC": "C:\\Windows\\system32\\cmd.exe", "WINDIR": "C:\\Windows", "SYSTEMROOT": "C:\\Windows",
          "PROGRAMFILES": "C:\\Program Files", "PROGRAMFILES(X86)": "C:\\Program Files (x86)", "PROGRAMDATA": "C:\\ProgramData",
          "APPDATA": "C:\\Users\\user\\AppData\\Roaming", "LOCALAPPDATA": "C:\\Users\\user\\AppData\\Local",
          "TEMP": "C:\\Windows\\Temp", "TMP": "C:\\Windows\\Temp", "USERPROFILE": "C:\\Users\\user", "PUBLIC": "C:\\Users\\Public",
          # (session 13: the names Invoke-DOSfuscation spells letters from, and bash's own)
          "COMMONPROGRAMFILES": "C:\\Program Files\\Common Files", "COMMONPROGRAMFILES(X86)": "C:\\Program Files (x86)\\Common Files",
          "COMMONPROGRAMW6432": "C:\\Program Files\\Common Files", "PROGRAMW6432": "C:\\Program Files",
          "ALLUSERSPROFILE": "C:\\ProgramData", "HOMEDRIVE": "C:", "SYSTEMDRIVE": "C:",
          "PATHEXT": ".COM;.EXE;.BAT;.CMD;.VBS;.VBE;.JS;.JSE;.WSF;.WSH;.MSC", "OS": "Windows_NT",
          "PSMODULEPATH": "C:\\Windows\\system32\\WindowsPowerShell\\v1.0\\Modules", "BASH": "/bin/bash"}
GUESS = _GUESS  # (what a value's environment variables are guessed to hold, for other readers)
_MAX = 2048  # characters of a value read
_REDIRECTION = "\x00"  # (how a redirection's word is marked: no value read holds a NUL)
HERE_STRING = _REDIRECTION + "<<<"  # (how a here-string's word is marked: its text is what it feeds)
_DEPTH = 4  # substitutions inside substitutions


class Word(NamedTuple):
    text: str  # as the shell would pass it, quotes removed
    raw: str  # as written
    quoted: bool  # some of it was quoted or escaped


class Command(NamedTuple):
    words: tuple[Word, ...]
    # where the command stands: "start" (the value's beginning), "after"
    # (an operator before it), "subst" (inside $( ), backticks, <( ))
    where: str
    before: str  # the operator before it ("" at the start)
    tight: bool  # no blank on either side of that operator
    lead: bool  # nothing but quotes and brackets before that operator
    env: bool = False  # assignments before it (LD_PRELOAD=x ls)


class _Lexer:
    """
    One value, read once from left to right.
    """

    def __init__(self, text: str, assigned: dict[str, str], depth: int):
        self.s = text
        self.n = len(text)
        self.i = 0
        self.assigned = assigned
        self.depth = depth
        self.commands: list[Command] = []
        self.nested: list[str] = []  # bodies of substitutions, lexed after

    def run(self, where: str = "start") -> list[Command]:
        words: list[Word] = []
        before = ""
        tight = False
        lead = True
        seenWord = False
        while self.i < self.n:
            c = self.s[self.i]
            if c in " \t\r\f\v":
                self.i += 1
                continue
            if c == "#" and (self.i == 0 or self.s[self.i - 1] in " \t\n;&|"):
                end = self.s.find("\n", self.i)
                self.i = self.n if end < 0 else end
                continue
            op = self._operator()
            if op is not None:
                start = self.i
                self.i += len(op)
                if words:
                    self._emit(words, where, before, tight, lead)
                    seenWord = True
                    lead = False
                elif seenWord:
                    lead = False
                words = []
                if op == "(" and start > 0 and self.s[start - 1] not in " \t\n;&|(":
                    continue  # f(x): a call, not a subshell
                before = op if op not in "()" else (before or op)
                left = start > 0 and not self.s[start - 1].isspace()
                right = self.i < self.n and not self.s[self.i].isspace()
                tight = left and right
                where = "after" if where != "subst" else "subst"
                continue
            m = _REDIRECT.match(self.s, self.i)
            if m and not (m.group(0) in ("<", ">") and self.s[m.end(): m.end() + 1] == "("):
                if self.s.startswith("<<<", self.i):
                    self.i += 3
                    while self.i < self.n and self.s[self.i] in " \t":
                        self.i += 1
                    fed = self._word()  # the string fed to the command
                    if fed is not None:
                        words.append(Word(fed.text, HERE_STRING + fed.raw, True))
                    continue
                self.i = m.end()
                if m.group(0).endswith("&") and self.i < self.n and self.s[self.i].isdigit():
                    self.i += 1
                    continue
                while self.i < self.n and self.s[self.i] in " \t":
                    self.i += 1
                self._word()  # the file
                words.append(Word(">", _REDIRECTION + m.group(0), False))
                continue
            word = self._word()
            if word is not None:
                words.extend(_expandBraces(word))
            else:
                self.i += 1  # (nothing a word or an operator starts with)
        if words:
            self._emit(words, where, before, tight, lead)
        return self.commands

    def _operator(self) -> Optional[str]:
        s, i = self.s, self.i
        for op in _OPERATORS:
            if s.startswith(op, i):
                if op == "&" and i + 1 < self.n and s[i + 1] == ">":
                    return None  # &> redirection
                return op
        return None

    def _emit(self, words: list[Word], where: str, before: str, tight: bool, lead: bool) -> None:
        # assignments before the command are remembered (a=c;b=at;$a$b)
        k = 0
        while k < len(words) and "=" in words[k].raw and _NAME.match(words[k].raw) and words[k].raw[_NAME.match(words[k].raw).end()] == "=":  # type: ignore[union-attr]
            name, _, value = words[k].text.partition("=")
            self.assigned[name] = value
            k += 1
        rest = tuple(w for w in words[k:] if w.text)
        if rest:
            self.commands.append(Command(rest, where, before, tight, lead, k > 0))

    def _word(self) -> Optional[Word]:
        """
        One word from here, quotes removed and expansions made.
        """
        s = self.s
        out: list[str] = []
        quoted = False
        start = self.i
        # a Windows path (C:\x, %VAR%\x, .\x, \\host): its backslashes are separators
        windows = _WINDOWS_PATH.match(s, self.i) is not None
        while self.i < self.n:
            c = s[self.i]
            if windows and c == "\\":
                out.append(c)
                self.i += 1
                continue
            if c in " \t\r\n\f\v;&|()<>":
                if c in "<>" and self.i + 1 < self.n and s[self.i + 1] == "(":
                    self._substitution(self.i + 2, ")")
                    continue
                break
            if c == "\\":
                nxt = s[self.i + 1 : self.i + 2]
                self.i += 2
                quoted = True
                if nxt != "\n":
                    out.append(nxt)
                continue
            if c == "^" and self.i + 1 < self.n and s[self.i + 1].isalnum():
                self.i += 1  # cmd's escape
                quoted = True
                continue
            if c == "'":
                end = s.find("'", self.i + 1)
                end = self.n if end < 0 else end
                out.append(s[self.i + 1 : end])
                self.i = end + 1
                quoted = True
                continue
            if c == '"':
                self.i += 1
                while self.i < self.n and s[self.i] != '"':
                    d = s[self.i]
                    if d == "\\" and self.i + 1 < self.n and s[self.i + 1] in '$`"\\\n':
                        out.append(s[self.i + 1])
                        self.i += 2
                    elif d == "$":
                        out.append(self._dollar())
                    elif d == "`":
                        self._backtick()
                    else:
                        out.append(d)
                        self.i += 1
                self.i += 1
                quoted = True
                continue
            if c == "$":
                piece = self._dollar()
                if piece == " ":  # $IFS: a blank between words
                    if out:
                        break
                    continue
                out.append(piece)
                quoted = True
                continue
            if c == "`":
                if s.startswith("``", self.i):
                    self.i += 2  # an empty substitution
                    quoted = True
                    continue
                if self.i + 1 < self.n and s[self.i + 1].isalpha() and self.i > start and s[self.i - 1].isalpha() and s.find("`", self.i + 1) < 0:
                    self.i += 1  # PowerShell's escape inside a word (I`E`X)
                    quoted = True
                    continue
                self._backtick()
                quoted = True
                continue
            if c == "%" and self.i + 1 < self.n:
                m = re.match(r"%([A-Za-z_]\w*(?:\(x86\))?)(?::~\s*(-?\d+)\s*(?:,\s*(-?\d+))?)?%", s[self.i :])
                if m and m.group(1).upper() in _GUESS:
                    value = _GUESS[m.group(1).upper()]
                    if m.group(2) is not None:
                        a = int(m.group(2))
                        b = int(m.group(3)) if m.group(3) is not None else None
                        value = value[a:] if b is None else (value[a : a + b] if b >= 0 else value[a:b])
                    out.append(value)
                    self.i += m.end()
                    quoted = True
                    continue
            out.append(c)
            self.i += 1
        if self.i == start:
            return None
        return Word("".join(out), s[start : self.i], quoted)

    def _dollar(self) -> str:
        s, i = self.s, self.i
        nxt = s[i + 1 : i + 2]
        if nxt == "(":
            if s.startswith("$((", i):
                end = s.find("))", i)
                self.i = self.n if end < 0 else end + 2
                return "0"
            self._substitution(i + 2, ")")
            return ""
        if nxt == "'":
            end = i + 2
            while end < self.n and s[end] != "'":
                end += 2 if s[end] == "\\" else 1
            self.i = min(end, self.n) + 1
            return _ANSI.sub(_ansi, s[i + 2 : min(end, self.n)])
        if nxt == '"':
            self.i = i + 1
            return ""
        if nxt == "{":
            end = _closing(s, i + 2, "{", "}")
            self.i = end + 1
            return self._parameter(s[i + 2 : end])
        if nxt == "[":  # $[1+1]: arithmetic
            end = s.find("]", i)
            self.i = self.n if end < 0 else end + 1
            return "0"
        m = _NAME.match(s, i + 1)
        if m:
            self.i = m.end()
            return self._variable(m.group(0))
        if nxt and nxt in "@*#?$!-0123456789":
            self.i = i + 2
            return ""
        self.i = i + 1
        return "$"

    def _variable(self, name: str) -> str:
        if name == "IFS":
            return " "
        if name in self.assigned:
            return self.assigned[name]
        return _GUESS.get(name, "")

    def _parameter(self, body: str) -> str:
        if body == "!#":
            return "bash"  # the last argument of bash -c '..' bash: $0, the shell (Bashfuscator runs ${!#})
        m = re.match(r"!?([A-Za-z_]\w*|[@*#?$!0-9])(.*)", body, re.S)
        if not m:
            return ""
        name, op = m.groups()
        value = self._variable(name) if _NAME.fullmatch(name) else ""
        if not op:
            return value
        if op in (",,", "^^", "~~", ",", "^", "~"):
            fn = {",": str.lower, "^": str.upper, "~": str.swapcase}[op[0]]
            return fn(value) if len(op) == 2 else fn(value[:1]) + value[1:]
        if op[:2] in (":-", ":=") or op[:1] in ("-", "="):
            word = op[2:] if op[0] == ":" else op[1:]
            return value if value else _Lexer(word, self.assigned, self.depth + 1)._plain()
        if op[:2] == ":+" or op[:1] == "+":
            return ""
        sub = re.match(r":(-?\d+)(?::(-?\d+))?$", op.replace(" ", ""))
        if sub:
            a = int(sub.group(1))
            b = int(sub.group(2)) if sub.group(2) is not None else None
            v = value or "/"
            return v[a:] if b is None else v[a : a + b] if b >= 0 else v[a:b]
        return value if name != "IFS" else " "  # ${x#...}, ${x%...}, ${IFS%??}

    def _plain(self) -> str:
        word = self._word()
        return word.text if word else ""

    def _backtick(self) -> None:
        end = self.s.find("`", self.i + 1)
        end = self.n if end < 0 else end
        self._nest(self.s[self.i + 1 : end])
        self.i = end + 1

    def _substitution(self, start: int, close: str) -> None:
        end = _closing(self.s, start, "(", close)
        self._nest(self.s[start:end])
        self.i = end + 1

    def _nest(self, body: str) -> None:
        if self.depth < _DEPTH and body.strip():
            self.nested.append(body)


def _closing(s: str, start: int, opening: str, close: str) -> int:
    """
    The index of the bracket that closes the one before C{start} (nested
    ones counted, quoted ones skipped), or the end.
    """
    depth = 1
    i = start
    n = len(s)
    while i < n:
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if c == "'" and opening == "(":
            end = s.find("'", i + 1)
            i = n if end < 0 else end + 1
            continue
        if c == opening:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return n


def _ansi(m: "re.Match[str]") -> str:
    if m.group(1):
        return chr(int(m.group(1), 16))
    if m.group(2):
        return chr(int(m.group(2), 16))
    if m.group(3):
        return chr(int(m.group(3), 8) & 0xFF)
    return _ANSI_SIMPLE.get(m.group(4), m.group(4))


_BRACE = re.compile(r"^(.*?)\{([^{}]*,[^{}]*)\}(.*)$", re.S)


def _expandBraces(word: Word) -> list[Word]:
    """
    Brace expansion of an unquoted group with a comma: C{{cat,/etc/passwd}}
    is two words, C{/bin/{ca,x}t} is C{/bin/cat /bin/xt}.
    """
    m = _BRACE.match(word.text) if "{" in word.raw and "," in word.raw else None
    if not m:
        return [word]
    head, body, tail = m.groups()
    return [Word(head + part + tail, word.raw, True) for part in body.split(",") if head + part + tail][:16] or [word]


def lex(text: str) -> list[Command]:
    """
    The simple commands of C{text}, substitutions' commands after the
    value's own (each with L{Command.where} C{"subst"}).
    """
    if "\x00" in text:
        text = text.split("\x00", 1)[0]  # a C string ends at NUL
    text = text[:_MAX]
    assigned: dict[str, str] = {}
    pending = [(text, "start", 0)]
    commands: list[Command] = []
    while pending:
        body, where, depth = pending.pop(0)
        lexer = _Lexer(body, assigned, depth)
        commands.extend(lexer.run(where))
        for b in lexer.nested:
            if _PS_CODE.match(b):  # PowerShell code in $( ): $($x.Run()), $([IO.File]::ReadAllText(..))
                commands.append(Command((Word("$", b, True),), "code", "", False, True))
            else:
                pending.append((b, "subst", depth + 1))
    return commands


# --- the judgement ---------------------------------------------------------------

_OPTION = re.compile(r"-{1,2}[A-Za-z][\w-]*(?:=.*)?$")
_WINDOWS_OPTION = re.compile(r"/[A-Za-z?]{1,12}(?::\S*)?$")
_PATHISH = re.compile(r"(?:/|~/|\.{1,2}/|[A-Za-z]:[\\/]|\\\\|%\w+%\\)[^\s]*[\w.*?-]")
_URL = re.compile(r"[a-z][\w+.-]*://\S+", re.I)
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?$")
_HOST = re.compile(r"[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}(?::\d+)?$", re.I)
_IDENT = re.compile(r"[a-z][a-z0-9_.+-]*$")
_ASSIGNMENT = re.compile(r"[A-Z_][A-Z0-9_]*=")
# what a value a command follows looks like: empty, short, or a host, a file, an id
_VALUE = re.compile(r"\S{0,2}$|\S*[\d._/:@-]\S*$")
_CMDLET = re.compile(r"([a-z]+)-[a-z]{2,}$", re.I)
_EXECUTABLE = re.compile(
    r"(?:[A-Za-z]:)?[\\/](?:[\w .$~()-]+[\\/])+[\w.+-]+$|\.{1,2}[\\/][\w.+-]+$|.*[\\/][\w .+-]+\.(?:exe|com|bat|cmd|ps1|vbs|js|hta|msi|sh|py|pl|rb|elf|bin)$",
    re.I,
)
_PROSE_END = re.compile(r"[.!?,:]$")
_PS_STATIC = re.compile(r"\[[A-Za-z][\w.]*\]::[A-Za-z]\w*")
_BINARY = re.compile(r"[\w .+-]+\.(?:exe|com|bat|cmd|ps1|vbs|vbe|jse?|wsf|hta|msi|cpl|scr|sh|elf)$", re.I)
_BIN_DIR = re.compile(r"[\\/](?:s?bin|libexec|system32|syswow64)[\\/]|/MacOS/", re.I)
_HEAD = re.compile(r"[^;&|\n]*")
_ROOTED = re.compile(r"(?:/|~/|\.{1,2}/|[A-Za-z]:\\)[A-Za-z.]")


# Session 18: builtins that change the shell's variables, with what only a
# variable looks like after them (an upper-case name of four characters or
# more; an assignment): after a separator where a value belongs they hide
# a session's traces or steer what runs next (x || unset HISTFILE)
_VARIABLE_BUILTINS = {
    "unset": re.compile(r"[A-Z_][A-Z0-9_]{3,}$"),
    "export": re.compile(r"[A-Za-z_]\w*=\S*$"),
}


def _shaped(arg: Word) -> bool:
    """
    An argument shaped like a program's: an option, a path, a URL, an
    address or a host, a redirection, an expansion.
    """
    t = arg.text
    if _redirection(arg) or not t:
        return _redirection(arg)
    return bool(
        _OPTION.match(t) or _ASSIGNMENT.match(t) or _PATHISH.match(t) or _URL.match(t) or _IPV4.match(t) or _HOST.match(t)
        or arg.raw.startswith("$") or "/" in t
    )


def _redirection(word: Word) -> bool:
    return word.raw[:1] == _REDIRECTION


isRedirection = _redirection
closing = _closing


def _subcommand(word: Word) -> bool:
    """
    A tool's subcommand: C{install}, C{list-users}.
    """
    return word.text.lower().split("-", 1)[0] in SUBCOMMANDS


def _program(word: Word) -> tuple[str, bool]:
    """
    The program a command word names (lower case, without its directory
    and C{.exe}) and whether it was written as a path.
    """
    t = word.text
    if any(c in t for c in "?*[") and "/" in t:
        matches = [p for p in _BIN_PATHS if fnmatch.fnmatchcase(p, t)] if len(t) <= 40 else []
        if matches:
            return matches[0].rsplit("/", 1)[1], True
        return "", True
    path = "/" in t or "\\" in t
    name = re.split(r"[\\/]", t)[-1].lower() if path else t.lower()
    if name.endswith((".exe", ".com", ".bat", ".cmd")):
        name = name[:-4]
    return name, path


def _skipWrappers(words: tuple[Word, ...]) -> tuple[Word, ...]:
    k = 0
    while k < len(words) - 1:
        t = words[k].text.lower()
        timed = t in ("timeout", "nice") and (words[k + 1].text[:1] == "-" or words[k + 1].text.isdigit())  # timeout 5 x, not cmd's timeout /t 5
        if t in WRAPPERS or t.endswith("=") or timed:
            k += 1
            while k < len(words) - 1 and (words[k].text[:1] == "-" or words[k].text.isdigit()):
                k += 1  # nice -n 19, timeout 5
            continue
        break
    return words[k:]


def _isCommand(command: Command, head: str) -> bool:
    """
    Whether C{command} runs something where it stands; C{head} is what the
    value holds before its first operator.
    """
    if command.where == "code":
        return True
    words = _skipWrappers(command.words)
    first = words[0]
    if _PS_STATIC.match(first.raw):
        return True  # [Environment]::SetEnvironmentVariable(..): PowerShell calling .NET
    if _redirection(first):
        return False
    args = [w for w in words[1:]]
    name, path = _program(first)
    leaf = re.split(r"[\\/]", first.text)[-1]
    # a program by its file: an executable's extension, or a directory of programs
    binary = bool(_BINARY.match(leaf)) or (path and _BIN_DIR.search(first.text) is not None)
    options = [a for a in args if _OPTION.match(a.text)]
    switches = [a for a in args if _WINDOWS_OPTION.match(a.text)]
    where = command.where
    shaped = any(_shaped(a) for a in args)
    cmdlet = _CMDLET.match(first.text)
    isCmdlet = bool(cmdlet and cmdlet.group(1).lower() in _VERBS)
    known = name in KNOWN or isCmdlet
    wordlike = name in WORDLIKE and not path
    capital = first.text[:1].isupper() and not first.quoted
    if where == "subst":
        # $(x) and `x`: a program, a path, a program's file (`Update.exe
        # --x`: session 16), or a lower-case word with arguments
        return known or path or binary or (bool(_IDENT.match(first.text)) and bool(args)) or name == ""
    if where == "after":
        if name in _VARIABLE_BUILTINS and args and all(_VARIABLE_BUILTINS[name].match(a.text) for a in args) and _VALUE.match(head):
            return True  # x && unset HISTFILE, x; export PATH=/tmp: the shell's own variables
        if binary or (command.env and (known or path or _IDENT.match(first.text))):
            return True  # x|"C:\\tools\\x.exe", LD_PRELOAD=/tmp/x.so ls
        if path:
            return bool(_EXECUTABLE.match(first.text) or name == "" or name in KNOWN) and (command.lead or bool(args) or name in KNOWN or name == "")
        if capital and not (known and (name in _CMD_BUILTINS or isCmdlet or shaped)):
            # "Tom & Jerry", "rock; Roll"; not x"&Gpscript /logon, x | Snaffler -v
            near = command.lead or command.tight or _VALUE.match(head) is not None
            # (more arguments where two or more are options: SetFile -d
            # "04/25/2023 11:11:00" -m "..." x.txt, macOS' CamelCase tools)
            return near and bool(switches or options) and (len(args) <= 4 or (len(options) + len(switches) >= 2 and len(args) <= 8))
        if known and not wordlike:
            return True
        if known and (shaped or (command.lead and not args)):
            return True
        if command.lead and first.quoted and _IDENT.match(name):
            return True  # ;""u""n""a""m""e: a word spelled to hide
        if not _IDENT.match(first.text) or len(name) < 2:
            return False  # (a|b: an alternation)
        if any(_OPTION.match(a.text) for a in args):
            return True
        # any program after a value (a host, a file, an id) and a separator:
        # with arguments that are no prose, or alone after && || or a line break
        if not _VALUE.match(head) or (command.before == "&" and not command.tight):
            return False
        if args:
            return len(args) <= 8 and not any(a.text[:1].isupper() or _PROSE_END.search(a.text) for a in args)
        return (len(name) >= 3 or known) and (command.before in ("&&", "||", "\n") or command.tight)
    # at the start of a value: a command line where a value belongs
    if not args:
        return False
    if _PROSE_END.search(words[-1].text) or len(words) > 12:
        return False
    if binary and (path or shaped or bool(switches)):
        return True  # "C:\\Program Files\\x\\x.exe" /reregserver, cmstp.exe /s x.inf
    if command.env and (known or binary):
        return True
    if isCmdlet and any(_redirection(a) for a in args):
        return True  # Get-Process > $env:TEMP\x.txt
    if isCmdlet and options:
        return sum(1 for a in args if a.text.isalpha()) <= 3  # New-Item -ItemType Directory -Path x
    if capital:
        return False
    if known and not wordlike:
        return shaped or any(_subcommand(a) for a in args) or first.quoted
    if known and any(_redirection(a) for a in args):
        return True  # echo x >> /etc/profile
    if name in _CMD_BUILTINS and any(_WINDOWS_OPTION.match(a.text) for a in args):
        return True  # net group x /domain, copy a b /Y
    plain = sum(1 for a in args if a.text.isalpha() and not _subcommand(a))
    if not known and _IDENT.match(first.text):
        # an unknown program: options and a path, an address or a URL, or
        # more options than words (not "nvm install -s and -b conflict")
        if options and any(_ROOTED.match(a.text) or _IPV4.match(a.text) or _URL.match(a.text) for a in args):
            return True
        if args[0].text.startswith("--") and options and len(args) <= 3:
            return True  # smbstatus --shares
        return (len(options) >= 2 and plain < len(options)) or len(switches) >= 2
    if known and first.quoted and first.raw.strip("'\"") != first.text:
        return True  # c'a't /etc/passwd, {cat,/etc/passwd}: a word spelled to hide
    if known or isCmdlet:
        # (an option or a path early, few words: "where to buy x -used" is
        # a search that leaves a word out)
        early = any(_OPTION.match(a.text) or _ROOTED.match(a.text) or _ASSIGNMENT.match(a.text) for a in args[:3])
        return early and plain <= 2 and not any(_PROSE_END.search(a.text) for a in args)
    return False


# Session 16: a value, then one command between two of the same separator,
# and nothing after but a quote (x | posh |, x' && colorcpl C:\\a && '): the
# injected command wrapped so that the rest of the command line the value
# lands in runs apart, as the scanners' command injection forms send it
_WRAPPED = re.compile(
    r"^\s*['\"`]?([^;&|\s'\"`]{1,120})['\"`]?\s*(\|\||&&|\||;|&)\s*([^;&|\r\n]{1,200}?)\s*\2\s*['\"`]?\s*$"
)
_WRAPPED_PROGRAM = re.compile(r"[A-Za-z][\w-]+(?:\.(?:exe|com|bat|cmd|ps1|vbs|js|hta|msc|cpl))?$", re.I)


def _wrapped(text: str) -> bool:
    """
    Whether C{text} is a value (a file, a host, an id) followed by one
    command between two of the same separator, and nothing after it but a
    quote: C{avatar.jpg | posh | }, C{10.0.0.5 && OfflineScannerShell && },
    C{x' && colorcpl C:\\Users\\Public\\a && '}.  The command is a
    program's name (any, known or not, as the scanners' lists name
    hundreds) alone or with at most eight arguments, not words alone and
    no sentence; a list of
    words (C{v1.2; stable;}) is not: a semicolon or a lone ampersand
    counts only before a known program.
    """
    m = _WRAPPED.match(text)
    if m is None or _VALUE.match(m.group(1)) is None:
        return False
    words = m.group(3).split()
    name = words[0].strip("'\"")
    if _WRAPPED_PROGRAM.match(name) is None or _PROSE_END.search(m.group(3)) or len(words) > 9:
        return False
    if len(words) > 1 and all(w.isalpha() for w in words[1:]):
        return False  # (words: Q3 | revenue report |, a row of a table)
    if m.group(2) in (";", "&") and not isProgram(_program(Word(name, name, False))[0]):
        return False
    return True


# Session 18: a value, then a separator that runs what follows (&&, ||, ;)
# or a substitution, and one statement of a script there that names no
# program: a shell variable assigned and closed by a semicolon
# (x.txt&& GHUser="v";, x$(GHRepo="v";), x`server="v";`) or a block's
# end (x; fi;), as a script's lines spliced after a value send them.  A
# lone & or | is left out (a URL's query: ?a=1& b=2;), and so is a value
# that is itself an assignment (a=1; b=2;: a list of settings).
_STATEMENT_AFTER = re.compile(
    r"^\s*['\"]?[^;&|`$\s'\"=]{1,120}['\"]?\s*(?:(?:&&|\|\||;)\s*|\$\(\s*|`\s*)"
    r"(?:[A-Za-z_]\w*=(?:\"[^\"\n]*\"|'[^'\n]*'|[^\s;&|`)'\"]*)\s*;|(?:fi|done|esac)\s*;?)\s*[)`]?\s*$"
)


def commandInValue(text: str) -> bool:
    """
    Whether C{text}, read as a shell reads it, runs a command where a value
    belongs (see the module's docstring).
    """
    # (a value is often pasted between quotes: its first quote may close
    # them, x';id;' then reads as x, id and an empty string)
    # (and then only what follows an operator counts: the start is the
    # value's own)
    text = text[:_MAX]  # (what lex reads: no copy of a large value)
    if _wrapped(text) or _STATEMENT_AFTER.match(text):
        return True
    readings = [(text, "")]
    for quote in "'\"":
        if quote in text:
            readings.append((quote + text, "start"))
    inner = text.strip()
    if len(inner) > 2 and inner[0] == inner[-1] and inner[0] in "'\"" and " " in inner:
        readings.append((inner[1:-1], ""))  # a whole command line quoted: 'uname -a'
    for reading, skip in readings:
        try:
            commands = lex(reading)
            head = _HEAD.match(reading).group(0).strip()  # type: ignore[union-attr]
            found = any(_isCommand(c, head) for c in commands if c.where != skip)
        except (IndexError, ValueError, RecursionError):  # pragma: no cover - a value no shell would take
            found = False
        if found:
            return True
    return False


def isProgram(name: str) -> bool:
    """
    Whether C{name} names a known program or a PowerShell cmdlet (an
    approved verb, a dash, a noun).
    """
    m = _CMDLET.match(name)
    return name.lower() in KNOWN or bool(m and m.group(1).lower() in _VERBS)


def runs(code: str) -> bool:
    """
    Whether C{code}, which an evaluator runs (C{eval}, a pipe into C{sh},
    C{Invoke-Expression}, cmd's C{call}), runs a command: each of its
    commands judged as one after a separator is (its start is no value
    of a form's, it is code).
    """
    try:
        for c in lex(code[:_MAX]):
            if c.where == "start":
                c = c._replace(where="after", before="\n", tight=False, lead=True)
            if _isCommand(c, ""):
                return True
    except (IndexError, ValueError, RecursionError):  # pragma: no cover - code no shell would take
        return False
    return False


def commands(text: str) -> Iterator[tuple[str, tuple[str, ...]]]:
    """
    For tests and reports: each command of C{text} as the program word
    and its arguments, folded.
    """
    for c in lex(text):
        yield c.where, tuple(w.text for w in c.words if not w.raw.startswith(HERE_STRING))


def _alternation(names: frozenset[str]) -> str:
    return "|".join(re.escape(n) for n in sorted(names, key=lambda n: (-len(n), n)))


#: (for the rule that hands values to L{commandInValue}) programs no word is
#: named like, those that are, and PowerShell's verbs
PROGRAMS = _alternation(KNOWN - WORDLIKE)
WORD_PROGRAMS = _alternation(WORDLIKE)
VERBS = _alternation(_VERBS)
