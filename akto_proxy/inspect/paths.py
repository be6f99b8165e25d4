"""
Paths as a file API would read them, and where they lead.

The path rules of L{akto_proxy.inspect.checks.rules} match spellings; this
module reads a value the way the server that receives it would: it finds
the strings a file API may be handed (the value, a URL's query parameters,
the path inside a wrapper such as C{php://filter/resource=} or
C{zip://x#y}, a word of a command), cuts them where a C{NUL}, a query or a
fragment would, unifies separators, resolves C{.}, C{..} and doubled
separators, maps Windows drives, UNC administrative shares, C{\\\\?\\} and
C{\\\\.\\} device forms, C{file://} URLs and environment variables
(C{%SYSTEMROOT%}, C{$HOME}, C{~}) to one canonical form
(L{canonical}), and then judges the result (L{sensitive}): a location in
the table L{LOCATIONS} (system configuration and credentials, process
state, logs, keys, shell histories, cloud and container secrets, web
servers' and frameworks' configuration, Windows system files) reached from
the root, from a home directory, or from an application's root after a
climb.

L{nulTruncation} judges a NUL by what stands around it: it truncates a
path only where a path, a file name or an extension stands beside it.
"""

from __future__ import annotations

import re
from typing import Iterator, NamedTuple, Optional

# --- the table ---------------------------------------------------------------
# One location a line: its anchor, then the path (lower case, "/"
# separated; a trailing "/" is a directory and everything under it; "*" is
# one segment of any name).  Anchors:
#   root  from the file system's root (or a drive's), or reached by a climb
#         above where the path starts
#   home  inside a user's home (/root, /home/x, /Users/x, C:/Users/x, ~,
#         $HOME, %USERPROFILE%)
#   app   from an application's root: after a climb, or under a web
#         server's document root
#   key   a key's or a credential's file, wherever a rooted path or a
#         climb reaches it
#   name  a server's file by its name, after a climb or on a share
LOCATIONS = """
root etc/passwd
root etc/shadow
root etc/gshadow
root etc/group
root etc/sudoers
root etc/sudoers.d/
root etc/master.passwd
root etc/security/
root etc/ssh/
root etc/ssl/private/
root etc/pki/
root etc/krb5.keytab
root etc/krb5.conf
root etc/hosts
root etc/hosts.allow
root etc/hosts.deny
root etc/hostname
root etc/issue
root etc/issue.net
root etc/motd
root etc/crontab
root etc/cron.d/
root etc/cron.daily/
root etc/anacrontab
root etc/at.allow
root etc/fstab
root etc/mtab
root etc/resolv.conf
root etc/environment
root etc/profile
root etc/bashrc
root etc/bash.bashrc
root etc/shells
root etc/os-release
root etc/lsb-release
root etc/redhat-release
root etc/debian_version
root etc/passwd-
root etc/shadow-
root etc/mysql/
root etc/my.cnf
root etc/postgresql/
root etc/redis/
root etc/redis.conf
root etc/mongod.conf
root etc/nginx/
root etc/apache/
root etc/apache2/
root etc/httpd/
root etc/lighttpd/
root etc/php/
root etc/php.ini
root etc/php5/
root etc/php7/
root etc/php8/
root etc/php-fpm.conf
root etc/php-fpm.d/
root etc/tomcat/
root etc/tomcat7/
root etc/tomcat8/
root etc/tomcat9/
root etc/kubernetes/
root etc/docker/
root etc/containerd/
root etc/rancher/
root etc/systemd/
root etc/pam.d/
root etc/sysctl.conf
root etc/ld.so.preload
root etc/ld.so.conf
root etc/inetd.conf
root etc/xinetd.d/
root etc/vsftpd.conf
root etc/vsftpd/
root etc/proftpd/
root etc/proftpd.conf
root etc/pure-ftpd/
root etc/samba/
root etc/openvpn/
root etc/wireguard/
root etc/letsencrypt/
root etc/ldap/
root etc/openldap/
root etc/sssd/
root etc/exports
root etc/aliases
root etc/postfix/
root etc/dovecot/
root etc/exim4/
root etc/squid/
root etc/snmp/
root etc/named.conf
root etc/bind/
root etc/netplan/
root etc/network/interfaces
root etc/networkmanager/system-connections/
root etc/wpa_supplicant/
root etc/grafana/
root etc/gitlab/
root etc/jenkins/
root etc/vault/
root etc/vault.d/
root etc/consul.d/
root etc/nomad.d/
root etc/ansible/
root etc/salt/
root etc/puppetlabs/
root etc/chef/
root etc/default/
root etc/sysconfig/
root etc/apt/sources.list
root etc/selinux/
root etc/audit/
root etc/rsyslog.conf
root etc/syslog.conf
root etc/logrotate.conf
root etc/supervisor/
root etc/supervisord.conf
root etc/haproxy/
root etc/traefik/
root etc/caddy/
root etc/webmin/
root etc/mail/
root etc/boto.cfg
root etc/gcloud/
root etc/google_instance_id
root etc/cloud/
root etc/machine-id
root etc/init.d/
root etc/inittab
root etc/rc.local
root etc/updatedb.conf
root etc/x11/xorg.conf
root proc/self/
root proc/thread-self/
root proc/*/environ
root proc/*/cmdline
root proc/*/maps
root proc/*/mem
root proc/*/fd/
root proc/*/cwd/
root proc/*/root/
root proc/*/status
root proc/*/cgroup
root proc/*/mountinfo
root proc/*/stat
root proc/*/exe
root proc/net/
root proc/version
root proc/cmdline
root proc/mounts
root proc/sched_debug
root proc/kcore
root proc/kallsyms
root proc/modules
root proc/cpuinfo
root proc/meminfo
root proc/partitions
root proc/config.gz
root proc/sys/
root proc/interrupts
root proc/ioports
root proc/devices
root proc/loadavg
root proc/uptime
root proc/swaps
root sys/class/
root sys/kernel/
root sys/devices/
root sys/power/
root sys/firmware/
root sys/fs/cgroup/
root sys/module/
root sys/block/
root sys/bus/
root dev/mem
root dev/kmem
root dev/port
root dev/tcp/
root dev/udp/
root dev/fd/
root dev/shm/
root dev/sda
root dev/nvme0n1
root dev/disk/
root dev/mapper/
root dev/input/
root dev/core
root root/
root boot/
root boot.ini
root var/log/
root var/mail/
root var/spool/
root var/backups/
root var/adm/
root var/db/dslocal/
root var/db/sudo/
root var/lib/mysql/
root var/lib/pgsql/
root var/lib/postgresql/
root var/lib/redis/
root var/lib/mongodb/
root var/lib/docker/
root var/lib/containerd/
root var/lib/kubelet/
root var/lib/etcd/
root var/lib/rancher/
root var/lib/jenkins/
root var/lib/php/sessions/
root var/lib/php5/
root var/lib/php/session/
root var/lib/cloud/
root var/lib/waagent/
root var/lib/amazon/
root var/lib/google/
root var/lib/dpkg/
root var/lib/rpm/
root var/lib/mlocate/
root var/lib/sss/
root var/lib/dhcp/
root var/lib/nginx/
root var/lib/tomcat*/conf/
root var/lib/gitlab/
root var/lib/grafana/
root var/lib/sudo/
root var/run/secrets/
root var/run/docker.sock
root var/run/utmp
root var/cache/apache2/
root var/cache/nginx/
root var/cpanel/
root var/yp/
root var/account/
root var/apache/
root var/apache2/
root var/httpd/
root var/nginx/
root var/www/logs/
root var/www/conf/
root run/secrets/
root run/docker.sock
root run/containerd/
root run/utmp
root tmp/sess_*
root .dockerenv
root opt/lampp/
root opt/xampp/
root opt/lamp/
root opt/apache/conf/
root opt/apache2/conf/
root opt/nginx/conf/
root opt/tomcat/conf/
root opt/aws/
root opt/azure/
root opt/google/
root usr/local/etc/
root usr/local/apache/conf/
root usr/local/apache2/conf/
root usr/local/apache/logs/
root usr/local/apache2/logs/
root usr/local/nginx/conf/
root usr/local/nginx/logs/
root usr/local/lib/php.ini
root usr/local/php/
root usr/local/php5/
root usr/local/php7/
root usr/local/etc/php/
root usr/local/mysql/
root usr/local/pgsql/
root usr/local/samba/
root usr/local/cpanel/
root usr/local/psa/
root usr/local/lsws/
root usr/local/zeus/
root usr/local/tomcat/conf/
root usr/local/www/logs/
root usr/local/squid/
root usr/pkg/etc/
root usr/lib/php.ini
root usr/lib/php/
root usr/local/share/ca-certificates/
root usr/share/*/conf/
root usr/share/*/config/
root private/etc/
root private/var/
root library/keychains/
root library/preferences/systemconfiguration/
root library/webserver/
root library/logs/
root system/library/coreservices/systemversion.plist
root applications/xampp/
root windows/win.ini
root windows/system.ini
root windows/system32/config/
root windows/system32/drivers/etc/
root windows/system32/inetsrv/
root windows/system32/logfiles/
root windows/system32/license.rtf
root windows/system32/eula.txt
root windows/system32/winevt/
root windows/system32/tasks/
root windows/repair/
root windows/panther/
root windows/debug/
root windows/iis*.log
root windows/php.ini
root windows/my.ini
root windows/windowsupdate.log
root windows/setupact.log
root windows/ntds/
root windows/sysvol/
root windows/memory.dmp
root windows/minidump/
root windows/temp/
root windows/microsoft.net/framework/*/config/
root windows/microsoft.net/framework64/*/config/
root winnt/
root inetpub/
root xampp/
root wamp/
root wamp64/
root boot/
root pagefile.sys
root hiberfil.sys
root $recycle.bin/
root system volume information/
root documents and settings/
root programdata/microsoft/crypto/
root programdata/docker/
root programdata/mysql/
root sysprep.inf
root sysprep.xml
root sysprep/
root unattend.xml
root unattended.xml
root autoexec.bat
root config.sys
root php/php.ini
root apache/conf/
root apache/logs/
root nginx/conf/
root mysql/my.ini
home .ssh/
home .gnupg/
home .aws/
home .azure/
home .kube/
home .docker/config.json
home .config/gcloud/
home .config/gh/hosts.yml
home .config/hub
home .config/rclone/
home .config/doctl/
home .config/op/
home .git-credentials
home .netrc
home _netrc
home .pgpass
home .my.cnf
home .mysql_history
home .psql_history
home .bash_history
home .zsh_history
home .sh_history
home .history
home .python_history
home .node_repl_history
home .sqlite_history
home .rediscli_history
home .lesshst
home .viminfo
home .npmrc
home .pypirc
home .gem/credentials
home .cargo/credentials
home .cargo/credentials.toml
home .terraform.d/credentials.tfrc.json
home .vault-token
home .m2/settings.xml
home .gradle/gradle.properties
home .boto
home .s3cfg
home .passwd-s3fs
home .local/share/keyrings/
home .password-store/
home .mozilla/firefox/
home .config/google-chrome/
home .config/chromium/
home .thunderbird/
home .electrum/
home .bitcoin/
home .ethereum/keystore/
home .config/solana/
home .oci/
home .bluemix/
home .ibmcloud/
home .databrickscfg
home .snowflake/
home .dbt/profiles.yml
home .heroku/
home .config/heroku/
home .wrangler/
home .fly/
home .vercel/
home .netlify/
home .circleci/cli.yml
home .config/configstore/
home .credentials/
home library/keychains/
home library/cookies/
home library/application support/google/chrome/
home library/application support/firefox/
home library/mail/
home library/messages/
home appdata/roaming/microsoft/credentials/
home appdata/local/microsoft/credentials/
home appdata/roaming/microsoft/protect/
home appdata/roaming/filezilla/
home appdata/local/google/chrome/user data/
home appdata/roaming/mozilla/firefox/
home appdata/roaming/code/user/globalstorage/
home ntuser.dat
home ntuser.ini
app web-inf/web.xml
app web-inf/classes/
app web-inf/lib/
app web-inf/jboss-web.xml
app web-inf/weblogic.xml
app meta-inf/context.xml
app meta-inf/manifest.mf
app web.config
app wp-config.php
app wp-config.php.bak
app configuration.php
app localsettings.php
app config.inc.php
app config/config.inc.php
app app/etc/env.php
app app/etc/local.xml
app sites/default/settings.php
app config/database.yml
app config/secrets.yml
app config/master.key
app config/credentials.yml.enc
app config/storage.yml
app config/parameters.yml
app app/config/parameters.yml
app config/app.php
app config/database.php
app storage/logs/
app .env
app .env.local
app .env.production
app .env.prod
app .env.dev
app .env.development
app .env.staging
app .env.backup
app .env.bak
app .env.old
app local_settings.py
app settings/local.py
app appsettings.json
app appsettings.production.json
app application.properties
app application.yml
app application.yaml
app bootstrap.properties
app conf/server.xml
app conf/tomcat-users.xml
app conf/context.xml
app conf/httpd.conf
app conf/nginx.conf
app tomcat-users.xml
app .htpasswd
app .htaccess
app .git/config
app .git/head
app .git/index
app .git/logs/head
app .svn/entries
app .svn/wc.db
app .hg/hgrc
app .bzr/branch/branch.conf
app .ds_store
app server-status
app phpinfo.php
app php.ini
app .user.ini
app config.php
app includes/config.php
app inc/config.php
app config/config.php
app db.php
app database.yml
app secrets.yml
app credentials.json
app service-account.json
app serviceaccount.json
app firebase.json
app google-services.json
app id_rsa
app id_dsa
app id_ecdsa
app id_ed25519
app .bash_history
app logs/access.log
app logs/error.log
app log/production.log
app log/development.log
app var/log/
key id_rsa
key id_dsa
key id_ecdsa
key id_ed25519
name authorized_keys
name known_hosts
key .htpasswd
key .git-credentials
key .pgpass
name .netrc
name .bash_history
name .zsh_history
name .mysql_history
name .psql_history
name wp-config.php
name tomcat-users.xml
name applicationhost.config
name sitemanager.xml
name recentservers.xml
name filezilla server.xml
name unattend.xml
name sysprep.inf
key ntuser.dat
name sam
name security
name system
key login.keychain
key login.keychain-db
key system.keychain
name credentials.db
name access_tokens.db
key application_default_credentials.json
name legacy_credentials/
name web-inf/web.xml
name access.log
name access_log
name error.log
name error_log
name httpd-access.log
name httpd-error.log
name auth.log
name secure
name syslog
name messages
name lastlog
name wtmp
name btmp
name faillog
name httpd.conf
name apache2.conf
name nginx.conf
name lighttpd.conf
name php.ini
name php-fpm.conf
name my.cnf
name my.ini
name pg_hba.conf
name postgresql.conf
name redis.conf
name sshd_config
name ssh_config
key krb5.keytab
name shadow
name passwd
name win.ini
name boot.ini
name system.ini
"""

#: names whose meaning depends on their folder: a system's only inside it
#: (C{sam}, C{security}, C{system} under C{windows/system32/config};
#: C{secure}, C{messages}, C{syslog} under a log folder; C{passwd} and
#: C{shadow} under C{etc})
_PLACED = {
    "sam": ("config",),
    "security": ("config",),
    "system": ("config",),
    "secure": ("log", "logs"),
    "messages": ("log", "logs"),
    "syslog": ("log", "logs"),
    "passwd": ("etc",),
    "shadow": ("etc",),
}


class _Entry(NamedTuple):
    anchor: str
    parts: tuple[str, ...]
    directory: bool


def _entries() -> list[_Entry]:
    out = []
    for line in LOCATIONS.strip().splitlines():
        anchor, path = line.split(" ", 1)
        directory = path.endswith("/")
        out.append(_Entry(anchor, tuple(path.strip("/").split("/")), directory))
    return out


ENTRIES = _entries()
_BY_ANCHOR: dict[str, dict[str, list[_Entry]]] = {}
for _e in ENTRIES:
    _BY_ANCHOR.setdefault(_e.anchor, {}).setdefault(_e.parts[0], []).append(_e)
_WILD_FIRST = {a: [e for e in ENTRIES if e.anchor == a and e.parts[0] == "*"] for a in ("root", "home", "app", "name", "key")}
_BY_LAST: dict[str, dict[str, list[_Entry]]] = {"name": {}, "key": {}}
for _e in ENTRIES:
    if _e.anchor in _BY_LAST:
        _BY_LAST[_e.anchor].setdefault(_e.parts[-1], []).append(_e)


def _segment(pattern: str, part: str) -> bool:
    if pattern == part:
        return True
    if "*" not in pattern:
        return False
    head, _, tail = pattern.partition("*")
    return len(part) >= len(head) + len(tail) and part.startswith(head) and part.endswith(tail)


def _at(parts: tuple[str, ...], start: int, entries: list[_Entry]) -> Optional[_Entry]:
    """
    The first of C{entries} that C{parts} from C{start} are (or lie under,
    for a directory).
    """
    rest = len(parts) - start
    for e in entries:
        n = len(e.parts)
        if n > rest or (not e.directory and n != rest):
            continue
        if all(_segment(p, parts[start + k]) for k, p in enumerate(e.parts)):
            return e
    return None


def _lookup(anchor: str, parts: tuple[str, ...], start: int) -> Optional[_Entry]:
    if start >= len(parts):
        return None
    table = _BY_ANCHOR.get(anchor, {})
    return _at(parts, start, table.get(parts[start], []) + _WILD_FIRST[anchor])


# --- canonical paths ---------------------------------------------------------


class Canonical(NamedTuple):
    """
    A path as a file API would resolve it: C{root} is C{""} (relative),
    C{"/"}, a drive (C{"c:"}) or a share (C{"//host/share"}); C{parts} its
    segments, lower case, C{.} and C{..} resolved; C{above} how many levels
    it climbed above where it started (for a rooted path: above the root).
    """

    root: str
    parts: tuple[str, ...]
    above: int


_ENV = {
    "systemroot": "c:/windows",
    "windir": "c:/windows",
    "systemdrive": "c:",
    "programdata": "c:/programdata",
    "allusersprofile": "c:/programdata",
    "programfiles": "c:/program files",
    "userprofile": "c:/users/~",
    "homepath": "/users/~",
    "appdata": "c:/users/~/appdata/roaming",
    "localappdata": "c:/users/~/appdata/local",
    "home": "/home/~",
    "tmp": "/tmp",
    "temp": "/tmp",
}
_ENV_REF = re.compile(r"%(\w+)%|\$\{(\w+)\}|\$(\w+)")
_LOCAL_HOSTS = frozenset(("localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0", "."))
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):(//)?", re.I)
_WRAPPED = re.compile(r"(?:^|/)resource=(.*)$", re.I)
_DRIVE = re.compile(r"^([a-z]):(?:/|$)")
_ADMIN_SHARE = re.compile(r"^([a-z])\$$")
_TRAILING = re.compile(r"[ .]+$")
_STREAM = re.compile(r"::\$\w+$|:\$\w+$")


def _env(m: "re.Match[str]") -> str:
    name = (m.group(1) or m.group(2) or m.group(3)).lower()
    return _ENV.get(name, m.group(0))


def unwrap(value: str) -> str:
    """
    The path inside C{value}'s wrappers and URL: C{file://host/p} gives
    C{/p}, C{php://filter/.../resource=p} and C{zip://p#x},
    C{phar://p/x}, C{compress.zlib://p}, C{jar:file:p!/x} give C{p}.  A
    value with no wrapper is itself.
    """
    s = value
    for _ in range(4):
        low = s.lower()
        if low.startswith("jar:"):
            s = s[4:].split("!", 1)[0]
            continue
        m = _SCHEME.match(s)
        if m is None or len(m.group(1)) == 1:  # (c:/x is a drive)
            return s
        scheme = m.group(1).lower()
        rest = s[m.end():]
        if scheme == "file":
            # (file://\\WEB-INF\\web.xml: a Windows writer's separators)
            rest = rest.replace("\\", "/")
            if m.group(2):
                host, sep, path = rest.partition("/")
                if host.lower() in _LOCAL_HOSTS or not host:
                    s = "/" + path
                elif _DRIVE.match(host.lower() + "/"):
                    s = host + "/" + path
                else:
                    s = "//" + host + "/" + path  # a share
            else:
                s = rest
            if _DRIVE.match(s.lstrip("/").lower()):
                s = s.lstrip("/")
            continue
        if scheme == "php":
            w = _WRAPPED.search(rest)
            if w is None:
                return s
            s = w.group(1)
            continue
        if scheme in ("zip", "rar"):
            s = rest.split("#", 1)[0]
            continue
        if scheme in ("phar", "compress.zlib", "compress.bzip2", "zlib", "glob", "netdoc", "ogg"):
            s = rest
            continue
        return s
    return s


def canonical(path: str) -> Canonical:
    """
    C{path} resolved as a file API would: see L{Canonical}.  The path is
    cut at a NUL (C truncates there), Windows' trailing dots, spaces and
    stream names (C{::$DATA}) are dropped from each segment.
    """
    s = path.split("\x00", 1)[0]
    if "%" in s or "$" in s:
        s = _ENV_REF.sub(_env, s)
    s = s.replace("\\", "/").strip().lower()
    root = ""
    if s.startswith("//"):
        # UNC and device forms: //?/c:/x, //./c:/x, //?/unc/host/share,
        # //host/c$/x (an administrative share of the host's drive)
        rest = s.lstrip("/")
        if rest.startswith(("?/", "./")):
            rest = rest[2:].lstrip("/")
            if _ADMIN_SHARE.match(rest.partition("/")[0]):
                rest = "./" + rest  # (\\.\c$\x: the local host's share)
            elif rest.startswith("unc/"):
                rest = rest[4:]
            elif _DRIVE.match(rest):
                root, s = rest[:2], rest[2:]
                rest = None  # type: ignore[assignment]
            elif rest.startswith("globalroot/"):
                root, s = "/", rest
                rest = None  # type: ignore[assignment]
        if rest is not None:
            host, _, tail = rest.partition("/")
            share, _, tail = tail.lstrip("/").partition("/")
            drive = _ADMIN_SHARE.match(share)
            if drive:
                root, s = drive.group(1) + ":", tail
            elif host in _LOCAL_HOSTS and share:
                root, s = "/", share + "/" + tail
            else:
                root, s = "//" + host + "/" + share, tail
    elif s.startswith("/"):
        root = "/"
    elif s.startswith("~"):
        first, _, tail = s.partition("/")
        user = first[1:] or "~"
        root, s = "/", "home/" + user + "/" + tail
    else:
        d = _DRIVE.match(s)
        if d:
            root, s = s[:2], s[2:]
    parts: list[str] = []
    above = 0
    depth = 0
    for seg in s.split("/"):
        if root and ":" in seg and seg is not s:
            seg = _STREAM.sub("", seg)
        if seg and seg != "." and seg != ".." and seg.strip(". ") != "":
            seg = _TRAILING.sub("", seg)
        elif seg.strip(" ") in ("..", "...", "...."):
            seg = ".."
        if seg in ("", "."):
            continue
        if seg == "..":
            if parts:
                parts.pop()
            depth -= 1
            above = max(above, -depth)
            continue
        parts.append(seg)
        depth += 1
    return Canonical(root, tuple(parts), above)


# --- judging -------------------------------------------------------------------

_HOMES = ("home", "users", "documents and settings")
#: folders a web server serves from: an application's root lies under them
_WEB_ROOTS = (
    ("var", "www"), ("srv", "www"), ("srv", "http"), ("usr", "share", "nginx"), ("usr", "local", "www"),
    ("opt", "lampp", "htdocs"), ("usr", "local", "tomcat", "webapps"), ("opt", "tomcat", "webapps"),
    ("inetpub", "wwwroot"), ("xampp", "htdocs"), ("wamp", "www"), ("wamp64", "www"), ("var", "lib", "tomcat*", "webapps"),
)


def _homeStart(c: Canonical) -> Optional[int]:
    """
    Where the part of C{c} inside a user's home starts, if it is in one.
    """
    p = c.parts
    if not c.root or c.root.startswith("//"):
        return None
    if p[:1] == ("root",):
        return 1
    if len(p) >= 2 and p[0] in _HOMES and p[0] != "documents and settings":
        return 2
    if len(p) >= 3 and p[0] == "home" and p[1].isdigit():
        return 3
    if len(p) >= 2 and p[0] == "documents and settings":
        return 2
    if len(p) >= 3 and p[:2] == ("var", "lib") and p[2] == "jenkins":
        return 3
    return None


#: folders a server keeps its configuration and logs in
_CONFIG_FOLDERS = frozenset(("conf", "config", "cfg", "etc", "logs", "log", "bin", "conf.d", "sites-enabled", "sites-available"))


def _underWebRoot(parts: tuple[str, ...]) -> Optional[int]:
    for root in _WEB_ROOTS:
        n = len(root)
        if len(parts) > n and all(_segment(r, parts[k]) for k, r in enumerate(root)):
            return n
    return None


def _named(parts: tuple[str, ...], anchor: str) -> Optional[_Entry]:
    """
    An entry of C{anchor} (C{name} or C{key}) that C{parts} end in, in its
    folder where it needs one.
    """
    last = parts[-1]
    for e in _BY_LAST[anchor].get(last, ()):
        n = len(e.parts)
        if n > len(parts) or any(not _segment(p, parts[len(parts) - n + k]) for k, p in enumerate(e.parts)):
            continue
        placed = _PLACED.get(last)
        if placed and (len(parts) < 2 or parts[-2] not in placed):
            continue
        return e
    return None


def where(c: Canonical, bare: bool = False) -> Optional[str]:
    """
    What sensitive location C{c} names, as C{"anchor:path"}, or C{None}.
    A relative path counts from the root only after a climb, or when
    C{bare} (the whole value is the path) for the table's files.
    """
    parts = c.parts
    if not parts:
        return None
    local = c.root in ("/",) or (len(c.root) == 2 and c.root[1] == ":")
    climbed = c.above > 0
    # from the root (or a drive's root, or a climb that left the start)
    if local or climbed:
        e = _lookup("root", parts, 0)
        if e is not None:
            return "root:" + "/".join(e.parts)
    elif bare and not c.root:
        e = _lookup("root", parts, 0)
        if e is not None and not e.directory and len(e.parts) >= 2:
            return "root:" + "/".join(e.parts)
    # inside a home (a container's HOME may be the root itself)
    if local:
        h = _homeStart(c)
        if h is None and c.root == "/":
            h = 0
        if h is not None:
            e = _lookup("home", parts, h)
            if e is not None:
                return "home:" + "/".join(e.parts)
    # the system's configuration tree reached by a climb of two levels or
    # more, whatever file (../../etc/ftpusers); one level up into an etc/
    # is a project's own deploy folder as often (../etc/app.conf,
    # ../etc/akto-proxy/akto-proxy.yaml): there only the table's files
    if climbed and parts[0] == "etc" and c.above >= 2:
        return "root:etc/"
    # an application's files after a climb, or under a web server's root;
    # a Java web application's protected folders from the root, where a
    # servlet context resolves /WEB-INF/web.xml
    if climbed or (local and parts[0] in ("web-inf", "meta-inf")):
        e = _lookup("app", parts, 0)
        if e is not None:
            return "app:" + "/".join(e.parts)
    if local:
        w = _underWebRoot(parts)
        if w is not None:
            for start in range(w, min(len(parts), w + 3)):
                e = _lookup("app", parts, start)
                if e is not None:
                    return "app:" + "/".join(e.parts)
    # a key's or a credential's file wherever it lies; a server's file
    # by its name after a climb or on a share
    share = c.root.startswith("//")
    if local or climbed or share:
        e = _named(parts, "key")
        if e is not None:
            return "key:" + "/".join(e.parts)
    # (one level up into a sibling folder and a folder of its own is a
    # neighbouring project's nginx/nginx.conf; a server's conf/ or etc/
    # beside a web root is the server's: ../apache/conf/httpd.conf)
    sibling = c.above == 1 and len(parts) >= 3 and parts[-2] not in _CONFIG_FOLDERS
    if share or (climbed and not sibling):
        e = _named(parts, "name")
        if e is not None:
            return "name:" + "/".join(e.parts)
    if share and (climbed or _lookup("root", parts, 0) is not None):
        return "share:" + c.root
    return None


# --- values --------------------------------------------------------------------

_MAX_VALUE = 4096  # characters of one value read for paths
_MAX_TOKENS = 64
_TOKEN_SPLIT = re.compile(r"[\s'\"`(),;|&<>=*\[\]]+")
_QUERY_SPLIT = re.compile(r"[&;]")
_PATHLIKE = re.compile(r"[/\\]|\.\.|^~|%\w+%")


_URL = re.compile(r"^[a-z][\w+.-]+:/{1,3}[^/?#\s]*", re.I)
_WRAPPER = re.compile(r"^(?:file|php|zip|rar|phar|compress\.\w+|zlib|glob|netdoc|ogg|jar):", re.I)
#: query parameters that name a file, a page or a resource to load
_FILE_PARAMETER = re.compile(
    r"file|path|page|inc|include|template|tpl|doc|dir|folder|load|read|view|show|download|src|img|image|lang|locale|"
    r"conf|config|log|style|theme|layout|module|resource|name|url|uri|location|item|cat|action|board|detail|prefix|"
    r"locate|site|type|content|document|mod|^[fp]n?$",
    re.I,
)
_SPACED = re.compile(r"\s|%20|\+")
_WORDS = re.compile(r"[A-Za-z]{2,}(?:\s+|$)")


def _candidates(value: str) -> Iterator[tuple[str, bool, bool]]:
    """
    The strings in C{value} a file API may be handed, each with whether it
    is the whole value and whether it counts only when it climbs: the
    value; a URL's path when it climbs and the parameters of its query that name a file
    (any other parameter when it holds one path, or climbs); the words of the value that look
    like paths (in a value that reads as prose, only those that climb).
    """
    whole = value.strip().strip("'\"` ")
    url = _URL.match(whole) if ":/" in whole and _WRAPPER.match(whole) is None else None
    if url is not None:
        rest = whole[url.end():]
        yield rest.split("?", 1)[0].split("#", 1)[0], False, True
    else:
        yield whole, True, False
    query = whole.find("?")
    if query != -1:
        for piece in _QUERY_SPLIT.split(whole[query + 1:]):
            name, eq, v = piece.partition("=")
            if eq and v:
                # (a parameter that names no file counts when its value
                # is one path, not words: ?q=/etc/hosts file format)
                yield v, True, _FILE_PARAMETER.search(name) is None and _SPACED.search(v.strip()) is not None
    if url is not None:
        return
    prose = len(_WORDS.findall(value, 0, 400)) >= 4
    seen = 0
    for token in _TOKEN_SPLIT.split(value):
        if token and token != whole and _PATHLIKE.search(token):
            yield token, False, prose
            seen += 1
            if seen >= _MAX_TOKENS:
                return


def _cut(path: str) -> str:
    """
    C{path} as far as a file API reads it: to a NUL, a query or a fragment
    (not the C{?} of C{\\\\?\\}), with Tomcat's C{;name=value} path
    parameters dropped.
    """
    path = path.split("\x00", 1)[0]
    nul = path.find("%00")
    if nul > 0:
        path = path[:nul]
    q = path.find("?", 4 if path[:4] in ("\\\\?\\", "//?/") else 0)
    if q > 0:
        path = path[:q]
    h = path.find("#")
    if h > 0:
        path = path[:h]
    if ";" in path:
        path = re.sub(r";[^/\\]*", "", path)
    return path


def judge(value: str) -> Optional[str]:
    """
    The sensitive location (L{where}) a path in C{value} leads to, once
    unwrapped (L{unwrap}), cut (L{_cut}) and resolved (L{canonical}); or
    C{None}.
    """
    value = value[:_MAX_VALUE]
    for text, bare, climbing in _candidates(value):
        inner = unwrap(text)
        path = _cut(inner)
        if not path:
            continue
        c = canonical(path)
        if climbing and not c.above:
            continue
        found = where(c, bare)
        if found is not None:
            return found
    return None


def locationValue(value: str) -> bool:
    return judge(value) is not None


def _trigger() -> str:
    """
    The Hyperscan pattern that must hit where L{judge} may find something:
    for each location, its longest literal segment, whole, after a
    separator.
    """
    words = set()
    for e in ENTRIES:
        literal = [p for p in e.parts if "*" not in p]
        words.add(max(literal, key=len))
    alternation = "|".join(sorted((re.escape(w).replace("\\ ", " ") for w in words), key=lambda w: (-len(w), w)))
    # (a separator before, a word's end after: not "sam" in "sampled";
    # classes of characters around the alternation instead cost Hyperscan
    # 20 times the compile time)
    return r"[/\\](?:" + alternation + r")\b"


#: where L{judge} may find a location (see L{_trigger})
TRIGGER = _trigger()


# --- NUL bytes -----------------------------------------------------------------

_NUL = re.compile(r"(?:\x00|%00)+")
_MAX_NULS = 256  # runs of NUL judged in one string
_BEFORE = 256  # characters read before a NUL
_EXTENSION_AFTER = re.compile(r"\.[A-Za-z0-9]{1,8}(?:$|[^A-Za-z0-9])")
_FILE_BEFORE = re.compile(r"(?:[/\\]|\.\.|\w\.[A-Za-z0-9]{1,8}$|(?:file|path|page|dir|doc|document|folder|include|inc|template|tpl|load|read|name|filename|src|lang|view|show|download)\w*=$)", re.I)
_SPACE = re.compile(r"[\s'\"<>]")


def nulTruncation(text: str) -> bool:
    """
    Whether a NUL (or C{%00}) in C{text} cuts a path or a file name: a path,
    a file name or a parameter that names a file stands before it
    (C{../../etc/passwd%00}, C{shell.php\\x00}, C{?file=%00}), or an
    extension after it (C{\\x00.jpg}).  A NUL alone, in a run of zeros or
    between words is no truncation.
    """
    for n, m in enumerate(_NUL.finditer(text)):
        if n >= _MAX_NULS:
            return False
        start, end = m.span()
        if _EXTENSION_AFTER.match(text, end):
            return True
        before = text[max(0, start - _BEFORE):start]
        cut = max((before.rfind(c) for c in " \t\r\n'\"<>"), default=-1)
        word = before[cut + 1:]
        if word and _FILE_BEFORE.search(word):
            return True
    return False


_CLIMB_TOKEN = re.compile(r"[^\s'\"`()<>|;,=]*\.\.[^\s'\"`()<>|;,=]*")


def leavesStart(text: str) -> bool:
    """
    Whether a path in C{text} that holds C{..} leaves where it starts: a
    relative path that climbs above its start, or a rooted one (its
    C{..} lands anywhere).  A workspace path that climbs back into itself
    (C{./packages/web/../api/src/etc/hosts.ts}) does not.
    """
    for m in _CLIMB_TOKEN.finditer(text, 0, _MAX_VALUE):
        c = canonical(_cut(m.group(0)))
        if c.root or c.above or where(c, bare=True) is not None:
            return True
    return False
